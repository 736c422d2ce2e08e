//! Escalations: while a manager's app runs it asks the server every 30 s
//! for leads in the manager's teams that missed their SLA since it last
//! asked, and raises a desktop notification for each ("SLA missed: Ada
//! Lovelace — Ben Ortiz (sales)"). It starts from the newest one the
//! server has, so the misses from before the app started are not raised.

use std::sync::Arc;
use std::time::Duration;

use baton_protocol::Escalation;
use tokio::sync::watch;

use super::Review;
use crate::api::ApiClient;
use crate::error::{CoreError, Result};
use crate::notify::{self, Notifier};

/// How often a manager's app asks for new escalations.
pub const ESCALATION_POLL: Duration = Duration::from_secs(30);
/// Escalations asked for at a time (the server's own cap).
const PAGE: u32 = 1000;
/// Pages read in one poll at most; the rest wait for the next poll.
const MAX_PAGES: usize = 20;
/// More new escalations than this at once become one notification.
const SUMMARY_OVER: usize = 3;

/// Where a manager's app is in the server's list of escalations.
pub struct EscalationWatch {
    api: ApiClient,
    /// The newest escalation seen; `None` until the first poll found the head.
    after: Option<i64>,
}

impl EscalationWatch {
    /// The escalations since the last poll, oldest first. The first poll
    /// only finds where the list ends and answers none.
    pub async fn poll(&mut self) -> Result<Vec<Escalation>> {
        let first = self.after.is_none();
        let mut after = self.after.unwrap_or(0);
        let mut fresh = Vec::new();
        for _ in 0..MAX_PAGES {
            let page = match self.api.escalations(after, PAGE).await {
                Ok(page) => page,
                // What was read before the failure stays read (and raised).
                Err(_) if !fresh.is_empty() => break,
                Err(e) => return Err(e),
            };
            let full = page.escalations.len() as u32 >= PAGE;
            after = after.max(page.next_after);
            if !first {
                fresh.extend(page.escalations);
            }
            self.after = Some(after);
            if !full {
                break;
            }
        }
        Ok(fresh)
    }
}

impl Review {
    /// A watch that starts at the newest escalation at its first poll.
    pub fn escalation_watch(&self) -> EscalationWatch {
        EscalationWatch {
            api: self.api.clone(),
            after: None,
        }
    }

    /// Polls for escalations every [`ESCALATION_POLL`] until `shutdown`
    /// turns true, notifying each new one. Stops for good if the server no
    /// longer takes the token, or it is not a manager's.
    pub async fn watch_escalations(
        self: Arc<Self>,
        notifier: Arc<dyn Notifier>,
        shutdown: watch::Receiver<bool>,
    ) {
        run(self.escalation_watch(), notifier, ESCALATION_POLL, shutdown).await
    }
}

async fn run(
    mut watch: EscalationWatch,
    notifier: Arc<dyn Notifier>,
    every: Duration,
    mut shutdown: watch::Receiver<bool>,
) {
    loop {
        if *shutdown.borrow() {
            return;
        }
        match watch.poll().await {
            Ok(fresh) => announce(&notifier, &fresh),
            Err(e @ CoreError::Unauthorized(_)) => {
                tracing::warn!(error = %e, "escalations: the server refused the token; no longer watching");
                return;
            }
            Err(e) if e.refusal() == Some(baton_protocol::ErrorCode::Forbidden) => {
                tracing::warn!(error = %e, "escalations are for managers; not watching");
                return;
            }
            Err(e) => tracing::debug!(error = %e, "cannot read escalations; trying again"),
        }
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = shutdown.changed() => return,
        }
    }
}

