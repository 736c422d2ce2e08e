//! The HTTP API: routes, authentication, body and query parsing, and the SSE
//! stream. Handlers translate HTTP to calls on `routing` and the store; they
//! make no routing decisions of their own.

use baton_protocol::WireName;
use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::rejection::QueryRejection;
use axum::extract::{FromRequest, FromRequestParts, Path, Query, Request, State};
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::{Json, Router};
use baton_protocol::{
    AvailabilityUpdate, Cursor, FeedbackRequest, IntakeOutcome, LeadHistory, LeadId, LeadIntake,
    LeadList, LeadStatus, Me, QueueList, ReasonList, RepId, RepList, Role, StreamReady, SyncPage,
    Team, TeamList, Timestamp,
};
use serde::de::DeserializeOwned;
use tokio::sync::{mpsc, watch};
use tokio_stream::wrappers::ReceiverStream;

use crate::auth::token_hash;

mod agreement;
mod imports;
mod sources;
mod webhooks;
use crate::config::Config;
use crate::error::{Error, Result};
use crate::hub::Hub;
use crate::ratelimit::{Budget, RateLimiter};
use crate::store::{Db, FeedSlice, Health, LeadFilter, LeadRow, Principal, ReadTx};
use crate::{calibration, report, routing, validate};

/// Changes a live stream reads per page, and the most bytes of them; with
/// the small channel below this bounds a stream's memory.
const STREAM_PAGE: u32 = 200;
const STREAM_PAGE_BYTES: usize = 1024 * 1024;
/// Events a live stream holds ready for a client that reads slowly.
const STREAM_BUFFER: usize = 8;

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    pub db: Db,
    pub config: Arc<Config>,
    /// Wakes live streams when their rep's feed grows; counts streams per token.
    pub hub: Arc<Hub>,
    pub limiter: Arc<RateLimiter>,
    /// Who recently seen tokens belong to (auth.rs).
    pub principals: Arc<crate::auth::PrincipalCache>,
    /// Becomes true when the server starts shutting down; ends live streams.
    pub shutdown: watch::Receiver<bool>,
    pub heartbeat: Duration,
}

macro_rules! api_routes {
    ($($method:ident $path:literal => $handler:path;)*) => {
        /// Every (method, path) the API serves. A test holds `docs/openapi.yaml` to this list.
        pub const API_ROUTES: &[(&str, &str)] = &[$((stringify!($method), $path)),*];

        fn api_router() -> Router<AppState> {
            Router::new()$(.route($path, axum::routing::$method($handler)))*
        }
    };
}

api_routes! {
    get "/healthz" => healthz;
    get "/v1/desktop/release" => desktop_release;
    post "/v1/leads" => post_lead;
    get "/v1/leads" => list_leads;
    get "/v1/leads/{id}" => get_lead;
    get "/v1/leads/{id}/history" => get_lead_history;
    post "/v1/leads/{id}/feedback" => post_feedback;
    get "/v1/sync" => sync;
    get "/v1/stream" => stream;
    get "/v1/me" => me;
    put "/v1/me/availability" => put_availability;
    get "/v1/reasons" => reasons;
    get "/v1/teams" => teams;
    get "/v1/reps" => reps;
    get "/v1/queue" => queue;
    get "/v1/reports/handoff" => handoff_report;
    get "/v1/reports/calibration" => calibration_report;
    post "/v1/intake/{source}" => sources::post_source_intake;
    get "/v1/intake/failures" => sources::list_failures;
    post "/v1/intake/failures/{id}/retry" => sources::retry_failure;
    post "/v1/intake/failures/{id}/dismiss" => sources::dismiss_failure;
    get "/v1/leads/{id}/receipts" => sources::lead_receipts;
    post "/v1/imports" => imports::post_import;
    post "/v1/webhooks" => webhooks::create;
    get "/v1/webhooks" => webhooks::list;
    delete "/v1/webhooks/{id}" => webhooks::delete;
    get "/v1/webhooks/{id}/deliveries" => webhooks::deliveries;
    post "/v1/webhooks/{id}/deliveries/{delivery}/replay" => webhooks::replay;
    get "/v1/definitions" => agreement::list;
    post "/v1/definitions" => agreement::publish;
    post "/v1/definitions/preview" => agreement::preview;
    get "/v1/definitions/outcomes" => agreement::outcomes;
    get "/v1/definitions/{version}" => agreement::get;
    post "/v1/reps" => agreement::create_rep;
    patch "/v1/reps/{id}" => agreement::update_rep;
    put "/v1/reps/{id}/schedule" => agreement::put_rep_schedule;
    delete "/v1/reps/{id}/schedule" => agreement::delete_rep_schedule;
    put "/v1/me/schedule" => agreement::put_my_schedule;
    delete "/v1/me/schedule" => agreement::delete_my_schedule;
    get "/v1/managers" => agreement::managers;
    put "/v1/managers/{id}/scope" => agreement::put_manager_scope;
    get "/v1/audit" => agreement::audit;
    get "/v1/escalations" => agreement::escalations;
}

