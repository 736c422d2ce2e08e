// A rep's working hours and absences as a form holds them: the time zone,
// each weekday's stretches, the days away, and the server's refusals next
// to the field it named (`hours[2].end`, `absences[0].from`, `time_zone`).
// The server checks the hours; here they are only gathered and shown.
import type { FormAnswer, ScheduleView, Weekday, WorkSchedule, WorkingHours } from "../bindings";
import { asError, errorText, type Backend } from "./backend";

export const WEEKDAYS: readonly [Weekday, string][] = [
  ["mon", "Monday"],
  ["tue", "Tuesday"],
  ["wed", "Wednesday"],
  ["thu", "Thursday"],
  ["fri", "Friday"],
  ["sat", "Saturday"],
  ["sun", "Sunday"],
];

export function dayName(d: Weekday): string {
  return WEEKDAYS.find(([w]) => w === d)?.[1] ?? d;
}

/** This computer's time zone, which a new schedule starts in. */
export function systemTimeZone(): string {
  try {
    return Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
  } catch {
    return "UTC";
  }
}

/** The IANA time zones this computer knows, with `keep` (a saved one) among them. */
export function timeZones(keep?: string | null): string[] {
  let zones: string[] = [];
  try {
    zones = (Intl as unknown as { supportedValuesOf(k: string): string[] }).supportedValuesOf("timeZone");
  } catch {
    zones = [];
  }
  const all = new Set([...zones, systemTimeZone(), "UTC"]);
  if (keep) all.add(keep);
  return [...all].sort();
}

export type AbsenceForm = { from: string; to: string; note: string };

/** The form's fields the server's refusals are shown next to. */
export function hoursFields(i: number): string[] {
  return [`hours[${i}]`, `hours[${i}].start`, `hours[${i}].end`];
}

export class ScheduleForm {
  timeZone = $state(systemTimeZone());
  /** Every stretch of the week, in the order they were added (the server's
   * field paths index this list). */
  hours = $state<WorkingHours[]>([]);
  absences = $state<AbsenceForm[]>([]);
  /** Whether the rep has a schedule at all (none: on shift whenever not away). */
  saved = $state(false);
  /** The server's refusal, by the field it named. */
  fieldErrors = $state.raw<Record<string, string>>({});
  /** Why it could not be saved, when no one field is at fault. */
  formError = $state<string | null>(null);
  saving = $state(false);
  notice = $state<string | null>(null);

  constructor(schedule: WorkSchedule | null = null) {
    this.reset(schedule);
  }

  /** Starts again from a saved schedule (or none). */
  reset(schedule: WorkSchedule | null): void {
    this.timeZone = schedule?.time_zone || systemTimeZone();
    this.hours = (schedule?.hours ?? []).map((h) => ({ ...h }));
    this.absences = (schedule?.absences ?? []).map((a) => ({ from: a.from, to: a.to, note: a.note ?? "" }));
    this.saved = schedule != null;
    this.fieldErrors = {};
    this.formError = null;
  }

  /** The stretches of one weekday, each with its place in `hours`. */
  hoursOf(day: Weekday): [WorkingHours, number][] {
    return this.hours.map((h, i) => [h, i] as [WorkingHours, number]).filter(([h]) => h.day === day);
  }

  /** A day's stretch: 09:00–17:00, or the rest of the day after its last one. */
  addHours(day: Weekday): void {
    const last = this.hoursOf(day).at(-1)?.[0];
    const start = last && last.end < "23:00" ? last.end : "09:00";
    const end = last && last.end < "23:00" ? "24:00" : "17:00";
    this.hours.push({ day, start, end });
    this.fieldErrors = {};
  }

