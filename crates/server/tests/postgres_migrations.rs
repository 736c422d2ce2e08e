//! The PostgreSQL schema's migrations, on a real private PostgreSQL cluster
//! (the test harness starts one per test process).

use baton_server::store::postgres::{PgUrl, connect, migrate};
use baton_tests::postgres::Postgres;

#[tokio::test]
async fn instances_starting_together_migrate_an_empty_database_once() {
    let db = Postgres::shared().database();
    let url = PgUrl::parse(db.url()).unwrap();
    let mut clients = Vec::new();
    for _ in 0..3 {
        clients.push(connect(&url).await.unwrap());
    }
    let runs = clients.iter_mut().map(migrate);
    let versions = futures_util::future::join_all(runs).await;
    // Migrations 0001–0004: the schema, intake receipts, outbound events,
    // the definition, shifts and team administration.
    for v in &versions {
        assert_eq!(v.as_ref().unwrap(), &4, "{versions:?}");
    }
    assert_eq!(db.psql("SELECT count(*) FROM schema_migrations"), "4");
    assert_eq!(
        db.psql("SELECT count(*) FROM information_schema.tables WHERE table_name = 'feed_heads'"),
        "1"
    );
    // Again, later: nothing to do.
    assert_eq!(migrate(&mut clients[0]).await.unwrap(), 4);
    assert_eq!(db.psql("SELECT count(*) FROM schema_migrations"), "4");
}

#[tokio::test]
async fn a_schema_newer_than_this_server_is_refused() {
    let db = Postgres::shared().database();
    let url = PgUrl::parse(db.url()).unwrap();
    let mut client = connect(&url).await.unwrap();
    migrate(&mut client).await.unwrap();
    db.psql("INSERT INTO schema_migrations (version) VALUES (99)");
    let e = migrate(&mut client).await.unwrap_err().to_string();
    assert!(
        e.contains("schema version 99") && e.contains("newer"),
        "{e}"
    );
}

#[tokio::test]
async fn a_refused_connection_names_the_database_without_its_password() {
    let url = PgUrl::parse("postgres://baton:s3cret@127.0.0.1:1/baton").unwrap();
    let e = connect(&url).await.unwrap_err().to_string();
    assert!(e.contains("postgres://baton:***@127.0.0.1:1/baton"), "{e}");
    assert!(!e.contains("s3cret"), "{e}");
}
