//! The local cache: one SQLite file per profile.
//!
//! Three promises live here, each kept by doing the work in one transaction:
//! a sync page and the cursor after it commit together; a decision and its
//! outbox row commit together (durably: `synchronous=FULL`); and a
//! notification is recorded as raised in the transaction that brought the
//! assignment, so it is never raised twice.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use baton_protocol::{
    Availability, AvailabilityUpdate, Change, DecisionKind, Definition, FeedbackRequest, Lead,
    LeadId, Rep, SyncPage, TakeAwayReason, Timestamp, WireName,
};
use rusqlite::{Connection, OpenFlags, OptionalExtension, Row, Transaction, params};
use serde::{Deserialize, Serialize};

use crate::error::{CoreError, Result};

/// Page cache between pulls: the inbox and search read few pages, and the
/// desktop app keeps running all day.
const CACHE_KIB_IDLE: u32 = 8 * 1024;
/// Page cache while a pull of many pages applies.
const CACHE_KIB_BULK: u32 = 64 * 1024;

/// Page cache of each read connection.
const CACHE_KIB_READER: u32 = 4 * 1024;
/// A small pull checkpoints once the write-ahead log is larger than this.
const CHECKPOINT_OVER_BYTES: u64 = 32 << 20;
/// Read connections kept open between reads (more are opened when several
/// read at once, and closed after).
const IDLE_READERS: usize = 4;

const MIGRATIONS: &[(i64, &str)] = &[
    (1, include_str!("../migrations/0001_init.sql")),
    (2, include_str!("../migrations/0002_undo_window.sql")),
    (3, include_str!("../migrations/0003_definitions.sql")),
];

/// Where a lead stands in this rep's inbox.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum LocalStatus {
    /// Awaiting the rep's decision.
    New,
    Accepted,
    Rejected,
    /// Left the rep's hands without their decision, or their decision was refused.
    TakenAway,
}

impl WireName for LocalStatus {}

/// Whether the server has the rep's decision yet.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum DecisionState {
    /// Saved here, waiting in the outbox.
    Pending,
    /// The server recorded it.
    Confirmed,
    /// The server refused it (the lead was no longer the rep's).
    Refused,
}

impl WireName for DecisionState {}

/// A row of the inbox.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "ts", ts(optional_fields = nullable))]
pub struct LeadSummary {
    pub id: LeadId,
    pub external_id: String,
    pub status: LocalStatus,
    pub name: String,
    pub company: Option<String>,
    pub email: Option<String>,
    pub title: Option<String>,
    pub channel: String,
    pub score: u32,
    pub assignment_id: Option<i64>,
    pub assigned_at: Option<Timestamp>,
    pub sla_due_at: Option<Timestamp>,
    pub decision: Option<DecisionKind>,
    pub decision_reason: Option<String>,
    pub decision_note: Option<String>,
    pub decision_state: Option<DecisionState>,
    /// The server's reason for refusing the rep's decision.
    pub refused_message: Option<String>,
    pub taken_away_reason: Option<TakeAwayReason>,
}

/// One lead with everything the lead view shows.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "ts", ts(optional_fields = nullable))]
pub struct LeadDetail {
    pub summary: LeadSummary,
    pub lead: Lead,
    pub history: Vec<HistoryEntry>,
    /// Under which definition it qualified, how to open, and why it came
    /// to this rep (filled in by the engine from the cached definition).
    #[serde(default)]
    pub context: crate::explain::LeadContext,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "ts", ts(optional_fields = nullable))]
pub struct HistoryEntry {
    pub at: Timestamp,
    pub kind: String,
    pub detail: String,
}

/// What to list.
#[derive(Clone, Debug, Default)]
pub struct InboxQuery {
    /// `None` lists every status.
    pub status: Option<LocalStatus>,
    /// Words to find in name, company, email, title, quiz answers and notes.
    pub search: Option<String>,
    pub limit: u32,
    pub offset: u32,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "ts", ts(optional_fields = nullable))]
pub struct InboxCounts {
    pub new: u32,
    pub accepted: u32,
    pub rejected: u32,
    pub taken_away: u32,
}

/// What applying a sync page changed, for notifications.
#[derive(Clone, Debug, Default)]
pub struct Applied {
    pub entries: usize,
    /// Assignments seen for the first time (not notified before), in order.
    pub new_assignments: Vec<LeadSummary>,
    pub taken_away: Vec<LeadId>,
    /// Offers the server reminded the rep of, still awaiting their
    /// decision and not yet due, with the SLA deadline it gave.
    pub reminders: Vec<(LeadSummary, Timestamp)>,
    /// Definition versions published, in order (the engine fetches those
    /// it has not cached).
    pub definitions: Vec<u32>,
    /// The rep as the server last described them, when it changed.
    pub rep: Option<Rep>,
}

/// A decision still inside its undo window.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "ts", ts(optional_fields = nullable))]
pub struct Undoable {
    pub lead_id: LeadId,
    pub name: String,
    pub decision: DecisionKind,
    pub reason: Option<String>,
    /// When the pusher sends it; undo works until then.
    pub send_at: Timestamp,
}

/// A write waiting to reach the server.
#[derive(Clone, Debug, PartialEq)]
pub struct OutboxRow {
    pub id: i64,
    pub kind: OutboxKind,
    pub lead_id: Option<LeadId>,
    pub body: String,
    pub idempotency_key: String,
    pub attempts: u32,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutboxKind {
    Feedback,
    Availability,
}

impl WireName for OutboxKind {}

/// The cache. Writes run one at a time on a thread of their own (as the
/// server's writer does), so a pull's page commit, an index merge or a
/// checkpoint never holds a lock a read waits for; reads go through their
/// own connections, which WAL lets read while the writer writes.
pub struct Store {
    jobs: Option<std::sync::mpsc::Sender<Job>>,
    writer: Option<std::thread::JoinHandle<()>>,
    path: PathBuf,
    idle_readers: Mutex<Vec<Connection>>,
    /// A page of a many-page pull raised the writer's page cache.
    bulk: std::sync::atomic::AtomicBool,
}

/// A write, run on the writer's connection. The queue holds at most one
/// job per waiting caller: every caller waits for its answer.
type Job = Box<dyn FnOnce(&mut Connection) + Send>;

impl Drop for Store {
    fn drop(&mut self) {
        // Closing the queue ends the writer after the jobs already queued;
        // waiting for it closes the file before, say, sign-out removes it.
        self.jobs.take();
        if let Some(t) = self.writer.take() {
            let _ = t.join();
        }
    }
}

/// Reads a stored enum column through its serde name; a value the enum does
/// not have is an error, never a guess.
fn column<T: WireName>(r: &Row<'_>, i: usize) -> rusqlite::Result<T> {
    let text: String = r.get(i)?;
    T::parse(&text).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(i, rusqlite::types::Type::Text, Box::new(e))
    })
}

fn column_opt<T: WireName>(r: &Row<'_>, i: usize) -> rusqlite::Result<Option<T>> {
    match r.get::<_, Option<String>>(i)? {
        None => Ok(None),
        Some(text) => T::parse(&text).map(Some).map_err(|e| {
            rusqlite::Error::FromSqlConversionFailure(i, rusqlite::types::Type::Text, Box::new(e))
        }),
    }
}

/// Qualified, so the FTS join cannot make them ambiguous.
const SUMMARY_COLUMNS: &str = "leads.id, leads.external_id, leads.status, leads.name, leads.company, leads.email, leads.title, leads.channel, leads.score, leads.assignment_id, leads.assigned_at, leads.sla_due_at, leads.decision, leads.decision_reason, leads.decision_note, leads.decision_state, leads.refused_message, leads.taken_away_reason";

