//! Live-stream bookkeeping: which reps' feeds grew (one wake-up channel per
//! rep with an open stream, so a commit wakes only the streams it concerns),
//! how many streams each token holds open, and when tokens were revoked.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use baton_protocol::RepId;
use tokio::sync::watch;

use crate::error::{Error, Result};

#[derive(Default)]
pub struct Hub {
    /// One sender per rep with at least one live stream; the value counts commits.
    reps: Mutex<HashMap<RepId, watch::Sender<u64>>>,
    /// Open streams per token hash.
    streams: Mutex<HashMap<Vec<u8>, usize>>,
    /// Bumped whenever more tokens are revoked; streams then re-check their own.
    revocations: watch::Sender<u64>,
}

impl Hub {
    pub fn new() -> Arc<Self> {
        Arc::new(Hub::default())
    }

    /// Wakes the streams of these reps (called after each commit).
    pub fn publish(&self, reps: &[RepId]) {
        let map = self.reps.lock().expect("hub lock");
        for rep in reps {
            if let Some(sender) = map.get(rep) {
                sender.send_modify(|n| *n = n.wrapping_add(1));
            }
        }
    }

    /// Wakes every live stream (changes may have been missed).
    pub fn publish_all(&self) {
        for sender in self.reps.lock().expect("hub lock").values() {
            sender.send_modify(|n| *n = n.wrapping_add(1));
        }
    }

    /// A wake-up for every later commit that appends to `rep`'s feed.
    pub fn subscribe(self: &Arc<Self>, rep: RepId) -> FeedWakeups {
        let receiver = self
            .reps
            .lock()
            .expect("hub lock")
            .entry(rep)
            .or_insert_with(|| watch::channel(0).0)
            .subscribe();
        FeedWakeups {
            hub: self.clone(),
            rep,
            receiver: Some(receiver),
        }
    }

    /// Counts a new stream for `token_hash`, refusing one beyond `limit`.
    pub fn open_stream(self: &Arc<Self>, token_hash: &[u8], limit: usize) -> Result<StreamSlot> {
        let mut map = self.streams.lock().expect("hub lock");
        let open = map.entry(token_hash.to_vec()).or_insert(0);
        if *open >= limit {
            return Err(Error::TooManyStreams { limit });
        }
        *open += 1;
        Ok(StreamSlot {
            hub: self.clone(),
            token_hash: token_hash.to_vec(),
        })
    }

    pub fn revocations(&self) -> watch::Receiver<u64> {
        self.revocations.subscribe()
    }

    /// Some token was revoked (here or by another process on the same database).
    pub fn tokens_revoked(&self) {
        self.revocations.send_modify(|n| *n = n.wrapping_add(1));
    }
}

/// Wakes when `rep`'s feed grew; unregisters the rep when its last stream ends.
pub struct FeedWakeups {
    hub: Arc<Hub>,
    rep: RepId,
    receiver: Option<watch::Receiver<u64>>,
}

impl FeedWakeups {
    /// Resolves at the next commit to this rep's feed since the last call
    /// (or since subscribing); `false` when the hub is gone.
    pub async fn changed(&mut self) -> bool {
        match &mut self.receiver {
            Some(r) => r.changed().await.is_ok(),
            None => false,
        }
    }
}

impl Drop for FeedWakeups {
    fn drop(&mut self) {
        self.receiver.take();
        let mut map = self.hub.reps.lock().expect("hub lock");
        if map.get(&self.rep).is_some_and(|s| s.receiver_count() == 0) {
            map.remove(&self.rep);
        }
    }
}

/// One open stream of a token; released when dropped.
pub struct StreamSlot {
    hub: Arc<Hub>,
    token_hash: Vec<u8>,
}

impl Drop for StreamSlot {
    fn drop(&mut self) {
        let mut map = self.hub.streams.lock().expect("hub lock");
        if let Some(open) = map.get_mut(&self.token_hash) {
            *open -= 1;
            if *open == 0 {
                map.remove(&self.token_hash);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_commit_wakes_only_the_streams_of_its_reps() {
        let hub = Hub::new();
        let mut ava = hub.subscribe(1);
        let mut bo = hub.subscribe(2);
        hub.publish(&[2]);
        let woke = tokio::time::timeout(std::time::Duration::from_millis(50), ava.changed()).await;
        assert!(woke.is_err(), "rep 1's stream must not wake for rep 2");
        assert!(bo.changed().await);
        drop(bo);
        assert!(!hub.reps.lock().unwrap().contains_key(&2), "unregistered");
        hub.publish(&[1]);
        assert!(ava.changed().await);
    }

    #[test]
    fn a_token_holds_at_most_its_limit_of_streams() {
        let hub = Hub::new();
        let a = hub.open_stream(b"t", 2).unwrap();
        let _b = hub.open_stream(b"t", 2).unwrap();
        assert!(matches!(
            hub.open_stream(b"t", 2),
            Err(Error::TooManyStreams { limit: 2 })
        ));
        let _other = hub.open_stream(b"u", 2).unwrap();
        drop(a);
        assert!(hub.open_stream(b"t", 2).is_ok());
    }
}
