//! The `baton` client through a fault-injecting proxy (`baton_tests::proxy`):
//! whatever the network or a middlebox does to its requests — drops before
//! or after the server saw them, resets and truncations mid-answer, delays,
//! HTML error pages from a load balancer, a 200 that is not Baton's answer —
//! a rep's decision reaches the server exactly once, is never shown as
//! refused, and `baton status` names the condition.

use std::time::{Duration, Instant};

use baton_protocol::{DecisionKind, LeadId};
use baton_tests::proxy::{Fault, FaultProxy, Mode};
use baton_tests::*;
use serde_json::Value;

/// Signs the profile in through the proxy instead of straight to the server.
fn login_via(baton: &Baton, proxy: &FaultProxy, rep: &Client) {
    baton.ok(&["login", "--server", &proxy.base, "--token", &rep.token]);
}

/// The same rep's token, talking to the proxy.
fn via(proxy: &FaultProxy, rep: &Client) -> Client {
    Client {
        base: proxy.base.clone(),
        ..rep.clone()
    }
}

/// A decision the rep makes, and what the server must then hold.
#[derive(Clone, Debug)]
struct Planned {
    lead: LeadId,
    kind: DecisionKind,
    reason: Option<String>,
}

impl Planned {
    fn args(&self) -> Vec<String> {
        let id = self.lead.to_string();
        match &self.reason {
            None => vec!["accept".into(), id],
            Some(r) => vec![
                "reject".into(),
                id,
                "--reason".into(),
                r.clone(),
                "--note".into(),
                format!("note for {}", self.lead),
            ],
        }
    }

    fn local_status(&self) -> &'static str {
        match self.kind {
            DecisionKind::Accept => "accepted",
            DecisionKind::Reject => "rejected",
        }
    }
}

/// Rejection reasons that need no note and do not route the lead on (so the
/// lead stays this rep's and its history holds one decision).
fn plain_reasons(baton: &Baton) -> Vec<String> {
    let reasons = baton.json(&["reasons"]);
    let codes: Vec<String> = reasons
        .as_array()
        .expect("reasons array")
        .iter()
        .filter(|r| r["note_required"] == false && r["routes_on"] == false)
        .map(|r| r["code"].as_str().expect("code").to_string())
        .collect();
    assert!(!codes.is_empty(), "no plain reasons in {reasons:#}");
    codes
}

fn all_leads(baton: &Baton) -> Vec<Value> {
    baton
        .json(&["inbox", "--status", "all", "--limit", "100000"])
        .as_array()
        .expect("inbox array")
        .clone()
}

/// A command's output must never say the server refused a decision.
fn assert_no_refusal(what: &str, (ok, out, err): &(bool, String, String), proxy: &FaultProxy) {
    let text = format!("{out}\n{err}").to_lowercase();
    assert!(
        !text.contains("refused this decision") && !text.contains("refused your decision"),
        "{what} reported a refusal (ok: {ok}):\n{out}\n{err}\nproxy log:\n{}",
        proxy.log_text()
    );
}

/// No lead in the profile is refused or taken away, and every lead decided
/// so far shows its decision.
fn assert_nothing_refused_locally(
    baton: &Baton,
    decided: &[Planned],
    after: &str,
    proxy: &FaultProxy,
) {
    for row in all_leads(baton) {
        let id = row["id"].as_i64().expect("id");
        let bad = row["status"] == "taken_away"
            || row["decision_state"] == "refused"
            || !row["refused_message"].is_null();
        assert!(
            !bad,
            "after {after}: lead {id} was refused or taken away locally: {row:#}\nproxy log:\n{}",
            proxy.log_text()
        );
        if let Some(p) = decided.iter().find(|p| p.lead == id) {
            assert_eq!(
                row["status"],
                p.local_status(),
                "after {after}: lead {id} lost the rep's decision locally: {row:#}\nproxy log:\n{}",
                proxy.log_text()
            );
        }
    }
}

