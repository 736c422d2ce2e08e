//! Instants on the wire: RFC 3339 strings in UTC with millisecond precision
//! (`2026-11-23T18:46:27.120Z`), held as milliseconds since the Unix epoch.
//!
//! Written here rather than pulled from a date crate so that the protocol crate
//! depends on serde alone; it covers exactly what the protocol needs: UTC
//! output, and input with any offset (`Z`, `+02:00`, `-0500`).
//!
//! Parsed instants are kept to what [`Timestamp::to_rfc3339`] writes with
//! four-digit years, [`Timestamp::MIN`] to [`Timestamp::MAX`], so that every
//! timestamp read from text (or JSON) is written back in a form that reads
//! back to the same instant.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A point in time, milliseconds since 1970-01-01T00:00:00Z.
/// On the wire (and so in TypeScript) it is an RFC 3339 string.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(type = "string"))]
pub struct Timestamp(pub i64);

impl Timestamp {
    /// The earliest instant the parser accepts: 0000-01-01T00:00:00.000Z.
    pub const MIN: Timestamp = Timestamp(days_from_civil(0, 1, 1) * 86_400_000);
    /// The latest instant the parser accepts: 9999-12-31T23:59:59.999Z.
    pub const MAX: Timestamp = Timestamp(days_from_civil(10_000, 1, 1) * 86_400_000 - 1);

    /// Any millisecond count, including ones outside [`Timestamp::MIN`] to
    /// [`Timestamp::MAX`] (their RFC 3339 form does not parse back).
    pub const fn from_millis(ms: i64) -> Self {
        Timestamp(ms)
    }

    pub const fn millis(self) -> i64 {
        self.0
    }

    /// The current wall-clock time.
    pub fn now() -> Self {
        let since = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        Timestamp(since.as_millis() as i64)
    }

    pub fn plus_millis(self, ms: i64) -> Self {
        Timestamp(self.0.saturating_add(ms))
    }
}

/// Why a string is not an RFC 3339 timestamp.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimestampError(&'static str);

impl fmt::Display for TimestampError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} (expected RFC 3339, e.g. 2026-11-23T18:46:27Z)",
            self.0
        )
    }
}

impl std::error::Error for TimestampError {}

// Howard Hinnant's days-from-civil and civil-from-days, proleptic Gregorian.
const fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        _ => 28,
    }
}

impl Timestamp {
    /// The RFC 3339 form, written without the `fmt` machinery: this runs for
    /// every timestamp of every lead a client caches.
    pub fn to_rfc3339(self) -> String {
        let ms = self.0.rem_euclid(1000);
        let secs = self.0.div_euclid(1000);
        let days = secs.div_euclid(86_400);
        let sod = secs.rem_euclid(86_400);
        let (y, m, d) = civil_from_days(days);
        if !(0..=9999).contains(&y) {
            // Outside four-digit years: the general (slower) path.
            return format!(
                "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{ms:03}Z",
                sod / 3600,
                (sod / 60) % 60,
                sod % 60
            );
        }
        let mut b = *b"0000-00-00T00:00:00.000Z";
        let mut put = |at: usize, width: usize, mut v: i64| {
            for i in (0..width).rev() {
                b[at + i] = b'0' + (v % 10) as u8;
                v /= 10;
            }
        };
        put(0, 4, y);
        put(5, 2, m);
        put(8, 2, d);
        put(11, 2, sod / 3600);
        put(14, 2, (sod / 60) % 60);
        put(17, 2, sod % 60);
        put(20, 3, ms);
        String::from_utf8(b.to_vec()).expect("ASCII digits")
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_rfc3339())
    }
}

fn digits(s: &[u8], what: &'static str) -> Result<i64, TimestampError> {
    if s.is_empty() || !s.iter().all(u8::is_ascii_digit) {
        return Err(TimestampError(what));
    }
    Ok(s.iter().fold(0i64, |acc, b| acc * 10 + i64::from(b - b'0')))
}

