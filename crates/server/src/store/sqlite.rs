//! The embedded SQLite backend: one file in WAL mode.
//!
//! All writes go through one writer thread that owns the only write
//! connection. It takes every job waiting in its queue, runs each inside a
//! savepoint of one `BEGIN IMMEDIATE` transaction, and commits them together
//! with `synchronous=FULL` (group commit): a batch costs one fsync, yet no
//! caller hears "done" before its write is durable. Reads run on a small pool
//! of connections on tokio's blocking threads, each job in its own snapshot.

use baton_protocol::WireName;
use std::collections::HashMap;
use std::collections::VecDeque;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, mpsc};
use std::thread::JoinHandle;

use super::CrmEndpoint;
use baton_protocol::{
    Assignment, AssignmentOutcome, Availability, Change, Cursor, Decision, DecisionKind, FeedEntry,
    FeedbackLogEntry, IntakeReceipt, LeadEvent, LeadEventKind, LeadId, LeadIntake, QueuedLead, Rep,
    RepId, ReturnedToMarketing, Role, Team, Timestamp,
};
use baton_protocol::{DeliveryStatus, EndpointKind, WebhookDelivery, WebhookEndpoint};
use rusqlite::{Connection, OpenFlags, OptionalExtension, Row, params};

use super::rows::{self, DefinitionColumns};
use super::writer::{self, WriterHealth};
use super::{
    AssignmentFact, AttemptOutcome, AttemptRecord, ChangeMarks, CommitEffects, DueDelivery,
    EndpointRow, FeedSlice, Health, LeadFilter, LeadRow, LeadStanding, NewAssignment, NewDecision,
    NewEndpoint, NewEvent, NewReceipt, NewRep, Principal, ReadJob, ReadTx, ReceiptFilter,
    RepCandidate, Storage, StoredAnswer, WriteJob, WriteTx, feed_keys,
};
use super::{Candidate, NewEscalation, RepRecord};
use crate::cells::{CellQuery, Cells, Grain, LeadScoreKey, OfferKey, QueueEpisode};
use crate::error::{Error, Result};
use baton_protocol::{AuditEntry, Definition, Escalation, Manager};

mod rollups;

/// Numbered migrations, applied in order; `PRAGMA user_version` records the last.
const MIGRATIONS: &[(i64, &str)] = &[
    (1, include_str!("../../migrations/0001_init.sql")),
    (2, include_str!("../../migrations/0002_report_rollups.sql")),
    (3, include_str!("../../migrations/0003_monthly_rollups.sql")),
    (4, include_str!("../../migrations/0004_exposure_bounds.sql")),
    (5, include_str!("../../migrations/0005_storage_meta.sql")),
    (6, include_str!("../../migrations/0006_intake_receipts.sql")),
    (7, include_str!("../../migrations/0007_outbound_events.sql")),
    (
        8,
        include_str!("../../migrations/0008_agreement_and_shifts.sql"),
    ),
];

/// The migration after which the report rollups are (re)filled from the
/// rows: the last one that changed what they hold.
const ROLLUPS_COMPLETE: i64 = 3;

/// Most jobs one commit takes; bounds the latency a batch adds to its first job.
const MAX_BATCH: usize = 512;

pub type CommitListener = Arc<dyn Fn(&CommitEffects) + Send + Sync>;

pub struct SqliteStorage {
    writer: Mutex<Option<mpsc::SyncSender<WriteJob>>>,
    writer_thread: Mutex<Option<JoinHandle<()>>>,
    writer_state: Arc<WriterHealth>,
    readers: Arc<ReadPool>,
}

struct ReadPool {
    path: PathBuf,
    idle: Mutex<Vec<Connection>>,
}

impl ReadPool {
    fn take(&self) -> Result<Connection> {
        if let Some(c) = self.idle.lock().expect("pool lock").pop() {
            return Ok(c);
        }
        let conn = Connection::open_with_flags(
            &self.path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
        Ok(conn)
    }

    fn give_back(&self, conn: Connection) {
        let mut idle = self.idle.lock().expect("pool lock");
        if idle.len() < 16 {
            idle.push(conn);
        }
    }
}

/// Prepared statements kept per connection. rusqlite keeps 16 by default,
/// fewer than one routed lead's job uses (intake, routing, feed, rollups,
/// events): past it every statement was parsed again on every use, which
/// was most of the writer's time.
const STATEMENT_CACHE: usize = 256;

fn open_write_connection(path: &Path) -> Result<Connection> {
    let conn = Connection::open(path)
        .map_err(|e| Error::Storage(format!("cannot open database {}: {e}", path.display())))?;
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    // WAL: readers never block the writer. FULL: a commit survives power loss,
    // not only a crash of this process.
    let mode: String = conn.query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(Error::Storage(format!(
            "{} cannot use WAL mode (got {mode}); put it on a local file system",
            path.display()
        )));
    }
    conn.execute_batch("PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;")?;
    Ok(conn)
}

/// The migration after which an offer may end `withdrawn` (its rep was
/// deactivated or moved).
const WITHDRAWN_OFFERS: i64 = 8;

/// Widens the CHECK on `assignments.outcome` to take `withdrawn`. SQLite
/// cannot alter a constraint; its documentation allows editing the stored
/// table definition for a change that every existing row already meets
/// (a constraint loosened), which avoids copying every offer into a new
/// table. The edit is checked before the transaction commits.
fn allow_withdrawn_offers(tx: &rusqlite::Transaction<'_>) -> Result<()> {
    let old = "'sla_expired'))";
    let new = "'sla_expired', 'withdrawn'))";
    let version: i64 = tx.query_row("PRAGMA schema_version", [], |r| r.get(0))?;
    tx.execute_batch("PRAGMA writable_schema = ON")?;
    let changed = tx.execute(
        "UPDATE sqlite_schema SET sql = replace(sql, ?1, ?2) \
         WHERE type = 'table' AND name = 'assignments' AND instr(sql, ?1) > 0",
        params![old, new],
    )?;
    tx.pragma_update(None, "schema_version", version + 1)?;
    tx.execute_batch("PRAGMA writable_schema = OFF")?;
    let sql: String = tx.query_row(
        "SELECT sql FROM sqlite_schema WHERE type = 'table' AND name = 'assignments'",
        [],
        |r| r.get(0),
    )?;
    if changed != 1 || !sql.contains(new) {
        return Err(Error::Storage(
            "could not widen assignments.outcome to take 'withdrawn'; the database was left as it was".into(),
        ));
    }
    Ok(())
}

fn migrate(conn: &mut Connection) -> Result<()> {
    let current: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    let newest = MIGRATIONS.last().map(|m| m.0).unwrap_or(0);
    if current > newest {
        return Err(Error::Storage(format!(
            "the database is at schema version {current}, newer than this baton-server knows ({newest}); run a newer baton-server"
        )));
    }
    let mut rollups_changed = false;
    for (version, sql) in MIGRATIONS.iter().filter(|m| m.0 > current) {
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        tx.execute_batch(sql)?;
        if *version == WITHDRAWN_OFFERS {
            allow_withdrawn_offers(&tx)?;
        }
        // A database that had rows before the rollups held what they hold
        // now; a new one starts with empty rollups that are already right.
        rollups_changed |= *version == ROLLUPS_COMPLETE && current > 0;
        tx.pragma_update(None, "user_version", version)?;
        tx.commit()?;
        tracing::info!(version, "applied database migration");
    }
    if rollups_changed {
        // The rollups start from what the database already holds: the server
        // fills them at start-up (`bookkeeping::refill_if_stale`).
        conn.execute(
            "INSERT INTO storage_meta (key, value) VALUES ('rollups_stale', '1') \
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            [],
        )?;
    }
    Ok(())
}

impl SqliteStorage {
    /// Opens (creating if need be) the database at `path`, migrates it, and
    /// starts the writer thread. `on_commit` hears what each commit changed.
    /// `queue` bounds the write jobs waiting for the writer.
    pub fn open(path: &Path, queue: usize, on_commit: CommitListener) -> Result<Arc<Self>> {
        let mut conn = open_write_connection(path)?;
        migrate(&mut conn)?;
        let (tx, rx) = mpsc::sync_channel::<WriteJob>(queue.max(1));
        let writer_state = Arc::new(WriterHealth::default());
        let state = writer_state.clone();
        let thread = std::thread::Builder::new()
            .name("baton-sqlite-writer".into())
            .spawn(move || run_writer(conn, rx, on_commit, state))
            .map_err(|e| Error::Internal(format!("cannot start the writer thread: {e}")))?;
        Ok(Arc::new(SqliteStorage {
            writer: Mutex::new(Some(tx)),
            writer_thread: Mutex::new(Some(thread)),
            writer_state,
            readers: Arc::new(ReadPool {
                path: path.to_owned(),
                idle: Mutex::new(Vec::new()),
            }),
        }))
    }

    /// Stops taking writes, lets the writer finish the queued ones, and waits for it.
    fn close_writer(&self) {
        self.writer.lock().expect("writer lock").take();
        if let Some(t) = self.writer_thread.lock().expect("thread lock").take() {
            let _ = t.join();
        }
    }
}

impl Drop for SqliteStorage {
    fn drop(&mut self) {
        self.close_writer();
    }
}

fn run_writer(
    conn: Connection,
    rx: mpsc::Receiver<WriteJob>,
    on_commit: CommitListener,
    state: Arc<WriterHealth>,
) {
    let _watch = state.watch();
    let mut jobs: VecDeque<WriteJob> = VecDeque::with_capacity(MAX_BATCH);
    while let Ok(first) = rx.recv() {
        jobs.push_back(first);
        while jobs.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(job) => jobs.push_back(job),
                Err(_) => break,
            }
        }
        // Usually one transaction; more when SQLite abandoned one midway.
        while !jobs.is_empty() {
            let kill = run_transaction(&conn, &mut jobs, &on_commit, &state);
            #[cfg(debug_assertions)]
            if kill {
                panic!("injected fault: the writer thread dies");
            }
            let _ = kill;
        }
    }
}

