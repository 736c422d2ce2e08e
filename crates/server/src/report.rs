//! The handoff report: offers grouped by rep, source, campaign, score band,
//! team and day, with rejection reasons and speed-to-lead.
//!
//! A year of offers is too many to read per request, so per-UTC-day rollups
//! ([`Cells`]) are kept up to date in the same transaction as each offer and
//! decision (`crate::bookkeeping`), and a report reads the whole days of its period from
//! them and only the partial days at its edges from the offers themselves
//! ([`Plan`]). Both arrive here as [`Cells`]: the figures are a pure function
//! of them, so they can be checked against independently computed answers.
//!
//! Quantiles (median, p90) come from mergeable log-bucket histograms
//! ([`Sketch`]) and are within [`RELATIVE_ERROR`] of the exact order
//! statistic; counts and the "within 5 minutes / 1 hour" shares are exact.

use std::collections::BTreeMap;

use baton_protocol::{
    DailyRow, FairnessRow, HandoffReport, QueueWaitRow, ReasonRow, ReasonSplit, Rep, ReportRow,
    Timestamp,
};

pub use crate::cells::*;
use crate::config::Config;
use crate::error::Result;
use crate::store::ReadTx;

/// How a report period splits: whole calendar months and whole days read
/// from the rollups, and the partial days at either edge read from the
/// offers themselves. A year is a dozen monthly rows per group, not 365
/// daily ones.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Plan {
    /// All whole days `[first, end)`, if any (the trend reads these daily).
    pub whole_days: Option<(i64, i64)>,
    /// Whole months `[first, end)` within them, if any.
    pub months: Option<(i64, i64)>,
    /// Whole days outside those months.
    pub days: Vec<(i64, i64)>,
    pub edges: Vec<(Timestamp, Timestamp)>,
}

impl Plan {
    pub fn of(from: Timestamp, to: Timestamp) -> Plan {
        let first = (from.millis() + DAY_MS - 1).div_euclid(DAY_MS);
        let end = to.millis().div_euclid(DAY_MS);
        if first >= end {
            return Plan {
                whole_days: None,
                months: None,
                days: Vec::new(),
                edges: vec![(from, to)],
            };
        }
        let mut edges = Vec::new();
        if from.millis() < first * DAY_MS {
            edges.push((from, Timestamp(first * DAY_MS)));
        }
        if end * DAY_MS < to.millis() {
            edges.push((Timestamp(end * DAY_MS), to));
        }
        let m0 = if month_start(first) == first {
            first
        } else {
            next_month_start(first)
        };
        let m1 = month_start(end);
        let (months, days) = if m0 < m1 {
            let days = [(first, m0), (m1, end)]
                .into_iter()
                .filter(|(a, b)| a < b)
                .collect();
            (Some((m0, m1)), days)
        } else {
            (None, vec![(first, end)])
        };
        Plan {
            whole_days: Some((first, end)),
            months,
            days,
            edges,
        }
    }

    /// The rollup reads of this plan that `parts` need.
    pub fn queries(&self, parts: &[CellPart]) -> Vec<CellQuery> {
        let mut out = Vec::new();
        for &part in parts {
            if part == CellPart::Trend {
                if let Some((first_day, end_day)) = self.whole_days {
                    out.push(CellQuery {
                        grain: Grain::Day,
                        first_day,
                        end_day,
                        part,
                    });
                }
                continue;
            }
            if let Some((first_day, end_day)) = self.months {
                out.push(CellQuery {
                    grain: Grain::Month,
                    first_day,
                    end_day,
                    part,
                });
            }
            for &(first_day, end_day) in &self.days {
                out.push(CellQuery {
                    grain: Grain::Day,
                    first_day,
                    end_day,
                    part,
                });
            }
        }
        out
    }
}

/// The cells of `[from, to)` that `parts` need: whole months and days from
/// the rollups, partial days at the edges from the offers and leads
/// themselves.
pub fn period_cells(
    tx: &dyn ReadTx,
    from: Timestamp,
    to: Timestamp,
    team: Option<&str>,
    parts: &[CellPart],
) -> Result<Cells> {
    let plan = Plan::of(from, to);
    let mut cells = Cells::default();
    for q in plan.queries(parts) {
        cells.merge(tx.report_cells(&q, team)?);
    }
    for (a, b) in plan.edges {
        let mut edge = Cells::default();
        for f in tx.assignment_facts(a, b, team)? {
            edge.add_fact(&f);
        }
        // With a team asked for, lead_scores holds that team's leads only.
        for score in tx.lead_scores(a, b, team)? {
            edge.add_lead(day_of(a), team, score, 1);
        }
        cells.merge(edge);
    }
    Ok(cells)
}

