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
