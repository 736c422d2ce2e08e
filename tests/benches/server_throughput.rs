//! Benchmark: intake → assignment throughput, and the latency from intake to
//! the SSE event reaching a connected rep, against the real release binary.
//!
//!     cargo build --release --bins
//!     cargo bench -p baton-tests --bench server_throughput
//!
//! Knobs (environment): BENCH_LEADS (default 20000), BENCH_CONCURRENCY (32),
//! BENCH_PROBES (2000), BENCH_HALF_OPEN (2000), BENCH_FLOOD_STREAMS (200).
//!
//! The sales team routes with account matching, a business-hours SLA,
//! reminders and its reps' shifts on, as a team using them all would.
//!
//! Every limit is on at its default except the intake key's rate limit,
//! which is raised: this bench measures what the router can do, and one key
//! at its default (2,000 a second) cannot reach that by design.

use std::time::{Duration, Instant};

use baton_tests::*;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let leads = env_or::<usize>("BENCH_LEADS", 20_000);
    let concurrency = env_or::<usize>("BENCH_CONCURRENCY", 32);
    let probes = env_or::<usize>("BENCH_PROBES", 2_000);

    let server = Server::start_with(BENCH_CONFIG, &[], &[("RUST_LOG", "warn")]);
    for i in 0..10 {
        let rep = server.add_rep(&format!("Rep {i}"), "sales", 1 + (i % 3) as u32, 100_000);
        bench_shift(&rep, i).await;
    }
    let probe_rep = server.add_rep("Probe", "probe", 1, 100_000);
    let intake = server.intake();
    // A pooled, keep-alive client, as marketing's systems would use.
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(concurrency)
        .build()
        .unwrap();
    let url = format!("{}/v1/leads", server.base);

    // Warm up.
    for i in 0..200 {
        http.post(&url)
            .bearer_auth(&intake.token)
            .json(&lead(&format!("warm-{i}")))
            .send()
            .await
            .unwrap();
    }

    // 1. Throughput: `leads` new leads from `concurrency` connections.
    let elapsed = push_new_leads(
        &http,
        std::slice::from_ref(&url),
        &intake.token,
        leads,
        concurrency,
    )
    .await;
    let rate = leads as f64 / elapsed.as_secs_f64();
    println!(
        "intake→assignment: {leads} leads routed in {:.2} s over {concurrency} connections = {rate:.0} leads/s",
        elapsed.as_secs_f64()
    );

    // 2. Latency: intake request sent → SSE event received by the rep.
    // Measured from *sending* the request, so it includes HTTP parsing,
    // routing and the durable commit: an upper bound on commit → event.
    let mut stream = probe_rep.stream(None).await;
    stream.next(Duration::from_secs(5)).await.expect("ready");
    let probe = Probe {
        http: &http,
        url: &url,
        token: &intake.token,
    };
    let lat_ms = probe.latencies(&mut stream, "probe", probes).await;
    println!(
        "intake→SSE event ({probes} probes): p50 {:.2} ms, p90 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        percentile(&lat_ms, 0.5),
        percentile(&lat_ms, 0.9),
        percentile(&lat_ms, 0.99),
        lat_ms[lat_ms.len() - 1]
    );

    // 3. The same latency while hostile clients hold the server: half-open
    // requests (slowloris) and a flood of live streams from other reps.
    let half_open_n = env_or::<usize>("BENCH_HALF_OPEN", 2_000);
    let flood_streams = env_or::<usize>("BENCH_FLOOD_STREAMS", 200);
    let at: std::net::SocketAddr = server.base.trim_start_matches("http://").parse().unwrap();
    let mut half_open = Vec::with_capacity(half_open_n);
    for _ in 0..half_open_n {
        use tokio::io::AsyncWriteExt;
        let mut s = tokio::net::TcpStream::connect(at).await.unwrap();
        s.write_all(
            b"POST /v1/leads HTTP/1.1\r\nHost: baton\r\nContent-Type: application/json\r\n",
        )
        .await
        .unwrap();
        half_open.push(s);
    }
    let mut streams = Vec::new();
    for i in 0..flood_streams.div_ceil(4) {
        let rep = server.add_rep(&format!("Flood {i}"), "flood", 1, 10);
        for _ in 0..4.min(flood_streams - streams.len()) {
            streams.push(rep.stream(None).await);
        }
    }
    let started = Instant::now();
    let loaded_ms = probe.latencies(&mut stream, "loaded-probe", probes).await;
    // The half-open connections are dropped at the 10 s header deadline; the
    // probes above ran while they were held (the loop takes a few seconds).
    let held = started.elapsed();
    println!(
        "intake→SSE event under load ({half_open_n} half-open requests, {} flood streams, {:.1} s): p50 {:.2} ms, p90 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        streams.len(),
        held.as_secs_f64(),
        percentile(&loaded_ms, 0.5),
        percentile(&loaded_ms, 0.9),
        percentile(&loaded_ms, 0.99),
        loaded_ms[loaded_ms.len() - 1]
    );
    drop(half_open);
}
