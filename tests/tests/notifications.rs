//! Desktop notifications observed on a real D-Bus session bus: a private
//! `dbus-daemon` and a recorder owning org.freedesktop.Notifications
//! (tests/fixtures/notification_server.py, Debian's python3-dbus).

use std::process::{Child, Command};
use std::time::Duration;

use baton_protocol::{DecisionKind, LeadStatus};
use baton_tests::bus::SessionBus;
use baton_tests::*;

fn stop(mut child: Child) {
    let _ = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status();
    let _ = child.wait();
}

#[tokio::test]
async fn one_summary_on_first_sync_then_one_per_lead_never_twice_and_accept_works() {
    let bus = SessionBus::start();
    let server = Server::start(ONE_TEAM);
    let ava = server.add_rep("Ava", "sales", 1, 100);
    let intake = server.intake();
    let manager = server.manager();
    for i in 0..5 {
        intake.push(&lead(&format!("n-{i}"))).await;
    }
    let baton = Baton::new();
    baton.login(&server, &ava);
    let watch = bus.watch(&baton);

    let calls = bus.wait_for_calls(1, Duration::from_secs(10)).await;
    assert_eq!(calls[0]["summary"], "5 new leads", "{calls:?}");
    assert_eq!(calls[0]["urgency"], 1);
    assert_eq!(calls[0]["expire_timeout"], 30_000, "a normal one expires");
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(bus.calls().len(), 1, "a summary instead of a flood");

    let l5 = intake.push(&lead("n-5")).await.lead;
    let l6 = intake.push(&lead("n-6")).await.lead;
    let calls = bus.wait_for_calls(3, Duration::from_secs(10)).await;
    let titles: Vec<&str> = calls[1..]
        .iter()
        .map(|c| c["summary"].as_str().unwrap())
        .collect();
    assert!(titles.contains(&"Lead n-5 — Acme GmbH"), "{titles:?}");
    assert!(titles.contains(&"Lead n-6 — Acme GmbH"), "{titles:?}");
    let c = &calls[2];
    assert_eq!(c["app_name"], "Baton");
    assert!(
        c["body"]
            .as_str()
            .unwrap()
            .starts_with("Score 80 · webinar · Quiz +50, Pricing page +30"),
        "{c}"
    );
    assert_eq!(
        c["actions"],
        serde_json::json!(["open", "Open", "accept", "Accept"])
    );
    assert_eq!(c["urgency"], 2, "score 80 is critical");
    assert_eq!(c["category"], "im.received");
    assert_eq!(c["expire_timeout"], -1, "critical: the server's default");

    // The rep clicks Accept on the notification for n-6.
    let n6 = calls
        .iter()
        .find(|c| c["summary"] == "Lead n-6 — Acme GmbH")
        .unwrap()["id"]
        .as_u64()
        .unwrap();
    bus.invoke(n6, "accept");
    let lead = eventually(
        Duration::from_secs(10),
        "accept from the notification",
        || {
            let m = manager.clone();
            async move {
                let l: baton_protocol::Lead = m.lead(l6.id).await.json();
                (l.status == LeadStatus::Accepted).then_some(l)
            }
        },
    )
    .await;
    assert_eq!(lead.status, LeadStatus::Accepted);
    assert_eq!(
        manager.history(l6.id).await.decisions[0].decision,
        DecisionKind::Accept
    );
    let still: baton_protocol::Lead = manager.lead(l5.id).await.json();
    assert_eq!(still.status, LeadStatus::Assigned, "only the clicked lead");

    // A restarted client raises nothing already raised.
    stop(watch);
    let again = bus.watch(&baton);
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(bus.calls().len(), 3, "never twice for one assignment");
    stop(again);
}

