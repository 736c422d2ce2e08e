//! The `baton` client against the real server: first and incremental sync,
//! live push, take-aways and re-routes, offline decisions, restarts, and the
//! 409 path.

use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use baton_tests::*;

const SHORT_SLA: &str =
    "qualification_threshold = 60\n[[teams]]\nname = \"sales\"\nsla_seconds = 2\n";

#[tokio::test]
async fn first_and_incremental_sync_fill_the_inbox_and_search_finds_leads() {
    let server = Server::start(ONE_TEAM);
    let ava = server.add_rep("Ava", "sales", 1, 100);
    let intake = server.intake();
    let mut ids = Vec::new();
    for i in 0..5 {
        ids.push(intake.push(&lead(&format!("cs-{i}"))).await.lead.id);
    }
    let baton = Baton::new();
    baton.login(&server, &ava);
    let out = baton.ok(&["sync"]);
    assert!(out.contains("5 new leads"), "{out}");
    let mut inbox = baton.inbox_ids("new");
    inbox.sort();
    assert_eq!(inbox, ids);

    let mut special = lead("cs-special");
    special.contact.name = "Grace Hopper".into();
    special.quiz[0].answer = "Within six weeks".into();
    let special = intake.push(&special).await.lead;
    assert!(baton.ok(&["sync"]).contains("1 new leads"));
    assert_eq!(baton.inbox_ids("new").len(), 6);
    let found = baton.json(&["inbox", "--status", "all", "--search", "grace"]);
    assert_eq!(found.as_array().unwrap().len(), 1);
    assert_eq!(found[0]["id"], special.id);
    let by_quiz = baton.json(&["inbox", "--status", "all", "--search", "six week"]);
    assert_eq!(by_quiz[0]["id"], special.id, "quiz answers are searchable");

    let shown = baton.json(&["show", &special.id.to_string()]);
    assert_eq!(shown["lead"]["quiz"][0]["answer"], "Within six weeks");
    assert!(
        shown["lead"]["assignment"]["why"]
            .as_str()
            .unwrap()
            .contains("rotation")
    );
}

/// Reads a child's stdout lines on a thread, so tests can wait with a deadline.
fn lines_of(child: &mut std::process::Child) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    let out = child.stdout.take().expect("stdout piped");
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                return;
            }
        }
    });
    rx
}

fn wait_for_line(rx: &mpsc::Receiver<String>, needle: &str, within: Duration) -> String {
    let deadline = Instant::now() + within;
    let mut seen = Vec::new();
    while let Some(left) = deadline.checked_duration_since(Instant::now()) {
        match rx.recv_timeout(left) {
            Ok(line) if line.contains(needle) => return line,
            Ok(line) => seen.push(line),
            Err(_) => break,
        }
    }
    panic!("no line containing {needle:?} within {within:?}; saw {seen:?}");
}

