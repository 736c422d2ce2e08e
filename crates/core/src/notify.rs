//! Desktop notifications: what to say about a lead, when to stay quiet, and
//! the [`Notifier`] the shells plug in ([`DesktopNotifier`]: D-Bus on Linux).

use std::sync::Arc;

use baton_protocol::{Escalation, Lead, LeadId, Timestamp};
use serde::{Deserialize, Serialize};

use crate::error::{CoreError, Result};
use crate::store::LeadSummary;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Urgency {
    Low,
    Normal,
    Critical,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NotificationKind {
    NewLead,
    Summary,
    SlaReminder,
    /// The server reminded the rep of an offer still undecided.
    StillWaiting,
    /// A lead in a manager's teams missed its SLA.
    Escalation,
}

/// One notification, platform-neutral.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Notification {
    pub kind: NotificationKind,
    pub lead_id: Option<LeadId>,
    pub title: String,
    pub body: String,
    pub urgency: Urgency,
    /// Action buttons as (id, label): `open`, `accept`.
    pub actions: Vec<(String, String)>,
}

/// What the rep did with a notification.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NotificationAction {
    Open(LeadId),
    Accept(LeadId),
}

/// Shows notifications. The desktop shell and the CLI pass one to the engine.
pub trait Notifier: Send + Sync {
    fn notify(&self, n: &Notification) -> Result<()>;
}

/// Lead content is untrusted: notification servers may render a subset of
/// HTML markup in the body, so it is escaped.
fn escape_markup(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn urgency_for(score: u32) -> Urgency {
    match score {
        s if s >= 80 => Urgency::Critical,
        s if s >= 50 => Urgency::Normal,
        _ => Urgency::Low,
    }
}

/// "Ada Lovelace — Acme", "Score 82 · webinar · Quiz +50, Pricing page +30".
pub fn new_lead(summary: &LeadSummary, lead: Option<&Lead>) -> Notification {
    let title = match &summary.company {
        Some(c) => format!("{} — {c}", summary.name),
        None => summary.name.clone(),
    };
    let mut body = format!("Score {} · {}", summary.score, summary.channel);
    if let Some(lead) = lead {
        let mut reasons: Vec<_> = lead
            .score
            .breakdown
            .iter()
            .filter(|b| b.points > 0)
            .collect();
        reasons.sort_by_key(|b| std::cmp::Reverse(b.points));
        let top: Vec<String> = reasons
            .iter()
            .take(3)
            .map(|b| format!("{} +{}", b.criterion, b.points))
            .collect();
        if !top.is_empty() {
            body.push_str(" · ");
            body.push_str(&top.join(", "));
        }
        if let Some(t) = &lead.intent.timeline {
            body.push_str(&format!("\nTimeline: {t}"));
        }
    }
    Notification {
        kind: NotificationKind::NewLead,
        lead_id: Some(summary.id),
        title: title.chars().take(120).collect(),
        body: escape_markup(&body),
        urgency: urgency_for(summary.score),
        actions: vec![
            ("open".into(), "Open".into()),
            ("accept".into(), "Accept".into()),
        ],
    }
}

pub fn summary(count: usize) -> Notification {
    Notification {
        kind: NotificationKind::Summary,
        lead_id: None,
        title: format!("{count} new leads"),
        body: "Open Baton to see who they are and why they were handed to you.".into(),
        urgency: Urgency::Normal,
        actions: vec![("open".into(), "Open".into())],
    }
}

pub fn sla_reminder(summary: &LeadSummary, minutes_left: i64) -> Notification {
    let left = if minutes_left <= 1 {
        "less than a minute".to_string()
    } else {
        format!("{minutes_left} minutes")
    };
    Notification {
        kind: NotificationKind::SlaReminder,
        lead_id: Some(summary.id),
        title: format!("SLA: {left} left for {}", summary.name),
        body: escape_markup(&format!(
            "Accept it or it goes to the next rep. Score {} · {}",
            summary.score, summary.channel
        )),
        urgency: Urgency::Critical,
        actions: vec![
            ("open".into(), "Open".into()),
            ("accept".into(), "Accept".into()),
        ],
    }
}

/// A title is plain text to the notification server, but it is still shown
/// on one line: lead content cannot break or reorder it.
fn one_line(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(120)
        .collect()
}

/// The server reminded the rep of an offer still waiting for them:
/// "Still waiting: Ada Lovelace — SLA due 14:30".
pub fn still_waiting(summary: &LeadSummary, sla_due_at: Timestamp) -> Notification {
    Notification {
        kind: NotificationKind::StillWaiting,
        lead_id: Some(summary.id),
        title: one_line(&format!(
            "Still waiting: {} — SLA due {}",
            summary.name,
            crate::explain::local_time(sla_due_at)
        )),
        body: escape_markup(&format!(
            "Accept it or it goes to the next rep. Score {} · {}",
            summary.score, summary.channel
        )),
        urgency: Urgency::Critical,
        actions: vec![
            ("open".into(), "Open".into()),
            ("accept".into(), "Accept".into()),
        ],
    }
}

/// Many reminders at once (a reconnect): one notification.
pub fn still_waiting_summary(count: usize) -> Notification {
    Notification {
        kind: NotificationKind::StillWaiting,
        lead_id: None,
        title: format!("{count} leads still waiting for you"),
        body: "Open Baton to accept or reject them before their SLA runs out.".into(),
        urgency: Urgency::Critical,
        actions: vec![("open".into(), "Open".into())],
    }
}

/// A lead in a manager's teams missed its SLA:
/// "SLA missed: Ada Lovelace — Ben Ortiz (sales)".
pub fn escalation(e: &Escalation) -> Notification {
    Notification {
        kind: NotificationKind::Escalation,
        lead_id: Some(e.lead_id),
        title: one_line(&format!(
            "SLA missed: {} — {} ({})",
            e.lead_name, e.rep_name, e.team
        )),
        body: escape_markup(&format!(
            "Not accepted by {} (due {}); Baton routed it on.",
            e.rep_name,
            crate::explain::local_time(e.sla_due_at)
        )),
        urgency: Urgency::Normal,
        actions: vec![("open".into(), "Open".into())],
    }
}

/// Many missed SLAs at once: one notification.
pub fn escalation_summary(count: usize) -> Notification {
    Notification {
        kind: NotificationKind::Escalation,
        lead_id: None,
        title: format!("{count} leads missed their SLA"),
        body: "Baton routed each on to the next rep. The review's feedback log has their history."
            .into(),
        urgency: Urgency::Normal,
        actions: vec![],
    }
}

/// A daily window (local time) with no notifications, e.g. `22:00-07:00`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct QuietHours {
    start_min: u32,
    end_min: u32,
}

