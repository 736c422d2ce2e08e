//! The handoff report counts what happened, checked against counts this test
//! keeps itself.

use baton_protocol::HandoffReport;
use baton_tests::*;

#[tokio::test]
async fn report_figures_match_the_decisions_made() {
    let server = Server::start(ONE_TEAM);
    let ava = server.add_rep("Ava", "sales", 1, 100);
    let ben = server.add_rep("Ben", "sales", 1, 100);
    let intake = server.intake();
    let manager = server.manager();
    let reps = [("Ava", ava), ("Ben", ben)];
    // (accepted, rejected) per rep, and rejections per reason, counted here.
    let mut expect = std::collections::HashMap::<String, (u64, u64)>::new();
    let mut reasons = std::collections::HashMap::<&str, u64>::new();
    for i in 0..12 {
        let mut l = lead(&format!("rp-{i}"));
        l.source.channel = if i % 3 == 0 {
            "referral".into()
        } else {
            "webinar".into()
        };
        l.score.value = 60 + (i * 3) as u32;
        l.source.campaign = (i < 5).then(|| "spring-webinar".to_string());
        let l = intake.push(&l).await.lead;
        let holder = l.assignment.as_ref().unwrap().rep_name.clone();
        let client = &reps.iter().find(|(n, _)| *n == holder).unwrap().1;
        let e = expect.entry(holder).or_default();
        match i % 4 {
            0 | 1 => {
                assert_eq!(client.accept(l.id).await.status, 200);
                e.0 += 1;
            }
            2 => {
                assert_eq!(client.reject(l.id, "no_budget", None).await.status, 200);
                e.1 += 1;
                *reasons.entry("no_budget").or_default() += 1;
            }
            _ => {
                assert_eq!(
                    client.reject(l.id, "other", Some("duplicate")).await.status,
                    200
                );
                e.1 += 1;
                *reasons.entry("other").or_default() += 1;
            }
        }
    }
    let report: HandoffReport = manager.get("/v1/reports/handoff").await.json();
    assert_eq!(report.totals.assigned, 12);
    assert_eq!(report.totals.accepted, 6);
    assert_eq!(report.totals.rejected, 6);
    assert_eq!(report.totals.acceptance_rate, Some(0.5));
    for row in &report.by_rep {
        let (a, r) = expect[&row.label];
        assert_eq!((row.accepted, row.rejected), (a, r), "rep {}", row.label);
    }
    let referral = report
        .by_source
        .iter()
        .find(|r| r.key == "referral")
        .unwrap();
    assert_eq!(referral.assigned, 4);
    for row in &report.by_reason {
        assert_eq!(row.rejections, reasons[row.code.as_str()], "{}", row.code);
    }
    assert_eq!(report.feedback_log.len(), 12);
    let with_note = report
        .feedback_log
        .iter()
        .filter(|e| e.note.as_deref() == Some("duplicate"))
        .count();
    assert_eq!(with_note as u64, reasons["other"]);
    assert!(report.totals.median_seconds_to_accept.is_some());

    // Speed: every decision here came within a second of its offer.
    assert_eq!(report.totals.decided_within_5_min, Some(1.0));
    assert_eq!(
        report.totals.decision_time_histogram.iter().sum::<u64>(),
        12,
        "every decision in one bucket or another"
    );
    assert_eq!(report.totals.decision_time_histogram[0], 12);
    // One team, one day (the test runs in seconds, unless it straddles
    // midnight UTC), and the offers per rep as this test counted them.
    assert_eq!(report.by_team.len(), 1);
    assert_eq!(report.by_team[0].assigned, 12);
    assert_eq!(report.daily.iter().map(|d| d.assigned).sum::<u64>(), 12);
    assert_eq!(report.weekly.iter().map(|d| d.assigned).sum::<u64>(), 12);
    // Campaigns: the first five leads named one, the rest none.
    let campaigns: Vec<_> = report
        .by_campaign
        .iter()
        .map(|c| (c.label.as_str(), c.assigned))
        .collect();
    assert_eq!(campaigns, [("No campaign", 7), ("spring-webinar", 5)]);
    for f in &report.fairness {
        let (a, r) = expect[&f.rep_name];
        assert_eq!(f.offered, a + r, "rep {}", f.rep_name);
        assert_eq!(f.accepted, a);
        assert!((f.share_of_weight - 0.5).abs() < 1e-12, "equal weights");
    }
    let split: u64 = report
        .reasons_by_rep
        .iter()
        .filter(|s| s.code == "other")
        .map(|s| s.rejections)
        .sum();
    assert_eq!(split, reasons["other"]);
}

