//! baton-server on a PostgreSQL that takes TLS connections only: `sslmode`
//! means what libpq users expect, certificates are checked when asked, and
//! a refused connection says why without printing the password.
//!
//! The cluster is a private one started by the harness with `ssl=on`, a CA
//! and server certificate made by openssl, and `hostssl` as the only way in
//! over TCP (tests/src/postgres.rs, `Postgres::with_tls`).

use std::process::Command;

use baton_tests::postgres::Postgres;
use baton_tests::*;

const ONE_TEAM: &str = r#"
qualification_threshold = 50
[[teams]]
name = "sales"
"#;

/// Runs an admin command (`rep list`) against `url`: whether it connected,
/// and what it printed on stderr.
fn rep_list(url: &str) -> (bool, String) {
    let out = Command::new(binary("baton-server"))
        .args(["rep", "list", "--db", url])
        .env("RUST_LOG", "warn")
        .output()
        .expect("run baton-server rep list");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test]
async fn sslmode_and_certificates_are_honoured() {
    let pg = Postgres::with_tls();
    let db = pg.database();
    let root = pg.root_cert();
    let url = |query: &str| format!("{}?{query}", db.url());

    // Encrypted without checking the certificate, as libpq's `require`.
    let (ok, err) = rep_list(&url("sslmode=require"));
    assert!(ok, "sslmode=require: {err}");
    // Checked against our CA, for the host named in the URL.
    let verified = url(&format!(
        "sslmode=verify-full&sslrootcert={}",
        root.display()
    ));
    let (ok, err) = rep_list(&verified);
    assert!(ok, "sslmode=verify-full with the CA: {err}");

    // No TLS: the server refuses, and the error says so.
    let (ok, err) = rep_list(&url("sslmode=disable"));
    assert!(!ok, "a plain connection must be refused");
    assert!(
        err.contains("no encryption") || err.contains("pg_hba.conf"),
        "{err}"
    );
    // The system's roots do not know our CA: verify-full refuses it.
    let (ok, err) = rep_list(&url("sslmode=verify-full"));
    assert!(!ok, "an unknown CA must be refused");
    assert!(err.to_lowercase().contains("certificate"), "{err}");
    // A password in the URL never shows in the error.
    let secret = db
        .url()
        .replacen("postgres@", "postgres:hunter2-not-shown@", 1)
        + "?sslmode=disable";
    let (ok, err) = rep_list(&secret);
    assert!(!ok);
    assert!(!err.contains("hunter2-not-shown"), "{err}");

    // A whole server over verified TLS: writer, read pool and listener.
    let server = Server::start_on_db(TestDb::Shared(verified), ONE_TEAM, &[]);
    let ava = server.add_rep("Ava", "sales", 1, 10);
    let mut stream = ava.stream(None).await;
    assert_eq!(
        stream
            .next(std::time::Duration::from_secs(5))
            .await
            .unwrap()
            .event,
        "ready"
    );
    let pushed = server.intake().push(&lead("tls-1")).await;
    assert_eq!(
        pushed.lead.assignment.as_ref().map(|a| a.rep_name.as_str()),
        Some("Ava")
    );
    assert!(
        stream
            .next_change(std::time::Duration::from_secs(5))
            .await
            .is_some(),
        "the rep's stream heard the lead"
    );
    drop(server);
    drop(db);
}
