//! The handoff report: assignments grouped by rep, source, score band and
//! rejection reason. Aggregation is a pure function of the facts so that it
//! can be checked against independently computed answers.

use std::collections::BTreeMap;

use baton_protocol::{
    AssignmentOutcome, DECISION_BUCKETS, DailyRow, FairnessRow, HandoffReport, ReasonRow,
    ReasonSplit, Rep, ReportRow, Timestamp,
};

use crate::config::Config;
use crate::store::AssignmentFact;

/// Score bands of ten points: `0-9`, `10-19`, …, `90-100`.
pub fn score_band(score: u32) -> String {
    let low = (score.min(100) / 10 * 10).min(90);
    let high = if low == 90 { 100 } else { low + 9 };
    format!("{low}-{high}")
}

/// The value at quantile `q` (0..=1) of sorted `values`, by linear interpolation.
pub fn quantile(sorted: &[f64], q: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let pos = q.clamp(0.0, 1.0) * (sorted.len() - 1) as f64;
    let lo = pos.floor() as usize;
    let hi = pos.ceil() as usize;
    Some(sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo as f64))
}

#[derive(Default)]
struct Tally {
    label: String,
    assigned: u64,
    accepted: u64,
    rejected: u64,
    sla_breaches: u64,
    accept_secs: Vec<f64>,
    decide_secs: Vec<f64>,
}

impl Tally {
    fn add(&mut self, f: &AssignmentFact) {
        self.assigned += 1;
        match f.outcome {
            AssignmentOutcome::Accepted => {
                self.accepted += 1;
                if let Some(end) = f.ended_at {
                    self.accept_secs
                        .push((end.millis() - f.assigned_at.millis()) as f64 / 1000.0);
                }
            }
            AssignmentOutcome::Rejected => self.rejected += 1,
            AssignmentOutcome::SlaExpired => self.sla_breaches += 1,
            _ => {}
        }
        if matches!(
            f.outcome,
            AssignmentOutcome::Accepted | AssignmentOutcome::Rejected
        ) && let Some(end) = f.ended_at
        {
            self.decide_secs
                .push((end.millis() - f.assigned_at.millis()) as f64 / 1000.0);
        }
    }

    fn row(mut self, key: String) -> ReportRow {
        self.accept_secs.sort_by(f64::total_cmp);
        self.decide_secs.sort_by(f64::total_cmp);
        let decided = self.accepted + self.rejected;
        let timed = self.decide_secs.len();
        let within = |secs: f64| {
            (timed > 0).then(|| {
                self.decide_secs.iter().filter(|&&s| s <= secs).count() as f64 / timed as f64
            })
        };
        let mut histogram = vec![0u64; DECISION_BUCKETS.len() + 1];
        for &s in &self.decide_secs {
            let i = DECISION_BUCKETS
                .iter()
                .position(|&b| s <= b as f64)
                .unwrap_or(DECISION_BUCKETS.len());
            histogram[i] += 1;
        }
        ReportRow {
            key,
            label: self.label,
            assigned: self.assigned,
            accepted: self.accepted,
            rejected: self.rejected,
            acceptance_rate: (decided > 0).then(|| self.accepted as f64 / decided as f64),
            median_seconds_to_accept: quantile(&self.accept_secs, 0.5),
            p90_seconds_to_accept: quantile(&self.accept_secs, 0.9),
            sla_breaches: self.sla_breaches,
            median_seconds_to_decision: quantile(&self.decide_secs, 0.5),
            p90_seconds_to_decision: quantile(&self.decide_secs, 0.9),
            decided_within_5_min: within(300.0),
            decided_within_1_hour: within(3600.0),
            decision_time_histogram: histogram,
        }
    }
}

fn rows(groups: BTreeMap<String, Tally>) -> Vec<ReportRow> {
    groups.into_iter().map(|(k, t)| t.row(k)).collect()
}