#[tokio::test]
async fn a_reminder_comes_shortly_before_the_sla_runs_out() {
    let bus = SessionBus::start();
    let server = Server::start(
        "qualification_threshold = 60\n[[teams]]\nname = \"sales\"\nsla_seconds = 6\n",
    );
    let ava = server.add_rep("Ava", "sales", 1, 100);
    let baton = Baton::new();
    baton.login(&server, &ava);
    let watch = bus.watch(&baton);
    tokio::time::sleep(Duration::from_millis(500)).await;
    server.intake().push(&lead("sla-r")).await;
    let calls = bus.wait_for_calls(2, Duration::from_secs(10)).await;
    assert_eq!(calls[0]["summary"], "Lead sla-r — Acme GmbH");
    let reminder = calls[1]["summary"].as_str().unwrap();
    assert!(
        reminder.starts_with("SLA: less than a minute left for Lead sla-r"),
        "{reminder}"
    );
    assert_eq!(calls[1]["urgency"], 2);
    stop(watch);
}

#[tokio::test]
async fn quiet_hours_hold_notifications_back() {
    let bus = SessionBus::start();
    let server = Server::start(ONE_TEAM);
    let ava = server.add_rep("Ava", "sales", 1, 100);
    let baton = Baton::new();
    baton.login(&server, &ava);
    // A window from an hour ago to an hour from now, local time.
    let now = Command::new("date").arg("+%H %M").output().unwrap();
    let now = String::from_utf8(now.stdout).unwrap();
    let mut hm = now.split_whitespace().map(|x| x.parse::<i32>().unwrap());
    let minute = hm.next().unwrap() * 60 + hm.next().unwrap();
    let fmt = |m: i32| {
        let m = m.rem_euclid(1440);
        format!("{:02}:{:02}", m / 60, m % 60)
    };
    let window = format!("{}-{}", fmt(minute - 60), fmt(minute + 60));
    baton.ok(&["quiet-hours", &window]);
    let watch = bus.watch(&baton);
    tokio::time::sleep(Duration::from_millis(500)).await;
    let l = server.intake().push(&lead("quiet-1")).await.lead;
    // The lead reaches the cache; no notification is raised.
    eventually(Duration::from_secs(10), "lead synced", || {
        let ids = baton.inbox_ids("new");
        async move { ids.contains(&l.id).then_some(()) }
    })
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(bus.calls().is_empty(), "{:?}", bus.calls());
    // Outside quiet hours the same running client notifies again: the
    // silence above was the setting, not a broken notifier.
    baton.ok(&["quiet-hours", "off"]);
    server.intake().push(&lead("quiet-2")).await;
    let calls = bus.wait_for_calls(1, Duration::from_secs(10)).await;
    assert_eq!(calls[0]["summary"], "Lead quiet-2 — Acme GmbH");
    stop(watch);
}

/// The threads of process `pid`, and how many of them are named
/// `baton-notifications` (a thread's name is cut to 15 bytes in /proc).
fn threads(pid: u32) -> (usize, usize) {
    let mut all = 0;
    let mut notifying = 0;
    for task in std::fs::read_dir(format!("/proc/{pid}/task")).unwrap() {
        let comm = std::fs::read_to_string(task.unwrap().path().join("comm")).unwrap_or_default();
        all += 1;
        if comm.trim_end() == "baton-notificat" {
            notifying += 1;
        }
    }
    (all, notifying)
}

/// The ids the recorder was asked to close, in order.
fn closed(bus: &SessionBus) -> Vec<u64> {
    bus.dbus_send(&[
        "--dest=org.freedesktop.Notifications",
        "--print-reply",
        "/org/freedesktop/Notifications",
        "org.baton.Test.Closed",
    ])
    .split("uint32")
    .skip(1)
    .map(|x| x.split_whitespace().next().unwrap().parse().unwrap())
    .collect()
}

