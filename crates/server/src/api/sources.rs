//! Inbound sources over HTTP: `POST /v1/intake/{source}` (authenticated by
//! the provider's signature, not a bearer token), and the failed intakes
//! managers review, retry and dismiss.

use std::collections::HashMap;

use axum::Json;
use axum::extract::{FromRequestParts, Path, Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use baton_protocol::{IntakeReceipt, IntakeReceiptList, ReceiptStatus, SourceOutcome, WireName};
use http_body_util::BodyExt;

use super::{AdminAuth, AppState, IntakeAuth, LeadPath, Params, int_param, params};
use crate::error::{Error, Result};
use crate::ratelimit::Budget;
use crate::receipts::{self, Delivery};
use crate::sources::{Authenticity, MapError, RequestFacts, Source};
use crate::store::ReceiptFilter;

/// What a caller with a bad signature, a stale timestamp or an unknown
/// source hears: nothing that tells them which.
const REFUSED: &str = "the request's signature could not be verified";

/// A failed intake's id from the path; anything else is a JSON 404.
pub struct ReceiptPath(pub i64);

impl<S: Send + Sync> FromRequestParts<S> for ReceiptPath {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut axum::http::request::Parts, state: &S) -> Result<Self> {
        match Path::<i64>::from_request_parts(parts, state).await {
            Ok(Path(id)) => Ok(ReceiptPath(id)),
            Err(_) => Err(Error::NotFound(
                "no such failed intake: ids are whole numbers".into(),
            )),
        }
    }
}

/// The URL the provider called, as it would have signed it: the
/// configured public URL, or the scheme the proxy reports and the Host.
fn called_url(configured: Option<&str>, headers: &HeaderMap, path_and_query: &str) -> String {
    if let Some(url) = configured {
        // A configured URL names the path too; keep the query the provider sent.
        return match path_and_query.split_once('?') {
            Some((_, q)) if !url.contains('?') => format!("{url}?{q}"),
            _ => url.to_string(),
        };
    }
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let proto = header("x-forwarded-proto")
        .and_then(|p| p.split(',').next())
        .map(str::trim)
        .filter(|p| *p == "https" || *p == "http")
        .unwrap_or("http");
    let host = header("x-forwarded-host")
        .or_else(|| header("host"))
        .unwrap_or("localhost");
    format!("{proto}://{host}{path_and_query}")
}

/// `POST /v1/intake/{source}`.
pub async fn post_source_intake(
    State(s): State<AppState>,
    Path(name): Path<String>,
    req: Request,
) -> Result<Response> {
    let now = crate::clock::now();
    let config = s.config.clone();
    let Some(cfg) = config.source(&name) else {
        // Debug-quoted: the name came from the URL.
        tracing::warn!(source = ?name, "refused a delivery: no source has this name");
        return Err(Error::Unauthorized(REFUSED));
    };
    // Per source, before its body is read: a flood costs one bucket.
    let limits = &config.limits;
    s.limiter.take(
        Budget::Source(name.clone()),
        limits.intake_per_second,
        limits.intake_burst,
    )?;
    let (mut parts, body) = req.into_parts();
    let limit = cfg.max_body_bytes();
    let body = http_body_util::Limited::new(body, limit)
        .collect()
        .await
        .map_err(|e| {
            if e.downcast_ref::<http_body_util::LengthLimitError>()
                .is_some()
            {
                Error::PayloadTooLarge { limit }
            } else {
                Error::InvalidBody {
                    message: format!("the body could not be read: {e}"),
                }
            }
        })?
        .to_bytes();
    let source = Source::new(cfg);
    match source.authenticity() {
        Authenticity::Signed => {
            let path = parts
                .uri
                .path_and_query()
                .map(|p| p.as_str())
                .unwrap_or("/");
            let facts = RequestFacts {
                method: parts.method.as_str(),
                url: called_url(cfg.public_url.as_deref(), &parts.headers, path),
                headers: &parts.headers,
                now,
            };
            if let Err(why) = source.verify(&facts, &body) {
                // The reason is for the operator (a rotated secret, a proxy
                // changing the URL); the caller learns nothing from it.
                tracing::warn!(source = %name, why = %why, "refused a delivery");
                return Err(Error::Unauthorized(REFUSED));
            }
        }
        Authenticity::IntakeKey => {
            let key = IntakeAuth::from_request_parts(&mut parts, &s).await?;
            if key.source != name {
                return Err(Error::Forbidden(
                    "this intake key was issued for another source",
                ));
            }
        }
    }
    let (event_id, mapped) = source.read(&body, now);
    let delivery = Delivery {
        source: name,
        event_id,
        body: body.to_vec(),
        mapped,
        received_at: now,
    };
    let answer =
        s.db.write(move |tx| receipts::receive(tx, &config, delivery))
            .await?;
    if answer.outcome == SourceOutcome::Failed {
        tracing::warn!(
            receipt = answer.receipt_id,
            field = answer.field.as_deref().unwrap_or(""),
            "a delivery could not be mapped; kept as a failed intake"
        );
    }
    let status = match answer.outcome {
        SourceOutcome::Created => StatusCode::CREATED,
        // Kept for a manager: the provider must not retry it.
        SourceOutcome::Failed => StatusCode::ACCEPTED,
        _ => StatusCode::OK,
    };
    Ok((status, Json(answer)).into_response())
}

