// Webhooks: the endpoints the server sends its outbound events to, as a
// manager registers, watches and deletes them, with each one's delivery
// log. The server decides what it sends, retries and disables; here its
// answers are only shown. A new endpoint's signing secret is held in
// memory until the manager is done with it, and never again. The server's
// CRM owner write-backs are listed among them, from its config: shown and
// replayed like the rest, but not deleted here.
import type {
  DeliveryStatus,
  EndpointKind,
  EventType,
  NewWebhook,
  WebhookDelivery,
  WebhookEndpoint,
} from "../bindings";
import { asError, errorText, type Backend } from "./backend";
import { ago } from "./format";
import { appendPage } from "./paging";

/** Deliveries asked for at a time. */
export const DELIVERIES_PAGE = 50;

// Every event type in words. A `Record` over the generated union makes
// `npm run check` fail when Rust adds (or drops) one until this is updated.
const EVENT_LABELS = {
  "lead.qualified": "Lead qualified",
  "lead.routed": "Lead routed",
  "lead.accepted": "Lead accepted",
  "lead.rejected": "Lead rejected",
  "lead.reassigned": "Lead reassigned",
  "lead.sla_breached": "Lead SLA breached",
  "lead.returned_to_nurture": "Lead returned to nurture",
  "definition.published": "Definition published",
  Unknown: "An event this app does not know",
} as const satisfies Record<EventType, string>;

/** The types an endpoint may subscribe to, in the server's order. */
export const EVENT_TYPES: readonly EventType[] = (Object.keys(EVENT_LABELS) as EventType[]).filter(
  (e) => e !== "Unknown",
);

export function eventLabel(e: EventType): string {
  return EVENT_LABELS[e] ?? EVENT_LABELS.Unknown;
}

const STATUS_WORDS = {
  pending: "Pending",
  delivered: "Delivered",
  failed: "Failed",
  cancelled: "Cancelled (the endpoint was deleted)",
  unknown: "Unknown",
} as const satisfies Record<DeliveryStatus, string>;

export function statusWords(s: DeliveryStatus): string {
  return STATUS_WORDS[s] ?? STATUS_WORDS.unknown;
}

/** A delivery a manager may send again: one that ended (failed or delivered). */
export function replayable(d: WebhookDelivery): boolean {
  return d.status === "failed" || d.status === "delivered";
}

export type Health = { kind: "active" | "failing" | "disabled"; text: string };

// Every kind of endpoint, by what a manager calls it (null: a webhook,
// named by its URL). A `Record` over the generated union makes `npm run
// check` fail when Rust adds (or drops) a kind until this is updated.
const KIND_TITLES = {
  webhook: null,
  hubspot: "HubSpot owner write-back",
  salesforce: "Salesforce owner write-back",
  unknown: "An endpoint the server defines",
} as const satisfies Record<EndpointKind, string | null>;

/** What the endpoint is, for a write-back: "HubSpot owner write-back"; null for a manager's webhook. */
export function kindTitle(w: WebhookEndpoint): string | null {
  return w.kind in KIND_TITLES ? KIND_TITLES[w.kind] : KIND_TITLES.unknown;
}

/** How the endpoint is named in buttons and lists: its kind, or its URL. */
export function endpointName(w: WebhookEndpoint): string {
  return kindTitle(w) ?? w.url;
}

/** Only a manager's own webhooks are deleted here; the write-backs come
 * from the server's config, and its API refuses to delete them. */
export function deletable(w: WebhookEndpoint): boolean {
  return w.kind === "webhook";
}

/** Why an endpoint has no Delete button. */
export function notDeletableText(w: WebhookEndpoint): string {
  return w.kind === "hubspot" || w.kind === "salesforce"
    ? "Defined in the server's config ([crm])"
    : "Defined by the server: it cannot be deleted here";
}

/** How an endpoint is doing, in words: "Active", "Failing since 3 h ago", "Disabled: why". */
export function health(w: WebhookEndpoint, now: number): Health {
  if (!w.active) return { kind: "disabled", text: `Disabled: ${w.disabled_reason ?? "no reason was given"}` };
  if (w.failing_since) return { kind: "failing", text: `Failing since ${ago(w.failing_since, now)}` };
  return { kind: "active", text: "Active" };
}

