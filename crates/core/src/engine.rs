//! The client engine: pulls the rep's feed into the cache, pushes the
//! outbox, keeps a live stream open, and raises notifications. The desktop
//! app and the CLI are thin shells over it.

use std::sync::Arc;
use std::time::Duration;

use backon::{BackoffBuilder, ExponentialBuilder};
use baton_protocol::{
    Availability, DecisionKind, FeedbackRequest, LeadId, Me, RejectReason, Timestamp,
};
use futures_util::StreamExt;
use serde::Serialize;
use tokio::sync::{Notify, watch};

use crate::api::{ApiClient, WriteAnswer};
use crate::error::{CoreError, Result};
use crate::notify::{self, Notification, Notifier, QuietHours};
use crate::profile::Profile;
use crate::store::{Applied, InboxCounts, LeadSummary, OutboxKind, PreparedPage, Store};

/// Page size when pulling the feed.
const PULL_PAGE: u32 = 1000;
/// More new leads than this in one pull (a first sync, a reconnect) become
/// one summary notification instead of a flood.
const SUMMARY_OVER: usize = 3;
/// How often the cache is refreshed by pulling, with and without a live stream.
const POLL_WHILE_LIVE: Duration = Duration::from_secs(60);
const POLL_WHILE_DOWN: Duration = Duration::from_secs(10);

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum Connection {
    /// Not yet tried.
    Idle,
    /// Pulling or pushing right now.
    Syncing,
    /// The live stream is open: new leads arrive as they are assigned.
    Online,
    /// The server cannot be reached; decisions wait in the outbox.
    Offline,
}

/// What the shells show about syncing.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "ts", ts(optional_fields = nullable))]
pub struct SyncStatus {
    pub connection: Connection,
    pub last_success: Option<Timestamp>,
    pub last_error: Option<String>,
    pub outbox_depth: u32,
    /// Grows whenever the cached leads change (a pull applied changes, a
    /// decision was saved, sent or refused): a shell re-reads its lists when
    /// it moves, and only then.
    pub cache_version: u64,
}

/// What one pull did.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct PullReport {
    pub changes: usize,
    pub new_leads: usize,
    pub taken_away: usize,
}

impl PullReport {
    fn add(&mut self, applied: &Applied, fresh: &mut Vec<LeadSummary>) {
        self.changes += applied.entries;
        self.new_leads += applied.new_assignments.len();
        self.taken_away += applied.taken_away.len();
        fresh.extend(applied.new_assignments.iter().cloned());
    }
}

/// What one outbox drain did.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct PushReport {
    pub sent: usize,
    pub refused: usize,
    pub pending: u32,
}

pub struct Engine {
    store: Arc<Store>,
    api: ApiClient,
    notifier: Option<Arc<dyn Notifier>>,
    status: watch::Sender<SyncStatus>,
    outbox_wake: Notify,
    pull_wake: Notify,
    reminder_wake: Notify,
    /// Serialises pulls: two at once would race on the cursor.
    pull_lock: tokio::sync::Mutex<()>,
    push_lock: tokio::sync::Mutex<()>,
}

fn new_key() -> String {
    let mut b = [0u8; 16];
    getrandom::fill(&mut b).expect("the OS random source works");
    hex::encode(b)
}

impl Engine {
    /// Opens the signed-in profile's cache and server connection.
    pub fn open(profile: &Profile, notifier: Option<Arc<dyn Notifier>>) -> Result<Arc<Engine>> {
        let settings = profile.settings()?.ok_or(CoreError::NotSignedIn)?;
        let token = profile.token(&settings)?;
        let store = Arc::new(Store::open(&profile.cache_path())?);
        let api = ApiClient::new(&settings.server, &token)?;
        Ok(Self::with_parts(store, api, notifier))
    }

