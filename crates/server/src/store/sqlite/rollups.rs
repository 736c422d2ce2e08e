//! The SQLite side of the report rollups (migration 0002): storing cells and
//! reading a period's cells. What an offer, decision or lead adds to them is
//! decided by `crate::bookkeeping`, not here.

use std::collections::HashMap;

use baton_protocol::Timestamp;
use rusqlite::{Connection, OptionalExtension, Row, params};

use super::{enum_from_str, opt_ts, ts};
use crate::cells::{
    CellPart, CellQuery, Cells, Dim, Grain, LeadScoreKey, OfferKey, QueueEpisode, ReasonKey,
    ScoreKey,
};
use crate::error::{Error, Result};
use crate::store::{AssignmentFact, rollup_tables};

/// An offer with what report grouping needs; `WHERE` clauses are appended.
pub(super) const FACT_SELECT: &str = "SELECT a.rep_id, r.name, COALESCE(a.channel, ''), \
     COALESCE(a.score, 0), a.outcome, a.assigned_at, a.ended_at, d.reason, a.team, a.campaign \
     FROM assignments a JOIN reps r ON r.id = a.rep_id \
     LEFT JOIN decisions d ON d.assignment_id = a.id";

pub(super) fn fact_from_row(r: &Row<'_>) -> rusqlite::Result<AssignmentFact> {
    Ok(AssignmentFact {
        rep_id: r.get(0)?,
        rep_name: r.get(1)?,
        channel: r.get(2)?,
        score: r.get(3)?,
        outcome: enum_from_str(r.get(4)?)?,
        assigned_at: ts(r.get(5)?),
        ended_at: opt_ts(r.get(6)?),
        reason: r.get(7)?,
        team: r.get(8)?,
        campaign: r.get::<_, Option<String>>(9)?.filter(|c| !c.is_empty()),
    })
}

pub(super) fn fact_of_assignment(conn: &Connection, id: i64) -> Result<Option<AssignmentFact>> {
    let mut stmt = conn.prepare_cached(&format!("{FACT_SELECT} WHERE a.id = ?1"))?;
    Ok(stmt.query_row([id], fact_from_row).optional()?)
}

/// Adds `cells`' counts to the `grain` rollups, and stores the speed
/// sketches in `speeds` (already merged with what was stored) over the old.
pub(super) fn add(
    conn: &Connection,
    grain: Grain,
    cells: &Cells,
    speeds: &HashMap<OfferKey, Vec<u8>>,
) -> Result<()> {
    let t = rollup_tables(grain);
    for (k, c) in &cells.offers {
        let mut stmt = conn.prepare_cached(&format!(
            "INSERT INTO {} (day, team, dim, key, assigned, accepted, rejected, sla_expired, speed) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, COALESCE(?9, x'')) \
             ON CONFLICT (day, team, dim, key) DO UPDATE SET \
             assigned = assigned + excluded.assigned, accepted = accepted + excluded.accepted, \
             rejected = rejected + excluded.rejected, sla_expired = sla_expired + excluded.sla_expired, \
             speed = COALESCE(?9, speed)",
            t.offers
        ))?;
        stmt.execute(params![
            k.day,
            k.team,
            k.dim.as_str(),
            k.key,
            c.assigned as i64,
            c.accepted as i64,
            c.rejected as i64,
            c.sla_expired as i64,
            speeds.get(k)
        ])?;
    }
    for (k, &n) in &cells.reasons {
        let mut stmt = conn.prepare_cached(&format!(
            "INSERT INTO {} (day, team, dim, key, reason, rejections) VALUES (?1, ?2, ?3, ?4, ?5, ?6) \
             ON CONFLICT (day, team, dim, key, reason) DO UPDATE SET rejections = rejections + excluded.rejections",
            t.reasons
        ))?;
        stmt.execute(params![
            k.day,
            k.team,
            k.dim.as_str(),
            k.key,
            k.reason,
            n as i64
        ])?;
    }
    for (k, &(a, r)) in &cells.scores {
        let mut stmt = conn.prepare_cached(&format!(
            "INSERT INTO {} (day, team, channel, score, accepted, rejected) VALUES (?1, ?2, ?3, ?4, ?5, ?6) \
             ON CONFLICT (day, team, channel, score) DO UPDATE SET \
             accepted = accepted + excluded.accepted, rejected = rejected + excluded.rejected",
            t.scores
        ))?;
        stmt.execute(params![
            k.day, k.team, k.channel, k.score, a as i64, r as i64
        ])?;
    }
    for (k, &n) in &cells.lead_scores {
        add_lead_score(conn, grain, k, n as i64)?;
    }
    Ok(())
}

/// The speed sketch stored for an offer cell, if the cell exists.
pub(super) fn speed(conn: &Connection, grain: Grain, k: &OfferKey) -> Result<Option<Vec<u8>>> {
    let mut read = conn.prepare_cached(&format!(
        "SELECT speed FROM {} WHERE day = ?1 AND team = ?2 AND dim = ?3 AND key = ?4",
        rollup_tables(grain).offers
    ))?;
    Ok(read
        .query_row(params![k.day, k.team, k.dim.as_str(), k.key], |r| r.get(0))
        .optional()?)
}

/// Empties every rollup table (before they are filled again).
pub(super) fn clear(conn: &Connection) -> Result<()> {
    for grain in [Grain::Day, Grain::Month] {
        let t = rollup_tables(grain);
        for table in [t.offers, t.reasons, t.scores, t.lead_scores] {
            conn.execute(&format!("DELETE FROM {table}"), [])?;
        }
    }
    Ok(())
}

fn unreadable(table: &str) -> Error {
    Error::Storage(format!(
        "a report rollup in {table} is unreadable; run `baton-server rebuild-reports`"
    ))
}

