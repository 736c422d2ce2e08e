//! Past handoff activity, replayed through the real routing code at the
//! times it would have happened: the demo's review has weeks to show, the
//! report tests have whole days in the rollups, and the report benchmark
//! has a year.
//!
//! Each simulated day is one write transaction. Within it, arrivals,
//! decisions and SLA take-backs run in time order, exactly as the live
//! server would run them (intake, `record_feedback`, `expire_overdue`).

use std::collections::BinaryHeap;
use std::sync::Arc;

use baton_protocol::{DecisionKind, FeedbackRequest, LeadId, RepId, Timestamp};

use crate::config::Config;
use crate::demo::{self, Rng};
use crate::error::Result;
use crate::report::DAY_MS;
use crate::routing;
use crate::store::{Db, WriteTx};

/// What to replay: `days` whole UTC days ending at the start of `end_day`.
#[derive(Clone, Debug)]
pub struct HistorySpec {
    pub days: u32,
    pub leads_per_day: u32,
    pub seed: u64,
    /// The first day after the history (days since 1970-01-01, UTC).
    pub end_day: i64,
}

/// What the replay did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HistorySummary {
    pub leads: u64,
    pub offers: u64,
    pub decisions: u64,
    pub sla_expired: u64,
}

#[derive(PartialEq, Eq, PartialOrd, Ord)]
struct Due {
    /// Reversed so the heap pops the earliest first.
    at: std::cmp::Reverse<i64>,
    assignment: i64,
    lead: LeadId,
    rep: RepId,
}

struct State {
    rng: Rng,
    next_lead: u64,
    decisions: BinaryHeap<Due>,
    /// The newest offer a decision (or silence) was drawn for.
    last_offer: i64,
    summary: HistorySummary,
}

/// Replays `spec` into `db`. Reps must exist; the history's leads get
/// external ids `hist-<seed>-<n>` so a replay never collides with live leads.
pub async fn replay(db: &Db, cfg: Arc<Config>, spec: HistorySpec) -> Result<HistorySummary> {
    let mut state = State {
        rng: Rng::new(spec.seed),
        next_lead: 0,
        decisions: BinaryHeap::new(),
        last_offer: 0,
        summary: HistorySummary::default(),
    };
    // Offers already in the database are not the replay's to decide.
    state.last_offer = db
        .read(|tx| {
            let mut last = 0;
            while let Some(a) = tx.offers_after(last, 10_000)?.last() {
                last = a.id;
            }
            Ok(last)
        })
        .await?;
    let first = spec.end_day - i64::from(spec.days);
    for day in first..spec.end_day {
        let cfg = cfg.clone();
        let spec = spec.clone();
        state = db
            .write(move |tx| {
                replay_day(tx, &cfg, &spec, day, &mut state)?;
                Ok(state)
            })
            .await?;
    }
    // Let every offer still open end (decided or taken back) so that no
    // past offer is left for the live server's SLA sweep.
    let cfg2 = cfg.clone();
    state = db
        .write(move |tx| {
            let mut now = spec.end_day * DAY_MS;
            loop {
                run_until(tx, &cfg2, now, &mut state)?;
                if state.decisions.is_empty() {
                    let Some(due) = tx.next_sla_due()? else { break };
                    now = now.max(due.millis());
                    drop_reminders(tx, Timestamp(now))?;
                    routing::expire_overdue(tx, &cfg2, Timestamp(now))?;
                    draw_decisions(tx, Timestamp(now), &mut state)?;
                } else {
                    now += 60_000;
                }
            }
            Ok(state)
        })
        .await?;
    Ok(state.summary)
}

fn replay_day(
    tx: &mut dyn WriteTx,
    cfg: &Config,
    spec: &HistorySpec,
    day: i64,
    state: &mut State,
) -> Result<()> {
    // Arrivals spread over the working day (07:00-19:00 UTC), in order.
    let mut arrivals: Vec<i64> = (0..spec.leads_per_day)
        .map(|_| day * DAY_MS + 7 * 3_600_000 + (state.rng.next_u64() % (12 * 3_600_000)) as i64)
        .collect();
    arrivals.sort_unstable();
    for at in arrivals {
        run_until(tx, cfg, at, state)?;
        let n = state.next_lead;
        state.next_lead += 1;
        let mut intake = demo::lead(&mut state.rng, n, Timestamp(at));
        intake.external_id = format!("hist-{}-{n}", spec.seed);
        routing::intake(tx, cfg, intake, demo::SOURCE, Timestamp(at))?;
        state.summary.leads += 1;
        draw_decisions(tx, Timestamp(at), state)?;
    }
    run_until(tx, cfg, (day + 1) * DAY_MS, state)
}

