//! Responsiveness during a first sync: while the client engine (baton-core's
//! `Engine`, in-process, against the real release server) pulls a backlog of
//! BENCH_LEADS leads into an empty cache, a window's commands — the inbox
//! list, a search, opening a lead, accepting one (a durable write) — still
//! answer quickly.
//!
//!     cargo build --release --bins
//!     cargo bench -p baton-tests --bench responsiveness
//!
//! Set-up: one rep (max 100,000 open offers) is routed BENCH_LEADS leads
//! (default 100000) over 32 connections. Then `Engine::pull` runs a first
//! sync of them all, timed (leads/s), while a probe task sends one command
//! every ~10 ms, in turn: `inbox` (new leads, 101 rows), `inbox` with a
//! search ("bench lead 4"), `lead` of a listed lead, and `accept` of a
//! listed lead still new. The lead and accept probes start once the list has
//! rows. Probing goes on for 2 s after `pull` returns, when the engine's
//! housekeeping after a big pull (index merge, WAL checkpoint) may still run.
//! Each command is timed from the call to its answer; figures are given per
//! kind and overall, during the sync and in the 2 s after it.
//!
//! The intake key's rate limit is raised in the server's config: one key at
//! its default (2,000 a second) would only slow the set-up down.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use baton_core::Engine;
use baton_core::api::ApiClient;
use baton_core::store::{InboxQuery, LocalStatus, Store};
use baton_protocol::LeadId;
use baton_tests::*;
use tokio::sync::watch;

/// How long probing goes on after `pull` returns.
const AFTER: Duration = Duration::from_secs(2);
/// The pause between two probes.
const EVERY: Duration = Duration::from_millis(10);

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    List,
    Search,
    Open,
    Accept,
}

const KINDS: [Kind; 4] = [Kind::List, Kind::Search, Kind::Open, Kind::Accept];

impl Kind {
    fn label(self) -> &'static str {
        match self {
            Kind::List => "list (inbox, new, 101 rows)",
            Kind::Search => "search (\"bench lead 4\", 101 rows)",
            Kind::Open => "open a lead",
            Kind::Accept => "accept (durable write)",
        }
    }
}

struct Sample {
    kind: Kind,
    /// Sent after `pull` returned.
    after: bool,
    ms: f64,
}

#[derive(Default)]
struct Probes {
    samples: Vec<Sample>,
    /// From the start of the pull to the first list with rows.
    first_rows: Option<Duration>,
}

/// Sends the window's commands in turn until `AFTER` has passed since the
/// pull returned (`done` holds the moment it did).
async fn probe(
    engine: Arc<Engine>,
    started: Instant,
    done: watch::Receiver<Option<Instant>>,
) -> Probes {
    let mut out = Probes::default();
    let mut listed: Vec<LeadId> = Vec::new();
    let mut accepted: HashSet<LeadId> = HashSet::new();
    let mut step = 0usize;
    loop {
        let finished = *done.borrow();
        if finished.is_some_and(|t| t.elapsed() >= AFTER) {
            return out;
        }
        let kind = KINDS[step % KINDS.len()];
        step += 1;
        if matches!(kind, Kind::Open | Kind::Accept) && listed.is_empty() {
            continue;
        }
        let t0 = Instant::now();
        match kind {
            Kind::List => {
                let rows = engine
                    .inbox(InboxQuery {
                        status: Some(LocalStatus::New),
                        search: None,
                        limit: 101,
                        offset: 0,
                    })
                    .await
                    .expect("list");
                listed = rows.iter().map(|r| r.id).collect();
                if out.first_rows.is_none() && !rows.is_empty() {
                    out.first_rows = Some(started.elapsed());
                }
            }
            Kind::Search => {
                engine
                    .inbox(InboxQuery {
                        status: None,
                        search: Some("bench lead 4".into()),
                        limit: 101,
                        offset: 0,
                    })
                    .await
                    .expect("search");
            }
            Kind::Open => {
                let id = listed[step % listed.len()];
                engine.lead(id).await.expect("open a lead");
            }
            Kind::Accept => {
                let Some(&id) = listed.iter().find(|id| !accepted.contains(id)) else {
                    continue;
                };
                let row = engine.accept(id, None).await.expect("accept");
                assert_eq!(row.status, LocalStatus::Accepted);
                accepted.insert(id);
            }
        }
        out.samples.push(Sample {
            kind,
            after: finished.is_some(),
            ms: t0.elapsed().as_secs_f64() * 1000.0,
        });
        tokio::time::sleep(EVERY).await;
    }
}

