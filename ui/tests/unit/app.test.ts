import { afterEach, describe, expect, it } from "vitest";
import { AppState } from "../../src/lib/app.svelte";
import { errorText } from "../../src/lib/backend";
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

const sent = (cmd: string) => fake.calls.filter((c) => c.cmd === cmd);

describe("AppState against the shell's IPC", () => {
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

  it("accept is handed to the shell at the keypress, and is undoable as the engine says", async () => {
    await started();
    const first = app.rowAt(0)!;
    const before = Date.now();
    const done = app.accept(first);
    // Invoked at once, no timer in between; the selection moves on.
    expect(sent("accept")).toEqual([{ cmd: "accept", args: { id: first.id } }]);
    expect(app.selectedIndex).toBe(1);
    // A second keypress while it is on its way decides nothing twice.
    await app.accept(first);
    await done;
    await settle();
    expect(sent("accept")).toHaveLength(1);
    expect(app.status?.counts.accepted).toBe(1);
    expect(app.pending).toHaveLength(1);
    expect(app.pending[0]).toMatchObject({ id: first.id, name: first.name, kind: "accept", reason: null });
    expect(app.pending[0].sendAt).toBeGreaterThanOrEqual(before + 5000);
    expect(app.pending[0].sendAt).toBeLessThanOrEqual(Date.now() + 5000);
    // Out of the new list; the next lead is still the selected one.
    expect(app.total).toBe(39);
    expect(app.selected?.id).toBe(app.rowAt(0)!.id);
    expect(app.canDecide({ ...first, status: "new" })).toBe(false);
  });

  it("undo within the window calls undo and the lead is new again", async () => {
    await started();
    const first = app.rowAt(0)!;
    await app.accept(first);
    await settle();
    expect(app.total).toBe(39);
    await app.undo(); // the most recent
    await settle();
    expect(sent("undo")).toEqual([{ cmd: "undo", args: { id: first.id } }]);
    expect(app.pending).toHaveLength(0);
    expect(app.status?.counts.new).toBe(40);
    expect(app.total).toBe(40);
    expect(app.rowAt(0)).toMatchObject({ id: first.id, status: "new", decision: null });
    // Taken back to decide again: it is the selected lead.
    expect(app.selected?.id).toBe(first.id);
    expect(fake.outboxDepth()).toBe(0);
    expect(app.error).toBeNull();
  });

  it("undo picks the most recent of several", async () => {
    await started();
    const [a, b] = [app.rowAt(0)!, app.rowAt(1)!];
    await app.accept(a);
    await app.accept(b);
    await settle();
    expect(app.pending.map((p) => p.id)).toEqual([a.id, b.id]);
    await app.undo();
    await settle();
    expect(sent("undo").map((c) => c.args.id)).toEqual([b.id]);
    expect(app.pending.map((p) => p.id)).toEqual([a.id]);
  });

  it("too late to undo shows the message", async () => {
    await started();
    const first = app.rowAt(0)!;
    await app.accept(first);
    await settle();
    // The window ended; the window has not heard yet.
    fake.endUndoWindows(false);
    expect(app.pending).toHaveLength(1);
    await app.undo();
    expect(app.error?.code).toBe("too_late_to_undo");
    expect(errorText(app.error!)).toBe("Too late to undo: it was already sent.");
  });

  it("a decision leaves the undoable list when its window ends, and is sent", async () => {
    await started({ undoMs: 80 });
    const first = app.rowAt(0)!;
    await app.accept(first);
    await settle();
    expect(app.pending).toHaveLength(1);
    await settle(40);
    expect(app.pending).toHaveLength(0);
    expect(app.status?.sync.outbox_depth).toBe(0);
    const d = await tauriBackend.lead(first.id);
    expect(d.summary.decision_state).toBe("confirmed");
  });

  it("a reason that needs a note is not sent without one; the label comes from the reasons", async () => {
    await started();
    const lead = app.rowAt(0)!;
    app.startReject(lead);
    expect(app.rejecting?.id).toBe(lead.id);
    expect(app.confirmReject("other", "   ")).toMatch(/needs a note/);
    expect(sent("reject")).toHaveLength(0);
    expect(app.confirmReject("other", " Student project ")).toBeNull();
    expect(app.rejecting).toBeNull();
    expect(sent("reject").map((c) => c.args)).toEqual([{ id: lead.id, reason: "other", note: "Student project" }]);
    await settle();
    expect(app.pending[0]).toMatchObject({ id: lead.id, kind: "reject", reason: "other", reasonLabel: "Other" });
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
    const before = sent("inbox").length;
    fake.emitStatus(); // same cache version: nothing to re-read
    await settle();
    expect(sent("inbox").length).toBe(before);
    fake.addLead();
    await settle();
    expect(sent("inbox").length).toBeGreaterThan(before);
    expect(app.total).toBe(41);
  });

  it("a lead opened from its notification as it arrives stays opened and selected", async () => {
    await started({ leads: 3 });
    await app.open(app.rowAt(0)!.id);
    // The new lead reaches the cache, and its notification is clicked
    // while the list and the opened lead are being re-read.
    const id = fake.addLead({ name: "Just arrived" });
    fake.emit("open-lead", id);
    await settle();
    expect(app.opened?.summary.id).toBe(id);
    expect(app.selected?.id).toBe(id);
  });

  it("a refused event shows a notice, once per lead", async () => {
    await started();
    fake.setOffline(true);
    await settle();
    const lead = app.rowAt(0)!;
    await app.accept(lead);
    await settle();
    expect(sent("lead")).toHaveLength(0); // nothing re-read to find refusals
    fake.refuse(lead.id, "lead 1 is no longer assigned to you");
    await settle();
    expect(app.notices).toEqual([{ id: lead.id, name: lead.name, message: "lead 1 is no longer assigned to you" }]);
    fake.emit("engine", { kind: "decision_refused", lead_id: lead.id, name: lead.name, message: "again" });
    await settle();
    expect(app.notices).toEqual([{ id: lead.id, name: lead.name, message: "again" }]);
    app.dismissNotice(lead.id);
    expect(app.notices).toEqual([]);
  });

  it("sign-out is refused while decisions cannot be sent, and says why", async () => {
    await started();
    fake.setOffline(true);
    await app.accept(app.rowAt(0)!);
    expect(await app.signOut()).toBe(false);
    expect(app.error?.code).toBe("not_actionable");
    expect(app.session?.signed_in).toBe(true);
    fake.setOffline(false);
    expect(await app.signOut()).toBe(true);
    expect(app.session?.signed_in).toBe(false);
  });

  it("a shell error reaches the rep as its code and message", async () => {
    await started({ signedIn: false, tokenNotice: "Your token is kept in /home/rep/token: no keychain." });
    expect(app.session?.signed_in).toBe(false);
    expect(app.tokenNotice).toBeNull();
    expect(await app.signIn("http://127.0.0.1:7878", "bad")).toBe(false);
    expect(app.error).toEqual({ code: "unauthorized", message: "the server refused the token: unknown token" });
    expect(await app.signIn("http://127.0.0.1:7878", "good")).toBe(true);
    expect(app.session?.signed_in).toBe(true);
    expect(app.tokenNotice).toBe("Your token is kept in /home/rep/token: no keychain.");
    app.dismissTokenNotice();
    expect(app.tokenNotice).toBeNull();
  });
});