/// Groups the assignments made in `[from, to)`; the feedback log is added by the caller.
pub fn aggregate(
    cfg: &Config,
    facts: &[AssignmentFact],
    reps: &[Rep],
    from: Timestamp,
    to: Timestamp,
) -> HandoffReport {
    let mut by_team: BTreeMap<String, Tally> = BTreeMap::new();
    let mut days: BTreeMap<String, Tally> = BTreeMap::new();
    // (group key, reason) → (group label, rejections)
    let mut rep_reasons: BTreeMap<(String, String), (String, u64)> = BTreeMap::new();
    let mut source_reasons: BTreeMap<(String, String), (String, u64)> = BTreeMap::new();
    // rep id → (offered, accepted, rerouted)
    let mut per_rep: BTreeMap<i64, (u64, u64, u64)> = BTreeMap::new();
    let mut team_offers: BTreeMap<String, u64> = BTreeMap::new();
    let mut totals = Tally {
        label: "All assignments".into(),
        ..Default::default()
    };
    let mut by_rep: BTreeMap<String, Tally> = BTreeMap::new();
    let mut by_source: BTreeMap<String, Tally> = BTreeMap::new();
    let mut by_band: BTreeMap<String, Tally> = BTreeMap::new();
    let mut reasons: BTreeMap<String, u64> = BTreeMap::new();
    for f in facts {
        totals.add(f);
        let rep = by_rep.entry(f.rep_id.to_string()).or_default();
        rep.label.clone_from(&f.rep_name);
        rep.add(f);
        let src = by_source.entry(f.channel.clone()).or_default();
        src.label.clone_from(&f.channel);
        src.add(f);
        let band = score_band(f.score);
        let b = by_band.entry(band.clone()).or_default();
        b.label = band;
        b.add(f);
        let team = by_team.entry(f.team.clone()).or_default();
        team.label.clone_from(&f.team);
        team.add(f);
        let day = days
            .entry(f.assigned_at.to_rfc3339()[..10].to_string())
            .or_default();
        day.add(f);
        *team_offers.entry(f.team.clone()).or_default() += 1;
        let fair = per_rep.entry(f.rep_id).or_default();
        fair.0 += 1;
        if f.outcome == AssignmentOutcome::Accepted {
            fair.1 += 1;
        }
        if f.outcome == AssignmentOutcome::Rejected {
            let code = f.reason.clone().unwrap_or_else(|| "other".into());
            if cfg.reason(&code).is_some_and(|r| r.routes_on) {
                fair.2 += 1;
            }
            let e = rep_reasons
                .entry((f.rep_id.to_string(), code.clone()))
                .or_insert_with(|| (f.rep_name.clone(), 0));
            e.1 += 1;
            let e = source_reasons
                .entry((f.channel.clone(), code.clone()))
                .or_insert_with(|| (f.channel.clone(), 0));
            e.1 += 1;
            *reasons.entry(code).or_default() += 1;
        }
        if f.outcome == AssignmentOutcome::SlaExpired {
            fair.2 += 1;
        }
    }
    let reason_label = |code: &str| {
        cfg.reason(code)
            .map(|r| r.label.clone())
            .unwrap_or_else(|| code.to_string())
    };
    let splits = |m: BTreeMap<(String, String), (String, u64)>| -> Vec<ReasonSplit> {
        m.into_iter()
            .map(|((key, code), (label, n))| ReasonSplit {
                key,
                label,
                reason_label: reason_label(&code),
                code,
                rejections: n,
            })
            .collect()
    };
    let daily = days
        .into_iter()
        .map(|(day, t)| {
            let r = t.row(day.clone());
            DailyRow {
                day,
                assigned: r.assigned,
                accepted: r.accepted,
                rejected: r.rejected,
                acceptance_rate: r.acceptance_rate,
                median_seconds_to_decision: r.median_seconds_to_decision,
            }
        })
        .collect();
    let mut team_weight: BTreeMap<&str, u32> = BTreeMap::new();
    for r in reps {
        *team_weight.entry(r.team.as_str()).or_default() += r.weight;
    }
    let fairness = reps
        .iter()
        .map(|r| {
            let (offered, accepted, rerouted) = per_rep.get(&r.id).copied().unwrap_or_default();
            let team_total = team_offers.get(&r.team).copied().unwrap_or(0);
            let weight_total = team_weight.get(r.team.as_str()).copied().unwrap_or(0);
            FairnessRow {
                rep_id: r.id,
                rep_name: r.name.clone(),
                team: r.team.clone(),
                weight: r.weight,
                max_open: r.max_open,
                offered,
                accepted,
                rerouted,
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
            label: reason_label(&code),
            code,
            rejections: n,
            share: n as f64 / total_rejections as f64,
        })
        .collect();
    by_reason.sort_by(|a, b| b.rejections.cmp(&a.rejections).then(a.code.cmp(&b.code)));
    // Bands sort numerically, not as text ("10-19" after "0-9", "100" last).
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
        by_reason,
        by_team: rows(by_team),
        reasons_by_rep: splits(rep_reasons),
        reasons_by_source: splits(source_reasons),
        daily,
        fairness,
        feedback_log: Vec::new(),
        feedback_log_truncated: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let r = aggregate(&cfg, &facts, &reps, Timestamp(0), Timestamp(i64::MAX));
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
        assert_eq!(r.totals.median_seconds_to_accept, Some(120.0));
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
        assert_eq!(r.totals.median_seconds_to_decision, Some(30.0));
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
        }
    }
}
