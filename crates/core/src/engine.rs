//! The client engine: pulls the rep's feed into the cache, pushes the
//! outbox, keeps a live stream open, and raises notifications. The desktop
//! app and the CLI are thin shells over it.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use backon::{BackoffBuilder, ExponentialBuilder};
use baton_protocol::{
    Availability, DecisionKind, Definition, ErrorCode as ServerCode, FeedbackRequest, LeadId, Me,
    RejectReason, Rep, StreamReady, Timestamp, WorkSchedule,
};
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use tokio::sync::{Notify, broadcast, watch};

use crate::api::{ApiClient, FormAnswer, WriteAnswer};
use crate::error::{CoreError, Result};
use crate::explain::{self, LeadContext};
use crate::notify::{self, Notification, Notifier, QuietHours};
use crate::profile::Profile;
use crate::schedule::{self, ScheduleView};
use crate::sse::SseEvents;
use crate::store::{
    Applied, InboxCounts, InboxQuery, LeadDetail, LeadSummary, LocalStatus, OutboxKind,
    PreparedPage, Store, Undoable,
};

/// Page size when pulling the feed.
const PULL_PAGE: u32 = 1000;
/// More new leads than this in one pull (a first sync, a reconnect) become
/// one summary notification instead of a flood.
const SUMMARY_OVER: usize = 3;
/// How often the cache is refreshed by pulling, with and without a live stream.
const POLL_WHILE_LIVE: Duration = Duration::from_secs(60);
const POLL_WHILE_DOWN: Duration = Duration::from_secs(10);
/// The live stream is given up as dead after this many heartbeat intervals
/// of silence (a half-open connection behind a proxy says nothing at all).
const SILENT_HEARTBEATS: u32 = 3;
/// How long the live stream's answer may take to begin (a proxy that
/// accepted the connection and went quiet would otherwise hold it forever).
const STREAM_OPEN_TIMEOUT: Duration = Duration::from_secs(20);
/// The heartbeat interval assumed when the server does not say.
const DEFAULT_HEARTBEAT: Duration = Duration::from_secs(15);
/// The desktop app's undo window: a decision is sent this long after the
/// keypress unless taken back.
pub const DESKTOP_UNDO_WINDOW: Duration = Duration::from_secs(5);

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

/// Why the last exchange with the server failed, in words a rep can act on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum ProblemKind {
    /// No answer: the network, the server's host, or a proxy that hung up.
    Offline,
    /// An answer that is not baton-server's, or baton-server overloaded.
    ServerError,
    /// The server's answers cannot be read by this version of Baton.
    IncompatibleServer,
    /// The server no longer accepts this profile's token.
    Unauthorized,
    /// Anything else (the cache, a refusal).
    Other,
}

impl baton_protocol::WireName for ProblemKind {}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Problem {
    pub kind: ProblemKind,
    pub message: String,
}

impl Problem {
    pub fn of(e: &CoreError) -> Problem {
        let kind = match e {
            CoreError::Offline(_) => ProblemKind::Offline,
            CoreError::ServerError { .. } => ProblemKind::ServerError,
            CoreError::IncompatibleServer(_) => ProblemKind::IncompatibleServer,
            CoreError::Unauthorized(_) => ProblemKind::Unauthorized,
            _ => ProblemKind::Other,
        };
        Problem {
            kind,
            message: e.to_string(),
        }
    }
}

/// What the engine tells its shells as it happens (besides [`SyncStatus`]).
#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum EngineEvent {
    /// The server refused a decision the rep made; the lead shows why.
    DecisionRefused {
        lead_id: LeadId,
        name: String,
        message: String,
    },
}

