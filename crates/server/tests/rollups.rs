//! The report rollups against the offers themselves: 64 days of handoffs
//! replayed through the real routing code into a real SQLite file (and a
//! real PostgreSQL database), then
//! every figure of a report that reads whole days from the rollups (and its
//! partial edges from the rows) checked against answers this test counts
//! on its own from the raw offers.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use baton_protocol::{AssignmentOutcome, HandoffReport, Timestamp};
use baton_server::history::{self, HistorySpec};
use baton_server::report::{self, CellPart, DAY_MS, RELATIVE_ERROR, day_of};
use baton_server::store::AssignmentFact;
use baton_server::{Baton, calibration, demo};

/// Long enough to hold at least one whole calendar month.
const DAYS: u32 = 64;

async fn replayed(path: &std::path::Path) -> (Baton, Arc<baton_server::Config>, i64) {
    let cfg = demo::config(1800);
    let baton = Baton::open(path, cfg.clone(), Duration::from_secs(15)).unwrap();
    baton.apply_config().await.unwrap();
    for (name, email, team, weight, max_open) in demo::REPS {
        // Small caps, so that leads also wait in the queue.
        baton
            .add_rep(name, email, team, *weight, (*max_open).min(3))
            .await
            .unwrap();
    }
    let end_day = day_of(Timestamp::now()) - 2;
    let cfg = Arc::new(cfg);
    let done = history::replay(
        baton.db(),
        cfg.clone(),
        HistorySpec {
            days: DAYS,
            leads_per_day: 40,
            seed: 7,
            end_day,
        },
    )
    .await
    .unwrap();
    assert!(done.decisions > 800, "{done:?}");
    assert!(done.sla_expired > 10, "{done:?}");
    (baton, cfg, end_day)
}

async fn report_of(
    baton: &Baton,
    cfg: &Arc<baton_server::Config>,
    from: Timestamp,
    to: Timestamp,
    team: Option<&'static str>,
) -> (
    HandoffReport,
    Vec<AssignmentFact>,
    baton_protocol::CalibrationReport,
    Vec<u32>,
) {
    let cfg = cfg.clone();
    baton
        .db()
        .read(move |tx| {
            let cells = report::period_cells(
                tx,
                from,
                to,
                team,
                &[CellPart::Trend, CellPart::Groups, CellPart::Calibration],
            )?;
            let reps = tx.reps()?;
            let mut r = report::aggregate(&cfg, &cells, &reps, team, from, to);
            r.queue_waits = report::queue_waits(&tx.queue_episodes(from, to, team)?, to);
            let cal = calibration::calibrate(
                from,
                to,
                &cells.decided_offers(),
                &cells.score_counts(),
                cfg.qualification_threshold,
                Some(0.6),
            );
            Ok((
                r,
                tx.assignment_facts(from, to, team)?,
                cal,
                tx.lead_scores(from, to, team)?,
            ))
        })
        .await
        .unwrap()
}

fn exact_quantile(mut v: Vec<f64>, q: f64) -> Option<f64> {
    v.sort_by(f64::total_cmp);
    report::quantile(&v, q)
}

fn assert_close(got: Option<f64>, want: Option<f64>, what: &str) {
    match (got, want) {
        (None, None) => {}
        (Some(g), Some(w)) => assert!(
            (g - w).abs() <= w * RELATIVE_ERROR + 1e-9,
            "{what}: {g} vs exact {w}"
        ),
        _ => panic!("{what}: {got:?} vs {want:?}"),
    }
}

/// Counts of one group, worked out from the raw offers.
#[derive(Default, Debug)]
struct Expect {
    assigned: u64,
    accepted: u64,
    rejected: u64,
    sla: u64,
    decide_secs: Vec<f64>,
}

fn expect_by(
    facts: &[AssignmentFact],
    key: impl Fn(&AssignmentFact) -> String,
) -> BTreeMap<String, Expect> {
    let mut m: BTreeMap<String, Expect> = BTreeMap::new();
    for f in facts {
        let e = m.entry(key(f)).or_default();
        e.assigned += 1;
        match f.outcome {
            AssignmentOutcome::Accepted => e.accepted += 1,
            AssignmentOutcome::Rejected => e.rejected += 1,
            AssignmentOutcome::SlaExpired => e.sla += 1,
            _ => {}
        }
        if matches!(
            f.outcome,
            AssignmentOutcome::Accepted | AssignmentOutcome::Rejected
        ) {
            let end = f.ended_at.unwrap();
            e.decide_secs
                .push((end.millis() - f.assigned_at.millis()) as f64 / 1000.0);
        }
    }
    m
}

