//! Benchmark: intake → assignment throughput and intake → SSE latency on
//! PostgreSQL with one and with two instances, side by side with SQLite in
//! the same run, against the real release binary.
//!
//!     cargo build --release --bins
//!     cargo bench -p baton-tests --bench postgres
//!
//! PostgreSQL is a private cluster started by the harness with its
//! durability settings on (fsync, synchronous commit), as SQLite runs with
//! `synchronous=FULL`; it shares the 2 cores with the servers and the client.
//! With two instances, intake requests alternate between them and the
//! latency probe's lead is pushed to instance A while the rep's stream is
//! open on instance B: the event crosses instances through NOTIFY.
//!
//! Knobs (environment): BENCH_LEADS (10000), BENCH_CONCURRENCY (32),
//! BENCH_PROBES (1000), BENCH_PG_DURABLE (1; 0 turns PostgreSQL's fsync off),
//! BENCH_SQLITE (1; 0 skips the SQLite run), BENCH_PG_STATEMENTS (0; 1 prints
//! PostgreSQL's busiest statements of the one-instance run, when the cluster
//! loads pg_stat_statements: BATON_TEST_PG_SETTINGS=
//! shared_preload_libraries=pg_stat_statements).

use std::path::Path;
use std::time::Duration;

use baton_tests::postgres::Postgres;
use baton_tests::*;

struct Figures {
    rate: f64,
    latency_ms: Vec<f64>,
}

/// Pushes `leads` new leads over `concurrency` keep-alive connections,
/// alternating between `instances`; then `probes` probe leads one at a time
/// to `instances[0]`, each timed until its event reaches the probe rep's
/// stream on `stream_on`.
async fn measure(
    instances: &[&Server],
    stream_on: &Server,
    leads: usize,
    concurrency: usize,
    probes: usize,
) -> Figures {
    let first = instances[0];
    for i in 0..10 {
        let rep = first.add_rep(&format!("Rep {i}"), "sales", 1 + (i % 3) as u32, 100_000);
        bench_shift(&rep, i).await;
    }
    let probe_rep = stream_on.add_rep("Probe", "probe", 1, 100_000);
    let probe_rep = stream_on.client(&probe_rep.token);
    let intake = first.intake();
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(concurrency)
        .build()
        .unwrap();
    let urls: Vec<String> = instances
        .iter()
        .map(|s| format!("{}/v1/leads", s.base))
        .collect();
    for i in 0..200 {
        http.post(&urls[i % urls.len()])
            .bearer_auth(&intake.token)
            .json(&lead(&format!("warm-{i}")))
            .send()
            .await
            .unwrap();
    }
    let elapsed = push_new_leads(&http, &urls, &intake.token, leads, concurrency).await;
    let rate = leads as f64 / elapsed.as_secs_f64();

    let mut stream = probe_rep.stream(None).await;
    stream.next(Duration::from_secs(5)).await.expect("ready");
    let ms = Probe {
        http: &http,
        url: &urls[0],
        token: &intake.token,
    }
    .latencies(&mut stream, "probe", probes)
    .await;
    Figures {
        rate,
        latency_ms: ms,
    }
}

fn report(what: &str, f: &Figures) {
    let ms = &f.latency_ms;
    println!(
        "{what}: {:.0} leads/s routed; intake→SSE p50 {:.2} ms, p90 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        f.rate,
        percentile(ms, 0.5),
        percentile(ms, 0.9),
        percentile(ms, 0.99),
        ms[ms.len() - 1]
    );
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let leads = env_or::<usize>("BENCH_LEADS", 10_000);
    let concurrency = env_or::<usize>("BENCH_CONCURRENCY", 32);
    let probes = env_or::<usize>("BENCH_PROBES", 1_000);
    let quiet = [("RUST_LOG", "warn")];

    let dir = tempfile::tempdir().unwrap();
    if env_or::<u8>("BENCH_SQLITE", 1) == 1 {
        let sqlite = Server::start_on_db(
            TestDb::File(Path::new(dir.path()).join("bench.db")),
            BENCH_CONFIG,
            &quiet,
        );
        let f = measure(&[&sqlite], &sqlite, leads, concurrency, probes).await;
        report("SQLite, one instance", &f);
    }

    // BENCH_PG_DURABLE=0: the test cluster (no fsync), to see what the
    // disk costs.
    let pg = if env_or::<u8>("BENCH_PG_DURABLE", 1) == 1 {
        Postgres::durable()
    } else {
        Postgres::shared()
    };
    // BENCH_PG_STATEMENTS=1 (with BATON_TEST_PG_SETTINGS=
    // shared_preload_libraries=pg_stat_statements): where PostgreSQL spends
    // its time during the one-instance run, statement by statement.
    let statements = env_or::<u8>("BENCH_PG_STATEMENTS", 0) == 1;
    if statements {
        pg.psql_admin("CREATE EXTENSION IF NOT EXISTS pg_stat_statements");
    }
    let one = Server::start_on_db(TestDb::Postgres(pg.database()), BENCH_CONFIG, &quiet);
    if statements {
        pg.psql_admin("SELECT pg_stat_statements_reset()");
    }
    let f = measure(&[&one], &one, leads, concurrency, probes).await;
    report("PostgreSQL, one instance", &f);
    if statements {
        println!("calls | total ms | mean µs | rows | statement");
        let top = pg.psql_admin(
            "SELECT calls, round(total_exec_time), round(mean_exec_time * 1000), rows, \
             left(regexp_replace(query, '\\s+', ' ', 'g'), 110) FROM pg_stat_statements \
             ORDER BY total_exec_time DESC LIMIT 25",
        );
        println!("{top}");
    }
    drop(one);

    let a = Server::start_on_db(TestDb::Postgres(pg.database()), BENCH_CONFIG, &quiet);
    let b = a.another_instance();
    let f = measure(&[&a, &b], &b, leads, concurrency, probes).await;
    report(
        "PostgreSQL, two instances (intake alternating; probe pushed to A, streamed from B)",
        &f,
    );
}
