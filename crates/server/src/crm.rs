//! The CRM owner, written back: when a rep accepts a lead (or, configured,
//! when it is offered), the contact in HubSpot or the lead in Salesforce is
//! given that rep as its owner.
//!
//! A write-back rides on the outbound events: the config's `[crm.hubspot]`
//! and `[crm.salesforce]` become endpoints of their own kind, subscribed to
//! `lead.accepted` (or `lead.routed`) for leads of their source, so each
//! write-back is queued in the same transaction as the decision, retried on
//! the same schedule, shown in the same delivery log, and made by one
//! instance. Only the request differs (see [`attempt`]).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use baton_protocol::{EndpointKind, EventType};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::sources::Secret;
use crate::store::{CrmEndpoint, Db, DueDelivery};

/// How long a rep's CRM owner id is remembered.
const OWNER_TTL: Duration = Duration::from_secs(3600);

/// When the owner is written.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum WritebackOn {
    /// When the rep accepts the lead (the default).
    #[default]
    Accepted,
    /// As soon as the lead is offered to the rep.
    Assigned,
}

impl WritebackOn {
    fn event(self) -> EventType {
        match self {
            WritebackOn::Accepted => EventType::LeadAccepted,
            WritebackOn::Assigned => EventType::LeadRouted,
        }
    }
}

/// `[crm.hubspot]`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HubspotConfig {
    /// A private app's access token (scopes crm.objects.contacts.write,
    /// crm.objects.owners.read), or the variable holding it.
    #[serde(default)]
    pub token: Option<Secret>,
    #[serde(default)]
    pub token_env: Option<String>,
    #[serde(default = "hubspot_api")]
    pub api_url: String,
    /// Leads from this source are HubSpot contacts (their id is the contact id).
    #[serde(default = "hubspot_source")]
    pub source: String,
    /// Also write back leads from other sources, finding the contact by email.
    #[serde(default)]
    pub all_leads: bool,
    #[serde(default)]
    pub on: WritebackOn,
    /// The `hs_lead_status` set with the owner; default IN_PROGRESS on
    /// acceptance, OPEN on assignment; "" leaves it alone.
    #[serde(default)]
    pub lead_status: Option<String>,
}

fn hubspot_api() -> String {
    "https://api.hubapi.com".into()
}
fn hubspot_source() -> String {
    "hubspot".into()
}

/// `[crm.salesforce]`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SalesforceConfig {
    /// `https://YOURDOMAIN.my.salesforce.com`.
    pub instance_url: String,
    /// An OAuth access token for the API (or the variable holding it).
    #[serde(default)]
    pub token: Option<Secret>,
    #[serde(default)]
    pub token_env: Option<String>,
    #[serde(default = "salesforce_version")]
    pub api_version: String,
    /// Leads from this source are Salesforce Leads (their id is the Lead Id).
    #[serde(default = "salesforce_source")]
    pub source: String,
    #[serde(default)]
    pub on: WritebackOn,
}

fn salesforce_version() -> String {
    "v60.0".into()
}
fn salesforce_source() -> String {
    "salesforce".into()
}

/// `[crm]`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CrmConfig {
    #[serde(default)]
    pub hubspot: Option<HubspotConfig>,
    #[serde(default)]
    pub salesforce: Option<SalesforceConfig>,
}

fn resolve_token(
    what: &str,
    token: &mut Option<Secret>,
    env: &Option<String>,
) -> Result<(), String> {
    match (&token, env) {
        (Some(_), Some(_)) => Err(format!("{what}: give token or token_env, not both")),
        (None, Some(var)) => match std::env::var(var) {
            Ok(v) if !v.is_empty() => {
                *token = Some(Secret::new(v));
                Ok(())
            }
            _ => Err(format!(
                "{what}: token_env names {var:?}, which is not set in the server's environment"
            )),
        },
        (None, None) => Err(format!("{what}: give the API token (token or token_env)")),
        (Some(_), None) => Ok(()),
    }
}

fn check_url(what: &str, url: &str) -> Result<(), String> {
    match reqwest::Url::parse(url) {
        Ok(u) if ["https", "http"].contains(&u.scheme()) && u.host_str().is_some() => Ok(()),
        _ => Err(format!("{what} must be a URL such as https://…")),
    }
}

