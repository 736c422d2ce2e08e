import { describe, expect, it } from "vitest";
import { band, filterLog, ReviewState } from "../../src/lib/review.svelte";
import { tauriBackend } from "../../src/lib/tauri";
import type { FeedbackLogEntry } from "../../src/bindings";
import { installFakeShell } from "./setup";

function entry(over: Partial<FeedbackLogEntry>): FeedbackLogEntry {
  return {
    decision_id: 1,
    lead_id: 1,
    external_id: "x",
    lead_name: "Ada",
    company: null,
    source: "webinar",
    score: 70,
    rep_id: 1,
    rep_name: "Ava",
    decision: "reject",
    reason: "no_budget",
    note: null,
    assigned_at: "2026-11-25T10:00:00Z",
    decided_at: "2026-11-25T10:05:00Z",
    seconds_to_decision: 300,
    ...over,
  };
}

describe("review", () => {
  it("bands scores as the server does", () => {
    expect([band(0), band(59), band(60), band(89), band(90), band(100)]).toEqual([
      "0-9",
      "50-59",
      "60-69",
      "80-89",
      "90-100",
      "90-100",
    ]);
  });

  it("filters the log on every filter that is set", () => {
    const log = [
      entry({ decision_id: 1 }),
      entry({ decision_id: 2, rep_name: "Ben" }),
      entry({ decision_id: 3, decision: "accept", reason: null }),
      entry({ decision_id: 4, score: 95, source: "ads" }),
    ];
    const none = { reason: "", rep: "", source: "", band: "", decision: "" } as const;
    expect(filterLog(log, none)).toHaveLength(4);
    expect(filterLog(log, { ...none, rep: "Ben" }).map((e) => e.decision_id)).toEqual([2]);
    expect(filterLog(log, { ...none, decision: "reject", reason: "no_budget" }).map((e) => e.decision_id)).toEqual([
      1, 2, 4,
    ]);
    expect(filterLog(log, { ...none, band: "90-100", source: "ads" }).map((e) => e.decision_id)).toEqual([4]);
  });

  it("loads the period asked for, and falls back to the last review when offline", async () => {
    const fake = installFakeShell({ role: "manager" });
    const review = new ReviewState(tauriBackend);
    review.days = 7;
    review.target = 80;
    const now = Date.parse("2026-11-25T12:00:00Z");
    await review.load(now);
    const call = fake.calls.filter((c) => c.cmd === "review_load").pop()!;
    expect(call.args.query).toEqual({
      from: "2026-11-18T12:00:00.000Z",
      to: "2026-11-25T12:00:01.000Z",
      team: null,
      target_rate: 0.8,
    });
    expect(review.data?.offline).toBe(false);
    fake.setReviewOffline(true);
    await review.load(now);
    expect(review.error).toBeNull();
    expect(review.data?.offline).toBe(true);
    review.showReason("other");
    expect(review.log.every((e) => e.reason === "other")).toBe(true);
    expect(review.log.length).toBeGreaterThan(0);
  });

  it("loads chosen dates as whole UTC days, and says what is wrong with a backwards period", async () => {
    const fake = installFakeShell({ role: "manager" });
    const review = new ReviewState(tauriBackend);
    review.days = 0;
    review.fromDay = "2026-07-01";
    review.toDay = "2026-09-30";
    await review.load();
    const call = fake.calls.filter((c) => c.cmd === "review_load").pop()!;
    expect(call.args.query).toMatchObject({ from: "2026-07-01T00:00:00.000Z", to: "2026-10-01T00:00:00.000Z" });
    const calls = fake.calls.length;
    review.toDay = "2026-06-30";
    await review.load();
    expect(review.error).toBe("The period's last day is before its first day.");
    expect(fake.calls.length).toBe(calls);
  });
});
