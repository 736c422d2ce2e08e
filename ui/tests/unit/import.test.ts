import { afterEach, describe, expect, it } from "vitest";
import { cleanup, fireEvent, render, screen } from "@testing-library/svelte";
import ImportLeads from "../../src/components/ImportLeads.svelte";
import type { ImportSummary } from "../../src/bindings";
import {
  count,
  fieldLabel,
  IMPORT_FIELDS,
  IMPORT_MAX_BYTES,
  ImportState,
  sourceHint,
  summaryDetail,
  summaryWords,
  unlistedRefusals,
} from "../../src/lib/import.svelte";
import { asciiJson, IMPORT_OPTIONS_HEADER, tauriBackend } from "../../src/lib/tauri";
import { installFakeShell, settle } from "./setup";

afterEach(() => cleanup());

const CSV = [
  "Email Address,Lead Score,Company,Notes",
  "ada@acme.test,82,Acme,met at the fair",
  'grace@globex.test,45,"Globex, Inc.",',
  "bob@,70,Initech,typo in the email",
  "<img src=x onerror=alert(1)>,90,Evil,",
  "linus@hooli.test,high,Hooli,",
].join("\r\n");

function csvFile(text = CSV, name = "fair-leads.csv"): File {
  return new File([text], name, { type: "text/csv" });
}

function state(options: { role?: "manager" | "rep" } = {}) {
  const fake = installFakeShell({ role: "manager", ...options });
  const imports = new ImportState(tauriBackend);
  return { fake, imports };
}

const importCalls = (fake: ReturnType<typeof installFakeShell>) => fake.calls.filter((c) => c.cmd === "import_csv");

function summary(over: Partial<ImportSummary>): ImportSummary {
  return {
    source: "fair",
    dry_run: true,
    routed: false,
    rows: 1203,
    created: 1200,
    updated: 0,
    unchanged: 0,
    refused: 3,
    columns: [],
    ignored_columns: [],
    refusals: [],
    elapsed_ms: 4250,
    ...over,
  };
}

