//! Harness for end-to-end tests: starts the real `baton-server` binary on
//! 127.0.0.1 with a temporary database, and talks to it over HTTP like any
//! client would.
//!
//! The database is a temporary SQLite file, or, with `BATON_TEST_DB=postgres`,
//! a fresh database in the private PostgreSQL cluster ([`postgres`]): the
//! same test bodies then prove the PostgreSQL backend (`scripts/test` runs
//! the server suites both ways).
//!
//! The binary is looked up next to the test executable (`target/<profile>/`),
//! or at `$BATON_SERVER_BIN`. Build it first: `cargo build --workspace --bins`.

pub mod bus;
pub mod crm;
pub mod desktop;
pub mod nginx;
pub mod postgres;
pub mod providers;
pub mod proxy;
pub mod receiver;
pub mod webdriver;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use baton_protocol::*;
use futures_util::StreamExt;
use reqwest::{Method, StatusCode};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

/// Path of a workspace binary built beside the tests.
pub fn binary(name: &str) -> PathBuf {
    if let Some(p) = std::env::var_os(format!(
        "BATON_{}_BIN",
        name.to_uppercase().replace('-', "_")
    )) {
        return PathBuf::from(p);
    }
    let exe = std::env::current_exe().expect("test executable path");
    // target/<profile>/deps/<test> → target/<profile>/<name>
    let dir = exe.parent().and_then(Path::parent).expect("target dir");
    let path = dir.join(name);
    assert!(
        path.exists(),
        "{} is missing: run `cargo build --workspace --bins` before the tests",
        path.display()
    );
    path
}

/// The storage backend the server suites run on (`BATON_TEST_DB`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    /// `BATON_TEST_DB=postgres` selects PostgreSQL; anything else (or
    /// nothing) SQLite.
    pub fn from_env() -> Backend {
        match std::env::var("BATON_TEST_DB").as_deref() {
            Ok("postgres") => Backend::Postgres,
            Ok("sqlite") | Err(_) => Backend::Sqlite,
            Ok(other) => panic!("BATON_TEST_DB={other:?}: write sqlite or postgres"),
        }
    }
}

/// Where a test server keeps its data.
pub enum TestDb {
    File(PathBuf),
    Postgres(postgres::PgDatabase),
    /// Another server's PostgreSQL database (a second instance): not
    /// dropped with this server.
    Shared(String),
}

impl TestDb {
    /// A new, empty database of `backend` (a file in `dir` for SQLite).
    pub fn new(backend: Backend, dir: &Path) -> TestDb {
        match backend {
            Backend::Sqlite => TestDb::File(dir.join("baton.db")),
            Backend::Postgres => TestDb::Postgres(postgres::Postgres::shared().database()),
        }
    }

    /// The `--db` argument naming it.
    pub fn arg(&self) -> String {
        match self {
            TestDb::File(p) => p.display().to_string(),
            TestDb::Postgres(db) => db.url().to_string(),
            TestDb::Shared(url) => url.clone(),
        }
    }
}

/// A running `baton-server serve` with its own temporary database.
pub struct Server {
    child: Option<Child>,
    pub base: String,
    pub dir: tempfile::TempDir,
    pub db: TestDb,
    extra_args: Vec<String>,
    env: Vec<(String, String)>,
}

pub const ONE_TEAM: &str = r#"
qualification_threshold = 60
[[teams]]
name = "sales"
"#;

/// Three teams: emea by region (DE, FR, GB), enterprise for companies of
/// 1,000 people or more, americas for the rest. Threshold 50.
pub const TEAMS_BY_REGION: &str = r#"
qualification_threshold = 50
fallback_team = "americas"
[regions]
emea = ["DE", "FR", "GB"]
[[teams]]
name = "emea"
[[teams]]
name = "americas"
[[teams]]
name = "enterprise"
[[rules]]
name = "big-accounts"
team = "enterprise"
when = [{ field = "contact.company_size", min = 1000 }]
[[rules]]
name = "emea-by-region"
team = "emea"
when = [{ field = "region", in = ["emea"] }]
"#;

impl Server {
    /// Starts a server with the given routing config (TOML).
    pub fn start(config: &str) -> Server {
        Self::start_with(config, &[], &[])
    }

