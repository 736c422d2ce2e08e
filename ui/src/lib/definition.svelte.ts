// The definition of a qualified lead in the manager's review: the version
// in force and its history, the outcomes under each, and a proposal being
// edited, previewed over a past period and published (admins). The server
// counts the preview and checks the draft; here they are only gathered and
// shown, its refusals next to the field it named (`criteria[2].key`).
import type {
  Criterion,
  CriterionKind,
  Definition,
  DefinitionDraft,
  DefinitionPreview,
  RejectReason,
  VersionOutcome,
} from "../bindings";
import { asError, errorText, type Backend } from "./backend";

// Every kind in words. A `Record` over the generated union makes `npm run
// check` fail when Rust adds (or drops) one until this is updated.
const KIND_LABELS = {
  score_item: "Score item",
  quiz_answer: "Quiz answer",
  intent: "Intent",
  unknown: "A kind this app does not know",
} as const satisfies Record<CriterionKind, string>;

/** The kinds a manager may write a criterion of. */
export const CRITERION_KINDS: readonly CriterionKind[] = (Object.keys(KIND_LABELS) as CriterionKind[]).filter(
  (k) => k !== "unknown",
);

export function kindLabel(k: CriterionKind): string {
  return KIND_LABELS[k] ?? KIND_LABELS.unknown;
}

/** What a criterion looks for: "How big is your team? = 50-200", or its key alone (any value). */
export function signal(c: Pick<Criterion, "key" | "value">): string {
  return c.value != null && c.value !== "" ? `${c.key} = ${c.value}` : c.key;
}

/** A criterion as the editor holds it (empty text: none). */
export type CriterionForm = {
  kind: CriterionKind;
  key: string;
  value: string;
  points: number | null;
  meaning: string;
  opener: string;
};

/** A proposal being edited, based on a published version. */
export type DraftForm = {
  basedOn: number;
  threshold: number | null;
  criteria: CriterionForm[];
  reasons: RejectReason[];
  note: string;
};

export function draftFrom(d: Definition): DraftForm {
  return {
    basedOn: d.version,
    threshold: d.threshold,
    criteria: d.criteria.map((c) => ({
      kind: c.kind,
      key: c.key,
      value: c.value ?? "",
      points: c.points ?? null,
      meaning: c.meaning,
      opener: c.opener ?? "",
    })),
    reasons: d.reasons.map((r) => ({ ...r })),
    note: "",
  };
}

/** What is sent: blanks are left for baton-core to drop (no value: any
 * answer; no opener: no line under "How to open"). */
export function draftOf(f: DraftForm): DefinitionDraft {
  return {
    threshold: f.threshold ?? 0,
    criteria: f.criteria.map((c) => ({
      kind: c.kind,
      key: c.key,
      value: c.value.trim() ? c.value : null,
      points: c.points == null || Number.isNaN(c.points) ? null : Math.round(c.points),
      meaning: c.meaning,
      opener: c.opener.trim() ? c.opener : null,
    })),
    reasons: f.reasons.map((r) => ({ ...r })),
    note: f.note,
  };
}

/** Periods a proposal is previewed over, in days back from now. */
export const PREVIEW_PERIODS: readonly [number, string][] = [
  [7, "the last 7 days"],
  [30, "the last 30 days"],
  [90, "the last 90 days"],
  [365, "the last 12 months"],
];

const DAY = 86_400_000;

export class DefinitionState {
  readonly backend: Backend;
  /** Newest first. */
  versions = $state.raw<Definition[]>([]);
  inForce = $state(0);
  /** Oldest first, as the server lists them. */
  outcomes = $state.raw<VersionOutcome[]>([]);
  loaded = $state(false);
  loading = $state(false);
  error = $state<string | null>(null);
  notice = $state<string | null>(null);
  /** A version opened read-only. */
  viewing = $state.raw<Definition | null>(null);

  draft = $state<DraftForm | null>(null);
  fieldErrors = $state.raw<Record<string, string>>({});
  formError = $state<string | null>(null);
  publishing = $state(false);

  previewDays = $state(30);
  preview = $state.raw<DefinitionPreview | null>(null);
  previewing = $state(false);
  previewError = $state<string | null>(null);

  constructor(backend: Backend) {
    this.backend = backend;
  }

  /** The version in force. */
  get current(): Definition | undefined {
    return this.versions.find((d) => d.version === this.inForce) ?? this.versions[0];
  }

