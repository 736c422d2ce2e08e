//! Intake: validation that names the field, idempotency on external_id,
//! updates that reach the assigned rep, and qualification.

use baton_protocol::{Change, IntakeOutcome, IntakeResponse, LeadStatus};
use baton_tests::*;
use reqwest::StatusCode;
use serde_json::json;

#[tokio::test]
async fn a_retried_push_returns_the_same_lead_and_changes_nothing() {
    let server = Server::start(ONE_TEAM);
    let rep = server.add_rep("Ava", "sales", 1, 10);
    let intake = server.intake();
    let first = intake.push(&lead("mk-1")).await;
    assert_eq!(first.outcome, IntakeOutcome::Created);
    let again = intake.post("/v1/leads", &lead("mk-1")).await;
    assert_eq!(again.status, StatusCode::OK);
    let again: IntakeResponse = again.json();
    assert_eq!(again.outcome, IntakeOutcome::Unchanged);
    assert_eq!(again.lead.id, first.lead.id);
    assert_eq!(again.lead.version, first.lead.version);
    let (feed, _) = rep.sync_all("").await;
    assert_eq!(feed.len(), 1, "one assignment, no update: {feed:?}");
}

#[tokio::test]
async fn a_changed_payload_updates_the_lead_and_the_assigned_rep_sees_it() {
    let server = Server::start(ONE_TEAM);
    let rep = server.add_rep("Ava", "sales", 1, 10);
    let intake = server.intake();
    let created = intake.push(&lead("mk-2")).await;
    let (_, cursor) = rep.sync_all("").await;

    let mut changed = lead("mk-2");
    changed.contact.title = Some("Chief Revenue Officer".into());
    changed.score.value = 91;
    let updated = intake.push(&changed).await;
    assert_eq!(updated.outcome, IntakeOutcome::Updated);
    assert_eq!(updated.lead.id, created.lead.id);
    assert!(updated.lead.version > created.lead.version);
    assert_eq!(
        updated.lead.status,
        LeadStatus::Assigned,
        "stays with its rep"
    );

    let (feed, _) = rep.sync_all(&cursor).await;
    assert_eq!(feed.len(), 1);
    match &feed[0].change {
        Change::LeadUpdated { lead } => {
            assert_eq!(lead.contact.title.as_deref(), Some("Chief Revenue Officer"));
            assert_eq!(lead.score.value, 91);
        }
        other => panic!("expected lead_updated, got {other:?}"),
    }
}

#[tokio::test]
async fn below_the_threshold_a_lead_stays_in_nurture_until_it_qualifies() {
    let server = Server::start(ONE_TEAM);
    let rep = server.add_rep("Ava", "sales", 1, 10);
    let intake = server.intake();
    let mut cold = lead("mk-3");
    cold.score.value = 59;
    let r = intake.push(&cold).await;
    assert_eq!(r.lead.status, LeadStatus::Nurture);
    assert!(r.lead.assignment.is_none());
    assert!(rep.sync_all("").await.0.is_empty());

    cold.score.value = 60;
    let r = intake.push(&cold).await;
    assert_eq!(r.outcome, IntakeOutcome::Updated);
    assert_eq!(r.lead.status, LeadStatus::Assigned);
    let (feed, _) = rep.sync_all("").await;
    assert_eq!(assigned_ids(&feed), vec![r.lead.id]);
}

#[tokio::test]
async fn invalid_leads_get_an_error_naming_the_field_and_are_not_stored() {
    let server = Server::start(ONE_TEAM);
    let _rep = server.add_rep("Ava", "sales", 1, 10);
    let intake = server.intake();
    let manager = server.manager();
    let cases = [
        (json!({"contact": {"email": "nope"}}), "contact.email"),
        (json!({"score": {"value": 101}}), "score.value"),
        (
            json!({"contact": {"country": "Deutschland"}}),
            "contact.country",
        ),
        (json!({"external_id": ""}), "external_id"),
        (
            json!({"quiz": [{"question": "q", "answer": ""}]}),
            "quiz[0].answer",
        ),
        (
            json!({"behaviours": [{"kind": "visit", "at": "yesterday"}]}),
            "behaviours[0].at",
        ),
        (
            json!({"contact": {"name": "x", "email": "a@b.co", "fax": "1"}}),
            "contact",
        ),
        (json!({"score": {"value": "high"}}), "score.value"),
    ];
    for (patch, field) in cases {
        let mut body = serde_json::to_value(lead("bad-1")).unwrap();
        merge(&mut body, &patch);
        let r = intake.post("/v1/leads", &body).await;
        assert!(
            r.status == StatusCode::UNPROCESSABLE_ENTITY || r.status == StatusCode::BAD_REQUEST,
            "{patch}: {r:?}"
        );
        assert!(
            r.error_field().starts_with(field),
            "{patch}: expected field {field}, got {r:?}"
        );
        assert!(!r.body["error"]["message"].as_str().unwrap().is_empty());
    }
    let all = manager.get("/v1/leads?status=all").await;
    assert_eq!(
        all.body["leads"].as_array().unwrap().len(),
        0,
        "nothing stored"
    );
}

fn merge(base: &mut serde_json::Value, patch: &serde_json::Value) {
    match (base, patch) {
        (serde_json::Value::Object(b), serde_json::Value::Object(p)) => {
            for (k, v) in p {
                merge(b.entry(k.clone()).or_insert(serde_json::Value::Null), v);
            }
        }
        (b, p) => *b = p.clone(),
    }
}

#[tokio::test]
async fn a_queued_lead_whose_score_drops_goes_back_to_marketing() {
    let server = Server::start(ONE_TEAM);
    let intake = server.intake();
    let manager = server.manager();
    let queued = intake.push(&lead("mk-4")).await.lead;
    assert_eq!(queued.status, LeadStatus::Queued, "no reps: it waits");
    let mut colder = lead("mk-4");
    colder.score.value = 40;
    let r = intake.push(&colder).await;
    assert_eq!(r.lead.status, LeadStatus::Nurture);
    let q: baton_protocol::QueueList = manager.get("/v1/queue").await.json();
    assert!(q.queued.is_empty());
}
