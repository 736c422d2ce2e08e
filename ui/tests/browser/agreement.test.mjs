import { test } from "node:test";
import assert from "node:assert/strict";
import { open, useBrowser } from "./harness.mjs";

const ctx = useBrowser();

const calls = (page, cmd) =>
  page.evaluate((cmd) => window.__fake.calls.filter((c) => c.cmd === cmd).map((c) => c.args), cmd);

test("a lead says under which definition it qualified, why it came to the rep and how to open, all as text", async () => {
  const { page, errors } = await open(ctx.browser, ctx.url);
  await page.getByTestId("inbox").waitFor();
  // Lead 2: the rotation passed over two reps; it answers 50-200 and Spreadsheets.
  await page.evaluate(() => window.__fake.emit("open-lead", 2));
  const view = page.getByTestId("lead-view");
  await view.waitFor();
  assert.equal(await page.getByTestId("qualified").innerText(), "Qualified under definition v4 — score 77 ≥ 60");
  assert.equal(
    await page.getByTestId("why-line").innerText(),
    "Next in team emea's rotation — skipped: Ben Ortiz off shift, Cid Park at cap",
  );
  // The details, from the keyboard.
  const details = page.getByTestId("why-details");
  assert.equal(await page.getByTestId("considered").first().isVisible(), false);
  await details.getByText("How routing chose").focus();
  await page.keyboard.press("Enter");
  await page.getByTestId("considered").first().waitFor({ state: "visible" });
  assert.deepEqual(await page.getByTestId("considered").allInnerTexts(), [
    "Ben Ortiz was outside their working hours",
    "Cid Park already held as many undecided leads as their cap allows",
    "Ava Rossi got the lead (you)",
  ]);
  const howToOpen = page.getByTestId("how-to-open");
  assert.match(await howToOpen.innerText(), /Open with the routing audit for mid-size floors — How big is your team\?: 50-200/);
  assert.match(await howToOpen.innerText(), /Ask how a lead gets from the sheet to a rep <script>window\.__pwned=9<\/script>/);
  assert.equal(await howToOpen.locator("script").count(), 0);

  // The definition, read-only: criteria with what they mean, reasons, author, date, note.
  await page.getByTestId("qualified").click();
  const definition = page.getByRole("dialog", { name: "Definition v4" });
  await definition.waitFor();
  assert.match(await definition.getByTestId("definition-by").innerText(), /In force from .+ · by Morgan Reyes/);
  assert.match(await definition.getByTestId("definition-threshold").innerText(), /Leads scoring 60 or more go to sales\./);
  assert.match(await definition.getByTestId("definition-note").innerText(), /Back to 60 after the Q3 review/);
  const criteria = definition.getByTestId("definition-criteria");
  assert.match(await criteria.innerText(), /<i>Spreadsheets<\/i> mean no routing yet <img src=x onerror=window\.__pwned=8>/);
  assert.equal(await criteria.locator("i, img, script").count(), 0);
  assert.match(await definition.getByTestId("definition-reasons").innerText(), /Right lead, wrong rep \(wrong_rep, routes to another rep\)/);
  // Keys behind the dialog do nothing; Escape closes it.
  await page.keyboard.press("a");
  await page.keyboard.press("Escape");
  await definition.waitFor({ state: "detached" });
  assert.deepEqual(await calls(page, "accept"), []);

  // Markup in the lead's own text stays text beside the why.
  const id = await page.evaluate(() =>
    window.__fake.addLead({ contact: { name: "<b>Eve</b> <img src=x onerror=window.__pwned=1>", company: "Evil" } }),
  );
  await page.evaluate((id) => window.__fake.emit("open-lead", id), id);
  await page.getByTestId("lead-name").filter({ hasText: "<b>Eve</b>" }).waitFor();
  assert.equal(await view.locator("b, img").count(), 0);
  assert.equal(await page.evaluate(() => window.__pwned), undefined);
  assert.deepEqual(errors, []);
  await page.close();
});

