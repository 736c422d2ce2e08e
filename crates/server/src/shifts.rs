//! Reps' working hours and days away, read once from their [`WorkSchedule`]
//! and then asked, for any instant, whether the rep is on shift, when that
//! next changes, and when a business-hours SLA runs out.
//!
//! Every answer is in real instants. A stretch of a local day runs from its
//! start to its end as resolved in the rep's time zone, with jiff's
//! compatible disambiguation for a local time that a DST change skips or
//! repeats: 09:00–17:00 in Berlin is 08:00–16:00 UTC in winter and
//! 07:00–15:00 UTC in summer, and 01:00–04:00 on the spring-forward night is
//! two hours long. A local day likewise runs from its midnight to the next
//! (23, 24 or 25 real hours), and an absence covers whole such days.

use std::fmt;

use baton_protocol::{Timestamp, Weekday, WorkSchedule};
use jiff::civil::{Date, DateTime};
use jiff::tz::TimeZone;

/// Most stretches a schedule may have: four a day, every day.
pub const MAX_STRETCHES: usize = 28;
pub const MAX_ABSENCES: usize = 100;
/// Longest single absence, in days: a year, leap day included.
pub const MAX_ABSENCE_DAYS: i64 = 366;
pub const MAX_NOTE_CHARS: usize = 200;

/// How far ahead the walks look before giving up. Longer than the longest
/// absence, so a rep away for a whole year is still found coming back.
const HORIZON_DAYS: i64 = 400;
const MINUTE_MS: i64 = 60_000;
const HOUR_MS: i64 = 60 * MINUTE_MS;
const DAY_MS: i64 = 24 * HOUR_MS;
const HORIZON_MS: i64 = HORIZON_DAYS * DAY_MS;
const DAY_MINUTES: u16 = 24 * 60;
/// A local day is at most 25 real hours, so an offset that holds this long
/// either side of an instant holds for the whole local day around it.
const STEADY_MS: i64 = 26 * HOUR_MS;

/// A rep's schedule, parsed and checked once, ready for routing's questions.
#[derive(Clone, Debug)]
pub struct Shifts {
    tz: TimeZone,
    /// Monday first. Each day's stretches in minutes of the local day
    /// (`end` up to 1440), sorted, and merged where they touch: 09:00–12:00
    /// and 12:00–17:00 are one stretch, so noon is no change of state.
    week: [Vec<(u16, u16)>; 7],
    /// Whether any day has a stretch; without one the rep is on shift
    /// whenever not absent.
    has_hours: bool,
    /// Inclusive local days, sorted, merged where they overlap or touch, so
    /// one binary search answers "is this day away".
    absences: Vec<(Date, Date)>,
}

/// Where a rep stands at an instant.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ShiftState {
    OnShift,
    OffShift,
    Absent,
}

/// What is wrong with a schedule: the field (e.g. "schedule.hours[2].end",
/// "schedule.time_zone", "schedule.absences[0].from") and a message saying
/// what was wrong and what to do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScheduleProblem {
    pub field: String,
    pub message: String,
}

impl fmt::Display for ScheduleProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

impl std::error::Error for ScheduleProblem {}

fn problem(field: impl Into<String>, message: impl Into<String>) -> ScheduleProblem {
    ScheduleProblem {
        field: field.into(),
        message: message.into(),
    }
}

impl Shifts {
    /// Checks `s` and prepares it for the questions routing asks.
    pub fn parse(s: &WorkSchedule) -> Result<Shifts, ScheduleProblem> {
        let tz = TimeZone::get(&s.time_zone).map_err(|_| {
            problem(
                "schedule.time_zone",
                format!(
                    "{} is not a known IANA time zone name; use one such as \
                     Europe/Berlin or America/New_York",
                    quoted(&s.time_zone)
                ),
            )
        })?;

        if s.hours.len() > MAX_STRETCHES {
            return Err(problem(
                "schedule.hours",
                format!(
                    "has {} stretches; at most {MAX_STRETCHES} are accepted \
                     (join stretches that touch into one)",
                    s.hours.len()
                ),
            ));
        }
        let mut stretches: Vec<(usize, u16, u16)> = Vec::with_capacity(s.hours.len());
        for (i, h) in s.hours.iter().enumerate() {
            let day = day_index(h.day);
            let start = parse_hhmm(&h.start, false).ok_or_else(|| {
                problem(
                    format!("schedule.hours[{i}].start"),
                    format!(
                        "{} is not a time of day; write HH:MM from 00:00 to 23:59",
                        quoted(&h.start)
                    ),
                )
            })?;
            let end = parse_hhmm(&h.end, true).ok_or_else(|| {
                problem(
                    format!("schedule.hours[{i}].end"),
                    format!(
                        "{} is not a time of day; write HH:MM from 00:01 to 24:00 \
                         (24:00 is the end of the day)",
                        quoted(&h.end)
                    ),
                )
            })?;
            if start >= end {
                let message = if end == 0 {
                    format!(
                        "is 00:00, before the start {}; write the end of the day as 24:00",
                        h.start
                    )
                } else if start == end {
                    format!(
                        "is the same as the start {}; a stretch must end after it starts",
                        h.start
                    )
                } else {
                    format!(
                        "{} is before the start {}; write a shift across midnight as two \
                         stretches, e.g. {} {}–24:00 and {} 00:00–{}",
                        h.end,
                        h.start,
                        DAY_NAMES[day],
                        h.start,
                        DAY_NAMES[(day + 1) % 7],
                        h.end
                    )
                };
                return Err(problem(format!("schedule.hours[{i}].end"), message));
            }
            if let Some(j) = stretches
                .iter()
                .position(|&(d, s, e)| d == day && s < end && start < e)
            {
                let other = &s.hours[j];
                return Err(problem(
                    format!("schedule.hours[{i}]"),
                    format!(
                        "{} {}–{} overlaps schedule.hours[{j}] ({} {}–{}); stretches of \
                         one day may touch (09:00–12:00 and 12:00–17:00) but not overlap",
                        DAY_NAMES[day], h.start, h.end, DAY_NAMES[day], other.start, other.end
                    ),
                ));
            }
            stretches.push((day, start, end));
        }
        let mut week: [Vec<(u16, u16)>; 7] = Default::default();
        stretches.sort_unstable();
        for (day, start, end) in stretches {
            match week[day].last_mut() {
                Some(last) if last.1 == start => last.1 = end,
                _ => week[day].push((start, end)),
            }
        }

        if s.absences.len() > MAX_ABSENCES {
            return Err(problem(
                "schedule.absences",
                format!(
                    "has {} absences; at most {MAX_ABSENCES} are accepted \
                     (remove ones that are over)",
                    s.absences.len()
                ),
            ));
        }
        let mut absences = Vec::with_capacity(s.absences.len());
        for (i, a) in s.absences.iter().enumerate() {
            let date = |field: &str, value: &str| {
                parse_date(value).ok_or_else(|| {
                    problem(
                        format!("schedule.absences[{i}].{field}"),
                        format!(
                            "{} is not a date; write YYYY-MM-DD, e.g. 2027-08-02",
                            quoted(value)
                        ),
                    )
                })
            };
            let from = date("from", &a.from)?;
            let to = date("to", &a.to)?;
            if to < from {
                return Err(problem(
                    format!("schedule.absences[{i}].to"),
                    format!(
                        "{} is before from {}; an absence runs from its first day \
                         to its last, both included",
                        a.to, a.from
                    ),
                ));
            }
            let days = to.duration_since(from).as_secs() / 86_400 + 1;
            if days > MAX_ABSENCE_DAYS {
                return Err(problem(
                    format!("schedule.absences[{i}].to"),
                    format!(
                        "makes the absence {days} days long; at most {MAX_ABSENCE_DAYS} \
                         are accepted in one, so split a longer one"
                    ),
                ));
            }
            if let Some(note) = &a.note {
                let len = note.chars().count();
                if len > MAX_NOTE_CHARS {
                    return Err(problem(
                        format!("schedule.absences[{i}].note"),
                        format!("is {len} characters long; at most {MAX_NOTE_CHARS} are accepted"),
                    ));
                }
            }
            absences.push((from, to));
        }
        absences.sort_unstable();
        let mut merged: Vec<(Date, Date)> = Vec::with_capacity(absences.len());
        for (from, to) in absences {
            match merged.last_mut() {
                Some(last) if from <= last.1 || last.1.tomorrow().is_ok_and(|d| d == from) => {
                    last.1 = last.1.max(to)
                }
                _ => merged.push((from, to)),
            }
        }

        Ok(Shifts {
            tz,
            has_hours: week.iter().any(|d| !d.is_empty()),
            week,
            absences: merged,
        })
    }