// ---------------------------------------------------------------------------
// The report.

#[derive(Default)]
struct Tally {
    label: String,
    counts: Counts,
}

impl Tally {
    fn row(self, key: String) -> ReportRow {
        let c = self.counts;
        let decided = c.accepted + c.rejected;
        let timed: u64 = c.histogram.iter().sum();
        let within = |buckets: usize| {
            (timed > 0).then(|| c.histogram[..buckets].iter().sum::<u64>() as f64 / timed as f64)
        };
        ReportRow {
            key,
            label: self.label,
            assigned: c.assigned,
            accepted: c.accepted,
            rejected: c.rejected,
            acceptance_rate: (decided > 0).then(|| c.accepted as f64 / decided as f64),
            median_seconds_to_accept: c.accept.quantile(0.5),
            p90_seconds_to_accept: c.accept.quantile(0.9),
            sla_breaches: c.sla_expired,
            median_seconds_to_decision: c.decide.quantile(0.5),
            p90_seconds_to_decision: c.decide.quantile(0.9),
            // DECISION_BUCKETS: 60, 300 → within 5 min; …, 900, 3600 → within 1 h.
            decided_within_5_min: within(2),
            decided_within_1_hour: within(4),
            decision_time_histogram: c.histogram.to_vec(),
        }
    }
}

fn rows(groups: BTreeMap<String, Tally>) -> Vec<ReportRow> {
    groups.into_iter().map(|(k, t)| t.row(k)).collect()
}

fn trend(groups: BTreeMap<i64, Tally>) -> Vec<DailyRow> {
    groups
        .into_iter()
        .map(|(day, t)| {
            let r = t.row(String::new());
            DailyRow {
                day: day_label(day),
                assigned: r.assigned,
                accepted: r.accepted,
                rejected: r.rejected,
                acceptance_rate: r.acceptance_rate,
                median_seconds_to_decision: r.median_seconds_to_decision,
                p90_seconds_to_decision: r.p90_seconds_to_decision,
                decided_within_1_hour: r.decided_within_1_hour,
            }
        })
        .collect()
}

