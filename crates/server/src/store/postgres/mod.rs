//! The PostgreSQL backend, being built (issue 12). So far: naming a
//! database without ever printing its password, connecting, and applying the
//! numbered schema migrations once however many instances start together.
//! The backend's reads and writes (`ReadTx`, `WriteTx`, `Storage`) come
//! next; until then `store::open` refuses a PostgreSQL URL.
//!
//! Driver: `tokio-postgres` — maintained with the Rust PostgreSQL crates,
//! async on the tokio runtime the server already runs, pipelining, binary
//! parameters, and no ORM layer between our SQL and the database.

use std::str::FromStr;

use tokio_postgres::Client;

mod cache;
mod rollup_buffer;
mod storage;
mod tls;
mod tx;

pub use storage::PgStorage;

use crate::error::{Error, Result};

/// The numbered migrations of the PostgreSQL schema, applied in order and
/// recorded in `schema_migrations`.
const MIGRATIONS: &[(i64, &str)] = &[
    (
        1,
        include_str!("../../../migrations/postgres/0001_init.sql"),
    ),
    (
        2,
        include_str!("../../../migrations/postgres/0002_intake_receipts.sql"),
    ),
    (
        3,
        include_str!("../../../migrations/postgres/0003_outbound_events.sql"),
    ),
    (
        4,
        include_str!("../../../migrations/postgres/0004_agreement_and_shifts.sql"),
    ),
];

/// The advisory lock migrating instances take, so one migrates and the
/// others wait and then find the schema current. ("baton" in ASCII.)
const MIGRATION_LOCK: i64 = 0x62_61_74_6f_6e;

/// A PostgreSQL database named by a `postgres://` URL. Its `Display` never
/// shows the password, so it is safe in logs and error messages.
#[derive(Clone)]
pub struct PgUrl {
    config: tokio_postgres::Config,
    shown: String,
    verify: tls::Verify,
}

impl std::fmt::Display for PgUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.shown)
    }
}

impl std::fmt::Debug for PgUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PgUrl({})", self.shown)
    }
}

/// Whether `db` names a PostgreSQL database rather than a SQLite file.
pub fn is_url(db: &str) -> bool {
    db.starts_with("postgres://") || db.starts_with("postgresql://")
}

impl PgUrl {
    /// Parses a `postgres://USER[:PASSWORD]@HOST[:PORT]/DBNAME[?sslmode=…]`
    /// URL. Without a password in the URL, `PGPASSWORD` is used, else the
    /// password file (`PGPASSFILE`, default `~/.pgpass`), as PostgreSQL's own
    /// tools do.
    pub fn parse(url: &str) -> Result<PgUrl> {
        let shown = redact(url);
        if !is_url(url) {
            return Err(Error::Storage(format!(
                "{shown:?} is not a PostgreSQL URL: write postgres://USER@HOST:PORT/DBNAME"
            )));
        }
        let (url, verify) = take_tls_options(url).map_err(|why| {
            Error::Storage(format!("the database URL {shown} cannot be read: {why}"))
        })?;
        let mut config = tokio_postgres::Config::from_str(&url).map_err(|e| {
            Error::Storage(format!(
                "the database URL {shown} cannot be read ({}); write postgres://USER@HOST:PORT/DBNAME",
                redact(&e.to_string())
            ))
        })?;
        if config.get_dbname().is_none() {
            return Err(Error::Storage(format!(
                "the database URL {shown} names no database: end it with /DBNAME"
            )));
        }
        if config.get_password().is_none() {
            if let Ok(password) = std::env::var("PGPASSWORD") {
                config.password(password);
            } else if let Some(password) = password_from_file(&config) {
                config.password(password);
            }
        }
        Ok(PgUrl {
            config,
            shown,
            verify,
        })
    }

    /// The driver's connection settings (with the password, if any).
    pub(crate) fn config(&self) -> &tokio_postgres::Config {
        &self.config
    }

    /// The TLS connector this URL's `sslmode` asks for.
    pub(crate) fn tls(&self) -> Result<tokio_postgres_rustls::MakeRustlsConnect> {
        tls::connector(&self.verify)
    }
}

/// Takes out of the URL's query what the driver does not read itself:
/// `sslmode=verify-ca|verify-full` (passed on as `require`, with the
/// certificate then checked by our connector) and `sslrootcert`.
fn take_tls_options(url: &str) -> std::result::Result<(String, tls::Verify), String> {
    let Some((base, query)) = url.split_once('?') else {
        return Ok((url.to_string(), tls::Verify::None));
    };
    let mut kept = Vec::new();
    let mut verify_full = false;
    let mut root_cert = None;
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        match (key, value) {
            ("sslmode", "verify-ca" | "verify-full") => {
                verify_full = true;
                kept.push("sslmode=require".to_string());
            }
            ("sslmode", "disable" | "prefer" | "require") => kept.push(pair.to_string()),
            ("sslmode", other) => {
                return Err(format!(
                    "sslmode={other} is not one of disable, prefer, require, verify-ca, verify-full"
                ));
            }
            ("sslrootcert", path) => {
                root_cert = Some(std::path::PathBuf::from(percent_decode(path)))
            }
            _ => kept.push(pair.to_string()),
        }
    }
    if root_cert.is_some() && !verify_full {
        return Err("sslrootcert is read only with sslmode=verify-ca or verify-full".into());
    }
    let url = if kept.is_empty() {
        base.to_string()
    } else {
        format!("{base}?{}", kept.join("&"))
    };
    let verify = if verify_full {
        tls::Verify::Full { root_cert }
    } else {
        tls::Verify::None
    };
    Ok((url, verify))
}

