//! baton-core's one error type. It crosses into the shells (CLI, desktop IPC)
//! as `{code, message}`: the code is stable for branching, the message says
//! what went wrong and what to do.

use serde::Serialize;

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
    #[error("the server refused the token: {0}")]
    Unauthorized(String),
    #[error("cannot reach the server: {0}")]
    Offline(String),
    #[error("the server answered {status}: {message}")]
    Server {
        status: u16,
        code: String,
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

/// The serialised form shells show and branch on.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "ts", ts(optional_fields = nullable))]
pub struct ErrorView {
    pub code: &'static str,
    pub message: String,
}

impl CoreError {
    pub fn code(&self) -> &'static str {
        match self {
            CoreError::NotSignedIn => "not_signed_in",
            CoreError::InvalidInput(_) => "invalid_input",
            CoreError::LeadNotFound(_) => "lead_not_found",
            CoreError::NotActionable(_) => "not_actionable",
            CoreError::Unauthorized(_) => "unauthorized",
            CoreError::Offline(_) => "offline",
            CoreError::Server { .. } => "server_error",
            CoreError::Storage(_) => "storage",
            CoreError::Profile(_) => "profile",
            CoreError::Notification(_) => "notification",
        }
    }

    pub fn view(&self) -> ErrorView {
        ErrorView {
            code: self.code(),
            message: self.to_string(),
        }
    }

    /// Worth retrying later (network down, server restarting or overloaded).
    pub fn is_transient(&self) -> bool {
        match self {
            CoreError::Offline(_) => true,
            CoreError::Server { status, .. } => *status >= 500 || *status == 429,
            _ => false,
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
    fn from(e: serde_json::Error) -> Self {
        CoreError::Storage(format!("corrupt JSON in the cache: {e}"))
    }
}
