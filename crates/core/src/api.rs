//! The HTTP side of the client: baton-server's API as typed calls.

use std::time::Duration;

use baton_protocol::{
    CalibrationReport, ErrorBody, ErrorCode, FeedbackResponse, HandoffReport, IntakeReceipt,
    IntakeReceiptList, Lead, LeadHistory, LeadId, Me, QueueList, ReasonList, ReceiptStatus, Rep,
    SourceIntakeResponse, SourceOutcome, SyncPage, Timestamp, WireName,
};
use serde::de::DeserializeOwned;

use crate::error::{CoreError, Result};

mod agreement;
mod imports;
mod webhooks;

pub use agreement::FormAnswer;
pub use imports::Upload;

/// What the server said to one outbox write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WriteAnswer {
    /// Recorded (or a replay of the recorded answer); the body as sent.
    Recorded(String),
    /// Refused for good by baton-server, in its own error body: retrying
    /// cannot help. `lead_gone`: the lead is no longer the rep's (or no
    /// longer exists); otherwise the request itself was invalid.
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
    } else if e.is_body() || e.is_decode() {
        "the connection broke while the answer was being read".to_string()
    } else {
        e.to_string()
    };
    CoreError::Offline(what)
}

/// The most of a foreign body quoted in a message (it is shown to the rep).
const QUOTE_CHARS: usize = 120;

/// A short, printable description of a body that is not Baton's.
fn describe_foreign(content_type: &str, text: &str) -> String {
    let kind = if content_type.is_empty() {
        "no content type".to_string()
    } else {
        content_type
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_string()
    };
    if text.trim().is_empty() {
        return format!("an empty body ({kind})");
    }
    let quote: String = text
        .chars()
        .filter(|c| !c.is_control() || *c == ' ')
        .take(QUOTE_CHARS)
        .collect();
    format!("a {kind} body that is not baton-server's: {quote:?}")
}

/// Classifies a non-success answer. Only a Baton error body with a code this
/// client knows can refuse; everything else (a proxy's HTML page, an empty
/// body, an unknown code, a gateway error) is transient.
pub(crate) fn classify_error(status: u16, content_type: &str, text: &str) -> CoreError {
    let baton = serde_json::from_str::<ErrorBody>(text)
        .ok()
        .filter(|b| b.error.code != ErrorCode::Unknown);
    let Some(body) = baton else {
        let what = describe_foreign(content_type, text);
        let hint = match status {
            502..=504 => "a proxy or load balancer could not reach baton-server",
            _ => "something between this app and baton-server answered instead of it",
        };
        return CoreError::ServerError {
            status,
            message: format!("HTTP {status} with {what}: {hint}; retrying"),
        };
    };
    let message = body.error.message;
    match (status, body.error.code) {
        (401, _) | (_, ErrorCode::Unauthorized) => CoreError::Unauthorized(message),
        (_, ErrorCode::RateLimited)
        | (_, ErrorCode::Unavailable)
        | (_, ErrorCode::RequestTimeout)
        | (_, ErrorCode::TooManyStreams)
        | (_, ErrorCode::Internal) => CoreError::ServerError { status, message },
        (500.., _) => CoreError::ServerError { status, message },
        (_, code) => CoreError::Refused {
            status,
            code,
            message,
        },
    }
}

fn content_type(resp: &reqwest::Response) -> String {
    resp.headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string()
}

async fn error_of(resp: reqwest::Response) -> CoreError {
    let status = resp.status().as_u16();
    let content_type = content_type(&resp);
    // A cut-off error body is still an error, not a refusal.
    let text = resp.text().await.unwrap_or_default();
    classify_error(status, &content_type, &text)
}

/// Reads the answer to a retry of a failed intake. A delivery that still
/// cannot be mapped is answered 422 with the retry's own body (outcome
/// `failed`, the field and why), not an error body: that is an answer, not
/// a refusal. Anything else that is not a success is classified as usual.
pub(crate) fn retry_answer(
    what: &str,
    status: u16,
    content_type: &str,
    text: &str,
) -> Result<SourceIntakeResponse> {
    match status {
        200..=299 => decode(what, text),
        422 => match serde_json::from_str::<SourceIntakeResponse>(text) {
            Ok(answer) if answer.outcome == SourceOutcome::Failed => Ok(answer),
            _ => Err(classify_error(status, content_type, text)),
        },
        _ => Err(classify_error(status, content_type, text)),
    }
}

