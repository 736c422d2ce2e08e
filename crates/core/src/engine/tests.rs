//! The engine against a stand-in server: the feed's reminders, new
//! definitions, changes to the rep and take-aways; a lead's context; the
//! rep's own hours.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use baton_protocol::{
    Change, Cursor, FeedEntry, Lead, Qualification, Rep, SyncPage, TakeAwayReason, Timestamp,
    Weekday, WorkSchedule, WorkingHours,
};

use super::*;
use crate::notify::{Notification, NotificationKind};
use crate::stand_in::StandIn;

#[derive(Default)]
struct Recorder(Mutex<Vec<Notification>>);

impl Notifier for Recorder {
    fn notify(&self, n: &Notification) -> Result<()> {
        self.0.lock().unwrap().push(n.clone());
        Ok(())
    }
}

impl Recorder {
    /// What was shown once the notifications on their way have arrived.
    async fn shown(&self, at_least: usize) -> Vec<Notification> {
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while self.0.lock().unwrap().len() < at_least && std::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        // Anything more that was on its way.
        tokio::time::sleep(Duration::from_millis(50)).await;
        self.0.lock().unwrap().clone()
    }
}

struct Rig {
    engine: Arc<Engine>,
    store: Arc<Store>,
    recorder: Arc<Recorder>,
    _dir: tempfile::TempDir,
}

fn rig(base: &str) -> Rig {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(Store::open(&dir.path().join("cache.db")).unwrap());
    let recorder = Arc::new(Recorder::default());
    let engine = Engine::with_parts(
        store.clone(),
        ApiClient::new(base, "btn_rep_test").unwrap(),
        Some(recorder.clone()),
    );
    Rig {
        engine,
        store,
        recorder,
        _dir: dir,
    }
}

/// Lead 7, offered to Ava (assignment 70) a minute ago, qualified under v4.
fn lead() -> Lead {
    let mut lead = crate::explain::tests::lead_with(None);
    let now = Timestamp::now();
    let a = lead.assignment.as_mut().unwrap();
    a.assigned_at = now.plus_millis(-60_000);
    a.sla_due_at = now.plus_millis(3_600_000);
    lead.contact.name = "Ada Lovelace".into();
    lead
}

fn page(changes: Vec<Change>, from: usize) -> String {
    let at = Timestamp::now();
    let changes: Vec<FeedEntry> = changes
        .into_iter()
        .enumerate()
        .map(|(i, change)| FeedEntry {
            cursor: Cursor((from + i).to_string()),
            at,
            change,
        })
        .collect();
    let next = (from + changes.len()).to_string();
    serde_json::to_string(&SyncPage {
        changes,
        next_cursor: Cursor(next),
        has_more: false,
    })
    .unwrap()
}

fn assigned(lead: Lead) -> Change {
    Change::LeadAssigned {
        lead: Box::new(lead),
    }
}

fn reminder(lead: &Lead, due: Timestamp) -> Change {
    Change::LeadReminder {
        lead_id: lead.id,
        assignment_id: lead.assignment.as_ref().unwrap().id,
        sla_due_at: due,
    }
}

fn rep(schedule: Option<WorkSchedule>, on_shift: bool) -> Rep {
    serde_json::from_value(serde_json::json!({
        "id": 1, "name": "Ava", "email": "ava@example.com", "team": "sales", "weight": 1,
        "max_open": 20, "availability": "available", "open_leads": 1,
        "schedule": schedule, "active": true, "on_shift": on_shift,
    }))
    .unwrap()
}

fn berlin_week() -> WorkSchedule {
    WorkSchedule {
        time_zone: "Europe/Berlin".into(),
        hours: vec![WorkingHours {
            day: Weekday::Mon,
            start: "09:00".into(),
            end: "17:00".into(),
        }],
        absences: vec![],
    }
}

fn definition_json(version: u32) -> String {
    serde_json::to_string(&crate::explain::tests::definition(version)).unwrap()
}

