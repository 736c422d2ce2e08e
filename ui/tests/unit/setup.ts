// Installs the fake shell (tests/fake-shell.js) into jsdom's window, so the
// real `tauriBackend` and `@tauri-apps/api` run against it.
import source from "../fake-shell.js?raw";
import type { AuditEntry, Definition, ImportOptions, Manager, ProblemKind, Rep } from "../../src/bindings";

export type Fake = {
  calls: { cmd: string; args: Record<string, unknown>; options?: { headers?: Record<string, string> } }[];
  emitStatus(): void;
  emit(event: string, payload: unknown): void;
  setOffline(v: boolean): void;
  setProblem(kind: ProblemKind | null, message?: string): void;
  addLead(over?: Record<string, unknown>): number;
  refuse(id: number, message: string): void;
  endUndoWindows(announce?: boolean): void;
  outboxDepth(): number;
  setReviewOffline(v: boolean): void;
  settleIntake(id: number, status: "dismissed" | "reprocessed"): void;
  disableWebhook(id: number, reason: string): void;
  imports: { options: ImportOptions; text: string }[];
  holdImports(): void;
  releaseImports(): void;
  definitions: Definition[];
  teamReps: Rep[];
  managers: Manager[];
  audit: AuditEntry[];
  setScheduleOffline(v: boolean): void;
};

export function installFakeShell(
  options: {
    leads?: number;
    signedIn?: boolean;
    role?: "rep" | "manager";
    undoMs?: number;
    tokenNotice?: string | null;
    crm?: boolean;
    admin?: boolean;
  } = {},
): Fake {
  const w = window as unknown as { __FAKE_OPTIONS__: unknown; __fake: Fake };
  w.__FAKE_OPTIONS__ = options;
  new Function("window", source)(window);
  return w.__fake;
}

export async function settle(ms = 0): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise((r) => setTimeout(r, ms));
}

// jsdom has no layout, so no ResizeObserver; the list's height binding needs one.
if (!("ResizeObserver" in globalThis)) {
  (globalThis as unknown as { ResizeObserver: unknown }).ResizeObserver = class {
    observe() {}
    unobserve() {}
    disconnect() {}
  };
}