pub fn router(state: AppState) -> Router {
    use tower_http::trace::{DefaultMakeSpan, DefaultOnResponse, TraceLayer};
    api_router()
        .fallback(no_such_route)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(axum::extract::DefaultBodyLimit::max(
            validate::MAX_BODY_BYTES,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            request_deadline,
        ))
        // Spans carry method and path only: headers (and so tokens) are never logged.
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(DefaultMakeSpan::new().level(tracing::Level::INFO))
                .on_request(())
                .on_response(DefaultOnResponse::new().level(tracing::Level::INFO)),
        )
        .with_state(state)
}

/// Every request (reading its body included) is answered within
/// `limits.request_timeout_secs`. A live stream's handler returns as soon as
/// the stream is set up, so the deadline does not cut streams short.
async fn request_deadline(
    State(s): State<AppState>,
    req: Request,
    next: axum::middleware::Next,
) -> Response {
    // A CSV import reads and routes up to `import_max_mib` of rows: it has
    // its own, longer deadline.
    let secs = if req.uri().path() == "/v1/imports" {
        s.config.limits.import_timeout_secs
    } else {
        s.config.limits.request_timeout_secs
    };
    match tokio::time::timeout(Duration::from_secs(secs), next.run(req)).await {
        Ok(response) => response,
        Err(_) => Error::RequestTimeout { secs }.into_response(),
    }
}

async fn no_such_route() -> Error {
    Error::NotFound("no such endpoint; see docs/openapi.yaml for the API".into())
}

async fn method_not_allowed() -> Error {
    Error::MethodNotAllowed
}

// ---------------------------------------------------------------------------
// Extractors.

/// The authenticated caller.
pub struct Auth(pub Principal);

/// The caller with the hash of the token it used (for per-token bounds).
pub struct AuthWithToken(pub Principal, pub Vec<u8>);

impl FromRequestParts<AppState> for Auth {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self> {
        let AuthWithToken(principal, _) = AuthWithToken::from_request_parts(parts, state).await?;
        Ok(Auth(principal))
    }
}

impl FromRequestParts<AppState> for AuthWithToken {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self> {
        let header = parts.headers.get(AUTHORIZATION).ok_or(Error::Unauthorized(
            "send Authorization: Bearer <token>; baton-server prints a token when it creates a rep, manager or intake key",
        ))?;
        let token = header
            .to_str()
            .ok()
            .and_then(|h| h.split_once(' '))
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map(|(_, token)| token)
            .map(str::trim)
            .filter(|t| !t.is_empty() && t.len() <= 200)
            .ok_or(Error::Unauthorized(
                "the Authorization header must be Bearer <token>",
            ))?;
        let hash = token_hash(token);
        if let Some(principal) = state.principals.get(&hash) {
            return Ok(AuthWithToken(principal, hash));
        }
        let revocations = state.principals.revocations();
        let lookup = hash.clone();
        let principal = state
            .db
            .read(move |tx| tx.principal_by_token_hash(&lookup))
            .await?
            .ok_or(Error::Unauthorized(
                "this token is unknown or revoked; ask your Baton admin for a new one",
            ))?;
        state.principals.remember(&hash, &principal, revocations);
        Ok(AuthWithToken(principal, hash))
    }
}

