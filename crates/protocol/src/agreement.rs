//! The shared definition of a qualified lead (versioned), reps' working
//! hours and absences, the structured account of why a lead went to a rep,
//! and the team administration managers do from the app.

use serde::{Deserialize, Serialize};

use crate::{LeadId, RejectReason, Rep, RepId, Timestamp, WireName};

// ---------------------------------------------------------------------------
// The qualification definition.

/// What a criterion of the definition looks at in a lead.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum CriterionKind {
    /// An item of the score's breakdown, by its criterion.
    ScoreItem,
    /// A scorecard-quiz answer: `key` is the question, `value` the answer.
    QuizAnswer,
    /// A stated intent: `key` is `need`, `timeline` or `budget`.
    Intent,
    #[serde(other)]
    Unknown,
}

impl WireName for CriterionKind {}

/// One written criterion: what a signal is worth, why, and (optionally)
/// how a rep should open the conversation when a lead shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "ts", ts(optional_fields = nullable))]
#[serde(deny_unknown_fields)]
pub struct Criterion {
    pub kind: CriterionKind,
    /// The score item's label, the quiz question, or the intent field.
    pub key: String,
    /// The answer or intent value it applies to; absent: any value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// Points it is worth, as marketing scores it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub points: Option<i32>,
    /// Why it counts, in words both teams signed up to.
    pub meaning: String,
    /// A short line telling the rep how to open when a lead shows it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub opener: Option<String>,
}

impl Criterion {
    /// Whether `lead` shows this criterion's signal.
    pub fn applies_to(&self, lead: &crate::Lead) -> bool {
        let same = |a: &str, b: &str| a.trim().eq_ignore_ascii_case(b.trim());
        let value_matches = |v: &str| self.value.as_deref().is_none_or(|want| same(want, v));
        match self.kind {
            CriterionKind::ScoreItem => lead
                .score
                .breakdown
                .iter()
                .any(|item| same(&item.criterion, &self.key)),
            CriterionKind::QuizAnswer => lead
                .quiz
                .iter()
                .any(|qa| same(&qa.question, &self.key) && value_matches(&qa.answer)),
            CriterionKind::Intent => {
                let field = match self.key.trim().to_ascii_lowercase().as_str() {
                    "need" => lead.intent.need.as_deref(),
                    "timeline" => lead.intent.timeline.as_deref(),
                    "budget" => lead.intent.budget.as_deref(),
                    _ => None,
                };
                field.is_some_and(value_matches)
            }
            CriterionKind::Unknown => false,
        }
    }
}

/// A version of the definition as a manager proposes it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "ts", ts(optional_fields = nullable))]
#[serde(deny_unknown_fields)]
pub struct DefinitionDraft {
    /// Leads scoring at or above this go to sales.
    pub threshold: u32,
    pub criteria: Vec<Criterion>,
    pub reasons: Vec<RejectReason>,
    /// What changed and why, for the record.
    pub note: String,
}

/// One published version of the definition of a qualified lead.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "ts", ts(optional_fields = nullable))]
pub struct Definition {
    pub version: u32,
    pub threshold: u32,
    pub criteria: Vec<Criterion>,
    pub reasons: Vec<RejectReason>,
    /// Leads arriving from this moment on are qualified under it.
    pub effective_at: Timestamp,
    /// Who published it (`config file` for versions taken from the server's config).
    pub author: String,
    pub note: String,
    /// What it changed against the version before, one line per change.
    pub changes: Vec<String>,
}

impl Definition {
    /// The "How to open" lines that apply to `lead`, in the definition's order.
    pub fn openers_for(&self, lead: &crate::Lead) -> Vec<Opener> {
        self.criteria
            .iter()
            .filter(|c| c.applies_to(lead))
            .filter_map(|c| {
                let line = c.opener.as_deref()?.trim();
                (!line.is_empty()).then(|| Opener {
                    signal: match (&c.kind, &c.value) {
                        (_, Some(v)) => format!("{}: {}", c.key, v),
                        (_, None) => c.key.clone(),
                    },
                    line: line.to_string(),
                })
            })
            .collect()
    }
}

/// A line under "How to open": the signal the lead showed, and what to say.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "ts", ts(optional_fields = nullable))]
pub struct Opener {
    pub signal: String,
    pub line: String,
}