impl CrmConfig {
    pub fn check(&mut self) -> Result<(), String> {
        if let Some(h) = &mut self.hubspot {
            resolve_token("crm.hubspot", &mut h.token, &h.token_env)?;
            check_url("crm.hubspot.api_url", &h.api_url)?;
            h.api_url = h.api_url.trim_end_matches('/').to_string();
        }
        if let Some(s) = &mut self.salesforce {
            resolve_token("crm.salesforce", &mut s.token, &s.token_env)?;
            check_url("crm.salesforce.instance_url", &s.instance_url)?;
            s.instance_url = s.instance_url.trim_end_matches('/').to_string();
            let v = s.api_version.trim_start_matches('v');
            if !s.api_version.starts_with('v')
                || v.split('.').count() != 2
                || !v
                    .split('.')
                    .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
            {
                return Err("crm.salesforce.api_version must look like v60.0".into());
            }
        }
        Ok(())
    }
}

/// Makes the stored write-back endpoints match the config (at start-up).
pub fn apply(
    tx: &mut dyn crate::store::WriteTx,
    crm: &CrmConfig,
    at: baton_protocol::Timestamp,
) -> crate::error::Result<()> {
    let hubspot_events;
    let hubspot = match &crm.hubspot {
        Some(h) => {
            hubspot_events = [h.on.event()];
            Some(CrmEndpoint {
                url: &h.api_url,
                source: (!h.all_leads).then_some(h.source.as_str()),
                events: &hubspot_events,
            })
        }
        None => None,
    };
    tx.set_crm_endpoint(EndpointKind::Hubspot, hubspot.as_ref(), at)?;
    let salesforce_events;
    let salesforce = match &crm.salesforce {
        Some(s) => {
            salesforce_events = [s.on.event()];
            Some(CrmEndpoint {
                url: &s.instance_url,
                source: Some(s.source.as_str()),
                events: &salesforce_events,
            })
        }
        None => None,
    };
    tx.set_crm_endpoint(EndpointKind::Salesforce, salesforce.as_ref(), at)
}

/// What one attempt heard (as webhook attempts do), and whether trying
/// again can help.
#[derive(Debug, Default)]
pub struct CrmHeard {
    pub status: Option<u16>,
    pub error: Option<String>,
    pub retry_after: Option<u64>,
    /// The CRM said no for good (no such contact, an owner it refuses).
    pub permanent: bool,
}

impl CrmHeard {
    fn failed(error: String, permanent: bool) -> Self {
        CrmHeard {
            error: Some(error),
            permanent,
            ..CrmHeard::default()
        }
    }
}

/// Reps' owner ids in each CRM, by email.
#[derive(Default)]
pub struct Owners {
    known: Mutex<HashMap<(EndpointKind, String), (String, Instant)>>,
}

impl Owners {
    fn get(&self, kind: EndpointKind, email: &str) -> Option<String> {
        let known = self.known.lock().expect("owner cache");
        known
            .get(&(kind, email.to_lowercase()))
            .filter(|(_, at)| at.elapsed() < OWNER_TTL)
            .map(|(id, _)| id.clone())
    }

    fn put(&self, kind: EndpointKind, email: &str, id: &str) {
        let mut known = self.known.lock().expect("owner cache");
        if known.len() > 10_000 {
            known.clear();
        }
        known.insert(
            (kind, email.to_lowercase()),
            (id.to_string(), Instant::now()),
        );
    }
}

/// Text from a CRM's answer, safe for the delivery log: printable, short.
fn printable(s: &str) -> String {
    let s: String = s
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(300)
        .collect();
    s.trim().to_string()
}

