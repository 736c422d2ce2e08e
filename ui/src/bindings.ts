// Generated from the Rust types by src-tauri/src/view.rs (test `bindings_are_current`).
// Do not edit: run `UPDATE_BINDINGS=1 cargo test -p baton-desktop bindings`.

/**
 * The `status` event: everything the status bar, the tray and the lists
 * need to know that something changed.
 */
export type StatusView = { sync: SyncStatus, counts: InboxCounts, availability: Availability | null, };

/**
 * Who is signed in, and the profile's desktop settings.
 */
export type SessionView = { signed_in: boolean, server: string | null, 
/**
 * `rep` works the inbox; `manager` sees the review.
 */
role: Role | null, 
/**
 * The signed-in person's name (a rep's or a manager's).
 */
rep_name: string | null, 
/**
 * Where the profile lives, for the settings screen.
 */
data_dir: string, 
/**
 * `HH:MM-HH:MM`, or none.
 */
quiet_hours: string | null, 
/**
 * Whether Baton starts at login.
 */
autostart: boolean, 
/**
 * Said when the sign-in token is kept in a file rather than the
 * desktop's keychain: where, why, and how to move it.
 */
token_notice: string | null, 
/**
 * Why the signed-in profile could not be opened, if it could not.
 */
error: string | null, };

/**
 * Which leads the inbox lists.
 */
export type InboxFilter = "new" | "accepted" | "rejected" | "all";

/**
 * One window of the inbox, for the virtualised list.
 */
export type InboxPage = { rows: Array<LeadSummary>, offset: number, 
/**
 * How many leads the list holds in all, when known without counting
 * search hits (a search reports `None` and `has_more` instead).
 */
total: number | null, has_more: boolean, };

/**
 * What the shells show about syncing.
 */
export type SyncStatus = { connection: Connection, last_success?: Timestamp | null, 
/**
 * The last failure, classified; `None` after a success.
 */
problem?: Problem | null, 
/**
 * Writes the server has not recorded yet, those in their undo window included.
 */
outbox_depth: number, 
/**
 * Decisions that can still be taken back, oldest first.
 */
undoable: Array<Undoable>, 
/**
 * Grows whenever the cached leads change (a pull applied changes, a
 * decision was saved, sent or refused): a shell re-reads its lists when
 * it moves, and only then.
 */
cache_version: number, };

export type Connection = "idle" | "syncing" | "online" | "offline";

export type Problem = { kind: ProblemKind, message: string, };

/**
 * Why the last exchange with the server failed, in words a rep can act on.
 */
export type ProblemKind = "offline" | "server_error" | "incompatible_server" | "unauthorized" | "other";

/**
 * A decision still inside its undo window.
 */
export type Undoable = { lead_id: number, name: string, decision: DecisionKind, reason?: string | null, 
/**
 * When the pusher sends it; undo works until then.
 */
send_at: Timestamp, };

/**
 * What the engine tells its shells as it happens (besides [`SyncStatus`]).
 */
export type EngineEvent = { "kind": "decision_refused", lead_id: number, name: string, message: string, };

/**
 * What kind of error it is, for a shell to branch on.
 */
export type ErrorCode = "not_signed_in" | "invalid_input" | "lead_not_found" | "not_actionable" | "too_late_to_undo" | "unauthorized" | "offline" | "server_error" | "incompatible_server" | "refused" | "storage" | "profile" | "notification";

export type InboxCounts = { new: number, accepted: number, rejected: number, taken_away: number, };

/**
 * The serialised form shells show and branch on.
 */
export type ErrorView = { code: ErrorCode, message: string, };

/**
 * A row of the inbox.
 */
export type LeadSummary = { id: number, external_id: string, status: LocalStatus, name: string, company?: string | null, email?: string | null, title?: string | null, channel: string, score: number, assignment_id?: number | null, assigned_at?: Timestamp | null, sla_due_at?: Timestamp | null, decision?: DecisionKind | null, decision_reason?: string | null, decision_note?: string | null, decision_state?: DecisionState | null, 
/**
 * The server's reason for refusing the rep's decision.
 */
refused_message?: string | null, taken_away_reason?: TakeAwayReason | null, };

/**
 * One lead with everything the lead view shows.
 */
export type LeadDetail = { summary: LeadSummary, lead: Lead, history: Array<HistoryEntry>, 
/**
 * Under which definition it qualified, how to open, and why it came
 * to this rep (filled in by the engine from the cached definition).
 */
context: LeadContext, };

export type HistoryEntry = { at: Timestamp, kind: string, detail: string, };

/**
 * Where a lead stands in this rep's inbox.
 */
export type LocalStatus = "new" | "accepted" | "rejected" | "taken_away";

