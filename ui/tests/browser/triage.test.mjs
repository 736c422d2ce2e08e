import { test } from "node:test";
import assert from "node:assert/strict";
import { open, useBrowser } from "./harness.mjs";

const ctx = useBrowser();

const rows = (page) => page.locator('[role="option"][data-lead-id]');

test("triage by keyboard: move, open, accept, and the decision goes after the undo window", async () => {
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
  await page.getByTestId("undo-toast").waitFor();
  // Nothing reaches the shell during the undo window...
  assert.equal(await page.evaluate(() => window.__fake.calls.filter((c) => c.cmd === "accept").length), 0);
  // ...and exactly one accept after it.
  await page.waitForFunction(() => window.__fake.calls.filter((c) => c.cmd === "accept").length === 1, null, { timeout: 8000 });
  const sent = await page.evaluate(() => window.__fake.calls.find((c) => c.cmd === "accept").args.id);
  assert.equal(String(sent), second);
  await page.getByTestId("outcome").filter({ hasText: "Accepted" }).waitFor();
  assert.match(await page.getByTestId("filter-accepted").innerText(), /1/);
  assert.deepEqual(errors, []);
  await page.close();
});

test("reject with a reason picked by digit, a note required for other, and undo", async () => {
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
  await page.keyboard.type("Student project, no company");
  await page.keyboard.press("Enter");
  await dialog.waitFor({ state: "detached" });
  await page.getByTestId("undo-toast").filter({ hasText: "Rejected (Other)" }).waitFor();
  // Undo: the decision never leaves.
  await page.keyboard.press("z");
  await page.getByTestId("undo-toast").waitFor({ state: "detached" });
  await page.waitForTimeout(5500);
  assert.equal(await page.evaluate(() => window.__fake.calls.some((c) => c.cmd === "reject")), false);
  // Again, with reason 2, kept this time.
  await rows(page).first().click();
  assert.equal(await page.locator('[aria-selected="true"]').getAttribute("data-lead-id"), first);
  await page.keyboard.press("r");
  await dialog.waitFor();
  await page.keyboard.press("2");
  await page.keyboard.press("Enter");
  await page.waitForFunction(() => window.__fake.calls.some((c) => c.cmd === "reject"), null, { timeout: 8000 });
  const args = await page.evaluate(() => window.__fake.calls.find((c) => c.cmd === "reject").args);
  assert.deepEqual(args, { id: Number(first), reason: "no_budget", note: null });
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

test("offline: the status says so, decisions wait in the outbox, and drain when back", async () => {
  const { page, errors } = await open(ctx.browser, ctx.url);
  await rows(page).first().waitFor();
  await page.evaluate(() => window.__fake.setOffline(true));
  await page.getByTestId("connection").filter({ hasText: "Offline" }).waitFor();
  await page.keyboard.press("a");
  await page.getByTestId("outbox").filter({ hasText: "1 decision waiting" }).waitFor({ timeout: 8000 });
  await page.evaluate(() => window.__fake.setOffline(false));
  await page.getByTestId("connection").filter({ hasText: "Online" }).waitFor();
  await page.getByTestId("outbox").waitFor({ state: "detached" });
  assert.deepEqual(errors, []);
  await page.close();
});

test("a decision the server refused is shown clearly", async () => {
  const { page, errors } = await open(ctx.browser, ctx.url);
  await rows(page).first().waitFor();
  await page.evaluate(() => window.__fake.setOffline(true));
  const id = Number(await rows(page).first().getAttribute("data-lead-id"));
  await page.keyboard.press("a");
  await page.waitForFunction(() => window.__fake.outboxDepth() === 1, null, { timeout: 8000 });
  await page.evaluate((id) => window.__fake.refuse(id, `lead ${id} is no longer assigned to you`), id);
  const notice = page.getByTestId("refused-notice");
  await notice.waitFor();
  assert.match(await notice.innerText(), /no longer assigned to you/);
  await notice.getByRole("button", { name: "Show" }).click();
  await page.getByTestId("refused").waitFor();
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