/// A rep's token; the rep's id.
pub struct RepAuth(pub RepId);
/// A manager's token (an admin's, or a team manager's).
pub struct ManagerAuth(pub Principal);
/// An admin's token: a manager of every team.
pub struct AdminAuth(pub Principal);
/// An intake key: its hash and the source it was issued for.
pub struct IntakeAuth {
    pub key_hash: Vec<u8>,
    pub source: String,
}

impl FromRequestParts<AppState> for RepAuth {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self> {
        match Auth::from_request_parts(parts, state).await?.0 {
            Principal {
                role: Role::Rep,
                subject_id: Some(id),
                ..
            } => Ok(RepAuth(id)),
            _ => Err(Error::Forbidden("only a rep's token can do this")),
        }
    }
}

impl FromRequestParts<AppState> for ManagerAuth {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self> {
        let principal = Auth::from_request_parts(parts, state).await?.0;
        match principal.role {
            Role::Manager => Ok(ManagerAuth(principal)),
            _ => Err(Error::Forbidden("only a manager's token can do this")),
        }
    }
}

impl FromRequestParts<AppState> for AdminAuth {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self> {
        let ManagerAuth(principal) = ManagerAuth::from_request_parts(parts, state).await?;
        if principal.admin {
            Ok(AdminAuth(principal))
        } else {
            Err(Error::Forbidden(
                "only an admin can do this; a team manager's token covers their own teams",
            ))
        }
    }
}

/// The teams a manager may see: `None` for an admin (every team).
pub fn scope_of(p: &Principal) -> Option<Vec<String>> {
    (!p.admin).then(|| p.teams.clone())
}

impl FromRequestParts<AppState> for IntakeAuth {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self> {
        match AuthWithToken::from_request_parts(parts, state).await? {
            AuthWithToken(
                Principal {
                    role: Role::Intake,
                    source,
                    name,
                    ..
                },
                key_hash,
            ) => Ok(IntakeAuth {
                key_hash,
                // Keys from before sources were recorded are their own source.
                source: source.unwrap_or(name),
            }),
            _ => Err(Error::Forbidden(
                "only an intake key can push leads (baton-server intake-key add)",
            )),
        }
    }
}

/// A JSON body whose parse errors name the field at fault.
pub struct JsonBody<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for JsonBody<T> {
    type Rejection = Error;

    async fn from_request(req: Request, state: &S) -> Result<Self> {
        let is_json = req
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .is_some_and(|m| m.trim().eq_ignore_ascii_case("application/json"));
        if !is_json {
            return Err(Error::UnsupportedMediaType);
        }
        let bytes = Bytes::from_request(req, state).await.map_err(|e| {
            if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                Error::PayloadTooLarge {
                    limit: validate::MAX_BODY_BYTES,
                }
            } else {
                Error::InvalidBody {
                    message: format!("the body could not be read: {e}"),
                }
            }
        })?;
        // serde would read a struct from a JSON array too; the API takes objects only.
        if bytes.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
            return Err(Error::InvalidBody {
                message: "the body must be a JSON object ({ ... })".into(),
            });
        }
        let mut de = serde_json::Deserializer::from_slice(&bytes);
        let value = match serde_path_to_error::deserialize::<_, T>(&mut de) {
            Ok(v) => v,
            Err(e) => {
                let path = e.path().to_string();
                let inner = e.into_inner();
                let message = inner.to_string();
                return Err(
                    if path.is_empty() || path == "." || inner.is_syntax() || inner.is_eof() {
                        Error::InvalidBody {
                            message: format!(
                                "the body is not valid JSON of the expected shape: {message}"
                            ),
                        }
                    } else {
                        Error::field(path, message)
                    },
                );
            }
        };
        de.end().map_err(|e| Error::InvalidBody {
            message: format!("the body has data after its JSON value: {e}"),
        })?;
        Ok(JsonBody(value))
    }
}

/// A lead id from the path; anything else is a JSON 404, not axum's text.
pub struct LeadPath(pub LeadId);

impl<S: Send + Sync> FromRequestParts<S> for LeadPath {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self> {
        match Path::<LeadId>::from_request_parts(parts, state).await {
            Ok(Path(id)) => Ok(LeadPath(id)),
            Err(_) => Err(Error::NotFound(
                "no such lead: lead ids are whole numbers".into(),
            )),
        }
    }
}

