//! Token-bucket rate limits on writes, per intake key and per rep, so one
//! client cannot crowd the single database writer.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

use baton_protocol::RepId;

use crate::error::{Error, Result};

/// Whose budget a request draws on.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Budget {
    /// An intake key, by its token hash.
    IntakeKey(Vec<u8>),
    /// A rep, whichever of their tokens they use.
    Rep(RepId),
    /// An inbound source's URL (`/v1/intake/{name}`), whoever calls it.
    Source(String),
}

struct Bucket {
    tokens: f64,
    refilled: Instant,
}

/// Buckets are created for authenticated callers only, so there are at most
/// as many as live tokens; full ones are dropped when the map grows.
#[derive(Default)]
pub struct RateLimiter {
    buckets: Mutex<HashMap<Budget, Bucket>>,
}

const PRUNE_ABOVE: usize = 10_000;

impl RateLimiter {
    /// Takes one request from `who`'s bucket (refilled at `per_second`, holding
    /// at most `burst`), or says when to retry.
    pub fn take(&self, who: Budget, per_second: u32, burst: u32) -> Result<()> {
        self.take_at(who, per_second, burst, Instant::now())
    }

    fn take_at(&self, who: Budget, per_second: u32, burst: u32, now: Instant) -> Result<()> {
        let (rate, cap) = (f64::from(per_second.max(1)), f64::from(burst.max(1)));
        let mut map = self.buckets.lock().expect("rate limiter lock");
        if map.len() > PRUNE_ABOVE {
            map.retain(|_, b| b.tokens + now.duration_since(b.refilled).as_secs_f64() * rate < cap);
        }
        let bucket = map.entry(who).or_insert(Bucket {
            tokens: cap,
            refilled: now,
        });
        let elapsed = now.saturating_duration_since(bucket.refilled).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * rate).min(cap);
        bucket.refilled = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            let wait = (1.0 - bucket.tokens) / rate;
            Err(Error::RateLimited {
                per_second,
                burst,
                retry_after: wait.ceil().max(1.0) as u64,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_burst_then_the_sustained_rate() {
        let limiter = RateLimiter::default();
        let t0 = Instant::now();
        for _ in 0..5 {
            limiter.take_at(Budget::Rep(1), 2, 5, t0).unwrap();
        }
        let e = limiter.take_at(Budget::Rep(1), 2, 5, t0).unwrap_err();
        assert!(
            matches!(e, Error::RateLimited { retry_after: 1, .. }),
            "{e:?}"
        );
        // Another rep has its own bucket.
        limiter.take_at(Budget::Rep(2), 2, 5, t0).unwrap();
        // Half a second refills one request at 2 a second.
        let t1 = t0 + Duration::from_millis(500);
        limiter.take_at(Budget::Rep(1), 2, 5, t1).unwrap();
        assert!(limiter.take_at(Budget::Rep(1), 2, 5, t1).is_err());
    }
}
