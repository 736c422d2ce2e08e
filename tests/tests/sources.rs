//! Inbound sources over the real server: Typeform, Tally, HubSpot and JSON
//! deliveries signed as each provider signs them (tests/src/providers.rs),
//! mapped to leads that are routed like any other; bad signatures, stale
//! timestamps, replays, oversized and unmappable payloads.

use baton_protocol::{
    Change, IntakeReceipt, IntakeReceiptList, LeadStatus, ReceiptStatus, SourceIntakeResponse,
    SourceOutcome,
};
use baton_tests::providers::*;
use baton_tests::*;
use reqwest::StatusCode;
use serde_json::{Value, json};

const TYPEFORM_SECRET: &str = "tf-secret-0123456789";
const TALLY_SECRET: &str = "tally-secret-0123456789";
const HUBSPOT_SECRET: &str = "hs-client-secret-0123456789";
const JSON_SECRET: &str = "json-secret-0123456789";

fn config(extra: &str) -> String {
    format!(
        r#"
qualification_threshold = 60
[[teams]]
name = "sales"

[[sources]]
name = "scorecard"
kind = "typeform"
secret = "{TYPEFORM_SECRET}"
channel = "scorecard_quiz"
[sources.fields]
first_name = "first_name"
email = "work_email"
company = "company"

[[sources]]
name = "tally"
kind = "tally"
secret = "{TALLY_SECRET}"
[sources.fields]
name = "question_3EKz4n"
company_size = "Company size"
timeline = "question_nPx9Kd"

[[sources]]
name = "hubspot"
kind = "hubspot"
secret = "{HUBSPOT_SECRET}"

[[sources]]
name = "webform"
kind = "json"
secret = "{JSON_SECRET}"
signature_header = "X-Webform-Signature"
event_id = "/delivery"
[sources.fields]
external_id = "/lead/id"
email = "/lead/email"
name = "/lead/name"
score = "/lead/score"
quiz = "/lead/answers"

[[sources]]
name = "keyed"
kind = "json"
[sources.fields]
external_id = "/id"
email = "/email"
score = "/score"
{extra}
"#
    )
}

/// Posts exactly these bytes, with these headers and no bearer token.
async fn deliver(server: &Server, path: &str, body: &[u8], headers: &[(&str, String)]) -> Reply {
    let mut req = reqwest::Client::new()
        .post(format!("{}{path}", server.base))
        .header("content-type", "application/json")
        .body(body.to_vec());
    for (k, v) in headers {
        req = req.header(*k, v);
    }
    let resp = req.send().await.expect("request sent");
    let status = resp.status();
    let text = resp.text().await.expect("body");
    let body = serde_json::from_str(&text).unwrap_or(Value::Null);
    Reply { status, body }
}

async fn typeform(server: &Server, payload: &Value) -> Reply {
    let body = serde_json::to_vec(payload).unwrap();
    let sig = typeform_signature(TYPEFORM_SECRET, &body);
    deliver(
        server,
        "/v1/intake/scorecard",
        &body,
        &[("Typeform-Signature", sig)],
    )
    .await
}