/// Runs queued jobs, each in a savepoint, inside one transaction, and
/// commits them together. Returns whether a job asked (in a test build) for
/// the writer to die.
fn run_transaction(
    conn: &Connection,
    jobs: &mut VecDeque<WriteJob>,
    on_commit: &CommitListener,
    state: &WriterHealth,
) -> bool {
    let set_failing = |m: Option<String>| {
        state.set_failing(m);
    };
    if let Err(e) = conn.execute_batch("BEGIN IMMEDIATE") {
        let msg = e.to_string();
        tracing::error!(error = %msg, "cannot begin a write transaction");
        set_failing(Some(format!("cannot begin a write transaction: {msg}")));
        // Run nothing: dropping the jobs tells each caller its write was not
        // applied (Db::write answers `unavailable`).
        jobs.clear();
        return false;
    }
    let mut effects = CommitEffects::default();
    let mut finishers = Vec::with_capacity(jobs.len());
    let mut abandoned = false;
    let mut kill = false;
    while let Some(job) = jobs.pop_front() {
        if let Err(e) = conn.execute_batch("SAVEPOINT job") {
            tracing::error!(error = %e, "cannot open a savepoint");
            drop(job);
            if conn.is_autocommit() {
                abandoned = true;
                break;
            }
            continue;
        }
        let mut tx = SqliteTx {
            conn,
            effects: CommitEffects::default(),
            kill_writer: false,
        };
        let outcome = match catch_unwind(AssertUnwindSafe(|| job(&mut tx))) {
            Ok(outcome) => Some(outcome),
            Err(_) => {
                // The job's caller hears `unavailable` (its answer channel
                // was dropped); the writer goes on.
                tracing::error!("a write job panicked; its writes are rolled back");
                None
            }
        };
        kill |= tx.kill_writer;
        let keep = outcome.as_ref().is_some_and(|o| o.keep);
        // SQLite may roll back the whole transaction by itself (disk full,
        // I/O error). Then nothing of this batch so far is written, and what
        // follows would run outside any transaction: stop here.
        if !conn.is_autocommit() {
            let closed = if keep {
                effects.feed_reps.extend(tx.effects.feed_reps);
                effects.sla_changed |= tx.effects.sla_changed;
                effects.events |= tx.effects.events;
                conn.execute_batch("RELEASE job")
            } else {
                conn.execute_batch("ROLLBACK TO job; RELEASE job")
            };
            if let Err(e) = closed {
                tracing::error!(error = %e, "cannot close a savepoint");
            }
        }
        if let Some(o) = outcome {
            finishers.push(o.finish);
        }
        if conn.is_autocommit() {
            abandoned = true;
            break;
        }
    }
    let committed = if abandoned {
        tracing::error!(
            jobs = finishers.len(),
            "SQLite rolled back a write transaction by itself; its jobs are reported as not applied"
        );
        Err(Error::Storage(
            "the database rolled the transaction back (disk full or I/O error)".into(),
        ))
    } else {
        let c = conn.execute_batch("COMMIT").map_err(Error::from);
        if c.is_err() && !conn.is_autocommit() {
            let _ = conn.execute_batch("ROLLBACK");
        }
        c
    };
    match &committed {
        Ok(()) => set_failing(None),
        Err(e) => set_failing(Some(e.to_string())),
    }
    for finish in finishers {
        finish(match &committed {
            Ok(()) => Ok(()),
            Err(e) => Err(Error::Storage(e.to_string())),
        });
    }
    if committed.is_ok() {
        effects.feed_reps.sort_unstable();
        effects.feed_reps.dedup();
        if catch_unwind(AssertUnwindSafe(|| on_commit(&effects))).is_err() {
            tracing::error!("a commit listener panicked");
        }
    }
    kill
}

impl Storage for SqliteStorage {
    fn close(&self) {
        self.close_writer();
    }

    fn submit_write(&self, job: WriteJob) -> Result<()> {
        writer::submit(&self.writer, job)
    }

    fn health(&self) -> Health {
        self.writer_state.health(&self.writer_thread)
    }

    fn submit_read(&self, job: ReadJob) {
        let pool = self.readers.clone();
        tokio::task::spawn_blocking(move || {
            let conn = match pool.take() {
                Ok(c) => c,
                Err(e) => return job(Err(e)),
            };
            if let Err(e) = conn.execute_batch("BEGIN") {
                return job(Err(e.into()));
            }
            let tx = SqliteTx {
                conn: &conn,
                effects: CommitEffects::default(),
                kill_writer: false,
            };
            job(Ok(&tx));
            let _ = conn.execute_batch("COMMIT");
            pool.give_back(conn);
        });
    }
}

struct SqliteTx<'c> {
    conn: &'c Connection,
    effects: CommitEffects,
    /// Set by an injected fault (test builds): the writer thread dies after this batch.
    kill_writer: bool,
}

/// A stored enum column, read through its serde name (see `baton_protocol::names`).
fn enum_from_str<T: WireName>(s: String) -> rusqlite::Result<T> {
    T::parse(&s).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, Box::new(e))
    })
}

fn standing_from_row(r: &Row<'_>) -> rusqlite::Result<LeadStanding> {
    Ok(LeadStanding {
        created_at: ts(r.get(0)?),
        team: r.get(1)?,
        score: r.get(2)?,
        queued_at: opt_ts(r.get(3)?),
    })
}

const ENDPOINT_COLUMNS: &str = "e.id, e.kind, e.url, e.description, e.active, e.disabled_reason, \
     e.disabled_at, e.failing_since, e.last_success_at, e.created_at, e.secret, \
     (SELECT group_concat(event_type, ',') FROM webhook_subscriptions s WHERE s.endpoint_id = e.id), \
     (SELECT COUNT(*) FROM webhook_deliveries d WHERE d.endpoint_id = e.id AND d.status = 'pending')";

fn endpoint_from_row(r: &Row<'_>) -> rusqlite::Result<EndpointRow> {
    let events: Option<String> = r.get(11)?;
    Ok(EndpointRow {
        view: WebhookEndpoint {
            id: r.get(0)?,
            kind: enum_from_str(r.get(1)?)?,
            url: r.get(2)?,
            events: crate::outbound::parse_event_list(events.as_deref().unwrap_or("")),
            description: r.get(3)?,
            active: r.get(4)?,
            disabled_reason: r.get(5)?,
            disabled_at: opt_ts(r.get(6)?),
            failing_since: opt_ts(r.get(7)?),
            last_success_at: opt_ts(r.get(8)?),
            pending: r.get(12)?,
            created_at: ts(r.get(9)?),
            secret: None,
        },
        secret: r.get(10)?,
    })
}

const RECEIPT_COLUMNS: &str = "id, source, event_id, received_at, status, outcome, lead_id, \
     field, message, resolved_at, body";

fn receipt_from_row(r: &Row<'_>) -> rusqlite::Result<IntakeReceipt> {
    let outcome: Option<String> = r.get(5)?;
    let body: Option<Vec<u8>> = r.get(10)?;
    Ok(IntakeReceipt {
        id: r.get(0)?,
        source: r.get(1)?,
        event_id: r.get(2)?,
        received_at: ts(r.get(3)?),
        status: enum_from_str(r.get(4)?)?,
        outcome: outcome.map(enum_from_str).transpose()?,
        lead_id: r.get(6)?,
        field: r.get(7)?,
        message: r.get(8)?,
        resolved_at: opt_ts(r.get(9)?),
        body: body.map(|b| String::from_utf8_lossy(&b).into_owned()),
    })
}

fn ts(ms: i64) -> Timestamp {
    Timestamp::from_millis(ms)
}

fn opt_ts(ms: Option<i64>) -> Option<Timestamp> {
    ms.map(Timestamp::from_millis)
}

const LEAD_COLUMNS: &str = "id, external_id, status, payload, payload_hash, team, current_assignment, \
     queued_at, returned_reason, returned_note, returned_by, returned_at, version, created_at, updated_at, \
     intake_source, definition_version, definition_threshold";

fn lead_from_row(r: &Row<'_>) -> rusqlite::Result<LeadRow> {
    let payload: String = r.get(3)?;
    let intake: LeadIntake = serde_json::from_str(&payload).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(3, rusqlite::types::Type::Text, Box::new(e))
    })?;
    let returned_reason: Option<String> = r.get(8)?;
    let returned = match returned_reason {
        Some(reason) => Some(ReturnedToMarketing {
            reason,
            note: r.get(9)?,
            by_rep: r.get::<_, Option<i64>>(10)?.unwrap_or_default(),
            at: ts(r.get::<_, Option<i64>>(11)?.unwrap_or_default()),
        }),
        None => None,
    };
    Ok(LeadRow {
        id: r.get(0)?,
        external_id: r.get(1)?,
        status: enum_from_str(r.get(2)?)?,
        intake,
        payload_hash: r.get(4)?,
        team: r.get(5)?,
        current_assignment: r.get(6)?,
        queued_at: opt_ts(r.get(7)?),
        returned,
        version: r.get(12)?,
        created_at: ts(r.get(13)?),
        updated_at: ts(r.get(14)?),
        intake_source: r.get(15)?,
        definition: match (r.get::<_, Option<u32>>(16)?, r.get::<_, Option<u32>>(17)?) {
            (Some(v), Some(t)) => Some((v, t)),
            _ => None,
        },
    })
}

const ASSIGNMENT_SELECT: &str = "SELECT a.id, a.lead_id, a.rep_id, r.name, a.team, a.rule, a.why, \
     a.assigned_at, a.sla_due_at, a.outcome, a.ended_at, a.explanation \
     FROM assignments a JOIN reps r ON r.id = a.rep_id";

