//! Hostile traffic against the real binary on 127.0.0.1: half-open and idle
//! connections, stream floods, stalled readers, revoked tokens, write floods,
//! amplifying payloads, foreign intake keys and injected storage faults. Each
//! case is bounded in count and time.

use std::time::{Duration, Instant};

use baton_protocol::{Availability, Change, LeadEventKind, QuizAnswer};
use baton_tests::*;
use reqwest::StatusCode;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

/// ONE_TEAM with the given `[limits]` lines.
fn with_limits(limits: &str) -> String {
    format!("{ONE_TEAM}\n[limits]\n{limits}\n")
}

fn addr(server: &Server) -> std::net::SocketAddr {
    server
        .base
        .trim_start_matches("http://")
        .parse()
        .expect("server address")
}

/// Whether the server closes `socket` within `within` (EOF or reset).
async fn closed_within(socket: &mut TcpStream, within: Duration) -> bool {
    let mut buf = [0u8; 4096];
    let deadline = tokio::time::Instant::now() + within;
    loop {
        match tokio::time::timeout_at(deadline, socket.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return true,
            Ok(Ok(_)) => continue,
            Err(_) => return false,
        }
    }
}

/// Opens `token`'s live stream with a tiny receive window, and never reads it.
async fn open_stalled_stream(server: &Server, token: &str) -> TcpStream {
    let socket = TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let mut s = socket.connect(addr(server)).await.unwrap();
    let request =
        format!("GET /v1/stream HTTP/1.1\r\nHost: baton\r\nAuthorization: Bearer {token}\r\n\r\n");
    s.write_all(request.as_bytes()).await.unwrap();
    s
}

/// A lead whose `external_id` asks a test build to inject a storage fault.
fn fault_lead(fault: &str) -> baton_protocol::LeadIntake {
    let mut l = lead(&format!("fault:{fault}"));
    l.contact.email = Some("fault@leads.test".into());
    l
}

/// A lead of about 190 KB (a hundred long quiz answers).
fn large_lead(id: &str, variant: char) -> baton_protocol::LeadIntake {
    let mut l = lead(id);
    l.quiz = (0..100)
        .map(|i| QuizAnswer {
            question: format!("Question {i}"),
            answer: variant.to_string().repeat(1900),
            points: None,
        })
        .collect();
    l
}

#[tokio::test]
async fn half_open_requests_are_dropped_while_a_signed_in_rep_is_served() {
    let server = Server::start(&with_limits("header_timeout_secs = 2"));
    let ava = server.add_rep("Ava", "sales", 1, 10);
    let at = addr(&server);
    // 2,000 clients that send part of a request's headers and then nothing.
    let mut half_open = Vec::new();
    for _ in 0..2000 {
        let mut s = TcpStream::connect(at).await.expect("connect");
        s.write_all(b"GET /v1/me HTTP/1.1\r\nHost: baton\r\nAuthorization: Bearer ")
            .await
            .unwrap();
        half_open.push(s);
    }
    // An idle keep-alive connection after one complete request.
    let mut idle = TcpStream::connect(at).await.unwrap();
    idle.write_all(b"GET /healthz HTTP/1.1\r\nHost: baton\r\n\r\n")
        .await
        .unwrap();
    let mut buf = [0u8; 1024];
    let n = idle.read(&mut buf).await.unwrap();
    assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"));

    // The rep is served meanwhile, each request well within a second.
    let mut slowest = Duration::ZERO;
    for _ in 0..20 {
        let t = Instant::now();
        assert_eq!(ava.me().await.name, "Ava");
        slowest = slowest.max(t.elapsed());
    }
    assert!(
        slowest < Duration::from_secs(3),
        "a signed-in rep waited {slowest:?} behind half-open connections"
    );
    // Past the header deadline every half-open connection is closed.
    let started = Instant::now();
    for s in &mut half_open {
        let left = Duration::from_secs(6).saturating_sub(started.elapsed());
        assert!(
            closed_within(s, left).await,
            "a half-open connection was still open 6 s after the 2 s header deadline"
        );
    }
    assert!(
        closed_within(&mut idle, Duration::from_secs(1)).await,
        "an idle keep-alive connection outlived the header deadline"
    );
    // And the server still answers.
    assert_eq!(ava.me().await.name, "Ava");
}

