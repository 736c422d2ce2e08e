//! The review's webhooks: the endpoints a manager registers for the
//! server's outbound events, each endpoint's delivery log, and replaying a
//! delivery once the receiver is fixed.

use baton_protocol::{
    EventType, NewWebhook, WebhookDelivery, WebhookDeliveryList, WebhookEndpoint, WebhookList,
};
use serde::{Deserialize, Serialize};

use super::Review;
use crate::error::{CoreError, Result};

/// Most deliveries one page of an endpoint's log lists (the server's own cap).
pub const DELIVERIES_PAGE_MAX: u32 = 200;

/// What registering an endpoint came to.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum WebhookCreation {
    /// Registered. `webhook.secret` is the signing secret: the server shows
    /// it in this answer only, and this client keeps no copy.
    Created { webhook: WebhookEndpoint },
    /// The server would not take one field of the form (`url` or
    /// `events`): its message, to show next to that field.
    Invalid { field: String, message: String },
}

/// Ids come from the UI: one that is not a server id is refused here.
fn positive(what: &str, id: i64) -> Result<i64> {
    if id <= 0 {
        return Err(CoreError::InvalidInput(format!(
            "{id} is not a {what} id: {what} ids are positive numbers"
        )));
    }
    Ok(id)
}

impl Review {
    /// The registered endpoints, with how each is doing (never their secrets).
    pub async fn webhooks(&self) -> Result<WebhookList> {
        self.api.webhooks().await
    }

    /// Registers an endpoint for the events it names. A URL or event list
    /// the server will not take is an answer naming the field, not an error.
    pub async fn create_webhook(&self, new: &NewWebhook) -> Result<WebhookCreation> {
        if new.events.contains(&EventType::Unknown) {
            return Err(CoreError::InvalidInput(
                "an endpoint subscribes to known event types only".into(),
            ));
        }
        let mut events: Vec<EventType> = Vec::with_capacity(new.events.len());
        for e in &new.events {
            if !events.contains(e) {
                events.push(*e);
            }
        }
        let description = new
            .description
            .as_deref()
            .map(str::trim)
            .filter(|d| !d.is_empty())
            .map(str::to_string);
        let new = NewWebhook {
            url: new.url.trim().to_string(),
            events,
            description,
        };
        self.api.create_webhook(&new).await
    }

    /// Deletes an endpoint: nothing more is sent to it, and what was
    /// waiting is cancelled. One already deleted counts as done.
    pub async fn delete_webhook(&self, id: i64) -> Result<()> {
        self.api.delete_webhook(positive("webhook", id)?).await
    }

    /// An endpoint's deliveries, newest first, with the page's `next_before`.
    pub async fn webhook_deliveries(
        &self,
        id: i64,
        before: Option<i64>,
        limit: Option<u32>,
    ) -> Result<WebhookDeliveryList> {
        let id = positive("webhook", id)?;
        let before = before.map(|b| positive("delivery", b)).transpose()?;
        let limit = limit.unwrap_or(50).clamp(1, DELIVERIES_PAGE_MAX);
        self.api.webhook_deliveries(id, before, limit).await
    }

