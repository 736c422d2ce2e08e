//! Bearer tokens: random, shown once, stored only as SHA-256 hashes.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use baton_protocol::Role;
use sha2::{Digest, Sha256};
use tokio::sync::watch;

use crate::store::Principal;

/// A fresh token for `role`: a readable prefix and 192 random bits.
pub fn new_token(role: Role) -> String {
    let mut bytes = [0u8; 24];
    getrandom::fill(&mut bytes).expect("the OS random source works");
    let prefix = match role {
        Role::Rep => "btn_rep_",
        Role::Manager => "btn_mgr_",
        Role::Intake => "btn_in_",
    };
    format!("{prefix}{}", hex::encode(bytes))
}

/// What the database keeps of a token.
pub fn token_hash(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

/// How long a token's owner is remembered without asking the database.
/// Bounds how long a revoked token can still work on an instance that has
/// not yet heard of the revocation (it hears within a quarter second when
/// the database is reachable: app.rs, `watch_admin_changes`).
pub const PRINCIPAL_TTL: Duration = Duration::from_secs(1);
/// Tokens remembered at most; a full cache starts over.
const PRINCIPALS_KEPT: usize = 4096;

/// Who recently seen tokens belong to, so that a client sending the same
/// token on every request (an intake integration, a rep's app) costs no
/// database read per request. An entry holds only while no token was
/// revoked since it was read (the hub's revocation count) and for at most
/// [`PRINCIPAL_TTL`]. Unknown or revoked tokens are never remembered.
pub struct PrincipalCache {
    revocations: watch::Receiver<u64>,
    entries: Mutex<HashMap<Vec<u8>, Remembered>>,
}

struct Remembered {
    principal: Principal,
    revocations: u64,
    at: Instant,
}

impl PrincipalCache {
    pub fn new(revocations: watch::Receiver<u64>) -> Self {
        PrincipalCache {
            revocations,
            entries: Mutex::new(HashMap::new()),
        }
    }

    /// The revocation count to pass to [`Self::remember`]: read before the
    /// database is asked, so a revocation that lands meanwhile voids the
    /// answer.
    pub fn revocations(&self) -> u64 {
        *self.revocations.borrow()
    }

    pub fn get(&self, hash: &[u8]) -> Option<Principal> {
        let now = self.revocations();
        let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries
            .get(hash)
            .filter(|r| r.revocations == now && r.at.elapsed() < PRINCIPAL_TTL)
            .map(|r| r.principal.clone())
    }

    pub fn remember(&self, hash: &[u8], principal: &Principal, revocations: u64) {
        if revocations != self.revocations() {
            return;
        }
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if entries.len() >= PRINCIPALS_KEPT && !entries.contains_key(hash) {
            entries.clear();
        }
        entries.insert(
            hash.to_vec(),
            Remembered {
                principal: principal.clone(),
                revocations,
                at: Instant::now(),
            },
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_unique_and_hashes_hide_them() {
        let a = new_token(Role::Rep);
        let b = new_token(Role::Rep);
        assert_ne!(a, b);
        assert!(a.starts_with("btn_rep_") && a.len() == 8 + 48);
        let h = token_hash(&a);
        assert_eq!(h.len(), 32);
        assert!(!hex::encode(&h).contains(&a[8..]));
    }

    fn principal(name: &str) -> Principal {
        Principal {
            role: Role::Intake,
            subject_id: None,
            name: name.into(),
            source: Some("web".into()),
            admin: false,
            teams: vec![],
        }
    }

    #[test]
    fn a_revocation_voids_every_remembered_token_and_answers_read_across_it() {
        let (revoke, revocations) = watch::channel(0u64);
        let cache = PrincipalCache::new(revocations);
        let before = cache.revocations();
        cache.remember(b"a", &principal("a"), before);
        assert_eq!(cache.get(b"a"), Some(principal("a")));
        assert_eq!(cache.get(b"b"), None);
        revoke.send_modify(|n| *n += 1);
        assert_eq!(cache.get(b"a"), None, "a revocation voids the entry");
        // An answer read before a revocation is not remembered after it.
        cache.remember(b"b", &principal("b"), before);
        assert_eq!(cache.get(b"b"), None);
        cache.remember(b"b", &principal("b"), cache.revocations());
        assert_eq!(cache.get(b"b"), Some(principal("b")));
    }

    #[test]
    fn remembered_tokens_stay_bounded() {
        let (_revoke, revocations) = watch::channel(0u64);
        let cache = PrincipalCache::new(revocations);
        for i in 0..(PRINCIPALS_KEPT + 10) {
            cache.remember(&i.to_be_bytes(), &principal("x"), 0);
        }
        assert!(cache.entries.lock().unwrap().len() <= PRINCIPALS_KEPT);
    }
}
