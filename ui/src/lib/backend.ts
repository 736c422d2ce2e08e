// The one boundary between the UI and the desktop shell. Components and
// stores talk to a `Backend`; the app passes the Tauri one, tests a fake.
import type {
  Availability,
  ErrorView,
  InboxFilter,
  InboxPage,
  LeadDetail,
  LeadSummary,
  RejectReason,
  ReviewData,
  ReviewLead,
  ReviewQuery,
  ReviewTable,
  SessionView,
  StatusView,
} from "../bindings";

export interface Backend {
  sessionInfo(): Promise<SessionView>;
  signIn(server: string, token: string): Promise<SessionView>;
  signOut(): Promise<SessionView>;
  status(): Promise<StatusView>;
  inbox(filter: InboxFilter, search: string | null, offset: number, limit: number): Promise<InboxPage>;
  lead(id: number): Promise<LeadDetail>;
  reasons(): Promise<RejectReason[]>;
  accept(id: number): Promise<LeadSummary>;
  reject(id: number, reason: string, note: string | null): Promise<LeadSummary>;
  setAvailability(availability: Availability): Promise<StatusView>;
  setQuietHours(window: string | null): Promise<SessionView>;
  setAutostart(enabled: boolean): Promise<SessionView>;
  syncNow(): Promise<StatusView>;
  reviewLoad(query: ReviewQuery): Promise<ReviewData>;
  reviewCached(): Promise<ReviewData | null>;
  reviewExport(table: ReviewTable): Promise<string>;
  reviewLead(id: number): Promise<ReviewLead>;
  onStatus(handler: (s: StatusView) => void): Promise<() => void>;
  onOpenLead(handler: (id: number) => void): Promise<() => void>;
}

/** Errors from the shell arrive as `{code, message}`; anything else is wrapped. */
export function asError(e: unknown): ErrorView {
  if (e && typeof e === "object" && "code" in e && "message" in e) {
    return { code: String(e.code), message: String(e.message) };
  }
  return { code: "ui", message: e instanceof Error ? e.message : String(e) };
}
