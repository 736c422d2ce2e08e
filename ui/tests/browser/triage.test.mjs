import { test } from "node:test";
import assert from "node:assert/strict";
import { open, useBrowser } from "./harness.mjs";

const ctx = useBrowser();

const rows = (page) => page.locator('[role="option"][data-lead-id]');

const calls = (page, cmd) =>
  page.evaluate((cmd) => window.__fake.calls.filter((c) => c.cmd === cmd).map((c) => c.args), cmd);

test("triage by keyboard: accept is handed to the shell at the keypress and sent after the undo window", async () => {
  const { page, errors } = await open(ctx.browser, ctx.url);
  await rows(page).first().waitFor();
  await page.keyboard.press("j");
  await page.keyboard.press("j");
  await page.keyboard.press("k");
  const second = await rows(page).nth(1).getAttribute("data-lead-id");
  assert.equal(await page.locator('[aria-selected="true"]').getAttribute("data-lead-id"), second);
  await page.keyboard.press("Enter");
  await page.getByTestId("lead-view").waitFor();
  assert.match(await page.getByTestId("quiz").innerText(), /How big is your team\?/);
  await page.keyboard.press("a");
  // The shell has it at once: durable now, sent by the engine later.
  await page.waitForFunction(() => window.__fake.calls.some((c) => c.cmd === "accept"), null, { timeout: 1000 });
  assert.deepEqual(await calls(page, "accept"), [{ id: Number(second) }]);
  // Undoable as the engine says, with a countdown.
  const toast = page.getByTestId("undo-toast");
  await toast.waitFor();
  assert.match(await toast.innerText(), /Accepted: /);
  assert.match(await page.getByTestId("undo-countdown").innerText(), /^sent in [2-5] s$/);
  assert.match(await page.getByTestId("pending").innerText(), /Accepting… sent in [2-5] s — Undo/);
  // When the window ends the toast goes and the lead is accepted, sent once.
  await toast.waitFor({ state: "detached", timeout: 8000 });
  await page.getByTestId("outcome").filter({ hasText: /^Accepted$/ }).waitFor();
  assert.match(await page.getByTestId("filter-accepted").innerText(), /1/);
  assert.equal((await calls(page, "accept")).length, 1);
  assert.deepEqual(errors, []);
  await page.close();
});

test("reject with a reason picked by digit, a note required for other; undo within the window and the row is new again", async () => {
  const { page, errors } = await open(ctx.browser, ctx.url);
  await rows(page).first().waitFor();
  const first = await rows(page).first().getAttribute("data-lead-id");
  await page.keyboard.press("r");
  const dialog = page.getByTestId("reject-dialog");
  await dialog.waitFor();
  await page.keyboard.press("4"); // Other: needs a note
  await page.getByTestId("reject-note").waitFor();
  await page.waitForFunction(() => document.activeElement?.dataset.testid === "reject-note");
  await page.keyboard.press("Enter");
  await dialog.getByRole("alert").filter({ hasText: "needs a note" }).waitFor();
  assert.deepEqual(await calls(page, "reject"), []);
  await page.keyboard.type("Student project, no company");
  await page.keyboard.press("Enter");
  await dialog.waitFor({ state: "detached" });
  await page.waitForFunction(() => window.__fake.calls.some((c) => c.cmd === "reject"), null, { timeout: 1000 });
  assert.deepEqual(await calls(page, "reject"), [{ id: Number(first), reason: "other", note: "Student project, no company" }]);
  await page.getByTestId("undo-toast").filter({ hasText: "Rejected (Other)" }).waitFor();
  // Out of the new list while it is decided.
  await page.locator(`[role="option"][data-lead-id="${first}"]`).waitFor({ state: "detached" });
  // Undo: the engine takes it back and the lead is new again.
  await page.keyboard.press("z");
  await page.getByTestId("undo-toast").waitFor({ state: "detached" });
  assert.deepEqual(await calls(page, "undo"), [{ id: Number(first) }]);
  const row = page.locator(`[role="option"][data-lead-id="${first}"]`);
  await row.waitFor();
  assert.equal(await row.getAttribute("aria-selected"), "true", "the undone lead is selected again");
  assert.match(await row.innerText(), /SLA in/);
  assert.equal(await page.evaluate(() => window.__fake.outboxDepth()), 0);
  // Again, with reason 2, kept this time.
  await page.keyboard.press("r");
  await dialog.waitFor();
  await page.keyboard.press("2");
  await page.keyboard.press("Enter");
  await page.waitForFunction(() => window.__fake.calls.filter((c) => c.cmd === "reject").length === 2, null, {
    timeout: 1000,
  });
  assert.deepEqual((await calls(page, "reject"))[1], { id: Number(first), reason: "no_budget", note: null });
  await page.getByTestId("undo-toast").filter({ hasText: "Rejected (No budget)" }).waitFor();
  assert.deepEqual(errors, []);
  await page.close();
});