impl QuietHours {
    pub fn parse(s: &str) -> Result<QuietHours> {
        let bad = || {
            CoreError::InvalidInput(format!(
                "quiet hours {s:?} must look like 22:00-07:00 (24-hour clock)"
            ))
        };
        let (a, b) = s.trim().split_once('-').ok_or_else(bad)?;
        let minutes = |t: &str| -> Result<u32> {
            let (h, m) = t.trim().split_once(':').ok_or_else(bad)?;
            let (h, m): (u32, u32) = (h.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
            if h > 23 || m > 59 {
                return Err(bad());
            }
            Ok(h * 60 + m)
        };
        Ok(QuietHours {
            start_min: minutes(a)?,
            end_min: minutes(b)?,
        })
    }

    /// Whether `minute_of_day` (0..1440) falls inside the window.
    pub fn contains(&self, minute_of_day: u32) -> bool {
        if self.start_min <= self.end_min {
            (self.start_min..self.end_min).contains(&minute_of_day)
        } else {
            minute_of_day >= self.start_min || minute_of_day < self.end_min
        }
    }

    pub fn is_quiet_now(&self) -> bool {
        use chrono::Timelike;
        let now = chrono::Local::now();
        self.contains(now.hour() * 60 + now.minute())
    }
}

impl std::fmt::Display for QuietHours {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{:02}:{:02}-{:02}:{:02}",
            self.start_min / 60,
            self.start_min % 60,
            self.end_min / 60,
            self.end_min % 60
        )
    }
}

/// At most this many notifications are kept track of (and so left on the
/// screen) at once: showing one more first closes the oldest, whose buttons
/// then do nothing. Critical ones never expire on their own; this bounds them.
pub const MAX_LIVE: usize = 32;

type OnAction = Arc<dyn Fn(NotificationAction) + Send + Sync>;

