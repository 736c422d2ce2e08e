//! The manager's review, through baton-core (what the desktop app calls),
//! against the real server: failed intakes listed, retried and dismissed;
//! a CSV file checked then imported; a webhook registered, its log read,
//! a delivery replayed to a real receiver, then deleted.

use std::time::Duration;

use baton_core::profile::Profile;
use baton_core::review::{CsvFile, CsvImport, ImportOptions, Review, WebhookCreation};
use baton_protocol::{DeliveryStatus, EventType, NewWebhook, ReceiptStatus, Role, SourceOutcome};
use baton_tests::providers::{typeform_response, typeform_signature};
use baton_tests::receiver::{Answer, Receiver};
use baton_tests::*;

const SECRET: &str = "tf-secret-0123456789";

fn config() -> String {
    format!(
        r#"
qualification_threshold = 60
[[teams]]
name = "sales"
[webhooks]
allow_private_targets = true
[[sources]]
name = "quiz"
kind = "typeform"
secret = "{SECRET}"
score_max = 40
[sources.fields]
email = "work_email"
"#
    )
}

async fn review(server: &Server, manager: &Client) -> (tempfile::TempDir, Review) {
    let dir = tempfile::tempdir().unwrap();
    let profile = Profile::resolve(Some(dir.path().join("profile"))).unwrap();
    profile
        .sign_in_as(&server.base, &manager.token, &[Role::Manager])
        .await
        .expect("the manager signs in");
    let review = Review::open(&profile).unwrap();
    (dir, review)
}

