//! baton-core's one error type. It crosses into the shells (CLI, desktop IPC)
//! as `{code, message}`: the code is an [`ErrorCode`] (generated into the
//! UI's TypeScript as a union it switches on), the message says what went
//! wrong and what to do.

use baton_protocol::WireName;
use serde::{Deserialize, Serialize};

#[derive(Debug, thiserror::Error)]
pub enum CoreError {
    #[error("not signed in: run `baton login --server URL --token TOKEN` first")]
    NotSignedIn,
    #[error("{0}")]
    InvalidInput(String),
    #[error("lead {0} is not in this profile's inbox; run `baton sync` and check the id")]
    LeadNotFound(i64),
    #[error("{0}")]
    NotActionable(String),
    #[error("too late to undo: your decision on lead {0} has already been sent to the server")]
    TooLateToUndo(i64),
    #[error("the server refused the token: {0}")]
    Unauthorized(String),
    /// No answer at all: refused, unreachable, timed out, cut off.
    #[error("cannot reach the server: {0}")]
    Offline(String),
    /// An answer that is not a refusal: a 5xx, a rate limit, or anything
    /// that is not Baton's own error body (a proxy's page, an empty body).
    /// Retried.
    #[error("the server is having trouble ({status}): {message}")]
    ServerError { status: u16, message: String },
    /// A success whose body this Baton cannot read: a server of another
    /// version, or something that is not baton-server at that address.
    #[error(
        "the server's answer could not be read ({0}); it may run another version of Baton: update this app, or ask your admin which version the server runs"
    )]
    IncompatibleServer(String),
    /// baton-server itself said no, in its own error body with a code this
    /// client knows: retrying the same request cannot help.
    #[error("the server refused: {message}")]
    Refused {
        status: u16,
        code: baton_protocol::ErrorCode,
        message: String,
    },
    #[error("local cache: {0}")]
    Storage(String),
    #[error("{0}")]
    Profile(String),
    #[error("notification: {0}")]
    Notification(String),
}

pub type Result<T, E = CoreError> = std::result::Result<T, E>;

/// What kind of error it is, for a shell to branch on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    NotSignedIn,
    InvalidInput,
    LeadNotFound,
    NotActionable,
    TooLateToUndo,
    Unauthorized,
    Offline,
    ServerError,
    IncompatibleServer,
    Refused,
    Storage,
    Profile,
    Notification,
}

impl WireName for ErrorCode {}

/// The serialised form shells show and branch on.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "ts", ts(optional_fields = nullable))]
pub struct ErrorView {
    pub code: ErrorCode,
    pub message: String,
}

impl CoreError {
    pub fn code(&self) -> ErrorCode {
        match self {
            CoreError::NotSignedIn => ErrorCode::NotSignedIn,
            CoreError::InvalidInput(_) => ErrorCode::InvalidInput,
            CoreError::LeadNotFound(_) => ErrorCode::LeadNotFound,
            CoreError::NotActionable(_) => ErrorCode::NotActionable,
            CoreError::TooLateToUndo(_) => ErrorCode::TooLateToUndo,
            CoreError::Unauthorized(_) => ErrorCode::Unauthorized,
            CoreError::Offline(_) => ErrorCode::Offline,
            CoreError::ServerError { .. } => ErrorCode::ServerError,
            CoreError::IncompatibleServer(_) => ErrorCode::IncompatibleServer,
            CoreError::Refused { .. } => ErrorCode::Refused,
            CoreError::Storage(_) => ErrorCode::Storage,
            CoreError::Profile(_) => ErrorCode::Profile,
            CoreError::Notification(_) => ErrorCode::Notification,
        }
    }

    pub fn view(&self) -> ErrorView {
        ErrorView {
            code: self.code(),
            message: self.to_string(),
        }
    }

    /// Worth retrying later: everything from the network that is not a
    /// refusal in Baton's own words (or of the token).
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            CoreError::Offline(_)
                | CoreError::ServerError { .. }
                | CoreError::IncompatibleServer(_)
        )
    }

    /// The server's refusal code, when baton-server refused.
    pub fn refusal(&self) -> Option<baton_protocol::ErrorCode> {
        match self {
            CoreError::Refused { code, .. } => Some(*code),
            _ => None,
        }
    }
}

impl Serialize for CoreError {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.view().serialize(s)
    }
}

impl From<rusqlite::Error> for CoreError {
    fn from(e: rusqlite::Error) -> Self {
        CoreError::Storage(e.to_string())
    }
}

impl From<serde_json::Error> for CoreError {
    /// Only the cache's own JSON reaches this: the network's is decoded in
    /// `api`, where a failure means an incompatible server.
    fn from(e: serde_json::Error) -> Self {
        CoreError::Storage(format!(
            "a cached value is damaged ({e}); run `baton logout` and sign in again"
        ))
    }
}
