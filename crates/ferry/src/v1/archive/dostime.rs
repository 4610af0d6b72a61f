//! File times as zip stores them.
//!
//! The DOS date and time fields have no time zone; we fill them in UTC,
//! since the standard library cannot read the local zone. The exact time
//! also travels, in UTC, in the Info-ZIP extended timestamp field, which
//! Info-ZIP, Go and 7-Zip read, and which `extract_zip` restores.

use std::time::{SystemTime, UNIX_EPOCH};

const SECS_PER_DAY: i64 = 86_400;

/// A modification time in the forms the zip headers need.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Mtime {
    pub(super) dos_time: u16,
    pub(super) dos_date: u16,
    /// Seconds since the epoch, when they fit the field (signed 32 bits,
    /// read as unsigned by some: 1970 to 2038 is safe for both).
    pub(super) unix: Option<u32>,
}

impl Mtime {
    /// From a file's modification time; unknown means 1980-01-01.
    pub(super) fn from_system(t: Option<SystemTime>) -> Mtime {
        t.map_or(Self::from_unix(0).with_unix(None), |t| {
            Self::from_unix(unix_seconds(t))
        })
    }

    /// From seconds since the epoch (UTC), clamped to the DOS range.
    pub(super) fn from_unix(secs: i64) -> Mtime {
        let (dos_date, dos_time) = dos_fields(secs);
        let unix = u32::try_from(secs).ok().filter(|s| *s <= i32::MAX as u32);
        Mtime {
            dos_time,
            dos_date,
            unix,
        }
    }

    fn with_unix(self, unix: Option<u32>) -> Mtime {
        Mtime { unix, ..self }
    }
}

/// Whole seconds since the epoch, negative before it.
fn unix_seconds(t: SystemTime) -> i64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        Err(e) => -i64::try_from(e.duration().as_secs()).unwrap_or(i64::MAX),
    }
}

/// (date, time) in DOS format, clamped to 1980-01-01 .. 2107-12-31 23:59:58.
fn dos_fields(secs: i64) -> (u16, u16) {
    let (year, month, day) = civil_from_days(secs.div_euclid(SECS_PER_DAY));
    if year < 1980 {
        return ((1 << 5) | 1, 0);
    }
    if year > 2107 {
        return ((127 << 9) | (12 << 5) | 31, (23 << 11) | (59 << 5) | 29);
    }
    let s = secs.rem_euclid(SECS_PER_DAY);
    let (h, m, s) = (s / 3600, s / 60 % 60, s % 60);
    let date = ((year - 1980) << 9) | (i64::from(month) << 5) | i64::from(day);
    let time = (h << 11) | (m << 5) | (s / 2);
    (date as u16, time as u16)
}

/// Proleptic Gregorian (year, month, day) of a day count since 1970-01-01
/// (Howard Hinnant's `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(month <= 2), month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Unpacks DOS fields into (year, month, day, hour, minute, second).
    fn unpack(m: Mtime) -> (u16, u16, u16, u16, u16, u16) {
        let (d, t) = (m.dos_date, m.dos_time);
        (
            1980 + (d >> 9),
            (d >> 5) & 15,
            d & 31,
            t >> 11,
            (t >> 5) & 63,
            (t & 31) * 2,
        )
    }

    #[test]
    fn known_dates() {
        // 2024-02-29 13:45:31 UTC: a leap day, odd seconds round down.
        let m = Mtime::from_unix(1_709_214_331);
        assert_eq!(unpack(m), (2024, 2, 29, 13, 45, 30));
        assert_eq!(m.unix, Some(1_709_214_331));
        assert_eq!(unpack(Mtime::from_unix(315_532_800)), (1980, 1, 1, 0, 0, 0));
        assert_eq!(
            unpack(Mtime::from_unix(951_782_400)),
            (2000, 2, 29, 0, 0, 0)
        );
    }

    #[test]
    fn clamps_out_of_range() {
        assert_eq!(unpack(Mtime::from_unix(0)), (1980, 1, 1, 0, 0, 0));
        assert_eq!(
            unpack(Mtime::from_unix(-86_400 * 400)),
            (1980, 1, 1, 0, 0, 0)
        );
        assert_eq!(Mtime::from_unix(-1).unix, None);
        let far = Mtime::from_unix(5_000_000_000);
        assert_eq!(unpack(far), (2107, 12, 31, 23, 59, 58));
        assert_eq!(far.unix, None);
        assert_eq!(Mtime::from_system(None).unix, None);
    }
}