/// A CRM answer's error text: HubSpot's `message` (and `category`),
/// Salesforce's `[{"message", "errorCode"}]`.
fn error_text(status: reqwest::StatusCode, body: &str) -> String {
    let v: Value = serde_json::from_str(body).unwrap_or(Value::Null);
    let detail = match &v {
        Value::Array(items) => items
            .iter()
            .filter_map(|e| {
                let code = e.get("errorCode").and_then(Value::as_str).unwrap_or("");
                let msg = e.get("message").and_then(Value::as_str).unwrap_or("");
                (!code.is_empty() || !msg.is_empty()).then(|| format!("{code}: {msg}"))
            })
            .collect::<Vec<_>>()
            .join("; "),
        Value::Object(o) => {
            let msg = o.get("message").and_then(Value::as_str).unwrap_or("");
            let cat = o
                .get("category")
                .or_else(|| o.get("errorType"))
                .and_then(Value::as_str)
                .unwrap_or("");
            if cat.is_empty() {
                msg.to_string()
            } else {
                format!("{cat}: {msg}")
            }
        }
        _ => String::new(),
    };
    if detail.is_empty() {
        format!("answered {status}")
    } else {
        format!("answered {status}: {}", printable(&detail))
    }
}

fn retry_after_secs(headers: &reqwest::header::HeaderMap) -> Option<u64> {
    headers
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse::<u64>()
        .ok()
        .map(|s| s.min(24 * 3600))
}

async fn read_answer(
    resp: reqwest::Response,
) -> (reqwest::StatusCode, reqwest::header::HeaderMap, String) {
    let status = resp.status();
    let headers = resp.headers().clone();
    // At most 64 KiB of an answer is read.
    let mut body = Vec::new();
    let mut resp = resp;
    while let Ok(Some(chunk)) = resp.chunk().await {
        body.extend_from_slice(&chunk);
        if body.len() > 64 * 1024 {
            break;
        }
    }
    (status, headers, String::from_utf8_lossy(&body).into_owned())
}

/// The lead, rep and email an event names.
struct Facts {
    external_id: String,
    source: Option<String>,
    email: Option<String>,
    rep_id: i64,
}

fn facts(payload: &str) -> Option<Facts> {
    let v: Value = serde_json::from_str(payload).ok()?;
    let d = v.get("data")?;
    Some(Facts {
        external_id: d.get("external_id")?.as_str()?.to_string(),
        source: d.get("source").and_then(Value::as_str).map(str::to_string),
        email: d
            .pointer("/contact/email")
            .and_then(Value::as_str)
            .map(str::to_string),
        rep_id: d.pointer("/rep/id")?.as_i64()?,
    })
}

/// The CRM's own id of a lead from its source (`SOURCE:ID` → `ID`).
fn crm_id(f: &Facts, source: &str) -> Option<String> {
    if f.source.as_deref() != Some(source) {
        return None;
    }
    f.external_id
        .strip_prefix(&format!("{source}:"))
        .map(str::to_string)
}

/// One write-back attempt for delivery `d`.
pub async fn attempt(
    client: &reqwest::Client,
    crm: &CrmConfig,
    owners: &Owners,
    db: &Db,
    d: &DueDelivery,
) -> CrmHeard {
    let Some(f) = facts(&d.payload) else {
        return CrmHeard::failed("the event names no lead or rep".into(), true);
    };
    let rep_id = f.rep_id;
    let rep = match db.read(move |tx| tx.rep(rep_id)).await {
        Ok(Some(rep)) => rep,
        Ok(None) => return CrmHeard::failed(format!("rep {rep_id} no longer exists"), true),
        Err(e) => return CrmHeard::failed(format!("the rep could not be read: {e}"), false),
    };
    match d.kind {
        EndpointKind::Hubspot => match &crm.hubspot {
            Some(h) => hubspot(client, h, owners, &f, &rep.email).await,
            None => CrmHeard::failed("[crm.hubspot] is no longer configured".into(), true),
        },
        EndpointKind::Salesforce => match &crm.salesforce {
            Some(s) => salesforce(client, s, owners, &f, &rep.email).await,
            None => CrmHeard::failed("[crm.salesforce] is no longer configured".into(), true),
        },
        _ => CrmHeard::failed("not a CRM endpoint".into(), true),
    }
}

fn sent_failed(e: &reqwest::Error) -> CrmHeard {
    CrmHeard::failed(
        if e.is_timeout() {
            "no answer within 15 s".to_string()
        } else {
            format!("the request failed: {}", printable(&e.to_string()))
        },
        false,
    )
}