    pub fn start_with(config: &str, extra_args: &[&str], env: &[(&str, &str)]) -> Server {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::write(dir.path().join("baton.toml"), config).expect("write config");
        let db = TestDb::new(Backend::from_env(), dir.path());
        let mut s = Server {
            child: None,
            base: String::new(),
            db,
            dir,
            extra_args: extra_args.iter().map(|s| s.to_string()).collect(),
            env: env
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        };
        s.spawn("127.0.0.1:0");
        if let TestDb::Postgres(db) = &s.db {
            // The server really runs on PostgreSQL: it migrated this database.
            assert_ne!(db.psql("SELECT MAX(version) FROM schema_migrations"), "");
        }
        s
    }

    /// The SQLite file; panics on PostgreSQL (a test that reads the file
    /// itself is a SQLite test).
    pub fn db_path(&self) -> PathBuf {
        match &self.db {
            TestDb::File(p) => p.clone(),
            TestDb::Postgres(_) | TestDb::Shared(_) => {
                panic!("this test reads the SQLite file itself")
            }
        }
    }

    /// The `--db` argument of this server's database (file or URL).
    pub fn db_arg(&self) -> String {
        self.db.arg()
    }

    pub fn config_path(&self) -> PathBuf {
        self.dir.path().join("baton.toml")
    }

    pub fn stderr_path(&self) -> PathBuf {
        self.dir.path().join("server.log")
    }

    fn spawn(&mut self, addr: &str) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.stderr_path())
            .expect("log file");
        let mut cmd = Command::new(binary("baton-server"));
        cmd.arg("serve")
            .arg("--db")
            .arg(self.db_arg())
            .arg("--config")
            .arg(self.config_path())
            .arg("--addr")
            .arg(addr)
            .args(&self.extra_args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(log));
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("start baton-server");
        let stdout = child.stdout.take().expect("stdout");
        let mut lines = BufReader::new(stdout).lines();
        let line = match lines.next() {
            Some(Ok(l)) => l,
            _ => {
                let _ = child.wait();
                panic!(
                    "baton-server did not start; its log:\n{}",
                    std::fs::read_to_string(self.stderr_path()).unwrap_or_default()
                )
            }
        };
        let url = line
            .strip_prefix("listening\t")
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
            .to_string();
        self.base = url;
        self.child = Some(child);
    }

    /// Starts `config` on `db`, whatever `BATON_TEST_DB` says.
    pub fn start_on_db(db: TestDb, config: &str, env: &[(&str, &str)]) -> Server {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::write(dir.path().join("baton.toml"), config).expect("write config");
        let mut s = Server {
            child: None,
            base: String::new(),
            db,
            dir,
            extra_args: Vec::new(),
            env: env
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        };
        s.spawn("127.0.0.1:0");
        s
    }

    /// Starts `config` on a fresh PostgreSQL database, whatever
    /// `BATON_TEST_DB` says (for tests of several instances).
    pub fn start_on_postgres(config: &str, extra_args: &[&str]) -> Server {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::write(dir.path().join("baton.toml"), config).expect("write config");
        let mut s = Server {
            child: None,
            base: String::new(),
            db: TestDb::new(Backend::Postgres, dir.path()),
            dir,
            extra_args: extra_args.iter().map(|s| s.to_string()).collect(),
            env: Vec::new(),
        };
        s.spawn("127.0.0.1:0");
        s
    }

    /// Another instance serving this server's PostgreSQL database, with the
    /// same config, on a port of its own.
    pub fn another_instance(&self) -> Server {
        assert!(
            matches!(self.db, TestDb::Postgres(_) | TestDb::Shared(_)),
            "several instances share a PostgreSQL database only"
        );
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::copy(self.config_path(), dir.path().join("baton.toml")).expect("copy config");
        let mut s = Server {
            child: None,
            base: String::new(),
            db: TestDb::Shared(self.db_arg()),
            dir,
            extra_args: self.extra_args.clone(),
            env: self.env.clone(),
        };
        s.spawn("127.0.0.1:0");
        s
    }

    /// Kills the server with SIGKILL (no shutdown of any kind) and reaps it.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Whether the server process is running.
    pub fn is_running(&mut self) -> bool {
        self.child
            .as_mut()
            .is_some_and(|c| matches!(c.try_wait(), Ok(None)))
    }

    /// Stops the server with SIGTERM (graceful) and waits for it to exit.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let pid = child.id().to_string();
            let _ = Command::new("kill").args(["-TERM", &pid]).status();
            let deadline = Instant::now() + Duration::from_secs(20);
            loop {
                match child.try_wait() {
                    Ok(Some(status)) => {
                        assert!(status.success(), "baton-server exited with {status}");
                        return;
                    }
                    Ok(None) if Instant::now() < deadline => {
                        std::thread::sleep(Duration::from_millis(20))
                    }
                    _ => {
                        let _ = child.kill();
                        let _ = child.wait();
                        panic!("baton-server did not stop within 20 s of SIGTERM");
                    }
                }
            }
        }
    }

    /// Stops and starts again on the same address with the same database.
    pub fn restart(&mut self) {
        self.stop();
        self.start_again();
    }

    /// Starts a stopped server again on its address, with its database.
    pub fn start_again(&mut self) {
        assert!(self.child.is_none(), "the server is running");
        let addr = self.base.trim_start_matches("http://").to_string();
        self.spawn(&addr);
    }

    /// Runs an admin command against this server's database; returns stdout.
    pub fn admin(&self, args: &[&str]) -> String {
        let out = Command::new(binary("baton-server"))
            .args(args)
            .arg("--db")
            .arg(self.db_arg())
            .arg("--config")
            .arg(self.config_path())
            .output()
            .expect("run admin command");
        assert!(
            out.status.success(),
            "baton-server {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout)
            .expect("utf-8")
            .trim()
            .to_string()
    }

    pub fn add_rep(&self, name: &str, team: &str, weight: u32, max_open: u32) -> Client {
        let email = format!("{}@reps.test", name.to_lowercase().replace(' ', "."));
        let token = self.admin(&[
            "rep",
            "add",
            "--name",
            name,
            "--email",
            &email,
            "--team",
            team,
            "--weight",
            &weight.to_string(),
            "--max-open",
            &max_open.to_string(),
        ]);
        self.client(&token)
    }

    pub fn intake(&self) -> Client {
        let token = self.admin(&["intake-key", "add", "--label", "tests"]);
        self.client(&token)
    }

    pub fn manager(&self) -> Client {
        let token = self.admin(&[
            "manager",
            "add",
            "--name",
            "Morgan",
            "--email",
            "morgan@managers.test",
        ]);
        self.client(&token)
    }

    pub fn client(&self, token: &str) -> Client {
        Client {
            // No pooled connections: a restarted server must not meet a dead socket.
            http: reqwest::Client::builder()
                .pool_max_idle_per_host(0)
                .timeout(Duration::from_secs(30))
                .build()
                .expect("http client"),
            base: self.base.clone(),
            token: token.to_string(),
        }
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.stderr_path()).unwrap_or_default()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// An HTTP client holding one bearer token.
#[derive(Clone)]
pub struct Client {
    pub http: reqwest::Client,
    pub base: String,
    pub token: String,
}

/// A response's status and JSON body.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub body: Value,
}