/**
 * Whether the server has the rep's decision yet.
 */
export type DecisionState = "pending" | "confirmed" | "refused";

/**
 * A lead with its full context and where it stands.
 */
export type Lead = { id: number, external_id: string, status: LeadStatus, source: Source, contact: Contact, score: Score, quiz: Array<QuizAnswer>, behaviours: Array<Behaviour>, intent: Intent, 
/**
 * The team the routing rules chose, once qualified.
 */
team?: string | null, 
/**
 * The current (or, once accepted, the accepting) assignment.
 */
assignment?: Assignment | null, 
/**
 * Why sales returned the lead to marketing, when it did.
 */
returned?: ReturnedToMarketing | null, 
/**
 * The definition version the lead was qualified (or not) under.
 */
qualification?: Qualification | null, created_at: Timestamp, updated_at: Timestamp, 
/**
 * Grows by one at every change of content; lets clients drop stale copies.
 */
version: number, };

/**
 * Where a lead stands in the handoff.
 */
export type LeadStatus = "nurture" | "queued" | "assigned" | "accepted" | "unknown";

/**
 * Where the lead came from.
 */
export type Source = { 
/**
 * The channel, e.g. `webinar`, `paid_search`, `referral`.
 */
channel: string, campaign?: string | null, utm_source?: string | null, utm_medium?: string | null, utm_campaign?: string | null, utm_term?: string | null, utm_content?: string | null, };

/**
 * Who the lead is. `email` or `phone` must be present.
 */
export type Contact = { name: string, email?: string | null, company?: string | null, title?: string | null, phone?: string | null, 
/**
 * ISO 3166-1 alpha-2 country code, upper case (`DE`, `US`).
 */
country?: string | null, 
/**
 * Number of employees.
 */
company_size?: number | null, };

/**
 * The lead score, 0–100, with the criteria that produced it.
 */
export type Score = { value: number, breakdown: Array<ScoreItem>, };

export type ScoreItem = { criterion: string, points: number, };

/**
 * One answer from the scorecard quiz.
 */
export type QuizAnswer = { question: string, answer: string, points?: number | null, };

/**
 * Something the lead did: visited pricing, attended a webinar, opened an email.
 */
export type Behaviour = { kind: string, at: Timestamp, detail?: string | null, };

/**
 * What the lead said they want.
 */
export type Intent = { need?: string | null, timeline?: string | null, budget?: string | null, };

/**
 * One offer of a lead to a rep: who, when, why, and how it ended.
 */
export type Assignment = { id: number, lead_id: number, rep_id: number, rep_name: string, team: string, 
/**
 * Name of the routing rule that chose the team.
 */
rule: string, 
/**
 * Human-readable account of why this rep got the lead.
 */
why: string, assigned_at: Timestamp, 
/**
 * When the offer is taken back unless accepted.
 */
sla_due_at: Timestamp, outcome: AssignmentOutcome, ended_at?: Timestamp | null, 
/**
 * What routing weighed: the rule, the reps skipped and why, the account.
 */
explanation?: RoutingExplanation | null, };

export type AssignmentOutcome = "pending" | "accepted" | "rejected" | "sla_expired" | "withdrawn" | "unknown";

/**
 * Sales gave the lead back to marketing.
 */
export type ReturnedToMarketing = { reason: string, note?: string | null, by_rep: number, at: Timestamp, };

export type DecisionKind = "accept" | "reject";

export type TakeAwayReason = "sla_expired" | "rep_changed" | "unknown";

/**
 * A rejection reason a rep can pick, as configured on the server.
 */
export type RejectReason = { code: string, label: string, 
/**
 * A rejection with this reason must carry a note.
 */
note_required: boolean, 
/**
 * "Right lead, wrong rep": the lead is routed on instead of returned to marketing.
 */
routes_on: boolean, };

export type Availability = "available" | "away";

/**
 * A point in time, milliseconds since 1970-01-01T00:00:00Z.
 * On the wire (and so in TypeScript) it is an RFC 3339 string.
 */
export type Timestamp = string;

export type Role = "rep" | "manager" | "intake";

/**
 * What the review area shows.
 */
export type ReviewData = { handoff: HandoffReport, calibration: CalibrationReport, 
/**
 * Leads waiting now for want of an eligible rep.
 */
queue: Array<QueuedLead>, 
/**
 * When the server produced these figures.
 */
fetched_at: Timestamp, 
/**
 * True when the server could not be reached and this is the last review
 * loaded (see `fetched_at` for its age).
 */
offline: boolean, };

/**
 * Which period, and the acceptance rate to calibrate for.
 */
export type ReviewQuery = { from: Timestamp, to: Timestamp, 
/**
 * One team's offers only; `None` for every team.
 */
team: string | null, target_rate: number | null, };

