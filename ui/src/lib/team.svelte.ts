// The review's Team tab: the reps of the teams the manager manages (add
// one, its token shown once; change team, weight and cap; deactivate,
// once confirmed; set hours and absences) and, for admins, every
// manager's scope and the audit log. The server decides and checks; here
// its answers are shown, its refusals next to the field it named.
import type { AuditEntry, Manager, Rep, TeamOverview } from "../bindings";
import { asError, errorText, type Backend } from "./backend";
import { appendPage } from "./paging";
import { ScheduleForm } from "./schedule.svelte";

/** Audit entries asked for at a time. */
export const AUDIT_PAGE = 100;

export type NewRepForm = { name: string; email: string; team: string; weight: number | null; max_open: number | null };
export type RepEdit = { team: string; weight: number | null; max_open: number | null };
export type RowNote = { kind: "done" | "error"; text: string };

/** "Available", "Away", "Deactivated". */
export function repState(r: Rep): string {
  if (!r.active) return "Deactivated";
  return r.availability === "away" ? "Away" : "Available";
}

/** "On shift", "Off shift" (deactivated reps take no leads). */
export function shiftWords(r: Rep): string {
  if (!r.active) return "—";
  return r.on_shift ? "On shift" : "Off shift";
}

export function scopeWords(m: Manager): string {
  if (m.admin) return "Admin: every team";
  return m.teams.length ? `Manages ${m.teams.join(", ")}` : "Manages no team";
}

export class TeamState {
  readonly backend: Backend;
  overview = $state.raw<TeamOverview | null>(null);
  loading = $state(false);
  error = $state<string | null>(null);
  notice = $state<string | null>(null);
  /** Per rep: what its last action said. */
  notes = $state.raw<Record<number, RowNote>>({});

  form = $state<NewRepForm>({ name: "", email: "", team: "", weight: 1, max_open: 20 });
  fieldErrors = $state.raw<Record<string, string>>({});
  formError = $state<string | null>(null);
  creating = $state(false);
  /** The rep just added and their token, until "Done". */
  created = $state.raw<{ name: string; token: string } | null>(null);

  editing = $state<number | null>(null);
  edit = $state<RepEdit>({ team: "", weight: null, max_open: null });
  editErrors = $state.raw<Record<string, string>>({});
  /** The rep whose deactivation waits for the manager's confirmation. */
  confirming = $state<number | null>(null);
  busy = $state.raw<ReadonlySet<number>>(new Set());

  /** The rep whose hours are open, and the form. */
  hoursFor = $state<number | null>(null);
  hours = $state.raw<ScheduleForm | null>(null);

  managers = $state.raw<Manager[]>([]);
  scopeFor = $state<number | null>(null);
  scope = $state<{ admin: boolean; teams: string[] }>({ admin: false, teams: [] });
  scopeErrors = $state.raw<Record<string, string>>({});
  audit = $state.raw<AuditEntry[]>([]);
  auditNext = $state<number | null>(null);
  auditLoading = $state(false);

  constructor(backend: Backend) {
    this.backend = backend;
  }

  get admin(): boolean {
    return this.overview?.manager.admin ?? false;
  }

  get reps(): Rep[] {
    return this.overview?.reps ?? [];
  }

  get teams(): string[] {
    return this.overview?.teams.map((t) => t.name) ?? [];
  }

  /** The overview; for admins, the managers and the audit log too. */
  async load(): Promise<void> {
    this.loading = true;
    this.error = null;
    try {
      this.overview = await this.backend.teamOverview();
      if (!this.form.team || !this.teams.includes(this.form.team)) this.form.team = this.teams[0] ?? "";
      if (this.admin) {
        const [managers, audit] = await Promise.all([this.backend.managersList(), this.backend.auditLog(null, AUDIT_PAGE)]);
        this.managers = managers.managers;
        this.audit = audit.entries;
        this.auditNext = audit.next_before ?? null;
      }
    } catch (e) {
      this.error = errorText(asError(e), "review");
    } finally {
      this.loading = false;
    }
  }

  private replace(rep: Rep): void {
    if (!this.overview) return;
    const reps = this.overview.reps.some((r) => r.id === rep.id)
      ? this.overview.reps.map((r) => (r.id === rep.id ? rep : r))
      : [...this.overview.reps, rep];
    this.overview = { ...this.overview, reps };
  }

  private note(id: number, note: RowNote | null): void {
    const notes = { ...this.notes };
    if (note) notes[id] = note;
    else delete notes[id];
    this.notes = notes;
  }

  private setBusy(id: number, on: boolean): void {
    const busy = new Set(this.busy);
    if (on) busy.add(id);
    else busy.delete(id);
    this.busy = busy;
  }

  /** Adds the rep in the form. Their token is shown once; a field the
   * server refuses says why next to it, and the form keeps what was typed. */
  async create(): Promise<void> {
    if (this.creating) return;
    this.creating = true;
    this.fieldErrors = {};
    this.formError = null;
    this.notice = null;
    this.created = null;
    try {
      const answer = await this.backend.repCreate({
        name: this.form.name,
        email: this.form.email,
        team: this.form.team,
        weight: this.form.weight,
        max_open: this.form.max_open,
        schedule: null,
      });
      if (answer.outcome === "invalid") {
        if (["name", "email", "team", "weight", "max_open"].includes(answer.field)) {
          this.fieldErrors = { [answer.field]: answer.message };
        } else {
          this.formError = `${answer.field}: ${answer.message}`;
        }
        return;
      }
      this.replace(answer.value.rep);
      this.created = { name: answer.value.rep.name, token: answer.value.token };
      void this.refreshAudit();
      this.form = { name: "", email: "", team: this.form.team, weight: 1, max_open: 20 };
    } catch (e) {
      this.formError = errorText(asError(e), "review");
    } finally {
      this.creating = false;
    }
  }

