// The UI's state: what the shell last said, which leads are on screen, and
// the rep's intents on their way to the shell. No decision about leads is
// made here; the engine in baton-core makes them.
import type {
  Availability,
  Definition,
  EngineEvent,
  InboxFilter,
  InboxPage,
  LeadDetail,
  LeadSummary,
  RejectReason,
  SessionView,
  StatusView,
} from "../bindings";
import { asError, type Backend, type UiError } from "./backend";
import { humanize } from "./format";
import { ReviewState } from "./review.svelte";
import { Updates } from "./updates.svelte";

/** Rows fetched per request; the list asks only for what is in view. */
export const PAGE_SIZE = 100;

/** A decision the engine still lets the rep take back (`sync.undoable`). */
export type Pending = {
  id: number;
  name: string;
  kind: "accept" | "reject";
  reason: string | null;
  reasonLabel: string | null;
  /** When the engine sends it (ms since the epoch); undo works until then. */
  sendAt: number;
};

export type Notice = { id: number; name: string; message: string };

/** Rows in the list as page `page` tells it: exact without a search; with
 * one, the rows up to this page and one more while the page says there are. */
function listLength(res: InboxPage, page: number): number {
  return res.total ?? page * PAGE_SIZE + res.rows.length + (res.has_more ? 1 : 0);
}

export class AppState {
  readonly backend: Backend;

  session = $state<SessionView | null>(null);
  /** A manager's review; reps never have one. */
  review = $state<ReviewState | null>(null);
  status = $state<StatusView | null>(null);
  error = $state<UiError | null>(null);
  /** Where the sign-in token is kept, when not in the keychain: said once
   * after sign-in until dismissed (Settings always says it). */
  tokenNotice = $state<string | null>(null);

  filter = $state<InboxFilter>("new");
  search = $state("");
  /** Loaded pages of the current list, by page number. */
  pages = $state.raw<Record<number, LeadSummary[]>>({});
  /** Rows in the list: exact without a search, at least this many with one. */
  total = $state(0);
  loading = $state(false);

  selectedIndex = $state(0);
  selectedId = $state<number | null>(null);
  /** Grows when the rep moves the selection: the list then scrolls to it.
   * Rows arriving or leaving elsewhere move the selection's index but do not
   * scroll the list under the rep's eyes. */
  revealed = $state(0);
  /** Grows when the inbox list should take the keyboard's focus: after a
   * decision (the button or dialog that made it may be gone, and the focus
   * must not fall to the page) and when the rep moves through the list. */
  listFocus = $state(0);
  opened = $state<LeadDetail | null>(null);
  /** The definition a lead qualified under, opened from its lead view. */
  definitionShown = $state.raw<Definition | null>(null);

  reasons = $state.raw<RejectReason[]>([]);
  rejecting = $state<LeadSummary | null>(null);
  /** Decisions still in their undo window, oldest first, as the engine says. */
  readonly pending: Pending[] = $derived.by(() =>
    (this.status?.sync.undoable ?? []).map((u) => ({
      id: u.lead_id,
      name: u.name,
      kind: u.decision,
      reason: u.reason ?? null,
      reasonLabel: u.reason ? (this.reasons.find((r) => r.code === u.reason)?.label ?? humanize(u.reason)) : null,
      sendAt: Date.parse(u.send_at),
    })),
  );
  /** Leads whose decision or undo is on its way to the shell. */
  private busy = $state.raw<number[]>([]);
  notices = $state.raw<Notice[]>([]);
  now = $state(Date.now());

  private listSeq = 0;
  /** Counts opens and closes: a lead read for an older one is not shown. */
  private openSeq = 0;
  private lastVersion = -1;
  private view = { from: 0, to: 0 };
  private unlisten: (() => void)[] = [];

  /** A newer desktop release the server announces. */
  readonly updates: Updates;

  constructor(backend: Backend) {
    this.backend = backend;
    this.updates = new Updates(backend);
  }

  // ---- lifecycle -------------------------------------------------------

  async start(): Promise<void> {
    this.unlisten.push(await this.backend.onStatus((s) => this.onStatus(s)));
    // A manager's notification (a missed SLA) opens the lead in the review.
    this.unlisten.push(
      await this.backend.onOpenLead((id) => void (this.review ? this.review.openLead(id) : this.open(id))),
    );
    this.unlisten.push(await this.backend.onEngine((e) => this.onEngine(e)));
    this.unlisten.push(await this.updates.start());
    await this.loadSession();
  }