/**
 * The tables a review can export.
 */
export type ReviewTable = "feedback_log" | "by_rep" | "by_source" | "by_score_band" | "by_campaign" | "by_team" | "daily" | "weekly" | "reasons" | "reasons_by_rep" | "reasons_by_source" | "fairness" | "queue_waits" | "calibration" | "source_calibration";

/**
 * A lead as the review opens it: its context and everything that happened to it.
 */
export type ReviewLead = { lead: Lead, history: LeadHistory, };

export type LeadHistory = { lead_id: number, events: Array<LeadEvent>, assignments: Array<Assignment>, decisions: Array<Decision>, };

/**
 * One line of a lead's history, for the lead view and the manager's audit.
 */
export type LeadEvent = { at: Timestamp, kind: LeadEventKind, rep_id?: number | null, rep_name?: string | null, detail: string, };

export type LeadEventKind = "received" | "updated" | "nurtured" | "queued" | "assigned" | "sla_expired" | "accepted" | "rejected" | "returned_to_marketing" | "reminded" | "escalated" | "unknown";

/**
 * A decision the server recorded.
 */
export type Decision = { id: number, lead_id: number, assignment_id: number, rep_id: number, decision: DecisionKind, reason?: string | null, note?: string | null, decided_at: Timestamp, };

/**
 * A qualified lead waiting for an eligible rep.
 */
export type QueuedLead = { lead_id: number, external_id: string, name: string, company?: string | null, score: number, team: string, queued_since: Timestamp, };

/**
 * `GET /v1/reports/handoff`: how handoffs went in `[from, to)` (by assignment time).
 */
export type HandoffReport = { from: Timestamp, to: Timestamp, totals: ReportRow, by_rep: Array<ReportRow>, by_source: Array<ReportRow>, by_score_band: Array<ReportRow>, 
/**
 * One row per marketing campaign (key = campaign; `""` for leads
 * that named none).
 */
by_campaign: Array<ReportRow>, by_reason: Array<ReasonRow>, 
/**
 * One row per team (key = team name).
 */
by_team: Array<ReportRow>, 
/**
 * Rejections per rep and reason (key = rep id).
 */
reasons_by_rep: Array<ReasonSplit>, 
/**
 * Rejections per source and reason (key = channel).
 */
reasons_by_source: Array<ReasonSplit>, 
/**
 * Offers per UTC day of the period, oldest first.
 */
daily: Array<DailyRow>, 
/**
 * Offers per ISO week (Monday to Sunday, UTC; `day` is the Monday),
 * oldest first. The first and last weeks may hold only part of a week.
 */
weekly: Array<DailyRow>, 
/**
 * Per team: leads that waited in the queue for want of an eligible rep,
 * among those queued in the period.
 */
queue_waits: Array<QueueWaitRow>, 
/**
 * Offers per rep against the rep's routing weight and cap.
 */
fairness: Array<FairnessRow>, feedback_log: Array<FeedbackLogEntry>, 
/**
 * The log holds only the newest `limit` decisions.
 */
feedback_log_truncated: boolean, };

/**
 * Handoff figures for one group of assignments (a rep, a source, a score band).
 */
export type ReportRow = { key: string, label: string, 
/**
 * Offers made (one lead offered to two reps counts twice).
 */
assigned: number, accepted: number, rejected: number, 
/**
 * accepted / (accepted + rejected); absent when nothing was decided.
 */
acceptance_rate?: number | null, median_seconds_to_accept?: number | null, p90_seconds_to_accept?: number | null, sla_breaches: number, 
/**
 * Time from offer to decision (accepted or rejected), quantiles.
 * Quantiles (here and to accept) come from mergeable histograms and
 * are within 1% of the exact order statistic.
 */
median_seconds_to_decision?: number | null, p90_seconds_to_decision?: number | null, 
/**
 * Share of the decided offers decided within 5 minutes / 1 hour.
 */
decided_within_5_min?: number | null, decided_within_1_hour?: number | null, 
/**
 * Decided offers by time to decision, in the buckets of
 * [`DECISION_BUCKETS`]: ≤ 1 min, ≤ 5 min, ≤ 15 min, ≤ 1 h, ≤ 4 h,
 * ≤ 1 day, longer.
 */
decision_time_histogram: Array<number>, };

export type ReasonRow = { code: string, label: string, rejections: number, 
/**
 * Share of all rejections in the period.
 */
share: number, };

/**
 * Rejections with one reason within one group (a rep, a source).
 */
export type ReasonSplit = { key: string, label: string, code: string, reason_label: string, rejections: number, };

/**
 * One UTC day's offers (in `weekly`, one ISO week's).
 */
