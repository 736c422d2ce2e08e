//! Baton's domain and wire types, shared by `baton-server` and every client.
//!
//! Everything here is plain data with serde derives: no I/O, no runtime. The
//! JSON shapes are documented in `docs/protocol.md` and `docs/openapi.yaml`.
//! Enums that the server may grow (statuses, change kinds, error codes) keep a
//! catch-all variant where an older client must survive a newer server.

use serde::{Deserialize, Serialize};

mod agreement;
pub mod names;
mod release;
mod time;
pub use agreement::*;
pub use names::{UnknownName, WireName};
pub use release::*;
pub use time::{Timestamp, TimestampError};

/// Server-assigned identifier of a lead.
pub type LeadId = i64;
/// Server-assigned identifier of a rep.
pub type RepId = i64;

// ---------------------------------------------------------------------------
// Intake: what marketing's systems push.

/// A qualified (or not yet qualified) lead as marketing pushes it to
/// `POST /v1/leads`. Idempotent on `external_id`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "ts", ts(optional_fields = nullable))]
#[serde(deny_unknown_fields)]
pub struct LeadIntake {
    /// Marketing's own identifier; a second push with the same id updates the lead.
    pub external_id: String,
    pub source: Source,
    pub contact: Contact,
    pub score: Score,
    #[serde(default)]
    pub quiz: Vec<QuizAnswer>,
    #[serde(default)]
    pub behaviours: Vec<Behaviour>,
    #[serde(default)]
    pub intent: Intent,
}

/// Where the lead came from.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "ts", ts(optional_fields = nullable))]
#[serde(deny_unknown_fields)]
pub struct Source {
    /// The channel, e.g. `webinar`, `paid_search`, `referral`.
    pub channel: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub campaign: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub utm_source: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub utm_medium: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub utm_campaign: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub utm_term: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub utm_content: Option<String>,
}

/// Who the lead is. `email` or `phone` must be present.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "ts", ts(optional_fields = nullable))]
#[serde(deny_unknown_fields)]
pub struct Contact {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub company: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    /// ISO 3166-1 alpha-2 country code, upper case (`DE`, `US`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
    /// Number of employees.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub company_size: Option<u32>,
}

/// The lead score, 0–100, with the criteria that produced it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "ts", ts(optional_fields = nullable))]
#[serde(deny_unknown_fields)]
pub struct Score {
    pub value: u32,
    #[serde(default)]
    pub breakdown: Vec<ScoreItem>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "ts", ts(optional_fields = nullable))]
#[serde(deny_unknown_fields)]
pub struct ScoreItem {
    pub criterion: String,
    pub points: i32,
}

/// One answer from the scorecard quiz.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "ts", ts(optional_fields = nullable))]
#[serde(deny_unknown_fields)]
pub struct QuizAnswer {
    pub question: String,
    pub answer: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub points: Option<i32>,
}

/// Something the lead did: visited pricing, attended a webinar, opened an email.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "ts", ts(optional_fields = nullable))]
#[serde(deny_unknown_fields)]
pub struct Behaviour {
    pub kind: String,
    pub at: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// What the lead said they want.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "ts", ts(optional_fields = nullable))]
#[serde(deny_unknown_fields)]
pub struct Intent {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub need: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeline: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub budget: Option<String>,
}

/// What intake did with a push.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum IntakeOutcome {
    /// A new lead.
    Created,
    /// The lead existed and its payload changed.
    Updated,
    /// The lead existed with exactly this payload: nothing changed.
    Unchanged,
}

impl WireName for IntakeOutcome {}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "ts", ts(optional_fields = nullable))]
pub struct IntakeResponse {
    pub outcome: IntakeOutcome,
    pub lead: Lead,
}

// ---------------------------------------------------------------------------
// Inbound sources: deliveries from Typeform, Tally, HubSpot and other tools
// at `POST /v1/intake/{source}`, and what became of each.

/// What became of one delivery.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum ReceiptStatus {
    /// Mapped and taken in: the lead was created, updated or already so.
    Applied,
    /// Could not be mapped to a lead; waits for a manager (fix the mapping, then retry).
    Failed,
    /// Failed at first, taken in by a manager's retry.
    Reprocessed,
    /// Failed, and a manager decided it is not a lead.
    Dismissed,
    #[serde(other)]
    Unknown,
}

impl WireName for ReceiptStatus {}

/// One delivery from an inbound source, as stored for audit.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "ts", ts(optional_fields = nullable))]
pub struct IntakeReceipt {
    pub id: i64,
    /// The configured source's name.
    pub source: String,
    /// The provider's id for the event (or `sha256:` of the body when it names none).
    pub event_id: String,
    pub received_at: Timestamp,
    pub status: ReceiptStatus,
    /// For applied deliveries: what intake did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<IntakeOutcome>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lead_id: Option<LeadId>,
    /// For failed ones: the lead field that could not be filled (`contact.email`,
    /// `score.value`, or `body` when the payload is not the provider's shape).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// When a manager retried or dismissed it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolved_at: Option<Timestamp>,
    /// The body exactly as received (untrusted text); a lead keeps its
    /// newest bodies, older ones are dropped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
}