/// `GET /v1/definitions`: every version, newest first.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "ts", ts(optional_fields = nullable))]
pub struct DefinitionList {
    /// The version in force now.
    pub in_force: u32,
    pub definitions: Vec<Definition>,
}

/// Under which definition a lead was qualified (or not).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "ts", ts(optional_fields = nullable))]
pub struct Qualification {
    pub version: u32,
    pub threshold: u32,
    pub score: u32,
}

/// Body of `POST /v1/definitions/preview`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "ts", ts(optional_fields = nullable))]
#[serde(deny_unknown_fields)]
pub struct PreviewRequest {
    pub threshold: u32,
    pub from: Timestamp,
    pub to: Timestamp,
}

/// What a threshold would have done over a past period, against the one
/// in force: counted from the leads received and the offers decided then.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "ts", ts(optional_fields = nullable))]
pub struct DefinitionPreview {
    pub from: Timestamp,
    pub to: Timestamp,
    pub current_threshold: u32,
    pub proposed_threshold: u32,
    /// Leads received in the period.
    pub leads: u64,
    /// Of them, at or above the threshold in force now / the proposed one.
    pub qualified_current: u64,
    pub qualified_proposed: u64,
    /// Would go to sales under the proposal but not now, and the reverse.
    pub newly_qualified: u64,
    pub newly_unqualified: u64,
    /// Offers decided in the period whose lead scored at or above each threshold.
    pub decided_current: u64,
    pub accepted_current: u64,
    pub decided_proposed: u64,
    pub accepted_proposed: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acceptance_current: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acceptance_proposed: Option<f64>,
}

/// Acceptance, reasons and speed of the offers made under one version.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "ts", ts(optional_fields = nullable))]
pub struct VersionOutcome {
    pub version: u32,
    pub threshold: u32,
    pub effective_at: Timestamp,
    /// Until the next version took over (absent for the one in force).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until: Option<Timestamp>,
    pub leads: u64,
    pub qualified: u64,
    pub offers: u64,
    pub accepted: u64,
    pub rejected: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acceptance_rate: Option<f64>,
    /// Median seconds from offer to decision.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub median_decision_secs: Option<u64>,
    /// Rejection reasons, most frequent first: (code, count).
    pub reasons: Vec<(String, u64)>,
}

/// `GET /v1/definitions/outcomes`: each version's results, oldest first.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "ts", ts(optional_fields = nullable))]
pub struct VersionOutcomes {
    pub versions: Vec<VersionOutcome>,
}

// ---------------------------------------------------------------------------
// Working hours and absences.

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum Weekday {
    Mon,
    Tue,
    Wed,
    Thu,
    Fri,
    Sat,
    Sun,
}

/// One stretch of a working day, in the rep's time zone: `start` and `end`
/// as `HH:MM` (`end` may be `24:00`), `start` before `end`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "ts", ts(optional_fields = nullable))]
#[serde(deny_unknown_fields)]
pub struct WorkingHours {
    pub day: Weekday,
    pub start: String,
    pub end: String,
}

/// Whole days away, `from` to `to` inclusive (`YYYY-MM-DD`, the rep's time zone).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "ts", ts(optional_fields = nullable))]
#[serde(deny_unknown_fields)]
pub struct Absence {
    pub from: String,
    pub to: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// A rep's working week and days away. A rep without one is always on shift.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "ts", ts(optional_fields = nullable))]
#[serde(deny_unknown_fields)]
pub struct WorkSchedule {
    /// An IANA time zone name, e.g. `Europe/Berlin`.
    pub time_zone: String,
    /// Working hours; empty: no fixed hours (on shift whenever not absent).
    #[serde(default)]
    pub hours: Vec<WorkingHours>,
    #[serde(default)]
    pub absences: Vec<Absence>,
}

// ---------------------------------------------------------------------------
// Why a lead went to a rep.

/// Why a rep considered for a lead did not get it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum SkipReason {
    /// Set themself away.
    Away,
    /// Outside their working hours.
    OffShift,
    /// On a day they are away (absence).
    Absent,
    /// Already holding as many undecided leads as their cap allows.
    AtCap,
    /// Rejected this lead before.
    RejectedBefore,
    /// Let this lead's SLA run out before.
    ExpiredBefore,
    #[serde(other)]
    Unknown,
}

