// The one boundary between the UI and the desktop shell. Components and
// stores talk to a `Backend`; the app passes the Tauri one, tests a fake.
import type {
  AuditLog,
  Availability,
  CsvImport,
  Definition,
  DefinitionDraft,
  DefinitionList,
  DefinitionPreview,
  EngineEvent,
  ErrorCode,
  FailureQuery,
  FormAnswer,
  ImportOptions,
  InboxFilter,
  InboxPage,
  IntakeReceipt,
  IntakeReceiptList,
  LeadDetail,
  LeadSummary,
  Manager,
  ManagerList,
  ManagerScope,
  NewRep,
  NewWebhook,
  PreviewRequest,
  RejectReason,
  Rep,
  RepCreated,
  RepUpdate,
  ReviewData,
  ReviewLead,
  ReviewQuery,
  ReviewTable,
  ScheduleView,
  SessionView,
  SourceIntakeResponse,
  StatusView,
  TeamOverview,
  UpdateLink,
  UpdateNotice,
  VersionOutcomes,
  WebhookCreation,
  WebhookDelivery,
  WebhookDeliveryList,
  WebhookList,
  WorkSchedule,
} from "../bindings";

export interface Backend {
  sessionInfo(): Promise<SessionView>;
  signIn(server: string, token: string): Promise<SessionView>;
  signOut(): Promise<SessionView>;
  status(): Promise<StatusView>;
  inbox(filter: InboxFilter, search: string | null, offset: number, limit: number): Promise<InboxPage>;
  lead(id: number): Promise<LeadDetail>;
  reasons(): Promise<RejectReason[]>;
  /** Durable at once; the engine sends it when its undo window ends. */
  accept(id: number): Promise<LeadSummary>;
  /** Durable at once; the engine sends it when its undo window ends. */
  reject(id: number, reason: string, note: string | null): Promise<LeadSummary>;
  /** Takes a decision back while it is undoable; `too_late_to_undo` after. */
  undo(id: number): Promise<LeadSummary>;
  setAvailability(availability: Availability): Promise<StatusView>;
  setQuietHours(window: string | null): Promise<SessionView>;
  setAutostart(enabled: boolean): Promise<SessionView>;
  syncNow(): Promise<StatusView>;
  reviewLoad(query: ReviewQuery): Promise<ReviewData>;
  reviewCached(): Promise<ReviewData | null>;
  reviewExport(table: ReviewTable): Promise<string>;
  reviewLead(id: number): Promise<ReviewLead>;
  /** Deliveries from inbound sources that could not be mapped to a lead, newest first. */
  intakeFailures(query: FailureQuery): Promise<IntakeReceiptList>;
  /** Maps a failed intake again; still failing is an answer (outcome `failed`), not an error. */
  retryIntake(id: number): Promise<SourceIntakeResponse>;
  /** Not a lead: the failed intake leaves the open ones. */
  dismissIntake(id: number): Promise<IntakeReceipt>;
  /** The endpoints the server sends its outbound events to (never their secrets). */
  webhooksList(): Promise<WebhookList>;
  /** Registers an endpoint: the answer holds its signing secret, shown this once;
   * a field the server refuses is an answer (`invalid`), not an error. */
  webhookCreate(webhook: NewWebhook): Promise<WebhookCreation>;
  /** Nothing more is sent to the endpoint; one already deleted counts as done. */
  webhookDelete(id: number): Promise<void>;
  /** One endpoint's deliveries, newest first. */
  webhookDeliveries(id: number, before: number | null, limit: number | null): Promise<WebhookDeliveryList>;
  /** Sends a delivery again (pending in the answer); refused when the endpoint was disabled. */
  webhookReplay(id: number, delivery: number): Promise<WebhookDelivery>;
  /** Imports a CSV file of leads (a dry run writes nothing); a control the
   * server refuses (`header`, `mapping`, `file`, `source`…) is an answer
   * (`invalid`), not an error. */
  importCsv(file: Uint8Array, options: ImportOptions): Promise<CsvImport>;
  /** A version of the definition a lead qualified under (cached, or fetched). */
  leadDefinition(version: number): Promise<Definition>;
  /** The rep's own working hours and absences (the last copy seen, offline). */
  mySchedule(): Promise<ScheduleView>;
  /** Sets (or with null clears) them; a field the server refuses is an answer (`invalid`). */
  setMySchedule(schedule: WorkSchedule | null): Promise<FormAnswer<ScheduleView>>;
  /** Every version of the definition, newest first, and the one in force. */
  definitionsList(): Promise<DefinitionList>;
  /** What a proposed threshold would have done over a past period. */
  definitionPreview(team: string | null, request: PreviewRequest): Promise<FormAnswer<DefinitionPreview>>;
  /** Publishes the next version (admins only); a field the server refuses is an answer. */
  definitionPublish(draft: DefinitionDraft): Promise<FormAnswer<Definition>>;
  /** Acceptance, reasons and speed under each version, oldest first. */
  definitionOutcomes(team: string | null): Promise<VersionOutcomes>;
  /** The signed-in manager, the teams they manage and those teams' reps. */
  teamOverview(): Promise<TeamOverview>;
  /** Adds a rep: the answer holds their token, shown this once. */
  repCreate(rep: NewRep): Promise<FormAnswer<RepCreated>>;
  /** Team, weight, cap; `active: false` deactivates. */
  repUpdate(id: number, change: RepUpdate): Promise<FormAnswer<Rep>>;
  /** A rep's hours and absences (null clears them). */
  repSchedule(id: number, schedule: WorkSchedule | null): Promise<FormAnswer<Rep>>;
  /** Every manager and their scope (admins only). */
  managersList(): Promise<ManagerList>;
  managerScope(id: number, scope: ManagerScope): Promise<FormAnswer<Manager>>;
  /** Administrative changes, newest first (admins only). */
  auditLog(before: number | null, limit: number | null): Promise<AuditLog>;
  onStatus(handler: (s: StatusView) => void): Promise<() => void>;
  onOpenLead(handler: (id: number) => void): Promise<() => void>;
  /** What the engine reports as it happens (a refused decision). */
  onEngine(handler: (e: EngineEvent) => void): Promise<() => void>;
  /** A newer desktop release the server announces, if the last check found one. */
  updateNotice(): Promise<UpdateNotice | null>;
  /** Opens the announced download or notes page in the system's browser. */
  openUpdate(link: UpdateLink): Promise<void>;
  /** Each update check's answer (null: this app is current). */
  onUpdate(handler: (n: UpdateNotice | null) => void): Promise<() => void>;
}

