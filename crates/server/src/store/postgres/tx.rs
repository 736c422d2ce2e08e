//! `ReadTx` and `WriteTx` on a PostgreSQL connection: the same operations as
//! the SQLite backend, in PostgreSQL's SQL.
//!
//! The storage traits are synchronous (a job is a closure run inside a
//! transaction), while the driver is async. A job therefore runs on a thread
//! of its own that blocks on each statement ([`Blocker`]): the writer thread
//! drives a runtime of its own, read jobs run on tokio's blocking threads.
//! Statements are prepared once per connection and reused.

use std::cell::RefCell;
use std::collections::HashMap;
use std::future::Future;

use crate::store::CrmEndpoint;
use baton_protocol::{
    Assignment, AssignmentOutcome, Availability, Change, Cursor, Decision, DecisionKind, FeedEntry,
    FeedbackLogEntry, IntakeReceipt, LeadEvent, LeadEventKind, LeadId, LeadIntake, QueuedLead, Rep,
    RepId, ReturnedToMarketing, Role, Team, Timestamp, WireName,
};
use baton_protocol::{DeliveryStatus, EndpointKind, WebhookDelivery, WebhookEndpoint};
use tokio_postgres::types::ToSql;
use tokio_postgres::{Client, Row, Statement};

use super::cache::{self, CachedRep, ID_BLOCK, IdTable, RepSnapshot, WriterCache};
use super::rollup_buffer::RollupBuffer;
use crate::cells::{
    CellPart, CellQuery, Cells, Dim, Grain, LeadScoreKey, OfferKey, QueueEpisode, ReasonKey,
    ScoreKey,
};
use crate::error::{Error, Result};
use crate::store::rows::{self, DefinitionColumns};
use crate::store::{
    AssignmentFact, AttemptOutcome, AttemptRecord, ChangeMarks, CommitEffects, DueDelivery,
    EndpointRow, FeedSlice, LeadFilter, LeadRow, LeadStanding, NewAssignment, NewDecision,
    NewEndpoint, NewEvent, NewReceipt, NewRep, Principal, ReadTx, ReceiptFilter, RepCandidate,
    StoredAnswer, WriteTx, feed_keys, rollup_tables,
};
use crate::store::{Candidate, NewEscalation, RepRecord};
use baton_protocol::{AuditEntry, Definition, Escalation, Manager};

type Params<'p> = &'p [&'p (dyn ToSql + Sync)];

/// Owned parameters of a write sent later: `owned![a, b]`.
macro_rules! owned {
    ($($v:expr),* $(,)?) => {
        vec![$(Box::new($v) as Owned),*]
    };
}

/// Runs a future to completion from a synchronous job.
pub(super) enum Blocker<'a> {
    /// The writer's own current-thread runtime, which also drives its
    /// connection (only `Runtime::block_on` can).
    Runtime(&'a tokio::runtime::Runtime),
    /// The server's runtime, from a blocking thread; pooled connections are
    /// driven by tasks on it.
    Handle(tokio::runtime::Handle),
}

impl Blocker<'_> {
    pub(super) fn on<F: Future>(&self, f: F) -> F::Output {
        match self {
            Blocker::Runtime(rt) => rt.block_on(f),
            Blocker::Handle(h) => h.block_on(f),
        }
    }
}

/// Where a connection's prepared statements are kept.
pub(super) enum Statements<'a> {
    /// The writer's connection: a map it owns.
    Own(&'a RefCell<HashMap<String, Statement>>),
    /// A pooled connection: the pool's cache, which lives with the connection.
    Pool(&'a deadpool_postgres::ClientWrapper),
}

pub(super) struct PgTx<'a> {
    pub(super) client: &'a Client,
    pub(super) statements: Statements<'a>,
    pub(super) block: &'a Blocker<'a>,
    pub(super) effects: CommitEffects,
    /// Set by an injected fault (test builds): the writer thread dies after this batch.
    pub(super) kill_writer: bool,
    /// Set by an injected fault (test builds): the job's last write fails
    /// when it goes out, after the job returned.
    #[cfg_attr(not(debug_assertions), allow(dead_code))]
    pub(super) fail_last_write: bool,
    /// A statement failed: PostgreSQL aborted the job's savepoint, so the
    /// job cannot be kept even if it went on and returned `Ok`.
    pub(super) failed: std::cell::Cell<bool>,
    /// Writes waiting to be sent with the next statement that has an answer.
    pub(super) pending: RefCell<Vec<Later>>,
    /// Something of this job was sent.
    pub(super) sent_any: std::cell::Cell<bool>,
    /// How many of the first `pending` writes are the previous job's,
    /// carried over to go out with this job's first statement; zero once
    /// they were sent and held.
    pub(super) carried: std::cell::Cell<usize>,
    /// The carried writes failed: why (that job was rolled back alone).
    pub(super) carried_failed: RefCell<Option<Error>>,
    /// Rolling back to a savepoint failed: the transaction cannot go on.
    pub(super) broken: std::cell::Cell<bool>,
    /// What this job itself wrote and reads back (a round trip saved each).
    pub(super) known: Known,
    /// The writer's memory between transactions (`None` for reads).
    pub(super) cache: Option<&'a RefCell<WriterCache>>,
    /// The rollup changes of the batch's jobs kept so far (`None` for reads).
    pub(super) batch_rollups: Option<&'a RefCell<RollupBuffer>>,
    /// What the writer remembered of the reps when this job began, and
    /// when the job whose writes are carried began (put back if those
    /// fail); taken at a job's first change to them (`reps_mut`), so a job
    /// that changes none copies nothing.
    pub(super) snapshot: RefCell<Option<RepSnapshot>>,
    pub(super) carried_snapshot: RefCell<Option<RepSnapshot>>,
    /// Dirty reps were queued to be written before this job's first round
    /// trip: if the carried writes then fail, those values are wrong.
    pub(super) flushed_before_sync: std::cell::Cell<bool>,
}

/// Rows a job wrote that the bookkeeping reads straight back. Valid for the
/// job only: no other transaction writes in between (the write lock).
#[derive(Default)]
pub(super) struct Known {
    standings: RefCell<HashMap<LeadId, LeadStanding>>,
    facts: RefCell<HashMap<i64, AssignmentFact>>,
    offers: RefCell<HashMap<i64, Assignment>>,
    /// The job's rollup changes, written with the batch's commit.
    pub(super) rollups: RefCell<RollupBuffer>,
    /// Leads whose insert still waits in `pending`, at that index: an
    /// update of one rewrites the insert instead of adding a statement.
    lead_inserts: RefCell<HashMap<LeadId, usize>>,
    /// History entries waiting to go out together as one statement.
    events: RefCell<PendingEvents>,
    /// Leads this job created and no offer of which ended yet: nobody can
    /// have passed on them.
    unpassed: RefCell<std::collections::HashSet<LeadId>>,
}

/// History entries of a job not yet sent, column by column.
#[derive(Default)]
pub(super) struct PendingEvents {
    lead: Vec<i64>,
    at: Vec<i64>,
    kind: Vec<String>,
    rep: Vec<Option<i64>>,
    detail: Vec<String>,
}

/// A parameter owned by a write waiting to be sent.
pub(super) type Owned = Box<dyn ToSql + Sync + Send>;

type PgResult<T> = std::result::Result<T, tokio_postgres::Error>;

/// One pipelined request.
type Request<'a> = std::pin::Pin<Box<dyn Future<Output = PgResult<()>> + 'a>>;

/// A statement whose answer the job does not need: sent with the next
/// statement that has one (or at the job's end), in the same round trip.
pub(super) enum Later {
    /// Simple-query SQL (the job's savepoint).
    Batch(String),
    /// A prepared statement; with `expect`, the rows it must change and the
    /// error to give otherwise.
    Exec {
        sql: String,
        params: Vec<Owned>,
        /// Why the job fails if the statement's row-count check fails.
        expect: Option<String>,
    },
}

impl Later {
    pub(super) fn exec(sql: String, params: Vec<Owned>) -> Later {
        Later::Exec {
            sql,
            params,
            expect: None,
        }
    }
}

impl<'a> PgTx<'a> {
    /// A job's view of a connection, with nothing sent or known yet.
    pub(super) fn new(
        client: &'a Client,
        statements: Statements<'a>,
        block: &'a Blocker<'a>,
    ) -> PgTx<'a> {
        PgTx {
            client,
            statements,
            block,
            effects: CommitEffects::default(),
            kill_writer: false,
            fail_last_write: false,
            failed: Default::default(),
            pending: Default::default(),
            sent_any: Default::default(),
            carried: Default::default(),
            carried_failed: Default::default(),
            broken: Default::default(),
            known: Default::default(),
            cache: None,
            batch_rollups: None,
            snapshot: Default::default(),
            carried_snapshot: Default::default(),
            flushed_before_sync: Default::default(),
        }
    }
}

