//! Column values both backends store the same way (JSON documents, lists),
//! read back into protocol types.

use baton_protocol::{Definition, Rep, RoutingExplanation, SkipReason, WorkSchedule};

use crate::error::{Error, Result};

/// An offer's stored explanation; offers from before explanations were
/// recorded (or an unreadable one) have none.
pub(crate) fn explanation(text: Option<&str>) -> Option<RoutingExplanation> {
    serde_json::from_str(text?).ok()
}

/// A rep's stored schedule (validated when it was set).
pub(crate) fn schedule(text: Option<&str>) -> Option<WorkSchedule> {
    serde_json::from_str(text?).ok()
}

/// Fills in whether the rep is on shift now.
pub(crate) fn with_shift_state(mut rep: Rep) -> Rep {
    rep.on_shift = rep.schedule.as_ref().is_none_or(|s| {
        crate::roster::state_of(s, crate::clock::now()) == crate::shifts::ShiftState::OnShift
    });
    rep
}

/// How a rep passed on a lead before, from the offer's stored outcome.
pub(crate) fn passed(outcome: Option<&str>) -> Option<SkipReason> {
    match outcome? {
        "rejected" => Some(SkipReason::RejectedBefore),
        "sla_expired" => Some(SkipReason::ExpiredBefore),
        _ => None,
    }
}

/// Teams joined with the unit separator (SQLite's `group_concat`).
pub(crate) fn team_list(text: Option<&str>) -> Vec<String> {
    let mut teams: Vec<String> = text
        .unwrap_or_default()
        .split('\u{1f}')
        .filter(|t| !t.is_empty())
        .map(str::to_string)
        .collect();
    teams.sort();
    teams
}

/// The stored parts of a definition version.
pub(crate) struct DefinitionColumns {
    pub version: i64,
    pub threshold: i64,
    pub criteria: String,
    pub reasons: String,
    pub effective_at: i64,
    pub author: String,
    pub note: String,
    pub changes: String,
}

impl DefinitionColumns {
    pub(crate) fn into_definition(self) -> Result<Definition> {
        let bad = |what: &str, e: serde_json::Error| {
            Error::Storage(format!(
                "definition v{} has unreadable {what}: {e}",
                self.version
            ))
        };
        Ok(Definition {
            version: self.version as u32,
            threshold: self.threshold as u32,
            criteria: serde_json::from_str(&self.criteria).map_err(|e| bad("criteria", e))?,
            reasons: serde_json::from_str(&self.reasons).map_err(|e| bad("reasons", e))?,
            effective_at: baton_protocol::Timestamp::from_millis(self.effective_at),
            author: self.author.clone(),
            note: self.note.clone(),
            changes: serde_json::from_str(&self.changes).map_err(|e| bad("changes", e))?,
        })
    }
}
