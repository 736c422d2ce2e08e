//! baton-server behind the shipped nginx configuration (`deploy/nginx/`):
//! the live stream passes unbuffered, the CLI works through it, a dead
//! instance is routed around, the server's own body limit answers, and the
//! whole shipped file (TLS, HTTP/2, redirect) serves.
//!
//! Needs Debian's nginx (`scripts/setup`) besides the workspace binaries.

use std::process::Command;
use std::time::{Duration, Instant};

use baton_protocol::{Change, LeadId};
use baton_tests::nginx::Nginx;
use baton_tests::*;
use reqwest::StatusCode;

const HEARTBEAT_1S: &[&str] = &["--heartbeat-secs", "1"];

/// A client that asks for gzip, which the test config's `http` block applies
/// to `text/event-stream` (it does not decode it: the stream must come
/// uncompressed).
fn asking_for_gzip(c: &Client) -> Client {
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(
        reqwest::header::ACCEPT_ENCODING,
        reqwest::header::HeaderValue::from_static("gzip"),
    );
    Client {
        http: reqwest::Client::builder()
            .default_headers(headers)
            .build()
            .expect("http client"),
        ..c.clone()
    }
}

fn assigned_lead(ev: &SseEvent) -> LeadId {
    match ev.entry().change {
        Change::LeadAssigned { lead } => lead.id,
        other => panic!("expected lead_assigned, got {other:?}"),
    }
}

/// A client with a timeout, for requests made without the harness's [`Client`].
fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("http client")
}

#[tokio::test]
async fn the_live_stream_works_through_nginx_without_buffering() {
    let server = Server::start_with(ONE_TEAM, HEARTBEAT_1S, &[]);
    let ava = server.add_rep("Ava", "sales", 1, 1000);
    let nginx = Nginx::start(&[&server.base]);
    let intake = nginx.client(&server.intake());
    let ava_via_nginx = asking_for_gzip(&nginx.client(&ava));

    // The response head and the ready event come at once, uncompressed,
    // although the site gzips text/event-stream and the client accepts it.
    let head = tokio::time::timeout(
        Duration::from_secs(2),
        ava_via_nginx
            .http
            .get(format!("{}/v1/stream", nginx.base))
            .bearer_auth(&ava.token)
            .send(),
    )
    .await
    .unwrap_or_else(|_| panic!("no response head within 2 s through nginx\n{}", nginx.log()))
    .expect("stream opened");
    assert_eq!(head.status(), StatusCode::OK);
    assert_eq!(head.headers()["content-type"], "text/event-stream");
    assert!(
        head.headers().get("content-encoding").is_none(),
        "the stream must not be compressed: {:?}",
        head.headers()
    );
    assert_eq!(head.headers()["x-accel-buffering"], "no");
    drop(head);

    let mut stream = tokio::time::timeout(Duration::from_secs(2), ava_via_nginx.stream(None))
        .await
        .expect("the stream opens within 2 s");
    let ready = stream.next(Duration::from_secs(2)).await;
    assert_eq!(
        ready.as_ref().map(|e| e.event.as_str()),
        Some("ready"),
        "ready within 2 s through nginx; got {ready:?}\n{}",
        nginx.log()
    );

    // One lead: its change arrives as soon as the server sends it.
    let id = intake.push(&lead("ngx-1")).await.lead.id;
    let pushed = Instant::now();
    let ev = stream
        .next_change(Duration::from_secs(2))
        .await
        .expect("the change within 2 s of the push");
    assert_eq!(assigned_lead(&ev), id);
    eprintln!(
        "push answered → change event through nginx: {:?}",
        pushed.elapsed()
    );

    // Many more bytes than nginx's proxy buffers (4–8 KiB each, 8 of them):
    // every change still arrives, the last within 2 s of the last push.
    let mut ids = Vec::new();
    for i in 0..80 {
        ids.push(intake.push(&lead(&format!("ngx-burst-{i}"))).await.lead.id);
    }
    let pushed = Instant::now();
    let mut got = Vec::new();
    let mut bytes = 0;
    while got.len() < ids.len() {
        let ev = stream
            .next_change(Duration::from_secs(2))
            .await
            .unwrap_or_else(|| {
                panic!(
                    "only {} of {} changes within 2 s of the last push",
                    got.len(),
                    ids.len()
                )
            });
        bytes += ev.data.len();
        got.push(assigned_lead(&ev));
    }
    assert!(pushed.elapsed() < Duration::from_secs(2));
    assert_eq!(got, ids);
    assert!(bytes > 64 * 1024, "the burst carried {bytes} bytes");
    eprintln!(
        "{} changes ({} KiB) through nginx, the last {:?} after the last push",
        got.len(),
        bytes / 1024,
        pushed.elapsed()
    );

    // Then heartbeats, each about 1 s after the previous: nothing is held back.
    let mut last = Instant::now();
    for n in 0..3 {
        let ev = stream
            .next(Duration::from_millis(2500))
            .await
            .unwrap_or_else(|| panic!("heartbeat {n} within 2.5 s\n{}", nginx.log()));
        assert_eq!(ev.event, "comment", "{ev:?}");
        assert_eq!(ev.data, "heartbeat");
        assert!(last.elapsed() < Duration::from_millis(2500));
        last = Instant::now();
    }
}

