//! Storage: the narrow interface intake, routing, the feed and reports need,
//! and [`Db`], the async handle the rest of the server uses.
//!
//! Routing code is written once against [`WriteTx`]/[`ReadTx`]; a storage
//! backend only has to run those closures inside transactions (see
//! [`Storage`]). SQLite ([`sqlite::SqliteStorage`]) is the embedded default; a
//! PostgreSQL backend implements the same three traits and nothing in `api`
//! or `routing` changes. What a backend must guarantee is written on each
//! trait below.

pub mod postgres;
pub(crate) mod rows;
pub mod sqlite;
mod writer;

use std::sync::Arc;

use baton_protocol::{
    Assignment, AssignmentOutcome, Availability, Change, Decision, DecisionKind, EndpointKind,
    EventType, FeedEntry, FeedbackLogEntry, IntakeOutcome, IntakeReceipt, LeadEvent, LeadEventKind,
    LeadId, LeadIntake, LeadStatus, QueuedLead, ReceiptStatus, Rep, RepId, ReturnedToMarketing,
    Role, Team, Timestamp, WebhookDelivery, WebhookEndpoint,
};
use baton_protocol::{AuditEntry, Definition, Escalation, Manager, SkipReason};
use tokio::sync::oneshot;

#[cfg(doc)]
use crate::cells::CellPart;
use crate::cells::{CellQuery, Cells, Grain, LeadScoreKey, OfferKey, QueueEpisode};
use crate::error::{Error, Result};

/// Who a bearer token belongs to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Principal {
    pub role: Role,
    /// The rep's or manager's id; `None` for intake keys.
    pub subject_id: Option<i64>,
    pub name: String,
    /// For intake keys: the source the key was issued for. A key may create
    /// and update only its own source's leads.
    pub source: Option<String>,
    /// For managers: whether they see every team (an admin), else the
    /// teams they manage.
    pub admin: bool,
    pub teams: Vec<String>,
}

impl Principal {
    /// Whether this manager may see and administer `team`.
    pub fn manages(&self, team: &str) -> bool {
        self.role == Role::Manager && (self.admin || self.teams.iter().any(|t| t == team))
    }
}

/// A page of a rep's feed.
#[derive(Clone, Debug, Default)]
pub struct FeedSlice {
    pub entries: Vec<FeedEntry>,
    /// Entries beyond this page exist (it ended at its count or byte budget).
    pub has_more: bool,
}

/// Marks of changes other processes (the admin commands) make to the same
/// database, which a running server must notice: tokens revoked and reps added.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ChangeMarks {
    pub revoked_tokens: i64,
    pub newest_rep: RepId,
}

/// Whether the storage can still take writes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Health {
    Ok,
    /// Writes cannot be applied; the text says why.
    Unhealthy(String),
}

/// A lead as stored: the intake payload plus where it stands.
#[derive(Clone, Debug, PartialEq)]
pub struct LeadRow {
    pub id: LeadId,
    pub external_id: String,
    pub status: LeadStatus,
    pub intake: LeadIntake,
    pub payload_hash: Vec<u8>,
    pub team: Option<String>,
    /// The pending or accepted assignment.
    pub current_assignment: Option<i64>,
    pub queued_at: Option<Timestamp>,
    pub returned: Option<ReturnedToMarketing>,
    pub version: i64,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    /// The source of the intake key that created the lead (`None` for leads
    /// from before sources were recorded: the next key to update one claims it).
    pub intake_source: Option<String>,
    /// The definition version (and its threshold) the lead was qualified
    /// or not under, at its first intake.
    pub definition: Option<(u32, u32)>,
}

/// A rep who may receive a lead now, with their place in the team's rotation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RepCandidate {
    pub id: RepId,
    pub name: String,
    pub weight: u32,
    pub rr_pass: i64,
    pub open_leads: u32,
    pub max_open: u32,
    /// The rep's working hours and absences (JSON `WorkSchedule`), if set.
    pub schedule: Option<Arc<str>>,
}

/// A rep of a lead's team, as routing weighs them for that lead.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Candidate {
    pub rep: RepCandidate,
    /// Not set away.
    pub available: bool,
    /// Whether they rejected this lead before, or let it expire.
    pub passed: Option<SkipReason>,
}

