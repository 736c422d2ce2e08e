//! [`PgStorage`]: the `Storage` the server runs on PostgreSQL, with any
//! number of instances on one database.
//!
//! - **Writes.** One writer thread per instance owns one connection. It takes
//!   the jobs waiting, runs each in a savepoint of one transaction and
//!   commits them together (group commit, as the SQLite writer). Every write
//!   transaction first takes one transaction-scoped advisory lock, so write
//!   transactions of all instances run one after another, as SQLite's
//!   single writer does: routing's rules (a lead offered to one rep at a
//!   time, fair rotation, idempotent intake and feedback, feed sequence
//!   numbers that commit in order) hold across instances exactly as they
//!   hold in one process, with no retry loops. The lock is released by
//!   commit or rollback, and by PostgreSQL when an instance dies.
//! - **Reads** run on tokio's blocking threads on connections from a
//!   `deadpool-postgres` pool, each job in a `REPEATABLE READ` snapshot.
//! - **Live changes across instances.** Each commit that grew a rep's feed
//!   (or moved an SLA deadline) sends `NOTIFY baton_changes` in the same
//!   transaction; every instance LISTENs on a connection of its own and
//!   wakes its streams, so a stream on instance B hears a commit on A at
//!   once, without polling.
//! - **One SLA sweeper.** The listening connection also tries to hold a
//!   session advisory lock; the instance holding it runs the sweeper. When
//!   that instance dies its connection closes, PostgreSQL releases the lock
//!   and another instance takes it at its next try (every second).

use std::cell::RefCell;
use std::collections::{HashMap, VecDeque};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::thread::JoinHandle;
use std::time::Duration;

use futures_util::StreamExt;
use tokio_postgres::{AsyncMessage, Client, Statement};

use super::cache::{RepSnapshot, WriterCache};
use super::rollup_buffer::RollupBuffer;
use super::tx::{Blocker, Later, PgTx, Statements};
use super::{PgUrl, migrate};
use crate::error::{Error, Result};
use crate::store::sqlite::CommitListener;
use crate::store::writer::{self, WriterHealth};
use crate::store::{CommitEffects, Health, ReadJob, Storage, WriteJob};

/// Most jobs one commit takes. Each job is a savepoint, and PostgreSQL
/// keeps at most 64 subtransactions of a transaction in its snapshots; more
/// would slow every reader's visibility checks until the commit.
const MAX_BATCH: usize = 64;
/// How long a batch keeps taking jobs that arrive while it runs; bounds
/// the wait it adds to its first job.
const BATCH_WINDOW: Duration = Duration::from_millis(10);
/// Connections the read pool keeps at most.
const READ_POOL: usize = 16;
/// The transaction lock every write transaction takes ("baton-w").
const WRITE_LOCK: i64 = 0x62_61_74_6f_6e_2d_77;
/// The session lock the instance running the SLA sweeper holds ("baton-s").
const SWEEPER_LOCK: i64 = 0x62_61_74_6f_6e_2d_73;
/// The channel commits are announced on.
const CHANNEL: &str = "baton_changes";
/// A NOTIFY payload must stay under 8000 bytes; a commit that touched more
/// reps than fit says "all" instead.
const MAX_PAYLOAD: usize = 4000;
/// How often an instance without the sweeper lock tries to take it, and how
/// long a lost listening connection waits before connecting again.
const LEADER_RETRY: Duration = Duration::from_secs(1);

/// Session settings of the writer's connection.
/// - `lock_timeout`: a write waits at most this long for another instance's
///   transaction (then the caller hears `unavailable` and retries).
/// - `idle_in_transaction_session_timeout`: an instance that stops mid-
///   transaction (frozen, not dead) loses its session, so its write lock
///   cannot stall the others for longer.
const WRITER_SESSION: &str = "SET lock_timeout = '10s'; \
     SET idle_in_transaction_session_timeout = '30s'; SET TIME ZONE 'UTC'";

