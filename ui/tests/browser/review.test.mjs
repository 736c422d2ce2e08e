import { test } from "node:test";
import assert from "node:assert/strict";
import { open, useBrowser } from "./harness.mjs";

const ctx = useBrowser();

test("a manager sees the review, not the inbox: rates with counts, charts with tables", async () => {
  const { page, errors } = await open(ctx.browser, ctx.url, { role: "manager" });
  await page.getByTestId("review").waitFor();
  assert.equal(await page.getByTestId("inbox").count(), 0, "no inbox for a manager");
  assert.match(await page.getByTestId("acceptance-rate").innerText(), /accepted of 40 decided/);
  await page.getByTestId("chart-by_source").locator("canvas").waitFor();
  assert.ok((await page.locator("table").count()) >= 3, "every chart has its table");
  await page.getByTestId("export-by_source").click();
  await page.getByRole("status").filter({ hasText: "Saved /home/manager/Downloads/baton-by-source" }).waitFor();
  assert.deepEqual(errors, []);
  await page.close();
});

test("a rejection reason opens its notes, as plain text", async () => {
  const { page, errors } = await open(ctx.browser, ctx.url, { role: "manager" });
  await page.getByTestId("tab-reasons").click();
  const table = page.getByTestId("reasons-table");
  await table.getByRole("row", { name: /Other/ }).getByRole("button", { name: "Notes" }).click();
  const log = page.getByTestId("log-table");
  await log.waitFor();
  const text = await log.innerText();
  assert.match(text, /<b>Student<\/b> project <script>/);
  assert.equal(await log.locator("b, script").count(), 0);
  assert.equal(await page.evaluate(() => window.__pwned), undefined);
  const reasons = await log.locator("tbody tr td:nth-child(7)").allInnerTexts();
  assert.ok(reasons.length > 0 && reasons.every((r) => r === "Other"), reasons.join(","));
  assert.deepEqual(errors, []);
  await page.close();
});

test("calibration: the threshold on the chart, a suggestion for a target, flagged sources", async () => {
  const { page, errors } = await open(ctx.browser, ctx.url, { role: "manager" });
  await page.getByTestId("tab-calibration").click();
  await page.getByTestId("chart-calibration").locator("canvas").waitFor();
  await page.getByTestId("target").fill("80");
  await page.getByRole("button", { name: "Calculate" }).click();
  const s = page.getByTestId("suggestion");
  await s.filter({ hasText: "A threshold of 72" }).waitFor();
  assert.match(await s.innerText(), /kept 12 leads from sales/);
  const call = await page.evaluate(() => window.__fake.calls.filter((c) => c.cmd === "review_load").pop().args.query);
  assert.equal(call.target_rate, 0.8);
  assert.match(await page.getByTestId("sources-table").innerText(), /Paid search[\s\S]*Rejected far more often at the same scores/);
  assert.deepEqual(errors, []);
  await page.close();
});

test("offline, the last review stays readable and says how old it is", async () => {
  const { page, errors } = await open(ctx.browser, ctx.url, { role: "manager" });
  await page.getByTestId("review").waitFor();
  await page.getByTestId("acceptance-rate").waitFor();
  await page.evaluate(() => window.__fake.setReviewOffline(true));
  await page.getByRole("button", { name: "Refresh" }).click();
  await page.getByTestId("review-offline").filter({ hasText: "Offline — figures from" }).waitFor();
  assert.match(await page.getByTestId("acceptance-rate").innerText(), /40 decided/);
  assert.deepEqual(errors, []);
  await page.close();
});

test("speed-to-lead as a distribution, and offers against routing weight", async () => {
  const { page, errors } = await open(ctx.browser, ctx.url, { role: "manager" });
  await page.getByTestId("tab-speed").click();
  await page.getByTestId("chart-speed").locator("canvas").waitFor();
  assert.match(await page.getByTestId("speed-table").innerText(), /Team emea[\s\S]*Ava Rossi/);
  await page.getByTestId("tab-fairness").click();
  const t = await page.getByTestId("fairness-table").innerText();
  assert.match(t, /Maya Patel\temea\t3\t25/);
  assert.match(await page.getByTestId("queue-table").innerText(), /Waiting Walter[\s\S]*4[12] min/);
  await page.getByTestId("team").selectOption("emea");
  await page.waitForFunction(() => window.__fake.calls.filter((c) => c.cmd === "review_load").pop().args.query.team === "emea");
  assert.deepEqual(errors, []);
  await page.close();
});

