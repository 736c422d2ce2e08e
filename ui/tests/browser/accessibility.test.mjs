// Accessibility: axe-core on every screen in both themes, where the focus
// goes after a decision and when a dialog closes, colour never the only
// signal, and the triage flow walked with the keyboard alone.
import { test } from "node:test";
import assert from "node:assert/strict";
import { open, useBrowser } from "./harness.mjs";
import { axeViolations, blocking, describe } from "./axe.mjs";

const ctx = useBrowser();

const rows = (page) => page.locator('[role="option"][data-lead-id]');

const calls = (page, cmd) =>
  page.evaluate((cmd) => window.__fake.calls.filter((c) => c.cmd === cmd).map((c) => c.args), cmd);

/** Runs axe on the page as it is now; what blocks is kept under the screen's name. */
async function audit(page, found, screen) {
  const bad = blocking(await axeViolations(page));
  if (bad.length) found.push(`${screen}:\n${describe(bad)}`);
}

function assertClean(found) {
  assert.equal(found.length, 0, `serious or critical axe violations:\n\n${found.join("\n\n")}`);
}

/** Where the focus is, and whether it shows: a ring from :focus-visible
 * (an outline or a box shadow). */
const focus = (page) =>
  page.evaluate(() => {
    const el = document.activeElement;
    if (!el || el === document.body) return { on: "body", ring: false };
    const cs = getComputedStyle(el);
    const drawn = (cs.outlineStyle !== "none" && parseFloat(cs.outlineWidth) > 0) || cs.boxShadow !== "none";
    return {
      on: el.dataset.testid ?? el.id ?? el.tagName,
      tag: el.tagName,
      role: el.getAttribute("role"),
      name: el.getAttribute("aria-label") ?? el.textContent?.trim().slice(0, 40),
      value: el.value,
      active: el.getAttribute("aria-activedescendant"),
      inInbox: !!el.closest("[data-testid=inbox]"),
      ring: el.matches(":focus-visible") && drawn,
    };
  });

/** The focus is on the inbox list, visibly, pointing at the selected lead. */
async function assertOnInbox(page, step) {
  // The list may still be drawing its rows (a page refetched after the
  // change): give it a moment to settle, then hold it to all of this.
  await page
    .waitForFunction(
      () => {
        const el = document.activeElement;
        const selected = document.querySelector('[role="option"][aria-selected="true"]');
        return el?.getAttribute("data-testid") === "inbox" && !!selected && el.getAttribute("aria-activedescendant") === selected.id;
      },
      null,
      { timeout: 2000 },
    )
    .catch(() => {});
  const f = await focus(page);
  assert.equal(f.on, "inbox", `${step}: the focus is on ${JSON.stringify(f)}, not the inbox`);
  assert.ok(f.ring, `${step}: the inbox's focus does not show`);
  const selected = await page.locator('[role="option"][aria-selected="true"]').getAttribute("id");
  assert.equal(f.active, selected, `${step}: the list points at the selected lead`);
  return Number(await page.locator('[role="option"][aria-selected="true"]').getAttribute("data-lead-id"));
}