test("too late to undo shows the message", async () => {
  const { page, errors } = await open(ctx.browser, ctx.url);
  await rows(page).first().waitFor();
  await page.keyboard.press("a");
  await page.getByTestId("undo-toast").waitFor();
  // The window ended and the decision went before the window heard of it.
  await page.evaluate(() => window.__fake.endUndoWindows(false));
  await page.keyboard.press("Control+z");
  await page.getByTestId("error").filter({ hasText: "Too late to undo: it was already sent." }).waitFor();
  assert.equal((await calls(page, "undo")).length, 1);
  assert.deepEqual(errors, []);
  await page.close();
});

test("search narrows the list as the rep types, / focuses it, Escape clears it", async () => {
  const { page, errors } = await open(ctx.browser, ctx.url);
  await rows(page).first().waitFor();
  await page.keyboard.press("/");
  await page.keyboard.type("hopper");
  await page.waitForFunction(() =>
    [...document.querySelectorAll('[role="option"][data-lead-id]')].every((r) => /Hopper/.test(r.textContent)),
  );
  const hits = await rows(page).count();
  assert.ok(hits > 0 && hits < 40, `hits: ${hits}`);
  await page.keyboard.press("Escape"); // leaves the box
  await page.keyboard.press("Escape"); // clears the search
  await page.waitForFunction(() => document.querySelectorAll('[role="option"][data-lead-id]').length > 10);
  assert.equal(await page.getByTestId("search").inputValue(), "");
  assert.deepEqual(errors, []);
  await page.close();
});

test("offline: the status says so, decisions wait in the outbox after their window, and drain when back", async () => {
  const { page, errors } = await open(ctx.browser, ctx.url);
  await rows(page).first().waitFor();
  await page.evaluate(() => window.__fake.setOffline(true));
  const conn = page.getByTestId("connection");
  await conn.filter({ hasText: "Offline — working from this computer's copy" }).waitFor();
  assert.equal(await conn.getAttribute("data-problem"), "offline");
  assert.match(await page.getByTestId("problem").innerText(), /cannot reach the server/);
  await page.keyboard.press("a");
  await page.getByTestId("undo-toast").waitFor();
  await page.getByTestId("outbox").filter({ hasText: "1 decision waiting" }).waitFor({ timeout: 8000 });
  await page.evaluate(() => window.__fake.setOffline(false));
  await conn.filter({ hasText: "Online" }).waitFor();
  assert.equal(await conn.getAttribute("data-problem"), "");
  await page.getByTestId("outbox").waitFor({ state: "detached" });
  assert.deepEqual(errors, []);
  await page.close();
});

test("the status bar names server_error and incompatible_server, with what to do", async () => {
  const { page, errors } = await open(ctx.browser, ctx.url);
  await rows(page).first().waitFor();
  const conn = page.getByTestId("connection");
  await page.evaluate(() => window.__fake.setProblem("server_error", "the server is having trouble (503): maintenance"));
  await conn.filter({ hasText: "Server trouble — retrying (decisions are saved)" }).waitFor();
  assert.equal(await conn.getAttribute("data-problem"), "server_error");
  assert.equal(await page.getByTestId("problem").getAttribute("title"), "the server is having trouble (503): maintenance");
  await page.evaluate(() => window.__fake.setProblem("incompatible_server", "the server speaks API v3; this Baton knows v1"));
  await conn.filter({ hasText: "Server version not supported — update Baton or ask your admin" }).waitFor();
  assert.equal(await conn.getAttribute("data-problem"), "incompatible_server");
  assert.equal(await page.getByTestId("problem").innerText(), "the server speaks API v3; this Baton knows v1");
  await page.evaluate(() => window.__fake.setProblem("unauthorized", "the server refused the token: revoked"));
  await conn.filter({ hasText: "Signed out by the server — sign in again" }).waitFor();
  await page.evaluate(() => window.__fake.setProblem(null));
  await conn.filter({ hasText: "Online — live" }).waitFor();
  assert.equal(await page.getByTestId("problem").count(), 0);
  assert.deepEqual(errors, []);
  await page.close();
});