/// `GET /v1/intake/failures` and `GET /v1/leads/{id}/receipts`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "ts", ts(optional_fields = nullable))]
pub struct IntakeReceiptList {
    pub receipts: Vec<IntakeReceipt>,
    /// Pass as `before` for the next (older) page; absent on the last.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_before: Option<i64>,
}

/// What a source's delivery did.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum SourceOutcome {
    Created,
    Updated,
    Unchanged,
    /// This event was received before; nothing changed.
    Duplicate,
    /// Stored as a failed intake for a manager: the mapping could not make a lead of it.
    Failed,
    #[serde(other)]
    Unknown,
}

impl WireName for SourceOutcome {}

/// The answer to `POST /v1/intake/{source}` (and to a retry).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "ts", ts(optional_fields = nullable))]
pub struct SourceIntakeResponse {
    pub outcome: SourceOutcome,
    pub receipt_id: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lead_id: Option<LeadId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// One CSV row that was (or would be) refused, and why.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "ts", ts(optional_fields = nullable))]
pub struct ImportRefusal {
    /// The row's line in the file (the header is line 1).
    pub line: u64,
    /// The lead field at fault (`contact.email`, `score.value`, `external_id`).
    pub field: String,
    pub message: String,
}

/// What a CSV import did (or, in a dry run, would do).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "ts", ts(optional_fields = nullable))]
pub struct ImportSummary {
    pub source: String,
    pub dry_run: bool,
    /// Whether new qualified leads were offered to reps (`--no-route` imports history only).
    pub routed: bool,
    /// Rows read (the header not counted).
    pub rows: u64,
    pub created: u64,
    pub updated: u64,
    pub unchanged: u64,
    pub refused: u64,
    /// Each header and the lead field it was matched to.
    pub columns: Vec<ImportColumn>,
    /// Headers matched to no lead field (their values are not imported).
    pub ignored_columns: Vec<String>,
    /// The first refusals (at most 100), in file order.
    pub refusals: Vec<ImportRefusal>,
    pub elapsed_ms: u64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "ts", ts(optional_fields = nullable))]
pub struct ImportColumn {
    pub header: String,
    pub field: String,
}

// ---------------------------------------------------------------------------
// Outbound events: Standard Webhooks deliveries to managers' endpoints.

/// What happened to a lead, as outbound events name it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub enum EventType {
    /// The lead's score reached the qualification threshold.
    #[serde(rename = "lead.qualified")]
    LeadQualified,
    /// The lead was offered to a rep (first offer, from the queue, or on).
    #[serde(rename = "lead.routed")]
    LeadRouted,
    #[serde(rename = "lead.accepted")]
    LeadAccepted,
    #[serde(rename = "lead.rejected")]
    LeadRejected,
    /// The lead moved from one rep to another (SLA take-back or a
    /// rejection that routes on); a `lead.routed` for the new offer is sent too.
    #[serde(rename = "lead.reassigned")]
    LeadReassigned,
    /// An offer was not accepted within its team's SLA.
    #[serde(rename = "lead.sla_breached")]
    LeadSlaBreached,
    /// The lead went back to marketing (rejected, or its score fell while queued).
    #[serde(rename = "lead.returned_to_nurture")]
    LeadReturnedToNurture,
    /// A new version of the definition of a qualified lead is in force
    /// (about no lead: its deliveries carry lead id 0).
    #[serde(rename = "definition.published")]
    DefinitionPublished,
    #[serde(other)]
    Unknown,
}

impl WireName for EventType {}

impl EventType {
    /// Every type an endpoint may subscribe to.
    pub const ALL: [EventType; 8] = [
        EventType::LeadQualified,
        EventType::LeadRouted,
        EventType::LeadAccepted,
        EventType::LeadRejected,
        EventType::LeadReassigned,
        EventType::LeadSlaBreached,
        EventType::LeadReturnedToNurture,
        EventType::DefinitionPublished,
    ];
}

/// `POST /v1/webhooks`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "ts", ts(optional_fields = nullable))]
#[serde(deny_unknown_fields)]
pub struct NewWebhook {
    pub url: String,
    pub events: Vec<EventType>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// What an endpoint is.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum EndpointKind {
    /// A manager's Standard Webhooks endpoint.
    #[default]
    Webhook,
    /// The server's HubSpot owner write-back (from its config).
    Hubspot,
    /// The server's Salesforce owner write-back (from its config).
    Salesforce,
    #[serde(other)]
    Unknown,
}

