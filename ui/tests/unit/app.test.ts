import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { AppState, UNDO_MS } from "../../src/lib/app.svelte";
import { tauriBackend } from "../../src/lib/tauri";
import { installFakeShell, settle, type Fake } from "./setup";

let fake: Fake;
let app: AppState;

async function started(options = {}) {
  fake = installFakeShell(options);
  app = new AppState(tauriBackend);
  await app.start();
  app.setView(0, 20);
  await settle();
  return app;
}

describe("AppState against the shell's IPC", () => {
  beforeEach(() => vi.useRealTimers());
  afterEach(() => app?.stop());

  it("loads the session, the status and the first page", async () => {
    await started();
    expect(app.session?.signed_in).toBe(true);
    expect(app.status?.counts.new).toBe(40);
    expect(app.total).toBe(40);
    expect(app.rowAt(0)).toBeDefined();
    // New leads come most urgent first.
    const due = [0, 1, 2].map((i) => Date.parse(app.rowAt(i)!.sla_due_at!));
    expect(due).toEqual([...due].sort((a, b) => a - b));
  });

  it("holds a decision for the undo window, then hands it to the shell once", async () => {
    await started();
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
    const first = app.rowAt(0)!;
    app.accept(first);
    expect(app.pending.map((p) => p.id)).toEqual([first.id]);
    expect(app.selectedIndex).toBe(1);
    expect(fake.calls.filter((c) => c.cmd === "accept")).toHaveLength(0);
    vi.advanceTimersByTime(UNDO_MS);
    // The shell's status event after the decision.
    await vi.runOnlyPendingTimersAsync();
    vi.useRealTimers();
    await settle();
    expect(fake.calls.filter((c) => c.cmd === "accept")).toEqual([{ cmd: "accept", args: { id: first.id } }]);
    expect(app.pending).toHaveLength(0);
    expect(app.status?.counts.new).toBe(39);
    expect(app.status?.counts.accepted).toBe(1);
  });

  it("undo within the window sends nothing", async () => {
    await started();
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
    app.accept(app.rowAt(0)!);
    app.undo();
    vi.advanceTimersByTime(UNDO_MS * 2);
    vi.useRealTimers();
    await settle();
    expect(fake.calls.some((c) => c.cmd === "accept")).toBe(false);
    expect(app.pending).toHaveLength(0);
  });

  it("a reason that needs a note is not queued without one", async () => {
    await started();
    const lead = app.rowAt(0)!;
    app.startReject(lead);
    expect(app.rejecting?.id).toBe(lead.id);
    expect(app.confirmReject("other", "   ")).toMatch(/needs a note/);
    expect(app.pending).toHaveLength(0);
    expect(app.confirmReject("other", "Student project")).toBeNull();
    expect(app.pending[0]).toMatchObject({ id: lead.id, kind: "reject", reason: "other", note: "Student project" });
    await app.commit(lead.id);
    expect(fake.calls.find((c) => c.cmd === "reject")?.args).toEqual({
      id: lead.id,
      reason: "other",
      note: "Student project",
    });
  });

  it("search asks the shell and lists only the hits", async () => {
    await started();
    app.setSearch("hopper");
    await settle();
    const q = fake.calls.filter((c) => c.cmd === "inbox").pop()!;
    expect(q.args.search).toBe("hopper");
    expect(app.total).toBeGreaterThan(0);
    for (let i = 0; i < app.total; i++) expect(app.rowAt(i)!.name.toLowerCase()).toContain("hopper");
  });

  it("re-reads the list when the shell says the cache changed, and only then", async () => {
    await started();
    const before = fake.calls.filter((c) => c.cmd === "inbox").length;
    fake.emitStatus(); // same cache version: nothing to re-read
    await settle();
    expect(fake.calls.filter((c) => c.cmd === "inbox").length).toBe(before);
    fake.addLead();
    await settle();
    expect(fake.calls.filter((c) => c.cmd === "inbox").length).toBeGreaterThan(before);
    expect(app.total).toBe(41);
  });

  it("shows a decision the server refused", async () => {
    await started();
    fake.setOffline(true);
    await settle();
    const lead = app.rowAt(0)!;
    app.accept(lead);
    await app.commit(lead.id);
    await settle();
    expect(app.status?.sync.outbox_depth).toBe(1);
    fake.refuse(lead.id, "lead 1 is no longer assigned to you");
    await settle();
    expect(app.notices).toEqual([{ id: lead.id, name: lead.name, message: "lead 1 is no longer assigned to you" }]);
  });

  it("a shell error reaches the rep as its message", async () => {
    await started({ signedIn: false });
    expect(app.session?.signed_in).toBe(false);
    expect(await app.signIn("http://127.0.0.1:7878", "bad")).toBe(false);
    expect(app.error).toEqual({ code: "unauthorized", message: "the server refused the token: unknown token" });
    expect(await app.signIn("http://127.0.0.1:7878", "good")).toBe(true);
    expect(app.session?.signed_in).toBe(true);
  });
});
