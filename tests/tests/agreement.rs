//! The shared definition of a qualified lead as a versioned agreement, and
//! routing that knows shifts, accounts and escalation, over the real server:
//! publishing, preview against an independent recount, working hours across
//! time zones and a daylight-saving change (the server started at a chosen
//! instant through its test clock), business-hours SLAs over a weekend,
//! account matching, reminders and escalations, the structured "why", and
//! team administration with team-scoped managers.

use std::time::Duration;

use baton_protocol::{
    Change, Definition, DefinitionPreview, Escalation, EscalationList, Lead, LeadEventKind,
    LeadHistory, LeadStatus, ManagerList, Rep, RepCreated, RepList, SkipReason, TakeAwayReason,
    Timestamp,
};
use baton_tests::*;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

fn reasons() -> Value {
    json!([
        { "code": "wrong_territory", "label": "Wrong territory", "note_required": false, "routes_on": true },
        { "code": "no_budget", "label": "No budget", "note_required": false, "routes_on": false },
        { "code": "too_small", "label": "Company too small", "note_required": false, "routes_on": false },
        { "code": "other", "label": "Other (note required)", "note_required": true, "routes_on": false }
    ])
}

fn draft(threshold: u32, note: &str) -> Value {
    json!({
        "threshold": threshold,
        "criteria": [{
            "kind": "quiz_answer",
            "key": "When do you want a solution in place?",
            "value": "This quarter",
            "points": 12,
            "meaning": "A near deadline means a buying process is running",
            "opener": "Ask what has to be live by the end of the quarter"
        }],
        "reasons": reasons(),
        "note": note
    })
}

async fn patch(c: &Client, path: &str, body: Value) -> Reply {
    c.request(Method::PATCH, path, Some(&body), &[]).await
}

fn scored(id: &str, score: u32) -> baton_protocol::LeadIntake {
    let mut l = lead(id);
    l.score.value = score;
    l
}

#[tokio::test]
async fn a_published_definition_applies_to_leads_after_it_and_not_before() {
    let server = Server::start(ONE_TEAM);
    let ava = server.add_rep("Ava", "sales", 1, 50);
    let intake = server.intake();
    let admin = server.manager();

    // Version 1 is the config's threshold (60), taken at start-up.
    let list: Value = admin.get("/v1/definitions").await.body;
    assert_eq!(list["in_force"], 1, "{list:#}");
    assert_eq!(list["definitions"][0]["author"], "config file");
    let before = intake.push(&scored("before", 80)).await.lead;
    assert_eq!(before.status, LeadStatus::Assigned);
    let q = before.qualification.unwrap();
    assert_eq!((q.version, q.threshold, q.score), (1, 60, 80));

    // A bad draft is refused field by field, and changes nothing.
    let mut bad = draft(85, "raise the bar");
    bad["reasons"] = json!([{ "code": "no_budget", "label": "No budget", "note_required": false, "routes_on": false }]);
    let r = admin.post("/v1/definitions", &bad).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{r:?}");
    assert_eq!(r.error_field(), "reasons");

    let r = admin
        .post("/v1/definitions", &draft(85, "raise the bar"))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{r:?}");
    let v2: Definition = r.json();
    assert_eq!((v2.version, v2.threshold), (2, 85));
    assert_eq!(v2.author, "Morgan");
    assert!(
        v2.changes.iter().any(|c| c == "threshold 60 → 85"),
        "{:?}",
        v2.changes
    );
    assert!(
        v2.changes.iter().any(|c| c.starts_with("criterion added")),
        "{:?}",
        v2.changes
    );

    // The lead from before keeps its version; a new one with the same score is not qualified now.
    let after = intake.push(&scored("after", 80)).await.lead;
    assert_eq!(after.status, LeadStatus::Nurture);
    let q = after.qualification.unwrap();
    assert_eq!((q.version, q.threshold), (2, 85));
    let before_now: Lead = admin.lead(before.id).await.json();
    assert_eq!(before_now.qualification.unwrap().version, 1);
    let high = intake.push(&scored("high", 90)).await.lead;
    assert_eq!(high.status, LeadStatus::Assigned);

    // The rep's app hears of it live; the reason list is the new one.
    let (feed, _) = ava.sync_all("").await;
    assert!(
        feed.iter()
            .any(|e| matches!(e.change, Change::DefinitionPublished { version: 2 })),
        "{feed:?}"
    );
    let reasons: Value = ava.get("/v1/reasons").await.body;
    assert!(reasons.to_string().contains("too_small"), "{reasons}");
    let r = ava.reject(high.id, "too_small", None).await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");

    // Reps can open any version; the history of the lead names it.
    let v1: Definition = ava.get("/v1/definitions/1").await.json();
    assert_eq!(v1.threshold, 60);
    assert_eq!(
        ava.get("/v1/definitions/9").await.status,
        StatusCode::NOT_FOUND
    );
    let history: LeadHistory = admin.history(after.id).await;
    assert!(
        history
            .events
            .iter()
            .any(|e| e.kind == LeadEventKind::Nurtured
                && e.detail.contains("threshold 85 of definition v2")),
        "{:?}",
        history.events
    );

    // Audited, and restarting with the same config publishes nothing new.
    let audit: Value = admin.get("/v1/audit").await.body;
    assert!(
        audit.to_string().contains("definition.published"),
        "{audit}"
    );
    let mut server = server;
    server.restart();
    let admin = server.client(&admin.token);
    let list: Value = admin.get("/v1/definitions").await.body;
    assert_eq!(list["in_force"], 2, "{list:#}");

    // The comparison of versions counts each one's leads and offers.
    let outcomes: Value = admin.get("/v1/definitions/outcomes").await.body;
    let versions = outcomes["versions"].as_array().unwrap();
    assert_eq!(versions.len(), 2, "{outcomes:#}");
    assert_eq!(versions[0]["leads"], 1);
    assert_eq!(versions[0]["offers"], 1);
    assert_eq!(versions[1]["leads"], 2);
    assert_eq!(versions[1]["qualified"], 1);
    assert_eq!(versions[1]["rejected"], 1);
    assert_eq!(versions[1]["reasons"][0][0], "too_small");
}

