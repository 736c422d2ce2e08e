//! Reps' schedules as routing asks about them: parsed once per distinct
//! schedule (routing asks for every candidate of every lead) and shared.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use baton_protocol::{Timestamp, WorkSchedule};

use crate::shifts::{ShiftState, Shifts};

/// Schedules' stored JSON text → their shifts (`None`: it does not parse).
type ParsedSchedules = Mutex<HashMap<Arc<str>, Option<Arc<Shifts>>>>;

/// Parsed schedules by their stored JSON text. Text is the key, so an
/// entry is never stale; the map is bounded by dropping it whole.
fn parsed() -> &'static ParsedSchedules {
    static CACHE: OnceLock<ParsedSchedules> = OnceLock::new();
    CACHE.get_or_init(Default::default)
}

const MAX_CACHED: usize = 10_000;

/// The shifts a stored schedule describes; `None` if it no longer parses
/// (a time zone the system lost): such a rep is treated as always on shift.
pub fn shifts_of(text: &Arc<str>) -> Option<Arc<Shifts>> {
    let mut cache = parsed().lock().unwrap_or_else(|p| p.into_inner());
    if let Some(found) = cache.get(text) {
        return found.clone();
    }
    let shifts = serde_json::from_str::<WorkSchedule>(text)
        .ok()
        .and_then(|s| Shifts::parse(&s).ok())
        .map(Arc::new);
    if cache.len() >= MAX_CACHED {
        cache.clear();
    }
    cache.insert(text.clone(), shifts.clone());
    shifts
}

/// Whether a rep with this schedule is on shift at `at`.
pub fn state_of(schedule: &WorkSchedule, at: Timestamp) -> ShiftState {
    match serde_json::to_string(schedule) {
        Ok(text) => state_at(Some(&Arc::from(text)), at),
        Err(_) => ShiftState::OnShift,
    }
}

/// As [`state_of`], from the stored text (`None`: no schedule, always on).
pub fn state_at(schedule: Option<&Arc<str>>, at: Timestamp) -> ShiftState {
    match schedule.and_then(shifts_of) {
        Some(s) => s.state_at(at),
        None => ShiftState::OnShift,
    }
}

/// The earliest moment after `now` at which any active rep's shift starts
/// or ends (`None`: no rep has hours).
pub fn next_shift_change(reps: &[baton_protocol::Rep], now: Timestamp) -> Option<Timestamp> {
    reps.iter()
        .filter(|r| r.active)
        .filter_map(|r| r.schedule.as_ref())
        .filter_map(|s| serde_json::to_string(s).ok())
        .filter_map(|text| shifts_of(&Arc::from(text)))
        .filter_map(|s| s.next_change_after(now))
        .min()
}
