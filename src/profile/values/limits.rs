//! Resource limits: the sixteen `Limit*=` directives and their values, one value or
//! `SOFT:HARD`, each half in the resource's own syntax (time, size, count or nice level).
//!
//! Invariant: a parsed limit is in the resource's own unit, a finite half is never `u64::MAX`
//! (which `setrlimit(2)` reads as infinity), and the soft half never exceeds the hard half.
//! Every parser is total; nothing here calls `setrlimit(2)`.

use super::numbers::{SEC, USEC, parse_c_unsigned, parse_size_parts, parse_time_span};
use super::trim_start_ws;

/// Every `Limit*=` directive systemd has, in `setrlimit(2)` resource order.
pub const RLIMIT_KEYS: &[&str] = &[
    "LimitCPU",
    "LimitFSIZE",
    "LimitDATA",
    "LimitSTACK",
    "LimitCORE",
    "LimitRSS",
    "LimitNOFILE",
    "LimitAS",
    "LimitNPROC",
    "LimitMEMLOCK",
    "LimitLOCKS",
    "LimitSIGPENDING",
    "LimitMSGQUEUE",
    "LimitNICE",
    "LimitRTPRIO",
    "LimitRTTIME",
];

/// A parsed `Limit*=` value in the resource's own unit (seconds for `LimitCPU=`, bytes,
/// a count, microseconds for `LimitRTTIME=`, the raw 0..=40 value for `LimitNICE=`).
/// `None` is infinity.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RlimitValue {
    pub soft: Option<u64>,
    pub hard: Option<u64>,
}

/// How a `Limit*=` value is written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum LimitKind {
    /// A time span, bare numbers in seconds, rounded up to whole seconds.
    Seconds,
    /// A size with K..E suffixes.
    Bytes,
    /// A plain number.
    Count,
    /// `+N`/`-N` nice level or a raw 0..=40 value.
    Nice,
    /// A time span, bare numbers in microseconds.
    Microseconds,
}

fn limit_kind(key: &str) -> Option<LimitKind> {
    let kind = match key {
        "LimitCPU" => LimitKind::Seconds,
        "LimitFSIZE" | "LimitDATA" | "LimitSTACK" | "LimitCORE" | "LimitRSS" | "LimitAS" | "LimitMEMLOCK"
        | "LimitMSGQUEUE" => LimitKind::Bytes,
        "LimitNOFILE" | "LimitNPROC" | "LimitLOCKS" | "LimitSIGPENDING" | "LimitRTPRIO" => LimitKind::Count,
        "LimitNICE" => LimitKind::Nice,
        "LimitRTTIME" => LimitKind::Microseconds,
        _ => return None,
    };
    Some(kind)
}

fn limit_expected(kind: LimitKind) -> &'static str {
    match kind {
        LimitKind::Seconds => {
            "expected a CPU time such as 30, 5min or 1h (a bare number means seconds) or infinity, \
             once or as SOFT:HARD"
        }
        LimitKind::Bytes => {
            "expected a size in bytes with an optional K, M, G, T, P or E suffix, or infinity, \
             once or as SOFT:HARD"
        }
        LimitKind::Count => {
            "expected a number below 2^64 - 1 (a leading 0 means octal and 0x hexadecimal, as in \
             systemd) or infinity, once or as SOFT:HARD"
        }
        LimitKind::Nice => {
            "expected a nice level from -20 to +19 written with its sign, or a raw limit from 0 to 40, \
             once or as SOFT:HARD"
        }
        LimitKind::Microseconds => {
            "expected a time span such as 500ms or 2s (a bare number means microseconds) or infinity, \
             once or as SOFT:HARD"
        }
    }
}

/// A `Limit*=` value for the directive `key` (without `=`): one value for both limits or
/// `SOFT:HARD`, each half a number in the resource's syntax or `infinity` (not for
/// `LimitNICE=`). The soft limit may not exceed the hard one.
pub fn parse_rlimit(key: &str, value: &str) -> Result<RlimitValue, String> {
    let kind = limit_kind(key)
        .ok_or_else(|| format!("expected a resource limit directive ({}), found {key}=", RLIMIT_KEYS.join("=, ")))?;
    let (soft, hard) = match value.split_once(':') {
        Some((soft, hard)) => (soft, Some(hard)),
        None => (value, None),
    };
    let soft = parse_limit_half(kind, soft)?;
    let hard = match hard {
        Some(hard) => parse_limit_half(kind, hard)?,
        None => soft,
    };
    if exceeds(soft, hard) {
        return Err("expected the soft limit (before ':') not to exceed the hard limit".to_string());
    }
    Ok(RlimitValue { soft, hard })
}