impl Reply {
    pub fn json<T: DeserializeOwned>(&self) -> T {
        serde_json::from_value(self.body.clone()).unwrap_or_else(|e| {
            panic!(
                "unexpected body for {}: {e}\n{:#}",
                std::any::type_name::<T>(),
                self.body
            )
        })
    }

    pub fn error_code(&self) -> &str {
        self.body["error"]["code"].as_str().unwrap_or("")
    }

    pub fn error_field(&self) -> &str {
        self.body["error"]["field"].as_str().unwrap_or("")
    }
}

impl Client {
    /// A client of the server at `base` (`http://HOST:PORT`) sending `token`.
    pub fn new(base: &str, token: &str) -> Client {
        Client {
            // No pooled connections: a restarted server must not meet a dead socket.
            http: reqwest::Client::builder()
                .pool_max_idle_per_host(0)
                .timeout(Duration::from_secs(30))
                .build()
                .expect("http client"),
            base: base.to_string(),
            token: token.to_string(),
        }
    }

    pub async fn request(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
        headers: &[(&str, &str)],
    ) -> Reply {
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.token);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        if let Some(b) = body {
            req = req.json(b);
        }
        let resp = req.send().await.expect("request sent");
        let status = resp.status();
        let text = resp.text().await.expect("body read");
        let body = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text)
                .unwrap_or_else(|_| panic!("non-JSON body ({status}): {text}"))
        };
        Reply { status, body }
    }

    pub async fn get(&self, path: &str) -> Reply {
        self.request(Method::GET, path, None, &[]).await
    }

    pub async fn post<T: Serialize>(&self, path: &str, body: &T) -> Reply {
        let v = serde_json::to_value(body).expect("serialisable");
        self.request(Method::POST, path, Some(&v), &[]).await
    }

    pub async fn put<T: Serialize>(&self, path: &str, body: &T) -> Reply {
        let v = serde_json::to_value(body).expect("serialisable");
        self.request(Method::PUT, path, Some(&v), &[]).await
    }

    /// Intake; panics unless the server answers 200 or 201.
    pub async fn push(&self, lead: &LeadIntake) -> IntakeResponse {
        let r = self.post("/v1/leads", lead).await;
        assert!(
            r.status == StatusCode::CREATED || r.status == StatusCode::OK,
            "intake refused: {r:?}"
        );
        r.json()
    }

    pub async fn feedback(&self, lead: LeadId, body: Value, key: &str) -> Reply {
        self.request(
            Method::POST,
            &format!("/v1/leads/{lead}/feedback"),
            Some(&body),
            &[("Idempotency-Key", key)],
        )
        .await
    }

    pub async fn accept(&self, lead: LeadId) -> Reply {
        self.feedback(lead, json!({"decision": "accept"}), &unique_key())
            .await
    }

    pub async fn reject(&self, lead: LeadId, reason: &str, note: Option<&str>) -> Reply {
        self.feedback(
            lead,
            json!({"decision": "reject", "reason": reason, "note": note}),
            &unique_key(),
        )
        .await
    }

    pub async fn sync_page(&self, cursor: &str, limit: u32) -> SyncPage {
        let r = self
            .get(&format!("/v1/sync?cursor={cursor}&limit={limit}"))
            .await;
        assert_eq!(r.status, StatusCode::OK, "{r:?}");
        r.json()
    }

    /// Reads the whole feed after `cursor`; returns the entries and the new cursor.
    pub async fn sync_all(&self, cursor: &str) -> (Vec<FeedEntry>, String) {
        let mut cursor = cursor.to_string();
        let mut all = Vec::new();
        loop {
            let page = self.sync_page(&cursor, 100).await;
            all.extend(page.changes);
            cursor = page.next_cursor.0;
            if !page.has_more {
                return (all, cursor);
            }
        }
    }

    pub async fn me(&self) -> Me {
        let r = self.get("/v1/me").await;
        assert_eq!(r.status, StatusCode::OK, "{r:?}");
        r.json()
    }

    pub async fn set_availability(&self, availability: Availability) -> Rep {
        let r = self
            .put("/v1/me/availability", &AvailabilityUpdate { availability })
            .await;
        assert_eq!(r.status, StatusCode::OK, "{r:?}");
        r.json()
    }

    pub async fn lead(&self, id: LeadId) -> Reply {
        self.get(&format!("/v1/leads/{id}")).await
    }

    pub async fn history(&self, id: LeadId) -> LeadHistory {
        let r = self.get(&format!("/v1/leads/{id}/history")).await;
        assert_eq!(r.status, StatusCode::OK, "{r:?}");
        r.json()
    }

    /// Opens the live stream, optionally resuming after `last_event_id`.
    pub async fn stream(&self, last_event_id: Option<&str>) -> EventStream {
        let mut req = self
            .http
            .get(format!("{}/v1/stream", self.base))
            .bearer_auth(&self.token)
            .timeout(Duration::from_secs(3600));
        if let Some(id) = last_event_id {
            req = req.header("Last-Event-ID", id);
        }
        let resp = req.send().await.expect("stream opened");
        assert_eq!(resp.status(), StatusCode::OK);
        EventStream {
            body: Box::pin(resp.bytes_stream()),
            buf: String::new(),
        }
    }
}