impl PgTx<'_> {
    /// Runs `last` after sending every write waiting, all in one round trip
    /// (the driver pipelines requests sent before their answers are
    /// awaited), and returns `last`'s answer. Any failure of this job's own
    /// requests marks the job failed: PostgreSQL aborted its savepoint.
    ///
    /// The first requests may be the previous job's writes, carried over
    /// so that they cost no round trip of their own (storage.rs). If one of
    /// those fails, that job alone is rolled back (to its savepoint, which
    /// this job's savepoint has not yet replaced: it was in the same
    /// aborted pipeline) and this job's requests are sent again, so this
    /// job never sees the other's failure.
    fn send<T, F>(&self, last: impl Fn() -> F) -> Result<T>
    where
        F: Future<Output = PgResult<T>>,
    {
        let mut pending = self.take_pending();
        loop {
            let carried = self.carried.get();
            match self.send_with(&pending, last()) {
                Err((Some(at), e)) if at < carried => {
                    self.carried.set(0);
                    *self.carried_failed.borrow_mut() = Some(e);
                    self.undo_carried_reps();
                    if let Err(e) = self.block.on(self.client.batch_execute("ROLLBACK TO job")) {
                        self.failed.set(true);
                        self.broken.set(true);
                        return Err(e.into());
                    }
                    pending.drain(..carried);
                }
                outcome => {
                    // Sent and answered: the carried writes all held.
                    self.carried.set(0);
                    return outcome.map_err(|(_, e)| {
                        self.failed.set(true);
                        e
                    });
                }
            }
        }
    }

    /// Sends `pending` then `last`; a failure names the first request of
    /// `pending` that failed (`None`: `last` or preparing failed).
    fn send_with<T>(
        &self,
        pending: &[Later],
        last: impl Future<Output = PgResult<T>>,
    ) -> std::result::Result<T, (Option<usize>, Error)> {
        if pending.is_empty() {
            return self.block.on(last).map_err(|e| (None, e.into()));
        }
        let mut statements = Vec::with_capacity(pending.len());
        for p in pending {
            statements.push(match p {
                Later::Exec { sql, .. } => Some(self.statement(sql).map_err(|e| (None, e))?),
                Later::Batch(_) => None,
            });
        }
        self.sent_any.set(true);
        let client = self.client;
        let (answers, last) = self.block.on(async {
            let mut requests: Vec<Request<'_>> = pending
                .iter()
                .zip(&statements)
                .map(|(p, s)| -> Request<'_> {
                    match (p, s) {
                        (Later::Exec { params, .. }, Some(s)) => Box::pin(async move {
                            let refs: Vec<&(dyn ToSql + Sync)> = params
                                .iter()
                                .map(|p| p.as_ref() as &(dyn ToSql + Sync))
                                .collect();
                            client.execute(s, &refs).await.map(|_| ())
                        }),
                        (Later::Batch(sql), _) => Box::pin(client.batch_execute(sql)),
                        (Later::Exec { .. }, None) => unreachable!("prepared above"),
                    }
                })
                .collect();
            // A request is sent at its future's first poll: polling each
            // once, in order, sends them all in order before any answer is
            // awaited.
            let mut answers: Vec<Option<PgResult<()>>> =
                (0..requests.len()).map(|_| None).collect();
            for (r, answer) in requests.iter_mut().zip(answers.iter_mut()) {
                if let std::task::Poll::Ready(a) = futures_util::poll!(r.as_mut()) {
                    *answer = Some(a);
                }
            }
            let mut last = std::pin::pin!(last);
            let first = futures_util::poll!(last.as_mut());
            for (r, answer) in requests.iter_mut().zip(answers.iter_mut()) {
                if answer.is_none() {
                    *answer = Some(r.as_mut().await);
                }
            }
            let last = match first {
                std::task::Poll::Ready(l) => l,
                std::task::Poll::Pending => last.await,
            };
            (answers, last)
        });
        for (i, (p, answer)) in pending.iter().zip(answers).enumerate() {
            if let Err(e) = answer.expect("every request answered") {
                let e = match p {
                    // The check failed (see `later_expecting`).
                    Later::Exec {
                        expect: Some(why), ..
                    } if e.code() == Some(&tokio_postgres::error::SqlState::DIVISION_BY_ZERO) => {
                        Error::Internal(why.clone())
                    }
                    _ => e.into(),
                };
                return Err((Some(i), e));
            }
        }
        last.map_err(|e| (None, e.into()))
    }

    /// Everything waiting to be sent, the history entries last, in the
    /// order queued (the leads they belong to come before them).
    pub(super) fn take_pending(&self) -> Vec<Later> {
        self.queue_events();
        self.known.lead_inserts.borrow_mut().clear();
        std::mem::take(&mut *self.pending.borrow_mut())
    }

    /// Queues the waiting history entries as one statement; their ids
    /// follow the order they were added.
    fn queue_events(&self) {
        let e = std::mem::take(&mut *self.known.events.borrow_mut());
        if e.lead.is_empty() {
            return;
        }
        self.later(
            "INSERT INTO lead_events (lead_id, at, kind, rep_id, detail) \
             SELECT lead_id, at, kind, rep_id, detail FROM \
             unnest($1::BIGINT[], $2::BIGINT[], $3::TEXT[], $4::BIGINT[], $5::TEXT[]) \
             WITH ORDINALITY AS e (lead_id, at, kind, rep_id, detail, n) ORDER BY n",
            owned![e.lead, e.at, e.kind, e.rep, e.detail],
        );
    }

    /// Queues a write whose answer the job does not need.
    fn later(&self, sql: impl Into<String>, params: Vec<Owned>) {
        self.pending.borrow_mut().push(Later::Exec {
            sql: sql.into(),
            params,
            expect: None,
        });
    }

    /// Queues a write (`UPDATE`) that must change exactly `rows` rows, else
    /// the job fails with `why`. The check runs in PostgreSQL (a division by
    /// zero when the count is wrong), so a wrong count aborts the job's
    /// savepoint at that statement as any failed statement does.
    fn later_expecting(&self, sql: &str, params: Vec<Owned>, rows: u64, why: String) {
        self.pending.borrow_mut().push(Later::Exec {
            sql: format!(
                "WITH changed AS ({sql} RETURNING 1) \
                 SELECT 1 / (COUNT(*) = {rows})::INT FROM changed"
            ),
            params,
            expect: Some(why),
        });
    }

    /// Queues simple-query SQL (the job's savepoint).
    pub(super) fn later_batch(&self, sql: &str) {
        self.pending
            .borrow_mut()
            .push(Later::Batch(sql.to_string()));
    }

    /// Sends every write still waiting; the job's end.
    pub(super) fn flush(&self) -> Result<()> {
        self.send(|| async { Ok(()) })
    }

    /// Sends the previous job's carried writes, if this job did not already
    /// send them with a statement of its own, and says how they fared:
    /// `Err` if they failed (that job alone was rolled back).
    pub(super) fn settle_carried(&self) -> std::result::Result<(), Error> {
        let carried = self.carried.get();
        if carried > 0 {
            // Indexes into `pending` no longer hold once it is split.
            self.known.lead_inserts.borrow_mut().clear();
            let mine = self.pending.borrow_mut().split_off(carried);
            let theirs = std::mem::take(&mut *self.pending.borrow_mut());
            self.carried.set(0);
            match self.send_with(&theirs, async { Ok(()) }) {
                Ok(()) => {}
                Err((_, e)) => {
                    self.undo_carried_reps();
                    // This job sent nothing yet, so its savepoint is not
                    // the latest: the previous job's is.
                    if self
                        .block
                        .on(self.client.batch_execute("ROLLBACK TO job"))
                        .is_err()
                    {
                        self.failed.set(true);
                        self.broken.set(true);
                    }
                    *self.carried_failed.borrow_mut() = Some(e);
                }
            }
            *self.pending.borrow_mut() = mine;
        }
        match self.carried_failed.borrow_mut().take() {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    /// Queues, as the job's last write, one that fails when it goes out
    /// (the `fail-last-write` fault of test builds).
    #[cfg(debug_assertions)]
    pub(super) fn queue_failing_write(&self) {
        self.later_expecting(
            "UPDATE write_epoch SET n = n WHERE id = 0",
            Vec::new(),
            1,
            "injected fault: the job's last write failed".into(),
        );
    }

    /// Whether anything of this job reached the database (its savepoint
    /// first): if not, there is nothing to roll back.
    pub(super) fn sent_any(&self) -> bool {
        self.sent_any.get()
    }

    fn statement(&self, sql: &str) -> Result<Statement> {
        let prepared = match &self.statements {
            Statements::Own(cache) => {
                if let Some(s) = cache.borrow().get(sql) {
                    return Ok(s.clone());
                }
                let s = self.block.on(self.client.prepare(sql));
                if let Ok(s) = &s {
                    cache.borrow_mut().insert(sql.to_owned(), s.clone());
                }
                s
            }
            Statements::Pool(client) => self.block.on(client.prepare_cached(sql)),
        };
        prepared.map_err(|e| {
            self.failed.set(true);
            e.into()
        })
    }

    fn query(&self, sql: &str, params: Params<'_>) -> Result<Vec<Row>> {
        let s = self.statement(sql)?;
        self.send(|| self.client.query(&s, params))
    }

    fn query_opt(&self, sql: &str, params: Params<'_>) -> Result<Option<Row>> {
        let s = self.statement(sql)?;
        self.send(|| self.client.query_opt(&s, params))
    }

    fn query_one(&self, sql: &str, params: Params<'_>) -> Result<Row> {
        let s = self.statement(sql)?;
        self.send(|| self.client.query_one(&s, params))
    }

    fn execute(&self, sql: &str, params: Params<'_>) -> Result<u64> {
        let s = self.statement(sql)?;
        self.send(|| self.client.execute(&s, params))
    }

    /// Runs SQL without parameters (and without preparing it).
    pub(super) fn batch(&self, sql: &str) -> Result<()> {
        self.send(|| self.client.batch_execute(sql))
    }

    /// The id for a new row of `table` from the writer's reserved block
    /// (reserving the next block when it ran out). Inserts happen in the
    /// writer only, which always has its memory.
    fn next_id(&self, table: IdTable) -> Result<i64> {
        let cache = self
            .cache
            .ok_or_else(|| Error::Internal("an insert outside the database writer".into()))?;
        if let Some(id) = cache.borrow_mut().next_id(table) {
            return Ok(id);
        }
        let rows = self.query(table.reserve_sql(), &[&ID_BLOCK])?;
        let ids = collect(rows, |r| Ok(r.try_get::<_, i64>(0)?))?;
        let mut cache = cache.borrow_mut();
        cache.add_ids(table, ids);
        cache
            .next_id(table)
            .ok_or_else(|| Error::Internal(format!("no {table:?} id was reserved")))
    }

    /// The reps of `team` as routing needs them, from the writer's memory
    /// (read once per run of unbroken epochs).
    fn team_reps(&self, cache: &RefCell<WriterCache>, team: &str) -> Result<Vec<Candidate>> {
        if let Some(reps) = cache.borrow().team(team) {
            return Ok(cache::candidates(reps));
        }
        let rows = self.query(
            "SELECT id, name, weight, rr_pass, open_leads, max_open, available, schedule FROM reps \
             WHERE team = $1 AND active",
            &[&team],
        )?;
        let reps = collect(rows, |r| {
            Ok(CachedRep {
                rep: RepCandidate {
                    id: r.try_get(0)?,
                    name: r.try_get(1)?,
                    weight: u32_at(r, 2)?,
                    rr_pass: r.try_get(3)?,
                    open_leads: u32_at(r, 4)?,
                    max_open: u32_at(r, 5)?,
                    schedule: r.try_get::<_, Option<&str>>(7)?.map(Into::into),
                },
                available: r.try_get(6)?,
            })
        })?;
        let all = cache::candidates(&reps);
        if let Some(mut c) = self.reps_mut() {
            c.set_team(team, reps);
        }
        Ok(all)
    }

    /// Forgets the reps (a write changes them in a way not mirrored in
    /// the writer's memory), writing the dirty ones first.
    fn forget_reps(&self) {
        self.flush_reps();
        if let Some(mut c) = self.reps_mut() {
            c.forget_reps();
        }
    }

    /// The writer's memory of the reps, to change: what it held when the
    /// job began is kept first, to be put back if the job rolls back.
    fn reps_mut(&self) -> Option<std::cell::RefMut<'_, WriterCache>> {
        let cache = self.cache?;
        let mut snapshot = self.snapshot.borrow_mut();
        if snapshot.is_none() {
            *snapshot = Some(cache.borrow().snapshot());
        }
        Some(cache.borrow_mut())
    }

    /// Queues the write of the dirty reps (cache.rs): before any statement
    /// that reads `reps`.
    fn flush_reps(&self) {
        if self.cache.is_none_or(|c| c.borrow().is_clean()) {
            return;
        }
        let Some(mut c) = self.reps_mut() else { return };
        let dirty = c.take_dirty();
        drop(c);
        if let Some(w) = rep_writes(dirty) {
            if !self.sent_any.get() {
                self.flushed_before_sync.set(true);
            }
            self.pending.borrow_mut().push(w);
        }
    }

    /// The carried job failed and was rolled back: what the writer
    /// remembers of the reps goes back to when that job began. This job
    /// already queued rep values that counted it, it cannot be kept.
    fn undo_carried_reps(&self) {
        let (Some(c), Some(before)) = (self.cache, self.carried_snapshot.borrow_mut().take())
        else {
            return;
        };
        c.borrow_mut().restore(before.clone());
        *self.snapshot.borrow_mut() = Some(before);
        if self.flushed_before_sync.get() {
            self.failed.set(true);
        }
    }
}

/// One statement writing reps' rotation pass and open leads, if any.
pub(super) fn rep_writes(reps: Vec<(RepId, i64, i64)>) -> Option<Later> {
    if reps.is_empty() {
        return None;
    }
    let (mut id, mut pass, mut open) = (vec![], vec![], vec![]);
    for (r, p, o) in reps {
        id.push(r);
        pass.push(p);
        open.push(o);
    }
    Some(Later::exec(
        "UPDATE reps SET rr_pass = v.rr_pass, open_leads = v.open_leads \
         FROM unnest($1::BIGINT[], $2::BIGINT[], $3::BIGINT[]) AS v (id, rr_pass, open_leads) \
         WHERE reps.id = v.id"
            .into(),
        owned![id, pass, open],
    ))
}

/// The parameters of a lead's insert with its id (see `insert_lead`).
fn lead_insert_params(id: LeadId, l: &LeadRow) -> Result<Vec<Owned>> {
    Ok(owned![
        id,
        l.external_id.clone(),
        l.status.as_str().to_string(),
        serde_json::to_string(&l.intake)?,
        l.payload_hash.clone(),
        i64::from(l.intake.score.value),
        l.intake.source.channel.clone(),
        l.team.clone(),
        l.current_assignment,
        l.queued_at.map(Timestamp::millis),
        l.version,
        l.created_at.millis(),
        l.updated_at.millis(),
        l.intake_source.clone(),
        l.definition.map(|d| i64::from(d.0)),
        l.definition.map(|d| i64::from(d.1)),
    ])
}

/// A stored enum column, read through its serde name.
fn name<T: WireName>(r: &Row, i: usize) -> Result<T> {
    let s: String = r.try_get(i)?;
    T::parse(&s).map_err(|e| Error::Storage(format!("unreadable stored value {s:?}: {e}")))
}

fn ts(r: &Row, i: usize) -> Result<Timestamp> {
    Ok(Timestamp::from_millis(r.try_get(i)?))
}

fn opt_ts(r: &Row, i: usize) -> Result<Option<Timestamp>> {
    Ok(r.try_get::<_, Option<i64>>(i)?.map(Timestamp::from_millis))
}

/// A BIGINT column that holds a `u32`.
fn u32_at(r: &Row, i: usize) -> Result<u32> {
    let v: i64 = r.try_get(i)?;
    u32::try_from(v).map_err(|_| Error::Storage(format!("stored value {v} is out of range")))
}