#[tokio::test]
async fn watch_shows_new_leads_live_and_survives_a_server_restart() {
    let mut server = Server::start(ONE_TEAM);
    let ava = server.add_rep("Ava", "sales", 1, 100);
    let intake = server.intake();
    let baton = Baton::new();
    baton.login(&server, &ava);
    let mut watch = baton
        .command(&["watch", "--no-notify"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let lines = lines_of(&mut watch);
    tokio::time::sleep(Duration::from_millis(500)).await;
    let l1 = intake.push(&lead("w-1")).await.lead;
    wait_for_line(
        &lines,
        &format!("new lead {}", l1.id),
        Duration::from_secs(10),
    );

    server.restart();
    let intake = server.intake();
    let l2 = intake.push(&lead("w-2")).await.lead;
    wait_for_line(
        &lines,
        &format!("new lead {}", l2.id),
        Duration::from_secs(20),
    );
    let _ = watch.kill();
    let _ = watch.wait();
}

#[tokio::test]
async fn an_sla_take_away_leaves_the_inbox_and_says_why() {
    let server = Server::start(SHORT_SLA);
    // Ava is the team's only rep: once taken back, the lead waits in the queue.
    let ava = server.add_rep("Ava", "sales", 1, 100);
    let intake = server.intake();
    let baton = Baton::new();
    baton.login(&server, &ava);
    intake.push(&lead("t-1")).await;
    baton.ok(&["sync"]);
    let mine = baton.inbox_ids("new");
    assert_eq!(mine.len(), 1);
    let id = mine[0];
    tokio::time::sleep(Duration::from_millis(3500)).await;
    baton.ok(&["sync"]);
    assert!(
        baton.inbox_ids("new").is_empty(),
        "taken away leaves the inbox"
    );
    assert_eq!(baton.inbox_ids("taken_away"), vec![id]);
    let shown = baton.json(&["show", &id.to_string()]);
    assert_eq!(shown["summary"]["taken_away_reason"], "sla_expired");
    let history = shown["history"].as_array().unwrap();
    assert!(
        history
            .iter()
            .any(|h| h["detail"].as_str().unwrap().contains("SLA"))
    );
    let (ok, _, err) = baton.run(&["accept", &id.to_string()]);
    assert!(!ok);
    assert!(err.contains("no longer yours"), "{err}");
}

#[tokio::test]
async fn a_wrong_territory_rejection_reaches_the_next_reps_inbox() {
    let server = Server::start(ONE_TEAM);
    let ava = server.add_rep("Ava", "sales", 1, 100);
    let ben = server.add_rep("Ben", "sales", 1, 100);
    let intake = server.intake();
    let (a, b) = (Baton::new(), Baton::new());
    a.login(&server, &ava);
    b.login(&server, &ben);
    intake.push(&lead("r-1")).await;
    intake.push(&lead("r-2")).await;
    a.ok(&["sync"]);
    b.ok(&["sync"]);
    let id = a.inbox_ids("new")[0];
    let out = a.ok(&["reject", &id.to_string(), "--reason", "wrong_territory"]);
    assert!(out.contains("the server has it"), "{out}");
    b.ok(&["sync"]);
    assert!(b.inbox_ids("new").contains(&id));
    a.ok(&["sync"]);
    assert_eq!(a.inbox_ids("rejected"), vec![id]);
    let (ok, _, err) = a.run(&[
        "reject",
        &b.inbox_ids("new")[0].to_string(),
        "--reason",
        "other",
    ]);
    assert!(!ok && err.contains("note"), "other needs a note: {err}");
}

#[tokio::test]
async fn decisions_made_offline_are_sent_once_the_server_returns() {
    let mut server = Server::start(ONE_TEAM);
    let ava = server.add_rep("Ava", "sales", 1, 100);
    let intake = server.intake();
    let manager = server.manager();
    let l1 = intake.push(&lead("o-1")).await.lead;
    let l2 = intake.push(&lead("o-2")).await.lead;
    let baton = Baton::new();
    baton.login(&server, &ava);
    baton.ok(&["sync"]);
    baton.ok(&["reasons"]);

    server.stop();
    let out = baton.ok(&["accept", &l1.id.to_string()]);
    assert!(out.contains("waiting to be sent"), "{out}");
    let out = baton.ok(&[
        "reject",
        &l2.id.to_string(),
        "--reason",
        "no_budget",
        "--note",
        "Q3",
    ]);
    assert!(out.contains("waiting to be sent"), "{out}");
    let status = baton.json(&["status"]);
    assert_eq!(status["outbox"], 2);
    assert_eq!(status["connection"], "offline");
    assert_eq!(
        baton.inbox_ids("accepted"),
        vec![l1.id],
        "the decision shows at once"
    );

    server.start_again();
    let out = baton.ok(&["sync"]);
    assert!(out.contains("2 decisions sent"), "{out}");
    assert_eq!(baton.json(&["status"])["outbox"], 0);
    let h1 = manager.history(l1.id).await;
    let h2 = manager.history(l2.id).await;
    assert_eq!(h1.decisions.len(), 1);
    assert_eq!(h2.decisions.len(), 1);
    assert_eq!(h2.decisions[0].note.as_deref(), Some("Q3"));
}

#[tokio::test]
async fn a_decision_the_server_refuses_is_shown_with_its_reason() {
    let server = Server::start(SHORT_SLA);
    let ava = server.add_rep("Ava", "sales", 1, 100);
    let intake = server.intake();
    let l = intake.push(&lead("409-1")).await.lead;
    let baton = Baton::new();
    baton.login(&server, &ava);
    baton.ok(&["sync"]);
    // The SLA passes on the server while this client has not synced.
    tokio::time::sleep(Duration::from_millis(3000)).await;
    let (ok, _, err) = baton.run(&["accept", &l.id.to_string()]);
    assert!(!ok, "the CLI reports the refusal");
    assert!(err.contains("refused"), "{err}");
    let shown = baton.json(&["show", &l.id.to_string()]);
    assert_eq!(shown["summary"]["decision_state"], "refused");
    assert!(
        shown["summary"]["refused_message"]
            .as_str()
            .unwrap()
            .contains("SLA")
    );
    assert!(baton.inbox_ids("new").is_empty());
    assert_eq!(
        baton.json(&["status"])["outbox"],
        0,
        "a refused write leaves the outbox"
    );
}

#[tokio::test]
async fn away_and_available_go_through_the_outbox_even_offline() {
    let mut server = Server::start(ONE_TEAM);
    let ava = server.add_rep("Ava", "sales", 1, 100);
    let manager = server.manager();
    let baton = Baton::new();
    baton.login(&server, &ava);
    let availability = |m: Client| async move {
        let reps: baton_protocol::RepList = m.get("/v1/reps").await.json();
        reps.reps[0].availability
    };
    assert!(baton.ok(&["away"]).contains("You are away"));
    assert_eq!(
        availability(manager.clone()).await,
        baton_protocol::Availability::Away
    );

    server.stop();
    let out = baton.ok(&["available"]);
    assert!(out.contains("once the server is reachable"), "{out}");
    assert_eq!(baton.json(&["status"])["outbox"], 1);
    server.start_again();
    baton.ok(&["sync"]);
    assert_eq!(
        availability(manager).await,
        baton_protocol::Availability::Available
    );
}

#[tokio::test]
async fn without_a_keychain_the_token_is_kept_in_a_private_file_with_a_warning() {
    let server = Server::start(ONE_TEAM);
    let ava = server.add_rep("Ava", "sales", 1, 100);
    let baton = Baton::new();
    let (ok, out, err) = baton.run(&["login", "--server", &server.base, "--token", &ava.token]);
    assert!(ok, "{err}");
    assert!(
        out.contains("Signed in to") && out.contains("as Ava"),
        "{out}"
    );
    assert!(err.contains("no OS keychain"), "the rep is told: {err}");
    let token_file = baton.dir.path().join("token");
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&token_file).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "readable only by the rep");
    assert_eq!(
        std::fs::read_to_string(&token_file).unwrap().trim(),
        ava.token
    );

    // A manager's token is refused: baton is for reps.
    let manager = server.manager();
    let (ok, _, err) =
        Baton::new().run(&["login", "--server", &server.base, "--token", &manager.token]);
    assert!(!ok && err.contains("not a rep"), "{err}");
    // A wrong token is refused with the server's reason.
    let (ok, _, err) =
        Baton::new().run(&["login", "--server", &server.base, "--token", "btn_rep_nope"]);
    assert!(!ok && err.contains("refused the token"), "{err}");

    baton.ok(&["logout"]);
    assert!(!token_file.exists());
    let (ok, _, err) = baton.run(&["inbox"]);
    assert!(!ok && err.contains("not signed in"), "{err}");
}

