import { afterEach, describe, expect, it } from "vitest";
import { cleanup, fireEvent, render, screen } from "@testing-library/svelte";
import Webhooks from "../../src/components/Webhooks.svelte";
import type { WebhookEndpoint } from "../../src/bindings";
import {
  deletable,
  disabledBanner,
  endpointName,
  EVENT_TYPES,
  eventLabel,
  health,
  kindTitle,
  notDeletableText,
  replayable,
  statusWords,
  WebhooksState,
} from "../../src/lib/webhooks.svelte";
import { tauriBackend } from "../../src/lib/tauri";
import { installFakeShell, settle } from "./setup";

afterEach(() => cleanup());

async function loaded(options: { crm?: boolean } = {}) {
  const fake = installFakeShell({ role: "manager", ...options });
  const webhooks = new WebhooksState(tauriBackend);
  await webhooks.load();
  return { fake, webhooks };
}

const ids = (webhooks: WebhooksState) => webhooks.endpoints.map((w) => w.id);

function endpoint(over: Partial<WebhookEndpoint>): WebhookEndpoint {
  return {
    id: 1,
    kind: "webhook",
    url: "https://hooks.example.com/baton",
    events: ["lead.accepted"],
    active: true,
    pending: 0,
    created_at: "2026-12-01T09:00:00Z",
    ...over,
  };
}