  stop(): void {
    for (const u of this.unlisten) u();
    this.unlisten = [];
  }

  private async loadSession(): Promise<void> {
    try {
      this.session = await this.backend.sessionInfo();
      if (this.session.signed_in) await this.afterSignIn();
    } catch (e) {
      this.fail(e);
    }
  }

  private async afterSignIn(): Promise<void> {
    this.tokenNotice = this.session?.token_notice ?? null;
    if (this.session?.role === "manager") {
      this.review = new ReviewState(this.backend);
      await this.review.start();
      return;
    }
    const [status] = await Promise.all([this.backend.status(), this.loadReasons()]);
    this.onStatus(status);
  }

  private async loadReasons(): Promise<void> {
    try {
      this.reasons = await this.backend.reasons();
    } catch {
      // Offline before any list was seen: the reject dialog says so.
      this.reasons = [];
    }
  }

  async signIn(server: string, token: string): Promise<boolean> {
    try {
      this.error = null;
      this.session = await this.backend.signIn(server, token);
      await this.afterSignIn();
      return true;
    } catch (e) {
      this.fail(e);
      return false;
    }
  }

  /** The shell sends what is decided first, and refuses while it cannot. */
  async signOut(): Promise<boolean> {
    try {
      this.session = await this.backend.signOut();
      this.status = null;
      this.review = null;
      this.pages = {};
      this.total = 0;
      this.opened = null;
      this.tokenNotice = null;
      this.notices = [];
      this.lastVersion = -1;
      return true;
    } catch (e) {
      this.fail(e);
      return false;
    }
  }

  dismissTokenNotice(): void {
    this.tokenNotice = null;
  }

  fail(e: unknown): void {
    this.error = asError(e);
  }

  tick(at: number = Date.now()): void {
    this.now = at;
  }

  // ---- status and list -------------------------------------------------

  onStatus(s: StatusView): void {
    this.status = s;
    if (s.sync.cache_version !== this.lastVersion) {
      this.lastVersion = s.sync.cache_version;
      void this.reload();
    }
  }

  /** Called by the list with the rows in view; loads the pages they span. */
  setView(from: number, to: number): void {
    this.view = { from, to };
    const first = Math.floor(from / PAGE_SIZE);
    const last = Math.floor(Math.max(from, to - 1) / PAGE_SIZE);
    for (let p = first; p <= last; p++) {
      if (!this.pages[p]) void this.loadPage(p, this.listSeq);
    }
    // Pages far from view are let go: scrolling through 100,000 leads keeps
    // only a few hundred rows in memory.
    const far = Object.keys(this.pages)
      .map(Number)
      .filter((p) => p < first - 2 || p > last + 2);
    if (far.length) {
      const pages = { ...this.pages };
      for (const p of far) delete pages[p];
      this.pages = pages;
    }
  }

  rowAt(index: number): LeadSummary | undefined {
    return this.pages[Math.floor(index / PAGE_SIZE)]?.[index % PAGE_SIZE];
  }

  private async loadPage(page: number, seq: number): Promise<void> {
    try {
      const q = this.search.trim() || null;
      const res = await this.backend.inbox(this.filter, q, page * PAGE_SIZE, PAGE_SIZE);
      if (seq !== this.listSeq) return; // a newer list replaced this one
      this.pages = { ...this.pages, [page]: res.rows };
      // A search's length is only known at its last page; until then a
      // page never shortens what an earlier page showed.
      const length = listLength(res, page);
      this.total = res.total !== null || !res.has_more ? length : Math.max(this.total, length);
      this.reselect();
    } catch (e) {
      if (seq === this.listSeq) this.fail(e);
    }
  }