/// `%XX` escapes decoded (a path in a URL's query).
fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok();
            if let Some(b) = hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The password for `config`'s host, port, database and user in the
/// password file, as libpq finds it: `PGPASSFILE`, else `~/.pgpass`; lines
/// `host:port:database:user:password`, `*` matching anything, `\` escaping
/// `:` and `\`; the first matching line wins. Like libpq, a file that others
/// can read is ignored (with a warning), since it holds passwords.
fn password_from_file(config: &tokio_postgres::Config) -> Option<String> {
    let path = std::env::var_os("PGPASSFILE")
        .map(std::path::PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| std::path::Path::new(&h).join(".pgpass")))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).ok()?.permissions().mode();
        if mode & 0o077 != 0 {
            tracing::warn!(
                file = %path.display(),
                "the password file can be read by others: ignored (chmod 0600 it)"
            );
            return None;
        }
    }
    let text = std::fs::read_to_string(&path).ok()?;
    let host = match config.get_hosts().first() {
        Some(tokio_postgres::config::Host::Tcp(h)) => h.clone(),
        #[cfg(unix)]
        Some(tokio_postgres::config::Host::Unix(_)) => "localhost".to_string(),
        None => "localhost".to_string(),
    };
    let port = config
        .get_ports()
        .first()
        .copied()
        .unwrap_or(5432)
        .to_string();
    let db = config.get_dbname().unwrap_or_default();
    let user = config.get_user().unwrap_or_default();
    text.lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .find_map(|line| {
            let fields = split_pgpass(line)?;
            let wanted = [host.as_str(), port.as_str(), db, user];
            fields[..4]
                .iter()
                .zip(wanted)
                .all(|(f, w)| f == "*" || f == w)
                .then(|| fields[4].clone())
        })
}

/// One password-file line's five fields, unescaped; `None` if malformed.
fn split_pgpass(line: &str) -> Option<Vec<String>> {
    let mut fields = vec![String::new()];
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => fields.last_mut()?.push(chars.next()?),
            ':' if fields.len() < 5 => fields.push(String::new()),
            c => fields.last_mut()?.push(c),
        }
    }
    (fields.len() == 5).then_some(fields)
}

/// The URL with any password replaced by `***`.
pub(crate) fn redact(url: &str) -> String {
    let Some(scheme_end) = url.find("://") else {
        return url.to_string();
    };
    let rest = &url[scheme_end + 3..];
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let authority = &rest[..authority_end];
    match authority.rfind('@') {
        Some(at) => {
            let userinfo = &authority[..at];
            let user = userinfo.split(':').next().unwrap_or("");
            let hidden = if userinfo.contains(':') { ":***" } else { "" };
            format!(
                "{}{user}{hidden}{}",
                &url[..scheme_end + 3],
                &url[scheme_end + 3 + at..]
            )
        }
        None => url.to_string(),
    }
}

/// A driver error as a storage error, with PostgreSQL's own message when
/// the server sent one (the driver's `Display` says only "db error").
pub(crate) fn pg_error(doing: &str, e: &tokio_postgres::Error) -> Error {
    Error::Storage(format!("{doing}: {}", describe(e)))
}

/// What went wrong, in PostgreSQL's words (its message and SQLSTATE), or
/// the driver's with its causes (a refused certificate says why), with any
/// password taken out.
fn describe(e: &tokio_postgres::Error) -> String {
    if let Some(db) = e.as_db_error() {
        return format!("{} ({})", db.message(), db.code().code());
    }
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    redact(&text)
}

/// Connects to the database; the connection is driven by a task of its own
/// on the current runtime.
pub async fn connect(url: &PgUrl) -> Result<Client> {
    let (client, connection) = url
        .config
        .connect(url.tls()?)
        .await
        .map_err(|e| pg_error(&format!("cannot connect to {url}"), &e))?;
    tokio::spawn(async move {
        if let Err(e) = connection.await {
            tracing::warn!(error = %e, "PostgreSQL connection ended");
        }
    });
    Ok(client)
}