export type DailyRow = { 
/**
 * `YYYY-MM-DD`: the day, or the week's Monday.
 */
day: string, assigned: number, accepted: number, rejected: number, acceptance_rate?: number | null, median_seconds_to_decision?: number | null, p90_seconds_to_decision?: number | null, decided_within_1_hour?: number | null, };

/**
 * Queue waits of one team: leads that found no eligible rep (all away, at
 * their cap, or already passed on them) and waited.
 */
export type QueueWaitRow = { team: string, 
/**
 * Times a lead joined the queue in the period.
 */
queued: number, 
/**
 * Of those, left the queue to a rep.
 */
assigned: number, 
/**
 * Of those, left the queue back to marketing (score fell, or updated).
 */
withdrawn: number, 
/**
 * Of those, still waiting now.
 */
waiting: number, 
/**
 * Waits that ended, quantiles in seconds.
 */
median_wait_seconds?: number | null, p90_wait_seconds?: number | null, 
/**
 * The longest wait, ended or still going.
 */
longest_wait_seconds?: number | null, };

/**
 * Whether the router shared leads out as configured.
 */
export type FairnessRow = { rep_id: number, rep_name: string, team: string, weight: number, max_open: number, offered: number, accepted: number, 
/**
 * Offers that went on to another rep: taken back at the SLA, or
 * rejected as "right lead, wrong rep".
 */
rerouted: number, 
/**
 * The rep's share of the team's offers in the period.
 */
share_of_offers: number, 
/**
 * The rep's share of the team's routing weight now.
 */
share_of_weight: number, };

export type FeedbackLogEntry = { decision_id: number, lead_id: number, external_id: string, lead_name: string, company?: string | null, source: string, score: number, rep_id: number, rep_name: string, decision: DecisionKind, reason?: string | null, note?: string | null, assigned_at: Timestamp, decided_at: Timestamp, seconds_to_decision: number, };

/**
 * `GET /v1/reports/calibration`: what sales' decisions say about the
 * qualification threshold.
 */
export type CalibrationReport = { from: Timestamp, to: Timestamp, 
/**
 * The qualification threshold in force now.
 */
threshold: number, 
/**
 * Offers decided (accepted or rejected) in the period.
 */
decided: number, accepted: number, acceptance_rate?: number | null, by_band: Array<CalibrationBand>, 
/**
 * Present when a target acceptance rate was asked for.
 */
suggestion?: ThresholdSuggestion | null, by_source: Array<SourceCalibration>, };

/**
 * Acceptance of the offers whose lead scored in one band of ten points.
 */
export type CalibrationBand = { 
/**
 * `60-69`, …, `90-100`.
 */
band: string, 
/**
 * The band's lowest score.
 */
low: number, accepted: number, rejected: number, acceptance_rate?: number | null, };

/**
 * The threshold that would have met a target acceptance rate over the period.
 */
export type ThresholdSuggestion = { target_rate: number, 
/**
 * The lowest threshold, from the lowest decided score up, whose offers
 * were accepted at the target or better; absent when none was.
 */
threshold?: number | null, 
/**
 * The acceptance rate of the offers at or above it.
 */
acceptance_rate?: number | null, decided_at_or_above: number, 
/**
 * Leads received in the period that it would have sent to sales
 * (scored between it and the current threshold).
 */
leads_to_sales: number, 
/**
 * Leads received in the period that it would have kept from sales.
 */
leads_from_sales: number, };

/**
 * A source's rejections against what its leads' scores predict.
 */
export type SourceCalibration = { source: string, decided: number, rejected: number, 
/**
 * Rejections expected if its leads were rejected as often as all the
 * period's leads in the same score bands.
 */
expected_rejected: number, 
/**
 * rejected / expected_rejected.
 */
rejection_ratio?: number | null, 
/**
 * How many standard deviations the excess is.
 */
z_score?: number | null, 
/**
 * Rejected far more often than its scores predict (at least 20
 * decisions, 1.5 times the expected rejections, z ≥ 2).
 */
flagged: boolean, };

/**
 * Which failed intakes to list, newest first.
 */
export type FailureQuery = { 
/**
 * `failed` for the open ones (what a manager acts on), `reprocessed`
 * or `dismissed` for the settled ones; `None` for every delivery that
 * failed at first, whatever became of it.
 */
status?: ReceiptStatus | null, 
/**
 * One configured source's only.
 */
source?: string | null, 
/**
 * The page after the one whose `next_before` this is.
 */
before?: number | null, 
/**
 * How many (1 to [`FAILURES_PAGE_MAX`]; the server's default when `None`).
 */
limit?: number | null, };

