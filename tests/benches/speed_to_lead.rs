//! Speed-to-lead, end to end: a lead posted to the real release server →
//! the connected client (baton-core's engine: SSE, pull, apply, announce)
//! raises its notification.
//!
//!     cargo build --release --bins
//!     cargo bench -p baton-tests --bench speed_to_lead
//!
//! Timed from *sending* the intake request (an upper bound on commit →
//! notification) to the moment the engine hands the notification to its
//! Notifier. BENCH_PROBES sets the number of leads (default 1000).

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use baton_core::api::ApiClient;
use baton_core::notify::{Notification, Notifier};
use baton_core::store::Store;
use baton_core::{Connection, Engine};
use baton_tests::*;

struct Recorder {
    seen: Mutex<Vec<(String, Instant)>>,
}

impl Notifier for Recorder {
    fn notify(&self, n: &Notification) -> baton_core::Result<()> {
        self.seen
            .lock()
            .unwrap()
            .push((n.title.clone(), Instant::now()));
        Ok(())
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let probes: usize = std::env::var("BENCH_PROBES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000);
    let server = Server::start_with(ONE_TEAM, &[], &[("RUST_LOG", "warn")]);
    let rep = server.add_rep("Ava", "sales", 1, 100_000);
    let intake = server.intake();
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(Store::open(&dir.path().join("cache.db")).unwrap());
    let recorder = Arc::new(Recorder {
        seen: Mutex::new(Vec::new()),
    });
    let engine = Engine::with_parts(
        store,
        ApiClient::new(&server.base, &rep.token).unwrap(),
        Some(recorder.clone()),
    );
    let (_stop, stop_rx) = tokio::sync::watch::channel(false);
    tokio::spawn(engine.clone().run(stop_rx));
    let mut status = engine.subscribe();
    while status.borrow().connection != Connection::Online {
        status.changed().await.unwrap();
    }
    let http = reqwest::Client::new();
    let url = format!("{}/v1/leads", server.base);
    let mut lat_ms = Vec::with_capacity(probes);
    for i in 0..probes {
        let l = lead(&format!("stl-{i}"));
        let title = format!("{} — Acme GmbH", l.contact.name);
        let sent = Instant::now();
        let r = http
            .post(&url)
            .bearer_auth(&intake.token)
            .json(&l)
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success());
        let deadline = Instant::now() + Duration::from_secs(10);
        let at = loop {
            if let Some((_, at)) = recorder
                .seen
                .lock()
                .unwrap()
                .iter()
                .find(|(t, _)| *t == title)
            {
                break *at;
            }
            assert!(Instant::now() < deadline, "no notification for {title}");
            tokio::time::sleep(Duration::from_micros(200)).await;
        };
        lat_ms.push(at.duration_since(sent).as_secs_f64() * 1000.0);
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    lat_ms.sort_by(f64::total_cmp);
    let p = |q: f64| lat_ms[(((lat_ms.len() - 1) as f64) * q).round() as usize];
    println!(
        "speed-to-lead, intake sent → client notification ({probes} leads): p50 {:.2} ms, p90 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        p(0.5),
        p(0.9),
        p(0.99),
        lat_ms[lat_ms.len() - 1]
    );
}
