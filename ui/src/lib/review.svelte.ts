// The manager's review: the period and target asked for, the figures the
// shell returned, and the feedback log's filters. Figures are computed by
// the server; here they are only filtered and shown.
import type { FeedbackLogEntry, ReviewData, ReviewLead, ReviewTable } from "../bindings";
import { asError, errorText, type Backend } from "./backend";
import { DefinitionState } from "./definition.svelte";
import { ImportState } from "./import.svelte";
import { IntakeState } from "./intake.svelte";
import { TeamState } from "./team.svelte";
import { WebhooksState } from "./webhooks.svelte";

export const PERIODS: [number, string][] = [
  [7, "Last 7 days"],
  [30, "Last 30 days"],
  [90, "Last 90 days"],
  [365, "Last 12 months"],
  [0, "Chosen dates…"],
];

export type LogFilter = {
  reason: string;
  rep: string;
  source: string;
  band: string;
  decision: "" | "accept" | "reject";
};

const DAY = 86_400_000;

export function band(score: number): string {
  const low = Math.min(Math.floor(Math.min(score, 100) / 10) * 10, 90);
  return low === 90 ? "90-100" : `${low}-${low + 9}`;
}

/** The log entries that pass every filter that is set. */
export function filterLog(log: FeedbackLogEntry[], f: LogFilter): FeedbackLogEntry[] {
  return log.filter(
    (e) =>
      (!f.reason || e.reason === f.reason) &&
      (!f.rep || e.rep_name === f.rep) &&
      (!f.source || e.source === f.source) &&
      (!f.band || band(e.score) === f.band) &&
      (!f.decision || e.decision === f.decision),
  );
}

export class ReviewState {
  readonly backend: Backend;
  /** Days back from now, or 0 for the chosen dates below. */
  days = $state(30);
  /** First and last UTC day (`YYYY-MM-DD`) of a chosen period, both included. */
  fromDay = $state("");
  toDay = $state("");
  /** One team's review, or every team's (""). */
  team = $state("");
  /** The teams seen in a review of every team, for the team picker. */
  teams = $state.raw<string[]>([]);
  /** Target acceptance rate in percent, or null for none. */
  target = $state<number | null>(60);
  data = $state.raw<ReviewData | null>(null);
  loading = $state(false);
  error = $state<string | null>(null);
  exported = $state<string | null>(null);
  /** A lead opened from the log, with its whole history. */
  opened = $state.raw<ReviewLead | null>(null);
  filter = $state<LogFilter>({ reason: "", rep: "", source: "", band: "", decision: "" });
  /** Deliveries from inbound sources that could not be made leads. */
  readonly intake: IntakeState;
  /** The endpoints the server sends its outbound events to. */
  readonly webhooks: WebhooksState;
  /** A CSV file of leads, checked and imported. */
  readonly imports: ImportState;
  /** The definition of a qualified lead: in force, proposed, its versions. */
  readonly definition: DefinitionState;
  /** The manager's teams: reps, managers' scopes, the audit log. */
  readonly roster: TeamState;

  constructor(backend: Backend) {
    this.backend = backend;
    this.intake = new IntakeState(backend);
    this.webhooks = new WebhooksState(backend);
    this.imports = new ImportState(backend);
    this.definition = new DefinitionState(backend);
    this.roster = new TeamState(backend);
  }

  async start(): Promise<void> {
    // The last review loaded shows at once (marked with its age), then the
    // fresh one replaces it.
    try {
      const cached = await this.backend.reviewCached();
      if (cached && !this.data) this.data = cached;
    } catch {
      // Nothing kept yet.
    }
    await this.refresh();
  }

  /** The figures, the failed intakes, the webhooks, the definition and the team, fresh. */
  async refresh(): Promise<void> {
    await Promise.all([
      this.load(),
      this.intake.load(),
      this.webhooks.load(),
      this.definition.load(this.team || null),
      this.roster.load(),
    ]);
  }

  /** Another team (or every team) chosen: its figures and its outcomes per definition. */
  async teamChanged(): Promise<void> {
    await Promise.all([this.load(), this.definition.load(this.team || null)]);
  }

  /** The calibration's suggested threshold, as a proposal in the
   * Definition tab; false when there is none. */
  async applySuggestion(): Promise<boolean> {
    const s = this.data?.calibration.suggestion;
    if (!s || s.threshold == null) return false;
    if (!this.definition.loaded) await this.definition.load(this.team || null);
    const target = Math.round(s.target_rate * 1000) / 10;
    const rate = s.acceptance_rate == null ? "" : ` (${Math.round(s.acceptance_rate * 1000) / 10}% of ${s.decided_at_or_above} decided leads accepted)`;
    this.definition.propose(
      s.threshold,
      `Threshold ${s.threshold}, from the score calibration: it would have met the ${target}% acceptance target${rate}.`,
    );
    return this.definition.draft != null;
  }

  /** The period asked for, or a message saying what is wrong with it. */
  period(now: number): { from: string; to: string } | string {
    if (this.days > 0) {
      return { from: new Date(now - this.days * DAY).toISOString(), to: new Date(now + 1000).toISOString() };
    }
    const from = Date.parse(`${this.fromDay}T00:00:00Z`);
    const last = Date.parse(`${this.toDay}T00:00:00Z`);
    if (Number.isNaN(from) || Number.isNaN(last)) return "Choose the first and the last day of the period.";
    if (last < from) return "The period's last day is before its first day.";
    return { from: new Date(from).toISOString(), to: new Date(last + DAY).toISOString() };
  }

  async load(now: number = Date.now()): Promise<void> {
    const period = this.period(now);
    if (typeof period === "string") {
      this.error = period;
      return;
    }
    this.loading = true;
    this.error = null;
    try {
      this.data = await this.backend.reviewLoad({
        ...period,
        team: this.team || null,
        target_rate: this.target === null ? null : this.target / 100,
      });
      if (!this.team) this.teams = this.data.handoff.by_team.map((t) => t.key);
    } catch (e) {
      this.error = errorText(asError(e), "review");
    } finally {
      this.loading = false;
    }
  }

  get log(): FeedbackLogEntry[] {
    return this.data ? filterLog(this.data.handoff.feedback_log, this.filter) : [];
  }

  /** Shows the notes behind a reason: the log, filtered to it. */
  showReason(code: string): void {
    this.filter = { reason: code, rep: "", source: "", band: "", decision: "reject" };
  }

  async openLead(id: number): Promise<void> {
    try {
      this.opened = await this.backend.reviewLead(id);
    } catch (e) {
      this.error = errorText(asError(e), "review");
    }
  }

  async exportTable(table: ReviewTable): Promise<void> {
    try {
      this.exported = await this.backend.reviewExport(table);
    } catch (e) {
      this.error = errorText(asError(e), "review");
    }
  }
}
