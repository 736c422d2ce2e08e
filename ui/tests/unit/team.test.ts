import { afterEach, describe, expect, it } from "vitest";
import { cleanup, fireEvent, render, screen, within } from "@testing-library/svelte";
import TeamTab from "../../src/components/TeamTab.svelte";
import { repState, scopeWords, shiftWords, TeamState } from "../../src/lib/team.svelte";
import { tauriBackend } from "../../src/lib/tauri";
import type { Rep } from "../../src/bindings";
import { installFakeShell, settle } from "./setup";

afterEach(() => cleanup());

async function loaded(options: { admin?: boolean } = {}) {
  const fake = installFakeShell({ role: "manager", ...options });
  const team = new TeamState(tauriBackend);
  await team.load();
  return { fake, team };
}

const names = (team: TeamState) => team.reps.map((r) => r.name);

describe("team administration", () => {
  it("an admin sees every team's reps, the managers and the audit log", async () => {
    const { team } = await loaded();
    expect(team.admin).toBe(true);
    expect(team.teams).toEqual(["emea", "americas"]);
    expect(names(team)).toEqual(["<b>Dee</b> Vance <script>window.__pwned=11</script>", "Ava Rossi", "Ben Ortiz", "Cid Park"]);
    expect(team.managers.map(scopeWords)).toEqual(["Admin: every team", "Manages americas"]);
    expect(team.audit).toHaveLength(100);
    expect(team.auditNext).not.toBeNull();
    await team.moreAudit();
    expect(team.audit).toHaveLength(131);
    expect(team.auditNext).toBeNull();
  });

  it("a team's manager sees their team only, and no managers or audit log", async () => {
    const { team, fake } = await loaded({ admin: false });
    expect(team.teams).toEqual(["emea"]);
    expect(names(team)).toEqual(["Ava Rossi", "Ben Ortiz", "Cid Park"]);
    expect(team.managers).toEqual([]);
    expect(fake.calls.some((c) => c.cmd === "managers_list" || c.cmd === "audit_log")).toBe(false);
  });

  it("says a rep's state and shift in words", () => {
    const r = { active: true, availability: "available", on_shift: true } as Rep;
    expect([repState(r), shiftWords(r)]).toEqual(["Available", "On shift"]);
    expect(repState({ ...r, availability: "away" })).toBe("Away");
    expect([repState({ ...r, active: false }), shiftWords({ ...r, active: false })]).toEqual(["Deactivated", "—"]);
    expect(shiftWords({ ...r, on_shift: false })).toBe("Off shift");
  });

  it("a new rep's token is shown once, then forgotten", async () => {
    const { team } = await loaded();
    team.form = { name: "Kai Moreno", email: "kai", team: "emea", weight: 2, max_open: 30 };
    await team.create();
    expect(team.fieldErrors).toEqual({ email: '"kai" is not an email address' });
    expect(team.created).toBeNull();
    team.form.email = "kai@baton.test";
    await team.create();
    expect(team.created).toEqual({ name: "Kai Moreno", token: "btn_rep_k3Y9fQ2xW8pL5mN7vB1c5" });
    expect(team.form.name).toBe("");
    expect(names(team)).toContain("Kai Moreno");
    await settle();
    expect(team.audit[0].action).toBe("rep.created");
    team.done();
    expect(team.created).toBeNull();
    expect(JSON.stringify(team)).not.toContain("btn_rep_");
  });

  it("edits a rep's weight and cap, naming a refused one", async () => {
    const { team, fake } = await loaded();
    const ben = team.reps.find((r) => r.name === "Ben Ortiz")!;
    team.startEdit(ben);
    team.edit.weight = 0;
    await team.saveEdit();
    expect(team.editErrors).toEqual({ weight: "must be from 1 to 1000" });
    team.edit.weight = 3;
    team.edit.max_open = 40;
    await team.saveEdit();
    expect(fake.calls.filter((c) => c.cmd === "rep_update").pop()!.args).toEqual({
      id: ben.id,
      change: { team: null, weight: 3, max_open: 40, active: null },
    });
    expect(team.editing).toBeNull();
    expect(team.reps.find((r) => r.id === ben.id)).toMatchObject({ weight: 3, max_open: 40 });
  });

  it("a rep's hours are set by their manager, with the refusal next to the field", async () => {
    const { team } = await loaded();
    const ava = team.reps.find((r) => r.name === "Ava Rossi")!;
    team.openHours(ava);
    expect(team.hours!.timeZone).toBe("Europe/Berlin");
    expect(team.hours!.hours).toEqual([{ day: "mon", start: "09:00", end: "17:00" }]);
    team.hours!.timeZone = "Mars/Olympus";
    await team.saveHours();
    expect(Object.keys(team.hours!.fieldErrors)).toEqual(["time_zone"]);
    team.hours!.timeZone = "America/New_York";
    await team.saveHours();
    expect(team.reps.find((r) => r.id === ava.id)!.schedule?.time_zone).toBe("America/New_York");
  });

  it("deactivating asks first, and the row then says what it did", async () => {
    const { team } = await loaded();
    render(TeamTab, { props: { team, now: Date.now() } });
    const row = () => screen.getAllByTestId("rep-row").find((r) => r.textContent?.includes("Cid Park"))!;
    await fireEvent.click(within(row()).getByRole("button", { name: "Deactivate Cid Park" }));
    await settle();
    const confirm = within(row()).getByRole("group", { name: "Confirm deactivating Cid Park" });
    expect(confirm.textContent).toContain("their undecided leads go to other reps now");
    expect(document.activeElement).toBe(within(confirm).getByTestId("confirm-deactivate"));
    await fireEvent.click(within(confirm).getByTestId("confirm-deactivate"));
    await settle();
    expect(within(row()).getByTestId("rep-state").textContent).toBe("Deactivated");
    expect(within(row()).getByTestId("rep-note").textContent).toContain("Cid Park is deactivated");
    expect(within(row()).getByRole("button", { name: "Reactivate Cid Park" })).toBeTruthy();
  });

  it("the add-rep form shows the token once with a copy button, and names and emails stay text", async () => {
    const { team } = await loaded();
    render(TeamTab, { props: { team, now: Date.now() } });
    expect(screen.getByTestId("rep-table").querySelector("b, script")).toBeNull();
    expect(screen.getByTestId("rep-table").textContent).toContain("<b>Dee</b> Vance");
    await fireEvent.input(screen.getByTestId("new-rep-name"), { target: { value: "Kai Moreno" } });
    await fireEvent.input(screen.getByTestId("new-rep-email"), { target: { value: "kai" } });
    await fireEvent.click(screen.getByTestId("add-rep-submit"));
    await settle();
    expect(screen.getByTestId("new-rep-email-error").textContent).toBe('"kai" is not an email address');
    await fireEvent.input(screen.getByTestId("new-rep-email"), { target: { value: "kai@baton.test" } });
    await fireEvent.click(screen.getByTestId("add-rep-submit"));
    await settle();
    const token = screen.getByTestId("rep-token-value") as HTMLInputElement;
    expect(token.value).toMatch(/^btn_rep_/);
    expect(document.activeElement).toBe(token);
    expect(within(screen.getByTestId("rep-token")).getByRole("button", { name: "Copy" })).toBeTruthy();
    await fireEvent.click(screen.getByTestId("token-done"));
    await settle();
    expect(screen.queryByTestId("rep-token")).toBeNull();
    expect(document.body.textContent).not.toContain("btn_rep_");
    expect((window as unknown as { __pwned?: number }).__pwned).toBeUndefined();
  });

  it("an admin changes a manager's teams; their own admin role is theirs to keep", async () => {
    const { team } = await loaded();
    const ines = team.managers.find((m) => m.name === "Ines Duarte")!;
    team.startScope(ines);
    team.toggleScopeTeam("emea", true);
    await team.saveScope();
    await settle();
    expect(team.managers.find((m) => m.id === ines.id)!.teams).toEqual(["americas", "emea"]);
    expect(team.audit[0].action).toBe("manager.scope");
    team.startScope(team.managers[0]);
    team.scope.admin = false;
    await team.saveScope();
    expect(team.scopeErrors).toEqual({ admin: "you cannot take away your own admin role; ask another admin" });
  });
});