fn assignment_from_row(r: &Row<'_>) -> rusqlite::Result<Assignment> {
    Ok(Assignment {
        id: r.get(0)?,
        lead_id: r.get(1)?,
        rep_id: r.get(2)?,
        rep_name: r.get(3)?,
        team: r.get(4)?,
        rule: r.get(5)?,
        why: r.get(6)?,
        assigned_at: ts(r.get(7)?),
        sla_due_at: ts(r.get(8)?),
        outcome: enum_from_str(r.get(9)?)?,
        ended_at: opt_ts(r.get(10)?),
        explanation: rows::explanation(r.get::<_, Option<String>>(11)?.as_deref()),
    })
}

const REP_SELECT: &str = "SELECT id, name, email, team, weight, max_open, available, open_leads, schedule, active FROM reps";

fn rep_from_row(r: &Row<'_>) -> rusqlite::Result<Rep> {
    Ok(rows::with_shift_state(Rep {
        id: r.get(0)?,
        name: r.get(1)?,
        email: r.get(2)?,
        team: r.get(3)?,
        weight: r.get(4)?,
        max_open: r.get(5)?,
        availability: if r.get::<_, i64>(6)? == 1 {
            Availability::Available
        } else {
            Availability::Away
        },
        open_leads: r.get(7)?,
        schedule: rows::schedule(r.get::<_, Option<String>>(8)?.as_deref()),
        active: r.get::<_, i64>(9)? == 1,
        on_shift: true,
    }))
}

const DEFINITION_SELECT: &str = "SELECT version, threshold, criteria, reasons, effective_at, author, note, \
     changes FROM definitions";

fn definition_columns(r: &Row<'_>) -> rusqlite::Result<DefinitionColumns> {
    Ok(DefinitionColumns {
        version: r.get(0)?,
        threshold: r.get(1)?,
        criteria: r.get(2)?,
        reasons: r.get(3)?,
        effective_at: r.get(4)?,
        author: r.get(5)?,
        note: r.get(6)?,
        changes: r.get(7)?,
    })
}

const DECISION_SELECT: &str =
    "SELECT id, lead_id, assignment_id, rep_id, decision, reason, note, decided_at FROM decisions";

fn decision_from_row(r: &Row<'_>) -> rusqlite::Result<Decision> {
    Ok(Decision {
        id: r.get(0)?,
        lead_id: r.get(1)?,
        assignment_id: r.get(2)?,
        rep_id: r.get(3)?,
        decision: enum_from_str(r.get(4)?)?,
        reason: r.get(5)?,
        note: r.get(6)?,
        decided_at: ts(r.get(7)?),
    })
}