test("a refused event shows a notice, and the lead says so", async () => {
  const { page, errors } = await open(ctx.browser, ctx.url);
  await rows(page).first().waitFor();
  await page.evaluate(() => window.__fake.setOffline(true));
  const id = Number(await rows(page).first().getAttribute("data-lead-id"));
  await page.keyboard.press("a");
  await page.waitForFunction(() => window.__fake.outboxDepth() === 1, null, { timeout: 1000 });
  await page.evaluate((id) => window.__fake.refuse(id, `lead ${id} is no longer assigned to you`), id);
  const notice = page.getByTestId("refused-notice");
  await notice.waitFor();
  assert.match(await notice.innerText(), /Not recorded:.*no longer assigned to you/);
  assert.equal(await page.getByTestId("undo-toast").count(), 0);
  await notice.getByRole("button", { name: "Show" }).click();
  await page.getByTestId("refused").waitFor();
  await notice.getByRole("button", { name: "Dismiss" }).click();
  await notice.waitFor({ state: "detached" });
  assert.deepEqual(errors, []);
  await page.close();
});

test("the token notice is shown once after sign-in, as plain text", async () => {
  const text = "Your token is kept in <b>/home/rep/.local/share/baton/token</b>: no keychain. <img src=x onerror=window.__pwned=4>";
  const { page, errors } = await open(ctx.browser, ctx.url, { tokenNotice: text });
  const notice = page.getByTestId("token-notice");
  await notice.waitFor();
  assert.equal(await notice.locator("span").innerText(), text);
  assert.equal(await notice.locator("b, img").count(), 0);
  await notice.getByRole("button", { name: "Dismiss" }).click();
  await notice.waitFor({ state: "detached" });
  await page.getByTestId("settings").click();
  assert.equal(await page.getByTestId("settings-token-notice").innerText(), text);
  assert.equal(await page.evaluate(() => window.__pwned), undefined);
  assert.deepEqual(errors, []);
  await page.close();
});

test("100,000 leads: the list stays virtual and scrolls to the end", async () => {
  const { page, errors } = await open(ctx.browser, ctx.url, { leads: 100000 });
  await rows(page).first().waitFor();
  assert.match(await page.getByTestId("filter-new").innerText(), /100000/);
  const inDom = await page.locator('[role="option"]').count();
  assert.ok(inDom < 60, `rows in the DOM: ${inDom}`);
  await page.getByTestId("inbox").evaluate((el) => (el.scrollTop = el.scrollHeight));
  // The last row (index 99,999) is loaded and drawn at the bottom.
  await page.waitForFunction(() =>
    [...document.querySelectorAll('[role="option"][data-lead-id]')].some(
      (r) => parseFloat(r.style.transform.replace("translateY(", "")) > 99995 * 66,
    ),
  );
  assert.ok((await page.locator('[role="option"]').count()) < 60, "still virtual at the end");
  assert.deepEqual(errors, []);
  await page.close();
});

test("lead content with markup renders as text under the app's CSP", async () => {
  const { page, errors } = await open(ctx.browser, ctx.url);
  await rows(page).first().waitFor();
  const id = await page.evaluate(() =>
    window.__fake.addLead({
      contact: { name: '<img src=x onerror="window.__pwned=1">Mallory', email: "m@evil.test", company: "<b>Evil</b>" },
      quiz: [{ question: "<script>window.__pwned=2</script>", answer: "<a href='javascript:window.__pwned=3'>click</a>", points: 5 }],
    }),
  );
  await page.evaluate((id) => window.__fake.emit("open-lead", id), id);
  const name = page.getByTestId("lead-name");
  await name.waitFor();
  assert.equal(await name.innerText(), '<img src=x onerror="window.__pwned=1">Mallory');
  assert.equal(await page.getByTestId("lead-view").locator("img, script, a, b").count(), 0);
  assert.equal(await page.evaluate(() => window.__pwned), undefined);
  assert.deepEqual(errors, []);
  await page.close();
});