#[tokio::test]
async fn a_token_holds_at_most_its_limit_of_live_streams() {
    let server = Server::start_with(
        &with_limits("streams_per_token = 2"),
        &["--heartbeat-secs", "1"],
        &[],
    );
    let ava = server.add_rep("Ava", "sales", 1, 10);
    let first = ava.stream(None).await;
    let _second = ava.stream(None).await;
    let third = ava
        .http
        .get(format!("{}/v1/stream", ava.base))
        .bearer_auth(&ava.token)
        .send()
        .await
        .unwrap();
    assert_eq!(third.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(third.headers().contains_key("retry-after"));
    let body: serde_json::Value = third.json().await.unwrap();
    assert_eq!(body["error"]["code"], "too_many_streams", "{body}");
    // Another rep's token is not affected.
    let bo = server.add_rep("Bo", "sales", 1, 10);
    let _bo_stream = bo.stream(None).await;
    // A closed stream frees its place (noticed at the next heartbeat).
    drop(first);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let r = ava
            .http
            .get(format!("{}/v1/stream", ava.base))
            .bearer_auth(&ava.token)
            .send()
            .await
            .unwrap();
        if r.status() == StatusCode::OK {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "a closed stream's place was not freed"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test]
async fn revoking_a_token_closes_its_live_stream_within_a_second() {
    let server = Server::start(ONE_TEAM);
    let ava = server.add_rep("Ava", "sales", 1, 10);
    let intake = server.intake();
    let mut stream = ava.stream(None).await;
    assert_eq!(
        stream.next(Duration::from_secs(5)).await.unwrap().event,
        "ready"
    );
    intake.push(&lead("before-revoke")).await;
    assert!(stream.next_change(Duration::from_secs(5)).await.is_some());

    let mut revoke = std::process::Command::new(binary("baton-server"))
        .args(["token", "revoke", "--db"])
        .arg(server.db_arg())
        .stdin(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    {
        use std::io::Write;
        let mut stdin = revoke.stdin.take().unwrap();
        writeln!(stdin, "{}", ava.token).unwrap();
    }
    assert!(revoke.wait().unwrap().success());
    let revoked_at = Instant::now();
    assert!(
        stream.ends_within(Duration::from_secs(1)).await,
        "the revoked token's stream stayed open"
    );
    let took = revoked_at.elapsed();
    assert!(took < Duration::from_secs(1), "closed after {took:?}");
    assert_eq!(ava.get("/v1/me").await.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_stalled_stream_reader_is_disconnected() {
    let server = Server::start(&with_limits("write_stall_secs = 2\nstreams_per_token = 1"));
    let ava = server.add_rep("Ava", "sales", 1, 1000);
    let intake = server.intake();
    let _stalled = open_stalled_stream(&server, &ava.token).await;
    // Enough large leads for Ava to fill every buffer between server and client.
    for i in 0..80 {
        intake.push(&large_lead(&format!("big-{i}"), 'a')).await;
    }
    // The server gives up on the reader: its one stream place frees up.
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let r = ava
            .http
            .get(format!("{}/v1/stream", ava.base))
            .bearer_auth(&ava.token)
            .send()
            .await
            .unwrap();
        if r.status() == StatusCode::OK {
            break;
        }
        assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
        assert!(
            Instant::now() < deadline,
            "the stalled reader's stream was never closed"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

#[tokio::test]
async fn sigterm_with_stalled_readers_exits_promptly_and_finishes_in_flight_requests() {
    let mut server = Server::start(&with_limits(
        "write_stall_secs = 120\nshutdown_grace_secs = 2",
    ));
    let ava = server.add_rep("Ava", "sales", 1, 1000);
    let intake = server.intake();
    let mut stalled = Vec::new();
    for _ in 0..3 {
        stalled.push(open_stalled_stream(&server, &ava.token).await);
    }
    for i in 0..40 {
        intake.push(&large_lead(&format!("big-{i}"), 'a')).await;
    }
    // Requests in flight when SIGTERM arrives.
    let mut in_flight = Vec::new();
    for i in 0..40 {
        let c = intake.clone();
        in_flight.push(tokio::spawn(async move {
            let r = c
                .http
                .post(format!("{}/v1/leads", c.base))
                .bearer_auth(&c.token)
                .json(&lead(&format!("in-flight-{i}")))
                .send()
                .await;
            match r {
                Ok(r) => Some(r.status()),
                Err(_) => None,
            }
        }));
    }
    tokio::time::sleep(Duration::from_millis(20)).await;
    let stopping = Instant::now();
    let mut server = tokio::task::spawn_blocking(move || {
        server.stop();
        server
    })
    .await
    .unwrap();
    let took = stopping.elapsed();
    assert!(
        took < Duration::from_secs(6),
        "took {took:?} to exit with stalled readers (grace 2 s)"
    );
    drop(stalled);
    let mut answered = Vec::new();
    for t in in_flight {
        answered.push(t.await.unwrap());
    }
    server.start_again();
    let all: baton_protocol::LeadList = server.manager().get("/v1/leads?limit=1000").await.json();
    for (i, outcome) in answered.into_iter().enumerate() {
        // A request answered 201 was written. One refused (503: the server
        // was stopping) or cut off before any answer was not applied, or may
        // have been (then a retry finds it): never half.
        let Some(status) = outcome else { continue };
        assert!(
            status == StatusCode::CREATED || status == StatusCode::SERVICE_UNAVAILABLE,
            "in-flight request {i} got {status}"
        );
        if status == StatusCode::CREATED {
            assert!(
                all.leads
                    .iter()
                    .any(|l| l.external_id == format!("in-flight-{i}")),
                "in-flight-{i} was answered 201 but is not stored"
            );
        }
    }
}

#[tokio::test]
async fn availability_flapping_does_not_slow_intake() {
    let server = Server::start(&with_limits(
        "rep_writes_per_second = 1000\nrep_write_burst = 1000",
    ));
    let _ava = server.add_rep("Ava", "sales", 1, 5);
    let flapper = server.add_rep("Flo", "sales", 1, 5);
    let intake = server.intake();
    // A queue: both reps at their cap, the rest waiting.
    for i in 0..200 {
        intake.push(&lead(&format!("queued-{i}"))).await;
    }
    let flapping = tokio::spawn(async move {
        for i in 0..400 {
            let a = if i % 2 == 0 {
                Availability::Away
            } else {
                Availability::Available
            };
            flapper.set_availability(a).await;
        }
    });
    let mut latencies = Vec::new();
    for i in 0..300 {
        let t = Instant::now();
        intake.push(&lead(&format!("during-{i}"))).await;
        latencies.push(t.elapsed());
    }
    flapping.await.unwrap();
    latencies.sort();
    let p99 = latencies[latencies.len() * 99 / 100];
    // A bound on starvation, not a speed target (that is in the benchmark).
    assert!(
        p99 < Duration::from_secs(2),
        "intake p99 {p99:?} while a rep flapped"
    );
}

#[tokio::test]
async fn repeated_pushes_of_a_lead_keep_sync_pages_within_their_byte_budget() {
    let server = Server::start(&with_limits(
        "feed_page_bytes = 262144\nupdate_events_per_lead = 5",
    ));
    let ava = server.add_rep("Ava", "sales", 1, 10);
    let intake = server.intake();
    let first = intake.push(&large_lead("amp", 'a')).await.lead;
    for i in 0..30 {
        let variant = if i % 2 == 0 { 'b' } else { 'a' };
        intake.push(&large_lead("amp", variant)).await;
    }
    for i in 0..6 {
        intake.push(&large_lead(&format!("other-{i}"), 'c')).await;
    }
    // The lead's 30 updates are one entry in Ava's feed: the newest.
    let mut cursor = String::new();
    let mut entries = Vec::new();
    loop {
        let r = ava
            .get(&format!("/v1/sync?cursor={cursor}&limit=1000"))
            .await;
        let raw = serde_json::to_vec(&r.body).unwrap().len();
        let page: baton_protocol::SyncPage = r.json();
        assert!(
            raw <= 262_144 + 200_000 || page.changes.len() == 1,
            "a sync page of {raw} bytes with {} changes",
            page.changes.len()
        );
        entries.extend(page.changes);
        cursor = page.next_cursor.0;
        if !page.has_more {
            break;
        }
    }
    let updates: Vec<_> = entries
        .iter()
        .filter(|e| matches!(&e.change, Change::LeadUpdated { lead } if lead.id == first.id))
        .collect();
    assert_eq!(updates.len(), 1, "superseded updates were not coalesced");
    let Change::LeadUpdated { lead } = &updates[0].change else {
        unreachable!()
    };
    assert_eq!(
        lead.quiz[0].answer.chars().next(),
        Some('a'),
        "the newest payload"
    );
    assert_eq!(
        entries.len(),
        1 + 1 + 6,
        "assigned + one update + six others"
    );
    // The lead's history keeps the newest five update entries.
    let history = server.manager().history(first.id).await;
    let kept = history
        .events
        .iter()
        .filter(|e| e.kind == LeadEventKind::Updated)
        .count();
    assert_eq!(kept, 5);
}

#[tokio::test]
async fn an_intake_key_cannot_overwrite_another_sources_lead() {
    let server = Server::start(ONE_TEAM);
    let _ava = server.add_rep("Ava", "sales", 1, 10);
    let key = |source: &str| {
        let token = server.admin(&["intake-key", "add", "--label", "k", "--source", source]);
        server.client(&token)
    };
    let (hubspot, typeform, hubspot_rotated) = (key("hubspot"), key("typeform"), key("hubspot"));
    let created = hubspot.push(&lead("shared-1")).await.lead;
    let mut changed = lead("shared-1");
    changed.contact.name = "Mallory".into();
    let r = typeform.post("/v1/leads", &changed).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{r:?}");
    assert_eq!(r.error_code(), "external_id_taken");
    assert!(
        r.body.get("lead").is_none(),
        "the refusal must not reveal the lead"
    );
    let stored: baton_protocol::Lead = server.manager().lead(created.id).await.json();
    assert_eq!(stored.contact.name, created.contact.name);
    // A second key of the same source may update it.
    let updated = hubspot_rotated.push(&changed).await;
    assert_eq!(updated.lead.contact.name, "Mallory");
}

#[tokio::test]
async fn write_rate_limits_answer_429_with_retry_after() {
    let server = Server::start(&with_limits(
        "rep_writes_per_second = 1\nrep_write_burst = 3\nintake_per_second = 1\nintake_burst = 5",
    ));
    let ava = server.add_rep("Ava", "sales", 1, 10);
    let intake = server.intake();
    for i in 0..3 {
        let a = if i % 2 == 0 {
            Availability::Away
        } else {
            Availability::Available
        };
        ava.set_availability(a).await;
    }
    let r = ava
        .http
        .put(format!("{}/v1/me/availability", ava.base))
        .bearer_auth(&ava.token)
        .json(&json!({"availability": "available"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry: u64 = r.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=2).contains(&retry), "Retry-After {retry}");
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["error"]["code"], "rate_limited");
    // Reads are not limited.
    assert_eq!(ava.get("/v1/me").await.status, StatusCode::OK);
    for i in 0..5 {
        intake.push(&lead(&format!("rl-{i}"))).await;
    }
    let r = intake.post("/v1/leads", &lead("rl-6")).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(r.error_code(), "rate_limited");
    // After the wait, writes are accepted again.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    intake.push(&lead("rl-7")).await;
}

#[tokio::test]
async fn a_panicking_write_job_fails_alone_and_the_writer_lives_on() {
    let server = Server::start_with(ONE_TEAM, &[], &[("BATON_TEST_FAULTS", "1")]);
    let _ava = server.add_rep("Ava", "sales", 1, 100);
    let intake = server.intake();
    let manager = server.manager();
    let r = intake.post("/v1/leads", &fault_lead("panic")).await;
    assert_eq!(r.status, StatusCode::INTERNAL_SERVER_ERROR, "{r:?}");
    assert_eq!(r.error_code(), "internal");
    intake.push(&lead("after-panic")).await;
    assert_eq!(manager.get("/healthz").await.status, StatusCode::OK);

    // SQLite abandoning a whole batch (as on a full disk): every caller of
    // that batch is told its write failed, and indeed nothing of it is kept.
    let mut tasks = Vec::new();
    for i in 0..60 {
        let c = intake.clone();
        let (id, body) = if i == 30 {
            (
                "fault:abandon-transaction".to_string(),
                fault_lead("abandon-transaction"),
            )
        } else {
            (format!("batch-{i}"), lead(&format!("batch-{i}")))
        };
        tasks.push(tokio::spawn(async move {
            let r = c.post("/v1/leads", &body).await;
            (id, r.status)
        }));
    }
    let mut failed = 0;
    for t in tasks {
        let (id, status) = t.await.unwrap();
        let all: baton_protocol::LeadList = manager.get("/v1/leads?limit=1000").await.json();
        let stored = all.leads.iter().any(|l| l.external_id == id);
        if status == StatusCode::CREATED {
            assert!(stored, "{id} was answered 201 but is not stored");
        } else {
            assert!(status.is_server_error(), "{id}: {status}");
            assert!(!stored, "{id} was answered {status} but is stored");
            failed += 1;
        }
    }
    assert!(failed >= 1, "the abandoned job itself must fail");
    intake.push(&lead("after-abandon")).await;
    assert_eq!(manager.get("/healthz").await.status, StatusCode::OK);

    // A job whose last write fails only after it returned (PostgreSQL sends
    // a job's last writes with the next job's first statement) fails alone:
    // the jobs batched around it are kept, whatever their place. A slow job
    // holds the writer so that the others queue up into one batch.
    let slow = {
        let c = intake.clone();
        tokio::spawn(async move { c.post("/v1/leads", &fault_lead("sleep-400")).await })
    };
    tokio::time::sleep(Duration::from_millis(100)).await;
    let mut tasks = Vec::new();
    for i in 0..8 {
        let c = intake.clone();
        let (id, body) = if i == 0 {
            (
                "fault:fail-last-write".to_string(),
                fault_lead("fail-last-write"),
            )
        } else {
            (format!("around-{i}"), lead(&format!("around-{i}")))
        };
        tasks.push(tokio::spawn(async move {
            (id, c.post("/v1/leads", &body).await)
        }));
        // Once the failing job is queued first, the others follow it.
        if i == 0 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    assert_eq!(slow.await.unwrap().status, StatusCode::CREATED);
    let mut answers = Vec::new();
    for t in tasks {
        answers.push(t.await.unwrap());
    }
    let all: baton_protocol::LeadList = manager.get("/v1/leads?limit=1000").await.json();
    for (id, r) in answers {
        let stored = all.leads.iter().any(|l| l.external_id == id);
        if id.starts_with("fault:") {
            assert_eq!(r.status, StatusCode::INTERNAL_SERVER_ERROR, "{r:?}");
            assert!(!stored, "the failed job's lead is stored");
        } else {
            assert_eq!(r.status, StatusCode::CREATED, "{id}: {r:?}");
            assert!(stored, "{id} was answered 201 but is not stored");
        }
    }
    // The failed job's offer is undone in the rep's count too (PostgreSQL's
    // writer remembers the count and puts it back when a job rolls back).
    let offered = all
        .leads
        .iter()
        .filter(|l| l.status == baton_protocol::LeadStatus::Assigned)
        .count();
    let reps: baton_protocol::RepList = manager.get("/v1/reps").await.json();
    assert_eq!(reps.reps.len(), 1);
    assert_eq!(
        reps.reps[0].open_leads as usize, offered,
        "Ava's open leads"
    );
    assert_eq!(manager.get("/healthz").await.status, StatusCode::OK);

    // A writer that dies is reported by /healthz, and writes are refused.
    intake.push(&fault_lead("kill-writer")).await;
    let deadline = Instant::now() + Duration::from_secs(5);
    let health = loop {
        let h = manager.get("/healthz").await;
        if h.status != StatusCode::OK || Instant::now() > deadline {
            break h;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(health.status, StatusCode::SERVICE_UNAVAILABLE, "{health:?}");
    assert_eq!(health.body["status"], "unhealthy");
    let r = intake.post("/v1/leads", &lead("after-death")).await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE, "{r:?}");
}

#[tokio::test]
async fn a_full_write_queue_answers_503_with_retry_after_and_loses_nothing() {
    let server = Server::start_with(
        &with_limits("write_queue = 2"),
        &[],
        &[("BATON_TEST_FAULTS", "1")],
    );
    let _ava = server.add_rep("Ava", "sales", 1, 100);
    let intake = server.intake();
    let manager = server.manager();
    // One slow write holds the writer while 30 more arrive.
    let slow = {
        let c = intake.clone();
        tokio::spawn(async move { c.post("/v1/leads", &fault_lead("sleep-1500")).await })
    };
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut tasks = Vec::new();
    for i in 0..30 {
        let c = intake.clone();
        tasks.push(tokio::spawn(async move {
            let r = c
                .http
                .post(format!("{}/v1/leads", c.base))
                .bearer_auth(&c.token)
                .json(&lead(&format!("q-{i}")))
                .send()
                .await
                .unwrap();
            let retry = r.headers().get("retry-after").cloned();
            (i, r.status(), retry)
        }));
    }
    let mut busy = 0;
    let mut created = Vec::new();
    for t in tasks {
        let (i, status, retry) = t.await.unwrap();
        match status {
            StatusCode::CREATED => created.push(i),
            StatusCode::SERVICE_UNAVAILABLE => {
                assert!(retry.is_some(), "503 without Retry-After");
                busy += 1;
            }
            other => panic!("q-{i}: {other}"),
        }
    }
    assert!(slow.await.unwrap().status.is_success());
    assert!(
        busy > 0,
        "a queue of 2 must overflow with 30 writes waiting"
    );
    let all: baton_protocol::LeadList = manager.get("/v1/leads?limit=1000").await.json();
    for i in created {
        assert!(all.leads.iter().any(|l| l.external_id == format!("q-{i}")));
    }
}

#[tokio::test]
async fn invisible_and_direction_changing_text_is_refused_naming_the_field() {
    let server = Server::start(ONE_TEAM);
    let ava = server.add_rep("Ava", "sales", 1, 10);
    let intake = server.intake();
    let cases = [
        ("contact.name", "Eve \u{202E}gnp.exe"),
        ("contact.company", "Acme\u{200B}Corp"),
        ("contact.name", "Line\u{2028}break"),
    ];
    for (field, text) in cases {
        let mut l = lead(&format!("bidi-{field}"));
        match field {
            "contact.name" => l.contact.name = text.into(),
            _ => l.contact.company = Some(text.into()),
        }
        let r = intake.post("/v1/leads", &l).await;
        assert_eq!(
            r.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{text:?}: {r:?}"
        );
        assert_eq!(r.error_field(), field);
    }
    let mut l = lead("mail");
    l.contact.email = Some("\"eve\"<eve@example.com>".into());
    let r = intake.post("/v1/leads", &l).await;
    assert_eq!(r.error_field(), "contact.email", "{r:?}");

    let id = intake.push(&lead("ok-lead")).await.lead.id;
    let r = ava
        .feedback(
            id,
            json!({"decision": "reject", "reason": "other", "note": "dup\u{200F}licate"}),
            &unique_key(),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{r:?}");
    assert_eq!(r.error_field(), "note");
}