type Params = std::result::Result<Query<HashMap<String, String>>, QueryRejection>;

fn params(q: Params) -> Result<HashMap<String, String>> {
    q.map(|Query(m)| m)
        .map_err(|e| Error::query("query", format!("the query string is malformed: {e}")))
}

fn int_param(
    p: &HashMap<String, String>,
    name: &str,
    default: i64,
    min: i64,
    max: i64,
) -> Result<i64> {
    match p.get(name) {
        None => Ok(default),
        Some(v) => v
            .parse::<i64>()
            .ok()
            .filter(|n| (min..=max).contains(n))
            .ok_or_else(|| {
                Error::query(name, format!("must be a whole number from {min} to {max}"))
            }),
    }
}

fn time_param(p: &HashMap<String, String>, name: &str, default: Timestamp) -> Result<Timestamp> {
    match p.get(name) {
        None => Ok(default),
        Some(v) => v.parse().map_err(|e| Error::query(name, format!("{e}"))),
    }
}

fn parse_cursor(raw: Option<&str>, field: &str) -> Result<i64> {
    match raw.map(str::trim) {
        None | Some("") => Ok(0),
        Some(c) => c.parse::<i64>().ok().filter(|n| *n >= 0).ok_or_else(|| {
            Error::query(
                field,
                "is not a cursor this server issued; sync again without a cursor",
            )
        }),
    }
}

