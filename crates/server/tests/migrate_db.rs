//! `baton-server migrate-db`: a demo team's SQLite database, with weeks of
//! history made by the real `baton-server demo`, copied by the real binary
//! into a private PostgreSQL database (the test harness's), then compared
//! with its source table by table and row by row.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use baton_server::auth::token_hash;
use baton_server::migrate_db::SQLITE_SCHEMA;
use baton_server::store::postgres::{PgUrl, connect};
use baton_tests::postgres::Postgres;
use tokio_postgres::types::Type;

const BIN: &str = env!("CARGO_BIN_EXE_baton-server");

/// A team's database as `baton-server demo` left it, and the tokens it
/// printed: (role, token).
struct Team {
    path: PathBuf,
    tokens: Vec<(String, String)>,
}

/// Runs the demo on a new file — 35 days of handoffs replayed through the
/// real router, a backlog, an intake key, a manager and the reps — and
/// stops it with SIGTERM, as an operator stops a server before moving it.
/// Then, through the real admin command, one rep token is revoked; and,
/// since the demo leaves no such rows, one rep is marked away and a fact
/// is put in `storage_meta`, so those columns are copied too.
fn demo_team(dir: &Path) -> Team {
    let path = dir.join("team.db");
    let log = dir.join("demo.log");
    let mut demo = Command::new(BIN)
        .args(["demo", "--addr", "127.0.0.1:0", "--seed", "11"])
        .args(["--rate", "0", "--backlog", "5", "--sla-secs", "1800"])
        .args(["--history-days", "35"])
        .arg("--db")
        .arg(&path)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(demo.stdout.take().unwrap());
    let (mut tokens, mut addr) = (Vec::new(), String::new());
    // server, intake, manager, then one line per rep.
    for _ in 0..3 + baton_server::demo::REPS.len() {
        let mut line = String::new();
        if out.read_line(&mut line).unwrap() == 0 {
            panic!(
                "the demo ended early; its log:\n{}",
                std::fs::read_to_string(&log).unwrap_or_default()
            );
        }
        let fields: Vec<&str> = line.trim_end().split('\t').collect();
        match fields[0] {
            "server" => addr = fields[2].trim_start_matches("http://").to_string(),
            role => tokens.push((role.to_string(), fields[2].to_string())),
        }
    }
    // Once it answers, it is serving, and a SIGTERM stops it gracefully.
    let mut health = std::net::TcpStream::connect(&addr).unwrap();
    std::io::Write::write_all(
        &mut health,
        b"GET /healthz HTTP/1.1\r\nHost: baton\r\nConnection: close\r\n\r\n",
    )
    .unwrap();
    let mut answer = String::new();
    std::io::Read::read_to_string(&mut health, &mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    // SAFETY: signals our own child, not yet reaped.
    unsafe { libc::kill(demo.id() as libc::pid_t, libc::SIGTERM) };
    let status = demo.wait().unwrap();
    assert!(
        status.success(),
        "the demo did not stop cleanly ({status}); its log:\n{}",
        std::fs::read_to_string(&log).unwrap_or_default()
    );

    let revoked = &tokens.iter().rfind(|(role, _)| role == "rep").unwrap().1;
    let mut revoke = Command::new(BIN)
        .args(["token", "revoke", "--db"])
        .arg(&path)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    std::io::Write::write_all(&mut revoke.stdin.take().unwrap(), revoked.as_bytes()).unwrap();
    assert!(revoke.wait().unwrap().success());

    let c = rusqlite::Connection::open(&path).unwrap();
    c.execute_batch(
        "UPDATE reps SET available = 0 WHERE id = (SELECT MIN(id) FROM reps);
         INSERT INTO storage_meta (key, value) VALUES ('copied_as_is', 'yes');",
    )
    .unwrap();
    Team { path, tokens }
}

/// `baton-server demo` started again on a team's database (`--db` a file
/// or a URL): it replays nothing into a database that has leads, and adds
/// nothing at `--rate 0 --backlog 0`, so it serves the team's data as it is.
/// Returns the running server and a manager's client (the demo issues a
/// new manager token at each start).
fn serve_team(db: &std::ffi::OsStr, dir: &Path) -> (std::process::Child, baton_tests::Client) {
    let log = dir.join("serve.log");
    let mut child = Command::new(BIN)
        .args(["demo", "--addr", "127.0.0.1:0", "--seed", "11"])
        .args(["--rate", "0", "--backlog", "0", "--sla-secs", "1800"])
        .args(["--history-days", "35"])
        .arg("--db")
        .arg(db)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let (mut base, mut manager) = (String::new(), String::new());
    // Every line it prints (server, intake, manager, the reps) is read
    // before the pipe closes, or its last writes would fail.
    for _ in 0..3 + baton_server::demo::REPS.len() {
        let mut line = String::new();
        if out.read_line(&mut line).unwrap() == 0 {
            panic!(
                "the server ended early; its log:\n{}",
                std::fs::read_to_string(&log).unwrap_or_default()
            );
        }
        let fields: Vec<&str> = line.trim_end().split('\t').collect();
        match fields[0] {
            "server" => base = fields[2].to_string(),
            "manager" => manager = fields[2].to_string(),
            _ => {}
        }
    }
    (child, baton_tests::Client::new(&base, &manager))
}

fn stop(mut child: std::process::Child) {
    // SAFETY: signals our own child, not yet reaped.
    unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGTERM) };
    assert!(
        child.wait().unwrap().success(),
        "the server did not stop cleanly"
    );
}