/// Decodes a success body; one this client cannot read means the server is
/// not the baton-server this client speaks to.
fn decode<T: DeserializeOwned>(what: &str, text: &str) -> Result<T> {
    serde_json::from_str(text).map_err(|e| {
        CoreError::IncompatibleServer(format!("{what}: {e}; it began {:?}", {
            let head: String = text.chars().take(60).collect();
            head
        }))
    })
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
        self.get_as(path, true).await
    }

    /// A GET, with the token or (for the open endpoints) without it.
    async fn get_as<T: DeserializeOwned>(&self, path: &str, with_token: bool) -> Result<T> {
        let mut request = self
            .http
            .get(format!("{}{path}", self.base))
            .timeout(Duration::from_secs(30));
        if with_token {
            request = request.bearer_auth(&self.token);
        }
        let resp = request.send().await.map_err(offline)?;
        if !resp.status().is_success() {
            return Err(error_of(resp).await);
        }
        let text = resp.text().await.map_err(offline)?;
        decode(
            &format!("GET {}", path.split('?').next().unwrap_or(path)),
            &text,
        )
    }

    /// The desktop release the server's operator announces. The endpoint is
    /// open, so no token is sent.
    pub async fn desktop_release(&self) -> Result<baton_protocol::DesktopReleaseInfo> {
        self.get_as("/v1/desktop/release", false).await
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

    /// A manager's action on the server (no body, no idempotency key: the
    /// actions it sends are safe to repeat). The answer, whatever its status.
    async fn post_action(&self, path: &str) -> Result<reqwest::Response> {
        self.http
            .post(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .timeout(Duration::from_secs(30))
            .send()
            .await
            .map_err(offline)
    }

    /// Deliveries from inbound sources that could not be mapped to a lead,
    /// newest first (managers only). `status` `None` lists every one that
    /// failed at first, whatever became of it.
    pub async fn intake_failures(
        &self,
        status: Option<ReceiptStatus>,
        source: Option<&str>,
        before: Option<i64>,
        limit: u32,
    ) -> Result<IntakeReceiptList> {
        let status = status.map_or("all", |s| s.as_str());
        let source = source.map(|s| query_value("source", s)).unwrap_or_default();
        let before = before.map(|b| format!("&before={b}")).unwrap_or_default();
        self.get(&format!(
            "/v1/intake/failures?status={status}&limit={limit}{before}{source}"
        ))
        .await
    }

    /// Maps a failed intake again with the source's mapping as configured
    /// now (managers only). Still failing is an answer (outcome `failed`).
    pub async fn retry_intake(&self, id: i64) -> Result<SourceIntakeResponse> {
        let path = format!("/v1/intake/failures/{id}/retry");
        let resp = self.post_action(&path).await?;
        let status = resp.status().as_u16();
        let content_type = content_type(&resp);
        let success = resp.status().is_success();
        let text = match resp.text().await {
            Ok(text) => text,
            Err(e) if success => return Err(offline(e)),
            // A cut-off answer that was not a success is still not one.
            Err(_) => String::new(),
        };
        retry_answer(&format!("POST {path}"), status, &content_type, &text)
    }

    /// Marks a failed intake as not a lead (managers only; idempotent).
    pub async fn dismiss_intake(&self, id: i64) -> Result<IntakeReceipt> {
        let path = format!("/v1/intake/failures/{id}/dismiss");
        let resp = self.post_action(&path).await?;
        if !resp.status().is_success() {
            return Err(error_of(resp).await);
        }
        let text = resp.text().await.map_err(offline)?;
        decode(&format!("POST {path}"), &text)
    }

    /// The deliveries that created or updated a lead, newest first (managers only).
    pub async fn lead_receipts(&self, id: LeadId) -> Result<IntakeReceiptList> {
        self.get(&format!("/v1/leads/{id}/receipts")).await
    }

    /// One outbox write. A success counts only when its body is the
    /// answer `T` baton-server gives; the same idempotency key makes a retry
    /// of a write that did land harmless.
    async fn write<T: DeserializeOwned>(
        &self,
        method: reqwest::Method,
        path: &str,
        body: &str,
        key: Option<&str>,
    ) -> Result<WriteAnswer> {
        let what = format!("{method} {path}");
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
        if resp.status().is_success() {
            let text = resp.text().await.map_err(offline)?;
            decode::<T>(&what, &text)?;
            return Ok(WriteAnswer::Recorded(text));
        }
        match error_of(resp).await {
            CoreError::Refused { code, message, .. } => Ok(WriteAnswer::Refused {
                message,
                lead_gone: matches!(code, ErrorCode::LeadNotYours | ErrorCode::NotFound),
            }),
            other => Err(other),
        }
    }

    pub async fn feedback(&self, lead: LeadId, body: &str, key: &str) -> Result<WriteAnswer> {
        self.write::<FeedbackResponse>(
            reqwest::Method::POST,
            &format!("/v1/leads/{lead}/feedback"),
            body,
            Some(key),
        )
        .await
    }

    pub async fn availability(&self, body: &str) -> Result<WriteAnswer> {
        self.write::<Rep>(reqwest::Method::PUT, "/v1/me/availability", body, None)
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
    team.map(|t| query_value("team", t)).unwrap_or_default()
}

/// `&name=value`, the value percent-encoded.
pub(crate) fn query_value(name: &str, value: &str) -> String {
    let mut out = format!("&{name}=");
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn baton(code: &str) -> String {
        format!(r#"{{"error":{{"code":"{code}","message":"said by baton"}}}}"#)
    }

    #[test]
    fn only_batons_own_error_body_with_a_known_code_refuses() {
        for (status, code) in [
            (409, "lead_not_yours"),
            (404, "not_found"),
            (400, "invalid_field"),
        ] {
            let e = classify_error(status, "application/json", &baton(code));
            assert!(
                matches!(e, CoreError::Refused { .. }),
                "{status} {code}: {e:?}"
            );
            assert!(!e.is_transient());
        }
        let proxies = [
            (
                404,
                "text/html",
                "<html><body><h1>404 Not Found</h1><hr>nginx</body></html>",
            ),
            (403, "text/html", "<html>Request blocked by WAF</html>"),
            (
                413,
                "text/html",
                "<html>413 Request Entity Too Large</html>",
            ),
            (502, "text/html", "<html>502 Bad Gateway</html>"),
            (503, "", ""),
            (
                409,
                "application/json",
                r#"{"error":{"code":"from_the_future","message":"?"}}"#,
            ),
            (409, "application/json", r#"{"message":"conflict"}"#),
            (400, "application/json", "{\"error\":"),
        ];
        for (status, ct, body) in proxies {
            let e = classify_error(status, ct, body);
            assert!(
                matches!(e, CoreError::ServerError { .. }),
                "{status} {body:?} must be transient, got {e:?}"
            );
            assert!(e.is_transient());
        }
    }

    #[test]
    fn batons_own_overload_answers_are_retried_and_401_is_the_token() {
        for (status, code) in [
            (429, "rate_limited"),
            (503, "unavailable"),
            (408, "request_timeout"),
            (500, "internal"),
        ] {
            let e = classify_error(status, "application/json", &baton(code));
            assert!(e.is_transient(), "{status}: {e:?}");
        }
        let e = classify_error(401, "application/json", &baton("unauthorized"));
        assert!(matches!(e, CoreError::Unauthorized(_)), "{e:?}");
    }

    #[test]
    fn a_foreign_body_is_quoted_short_and_without_control_characters() {
        let body = format!("<html>\u{1b}[31m{}</html>", "x".repeat(10_000));
        let msg = classify_error(404, "text/html; charset=utf-8", &body).to_string();
        assert!(msg.contains("text/html"), "{msg}");
        assert!(!msg.contains('\u{1b}'), "{msg}");
        assert!(msg.len() < 400, "{} chars", msg.len());
    }

    #[test]
    fn a_retry_that_still_fails_is_an_answer_and_a_dismissed_intake_is_refused() {
        let what = "POST /v1/intake/failures/7/retry";
        let still =
            r#"{"outcome":"failed","receipt_id":7,"field":"contact.email","message":"no email"}"#;
        let answer = retry_answer(what, 422, "application/json", still).unwrap();
        assert_eq!(answer.outcome, SourceOutcome::Failed);
        assert_eq!(answer.field.as_deref(), Some("contact.email"));
        assert_eq!(answer.message.as_deref(), Some("no email"));

        let made = r#"{"outcome":"created","receipt_id":7,"lead_id":12}"#;
        let answer = retry_answer(what, 201, "application/json", made).unwrap();
        assert_eq!(
            (answer.outcome, answer.lead_id),
            (SourceOutcome::Created, Some(12))
        );

        let dismissed = r#"{"error":{"code":"conflict","message":"failed intake 7 was dismissed; it cannot be retried"}}"#;
        let e = retry_answer(what, 409, "application/json", dismissed).unwrap_err();
        assert_eq!(e.refusal(), Some(ErrorCode::Conflict), "{e:?}");
        assert!(e.to_string().contains("was dismissed"), "{e}");

        // A 422 in Baton's error body is a refusal like any other; one from
        // something else, or a 422 saying anything but `failed`, is not an answer.
        let e = retry_answer(what, 422, "application/json", &baton("invalid_field")).unwrap_err();
        assert!(matches!(e, CoreError::Refused { .. }), "{e:?}");
        for body in [
            "<html>422</html>",
            r#"{"outcome":"created","receipt_id":7}"#,
        ] {
            let e = retry_answer(what, 422, "text/html", body).unwrap_err();
            assert!(e.is_transient(), "{body}: {e:?}");
        }
    }

    #[test]
    fn query_values_are_percent_encoded() {
        assert_eq!(
            query_value("source", "hub spot&x=1"),
            "&source=hub%20spot%26x%3D1"
        );
        assert_eq!(team_query(Some("emea")), "&team=emea");
        assert_eq!(team_query(None), "");
    }

    #[test]
    fn a_success_body_that_does_not_decode_is_an_incompatible_server() {
        let e = decode::<SyncPage>("GET /v1/sync", r#"{"hello":"older server"}"#).unwrap_err();
        assert!(matches!(e, CoreError::IncompatibleServer(_)), "{e:?}");
        assert!(e.is_transient());
        assert_eq!(e.code(), crate::error::ErrorCode::IncompatibleServer);
    }
}