#[tokio::test]
async fn a_decision_refused_as_invalid_returns_the_lead_to_the_inbox_to_decide_again() {
    let mut server = Server::start(ONE_TEAM);
    let ava = server.add_rep("Ava", "sales", 1, 100);
    let manager = server.manager();
    let l = server.intake().push(&lead("inv-1")).await.lead;
    let baton = Baton::new();
    baton.login(&server, &ava);
    baton.ok(&["sync"]);
    // Offline and never having fetched the reason list, the client cannot
    // check the code; the server can.
    server.stop();
    baton.ok(&["reject", &l.id.to_string(), "--reason", "made_up"]);
    server.start_again();
    let (_, out, _) = baton.run(&["sync"]);
    assert!(out.contains("1 refused"), "{out}");
    assert_eq!(
        baton.inbox_ids("new"),
        vec![l.id],
        "back in the inbox, not taken away"
    );
    let shown = baton.json(&["show", &l.id.to_string()]);
    assert!(
        shown["summary"]["refused_message"]
            .as_str()
            .unwrap()
            .contains("unknown reason")
    );
    assert!(shown["summary"]["decision"].is_null());
    baton.ok(&["accept", &l.id.to_string()]);
    let h = manager.history(l.id).await;
    assert_eq!(h.decisions.len(), 1);
    assert_eq!(
        h.decisions[0].decision,
        baton_protocol::DecisionKind::Accept
    );
}