/// A cursor beyond anything this server wrote means the client's cache is
/// from another database: skipping to it would silently lose changes.
fn check_cursor(tx: &dyn ReadTx, after: i64, field: &str) -> Result<()> {
    if after > tx.feed_max_seq()? {
        return Err(Error::query(
            field,
            "is ahead of this server's feed (was its database replaced?); sync again without a cursor",
        ));
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// Handlers.

/// The desktop release the operator announces in the config. Open to any
/// caller, signed in or not (an app checks before sign-in too): it holds only
/// a version, notes and download addresses.
async fn desktop_release(State(s): State<AppState>) -> Json<baton_protocol::DesktopReleaseInfo> {
    Json(baton_protocol::DesktopReleaseInfo {
        release: s.config.desktop_release.clone(),
    })
}

/// 200 when the database can be read and written; 503 naming what is wrong
/// otherwise (a load balancer takes the instance out of rotation).
async fn healthz(State(s): State<AppState>) -> Response {
    let read = s.db.read(|tx| tx.feed_max_seq()).await;
    let problem = match (s.db.health(), read) {
        (Health::Unhealthy(why), _) => Some(why),
        (Health::Ok, Err(e)) => Some(format!("the database cannot be read: {e}")),
        (Health::Ok, Ok(_)) => None,
    };
    match problem {
        None => Json(serde_json::json!({ "status": "ok" })).into_response(),
        Some(why) => {
            tracing::error!(problem = %why, "health check failed");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(serde_json::json!({ "status": "unhealthy", "problem": why })),
            )
                .into_response()
        }
    }
}

/// Intake, shared by the HTTP handler and the demo's lead generator.
pub async fn submit_lead(
    s: &AppState,
    lead: LeadIntake,
    source: &str,
) -> Result<baton_protocol::IntakeResponse> {
    let now = crate::clock::now();
    let lead = validate::lead_intake(lead, now)?;
    let config = s.config.clone();
    let source = source.to_string();
    s.db.write(move |tx| routing::intake(tx, &config, lead, &source, now))
        .await
}

async fn post_lead(
    State(s): State<AppState>,
    auth: IntakeAuth,
    JsonBody(lead): JsonBody<LeadIntake>,
) -> Result<Response> {
    let limits = &s.config.limits;
    s.limiter.take(
        Budget::IntakeKey(auth.key_hash),
        limits.intake_per_second,
        limits.intake_burst,
    )?;
    let resp = submit_lead(&s, lead, &auth.source).await?;
    let status = match resp.outcome {
        IntakeOutcome::Created => StatusCode::CREATED,
        _ => StatusCode::OK,
    };
    Ok((status, Json(resp)).into_response())
}

fn parse_status(p: &HashMap<String, String>) -> Result<Option<LeadStatus>> {
    match p.get("status").map(String::as_str) {
        None | Some("all") => Ok(None),
        Some(s) => match LeadStatus::parse(s) {
            Ok(LeadStatus::Unknown) | Err(_) => Err(Error::query(
                "status",
                "must be one of nurture, queued, assigned, accepted, all",
            )),
            Ok(st) => Ok(Some(st)),
        },
    }
}

async fn list_leads(State(s): State<AppState>, auth: Auth, q: Params) -> Result<Json<LeadList>> {
    let p = params(q)?;
    let (rep, teams) = match auth.0.role {
        Role::Manager => (None, scope_of(&auth.0)),
        Role::Rep => (auth.0.subject_id, None),
        Role::Intake => return Err(Error::Forbidden("an intake key cannot read leads")),
    };
    let limit = int_param(&p, "limit", 100, 1, 1000)? as u32;
    let filter = LeadFilter {
        rep,
        status: parse_status(&p)?,
        after: Some(int_param(&p, "after", 0, 0, i64::MAX)?),
        limit,
        teams,
    };
    let leads =
        s.db.read(move |tx| {
            tx.leads(&filter)?
                .iter()
                .map(|row| routing::lead_view(tx, row))
                .collect::<Result<Vec<_>>>()
        })
        .await?;
    let next_after = (leads.len() == limit as usize)
        .then(|| leads.last().map(|l| l.id))
        .flatten();
    Ok(Json(LeadList { leads, next_after }))
}

/// A lead the caller may see: admins see all, a team's manager the leads
/// routed to their teams; a rep sees leads currently theirs.
pub fn visible_lead(tx: &dyn ReadTx, auth: &Principal, id: LeadId) -> Result<LeadRow> {
    let not_found = || Error::NotFound(format!("lead {id} does not exist or is not yours"));
    let row = tx.lead(id)?.ok_or_else(not_found)?;
    match auth.role {
        Role::Manager if auth.admin => Ok(row),
        Role::Manager if row.team.as_deref().is_some_and(|t| auth.manages(t)) => Ok(row),
        Role::Manager => Err(not_found()),
        Role::Rep => {
            let holder = match row.current_assignment {
                Some(a) => tx.assignment(a)?.map(|a| a.rep_id),
                None => None,
            };
            if holder.is_some() && holder == auth.subject_id {
                Ok(row)
            } else {
                Err(not_found())
            }
        }
        Role::Intake => Err(Error::Forbidden("an intake key cannot read leads")),
    }
}

async fn get_lead(
    State(s): State<AppState>,
    auth: Auth,
    LeadPath(id): LeadPath,
) -> Result<Json<baton_protocol::Lead>> {
    let lead =
        s.db.read(move |tx| {
            let row = visible_lead(tx, &auth.0, id)?;
            routing::lead_view(tx, &row)
        })
        .await?;
    Ok(Json(lead))
}

async fn get_lead_history(
    State(s): State<AppState>,
    auth: Auth,
    LeadPath(id): LeadPath,
) -> Result<Json<LeadHistory>> {
    let history =
        s.db.read(move |tx| {
            visible_lead(tx, &auth.0, id)?;
            Ok(LeadHistory {
                lead_id: id,
                events: tx.events_of_lead(id)?,
                assignments: tx.assignments_of_lead(id)?,
                decisions: tx.decisions_of_lead(id)?,
            })
        })
        .await?;
    Ok(Json(history))
}

async fn post_feedback(
    State(s): State<AppState>,
    RepAuth(rep): RepAuth,
    LeadPath(id): LeadPath,
    headers: HeaderMap,
    JsonBody(req): JsonBody<FeedbackRequest>,
) -> Result<Response> {
    let key = headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|k| !k.is_empty())
        .ok_or(Error::IdempotencyKeyMissing)?
        .to_string();
    if key.len() > 200 {
        return Err(Error::field(
            "Idempotency-Key",
            "must be at most 200 characters",
        ));
    }
    take_rep_write(&s, rep)?;
    let config = s.config.clone();
    let now = crate::clock::now();
    let answer =
        s.db.write(move |tx| routing::record_feedback(tx, &config, rep, id, &req, &key, now))
            .await?;
    let status = StatusCode::from_u16(answer.status).unwrap_or(StatusCode::OK);
    Ok((
        status,
        [(CONTENT_TYPE, HeaderValue::from_static("application/json"))],
        answer.body,
    )
        .into_response())
}