impl WireName for EndpointKind {}

/// A registered endpoint.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "ts", ts(optional_fields = nullable))]
pub struct WebhookEndpoint {
    pub id: i64,
    /// Write-backs to a CRM are listed here too, with their delivery logs;
    /// they are defined in the server's config, not deleted over the API.
    #[serde(default)]
    pub kind: EndpointKind,
    pub url: String,
    pub events: Vec<EventType>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// False once disabled (it answered 410 Gone, or failed for days).
    pub active: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disabled_reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disabled_at: Option<Timestamp>,
    /// Since when every attempt has failed (absent while it succeeds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failing_since: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_success_at: Option<Timestamp>,
    /// Deliveries waiting (to be sent or retried).
    pub pending: u32,
    pub created_at: Timestamp,
    /// The signing secret (`whsec_…`): only in the answer to `POST /v1/webhooks`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "ts", ts(optional_fields = nullable))]
pub struct WebhookList {
    pub webhooks: Vec<WebhookEndpoint>,
}

/// Where one event's delivery to one endpoint stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum DeliveryStatus {
    /// To be sent, or retried at `next_attempt_at`.
    Pending,
    Delivered,
    /// Every attempt failed (or the endpoint was disabled); a manager may replay it.
    Failed,
    /// The endpoint was deleted before it was delivered.
    Cancelled,
    #[serde(other)]
    Unknown,
}

impl WireName for DeliveryStatus {}

/// One event's delivery to one endpoint (`GET /v1/webhooks/{id}/deliveries`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "ts", ts(optional_fields = nullable))]
pub struct WebhookDelivery {
    pub id: i64,
    /// The `webhook-id` header: the same on every attempt and replay.
    pub message_id: String,
    pub event_type: EventType,
    pub lead_id: LeadId,
    pub occurred_at: Timestamp,
    pub status: DeliveryStatus,
    pub attempts: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_attempt_at: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_attempt_at: Option<Timestamp>,
    /// The endpoint's last HTTP status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_status: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delivered_at: Option<Timestamp>,
    /// The body sent (JSON text).
    pub payload: String,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "ts", ts(optional_fields = nullable))]
pub struct WebhookDeliveryList {
    pub deliveries: Vec<WebhookDelivery>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_before: Option<i64>,
}

// ---------------------------------------------------------------------------
// Leads as the server holds them.

/// Where a lead stands in the handoff.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum LeadStatus {
    /// With marketing: below the qualification threshold, or returned by sales with a reason.
    Nurture,
    /// Qualified, waiting in its team's queue for an eligible rep.
    Queued,
    /// Offered to a rep, awaiting their decision within the SLA.
    Assigned,
    /// A rep accepted it.
    Accepted,
    #[serde(other)]
    Unknown,
}

impl WireName for LeadStatus {}

/// A lead with its full context and where it stands.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "ts", ts(optional_fields = nullable))]
pub struct Lead {
    pub id: LeadId,
    pub external_id: String,
    pub status: LeadStatus,
    pub source: Source,
    pub contact: Contact,
    pub score: Score,
    pub quiz: Vec<QuizAnswer>,
    pub behaviours: Vec<Behaviour>,
    pub intent: Intent,
    /// The team the routing rules chose, once qualified.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub team: Option<String>,
    /// The current (or, once accepted, the accepting) assignment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assignment: Option<Assignment>,
    /// Why sales returned the lead to marketing, when it did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub returned: Option<ReturnedToMarketing>,
    /// The definition version the lead was qualified (or not) under.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub qualification: Option<Qualification>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    /// Grows by one at every change of content; lets clients drop stale copies.
    pub version: i64,
}

/// Sales gave the lead back to marketing.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "ts", ts(optional_fields = nullable))]
pub struct ReturnedToMarketing {
    pub reason: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    pub by_rep: RepId,
    pub at: Timestamp,
}

/// One offer of a lead to a rep: who, when, why, and how it ended.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "ts", ts(optional_fields = nullable))]
pub struct Assignment {
    pub id: i64,
    pub lead_id: LeadId,
    pub rep_id: RepId,
    pub rep_name: String,
    pub team: String,
    /// Name of the routing rule that chose the team.
    pub rule: String,
    /// Human-readable account of why this rep got the lead.
    pub why: String,
    pub assigned_at: Timestamp,
    /// When the offer is taken back unless accepted.
    pub sla_due_at: Timestamp,
    pub outcome: AssignmentOutcome,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ended_at: Option<Timestamp>,
    /// What routing weighed: the rule, the reps skipped and why, the account.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub explanation: Option<RoutingExplanation>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum AssignmentOutcome {
    Pending,
    Accepted,
    Rejected,
    SlaExpired,
    /// Taken back without a decision because the rep was deactivated.
    Withdrawn,
    #[serde(other)]
    Unknown,
}

