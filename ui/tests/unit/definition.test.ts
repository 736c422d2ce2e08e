import { afterEach, describe, expect, it } from "vitest";
import { cleanup, fireEvent, render, screen, within } from "@testing-library/svelte";
import DefinitionTab from "../../src/components/DefinitionTab.svelte";
import Review from "../../src/components/Review.svelte";
import { CRITERION_KINDS, DefinitionState, draftFrom, draftOf, kindLabel, signal } from "../../src/lib/definition.svelte";
import { ReviewState } from "../../src/lib/review.svelte";
import { tauriBackend } from "../../src/lib/tauri";
import { installFakeShell, settle } from "./setup";

afterEach(() => cleanup());

async function loaded(options: { admin?: boolean } = {}) {
  const fake = installFakeShell({ role: "manager", ...options });
  const definition = new DefinitionState(tauriBackend);
  await definition.load();
  return { fake, definition };
}

describe("the definition of a qualified lead", () => {
  it("names kinds and signals in words", () => {
    expect(CRITERION_KINDS).toEqual(["score_item", "quiz_answer", "intent"]);
    expect(kindLabel("quiz_answer")).toBe("Quiz answer");
    expect(signal({ key: "How big is your team?", value: "50-200" })).toBe("How big is your team? = 50-200");
    expect(signal({ key: "Pricing page visits", value: null })).toBe("Pricing page visits");
  });

  it("loads the versions, newest first, the one in force, and each one's outcomes", async () => {
    const { definition, fake } = await loaded();
    expect(definition.versions.map((d) => d.version)).toEqual([4, 3, 2, 1]);
    expect(definition.current?.threshold).toBe(60);
    expect(definition.outcomes.map((o) => o.version)).toEqual([1, 2, 3, 4]);
    await definition.load("emea");
    expect(fake.calls.filter((c) => c.cmd === "definition_outcomes").pop()!.args).toEqual({ team: "emea" });
  });

  it("a proposal starts from the version in force, and blanks are sent as none", async () => {
    const { definition } = await loaded();
    definition.edit();
    const draft = definition.draft!;
    expect(draft.basedOn).toBe(4);
    expect(draft.criteria[2]).toEqual({ kind: "score_item", key: "Pricing page visits", value: "", points: 20, meaning: "Pricing visits show buying intent", opener: "" });
    const sent = draftOf(draft);
    expect(sent.criteria[2].value).toBeNull();
    expect(sent.criteria[2].opener).toBeNull();
    expect(draftOf(draftFrom(definition.current!)).criteria).toEqual(definition.current!.criteria.map((c) => ({ value: null, opener: null, ...c })));
  });

  it("previews the proposed threshold over the chosen period against the one in force", async () => {
    const { definition, fake } = await loaded();
    definition.edit();
    definition.draft!.threshold = 80;
    definition.previewDays = 7;
    const now = Date.parse("2026-12-01T12:00:00Z");
    await definition.runPreview("emea", now);
    expect(fake.calls.filter((c) => c.cmd === "definition_preview").pop()!.args).toEqual({
      team: "emea",
      request: { threshold: 80, from: "2026-11-24T12:00:00.000Z", to: "2026-12-01T12:00:00.000Z" },
    });
    const p = definition.preview!;
    expect([p.current_threshold, p.proposed_threshold]).toEqual([60, 80]);
    expect(p.newly_unqualified).toBeGreaterThan(0);
    expect(p.qualified_proposed).toBe(p.qualified_current - p.newly_unqualified);
    definition.draft!.threshold = 180;
    await definition.runPreview(null, now);
    expect(definition.fieldErrors).toEqual({ threshold: "Give a whole score from 0 to 100." });
  });

  it("publishing names the field the server refuses, keeps the proposal, then publishes the next version", async () => {
    const { definition, fake } = await loaded();
    definition.edit();
    definition.addCriterion();
    definition.draft!.criteria[4] = { kind: "intent", key: "mood", value: "", points: 5, meaning: "Happy leads", opener: "Smile" };
    definition.draft!.note = "Mood matters";
    await definition.publish();
    expect(definition.fieldErrors).toEqual({ "criteria[4].key": "an intent criterion's key is need, timeline or budget" });
    expect(definition.formError).toBeNull();
    expect(definition.draft).not.toBeNull();
    definition.draft!.criteria[4].key = "need";
    definition.draft!.threshold = 65;
    await definition.publish();
    expect(definition.draft).toBeNull();
    expect(definition.notice).toBe("Published definition v5: leads arriving from now on are qualified under it.");
    expect(definition.inForce).toBe(5);
    expect(definition.versions[0].changes).toContain("threshold 60 → 65");
    expect(fake.definitions).toHaveLength(5);
  });

  it("only admins get Publish", async () => {
    const { definition } = await loaded({ admin: false });
    render(DefinitionTab, { props: { definition, admin: false, team: null } });
    await fireEvent.click(screen.getByTestId("definition-edit"));
    await settle();
    expect(screen.queryByTestId("publish")).toBeNull();
    expect(screen.getByTestId("publish-admins-only").textContent).toContain("Only an admin publishes");
  });

  it("the editor shows the server's refusal next to the field it named", async () => {
    const { definition } = await loaded();
    definition.edit();
    render(DefinitionTab, { props: { definition, admin: true, team: null } });
    const note = screen.getByTestId("draft-note");
    await fireEvent.input(note, { target: { value: "" } });
    const key = screen.getAllByTestId("criterion-key")[1];
    await fireEvent.input(key, { target: { value: "   " } });
    await fireEvent.input(note, { target: { value: "Tidy up" } });
    await fireEvent.click(screen.getByTestId("publish"));
    await settle();
    // The fake refuses the first fault it finds, as the server does; the key is blank.
    const criterion = screen.getAllByTestId("draft-criterion")[1];
    expect(within(criterion).getByTestId("field-error").textContent).toBe("must not be empty");
    expect(key.getAttribute("aria-invalid")).toBe("true");
  });

  it("criteria holding markup are shown and edited as text", async () => {
    const { definition } = await loaded();
    render(DefinitionTab, { props: { definition, admin: true, team: null } });
    const table = screen.getByTestId("definition-criteria");
    expect(table.textContent).toContain("<i>Spreadsheets</i> mean no routing yet <img src=x onerror=window.__pwned=8>");
    expect(table.textContent).toContain("<script>window.__pwned=9</script>");
    expect(table.querySelector("i, img, script")).toBeNull();
    await fireEvent.click(screen.getByTestId("definition-edit"));
    await settle();
    const meanings = screen.getAllByTestId("criterion-meaning") as HTMLInputElement[];
    expect(meanings[1].value).toBe("<i>Spreadsheets</i> mean no routing yet <img src=x onerror=window.__pwned=8>");
    expect((window as unknown as { __pwned?: number }).__pwned).toBeUndefined();
  });

  it("the history lists each version with what it changed, and the outcomes side by side", async () => {
    const { definition } = await loaded();
    render(DefinitionTab, { props: { definition, admin: true, team: null } });
    const versions = screen.getAllByTestId("definition-version");
    expect(versions[0].textContent).toContain("v4");
    expect(versions[0].textContent).toContain("threshold 40 → 60");
    const rows = within(screen.getByTestId("outcomes-table")).getAllByRole("row");
    expect(rows).toHaveLength(5);
    expect(rows[4].textContent).toMatch(/^v460.*now/);
    await fireEvent.click(screen.getByRole("button", { name: "View definition v2" }));
    await settle();
    expect(screen.getByTestId("definition-view").textContent).toContain("Definition v2");
  });

  it("the calibration's Apply this threshold opens the Definition tab with a proposal of it", async () => {
    installFakeShell({ role: "manager" });
    const review = new ReviewState(tauriBackend);
    render(Review, { props: { review, now: Date.now() } });
    await review.start();
    await settle();
    await fireEvent.click(screen.getByTestId("tab-calibration"));
    await settle();
    await fireEvent.click(screen.getByTestId("apply-threshold"));
    await settle();
    expect(screen.getByTestId("tab-definition").textContent).toBe("Definition (proposal)");
    expect((screen.getByTestId("draft-threshold") as HTMLInputElement).value).toBe("72");
    expect((screen.getByTestId("draft-note") as HTMLTextAreaElement).value).toBe(
      "Threshold 72, from the score calibration: it would have met the 60% acceptance target (81% of 31 decided leads accepted).",
    );
    expect(screen.getByTestId("publish")).toBeTruthy();
  });
});