/// What the shells show about syncing.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "ts", ts(optional_fields = nullable))]
pub struct SyncStatus {
    pub connection: Connection,
    pub last_success: Option<Timestamp>,
    /// The last failure, classified; `None` after a success.
    pub problem: Option<Problem>,
    /// Writes the server has not recorded yet, those in their undo window included.
    pub outbox_depth: u32,
    /// Decisions that can still be taken back, oldest first.
    pub undoable: Vec<Undoable>,
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

/// What a pull brought that the engine acts on once it has committed.
#[derive(Default)]
struct News {
    fresh: Vec<LeadSummary>,
    reminders: Vec<(LeadSummary, Timestamp)>,
    definitions: Vec<u32>,
}

impl PullReport {
    fn add(&mut self, applied: Applied, news: &mut News) {
        self.changes += applied.entries;
        self.new_leads += applied.new_assignments.len();
        self.taken_away += applied.taken_away.len();
        news.fresh.extend(applied.new_assignments);
        news.reminders.extend(applied.reminders);
        news.definitions.extend(applied.definitions);
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
    events: broadcast::Sender<EngineEvent>,
    /// How long a decision waits for an undo before it is sent (ms).
    undo_window_ms: AtomicU64,
    /// The inbox counts as of a cache version: a count walks the whole
    /// status index (100,000 entries for a full cache), and the status bar,
    /// the tray and every list page ask for it after each change.
    counts_at: std::sync::Mutex<Option<(u64, InboxCounts)>>,
    /// Definition versions a lead view needed and the cache did not hold,
    /// for the definition loop to fetch.
    definitions_wanted: std::sync::Mutex<Vec<u32>>,
    definition_wake: Notify,
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
        let problem: Option<Problem> = store
            .get_kv("last_problem")
            .ok()
            .flatten()
            .and_then(|p| serde_json::from_str(&p).ok());
        let (status, _) = watch::channel(SyncStatus {
            connection: Connection::Idle,
            last_success,
            problem,
            outbox_depth,
            undoable: store.undoable(Timestamp::now()).unwrap_or_default(),
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
            events: broadcast::channel(64).0,
            undo_window_ms: AtomicU64::new(0),
            counts_at: std::sync::Mutex::new(None),
            definitions_wanted: std::sync::Mutex::new(Vec::new()),
            definition_wake: Notify::new(),
        })
    }

    /// Runs blocking cache work off the async executor.
    async fn on_store<R, F>(&self, f: F) -> Result<R>
    where
        F: FnOnce(&Store) -> Result<R> + Send + 'static,
        R: Send + 'static,
    {
        let store = self.store.clone();
        tokio::task::spawn_blocking(move || f(&store))
            .await
            .map_err(|e| CoreError::Storage(format!("a cache task failed: {e}")))?
    }

    /// How long each decision waits for an undo before it is sent; zero
    /// (the CLI's default) sends at once.
    pub fn set_undo_window(&self, window: Duration) {
        self.undo_window_ms
            .store(window.as_millis() as u64, Ordering::Relaxed);
    }

    /// Events as they happen: refusals of the rep's decisions.
    pub fn events(&self) -> broadcast::Receiver<EngineEvent> {
        self.events.subscribe()
    }

    /// One page of the inbox.
    pub async fn inbox(&self, query: InboxQuery) -> Result<Vec<LeadSummary>> {
        self.on_store(move |s| s.inbox(&query)).await
    }

    /// One lead with everything the lead view shows, its context read from
    /// the cache. A definition the cache does not hold yet is fetched in the
    /// background (while [`Engine::run`] runs): the cache version then
    /// moves, and the lead read again has it.
    pub async fn lead(&self, id: LeadId) -> Result<LeadDetail> {
        let (mut detail, definition) = self
            .on_store(move |s| {
                let detail = s.lead(id)?.ok_or(CoreError::LeadNotFound(id))?;
                let definition = match explain::qualification(&detail.lead) {
                    Some(q) => s.definition(q.version)?,
                    None => None,
                };
                Ok((detail, definition))
            })
            .await?;
        if let Some(q) = explain::qualification(&detail.lead)
            && definition.is_none()
        {
            self.want_definition(q.version);
        }
        detail.context = explain::context(&detail.lead, definition);
        Ok(detail)
    }

    /// One lead with its context, the definition it qualified under fetched
    /// from the server now if the cache does not hold it (and the server
    /// can be reached): what `baton show` prints.
    pub async fn lead_with_definition(&self, id: LeadId) -> Result<LeadDetail> {
        let mut detail = self.lead(id).await?;
        detail.context = self.lead_context_of(&detail).await;
        Ok(detail)
    }

    /// Under which definition the lead qualified, its "How to open" lines
    /// and why it came to this rep; the definition from the cache, or
    /// fetched when the cache does not hold it.
    pub async fn lead_context(&self, id: LeadId) -> Result<LeadContext> {
        let detail = self.lead(id).await?;
        Ok(self.lead_context_of(&detail).await)
    }