    /// Where the rep stands at `t`. Absent wins over hours; with no hours
    /// the rep is on shift whenever not absent.
    pub fn state_at(&self, t: Timestamp) -> ShiftState {
        let ms = clamp_ms(t.millis());
        let local = self.tz.to_datetime(jiff_ts(ms));
        if self.steady_around(ms) {
            return self.local_state(local);
        }
        // Near a DST change the local clock is not real time: decide on the
        // real instants of the local day that holds `t`.
        match self.plan_containing(ms, local.date()) {
            Some(plan) => plan.state_at(ms),
            None => self.local_state(local),
        }
    }

    /// The first instant at or after `t` when the rep is on shift (t itself
    /// if on shift); None if never within 400 days.
    pub fn next_on_shift(&self, t: Timestamp) -> Option<Timestamp> {
        if self.state_at(t) == ShiftState::OnShift {
            return Some(t);
        }
        let from = clamp_ms(t.millis());
        let until = from.saturating_add(HORIZON_MS);
        self.changes(from, until)
            .find(|&(at, state)| at > from && state == ShiftState::OnShift)
            .map(|(at, _)| at)
            // `t` past jiff's last year was clamped back; nothing is after it.
            .filter(|&at| at <= until && at > t.millis())
            .map(Timestamp::from_millis)
    }

    /// The next instant strictly after `t` at which state_at changes (a
    /// stretch starts or ends, an absence starts or ends); None if none
    /// within 400 days.
    pub fn next_change_after(&self, t: Timestamp) -> Option<Timestamp> {
        let from = clamp_ms(t.millis());
        let until = from.saturating_add(HORIZON_MS);
        self.changes(from, until)
            .find(|&(at, _)| at > from)
            .map(|(at, _)| at)
            // `t` past jiff's last year was clamped back; nothing is after it.
            .filter(|&at| at <= until && at > t.millis())
            .map(Timestamp::from_millis)
    }

    /// `from` plus `millis` of on-shift time (time off shift or absent does
    /// not count): the business-hours SLA deadline. With no hours and no
    /// absences this is plain addition. If the budget cannot be spent within
    /// 400 days, fall back to plain addition.
    ///
    /// A budget of zero or less is plain addition too: there is nothing to
    /// spend, and a deadline should not move forward to the next shift.
    pub fn add_working_time(&self, from: Timestamp, millis: i64) -> Timestamp {
        let plain = from.plus_millis(millis);
        if millis <= 0 || (!self.has_hours && self.absences.is_empty()) {
            return plain;
        }
        let start = from.millis();
        if start != clamp_ms(start) {
            return plain;
        }
        let until = start.saturating_add(HORIZON_MS);
        let mut left = millis;
        let mut on_since = None;
        let mut changes = self.changes(start, until);
        for (at, state) in changes.by_ref() {
            let spent = on_since
                .take()
                .and_then(|since| spend(&mut left, since, at, start, until));
            if let Some(due) = spent {
                return due;
            }
            if state == ShiftState::OnShift {
                on_since = Some(at);
            }
        }
        // On shift when the walk stopped: on until at least the end of the
        // last day it looked at.
        on_since
            .and_then(|since| spend(&mut left, since, changes.seen_until, start, until))
            .unwrap_or(plain)
    }

    /// Whether no offset change happens within [`STEADY_MS`] of `ms`: then
    /// the local day around it is 24 real hours and its clock times map
    /// one to one onto instants, so plain clock arithmetic is exact.
    fn steady_around(&self, ms: i64) -> bool {
        match self
            .tz
            .following(jiff_ts(ms.saturating_sub(STEADY_MS)))
            .next()
        {
            None => true,
            Some(change) => change.timestamp().as_millisecond() > ms.saturating_add(STEADY_MS),
        }
    }

    /// The state by the local clock alone; exact when [`Self::steady_around`].
    fn local_state(&self, local: DateTime) -> ShiftState {
        let day = local.date();
        if self.is_absent(day) {
            return ShiftState::Absent;
        }
        if !self.has_hours {
            return ShiftState::OnShift;
        }
        let into_day = i64::from(local.hour()) * HOUR_MS
            + i64::from(local.minute()) * MINUTE_MS
            + i64::from(local.second()) * 1000
            + i64::from(local.millisecond());
        let on = self.week[weekday_index(day)].iter().any(|&(s, e)| {
            i64::from(s) * MINUTE_MS <= into_day && into_day < i64::from(e) * MINUTE_MS
        });
        if on {
            ShiftState::OnShift
        } else {
            ShiftState::OffShift
        }
    }

    fn is_absent(&self, day: Date) -> bool {
        let i = self.absences.partition_point(|&(_, to)| to < day);
        self.absences.get(i).is_some_and(|&(from, _)| from <= day)
    }

