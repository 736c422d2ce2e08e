//! The manager's review, through baton-core (what the desktop app calls),
//! against the real server: failed intakes listed, retried and dismissed;
//! a CSV file checked then imported; a webhook registered, its log read,
//! a delivery replayed to a real receiver, then deleted.

use std::time::Duration;

use baton_core::profile::Profile;
use baton_core::review::{CsvFile, CsvImport, ImportOptions, Review, WebhookCreation};
use baton_protocol::{DeliveryStatus, EventType, NewWebhook, ReceiptStatus, Role, SourceOutcome};
use baton_tests::providers::{typeform_response, typeform_signature};
use baton_tests::receiver::{Answer, Receiver};
use baton_tests::*;

const SECRET: &str = "tf-secret-0123456789";

fn config() -> String {
    format!(
        r#"
qualification_threshold = 60
[[teams]]
name = "sales"
[webhooks]
allow_private_targets = true
[[sources]]
name = "quiz"
kind = "typeform"
secret = "{SECRET}"
score_max = 40
[sources.fields]
email = "work_email"
"#
    )
}

async fn review(server: &Server, manager: &Client) -> (tempfile::TempDir, Review) {
    let dir = tempfile::tempdir().unwrap();
    let profile = Profile::resolve(Some(dir.path().join("profile"))).unwrap();
    profile
        .sign_in_as(&server.base, &manager.token, &[Role::Manager])
        .await
        .expect("the manager signs in");
    let review = Review::open(&profile).unwrap();
    (dir, review)
}

#[tokio::test]
async fn a_manager_works_failed_intakes_imports_and_webhooks_through_the_client() {
    let mut server = Server::start(&config());
    let rep = server.add_rep("Ava", "sales", 1, 100);
    let manager = server.manager();
    let (_first, review) = self::review(&server, &manager).await;

    // A Typeform delivery scored out of 100 fails against score_max = 40.
    let body =
        serde_json::to_vec(&typeform_response("ev-1", "tok-1", 78, "a@acme.example")).unwrap();
    let r = reqwest::Client::new()
        .post(format!("{}/v1/intake/quiz", server.base))
        .header("content-type", "application/json")
        .header("typeform-signature", typeform_signature(SECRET, &body))
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
    let open = review
        .intake_failures(&baton_core::review::FailureQuery {
            status: Some(ReceiptStatus::Failed),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(open.receipts.len(), 1);
    let failed = &open.receipts[0];
    assert_eq!(failed.field.as_deref(), Some("score.value"));
    let still = review.retry_intake(failed.id).await.unwrap();
    assert_eq!(still.outcome, SourceOutcome::Failed);
    // The mapping is fixed; the retry takes it in.
    std::fs::write(
        server.config_path(),
        config().replace("score_max = 40\n", ""),
    )
    .unwrap();
    server.restart();
    // A new client, as the app has after the server went away and came back.
    let (_dir, review) = self::review(&server, &manager).await;
    let done = review.retry_intake(failed.id).await.unwrap();
    assert_eq!(done.outcome, SourceOutcome::Created);
    let lead = done.lead_id.unwrap();
    let receipts = review.lead_receipts(lead).await.unwrap();
    assert_eq!(receipts.receipts[0].status, ReceiptStatus::Reprocessed);

    // A CSV file: checked, then imported.
    let csv =
        b"Email,Name,Lead Score\nx@acme.example,X,70\ny@acme.example,Y,65\nbad,Bad,70\n".to_vec();
    let options = ImportOptions {
        source: "fair".into(),
        dry_run: true,
        no_route: false,
        mapping: vec![],
        score_max: None,
        channel: None,
    };
    let CsvImport::Done { summary } = review
        .import_csv(CsvFile::Bytes(csv.clone()), &options)
        .await
        .unwrap()
    else {
        panic!("refused")
    };
    assert_eq!((summary.created, summary.refused), (2, 1));
    let file = server.dir.path().join("fair.csv");
    std::fs::write(&file, &csv).unwrap();
    let real = ImportOptions {
        dry_run: false,
        ..options
    };
    let CsvImport::Done { summary } = review.import_csv(CsvFile::Path(file), &real).await.unwrap()
    else {
        panic!("refused")
    };
    assert_eq!(summary.created, 2);
    let (feed, _) = rep.sync_all("").await;
    assert_eq!(
        assigned_ids(&feed).len(),
        3,
        "the retried lead and two imported"
    );

    // A webhook: registered, delivered to, replayed, deleted.
    let receiver = Receiver::start(Answer::Ok).await;
    let WebhookCreation::Created { webhook } = review
        .create_webhook(&NewWebhook {
            url: receiver.url.clone(),
            events: vec![EventType::LeadAccepted],
            description: Some("CRM sync".into()),
        })
        .await
        .unwrap()
    else {
        panic!("refused")
    };
    receiver.set_secret(webhook.secret.as_deref().unwrap());
    assert_eq!(rep.accept(lead).await.status, 200);
    let got = receiver.wait_for(1, Duration::from_secs(5)).await;
    assert!(got[0].verified);
    let log = review
        .webhook_deliveries(webhook.id, None, None)
        .await
        .unwrap();
    assert_eq!(log.deliveries[0].status, DeliveryStatus::Delivered);
    let replayed = review
        .replay_delivery(webhook.id, log.deliveries[0].id)
        .await
        .unwrap();
    assert_eq!(replayed.message_id, got[0].id);
    let again = receiver.wait_for(2, Duration::from_secs(5)).await;
    assert_eq!(again[1].id, got[0].id);
    let refused = review
        .create_webhook(&NewWebhook {
            url: "ftp://nowhere.example/".into(),
            events: vec![EventType::LeadAccepted],
            description: None,
        })
        .await
        .unwrap();
    assert!(
        matches!(refused, WebhookCreation::Invalid { ref field, .. } if field == "url"),
        "{refused:?}"
    );
    review.delete_webhook(webhook.id).await.unwrap();
    assert!(review.webhooks().await.unwrap().webhooks.is_empty());
}
