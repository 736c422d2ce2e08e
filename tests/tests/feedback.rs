//! Feedback: idempotent decisions, 409 for a lead no longer the rep's, and
//! what each rejection does to the lead.

use baton_protocol::{Change, Disposition, FeedbackResponse, LeadStatus, ReasonList};
use baton_tests::*;
use reqwest::StatusCode;
use serde_json::json;

#[tokio::test]
async fn a_replayed_decision_returns_the_first_answer_and_changes_nothing() {
    let server = Server::start(ONE_TEAM);
    let ava = server.add_rep("Ava", "sales", 1, 10);
    let intake = server.intake();
    let manager = server.manager();
    let l = intake.push(&lead("fb-1")).await.lead;
    let body = json!({"decision": "accept", "note": "booked a call"});
    let first = ava.feedback(l.id, body.clone(), "key-1").await;
    assert_eq!(first.status, StatusCode::OK, "{first:?}");
    let replay = ava.feedback(l.id, body.clone(), "key-1").await;
    assert_eq!(replay.status, StatusCode::OK);
    assert_eq!(
        replay.body, first.body,
        "replay returns the first answer verbatim"
    );

    // Concurrent replays: still one decision.
    let mut handles = Vec::new();
    for _ in 0..8 {
        let (c, b) = (ava.clone(), body.clone());
        handles.push(tokio::spawn(
            async move { c.feedback(l.id, b, "key-1").await },
        ));
    }
    for h in handles {
        let r = h.await.unwrap();
        assert_eq!(r.body, first.body);
    }
    let history = manager.history(l.id).await;
    assert_eq!(history.decisions.len(), 1);
    let (feed, _) = ava.sync_all("").await;
    let decisions = feed
        .iter()
        .filter(|e| matches!(e.change, Change::DecisionRecorded { .. }))
        .count();
    assert_eq!(decisions, 1);

    // Same key, different request: refused, nothing recorded.
    let reused = ava
        .feedback(
            l.id,
            json!({"decision": "reject", "reason": "no_budget"}),
            "key-1",
        )
        .await;
    assert_eq!(reused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(reused.error_code(), "idempotency_key_reused");
    // A new key on a decided lead: 409, not a second decision.
    let again = ava.accept(l.id).await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    assert_eq!(again.error_code(), "lead_not_yours");
    assert_eq!(manager.history(l.id).await.decisions.len(), 1);
}

#[tokio::test]
async fn a_decision_without_an_idempotency_key_is_refused() {
    let server = Server::start(ONE_TEAM);
    let ava = server.add_rep("Ava", "sales", 1, 10);
    let l = server.intake().push(&lead("fb-2")).await.lead;
    let r = ava
        .post(
            &format!("/v1/leads/{}/feedback", l.id),
            &json!({"decision": "accept"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.error_code(), "idempotency_key_missing");
    let lead: baton_protocol::Lead = ava.lead(l.id).await.json();
    assert_eq!(lead.status, LeadStatus::Assigned);
}

#[tokio::test]
async fn wrong_territory_routes_the_lead_on_and_other_reasons_return_it_to_marketing() {
    let server = Server::start(ONE_TEAM);
    let ava = server.add_rep("Ava", "sales", 1, 10);
    let ben = server.add_rep("Ben", "sales", 1, 10);
    let intake = server.intake();
    let manager = server.manager();
    let reps = [("Ava", &ava), ("Ben", &ben)];
    let holder = |l: &baton_protocol::Lead| {
        let name = l.assignment.as_ref().unwrap().rep_name.clone();
        reps.iter().find(|(n, _)| *n == name).unwrap().1.clone()
    };

    let l = intake.push(&lead("fb-3")).await.lead;
    let first = holder(&l);
    let r = first.reject(l.id, "wrong_territory", None).await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
    let resp: FeedbackResponse = r.json();
    assert_eq!(resp.disposition, Disposition::RoutedOn);
    let now: baton_protocol::Lead = manager.lead(l.id).await.json();
    assert_eq!(now.status, LeadStatus::Assigned);
    assert_ne!(
        now.assignment.as_ref().unwrap().rep_id,
        l.assignment.as_ref().unwrap().rep_id
    );

    let second = holder(&now);
    let r = second
        .reject(l.id, "no_budget", Some("Budget frozen until Q3"))
        .await;
    let resp: FeedbackResponse = r.json();
    assert_eq!(resp.disposition, Disposition::ReturnedToMarketing);
    let back: baton_protocol::Lead = manager.lead(l.id).await.json();
    assert_eq!(back.status, LeadStatus::Nurture);
    let returned = back.returned.expect("carries the reason");
    assert_eq!(returned.reason, "no_budget");
    assert_eq!(returned.note.as_deref(), Some("Budget frozen until Q3"));
    assert!(back.assignment.is_none());
}

#[tokio::test]
async fn reasons_come_from_the_server_and_other_needs_a_note() {
    let server = Server::start(ONE_TEAM);
    let ava = server.add_rep("Ava", "sales", 1, 10);
    let list: ReasonList = ava.get("/v1/reasons").await.json();
    let codes: Vec<_> = list.reasons.iter().map(|r| r.code.as_str()).collect();
    for code in [
        "wrong_territory",
        "not_decision_maker",
        "no_budget",
        "no_need_or_timing",
        "bad_contact_data",
        "existing_customer",
        "spam_or_competitor",
        "other",
    ] {
        assert!(codes.contains(&code), "{code} missing from {codes:?}");
    }
    assert!(
        list.reasons
            .iter()
            .any(|r| r.code == "other" && r.note_required)
    );
    assert!(
        list.reasons
            .iter()
            .any(|r| r.code == "wrong_territory" && r.routes_on)
    );

    let l = server.intake().push(&lead("fb-4")).await.lead;
    let r = ava.reject(l.id, "other", None).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.error_field(), "note");
    let r = ava.reject(l.id, "made_up", None).await;
    assert_eq!(r.error_field(), "reason");
    let r = ava
        .feedback(
            l.id,
            json!({"decision": "accept", "reason": "no_budget"}),
            &unique_key(),
        )
        .await;
    assert_eq!(r.error_field(), "reason");
    // None of that recorded anything; a proper rejection still works.
    let r = ava.reject(l.id, "other", Some("Student project")).await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
}