    /// For a schedule without hours, the next day after `day` whose state
    /// differs from the one before: where an absence starts, or the day after
    /// it ends; None if the state stays as it is from `day` on.
    fn next_eventful_day(&self, day: Date) -> Option<Date> {
        let i = self.absences.partition_point(|&(_, to)| to < day);
        match self.absences.get(i) {
            Some(&(from, to)) if from <= day => to.tomorrow().ok(),
            Some(&(from, _)) => Some(from),
            None => None,
        }
    }

    /// The instant of `minute` (up to 1440, the next midnight) of local
    /// `day`, in milliseconds; None outside the years jiff supports.
    fn instant(&self, day: Date, minute: u16) -> Option<i64> {
        let (day, minute) = if minute >= DAY_MINUTES {
            (day.tomorrow().ok()?, 0)
        } else {
            (day, minute)
        };
        let at = day.at((minute / 60) as i8, (minute % 60) as i8, 0, 0);
        // `to_timestamp` resolves a skipped or repeated local time the
        // compatible way: after a gap, the first of a fold.
        self.tz.to_timestamp(at).ok().map(|ts| ts.as_millisecond())
    }

    /// Local `day` in real instants.
    fn day_plan(&self, day: Date) -> Option<DayPlan> {
        let start = self.instant(day, 0)?;
        let end = self.instant(day, DAY_MINUTES)?.max(start);
        let base = if self.is_absent(day) {
            ShiftState::Absent
        } else if self.has_hours {
            ShiftState::OffShift
        } else {
            ShiftState::OnShift
        };
        let mut plan = DayPlan {
            start,
            end,
            base,
            on: [(0, 0); MAX_STRETCHES],
            len: 0,
        };
        if base != ShiftState::OffShift {
            return Some(plan);
        }
        for &(s, e) in &self.week[weekday_index(day)] {
            // Kept inside the day so that days never overlap, whatever a
            // DST change does to the stretch's ends.
            let a = self.instant(day, s)?.max(start);
            let b = self.instant(day, e)?.min(end);
            if a < b {
                plan.on[plan.len] = (a, b);
                plan.len += 1;
            }
        }
        // A stretch starting in a DST gap is pushed past it and can run into
        // the next one, so the intervals are sorted and merged again.
        plan.on[..plan.len].sort_unstable();
        let mut n = 0;
        for i in 0..plan.len {
            let (a, b) = plan.on[i];
            if n > 0 && a <= plan.on[n - 1].1 {
                plan.on[n - 1].1 = plan.on[n - 1].1.max(b);
            } else {
                plan.on[n] = (a, b);
                n += 1;
            }
        }
        plan.len = n;
        Some(plan)
    }

    /// The plan of the local day whose real instants hold `ms`, starting from
    /// the local calendar date, which can be a day off around a DST change
    /// at midnight.
    fn plan_containing(&self, ms: i64, guess: Date) -> Option<DayPlan> {
        let mut day = guess;
        for _ in 0..3 {
            let plan = self.day_plan(day)?;
            if ms < plan.start {
                day = day.yesterday().ok()?;
            } else if ms >= plan.end {
                day = day.tomorrow().ok()?;
            } else {
                return Some(plan);
            }
        }
        None
    }

    /// The changes of state from the local day before `from` (so the first
    /// one is at or before `from`) through the day holding `until`.
    fn changes(&self, from: i64, until: i64) -> Changes<'_> {
        let date = self.tz.to_datetime(jiff_ts(from)).date();
        Changes {
            shifts: self,
            day: Some(date.yesterday().unwrap_or(date)),
            until,
            plan: None,
            next_segment: 0,
            floor: i64::MIN,
            pending: None,
            last: None,
            seen_until: from,
            days_left: HORIZON_DAYS as u32 + 4,
        }
    }
}

/// Spends the budget on the on-shift span `since..end`, as far as it lies
/// within `start..until`; the deadline if the budget runs out in it.
fn spend(left: &mut i64, since: i64, end: i64, start: i64, until: i64) -> Option<Timestamp> {
    let (a, b) = (since.max(start), end.min(until));
    if b <= a {
        return None;
    }
    if *left <= b - a {
        return Some(Timestamp::from_millis(a + *left));
    }
    *left -= b - a;
    None
}

/// One local day in real instants (milliseconds since the epoch).
struct DayPlan {
    start: i64,
    end: i64,
    /// The state outside `on`.
    base: ShiftState,
    /// On-shift intervals, sorted, disjoint and not touching; a fixed array
    /// so that `state_at` near a DST change still does not allocate.
    on: [(i64, i64); MAX_STRETCHES],
    len: usize,
}

impl DayPlan {
    fn on(&self) -> &[(i64, i64)] {
        &self.on[..self.len]
    }

    fn state_at(&self, ms: i64) -> ShiftState {
        if self.on().iter().any(|&(a, b)| a <= ms && ms < b) {
            ShiftState::OnShift
        } else {
            self.base
        }
    }

    /// The day's `i`th segment: the day's start, then each interval's start
    /// and end, with the state from there on.
    fn segment(&self, i: usize) -> Option<(i64, ShiftState)> {
        if i == 0 {
            return Some((self.start, self.base));
        }
        let (a, b) = *self.on().get((i - 1) / 2)?;
        Some(if i % 2 == 1 {
            (a, ShiftState::OnShift)
        } else {
            (b, self.base)
        })
    }
}

/// Day by day, the instants where the state really changes: of segments at
/// the same instant only the last counts (a stretch ending at 24:00 and one
/// starting at 00:00 are continuous), and one that keeps the state is no
/// change (off shift at the end of a day and the start of the next).
struct Changes<'a> {
    shifts: &'a Shifts,
    day: Option<Date>,
    until: i64,
    plan: Option<DayPlan>,
    next_segment: usize,
    /// Keeps segments in order even if a zone's days were to overlap.
    floor: i64,
    pending: Option<(i64, ShiftState)>,
    last: Option<ShiftState>,
    /// The end of the last day planned: how far the walk has seen.
    seen_until: i64,
    days_left: u32,
}

