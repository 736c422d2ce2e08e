//! Managers' outbound webhooks on the server: endpoints, their delivery
//! logs, and replays.

use std::time::Duration;

use baton_protocol::{
    ErrorCode, NewWebhook, WebhookDelivery, WebhookDeliveryList, WebhookEndpoint, WebhookList,
};

use super::agreement::FormAnswer;
use super::{ApiClient, classify_error, content_type, decode, error_of, offline};
use crate::error::Result;
use crate::review::WebhookCreation;

/// Reads the answer to registering an endpoint as a form's: a 422 naming
/// the field the server would not take (`url`, `events`) is for the form
/// to show next to that field, not an error.
fn created(answer: FormAnswer<WebhookEndpoint>) -> WebhookCreation {
    match answer {
        FormAnswer::Saved { value } => WebhookCreation::Created { webhook: value },
        FormAnswer::Invalid { field, message } => WebhookCreation::Invalid { field, message },
    }
}

/// Reads the answer to deleting an endpoint: gone is what a delete wants,
/// so baton-server's 404 for an endpoint already deleted (by another
/// manager, or by an earlier try whose answer was lost) counts as done.
pub(crate) fn deletion_answer(status: u16, content_type: &str, text: &str) -> Result<()> {
    if (200..=299).contains(&status) {
        return Ok(());
    }
    match classify_error(status, content_type, text) {
        e if status == 404 && e.refusal() == Some(ErrorCode::NotFound) => Ok(()),
        e => Err(e),
    }
}

impl ApiClient {
    /// The registered endpoints, without their secrets (managers only).
    pub async fn webhooks(&self) -> Result<WebhookList> {
        self.get("/v1/webhooks").await
    }

    /// Registers an endpoint (managers only). The answer carries the
    /// signing secret, which the server never shows again.
    pub async fn create_webhook(&self, new: &NewWebhook) -> Result<WebhookCreation> {
        // The endpoint may be registered though its answer (and secret) is
        // lost: send_form says so rather than guess.
        self.send_form(reqwest::Method::POST, "/v1/webhooks", new, "")
            .await
            .map(created)
    }

    /// Deletes an endpoint; its undelivered events are cancelled (managers only).
    pub async fn delete_webhook(&self, id: i64) -> Result<()> {
        let resp = self
            .http
            .delete(format!("{}/v1/webhooks/{id}", self.base))
            .bearer_auth(&self.token)
            .timeout(Duration::from_secs(30))
            .send()
            .await
            .map_err(offline)?;
        let status = resp.status().as_u16();
        let content_type = content_type(&resp);
        let text = resp.text().await.unwrap_or_default();
        deletion_answer(status, &content_type, &text)
    }

    /// One endpoint's deliveries, newest first (managers only).
    pub async fn webhook_deliveries(
        &self,
        id: i64,
        before: Option<i64>,
        limit: u32,
    ) -> Result<WebhookDeliveryList> {
        let before = before.map(|b| format!("&before={b}")).unwrap_or_default();
        self.get(&format!(
            "/v1/webhooks/{id}/deliveries?limit={limit}{before}"
        ))
        .await
    }

    /// Sends a delivery again with its original `webhook-id` (managers
    /// only); refused (`conflict`) when the endpoint was disabled.
    pub async fn replay_delivery(&self, id: i64, delivery: i64) -> Result<WebhookDelivery> {
        let path = format!("/v1/webhooks/{id}/deliveries/{delivery}/replay");
        let resp = self.post_action(&path).await?;
        if !resp.status().is_success() {
            return Err(error_of(resp).await);
        }
        let text = resp.text().await.map_err(offline)?;
        decode(&format!("POST {path}"), &text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::CoreError;

    const WHAT: &str = "POST /v1/webhooks";

    fn creation_answer(
        what: &str,
        status: u16,
        content_type: &str,
        text: &str,
    ) -> Result<WebhookCreation> {
        Ok(created(super::super::agreement::form_answer(
            what,
            status,
            content_type,
            text,
            "",
        )?))
    }

    #[test]
    fn a_refused_url_or_event_list_is_an_answer_naming_the_field() {
        let body = r#"{"error":{"code":"invalid_field","message":"must be https (http is accepted only with [webhooks] allow_private_targets)","field":"url"}}"#;
        let answer = creation_answer(WHAT, 422, "application/json", body).unwrap();
        assert_eq!(
            answer,
            WebhookCreation::Invalid {
                field: "url".into(),
                message:
                    "must be https (http is accepted only with [webhooks] allow_private_targets)"
                        .into(),
            }
        );

        // A 422 without a field, or in a body that is not Baton's, is not
        // something a form can point at.
        let no_field = r#"{"error":{"code":"invalid_field","message":"no"}}"#;
        let e = creation_answer(WHAT, 422, "application/json", no_field).unwrap_err();
        assert_eq!(e.refusal(), Some(ErrorCode::InvalidField), "{e:?}");
        let e = creation_answer(WHAT, 422, "text/html", "<html>422</html>").unwrap_err();
        assert!(e.is_transient(), "{e:?}");
    }

    #[test]
    fn a_registered_endpoint_comes_with_its_secret_and_a_full_server_is_a_conflict() {
        let made = r#"{"id":3,"url":"https://hooks.example.com/baton","events":["lead.accepted"],"active":true,"pending":0,"created_at":"2026-12-01T09:00:00Z","secret":"whsec_abc"}"#;
        let WebhookCreation::Created { webhook } =
            creation_answer(WHAT, 201, "application/json", made).unwrap()
        else {
            panic!("not created");
        };
        assert_eq!(webhook.secret.as_deref(), Some("whsec_abc"));

        let full = r#"{"error":{"code":"conflict","message":"this server already has 50 webhooks, the most it holds; delete one first"}}"#;
        let e = creation_answer(WHAT, 409, "application/json", full).unwrap_err();
        assert_eq!(e.refusal(), Some(ErrorCode::Conflict));
        assert!(e.to_string().contains("delete one first"), "{e}");

        let e = creation_answer(WHAT, 201, "application/json", r#"{"id":3}"#).unwrap_err();
        assert!(matches!(e, CoreError::IncompatibleServer(_)), "{e:?}");
    }

    #[test]
    fn deleting_an_endpoint_already_gone_is_done_but_a_proxys_404_is_not() {
        assert!(deletion_answer(204, "", "").is_ok());
        let gone = r#"{"error":{"code":"not_found","message":"no webhook with id 4"}}"#;
        assert!(deletion_answer(404, "application/json", gone).is_ok());
        let e = deletion_answer(404, "text/html", "<html>404</html>").unwrap_err();
        assert!(e.is_transient(), "{e:?}");
        let forbidden = r#"{"error":{"code":"forbidden","message":"managers only"}}"#;
        let e = deletion_answer(403, "application/json", forbidden).unwrap_err();
        assert_eq!(e.refusal(), Some(ErrorCode::Forbidden));
    }
}