#[tokio::test]
async fn a_manager_works_failed_intakes_imports_and_webhooks_through_the_client() {
    let mut server = Server::start(&config());
    let rep = server.add_rep("Ava", "sales", 1, 100);
    let manager = server.manager();
    let (_first, review) = self::review(&server, &manager).await;

    // A Typeform delivery scored out of 100 fails against score_max = 40.
    let body =
        serde_json::to_vec(&typeform_response("ev-1", "tok-1", 78, "a@acme.example")).unwrap();
    let r = reqwest::Client::new()
        .post(format!("{}/v1/intake/quiz", server.base))
        .header("content-type", "application/json")
        .header("typeform-signature", typeform_signature(SECRET, &body))
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
    let open = review
        .intake_failures(&baton_core::review::FailureQuery {
            status: Some(ReceiptStatus::Failed),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(open.receipts.len(), 1);
    let failed = &open.receipts[0];
    assert_eq!(failed.field.as_deref(), Some("score.value"));
    let still = review.retry_intake(failed.id).await.unwrap();
    assert_eq!(still.outcome, SourceOutcome::Failed);
    // The mapping is fixed; the retry takes it in.
    std::fs::write(
        server.config_path(),
        config().replace("score_max = 40\n", ""),
    )
    .unwrap();
    server.restart();
    // A new client, as the app has after the server went away and came back.
    let (_dir, review) = self::review(&server, &manager).await;
    let done = review.retry_intake(failed.id).await.unwrap();
    assert_eq!(done.outcome, SourceOutcome::Created);
    let lead = done.lead_id.unwrap();
    let receipts = review.lead_receipts(lead).await.unwrap();
    assert_eq!(receipts.receipts[0].status, ReceiptStatus::Reprocessed);

    // A CSV file: checked, then imported.
    let csv =
        b"Email,Name,Lead Score\nx@acme.example,X,70\ny@acme.example,Y,65\nbad,Bad,70\n".to_vec();
    let options = ImportOptions {
        source: "fair".into(),
        dry_run: true,
        no_route: false,
        mapping: vec![],
        score_max: None,
        channel: None,
    };
    let CsvImport::Done { summary } = review
        .import_csv(CsvFile::Bytes(csv.clone()), &options)
        .await
        .unwrap()
    else {
        panic!("refused")
    };
    assert_eq!((summary.created, summary.refused), (2, 1));
    let file = server.dir.path().join("fair.csv");
    std::fs::write(&file, &csv).unwrap();
    let real = ImportOptions {
        dry_run: false,
        ..options
    };
    let CsvImport::Done { summary } = review.import_csv(CsvFile::Path(file), &real).await.unwrap()
    else {
        panic!("refused")
    };
    assert_eq!(summary.created, 2);
    let (feed, _) = rep.sync_all("").await;
    assert_eq!(
        assigned_ids(&feed).len(),
        3,
        "the retried lead and two imported"
    );

    // A webhook: registered, delivered to, replayed, deleted.
    let receiver = Receiver::start(Answer::Ok).await;
    let WebhookCreation::Created { webhook } = review
        .create_webhook(&NewWebhook {
            url: receiver.url.clone(),
            events: vec![EventType::LeadAccepted],
            description: Some("CRM sync".into()),
        })
        .await
        .unwrap()
    else {
        panic!("refused")
    };
    receiver.set_secret(webhook.secret.as_deref().unwrap());
    assert_eq!(rep.accept(lead).await.status, 200);
    let got = receiver.wait_for(1, Duration::from_secs(5)).await;
    assert!(got[0].verified);
    let log = review
        .webhook_deliveries(webhook.id, None, None)
        .await
        .unwrap();
    assert_eq!(log.deliveries[0].status, DeliveryStatus::Delivered);
    let replayed = review
        .replay_delivery(webhook.id, log.deliveries[0].id)
        .await
        .unwrap();
    assert_eq!(replayed.message_id, got[0].id);
    let again = receiver.wait_for(2, Duration::from_secs(5)).await;
    assert_eq!(again[1].id, got[0].id);
    let refused = review
        .create_webhook(&NewWebhook {
            url: "ftp://nowhere.example/".into(),
            events: vec![EventType::LeadAccepted],
            description: None,
        })
        .await
        .unwrap();
    assert!(
        matches!(refused, WebhookCreation::Invalid { ref field, .. } if field == "url"),
        "{refused:?}"
    );
    review.delete_webhook(webhook.id).await.unwrap();
    assert!(review.webhooks().await.unwrap().webhooks.is_empty());
}

/// The definition of a qualified lead and the team, through baton-core
/// against the real server: a draft refused field by field then published,
/// a preview for one team, the outcomes per version; a rep added (token
/// once), changed, given hours (a refused stretch named as the form names
/// it), deactivated; the managers, the audit log; the escalation watch
/// starting at the head.
#[tokio::test]
async fn a_manager_runs_the_definition_and_the_team_through_the_client() {
    use baton_core::api::FormAnswer;
    use baton_protocol::{
        Criterion, CriterionKind, DefinitionDraft, NewRep, PreviewRequest, RepUpdate, Timestamp,
        Weekday, WorkSchedule, WorkingHours,
    };

    let server = Server::start(ONE_TEAM);
    server.add_rep("Ava", "sales", 1, 100);
    let manager = server.manager();
    let (_dir, review) = self::review(&server, &manager).await;

    let list = review.definitions().await.unwrap();
    assert_eq!(list.in_force, 1);
    let mut draft = DefinitionDraft {
        threshold: 70,
        criteria: vec![Criterion {
            kind: CriterionKind::Intent,
            key: "mood".into(),
            value: Some("This quarter".into()),
            points: Some(12),
            meaning: "A near deadline".into(),
            opener: Some("  ".into()),
        }],
        reasons: list.definitions[0].reasons.clone(),
        note: " Deadlines this quarter ".into(),
    };
    match review.publish_definition(&draft).await.unwrap() {
        FormAnswer::Invalid { field, .. } => assert_eq!(field, "criteria[0].key"),
        other => panic!("published a bad draft: {other:?}"),
    }
    draft.criteria[0].key = " timeline ".into();
    let v2 = review
        .publish_definition(&draft)
        .await
        .unwrap()
        .saved()
        .expect("published");
    assert_eq!((v2.version, v2.threshold), (2, 70));
    assert_eq!(v2.note, "Deadlines this quarter");
    assert_eq!(v2.criteria[0].key, "timeline");
    assert_eq!(v2.criteria[0].opener, None, "a blank opener is none");
    let now = Timestamp::now();
    let preview = review
        .preview_definition(
            Some("sales"),
            &PreviewRequest {
                threshold: 90,
                from: now.plus_millis(-86_400_000),
                to: now.plus_millis(1_000),
            },
        )
        .await
        .unwrap()
        .saved()
        .expect("previewed");
    assert_eq!(
        (preview.current_threshold, preview.proposed_threshold),
        (70, 90)
    );
    assert_eq!(
        review
            .definition_outcomes(None)
            .await
            .unwrap()
            .versions
            .len(),
        2
    );

    let overview = review.team_overview().await.unwrap();
    assert!(overview.manager.admin);
    assert_eq!(
        overview
            .teams
            .iter()
            .map(|t| t.name.as_str())
            .collect::<Vec<_>>(),
        ["sales"]
    );
    assert_eq!(overview.reps.len(), 1);
    let new = |email: &str| NewRep {
        name: " Kai Moreno ".into(),
        email: email.into(),
        team: "sales".into(),
        weight: Some(2),
        max_open: None,
        schedule: None,
    };
    assert!(matches!(
        review.create_rep(&new("kai")).await.unwrap(),
        FormAnswer::Invalid { ref field, .. } if field == "email"
    ));
    let created = review
        .create_rep(&new("kai@reps.test"))
        .await
        .unwrap()
        .saved()
        .expect("created");
    assert!(created.token.starts_with("btn_rep_"), "{}", created.token);
    assert_eq!(created.rep.name, "Kai Moreno");
    let kai = created.rep.id;
    let changed = review
        .update_rep(
            kai,
            &RepUpdate {
                weight: Some(3),
                ..RepUpdate::default()
            },
        )
        .await
        .unwrap()
        .saved()
        .expect("changed");
    assert_eq!(changed.weight, 3);
    let week = |end: &str| WorkSchedule {
        time_zone: "Europe/Berlin".into(),
        hours: vec![
            WorkingHours {
                day: Weekday::Mon,
                start: "09:00".into(),
                end: "17:00".into(),
            },
            WorkingHours {
                day: Weekday::Tue,
                start: "19:00".into(),
                end: end.into(),
            },
        ],
        absences: vec![],
    };
    match review
        .set_rep_schedule(kai, Some(week("18:00")))
        .await
        .unwrap()
    {
        FormAnswer::Invalid { field, message } => {
            assert_eq!(field, "hours[1].end", "{message}")
        }
        other => panic!("a stretch ending before it starts was taken: {other:?}"),
    }
    let hours = review
        .set_rep_schedule(kai, Some(week("21:00")))
        .await
        .unwrap()
        .saved()
        .expect("hours set");
    assert_eq!(hours.schedule, Some(week("21:00")));
    let gone = review
        .update_rep(
            kai,
            &RepUpdate {
                active: Some(false),
                ..RepUpdate::default()
            },
        )
        .await
        .unwrap()
        .saved()
        .expect("deactivated");
    assert!(!gone.active);

    assert!(
        review
            .managers()
            .await
            .unwrap()
            .managers
            .iter()
            .any(|m| m.admin)
    );
    let audit = review.audit(None, None).await.unwrap();
    let actions: Vec<&str> = audit.entries.iter().map(|e| e.action.as_str()).collect();
    for action in [
        "definition.published",
        "rep.created",
        "rep.updated",
        "rep.schedule",
    ] {
        assert!(actions.contains(&action), "{action} in {actions:?}");
    }
    let mut watch = review.escalation_watch();
    assert!(watch.poll().await.unwrap().is_empty(), "starts at the head");
}

/// A rep's own hours through baton-core against the real server: a refused
/// time zone named as the form names it, then saved and kept for offline.
#[tokio::test]
async fn a_rep_sets_their_own_hours_through_the_client() {
    use baton_core::Engine;
    use baton_core::api::FormAnswer;
    use baton_protocol::{Absence, WorkSchedule};

    let server = Server::start(ONE_TEAM);
    let ava = server.add_rep("Ava", "sales", 1, 100);
    let dir = tempfile::tempdir().unwrap();
    let profile = Profile::resolve(Some(dir.path().join("profile"))).unwrap();
    profile
        .sign_in_as(&server.base, &ava.token, &[Role::Rep])
        .await
        .expect("the rep signs in");
    let engine = Engine::open(&profile, None).unwrap();
    let view = engine.my_schedule().await.unwrap();
    assert_eq!(
        (view.schedule, view.on_shift, view.offline),
        (None, true, false)
    );
    let away = |zone: &str| WorkSchedule {
        time_zone: zone.into(),
        hours: vec![],
        absences: vec![Absence {
            from: "2027-08-02".into(),
            to: "2027-08-13".into(),
            note: Some(" Summer ".into()),
        }],
    };
    match engine
        .set_my_schedule(Some(away("Mars/Olympus")))
        .await
        .unwrap()
    {
        FormAnswer::Invalid { field, .. } => assert_eq!(field, "time_zone"),
        other => panic!("an unknown time zone was taken: {other:?}"),
    }
    let saved = engine
        .set_my_schedule(Some(away("Europe/Berlin")))
        .await
        .unwrap()
        .saved()
        .expect("saved");
    let kept = saved.schedule.expect("a schedule");
    assert_eq!(kept.absences[0].note.as_deref(), Some("Summer"));
    assert_eq!(
        engine.cached_rep().await.unwrap().unwrap().schedule,
        Some(kept)
    );
}