/// Applies the migrations the database lacks, in one transaction, under an
/// advisory lock: instances starting together migrate it once. Refuses a
/// schema newer than this baton-server knows. Returns the schema version.
pub async fn migrate(client: &mut Client) -> Result<i64> {
    let failed = |e: tokio_postgres::Error| pg_error("migrating the database", &e);
    let tx = client.transaction().await.map_err(failed)?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
        .await
        .map_err(failed)?;
    tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations (\
             version BIGINT PRIMARY KEY, \
             applied_at TIMESTAMPTZ NOT NULL DEFAULT now())",
    )
    .await
    .map_err(failed)?;
    let current: i64 = tx
        .query_one(
            "SELECT COALESCE(MAX(version), 0) FROM schema_migrations",
            &[],
        )
        .await
        .map_err(failed)?
        .get(0);
    let newest = MIGRATIONS.last().map(|m| m.0).unwrap_or(0);
    if current > newest {
        return Err(Error::Storage(format!(
            "the database is at schema version {current}, newer than this baton-server knows ({newest}); run a newer baton-server"
        )));
    }
    for (version, sql) in MIGRATIONS.iter().filter(|m| m.0 > current) {
        tx.batch_execute(sql).await.map_err(failed)?;
        tx.execute(
            "INSERT INTO schema_migrations (version) VALUES ($1)",
            &[version],
        )
        .await
        .map_err(failed)?;
        tracing::info!(version, "applied PostgreSQL migration");
    }
    tx.commit().await.map_err(failed)?;
    Ok(newest)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_password_file_is_read_as_libpq_reads_it() {
        assert_eq!(
            split_pgpass(r"db.example:5432:baton:ava:pa\:ss\\word").unwrap(),
            ["db.example", "5432", "baton", "ava", r"pa:ss\word"]
        );
        assert!(split_pgpass("too:few:fields").is_none());
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("pgpass");
        std::fs::write(
            &file,
            "# comment\nother:5432:baton:ava:wrong\n*:5432:baton:ava:right\n*:*:*:*:fallback\n",
        )
        .unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
        // SAFETY: this test alone sets PGPASSFILE, and reads it before any
        // other thread could.
        unsafe {
            std::env::set_var("PGPASSFILE", &file);
            std::env::remove_var("PGPASSWORD");
        }
        let found = |url: &str| password_from_file(&tokio_postgres::Config::from_str(url).unwrap());
        assert_eq!(
            found("postgres://ava@db.example/baton").as_deref(),
            Some("right")
        );
        assert_eq!(
            found("postgres://bob@db.example:6000/x").as_deref(),
            Some("fallback")
        );
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert_eq!(
            found("postgres://ava@db.example/baton"),
            None,
            "readable by others: ignored"
        );
    }

    #[test]
    fn sslmode_is_read_as_libpq_reads_it() {
        let (url, verify) = take_tls_options(
            "postgres://u@h/db?sslmode=verify-full&sslrootcert=%2Fetc%2Fca.pem&application_name=b",
        )
        .unwrap();
        assert_eq!(url, "postgres://u@h/db?sslmode=require&application_name=b");
        assert_eq!(
            verify,
            tls::Verify::Full {
                root_cert: Some("/etc/ca.pem".into())
            }
        );
        for plain in ["postgres://u@h/db", "postgres://u@h/db?sslmode=require"] {
            let (url, verify) = take_tls_options(plain).unwrap();
            assert_eq!((url.as_str(), verify), (plain, tls::Verify::None));
        }
        let bad = take_tls_options("postgres://u@h/db?sslmode=allow-anything").unwrap_err();
        assert!(
            bad.contains("sslmode=allow-anything is not one of"),
            "{bad}"
        );
        let orphan = take_tls_options("postgres://u@h/db?sslrootcert=/x.pem").unwrap_err();
        assert!(orphan.contains("only with sslmode=verify"), "{orphan}");
        // A URL with TLS options still never shows its password.
        let e = PgUrl::parse("postgres://u:s3cret@h/db?sslmode=wrong")
            .unwrap_err()
            .to_string();
        assert!(!e.contains("s3cret") && e.contains("sslmode=wrong"), "{e}");
    }

    #[test]
    fn a_password_never_shows() {
        for (url, shown) in [
            (
                "postgres://baton:s3cret@db.example:5432/baton",
                "postgres://baton:***@db.example:5432/baton",
            ),
            (
                "postgresql://baton:p@ss@word@db/baton?sslmode=require",
                "postgresql://baton:***@db/baton?sslmode=require",
            ),
            ("postgres://baton@db/baton", "postgres://baton@db/baton"),
        ] {
            assert_eq!(redact(url), shown);
            if let Ok(u) = PgUrl::parse(url) {
                assert_eq!(u.to_string(), shown);
                assert!(!format!("{u:?}").contains("s3cret"));
            }
        }
        let e = PgUrl::parse("postgres://baton:s3cret@db:notaport/baton")
            .unwrap_err()
            .to_string();
        assert!(!e.contains("s3cret"), "{e}");
        let e = PgUrl::parse("postgres://baton:s3cret@db:5432")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("names no database") && !e.contains("s3cret"),
            "{e}"
        );
    }
}