fn summary_from_row(r: &Row<'_>) -> rusqlite::Result<LeadSummary> {
    Ok(LeadSummary {
        id: r.get(0)?,
        external_id: r.get(1)?,
        status: column(r, 2)?,
        name: r.get(3)?,
        company: r.get(4)?,
        email: r.get(5)?,
        title: r.get(6)?,
        channel: r.get(7)?,
        score: r.get(8)?,
        assignment_id: r.get(9)?,
        assigned_at: r.get::<_, Option<i64>>(10)?.map(Timestamp),
        sla_due_at: r.get::<_, Option<i64>>(11)?.map(Timestamp),
        decision: column_opt(r, 12)?,
        decision_reason: r.get(13)?,
        decision_note: r.get(14)?,
        decision_state: column_opt(r, 15)?,
        refused_message: r.get(16)?,
        taken_away_reason: column_opt(r, 17)?,
    })
}

/// The words of a search, split where the unicode61 tokenizer splits.
fn search_words(input: &str) -> Vec<String> {
    input
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .take(16)
        .map(str::to_lowercase)
        .collect()
}

/// Most exact tokens a prefix may expand into before a prefix query is cheaper.
const MAX_EXPANSION: usize = 32;

/// The FTS5 expression for one word: `"w"` for one character; the exact
/// tokens the vocabulary holds for the prefix, OR-ed (read lazily, so a page
/// of hits costs a page of work); a prefix query when there are too many or
/// the word is not plain ASCII (the tokenizer folds diacritics; the
/// vocabulary range lookup would not). `None`: no token matches at all.
fn expand_prefix(c: &Connection, word: &str) -> Result<Option<String>> {
    if word.chars().count() < 2 {
        return Ok(Some(format!("\"{word}\"")));
    }
    if !word.is_ascii() {
        return Ok(Some(format!("\"{word}\"*")));
    }
    let upper = format!("{word}\u{10FFFF}");
    let mut stmt = c.prepare_cached(
        "SELECT term FROM leads_fts_vocab WHERE term >= ?1 AND term < ?2 LIMIT ?3",
    )?;
    let tokens = stmt
        .query_map(params![word, upper, MAX_EXPANSION as i64 + 1], |r| {
            r.get::<_, String>(0)
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(match tokens.len() {
        0 => None,
        n if n > MAX_EXPANSION => Some(format!("\"{word}\"*")),
        _ => Some(format!(
            "({})",
            tokens
                .iter()
                .map(|t| format!("\"{}\"", t.replace('"', "\"\"")))
                .collect::<Vec<_>>()
                .join(" OR ")
        )),
    })
}

impl Store {
    /// Opens (creating and migrating) the cache at `path`: a file only its
    /// owner can read, in a directory only its owner can enter.
    pub fn open(path: &Path) -> Result<Store> {
        if let Some(dir) = path.parent() {
            crate::profile::create_private_dir(dir)?;
        }
        // SQLite gives the WAL and shared-memory files the database file's
        // mode, so creating it 0600 keeps all three private.
        crate::profile::ensure_private_file(path)?;
        for suffix in ["-wal", "-shm"] {
            let side = PathBuf::from(format!("{}{suffix}", path.display()));
            if side.exists() {
                crate::profile::ensure_private_file(&side)?;
            }
        }
        let mut conn = Connection::open(path).map_err(|e| {
            CoreError::Storage(format!("cannot open the cache {}: {e}", path.display()))
        })?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        // Rows carry a lead's full context (~2-3 KB): larger pages hold
        // several per page. Only takes effect on a new file, before WAL.
        conn.execute_batch(&format!(
            "PRAGMA page_size=16384; PRAGMA cache_size=-{CACHE_KIB_IDLE};"
        ))?;
        // The writer never checkpoints by itself: a commit that did would
        // keep every write queued behind it waiting. `after_pull` checkpoints
        // from a connection of its own.
        conn.execute_batch("PRAGMA wal_autocheckpoint=0;")?;
        conn.query_row("PRAGMA journal_mode=WAL", [], |_| Ok(()))?;
        // FULL: an accepted decision survives power loss, not only a crash.
        conn.execute_batch("PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;")?;
        let current: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        let newest = MIGRATIONS.last().map(|m| m.0).unwrap_or(0);
        if current > newest {
            return Err(CoreError::Storage(format!(
                "the cache {} was written by a newer Baton (schema {current}); update Baton or use another --data-dir",
                path.display()
            )));
        }
        for (version, sql) in MIGRATIONS.iter().filter(|m| m.0 > current) {
            let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            tx.execute_batch(sql)?;
            tx.pragma_update(None, "user_version", version)?;
            tx.commit()?;
        }
        let (jobs, queue) = std::sync::mpsc::channel::<Job>();
        let writer = std::thread::Builder::new()
            .name("baton-cache-writer".into())
            .spawn(move || {
                while let Ok(job) = queue.recv() {
                    job(&mut conn);
                }
            })
            .map_err(|e| CoreError::Storage(format!("cannot start the cache's writer: {e}")))?;
        Ok(Store {
            jobs: Some(jobs),
            writer: Some(writer),
            path: path.to_path_buf(),
            idle_readers: Mutex::new(Vec::new()),
            bulk: std::sync::atomic::AtomicBool::new(false),
        })
    }

    /// Runs `f` on a read connection. Reads never wait for the writer.
    fn read<R>(&self, f: impl FnOnce(&Connection) -> Result<R>) -> Result<R> {
        let idle = self
            .idle_readers
            .lock()
            .map_err(|_| CoreError::Storage("the cache's reader pool was poisoned".into()))?
            .pop();
        let conn = match idle {
            Some(c) => c,
            None => self.open_reader()?,
        };
        let result = f(&conn);
        if let Ok(mut idle) = self.idle_readers.lock()
            && idle.len() < IDLE_READERS
        {
            idle.push(conn);
        }
        result
    }

    fn open_reader(&self) -> Result<Connection> {
        let c = Connection::open_with_flags(
            &self.path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(|e| {
            CoreError::Storage(format!(
                "cannot open the cache {}: {e}",
                self.path.display()
            ))
        })?;
        c.busy_timeout(std::time::Duration::from_secs(5))?;
        c.execute_batch(&format!(
            "PRAGMA query_only=ON; PRAGMA cache_size=-{CACHE_KIB_READER};"
        ))?;
        Ok(c)
    }

    /// Runs `f` on the writer thread and waits for its answer. A panic in
    /// `f` fails only this write (its transaction rolls back).
    fn write<R: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Connection) -> Result<R> + Send + 'static,
    ) -> Result<R> {
        let stopped = || CoreError::Storage("the cache's writer has stopped".into());
        let (answer, answered) = std::sync::mpsc::sync_channel(1);
        let job: Job = Box::new(move |c| {
            let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(c)))
                .unwrap_or_else(|_| {
                    Err(CoreError::Storage(
                        "a write to the cache failed unexpectedly and was not applied".into(),
                    ))
                });
            let _ = answer.send(result);
        });
        self.jobs
            .as_ref()
            .ok_or_else(stopped)?
            .send(job)
            .map_err(|_| stopped())?;
        answered.recv().map_err(|_| stopped())?
    }

    pub fn get_kv(&self, key: &str) -> Result<Option<String>> {
        self.read(|c| {
            Ok(c.prepare_cached("SELECT value FROM kv WHERE key = ?1")?
                .query_row([key], |r| r.get(0))
                .optional()?)
        })
    }

    pub fn set_kv(&self, key: &str, value: &str) -> Result<()> {
        let (key, value) = (key.to_string(), value.to_string());
        self.write(move |c| {
            c.execute(
                "INSERT INTO kv (key, value) VALUES (?1, ?2) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                params![key, value],
            )?;
            Ok(())
        })
    }

    pub fn delete_kv(&self, key: &str) -> Result<()> {
        let key = key.to_string();
        self.write(move |c| {
            c.execute("DELETE FROM kv WHERE key = ?1", [key])?;
            Ok(())
        })
    }

    /// The feed position after the last applied page (`None`: never synced).
    pub fn cursor(&self) -> Result<Option<String>> {
        self.get_kv("cursor")
    }

    /// Housekeeping after a pull of `changes` entries, done so that no write
    /// waits long behind it:
    /// - after a large pull, the search index's segments are merged (searches
    ///   then read one doclist per token) in small steps, each a job of its
    ///   own, so a decision queued meanwhile is written between two steps;
    /// - the writer's bulk page cache is given back;
    /// - the write-ahead log is folded back into the file by a connection of
    ///   its own (a passive checkpoint runs beside the writer, not on it).
    ///
    /// A small pull (a lead or two arriving) costs nothing here until the
    /// log has grown.
    pub fn after_pull(&self, changes: usize) -> Result<()> {
        let bulk = self.bulk.swap(false, std::sync::atomic::Ordering::Relaxed);
        if changes >= 5_000 {
            // Each step writes at most this many pages (16 KiB each).
            const MERGE_PAGES: i64 = 256;
            // Bounded, though each step merges and the index is finite.
            for _ in 0..100_000 {
                let worked = self.write(move |c| {
                    let before = c.total_changes();
                    c.execute(
                        "INSERT INTO leads_fts (leads_fts, rank) VALUES ('merge', ?1)",
                        [-MERGE_PAGES],
                    )?;
                    // SQLite's documented test: two or more changes means the step merged something.
                    Ok(c.total_changes() - before >= 2)
                })?;
                if !worked {
                    break;
                }
            }
        }
        if bulk || changes >= 1_000 {
            self.write(|c| {
                c.execute_batch(&format!(
                    "PRAGMA cache_size=-{CACHE_KIB_IDLE}; PRAGMA shrink_memory;"
                ))?;
                Ok(())
            })?;
        }
        let wal = std::fs::metadata(format!("{}-wal", self.path.display()))
            .map(|m| m.len())
            .unwrap_or(0);
        if bulk || changes >= 1_000 || wal > CHECKPOINT_OVER_BYTES {
            self.checkpoint()?;
        }
        Ok(())
    }

    /// Copies the write-ahead log into the database file from a connection
    /// of its own, beside the writer.
    pub fn checkpoint(&self) -> Result<()> {
        let c = Connection::open_with_flags(
            &self.path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        c.busy_timeout(std::time::Duration::from_secs(5))?;
        c.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()))?;
        Ok(())
    }

    /// Forgets the cursor, so the next sync reads the feed from the start.
    pub fn reset_cursor(&self) -> Result<()> {
        self.delete_kv("cursor")
    }

    /// Applies one page of the feed and advances the cursor, in one transaction.
    pub fn apply_page(&self, page: SyncPage, now: Timestamp) -> Result<Applied> {
        self.apply_prepared(PreparedPage::new(page)?, now)
    }

    /// Applies a page prepared with [`PreparedPage::new`] (which needs no
    /// writer, so the next page can be prepared on another core meanwhile).
    pub fn apply_prepared(&self, page: PreparedPage, now: Timestamp) -> Result<Applied> {
        if page.has_more() {
            self.bulk.store(true, std::sync::atomic::Ordering::Relaxed);
        }
        self.write(move |c| {
            if page.has_more() {
                // A pull of many pages (a first sync): a large page cache
                // keeps the indexes' pages hot until `after_pull`.
                c.execute_batch(&format!("PRAGMA cache_size=-{CACHE_KIB_BULK}"))?;
            }
            // A page need not survive power loss: its cursor commits with it,
            // so a lost page is simply pulled again. Decisions stay FULL.
            c.execute_batch("PRAGMA synchronous=NORMAL")?;
            let result = apply_page_in(c, &page, now);
            c.execute_batch("PRAGMA synchronous=FULL")?;
            result
        })
    }
}