fn check_rows(what: &str, rows: &[baton_protocol::ReportRow], expect: BTreeMap<String, Expect>) {
    assert_eq!(
        rows.iter().map(|r| r.key.clone()).collect::<Vec<_>>().len(),
        expect.len(),
        "{what}: groups"
    );
    for r in rows {
        let e = expect
            .get(&r.key)
            .unwrap_or_else(|| panic!("{what}: {}", r.key));
        assert_eq!(
            (r.assigned, r.accepted, r.rejected, r.sla_breaches),
            (e.assigned, e.accepted, e.rejected, e.sla),
            "{what} {}",
            r.key
        );
        let within = |s: f64| e.decide_secs.iter().filter(|&&x| x <= s).count() as f64;
        if !e.decide_secs.is_empty() {
            let n = e.decide_secs.len() as f64;
            assert_eq!(r.decided_within_5_min, Some(within(300.0) / n), "{what}");
            assert_eq!(r.decided_within_1_hour, Some(within(3600.0) / n), "{what}");
        }
        assert_close(
            r.median_seconds_to_decision,
            exact_quantile(e.decide_secs.clone(), 0.5),
            &format!("{what} {} median", r.key),
        );
        assert_close(
            r.p90_seconds_to_decision,
            exact_quantile(e.decide_secs.clone(), 0.9),
            &format!("{what} {} p90", r.key),
        );
    }
}

#[tokio::test]
async fn rollup_reports_match_counts_from_the_offers_themselves_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    rollup_reports_match_counts_from_the_offers_themselves(&dir.path().join("baton.db")).await;
}

/// The same report, computed by PostgreSQL's rollups, against the same
/// independent counts.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rollup_reports_match_counts_from_the_offers_themselves_on_postgres() {
    let db = baton_tests::postgres::Postgres::shared().database();
    rollup_reports_match_counts_from_the_offers_themselves(std::path::Path::new(db.url())).await;
}