    async fn lead_context_of(&self, detail: &LeadDetail) -> LeadContext {
        let c = &detail.context;
        let (Some(q), None) = (c.qualification, &c.definition) else {
            return c.clone();
        };
        match self.definition(q.version).await {
            Ok(d) => explain::context(&detail.lead, Some(d)),
            Err(e) => {
                tracing::debug!(version = q.version, error = %e, "cannot fetch the lead's definition");
                c.clone()
            }
        }
    }

    /// A version of the definition: from the cache (versions never change),
    /// else from the server, then kept.
    pub async fn definition(&self, version: u32) -> Result<Definition> {
        if let Some(d) = self.on_store(move |s| s.definition(version)).await? {
            return Ok(d);
        }
        let d = self.api.definition(version).await?;
        let kept = d.clone();
        self.on_store(move |s| s.save_definition(&kept, Timestamp::now()))
            .await?;
        Ok(d)
    }

    fn want_definition(&self, version: u32) {
        if let Ok(mut wanted) = self.definitions_wanted.lock()
            && !wanted.contains(&version)
        {
            wanted.push(version);
        }
        self.definition_wake.notify_one();
    }

    /// Fetches and keeps the definitions in `versions` the cache does not
    /// hold; says whether any was new.
    async fn fetch_definitions(&self, versions: &[u32]) -> bool {
        let mut fetched = false;
        for &v in versions {
            match self.on_store(move |s| s.definition(v)).await {
                Ok(Some(_)) => continue,
                Ok(None) => {}
                Err(e) => {
                    tracing::warn!(error = %e, "cannot read the cached definitions");
                    return fetched;
                }
            }
            match self.definition(v).await {
                Ok(_) => fetched = true,
                Err(e) => tracing::debug!(version = v, error = %e, "cannot fetch a definition"),
            }
        }
        fetched
    }

    /// The rep as the server last described them (`None`: never seen).
    pub async fn cached_rep(&self) -> Result<Option<Rep>> {
        self.on_store(|s| s.rep()).await
    }

    /// The rep's own working hours and absences: the server's, or the copy
    /// last seen when it cannot be reached.
    pub async fn my_schedule(&self) -> Result<ScheduleView> {
        match self.me().await {
            Ok(me) => me.rep.map(|r| ScheduleView::of(&r, false)).ok_or_else(|| {
                CoreError::NotActionable(
                    "working hours are a rep's: this profile is not a rep's".into(),
                )
            }),
            Err(e) if e.is_transient() => match self.cached_rep().await? {
                Some(rep) => Ok(ScheduleView::of(&rep, true)),
                None => Err(e),
            },
            Err(e) => Err(e),
        }
    }

    /// Sets (or with `None` clears) the rep's own hours and absences. An
    /// hour, date or time zone the server will not take is an answer naming
    /// the field as the form holds it (`hours[2].end`, `absences[0].from`,
    /// `time_zone`).
    pub async fn set_my_schedule(
        &self,
        schedule: Option<WorkSchedule>,
    ) -> Result<FormAnswer<ScheduleView>> {
        let schedule = schedule.map(schedule::tidy);
        let answer = self.api.set_my_schedule(schedule.as_ref()).await?;
        if let FormAnswer::Saved { value } = &answer {
            let rep = value.clone();
            self.on_store(move |s| s.save_rep(&rep)).await?;
        }
        Ok(answer.map(|rep| ScheduleView::of(&rep, false)))
    }

    /// One row of the inbox.
    pub async fn summary(&self, id: LeadId) -> Result<LeadSummary> {
        self.on_store(move |s| s.summary(id)?.ok_or(CoreError::LeadNotFound(id)))
            .await
    }

    /// How many leads each list holds.
    pub async fn inbox_counts(&self) -> Result<InboxCounts> {
        // Read the version first: a change that commits during the count
        // bumps it afterwards, so the next call counts again.
        let version = self.status.borrow().cache_version;
        if let Ok(cached) = self.counts_at.lock()
            && let Some((at, counts)) = *cached
            && at == version
        {
            return Ok(counts);
        }
        let counts = self.on_store(|s| s.counts()).await?;
        if let Ok(mut cached) = self.counts_at.lock() {
            *cached = Some((version, counts));
        }
        Ok(counts)
    }