/// The handoff report of `[from, to)` from its cells. `reps` are every rep
/// (for names); fairness lists those of `team` (all when `None`). The
/// feedback log and queue waits are added by the caller.
pub fn aggregate(
    cfg: &Config,
    cells: &Cells,
    reps: &[Rep],
    team: Option<&str>,
    from: Timestamp,
    to: Timestamp,
) -> HandoffReport {
    let rep_name = |key: &str| {
        key.parse::<i64>()
            .ok()
            .and_then(|id| reps.iter().find(|r| r.id == id))
            .map(|r| r.name.clone())
            .unwrap_or_else(|| format!("rep {key}"))
    };
    let mut totals = Tally {
        label: "All assignments".into(),
        ..Default::default()
    };
    let mut by_team: BTreeMap<String, Tally> = BTreeMap::new();
    let mut days: BTreeMap<i64, Tally> = BTreeMap::new();
    let mut weeks: BTreeMap<i64, Tally> = BTreeMap::new();
    let mut groups: BTreeMap<(Dim, String), Counts> = BTreeMap::new();
    for (k, c) in &cells.offers {
        if k.dim == Dim::All {
            totals.counts.merge(c);
            by_team.entry(k.team.clone()).or_default().counts.merge(c);
            days.entry(k.day).or_default().counts.merge(c);
            weeks.entry(monday_of(k.day)).or_default().counts.merge(c);
        } else {
            groups.entry((k.dim, k.key.clone())).or_default().merge(c);
        }
    }
    for (name, t) in by_team.iter_mut() {
        t.label.clone_from(name);
    }
    let mut by_rep = BTreeMap::new();
    let mut by_source = BTreeMap::new();
    let mut by_campaign = BTreeMap::new();
    let mut by_band = BTreeMap::new();
    for ((dim, key), counts) in groups {
        let (map, label) = match dim {
            Dim::Rep => (&mut by_rep, rep_name(&key)),
            Dim::Source => (&mut by_source, key.clone()),
            Dim::Campaign if key.is_empty() => (&mut by_campaign, "No campaign".to_string()),
            Dim::Campaign => (&mut by_campaign, key.clone()),
            Dim::Band => (&mut by_band, key.clone()),
            Dim::All => continue,
        };
        map.insert(key, Tally { label, counts });
    }

    // (group key, reason) → rejections
    let mut rep_reasons: BTreeMap<(String, String), u64> = BTreeMap::new();
    let mut source_reasons: BTreeMap<(String, String), u64> = BTreeMap::new();
    for (k, &n) in &cells.reasons {
        let m = match k.dim {
            Dim::Rep => &mut rep_reasons,
            Dim::Source => &mut source_reasons,
            _ => continue,
        };
        *m.entry((k.key.clone(), k.reason.clone())).or_default() += n;
    }
    let reason_label = |code: &str| {
        cfg.reason(code)
            .map(|r| r.label.clone())
            .unwrap_or_else(|| code.to_string())
    };
    let mut reasons: BTreeMap<&str, u64> = BTreeMap::new();
    // Offers that went on to another rep: SLA take-backs and rejections
    // with a reason that routes on.
    let mut rerouted: BTreeMap<&str, u64> = BTreeMap::new();
    for ((rep, code), &n) in &rep_reasons {
        *reasons.entry(code.as_str()).or_default() += n;
        if cfg.reason(code).is_some_and(|r| r.routes_on) {
            *rerouted.entry(rep.as_str()).or_default() += n;
        }
    }
    let splits = |m: &BTreeMap<(String, String), u64>, label: &dyn Fn(&str) -> String| {
        m.iter()
            .map(|((key, code), &n)| ReasonSplit {
                key: key.clone(),
                label: label(key),
                reason_label: reason_label(code),
                code: code.clone(),
                rejections: n,
            })
            .collect::<Vec<_>>()
    };
    let reasons_by_rep = splits(&rep_reasons, &rep_name);
    let reasons_by_source = splits(&source_reasons, &|k: &str| k.to_string());

    let mut team_weight: BTreeMap<&str, u32> = BTreeMap::new();
    for r in reps {
        *team_weight.entry(r.team.as_str()).or_default() += r.weight;
    }
    let fairness = reps
        .iter()
        .filter(|r| team.is_none_or(|t| r.team == t))
        .map(|r| {
            let key = r.id.to_string();
            let c = by_rep.get(&key).map(|t| &t.counts);
            let offered = c.map_or(0, |c| c.assigned);
            let team_total = by_team.get(&r.team).map_or(0, |t| t.counts.assigned);
            let weight_total = team_weight.get(r.team.as_str()).copied().unwrap_or(0);
            FairnessRow {
                rep_id: r.id,
                rep_name: r.name.clone(),
                team: r.team.clone(),
                weight: r.weight,
                max_open: r.max_open,
                offered,
                accepted: c.map_or(0, |c| c.accepted),
                rerouted: c.map_or(0, |c| c.sla_expired)
                    + rerouted.get(key.as_str()).copied().unwrap_or(0),
                share_of_offers: if team_total > 0 {
                    offered as f64 / team_total as f64
                } else {
                    0.0
                },
                share_of_weight: if weight_total > 0 {
                    r.weight as f64 / weight_total as f64
                } else {
                    0.0
                },
            }
        })
        .collect();

    let total_rejections: u64 = reasons.values().sum();
    let mut by_reason: Vec<ReasonRow> = reasons
        .into_iter()
        .map(|(code, n)| ReasonRow {
            label: reason_label(code),
            code: code.to_string(),
            rejections: n,
            share: n as f64 / total_rejections as f64,
        })
        .collect();
    by_reason.sort_by(|a, b| b.rejections.cmp(&a.rejections).then(a.code.cmp(&b.code)));
    // Bands sort numerically, not as text ("10-19" after "0-9").
    let mut by_score_band = rows(by_band);
    by_score_band.sort_by_key(|r| {
        r.key
            .split('-')
            .next()
            .and_then(|n| n.parse::<u32>().ok())
            .unwrap_or(0)
    });
    HandoffReport {
        from,
        to,
        totals: totals.row("all".into()),
        by_rep: rows(by_rep),
        by_source: rows(by_source),
        by_score_band,
        by_campaign: rows(by_campaign),
        by_reason,
        by_team: rows(by_team),
        reasons_by_rep,
        reasons_by_source,
        daily: trend(days),
        weekly: trend(weeks),
        queue_waits: Vec::new(),
        fairness,
        feedback_log: Vec::new(),
        feedback_log_truncated: false,
    }
}

