import { afterEach, describe, expect, it } from "vitest";
import { cleanup, fireEvent, render, screen } from "@testing-library/svelte";
import FailedIntake from "../../src/components/FailedIntake.svelte";
import { IntakeState, retryNotice } from "../../src/lib/intake.svelte";
import { tauriBackend } from "../../src/lib/tauri";
import { installFakeShell, settle } from "./setup";

afterEach(() => cleanup());

async function loaded() {
  const fake = installFakeShell({ role: "manager" });
  const intake = new IntakeState(tauriBackend);
  await intake.load();
  return { fake, intake };
}

const ids = (intake: IntakeState) => intake.receipts.map((r) => r.id);

describe("failed intake", () => {
  it("lists the open failed intakes, newest first, and asks for the open ones only", async () => {
    const { fake, intake } = await loaded();
    expect(ids(intake)).toEqual([103, 102, 101]);
    expect(intake.count).toBe("3");
    const call = fake.calls.filter((c) => c.cmd === "intake_failures").pop()!;
    expect(call.args.query).toEqual({ status: "failed", source: null, before: null, limit: 100 });
  });

  it("a retry that makes a lead takes the row off the list and says so", async () => {
    const { intake } = await loaded();
    await intake.retry(103);
    expect(ids(intake)).toEqual([102, 101]);
    expect(intake.notice).toBe("Lead created (lead 41)");
    await intake.retry(101);
    expect(intake.notice).toBe("Lead updated (lead 7)");
    expect(ids(intake)).toEqual([102]);
  });

  it("a retry that still fails keeps the row, with the field and why as they are now", async () => {
    const { intake } = await loaded();
    await intake.retry(102);
    expect(ids(intake)).toEqual([103, 102, 101]);
    const row = intake.receipts.find((r) => r.id === 102)!;
    expect(row.field).toBe("score.value");
    expect(row.message).toBe('property hs_lead_score is "high", not a number');
    expect(intake.notes[102]).toEqual({
      kind: "failing",
      text: 'Still failing: property hs_lead_score is "high", not a number',
    });
    expect(intake.notice).toBeNull();
  });

  it("a dismissed intake leaves the list", async () => {
    const { fake, intake } = await loaded();
    await intake.dismiss(102);
    expect(ids(intake)).toEqual([103, 101]);
    expect(fake.calls.filter((c) => c.cmd === "dismiss_intake").map((c) => c.args)).toEqual([{ id: 102 }]);
    await intake.load();
    expect(ids(intake)).toEqual([103, 101]);
  });

  it("an intake another manager settled meanwhile shows the server's conflict on its row", async () => {
    const { fake, intake } = await loaded();
    fake.settleIntake(103, "dismissed");
    await intake.retry(103);
    expect(intake.notes[103]).toEqual({
      kind: "error",
      text: "the server refused: failed intake 103 was dismissed; it cannot be retried",
    });
    fake.settleIntake(101, "reprocessed");
    await intake.dismiss(101);
    expect(intake.notes[101]?.text).toMatch(/it made a lead/);
    expect(ids(intake)).toEqual([103, 102, 101]);
    expect(intake.busy.size).toBe(0);
  });

  it("says why the list could not be loaded", async () => {
    const fake = installFakeShell({ role: "manager" });
    fake.setReviewOffline(true);
    const intake = new IntakeState(tauriBackend);
    await intake.load();
    expect(intake.error).toMatch(/cannot reach the server.*loads once the connection returns/);
    expect(intake.loaded).toBe(false);
  });

  it("names what a retry made", () => {
    expect(retryNotice({ outcome: "created", receipt_id: 1, lead_id: 5 })).toBe("Lead created (lead 5)");
    expect(retryNotice({ outcome: "updated", receipt_id: 1, lead_id: 5 })).toBe("Lead updated (lead 5)");
    expect(retryNotice({ outcome: "unchanged", receipt_id: 1 })).toBe("Lead already up to date");
  });

  it("an intake another manager already retried into a lead leaves the list as taken in", async () => {
    const { fake, intake } = await loaded();
    fake.settleIntake(101, "reprocessed");
    await intake.retry(101);
    expect(ids(intake)).toEqual([103, 102]);
    expect(intake.notice).toBe("Already taken in by an earlier retry (lead 7)");
  });

  it("shows a payload's markup as text, and says when nothing failed", async () => {
    const { fake, intake } = await loaded();
    render(FailedIntake, { props: { intake, now: Date.now() } });
    const pre = screen.getByLabelText("Payload of typeform delivery evt_tf_3");
    expect(pre.textContent).toContain("<img src=x onerror=alert(1)><script>window.__pwned=4</script>");
    expect(screen.getByTestId("intake-list").querySelector("img, script")).toBeNull();
    expect((window as unknown as { __pwned?: number }).__pwned).toBeUndefined();

    await fireEvent.click(screen.getByRole("button", { name: "Dismiss hubspot delivery hs-8812" }));
    await settle();
    expect(screen.getAllByTestId("failure")).toHaveLength(2);
    for (const id of [103, 101]) fake.settleIntake(id, "dismissed");
    await intake.load();
    await settle();
    expect(screen.getByTestId("intake-empty").textContent).toBe("No failed intake — every delivery became a lead.");
  });
});