    /// Sets (`Some("22:00-07:00")`) or clears the quiet hours, off the caller's thread.
    pub async fn save_quiet_hours(&self, window: Option<String>) -> Result<Option<QuietHours>> {
        let quiet = window.as_deref().map(QuietHours::parse).transpose()?;
        self.on_store(move |s| match quiet {
            Some(q) => s.set_kv("quiet_hours", &q.to_string()),
            None => s.delete_kv("quiet_hours"),
        })
        .await?;
        Ok(quiet)
    }

    /// The quiet-hours window set in this profile, if any.
    pub fn quiet_hours_setting(&self) -> Option<QuietHours> {
        self.quiet_hours()
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

    /// Re-reads what the status tells about the outbox.
    fn refresh_outbox(&self, cache_changed: bool) {
        let depth = self.store.outbox_depth().unwrap_or(0);
        let undoable = self.store.undoable(Timestamp::now()).unwrap_or_default();
        self.status.send_if_modified(|s| {
            let changed = s.outbox_depth != depth || s.undoable != undoable || cache_changed;
            s.outbox_depth = depth;
            s.undoable = undoable;
            if cache_changed {
                s.cache_version += 1;
            }
            changed
        });
    }

    fn set_connection(&self, c: Connection) {
        self.status.send_modify(|s| s.connection = c);
    }

    fn record_success(&self) {
        if self.status.borrow().problem.is_some() {
            let _ = self.store.delete_kv("last_problem");
        }
        self.status.send_modify(|s| {
            s.last_success = Some(Timestamp::now());
            s.problem = None;
        });
        self.refresh_outbox(false);
    }

    fn record_error(&self, e: &CoreError) {
        let problem = Problem::of(e);
        if self.status.borrow().problem.as_ref() != Some(&problem)
            && let Ok(json) = serde_json::to_string(&problem)
        {
            let _ = self.store.set_kv("last_problem", &json);
        }
        self.status.send_modify(|s| {
            s.problem = Some(problem);
            if e.is_transient() || matches!(e, CoreError::Unauthorized(_)) {
                s.connection = Connection::Offline;
            }
        });
        self.refresh_outbox(false);
    }

    /// Who the server says we are (a rep's own record is kept for offline use).
    pub async fn me(&self) -> Result<Me> {
        let me = self.api.me().await?;
        if let Some(rep) = me.rep.clone() {
            self.on_store(move |s| s.save_rep(&rep)).await?;
        }
        Ok(me)
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
        let mut news = News::default();
        let mut cursor = self.store.cursor()?;
        // A pipeline over both cores: page N+1 is fetched and prepared while
        // page N commits. Commits stay in order, each with its cursor.
        let mut committing: Option<tokio::task::JoinHandle<Result<Applied>>> = None;
        loop {
            let page = match self.api.sync(cursor.as_deref(), PULL_PAGE).await {
                Err(CoreError::Refused {
                    code: ServerCode::InvalidQuery,
                    ..
                }) if cursor.is_some() && committing.is_none() => {
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
                report.add(applied, &mut news);
            }
            let store = self.store.clone();
            committing = Some(tokio::task::spawn_blocking(move || {
                store.apply_prepared(prepared, Timestamp::now())
            }));
            if !has_more {
                break;
            }
        }
        if let Some(last) = committing.take() {
            let applied = last
                .await
                .map_err(|e| CoreError::Storage(format!("sync task failed: {e}")))??;
            report.add(applied, &mut news);
        }
        if report.changes > 0 {
            self.status.send_modify(|s| s.cache_version += 1);
        }
        self.announce(&news.fresh);
        self.remind_again(&news);
        if !news.definitions.is_empty() && self.fetch_definitions(&news.definitions).await {
            // Open lead views now have their "How to open" lines.
            self.status.send_modify(|s| s.cache_version += 1);
        }
        if report.changes > 0 {
            let changes = report.changes;
            if let Err(e) = self.on_store(move |s| s.after_pull(changes)).await {
                tracing::warn!(error = %e, "cache housekeeping after a pull failed");
            }
        }
        if !news.fresh.is_empty() {
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
        // A notifier may block (the desktop one waits for its D-Bus
        // connection on first use): keep it off the runtime.
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

    /// The server's reminders of offers still undecided: notified again,
    /// unless the offer was decided, taken away or announced as new in the
    /// same pull (a first sync).
    fn remind_again(&self, news: &News) {
        let waiting: Vec<(LeadSummary, Timestamp)> = news
            .reminders
            .iter()
            .filter(|(r, _)| !news.fresh.iter().any(|f| f.id == r.id))
            .filter_map(|(r, due)| {
                let now = self.store.summary(r.id).ok().flatten()?;
                let still = now.status == LocalStatus::New
                    && now.decision_state.is_none()
                    && now.assignment_id == r.assignment_id;
                still.then_some((now, *due))
            })
            .collect();
        if waiting.len() > SUMMARY_OVER {
            self.send(notify::still_waiting_summary(waiting.len()));
            return;
        }
        let mut seen = Vec::new();
        for (summary, due) in waiting {
            if seen.contains(&summary.id) {
                continue;
            }
            seen.push(summary.id);
            self.send(notify::still_waiting(&summary, due));
        }
    }

    /// Raises SLA reminders that fell due; returns how many.
    pub async fn remind(&self) -> Result<usize> {
        let now = Timestamp::now();
        let due = self.on_store(move |s| s.take_due_reminders(now)).await?;
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

    async fn decide(&self, lead: LeadId, req: FeedbackRequest) -> Result<LeadSummary> {
        self.validate(&req)?;
        let now = Timestamp::now();
        let send_after = now.plus_millis(self.undo_window_ms.load(Ordering::Relaxed) as i64);
        let summary = self
            .on_store(move |s| s.decide(lead, &req, &new_key(), now, send_after))
            .await?;
        self.refresh_outbox(true);
        self.outbox_wake.notify_one();
        Ok(summary)
    }

    /// Takes back a decision still in its undo window: nothing is sent, and
    /// the lead awaits a decision again.
    pub async fn undo(&self, lead: LeadId) -> Result<LeadSummary> {
        let summary = self
            .on_store(move |s| s.undo(lead, Timestamp::now()))
            .await?;
        self.refresh_outbox(true);
        Ok(summary)
    }

    /// Accepts a lead: saved durably at once, sent when its undo window ends
    /// and the server is reachable.
    pub async fn accept(&self, lead: LeadId, note: Option<String>) -> Result<LeadSummary> {
        self.decide(
            lead,
            FeedbackRequest {
                decision: DecisionKind::Accept,
                reason: None,
                note: note.filter(|n| !n.trim().is_empty()),
            },
        )
        .await
    }

    /// Rejects a lead with one of the server's reasons.
    pub async fn reject(
        &self,
        lead: LeadId,
        reason: &str,
        note: Option<String>,
    ) -> Result<LeadSummary> {
        self.decide(
            lead,
            FeedbackRequest {
                decision: DecisionKind::Reject,
                reason: Some(reason.to_string()),
                note: note.filter(|n| !n.trim().is_empty()),
            },
        )
        .await
    }

    /// Queues an availability change through the outbox.
    pub async fn set_availability(&self, availability: Availability) -> Result<()> {
        self.on_store(move |s| s.queue_availability(availability, &new_key(), Timestamp::now()))
            .await?;
        self.refresh_outbox(false);
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
        while let Some(row) = self.store.next_outbox(Timestamp::now())? {
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
                    let done = row.clone();
                    self.on_store(move |s| s.outbox_done(&done, &body, Timestamp::now()))
                        .await?;
                    report.sent += 1;
                }
                Ok(WriteAnswer::Refused { message, lead_gone }) => {
                    let (refused, why) = (row.clone(), message.clone());
                    self.on_store(move |s| {
                        s.outbox_refused(&refused, &why, lead_gone, Timestamp::now())
                    })
                    .await?;
                    report.refused += 1;
                    if let Some(lead_id) = row.lead_id {
                        let name = self
                            .store
                            .summary(lead_id)
                            .ok()
                            .flatten()
                            .map(|l| l.name)
                            .unwrap_or_default();
                        let _ = self.events.send(EngineEvent::DecisionRefused {
                            lead_id,
                            name,
                            message,
                        });
                    }
                }
                Err(e) => {
                    let (failed, what) = (row.clone(), e.to_string());
                    self.on_store(move |s| s.outbox_attempt_failed(&failed, &what))
                        .await?;
                    self.record_error(&e);
                    return Err(e);
                }
            }
        }
        report.pending = self.store.outbox_depth()?;
        self.refresh_outbox(report.sent + report.refused > 0);
        Ok(report)
    }

    /// Sends every write now, undo windows or not; returns how many the
    /// server has not recorded (the server could not be reached). Signing
    /// out calls this first, so no decision goes with the cache.
    pub async fn flush(&self) -> Result<u32> {
        self.on_store(|s| s.end_undo_windows()).await?;
        match self.push().await {
            Ok(report) => Ok(report.pending),
            Err(e) if e.is_transient() => Ok(self.store.outbox_depth()?),
            Err(e) => Err(e),
        }
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
            tokio::spawn(self.clone().definition_loop(shutdown.clone())),
        ];
        for t in tasks {
            let _ = t.await;
        }
    }

    fn backoff() -> backon::ExponentialBackoff {
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
            let opened = tokio::time::timeout(STREAM_OPEN_TIMEOUT, self.api.stream())
                .await
                .unwrap_or_else(|_| {
                    Err(CoreError::Offline(format!(
                        "the live stream did not open within {} s",
                        STREAM_OPEN_TIMEOUT.as_secs()
                    )))
                });
            match opened {
                Ok(resp) => {
                    let ended = tokio::select! {
                        ended = self.read_stream(resp, &mut backoff) => ended,
                        _ = shutdown.changed() => return,
                    };
                    tracing::info!(why = %ended, "live stream ended; reconnecting");
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

    /// Reads one live stream until it ends; returns why. Bounded in memory
    /// ([`crate::sse::EVENT_LIMIT`]) and in silence ([`SILENT_HEARTBEATS`]).
    async fn read_stream(
        &self,
        resp: reqwest::Response,
        backoff: &mut backon::ExponentialBackoff,
    ) -> String {
        let mut body = resp.bytes_stream();
        let mut events = SseEvents::default();
        let mut silence = DEFAULT_HEARTBEAT * SILENT_HEARTBEATS;
        loop {
            let chunk = match tokio::time::timeout(silence, body.next()).await {
                Err(_) => {
                    return format!(
                        "nothing heard for {} s (no heartbeat): the connection is dead",
                        silence.as_secs()
                    );
                }
                Ok(None) => return "the server closed it".into(),
                Ok(Some(Err(e))) => return format!("read failed: {e}"),
                Ok(Some(Ok(bytes))) => bytes,
            };
            let parsed = match events.push(&chunk) {
                Ok(parsed) => parsed,
                Err(why) => return why,
            };
            for (name, data) in parsed {
                match name.as_str() {
                    "ready" => {
                        if let Ok(ready) = serde_json::from_str::<StreamReady>(&data)
                            && let Some(secs) = ready.heartbeat_secs
                        {
                            silence = Duration::from_secs(secs.clamp(1, 3600)) * SILENT_HEARTBEATS;
                        }
                        self.set_connection(Connection::Online);
                        *backoff = Self::backoff();
                        self.pull_wake.notify_one();
                        self.outbox_wake.notify_one();
                    }
                    "change" => self.pull_wake.notify_one(),
                    _ => {}
                }
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
                    // Sleep until a decision's undo window ends, or a new write.
                    let next = self.store.next_send_at(Timestamp::now()).ok().flatten();
                    let wait = next
                        .map(|t| {
                            (t.millis() - Timestamp::now().millis()).clamp(0, 3_600_000) as u64
                        })
                        .unwrap_or(3_600_000);
                    tokio::select! {
                        _ = self.outbox_wake.notified() => {}
                        _ = tokio::time::sleep(Duration::from_millis(wait)) => {
                            // The window ended: the undo bar loses the decision.
                            self.refresh_outbox(false);
                        }
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

    /// Fetches the definitions lead views asked for and the cache lacked.
    async fn definition_loop(self: Arc<Self>, mut shutdown: watch::Receiver<bool>) {
        loop {
            tokio::select! {
                _ = self.definition_wake.notified() => {}
                _ = shutdown.changed() => return,
            }
            let wanted = self
                .definitions_wanted
                .lock()
                .map(|mut w| std::mem::take(&mut *w))
                .unwrap_or_default();
            if self.fetch_definitions(&wanted).await {
                self.status.send_modify(|s| s.cache_version += 1);
            }
        }
    }

    async fn reminder_loop(self: Arc<Self>, mut shutdown: watch::Receiver<bool>) {
        loop {
            if let Err(e) = self.remind().await {
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

#[cfg(test)]
mod tests;