pub struct PgStorage {
    writer: Mutex<Option<mpsc::SyncSender<WriteJob>>>,
    writer_thread: Mutex<Option<JoinHandle<()>>>,
    state: Arc<WriterState>,
    pool: deadpool_postgres::Pool,
    runtime: tokio::runtime::Handle,
    leader: Arc<AtomicBool>,
    listener: Mutex<Option<tokio::task::JoinHandle<()>>>,
}

/// What the writer thread last knew about itself.
#[derive(Default)]
struct WriterState {
    /// For `/healthz`.
    health: Arc<WriterHealth>,
    /// The writer connection's backend process id: the listener ignores the
    /// notifications this instance sent itself (its commit listener already
    /// heard them).
    backend_pid: AtomicI32,
}

/// A kept job whose last writes are carried over to the next job's first
/// statement, and what it waits to hear.
struct Carried {
    pending: Vec<Later>,
    finish: Box<dyn FnOnce(Result<()>) + Send>,
    effects: CommitEffects,
    rollups: RollupBuffer,
    /// What the writer remembered of the reps when the job began, if the
    /// job changed them.
    snapshot: Option<RepSnapshot>,
}

/// The writer's connection and its prepared statements.
struct WriterConn {
    client: Client,
    statements: RefCell<HashMap<String, Statement>>,
}

impl PgStorage {
    /// Connects to `url`, migrates the schema (once, whichever instance
    /// comes first) and starts the writer, the read pool and the listener.
    /// Must be called within the server's tokio runtime.
    pub fn open(url: &PgUrl, queue: usize, on_commit: CommitListener) -> Result<Arc<Self>> {
        let runtime = tokio::runtime::Handle::try_current().map_err(|_| {
            Error::Internal("the PostgreSQL backend must be opened within a tokio runtime".into())
        })?;
        let (tx, rx) = mpsc::sync_channel::<WriteJob>(queue.max(1));
        let state = Arc::new(WriterState::default());
        let (ready_tx, ready_rx) = mpsc::channel();
        let thread = {
            let (url, state, on_commit) = (url.clone(), state.clone(), on_commit.clone());
            std::thread::Builder::new()
                .name("baton-pg-writer".into())
                .spawn(move || run_writer(url, rx, on_commit, state, ready_tx))
                .map_err(|e| Error::Internal(format!("cannot start the writer thread: {e}")))?
        };
        // The writer connects and migrates before it takes jobs.
        match ready_rx.recv() {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                let _ = thread.join();
                return Err(e);
            }
            Err(_) => {
                let _ = thread.join();
                return Err(Error::Internal(
                    "the database writer stopped while starting".into(),
                ));
            }
        }
        let manager = deadpool_postgres::Manager::from_config(
            url.config().clone(),
            url.tls()?,
            deadpool_postgres::ManagerConfig {
                recycling_method: deadpool_postgres::RecyclingMethod::Fast,
            },
        );
        let pool = deadpool_postgres::Pool::builder(manager)
            .max_size(READ_POOL)
            .runtime(deadpool_postgres::Runtime::Tokio1)
            .wait_timeout(Some(Duration::from_secs(10)))
            .create_timeout(Some(Duration::from_secs(10)))
            .build()
            .map_err(|e| Error::Internal(format!("cannot build the read pool: {e}")))?;
        let leader = Arc::new(AtomicBool::new(false));
        let listener = runtime.spawn(listen(
            url.clone(),
            on_commit,
            state.clone(),
            leader.clone(),
        ));
        Ok(Arc::new(PgStorage {
            writer: Mutex::new(Some(tx)),
            writer_thread: Mutex::new(Some(thread)),
            state,
            pool,
            runtime,
            leader,
            listener: Mutex::new(Some(listener)),
        }))
    }

    fn close_writer(&self) {
        self.writer.lock().expect("writer lock").take();
        if let Some(t) = self.writer_thread.lock().expect("thread lock").take() {
            let _ = t.join();
        }
        if let Some(l) = self.listener.lock().expect("listener lock").take() {
            l.abort();
        }
        self.leader.store(false, Ordering::SeqCst);
    }
}

impl Drop for PgStorage {
    fn drop(&mut self) {
        self.close_writer();
    }
}

