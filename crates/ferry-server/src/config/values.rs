//! The checks a setting's value passes however it is given (flag, variable,
//! config file). A period or timeout is a number of seconds above 0 and finite:
//! a zero period would panic its timer, and a value that was not a number used
//! to be dropped without a word. A limit is at least 1: 0 would start a server
//! that looks fine and refuses every client.

use std::time::Duration;

use serde::{Deserialize, Deserializer};

/// Seconds above 0, as a [`Duration`].
pub(crate) fn seconds(v: f64) -> Result<Duration, String> {
    // NaN is neither above nor below 0: only a real positive number passes.
    if v.is_nan() || v <= 0.0 {
        return Err(format!("{v} is not a number of seconds above 0"));
    }
    Duration::try_from_secs_f64(v).map_err(|_| format!("{v} seconds is too long"))
}

/// A count of at least 1.
pub(crate) fn count<T: PartialOrd + From<u8> + std::fmt::Display>(n: T) -> Result<T, String> {
    match n >= T::from(1) {
        true => Ok(n),
        false => Err(format!("{n} is below 1")),
    }
}

/// `seconds` of a flag's text (for clap).
pub fn parse_seconds(s: &str) -> Result<Duration, String> {
    let v: f64 = s
        .trim()
        .parse()
        .map_err(|_| format!("{s:?} is not a number of seconds"))?;
    seconds(v)
}

/// `count` of a flag's text (for clap).
pub fn parse_count<T>(s: &str) -> Result<T, String>
where
    T: std::str::FromStr + PartialOrd + From<u8> + std::fmt::Display,
{
    let n: T = s
        .trim()
        .parse()
        .map_err(|_| format!("{s:?} is not a whole number"))?;
    count(n)
}

/// An optional `seconds` in a config file.
pub(super) fn opt_seconds<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
    let v = Option::<f64>::deserialize(d)?;
    v.map(|v| seconds(v).map_err(serde::de::Error::custom))
        .transpose()
}

/// An optional `count` in a config file.
pub(super) fn opt_count<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + PartialOrd + From<u8> + std::fmt::Display,
{
    let n = Option::<T>::deserialize(d)?;
    n.map(|n| count(n).map_err(serde::de::Error::custom))
        .transpose()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_are_finite_and_above_zero() {
        assert_eq!(parse_seconds("1.5"), Ok(Duration::from_millis(1500)));
        for bad in ["0", "-1", "nan", "NaN", "inf", "1e30", "soon", ""] {
            assert!(parse_seconds(bad).is_err(), "{bad}");
        }
        assert_eq!(seconds(0.25), Ok(Duration::from_millis(250)));
    }

    #[test]
    fn counts_are_whole_and_at_least_one() {
        assert_eq!(parse_count::<usize>("3"), Ok(3));
        assert_eq!(parse_count::<u64>("1"), Ok(1));
        for bad in ["0", "-1", "1.5", "many"] {
            assert!(parse_count::<usize>(bad).is_err(), "{bad}");
        }
    }
}