/// A busy rep: critical notifications never expire, and each one used to
/// keep a thread (and a D-Bus connection) of its own until it was closed.
/// One thread now serves them all, and beyond `MAX_LIVE` the oldest is closed.
#[tokio::test]
async fn notifications_use_one_thread_and_close_the_oldest_beyond_the_bound() {
    use baton_core::notify::MAX_LIVE;
    let over = 12;
    let leads = MAX_LIVE + over;
    let bus = SessionBus::start();
    let server = Server::start(ONE_TEAM);
    let ava = server.add_rep("Ava", "sales", 1, 100);
    let intake = server.intake();
    let manager = server.manager();
    let baton = Baton::new();
    baton.login(&server, &ava);
    let watch = bus.watch(&baton);
    let pid = watch.id();
    tokio::time::sleep(Duration::from_millis(500)).await;

    // One lead at a time, each raised on its own (not as a summary).
    let mut pushed = Vec::new();
    let mut counts = Vec::new();
    for i in 0..leads {
        pushed.push(intake.push(&lead(&format!("busy-{i}"))).await.lead);
        bus.wait_for_calls(i + 1, Duration::from_secs(10)).await;
        counts.push(threads(pid));
    }
    // Whatever is queued behind the last Notify (the closes) has been served.
    tokio::time::sleep(Duration::from_millis(300)).await;
    counts.push(threads(pid));
    let calls = bus.calls();
    assert_eq!(calls.len(), leads, "one notification per lead");
    for (c, l) in calls.iter().zip(&pushed) {
        assert_eq!(
            c["summary"],
            format!("Lead {} — Acme GmbH", l.external_id),
            "in order"
        );
        assert_eq!(c["urgency"], 2, "all critical: none expires on its own");
    }

    // One notification thread all along; the process does not grow a thread
    // per notification (it used to: a thread waiting on each one).
    assert!(
        counts.iter().all(|&(_, n)| n == 1),
        "one notification thread: {counts:?}"
    );
    // Some slack for the runtime's pool of blocking threads (it was one
    // more thread per notification: 40 more here).
    let warm = counts[3].0;
    let most = counts.iter().map(|&(all, _)| all).max().unwrap();
    assert!(
        most <= warm + 6,
        "threads after 4 notifications: {warm}; at most after {leads}: {most} ({counts:?})"
    );

    // The oldest were closed, in order, and only those.
    let ids: Vec<u64> = calls.iter().map(|c| c["id"].as_u64().unwrap()).collect();
    assert_eq!(closed(&bus), ids[..over], "the oldest {over} closed");

    // A closed one is forgotten; the oldest still open still works.
    bus.invoke(ids[0], "accept");
    bus.invoke(ids[over], "accept");
    let oldest_open = pushed[over].id;
    eventually(
        Duration::from_secs(10),
        "accept from the oldest open notification",
        || {
            let m = manager.clone();
            async move {
                let l: baton_protocol::Lead = m.lead(oldest_open).await.json();
                (l.status == LeadStatus::Accepted).then_some(())
            }
        },
    )
    .await;
    let forgotten: baton_protocol::Lead = manager.lead(pushed[0].id).await.json();
    assert_eq!(
        forgotten.status,
        LeadStatus::Assigned,
        "a click on a closed notification does nothing"
    );
    assert_eq!(threads(pid).1, 1);
    stop(watch);
}

/// No session bus: notifying fails with a clear error, which the client logs,
/// and the client keeps syncing.
#[tokio::test]
async fn without_a_session_bus_notifying_fails_clearly_and_the_client_keeps_working() {
    let server = Server::start(ONE_TEAM);
    let ava = server.add_rep("Ava", "sales", 1, 100);
    let baton = Baton::new();
    baton.login(&server, &ava);
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("watch.log");
    let watch = baton
        .command(&["watch"])
        .env(
            "DBUS_SESSION_BUS_ADDRESS",
            format!("unix:path={}", dir.path().join("no-bus").display()),
        )
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let l = server.intake().push(&lead("no-bus")).await.lead;
    eventually(Duration::from_secs(10), "lead synced", || {
        let ids = baton.inbox_ids("new");
        async move { ids.contains(&l.id).then_some(()) }
    })
    .await;
    eventually(Duration::from_secs(10), "the error logged", || {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        async move {
            text.contains("no desktop notifications: cannot use the D-Bus session bus")
                .then_some(())
        }
    })
    .await;
    stop(watch);
}