/// Most receipts one page lists.
const MAX_PAGE: i64 = 200;

fn receipt_status(p: &HashMap<String, String>) -> Result<Option<ReceiptStatus>> {
    match p.get("status").map(String::as_str) {
        None => Ok(Some(ReceiptStatus::Failed)),
        Some("all") => Ok(None),
        Some(v) => match ReceiptStatus::parse(v) {
            Ok(s) if s != ReceiptStatus::Unknown && s != ReceiptStatus::Applied => Ok(Some(s)),
            _ => Err(Error::query(
                "status",
                "must be failed (the default), reprocessed, dismissed or all",
            )),
        },
    }
}

/// `GET /v1/intake/failures`: deliveries that could not be mapped, newest first.
pub async fn list_failures(
    State(s): State<AppState>,
    _auth: AdminAuth,
    q: Params,
) -> Result<Json<IntakeReceiptList>> {
    let p = params(q)?;
    let status = receipt_status(&p)?;
    let limit = int_param(&p, "limit", 50, 1, MAX_PAGE)? as u32;
    let before = match p.get("before") {
        None => None,
        Some(_) => Some(int_param(&p, "before", 0, 1, i64::MAX)?),
    };
    let source = p.get("source").cloned();
    let mut receipts =
        s.db.read(move |tx| {
            let mut all = tx.intake_receipts(&ReceiptFilter {
                status,
                source,
                lead: None,
                before,
                limit: limit + 1,
            })?;
            // Applied deliveries are not failures, whatever `all` says.
            if status.is_none() {
                all.retain(|r| r.status != ReceiptStatus::Applied);
            }
            Ok(all)
        })
        .await?;
    let next_before = if receipts.len() > limit as usize {
        receipts.truncate(limit as usize);
        receipts.last().map(|r| r.id)
    } else {
        None
    };
    Ok(Json(IntakeReceiptList {
        receipts,
        next_before,
    }))
}

/// `POST /v1/intake/failures/{id}/retry`: maps the stored body again with
/// the source's mapping as configured now.
pub async fn retry_failure(
    State(s): State<AppState>,
    _auth: AdminAuth,
    ReceiptPath(id): ReceiptPath,
) -> Result<Response> {
    let now = crate::clock::now();
    let config = s.config.clone();
    let (_, answer) = s
        .db
        .write(move |tx| {
            let remap = |r: &IntakeReceipt| -> std::result::Result<_, MapError> {
                let Some(cfg) = config.source(&r.source) else {
                    return Err(MapError {
                        field: "source".into(),
                        message: format!(
                            "source {:?} is no longer configured; add it back to [[sources]] to retry",
                            r.source
                        ),
                    });
                };
                let body = r.body.as_deref().unwrap_or_default();
                Source::new(cfg).map(body.as_bytes(), now)
            };
            receipts::retry(tx, &config, id, remap, now)
        })
        .await?;
    let status = match answer.outcome {
        SourceOutcome::Created => StatusCode::CREATED,
        SourceOutcome::Failed => StatusCode::UNPROCESSABLE_ENTITY,
        _ => StatusCode::OK,
    };
    Ok((status, Json(answer)).into_response())
}

/// `POST /v1/intake/failures/{id}/dismiss`: not a lead; off the list.
pub async fn dismiss_failure(
    State(s): State<AppState>,
    _auth: AdminAuth,
    ReceiptPath(id): ReceiptPath,
) -> Result<Json<IntakeReceipt>> {
    let now = crate::clock::now();
    let r = s.db.write(move |tx| receipts::dismiss(tx, id, now)).await?;
    Ok(Json(r))
}

/// `GET /v1/leads/{id}/receipts`: the deliveries that made or updated a
/// lead, newest first, with their bodies (while kept).
pub async fn lead_receipts(
    State(s): State<AppState>,
    _auth: AdminAuth,
    LeadPath(id): LeadPath,
) -> Result<Json<IntakeReceiptList>> {
    let limit = s.config.limits.receipt_bodies_per_lead.max(20);
    let receipts =
        s.db.read(move |tx| {
            tx.lead(id)?
                .ok_or_else(|| Error::NotFound(format!("lead {id} does not exist")))?;
            tx.intake_receipts(&ReceiptFilter {
                status: None,
                source: None,
                lead: Some(id),
                before: None,
                limit,
            })
        })
        .await?;
    Ok(Json(IntakeReceiptList {
        receipts,
        next_before: None,
    }))
}