/// Whether `soft` is above `hard`, `None` being infinity.
fn exceeds(soft: Option<u64>, hard: Option<u64>) -> bool {
    match (soft, hard) {
        (None, Some(_)) => true,
        (Some(soft), Some(hard)) => soft > hard,
        (_, None) => false,
    }
}

fn parse_limit_half(kind: LimitKind, s: &str) -> Result<Option<u64>, String> {
    let expected = || limit_expected(kind).to_string();
    if s == "infinity" && kind != LimitKind::Nice {
        return Ok(None);
    }
    match kind {
        LimitKind::Seconds => {
            parse_time_span(s, SEC).map(|usec| usec.map(|usec| usec.div_ceil(SEC))).map_err(|_| expected())
        }
        LimitKind::Microseconds => parse_time_span(s, USEC).map_err(|_| expected()),
        LimitKind::Bytes => parse_size_parts(s).ok().filter(|bytes| *bytes != u64::MAX).map(Some).ok_or_else(expected),
        LimitKind::Count => {
            parse_c_unsigned(trim_start_ws(s)).filter(|count| *count != u64::MAX).map(Some).ok_or_else(expected)
        }
        LimitKind::Nice => parse_limit_nice(s).map(Some).ok_or_else(expected),
    }
}

/// `LimitNICE=`: `+N` is nice level N (0..=19), `-N` is nice level -N (0..=20); both map to the
/// raw limit 20 - level. Without a sign the raw limit itself, 0..=40.
fn parse_limit_nice(s: &str) -> Option<u64> {
    if let Some(level) = s.strip_prefix('+') {
        parse_c_unsigned(level).filter(|level| *level < 20).map(|level| 20 - level)
    } else if let Some(level) = s.strip_prefix('-') {
        parse_c_unsigned(level).filter(|level| *level <= 20).map(|level| 20 + level)
    } else {
        parse_c_unsigned(s).filter(|raw| *raw <= 40)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::values::tests::{G, M};

    fn limit(soft: Option<u64>, hard: Option<u64>) -> RlimitValue {
        RlimitValue { soft, hard }
    }

    fn both(value: u64) -> RlimitValue {
        limit(Some(value), Some(value))
    }

    #[test]
    fn rlimit_keys_are_the_sixteen_of_systemd() {
        assert_eq!(RLIMIT_KEYS.len(), 16);
        for key in RLIMIT_KEYS {
            assert!(limit_kind(key).is_some(), "{key}");
        }
        let err = parse_rlimit("LimitFOO", "1").unwrap_err();
        assert!(err.starts_with("expected a resource limit directive (LimitCPU=, LimitFSIZE="), "{err}");
        assert!(err.ends_with("found LimitFOO="), "{err}");
    }

    #[test]
    fn rlimit_single_value_and_pairs() {
        assert_eq!(parse_rlimit("LimitNOFILE", "1024"), Ok(both(1024)));
        assert_eq!(parse_rlimit("LimitNOFILE", "1024:4096"), Ok(limit(Some(1024), Some(4096))));
        assert_eq!(parse_rlimit("LimitNOFILE", "infinity"), Ok(limit(None, None)));
        assert_eq!(parse_rlimit("LimitNOFILE", "1024:infinity"), Ok(limit(Some(1024), None)));
        assert_eq!(parse_rlimit("LimitNOFILE", "infinity:infinity"), Ok(limit(None, None)));
        assert_eq!(parse_rlimit("LimitAS", "4G:16G"), Ok(limit(Some(4 * G), Some(16 * G))));
    }

    #[test]
    fn rlimit_soft_above_hard_is_an_error() {
        for (key, value) in [("LimitLOCKS", "6:4"), ("LimitNOFILE", "infinity:5"), ("LimitAS", "2G:1G")] {
            assert_eq!(
                parse_rlimit(key, value).unwrap_err(),
                "expected the soft limit (before ':') not to exceed the hard limit",
                "{key}={value}"
            );
        }
    }

    /// Byte limits checked against systemd 252 with `systemd-analyze verify`.
    #[test]
    fn rlimit_byte_limits() {
        for key in [
            "LimitFSIZE",
            "LimitDATA",
            "LimitSTACK",
            "LimitCORE",
            "LimitRSS",
            "LimitAS",
            "LimitMEMLOCK",
            "LimitMSGQUEUE",
        ] {
            assert_eq!(parse_rlimit(key, "16M"), Ok(both(16 * M)), "{key}");
        }
        assert_eq!(parse_rlimit("LimitAS", "1.5G"), Ok(both(G + G / 2)));
        assert_eq!(parse_rlimit("LimitFSIZE", "10.M"), Ok(both(10 * M)));
        assert_eq!(parse_rlimit("LimitCORE", "1G 512M"), Ok(both(G + 512 * M)));
        assert_eq!(parse_rlimit("LimitCORE", "0"), Ok(both(0)));
        assert_eq!(parse_rlimit("LimitAS", "15E"), Ok(both(15 << 60)));
        for bad in ["16E", "1g", "5 5", ".5K", "1K 1G", "18446744073709551615", "", "5:", ":5"] {
            let err = parse_rlimit("LimitAS", bad).unwrap_err();
            assert!(err.starts_with("expected a size in bytes"), "{bad:?}: {err}");
            assert!(err.ends_with("once or as SOFT:HARD"), "{err}");
        }
    }

    /// Counts are read as systemd reads them (checked with systemd 252: `09` is refused, `0x10`
    /// and `+5` accepted).
    #[test]
    fn rlimit_counts() {
        for key in ["LimitNOFILE", "LimitNPROC", "LimitLOCKS", "LimitSIGPENDING", "LimitRTPRIO"] {
            assert_eq!(parse_rlimit(key, "100"), Ok(both(100)), "{key}");
        }
        assert_eq!(parse_rlimit("LimitRTPRIO", "150"), Ok(both(150)));
        assert_eq!(parse_rlimit("LimitNPROC", "0x10"), Ok(both(16)));
        assert_eq!(parse_rlimit("LimitNPROC", "010"), Ok(both(8)));
        assert_eq!(parse_rlimit("LimitSIGPENDING", "+5"), Ok(both(5)));
        assert_eq!(parse_rlimit("LimitNOFILE", "5: 6"), Ok(limit(Some(5), Some(6))));
        assert_eq!(parse_rlimit("LimitNOFILE", "18446744073709551614"), Ok(both(u64::MAX - 1)));
        for bad in
            ["09", "-1", "1K", "18446744073709551615", "5 : 6", "5 :6", "5::6", "5:", ":5", "", "0x", "1.5", "Infinity"]
        {
            let err = parse_rlimit("LimitNOFILE", bad).unwrap_err();
            assert!(err.starts_with("expected a number below 2^64 - 1"), "{bad:?}: {err}");
        }
    }

    /// `LimitNICE=` checked against systemd 252 and systemd.exec(5).
    #[test]
    fn rlimit_nice() {
        let cases = [
            ("+19", 1),
            ("+0", 20),
            ("-0", 20),
            ("-20", 40),
            ("+5", 15),
            ("-5", 25),
            ("0", 0),
            ("40", 40),
            ("050", 40),
            ("0x28", 40),
            ("+0x5", 15),
        ];
        for (input, raw) in cases {
            assert_eq!(parse_rlimit("LimitNICE", input), Ok(both(raw)), "{input}");
        }
        assert_eq!(parse_rlimit("LimitNICE", "+10:-10"), Ok(limit(Some(10), Some(30))));
        for bad in ["+20", "-21", "41", "051", "infinity", "", "x"] {
            let err = parse_rlimit("LimitNICE", bad).unwrap_err();
            assert!(err.starts_with("expected a nice level from -20 to +19 written with its sign"), "{bad}: {err}");
        }
    }

    #[test]
    fn rlimit_cpu_is_in_seconds_rounded_up() {
        assert_eq!(parse_rlimit("LimitCPU", "30"), Ok(both(30)));
        assert_eq!(parse_rlimit("LimitCPU", "1.5"), Ok(both(2)));
        assert_eq!(parse_rlimit("LimitCPU", "90min"), Ok(both(5400)));
        assert_eq!(parse_rlimit("LimitCPU", "1ms"), Ok(both(1)));
        assert_eq!(parse_rlimit("LimitCPU", "0"), Ok(both(0)));
        assert_eq!(parse_rlimit("LimitCPU", "1min:infinity"), Ok(limit(Some(60), None)));
        let err = parse_rlimit("LimitCPU", "soon").unwrap_err();
        assert!(err.starts_with("expected a CPU time such as 30, 5min or 1h"), "{err}");
    }

    #[test]
    fn rlimit_rttime_is_in_microseconds() {
        assert_eq!(parse_rlimit("LimitRTTIME", "500"), Ok(both(500)));
        assert_eq!(parse_rlimit("LimitRTTIME", "5s"), Ok(both(5_000_000)));
        assert_eq!(parse_rlimit("LimitRTTIME", "1.5"), Ok(both(1)));
        assert_eq!(parse_rlimit("LimitRTTIME", "infinity"), Ok(limit(None, None)));
        let err = parse_rlimit("LimitRTTIME", "x").unwrap_err();
        assert!(err.contains("a bare number means microseconds"), "{err}");
    }
}