/// Desktop notifications. On Linux (and other D-Bus desktops) one thread
/// owns one session-bus connection for the notifier's life: it sends every
/// `Notify` call and hears every click (`ActionInvoked`) and close
/// (`NotificationClosed`), reporting Open and Accept clicks to `on_action`
/// from that thread. It keeps track of at most [`MAX_LIVE`] notifications
/// and ends once the notifier is dropped. Elsewhere notify-rust shows them,
/// without click reporting.
pub struct DesktopNotifier {
    #[cfg(all(unix, not(target_os = "macos")))]
    on_action: OnAction,
    #[cfg(all(unix, not(target_os = "macos")))]
    worker: std::sync::Mutex<xdg::Worker>,
}

impl DesktopNotifier {
    /// Cheap: the thread and its connection start with the first notification.
    pub fn new(on_action: OnAction) -> Self {
        #[cfg(all(unix, not(target_os = "macos")))]
        {
            DesktopNotifier {
                on_action,
                worker: Default::default(),
            }
        }
        #[cfg(not(all(unix, not(target_os = "macos"))))]
        {
            let _ = on_action;
            DesktopNotifier {}
        }
    }
}

#[cfg(all(unix, not(target_os = "macos")))]
impl Notifier for DesktopNotifier {
    /// Queues `n` for the notification thread and returns: it never waits
    /// for the notification server. Only the first call (or the first after
    /// the session bus went away) waits for the connection, a few seconds at
    /// most, and reports a missing session bus as an error.
    fn notify(&self, n: &Notification) -> Result<()> {
        // Held for a `try_send`, or while (re)connecting; never while
        // `on_action` runs, which happens on the notification thread only.
        let mut worker = self.worker.lock().unwrap_or_else(|e| e.into_inner());
        worker.send(xdg::Request::new(n), &self.on_action)
    }
}

#[cfg(not(all(unix, not(target_os = "macos"))))]
impl Notifier for DesktopNotifier {
    fn notify(&self, n: &Notification) -> Result<()> {
        notify_rust::Notification::new()
            .appname("Baton")
            .summary(&n.title)
            .body(&n.body)
            .show()
            .map(drop)
            .map_err(|e| CoreError::Notification(e.to_string()))
    }
}

/// The Desktop Notifications Specification over zbus: one thread, one
/// connection, a bounded queue in and a bounded set of live notifications.
#[cfg(all(unix, not(target_os = "macos")))]
mod xdg {
    use std::collections::HashMap;
    use std::num::NonZeroUsize;
    use std::pin::pin;
    use std::thread::JoinHandle;
    use std::time::Duration;

    use baton_protocol::LeadId;
    use futures_util::StreamExt;
    use tokio::sync::mpsc::{self, error::TrySendError};
    use zbus::message::Type;
    use zbus::{Connection, DynamicType, MatchRule, Message, MessageStream, Variant};

    use super::{MAX_LIVE, Notification, NotificationAction, OnAction, Urgency};
    use crate::error::{CoreError, Result};

    const NAME: &str = "org.freedesktop.Notifications";
    const PATH: &str = "/org/freedesktop/Notifications";
    /// How long the first `notify` waits for the session bus.
    const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
    /// A notification server that does not answer a call in this time is
    /// given up on for that call; signals keep being read meanwhile.
    const CALL_TIMEOUT: Duration = Duration::from_secs(10);
    /// Signals queued for the thread (the connection's own bound).
    const MAX_SIGNALS: NonZeroUsize = NonZeroUsize::new(64).unwrap();
    /// Notifications waiting for the notification thread. Beyond this `notify`
    /// refuses rather than wait.
    const MAX_WAITING: usize = 64;
    /// How long a low or normal notification stays up. Critical ones keep the
    /// server's default (usually: until dismissed).
    const EXPIRE_MS: i32 = 30_000;

    /// The notifications on screen that the notifier keeps track of, oldest
    /// first: at most [`MAX_LIVE`], each with the lead it is about.
    #[derive(Debug, Default)]
    struct Live {
        shown: std::collections::VecDeque<(u32, Option<LeadId>)>,
    }

    impl Live {
        /// Forgets the oldest until one more fits; returns their ids, to close.
        fn make_room(&mut self) -> Vec<u32> {
            let mut evicted = Vec::new();
            while self.shown.len() >= MAX_LIVE {
                if let Some((id, _)) = self.shown.pop_front() {
                    evicted.push(id);
                }
            }
            evicted
        }

        fn shown(&mut self, id: u32, lead: Option<LeadId>) {
            self.closed(id);
            self.shown.push_back((id, lead));
        }