async fn rollup_reports_match_counts_from_the_offers_themselves(path: &std::path::Path) {
    let (baton, cfg, end_day) = replayed(path).await;
    let first_day = end_day - i64::from(DAYS);
    // Partial days at both edges, whole days between; then one team only.
    let from = Timestamp(first_day * DAY_MS + 10 * 3_600_000);
    let to = Timestamp((end_day - 1) * DAY_MS + 15 * 3_600_000);
    let plan = report::Plan::of(from, to);
    assert!(plan.months.is_some(), "whole months, read monthly");
    assert!(!plan.days.is_empty(), "whole days around them, read daily");
    assert_eq!(plan.edges.len(), 2, "partial days, read from the offers");
    for team in [None, Some("emea")] {
        let (r, facts, cal, scores) = report_of(&baton, &cfg, from, to, team).await;
        assert!(facts.len() > 1000, "{}", facts.len());
        let all = expect_by(&facts, |_| "all".into());
        check_rows("totals", std::slice::from_ref(&r.totals), all);
        check_rows(
            "rep",
            &r.by_rep,
            expect_by(&facts, |f| f.rep_id.to_string()),
        );
        check_rows(
            "source",
            &r.by_source,
            expect_by(&facts, |f| f.channel.clone()),
        );
        check_rows(
            "campaign",
            &r.by_campaign,
            expect_by(&facts, |f| f.campaign.clone().unwrap_or_default()),
        );
        check_rows(
            "band",
            &r.by_score_band,
            expect_by(&facts, |f| report::score_band(f.score)),
        );
        check_rows("team", &r.by_team, expect_by(&facts, |f| f.team.clone()));
        // Days and weeks: offers by the UTC day (and its Monday) they were made.
        let days = expect_by(&facts, |f| {
            Timestamp(day_of(f.assigned_at) * DAY_MS).to_rfc3339()[..10].to_string()
        });
        assert_eq!(r.daily.len(), days.len());
        for d in &r.daily {
            let e = &days[&d.day];
            assert_eq!(
                (d.assigned, d.accepted, d.rejected),
                (e.assigned, e.accepted, e.rejected)
            );
            assert_close(
                d.median_seconds_to_decision,
                exact_quantile(e.decide_secs.clone(), 0.5),
                &d.day,
            );
        }
        let weeks = expect_by(&facts, |f| {
            report::day_label(report::monday_of(day_of(f.assigned_at)))
        });
        let weekly: Vec<_> = r
            .weekly
            .iter()
            .map(|w| (w.day.clone(), w.assigned))
            .collect();
        let expected: Vec<_> = weeks.iter().map(|(k, e)| (k.clone(), e.assigned)).collect();
        assert_eq!(weekly, expected);
        // Reasons, overall and per rep.
        let mut reasons: BTreeMap<(String, String), u64> = BTreeMap::new();
        for f in facts
            .iter()
            .filter(|f| f.outcome == AssignmentOutcome::Rejected)
        {
            *reasons
                .entry((f.rep_id.to_string(), f.reason.clone().unwrap()))
                .or_default() += 1;
        }
        let got: BTreeMap<(String, String), u64> = r
            .reasons_by_rep
            .iter()
            .map(|s| ((s.key.clone(), s.code.clone()), s.rejections))
            .collect();
        assert_eq!(got, reasons);
        let total: u64 = r.by_reason.iter().map(|x| x.rejections).sum();
        assert_eq!(total, r.totals.rejected);
        // Calibration: decided offers per band, and leads received per score.
        let decided: Vec<_> = facts
            .iter()
            .filter(|f| {
                matches!(
                    f.outcome,
                    AssignmentOutcome::Accepted | AssignmentOutcome::Rejected
                )
            })
            .collect();
        assert_eq!(cal.decided, decided.len() as u64);
        for band in &cal.by_band {
            let acc = decided
                .iter()
                .filter(|f| {
                    f.score >= band.low && f.score < band.low + 10 + u32::from(band.low == 90)
                })
                .filter(|f| f.outcome == AssignmentOutcome::Accepted)
                .count() as u64;
            assert_eq!(band.accepted, acc, "band {}", band.band);
        }
        let s = cal.suggestion.as_ref().unwrap();
        if let Some(t) = s.threshold {
            let moved = scores
                .iter()
                .filter(|&&x| (x >= t && x < 50) || (x >= 50 && x < t))
                .count() as u64;
            assert_eq!(
                s.leads_to_sales + s.leads_from_sales,
                moved,
                "threshold {t}"
            );
        }
        // Queue stays began in the period, per team.
        let waits: u64 = r.queue_waits.iter().map(|q| q.queued).sum();
        if team.is_none() {
            assert!(waits > 0, "caps of 3 make leads wait");
        }
        for q in &r.queue_waits {
            assert_eq!(q.queued, q.assigned + q.withdrawn + q.waiting);
        }
    }

    // Rebuilding the rollups from the rows gives the same report.
    let whole = (Timestamp(first_day * DAY_MS), Timestamp(end_day * DAY_MS));
    let (before, ..) = report_of(&baton, &cfg, whole.0, whole.1, None).await;
    baton.rebuild_reports().await.unwrap();
    let (after, ..) = report_of(&baton, &cfg, whole.0, whole.1, None).await;
    assert_eq!(before, after);
    // Emptied, the report changes (it reads the rollups); filled again by
    // the domain's rebuild through the storage interface, it is the same.
    baton
        .db()
        .write(|tx| {
            tx.clear_rollups()?;
            Ok(())
        })
        .await
        .unwrap();
    let (emptied, ..) = report_of(&baton, &cfg, whole.0, whole.1, None).await;
    assert_ne!(before, emptied, "the report reads the rollups");
    baton
        .db()
        .write(baton_server::bookkeeping::rebuild)
        .await
        .unwrap();
    let (refilled, ..) = report_of(&baton, &cfg, whole.0, whole.1, None).await;
    assert_eq!(before, refilled);
}