/** The banner a disabled endpoint puts at the top of the tab. */
export function disabledBanner(w: WebhookEndpoint): string {
  const reason = (w.disabled_reason ?? "no reason was given").replace(/[.\s]+$/, "");
  if (w.kind === "hubspot" || w.kind === "salesforce") {
    // The server enables its write-backs again when it starts with them configured.
    return `The ${kindTitle(w)} was disabled: ${reason}. Owners are no longer written back; fix its [crm.${w.kind}] settings and restart baton-server to enable it again.`;
  }
  return `An endpoint was disabled: ${reason}. Events are no longer sent to it; register it again once it is fixed.`;
}

/** What a row says after an action on it. */
export type RowNote = { kind: "done" | "error"; text: string };

/** One endpoint's delivery log, loaded when its disclosure first opens. */
export class DeliveryLog {
  readonly backend: Backend;
  readonly endpoint: number;
  open = $state(false);
  /** Newest first. */
  rows = $state.raw<WebhookDelivery[]>([]);
  nextBefore = $state<number | null>(null);
  loaded = $state(false);
  loading = $state(false);
  error = $state<string | null>(null);
  /** Per delivery: what its last replay said. */
  notes = $state.raw<Record<number, RowNote>>({});
  busy = $state.raw<ReadonlySet<number>>(new Set());

  constructor(backend: Backend, endpoint: number) {
    this.backend = backend;
    this.endpoint = endpoint;
  }

  async load(): Promise<void> {
    await this.fetch(null);
  }

  async more(): Promise<void> {
    if (this.nextBefore != null && !this.loading) await this.fetch(this.nextBefore);
  }

  private async fetch(before: number | null): Promise<void> {
    this.loading = true;
    this.error = null;
    try {
      const page = await this.backend.webhookDeliveries(this.endpoint, before, DELIVERIES_PAGE);
      if (before == null) {
        this.rows = page.deliveries;
        this.notes = {};
      } else {
        this.rows = appendPage(this.rows, page.deliveries);
      }
      this.nextBefore = page.next_before ?? null;
      this.loaded = true;
    } catch (e) {
      this.error = errorText(asError(e), "review");
    } finally {
      this.loading = false;
    }
  }

  /** Sends a delivery again; the row shows it pending, as the server answers. */
  async replay(id: number): Promise<void> {
    if (this.busy.has(id)) return;
    this.busy = new Set([...this.busy, id]);
    this.note(id, null);
    try {
      const again = await this.backend.webhookReplay(this.endpoint, id);
      this.rows = this.rows.map((d) => (d.id === id ? again : d));
      this.note(id, { kind: "done", text: "Replayed: it is sent again with the same webhook-id." });
    } catch (e) {
      this.note(id, { kind: "error", text: errorText(asError(e), "review") });
    } finally {
      const busy = new Set(this.busy);
      busy.delete(id);
      this.busy = busy;
    }
  }

  private note(id: number, note: RowNote | null): void {
    const notes = { ...this.notes };
    if (note) notes[id] = note;
    else delete notes[id];
    this.notes = notes;
  }
}

/** The "Add endpoint" form as the manager fills it in. */
export type WebhookForm = { url: string; events: EventType[]; description: string };

const emptyForm = (): WebhookForm => ({ url: "", events: [], description: "" });

/** The fields the form shows the server's refusals next to. */
export const FORM_FIELDS = ["url", "events", "description"] as const;
export type FormField = (typeof FORM_FIELDS)[number];

export class WebhooksState {
  readonly backend: Backend;
  /** As the server lists them. */
  endpoints = $state.raw<WebhookEndpoint[]>([]);
  loaded = $state(false);
  loading = $state(false);
  /** Why the list could not be loaded. */
  error = $state<string | null>(null);
  /** What the last change did ("Endpoint deleted"). */
  notice = $state<string | null>(null);
  /** Per endpoint: why its last action failed. */
  notes = $state.raw<Record<number, RowNote>>({});
  /** Delivery logs, by endpoint, once opened. */
  logs = $state.raw<Record<number, DeliveryLog>>({});
  /** The endpoint whose deletion waits for the manager's confirmation. */
  confirming = $state<number | null>(null);
  /** Endpoints with a deletion on its way. */
  deleting = $state.raw<ReadonlySet<number>>(new Set());

  form = $state<WebhookForm>(emptyForm());
  /** The server's refusal, next to the field it named. */
  fieldErrors = $state.raw<Partial<Record<FormField, string>>>({});
  /** Why the form could not be sent, when no one field is at fault. */
  formError = $state<string | null>(null);
  creating = $state(false);
  /** The endpoint just registered and its signing secret, until "Done". */
  created = $state.raw<{ url: string; secret: string } | null>(null);

  constructor(backend: Backend) {
    this.backend = backend;
  }