/**
 * `GET /v1/intake/failures` and `GET /v1/leads/{id}/receipts`.
 */
export type IntakeReceiptList = { receipts: Array<IntakeReceipt>, 
/**
 * Pass as `before` for the next (older) page; absent on the last.
 */
next_before?: number | null, };

/**
 * One delivery from an inbound source, as stored for audit.
 */
export type IntakeReceipt = { id: number, 
/**
 * The configured source's name.
 */
source: string, 
/**
 * The provider's id for the event (or `sha256:` of the body when it names none).
 */
event_id: string, received_at: Timestamp, status: ReceiptStatus, 
/**
 * For applied deliveries: what intake did.
 */
outcome?: IntakeOutcome | null, lead_id?: number | null, 
/**
 * For failed ones: the lead field that could not be filled (`contact.email`,
 * `score.value`, or `body` when the payload is not the provider's shape).
 */
field?: string | null, message?: string | null, 
/**
 * When a manager retried or dismissed it.
 */
resolved_at?: Timestamp | null, 
/**
 * The body exactly as received (untrusted text); a lead keeps its
 * newest bodies, older ones are dropped.
 */
body?: string | null, };

/**
 * What became of one delivery.
 */
export type ReceiptStatus = "applied" | "failed" | "reprocessed" | "dismissed" | "unknown";

/**
 * What intake did with a push.
 */
export type IntakeOutcome = "created" | "updated" | "unchanged";

/**
 * The answer to `POST /v1/intake/{source}` (and to a retry).
 */
export type SourceIntakeResponse = { outcome: SourceOutcome, receipt_id: number, lead_id?: number | null, field?: string | null, message?: string | null, };

/**
 * What a source's delivery did.
 */
export type SourceOutcome = "created" | "updated" | "unchanged" | "duplicate" | "failed" | "unknown";

/**
 * What happened to a lead, as outbound events name it.
 */
export type EventType = "lead.qualified" | "lead.routed" | "lead.accepted" | "lead.rejected" | "lead.reassigned" | "lead.sla_breached" | "lead.returned_to_nurture" | "definition.published" | "Unknown";

/**
 * `POST /v1/webhooks`.
 */
export type NewWebhook = { url: string, events: Array<EventType>, description?: string | null, };

/**
 * What registering an endpoint came to.
 */
export type WebhookCreation = { "outcome": "created", webhook: WebhookEndpoint, } | { "outcome": "invalid", field: string, message: string, };

export type WebhookList = { webhooks: Array<WebhookEndpoint>, };

/**
 * A registered endpoint.
 */
export type WebhookEndpoint = { id: number, 
/**
 * Write-backs to a CRM are listed here too, with their delivery logs;
 * they are defined in the server's config, not deleted over the API.
 */
kind: EndpointKind, url: string, events: Array<EventType>, description?: string | null, 
/**
 * False once disabled (it answered 410 Gone, or failed for days).
 */
active: boolean, disabled_reason?: string | null, disabled_at?: Timestamp | null, 
/**
 * Since when every attempt has failed (absent while it succeeds).
 */
failing_since?: Timestamp | null, last_success_at?: Timestamp | null, 
/**
 * Deliveries waiting (to be sent or retried).
 */
pending: number, created_at: Timestamp, 
/**
 * The signing secret (`whsec_…`): only in the answer to `POST /v1/webhooks`.
 */
secret?: string | null, };

/**
 * What an endpoint is.
 */
export type EndpointKind = "webhook" | "hubspot" | "salesforce" | "unknown";

export type WebhookDeliveryList = { deliveries: Array<WebhookDelivery>, next_before?: number | null, };

/**
 * One event's delivery to one endpoint (`GET /v1/webhooks/{id}/deliveries`).
 */
export type WebhookDelivery = { id: number, 
/**
 * The `webhook-id` header: the same on every attempt and replay.
 */
message_id: string, event_type: EventType, lead_id: number, occurred_at: Timestamp, status: DeliveryStatus, attempts: number, next_attempt_at?: Timestamp | null, last_attempt_at?: Timestamp | null, 
/**
 * The endpoint's last HTTP status.
 */
last_status?: number | null, last_error?: string | null, delivered_at?: Timestamp | null, 
/**
 * The body sent (JSON text).
 */
payload: string, };

/**
 * Where one event's delivery to one endpoint stands.
 */
export type DeliveryStatus = "pending" | "delivered" | "failed" | "cancelled" | "unknown";

/**
 * How to import a file.
 */
