//! baton-server: Baton's reference lead router.
//!
//! Marketing pushes leads to the intake API; qualified leads are routed by
//! rules to a team and by weighted round robin to a rep, who is told at once
//! through their change feed and live stream, and accepts or rejects with a
//! reason. Offers not accepted within the team's SLA are taken back and routed
//! on. Managers read handoff reports. See `docs/protocol.md`.

pub mod accounts;
pub mod admin;
pub mod api;
pub mod app;
pub mod auth;
pub mod bookkeeping;
pub mod calibration;
pub mod cells;
pub mod clock;
pub mod config;
pub mod crm;
pub mod demo;
pub mod error;
pub mod history;
pub mod hub;
pub mod import;
pub mod listen;
pub mod migrate_db;
pub mod outbound;
pub mod ratelimit;
pub mod receipts;
pub mod report;
pub mod roster;
pub mod routing;
pub mod shifts;
pub mod sources;
pub mod store;
pub mod validate;

pub use app::Baton;
pub use config::Config;
pub use error::{Error, Result};
