//! The CRM owner, written back: a rep's acceptance sets the HubSpot
//! contact's owner (and lead status), an offer sets the Salesforce Lead's
//! owner without assignment rules overriding it; rate limits are retried,
//! a missing record is a visible failure. Against local fakes that follow
//! the two APIs (tests/src/crm.rs).

use std::time::Duration;

use baton_protocol::{DeliveryStatus, EndpointKind, WebhookDeliveryList, WebhookList};
use baton_tests::crm;
use baton_tests::providers::{hubspot_contact, hubspot_v3_signature};
use baton_tests::*;
use reqwest::StatusCode;
use serde_json::json;

const HS_SECRET: &str = "hs-client-secret-0123456789";
const HS_TOKEN: &str = "pat-na1-11111111-2222-3333-4444-555555555555";
const SF_TOKEN: &str = "00D5e000000ABCD!AQ0AQTokenValue";

fn config(hubspot: &str, salesforce: &str, extra: &str) -> String {
    format!(
        r#"
qualification_threshold = 60
[[teams]]
name = "sales"
[[sources]]
name = "hubspot"
kind = "hubspot"
secret = "{HS_SECRET}"
[[sources]]
name = "salesforce"
kind = "json"
[sources.fields]
external_id = "/Id"
email = "/Email"
name = "/Name"
score = "/Score__c"
[crm.hubspot]
token = "{HS_TOKEN}"
api_url = "{hubspot}"
[crm.salesforce]
token = "{SF_TOKEN}"
instance_url = "{salesforce}"
on = "assigned"
{extra}
"#
    )
}

async fn from_hubspot(server: &Server, vid: i64, email: &str) -> i64 {
    let body = serde_json::to_vec(&hubspot_contact(vid, email, "80", "VP Sales")).unwrap();
    let uri = format!("{}/v1/intake/hubspot", server.base);
    let at = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let r = reqwest::Client::new()
        .post(&uri)
        .header("content-type", "application/json")
        .header(
            "X-HubSpot-Signature-v3",
            hubspot_v3_signature(HS_SECRET, "POST", &uri, &body, at),
        )
        .header("X-HubSpot-Request-Timestamp", at.to_string())
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let v: serde_json::Value = r.json().await.unwrap();
    v["lead_id"].as_i64().unwrap()
}

async fn endpoint(manager: &Client, kind: EndpointKind) -> baton_protocol::WebhookEndpoint {
    let list: WebhookList = manager.get("/v1/webhooks").await.json();
    list.webhooks
        .into_iter()
        .find(|w| w.kind == kind)
        .expect("the write-back endpoint")
}

async fn deliveries(manager: &Client, id: i64) -> WebhookDeliveryList {
    manager
        .get(&format!("/v1/webhooks/{id}/deliveries"))
        .await
        .json()
}

#[tokio::test]
async fn accepting_a_hubspot_lead_makes_the_rep_its_owner() {
    let hs = crm::hubspot(HS_TOKEN).await;
    let sf = crm::salesforce(SF_TOKEN).await;
    let server = Server::start(&config(&hs.url, &sf.url, ""));
    let rep = server.add_rep("Ava", "sales", 1, 10);
    let manager = server.manager();
    hs.add_owner("ava@reps.test", "41629779");
    hs.add_record("3501", json!({ "email": "priya@globex.example" }));
    hs.add_record("3502", json!({ "email": "raj@globex.example" }));

    let a = from_hubspot(&server, 3501, "priya@globex.example").await;
    let b = from_hubspot(&server, 3502, "raj@globex.example").await;
    // Offered, not accepted: nothing is written yet.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(hs.calls().is_empty(), "{:?}", hs.calls());
    assert_eq!(rep.accept(a).await.status, StatusCode::OK);
    eventually(
        Duration::from_secs(5),
        "the first contact owned",
        || async { hs.record("3501")?.get("hubspot_owner_id").map(|_| ()) },
    )
    .await;
    // The second acceptance finds the owner id remembered.
    assert_eq!(rep.accept(b).await.status, StatusCode::OK);
    eventually(Duration::from_secs(5), "both contacts owned", || async {
        let owned = |id| {
            hs.record(id)
                .and_then(|r| r.get("hubspot_owner_id").cloned())
        };
        (owned("3501") == Some(json!("41629779")) && owned("3502") == Some(json!("41629779")))
            .then_some(())
    })
    .await;
    assert_eq!(hs.record("3501").unwrap()["hs_lead_status"], "IN_PROGRESS");
    let calls = hs.calls();
    let lookups: Vec<_> = calls
        .iter()
        .filter(|c| c.path == "/crm/v3/owners")
        .collect();
    assert_eq!(lookups.len(), 1, "the owner is looked up once: {calls:?}");
    assert_eq!(lookups[0].query["email"], "ava@reps.test");
    let patch = calls.iter().find(|c| c.method == "PATCH").unwrap();
    assert_eq!(patch.path, "/crm/v3/objects/contacts/3501");
    assert_eq!(
        patch.headers["authorization"].to_str().unwrap(),
        format!("Bearer {HS_TOKEN}")
    );

    // Managers see the write-back and its log; it is not theirs to delete.
    let hook = endpoint(&manager, EndpointKind::Hubspot).await;
    assert!(hook.active);
    let log = deliveries(&manager, hook.id).await;
    assert_eq!(log.deliveries.len(), 2);
    assert!(
        log.deliveries
            .iter()
            .all(|d| d.status == DeliveryStatus::Delivered)
    );
    let del = manager
        .request(
            reqwest::Method::DELETE,
            &format!("/v1/webhooks/{}", hook.id),
            None,
            &[],
        )
        .await;
    assert_eq!(del.status, StatusCode::CONFLICT);
}

