//! What each write adds to the report rollups and the queue waits, worked
//! out here once for every storage backend.
//!
//! Routing stores leads, offers and decisions through these functions rather
//! than the bare [`WriteTx`] operations: each stores the row, then adds what
//! it changes to the rollups and queue waits through plain storage
//! operations, in the same write job. The rules:
//! - an offer counts when made; its outcome when decided (with the decision,
//!   which carries the reason) or taken back at the SLA (when it ends);
//! - a lead counts on its day of receipt, by its current score and team
//!   (moving cell when either changes);
//! - a stay in a team's queue opens when a lead is queued and closes when it
//!   is offered to a rep or leaves the queue any other way;
//! - speed sketches are merged here (read, merge, store), so a backend only
//!   adds counts and stores the sketches it is given.

use std::collections::HashMap;

use baton_protocol::{AssignmentOutcome, LeadId, LeadStatus, Timestamp};

use crate::cells::{Cells, Counts, Grain, LeadScoreKey, day_of, month_start};
use crate::error::{Error, Result};
use crate::store::{LeadRow, LeadStanding, NewAssignment, NewDecision, WriteTx};

/// Where a lead counts in the lead-score rollups.
fn score_key(s: &LeadStanding) -> LeadScoreKey {
    LeadScoreKey {
        day: day_of(s.created_at),
        team: s.team.clone().unwrap_or_default(),
        score: s.score.min(100),
    }
}

/// `delta` leads at `key`, in the daily and the monthly rollups.
fn add_lead_score(tx: &mut dyn WriteTx, key: &LeadScoreKey, delta: i64) -> Result<()> {
    tx.add_lead_score(Grain::Day, key, delta)?;
    let month = LeadScoreKey {
        day: month_start(key.day),
        ..key.clone()
    };
    tx.add_lead_score(Grain::Month, &month, delta)
}

/// Adds `cells` (keyed by day) to the daily and the monthly rollups,
/// merging the speed sketches they carry into the stored ones.
pub fn add_to_rollups(tx: &mut dyn WriteTx, cells: &Cells) -> Result<()> {
    for (grain, cells) in [
        (Grain::Day, cells.clone()),
        (Grain::Month, cells.by_month()),
    ] {
        let mut speeds = HashMap::new();
        for (key, delta) in cells.offers.iter().filter(|(_, c)| c.has_speed()) {
            let mut merged = Counts::default();
            if let Some(stored) = tx.rollup_speed(grain, key)?
                && !stored.is_empty()
            {
                merged.decode_speed(&stored).ok_or_else(|| {
                    Error::Storage(
                        "a report rollup's speed sketch is unreadable; run `baton-server rebuild-reports`"
                            .into(),
                    )
                })?;
            }
            merged.merge(delta);
            speeds.insert(key.clone(), merged.encode_speed());
        }
        tx.add_to_rollups(grain, &cells, &speeds)?;
    }
    Ok(())
}

/// Stores a new lead and counts it.
pub fn insert_lead(tx: &mut dyn WriteTx, lead: &LeadRow) -> Result<LeadId> {
    let id = tx.insert_lead(lead)?;
    let standing = lead.standing();
    add_lead_score(tx, &score_key(&standing), 1)?;
    if let (Some(team), Some(at)) = (&lead.team, lead.queued_at) {
        tx.open_queue_wait(id, team, at)?;
    }
    Ok(id)
}

/// Writes back a lead, moving it between rollup cells and opening or
/// closing its queue stay as its score, team and queue time changed.
pub fn update_lead(tx: &mut dyn WriteTx, lead: &LeadRow) -> Result<()> {
    let before = tx
        .lead_standing(lead.id)?
        .ok_or_else(|| Error::Internal(format!("lead {} vanished", lead.id)))?;
    tx.update_lead(lead)?;
    let after = lead.standing();
    let (old_key, new_key) = (score_key(&before), score_key(&after));
    if old_key != new_key {
        add_lead_score(tx, &old_key, -1)?;
        add_lead_score(tx, &new_key, 1)?;
    }
    match (before.queued_at, after.queued_at, &lead.team) {
        (None, Some(at), Some(team)) => tx.open_queue_wait(lead.id, team, at)?,
        (Some(_), None, _) => tx.close_queue_wait(
            lead.id,
            lead.updated_at,
            lead.status == LeadStatus::Assigned,
        )?,
        _ => {}
    }
    Ok(())
}

/// Stores an offer and counts it as made.
pub fn insert_assignment(tx: &mut dyn WriteTx, a: &NewAssignment<'_>) -> Result<i64> {
    let id = tx.insert_assignment(a)?;
    let fact = tx
        .assignment_fact(id)?
        .ok_or_else(|| Error::Internal(format!("offer {id} is not readable for reports")))?;
    let mut cells = Cells::default();
    cells.add_offer(&fact);
    add_to_rollups(tx, &cells)?;
    Ok(id)
}

/// Ends an offer. One taken back at the SLA counts now; a decided one
/// counts with its decision ([`insert_decision`]), which has the reason.
pub fn end_assignment(
    tx: &mut dyn WriteTx,
    id: i64,
    outcome: AssignmentOutcome,
    at: Timestamp,
) -> Result<()> {
    tx.end_assignment(id, outcome, at)?;
    if outcome == AssignmentOutcome::SlaExpired {
        let fact = tx
            .assignment_fact(id)?
            .ok_or_else(|| Error::Internal(format!("offer {id} is not readable for reports")))?;
        let mut cells = Cells::default();
        cells.add_outcome(&fact);
        add_to_rollups(tx, &cells)?;
    }
    Ok(())
}

/// Stores a decision on an offer already ended as accepted or rejected,
/// and counts the outcome.
pub fn insert_decision(tx: &mut dyn WriteTx, d: &NewDecision<'_>) -> Result<i64> {
    let id = tx.insert_decision(d)?;
    let fact = tx.assignment_fact(d.assignment_id)?.ok_or_else(|| {
        Error::Internal(format!(
            "offer {} is not readable for reports",
            d.assignment_id
        ))
    })?;
    if !matches!(
        fact.outcome,
        AssignmentOutcome::Accepted | AssignmentOutcome::Rejected
    ) {
        return Err(Error::Internal(format!(
            "decision on offer {} recorded before the offer ended as decided",
            d.assignment_id
        )));
    }
    let mut cells = Cells::default();
    cells.add_outcome(&fact);
    add_to_rollups(tx, &cells)?;
    Ok(id)
}

/// Fills the rollups again from the offers, decisions and leads
/// themselves: `baton-server rebuild-reports`, and at start-up after a
/// migration that changed what they hold.
pub fn rebuild(tx: &mut dyn WriteTx) -> Result<()> {
    tx.clear_rollups()?;
    let mut cells = Cells::default();
    for f in tx.assignment_facts(Timestamp::MIN, Timestamp::MAX, None)? {
        cells.add_fact(&f);
    }
    for s in tx.lead_standings()? {
        cells.add_lead(day_of(s.created_at), s.team.as_deref(), s.score, 1);
    }
    add_to_rollups(tx, &cells)
}

/// Rebuilds the rollups if the storage says they are stale; whether it did.
pub fn refill_if_stale(tx: &mut dyn WriteTx) -> Result<bool> {
    if !tx.rollups_stale()? {
        return Ok(false);
    }
    rebuild(tx)?;
    Ok(true)
}