/// Draws one write from the rep's budget.
fn take_rep_write(s: &AppState, rep: RepId) -> Result<()> {
    let limits = &s.config.limits;
    s.limiter.take(
        Budget::Rep(rep),
        limits.rep_writes_per_second,
        limits.rep_write_burst,
    )
}

async fn sync(
    State(s): State<AppState>,
    RepAuth(rep): RepAuth,
    q: Params,
) -> Result<Json<SyncPage>> {
    let p = params(q)?;
    let after = parse_cursor(p.get("cursor").map(String::as_str), "cursor")?;
    let limit = int_param(&p, "limit", 200, 1, 1000)? as u32;
    let max_bytes = s.config.limits.feed_page_bytes;
    let page =
        s.db.read(move |tx| {
            check_cursor(tx, after, "cursor")?;
            let FeedSlice {
                entries: changes,
                has_more,
            } = tx.feed_after(rep, after, limit, max_bytes)?;
            let next_cursor = changes
                .last()
                .map(|e| e.cursor.clone())
                .unwrap_or_else(|| Cursor(after.to_string()));
            Ok(SyncPage {
                changes,
                next_cursor,
                has_more,
            })
        })
        .await?;
    Ok(Json(page))
}

async fn stream(
    State(s): State<AppState>,
    auth: AuthWithToken,
    headers: HeaderMap,
    q: Params,
) -> Result<impl IntoResponse> {
    let AuthWithToken(principal, token) = auth;
    let rep = match principal {
        Principal {
            role: Role::Rep,
            subject_id: Some(id),
            ..
        } => id,
        _ => return Err(Error::Forbidden("only a rep's token can do this")),
    };
    let p = params(q)?;
    let resume = match headers.get("last-event-id").and_then(|v| v.to_str().ok()) {
        Some(id) if !id.trim().is_empty() => Some(("Last-Event-ID", id.to_string())),
        _ => p
            .get("cursor")
            .filter(|c| !c.trim().is_empty())
            .map(|c| ("cursor", c.clone())),
    };
    let slot = s
        .hub
        .open_stream(&token, s.config.limits.streams_per_token)?;
    // Subscribe before reading the head, so no commit (and no revocation)
    // falls between the two.
    let mut wakeups = s.hub.subscribe(rep);
    let mut revocations = s.hub.revocations();
    let start = match resume {
        Some((field, c)) => {
            let after = parse_cursor(Some(&c), field)?;
            s.db.read(move |tx| check_cursor(tx, after, field)).await?;
            after
        }
        None => s.db.read(move |tx| tx.feed_head(rep)).await?,
    };
    let (tx, rx) = mpsc::channel::<std::result::Result<Event, Infallible>>(STREAM_BUFFER);
    let db = s.db.clone();
    let mut shutdown = s.shutdown.clone();
    tokio::spawn(async move {
        let _slot = slot;
        let revoked = |db: Db, token: Vec<u8>| async move {
            !matches!(
                db.read(move |t| t.principal_by_token_hash(&token)).await,
                Ok(Some(_))
            )
        };
        // The token may have been revoked between authentication and subscribing.
        if revoked(db.clone(), token.clone()).await {
            return;
        }
        let ready = Event::default()
            .event("ready")
            .json_data(StreamReady {
                cursor: Cursor(start.to_string()),
                heartbeat_secs: Some(s.heartbeat.as_secs().max(1)),
            })
            .expect("serialisable");
        if tx.send(Ok(ready)).await.is_err() {
            return;
        }
        let mut cursor = start;
        loop {
            let page = match db
                .read(move |t| t.feed_after(rep, cursor, STREAM_PAGE, STREAM_PAGE_BYTES))
                .await
            {
                Ok(p) => p,
                Err(e) => {
                    tracing::warn!(error = %e, "live stream read failed; closing it");
                    return;
                }
            };
            let more = page.has_more;
            for entry in page.entries {
                let id = entry.cursor.0.clone();
                cursor = id.parse().unwrap_or(cursor);
                let ev = Event::default()
                    .id(id)
                    .event("change")
                    .json_data(&entry)
                    .expect("serialisable");
                // A client that stops reading blocks here; the connection's
                // write-stall limit then closes it, which drops the receiver.
                loop {
                    tokio::select! {
                        slot = tx.reserve() => match slot {
                            Ok(slot) => {
                                slot.send(Ok(ev));
                                break;
                            }
                            Err(_) => return,
                        },
                        _ = shutdown.changed() => return,
                        _ = revocations.changed() => {
                            if revoked(db.clone(), token.clone()).await {
                                return;
                            }
                        }
                    }
                }
            }
            if more {
                continue;
            }
            // Wait for a commit to this rep's feed.
            loop {
                tokio::select! {
                    woke = wakeups.changed() => if woke { break } else { return },
                    _ = revocations.changed() => {
                        if revoked(db.clone(), token.clone()).await {
                            return;
                        }
                    }
                    _ = shutdown.changed() => return,
                    _ = tx.closed() => return,
                }
            }
        }
    });
    Ok(Sse::new(ReceiverStream::new(rx))
        .keep_alive(KeepAlive::new().interval(s.heartbeat).text("heartbeat")))
}