export type ImportOptions = { 
/**
 * Where the leads come from: 1 to 64 of a-z, 0-9, `-` and `_`. It
 * prefixes their ids (`SOURCE:ID`), so importing the file again under
 * the same name updates them rather than adding them twice.
 */
source: string, 
/**
 * Check the file and say what would happen; write nothing.
 */
dry_run: boolean, 
/**
 * Store the leads as history: none is offered to a rep.
 */
no_route: boolean, 
/**
 * Columns for fields the server's match misses or gets wrong.
 */
mapping: Array<ColumnMapping>, 
/**
 * The most a score in the file can be (scores are scaled to 0–100).
 */
score_max?: number | null, 
/**
 * The leads' channel when no column gives one (the source's name otherwise).
 */
channel?: string | null, };

/**
 * The column that fills a lead field, where the server's own match of
 * headers to fields ("Email Address" → email) does not find it.
 */
export type ColumnMapping = { field: ImportField, 
/**
 * The column's header, as in the file's first line.
 */
header: string, };

/**
 * A lead field a CSV column can fill (the server's list, less the
 * JSON-only arrays).
 */
export type ImportField = "external_id" | "name" | "first_name" | "last_name" | "email" | "phone" | "company" | "title" | "country" | "company_size" | "score" | "channel" | "campaign" | "utm_source" | "utm_medium" | "utm_campaign" | "utm_term" | "utm_content" | "need" | "timeline" | "budget";

/**
 * What an import came to.
 */
export type CsvImport = { "outcome": "done", summary: ImportSummary, } | { "outcome": "invalid", field: string, message: string, };

/**
 * What a CSV import did (or, in a dry run, would do).
 */
export type ImportSummary = { source: string, dry_run: boolean, 
/**
 * Whether new qualified leads were offered to reps (`--no-route` imports history only).
 */
routed: boolean, 
/**
 * Rows read (the header not counted).
 */
rows: number, created: number, updated: number, unchanged: number, refused: number, 
/**
 * Each header and the lead field it was matched to.
 */
columns: Array<ImportColumn>, 
/**
 * Headers matched to no lead field (their values are not imported).
 */
ignored_columns: Array<string>, 
/**
 * The first refusals (at most 100), in file order.
 */
refusals: Array<ImportRefusal>, elapsed_ms: number, };

export type ImportColumn = { header: string, field: string, };

/**
 * One CSV row that was (or would be) refused, and why.
 */
export type ImportRefusal = { 
/**
 * The row's line in the file (the header is line 1).
 */
line: number, 
/**
 * The lead field at fault (`contact.email`, `score.value`, `external_id`).
 */
field: string, message: string, };

/**
 * What a form sent to the server came to: saved (the server's answer), or
 * one field it would not take, with why, for the form to show next to
 * that field.
 */
export type FormAnswer<T> = { "outcome": "saved", value: T, } | { "outcome": "invalid", field: string, message: string, };

/**
 * Everything the lead view shows about why the lead came to the rep.
 */
export type LeadContext = { 
/**
 * The definition version, its threshold and the lead's score then.
 */
qualification?: Qualification | null, 
/**
 * "Qualified under definition v4 — score 78 ≥ 72".
 */
qualified_line?: string | null, 
/**
 * That definition, when this client has it (it is cached once seen).
 */
definition?: Definition | null, 
/**
 * "How to open": the lines of the definition that apply to this lead.
 */
openers: Array<Opener>, 
/**
 * Why the current offer came to this rep.
 */
why?: WhyView | null, };

/**
 * Why routing offered the lead to this rep.
 */
export type WhyView = { 
/**
 * "Next in team sales' rotation — skipped: Ben off shift, Cid at cap",
 * or "Holds the account acme.io".
 */
line: string, 
/**
 * The routing rule that chose the team, with its conditions.
 */
rule?: string | null, 
/**
 * Each rep routing looked at, in the order it looked (empty when the
 * server sent no explanation).
 */
considered: Array<ConsideredView>, };

/**
 * One rep routing looked at.
 */
export type ConsideredView = { rep_id: number, rep_name: string, 
/**
 * This rep got the lead.
 */
chosen: boolean, skipped?: SkipReason | null, 
/**
 * "got the lead", "outside their working hours", …
 */
text: string, };

/**
 * Under which definition a lead was qualified (or not).
 */
export type Qualification = { version: number, threshold: number, score: number, };

/**
 * A line under "How to open": the signal the lead showed, and what to say.
 */
export type Opener = { signal: string, line: string, };

/**
 * Everything routing weighed to offer a lead to a rep.
 */
export type RoutingExplanation = { qualification?: Qualification | null, team: string, 
/**
 * The routing rule that chose the team, and its conditions.
 */
rule: string, rule_detail: string, account_match?: AccountMatch | null, 
/**
 * Every rep of the team who could not take the lead (with why) and the
 * one who got it, in rotation order.
 */
considered: Array<ConsideredRep>, };

