//! What the writer remembers between its transactions, to route a lead
//! without asking the database what it already knows.
//!
//! Every write transaction of every instance bumps one counter (the write
//! epoch) under the write lock. When the epoch a batch gets is the one after
//! this writer's last, nobody else wrote in between, so what this writer
//! remembers is still true; otherwise it forgets everything and reads again.
//! With one instance the cache therefore lives as long as the process; with
//! several it lives for as long as one instance keeps the lock.
//!
//! It remembers two things:
//! - **The reps of a team** as routing needs them (rotation pass, open leads,
//!   cap, availability), kept up to date by the writes that change them.
//!   An offer made or ended changes only what is remembered here, marking
//!   the rep *dirty*; dirty reps are written in one statement before any
//!   statement of the writer reads `reps`, and with the batch's COMMIT
//!   (a statement a routed lead saved). A job rolled back puts back what
//!   was remembered when it began ([`RepSnapshot`]).
//! - **Blocks of row ids** for leads and offers, reserved from their
//!   sequences, so inserting one needs no answer from the database and can
//!   go out with the job's next statement. A block is dropped with the rest
//!   when the epoch jumps, so ids still grow in commit order across
//!   instances (histories and pages sort by id).

use std::collections::{HashMap, HashSet, VecDeque};

use baton_protocol::RepId;

use crate::store::{Candidate, RepCandidate};

/// Ids reserved from a sequence at a time.
pub(super) const ID_BLOCK: i64 = 256;

/// The tables whose ids the writer reserves in blocks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(super) enum IdTable {
    Leads,
    Assignments,
    IntakeReceipts,
}

impl IdTable {
    /// Reserves a block of ids from the table's identity sequence.
    pub(super) fn reserve_sql(self) -> &'static str {
        match self {
            IdTable::Leads => {
                "SELECT nextval(pg_get_serial_sequence('leads', 'id')) FROM generate_series(1, $1::BIGINT)"
            }
            IdTable::Assignments => {
                "SELECT nextval(pg_get_serial_sequence('assignments', 'id')) FROM generate_series(1, $1::BIGINT)"
            }
            IdTable::IntakeReceipts => {
                "SELECT nextval(pg_get_serial_sequence('intake_receipts', 'id')) FROM generate_series(1, $1::BIGINT)"
            }
        }
    }
}

/// A rep as routing sees them, and whether they take leads now.
#[derive(Clone, Debug)]
pub(super) struct CachedRep {
    pub rep: RepCandidate,
    pub available: bool,
}

#[derive(Default)]
pub(super) struct WriterCache {
    /// The epoch of the last transaction this writer began, if its
    /// knowledge is still good.
    epoch: Option<i64>,
    /// Reps by team.
    teams: HashMap<String, Vec<CachedRep>>,
    /// Reps whose pass and open leads here are ahead of the database.
    dirty: HashSet<RepId>,
    ids: HashMap<IdTable, VecDeque<i64>>,
    /// Event types some active endpoint subscribes to, if known: routing
    /// emits an event only when one does, and most deployments have none.
    subscribed: Option<HashSet<String>>,
    /// The definition version and threshold in force, if known (the inner
    /// `None`: none was published).
    rule: Option<Option<(u32, u32)>>,
}

/// What the writer remembered of the reps when a job began.
#[derive(Clone, Debug, Default)]
pub(super) struct RepSnapshot {
    teams: HashMap<String, Vec<CachedRep>>,
    dirty: HashSet<RepId>,
}

impl WriterCache {
    /// A write transaction began with `epoch`: keep what is known only if
    /// nobody else wrote since this writer's last transaction.
    pub(super) fn begin(&mut self, epoch: i64) {
        debug_assert!(self.dirty.is_empty(), "dirty reps outlived a commit");
        if self.epoch != Some(epoch - 1) {
            self.forget();
        }
        self.epoch = Some(epoch);
    }

    /// Forgets everything: a transaction rolled back, or others wrote.
    /// Forgets everything: a transaction rolled back (its dirty reps with
    /// it), or others wrote.
    pub(super) fn forget(&mut self) {
        self.epoch = None;
        self.teams.clear();
        self.dirty.clear();
        self.ids.clear();
        self.subscribed = None;
        self.rule = None;
    }

    pub(super) fn rule(&self) -> Option<Option<(u32, u32)>> {
        self.rule
    }

    pub(super) fn set_rule(&mut self, rule: Option<(u32, u32)>) {
        self.rule = Some(rule);
    }

    /// Whether some active endpoint takes `event_type`, if known.
    pub(super) fn subscribed(&self, event_type: &str) -> Option<bool> {
        self.subscribed.as_ref().map(|s| s.contains(event_type))
    }

    pub(super) fn set_subscribed(&mut self, types: HashSet<String>) {
        self.subscribed = Some(types);
    }

    /// An endpoint was added or re-enabled here: read them again.
    pub(super) fn forget_subscriptions(&mut self) {
        self.subscribed = None;
    }

    /// Forgets the reps, once the dirty ones were taken ([`Self::take_dirty`])
    /// to be written: a write changed reps in a way not mirrored here.
    /// Reserved ids stay good: a sequence does not roll back, so an id a
    /// rolled-back job took is simply never used.
    pub(super) fn forget_reps(&mut self) {
        debug_assert!(self.dirty.is_empty(), "dirty reps forgotten unwritten");
        self.teams.clear();
    }

    /// Whether every remembered rep is as the database has it.
    pub(super) fn is_clean(&self) -> bool {
        self.dirty.is_empty()
    }

