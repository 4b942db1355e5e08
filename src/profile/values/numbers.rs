//! Numbers as systemd writes them: booleans, sizes in bytes, time spans, octal access modes
//! and nice levels, with the digit readers they share.
//!
//! Invariant: every parser is total: it returns the value or a lowercase message naming the
//! expected form and never panics; a number too large for its type is an error, never wrapped
//! or clamped. Nothing here touches the system.

use super::trim_start_ws;

// ---------------------------------------------------------------------------------------------
// Digits
// ---------------------------------------------------------------------------------------------

/// Splits `s` after its longest prefix of characters matching `keep`.
fn split_leading(s: &str, keep: impl Fn(char) -> bool) -> (&str, &str) {
    let end = s.find(|c: char| !keep(c)).unwrap_or(s.len());
    s.split_at(end)
}

/// Why a number could not be read: the wrong shape, or too large for its type.
pub(super) enum Bad {
    Form,
    Range,
}

/// An unsigned integer the way C's `strtoull(s, _, 0)` reads it, which is what systemd uses
/// for `Limit*=` counts and nice levels: an optional `+`, then `0x` hexadecimal, `0` octal or
/// decimal digits, and nothing after them.
pub(super) fn parse_c_unsigned(s: &str) -> Option<u64> {
    let s = s.strip_prefix('+').unwrap_or(s);
    let (digits, radix) = if let Some(hex) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        (hex, 16)
    } else if s.len() > 1 && s.starts_with('0') {
        (s, 8)
    } else {
        (s, 10)
    };
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    u64::from_str_radix(digits, radix).ok()
}

// ---------------------------------------------------------------------------------------------
// Booleans
// ---------------------------------------------------------------------------------------------

const BOOL_EXPECTED: &str = "expected a boolean (1/yes/true/on or 0/no/false/off)";
const TRUE_WORDS: [&str; 6] = ["1", "yes", "y", "true", "t", "on"];
const FALSE_WORDS: [&str; 6] = ["0", "no", "n", "false", "f", "off"];

/// A systemd boolean: `1 yes y true t on` or `0 no n false f off`, in any letter case.
pub fn parse_bool(s: &str) -> Result<bool, String> {
    let is_one_of = |words: &[&str]| words.iter().any(|w| w.eq_ignore_ascii_case(s));
    if is_one_of(&TRUE_WORDS) {
        Ok(true)
    } else if is_one_of(&FALSE_WORDS) {
        Ok(false)
    } else {
        Err(BOOL_EXPECTED.to_string())
    }
}

// ---------------------------------------------------------------------------------------------
// Sizes
// ---------------------------------------------------------------------------------------------

const SIZE_EXPECTED: &str =
    "expected a size in bytes with an optional K, M, G, T, P or E suffix (base 1024), such as 512M or 1.5G";
const SIZE_TOO_LARGE: &str = "expected a size below 16E";

/// Size suffixes, largest first. Like systemd, several parts may be added up as long as their
/// suffixes get smaller (`1G 512M`); the empty suffix means bytes.
const SIZE_UNITS: [(&str, u64); 8] =
    [("E", 1 << 60), ("P", 1 << 50), ("T", 1 << 40), ("G", 1 << 30), ("M", 1 << 20), ("K", 1 << 10), ("B", 1), ("", 1)];

/// A size in bytes: `4096`, `512K`, `1.5G`, `1G 512M`. Suffixes are upper case and base 1024;
/// a fraction is rounded down to whole bytes; anything that does not fit in 64 bits is an error.
#[allow(dead_code, reason = "value-parser API; not every directive uses it yet")]
pub fn parse_size(s: &str) -> Result<u64, String> {
    parse_size_parts(s).map_err(|bad| match bad {
        Bad::Form => SIZE_EXPECTED.to_string(),
        Bad::Range => SIZE_TOO_LARGE.to_string(),
    })
}

/// Like [`parse_size`], but `infinity` gives `None`.
#[allow(dead_code, reason = "value-parser API; not every directive uses it yet")]
pub fn parse_size_or_infinity(s: &str) -> Result<Option<u64>, String> {
    if s == "infinity" {
        return Ok(None);
    }
    parse_size(s).map(Some).map_err(|e| format!("{e}, or infinity"))
}

