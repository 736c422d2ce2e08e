import { afterEach, describe, expect, it } from "vitest";
import { cleanup, fireEvent, render, screen, within } from "@testing-library/svelte";
import App from "../../src/App.svelte";
import { AppState } from "../../src/lib/app.svelte";
import { tauriBackend } from "../../src/lib/tauri";
import { installFakeShell, settle } from "./setup";

afterEach(() => cleanup());

async function opened(leadId: number) {
  const fake = installFakeShell();
  const app = new AppState(tauriBackend);
  render(App, { props: { app } });
  await app.start();
  await settle();
  await app.open(leadId);
  await settle();
  return { app, fake };
}

// Lead 2 (index 1): score 77, answers "50-200", qualified under v4 (60);
// the rotation passed over Ben (off shift) and Cid (at cap).
describe("why this lead came to me", () => {
  it("says under which definition it qualified, in one line, and why routing chose the rep", async () => {
    await opened(2);
    expect(screen.getByTestId("qualified").textContent).toBe("Qualified under definition v4 — score 77 ≥ 60");
    expect(screen.getByTestId("why-line").textContent).toBe(
      "Next in team emea's rotation — skipped: Ben Ortiz off shift, Cid Park at cap",
    );
    const details = screen.getByTestId("why-details");
    expect(details.textContent).toContain("Rule “emea-by-country”: country DE is in region emea");
    expect(screen.getAllByTestId("considered").map((li) => li.textContent?.trim())).toEqual([
      "Ben Ortiz was outside their working hours",
      "Cid Park already held as many undecided leads as their cap allows",
      "Ava Rossi got the lead (you)",
    ]);
  });

  it("a lead of an account the rep holds says so, and one from before the threshold rose names its version", async () => {
    // Lead 4 (index 3): the account match.
    await opened(4);
    expect(screen.getByTestId("why-line").textContent).toBe("Holds the account tyrell.test");
    expect(screen.getAllByTestId("considered").map((li) => li.textContent?.trim())).toEqual(["Ava Rossi got the lead (you)"]);
    cleanup();
    // Lead 1 scored 40 while v3 (40) was in force.
    await opened(1);
    expect(screen.getByTestId("qualified").textContent).toBe("Qualified under definition v3 — score 40 ≥ 40");
  });

  it("lists how to open, as plain text, and only the lines that apply", async () => {
    await opened(2);
    const open = screen.getByTestId("how-to-open");
    const lines = within(open)
      .getAllByRole("listitem")
      .map((li) => li.textContent);
    expect(lines).toEqual([
      "Open with the routing audit for mid-size floors — How big is your team?: 50-200",
      "Ask how a lead gets from the sheet to a rep <script>window.__pwned=9</script> — What do you use today?: Spreadsheets",
      "Ask what must be live by the end of the quarter — timeline: This quarter",
    ]);
    expect(open.querySelector("script")).toBeNull();
    cleanup();
    // Lead 5 answers "10-50": the team-size line does not apply.
    await opened(5);
    expect(screen.getByTestId("how-to-open").textContent).not.toContain("routing audit");
    cleanup();
    // Lead 1 qualified under v3, which has no lines.
    await opened(1);
    expect(screen.queryByTestId("how-to-open")).toBeNull();
  });

  it("opens the definition read-only, criteria with their meaning as text, and closes with Escape", async () => {
    const { app } = await opened(2);
    await fireEvent.click(screen.getByTestId("qualified"));
    await settle();
    const view = screen.getByTestId("definition-view");
    expect(view.textContent).toContain("Definition v4");
    expect(screen.getByTestId("definition-by").textContent).toMatch(/In force from .* · by Morgan Reyes/);
    expect(screen.getByTestId("definition-threshold").textContent).toContain("Leads scoring 60 or more go to sales.");
    expect(screen.getByTestId("definition-note").textContent).toBe("“Back to 60 after the Q3 review”");
    const criteria = screen.getByTestId("definition-criteria");
    expect(criteria.textContent).toContain("<i>Spreadsheets</i> mean no routing yet <img src=x onerror=window.__pwned=8>");
    expect(criteria.querySelector("i, img, script")).toBeNull();
    expect(screen.getByTestId("definition-reasons").textContent).toContain("Other (other, note required)");
    expect((window as unknown as { __pwned?: number }).__pwned).toBeUndefined();
    // The lead view's keys do not act behind the dialog.
    await fireEvent.keyDown(window, { key: "a" });
    expect(app.pending).toEqual([]);
    await fireEvent.keyDown(view, { key: "Escape" });
    await settle();
    expect(screen.queryByTestId("definition-view")).toBeNull();
  });

  it("a definition the lead view does not hold is asked of the shell", async () => {
    const { app, fake } = await opened(2);
    await app.showDefinition(2);
    expect(fake.calls.filter((c) => c.cmd === "lead_definition").map((c) => c.args)).toEqual([{ version: 2 }]);
    expect(app.definitionShown?.version).toBe(2);
    await app.showDefinition(4);
    expect(fake.calls.filter((c) => c.cmd === "lead_definition")).toHaveLength(1);
  });

  it("a lead taken back because the rep changed team says so", async () => {
    const { app, fake } = await opened(2);
    const row = (fake as unknown as { rows: { lead: { id: number }; status: string; taken_away_reason: string | null }[] }).rows.find(
      (r) => r.lead.id === 2,
    )!;
    row.status = "taken_away";
    row.taken_away_reason = "rep_changed";
    fake.emitStatus();
    await app.open(2);
    await settle();
    expect(screen.getByTestId("lead-view").textContent).toContain(
      "Taken away: you were moved to another team or deactivated, and the lead went to another rep.",
    );
  });
});

describe("a manager's notifications", () => {
  it("a missed SLA's notification opens the lead in the review, not an inbox", async () => {
    const fake = installFakeShell({ role: "manager" });
    const app = new AppState(tauriBackend);
    await app.start();
    await settle();
    fake.emit("open-lead", 3);
    await settle();
    expect(app.review?.opened?.lead.id).toBe(3);
    expect(fake.calls.some((c) => c.cmd === "lead")).toBe(false);
  });
});
