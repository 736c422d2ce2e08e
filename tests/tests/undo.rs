//! The undo window lives in the outbox, not in a window's timers: a
//! decision is durable from the moment it is made, `kill -9` inside the
//! window loses nothing, and an undo inside the window sends nothing.

use std::time::{Duration, Instant};

use baton_protocol::LeadId;
use baton_tests::*;

/// Starts `baton accept LEAD --undo SECS` and returns once the decision is
/// saved (the status lists it as undoable), the command still waiting.
async fn accept_with_undo(baton: &Baton, lead: LeadId, secs: u32) -> std::process::Child {
    let child = baton
        .command(&["accept", &lead.to_string(), "--undo", &secs.to_string()])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    eventually(Duration::from_secs(10), "the decision saved", || {
        let v = baton.json(&["status"]);
        async move { (v["undoable"].as_array()?.len() == 1).then_some(()) }
    })
    .await;
    child
}

#[tokio::test]
async fn a_decision_killed_inside_its_undo_window_is_sent_after_restart_exactly_once() {
    let server = Server::start(ONE_TEAM);
    let ava = server.add_rep("Ava", "sales", 1, 100);
    let intake = server.intake();
    let manager = server.manager();
    let id = intake.push(&lead("kill-1")).await.lead.id;
    let baton = Baton::new();
    baton.login(&server, &ava);
    baton.ok(&["sync"]);

    let started = Instant::now();
    // Killed as soon as the decision is saved.
    let mut accept = accept_with_undo(&baton, id, 4).await;
    accept.kill().unwrap(); // SIGKILL
    accept.wait().unwrap();
    if started.elapsed() < Duration::from_secs(3) {
        assert_eq!(
            manager.history(id).await.decisions.len(),
            0,
            "not sent inside the window"
        );
    }
    let shown = baton.json(&["show", &id.to_string()]);
    assert_eq!(shown["summary"]["status"], "accepted", "{shown}");
    assert_eq!(shown["summary"]["decision_state"], "pending");

    // A new process, after the window: the saved decision goes out, once.
    eventually(Duration::from_secs(20), "the window over and sent", || {
        let (_, out, _) = baton.run(&["sync"]);
        async move { out.contains("1 decisions sent").then_some(()) }
    })
    .await;
    baton.ok(&["sync"]);
    assert_eq!(manager.history(id).await.decisions.len(), 1);
    assert_eq!(baton.json(&["status"])["outbox"], 0);
}

#[tokio::test]
async fn an_undo_inside_the_window_sends_nothing_and_after_it_is_refused() {
    let server = Server::start(ONE_TEAM);
    let ava = server.add_rep("Ava", "sales", 1, 100);
    let intake = server.intake();
    let manager = server.manager();
    let first = intake.push(&lead("undo-1")).await.lead.id;
    let second = intake.push(&lead("undo-2")).await.lead.id;
    let baton = Baton::new();
    baton.login(&server, &ava);
    baton.ok(&["sync"]);

    // `accept --undo` waits out its window, then reports what happened.
    let accept = accept_with_undo(&baton, first, 3).await;
    let undone = baton.ok(&["undo", &first.to_string()]);
    assert!(undone.contains("Took back"), "{undone}");
    let out = accept.wait_with_output().unwrap();
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{said}");
    assert!(said.contains("taken back; nothing was sent"), "{said}");
    assert_eq!(
        baton.json(&["show", &first.to_string()])["summary"]["status"],
        "new"
    );
    baton.ok(&["sync"]);
    assert_eq!(
        manager.history(first).await.decisions.len(),
        0,
        "nothing reached the server"
    );

    // Decided without a window: sent at once, and too late to undo.
    baton.ok(&["reject", &second.to_string(), "--reason", "no_budget"]);
    let (ok, _, err) = baton.run(&["undo", &second.to_string()]);
    assert!(!ok);
    assert!(err.contains("too late to undo"), "{err}");
    assert_eq!(manager.history(second).await.decisions.len(), 1);
}

#[tokio::test]
async fn logging_out_sends_waiting_decisions_first_and_refuses_while_it_cannot() {
    let mut server = Server::start(ONE_TEAM);
    let ava = server.add_rep("Ava", "sales", 1, 100);
    let intake = server.intake();
    let manager = server.manager();
    let windowed = intake.push(&lead("logout-1")).await.lead.id;
    let offline = intake.push(&lead("logout-2")).await.lead.id;
    let baton = Baton::new();
    baton.login(&server, &ava);
    baton.ok(&["sync"]);

    // One decision inside a long undo window (its command gone)...
    let mut accept = accept_with_undo(&baton, windowed, 60).await;
    let _ = accept.kill();
    let _ = accept.wait();
    // ...and one made while the server is down: logging out would delete
    // both with the cache, so it refuses.
    server.stop();
    baton.ok(&["accept", &offline.to_string()]);
    let (ok, _, err) = baton.run(&["logout"]);
    assert!(!ok, "logged out with decisions not sent");
    assert!(err.contains("have not reached the server"), "{err}");
    assert!(
        baton.dir.path().join("cache.db").exists(),
        "nothing deleted"
    );

    // Back online, logging out first sends both (the window cut short).
    server.start_again();
    baton.ok(&["logout"]);
    assert!(!baton.dir.path().join("cache.db").exists());
    assert_eq!(manager.history(windowed).await.decisions.len(), 1);
    assert_eq!(manager.history(offline).await.decisions.len(), 1);
}
