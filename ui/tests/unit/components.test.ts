import { afterEach, describe, expect, it } from "vitest";
import { cleanup, fireEvent, render, screen } from "@testing-library/svelte";
import App from "../../src/App.svelte";
import { AppState } from "../../src/lib/app.svelte";
import { tauriBackend } from "../../src/lib/tauri";
import { installFakeShell, settle, type Fake } from "./setup";

afterEach(() => cleanup());

async function mounted(options = {}) {
  const fake = installFakeShell(options);
  const app = new AppState(tauriBackend);
  render(App, { props: { app } });
  await app.start();
  await settle();
  return { app, fake };
}

describe("App", () => {
  it("shows sign-in when the profile is not signed in", async () => {
    await mounted({ signedIn: false });
    expect(screen.getByRole("form", { name: "Sign in" })).toBeTruthy();
  });

  it("opens the selected lead with j and Enter and shows its quiz answers", async () => {
    const { app } = await mounted();
    await fireEvent.keyDown(window, { key: "j" });
    expect(app.selectedIndex).toBe(1);
    await fireEvent.keyDown(window, { key: "Enter" });
    await settle();
    const view = screen.getByTestId("lead-view");
    expect(view.textContent).toContain("How big is your team?");
    expect(screen.getByTestId("lead-name").textContent).toBe(app.rowAt(1)!.name);
  });

  it("renders markup in lead content as text and runs nothing", async () => {
    const { app, fake } = await mounted();
    const hostile = '<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script>';
    const id = fake.addLead({
      contact: { name: `<b>Eve</b> ${hostile}`, email: "eve@evil.test", company: "<i>Evil</i>" },
      quiz: [{ question: "<h1>Q</h1>", answer: hostile, points: 1 }],
    });
    await settle();
    await app.open(id);
    await settle();
    const view = screen.getByTestId("lead-view");
    expect(screen.getByTestId("lead-name").textContent).toBe(`<b>Eve</b> ${hostile}`);
    expect(view.querySelector("img, script, b, h1, i")).toBeNull();
    expect(view.textContent).toContain("<h1>Q</h1>");
    expect((window as unknown as { __pwned?: number }).__pwned).toBeUndefined();
  });

  it("a decision shows its undo toast with a countdown from send_at, and z undoes it", async () => {
    const { app, fake } = await mounted();
    const first = app.rowAt(0)!;
    await fireEvent.keyDown(window, { key: "a" });
    await settle();
    expect(fake.calls.filter((c) => c.cmd === "accept").map((c) => c.args)).toEqual([{ id: first.id }]);
    const toast = screen.getByTestId("undo-toast");
    expect(toast.textContent).toContain(`Accepted: ${first.name}`);
    expect(screen.getByTestId("undo-countdown").textContent).toMatch(/^sent in [45] s$/);
    await fireEvent.keyDown(window, { key: "z", ctrlKey: true });
    await settle();
    expect(fake.calls.filter((c) => c.cmd === "undo").map((c) => c.args)).toEqual([{ id: first.id }]);
    expect(screen.queryByTestId("undo-toast")).toBeNull();
  });

  it("the opened lead says it is being accepted, with its Undo", async () => {
    const { app } = await mounted();
    const first = app.rowAt(0)!;
    await app.open(first.id);
    await settle();
    await fireEvent.keyDown(window, { key: "a" });
    await settle();
    expect(screen.getByTestId("pending").textContent).toMatch(/Accepting… sent in [45] s — Undo/);
    await fireEvent.click(screen.getByTestId("lead-undo"));
    await settle();
    expect(screen.queryByTestId("pending")).toBeNull();
    expect(screen.getByTestId("accept")).toBeTruthy();
  });

  it("too late to undo says so", async () => {
    const { fake } = await mounted();
    await fireEvent.keyDown(window, { key: "a" });
    await settle();
    fake.endUndoWindows(false);
    await fireEvent.keyDown(window, { key: "z" });
    await settle();
    expect(screen.getByTestId("error").textContent).toContain("Too late to undo: it was already sent.");
  });

  it("the status bar names the problem and what to do", async () => {
    const { fake } = await mounted();
    const conn = () => screen.getByTestId("connection");
    expect(conn().dataset.problem).toBe("");
    expect(conn().textContent).toBe("Online — live");
    const cases: [Parameters<Fake["setProblem"]>[0], string][] = [
      ["server_error", "Server trouble — retrying (decisions are saved)"],
      ["incompatible_server", "Server version not supported — update Baton or ask your admin"],
      ["unauthorized", "Signed out by the server — sign in again"],
      ["offline", "Offline — working from this computer's copy"],
    ];
    for (const [kind, text] of cases) {
      fake.setProblem(kind, `detail of ${kind}`);
      await settle();
      expect(conn().dataset.problem).toBe(kind);
      expect(conn().textContent).toBe(text);
      expect(conn().classList.contains("conn")).toBe(true);
      const detail = screen.getByTestId("problem");
      expect(detail.textContent).toBe(`detail of ${kind}`);
      expect(detail.getAttribute("title")).toBe(`detail of ${kind}`);
    }
    fake.setProblem(null);
    await settle();
    expect(conn().dataset.problem).toBe("");
    expect(screen.queryByTestId("problem")).toBeNull();
  });

  it("the token notice is shown once after sign-in, as text, and in Settings", async () => {
    const text = "Your token is kept in <b>/home/rep/token</b>: no keychain was found.";
    const { app } = await mounted({ tokenNotice: text });
    const notice = screen.getByTestId("token-notice");
    expect(notice.textContent).toContain(text);
    expect(notice.querySelector("b")).toBeNull();
    await fireEvent.click(notice.querySelector("button")!);
    expect(screen.queryByTestId("token-notice")).toBeNull();
    expect(app.tokenNotice).toBeNull();
    await fireEvent.click(screen.getByTestId("settings"));
    expect(screen.getByTestId("settings-token-notice").textContent).toBe(text);
  });

  it("a row in its undo window looks pending, from the engine's list", async () => {
    const { app } = await mounted();
    await fireEvent.click(screen.getByTestId("filter-all"));
    await settle();
    const first = app.rowAt(0)!;
    await fireEvent.keyDown(window, { key: "a" });
    await settle();
    const row = document.querySelector(`[data-lead-id="${first.id}"]`)!;
    expect(row.classList.contains("done")).toBe(true);
    expect(row.querySelector('[data-testid="row-pending"]')?.textContent).toMatch(/Accepting in [45] s — undo with z/);
    await fireEvent.keyDown(window, { key: "z" });
    await settle();
    expect(row.querySelector('[data-testid="row-pending"]')).toBeNull();
    expect(document.querySelector(`[data-lead-id="${first.id}"]`)!.classList.contains("done")).toBe(false);
  });
});
