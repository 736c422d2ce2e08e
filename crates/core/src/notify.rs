//! Desktop notifications: what to say about a lead, when to stay quiet, and
//! the [`Notifier`] the shells plug in (notify-rust on the desktop).

use std::sync::Arc;

use baton_protocol::{Lead, LeadId};
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

/// Desktop notifications through notify-rust (D-Bus on Linux). Clicks and
/// action buttons are reported to `on_action`.
pub struct DesktopNotifier {
    on_action: Arc<dyn Fn(NotificationAction) + Send + Sync>,
}

impl DesktopNotifier {
    pub fn new(on_action: Arc<dyn Fn(NotificationAction) + Send + Sync>) -> Self {
        DesktopNotifier { on_action }
    }
}

impl Notifier for DesktopNotifier {
    fn notify(&self, n: &Notification) -> Result<()> {
        let mut note = notify_rust::Notification::new();
        note.appname("Baton")
            .summary(&n.title)
            .body(&n.body)
            .hint(notify_rust::Hint::Category("im.received".into()));
        #[cfg(all(unix, not(target_os = "macos")))]
        note.urgency(match n.urgency {
            Urgency::Low => notify_rust::Urgency::Low,
            Urgency::Normal => notify_rust::Urgency::Normal,
            Urgency::Critical => notify_rust::Urgency::Critical,
        });
        for (id, label) in &n.actions {
            note.action(id, label);
        }
        let handle = note
            .show()
            .map_err(|e| CoreError::Notification(e.to_string()))?;
        #[cfg(all(unix, not(target_os = "macos")))]
        if let Some(lead) = n.lead_id {
            let on_action = self.on_action.clone();
            // Waiting for a click blocks; each notification gets a small thread
            // that ends when the notification is acted on or closed.
            std::thread::Builder::new()
                .name("baton-notification".into())
                .spawn(move || {
                    handle.wait_for_action(|action| match action {
                        "open" | "default" => on_action(NotificationAction::Open(lead)),
                        "accept" => on_action(NotificationAction::Accept(lead)),
                        _ => {}
                    })
                })
                .map_err(|e| CoreError::Notification(e.to_string()))?;
        }
        #[cfg(not(all(unix, not(target_os = "macos"))))]
        let _ = handle;
        Ok(())
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
    }
}
