//! Benchmark: inbound adapter throughput (signed Typeform deliveries taken
//! in as routed leads) and the latency from a rep's accept to the
//! `lead.accepted` webhook reaching a receiver, against the release binary.
//!
//!     cargo build --release --bins
//!     cargo bench -p baton-tests --bench integrations
//!
//! Then a 100,000-row CSV file is imported through `baton-server import`
//! (routed, into the same database), timing it and reading the import
//! process's peak memory.
//!
//! Knobs (environment): BENCH_DELIVERIES (default 20000), BENCH_CONCURRENCY
//! (32), BENCH_PROBES (500), BENCH_CSV_ROWS (100000); BENCH_BACKEND=postgres
//! runs on a private PostgreSQL cluster instead of SQLite.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use baton_tests::providers::{typeform_response, typeform_signature};
use baton_tests::receiver::{Answer, Receiver};
use baton_tests::*;

const SECRET: &str = "bench-typeform-secret";

fn config() -> String {
    format!(
        r#"
qualification_threshold = 50
[[teams]]
name = "sales"
[[teams]]
name = "probe"
[[rules]]
name = "latency-probe"
team = "probe"
when = [{{ field = "source.channel", in = ["latency_probe"] }}]
[limits]
intake_per_second = 1000000
intake_burst = 1000000
rep_writes_per_second = 10000
rep_write_burst = 10000
[webhooks]
allow_private_targets = true
[[sources]]
name = "scorecard"
kind = "typeform"
secret = "{SECRET}"
[sources.fields]
first_name = "first_name"
email = "work_email"
company = "company"
"#
    )
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let deliveries = env_or::<usize>("BENCH_DELIVERIES", 20_000);
    let concurrency = env_or::<usize>("BENCH_CONCURRENCY", 32);
    let probes = env_or::<usize>("BENCH_PROBES", 500);
    let env = [("RUST_LOG", "warn")];
    let server = if std::env::var("BENCH_BACKEND").as_deref() == Ok("postgres") {
        Server::start_on_postgres(&config(), &[])
    } else {
        Server::start_with(&config(), &[], &env)
    };
    let mut reps = vec![];
    for i in 0..10 {
        reps.push(server.add_rep(&format!("Rep {i}"), "sales", 1, 100_000));
    }
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(concurrency)
        .build()
        .unwrap();
    let url = format!("{}/v1/intake/scorecard", server.base);

    // Bodies signed up front: the bench measures the server, not the signer.
    let bodies: Arc<Vec<(Vec<u8>, String)>> = Arc::new(
        (0..deliveries + 200)
            .map(|i| {
                let body = serde_json::to_vec(&typeform_response(
                    &format!("ev-{i}"),
                    &format!("tok-{i}"),
                    80,
                    &format!("lead{i}@acme.example"),
                ))
                .unwrap();
                let sig = typeform_signature(SECRET, &body);
                (body, sig)
            })
            .collect(),
    );
    let send = move |i: usize| {
        let (http, url, bodies) = (http.clone(), url.clone(), bodies.clone());
        async move {
            let (body, sig) = &bodies[i];
            let r = http
                .post(&url)
                .header("content-type", "application/json")
                .header("typeform-signature", sig)
                .body(body.clone())
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 201, "{}", r.text().await.unwrap_or_default());
        }
    };
    for i in deliveries..deliveries + 200 {
        send(i).await; // warm up
    }

    // 1. Signed Typeform deliveries → routed leads.
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let workers: Vec<_> = (0..concurrency)
        .map(|_| {
            let (next, send) = (next.clone(), send.clone());
            tokio::spawn(async move {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= deliveries {
                        break;
                    }
                    send(i).await;
                }
            })
        })
        .collect();
    for w in workers {
        w.await.unwrap();
    }
    let elapsed = started.elapsed();
    println!(
        "typeform intake: {deliveries} signed deliveries mapped, stored and routed in {:.2} s over {concurrency} connections = {:.0} deliveries/s",
        elapsed.as_secs_f64(),
        deliveries as f64 / elapsed.as_secs_f64()
    );

    // 2. Accept → lead.accepted received by a webhook receiver.
    let receiver = Receiver::start(Answer::Ok).await;
    let manager = server.manager();
    let hook = manager
        .post(
            "/v1/webhooks",
            &serde_json::json!({ "url": receiver.url, "events": ["lead.accepted"] }),
        )
        .await;
    assert_eq!(hook.status, 201);
    let intake = server.intake();
    let probe_rep = server.add_rep("Probe", "probe", 1, 100_000);
    let mut ms = Vec::with_capacity(probes);
    for i in 0..probes {
        let mut l = lead(&format!("accept-probe-{i}"));
        l.source.channel = "latency_probe".into();
        let l = intake.push(&l).await.lead;
        // Its lead.routed is not subscribed; only the accept is timed.
        let before = receiver.received().len();
        let sent = Instant::now();
        let r = probe_rep.accept(l.id).await;
        assert_eq!(r.status, 200);
        // Timed to the moment the receiver took the request, not to when
        // this loop noticed.
        let got = receiver.wait_for(before + 1, Duration::from_secs(5)).await;
        ms.push((got[before].at - sent).as_secs_f64() * 1000.0);
    }
    ms.sort_by(f64::total_cmp);
    println!(
        "accept→webhook received ({probes} probes): p50 {:.2} ms, p90 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        percentile(&ms, 0.5),
        percentile(&ms, 0.9),
        percentile(&ms, 0.99),
        ms[ms.len() - 1]
    );

    // 3. A 100,000-row CSV file through `baton-server import`.
    let rows = env_or::<usize>("BENCH_CSV_ROWS", 100_000);
    let file = server.dir.path().join("big.csv");
    {
        use std::io::Write;
        let mut w = std::io::BufWriter::new(std::fs::File::create(&file).unwrap());
        writeln!(
            w,
            "Email Address,First Name,Last Name,Company,Job Title,Country,Lead Score,Notes"
        )
        .unwrap();
        for i in 0..rows {
            writeln!(
                w,
                "csv{i}@bigco.example,Lead,Number {i},\"Big Co, Ltd\",VP Sales,DE,{},imported from the fair",
                50 + i % 50
            )
            .unwrap();
        }
    }
    let size = std::fs::metadata(&file).unwrap().len();
    let started = Instant::now();
    let out = std::process::Command::new(binary("baton-server"))
        .args(["import", "--source", "fair", "--json", "--db"])
        .arg(server.db_arg())
        .arg("--config")
        .arg(server.config_path())
        .arg(&file)
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    let took = started.elapsed();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let summary: baton_protocol::ImportSummary = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(summary.created as usize, rows);
    // SAFETY: getrusage only writes the struct it is given.
    let peak_kib = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_CHILDREN, &mut usage);
        usage.ru_maxrss
    };
    println!(
        "csv import: {rows} rows ({:.1} MB) created and routed in {:.2} s = {:.0} rows/s; peak memory of the largest child process {:.1} MB",
        size as f64 / 1e6,
        took.as_secs_f64(),
        rows as f64 / took.as_secs_f64(),
        peak_kib as f64 / 1024.0
    );
    drop(reps);
}
