//! A restart keeps everything: leads, assignments, decisions, tokens, the
//! feed's cursors, idempotent answers and pending SLA deadlines. A graceful
//! stop loses no write it acknowledged.

use std::time::Duration;

use baton_protocol::{Change, LeadStatus};
use baton_tests::*;
use reqwest::StatusCode;
use serde_json::json;

#[tokio::test]
async fn a_restart_keeps_everything() {
    let mut server = Server::start(
        "qualification_threshold = 60\n[[teams]]\nname = \"sales\"\nsla_seconds = 3\n",
    );
    let ava = server.add_rep("Ava", "sales", 1, 10);
    let intake = server.intake();
    let manager = server.manager();
    let accepted = intake.push(&lead("rs-1")).await.lead;
    let pending = intake.push(&lead("rs-2")).await.lead;
    let first = ava
        .feedback(accepted.id, json!({"decision": "accept"}), "rs-key")
        .await;
    assert_eq!(first.status, StatusCode::OK);
    let (before, cursor) = ava.sync_all("").await;

    server.restart();

    // Same tokens work; the feed resumes exactly where it was.
    assert_eq!(ava.me().await.name, "Ava");
    let (after, _) = ava.sync_all("").await;
    assert_eq!(after, before);
    let page = ava.sync_page(&cursor, 100).await;
    assert!(
        page.changes.is_empty() || matches!(page.changes[0].change, Change::LeadTakenAway { .. })
    );
    // The idempotent answer survived.
    let replay = ava
        .feedback(accepted.id, json!({"decision": "accept"}), "rs-key")
        .await;
    assert_eq!(replay.body, first.body);
    let lead: baton_protocol::Lead = manager.lead(accepted.id).await.json();
    assert_eq!(lead.status, LeadStatus::Accepted);
    // The pending offer's SLA still runs out after the restart.
    let expired = eventually(Duration::from_secs(15), "SLA after restart", || {
        let m = manager.clone();
        async move {
            let l: baton_protocol::Lead = m.lead(pending.id).await.json();
            (l.status == LeadStatus::Queued).then_some(l)
        }
    })
    .await;
    assert!(expired.assignment.is_none());
    let history = manager.history(pending.id).await;
    assert_eq!(
        history.assignments[0].outcome,
        baton_protocol::AssignmentOutcome::SlaExpired
    );
}

#[tokio::test]
async fn a_graceful_stop_keeps_every_acknowledged_write() {
    let mut server = Server::start(ONE_TEAM);
    let _ava = server.add_rep("Ava", "sales", 1, 100_000);
    let intake = server.intake();
    let manager = server.manager();
    let mut tasks = Vec::new();
    for w in 0..4 {
        let intake = intake.clone();
        tasks.push(tokio::spawn(async move {
            let mut acked = Vec::new();
            for i in 0..400 {
                let body = serde_json::to_value(lead(&format!("gs-{w}-{i}"))).unwrap();
                let sent = intake
                    .http
                    .post(format!("{}/v1/leads", intake.base))
                    .bearer_auth(&intake.token)
                    .json(&body)
                    .send()
                    .await;
                match sent {
                    Ok(r) if r.status().is_success() => acked.push(format!("gs-{w}-{i}")),
                    _ => break,
                }
            }
            acked
        }));
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    server.restart();
    let mut acked = Vec::new();
    for t in tasks {
        acked.extend(t.await.unwrap());
    }
    assert!(!acked.is_empty());
    let mut stored = std::collections::HashSet::new();
    let mut after = 0;
    loop {
        let page: baton_protocol::LeadList = manager
            .get(&format!("/v1/leads?limit=1000&after={after}"))
            .await
            .json();
        for l in &page.leads {
            stored.insert(l.external_id.clone());
        }
        match page.next_after {
            Some(a) => after = a,
            None => break,
        }
    }
    for id in &acked {
        assert!(stored.contains(id), "acknowledged lead {id} lost");
    }
}
