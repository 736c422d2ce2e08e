//! Managers' outbound webhooks on the server: endpoints, their delivery
//! logs, and replays.

use std::time::Duration;

use baton_protocol::{
    ErrorBody, ErrorCode, NewWebhook, WebhookDelivery, WebhookDeliveryList, WebhookEndpoint,
    WebhookList,
};

use super::{ApiClient, classify_error, content_type, decode, error_of, offline};
use crate::error::Result;
use crate::review::WebhookCreation;

/// Reads the answer to registering an endpoint. A 422 naming the field the
/// server would not take (`url`, `events`) is an answer for the form to
/// show next to that field, not an error; anything else that is not a
/// success is classified as usual.
pub(crate) fn creation_answer(
    what: &str,
    status: u16,
    content_type: &str,
    text: &str,
) -> Result<WebhookCreation> {
    match status {
        200..=299 => Ok(WebhookCreation::Created {
            webhook: decode::<WebhookEndpoint>(what, text)?,
        }),
        422 => match serde_json::from_str::<ErrorBody>(text) {
            Ok(ErrorBody { error }) if error.code == ErrorCode::InvalidField => match error.field {
                Some(field) => Ok(WebhookCreation::Invalid {
                    field,
                    message: error.message,
                }),
                None => Err(classify_error(status, content_type, text)),
            },
            _ => Err(classify_error(status, content_type, text)),
        },
        _ => Err(classify_error(status, content_type, text)),
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
        let path = "/v1/webhooks";
        let resp = self
            .http
            .post(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .timeout(Duration::from_secs(30))
            .json(new)
            .send()
            .await
            .map_err(offline)?;
        let status = resp.status().as_u16();
        let content_type = content_type(&resp);
        let success = resp.status().is_success();
        let text = match resp.text().await {
            Ok(text) => text,
            // The endpoint may be registered, but its secret is lost with
            // the answer: say so rather than guess.
            Err(e) if success => return Err(offline(e)),
            Err(_) => String::new(),
        };
        creation_answer(&format!("POST {path}"), status, &content_type, &text)
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
