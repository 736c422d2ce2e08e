import { afterEach, describe, expect, it } from "vitest";
import { cleanup, fireEvent, render, screen } from "@testing-library/svelte";
import App from "../../src/App.svelte";
import { AppState } from "../../src/lib/app.svelte";
import { tauriBackend } from "../../src/lib/tauri";
import { installFakeShell, settle } from "./setup";

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
});