impl WireName for AssignmentOutcome {}

/// One line of a lead's history, for the lead view and the manager's audit.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "ts", ts(optional_fields = nullable))]
pub struct LeadEvent {
    pub at: Timestamp,
    pub kind: LeadEventKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rep_id: Option<RepId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rep_name: Option<String>,
    pub detail: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum LeadEventKind {
    Received,
    Updated,
    Nurtured,
    Queued,
    Assigned,
    SlaExpired,
    Accepted,
    Rejected,
    ReturnedToMarketing,
    /// The rep was reminded of an offer left undecided.
    Reminded,
    /// The offer's SLA ran out and the team's managers were told.
    Escalated,
    #[serde(other)]
    Unknown,
}

impl WireName for LeadEventKind {}

// ---------------------------------------------------------------------------
// Feedback: the rep's decision.

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum DecisionKind {
    Accept,
    Reject,
}

impl WireName for DecisionKind {}

/// Body of `POST /v1/leads/{id}/feedback`; sent with an `Idempotency-Key` header.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "ts", ts(optional_fields = nullable))]
#[serde(deny_unknown_fields)]
pub struct FeedbackRequest {
    pub decision: DecisionKind,
    /// A rejection reason code from `GET /v1/reasons`; required to reject.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// Longest note a decision may carry, in characters.
pub const MAX_NOTE_CHARS: usize = 2000;

/// What is wrong with a decision, and in which field.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FeedbackProblem {
    pub field: &'static str,
    pub message: String,
}

impl FeedbackRequest {
    /// The rules a decision follows, shared by the server (which enforces
    /// them) and clients (which check before queueing a decision offline).
    /// `reasons` is the server's list; `None` when a client has not fetched
    /// it yet, and then only what needs no list is checked.
    pub fn check(&self, reasons: Option<&[RejectReason]>) -> Result<(), FeedbackProblem> {
        let problem = |field, message: String| Err(FeedbackProblem { field, message });
        if let Some(note) = &self.note {
            let len = note.chars().count();
            if len > MAX_NOTE_CHARS {
                return problem(
                    "note",
                    format!("is {len} characters long; at most {MAX_NOTE_CHARS} are accepted"),
                );
            }
        }
        let code = match (self.decision, self.reason.as_deref()) {
            (DecisionKind::Accept, None) => return Ok(()),
            (DecisionKind::Accept, Some(_)) => {
                return problem(
                    "reason",
                    "a reason applies to rejections only; leave it out when accepting".into(),
                );
            }
            (DecisionKind::Reject, None | Some("")) => {
                return problem(
                    "reason",
                    "a rejection needs a reason code from GET /v1/reasons".into(),
                );
            }
            (DecisionKind::Reject, Some(code)) => code,
        };
        let Some(reasons) = reasons else {
            return Ok(());
        };
        let Some(reason) = reasons.iter().find(|r| r.code == code) else {
            let codes: Vec<&str> = reasons.iter().map(|r| r.code.as_str()).collect();
            return problem(
                "reason",
                format!("unknown reason {code:?}; use one of: {}", codes.join(", ")),
            );
        };
        let has_note = self.note.as_deref().is_some_and(|n| !n.trim().is_empty());
        if reason.note_required && !has_note {
            return problem(
                "note",
                format!("the reason {code:?} needs a note saying why"),
            );
        }
        Ok(())
    }
}

/// A decision the server recorded.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "ts", ts(optional_fields = nullable))]
pub struct Decision {
    pub id: i64,
    pub lead_id: LeadId,
    pub assignment_id: i64,
    pub rep_id: RepId,
    pub decision: DecisionKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    pub decided_at: Timestamp,
}

/// What became of the lead after a decision.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum Disposition {
    /// The rep owns it now.
    Accepted,
    /// Rejected as "right lead, wrong rep": offered to the next eligible rep.
    RoutedOn,
    /// Rejected as "right lead, wrong rep", but no other rep is eligible: it waits in the queue.
    Queued,
    /// Rejected for a reason that sends it back to marketing (`nurture`).
    ReturnedToMarketing,
    #[serde(other)]
    Unknown,
}

impl WireName for Disposition {}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "ts", ts(optional_fields = nullable))]
pub struct FeedbackResponse {
    pub decision: Decision,
    pub disposition: Disposition,
}

/// A rejection reason a rep can pick, as configured on the server.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "ts", ts(optional_fields = nullable))]
pub struct RejectReason {
    pub code: String,
    pub label: String,
    /// A rejection with this reason must carry a note.
    pub note_required: bool,
    /// "Right lead, wrong rep": the lead is routed on instead of returned to marketing.
    pub routes_on: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "ts", ts(optional_fields = nullable))]
pub struct ReasonList {
    pub reasons: Vec<RejectReason>,
}

