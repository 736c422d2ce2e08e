//! The SQLite side of the report rollups (migration 0002): writing the cells
//! an offer, decision or lead adds, reading a period's cells, and filling
//! the rollups from the rows themselves when the migration runs.

use baton_protocol::{AssignmentOutcome, Timestamp};
use rusqlite::{Connection, OptionalExtension, Row, params};

use super::AssignmentFact;
use crate::error::{Error, Result};
use crate::report::{
    Cells, Counts, Dim, LeadScoreKey, OfferKey, QueueEpisode, ReasonKey, ScoreKey, day_of,
};

/// An offer with what report grouping needs; `WHERE` clauses are appended.
pub(super) const FACT_SELECT: &str = "SELECT a.rep_id, r.name, COALESCE(a.channel, ''), \
     COALESCE(a.score, 0), a.outcome, a.assigned_at, a.ended_at, d.reason, a.team, a.campaign \
     FROM assignments a JOIN reps r ON r.id = a.rep_id \
     LEFT JOIN decisions d ON d.assignment_id = a.id";

pub(super) fn fact_from_row(r: &Row<'_>) -> rusqlite::Result<AssignmentFact> {
    let outcome: String = r.get(4)?;
    Ok(AssignmentFact {
        rep_id: r.get(0)?,
        rep_name: r.get(1)?,
        channel: r.get(2)?,
        score: r.get(3)?,
        outcome: serde_json::from_value(serde_json::Value::String(outcome)).map_err(|e| {
            rusqlite::Error::FromSqlConversionFailure(4, rusqlite::types::Type::Text, Box::new(e))
        })?,
        assigned_at: Timestamp::from_millis(r.get(5)?),
        ended_at: r.get::<_, Option<i64>>(6)?.map(Timestamp::from_millis),
        reason: r.get(7)?,
        team: r.get(8)?,
        campaign: r.get::<_, Option<String>>(9)?.filter(|c| !c.is_empty()),
    })
}

pub(super) fn fact_of_assignment(conn: &Connection, id: i64) -> Result<AssignmentFact> {
    let mut stmt = conn.prepare_cached(&format!("{FACT_SELECT} WHERE a.id = ?1"))?;
    stmt.query_row([id], fact_from_row)
        .optional()?
        .ok_or_else(|| Error::Internal(format!("assignment {id} is not readable for reports")))
}

/// Adds `cells` to the stored rollups.
pub(super) fn apply(conn: &Connection, cells: &Cells) -> Result<()> {
    for (k, c) in &cells.offers {
        // The speed part is a blob: merge it in Rust when this delta has one.
        let speed = if c.has_speed() {
            let mut stored = Counts::default();
            let mut read = conn.prepare_cached(
                "SELECT speed FROM report_offers WHERE day = ?1 AND team = ?2 AND dim = ?3 AND key = ?4",
            )?;
            let old: Option<Vec<u8>> = read
                .query_row(params![k.day, k.team, k.dim.as_str(), k.key], |r| r.get(0))
                .optional()?;
            if let Some(old) = old {
                stored.decode_speed(&old).ok_or_else(|| {
                    Error::Storage(format!(
                        "report rollup ({}, {}, {}) is unreadable; run `baton-server rebuild-reports`",
                        k.day,
                        k.dim.as_str(),
                        k.key
                    ))
                })?;
            }
            stored.merge(c);
            Some(stored.encode_speed())
        } else {
            None
        };
        let mut stmt = conn.prepare_cached(
            "INSERT INTO report_offers (day, team, dim, key, assigned, accepted, rejected, sla_expired, speed) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, COALESCE(?9, x'')) \
             ON CONFLICT (day, team, dim, key) DO UPDATE SET \
             assigned = assigned + excluded.assigned, accepted = accepted + excluded.accepted, \
             rejected = rejected + excluded.rejected, sla_expired = sla_expired + excluded.sla_expired, \
             speed = COALESCE(?9, speed)",
        )?;
        stmt.execute(params![
            k.day,
            k.team,
            k.dim.as_str(),
            k.key,
            c.assigned as i64,
            c.accepted as i64,
            c.rejected as i64,
            c.sla_expired as i64,
            speed
        ])?;
    }
    for (k, &n) in &cells.reasons {
        let mut stmt = conn.prepare_cached(
            "INSERT INTO report_reasons (day, team, dim, key, reason, rejections) VALUES (?1, ?2, ?3, ?4, ?5, ?6) \
             ON CONFLICT (day, team, dim, key, reason) DO UPDATE SET rejections = rejections + excluded.rejections",
        )?;
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
        let mut stmt = conn.prepare_cached(
            "INSERT INTO report_scores (day, team, channel, score, accepted, rejected) VALUES (?1, ?2, ?3, ?4, ?5, ?6) \
             ON CONFLICT (day, team, channel, score) DO UPDATE SET \
             accepted = accepted + excluded.accepted, rejected = rejected + excluded.rejected",
        )?;
        stmt.execute(params![
            k.day, k.team, k.channel, k.score, a as i64, r as i64
        ])?;
    }
    for (k, &n) in &cells.lead_scores {
        add_lead_score(conn, k, n as i64)?;
    }
    Ok(())
}

/// One lead more (or, with a negative `delta`, fewer) at a score.
pub(super) fn add_lead_score(conn: &Connection, k: &LeadScoreKey, delta: i64) -> Result<()> {
    let mut stmt = conn.prepare_cached(
        "INSERT INTO report_lead_scores (day, team, score, leads) VALUES (?1, ?2, ?3, ?4) \
         ON CONFLICT (day, team, score) DO UPDATE SET leads = leads + excluded.leads",
    )?;
    stmt.execute(params![k.day, k.team, k.score, delta])?;
    Ok(())
}

