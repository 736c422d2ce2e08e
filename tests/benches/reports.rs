//! Benchmark: the report endpoints over a year of data with ~1,000,000
//! decisions, against the real release binary over HTTP.
//!
//!     cargo build --release --bins
//!     cargo bench -p baton-tests --bench reports
//!
//! The year is replayed through the real routing code by `baton-server demo
//! --history-days 365` (about a quarter of an hour on a 2-core machine) into
//! `target/bench-data/`, and reused by later runs. Knobs (environment):
//! BENCH_HISTORY_DAYS (365), BENCH_LEADS_PER_DAY (3400), BENCH_REQUESTS (40),
//! BENCH_BACKEND (sqlite; `postgres` copies that year with `baton-server
//! migrate-db` into a private PostgreSQL cluster, durable settings on, and
//! serves it from there).

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use baton_protocol::{CalibrationReport, HandoffReport, Timestamp};
use baton_tests::{binary, env_or};

struct Demo {
    child: Child,
    base: String,
    manager: String,
}

impl Drop for Demo {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `baton-server demo` on `db` (replaying the history when the file
/// is new) and reads its address and manager token.
fn start(db: &std::ffi::OsStr, days: u64, per_day: u64) -> Demo {
    let mut child = Command::new(binary("baton-server"))
        .args([
            "demo",
            "--addr",
            "127.0.0.1:0",
            "--rate",
            "0",
            "--backlog",
            "0",
        ])
        .arg("--db")
        .arg(db)
        .args(["--history-days", &days.to_string()])
        .args(["--history-leads-per-day", &per_day.to_string()])
        .args(["--extra-reps", "40", "--seed", "2026"])
        .env("RUST_LOG", "warn,baton_server=info")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start baton-server demo");
    let mut out = BufReader::new(child.stdout.take().unwrap()).lines();
    let (mut base, mut manager) = (String::new(), String::new());
    for line in out.by_ref() {
        let line = line.unwrap();
        let f: Vec<&str> = line.split('\t').collect();
        match f.first() {
            Some(&"server") => base = f[2].to_string(),
            Some(&"manager") => manager = f[2].to_string(),
            Some(&"rep") => break,
            _ => {}
        }
    }
    assert!(
        !base.is_empty() && !manager.is_empty(),
        "demo did not start"
    );
    // The rest of what it prints is read too: a closed pipe would fail the
    // demo's next write.
    std::thread::spawn(move || out.for_each(drop));
    Demo {
        child,
        base,
        manager,
    }
}

fn stats(mut ms: Vec<f64>) -> String {
    ms.sort_by(f64::total_cmp);
    let at = |p: f64| ms[((ms.len() - 1) as f64 * p).round() as usize];
    format!(
        "p50 {:.1} ms, p95 {:.1} ms, max {:.1} ms ({} requests)",
        at(0.5),
        at(0.95),
        ms[ms.len() - 1],
        ms.len()
    )
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let days = env_or::<u64>("BENCH_HISTORY_DAYS", 365);
    let per_day = env_or::<u64>("BENCH_LEADS_PER_DAY", 3400);
    let requests = env_or::<u64>("BENCH_REQUESTS", 40) as usize;
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/bench-data");
    std::fs::create_dir_all(&dir).unwrap();
    let db = dir.join(format!("reports-{days}d-{per_day}.db"));
    let fresh = !db.exists();
    let started = Instant::now();
    let mut demo = start(db.as_os_str(), days, per_day);
    if fresh {
        println!(
            "replayed {days} days × {per_day} leads in {:.0} s",
            started.elapsed().as_secs_f64()
        );
    }
    let size = std::fs::metadata(&db).map(|m| m.len()).unwrap_or(0);
    println!("database {} ({:.1} GB)", db.display(), size as f64 / 1e9);
    // Kept until the end: dropping it drops the database.
    let mut _pg_database = None;
    if std::env::var("BENCH_BACKEND").as_deref() == Ok("postgres") {
        drop(demo);
        let pg = baton_tests::postgres::Postgres::durable().database();
        let copied = Instant::now();
        let out = Command::new(binary("baton-server"))
            .args(["migrate-db", "--from"])
            .arg(&db)
            .args(["--to", pg.url()])
            .env("RUST_LOG", "warn")
            .output()
            .expect("run migrate-db");
        assert!(
            out.status.success(),
            "migrate-db failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        println!(
            "copied to PostgreSQL with migrate-db in {:.0} s; database size {}",
            copied.elapsed().as_secs_f64(),
            pg.psql("SELECT pg_size_pretty(pg_database_size(current_database()))")
        );
        // Fresh statistics, as autovacuum would have gathered on a database
        // that grew over a year.
        pg.psql("VACUUM ANALYZE");
        demo = start(std::ffi::OsStr::new(pg.url()), days, per_day);
        _pg_database = Some(pg);
    }

    let http = reqwest::Client::new();
    let now = Timestamp::now();
    let year_from = Timestamp(now.millis() - (days as i64 + 1) * 86_400_000);
    let q = |t: Timestamp| t.to_rfc3339();
    let cases: Vec<(&str, String)> = vec![
        (
            "handoff, the whole year",
            format!("/v1/reports/handoff?from={}&to={}", q(year_from), q(now)),
        ),
        (
            "handoff, the whole year, one team",
            format!(
                "/v1/reports/handoff?from={}&to={}&team=emea",
                q(year_from),
                q(now)
            ),
        ),
        (
            "handoff, the whole year, 10,000-decision log (as the app asks)",
            format!(
                "/v1/reports/handoff?from={}&to={}&limit=10000",
                q(year_from),
                q(now)
            ),
        ),
        (
            "handoff, last 30 days (default)",
            "/v1/reports/handoff".into(),
        ),
        (
            "calibration, the whole year, target 0.6",
            format!(
                "/v1/reports/calibration?from={}&to={}&target=0.6",
                q(year_from),
                q(now)
            ),
        ),
    ];
    let get = |path: &str| {
        http.get(format!("{}{path}", demo.base))
            .bearer_auth(&demo.manager)
            .timeout(Duration::from_secs(60))
            .send()
    };
    // What the year holds, from the server's own report.
    let year: HandoffReport = get(&cases[0].1).await.unwrap().json().await.unwrap();
    let decided = year.totals.accepted + year.totals.rejected;
    println!(
        "the year: {} offers, {} decisions, {} SLA take-backs, {} reps, {} days",
        year.totals.assigned,
        decided,
        year.totals.sla_breaches,
        year.by_rep.len(),
        year.daily.len()
    );
    let cal: CalibrationReport = get(&cases[4].1).await.unwrap().json().await.unwrap();
    assert_eq!(
        cal.decided, decided,
        "both reports count the same decisions"
    );
    for (name, path) in &cases {
        for _ in 0..3 {
            get(path).await.unwrap().bytes().await.unwrap();
        }
        let mut ms = Vec::with_capacity(requests);
        for _ in 0..requests {
            let t = Instant::now();
            let r = get(path).await.unwrap();
            assert_eq!(r.status(), 200, "{name}");
            r.bytes().await.unwrap();
            ms.push(t.elapsed().as_secs_f64() * 1000.0);
        }
        println!("{name}: {}", stats(ms));
    }
    // The server first, then its database.
    drop(demo);
}