#[tokio::test]
async fn the_preview_counts_equal_an_independent_recount() {
    let server = Server::start(ONE_TEAM);
    let reps = [
        server.add_rep("Ava", "sales", 1, 1000),
        server.add_rep("Ben", "sales", 1, 1000),
    ];
    let intake = server.intake();
    let admin = server.manager();
    let from = Timestamp::now().plus_millis(-1000);
    // Scores spread over 0–100 with a fixed pseudo-random walk; every
    // third offered lead rejected, the others accepted.
    let mut scores = Vec::new();
    let mut decided: Vec<(u32, bool)> = Vec::new();
    let mut x: u32 = 7;
    for i in 0..120 {
        x = (x * 37 + 11) % 101;
        scores.push(x);
        let l = intake.push(&scored(&format!("p{i}"), x)).await.lead;
        if let Some(a) = &l.assignment {
            let rep = if a.rep_name == "Ava" {
                &reps[0]
            } else {
                &reps[1]
            };
            let accept = i % 3 != 0;
            let r = if accept {
                rep.accept(l.id).await
            } else {
                rep.reject(l.id, "no_budget", None).await
            };
            assert_eq!(r.status, StatusCode::OK, "{r:?}");
            decided.push((x, accept));
        }
    }
    let to = Timestamp::now().plus_millis(1000);
    for proposed in [40u32, 60, 75] {
        let p: DefinitionPreview = admin
            .post(
                "/v1/definitions/preview",
                &json!({ "threshold": proposed, "from": from, "to": to }),
            )
            .await
            .json();
        let at = |t: u32| scores.iter().filter(|&&s| s >= t).count() as u64;
        let offers = |t: u32| decided.iter().filter(|(s, _)| *s >= t).count() as u64;
        let accepted = |t: u32| decided.iter().filter(|(s, a)| *s >= t && *a).count() as u64;
        assert_eq!(p.leads, scores.len() as u64);
        assert_eq!(p.current_threshold, 60);
        assert_eq!(p.qualified_current, at(60));
        assert_eq!(p.qualified_proposed, at(proposed));
        let between =
            |lo: u32, hi: u32| scores.iter().filter(|&&s| s >= lo && s < hi).count() as u64;
        assert_eq!(
            p.newly_qualified,
            if proposed < 60 {
                between(proposed, 60)
            } else {
                0
            }
        );
        assert_eq!(
            p.newly_unqualified,
            if proposed > 60 {
                between(60, proposed)
            } else {
                0
            }
        );
        assert_eq!(p.decided_proposed, offers(proposed));
        assert_eq!(p.accepted_proposed, accepted(proposed));
        assert_eq!(p.decided_current, offers(60));
    }
    let r = admin
        .post(
            "/v1/definitions/preview",
            &json!({ "threshold": 101, "from": from, "to": to }),
        )
        .await;
    assert_eq!(r.error_field(), "threshold");
}

