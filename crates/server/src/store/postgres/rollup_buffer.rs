//! Rollup changes held back until a write transaction commits.
//!
//! Every routed lead adds to a dozen report cells, most of them shared with
//! the other leads of its batch (the same day, team, source, band), and
//! moves its own lead-score cell (counted on arrival, moved when routed).
//! Written as they happen, that was six statements a lead and the largest
//! part of PostgreSQL's work. Instead a job's changes add up here; a kept
//! job's sum joins its batch's, and the batch's sum is written with its
//! COMMIT, one statement per table. A job rolled back takes its sum with
//! it. Reports read committed rows only, so they see the same figures;
//! inside the writer, the one rollup value read back (an offer cell's speed
//! sketch, which the bookkeeping merges into) is answered from here first.

use std::collections::HashMap;

use crate::cells::{Cells, Grain, LeadScoreKey, OfferKey, ReasonKey, ScoreKey};
use crate::store::rollup_tables;

use super::tx::{Later, Owned};

/// One offer cell's change: counts to add, and the speed sketch to store.
#[derive(Clone, Debug, Default)]
struct OfferChange {
    assigned: i64,
    accepted: i64,
    rejected: i64,
    sla_expired: i64,
    speed: Option<Vec<u8>>,
}

#[derive(Clone, Debug, Default)]
struct GrainChanges {
    offers: HashMap<OfferKey, OfferChange>,
    reasons: HashMap<ReasonKey, i64>,
    scores: HashMap<ScoreKey, (i64, i64)>,
    lead_scores: HashMap<LeadScoreKey, i64>,
}

/// The rollup changes of a job, or of a batch's kept jobs.
#[derive(Clone, Debug, Default)]
pub(super) struct RollupBuffer {
    day: GrainChanges,
    month: GrainChanges,
    /// The rollups were emptied (a rebuild): changes held from before are
    /// void, and nothing older is read back from the database.
    cleared: bool,
}

impl RollupBuffer {
    fn grain(&mut self, grain: Grain) -> &mut GrainChanges {
        match grain {
            Grain::Day => &mut self.day,
            Grain::Month => &mut self.month,
        }
    }

    pub(super) fn add(&mut self, grain: Grain, cells: &Cells, speeds: &HashMap<OfferKey, Vec<u8>>) {
        let g = self.grain(grain);
        for (k, n) in &cells.offers {
            let c = g.offers.entry(k.clone()).or_default();
            c.assigned += n.assigned as i64;
            c.accepted += n.accepted as i64;
            c.rejected += n.rejected as i64;
            c.sla_expired += n.sla_expired as i64;
        }
        for (k, speed) in speeds {
            g.offers.entry(k.clone()).or_default().speed = Some(speed.clone());
        }
        for (k, &n) in &cells.reasons {
            *g.reasons.entry(k.clone()).or_default() += n as i64;
        }
        for (k, &(a, r)) in &cells.scores {
            let e = g.scores.entry(k.clone()).or_default();
            e.0 += a as i64;
            e.1 += r as i64;
        }
        for (k, &n) in &cells.lead_scores {
            *g.lead_scores.entry(k.clone()).or_default() += n as i64;
        }
    }

    pub(super) fn add_lead_score(&mut self, grain: Grain, k: &LeadScoreKey, delta: i64) {
        *self.grain(grain).lead_scores.entry(k.clone()).or_default() += delta;
    }

    /// Empties the rollups: what was held is void.
    pub(super) fn clear(&mut self) {
        *self = RollupBuffer {
            cleared: true,
            ..RollupBuffer::default()
        };
    }

    /// The speed sketch held for a cell: `Some(None)` when the rollups were
    /// emptied since and nothing was stored for it, `None` when only the
    /// database knows.
    pub(super) fn speed(&self, grain: Grain, k: &OfferKey) -> Option<Option<Vec<u8>>> {
        let g = match grain {
            Grain::Day => &self.day,
            Grain::Month => &self.month,
        };
        match g.offers.get(k).and_then(|c| c.speed.clone()) {
            Some(s) => Some(Some(s)),
            None if self.cleared => Some(None),
            None => None,
        }
    }