  /** The token was copied (or not): it is forgotten. */
  done(): void {
    this.created = null;
  }

  startEdit(rep: Rep): void {
    this.editing = rep.id;
    this.edit = { team: rep.team, weight: rep.weight, max_open: rep.max_open };
    this.editErrors = {};
    this.note(rep.id, null);
  }

  cancelEdit(): void {
    this.editing = null;
    this.editErrors = {};
  }

  /** Saves what changed of team, weight and cap. */
  async saveEdit(): Promise<void> {
    const id = this.editing;
    const rep = this.reps.find((r) => r.id === id);
    if (id == null || !rep || this.busy.has(id)) return;
    const change = {
      team: this.edit.team !== rep.team ? this.edit.team : null,
      weight: this.edit.weight !== rep.weight ? this.edit.weight : null,
      max_open: this.edit.max_open !== rep.max_open ? this.edit.max_open : null,
      active: null,
    };
    if (change.team == null && change.weight == null && change.max_open == null) {
      this.cancelEdit();
      return;
    }
    this.setBusy(id, true);
    this.editErrors = {};
    try {
      const answer = await this.backend.repUpdate(id, change);
      if (answer.outcome === "invalid") {
        this.editErrors = { [answer.field]: answer.message };
        return;
      }
      this.replace(answer.value);
      this.editing = null;
      this.note(id, { kind: "done", text: "Saved." });
      void this.refreshAudit();
    } catch (e) {
      this.editErrors = { form: errorText(asError(e), "review") };
    } finally {
      this.setBusy(id, false);
    }
  }

  askDeactivate(id: number): void {
    this.confirming = id;
    this.note(id, null);
  }

  cancelDeactivate(): void {
    this.confirming = null;
  }

  /** Deactivates (or with `active`, reactivates) a rep. Deactivated, their
   * tokens stop working and their undecided leads are routed on at once. */
  async setActive(id: number, active: boolean): Promise<void> {
    if (this.busy.has(id)) return;
    this.setBusy(id, true);
    try {
      const answer = await this.backend.repUpdate(id, { team: null, weight: null, max_open: null, active });
      if (answer.outcome === "invalid") {
        this.note(id, { kind: "error", text: `${answer.field}: ${answer.message}` });
        return;
      }
      this.replace(answer.value);
      void this.refreshAudit();
      this.note(id, {
        kind: "done",
        text: active
          ? `${answer.value.name} is active again: new leads may be offered to them.`
          : `${answer.value.name} is deactivated: their sign-in stopped working and their undecided leads went to other reps.`,
      });
    } catch (e) {
      this.note(id, { kind: "error", text: errorText(asError(e), "review") });
    } finally {
      this.confirming = null;
      this.setBusy(id, false);
    }
  }

  openHours(rep: Rep): void {
    this.hoursFor = rep.id;
    this.hours = new ScheduleForm(rep.schedule ?? null);
  }

  closeHours(): void {
    this.hoursFor = null;
    this.hours = null;
  }

  async saveHours(clear = false): Promise<void> {
    const id = this.hoursFor;
    const form = this.hours;
    if (id == null || !form) return;
    const rep = await form.save(
      (s) => this.backend.repSchedule(id, s),
      (r) => r.schedule ?? null,
      clear,
    );
    if (rep) {
      this.replace(rep);
      void this.refreshAudit();
    }
  }

  startScope(m: Manager): void {
    this.scopeFor = m.id;
    this.scope = { admin: m.admin, teams: [...m.teams] };
    this.scopeErrors = {};
  }

  cancelScope(): void {
    this.scopeFor = null;
    this.scopeErrors = {};
  }

  toggleScopeTeam(team: string, on: boolean): void {
    const teams = this.scope.teams.filter((t) => t !== team);
    this.scope.teams = on ? [...teams, team].sort() : teams;
  }

  async saveScope(): Promise<void> {
    const id = this.scopeFor;
    if (id == null) return;
    this.scopeErrors = {};
    try {
      const answer = await this.backend.managerScope(id, { admin: this.scope.admin, teams: [...this.scope.teams] });
      if (answer.outcome === "invalid") {
        this.scopeErrors = { [answer.field]: answer.message };
        return;
      }
      this.managers = this.managers.map((m) => (m.id === id ? answer.value : m));
      this.scopeFor = null;
      await this.refreshAudit();
    } catch (e) {
      this.scopeErrors = { form: errorText(asError(e), "review") };
    }
  }

  private async refreshAudit(): Promise<void> {
    if (!this.admin) return;
    try {
      const audit = await this.backend.auditLog(null, AUDIT_PAGE);
      this.audit = audit.entries;
      this.auditNext = audit.next_before ?? null;
    } catch {
      // The log shown stays; Refresh tries again.
    }
  }

  /** The next (older) page of the audit log. */
  async moreAudit(): Promise<void> {
    if (this.auditNext == null || this.auditLoading) return;
    this.auditLoading = true;
    try {
      const page = await this.backend.auditLog(this.auditNext, AUDIT_PAGE);
      this.audit = appendPage(this.audit, page.entries);
      this.auditNext = page.next_before ?? null;
    } catch (e) {
      this.error = errorText(asError(e), "review");
    } finally {
      this.auditLoading = false;
    }
  }
}