async fn hubspot_at(server: &Server, payload: &Value, at_ms: i64) -> Reply {
    let body = serde_json::to_vec(payload).unwrap();
    let uri = format!("{}/v1/intake/hubspot", server.base);
    let sig = hubspot_v3_signature(HUBSPOT_SECRET, "POST", &uri, &body, at_ms);
    deliver(
        server,
        "/v1/intake/hubspot",
        &body,
        &[
            ("X-HubSpot-Signature-v3", sig),
            ("X-HubSpot-Request-Timestamp", at_ms.to_string()),
        ],
    )
    .await
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

async fn failures(manager: &Client, query: &str) -> Vec<IntakeReceipt> {
    let reply = manager.get(&format!("/v1/intake/failures{query}")).await;
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
    reply.json::<IntakeReceiptList>().receipts
}

#[tokio::test]
async fn a_typeform_response_becomes_a_routed_lead_with_its_answers() {
    let server = Server::start(&config(""));
    let rep = server.add_rep("Ava", "sales", 1, 10);
    let manager = server.manager();
    let reply = typeform(
        &server,
        &typeform_response("LtWXD3crgy", "a3a12ec67a13", 78, "laura@acme.example"),
    )
    .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{:?}", reply.body);
    let answer: SourceIntakeResponse = reply.json();
    assert_eq!(answer.outcome, SourceOutcome::Created);
    let lead_id = answer.lead_id.expect("a lead");

    let (feed, _) = rep.sync_all("").await;
    let lead = match &feed[0].change {
        Change::LeadAssigned { lead } => lead.clone(),
        other => panic!("expected the lead offered to the rep, got {other:?}"),
    };
    assert_eq!(lead.id, lead_id);
    assert_eq!(lead.external_id, "scorecard:a3a12ec67a13");
    assert_eq!(lead.contact.name, "Laura");
    assert_eq!(lead.contact.email.as_deref(), Some("laura@acme.example"));
    assert_eq!(lead.contact.company.as_deref(), Some("Acme GmbH"));
    assert_eq!(lead.score.value, 78, "the form's score variable");
    assert_eq!(lead.source.channel, "scorecard_quiz");
    assert_eq!(lead.source.utm_source.as_deref(), Some("linkedin"));
    assert_eq!(lead.source.utm_campaign.as_deref(), Some("q4-scorecard"));
    assert_eq!(lead.source.campaign.as_deref(), Some("q4-scorecard"));
    let answer_to = |q: &str| {
        lead.quiz
            .iter()
            .find(|a| a.question == q)
            .map(|a| a.answer.clone())
            .unwrap_or_else(|| panic!("no answer to {q:?} in {:?}", lead.quiz))
    };
    // Questions by their titles, choices by their labels.
    assert_eq!(
        answer_to("How many reps are on your team?"),
        "More than 100 reps"
    );
    assert_eq!(
        answer_to("Which tools do you use today?"),
        "HubSpot, Salesforce"
    );
    assert_eq!(answer_to("How many leads a month?"), "1200");
    assert_eq!(answer_to("Do you have budget this quarter?"), "Yes");
    assert_eq!(answer_to("Anything else?"), "We lose leads\nover weekends.");
    assert_eq!(lead.quiz.len(), 5, "contact answers are not quiz answers");
    assert!(
        lead.score
            .breakdown
            .iter()
            .any(|i| i.criterion == "fit" && i.points == 30),
        "{:?}",
        lead.score.breakdown
    );

    // The raw body is kept with the lead, for audit.
    let receipts = manager.get(&format!("/v1/leads/{lead_id}/receipts")).await;
    let receipts: IntakeReceiptList = receipts.json();
    assert_eq!(receipts.receipts.len(), 1);
    let body: Value = serde_json::from_str(receipts.receipts[0].body.as_deref().unwrap()).unwrap();
    assert_eq!(body["event_id"], "LtWXD3crgy");
    assert_eq!(receipts.receipts[0].status, ReceiptStatus::Applied);
}

#[tokio::test]
async fn bad_signatures_stale_timestamps_and_unknown_sources_all_get_the_same_bare_401() {
    let server = Server::start(&config(""));
    let manager = server.manager();
    let payload = typeform_response("ev-1", "tok-1", 80, "a@b.example");
    let body = serde_json::to_vec(&payload).unwrap();
    let good = typeform_signature(TYPEFORM_SECRET, &body);
    let wrong = typeform_signature("another-secret-123", &body);
    let mut tampered = body.clone();
    let at = tampered.iter().position(|b| *b == b'8').unwrap();
    tampered[at] = b'9';
    let stale = now_ms() - 6 * 60 * 1000;
    let hs_body =
        serde_json::to_vec(&hubspot_contact(901, "p@globex.example", "70", "VP")).unwrap();
    let hs_uri = format!("{}/v1/intake/hubspot", server.base);
    type Attempt<'a> = (&'a str, Vec<u8>, Vec<(&'a str, String)>);
    let attempts: Vec<Attempt> = vec![
        ("/v1/intake/scorecard", body.clone(), vec![]),
        (
            "/v1/intake/scorecard",
            body.clone(),
            vec![("Typeform-Signature", wrong)],
        ),
        (
            "/v1/intake/scorecard",
            body.clone(),
            vec![(
                "Typeform-Signature",
                good.trim_start_matches("sha256=").to_string(),
            )],
        ),
        (
            "/v1/intake/scorecard",
            tampered,
            vec![("Typeform-Signature", good.clone())],
        ),
        (
            "/v1/intake/scorecard",
            body.clone(),
            vec![
                ("Typeform-Signature", good.clone()),
                ("Typeform-Signature", good.clone()),
            ],
        ),
        (
            "/v1/intake/nosuchsource",
            body.clone(),
            vec![("Typeform-Signature", good.clone())],
        ),
        // Tally's signature on a Typeform source.
        (
            "/v1/intake/tally",
            body.clone(),
            vec![("Tally-Signature", good.clone())],
        ),
        (
            "/v1/intake/hubspot",
            hs_body.clone(),
            vec![
                (
                    "X-HubSpot-Signature-v3",
                    hubspot_v3_signature(HUBSPOT_SECRET, "POST", &hs_uri, &hs_body, stale),
                ),
                ("X-HubSpot-Request-Timestamp", stale.to_string()),
            ],
        ),
    ];
    let mut bodies = vec![];
    for (path, body, headers) in attempts {
        let reply = deliver(&server, path, &body, &headers).await;
        assert_eq!(
            reply.status,
            StatusCode::UNAUTHORIZED,
            "{path}: {:?}",
            reply.body
        );
        bodies.push(reply.body);
    }
    assert!(
        bodies.windows(2).all(|w| w[0] == w[1]),
        "every refusal says the same: {bodies:?}"
    );
    assert!(
        failures(&manager, "?status=all").await.is_empty(),
        "nothing stored"
    );
    let leads = manager.get("/v1/leads").await;
    assert_eq!(leads.body["leads"].as_array().unwrap().len(), 0);
    // The reasons are in the operator's log, never a secret.
    let log = server.log();
    assert!(log.contains("does not match the body"), "{log}");
    assert!(log.contains("from the server's clock"), "{log}");
    assert!(!log.contains(TYPEFORM_SECRET) && !log.contains(HUBSPOT_SECRET));
}

#[tokio::test]
async fn a_replayed_event_changes_nothing() {
    let server = Server::start(&config(""));
    let rep = server.add_rep("Ava", "sales", 1, 10);
    let manager = server.manager();
    let payload = typeform_response("ev-replay", "tok-replay", 90, "r@acme.example");
    let first: SourceIntakeResponse = typeform(&server, &payload).await.json();
    let before = manager.lead(first.lead_id.unwrap()).await.body;
    for _ in 0..3 {
        let again = typeform(&server, &payload).await;
        assert_eq!(again.status, StatusCode::OK);
        let again: SourceIntakeResponse = again.json();
        assert_eq!(again.outcome, SourceOutcome::Duplicate);
        assert_eq!(again.receipt_id, first.receipt_id);
        assert_eq!(again.lead_id, first.lead_id);
    }
    // Even with a changed body, the same event id is the same event.
    let mut edited = payload.clone();
    edited["form_response"]["calculated"]["score"] = json!(10);
    edited["form_response"]["variables"][0]["number"] = json!(10);
    let edited: SourceIntakeResponse = typeform(&server, &edited).await.json();
    assert_eq!(edited.outcome, SourceOutcome::Duplicate);
    let after = manager.lead(first.lead_id.unwrap()).await.body;
    assert_eq!(before, after, "the lead is untouched");
    let (feed, _) = rep.sync_all("").await;
    assert_eq!(feed.len(), 1, "offered once: {feed:?}");
    let receipts: IntakeReceiptList = manager
        .get(&format!("/v1/leads/{}/receipts", first.lead_id.unwrap()))
        .await
        .json();
    assert_eq!(receipts.receipts.len(), 1);
}

#[tokio::test]
async fn an_unmappable_delivery_is_kept_with_its_field_and_taken_in_after_the_mapping_is_fixed() {
    // The mapping reads the score from a variable the form does not have.
    let broken = config("").replace(
        "channel = \"scorecard_quiz\"",
        "channel = \"scorecard_quiz\"\nscore_max = 40",
    );
    let mut server = Server::start(&broken);
    let rep = server.add_rep("Ava", "sales", 1, 10);
    let manager = server.manager();
    let payload = typeform_response("ev-broken", "tok-broken", 78, "k@acme.example");
    let reply = typeform(&server, &payload).await;
    assert_eq!(reply.status, StatusCode::ACCEPTED, "{:?}", reply.body);
    let answer: SourceIntakeResponse = reply.json();
    assert_eq!(answer.outcome, SourceOutcome::Failed);
    assert_eq!(answer.field.as_deref(), Some("score.value"));
    assert!(
        answer.message.as_deref().unwrap().contains("outside 0–40"),
        "{answer:?}"
    );

    // A re-send of the failed event is recognised too.
    let again: SourceIntakeResponse = typeform(&server, &payload).await.json();
    assert_eq!(again.outcome, SourceOutcome::Duplicate);
    assert_eq!(again.receipt_id, answer.receipt_id);
    assert_eq!(again.field.as_deref(), Some("score.value"));

    let open = failures(&manager, "").await;
    assert_eq!(open.len(), 1);
    assert_eq!(open[0].id, answer.receipt_id);
    assert_eq!(open[0].source, "scorecard");
    assert_eq!(open[0].event_id, "ev-broken");
    assert_eq!(open[0].field.as_deref(), Some("score.value"));
    assert_eq!(
        serde_json::from_str::<Value>(open[0].body.as_deref().unwrap()).unwrap(),
        payload,
        "the body as received"
    );
    let (feed, _) = rep.sync_all("").await;
    assert!(feed.is_empty());

    // Reps may not see failed intakes.
    assert_eq!(
        rep.get("/v1/intake/failures").await.status,
        StatusCode::FORBIDDEN
    );

    // A retry with the mapping still broken says so again.
    let still = manager
        .post(
            &format!("/v1/intake/failures/{}/retry", answer.receipt_id),
            &json!({}),
        )
        .await;
    assert_eq!(still.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        still.json::<SourceIntakeResponse>().outcome,
        SourceOutcome::Failed
    );

    // The operator fixes the mapping; a manager retries.
    std::fs::write(server.config_path(), config("")).unwrap();
    server.restart();
    let retried = manager
        .post(
            &format!("/v1/intake/failures/{}/retry", answer.receipt_id),
            &json!({}),
        )
        .await;
    assert_eq!(retried.status, StatusCode::CREATED, "{:?}", retried.body);
    let retried: SourceIntakeResponse = retried.json();
    assert_eq!(retried.outcome, SourceOutcome::Created);
    let lead_id = retried.lead_id.unwrap();
    let (feed, _) = rep.sync_all("").await;
    assert_eq!(assigned_ids(&feed), vec![lead_id]);

    // Off the open list; on the reprocessed one. A second retry changes nothing.
    assert!(failures(&manager, "").await.is_empty());
    let done = failures(&manager, "?status=reprocessed").await;
    assert_eq!(done.len(), 1);
    assert_eq!(done[0].lead_id, Some(lead_id));
    let twice = manager
        .post(
            &format!("/v1/intake/failures/{}/retry", answer.receipt_id),
            &json!({}),
        )
        .await;
    assert_eq!(twice.status, StatusCode::OK);
    let twice: SourceIntakeResponse = twice.json();
    assert_eq!(twice.outcome, SourceOutcome::Duplicate);
    assert_eq!(twice.lead_id, Some(lead_id));
    let (feed, _) = rep.sync_all("").await;
    assert_eq!(feed.len(), 1, "not offered twice");
}

#[tokio::test]
async fn a_dismissed_failure_leaves_the_list_and_cannot_be_retried() {
    let server = Server::start(&config(""));
    let manager = server.manager();
    let mut payload = typeform_response("ev-junk", "tok-junk", 70, "not-an-email");
    payload["form_response"]["answers"][0]["text"] = json!("Spam Bot");
    let answer: SourceIntakeResponse = typeform(&server, &payload).await.json();
    assert_eq!(answer.outcome, SourceOutcome::Failed);
    assert_eq!(answer.field.as_deref(), Some("contact.email"));
    assert!(
        answer
            .message
            .as_deref()
            .unwrap()
            .contains("answer with ref \"work_email\""),
        "says where the provider had it: {answer:?}"
    );
    let path = format!("/v1/intake/failures/{}/dismiss", answer.receipt_id);
    let dismissed = manager.post(&path, &json!({})).await;
    assert_eq!(dismissed.status, StatusCode::OK);
    assert_eq!(
        dismissed.json::<IntakeReceipt>().status,
        ReceiptStatus::Dismissed
    );
    assert_eq!(manager.post(&path, &json!({})).await.status, StatusCode::OK);
    assert!(failures(&manager, "").await.is_empty());
    assert_eq!(failures(&manager, "?status=dismissed").await.len(), 1);
    let retry = manager
        .post(
            &format!("/v1/intake/failures/{}/retry", answer.receipt_id),
            &json!({}),
        )
        .await;
    assert_eq!(retry.status, StatusCode::CONFLICT);
    assert_eq!(retry.error_code(), "conflict");
    let missing = manager
        .post("/v1/intake/failures/999999/retry", &json!({}))
        .await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_not_json_or_foreign_payload_is_a_failed_intake_naming_the_body() {
    let server = Server::start(&config(""));
    let manager = server.manager();
    for (body, expect) in [
        (b"not json at all".to_vec(), "is not JSON"),
        (
            br#"{"event_type":"form_deleted"}"#.to_vec(),
            "form_response",
        ),
    ] {
        let sig = typeform_signature(TYPEFORM_SECRET, &body);
        let reply = deliver(
            &server,
            "/v1/intake/scorecard",
            &body,
            &[("Typeform-Signature", sig)],
        )
        .await;
        assert_eq!(reply.status, StatusCode::ACCEPTED);
        let answer: SourceIntakeResponse = reply.json();
        assert_eq!(answer.field.as_deref(), Some("body"));
        assert!(
            answer.message.as_deref().unwrap().contains(expect),
            "{answer:?}"
        );
    }
    let open = failures(&manager, "").await;
    assert_eq!(open.len(), 2);
    assert!(
        open[1].event_id.starts_with("sha256:"),
        "named by its hash: {}",
        open[1].event_id
    );
}

#[tokio::test]
async fn an_oversized_delivery_is_413_and_leaves_nothing() {
    let server = Server::start(&config("").replace(
        "channel = \"scorecard_quiz\"",
        "channel = \"scorecard_quiz\"\nmax_body_kib = 8",
    ));
    let manager = server.manager();
    let mut payload = typeform_response("ev-big", "tok-big", 70, "big@acme.example");
    payload["form_response"]["answers"][7]["text"] = json!("x".repeat(9 * 1024));
    let reply = typeform(&server, &payload).await;
    assert_eq!(
        reply.status,
        StatusCode::PAYLOAD_TOO_LARGE,
        "{:?}",
        reply.body
    );
    assert_eq!(reply.error_code(), "payload_too_large");
    assert!(failures(&manager, "?status=all").await.is_empty());
    // Just under the bound is taken (and the long answer cut to fit a quiz answer).
    payload["form_response"]["answers"][7]["text"] = json!("y".repeat(4 * 1024));
    let reply = typeform(&server, &payload).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{:?}", reply.body);
    let lead = manager
        .lead(reply.json::<SourceIntakeResponse>().lead_id.unwrap())
        .await
        .body;
    let notes = lead["quiz"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["question"] == "Anything else?")
        .unwrap()["answer"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(notes.chars().count(), 2000);
    assert!(notes.ends_with('…'));
}

#[tokio::test]
async fn a_tally_response_resolves_choice_ids_and_reads_its_calculated_score() {
    let server = Server::start(&config(""));
    let rep = server.add_rep("Ava", "sales", 1, 10);
    let payload = tally_response("a4cb511e-d513", "2wgx4n", 64, "jonas@weber.example");
    let body = serde_json::to_vec(&payload).unwrap();
    let sig = tally_signature(TALLY_SECRET, &body);
    let reply = deliver(
        &server,
        "/v1/intake/tally",
        &body,
        &[("Tally-Signature", sig.clone())],
    )
    .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{:?}", reply.body);
    let (feed, _) = rep.sync_all("").await;
    let Change::LeadAssigned { lead } = &feed[0].change else {
        panic!("{feed:?}")
    };
    assert_eq!(lead.external_id, "tally:2wgx4n");
    assert_eq!(lead.contact.name, "Jonas Weber");
    assert_eq!(lead.contact.email.as_deref(), Some("jonas@weber.example"));
    assert_eq!(
        lead.contact.company_size,
        Some(51),
        "the band's lower bound"
    );
    assert_eq!(lead.score.value, 64);
    assert_eq!(lead.source.utm_source.as_deref(), Some("newsletter"));
    assert_eq!(lead.intent.timeline.as_deref(), Some("This quarter"));
    let channels: Vec<_> = lead
        .quiz
        .iter()
        .filter(|a| a.question.starts_with("Channels"))
        .collect();
    assert_eq!(
        channels.len(),
        1,
        "one answer per question: {:?}",
        lead.quiz
    );
    assert_eq!(channels[0].answer, "Email, Phone");
    // Replayed: nothing.
    let again = deliver(
        &server,
        "/v1/intake/tally",
        &body,
        &[("Tally-Signature", sig)],
    )
    .await;
    assert_eq!(
        again.json::<SourceIntakeResponse>().outcome,
        SourceOutcome::Duplicate
    );
}

#[tokio::test]
async fn a_hubspot_contact_is_a_lead_and_its_later_webhooks_update_it() {
    let config = config("").replace(
        "kind = \"hubspot\"",
        "kind = \"hubspot\"\n[limits]\nreceipt_bodies_per_lead = 2",
    );
    // [limits] must not swallow the next sources: move it to the end.
    let config = {
        let (head, tail) = config
            .split_once("[limits]\nreceipt_bodies_per_lead = 2")
            .unwrap();
        format!("{head}{tail}\n[limits]\nreceipt_bodies_per_lead = 2\n")
    };
    let server = Server::start(&config);
    let rep = server.add_rep("Ava", "sales", 1, 10);
    let manager = server.manager();
    let first = hubspot_at(
        &server,
        &hubspot_contact(3501, "priya@globex.example", "72", "VP Sales"),
        now_ms(),
    )
    .await;
    assert_eq!(first.status, StatusCode::CREATED, "{:?}", first.body);
    let lead_id = first.json::<SourceIntakeResponse>().lead_id.unwrap();
    let lead = manager.lead(lead_id).await.body;
    assert_eq!(lead["external_id"], "hubspot:3501");
    assert_eq!(lead["contact"]["name"], "Priya Natarajan");
    assert_eq!(lead["contact"]["title"], "VP Sales");
    assert_eq!(lead["contact"]["country"], "IN");
    assert_eq!(lead["contact"]["company_size"], 201);
    assert_eq!(lead["score"]["value"], 72);
    assert_eq!(lead["source"]["channel"], "paid_search");
    assert_eq!(lead["status"], "assigned");

    // The same contact later: an update the rep sees, not a second lead.
    for title in ["CRO", "Chief Revenue Officer"] {
        let reply = hubspot_at(
            &server,
            &hubspot_contact(3501, "priya@globex.example", "75", title),
            now_ms(),
        )
        .await;
        let answer: SourceIntakeResponse = reply.json();
        assert_eq!(answer.outcome, SourceOutcome::Updated);
        assert_eq!(answer.lead_id, Some(lead_id));
    }
    let (feed, _) = rep.sync_all("").await;
    let latest = feed
        .iter()
        .rev()
        .find_map(|e| match &e.change {
            Change::LeadUpdated { lead } => Some(lead.clone()),
            _ => None,
        })
        .expect("an update");
    assert_eq!(
        latest.contact.title.as_deref(),
        Some("Chief Revenue Officer")
    );
    assert_eq!(latest.status, LeadStatus::Assigned);

    // Three deliveries recorded; only the newest two keep their bodies.
    let receipts: IntakeReceiptList = manager
        .get(&format!("/v1/leads/{lead_id}/receipts"))
        .await
        .json();
    assert_eq!(receipts.receipts.len(), 3);
    let kept: Vec<bool> = receipts.receipts.iter().map(|r| r.body.is_some()).collect();
    assert_eq!(kept, vec![true, true, false], "newest first");
}

#[tokio::test]
async fn a_json_source_maps_by_pointers_and_checks_its_hmac_or_intake_key() {
    let server = Server::start(&config(""));
    let rep = server.add_rep("Ava", "sales", 1, 10);
    let manager = server.manager();
    let payload = json!({
        "delivery": "d-77",
        "lead": {
            "id": 4411,
            "email": "sam@initech.example",
            "name": "Sam Lee",
            "score": "83",
            "answers": [{"question": "Team size", "answer": "40", "points": 10}]
        }
    });
    let body = serde_json::to_vec(&payload).unwrap();
    let reply = deliver(
        &server,
        "/v1/intake/webform",
        &body,
        &[(
            "X-Webform-Signature",
            format!("sha256={}", hex_hmac(JSON_SECRET, &body)),
        )],
    )
    .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{:?}", reply.body);
    let lead = manager
        .lead(reply.json::<SourceIntakeResponse>().lead_id.unwrap())
        .await
        .body;
    assert_eq!(lead["external_id"], "webform:4411");
    assert_eq!(lead["score"]["value"], 83);
    assert_eq!(lead["quiz"][0]["points"], 10);
    let unsigned = deliver(&server, "/v1/intake/webform", &body, &[]).await;
    assert_eq!(unsigned.status, StatusCode::UNAUTHORIZED);

    // A json source without a signature header takes its own intake key.
    let keyed = json!({"id": "k-1", "email": "kim@hooli.example", "score": 88});
    let no_key = deliver(
        &server,
        "/v1/intake/keyed",
        &serde_json::to_vec(&keyed).unwrap(),
        &[],
    )
    .await;
    assert_eq!(no_key.status, StatusCode::UNAUTHORIZED);
    let other_key = server.intake();
    let wrong = other_key.post("/v1/intake/keyed", &keyed).await;
    assert_eq!(wrong.status, StatusCode::FORBIDDEN);
    let token = server.admin(&[
        "intake-key",
        "add",
        "--label",
        "keyed-tool",
        "--source",
        "keyed",
    ]);
    let right = server.client(&token).post("/v1/intake/keyed", &keyed).await;
    assert_eq!(right.status, StatusCode::CREATED, "{:?}", right.body);
    let (feed, _) = rep.sync_all("").await;
    assert_eq!(feed.len(), 2);
}