pub(super) fn parse_size_parts(s: &str) -> Result<u64, Bad> {
    let mut rest = s;
    let mut total: u64 = 0;
    let mut first_unit = 0;
    loop {
        let (number, after) = take_decimal(trim_start_ws(rest)).ok_or(Bad::Form)?;
        let (unit, factor, after) = take_size_unit(trim_start_ws(after), first_unit).ok_or(Bad::Form)?;
        let part = number.scale(factor).ok_or(Bad::Range)?;
        total = total.checked_add(part).ok_or(Bad::Range)?;
        if after.is_empty() {
            return Ok(total);
        }
        rest = after;
        first_unit = unit + 1;
    }
}

/// A decimal number as written: ASCII digits before and after an optional dot.
struct Decimal<'a> {
    whole: &'a str,
    fraction: &'a str,
}

impl Decimal<'_> {
    /// `whole.fraction × factor`, rounded down; `None` when it does not fit in 64 bits.
    fn scale(&self, factor: u64) -> Option<u64> {
        let whole: u128 = self.whole.parse().ok()?;
        let scaled = whole.checked_mul(u128::from(factor))?;
        let total = scaled.checked_add(fraction_of(self.fraction, factor))?;
        u64::try_from(total).ok()
    }
}

/// `0.digits × factor`, rounded down. Digits past the 18th cannot change the result by more
/// than one and are ignored.
fn fraction_of(digits: &str, factor: u64) -> u128 {
    let digits = digits.get(..18).unwrap_or(digits);
    let Ok(numerator) = digits.parse::<u128>() else {
        return 0;
    };
    let denominator = 10u128.pow(digits.len() as u32);
    numerator * u128::from(factor) / denominator
}

/// Reads `[+]DIGITS[.DIGITS]` at the start of `s`; at least one digit before the dot.
fn take_decimal(s: &str) -> Option<(Decimal<'_>, &str)> {
    let unsigned = s.strip_prefix('+').unwrap_or(s);
    let (whole, rest) = split_leading(unsigned, |c| c.is_ascii_digit());
    if whole.is_empty() {
        return None;
    }
    let (fraction, rest) = match rest.strip_prefix('.') {
        Some(after_dot) => split_leading(after_dot, |c| c.is_ascii_digit()),
        None => ("", rest),
    };
    Some((Decimal { whole, fraction }, rest))
}

/// The first size suffix at or after position `first` in [`SIZE_UNITS`] that starts `s`.
fn take_size_unit(s: &str, first: usize) -> Option<(usize, u64, &str)> {
    SIZE_UNITS
        .iter()
        .enumerate()
        .skip(first)
        .find_map(|(i, (suffix, factor))| s.strip_prefix(suffix).map(|rest| (i, *factor, rest)))
}

// ---------------------------------------------------------------------------------------------
// Time spans
// ---------------------------------------------------------------------------------------------

pub(super) const USEC: u64 = 1;
const MSEC: u64 = 1_000;
pub(super) const SEC: u64 = 1_000_000;
const MINUTE: u64 = 60 * SEC;
const HOUR: u64 = 60 * MINUTE;
const DAY: u64 = 24 * HOUR;
const WEEK: u64 = 7 * DAY;
/// systemd's month: 30.44 days.
const MONTH: u64 = 2_629_800 * SEC;
/// systemd's year: 365.25 days.
const YEAR: u64 = 31_557_600 * SEC;

/// Time units as systemd.time(7) lists them; the longest one that matches is used.
const TIME_UNITS: [(&str, u64); 30] = [
    ("usec", USEC),
    ("us", USEC),
    ("\u{b5}s", USEC),
    ("\u{3bc}s", USEC),
    ("msec", MSEC),
    ("ms", MSEC),
    ("seconds", SEC),
    ("second", SEC),
    ("sec", SEC),
    ("s", SEC),
    ("minutes", MINUTE),
    ("minute", MINUTE),
    ("min", MINUTE),
    ("m", MINUTE),
    ("hours", HOUR),
    ("hour", HOUR),
    ("hr", HOUR),
    ("h", HOUR),
    ("days", DAY),
    ("day", DAY),
    ("d", DAY),
    ("weeks", WEEK),
    ("week", WEEK),
    ("w", WEEK),
    ("months", MONTH),
    ("month", MONTH),
    ("M", MONTH),
    ("years", YEAR),
    ("year", YEAR),
    ("y", YEAR),
];

