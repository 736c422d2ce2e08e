//! Assembles a running server: storage, the live-push hub, the SLA sweeper,
//! the HTTP listener, and an orderly shutdown.

use std::future::Future;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use baton_protocol::{Rep, RepId, Role, Team, Timestamp};
use tokio::net::TcpListener;
use tokio::sync::{Notify, broadcast, watch};

use crate::api::{self, AppState};
use crate::auth::{new_token, token_hash};
use crate::config::Config;
use crate::error::{Error, Result};
use crate::routing;
use crate::store::sqlite::SqliteStorage;
use crate::store::{CommitEffects, Db, NewRep};

/// How often queues are drained even when nothing inside this process asked
/// for it: reps added with `baton-server rep add` while the server runs.
const QUEUE_SWEEP: Duration = Duration::from_secs(10);

/// An open database with the routing config: what `serve`, `demo` and the
/// admin commands share.
pub struct Baton {
    pub state: AppState,
    storage: Arc<SqliteStorage>,
    sla_wakeup: Arc<Notify>,
    shutdown_tx: watch::Sender<bool>,
}

impl Baton {
    pub fn open(db_path: &Path, config: Config, heartbeat: Duration) -> Result<Self> {
        let (feed_events, _) = broadcast::channel::<RepId>(4096);
        let sla_wakeup = Arc::new(Notify::new());
        let on_commit = {
            let feed_events = feed_events.clone();
            let sla_wakeup = sla_wakeup.clone();
            Arc::new(move |effects: &CommitEffects| {
                for rep in &effects.feed_reps {
                    let _ = feed_events.send(*rep);
                }
                if effects.sla_changed {
                    sla_wakeup.notify_one();
                }
            })
        };
        let storage = SqliteStorage::open(db_path, on_commit)?;
        let (shutdown_tx, shutdown) = watch::channel(false);
        Ok(Baton {
            state: AppState {
                db: Db::new(storage.clone()),
                config: Arc::new(config),
                feed_events,
                shutdown,
                heartbeat,
            },
            storage,
            sla_wakeup,
            shutdown_tx,
        })
    }

    pub fn db(&self) -> &Db {
        &self.state.db
    }

    /// Records the config's teams, and warns about reps whose team it lacks.
    pub async fn apply_config(&self) -> Result<()> {
        let teams: Vec<Team> = self
            .state
            .config
            .teams
            .iter()
            .map(|t| Team {
                name: t.name.clone(),
                sla_seconds: t.sla_seconds,
            })
            .collect();
        let reps = self
            .db()
            .write(move |tx| {
                tx.replace_teams(&teams)?;
                tx.reps()
            })
            .await?;
        for rep in reps {
            if self.state.config.team(&rep.team).is_none() {
                tracing::warn!(rep = %rep.email, team = %rep.team, "rep's team is not in the config: they will get no leads");
            }
        }
        Ok(())
    }

    /// Serves the API on `listener` until `stop` resolves, then finishes
    /// in-flight requests, closes live streams and flushes the writer.
    pub async fn serve(
        self,
        listener: TcpListener,
        stop: impl Future<Output = ()> + Send + 'static,
    ) -> Result<()> {
        self.apply_config().await?;
        let sweeper = tokio::spawn(sla_sweeper(self.state.clone(), self.sla_wakeup.clone()));
        let app = api::router(self.state.clone());
        let shutdown_tx = self.shutdown_tx.clone();
        let signal = async move {
            stop.await;
            tracing::info!("shutting down: finishing in-flight requests");
            let _ = shutdown_tx.send(true);
        };
        axum::serve(listener, app)
            .with_graceful_shutdown(signal)
            .await
            .map_err(|e| Error::Internal(format!("server error: {e}")))?;
        let _ = self.shutdown_tx.send(true);
        let _ = sweeper.await;
        self.storage.close();
        tracing::info!("stopped");
        Ok(())
    }

    pub async fn add_rep(
        &self,
        name: &str,
        email: &str,
        team: &str,
        weight: u32,
        max_open: u32,
    ) -> Result<(Rep, String)> {
        crate::validate::text("name", name, 1, 200)?;
        if !email.contains('@') {
            return Err(Error::field("email", "is not an email address"));
        }
        if !(1..=1000).contains(&weight) {
            return Err(Error::field("weight", "must be from 1 to 1000"));
        }
        if !(1..=100_000).contains(&max_open) {
            return Err(Error::field("max_open", "must be from 1 to 100000"));
        }
        if self.state.config.team(team).is_none() {
            let known: Vec<_> = self
                .state
                .config
                .teams
                .iter()
                .map(|t| t.name.as_str())
                .collect();
            return Err(Error::field(
                "team",
                format!(
                    "team {team:?} is not in the config; known teams: {}",
                    known.join(", ")
                ),
            ));
        }
        let token = new_token(Role::Rep);
        let hash = token_hash(&token);
        let (name, email, team) = (name.to_string(), email.to_string(), team.to_string());
        let rep = self
            .db()
            .write(move |tx| {
                let now = Timestamp::now();
                let rr_pass = tx.team_min_pass(&team)?.unwrap_or(0);
                let id = tx.insert_rep(&NewRep {
                    name: &name,
                    email: &email,
                    team: &team,
                    weight,
                    max_open,
                    rr_pass,
                    created_at: now,
                })?;
                tx.insert_token(&hash, Role::Rep, Some(id), &email, now)?;
                // Queued leads reach the new rep through the running server's
                // queue sweep, so that its live streams announce them.
                tx.rep(id)?
                    .ok_or_else(|| Error::Internal("new rep not readable".into()))
            })
            .await?;
        Ok((rep, token))
    }

