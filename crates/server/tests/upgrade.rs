//! A database from before the report rollups held what they hold now is
//! upgraded by the migrations, and its rollups are then filled from its rows
//! through the storage interface, once.

use std::time::Duration;

use baton_server::{Baton, Config};

#[tokio::test]
async fn a_database_migrated_past_the_rollup_change_has_them_filled_once() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("old.db");
    {
        // As a baton-server of schema 2 left it.
        let c = rusqlite::Connection::open(&path).unwrap();
        c.execute_batch(include_str!("../migrations/0001_init.sql"))
            .unwrap();
        c.execute_batch(include_str!("../migrations/0002_report_rollups.sql"))
            .unwrap();
        c.pragma_update(None, "user_version", 2).unwrap();
    }
    let baton = Baton::open(&path, Config::single_team("sales"), Duration::from_secs(15)).unwrap();
    let stale = baton.db().read(|tx| tx.rollups_stale()).await.unwrap();
    assert!(stale, "the migration marks the rollups for filling");
    baton.refill_rollups_if_stale().await.unwrap();
    let stale = baton.db().read(|tx| tx.rollups_stale()).await.unwrap();
    assert!(!stale, "filled once, then current");

    let fresh = dir.path().join("new.db");
    let baton = Baton::open(
        &fresh,
        Config::single_team("sales"),
        Duration::from_secs(15),
    )
    .unwrap();
    let stale = baton.db().read(|tx| tx.rollups_stale()).await.unwrap();
    assert!(!stale, "a new database's empty rollups are already right");
}