static KEY_COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// A fresh idempotency key.
pub fn unique_key() -> String {
    let n = KEY_COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    format!("k-{}-{n}-{}", std::process::id(), Timestamp::now().millis())
}

/// One server-sent event, or a comment line (`event == "comment"`).
#[derive(Clone, Debug, PartialEq)]
pub struct SseEvent {
    pub id: Option<String>,
    pub event: String,
    pub data: String,
}

impl SseEvent {
    pub fn entry(&self) -> FeedEntry {
        serde_json::from_str(&self.data).expect("change event carries a feed entry")
    }
}

type ByteStream =
    std::pin::Pin<Box<dyn futures_util::Stream<Item = reqwest::Result<bytes::Bytes>> + Send>>;

/// A live SSE connection.
pub struct EventStream {
    body: ByteStream,
    buf: String,
}

impl EventStream {
    /// The next event or comment, or `None` if none arrives within `within`.
    pub async fn next(&mut self, within: Duration) -> Option<SseEvent> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            if let Some(pos) = self.buf.find("\n\n") {
                let block: String = self.buf.drain(..pos + 2).collect();
                let mut ev = SseEvent {
                    id: None,
                    event: "message".into(),
                    data: String::new(),
                };
                let mut comment = None;
                for line in block.lines() {
                    if let Some(c) = line.strip_prefix(':') {
                        comment = Some(c.trim().to_string());
                    } else if let Some((k, v)) = line.split_once(':') {
                        let v = v.strip_prefix(' ').unwrap_or(v);
                        match k {
                            "id" => ev.id = Some(v.to_string()),
                            "event" => ev.event = v.to_string(),
                            "data" => {
                                if !ev.data.is_empty() {
                                    ev.data.push('\n');
                                }
                                ev.data.push_str(v);
                            }
                            _ => {}
                        }
                    }
                }
                if let Some(c) = comment.filter(|_| ev.data.is_empty()) {
                    return Some(SseEvent {
                        id: None,
                        event: "comment".into(),
                        data: c,
                    });
                }
                return Some(ev);
            }
            let chunk = tokio::time::timeout_at(deadline, self.body.next()).await;
            match chunk {
                Ok(Some(Ok(bytes))) => self.buf.push_str(&String::from_utf8_lossy(&bytes)),
                _ => return None,
            }
        }
    }

    /// Whether the server ends the stream within `within` (events before the
    /// end are skipped).
    pub async fn ends_within(&mut self, within: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            match tokio::time::timeout_at(deadline, self.body.next()).await {
                Ok(Some(Ok(_))) => continue,
                Ok(None) | Ok(Some(Err(_))) => return true,
                Err(_) => return false,
            }
        }
    }

    /// The next `change` event, skipping heartbeats and other events.
    pub async fn next_change(&mut self, within: Duration) -> Option<SseEvent> {
        let deadline = Instant::now() + within;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let ev = self.next(left).await?;
            if ev.event == "change" {
                return Some(ev);
            }
        }
    }
}