fn u64_at(r: &Row, i: usize) -> Result<u64> {
    Ok(r.try_get::<_, i64>(i)?.max(0) as u64)
}

const LEAD_COLUMNS: &str = "l.id, l.external_id, l.status, l.payload, l.payload_hash, l.team, \
     l.current_assignment, l.queued_at, l.returned_reason, l.returned_note, l.returned_by, \
     l.returned_at, l.version, l.created_at, l.updated_at, l.intake_source, l.definition_version, \
     l.definition_threshold";

fn lead_from_row(r: &Row) -> Result<LeadRow> {
    let payload: &str = r.try_get(3)?;
    let intake: LeadIntake = serde_json::from_str(payload)?;
    let returned = match r.try_get::<_, Option<String>>(8)? {
        Some(reason) => Some(ReturnedToMarketing {
            reason,
            note: r.try_get(9)?,
            by_rep: r.try_get::<_, Option<i64>>(10)?.unwrap_or_default(),
            at: Timestamp::from_millis(r.try_get::<_, Option<i64>>(11)?.unwrap_or_default()),
        }),
        None => None,
    };
    Ok(LeadRow {
        id: r.try_get(0)?,
        external_id: r.try_get(1)?,
        status: name(r, 2)?,
        intake,
        payload_hash: r.try_get(4)?,
        team: r.try_get(5)?,
        current_assignment: r.try_get(6)?,
        queued_at: opt_ts(r, 7)?,
        returned,
        version: r.try_get(12)?,
        created_at: ts(r, 13)?,
        updated_at: ts(r, 14)?,
        intake_source: r.try_get(15)?,
        definition: match (
            r.try_get::<_, Option<i64>>(16)?,
            r.try_get::<_, Option<i64>>(17)?,
        ) {
            (Some(v), Some(t)) => Some((v as u32, t as u32)),
            _ => None,
        },
    })
}

const ASSIGNMENT_SELECT: &str = "SELECT a.id, a.lead_id, a.rep_id, r.name, a.team, a.rule, a.why, \
     a.assigned_at, a.sla_due_at, a.outcome, a.ended_at, a.explanation \
     FROM assignments a JOIN reps r ON r.id = a.rep_id";

fn assignment_from_row(r: &Row) -> Result<Assignment> {
    Ok(Assignment {
        id: r.try_get(0)?,
        lead_id: r.try_get(1)?,
        rep_id: r.try_get(2)?,
        rep_name: r.try_get(3)?,
        team: r.try_get(4)?,
        rule: r.try_get(5)?,
        why: r.try_get(6)?,
        assigned_at: ts(r, 7)?,
        sla_due_at: ts(r, 8)?,
        outcome: name(r, 9)?,
        ended_at: opt_ts(r, 10)?,
        explanation: rows::explanation(r.try_get::<_, Option<&str>>(11)?),
    })
}

const REP_SELECT: &str = "SELECT id, name, email, team, weight, max_open, available, open_leads, schedule, active FROM reps";

fn rep_from_row(r: &Row) -> Result<Rep> {
    Ok(rows::with_shift_state(Rep {
        id: r.try_get(0)?,
        name: r.try_get(1)?,
        email: r.try_get(2)?,
        team: r.try_get(3)?,
        weight: u32_at(r, 4)?,
        max_open: u32_at(r, 5)?,
        availability: if r.try_get::<_, bool>(6)? {
            Availability::Available
        } else {
            Availability::Away
        },
        open_leads: u32_at(r, 7)?,
        schedule: rows::schedule(r.try_get::<_, Option<&str>>(8)?),
        active: r.try_get(9)?,
        on_shift: true,
    }))
}

const DEFINITION_SELECT: &str = "SELECT version, threshold, criteria, reasons, effective_at, author, note, \
     changes FROM definitions";

fn definition_columns(r: &Row) -> Result<DefinitionColumns> {
    Ok(DefinitionColumns {
        version: r.try_get(0)?,
        threshold: r.try_get(1)?,
        criteria: r.try_get(2)?,
        reasons: r.try_get(3)?,
        effective_at: r.try_get(4)?,
        author: r.try_get(5)?,
        note: r.try_get(6)?,
        changes: r.try_get(7)?,
    })
}

const DECISION_SELECT: &str =
    "SELECT id, lead_id, assignment_id, rep_id, decision, reason, note, decided_at FROM decisions";

fn decision_from_row(r: &Row) -> Result<Decision> {
    Ok(Decision {
        id: r.try_get(0)?,
        lead_id: r.try_get(1)?,
        assignment_id: r.try_get(2)?,
        rep_id: r.try_get(3)?,
        decision: name(r, 4)?,
        reason: r.try_get(5)?,
        note: r.try_get(6)?,
        decided_at: ts(r, 7)?,
    })
}

/// An offer with what report grouping needs; `WHERE` clauses are appended.
const FACT_SELECT: &str = "SELECT a.rep_id, r.name, COALESCE(a.channel, ''), \
     COALESCE(a.score, 0), a.outcome, a.assigned_at, a.ended_at, d.reason, a.team, a.campaign \
     FROM assignments a JOIN reps r ON r.id = a.rep_id \
     LEFT JOIN decisions d ON d.assignment_id = a.id";

fn fact_from_row(r: &Row) -> Result<AssignmentFact> {
    Ok(AssignmentFact {
        rep_id: r.try_get(0)?,
        rep_name: r.try_get(1)?,
        channel: r.try_get(2)?,
        score: u32_at(r, 3)?,
        outcome: name(r, 4)?,
        assigned_at: ts(r, 5)?,
        ended_at: opt_ts(r, 6)?,
        reason: r.try_get(7)?,
        team: r.try_get(8)?,
        campaign: r.try_get::<_, Option<String>>(9)?.filter(|c| !c.is_empty()),
    })
}

fn standing_from_row(r: &Row) -> Result<LeadStanding> {
    Ok(LeadStanding {
        created_at: ts(r, 0)?,
        team: r.try_get(1)?,
        score: u32_at(r, 2)?,
        queued_at: opt_ts(r, 3)?,
    })
}

fn collect<T>(rows: Vec<Row>, f: impl Fn(&Row) -> Result<T>) -> Result<Vec<T>> {
    rows.iter().map(f).collect()
}

fn unreadable(table: &str) -> Error {
    Error::Storage(format!(
        "a report rollup in {table} is unreadable; run `baton-server rebuild-reports`"
    ))
}

/// How many feed rows one read fetches while filling a page: the page's
/// byte budget is checked between reads, so a page of large changes never
/// reads far beyond it.
const FEED_READ: i64 = 64;