  /** Endpoints that need a manager: disabled, or failing. */
  get attention(): number {
    return this.endpoints.filter((w) => !w.active || w.failing_since != null).length;
  }

  get disabled(): WebhookEndpoint[] {
    return this.endpoints.filter((w) => !w.active);
  }

  async load(): Promise<void> {
    this.loading = true;
    this.error = null;
    try {
      const list = await this.backend.webhooksList();
      this.endpoints = list.webhooks;
      this.loaded = true;
    } catch (e) {
      this.error = errorText(asError(e), "review");
    } finally {
      this.loading = false;
    }
  }

  /** Opens or closes an endpoint's delivery log; the first opening loads it. */
  async toggleLog(id: number): Promise<void> {
    let log = this.logs[id];
    if (!log) {
      log = new DeliveryLog(this.backend, id);
      this.logs = { ...this.logs, [id]: log };
    }
    log.open = !log.open;
    if (log.open && !log.loaded) await log.load();
  }

  /** Replays a delivery, then lists the endpoints again: the pending count
   * moves, and a refusal may mean the endpoint was disabled meanwhile. */
  async replay(endpoint: number, delivery: number): Promise<void> {
    const log = this.logs[endpoint];
    if (!log) return;
    await log.replay(delivery);
    await this.load();
  }

  toggleEvent(e: EventType, on: boolean): void {
    const events = this.form.events.filter((x) => x !== e);
    // Kept in the server's order, whatever order they were ticked in.
    this.form.events = on ? EVENT_TYPES.filter((x) => x === e || events.includes(x)) : events;
  }

  /** Registers the endpoint in the form. On success its secret is shown
   * once and the form is cleared; a field the server refuses says why
   * next to it, and the form keeps what was typed. */
  async create(): Promise<void> {
    if (this.creating) return;
    this.creating = true;
    this.fieldErrors = {};
    this.formError = null;
    this.notice = null;
    this.created = null;
    const webhook: NewWebhook = {
      url: this.form.url,
      events: [...this.form.events],
      description: this.form.description.trim() || null,
    };
    try {
      const answer = await this.backend.webhookCreate(webhook);
      if (answer.outcome === "invalid") {
        if ((FORM_FIELDS as readonly string[]).includes(answer.field)) {
          this.fieldErrors = { [answer.field as FormField]: answer.message };
        } else {
          this.formError = `${answer.field}: ${answer.message}`;
        }
        return;
      }
      const { secret, ...endpoint } = answer.webhook;
      // The list never holds the secret: only the one-time box does.
      this.endpoints = [...this.endpoints.filter((w) => w.id !== endpoint.id), { ...endpoint, secret: null }];
      this.form = emptyForm();
      if (secret) {
        this.created = { url: endpoint.url, secret };
      } else {
        this.notice = "Endpoint added, but the server's answer held no signing secret: delete it and add it again.";
      }
    } catch (e) {
      this.formError = errorText(asError(e), "review");
    } finally {
      this.creating = false;
    }
  }

  /** The secret was copied (or not): it is forgotten. */
  done(): void {
    this.created = null;
  }

  askDelete(id: number): void {
    const endpoint = this.endpoints.find((w) => w.id === id);
    if (endpoint && !deletable(endpoint)) return;
    this.confirming = id;
    this.note(id, null);
  }

  cancelDelete(): void {
    this.confirming = null;
  }

  /** Deletes the endpoint once confirmed: it leaves the list with its log. */
  async remove(id: number): Promise<void> {
    const endpoint = this.endpoints.find((w) => w.id === id);
    if (this.deleting.has(id) || (endpoint && !deletable(endpoint))) return;
    this.deleting = new Set([...this.deleting, id]);
    this.notice = null;
    try {
      await this.backend.webhookDelete(id);
      this.endpoints = this.endpoints.filter((w) => w.id !== id);
      const logs = { ...this.logs };
      delete logs[id];
      this.logs = logs;
      this.confirming = null;
      this.note(id, null);
      this.notice = `Endpoint deleted${endpoint ? `: ${endpoint.url}` : ""}. Nothing more is sent to it.`;
    } catch (e) {
      this.confirming = null;
      this.note(id, { kind: "error", text: errorText(asError(e), "review") });
    } finally {
      const deleting = new Set(this.deleting);
      deleting.delete(id);
      this.deleting = deleting;
    }
  }

  private note(id: number, note: RowNote | null): void {
    const notes = { ...this.notes };
    if (note) notes[id] = note;
    else delete notes[id];
    this.notes = notes;
  }
}