test("trends by day or by week, acceptance by campaign, queue waits in the period, each exportable", async () => {
  const { page, errors } = await open(ctx.browser, ctx.url, { role: "manager" });
  await page.getByTestId("chart-by_campaign").locator("canvas").waitFor();
  const campaigns = await page.getByTestId("chart-by_campaign").locator("..").locator("table").innerText();
  assert.match(campaigns, /No campaign/);
  assert.match(campaigns, /spring-webinar/);
  await page.getByTestId("tab-speed").click();
  assert.match(await page.getByTestId("trend-table").innerText(), /2026-11-24[\s\S]*2026-11-25/);
  await page.getByTestId("trend-weekly").click();
  const weekly = await page.getByTestId("trend-table").innerText();
  assert.match(weekly, /Week of/);
  assert.match(weekly, /2026-11-23\t40\t27\t13\t67\.5%/);
  assert.doesNotMatch(weekly, /2026-11-24/);
  await page.getByTestId("chart-trend-speed").locator("canvas").waitFor();
  await page.getByTestId("export-weekly").click();
  await page.getByRole("status").filter({ hasText: "baton-weekly" }).waitFor();
  await page.getByTestId("tab-fairness").click();
  assert.match(await page.getByTestId("queue-waits-table").innerText(), /emea\t9\t6\t1\t2\t21 min/);
  await page.getByTestId("export-queue_waits").click();
  await page.getByRole("status").filter({ hasText: "baton-queue-waits" }).waitFor();
  assert.deepEqual(errors, []);
  await page.close();
});

test("any lead in the log opens with its full context and history", async () => {
  const { page, errors } = await open(ctx.browser, ctx.url, { role: "manager" });
  await page.getByTestId("tab-log").click();
  await page.getByTestId("open-lead").first().click();
  const drawer = page.getByTestId("review-lead");
  await drawer.waitFor();
  assert.match(await drawer.innerText(), /How big is your team\?/);
  const history = await page.getByTestId("review-lead-history").innerText();
  assert.match(history, /Rejected · Ava Rossi — rejected by Ava Rossi: Other \(note required\) — <i>duplicate<\/i>/);
  assert.equal(await drawer.locator("i").count(), 0);
  await drawer.getByRole("button", { name: "Close" }).click();
  await drawer.waitFor({ state: "detached" });
  assert.deepEqual(errors, []);
  await page.close();
});

test("failed intake: retried into leads, still failing with why, dismissed; payloads shown as text", async () => {
  const { page, errors } = await open(ctx.browser, ctx.url, { role: "manager" });
  const dialogs = [];
  page.on("dialog", (d) => {
    dialogs.push(d.message());
    d.dismiss();
  });
  const tab = page.getByTestId("tab-intake");
  await tab.filter({ hasText: "Failed intake (3)" }).waitFor();
  await tab.click();
  const rows = page.getByTestId("failure");
  assert.equal(await rows.count(), 3);
  const typeform = rows.filter({ hasText: "evt_tf_3" });
  assert.match(await typeform.innerText(), /typeform\s+evt_tf_3\s+received 12 min ago/);
  assert.match(await typeform.getByTestId("failure-why").innerText(), /contact\.email\s+no answer for field ref "work_email"/);

  // The payload, opened from the keyboard: markup in it is text, bounded and scrollable.
  await typeform.getByText("Show payload").focus();
  await page.keyboard.press("Enter");
  const payload = page.getByLabel("Payload of typeform delivery evt_tf_3");
  await payload.waitFor();
  assert.match(await payload.innerText(), /<img src=x onerror=alert\(1\)><script>window\.__pwned=4<\/script>/);
  assert.equal(await page.getByTestId("intake-list").locator("img, script").count(), 0);
  const box = await payload.evaluate((el) => ({ client: el.clientHeight, scroll: el.scrollHeight, overflow: getComputedStyle(el).overflowY }));
  assert.ok(box.client < 260 && box.scroll > box.client && box.overflow === "auto", JSON.stringify(box));

  // Retry from the keyboard: the lead is made, the row leaves, focus moves to the next row.
  await page.getByRole("button", { name: "Retry typeform delivery evt_tf_3" }).focus();
  await page.keyboard.press("Enter");
  await page.getByRole("status").filter({ hasText: "Lead created (lead 41)" }).waitFor();
  assert.equal(await rows.count(), 2);
  await tab.filter({ hasText: "Failed intake (2)" }).waitFor();
  assert.equal(await page.evaluate(() => document.activeElement?.getAttribute("aria-label")), "Retry hubspot delivery hs-8812");

  // Still failing: the row stays, with the field and why as they are now.
  await page.keyboard.press("Enter");
  const hubspot = rows.filter({ hasText: "hs-8812" });
  await hubspot.getByTestId("failure-note").filter({ hasText: 'Still failing: property hs_lead_score is "high", not a number' }).waitFor();
  assert.match(await hubspot.getByTestId("failure-why").innerText(), /score\.value\s+property hs_lead_score is "high", not a number/);
  assert.equal(await rows.count(), 2);

  // Another manager dismissed the Tally delivery meanwhile: its retry is refused with the server's reason.
  await page.evaluate(() => window.__fake.settleIntake(101, "dismissed"));
  await page.getByRole("button", { name: "Retry tally delivery tally_evt_77" }).click();
  await page.getByRole("alert").filter({ hasText: "failed intake 101 was dismissed; it cannot be retried" }).waitFor();

  await page.getByRole("button", { name: "Dismiss tally delivery tally_evt_77" }).click();
  await page.getByRole("button", { name: "Dismiss hubspot delivery hs-8812" }).click();
  await page.getByTestId("intake-empty").filter({ hasText: "No failed intake — every delivery became a lead." }).waitFor();
  assert.equal(await tab.innerText(), "Failed intake");
  assert.equal(await page.evaluate(() => window.__pwned), undefined);
  assert.deepEqual(dialogs, []);
  assert.deepEqual(errors, []);
  await page.close();
});

