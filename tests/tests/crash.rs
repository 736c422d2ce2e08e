//! Crash safety: `kill -9` the client in the middle of a sync and in the
//! middle of pushing decisions; after a restart, the server's records show no
//! decision lost or applied twice, and the cache matches the server.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use baton_protocol::{DecisionKind, LeadList};
use baton_tests::*;

/// Starts `baton ARGS`, kills it with SIGKILL after `after`, and reaps it.
fn run_and_kill(baton: &Baton, args: &[&str], after: Duration) {
    let mut child = baton
        .command(args)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(after);
    let _ = child.kill(); // SIGKILL on Unix
    let _ = child.wait();
}

#[tokio::test]
async fn killing_the_client_mid_sync_leaves_cache_and_cursor_consistent() {
    let server = Server::start(ONE_TEAM);
    let ava = server.add_rep("Ava", "sales", 1, 100_000);
    let intake = server.intake();
    let mut pushes = Vec::new();
    for w in 0..4 {
        let intake = intake.clone();
        pushes.push(tokio::spawn(async move {
            for i in 0..750 {
                intake.push(&lead(&format!("k-{w}-{i}"))).await;
            }
        }));
    }
    for p in pushes {
        p.await.unwrap();
    }
    let baton = Baton::new();
    baton.login(&server, &ava);
    // Kill it at several points of a 3-page sync; each restart resumes.
    let mut partial = Vec::new();
    for ms in [40u64, 90, 150, 250, 400] {
        run_and_kill(&baton, &["sync"], Duration::from_millis(ms));
        partial.push(baton.inbox_ids("all").len());
    }
    assert!(
        partial.iter().any(|n| *n < 3000),
        "no kill landed before the sync finished ({partial:?}): the test proved nothing"
    );
    assert!(
        partial.iter().all(|n| n % 1000 == 0),
        "pages apply whole: {partial:?}"
    );
    baton.ok(&["sync"]);

    let mut server_ids = HashSet::new();
    let mut after = 0;
    loop {
        let page: LeadList = ava
            .get(&format!("/v1/leads?limit=1000&after={after}"))
            .await
            .json();
        server_ids.extend(page.leads.iter().map(|l| l.id));
        match page.next_after {
            Some(a) if !page.leads.is_empty() => after = a,
            _ => break,
        }
    }
    assert_eq!(server_ids.len(), 3000);
    let cached = baton.inbox_ids("all");
    let unique: HashSet<_> = cached.iter().copied().collect();
    assert_eq!(cached.len(), unique.len(), "no lead cached twice");
    assert_eq!(unique, server_ids, "the cache matches the server");
}

#[tokio::test]
async fn killing_the_client_mid_push_loses_and_duplicates_no_decision() {
    let mut server = Server::start(ONE_TEAM);
    let ava = server.add_rep("Ava", "sales", 1, 100_000);
    let intake = server.intake();
    let manager = server.manager();
    let mut ids = Vec::new();
    for i in 0..60 {
        ids.push(intake.push(&lead(&format!("p-{i}"))).await.lead.id);
    }
    let baton = Baton::new();
    baton.login(&server, &ava);
    baton.ok(&["sync"]);
    baton.ok(&["reasons"]);

    // Decide every lead while the server is down: all wait in the outbox.
    server.stop();
    let mut chosen = HashMap::new();
    for (n, id) in ids.iter().enumerate() {
        let ids = id.to_string();
        if n % 3 == 0 {
            baton.ok(&["reject", &ids, "--reason", "no_budget"]);
            chosen.insert(*id, DecisionKind::Reject);
        } else {
            baton.ok(&["accept", &ids]);
            chosen.insert(*id, DecisionKind::Accept);
        }
    }
    assert_eq!(baton.json(&["status"])["outbox"], 60);
    server.start_again();

    // Kill the pusher repeatedly part-way through the outbox.
    let mut depths = Vec::new();
    for ms in [30u64, 60, 100, 160, 250, 400, 650] {
        run_and_kill(&baton, &["sync"], Duration::from_millis(ms));
        depths.push(baton.json(&["status"])["outbox"].as_u64().unwrap());
    }
    assert!(
        depths.iter().any(|d| *d > 0 && *d < 60),
        "no kill landed mid-push ({depths:?}): the test proved nothing"
    );
    baton.ok(&["sync"]);
    assert_eq!(baton.json(&["status"])["outbox"], 0);

    for id in &ids {
        let h = manager.history(*id).await;
        assert_eq!(
            h.decisions.len(),
            1,
            "lead {id}: exactly one decision on the server"
        );
        assert_eq!(
            h.decisions[0].decision, chosen[id],
            "lead {id}: the decision the rep made"
        );
    }
    assert_eq!(baton.inbox_ids("accepted").len(), 40);
    assert_eq!(baton.inbox_ids("rejected").len(), 20);
}