fn team_of(cfg: &Config, name: &str) -> Option<Team> {
    cfg.team(name).map(crate::config::TeamConfig::view)
}

async fn me(State(s): State<AppState>, auth: Auth) -> Result<Json<Me>> {
    let Principal {
        role,
        subject_id,
        name,
        admin,
        teams,
        ..
    } = auth.0;
    let rep = match (role, subject_id) {
        (Role::Rep, Some(id)) => s.db.read(move |tx| tx.rep(id)).await?,
        _ => None,
    };
    let team = rep.as_ref().and_then(|r| team_of(&s.config, &r.team));
    let manager = match (role, subject_id) {
        (Role::Manager, Some(id)) => {
            s.db.read(move |tx| Ok(tx.managers()?.into_iter().find(|m| m.id == id)))
                .await?
                .map(|m| baton_protocol::Manager { admin, teams, ..m })
        }
        _ => None,
    };
    Ok(Json(Me {
        role,
        name,
        rep,
        team,
        manager,
    }))
}

async fn put_availability(
    State(s): State<AppState>,
    RepAuth(rep): RepAuth,
    JsonBody(update): JsonBody<AvailabilityUpdate>,
) -> Result<Json<baton_protocol::Rep>> {
    take_rep_write(&s, rep)?;
    let config = s.config.clone();
    let now = crate::clock::now();
    let rep =
        s.db.write(move |tx| routing::set_availability(tx, &config, rep, update.availability, now))
            .await?;
    Ok(Json(rep))
}

async fn reasons(State(s): State<AppState>, _auth: Auth) -> Result<Json<ReasonList>> {
    let config = s.config.clone();
    let reasons =
        s.db.read(move |tx| routing::reasons_in_force(tx, &config))
            .await?;
    Ok(Json(ReasonList { reasons }))
}

async fn teams(State(s): State<AppState>, _auth: Auth) -> Json<TeamList> {
    Json(TeamList {
        teams: s
            .config
            .teams
            .iter()
            .filter_map(|t| team_of(&s.config, &t.name))
            .collect(),
    })
}

async fn reps(State(s): State<AppState>, auth: ManagerAuth) -> Result<Json<RepList>> {
    let mut reps = s.db.read(|tx| tx.reps()).await?;
    reps.retain(|r| auth.0.manages(&r.team));
    Ok(Json(RepList { reps }))
}

async fn queue(State(s): State<AppState>, auth: ManagerAuth, q: Params) -> Result<Json<QueueList>> {
    let p = params(q)?;
    let limit = int_param(&p, "limit", 500, 1, 10_000)? as u32;
    // A team's manager: the longest-waiting of their teams' leads (read
    // across every team, up to the bound, then filtered).
    let read = if auth.0.admin { limit } else { 10_000 };
    let mut queued = s.db.read(move |tx| tx.queued_leads(read)).await?;
    queued.retain(|l| auth.0.manages(&l.team));
    queued.truncate(limit as usize);
    Ok(Json(QueueList { queued }))
}