impl Changes<'_> {
    fn segment(&mut self) -> Option<(i64, ShiftState)> {
        loop {
            let next = self
                .plan
                .as_ref()
                .and_then(|p| p.segment(self.next_segment));
            if let Some((at, state)) = next {
                self.next_segment += 1;
                self.floor = self.floor.max(at);
                return Some((self.floor, state));
            }
            let day = self.day?;
            // However the walk started, it ends: at most the horizon's days
            // and the few around it.
            self.days_left = self.days_left.checked_sub(1)?;
            let plan = self.shifts.day_plan(day);
            if let Some(p) = &plan {
                // The state of the last day planned holds until this one.
                self.seen_until = self.seen_until.max(p.start);
            }
            let Some(plan) = plan.filter(|p| p.start <= self.until) else {
                self.day = None;
                self.plan = None;
                return None;
            };
            self.seen_until = plan.end;
            self.day = if self.shifts.has_hours {
                day.tomorrow().ok()
            } else {
                // Without hours only absences change anything, so the days
                // between them need no plan: this keeps a rep who is always
                // on shift from costing 400 days of walking per question.
                match self.shifts.next_eventful_day(day) {
                    Some(next) => Some(next),
                    None => {
                        self.seen_until = i64::MAX;
                        None
                    }
                }
            };
            self.plan = Some(plan);
            self.next_segment = 0;
        }
    }
}

impl Iterator for Changes<'_> {
    type Item = (i64, ShiftState);

    fn next(&mut self) -> Option<(i64, ShiftState)> {
        loop {
            let next = self.segment();
            let ready = match (self.pending, next) {
                (Some(p), Some(n)) if n.0 > p.0 => {
                    self.pending = Some(n);
                    p
                }
                (_, Some(n)) => {
                    self.pending = Some(n);
                    continue;
                }
                (Some(p), None) => {
                    self.pending = None;
                    p
                }
                (None, None) => return None,
            };
            if self.last != Some(ready.1) {
                self.last = Some(ready.1);
                return Some(ready);
            }
        }
    }
}

const DAY_NAMES: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];

fn day_index(day: Weekday) -> usize {
    match day {
        Weekday::Mon => 0,
        Weekday::Tue => 1,
        Weekday::Wed => 2,
        Weekday::Thu => 3,
        Weekday::Fri => 4,
        Weekday::Sat => 5,
        Weekday::Sun => 6,
    }
}

fn weekday_index(day: Date) -> usize {
    day.weekday().to_monday_zero_offset() as usize
}

/// Minutes of the day from `HH:MM`; `24:00` (1440) only for an end.
fn parse_hhmm(s: &str, is_end: bool) -> Option<u16> {
    let b = s.as_bytes();
    if b.len() != 5 || b[2] != b':' {
        return None;
    }
    let h = two_digits(b[0], b[1])?;
    let m = two_digits(b[3], b[4])?;
    match (h, m) {
        (24, 0) if is_end => Some(DAY_MINUTES),
        (0..=23, 0..=59) => Some(h * 60 + m),
        _ => None,
    }
}

fn two_digits(a: u8, b: u8) -> Option<u16> {
    (a.is_ascii_digit() && b.is_ascii_digit())
        .then(|| u16::from(a - b'0') * 10 + u16::from(b - b'0'))
}

/// A date from exactly `YYYY-MM-DD`; jiff's own parser also takes other
/// forms (`+002027-08-02`), which the protocol does not promise.
fn parse_date(s: &str) -> Option<Date> {
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let year = i16::try_from(two_digits(b[0], b[1])? * 100 + two_digits(b[2], b[3])?).ok()?;
    let month = two_digits(b[5], b[6])? as i8;
    let day = two_digits(b[8], b[9])? as i8;
    Date::new(year, month, day).ok()
}

/// A value for an error message: quoted, and cut short so a huge field
/// does not make a huge message.
fn quoted(s: &str) -> String {
    const MAX: usize = 60;
    if s.chars().count() <= MAX {
        format!("{s:?}")
    } else {
        let cut: String = s.chars().take(MAX).collect();
        format!("{cut:?}…")
    }
}

/// `ms` within the instants jiff represents (years -9999 to 9999, less a
/// day at either end so that any offset still gives a civil date), in whole
/// seconds so that `from_millisecond` takes both ends.
fn clamp_ms(ms: i64) -> i64 {
    ms.clamp(
        (jiff::Timestamp::MIN.as_second() + 1) * 1000,
        (jiff::Timestamp::MAX.as_second() - 1) * 1000,
    )
}