    /// Adds a later job's changes (`later` came after these).
    pub(super) fn absorb(&mut self, later: RollupBuffer) {
        if later.cleared {
            *self = later;
            return;
        }
        for (mine, theirs) in [(&mut self.day, later.day), (&mut self.month, later.month)] {
            for (k, c) in theirs.offers {
                let e = mine.offers.entry(k).or_default();
                e.assigned += c.assigned;
                e.accepted += c.accepted;
                e.rejected += c.rejected;
                e.sla_expired += c.sla_expired;
                if c.speed.is_some() {
                    e.speed = c.speed;
                }
            }
            for (k, n) in theirs.reasons {
                *mine.reasons.entry(k).or_default() += n;
            }
            for (k, (a, r)) in theirs.scores {
                let e = mine.scores.entry(k).or_default();
                e.0 += a;
                e.1 += r;
            }
            for (k, n) in theirs.lead_scores {
                *mine.lead_scores.entry(k).or_default() += n;
            }
        }
    }

    /// The statements that write the held changes: one per table, the
    /// cells as arrays. Changes that cancel out (a lead counted on arrival
    /// and moved when routed) write nothing.
    pub(super) fn statements(&self) -> Vec<Later> {
        let mut out = Vec::new();
        for (grain, g) in [(Grain::Day, &self.day), (Grain::Month, &self.month)] {
            g.statements(grain, &mut out);
        }
        out
    }
}

macro_rules! owned_vec {
    ($($v:expr),* $(,)?) => {
        vec![$(Box::new($v) as Owned),*]
    };
}