const TIME_TOO_LARGE: &str = "expected a time span shorter than about 584000 years";

/// A finite systemd time span in microseconds: `30`, `1.5s`, `1min 30s`, `2h30min`, `500ms`.
/// A bare number means seconds.
#[allow(dead_code, reason = "value-parser API; not every directive uses it yet")]
pub fn parse_time_usec(s: &str) -> Result<u64, String> {
    match parse_time_span(s, SEC)? {
        Some(usec) => Ok(usec),
        None => Err("expected a finite time span, not infinity".to_string()),
    }
}

/// Like [`parse_time_usec`], but `infinity` gives `None`.
#[allow(dead_code, reason = "value-parser API; not every directive uses it yet")]
pub fn parse_time_or_infinity(s: &str) -> Result<Option<u64>, String> {
    parse_time_span(s, SEC).map_err(|e| format!("{e}, or infinity"))
}

/// A time span whose bare numbers are in `default_unit`; `None` is infinity.
pub(super) fn parse_time_span(s: &str, default_unit: u64) -> Result<Option<u64>, String> {
    let s = trim_start_ws(s);
    if let Some(after) = s.strip_prefix("infinity") {
        if trim_start_ws(after).is_empty() {
            return Ok(None);
        }
        return Err(time_expected(default_unit));
    }
    sum_time_components(s, default_unit).map(Some).map_err(|bad| match bad {
        Bad::Form => time_expected(default_unit),
        Bad::Range => TIME_TOO_LARGE.to_string(),
    })
}

fn time_expected(default_unit: u64) -> String {
    let bare = if default_unit == SEC { "seconds" } else { "microseconds" };
    format!("expected a time span such as 30s, 1min 30s or 1.5h (a bare number means {bare})")
}

/// Adds up `NUMBER[UNIT]` components; at least one, the total below `u64::MAX`.
fn sum_time_components(s: &str, default_unit: u64) -> Result<u64, Bad> {
    let mut rest = s;
    let mut total: u64 = 0;
    loop {
        let (part, after) = take_time_component(rest, default_unit)?;
        total = total.checked_add(part).filter(|t| *t != u64::MAX).ok_or(Bad::Range)?;
        rest = trim_start_ws(after);
        if rest.is_empty() {
            return Ok(total);
        }
    }
}

/// One component: `[+]DIGITS[.DIGITS]` or `.DIGITS`, optional whitespace, optional unit.
/// A component must be followed by a unit, whitespace or the end (`1.2.3` is refused).
fn take_time_component(s: &str, default_unit: u64) -> Result<(u64, &str), Bad> {
    if s.starts_with('-') {
        return Err(Bad::Form);
    }
    let signed = s.strip_prefix('+');
    let (whole, rest) = split_leading(signed.unwrap_or(s), |c| c.is_ascii_digit());
    let bare_fraction = signed.is_none() && rest.starts_with('.');
    if whole.is_empty() && !bare_fraction {
        return Err(Bad::Form);
    }
    let whole = parse_time_whole(whole)?;
    let (fraction, rest) = match rest.strip_prefix('.') {
        Some(after_dot) => {
            let (digits, rest) = split_leading(after_dot, |c| c.is_ascii_digit());
            (Some(digits), rest)
        }
        None => (None, rest),
    };
    let after_ws = trim_start_ws(rest);
    let (multiplier, after_unit) = take_time_unit(after_ws).unwrap_or((default_unit, after_ws));
    let nothing_follows = after_unit.len() == rest.len() && !rest.is_empty();
    if nothing_follows || fraction == Some("") {
        return Err(Bad::Form);
    }
    if whole >= u64::MAX / multiplier {
        return Err(Bad::Range);
    }
    let fraction = fraction_usec(fraction.unwrap_or(""), multiplier);
    let part = (whole * multiplier).checked_add(fraction).ok_or(Bad::Range)?;
    Ok((part, after_unit))
}

