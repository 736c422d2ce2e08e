//! Live push over SSE: each change as it commits, with ids to resume from,
//! and heartbeats.

use std::time::Duration;

use baton_protocol::{Change, StreamReady};
use baton_tests::*;

#[tokio::test]
async fn a_connected_rep_gets_each_change_and_resumes_from_last_event_id() {
    let server = Server::start(ONE_TEAM);
    let ava = server.add_rep("Ava", "sales", 1, 100);
    let intake = server.intake();

    let mut stream = ava.stream(None).await;
    let ready = stream
        .next(Duration::from_secs(5))
        .await
        .expect("ready event");
    assert_eq!(ready.event, "ready");
    let _: StreamReady = serde_json::from_str(&ready.data).unwrap();

    let l1 = intake.push(&lead("sse-1")).await.lead;
    let ev = stream
        .next_change(Duration::from_secs(5))
        .await
        .expect("change for l1");
    let entry = ev.entry();
    assert_eq!(ev.id.as_deref(), Some(entry.cursor.0.as_str()));
    match entry.change {
        Change::LeadAssigned { lead } => {
            assert_eq!(lead.id, l1.id);
            assert_eq!(
                lead.quiz.len(),
                1,
                "full context travels with the assignment"
            );
        }
        other => panic!("unexpected {other:?}"),
    }
    let last_id = ev.id.clone().unwrap();
    drop(stream);

    // While disconnected, two more leads arrive.
    let l2 = intake.push(&lead("sse-2")).await.lead;
    let l3 = intake.push(&lead("sse-3")).await.lead;
    let mut resumed = ava.stream(Some(&last_id)).await;
    let a = resumed
        .next_change(Duration::from_secs(5))
        .await
        .expect("missed change 1")
        .entry();
    let b = resumed
        .next_change(Duration::from_secs(5))
        .await
        .expect("missed change 2")
        .entry();
    assert_eq!(assigned_ids(&[a, b]), vec![l2.id, l3.id]);
    assert!(
        resumed
            .next_change(Duration::from_millis(500))
            .await
            .is_none(),
        "nothing repeated after resuming"
    );
}

#[tokio::test]
async fn streams_carry_heartbeats_and_only_the_reps_own_changes() {
    let server = Server::start_with(ONE_TEAM, &["--heartbeat-secs", "1"], &[]);
    let ava = server.add_rep("Ava", "sales", 1, 100);
    let ben = server.add_rep("Ben", "sales", 1, 100);
    let intake = server.intake();
    let mut a = ava.stream(None).await;
    let mut b = ben.stream(None).await;
    let _ = a.next(Duration::from_secs(5)).await;
    let _ = b.next(Duration::from_secs(5)).await;
    let mut heartbeat = false;
    for _ in 0..3 {
        if let Some(ev) = a.next(Duration::from_secs(3)).await
            && ev.event == "comment"
        {
            heartbeat = true;
            break;
        }
    }
    assert!(heartbeat, "a heartbeat within 3 s at --heartbeat-secs 1");

    let l1 = intake.push(&lead("own-1")).await.lead;
    let l2 = intake.push(&lead("own-2")).await.lead;
    let ea = a.next_change(Duration::from_secs(5)).await.unwrap().entry();
    let eb = b.next_change(Duration::from_secs(5)).await.unwrap().entry();
    let mut got = vec![assigned_ids(&[ea])[0], assigned_ids(&[eb])[0]];
    got.sort();
    assert_eq!(got, vec![l1.id, l2.id], "each rep sees only their own lead");
    assert!(a.next_change(Duration::from_millis(300)).await.is_none());
}

#[tokio::test]
async fn a_stream_resumed_from_a_cursor_this_server_never_issued_is_refused() {
    let server = Server::start(ONE_TEAM);
    let ava = server.add_rep("Ava", "sales", 1, 100);
    let r = ava
        .request(
            reqwest::Method::GET,
            "/v1/stream",
            None,
            &[("Last-Event-ID", "424242")],
        )
        .await;
    assert_eq!(r.status, reqwest::StatusCode::BAD_REQUEST);
    assert_eq!(r.error_field(), "Last-Event-ID");
    let r = ava.get("/v1/stream?cursor=abc").await;
    assert_eq!(r.error_field(), "cursor");
}