// ---------------------------------------------------------------------------
// People.

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Rep,
    Manager,
    Intake,
}

impl WireName for Role {}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum Availability {
    Available,
    Away,
}

impl WireName for Availability {}

/// Body of `PUT /v1/me/availability`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "ts", ts(optional_fields = nullable))]
#[serde(deny_unknown_fields)]
pub struct AvailabilityUpdate {
    pub availability: Availability,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "ts", ts(optional_fields = nullable))]
pub struct Rep {
    pub id: RepId,
    pub name: String,
    pub email: String,
    pub team: String,
    /// Share of the team's leads relative to other reps (round-robin weight).
    pub weight: u32,
    /// At most this many leads awaiting this rep's decision at once.
    pub max_open: u32,
    pub availability: Availability,
    /// Leads currently awaiting this rep's decision.
    pub open_leads: u32,
    /// Working hours and absences; absent: always on shift.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schedule: Option<WorkSchedule>,
    /// Deactivated reps take no leads and their tokens no longer work.
    #[serde(default = "yes")]
    pub active: bool,
    /// Within their working hours and not absent, now.
    #[serde(default = "yes")]
    pub on_shift: bool,
}

fn yes() -> bool {
    true
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "ts", ts(optional_fields = nullable))]
pub struct Team {
    pub name: String,
    /// Time a rep has to accept a lead before it is routed to the next rep.
    pub sla_seconds: u64,
    /// The SLA counts the offered rep's working hours only.
    #[serde(default)]
    pub sla_business_hours: bool,
    /// A lead of an account a rep holds goes to that rep first.
    #[serde(default)]
    pub account_matching: bool,
    /// Share of the SLA (percent) after which the rep is reminded; 0: never.
    #[serde(default)]
    pub remind_at_percent: u32,
}

/// `GET /v1/me`: who the token belongs to and what the client needs to know.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "ts", ts(optional_fields = nullable))]
pub struct Me {
    pub role: Role,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rep: Option<Rep>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub team: Option<Team>,
    /// For managers: admin or not, and the teams they manage.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manager: Option<Manager>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "ts", ts(optional_fields = nullable))]
pub struct RepList {
    pub reps: Vec<Rep>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "ts", ts(optional_fields = nullable))]
pub struct TeamList {
    pub teams: Vec<Team>,
}

/// A qualified lead waiting for an eligible rep.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "ts", ts(optional_fields = nullable))]
pub struct QueuedLead {
    pub lead_id: LeadId,
    pub external_id: String,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub company: Option<String>,
    pub score: u32,
    pub team: String,
    pub queued_since: Timestamp,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "ts", ts(optional_fields = nullable))]
pub struct QueueList {
    pub queued: Vec<QueuedLead>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "ts", ts(optional_fields = nullable))]