  /** Re-reads the pages in view; the old rows stay until the new arrive. */
  async reload(): Promise<void> {
    const seq = ++this.listSeq;
    const first = Math.floor(this.view.from / PAGE_SIZE);
    const last = Math.floor(Math.max(this.view.from, this.view.to - 1) / PAGE_SIZE);
    const q = this.search.trim() || null;
    this.loading = true;
    try {
      const results = await Promise.all(
        Array.from({ length: last - first + 1 }, (_, i) =>
          this.backend.inbox(this.filter, q, (first + i) * PAGE_SIZE, PAGE_SIZE),
        ),
      );
      if (seq !== this.listSeq) return;
      const pages: Record<number, LeadSummary[]> = {};
      results.forEach((r, i) => (pages[first + i] = r.rows));
      this.pages = pages;
      this.total = listLength(results[results.length - 1], last);
      this.reselect();
      if (this.opened) await this.refreshOpened();
    } catch (e) {
      if (seq === this.listSeq) this.fail(e);
    } finally {
      if (seq === this.listSeq) this.loading = false;
    }
  }

  /** Keeps the selection on the same lead when rows move. With `keepId`, a
   * lead not in the loaded rows yet (one opened from a notification as it
   * arrives) stays the one to select once they load. */
  private reselect(keepId = false): void {
    if (this.selectedId !== null) {
      for (const [p, rows] of Object.entries(this.pages)) {
        const i = rows.findIndex((r) => r.id === this.selectedId);
        if (i >= 0) {
          this.selectedIndex = Number(p) * PAGE_SIZE + i;
          return;
        }
      }
      if (keepId) return;
    }
    this.selectedIndex = Math.min(this.selectedIndex, Math.max(0, this.total - 1));
    this.selectedId = this.rowAt(this.selectedIndex)?.id ?? null;
  }

  setFilter(f: InboxFilter): void {
    if (f === this.filter) return;
    this.filter = f;
    this.resetList();
  }

  setSearch(q: string): void {
    this.search = q;
    this.resetList();
  }

  private resetList(): void {
    this.listSeq++;
    this.pages = {};
    this.selectedIndex = 0;
    this.selectedId = null;
    this.view = { from: 0, to: Math.max(this.view.to - this.view.from, 20) };
    void this.reload();
  }

  // ---- selection and the lead view ------------------------------------

  select(index: number): void {
    if (this.total === 0) return;
    this.selectedIndex = Math.max(0, Math.min(index, this.total - 1));
    this.selectedId = this.rowAt(this.selectedIndex)?.id ?? null;
  }

  move(by: number): void {
    this.select(this.selectedIndex + by);
    this.revealed++;
  }

  /** Asks the list to take the focus, scrolled to the selected lead. */
  focusList(): void {
    this.listFocus++;
    this.revealed++;
  }

  get selected(): LeadSummary | undefined {
    return this.rowAt(this.selectedIndex);
  }

  async open(id: number | undefined = this.selected?.id): Promise<void> {
    if (id === undefined) return;
    // The last lead asked for wins, however the reads finish.
    const seq = ++this.openSeq;
    try {
      const lead = await this.backend.lead(id);
      if (seq !== this.openSeq) return;
      this.opened = lead;
      this.selectedId = id;
      this.reselect(true);
    } catch (e) {
      if (seq === this.openSeq) this.fail(e);
    }
  }

  close(): void {
    this.openSeq++;
    this.opened = null;
  }

  /** Opens the definition a lead qualified under: the one the lead view
   * holds, else the shell's (cached, or fetched). */
  async showDefinition(version: number): Promise<void> {
    const held = this.opened?.context.definition;
    if (held && held.version === version) {
      this.definitionShown = held;
      return;
    }
    try {
      this.definitionShown = await this.backend.leadDefinition(version);
    } catch (e) {
      this.fail(e);
    }
  }

  closeDefinition(): void {
    this.definitionShown = null;
  }

  private async refreshOpened(): Promise<void> {
    if (!this.opened) return;
    // Another lead opened meanwhile (a notification clicked) stays open.
    const seq = this.openSeq;
    try {
      const fresh = await this.backend.lead(this.opened.summary.id);
      if (seq === this.openSeq) this.opened = fresh;
    } catch {
      // Gone from the cache (signed out): close it.
      if (seq === this.openSeq) this.opened = null;
    }
  }

  // ---- triage ----------------------------------------------------------

  /** The lead a shortcut acts on: the opened one, else the selected row. */
  get target(): LeadSummary | undefined {
    return this.opened?.summary ?? this.selected;
  }

  canDecide(l: LeadSummary | undefined): l is LeadSummary {
    return (
      !!l && l.status === "new" && !this.busy.includes(l.id) && !this.pending.some((p) => p.id === l.id)
    );
  }

