import { invoke } from "@tauri-apps/api/core";
import { listen } from "@tauri-apps/api/event";
import type { Backend } from "./backend";
import type { EngineEvent, StatusView, UpdateNotice } from "../bindings";

/** The header `import_csv` reads its options from (src-tauri/src/commands.rs). */
export const IMPORT_OPTIONS_HEADER = "baton-import-options";

/** JSON with every character outside ASCII escaped (`é` → `\u00e9`), as a
 * header value must be: a column may be named in any language. */
export function asciiJson(value: unknown): string {
  return JSON.stringify(value).replace(
    /[\u007f-\uffff]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
}

/** The shell's commands (src-tauri/src/commands.rs) and events. */
export const tauriBackend: Backend = {
  sessionInfo: () => invoke("session_info"),
  signIn: (server, token) => invoke("sign_in", { server, token }),
  signOut: () => invoke("sign_out"),
  status: () => invoke("status"),
  inbox: (filter, search, offset, limit) => invoke("inbox", { filter, search, offset, limit }),
  lead: (id) => invoke("lead", { id }),
  reasons: () => invoke("reasons"),
  accept: (id) => invoke("accept", { id }),
  reject: (id, reason, note) => invoke("reject", { id, reason, note }),
  undo: (id) => invoke("undo", { id }),
  setAvailability: (availability) => invoke("set_availability", { availability }),
  setQuietHours: (window) => invoke("set_quiet_hours", { window }),
  setAutostart: (enabled) => invoke("set_autostart", { enabled }),
  syncNow: () => invoke("sync_now"),
  reviewLoad: (query) => invoke("review_load", { query }),
  reviewCached: () => invoke("review_cached"),
  reviewExport: (table) => invoke("review_export", { table }),
  reviewLead: (id) => invoke("review_lead", { id }),
  intakeFailures: (query) => invoke("intake_failures", { query }),
  retryIntake: (id) => invoke("retry_intake", { id }),
  dismissIntake: (id) => invoke("dismiss_intake", { id }),
  webhooksList: () => invoke("webhooks_list"),
  webhookCreate: (webhook) => invoke("webhook_create", { webhook }),
  webhookDelete: (id) => invoke("webhook_delete", { id }),
  webhookDeliveries: (id, before, limit) => invoke("webhook_deliveries", { id, before, limit }),
  webhookReplay: (id, delivery) => invoke("webhook_replay", { id, delivery }),
  // The file travels as the request's raw body, not as JSON.
  importCsv: (file, options) =>
    invoke("import_csv", file, { headers: { [IMPORT_OPTIONS_HEADER]: asciiJson(options) } }),
  leadDefinition: (version) => invoke("lead_definition", { version }),
  mySchedule: () => invoke("my_schedule"),
  setMySchedule: (schedule) => invoke("set_my_schedule", { schedule }),
  definitionsList: () => invoke("definitions_list"),
  definitionPreview: (team, request) => invoke("definition_preview", { team, request }),
  definitionPublish: (draft) => invoke("definition_publish", { draft }),
  definitionOutcomes: (team) => invoke("definition_outcomes", { team }),
  teamOverview: () => invoke("team_overview"),
  repCreate: (rep) => invoke("rep_create", { rep }),
  repUpdate: (id, change) => invoke("rep_update", { id, change }),
  repSchedule: (id, schedule) => invoke("rep_schedule", { id, schedule }),
  managersList: () => invoke("managers_list"),
  managerScope: (id, scope) => invoke("manager_scope", { id, scope }),
  auditLog: (before, limit) => invoke("audit_log", { before, limit }),
  onStatus: (handler) => listen<StatusView>("status", (e) => handler(e.payload)),
  onOpenLead: (handler) => listen<number>("open-lead", (e) => handler(e.payload)),
  onEngine: (handler) => listen<EngineEvent>("engine", (e) => handler(e.payload)),
  updateNotice: () => invoke("update_notice"),
  openUpdate: (link) => invoke("open_update", { link }),
  onUpdate: (handler) => listen<UpdateNotice | null>("update", (e) => handler(e.payload)),
};