#[derive(Clone, Debug)]
pub struct NewAssignment<'a> {
    pub lead_id: LeadId,
    pub rep_id: RepId,
    pub rep_name: &'a str,
    /// The lead's score, channel and campaign as they are when it is
    /// offered: the offer keeps them, so reports count it where it was.
    pub score: u32,
    pub channel: &'a str,
    pub campaign: Option<&'a str>,
    pub team: &'a str,
    pub rule: &'a str,
    pub why: &'a str,
    pub assigned_at: Timestamp,
    pub sla_due_at: Timestamp,
    /// `RoutingExplanation` as JSON.
    pub explanation: &'a str,
    /// The lead's account (accounts.rs), for matching later leads.
    pub account_key: Option<&'a str>,
    /// When to remind the rep, if the team reminds.
    pub remind_at: Option<Timestamp>,
}

/// An offer whose SLA ran out, for the team's managers.
#[derive(Clone, Debug)]
pub struct NewEscalation<'a> {
    pub lead_id: LeadId,
    pub assignment_id: i64,
    pub rep_id: RepId,
    pub team: &'a str,
    pub lead_name: &'a str,
    pub at: Timestamp,
    pub sla_due_at: Timestamp,
}

/// What a rep's record changes to (team administration).
#[derive(Clone, Debug)]
pub struct RepRecord<'a> {
    pub id: RepId,
    pub team: &'a str,
    pub weight: u32,
    pub max_open: u32,
    /// JSON `WorkSchedule`.
    pub schedule: Option<&'a str>,
    pub active: bool,
}

#[derive(Clone, Debug)]
pub struct NewDecision<'a> {
    pub lead_id: LeadId,
    pub assignment_id: i64,
    pub rep_id: RepId,
    pub decision: DecisionKind,
    pub reason: Option<&'a str>,
    pub note: Option<&'a str>,
    pub decided_at: Timestamp,
}

#[derive(Clone, Debug)]
pub struct NewRep<'a> {
    pub name: &'a str,
    pub email: &'a str,
    pub team: &'a str,
    pub weight: u32,
    pub max_open: u32,
    pub rr_pass: i64,
    pub created_at: Timestamp,
    /// JSON `WorkSchedule`.
    pub schedule: Option<&'a str>,
}

/// The first answer given to an idempotent request, replayed verbatim.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredAnswer {
    pub request_hash: Vec<u8>,
    pub status: u16,
    pub body: String,
}

/// Filter for listing leads.
#[derive(Clone, Debug, Default)]
pub struct LeadFilter {
    /// Only leads whose current assignment belongs to this rep.
    pub rep: Option<RepId>,
    pub status: Option<LeadStatus>,
    /// Only leads with a greater id (keyset paging).
    pub after: Option<LeadId>,
    pub limit: u32,
    /// Only leads routed to one of these teams (a team's manager).
    pub teams: Option<Vec<String>>,
}

pub use crate::cells::AssignmentFact;

/// Which stored deliveries of inbound sources to list, newest first.
#[derive(Clone, Debug, Default)]
pub struct ReceiptFilter {
    pub status: Option<ReceiptStatus>,
    pub source: Option<String>,
    pub lead: Option<LeadId>,
    /// Only receipts with a smaller id (keyset paging, newest first).
    pub before: Option<i64>,
    pub limit: u32,
}

/// An outbound event to record with the change it reports.
#[derive(Clone, Debug)]
pub struct NewEvent<'a> {
    pub event_type: EventType,
    pub lead_id: LeadId,
    /// The lead's source (endpoints may take only one source's leads).
    pub source: Option<&'a str>,
    pub occurred_at: Timestamp,
    /// The Standard Webhooks body: `{"type", "timestamp", "data"}`.
    pub payload: &'a str,
}

/// An endpoint to register.
#[derive(Clone, Debug)]
pub struct NewEndpoint<'a> {
    pub url: &'a str,
    pub secret: &'a str,
    pub description: Option<&'a str>,
    pub events: &'a [EventType],
    pub created_at: Timestamp,
}

/// A CRM write-back as the config defines it.
#[derive(Clone, Debug)]
pub struct CrmEndpoint<'a> {
    pub url: &'a str,
    /// Only leads from this source (`None`: every lead, by email).
    pub source: Option<&'a str>,
    pub events: &'a [EventType],
}

/// A registered endpoint with its secret (which only the worker reads).
#[derive(Clone, Debug, PartialEq)]
pub struct EndpointRow {
    pub view: WebhookEndpoint,
    pub secret: String,
}

