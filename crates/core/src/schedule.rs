//! A rep's working hours and absences as a form sends them: tidied before
//! they go to the server, which checks them (and names the field at fault).

use baton_protocol::{Absence, Rep, WorkSchedule, WorkingHours};
use serde::{Deserialize, Serialize};

/// A rep's hours and absences as the settings show them.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "ts", ts(optional_fields = nullable))]
pub struct ScheduleView {
    /// `None`: no hours set, on shift whenever not away.
    pub schedule: Option<WorkSchedule>,
    /// Within their hours and not absent, now (as the server last said).
    pub on_shift: bool,
    /// The server could not be reached: this is the copy last seen.
    pub offline: bool,
}

impl ScheduleView {
    pub fn of(rep: &Rep, offline: bool) -> ScheduleView {
        ScheduleView {
            schedule: rep.schedule.clone(),
            on_shift: rep.on_shift,
            offline,
        }
    }
}

/// Trims what was typed; an absence's empty note is no note. Nothing is
/// reordered or dropped, so the server's field paths (`hours[2].end`) still
/// point at what the form shows.
pub fn tidy(s: WorkSchedule) -> WorkSchedule {
    WorkSchedule {
        time_zone: s.time_zone.trim().to_string(),
        hours: s
            .hours
            .into_iter()
            .map(|h| WorkingHours {
                day: h.day,
                start: h.start.trim().to_string(),
                end: h.end.trim().to_string(),
            })
            .collect(),
        absences: s
            .absences
            .into_iter()
            .map(|a| Absence {
                from: a.from.trim().to_string(),
                to: a.to.trim().to_string(),
                note: a
                    .note
                    .map(|n| n.trim().to_string())
                    .filter(|n| !n.is_empty()),
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use baton_protocol::Weekday;

    #[test]
    fn what_was_typed_is_trimmed_in_place() {
        let s = tidy(WorkSchedule {
            time_zone: " Europe/Berlin ".into(),
            hours: vec![
                WorkingHours {
                    day: Weekday::Tue,
                    start: " 09:00".into(),
                    end: "17:00 ".into(),
                },
                WorkingHours {
                    day: Weekday::Mon,
                    start: "9".into(),
                    end: "".into(),
                },
            ],
            absences: vec![
                Absence {
                    from: "2027-08-02 ".into(),
                    to: "2027-08-13".into(),
                    note: Some("  ".into()),
                },
                Absence {
                    from: "2027-12-24".into(),
                    to: "2027-12-26".into(),
                    note: Some(" Holidays ".into()),
                },
            ],
        });
        assert_eq!(s.time_zone, "Europe/Berlin");
        assert_eq!(
            (
                s.hours[0].day,
                s.hours[0].start.as_str(),
                s.hours[0].end.as_str()
            ),
            (Weekday::Tue, "09:00", "17:00")
        );
        // Left for the server to refuse, at the index the form shows.
        assert_eq!(
            (s.hours[1].start.as_str(), s.hours[1].end.as_str()),
            ("9", "")
        );
        assert_eq!(s.absences[0].from, "2027-08-02");
        assert_eq!(s.absences[0].note, None);
        assert_eq!(s.absences[1].note.as_deref(), Some("Holidays"));
    }
}