fn berlin_week(start: &str, end: &str) -> Value {
    let days = ["mon", "tue", "wed", "thu", "fri"];
    json!({
        "time_zone": "Europe/Berlin",
        "hours": days.iter().map(|d| json!({ "day": d, "start": start, "end": end })).collect::<Vec<_>>(),
        "absences": []
    })
}

/// Monday 2027-03-29, the first working day after Europe's spring-forward:
/// 09:00 in Berlin is 07:00 UTC (it was 08:00 UTC the Monday before).
const MONDAY_AFTER_DST: &str = "2027-03-29T06:59:57Z";

#[tokio::test]
async fn a_lead_waits_for_the_first_shift_start_across_time_zones_and_dst() {
    let server = Server::start_with(
        ONE_TEAM,
        &[],
        &[("BATON_TEST_CLOCK_START", MONDAY_AFTER_DST)],
    );
    // Ben is in New York (02:59 there), Ava in Berlin (08:59 there).
    let ben = server.add_rep("Ben", "sales", 1, 10);
    let ava = server.add_rep("Ava", "sales", 1, 10);
    let mut ny = berlin_week("09:00", "17:00");
    ny["time_zone"] = json!("America/New_York");
    let r = ben.put("/v1/me/schedule", &ny).await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
    let rep: Rep = ava
        .put("/v1/me/schedule", &berlin_week("09:00", "17:00"))
        .await
        .json();
    assert!(!rep.on_shift, "08:59 in Berlin is before Ava's shift");
    let mut stream = ava.stream(None).await;
    let intake = server.intake();
    let l = intake.push(&lead("early")).await.lead;
    assert_eq!(l.status, LeadStatus::Queued, "nobody is on shift yet");

    // At 07:00:00 UTC (09:00 CEST) Ava's shift starts: the lead is hers, live.
    let offered = loop {
        let e = stream
            .next_change(Duration::from_secs(8))
            .await
            .expect("the lead is offered when Ava's shift starts");
        if let Change::LeadAssigned { lead } = e.entry().change {
            break lead;
        }
    };
    let a = offered.assignment.clone().unwrap();
    let shift_start: Timestamp = "2027-03-29T07:00:00Z".parse().unwrap();
    assert!(
        a.assigned_at >= shift_start && a.assigned_at.millis() - shift_start.millis() < 3000,
        "offered at {} (shift starts {shift_start})",
        a.assigned_at
    );
    let why = a.explanation.expect("the offer explains itself");
    let skipped: Vec<(String, Option<SkipReason>)> = why
        .considered
        .iter()
        .map(|c| (c.rep_name.clone(), c.skipped))
        .collect();
    assert_eq!(
        skipped,
        vec![
            ("Ben".to_string(), Some(SkipReason::OffShift)),
            ("Ava".to_string(), None)
        ]
    );
    assert!(a.why.contains("Ben off shift"), "{}", a.why);

    // A bad schedule is refused with the field named.
    let mut bad = berlin_week("09:00", "17:00");
    bad["time_zone"] = json!("Mars/Olympus");
    let r = ava.put("/v1/me/schedule", &bad).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{r:?}");
    assert!(r.error_field().contains("time_zone"), "{r:?}");
}

/// Friday 2027-03-26, 17:55 in Berlin (16:55 UTC): five minutes before the
/// weekend, and the last weekend of winter time.
const FRIDAY_EVENING: &str = "2027-03-26T16:55:00Z";

