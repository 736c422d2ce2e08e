//! CSV import through `baton-server import` and `POST /v1/imports`: header
//! matching, dry runs, de-duplication, refusals naming line and field,
//! re-imports that change nothing, and history imported without routing.

use std::fmt::Write as _;

use baton_protocol::{ImportSummary, LeadStatus};
use baton_tests::*;
use reqwest::StatusCode;

/// `n` rows with the headers a CRM export has, then a duplicate of row 3
/// (by email, in other case) and a row with a bad email.
fn export_csv(n: usize, score: u32) -> String {
    let mut csv = String::from("Email Address,First Name,Last Name,Company,Lead Score,Notes\n");
    for i in 0..n {
        writeln!(
            csv,
            "lead{i}@acme.example,Lead,Number {i},\"Acme, Inc.\",{score},called twice"
        )
        .unwrap();
    }
    writeln!(csv, "LEAD3@ACME.EXAMPLE,Dup,Licate,Acme,90,").unwrap();
    writeln!(csv, "not-an-email,Bad,Row,Acme,90,").unwrap();
    csv
}

fn import(server: &Server, file: &std::path::Path, extra: &[&str]) -> ImportSummary {
    let mut args = vec!["import", "--source", "fair-2026", "--json"];
    args.extend_from_slice(extra);
    let path = file.to_str().unwrap().to_string();
    args.push(&path);
    serde_json::from_str(&server.admin(&args)).expect("summary JSON")
}

#[tokio::test]
async fn a_crm_export_is_imported_routed_and_a_second_import_changes_nothing() {
    let server = Server::start(ONE_TEAM);
    let rep = server.add_rep("Ava", "sales", 1, 10_000);
    let manager = server.manager();
    let file = server.dir.path().join("fair.csv");
    std::fs::write(&file, export_csv(1200, 75)).unwrap();

    // A dry run says what would happen and writes nothing.
    let dry = import(&server, &file, &["--dry-run"]);
    assert!(dry.dry_run);
    assert_eq!((dry.rows, dry.created, dry.refused), (1202, 1200, 2));
    let leads = manager.get("/v1/leads").await;
    assert!(leads.body["leads"].as_array().unwrap().is_empty());

    let done = import(&server, &file, &[]);
    assert_eq!(
        (done.created, done.updated, done.unchanged, done.refused),
        (1200, 0, 0, 2)
    );
    let columns: Vec<_> = done
        .columns
        .iter()
        .map(|c| (c.header.as_str(), c.field.as_str()))
        .collect();
    assert_eq!(
        columns,
        [
            ("Email Address", "email"),
            ("First Name", "first_name"),
            ("Last Name", "last_name"),
            ("Company", "company"),
            ("Lead Score", "score"),
        ]
    );
    assert_eq!(done.ignored_columns, ["Notes"]);
    let refusals: Vec<_> = done
        .refusals
        .iter()
        .map(|r| (r.line, r.field.as_str()))
        .collect();
    assert_eq!(refusals, [(1202, "external_id"), (1203, "contact.email")]);
    assert!(
        done.refusals[0].message.contains("line 5"),
        "{:?}",
        done.refusals[0]
    );

    // Routed like pushed leads: the rep has them all.
    let (feed, _) = rep.sync_all("").await;
    assert_eq!(assigned_ids(&feed).len(), 1200);
    let first = manager.lead(assigned_ids(&feed)[0]).await.body;
    assert_eq!(first["external_id"], "fair-2026:lead0@acme.example");
    assert_eq!(first["contact"]["name"], "Lead Number 0");
    assert_eq!(first["contact"]["company"], "Acme, Inc.");
    assert_eq!(first["source"]["channel"], "fair-2026");

    // The same file again: nothing changes, nobody is offered anything twice.
    let again = import(&server, &file, &[]);
    assert_eq!(
        (again.created, again.updated, again.unchanged),
        (0, 0, 1200)
    );
    let (feed, _) = rep.sync_all("").await;
    assert_eq!(assigned_ids(&feed).len(), 1200);
}

#[tokio::test]
async fn history_imported_with_no_route_is_offered_to_nobody() {
    let server = Server::start(ONE_TEAM);
    let rep = server.add_rep("Ava", "sales", 1, 100);
    let manager = server.manager();
    let file = server.dir.path().join("history.csv");
    std::fs::write(&file, export_csv(30, 90)).unwrap();
    let s = import(&server, &file, &["--no-route"]);
    assert_eq!(s.created, 30);
    assert!(!s.routed);
    let (feed, _) = rep.sync_all("").await;
    assert!(feed.is_empty(), "{feed:?}");
    let leads = manager.get("/v1/leads?limit=100").await;
    let leads = leads.body["leads"].as_array().unwrap().clone();
    assert_eq!(leads.len(), 30);
    assert!(
        leads
            .iter()
            .all(|l| l["status"] == serde_json::json!(LeadStatus::Nurture))
    );
}

#[tokio::test]
async fn a_manager_imports_through_the_api_with_an_explicit_mapping() {
    let server = Server::start(ONE_TEAM);
    let rep = server.add_rep("Ava", "sales", 1, 100);
    let manager = server.manager();
    let csv = "id,mail,Rating (0-10),name\n\
               c-1,ann@acme.example,8,Ann\n\
               c-2,bob@acme.example,4,Bob\n\
               c-3,cy@acme.example,11,Cy\n";
    let http = reqwest::Client::new();
    let post = |query: &str, body: String, token: &str| {
        http.post(format!("{}/v1/imports?{query}", server.base))
            .bearer_auth(token)
            .header("content-type", "text/csv")
            .body(body)
            .send()
    };
    let query = "source=webinar&map.email=mail&map.score=Rating%20(0-10)&score_max=10";
    let r = post(&format!("{query}&dry_run=true"), csv.into(), &manager.token)
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let dry: ImportSummary = r.json().await.unwrap();
    assert_eq!((dry.created, dry.refused), (2, 1));
    assert_eq!(dry.refusals[0].line, 4);
    assert_eq!(dry.refusals[0].field, "score.value");
    assert!(
        dry.refusals[0].message.contains("outside 0–10"),
        "{:?}",
        dry.refusals
    );

    let r = post(query, csv.into(), &manager.token).await.unwrap();
    let done: ImportSummary = r.json().await.unwrap();
    assert_eq!(done.created, 2);
    // 8/10 → 80 qualifies; 4/10 → 40 stays with marketing.
    let (feed, _) = rep.sync_all("").await;
    assert_eq!(assigned_ids(&feed).len(), 1);

    // Reps may not import; a file with no score column is refused whole.
    let r = post(query, csv.into(), &rep.token).await.unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let r = post(
        "source=webinar",
        "email,name\na@b.example,A\n".into(),
        &manager.token,
    )
    .await
    .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["error"]["field"], "header");
    let r = post("source=Bad%20Name", csv.into(), &manager.token)
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn an_upload_over_the_bound_is_413() {
    let server = Server::start(&format!("{ONE_TEAM}\n[limits]\nimport_max_mib = 1\n"));
    let manager = server.manager();
    let big = export_csv(30_000, 70);
    assert!(big.len() > 1024 * 1024);
    let r = reqwest::Client::new()
        .post(format!("{}/v1/imports?source=big", server.base))
        .bearer_auth(&manager.token)
        .body(big)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE);
}