/// Connects the writer: session settings, and its backend's process id.
fn connect_writer(
    rt: &tokio::runtime::Runtime,
    url: &PgUrl,
    state: &WriterState,
) -> Result<WriterConn> {
    let client = rt.block_on(async {
        let client = super::connect(url).await?;
        client.batch_execute(WRITER_SESSION).await?;
        Ok::<_, Error>(client)
    })?;
    let pid: i32 = rt
        .block_on(client.query_one("SELECT pg_backend_pid()", &[]))?
        .get(0);
    state.backend_pid.store(pid, Ordering::SeqCst);
    Ok(WriterConn {
        client,
        statements: RefCell::new(HashMap::new()),
    })
}

fn run_writer(
    url: PgUrl,
    rx: mpsc::Receiver<WriteJob>,
    on_commit: CommitListener,
    state: Arc<WriterState>,
    ready: mpsc::Sender<Result<()>>,
) {
    let _watch = state.health.watch();
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            let _ = ready.send(Err(Error::Internal(format!(
                "cannot start the writer's runtime: {e}"
            ))));
            return;
        }
    };
    let first = connect_writer(&rt, &url, &state).and_then(|mut conn| {
        rt.block_on(migrate(&mut conn.client))?;
        Ok(conn)
    });
    let mut conn = match first {
        Ok(c) => {
            let _ = ready.send(Ok(()));
            Some(c)
        }
        Err(e) => {
            let _ = ready.send(Err(e));
            return;
        }
    };
    let cache = RefCell::new(WriterCache::default());
    let mut jobs: VecDeque<WriteJob> = VecDeque::with_capacity(MAX_BATCH);
    while let Ok(first) = rx.recv() {
        jobs.push_back(first);
        while jobs.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(job) => jobs.push_back(job),
                Err(_) => break,
            }
        }
        // A connection lost (PostgreSQL restarted, a network cut) is made
        // again; while it cannot be, jobs are refused, not queued forever.
        if conn.as_ref().is_none_or(|c| c.client.is_closed()) {
            conn = match connect_writer(&rt, &url, &state) {
                Ok(c) => {
                    cache.borrow_mut().forget();
                    tracing::info!(db = %url, "reconnected the database writer");
                    Some(c)
                }
                Err(e) => {
                    tracing::error!(error = %e, "the database writer cannot reconnect");
                    state.health.set_failing(Some(e.to_string()));
                    // Dropping the jobs tells each caller its write was not applied.
                    jobs.clear();
                    None
                }
            };
        }
        let Some(c) = conn.as_ref() else { continue };
        let kill = run_transaction(&rt, c, &cache, &mut jobs, &rx, &on_commit, &state);
        jobs.clear();
        #[cfg(debug_assertions)]
        if kill {
            panic!("injected fault: the writer thread dies");
        }
        let _ = kill;
    }
}

