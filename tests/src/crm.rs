//! Local stand-ins for HubSpot's and Salesforce's APIs, following their
//! documented requests, answers and errors (HubSpot CRM v3 owners and
//! contacts; Salesforce REST query and sObject PATCH), so the owner
//! write-back can be tested without either service.
//!
//! - HubSpot: `GET /crm/v3/owners?email=…` → `{"results": [{"id", "email", …}]}`;
//!   `PATCH /crm/v3/objects/contacts/{id}` (or `{email}?idProperty=email`)
//!   with `{"properties": {…}}` → 200 with the contact; errors as
//!   `{"status": "error", "message", "correlationId", "category"}` (404
//!   `OBJECT_NOT_FOUND`, 401 `INVALID_AUTHENTICATION`), rate limits as 429
//!   with `"errorType": "RATE_LIMIT"`.
//! - Salesforce: `GET /services/data/vXX.X/query?q=SOQL` → `{"totalSize",
//!   "done", "records": [{"attributes", "Id"}]}`; `PATCH
//!   /services/data/vXX.X/sobjects/Lead/{id}` → 204; errors as
//!   `[{"message", "errorCode"}]` (404 `NOT_FOUND`, 401 `INVALID_SESSION_ID`,
//!   403 `REQUEST_LIMIT_EXCEEDED`). Without `Sforce-Auto-Assign: FALSE` the
//!   fake applies the org's assignment rule, as Salesforce does, and the
//!   lead goes to the rule's queue instead.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

/// A request a fake received.
#[derive(Clone, Debug)]
pub struct Call {
    pub method: String,
    pub path: String,
    pub query: HashMap<String, String>,
    pub headers: HeaderMap,
    pub body: Value,
}

#[derive(Default)]
struct Crm {
    token: String,
    /// email → owner/user id
    owners: HashMap<String, String>,
    /// record id → fields
    records: HashMap<String, serde_json::Map<String, Value>>,
    /// The next this many requests are refused for a rate limit.
    limited: u32,
    calls: Vec<Call>,
}

#[derive(Clone)]
pub struct Fake {
    inner: Arc<Mutex<Crm>>,
    pub url: String,
}

impl Fake {
    pub fn calls(&self) -> Vec<Call> {
        self.inner.lock().unwrap().calls.clone()
    }
    pub fn add_owner(&self, email: &str, id: &str) {
        self.inner
            .lock()
            .unwrap()
            .owners
            .insert(email.to_lowercase(), id.to_string());
    }
    pub fn add_record(&self, id: &str, fields: Value) {
        let Value::Object(map) = fields else {
            panic!("an object")
        };
        self.inner
            .lock()
            .unwrap()
            .records
            .insert(id.to_string(), map);
    }
    pub fn record(&self, id: &str) -> Option<serde_json::Map<String, Value>> {
        self.inner.lock().unwrap().records.get(id).cloned()
    }
    /// Refuses the next `n` requests for a rate limit.
    pub fn limit_next(&self, n: u32) {
        self.inner.lock().unwrap().limited = n;
    }

    async fn start(token: &str, app: impl FnOnce(Fake) -> axum::Router) -> Fake {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let fake = Fake {
            inner: Arc::new(Mutex::new(Crm {
                token: token.to_string(),
                ..Crm::default()
            })),
            url: format!("http://{addr}"),
        };
        let router = app(fake.clone());
        tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        fake
    }

    /// Records the call; answers `Some` when auth or the rate limit refuses it.
    fn take(
        &self,
        call: Call,
        (refuse_auth, refuse_limit): (impl Fn() -> Response, impl Fn() -> Response),
    ) -> Option<Response> {
        let mut crm = self.inner.lock().unwrap();
        let headers = call.headers.clone();
        crm.calls.push(call);
        let bearer = headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "));
        if bearer != Some(crm.token.as_str()) {
            return Some(refuse_auth());
        }
        if crm.limited > 0 {
            crm.limited -= 1;
            return Some(refuse_limit());
        }
        None
    }
}