/// The whole part of a component; like systemd, at most `i64::MAX`.
fn parse_time_whole(digits: &str) -> Result<u64, Bad> {
    if digits.is_empty() {
        return Ok(0);
    }
    let value: i64 = digits.parse().map_err(|_| Bad::Range)?;
    u64::try_from(value).map_err(|_| Bad::Range)
}

/// `0.digits × multiplier`, digit by digit, rounded down to whole microseconds.
fn fraction_usec(digits: &str, multiplier: u64) -> u64 {
    let mut place = multiplier / 10;
    let mut total: u64 = 0;
    for digit in digits.chars().filter_map(|c| c.to_digit(10)) {
        total = total.saturating_add(u64::from(digit).saturating_mul(place));
        place /= 10;
    }
    total
}

/// The longest time unit that starts `s`, with its multiplier and what follows it.
fn take_time_unit(s: &str) -> Option<(u64, &str)> {
    TIME_UNITS
        .iter()
        .filter(|(unit, _)| s.starts_with(unit))
        .max_by_key(|(unit, _)| unit.len())
        .and_then(|(unit, multiplier)| s.strip_prefix(unit).map(|rest| (*multiplier, rest)))
}

// ---------------------------------------------------------------------------------------------
// Access modes and nice levels
// ---------------------------------------------------------------------------------------------

const MODE_EXPECTED: &str = "expected an octal access mode from 0000 to 7777";

/// An octal access mode up to `07777` (`UMask=`, `*DirectoryMode=`, tmpfs `mode=`).
pub fn parse_mode(s: &str) -> Result<u32, String> {
    if s.is_empty() || !s.chars().all(|c| c.is_digit(8)) {
        return Err(MODE_EXPECTED.to_string());
    }
    match u32::from_str_radix(s, 8) {
        Ok(mode) if mode <= 0o7777 => Ok(mode),
        _ => Err(MODE_EXPECTED.to_string()),
    }
}

const NICE_EXPECTED: &str = "expected a nice level from -20 to 19";

