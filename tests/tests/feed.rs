//! The per-rep change feed: in order, and under concurrent writes no change
//! is skipped or repeated across pages.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use baton_protocol::{Change, FeedEntry};
use baton_tests::*;
use reqwest::StatusCode;

#[tokio::test]
async fn paging_while_leads_pour_in_skips_and_repeats_nothing() {
    let server = Server::start(ONE_TEAM);
    let ava = server.add_rep("Ava", "sales", 1, 100_000);
    let intake = server.intake();

    // Writers: 4 tasks pushing 100 leads each.
    let done = Arc::new(AtomicBool::new(false));
    let mut writers = Vec::new();
    for w in 0..4 {
        let intake = intake.clone();
        writers.push(tokio::spawn(async move {
            let mut ids = Vec::new();
            for i in 0..100 {
                ids.push(intake.push(&lead(&format!("feed-{w}-{i}"))).await.lead.id);
            }
            ids
        }));
    }
    // Reader: small pages, as fast as it can, while the writers run.
    let reader = {
        let ava = ava.clone();
        let done = done.clone();
        tokio::spawn(async move {
            let mut cursor = String::new();
            let mut seen: Vec<FeedEntry> = Vec::new();
            loop {
                let finished = done.load(Ordering::SeqCst);
                let page = ava.sync_page(&cursor, 7).await;
                seen.extend(page.changes);
                cursor = page.next_cursor.0;
                if finished && !page.has_more {
                    return seen;
                }
            }
        })
    };
    let mut expected = HashSet::new();
    for w in writers {
        expected.extend(w.await.unwrap());
    }
    done.store(true, Ordering::SeqCst);
    let seen = reader.await.unwrap();

    let seqs: Vec<i64> = seen.iter().map(|e| e.cursor.0.parse().unwrap()).collect();
    assert!(
        seqs.windows(2).all(|w| w[0] < w[1]),
        "cursors strictly increase"
    );
    let ids = assigned_ids(&seen);
    let unique: HashSet<_> = ids.iter().copied().collect();
    assert_eq!(ids.len(), unique.len(), "no change repeated");
    assert_eq!(unique, expected, "no change skipped");
    assert!(
        seen.iter()
            .all(|e| matches!(e.change, Change::LeadAssigned { .. }))
    );
}

#[tokio::test]
async fn an_empty_page_keeps_the_cursor_and_a_foreign_cursor_is_refused() {
    let server = Server::start(ONE_TEAM);
    let ava = server.add_rep("Ava", "sales", 1, 10);
    server.intake().push(&lead("c-1")).await;
    let (_, cursor) = ava.sync_all("").await;
    let page = ava.sync_page(&cursor, 50).await;
    assert!(page.changes.is_empty());
    assert_eq!(page.next_cursor.0, cursor);
    assert!(!page.has_more);

    let r = ava.get("/v1/sync?cursor=not-a-cursor").await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.error_field(), "cursor");
    let r = ava.get("/v1/sync?cursor=999999999").await;
    assert_eq!(
        r.status,
        StatusCode::BAD_REQUEST,
        "a cursor ahead of the server is refused"
    );
    let r = ava.get("/v1/sync?limit=0").await;
    assert_eq!(r.error_field(), "limit");
}