/// Syncs through a healthy proxy until the outbox is empty (bounded).
fn drain_outbox(baton: &Baton, proxy: &FaultProxy) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let sync = baton.run(&["sync", "--json"]);
        assert_no_refusal("baton sync (pass-through)", &sync, proxy);
        let status = baton.json(&["status"]);
        if sync.0 && status["outbox"] == 0 {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the outbox did not drain within 20 s through a healthy proxy: {status:#}\nlast sync: {sync:?}\nproxy log:\n{}",
            proxy.log_text()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[tokio::test]
async fn decisions_reach_the_server_exactly_once_through_random_faults() {
    const SEEDS: [u64; 3] = [0xBA70_0001, 0xBA70_0002, 0xBA70_0003];
    const PER_SEED: usize = 4;
    let server = Server::start(ONE_TEAM);
    let ava = server.add_rep("Ava", "sales", 1, 100);
    let intake = server.intake();
    let manager = server.manager();
    let mut ids = Vec::new();
    for i in 0..SEEDS.len() * PER_SEED {
        ids.push(intake.push(&lead(&format!("rf-{i}"))).await.lead.id);
    }
    let proxy = FaultProxy::start(&server.base);
    let baton = Baton::new();
    login_via(&baton, &proxy, &ava);
    baton.ok(&["sync"]);
    let mut inbox = baton.inbox_ids("new");
    inbox.sort();
    assert_eq!(inbox, ids);
    let reasons = plain_reasons(&baton);

    let plan: Vec<Planned> = ids
        .iter()
        .enumerate()
        .map(|(i, &lead)| {
            if i % 2 == 0 {
                Planned {
                    lead,
                    kind: DecisionKind::Accept,
                    reason: None,
                }
            } else {
                Planned {
                    lead,
                    kind: DecisionKind::Reject,
                    reason: Some(reasons[i % reasons.len()].clone()),
                }
            }
        })
        .collect();

    // Each round opens with a decision the server applies but whose answer
    // the client never gets whole (the first request of `baton accept` is a
    // POST of the outbox's oldest decision), then random faults on everything.
    let landed_unanswered = [
        Fault::DropAfterForward,
        Fault::ResetMidBody,
        Fault::Truncate,
    ];
    for (round, seed) in SEEDS.iter().enumerate() {
        proxy.random(*seed, 0.5);
        proxy.queue([landed_unanswered[round]]);
        for (k, p) in plan[round * PER_SEED..(round + 1) * PER_SEED]
            .iter()
            .enumerate()
        {
            let args = p.args();
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            let what = format!("baton {} (seed {seed:#x})", args.join(" "));
            let decided = baton.run(&args);
            assert_no_refusal(&what, &decided, &proxy);
            let done = &plan[..round * PER_SEED + k + 1];
            assert_nothing_refused_locally(&baton, done, &what, &proxy);
            if k % 2 == 1 {
                let what = format!("baton sync (seed {seed:#x})");
                let sync = baton.run(&["sync", "--json"]);
                assert_no_refusal(&what, &sync, &proxy);
                if sync.0 {
                    let v: Value = serde_json::from_str(&sync.1).expect("sync --json");
                    assert_eq!(
                        v["pushed"]["refused"],
                        0,
                        "{what} refused decisions: {v:#}\nproxy log:\n{}",
                        proxy.log_text()
                    );
                }
                assert_nothing_refused_locally(&baton, done, &what, &proxy);
            }
        }
    }
    let faulted = proxy
        .log()
        .iter()
        .filter(|h| h.fault != Fault::Pass)
        .count();
    assert!(
        faulted >= 5,
        "the random schedule should have broken several requests:\n{}",
        proxy.log_text()
    );

    for fault in landed_unanswered {
        assert!(
            proxy
                .log()
                .iter()
                .any(|h| h.fault == fault && h.method == "POST" && h.path.ends_with("/feedback")),
            "a decision should have met {fault}:\n{}",
            proxy.log_text()
        );
    }
    eprintln!("proxy log:\n{}", proxy.log_text());

    proxy.pass_through();
    drain_outbox(&baton, &proxy);
    baton.ok(&["sync"]);

    for p in &plan {
        let history = manager.history(p.lead).await;
        assert_eq!(
            history.decisions.len(),
            1,
            "lead {}: the server should hold exactly one decision, the rep's {:?}; it holds {:#?}\nproxy log:\n{}",
            p.lead,
            p.kind,
            history.decisions,
            proxy.log_text()
        );
        let d = &history.decisions[0];
        let note = p.reason.as_ref().map(|_| format!("note for {}", p.lead));
        assert_eq!(
            (d.decision, d.reason.as_deref(), d.note.as_deref()),
            (p.kind, p.reason.as_deref(), note.as_deref()),
            "lead {}: the server holds another decision than the rep's",
            p.lead
        );
    }
    let local = all_leads(&baton);
    assert_eq!(local.len(), plan.len(), "{local:#?}");
    for row in &local {
        let id = row["id"].as_i64().expect("id");
        let p = plan.iter().find(|p| p.lead == id).expect("a planned lead");
        assert_eq!(
            row["status"],
            p.local_status(),
            "lead {id}: the inbox disagrees with the server: {row:#}"
        );
        assert_eq!(
            row["decision_state"], "confirmed",
            "lead {id}: not confirmed after a clean sync: {row:#}"
        );
    }
}

/// Accepts one fresh lead per fault, each from its own profile (a profile's
/// outbox sends its oldest decision first) and each POST meeting its fault:
/// the decision must stay accepted and pending, never refused nor taken for
/// recorded; then, through a healthy proxy, it reaches the server once.
async fn accept_through_each(faults: &[Fault], what: &str) {
    let server = Server::start(ONE_TEAM);
    let ava = server.add_rep("Ava", "sales", 1, 100);
    let intake = server.intake();
    let manager = server.manager();
    let mut ids = Vec::new();
    for i in 0..faults.len() {
        ids.push(intake.push(&lead(&format!("each-{i}"))).await.lead.id);
    }
    let proxy = FaultProxy::start(&server.base);
    proxy.faults_on(&["/v1/leads/*/feedback"]);
    let mut profiles = Vec::new();
    let mut failures = Vec::new();
    for (&fault, &id) in faults.iter().zip(&ids) {
        let baton = Baton::new();
        login_via(&baton, &proxy, &ava);
        baton.ok(&["sync"]);
        proxy.queue([fault]);
        let run = baton.run(&["accept", &id.to_string()]);
        assert_eq!(
            proxy.queued(),
            0,
            "the decision never met {fault}:\n{}",
            proxy.log_text()
        );
        let shown = baton.json(&["show", &id.to_string()]);
        let s = &shown["summary"];
        let text = format!("{}\n{}", run.1, run.2).to_lowercase();
        if text.contains("refused this decision") || text.contains("refused your decision") {
            failures.push(format!(
                "{fault}: `baton accept {id}` reported a refusal: {}{}",
                run.1.trim(),
                run.2.trim()
            ));
        }
        if s["status"] != "accepted"
            || s["decision_state"] != "pending"
            || !s["refused_message"].is_null()
        {
            failures.push(format!(
                "{fault}: lead {id} should stay accepted with its decision pending; it is status {}, decision_state {}, refused_message {}",
                s["status"], s["decision_state"], s["refused_message"]
            ));
        }
        assert!(
            manager.history(id).await.decisions.is_empty(),
            "{fault}: the proxy's answer must not have reached the server"
        );
        profiles.push((baton, id));
    }
    assert!(
        failures.is_empty(),
        "{what}:\n{}\nproxy log:\n{}",
        failures.join("\n"),
        proxy.log_text()
    );

    proxy.pass_through();
    for (baton, id) in &profiles {
        drain_outbox(baton, &proxy);
        let history = manager.history(*id).await;
        assert_eq!(
            history.decisions.len(),
            1,
            "lead {id}: {:#?}",
            history.decisions
        );
        assert_eq!(history.decisions[0].decision, DecisionKind::Accept);
        let shown = baton.json(&["show", &id.to_string()]);
        assert_eq!(shown["summary"]["status"], "accepted", "{shown:#}");
        assert_eq!(shown["summary"]["decision_state"], "confirmed", "{shown:#}");
    }
}

#[tokio::test]
async fn a_proxy_error_page_never_refuses_a_decision() {
    accept_through_each(
        &[404, 403, 413, 502, 503].map(Fault::Html),
        "a proxy's error page was taken for the server's refusal",
    )
    .await;
}

#[tokio::test]
async fn an_answer_that_is_not_batons_never_confirms_a_decision() {
    // Another API's JSON, and a captive portal's 200 page.
    accept_through_each(
        &[Fault::Garbage200, Fault::Html(200)],
        "a 200 that is not Baton's answer was taken for the server's",
    )
    .await;
}

#[tokio::test]
async fn the_status_names_the_condition() {
    let server = Server::start(ONE_TEAM);
    let ava = server.add_rep("Ava", "sales", 1, 100);
    let intake = server.intake();
    intake.push(&lead("st-1")).await;
    let proxy = FaultProxy::start(&server.base);
    let baton = Baton::new();
    login_via(&baton, &proxy, &ava);
    baton.ok(&["sync"]);

    let mut wrong = Vec::new();
    let mut expect = |when: &str, want: Option<&str>, status: Value| {
        let got = status.get("problem").map(|p| p["kind"].as_str());
        if got != Some(want) {
            wrong.push(format!(
                "{when}: expected \"problem\" {}, got {}",
                want.map(|k| format!("with kind {k:?}"))
                    .unwrap_or_else(|| "null".into()),
                serde_json::to_string(&status).expect("json")
            ));
        }
    };
    expect("healthy", None, baton.json(&["status"]));

    // The condition lasts while the rep looks: the status's own requests
    // meet it too.
    proxy.faults_on(&["/v1/sync", "/v1/me"]);
    proxy.set_mode(Mode::Always(Fault::Html(502)));
    let (ok, _, _) = baton.run(&["sync"]);
    assert!(!ok, "a sync answered by a 502 page cannot succeed");
    expect(
        "a load balancer's 502 page",
        Some("server_error"),
        baton.json(&["status"]),
    );

    proxy.set_mode(Mode::Always(Fault::Garbage200));
    let (ok, _, _) = baton.run(&["sync"]);
    assert!(
        !ok,
        "a sync answered with another API's JSON cannot succeed"
    );
    expect(
        "200 with JSON that is not Baton's",
        Some("incompatible_server"),
        baton.json(&["status"]),
    );

    let log = proxy.log_text();
    proxy.close();
    let (ok, _, _) = baton.run(&["sync"]);
    assert!(!ok, "a sync with nothing listening cannot succeed");
    expect(
        "nothing listening",
        Some("offline"),
        baton.json(&["status"]),
    );

    assert!(
        wrong.is_empty(),
        "`baton status --json` does not name the condition:\n{}\nproxy log:\n{log}",
        wrong.join("\n")
    );
}

#[tokio::test]
async fn proxy_passes_requests_and_streams_through_unchanged() {
    let server = Server::start(ONE_TEAM);
    let ava = server.add_rep("Ava", "sales", 1, 100);
    let intake = server.intake();
    let manager = server.manager();
    let mut ids = Vec::new();
    for i in 0..3 {
        ids.push(intake.push(&lead(&format!("pt-{i}"))).await.lead.id);
    }
    let proxy = FaultProxy::start(&server.base);
    let baton = Baton::new();
    login_via(&baton, &proxy, &ava);
    let out = baton.ok(&["sync"]);
    assert!(out.contains("3 new leads"), "{out}");
    let mut inbox = baton.inbox_ids("new");
    inbox.sort();
    assert_eq!(inbox, ids);
    let shown = baton.json(&["show", &ids[0].to_string()]);
    assert_eq!(shown["lead"]["contact"]["name"], "Lead pt-0");

    let out = baton.ok(&["accept", &ids[0].to_string()]);
    assert!(out.contains("the server has it"), "{out}");
    let out = baton.ok(&["reject", &ids[1].to_string(), "--reason", "no_budget"]);
    assert!(out.contains("the server has it"), "{out}");
    assert_eq!(manager.history(ids[0]).await.decisions.len(), 1);
    assert_eq!(
        manager.history(ids[1]).await.decisions[0].reason.as_deref(),
        Some("no_budget")
    );

    // The live stream flows through, event by event.
    let mut stream = via(&proxy, &ava).stream(None).await;
    let ready = stream.next(Duration::from_secs(10)).await.expect("ready");
    assert_eq!(ready.event, "ready", "{ready:?}");
    let fresh = intake.push(&lead("pt-live")).await.lead;
    let change = stream
        .next_change(Duration::from_secs(10))
        .await
        .expect("the new lead's change arrives through the proxy");
    assert!(
        change.data.contains(&format!("\"id\":{}", fresh.id)),
        "{change:?}"
    );
    drop(stream);

    let log = proxy.log();
    assert!(log.iter().all(|h| h.fault == Fault::Pass), "{log:#?}");
    for want in ["/v1/me", "/v1/sync", "/v1/reasons", "/v1/stream"] {
        assert!(
            log.iter().any(|h| h.path.starts_with(want)),
            "no {want} in\n{}",
            proxy.log_text()
        );
    }
    // `baton reject` reads the reasons, then posts, on one kept-alive connection.
    let reject_conn = log
        .iter()
        .find(|h| h.method == "POST" && h.path == format!("/v1/leads/{}/feedback", ids[1]))
        .expect("the rejection")
        .conn;
    assert!(
        log.iter().filter(|h| h.conn == reject_conn).count() >= 2,
        "keep-alive: the rejection should share its connection:\n{}",
        proxy.log_text()
    );
}

#[tokio::test]
async fn each_fault_does_to_a_request_what_it_says() {
    let server = Server::start(ONE_TEAM);
    let ava = server.add_rep("Ava", "sales", 1, 100);
    let intake = server.intake();
    let manager = server.manager();
    let proxy = FaultProxy::start(&server.base);
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap();
    let faults = [
        Fault::Pass,
        Fault::Delay(Duration::from_millis(300)),
        Fault::DropBeforeForward,
        Fault::DropAfterForward,
        Fault::ResetMidBody,
        Fault::Truncate,
        Fault::Html(502),
        Fault::Garbage200,
    ];
    for (i, fault) in faults.into_iter().enumerate() {
        let id = intake.push(&lead(&format!("ef-{i}"))).await.lead.id;
        proxy.queue([fault]);
        let started = Instant::now();
        let sent = http
            .post(format!("{}/v1/leads/{id}/feedback", proxy.base))
            .bearer_auth(&ava.token)
            .header("Idempotency-Key", unique_key())
            .json(&serde_json::json!({"decision": "accept"}))
            .send()
            .await;
        // (status, content-type, body) when a whole answer arrived.
        let answer = match sent {
            Ok(resp) => {
                let status = resp.status().as_u16();
                let ct = resp
                    .headers()
                    .get("content-type")
                    .map(|v| v.to_str().unwrap().to_string())
                    .unwrap_or_default();
                resp.text().await.ok().map(|body| (status, ct, body))
            }
            Err(_) => None,
        };
        let elapsed = started.elapsed();
        let on_server = manager.history(id).await.decisions.len();
        let what = format!("{fault}: answer {answer:?}, {on_server} decisions on the server");
        assert_eq!(on_server, usize::from(fault.forwards()), "{what}");
        match fault {
            Fault::Pass | Fault::Delay(_) => {
                let (status, ct, body) = answer.expect(&what);
                assert!((200..300).contains(&status), "{what}");
                assert!(ct.starts_with("application/json"), "{what}");
                assert!(body.contains("\"decision\""), "{what}");
                if let Fault::Delay(d) = fault {
                    assert!(elapsed >= d, "{what}: answered after {elapsed:?}");
                }
            }
            Fault::DropBeforeForward
            | Fault::DropAfterForward
            | Fault::ResetMidBody
            | Fault::Truncate => assert!(answer.is_none(), "{what}"),
            Fault::Html(code) => {
                let (status, ct, body) = answer.expect(&what);
                assert_eq!(status, code, "{what}");
                assert_eq!(ct, "text/html", "{what}");
                assert!(body.contains("<h1>502 Bad Gateway</h1>"), "{what}");
            }
            Fault::Garbage200 => {
                let (status, ct, body) = answer.expect(&what);
                assert_eq!((status, ct.as_str()), (200, "application/json"), "{what}");
                assert_eq!(body, r#"{"hello":"older server"}"#, "{what}");
            }
            Fault::GoSilent => unreachable!("not among this test's faults"),
        }
    }
    let log = proxy.log();
    assert_eq!(log.len(), faults.len(), "{}", proxy.log_text());
    for (h, f) in log.iter().zip(faults) {
        assert_eq!(h.fault, f, "{}", proxy.log_text());
    }
}

#[tokio::test]
async fn a_decision_dropped_after_forwarding_is_on_the_server_once() {
    let server = Server::start(ONE_TEAM);
    let ava = server.add_rep("Ava", "sales", 1, 100);
    let intake = server.intake();
    let manager = server.manager();
    let id = intake.push(&lead("daf-1")).await.lead.id;
    let proxy = FaultProxy::start(&server.base);
    proxy.faults_on(&["/v1/leads/*/feedback"]);
    let baton = Baton::new();
    login_via(&baton, &proxy, &ava);
    baton.ok(&["sync"]);

    proxy.queue([Fault::DropAfterForward]);
    let run = baton.run(&["accept", &id.to_string()]);
    assert_no_refusal("baton accept", &run, &proxy);
    assert_eq!(proxy.queued(), 0, "{}", proxy.log_text());
    // The server applied it though the client never heard back.
    assert_eq!(manager.history(id).await.decisions.len(), 1);
    let shown = baton.json(&["show", &id.to_string()]);
    assert_eq!(shown["summary"]["status"], "accepted", "{shown:#}");
    assert_eq!(shown["summary"]["decision_state"], "pending", "{shown:#}");

    // The retry carries the same key: the server replays, not records again.
    drain_outbox(&baton, &proxy);
    let history = manager.history(id).await;
    assert_eq!(history.decisions.len(), 1, "{:#?}", history.decisions);
    let shown = baton.json(&["show", &id.to_string()]);
    assert_eq!(shown["summary"]["decision_state"], "confirmed", "{shown:#}");
    let posts = proxy.log().iter().filter(|h| h.method == "POST").count();
    assert!(posts >= 2, "{}", proxy.log_text());
}

/// A half-open live stream (a proxy that keeps the connection but passes
/// nothing after `ready`) is given up after three silent heartbeat
/// intervals and reopened; leads then arrive through the new stream.
#[tokio::test]
async fn a_silent_stream_is_given_up_after_three_heartbeats_and_reopened() {
    let server = Server::start_with(ONE_TEAM, &["--heartbeat-secs", "1"], &[]);
    let ava = server.add_rep("Ava", "sales", 1, 100);
    let intake = server.intake();
    let proxy = FaultProxy::start(&server.base);
    let baton = Baton::new();
    baton.ok(&["login", "--server", &proxy.base, "--token", &ava.token]);
    proxy.faults_on(&["/v1/stream"]);
    proxy.queue([Fault::GoSilent]);
    let streams = || {
        proxy
            .log()
            .into_iter()
            .filter(|h| h.path.starts_with("/v1/stream"))
            .count()
    };
    let log_path = baton.dir.path().join("watch.log");
    let mut watch = baton
        .command(&["watch", "--no-notify"])
        .env("BATON_LOG", "baton_core=info")
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(&log_path).unwrap())
        .spawn()
        .unwrap();
    let watch_log = || std::fs::read_to_string(&log_path).unwrap_or_default();
    eventually(Duration::from_secs(10), "the first stream opened", || {
        let n = streams();
        async move { (n >= 1).then_some(()) }
    })
    .await;
    let silent_since = std::time::Instant::now();
    // Three 1 s heartbeats of silence, then a reconnect after a short backoff.
    while streams() < 2 {
        assert!(
            silent_since.elapsed() < Duration::from_secs(15),
            "the stream was never reopened\nproxy:\n{}\nwatch:\n{}",
            proxy.log_text(),
            watch_log()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let gave_up_after = silent_since.elapsed();
    assert!(
        gave_up_after >= Duration::from_secs(2),
        "not before the heartbeats were missed: {gave_up_after:?}\n{}",
        proxy.log_text()
    );
    let id = intake.push(&lead("after-silence")).await.lead.id;
    eventually(Duration::from_secs(8), "the new lead in the cache", || {
        let ids = baton.inbox_ids("new");
        async move { ids.contains(&id).then_some(()) }
    })
    .await;
    let _ = watch.kill();
    let _ = watch.wait();
}
