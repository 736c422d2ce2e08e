//! Assembles a running server: storage, the live-push hub, the SLA sweeper,
//! the HTTP listener, and an orderly shutdown.

use std::future::Future;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use baton_protocol::{Rep, Role, Team, Timestamp};
use tokio::net::TcpListener;
use tokio::sync::{Notify, watch};

use crate::api::{self, AppState};
use crate::auth::{new_token, token_hash};
use crate::config::Config;
use crate::error::{Error, Result};
use crate::hub::Hub;
use crate::ratelimit::RateLimiter;
use crate::routing;
use crate::store::Storage;
use crate::store::{ChangeMarks, CommitEffects, Db};

/// How often the server looks for changes the admin commands made to the
/// database from another process (tokens revoked, reps added). One small
/// read per interval for the whole server; a revoked token's live streams
/// close within it.
const ADMIN_CHANGES_POLL: Duration = Duration::from_millis(250);

/// How often stored feedback answers older than the retention are pruned,
/// and how many one write job deletes (so pruning never holds the writer long).
/// How often an instance that does not run the sweeper checks whether it
/// has taken it over.
const SWEEPER_STANDBY: Duration = Duration::from_millis(500);
const PRUNE_EVERY: Duration = Duration::from_secs(3600);
const PRUNE_BATCH: u32 = 5000;

/// An open database with the routing config: what `serve`, `demo` and the
/// admin commands share.
pub struct Baton {
    pub state: AppState,
    storage: Arc<dyn Storage>,
    sla_wakeup: Arc<Notify>,
    /// Wakes the webhook delivery worker when events were recorded.
    outbox_wakeup: Arc<Notify>,
    shutdown_tx: watch::Sender<bool>,
}

impl Baton {
    pub fn open(db_path: &Path, config: Config, heartbeat: Duration) -> Result<Self> {
        let hub = Hub::new();
        let sla_wakeup = Arc::new(Notify::new());
        let outbox_wakeup = Arc::new(Notify::new());
        let on_commit = {
            let hub = hub.clone();
            let sla_wakeup = sla_wakeup.clone();
            let outbox_wakeup = outbox_wakeup.clone();
            Arc::new(move |effects: &CommitEffects| {
                if effects.events {
                    outbox_wakeup.notify_one();
                }
                if effects.all_reps {
                    hub.publish_all();
                } else {
                    hub.publish(&effects.feed_reps);
                }
                if effects.sla_changed {
                    sla_wakeup.notify_one();
                }
            })
        };
        let storage = crate::store::open(db_path, config.limits.write_queue, on_commit)?;
        let (shutdown_tx, shutdown) = watch::channel(false);
        let principals = Arc::new(crate::auth::PrincipalCache::new(hub.revocations()));
        Ok(Baton {
            state: AppState {
                db: Db::new(storage.clone()),
                config: Arc::new(config),
                hub,
                limiter: Arc::new(RateLimiter::default()),
                principals,
                shutdown,
                heartbeat,
            },
            storage,
            sla_wakeup,
            outbox_wakeup,
            shutdown_tx,
        })
    }

    pub fn db(&self) -> &Db {
        &self.state.db
    }

    /// Fills the report rollups from the rows when a migration left them
    /// stale (once, after an upgrade that changed what they hold).
    pub async fn refill_rollups_if_stale(&self) -> Result<()> {
        let started = std::time::Instant::now();
        if self.db().write(crate::bookkeeping::refill_if_stale).await? {
            tracing::info!(
                secs = started.elapsed().as_secs_f64(),
                "report rollups filled from the database's offers and leads"
            );
        }
        Ok(())
    }

    /// Fills the report rollups again from the offers, decisions and leads
    /// (`baton-server rebuild-reports`).
    pub async fn rebuild_reports(&self) -> Result<()> {
        self.db().write(crate::bookkeeping::rebuild).await
    }