/// The reports a manager reads over the demo's five weeks (a fixed window,
/// so that both servers are asked the same question).
async fn reports(manager: &baton_tests::Client, window: &str) -> Vec<serde_json::Value> {
    let mut out = Vec::new();
    for path in [
        format!("/v1/reports/handoff?{window}&limit=10000"),
        format!("/v1/reports/handoff?{window}&team=emea"),
        format!("/v1/reports/calibration?{window}&target=0.6"),
    ] {
        let r = manager.get(&path).await;
        assert_eq!(r.status, 200, "{path}: {:?}", r.body);
        out.push(r.body);
    }
    out
}

/// Where two JSON values first differ, and how.
fn first_difference(a: &serde_json::Value, b: &serde_json::Value, at: &str) -> Option<String> {
    use serde_json::Value as J;
    match (a, b) {
        (J::Object(x), J::Object(y)) => {
            for (k, v) in x {
                let path = format!("{at}.{k}");
                match y.get(k) {
                    Some(w) => {
                        if let Some(d) = first_difference(v, w, &path) {
                            return Some(d);
                        }
                    }
                    None => return Some(format!("{path}: missing after")),
                }
            }
            y.keys()
                .find(|k| !x.contains_key(*k))
                .map(|k| format!("{at}.{k}: only after"))
        }
        (J::Array(x), J::Array(y)) if x.len() == y.len() => x
            .iter()
            .zip(y)
            .enumerate()
            .find_map(|(i, (v, w))| first_difference(v, w, &format!("{at}[{i}]"))),
        _ if a == b => None,
        _ => Some(format!("{at}: {a} before, {b} after")),
    }
}

fn migrate_db(from: &Path, to: &str) -> Output {
    Command::new(BIN)
        .args(["migrate-db", "--from"])
        .arg(from)
        .args(["--to", to])
        .env_remove("PGPASSWORD")
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A value either database holds, compared across the two: PostgreSQL's
/// booleans as SQLite's 0 and 1, JSON with its keys sorted (JSONB keeps no
/// key order or spacing).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Value {
    Null,
    Int(i64),
    Text(String),
    Bytes(Vec<u8>),
}

fn canonical_json(text: &str) -> Value {
    fn sorted(v: serde_json::Value) -> serde_json::Value {
        match v {
            serde_json::Value::Object(map) => {
                let map: BTreeMap<String, serde_json::Value> =
                    map.into_iter().map(|(k, v)| (k, sorted(v))).collect();
                serde_json::Value::Object(map.into_iter().collect())
            }
            serde_json::Value::Array(items) => {
                serde_json::Value::Array(items.into_iter().map(sorted).collect())
            }
            other => other,
        }
    }
    let v: serde_json::Value = serde_json::from_str(text).expect("stored JSON parses");
    Value::Text(sorted(v).to_string())
}