#[tokio::test]
async fn the_cli_syncs_and_decides_through_nginx() {
    let server = Server::start(ONE_TEAM);
    let ava = server.add_rep("Ava", "sales", 1, 100);
    let manager = server.manager();
    let nginx = Nginx::start(&[&server.base]);
    let l = nginx
        .client(&server.intake())
        .push(&lead("ngx-cli"))
        .await
        .lead;

    let baton = Baton::new();
    baton.ok(&["login", "--server", &nginx.base, "--token", &ava.token]);
    let out = baton.ok(&["sync"]);
    assert!(out.contains("1 new leads"), "{out}");
    let out = baton.ok(&["accept", &l.id.to_string()]);
    assert!(out.contains("the server has it"), "{out}");
    assert_eq!(baton.json(&["status"])["outbox"], 0);
    assert_eq!(baton.inbox_ids("accepted"), vec![l.id]);

    // The server itself has the decision, once.
    let h = manager.history(l.id).await;
    assert_eq!(h.decisions.len(), 1, "{h:?}");
    assert!(
        nginx
            .access_log()
            .contains(&format!("POST /v1/leads/{}/feedback 200", l.id)),
        "the decision went through nginx:\n{}",
        nginx.access_log()
    );
}

#[tokio::test]
async fn nginx_routes_around_a_dead_instance() {
    let server = Server::start(ONE_TEAM);
    // A port bound but not listening: connections to it are refused.
    let dead_socket = tokio::net::TcpSocket::new_v4().expect("socket");
    dead_socket
        .bind("127.0.0.1:0".parse().expect("addr"))
        .expect("bind");
    let dead = dead_socket.local_addr().expect("addr").to_string();
    let live = server.base.trim_start_matches("http://").to_string();
    // The dead instance first: round robin starts with it.
    let nginx = Nginx::start(&[&dead, &server.base]);
    let intake = nginx.client(&server.intake());
    let ava = nginx.client(&server.add_rep("Ava", "sales", 1, 100));

    // POSTs first: one that met the dead instance never reached it, so nginx
    // passes it on to the live one.
    for i in 0..6 {
        intake.push(&lead(&format!("ngx-dead-{i}"))).await;
    }
    for _ in 0..6 {
        let r = ava.get("/v1/me").await;
        assert_eq!(r.status, StatusCode::OK, "{r:?}");
    }
    let health = http()
        .get(format!("{}/healthz", nginx.base))
        .send()
        .await
        .expect("healthz");
    assert_eq!(health.status(), StatusCode::OK);
    assert_eq!(health.text().await.expect("body"), r#"{"status":"ok"}"#);

    let lines = eventually(Duration::from_secs(2), "12 access log lines", || async {
        let log = nginx.access_log();
        let lines: Vec<String> = log.lines().map(str::to_string).collect();
        (lines.len() >= 12).then_some(lines)
    })
    .await;
    let log = lines.join("\n");
    assert!(
        lines.iter().all(|l| l.contains(&live)),
        "every request reached the live instance:\n{log}"
    );
    assert!(
        lines[0].contains(&format!("upstream=\"{dead}, {live}\"")),
        "the first request tried the dead instance, then the live one:\n{log}"
    );
    // Passive health check: after max_fails (3) failures the dead instance
    // is left out for fail_timeout (10 s).
    let tried_dead = lines.iter().filter(|l| l.contains(&dead)).count();
    assert!(
        tried_dead <= 3,
        "the dead instance tried {tried_dead} times:\n{log}"
    );
    assert!(
        lines[6..].iter().all(|l| !l.contains(&dead)),
        "the dead instance is skipped once marked failed:\n{log}"
    );
    drop(dead_socket);
}

#[tokio::test]
async fn a_body_over_the_servers_limit_gets_the_servers_json_413_through_nginx() {
    let server = Server::start(ONE_TEAM);
    let nginx = Nginx::start(&[&server.base]);
    let intake = nginx.client(&server.intake());
    // About 300 KiB: over the server's 256 KiB, under nginx's 1 MiB, and over
    // nginx's in-memory body buffer (so nginx's temp files are used too).
    let mut big = lead("ngx-big");
    big.behaviours = (0..1200)
        .map(|_| {
            let mut b = big.behaviours[0].clone();
            b.detail = Some("x".repeat(200));
            b
        })
        .collect();
    let r = intake.post("/v1/leads", &big).await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE, "{r:?}");
    assert_eq!(r.error_code(), "payload_too_large", "{r:?}");
}