/// Calibration over HTTP, against answers this test works out on its own
/// (brute force over every threshold, plain counting per band).
#[tokio::test]
async fn calibration_matches_an_independent_count_and_is_for_managers_only() {
    let server = Server::start(ONE_TEAM); // threshold 60
    let ava = server.add_rep("Ava", "sales", 1, 1000);
    let intake = server.intake();
    let manager = server.manager();
    // (score, channel, accepted): paid_search is rejected far more often.
    let mut decided: Vec<(u32, &str, bool)> = Vec::new();
    let mut scores: Vec<u32> = Vec::new();
    for i in 0..80u32 {
        let score = 60 + (i * 7) % 40;
        let channel = if i % 2 == 0 { "paid_search" } else { "webinar" };
        let accept = if channel == "paid_search" {
            i % 16 == 0 || score >= 90
        } else {
            i % 5 != 0
        };
        let mut l = lead(&format!("cal-{i}"));
        l.source.channel = channel.into();
        l.score.value = score;
        let l = intake.push(&l).await.lead;
        scores.push(score);
        let status = if accept {
            ava.accept(l.id).await.status
        } else {
            ava.reject(l.id, "no_budget", None).await.status
        };
        assert_eq!(status, 200);
        decided.push((score, channel, accept));
    }
    // Leads below the threshold: received, never offered.
    for (i, score) in [20u32, 45, 59].into_iter().enumerate() {
        let mut l = lead(&format!("low-{i}"));
        l.score.value = score;
        intake.push(&l).await;
        scores.push(score);
    }

    let r: baton_protocol::CalibrationReport = manager
        .get("/v1/reports/calibration?target=0.8")
        .await
        .json();
    assert_eq!(r.threshold, 60);
    assert_eq!(r.decided, 80);
    assert_eq!(r.accepted, decided.iter().filter(|d| d.2).count() as u64);
    for band in &r.by_band {
        let in_band: Vec<_> = decided
            .iter()
            .filter(|d| d.0 >= band.low && d.0 < band.low + 10)
            .collect();
        let acc = in_band.iter().filter(|d| d.2).count() as u64;
        assert_eq!(
            (band.accepted, band.rejected),
            (acc, in_band.len() as u64 - acc),
            "band {}",
            band.band
        );
    }
    // The lowest threshold (from the lowest decided score) whose offers at
    // or above it were accepted at 80% or better, by brute force.
    let lowest = decided.iter().map(|d| d.0).min().unwrap();
    let expected = (lowest..=100).find(|&t| {
        let above: Vec<_> = decided.iter().filter(|d| d.0 >= t).collect();
        !above.is_empty() && above.iter().filter(|d| d.2).count() as f64 / above.len() as f64 >= 0.8
    });
    let s = r.suggestion.expect("a target was given");
    assert_eq!(s.threshold, expected);
    let t = expected.expect("the data reaches 80% at some threshold");
    assert!(t > 60, "paid search drags the rate down at low scores");
    assert_eq!(
        s.leads_from_sales,
        scores.iter().filter(|&&x| x >= 60 && x < t).count() as u64
    );
    assert_eq!(s.leads_to_sales, 0);
    let paid = r
        .by_source
        .iter()
        .find(|x| x.source == "paid_search")
        .unwrap();
    let webinar = r.by_source.iter().find(|x| x.source == "webinar").unwrap();
    assert!(paid.flagged, "{paid:?}");
    assert!(!webinar.flagged, "{webinar:?}");

    // A bad target is refused with the field named; a rep may not look.
    let bad = manager.get("/v1/reports/calibration?target=80").await;
    assert_eq!(bad.status, 400);
    assert_eq!(bad.error_field(), "target");
    assert_eq!(ava.get("/v1/reports/calibration").await.status, 403);
}