#[tokio::test]
async fn a_business_hours_sla_does_not_run_over_the_weekend() {
    let config = r#"
qualification_threshold = 60
[[teams]]
name = "sales"
sla_seconds = 3600
sla_business_hours = true
"#;
    let server = Server::start_with(config, &[], &[("BATON_TEST_CLOCK_START", FRIDAY_EVENING)]);
    let ava = server.add_rep("Ava", "sales", 1, 10);
    let admin = server.manager();
    let reps: RepList = admin.get("/v1/reps").await.json();
    let id = reps.reps[0].id;
    // The manager sets Ava's hours (Mon–Fri 09:00–18:00 Berlin) and a day away.
    let mut week = berlin_week("09:00", "18:00");
    week["absences"] = json!([{ "from": "2027-03-31", "to": "2027-03-31", "note": "dentist" }]);
    let r = admin.put(&format!("/v1/reps/{id}/schedule"), &week).await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
    let l = server.intake().push(&lead("friday")).await.lead;
    let a = l.assignment.expect("Ava is on shift until 18:00");
    // 5 minutes on Friday, 55 on Monday: 09:55 CEST (summer time by then) = 07:55 UTC.
    let due: Timestamp = "2027-03-29T07:55:00Z".parse().unwrap();
    let late = a.sla_due_at.millis() - due.millis();
    assert!(
        (0..5000).contains(&late),
        "SLA due {} (expected {due})",
        a.sla_due_at
    );
    // Ava sees her own schedule; the change is in the audit log.
    let me = ava.me().await;
    assert_eq!(me.rep.unwrap().schedule.unwrap().absences.len(), 1);
    let audit: Value = admin.get("/v1/audit").await.body;
    assert!(audit.to_string().contains("rep.schedule"), "{audit}");
}

#[tokio::test]
async fn a_lead_of_an_account_a_rep_holds_goes_to_that_rep_and_free_mail_is_ignored() {
    let config = r#"
qualification_threshold = 60
[[teams]]
name = "sales"
account_matching = true
"#;
    let server = Server::start(config);
    server.add_rep("Ava", "sales", 1, 50);
    server.add_rep("Ben", "sales", 1, 50);
    let intake = server.intake();
    let person = |id: &str, email: &str, company: &str| {
        let mut l = lead(id);
        l.contact.email = Some(email.into());
        l.contact.company = Some(company.into());
        l
    };
    let first = intake.push(&person("a1", "kim@acme.io", "Acme")).await.lead;
    let holder = first.assignment.unwrap().rep_name;
    // Round robin would give the next lead to the other rep; the account wins.
    let second = intake.push(&person("a2", "lee@ACME.io", "Acme")).await.lead;
    let a = second.assignment.unwrap();
    assert_eq!(a.rep_name, holder);
    let m = a
        .explanation
        .unwrap()
        .account_match
        .expect("account matched");
    assert_eq!(
        (m.account.as_str(), m.used, m.lead_id),
        ("acme.io", true, first.id)
    );
    assert!(a.why.contains("holds the account acme.io"), "{}", a.why);

    // Two gmail.com addresses are not one account (were they, the second
    // would go to the first one's rep as an account match).
    let g1 = intake
        .push(&person("g1", "pat@gmail.com", "Zeta Labs"))
        .await
        .lead;
    let g2 = intake
        .push(&person("g2", "sam@gmail.com", "Omega"))
        .await
        .lead;
    assert!(
        g2.assignment
            .unwrap()
            .explanation
            .unwrap()
            .account_match
            .is_none()
    );
    // Free mail falls back to the company name, normalised.
    let g3 = intake
        .push(&person("g3", "ola@gmail.com", "Zeta Labs, Inc."))
        .await
        .lead;
    assert_eq!(
        g3.assignment.unwrap().rep_name,
        g1.assignment.unwrap().rep_name
    );
}