async fn handoff_report(
    State(s): State<AppState>,
    auth: ManagerAuth,
    q: Params,
) -> Result<Json<baton_protocol::HandoffReport>> {
    let p = params(q)?;
    let (from, to) = report_period(&p)?;
    let limit = int_param(&p, "limit", 500, 0, 10_000)? as u32;
    let team = scoped_team(&s.config, &auth.0, &p)?;
    let config = s.config.clone();
    let report =
        s.db.read(move |tx| {
            let parts = [report::CellPart::Trend, report::CellPart::Groups];
            let cells = report::period_cells(tx, from, to, team.as_deref(), &parts)?;
            let reps = tx.reps()?;
            let mut report = report::aggregate(&config, &cells, &reps, team.as_deref(), from, to);
            let episodes = tx.queue_episodes(from, to, team.as_deref())?;
            report.queue_waits = report::queue_waits(&episodes, crate::clock::now());
            let mut log = tx.feedback_log(from, to, team.as_deref(), limit + 1)?;
            report.feedback_log_truncated = log.len() > limit as usize;
            log.truncate(limit as usize);
            report.feedback_log = log;
            Ok(report)
        })
        .await?;
    Ok(Json(report))
}

async fn calibration_report(
    State(s): State<AppState>,
    auth: ManagerAuth,
    q: Params,
) -> Result<Json<baton_protocol::CalibrationReport>> {
    let p = params(q)?;
    let (from, to) = report_period(&p)?;
    let target = match p.get("target") {
        None => None,
        Some(v) => match v.parse::<f64>() {
            Ok(t) if (0.0..=1.0).contains(&t) => Some(t),
            _ => {
                return Err(Error::query(
                    "target",
                    "must be an acceptance rate from 0 to 1, e.g. 0.6",
                ));
            }
        },
    };
    let team = scoped_team(&s.config, &auth.0, &p)?;
    let fallback = s.config.qualification_threshold;
    let report =
        s.db.read(move |tx| {
            let threshold = tx.definition(None)?.map_or(fallback, |d| d.threshold);
            let parts = [report::CellPart::Calibration];
            let cells = report::period_cells(tx, from, to, team.as_deref(), &parts)?;
            Ok(calibration::calibrate(
                from,
                to,
                &cells.decided_offers(),
                &cells.score_counts(),
                threshold,
                target,
            ))
        })
        .await?;
    Ok(Json(report))
}

/// A report's `[from, to)`: the last 30 days unless given.
fn report_period(p: &HashMap<String, String>) -> Result<(Timestamp, Timestamp)> {
    let now = crate::clock::now();
    let from = time_param(p, "from", now.plus_millis(-30 * 24 * 3600 * 1000))?;
    let to = time_param(p, "to", now.plus_millis(1))?;
    if from >= to {
        return Err(Error::query("from", "must be before to"));
    }
    Ok((from, to))
}

/// The `team` of a report as the caller may ask it: any team (or all) for
/// an admin; for a team's manager one of theirs, which may be left out
/// when they manage exactly one.
pub fn scoped_team(
    config: &Config,
    auth: &Principal,
    p: &HashMap<String, String>,
) -> Result<Option<String>> {
    let team = team_param(config, p)?;
    if auth.admin {
        return Ok(team);
    }
    match team {
        Some(t) if auth.manages(&t) => Ok(Some(t)),
        Some(_) => Err(Error::Forbidden(
            "you manage other teams; ask for one of yours (GET /v1/me lists them)",
        )),
        None => match auth.teams.as_slice() {
            [only] => Ok(Some(only.clone())),
            [] => Err(Error::Forbidden(
                "you manage no team yet; ask an admin to give you one",
            )),
            several => Err(Error::query(
                "team",
                format!(
                    "you manage several teams; pass one of: {}",
                    several.join(", ")
                ),
            )),
        },
    }
}

/// The optional `team` of a report: one the config defines.
fn team_param(config: &Config, p: &HashMap<String, String>) -> Result<Option<String>> {
    match p.get("team") {
        None => Ok(None),
        Some(t) if t.is_empty() => Ok(None),
        Some(t) if config.teams.iter().any(|team| &team.name == t) => Ok(Some(t.clone())),
        Some(t) => Err(Error::query(
            "team",
            format!("no team is named {t:?}; GET /v1/teams lists them"),
        )),
    }
}