impl ReadTx for SqliteTx<'_> {
    fn principal_by_token_hash(&self, hash: &[u8]) -> Result<Option<Principal>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT t.role, t.subject_id, t.label, r.name, m.name, t.source, COALESCE(m.admin, 0), \
             (SELECT group_concat(team, char(31)) FROM manager_teams WHERE manager_id = m.id) \
             FROM tokens t \
             LEFT JOIN reps r ON t.role = 'rep' AND r.id = t.subject_id \
             LEFT JOIN managers m ON t.role = 'manager' AND m.id = t.subject_id \
             WHERE t.hash = ?1 AND t.revoked_at IS NULL AND (t.role <> 'rep' OR r.active = 1)",
        )?;
        let found = stmt
            .query_row([hash], |r| {
                let role: Role = enum_from_str(r.get(0)?)?;
                let label: String = r.get(2)?;
                let name = r
                    .get::<_, Option<String>>(3)?
                    .or(r.get::<_, Option<String>>(4)?)
                    .unwrap_or(label);
                Ok(Principal {
                    role,
                    subject_id: r.get(1)?,
                    name,
                    source: r.get(5)?,
                    admin: r.get::<_, i64>(6)? == 1,
                    teams: rows::team_list(r.get::<_, Option<String>>(7)?.as_deref()),
                })
            })
            .optional()?;
        Ok(found)
    }

    fn lead(&self, id: LeadId) -> Result<Option<LeadRow>> {
        let mut stmt = self
            .conn
            .prepare_cached(&format!("SELECT {LEAD_COLUMNS} FROM leads WHERE id = ?1"))?;
        Ok(stmt.query_row([id], lead_from_row).optional()?)
    }

    fn lead_by_external_id(&self, external_id: &str) -> Result<Option<LeadRow>> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {LEAD_COLUMNS} FROM leads WHERE external_id = ?1"
        ))?;
        Ok(stmt.query_row([external_id], lead_from_row).optional()?)
    }

    fn leads(&self, f: &LeadFilter) -> Result<Vec<LeadRow>> {
        let cols = LEAD_COLUMNS
            .split(", ")
            .map(|c| format!("l.{c}"))
            .collect::<Vec<_>>()
            .join(", ");
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {cols} FROM leads l LEFT JOIN assignments a ON a.id = l.current_assignment \
             WHERE (?1 IS NULL OR a.rep_id = ?1) AND (?2 IS NULL OR l.status = ?2) AND l.id > ?3 \
             AND (?5 IS NULL OR instr(char(31) || ?5 || char(31), char(31) || l.team || char(31)) > 0) \
             ORDER BY l.id LIMIT ?4"
        ))?;
        let rows = stmt
            .query_map(
                params![
                    f.rep,
                    f.status.map(|s| s.as_str()),
                    f.after.unwrap_or(0),
                    f.limit,
                    f.teams.as_ref().map(|t| t.join("\u{1f}")),
                ],
                lead_from_row,
            )?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    fn assignment(&self, id: i64) -> Result<Option<Assignment>> {
        let mut stmt = self
            .conn
            .prepare_cached(&format!("{ASSIGNMENT_SELECT} WHERE a.id = ?1"))?;
        Ok(stmt.query_row([id], assignment_from_row).optional()?)
    }

    fn assignments_of_lead(&self, lead: LeadId) -> Result<Vec<Assignment>> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "{ASSIGNMENT_SELECT} WHERE a.lead_id = ?1 ORDER BY a.id"
        ))?;
        let rows = stmt
            .query_map([lead], assignment_from_row)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    fn offers_after(&self, after: i64, limit: u32) -> Result<Vec<Assignment>> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "{ASSIGNMENT_SELECT} WHERE a.id > ?1 ORDER BY a.id LIMIT ?2"
        ))?;
        let rows = stmt
            .query_map(params![after, limit], assignment_from_row)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    fn decisions_of_lead(&self, lead: LeadId) -> Result<Vec<Decision>> {
        let mut stmt = self
            .conn
            .prepare_cached(&format!("{DECISION_SELECT} WHERE lead_id = ?1 ORDER BY id"))?;
        let rows = stmt
            .query_map([lead], decision_from_row)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    fn events_of_lead(&self, lead: LeadId) -> Result<Vec<LeadEvent>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT e.at, e.kind, e.rep_id, r.name, e.detail FROM lead_events e \
             LEFT JOIN reps r ON r.id = e.rep_id WHERE e.lead_id = ?1 ORDER BY e.id",
        )?;
        let rows = stmt
            .query_map([lead], |r| {
                Ok(LeadEvent {
                    at: ts(r.get(0)?),
                    kind: enum_from_str(r.get(1)?)?,
                    rep_id: r.get(2)?,
                    rep_name: r.get(3)?,
                    detail: r.get(4)?,
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    fn rep(&self, id: RepId) -> Result<Option<Rep>> {
        let mut stmt = self
            .conn
            .prepare_cached(&format!("{REP_SELECT} WHERE id = ?1"))?;
        Ok(stmt.query_row([id], rep_from_row).optional()?)
    }

    fn rep_by_email(&self, email: &str) -> Result<Option<Rep>> {
        let mut stmt = self
            .conn
            .prepare_cached(&format!("{REP_SELECT} WHERE email = ?1"))?;
        Ok(stmt.query_row([email], rep_from_row).optional()?)
    }

    fn reps(&self) -> Result<Vec<Rep>> {
        let mut stmt = self
            .conn
            .prepare_cached(&format!("{REP_SELECT} ORDER BY team, name, id"))?;
        let rows = stmt
            .query_map([], rep_from_row)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    fn teams(&self) -> Result<Vec<Team>> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT name, sla_seconds FROM teams ORDER BY name")?;
        let rows = stmt
            .query_map([], |r| {
                Ok(Team {
                    name: r.get(0)?,
                    sla_seconds: r.get::<_, i64>(1)? as u64,
                    sla_business_hours: false,
                    account_matching: false,
                    remind_at_percent: 0,
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    fn queued_leads(&self, limit: u32) -> Result<Vec<QueuedLead>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT id, external_id, payload, score, team, queued_at FROM leads \
             WHERE status = 'queued' ORDER BY queued_at, id LIMIT ?1",
        )?;
        let rows = stmt
            .query_map([limit], |r| {
                let payload: String = r.get(2)?;
                let intake: LeadIntake = serde_json::from_str(&payload).map_err(|e| {
                    rusqlite::Error::FromSqlConversionFailure(
                        2,
                        rusqlite::types::Type::Text,
                        Box::new(e),
                    )
                })?;
                Ok(QueuedLead {
                    lead_id: r.get(0)?,
                    external_id: r.get(1)?,
                    name: intake.contact.name,
                    company: intake.contact.company,
                    score: r.get(3)?,
                    team: r.get::<_, Option<String>>(4)?.unwrap_or_default(),
                    queued_since: ts(r.get::<_, Option<i64>>(5)?.unwrap_or_default()),
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    fn feed_after(
        &self,
        rep: RepId,
        after: i64,
        limit: u32,
        max_bytes: usize,
    ) -> Result<FeedSlice> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT seq, at, change FROM feed WHERE rep_id = ?1 AND seq > ?2 ORDER BY seq LIMIT ?3",
        )?;
        // Rows are read one at a time, so the budget also bounds what is read.
        let mut rows = stmt.query(params![rep, after, i64::from(limit) + 1])?;
        let mut out = Vec::new();
        let mut bytes = 0usize;
        let mut has_more = false;
        while let Some(r) = rows.next()? {
            let seq: i64 = r.get(0)?;
            let change: String = r.get(2)?;
            bytes = bytes.saturating_add(change.len());
            if out.len() == limit as usize || (bytes > max_bytes && !out.is_empty()) {
                has_more = true;
                break;
            }
            out.push(FeedEntry {
                cursor: Cursor(seq.to_string()),
                at: ts(r.get(1)?),
                change: serde_json::from_str::<Change>(&change)?,
            });
        }
        Ok(FeedSlice {
            entries: out,
            has_more,
        })
    }

    fn feed_head(&self, rep: RepId) -> Result<i64> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT COALESCE(MAX(seq), 0) FROM feed WHERE rep_id = ?1")?;
        Ok(stmt.query_row([rep], |r| r.get(0))?)
    }

    fn feed_max_seq(&self) -> Result<i64> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT COALESCE(MAX(seq), 0) FROM feed")?;
        Ok(stmt.query_row([], |r| r.get(0))?)
    }

    fn change_marks(&self) -> Result<ChangeMarks> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT (SELECT COUNT(*) FROM tokens WHERE revoked_at IS NOT NULL), \
             (SELECT COALESCE(MAX(id), 0) FROM reps)",
        )?;
        Ok(stmt.query_row([], |r| {
            Ok(ChangeMarks {
                revoked_tokens: r.get(0)?,
                newest_rep: r.get(1)?,
            })
        })?)
    }

    fn next_sla_due(&self) -> Result<Option<Timestamp>> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT MIN(t) FROM (SELECT MIN(sla_due_at) AS t FROM assignments WHERE outcome = 'pending' \
                 UNION ALL SELECT MIN(remind_at) FROM assignments WHERE remind_at IS NOT NULL)",
            )?;
        Ok(opt_ts(stmt.query_row([], |r| r.get(0))?))
    }

    fn assignment_facts(
        &self,
        from: Timestamp,
        to: Timestamp,
        team: Option<&str>,
    ) -> Result<Vec<AssignmentFact>> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "{} WHERE a.assigned_at >= ?1 AND a.assigned_at < ?2 AND (?3 IS NULL OR a.team = ?3)",
            rollups::FACT_SELECT
        ))?;
        let rows = stmt
            .query_map(
                params![from.millis(), to.millis(), team],
                rollups::fact_from_row,
            )?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    fn report_cells(&self, q: &CellQuery, team: Option<&str>) -> Result<Cells> {
        rollups::read(self.conn, q, team)
    }

    fn assignment_fact(&self, id: i64) -> Result<Option<AssignmentFact>> {
        rollups::fact_of_assignment(self.conn, id)
    }

    fn lead_standing(&self, id: LeadId) -> Result<Option<LeadStanding>> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT created_at, team, score, queued_at FROM leads WHERE id = ?1")?;
        Ok(stmt.query_row([id], standing_from_row).optional()?)
    }

    fn lead_standings(&self) -> Result<Vec<LeadStanding>> {
        let mut stmt = self
            .conn
            .prepare("SELECT created_at, team, score, queued_at FROM leads")?;
        let rows = stmt
            .query_map([], standing_from_row)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    fn rollup_speed(&self, grain: Grain, key: &OfferKey) -> Result<Option<Vec<u8>>> {
        rollups::speed(self.conn, grain, key)
    }

    fn rollups_stale(&self) -> Result<bool> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT value FROM storage_meta WHERE key = 'rollups_stale'")?;
        let v: Option<String> = stmt.query_row([], |r| r.get(0)).optional()?;
        Ok(v.as_deref() == Some("1"))
    }

    fn queue_episodes(
        &self,
        from: Timestamp,
        to: Timestamp,
        team: Option<&str>,
    ) -> Result<Vec<QueueEpisode>> {
        rollups::queue_episodes(self.conn, from, to, team)
    }

    fn lead_scores(&self, from: Timestamp, to: Timestamp, team: Option<&str>) -> Result<Vec<u32>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT score FROM leads WHERE created_at >= ?1 AND created_at < ?2 \
             AND (?3 IS NULL OR team = ?3)",
        )?;
        let rows = stmt
            .query_map(params![from.millis(), to.millis(), team], |r| r.get(0))?
            .collect::<rusqlite::Result<Vec<u32>>>()?;
        Ok(rows)
    }

    fn feedback_log(
        &self,
        from: Timestamp,
        to: Timestamp,
        team: Option<&str>,
        limit: u32,
    ) -> Result<Vec<FeedbackLogEntry>> {
        let mut stmt = self.conn.prepare_cached(
            // Only the contact's name and company of each payload: SQLite
            // reads them without the whole lead being deserialised. Source
            // and score are the offer's, as in the report's rows.
            "SELECT d.id, d.lead_id, l.external_id, \
             json_extract(l.payload, '$.contact.name'), COALESCE(a.channel, l.channel), \
             COALESCE(a.score, l.score), d.rep_id, r.name, \
             d.decision, d.reason, d.note, a.assigned_at, d.decided_at, \
             json_extract(l.payload, '$.contact.company') \
             FROM decisions d JOIN leads l ON l.id = d.lead_id JOIN reps r ON r.id = d.rep_id \
             JOIN assignments a ON a.id = d.assignment_id \
             WHERE d.decided_at >= ?1 AND d.decided_at < ?2 AND (?4 IS NULL OR a.team = ?4) \
             ORDER BY d.decided_at DESC, d.id DESC LIMIT ?3",
        )?;
        let rows = stmt
            .query_map(params![from.millis(), to.millis(), limit, team], |r| {
                let assigned_at: i64 = r.get(11)?;
                let decided_at: i64 = r.get(12)?;
                Ok(FeedbackLogEntry {
                    decision_id: r.get(0)?,
                    lead_id: r.get(1)?,
                    external_id: r.get(2)?,
                    lead_name: r.get(3)?,
                    company: r.get(13)?,
                    source: r.get(4)?,
                    score: r.get(5)?,
                    rep_id: r.get(6)?,
                    rep_name: r.get(7)?,
                    decision: enum_from_str::<DecisionKind>(r.get(8)?)?,
                    reason: r.get(9)?,
                    note: r.get(10)?,
                    assigned_at: ts(assigned_at),
                    decided_at: ts(decided_at),
                    seconds_to_decision: (decided_at - assigned_at) as f64 / 1000.0,
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    fn intake_receipt(&self, id: i64) -> Result<Option<IntakeReceipt>> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {RECEIPT_COLUMNS} FROM intake_receipts WHERE id = ?1"
        ))?;
        Ok(stmt.query_row([id], receipt_from_row).optional()?)
    }

    fn intake_receipt_by_event(
        &self,
        source: &str,
        event_id: &str,
    ) -> Result<Option<IntakeReceipt>> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {RECEIPT_COLUMNS} FROM intake_receipts WHERE source = ?1 AND event_id = ?2"
        ))?;
        Ok(stmt
            .query_row(params![source, event_id], receipt_from_row)
            .optional()?)
    }

    fn intake_receipts(&self, f: &ReceiptFilter) -> Result<Vec<IntakeReceipt>> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {RECEIPT_COLUMNS} FROM intake_receipts \
             WHERE (?1 IS NULL OR status = ?1) AND (?2 IS NULL OR source = ?2) \
             AND (?3 IS NULL OR lead_id = ?3) AND (?4 IS NULL OR id < ?4) \
             ORDER BY id DESC LIMIT ?5"
        ))?;
        let rows = stmt
            .query_map(
                params![
                    f.status.map(|s| s.as_str()),
                    f.source,
                    f.lead,
                    f.before,
                    f.limit
                ],
                receipt_from_row,
            )?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    fn webhook_endpoints(&self) -> Result<Vec<EndpointRow>> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {ENDPOINT_COLUMNS} FROM webhook_endpoints e WHERE deleted_at IS NULL ORDER BY id"
        ))?;
        let rows = stmt
            .query_map([], endpoint_from_row)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    fn webhook_endpoint(&self, id: i64) -> Result<Option<EndpointRow>> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {ENDPOINT_COLUMNS} FROM webhook_endpoints e WHERE id = ?1 AND deleted_at IS NULL"
        ))?;
        Ok(stmt.query_row([id], endpoint_from_row).optional()?)
    }

    fn webhook_deliveries(
        &self,
        endpoint: i64,
        before: Option<i64>,
        limit: u32,
    ) -> Result<Vec<WebhookDelivery>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT d.id, d.event_id, v.type, d.lead_id, v.occurred_at, d.status, d.attempts, \
             d.next_attempt_at, d.last_attempt_at, d.last_status, d.last_error, d.delivered_at, v.payload \
             FROM webhook_deliveries d JOIN outbound_events v ON v.id = d.event_id \
             WHERE d.endpoint_id = ?1 AND (?2 IS NULL OR d.id < ?2) ORDER BY d.id DESC LIMIT ?3",
        )?;
        let rows = stmt
            .query_map(params![endpoint, before, limit], |r| {
                let status: DeliveryStatus = enum_from_str(r.get(5)?)?;
                let next_attempt_at: i64 = r.get(7)?;
                Ok(WebhookDelivery {
                    id: r.get(0)?,
                    message_id: crate::outbound::message_id(r.get(1)?),
                    event_type: enum_from_str(r.get(2)?)?,
                    lead_id: r.get(3)?,
                    occurred_at: ts(r.get(4)?),
                    status,
                    attempts: r.get(6)?,
                    next_attempt_at: (status == DeliveryStatus::Pending)
                        .then(|| ts(next_attempt_at)),
                    last_attempt_at: opt_ts(r.get(8)?),
                    last_status: r.get(9)?,
                    last_error: r.get(10)?,
                    delivered_at: opt_ts(r.get(11)?),
                    payload: r.get(12)?,
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    fn due_deliveries(&self, now: Timestamp, limit: u32) -> Result<Vec<DueDelivery>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT d.id, d.endpoint_id, e.url, e.secret, d.event_id, d.lead_id, v.occurred_at, \
             v.payload, d.attempts, e.failing_since, e.kind \
             FROM webhook_deliveries d JOIN webhook_endpoints e ON e.id = d.endpoint_id \
             JOIN outbound_events v ON v.id = d.event_id \
             WHERE d.status = 'pending' AND d.next_attempt_at <= ?1 \
             AND NOT EXISTS (SELECT 1 FROM webhook_deliveries o WHERE o.endpoint_id = d.endpoint_id \
                             AND o.lead_id = d.lead_id AND o.status = 'pending' AND o.id < d.id) \
             ORDER BY d.next_attempt_at, d.id LIMIT ?2",
        )?;
        let rows = stmt
            .query_map(params![now.millis(), limit], |r| {
                Ok(DueDelivery {
                    id: r.get(0)?,
                    endpoint_id: r.get(1)?,
                    url: r.get(2)?,
                    secret: r.get(3)?,
                    event_id: r.get(4)?,
                    lead_id: r.get(5)?,
                    occurred_at: ts(r.get(6)?),
                    payload: r.get(7)?,
                    attempts: r.get(8)?,
                    endpoint_failing_since: opt_ts(r.get(9)?),
                    kind: enum_from_str(r.get(10)?)?,
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    fn next_delivery_at(&self) -> Result<Option<Timestamp>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT MIN(next_attempt_at) FROM webhook_deliveries WHERE status = 'pending'",
        )?;
        Ok(opt_ts(stmt.query_row([], |r| r.get(0))?))
    }

    fn definition(&self, version: Option<u32>) -> Result<Option<Definition>> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "{DEFINITION_SELECT} WHERE ?1 IS NULL OR version = ?1 ORDER BY version DESC LIMIT 1"
        ))?;
        let row = stmt.query_row([version], definition_columns).optional()?;
        row.map(DefinitionColumns::into_definition).transpose()
    }

    fn definitions(&self) -> Result<Vec<Definition>> {
        let mut stmt = self
            .conn
            .prepare_cached(&format!("{DEFINITION_SELECT} ORDER BY version DESC"))?;
        let rows = stmt
            .query_map([], definition_columns)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        rows.into_iter()
            .map(DefinitionColumns::into_definition)
            .collect()
    }

    fn managers(&self) -> Result<Vec<Manager>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT m.id, m.name, m.email, m.admin, \
             (SELECT group_concat(team, char(31)) FROM manager_teams WHERE manager_id = m.id) \
             FROM managers m ORDER BY m.name, m.id",
        )?;
        let rows = stmt
            .query_map([], |r| {
                Ok(Manager {
                    id: r.get(0)?,
                    name: r.get(1)?,
                    email: r.get(2)?,
                    admin: r.get::<_, i64>(3)? == 1,
                    teams: rows::team_list(r.get::<_, Option<String>>(4)?.as_deref()),
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    fn audit_log(&self, before: Option<i64>, limit: u32) -> Result<Vec<AuditEntry>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT id, at, actor, action, subject, detail FROM audit_log \
             WHERE ?1 IS NULL OR id < ?1 ORDER BY id DESC LIMIT ?2",
        )?;
        let rows = stmt
            .query_map(params![before, limit], |r| {
                Ok(AuditEntry {
                    id: r.get(0)?,
                    at: ts(r.get(1)?),
                    actor: r.get(2)?,
                    action: r.get(3)?,
                    subject: r.get(4)?,
                    detail: r.get(5)?,
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    fn escalations_after(
        &self,
        after: i64,
        teams: Option<&[String]>,
        limit: u32,
    ) -> Result<Vec<Escalation>> {
        let teams = teams.map(|t| t.join("\u{1f}"));
        let mut stmt = self.conn.prepare_cached(
            "SELECT e.id, e.lead_id, e.assignment_id, e.rep_id, COALESCE(r.name, ''), e.team, e.lead_name, \
             e.at, e.sla_due_at FROM escalations e LEFT JOIN reps r ON r.id = e.rep_id \
             WHERE e.id > ?1 AND (?2 IS NULL OR instr(char(31) || ?2 || char(31), char(31) || e.team || char(31)) > 0) \
             ORDER BY e.id LIMIT ?3",
        )?;
        let rows = stmt
            .query_map(params![after, teams, limit], |r| {
                Ok(Escalation {
                    id: r.get(0)?,
                    lead_id: r.get(1)?,
                    assignment_id: r.get(2)?,
                    rep_id: r.get(3)?,
                    rep_name: r.get(4)?,
                    team: r.get(5)?,
                    lead_name: r.get(6)?,
                    at: ts(r.get(7)?),
                    sla_due_at: ts(r.get(8)?),
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }
}

impl WriteTx for SqliteTx<'_> {
    fn insert_lead(&mut self, l: &LeadRow) -> Result<LeadId> {
        let mut stmt = self.conn.prepare_cached(
            "INSERT INTO leads (external_id, status, payload, payload_hash, score, channel, team, \
             current_assignment, queued_at, version, created_at, updated_at, intake_source, \
             definition_version, definition_threshold) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)",
        )?;
        stmt.execute(params![
            l.external_id,
            l.status.as_str(),
            serde_json::to_string(&l.intake)?,
            l.payload_hash,
            l.intake.score.value,
            l.intake.source.channel,
            l.team,
            l.current_assignment,
            l.queued_at.map(Timestamp::millis),
            l.version,
            l.created_at.millis(),
            l.updated_at.millis(),
            l.intake_source,
            l.definition.map(|d| d.0),
            l.definition.map(|d| d.1),
        ])?;
        Ok(self.conn.last_insert_rowid())
    }

    fn update_lead(&mut self, l: &LeadRow) -> Result<()> {
        let mut stmt = self.conn.prepare_cached(
            "UPDATE leads SET status = ?2, payload = ?3, payload_hash = ?4, score = ?5, channel = ?6, \
             team = ?7, current_assignment = ?8, queued_at = ?9, returned_reason = ?10, \
             returned_note = ?11, returned_by = ?12, returned_at = ?13, version = ?14, updated_at = ?15, \
             intake_source = ?16, definition_version = ?17, definition_threshold = ?18 WHERE id = ?1",
        )?;
        let r = l.returned.as_ref();
        let changed = stmt.execute(params![
            l.id,
            l.status.as_str(),
            serde_json::to_string(&l.intake)?,
            l.payload_hash,
            l.intake.score.value,
            l.intake.source.channel,
            l.team,
            l.current_assignment,
            l.queued_at.map(Timestamp::millis),
            r.map(|r| r.reason.as_str()),
            r.and_then(|r| r.note.as_deref()),
            r.map(|r| r.by_rep),
            r.map(|r| r.at.millis()),
            l.version,
            l.updated_at.millis(),
            l.intake_source,
            l.definition.map(|d| d.0),
            l.definition.map(|d| d.1),
        ])?;
        if changed != 1 {
            return Err(Error::Internal(format!("lead {} vanished", l.id)));
        }
        Ok(())
    }

    fn team_candidates(&mut self, team: &str, lead: LeadId) -> Result<Vec<Candidate>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT r.id, r.name, r.weight, r.rr_pass, r.open_leads, r.max_open, r.available, r.schedule, \
             (SELECT a.outcome FROM assignments a WHERE a.lead_id = ?2 AND a.rep_id = r.id \
              AND a.outcome IN ('rejected', 'sla_expired') ORDER BY a.id LIMIT 1) \
             FROM reps r WHERE r.team = ?1 AND r.active = 1 ORDER BY r.rr_pass, r.id",
        )?;
        let rows = stmt
            .query_map(params![team, lead], |r| {
                Ok(Candidate {
                    rep: RepCandidate {
                        id: r.get(0)?,
                        name: r.get(1)?,
                        weight: r.get(2)?,
                        rr_pass: r.get(3)?,
                        open_leads: r.get(4)?,
                        max_open: r.get(5)?,
                        schedule: r.get::<_, Option<String>>(7)?.map(Into::into),
                    },
                    available: r.get::<_, i64>(6)? == 1,
                    passed: rows::passed(r.get::<_, Option<String>>(8)?.as_deref()),
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    fn team_min_pass(&mut self, team: &str) -> Result<Option<i64>> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT MIN(rr_pass) FROM reps WHERE team = ?1 AND available = 1")?;
        Ok(stmt.query_row([team], |r| r.get(0))?)
    }

    fn record_offer(&mut self, rep: RepId, new_rr_pass: i64) -> Result<()> {
        let mut stmt = self.conn.prepare_cached(
            "UPDATE reps SET rr_pass = ?2, open_leads = open_leads + 1 WHERE id = ?1",
        )?;
        stmt.execute(params![rep, new_rr_pass])?;
        Ok(())
    }

    fn release_offer(&mut self, rep: RepId) -> Result<()> {
        let mut stmt = self
            .conn
            .prepare_cached("UPDATE reps SET open_leads = MAX(0, open_leads - 1) WHERE id = ?1")?;
        stmt.execute([rep])?;
        Ok(())
    }

    fn catch_up_rotation(&mut self, rep: RepId, team: &str) -> Result<()> {
        let mut stmt = self.conn.prepare_cached(
            "UPDATE reps SET rr_pass = MAX(rr_pass, COALESCE((SELECT MIN(o.rr_pass) FROM reps o \
             WHERE o.team = ?2 AND o.available = 1 AND o.id != ?1), rr_pass)) WHERE id = ?1",
        )?;
        stmt.execute(params![rep, team])?;
        Ok(())
    }

    fn set_rep_availability(&mut self, rep: RepId, availability: Availability) -> Result<()> {
        let mut stmt = self
            .conn
            .prepare_cached("UPDATE reps SET available = ?2 WHERE id = ?1")?;
        stmt.execute(params![
            rep,
            matches!(availability, Availability::Available) as i64
        ])?;
        Ok(())
    }

    fn insert_assignment(&mut self, a: &NewAssignment<'_>) -> Result<i64> {
        let mut stmt = self.conn.prepare_cached(
            "INSERT INTO assignments (lead_id, rep_id, team, rule, why, assigned_at, sla_due_at, \
             score, channel, campaign, explanation, account_key, remind_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
        )?;
        stmt.execute(params![
            a.lead_id,
            a.rep_id,
            a.team,
            a.rule,
            a.why,
            a.assigned_at.millis(),
            a.sla_due_at.millis(),
            a.score,
            a.channel,
            a.campaign,
            a.explanation,
            a.account_key,
            a.remind_at.map(Timestamp::millis),
        ])?;
        Ok(self.conn.last_insert_rowid())
    }

    fn end_assignment(&mut self, id: i64, outcome: AssignmentOutcome, at: Timestamp) -> Result<()> {
        let mut stmt = self.conn.prepare_cached(
            "UPDATE assignments SET outcome = ?2, ended_at = ?3, remind_at = NULL \
             WHERE id = ?1 AND outcome = 'pending'",
        )?;
        if stmt.execute(params![id, outcome.as_str(), at.millis()])? != 1 {
            return Err(Error::Internal(format!(
                "assignment {id} was no longer pending"
            )));
        }
        Ok(())
    }

    fn due_assignments(&mut self, now: Timestamp, limit: u32) -> Result<Vec<Assignment>> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "{ASSIGNMENT_SELECT} WHERE a.outcome = 'pending' AND a.sla_due_at <= ?1 \
             ORDER BY a.sla_due_at, a.id LIMIT ?2"
        ))?;
        let rows = stmt
            .query_map(params![now.millis(), limit], assignment_from_row)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    fn insert_decision(&mut self, d: &NewDecision<'_>) -> Result<i64> {
        let mut stmt = self.conn.prepare_cached(
            "INSERT INTO decisions (lead_id, assignment_id, rep_id, decision, reason, note, decided_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        )?;
        stmt.execute(params![
            d.lead_id,
            d.assignment_id,
            d.rep_id,
            d.decision.as_str(),
            d.reason,
            d.note,
            d.decided_at.millis()
        ])?;
        Ok(self.conn.last_insert_rowid())
    }

    fn append_feed(&mut self, rep: RepId, at: Timestamp, change: &Change) -> Result<()> {
        let (kind, lead) = feed_keys(change);
        let mut stmt = self.conn.prepare_cached(
            "INSERT INTO feed (rep_id, at, change, kind, lead_id) VALUES (?1, ?2, ?3, ?4, ?5)",
        )?;
        stmt.execute(params![
            rep,
            at.millis(),
            serde_json::to_string(change)?,
            kind,
            lead
        ])?;
        self.effects.feed_reps.push(rep);
        Ok(())
    }

    fn delete_feed_updates(&mut self, rep: RepId, lead: LeadId) -> Result<()> {
        let mut stmt = self.conn.prepare_cached(
            "DELETE FROM feed WHERE rep_id = ?1 AND lead_id = ?2 AND kind = 'lead_updated'",
        )?;
        stmt.execute(params![rep, lead])?;
        Ok(())
    }

    fn trim_events(&mut self, lead: LeadId, kind: LeadEventKind, keep: u32) -> Result<()> {
        let mut stmt = self.conn.prepare_cached(
            "DELETE FROM lead_events WHERE lead_id = ?1 AND kind = ?2 AND id <= \
             (SELECT id FROM lead_events WHERE lead_id = ?1 AND kind = ?2 \
              ORDER BY id DESC LIMIT 1 OFFSET ?3)",
        )?;
        stmt.execute(params![lead, kind.as_str(), keep])?;
        Ok(())
    }

    fn prune_answers(&mut self, before: Timestamp, limit: u32) -> Result<u32> {
        let mut stmt = self.conn.prepare_cached(
            "DELETE FROM idempotency WHERE (rep_id, key) IN \
             (SELECT rep_id, key FROM idempotency WHERE created_at < ?1 LIMIT ?2)",
        )?;
        Ok(stmt.execute(params![before.millis(), limit])? as u32)
    }

    fn queued_leads_open_to(&mut self, rep: RepId, team: &str, limit: u32) -> Result<Vec<LeadId>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT l.id FROM leads l WHERE l.status = 'queued' AND l.team = ?1 \
             AND NOT EXISTS (SELECT 1 FROM assignments a WHERE a.lead_id = l.id AND a.rep_id = ?2 \
                             AND a.outcome IN ('rejected', 'sla_expired')) \
             ORDER BY l.queued_at, l.id LIMIT ?3",
        )?;
        let rows = stmt
            .query_map(params![team, rep, limit], |r| r.get(0))?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    fn reps_after(&mut self, after: RepId) -> Result<Vec<Rep>> {
        let mut stmt = self
            .conn
            .prepare_cached(&format!("{REP_SELECT} WHERE id > ?1 ORDER BY id"))?;
        let rows = stmt
            .query_map([after], rep_from_row)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    fn append_event(
        &mut self,
        lead: LeadId,
        at: Timestamp,
        kind: LeadEventKind,
        rep: Option<RepId>,
        detail: &str,
    ) -> Result<()> {
        let mut stmt = self.conn.prepare_cached(
            "INSERT INTO lead_events (lead_id, at, kind, rep_id, detail) VALUES (?1, ?2, ?3, ?4, ?5)",
        )?;
        stmt.execute(params![lead, at.millis(), kind.as_str(), rep, detail])?;
        Ok(())
    }

    fn idempotent_answer(&mut self, rep: RepId, key: &str) -> Result<Option<StoredAnswer>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT request_hash, status, body FROM idempotency WHERE rep_id = ?1 AND key = ?2",
        )?;
        Ok(stmt
            .query_row(params![rep, key], |r| {
                Ok(StoredAnswer {
                    request_hash: r.get(0)?,
                    status: r.get(1)?,
                    body: r.get(2)?,
                })
            })
            .optional()?)
    }

    fn store_answer(
        &mut self,
        rep: RepId,
        key: &str,
        a: &StoredAnswer,
        at: Timestamp,
    ) -> Result<()> {
        let mut stmt = self.conn.prepare_cached(
            "INSERT INTO idempotency (rep_id, key, request_hash, status, body, created_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )?;
        stmt.execute(params![
            rep,
            key,
            a.request_hash,
            a.status,
            a.body,
            at.millis()
        ])?;
        Ok(())
    }

    fn teams_with_queue(&mut self) -> Result<Vec<String>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT DISTINCT team FROM leads WHERE status = 'queued' AND team IS NOT NULL",
        )?;
        let rows = stmt
            .query_map([], |r| r.get(0))?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    fn queued_lead_ids(
        &mut self,
        team: &str,
        after: Option<(Timestamp, LeadId)>,
        limit: u32,
    ) -> Result<Vec<(Timestamp, LeadId)>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT queued_at, id FROM leads WHERE status = 'queued' AND team = ?1 \
             AND (queued_at, id) > (?2, ?3) ORDER BY queued_at, id LIMIT ?4",
        )?;
        let (at, id) = after
            .map(|(t, id)| (t.millis(), id))
            .unwrap_or((i64::MIN, 0));
        let rows = stmt
            .query_map(params![team, at, id, limit], |r| {
                Ok((ts(r.get(0)?), r.get(1)?))
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    fn replace_teams(&mut self, teams: &[Team]) -> Result<()> {
        self.conn.execute("DELETE FROM teams", [])?;
        let mut stmt = self
            .conn
            .prepare_cached("INSERT INTO teams (name, sla_seconds) VALUES (?1, ?2)")?;
        for t in teams {
            stmt.execute(params![t.name, t.sla_seconds as i64])?;
        }
        Ok(())
    }

    fn insert_rep(&mut self, rep: &NewRep<'_>) -> Result<RepId> {
        let mut stmt = self.conn.prepare_cached(
            "INSERT INTO reps (name, email, team, weight, max_open, rr_pass, created_at, schedule) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        )?;
        stmt.execute(params![
            rep.name,
            rep.email,
            rep.team,
            rep.weight,
            rep.max_open,
            rep.rr_pass,
            rep.created_at.millis(),
            rep.schedule
        ])
        .map_err(|e| match e {
            rusqlite::Error::SqliteFailure(f, _)
                if f.code == rusqlite::ErrorCode::ConstraintViolation =>
            {
                Error::field(
                    "email",
                    format!("a rep with email {} already exists", rep.email),
                )
            }
            other => other.into(),
        })?;
        Ok(self.conn.last_insert_rowid())
    }

    fn insert_manager(&mut self, name: &str, email: &str, at: Timestamp) -> Result<i64> {
        self.conn.execute(
            "INSERT INTO managers (name, email, created_at) VALUES (?1, ?2, ?3)",
            params![name, email, at.millis()],
        )?;
        Ok(self.conn.last_insert_rowid())
    }

    fn manager_by_email(&mut self, email: &str) -> Result<Option<i64>> {
        Ok(self
            .conn
            .query_row("SELECT id FROM managers WHERE email = ?1", [email], |r| {
                r.get(0)
            })
            .optional()?)
    }

    fn insert_token(
        &mut self,
        hash: &[u8],
        role: Role,
        subject: Option<i64>,
        label: &str,
        source: Option<&str>,
        at: Timestamp,
    ) -> Result<()> {
        self.conn.execute(
            "INSERT INTO tokens (hash, role, subject_id, label, source, created_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![hash, role.as_str(), subject, label, source, at.millis()],
        )?;
        Ok(())
    }

    fn add_to_rollups(
        &mut self,
        grain: Grain,
        cells: &Cells,
        speeds: &HashMap<OfferKey, Vec<u8>>,
    ) -> Result<()> {
        rollups::add(self.conn, grain, cells, speeds)
    }

    fn add_lead_score(&mut self, grain: Grain, key: &LeadScoreKey, delta: i64) -> Result<()> {
        rollups::add_lead_score(self.conn, grain, key, delta)
    }

    fn clear_rollups(&mut self) -> Result<()> {
        rollups::clear(self.conn)?;
        self.conn
            .execute("DELETE FROM storage_meta WHERE key = 'rollups_stale'", [])?;
        Ok(())
    }

    fn open_queue_wait(&mut self, lead: LeadId, team: &str, at: Timestamp) -> Result<()> {
        let mut stmt = self.conn.prepare_cached(
            "INSERT INTO queue_waits (lead_id, team, queued_at) VALUES (?1, ?2, ?3)",
        )?;
        stmt.execute(params![lead, team, at.millis()])?;
        Ok(())
    }

    fn close_queue_wait(&mut self, lead: LeadId, at: Timestamp, assigned: bool) -> Result<()> {
        let mut stmt = self.conn.prepare_cached(
            "UPDATE queue_waits SET left_at = ?2, outcome = ?3 \
             WHERE lead_id = ?1 AND left_at IS NULL",
        )?;
        let outcome = if assigned { "assigned" } else { "withdrawn" };
        stmt.execute(params![lead, at.millis(), outcome])?;
        Ok(())
    }

    fn revoke_token(&mut self, hash: &[u8], at: Timestamp) -> Result<bool> {
        let n = self.conn.execute(
            "UPDATE tokens SET revoked_at = ?2 WHERE hash = ?1 AND revoked_at IS NULL",
            params![hash, at.millis()],
        )?;
        Ok(n == 1)
    }

    fn insert_intake_receipt(&mut self, r: &NewReceipt<'_>) -> Result<i64> {
        let mut stmt = self.conn.prepare_cached(
            "INSERT INTO intake_receipts (source, event_id, received_at, status, outcome, lead_id, \
             field, message, body) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        )?;
        stmt.execute(params![
            r.source,
            r.event_id,
            r.received_at.millis(),
            r.status.as_str(),
            r.outcome.map(|o| o.as_str()),
            r.lead_id,
            r.field,
            r.message,
            r.body
        ])?;
        Ok(self.conn.last_insert_rowid())
    }

    fn update_intake_receipt(&mut self, r: &IntakeReceipt) -> Result<()> {
        let mut stmt = self.conn.prepare_cached(
            "UPDATE intake_receipts SET status = ?2, outcome = ?3, lead_id = ?4, field = ?5, \
             message = ?6, resolved_at = ?7 WHERE id = ?1",
        )?;
        stmt.execute(params![
            r.id,
            r.status.as_str(),
            r.outcome.map(|o| o.as_str()),
            r.lead_id,
            r.field,
            r.message,
            r.resolved_at.map(|t| t.millis())
        ])?;
        Ok(())
    }

    fn trim_receipt_bodies(&mut self, lead: LeadId, keep: u32) -> Result<()> {
        let mut stmt = self.conn.prepare_cached(
            "UPDATE intake_receipts SET body = NULL WHERE lead_id = ?1 AND body IS NOT NULL \
             AND id < (SELECT MIN(id) FROM (SELECT id FROM intake_receipts WHERE lead_id = ?1 \
                       ORDER BY id DESC LIMIT ?2))",
        )?;
        stmt.execute(params![lead, keep])?;
        Ok(())
    }

    fn emit_event(&mut self, e: &NewEvent<'_>) -> Result<()> {
        let kind = e.event_type.as_str();
        let mut stmt = self.conn.prepare_cached(
            "INSERT INTO outbound_events (type, lead_id, occurred_at, payload) \
             SELECT ?1, ?2, ?3, ?4 WHERE EXISTS (SELECT 1 FROM webhook_subscriptions s \
             JOIN webhook_endpoints w ON w.id = s.endpoint_id WHERE s.event_type = ?1 AND w.active \
             AND (w.source_filter IS NULL OR w.source_filter = ?5))",
        )?;
        if stmt.execute(params![
            kind,
            e.lead_id,
            e.occurred_at.millis(),
            e.payload,
            e.source
        ])? == 0
        {
            return Ok(());
        }
        let event = self.conn.last_insert_rowid();
        let mut stmt = self.conn.prepare_cached(
            "INSERT INTO webhook_deliveries (endpoint_id, event_id, lead_id, next_attempt_at) \
             SELECT w.id, ?2, ?3, ?4 FROM webhook_subscriptions s \
             JOIN webhook_endpoints w ON w.id = s.endpoint_id WHERE s.event_type = ?1 AND w.active \
             AND (w.source_filter IS NULL OR w.source_filter = ?5)",
        )?;
        stmt.execute(params![
            kind,
            event,
            e.lead_id,
            e.occurred_at.millis(),
            e.source
        ])?;
        self.effects.events = true;
        Ok(())
    }

    fn insert_webhook_endpoint(&mut self, e: &NewEndpoint<'_>) -> Result<i64> {
        self.conn.execute(
            "INSERT INTO webhook_endpoints (url, secret, description, created_at) VALUES (?1, ?2, ?3, ?4)",
            params![e.url, e.secret, e.description, e.created_at.millis()],
        )?;
        let id = self.conn.last_insert_rowid();
        for t in e.events {
            self.conn.execute(
                "INSERT OR IGNORE INTO webhook_subscriptions (event_type, endpoint_id) VALUES (?1, ?2)",
                params![t.as_str(), id],
            )?;
        }
        Ok(id)
    }

    fn set_crm_endpoint(
        &mut self,
        kind: EndpointKind,
        crm: Option<&CrmEndpoint<'_>>,
        at: Timestamp,
    ) -> Result<()> {
        let existing: Option<i64> = self
            .conn
            .query_row(
                "SELECT id FROM webhook_endpoints WHERE kind = ?1 AND deleted_at IS NULL",
                [kind.as_str()],
                |r| r.get(0),
            )
            .optional()?;
        let Some(crm) = crm else {
            if let Some(id) = existing {
                self.delete_webhook_endpoint(id, at)?;
            }
            return Ok(());
        };
        let id = match existing {
            Some(id) => {
                self.conn.execute(
                    "UPDATE webhook_endpoints SET url = ?2, source_filter = ?3, active = TRUE, \
                     disabled_at = NULL, disabled_reason = NULL WHERE id = ?1",
                    params![id, crm.url, crm.source],
                )?;
                self.conn.execute(
                    "DELETE FROM webhook_subscriptions WHERE endpoint_id = ?1",
                    [id],
                )?;
                id
            }
            None => {
                self.conn.execute(
                    "INSERT INTO webhook_endpoints (kind, url, source_filter, secret, created_at) \
                     VALUES (?1, ?2, ?3, '', ?4)",
                    params![kind.as_str(), crm.url, crm.source, at.millis()],
                )?;
                self.conn.last_insert_rowid()
            }
        };
        for t in crm.events {
            self.conn.execute(
                "INSERT OR IGNORE INTO webhook_subscriptions (event_type, endpoint_id) VALUES (?1, ?2)",
                params![t.as_str(), id],
            )?;
        }
        Ok(())
    }

    fn delete_webhook_endpoint(&mut self, id: i64, at: Timestamp) -> Result<bool> {
        let n = self.conn.execute(
            "UPDATE webhook_endpoints SET deleted_at = ?2, active = FALSE \
             WHERE id = ?1 AND deleted_at IS NULL",
            params![id, at.millis()],
        )?;
        if n == 0 {
            return Ok(false);
        }
        self.conn.execute(
            "DELETE FROM webhook_subscriptions WHERE endpoint_id = ?1",
            [id],
        )?;
        self.conn.execute(
            "UPDATE webhook_deliveries SET status = 'cancelled' WHERE endpoint_id = ?1 AND status = 'pending'",
            [id],
        )?;
        Ok(true)
    }

    fn claim_delivery(&mut self, id: i64, now: Timestamp, lease_until: Timestamp) -> Result<bool> {
        let mut stmt = self.conn.prepare_cached(
            "UPDATE webhook_deliveries SET next_attempt_at = ?3 \
             WHERE id = ?1 AND status = 'pending' AND next_attempt_at <= ?2",
        )?;
        Ok(stmt.execute(params![id, now.millis(), lease_until.millis()])? == 1)
    }

    fn record_delivery_attempt(&mut self, a: &AttemptRecord) -> Result<()> {
        let at = a.at.millis();
        match &a.outcome {
            AttemptOutcome::Delivered { status } => {
                self.conn.execute(
                    "UPDATE webhook_deliveries SET status = 'delivered', attempts = attempts + 1, \
                     last_attempt_at = ?2, last_status = ?3, last_error = NULL, delivered_at = ?2 \
                     WHERE id = ?1 AND status = 'pending'",
                    params![a.delivery_id, at, status],
                )?;
                self.conn.execute(
                    "UPDATE webhook_endpoints SET last_success_at = ?2, failing_since = NULL WHERE id = ?1",
                    params![a.endpoint_id, at],
                )?;
            }
            AttemptOutcome::Retry {
                status,
                error,
                next_at,
            } => {
                self.conn.execute(
                    "UPDATE webhook_deliveries SET attempts = attempts + 1, last_attempt_at = ?2, \
                     last_status = ?3, last_error = ?4, next_attempt_at = ?5 \
                     WHERE id = ?1 AND status = 'pending'",
                    params![a.delivery_id, at, status, error, next_at.millis()],
                )?;
                self.conn.execute(
                    "UPDATE webhook_endpoints SET failing_since = COALESCE(failing_since, ?2) WHERE id = ?1",
                    params![a.endpoint_id, at],
                )?;
            }
            AttemptOutcome::GaveUp { status, error } => {
                self.conn.execute(
                    "UPDATE webhook_deliveries SET status = 'failed', attempts = attempts + 1, \
                     last_attempt_at = ?2, last_status = ?3, last_error = ?4 \
                     WHERE id = ?1 AND status = 'pending'",
                    params![a.delivery_id, at, status, error],
                )?;
                self.conn.execute(
                    "UPDATE webhook_endpoints SET failing_since = COALESCE(failing_since, ?2) WHERE id = ?1",
                    params![a.endpoint_id, at],
                )?;
            }
            AttemptOutcome::Disable {
                status,
                error,
                reason,
            } => {
                self.conn.execute(
                    "UPDATE webhook_deliveries SET status = 'failed', attempts = attempts + 1, \
                     last_attempt_at = ?2, last_status = ?3, last_error = ?4 \
                     WHERE id = ?1 AND status = 'pending'",
                    params![a.delivery_id, at, status, error],
                )?;
                self.conn.execute(
                    "UPDATE webhook_deliveries SET status = 'failed', \
                     last_error = 'not sent: the endpoint was disabled' \
                     WHERE endpoint_id = ?1 AND status = 'pending'",
                    [a.endpoint_id],
                )?;
                self.conn.execute(
                    "UPDATE webhook_endpoints SET active = FALSE, disabled_at = ?2, disabled_reason = ?3, \
                     failing_since = COALESCE(failing_since, ?2) WHERE id = ?1",
                    params![a.endpoint_id, at, reason],
                )?;
            }
        }
        Ok(())
    }

    fn replay_delivery(&mut self, endpoint: i64, delivery: i64, at: Timestamp) -> Result<bool> {
        let n = self.conn.execute(
            "UPDATE webhook_deliveries SET status = 'pending', next_attempt_at = ?3 \
             WHERE id = ?2 AND endpoint_id = ?1",
            params![endpoint, delivery, at.millis()],
        )?;
        if n > 0 {
            self.effects.events = true;
        }
        Ok(n > 0)
    }

    fn qualification_rule(&mut self) -> Result<Option<(u32, u32)>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT version, threshold FROM definitions ORDER BY version DESC LIMIT 1",
        )?;
        Ok(stmt
            .query_row([], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?)
    }

    fn insert_definition(&mut self, d: &Definition, config_hash: Option<&str>) -> Result<()> {
        self.conn.execute(
            "INSERT INTO definitions (version, threshold, criteria, reasons, effective_at, author, note, \
             changes, config_hash) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            params![
                d.version,
                d.threshold,
                serde_json::to_string(&d.criteria)?,
                serde_json::to_string(&d.reasons)?,
                d.effective_at.millis(),
                d.author,
                d.note,
                serde_json::to_string(&d.changes)?,
                config_hash,
            ],
        )?;
        Ok(())
    }

    fn config_definition_hash(&mut self) -> Result<Option<String>> {
        Ok(self
            .conn
            .query_row(
                "SELECT config_hash FROM definitions WHERE config_hash IS NOT NULL \
                 ORDER BY version DESC LIMIT 1",
                [],
                |r| r.get(0),
            )
            .optional()?)
    }

    fn account_holder(&mut self, key: &str, since: Timestamp) -> Result<Option<(RepId, LeadId)>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT rep_id, lead_id FROM assignments WHERE account_key = ?1 AND assigned_at >= ?2 \
             AND outcome IN ('pending', 'accepted') ORDER BY assigned_at DESC, id DESC LIMIT 1",
        )?;
        Ok(stmt
            .query_row(params![key, since.millis()], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?)
    }

    fn due_reminders(&mut self, now: Timestamp, limit: u32) -> Result<Vec<Assignment>> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "{ASSIGNMENT_SELECT} WHERE a.remind_at IS NOT NULL AND a.remind_at <= ?1 \
             ORDER BY a.remind_at, a.id LIMIT ?2"
        ))?;
        let rows = stmt
            .query_map(params![now.millis(), limit], assignment_from_row)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    fn clear_reminder(&mut self, assignment: i64) -> Result<()> {
        let mut stmt = self
            .conn
            .prepare_cached("UPDATE assignments SET remind_at = NULL WHERE id = ?1")?;
        stmt.execute([assignment])?;
        Ok(())
    }

    fn update_rep(&mut self, rep: &RepRecord<'_>) -> Result<()> {
        let n = self.conn.execute(
            "UPDATE reps SET team = ?2, weight = ?3, max_open = ?4, schedule = ?5, active = ?6 WHERE id = ?1",
            params![
                rep.id,
                rep.team,
                rep.weight,
                rep.max_open,
                rep.schedule,
                rep.active
            ],
        )?;
        if n != 1 {
            return Err(Error::NotFound(format!("rep {} does not exist", rep.id)));
        }
        Ok(())
    }

    fn revoke_rep_tokens(&mut self, rep: RepId, at: Timestamp) -> Result<u32> {
        let n = self.conn.execute(
            "UPDATE tokens SET revoked_at = ?2 WHERE role = 'rep' AND subject_id = ?1 AND revoked_at IS NULL",
            params![rep, at.millis()],
        )?;
        Ok(n as u32)
    }

    fn pending_offers_of(&mut self, rep: RepId) -> Result<Vec<Assignment>> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "{ASSIGNMENT_SELECT} WHERE a.rep_id = ?1 AND a.outcome = 'pending' ORDER BY a.id"
        ))?;
        let rows = stmt
            .query_map([rep], assignment_from_row)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    fn set_manager_scope(&mut self, manager: i64, admin: bool, teams: &[String]) -> Result<bool> {
        let n = self.conn.execute(
            "UPDATE managers SET admin = ?2 WHERE id = ?1",
            params![manager, admin],
        )?;
        if n != 1 {
            return Ok(false);
        }
        self.conn
            .execute("DELETE FROM manager_teams WHERE manager_id = ?1", [manager])?;
        for team in teams {
            self.conn.execute(
                "INSERT OR IGNORE INTO manager_teams (manager_id, team) VALUES (?1, ?2)",
                params![manager, team],
            )?;
        }
        Ok(true)
    }

    fn append_audit(
        &mut self,
        at: Timestamp,
        actor: &str,
        action: &str,
        subject: &str,
        detail: &str,
    ) -> Result<()> {
        self.conn.execute(
            "INSERT INTO audit_log (at, actor, action, subject, detail) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![at.millis(), actor, action, subject, detail],
        )?;
        Ok(())
    }

    fn insert_escalation(&mut self, e: &NewEscalation<'_>) -> Result<i64> {
        let mut stmt = self.conn.prepare_cached(
            "INSERT INTO escalations (lead_id, assignment_id, rep_id, team, lead_name, at, sla_due_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        )?;
        stmt.execute(params![
            e.lead_id,
            e.assignment_id,
            e.rep_id,
            e.team,
            e.lead_name,
            e.at.millis(),
            e.sla_due_at.millis()
        ])?;
        Ok(self.conn.last_insert_rowid())
    }

    fn sla_changed(&mut self) {
        self.effects.sla_changed = true;
    }

    #[cfg(debug_assertions)]
    fn inject_fault(&mut self, fault: &str) -> Result<()> {
        match fault {
            // What SQLite does on a full disk or an I/O error: the statement
            // fails and the whole transaction is rolled back.
            "abandon-transaction" => {
                self.conn.execute_batch("ROLLBACK")?;
                return Err(Error::Storage(
                    "injected fault: database or disk is full".into(),
                ));
            }
            "kill-writer" => self.kill_writer = true,
            // PostgreSQL sends a job's last writes after the job returned;
            // here every write is done by then, so the job fails at once.
            "fail-last-write" => {
                return Err(Error::Internal(
                    "injected fault: the job's last write failed".into(),
                ));
            }
            other => {
                if let Some(ms) = other.strip_prefix("sleep-").and_then(|m| m.parse().ok()) {
                    std::thread::sleep(std::time::Duration::from_millis(ms));
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Db;

    #[tokio::test]
    async fn a_failed_job_rolls_back_alone_and_others_in_its_batch_commit() {
        let dir = tempfile::tempdir().unwrap();
        let storage = SqliteStorage::open(&dir.path().join("t.db"), 64, Arc::new(|_| {})).unwrap();
        let db = Db::new(storage.clone());
        let now = crate::clock::now();
        let ok = db.write(move |tx| tx.insert_manager("Ada", "ada@x.test", now));
        let failing = db.write(move |tx| {
            tx.insert_manager("Bob", "bob@x.test", now)?;
            Err::<(), _>(Error::Internal("boom".into()))
        });
        let (a, b) = tokio::join!(ok, failing);
        assert!(a.is_ok());
        assert!(b.is_err());
        let bob = db
            .write(|tx| tx.manager_by_email("bob@x.test"))
            .await
            .unwrap();
        assert_eq!(bob, None, "the failed job's write must be rolled back");
        let ada = db
            .write(|tx| tx.manager_by_email("ada@x.test"))
            .await
            .unwrap();
        assert!(ada.is_some());
    }

    #[tokio::test]
    async fn a_job_that_panics_in_the_writer_fails_alone_and_the_writer_goes_on() {
        let dir = tempfile::tempdir().unwrap();
        let storage = SqliteStorage::open(&dir.path().join("t.db"), 64, Arc::new(|_| {})).unwrap();
        let db = Db::new(storage.clone());
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        // A raw job (no Db::write around it) that writes, then panics.
        storage
            .submit_write(Box::new(move |wtx| {
                let _keep_until_unwound = tx;
                wtx.insert_manager("Eve", "eve@x.test", crate::clock::now())
                    .unwrap();
                panic!("a bug in a write job");
            }))
            .unwrap();
        assert!(
            rx.await.is_err(),
            "the panicking job's caller hears nothing applied"
        );
        let now = crate::clock::now();
        db.write(move |tx| tx.insert_manager("Ada", "ada@x.test", now))
            .await
            .expect("the writer still takes writes");
        let eve = db
            .write(|tx| tx.manager_by_email("eve@x.test"))
            .await
            .unwrap();
        assert_eq!(eve, None, "the panicking job's write was rolled back");
        assert_eq!(storage.health(), Health::Ok);
    }

    #[test]
    fn refuses_a_database_from_a_newer_server() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        {
            let c = Connection::open(&path).unwrap();
            c.pragma_update(None, "user_version", 99).unwrap();
        }
        let err = SqliteStorage::open(&path, 64, Arc::new(|_| {}))
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains("newer than this baton-server"), "{err}");
    }
}