/// Runs the jobs, each in a savepoint, inside one transaction under the
/// write lock, and commits them together. Returns whether a job asked (in a
/// test build) for the writer to die.
fn run_transaction(
    rt: &tokio::runtime::Runtime,
    conn: &WriterConn,
    cache: &RefCell<WriterCache>,
    jobs: &mut VecDeque<WriteJob>,
    rx: &mpsc::Receiver<WriteJob>,
    on_commit: &CommitListener,
    state: &WriterState,
) -> bool {
    let block = Blocker::Runtime(rt);
    let started = std::time::Instant::now();
    let mut taken = jobs.len();
    let batch = |sql: &str| rt.block_on(conn.client.batch_execute(sql));
    // The write epoch counts write transactions of all instances: the one
    // after this writer's last means nobody else wrote in between, and what
    // the writer remembers still holds (cache.rs).
    let began = rt
        .block_on(conn.client.simple_query(&format!(
            "BEGIN; SELECT pg_advisory_xact_lock({WRITE_LOCK}); \
             UPDATE write_epoch SET n = n + 1 RETURNING n"
        )))
        .map_err(Error::from)
        .and_then(|messages| {
            // The last row is the epoch's (the lock's comes first).
            messages
                .iter()
                .rev()
                .find_map(|m| match m {
                    tokio_postgres::SimpleQueryMessage::Row(r) => {
                        r.get(0).and_then(|n| n.parse::<i64>().ok())
                    }
                    _ => None,
                })
                .ok_or_else(|| Error::Internal("the write epoch is missing".into()))
        });
    match &began {
        Ok(epoch) => cache.borrow_mut().begin(*epoch),
        Err(_) => cache.borrow_mut().forget(),
    }
    if let Err(e) = began {
        tracing::error!(error = %e, "cannot begin a write transaction");
        state
            .health
            .set_failing(Some(format!("cannot begin a write transaction: {e}")));
        let _ = batch("ROLLBACK");
        jobs.clear();
        return false;
    }
    let mut effects = CommitEffects::default();
    let mut finishers = Vec::with_capacity(jobs.len());
    let mut broken: Option<Error> = None;
    let mut kill = false;
    // Whether a savepoint was opened (or queued) in this transaction yet:
    // the next job then releases it as it opens its own.
    let mut savepoint = false;
    // The previous job, kept, whose last writes wait to go out with this
    // job's first statement (a round trip saved per job); its caller hears
    // of it once those writes held.
    let mut carry: Option<Carried> = None;
    // The rollup changes of the jobs kept so far, written with the COMMIT.
    let rollups = RefCell::new(RollupBuffer::default());
    while let Some(job) = jobs.pop_front() {
        let mut pending = carry
            .as_mut()
            .map(|c| std::mem::take(&mut c.pending))
            .unwrap_or_default();
        let carried_snapshot = carry.as_mut().and_then(|c| c.snapshot.take());
        let carried = pending.len();
        pending.push(Later::Batch(
            if savepoint {
                "RELEASE job; SAVEPOINT job"
            } else {
                "SAVEPOINT job"
            }
            .into(),
        ));
        let mut tx = PgTx {
            pending: RefCell::new(pending),
            carried: std::cell::Cell::new(carried),
            cache: Some(cache),
            batch_rollups: Some(&rollups),
            carried_snapshot: RefCell::new(carried_snapshot),
            ..PgTx::new(&conn.client, Statements::Own(&conn.statements), &block)
        };
        let outcome = match catch_unwind(AssertUnwindSafe(|| job(&mut tx))) {
            Ok(outcome) => Some(outcome),
            Err(_) => {
                tracing::error!("a write job panicked; its writes are rolled back");
                None
            }
        };
        kill |= tx.kill_writer;
        #[cfg(debug_assertions)]
        if tx.fail_last_write {
            tx.queue_failing_write();
        }
        // The previous job's verdict: its carried writes went out with this
        // job's first statement, or go out now.
        let settled = tx.settle_carried();
        if let Some(c) = carry.take() {
            match settled {
                Ok(()) => {
                    effects.feed_reps.extend(c.effects.feed_reps);
                    effects.sla_changed |= c.effects.sla_changed;
                    effects.events |= c.effects.events;
                    rollups.borrow_mut().absorb(c.rollups);
                    finishers.push(c.finish);
                }
                Err(e) => {
                    tracing::error!(error = %e, "a write job's last writes failed; it alone was rolled back");
                    (c.finish)(Err(e));
                }
            }
        }
        let keep = outcome.as_ref().is_some_and(|o| o.keep);
        // A job that went on after a failed statement cannot be kept
        // (PostgreSQL aborted its savepoint); its caller hears why.
        let mut failed = match (keep, tx.failed.get()) {
            (true, true) => Some(Error::Internal(
                "a write job went on after a failed statement; nothing of it was written".into(),
            )),
            _ => None,
        };
        // Writes still waiting wait for the next job's first statement;
        // the batch's last job sends them now.
        // Jobs that arrived meanwhile join the batch while it is young:
        // one commit (and its round trips and disk flush) for more leads.
        while jobs.is_empty() && taken < MAX_BATCH && started.elapsed() < BATCH_WINDOW {
            match rx.try_recv() {
                Ok(job) => {
                    jobs.push_back(job);
                    taken += 1;
                }
                Err(_) => break,
            }
        }
        if keep && failed.is_none() && jobs.is_empty() {
            failed = tx.flush().err();
        }
        let sent = tx.sent_any();
        let job_effects = std::mem::take(&mut tx.effects);
        let unsent = tx.take_pending();
        let job_rollups = std::mem::take(&mut *tx.known.rollups.borrow_mut());
        let snapshot = tx.snapshot.borrow_mut().take();
        let connection_lost = tx.broken.get();
        drop(tx);
        if connection_lost {
            broken = Some(Error::Unavailable(
                "the database connection failed; retry shortly",
            ));
            if let Some(o) = outcome {
                (o.finish)(Err(Error::Unavailable(
                    "the database connection failed; retry shortly",
                )));
            }
            break;
        }
        if !keep || failed.is_some() {
            // The job's changes to reps are undone (or were never sent):
            // what the writer remembers goes back to when it began.
            if let Some(before) = snapshot {
                cache.borrow_mut().restore(before);
            }
            if sent && let Err(e) = batch("ROLLBACK TO job") {
                broken = Some(e.into());
                if let Some(o) = outcome {
                    (o.finish)(Err(Error::Unavailable(
                        "the database connection failed; retry shortly",
                    )));
                }
                break;
            }
            savepoint |= sent;
            match (outcome, failed) {
                (Some(o), Some(e)) => (o.finish)(Err(e)),
                (Some(o), None) => finishers.push(o.finish),
                (None, _) => {}
            }
            continue;
        }
        // Kept: its savepoint was sent, or goes out with the carried writes.
        savepoint = true;
        let Some(o) = outcome else { continue };
        if unsent.is_empty() {
            effects.feed_reps.extend(job_effects.feed_reps);
            effects.sla_changed |= job_effects.sla_changed;
            effects.events |= job_effects.events;
            rollups.borrow_mut().absorb(job_rollups);
            finishers.push(o.finish);
        } else {
            carry = Some(Carried {
                pending: unsent,
                finish: o.finish,
                effects: job_effects,
                rollups: job_rollups,
                snapshot,
            });
        }
    }
    // A transaction that broke while a job's writes were still carried:
    // that job was not applied either.
    if let Some(c) = carry.take() {
        (c.finish)(Err(Error::Unavailable(
            "the database connection failed; retry shortly",
        )));
    }
    effects.feed_reps.sort_unstable();
    effects.feed_reps.dedup();
    let committed = match broken {
        Some(_) => {
            cache.borrow_mut().forget();
            broken
        }
        None => None,
    };
    let committed = match committed {
        Some(e) => {
            tracing::error!(error = %e, jobs = finishers.len(), "a write transaction broke; its jobs are reported as not applied");
            let _ = batch("ROLLBACK");
            Err(e)
        }
        None => {
            let notify = notification(&effects)
                .map(|p| format!("SELECT pg_notify('{CHANNEL}', '{p}'); "))
                // A statement before COMMIT either way: in a transaction
                // that is somehow aborted it fails, where COMMIT alone
                // would answer as a rollback without an error.
                .unwrap_or_else(|| "SELECT 1; ".into());
            // The batch's rollup changes go out with the COMMIT, in the
            // same round trip; if one fails, the batch fails whole.
            // And the reps whose rotation changed, as the writer has them.
            let mut last_writes = rollups.borrow().statements();
            last_writes.extend(super::tx::rep_writes(cache.borrow_mut().take_dirty()));
            let commit = PgTx {
                pending: RefCell::new(last_writes),
                ..PgTx::new(&conn.client, Statements::Own(&conn.statements), &block)
            };
            let c = commit.batch(&format!("{notify}COMMIT"));
            drop(commit);
            if c.is_err() {
                cache.borrow_mut().forget();
            }
            if c.is_err() && !conn.client.is_closed() {
                let _ = batch("ROLLBACK");
            }
            c
        }
    };
    match &committed {
        Ok(()) => state.health.set_failing(None),
        Err(e) => state.health.set_failing(Some(e.to_string())),
    }
    for finish in finishers {
        finish(match &committed {
            Ok(()) => Ok(()),
            Err(e) => Err(Error::Storage(e.to_string())),
        });
    }
    if committed.is_ok() && catch_unwind(AssertUnwindSafe(|| on_commit(&effects))).is_err() {
        tracing::error!("a commit listener panicked");
    }
    kill
}