/// A sync page with the CPU work of storing it done: each lead's context
/// serialised and compressed.
pub struct PreparedPage {
    page: SyncPage,
    /// `packed[i]`: the stored form of entry i's lead, if it carries one.
    packed: Vec<Option<Vec<u8>>>,
}

impl PreparedPage {
    pub fn new(page: SyncPage) -> Result<PreparedPage> {
        let packed = page
            .changes
            .iter()
            .map(|e| match &e.change {
                Change::LeadAssigned { lead } | Change::LeadUpdated { lead } => {
                    pack_lead(lead).map(Some)
                }
                _ => Ok(None),
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(PreparedPage { page, packed })
    }

    pub fn has_more(&self) -> bool {
        self.page.has_more
    }
}

fn apply_page_in(c: &mut Connection, prepared: &PreparedPage, now: Timestamp) -> Result<Applied> {
    let page = &prepared.page;
    let tx = c.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let mut applied = Applied {
        entries: page.changes.len(),
        ..Default::default()
    };
    let mut known = Known::load(&tx, page)?;
    for (entry, packed) in page.changes.iter().zip(&prepared.packed) {
        apply_change(
            &tx,
            &mut known,
            &entry.change,
            packed.as_deref(),
            entry.at,
            now,
            &mut applied,
        )?;
    }
    tx.execute(
        "INSERT INTO kv (key, value) VALUES ('cursor', ?1) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        [&page.next_cursor.0],
    )?;
    tx.execute(
        "INSERT INTO kv (key, value) VALUES ('last_sync', ?1) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        [now.millis().to_string()],
    )?;
    tx.commit()?;
    Ok(applied)
}

/// What the cache held, before this page, of the leads the page touches:
/// read in one query instead of one per entry. A lead the page has already
/// changed is read again, so later entries see earlier ones.
struct Known {
    before: std::collections::HashMap<LeadId, Existing>,
    touched: std::collections::HashSet<LeadId>,
}

impl Known {
    fn load(tx: &Transaction<'_>, page: &SyncPage) -> Result<Known> {
        let ids: Vec<LeadId> = page
            .changes
            .iter()
            .filter_map(|e| match &e.change {
                Change::LeadAssigned { lead } | Change::LeadUpdated { lead } => Some(lead.id),
                Change::LeadTakenAway { lead_id, .. } => Some(*lead_id),
                Change::DecisionRecorded { decision, .. } => Some(decision.lead_id),
                Change::LeadReminder { lead_id, .. } => Some(*lead_id),
                Change::DefinitionPublished { .. }
                | Change::RepChanged { .. }
                | Change::Unknown => None,
            })
            .collect();
        let mut before = std::collections::HashMap::with_capacity(ids.len());
        let mut stmt = tx.prepare_cached(
            "SELECT id, assignment_id, decision_state, status, server_version, decision_note, notified_assignment \
             FROM leads WHERE id IN (SELECT value FROM json_each(?1))",
        )?;
        let mut rows = stmt.query([serde_json::to_string(&ids)?])?;
        while let Some(r) = rows.next()? {
            before.insert(r.get::<_, LeadId>(0)?, existing_from_row(r, 1)?);
        }
        Ok(Known {
            before,
            touched: std::collections::HashSet::new(),
        })
    }

    /// The lead as the cache holds it now.
    fn get(&mut self, tx: &Transaction<'_>, id: LeadId) -> Result<Option<Existing>> {
        if self.touched.contains(&id) {
            return existing(tx, id);
        }
        self.touched.insert(id);
        Ok(self.before.remove(&id))
    }
}

impl Store {
    pub fn inbox(&self, q: &InboxQuery) -> Result<Vec<LeadSummary>> {
        let words = q.search.as_deref().map(search_words).unwrap_or_default();
        let search = (!words.is_empty()).then(String::new);
        // One statement per shape, so each walks its own index and stops at
        // the page instead of sorting the whole cache.
        let status = q.status.map(|s| s.as_str());
        let (sql, by_status) = match (&search, q.status) {
            (Some(_), _) => (
                // FTS yields rowids (lead ids, which grow with time) in
                // descending order; the join stops after one page of matches.
                format!(
                    "SELECT {SUMMARY_COLUMNS} FROM leads_fts f JOIN leads ON leads.id = f.rowid \
                     WHERE leads_fts MATCH ?1 AND (?2 IS NULL OR leads.status = ?2) \
                     ORDER BY f.rowid DESC LIMIT ?3 OFFSET ?4"
                ),
                false,
            ),
            (None, Some(LocalStatus::New)) => (
                format!(
                    "SELECT {SUMMARY_COLUMNS} FROM leads WHERE status = ?1 \
                     ORDER BY sla_due_at, leads.id LIMIT ?2 OFFSET ?3"
                ),
                true,
            ),
            (None, Some(_)) => (
                format!(
                    "SELECT {SUMMARY_COLUMNS} FROM leads WHERE status = ?1 \
                     ORDER BY sla_due_at DESC, leads.id DESC LIMIT ?2 OFFSET ?3"
                ),
                true,
            ),
            (None, None) => (
                format!(
                    "SELECT {SUMMARY_COLUMNS} FROM leads \
                     ORDER BY leads.id DESC LIMIT ?1 OFFSET ?2"
                ),
                false,
            ),
        };
        self.read(|c| {
            let mut expression = Vec::with_capacity(words.len());
            for w in &words {
                match expand_prefix(c, w)? {
                    Some(e) => expression.push(e),
                    // A word no indexed token starts with: nothing can match.
                    None => return Ok(Vec::new()),
                }
            }
            let search = search.map(|_| expression.join(" AND "));
            let mut stmt = c.prepare_cached(&sql)?;
            let limit = q.limit.max(1);
            let rows = match (&search, by_status) {
                (Some(m), _) => {
                    stmt.query_map(params![m, status, limit, q.offset], summary_from_row)?
                }
                (None, true) => {
                    stmt.query_map(params![status, limit, q.offset], summary_from_row)?
                }
                (None, false) => stmt.query_map(params![limit, q.offset], summary_from_row)?,
            };
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
    }

    pub fn counts(&self) -> Result<InboxCounts> {
        self.read(|c| {
            let mut counts = InboxCounts::default();
            let mut stmt =
                c.prepare_cached("SELECT status, COUNT(*) FROM leads GROUP BY status")?;
            let mut rows = stmt.query([])?;
            while let Some(r) = rows.next()? {
                let n: u32 = r.get(1)?;
                match column::<LocalStatus>(r, 0)? {
                    LocalStatus::New => counts.new = n,
                    LocalStatus::Accepted => counts.accepted = n,
                    LocalStatus::Rejected => counts.rejected = n,
                    LocalStatus::TakenAway => counts.taken_away = n,
                }
            }
            Ok(counts)
        })
    }

    pub fn summary(&self, id: LeadId) -> Result<Option<LeadSummary>> {
        self.read(|c| {
            Ok(c.prepare_cached(&format!(
                "SELECT {SUMMARY_COLUMNS} FROM leads WHERE id = ?1"
            ))?
            .query_row([id], summary_from_row)
            .optional()?)
        })
    }

    pub fn lead(&self, id: LeadId) -> Result<Option<LeadDetail>> {
        self.read(|c| {
            let found = c
                .prepare_cached(&format!(
                    "SELECT {SUMMARY_COLUMNS}, lead_json FROM leads WHERE id = ?1"
                ))?
                .query_row([id], |r| {
                    Ok((summary_from_row(r)?, r.get::<_, Vec<u8>>(18)?))
                })
                .optional()?;
            let Some((summary, packed)) = found else {
                return Ok(None);
            };
            let lead = unpack_lead(&packed)?;
            let mut history = c
                .prepare_cached(
                    "SELECT at, kind, detail FROM lead_history WHERE lead_id = ?1 ORDER BY id",
                )?
                .query_map([id], |r| {
                    Ok(HistoryEntry {
                        at: Timestamp(r.get(0)?),
                        kind: r.get(1)?,
                        detail: r.get(2)?,
                    })
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            // The offer itself is not stored as a history row (one insert
            // fewer per lead on a first sync): it is read off the assignment.
            if let Some(a) = &lead.assignment {
                history.push(HistoryEntry {
                    at: a.assigned_at,
                    kind: "assigned".into(),
                    detail: a.why.clone(),
                });
                history.sort_by_key(|h| h.at);
            }
            Ok(Some(LeadDetail {
                summary,
                lead,
                history,
                context: Default::default(),
            }))
        })
    }

    /// Records the rep's decision and its outbox row in one durable
    /// transaction; the pusher sends it from `send_after` on, and until then
    /// [`Store::undo`] takes it back. Refuses leads that are not awaiting a
    /// decision.
    pub fn decide(
        &self,
        lead_id: LeadId,
        req: &FeedbackRequest,
        idempotency_key: &str,
        now: Timestamp,
        send_after: Timestamp,
    ) -> Result<LeadSummary> {
        let (req, idempotency_key) = (req.clone(), idempotency_key.to_string());
        self.write(move |c| {
            let tx = c.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            let summary = tx
                .prepare_cached(&format!("SELECT {SUMMARY_COLUMNS} FROM leads WHERE id = ?1"))?
                .query_row([lead_id], summary_from_row)
                .optional()?
                .ok_or(CoreError::LeadNotFound(lead_id))?;
            if summary.status != LocalStatus::New || summary.decision_state.is_some() {
                return Err(CoreError::NotActionable(match summary.status {
                    LocalStatus::Accepted => format!("lead {lead_id} is already accepted"),
                    LocalStatus::Rejected => format!("lead {lead_id} is already rejected"),
                    LocalStatus::TakenAway => format!(
                        "lead {lead_id} is no longer yours: it was taken away (SLA) and routed to another rep"
                    ),
                    LocalStatus::New => format!("lead {lead_id} already has a decision on its way"),
                }));
            }
            let (status, word) = match req.decision {
                DecisionKind::Accept => (LocalStatus::Accepted, "accepted"),
                DecisionKind::Reject => (LocalStatus::Rejected, "rejected"),
            };
            tx.execute(
                "UPDATE leads SET status = ?2, decision = ?3, decision_reason = ?4, decision_note = ?5, \
                 decided_at = ?6, decision_state = 'pending', refused_message = NULL, updated_at = ?6 WHERE id = ?1",
                params![
                    lead_id,
                    status.as_str(),
                    req.decision.as_str(),
                    req.reason,
                    req.note,
                    now.millis()
                ],
            )?;
            if let Some(note) = &req.note {
                // The index holds no text to update in place: re-index the lead.
                let packed: Vec<u8> =
                    tx.query_row("SELECT lead_json FROM leads WHERE id = ?1", [lead_id], |r| r.get(0))?;
                let lead = unpack_lead(&packed)?;
                index_for_search(&tx, &lead, Some(note), true)?;
            }
            tx.execute(
                "INSERT INTO outbox (kind, lead_id, body, idempotency_key, created_at, send_after) \
                 VALUES ('feedback', ?1, ?2, ?3, ?4, ?5)",
                params![lead_id, serde_json::to_string(&req)?, idempotency_key, now.millis(), send_after.millis()],
            )?;
            let reason = req
                .reason
                .as_deref()
                .map(|r| format!(" ({r})"))
                .unwrap_or_default();
            let when = if send_after > now { "; sent when the undo window ends" } else { "; sending to the server" };
            history(&tx, lead_id, now, "decided", &format!("you {word} it{reason}{when}"))?;
            let summary = tx
                .prepare_cached(&format!("SELECT {SUMMARY_COLUMNS} FROM leads WHERE id = ?1"))?
                .query_row([lead_id], summary_from_row)?;
            tx.commit()?;
            Ok(summary)
        })
    }

    /// Queues an availability change for the server.
    /// Queues an availability change and records it as the rep's latest,
    /// in one transaction.
    pub fn queue_availability(
        &self,
        availability: Availability,
        idempotency_key: &str,
        now: Timestamp,
    ) -> Result<()> {
        let body = serde_json::to_string(&AvailabilityUpdate { availability })?;
        let latest = serde_json::to_string(&availability)?;
        let idempotency_key = idempotency_key.to_string();
        self.write(move |c| {
            let tx = c.transaction()?;
            tx.execute(
                "INSERT INTO outbox (kind, body, idempotency_key, created_at) VALUES ('availability', ?1, ?2, ?3)",
                params![body, idempotency_key, now.millis()],
            )?;
            tx.execute(
                "INSERT INTO kv (key, value) VALUES ('availability', ?1) \
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                [latest],
            )?;
            tx.commit()?;
            Ok(())
        })
    }

    /// The availability last set from this profile (`None`: never set here).
    pub fn availability(&self) -> Result<Option<Availability>> {
        Ok(match self.get_kv("availability")? {
            Some(v) => serde_json::from_str(&v).ok(),
            None => None,
        })
    }

    /// A definition version seen before (versions never change once published).
    pub fn definition(&self, version: u32) -> Result<Option<Definition>> {
        let json: Option<String> = self.read(|c| {
            Ok(
                c.prepare_cached("SELECT definition FROM definitions WHERE version = ?1")?
                    .query_row([version], |r| r.get(0))
                    .optional()?,
            )
        })?;
        Ok(json.map(|j| serde_json::from_str(&j)).transpose()?)
    }

    /// Keeps a definition version for good (a version already kept stays as it was).
    pub fn save_definition(&self, definition: &Definition, now: Timestamp) -> Result<()> {
        let (version, json) = (definition.version, serde_json::to_string(definition)?);
        self.write(move |c| {
            c.execute(
                "INSERT INTO definitions (version, definition, fetched_at) VALUES (?1, ?2, ?3) \
                 ON CONFLICT(version) DO NOTHING",
                params![version, json, now.millis()],
            )?;
            Ok(())
        })
    }

    /// The rep as the server last described them (`GET /v1/me` or a
    /// `rep_changed` entry of the feed), if ever.
    pub fn rep(&self) -> Result<Option<Rep>> {
        // A rep kept by an older Baton that no longer parses is simply
        // not known: the next `me` replaces it.
        Ok(self
            .get_kv("rep")?
            .and_then(|json| serde_json::from_str(&json).ok()))
    }

    pub fn save_rep(&self, rep: &Rep) -> Result<()> {
        self.set_kv("rep", &serde_json::to_string(rep)?)
    }

    /// The oldest write due by `now` (its undo window over) still to send.
    pub fn next_outbox(&self, now: Timestamp) -> Result<Option<OutboxRow>> {
        self.read(|c| {
            Ok(c.prepare_cached(
                "SELECT id, kind, lead_id, body, idempotency_key, attempts FROM outbox \
                 WHERE state = 'pending' AND send_after <= ?1 ORDER BY id LIMIT 1",
            )?
            .query_row([now.millis()], |r| {
                Ok(OutboxRow {
                    id: r.get(0)?,
                    kind: column(r, 1)?,
                    lead_id: r.get(2)?,
                    body: r.get(3)?,
                    idempotency_key: r.get(4)?,
                    attempts: r.get(5)?,
                })
            })
            .optional()?)
        })
    }

    /// Writes not yet recorded by the server, those in their undo window included.
    pub fn outbox_depth(&self) -> Result<u32> {
        self.read(|c| {
            Ok(c.query_row(
                "SELECT COUNT(*) FROM outbox WHERE state = 'pending'",
                [],
                |r| r.get(0),
            )?)
        })
    }

    /// The server recorded the write.
    pub fn outbox_done(&self, row: &OutboxRow, answer: &str, now: Timestamp) -> Result<()> {
        let (row, answer) = (row.clone(), answer.to_string());
        self.write(move |c| {
            let tx = c.transaction()?;
            tx.execute(
                "UPDATE outbox SET state = 'done', answer = ?2, attempts = attempts + 1 WHERE id = ?1",
                params![row.id, answer],
            )?;
            if let Some(lead) = row.lead_id {
                let changed = tx.execute(
                    "UPDATE leads SET decision_state = 'confirmed', updated_at = ?2 WHERE id = ?1 AND decision_state = 'pending'",
                    params![lead, now.millis()],
                )?;
                if changed == 1 {
                    history(&tx, lead, now, "confirmed", "the server recorded your decision")?;
                }
            }
            tx.commit()?;
            Ok(())
        })
    }

    /// The server refused the write for good. When the lead is no longer the
    /// rep's (409) it leaves the inbox; when the request itself was invalid
    /// (say, a reason the server no longer offers) the lead goes back to
    /// awaiting a decision, with the server's message shown.
    pub fn outbox_refused(
        &self,
        row: &OutboxRow,
        message: &str,
        lead_gone: bool,
        now: Timestamp,
    ) -> Result<()> {
        let (row, message) = (row.clone(), message.to_string());
        self.write(move |c| {
            let tx = c.transaction()?;
            tx.execute(
                "UPDATE outbox SET state = 'refused', answer = ?2, attempts = attempts + 1 WHERE id = ?1",
                params![row.id, message],
            )?;
            if let Some(lead) = row.lead_id {
                if lead_gone {
                    tx.execute(
                        "UPDATE leads SET status = 'taken_away', decision_state = 'refused', refused_message = ?2, \
                         taken_away_at = ?3, updated_at = ?3 WHERE id = ?1",
                        params![lead, message, now.millis()],
                    )?;
                } else {
                    tx.execute(
                        "UPDATE leads SET status = 'new', decision = NULL, decision_reason = NULL, \
                         decision_note = NULL, decided_at = NULL, decision_state = NULL, refused_message = ?2, \
                         updated_at = ?3 WHERE id = ?1",
                        params![lead, message, now.millis()],
                    )?;
                }
                let then = if lead_gone { "" } else { "; decide again" };
                history(
                    &tx,
                    lead,
                    now,
                    "refused",
                    &format!("the server refused your decision: {message}{then}"),
                )?;
            }
            tx.commit()?;
            Ok(())
        })
    }

    pub fn outbox_attempt_failed(&self, row: &OutboxRow, error: &str) -> Result<()> {
        let (id, error) = (row.id, error.to_string());
        self.write(move |c| {
            c.execute(
                "UPDATE outbox SET attempts = attempts + 1, last_error = ?2 WHERE id = ?1",
                params![id, error],
            )?;
            Ok(())
        })
    }

    /// Takes back the rep's decision on `lead_id` while it is still in its
    /// undo window: its outbox row goes, and the lead awaits a decision
    /// again. After the window the pusher may already have sent it, so undo
    /// is refused ([`CoreError::TooLateToUndo`]); the two never both happen,
    /// since the pusher reads only rows whose window is over.
    pub fn undo(&self, lead_id: LeadId, now: Timestamp) -> Result<LeadSummary> {
        self.write(move |c| {
            let tx = c.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            let row: Option<(i64, i64)> = tx
                .prepare_cached(
                    "SELECT id, send_after FROM outbox WHERE lead_id = ?1 AND kind = 'feedback' \
                     AND state = 'pending' ORDER BY id DESC LIMIT 1",
                )?
                .query_row([lead_id], |r| Ok((r.get(0)?, r.get(1)?)))
                .optional()?;
            let Some((row_id, send_after)) = row else {
                let known: bool = tx
                    .query_row("SELECT 1 FROM leads WHERE id = ?1", [lead_id], |_| Ok(true))
                    .optional()?
                    .unwrap_or(false);
                if !known {
                    return Err(CoreError::LeadNotFound(lead_id));
                }
                return Err(CoreError::TooLateToUndo(lead_id));
            };
            if send_after <= now.millis() {
                return Err(CoreError::TooLateToUndo(lead_id));
            }
            tx.execute("DELETE FROM outbox WHERE id = ?1", [row_id])?;
            let note: Option<String> = tx.query_row(
                "SELECT decision_note FROM leads WHERE id = ?1",
                [lead_id],
                |r| r.get(0),
            )?;
            tx.execute(
                "UPDATE leads SET status = 'new', decision = NULL, decision_reason = NULL, decision_note = NULL, \
                 decided_at = NULL, decision_state = NULL, updated_at = ?2 WHERE id = ?1",
                params![lead_id, now.millis()],
            )?;
            if note.is_some() {
                // The note was indexed for search with the decision: drop it.
                let packed: Vec<u8> =
                    tx.query_row("SELECT lead_json FROM leads WHERE id = ?1", [lead_id], |r| r.get(0))?;
                index_for_search(&tx, &unpack_lead(&packed)?, None, true)?;
            }
            history(&tx, lead_id, now, "undone", "you took your decision back before it was sent")?;
            let summary = tx
                .prepare_cached(&format!("SELECT {SUMMARY_COLUMNS} FROM leads WHERE id = ?1"))?
                .query_row([lead_id], summary_from_row)?;
            tx.commit()?;
            Ok(summary)
        })
    }

    /// Ends every undo window now (signing out sends what is decided).
    pub fn end_undo_windows(&self) -> Result<()> {
        self.write(|c| {
            c.execute(
                "UPDATE outbox SET send_after = 0 WHERE state = 'pending' AND send_after > 0",
                [],
            )?;
            Ok(())
        })
    }

    /// Decisions still inside their undo window at `now`, oldest first.
    pub fn undoable(&self, now: Timestamp) -> Result<Vec<Undoable>> {
        self.read(|c| {
            Ok(c.prepare_cached(
                "SELECT outbox.lead_id, leads.name, leads.decision, leads.decision_reason, outbox.send_after \
                 FROM outbox JOIN leads ON leads.id = outbox.lead_id \
                 WHERE outbox.state = 'pending' AND outbox.kind = 'feedback' AND outbox.send_after > ?1 \
                 ORDER BY outbox.id",
            )?
            .query_map([now.millis()], |r| {
                Ok(Undoable {
                    lead_id: r.get(0)?,
                    name: r.get(1)?,
                    decision: column(r, 2)?,
                    reason: r.get(3)?,
                    send_at: Timestamp(r.get(4)?),
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?)
        })
    }

    /// When the next write in its undo window falls due.
    pub fn next_send_at(&self, now: Timestamp) -> Result<Option<Timestamp>> {
        self.read(|c| {
            Ok(c.query_row(
                "SELECT MIN(send_after) FROM outbox WHERE state = 'pending' AND send_after > ?1",
                [now.millis()],
                |r| r.get::<_, Option<i64>>(0),
            )?
            .map(Timestamp))
        })
    }

    /// Leads awaiting a decision whose SLA ends within a sixth of its length
    /// (10 minutes of an hour) and that had no reminder yet; marks them reminded.
    pub fn take_due_reminders(&self, now: Timestamp) -> Result<Vec<LeadSummary>> {
        self.write(move |c| {
            let tx = c.transaction()?;
            let due = tx
                .prepare_cached(&format!(
                    "SELECT {SUMMARY_COLUMNS} FROM leads WHERE status = 'new' AND decision_state IS NULL \
                     AND sla_due_at IS NOT NULL AND sla_due_at > ?1 \
                     AND (sla_due_at - ?1) * 6 <= (sla_due_at - assigned_at) \
                     AND reminded_assignment IS NOT assignment_id \
                     ORDER BY sla_due_at LIMIT 50"
                ))?
                .query_map([now.millis()], summary_from_row)?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            for l in &due {
                tx.execute(
                    "UPDATE leads SET reminded_assignment = assignment_id WHERE id = ?1",
                    [l.id],
                )?;
            }
            let _ = now;
            tx.commit()?;
            Ok(due)
        })
    }

    /// The earliest moment a reminder could fall due.
    pub fn next_reminder_at(&self) -> Result<Option<Timestamp>> {
        self.read(|c| {
            Ok(c.query_row(
                "SELECT MIN(sla_due_at - (sla_due_at - assigned_at) / 6) FROM leads \
                 WHERE status = 'new' AND decision_state IS NULL AND sla_due_at IS NOT NULL \
                 AND reminded_assignment IS NOT assignment_id",
                [],
                |r| r.get::<_, Option<i64>>(0),
            )?
            .map(Timestamp))
        })
    }
}

fn history(
    tx: &Transaction<'_>,
    lead: LeadId,
    at: Timestamp,
    kind: &str,
    detail: &str,
) -> Result<()> {
    tx.prepare_cached(
        "INSERT INTO lead_history (lead_id, at, kind, detail) VALUES (?1, ?2, ?3, ?4)",
    )?
    .execute(params![lead, at.millis(), kind, detail])?;
    Ok(())
}

/// A lead's full context as stored: JSON, LZ4-compressed. Leads repeat
/// their field names and quiz questions, so this writes about a third of the
/// bytes through the WAL and back, for a few microseconds of CPU.
fn pack_lead(lead: &Lead) -> Result<Vec<u8>> {
    Ok(lz4_flex::compress_prepend_size(&serde_json::to_vec(lead)?))
}

fn unpack_lead(packed: &[u8]) -> Result<Lead> {
    let json = lz4_flex::decompress_size_prepended(packed).map_err(|e| {
        CoreError::Storage(format!(
            "a cached lead is damaged ({e}); run `baton logout` and sign in again"
        ))
    })?;
    Ok(serde_json::from_slice(&json)?)
}

fn index_for_search(
    tx: &Transaction<'_>,
    lead: &Lead,
    notes: Option<&str>,
    replace: bool,
) -> Result<()> {
    let quiz = lead
        .quiz
        .iter()
        .map(|q| q.answer.as_str())
        .collect::<Vec<_>>()
        .join("\n");
    if replace {
        tx.prepare_cached("DELETE FROM leads_fts WHERE rowid = ?1")?
            .execute([lead.id])?;
    }
    tx.prepare_cached(
        "INSERT INTO leads_fts (rowid, name, company, email, title, quiz, notes) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?
    .execute(params![
        lead.id,
        lead.contact.name,
        lead.contact.company,
        lead.contact.email,
        lead.contact.title,
        quiz,
        notes
    ])?;
    Ok(())
}

struct Existing {
    assignment_id: Option<i64>,
    notified_assignment: Option<i64>,
    decision_state: Option<DecisionState>,
    status: LocalStatus,
    server_version: i64,
    decision_note: Option<String>,
}

fn existing_from_row(r: &Row<'_>, at: usize) -> rusqlite::Result<Existing> {
    Ok(Existing {
        assignment_id: r.get(at)?,
        decision_state: column_opt(r, at + 1)?,
        status: column(r, at + 2)?,
        server_version: r.get(at + 3)?,
        decision_note: r.get(at + 4)?,
        notified_assignment: r.get(at + 5)?,
    })
}

fn existing(tx: &Transaction<'_>, id: LeadId) -> Result<Option<Existing>> {
    Ok(tx
        .prepare_cached(
            "SELECT assignment_id, decision_state, status, server_version, decision_note, notified_assignment \
             FROM leads WHERE id = ?1",
        )?
        .query_row([id], |r| existing_from_row(r, 0))
        .optional()?)
}

fn apply_change(
    tx: &Transaction<'_>,
    known: &mut Known,
    change: &Change,
    packed: Option<&[u8]>,
    at: Timestamp,
    now: Timestamp,
    applied: &mut Applied,
) -> Result<()> {
    match change {
        Change::LeadAssigned { lead } => {
            let Some(a) = &lead.assignment else {
                return Ok(());
            };
            let json = packed.ok_or_else(|| CoreError::Storage("page not prepared".into()))?;
            let prior = known.get(tx, lead.id)?;
            let keeps_local_decision = prior
                .as_ref()
                .is_some_and(|p| p.assignment_id == Some(a.id) && p.decision_state.is_some());
            if keeps_local_decision {
                // The rep already decided this offer: newer content, same decision.
                tx.prepare_cached(
                    "UPDATE leads SET lead_json = ?2, server_version = MAX(server_version, ?3) WHERE id = ?1",
                )?
                .execute(params![lead.id, json, lead.version])?;
            } else {
                tx.prepare_cached(
                    "INSERT INTO leads (id, external_id, status, server_version, assignment_id, assigned_at, \
                     sla_due_at, score, name, company, email, title, channel, lead_json, updated_at, \
                     notified_assignment) \
                     VALUES (?1, ?2, 'new', ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?4) \
                     ON CONFLICT(id) DO UPDATE SET status = 'new', server_version = excluded.server_version, \
                     assignment_id = excluded.assignment_id, assigned_at = excluded.assigned_at, \
                     sla_due_at = excluded.sla_due_at, score = excluded.score, name = excluded.name, \
                     company = excluded.company, email = excluded.email, title = excluded.title, \
                     channel = excluded.channel, lead_json = excluded.lead_json, decision = NULL, \
                     decision_reason = NULL, decision_note = NULL, decided_at = NULL, decision_state = NULL, \
                     refused_message = NULL, taken_away_reason = NULL, taken_away_at = NULL, \
                     notified_assignment = excluded.notified_assignment, updated_at = excluded.updated_at",
                )?
                .execute(params![
                    lead.id,
                    lead.external_id,
                    lead.version,
                    a.id,
                    a.assigned_at.millis(),
                    a.sla_due_at.millis(),
                    lead.score.value,
                    lead.contact.name,
                    lead.contact.company,
                    lead.contact.email,
                    lead.contact.title,
                    lead.source.channel,
                    json,
                    at.millis()
                ])?;
                index_for_search(tx, lead, None, prior.is_some())?;
            }
            let first_time = prior
                .as_ref()
                .is_none_or(|p| p.notified_assignment != Some(a.id));
            if first_time && !keeps_local_decision {
                let summary = tx
                    .prepare_cached(&format!(
                        "SELECT {SUMMARY_COLUMNS} FROM leads WHERE id = ?1"
                    ))?
                    .query_row([lead.id], summary_from_row)?;
                applied.new_assignments.push(summary);
            }
        }
        Change::LeadUpdated { lead } => {
            let Some(prior) = known.get(tx, lead.id)? else {
                return Ok(());
            };
            if lead.version < prior.server_version {
                return Ok(());
            }
            tx.prepare_cached(
                "UPDATE leads SET lead_json = ?2, server_version = ?3, score = ?4, name = ?5, company = ?6, \
                 email = ?7, title = ?8, channel = ?9, updated_at = ?10 WHERE id = ?1",
            )?
            .execute(params![
                lead.id,
                packed.ok_or_else(|| CoreError::Storage("page not prepared".into()))?,
                lead.version,
                lead.score.value,
                lead.contact.name,
                lead.contact.company,
                lead.contact.email,
                lead.contact.title,
                lead.source.channel,
                at.millis()
            ])?;
            index_for_search(tx, lead, prior.decision_note.as_deref(), true)?;
            history(tx, lead.id, at, "updated", "marketing updated this lead")?;
        }
        Change::LeadTakenAway {
            lead_id,
            assignment_id,
            reason,
            ..
        } => {
            let Some(prior) = known.get(tx, *lead_id)? else {
                return Ok(());
            };
            if prior.assignment_id != Some(*assignment_id) {
                return Ok(());
            }
            let reason_text = serde_json::to_value(reason)?
                .as_str()
                .unwrap_or("unknown")
                .to_string();
            if prior.decision_state == Some(DecisionState::Pending) {
                // The outbox will hear the server's 409 and mark it refused;
                // until then the rep's decision stands as they made it.
                history(
                    tx,
                    *lead_id,
                    at,
                    "taken_away",
                    "taken away before your decision reached the server",
                )?;
                return Ok(());
            }
            if prior.status == LocalStatus::New {
                tx.prepare_cached(
                    "UPDATE leads SET status = 'taken_away', taken_away_reason = ?2, taken_away_at = ?3, \
                     updated_at = ?3 WHERE id = ?1",
                )?
                .execute(params![lead_id, reason_text, at.millis()])?;
                applied.taken_away.push(*lead_id);
            }
            let why = match reason {
                TakeAwayReason::SlaExpired => {
                    "not accepted within the SLA: routed to the next rep".to_string()
                }
                TakeAwayReason::RepChanged => {
                    "taken back: you were moved to another team or deactivated; routed to another rep"
                        .to_string()
                }
                _ => format!("taken away ({reason_text})"),
            };
            history(tx, *lead_id, at, "taken_away", &why)?;
        }
        Change::DecisionRecorded {
            decision,
            disposition,
        } => {
            let Some(prior) = known.get(tx, decision.lead_id)? else {
                return Ok(());
            };
            if prior.assignment_id != Some(decision.assignment_id) {
                return Ok(());
            }
            let status = match decision.decision {
                DecisionKind::Accept => LocalStatus::Accepted,
                DecisionKind::Reject => LocalStatus::Rejected,
            };
            tx.prepare_cached(
                "UPDATE leads SET status = ?2, decision = ?3, decision_reason = ?4, decision_note = ?5, \
                 decided_at = ?6, decision_state = 'confirmed', refused_message = NULL, updated_at = ?7 WHERE id = ?1",
            )?
            .execute(params![
                decision.lead_id,
                status.as_str(),
                decision.decision.as_str(),
                decision.reason,
                decision.note,
                decision.decided_at.millis(),
                at.millis()
            ])?;
            let then = serde_json::to_value(disposition)?
                .as_str()
                .unwrap_or("")
                .replace('_', " ");
            history(
                tx,
                decision.lead_id,
                at,
                "decision_recorded",
                &format!(
                    "the server recorded: {} ({then})",
                    decision.decision.as_str()
                ),
            )?;
        }
        Change::LeadReminder {
            lead_id,
            assignment_id,
            sla_due_at,
        } => {
            let Some(prior) = known.get(tx, *lead_id)? else {
                return Ok(());
            };
            // Only an offer still waiting for this rep: one decided here,
            // taken away or re-offered since needs no reminder.
            if prior.assignment_id != Some(*assignment_id)
                || prior.status != LocalStatus::New
                || prior.decision_state.is_some()
            {
                return Ok(());
            }
            // The server's deadline is the one that counts (a business-hours
            // SLA moves it past the hours the rep is off).
            tx.prepare_cached("UPDATE leads SET sla_due_at = ?2 WHERE id = ?1")?
                .execute(params![lead_id, sla_due_at.millis()])?;
            history(
                tx,
                *lead_id,
                at,
                "reminded",
                &format!(
                    "still waiting for your decision; SLA due {}",
                    crate::explain::local_time(*sla_due_at)
                ),
            )?;
            // A reminder read again long after (a first sync) is not news.
            if *sla_due_at > now {
                let summary = tx
                    .prepare_cached(&format!(
                        "SELECT {SUMMARY_COLUMNS} FROM leads WHERE id = ?1"
                    ))?
                    .query_row([lead_id], summary_from_row)?;
                applied.reminders.push((summary, *sla_due_at));
            }
        }
        Change::DefinitionPublished { version } => {
            applied.definitions.push(*version);
        }
        Change::RepChanged { rep } => {
            tx.prepare_cached(
                "INSERT INTO kv (key, value) VALUES ('rep', ?1) \
                 ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            )?
            .execute([serde_json::to_string(rep)?])?;
            applied.rep = Some((**rep).clone());
        }
        Change::Unknown => {}
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page_of(names: &[(&str, &str)]) -> SyncPage {
        let now = Timestamp(1_700_000_000_000);
        let changes = names
            .iter()
            .enumerate()
            .map(|(i, (name, answer))| {
                let id = i as i64 + 1;
                let lead = Lead {
                    id,
                    external_id: format!("x{id}"),
                    status: baton_protocol::LeadStatus::Assigned,
                    source: baton_protocol::Source {
                        channel: "webinar".into(),
                        ..Default::default()
                    },
                    contact: baton_protocol::Contact {
                        name: name.to_string(),
                        ..Default::default()
                    },
                    score: baton_protocol::Score {
                        value: 70,
                        breakdown: vec![],
                    },
                    quiz: vec![baton_protocol::QuizAnswer {
                        question: "Which CRM?".into(),
                        answer: answer.to_string(),
                        points: None,
                    }],
                    behaviours: vec![],
                    intent: Default::default(),
                    team: None,
                    assignment: Some(baton_protocol::Assignment {
                        id,
                        lead_id: id,
                        rep_id: 1,
                        rep_name: "Ava".into(),
                        team: "t".into(),
                        rule: "r".into(),
                        why: "w".into(),
                        assigned_at: now,
                        sla_due_at: now.plus_millis(60_000),
                        outcome: baton_protocol::AssignmentOutcome::Pending,
                        ended_at: None,
                        explanation: None,
                    }),
                    returned: None,
                    qualification: None,
                    created_at: now,
                    updated_at: now,
                    version: 1,
                };
                baton_protocol::FeedEntry {
                    cursor: baton_protocol::Cursor(id.to_string()),
                    at: now,
                    change: Change::LeadAssigned {
                        lead: Box::new(lead),
                    },
                }
            })
            .collect();
        SyncPage {
            changes,
            next_cursor: baton_protocol::Cursor(names.len().to_string()),
            has_more: false,
        }
    }

    fn search(store: &Store, q: &str) -> Vec<LeadId> {
        store
            .inbox(&InboxQuery {
                status: None,
                search: Some(q.into()),
                limit: 50,
                offset: 0,
            })
            .unwrap()
            .iter()
            .map(|l| l.id)
            .collect()
    }

    #[test]
    fn search_matches_word_prefixes_and_never_reads_input_as_syntax() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("c.db")).unwrap();
        store
            .apply_page(
                page_of(&[
                    ("Ada Lovelace", "Salesforce"),
                    ("Grace Hopper", "HubSpot"),
                    ("Chloé Martin", "Sales spreadsheet"),
                ]),
                Timestamp::now(),
            )
            .unwrap();
        assert_eq!(search(&store, "ada"), vec![1]);
        assert_eq!(
            search(&store, "sales"),
            vec![3, 1],
            "prefix: sales and salesforce, newest first"
        );
        assert_eq!(search(&store, "salesforce ada"), vec![1]);
        assert_eq!(search(&store, "chloé"), vec![3], "diacritics fold");
        assert_eq!(search(&store, "chloe"), vec![3]);
        assert!(search(&store, "zebra").is_empty());
        for hostile in ["\" OR NEAR(", "ada\"*", "*", "NOT ada", "ada OR grace"] {
            store
                .inbox(&InboxQuery {
                    status: None,
                    search: Some(hostile.into()),
                    limit: 50,
                    offset: 0,
                })
                .unwrap_or_else(|e| panic!("{hostile:?}: {e}"));
        }
        assert!(
            search(&store, "ada OR grace").is_empty(),
            "OR is a word here, not an operator"
        );
    }

    #[test]
    fn availability_is_queued_and_remembered_together() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("c.db")).unwrap();
        assert_eq!(store.availability().unwrap(), None);
        store
            .queue_availability(Availability::Away, "k1", Timestamp(1))
            .unwrap();
        assert_eq!(store.availability().unwrap(), Some(Availability::Away));
        let row = store.next_outbox(Timestamp(1)).unwrap().expect("queued");
        assert_eq!(row.body, r#"{"availability":"away"}"#);
        assert_eq!(store.outbox_depth().unwrap(), 1);
    }

    fn accept() -> FeedbackRequest {
        FeedbackRequest {
            decision: DecisionKind::Accept,
            reason: None,
            note: Some("call Tuesday".into()),
        }
    }

    #[test]
    fn undo_inside_the_window_takes_the_decision_back_and_sends_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("c.db")).unwrap();
        store
            .apply_page(page_of(&[("Ada", "Salesforce")]), Timestamp::now())
            .unwrap();
        let now = Timestamp(1_800_000_000_000);
        let due = now.plus_millis(5_000);
        store.decide(1, &accept(), "k1", now, due).unwrap();
        assert_eq!(store.outbox_depth().unwrap(), 1);
        assert!(
            store.next_outbox(now).unwrap().is_none(),
            "not due inside the window"
        );
        assert_eq!(store.undoable(now).unwrap()[0].send_at, due);
        assert_eq!(search(&store, "tuesday"), vec![1], "the note is searchable");

        let back = store.undo(1, now.plus_millis(4_999)).unwrap();
        assert_eq!(back.status, LocalStatus::New);
        assert_eq!(back.decision, None);
        assert_eq!(store.outbox_depth().unwrap(), 0);
        assert!(store.next_outbox(due).unwrap().is_none(), "nothing to send");
        assert!(
            search(&store, "tuesday").is_empty(),
            "the note left the index"
        );

        // Decided again, the window ends: the pusher may send it, undo may not.
        store.decide(1, &accept(), "k2", now, due).unwrap();
        assert_eq!(
            store.next_outbox(due).unwrap().unwrap().idempotency_key,
            "k2"
        );
        let e = store.undo(1, due).unwrap_err();
        assert!(matches!(e, CoreError::TooLateToUndo(1)), "{e:?}");
        assert!(matches!(
            store.undo(99, now),
            Err(CoreError::LeadNotFound(99))
        ));
    }

    #[test]
    fn a_status_the_cache_does_not_know_is_an_error_not_a_new_lead() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.db");
        let store = Store::open(&path).unwrap();
        store
            .apply_page(page_of(&[("Ada", "x")]), Timestamp::now())
            .unwrap();
        store
            .write(|c| {
                // As a damaged file or a foreign writer could leave it.
                c.execute_batch(
                    "PRAGMA ignore_check_constraints=ON; \
                     UPDATE leads SET status = 'maybe' WHERE id = 1; \
                     PRAGMA ignore_check_constraints=OFF;",
                )?;
                Ok(())
            })
            .unwrap_or_else(|e| panic!("{e}"));
        let e = store.summary(1).unwrap_err().to_string();
        assert!(e.contains("\"maybe\" is not a known LocalStatus"), "{e}");
        assert!(store.counts().is_err());
    }

    #[test]
    fn reads_never_wait_for_a_write_in_progress() {
        let dir = tempfile::tempdir().unwrap();
        let store = std::sync::Arc::new(Store::open(&dir.path().join("c.db")).unwrap());
        store
            .apply_page(page_of(&[("Ada", "x"), ("Grace", "y")]), Timestamp::now())
            .unwrap();
        let (release, released) = std::sync::mpsc::channel::<()>();
        let (started, has_started) = std::sync::mpsc::channel::<()>();
        let writer = {
            let store = store.clone();
            std::thread::spawn(move || {
                store.write(move |c| {
                    let tx = c.transaction()?;
                    tx.execute("UPDATE leads SET name = 'Changing' WHERE id = 1", [])?;
                    started.send(()).unwrap();
                    // Holds its transaction open until the reads below are done.
                    released
                        .recv_timeout(std::time::Duration::from_secs(20))
                        .expect("the reads finished while the write was open");
                    tx.commit()?;
                    Ok(())
                })
            })
        };
        has_started.recv().unwrap();
        assert_eq!(store.counts().unwrap().new, 2);
        assert_eq!(
            search(&store, "ada"),
            vec![1],
            "the committed state is read"
        );
        assert_eq!(store.lead(2).unwrap().unwrap().summary.name, "Grace");
        release.send(()).unwrap();
        writer.join().unwrap().unwrap();
        assert_eq!(store.summary(1).unwrap().unwrap().name, "Changing");
    }

    #[test]
    fn a_write_that_panics_fails_alone_and_the_writer_goes_on() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("c.db")).unwrap();
        let e = store
            .write::<()>(|_| panic!("a bug in one write"))
            .unwrap_err();
        assert!(matches!(e, CoreError::Storage(_)), "{e:?}");
        store.set_kv("after", "yes").unwrap();
        assert_eq!(store.get_kv("after").unwrap().as_deref(), Some("yes"));
    }

    #[test]
    fn refuses_a_cache_from_a_newer_baton() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cache.db");
        {
            let c = Connection::open(&path).unwrap();
            c.pragma_update(None, "user_version", 42).unwrap();
        }
        let e = Store::open(&path).err().unwrap().to_string();
        assert!(e.contains("newer Baton"), "{e}");
    }
}