  /** Copies Monday's stretches to Tuesday to Friday. */
  copyMondayToWeekdays(): void {
    const monday = this.hoursOf("mon").map(([h]) => h);
    const kept = this.hours.filter((h) => !["tue", "wed", "thu", "fri"].includes(h.day));
    const copies = (["tue", "wed", "thu", "fri"] as Weekday[]).flatMap((day) => monday.map((h) => ({ ...h, day })));
    this.hours = [...kept, ...copies];
    this.fieldErrors = {};
  }

  removeHours(i: number): void {
    this.hours.splice(i, 1);
    this.fieldErrors = {};
  }

  addAbsence(): void {
    this.absences.push({ from: "", to: "", note: "" });
    this.fieldErrors = {};
  }

  removeAbsence(i: number): void {
    this.absences.splice(i, 1);
    this.fieldErrors = {};
  }

  /** The first refusal among `fields`, if any. */
  errorAt(...fields: string[]): string | undefined {
    for (const f of fields) if (this.fieldErrors[f]) return this.fieldErrors[f];
    return undefined;
  }

  toSchedule(): WorkSchedule {
    return {
      time_zone: this.timeZone,
      hours: this.hours.map((h) => ({ ...h })),
      absences: this.absences.map((a) => ({ from: a.from, to: a.to, note: a.note.trim() || null })),
    };
  }

  /** Sends the form (or, with `clear`, no schedule at all) through `send`;
   * a field the server refuses says why next to it, and the form keeps
   * what was typed. Returns what was saved, or null. */
  async save<T>(
    send: (schedule: WorkSchedule | null) => Promise<FormAnswer<T>>,
    scheduleOf: (saved: T) => WorkSchedule | null,
    clear = false,
  ): Promise<T | null> {
    if (this.saving) return null;
    this.saving = true;
    this.fieldErrors = {};
    this.formError = null;
    this.notice = null;
    try {
      const answer = await send(clear ? null : this.toSchedule());
      if (answer.outcome === "invalid") {
        this.fieldErrors = { [answer.field]: answer.message };
        if (!this.known(answer.field)) this.formError = `${answer.field}: ${answer.message}`;
        return null;
      }
      this.reset(scheduleOf(answer.value));
      this.notice = clear ? "Hours cleared: on shift whenever not away." : "Hours saved.";
      return answer.value;
    } catch (e) {
      this.formError = errorText(asError(e));
      return null;
    } finally {
      this.saving = false;
    }
  }

  /** Whether the form shows `field` next to an input. */
  private known(field: string): boolean {
    if (field === "time_zone" || field === "hours" || field === "absences") return true;
    const m = /^(hours|absences)\[(\d+)\](\.(\w+))?$/.exec(field);
    if (!m) return false;
    const i = Number(m[2]);
    return m[1] === "hours" ? i < this.hours.length : i < this.absences.length;
  }
}

/** The rep's own hours in the settings: read from the shell (the copy
 * last seen when offline), saved through it. */
export class MyHoursState {
  readonly backend: Backend;
  readonly form = new ScheduleForm();
  loaded = $state(false);
  loading = $state(false);
  error = $state<string | null>(null);
  /** The hours shown are the copy last seen: the server could not be reached. */
  offline = $state(false);
  onShift = $state<boolean | null>(null);

  constructor(backend: Backend) {
    this.backend = backend;
  }

  async load(): Promise<void> {
    this.loading = true;
    this.error = null;
    try {
      this.show(await this.backend.mySchedule());
      this.loaded = true;
    } catch (e) {
      this.error = errorText(asError(e));
    } finally {
      this.loading = false;
    }
  }

  private show(view: ScheduleView): void {
    this.form.reset(view.schedule ?? null);
    this.offline = view.offline;
    this.onShift = view.on_shift;
  }

  /** Saves the form, or with `clear` no hours at all. */
  async save(clear = false): Promise<void> {
    const view = await this.form.save(
      (s) => this.backend.setMySchedule(s),
      (v) => v.schedule ?? null,
      clear,
    );
    if (view) {
      this.offline = false;
      this.onShift = view.on_shift;
    }
  }
}
