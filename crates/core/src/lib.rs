//! baton-core: everything a rep's Baton client does, headless.
//!
//! - [`store::Store`]: the local SQLite cache (leads with full context,
//!   history, outbox, sync state, FTS5 search).
//! - [`engine::Engine`]: sync through `/v1/sync` and `/v1/stream`, the outbox
//!   pusher, SLA reminders and notifications.
//! - [`profile::Profile`]: the data directory, server URL and token storage.
//! - [`notify`]: what notifications say and the [`notify::Notifier`] trait.
//! - [`updates`]: whether the server announces a newer desktop app.
//! - [`explain`]: the definition a lead qualified under, how to open, and
//!   why it came to the rep, in words.
//!
//! The desktop shell and the `baton` CLI call this crate and decide nothing.

pub mod api;
pub mod engine;
pub mod error;
pub mod explain;
pub mod notify;
pub mod profile;
pub mod review;
pub mod schedule;
mod sse;
#[cfg(test)]
mod stand_in;
pub mod store;
pub mod updates;

pub use engine::{Connection, Engine, PullReport, PushReport, SyncStatus};
pub use error::{CoreError, Result};
pub use profile::Profile;
pub use store::{InboxQuery, LeadDetail, LeadSummary, LocalStatus};