/// A delivery the worker may send now.
#[derive(Clone, Debug, PartialEq)]
pub struct DueDelivery {
    pub id: i64,
    pub endpoint_id: i64,
    pub kind: EndpointKind,
    pub url: String,
    pub secret: String,
    pub event_id: i64,
    pub lead_id: LeadId,
    pub occurred_at: Timestamp,
    pub payload: String,
    pub attempts: u32,
    pub endpoint_failing_since: Option<Timestamp>,
}

/// What one attempt to deliver came to.
#[derive(Clone, Debug, PartialEq)]
pub enum AttemptOutcome {
    Delivered {
        status: u16,
    },
    /// Failed; try again at `next_at`.
    Retry {
        status: Option<u16>,
        error: String,
        next_at: Timestamp,
    },
    /// Failed, and that was the last attempt.
    GaveUp {
        status: Option<u16>,
        error: String,
    },
    /// Failed, and the endpoint is disabled (410 Gone, or failing for days):
    /// its other waiting deliveries fail too.
    Disable {
        status: Option<u16>,
        error: String,
        reason: String,
    },
}

/// One attempt, as the worker records it.
#[derive(Clone, Debug, PartialEq)]
pub struct AttemptRecord {
    pub delivery_id: i64,
    pub endpoint_id: i64,
    pub at: Timestamp,
    pub outcome: AttemptOutcome,
}

/// A delivery to store.
#[derive(Clone, Debug)]
pub struct NewReceipt<'a> {
    pub source: &'a str,
    pub event_id: &'a str,
    pub received_at: Timestamp,
    pub status: ReceiptStatus,
    pub outcome: Option<IntakeOutcome>,
    pub lead_id: Option<LeadId>,
    pub field: Option<&'a str>,
    pub message: Option<&'a str>,
    pub body: &'a [u8],
}

/// What the report rollups and queue waits counted a stored lead as.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LeadStanding {
    pub created_at: Timestamp,
    pub team: Option<String>,
    pub score: u32,
    pub queued_at: Option<Timestamp>,
}

impl LeadRow {
    pub fn standing(&self) -> LeadStanding {
        LeadStanding {
            created_at: self.created_at,
            team: self.team.clone(),
            score: self.intake.score.value,
            queued_at: self.queued_at,
        }
    }
}