fn jiff_ts(ms: i64) -> jiff::Timestamp {
    let ms = clamp_ms(ms);
    jiff::Timestamp::from_millisecond(ms).unwrap_or(if ms < 0 {
        jiff::Timestamp::MIN
    } else {
        jiff::Timestamp::MAX
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use ShiftState::{Absent, OffShift, OnShift};
    use baton_protocol::{Absence, WorkingHours};

    const WEEKDAYS: [Weekday; 5] = [
        Weekday::Mon,
        Weekday::Tue,
        Weekday::Wed,
        Weekday::Thu,
        Weekday::Fri,
    ];
    const ALL_DAYS: [Weekday; 7] = [
        Weekday::Mon,
        Weekday::Tue,
        Weekday::Wed,
        Weekday::Thu,
        Weekday::Fri,
        Weekday::Sat,
        Weekday::Sun,
    ];

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    fn hours(days: &[Weekday], start: &str, end: &str) -> Vec<WorkingHours> {
        days.iter()
            .map(|&day| WorkingHours {
                day,
                start: start.into(),
                end: end.into(),
            })
            .collect()
    }

    fn schedule(tz: &str, hours: Vec<WorkingHours>, absences: &[(&str, &str)]) -> WorkSchedule {
        WorkSchedule {
            time_zone: tz.into(),
            hours,
            absences: absences
                .iter()
                .map(|&(from, to)| Absence {
                    from: from.into(),
                    to: to.into(),
                    note: None,
                })
                .collect(),
        }
    }

    fn shifts(tz: &str, hours: Vec<WorkingHours>, absences: &[(&str, &str)]) -> Shifts {
        Shifts::parse(&schedule(tz, hours, absences)).unwrap()
    }

    fn office(tz: &str) -> Shifts {
        shifts(tz, hours(&WEEKDAYS, "09:00", "17:00"), &[])
    }

    #[test]
    fn the_same_instant_is_on_shift_in_one_zone_and_not_another() {
        let berlin = office("Europe/Berlin");
        let new_york = office("America/New_York");
        // Wednesday 2027-01-13; Berlin is UTC+1, New York UTC-5.
        let cases = [
            ("2027-01-13T10:00:00Z", OnShift, OffShift), // 11:00 / 05:00
            ("2027-01-13T15:30:00Z", OnShift, OnShift),  // 16:30 / 10:30
            ("2027-01-13T17:00:00Z", OffShift, OnShift), // 18:00 / 12:00
            ("2027-01-13T22:00:00Z", OffShift, OffShift), // 23:00 / 17:00
        ];
        for (at, in_berlin, in_new_york) in cases {
            assert_eq!(berlin.state_at(ts(at)), in_berlin, "Berlin at {at}");
            assert_eq!(new_york.state_at(ts(at)), in_new_york, "New York at {at}");
        }
    }

    #[test]
    fn local_hours_follow_summer_and_winter_time() {
        let berlin = office("Europe/Berlin");
        // Winter (CET, UTC+1): 09:00–17:00 is 08:00–16:00 UTC.
        assert_eq!(berlin.state_at(ts("2027-01-13T07:59:59.999Z")), OffShift);
        assert_eq!(berlin.state_at(ts("2027-01-13T08:00:00Z")), OnShift);
        assert_eq!(berlin.state_at(ts("2027-01-13T15:59:59.999Z")), OnShift);
        assert_eq!(berlin.state_at(ts("2027-01-13T16:00:00Z")), OffShift);
        // Summer (CEST, UTC+2): 07:00–15:00 UTC.
        assert_eq!(berlin.state_at(ts("2027-07-14T06:59:59.999Z")), OffShift);
        assert_eq!(berlin.state_at(ts("2027-07-14T07:00:00Z")), OnShift);
        assert_eq!(berlin.state_at(ts("2027-07-14T15:00:00Z")), OffShift);
        // The Monday after EU DST starts (2027-03-28): 09:00 CEST = 07:00 UTC.
        assert_eq!(
            berlin.next_on_shift(ts("2027-03-28T12:00:00Z")),
            Some(ts("2027-03-29T07:00:00Z"))
        );
        // The Friday before: 09:00 CET = 08:00 UTC.
        assert_eq!(berlin.state_at(ts("2027-03-26T07:30:00Z")), OffShift);
        assert_eq!(berlin.state_at(ts("2027-03-26T08:00:00Z")), OnShift);

        let new_york = office("America/New_York");
        // US DST starts 2027-03-14, two weeks before the EU's.
        assert_eq!(
            new_york.next_on_shift(ts("2027-03-07T12:00:00Z")),
            Some(ts("2027-03-08T14:00:00Z")),
            "Monday 09:00 EST"
        );
        assert_eq!(
            new_york.next_on_shift(ts("2027-03-14T12:00:00Z")),
            Some(ts("2027-03-15T13:00:00Z")),
            "Monday 09:00 EDT"
        );
        // Between the two changes the gap between the zones is 5 hours, not 6.
        let t = ts("2027-03-17T13:30:00Z"); // 14:30 CET, 09:30 EDT
        assert_eq!(berlin.state_at(t), OnShift);
        assert_eq!(new_york.state_at(t), OnShift);
        let t = ts("2027-01-13T13:30:00Z"); // 14:30 CET, 08:30 EST
        assert_eq!(new_york.state_at(t), OffShift);
    }

    #[test]
    fn working_time_sla_skips_the_weekend() {
        let berlin = shifts("Europe/Berlin", hours(&WEEKDAYS, "09:00", "19:00"), &[]);
        // Friday 2027-01-15 18:55 CET + 1 h of working time = Monday 09:55 CET.
        assert_eq!(
            berlin.add_working_time(ts("2027-01-15T17:55:00Z"), HOUR_MS),
            ts("2027-01-18T08:55:00Z")
        );
        // Within the day it is plain addition, up to the end of the shift.
        assert_eq!(
            berlin.add_working_time(ts("2027-01-15T10:00:00Z"), HOUR_MS),
            ts("2027-01-15T11:00:00Z")
        );
        assert_eq!(
            berlin.add_working_time(ts("2027-01-15T17:00:00Z"), HOUR_MS),
            ts("2027-01-15T18:00:00Z"),
            "a budget spent exactly at 19:00 is due at 19:00"
        );
        // Starting off shift, the clock starts with the shift.
        assert_eq!(
            berlin.add_working_time(ts("2027-01-16T12:00:00Z"), 30 * MINUTE_MS),
            ts("2027-01-18T08:30:00Z")
        );
        // Two and a half working days.
        assert_eq!(
            berlin.add_working_time(ts("2027-01-14T08:00:00Z"), 25 * HOUR_MS),
            ts("2027-01-18T13:00:00Z")
        );
        // Nothing to spend: plain addition.
        let friday_night = ts("2027-01-15T21:00:00Z");
        assert_eq!(berlin.add_working_time(friday_night, 0), friday_night);
        assert_eq!(
            berlin.add_working_time(friday_night, -MINUTE_MS),
            friday_night.plus_millis(-MINUTE_MS)
        );
    }

    #[test]
    fn working_time_sla_across_the_spring_forward_weekend() {
        let berlin = shifts("Europe/Berlin", hours(&WEEKDAYS, "09:00", "19:00"), &[]);
        // Friday 2027-03-26 18:55 CET; clocks go forward on Sunday the 28th.
        // Monday 2027-03-29 09:55 CEST is 07:55 UTC.
        assert_eq!(
            berlin.add_working_time(ts("2027-03-26T17:55:00Z"), HOUR_MS),
            ts("2027-03-29T07:55:00Z")
        );
        // And back in autumn (2027-10-31): Friday 18:55 CEST to Monday 09:55 CET.
        assert_eq!(
            berlin.add_working_time(ts("2027-10-29T16:55:00Z"), HOUR_MS),
            ts("2027-11-01T08:55:00Z")
        );
        // US DST (2027-03-14) moves New York's Monday the same way.
        let new_york = shifts("America/New_York", hours(&WEEKDAYS, "09:00", "19:00"), &[]);
        assert_eq!(
            new_york.add_working_time(ts("2027-03-12T23:55:00Z"), HOUR_MS),
            ts("2027-03-15T13:55:00Z")
        );
    }

    #[test]
    fn stretches_on_dst_nights_last_real_time() {
        let night = |tz| shifts(tz, hours(&[Weekday::Sun], "01:00", "04:00"), &[]);
        let berlin = night("Europe/Berlin");
        // Spring forward, 2027-03-28 02:00 CET -> 03:00 CEST: 01:00 CET is
        // 00:00 UTC and 04:00 CEST 02:00 UTC, two real hours.
        let start = ts("2027-03-28T00:00:00Z");
        assert_eq!(berlin.state_at(start), OnShift);
        assert_eq!(
            berlin.next_change_after(start),
            Some(ts("2027-03-28T02:00:00Z"))
        );
        assert_eq!(
            berlin.add_working_time(start, 2 * HOUR_MS),
            ts("2027-03-28T02:00:00Z")
        );
        // One millisecond more spills into the next Sunday, whose 01:00 CEST
        // is 23:00 UTC on Saturday.
        assert_eq!(
            berlin.add_working_time(start, 2 * HOUR_MS + 1),
            ts("2027-04-03T23:00:00.001Z")
        );
        // Fall back, 2027-10-31 03:00 CEST -> 02:00 CET: 01:00 CEST is 23:00
        // UTC on Saturday and 04:00 CET 03:00 UTC, four real hours.
        let start = ts("2027-10-30T23:00:00Z");
        assert_eq!(berlin.state_at(start), OnShift);
        assert_eq!(berlin.state_at(ts("2027-10-30T22:59:59.999Z")), OffShift);
        assert_eq!(
            berlin.next_change_after(start),
            Some(ts("2027-10-31T03:00:00Z"))
        );
        assert_eq!(
            berlin.add_working_time(start, 4 * HOUR_MS),
            ts("2027-10-31T03:00:00Z")
        );
    }

    #[test]
    fn a_local_time_the_clock_skips_resolves_after_the_gap() {
        // 02:30 does not exist on 2027-03-28 in Berlin; compatible
        // disambiguation reads it with the offset before the gap, which is
        // 01:30 UTC (03:30 CEST).
        let berlin = shifts(
            "Europe/Berlin",
            hours(&[Weekday::Sun], "02:30", "05:00"),
            &[],
        );
        assert_eq!(berlin.state_at(ts("2027-03-28T01:15:00Z")), OffShift);
        assert_eq!(berlin.state_at(ts("2027-03-28T01:30:00Z")), OnShift);
        assert_eq!(
            berlin.next_on_shift(ts("2027-03-28T00:00:00Z")),
            Some(ts("2027-03-28T01:30:00Z"))
        );
        assert_eq!(
            berlin.next_change_after(ts("2027-03-28T01:30:00Z")),
            Some(ts("2027-03-28T03:00:00Z")),
            "ends at 05:00 CEST"
        );
        // The Sunday after, an ordinary one: 02:30 CEST is 00:30 UTC.
        assert_eq!(
            berlin.next_on_shift(ts("2027-03-29T00:00:00Z")),
            Some(ts("2027-04-04T00:30:00Z"))
        );
    }

    #[test]
    fn an_absence_takes_the_whole_local_day() {
        let berlin = shifts(
            "Europe/Berlin",
            hours(&WEEKDAYS, "09:00", "17:00"),
            &[("2027-01-18", "2027-01-19")],
        );
        // Monday and Tuesday away, midnight to midnight in Berlin.
        assert_eq!(berlin.state_at(ts("2027-01-17T22:59:59.999Z")), OffShift);
        assert_eq!(berlin.state_at(ts("2027-01-17T23:00:00Z")), Absent);
        assert_eq!(berlin.state_at(ts("2027-01-18T10:00:00Z")), Absent);
        assert_eq!(berlin.state_at(ts("2027-01-19T22:59:59.999Z")), Absent);
        assert_eq!(berlin.state_at(ts("2027-01-19T23:00:00Z")), OffShift);
        // Back on Wednesday 09:00 CET.
        assert_eq!(
            berlin.next_on_shift(ts("2027-01-15T17:00:00Z")),
            Some(ts("2027-01-20T08:00:00Z"))
        );
        assert_eq!(
            berlin.next_change_after(ts("2027-01-16T12:00:00Z")),
            Some(ts("2027-01-17T23:00:00Z")),
            "the absence starts at local midnight"
        );
        assert_eq!(
            berlin.next_change_after(ts("2027-01-17T23:00:00Z")),
            Some(ts("2027-01-19T23:00:00Z")),
            "and ends at the midnight after its last day"
        );
        // The SLA clock does not run while away.
        assert_eq!(
            berlin.add_working_time(ts("2027-01-15T15:30:00Z"), HOUR_MS),
            ts("2027-01-20T08:30:00Z")
        );
    }

    #[test]
    fn absences_that_touch_or_overlap_are_one() {
        let s = shifts(
            "UTC",
            vec![],
            &[
                ("2027-05-10", "2027-05-12"),
                ("2027-05-13", "2027-05-13"),
                ("2027-05-01", "2027-05-11"),
            ],
        );
        assert_eq!(
            s.next_change_after(ts("2027-05-01T00:00:00Z")),
            Some(ts("2027-05-14T00:00:00Z"))
        );
        assert_eq!(
            s.next_on_shift(ts("2027-05-05T00:00:00Z")),
            Some(ts("2027-05-14T00:00:00Z"))
        );
    }

    #[test]
    fn next_change_after_gives_stretch_starts_and_ends() {
        let berlin = office("Europe/Berlin");
        let next = |at| berlin.next_change_after(ts(at));
        // Wednesday 2027-01-13.
        assert_eq!(
            next("2027-01-13T05:00:00Z"),
            Some(ts("2027-01-13T08:00:00Z"))
        );
        assert_eq!(
            next("2027-01-13T08:00:00Z"),
            Some(ts("2027-01-13T16:00:00Z")),
            "strictly after: from a start, the end"
        );
        assert_eq!(
            next("2027-01-13T16:00:00Z"),
            Some(ts("2027-01-14T08:00:00Z"))
        );
        // Friday's end to Monday's start.
        assert_eq!(
            next("2027-01-15T16:00:00Z"),
            Some(ts("2027-01-18T08:00:00Z"))
        );

        // Touching stretches are one; so are a 24:00 end and a 00:00 start.
        let mut split = hours(&WEEKDAYS, "09:00", "12:00");
        split.extend(hours(&WEEKDAYS, "12:00", "17:00"));
        split.extend(hours(&[Weekday::Fri], "20:00", "24:00"));
        split.extend(hours(&[Weekday::Sat], "00:00", "02:00"));
        let s = shifts("Europe/Berlin", split, &[]);
        assert_eq!(
            s.next_change_after(ts("2027-01-13T10:00:00Z")),
            Some(ts("2027-01-13T16:00:00Z"))
        );
        assert_eq!(
            s.next_change_after(ts("2027-01-15T19:00:00Z")),
            Some(ts("2027-01-16T01:00:00Z")),
            "Friday 20:00 to Saturday 02:00 CET without a break at midnight"
        );
        assert_eq!(s.state_at(ts("2027-01-15T23:00:00Z")), OnShift);
    }

    #[test]
    fn no_hours_means_always_on_shift() {
        let s = shifts("America/New_York", vec![], &[]);
        for at in [
            "2027-01-13T03:00:00Z",
            "2027-03-14T07:30:00Z",
            "2027-07-04T23:59:59.999Z",
        ] {
            assert_eq!(s.state_at(ts(at)), OnShift, "{at}");
            assert_eq!(s.next_on_shift(ts(at)), Some(ts(at)));
            assert_eq!(s.next_change_after(ts(at)), None);
        }
        let t = ts("2027-01-15T22:00:00Z");
        assert_eq!(s.add_working_time(t, 3 * DAY_MS), t.plus_millis(3 * DAY_MS));

        // Absences far off or long past change nothing nearer.
        let s = shifts(
            "UTC",
            vec![],
            &[("2026-01-01", "2026-01-02"), ("2029-06-01", "2029-06-01")],
        );
        let t = ts("2027-01-01T00:00:00Z");
        assert_eq!(s.state_at(t), OnShift);
        assert_eq!(s.next_change_after(t), None, "beyond 400 days");
        assert_eq!(
            s.add_working_time(t, 40 * DAY_MS),
            t.plus_millis(40 * DAY_MS)
        );
        let s = shifts("UTC", vec![], &[("2027-01-31", "2027-01-31")]);
        assert_eq!(
            s.add_working_time(t, 40 * DAY_MS),
            ts("2027-02-11T00:00:00Z"),
            "a day longer for the day away"
        );

        // With an absence, only the absent day (New York's) does not count.
        let s = shifts("America/New_York", vec![], &[("2027-01-16", "2027-01-16")]);
        assert_eq!(s.state_at(ts("2027-01-16T04:59:59Z")), OnShift);
        assert_eq!(s.state_at(ts("2027-01-16T05:00:00Z")), Absent);
        assert_eq!(
            s.next_on_shift(ts("2027-01-16T12:00:00Z")),
            Some(ts("2027-01-17T05:00:00Z"))
        );
        assert_eq!(
            s.next_change_after(ts("2027-01-10T00:00:00Z")),
            Some(ts("2027-01-16T05:00:00Z"))
        );
        assert_eq!(
            s.add_working_time(ts("2027-01-15T22:00:00Z"), 8 * HOUR_MS),
            ts("2027-01-17T06:00:00Z"),
            "7 h before the absence, 1 h after"
        );
    }

    #[test]
    fn nothing_within_400_days() {
        // Away for a year after the next working day, twice in a row.
        let s = shifts(
            "UTC",
            hours(&[Weekday::Mon], "09:00", "10:00"),
            &[("2027-01-01", "2027-12-31"), ("2028-01-01", "2028-12-30")],
        );
        let t = ts("2027-01-01T00:00:00Z");
        assert_eq!(s.next_on_shift(t), None);
        assert_eq!(s.add_working_time(t, HOUR_MS), t.plus_millis(HOUR_MS));
        assert_eq!(s.next_change_after(t), None);
        // The day after the absences it comes back.
        assert_eq!(
            s.next_on_shift(ts("2028-06-01T00:00:00Z")),
            Some(ts("2029-01-01T09:00:00Z"))
        );
    }

    #[test]
    fn instants_far_outside_jiffs_years_do_not_panic() {
        let s = office("Europe/Berlin");
        for t in [
            Timestamp::from_millis(i64::MIN),
            Timestamp::from_millis(i64::MAX),
        ] {
            let _ = s.state_at(t);
            let _ = s.next_on_shift(t);
            let _ = s.next_change_after(t);
            assert_eq!(s.add_working_time(t, HOUR_MS), t.plus_millis(HOUR_MS));
        }
        // The walks stop at the end of jiff's years rather than run on.
        assert_eq!(s.next_on_shift(ts("9999-12-31T12:00:00Z")), None);
        assert_eq!(s.next_change_after(ts("9999-12-31T12:00:00Z")), None);
        let _ = s.add_working_time(ts("9999-12-30T12:00:00Z"), 5 * DAY_MS);
    }

    fn parse_error(s: WorkSchedule) -> ScheduleProblem {
        Shifts::parse(&s).expect_err("should not parse")
    }

    #[test]
    fn every_parse_problem_names_its_field() {
        let ok_hours = || hours(&[Weekday::Mon], "09:00", "17:00");
        let cases: Vec<(WorkSchedule, &str, &str)> = vec![
            (
                schedule("Mars/Olympus_Mons", ok_hours(), &[]),
                "schedule.time_zone",
                "IANA",
            ),
            (schedule("", ok_hours(), &[]), "schedule.time_zone", "IANA"),
            (
                schedule("UTC", hours(&[Weekday::Mon], "9:00", "17:00"), &[]),
                "schedule.hours[0].start",
                "HH:MM",
            ),
            (
                schedule("UTC", hours(&[Weekday::Mon], "24:00", "24:00"), &[]),
                "schedule.hours[0].start",
                "00:00 to 23:59",
            ),
            (
                schedule("UTC", hours(&[Weekday::Mon], "09:60", "17:00"), &[]),
                "schedule.hours[0].start",
                "HH:MM",
            ),
            (
                schedule("UTC", hours(&[Weekday::Mon], "09:00", "24:01"), &[]),
                "schedule.hours[0].end",
                "24:00",
            ),
            (
                schedule("UTC", hours(&[Weekday::Mon], "09:00", "5pm"), &[]),
                "schedule.hours[0].end",
                "HH:MM",
            ),
            (
                schedule("UTC", hours(&[Weekday::Mon], "22:00", "06:00"), &[]),
                "schedule.hours[0].end",
                "two stretches, e.g. Mon 22:00–24:00 and Tue 00:00–06:00",
            ),
            (
                schedule("UTC", hours(&[Weekday::Sun], "09:00", "09:00"), &[]),
                "schedule.hours[0].end",
                "same as the start",
            ),
            (
                schedule("UTC", hours(&[Weekday::Fri], "22:00", "00:00"), &[]),
                "schedule.hours[0].end",
                "write the end of the day as 24:00",
            ),
            (
                schedule(
                    "UTC",
                    [ok_hours(), hours(&[Weekday::Mon], "16:00", "18:00")].concat(),
                    &[],
                ),
                "schedule.hours[1]",
                "overlaps schedule.hours[0]",
            ),
            (
                schedule("UTC", hours(&[Weekday::Mon; 29], "09:00", "10:00"), &[]),
                "schedule.hours",
                "at most 28",
            ),
            (
                schedule("UTC", ok_hours(), &[("2027-8-2", "2027-08-03")]),
                "schedule.absences[0].from",
                "YYYY-MM-DD",
            ),
            (
                schedule("UTC", ok_hours(), &[("2027-08-02", "2027-02-30")]),
                "schedule.absences[0].to",
                "YYYY-MM-DD",
            ),
            (
                schedule(
                    "UTC",
                    ok_hours(),
                    &[("2027-08-02", "2027-08-02"), ("2027-08-05", "2027-08-04")],
                ),
                "schedule.absences[1].to",
                "before from",
            ),
            (
                schedule("UTC", ok_hours(), &[("2027-01-01", "2028-01-02")]),
                "schedule.absences[0].to",
                "367 days",
            ),
            (
                schedule("UTC", ok_hours(), &[("2027-01-01", "2027-01-01"); 101]),
                "schedule.absences",
                "at most 100",
            ),
        ];
        for (s, field, says) in cases {
            let p = parse_error(s.clone());
            assert_eq!(p.field, field, "{s:?}: {p}");
            assert!(p.message.contains(says), "{field}: {:?}", p.message);
        }

        let mut long_note = schedule("UTC", ok_hours(), &[("2027-01-01", "2027-01-01")]);
        long_note.absences[0].note = Some("é".repeat(201));
        let p = parse_error(long_note.clone());
        assert_eq!(p.field, "schedule.absences[0].note");
        assert!(p.message.contains("201 characters"), "{}", p.message);
        long_note.absences[0].note = Some("é".repeat(200));
        assert!(Shifts::parse(&long_note).is_ok());
    }

    #[test]
    fn what_parses() {
        // Touching stretches, a full day, the largest counts, a leap-year absence.
        let mut h = hours(&ALL_DAYS, "00:00", "06:00");
        h.extend(hours(&ALL_DAYS, "06:00", "12:00"));
        h.extend(hours(&ALL_DAYS, "12:00", "18:00"));
        h.extend(hours(&ALL_DAYS, "18:00", "24:00"));
        let absences = vec![("2028-01-01", "2028-12-31"); MAX_ABSENCES];
        let s = shifts("Asia/Kolkata", h, &absences);
        assert_eq!(s.week[0], vec![(0, 1440)]);
        assert_eq!(s.absences.len(), 1);
        assert_eq!(s.state_at(ts("2027-06-01T00:00:00Z")), OnShift);
        assert_eq!(
            s.next_change_after(ts("2027-06-01T00:00:00Z")),
            Some(ts("2027-12-31T18:30:00Z"))
        );
        // Zone names as the IANA database spells them.
        for tz in [
            "UTC",
            "Etc/GMT+5",
            "America/Argentina/Buenos_Aires",
            "Asia/Kathmandu",
        ] {
            assert!(Shifts::parse(&schedule(tz, vec![], &[])).is_ok(), "{tz}");
        }
    }

    /// Walks a stretch of 2027 holding DST changes, a quarter hour at a time
    /// (every boundary below falls on one), and checks the answers against
    /// each other: `state_at` against `next_change_after`, `next_on_shift`
    /// and a minute-count of `add_working_time`. This is what holds the fast
    /// path of `state_at` to the real-instant walk.
    #[test]
    fn answers_agree_across_dst_changes() {
        const STEP: i64 = 15 * MINUTE_MS;
        const NIGHT_DAYS: [Weekday; 5] = [
            Weekday::Mon,
            Weekday::Wed,
            Weekday::Fri,
            Weekday::Sat,
            Weekday::Sun,
        ];
        // Touching stretches, and a weekend night across midnight.
        let mut office = hours(&WEEKDAYS, "08:00", "12:00");
        office.extend(hours(&WEEKDAYS, "12:00", "17:30"));
        office.extend(hours(&[Weekday::Sat], "22:00", "24:00"));
        office.extend(hours(&[Weekday::Sun], "00:00", "04:00"));
        office.extend(hours(&[Weekday::Sun], "23:00", "24:00"));
        // Stretches in and around the night-time DST changes of every zone
        // below, some of them inside a gap or a fold; the changes fall on
        // Sundays (Saturday midnight in Santiago).
        let mut nights = Vec::new();
        for (start, end) in [
            ("00:00", "00:30"),
            ("01:00", "02:00"),
            ("02:15", "02:45"),
            ("03:00", "03:30"),
            ("23:30", "24:00"),
        ] {
            nights.extend(hours(&NIGHT_DAYS, start, end));
        }
        let away = [
            ("2027-04-03", "2027-04-03"),
            ("2027-09-05", "2027-09-06"),
            ("2027-10-31", "2027-10-31"),
        ];
        let zones = [
            "Europe/Berlin",
            "America/New_York",
            "America/Santiago",
            "Australia/Lord_Howe",
            "Asia/Kolkata",
        ];
        // The weeks around each zone's changes, in spring and autumn.
        let periods = [
            ("2027-03-06T00:00:00Z", "2027-04-10T00:00:00Z"),
            ("2027-08-30T00:00:00Z", "2027-11-10T00:00:00Z"),
        ];
        for tz in zones {
            for (name, s) in [
                ("office", shifts(tz, office.clone(), &away)),
                ("nights", shifts(tz, nights.clone(), &[])),
                ("no hours", shifts(tz, vec![], &away)),
            ] {
                for (from, to) in periods {
                    let (from, to) = (ts(from).millis(), ts(to).millis());
                    let mut t = from;
                    while t < to {
                        let here = Timestamp::from_millis(t);
                        let state = s.state_at(here);
                        let change = s.next_change_after(here);
                        if let Some(c) = change {
                            assert!(c.millis() > t);
                            assert_ne!(
                                s.state_at(c),
                                state,
                                "{tz} {name}: change at {c} from {here}"
                            );
                            assert_eq!(
                                s.state_at(c.plus_millis(-1)),
                                state,
                                "{tz} {name}: {here} to {c}"
                            );
                            // No change is missed between `t` and `c`.
                            if c.millis() > t + STEP {
                                assert_eq!(
                                    s.state_at(here.plus_millis(STEP)),
                                    state,
                                    "{tz} {name} {here}"
                                );
                            }
                        } else {
                            assert_eq!(name, "no hours");
                        }
                        let on = s.next_on_shift(here).expect("within 400 days");
                        assert_eq!(s.state_at(on), OnShift, "{tz} {name} {here}");
                        if on != here {
                            assert_ne!(s.state_at(on.plus_millis(-1)), OnShift);
                            assert!(state != OnShift && change.is_some_and(|c| c <= on));
                        }
                        t += STEP;
                    }

                    // Deadlines against counting on-shift quarter hours, from a
                    // start every 13 h 15 min, for budgets of 1 to 34 of them (the
                    // Fibonacci ones, to keep the test quick).
                    let mut start = from;
                    while start < to {
                        let mut due_in = 0;
                        let mut at = start;
                        while due_in < 34 {
                            let on = s.state_at(Timestamp::from_millis(at)) == OnShift;
                            due_in += i64::from(on);
                            if on && [1, 2, 3, 5, 8, 13, 21, 34].contains(&due_in) {
                                assert_eq!(
                                    s.add_working_time(
                                        Timestamp::from_millis(start),
                                        due_in * STEP
                                    ),
                                    Timestamp::from_millis(at + STEP),
                                    "{tz} {name}: {} + {due_in} quarter hours",
                                    Timestamp::from_millis(start)
                                );
                            }
                            at += STEP;
                        }
                        start += 53 * STEP;
                    }
                }
            }
        }
    }
}
