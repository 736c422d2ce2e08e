import { afterEach, describe, expect, it } from "vitest";
import { cleanup, fireEvent, render, screen, within } from "@testing-library/svelte";
import Settings from "../../src/components/Settings.svelte";
import { AppState } from "../../src/lib/app.svelte";
import { MyHoursState, ScheduleForm, systemTimeZone, timeZones } from "../../src/lib/schedule.svelte";
import { tauriBackend } from "../../src/lib/tauri";
import { installFakeShell, settle } from "./setup";

afterEach(() => cleanup());

describe("working hours", () => {
  it("a new schedule starts in this computer's time zone, which the list holds", () => {
    const form = new ScheduleForm();
    expect(form.timeZone).toBe(systemTimeZone());
    expect(form.saved).toBe(false);
    expect(timeZones()).toContain(systemTimeZone());
    expect(timeZones("Mars/Olympus")).toContain("Mars/Olympus");
  });

  it("keeps each stretch's place in the list the server's fields name", () => {
    const form = new ScheduleForm({
      time_zone: "Europe/Berlin",
      hours: [
        { day: "tue", start: "09:00", end: "12:00" },
        { day: "mon", start: "09:00", end: "17:00" },
      ],
      absences: [{ from: "2027-08-02", to: "2027-08-06", note: null }],
    });
    form.addHours("tue");
    expect(form.hoursOf("tue").map(([h, i]) => [h.start, h.end, i])).toEqual([
      ["09:00", "12:00", 0],
      ["12:00", "24:00", 2],
    ]);
    form.copyMondayToWeekdays();
    expect(form.hoursOf("fri").map(([h]) => `${h.start}-${h.end}`)).toEqual(["09:00-17:00"]);
    expect(form.hoursOf("tue").map(([h]) => `${h.start}-${h.end}`)).toEqual(["09:00-17:00"]);
    form.addAbsence();
    form.absences[1] = { from: "2027-12-24", to: "2027-12-26", note: "  " };
    expect(form.toSchedule().absences).toEqual([
      { from: "2027-08-02", to: "2027-08-06", note: null },
      { from: "2027-12-24", to: "2027-12-26", note: null },
    ]);
  });

  it("the rep's hours load, save, and a refusal shows next to the stretch at fault", async () => {
    const fake = installFakeShell();
    const hours = new MyHoursState(tauriBackend);
    await hours.load();
    expect(hours.loaded && hours.onShift).toBe(true);
    expect(hours.form.saved).toBe(false);
    hours.form.timeZone = "Europe/Berlin";
    hours.form.addHours("mon");
    hours.form.addHours("wed");
    hours.form.hours[1].start = "17:00";
    hours.form.hours[1].end = "09:00";
    await hours.save();
    expect(hours.form.fieldErrors).toEqual({
      "hours[1].end": "09:00 is before the start 17:00; write a shift across midnight as two stretches",
    });
    expect(hours.form.formError).toBeNull();
    expect(hours.form.hours[1].start).toBe("17:00");
    hours.form.hours[1].end = "21:00";
    await hours.save();
    expect(hours.form.notice).toBe("Hours saved.");
    expect(hours.form.saved).toBe(true);
    const sent = fake.calls.filter((c) => c.cmd === "set_my_schedule").pop()!.args;
    expect(sent).toEqual({
      schedule: {
        time_zone: "Europe/Berlin",
        hours: [
          { day: "mon", start: "09:00", end: "17:00" },
          { day: "wed", start: "17:00", end: "21:00" },
        ],
        absences: [],
      },
    });
    await hours.save(true);
    expect(fake.calls.filter((c) => c.cmd === "set_my_schedule").pop()!.args).toEqual({ schedule: null });
    expect(hours.form.saved).toBe(false);
    expect(hours.form.notice).toBe("Hours cleared: on shift whenever not away.");
  });

  it("offline, the hours last seen show and saving says why it cannot", async () => {
    const fake = installFakeShell();
    fake.setScheduleOffline(true);
    const hours = new MyHoursState(tauriBackend);
    await hours.load();
    expect(hours.offline).toBe(true);
    await hours.save();
    expect(hours.form.formError).toMatch(/cannot reach the server/);
  });

  it("in the settings, a date the server refuses is named next to that absence", async () => {
    installFakeShell();
    const app = new AppState(tauriBackend);
    await app.start();
    render(Settings, { props: { app, onclose: () => {} } });
    await settle();
    const section = screen.getByTestId("my-hours");
    expect(within(section).getByTestId("my-hours-time-zone")).toBeTruthy();
    await fireEvent.click(within(section).getByRole("button", { name: "Add hours on Monday" }));
    await fireEvent.click(within(section).getByRole("button", { name: "+ Days away" }));
    const absence = within(section).getByTestId("my-hours-absence");
    const [from, to] = absence.querySelectorAll<HTMLInputElement>("input[type=date]");
    await fireEvent.input(from, { target: { value: "2027-08-10" } });
    await fireEvent.input(to, { target: { value: "2027-08-02" } });
    await fireEvent.click(within(section).getByTestId("my-hours-save"));
    await settle();
    const error = within(absence).getByTestId("my-hours-absence-error");
    expect(error.textContent).toBe("2027-08-02 is before from 2027-08-10; an absence runs from its first day to its last, both included");
    expect(to.getAttribute("aria-invalid")).toBe("true");
    expect(to.getAttribute("aria-describedby")).toBe(error.id);
    expect(within(section).queryByTestId("my-hours-saved")).toBeNull();
  });

  it("a manager's settings have no working hours", async () => {
    installFakeShell({ role: "manager" });
    const app = new AppState(tauriBackend);
    await app.start();
    render(Settings, { props: { app, onclose: () => {} } });
    await settle();
    expect(screen.queryByTestId("my-hours")).toBeNull();
  });
});