/** An error as the UI handles it: the shell's codes, or `ui` for the rest. */
export type UiError = { code: ErrorCode | "ui"; message: string };

// Every code the shell can send. A `Record` over the generated union makes
// `npm run check` fail when Rust adds (or drops) a code until this is updated.
const CODES = {
  not_signed_in: true,
  invalid_input: true,
  lead_not_found: true,
  not_actionable: true,
  too_late_to_undo: true,
  unauthorized: true,
  offline: true,
  server_error: true,
  incompatible_server: true,
  refused: true,
  storage: true,
  profile: true,
  notification: true,
} as const satisfies Record<ErrorCode, true>;

export const ERROR_CODES: readonly ErrorCode[] = Object.keys(CODES) as ErrorCode[];

function isErrorCode(c: unknown): c is ErrorCode {
  return typeof c === "string" && (ERROR_CODES as readonly string[]).includes(c);
}

/** Errors from the shell arrive as `{code, message}`; anything else is `ui`. */
export function asError(e: unknown): UiError {
  if (e && typeof e === "object" && "message" in e) {
    const code = "code" in e && isErrorCode(e.code) ? e.code : "ui";
    return { code, message: String(e.message) };
  }
  return { code: "ui", message: String(e) };
}

/** Where an error is shown: what the rep can do about it differs. */
export type ErrorPlace = "inbox" | "sign_in" | "review";

/** What the rep reads for an error: what happened, and what to do. */
export function errorText(e: UiError, place: ErrorPlace = "inbox"): string {
  switch (e.code) {
    case "too_late_to_undo":
      return "Too late to undo: it was already sent.";
    case "offline":
      if (place === "sign_in") return `${e.message} — check the server address and your connection.`;
      if (place === "review") return `${e.message} — the review loads once the connection returns.`;
      return `${e.message} — working offline; decisions are saved and sent when the connection returns.`;
    case "incompatible_server":
      return `${e.message} — update Baton or ask your admin.`;
    case "unauthorized":
      if (place === "sign_in") return `${e.message} — check the token with your admin.`;
      return `${e.message} — sign in again.`;
    default:
      return e.message;
  }
}