        fn closed(&mut self, id: u32) {
            self.shown.retain(|(i, _)| *i != id);
        }

        /// What a click on `action` of notification `id` means, if it is ours.
        fn action(&self, id: u32, action: &str) -> Option<NotificationAction> {
            let lead = self.shown.iter().find(|(i, _)| *i == id)?.1?;
            match action {
                "open" | "default" => Some(NotificationAction::Open(lead)),
                "accept" => Some(NotificationAction::Accept(lead)),
                _ => None,
            }
        }
    }

    /// A notification as the `Notify` call carries it.
    #[derive(Debug, PartialEq)]
    pub(super) struct Request {
        pub(super) lead: Option<LeadId>,
        pub(super) summary: String,
        pub(super) body: String,
        /// `[id, label, id, label, …]`.
        pub(super) actions: Vec<String>,
        pub(super) urgency: u8,
        pub(super) expire_ms: i32,
    }

    impl Request {
        pub(super) fn new(n: &Notification) -> Request {
            Request {
                lead: n.lead_id,
                summary: n.title.clone(),
                // Already escaped where it is written (lead content is untrusted).
                body: n.body.clone(),
                actions: n
                    .actions
                    .iter()
                    .flat_map(|(id, label)| [id.clone(), label.clone()])
                    .collect(),
                urgency: match n.urgency {
                    Urgency::Low => 0,
                    Urgency::Normal => 1,
                    Urgency::Critical => 2,
                },
                expire_ms: match n.urgency {
                    Urgency::Low | Urgency::Normal => EXPIRE_MS,
                    Urgency::Critical => -1,
                },
            }
        }
    }

    /// The caller's side of the notification thread.
    #[derive(Default)]
    pub(super) struct Worker {
        tx: Option<mpsc::Sender<Request>>,
        thread: Option<JoinHandle<()>>,
    }

    impl Worker {
        pub(super) fn send(&mut self, mut req: Request, on_action: &OnAction) -> Result<()> {
            if let Some(tx) = &self.tx {
                match tx.try_send(req) {
                    Ok(()) => return Ok(()),
                    Err(TrySendError::Full(_)) => {
                        return Err(CoreError::Notification(
                            "too many notifications waiting to be shown".into(),
                        ));
                    }
                    // The thread ended: the session bus connection was lost.
                    Err(TrySendError::Closed(r)) => {
                        self.tx = None;
                        req = r;
                    }
                }
            }
            // Never a second thread while one is still connecting or ending.
            if self.thread.as_ref().is_some_and(|t| !t.is_finished()) {
                return Err(CoreError::Notification(
                    "the notification thread is still connecting to the D-Bus session bus".into(),
                ));
            }
            let (tx, rx) = mpsc::channel(MAX_WAITING);
            let (ready_tx, ready_rx) = std::sync::mpsc::sync_channel(1);
            let on_action = on_action.clone();
            self.thread = Some(
                std::thread::Builder::new()
                    .name("baton-notifications".into())
                    .spawn(move || zbus::block_on(run(rx, ready_tx, on_action)))
                    .map_err(|e| {
                        CoreError::Notification(format!(
                            "cannot start the notification thread: {e}"
                        ))
                    })?,
            );
            match ready_rx.recv_timeout(CONNECT_TIMEOUT) {
                Ok(Ok(())) => {}
                Ok(Err(e)) => {
                    return Err(CoreError::Notification(format!(
                        "no desktop notifications: cannot use the D-Bus session bus ({e})"
                    )));
                }
                Err(_) => {
                    // Dropping `tx` tells the thread to end once it is connected.
                    return Err(CoreError::Notification(
                        "no desktop notifications: the D-Bus session bus did not answer".into(),
                    ));
                }
            }
            let sent = tx.try_send(req).map_err(|_| {
                CoreError::Notification("the notification thread ended at once".into())
            });
            self.tx = Some(tx);
            sent
        }
    }