#[tokio::test]
async fn the_shipped_config_serves_https_and_http2_and_redirects_plain_http() {
    let server = Server::start_with(ONE_TEAM, HEARTBEAT_1S, &[]);
    let ava = server.add_rep("Ava", "sales", 1, 100);
    let nginx = Nginx::start_shipped(&[&server.base]);
    let tls = nginx.tls_base.clone().expect("tls base");

    let r = http()
        .get(format!("{}/v1/me", nginx.base))
        .send()
        .await
        .expect("plain request");
    assert_eq!(r.status(), StatusCode::MOVED_PERMANENTLY);
    assert_eq!(
        r.headers()["location"],
        "https://127.0.0.1/v1/me",
        "plain HTTP is redirected to HTTPS"
    );

    let curl = |args: &[&str]| {
        let out = Command::new("curl")
            .args(["-sk", "--max-time", "5"])
            .args(args)
            .output()
            .expect("run curl (scripts/setup installs it)");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let health = curl(&["-w", " %{http_code}", &format!("{tls}/healthz")]);
    assert_eq!(health, r#"{"status":"ok"} 200"#, "{}", nginx.log());

    // The stream over TLS and HTTP/2: ready and heartbeats as they are sent.
    let auth = format!("Authorization: Bearer {}", ava.token);
    let started = Instant::now();
    let out = curl(&[
        "-N",
        "--http2",
        "--max-time",
        "3",
        "-H",
        &auth,
        "-w",
        "\nhttp_version=%{http_version}",
        &format!("{tls}/v1/stream"),
    ]);
    assert!(started.elapsed() < Duration::from_secs(5));
    assert!(out.contains("event: ready"), "{out}\n{}", nginx.log());
    assert!(
        out.matches(": heartbeat").count() >= 2,
        "heartbeats through TLS within 3 s:\n{out}"
    );
    assert!(out.ends_with("http_version=2"), "{out}");
}
