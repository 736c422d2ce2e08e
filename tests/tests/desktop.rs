//! The desktop app end to end, in its real window: the release
//! `baton-desktop` binary under Xvfb, driven through WebDriver (tauri-driver
//! with WebKitWebDriver), against the real `baton-server` on 127.0.0.1, with
//! its notifications on a private D-Bus session bus.

use std::path::PathBuf;
use std::time::Duration;

use baton_protocol::{LeadEventKind, LeadStatus, QuizAnswer};
use baton_tests::bus::SessionBus;
use baton_tests::desktop::{Display, Driver};
use baton_tests::*;
use serde_json::Value;

const WAIT: Duration = Duration::from_secs(15);

/// Screenshots for README; the latest run's are in target/screenshots.
fn screenshot_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../target/screenshots")
        .join(name)
}

#[tokio::test]
async fn a_lead_arrives_is_read_and_rejected_in_the_real_window() {
    let bus = SessionBus::start();
    let display = Display::start();
    let server = Server::start(ONE_TEAM);
    let ava = server.add_rep("Ava Rossi", "sales", 1, 100);
    let intake = server.intake();
    // A few leads already waiting, so the inbox is not empty at launch.
    for i in 0..3 {
        let mut l = lead(&format!("backlog-{i}"));
        l.contact.name = ["Grace Hopper", "Alan Turing", "Barbara Liskov"][i].into();
        l.contact.company = Some(["Cobol Ltd", "Enigma plc", "Clu GmbH"][i].into());
        l.score.value = [91, 74, 62][i];
        intake.push(&l).await;
    }
    let baton = Baton::new();
    baton.login(&server, &ava);

    let driver = Driver::start(&display, &bus, baton.dir.path());
    let app = driver.open_app().await;
    app.find("[data-testid=inbox] [data-lead-id]", WAIT).await;
    assert_eq!(app.count("[data-testid=inbox] [data-lead-id]").await, 3);

    // A lead whose name and quiz answers hold markup and script.
    let hostile_name = r#"<img src=x onerror="window.__pwned=1">Mallory <b>Bold</b>"#;
    let hostile_answer = "<script>window.__pwned=2</script>50-200 people";
    let mut l = lead("hostile-1");
    l.contact.name = hostile_name.into();
    l.quiz = vec![
        QuizAnswer {
            question: "How many people handle inbound leads?".into(),
            answer: hostile_answer.into(),
            points: Some(20),
        },
        QuizAnswer {
            question: "What do you use today?".into(),
            answer: "Spreadsheets and a shared inbox".into(),
            points: Some(10),
        },
    ];
    let pushed = intake.push(&l).await.lead;

    // It appears in the open inbox, pushed by the live stream.
    let row = app
        .find(&format!("[data-lead-id=\"{}\"]", pushed.id), WAIT)
        .await;
    app.screenshot(&screenshot_path("inbox.png")).await;
    app.click(&row).await;
    let name = app.find("[data-testid=lead-name]", WAIT).await;
    assert_eq!(
        app.text(&name).await,
        hostile_name,
        "the name is plain text"
    );
    let quiz = app.text(&app.find("[data-testid=quiz]", WAIT).await).await;
    assert!(
        quiz.contains("How many people handle inbound leads?") && quiz.contains(hostile_answer),
        "quiz answers show as text: {quiz}"
    );
    assert_eq!(
        app.count(
            "[data-testid=lead-view] img, [data-testid=lead-view] script, [data-testid=lead-view] b"
        )
        .await,
        0,
        "no markup from the lead became elements"
    );
    assert_eq!(
        app.script("return window.__pwned === undefined;").await,
        Value::Bool(true),
        "no script from the lead ran"
    );
    app.screenshot(&screenshot_path("lead.png")).await;

    // Reject it from the keyboard: r, reason 3 (the server's "No budget"), Enter.
    app.keys("r").await;
    app.find("[data-testid=reject-dialog]", WAIT).await;
    app.screenshot(&screenshot_path("reject.png")).await;
    app.keys("3\u{E007}").await; // U+E007 is WebDriver's Enter
    app.find("[data-testid=undo-toast]", WAIT).await;

    // After the undo window the decision reaches the server, whose records
    // hold it with its reason.
    let manager = server.manager();
    let history = eventually(WAIT, "the rejection recorded by the server", || {
        let manager = manager.clone();
        async move {
            let h = manager.history(pushed.id).await;
            h.events
                .iter()
                .any(|e| e.kind == LeadEventKind::Rejected)
                .then_some(h)
        }
    })
    .await;
    let rejected = history
        .events
        .iter()
        .find(|e| e.kind == LeadEventKind::Rejected)
        .unwrap();
    assert!(
        rejected.detail.contains("No budget"),
        "the reason picked by its digit: {rejected:?}"
    );
    let on_server: baton_protocol::Lead = manager.lead(pushed.id).await.json();
    assert_ne!(on_server.status, LeadStatus::Assigned, "no longer offered");
    // The window shows the decision as confirmed once the outbox drained.
    app.wait_for(
        "document.querySelector('[data-testid=outcome]')?.textContent.startsWith('Rejected') && !document.querySelector('[data-testid=outcome]').textContent.includes('sending')",
        WAIT,
    )
    .await;

    // A desktop notification was raised for the new lead, as plain text.
    let note = eventually(WAIT, "a notification for the new lead", || {
        let calls = bus.calls();
        async move {
            calls
                .into_iter()
                .find(|c| c["summary"].as_str().unwrap_or("").contains("Mallory"))
        }
    })
    .await;
    assert_eq!(note["app_name"], "Baton");

    // Clicking Open on a notification brings the window to that lead.
    let second = intake.push(&lead("clicked-1")).await.lead;
    let id = eventually(WAIT, "a notification for clicked-1", || {
        let calls = bus.calls();
        async move {
            calls
                .iter()
                .find(|c| c["summary"].as_str().unwrap_or("").contains("clicked-1"))
                .and_then(|c| c["id"].as_u64())
        }
    })
    .await;
    bus.invoke(id, "open");
    app.wait_for(
        &format!(
            "document.querySelector('[data-testid=lead-name]')?.textContent === 'Lead clicked-1' && document.querySelector('[aria-selected=true]')?.dataset.leadId === '{}'",
            second.id
        ),
        WAIT,
    )
    .await;
    app.quit().await;
}

