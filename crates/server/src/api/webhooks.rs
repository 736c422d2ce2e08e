//! Managers' outbound endpoints: register (the secret shown once), list,
//! delete, each endpoint's delivery log, and replaying a delivery.

use axum::Json;
use axum::extract::{FromRequestParts, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use baton_protocol::{NewWebhook, WebhookDelivery, WebhookDeliveryList, WebhookList};

use super::{AdminAuth, AppState, JsonBody, Params, int_param, params};
use crate::error::{Error, Result};
use crate::outbound;
use crate::store::NewEndpoint;

/// Endpoints one server holds (each costs the worker a connection pool).
pub const MAX_ENDPOINTS: usize = 50;

/// `{id}` and `{delivery}` from the path; anything else is a JSON 404.
pub struct WebhookPath(pub i64, pub Option<i64>);

impl<S: Send + Sync> FromRequestParts<S> for WebhookPath {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut axum::http::request::Parts, state: &S) -> Result<Self> {
        let not_found = || Error::NotFound("no such webhook: ids are whole numbers".into());
        match Path::<Vec<(String, String)>>::from_request_parts(parts, state).await {
            Ok(Path(segments)) => {
                let get = |name: &str| {
                    segments
                        .iter()
                        .find(|(k, _)| k == name)
                        .map(|(_, v)| v.parse::<i64>().map_err(|_| not_found()))
                        .transpose()
                };
                let id = get("id")?.ok_or_else(not_found)?;
                Ok(WebhookPath(id, get("delivery")?))
            }
            Err(_) => Err(not_found()),
        }
    }
}

/// `POST /v1/webhooks`.
pub async fn create(
    State(s): State<AppState>,
    _auth: AdminAuth,
    JsonBody(req): JsonBody<NewWebhook>,
) -> Result<Response> {
    let url = outbound::check_target(req.url.trim(), s.config.webhooks.allow_private_targets)
        .await?
        .to_string();
    if req.events.is_empty() {
        return Err(Error::field(
            "events",
            "name at least one event, e.g. [\"lead.accepted\", \"lead.rejected\"]",
        ));
    }
    if req.events.contains(&baton_protocol::EventType::Unknown) {
        return Err(Error::field(
            "events",
            format!(
                "names an unknown event; known: {}",
                baton_protocol::EventType::ALL
                    .iter()
                    .map(|e| baton_protocol::WireName::as_str(e))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ));
    }
    if let Some(d) = &req.description {
        crate::validate::text("description", d, 0, 200)?;
    }
    let secret = outbound::new_secret();
    let now = crate::clock::now();
    let created = {
        let secret = secret.clone();
        s.db.write(move |tx| {
            if tx.webhook_endpoints()?.len() >= MAX_ENDPOINTS {
                return Err(Error::Conflict(format!(
                    "this server already has {MAX_ENDPOINTS} webhooks, the most it holds; delete one first"
                )));
            }
            let id = tx.insert_webhook_endpoint(&NewEndpoint {
                url: &url,
                secret: &secret,
                description: req.description.as_deref().filter(|d| !d.trim().is_empty()),
                events: &req.events,
                created_at: now,
            })?;
            tx.webhook_endpoint(id)?
                .ok_or_else(|| Error::Internal("the new webhook is not readable".into()))
        })
        .await?
    };
    let mut view = created.view;
    // Shown once: only its owner's receiver needs it from now on.
    view.secret = Some(secret);
    Ok((StatusCode::CREATED, Json(view)).into_response())
}

/// `GET /v1/webhooks`.
pub async fn list(State(s): State<AppState>, _auth: AdminAuth) -> Result<Json<WebhookList>> {
    let webhooks =
        s.db.read(|tx| {
            Ok(tx
                .webhook_endpoints()?
                .into_iter()
                .map(|e| e.view)
                .collect())
        })
        .await?;
    Ok(Json(WebhookList { webhooks }))
}

/// `DELETE /v1/webhooks/{id}`.
pub async fn delete(
    State(s): State<AppState>,
    _auth: AdminAuth,
    WebhookPath(id, _): WebhookPath,
) -> Result<StatusCode> {
    let now = crate::clock::now();
    s.db.write(move |tx| {
        let endpoint = tx
            .webhook_endpoint(id)?
            .ok_or_else(|| Error::NotFound(format!("no webhook with id {id}")))?;
        if endpoint.view.kind != baton_protocol::EndpointKind::Webhook {
            return Err(Error::Conflict(format!(
                "webhook {id} is the {} write-back from the server's config ([crm]); remove it there",
                baton_protocol::WireName::as_str(&endpoint.view.kind)
            )));
        }
        tx.delete_webhook_endpoint(id, now)
    })
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /v1/webhooks/{id}/deliveries`.
pub async fn deliveries(
    State(s): State<AppState>,
    _auth: AdminAuth,
    WebhookPath(id, _): WebhookPath,
    q: Params,
) -> Result<Json<WebhookDeliveryList>> {
    let p = params(q)?;
    let limit = int_param(&p, "limit", 50, 1, 200)? as u32;
    let before = match p.get("before") {
        None => None,
        Some(_) => Some(int_param(&p, "before", 0, 1, i64::MAX)?),
    };
    let mut deliveries =
        s.db.read(move |tx| {
            tx.webhook_endpoint(id)?
                .ok_or_else(|| Error::NotFound(format!("no webhook with id {id}")))?;
            tx.webhook_deliveries(id, before, limit + 1)
        })
        .await?;
    let next_before = if deliveries.len() > limit as usize {
        deliveries.truncate(limit as usize);
        deliveries.last().map(|d| d.id)
    } else {
        None
    };
    Ok(Json(WebhookDeliveryList {
        deliveries,
        next_before,
    }))
}

/// `POST /v1/webhooks/{id}/deliveries/{delivery}/replay`: sends the event
/// again, with its original `webhook-id`.
pub async fn replay(
    State(s): State<AppState>,
    _auth: AdminAuth,
    WebhookPath(id, delivery): WebhookPath,
) -> Result<Json<WebhookDelivery>> {
    let delivery = delivery.ok_or_else(|| Error::NotFound("no such delivery".into()))?;
    let now = crate::clock::now();
    let endpoint =
        s.db.write(move |tx| {
            let endpoint = tx
                .webhook_endpoint(id)?
                .ok_or_else(|| Error::NotFound(format!("no webhook with id {id}")))?;
            if !endpoint.view.active {
                return Err(Error::Conflict(format!(
                    "webhook {id} is disabled ({}); register the endpoint again to send to it",
                    endpoint
                        .view
                        .disabled_reason
                        .as_deref()
                        .unwrap_or("disabled")
                )));
            }
            if !tx.replay_delivery(id, delivery, now)? {
                return Err(Error::NotFound(format!(
                    "webhook {id} has no delivery {delivery}"
                )));
            }
            tx.webhook_deliveries(id, Some(delivery + 1), 1)?
                .pop()
                .ok_or_else(|| Error::Internal("the replayed delivery is not readable".into()))
        })
        .await?;
    Ok(Json(endpoint))
}