  /** Hands the decision to the engine at once: it is durable now and sent
   * when its undo window ends. */
  accept(lead: LeadSummary | undefined = this.target): Promise<void> {
    if (!this.canDecide(lead)) return Promise.resolve();
    return this.decide(lead, () => this.backend.accept(lead.id));
  }

  startReject(lead: LeadSummary | undefined = this.target): void {
    if (!this.canDecide(lead)) return;
    this.rejecting = lead;
    if (this.reasons.length === 0) void this.loadReasons();
  }

  cancelReject(): void {
    this.rejecting = null;
  }

  /** Returns a message when the choice is incomplete, else hands it over. */
  confirmReject(code: string, note: string): string | null {
    const lead = this.rejecting;
    if (!lead) return null;
    const reason = this.reasons.find((r) => r.code === code);
    if (!reason) return "Pick a reason.";
    const trimmed = note.trim();
    if (reason.note_required && !trimmed) return `“${reason.label}” needs a note: say what was wrong.`;
    this.rejecting = null;
    void this.decide(lead, () => this.backend.reject(lead.id, code, trimmed || null));
    return null;
  }

  private async decide(lead: LeadSummary, send: () => Promise<LeadSummary>): Promise<void> {
    this.busy = [...this.busy, lead.id];
    // Move on to the next lead, as a rep working a queue expects; the list
    // has the focus, on that lead.
    if (this.selected?.id === lead.id) this.move(1);
    this.focusList();
    try {
      this.showSummary(await send());
    } catch (e) {
      this.fail(e);
    } finally {
      this.busy = this.busy.filter((id) => id !== lead.id);
    }
  }

  /** Takes back a decision still in its undo window (the most recent by
   * default); the engine refuses once it is sent. */
  async undo(id: number | undefined = this.lastUndoable()): Promise<void> {
    if (id === undefined || this.busy.includes(id)) return;
    this.busy = [...this.busy, id];
    // The Undo pressed (a toast's, the lead's) goes with the decision.
    this.focusList();
    try {
      this.showSummary(await this.backend.undo(id));
      // The rep took it back to decide again: keep it selected.
      this.selectedId = id;
    } catch (e) {
      this.fail(e);
    } finally {
      this.busy = this.busy.filter((x) => x !== id);
    }
  }

  private lastUndoable(): number | undefined {
    for (let i = this.pending.length - 1; i >= 0; i--) {
      if (!this.busy.includes(this.pending[i].id)) return this.pending[i].id;
    }
    return undefined;
  }

  /** Shows a lead as the shell now has it, before the list is re-read. */
  private showSummary(s: LeadSummary): void {
    for (const [p, rows] of Object.entries(this.pages)) {
      const i = rows.findIndex((r) => r.id === s.id);
      if (i >= 0) {
        const next = rows.slice();
        next[i] = s;
        this.pages = { ...this.pages, [p]: next };
        break;
      }
    }
    if (this.opened?.summary.id === s.id) this.opened = { ...this.opened, summary: s };
  }

  /** The engine's news: a decision the server refused becomes a notice. */
  onEngine(e: EngineEvent): void {
    if (e.kind === "decision_refused") {
      const notice = { id: e.lead_id, name: e.name, message: e.message };
      this.notices = [...this.notices.filter((n) => n.id !== e.lead_id), notice];
    }
  }

  dismissNotice(id: number): void {
    this.notices = this.notices.filter((n) => n.id !== id);
  }

  // ---- settings --------------------------------------------------------

  async setAvailability(a: Availability): Promise<void> {
    try {
      this.status = await this.backend.setAvailability(a);
    } catch (e) {
      this.fail(e);
    }
  }

  async setQuietHours(window: string | null): Promise<boolean> {
    try {
      this.session = await this.backend.setQuietHours(window);
      return true;
    } catch (e) {
      this.fail(e);
      return false;
    }
  }

  async setAutostart(enabled: boolean): Promise<void> {
    try {
      this.session = await this.backend.setAutostart(enabled);
    } catch (e) {
      this.fail(e);
    }
  }

  async syncNow(): Promise<void> {
    try {
      this.onStatus(await this.backend.syncNow());
    } catch (e) {
      this.fail(e);
    }
  }
}
