import { describe, expect, it } from "vitest";
import { ago, bandWord, humanize, outcome, scoreBand, secondsLeft, sla, slaUrgency, span, timing } from "../../src/lib/format";
import type { LeadSummary } from "../../src/bindings";

const MIN = 60_000;
const now = Date.parse("2026-11-25T12:00:00Z");

function lead(over: Partial<LeadSummary> = {}): LeadSummary {
  return {
    id: 1,
    external_id: "x",
    status: "new",
    name: "Ada",
    company: null,
    email: null,
    title: null,
    channel: "webinar",
    score: 70,
    assignment_id: 1,
    assigned_at: new Date(now - 12 * MIN).toISOString(),
    sla_due_at: new Date(now + 48 * MIN).toISOString(),
    decision: null,
    decision_reason: null,
    decision_note: null,
    decision_state: null,
    refused_message: null,
    taken_away_reason: null,
    ...over,
  };
}

describe("format", () => {
  it("says how long ago and how long is left", () => {
    expect(timing(lead(), now)).toBe("assigned 12 min ago · SLA in 48 min");
    expect(span(125 * MIN)).toBe("2 h 5 min");
    expect(span(3 * 24 * 60 * MIN)).toBe("3 d");
    expect(ago(new Date(now - 10_000).toISOString(), now)).toBe("just now");
  });

  it("marks an SLA that is close or passed", () => {
    expect(sla(lead({ sla_due_at: new Date(now + 5 * MIN).toISOString() }), now).level).toBe("soon");
    expect(sla(lead({ sla_due_at: new Date(now - MIN).toISOString() }), now)).toEqual({
      text: "SLA passed",
      level: "late",
    });
    expect(sla(lead({ status: "accepted" }), now).level).toBe("none");
  });

  it("bands scores as the notifier does", () => {
    expect([scoreBand(85), scoreBand(80), scoreBand(79), scoreBand(50), scoreBand(49)]).toEqual([
      "hot",
      "hot",
      "warm",
      "warm",
      "cool",
    ]);
  });

  it("says a score's band and an SLA's urgency in words, not by colour alone", () => {
    expect([bandWord(85), bandWord(79), bandWord(49)]).toEqual(["Hot", "Warm", "Cool"]);
    expect(slaUrgency(sla(lead({ sla_due_at: new Date(now + 5 * MIN).toISOString() }), now).level)).toBe("Due soon");
    expect(slaUrgency(sla(lead({ sla_due_at: new Date(now - MIN).toISOString() }), now).level)).toBe("Overdue");
    expect(slaUrgency(sla(lead(), now).level)).toBeNull();
    expect(slaUrgency(sla(lead({ status: "accepted" }), now).level)).toBeNull();
  });

  it("says what happened to a decided or lost lead", () => {
    expect(outcome(lead({ status: "rejected", decision_reason: "no_budget", decision_state: "pending" }))).toBe(
      "Rejected: No budget · sending",
    );
    expect(outcome(lead({ status: "taken_away", taken_away_reason: "sla_expired" }))).toMatch(/SLA ran out/);
    expect(outcome(lead({ status: "taken_away", decision_state: "refused" }))).toBe("Refused by the server");
    expect(humanize("paid_search")).toBe("Paid search");
  });

  it("counts an undo window down in whole seconds, never below zero", () => {
    expect(secondsLeft(now + 5000, now)).toBe(5);
    expect(secondsLeft(now + 4001, now)).toBe(5);
    expect(secondsLeft(now + 4000, now)).toBe(4);
    expect(secondsLeft(now + 1, now)).toBe(1);
    expect(secondsLeft(now, now)).toBe(0);
    expect(secondsLeft(now - 900, now)).toBe(0);
  });
});
