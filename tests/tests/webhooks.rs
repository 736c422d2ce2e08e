//! Outbound events over the real server to a real receiver on 127.0.0.1
//! (tests/src/receiver.rs), which verifies each request with the Standard
//! Webhooks reference implementation.

use std::collections::{BTreeMap, HashSet};
use std::time::Duration;

use baton_protocol::{DeliveryStatus, WebhookDeliveryList, WebhookEndpoint, WebhookList};
use baton_tests::receiver::{Answer, Receiver};
use baton_tests::*;
use reqwest::StatusCode;
use serde_json::{Value, json};

const ALLOW_PRIVATE: &str = r#"
qualification_threshold = 60
[[teams]]
name = "sales"
sla_seconds = 3600
[webhooks]
allow_private_targets = true
"#;

async fn register(manager: &Client, url: &str, events: &[&str]) -> WebhookEndpoint {
    let reply = manager
        .post("/v1/webhooks", &json!({ "url": url, "events": events }))
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{:?}", reply.body);
    reply.json()
}

fn types(got: &[baton_tests::receiver::Received]) -> Vec<String> {
    got.iter()
        .map(|r| r.body["type"].as_str().unwrap_or("").to_string())
        .collect()
}

#[tokio::test]
async fn decisions_reach_the_endpoint_signed_with_the_secret_shown_once() {
    let server = Server::start(ALLOW_PRIVATE);
    let rep = server.add_rep("Ava", "sales", 1, 10);
    let manager = server.manager();
    let receiver = Receiver::start(Answer::Ok).await;
    let hook = register(
        &manager,
        &receiver.url,
        &[
            "lead.qualified",
            "lead.routed",
            "lead.accepted",
            "lead.rejected",
            "lead.returned_to_nurture",
        ],
    )
    .await;
    let secret = hook.secret.clone().expect("the secret, once");
    assert!(secret.starts_with("whsec_"), "{secret}");
    receiver.set_secret(&secret);
    let listed: WebhookList = manager.get("/v1/webhooks").await.json();
    assert_eq!(listed.webhooks.len(), 1);
    assert!(listed.webhooks[0].secret.is_none(), "never shown again");
    assert_eq!(listed.webhooks[0].events.len(), 5);

    let intake = server.intake();
    let a = intake.push(&lead("wh-1")).await.lead;
    let b = intake.push(&lead("wh-2")).await.lead;
    assert_eq!(rep.accept(a.id).await.status, StatusCode::OK);
    assert_eq!(
        rep.reject(b.id, "no_budget", Some("next year"))
            .await
            .status,
        StatusCode::OK
    );
    let got = receiver.wait_for(7, Duration::from_secs(10)).await;
    assert!(got.iter().all(|r| r.verified), "every request verifies");
    let per_lead = |id: i64| -> Vec<String> {
        got.iter()
            .filter(|r| r.body["data"]["lead_id"] == id)
            .map(|r| r.body["type"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(
        per_lead(a.id),
        ["lead.qualified", "lead.routed", "lead.accepted"]
    );
    assert_eq!(
        per_lead(b.id),
        [
            "lead.qualified",
            "lead.routed",
            "lead.rejected",
            "lead.returned_to_nurture"
        ]
    );
    let accepted = got
        .iter()
        .find(|r| r.body["type"] == "lead.accepted")
        .unwrap();
    let data = &accepted.body["data"];
    assert_eq!(data["external_id"], "wh-1");
    assert_eq!(data["rep"]["name"], "Ava");
    assert!(
        data["assignment"]["routing_reason"]
            .as_str()
            .unwrap()
            .contains("rotation")
    );
    assert!(data["decided_at"].is_string() && accepted.body["timestamp"].is_string());
    let rejected = got
        .iter()
        .find(|r| r.body["type"] == "lead.rejected")
        .unwrap();
    assert_eq!(rejected.body["data"]["reason"]["code"], "no_budget");
    assert_eq!(rejected.body["data"]["reason"]["label"], "No budget");
    assert_eq!(rejected.body["data"]["note"], "next year");
    let ids: HashSet<_> = got.iter().map(|r| r.id.clone()).collect();
    assert_eq!(ids.len(), got.len(), "one message id per event");

    // The delivery log says so.
    let log: WebhookDeliveryList = manager
        .get(&format!("/v1/webhooks/{}/deliveries", hook.id))
        .await
        .json();
    assert_eq!(log.deliveries.len(), got.len());
    assert!(
        log.deliveries
            .iter()
            .all(|d| d.status == DeliveryStatus::Delivered && d.attempts == 1)
    );
    // A tampered copy does not verify.
    let mut forged = accepted.raw.clone();
    forged[10] ^= 1;
    assert!(
        standardwebhooks::Webhook::new(&secret)
            .unwrap()
            .verify(&forged, &accepted.headers)
            .is_err()
    );
}

#[tokio::test]
async fn a_receiver_that_fails_then_recovers_gets_every_event_in_order_per_lead() {
    let server = Server::start(ALLOW_PRIVATE);
    let rep = server.add_rep("Ava", "sales", 1, 50);
    let manager = server.manager();
    let receiver = Receiver::start(Answer::Status(503)).await;
    let hook = register(&manager, &receiver.url, &["lead.routed", "lead.accepted"]).await;
    receiver.set_secret(hook.secret.as_deref().unwrap());
    let intake = server.intake();
    let mut leads = vec![];
    for i in 0..5 {
        let l = intake.push(&lead(&format!("order-{i}"))).await.lead;
        assert_eq!(rep.accept(l.id).await.status, StatusCode::OK);
        leads.push(l.id);
    }
    // The first attempts fail (only the first event of each lead is
    // tried: the next waits behind it).
    let failed = receiver.wait_for(5, Duration::from_secs(5)).await;
    assert!(
        failed.iter().all(|r| r.body["type"] == "lead.routed"),
        "{:?}",
        types(&failed)
    );
    receiver.answer(Answer::Ok);
    // Retried after about 5 s (±20 %), then the accepted events follow.
    let got = receiver.wait_for(15, Duration::from_secs(20)).await;
    let mut delivered: BTreeMap<i64, Vec<String>> = BTreeMap::new();
    let mut seen = HashSet::new();
    for r in &got[5..] {
        if seen.insert(r.id.clone()) {
            delivered
                .entry(r.body["data"]["lead_id"].as_i64().unwrap())
                .or_default()
                .push(r.body["type"].as_str().unwrap().to_string());
        }
    }
    for id in leads {
        assert_eq!(
            delivered[&id],
            ["lead.routed", "lead.accepted"],
            "lead {id}"
        );
    }
    let retried: Vec<_> = got[5..]
        .iter()
        .filter(|r| r.body["type"] == "lead.routed")
        .collect();
    for r in &retried {
        let first = failed
            .iter()
            .find(|f| f.id == r.id)
            .expect("the same message id on retry");
        let waited = r.at - first.at;
        assert!(
            waited >= Duration::from_millis(3900),
            "retried after {waited:?}, not before the schedule's 5 s (less jitter)"
        );
    }
    let log: WebhookDeliveryList = manager
        .get(&format!("/v1/webhooks/{}/deliveries", hook.id))
        .await
        .json();
    let routed: Vec<_> = log.deliveries.iter().filter(|d| d.attempts == 2).collect();
    assert_eq!(routed.len(), 5, "{:#?}", log.deliveries);
    assert!(
        routed
            .iter()
            .all(|d| d.status == DeliveryStatus::Delivered && d.last_error.is_none())
    );
}

#[tokio::test]
async fn gone_disables_the_endpoint_and_retry_after_is_honoured() {
    let server = Server::start(ALLOW_PRIVATE);
    server.add_rep("Ava", "sales", 1, 50);
    let manager = server.manager();
    let gone = Receiver::start(Answer::Status(410)).await;
    let busy = Receiver::start(Answer::RetryAfter(429, 3600)).await;
    let gone_hook = register(&manager, &gone.url, &["lead.routed"]).await;
    let busy_hook = register(&manager, &busy.url, &["lead.routed"]).await;
    let intake = server.intake();
    intake.push(&lead("gone-1")).await;
    intake.push(&lead("gone-2")).await;
    gone.wait_for(1, Duration::from_secs(5)).await;
    busy.wait_for(2, Duration::from_secs(5)).await;
    let hooks = eventually(
        Duration::from_secs(5),
        "the endpoint is disabled",
        || async {
            let list: WebhookList = manager.get("/v1/webhooks").await.json();
            list.webhooks
                .into_iter()
                .find(|w| w.id == gone_hook.id && !w.active)
        },
    )
    .await;
    assert!(hooks.disabled_reason.unwrap().contains("410"));
    // Both leads' events may have been in flight together; after the
    // endpoint is disabled, nothing more is sent to it.
    let before = gone.received().len();
    assert!((1..=2).contains(&before));
    intake.push(&lead("gone-3")).await;
    busy.wait_for(3, Duration::from_secs(5)).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(gone.received().len(), before, "nothing more is sent to it");
    let log: WebhookDeliveryList = manager
        .get(&format!("/v1/webhooks/{}/deliveries", gone_hook.id))
        .await
        .json();
    assert!(
        log.deliveries
            .iter()
            .all(|d| d.status == DeliveryStatus::Failed),
        "{:#?}",
        log.deliveries
    );
    // A replay to a disabled endpoint is refused.
    let replay = manager
        .post(
            &format!(
                "/v1/webhooks/{}/deliveries/{}/replay",
                gone_hook.id, log.deliveries[0].id
            ),
            &json!({}),
        )
        .await;
    assert_eq!(replay.status, StatusCode::CONFLICT);

    // 429 with Retry-After: 3600 waits an hour, not the schedule's 5 s.
    let log: WebhookDeliveryList = manager
        .get(&format!("/v1/webhooks/{}/deliveries", busy_hook.id))
        .await
        .json();
    assert_eq!(log.deliveries.len(), 3);
    for d in &log.deliveries {
        assert_eq!(d.status, DeliveryStatus::Pending);
        assert_eq!(d.last_status, Some(429));
        let wait = d.next_attempt_at.unwrap().millis() - d.last_attempt_at.unwrap().millis();
        assert!(wait >= 3_599_000, "next attempt in {wait} ms");
    }
}

#[tokio::test]
async fn a_manager_replays_a_delivery_with_its_original_id() {
    let server = Server::start(ALLOW_PRIVATE);
    let rep = server.add_rep("Ava", "sales", 1, 50);
    let manager = server.manager();
    let receiver = Receiver::start(Answer::Ok).await;
    let hook = register(&manager, &receiver.url, &["lead.accepted"]).await;
    let l = server.intake().push(&lead("replay-1")).await.lead;
    rep.accept(l.id).await;
    let first = receiver.wait_for(1, Duration::from_secs(5)).await;
    let log: WebhookDeliveryList = manager
        .get(&format!("/v1/webhooks/{}/deliveries", hook.id))
        .await
        .json();
    let replayed = manager
        .post(
            &format!(
                "/v1/webhooks/{}/deliveries/{}/replay",
                hook.id, log.deliveries[0].id
            ),
            &json!({}),
        )
        .await;
    assert_eq!(replayed.status, StatusCode::OK, "{:?}", replayed.body);
    let again = receiver.wait_for(2, Duration::from_secs(5)).await;
    assert_eq!(again[1].id, first[0].id);
    assert_eq!(again[1].raw, first[0].raw, "the same body");
    assert_eq!(
        manager
            .post(
                &format!("/v1/webhooks/{}/deliveries/999999/replay", hook.id),
                &json!({})
            )
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    // Deleting the endpoint stops everything to it.
    assert_eq!(
        manager
            .request(
                reqwest::Method::DELETE,
                &format!("/v1/webhooks/{}", hook.id),
                None,
                &[]
            )
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    let l2 = server.intake().push(&lead("replay-2")).await.lead;
    rep.accept(l2.id).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(receiver.received().len(), 2);
    let list: WebhookList = manager.get("/v1/webhooks").await.json();
    assert!(list.webhooks.is_empty());
}

#[tokio::test]
async fn one_slow_endpoint_never_delays_another() {
    let server = Server::start(ALLOW_PRIVATE);
    let rep = server.add_rep("Ava", "sales", 1, 50);
    let manager = server.manager();
    let slow = Receiver::start(Answer::Slow(Duration::from_secs(4))).await;
    let fast = Receiver::start(Answer::Ok).await;
    register(&manager, &slow.url, &["lead.accepted"]).await;
    register(&manager, &fast.url, &["lead.accepted"]).await;
    let intake = server.intake();
    for i in 0..12 {
        let l = intake.push(&lead(&format!("slow-{i}"))).await.lead;
        rep.accept(l.id).await;
    }
    // All twelve reach the fast endpoint while the slow one holds its requests.
    let started = std::time::Instant::now();
    fast.wait_for(12, Duration::from_secs(3)).await;
    assert!(started.elapsed() < Duration::from_secs(3));
    // And routing was never held up: a new lead is offered at once.
    let t = std::time::Instant::now();
    intake.push(&lead("slow-late")).await;
    assert!(t.elapsed() < Duration::from_secs(2));
}

#[tokio::test]
async fn private_targets_are_refused_unless_allowed() {
    let server = Server::start(ONE_TEAM);
    let manager = server.manager();
    for url in [
        "https://127.0.0.1/hook",
        "https://localhost/hook",
        "https://10.0.0.8/hook",
        "https://[::1]/hook",
        "https://169.254.169.254/latest/meta-data",
        "http://93.184.216.34/hook",
        "not a url",
    ] {
        let reply = manager
            .post(
                "/v1/webhooks",
                &json!({ "url": url, "events": ["lead.accepted"] }),
            )
            .await;
        assert_eq!(
            reply.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{url}: {:?}",
            reply.body
        );
        assert_eq!(reply.error_field(), "url");
    }
    let unknown = manager
        .post(
            "/v1/webhooks",
            &json!({ "url": "https://93.184.216.34/h", "events": ["lead.exploded"] }),
        )
        .await;
    assert_eq!(unknown.error_field(), "events");
    let rep = server.add_rep("Ava", "sales", 1, 5);
    assert_eq!(
        rep.post(
            "/v1/webhooks",
            &json!({ "url": "https://93.184.216.34/h", "events": ["lead.accepted"] })
        )
        .await
        .status,
        StatusCode::FORBIDDEN
    );
}

#[tokio::test]
async fn a_kill_between_commit_and_delivery_still_delivers_each_event_once() {
    // The receiver is down when the events are committed.
    let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = probe.local_addr().unwrap().port();
    drop(probe);
    let mut server = Server::start(ALLOW_PRIVATE);
    let rep = server.add_rep("Ava", "sales", 1, 50);
    let manager = server.manager();
    let url = format!("http://127.0.0.1:{port}/hooks/baton");
    let hook = register(&manager, &url, &["lead.routed", "lead.accepted"]).await;
    let intake = server.intake();
    let mut leads = vec![];
    for i in 0..6 {
        let l = intake.push(&lead(&format!("kill-{i}"))).await.lead;
        rep.accept(l.id).await;
        leads.push(l.id);
    }
    // The first attempts are refused at connect; then the server dies hard.
    eventually(Duration::from_secs(5), "first attempts made", || async {
        let log: WebhookDeliveryList = manager
            .get(&format!("/v1/webhooks/{}/deliveries", hook.id))
            .await
            .json();
        (log.deliveries.iter().filter(|d| d.attempts >= 1).count() >= 6).then_some(())
    })
    .await;
    server.kill();
    let receiver = Receiver::start_on(port, Answer::Ok).await;
    receiver.set_secret(hook.secret.as_deref().unwrap());
    server.start_again();
    let got = receiver.wait_for(12, Duration::from_secs(20)).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let got = if receiver.received().len() > got.len() {
        receiver.received()
    } else {
        got
    };
    let mut by_id: BTreeMap<String, Value> = BTreeMap::new();
    for r in &got {
        assert!(r.verified);
        by_id.entry(r.id.clone()).or_insert(r.body.clone());
    }
    assert_eq!(
        by_id.len(),
        12,
        "every event, none invented: {:?}",
        by_id.keys()
    );
    // In order per lead, as a receiver that de-duplicates on webhook-id sees them.
    let mut seen = HashSet::new();
    let firsts: Vec<_> = got.iter().filter(|r| seen.insert(r.id.clone())).collect();
    for id in leads {
        let kinds: Vec<_> = firsts
            .iter()
            .filter(|r| r.body["data"]["lead_id"] == id)
            .map(|r| r.body["type"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(kinds, ["lead.routed", "lead.accepted"], "lead {id}");
    }
}

#[tokio::test]
async fn a_published_definition_reaches_its_subscribers_once_and_no_other() {
    let server = Server::start(ALLOW_PRIVATE);
    let admin = server.manager();
    let subscribed = Receiver::start(Answer::Ok).await;
    let other = Receiver::start(Answer::Ok).await;
    let hook = register(&admin, &subscribed.url, &["definition.published"]).await;
    subscribed.set_secret(hook.secret.as_deref().unwrap());
    register(&admin, &other.url, &["lead.routed"]).await;

    let draft = json!({
        "threshold": 75,
        "criteria": [{
            "kind": "quiz_answer", "key": "Team size", "value": "More than 100 reps",
            "points": 20, "meaning": "Large floors feel routing pain first",
            "opener": "Open with the routing audit for large floors"
        }],
        "reasons": [
            { "code": "no_budget", "label": "No budget", "note_required": false, "routes_on": false },
            { "code": "other", "label": "Other", "note_required": true, "routes_on": false }
        ],
        "note": "raise the bar for small teams"
    });
    let r = admin.post("/v1/definitions", &draft).await;
    assert_eq!(r.status, StatusCode::CREATED, "{r:?}");

    let got = subscribed.wait_for(1, Duration::from_secs(5)).await;
    assert!(got[0].verified, "signed with the endpoint's secret");
    let body = &got[0].body;
    assert_eq!(body["type"], "definition.published");
    let data = &body["data"];
    // Version 1 was the config's threshold, taken at start-up.
    assert_eq!(
        (data["version"].as_u64(), data["threshold"].as_u64()),
        (Some(2), Some(75))
    );
    assert_eq!(data["author"], "Morgan");
    assert_eq!(data["note"], "raise the bar for small teams");
    assert!(
        data["changes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c == "threshold 60 → 75"),
        "{data:#}"
    );
    assert_eq!(
        data["criteria"][0]["opener"],
        "Open with the routing audit for large floors"
    );
    assert!(data.get("lead_id").is_none(), "about no lead: {data:#}");
    // The delivery log says it concerned no lead; nothing went elsewhere.
    let log: WebhookDeliveryList = admin
        .get(&format!("/v1/webhooks/{}/deliveries", hook.id))
        .await
        .json();
    assert_eq!(log.deliveries.len(), 1);
    assert_eq!(log.deliveries[0].lead_id, 0);
    assert_eq!(log.deliveries[0].status, DeliveryStatus::Delivered);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        other.received().is_empty(),
        "{:?}",
        types(&other.received())
    );
    assert_eq!(subscribed.received().len(), 1, "once");
}