/// A nice level from -20 to 19 (`Nice=`). Like systemd, the digits are read as C reads them,
/// so a leading `0` means octal and `0x` hexadecimal.
pub fn parse_nice(s: &str) -> Result<i32, String> {
    let (negative, magnitude) = match s.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    let magnitude = parse_c_unsigned(magnitude)
        .filter(|m| !magnitude.starts_with('+') && *m <= 20)
        .and_then(|m| i32::try_from(m).ok())
        .ok_or(NICE_EXPECTED)?;
    let nice = if negative { -magnitude } else { magnitude };
    if (-20..=19).contains(&nice) { Ok(nice) } else { Err(NICE_EXPECTED.to_string()) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::values::tests::{G, K, M};
    use proptest::prelude::*;

    // --- booleans ------------------------------------------------------------------------------

    #[test]
    fn booleans_in_every_spelling() {
        for word in ["1", "yes", "y", "true", "t", "on", "YES", "Yes", "TRUE", "T", "On", "Y"] {
            assert_eq!(parse_bool(word), Ok(true), "{word}");
        }
        for word in ["0", "no", "n", "false", "f", "off", "NO", "False", "F", "OFF", "N"] {
            assert_eq!(parse_bool(word), Ok(false), "{word}");
        }
    }

    #[test]
    fn bad_booleans_say_what_was_expected() {
        for word in ["", "2", "yess", " yes", "yes ", "enable", "nope", "-1"] {
            assert_eq!(
                parse_bool(word).unwrap_err(),
                "expected a boolean (1/yes/true/on or 0/no/false/off)",
                "{word:?}"
            );
        }
    }

    // --- sizes ---------------------------------------------------------------------------------

    #[test]
    fn sizes_with_suffixes() {
        let cases = [
            ("0", 0),
            ("4096", 4096),
            ("+5", 5),
            ("1B", 1),
            ("1K", K),
            ("1M", M),
            ("1G", G),
            ("1T", 1 << 40),
            ("1P", 1 << 50),
            ("1E", 1 << 60),
            ("15E", 15 << 60),
            ("512M", 512 * M),
            (" 5", 5),
            ("5 ", 5),
            ("1 K", K),
        ];
        for (input, expected) in cases {
            assert_eq!(parse_size(input), Ok(expected), "{input}");
        }
    }

    #[test]
    fn sizes_with_decimals_round_down() {
        assert_eq!(parse_size("1.5G"), Ok(G + G / 2));
        assert_eq!(parse_size("0.5K"), Ok(512));
        assert_eq!(parse_size("1.0001K"), Ok(1024));
        assert_eq!(parse_size("10.M"), Ok(10 * M));
        assert_eq!(parse_size("10."), Ok(10));
        assert_eq!(parse_size("1.5"), Ok(1));
        assert_eq!(parse_size("1.999999999999999999999999K"), Ok(2047));
    }

    /// systemd accepts these for `LimitAS=` (checked with `systemd-analyze verify`).
    #[test]
    fn sizes_add_up_with_falling_suffixes() {
        assert_eq!(parse_size("1G 512M"), Ok(G + 512 * M));
        assert_eq!(parse_size("1G512M"), Ok(G + 512 * M));
        assert_eq!(parse_size("1G5"), Ok(G + 5));
        assert_eq!(parse_size("1M 1K 1B"), Ok(M + K + 1));
    }

    #[test]
    fn bad_sizes_say_what_was_expected() {
        let bad = ["", " ", "1g", "1k", "1K 1G", "1K 1K", "5 5", "-1", ".5K", "1X", "1.5.5", "K", "1KB", "infinity"];
        for input in bad {
            let err = parse_size(input).unwrap_err();
            assert!(err.starts_with("expected a size in bytes with an optional K, M, G"), "{input:?}: {err}");
        }
    }

    #[test]
    fn oversized_sizes_are_errors() {
        for input in ["16E", "18446744073709551616", "15E 1024P", "99999999999999999999999999999999999999999999"] {
            assert_eq!(parse_size(input).unwrap_err(), "expected a size below 16E", "{input}");
        }
        assert_eq!(parse_size("18446744073709551615"), Ok(u64::MAX));
    }

    #[test]
    fn size_or_infinity() {
        assert_eq!(parse_size_or_infinity("infinity"), Ok(None));
        assert_eq!(parse_size_or_infinity("2M"), Ok(Some(2 * M)));
        let err = parse_size_or_infinity("lots").unwrap_err();
        assert!(err.starts_with("expected a size") && err.ends_with(", or infinity"), "{err}");
        assert!(parse_size_or_infinity("Infinity").is_err());
    }

    // --- time spans ----------------------------------------------------------------------------

    /// Results checked against `systemd-analyze timespan` (systemd 252).
    #[test]
    fn time_spans_as_systemd_reads_them() {
        let cases = [
            ("50", 50_000_000),
            ("0", 0),
            ("2min 200ms", 120_200_000),
            ("1min30s", 90_000_000),
            ("1min 30s", 90_000_000),
            ("1.5s", 1_500_000),
            (".5s", 500_000),
            ("1.5", 1_500_000),
            ("1y 12month", 63_115_200_000_000),
            ("300ms20s 5day", 432_020_300_000),
            ("1 M", 2_629_800_000_000),
            ("1M", 2_629_800_000_000),
            ("1m", 60_000_000),
            ("5\u{b5}s", 5),
            ("5\u{3bc}s", 5),
            ("+5s", 5_000_000),
            ("12.34 .56", 12_900_000),
            ("12.34s.56", 12_900_000),
            ("1.123456789s", 1_123_456),
            ("1 2", 3_000_000),
            ("5s 5", 10_000_000),
            ("1sec2", 3_000_000),
            ("5 s", 5_000_000),
            ("1hr", 3_600_000_000),
            ("5usec", 5),
            ("5us", 5),
            ("2 weeks", 1_209_600_000_000),
            ("2 h", 7_200_000_000),
            ("2hours", 7_200_000_000),
            ("48hr", 172_800_000_000),
            ("55s500ms", 55_500_000),
            ("1d", 86_400_000_000),
            ("1w", 604_800_000_000),
            ("1y", 31_557_600_000_000),
            ("3 seconds", 3_000_000),
            ("1 minute", 60_000_000),
            ("10msec", 10_000),
            ("  7s  ", 7_000_000),
        ];
        for (input, expected) in cases {
            assert_eq!(parse_time_usec(input), Ok(expected), "{input:?}");
        }
    }

    #[test]
    fn bad_time_spans_say_what_was_expected() {
        let bad = ["3.", "3.s", "1mo", "12.34.56", "1e3", "", "  ", "0x10", "-1", "-0", "5x", "s", "+.5s", "1 -2s"];
        for input in bad {
            assert_eq!(
                parse_time_usec(input).unwrap_err(),
                "expected a time span such as 30s, 1min 30s or 1.5h (a bare number means seconds)",
                "{input:?}"
            );
        }
    }

    #[test]
    fn overlong_time_spans_are_errors() {
        for input in ["584542y", "18446744073709551614us", "18446744073709551615us", "9223372036854775808us"] {
            assert_eq!(parse_time_usec(input).unwrap_err(), TIME_TOO_LARGE, "{input}");
        }
        assert_eq!(parse_time_usec("9223372036854775807us"), Ok(9_223_372_036_854_775_807));
    }

    #[test]
    fn infinity_only_where_allowed() {
        assert_eq!(parse_time_usec("infinity").unwrap_err(), "expected a finite time span, not infinity");
        assert_eq!(parse_time_or_infinity("infinity"), Ok(None));
        assert_eq!(parse_time_or_infinity(" infinity "), Ok(None));
        assert_eq!(parse_time_or_infinity("90s"), Ok(Some(90_000_000)));
        let err = parse_time_or_infinity("infinityx").unwrap_err();
        assert!(err.starts_with("expected a time span") && err.ends_with(", or infinity"), "{err}");
    }

    // --- modes and nice levels -----------------------------------------------------------------

    /// Checked against systemd 252 (`UMask=`).
    #[test]
    fn modes_are_octal_up_to_07777() {
        assert_eq!(parse_mode("0022"), Ok(0o22));
        assert_eq!(parse_mode("22"), Ok(0o22));
        assert_eq!(parse_mode("0"), Ok(0));
        assert_eq!(parse_mode("755"), Ok(0o755));
        assert_eq!(parse_mode("07777"), Ok(0o7777));
        assert_eq!(parse_mode("000000000000000000000644"), Ok(0o644));
        for input in ["", "8", "010000", "+22", "-1", "0x1", " 22", "22 ", "rwx", "99999999999999999999"] {
            assert_eq!(parse_mode(input).unwrap_err(), "expected an octal access mode from 0000 to 7777", "{input:?}");
        }
    }

    /// Checked against systemd 252 (`Nice=`): digits are read as C reads them.
    #[test]
    fn nice_levels() {
        let cases = [("0", 0), ("19", 19), ("-20", -20), ("+5", 5), ("-5", -5), ("010", 8), ("-0x14", -20), ("-0", 0)];
        for (input, expected) in cases {
            assert_eq!(parse_nice(input), Ok(expected), "{input}");
        }
        for input in ["20", "-21", "09", "", "a", "--5", "+-5", "-+5", "++5", " 5", "5 ", "1.5", "99999999999999999999"]
        {
            assert_eq!(parse_nice(input).unwrap_err(), "expected a nice level from -20 to 19", "{input:?}");
        }
    }

    // --- properties ----------------------------------------------------------------------------

    proptest! {
        #[test]
        fn sizes_scale_by_1024(n in 0u64..1 << 20, unit in 0usize..6) {
            let suffixes = ["", "K", "M", "G", "T", "P"];
            let expected = n.checked_mul(1u64 << (10 * unit as u32));
            prop_assert_eq!(parse_size(&format!("{n}{}", suffixes[unit])).ok(), expected);
        }

        #[test]
        fn bare_numbers_are_seconds(n in 0u64..1 << 40) {
            prop_assert_eq!(parse_time_usec(&n.to_string()), Ok(n * 1_000_000));
        }
    }
}