#[tokio::test]
async fn show_says_under_which_definition_the_lead_qualified_why_and_how_to_open() {
    let server = Server::start(ONE_TEAM);
    let ava = server.add_rep("Ava", "sales", 1, 100);
    let admin = server.manager();
    let published = admin
        .post(
            "/v1/definitions",
            &serde_json::json!({
                "threshold": 70,
                "criteria": [{
                    "kind": "quiz_answer",
                    "key": "When do you want a solution in place?",
                    "value": "This quarter",
                    "points": 12,
                    "meaning": "A near deadline means a buying process is running",
                    "opener": "Ask what has to be live by the end of the quarter"
                }],
                "reasons": [
                    { "code": "no_budget", "label": "No budget", "note_required": false, "routes_on": false },
                    { "code": "other", "label": "Other", "note_required": true, "routes_on": false }
                ],
                "note": "Openers for the quarter's deadline"
            }),
        )
        .await;
    let version = published.body["version"].as_u64().unwrap_or_else(|| {
        panic!("not published: {published:?}");
    });
    let id = server.intake().push(&lead("def-1")).await.lead.id;
    let baton = Baton::new();
    baton.login(&server, &ava);
    baton.ok(&["sync"]);
    let out = baton.ok(&["show", &id.to_string()]);
    assert!(
        out.contains(&format!(
            "\n  Qualified under definition v{version} — score 80 ≥ 70\n"
        )),
        "{out}"
    );
    assert!(
        out.contains("\n  Why you:   Next in team sales' rotation\n"),
        "{out}"
    );
    assert!(
        out.contains(
            "\n  How to open:\n    When do you want a solution in place?: This quarter — Ask what has to be live by the end of the quarter\n"
        ),
        "{out}"
    );
    let shown = baton.json(&["show", &id.to_string()]);
    assert_eq!(shown["context"]["qualification"]["version"], version);
    assert_eq!(
        shown["context"]["openers"].as_array().map(Vec::len),
        Some(1)
    );
}

/// The update check the desktop app runs at start and daily, through
/// baton-core against the real server: the operator's announced release,
/// newer than the app or not, with the download for the app's own format.
#[tokio::test]
async fn the_update_check_reads_the_release_the_operator_announces() {
    use baton_core::updates::check;
    use baton_protocol::PackageFormat;

    let plain = Server::start(ONE_TEAM);
    assert_eq!(
        check(&plain.base, "0.1.0", Some(PackageFormat::Deb))
            .await
            .unwrap(),
        None
    );
    // Open to anyone: no token.
    let r = reqwest::get(format!("{}/v1/desktop/release", plain.base))
        .await
        .unwrap();
    assert_eq!(r.status(), reqwest::StatusCode::OK);
    assert_eq!(r.text().await.unwrap(), r#"{"release":null}"#);

    let server = Server::start(&format!(
        "{ONE_TEAM}\n[desktop_release]\nversion = \"0.4.2\"\nnotes = \"Snooze with x.\"\n\
         [desktop_release.downloads]\ndeb = \"https://dl.baton.test/Baton_0.4.2_amd64.deb\"\n\
         msi = \"https://dl.baton.test/Baton_0.4.2_x64.msi\"\n"
    ));
    let deb = check(&server.base, "0.1.0", Some(PackageFormat::Deb))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(deb.version, "0.4.2");
    assert_eq!(deb.notes, "Snooze with x.");
    assert_eq!(
        deb.download_url.as_deref(),
        Some("https://dl.baton.test/Baton_0.4.2_amd64.deb")
    );
    let rpm = check(&server.base, "0.1.0", Some(PackageFormat::Rpm))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(rpm.download_url, None, "no .rpm was announced");
    assert_eq!(
        check(&server.base, "0.4.2", Some(PackageFormat::Deb))
            .await
            .unwrap(),
        None
    );
    assert_eq!(check(&server.base, "1.0.0", None).await.unwrap(), None);

    // A release the server cannot vouch for is refused at start, naming the key.
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.toml");
    std::fs::write(
        &bad,
        format!("{ONE_TEAM}\n[desktop_release]\nversion = \"0.5.0\"\n[desktop_release.downloads]\ndeb = \"http://dl.baton.test/x.deb\"\n"),
    )
    .unwrap();
    let out = std::process::Command::new(binary("baton-server"))
        .args(["config", "check", "--config"])
        .arg(&bad)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("desktop_release.downloads.deb must be an https://"),
        "{err}"
    );
}