/// Queue waits per team, exact (queue episodes are few next to offers).
pub fn queue_waits(episodes: &[QueueEpisode], now: Timestamp) -> Vec<QueueWaitRow> {
    let mut teams: BTreeMap<&str, Vec<&QueueEpisode>> = BTreeMap::new();
    for e in episodes {
        teams.entry(e.team.as_str()).or_default().push(e);
    }
    teams
        .into_iter()
        .map(|(team, eps)| {
            let mut waits: Vec<f64> = eps
                .iter()
                .filter_map(|e| {
                    e.left_at
                        .map(|left| (left.millis() - e.queued_at.millis()) as f64 / 1000.0)
                })
                .collect();
            waits.sort_by(f64::total_cmp);
            let longest = eps
                .iter()
                .map(|e| (e.left_at.unwrap_or(now).millis() - e.queued_at.millis()) as f64 / 1000.0)
                .max_by(f64::total_cmp);
            let assigned = eps
                .iter()
                .filter(|e| e.left_at.is_some() && e.assigned)
                .count() as u64;
            let waiting = eps.iter().filter(|e| e.left_at.is_none()).count() as u64;
            QueueWaitRow {
                team: team.to_string(),
                queued: eps.len() as u64,
                assigned,
                withdrawn: eps.len() as u64 - assigned - waiting,
                waiting,
                median_wait_seconds: quantile(&waits, 0.5),
                p90_wait_seconds: quantile(&waits, 0.9),
                longest_wait_seconds: longest,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use baton_protocol::AssignmentOutcome;

    fn fact(
        rep: i64,
        channel: &str,
        score: u32,
        outcome: AssignmentOutcome,
        secs: i64,
        reason: Option<&str>,
    ) -> AssignmentFact {
        AssignmentFact {
            rep_id: rep,
            rep_name: format!("rep{rep}"),
            channel: channel.into(),
            score,
            outcome,
            assigned_at: Timestamp(1_000_000),
            ended_at: Some(Timestamp(1_000_000 + secs * 1000)),
            reason: reason.map(Into::into),
            team: "sales".into(),
            campaign: (channel == "webinar").then(|| "spring".into()),
        }
    }

    #[test]
    fn bands_and_quantiles_on_hand_worked_examples() {
        assert_eq!(score_band(0), "0-9");
        assert_eq!(score_band(59), "50-59");
        assert_eq!(score_band(60), "60-69");
        assert_eq!(score_band(100), "90-100");
        assert_eq!(quantile(&[10.0, 20.0, 30.0, 40.0], 0.5), Some(25.0));
        assert_eq!(
            quantile(
                &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0, 11.0],
                0.9
            ),
            Some(10.0)
        );
        assert_eq!(quantile(&[], 0.5), None);
    }

    #[test]
    fn groups_and_rates_match_hand_counts() {
        use AssignmentOutcome::*;
        let cfg = Config::single_team("t");
        let facts = vec![
            fact(1, "webinar", 85, Accepted, 60, None),
            fact(1, "webinar", 72, Rejected, 30, Some("no_budget")),
            fact(1, "ads", 65, Accepted, 180, None),
            fact(2, "ads", 65, SlaExpired, 3600, None),
            fact(2, "ads", 91, Rejected, 10, Some("no_budget")),
            fact(2, "webinar", 99, Rejected, 10, Some("wrong_territory")),
            fact(2, "webinar", 99, Pending, 0, None),
        ];
        let reps = [rep(1, 2), rep(2, 1)];
        let mut cells = Cells::default();
        for f in &facts {
            cells.add_fact(f);
        }
        let r = aggregate(&cfg, &cells, &reps, None, Timestamp(0), Timestamp(i64::MAX));
        assert_eq!(
            (
                r.totals.assigned,
                r.totals.accepted,
                r.totals.rejected,
                r.totals.sla_breaches
            ),
            (7, 2, 3, 1)
        );
        assert_eq!(r.totals.acceptance_rate, Some(2.0 / 5.0));
        assert_close(r.totals.median_seconds_to_accept, 120.0);
        let rep1 = &r.by_rep[0];
        assert_eq!(
            (rep1.key.as_str(), rep1.accepted, rep1.rejected),
            ("1", 2, 1)
        );
        let rep2 = &r.by_rep[1];
        assert_eq!(rep2.acceptance_rate, Some(0.0));
        assert_eq!(rep2.median_seconds_to_accept, None);
        let ads = r.by_source.iter().find(|s| s.key == "ads").unwrap();
        assert_eq!((ads.assigned, ads.accepted, ads.sla_breaches), (3, 1, 1));
        let bands: Vec<_> = r.by_score_band.iter().map(|b| b.key.as_str()).collect();
        assert_eq!(bands, ["60-69", "70-79", "80-89", "90-100"]);
        assert_eq!(r.by_reason[0].code, "no_budget");
        assert_eq!(r.by_reason[0].rejections, 2);
        assert!((r.by_reason[0].share - 2.0 / 3.0).abs() < 1e-12);
        assert_eq!(r.by_reason[0].label, "No budget");

        // Speed: decided offers took 60, 30, 180, 10, 10 s (the SLA
        // take-back and the pending offer are not decisions).
        assert_close(r.totals.median_seconds_to_decision, 30.0);
        assert_eq!(r.totals.decided_within_5_min, Some(1.0));
        assert_eq!(r.totals.decision_time_histogram, [4, 1, 0, 0, 0, 0, 0]);
        assert_eq!(r.by_team.len(), 1);
        assert_eq!(r.by_team[0].assigned, 7);
        // Reasons split by rep: rep 1 no_budget ×1; rep 2 no_budget ×1 and
        // wrong_territory ×1.
        let splits: Vec<_> = r
            .reasons_by_rep
            .iter()
            .map(|s| (s.key.as_str(), s.code.as_str(), s.rejections))
            .collect();
        assert_eq!(
            splits,
            [
                ("1", "no_budget", 1),
                ("2", "no_budget", 1),
                ("2", "wrong_territory", 1)
            ]
        );
        // Fairness: rep 1 got 3 of 7 offers with 2 of 3 weight; rep 2's SLA
        // take-back and its "wrong territory" rejection went on to others.
        let f1 = &r.fairness[0];
        assert_eq!((f1.offered, f1.accepted, f1.rerouted), (3, 2, 0));
        assert!((f1.share_of_offers - 3.0 / 7.0).abs() < 1e-12);
        assert!((f1.share_of_weight - 2.0 / 3.0).abs() < 1e-12);
        let f2 = &r.fairness[1];
        assert_eq!((f2.offered, f2.accepted, f2.rerouted), (4, 0, 2));
        // All on one day.
        assert_eq!(r.daily.len(), 1);
        assert_eq!(r.daily[0].day, "1970-01-01");
        assert_eq!(r.daily[0].assigned, 7);
        assert_eq!(r.weekly.len(), 1);
        assert_eq!(r.weekly[0].day, "1969-12-29", "the Monday before");
        // Campaigns: the webinar leads came from "spring", the rest named none.
        let campaigns: Vec<_> = r
            .by_campaign
            .iter()
            .map(|c| (c.label.as_str(), c.assigned))
            .collect();
        assert_eq!(campaigns, [("No campaign", 3), ("spring", 4)]);
    }

    fn assert_close(got: Option<f64>, want: f64) {
        let got = got.expect("a value");
        assert!(
            (got - want).abs() <= want * RELATIVE_ERROR + 1e-9,
            "{got} is not within {RELATIVE_ERROR} of {want}"
        );
    }

    #[test]
    fn sketch_quantiles_stay_within_the_stated_error_of_exact_ones() {
        // A spread of durations from 0 ms to days, deterministic.
        let mut exact = Vec::new();
        let mut sketch = Sketch::default();
        let mut x: u64 = 12345;
        for i in 0..5000 {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let ms = if i % 97 == 0 {
                0
            } else {
                (x >> 33) as i64 % (3 * DAY_MS)
            };
            sketch.add(ms);
            exact.push(ms as f64 / 1000.0);
        }
        exact.sort_by(f64::total_cmp);
        for q in [0.0, 0.1, 0.5, 0.9, 0.99, 1.0] {
            let want = quantile(&exact, q).unwrap();
            let got = sketch.quantile(q).unwrap();
            assert!(
                (got - want).abs() <= want * RELATIVE_ERROR + 1e-9,
                "q {q}: {got} vs exact {want}"
            );
        }
        // Stored and read back, it is the same sketch; merging adds.
        let mut c = Counts {
            decide: sketch.clone(),
            histogram: [1, 2, 3, 4, 5, 6, 7],
            ..Default::default()
        };
        let bytes = c.encode_speed();
        let mut back = Counts::default();
        back.decode_speed(&bytes).unwrap();
        assert_eq!(back.decide, sketch);
        assert_eq!(back.histogram, c.histogram);
        c.merge(&back);
        assert_eq!(c.decide.count(), 10_000);
        assert!(
            Counts::default()
                .decode_speed(&bytes[..bytes.len() - 1])
                .is_none()
        );
        assert_eq!(Sketch::default().quantile(0.5), None);
    }

    #[test]
    fn a_period_splits_into_months_whole_days_and_partial_edges() {
        let day = |y: i64, m: u32, d: u32| {
            (0..50_000)
                .map(|n| n - 10_000)
                .find(|&n| civil_from_days(n) == (y, m, d))
                .unwrap()
        };
        assert_eq!(day(1970, 1, 1), 0);
        assert_eq!(civil_from_days(day(2024, 2, 29)), (2024, 2, 29));
        assert_eq!(month_start(day(2024, 2, 29)), day(2024, 2, 1));
        assert_eq!(next_month_start(day(2024, 12, 31)), day(2025, 1, 1));
        assert_eq!(next_month_start(day(2025, 1, 1)), day(2025, 2, 1));
        let at = |d: i64, h: i64| Timestamp(d * DAY_MS + h * 3_600_000);

        // 10 March 06:00 → 20 May 18:00: edges, 11-31 March and 1-19 May
        // daily, April monthly; the trend reads every whole day.
        let (mar10, may20) = (day(2026, 3, 10), day(2026, 5, 20));
        let p = Plan::of(at(mar10, 6), at(may20, 18));
        assert_eq!(p.whole_days, Some((mar10 + 1, may20)));
        assert_eq!(p.months, Some((day(2026, 4, 1), day(2026, 5, 1))));
        assert_eq!(
            p.days,
            vec![(mar10 + 1, day(2026, 4, 1)), (day(2026, 5, 1), may20)]
        );
        assert_eq!(
            p.edges,
            vec![
                (at(mar10, 6), at(mar10 + 1, 0)),
                (at(may20, 0), at(may20, 18))
            ]
        );
        let q = p.queries(&[CellPart::Trend, CellPart::Groups]);
        assert_eq!(q.len(), 4);
        assert_eq!((q[0].grain, q[0].part), (Grain::Day, CellPart::Trend));
        assert_eq!(
            (q[1].grain, q[1].first_day),
            (Grain::Month, day(2026, 4, 1))
        );

        // Whole days inside one month: no months.
        let p = Plan::of(at(mar10, 0), at(mar10 + 5, 0));
        assert_eq!(
            (p.months, p.days.clone(), p.edges.len()),
            (None, vec![(mar10, mar10 + 5)], 0)
        );
        // Exactly two months.
        let p = Plan::of(at(day(2026, 1, 1), 0), at(day(2026, 3, 1), 0));
        assert_eq!(p.months, Some((day(2026, 1, 1), day(2026, 3, 1))));
        assert!(p.days.is_empty());
        // Less than a day.
        let p = Plan::of(at(mar10, 3), at(mar10 + 1, 2));
        assert_eq!((p.whole_days, p.edges.len()), (None, 1));

        assert_eq!(monday_of(0), -3);
        assert_eq!(
            day_label(monday_of(day_of(Timestamp(1_764_115_200_000)))),
            "2025-11-24"
        );
    }

    #[test]
    fn queue_waits_count_how_each_stay_ended() {
        let ep = |team: &str, q: i64, left: Option<i64>, assigned| QueueEpisode {
            team: team.into(),
            queued_at: Timestamp(q * 1000),
            left_at: left.map(|l| Timestamp(l * 1000)),
            assigned,
        };
        let rows = queue_waits(
            &[
                ep("emea", 0, Some(60), true),
                ep("emea", 0, Some(120), true),
                ep("emea", 0, Some(30), false),
                ep("emea", 100, None, false),
            ],
            Timestamp(1_000_000),
        );
        let r = &rows[0];
        assert_eq!((r.queued, r.assigned, r.withdrawn, r.waiting), (4, 2, 1, 1));
        assert_eq!(r.median_wait_seconds, Some(60.0));
        assert_eq!(r.longest_wait_seconds, Some(900.0), "the one still waiting");
    }

    fn rep(id: i64, weight: u32) -> Rep {
        Rep {
            id,
            name: format!("rep{id}"),
            email: format!("rep{id}@x.test"),
            team: "sales".into(),
            weight,
            max_open: 10,
            availability: baton_protocol::Availability::Available,
            open_leads: 0,
            schedule: None,
            active: true,
            on_shift: true,
        }
    }
}
