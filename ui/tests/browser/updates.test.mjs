import { test } from "node:test";
import assert from "node:assert/strict";
import { open, useBrowser } from "./harness.mjs";
import { axeViolations, blocking, describe } from "./axe.mjs";

const ctx = useBrowser();

const calls = (page, cmd) =>
  page.evaluate((cmd) => window.__fake.calls.filter((c) => c.cmd === cmd).map((c) => c.args), cmd);

const notice = {
  version: "0.2.0",
  current: "0.1.0",
  notes: "Snooze a lead with x.\n<img src=x onerror=window.__pwned=1> Faster search.",
  notes_url: "https://intranet.example.com/baton/0.2.0",
  download_url: "https://intranet.example.com/baton/Baton_0.2.0_amd64.deb",
  format: "deb",
};

test("a newer release is a quiet line with the package's download and plain notes, hidden until the next", async () => {
  const { page, errors } = await open(ctx.browser, ctx.url, { update: notice });
  const line = page.getByTestId("update-notice");
  await line.waitFor();
  assert.match(await line.innerText(), /Baton 0\.2\.0 is available/);
  assert.equal(await page.getByRole("status").filter({ hasText: "Baton 0.2.0 is available" }).count(), 1);
  const download = page.getByTestId("update-download");
  assert.equal(await download.innerText(), "Download .deb");
  await download.click();
  assert.deepEqual(await calls(page, "open_update"), [{ link: "download" }]);

  // The notes are text, behind a disclosure, with the full notes a button away.
  await page.getByText("What's new").click();
  const notes = page.getByTestId("update-notes");
  await notes.waitFor();
  assert.match(await notes.innerText(), /<img src=x onerror=window\.__pwned=1> Faster search\./);
  assert.equal(await page.getByTestId("update-notice").locator("img").count(), 0);
  await page.getByTestId("update-notes-link").click();
  assert.deepEqual((await calls(page, "open_update")).at(-1), { link: "notes" });

  // Hidden until a newer version: this one stays hidden after a reload…
  await page.getByTestId("update-dismiss").click();
  await line.waitFor({ state: "detached" });
  assert.notEqual(await page.evaluate(() => document.activeElement?.tagName), "BODY", "focus is not lost");
  await page.reload();
  await page.getByTestId("inbox").waitFor();
  assert.equal(await page.getByTestId("update-notice").count(), 0);
  // …and the next check's newer version shows again, live.
  await page.evaluate((n) => window.__fake.setUpdate({ ...n, version: "0.3.0" }), notice);
  await page.getByTestId("update-notice").filter({ hasText: "Baton 0.3.0 is available" }).waitFor();
  // A check that finds the app current clears it.
  await page.evaluate(() => window.__fake.setUpdate(null));
  await page.getByTestId("update-notice").waitFor({ state: "detached" });
  assert.equal(await page.evaluate(() => window.__pwned), undefined);
  assert.deepEqual(errors, []);
  await page.close();
});

test("an app built from source offers the notes but no download, and a manager sees the notice too", async () => {
  const { page, errors } = await open(ctx.browser, ctx.url, {
    role: "manager",
    update: { ...notice, download_url: null, format: null, notes: "" },
  });
  const line = page.getByTestId("update-notice");
  await line.waitFor();
  assert.equal(await page.getByTestId("update-download").count(), 0);
  await page.getByTestId("update-notes-link").click();
  assert.deepEqual(await calls(page, "open_update"), [{ link: "notes" }]);
  assert.deepEqual(errors, []);
  await page.close();
});

for (const theme of ["light", "dark"]) {
  test(`the update line, notes open, in the ${theme} theme has no serious or critical axe violation`, async () => {
    const { page, errors } = await open(ctx.browser, ctx.url, { update: notice }, { theme });
    await page.getByTestId("update-notice").waitFor();
    await page.getByText("What's new").click();
    await page.getByTestId("update-notes").waitFor();
    const found = blocking(await axeViolations(page));
    assert.equal(found.length, 0, describe(found));
    assert.deepEqual(errors, []);
    await page.close();
  });
}