/// A PostgreSQL table's columns: (name, type), in its order.
async fn pg_columns(pg: &tokio_postgres::Client, table: &str) -> Vec<(String, Type)> {
    let stmt = pg
        .prepare(&format!("SELECT * FROM {table} LIMIT 0"))
        .await
        .unwrap();
    stmt.columns()
        .iter()
        .map(|c| (c.name().to_string(), c.type_().clone()))
        .collect()
}

async fn pg_rows(
    pg: &tokio_postgres::Client,
    table: &str,
    columns: &[(String, Type)],
) -> Vec<Vec<Value>> {
    let select: Vec<String> = columns
        .iter()
        .map(|(name, ty)| match *ty {
            Type::JSONB => format!("{name}::text"),
            _ => name.clone(),
        })
        .collect();
    let rows = pg
        .query(&format!("SELECT {} FROM {table}", select.join(", ")), &[])
        .await
        .unwrap();
    let mut out: Vec<Vec<Value>> = rows
        .iter()
        .map(|r| {
            columns
                .iter()
                .enumerate()
                .map(|(i, (name, ty))| match *ty {
                    Type::INT8 => r.get::<_, Option<i64>>(i).map(Value::Int),
                    Type::BOOL => r.get::<_, Option<bool>>(i).map(|b| Value::Int(b.into())),
                    Type::TEXT => r.get::<_, Option<String>>(i).map(Value::Text),
                    Type::BYTEA => r.get::<_, Option<Vec<u8>>>(i).map(Value::Bytes),
                    Type::JSONB => r.get::<_, Option<String>>(i).map(|t| canonical_json(&t)),
                    _ => panic!("{table}.{name}: a type this test does not compare: {ty}"),
                })
                .map(|v| v.unwrap_or(Value::Null))
                .collect()
        })
        .collect();
    out.sort();
    out
}

fn sqlite_rows(
    db: &rusqlite::Connection,
    table: &str,
    columns: &[(String, Type)],
) -> Vec<Vec<Value>> {
    let names: Vec<&str> = columns.iter().map(|(n, _)| n.as_str()).collect();
    let mut stmt = db
        .prepare(&format!("SELECT {} FROM {table}", names.join(", ")))
        .unwrap();
    let mut out: Vec<Vec<Value>> = stmt
        .query_map([], |r| {
            columns
                .iter()
                .enumerate()
                .map(|(i, (_, ty))| {
                    Ok(match (r.get_ref(i)?, ty) {
                        (rusqlite::types::ValueRef::Null, _) => Value::Null,
                        (rusqlite::types::ValueRef::Integer(v), _) => Value::Int(v),
                        (rusqlite::types::ValueRef::Text(t), &Type::JSONB) => {
                            canonical_json(std::str::from_utf8(t).unwrap())
                        }
                        (rusqlite::types::ValueRef::Text(t), _) => {
                            Value::Text(String::from_utf8(t.to_vec()).unwrap())
                        }
                        (rusqlite::types::ValueRef::Blob(b), _) => Value::Bytes(b.to_vec()),
                        (rusqlite::types::ValueRef::Real(f), _) => panic!("{table}: a REAL {f}"),
                    })
                })
                .collect()
        })
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap();
    out.sort();
    out
}

