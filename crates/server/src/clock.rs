//! The server's clock. Every "now" the server acts on comes from here, so
//! that tests can start a server at a chosen instant (a Friday evening
//! before a daylight-saving change) and watch shifts, business-hours SLAs
//! and escalations happen over the real HTTP API.
//!
//! Only debug builds honour `BATON_TEST_CLOCK_START` (an RFC 3339 instant):
//! the clock then starts there when the process starts and runs at real
//! speed. Release builds always read the system clock.

use baton_protocol::Timestamp;

#[cfg(debug_assertions)]
fn offset_millis() -> i64 {
    use std::sync::OnceLock;
    static OFFSET: OnceLock<i64> = OnceLock::new();
    *OFFSET.get_or_init(|| {
        let Some(start) = std::env::var("BATON_TEST_CLOCK_START").ok() else {
            return 0;
        };
        let start: Timestamp = start
            .parse()
            .expect("BATON_TEST_CLOCK_START must be an RFC 3339 instant");
        start.millis() - Timestamp::now().millis()
    })
}

/// The current time, as the server sees it.
pub fn now() -> Timestamp {
    #[cfg(debug_assertions)]
    {
        Timestamp::now().plus_millis(offset_millis())
    }
    #[cfg(not(debug_assertions))]
    {
        Timestamp::now()
    }
}