/// The rollups of whole days `[first, end)` (of one team's offers, if given).
pub(super) fn read(conn: &Connection, first: i64, end: i64, team: Option<&str>) -> Result<Cells> {
    let mut cells = Cells::default();
    let bad = |what: &str| {
        Error::Storage(format!(
            "a {what} report rollup is unreadable; run `baton-server rebuild-reports`"
        ))
    };
    let mut stmt = conn.prepare_cached(
        "SELECT day, team, dim, key, assigned, accepted, rejected, sla_expired, speed FROM report_offers \
         WHERE day >= ?1 AND day < ?2 AND (?3 IS NULL OR team = ?3)",
    )?;
    let mut rows = stmt.query(params![first, end, team])?;
    while let Some(r) = rows.next()? {
        let dim: String = r.get(2)?;
        let mut c = Counts {
            assigned: r.get::<_, i64>(4)? as u64,
            accepted: r.get::<_, i64>(5)? as u64,
            rejected: r.get::<_, i64>(6)? as u64,
            sla_expired: r.get::<_, i64>(7)? as u64,
            ..Default::default()
        };
        let speed = r.get_ref(8)?.as_blob().map_err(|_| bad("speed"))?;
        c.decode_speed(speed).ok_or_else(|| bad("speed"))?;
        let key = OfferKey {
            day: r.get(0)?,
            team: r.get(1)?,
            dim: Dim::parse(&dim).ok_or_else(|| bad("grouping"))?,
            key: r.get(3)?,
        };
        cells.offers.entry(key).or_default().merge(&c);
    }
    let mut stmt = conn.prepare_cached(
        "SELECT day, team, dim, key, reason, rejections FROM report_reasons \
         WHERE day >= ?1 AND day < ?2 AND (?3 IS NULL OR team = ?3)",
    )?;
    let mut rows = stmt.query(params![first, end, team])?;
    while let Some(r) = rows.next()? {
        let dim: String = r.get(2)?;
        let key = ReasonKey {
            day: r.get(0)?,
            team: r.get(1)?,
            dim: Dim::parse(&dim).ok_or_else(|| bad("reason"))?,
            key: r.get(3)?,
            reason: r.get(4)?,
        };
        *cells.reasons.entry(key).or_default() += r.get::<_, i64>(5)? as u64;
    }
    let mut stmt = conn.prepare_cached(
        "SELECT day, team, channel, score, accepted, rejected FROM report_scores \
         WHERE day >= ?1 AND day < ?2 AND (?3 IS NULL OR team = ?3)",
    )?;
    let mut rows = stmt.query(params![first, end, team])?;
    while let Some(r) = rows.next()? {
        let key = ScoreKey {
            day: r.get(0)?,
            team: r.get(1)?,
            channel: r.get(2)?,
            score: r.get(3)?,
        };
        let e = cells.scores.entry(key).or_default();
        e.0 += r.get::<_, i64>(4)? as u64;
        e.1 += r.get::<_, i64>(5)? as u64;
    }
    let mut stmt = conn.prepare_cached(
        "SELECT day, team, score, leads FROM report_lead_scores \
         WHERE day >= ?1 AND day < ?2 AND (?3 IS NULL OR team = ?3) AND leads > 0",
    )?;
    let mut rows = stmt.query(params![first, end, team])?;
    while let Some(r) = rows.next()? {
        let key = LeadScoreKey {
            day: r.get(0)?,
            team: r.get(1)?,
            score: r.get(2)?,
        };
        *cells.lead_scores.entry(key).or_default() += r.get::<_, i64>(3)? as u64;
    }
    Ok(cells)
}

/// Refills every rollup from the offers, decisions and leads themselves:
/// when migration 0002 runs, and on `baton-server rebuild-reports`.
pub(super) fn rebuild(conn: &Connection) -> Result<()> {
    conn.execute_batch(
        "DELETE FROM report_offers; DELETE FROM report_reasons; \
         DELETE FROM report_scores; DELETE FROM report_lead_scores;",
    )?;
    let mut cells = Cells::default();
    {
        let mut stmt = conn.prepare(FACT_SELECT)?;
        let mut rows = stmt.query([])?;
        while let Some(r) = rows.next()? {
            cells.add_fact(&fact_from_row(r)?);
        }
        let mut stmt = conn.prepare("SELECT created_at, team, score FROM leads")?;
        let mut rows = stmt.query([])?;
        while let Some(r) = rows.next()? {
            let team: Option<String> = r.get(1)?;
            cells.add_lead(
                day_of(Timestamp::from_millis(r.get(0)?)),
                team.as_deref(),
                r.get(2)?,
                1,
            );
        }
    }
    apply(conn, &cells)
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
                queued_at: Timestamp::from_millis(r.get(1)?),
                left_at: r.get::<_, Option<i64>>(2)?.map(Timestamp::from_millis),
                assigned: r.get::<_, Option<String>>(3)?.as_deref() == Some("assigned"),
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}

/// Whether an ended offer's outcome is counted when it ends (an SLA
/// take-back) rather than with its decision row (accept, reject).
pub(super) fn counted_on_end(outcome: AssignmentOutcome) -> bool {
    outcome == AssignmentOutcome::SlaExpired
}
