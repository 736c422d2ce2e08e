import { describe, expect, it } from "vitest";
import { asError, ERROR_CODES, errorText } from "../../src/lib/backend";

describe("errors", () => {
  it("keeps the shell's codes and maps anything else to ui", () => {
    expect(asError({ code: "too_late_to_undo", message: "too late" })).toEqual({
      code: "too_late_to_undo",
      message: "too late",
    });
    expect(asError({ code: "no_such_code", message: "odd" })).toEqual({ code: "ui", message: "odd" });
    expect(asError({ code: 7, message: "odd" })).toEqual({ code: "ui", message: "odd" });
    expect(asError(new Error("boom"))).toEqual({ code: "ui", message: "boom" });
    expect(asError("plain")).toEqual({ code: "ui", message: "plain" });
    expect(asError(null)).toEqual({ code: "ui", message: "null" });
    expect(ERROR_CODES).toContain("incompatible_server");
    expect(new Set(ERROR_CODES).size).toBe(13);
  });

  it("says what to do about each kind", () => {
    expect(errorText({ code: "too_late_to_undo", message: "x" })).toBe("Too late to undo: it was already sent.");
    expect(errorText({ code: "offline", message: "cannot reach the server: refused" })).toBe(
      "cannot reach the server: refused — working offline; decisions are saved and sent when the connection returns.",
    );
    expect(errorText({ code: "incompatible_server", message: "server 3.0" })).toMatch(/update Baton or ask your admin/);
    expect(errorText({ code: "unauthorized", message: "token revoked" })).toMatch(/sign in again/);
    expect(errorText({ code: "unauthorized", message: "unknown token" }, "sign_in")).not.toMatch(/sign in again/);
    expect(errorText({ code: "not_actionable", message: "lead 3 is already accepted" })).toBe(
      "lead 3 is already accepted",
    );
    expect(errorText({ code: "ui", message: "boom" })).toBe("boom");
  });
});
