//! Score calibration: what sales' decisions say about the qualification
//! threshold. Pure functions of the period's decisions and scores, so the
//! figures can be worked by hand and tested.

use std::collections::BTreeMap;

use baton_protocol::{
    CalibrationBand, CalibrationReport, SourceCalibration, ThresholdSuggestion, Timestamp,
};

/// Decided offers of leads with one score from one source: how many were
/// accepted and how many rejected.
#[derive(Clone, Debug, PartialEq)]
pub struct DecidedOffers {
    pub score: u32,
    pub source: String,
    pub accepted: u64,
    pub rejected: u64,
}

/// A source is flagged when it has at least this many decisions…
pub const FLAG_MIN_DECISIONS: u64 = 20;
/// …its leads are rejected at least this many times as often as the
/// period's leads of the same scores…
pub const FLAG_MIN_RATIO: f64 = 1.5;
/// …and the excess is this many standard deviations or more (not chance).
pub const FLAG_MIN_Z: f64 = 2.0;

fn band_of(score: u32) -> u32 {
    (score.min(100) / 10 * 10).min(90)
}

fn band_label(low: u32) -> String {
    if low == 90 {
        "90-100".into()
    } else {
        format!("{low}-{}", low + 9)
    }
}

/// Acceptance by score band, the threshold that would have met
/// `target_rate`, and sources rejected far more often at the same scores.
///
/// `scores` counts every lead received in the period (qualified or not) by
/// score 0..=100: they say how many leads a different threshold would have
/// sent to sales or kept from it.
pub fn calibrate(
    from: Timestamp,
    to: Timestamp,
    decided: &[DecidedOffers],
    scores: &[u64; 101],
    threshold: u32,
    target_rate: Option<f64>,
) -> CalibrationReport {
    // Bands.
    let mut bands: BTreeMap<u32, (u64, u64)> = BTreeMap::new();
    for d in decided {
        let b = bands.entry(band_of(d.score)).or_default();
        b.0 += d.accepted;
        b.1 += d.rejected;
    }
    let band_rate = |low: u32| -> Option<f64> {
        bands
            .get(&low)
            .filter(|(a, r)| a + r > 0)
            .map(|(a, r)| *a as f64 / (a + r) as f64)
    };
    let by_band = bands
        .iter()
        .map(|(&low, &(accepted, rejected))| CalibrationBand {
            band: band_label(low),
            low,
            accepted,
            rejected,
            acceptance_rate: (accepted + rejected > 0)
                .then(|| accepted as f64 / (accepted + rejected) as f64),
        })
        .collect();

    let accepted_total: u64 = decided.iter().map(|d| d.accepted).sum();
    let decided_total: u64 = decided.iter().map(|d| d.accepted + d.rejected).sum();

    let suggestion = target_rate.map(|target| suggest(decided, scores, threshold, target));

    // Sources: observed rejections against what the period's band rates
    // predict for the same scores.
    let mut sources: BTreeMap<&str, Vec<&DecidedOffers>> = BTreeMap::new();
    for d in decided {
        sources.entry(d.source.as_str()).or_default().push(d);
    }
    let by_source = sources
        .into_iter()
        .map(|(source, offers)| {
            let n: u64 = offers.iter().map(|d| d.accepted + d.rejected).sum();
            let rejected: u64 = offers.iter().map(|d| d.rejected).sum();
            let mut expected = 0.0;
            let mut variance = 0.0;
            for d in &offers {
                let p_reject = 1.0 - band_rate(band_of(d.score)).unwrap_or(0.0);
                let k = (d.accepted + d.rejected) as f64;
                expected += k * p_reject;
                variance += k * p_reject * (1.0 - p_reject);
            }
            let ratio = (expected > 0.0).then(|| rejected as f64 / expected);
            let z = (variance > 0.0).then(|| (rejected as f64 - expected) / variance.sqrt());
            let flagged = n >= FLAG_MIN_DECISIONS
                && ratio.is_some_and(|r| r >= FLAG_MIN_RATIO)
                && z.is_some_and(|z| z >= FLAG_MIN_Z);
            SourceCalibration {
                source: source.to_string(),
                decided: n,
                rejected,
                expected_rejected: expected,
                rejection_ratio: ratio,
                z_score: z,
                flagged,
            }
        })
        .collect();

    CalibrationReport {
        from,
        to,
        threshold,
        decided: decided_total,
        accepted: accepted_total,
        acceptance_rate: (decided_total > 0).then(|| accepted_total as f64 / decided_total as f64),
        by_band,
        suggestion,
        by_source,
    }
}