impl ReadTx for PgTx<'_> {
    fn principal_by_token_hash(&self, hash: &[u8]) -> Result<Option<Principal>> {
        let row = self.query_opt(
            "SELECT t.role, t.subject_id, t.label, r.name, m.name, t.source, COALESCE(m.admin, FALSE), \
             ARRAY(SELECT team FROM manager_teams WHERE manager_id = m.id ORDER BY team) \
             FROM tokens t \
             LEFT JOIN reps r ON t.role = 'rep' AND r.id = t.subject_id \
             LEFT JOIN managers m ON t.role = 'manager' AND m.id = t.subject_id \
             WHERE t.hash = $1 AND t.revoked_at IS NULL AND (t.role <> 'rep' OR r.active)",
            &[&hash],
        )?;
        let Some(r) = row else { return Ok(None) };
        let label: String = r.try_get(2)?;
        let name = r
            .try_get::<_, Option<String>>(3)?
            .or(r.try_get::<_, Option<String>>(4)?)
            .unwrap_or(label);
        Ok(Some(Principal {
            role: name_of::<Role>(&r, 0)?,
            subject_id: r.try_get(1)?,
            name,
            source: r.try_get(5)?,
            admin: r.try_get(6)?,
            teams: r.try_get(7)?,
        }))
    }

    fn lead(&self, id: LeadId) -> Result<Option<LeadRow>> {
        self.query_opt(
            &format!("SELECT {LEAD_COLUMNS} FROM leads l WHERE l.id = $1"),
            &[&id],
        )?
        .map(|r| lead_from_row(&r))
        .transpose()
    }

    fn lead_by_external_id(&self, external_id: &str) -> Result<Option<LeadRow>> {
        self.query_opt(
            &format!("SELECT {LEAD_COLUMNS} FROM leads l WHERE l.external_id = $1"),
            &[&external_id],
        )?
        .map(|r| lead_from_row(&r))
        .transpose()
    }

    fn leads(&self, f: &LeadFilter) -> Result<Vec<LeadRow>> {
        let rows = self.query(
            &format!(
                "SELECT {LEAD_COLUMNS} FROM leads l LEFT JOIN assignments a ON a.id = l.current_assignment \
                 WHERE ($1::BIGINT IS NULL OR a.rep_id = $1) AND ($2::TEXT IS NULL OR l.status = $2) \
                 AND l.id > $3 AND ($5::TEXT[] IS NULL OR l.team = ANY($5)) ORDER BY l.id LIMIT $4"
            ),
            &[
                &f.rep,
                &f.status.map(|s| s.as_str()),
                &f.after.unwrap_or(0),
                &i64::from(f.limit),
                &f.teams,
            ],
        )?;
        collect(rows, lead_from_row)
    }

    fn assignment(&self, id: i64) -> Result<Option<Assignment>> {
        if let Some(a) = self.known.offers.borrow().get(&id) {
            return Ok(Some(a.clone()));
        }
        self.query_opt(&format!("{ASSIGNMENT_SELECT} WHERE a.id = $1"), &[&id])?
            .map(|r| assignment_from_row(&r))
            .transpose()
    }

    fn assignments_of_lead(&self, lead: LeadId) -> Result<Vec<Assignment>> {
        let rows = self.query(
            &format!("{ASSIGNMENT_SELECT} WHERE a.lead_id = $1 ORDER BY a.id"),
            &[&lead],
        )?;
        collect(rows, assignment_from_row)
    }

    fn offers_after(&self, after: i64, limit: u32) -> Result<Vec<Assignment>> {
        let rows = self.query(
            &format!("{ASSIGNMENT_SELECT} WHERE a.id > $1 ORDER BY a.id LIMIT $2"),
            &[&after, &i64::from(limit)],
        )?;
        collect(rows, assignment_from_row)
    }

    fn decisions_of_lead(&self, lead: LeadId) -> Result<Vec<Decision>> {
        let rows = self.query(
            &format!("{DECISION_SELECT} WHERE lead_id = $1 ORDER BY id"),
            &[&lead],
        )?;
        collect(rows, decision_from_row)
    }

    fn events_of_lead(&self, lead: LeadId) -> Result<Vec<LeadEvent>> {
        let rows = self.query(
            "SELECT e.at, e.kind, e.rep_id, r.name, e.detail FROM lead_events e \
             LEFT JOIN reps r ON r.id = e.rep_id WHERE e.lead_id = $1 ORDER BY e.id",
            &[&lead],
        )?;
        collect(rows, |r| {
            Ok(LeadEvent {
                at: ts(r, 0)?,
                kind: name(r, 1)?,
                rep_id: r.try_get(2)?,
                rep_name: r.try_get(3)?,
                detail: r.try_get(4)?,
            })
        })
    }

    fn rep(&self, id: RepId) -> Result<Option<Rep>> {
        self.flush_reps();
        self.query_opt(&format!("{REP_SELECT} WHERE id = $1"), &[&id])?
            .map(|r| rep_from_row(&r))
            .transpose()
    }

    fn rep_by_email(&self, email: &str) -> Result<Option<Rep>> {
        self.flush_reps();
        // One rep per address whatever its case, as SQLite's NOCASE column.
        self.query_opt(
            &format!("{REP_SELECT} WHERE lower(email) = lower($1)"),
            &[&email],
        )?
        .map(|r| rep_from_row(&r))
        .transpose()
    }

    fn reps(&self) -> Result<Vec<Rep>> {
        self.flush_reps();
        let rows = self.query(&format!("{REP_SELECT} ORDER BY team, name, id"), &[])?;
        collect(rows, rep_from_row)
    }

    fn teams(&self) -> Result<Vec<Team>> {
        let rows = self.query("SELECT name, sla_seconds FROM teams ORDER BY name", &[])?;
        collect(rows, |r| {
            Ok(Team {
                name: r.try_get(0)?,
                sla_seconds: u64_at(r, 1)?,
                sla_business_hours: false,
                account_matching: false,
                remind_at_percent: 0,
            })
        })
    }

    fn queued_leads(&self, limit: u32) -> Result<Vec<QueuedLead>> {
        let rows = self.query(
            "SELECT id, external_id, payload, score, team, queued_at FROM leads \
             WHERE status = 'queued' ORDER BY queued_at, id LIMIT $1",
            &[&i64::from(limit)],
        )?;
        collect(rows, |r| {
            let intake: LeadIntake = serde_json::from_str(r.try_get::<_, &str>(2)?)?;
            Ok(QueuedLead {
                lead_id: r.try_get(0)?,
                external_id: r.try_get(1)?,
                name: intake.contact.name,
                company: intake.contact.company,
                score: u32_at(r, 3)?,
                team: r.try_get::<_, Option<String>>(4)?.unwrap_or_default(),
                queued_since: Timestamp::from_millis(
                    r.try_get::<_, Option<i64>>(5)?.unwrap_or_default(),
                ),
            })
        })
    }

    fn feed_after(
        &self,
        rep: RepId,
        after: i64,
        limit: u32,
        max_bytes: usize,
    ) -> Result<FeedSlice> {
        let mut out = Vec::new();
        let mut bytes = 0usize;
        let mut last = after;
        loop {
            let want = (i64::from(limit) + 1 - out.len() as i64).clamp(1, FEED_READ);
            let rows = self.query(
                "SELECT seq, at, change FROM feed WHERE rep_id = $1 AND seq > $2 \
                 ORDER BY seq LIMIT $3",
                &[&rep, &last, &want],
            )?;
            let fetched = rows.len() as i64;
            for r in &rows {
                let seq: i64 = r.try_get(0)?;
                let change: &str = r.try_get(2)?;
                bytes = bytes.saturating_add(change.len());
                if out.len() == limit as usize || (bytes > max_bytes && !out.is_empty()) {
                    return Ok(FeedSlice {
                        entries: out,
                        has_more: true,
                    });
                }
                out.push(FeedEntry {
                    cursor: Cursor(seq.to_string()),
                    at: ts(r, 1)?,
                    change: serde_json::from_str::<Change>(change)?,
                });
                last = seq;
            }
            if fetched < want {
                return Ok(FeedSlice {
                    entries: out,
                    has_more: false,
                });
            }
        }
    }

    fn feed_head(&self, rep: RepId) -> Result<i64> {
        let r = self.query_one(
            "SELECT COALESCE((SELECT seq FROM feed_heads WHERE rep_id = $1), 0)",
            &[&rep],
        )?;
        Ok(r.try_get(0)?)
    }

    fn feed_max_seq(&self) -> Result<i64> {
        let r = self.query_one("SELECT COALESCE(MAX(seq), 0)::BIGINT FROM feed_heads", &[])?;
        Ok(r.try_get(0)?)
    }

    fn next_sla_due(&self) -> Result<Option<Timestamp>> {
        let r = self.query_one(
            "SELECT LEAST((SELECT MIN(sla_due_at) FROM assignments WHERE outcome = 'pending'), \
             (SELECT MIN(remind_at) FROM assignments WHERE remind_at IS NOT NULL))",
            &[],
        )?;
        opt_ts(&r, 0)
    }

    fn change_marks(&self) -> Result<ChangeMarks> {
        let r = self.query_one(
            "SELECT (SELECT COUNT(*) FROM tokens WHERE revoked_at IS NOT NULL), \
             (SELECT COALESCE(MAX(id), 0) FROM reps)",
            &[],
        )?;
        Ok(ChangeMarks {
            revoked_tokens: r.try_get(0)?,
            newest_rep: r.try_get(1)?,
        })
    }

    fn assignment_facts(
        &self,
        from: Timestamp,
        to: Timestamp,
        team: Option<&str>,
    ) -> Result<Vec<AssignmentFact>> {
        let rows = self.query(
            &format!(
                "{FACT_SELECT} WHERE a.assigned_at >= $1 AND a.assigned_at < $2 \
                 AND ($3::TEXT IS NULL OR a.team = $3)"
            ),
            &[&from.millis(), &to.millis(), &team],
        )?;
        collect(rows, fact_from_row)
    }

    fn report_cells(&self, q: &CellQuery, team: Option<&str>) -> Result<Cells> {
        read_cells(self, q, team)
    }

    fn assignment_fact(&self, id: i64) -> Result<Option<AssignmentFact>> {
        if let Some(f) = self.known.facts.borrow().get(&id) {
            return Ok(Some(f.clone()));
        }
        self.query_opt(&format!("{FACT_SELECT} WHERE a.id = $1"), &[&id])?
            .map(|r| fact_from_row(&r))
            .transpose()
    }

    fn lead_standing(&self, id: LeadId) -> Result<Option<LeadStanding>> {
        if let Some(s) = self.known.standings.borrow().get(&id) {
            return Ok(Some(s.clone()));
        }
        self.query_opt(
            "SELECT created_at, team, score, queued_at FROM leads WHERE id = $1",
            &[&id],
        )?
        .map(|r| standing_from_row(&r))
        .transpose()
    }

    fn lead_standings(&self) -> Result<Vec<LeadStanding>> {
        let rows = self.query("SELECT created_at, team, score, queued_at FROM leads", &[])?;
        collect(rows, standing_from_row)
    }

    fn rollup_speed(&self, grain: Grain, k: &OfferKey) -> Result<Option<Vec<u8>>> {
        // Changes not yet written (rollup_buffer.rs) come first.
        if let Some(held) = self.known.rollups.borrow().speed(grain, k) {
            return Ok(held);
        }
        if let Some(batch) = self.batch_rollups
            && let Some(held) = batch.borrow().speed(grain, k)
        {
            return Ok(held);
        }
        let row = self.query_opt(
            &format!(
                "SELECT speed FROM {} WHERE day = $1 AND team = $2 AND dim = $3 AND key = $4",
                rollup_tables(grain).offers
            ),
            &[&k.day, &k.team, &k.dim.as_str(), &k.key],
        )?;
        Ok(row.map(|r| r.try_get(0)).transpose()?)
    }

    fn rollups_stale(&self) -> Result<bool> {
        let row = self.query_opt(
            "SELECT value FROM storage_meta WHERE key = 'rollups_stale'",
            &[],
        )?;
        Ok(row
            .map(|r| r.try_get::<_, String>(0))
            .transpose()?
            .as_deref()
            == Some("1"))
    }

    fn queue_episodes(
        &self,
        from: Timestamp,
        to: Timestamp,
        team: Option<&str>,
    ) -> Result<Vec<QueueEpisode>> {
        let rows = self.query(
            "SELECT team, queued_at, left_at, outcome FROM queue_waits \
             WHERE queued_at >= $1 AND queued_at < $2 AND ($3::TEXT IS NULL OR team = $3)",
            &[&from.millis(), &to.millis(), &team],
        )?;
        collect(rows, |r| {
            Ok(QueueEpisode {
                team: r.try_get(0)?,
                queued_at: ts(r, 1)?,
                left_at: opt_ts(r, 2)?,
                assigned: r.try_get::<_, Option<String>>(3)?.as_deref() == Some("assigned"),
            })
        })
    }

    fn lead_scores(&self, from: Timestamp, to: Timestamp, team: Option<&str>) -> Result<Vec<u32>> {
        let rows = self.query(
            "SELECT score FROM leads WHERE created_at >= $1 AND created_at < $2 \
             AND ($3::TEXT IS NULL OR team = $3)",
            &[&from.millis(), &to.millis(), &team],
        )?;
        collect(rows, |r| u32_at(r, 0))
    }

    fn feedback_log(
        &self,
        from: Timestamp,
        to: Timestamp,
        team: Option<&str>,
        limit: u32,
    ) -> Result<Vec<FeedbackLogEntry>> {
        let rows = self.query(
            // Source and score are the offer's, as in the report's rows.
            // The contact's name and company are read from the stored
            // JSON here, not by PostgreSQL: its JSON parser took 19 µs a
            // row, most of a 10,000-entry log's time (docs/benchmarks.md).
            "SELECT d.id, d.lead_id, l.external_id, l.payload, \
             COALESCE(a.channel, l.channel), \
             COALESCE(a.score, l.score), d.rep_id, r.name, \
             d.decision, d.reason, d.note, a.assigned_at, d.decided_at \
             FROM decisions d JOIN leads l ON l.id = d.lead_id JOIN reps r ON r.id = d.rep_id \
             JOIN assignments a ON a.id = d.assignment_id \
             WHERE d.decided_at >= $1 AND d.decided_at < $2 AND ($4::TEXT IS NULL OR a.team = $4) \
             ORDER BY d.decided_at DESC, d.id DESC LIMIT $3",
            &[&from.millis(), &to.millis(), &i64::from(limit), &team],
        )?;
        collect(rows, |r| {
            let assigned_at: i64 = r.try_get(11)?;
            let decided_at: i64 = r.try_get(12)?;
            let contact = serde_json::from_str::<ContactOf>(r.try_get(3)?)
                .map(|p| p.contact)
                .unwrap_or_default();
            Ok(FeedbackLogEntry {
                decision_id: r.try_get(0)?,
                lead_id: r.try_get(1)?,
                external_id: r.try_get(2)?,
                lead_name: contact.name.unwrap_or_default(),
                company: contact.company,
                source: r.try_get(4)?,
                score: u32_at(r, 5)?,
                rep_id: r.try_get(6)?,
                rep_name: r.try_get(7)?,
                decision: name::<DecisionKind>(r, 8)?,
                reason: r.try_get(9)?,
                note: r.try_get(10)?,
                assigned_at: Timestamp::from_millis(assigned_at),
                decided_at: Timestamp::from_millis(decided_at),
                seconds_to_decision: (decided_at - assigned_at) as f64 / 1000.0,
            })
        })
    }

    fn intake_receipt(&self, id: i64) -> Result<Option<IntakeReceipt>> {
        self.query_opt(
            &format!("SELECT {RECEIPT_COLUMNS} FROM intake_receipts WHERE id = $1"),
            &[&id],
        )?
        .map(|r| receipt_from_row(&r))
        .transpose()
    }

    fn intake_receipt_by_event(
        &self,
        source: &str,
        event_id: &str,
    ) -> Result<Option<IntakeReceipt>> {
        self.query_opt(
            &format!(
                "SELECT {RECEIPT_COLUMNS} FROM intake_receipts WHERE source = $1 AND event_id = $2"
            ),
            &[&source, &event_id],
        )?
        .map(|r| receipt_from_row(&r))
        .transpose()
    }

    fn intake_receipts(&self, f: &ReceiptFilter) -> Result<Vec<IntakeReceipt>> {
        let status = f.status.map(|s| s.as_str());
        let rows = self.query(
            &format!(
                "SELECT {RECEIPT_COLUMNS} FROM intake_receipts \
                 WHERE ($1::text IS NULL OR status = $1) AND ($2::text IS NULL OR source = $2) \
                 AND ($3::bigint IS NULL OR lead_id = $3) AND ($4::bigint IS NULL OR id < $4) \
                 ORDER BY id DESC LIMIT $5"
            ),
            &[&status, &f.source, &f.lead, &f.before, &i64::from(f.limit)],
        )?;
        collect(rows, receipt_from_row)
    }

    fn webhook_endpoints(&self) -> Result<Vec<EndpointRow>> {
        let rows = self.query(
            &format!(
                "SELECT {ENDPOINT_COLUMNS} FROM webhook_endpoints e WHERE deleted_at IS NULL ORDER BY id"
            ),
            &[],
        )?;
        collect(rows, endpoint_from_row)
    }

    fn webhook_endpoint(&self, id: i64) -> Result<Option<EndpointRow>> {
        self.query_opt(
            &format!(
                "SELECT {ENDPOINT_COLUMNS} FROM webhook_endpoints e WHERE id = $1 AND deleted_at IS NULL"
            ),
            &[&id],
        )?
        .map(|r| endpoint_from_row(&r))
        .transpose()
    }

    fn webhook_deliveries(
        &self,
        endpoint: i64,
        before: Option<i64>,
        limit: u32,
    ) -> Result<Vec<WebhookDelivery>> {
        let rows = self.query(
            "SELECT d.id, d.event_id, v.type, d.lead_id, v.occurred_at, d.status, d.attempts, \
             d.next_attempt_at, d.last_attempt_at, d.last_status, d.last_error, d.delivered_at, v.payload \
             FROM webhook_deliveries d JOIN outbound_events v ON v.id = d.event_id \
             WHERE d.endpoint_id = $1 AND ($2::bigint IS NULL OR d.id < $2) ORDER BY d.id DESC LIMIT $3",
            &[&endpoint, &before, &i64::from(limit)],
        )?;
        collect(rows, |r| {
            let status: DeliveryStatus = name(r, 5)?;
            Ok(WebhookDelivery {
                id: r.try_get(0)?,
                message_id: crate::outbound::message_id(r.try_get(1)?),
                event_type: name(r, 2)?,
                lead_id: r.try_get(3)?,
                occurred_at: ts(r, 4)?,
                status,
                attempts: u32_at(r, 6)?,
                next_attempt_at: if status == DeliveryStatus::Pending {
                    Some(ts(r, 7)?)
                } else {
                    None
                },
                last_attempt_at: opt_ts(r, 8)?,
                last_status: r
                    .try_get::<_, Option<i64>>(9)?
                    .and_then(|s| u16::try_from(s).ok()),
                last_error: r.try_get(10)?,
                delivered_at: opt_ts(r, 11)?,
                payload: r.try_get(12)?,
            })
        })
    }

    fn due_deliveries(&self, now: Timestamp, limit: u32) -> Result<Vec<DueDelivery>> {
        let rows = self.query(
            "SELECT d.id, d.endpoint_id, e.url, e.secret, d.event_id, d.lead_id, v.occurred_at, \
             v.payload, d.attempts, e.failing_since, e.kind \
             FROM webhook_deliveries d JOIN webhook_endpoints e ON e.id = d.endpoint_id \
             JOIN outbound_events v ON v.id = d.event_id \
             WHERE d.status = 'pending' AND d.next_attempt_at <= $1 \
             AND NOT EXISTS (SELECT 1 FROM webhook_deliveries o WHERE o.endpoint_id = d.endpoint_id \
                             AND o.lead_id = d.lead_id AND o.status = 'pending' AND o.id < d.id) \
             ORDER BY d.next_attempt_at, d.id LIMIT $2",
            &[&now.millis(), &i64::from(limit)],
        )?;
        collect(rows, |r| {
            Ok(DueDelivery {
                id: r.try_get(0)?,
                endpoint_id: r.try_get(1)?,
                url: r.try_get(2)?,
                secret: r.try_get(3)?,
                event_id: r.try_get(4)?,
                lead_id: r.try_get(5)?,
                occurred_at: ts(r, 6)?,
                payload: r.try_get(7)?,
                attempts: u32_at(r, 8)?,
                endpoint_failing_since: opt_ts(r, 9)?,
                kind: name(r, 10)?,
            })
        })
    }

    fn next_delivery_at(&self) -> Result<Option<Timestamp>> {
        let r = self.query_one(
            "SELECT MIN(next_attempt_at) FROM webhook_deliveries WHERE status = 'pending'",
            &[],
        )?;
        opt_ts(&r, 0)
    }

    fn definition(&self, version: Option<u32>) -> Result<Option<Definition>> {
        let version = version.map(i64::from);
        self.query_opt(
            &format!(
                "{DEFINITION_SELECT} WHERE $1::BIGINT IS NULL OR version = $1 ORDER BY version DESC LIMIT 1"
            ),
            &[&version],
        )?
        .map(|r| definition_columns(&r)?.into_definition())
        .transpose()
    }

    fn definitions(&self) -> Result<Vec<Definition>> {
        let rows = self.query(&format!("{DEFINITION_SELECT} ORDER BY version DESC"), &[])?;
        collect(rows, |r| definition_columns(r)?.into_definition())
    }

    fn managers(&self) -> Result<Vec<Manager>> {
        let rows = self.query(
            "SELECT m.id, m.name, m.email, m.admin, \
             ARRAY(SELECT team FROM manager_teams WHERE manager_id = m.id ORDER BY team) \
             FROM managers m ORDER BY m.name, m.id",
            &[],
        )?;
        collect(rows, |r| {
            Ok(Manager {
                id: r.try_get(0)?,
                name: r.try_get(1)?,
                email: r.try_get(2)?,
                admin: r.try_get(3)?,
                teams: r.try_get(4)?,
            })
        })
    }

    fn audit_log(&self, before: Option<i64>, limit: u32) -> Result<Vec<AuditEntry>> {
        let rows = self.query(
            "SELECT id, at, actor, action, subject, detail FROM audit_log \
             WHERE $1::BIGINT IS NULL OR id < $1 ORDER BY id DESC LIMIT $2",
            &[&before, &i64::from(limit)],
        )?;
        collect(rows, |r| {
            Ok(AuditEntry {
                id: r.try_get(0)?,
                at: ts(r, 1)?,
                actor: r.try_get(2)?,
                action: r.try_get(3)?,
                subject: r.try_get(4)?,
                detail: r.try_get(5)?,
            })
        })
    }

    fn escalations_after(
        &self,
        after: i64,
        teams: Option<&[String]>,
        limit: u32,
    ) -> Result<Vec<Escalation>> {
        let teams: Option<Vec<String>> = teams.map(<[String]>::to_vec);
        let rows = self.query(
            "SELECT e.id, e.lead_id, e.assignment_id, e.rep_id, COALESCE(r.name, ''), e.team, e.lead_name, \
             e.at, e.sla_due_at FROM escalations e LEFT JOIN reps r ON r.id = e.rep_id \
             WHERE e.id > $1 AND ($2::TEXT[] IS NULL OR e.team = ANY($2)) ORDER BY e.id LIMIT $3",
            &[&after, &teams, &i64::from(limit)],
        )?;
        collect(rows, |r| {
            Ok(Escalation {
                id: r.try_get(0)?,
                lead_id: r.try_get(1)?,
                assignment_id: r.try_get(2)?,
                rep_id: r.try_get(3)?,
                rep_name: r.try_get(4)?,
                team: r.try_get(5)?,
                lead_name: r.try_get(6)?,
                at: ts(r, 7)?,
                sla_due_at: ts(r, 8)?,
            })
        })
    }
}