/// What other instances must hear of a commit: `f` and the reps whose feeds
/// grew (or `*`: all), `s` if an SLA deadline moved, `e` if outbound
/// events were recorded. Only digits, commas, `;` and these letters, so it
/// is safe inside a SQL literal.
fn notification(effects: &CommitEffects) -> Option<String> {
    if effects.feed_reps.is_empty() && !effects.sla_changed && !effects.all_reps && !effects.events
    {
        return None;
    }
    let mut reps = effects
        .feed_reps
        .iter()
        .map(|r| r.to_string())
        .collect::<Vec<_>>()
        .join(",");
    if effects.all_reps || reps.len() > MAX_PAYLOAD {
        reps = "*".into();
    }
    Some(format!(
        "f{reps}{}{}",
        if effects.sla_changed { ";s" } else { "" },
        if effects.events { ";e" } else { "" }
    ))
}

/// Reads a notification's payload back into commit effects.
fn parse_notification(payload: &str) -> CommitEffects {
    let (reps, rest) = payload.split_once(';').unwrap_or((payload, ""));
    let reps = reps.strip_prefix('f').unwrap_or("");
    let mut effects = CommitEffects {
        sla_changed: rest.split(';').any(|m| m == "s"),
        events: rest.split(';').any(|m| m == "e"),
        ..CommitEffects::default()
    };
    if reps == "*" {
        effects.all_reps = true;
    } else {
        effects.feed_reps = reps.split(',').filter_map(|r| r.parse().ok()).collect();
    }
    effects
}

