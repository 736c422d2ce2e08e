// CSV import: a manager's file of leads (a CRM export, a spreadsheet),
// checked first (a dry run writes nothing), then imported with the same
// settings. The server matches headers to fields, checks the rows and
// decides what is created, updated or refused; here its answers are shown.
import type { ImportField, ImportOptions, ImportSummary } from "../bindings";
import { asError, errorText, type Backend } from "./backend";

/** The largest file the window sends: the server's default bound
 * (`limits.import_max_mib`). The window reads the whole file before
 * sending it, so it stops here rather than hold more. */
export const IMPORT_MAX_BYTES = 64 * 1024 * 1024;

// Every lead field a column can fill, in words. A `Record` over the
// generated union makes `npm run check` fail when Rust adds (or drops) one
// until this is updated.
const FIELD_LABELS = {
  external_id: "External id",
  name: "Name",
  first_name: "First name",
  last_name: "Last name",
  email: "Email",
  phone: "Phone",
  company: "Company",
  title: "Job title",
  country: "Country",
  company_size: "Company size",
  score: "Score",
  channel: "Channel",
  campaign: "Campaign",
  utm_source: "UTM source",
  utm_medium: "UTM medium",
  utm_campaign: "UTM campaign",
  utm_term: "UTM term",
  utm_content: "UTM content",
  need: "Need",
  timeline: "Timeline",
  budget: "Budget",
} as const satisfies Record<ImportField, string>;

/** The fields a mapping may name, in the server's order. */
export const IMPORT_FIELDS: readonly ImportField[] = Object.keys(FIELD_LABELS) as ImportField[];

export function fieldLabel(f: ImportField): string {
  return FIELD_LABELS[f] ?? f;
}

/** A source name the server takes: it prefixes the leads' ids. */
const SOURCE_NAME = /^[a-z0-9_-]{1,64}$/;

export const SOURCE_RULE = "Use 1 to 64 lower-case letters, digits, - and _ (e.g. crm-export).";

/** What is wrong with a source name as typed, or null (nothing typed yet is not wrong). */
export function sourceHint(source: string): string | null {
  const s = source.trim();
  if (s === "" || SOURCE_NAME.test(s)) return null;
  return s.length > 64 ? `Too long (${s.length} characters): ${SOURCE_RULE}` : SOURCE_RULE;
}

const NUMBER = new Intl.NumberFormat("en-US");

/** 1200 → "1,200". */
export function count(n: number): string {
  return NUMBER.format(n);
}

/** "1,200 would be created, 0 updated, 3 refused" (a dry run), or
 * "1,200 created, 0 updated, 5 unchanged, 3 refused" (unchanged only when some are). */
export function summaryWords(s: ImportSummary): string {
  const created = `${count(s.created)} ${s.dry_run ? "would be created" : "created"}`;
  const parts = [created, `${count(s.updated)} updated`];
  if (s.unchanged) parts.push(`${count(s.unchanged)} unchanged`);
  parts.push(`${count(s.refused)} refused`);
  return parts.join(", ");
}

/** What else the manager should know: rows read, time, and whether reps were offered the leads. */
export function summaryDetail(s: ImportSummary): string {
  const rows = `${count(s.rows)} ${s.rows === 1 ? "row" : "rows"} read for source ${s.source} in ${(s.elapsed_ms / 1000).toFixed(1)} s.`;
  if (s.dry_run) return `${rows} Nothing was written.`;
  return s.routed
    ? `${rows} New qualified leads were offered to reps.`
    : `${rows} History only: no lead was offered to a rep.`;
}

/** "…and 250 more refused rows": refusals the summary counts but does not list. */
export function unlistedRefusals(s: ImportSummary): number {
  return Math.max(0, s.refused - s.refusals.length);
}

/** 1.5 MiB as "1.5 MiB"; small files in KiB. */
export function fileSize(bytes: number): string {
  return bytes < 1024 * 1024 ? `${Math.max(1, Math.round(bytes / 1024))} KiB` : mib(bytes);
}

function mib(bytes: number, round: (n: number) => number = Math.round): string {
  return `${round((bytes / (1024 * 1024)) * 10) / 10} MiB`;
}

/** The controls a refusal is shown next to: the server's `field`s. */
export const IMPORT_CONTROLS = ["file", "header", "source", "mapping", "score_max", "channel"] as const;
export type ImportControl = (typeof IMPORT_CONTROLS)[number];
type FieldErrors = Partial<Record<ImportControl, string>>;

/** One row of the column mappings as typed. */
export type MappingRow = { key: number; field: ImportField | ""; header: string };

/** A file checked (or imported) and the settings it was sent with. */
type Run = { file: File; options: ImportOptions };

export class ImportState {
  readonly backend: Backend;
  file = $state.raw<File | null>(null);
  source = $state("");
  /** Checked by default: a first look writes nothing. */
  dryRun = $state(true);
  /** Store the leads as history: none is offered to a rep. */
  historyOnly = $state(false);
  /** The most a score in the file can be, as typed ("" when they are 0–100). */
  scoreMax = $state("");
  mappings = $state<MappingRow[]>([]);
  /** What is on its way: a check (dry run) or an import. */
  busy = $state<"check" | "import" | null>(null);
  /** What the last answer said. */
  summary = $state.raw<ImportSummary | null>(null);
  /** The dry run the summary is for, to import for real as it was checked. */
  checked = $state.raw<Run | null>(null);
  /** The refusals, next to the controls they name. */
  fieldErrors = $state.raw<FieldErrors>({});
  /** Why the import could not be done, when no one control is at fault. */
  formError = $state<string | null>(null);
  private nextKey = 1;

