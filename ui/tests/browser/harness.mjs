// Serves the built UI (ui/dist) with the desktop app's CSP and opens it in
// Debian's Chromium, with the fake shell installed at the IPC boundary.
import { createServer } from "node:http";
import { readFile } from "node:fs/promises";
import { readFileSync } from "node:fs";
import { extname, join, normalize } from "node:path";
import { fileURLToPath } from "node:url";
import { after, before } from "node:test";
import { chromium } from "playwright-core";

const ui = fileURLToPath(new URL("../..", import.meta.url));
const dist = join(ui, "dist");
const fakeShell = readFileSync(join(ui, "tests/fake-shell.js"), "utf8");
const conf = JSON.parse(readFileSync(join(ui, "../src-tauri/tauri.conf.json"), "utf8"));
// The same policy the desktop app enforces, so a style or script the CSP
// would block fails here too.
const csp = Object.entries(conf.app.security.csp)
  .map(([k, v]) => `${k} ${v}`)
  .join("; ");

const types = { ".html": "text/html", ".js": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml", ".png": "image/png" };

export async function serve() {
  const server = createServer(async (req, res) => {
    const path = normalize(decodeURIComponent(new URL(req.url, "http://x").pathname)).replace(/^(\.\.[/\\])+/, "");
    const file = join(dist, path === "/" ? "index.html" : path);
    try {
      const body = await readFile(file);
      res.writeHead(200, { "content-type": types[extname(file)] ?? "application/octet-stream", "content-security-policy": csp });
      res.end(body);
    } catch {
      res.writeHead(404).end();
    }
  });
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  return { url: `http://127.0.0.1:${server.address().port}/`, close: () => server.close() };
}

export async function launch() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    headless: true,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
}

/** A page with the fake shell; `options` as in tests/fake-shell.js; `theme`
 * ("light" or "dark") saved as the rep's choice before the app starts. */
export async function open(browser, url, options = {}, { theme } = {}) {
  const page = await browser.newPage({ viewport: { width: 1200, height: 760 } });
  const errors = [];
  page.on("pageerror", (e) => errors.push(e.message));
  page.on("console", (m) => {
    if (m.type() === "error") errors.push(m.text());
  });
  if (theme) await page.addInitScript((t) => localStorage.setItem("baton.theme", t), theme);
  await page.addInitScript(`window.__FAKE_OPTIONS__ = ${JSON.stringify(options)};\n${fakeShell}`);
  await page.goto(url);
  await page
    .getByTestId("inbox")
    .or(page.getByTestId("review"))
    .or(page.getByRole("form", { name: "Sign in" }))
    .first()
    .waitFor();
  return { page, errors };
}

/** One server and one browser for a test file: `const ctx = useBrowser();`
 * then `open(ctx.browser, ctx.url, …)` in each test. */
export function useBrowser() {
  const ctx = { browser: null, url: "", server: null };
  before(async () => {
    ctx.server = await serve();
    ctx.url = ctx.server.url;
    ctx.browser = await launch();
  });
  after(async () => {
    await ctx.browser?.close();
    ctx.server?.close();
  });
  return ctx;
}