/// A manager signs in through the app's first-run screen and finds, in the
/// review, the rejection a rep has just made, with its reason and note.
#[tokio::test]
async fn a_manager_signs_in_and_sees_a_rejection_just_made() {
    let bus = SessionBus::start();
    let display = Display::start();
    let server = Server::start(ONE_TEAM);
    let ava = server.add_rep("Ava Rossi", "sales", 1, 100);
    let intake = server.intake();
    let manager = server.manager();
    let mut l = lead("review-1");
    l.contact.name = "Quinn Reviewed".into();
    let pushed = intake.push(&l).await.lead;
    let note = "Student project <b>no</b> company";
    assert_eq!(ava.reject(pushed.id, "other", Some(note)).await.status, 200);

    let profile = tempfile::tempdir().unwrap();
    let driver = Driver::start(&display, &bus, profile.path());
    let app = driver.open_app().await;
    let server_box = app.find("input[name=server]", WAIT).await;
    app.script("document.querySelector('input[name=server]').value = ''; return 1;")
        .await;
    app.type_into(&server_box, &server.base).await;
    let token_box = app.find("input[name=token]", WAIT).await;
    app.type_into(&token_box, &manager.token).await;
    app.click(
        &app.find("form[aria-label='Sign in'] button[type=submit]", WAIT)
            .await,
    )
    .await;

    app.find("[data-testid=review]", WAIT).await;
    assert_eq!(
        app.count("[data-testid=inbox]").await,
        0,
        "no inbox for a manager"
    );
    app.click(&app.find("[data-testid=tab-reasons]", WAIT).await)
        .await;
    let reasons = app
        .text(&app.find("[data-testid=reasons-table]", WAIT).await)
        .await;
    assert!(reasons.contains("Other (note required)"), "{reasons}");
    app.click(&app.find("[data-testid=reasons-table] button", WAIT).await)
        .await;
    let log = app
        .text(&app.find("[data-testid=log-table]", WAIT).await)
        .await;
    assert!(
        log.contains("Quinn Reviewed") && log.contains("Ava Rossi") && log.contains(note),
        "the rejection with its reason and note: {log}"
    );
    assert_eq!(
        app.count("[data-testid=log-table] b").await,
        0,
        "the note is plain text"
    );
    // No screenshot here: once a Chart.js canvas has been drawn,
    // WebKitWebDriver takes about a minute per screenshot on this machine.
    // README's review picture comes from a run of this test that took one.
    app.quit().await;
}

/// The desktop app's pid for this profile (tests run side by side: only
/// the app started with this data directory).
fn app_pid(data_dir: &std::path::Path) -> Option<u32> {
    let want = format!("BATON_DATA_DIR={}", data_dir.display());
    std::fs::read_dir("/proc").ok()?.flatten().find_map(|e| {
        let pid: u32 = e.file_name().to_str()?.parse().ok()?;
        let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).ok()?;
        if comm.trim() != "baton-desktop" {
            return None;
        }
        let env = std::fs::read(format!("/proc/{pid}/environ")).ok()?;
        env.split(|b| *b == 0)
            .any(|kv| kv == want.as_bytes())
            .then_some(pid)
    })
}