  /** The versions, and the outcomes under each (one team's, or all the manager sees). */
  async load(team: string | null = null): Promise<void> {
    this.loading = true;
    this.error = null;
    try {
      const [list, outcomes] = await Promise.all([
        this.backend.definitionsList(),
        this.backend.definitionOutcomes(team || null),
      ]);
      this.versions = list.definitions;
      this.inForce = list.in_force;
      this.outcomes = outcomes.versions;
      this.loaded = true;
    } catch (e) {
      this.error = errorText(asError(e), "review");
    } finally {
      this.loading = false;
    }
  }

  /** Starts a proposal from the version in force. */
  edit(): void {
    const d = this.current;
    if (!d) return;
    this.draft = draftFrom(d);
    this.fieldErrors = {};
    this.formError = null;
    this.preview = null;
    this.previewError = null;
    this.notice = null;
  }

  /** A proposal of a new threshold, from the calibration's suggestion. */
  propose(threshold: number, why: string): void {
    this.edit();
    if (!this.draft) return;
    this.draft.threshold = threshold;
    this.draft.note = why;
  }

  cancel(): void {
    this.draft = null;
    this.fieldErrors = {};
    this.formError = null;
    this.preview = null;
  }

  addCriterion(): void {
    this.draft?.criteria.push({ kind: "quiz_answer", key: "", value: "", points: null, meaning: "", opener: "" });
  }

  removeCriterion(i: number): void {
    this.draft?.criteria.splice(i, 1);
    this.fieldErrors = {};
  }

  addReason(): void {
    this.draft?.reasons.push({ code: "", label: "", note_required: false, routes_on: false });
  }

  removeReason(i: number): void {
    this.draft?.reasons.splice(i, 1);
    this.fieldErrors = {};
  }

  /** The first refusal among `fields`, if any. */
  errorAt(...fields: string[]): string | undefined {
    for (const f of fields) if (this.fieldErrors[f]) return this.fieldErrors[f];
    return undefined;
  }

  private thresholdProblem(): string | null {
    const t = this.draft?.threshold;
    return t == null || !Number.isInteger(t) || t < 0 || t > 100 ? "Give a whole score from 0 to 100." : null;
  }

  /** What the proposed threshold would have done over the chosen period,
   * against the one in force. */
  async runPreview(team: string | null = null, now: number = Date.now()): Promise<void> {
    if (!this.draft || this.previewing) return;
    const problem = this.thresholdProblem();
    if (problem) {
      this.fieldErrors = { threshold: problem };
      return;
    }
    this.previewing = true;
    this.previewError = null;
    try {
      const answer = await this.backend.definitionPreview(team || null, {
        threshold: this.draft.threshold ?? 0,
        from: new Date(now - this.previewDays * DAY).toISOString(),
        to: new Date(now).toISOString(),
      });
      if (answer.outcome === "invalid") {
        this.previewError = `${answer.field}: ${answer.message}`;
        this.preview = null;
      } else {
        this.preview = answer.value;
      }
    } catch (e) {
      this.previewError = errorText(asError(e), "review");
    } finally {
      this.previewing = false;
    }
  }

  /** Publishes the proposal (the server refuses anyone but an admin): it
   * is in force for leads arriving from now on. */
  async publish(team: string | null = null): Promise<void> {
    if (!this.draft || this.publishing) return;
    const problem = this.thresholdProblem();
    if (problem) {
      this.fieldErrors = { threshold: problem };
      return;
    }
    this.publishing = true;
    this.fieldErrors = {};
    this.formError = null;
    this.notice = null;
    try {
      const answer = await this.backend.definitionPublish(draftOf(this.draft));
      if (answer.outcome === "invalid") {
        this.fieldErrors = { [answer.field]: answer.message };
        if (!this.shown(answer.field)) this.formError = `${answer.field}: ${answer.message}`;
        return;
      }
      const d = answer.value;
      this.draft = null;
      this.preview = null;
      this.notice = `Published definition v${d.version}: leads arriving from now on are qualified under it.`;
      this.versions = [d, ...this.versions.filter((v) => v.version !== d.version)];
      this.inForce = d.version;
      await this.load(team);
    } catch (e) {
      this.formError = errorText(asError(e), "review");
    } finally {
      this.publishing = false;
    }
  }

  /** Whether the editor shows `field` next to an input. */
  private shown(field: string): boolean {
    if (["threshold", "note", "criteria", "reasons"].includes(field)) return true;
    const m = /^(criteria|reasons)\[(\d+)\]\.(\w+)$/.exec(field);
    if (!m || !this.draft) return false;
    const list = m[1] === "criteria" ? this.draft.criteria : this.draft.reasons;
    return Number(m[2]) < list.length;
  }
}
