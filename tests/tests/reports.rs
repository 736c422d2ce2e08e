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
}