/// Reads. A backend runs each read job against one consistent snapshot.
pub trait ReadTx {
    fn principal_by_token_hash(&self, hash: &[u8]) -> Result<Option<Principal>>;
    fn lead(&self, id: LeadId) -> Result<Option<LeadRow>>;
    fn lead_by_external_id(&self, external_id: &str) -> Result<Option<LeadRow>>;
    fn leads(&self, filter: &LeadFilter) -> Result<Vec<LeadRow>>;
    fn assignment(&self, id: i64) -> Result<Option<Assignment>>;
    fn assignments_of_lead(&self, lead: LeadId) -> Result<Vec<Assignment>>;
    /// Offers with an id above `after`, oldest first.
    fn offers_after(&self, after: i64, limit: u32) -> Result<Vec<Assignment>>;
    fn decisions_of_lead(&self, lead: LeadId) -> Result<Vec<Decision>>;
    fn events_of_lead(&self, lead: LeadId) -> Result<Vec<LeadEvent>>;
    fn rep(&self, id: RepId) -> Result<Option<Rep>>;
    fn rep_by_email(&self, email: &str) -> Result<Option<Rep>>;
    fn reps(&self) -> Result<Vec<Rep>>;
    /// Teams as the config last applied defined them.
    fn teams(&self) -> Result<Vec<Team>>;
    fn queued_leads(&self, limit: u32) -> Result<Vec<QueuedLead>>;
    /// Entries of `rep`'s feed with a sequence number above `after`, oldest
    /// first: at most `limit` of them, and no more than `max_bytes` of change
    /// JSON (the first entry is returned whatever its size).
    ///
    /// A backend must make sequence numbers visible in order: once a reader
    /// sees entry N, no entry below N may commit later. (SQLite's single
    /// writer gives this for free; PostgreSQL needs a per-rep counter row
    /// locked in the writing transaction.)
    fn feed_after(&self, rep: RepId, after: i64, limit: u32, max_bytes: usize)
    -> Result<FeedSlice>;
    /// The sequence number of `rep`'s newest feed entry (0 when none).
    fn feed_head(&self, rep: RepId) -> Result<i64>;
    /// The highest sequence number any feed has reached.
    fn feed_max_seq(&self) -> Result<i64>;
    fn next_sla_due(&self) -> Result<Option<Timestamp>>;
    fn change_marks(&self) -> Result<ChangeMarks>;
    /// Offers made in `[from, to)` (with `team`: that team's only).
    fn assignment_facts(
        &self,
        from: Timestamp,
        to: Timestamp,
        team: Option<&str>,
    ) -> Result<Vec<AssignmentFact>>;
    /// What `q` asks of the report rollups (with `team`: that team's
    /// offers and leads only); see [`CellPart`] for what each part holds.
    fn report_cells(&self, q: &CellQuery, team: Option<&str>) -> Result<Cells>;
    /// One offer as the reports group it (with its decision's reason).
    fn assignment_fact(&self, id: i64) -> Result<Option<AssignmentFact>>;
    /// What the rollups and queue waits counted lead `id` as.
    fn lead_standing(&self, id: LeadId) -> Result<Option<LeadStanding>>;
    /// Every lead's standing (to fill the rollups again).
    fn lead_standings(&self) -> Result<Vec<LeadStanding>>;
    /// The speed sketch stored in one offer cell of the rollups.
    fn rollup_speed(&self, grain: Grain, key: &OfferKey) -> Result<Option<Vec<u8>>>;
    /// Whether the rollups must be filled again from the rows (a migration
    /// changed what they hold).
    fn rollups_stale(&self) -> Result<bool>;
    /// Stays in a team's queue that began in `[from, to)`.
    fn queue_episodes(
        &self,
        from: Timestamp,
        to: Timestamp,
        team: Option<&str>,
    ) -> Result<Vec<QueueEpisode>>;
    /// Scores of the leads received in `[from, to)`, qualified or not (with
    /// `team`: only the leads routed to that team).
    fn lead_scores(&self, from: Timestamp, to: Timestamp, team: Option<&str>) -> Result<Vec<u32>>;
    fn feedback_log(
        &self,
        from: Timestamp,
        to: Timestamp,
        team: Option<&str>,
        limit: u32,
    ) -> Result<Vec<FeedbackLogEntry>>;
    fn intake_receipt(&self, id: i64) -> Result<Option<IntakeReceipt>>;
    fn intake_receipt_by_event(
        &self,
        source: &str,
        event_id: &str,
    ) -> Result<Option<IntakeReceipt>>;
    /// Receipts matching `filter`, newest first, bodies included.
    fn intake_receipts(&self, filter: &ReceiptFilter) -> Result<Vec<IntakeReceipt>>;
    /// Endpoints not deleted, oldest first, with their waiting deliveries counted.
    fn webhook_endpoints(&self) -> Result<Vec<EndpointRow>>;
    /// An endpoint not deleted.
    fn webhook_endpoint(&self, id: i64) -> Result<Option<EndpointRow>>;
    /// An endpoint's deliveries, newest first, below id `before`.
    fn webhook_deliveries(
        &self,
        endpoint: i64,
        before: Option<i64>,
        limit: u32,
    ) -> Result<Vec<WebhookDelivery>>;
    /// Deliveries due at `now`, oldest first: for each endpoint and lead
    /// only the oldest waiting one (events of a lead arrive in order).
    fn due_deliveries(&self, now: Timestamp, limit: u32) -> Result<Vec<DueDelivery>>;
    /// When the next waiting delivery falls due.
    fn next_delivery_at(&self) -> Result<Option<Timestamp>>;
    /// A published version of the definition; `None`: the one in force.
    fn definition(&self, version: Option<u32>) -> Result<Option<Definition>>;
    /// Every published version, newest first.
    fn definitions(&self) -> Result<Vec<Definition>>;
    fn managers(&self) -> Result<Vec<Manager>>;
    /// Audit entries below id `before`, newest first.
    fn audit_log(&self, before: Option<i64>, limit: u32) -> Result<Vec<AuditEntry>>;
    /// Escalations above id `after`, oldest first (with `teams`: of those teams only).
    fn escalations_after(
        &self,
        after: i64,
        teams: Option<&[String]>,
        limit: u32,
    ) -> Result<Vec<Escalation>>;
}