/// Asserts that PostgreSQL holds exactly the SQLite file's tables, columns
/// and rows (but for its own `schema_migrations` and `feed_heads`), and
/// returns the rows per table.
async fn assert_same_rows(source: &Path, pg: &tokio_postgres::Client) -> BTreeMap<String, usize> {
    let db =
        rusqlite::Connection::open_with_flags(source, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .unwrap();
    let mut sqlite_tables: Vec<String> = db
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap();
    sqlite_tables.sort();
    let mut pg_tables: Vec<String> = pg
        .query(
            "SELECT table_name::text FROM information_schema.tables WHERE table_schema = 'public' \
             AND table_name NOT IN ('schema_migrations', 'feed_heads', 'write_epoch')",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    pg_tables.sort();
    assert_eq!(sqlite_tables, pg_tables, "the same tables on both sides");

    let mut counts = BTreeMap::new();
    for table in &sqlite_tables {
        let columns = pg_columns(pg, table).await;
        let mut in_sqlite: Vec<String> = db
            .prepare("SELECT name FROM pragma_table_info(?1)")
            .unwrap()
            .query_map([table], |r| r.get(0))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        in_sqlite.sort();
        let mut in_pg: Vec<String> = columns.iter().map(|(n, _)| n.clone()).collect();
        in_pg.sort();
        assert_eq!(in_sqlite, in_pg, "the columns of {table}");

        let expected = sqlite_rows(&db, table, &columns);
        let copied = pg_rows(pg, table, &columns).await;
        assert_eq!(expected.len(), copied.len(), "rows of {table}");
        if let Some((want, got)) = expected.iter().zip(&copied).find(|(a, b)| a != b) {
            panic!("{table} differs:\nSQLite:     {want:?}\nPostgreSQL: {got:?}");
        }
        counts.insert(table.clone(), expected.len());
    }
    counts
}

#[tokio::test]
async fn a_demo_team_moves_to_postgres_whole_and_a_second_copy_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let team = demo_team(dir.path());
    let pg_db = Postgres::shared().database();
    // What the team's managers read before the move.
    let now = baton_protocol::Timestamp::now();
    let window = format!(
        "from={}&to={}",
        baton_protocol::Timestamp(now.millis() - 40 * 86_400_000).to_rfc3339(),
        now.to_rfc3339()
    )
    .replace('+', "%2B");
    let (server, manager) = serve_team(team.path.as_os_str(), dir.path());
    let mut before = reports(&manager, &window).await;
    stop(server);

    let run = migrate_db(&team.path, pg_db.url());
    assert!(
        run.status.success(),
        "migrate-db failed: {}{}",
        text(&run.stdout),
        text(&run.stderr)
    );
    let summary = text(&run.stdout);
    assert!(
        summary.contains("copied ") && summary.contains(" s\n"),
        "{summary}"
    );

    let pg = connect(&PgUrl::parse(pg_db.url()).unwrap()).await.unwrap();
    let counts = assert_same_rows(&team.path, &pg).await;
    for table in [
        "teams",
        "reps",
        "managers",
        "tokens",
        "leads",
        "assignments",
        "decisions",
        "idempotency",
        "feed",
        "lead_events",
        "report_offers",
        "report_reasons",
        "report_scores",
        "report_lead_scores",
        "report_offers_monthly",
        "report_reasons_monthly",
        "report_scores_monthly",
        "report_lead_scores_monthly",
        "storage_meta",
    ] {
        assert!(counts[table] > 0, "the demo left {table} empty: {counts:?}");
        // The summary names each table with its rows.
        assert!(
            summary
                .lines()
                .any(|l| l.split_whitespace().eq([table, &counts[table].to_string()])),
            "{table} in the summary:\n{summary}"
        );
    }
    assert!(counts["decisions"] > 500, "weeks of history: {counts:?}");

    // The same tokens still sign in: each one's hash is there, with its
    // role, and the revoked one stays revoked.
    let revoked = &team.tokens.iter().rfind(|(r, _)| r == "rep").unwrap().1;
    for (role, token) in &team.tokens {
        let row = pg
            .query_one(
                "SELECT role, revoked_at IS NOT NULL FROM tokens WHERE hash = $1",
                &[&token_hash(token)],
            )
            .await
            .unwrap();
        let role = match role.as_str() {
            "intake" | "manager" | "rep" => role.as_str(),
            other => panic!("unexpected role {other}"),
        };
        assert_eq!(row.get::<_, String>(0), role);
        assert_eq!(row.get::<_, bool>(1), token == revoked, "{role} token");
    }
    assert_eq!(
        pg_db.psql("SELECT count(*) FROM reps WHERE NOT available"),
        "1",
        "the away rep is away"
    );

    // Each rep's feed head is the rep's newest entry.
    let db = rusqlite::Connection::open(&team.path).unwrap();
    let heads: Vec<String> = db
        .prepare("SELECT rep_id || '|' || MAX(seq) FROM feed GROUP BY rep_id ORDER BY rep_id")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap();
    assert!(!heads.is_empty());
    assert_eq!(
        pg_db.psql("SELECT rep_id || '|' || seq FROM feed_heads ORDER BY rep_id"),
        heads.join("\n")
    );

    // Again, into the now filled database: refused, and nothing changes.
    let again = migrate_db(&team.path, pg_db.url());
    assert!(!again.status.success(), "a second copy must be refused");
    let said = text(&again.stderr);
    assert!(
        said.contains("is not empty")
            && said.contains("leads")
            && said.contains("nothing was copied"),
        "{said}"
    );
    assert!(text(&again.stdout).is_empty(), "{}", text(&again.stdout));
    assert_same_rows(&team.path, &pg).await;

    // Served from PostgreSQL, the same five weeks read the same, figure
    // for figure, and the team's old tokens sign in (the revoked one not).
    let (server, manager) = serve_team(std::ffi::OsStr::new(pg_db.url()), dir.path());
    let mut after = reports(&manager, &window).await;
    for (b, a) in before.iter_mut().zip(&mut after) {
        // A lead still waiting in the queue has waited until the moment of
        // asking, which moved on between the two servers.
        for report in [&mut *b, &mut *a] {
            for row in report["queue_waits"].as_array_mut().into_iter().flatten() {
                if row["waiting"].as_u64() > Some(0) {
                    row["longest_wait_seconds"] = serde_json::Value::Null;
                }
            }
        }
        if let Some(at) = first_difference(b, a, "") {
            panic!("the reports differ before and after the move at {at}");
        }
    }
    assert!(
        before[0]["totals"]["assigned"].as_u64().unwrap() > 500,
        "{}",
        before[0]["totals"]
    );
    let base = manager.base.clone();
    for (role, token) in &team.tokens {
        let me = baton_tests::Client::new(&base, token).get("/v1/me").await;
        let expected = if token == revoked { 401 } else { 200 };
        assert_eq!(me.status, expected, "{role} token after the move");
    }
    stop(server);

    // New rows get ids above the copied ones, in every table with ids.
    let identities = pg
        .query(
            "SELECT table_name::text, column_name::text FROM information_schema.columns \
             WHERE table_schema = 'public' AND is_identity = 'YES'",
            &[],
        )
        .await
        .unwrap();
    assert!(identities.len() >= 7, "{identities:?}");
    for row in identities {
        let (table, column): (String, String) = (row.get(0), row.get(1));
        let max: i64 = db
            .query_row(
                &format!("SELECT COALESCE(MAX({column}), 0) FROM {table}"),
                [],
                |r| r.get(0),
            )
            .unwrap();
        let next: i64 = pg_db
            .psql(&format!(
                "SELECT nextval(pg_get_serial_sequence('{table}', '{column}'))"
            ))
            .parse()
            .unwrap();
        assert!(
            next > max,
            "{table}.{column}: next {next}, copied up to {max}"
        );
    }
    let max_lead: i64 = db
        .query_row("SELECT MAX(id) FROM leads", [], |r| r.get(0))
        .unwrap();
    let new_lead: i64 = pg_db
        .psql(
            "INSERT INTO leads (external_id, status, payload, payload_hash, score, channel, version, created_at, updated_at) \
             VALUES ('after-the-move', 'nurture', '{}', '\\x00', 10, 'web', 1, 0, 0) RETURNING id",
        )
        .lines()
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!(new_lead > max_lead, "new lead {new_lead} after {max_lead}");
}

/// A database as a baton-server of schema `version` left it, with a team
/// and a rep.
fn old_database(path: &Path, version: usize) {
    let migrations = [
        include_str!("../migrations/0001_init.sql"),
        include_str!("../migrations/0002_report_rollups.sql"),
        include_str!("../migrations/0003_monthly_rollups.sql"),
        include_str!("../migrations/0004_exposure_bounds.sql"),
        include_str!("../migrations/0005_storage_meta.sql"),
        include_str!("../migrations/0006_intake_receipts.sql"),
        include_str!("../migrations/0007_outbound_events.sql"),
        include_str!("../migrations/0008_agreement_and_shifts.sql"),
    ];
    let c = rusqlite::Connection::open(path).unwrap();
    for sql in &migrations[..version] {
        c.execute_batch(sql).unwrap();
    }
    c.execute_batch(
        "INSERT INTO teams (name, sla_seconds) VALUES ('sales', 3600);
         INSERT INTO reps (id, name, email, team, weight, max_open, created_at)
             VALUES (7, 'Ava Rossi', 'ava@example.com', 'sales', 1, 20, 0);",
    )
    .unwrap();
    c.pragma_update(None, "user_version", version as i64)
        .unwrap();
}

#[tokio::test]
async fn a_file_of_an_older_schema_is_migrated_first_then_copied() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("old.db");
    old_database(&path, 4);
    let pg_db = Postgres::shared().database();
    let run = migrate_db(&path, pg_db.url());
    assert!(run.status.success(), "{}", text(&run.stderr));
    assert!(
        text(&run.stdout).contains("first migrated from schema version 4"),
        "{}",
        text(&run.stdout)
    );
    let version: i64 = rusqlite::Connection::open(&path)
        .unwrap()
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(
        version, SQLITE_SCHEMA,
        "migrate_db::SQLITE_SCHEMA must name the newest SQLite migration"
    );
    assert_eq!(
        pg_db.psql("SELECT id, email, available FROM reps"),
        "7|ava@example.com|t"
    );
}