test("a rep sets their working hours in the settings; a stretch the server refuses says why beside it", async () => {
  const { page, errors } = await open(ctx.browser, ctx.url);
  await page.getByTestId("settings").click();
  const hours = page.getByTestId("my-hours");
  await hours.getByTestId("my-hours-form").waitFor();
  // The system's zone to start with.
  const zone = await page.evaluate(() => Intl.DateTimeFormat().resolvedOptions().timeZone);
  assert.equal(await hours.getByLabel("Time zone").inputValue(), zone);
  await hours.getByLabel("Time zone").selectOption("Europe/Berlin");
  await hours.getByRole("button", { name: "Add hours on Monday" }).click();
  await hours.getByRole("button", { name: "Copy Monday to Tuesday–Friday" }).click();
  await hours.getByRole("button", { name: "Add hours on Saturday" }).click();
  const saturday = hours.getByTestId("my-hours-day-sat");
  await saturday.getByLabel("Saturday from").fill("14:00");
  await saturday.getByLabel("Saturday until").fill("10:00");
  await hours.getByRole("button", { name: "+ Days away" }).click();
  const absence = hours.getByTestId("my-hours-absence");
  await absence.getByLabel("From", { exact: true }).fill("2027-08-02");
  await absence.getByLabel("to", { exact: true }).fill("2027-08-13");
  await absence.getByLabel("Note", { exact: true }).fill("Summer <b>holiday</b>");
  await hours.getByTestId("my-hours-save").click();
  const error = saturday.getByTestId("my-hours-hours-error");
  await error.waitFor();
  assert.match(await error.innerText(), /10:00 is before the start 14:00/);
  assert.equal(await saturday.getByLabel("Saturday until").getAttribute("aria-invalid"), "true");
  assert.equal(await hours.getByTestId("my-hours-saved").count(), 0);
  await saturday.getByLabel("Saturday until").fill("18:00");
  await hours.getByTestId("my-hours-save").click();
  await hours.getByTestId("my-hours-saved").filter({ hasText: "Hours saved." }).waitFor();
  const sent = (await calls(page, "set_my_schedule")).pop().schedule;
  assert.equal(sent.time_zone, "Europe/Berlin");
  assert.equal(sent.hours.length, 6);
  assert.deepEqual(sent.hours[5], { day: "sat", start: "14:00", end: "18:00" });
  assert.deepEqual(sent.absences, [{ from: "2027-08-02", to: "2027-08-13", note: "Summer <b>holiday</b>" }]);
  assert.equal(await hours.locator("b").count(), 0);
  assert.deepEqual(errors, []);
  await page.close();
});