describe("import", () => {
  it("says what an import did, or would do, in words", () => {
    expect(count(1200)).toBe("1,200");
    expect(summaryWords(summary({}))).toBe("1,200 would be created, 0 updated, 3 refused");
    expect(summaryWords(summary({ dry_run: false, unchanged: 5 }))).toBe("1,200 created, 0 updated, 5 unchanged, 3 refused");
    expect(summaryDetail(summary({}))).toBe("1,203 rows read for source fair in 4.3 s. Nothing was written.");
    expect(summaryDetail(summary({ dry_run: false, routed: true }))).toMatch(/New qualified leads were offered to reps\.$/);
    expect(summaryDetail(summary({ dry_run: false, routed: false }))).toMatch(/History only: no lead was offered to a rep\.$/);
    expect(unlistedRefusals(summary({ refused: 250, refusals: new Array(100).fill({ line: 2, field: "x", message: "y" }) }))).toBe(150);
    expect(IMPORT_FIELDS).toHaveLength(21);
    expect(fieldLabel("utm_campaign")).toBe("UTM campaign");
  });

  it("checks a source name as the server does, with a hint while it is typed", () => {
    expect(sourceHint("")).toBeNull();
    expect(sourceHint("crm-export_2025")).toBeNull();
    expect(sourceHint("Web Leads")).toBe("Use 1 to 64 lower-case letters, digits, - and _ (e.g. crm-export).");
    expect(sourceHint("a".repeat(65))).toMatch(/^Too long \(65 characters\)/);
  });

  it("sends the options as ASCII JSON in the header the shell reads", () => {
    expect(asciiJson({ header: "Société 🏢", n: 1 })).toBe('{"header":"Soci\\u00e9t\\u00e9 \\ud83c\\udfe2","n":1}');
    expect(JSON.parse(asciiJson({ header: "Société 🏢" }))).toEqual({ header: "Société 🏢" });
    // The shell holds its name to this one (src-tauri/src/commands.rs).
    expect(IMPORT_OPTIONS_HEADER).toBe("baton-import-options");
  });

  it("a dry run, then the same file and settings imported for real", async () => {
    const { fake, imports } = state();
    imports.chooseFile(csvFile());
    imports.source = " fair ";
    imports.historyOnly = true;
    expect(imports.dryRun).toBe(true);
    await imports.run();

    const [check] = importCalls(fake);
    expect(check.args).toBeInstanceOf(Uint8Array);
    expect(new TextDecoder().decode(check.args as unknown as Uint8Array)).toBe(CSV);
    expect(JSON.parse(check.options!.headers![IMPORT_OPTIONS_HEADER])).toEqual({
      source: "fair",
      dry_run: true,
      no_route: true,
      mapping: [],
      score_max: null,
      channel: null,
    });
    expect(imports.summary?.dry_run).toBe(true);
    expect(summaryWords(imports.summary!)).toBe("2 would be created, 0 updated, 3 refused");
    expect(imports.summary!.columns).toEqual([
      { header: "Email Address", field: "email" },
      { header: "Lead Score", field: "score" },
      { header: "Company", field: "company" },
    ]);
    expect(imports.summary!.ignored_columns).toEqual(["Notes"]);
    expect(imports.summary!.refusals).toEqual([
      { line: 4, field: "contact.email", message: '"bob@" is not an email address' },
      { line: 5, field: "contact.email", message: '"<img src=x onerror=alert(1)>" is not an email address' },
      { line: 6, field: "score.value", message: '"high" is not a number' },
    ]);
    expect(imports.canImportForReal).toBe(true);

    await imports.importForReal();
    const real = importCalls(fake)[1];
    expect(JSON.parse(real.options!.headers![IMPORT_OPTIONS_HEADER])).toMatchObject({ source: "fair", dry_run: false, no_route: true });
    expect(imports.summary?.dry_run).toBe(false);
    expect(summaryWords(imports.summary!)).toBe("2 created, 0 updated, 3 refused");
    expect(imports.canImportForReal).toBe(false);
    expect(imports.busy).toBeNull();

    // Imported again under the same source: the same leads, updated.
    imports.dryRun = false;
    await imports.run();
    expect(summaryWords(imports.summary!)).toBe("0 created, 2 updated, 3 refused");
  });

  it("a change after the dry run means checking again before importing for real", async () => {
    const { fake, imports } = state();
    imports.chooseFile(csvFile());
    imports.source = "fair";
    await imports.run();
    expect(imports.canImportForReal).toBe(true);
    imports.source = "fair-2";
    expect(imports.stale).toBe(true);
    expect(imports.canImportForReal).toBe(false);
    await imports.importForReal();
    expect(importCalls(fake)).toHaveLength(1);
    // Back as it was checked: it may be imported again. Unticking "Dry run" changes nothing checked.
    imports.source = "fair";
    imports.dryRun = false;
    expect(imports.canImportForReal).toBe(true);
    imports.chooseFile(csvFile(CSV, "other.csv"));
    expect(imports.canImportForReal).toBe(false);
  });

  it("the server's refusal of the header or a mapping is shown next to it, and the form is kept", async () => {
    const { imports } = state();
    imports.chooseFile(csvFile("Email,Points\r\nada@acme.test,80\r\n"));
    imports.source = "fair";
    await imports.run();
    expect(imports.fieldErrors).toEqual({
      header:
        'no column holds the score (looked for score, lead_score, hubspotscore, hubspot_score); map one, e.g. --map score="Lead Score"',
    });
    expect(imports.summary).toBeNull();

    imports.addMapping();
    imports.mappings[0].field = "score";
    imports.mappings[0].header = "Punkte";
    await imports.run();
    expect(imports.fieldErrors).toEqual({ mapping: 'the file has no column "Punkte" (its columns: Email, Points)' });
    expect(imports.source).toBe("fair");
    expect(imports.mappings).toHaveLength(1);

    imports.mappings[0].header = " points ";
    await imports.run();
    expect(imports.fieldErrors).toEqual({});
    expect(imports.summary?.columns).toEqual([
      { header: "Email", field: "email" },
      { header: "Points", field: "score" },
    ]);
  });

  it("what the window can tell is wrong is said before anything is sent", async () => {
    const { fake, imports } = state();
    await imports.run();
    expect(imports.fieldErrors).toEqual({
      file: "Choose a CSV file.",
      source: "Name the source the leads come from. Use 1 to 64 lower-case letters, digits, - and _ (e.g. crm-export).",
    });

    imports.chooseFile(csvFile());
    imports.source = "Web Leads";
    imports.scoreMax = "0";
    imports.addMapping();
    imports.mappings[0].header = "Punkte";
    await imports.run();
    expect(imports.fieldErrors).toEqual({
      source: "Use 1 to 64 lower-case letters, digits, - and _ (e.g. crm-export).",
      score_max: "A number above 0, such as 100 or 250.",
      mapping: 'Choose the lead field for column "Punkte", or remove the row.',
    });

    // A file over the bound is refused as it is chosen, without reading it.
    const huge = { name: "everything.csv", size: IMPORT_MAX_BYTES + 1, arrayBuffer: () => Promise.reject(new Error("read")) };
    imports.chooseFile(huge as unknown as File);
    expect(imports.fieldErrors.file).toBe(
      "everything.csv is 64.1 MiB; Baton imports files of up to 64 MiB: split it and import each part under the same source.",
    );
    imports.source = "web";
    imports.scoreMax = "";
    imports.removeMapping(imports.mappings[0].key);
    await imports.run();
    expect(Object.keys(imports.fieldErrors)).toEqual(["file"]);
    expect(importCalls(fake)).toEqual([]);
  });

  it("no connection is the form's error, and the import is not busy after it", async () => {
    const { fake, imports } = state();
    fake.setReviewOffline(true);
    imports.chooseFile(csvFile());
    imports.source = "fair";
    await imports.run();
    expect(imports.formError).toMatch(/cannot reach the server.*loads once the connection returns/);
    expect(imports.busy).toBeNull();
    expect(imports.summary).toBeNull();
  });

  it("is busy while the server works, and says which", async () => {
    const { fake, imports } = state();
    fake.holdImports();
    imports.chooseFile(csvFile());
    imports.source = "fair";
    const running = imports.run();
    await settle();
    expect(imports.busy).toBe("check");
    // A second press while busy sends nothing more.
    await imports.run();
    expect(importCalls(fake)).toHaveLength(1);
    fake.releaseImports();
    await running;
    expect(imports.busy).toBeNull();
  });

  it("renders the summary, and a refusal's markup as text only", async () => {
    const { imports } = state();
    render(ImportLeads, { props: { imports } });
    const file = screen.getByLabelText("CSV file") as HTMLInputElement;
    Object.defineProperty(file, "files", { value: [csvFile()] });
    await fireEvent.change(file);
    await fireEvent.input(screen.getByLabelText("Source name"), { target: { value: "Fair Leads" } });
    expect(screen.getByTestId("source-hint").textContent?.trim()).toBe(
      "Use 1 to 64 lower-case letters, digits, - and _ (e.g. crm-export).",
    );
    expect(screen.getByLabelText("Source name").getAttribute("aria-invalid")).toBe("true");
    await fireEvent.input(screen.getByLabelText("Source name"), { target: { value: "fair" } });
    expect(screen.getByLabelText("Source name").getAttribute("aria-invalid")).toBeNull();
    expect((screen.getByLabelText("Dry run (write nothing)") as HTMLInputElement).checked).toBe(true);
    await fireEvent.click(screen.getByRole("button", { name: "Check file" }));
    await settle();

    expect(screen.getByTestId("import-counts").textContent).toBe("2 would be created, 0 updated, 3 refused");
    const columns = [...screen.getByTestId("import-columns").querySelectorAll("tbody tr")].map((r) => r.textContent);
    expect(columns).toEqual(["Email Address→email", "Lead Score→score", "Company→company"]);
    expect(screen.getByTestId("import-ignored").textContent).toContain("Notes");
    const refusals = screen.getByTestId("import-refusals");
    expect(refusals.textContent).toContain('"<img src=x onerror=alert(1)>" is not an email address');
    expect(refusals.querySelector("img")).toBeNull();
    expect(document.activeElement?.id).toBe("import-summary-heading");
    expect(screen.getByRole("button", { name: "Import for real" })).toBeTruthy();
  });
});