/// Sends one request to a CRM and reads its answer: the status and body
/// when it succeeded, else what the attempt heard. A failed owner lookup
/// (`lookup`) is always retried: the record it is for is not in question.
async fn call(req: reqwest::RequestBuilder, lookup: bool) -> Result<(u16, String), CrmHeard> {
    let resp = req.send().await.map_err(|e| sent_failed(&e))?;
    let (status, headers, body) = read_answer(resp).await;
    if status.is_success() {
        return Ok((status.as_u16(), body));
    }
    let mut heard = refused(status, &headers, &body);
    heard.permanent &= !lookup;
    Err(heard)
}

/// What a successful write heard.
fn written(status: u16) -> CrmHeard {
    CrmHeard {
        status: Some(status),
        ..CrmHeard::default()
    }
}

/// A failed answer: 404 and 400 are for good, 429 and 5xx (and 401/403,
/// which an operator fixes) are retried.
fn refused(
    status: reqwest::StatusCode,
    headers: &reqwest::header::HeaderMap,
    body: &str,
) -> CrmHeard {
    CrmHeard {
        status: Some(status.as_u16()),
        error: Some(error_text(status, body)),
        retry_after: retry_after_secs(headers),
        permanent: status == reqwest::StatusCode::NOT_FOUND
            || status == reqwest::StatusCode::BAD_REQUEST,
    }
}

async fn hubspot(
    client: &reqwest::Client,
    h: &HubspotConfig,
    owners: &Owners,
    f: &Facts,
    rep_email: &str,
) -> CrmHeard {
    let token = h.token.as_ref().map(Secret::expose).unwrap_or_default();
    let owner = match owners.get(EndpointKind::Hubspot, rep_email) {
        Some(id) => id,
        None => {
            let req = client
                .get(format!("{}/crm/v3/owners", h.api_url))
                .bearer_auth(token)
                .query(&[("email", rep_email), ("limit", "1")]);
            let (status, body) = match call(req, true).await {
                Ok(answer) => answer,
                Err(heard) => return heard,
            };
            let v: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
            let Some(id) = v.pointer("/results/0/id").and_then(|i| {
                i.as_str()
                    .map(str::to_string)
                    .or_else(|| i.as_i64().map(|n| n.to_string()))
            }) else {
                return CrmHeard {
                    status: Some(status),
                    error: Some(format!(
                        "HubSpot has no owner with the email {rep_email:?}; add the rep as a user in HubSpot"
                    )),
                    ..CrmHeard::default()
                };
            };
            owners.put(EndpointKind::Hubspot, rep_email, &id);
            id
        }
    };
    let (path, by_email) = match (crm_id(f, &h.source), &f.email) {
        (Some(id), _) => (id, false),
        (None, Some(email)) if h.all_leads => (email.clone(), true),
        _ => {
            return CrmHeard::failed(
                "the lead has no HubSpot contact id and no email".into(),
                true,
            );
        }
    };
    let mut properties = serde_json::Map::new();
    properties.insert("hubspot_owner_id".into(), json!(owner));
    let status_value = h.lead_status.clone().unwrap_or_else(|| {
        match h.on {
            WritebackOn::Accepted => "IN_PROGRESS",
            WritebackOn::Assigned => "OPEN",
        }
        .to_string()
    });
    if !status_value.is_empty() {
        properties.insert("hs_lead_status".into(), json!(status_value));
    }
    let mut url = reqwest::Url::parse(&format!("{}/crm/v3/objects/contacts/", h.api_url))
        .expect("checked at start-up");
    url.path_segments_mut()
        .expect("an http URL")
        .pop_if_empty()
        .push(&path);
    if by_email {
        url.query_pairs_mut().append_pair("idProperty", "email");
    }
    let req = client
        .patch(url)
        .bearer_auth(token)
        .json(&json!({ "properties": properties }));
    match call(req, false).await {
        Ok((status, _)) => written(status),
        Err(heard) => heard,
    }
}

/// A value inside a SOQL string literal.
fn soql_quote(s: &str) -> String {
    s.replace('\\', "\\\\").replace('\'', "\\'")
}