const ENDPOINT_COLUMNS: &str = "e.id, e.kind, e.url, e.description, e.active, e.disabled_reason, \
     e.disabled_at, e.failing_since, e.last_success_at, e.created_at, e.secret, \
     (SELECT string_agg(event_type, ',') FROM webhook_subscriptions s WHERE s.endpoint_id = e.id), \
     (SELECT COUNT(*) FROM webhook_deliveries d WHERE d.endpoint_id = e.id AND d.status = 'pending')";

fn endpoint_from_row(r: &Row) -> Result<EndpointRow> {
    let events: Option<String> = r.try_get(11)?;
    Ok(EndpointRow {
        view: WebhookEndpoint {
            id: r.try_get(0)?,
            kind: name(r, 1)?,
            url: r.try_get(2)?,
            events: crate::outbound::parse_event_list(events.as_deref().unwrap_or("")),
            description: r.try_get(3)?,
            active: r.try_get(4)?,
            disabled_reason: r.try_get(5)?,
            disabled_at: opt_ts(r, 6)?,
            failing_since: opt_ts(r, 7)?,
            last_success_at: opt_ts(r, 8)?,
            pending: u32_at(r, 12)?,
            created_at: ts(r, 9)?,
            secret: None,
        },
        secret: r.try_get(10)?,
    })
}

const RECEIPT_COLUMNS: &str = "id, source, event_id, received_at, status, outcome, lead_id, \
     field, message, resolved_at, body";

fn receipt_from_row(r: &Row) -> Result<IntakeReceipt> {
    let outcome: Option<String> = r.try_get(5)?;
    let body: Option<Vec<u8>> = r.try_get(10)?;
    Ok(IntakeReceipt {
        id: r.try_get(0)?,
        source: r.try_get(1)?,
        event_id: r.try_get(2)?,
        received_at: ts(r, 3)?,
        status: name(r, 4)?,
        outcome: outcome
            .map(|o| {
                WireName::parse(&o)
                    .map_err(|e| Error::Storage(format!("unreadable stored value {o:?}: {e}")))
            })
            .transpose()?,
        lead_id: r.try_get(6)?,
        field: r.try_get(7)?,
        message: r.try_get(8)?,
        resolved_at: opt_ts(r, 9)?,
        body: body.map(|b| String::from_utf8_lossy(&b).into_owned()),
    })
}

/// The part of a stored lead the feedback log shows; the rest of the JSON
/// is skipped unread.
#[derive(serde::Deserialize)]
struct ContactOf {
    #[serde(default)]
    contact: ContactNames,
}

#[derive(Default, serde::Deserialize)]
struct ContactNames {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    company: Option<String>,
}

fn name_of<T: WireName>(r: &Row, i: usize) -> Result<T> {
    name(r, i)
}

/// What `q` asks of the rollups (of one team's offers and leads, if given).
/// Apart from the daily trend, plain counts are summed by PostgreSQL; rows
/// with speed sketches are merged here.
fn read_cells(tx: &PgTx<'_>, q: &CellQuery, team: Option<&str>) -> Result<Cells> {
    let t = rollup_tables(q.grain);
    let mut cells = Cells::default();
    let range: [&(dyn ToSql + Sync); 3] = [&q.first_day, &q.end_day, &team];
    match q.part {
        CellPart::Trend | CellPart::Groups => {
            let (dims, keep_day) = crate::store::offer_dims(q.part);
            let rows = tx.query(
                &format!(
                    "SELECT day, team, dim, key, assigned, accepted, rejected, sla_expired, speed FROM {} \
                     WHERE day >= $1 AND day < $2 AND ($3::TEXT IS NULL OR team = $3) AND {dims}",
                    t.offers
                ),
                &range,
            )?;
            for r in &rows {
                let dim: &str = r.try_get(2)?;
                let key = OfferKey {
                    day: if keep_day { r.try_get(0)? } else { q.first_day },
                    team: r.try_get(1)?,
                    dim: Dim::parse(dim).ok_or_else(|| unreadable(t.offers))?,
                    key: r.try_get(3)?,
                };
                let c = cells.offers.entry(key).or_default();
                c.assigned += u64_at(r, 4)?;
                c.accepted += u64_at(r, 5)?;
                c.rejected += u64_at(r, 6)?;
                c.sla_expired += u64_at(r, 7)?;
                let speed: &[u8] = r.try_get(8)?;
                c.add_speed(speed).ok_or_else(|| unreadable(t.offers))?;
            }
            if q.part == CellPart::Trend {
                return Ok(cells);
            }
            let rows = tx.query(
                &format!(
                    "SELECT team, dim, key, reason, SUM(rejections)::BIGINT FROM {} \
                     WHERE day >= $1 AND day < $2 AND ($3::TEXT IS NULL OR team = $3) \
                     GROUP BY team, dim, key, reason",
                    t.reasons
                ),
                &range,
            )?;
            for r in &rows {
                let dim: &str = r.try_get(1)?;
                let key = ReasonKey {
                    day: q.first_day,
                    team: r.try_get(0)?,
                    dim: Dim::parse(dim).ok_or_else(|| unreadable(t.reasons))?,
                    key: r.try_get(2)?,
                    reason: r.try_get(3)?,
                };
                *cells.reasons.entry(key).or_default() += u64_at(r, 4)?;
            }
        }
        CellPart::Calibration => {
            let rows = tx.query(
                &format!(
                    "SELECT team, channel, score, SUM(accepted)::BIGINT, SUM(rejected)::BIGINT FROM {} \
                     WHERE day >= $1 AND day < $2 AND ($3::TEXT IS NULL OR team = $3) \
                     GROUP BY team, channel, score",
                    t.scores
                ),
                &range,
            )?;
            for r in &rows {
                let key = ScoreKey {
                    day: q.first_day,
                    team: r.try_get(0)?,
                    channel: r.try_get(1)?,
                    score: u32_at(r, 2)?,
                };
                let e = cells.scores.entry(key).or_default();
                e.0 += u64_at(r, 3)?;
                e.1 += u64_at(r, 4)?;
            }
            let rows = tx.query(
                &format!(
                    "SELECT team, score, SUM(leads)::BIGINT FROM {} \
                     WHERE day >= $1 AND day < $2 AND ($3::TEXT IS NULL OR team = $3) \
                     GROUP BY team, score",
                    t.lead_scores
                ),
                &range,
            )?;
            for r in &rows {
                let n: i64 = r.try_get(2)?;
                if n > 0 {
                    let key = LeadScoreKey {
                        day: q.first_day,
                        team: r.try_get(0)?,
                        score: u32_at(r, 1)?,
                    };
                    *cells.lead_scores.entry(key).or_default() += n as u64;
                }
            }
        }
    }
    Ok(cells)
}