/// Listens for other instances' commits and holds (or tries for) the
/// sweeper lock, on one connection, reconnecting when it is lost. After a
/// reconnection every stream is woken, since notifications sent meanwhile
/// were missed.
async fn listen(
    url: PgUrl,
    on_commit: CommitListener,
    state: Arc<WriterState>,
    leader: Arc<AtomicBool>,
) {
    let mut announced_loss = false;
    loop {
        let tls = match url.tls() {
            Ok(t) => t,
            Err(e) => {
                tracing::error!(error = %e, "the change listener cannot set up TLS");
                return;
            }
        };
        let connected = url.config().connect(tls).await;
        let (client, mut connection) = match connected {
            Ok(c) => c,
            Err(e) => {
                if !announced_loss {
                    tracing::warn!(error = %super::pg_error("the change listener cannot connect", &e), "retrying");
                    announced_loss = true;
                }
                tokio::time::sleep(LEADER_RETRY).await;
                continue;
            }
        };
        let (notes_tx, mut notes) = tokio::sync::mpsc::unbounded_channel();
        let driver = tokio::spawn(async move {
            let mut messages = futures_util::stream::poll_fn(move |cx| connection.poll_message(cx));
            while let Some(m) = messages.next().await {
                match m {
                    Ok(AsyncMessage::Notification(n)) => {
                        let _ = notes_tx.send(n);
                    }
                    Ok(_) => {}
                    Err(e) => {
                        tracing::warn!(error = %e, "the change listener's connection ended");
                        break;
                    }
                }
            }
        });
        if let Err(e) = client.batch_execute(&format!("LISTEN {CHANNEL}")).await {
            tracing::warn!(error = %Error::from(e), "cannot LISTEN for changes; retrying");
            driver.abort();
            tokio::time::sleep(LEADER_RETRY).await;
            continue;
        }
        if announced_loss {
            tracing::info!("the change listener is connected again");
        }
        announced_loss = false;
        // Whatever other instances committed while this one was not
        // listening: every stream reads its feed again.
        on_commit(&CommitEffects {
            all_reps: true,
            sla_changed: true,
            ..CommitEffects::default()
        });
        let mut tick = tokio::time::interval(LEADER_RETRY);
        loop {
            tokio::select! {
                note = notes.recv() => {
                    let Some(note) = note else { break };
                    if note.process_id() == state.backend_pid.load(Ordering::SeqCst) {
                        continue;
                    }
                    on_commit(&parse_notification(note.payload()));
                }
                _ = tick.tick() => {
                    if leader.load(Ordering::SeqCst) {
                        continue;
                    }
                    match client.query_one("SELECT pg_try_advisory_lock($1)", &[&SWEEPER_LOCK]).await {
                        Ok(row) if row.get::<_, bool>(0) => {
                            tracing::info!("this instance now runs the SLA sweeper");
                            leader.store(true, Ordering::SeqCst);
                            // The sweeper looks at deadlines now.
                            on_commit(&CommitEffects { sla_changed: true, ..CommitEffects::default() });
                        }
                        Ok(_) => {}
                        Err(_) => break,
                    }
                }
            }
        }
        if leader.swap(false, Ordering::SeqCst) {
            tracing::warn!("lost the SLA sweeper lock with the listening connection");
        }
        driver.abort();
        drop(client);
        tokio::time::sleep(LEADER_RETRY).await;
    }
}