for (const theme of ["light", "dark"]) {
  test(`a rep's screens in the ${theme} theme have no serious or critical axe violation`, async () => {
    const found = [];
    let { page, errors } = await open(ctx.browser, ctx.url, { signedIn: false }, { theme });
    assert.equal(await page.evaluate(() => document.documentElement.dataset.theme), theme);
    await audit(page, found, "sign-in");
    await page.close();

    ({ page, errors } = await open(ctx.browser, ctx.url, { tokenNotice: "Your token is kept in a file: no keychain." }, { theme }));
    await rows(page).first().waitFor();
    await audit(page, found, "inbox");
    await page.evaluate(() => window.__fake.emit("open-lead", 2));
    await page.getByTestId("lead-view").waitFor();
    await audit(page, found, "lead");
    await page.keyboard.press("r");
    const dialog = page.getByTestId("reject-dialog");
    await dialog.waitFor();
    await audit(page, found, "reject dialog");
    await page.keyboard.press("4");
    await page.keyboard.press("Enter");
    await dialog.getByRole("alert").waitFor();
    await audit(page, found, "reject dialog, a note missing");
    await page.keyboard.press("Escape");
    await page.keyboard.press("?");
    await page.getByRole("dialog", { name: "Keyboard shortcuts" }).waitFor();
    await audit(page, found, "shortcuts");
    await page.keyboard.press("Escape");
    await page.getByTestId("qualified").click();
    await page.getByRole("dialog", { name: "Definition v4" }).waitFor();
    await audit(page, found, "definition");
    await page.keyboard.press("Escape");
    await page.getByTestId("settings").click();
    await page.getByTestId("my-hours-form").waitFor();
    await audit(page, found, "settings");
    await page.keyboard.press("Escape");

    // Decided rows, an undo toast, a refused decision's notice, offline.
    await page.evaluate(() => window.__fake.setOffline(true));
    await page.getByTestId("filter-all").click();
    await page.keyboard.press("Escape"); // the lead closes: keys act on the selected row
    const id = Number(await page.locator('[role="option"][aria-selected="true"]').getAttribute("data-lead-id"));
    await page.keyboard.press("a");
    await page.waitForFunction(() => window.__fake.outboxDepth() === 1, null, { timeout: 1000 });
    await page.evaluate((id) => window.__fake.refuse(id, `lead ${id} is no longer assigned to you`), id);
    await page.getByTestId("refused-notice").waitFor();
    await page.keyboard.press("a");
    await page.getByTestId("undo-toast").waitFor();
    await page.getByTestId("connection").filter({ hasText: "Offline" }).waitFor();
    await audit(page, found, "decided rows, undo toast, refused notice, offline");

    assertClean(found);
    assert.deepEqual(errors, []);
    await page.close();
  });

  test(`a manager's review, every tab, in the ${theme} theme has no serious or critical axe violation`, async () => {
    const found = [];
    const { page, errors } = await open(ctx.browser, ctx.url, { role: "manager" }, { theme });
    await page.getByTestId("acceptance-rate").waitFor();
    assert.equal(await page.evaluate(() => document.documentElement.dataset.theme), theme);
    const tabs = page.getByRole("tablist", { name: "Review sections" }).getByRole("tab");
    const names = await tabs.allInnerTexts();
    assert.ok(names.length >= 10, names.join(", "));
    for (let i = 0; i < names.length; i++) {
      await tabs.nth(i).click();
      assert.equal(await tabs.nth(i).getAttribute("aria-selected"), "true");
      await page.getByRole("tabpanel").waitFor();
      await page.waitForTimeout(150); // a tab's own list loads
      await audit(page, found, `review: ${names[i]}`);
    }

    // What opens inside the tabs.
    await page.getByTestId("tab-log").click();
    await page.getByTestId("open-lead").first().click();
    await page.getByTestId("review-lead").waitFor();
    await audit(page, found, "review: a lead");
    await page.keyboard.press("Escape");
    await page.getByTestId("tab-webhooks").click();
    for (const toggle of await page.getByTestId("deliveries-toggle").all()) await toggle.click();
    await page.getByTestId("deliveries").first().waitFor();
    await audit(page, found, "review: webhook deliveries");
    await page.getByTestId("tab-definition").click();
    await page.getByTestId("definition-edit").click();
    await page.getByTestId("preview").click();
    await page.getByTestId("preview-table").waitFor();
    await audit(page, found, "review: a proposed definition, previewed");
    await page.getByTestId("tab-team").click();
    await page.getByTestId("add-rep-submit").click();
    await page.getByTestId("add-rep").getByRole("alert").first().waitFor();
    await audit(page, found, "review: a rep's form, refused");
    await page.getByTestId("settings").click();
    await page.getByRole("dialog", { name: "Settings" }).waitFor();
    await audit(page, found, "review: settings");

    assertClean(found);
    assert.deepEqual(errors, []);
    await page.close();
  });
}