/// The lowest threshold whose decided leads (score ≥ it) were accepted at
/// `target` or better, and how many of the period's leads it moves.
fn suggest(
    decided: &[DecidedOffers],
    scores: &[u64; 101],
    threshold: u32,
    target: f64,
) -> ThresholdSuggestion {
    // Acceptances and decisions at each score, then suffix sums: the rate
    // for "score ≥ t" for every t in one pass.
    let mut acc = [0u64; 102];
    let mut dec = [0u64; 102];
    for d in decided {
        let s = d.score.min(100) as usize;
        dec[s] += d.accepted + d.rejected;
        acc[s] += d.accepted;
    }
    for s in (0..=100).rev() {
        acc[s] += acc[s + 1];
        dec[s] += dec[s + 1];
    }
    // Below the lowest decided score there is no evidence of how sales
    // would have received a lead: candidates start there.
    let lowest = decided
        .iter()
        .filter(|d| d.accepted + d.rejected > 0)
        .map(|d| d.score.min(100))
        .min()
        .unwrap_or(0);
    let leads =
        |range: std::ops::Range<u32>| -> u64 { range.map(|s| scores[s.min(100) as usize]).sum() };
    let met = (lowest..=100u32).find(|&t| {
        let n = dec[t as usize];
        n > 0 && acc[t as usize] as f64 / n as f64 >= target
    });
    let (to_sales, from_sales) = match met {
        Some(t) if t < threshold => (leads(t..threshold), 0),
        Some(t) => (0, leads(threshold..t)),
        None => (0, 0),
    };
    ThresholdSuggestion {
        target_rate: target,
        threshold: met,
        acceptance_rate: met.map(|t| acc[t as usize] as f64 / dec[t as usize] as f64),
        decided_at_or_above: met.map(|t| dec[t as usize]).unwrap_or(0),
        leads_to_sales: to_sales,
        leads_from_sales: from_sales,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn offer(score: u32, source: &str, accepted: bool) -> DecidedOffers {
        DecidedOffers {
            score,
            source: source.into(),
            accepted: accepted.into(),
            rejected: (!accepted).into(),
        }
    }

    /// Eight decisions at threshold 60, worked by hand:
    /// 60 a, 65 r, 70 a, 75 r, 80 a, 85 a, 90 a, 95 a.
    fn eight() -> Vec<DecidedOffers> {
        [
            (60, true),
            (65, false),
            (70, true),
            (75, false),
            (80, true),
            (85, true),
            (90, true),
            (95, true),
        ]
        .into_iter()
        .map(|(s, a)| offer(s, "webinar", a))
        .collect()
    }

    const SCORES: &[u32] = &[40, 55, 60, 62, 65, 68, 70, 75, 80, 85, 90, 95];

    /// The suggestion over eight() and SCORES at `threshold` for `target`.
    fn suggestion(threshold: u32, target: f64) -> ThresholdSuggestion {
        calibrate(
            Timestamp(0),
            Timestamp(1),
            &eight(),
            &counts(SCORES),
            threshold,
            Some(target),
        )
        .suggestion
        .expect("a target was given")
    }

    fn counts(scores: &[u32]) -> [u64; 101] {
        let mut out = [0; 101];
        for &s in scores {
            out[s as usize] += 1;
        }
        out
    }

    #[test]
    fn bands_hold_counts_and_rates() {
        let r = calibrate(
            Timestamp(0),
            Timestamp(1),
            &eight(),
            &counts(SCORES),
            60,
            None,
        );
        assert_eq!((r.decided, r.accepted), (8, 6));
        assert_eq!(r.acceptance_rate, Some(0.75));
        let bands: Vec<_> = r
            .by_band
            .iter()
            .map(|b| (b.band.as_str(), b.accepted, b.rejected, b.acceptance_rate))
            .collect();
        assert_eq!(
            bands,
            [
                ("60-69", 1, 1, Some(0.5)),
                ("70-79", 1, 1, Some(0.5)),
                ("80-89", 2, 0, Some(1.0)),
                ("90-100", 2, 0, Some(1.0)),
            ]
        );
        assert!(r.suggestion.is_none());
    }

    #[test]
    fn a_higher_target_raises_the_threshold_and_keeps_leads_from_sales() {
        // ≥ 60: 6/8 = 0.75; ≥ 61..=65: 5/7; ≥ 66..=70: 5/6 = 0.833 — first ≥ 0.8.
        let s = suggestion(60, 0.8);
        assert_eq!(s.threshold, Some(66));
        assert_eq!(s.acceptance_rate, Some(5.0 / 6.0));
        assert_eq!(s.decided_at_or_above, 6);
        // Leads scored 60, 62 and 65 would not have gone to sales.
        assert_eq!((s.leads_to_sales, s.leads_from_sales), (0, 3));

        // ≥ 71..=75: 4/5; ≥ 76..=80: 4/4 — first ≥ 0.95.
        let s = suggestion(60, 0.95);
        assert_eq!(s.threshold, Some(76));
        assert_eq!(s.leads_from_sales, 6, "60, 62, 65, 68, 70 and 75");
    }

    #[test]
    fn a_met_target_stays_where_the_evidence_is() {
        // 0.75 ≥ 0.5 already at 60, and nothing below 60 was ever decided:
        // no evidence for a lower threshold.
        let s = suggestion(60, 0.5);
        assert_eq!(s.threshold, Some(60));
        assert_eq!((s.leads_to_sales, s.leads_from_sales), (0, 0));
    }

    #[test]
    fn a_lower_threshold_moves_leads_to_sales_when_decisions_show_it() {
        // The threshold was 60 for part of the period, now 70: decisions
        // exist at 60-69, so a threshold below 70 can be judged.
        let s = suggestion(70, 0.7);
        assert_eq!(s.threshold, Some(60), "6/8 = 0.75 ≥ 0.7 from 60 on");
        // 60, 62, 65 and 68 would have gone to sales.
        assert_eq!((s.leads_to_sales, s.leads_from_sales), (4, 0));
    }

    #[test]
    fn an_unreachable_target_has_no_threshold() {
        let s = suggestion(60, 1.01);
        assert_eq!(s.threshold, None);
        assert_eq!((s.leads_to_sales, s.leads_from_sales), (0, 0));
    }

    #[test]
    fn a_source_rejected_far_more_often_at_the_same_score_is_flagged() {
        // Band 60-69: ads 6 accepted / 24 rejected, webinar 24 / 6; the
        // band accepts 30 of 60 = 0.5, so each source "should" see 15
        // rejections. ads: 24 / 15 = 1.6 times, z = (24 - 15) / sqrt(30 · 0.25)
        // = 9 / 2.739 = 3.29. A referral source rejected 10 times out of 10
        // is too small to judge.
        let mut d = Vec::new();
        for i in 0..30 {
            d.push(offer(60 + i % 10, "ads", i < 6));
            d.push(offer(60 + i % 10, "webinar", i < 24));
        }
        for _ in 0..10 {
            d.push(offer(75, "referral", false));
            d.push(offer(75, "webinar", true));
        }
        let r = calibrate(Timestamp(0), Timestamp(1), &d, &[0; 101], 60, None);
        let ads = r.by_source.iter().find(|s| s.source == "ads").unwrap();
        assert_eq!((ads.decided, ads.rejected), (30, 24));
        assert!((ads.expected_rejected - 15.0).abs() < 1e-9);
        assert!((ads.rejection_ratio.unwrap() - 1.6).abs() < 1e-9);
        assert!((ads.z_score.unwrap() - 9.0 / 7.5f64.sqrt()).abs() < 1e-9);
        assert!(ads.flagged);
        let webinar = r.by_source.iter().find(|s| s.source == "webinar").unwrap();
        assert!(!webinar.flagged);
        let referral = r.by_source.iter().find(|s| s.source == "referral").unwrap();
        assert_eq!(referral.decided, 10);
        assert!(
            !referral.flagged,
            "fewer than {FLAG_MIN_DECISIONS} decisions"
        );
    }
}

/// What `proposed` would have done over `[from, to)` against `current`:
/// leads received by exact score, and the decided offers at or above each
/// threshold (the calibration's own figures, counted exactly).
pub fn preview(
    from: Timestamp,
    to: Timestamp,
    decided: &[DecidedOffers],
    scores: &[u64; 101],
    current: u32,
    proposed: u32,
) -> baton_protocol::DefinitionPreview {
    let at_or_above = |t: u32| scores[t.min(100) as usize..].iter().sum::<u64>();
    let between = |lo: u32, hi: u32| {
        scores[lo.min(100) as usize..hi.min(101) as usize]
            .iter()
            .sum::<u64>()
    };
    let offers_at = |t: u32| {
        decided
            .iter()
            .filter(|d| d.score >= t)
            .fold((0u64, 0u64), |(n, a), d| {
                (n + d.accepted + d.rejected, a + d.accepted)
            })
    };
    let (decided_current, accepted_current) = offers_at(current);
    let (decided_proposed, accepted_proposed) = offers_at(proposed);
    let rate = |a: u64, n: u64| (n > 0).then(|| a as f64 / n as f64);
    baton_protocol::DefinitionPreview {
        from,
        to,
        current_threshold: current,
        proposed_threshold: proposed,
        leads: scores.iter().sum(),
        qualified_current: at_or_above(current),
        qualified_proposed: at_or_above(proposed),
        newly_qualified: if proposed < current {
            between(proposed, current)
        } else {
            0
        },
        newly_unqualified: if proposed > current {
            between(current, proposed)
        } else {
            0
        },
        decided_current,
        accepted_current,
        decided_proposed,
        accepted_proposed,
        acceptance_current: rate(accepted_current, decided_current),
        acceptance_proposed: rate(accepted_proposed, decided_proposed),
    }
}

#[cfg(test)]
mod preview_tests {
    use super::*;

    #[test]
    fn preview_counts_leads_and_decided_offers_on_each_side() {
        let mut scores = [0u64; 101];
        scores[50] = 3;
        scores[65] = 2;
        scores[80] = 5;
        scores[100] = 1;
        let d = |score, accepted, rejected| DecidedOffers {
            score,
            source: "web".into(),
            accepted,
            rejected,
        };
        let decided = [d(65, 1, 1), d(80, 4, 1), d(100, 1, 0)];
        let t = Timestamp::from_millis(0);
        let p = preview(t, t, &decided, &scores, 60, 70);
        assert_eq!(
            (p.leads, p.qualified_current, p.qualified_proposed),
            (11, 8, 6)
        );
        assert_eq!((p.newly_qualified, p.newly_unqualified), (0, 2));
        assert_eq!((p.decided_current, p.accepted_current), (8, 6));
        assert_eq!((p.decided_proposed, p.accepted_proposed), (6, 5));
        let back = preview(t, t, &decided, &scores, 70, 50);
        assert_eq!((back.newly_qualified, back.newly_unqualified), (5, 0));
        assert_eq!(back.acceptance_proposed, Some(6.0 / 8.0));
    }
}