impl Storage for PgStorage {
    fn close(&self) {
        self.close_writer();
    }

    fn submit_write(&self, job: WriteJob) -> Result<()> {
        writer::submit(&self.writer, job)
    }

    fn submit_read(&self, job: ReadJob) {
        let pool = self.pool.clone();
        let runtime = self.runtime.clone();
        tokio::task::spawn_blocking(move || {
            let block = Blocker::Handle(runtime);
            let object = match block.on(pool.get()) {
                Ok(o) => o,
                // Busy or unreachable: both pass, so the caller hears 503
                // and retries; the log says which.
                Err(deadpool_postgres::PoolError::Timeout(_)) => {
                    tracing::warn!("no read connection became free within 10 s");
                    return job(Err(Error::Unavailable(
                        "the database is busy: no connection became free in time; retry shortly",
                    )));
                }
                Err(e) => {
                    tracing::warn!(error = %super::redact(&e.to_string()), "cannot open a read connection");
                    return job(Err(Error::Unavailable(
                        "the database cannot be reached; retry shortly",
                    )));
                }
            };
            let tx = PgTx::new(&object, Statements::Pool(&object), &block);
            // One snapshot for the whole job; sent with its first statement.
            tx.later_batch("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
            let ran = catch_unwind(AssertUnwindSafe(|| job(Ok(&tx))));
            let (sent, failed) = (tx.sent_any(), tx.failed.get());
            drop(tx);
            let ended = if sent {
                block.on(object.batch_execute("COMMIT"))
            } else {
                Ok(())
            };
            if ran.is_err() || failed || ended.is_err() {
                // Never hand a connection in an unknown state to the next job.
                let _ = deadpool_postgres::Object::take(object);
            }
            if let Err(panic) = ran {
                std::panic::resume_unwind(panic);
            }
        });
    }

    fn health(&self) -> Health {
        self.state.health.health(&self.writer_thread)
    }

    fn runs_sweeper(&self) -> bool {
        self.leader.load(Ordering::SeqCst)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notifications_round_trip_and_stay_bounded() {
        let e = CommitEffects {
            feed_reps: vec![3, 14, 15],
            sla_changed: true,
            ..CommitEffects::default()
        };
        let p = notification(&e).unwrap();
        assert_eq!(p, "f3,14,15;s");
        let back = parse_notification(&p);
        assert_eq!(back.feed_reps, vec![3, 14, 15]);
        assert!(back.sla_changed && !back.all_reps);
        assert_eq!(notification(&CommitEffects::default()), None);
        let many = CommitEffects {
            feed_reps: (0..5000).collect(),
            ..CommitEffects::default()
        };
        let p = notification(&many).unwrap();
        assert_eq!(p, "f*");
        assert!(parse_notification(&p).all_reps);
        let events = CommitEffects {
            events: true,
            ..CommitEffects::default()
        };
        let p = notification(&events).unwrap();
        assert_eq!(p, "f;e");
        let back = parse_notification(&p);
        assert!(back.events && !back.sla_changed && back.feed_reps.is_empty());
        let both = parse_notification("f7;s;e");
        assert!(both.events && both.sla_changed);
        assert_eq!(both.feed_reps, vec![7]);
    }
}