#[tokio::test]
async fn teams_a_server_wrote_first_do_not_make_the_target_non_empty() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("team.db");
    old_database(&path, SQLITE_SCHEMA as usize);
    let pg_db = Postgres::shared().database();
    // As `serve` on the new database would leave it: schema, and its teams.
    let mut pg = connect(&PgUrl::parse(pg_db.url()).unwrap()).await.unwrap();
    baton_server::store::postgres::migrate(&mut pg)
        .await
        .unwrap();
    pg_db.psql("INSERT INTO teams (name, sla_seconds) VALUES ('sales', 60), ('emea', 60)");
    let run = migrate_db(&path, pg_db.url());
    assert!(run.status.success(), "{}", text(&run.stderr));
    assert_eq!(
        pg_db.psql("SELECT name, sla_seconds FROM teams ORDER BY name"),
        "emea|60\nsales|3600",
        "the copied team replaces the target's"
    );
}

#[tokio::test]
async fn a_copy_that_fails_midway_leaves_the_target_empty() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("team.db");
    old_database(&path, SQLITE_SCHEMA as usize);
    // A lead PostgreSQL refuses (a NUL character in its text), copied
    // after the team and the rep.
    rusqlite::Connection::open(&path)
        .unwrap()
        .execute_batch(
            "INSERT INTO leads (id, external_id, status, payload, payload_hash, score, channel, version, created_at, updated_at)
                 VALUES (1, CAST(x'6e756c00' AS TEXT), 'nurture', '{}', x'00', 10, 'web', 1, 0, 0);",
        )
        .unwrap();
    let pg_db = Postgres::shared().database();
    let run = migrate_db(&path, pg_db.url());
    assert!(!run.status.success());
    let err = text(&run.stderr);
    assert!(err.contains("copying the table leads"), "{err}");
    assert_eq!(
        pg_db.psql(
            "SELECT (SELECT count(*) FROM teams) + (SELECT count(*) FROM reps) + (SELECT count(*) FROM leads)"
        ),
        "0",
        "all or nothing"
    );
}