test("after a decision the focus is on the inbox at the next lead; a dialog gives the focus back to what opened it", async () => {
  const { page, errors } = await open(ctx.browser, ctx.url);
  await rows(page).first().waitFor();
  const [first, second, third] = await Promise.all([0, 1, 2].map((i) => rows(page).nth(i).getAttribute("data-lead-id")));

  // Accepted with the mouse: the Accept button goes, the focus does not fall to the page.
  await rows(page).first().click();
  await page.getByTestId("accept").click();
  await page.getByTestId("pending").waitFor();
  let f = await focus(page);
  assert.equal(f.on, "inbox", JSON.stringify(f));
  assert.equal(f.active, `lead-row-${second}`);

  // A dialog cancelled gives the focus back to its button.
  await page.evaluate((id) => window.__fake.emit("open-lead", id), Number(second));
  await page.locator(`[aria-selected="true"][data-lead-id="${second}"]`).waitFor();
  await page.getByTestId("accept").waitFor();
  await page.getByTestId("reject").focus();
  await page.keyboard.press("Enter");
  const dialog = page.getByRole("dialog", { name: /^Reject / });
  await dialog.waitFor();
  assert.equal(await dialog.getAttribute("aria-modal"), "true");
  f = await focus(page);
  assert.equal(f.value, "not_a_fit", "the first reason has the focus");
  await page.keyboard.press("Escape");
  await dialog.waitFor({ state: "detached" });
  assert.equal((await focus(page)).on, "reject");

  // Rejected: the focus is on the inbox, at the next lead.
  await page.getByTestId("reject").click();
  await dialog.getByLabel("No budget").check();
  await dialog.getByRole("button", { name: /^Reject/ }).click();
  await dialog.waitFor({ state: "detached" });
  f = await focus(page);
  assert.equal(f.on, "inbox", JSON.stringify(f));
  assert.equal(f.active, `lead-row-${third}`);
  assert.deepEqual(await calls(page, "reject"), [{ id: Number(second), reason: "no_budget", note: null }]);
  assert.deepEqual(await calls(page, "accept"), [{ id: Number(first) }]);

  // Undo from the toast: the toast goes, the focus stays in the inbox.
  await page.getByTestId("undo").first().focus();
  await page.keyboard.press("Enter");
  await page.waitForFunction(() => window.__fake.calls.some((c) => c.cmd === "undo"));
  assert.equal((await focus(page)).on, "inbox");

  // Settings, the shortcuts and a definition give the focus back to their buttons.
  for (const [opener, dialogName, close] of [
    [page.getByTestId("settings"), "Settings", "Escape"],
    [page.getByRole("button", { name: "Keyboard shortcuts" }), "Keyboard shortcuts", "Escape"],
    [page.getByRole("button", { name: "Keyboard shortcuts" }), "Keyboard shortcuts", "Close"],
  ]) {
    await opener.focus();
    await page.keyboard.press("Enter");
    const d = page.getByRole("dialog", { name: dialogName });
    await d.waitFor();
    assert.equal(await d.getAttribute("aria-modal"), "true");
    assert.ok(await d.evaluate((el) => el.contains(document.activeElement)), `${dialogName} has the focus`);
    // Tab stays inside the dialog.
    for (let i = 0; i < 30; i++) await page.keyboard.press("Tab");
    assert.ok(await d.evaluate((el) => el.contains(document.activeElement)), `Tab stays in ${dialogName}`);
    if (close === "Escape") await page.keyboard.press("Escape");
    else await d.getByRole("button", { name: /^Close/ }).click();
    await d.waitFor({ state: "detached" });
    assert.ok(await opener.evaluate((el) => el === document.activeElement), `back on what opened ${dialogName}`);
  }
  await page.evaluate(() => window.__fake.emit("open-lead", 2));
  await page.getByTestId("qualified").focus();
  await page.keyboard.press("Enter");
  await page.getByRole("dialog", { name: "Definition v4" }).waitFor();
  await page.keyboard.press("Escape");
  assert.equal((await focus(page)).on, "qualified");

  // A notice dismissed: the focus goes to the inbox, not the page.
  await page.evaluate(() => window.__fake.setOffline(true));
  await page.keyboard.press("Escape"); // closes lead 2: the list has the focus, shown at lead 2
  const id = await assertOnInbox(page, "lead closed");
  assert.equal(id, 2);
  await page.keyboard.press("a");
  await page.waitForFunction(() => window.__fake.outboxDepth() >= 1, null, { timeout: 1000 });
  await page.evaluate((id) => window.__fake.refuse(id, `lead ${id} is no longer assigned to you`), id);
  const notice = page.getByTestId("refused-notice");
  await notice.getByRole("button", { name: "Dismiss" }).focus();
  await page.keyboard.press("Enter");
  await notice.waitFor({ state: "detached" });
  assert.equal((await focus(page)).on, "inbox");
  assert.deepEqual(errors, []);
  await page.close();
});

