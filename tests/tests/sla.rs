//! SLA: an offer not accepted in time is taken back, recorded, and routed on;
//! the lead never returns to a rep who let it expire.

use std::time::Duration;

use baton_protocol::{Change, LeadEventKind, LeadStatus, TakeAwayReason};
use baton_tests::*;
use reqwest::StatusCode;

const ONE_SECOND_SLA: &str = r#"
qualification_threshold = 60
[[teams]]
name = "sales"
sla_seconds = 1
"#;

#[tokio::test]
async fn an_offer_not_accepted_in_time_is_taken_back_and_routed_to_the_next_rep() {
    let server = Server::start(ONE_SECOND_SLA);
    let ava = server.add_rep("Ava", "sales", 1, 10);
    let ben = server.add_rep("Ben", "sales", 1, 10);
    let intake = server.intake();
    let manager = server.manager();
    let l = intake.push(&lead("sla-1")).await.lead;
    let first = l.assignment.clone().unwrap();
    let (first_rep, second_rep) = if first.rep_name == "Ava" {
        (&ava, &ben)
    } else {
        (&ben, &ava)
    };

    // The first rep's feed: assigned, then taken away for the SLA.
    let feed = eventually(Duration::from_secs(10), "SLA take-back", || {
        let c = first_rep.clone();
        async move {
            let (feed, _) = c.sync_all("").await;
            (feed.len() >= 2).then_some(feed)
        }
    })
    .await;
    match &feed[1].change {
        Change::LeadTakenAway {
            lead_id,
            reason,
            assignment_id,
            ..
        } => {
            assert_eq!(*lead_id, l.id);
            assert_eq!(*reason, TakeAwayReason::SlaExpired);
            assert_eq!(*assignment_id, first.id);
        }
        other => panic!("expected lead_taken_away, got {other:?}"),
    }
    // The second rep got it.
    let (feed2, _) = second_rep.sync_all("").await;
    assert_eq!(assigned_ids(&feed2), vec![l.id]);

    // Too late to accept: 409, with a message that says what happened.
    let late = first_rep.accept(l.id).await;
    assert_eq!(late.status, StatusCode::CONFLICT);
    assert_eq!(late.error_code(), "lead_not_yours");
    assert!(
        late.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("SLA")
    );

    // The breach and the re-route are on record.
    let history = manager.history(l.id).await;
    let kinds: Vec<_> = history.events.iter().map(|e| e.kind).collect();
    assert!(kinds.contains(&LeadEventKind::SlaExpired), "{kinds:?}");
    let offers = kinds
        .iter()
        .filter(|k| **k == LeadEventKind::Assigned)
        .count();
    assert!(offers >= 2, "offered, then re-routed: {kinds:?}");
    assert_eq!(
        history.assignments[0].outcome,
        baton_protocol::AssignmentOutcome::SlaExpired
    );
}

#[tokio::test]
async fn a_lead_is_never_offered_again_to_a_rep_who_let_it_expire() {
    let server = Server::start(ONE_SECOND_SLA);
    let _ava = server.add_rep("Ava", "sales", 1, 10);
    let _ben = server.add_rep("Ben", "sales", 1, 10);
    let intake = server.intake();
    let manager = server.manager();
    let l = intake.push(&lead("sla-2")).await.lead;
    // Both reps let it expire: it must end up queued, not bounce between them.
    let queued = eventually(
        Duration::from_secs(15),
        "lead queued after both reps expired",
        || {
            let m = manager.clone();
            async move {
                let r = m.lead(l.id).await;
                let lead: baton_protocol::Lead = r.json();
                (lead.status == LeadStatus::Queued).then_some(lead)
            }
        },
    )
    .await;
    assert!(queued.assignment.is_none());
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let history = manager.history(l.id).await;
    assert_eq!(
        history.assignments.len(),
        2,
        "offered once to each rep, never again"
    );
    let reps: std::collections::HashSet<_> = history.assignments.iter().map(|a| a.rep_id).collect();
    assert_eq!(reps.len(), 2);
    let q: baton_protocol::QueueList = manager.get("/v1/queue").await.json();
    assert_eq!(
        q.queued.iter().map(|q| q.lead_id).collect::<Vec<_>>(),
        vec![l.id]
    );
}