test("definition: a proposal from the calibration's suggestion, edited, previewed against the one in force, published by an admin", async () => {
  const { page, errors } = await open(ctx.browser, ctx.url, { role: "manager" });
  await page.getByTestId("tab-calibration").click();
  await page.getByTestId("apply-threshold").click();
  await page.getByTestId("tab-definition").filter({ hasText: "Definition (proposal)" }).waitFor();
  const editor = page.getByRole("form", { name: "Proposed definition" });
  assert.equal(await editor.getByTestId("draft-threshold").inputValue(), "72");
  assert.match(await editor.getByTestId("draft-note").inputValue(), /^Threshold 72, from the score calibration/);
  // Criteria are edited as text, markup and all.
  const meanings = editor.getByTestId("criterion-meaning");
  assert.equal(await meanings.nth(1).inputValue(), "<i>Spreadsheets</i> mean no routing yet <img src=x onerror=window.__pwned=8>");
  await editor.getByTestId("add-criterion").click();
  const added = editor.getByTestId("draft-criterion").last();
  await added.getByLabel("Kind").selectOption("intent");
  await added.getByTestId("criterion-key").fill("budget");
  await added.getByTestId("criterion-value").fill("Approved");
  await added.getByLabel("Points").fill("15");
  await added.getByTestId("criterion-meaning").fill("A budget signed off <b>now</b>");
  await added.getByTestId("criterion-opener").fill("Ask who signs the order");

  // Preview over the last 90 days: now against proposed.
  await editor.getByTestId("preview-period").selectOption("90");
  await editor.getByTestId("preview").click();
  const table = editor.getByTestId("preview-table");
  await table.waitFor();
  const text = await table.innerText();
  assert.match(text, /Now \(threshold 60\)\tProposed \(threshold 72\)/);
  assert.match(text, /Leads received\t40\t40/);
  assert.match(text, /No longer qualified\t—\t\d+/);
  assert.match(text, /Acceptance\t[\d.]+%\t[\d.]+%/);
  const preview = (await calls(page, "definition_preview")).pop();
  assert.equal(preview.request.threshold, 72);
  assert.ok(Date.parse(preview.request.to) - Date.parse(preview.request.from) >= 89 * 86_400_000);

  // A refusal names its field; then it is published.
  await added.getByTestId("criterion-key").fill("mood");
  await editor.getByTestId("publish").click();
  await added.getByTestId("field-error").filter({ hasText: "an intent criterion's key is need, timeline or budget" }).waitFor();
  assert.equal(await page.evaluate(() => document.activeElement?.dataset.testid), "criterion-key");
  await added.getByTestId("criterion-key").fill("budget");
  await editor.getByTestId("publish").click();
  await page.getByTestId("definition-notice").filter({ hasText: "Published definition v5" }).waitFor();
  assert.equal(await editor.count(), 0);
  assert.match(await page.getByTestId("definition-in-force").innerText(), /Version 5 is in force .* leads scoring 72 or more go to sales/);
  const versions = page.getByTestId("definition-version");
  assert.match(await versions.first().innerText(), /v5[\s\S]*threshold 60 → 72[\s\S]*criterion added: budget = Approved/);
  assert.match(await page.getByTestId("outcomes-table").innerText(), /v5\t72/);
  assert.match(await page.getByTestId("definition-criteria").innerText(), /A budget signed off <b>now<\/b>/);
  assert.equal(await page.getByTestId("definition").locator("b, i, img, script").count(), 0);
  assert.equal(await page.evaluate(() => window.__pwned), undefined);
  assert.deepEqual(errors, []);
  await page.close();
});

test("definition: a team's manager previews a proposal but only an admin publishes", async () => {
  const { page, errors } = await open(ctx.browser, ctx.url, { role: "manager", admin: false });
  await page.getByTestId("tab-definition").click();
  await page.getByTestId("definition-edit").click();
  const editor = page.getByRole("form", { name: "Proposed definition" });
  await editor.getByTestId("draft-threshold").fill("50");
  await editor.getByTestId("preview").click();
  await editor.getByTestId("preview-table").waitFor();
  assert.equal(await editor.getByTestId("publish").count(), 0);
  assert.match(await editor.getByTestId("publish-admins-only").innerText(), /Only an admin publishes a definition/);
  assert.deepEqual(errors, []);
  await page.close();
});