pub struct LeadList {
    pub leads: Vec<Lead>,
    /// Pass as `after` to read the next page; absent on the last page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_after: Option<LeadId>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "ts", ts(optional_fields = nullable))]
pub struct LeadHistory {
    pub lead_id: LeadId,
    pub events: Vec<LeadEvent>,
    pub assignments: Vec<Assignment>,
    pub decisions: Vec<Decision>,
}

// ---------------------------------------------------------------------------
// The per-rep change feed.

/// A position in a rep's change feed. Opaque to clients: store it, send it back.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(transparent)]
pub struct Cursor(pub String);

/// One change to a rep's view.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "ts", ts(optional_fields = nullable))]
pub struct FeedEntry {
    /// The cursor that resumes right after this entry.
    pub cursor: Cursor,
    pub at: Timestamp,
    pub change: Change,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Change {
    /// A lead was offered to this rep; `lead.assignment` is the offer.
    LeadAssigned { lead: Box<Lead> },
    /// Marketing pushed a changed payload for a lead this rep holds.
    LeadUpdated { lead: Box<Lead> },
    /// A lead left this rep's hands without their decision.
    LeadTakenAway {
        lead_id: LeadId,
        external_id: String,
        assignment_id: i64,
        reason: TakeAwayReason,
    },
    /// The server recorded this rep's decision on a lead.
    DecisionRecorded {
        decision: Decision,
        disposition: Disposition,
    },
    /// A lead offered to this rep is still undecided past the team's share
    /// of its SLA: notify again.
    LeadReminder {
        lead_id: LeadId,
        assignment_id: i64,
        sla_due_at: Timestamp,
    },
    /// A new version of the qualification definition is in force.
    DefinitionPublished { version: u32 },
    /// This rep's team, weight, cap, hours, absences or activity changed.
    RepChanged { rep: Box<Rep> },
    #[serde(other)]
    Unknown,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum TakeAwayReason {
    /// Not accepted within the team's SLA: routed to the next eligible rep.
    SlaExpired,
    /// The rep was deactivated, or moved to another team: routed on.
    RepChanged,
    #[serde(other)]
    Unknown,
}

impl WireName for TakeAwayReason {}

/// `GET /v1/sync`: the changes after a cursor, oldest first.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "ts", ts(optional_fields = nullable))]
pub struct SyncPage {
    pub changes: Vec<FeedEntry>,
    /// Send this as `cursor` next time (equal to the request's cursor when nothing is new).
    pub next_cursor: Cursor,
    /// More changes are waiting: ask again straight away.
    pub has_more: bool,
}

/// The first event on `GET /v1/stream`: the feed position the stream starts after.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "ts", ts(optional_fields = nullable))]
pub struct StreamReady {
    pub cursor: Cursor,
    /// Seconds between the stream's heartbeats: a client that hears
    /// nothing for a few of them treats the stream as dead and reconnects.
    /// Absent from servers before it was sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub heartbeat_secs: Option<u64>,
}

// ---------------------------------------------------------------------------
// Reports (managers).

/// `GET /v1/reports/handoff`: how handoffs went in `[from, to)` (by assignment time).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "ts", ts(optional_fields = nullable))]
pub struct HandoffReport {
    pub from: Timestamp,
    pub to: Timestamp,
    pub totals: ReportRow,
    pub by_rep: Vec<ReportRow>,
    pub by_source: Vec<ReportRow>,
    pub by_score_band: Vec<ReportRow>,
    /// One row per marketing campaign (key = campaign; `""` for leads
    /// that named none).
    #[serde(default)]
    pub by_campaign: Vec<ReportRow>,
    pub by_reason: Vec<ReasonRow>,
    /// One row per team (key = team name).
    #[serde(default)]
    pub by_team: Vec<ReportRow>,
    /// Rejections per rep and reason (key = rep id).
    #[serde(default)]
    pub reasons_by_rep: Vec<ReasonSplit>,
    /// Rejections per source and reason (key = channel).
    #[serde(default)]
    pub reasons_by_source: Vec<ReasonSplit>,
    /// Offers per UTC day of the period, oldest first.
    #[serde(default)]
    pub daily: Vec<DailyRow>,
    /// Offers per ISO week (Monday to Sunday, UTC; `day` is the Monday),
    /// oldest first. The first and last weeks may hold only part of a week.
    #[serde(default)]
    pub weekly: Vec<DailyRow>,
    /// Per team: leads that waited in the queue for want of an eligible rep,
    /// among those queued in the period.
    #[serde(default)]
    pub queue_waits: Vec<QueueWaitRow>,
    /// Offers per rep against the rep's routing weight and cap.
    #[serde(default)]
    pub fairness: Vec<FairnessRow>,
    pub feedback_log: Vec<FeedbackLogEntry>,
    /// The log holds only the newest `limit` decisions.
    pub feedback_log_truncated: bool,
}

/// Handoff figures for one group of assignments (a rep, a source, a score band).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "ts", ts(optional_fields = nullable))]
pub struct ReportRow {
    pub key: String,
    pub label: String,
    /// Offers made (one lead offered to two reps counts twice).
    pub assigned: u64,
    pub accepted: u64,
    pub rejected: u64,
    /// accepted / (accepted + rejected); absent when nothing was decided.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acceptance_rate: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub median_seconds_to_accept: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p90_seconds_to_accept: Option<f64>,
    pub sla_breaches: u64,
    /// Time from offer to decision (accepted or rejected), quantiles.
    /// Quantiles (here and to accept) come from mergeable histograms and
    /// are within 1% of the exact order statistic.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub median_seconds_to_decision: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p90_seconds_to_decision: Option<f64>,
    /// Share of the decided offers decided within 5 minutes / 1 hour.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decided_within_5_min: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decided_within_1_hour: Option<f64>,
    /// Decided offers by time to decision, in the buckets of
    /// [`DECISION_BUCKETS`]: ≤ 1 min, ≤ 5 min, ≤ 15 min, ≤ 1 h, ≤ 4 h,
    /// ≤ 1 day, longer.
    #[serde(default)]
    pub decision_time_histogram: Vec<u64>,
}

/// Upper bounds, in seconds, of the decision-time histogram's buckets; a
/// last bucket holds everything longer.
pub const DECISION_BUCKETS: [u64; 6] = [60, 300, 900, 3600, 14400, 86400];

/// Rejections with one reason within one group (a rep, a source).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ReasonSplit {
    pub key: String,
    pub label: String,
    pub code: String,
    pub reason_label: String,
    pub rejections: u64,
}

/// One UTC day's offers (in `weekly`, one ISO week's).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "ts", ts(optional_fields = nullable))]
pub struct DailyRow {
    /// `YYYY-MM-DD`: the day, or the week's Monday.
    pub day: String,
    pub assigned: u64,
    pub accepted: u64,
    pub rejected: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acceptance_rate: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub median_seconds_to_decision: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p90_seconds_to_decision: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decided_within_1_hour: Option<f64>,
}

/// Queue waits of one team: leads that found no eligible rep (all away, at
/// their cap, or already passed on them) and waited.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "ts", ts(optional_fields = nullable))]
pub struct QueueWaitRow {
    pub team: String,
    /// Times a lead joined the queue in the period.
    pub queued: u64,
    /// Of those, left the queue to a rep.
    pub assigned: u64,
    /// Of those, left the queue back to marketing (score fell, or updated).
    pub withdrawn: u64,
    /// Of those, still waiting now.
    pub waiting: u64,
    /// Waits that ended, quantiles in seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub median_wait_seconds: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p90_wait_seconds: Option<f64>,
    /// The longest wait, ended or still going.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub longest_wait_seconds: Option<f64>,
}

/// Whether the router shared leads out as configured.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct FairnessRow {
    pub rep_id: RepId,
    pub rep_name: String,
    pub team: String,
    pub weight: u32,
    pub max_open: u32,
    pub offered: u64,
    pub accepted: u64,
    /// Offers that went on to another rep: taken back at the SLA, or
    /// rejected as "right lead, wrong rep".
    pub rerouted: u64,
    /// The rep's share of the team's offers in the period.
    pub share_of_offers: f64,
    /// The rep's share of the team's routing weight now.
    pub share_of_weight: f64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "ts", ts(optional_fields = nullable))]