test("a manager's lead and a reason's notes hand the focus back, and the review's tabs move with the arrow keys", async () => {
  const { page, errors } = await open(ctx.browser, ctx.url, { role: "manager" });
  await page.getByTestId("acceptance-rate").waitFor();
  const acceptance = page.getByRole("tab", { name: "Acceptance" });
  await acceptance.focus();
  await page.keyboard.press("ArrowRight");
  const reasons = page.getByRole("tab", { name: "Rejection reasons" });
  assert.equal(await reasons.getAttribute("aria-selected"), "true");
  assert.ok(await reasons.evaluate((el) => el === document.activeElement));
  assert.equal(await acceptance.getAttribute("tabindex"), "-1", "one tab stop for the tabs");
  assert.equal(await page.getByRole("tabpanel").getAttribute("aria-labelledby"), "tab-reasons");
  await page.keyboard.press("End");
  assert.equal(await page.getByRole("tab", { name: "Team" }).getAttribute("aria-selected"), "true");
  await page.keyboard.press("ArrowRight");
  assert.equal(await acceptance.getAttribute("aria-selected"), "true", "round to the first");
  await page.keyboard.press("ArrowLeft");
  await page.keyboard.press("Home");
  await page.keyboard.press("ArrowRight");

  // Notes: the button goes with its tab; the focus goes to the log's tab.
  await page.getByTestId("reasons-table").getByRole("button", { name: "Notes" }).first().focus();
  await page.keyboard.press("Enter");
  await page.getByTestId("log-table").waitFor();
  assert.equal((await focus(page)).on, "tab-log");

  const link = page.getByTestId("open-lead").first();
  await link.focus();
  await page.keyboard.press("Enter");
  const drawer = page.getByRole("dialog", { name: await page.getByTestId("open-lead").first().innerText() });
  await drawer.waitFor();
  assert.equal(await drawer.getAttribute("aria-modal"), "true");
  assert.equal((await focus(page)).name, "Close");
  await page.keyboard.press("Escape");
  await drawer.waitFor({ state: "detached" });
  assert.ok(await link.evaluate((el) => el === document.activeElement), "back on the lead's link");
  assert.deepEqual(errors, []);
  await page.close();
});

test("a score's band and an urgent SLA are said in words and a sign, not by colour alone", async () => {
  const { page, errors } = await open(ctx.browser, ctx.url, { leads: 50 });
  await rows(page).first().waitFor();
  // One lead past its SLA; lead 50 (assigned 51 min ago) has 9 minutes left.
  const late = await page.evaluate(() => {
    const a = window.__fake.rows[0].lead.assignment;
    const now = Date.now();
    return window.__fake.addLead({
      assignment: { ...a, assigned_at: new Date(now - 70 * 60000).toISOString(), sla_due_at: new Date(now - 10 * 60000).toISOString() },
    });
  });
  const lateRow = page.locator(`[role="option"][data-lead-id="${late}"]`);
  await lateRow.waitFor();
  assert.match(await lateRow.locator(".timing").innerText(), /^⚠\uFE0E?\s*Overdue:\s*assigned 1 h (9|10|11) min ago · SLA passed$/);
  const soonRow = page.locator('[role="option"][data-lead-id="50"]');
  assert.match(await soonRow.locator(".timing").innerText(), /^⚠\uFE0E?\s*Due soon:\s*assigned 5[12] min ago · SLA in [89] min$/);
  assert.equal(await soonRow.locator(".timing [aria-hidden=true]").count(), 1, "the sign itself is not read out");
  const calm = rows(page).nth(5);
  assert.doesNotMatch(await calm.locator(".timing").innerText(), /⚠|Due soon|Overdue/);

  // Every badge says its band, and the band fits the score.
  const badges = await rows(page).locator(".badge").allTextContents();
  assert.ok(badges.length > 5);
  for (const b of badges) {
    const [, band, score] = b.match(/^(Hot|Warm|Cool) score (\d+)$/) ?? [];
    assert.ok(band, `badge: ${b}`);
    assert.equal(band, Number(score) >= 80 ? "Hot" : Number(score) >= 50 ? "Warm" : "Cool", b);
  }
  await page.evaluate(() => window.__fake.emit("open-lead", 50));
  assert.match(await page.getByTestId("lead-score").textContent(), /^(Hot|Warm|Cool) score \d+$/);
  assert.match(await page.getByTestId("lead-sla").innerText(), /^⚠\uFE0E?\s*Due soon:\s*SLA in [89] min$/);
  assert.deepEqual(errors, []);
  await page.close();
});