test("webhooks: states in words, a disabled endpoint's banner, delivery logs with payloads as text, replay, delete, and a secret shown once", async () => {
  const { page, errors } = await open(ctx.browser, ctx.url, { role: "manager" });
  await page.context().grantPermissions(["clipboard-read", "clipboard-write"], { origin: ctx.url });
  const dialogs = [];
  page.on("dialog", (d) => {
    dialogs.push(d.message());
    d.dismiss();
  });
  // The marker is text, not colour only: one disabled and one failing endpoint.
  const tab = page.getByTestId("tab-webhooks");
  await tab.filter({ hasText: "Webhooks ⚠ 2" }).waitFor();
  await tab.click();

  const banner = page.getByTestId("disabled-banner");
  assert.match(
    await banner.innerText(),
    /An endpoint was disabled: the endpoint answered 410 Gone\. Events are no longer sent to it; register it again once it is fixed\.\s+Endpoint: https:\/\/old\.example\.org\/baton/,
  );
  assert.equal(await banner.getAttribute("role"), "alert");
  const endpoints = page.getByTestId("endpoint");
  assert.deepEqual(await page.getByTestId("endpoint-health").allInnerTexts(), [
    "Active",
    "Failing since 3 h ago",
    "Disabled: the endpoint answered 410 Gone",
  ]);
  const alerts = endpoints.filter({ hasText: "alerts.example.net" });
  assert.match(await alerts.getByTestId("endpoint-events").innerText(), /^Lead routed, Lead SLA breached$/);
  assert.equal(await alerts.getByTestId("endpoint-pending").innerText(), "1 delivery");
  assert.equal(await alerts.getByTestId("endpoint-last-success").innerText(), "1 d ago");

  // The delivery log, opened from the keyboard; a payload's markup is text.
  const toggle = page.getByRole("button", { name: "Deliveries of https://alerts.example.net/webhook" });
  await toggle.focus();
  await page.keyboard.press("Enter");
  assert.equal(await toggle.getAttribute("aria-expanded"), "true");
  const rows = alerts.getByTestId("delivery");
  await rows.first().waitFor();
  assert.equal(await rows.count(), 3);
  const failed = rows.filter({ hasText: "msg_evt_22" });
  assert.match(await failed.innerText(), /Lead SLA breached\s+lead 12\s+Failed\s+8 attempts/);
  assert.match(await failed.getByTestId("delivery-answer").innerText(), /Last answer:\s+HTTP 500\s+answered 500/);
  assert.match(await rows.filter({ hasText: "msg_evt_23" }).innerText(), /Pending.*next attempt in (9|10) min/s);
  await failed.getByText("Show payload").focus();
  await page.keyboard.press("Enter");
  const payload = page.getByLabel("Payload of delivery 22 (Lead SLA breached, lead 12)");
  await payload.waitFor();
  assert.match(await payload.innerText(), /<img src=x onerror=alert\(1\)><script>window\.__pwned=5<\/script>/);
  assert.equal(await page.getByTestId("webhooks").locator("img, script").count(), 0);

  // Replay: the row is pending again, and the endpoint has one more waiting.
  await page.getByRole("button", { name: "Replay delivery 22 (Lead SLA breached, lead 12)" }).click();
  await failed.getByTestId("delivery-note").filter({ hasText: "Replayed: it is sent again with the same webhook-id." }).waitFor();
  assert.equal(await failed.getByTestId("delivery-status").innerText(), "Pending");
  await alerts.getByTestId("endpoint-pending").filter({ hasText: "2 deliveries" }).waitFor();

  // A replay to the disabled endpoint: the server's conflict, in its words.
  await page.getByRole("button", { name: "Deliveries of https://old.example.org/baton" }).click();
  await page.getByRole("button", { name: "Replay delivery 31 (Lead qualified, lead 9)" }).click();
  await page
    .getByRole("alert")
    .filter({ hasText: "webhook 3 is disabled (the endpoint answered 410 Gone); register the endpoint again to send to it" })
    .waitFor();

  // Delete asks first; Cancel keeps it, the keyboard's focus back on Delete.
  await page.getByRole("button", { name: "Delete https://old.example.org/baton" }).click();
  const confirm = page.getByRole("group", { name: "Confirm deleting https://old.example.org/baton" });
  assert.equal(await page.evaluate(() => document.activeElement?.textContent), "Delete endpoint");
  await confirm.getByRole("button", { name: "Cancel" }).click();
  assert.equal(await page.evaluate(() => document.activeElement?.getAttribute("aria-label")), "Delete https://old.example.org/baton");
  await page.keyboard.press("Enter");
  await page.keyboard.press("Enter");
  await page.getByRole("status").filter({ hasText: "Endpoint deleted: https://old.example.org/baton. Nothing more is sent to it." }).waitFor();
  assert.equal(await endpoints.count(), 2);
  assert.equal(await banner.count(), 0);
  await tab.filter({ hasText: "Webhooks ⚠ 1" }).waitFor();

  // Add an endpoint: the server's refusal next to the URL, then the secret once.
  const form = page.getByRole("form", { name: "Add endpoint" });
  await form.getByLabel("URL").fill("http://hooks.acme.test/baton");
  await form.getByLabel("Lead accepted").check();
  await form.getByLabel("Lead returned to nurture").check();
  await form.getByLabel("Description").fill("Acme <b>CRM</b>");
  await form.getByRole("button", { name: "Add endpoint" }).click();
  await page.getByTestId("url-error").filter({ hasText: "must be https (http is accepted only with [webhooks] allow_private_targets)" }).waitFor();
  assert.equal(await page.evaluate(() => document.activeElement?.id), "webhook-url");
  await form.getByLabel("URL").fill("https://hooks.acme.test/baton");
  await page.keyboard.press("Enter");
  const secret = page.getByLabel("Signing secret");
  await secret.waitFor();
  assert.equal(await secret.inputValue(), "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw4");
  assert.equal(await secret.getAttribute("readonly"), "");
  assert.equal(await page.evaluate(() => document.activeElement?.id), "webhook-secret");
  assert.match(
    await page.getByTestId("secret").innerText(),
    /Copy this secret now: it will not be shown again\. Your receiver verifies each request's webhook-signature with it\./,
  );
  await page.getByRole("button", { name: "Copy" }).click();
  await page.getByTestId("copy-note").waitFor();
  assert.equal(await page.evaluate(() => navigator.clipboard.readText()), "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw4");
  const added = endpoints.filter({ hasText: "hooks.acme.test" });
  assert.match(await added.innerText(), /Acme <b>CRM<\/b>/);
  assert.match(await added.getByTestId("endpoint-events").innerText(), /^Lead accepted, Lead returned to nurture$/);
  await page.getByRole("button", { name: "Done" }).click();
  assert.equal(await page.getByTestId("secret").count(), 0);
  assert.ok(!(await page.getByTestId("webhooks").innerText()).includes("whsec_"));

  assert.equal(await page.evaluate(() => window.__pwned), undefined);
  assert.deepEqual(dialogs, []);
  assert.deepEqual(errors, []);
  await page.close();
});