/// A benchmark knob: the environment variable `name` if set and valid, else
/// `default`.
pub fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The `p` quantile (0..=1) of sorted figures, by the nearest rank.
pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// A `[limits]` table lifting the intake key's rate limit, for benchmarks
/// whose set-up pushes a backlog as fast as the server routes it.
pub const UNLIMITED_INTAKE: &str =
    "[limits]\nintake_per_second = 1000000\nintake_burst = 1000000\n";

/// Pushes `count` leads (`bench-0`…, named "Bench Lead N", scores 60-99)
/// through `intake` over 32 connections; each must be assigned. Returns how
/// long it took.
pub async fn push_backlog(intake: &Client, count: usize) -> Duration {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    let started = Instant::now();
    let http = reqwest::Client::new();
    let url = format!("{}/v1/leads", intake.base);
    let next = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for _ in 0..32 {
        let (http, url, token, next) = (
            http.clone(),
            url.clone(),
            intake.token.clone(),
            next.clone(),
        );
        tasks.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= count {
                    return;
                }
                let mut l = lead(&format!("bench-{i}"));
                l.contact.name = format!("Bench Lead {i}");
                l.score.value = 60 + (i % 40) as u32;
                let r = http
                    .post(&url)
                    .bearer_auth(&token)
                    .json(&l)
                    .send()
                    .await
                    .expect("intake");
                assert!(r.status().is_success(), "intake refused: {}", r.status());
                let r: IntakeResponse = r.json().await.expect("intake JSON");
                assert_eq!(r.lead.status, LeadStatus::Assigned);
            }
        }));
    }
    for t in tasks {
        t.await.expect("a backlog task");
    }
    started.elapsed()
}