/**
 * A rep routing looked at, in the order it looked.
 */
export type ConsideredRep = { rep_id: number, rep_name: string, 
/**
 * Absent for the rep who got the lead.
 */
skipped?: SkipReason | null, };

/**
 * Why a rep considered for a lead did not get it.
 */
export type SkipReason = "away" | "off_shift" | "absent" | "at_cap" | "rejected_before" | "expired_before" | "unknown";

/**
 * The account a lead matched: the same company as a lead a rep holds.
 */
export type AccountMatch = { 
/**
 * The email domain or normalised company name that matched.
 */
account: string, rep_id: number, rep_name: string, 
/**
 * The lead of the same account the rep holds.
 */
lead_id: number, 
/**
 * Whether the rep could take this lead (if not, round robin decided).
 */
used: boolean, };

/**
 * One published version of the definition of a qualified lead.
 */
export type Definition = { version: number, threshold: number, criteria: Array<Criterion>, reasons: Array<RejectReason>, 
/**
 * Leads arriving from this moment on are qualified under it.
 */
effective_at: Timestamp, 
/**
 * Who published it (`config file` for versions taken from the server's config).
 */
author: string, note: string, 
/**
 * What it changed against the version before, one line per change.
 */
changes: Array<string>, };

/**
 * One written criterion: what a signal is worth, why, and (optionally)
 * how a rep should open the conversation when a lead shows it.
 */
export type Criterion = { kind: CriterionKind, 
/**
 * The score item's label, the quiz question, or the intent field.
 */
key: string, 
/**
 * The answer or intent value it applies to; absent: any value.
 */
value?: string | null, 
/**
 * Points it is worth, as marketing scores it.
 */
points?: number | null, 
/**
 * Why it counts, in words both teams signed up to.
 */
meaning: string, 
/**
 * A short line telling the rep how to open when a lead shows it.
 */
opener?: string | null, };

/**
 * What a criterion of the definition looks at in a lead.
 */
export type CriterionKind = "score_item" | "quiz_answer" | "intent" | "unknown";

/**
 * A version of the definition as a manager proposes it.
 */
export type DefinitionDraft = { 
/**
 * Leads scoring at or above this go to sales.
 */
threshold: number, criteria: Array<Criterion>, reasons: Array<RejectReason>, 
/**
 * What changed and why, for the record.
 */
note: string, };

/**
 * `GET /v1/definitions`: every version, newest first.
 */
export type DefinitionList = { 
/**
 * The version in force now.
 */
in_force: number, definitions: Array<Definition>, };

/**
 * Body of `POST /v1/definitions/preview`.
 */
export type PreviewRequest = { threshold: number, from: Timestamp, to: Timestamp, };

/**
 * What a threshold would have done over a past period, against the one
 * in force: counted from the leads received and the offers decided then.
 */
export type DefinitionPreview = { from: Timestamp, to: Timestamp, current_threshold: number, proposed_threshold: number, 
/**
 * Leads received in the period.
 */
leads: number, 
/**
 * Of them, at or above the threshold in force now / the proposed one.
 */
qualified_current: number, qualified_proposed: number, 
/**
 * Would go to sales under the proposal but not now, and the reverse.
 */
newly_qualified: number, newly_unqualified: number, 
/**
 * Offers decided in the period whose lead scored at or above each threshold.
 */
decided_current: number, accepted_current: number, decided_proposed: number, accepted_proposed: number, acceptance_current?: number | null, acceptance_proposed?: number | null, };

/**
 * `GET /v1/definitions/outcomes`: each version's results, oldest first.
 */
export type VersionOutcomes = { versions: Array<VersionOutcome>, };

/**
 * Acceptance, reasons and speed of the offers made under one version.
 */
export type VersionOutcome = { version: number, threshold: number, effective_at: Timestamp, 
/**
 * Until the next version took over (absent for the one in force).
 */
until?: Timestamp | null, leads: number, qualified: number, offers: number, accepted: number, rejected: number, acceptance_rate?: number | null, 
/**
 * Median seconds from offer to decision.
 */
median_decision_secs?: number | null, 
/**
 * Rejection reasons, most frequent first: (code, count).
 */
reasons: Array<[string, number]>, };

/**
 * A rep's hours and absences as the settings show them.
 */
export type ScheduleView = { 
/**
 * `None`: no hours set, on shift whenever not away.
 */
schedule?: WorkSchedule | null, 
/**
 * Within their hours and not absent, now (as the server last said).
 */
on_shift: boolean, 
/**
 * The server could not be reached: this is the copy last seen.
 */
offline: boolean, };

/**
 * A rep's working week and days away. A rep without one is always on shift.
 */
