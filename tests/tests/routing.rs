//! Routing: rules pick the team; weighted round robin within it; caps,
//! availability and the queue.

use std::time::Duration;

use baton_protocol::{Availability, LeadStatus, QueueList};
use baton_tests::*;

#[tokio::test]
async fn rules_pick_the_team_and_the_assignment_records_why() {
    let server = Server::start(TEAMS_BY_REGION);
    let emea = server.add_rep("Elsa", "emea", 1, 10);
    let amer = server.add_rep("Abe", "americas", 1, 10);
    let ent = server.add_rep("Ezra", "enterprise", 1, 10);
    let intake = server.intake();

    let de = intake.push(&lead("de-1")).await.lead;
    let mut us = lead("us-1");
    us.contact.country = Some("US".into());
    let us = intake.push(&us).await.lead;
    let mut big = lead("big-1");
    big.contact.company_size = Some(5000);
    let big = intake.push(&big).await.lead;

    let a = de.assignment.expect("assigned");
    assert_eq!(
        (a.team.as_str(), a.rule.as_str(), a.rep_name.as_str()),
        ("emea", "emea-by-region", "Elsa")
    );
    assert!(a.why.contains("region is emea"), "{}", a.why);
    let a = us.assignment.expect("assigned");
    assert_eq!((a.team.as_str(), a.rule.as_str()), ("americas", "fallback"));
    let a = big.assignment.expect("assigned");
    assert_eq!(
        (a.team.as_str(), a.rule.as_str()),
        ("enterprise", "big-accounts")
    );

    assert_eq!(assigned_ids(&emea.sync_all("").await.0), vec![de.id]);
    assert_eq!(assigned_ids(&amer.sync_all("").await.0), vec![us.id]);
    assert_eq!(assigned_ids(&ent.sync_all("").await.0), vec![big.id]);
}

#[tokio::test]
async fn round_robin_follows_the_reps_weights() {
    let server = Server::start(ONE_TEAM);
    let heavy = server.add_rep("Heavy", "sales", 2, 100);
    let light = server.add_rep("Light", "sales", 1, 100);
    let intake = server.intake();
    for i in 0..30 {
        intake.push(&lead(&format!("rr-{i}"))).await;
    }
    let h = assigned_ids(&heavy.sync_all("").await.0).len();
    let l = assigned_ids(&light.sync_all("").await.0).len();
    assert_eq!((h, l), (20, 10), "weights 2:1 split 30 leads 20/10");
}

#[tokio::test]
async fn a_rep_at_their_cap_is_skipped_and_leads_queue_until_room_frees() {
    let server = Server::start(ONE_TEAM);
    let ava = server.add_rep("Ava", "sales", 1, 1);
    let _ben = server.add_rep("Ben", "sales", 1, 1);
    let intake = server.intake();
    let manager = server.manager();
    let l1 = intake.push(&lead("cap-1")).await.lead;
    let l2 = intake.push(&lead("cap-2")).await.lead;
    let l3 = intake.push(&lead("cap-3")).await.lead;
    assert_eq!(l1.status, LeadStatus::Assigned);
    assert_eq!(l2.status, LeadStatus::Assigned);
    assert_ne!(
        l1.assignment.as_ref().unwrap().rep_id,
        l2.assignment.as_ref().unwrap().rep_id
    );
    assert_eq!(l3.status, LeadStatus::Queued, "both reps at cap 1");

    let queue: QueueList = manager.get("/v1/queue").await.json();
    assert_eq!(queue.queued.len(), 1);
    assert_eq!(queue.queued[0].lead_id, l3.id);
    assert_eq!(queue.queued[0].team, "sales");

    // Ava accepts her lead: her cap frees and the queued lead comes to her.
    let ava_lead = if l1.assignment.as_ref().unwrap().rep_name == "Ava" {
        l1.id
    } else {
        l2.id
    };
    assert_eq!(ava.accept(ava_lead).await.status, 200);
    let (feed, _) = ava.sync_all("").await;
    assert_eq!(assigned_ids(&feed), vec![ava_lead, l3.id]);
    let queue: QueueList = manager.get("/v1/queue").await.json();
    assert!(queue.queued.is_empty());
}

#[tokio::test]
async fn away_reps_get_nothing_and_coming_back_drains_the_queue() {
    let server = Server::start(ONE_TEAM);
    let ava = server.add_rep("Ava", "sales", 1, 10);
    let away = ava.set_availability(Availability::Away).await;
    assert_eq!(away.availability, Availability::Away);
    let intake = server.intake();
    let l1 = intake.push(&lead("away-1")).await.lead;
    let l2 = intake.push(&lead("away-2")).await.lead;
    assert_eq!(
        (l1.status, l2.status),
        (LeadStatus::Queued, LeadStatus::Queued)
    );
    assert!(ava.sync_all("").await.0.is_empty());

    let back = ava.set_availability(Availability::Available).await;
    assert_eq!(back.open_leads, 2, "both queued leads offered on return");
    let (feed, _) = ava.sync_all("").await;
    assert_eq!(
        assigned_ids(&feed),
        vec![l1.id, l2.id],
        "longest-waiting first"
    );
}

#[tokio::test]
async fn a_rep_added_while_the_server_runs_picks_up_the_queue() {
    let server = Server::start(ONE_TEAM);
    let intake = server.intake();
    let l = intake.push(&lead("late-1")).await.lead;
    assert_eq!(l.status, LeadStatus::Queued, "no reps yet");
    let rep = server.add_rep("Late", "sales", 1, 10);
    let feed = eventually(
        Duration::from_secs(20),
        "queued lead reaches the new rep",
        || {
            let rep = rep.clone();
            async move {
                let (feed, _) = rep.sync_all("").await;
                (!feed.is_empty()).then_some(feed)
            }
        },
    )
    .await;
    assert_eq!(assigned_ids(&feed), vec![l.id]);
}