/// A manager reviews one team: every figure, the log and the calibration
/// hold that team's offers only.
#[tokio::test]
async fn reports_for_one_team_hold_only_its_offers() {
    let server = Server::start(TEAMS_BY_REGION);
    let elsa = server.add_rep("Elsa", "emea", 1, 100);
    let abe = server.add_rep("Abe", "americas", 1, 100);
    let intake = server.intake();
    let manager = server.manager();
    // 5 leads to emea (3 accepted), 3 to americas (all rejected).
    for i in 0..8 {
        let mut l = lead(&format!("team-{i}"));
        let emea = i < 5;
        l.contact.country = Some(if emea { "DE" } else { "US" }.into());
        let l = intake.push(&l).await.lead;
        let status = match (emea, i < 3) {
            (true, true) => elsa.accept(l.id).await.status,
            (true, false) => elsa.reject(l.id, "no_budget", None).await.status,
            (false, _) => abe.reject(l.id, "no_budget", None).await.status,
        };
        assert_eq!(status, 200);
    }
    let all: HandoffReport = manager.get("/v1/reports/handoff").await.json();
    assert_eq!((all.totals.assigned, all.totals.accepted), (8, 3));
    let emea: HandoffReport = manager.get("/v1/reports/handoff?team=emea").await.json();
    assert_eq!(
        (
            emea.totals.assigned,
            emea.totals.accepted,
            emea.totals.rejected
        ),
        (5, 3, 2)
    );
    assert_eq!(emea.feedback_log.len(), 5);
    assert!(emea.feedback_log.iter().all(|e| e.rep_name == "Elsa"));
    assert_eq!(emea.fairness.len(), 1, "only the team's reps");
    let cal: baton_protocol::CalibrationReport = manager
        .get("/v1/reports/calibration?team=americas")
        .await
        .json();
    assert_eq!((cal.decided, cal.accepted), (3, 0));
    let bad = manager.get("/v1/reports/handoff?team=nowhere").await;
    assert_eq!(bad.status, 400);
    assert_eq!(bad.error_field(), "team");
}

/// A lead that found its only rep at their cap waited in the queue; the
/// report says so, with how the stay ended and how long it lasted.
#[tokio::test]
async fn queue_waits_say_who_waited_and_how_it_ended() {
    let server = Server::start(ONE_TEAM);
    let ava = server.add_rep("Ava", "sales", 1, 1);
    let intake = server.intake();
    let manager = server.manager();
    let first = intake.push(&lead("qw-1")).await.lead;
    let second = intake.push(&lead("qw-2")).await.lead;
    assert!(second.assignment.is_none(), "Ava is at her cap of 1");
    let report: HandoffReport = manager.get("/v1/reports/handoff").await.json();
    let q = &report.queue_waits[0];
    assert_eq!((q.queued, q.assigned, q.waiting), (1, 0, 1));
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(ava.accept(first.id).await.status, 200);
    let report: HandoffReport = manager.get("/v1/reports/handoff").await.json();
    let q = &report.queue_waits[0];
    assert_eq!(q.team, "sales");
    assert_eq!((q.queued, q.assigned, q.withdrawn, q.waiting), (1, 1, 0, 0));
    let waited = q.median_wait_seconds.unwrap();
    assert!(waited >= 0.3, "waited {waited} s");
    assert_eq!(q.longest_wait_seconds, Some(waited));
}
