// Failed intake: deliveries from inbound sources (Typeform, Tally, HubSpot…)
// that the server could not map to a lead, as a manager works through them.
// The server decides what maps; here a row only leaves the list, or says
// why it still fails.
import type { IntakeReceipt, SourceIntakeResponse } from "../bindings";
import { asError, errorText, type Backend } from "./backend";
import { appendPage } from "./paging";

/** Failed intakes asked for at a time. */
export const FAILURES_PAGE = 100;

/** What a row says after an action on it: still failing, or an error. */
export type RowNote = { kind: "failing" | "error"; text: string };

/** The notice a retry that made a lead leaves behind. */
export function retryNotice(answer: SourceIntakeResponse): string {
  const lead = answer.lead_id != null ? ` (lead ${answer.lead_id})` : "";
  switch (answer.outcome) {
    case "created":
      return `Lead created${lead}`;
    case "updated":
      return `Lead updated${lead}`;
    case "unchanged":
      return `Lead already up to date${lead}`;
    case "duplicate":
      return `Already taken in by an earlier retry${lead}`;
    default:
      return `Delivery taken in${lead}`;
  }
}

export class IntakeState {
  readonly backend: Backend;
  /** The open failed intakes loaded so far, newest first. */
  receipts = $state.raw<IntakeReceipt[]>([]);
  /** Where the next (older) page starts; null when every one is loaded. */
  nextBefore = $state<number | null>(null);
  loaded = $state(false);
  loading = $state(false);
  /** Why the list could not be loaded. */
  error = $state<string | null>(null);
  /** What the last retry made ("Lead created"). */
  notice = $state<string | null>(null);
  /** Per row: what its last action said. */
  notes = $state.raw<Record<number, RowNote>>({});
  /** Rows with an action on its way. */
  busy = $state.raw<ReadonlySet<number>>(new Set());

  constructor(backend: Backend) {
    this.backend = backend;
  }

  /** How many are open, as the tab says it: "3", or "100+" while older ones are not loaded. */
  get count(): string {
    return `${this.receipts.length}${this.nextBefore != null ? "+" : ""}`;
  }

  /** The newest open failed intakes (the first page again). */
  async load(): Promise<void> {
    await this.fetch(null);
  }

  /** The next (older) page, after those listed. */
  async more(): Promise<void> {
    if (this.nextBefore != null && !this.loading) await this.fetch(this.nextBefore);
  }

  private async fetch(before: number | null): Promise<void> {
    this.loading = true;
    this.error = null;
    try {
      const page = await this.backend.intakeFailures({ status: "failed", source: null, before, limit: FAILURES_PAGE });
      if (before == null) {
        this.receipts = page.receipts;
        this.notes = {};
      } else {
        this.receipts = appendPage(this.receipts, page.receipts);
      }
      this.nextBefore = page.next_before ?? null;
      this.loaded = true;
    } catch (e) {
      this.error = errorText(asError(e), "review");
    } finally {
      this.loading = false;
    }
  }

  /** Maps the delivery again (after the source's mapping was fixed on the
   * server): a lead made takes the row off the list; still failing updates
   * the row's field and why. */
  async retry(id: number): Promise<void> {
    await this.act(id, async () => {
      const answer = await this.backend.retryIntake(id);
      if (answer.outcome === "failed") {
        this.receipts = this.receipts.map((r) =>
          r.id === id ? { ...r, field: answer.field ?? r.field, message: answer.message ?? r.message } : r,
        );
        this.note(id, { kind: "failing", text: `Still failing: ${answer.message ?? "the delivery still cannot be mapped"}` });
      } else {
        this.remove(id);
        this.notice = retryNotice(answer);
      }
    });
  }

  /** Not a lead: the row leaves the list. */
  async dismiss(id: number): Promise<void> {
    await this.act(id, async () => {
      await this.backend.dismissIntake(id);
      this.remove(id);
    });
  }

  private async act(id: number, action: () => Promise<void>): Promise<void> {
    if (this.busy.has(id)) return;
    this.busy = new Set([...this.busy, id]);
    this.notice = null;
    this.note(id, null);
    try {
      await action();
    } catch (e) {
      this.note(id, { kind: "error", text: errorText(asError(e), "review") });
    } finally {
      const busy = new Set(this.busy);
      busy.delete(id);
      this.busy = busy;
    }
  }

  private remove(id: number): void {
    this.receipts = this.receipts.filter((r) => r.id !== id);
    this.note(id, null);
  }

  private note(id: number, note: RowNote | null): void {
    const notes = { ...this.notes };
    if (note) notes[id] = note;
    else delete notes[id];
    this.notes = notes;
  }
}