test("webhooks: the server's CRM write-backs are listed by their CRM with their deliveries and replay, and no Delete", async () => {
  const { page, errors } = await open(ctx.browser, ctx.url, { role: "manager", crm: true });
  const dialogs = [];
  page.on("dialog", (d) => {
    dialogs.push(d.message());
    d.dismiss();
  });
  await page.getByTestId("tab-webhooks").click();
  const hubspot = page.locator('[data-testid="endpoint"][data-kind="hubspot"]');
  const salesforce = page.locator('[data-testid="endpoint"][data-kind="salesforce"]');
  assert.equal(await hubspot.getByTestId("endpoint-kind").innerText(), "HubSpot owner write-back");
  assert.equal(await hubspot.getByTestId("endpoint-url").innerText(), "https://api.hubapi.com");
  assert.equal(await hubspot.getByTestId("endpoint-health").innerText(), "Failing since 40 min ago");
  assert.equal(await salesforce.getByTestId("endpoint-kind").innerText(), "Salesforce owner write-back");
  assert.equal(await salesforce.getByTestId("endpoint-health").innerText(), "Active");
  for (const row of [hubspot, salesforce]) {
    assert.equal(await row.getByTestId("endpoint-config").innerText(), "Defined in the server's config ([crm])");
    assert.equal(await row.getByRole("button", { name: /^Delete/ }).count(), 0);
  }
  // The manager's own endpoints keep theirs.
  assert.equal(await page.getByRole("button", { name: /^Delete https:/ }).count(), 3);

  // Its delivery log and replay work as an endpoint's; the CRM's error is text.
  await page.getByRole("button", { name: "Deliveries of HubSpot owner write-back" }).click();
  const log = page.getByRole("list", { name: "Deliveries to HubSpot owner write-back" });
  const failed = log.getByTestId("delivery").filter({ hasText: "msg_evt_412" });
  assert.match(
    await failed.getByTestId("delivery-answer").innerText(),
    /HTTP 404\s+HubSpot answered 404 OBJECT_NOT_FOUND: resource not found <img src=x onerror=alert\(1\)>/,
  );
  assert.equal(await page.getByTestId("webhooks").locator("img, script").count(), 0);
  await page.getByRole("button", { name: "Replay delivery 412 (Lead accepted, lead 7)" }).click();
  await failed.getByTestId("delivery-status").filter({ hasText: "Pending" }).waitFor();

  assert.deepEqual(dialogs, []);
  assert.deepEqual(errors, []);
  await page.close();
});