/// Runs the decisions and SLA take-backs due before `until`, in time order.
fn run_until(tx: &mut dyn WriteTx, cfg: &Config, until: i64, state: &mut State) -> Result<()> {
    loop {
        let next_decision = state.decisions.peek().map(|d| d.at.0);
        let next_sla = tx.next_sla_due()?.map(Timestamp::millis);
        let next = match (next_decision, next_sla) {
            (Some(d), Some(s)) => d.min(s),
            (Some(d), None) => d,
            (None, Some(s)) => s,
            (None, None) => return Ok(()),
        };
        if next >= until {
            return Ok(());
        }
        if next_sla == Some(next) {
            // The SLA clock's next moment may be a reminder's.
            drop_reminders(tx, Timestamp(next))?;
            state.summary.sla_expired +=
                u64::from(routing::expire_overdue(tx, cfg, Timestamp(next))?);
        } else if let Some(d) = state.decisions.pop() {
            decide(tx, cfg, &d, state)?;
        }
        draw_decisions(tx, Timestamp(next), state)?;
    }
}

/// Past offers' reminders are due as the replay's clock passes them, but
/// are not sent: they would only tell reps' apps of offers long over.
fn drop_reminders(tx: &mut dyn WriteTx, now: Timestamp) -> Result<()> {
    for a in tx.due_reminders(now, 500)? {
        tx.clear_reminder(a.id)?;
    }
    Ok(())
}

/// Draws how each new offer will end: decided after a while, or never
/// (left to the SLA).
fn draw_decisions(tx: &mut dyn WriteTx, now: Timestamp, state: &mut State) -> Result<()> {
    for a in tx.offers_after(state.last_offer, 10_000)? {
        state.last_offer = a.id;
        state.summary.offers += 1;
        let rng = &mut state.rng;
        // Most reps answer within minutes; some take an hour; a few never do.
        let mean_secs = match rng.below(100) {
            0..=44 => 90.0,
            45..=84 => 900.0,
            85..=95 => 3000.0,
            _ => continue,
        };
        let u = (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
        let secs = -mean_secs * (1.0 - u).ln() + 2.0;
        state.decisions.push(Due {
            at: std::cmp::Reverse(
                now.millis().max(a.assigned_at.millis()) + (secs * 1000.0) as i64,
            ),
            assignment: a.id,
            lead: a.lead_id,
            rep: a.rep_id,
        });
    }
    Ok(())
}

fn decide(tx: &mut dyn WriteTx, cfg: &Config, d: &Due, state: &mut State) -> Result<()> {
    let Some(lead) = tx.lead(d.lead)? else {
        return Ok(());
    };
    if lead.current_assignment != Some(d.assignment) {
        return Ok(()); // taken back at the SLA first
    }
    let score = lead.intake.score.value;
    let channel = lead.intake.source.channel.clone();
    let rng = &mut state.rng;
    // Sales accepts high scores more often, and paid search less.
    let mut accept_pct = 35 + (score.saturating_sub(50) as u64);
    if channel == "paid_search" {
        accept_pct = accept_pct.saturating_sub(25);
    }
    let req = if rng.chance(accept_pct.min(95)) {
        FeedbackRequest {
            decision: DecisionKind::Accept,
            reason: None,
            note: None,
        }
    } else {
        let reason = rng.pick(&cfg.reasons);
        FeedbackRequest {
            decision: DecisionKind::Reject,
            reason: Some(reason.code.clone()),
            note: reason
                .note_required
                .then(|| "Duplicate of a lead already in the CRM".to_string()),
        }
    };
    let at = Timestamp(d.at.0);
    let answer = routing::record_feedback(
        tx,
        cfg,
        d.rep,
        d.lead,
        &req,
        &format!("hist-{}", d.assignment),
        at,
    )?;
    if answer.status == 200 {
        state.summary.decisions += 1;
    }
    Ok(())
}