    /// A new token for an existing rep (the old ones stay valid until revoked).
    pub async fn new_rep_token(&self, email: &str) -> Result<(Rep, String)> {
        let token = new_token(Role::Rep);
        let hash = token_hash(&token);
        let email = email.to_string();
        let rep = self
            .db()
            .write(move |tx| {
                let rep = tx
                    .rep_by_email(&email)?
                    .ok_or_else(|| Error::NotFound(format!("no rep has email {email}")))?;
                tx.insert_token(&hash, Role::Rep, Some(rep.id), &rep.email, Timestamp::now())?;
                Ok(rep)
            })
            .await?;
        Ok((rep, token))
    }

    pub async fn add_manager(&self, name: &str, email: &str) -> Result<String> {
        crate::validate::text("name", name, 1, 200)?;
        let token = new_token(Role::Manager);
        let hash = token_hash(&token);
        let (name, email) = (name.to_string(), email.to_string());
        self.db()
            .write(move |tx| {
                let now = Timestamp::now();
                let id = match tx.manager_by_email(&email)? {
                    Some(id) => id,
                    None => tx.insert_manager(&name, &email, now)?,
                };
                tx.insert_token(&hash, Role::Manager, Some(id), &email, now)
            })
            .await?;
        Ok(token)
    }

    pub async fn add_intake_key(&self, label: &str) -> Result<String> {
        crate::validate::text("label", label, 1, 200)?;
        let token = new_token(Role::Intake);
        let hash = token_hash(&token);
        let label = label.to_string();
        self.db()
            .write(move |tx| tx.insert_token(&hash, Role::Intake, None, &label, Timestamp::now()))
            .await?;
        Ok(token)
    }

    pub async fn revoke_token(&self, token: &str) -> Result<bool> {
        let hash = token_hash(token.trim());
        self.db()
            .write(move |tx| tx.revoke_token(&hash, Timestamp::now()))
            .await
    }

    pub async fn reps(&self) -> Result<Vec<Rep>> {
        self.db().read(|tx| tx.reps()).await
    }
}

/// Takes back offers whose SLA ran out. Sleeps until the earliest deadline,
/// woken early when a commit creates a new one.
async fn sla_sweeper(state: AppState, wakeup: Arc<Notify>) {
    let mut shutdown = state.shutdown.clone();
    let mut last_queue_sweep = tokio::time::Instant::now();
    loop {
        let now = Timestamp::now();
        let config = state.config.clone();
        let sweep_queues = last_queue_sweep.elapsed() >= QUEUE_SWEEP;
        if sweep_queues {
            last_queue_sweep = tokio::time::Instant::now();
        }
        let result = state
            .db
            .write(move |tx| {
                let expired = routing::expire_overdue(tx, &config, now)?;
                let drained = if sweep_queues {
                    routing::drain_all_queues(tx, &config, now)?
                } else {
                    0
                };
                Ok((expired, drained, tx.next_sla_due()?))
            })
            .await;
        let next_due = match result {
            Ok((expired, drained, next)) => {
                if expired > 0 || drained > 0 {
                    tracing::info!(expired, drained, "SLA sweep");
                }
                next
            }
            Err(e) => {
                tracing::error!(error = %e, "SLA sweep failed; retrying");
                Some(Timestamp::now().plus_millis(1000))
            }
        };
        // Sleep until the earliest deadline, and never longer than the queue sweep.
        let instant_of = |t: Option<Timestamp>| {
            let wait = t
                .map(|t| {
                    Duration::from_millis((t.millis() - Timestamp::now().millis()).max(0) as u64)
                })
                .unwrap_or(QUEUE_SWEEP)
                .min(QUEUE_SWEEP);
            tokio::time::Instant::now() + wait
        };
        let mut wake_at = instant_of(next_due);
        loop {
            tokio::select! {
                _ = tokio::time::sleep_until(wake_at) => break,
                // A new offer may have an earlier deadline: re-read it, no write needed.
                _ = wakeup.notified() => {
                    match state.db.read(|tx| tx.next_sla_due()).await {
                        Ok(next) => wake_at = wake_at.min(instant_of(next)),
                        Err(_) => break,
                    }
                }
                _ = shutdown.changed() => return,
            }
        }
    }
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = term => {}
    }
}