test("the triage flow by keyboard alone: move, open, accept, open the next, reject with a reason and a note, the focus visible at every step", async () => {
  const { page, errors } = await open(ctx.browser, ctx.url);
  await rows(page).first().waitFor();
  // The inbox has the focus from the start.
  let at = await assertOnInbox(page, "start");
  assert.equal(at, Number(await rows(page).first().getAttribute("data-lead-id")));

  await page.keyboard.press("j");
  await page.keyboard.press("ArrowDown");
  await page.keyboard.press("j");
  await page.keyboard.press("k");
  await page.keyboard.press("ArrowUp");
  at = await assertOnInbox(page, "moved");
  assert.equal(at, Number(await rows(page).nth(1).getAttribute("data-lead-id")));

  // Open it, accept it: the list moves on to the next and keeps the focus.
  await page.keyboard.press("Enter");
  await page.getByTestId("lead-view").waitFor();
  const accepted = await assertOnInbox(page, "opened");
  assert.equal(accepted, at);
  await page.keyboard.press("a");
  await page.waitForFunction(() => window.__fake.calls.some((c) => c.cmd === "accept"), null, { timeout: 1000 });
  assert.deepEqual(await calls(page, "accept"), [{ id: accepted }]);
  const next = await assertOnInbox(page, "accepted");
  assert.notEqual(next, accepted);

  // Open the next; reject it: reasons by the arrow keys, a note, the Reject button by Tab and Enter.
  await page.keyboard.press("Enter");
  await page.getByTestId("accept").waitFor();
  await assertOnInbox(page, "next opened");
  await page.keyboard.press("r");
  const dialog = page.getByRole("dialog", { name: /^Reject / });
  await dialog.waitFor();
  let f = await focus(page);
  assert.ok(f.ring && f.tag === "INPUT" && f.value === "not_a_fit", `the first reason has the focus: ${JSON.stringify(f)}`);
  await page.keyboard.press("ArrowDown");
  await page.keyboard.press("ArrowDown");
  f = await focus(page);
  assert.ok(f.ring && f.value === "wrong_rep", JSON.stringify(f));
  assert.equal(await dialog.getByLabel("Right lead, wrong rep").isChecked(), true);
  await page.keyboard.press("Tab");
  f = await focus(page);
  assert.ok(f.ring && f.on === "reject-note", JSON.stringify(f));
  await page.keyboard.type("Belongs to the DACH team");
  await page.keyboard.press("Tab");
  f = await focus(page);
  assert.ok(f.ring && /^Cancel/.test(f.name), JSON.stringify(f));
  await page.keyboard.press("Tab");
  f = await focus(page);
  assert.ok(f.ring && f.on === "reject-confirm", JSON.stringify(f));
  await page.keyboard.press("Enter");
  await dialog.waitFor({ state: "detached" });
  await page.waitForFunction(() => window.__fake.calls.some((c) => c.cmd === "reject"), null, { timeout: 1000 });
  assert.deepEqual(await calls(page, "reject"), [{ id: next, reason: "wrong_rep", note: "Belongs to the DACH team" }]);
  const third = await assertOnInbox(page, "rejected");
  assert.notEqual(third, next);

  // Escape cancels a reject dialog and the focus is back on the list.
  await page.keyboard.press("Enter");
  await page.getByTestId("accept").waitFor();
  await page.keyboard.press("r");
  await dialog.waitFor();
  await page.keyboard.press("Escape");
  await dialog.waitFor({ state: "detached" });
  await assertOnInbox(page, "reject cancelled");

  // Tab from the list reaches the lead's Accept; Enter on it accepts that lead.
  await page.keyboard.press("Tab");
  f = await focus(page);
  assert.ok(f.ring && f.on === "accept", JSON.stringify(f));
  await page.keyboard.press("Enter");
  await page.waitForFunction(() => window.__fake.calls.filter((c) => c.cmd === "accept").length === 2, null, { timeout: 1000 });
  assert.deepEqual((await calls(page, "accept"))[1], { id: third });
  await assertOnInbox(page, "accepted by its button");
  assert.deepEqual(await calls(page, "reject"), [{ id: next, reason: "wrong_rep", note: "Belongs to the DACH team" }]);
  assert.deepEqual(errors, []);
  await page.close();
});