#[tokio::test]
async fn a_password_in_the_url_never_shows() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("team.db");
    old_database(&path, SQLITE_SCHEMA as usize);
    // Nothing listens on port 1: the connection fails, and says where.
    let run = migrate_db(&path, "postgres://baton:s3cret-pw@127.0.0.1:1/baton");
    assert!(!run.status.success());
    let (out, err) = (text(&run.stdout), text(&run.stderr));
    assert!(
        err.contains("postgres://baton:***@127.0.0.1:1/baton"),
        "{err}"
    );
    assert!(
        !out.contains("s3cret-pw") && !err.contains("s3cret-pw"),
        "{out}{err}"
    );
}

#[test]
fn what_is_not_a_baton_database_is_refused_and_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.db");
    let run = migrate_db(&missing, "postgres://baton@127.0.0.1:1/baton");
    assert!(!run.status.success());
    assert!(
        text(&run.stderr).contains("no SQLite database at"),
        "{}",
        text(&run.stderr)
    );
    assert!(!missing.exists(), "no file is created");

    let empty = dir.path().join("empty.db");
    std::fs::write(&empty, b"").unwrap();
    let run = migrate_db(&empty, "postgres://baton@127.0.0.1:1/baton");
    assert!(!run.status.success());
    assert!(
        text(&run.stderr).contains("is not a baton-server database"),
        "{}",
        text(&run.stderr)
    );
    assert_eq!(
        std::fs::metadata(&empty).unwrap().len(),
        0,
        "left as it was"
    );
}