// ---------------------------------------------------------------------------
// HubSpot

fn hubspot_error(status: StatusCode, category: &str, message: &str) -> Response {
    (
        status,
        Json(json!({
            "status": "error",
            "message": message,
            "correlationId": "aeb5f871-7f07-4993-9211-075dc63e7cbf",
            "category": category,
        })),
    )
        .into_response()
}

fn hubspot_refusals() -> (impl Fn() -> Response, impl Fn() -> Response) {
    (
        || {
            hubspot_error(
                StatusCode::UNAUTHORIZED,
                "INVALID_AUTHENTICATION",
                "Authentication credentials not found.",
            )
        },
        || {
            (
                StatusCode::TOO_MANY_REQUESTS,
                Json(json!({
                    "status": "error",
                    "message": "You have reached your secondly limit.",
                    "errorType": "RATE_LIMIT",
                    "correlationId": "c033cdaa-2c40-4a64-ae48-b4cec88dad24",
                    "policyName": "SECONDLY",
                })),
            )
                .into_response()
        },
    )
}

async fn hubspot_owners(
    State(f): State<Fake>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let (auth, limit) = hubspot_refusals();
    if let Some(r) = f.take(
        Call {
            method: "GET".into(),
            path: "/crm/v3/owners".into(),
            query: q.clone(),
            headers: headers.clone(),
            body: Value::Null,
        },
        (auth, limit),
    ) {
        return r;
    }
    let email = q.get("email").cloned().unwrap_or_default().to_lowercase();
    let crm = f.inner.lock().unwrap();
    let results: Vec<Value> = crm
        .owners
        .get(&email)
        .map(|id| {
            json!({
                "id": id, "email": email, "firstName": "", "lastName": "", "userId": 9586504,
                "createdAt": "2026-01-02T10:00:00Z", "updatedAt": "2026-01-02T10:00:00Z", "archived": false
            })
        })
        .into_iter()
        .collect();
    Json(json!({ "results": results })).into_response()
}

async fn hubspot_patch_contact(
    State(f): State<Fake>,
    Path(id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    let (auth, limit) = hubspot_refusals();
    let path = format!("/crm/v3/objects/contacts/{id}");
    if let Some(r) = f.take(
        Call {
            method: "PATCH".into(),
            path,
            query: q.clone(),
            headers: headers.clone(),
            body: body.clone(),
        },
        (auth, limit),
    ) {
        return r;
    }
    let mut crm = f.inner.lock().unwrap();
    let key = if q.get("idProperty").map(String::as_str) == Some("email") {
        crm.records
            .iter()
            .find(|(_, r)| r.get("email").and_then(Value::as_str) == Some(id.as_str()))
            .map(|(k, _)| k.clone())
    } else {
        crm.records.contains_key(&id).then(|| id.clone())
    };
    let Some(key) = key else {
        return hubspot_error(
            StatusCode::NOT_FOUND,
            "OBJECT_NOT_FOUND",
            "resource not found",
        );
    };
    let record = crm.records.get_mut(&key).unwrap();
    if let Some(Value::Object(props)) = body.get("properties") {
        for (k, v) in props {
            record.insert(k.clone(), v.clone());
        }
    }
    Json(json!({
        "id": key, "properties": record.clone(),
        "createdAt": "2026-01-02T10:00:00Z", "updatedAt": "2026-11-30T10:00:00Z", "archived": false
    }))
    .into_response()
}

/// A HubSpot API for private-app `token`.
pub async fn hubspot(token: &str) -> Fake {
    Fake::start(token, |f| {
        axum::Router::new()
            .route("/crm/v3/owners", axum::routing::get(hubspot_owners))
            .route(
                "/crm/v3/objects/contacts/{id}",
                axum::routing::patch(hubspot_patch_contact),
            )
            .with_state(f)
    })
    .await
}

// ---------------------------------------------------------------------------
// Salesforce

fn salesforce_error(status: StatusCode, code: &str, message: &str) -> Response {
    (
        status,
        Json(json!([{ "message": message, "errorCode": code }])),
    )
        .into_response()
}

fn salesforce_refusals() -> (impl Fn() -> Response, impl Fn() -> Response) {
    (
        || {
            salesforce_error(
                StatusCode::UNAUTHORIZED,
                "INVALID_SESSION_ID",
                "Session expired or invalid",
            )
        },
        || {
            salesforce_error(
                StatusCode::FORBIDDEN,
                "REQUEST_LIMIT_EXCEEDED",
                "TotalRequests Limit exceeded.",
            )
        },
    )
}

/// The email in `... WHERE Email = 'x' ...` (with `\'` unescaped).
fn soql_email(q: &str) -> Option<String> {
    let start = q.find("Email = '")? + "Email = '".len();
    let mut out = String::new();
    let mut chars = q[start..].chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => out.push(chars.next()?),
            '\'' => return Some(out),
            c => out.push(c),
        }
    }
    None
}