fn announce(notifier: &Arc<dyn Notifier>, fresh: &[Escalation]) {
    let notes: Vec<_> = if fresh.len() > SUMMARY_OVER {
        vec![notify::escalation_summary(fresh.len())]
    } else {
        fresh.iter().map(notify::escalation).collect()
    };
    for n in notes {
        let notifier = notifier.clone();
        // A notifier may block (the desktop one waits for its D-Bus
        // connection on first use): keep it off the runtime.
        tokio::task::spawn_blocking(move || {
            if let Err(e) = notifier.notify(&n) {
                tracing::warn!(error = %e, "cannot show a notification");
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::notify::Notification;
    use crate::stand_in::StandIn;
    use std::sync::Mutex;

    #[derive(Default)]
    pub(crate) struct Recorder(pub Mutex<Vec<Notification>>);

    impl Notifier for Recorder {
        fn notify(&self, n: &Notification) -> Result<()> {
            self.0.lock().unwrap().push(n.clone());
            Ok(())
        }
    }

    fn escalation(id: i64, lead: &str) -> String {
        format!(
            r#"{{"id":{id},"lead_id":{},"assignment_id":{},"rep_id":2,"rep_name":"Ben Ortiz","team":"sales","lead_name":"{lead}","at":"2026-12-01T09:00:00Z","sla_due_at":"2026-12-01T08:59:00Z"}}"#,
            id * 10,
            id * 100
        )
    }

    fn page(ids: &[(i64, &str)], next_after: i64) -> String {
        let list: Vec<String> = ids.iter().map(|(i, l)| escalation(*i, l)).collect();
        format!(
            r#"{{"escalations":[{}],"next_after":{next_after}}}"#,
            list.join(",")
        )
    }

    fn review(base: &str) -> Review {
        Review::against(base)
    }

    #[tokio::test]
    async fn the_first_poll_starts_at_the_head_and_later_ones_bring_only_new_misses() {
        let server = StandIn::serve(vec![
            ("200 OK", page(&[(6, "Old Lead"), (7, "Older Lead")], 7)),
            ("200 OK", page(&[], 7)),
            ("200 OK", page(&[(8, "Ada Lovelace")], 8)),
            ("200 OK", page(&[], 8)),
        ])
        .await;
        let mut watch = review(&server.base).escalation_watch();
        assert!(
            watch.poll().await.unwrap().is_empty(),
            "old misses are not news"
        );
        assert!(watch.poll().await.unwrap().is_empty());
        let fresh = watch.poll().await.unwrap();
        assert_eq!(fresh.iter().map(|e| e.id).collect::<Vec<_>>(), [8]);
        assert!(watch.poll().await.unwrap().is_empty());
        assert_eq!(
            server.lines(),
            [
                "GET /v1/escalations?after=0&limit=1000 HTTP/1.1",
                "GET /v1/escalations?after=7&limit=1000 HTTP/1.1",
                "GET /v1/escalations?after=7&limit=1000 HTTP/1.1",
                "GET /v1/escalations?after=8&limit=1000 HTTP/1.1",
            ]
        );
    }

    #[tokio::test]
    async fn a_first_poll_that_fails_finds_the_head_at_the_next() {
        let server = StandIn::serve(vec![
            ("503 Service Unavailable", String::new()),
            ("200 OK", page(&[(3, "Old Lead")], 3)),
            ("200 OK", page(&[(4, "New Lead")], 4)),
        ])
        .await;
        let mut watch = review(&server.base).escalation_watch();
        assert!(watch.poll().await.unwrap_err().is_transient());
        assert!(watch.poll().await.unwrap().is_empty());
        assert_eq!(watch.poll().await.unwrap()[0].lead_name, "New Lead");
    }

    #[tokio::test]
    async fn the_watch_notifies_each_new_miss_and_stops_on_shutdown() {
        let server = StandIn::serve(vec![
            ("200 OK", page(&[(1, "Old Lead")], 1)),
            ("200 OK", page(&[(2, "Ada <b>Lovelace</b>")], 2)),
            ("200 OK", page(&[], 2)),
        ])
        .await;
        let recorder = Arc::new(Recorder::default());
        let (stop, stopped) = watch::channel(false);
        let task = tokio::spawn(run(
            review(&server.base).escalation_watch(),
            recorder.clone(),
            Duration::from_millis(50),
            stopped,
        ));
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while recorder.0.lock().unwrap().is_empty() {
            assert!(std::time::Instant::now() < deadline, "no notification");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        stop.send(true).unwrap();
        task.await.unwrap();
        let shown = recorder.0.lock().unwrap().clone();
        assert_eq!(shown.len(), 1, "{shown:?}");
        assert_eq!(
            shown[0].title,
            "SLA missed: Ada <b>Lovelace</b> — Ben Ortiz (sales)"
        );
        assert_eq!(shown[0].lead_id, Some(20));
    }

    #[tokio::test]
    async fn many_misses_at_once_are_one_notification_and_a_revoked_token_ends_the_watch() {
        let many: Vec<(i64, &str)> = (2..=6).map(|i| (i, "Lead")).collect();
        let server = StandIn::serve(vec![
            ("200 OK", page(&[], 1)),
            ("200 OK", page(&many, 6)),
            (
                "401 Unauthorized",
                r#"{"error":{"code":"unauthorized","message":"unknown token"}}"#.into(),
            ),
        ])
        .await;
        let recorder = Arc::new(Recorder::default());
        let (_stop, stopped) = watch::channel(false);
        tokio::time::timeout(
            Duration::from_secs(10),
            run(
                review(&server.base).escalation_watch(),
                recorder.clone(),
                Duration::from_millis(20),
                stopped,
            ),
        )
        .await
        .expect("the watch ends when the token is refused");
        tokio::time::sleep(Duration::from_millis(100)).await;
        let shown = recorder.0.lock().unwrap().clone();
        assert_eq!(shown.len(), 1, "{shown:?}");
        assert_eq!(shown[0].title, "5 leads missed their SLA");
    }
}
