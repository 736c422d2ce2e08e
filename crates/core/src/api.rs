//! The HTTP side of the client: baton-server's API as typed calls.

use std::time::Duration;

use baton_protocol::{
    CalibrationReport, ErrorBody, HandoffReport, Lead, LeadHistory, LeadId, Me, QueueList,
    ReasonList, SyncPage, Timestamp,
};
use reqwest::StatusCode;
use serde::de::DeserializeOwned;

use crate::error::{CoreError, Result};

/// What the server said to one outbox write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WriteAnswer {
    /// Recorded (or a replay of the recorded answer); the body as sent.
    Recorded(String),
    /// Refused for good: retrying cannot help. `lead_gone`: the lead is no
    /// longer the rep's (409); otherwise the request itself was invalid.
    Refused { message: String, lead_gone: bool },
}

#[derive(Clone)]
pub struct ApiClient {
    http: reqwest::Client,
    base: String,
    token: String,
}

fn offline(e: reqwest::Error) -> CoreError {
    let what = if e.is_timeout() {
        "timed out".to_string()
    } else if e.is_connect() {
        "connection refused or unreachable".to_string()
    } else {
        e.to_string()
    };
    CoreError::Offline(what)
}

async fn error_of(resp: reqwest::Response) -> CoreError {
    let status = resp.status();
    let text = resp.text().await.unwrap_or_default();
    let (code, message) = match serde_json::from_str::<ErrorBody>(&text) {
        Ok(b) => (b.error.code.as_str().to_string(), b.error.message),
        Err(_) => ("unknown".to_string(), text.chars().take(300).collect()),
    };
    if status == StatusCode::UNAUTHORIZED {
        return CoreError::Unauthorized(message);
    }
    CoreError::Server {
        status: status.as_u16(),
        code,
        message,
    }
}

impl ApiClient {
    pub fn new(base: &str, token: &str) -> Result<Self> {
        let base = base.trim_end_matches('/').to_string();
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(CoreError::InvalidInput(format!(
                "server URL {base:?} must start with http:// or https://"
            )));
        }
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(5))
            .user_agent(concat!("baton/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| CoreError::Offline(e.to_string()))?;
        Ok(ApiClient {
            http,
            base,
            token: token.to_string(),
        })
    }

    pub fn base(&self) -> &str {
        &self.base
    }

    async fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T> {
        let resp = self
            .http
            .get(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .timeout(Duration::from_secs(30))
            .send()
            .await
            .map_err(offline)?;
        if !resp.status().is_success() {
            return Err(error_of(resp).await);
        }
        resp.json().await.map_err(offline)
    }

    pub async fn me(&self) -> Result<Me> {
        self.get("/v1/me").await
    }

    /// The handoff report for `[from, to)` (managers only).
    pub async fn handoff_report(
        &self,
        from: Timestamp,
        to: Timestamp,
        team: Option<&str>,
        limit: u32,
    ) -> Result<HandoffReport> {
        self.get(&format!(
            "/v1/reports/handoff?from={}&to={}&limit={limit}{}",
            from.to_rfc3339(),
            to.to_rfc3339(),
            team_query(team)
        ))
        .await
    }

    /// Score calibration for `[from, to)`, with a target rate (managers only).
    pub async fn calibration_report(
        &self,
        from: Timestamp,
        to: Timestamp,
        team: Option<&str>,
        target: Option<f64>,
    ) -> Result<CalibrationReport> {
        let target = target.map(|t| format!("&target={t}")).unwrap_or_default();
        self.get(&format!(
            "/v1/reports/calibration?from={}&to={}{target}{}",
            from.to_rfc3339(),
            to.to_rfc3339(),
            team_query(team)
        ))
        .await
    }

    /// Leads waiting for an eligible rep, longest waiting first (managers only).
    pub async fn queue(&self) -> Result<QueueList> {
        self.get("/v1/queue?limit=500").await
    }

    /// A lead with its full context (managers: any lead; reps: their own).
    pub async fn lead(&self, id: LeadId) -> Result<Lead> {
        self.get(&format!("/v1/leads/{id}")).await
    }

    /// A lead's events, offers and decisions.
    pub async fn lead_history(&self, id: LeadId) -> Result<LeadHistory> {
        self.get(&format!("/v1/leads/{id}/history")).await
    }

    pub async fn reasons(&self) -> Result<ReasonList> {
        self.get("/v1/reasons").await
    }

    pub async fn sync(&self, cursor: Option<&str>, limit: u32) -> Result<SyncPage> {
        let c = cursor.unwrap_or("");
        self.get(&format!("/v1/sync?cursor={c}&limit={limit}"))
            .await
    }

    async fn write(
        &self,
        method: reqwest::Method,
        path: &str,
        body: &str,
        key: Option<&str>,
    ) -> Result<WriteAnswer> {
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .header("content-type", "application/json")
            .timeout(Duration::from_secs(30))
            .body(body.to_string());
        if let Some(k) = key {
            req = req.header("Idempotency-Key", k);
        }
        let resp = req.send().await.map_err(offline)?;
        let status = resp.status();
        if status.is_success() {
            return Ok(WriteAnswer::Recorded(resp.text().await.map_err(offline)?));
        }
        let err = error_of(resp).await;
        match &err {
            CoreError::Server {
                status, message, ..
            } if (400..500).contains(status) && *status != 408 && *status != 429 => {
                Ok(WriteAnswer::Refused {
                    message: message.clone(),
                    lead_gone: *status == 409 || *status == 404,
                })
            }
            _ => Err(err),
        }
    }

    pub async fn feedback(&self, lead: LeadId, body: &str, key: &str) -> Result<WriteAnswer> {
        self.write(
            reqwest::Method::POST,
            &format!("/v1/leads/{lead}/feedback"),
            body,
            Some(key),
        )
        .await
    }

    pub async fn availability(&self, body: &str) -> Result<WriteAnswer> {
        self.write(reqwest::Method::PUT, "/v1/me/availability", body, None)
            .await
    }

    /// Opens the live stream (SSE), starting at the rep's current position.
    pub async fn stream(&self) -> Result<reqwest::Response> {
        let resp = self
            .http
            .get(format!("{}/v1/stream", self.base))
            .bearer_auth(&self.token)
            .header("accept", "text/event-stream")
            .send()
            .await
            .map_err(offline)?;
        if !resp.status().is_success() {
            return Err(error_of(resp).await);
        }
        Ok(resp)
    }
}

/// `&team=…`, percent-encoded, or nothing.
fn team_query(team: Option<&str>) -> String {
    let Some(team) = team else {
        return String::new();
    };
    let mut out = String::from("&team=");
    for b in team.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}