/// A decision is durable from the keypress: the app killed inside its undo
/// window sends it after the restart, once; an undo inside the window sends
/// nothing.
#[tokio::test]
async fn a_decision_survives_kill_9_inside_the_undo_window_and_an_undo_sends_nothing() {
    let bus = SessionBus::start();
    let display = Display::start();
    let server = Server::start(ONE_TEAM);
    let ava = server.add_rep("Ava Rossi", "sales", 1, 100);
    let intake = server.intake();
    let manager = server.manager();
    let kept = intake.push(&lead("kill-kept")).await.lead;
    let undone = intake.push(&lead("kill-undone")).await.lead;
    let baton = Baton::new();
    baton.login(&server, &ava);

    let driver = Driver::start(&display, &bus, baton.dir.path());
    let app = driver.open_app().await;
    let row = app
        .find(&format!("[data-lead-id=\"{}\"]", kept.id), WAIT)
        .await;
    app.click(&row).await;
    app.find("[data-testid=lead-view]", WAIT).await;
    let pressed = std::time::Instant::now();
    app.keys("a").await;
    app.find("[data-testid=undo-toast]", WAIT).await;
    let pid = app_pid(baton.dir.path()).expect("the app's process");
    assert!(
        std::process::Command::new("kill")
            .args(["-9", &pid.to_string()])
            .status()
            .unwrap()
            .success()
    );
    if pressed.elapsed() < Duration::from_secs(4) {
        assert_eq!(
            manager.history(kept.id).await.decisions.len(),
            0,
            "still inside the undo window"
        );
    }
    app.quit().await;

    // Restarted: the decision saved at the keypress is sent, once.
    let app = driver.open_app().await;
    eventually(
        Duration::from_secs(30),
        "the kept decision on the server",
        || {
            let manager = manager.clone();
            async move { (manager.history(kept.id).await.decisions.len() == 1).then_some(()) }
        },
    )
    .await;

    // Accept, then undo inside the window: nothing reaches the server.
    let row = app
        .find(&format!("[data-lead-id=\"{}\"]", undone.id), WAIT)
        .await;
    app.click(&row).await;
    app.find("[data-testid=lead-view]", WAIT).await;
    app.keys("a").await;
    app.find("[data-testid=undo-toast]", WAIT).await;
    app.keys("z").await;
    app.wait_for(
        "document.querySelector('[data-testid=undo-toast]') === null && document.querySelector('[data-testid=accept]') !== null",
        WAIT,
    )
    .await;
    tokio::time::sleep(Duration::from_secs(7)).await;
    assert_eq!(
        manager.history(undone.id).await.decisions.len(),
        0,
        "an undone decision is never sent"
    );
    assert_eq!(
        manager.history(kept.id).await.decisions.len(),
        1,
        "and the kept one only once"
    );
    app.quit().await;
}

/// A manager publishes a definition with an opener (through the API); the
/// rep's running app shows the next lead qualified under it, with the
/// opener under "How to open", and opens the definition read-only.
#[tokio::test]
async fn a_published_definition_reaches_the_reps_window_with_its_opener() {
    let bus = SessionBus::start();
    let display = Display::start();
    let server = Server::start(ONE_TEAM);
    let ava = server.add_rep("Ava Rossi", "sales", 1, 100);
    let baton = Baton::new();
    baton.login(&server, &ava);
    let driver = Driver::start(&display, &bus, baton.dir.path());
    let app = driver.open_app().await;
    app.find("[data-testid=inbox]", WAIT).await;

    let opener = "Ask what has to be live by the end of the quarter";
    let published = server
        .manager()
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
                    "opener": opener
                }],
                "reasons": [
                    { "code": "no_budget", "label": "No budget", "note_required": false, "routes_on": false },
                    { "code": "other", "label": "Other", "note_required": true, "routes_on": false }
                ],
                "note": "Open on the quarter's deadline"
            }),
        )
        .await;
    assert_eq!(published.body["version"], 2, "{published:?}");

    // The next lead arrives in the open window, qualified under v2.
    let pushed = server.intake().push(&lead("after-v2")).await.lead;
    let row = app
        .find(&format!("[data-lead-id=\"{}\"]", pushed.id), WAIT)
        .await;
    app.click(&row).await;
    let qualified = app.find("[data-testid=qualified]", WAIT).await;
    assert_eq!(
        app.text(&qualified).await,
        "Qualified under definition v2 — score 80 ≥ 70"
    );
    let why = app
        .text(&app.find("[data-testid=why-line]", WAIT).await)
        .await;
    assert_eq!(why, "Next in team sales' rotation");
    let how = app
        .text(&app.find("[data-testid=how-to-open]", WAIT).await)
        .await;
    assert!(
        how.contains(opener) && how.contains("When do you want a solution in place?: This quarter"),
        "{how}"
    );
    app.screenshot(&screenshot_path("how-to-open.png")).await;

    app.click(&qualified).await;
    let view = app
        .text(&app.find("[data-testid=definition-view]", WAIT).await)
        .await;
    assert!(
        view.contains("Definition v2")
            && view.contains("Open on the quarter's deadline")
            && view.contains("A near deadline means a buying process is running"),
        "{view}"
    );
    app.quit().await;
}