impl WireName for SkipReason {}

/// A rep routing looked at, in the order it looked.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "ts", ts(optional_fields = nullable))]
pub struct ConsideredRep {
    pub rep_id: RepId,
    pub rep_name: String,
    /// Absent for the rep who got the lead.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skipped: Option<SkipReason>,
}

/// The account a lead matched: the same company as a lead a rep holds.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "ts", ts(optional_fields = nullable))]
pub struct AccountMatch {
    /// The email domain or normalised company name that matched.
    pub account: String,
    pub rep_id: RepId,
    pub rep_name: String,
    /// The lead of the same account the rep holds.
    pub lead_id: LeadId,
    /// Whether the rep could take this lead (if not, round robin decided).
    pub used: bool,
}

/// Everything routing weighed to offer a lead to a rep.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "ts", ts(optional_fields = nullable))]
pub struct RoutingExplanation {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub qualification: Option<Qualification>,
    pub team: String,
    /// The routing rule that chose the team, and its conditions.
    pub rule: String,
    pub rule_detail: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account_match: Option<AccountMatch>,
    /// Every rep of the team who could not take the lead (with why) and the
    /// one who got it, in rotation order.
    pub considered: Vec<ConsideredRep>,
}

// ---------------------------------------------------------------------------
// Reminders and escalations.

/// A lead left waiting: reminded to its rep, or escalated to managers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "ts", ts(optional_fields = nullable))]
pub struct Escalation {
    pub id: i64,
    pub lead_id: LeadId,
    pub assignment_id: i64,
    pub rep_id: RepId,
    pub rep_name: String,
    pub team: String,
    /// The lead's contact name, for the notification.
    pub lead_name: String,
    pub at: Timestamp,
    pub sla_due_at: Timestamp,
}

/// `GET /v1/escalations`: SLA breaches in the caller's teams, oldest first.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "ts", ts(optional_fields = nullable))]
pub struct EscalationList {
    pub escalations: Vec<Escalation>,
    /// Pass as `after` to read newer ones.
    pub next_after: i64,
}

// ---------------------------------------------------------------------------
// Team administration.

/// Body of `POST /v1/reps`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "ts", ts(optional_fields = nullable))]
#[serde(deny_unknown_fields)]
pub struct NewRep {
    pub name: String,
    pub email: String,
    pub team: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weight: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_open: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schedule: Option<WorkSchedule>,
}

/// A rep created: their token, shown this once.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "ts", ts(optional_fields = nullable))]
pub struct RepCreated {
    pub rep: Rep,
    pub token: String,
}

/// Body of `PATCH /v1/reps/{id}`: only the fields present change.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "ts", ts(optional_fields = nullable))]
#[serde(deny_unknown_fields)]
pub struct RepUpdate {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub team: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weight: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_open: Option<u32>,
    /// `false` deactivates: tokens stop working, open leads are routed on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub active: Option<bool>,
}

/// A manager and the teams they manage (none listed: an admin, all teams).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "ts", ts(optional_fields = nullable))]
pub struct Manager {
    pub id: i64,
    pub name: String,
    pub email: String,
    pub admin: bool,
    pub teams: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "ts", ts(optional_fields = nullable))]
pub struct ManagerList {
    pub managers: Vec<Manager>,
}

/// Body of `PUT /v1/managers/{id}/scope` (admins only).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "ts", ts(optional_fields = nullable))]
#[serde(deny_unknown_fields)]
pub struct ManagerScope {
    pub admin: bool,
    pub teams: Vec<String>,
}

/// One administrative change, for the record.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "ts", ts(optional_fields = nullable))]
pub struct AuditEntry {
    pub id: i64,
    pub at: Timestamp,
    /// Who made it.
    pub actor: String,
    /// `definition.published`, `rep.created`, `rep.updated`, `rep.schedule`, `manager.scope`.
    pub action: String,
    /// What it was made to (`rep 12`, `definition v4`).
    pub subject: String,
    pub detail: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "ts", ts(optional_fields = nullable))]
pub struct AuditLog {
    pub entries: Vec<AuditEntry>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_before: Option<i64>,
}
