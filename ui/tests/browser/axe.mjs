// axe-core in the page under test. It is evaluated through the DevTools
// protocol, so the app's CSP (script-src 'self') does not block it the way it
// would an inline script tag.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";

const axeSource = readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");

/** WCAG 2.1 A and AA, and axe's best practices. */
export const AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"];

/** Runs axe over the whole document and returns its violations. */
export async function axeViolations(page) {
  if (!(await page.evaluate(() => typeof window.axe === "object"))) await page.evaluate(axeSource);
  return page.evaluate(async (tags) => {
    const result = await window.axe.run(document, { runOnly: { type: "tag", values: tags }, resultTypes: ["violations"] });
    return result.violations.map((v) => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      nodes: v.nodes.map((n) => ({ target: n.target.join(" "), html: n.html, summary: n.failureSummary })),
    }));
  }, AXE_TAGS);
}

/** Violations a screen may not have: "serious" and "critical" ones. */
export function blocking(violations) {
  return violations.filter((v) => v.impact === "serious" || v.impact === "critical");
}

/** A readable account of violations: rule, impact, help, and each node. */
export function describe(violations) {
  return violations
    .map(
      (v) =>
        `${v.id} (${v.impact}): ${v.help}\n` +
        v.nodes.map((n) => `  - ${n.target}\n    ${n.html.slice(0, 300)}\n    ${(n.summary ?? "").replace(/\n/g, "\n    ")}`).join("\n"),
    )
    .join("\n");
}