async fn salesforce_query(
    State(f): State<Fake>,
    Path(version): Path<String>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let (auth, limit) = salesforce_refusals();
    let path = format!("/services/data/{version}/query");
    if let Some(r) = f.take(
        Call {
            method: "GET".into(),
            path,
            query: q.clone(),
            headers: headers.clone(),
            body: Value::Null,
        },
        (auth, limit),
    ) {
        return r;
    }
    let soql = q.get("q").cloned().unwrap_or_default();
    if !soql.starts_with("SELECT Id FROM User WHERE") {
        return salesforce_error(
            StatusCode::BAD_REQUEST,
            "MALFORMED_QUERY",
            "unexpected query",
        );
    }
    let email = soql_email(&soql).unwrap_or_default().to_lowercase();
    let crm = f.inner.lock().unwrap();
    let records: Vec<Value> = crm
        .owners
        .get(&email)
        .map(|id| {
            json!({
                "attributes": { "type": "User", "url": format!("/services/data/{version}/sobjects/User/{id}") },
                "Id": id
            })
        })
        .into_iter()
        .collect();
    Json(json!({ "totalSize": records.len(), "done": true, "records": records })).into_response()
}

/// The queue the org's assignment rule sends leads to.
pub const ASSIGNMENT_RULE_QUEUE: &str = "00G5e000004RulesQ";

async fn salesforce_patch_lead(
    State(f): State<Fake>,
    Path((version, id)): Path<(String, String)>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    let (auth, limit) = salesforce_refusals();
    let path = format!("/services/data/{version}/sobjects/Lead/{id}");
    if let Some(r) = f.take(
        Call {
            method: "PATCH".into(),
            path,
            query: HashMap::new(),
            headers: headers.clone(),
            body: body.clone(),
        },
        (auth, limit),
    ) {
        return r;
    }
    let auto_assign = headers
        .get("sforce-auto-assign")
        .and_then(|v| v.to_str().ok())
        .is_none_or(|v| !v.eq_ignore_ascii_case("false"));
    let mut crm = f.inner.lock().unwrap();
    let Some(record) = crm.records.get_mut(&id) else {
        return salesforce_error(
            StatusCode::NOT_FOUND,
            "NOT_FOUND",
            "The requested resource does not exist",
        );
    };
    if let Value::Object(fields) = body {
        for (k, v) in fields {
            record.insert(k, v);
        }
    }
    if auto_assign {
        record.insert("OwnerId".into(), json!(ASSIGNMENT_RULE_QUEUE));
    }
    StatusCode::NO_CONTENT.into_response()
}

/// A Salesforce org's REST API for access `token`.
pub async fn salesforce(token: &str) -> Fake {
    Fake::start(token, |f| {
        axum::Router::new()
            .route(
                "/services/data/{version}/query",
                axum::routing::get(salesforce_query),
            )
            .route(
                "/services/data/{version}/sobjects/Lead/{id}",
                axum::routing::patch(salesforce_patch_lead),
            )
            .with_state(f)
    })
    .await
}
