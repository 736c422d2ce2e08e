// Words and numbers as a rep reads them. Pure functions, unit-tested.
import type { LeadSummary, TakeAwayReason } from "../bindings";

const MIN = 60_000;

/** "just now", "12 min", "3 h 5 min", "2 d". */
export function span(ms: number): string {
  const m = Math.floor(Math.abs(ms) / MIN);
  if (m < 1) return "under a minute";
  if (m < 60) return `${m} min`;
  const h = Math.floor(m / 60);
  if (h < 24) return m % 60 ? `${h} h ${m % 60} min` : `${h} h`;
  const d = Math.floor(h / 24);
  return `${d} d`;
}

export function ago(at: string | null | undefined, now: number): string {
  if (!at) return "";
  const ms = now - Date.parse(at);
  return ms < MIN ? "just now" : `${span(ms)} ago`;
}

export type SlaState = { text: string; level: "ok" | "soon" | "late" | "none" };

/** How long the rep has left to decide before the lead is routed on. */
export function sla(lead: Pick<LeadSummary, "status" | "sla_due_at">, now: number): SlaState {
  if (lead.status !== "new" || !lead.sla_due_at) return { text: "", level: "none" };
  const left = Date.parse(lead.sla_due_at) - now;
  if (left <= 0) return { text: "SLA passed", level: "late" };
  return { text: `SLA in ${span(left)}`, level: left <= 10 * MIN ? "soon" : "ok" };
}

/** "assigned 12 min ago · SLA in 48 min" */
export function timing(lead: LeadSummary, now: number): string {
  const parts = [];
  if (lead.assigned_at) parts.push(`assigned ${ago(lead.assigned_at, now)}`);
  const s = sla(lead, now).text;
  if (s) parts.push(s);
  return parts.join(" · ");
}

export function scoreBand(score: number): "hot" | "warm" | "cool" {
  return score >= 80 ? "hot" : score >= 50 ? "warm" : "cool";
}

const BAND_WORDS = { hot: "Hot", warm: "Warm", cool: "Cool" } as const;

/** The band in a word, shown on the score's badge: its colour is never the
 * only signal. */
export function bandWord(score: number): string {
  return BAND_WORDS[scoreBand(score)];
}

/** What the warning sign beside an SLA that is nearly out ("soon") or out
 * ("late") says to a screen reader; nothing for the others. */
export function slaUrgency(level: SlaState["level"]): string | null {
  return level === "soon" ? "Due soon" : level === "late" ? "Overdue" : null;
}

/** `paid_search` → "Paid search". */
export function humanize(code: string): string {
  const s = code.replace(/[_-]+/g, " ").trim();
  return s.charAt(0).toUpperCase() + s.slice(1);
}

export function takenAwayText(r: TakeAwayReason | null | undefined): string {
  switch (r) {
    case "sla_expired":
      return "Taken away: the SLA ran out and the lead went to the next rep";
    case "rep_changed":
      return "Taken away: you were moved to another team or deactivated, and the lead went to another rep";
    default:
      return "Taken away from you";
  }
}

/** What the row says about a lead that is no longer awaiting a decision. */
export function outcome(lead: LeadSummary): string {
  if (lead.decision_state === "refused") return "Refused by the server";
  if (lead.status === "taken_away") return takenAwayText(lead.taken_away_reason);
  const pending = lead.decision_state === "pending" ? " · sending" : "";
  if (lead.status === "accepted") return `Accepted${pending}`;
  if (lead.status === "rejected") {
    const why = lead.decision_reason ? `: ${humanize(lead.decision_reason)}` : "";
    return `Rejected${why}${pending}`;
  }
  return "";
}

export function dateTime(at: string | null | undefined): string {
  if (!at) return "";
  const d = new Date(at);
  return d.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
}

/** Whole seconds until `at` (ms since the epoch), never below zero: the
 * countdown of a decision's undo window. */
export function secondsLeft(at: number, now: number): number {
  return Math.max(0, Math.ceil((at - now) / 1000));
}