#[tokio::test]
async fn an_undecided_lead_is_reminded_then_escalated_to_the_teams_managers() {
    let config = r#"
qualification_threshold = 60
[[teams]]
name = "sales"
sla_seconds = 2
remind_at_percent = 50
[[teams]]
name = "other"
"#;
    let server = Server::start(config);
    let ava = server.add_rep("Ava", "sales", 1, 10);
    let admin = server.manager();
    let mut stream = ava.stream(None).await;
    let l = server.intake().push(&lead("slow")).await.lead;
    let mut seen = Vec::new();
    let started = std::time::Instant::now();
    while seen.len() < 3 {
        let Some(e) = stream.next_change(Duration::from_secs(6)).await else {
            break;
        };
        seen.push((started.elapsed(), e.entry().change));
    }
    assert!(matches!(seen[0].1, Change::LeadAssigned { .. }), "{seen:?}");
    assert!(
        matches!(seen[1].1, Change::LeadReminder { lead_id, .. } if lead_id == l.id),
        "{seen:?}"
    );
    assert!(
        matches!(
            seen[2].1,
            Change::LeadTakenAway {
                reason: TakeAwayReason::SlaExpired,
                ..
            }
        ),
        "{seen:?}"
    );
    // Reminded at half the SLA (1 s), taken back at the SLA (2 s).
    let reminded = seen[1].0.as_secs_f64();
    assert!(
        (0.7..1.9).contains(&reminded),
        "reminded after {reminded} s"
    );

    let list: EscalationList = admin.get("/v1/escalations").await.json();
    let e: &Escalation = &list.escalations[0];
    assert_eq!(
        (e.lead_id, e.team.as_str(), e.rep_name.as_str()),
        (l.id, "sales", "Ava")
    );
    assert_eq!(e.lead_name, "Lead slow");
    let none: EscalationList = admin
        .get(&format!("/v1/escalations?after={}", list.next_after))
        .await
        .json();
    assert!(none.escalations.is_empty());
    let history = admin.history(l.id).await;
    let kinds: Vec<LeadEventKind> = history.events.iter().map(|e| e.kind).collect();
    assert!(
        kinds.contains(&LeadEventKind::Reminded) && kinds.contains(&LeadEventKind::Escalated),
        "{kinds:?}"
    );

    // A manager of another team is not told.
    let token = server.admin(&[
        "manager",
        "add",
        "--name",
        "Olga",
        "--email",
        "olga@managers.test",
    ]);
    let olga = server.client(&token);
    let managers: ManagerList = admin.get("/v1/managers").await.json();
    let olga_id = managers
        .managers
        .iter()
        .find(|m| m.name == "Olga")
        .unwrap()
        .id;
    let r = admin
        .put(
            &format!("/v1/managers/{olga_id}/scope"),
            &json!({ "admin": false, "teams": ["other"] }),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
    let theirs: EscalationList = eventually(Duration::from_secs(3), "scope applied", || {
        let olga = olga.clone();
        async move {
            let l: EscalationList = olga.get("/v1/escalations").await.json();
            l.escalations.is_empty().then_some(l)
        }
    })
    .await;
    assert!(theirs.escalations.is_empty());
}

#[tokio::test]
async fn the_explanation_lists_exactly_the_reps_skipped_and_why() {
    let server = Server::start(ONE_TEAM);
    let ann = server.add_rep("Ann", "sales", 1, 10);
    let _bob = server.add_rep("Bob", "sales", 1, 1);
    let cid = server.add_rep("Cid", "sales", 1, 10);
    let _dee = server.add_rep("Dee", "sales", 1, 10);
    let intake = server.intake();
    ann.set_availability(baton_protocol::Availability::Away)
        .await;
    // Bob (next after the away Ann) takes the first lead and is then at his cap.
    let first = intake.push(&lead("x1")).await.lead;
    assert_eq!(first.assignment.unwrap().rep_name, "Bob");
    let x = intake.push(&lead("x2")).await.lead;
    assert_eq!(x.assignment.as_ref().unwrap().rep_name, "Cid");
    let r = cid.reject(x.id, "wrong_territory", None).await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
    let history = server.manager().history(x.id).await;
    let offer = history.assignments.last().unwrap();
    assert_eq!(offer.rep_name, "Dee");
    let mut listed: Vec<(String, Option<SkipReason>)> = offer
        .explanation
        .as_ref()
        .unwrap()
        .considered
        .iter()
        .map(|c| (c.rep_name.clone(), c.skipped))
        .collect();
    listed.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(
        listed,
        vec![
            ("Ann".to_string(), Some(SkipReason::Away)),
            ("Bob".to_string(), Some(SkipReason::AtCap)),
            ("Cid".to_string(), Some(SkipReason::RejectedBefore)),
            ("Dee".to_string(), None),
        ]
    );
}

#[tokio::test]
async fn managers_run_their_team_from_the_api_and_see_only_their_teams() {
    let server = Server::start(TEAMS_BY_REGION);
    let admin = server.manager();
    let intake = server.intake();
    // A rep added from the app: token shown once, queued leads offered at once.
    let queued = intake.push(&lead("emea-1")).await.lead;
    assert_eq!(queued.status, LeadStatus::Queued);
    let r = admin
        .post(
            "/v1/reps",
            &json!({ "name": "Eva", "email": "eva@reps.test", "team": "emea", "max_open": 5 }),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{r:?}");
    let created: RepCreated = r.json();
    let eva = server.client(&created.token);
    let me = eva.me().await;
    assert_eq!(
        me.rep.unwrap().open_leads,
        1,
        "the queued lead went to Eva at once"
    );
    let r = admin
        .post(
            "/v1/reps",
            &json!({ "name": "Eva 2", "email": "EVA@reps.test", "team": "emea" }),
        )
        .await;
    assert_eq!(
        (r.status, r.error_field()),
        (StatusCode::UNPROCESSABLE_ENTITY, "email")
    );
    let gus = server.add_rep("Gus", "emea", 1, 5);

    // Deactivating Eva routes her undecided lead to Gus at once; her token stops working.
    let r = patch(
        &admin,
        &format!("/v1/reps/{}", created.rep.id),
        json!({ "active": false }),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}\n{}", server.log());
    let history = admin.history(queued.id).await;
    let outcomes: Vec<(String, String)> = history
        .assignments
        .iter()
        .map(|a| (a.rep_name.clone(), format!("{:?}", a.outcome)))
        .collect();
    assert_eq!(
        outcomes,
        vec![
            ("Eva".into(), "Withdrawn".into()),
            ("Gus".into(), "Pending".into())
        ]
    );
    assert_eq!(eva.get("/v1/me").await.status, StatusCode::UNAUTHORIZED);
    let (feed, _) = gus.sync_all("").await;
    assert_eq!(assigned_ids(&feed), vec![queued.id]);

    // A team's manager sees and changes their team only.
    let token = server.admin(&[
        "manager",
        "add",
        "--name",
        "Ines",
        "--email",
        "ines@managers.test",
    ]);
    let ines = server.client(&token);
    let managers: ManagerList = admin.get("/v1/managers").await.json();
    let ines_id = managers
        .managers
        .iter()
        .find(|m| m.name == "Ines")
        .unwrap()
        .id;
    let r = admin
        .put(
            &format!("/v1/managers/{ines_id}/scope"),
            &json!({ "admin": false, "teams": ["americas"] }),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
    let mut us = lead("us-1");
    us.contact.country = Some("US".into());
    let us = intake.push(&us).await.lead;
    let ana = server.add_rep("Ana", "americas", 1, 5);
    let _ = ana;
    eventually(Duration::from_secs(3), "the scope is applied", || {
        let ines = ines.clone();
        async move {
            let reps: RepList = ines.get("/v1/reps").await.json();
            (reps.reps.iter().all(|r| r.team == "americas") && !reps.reps.is_empty()).then_some(())
        }
    })
    .await;
    let leads: Value = ines.get("/v1/leads").await.body;
    let ids: Vec<i64> = leads["leads"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, vec![us.id]);
    assert_eq!(ines.lead(queued.id).await.status, StatusCode::NOT_FOUND);
    assert_eq!(
        ines.get("/v1/reports/handoff?team=emea").await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(ines.get("/v1/reports/handoff").await.status, StatusCode::OK);
    let r = ines
        .post(
            "/v1/reps",
            &json!({ "name": "Zed", "email": "zed@reps.test", "team": "emea" }),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let gus_id = gus.me().await.rep.unwrap().id;
    assert_eq!(
        patch(&ines, &format!("/v1/reps/{gus_id}"), json!({ "weight": 3 }))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        ines.post("/v1/definitions", &draft(70, "mine"))
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(ines.get("/v1/webhooks").await.status, StatusCode::FORBIDDEN);
    // Every change is in the audit log.
    let audit: Value = admin.get("/v1/audit").await.body;
    let text = audit.to_string();
    for action in ["rep.created", "rep.updated", "manager.scope"] {
        assert!(text.contains(action), "{action} missing: {audit:#}");
    }
}