fn print_line(phase: &str, what: &str, mut ms: Vec<f64>) {
    if ms.is_empty() {
        println!("{phase}, {what}: no commands");
        return;
    }
    ms.sort_by(f64::total_cmp);
    println!(
        "{phase}, {what}: {} commands, p50 {:.2} ms, p90 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        ms.len(),
        percentile(&ms, 0.5),
        percentile(&ms, 0.9),
        percentile(&ms, 0.99),
        ms[ms.len() - 1]
    );
}

fn print_phase(phase: &str, samples: &[&Sample]) {
    for kind in KINDS {
        let ms = samples
            .iter()
            .filter(|s| s.kind == kind)
            .map(|s| s.ms)
            .collect();
        print_line(phase, kind.label(), ms);
    }
    print_line(
        phase,
        "all commands",
        samples.iter().map(|s| s.ms).collect(),
    );
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let leads = env_or::<usize>("BENCH_LEADS", 100_000);
    let config = format!("{ONE_TEAM}{UNLIMITED_INTAKE}");
    let server = Server::start_with(&config, &[], &[("RUST_LOG", "warn")]);
    let rep = server.add_rep("Ava Rossi", "sales", 1, 100_000);
    let intake = server.intake();

    // The rep's backlog, pushed over 32 connections.
    let took = push_backlog(&intake, leads).await;
    println!("setup: {leads} leads routed in {:.1} s", took.as_secs_f64());

    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(Store::open(&dir.path().join("cache.db")).unwrap());
    let api = ApiClient::new(&server.base, &rep.token).unwrap();
    let engine = Engine::with_parts(store, api, None);

    let (done_tx, done_rx) = watch::channel(None);
    let started = Instant::now();
    let probes = tokio::spawn(probe(engine.clone(), started, done_rx));
    let pull = tokio::spawn({
        let engine = engine.clone();
        async move {
            let report = engine.pull().await;
            let took = started.elapsed();
            done_tx.send(Some(Instant::now())).unwrap();
            (report, took)
        }
    });
    let (report, took) = pull.await.unwrap();
    let report = report.expect("first sync");
    let probes = probes.await.unwrap();

    let secs = took.as_secs_f64();
    println!(
        "first sync of {leads} leads (Engine::pull, empty cache): {secs:.1} s, {:.0} leads/s ({} changes, {} new leads)",
        leads as f64 / secs,
        report.changes,
        report.new_leads
    );
    if let Some(t) = probes.first_rows {
        println!(
            "first sync: the list's first rows after {:.0} ms",
            t.as_secs_f64() * 1000.0
        );
    }
    let during: Vec<&Sample> = probes.samples.iter().filter(|s| !s.after).collect();
    let after: Vec<&Sample> = probes.samples.iter().filter(|s| s.after).collect();
    print_phase("during the first sync", &during);
    print_phase(
        &format!("in the {} s after the pull returned", AFTER.as_secs()),
        &after,
    );
    let accepts = |s: &[&Sample]| s.iter().filter(|s| s.kind == Kind::Accept).count();
    println!(
        "accepts: {} ({} during the sync, {} after)",
        accepts(&during) + accepts(&after),
        accepts(&during),
        accepts(&after)
    );
}