test("team: add a rep and their token shows once with Copy; deactivate after a confirmation; hours for a rep", async () => {
  const { page, errors } = await open(ctx.browser, ctx.url, { role: "manager" });
  await page.context().grantPermissions(["clipboard-read", "clipboard-write"], { origin: ctx.url });
  await page.getByTestId("tab-team").click();
  const reps = page.getByTestId("rep-row");
  await reps.first().waitFor();
  assert.equal(await reps.count(), 4);
  const dee = reps.filter({ hasText: "Dee" });
  assert.match(await dee.innerText(), /<b>Dee<\/b> Vance <script>/);
  assert.equal(await page.getByTestId("rep-table").locator("b, script").count(), 0);
  assert.match(await reps.filter({ hasText: "Ben Ortiz" }).getByTestId("rep-shift").innerText(), /^Off shift$/);

  // Add a rep: a refused email beside its field, then the token once.
  const form = page.getByRole("form", { name: "Add a rep" });
  await form.getByLabel("Name").fill("Kai Moreno");
  await form.getByLabel("Email").fill("kai");
  await form.getByLabel("Team").selectOption("americas");
  await form.getByRole("button", { name: "Add rep" }).click();
  await page.getByTestId("new-rep-email-error").filter({ hasText: '"kai" is not an email address' }).waitFor();
  assert.equal(await page.evaluate(() => document.activeElement?.dataset.testid), "new-rep-email");
  await form.getByLabel("Email").fill("kai@baton.test");
  await page.keyboard.press("Enter");
  const token = page.getByLabel("Sign-in token");
  await token.waitFor();
  assert.equal(await token.inputValue(), "btn_rep_k3Y9fQ2xW8pL5mN7vB1c5");
  assert.equal(await page.evaluate(() => document.activeElement?.id), "rep-token");
  assert.match(await page.getByTestId("rep-token").innerText(), /Copy this token now and give it to Kai Moreno: it will not be shown again\./);
  await page.getByTestId("rep-token").getByRole("button", { name: "Copy" }).click();
  await page.getByTestId("copy-note").waitFor();
  assert.equal(await page.evaluate(() => navigator.clipboard.readText()), "btn_rep_k3Y9fQ2xW8pL5mN7vB1c5");
  await reps.filter({ hasText: "Kai Moreno" }).waitFor();
  await page.getByTestId("token-done").click();
  assert.equal(await page.getByTestId("rep-token").count(), 0);
  assert.ok(!(await page.locator("body").innerText()).includes("btn_rep_"));
  assert.deepEqual((await calls(page, "rep_create")).pop().rep, {
    name: "Kai Moreno", email: "kai@baton.test", team: "americas", weight: 1, max_open: 20, schedule: null,
  });

  // Deactivate: asked first, cancelled, then confirmed.
  const cid = reps.filter({ hasText: "Cid Park" });
  await cid.getByRole("button", { name: "Deactivate Cid Park" }).click();
  const confirm = cid.getByRole("group", { name: "Confirm deactivating Cid Park" });
  assert.match(await confirm.innerText(), /Their sign-in stops working and their undecided leads go to other reps now\./);
  await confirm.getByRole("button", { name: "Cancel" }).click();
  assert.deepEqual(await calls(page, "rep_update"), []);
  await cid.getByRole("button", { name: "Deactivate Cid Park" }).click();
  await cid.getByTestId("confirm-deactivate").click();
  await cid.getByTestId("rep-state").filter({ hasText: "Deactivated" }).waitFor();
  assert.match(await cid.getByTestId("rep-note").innerText(), /Cid Park is deactivated/);
  assert.deepEqual((await calls(page, "rep_update")).pop(), { id: 3, change: { team: null, weight: null, max_open: null, active: false } });

  // Edit a weight; set Ben's hours.
  const ben = reps.filter({ hasText: "Ben Ortiz" });
  await ben.getByRole("button", { name: "Edit Ben Ortiz" }).click();
  await ben.getByTestId("edit-weight").fill("3");
  await ben.getByRole("button", { name: "Save" }).click();
  await ben.getByTestId("rep-note").filter({ hasText: "Saved." }).waitFor();
  assert.match(await ben.innerText(), /emea\t3\t25/);
  await ben.getByTestId("rep-hours").click();
  const panel = page.getByTestId("rep-hours-panel");
  await panel.getByLabel("Time zone").selectOption("America/New_York");
  await panel.getByRole("button", { name: "Add hours on Friday" }).click();
  await panel.getByTestId("rep-hours-save").click();
  await panel.getByTestId("rep-hours-saved").waitFor();
  assert.match(await ben.getByTestId("rep-shift").innerText(), /America\/New_York/);

  // Admins: managers' scopes and the audit log of all this.
  assert.match(await page.getByTestId("managers").innerText(), /Ines Duarte\s+ines@baton\.test\s+Manages americas/);
  const audit = page.getByTestId("audit-entry");
  await audit.filter({ hasText: "rep.schedule" }).first().waitFor();
  const actions = await page.getByTestId("audit").locator("code").allInnerTexts();
  assert.deepEqual(actions.slice(0, 4), ["rep.schedule", "rep.updated", "rep.updated", "rep.created"]);
  assert.deepEqual(errors, []);
  await page.close();
});