    /// The dirty reps' pass and open leads, to be written now; they are
    /// clean from here on.
    pub(super) fn take_dirty(&mut self) -> Vec<(RepId, i64, i64)> {
        let mut out: Vec<(RepId, i64, i64)> = self
            .teams
            .values()
            .flatten()
            .map(|r| &r.rep)
            .filter(|r| self.dirty.contains(&r.id))
            .map(|r| (r.id, r.rr_pass, i64::from(r.open_leads)))
            .collect();
        out.sort_unstable();
        self.dirty.clear();
        out
    }

    pub(super) fn snapshot(&self) -> RepSnapshot {
        RepSnapshot {
            teams: self.teams.clone(),
            dirty: self.dirty.clone(),
        }
    }

    /// Back to what was remembered when a job began (it rolled back).
    pub(super) fn restore(&mut self, s: RepSnapshot) {
        self.teams = s.teams;
        self.dirty = s.dirty;
    }

    pub(super) fn next_id(&mut self, table: IdTable) -> Option<i64> {
        self.ids.get_mut(&table)?.pop_front()
    }

    pub(super) fn add_ids(&mut self, table: IdTable, ids: impl IntoIterator<Item = i64>) {
        self.ids.entry(table).or_default().extend(ids);
    }

    pub(super) fn team(&self, team: &str) -> Option<&[CachedRep]> {
        self.teams.get(team).map(Vec::as_slice)
    }

    pub(super) fn set_team(&mut self, team: &str, reps: Vec<CachedRep>) {
        self.teams.insert(team.to_string(), reps);
    }

    fn rep_mut(&mut self, id: RepId) -> Option<&mut RepCandidate> {
        self.teams
            .values_mut()
            .flat_map(|reps| reps.iter_mut())
            .map(|r| &mut r.rep)
            .find(|r| r.id == id)
    }

    /// `record_offer`, if the rep is remembered: whether it was (else the
    /// database must be told).
    pub(super) fn offered(&mut self, rep: RepId, new_rr_pass: i64) -> bool {
        let Some(r) = self.rep_mut(rep) else {
            return false;
        };
        r.rr_pass = new_rr_pass;
        r.open_leads += 1;
        self.dirty.insert(rep);
        true
    }

    /// `release_offer`, if the rep is remembered: whether it was.
    pub(super) fn released(&mut self, rep: RepId) -> bool {
        let Some(r) = self.rep_mut(rep) else {
            return false;
        };
        r.open_leads = r.open_leads.saturating_sub(1);
        self.dirty.insert(rep);
        true
    }
}

/// The team's reps as routing weighs a lead nobody has passed on yet, in
/// the order the `team_candidates` query gives: lowest rotation pass
/// first, then lowest id.
pub(super) fn candidates(reps: &[CachedRep]) -> Vec<Candidate> {
    let mut out: Vec<Candidate> = reps
        .iter()
        .map(|r| Candidate {
            rep: r.rep.clone(),
            available: r.available,
            passed: None,
        })
        .collect();
    out.sort_by_key(|c| (c.rep.rr_pass, c.rep.id));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rep(id: RepId, rr_pass: i64, open: u32, max: u32, available: bool) -> CachedRep {
        CachedRep {
            rep: RepCandidate {
                id,
                name: format!("rep {id}"),
                weight: 1,
                rr_pass,
                open_leads: open,
                max_open: max,
                schedule: None,
            },
            available,
        }
    }

    #[test]
    fn candidates_follow_the_rotation() {
        let reps = vec![
            rep(1, 30, 0, 5, true),
            rep(2, 10, 5, 5, true),
            rep(3, 10, 0, 5, false),
            rep(4, 20, 1, 5, true),
            rep(5, 20, 0, 5, true),
        ];
        let all = candidates(&reps);
        let ids: Vec<RepId> = all.iter().map(|c| c.rep.id).collect();
        assert_eq!(ids, vec![2, 3, 4, 5, 1]);
        assert!(!all[1].available, "rep 3 is away");
    }

    #[test]
    fn knowledge_survives_only_an_unbroken_run_of_epochs() {
        let mut c = WriterCache::default();
        c.begin(7);
        c.set_team("emea", vec![rep(1, 0, 0, 5, true)]);
        c.add_ids(IdTable::Leads, [100, 101]);
        assert!(c.offered(1, 64));
        assert!(!c.offered(2, 64), "a rep not remembered is the database's");
        assert_eq!(c.team("emea").unwrap()[0].rep.open_leads, 1);
        assert_eq!(c.team("emea").unwrap()[0].rep.rr_pass, 64);
        assert_eq!(c.take_dirty(), vec![(1, 64, 1)]);
        assert!(c.take_dirty().is_empty(), "written once");
        c.begin(8);
        assert!(c.team("emea").is_some());
        assert_eq!(c.next_id(IdTable::Leads), Some(100));
        // Another instance wrote epoch 9.
        c.begin(10);
        assert!(c.team("emea").is_none());
        assert_eq!(c.next_id(IdTable::Leads), None);
        c.set_team("emea", vec![rep(1, 0, 3, 5, true)]);
        let before = c.snapshot();
        c.released(1);
        assert_eq!(c.team("emea").unwrap()[0].rep.open_leads, 2);
        // The job rolled back: what it changed is undone, unwritten.
        c.restore(before);
        assert_eq!(c.team("emea").unwrap()[0].rep.open_leads, 3);
        assert!(c.take_dirty().is_empty());
        c.forget_reps();
        assert!(c.team("emea").is_none());
    }
}
