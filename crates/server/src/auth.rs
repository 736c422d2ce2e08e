//! Bearer tokens: random, shown once, stored only as SHA-256 hashes.

use baton_protocol::Role;
use sha2::{Digest, Sha256};

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
}