impl FromStr for Timestamp {
    type Err = TimestampError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let b = s.as_bytes();
        if b.len() < 20 || b.len() > 40 {
            return Err(TimestampError("wrong length"));
        }
        if b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't' | b' ') {
            return Err(TimestampError("bad date separators"));
        }
        if b[13] != b':' || b[16] != b':' {
            return Err(TimestampError("bad time separators"));
        }
        let y = digits(&b[0..4], "bad year")?;
        let mo = digits(&b[5..7], "bad month")?;
        let d = digits(&b[8..10], "bad day")?;
        let h = digits(&b[11..13], "bad hour")?;
        let mi = digits(&b[14..16], "bad minute")?;
        let sec = digits(&b[17..19], "bad second")?;
        if !(1..=12).contains(&mo) || d < 1 || d > days_in_month(y, mo) {
            return Err(TimestampError("no such date"));
        }
        if h > 23 || mi > 59 || sec > 60 {
            return Err(TimestampError("no such time"));
        }
        let mut rest = &b[19..];
        let mut millis = 0i64;
        if let Some((&b'.', frac)) = rest.split_first() {
            let n = frac.iter().take_while(|c| c.is_ascii_digit()).count();
            if n == 0 {
                return Err(TimestampError("empty fraction of a second"));
            }
            // Keep milliseconds; finer digits are dropped, not rounded.
            for (i, c) in frac[..n].iter().enumerate().take(3) {
                millis += i64::from(c - b'0') * [100, 10, 1][i];
            }
            rest = &frac[n..];
        }
        let offset_secs = match rest {
            [b'Z' | b'z'] => 0,
            [sign @ (b'+' | b'-'), oh @ ..] if !oh.is_empty() => {
                let (hh, mm) = match oh {
                    [h1, h2, b':', m1, m2] | [h1, h2, m1, m2] => (
                        digits(&[*h1, *h2], "bad offset")?,
                        digits(&[*m1, *m2], "bad offset")?,
                    ),
                    _ => return Err(TimestampError("bad offset")),
                };
                if hh > 23 || mm > 59 {
                    return Err(TimestampError("bad offset"));
                }
                let o = hh * 3600 + mm * 60;
                if *sign == b'+' { o } else { -o }
            }
            _ => return Err(TimestampError("missing or bad time zone (use Z or ±HH:MM)")),
        };
        let secs =
            days_from_civil(y, mo, d) * 86_400 + h * 3600 + mi * 60 + sec.min(59) - offset_secs;
        let t = Timestamp(secs * 1000 + millis);
        // A four-digit local time can be before year 0 or after 9999 in UTC
        // (0000-01-01T00:00:00+14:00); `to_rfc3339` could not write that back
        // in a form this parser reads, so it is refused here.
        if t < Timestamp::MIN || t > Timestamp::MAX {
            return Err(TimestampError(
                "is outside the years 0000–9999 once its offset is applied",
            ));
        }
        Ok(t)
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_rfc3339())
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = Timestamp;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an RFC 3339 timestamp such as 2026-11-23T18:46:27Z")
            }
            // Through `FromStr`, so JSON gets the same checks, range included.
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Timestamp, E> {
                v.parse().map_err(E::custom)
            }
        }
        d.deserialize_str(Visitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_utc_with_milliseconds() {
        assert_eq!(Timestamp(0).to_string(), "1970-01-01T00:00:00.000Z");
        assert_eq!(
            Timestamp(1_795_459_587_120).to_string(),
            "2026-11-23T18:46:27.120Z"
        );
        assert_eq!(Timestamp(-1).to_string(), "1969-12-31T23:59:59.999Z");
        assert_eq!(
            Timestamp(-62_167_219_200_001).to_string(),
            "-001-12-31T23:59:59.999Z",
            "years before 0 take the general path"
        );
    }

    #[test]
    fn parses_offsets_and_fractions() {
        let utc: Timestamp = "2026-11-23T18:46:27.120Z".parse().unwrap();
        assert_eq!(utc.0, 1_795_459_587_120);
        let plus: Timestamp = "2026-11-23T20:46:27.120+02:00".parse().unwrap();
        assert_eq!(plus, utc);
        let minus: Timestamp = "2026-11-23T13:46:27.1204-0500".parse().unwrap();
        assert_eq!(minus, utc);
        let leap: Timestamp = "2024-02-29T00:00:00Z".parse().unwrap();
        assert_eq!(leap.to_string(), "2024-02-29T00:00:00.000Z");
    }

    #[test]
    fn round_trips_across_centuries() {
        for ms in [
            -62_135_596_800_000i64,
            0,
            951_782_400_000,
            4_102_444_799_999,
        ] {
            let t = Timestamp(ms);
            assert_eq!(t.to_string().parse::<Timestamp>().unwrap(), t);
        }
    }

    #[test]
    fn rejects_what_is_not_a_timestamp() {
        for bad in [
            "",
            "2026-11-23",
            "2026-13-01T00:00:00Z",
            "2026-02-30T00:00:00Z",
            "2026-11-23T24:00:00Z",
            "2026-11-23T18:46:27",
            "2026-11-23T18:46:27.Z",
            "2026-11-23T18:46:27+2",
            "yyyy-11-23T18:46:27Z",
        ] {
            assert!(bad.parse::<Timestamp>().is_err(), "{bad:?} parsed");
        }
    }

    #[test]
    fn min_and_max_are_the_four_digit_years() {
        assert_eq!(Timestamp::MIN.to_rfc3339(), "0000-01-01T00:00:00.000Z");
        assert_eq!(Timestamp::MAX.to_rfc3339(), "9999-12-31T23:59:59.999Z");
        assert_eq!(Timestamp::MIN.millis(), -62_167_219_200_000);
        assert_eq!(Timestamp::MAX.millis(), 253_402_300_799_999);
        for t in [Timestamp::MIN, Timestamp::MAX] {
            assert_eq!(t.to_rfc3339().parse::<Timestamp>(), Ok(t));
        }
        // One millisecond outside: written, but not in a form that parses.
        for t in [
            Timestamp::MIN.plus_millis(-1),
            Timestamp::MAX.plus_millis(1),
        ] {
            assert!(t.to_rfc3339().parse::<Timestamp>().is_err(), "{t}");
        }
    }

    #[test]
    fn refuses_offsets_that_leave_the_four_digit_years() {
        for bad in ["0000-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00"] {
            let err = bad.parse::<Timestamp>().unwrap_err();
            assert!(
                err.to_string()
                    .contains("outside the years 0000–9999 once its offset is applied"),
                "{bad}: {err}"
            );
            // JSON goes through the same check.
            let json = serde_json::from_str::<Timestamp>(&format!("\"{bad}\""));
            let err = json.unwrap_err().to_string();
            assert!(err.contains("outside the years 0000–9999"), "{bad}: {err}");
        }
        // The same wall-clock times with the other sign are inside.
        let early: Timestamp = "0000-01-01T00:00:00-14:00".parse().unwrap();
        assert_eq!(early.to_rfc3339(), "0000-01-01T14:00:00.000Z");
        let late: Timestamp = "9999-12-31T23:59:59+14:00".parse().unwrap();
        assert_eq!(late.to_rfc3339(), "9999-12-31T09:59:59.000Z");
    }

    /// For every combination of edge wall-clock times and offsets: the input
    /// parses exactly when its UTC instant is within MIN..=MAX, it parses to
    /// that instant, and what it parses to round-trips through `to_rfc3339`.
    #[test]
    fn whatever_parses_round_trips() {
        let locals = [
            "0000-01-01T00:00:00",
            "0000-01-01T00:00:00.001",
            "0000-01-01T13:59:59.999",
            "0000-01-01T14:00:00",
            "0000-01-01T23:59:59",
            "0000-02-29T12:00:00",
            "0000-12-31T23:59:59.999",
            "0001-01-01T00:00:00",
            "1969-12-31T23:59:59.999",
            "1970-01-01T00:00:00",
            "2000-02-29T12:00:00.5",
            "2026-11-23T18:46:27.120",
            "9998-12-31T23:59:59.999",
            "9999-01-01T00:00:00",
            "9999-12-31T00:00:00",
            "9999-12-31T09:59:59.999",
            "9999-12-31T10:00:00",
            "9999-12-31T23:59:59",
            "9999-12-31T23:59:59.999",
            "9999-12-31T23:59:59.9999999",
            "9999-12-31T23:59:60",
        ];
        let offsets = [
            "Z", "z", "+00:00", "-00:00", "+0000", "+14:00", "-14:00", "+1400", "-1400", "+05:30",
            "-09:30", "+23:59", "-23:59",
        ];
        let offset_millis = |o: &str| -> i64 {
            let b = o.as_bytes();
            if b.len() == 1 {
                return 0;
            }
            let n: String = o[1..].chars().filter(char::is_ascii_digit).collect();
            let (hh, mm): (i64, i64) = (n[..2].parse().unwrap(), n[2..].parse().unwrap());
            let ms = (hh * 60 + mm) * 60_000;
            if b[0] == b'+' { ms } else { -ms }
        };
        let (mut accepted, mut refused) = (0, 0);
        for local in locals {
            // Every four-digit wall-clock time is in range read as UTC.
            let utc: Timestamp = format!("{local}Z").parse().unwrap();
            for offset in offsets {
                let input = format!("{local}{offset}");
                let want = utc.plus_millis(-offset_millis(offset));
                let in_range = (Timestamp::MIN..=Timestamp::MAX).contains(&want);
                match input.parse::<Timestamp>() {
                    Ok(t) => {
                        assert!(in_range, "{input} parsed to {t}, outside MIN..=MAX");
                        assert_eq!(t, want, "{input}");
                        assert_eq!(t.to_rfc3339().parse::<Timestamp>(), Ok(t), "{input}");
                        assert_eq!(t.to_string().len(), 24, "{input} wrote {t}");
                        accepted += 1;
                    }
                    Err(e) => {
                        assert!(!in_range, "{input} refused: {e}");
                        assert!(e.to_string().contains("outside the years"), "{input}: {e}");
                        refused += 1;
                    }
                }
            }
        }
        assert!(
            accepted > 0 && refused > 0,
            "{accepted} accepted, {refused} refused"
        );
    }
}