/// A valid lead that qualifies (score 80) unless changed.
pub fn lead(external_id: &str) -> LeadIntake {
    LeadIntake {
        external_id: external_id.into(),
        source: Source {
            channel: "webinar".into(),
            campaign: Some("speed-to-lead".into()),
            utm_source: Some("zoom".into()),
            ..Default::default()
        },
        contact: Contact {
            name: format!("Lead {external_id}"),
            email: Some(format!("{external_id}@leads.test")),
            company: Some("Acme GmbH".into()),
            title: Some("VP Sales".into()),
            phone: None,
            country: Some("DE".into()),
            company_size: Some(250),
        },
        score: Score {
            value: 80,
            breakdown: vec![
                ScoreItem {
                    criterion: "Quiz".into(),
                    points: 50,
                },
                ScoreItem {
                    criterion: "Pricing page".into(),
                    points: 30,
                },
            ],
        },
        quiz: vec![QuizAnswer {
            question: "When do you want a solution in place?".into(),
            answer: "This quarter".into(),
            points: Some(12),
        }],
        behaviours: vec![Behaviour {
            kind: "page_view".into(),
            // Fixed, so that pushing the same lead twice sends the same payload.
            at: "2026-11-01T09:30:00Z".parse().expect("timestamp"),
            detail: Some("pricing".into()),
        }],
        intent: Intent {
            need: Some("Faster follow-up".into()),
            timeline: Some("This quarter".into()),
            budget: None,
        },
    }
}

/// Polls `check` until it returns `Some`, or panics after `within`.
pub async fn eventually<T, F, Fut>(within: Duration, what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + within;
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for: {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Leads assigned to the rep in these feed entries, in order.
pub fn assigned_ids(entries: &[FeedEntry]) -> Vec<LeadId> {
    entries
        .iter()
        .filter_map(|e| match &e.change {
            Change::LeadAssigned { lead } => Some(lead.id),
            _ => None,
        })
        .collect()
}

/// A `baton` CLI profile in a temporary data directory.
pub struct Baton {
    pub dir: tempfile::TempDir,
}

impl Default for Baton {
    fn default() -> Self {
        Self::new()
    }
}

impl Baton {
    pub fn new() -> Baton {
        Baton {
            dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(binary("baton"));
        cmd.args(args)
            .env("BATON_DATA_DIR", self.dir.path())
            // No session bus: the keychain falls back to a 0600 file.
            .env_remove("DBUS_SESSION_BUS_ADDRESS")
            .stdin(Stdio::null());
        cmd
    }

    /// Runs a command; returns (success, stdout, stderr).
    pub fn run(&self, args: &[&str]) -> (bool, String, String) {
        let out = self.command(args).output().expect("run baton");
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    /// Runs a command that must succeed; returns its stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let (ok, out, err) = self.run(args);
        assert!(ok, "baton {args:?} failed:\n{out}\n{err}");
        out
    }

    pub fn json(&self, args: &[&str]) -> Value {
        let mut all = args.to_vec();
        all.push("--json");
        let out = self.ok(&all);
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("baton {args:?} --json: {e}: {out}"))
    }

    pub fn login(&self, server: &Server, rep: &Client) {
        self.ok(&["login", "--server", &server.base, "--token", &rep.token]);
    }

    /// Lead ids in the inbox with this status filter (`new`, `all`, …).
    pub fn inbox_ids(&self, status: &str) -> Vec<LeadId> {
        let v = self.json(&["inbox", "--status", status, "--limit", "100000"]);
        v.as_array()
            .expect("array")
            .iter()
            .map(|l| l["id"].as_i64().expect("id"))
            .collect()
    }
}

/// Benchmarks' intake load: `leads` new leads (`tp-0`, `tp-1`, …) pushed
/// over `concurrency` keep-alive connections, request `i` to `urls[i % n]`
/// (several instances take turns). Asserts that every one was routed to a
/// rep; returns how long it took.
pub async fn push_new_leads(
    http: &reqwest::Client,
    urls: &[String],
    token: &str,
    leads: usize,
    concurrency: usize,
) -> Duration {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    let urls: Arc<Vec<String>> = Arc::new(urls.to_vec());
    let bodies: Arc<Vec<Vec<u8>>> = Arc::new(
        (0..leads)
            .map(|i| {
                // One of 2,000 companies, so account matching both finds
                // an account (a rep already holds one of its leads) and
                // falls through to round robin.
                let mut l = lead(&format!("tp-{i}"));
                let account = i % 2_000;
                l.contact.email = Some(format!("tp-{i}@account-{account}.test"));
                l.contact.company = Some(format!("Account {account} GmbH"));
                serde_json::to_vec(&l).expect("serialisable")
            })
            .collect(),
    );
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let (http, urls, token, bodies, next) = (
            http.clone(),
            urls.clone(),
            token.to_string(),
            bodies.clone(),
            next.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let mut assigned = 0usize;
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= bodies.len() {
                    return assigned;
                }
                let r = http
                    .post(&urls[i % urls.len()])
                    .bearer_auth(&token)
                    .header("content-type", "application/json")
                    .body(bodies[i].clone())
                    .send()
                    .await
                    .expect("intake");
                assert!(r.status().is_success(), "intake failed: {}", r.status());
                let resp: baton_protocol::IntakeResponse = r.json().await.expect("intake answer");
                if resp.lead.status == baton_protocol::LeadStatus::Assigned {
                    assigned += 1;
                }
            }
        }));
    }
    let mut assigned = 0;
    for t in tasks {
        assigned += t.await.expect("intake task");
    }
    let elapsed = started.elapsed();
    assert_eq!(assigned, leads, "every lead was routed to a rep");
    elapsed
}