pub struct ReasonRow {
    pub code: String,
    pub label: String,
    pub rejections: u64,
    /// Share of all rejections in the period.
    pub share: f64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "ts", ts(optional_fields = nullable))]
pub struct FeedbackLogEntry {
    pub decision_id: i64,
    pub lead_id: LeadId,
    pub external_id: String,
    pub lead_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub company: Option<String>,
    pub source: String,
    pub score: u32,
    pub rep_id: RepId,
    pub rep_name: String,
    pub decision: DecisionKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    pub assigned_at: Timestamp,
    pub decided_at: Timestamp,
    pub seconds_to_decision: f64,
}

/// `GET /v1/reports/calibration`: what sales' decisions say about the
/// qualification threshold.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "ts", ts(optional_fields = nullable))]
pub struct CalibrationReport {
    pub from: Timestamp,
    pub to: Timestamp,
    /// The qualification threshold in force now.
    pub threshold: u32,
    /// Offers decided (accepted or rejected) in the period.
    pub decided: u64,
    pub accepted: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acceptance_rate: Option<f64>,
    pub by_band: Vec<CalibrationBand>,
    /// Present when a target acceptance rate was asked for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suggestion: Option<ThresholdSuggestion>,
    pub by_source: Vec<SourceCalibration>,
}

/// Acceptance of the offers whose lead scored in one band of ten points.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "ts", ts(optional_fields = nullable))]
pub struct CalibrationBand {
    /// `60-69`, …, `90-100`.
    pub band: String,
    /// The band's lowest score.
    pub low: u32,
    pub accepted: u64,
    pub rejected: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acceptance_rate: Option<f64>,
}

/// The threshold that would have met a target acceptance rate over the period.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "ts", ts(optional_fields = nullable))]
pub struct ThresholdSuggestion {
    pub target_rate: f64,
    /// The lowest threshold, from the lowest decided score up, whose offers
    /// were accepted at the target or better; absent when none was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub threshold: Option<u32>,
    /// The acceptance rate of the offers at or above it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acceptance_rate: Option<f64>,
    pub decided_at_or_above: u64,
    /// Leads received in the period that it would have sent to sales
    /// (scored between it and the current threshold).
    pub leads_to_sales: u64,
    /// Leads received in the period that it would have kept from sales.
    pub leads_from_sales: u64,
}

/// A source's rejections against what its leads' scores predict.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "ts", ts(optional_fields = nullable))]
pub struct SourceCalibration {
    pub source: String,
    pub decided: u64,
    pub rejected: u64,
    /// Rejections expected if its leads were rejected as often as all the
    /// period's leads in the same score bands.
    pub expected_rejected: f64,
    /// rejected / expected_rejected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rejection_ratio: Option<f64>,
    /// How many standard deviations the excess is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub z_score: Option<f64>,
    /// Rejected far more often than its scores predict (at least 20
    /// decisions, 1.5 times the expected rejections, z ≥ 2).
    pub flagged: bool,
}

// ---------------------------------------------------------------------------
// Errors.

/// Every non-2xx answer carries this body.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "ts", ts(optional_fields = nullable))]
pub struct ErrorBody {
    pub error: ApiError,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "ts", ts(optional_fields = nullable))]