test("import: a CSV file checked (header refused, then mapped), refusals as text, imported for real with the same settings, busy while it works, in both themes", async () => {
  const { page, errors } = await open(ctx.browser, ctx.url, { role: "manager" });
  const dialogs = [];
  page.on("dialog", (d) => {
    dialogs.push(d.message());
    d.dismiss();
  });
  const csv = [
    "Email Address,Points,Company,Notes",
    "ada@acme.test,82,Acme,met at the fair",
    'grace@globex.test,45,"Globex, Inc.",',
    "<img src=x onerror=alert(1)>,90,Evil,<script>window.__pwned=7</script>",
  ].join("\r\n");
  const tab = page.getByTestId("tab-import");
  await tab.click();
  const form = page.getByRole("form", { name: "Import leads from a CSV file" });
  await form.getByLabel("CSV file").setInputFiles({ name: "fair leads.csv", mimeType: "text/csv", buffer: Buffer.from(csv) });
  assert.match(await page.getByTestId("import-file-help").innerText(), /^Chosen: fair leads\.csv \(1 KiB\)\.$/);

  // The source name's rule, said as it is typed.
  const source = form.getByLabel("Source name");
  await source.fill("Fair Leads");
  assert.equal(await page.getByTestId("source-hint").innerText(), "Use 1 to 64 lower-case letters, digits, - and _ (e.g. crm-export).");
  assert.equal(await source.getAttribute("aria-invalid"), "true");
  await source.fill("fair");
  assert.equal(await source.getAttribute("aria-invalid"), null);
  assert.equal(await form.getByLabel("Dry run (write nothing)").isChecked(), true);
  assert.equal(await form.getByLabel("History only — don't offer leads to reps").isChecked(), false);

  // No score column: the server's reason next to the file, which takes the focus.
  await form.getByRole("button", { name: "Check file" }).click();
  await page.getByTestId("header-error").filter({ hasText: "no column holds the score" }).waitFor();
  assert.equal(await page.evaluate(() => document.activeElement?.id), "import-file");
  assert.match(await form.getByLabel("CSV file").getAttribute("aria-describedby"), /import-header-error/);

  // A mapping, added and filled in from the keyboard.
  await form.getByRole("button", { name: "Add mapping" }).focus();
  await page.keyboard.press("Enter");
  const mapping = form.getByRole("group", { name: "Mapping 1" });
  assert.equal(await page.evaluate(() => document.activeElement?.tagName), "SELECT");
  await mapping.getByLabel("Lead field").selectOption("score");
  await mapping.getByLabel("Column header in the file").fill("Punkte");
  await mapping.getByLabel("Column header in the file").press("Enter");
  await page.getByTestId("mapping-error").filter({ hasText: 'the file has no column "Punkte" (its columns: Email Address, Points, Company, Notes)' }).waitFor();
  await mapping.getByLabel("Column header in the file").fill("Points");
  await mapping.getByLabel("Column header in the file").press("Enter");

  const summary = page.getByTestId("import-summary");
  await summary.waitFor();
  assert.equal(await page.evaluate(() => document.activeElement?.id), "import-summary-heading");
  assert.equal(await page.getByTestId("import-counts").innerText(), "2 would be created, 0 updated, 1 refused");
  assert.match(await page.getByTestId("import-detail").innerText(), /^3 rows read for source fair in 1\.2 s\. Nothing was written\.$/);
  const columns = await page.getByTestId("import-columns").locator("tbody tr").allInnerTexts();
  assert.deepEqual(
    columns.map((c) => c.replace(/\s+/g, " ").trim()),
    ["Email Address → email", "Points → score", "Company → company"],
  );
  assert.match(await page.getByTestId("import-ignored").innerText(), /Notes/);
  const refusal = page.getByTestId("import-refusal");
  assert.equal(await refusal.count(), 1);
  assert.match(await refusal.innerText(), /^4\s+contact\.email\s+"<img src=x onerror=alert\(1\)>" is not an email address$/);
  assert.equal(await page.getByTestId("import").locator("img, script").count(), 0);

  // Both themes: the tab is drawn with the theme's colours.
  const colours = () =>
    page.getByTestId("import").evaluate((el) => [
      getComputedStyle(el).backgroundColor,
      getComputedStyle(el.querySelector("[data-testid=import-counts]")).color,
    ]);
  assert.deepEqual(await colours(), ["rgb(255, 255, 255)", "rgb(23, 32, 44)"]);
  await page.evaluate(() => (document.documentElement.dataset.theme = "dark"));
  assert.deepEqual(await colours(), ["rgb(22, 29, 39)", "rgb(230, 235, 242)"]);
  await page.evaluate(() => (document.documentElement.dataset.theme = "light"));

  // For real: the same file and settings, busy (in the tab's label too) until the server answers.
  await page.evaluate(() => window.__fake.holdImports());
  await page.getByRole("button", { name: "Import for real" }).click();
  await page.getByRole("status").filter({ hasText: "Importing… A large file takes a while" }).waitFor();
  await tab.filter({ hasText: "Import (working…)" }).waitFor();
  assert.equal(await page.getByRole("progressbar", { name: "Importing" }).count(), 1);
  assert.equal(await form.getByRole("button", { name: "Check file" }).getAttribute("aria-disabled"), "true");
  await page.evaluate(() => window.__fake.releaseImports());
  await summary.getByRole("heading", { name: "Imported", exact: true }).waitFor();
  assert.equal(await page.getByTestId("import-counts").innerText(), "2 created, 0 updated, 1 refused");
  assert.match(await page.getByTestId("import-detail").innerText(), /New qualified leads were offered to reps\.$/);
  assert.equal(await page.getByRole("button", { name: "Import for real" }).count(), 0);
  await tab.filter({ hasText: /^Import$/ }).waitFor();
  const sent = await page.evaluate(() => window.__fake.imports.map((i) => [i.options.dry_run, i.options.source, i.options.mapping]));
  assert.deepEqual(sent.slice(-2), [
    [true, "fair", [{ field: "score", header: "Points" }]],
    [false, "fair", [{ field: "score", header: "Points" }]],
  ]);

  assert.equal(await page.evaluate(() => window.__pwned), undefined);
  assert.deepEqual(dialogs, []);
  assert.deepEqual(errors, []);
  await page.close();
});