    pub fn with_parts(
        store: Arc<Store>,
        api: ApiClient,
        notifier: Option<Arc<dyn Notifier>>,
    ) -> Arc<Engine> {
        let last_success = store
            .get_kv("last_sync")
            .ok()
            .flatten()
            .and_then(|v| v.parse().ok())
            .map(Timestamp);
        let outbox_depth = store.outbox_depth().unwrap_or(0);
        let (status, _) = watch::channel(SyncStatus {
            connection: Connection::Idle,
            last_success,
            last_error: store.get_kv("last_error").ok().flatten(),
            outbox_depth,
            cache_version: 0,
        });
        Arc::new(Engine {
            store,
            api,
            notifier,
            status,
            outbox_wake: Notify::new(),
            pull_wake: Notify::new(),
            reminder_wake: Notify::new(),
            pull_lock: tokio::sync::Mutex::new(()),
            push_lock: tokio::sync::Mutex::new(()),
        })
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    pub fn api(&self) -> &ApiClient {
        &self.api
    }

    /// Sync state, updated as it changes.
    pub fn subscribe(&self) -> watch::Receiver<SyncStatus> {
        self.status.subscribe()
    }

    pub fn status(&self) -> SyncStatus {
        self.status.borrow().clone()
    }

    pub fn counts(&self) -> Result<InboxCounts> {
        self.store.counts()
    }

    fn set_connection(&self, c: Connection) {
        self.status.send_modify(|s| s.connection = c);
    }

    fn record_success(&self) {
        let depth = self.store.outbox_depth().unwrap_or(0);
        let _ = self.store.delete_kv("last_error");
        self.status.send_modify(|s| {
            s.last_success = Some(Timestamp::now());
            s.last_error = None;
            s.outbox_depth = depth;
        });
    }

    fn record_error(&self, e: &CoreError) {
        let msg = e.to_string();
        let _ = self.store.set_kv("last_error", &msg);
        let depth = self.store.outbox_depth().unwrap_or(0);
        self.status.send_modify(|s| {
            s.last_error = Some(msg);
            s.outbox_depth = depth;
            if e.is_transient() {
                s.connection = Connection::Offline;
            }
        });
    }

    /// Who the server says we are.
    pub async fn me(&self) -> Result<Me> {
        self.api.me().await
    }

    /// The server's rejection reasons; the last list seen when offline.
    pub async fn reasons(&self) -> Result<Vec<RejectReason>> {
        match self.api.reasons().await {
            Ok(list) => {
                self.store
                    .set_kv("reasons", &serde_json::to_string(&list.reasons)?)?;
                Ok(list.reasons)
            }
            Err(e) if e.is_transient() => self.cached_reasons()?.ok_or(e),
            Err(e) => Err(e),
        }
    }

    fn cached_reasons(&self) -> Result<Option<Vec<RejectReason>>> {
        match self.store.get_kv("reasons")? {
            Some(json) => Ok(Some(serde_json::from_str(&json)?)),
            None => Ok(None),
        }
    }

    /// Pulls every change since the cursor; each page and the cursor after it
    /// commit together. Announces new leads.
    pub async fn pull(&self) -> Result<PullReport> {
        let _guard = self.pull_lock.lock().await;
        self.set_connection(Connection::Syncing);
        let result = self.pull_locked().await;
        match &result {
            Ok(_) => self.record_success(),
            Err(e) => self.record_error(e),
        }
        result
    }

    async fn pull_locked(&self) -> Result<PullReport> {
        let mut report = PullReport::default();
        let mut fresh: Vec<LeadSummary> = Vec::new();
        let mut cursor = self.store.cursor()?;
        // A pipeline over both cores: page N+1 is fetched and prepared while
        // page N commits. Commits stay in order, each with its cursor.
        let mut committing: Option<tokio::task::JoinHandle<Result<Applied>>> = None;
        loop {
            let page = match self.api.sync(cursor.as_deref(), PULL_PAGE).await {
                Err(CoreError::Server {
                    status: 400, code, ..
                }) if code == "invalid_query" && cursor.is_some() && committing.is_none() => {
                    // The server does not know our cursor (its database was
                    // replaced): read its feed from the start.
                    tracing::warn!(
                        "the server does not recognise this cache's cursor; syncing from the start"
                    );
                    self.store.reset_cursor()?;
                    cursor = None;
                    continue;
                }
                other => other?,
            };
            cursor = Some(page.next_cursor.0.clone());
            let has_more = page.has_more;
            let prepared = tokio::task::spawn_blocking(move || PreparedPage::new(page))
                .await
                .map_err(|e| CoreError::Storage(format!("sync task failed: {e}")))??;
            if let Some(previous) = committing.take() {
                let applied = previous
                    .await
                    .map_err(|e| CoreError::Storage(format!("sync task failed: {e}")))??;
                report.add(&applied, &mut fresh);
            }
            let store = self.store.clone();
            committing = Some(tokio::task::spawn_blocking(move || {
                store.apply_prepared(&prepared, Timestamp::now())
            }));
            if !has_more {
                break;
            }
        }
        if let Some(last) = committing.take() {
            let applied = last
                .await
                .map_err(|e| CoreError::Storage(format!("sync task failed: {e}")))??;
            report.add(&applied, &mut fresh);
        }
        if report.changes > 0 {
            self.status.send_modify(|s| s.cache_version += 1);
            let store = self.store.clone();
            let changes = report.changes;
            let _ = tokio::task::spawn_blocking(move || store.after_pull(changes)).await;
        }
        self.announce(&fresh);
        if !fresh.is_empty() {
            // New offers bring new SLA deadlines to remind about.
            self.reminder_wake.notify_one();
        }
        Ok(report)
    }

    fn quiet_hours(&self) -> Option<QuietHours> {
        self.store
            .get_kv("quiet_hours")
            .ok()
            .flatten()
            .and_then(|q| QuietHours::parse(&q).ok())
    }

    /// Sets (or with `None` clears) the daily window without notifications.
    pub fn set_quiet_hours(&self, window: Option<&str>) -> Result<Option<QuietHours>> {
        match window {
            Some(w) => {
                let q = QuietHours::parse(w)?;
                self.store.set_kv("quiet_hours", &q.to_string())?;
                Ok(Some(q))
            }
            None => {
                self.store.delete_kv("quiet_hours")?;
                Ok(None)
            }
        }
    }

    fn send(&self, n: Notification) {
        let Some(notifier) = self.notifier.clone() else {
            return;
        };
        if self.quiet_hours().is_some_and(|q| q.is_quiet_now()) {
            tracing::debug!(title = %n.title, "quiet hours: notification not shown");
            return;
        }
        // Showing a notification talks D-Bus synchronously: keep it off the runtime.
        tokio::task::spawn_blocking(move || {
            if let Err(e) = notifier.notify(&n) {
                tracing::warn!(error = %e, "cannot show a notification");
            }
        });
    }

    fn announce(&self, fresh: &[LeadSummary]) {
        if fresh.is_empty() {
            return;
        }
        if fresh.len() > SUMMARY_OVER {
            self.send(notify::summary(fresh.len()));
            return;
        }
        for s in fresh {
            let lead = self.store.lead(s.id).ok().flatten().map(|d| d.lead);
            self.send(notify::new_lead(s, lead.as_ref()));
        }
    }

    /// Raises SLA reminders that fell due; returns how many.
    pub fn remind(&self) -> Result<usize> {
        let now = Timestamp::now();
        let due = self.store.take_due_reminders(now)?;
        for s in &due {
            let left = s
                .sla_due_at
                .map(|d| (d.millis() - now.millis()) / 60_000)
                .unwrap_or(0);
            self.send(notify::sla_reminder(s, left));
        }
        Ok(due.len())
    }

    /// The server's rules, checked before a decision is queued (against the
    /// last reason list seen; without one, only what needs no list).
    fn validate(&self, req: &FeedbackRequest) -> Result<()> {
        let reasons = self.cached_reasons()?;
        req.check(reasons.as_deref())
            .map_err(|p| CoreError::InvalidInput(format!("{}: {}", p.field, p.message)))
    }

    fn decide(&self, lead: LeadId, req: FeedbackRequest) -> Result<LeadSummary> {
        self.validate(&req)?;
        let summary = self
            .store
            .decide(lead, &req, &new_key(), Timestamp::now())?;
        let depth = self.store.outbox_depth().unwrap_or(0);
        self.status.send_modify(|s| {
            s.outbox_depth = depth;
            s.cache_version += 1;
        });
        self.outbox_wake.notify_one();
        Ok(summary)
    }

    /// Accepts a lead: saved durably at once, sent when the server is reachable.
    pub fn accept(&self, lead: LeadId, note: Option<String>) -> Result<LeadSummary> {
        self.decide(
            lead,
            FeedbackRequest {
                decision: DecisionKind::Accept,
                reason: None,
                note: note.filter(|n| !n.trim().is_empty()),
            },
        )
    }

    /// Rejects a lead with one of the server's reasons.
    pub fn reject(&self, lead: LeadId, reason: &str, note: Option<String>) -> Result<LeadSummary> {
        self.decide(
            lead,
            FeedbackRequest {
                decision: DecisionKind::Reject,
                reason: Some(reason.to_string()),
                note: note.filter(|n| !n.trim().is_empty()),
            },
        )
    }

    /// Queues an availability change through the outbox.
    pub fn set_availability(&self, availability: Availability) -> Result<()> {
        self.store
            .queue_availability(availability, &new_key(), Timestamp::now())?;
        self.outbox_wake.notify_one();
        Ok(())
    }

    /// The availability last set from this profile (`None`: never set here).
    pub fn availability(&self) -> Option<Availability> {
        self.store.availability().ok().flatten()
    }

    /// Sends outbox rows in order until it is empty or the server is unreachable.
    pub async fn push(&self) -> Result<PushReport> {
        let _guard = self.push_lock.lock().await;
        let mut report = PushReport::default();
        while let Some(row) = self.store.next_outbox()? {
            let answer = match row.kind {
                OutboxKind::Feedback => {
                    let lead = row.lead_id.ok_or_else(|| {
                        CoreError::Storage(format!("outbox row {} has no lead", row.id))
                    })?;
                    self.api
                        .feedback(lead, &row.body, &row.idempotency_key)
                        .await
                }
                OutboxKind::Availability => self.api.availability(&row.body).await,
            };
            match answer {
                Ok(WriteAnswer::Recorded(body)) => {
                    self.store.outbox_done(&row, &body, Timestamp::now())?;
                    report.sent += 1;
                }
                Ok(WriteAnswer::Refused { message, lead_gone }) => {
                    self.store
                        .outbox_refused(&row, &message, lead_gone, Timestamp::now())?;
                    report.refused += 1;
                }
                Err(e) => {
                    self.store.outbox_attempt_failed(&row, &e.to_string())?;
                    self.record_error(&e);
                    return Err(e);
                }
            }
        }
        report.pending = self.store.outbox_depth()?;
        let pending = report.pending;
        let changed = report.sent + report.refused > 0;
        self.status.send_modify(|s| {
            s.outbox_depth = pending;
            if changed {
                s.cache_version += 1;
            }
        });
        Ok(report)
    }

    /// Pushes the outbox, then pulls: what `baton sync` does.
    pub async fn sync_once(&self) -> Result<(PushReport, PullReport)> {
        let pushed = self.push().await?;
        let pulled = self.pull().await?;
        Ok((pushed, pulled))
    }

    /// Runs until `shutdown` turns true: live stream, pulls on each event and
    /// periodically, the outbox pusher with backoff, and SLA reminders.
    pub async fn run(self: Arc<Self>, shutdown: watch::Receiver<bool>) {
        let tasks = [
            tokio::spawn(self.clone().stream_loop(shutdown.clone())),
            tokio::spawn(self.clone().pull_loop(shutdown.clone())),
            tokio::spawn(self.clone().push_loop(shutdown.clone())),
            tokio::spawn(self.clone().reminder_loop(shutdown.clone())),
        ];
        for t in tasks {
            let _ = t.await;
        }
    }

    fn backoff() -> impl Iterator<Item = Duration> {
        ExponentialBuilder::default()
            .with_min_delay(Duration::from_millis(250))
            .with_max_delay(Duration::from_secs(30))
            .with_jitter()
            .without_max_times()
            .build()
    }

    async fn stream_loop(self: Arc<Self>, mut shutdown: watch::Receiver<bool>) {
        let mut backoff = Self::backoff();
        loop {
            if *shutdown.borrow() {
                return;
            }
            match self.api.stream().await {
                Ok(resp) => {
                    let mut body = resp.bytes_stream();
                    let mut buf = String::new();
                    loop {
                        tokio::select! {
                            chunk = body.next() => match chunk {
                                Some(Ok(bytes)) => {
                                    buf.push_str(&String::from_utf8_lossy(&bytes));
                                    while let Some(pos) = buf.find("\n\n") {
                                        let block: String = buf.drain(..pos + 2).collect();
                                        if block.lines().any(|l| l == "event: ready") {
                                            self.set_connection(Connection::Online);
                                            backoff = Self::backoff();
                                            self.pull_wake.notify_one();
                                            self.outbox_wake.notify_one();
                                        } else if block.lines().any(|l| l == "event: change") {
                                            self.pull_wake.notify_one();
                                        }
                                    }
                                }
                                _ => break,
                            },
                            _ = shutdown.changed() => return,
                        }
                    }
                    tracing::info!("live stream closed; reconnecting");
                    self.set_connection(Connection::Offline);
                }
                Err(e) => {
                    self.record_error(&e);
                    if let CoreError::Unauthorized(_) = e {
                        tracing::error!(error = %e, "the server refused the token; stopping the live stream");
                        return;
                    }
                }
            }
            let delay = backoff.next().unwrap_or(Duration::from_secs(30));
            tokio::select! {
                _ = tokio::time::sleep(delay) => {}
                _ = shutdown.changed() => return,
            }
        }
    }

    async fn pull_loop(self: Arc<Self>, mut shutdown: watch::Receiver<bool>) {
        loop {
            let live = self.status.borrow().connection == Connection::Online;
            let every = if live {
                POLL_WHILE_LIVE
            } else {
                POLL_WHILE_DOWN
            };
            tokio::select! {
                _ = self.pull_wake.notified() => {}
                _ = tokio::time::sleep(every) => {}
                _ = shutdown.changed() => return,
            }
            let was_live = self.status.borrow().connection == Connection::Online;
            match self.pull().await {
                Ok(_) if was_live => self.set_connection(Connection::Online),
                Ok(_) => {}
                Err(e) => tracing::debug!(error = %e, "pull failed"),
            }
        }
    }

    async fn push_loop(self: Arc<Self>, mut shutdown: watch::Receiver<bool>) {
        let mut backoff = Self::backoff();
        loop {
            match self.push().await {
                Ok(_) => {
                    backoff = Self::backoff();
                    tokio::select! {
                        _ = self.outbox_wake.notified() => {}
                        _ = shutdown.changed() => return,
                    }
                }
                Err(e) => {
                    let delay = if e.is_transient() {
                        backoff.next().unwrap_or(Duration::from_secs(30))
                    } else {
                        Duration::from_secs(30)
                    };
                    tracing::debug!(error = %e, ?delay, "outbox push failed; retrying");
                    tokio::select! {
                        _ = tokio::time::sleep(delay) => {}
                        _ = self.outbox_wake.notified() => {}
                        _ = shutdown.changed() => return,
                    }
                }
            }
        }
    }

    async fn reminder_loop(self: Arc<Self>, mut shutdown: watch::Receiver<bool>) {
        loop {
            if let Err(e) = self.remind() {
                tracing::warn!(error = %e, "cannot check SLA reminders");
            }
            let next = self.store.next_reminder_at().ok().flatten();
            let wait = next
                .map(|t| (t.millis() - Timestamp::now().millis()).clamp(200, 30_000) as u64)
                .unwrap_or(30_000);
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_millis(wait)) => {}
                _ = self.reminder_wake.notified() => {}
                _ = shutdown.changed() => return,
            }
        }
    }
}
