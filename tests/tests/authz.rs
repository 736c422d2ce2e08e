//! Who may do what: reps see and act on their own leads only, reports are
//! for managers, intake keys only push.

use baton_protocol::{HandoffReport, LeadList};
use baton_tests::*;
use reqwest::StatusCode;
use serde_json::json;

#[tokio::test]
async fn the_authorisation_matrix_holds() {
    let server = Server::start(ONE_TEAM);
    let ava = server.add_rep("Ava", "sales", 1, 10);
    let _ben = server.add_rep("Ben", "sales", 1, 10);
    let intake = server.intake();
    let manager = server.manager();
    let l1 = intake.push(&lead("az-1")).await.lead;
    let l2 = intake.push(&lead("az-2")).await.lead;
    let (avas, bens) = if l1.assignment.as_ref().unwrap().rep_name == "Ava" {
        (l1, l2)
    } else {
        (l2, l1)
    };

    // Rep A can neither read nor answer rep B's lead.
    assert_eq!(ava.lead(bens.id).await.status, StatusCode::NOT_FOUND);
    assert_eq!(
        ava.get(&format!("/v1/leads/{}/history", bens.id))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    let r = ava.accept(bens.id).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{r:?}");
    let still: baton_protocol::Lead = manager.lead(bens.id).await.json();
    assert_eq!(
        still.status,
        baton_protocol::LeadStatus::Assigned,
        "B's lead untouched"
    );
    // …but can read their own.
    assert_eq!(ava.lead(avas.id).await.status, StatusCode::OK);
    let own: LeadList = ava.get("/v1/leads").await.json();
    assert_eq!(
        own.leads.iter().map(|l| l.id).collect::<Vec<_>>(),
        vec![avas.id]
    );

    // Reports and manager views: managers only.
    for path in ["/v1/reports/handoff", "/v1/reps", "/v1/queue"] {
        assert_eq!(ava.get(path).await.status, StatusCode::FORBIDDEN, "{path}");
        assert_eq!(
            intake.get(path).await.status,
            StatusCode::FORBIDDEN,
            "{path}"
        );
        assert_eq!(manager.get(path).await.status, StatusCode::OK, "{path}");
    }
    let report: HandoffReport = manager.get("/v1/reports/handoff").await.json();
    assert_eq!(report.totals.assigned, 2);
    let all: LeadList = manager.get("/v1/leads").await.json();
    assert_eq!(all.leads.len(), 2);

    // Intake keys push, and nothing else; reps and managers cannot push.
    assert_eq!(intake.get("/v1/sync").await.status, StatusCode::FORBIDDEN);
    assert_eq!(intake.get("/v1/leads").await.status, StatusCode::FORBIDDEN);
    assert_eq!(
        ava.post("/v1/leads", &lead("az-3")).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        manager.post("/v1/leads", &lead("az-3")).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(manager.get("/v1/sync").await.status, StatusCode::FORBIDDEN);
    assert_eq!(
        manager
            .feedback(avas.id, json!({"decision": "accept"}), "m-1")
            .await
            .status,
        StatusCode::FORBIDDEN
    );

    // No token, a wrong token, a revoked token.
    let anon = server.client("");
    let r = anon
        .http
        .get(format!("{}/v1/me", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let wrong = server.client("btn_rep_0000");
    let r = wrong.get("/v1/me").await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(r.error_code(), "unauthorized");
    let revoked = server.add_rep("Cy", "sales", 1, 10);
    // Used just before: the server remembers who the token belongs to.
    assert_eq!(revoked.get("/v1/me").await.status, StatusCode::OK);
    let out = std::process::Command::new(binary("baton-server"))
        .args(["token", "revoke", "--db"])
        .arg(server.db_arg())
        .stdin(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            use std::io::Write;
            c.stdin
                .take()
                .unwrap()
                .write_all(format!("{}\n", revoked.token).as_bytes())?;
            c.wait()
        })
        .unwrap();
    assert!(out.success());
    // Revoked from another process: refused within a second (auth.rs,
    // PRINCIPAL_TTL), and refused for good from then on.
    let revoked_at = std::time::Instant::now();
    while revoked.get("/v1/me").await.status != StatusCode::UNAUTHORIZED {
        assert!(
            revoked_at.elapsed() < std::time::Duration::from_secs(1),
            "a revoked token still worked after a second"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    for _ in 0..5 {
        assert_eq!(revoked.get("/v1/me").await.status, StatusCode::UNAUTHORIZED);
    }
}

#[tokio::test]
async fn tokens_never_appear_in_the_log() {
    let server = Server::start_with(ONE_TEAM, &[], &[("RUST_LOG", "debug")]);
    let ava = server.add_rep("Ava", "sales", 1, 10);
    let intake = server.intake();
    let manager = server.manager();
    let l = intake.push(&lead("log-1")).await.lead;
    ava.sync_all("").await;
    ava.accept(l.id).await;
    manager.get("/v1/reports/handoff").await;
    server
        .client("btn_rep_secret-but-wrong")
        .get("/v1/me")
        .await;
    let log = server.log();
    assert!(
        log.contains("/v1/sync"),
        "requests are logged at debug: {log}"
    );
    for token in [
        &ava.token,
        &intake.token,
        &manager.token,
        &"btn_rep_secret-but-wrong".to_string(),
    ] {
        assert!(!log.contains(token.as_str()), "token leaked into the log");
    }
}