describe("webhooks", () => {
  it("lists the endpoints and counts those that need a manager: disabled or failing", async () => {
    const { webhooks } = await loaded();
    expect(ids(webhooks)).toEqual([1, 2, 3]);
    expect(webhooks.attention).toBe(2);
    expect(webhooks.disabled.map((w) => w.id)).toEqual([3]);
  });

  it("says how an endpoint is doing in words", () => {
    const now = Date.parse("2026-12-01T12:00:00Z");
    expect(health(endpoint({}), now)).toEqual({ kind: "active", text: "Active" });
    expect(health(endpoint({ failing_since: "2026-12-01T09:00:00Z" }), now)).toEqual({
      kind: "failing",
      text: "Failing since 3 h ago",
    });
    expect(health(endpoint({ active: false, disabled_reason: "the endpoint answered 410 Gone" }), now)).toEqual({
      kind: "disabled",
      text: "Disabled: the endpoint answered 410 Gone",
    });
    expect(disabledBanner(endpoint({ active: false, disabled_reason: "every delivery has failed since 2026-11-28." }))).toBe(
      "An endpoint was disabled: every delivery has failed since 2026-11-28. Events are no longer sent to it; register it again once it is fixed.",
    );
  });

  it("names events and delivery states in words, and replays only what ended", () => {
    expect(EVENT_TYPES).toHaveLength(8);
    expect(eventLabel("definition.published")).toBe("Definition published");
    expect(EVENT_TYPES).not.toContain("Unknown");
    expect(eventLabel("lead.accepted")).toBe("Lead accepted");
    expect(eventLabel("lead.returned_to_nurture")).toBe("Lead returned to nurture");
    expect(statusWords("cancelled")).toBe("Cancelled (the endpoint was deleted)");
    const d = { status: "failed" } as Parameters<typeof replayable>[0];
    expect(replayable(d)).toBe(true);
    expect(replayable({ ...d, status: "delivered" })).toBe(true);
    expect(replayable({ ...d, status: "pending" })).toBe(false);
    expect(replayable({ ...d, status: "cancelled" })).toBe(false);
  });

  it("a new endpoint shows its secret once, the list never holds it, and Done forgets it", async () => {
    const { fake, webhooks } = await loaded();
    webhooks.form.url = "  https://hooks.acme.test/baton ";
    webhooks.toggleEvent("lead.rejected", true);
    webhooks.toggleEvent("lead.qualified", true);
    webhooks.form.description = "  ";
    await webhooks.create();
    const call = fake.calls.filter((c) => c.cmd === "webhook_create").pop()!;
    // Ticked in any order, sent in the server's; an empty description is none.
    expect(call.args.webhook).toEqual({
      url: "  https://hooks.acme.test/baton ",
      events: ["lead.qualified", "lead.rejected"],
      description: null,
    });
    expect(webhooks.created).toEqual({ url: "https://hooks.acme.test/baton", secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw4" });
    expect(ids(webhooks)).toEqual([1, 2, 3, 4]);
    expect(webhooks.endpoints.every((w) => w.secret == null)).toBe(true);
    expect(webhooks.form).toEqual({ url: "", events: [], description: "" });

    webhooks.done();
    expect(webhooks.created).toBeNull();
    await webhooks.load();
    expect(webhooks.endpoints.every((w) => w.secret == null)).toBe(true);
  });

  it("a URL or event list the server refuses says why next to that field and keeps what was typed", async () => {
    const { webhooks } = await loaded();
    webhooks.form.url = "http://hooks.acme.test/baton";
    webhooks.toggleEvent("lead.accepted", true);
    await webhooks.create();
    expect(webhooks.fieldErrors).toEqual({
      url: "must be https (http is accepted only with [webhooks] allow_private_targets)",
    });
    expect(webhooks.created).toBeNull();
    expect(webhooks.form.url).toBe("http://hooks.acme.test/baton");
    expect(ids(webhooks)).toEqual([1, 2, 3]);

    webhooks.form.url = "https://hooks.acme.test/baton";
    webhooks.toggleEvent("lead.accepted", false);
    await webhooks.create();
    expect(webhooks.fieldErrors).toEqual({ events: 'name at least one event, e.g. ["lead.accepted", "lead.rejected"]' });

    webhooks.toggleEvent("lead.routed", true);
    await webhooks.create();
    expect(webhooks.fieldErrors).toEqual({});
    expect(webhooks.created?.url).toBe("https://hooks.acme.test/baton");
  });

  it("a refusal with no field of the form, or no connection, is the form's error", async () => {
    const { fake, webhooks } = await loaded();
    fake.setReviewOffline(true);
    webhooks.form.url = "https://hooks.acme.test/baton";
    webhooks.toggleEvent("lead.routed", true);
    await webhooks.create();
    expect(webhooks.formError).toMatch(/cannot reach the server.*loads once the connection returns/);
    expect(webhooks.fieldErrors).toEqual({});
    expect(webhooks.creating).toBe(false);
  });

  it("a deletion waits for its confirmation, then the endpoint leaves the list", async () => {
    const { fake, webhooks } = await loaded();
    webhooks.askDelete(2);
    expect(webhooks.confirming).toBe(2);
    webhooks.cancelDelete();
    expect(webhooks.confirming).toBeNull();
    expect(fake.calls.filter((c) => c.cmd === "webhook_delete")).toEqual([]);

    await webhooks.toggleLog(2);
    webhooks.askDelete(2);
    await webhooks.remove(2);
    expect(fake.calls.filter((c) => c.cmd === "webhook_delete").map((c) => c.args)).toEqual([{ id: 2 }]);
    expect(ids(webhooks)).toEqual([1, 3]);
    expect(webhooks.logs[2]).toBeUndefined();
    expect(webhooks.confirming).toBeNull();
    expect(webhooks.notice).toBe("Endpoint deleted: https://alerts.example.net/webhook. Nothing more is sent to it.");
    expect(webhooks.attention).toBe(1);
    await webhooks.load();
    expect(ids(webhooks)).toEqual([1, 3]);
  });

  it("a delivery log loads when first opened, and a replay shows the row pending again", async () => {
    const { fake, webhooks } = await loaded();
    await webhooks.toggleLog(2);
    const log = webhooks.logs[2];
    expect(log.open).toBe(true);
    expect(log.rows.map((d) => d.id)).toEqual([23, 22, 21]);
    expect(fake.calls.filter((c) => c.cmd === "webhook_deliveries").pop()!.args).toEqual({ id: 2, before: null, limit: 50 });

    await webhooks.replay(2, 22);
    const row = log.rows.find((d) => d.id === 22)!;
    expect(row.status).toBe("pending");
    expect(row.message_id).toBe("msg_evt_22");
    expect(log.notes[22]).toEqual({ kind: "done", text: "Replayed: it is sent again with the same webhook-id." });
    // The list is read again: the endpoint has one more delivery waiting.
    expect(webhooks.endpoints.find((w) => w.id === 2)!.pending).toBe(2);

    await webhooks.toggleLog(2);
    expect(log.open).toBe(false);
    await webhooks.toggleLog(2);
    expect(fake.calls.filter((c) => c.cmd === "webhook_deliveries")).toHaveLength(1);
  });

  it("a replay to an endpoint disabled meanwhile shows the server's conflict and puts up the banner", async () => {
    const { fake, webhooks } = await loaded();
    await webhooks.toggleLog(1);
    fake.disableWebhook(1, "every delivery has failed since 2026-11-28");
    await webhooks.replay(1, 12);
    const log = webhooks.logs[1];
    expect(log.notes[12]).toEqual({
      kind: "error",
      text: "the server refused: webhook 1 is disabled (every delivery has failed since 2026-11-28); register the endpoint again to send to it",
    });
    expect(log.rows.find((d) => d.id === 12)!.status).toBe("delivered");
    expect(log.busy.size).toBe(0);
    expect(webhooks.disabled.map((w) => w.id)).toEqual([1, 3]);
    expect(webhooks.attention).toBe(3);
  });

  it("renders the banner, states, and a payload's markup as text only", async () => {
    const { webhooks } = await loaded();
    render(Webhooks, { props: { webhooks, now: Date.now() } });
    const banner = screen.getByTestId("disabled-banner");
    expect(banner.textContent).toContain(
      "An endpoint was disabled: the endpoint answered 410 Gone. Events are no longer sent to it; register it again once it is fixed.",
    );
    expect(screen.getAllByTestId("endpoint-health").map((e) => e.textContent?.trim())).toEqual([
      "Active",
      "Failing since 3 h ago",
      "Disabled: the endpoint answered 410 Gone",
    ]);

    const toggle = screen.getByRole("button", { name: "Deliveries of https://alerts.example.net/webhook" });
    expect(toggle.getAttribute("aria-expanded")).toBe("false");
    await fireEvent.click(toggle);
    await settle();
    expect(toggle.getAttribute("aria-expanded")).toBe("true");
    const pre = screen.getByLabelText("Payload of delivery 22 (Lead SLA breached, lead 12)");
    expect(pre.textContent).toContain("<img src=x onerror=alert(1)><script>window.__pwned=5</script>");
    expect(screen.getByTestId("deliveries").querySelector("img, script")).toBeNull();
    expect((window as unknown as { __pwned?: number }).__pwned).toBeUndefined();
    // Replay on what ended only: the pending delivery has none.
    expect(screen.queryByRole("button", { name: "Replay delivery 23 (Lead routed, lead 14)" })).toBeNull();
    expect(screen.getByRole("button", { name: "Replay delivery 22 (Lead SLA breached, lead 12)" })).toBeTruthy();
    expect(screen.getByRole("button", { name: "Replay delivery 21 (Lead routed, lead 12)" })).toBeTruthy();
  });

  it("shows the secret in a labelled read-only field until Done, and field errors next to their field", async () => {
    const { webhooks } = await loaded();
    render(Webhooks, { props: { webhooks, now: Date.now() } });
    await fireEvent.input(screen.getByLabelText("URL"), { target: { value: "https://10.0.0.8/hook" } });
    await fireEvent.click(screen.getByLabelText("Lead accepted"));
    await fireEvent.click(screen.getByRole("button", { name: "Add endpoint" }));
    await settle();
    const url = screen.getByLabelText("URL");
    expect(url.getAttribute("aria-invalid")).toBe("true");
    expect(screen.getByTestId("url-error").textContent).toMatch(/^resolves to 127\.0\.0\.1, a loopback/);
    expect(url.getAttribute("aria-describedby")).toBe("webhook-url-error");

    await fireEvent.input(url, { target: { value: "https://hooks.acme.test/baton" } });
    await fireEvent.click(screen.getByRole("button", { name: "Add endpoint" }));
    await settle();
    const secret = screen.getByLabelText("Signing secret") as HTMLInputElement;
    expect(secret.readOnly).toBe(true);
    expect(secret.value).toBe("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw4");
    expect(screen.getByTestId("secret").textContent).toContain(
      "Copy this secret now: it will not be shown again. Your receiver verifies each request's webhook-signature with it.",
    );
    expect(screen.queryByTestId("url-error")).toBeNull();
    await fireEvent.click(screen.getByRole("button", { name: "Done" }));
    await settle();
    expect(screen.queryByTestId("secret")).toBeNull();
    expect(document.body.textContent).not.toContain("whsec_");
  });

  it("names the server's CRM write-backs by their CRM and never offers to delete them", async () => {
    const hubspot = endpoint({ id: 41, kind: "hubspot", url: "https://api.hubapi.com" });
    expect(kindTitle(hubspot)).toBe("HubSpot owner write-back");
    expect(kindTitle(endpoint({ kind: "salesforce" }))).toBe("Salesforce owner write-back");
    expect(kindTitle(endpoint({}))).toBeNull();
    expect(endpointName(hubspot)).toBe("HubSpot owner write-back");
    expect(endpointName(endpoint({}))).toBe("https://hooks.example.com/baton");
    expect(deletable(hubspot)).toBe(false);
    expect(deletable(endpoint({ kind: "unknown" }))).toBe(false);
    expect(deletable(endpoint({}))).toBe(true);
    expect(notDeletableText(hubspot)).toBe("Defined in the server's config ([crm])");
    expect(
      disabledBanner(endpoint({ kind: "salesforce", active: false, disabled_reason: "Salesforce answered 401 INVALID_SESSION_ID." })),
    ).toBe(
      "The Salesforce owner write-back was disabled: Salesforce answered 401 INVALID_SESSION_ID. Owners are no longer written back; fix its [crm.salesforce] settings and restart baton-server to enable it again.",
    );

    const { fake, webhooks } = await loaded({ crm: true });
    expect(ids(webhooks)).toEqual([1, 2, 3, 41, 42]);
    webhooks.askDelete(41);
    expect(webhooks.confirming).toBeNull();
    await webhooks.remove(41);
    expect(fake.calls.filter((c) => c.cmd === "webhook_delete")).toEqual([]);
    expect(ids(webhooks)).toEqual([1, 2, 3, 41, 42]);
  });

  it("shows a write-back's state, deliveries and replay like an endpoint's, without a Delete button", async () => {
    const { fake, webhooks } = await loaded({ crm: true });
    render(Webhooks, { props: { webhooks, now: Date.now() } });
    const row = screen.getAllByTestId("endpoint").find((li) => li.dataset.webhookId === "41")!;
    expect(row.querySelector("[data-testid=endpoint-kind]")?.textContent).toBe("HubSpot owner write-back");
    expect(row.querySelector("[data-testid=endpoint-url]")?.textContent).toBe("https://api.hubapi.com");
    expect(row.querySelector("[data-testid=endpoint-health]")?.textContent?.trim()).toBe("Failing since 40 min ago");
    expect(row.querySelector("[data-testid=endpoint-config]")?.textContent).toBe("Defined in the server's config ([crm])");
    expect(row.querySelector("[data-testid=delete]")).toBeNull();
    expect(screen.queryByRole("button", { name: "Delete https://api.hubapi.com" })).toBeNull();
    // A webhook beside it keeps its Delete button.
    expect(screen.getByRole("button", { name: "Delete https://crm.example.com/hooks/baton" })).toBeTruthy();

    await fireEvent.click(screen.getByRole("button", { name: "Deliveries of HubSpot owner write-back" }));
    await settle();
    const log = screen.getByRole("list", { name: "Deliveries to HubSpot owner write-back" });
    expect(log.textContent).toContain("HubSpot answered 404 OBJECT_NOT_FOUND: resource not found <img src=x onerror=alert(1)>");
    expect(log.querySelector("img")).toBeNull();
    await fireEvent.click(screen.getByRole("button", { name: "Replay delivery 412 (Lead accepted, lead 7)" }));
    await settle();
    expect(fake.calls.filter((c) => c.cmd === "webhook_replay").map((c) => c.args)).toEqual([{ id: 41, delivery: 412 }]);
    expect(webhooks.logs[41].rows[0].status).toBe("pending");
  });
});