/// The routing config of the intake benchmarks: every limit on but the
/// intake key's rate; `latency_probe` leads go to the `probe` team, whose
/// one rep's stream times them; `flood` holds streams that only add load.
/// `sales` routes with everything on: account matching, a business-hours
/// SLA and reminders (its reps get [`bench_shift`] schedules).
pub const BENCH_CONFIG: &str = r#"
qualification_threshold = 50
[[teams]]
name = "sales"
account_matching = true
sla_business_hours = true
remind_at_percent = 50
[[teams]]
name = "probe"
[[teams]]
name = "flood"
[[rules]]
name = "latency-probe"
team = "probe"
when = [{ field = "source.channel", in = ["latency_probe"] }]
[limits]
intake_per_second = 1000000
intake_burst = 1000000
"#;

/// Gives the benchmark rep `i` working hours, so routing checks shifts
/// for every candidate: each day in full, in one of three time zones, with
/// a week away next year (so absences are checked too), leaving every rep
/// on shift whenever the bench runs.
pub async fn bench_shift(rep: &Client, i: usize) {
    let zones = ["Europe/Berlin", "America/New_York", "Asia/Tokyo"];
    let days = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
    let hours: Vec<_> = days
        .iter()
        .map(|d| serde_json::json!({ "day": d, "start": "00:00", "end": "24:00" }))
        .collect();
    let year = next_year();
    let week = serde_json::json!({
        "time_zone": zones[i % zones.len()],
        "hours": hours,
        "absences": [{ "from": format!("{year}-08-03"), "to": format!("{year}-08-09"), "note": "Summer" }],
    });
    let r = rep.put("/v1/me/schedule", &week).await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
}

/// Next calendar year, from the system clock (UTC).
fn next_year() -> u64 {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs();
    // Average Gregorian year; off by at most a day near New Year, which
    // does not matter for an absence in August.
    1970 + secs / 31_556_952 + 1
}

/// Sends probe leads one at a time and times each from sending the intake
/// request to its SSE event arriving on `stream`.
pub struct Probe<'a> {
    pub http: &'a reqwest::Client,
    pub url: &'a str,
    pub token: &'a str,
}

impl Probe<'_> {
    /// `n` probes (`TAG-0`, …), in milliseconds, sorted.
    pub async fn latencies(&self, stream: &mut EventStream, tag: &str, n: usize) -> Vec<f64> {
        let mut ms = Vec::with_capacity(n);
        for i in 0..n {
            let mut l = lead(&format!("{tag}-{i}"));
            l.source.channel = "latency_probe".into();
            let body = serde_json::to_vec(&l).expect("serialisable");
            let sent = Instant::now();
            let req = self
                .http
                .post(self.url)
                .bearer_auth(self.token)
                .header("content-type", "application/json")
                .body(body)
                .send();
            let (resp, ev) = tokio::join!(req, stream.next_change(Duration::from_secs(5)));
            let received = sent.elapsed();
            assert!(resp.expect("probe intake").status().is_success());
            ev.expect("event for the probe lead");
            ms.push(received.as_secs_f64() * 1000.0);
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        ms.sort_by(f64::total_cmp);
        ms
    }
}