    /// Records the config's teams, and warns about reps whose team it lacks.
    pub async fn apply_config(&self) -> Result<()> {
        let teams: Vec<Team> = self.state.config.teams.iter().map(|t| t.view()).collect();
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

    /// What the server does once before it serves: reports refilled after
    /// an upgrade, the config's teams, CRM write-backs and definition
    /// recorded, and queued leads offered to reps freed while it was down.
    /// Run it before announcing the address: what an admin does once the
    /// server is up (add a rep, say) must come after these writes, not race
    /// them.
    pub async fn start_up(&self) -> Result<()> {
        self.refill_rollups_if_stale().await?;
        self.apply_config().await?;
        // The CRM write-backs the config defines (only here: an admin
        // command run with another config must not change them).
        let crm = self.state.config.crm.clone();
        self.db()
            .write(move |tx| crate::crm::apply(tx, &crm, crate::clock::now()))
            .await?;
        // The config's threshold and reasons, when the file changed since
        // they were last taken from it (or nothing was published yet).
        let config = self.state.config.clone();
        let adopted = self
            .db()
            .write(move |tx| {
                crate::admin::adopt_config_definition(tx, &config, crate::clock::now())
            })
            .await?;
        if let Some(d) = adopted {
            tracing::info!(
                version = d.version,
                threshold = d.threshold,
                "definition taken from the config file"
            );
        }
        // Queued leads may fit reps added or freed while the server was down.
        let config = self.state.config.clone();
        let drained = self
            .db()
            .write(move |tx| routing::drain_all_queues(tx, &config, crate::clock::now()))
            .await?;
        if drained > 0 {
            tracing::info!(drained, "offered queued leads at start-up");
        }
        Ok(())
    }

    /// Serves the API on `listener` until `stop` resolves, then finishes
    /// in-flight requests, closes live streams and flushes the writer.
    /// [`Baton::start_up`] must have run.
    pub async fn serve(
        self,
        listener: TcpListener,
        stop: impl Future<Output = ()> + Send + 'static,
    ) -> Result<()> {
        let sweeper = tokio::spawn(sla_sweeper(self.state.clone(), self.sla_wakeup.clone()));
        let watcher = tokio::spawn(watch_admin_changes(self.state.clone()));
        let deliveries = tokio::spawn(crate::outbound::run_worker(
            self.state.clone(),
            self.outbox_wakeup.clone(),
            self.state.shutdown.clone(),
        ));
        let app = api::router(self.state.clone());
        let shutdown_tx = self.shutdown_tx.clone();
        let signal = async move {
            stop.await;
            tracing::info!("shutting down: finishing in-flight requests");
            let _ = shutdown_tx.send(true);
        };
        crate::listen::serve(listener, app, &self.state.config.limits, signal)
            .await
            .map_err(|e| Error::Internal(format!("server error: {e}")))?;
        let _ = self.shutdown_tx.send(true);
        let _ = sweeper.await;
        let _ = watcher.await;
        let _ = deliveries.await;
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
        let request = baton_protocol::NewRep {
            name: name.to_string(),
            email: email.to_string(),
            team: team.to_string(),
            weight: Some(weight),
            max_open: Some(max_open),
            schedule: None,
        };
        crate::admin::check_new_rep(&self.state.config, &request)?;
        let token = new_token(Role::Rep);
        let hash = token_hash(&token);
        let config = self.state.config.clone();
        // Queued leads reach the new rep through the running server's queue
        // sweep, so that its live streams announce them.
        let rep = self
            .db()
            .write(move |tx| {
                crate::admin::create_rep(
                    tx,
                    &config,
                    "command line",
                    &request,
                    &hash,
                    crate::clock::now(),
                )
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
                tx.insert_token(
                    &hash,
                    Role::Rep,
                    Some(rep.id),
                    &rep.email,
                    None,
                    crate::clock::now(),
                )?;
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
                let now = crate::clock::now();
                let id = match tx.manager_by_email(&email)? {
                    Some(id) => id,
                    None => tx.insert_manager(&name, &email, now)?,
                };
                tx.insert_token(&hash, Role::Manager, Some(id), &email, None, now)
            })
            .await?;
        Ok(token)
    }

    /// A new intake key for `source`: it may create and update only the leads
    /// of that source (keys of the same source share them, so a key can be
    /// rotated without losing its leads).
    pub async fn add_intake_key(&self, label: &str, source: &str) -> Result<String> {
        crate::validate::text("label", label, 1, 200)?;
        crate::validate::text("source", source, 1, 64)?;
        let token = new_token(Role::Intake);
        let hash = token_hash(&token);
        let (label, source) = (label.to_string(), source.to_string());
        self.db()
            .write(move |tx| {
                tx.insert_token(
                    &hash,
                    Role::Intake,
                    None,
                    &label,
                    Some(&source),
                    crate::clock::now(),
                )
            })
            .await?;
        Ok(token)
    }

    pub async fn revoke_token(&self, token: &str) -> Result<bool> {
        let hash = token_hash(token.trim());
        let revoked = self
            .db()
            .write(move |tx| tx.revoke_token(&hash, crate::clock::now()))
            .await?;
        if revoked {
            self.state.hub.tokens_revoked();
        }
        Ok(revoked)
    }

    pub async fn reps(&self) -> Result<Vec<Rep>> {
        self.db().read(|tx| tx.reps()).await
    }
}

/// Takes back offers whose SLA ran out. Sleeps until the earliest deadline,
/// woken early when a commit creates a new one; prunes expired feedback
/// answers once an hour.
async fn sla_sweeper(state: AppState, wakeup: Arc<Notify>) {
    let mut shutdown = state.shutdown.clone();
    let mut next_prune = tokio::time::Instant::now();
    // When a rep's shift next starts or ends: queued leads may then be offered.
    let mut next_shift: Option<Timestamp> = None;
    loop {
        // With several instances on one database, one sweeps; the others
        // wait to take over if it stops.
        if !state.db.runs_sweeper() {
            tokio::select! {
                _ = tokio::time::sleep(SWEEPER_STANDBY) => continue,
                _ = wakeup.notified() => continue,
                _ = shutdown.changed() => return,
            }
        }
        let now = crate::clock::now();
        let config = state.config.clone();
        let result = state
            .db
            .write(move |tx| {
                routing::send_reminders(tx, now)?;
                let expired = routing::expire_overdue(tx, &config, now)?;
                if next_shift.is_some_and(|t| t <= now) {
                    let placed = routing::drain_all_queues(tx, &config, now)?;
                    if placed > 0 {
                        tracing::info!(placed, "offered queued leads at a shift change");
                    }
                }
                let shift = crate::roster::next_shift_change(&tx.reps()?, now);
                Ok((expired, tx.next_sla_due()?, shift))
            })
            .await;
        let next_due = match result {
            Ok((expired, next, shift)) => {
                if expired > 0 {
                    tracing::info!(expired, "SLA sweep");
                }
                next_shift = shift;
                match (next, shift) {
                    (Some(a), Some(b)) => Some(a.min(b)),
                    (a, b) => a.or(b),
                }
            }
            Err(e) => {
                tracing::error!(error = %e, "SLA sweep failed; retrying");
                Some(crate::clock::now().plus_millis(1000))
            }
        };
        if tokio::time::Instant::now() >= next_prune {
            next_prune = tokio::time::Instant::now() + PRUNE_EVERY;
            prune_answers(&state).await;
        }
        let instant_of = |t: Option<Timestamp>| {
            let wait = t
                .map(|t| {
                    Duration::from_millis((t.millis() - crate::clock::now().millis()).max(0) as u64)
                })
                .unwrap_or(PRUNE_EVERY)
                .min(PRUNE_EVERY);
            tokio::time::Instant::now() + wait
        };
        let mut wake_at = instant_of(next_due);
        let mut shifts_read = tokio::time::Instant::now();
        loop {
            tokio::select! {
                _ = tokio::time::sleep_until(wake_at) => break,
                // A new offer may have an earlier deadline, a changed
                // schedule an earlier shift change: re-read them, no write
                // needed (the reps at most every quarter second).
                _ = wakeup.notified() => {
                    let read_shifts = shifts_read.elapsed() >= Duration::from_millis(250);
                    let read = state.db.read(move |tx| {
                        let shift = if read_shifts {
                            Some(crate::roster::next_shift_change(&tx.reps()?, crate::clock::now()))
                        } else {
                            None
                        };
                        Ok((tx.next_sla_due()?, shift))
                    });
                    match read.await {
                        Ok((next, shift)) => {
                            match shift {
                                Some(shift) => {
                                    shifts_read = tokio::time::Instant::now();
                                    next_shift = shift;
                                }
                                // Read soon: a whole sweep reads them.
                                None => wake_at = wake_at.min(shifts_read + Duration::from_millis(250)),
                            }
                            wake_at = wake_at.min(instant_of(next)).min(instant_of(next_shift));
                        }
                        Err(_) => break,
                    }
                }
                _ = shutdown.changed() => return,
            }
        }
    }
}

/// Deletes stored feedback answers past `limits.idempotency_days`, a batch
/// per write job.
async fn prune_answers(state: &AppState) {
    let days = i64::from(state.config.limits.idempotency_days);
    let before = crate::clock::now().plus_millis(-days * 24 * 3600 * 1000);
    let mut pruned = 0u64;
    loop {
        match state
            .db
            .write(move |tx| tx.prune_answers(before, PRUNE_BATCH))
            .await
        {
            Ok(n) => {
                pruned += u64::from(n);
                if n < PRUNE_BATCH {
                    break;
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "pruning stored feedback answers failed; next hour");
                break;
            }
        }
    }
    if pruned > 0 {
        tracing::info!(pruned, days, "pruned expired feedback answers");
    }
}

/// Notices what the admin commands change from another process: a revoked
/// token ends its live streams; a new rep is offered queued leads.
async fn watch_admin_changes(state: AppState) {
    let mut shutdown = state.shutdown.clone();
    let mut seen: Option<ChangeMarks> = None;
    let mut tick = tokio::time::interval(ADMIN_CHANGES_POLL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = shutdown.changed() => return,
        }
        let marks = match state.db.read(|tx| tx.change_marks()).await {
            Ok(m) => m,
            Err(e) => {
                tracing::warn!(error = %e, "cannot read the admin change marks");
                continue;
            }
        };
        let Some(before) = seen.replace(marks) else {
            continue;
        };
        if marks.revoked_tokens != before.revoked_tokens {
            state.hub.tokens_revoked();
        }
        if marks.newest_rep != before.newest_rep {
            let config = state.config.clone();
            let after = before.newest_rep;
            let placed = state
                .db
                .write(move |tx| {
                    let mut placed = 0;
                    for rep in tx.reps_after(after)? {
                        placed +=
                            routing::offer_queued_to(tx, &config, rep.id, crate::clock::now())?;
                    }
                    Ok(placed)
                })
                .await;
            match placed {
                Ok(n) if n > 0 => tracing::info!(placed = n, "offered queued leads to new reps"),
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!(error = %e, "offering queued leads to new reps failed; retrying");
                    seen = Some(before);
                }
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