async fn salesforce(
    client: &reqwest::Client,
    s: &SalesforceConfig,
    owners: &Owners,
    f: &Facts,
    rep_email: &str,
) -> CrmHeard {
    let token = s.token.as_ref().map(Secret::expose).unwrap_or_default();
    let base = format!("{}/services/data/{}", s.instance_url, s.api_version);
    let owner = match owners.get(EndpointKind::Salesforce, rep_email) {
        Some(id) => id,
        None => {
            let soql = format!(
                "SELECT Id FROM User WHERE Email = '{}' AND IsActive = true LIMIT 1",
                soql_quote(rep_email)
            );
            let req = client
                .get(format!("{base}/query"))
                .bearer_auth(token)
                .query(&[("q", soql)]);
            let (status, body) = match call(req, true).await {
                Ok(answer) => answer,
                Err(heard) => return heard,
            };
            let v: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
            let Some(id) = v.pointer("/records/0/Id").and_then(Value::as_str) else {
                return CrmHeard {
                    status: Some(status),
                    error: Some(format!(
                        "Salesforce has no active user with the email {rep_email:?}"
                    )),
                    ..CrmHeard::default()
                };
            };
            owners.put(EndpointKind::Salesforce, rep_email, id);
            id.to_string()
        }
    };
    let Some(lead_id) = crm_id(f, &s.source) else {
        return CrmHeard::failed("the lead has no Salesforce Lead Id".into(), true);
    };
    let mut url =
        reqwest::Url::parse(&format!("{base}/sobjects/Lead/")).expect("checked at start-up");
    url.path_segments_mut()
        .expect("an http URL")
        .pop_if_empty()
        .push(&lead_id);
    let req = client
        .patch(url)
        .bearer_auth(token)
        // Without it, the org's lead assignment rules may re-assign the lead.
        .header("Sforce-Auto-Assign", "FALSE")
        .json(&json!({ "OwnerId": owner }));
    match call(req, false).await {
        Ok((status, _)) => written(status),
        Err(heard) => heard,
    }
}

/// The CRMs' HTTP client: addresses come from the operator's config (not
/// from managers), so they are not filtered; no redirects; 15 s.
pub fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(crate::outbound::ATTEMPT_TIMEOUT)
        .connect_timeout(Duration::from_secs(5))
        .user_agent(concat!("Baton/", env!("CARGO_PKG_VERSION")))
        .build()
        .expect("the CRM client's settings are valid")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crm_errors_read_as_each_crm_writes_them() {
        let sf = r#"[{"message":"Provided external ID field does not exist or is not accessible","errorCode":"NOT_FOUND"}]"#;
        assert_eq!(
            error_text(reqwest::StatusCode::NOT_FOUND, sf),
            "answered 404 Not Found: NOT_FOUND: Provided external ID field does not exist or is not accessible"
        );
        let hs = r#"{"status":"error","message":"You have reached your secondly limit.","errorType":"RATE_LIMIT","correlationId":"x"}"#;
        assert_eq!(
            error_text(reqwest::StatusCode::TOO_MANY_REQUESTS, hs),
            "answered 429 Too Many Requests: RATE_LIMIT: You have reached your secondly limit."
        );
        assert_eq!(soql_quote("o'brien@x.example"), "o\\'brien@x.example");
    }

    #[test]
    fn crm_tables_are_checked() {
        let mut c: CrmConfig = toml::from_str(
            "[hubspot]\ntoken = \"pat-na1-x\"\n[salesforce]\ninstance_url = \"https://acme.my.salesforce.com/\"\ntoken = \"00D\"\n",
        )
        .unwrap();
        c.check().unwrap();
        assert_eq!(
            c.salesforce.as_ref().unwrap().instance_url,
            "https://acme.my.salesforce.com"
        );
        let mut bad: CrmConfig = toml::from_str("[hubspot]\n").unwrap();
        assert!(bad.check().unwrap_err().contains("token"));
        let mut bad: CrmConfig =
            toml::from_str("[salesforce]\ninstance_url = \"x\"\ntoken = \"t\"\n").unwrap();
        assert!(bad.check().unwrap_err().contains("instance_url"));
    }
}