pub struct ApiError {
    pub code: ErrorCode,
    /// What was wrong and what to do, for a person.
    pub message: String,
    /// The offending field as a dotted path (`contact.email`, `quiz[2].answer`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

/// Stable, machine-readable error codes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// The body is not valid JSON of the expected shape.
    InvalidBody,
    /// A field has a value the server does not accept; see `field`.
    InvalidField,
    /// A query parameter is missing or malformed; see `field`.
    InvalidQuery,
    PayloadTooLarge,
    UnsupportedMediaType,
    /// No or unknown bearer token.
    Unauthorized,
    /// The token is valid but its role may not do this.
    Forbidden,
    NotFound,
    /// The endpoint exists but does not take this HTTP method.
    MethodNotAllowed,
    /// The lead is no longer assigned to this rep (taken away, or already decided).
    LeadNotYours,
    IdempotencyKeyMissing,
    /// The idempotency key was already used for a different request.
    IdempotencyKeyReused,
    /// The server is shutting down or overloaded; retry after `Retry-After` seconds.
    Unavailable,
    /// This token sent more requests than its limit allows; retry after `Retry-After` seconds.
    RateLimited,
    /// This token already has as many live streams open as it may; close one first.
    TooManyStreams,
    /// The request (headers, body or handling) took longer than the server allows.
    RequestTimeout,
    /// The lead's `external_id` belongs to a source another intake key was issued for.
    ExternalIdTaken,
    /// The thing is no longer in a state that allows this (a dismissed failed intake retried).
    Conflict,
    Internal,
    #[serde(other)]
    Unknown,
}

impl WireName for ErrorCode {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn change_is_tagged_by_type() {
        let c = Change::LeadTakenAway {
            lead_id: 7,
            external_id: "x".into(),
            assignment_id: 3,
            reason: TakeAwayReason::SlaExpired,
        };
        let v = serde_json::to_value(&c).unwrap();
        assert_eq!(v["type"], "lead_taken_away");
        assert_eq!(v["reason"], "sla_expired");
        let back: Change = serde_json::from_value(v).unwrap();
        assert_eq!(back, c);
    }

    #[test]
    fn older_clients_survive_new_variants() {
        let c: Change = serde_json::from_str(r#"{"type":"lead_merged"}"#).unwrap();
        assert_eq!(c, Change::Unknown);
        let e: ErrorCode = serde_json::from_str(r#""tenant_suspended""#).unwrap();
        assert_eq!(e, ErrorCode::Unknown);
    }

    #[test]
    fn intake_rejects_unknown_fields() {
        let err = serde_json::from_str::<Contact>(r#"{"name":"A","emial":"a@b.c"}"#).unwrap_err();
        assert!(err.to_string().contains("emial"), "{err}");
    }

    #[test]
    fn decisions_follow_the_reason_list() {
        let reasons = [
            RejectReason {
                code: "no_budget".into(),
                label: "No budget".into(),
                note_required: false,
                routes_on: false,
            },
            RejectReason {
                code: "other".into(),
                label: "Other".into(),
                note_required: true,
                routes_on: false,
            },
        ];
        let req = |decision, reason: Option<&str>, note: Option<&str>| FeedbackRequest {
            decision,
            reason: reason.map(Into::into),
            note: note.map(Into::into),
        };
        let field = |r: Result<(), FeedbackProblem>| r.unwrap_err().field;
        let list = Some(&reasons[..]);
        assert!(
            req(DecisionKind::Accept, None, Some("booked a call"))
                .check(list)
                .is_ok()
        );
        assert_eq!(
            field(req(DecisionKind::Accept, Some("no_budget"), None).check(list)),
            "reason"
        );
        assert_eq!(
            field(req(DecisionKind::Reject, None, None).check(None)),
            "reason"
        );
        assert_eq!(
            field(req(DecisionKind::Reject, Some("nope"), None).check(list)),
            "reason"
        );
        assert!(
            req(DecisionKind::Reject, Some("nope"), None)
                .check(None)
                .is_ok(),
            "no list: no membership check"
        );
        assert_eq!(
            field(req(DecisionKind::Reject, Some("other"), Some("  ")).check(list)),
            "note"
        );
        assert!(
            req(DecisionKind::Reject, Some("other"), Some("dup"))
                .check(list)
                .is_ok()
        );
        let long = "x".repeat(MAX_NOTE_CHARS + 1);
        assert_eq!(
            field(req(DecisionKind::Accept, None, Some(&long)).check(None)),
            "note"
        );
    }

    #[test]
    fn error_code_names_match_serde() {
        for code in [
            ErrorCode::InvalidBody,
            ErrorCode::LeadNotYours,
            ErrorCode::IdempotencyKeyReused,
            ErrorCode::PayloadTooLarge,
        ] {
            let json = serde_json::to_string(&code).unwrap();
            assert_eq!(json, format!("\"{}\"", code.as_str()));
        }
    }
}