  constructor(backend: Backend) {
    this.backend = backend;
  }

  get sourceHint(): string | null {
    return sourceHint(this.source);
  }

  /** A file was chosen (or none): one over the bound is refused at once. */
  chooseFile(file: File | null): void {
    this.file = file;
    this.clearError("file", "header");
    const tooLarge = this.tooLarge(file);
    if (tooLarge) this.fieldErrors = { ...this.fieldErrors, file: tooLarge };
  }

  addMapping(): void {
    this.mappings.push({ key: this.nextKey++, field: "", header: "" });
  }

  removeMapping(key: number): void {
    this.mappings = this.mappings.filter((m) => m.key !== key);
    this.clearError("mapping");
  }

  /** The form as the shell takes it, or what is wrong with it. */
  private form(dryRun: boolean): { options: ImportOptions; errors: null } | { options: null; errors: FieldErrors } {
    const errors: FieldErrors = {};
    const source = this.source.trim();
    if (source === "") errors.source = `Name the source the leads come from. ${SOURCE_RULE}`;
    else if (this.sourceHint) errors.source = this.sourceHint;
    let scoreMax: number | null = null;
    if (this.scoreMax.trim() !== "") {
      scoreMax = Number(this.scoreMax.trim());
      if (!Number.isFinite(scoreMax) || scoreMax <= 0) errors.score_max = "A number above 0, such as 100 or 250.";
    }
    const rows = this.mappings.filter((m) => m.field !== "" || m.header.trim() !== "");
    const half = rows.find((m) => m.field === "" || m.header.trim() === "");
    if (half) {
      errors.mapping =
        half.field === ""
          ? `Choose the lead field for column "${half.header.trim()}", or remove the row.`
          : `Name the column that holds ${fieldLabel(half.field)}, or remove the row.`;
    }
    if (Object.keys(errors).length) return { options: null, errors };
    return {
      options: {
        source,
        dry_run: dryRun,
        no_route: this.historyOnly,
        mapping: rows.map((m) => ({ field: m.field as ImportField, header: m.header.trim() })),
        score_max: scoreMax,
        channel: null,
      },
      errors: null,
    };
  }

  /** Checks the file (a dry run) or imports it, as the form says. */
  async run(): Promise<void> {
    if (this.busy) return;
    this.formError = null;
    const file = this.file;
    const form = this.form(this.dryRun);
    const errors: FieldErrors = { ...form.errors };
    const tooLarge = this.tooLarge(file);
    if (!file) errors.file = "Choose a CSV file.";
    else if (tooLarge) errors.file = tooLarge;
    if (!file || !form.options || Object.keys(errors).length) {
      this.fieldErrors = errors;
      return;
    }
    await this.send({ file, options: form.options });
  }

  /** The file and settings of the dry run shown, now written. */
  async importForReal(): Promise<void> {
    const checked = this.checked;
    if (this.busy || !checked || !this.canImportForReal) return;
    await this.send({ file: checked.file, options: { ...checked.options, dry_run: false } });
  }

  /** A dry run was shown, and the form still says what it checked. */
  get canImportForReal(): boolean {
    return this.summary?.dry_run === true && this.checked != null && !this.stale;
  }

  /** The form no longer says what the dry run shown checked. */
  get stale(): boolean {
    const checked = this.checked;
    if (!checked) return false;
    const { options } = this.form(true);
    if (this.file !== checked.file || !options) return true;
    return JSON.stringify(options) !== JSON.stringify({ ...checked.options, dry_run: true });
  }

  private async send(run: Run): Promise<void> {
    this.busy = run.options.dry_run ? "check" : "import";
    this.fieldErrors = {};
    this.formError = null;
    this.summary = null;
    this.checked = null;
    try {
      let bytes: Uint8Array;
      try {
        bytes = new Uint8Array(await run.file.arrayBuffer());
      } catch (e) {
        this.fieldErrors = { file: `Could not read ${run.file.name}: ${asError(e).message}` };
        return;
      }
      const answer = await this.backend.importCsv(bytes, run.options);
      if (answer.outcome === "invalid") {
        if ((IMPORT_CONTROLS as readonly string[]).includes(answer.field)) {
          this.fieldErrors = { [answer.field as ImportControl]: answer.message };
        } else {
          this.formError = `${answer.field}: ${answer.message}`;
        }
        return;
      }
      this.summary = answer.summary;
      this.checked = answer.summary.dry_run ? run : null;
    } catch (e) {
      this.formError = errorText(asError(e), "review");
    } finally {
      this.busy = null;
    }
  }

  private tooLarge(file: File | null): string | null {
    if (!file || file.size <= IMPORT_MAX_BYTES) return null;
    // Rounded up: a file just over the bound must not read as the bound.
    return `${file.name} is ${mib(file.size, Math.ceil)}; Baton imports files of up to ${mib(IMPORT_MAX_BYTES)}: split it and import each part under the same source.`;
  }

  /** The control was changed: what was said about it no longer holds. */
  clearError(...controls: ImportControl[]): void {
    const errors = { ...this.fieldErrors };
    for (const c of controls) delete errors[c];
    this.fieldErrors = errors;
  }
}