export type WorkSchedule = { 
/**
 * An IANA time zone name, e.g. `Europe/Berlin`.
 */
time_zone: string, 
/**
 * Working hours; empty: no fixed hours (on shift whenever not absent).
 */
hours: Array<WorkingHours>, absences: Array<Absence>, };

/**
 * One stretch of a working day, in the rep's time zone: `start` and `end`
 * as `HH:MM` (`end` may be `24:00`), `start` before `end`.
 */
export type WorkingHours = { day: Weekday, start: string, end: string, };

export type Weekday = "mon" | "tue" | "wed" | "thu" | "fri" | "sat" | "sun";

/**
 * Whole days away, `from` to `to` inclusive (`YYYY-MM-DD`, the rep's time zone).
 */
export type Absence = { from: string, to: string, note?: string | null, };

/**
 * What the Team tab shows.
 */
export type TeamOverview = { 
/**
 * Who is signed in: an admin, or the teams they manage.
 */
manager: Manager, 
/**
 * The teams the manager may add reps to and move them between (an
 * admin: every team).
 */
teams: Array<Team>, 
/**
 * The reps of those teams, by team then name.
 */
reps: Array<Rep>, };

export type Team = { name: string, 
/**
 * Time a rep has to accept a lead before it is routed to the next rep.
 */
sla_seconds: number, 
/**
 * The SLA counts the offered rep's working hours only.
 */
sla_business_hours: boolean, 
/**
 * A lead of an account a rep holds goes to that rep first.
 */
account_matching: boolean, 
/**
 * Share of the SLA (percent) after which the rep is reminded; 0: never.
 */
remind_at_percent: number, };

export type Rep = { id: number, name: string, email: string, team: string, 
/**
 * Share of the team's leads relative to other reps (round-robin weight).
 */
weight: number, 
/**
 * At most this many leads awaiting this rep's decision at once.
 */
max_open: number, availability: Availability, 
/**
 * Leads currently awaiting this rep's decision.
 */
open_leads: number, 
/**
 * Working hours and absences; absent: always on shift.
 */
schedule?: WorkSchedule | null, 
/**
 * Deactivated reps take no leads and their tokens no longer work.
 */
active: boolean, 
/**
 * Within their working hours and not absent, now.
 */
on_shift: boolean, };

/**
 * A manager and the teams they manage (none listed: an admin, all teams).
 */
export type Manager = { id: number, name: string, email: string, admin: boolean, teams: Array<string>, };

/**
 * Body of `POST /v1/reps`.
 */
export type NewRep = { name: string, email: string, team: string, weight?: number | null, max_open?: number | null, schedule?: WorkSchedule | null, };

/**
 * A rep created: their token, shown this once.
 */
export type RepCreated = { rep: Rep, token: string, };

/**
 * Body of `PATCH /v1/reps/{id}`: only the fields present change.
 */
export type RepUpdate = { team?: string | null, weight?: number | null, max_open?: number | null, 
/**
 * `false` deactivates: tokens stop working, open leads are routed on.
 */
active?: boolean | null, };

export type ManagerList = { managers: Array<Manager>, };

/**
 * Body of `PUT /v1/managers/{id}/scope` (admins only).
 */
export type ManagerScope = { admin: boolean, teams: Array<string>, };

export type AuditLog = { entries: Array<AuditEntry>, next_before?: number | null, };

/**
 * One administrative change, for the record.
 */
export type AuditEntry = { id: number, at: Timestamp, 
/**
 * Who made it.
 */
actor: string, 
/**
 * `definition.published`, `rep.created`, `rep.updated`, `rep.schedule`, `manager.scope`.
 */
action: string, 
/**
 * What it was made to (`rep 12`, `definition v4`).
 */
subject: string, detail: string, };

/**
 * A release newer than the running app, as the window shows it.
 */
export type UpdateNotice = { 
/**
 * The newer version, e.g. `0.2.0`.
 */
version: string, 
/**
 * The running app's version.
 */
current: string, 
/**
 * Plain text, control characters removed, at most
 * [`DesktopRelease::MAX_NOTES_CHARS`] (the server bounds them too, but
 * what it sends is still outside text).
 */
notes: string, 
/**
 * The full notes (https), if the operator gave a page.
 */
notes_url?: string | null, 
/**
 * The download for the app's own package format (https), if the
 * operator gave one for it.
 */
download_url?: string | null, 
/**
 * The format the app was installed from, when it knows.
 */
format?: PackageFormat | null, };

/**
 * A format the desktop app is packaged in.
 */
export type PackageFormat = "deb" | "rpm" | "appimage" | "msi" | "nsis" | "dmg";

/**
 * Which of the notice's pages to open.
 */
export type UpdateLink = "download" | "notes";