impl GrainChanges {
    fn statements(&self, grain: Grain, out: &mut Vec<Later>) {
        let t = rollup_tables(grain);
        let offers: Vec<_> = self
            .offers
            .iter()
            .filter(|(_, c)| {
                c.assigned != 0
                    || c.accepted != 0
                    || c.rejected != 0
                    || c.sla_expired != 0
                    || c.speed.is_some()
            })
            .collect();
        if !offers.is_empty() {
            let (mut day, mut team, mut dim, mut key) = (vec![], vec![], vec![], vec![]);
            let (mut assigned, mut accepted, mut rejected, mut expired, mut speed) =
                (vec![], vec![], vec![], vec![], vec![]);
            for (k, c) in offers {
                day.push(k.day);
                team.push(k.team.clone());
                dim.push(k.dim.as_str().to_string());
                key.push(k.key.clone());
                assigned.push(c.assigned);
                accepted.push(c.accepted);
                rejected.push(c.rejected);
                expired.push(c.sla_expired);
                speed.push(c.speed.clone());
            }
            out.push(Later::exec(
                format!(
                    "INSERT INTO {o} AS c (day, team, dim, key, assigned, accepted, rejected, sla_expired, speed) \
                     SELECT day, team, dim, key, assigned, accepted, rejected, sla_expired, COALESCE(speed, '\\x'::bytea) \
                     FROM unnest($1::BIGINT[], $2::TEXT[], $3::TEXT[], $4::TEXT[], $5::BIGINT[], \
                                 $6::BIGINT[], $7::BIGINT[], $8::BIGINT[], $9::BYTEA[]) \
                          AS n (day, team, dim, key, assigned, accepted, rejected, sla_expired, speed) \
                     ON CONFLICT (day, team, dim, key) DO UPDATE SET \
                     assigned = c.assigned + excluded.assigned, accepted = c.accepted + excluded.accepted, \
                     rejected = c.rejected + excluded.rejected, sla_expired = c.sla_expired + excluded.sla_expired, \
                     speed = CASE WHEN excluded.speed = '\\x'::bytea THEN c.speed ELSE excluded.speed END",
                    o = t.offers
                ),
                owned_vec![day, team, dim, key, assigned, accepted, rejected, expired, speed],
            ));
        }
        let reasons: Vec<_> = self.reasons.iter().filter(|(_, n)| **n != 0).collect();
        if !reasons.is_empty() {
            let (mut day, mut team, mut dim, mut key, mut reason, mut n) =
                (vec![], vec![], vec![], vec![], vec![], vec![]);
            for (k, &count) in reasons {
                day.push(k.day);
                team.push(k.team.clone());
                dim.push(k.dim.as_str().to_string());
                key.push(k.key.clone());
                reason.push(k.reason.clone());
                n.push(count);
            }
            out.push(Later::exec(
                format!(
                    "INSERT INTO {r} AS c (day, team, dim, key, reason, rejections) \
                     SELECT * FROM unnest($1::BIGINT[], $2::TEXT[], $3::TEXT[], $4::TEXT[], $5::TEXT[], $6::BIGINT[]) \
                     ON CONFLICT (day, team, dim, key, reason) DO UPDATE SET \
                     rejections = c.rejections + excluded.rejections",
                    r = t.reasons
                ),
                owned_vec![day, team, dim, key, reason, n],
            ));
        }
        let scores: Vec<_> = self
            .scores
            .iter()
            .filter(|(_, (a, r))| *a != 0 || *r != 0)
            .collect();
        if !scores.is_empty() {
            let (mut day, mut team, mut channel, mut score, mut acc, mut rej) =
                (vec![], vec![], vec![], vec![], vec![], vec![]);
            for (k, &(a, r)) in scores {
                day.push(k.day);
                team.push(k.team.clone());
                channel.push(k.channel.clone());
                score.push(i64::from(k.score));
                acc.push(a);
                rej.push(r);
            }
            out.push(Later::exec(
                format!(
                    "INSERT INTO {s} AS c (day, team, channel, score, accepted, rejected) \
                     SELECT * FROM unnest($1::BIGINT[], $2::TEXT[], $3::TEXT[], $4::BIGINT[], $5::BIGINT[], $6::BIGINT[]) \
                     ON CONFLICT (day, team, channel, score) DO UPDATE SET \
                     accepted = c.accepted + excluded.accepted, rejected = c.rejected + excluded.rejected",
                    s = t.scores
                ),
                owned_vec![day, team, channel, score, acc, rej],
            ));
        }
        let lead_scores: Vec<_> = self.lead_scores.iter().filter(|(_, n)| **n != 0).collect();
        if !lead_scores.is_empty() {
            let (mut day, mut team, mut score, mut n) = (vec![], vec![], vec![], vec![]);
            for (k, &count) in lead_scores {
                day.push(k.day);
                team.push(k.team.clone());
                score.push(i64::from(k.score));
                n.push(count);
            }
            out.push(Later::exec(
                format!(
                    "INSERT INTO {l} AS c (day, team, score, leads) \
                     SELECT * FROM unnest($1::BIGINT[], $2::TEXT[], $3::BIGINT[], $4::BIGINT[]) \
                     ON CONFLICT (day, team, score) DO UPDATE SET leads = c.leads + excluded.leads",
                    l = t.lead_scores
                ),
                owned_vec![day, team, score, n],
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cells::Dim;

    fn score_key(team: &str) -> LeadScoreKey {
        LeadScoreKey {
            day: 20_000,
            team: team.into(),
            score: 70,
        }
    }

    fn offer_key() -> OfferKey {
        OfferKey {
            day: 20_000,
            team: "sales".into(),
            dim: Dim::All,
            key: String::new(),
        }
    }

    #[test]
    fn a_lead_moved_between_cells_writes_only_where_it_ended() {
        let mut b = RollupBuffer::default();
        b.add_lead_score(Grain::Day, &score_key(""), 1);
        b.add_lead_score(Grain::Day, &score_key(""), -1);
        b.add_lead_score(Grain::Day, &score_key("sales"), 1);
        let statements = b.statements();
        assert_eq!(statements.len(), 1, "one table, one cell");
    }

    #[test]
    fn a_later_job_adds_counts_replaces_sketches_and_a_clear_voids_what_came_before() {
        let mut batch = RollupBuffer::default();
        let mut cells = Cells::default();
        cells.offers.entry(offer_key()).or_default().assigned = 2;
        batch.add(Grain::Day, &cells, &HashMap::new());
        assert_eq!(batch.speed(Grain::Day, &offer_key()), None);
        let mut job = RollupBuffer::default();
        job.add(
            Grain::Day,
            &cells,
            &HashMap::from([(offer_key(), vec![1, 2, 3])]),
        );
        batch.absorb(job);
        assert_eq!(batch.day.offers[&offer_key()].assigned, 4);
        assert_eq!(
            batch.speed(Grain::Day, &offer_key()),
            Some(Some(vec![1, 2, 3]))
        );
        let mut rebuild = RollupBuffer::default();
        rebuild.clear();
        assert_eq!(rebuild.speed(Grain::Day, &offer_key()), Some(None));
        batch.absorb(rebuild);
        assert!(batch.statements().is_empty());
        assert!(batch.cleared);
    }
}