#[tokio::test]
async fn a_server_reminder_notifies_again_with_the_sla_time_and_quiet_hours_hold_it() {
    let lead = lead();
    let due = Timestamp::now().plus_millis(20 * 60_000);
    let server = StandIn::serve(vec![
        ("200 OK", page(vec![assigned(lead.clone())], 0)),
        ("200 OK", page(vec![reminder(&lead, due)], 1)),
        ("200 OK", page(vec![reminder(&lead, due)], 2)),
    ])
    .await;
    let r = rig(&server.base);
    r.engine.pull().await.unwrap();
    r.engine.pull().await.unwrap();
    let shown = r.recorder.shown(2).await;
    assert_eq!(shown.len(), 2, "{shown:?}");
    assert_eq!(shown[0].kind, NotificationKind::NewLead);
    assert_eq!(shown[1].kind, NotificationKind::StillWaiting);
    assert_eq!(
        shown[1].title,
        format!(
            "Still waiting: Ada Lovelace — SLA due {}",
            crate::explain::local_time(due)
        )
    );
    assert_eq!(shown[1].lead_id, Some(7));
    let detail = r.engine.lead(7).await.unwrap();
    assert_eq!(
        detail.summary.sla_due_at,
        Some(due),
        "the server's deadline counts"
    );
    assert!(
        detail.history.iter().any(|h| h.kind == "reminded"),
        "{:?}",
        detail.history
    );

    // Within the rep's quiet hours, the reminder is kept quiet like a new lead.
    use chrono::Timelike;
    let now = chrono::Local::now();
    let minute = now.hour() * 60 + now.minute();
    let at = |m: u32| format!("{:02}:{:02}", (m % 1440) / 60, m % 60);
    let window = format!("{}-{}", at(minute + 1440 - 60), at(minute + 60));
    r.engine.set_quiet_hours(Some(&window)).unwrap();
    r.engine.pull().await.unwrap();
    assert_eq!(r.recorder.shown(3).await.len(), 2, "quiet hours");
}

#[tokio::test]
async fn a_reminder_of_an_offer_decided_or_gone_or_past_its_sla_says_nothing() {
    let decided = lead();
    let mut gone = lead();
    gone.id = 8;
    gone.assignment.as_mut().unwrap().id = 80;
    gone.assignment.as_mut().unwrap().lead_id = 8;
    let mut late = lead();
    late.id = 9;
    late.assignment.as_mut().unwrap().id = 90;
    late.assignment.as_mut().unwrap().lead_id = 9;
    let soon = Timestamp::now().plus_millis(600_000);
    let server = StandIn::serve(vec![
        (
            "200 OK",
            page(
                vec![
                    assigned(decided.clone()),
                    assigned(gone.clone()),
                    assigned(late.clone()),
                ],
                0,
            ),
        ),
        (
            "200 OK",
            page(
                vec![
                    Change::LeadTakenAway {
                        lead_id: 8,
                        external_id: gone.external_id.clone(),
                        assignment_id: 80,
                        reason: TakeAwayReason::SlaExpired,
                    },
                    reminder(&decided, soon),
                    reminder(&gone, soon),
                    reminder(&late, Timestamp::now().plus_millis(-1_000)),
                    // An offer of the lead from before.
                    Change::LeadReminder {
                        lead_id: 9,
                        assignment_id: 12,
                        sla_due_at: soon,
                    },
                ],
                3,
            ),
        ),
    ])
    .await;
    let r = rig(&server.base);
    r.engine.pull().await.unwrap();
    r.engine.accept(7, None).await.unwrap();
    r.engine.pull().await.unwrap();
    let shown = r.recorder.shown(3).await;
    assert!(
        shown.iter().all(|n| n.kind == NotificationKind::NewLead),
        "{shown:?}"
    );
}

#[tokio::test]
async fn a_published_definition_is_fetched_once_and_read_from_the_cache_after() {
    let mut lead = lead();
    lead.qualification = Some(Qualification {
        version: 5,
        threshold: 72,
        score: 78,
    });
    let server = StandIn::serve(vec![
        (
            "200 OK",
            page(
                vec![Change::DefinitionPublished { version: 5 }, assigned(lead)],
                0,
            ),
        ),
        ("200 OK", definition_json(5)),
    ])
    .await;
    let r = rig(&server.base);
    let version = r.engine.status().cache_version;
    r.engine.pull().await.unwrap();
    assert!(r.engine.status().cache_version > version);
    assert_eq!(
        server.lines()[1],
        "GET /v1/definitions/5 HTTP/1.1",
        "fetched as it was announced"
    );
    assert_eq!(r.store.definition(5).unwrap().unwrap().version, 5);
    drop(server);
    // The server is gone: the lead view reads the definition from the cache.
    let c = r.engine.lead(7).await.unwrap().context;
    assert_eq!(
        c.qualified_line.as_deref(),
        Some("Qualified under definition v5 — score 78 ≥ 72")
    );
    assert_eq!(c.definition.as_ref().map(|d| d.version), Some(5));
    assert_eq!(
        c.openers
            .iter()
            .map(|o| o.line.as_str())
            .collect::<Vec<_>>(),
        ["Open with the routing audit for large floors"]
    );
}

#[tokio::test]
async fn a_leads_definition_missing_from_the_cache_is_fetched_when_asked_for() {
    let server = StandIn::serve(vec![
        ("200 OK", page(vec![assigned(lead())], 0)),
        ("200 OK", definition_json(4)),
    ])
    .await;
    let r = rig(&server.base);
    r.engine.pull().await.unwrap();
    // From the cache only: the line is there, the openers wait for the definition.
    let cached = r.engine.lead(7).await.unwrap().context;
    assert!(cached.qualified_line.is_some() && cached.definition.is_none());
    let fetched = r.engine.lead_context(7).await.unwrap();
    assert_eq!(fetched.openers.len(), 1, "{fetched:?}");
    assert_eq!(
        fetched.why.as_ref().map(|w| w.line.as_str()),
        Some("Ava was next in the team's rotation")
    );
    // Kept: asked again, nothing more is fetched.
    r.engine.lead_with_definition(7).await.unwrap();
    assert_eq!(server.lines().len(), 2, "{:?}", server.lines());
}

