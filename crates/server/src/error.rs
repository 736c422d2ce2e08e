//! The server's one error type. Every variant maps to a stable wire code and
//! an HTTP status; the message says what was wrong and what to do.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use baton_protocol::{ApiError, ErrorBody, ErrorCode};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{message}")]
    InvalidBody { message: String },
    #[error("{field}: {message}")]
    InvalidField { field: String, message: String },
    #[error("{field}: {message}")]
    InvalidQuery { field: String, message: String },
    #[error("request body is larger than {limit} bytes")]
    PayloadTooLarge { limit: usize },
    #[error("send the body as JSON with Content-Type: application/json")]
    UnsupportedMediaType,
    #[error("{0}")]
    Unauthorized(&'static str),
    #[error("{0}")]
    Forbidden(&'static str),
    #[error("{0}")]
    NotFound(String),
    #[error("this endpoint does not take that method; see docs/openapi.yaml")]
    MethodNotAllowed,
    #[error("{0}")]
    LeadNotYours(String),
    #[error(
        "send an Idempotency-Key header (any unique string up to 200 characters) so a retry cannot record the decision twice"
    )]
    IdempotencyKeyMissing,
    #[error(
        "this Idempotency-Key was already used for a different request; use a new key for a new decision"
    )]
    IdempotencyKeyReused,
    #[error("{0}")]
    Unavailable(&'static str),
    #[error(
        "too many requests from this token; at most {per_second} a second (bursts of {burst}) are accepted; retry after {retry_after} s"
    )]
    RateLimited {
        per_second: u32,
        burst: u32,
        retry_after: u64,
    },
    #[error(
        "this token already has {limit} live streams open, the most it may; close one (or wait for a dropped one to time out) and retry"
    )]
    TooManyStreams { limit: usize },
    #[error(
        "the request took longer than {secs} s to arrive and be handled; it may or may not have been applied: retry it unchanged (intake and feedback are idempotent)"
    )]
    RequestTimeout { secs: u64 },
    #[error("{0}")]
    ExternalIdTaken(String),
    #[error("{0}")]
    Conflict(String),
    #[error("configuration: {0}")]
    Config(String),
    #[error("storage: {0}")]
    Storage(String),
    #[error("{0}")]
    Internal(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn field(field: impl Into<String>, message: impl Into<String>) -> Self {
        Error::InvalidField {
            field: field.into(),
            message: message.into(),
        }
    }

    pub fn query(field: impl Into<String>, message: impl Into<String>) -> Self {
        Error::InvalidQuery {
            field: field.into(),
            message: message.into(),
        }
    }

    pub fn code(&self) -> ErrorCode {
        match self {
            Error::InvalidBody { .. } => ErrorCode::InvalidBody,
            Error::InvalidField { .. } => ErrorCode::InvalidField,
            Error::InvalidQuery { .. } => ErrorCode::InvalidQuery,
            Error::PayloadTooLarge { .. } => ErrorCode::PayloadTooLarge,
            Error::UnsupportedMediaType => ErrorCode::UnsupportedMediaType,
            Error::Unauthorized(_) => ErrorCode::Unauthorized,
            Error::Forbidden(_) => ErrorCode::Forbidden,
            Error::NotFound(_) => ErrorCode::NotFound,
            Error::MethodNotAllowed => ErrorCode::MethodNotAllowed,
            Error::LeadNotYours(_) => ErrorCode::LeadNotYours,
            Error::IdempotencyKeyMissing => ErrorCode::IdempotencyKeyMissing,
            Error::IdempotencyKeyReused => ErrorCode::IdempotencyKeyReused,
            Error::Unavailable(_) => ErrorCode::Unavailable,
            Error::RateLimited { .. } => ErrorCode::RateLimited,
            Error::TooManyStreams { .. } => ErrorCode::TooManyStreams,
            Error::RequestTimeout { .. } => ErrorCode::RequestTimeout,
            Error::ExternalIdTaken(_) => ErrorCode::ExternalIdTaken,
            Error::Conflict(_) => ErrorCode::Conflict,
            Error::Config(_) | Error::Storage(_) | Error::Internal(_) => ErrorCode::Internal,
        }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            Error::InvalidBody { .. } | Error::InvalidQuery { .. } => StatusCode::BAD_REQUEST,
            Error::InvalidField { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            Error::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Error::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Error::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            Error::Forbidden(_) => StatusCode::FORBIDDEN,
            Error::NotFound(_) => StatusCode::NOT_FOUND,
            Error::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Error::LeadNotYours(_) => StatusCode::CONFLICT,
            Error::IdempotencyKeyMissing => StatusCode::BAD_REQUEST,
            Error::IdempotencyKeyReused => StatusCode::UNPROCESSABLE_ENTITY,
            Error::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Error::RateLimited { .. } | Error::TooManyStreams { .. } => {
                StatusCode::TOO_MANY_REQUESTS
            }
            Error::RequestTimeout { .. } => StatusCode::REQUEST_TIMEOUT,
            Error::ExternalIdTaken(_) | Error::Conflict(_) => StatusCode::CONFLICT,
            Error::Config(_) | Error::Storage(_) | Error::Internal(_) => {
                StatusCode::INTERNAL_SERVER_ERROR
            }
        }
    }

    /// Seconds a client should wait before retrying, sent as `Retry-After`.
    pub fn retry_after(&self) -> Option<u64> {
        match self {
            Error::RateLimited { retry_after, .. } => Some(*retry_after),
            Error::TooManyStreams { .. } => Some(5),
            Error::Unavailable(_) => Some(1),
            _ => None,
        }
    }

    pub fn body(&self) -> ErrorBody {
        let (message, field) = match self {
            Error::InvalidField { field, message } | Error::InvalidQuery { field, message } => {
                (message.clone(), Some(field.clone()))
            }
            // Internal details stay in the server's log, not in the answer.
            Error::Config(_) | Error::Storage(_) | Error::Internal(_) => (
                "the server failed to handle this request; it was not applied, retry later"
                    .to_string(),
                None,
            ),
            other => (other.to_string(), None),
        };
        ErrorBody {
            error: ApiError {
                code: self.code(),
                message,
                field,
            },
        }
    }
}

impl From<rusqlite::Error> for Error {
    fn from(e: rusqlite::Error) -> Self {
        Error::Storage(e.to_string())
    }
}

impl From<tokio_postgres::Error> for Error {
    fn from(e: tokio_postgres::Error) -> Self {
        crate::store::postgres::pg_error("the database refused a statement", &e)
    }
}

impl From<serde_json::Error> for Error {
    fn from(e: serde_json::Error) -> Self {
        Error::Internal(format!("json: {e}"))
    }
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let status = self.status();
        if status.is_server_error() {
            tracing::error!(error = %self, "request failed");
        }
        let mut response = (status, axum::Json(self.body())).into_response();
        if let Some(secs) = self.retry_after() {
            response.headers_mut().insert(
                axum::http::header::RETRY_AFTER,
                axum::http::HeaderValue::from(secs),
            );
        }
        response
    }
}