impl WriteTx for PgTx<'_> {
    fn insert_lead(&mut self, l: &LeadRow) -> Result<LeadId> {
        // The writer knows the id: the insert needs no answer.
        let id = self.next_id(IdTable::Leads)?;
        let at = self.pending.borrow().len();
        self.later(
            "INSERT INTO leads (id, external_id, status, payload, payload_hash, score, channel, \
             team, current_assignment, queued_at, version, created_at, updated_at, intake_source, \
             definition_version, definition_threshold) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)",
            lead_insert_params(id, l)?,
        );
        self.known.lead_inserts.borrow_mut().insert(id, at);
        self.known.standings.borrow_mut().insert(id, l.standing());
        self.known.unpassed.borrow_mut().insert(id);
        Ok(id)
    }

    fn update_lead(&mut self, l: &LeadRow) -> Result<()> {
        // Created by this job and not sent yet (a new lead routed at once):
        // the insert takes the lead as it is now.
        if l.returned.is_none()
            && let Some(&at) = self.known.lead_inserts.borrow().get(&l.id)
            && let Some(Later::Exec { params, .. }) = self.pending.borrow_mut().get_mut(at)
        {
            *params = lead_insert_params(l.id, l)?;
            self.known.standings.borrow_mut().insert(l.id, l.standing());
            return Ok(());
        }
        let r = l.returned.as_ref();
        self.later_expecting(
            "UPDATE leads SET status = $2, payload = $3, payload_hash = $4, score = $5, channel = $6, \
             team = $7, current_assignment = $8, queued_at = $9, returned_reason = $10, \
             returned_note = $11, returned_by = $12, returned_at = $13, version = $14, updated_at = $15, \
             intake_source = $16, definition_version = $17, definition_threshold = $18 WHERE id = $1",
            owned![
                l.id,
                l.status.as_str().to_string(),
                serde_json::to_string(&l.intake)?,
                l.payload_hash.clone(),
                i64::from(l.intake.score.value),
                l.intake.source.channel.clone(),
                l.team.clone(),
                l.current_assignment,
                l.queued_at.map(Timestamp::millis),
                r.map(|r| r.reason.clone()),
                r.and_then(|r| r.note.clone()),
                r.map(|r| r.by_rep),
                r.map(|r| r.at.millis()),
                l.version,
                l.updated_at.millis(),
                l.intake_source.clone(),
                l.definition.map(|d| i64::from(d.0)),
                l.definition.map(|d| i64::from(d.1)),
            ],
            1,
            format!("lead {} vanished", l.id),
        );
        self.known.standings.borrow_mut().insert(l.id, l.standing());
        Ok(())
    }

    fn team_candidates(&mut self, team: &str, lead: LeadId) -> Result<Vec<Candidate>> {
        // Nobody passed on a lead this job created (and no offer of which
        // ended): the team's rotation alone decides, and the writer knows it.
        if let Some(cache) = self.cache
            && (lead == 0 || self.known.unpassed.borrow().contains(&lead))
        {
            return self.team_reps(cache, team);
        }
        self.flush_reps();
        let rows = self.query(
            "SELECT r.id, r.name, r.weight, r.rr_pass, r.open_leads, r.max_open, r.available, r.schedule, \
             (SELECT a.outcome FROM assignments a WHERE a.lead_id = $2 AND a.rep_id = r.id \
              AND a.outcome IN ('rejected', 'sla_expired') ORDER BY a.id LIMIT 1) \
             FROM reps r WHERE r.team = $1 AND r.active ORDER BY r.rr_pass, r.id",
            &[&team, &lead],
        )?;
        collect(rows, |r| {
            Ok(Candidate {
                rep: RepCandidate {
                    id: r.try_get(0)?,
                    name: r.try_get(1)?,
                    weight: u32_at(r, 2)?,
                    rr_pass: r.try_get(3)?,
                    open_leads: u32_at(r, 4)?,
                    max_open: u32_at(r, 5)?,
                    schedule: r.try_get::<_, Option<&str>>(7)?.map(Into::into),
                },
                available: r.try_get(6)?,
                passed: rows::passed(r.try_get::<_, Option<&str>>(8)?),
            })
        })
    }

    fn team_min_pass(&mut self, team: &str) -> Result<Option<i64>> {
        self.flush_reps();
        let r = self.query_one(
            "SELECT MIN(rr_pass) FROM reps WHERE team = $1 AND available",
            &[&team],
        )?;
        Ok(r.try_get(0)?)
    }

    fn record_offer(&mut self, rep: RepId, new_rr_pass: i64) -> Result<()> {
        // A remembered rep is written later, with others (cache.rs).
        if self
            .reps_mut()
            .is_some_and(|mut c| c.offered(rep, new_rr_pass))
        {
            return Ok(());
        }
        self.later(
            "UPDATE reps SET rr_pass = $2, open_leads = open_leads + 1 WHERE id = $1",
            owned![rep, new_rr_pass],
        );
        Ok(())
    }

    fn release_offer(&mut self, rep: RepId) -> Result<()> {
        if self.reps_mut().is_some_and(|mut c| c.released(rep)) {
            return Ok(());
        }
        self.later(
            "UPDATE reps SET open_leads = GREATEST(0, open_leads - 1) WHERE id = $1",
            owned![rep],
        );
        Ok(())
    }

    fn catch_up_rotation(&mut self, rep: RepId, team: &str) -> Result<()> {
        // The dirty reps are written first: this reads the team's passes.
        self.forget_reps();
        self.later(
            "UPDATE reps SET rr_pass = GREATEST(rr_pass, COALESCE((SELECT MIN(o.rr_pass) FROM reps o \
             WHERE o.team = $2 AND o.available AND o.id <> $1), rr_pass)) WHERE id = $1",
            owned![rep, team.to_string()],
        );
        Ok(())
    }

    fn set_rep_availability(&mut self, rep: RepId, availability: Availability) -> Result<()> {
        self.forget_reps();
        self.later(
            "UPDATE reps SET available = $2 WHERE id = $1",
            owned![rep, matches!(availability, Availability::Available)],
        );
        Ok(())
    }

    fn insert_assignment(&mut self, a: &NewAssignment<'_>) -> Result<i64> {
        let id = self.next_id(IdTable::Assignments)?;
        self.later(
            "INSERT INTO assignments (id, lead_id, rep_id, team, rule, why, assigned_at, \
             sla_due_at, score, channel, campaign, explanation, account_key, remind_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
            owned![
                id,
                a.lead_id,
                a.rep_id,
                a.team.to_string(),
                a.rule.to_string(),
                a.why.to_string(),
                a.assigned_at.millis(),
                a.sla_due_at.millis(),
                i64::from(a.score),
                a.channel.to_string(),
                a.campaign.map(str::to_string),
                a.explanation.to_string(),
                a.account_key.map(str::to_string),
                a.remind_at.map(Timestamp::millis),
            ],
        );
        // What the bookkeeping and the lead's view read next, known
        // without asking.
        self.known.facts.borrow_mut().insert(
            id,
            AssignmentFact {
                rep_id: a.rep_id,
                rep_name: a.rep_name.to_string(),
                channel: a.channel.to_string(),
                score: a.score,
                outcome: AssignmentOutcome::Pending,
                assigned_at: a.assigned_at,
                ended_at: None,
                reason: None,
                team: a.team.to_string(),
                campaign: a.campaign.filter(|c| !c.is_empty()).map(str::to_string),
            },
        );
        self.known.offers.borrow_mut().insert(
            id,
            Assignment {
                id,
                lead_id: a.lead_id,
                rep_id: a.rep_id,
                rep_name: a.rep_name.to_string(),
                team: a.team.to_string(),
                rule: a.rule.to_string(),
                why: a.why.to_string(),
                assigned_at: a.assigned_at,
                sla_due_at: a.sla_due_at,
                outcome: AssignmentOutcome::Pending,
                ended_at: None,
                explanation: serde_json::from_str(a.explanation).ok(),
            },
        );
        Ok(id)
    }

    fn end_assignment(&mut self, id: i64, outcome: AssignmentOutcome, at: Timestamp) -> Result<()> {
        self.known.facts.borrow_mut().remove(&id);
        // An offer of a lead this job created can end within the same job
        // (a replay of history does so): its rep may have passed on it now.
        if let Some(a) = self.known.offers.borrow_mut().remove(&id) {
            self.known.unpassed.borrow_mut().remove(&a.lead_id);
        }
        self.later_expecting(
            "UPDATE assignments SET outcome = $2, ended_at = $3, remind_at = NULL \
             WHERE id = $1 AND outcome = 'pending'",
            owned![id, outcome.as_str().to_string(), at.millis()],
            1,
            format!("assignment {id} was no longer pending"),
        );
        Ok(())
    }

    fn due_assignments(&mut self, now: Timestamp, limit: u32) -> Result<Vec<Assignment>> {
        let rows = self.query(
            &format!(
                "{ASSIGNMENT_SELECT} WHERE a.outcome = 'pending' AND a.sla_due_at <= $1 \
                 ORDER BY a.sla_due_at, a.id LIMIT $2"
            ),
            &[&now.millis(), &i64::from(limit)],
        )?;
        collect(rows, assignment_from_row)
    }

    fn insert_decision(&mut self, d: &NewDecision<'_>) -> Result<i64> {
        let r = self.query_one(
            "INSERT INTO decisions (lead_id, assignment_id, rep_id, decision, reason, note, decided_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
            &[
                &d.lead_id,
                &d.assignment_id,
                &d.rep_id,
                &d.decision.as_str(),
                &d.reason,
                &d.note,
                &d.decided_at.millis(),
            ],
        )?;
        Ok(r.try_get(0)?)
    }

    fn append_feed(&mut self, rep: RepId, at: Timestamp, change: &Change) -> Result<()> {
        let (kind, lead) = feed_keys(change);
        // The rep's head row is locked until commit, so the next append for
        // this rep (from any instance) waits, and sequence numbers of a feed
        // become visible in order.
        self.later(
            "WITH head AS (INSERT INTO feed_heads (rep_id, seq) VALUES ($1, 1) \
             ON CONFLICT (rep_id) DO UPDATE SET seq = feed_heads.seq + 1 RETURNING seq) \
             INSERT INTO feed (rep_id, seq, at, change, kind, lead_id) \
             SELECT $1, seq, $2, $3, $4, $5 FROM head",
            owned![
                rep,
                at.millis(),
                serde_json::to_string(change)?,
                kind.to_string(),
                lead
            ],
        );
        self.effects.feed_reps.push(rep);
        Ok(())
    }

    fn delete_feed_updates(&mut self, rep: RepId, lead: LeadId) -> Result<()> {
        self.later(
            "DELETE FROM feed WHERE rep_id = $1 AND lead_id = $2 AND kind = 'lead_updated'",
            owned![rep, lead],
        );
        Ok(())
    }

    fn trim_events(&mut self, lead: LeadId, kind: LeadEventKind, keep: u32) -> Result<()> {
        // The entries it trims go first.
        self.queue_events();
        self.later(
            "DELETE FROM lead_events WHERE lead_id = $1 AND kind = $2 AND id <= \
             (SELECT id FROM lead_events WHERE lead_id = $1 AND kind = $2 \
              ORDER BY id DESC LIMIT 1 OFFSET $3)",
            owned![lead, kind.as_str().to_string(), i64::from(keep)],
        );
        Ok(())
    }

    fn prune_answers(&mut self, before: Timestamp, limit: u32) -> Result<u32> {
        let n = self.execute(
            "DELETE FROM idempotency WHERE (rep_id, key) IN \
             (SELECT rep_id, key FROM idempotency WHERE created_at < $1 LIMIT $2)",
            &[&before.millis(), &i64::from(limit)],
        )?;
        Ok(n as u32)
    }

    fn queued_leads_open_to(&mut self, rep: RepId, team: &str, limit: u32) -> Result<Vec<LeadId>> {
        let rows = self.query(
            "SELECT l.id FROM leads l WHERE l.status = 'queued' AND l.team = $1 \
             AND NOT EXISTS (SELECT 1 FROM assignments a WHERE a.lead_id = l.id AND a.rep_id = $2 \
                             AND a.outcome IN ('rejected', 'sla_expired')) \
             ORDER BY l.queued_at, l.id LIMIT $3",
            &[&team, &rep, &i64::from(limit)],
        )?;
        collect(rows, |r| Ok(r.try_get(0)?))
    }

    fn reps_after(&mut self, after: RepId) -> Result<Vec<Rep>> {
        self.flush_reps();
        let rows = self.query(
            &format!("{REP_SELECT} WHERE id > $1 ORDER BY id"),
            &[&after],
        )?;
        collect(rows, rep_from_row)
    }

    fn append_event(
        &mut self,
        lead: LeadId,
        at: Timestamp,
        kind: LeadEventKind,
        rep: Option<RepId>,
        detail: &str,
    ) -> Result<()> {
        // Sent with the job's next statement, all of its entries as one.
        let mut e = self.known.events.borrow_mut();
        e.lead.push(lead);
        e.at.push(at.millis());
        e.kind.push(kind.as_str().to_string());
        e.rep.push(rep);
        e.detail.push(detail.to_string());
        Ok(())
    }

    fn idempotent_answer(&mut self, rep: RepId, key: &str) -> Result<Option<StoredAnswer>> {
        self.query_opt(
            "SELECT request_hash, status, body FROM idempotency WHERE rep_id = $1 AND key = $2",
            &[&rep, &key],
        )?
        .map(|r| {
            Ok(StoredAnswer {
                request_hash: r.try_get(0)?,
                status: u16::try_from(r.try_get::<_, i64>(1)?)
                    .map_err(|_| Error::Storage("a stored answer has a bad status".into()))?,
                body: r.try_get(2)?,
            })
        })
        .transpose()
    }

    fn store_answer(
        &mut self,
        rep: RepId,
        key: &str,
        a: &StoredAnswer,
        at: Timestamp,
    ) -> Result<()> {
        self.later(
            "INSERT INTO idempotency (rep_id, key, request_hash, status, body, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
            owned![
                rep,
                key.to_string(),
                a.request_hash.clone(),
                i64::from(a.status),
                a.body.clone(),
                at.millis()
            ],
        );
        Ok(())
    }

    fn teams_with_queue(&mut self) -> Result<Vec<String>> {
        let rows = self.query(
            "SELECT DISTINCT team FROM leads WHERE status = 'queued' AND team IS NOT NULL",
            &[],
        )?;
        collect(rows, |r| Ok(r.try_get(0)?))
    }

    fn queued_lead_ids(
        &mut self,
        team: &str,
        after: Option<(Timestamp, LeadId)>,
        limit: u32,
    ) -> Result<Vec<(Timestamp, LeadId)>> {
        let (at, id) = after
            .map(|(t, id)| (t.millis(), id))
            .unwrap_or((i64::MIN, 0));
        let rows = self.query(
            "SELECT queued_at, id FROM leads WHERE status = 'queued' AND team = $1 \
             AND (queued_at, id) > ($2, $3) ORDER BY queued_at, id LIMIT $4",
            &[&team, &at, &id, &i64::from(limit)],
        )?;
        collect(rows, |r| Ok((ts(r, 0)?, r.try_get(1)?)))
    }

    fn replace_teams(&mut self, teams: &[Team]) -> Result<()> {
        self.execute("DELETE FROM teams", &[])?;
        for t in teams {
            self.execute(
                "INSERT INTO teams (name, sla_seconds) VALUES ($1, $2)",
                &[&t.name, &(t.sla_seconds as i64)],
            )?;
        }
        Ok(())
    }

    fn insert_rep(&mut self, rep: &NewRep<'_>) -> Result<RepId> {
        self.forget_reps();
        let s = self.statement(
            "INSERT INTO reps (name, email, team, weight, max_open, rr_pass, created_at, schedule) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
        )?;
        self.flush()?;
        let inserted = self.block.on(self.client.query_one(
            &s,
            &[
                &rep.name,
                &rep.email,
                &rep.team,
                &i64::from(rep.weight),
                &i64::from(rep.max_open),
                &rep.rr_pass,
                &rep.created_at.millis(),
                &rep.schedule,
            ],
        ));
        match inserted {
            Ok(r) => Ok(r.try_get(0)?),
            Err(e) if e.code() == Some(&tokio_postgres::error::SqlState::UNIQUE_VIOLATION) => {
                self.failed.set(true);
                Err(Error::field(
                    "email",
                    format!("a rep with email {} already exists", rep.email),
                ))
            }
            Err(e) => {
                self.failed.set(true);
                Err(e.into())
            }
        }
    }

    fn insert_manager(&mut self, name: &str, email: &str, at: Timestamp) -> Result<i64> {
        let r = self.query_one(
            "INSERT INTO managers (name, email, created_at) VALUES ($1, $2, $3) RETURNING id",
            &[&name, &email, &at.millis()],
        )?;
        Ok(r.try_get(0)?)
    }

    fn manager_by_email(&mut self, email: &str) -> Result<Option<i64>> {
        Ok(self
            .query_opt(
                "SELECT id FROM managers WHERE lower(email) = lower($1)",
                &[&email],
            )?
            .map(|r| r.try_get(0))
            .transpose()?)
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
        self.execute(
            "INSERT INTO tokens (hash, role, subject_id, label, source, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
            &[
                &hash,
                &role.as_str(),
                &subject,
                &label,
                &source,
                &at.millis(),
            ],
        )?;
        Ok(())
    }

    fn revoke_token(&mut self, hash: &[u8], at: Timestamp) -> Result<bool> {
        let n = self.execute(
            "UPDATE tokens SET revoked_at = $2 WHERE hash = $1 AND revoked_at IS NULL",
            &[&hash, &at.millis()],
        )?;
        Ok(n == 1)
    }

    fn add_to_rollups(
        &mut self,
        grain: Grain,
        cells: &Cells,
        speeds: &HashMap<OfferKey, Vec<u8>>,
    ) -> Result<()> {
        // Held, and written with the batch's commit (rollup_buffer.rs).
        self.known.rollups.borrow_mut().add(grain, cells, speeds);
        Ok(())
    }

    fn add_lead_score(&mut self, grain: Grain, k: &LeadScoreKey, delta: i64) -> Result<()> {
        self.known
            .rollups
            .borrow_mut()
            .add_lead_score(grain, k, delta);
        Ok(())
    }

    fn clear_rollups(&mut self) -> Result<()> {
        self.known.rollups.borrow_mut().clear();
        let mut all = Vec::new();
        for grain in [Grain::Day, Grain::Month] {
            let t = rollup_tables(grain);
            all.extend([t.offers, t.reasons, t.scores, t.lead_scores]);
        }
        self.batch(&format!(
            "TRUNCATE {}; DELETE FROM storage_meta WHERE key = 'rollups_stale'",
            all.join(", ")
        ))
    }

    fn open_queue_wait(&mut self, lead: LeadId, team: &str, at: Timestamp) -> Result<()> {
        self.later(
            "INSERT INTO queue_waits (lead_id, team, queued_at) VALUES ($1, $2, $3)",
            owned![lead, team.to_string(), at.millis()],
        );
        Ok(())
    }

    fn close_queue_wait(&mut self, lead: LeadId, at: Timestamp, assigned: bool) -> Result<()> {
        let outcome = if assigned { "assigned" } else { "withdrawn" };
        self.later(
            "UPDATE queue_waits SET left_at = $2, outcome = $3 \
             WHERE lead_id = $1 AND left_at IS NULL",
            owned![lead, at.millis(), outcome.to_string()],
        );
        Ok(())
    }

    fn insert_intake_receipt(&mut self, r: &NewReceipt<'_>) -> Result<i64> {
        // The writer knows the id: the insert needs no answer.
        let id = self.next_id(IdTable::IntakeReceipts)?;
        self.later(
            "INSERT INTO intake_receipts (id, source, event_id, received_at, status, outcome, lead_id, \
             field, message, body) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            owned![
                id,
                r.source.to_string(),
                r.event_id.to_string(),
                r.received_at.millis(),
                r.status.as_str().to_string(),
                r.outcome.map(|o| o.as_str().to_string()),
                r.lead_id,
                r.field.map(str::to_string),
                r.message.map(str::to_string),
                r.body.to_vec()
            ],
        );
        Ok(id)
    }

    fn update_intake_receipt(&mut self, r: &IntakeReceipt) -> Result<()> {
        self.later(
            "UPDATE intake_receipts SET status = $2, outcome = $3, lead_id = $4, field = $5, \
             message = $6, resolved_at = $7 WHERE id = $1",
            owned![
                r.id,
                r.status.as_str().to_string(),
                r.outcome.map(|o| o.as_str().to_string()),
                r.lead_id,
                r.field.clone(),
                r.message.clone(),
                r.resolved_at.map(|t| t.millis())
            ],
        );
        Ok(())
    }

    fn trim_receipt_bodies(&mut self, lead: LeadId, keep: u32) -> Result<()> {
        self.later(
            "UPDATE intake_receipts SET body = NULL WHERE lead_id = $1 AND body IS NOT NULL \
             AND id < (SELECT MIN(id) FROM (SELECT id FROM intake_receipts WHERE lead_id = $1 \
                       ORDER BY id DESC LIMIT $2) newest)",
            owned![lead, i64::from(keep)],
        );
        Ok(())
    }

    fn emit_event(&mut self, e: &NewEvent<'_>) -> Result<()> {
        // Nothing to record when no endpoint takes this type (the writer
        // remembers which do while nobody else writes).
        if let Some(cache) = self.cache {
            let known = cache.borrow().subscribed(e.event_type.as_str());
            let subscribed = match known {
                Some(s) => s,
                None => {
                    let rows = self.query(
                        "SELECT DISTINCT s.event_type FROM webhook_subscriptions s \
                         JOIN webhook_endpoints w ON w.id = s.endpoint_id WHERE w.active",
                        &[],
                    )?;
                    let types: std::collections::HashSet<String> =
                        collect(rows, |r| Ok(r.try_get::<_, String>(0)?))?
                            .into_iter()
                            .collect();
                    let s = types.contains(e.event_type.as_str());
                    cache.borrow_mut().set_subscribed(types);
                    s
                }
            };
            if !subscribed {
                return Ok(());
            }
        }
        // One statement, sent with the job's next one: the event only when
        // some active endpoint subscribes, and a delivery for each.
        self.later(
            "WITH subscribers AS (SELECT w.id FROM webhook_subscriptions s \
                 JOIN webhook_endpoints w ON w.id = s.endpoint_id WHERE s.event_type = $1::text AND w.active \
                 AND (w.source_filter IS NULL OR w.source_filter = $5::text)), \
             event AS (INSERT INTO outbound_events (type, lead_id, occurred_at, payload) \
                 SELECT $1::text, $2::bigint, $3::bigint, $4::text WHERE EXISTS (SELECT 1 FROM subscribers) RETURNING id) \
             INSERT INTO webhook_deliveries (endpoint_id, event_id, lead_id, next_attempt_at) \
             SELECT subscribers.id, event.id, $2::bigint, $3::bigint FROM subscribers, event",
            owned![
                e.event_type.as_str().to_string(),
                e.lead_id,
                e.occurred_at.millis(),
                e.payload.to_string(),
                e.source.map(str::to_string)
            ],
        );
        // Told even when nobody subscribed (unknowable without a round
        // trip): the worker then finds nothing, at the cost of one read.
        self.effects.events = true;
        Ok(())
    }

    fn insert_webhook_endpoint(&mut self, e: &NewEndpoint<'_>) -> Result<i64> {
        if let Some(cache) = self.cache {
            cache.borrow_mut().forget_subscriptions();
        }
        let r = self.query_one(
            "INSERT INTO webhook_endpoints (url, secret, description, created_at) \
             VALUES ($1, $2, $3, $4) RETURNING id",
            &[&e.url, &e.secret, &e.description, &e.created_at.millis()],
        )?;
        let id: i64 = r.try_get(0)?;
        let events: Vec<String> = e.events.iter().map(|t| t.as_str().to_string()).collect();
        self.execute(
            "INSERT INTO webhook_subscriptions (event_type, endpoint_id) \
             SELECT DISTINCT t, $2::bigint FROM unnest($1::text[]) t",
            &[&events, &id],
        )?;
        Ok(id)
    }

    fn set_crm_endpoint(
        &mut self,
        kind: EndpointKind,
        crm: Option<&CrmEndpoint<'_>>,
        at: Timestamp,
    ) -> Result<()> {
        if let Some(cache) = self.cache {
            cache.borrow_mut().forget_subscriptions();
        }
        let existing: Option<i64> = self
            .query_opt(
                "SELECT id FROM webhook_endpoints WHERE kind = $1 AND deleted_at IS NULL",
                &[&kind.as_str()],
            )?
            .map(|r| r.try_get(0))
            .transpose()?;
        let Some(crm) = crm else {
            if let Some(id) = existing {
                self.delete_webhook_endpoint(id, at)?;
            }
            return Ok(());
        };
        let id = match existing {
            Some(id) => {
                self.execute(
                    "UPDATE webhook_endpoints SET url = $2, source_filter = $3, active = TRUE, \
                     disabled_at = NULL, disabled_reason = NULL WHERE id = $1",
                    &[&id, &crm.url, &crm.source],
                )?;
                self.execute(
                    "DELETE FROM webhook_subscriptions WHERE endpoint_id = $1",
                    &[&id],
                )?;
                id
            }
            None => {
                let r = self.query_one(
                    "INSERT INTO webhook_endpoints (kind, url, source_filter, secret, created_at) \
                     VALUES ($1, $2, $3, '', $4) RETURNING id",
                    &[&kind.as_str(), &crm.url, &crm.source, &at.millis()],
                )?;
                r.try_get(0)?
            }
        };
        let events: Vec<String> = crm.events.iter().map(|t| t.as_str().to_string()).collect();
        self.execute(
            "INSERT INTO webhook_subscriptions (event_type, endpoint_id) \
             SELECT DISTINCT t, $2::bigint FROM unnest($1::text[]) t",
            &[&events, &id],
        )?;
        Ok(())
    }

    fn delete_webhook_endpoint(&mut self, id: i64, at: Timestamp) -> Result<bool> {
        let n = self.execute(
            "UPDATE webhook_endpoints SET deleted_at = $2, active = FALSE \
             WHERE id = $1 AND deleted_at IS NULL",
            &[&id, &at.millis()],
        )?;
        if n == 0 {
            return Ok(false);
        }
        self.execute(
            "DELETE FROM webhook_subscriptions WHERE endpoint_id = $1",
            &[&id],
        )?;
        self.execute(
            "UPDATE webhook_deliveries SET status = 'cancelled' WHERE endpoint_id = $1 AND status = 'pending'",
            &[&id],
        )?;
        Ok(true)
    }

    fn claim_delivery(&mut self, id: i64, now: Timestamp, lease_until: Timestamp) -> Result<bool> {
        let n = self.execute(
            "UPDATE webhook_deliveries SET next_attempt_at = $3 \
             WHERE id = $1 AND status = 'pending' AND next_attempt_at <= $2",
            &[&id, &now.millis(), &lease_until.millis()],
        )?;
        Ok(n == 1)
    }

    fn record_delivery_attempt(&mut self, a: &AttemptRecord) -> Result<()> {
        let at = a.at.millis();
        let status = |s: &Option<u16>| s.map(i64::from);
        match &a.outcome {
            AttemptOutcome::Delivered { status: s } => {
                self.execute(
                    "UPDATE webhook_deliveries SET status = 'delivered', attempts = attempts + 1, \
                     last_attempt_at = $2, last_status = $3, last_error = NULL, delivered_at = $2 \
                     WHERE id = $1 AND status = 'pending'",
                    &[&a.delivery_id, &at, &i64::from(*s)],
                )?;
                self.execute(
                    "UPDATE webhook_endpoints SET last_success_at = $2, failing_since = NULL WHERE id = $1",
                    &[&a.endpoint_id, &at],
                )?;
            }
            AttemptOutcome::Retry {
                status: s,
                error,
                next_at,
            } => {
                self.execute(
                    "UPDATE webhook_deliveries SET attempts = attempts + 1, last_attempt_at = $2, \
                     last_status = $3, last_error = $4, next_attempt_at = $5 \
                     WHERE id = $1 AND status = 'pending'",
                    &[&a.delivery_id, &at, &status(s), error, &next_at.millis()],
                )?;
                self.execute(
                    "UPDATE webhook_endpoints SET failing_since = COALESCE(failing_since, $2) WHERE id = $1",
                    &[&a.endpoint_id, &at],
                )?;
            }
            AttemptOutcome::GaveUp { status: s, error } => {
                self.execute(
                    "UPDATE webhook_deliveries SET status = 'failed', attempts = attempts + 1, \
                     last_attempt_at = $2, last_status = $3, last_error = $4 \
                     WHERE id = $1 AND status = 'pending'",
                    &[&a.delivery_id, &at, &status(s), error],
                )?;
                self.execute(
                    "UPDATE webhook_endpoints SET failing_since = COALESCE(failing_since, $2) WHERE id = $1",
                    &[&a.endpoint_id, &at],
                )?;
            }
            AttemptOutcome::Disable {
                status: s,
                error,
                reason,
            } => {
                self.execute(
                    "UPDATE webhook_deliveries SET status = 'failed', attempts = attempts + 1, \
                     last_attempt_at = $2, last_status = $3, last_error = $4 \
                     WHERE id = $1 AND status = 'pending'",
                    &[&a.delivery_id, &at, &status(s), error],
                )?;
                self.execute(
                    "UPDATE webhook_deliveries SET status = 'failed', \
                     last_error = 'not sent: the endpoint was disabled' \
                     WHERE endpoint_id = $1 AND status = 'pending'",
                    &[&a.endpoint_id],
                )?;
                self.execute(
                    "UPDATE webhook_endpoints SET active = FALSE, disabled_at = $2, disabled_reason = $3, \
                     failing_since = COALESCE(failing_since, $2) WHERE id = $1",
                    &[&a.endpoint_id, &at, reason],
                )?;
            }
        }
        Ok(())
    }

    fn replay_delivery(&mut self, endpoint: i64, delivery: i64, at: Timestamp) -> Result<bool> {
        let n = self.execute(
            "UPDATE webhook_deliveries SET status = 'pending', next_attempt_at = $3 \
             WHERE id = $2 AND endpoint_id = $1",
            &[&endpoint, &delivery, &at.millis()],
        )?;
        if n > 0 {
            self.effects.events = true;
        }
        Ok(n > 0)
    }

    fn qualification_rule(&mut self) -> Result<Option<(u32, u32)>> {
        if let Some(cache) = self.cache
            && let Some(rule) = cache.borrow().rule()
        {
            return Ok(rule);
        }
        let rule = self
            .query_opt(
                "SELECT version, threshold FROM definitions ORDER BY version DESC LIMIT 1",
                &[],
            )?
            .map(|r| Ok::<_, Error>((u32_at(&r, 0)?, u32_at(&r, 1)?)))
            .transpose()?;
        if let Some(cache) = self.cache {
            cache.borrow_mut().set_rule(rule);
        }
        Ok(rule)
    }

    fn insert_definition(&mut self, d: &Definition, config_hash: Option<&str>) -> Result<()> {
        self.execute(
            "INSERT INTO definitions (version, threshold, criteria, reasons, effective_at, author, note, \
             changes, config_hash) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            &[
                &i64::from(d.version),
                &i64::from(d.threshold),
                &serde_json::to_string(&d.criteria)?,
                &serde_json::to_string(&d.reasons)?,
                &d.effective_at.millis(),
                &d.author,
                &d.note,
                &serde_json::to_string(&d.changes)?,
                &config_hash,
            ],
        )?;
        if let Some(cache) = self.cache {
            cache.borrow_mut().set_rule(Some((d.version, d.threshold)));
        }
        Ok(())
    }

    fn config_definition_hash(&mut self) -> Result<Option<String>> {
        Ok(self
            .query_opt(
                "SELECT config_hash FROM definitions WHERE config_hash IS NOT NULL \
                 ORDER BY version DESC LIMIT 1",
                &[],
            )?
            .map(|r| r.try_get(0))
            .transpose()?)
    }

    fn account_holder(&mut self, key: &str, since: Timestamp) -> Result<Option<(RepId, LeadId)>> {
        self.query_opt(
            "SELECT rep_id, lead_id FROM assignments WHERE account_key = $1 AND assigned_at >= $2 \
             AND outcome IN ('pending', 'accepted') ORDER BY assigned_at DESC, id DESC LIMIT 1",
            &[&key, &since.millis()],
        )?
        .map(|r| Ok::<_, Error>((r.try_get(0)?, r.try_get(1)?)))
        .transpose()
    }

    fn due_reminders(&mut self, now: Timestamp, limit: u32) -> Result<Vec<Assignment>> {
        let rows = self.query(
            &format!(
                "{ASSIGNMENT_SELECT} WHERE a.remind_at IS NOT NULL AND a.remind_at <= $1 \
                 ORDER BY a.remind_at, a.id LIMIT $2"
            ),
            &[&now.millis(), &i64::from(limit)],
        )?;
        collect(rows, assignment_from_row)
    }

    fn clear_reminder(&mut self, assignment: i64) -> Result<()> {
        self.later(
            "UPDATE assignments SET remind_at = NULL WHERE id = $1",
            owned![assignment],
        );
        Ok(())
    }

    fn update_rep(&mut self, rep: &RepRecord<'_>) -> Result<()> {
        self.forget_reps();
        let n = self.execute(
            "UPDATE reps SET team = $2, weight = $3, max_open = $4, schedule = $5, active = $6 WHERE id = $1",
            &[
                &rep.id,
                &rep.team,
                &i64::from(rep.weight),
                &i64::from(rep.max_open),
                &rep.schedule,
                &rep.active,
            ],
        )?;
        if n != 1 {
            return Err(Error::NotFound(format!("rep {} does not exist", rep.id)));
        }
        Ok(())
    }

    fn revoke_rep_tokens(&mut self, rep: RepId, at: Timestamp) -> Result<u32> {
        let n = self.execute(
            "UPDATE tokens SET revoked_at = $2 WHERE role = 'rep' AND subject_id = $1 AND revoked_at IS NULL",
            &[&rep, &at.millis()],
        )?;
        Ok(n as u32)
    }

    fn pending_offers_of(&mut self, rep: RepId) -> Result<Vec<Assignment>> {
        let rows = self.query(
            &format!(
                "{ASSIGNMENT_SELECT} WHERE a.rep_id = $1 AND a.outcome = 'pending' ORDER BY a.id"
            ),
            &[&rep],
        )?;
        collect(rows, assignment_from_row)
    }

    fn set_manager_scope(&mut self, manager: i64, admin: bool, teams: &[String]) -> Result<bool> {
        let n = self.execute(
            "UPDATE managers SET admin = $2 WHERE id = $1",
            &[&manager, &admin],
        )?;
        if n != 1 {
            return Ok(false);
        }
        self.execute(
            "DELETE FROM manager_teams WHERE manager_id = $1",
            &[&manager],
        )?;
        let teams = teams.to_vec();
        self.execute(
            "INSERT INTO manager_teams (manager_id, team) SELECT $1, t FROM unnest($2::TEXT[]) AS t \
             ON CONFLICT DO NOTHING",
            &[&manager, &teams],
        )?;
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
        self.later(
            "INSERT INTO audit_log (at, actor, action, subject, detail) VALUES ($1, $2, $3, $4, $5)",
            owned![
                at.millis(),
                actor.to_string(),
                action.to_string(),
                subject.to_string(),
                detail.to_string()
            ],
        );
        Ok(())
    }

    fn insert_escalation(&mut self, e: &NewEscalation<'_>) -> Result<i64> {
        let r = self.query_one(
            "INSERT INTO escalations (lead_id, assignment_id, rep_id, team, lead_name, at, sla_due_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
            &[
                &e.lead_id,
                &e.assignment_id,
                &e.rep_id,
                &e.team,
                &e.lead_name,
                &e.at.millis(),
                &e.sla_due_at.millis(),
            ],
        )?;
        Ok(r.try_get(0)?)
    }

    fn sla_changed(&mut self) {
        self.effects.sla_changed = true;
    }

    #[cfg(debug_assertions)]
    fn inject_fault(&mut self, fault: &str) -> Result<()> {
        match fault {
            // What a lost connection or a server-side abort does: the
            // statement fails and the transaction cannot go on.
            "abandon-transaction" => {
                // An error inside the transaction puts it into the aborted
                // state, as a failure in PostgreSQL would.
                let _ = self.batch("SELECT 1/0");
                return Err(Error::Storage(
                    "injected fault: the transaction was aborted".into(),
                ));
            }
            "kill-writer" => self.kill_writer = true,
            "fail-last-write" => self.fail_last_write = true,
            other => {
                if let Some(ms) = other.strip_prefix("sleep-").and_then(|m| m.parse().ok()) {
                    std::thread::sleep(std::time::Duration::from_millis(ms));
                }
            }
        }
        Ok(())
    }
}