/// `delta` leads more (or fewer) at a score in the `grain` rollup.
pub(super) fn add_lead_score(
    conn: &Connection,
    grain: Grain,
    k: &LeadScoreKey,
    delta: i64,
) -> Result<()> {
    let mut stmt = conn.prepare_cached(&format!(
        "INSERT INTO {} (day, team, score, leads) VALUES (?1, ?2, ?3, ?4) \
         ON CONFLICT (day, team, score) DO UPDATE SET leads = leads + excluded.leads",
        rollup_tables(grain).lead_scores
    ))?;
    stmt.execute(params![k.day, k.team, k.score, delta])?;
    Ok(())
}

/// What `q` asks of the rollups (of one team's offers and leads, if given).
/// Apart from the daily trend, rows are summed over the range: by SQLite
/// where they are plain counts, here where they carry speed sketches.
pub(super) fn read(conn: &Connection, q: &CellQuery, team: Option<&str>) -> Result<Cells> {
    let t = rollup_tables(q.grain);
    let mut cells = Cells::default();
    let range = params![q.first_day, q.end_day, team];
    match q.part {
        CellPart::Trend | CellPart::Groups => {
            let (dims, keep_day) = crate::store::offer_dims(q.part);
            let mut stmt = conn.prepare_cached(&format!(
                "SELECT day, team, dim, key, assigned, accepted, rejected, sla_expired, speed FROM {} \
                 WHERE day >= ?1 AND day < ?2 AND (?3 IS NULL OR team = ?3) AND {dims}",
                t.offers
            ))?;
            let mut rows = stmt.query(range)?;
            while let Some(r) = rows.next()? {
                let dim: String = r.get(2)?;
                let key = OfferKey {
                    day: if keep_day { r.get(0)? } else { q.first_day },
                    team: r.get(1)?,
                    dim: Dim::parse(&dim).ok_or_else(|| unreadable(t.offers))?,
                    key: r.get(3)?,
                };
                let c = cells.offers.entry(key).or_default();
                c.assigned += r.get::<_, i64>(4)? as u64;
                c.accepted += r.get::<_, i64>(5)? as u64;
                c.rejected += r.get::<_, i64>(6)? as u64;
                c.sla_expired += r.get::<_, i64>(7)? as u64;
                let speed = r.get_ref(8)?.as_blob().map_err(|_| unreadable(t.offers))?;
                c.add_speed(speed).ok_or_else(|| unreadable(t.offers))?;
            }
            if q.part == CellPart::Trend {
                return Ok(cells);
            }
            let mut stmt = conn.prepare_cached(&format!(
                "SELECT team, dim, key, reason, SUM(rejections) FROM {} \
                 WHERE day >= ?1 AND day < ?2 AND (?3 IS NULL OR team = ?3) \
                 GROUP BY team, dim, key, reason",
                t.reasons
            ))?;
            let mut rows = stmt.query(range)?;
            while let Some(r) = rows.next()? {
                let dim: String = r.get(1)?;
                let key = ReasonKey {
                    day: q.first_day,
                    team: r.get(0)?,
                    dim: Dim::parse(&dim).ok_or_else(|| unreadable(t.reasons))?,
                    key: r.get(2)?,
                    reason: r.get(3)?,
                };
                *cells.reasons.entry(key).or_default() += r.get::<_, i64>(4)? as u64;
            }
        }
        CellPart::Calibration => {
            let mut stmt = conn.prepare_cached(&format!(
                "SELECT team, channel, score, SUM(accepted), SUM(rejected) FROM {} \
                 WHERE day >= ?1 AND day < ?2 AND (?3 IS NULL OR team = ?3) \
                 GROUP BY team, channel, score",
                t.scores
            ))?;
            let mut rows = stmt.query(range)?;
            while let Some(r) = rows.next()? {
                let key = ScoreKey {
                    day: q.first_day,
                    team: r.get(0)?,
                    channel: r.get(1)?,
                    score: r.get(2)?,
                };
                let e = cells.scores.entry(key).or_default();
                e.0 += r.get::<_, i64>(3)? as u64;
                e.1 += r.get::<_, i64>(4)? as u64;
            }
            let mut stmt = conn.prepare_cached(&format!(
                "SELECT team, score, SUM(leads) FROM {} \
                 WHERE day >= ?1 AND day < ?2 AND (?3 IS NULL OR team = ?3) \
                 GROUP BY team, score",
                t.lead_scores
            ))?;
            let mut rows = stmt.query(range)?;
            while let Some(r) = rows.next()? {
                let n = r.get::<_, i64>(2)?;
                if n > 0 {
                    let key = LeadScoreKey {
                        day: q.first_day,
                        team: r.get(0)?,
                        score: r.get(1)?,
                    };
                    *cells.lead_scores.entry(key).or_default() += n as u64;
                }
            }
        }
    }
    Ok(cells)
}

/// Queue stays that began in `[from, to)`.
pub(super) fn queue_episodes(
    conn: &Connection,
    from: Timestamp,
    to: Timestamp,
    team: Option<&str>,
) -> Result<Vec<QueueEpisode>> {
    let mut stmt = conn.prepare_cached(
        "SELECT team, queued_at, left_at, outcome FROM queue_waits \
         WHERE queued_at >= ?1 AND queued_at < ?2 AND (?3 IS NULL OR team = ?3)",
    )?;
    let rows = stmt
        .query_map(params![from.millis(), to.millis(), team], |r| {
            Ok(QueueEpisode {
                team: r.get(0)?,
                queued_at: ts(r.get(1)?),
                left_at: opt_ts(r.get(2)?),
                assigned: r.get::<_, Option<String>>(3)?.as_deref() == Some("assigned"),
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}