    /// Sends a delivery again, with the same `webhook-id` (so a receiver
    /// that saw it before recognises it). It is pending again in the
    /// answer; refused (`conflict`) when the endpoint was disabled.
    pub async fn replay_delivery(&self, id: i64, delivery: i64) -> Result<WebhookDelivery> {
        self.api
            .replay_delivery(positive("webhook", id)?, positive("delivery", delivery)?)
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use baton_protocol::{DeliveryStatus, ErrorCode};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// What the stand-in server was asked: the request line and the body.
    struct Asked {
        line: String,
        body: String,
    }

    /// A stand-in server on 127.0.0.1 that answers one request with
    /// `status` and a JSON `body` (none for a 204), and hands back what it
    /// was asked.
    async fn answer_once(
        status: &'static str,
        body: &'static str,
    ) -> (Review, tokio::task::JoinHandle<Asked>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let served = tokio::spawn(async move {
            let (mut conn, _) = listener.accept().await.unwrap();
            let mut got = Vec::new();
            let mut buf = [0u8; 4096];
            let head_end = loop {
                if let Some(at) = got.windows(4).position(|w| w == b"\r\n\r\n") {
                    break at + 4;
                }
                let n = conn.read(&mut buf).await.unwrap();
                assert!(n > 0, "the request ended before its head did");
                got.extend_from_slice(&buf[..n]);
            };
            let head = String::from_utf8_lossy(&got[..head_end]).into_owned();
            let length = head
                .lines()
                .find_map(|l| {
                    let (name, value) = l.split_once(':')?;
                    name.eq_ignore_ascii_case("content-length")
                        .then(|| value.trim().parse::<usize>().ok())?
                })
                .unwrap_or(0);
            while got.len() < head_end + length {
                let n = conn.read(&mut buf).await.unwrap();
                assert!(n > 0, "the request ended before its body did");
                got.extend_from_slice(&buf[..n]);
            }
            let answer = if body.is_empty() {
                format!("HTTP/1.1 {status}\r\nconnection: close\r\n\r\n")
            } else {
                format!(
                    "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                )
            };
            conn.write_all(answer.as_bytes()).await.unwrap();
            Asked {
                line: head.lines().next().unwrap_or_default().to_string(),
                body: String::from_utf8_lossy(&got[head_end..]).into_owned(),
            }
        });
        (unreachable_review(&base), served)
    }

    fn unreachable_review(base: &str) -> Review {
        Review::against(base)
    }

    #[tokio::test]
    async fn a_registered_endpoint_shows_its_secret_once_in_the_answer() {
        let (review, served) = answer_once(
            "201 Created",
            r#"{"id":5,"url":"https://hooks.example.com/baton","events":["lead.accepted","lead.rejected"],"description":"CRM","active":true,"pending":0,"created_at":"2026-12-01T09:00:00Z","secret":"whsec_c2VjcmV0"}"#,
        )
        .await;
        let answer = review
            .create_webhook(&NewWebhook {
                url: "  https://hooks.example.com/baton ".into(),
                events: vec![
                    EventType::LeadAccepted,
                    EventType::LeadRejected,
                    EventType::LeadAccepted,
                ],
                description: Some(" CRM ".into()),
            })
            .await
            .unwrap();
        let WebhookCreation::Created { webhook } = answer else {
            panic!("not created: {answer:?}");
        };
        assert_eq!(webhook.id, 5);
        assert_eq!(webhook.secret.as_deref(), Some("whsec_c2VjcmV0"));
        let asked = served.await.unwrap();
        assert_eq!(asked.line, "POST /v1/webhooks HTTP/1.1");
        let sent: serde_json::Value = serde_json::from_str(&asked.body).unwrap();
        assert_eq!(
            sent,
            serde_json::json!({
                "url": "https://hooks.example.com/baton",
                "events": ["lead.accepted", "lead.rejected"],
                "description": "CRM",
            })
        );
    }

    #[tokio::test]
    async fn a_url_the_server_will_not_send_to_is_answered_with_the_field_and_why() {
        let (review, served) = answer_once(
            "422 Unprocessable Entity",
            r#"{"error":{"code":"invalid_field","message":"resolves to 10.0.0.8, a loopback, private or link-local address; Baton sends events only to public endpoints","field":"url"}}"#,
        )
        .await;
        let answer = review
            .create_webhook(&NewWebhook {
                url: "https://intranet.example.com/hook".into(),
                events: vec![EventType::LeadRouted],
                description: Some("   ".into()),
            })
            .await
            .unwrap();
        assert_eq!(
            answer,
            WebhookCreation::Invalid {
                field: "url".into(),
                message: "resolves to 10.0.0.8, a loopback, private or link-local address; Baton sends events only to public endpoints".into(),
            }
        );
        let sent: serde_json::Value = serde_json::from_str(&served.await.unwrap().body).unwrap();
        assert_eq!(sent.get("description"), None, "{sent}");
    }

    #[tokio::test]
    async fn endpoints_are_listed_with_how_each_is_doing() {
        let (review, served) = answer_once(
            "200 OK",
            r#"{"webhooks":[{"id":2,"url":"https://old.example.com/h","events":["lead.qualified"],"active":false,"disabled_reason":"the endpoint answered 410 Gone","disabled_at":"2026-12-01T08:00:00Z","pending":0,"created_at":"2026-11-01T09:00:00Z"},{"id":1,"url":"https://crm.example.com/h","events":["lead.accepted"],"active":true,"failing_since":"2026-12-01T07:00:00Z","pending":3,"created_at":"2026-11-01T09:00:00Z"}]}"#,
        )
        .await;
        let list = review.webhooks().await.unwrap();
        assert_eq!(list.webhooks.len(), 2);
        assert!(!list.webhooks[0].active);
        assert_eq!(
            list.webhooks[0].disabled_reason.as_deref(),
            Some("the endpoint answered 410 Gone")
        );
        assert_eq!(list.webhooks[1].pending, 3);
        assert!(list.webhooks.iter().all(|w| w.secret.is_none()));
        assert_eq!(served.await.unwrap().line, "GET /v1/webhooks HTTP/1.1");
    }

    #[tokio::test]
    async fn deleting_an_endpoint_sends_a_delete_and_takes_no_content() {
        let (review, served) = answer_once("204 No Content", "").await;
        review.delete_webhook(7).await.unwrap();
        let asked = served.await.unwrap();
        assert_eq!(asked.line, "DELETE /v1/webhooks/7 HTTP/1.1");
        assert_eq!(asked.body, "");
    }

    #[tokio::test]
    async fn a_delivery_log_is_asked_for_page_by_page() {
        let (review, served) = answer_once(
            "200 OK",
            r#"{"deliveries":[{"id":40,"message_id":"msg_2f","event_type":"lead.accepted","lead_id":12,"occurred_at":"2026-12-01T09:00:00Z","status":"failed","attempts":8,"last_attempt_at":"2026-12-01T10:00:00Z","last_status":500,"last_error":"HTTP 500","payload":"{\"type\":\"lead.accepted\"}"}],"next_before":40}"#,
        )
        .await;
        let page = review
            .webhook_deliveries(3, Some(41), Some(5_000))
            .await
            .unwrap();
        assert_eq!(page.deliveries.len(), 1);
        let d = &page.deliveries[0];
        assert_eq!(
            (d.status, d.attempts, d.last_status),
            (DeliveryStatus::Failed, 8, Some(500))
        );
        assert_eq!(page.next_before, Some(40));
        assert_eq!(
            served.await.unwrap().line,
            "GET /v1/webhooks/3/deliveries?limit=200&before=41 HTTP/1.1"
        );
    }

    #[tokio::test]
    async fn a_replay_is_pending_again_under_the_same_message_id() {
        let (review, served) = answer_once(
            "200 OK",
            r#"{"id":40,"message_id":"msg_2f","event_type":"lead.accepted","lead_id":12,"occurred_at":"2026-12-01T09:00:00Z","status":"pending","attempts":8,"next_attempt_at":"2026-12-01T11:00:00Z","last_status":500,"payload":"{}"}"#,
        )
        .await;
        let d = review.replay_delivery(3, 40).await.unwrap();
        assert_eq!(d.status, DeliveryStatus::Pending);
        assert_eq!(d.message_id, "msg_2f");
        assert_eq!(
            served.await.unwrap().line,
            "POST /v1/webhooks/3/deliveries/40/replay HTTP/1.1"
        );
    }

    #[tokio::test]
    async fn replaying_to_a_disabled_endpoint_is_refused_as_a_conflict_with_why() {
        let (review, served) = answer_once(
            "409 Conflict",
            r#"{"error":{"code":"conflict","message":"webhook 3 is disabled (the endpoint answered 410 Gone); register the endpoint again to send to it"}}"#,
        )
        .await;
        let e = review.replay_delivery(3, 40).await.unwrap_err();
        assert_eq!(e.refusal(), Some(ErrorCode::Conflict), "{e:?}");
        assert!(e.to_string().contains("register the endpoint again"), "{e}");
        served.await.unwrap();
    }

    #[tokio::test]
    async fn an_unknown_endpoint_is_refused_as_not_found() {
        let (review, _served) = answer_once(
            "404 Not Found",
            r#"{"error":{"code":"not_found","message":"no webhook with id 9"}}"#,
        )
        .await;
        let e = review.webhook_deliveries(9, None, None).await.unwrap_err();
        assert_eq!(e.refusal(), Some(ErrorCode::NotFound), "{e:?}");
    }

    #[tokio::test]
    async fn nonsense_from_the_window_is_refused_before_it_reaches_the_server() {
        // Nothing listens on the discard port: a request would fail as offline.
        let review = unreachable_review("http://127.0.0.1:9");
        for e in [
            review.delete_webhook(0).await.unwrap_err(),
            review.webhook_deliveries(-1, None, None).await.unwrap_err(),
            review
                .webhook_deliveries(1, Some(0), None)
                .await
                .unwrap_err(),
            review.replay_delivery(1, 0).await.unwrap_err(),
            review
                .create_webhook(&NewWebhook {
                    url: "https://hooks.example.com/h".into(),
                    events: vec![EventType::Unknown],
                    description: None,
                })
                .await
                .unwrap_err(),
        ] {
            assert!(matches!(e, CoreError::InvalidInput(_)), "{e:?}");
        }
    }
}