#[tokio::test]
async fn the_definition_loop_fetches_what_a_lead_view_lacked_and_moves_the_cache_version() {
    let server = StandIn::serve(vec![
        ("200 OK", page(vec![assigned(lead())], 0)),
        ("200 OK", definition_json(4)),
    ])
    .await;
    let r = rig(&server.base);
    r.engine.pull().await.unwrap();
    let (stop, stopped) = watch::channel(false);
    let looping = tokio::spawn(r.engine.clone().definition_loop(stopped));
    let version = r.engine.status().cache_version;
    assert!(r.engine.lead(7).await.unwrap().context.definition.is_none());
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while r.engine.status().cache_version == version {
        assert!(std::time::Instant::now() < deadline, "never fetched");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(r.engine.lead(7).await.unwrap().context.definition.is_some());
    stop.send(true).unwrap();
    looping.await.unwrap();
}

#[tokio::test]
async fn a_rep_change_in_the_feed_updates_the_cached_rep_and_its_take_aways_leave_the_inbox() {
    let lead = lead();
    let server = StandIn::serve(vec![
        ("200 OK", page(vec![assigned(lead.clone())], 0)),
        (
            "200 OK",
            page(
                vec![
                    Change::RepChanged {
                        rep: Box::new(rep(Some(berlin_week()), false)),
                    },
                    Change::LeadTakenAway {
                        lead_id: 7,
                        external_id: lead.external_id.clone(),
                        assignment_id: 70,
                        reason: TakeAwayReason::RepChanged,
                    },
                ],
                1,
            ),
        ),
    ])
    .await;
    let r = rig(&server.base);
    r.engine.pull().await.unwrap();
    let report = r.engine.pull().await.unwrap();
    assert_eq!(report.taken_away, 1);
    let s = r.engine.summary(7).await.unwrap();
    assert_eq!(s.status, LocalStatus::TakenAway);
    assert_eq!(s.taken_away_reason, Some(TakeAwayReason::RepChanged));
    assert!(r.engine.counts().unwrap().new == 0);
    let history = r.engine.lead(7).await.unwrap().history;
    assert!(
        history
            .iter()
            .any(|h| h.detail.contains("moved to another team or deactivated")),
        "{history:?}"
    );
    let cached = r.engine.cached_rep().await.unwrap().unwrap();
    assert_eq!(cached.schedule, Some(berlin_week()));
    // The server is gone: the hours shown are the ones last seen.
    drop(server);
    let view = r.engine.my_schedule().await.unwrap();
    assert!(view.offline && !view.on_shift);
    assert_eq!(view.schedule, Some(berlin_week()));
}

#[tokio::test]
async fn the_reps_own_hours_are_read_and_saved_and_a_bad_one_is_named() {
    let me = serde_json::json!({"role": "rep", "name": "Ava", "rep": rep(None, true)});
    let saved = serde_json::to_string(&rep(Some(berlin_week()), true)).unwrap();
    let server = StandIn::serve(vec![
        ("200 OK", me.to_string()),
        (
            "422 Unprocessable Entity",
            r#"{"error":{"code":"invalid_field","message":"\"Mars/Olympus\" is not a known IANA time zone name","field":"schedule.time_zone"}}"#.into(),
        ),
        ("200 OK", saved),
    ])
    .await;
    let r = rig(&server.base);
    let view = r.engine.my_schedule().await.unwrap();
    assert_eq!(
        (view.schedule, view.on_shift, view.offline),
        (None, true, false)
    );

    let mut mars = berlin_week();
    mars.time_zone = " Mars/Olympus ".into();
    let answer = r.engine.set_my_schedule(Some(mars)).await.unwrap();
    assert_eq!(
        answer,
        FormAnswer::Invalid {
            field: "time_zone".into(),
            message: "\"Mars/Olympus\" is not a known IANA time zone name".into(),
        }
    );
    let answer = r
        .engine
        .set_my_schedule(Some(berlin_week()))
        .await
        .unwrap()
        .saved()
        .unwrap();
    assert_eq!(answer.schedule, Some(berlin_week()));
    assert_eq!(
        r.engine.cached_rep().await.unwrap().unwrap().schedule,
        Some(berlin_week())
    );
    let asked = server.asked();
    assert_eq!(asked[1].line, "PUT /v1/me/schedule HTTP/1.1");
    let sent: serde_json::Value = serde_json::from_str(&asked[1].body).unwrap();
    assert_eq!(sent["time_zone"], "Mars/Olympus", "sent trimmed");
}