    /// The notification thread: connects, reports whether that worked, then
    /// serves `rx` and the server's signals until `rx` is closed (the
    /// notifier was dropped) or the connection is lost.
    async fn run(
        mut rx: mpsc::Receiver<Request>,
        ready: std::sync::mpsc::SyncSender<std::result::Result<(), String>>,
        on_action: OnAction,
    ) {
        let (conn, signals) = match connect().await {
            Ok(c) => c,
            Err(e) => {
                let _ = ready.send(Err(e.to_string()));
                return;
            }
        };
        let _ = ready.send(Ok(()));
        let mut t = Thread {
            conn,
            signals,
            live: Live::default(),
            on_action,
        };
        // Fair between the two: a flood of either never starves the other.
        loop {
            tokio::select! {
                msg = t.signals.next() => match msg {
                    Some(Ok(msg)) => on_signal(&mut t.live, &t.on_action, &msg),
                    Some(Err(e)) => tracing::warn!(error = %e, "notification signals"),
                    None => {
                        tracing::warn!("the D-Bus session bus connection was lost");
                        break;
                    }
                },
                req = rx.recv() => match req {
                    Some(req) => t.show(req).await,
                    None => break,
                },
            }
        }
        // Closed here, not dropped: a dropped connection would leave work
        // for a helper thread of zbus's runtime after this one returns.
        let Thread { conn, signals, .. } = t;
        drop(signals);
        let _ = conn.close().await;
    }

    async fn connect() -> zbus::Result<(Connection, MessageStream)> {
        let conn = zbus::connection::Builder::session()
            .method_timeout(CALL_TIMEOUT)
            .build()
            .await?;
        // Both signals, from whoever owns the server's name (the bus checks).
        let rule = MatchRule::builder()
            .msg_type(Type::Signal)
            .sender(NAME)
            .interface(NAME)
            .path(PATH)
            .build()?;
        let signals = MessageStream::for_match_rule(rule, &conn, Some(MAX_SIGNALS)).await?;
        Ok((conn, signals))
    }

    struct Thread {
        conn: Connection,
        signals: MessageStream,
        live: Live,
        on_action: OnAction,
    }

    impl Thread {
        async fn show(&mut self, req: Request) {
            for id in self.live.make_room() {
                if let Err(e) = self.call("CloseNotification", &(id,)).await {
                    tracing::debug!(error = %e, id, "cannot close an old notification");
                }
            }
            let actions: Vec<&str> = req.actions.iter().map(String::as_str).collect();
            let hints = HashMap::from([
                ("urgency", Variant::U8(req.urgency)),
                ("category", Variant::Str("im.received".into())),
            ]);
            let body = (
                "Baton",
                0u32,
                "",
                req.summary.as_str(),
                req.body.as_str(),
                actions,
                hints,
                req.expire_ms,
            );
            let shown = self
                .call("Notify", &body)
                .await
                .and_then(|reply| reply.body().deserialize::<u32>());
            match shown {
                Ok(id) => self.live.shown(id, req.lead),
                Err(e) => tracing::warn!(error = %e, "cannot show a notification"),
            }
        }

        /// Calls the server, reading its signals while the reply is on its
        /// way: left unread, they could fill the connection's queue and hold
        /// the reply up behind them.
        async fn call<B>(&mut self, method: &str, body: &B) -> zbus::Result<Message>
        where
            B: serde::Serialize + DynamicType,
        {
            let Thread {
                conn,
                signals,
                live,
                on_action,
            } = self;
            let mut reply = pin!(conn.call_method(Some(NAME), PATH, Some(NAME), method, body));
            let mut open = true;
            loop {
                tokio::select! {
                    biased;
                    reply = &mut reply => return reply,
                    msg = signals.next(), if open => match msg {
                        Some(Ok(msg)) => on_signal(live, on_action, &msg),
                        Some(Err(_)) => {}
                        None => open = false,
                    },
                }
            }
        }
    }