/// Where a feed entry's change belongs: its kind and lead, stored beside it
/// so that superseded `lead_updated` entries can be found.
pub fn feed_keys(change: &Change) -> (&'static str, Option<LeadId>) {
    match change {
        Change::LeadAssigned { lead } => ("lead_assigned", Some(lead.id)),
        Change::LeadUpdated { lead } => ("lead_updated", Some(lead.id)),
        Change::LeadTakenAway { lead_id, .. } => ("lead_taken_away", Some(*lead_id)),
        Change::DecisionRecorded { decision, .. } => ("decision_recorded", Some(decision.lead_id)),
        Change::LeadReminder { lead_id, .. } => ("lead_reminder", Some(*lead_id)),
        Change::DefinitionPublished { .. } => ("definition_published", None),
        Change::RepChanged { .. } => ("rep_changed", None),
        Change::Unknown => ("unknown", None),
    }
}

/// Writes. A backend only stores: what the report rollups and queue waits
/// gain from each write is worked out by `crate::bookkeeping`, which calls
/// the plain operations below in the same job. A backend runs each write
/// job in a transaction of its own (or a savepoint of a shared one) that
/// commits whole or not at all, one job at a time: jobs never interleave.
pub trait WriteTx: ReadTx {
    fn insert_lead(&mut self, lead: &LeadRow) -> Result<LeadId>;
    /// Writes back every mutable column of `lead`.
    fn update_lead(&mut self, lead: &LeadRow) -> Result<()>;
    /// The active reps of `team` in rotation order (pass, then id), with
    /// whether each passed on `lead` before (0: a lead nobody saw).
    fn team_candidates(&mut self, team: &str, lead: LeadId) -> Result<Vec<Candidate>>;
    /// The lowest rotation position among the team's available reps.
    fn team_min_pass(&mut self, team: &str) -> Result<Option<i64>>;
    /// The (definition version, threshold) in force, if any was published.
    fn qualification_rule(&mut self) -> Result<Option<(u32, u32)>>;
    /// Publishes a version (it is in force from its commit).
    fn insert_definition(&mut self, d: &Definition, config_hash: Option<&str>) -> Result<()>;
    /// The config hash of the newest version taken from the config file.
    fn config_definition_hash(&mut self) -> Result<Option<String>>;
    /// The rep holding an open or accepted offer of account `key` made at or
    /// after `since` (the newest), and that offer's lead.
    fn account_holder(&mut self, key: &str, since: Timestamp) -> Result<Option<(RepId, LeadId)>>;
    /// Pending offers whose reminder is due, oldest first.
    fn due_reminders(&mut self, now: Timestamp, limit: u32) -> Result<Vec<Assignment>>;
    /// The offer's reminder was sent (or is no longer wanted).
    fn clear_reminder(&mut self, assignment: i64) -> Result<()>;
    /// Writes a rep's team, weight, cap, schedule and activity.
    fn update_rep(&mut self, rep: &RepRecord<'_>) -> Result<()>;
    /// Revokes every token of a rep; how many were live.
    fn revoke_rep_tokens(&mut self, rep: RepId, at: Timestamp) -> Result<u32>;
    /// The rep's pending offers.
    fn pending_offers_of(&mut self, rep: RepId) -> Result<Vec<Assignment>>;
    fn set_manager_scope(&mut self, manager: i64, admin: bool, teams: &[String]) -> Result<bool>;
    fn append_audit(
        &mut self,
        at: Timestamp,
        actor: &str,
        action: &str,
        subject: &str,
        detail: &str,
    ) -> Result<()>;
    fn insert_escalation(&mut self, e: &NewEscalation<'_>) -> Result<i64>;
    /// The rep received an offer: one more open lead, and their new rotation position.
    fn record_offer(&mut self, rep: RepId, new_rr_pass: i64) -> Result<()>;
    /// An offer to the rep ended (decided or expired): one open lead fewer.
    fn release_offer(&mut self, rep: RepId) -> Result<()>;
    /// A rep returning from away joins the rotation no earlier than the team's
    /// lowest position, so they do not receive a burst of leads to catch up.
    fn catch_up_rotation(&mut self, rep: RepId, team: &str) -> Result<()>;
    fn set_rep_availability(&mut self, rep: RepId, availability: Availability) -> Result<()>;
    fn insert_assignment(&mut self, a: &NewAssignment<'_>) -> Result<i64>;
    fn end_assignment(&mut self, id: i64, outcome: AssignmentOutcome, at: Timestamp) -> Result<()>;
    fn due_assignments(&mut self, now: Timestamp, limit: u32) -> Result<Vec<Assignment>>;
    fn insert_decision(&mut self, d: &NewDecision<'_>) -> Result<i64>;
    /// Appends to `rep`'s feed and tells live streams once the job commits.
    ///
    /// This and the other writes that return nothing may be applied lazily
    /// (a backend may send them together with the job's next read, or at
    /// its end): their failure may surface at a later call of the same job,
    /// or fail the job after it returned. Either way the job is not kept.
    fn append_feed(&mut self, rep: RepId, at: Timestamp, change: &Change) -> Result<()>;
    /// Deletes the `lead_updated` entries for `lead` from `rep`'s feed (a newer
    /// one, carrying the whole lead, is about to supersede them).
    fn delete_feed_updates(&mut self, rep: RepId, lead: LeadId) -> Result<()>;
    /// Keeps only the newest `keep` history events of `kind` for `lead`.
    fn trim_events(&mut self, lead: LeadId, kind: LeadEventKind, keep: u32) -> Result<()>;
    /// Deletes up to `limit` stored answers created before `before`; returns how many.
    fn prune_answers(&mut self, before: Timestamp, limit: u32) -> Result<u32>;
    /// Queued leads of `team` that `rep` never rejected nor let expire,
    /// longest-waiting first.
    fn queued_leads_open_to(&mut self, rep: RepId, team: &str, limit: u32) -> Result<Vec<LeadId>>;
    /// Reps with an id above `after`.
    fn reps_after(&mut self, after: RepId) -> Result<Vec<Rep>>;
    fn append_event(
        &mut self,
        lead: LeadId,
        at: Timestamp,
        kind: LeadEventKind,
        rep: Option<RepId>,
        detail: &str,
    ) -> Result<()>;
    fn idempotent_answer(&mut self, rep: RepId, key: &str) -> Result<Option<StoredAnswer>>;
    fn store_answer(
        &mut self,
        rep: RepId,
        key: &str,
        answer: &StoredAnswer,
        at: Timestamp,
    ) -> Result<()>;
    fn teams_with_queue(&mut self) -> Result<Vec<String>>;
    /// Queued leads of `team`, longest-waiting first, after the `(queued_at,
    /// id)` position `after` (keyset paging).
    fn queued_lead_ids(
        &mut self,
        team: &str,
        after: Option<(Timestamp, LeadId)>,
        limit: u32,
    ) -> Result<Vec<(Timestamp, LeadId)>>;
    fn replace_teams(&mut self, teams: &[Team]) -> Result<()>;
    fn insert_rep(&mut self, rep: &NewRep<'_>) -> Result<RepId>;
    fn insert_manager(&mut self, name: &str, email: &str, at: Timestamp) -> Result<i64>;
    fn manager_by_email(&mut self, email: &str) -> Result<Option<i64>>;
    /// `source`: for intake keys, the source whose leads the key may write.
    fn insert_token(
        &mut self,
        hash: &[u8],
        role: Role,
        subject: Option<i64>,
        label: &str,
        source: Option<&str>,
        at: Timestamp,
    ) -> Result<()>;
    fn revoke_token(&mut self, hash: &[u8], at: Timestamp) -> Result<bool>;
    /// Adds `cells`' counts to the `grain` rollups (creating cells), and
    /// stores each sketch of `speeds` as its cell's speed sketch.
    fn add_to_rollups(
        &mut self,
        grain: Grain,
        cells: &Cells,
        speeds: &std::collections::HashMap<OfferKey, Vec<u8>>,
    ) -> Result<()>;
    /// Adds `delta` (which may be negative) to a lead-score cell.
    fn add_lead_score(&mut self, grain: Grain, key: &LeadScoreKey, delta: i64) -> Result<()>;
    /// Empties every rollup, and marks them current.
    fn clear_rollups(&mut self) -> Result<()>;
    /// A stay in `team`'s queue began.
    fn open_queue_wait(&mut self, lead: LeadId, team: &str, at: Timestamp) -> Result<()>;
    /// The lead's open queue stay ended: offered to a rep, or withdrawn.
    fn close_queue_wait(&mut self, lead: LeadId, at: Timestamp, assigned: bool) -> Result<()>;
    fn insert_intake_receipt(&mut self, r: &NewReceipt<'_>) -> Result<i64>;
    /// Records an event, and a delivery of it to each active endpoint
    /// subscribed to its type; writes nothing when none is. May be applied
    /// lazily (see [`WriteTx::append_feed`]). Tells the delivery worker
    /// after commit.
    fn emit_event(&mut self, e: &NewEvent<'_>) -> Result<()>;
    fn insert_webhook_endpoint(&mut self, e: &NewEndpoint<'_>) -> Result<i64>;
    /// Makes the config's CRM write-back of `kind` exist, active, with this
    /// address, source and events (one per kind); or deletes it (`None`).
    fn set_crm_endpoint(
        &mut self,
        kind: EndpointKind,
        crm: Option<&CrmEndpoint<'_>>,
        at: Timestamp,
    ) -> Result<()>;
    /// Marks an endpoint deleted and cancels its waiting deliveries;
    /// false when there is no such endpoint.
    fn delete_webhook_endpoint(&mut self, id: i64, at: Timestamp) -> Result<bool>;
    /// Takes a due delivery for an attempt: it is not due again before
    /// `lease_until` unless the attempt is recorded. False when it is no
    /// longer waiting and due (sent meanwhile, or cancelled).
    fn claim_delivery(&mut self, id: i64, now: Timestamp, lease_until: Timestamp) -> Result<bool>;
    fn record_delivery_attempt(&mut self, a: &AttemptRecord) -> Result<()>;
    /// Makes a delivery of `endpoint` due now again (same event, same
    /// message id); false when it has no such delivery.
    fn replay_delivery(&mut self, endpoint: i64, delivery: i64, at: Timestamp) -> Result<bool>;
    /// Writes back a receipt's status, outcome, lead, field, message and
    /// resolution time (its body and identity never change).
    fn update_intake_receipt(&mut self, r: &IntakeReceipt) -> Result<()>;
    /// Drops the bodies of `lead`'s receipts but its newest `keep`.
    fn trim_receipt_bodies(&mut self, lead: LeadId, keep: u32) -> Result<()>;
    /// Tells the SLA sweeper, after commit, that a deadline may have moved.
    fn sla_changed(&mut self);
    /// Test builds only: makes the backend misbehave on purpose
    /// (`abandon-transaction`, `kill-writer`, `fail-last-write`, `sleep-MS`), so tests can
    /// prove what callers are told when storage fails.
    #[cfg(debug_assertions)]
    fn inject_fault(&mut self, _fault: &str) -> Result<()> {
        Ok(())
    }
}

/// The rollup tables of one grain, the same in every backend's schema.
pub(crate) struct RollupTables {
    pub offers: &'static str,
    pub reasons: &'static str,
    pub scores: &'static str,
    pub lead_scores: &'static str,
}

/// Which offer cells a read of `part` takes (a `dim` condition for its SQL)
/// and whether it keeps the days apart: the trend reads the all-teams cells
/// day by day, the groupings every other cell summed over the range.
pub(crate) fn offer_dims(part: crate::cells::CellPart) -> (&'static str, bool) {
    if part == crate::cells::CellPart::Trend {
        ("dim = 'all'", true)
    } else {
        ("dim <> 'all'", false)
    }
}

pub(crate) fn rollup_tables(grain: Grain) -> RollupTables {
    match grain {
        Grain::Day => RollupTables {
            offers: "report_offers",
            reasons: "report_reasons",
            scores: "report_scores",
            lead_scores: "report_lead_scores",
        },
        Grain::Month => RollupTables {
            offers: "report_offers_monthly",
            reasons: "report_reasons_monthly",
            scores: "report_scores_monthly",
            lead_scores: "report_lead_scores_monthly",
        },
    }
}

/// What a finished write job hands back to the backend.
pub struct JobOutcome {
    /// Keep the job's writes (true) or roll them back (false).
    pub keep: bool,
    /// Called once the enclosing transaction committed (`Ok`) or failed.
    pub finish: Box<dyn FnOnce(Result<()>) + Send>,
}

pub type WriteJob = Box<dyn FnOnce(&mut dyn WriteTx) -> JobOutcome + Send>;
pub type ReadJob = Box<dyn FnOnce(Result<&dyn ReadTx>) + Send>;

/// What committed writes changed, for live listeners.
#[derive(Clone, Debug, Default)]
pub struct CommitEffects {
    pub feed_reps: Vec<RepId>,
    pub sla_changed: bool,
    /// Outbound events were recorded: the delivery worker has work.
    pub events: bool,
    /// Any rep's feed may have grown (another instance's commits were
    /// missed): every live stream reads its feed again.
    pub all_reps: bool,
}

/// A storage backend: runs jobs in transactions.
///
/// `submit_write` must not block: a backend with a full queue refuses the
/// job with [`Error::Unavailable`]. A job that panics must fail alone (its
/// writes rolled back, its caller told) and leave the backend working; if the
/// backend can no longer write at all, [`Storage::health`] says so.
pub trait Storage: Send + Sync + 'static {
    fn submit_write(&self, job: WriteJob) -> Result<()>;
    fn submit_read(&self, job: ReadJob);
    fn health(&self) -> Health;
    /// Takes no more writes, and returns once those queued are durable.
    fn close(&self);
    /// Whether this instance runs the SLA sweeper now. With several
    /// instances on one database exactly one does (a backend that serves
    /// one process only always does).
    fn runs_sweeper(&self) -> bool {
        true
    }
}

/// Opens the storage the database argument names, migrated and ready: a
/// `postgres://` URL names a PostgreSQL database, anything else a SQLite
/// file. `on_commit` hears what each commit changed (on PostgreSQL, other
/// instances' commits too); `write_queue` bounds the write jobs waiting.
pub fn open(
    db: &std::path::Path,
    write_queue: usize,
    on_commit: sqlite::CommitListener,
) -> Result<Arc<dyn Storage>> {
    let named = db.to_string_lossy();
    if postgres::is_url(&named) {
        let url = postgres::PgUrl::parse(&named)?;
        return Ok(postgres::PgStorage::open(&url, write_queue, on_commit)?);
    }
    Ok(sqlite::SqliteStorage::open(db, write_queue, on_commit)?)
}

/// The database argument as it may be shown in logs: a PostgreSQL URL
/// without its password.
pub fn describe(db: &std::path::Path) -> String {
    let named = db.to_string_lossy();
    if postgres::is_url(&named) {
        postgres::redact(&named)
    } else {
        db.display().to_string()
    }
}

/// The async handle on storage that handlers and background tasks share.
#[derive(Clone)]
pub struct Db {
    storage: Arc<dyn Storage>,
}

impl Db {
    pub fn new(storage: Arc<dyn Storage>) -> Self {
        Db { storage }
    }

    pub fn health(&self) -> Health {
        self.storage.health()
    }

    /// Whether this instance runs the SLA sweeper now.
    pub fn runs_sweeper(&self) -> bool {
        self.storage.runs_sweeper()
    }

    /// Runs `work` in a write transaction; its writes are kept only if it
    /// returns `Ok`, and the result arrives only once they are durable.
    pub async fn write<R, F>(&self, work: F) -> Result<R>
    where
        R: Send + 'static,
        F: FnOnce(&mut dyn WriteTx) -> Result<R> + Send + 'static,
    {
        let (tx, rx) = oneshot::channel();
        let job: WriteJob = Box::new(move |wtx| {
            // A panic in domain code fails this job only; the backend rolls
            // its writes back and its caller hears an internal error.
            let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| work(wtx)))
                .unwrap_or_else(|panic| {
                    let what = panic
                        .downcast_ref::<&str>()
                        .map(|s| s.to_string())
                        .or_else(|| panic.downcast_ref::<String>().cloned())
                        .unwrap_or_else(|| "unknown panic".into());
                    Err(Error::Internal(format!("a write job panicked: {what}")))
                });
            JobOutcome {
                keep: result.is_ok(),
                finish: Box::new(move |committed| {
                    let _ = tx.send(committed.and(result));
                }),
            }
        });
        self.storage.submit_write(job)?;
        // No answer: the job was dropped unrun (shutdown, or the database
        // could not start a transaction). Nothing was written.
        rx.await.map_err(|_| {
            Error::Unavailable("the write was not applied (the server is stopping or its database is busy); retry shortly")
        })?
    }

    /// Runs `work` against a consistent read snapshot.
    pub async fn read<R, F>(&self, work: F) -> Result<R>
    where
        R: Send + 'static,
        F: FnOnce(&dyn ReadTx) -> Result<R> + Send + 'static,
    {
        let (tx, rx) = oneshot::channel();
        self.storage.submit_read(Box::new(move |rtx| {
            let _ = tx.send(rtx.and_then(work));
        }));
        rx.await
            .map_err(|_| Error::Unavailable("the server is shutting down; retry shortly"))?
    }
}