#[tokio::test]
async fn a_rate_limited_write_back_is_retried_and_a_missing_contact_is_a_visible_failure() {
    let hs = crm::hubspot(HS_TOKEN).await;
    let sf = crm::salesforce(SF_TOKEN).await;
    let server = Server::start(&config(&hs.url, &sf.url, ""));
    let rep = server.add_rep("Ava", "sales", 1, 10);
    let manager = server.manager();
    hs.add_owner("ava@reps.test", "41629779");
    hs.add_record("7001", json!({ "email": "kim@initech.example" }));
    hs.limit_next(1);
    let kept = from_hubspot(&server, 7001, "kim@initech.example").await;
    let gone = from_hubspot(&server, 7002, "lee@initech.example").await; // deleted in HubSpot
    rep.accept(kept).await;
    rep.accept(gone).await;
    let hook = endpoint(&manager, EndpointKind::Hubspot).await;
    let log = eventually(Duration::from_secs(12), "both settled", || async {
        let log = deliveries(&manager, hook.id).await;
        log.deliveries
            .iter()
            .all(|d| d.status != DeliveryStatus::Pending)
            .then_some(log)
    })
    .await;
    let by_lead = |id| log.deliveries.iter().find(|d| d.lead_id == id).unwrap();
    let retried = by_lead(kept);
    assert_eq!(retried.status, DeliveryStatus::Delivered);
    assert_eq!(retried.attempts, 2, "429 once, then done");
    let failed = by_lead(gone);
    assert_eq!(failed.status, DeliveryStatus::Failed);
    assert_eq!(failed.attempts, 1, "a missing contact is not retried");
    assert_eq!(failed.last_status, Some(404));
    assert!(
        failed
            .last_error
            .as_deref()
            .unwrap()
            .contains("OBJECT_NOT_FOUND"),
        "{failed:?}"
    );
    assert_eq!(hs.record("7001").unwrap()["hubspot_owner_id"], "41629779");
}

#[tokio::test]
async fn an_offer_sets_the_salesforce_owner_without_assignment_rules_overriding_it() {
    let hs = crm::hubspot(HS_TOKEN).await;
    let sf = crm::salesforce(SF_TOKEN).await;
    let server = Server::start(&config(&hs.url, &sf.url, ""));
    server.add_rep("O'Brien", "sales", 1, 10);
    let manager = server.manager();
    sf.add_owner("o'brien@reps.test", "0055e000001AbCdAAK");
    sf.add_record(
        "00Q5e00000XyZ12EAF",
        json!({ "Email": "dana@umbrella.example" }),
    );
    sf.limit_next(1);
    let token = server.admin(&[
        "intake-key",
        "add",
        "--label",
        "sf",
        "--source",
        "salesforce",
    ]);
    let pushed = server
        .client(&token)
        .post(
            "/v1/intake/salesforce",
            &json!({ "Id": "00Q5e00000XyZ12EAF", "Email": "dana@umbrella.example", "Name": "Dana", "Score__c": 77 }),
        )
        .await;
    assert_eq!(pushed.status, StatusCode::CREATED, "{:?}", pushed.body);
    eventually(
        Duration::from_secs(12),
        "the Salesforce lead owned",
        || async {
            (sf.record("00Q5e00000XyZ12EAF")?.get("OwnerId")? == &json!("0055e000001AbCdAAK"))
                .then_some(())
        },
    )
    .await;
    let calls = sf.calls();
    let patch = calls.iter().rfind(|c| c.method == "PATCH").unwrap();
    assert_eq!(
        patch.path,
        "/services/data/v60.0/sobjects/Lead/00Q5e00000XyZ12EAF"
    );
    assert_eq!(patch.headers["sforce-auto-assign"], "FALSE");
    assert_eq!(patch.body, json!({ "OwnerId": "0055e000001AbCdAAK" }));
    let query = calls.iter().find(|c| c.path.ends_with("/query")).unwrap();
    assert!(
        query.query["q"].contains("Email = 'o\\'brien@reps.test'"),
        "{:?}",
        query.query
    );
    // The first request met REQUEST_LIMIT_EXCEEDED and was retried.
    let hook = endpoint(&manager, EndpointKind::Salesforce).await;
    let log = deliveries(&manager, hook.id).await;
    assert_eq!(log.deliveries[0].attempts, 2);
    // HubSpot's write-back takes only HubSpot's leads.
    assert!(hs.calls().is_empty());
}