    /// A click reported to `on_action` (on this thread, with no lock held),
    /// or a close forgotten.
    fn on_signal(live: &mut Live, on_action: &OnAction, msg: &Message) {
        let header = msg.header();
        let Some(member) = header.member() else {
            return;
        };
        match member.as_str() {
            "ActionInvoked" => {
                if let Ok((id, action)) = msg.body().deserialize::<(u32, String)>()
                    && let Some(a) = live.action(id, &action)
                {
                    on_action(a);
                }
            }
            "NotificationClosed" => {
                if let Ok((id, _reason)) = msg.body().deserialize::<(u32, u32)>() {
                    live.closed(id);
                }
            }
            _ => {}
        }
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn requests_carry_urgency_expiry_and_flat_actions() {
            let mut n = crate::notify::summary(4);
            let r = Request::new(&n);
            assert_eq!((r.urgency, r.expire_ms, r.lead), (1, EXPIRE_MS, None));
            assert_eq!(r.actions, ["open", "Open"]);
            n.urgency = Urgency::Critical;
            n.lead_id = Some(7);
            n.actions.push(("accept".into(), "Accept".into()));
            let r = Request::new(&n);
            assert_eq!((r.urgency, r.expire_ms, r.lead), (2, -1, Some(7)));
            assert_eq!(r.actions, ["open", "Open", "accept", "Accept"]);
        }

        #[test]
        fn live_notifications_are_bounded_and_the_oldest_go_first() {
            let mut live = Live::default();
            for id in 1..=MAX_LIVE as u32 {
                assert!(live.make_room().is_empty());
                live.shown(id, Some(i64::from(id) * 10));
            }
            assert_eq!(live.make_room(), [1]);
            live.shown(100, None);
            assert_eq!(live.shown.len(), MAX_LIVE);
            assert_eq!(live.action(1, "accept"), None, "forgotten");
            assert_eq!(
                live.action(2, "accept"),
                Some(NotificationAction::Accept(20))
            );
            assert_eq!(
                live.action(2, "default"),
                Some(NotificationAction::Open(20))
            );
            assert_eq!(live.action(2, "snooze"), None);
            assert_eq!(live.action(100, "open"), None, "a summary has no lead");
            live.closed(2);
            assert_eq!(live.action(2, "accept"), None);
            assert!(live.make_room().is_empty(), "a closed one made room");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quiet_hours_wrap_midnight() {
        let q = QuietHours::parse("22:00-07:00").unwrap();
        assert!(q.contains(23 * 60));
        assert!(q.contains(6 * 60 + 59));
        assert!(!q.contains(7 * 60));
        assert!(!q.contains(12 * 60));
        let day = QuietHours::parse("12:00-13:30").unwrap();
        assert!(day.contains(12 * 60 + 15) && !day.contains(13 * 60 + 30));
        assert_eq!(day.to_string(), "12:00-13:30");
        assert!(QuietHours::parse("25:00-07:00").is_err());
        assert!(QuietHours::parse("night").is_err());
    }

    #[test]
    fn lead_markup_is_escaped_and_urgency_follows_score() {
        let s = LeadSummary {
            id: 1,
            external_id: "x".into(),
            status: crate::store::LocalStatus::New,
            name: "<b>Eve</b>".into(),
            company: Some("Acme".into()),
            email: None,
            title: None,
            channel: "<i>ads</i>".into(),
            score: 85,
            assignment_id: Some(1),
            assigned_at: None,
            sla_due_at: None,
            decision: None,
            decision_reason: None,
            decision_note: None,
            decision_state: None,
            refused_message: None,
            taken_away_reason: None,
        };
        let n = new_lead(&s, None);
        assert_eq!(
            n.title, "<b>Eve</b> — Acme",
            "the title is plain text for the server"
        );
        assert!(n.body.contains("&lt;i&gt;ads&lt;/i&gt;"), "{}", n.body);
        assert_eq!(n.urgency, Urgency::Critical);
        assert_eq!(n.actions[1].0, "accept");

        let due = Timestamp::now();
        let n = still_waiting(&s, due);
        assert_eq!(
            n.title,
            format!(
                "Still waiting: <b>Eve</b> — SLA due {}",
                crate::explain::local_time(due)
            )
        );
        assert!(n.body.contains("&lt;i&gt;ads&lt;/i&gt;"), "{}", n.body);
        assert_eq!(
            (n.kind, n.lead_id),
            (NotificationKind::StillWaiting, Some(1))
        );
    }

    #[test]
    fn an_escalation_names_lead_rep_and_team_on_one_line() {
        let e = Escalation {
            id: 4,
            lead_id: 12,
            assignment_id: 40,
            rep_id: 2,
            rep_name: "Ben <i>Ortiz</i>".into(),
            team: "sales".into(),
            lead_name: "Ada\nLovelace".into(),
            at: Timestamp::now(),
            sla_due_at: Timestamp::now(),
        };
        let n = escalation(&e);
        assert_eq!(
            n.title,
            "SLA missed: Ada Lovelace — Ben <i>Ortiz</i> (sales)"
        );
        assert!(
            n.body
                .starts_with("Not accepted by Ben &lt;i&gt;Ortiz&lt;/i&gt;"),
            "{}",
            n.body
        );
        assert_eq!(n.lead_id, Some(12));
        assert_eq!(n.actions, [("open".to_string(), "Open".to_string())]);
    }
}
