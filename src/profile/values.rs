//! Value parsers: the grammars systemd uses for directive values, rewritten for sbx.
//!
//! Booleans, sizes, time spans, word lists with quotes and C escapes, access modes, paths,
//! `BindPaths=` and `TemporaryFileSystem=` entries, `Limit*=` values, environment assignments
//! and files, nice levels, and user/group names.
//!
//! Invariant: every parser is total. It returns the parsed value or a lowercase message naming
//! the form that was expected, and it never panics, whatever the input. Nothing here touches
//! the system: specifiers are expanded elsewhere, paths are only checked for shape.

use std::str::Chars;

// ---------------------------------------------------------------------------------------------
// Shared helpers
// ---------------------------------------------------------------------------------------------

/// The characters systemd's value parsers skip as whitespace.
const WHITESPACE: [char; 4] = [' ', '\t', '\n', '\r'];

fn is_whitespace(c: char) -> bool {
    WHITESPACE.contains(&c)
}

fn trim_start_ws(s: &str) -> &str {
    s.trim_start_matches(WHITESPACE)
}

/// Splits `s` after its longest prefix of characters matching `keep`.
fn split_leading(s: &str, keep: impl Fn(char) -> bool) -> (&str, &str) {
    let end = s.find(|c: char| !keep(c)).unwrap_or(s.len());
    s.split_at(end)
}

fn is_all_digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

/// Why a number could not be read: the wrong shape, or too large for its type.
enum Bad {
    Form,
    Range,
}

/// An unsigned integer the way C's `strtoull(s, _, 0)` reads it, which is what systemd uses
/// for `Limit*=` counts and nice levels: an optional `+`, then `0x` hexadecimal, `0` octal or
/// decimal digits, and nothing after them.
fn parse_c_unsigned(s: &str) -> Option<u64> {
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

fn parse_size_parts(s: &str) -> Result<u64, Bad> {
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

const USEC: u64 = 1;
const MSEC: u64 = 1_000;
const SEC: u64 = 1_000_000;
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
fn parse_time_span(s: &str, default_unit: u64) -> Result<Option<u64>, String> {
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
// Word splitting, quotes and C escapes
// ---------------------------------------------------------------------------------------------

const ESCAPES_EXPECTED: &str =
    "expected one of \\a \\b \\f \\n \\r \\t \\v \\\\ \\\" \\' \\s \\xNN \\NNN \\uNNNN \\UNNNNNNNN";
const TRAILING_BACKSLASH: &str =
    "expected a character after the backslash at the end (write \\\\ for a literal backslash)";
const NUL_ESCAPE: &str = "expected an escape sequence for a character other than NUL";
const NUL_CHAR: &str = "expected text without NUL characters";
const INVALID_UTF8: &str = "expected \\x and octal escapes to form valid UTF-8 (use \\u for a unicode character)";

/// Splits a list value into words the way systemd does for quoted lists: unquoted whitespace
/// separates words; `"..."` and `'...'` group (anywhere in a word) and are removed; C escapes
/// (`\n \t \\ \" \' \s \xNN \NNN \uNNNN \UNNNNNNNN`, also `\a \b \f \r \v`) are decoded inside
/// and outside quotes. `""` is an empty word. An unterminated quote, an unknown escape or a
/// trailing backslash is an error.
pub fn split_words(value: &str) -> Result<Vec<String>, String> {
    let mut chars = value.chars();
    let mut words = Vec::new();
    while let Some(word) = next_word(&mut chars)? {
        words.push(word);
    }
    Ok(words)
}

fn next_word(chars: &mut Chars<'_>) -> Result<Option<String>, String> {
    let mut word: Option<Vec<u8>> = None;
    let mut quote: Option<char> = None;
    while let Some(c) = chars.next() {
        if quote.is_none() && is_whitespace(c) {
            if word.is_some() {
                break;
            }
            continue;
        }
        let bytes = word.get_or_insert_with(Vec::new);
        match (quote, c) {
            (_, '\0') => return Err(NUL_CHAR.to_string()),
            (None, '"' | '\'') => quote = Some(c),
            (Some(open), _) if c == open => quote = None,
            (_, '\\') => push_escape(chars, bytes)?,
            _ => push_char(bytes, c),
        }
    }
    if let Some(open) = quote {
        return Err(format!("expected a closing {open} (unterminated quote)"));
    }
    word.map(|bytes| String::from_utf8(bytes).map_err(|_| INVALID_UTF8.to_string())).transpose()
}

fn push_char(bytes: &mut Vec<u8>, c: char) {
    let mut buffer = [0u8; 4];
    bytes.extend_from_slice(c.encode_utf8(&mut buffer).as_bytes());
}

/// Decodes the escape sequence after a backslash into `bytes`. `\x` and octal escapes give
/// single bytes (so `\xc3\xa9` spells `é`); the word is checked for UTF-8 once complete.
fn push_escape(chars: &mut Chars<'_>, bytes: &mut Vec<u8>) -> Result<(), String> {
    let Some(c) = chars.next() else {
        return Err(TRAILING_BACKSLASH.to_string());
    };
    match c {
        'a' => bytes.push(0x07),
        'b' => bytes.push(0x08),
        'f' => bytes.push(0x0c),
        'n' => bytes.push(b'\n'),
        'r' => bytes.push(b'\r'),
        't' => bytes.push(b'\t'),
        'v' => bytes.push(0x0b),
        's' => bytes.push(b' '),
        '\\' | '"' | '\'' => push_char(bytes, c),
        'x' => bytes.push(escaped_byte(take_digits(chars, 2, 16), "two hexadecimal digits after \\x")?),
        'u' => push_char(bytes, escaped_char(take_digits(chars, 4, 16), "\\u")?),
        'U' => push_char(bytes, escaped_char(take_digits(chars, 8, 16), "\\U")?),
        '0'..='7' => bytes.push(octal_escape(c, chars)?),
        other => {
            return Err(format!("unknown escape sequence \\{other}: {ESCAPES_EXPECTED}"));
        }
    }
    Ok(())
}

/// Reads exactly `count` digits in `radix`; `None` if fewer are there.
fn take_digits(chars: &mut Chars<'_>, count: usize, radix: u32) -> Option<u32> {
    let mut value: u32 = 0;
    for _ in 0..count {
        let digit = chars.next()?.to_digit(radix)?;
        value = value.checked_mul(radix)?.checked_add(digit)?;
    }
    Some(value)
}

fn escaped_byte(value: Option<u32>, expected: &str) -> Result<u8, String> {
    match value.map(u8::try_from) {
        Some(Ok(0)) => Err(NUL_ESCAPE.to_string()),
        Some(Ok(byte)) => Ok(byte),
        _ => Err(format!("expected {expected}")),
    }
}

fn escaped_char(value: Option<u32>, escape: &str) -> Result<char, String> {
    let digits = if escape == "\\u" { "four" } else { "eight" };
    let expected = || format!("expected {digits} hexadecimal digits after {escape} naming a unicode character");
    match value {
        Some(0) => Err(NUL_ESCAPE.to_string()),
        Some(code) => char::from_u32(code).ok_or_else(expected),
        None => Err(expected()),
    }
}

/// `\NNN`: three octal digits, the first already read, for a byte from 1 to 255.
fn octal_escape(first: char, chars: &mut Chars<'_>) -> Result<u8, String> {
    let expected = "three octal digits from \\001 to \\377";
    let high = first.to_digit(8).unwrap_or(0);
    let low = take_digits(chars, 2, 8);
    escaped_byte(low.map(|low| high * 64 + low), expected)
}

/// Splits at unquoted, unescaped whitespace but keeps every quote and backslash as written,
/// for values whose entries are decoded field by field (`BindPaths=`, see [`parse_bind_spec`]).
/// An unterminated quote or a trailing backslash is an error.
#[allow(dead_code, reason = "value-parser API; not every directive uses it yet")]
pub fn split_raw_words(value: &str) -> Result<Vec<String>, String> {
    let mut chars = value.chars();
    let mut words = Vec::new();
    while let Some(word) = next_raw_word(&mut chars)? {
        words.push(word);
    }
    Ok(words)
}

fn next_raw_word(chars: &mut Chars<'_>) -> Result<Option<String>, String> {
    let mut word: Option<String> = None;
    let mut quote: Option<char> = None;
    while let Some(c) = chars.next() {
        if quote.is_none() && is_whitespace(c) {
            if word.is_some() {
                break;
            }
            continue;
        }
        let text = word.get_or_insert_with(String::new);
        text.push(c);
        match (quote, c) {
            (None, '"' | '\'') => quote = Some(c),
            (Some(open), _) if c == open => quote = None,
            (_, '\\') => text.push(chars.next().ok_or(TRAILING_BACKSLASH)?),
            _ => {}
        }
    }
    if let Some(open) = quote {
        return Err(format!("expected a closing {open} (unterminated quote)"));
    }
    Ok(word)
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

// ---------------------------------------------------------------------------------------------
// Paths
// ---------------------------------------------------------------------------------------------

/// Longest path component Linux accepts (`NAME_MAX`).
const NAME_MAX: usize = 255;
/// Longest path Linux accepts, without its terminating NUL (`PATH_MAX - 1`).
const PATH_MAX: usize = 4095;

/// One entry of a path list such as `ReadOnlyPaths=`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PathEntry {
    /// Absolute and normalised (see [`normalize_absolute_path`]).
    pub path: String,
    /// Written with a `-` prefix: skip the entry when the path does not exist.
    pub ignore_missing: bool,
    /// Written with a `+` prefix: the path is inside `RootDirectory=`, not on the host.
    pub relative_to_root: bool,
}

/// A path list entry `[-][+]/PATH`. As in systemd, when both prefixes are used `-` comes first.
/// The word is already unquoted (see [`split_words`]).
pub fn parse_path_entry(word: &str) -> Result<PathEntry, String> {
    if word.starts_with("+-") {
        return Err("expected '-' before '+' when both prefixes are used (write -+/PATH)".to_string());
    }
    let (ignore_missing, rest) = strip_flag(word, '-');
    let (relative_to_root, rest) = strip_flag(rest, '+');
    let path = normalize_absolute_path(rest)?;
    Ok(PathEntry { path, ignore_missing, relative_to_root })
}

fn strip_flag(s: &str, flag: char) -> (bool, &str) {
    match s.strip_prefix(flag) {
        Some(rest) => (true, rest),
        None => (false, s),
    }
}

/// Checks that `path` is absolute and normalises it: repeated `/` collapse, `.` components and
/// a trailing `/` go. `..` components, NUL characters and over-long paths are refused.
/// Normalising a normalised path returns it unchanged.
pub fn normalize_absolute_path(path: &str) -> Result<String, String> {
    if path.contains('\0') {
        return Err(format!("expected a path without NUL characters, found {path:?}"));
    }
    if !path.starts_with('/') {
        return Err(format!("expected an absolute path, found {path:?}"));
    }
    let components: Vec<&str> = path.split('/').filter(|c| !c.is_empty() && *c != ".").collect();
    if components.contains(&"..") {
        return Err(format!("expected a path without '..' components, found {path:?}"));
    }
    if components.iter().any(|c| c.len() > NAME_MAX) {
        return Err(format!("expected path components of at most {NAME_MAX} bytes, found {path:?}"));
    }
    let normalized = format!("/{}", components.join("/"));
    if normalized.len() > PATH_MAX {
        return Err(format!("expected a path of at most {PATH_MAX} bytes"));
    }
    Ok(normalized)
}

// ---------------------------------------------------------------------------------------------
// BindPaths= entries
// ---------------------------------------------------------------------------------------------

/// One `BindPaths=`/`BindReadOnlyPaths=` entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BindSpec {
    /// The host path; `relative_to_root` is always false (systemd has no `+` here).
    pub source: PathEntry,
    /// Where it appears in the sandbox; the source path when not given.
    pub dest: String,
    /// `rbind` (the default) rather than `norbind`.
    pub recursive: bool,
}

/// A bind entry `[-]SOURCE[:DEST[:OPTIONS]]`, OPTIONS `rbind` (default) or `norbind`.
///
/// `word` is one entry as [`split_raw_words`] returns it: each field is decoded here, as systemd
/// does, so quotes group (`"/a b":/c`) and a backslash makes the next character literal
/// (`/a\:b` is the path `/a:b`). An already unquoted word works as well unless it holds
/// literal quotes or backslashes.
pub fn parse_bind_spec(word: &str) -> Result<BindSpec, String> {
    let mut fields = split_bind_fields(word)?.into_iter();
    let source = parse_bind_source(&fields.next().unwrap_or_default())?;
    let dest = match fields.next() {
        None => source.path.clone(),
        Some(dest) if dest.is_empty() => {
            return Err("expected a destination path after ':'".to_string());
        }
        Some(dest) => normalize_absolute_path(&dest).map_err(|e| format!("destination: {e}"))?,
    };
    let recursive = match fields.next() {
        None => true,
        Some(options) => parse_bind_options(&options)?,
    };
    if fields.next().is_some() {
        return Err("expected at most SOURCE:DEST:OPTIONS (escape a ':' in a path as \\:)".to_string());
    }
    Ok(BindSpec { source, dest, recursive })
}

/// Splits at unquoted, unescaped `:`, removing quotes and escaping backslashes.
fn split_bind_fields(word: &str) -> Result<Vec<String>, String> {
    let mut fields = Vec::new();
    let mut field = String::new();
    let mut quote: Option<char> = None;
    let mut chars = word.chars();
    while let Some(c) = chars.next() {
        match (quote, c) {
            (None, ':') => fields.push(std::mem::take(&mut field)),
            (None, '"' | '\'') => quote = Some(c),
            (Some(open), _) if c == open => quote = None,
            (_, '\\') => field.push(chars.next().ok_or(TRAILING_BACKSLASH)?),
            _ => field.push(c),
        }
    }
    if let Some(open) = quote {
        return Err(format!("expected a closing {open} (unterminated quote)"));
    }
    fields.push(field);
    Ok(fields)
}

fn parse_bind_source(field: &str) -> Result<PathEntry, String> {
    let (ignore_missing, path) = strip_flag(field, '-');
    if path.starts_with('+') {
        return Err(format!("expected an absolute source path ('+' is not accepted in bind mounts), found {path:?}"));
    }
    let path = normalize_absolute_path(path).map_err(|e| format!("source: {e}"))?;
    Ok(PathEntry { path, ignore_missing, relative_to_root: false })
}

fn parse_bind_options(options: &str) -> Result<bool, String> {
    match options {
        "" | "rbind" => Ok(true),
        "norbind" => Ok(false),
        other => Err(format!("expected rbind or norbind as bind option, found {other:?}")),
    }
}

// ---------------------------------------------------------------------------------------------
// TemporaryFileSystem= entries
// ---------------------------------------------------------------------------------------------

/// One `TemporaryFileSystem=` entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TmpfsSpec {
    /// Absolute and normalised mount point.
    pub path: String,
    /// Mount options as written, each one from the allow-list of [`parse_tmpfs_spec`].
    pub options: Vec<String>,
}

const TMPFS_FLAGS: [&str; 8] = ["ro", "rw", "nosuid", "nodev", "noexec", "exec", "suid", "dev"];
const TMPFS_OPTIONS_EXPECTED: &str = "expected one of ro, rw, nosuid, nodev, noexec, exec, suid, dev, \
     mode=OCTAL, size=BYTES[K|M|G|T|P|E] or size=PERCENT%, nr_inodes=N[K|M|G|T|P|E], uid=N, gid=N";

/// A tmpfs entry `PATH[:OPTIONS]`, OPTIONS comma-separated from: `ro rw nosuid nodev noexec
/// exec suid dev mode=OCTAL size=N[kmgtpe]|size=N% nr_inodes=N[kmgtpe] uid=N gid=N` (sizes as
/// the kernel reads them: whole numbers, one optional suffix in either case).
///
/// `word` is already unquoted (see [`split_words`]); as in systemd the path ends at the first
/// `:` not escaped with a backslash.
pub fn parse_tmpfs_spec(word: &str) -> Result<TmpfsSpec, String> {
    let (path, options) = split_tmpfs_word(word)?;
    let path = normalize_absolute_path(&path)?;
    let options = match options {
        Some(options) if !options.is_empty() => parse_tmpfs_options(options)?,
        _ => Vec::new(),
    };
    Ok(TmpfsSpec { path, options })
}

fn split_tmpfs_word(word: &str) -> Result<(String, Option<&str>), String> {
    let mut path = String::new();
    let mut chars = word.char_indices();
    while let Some((at, c)) = chars.next() {
        match c {
            ':' => return Ok((path, Some(word.get(at + 1..).unwrap_or("")))),
            '\\' => path.push(chars.next().map(|(_, c)| c).ok_or(TRAILING_BACKSLASH)?),
            _ => path.push(c),
        }
    }
    Ok((path, None))
}

fn parse_tmpfs_options(options: &str) -> Result<Vec<String>, String> {
    options.split(',').map(|option| check_tmpfs_option(option).map(|()| option.to_string())).collect()
}

fn check_tmpfs_option(option: &str) -> Result<(), String> {
    let valid = match option.split_once('=') {
        None if option.is_empty() => {
            return Err("expected a mount option between commas".to_string());
        }
        None => TMPFS_FLAGS.contains(&option),
        Some(("mode", mode)) => parse_mode(mode).is_ok(),
        Some(("size", size)) => is_kernel_size(size.strip_suffix('%').unwrap_or(size)),
        Some(("nr_inodes", count)) => is_kernel_size(count),
        Some(("uid" | "gid", id)) => is_all_digits(id) && id.parse::<u32>().is_ok(),
        Some(_) => false,
    };
    if valid { Ok(()) } else { Err(format!("unsupported tmpfs option {option:?}: {TMPFS_OPTIONS_EXPECTED}")) }
}

/// A whole number with at most one `k m g t p e` suffix in either case, as the kernel's tmpfs
/// reads `size=` and `nr_inodes=`.
fn is_kernel_size(s: &str) -> bool {
    let digits = s.strip_suffix(|c: char| "kKmMgGtTpPeE".contains(c)).unwrap_or(s);
    is_all_digits(digits) && digits.parse::<u64>().is_ok()
}

// ---------------------------------------------------------------------------------------------
// Resource limits
// ---------------------------------------------------------------------------------------------

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

// ---------------------------------------------------------------------------------------------
// Environment
// ---------------------------------------------------------------------------------------------

const ENV_NAME_EXPECTED: &str = "expected ASCII letters, digits and '_', not starting with a digit";

/// systemd's rule for variable names: ASCII letters, digits and `_`, not empty, not starting
/// with a digit.
pub fn valid_env_name(name: &str) -> bool {
    let mut chars = name.chars();
    match chars.next() {
        Some(first) if first.is_ascii_alphabetic() || first == '_' => {
            chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        }
        _ => false,
    }
}

/// An `Environment=` value: words as [`split_words`] splits them, each `NAME=VALUE`.
/// Quote a whole assignment to put spaces in its value: `"A=x y" B=z`.
pub fn parse_env_assignments(value: &str) -> Result<Vec<(String, String)>, String> {
    split_words(value)?.iter().map(|word| parse_env_word(word)).collect()
}

fn parse_env_word(word: &str) -> Result<(String, String), String> {
    let Some((name, value)) = word.split_once('=') else {
        return Err(format!("expected NAME=VALUE, found {word:?}"));
    };
    check_env_pair(name, value)?;
    Ok((name.to_string(), value.to_string()))
}

fn check_env_pair(name: &str, value: &str) -> Result<(), String> {
    if !valid_env_name(name) {
        let hint = if name.starts_with("export ") { " (a shell 'export' prefix is not understood)" } else { "" };
        return Err(format!("invalid variable name {name:?}: {ENV_NAME_EXPECTED}{hint}"));
    }
    if value.contains('\0') {
        return Err(format!("expected a value for {name} without NUL characters"));
    }
    Ok(())
}

/// Parses `EnvironmentFile=` contents as systemd.exec(5) describes them:
///
/// * `NAME=VALUE` lines; blank lines, lines without `=` and lines whose first non-blank
///   character is `#` or `;` are skipped (a comment never continues onto the next line);
///   `export NAME=...` is not special, and so is refused as an invalid name;
/// * whitespace around the name and the value is dropped;
/// * an unquoted value keeps its inner whitespace and any quotes after its first character;
///   a backslash makes the next character literal, and backslash-newline joins lines;
/// * a value starting with `'` runs verbatim to the next `'`, possibly over several lines;
/// * a value starting with `"` runs to the next unescaped `"`; inside, a backslash before
///   `" \ ` $` keeps just that character, before a newline joins lines, and is otherwise kept.
///
/// sbx is stricter than systemd, which skips bad lines with a warning: an invalid variable name
/// or an unterminated quote is an error, with the 1-based line it starts on.
pub fn parse_env_file(text: &str) -> Result<Vec<(String, String)>, (u32, String)> {
    let mut parser = EnvFileParser::default();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\r' && chars.peek() == Some(&'\n') {
            continue;
        }
        parser.feed(c)?;
    }
    parser.finish()
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
enum EnvState {
    #[default]
    PreKey,
    Key,
    PreValue,
    Value,
    ValueEscape,
    SingleQuoted,
    DoubleQuoted,
    DoubleQuotedEscape,
    Comment,
}

#[derive(Debug)]
struct EnvFileParser {
    state: EnvState,
    /// The 1-based line being read.
    line: u32,
    key: String,
    key_line: u32,
    value: String,
    /// How much of `value` to keep: unquoted trailing whitespace is dropped.
    value_keep: usize,
    quote_line: u32,
    assignments: Vec<(String, String)>,
}

impl Default for EnvFileParser {
    fn default() -> Self {
        EnvFileParser {
            state: EnvState::PreKey,
            line: 1,
            key: String::new(),
            key_line: 1,
            value: String::new(),
            value_keep: 0,
            quote_line: 1,
            assignments: Vec::new(),
        }
    }
}

fn is_env_newline(c: char) -> bool {
    c == '\n' || c == '\r'
}

impl EnvFileParser {
    fn feed(&mut self, c: char) -> Result<(), (u32, String)> {
        match self.state {
            EnvState::PreKey => self.pre_key(c),
            EnvState::Key => self.key_char(c),
            EnvState::PreValue => return self.pre_value(c),
            EnvState::Value => return self.value_char(c),
            EnvState::ValueEscape => {
                self.state = EnvState::Value;
                self.push_kept(c);
            }
            EnvState::SingleQuoted => self.quoted_char(c, '\''),
            EnvState::DoubleQuoted if c == '\\' => self.state = EnvState::DoubleQuotedEscape,
            EnvState::DoubleQuoted => self.quoted_char(c, '"'),
            EnvState::DoubleQuotedEscape => self.double_quoted_escape(c),
            EnvState::Comment if is_env_newline(c) => self.next_line(EnvState::PreKey),
            EnvState::Comment => {}
        }
        Ok(())
    }

    fn next_line(&mut self, state: EnvState) {
        self.line = self.line.saturating_add(1);
        self.state = state;
    }

    fn pre_key(&mut self, c: char) {
        if is_env_newline(c) {
            self.next_line(EnvState::PreKey);
        } else if c == '#' || c == ';' {
            self.state = EnvState::Comment;
        } else if !is_whitespace(c) {
            self.key.clear();
            self.key.push(c);
            self.key_line = self.line;
            self.state = EnvState::Key;
        }
    }

    fn key_char(&mut self, c: char) {
        if is_env_newline(c) {
            // A line without '=' is skipped.
            self.next_line(EnvState::PreKey);
        } else if c == '=' {
            self.value.clear();
            self.value_keep = 0;
            self.state = EnvState::PreValue;
        } else {
            self.key.push(c);
        }
    }

    fn pre_value(&mut self, c: char) -> Result<(), (u32, String)> {
        match c {
            _ if is_env_newline(c) => {
                self.push_assignment()?;
                self.next_line(EnvState::PreKey);
            }
            '\'' => self.open_quote(EnvState::SingleQuoted),
            '"' => self.open_quote(EnvState::DoubleQuoted),
            '\\' => self.state = EnvState::ValueEscape,
            _ if is_whitespace(c) => {}
            _ => {
                self.push_kept(c);
                self.state = EnvState::Value;
            }
        }
        Ok(())
    }

    fn value_char(&mut self, c: char) -> Result<(), (u32, String)> {
        if is_env_newline(c) {
            self.push_assignment()?;
            self.next_line(EnvState::PreKey);
        } else if c == '\\' {
            self.state = EnvState::ValueEscape;
        } else if is_whitespace(c) {
            self.value.push(c);
        } else {
            self.push_kept(c);
        }
        Ok(())
    }

    /// Appends a character that is never trimmed. An escaped newline joins lines instead.
    fn push_kept(&mut self, c: char) {
        if is_env_newline(c) {
            self.line = self.line.saturating_add(1);
            return;
        }
        self.value.push(c);
        self.value_keep = self.value.len();
    }

    fn open_quote(&mut self, state: EnvState) {
        self.quote_line = self.line;
        self.state = state;
    }

    fn quoted_char(&mut self, c: char, close: char) {
        if c == close {
            self.state = EnvState::PreValue;
            return;
        }
        if is_env_newline(c) {
            self.line = self.line.saturating_add(1);
        }
        self.value.push(c);
        self.value_keep = self.value.len();
    }

    fn double_quoted_escape(&mut self, c: char) {
        self.state = EnvState::DoubleQuoted;
        if is_env_newline(c) {
            self.line = self.line.saturating_add(1);
            return;
        }
        if !"\"\\`$".contains(c) {
            self.value.push('\\');
        }
        self.value.push(c);
        self.value_keep = self.value.len();
    }

    fn push_assignment(&mut self) -> Result<(), (u32, String)> {
        let name = self.key.trim_end_matches(WHITESPACE);
        let value = self.value.get(..self.value_keep).unwrap_or(&self.value);
        check_env_pair(name, value).map_err(|message| (self.key_line, message))?;
        self.assignments.push((name.to_string(), value.to_string()));
        Ok(())
    }

    fn finish(mut self) -> Result<Vec<(String, String)>, (u32, String)> {
        match self.state {
            EnvState::PreValue | EnvState::Value | EnvState::ValueEscape => self.push_assignment()?,
            EnvState::SingleQuoted => return Err(self.unterminated('\'')),
            EnvState::DoubleQuoted | EnvState::DoubleQuotedEscape => {
                return Err(self.unterminated('"'));
            }
            EnvState::PreKey | EnvState::Key | EnvState::Comment => {}
        }
        Ok(self.assignments)
    }

    fn unterminated(&self, quote: char) -> (u32, String) {
        let message = format!("expected a closing {quote} for the value of {} (unterminated quote)", self.key.trim());
        (self.quote_line, message)
    }
}

// ---------------------------------------------------------------------------------------------
// Users and groups
// ---------------------------------------------------------------------------------------------

/// systemd's relaxed user/group name rule, or a numeric id. A name must not be empty, start or
/// end with a space, contain control characters, `:` or `/`, be `.` or `..`, or look like a
/// number (`123`, `-1`, `-`). An id is a decimal below 2^32 - 1, other than 65535.
pub fn valid_user_or_group(name: &str) -> bool {
    if is_all_digits(name) {
        return matches!(name.parse::<u32>(), Ok(id) if id != u32::MAX && id != 65535);
    }
    let negative_number = name.strip_prefix('-').is_some_and(|rest| rest.bytes().all(|b| b.is_ascii_digit()));
    !name.is_empty()
        && !name.starts_with(' ')
        && !name.ends_with(' ')
        && !name.chars().any(|c| c.is_ascii_control())
        && !name.contains([':', '/'])
        && !negative_number
        && name != "."
        && name != ".."
}

/// A list of user or group names or numeric ids (`SupplementaryGroups=`), split as
/// [`split_words`] splits.
#[allow(dead_code, reason = "value-parser API; not every directive uses it yet")]
pub fn parse_name_list(value: &str) -> Result<Vec<String>, String> {
    let names = split_words(value)?;
    match names.iter().find(|name| !valid_user_or_group(name)) {
        Some(bad) => Err(format!(
            "invalid user or group {bad:?}: expected a name without control characters, ':' or '/' \
             that is not a number, or a numeric id"
        )),
        None => Ok(names),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const K: u64 = 1024;
    const M: u64 = 1024 * K;
    const G: u64 = 1024 * M;

    fn words(value: &str) -> Vec<String> {
        split_words(value).unwrap()
    }

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    fn entry(path: &str, ignore_missing: bool, relative_to_root: bool) -> PathEntry {
        PathEntry { path: path.to_string(), ignore_missing, relative_to_root }
    }

    fn limit(soft: Option<u64>, hard: Option<u64>) -> RlimitValue {
        RlimitValue { soft, hard }
    }

    fn both(value: u64) -> RlimitValue {
        limit(Some(value), Some(value))
    }

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

    // --- word splitting ------------------------------------------------------------------------

    #[test]
    fn words_split_on_whitespace() {
        assert_eq!(words("a b\tc\n d  "), ["a", "b", "c", "d"]);
        assert!(words("").is_empty());
        assert!(words("  \t ").is_empty());
        assert_eq!(words("é ✓"), ["é", "✓"]);
    }

    /// Quote handling checked against systemd 252 (`Environment=` and `ReadOnlyPaths=`).
    #[test]
    fn quotes_group_and_are_removed() {
        assert_eq!(words(r#""a b" 'c d'"#), ["a b", "c d"]);
        assert_eq!(words(r#"a"b c"d"#), ["ab cd"]);
        assert_eq!(words(r#"'rel q'x"#), ["rel qx"]);
        assert_eq!(words(r#""it's" 'say "hi"'"#), ["it's", r#"say "hi""#]);
        assert_eq!(words(r#"a "" b"#), ["a", "", "b"]);
        assert_eq!(words(r#"a""b"#), ["ab"]);
        assert_eq!(
            words(r#""VAR1=word1 word2" VAR2=word3 "VAR3=$word 5 6""#),
            ["VAR1=word1 word2", "VAR2=word3", "VAR3=$word 5 6"]
        );
    }

    /// Escapes checked against systemd 252 (`Environment=`).
    #[test]
    fn escapes_are_decoded_inside_and_outside_quotes() {
        assert_eq!(words(r"a\nb"), ["a\nb"]);
        assert_eq!(words(r"'x\ny'"), ["x\ny"]);
        assert_eq!(words(r#""a\tb""#), ["a\tb"]);
        assert_eq!(words(r#"\\ \' \""#), ["\\", "'", "\""]);
        assert_eq!(words(r"a\sb \a\b\f\r\v"), ["a b", "\x07\x08\x0c\r\x0b"]);
        assert_eq!(words(r"\x41\101\u00e9"), ["AAé"]);
        assert_eq!(words(r"\xc3\xa9 \303\251"), ["é", "é"]);
        assert_eq!(words(r"\U0001F600 \U0010FFFF"), ["\u{1F600}", "\u{10FFFF}"]);
        assert_eq!(words(r#""a\"b" 'c\'d'"#), ["a\"b", "c'd"]);
        assert_eq!(words(r"\x7e\177"), ["~\x7f"]);
    }

    #[test]
    fn bad_escapes_say_what_was_expected() {
        for input in [r"a\ b", r"a\:b", r"\q", r"\8", r"\c"] {
            let err = split_words(input).unwrap_err();
            assert!(err.starts_with("unknown escape sequence \\"), "{input}: {err}");
            assert!(err.contains("expected one of \\a"), "{err}");
        }
        for input in [r"\x", r"\x4", r"\xg0", r"\x4 "] {
            assert_eq!(split_words(input).unwrap_err(), "expected two hexadecimal digits after \\x", "{input}");
        }
        for input in [r"\u12", r"\ud800", r"\uzzzz"] {
            let err = split_words(input).unwrap_err();
            assert!(err.starts_with("expected four hexadecimal digits after \\u"), "{input}: {err}");
        }
        for input in [r"\U00110000", r"\U0000"] {
            let err = split_words(input).unwrap_err();
            assert!(err.starts_with("expected eight hexadecimal digits after \\U"), "{input}: {err}");
        }
        for input in [r"\400", r"\1", r"\19"] {
            let err = split_words(input).unwrap_err();
            assert!(err.contains("three octal digits"), "{input}: {err}");
        }
    }

    #[test]
    fn nul_is_refused_in_every_spelling() {
        for input in [r"\x00", r"\000", r"\u0000", r"\U00000000", "'\\x00'"] {
            assert_eq!(
                split_words(input).unwrap_err(),
                "expected an escape sequence for a character other than NUL",
                "{input}"
            );
        }
        assert_eq!(split_words("a\0b").unwrap_err(), "expected text without NUL characters");
    }

    #[test]
    fn byte_escapes_must_form_utf8() {
        let err = split_words(r"\xc3").unwrap_err();
        assert!(err.contains("valid UTF-8"), "{err}");
        assert!(split_words(r"\377").is_err());
    }

    #[test]
    fn unterminated_quotes_and_trailing_backslashes_are_errors() {
        assert_eq!(split_words(r#"a "b c"#).unwrap_err(), "expected a closing \" (unterminated quote)");
        assert_eq!(split_words("'abc").unwrap_err(), "expected a closing ' (unterminated quote)");
        assert_eq!(split_words(r#""a'"#).unwrap_err(), "expected a closing \" (unterminated quote)");
        let err = split_words("abc\\").unwrap_err();
        assert!(err.starts_with("expected a character after the backslash at the end"), "{err}");
        assert!(split_words("\"abc\\").is_err());
    }

    #[test]
    fn raw_words_keep_quotes_and_backslashes() {
        assert_eq!(split_raw_words(r#"/a\:b:/c "/d e":/f  x\ y"#).unwrap(), [r"/a\:b:/c", r#""/d e":/f"#, r"x\ y"]);
        assert_eq!(split_raw_words("  ").unwrap(), Vec::<String>::new());
        assert_eq!(split_raw_words(r"'a\'b'").unwrap(), [r"'a\'b'"]);
        assert_eq!(split_raw_words("'a").unwrap_err(), "expected a closing ' (unterminated quote)");
        assert!(split_raw_words("a\\").is_err());
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

    // --- paths ---------------------------------------------------------------------------------

    #[test]
    fn paths_are_normalised() {
        let cases = [
            ("/", "/"),
            ("//", "/"),
            ("/.", "/"),
            ("/a/b", "/a/b"),
            ("/a//b/", "/a/b"),
            ("/a/./b/.", "/a/b"),
            ("///a///", "/a"),
            ("/a b/ü", "/a b/ü"),
            ("/.hidden/..x/x..", "/.hidden/..x/x.."),
        ];
        for (input, expected) in cases {
            assert_eq!(normalize_absolute_path(input).as_deref(), Ok(expected), "{input}");
        }
    }

    #[test]
    fn bad_paths_say_what_was_expected() {
        let err = normalize_absolute_path("rel/x").unwrap_err();
        assert_eq!(err, "expected an absolute path, found \"rel/x\"");
        assert!(normalize_absolute_path("").unwrap_err().starts_with("expected an absolute path"));
        for input in ["/a/../b", "/..", "/a/.."] {
            let err = normalize_absolute_path(input).unwrap_err();
            assert!(err.starts_with("expected a path without '..' components"), "{input}: {err}");
        }
        assert!(normalize_absolute_path("/a\0b").unwrap_err().starts_with("expected a path without NUL"));
        let long_component = format!("/{}", "x".repeat(256));
        assert!(normalize_absolute_path(&long_component).unwrap_err().contains("at most 255 bytes"));
        assert!(normalize_absolute_path(&format!("/{}", "x".repeat(255))).is_ok());
        let long_path = "/abcdefg".repeat(600);
        assert!(normalize_absolute_path(&long_path).unwrap_err().contains("at most 4095 bytes"));
    }

    /// Prefix order checked against systemd 252 (`ReadOnlyPaths=+-/b` is refused).
    #[test]
    fn path_entries_with_prefixes() {
        assert_eq!(parse_path_entry("/var/lib/x/"), Ok(entry("/var/lib/x", false, false)));
        assert_eq!(parse_path_entry("-/opt"), Ok(entry("/opt", true, false)));
        assert_eq!(parse_path_entry("+/etc"), Ok(entry("/etc", false, true)));
        assert_eq!(parse_path_entry("-+/srv//data"), Ok(entry("/srv/data", true, true)));
        let err = parse_path_entry("+-/b").unwrap_err();
        assert_eq!(err, "expected '-' before '+' when both prefixes are used (write -+/PATH)");
        for input in ["-", "+", "-+", "--/a", "++/a", "rel", "-rel", "~/x"] {
            assert!(parse_path_entry(input).unwrap_err().starts_with("expected an absolute path"), "{input}");
        }
        assert!(parse_path_entry("-/c/../d").unwrap_err().contains("'..'"));
    }

    // --- bind specs ----------------------------------------------------------------------------

    fn bind(source: PathEntry, dest: &str, recursive: bool) -> BindSpec {
        BindSpec { source, dest: dest.to_string(), recursive }
    }

    #[test]
    fn bind_specs() {
        assert_eq!(parse_bind_spec("/src"), Ok(bind(entry("/src", false, false), "/src", true)));
        assert_eq!(parse_bind_spec("-/src/"), Ok(bind(entry("/src", true, false), "/src", true)));
        assert_eq!(parse_bind_spec("/a:/b"), Ok(bind(entry("/a", false, false), "/b", true)));
        assert_eq!(parse_bind_spec("/a:/b:rbind"), Ok(bind(entry("/a", false, false), "/b", true)));
        assert_eq!(parse_bind_spec("/a:/b:norbind"), Ok(bind(entry("/a", false, false), "/b", false)));
        assert_eq!(parse_bind_spec("/a:/b:"), Ok(bind(entry("/a", false, false), "/b", true)));
        assert_eq!(parse_bind_spec("-/a//x:/b/./y"), Ok(bind(entry("/a/x", true, false), "/b/y", true)));
    }

    /// Escapes and quotes as systemd 252 decodes `BindPaths=` fields.
    #[test]
    fn bind_specs_decode_escapes_and_quotes_per_field() {
        assert_eq!(parse_bind_spec(r"/a\:b:/c"), Ok(bind(entry("/a:b", false, false), "/c", true)));
        assert_eq!(parse_bind_spec(r#""/n:o":/p"#), Ok(bind(entry("/n:o", false, false), "/p", true)));
        assert_eq!(parse_bind_spec(r"/x\ y:/z\\w"), Ok(bind(entry("/x y", false, false), r"/z\w", true)));
        assert_eq!(parse_bind_spec(r"/q\nr"), Ok(bind(entry("/qnr", false, false), "/qnr", true)));
        assert_eq!(parse_bind_spec(r#"-"/a b":'/c d':norbind"#), Ok(bind(entry("/a b", true, false), "/c d", false)));
    }

    #[test]
    fn raw_words_feed_bind_specs() {
        let specs: Vec<BindSpec> = split_raw_words(r#"/a\:b:/c "/d e":/f:norbind"#)
            .unwrap()
            .iter()
            .map(|word| parse_bind_spec(word).unwrap())
            .collect();
        assert_eq!(
            specs,
            [bind(entry("/a:b", false, false), "/c", true), bind(entry("/d e", false, false), "/f", false)]
        );
    }

    #[test]
    fn bad_bind_specs_say_what_was_expected() {
        assert_eq!(parse_bind_spec("/h:").unwrap_err(), "expected a destination path after ':'");
        assert_eq!(parse_bind_spec("/i::rbind").unwrap_err(), "expected a destination path after ':'");
        assert_eq!(
            parse_bind_spec("/f:/g:bogus").unwrap_err(),
            "expected rbind or norbind as bind option, found \"bogus\""
        );
        assert!(parse_bind_spec("/a:/b:rbind:x").unwrap_err().starts_with("expected at most SOURCE:DEST:OPTIONS"));
        assert!(parse_bind_spec("-/k:rel").unwrap_err().starts_with("destination: expected an absolute path"));
        assert!(parse_bind_spec("rel").unwrap_err().starts_with("source: expected an absolute path"));
        assert!(parse_bind_spec("").unwrap_err().starts_with("source: expected an absolute path"));
        assert!(parse_bind_spec("+/j").unwrap_err().contains("'+' is not accepted in bind mounts"));
        assert!(parse_bind_spec("/a/../b").unwrap_err().contains("'..'"));
        assert_eq!(parse_bind_spec(r#""/a:/b"#).unwrap_err(), "expected a closing \" (unterminated quote)");
        assert!(parse_bind_spec("/a\\").unwrap_err().starts_with("expected a character after the backslash"));
    }

    // --- tmpfs specs ---------------------------------------------------------------------------

    fn tmpfs(path: &str, options: &[&str]) -> TmpfsSpec {
        TmpfsSpec { path: path.to_string(), options: options.iter().map(|o| o.to_string()).collect() }
    }

    #[test]
    fn tmpfs_specs() {
        assert_eq!(parse_tmpfs_spec("/var"), Ok(tmpfs("/var", &[])));
        assert_eq!(parse_tmpfs_spec("/var/"), Ok(tmpfs("/var", &[])));
        assert_eq!(parse_tmpfs_spec("/t:"), Ok(tmpfs("/t", &[])));
        assert_eq!(parse_tmpfs_spec("/var:ro"), Ok(tmpfs("/var", &["ro"])));
        let all = "ro,rw,nosuid,nodev,noexec,exec,suid,dev,mode=0755,size=10%,size=64M,size=1g,size=4096,\
                   nr_inodes=1k,nr_inodes=100,uid=0,gid=1000";
        let spec = parse_tmpfs_spec(&format!("/x:{all}")).unwrap();
        assert_eq!(spec.path, "/x");
        assert_eq!(spec.options, all.split(',').collect::<Vec<_>>());
    }

    #[test]
    fn tmpfs_path_may_escape_its_colon() {
        assert_eq!(parse_tmpfs_spec(r"/a\:b:ro"), Ok(tmpfs("/a:b", &["ro"])));
    }

    #[test]
    fn bad_tmpfs_specs_say_what_was_expected() {
        for option in [
            "bogus=1",
            "strictatime",
            "size=1.5G",
            "size=10%%",
            "size=",
            "nr_inodes=10%",
            "mode=8",
            "mode=",
            "uid=-1",
            "uid=x",
            "gid=4294967296",
            "RO",
            "ro=1",
        ] {
            let err = parse_tmpfs_spec(&format!("/t:ro,{option}")).unwrap_err();
            assert!(err.starts_with(&format!("unsupported tmpfs option {option:?}: expected one of ro, rw")), "{err}");
        }
        assert_eq!(parse_tmpfs_spec("/u:ro,,nodev").unwrap_err(), "expected a mount option between commas");
        assert_eq!(parse_tmpfs_spec("/u:ro,").unwrap_err(), "expected a mount option between commas");
        assert!(parse_tmpfs_spec("rel:ro").unwrap_err().starts_with("expected an absolute path"));
        assert!(parse_tmpfs_spec(":ro").unwrap_err().starts_with("expected an absolute path"));
        assert!(parse_tmpfs_spec("/a/../b").unwrap_err().contains("'..'"));
    }

    // --- resource limits -----------------------------------------------------------------------

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

    // --- environment ---------------------------------------------------------------------------

    #[test]
    fn env_names() {
        for name in ["A", "_", "a_b", "PATH", "X1", "_1"] {
            assert!(valid_env_name(name), "{name}");
        }
        for name in ["", "1B", "C-D", "E.F", "É", "A B", "A=B", "export X"] {
            assert!(!valid_env_name(name), "{name}");
        }
    }

    /// The example from systemd.exec(5), and empty values.
    #[test]
    fn env_assignments() {
        let parsed = parse_env_assignments(r#"VAR1="word1 word2" VAR2=word3 "VAR3=$word 5 6""#);
        assert_eq!(parsed, Ok(pairs(&[("VAR1", "word1 word2"), ("VAR2", "word3"), ("VAR3", "$word 5 6")])));
        assert_eq!(parse_env_assignments("A= B==x"), Ok(pairs(&[("A", ""), ("B", "=x")])));
        assert_eq!(parse_env_assignments(r"M=\u00e9 O=\s"), Ok(pairs(&[("M", "é"), ("O", " ")])));
        assert_eq!(parse_env_assignments(""), Ok(vec![]));
    }

    #[test]
    fn bad_env_assignments_say_what_was_expected() {
        let err = parse_env_assignments("A=1 1B=2").unwrap_err();
        assert_eq!(
            err,
            "invalid variable name \"1B\": expected ASCII letters, digits and '_', not starting with a digit"
        );
        assert!(parse_env_assignments("C-D=3").unwrap_err().starts_with("invalid variable name \"C-D\""));
        assert!(parse_env_assignments("É=1").is_err());
        assert_eq!(parse_env_assignments("NOEQUALS").unwrap_err(), "expected NAME=VALUE, found \"NOEQUALS\"");
        assert_eq!(parse_env_assignments(r#""""#).unwrap_err(), "expected NAME=VALUE, found \"\"");
        assert_eq!(
            parse_env_assignments("=x").unwrap_err(),
            "invalid variable name \"\": expected ASCII letters, digits and '_', not starting with a digit"
        );
        assert!(parse_env_assignments(r#"P="unterminated"#).unwrap_err().contains("unterminated quote"));
        assert!(parse_env_assignments(r"J=\q").unwrap_err().starts_with("unknown escape sequence"));
        assert!(parse_env_assignments(r"L=\x00").unwrap_err().contains("other than NUL"));
    }

    // --- environment files ---------------------------------------------------------------------

    fn env_file(text: &str) -> Vec<(String, String)> {
        parse_env_file(text).unwrap()
    }

    #[test]
    fn env_file_basics() {
        let text = "# comment\n; other comment\n\nA=1\n  B = two words  \nC=\nNOEQUALS\n   # indented comment\nD=x#y\n";
        assert_eq!(env_file(text), pairs(&[("A", "1"), ("B", "two words"), ("C", ""), ("D", "x#y")]));
        assert_eq!(env_file(""), vec![]);
        assert_eq!(env_file("A=1"), pairs(&[("A", "1")]));
        assert_eq!(env_file("A=1\r\nB=2\r\n"), pairs(&[("A", "1"), ("B", "2")]));
        assert_eq!(env_file("A=1\rB=2"), pairs(&[("A", "1"), ("B", "2")]));
        assert_eq!(env_file("A=1\nA=2"), pairs(&[("A", "1"), ("A", "2")]));
    }

    #[test]
    fn env_file_unquoted_values() {
        assert_eq!(env_file(r#"A=x "y" 'z'"#), pairs(&[("A", r#"x "y" 'z'"#)]));
        assert_eq!(env_file("A=a\\\\b"), pairs(&[("A", "a\\b")]));
        assert_eq!(env_file("A=a\\nb"), pairs(&[("A", "anb")]));
        assert_eq!(env_file("A=a\\ "), pairs(&[("A", "a ")]));
        assert_eq!(env_file("A=one\\\ntwo\nB=3"), pairs(&[("A", "onetwo"), ("B", "3")]));
        assert_eq!(env_file("A=\\\"q\\\""), pairs(&[("A", "\"q\"")]));
        assert_eq!(env_file("A=x\t \n"), pairs(&[("A", "x")]));
        assert_eq!(env_file("A=tail\\"), pairs(&[("A", "tail")]));
    }

    #[test]
    fn env_file_single_quotes_are_verbatim() {
        assert_eq!(env_file("A='a \\n \"b\" $c'"), pairs(&[("A", "a \\n \"b\" $c")]));
        assert_eq!(env_file("A='line1\nline2'\nB=2"), pairs(&[("A", "line1\nline2"), ("B", "2")]));
        assert_eq!(env_file("A=  'x'  "), pairs(&[("A", "x")]));
        assert_eq!(env_file("A='x'y"), pairs(&[("A", "xy")]));
        assert_eq!(env_file("A='x' 'y'"), pairs(&[("A", "xy")]));
        assert_eq!(env_file("A='  '"), pairs(&[("A", "  ")]));
    }

    #[test]
    fn env_file_double_quotes_follow_the_shell() {
        assert_eq!(env_file(r#"A="a \" \\ \` \$ b""#), pairs(&[("A", r#"a " \ ` $ b"#)]));
        assert_eq!(env_file(r#"A="keep \n and \q""#), pairs(&[("A", r"keep \n and \q")]));
        assert_eq!(env_file("A=\"one\\\ntwo\""), pairs(&[("A", "onetwo")]));
        assert_eq!(env_file("A=\"one\ntwo\""), pairs(&[("A", "one\ntwo")]));
        assert_eq!(env_file("A=\"x\"  \nB=1"), pairs(&[("A", "x"), ("B", "1")]));
    }

    #[test]
    fn env_file_comments_do_not_continue() {
        assert_eq!(env_file("# comment \\\nA=1"), pairs(&[("A", "1")]));
    }

    #[test]
    fn env_file_errors_carry_the_line() {
        assert_eq!(
            parse_env_file("A=1\nexport B=2\n").unwrap_err(),
            (
                2,
                "invalid variable name \"export B\": expected ASCII letters, digits and '_', not starting with \
                 a digit (a shell 'export' prefix is not understood)"
                    .to_string()
            )
        );
        assert_eq!(parse_env_file("\n\n1X=2").unwrap_err().0, 3);
        assert_eq!(
            parse_env_file("A=\"x\ny\nB-C=1").unwrap_err(),
            (1, "expected a closing \" for the value of A (unterminated quote)".to_string())
        );
        assert_eq!(
            parse_env_file("A='x\ny\n\n").unwrap_err(),
            (1, "expected a closing ' for the value of A (unterminated quote)".to_string())
        );
        assert_eq!(parse_env_file("A='x\ny'\nB-C=1").unwrap_err().0, 3);
        assert_eq!(parse_env_file("A=1\r\nB=\"2\r\n3\"\r\nC-D=4").unwrap_err().0, 4);
        assert_eq!(parse_env_file("A=1\\\n2\n-=3").unwrap_err().0, 3);
        assert_eq!(
            parse_env_file("A=a\0b").unwrap_err(),
            (1, "expected a value for A without NUL characters".to_string())
        );
        assert_eq!(parse_env_file("\u{feff}A=1").unwrap_err().0, 1);
    }

    // --- users and groups ----------------------------------------------------------------------

    /// Checked against systemd 252 (`SupplementaryGroups=`).
    #[test]
    fn user_and_group_names() {
        for name in
            ["root", "a", "_x", "1abc", "@x", "é", "x-y.z", "a%", "a b", "0", "123", "4294967294", "65534", "a$"]
        {
            assert!(valid_user_or_group(name), "{name:?}");
        }
        for name in [
            "",
            "a:b",
            "ab/c",
            "65535",
            "4294967295",
            "4294967296",
            "-1",
            "-",
            "-12",
            ".",
            "..",
            " a",
            "a ",
            "a\tb",
            "a\nb",
            "a\x7f",
        ] {
            assert!(!valid_user_or_group(name), "{name:?}");
        }
    }

    #[test]
    fn name_lists() {
        assert_eq!(parse_name_list("wheel 100 \"video\""), Ok(vec!["wheel".into(), "100".into(), "video".into()]));
        assert_eq!(parse_name_list(""), Ok(vec![]));
        let err = parse_name_list("wheel a:b").unwrap_err();
        assert!(err.starts_with("invalid user or group \"a:b\": expected a name"), "{err}");
        assert!(err.contains("or a numeric id"), "{err}");
        assert!(parse_name_list("65535").is_err());
        assert!(parse_name_list("'unterminated").unwrap_err().contains("unterminated quote"));
    }

    // --- properties ----------------------------------------------------------------------------

    /// Writes `word` so that `split_words` gives it back.
    fn quote_word(word: &str) -> String {
        let mut quoted = String::from("\"");
        for c in word.chars() {
            if c == '"' || c == '\\' {
                quoted.push('\\');
            }
            quoted.push(c);
        }
        quoted.push('"');
        quoted
    }

    proptest! {
        #[test]
        fn split_words_never_panics(value in any::<String>()) {
            let _ = split_words(&value);
            let _ = split_raw_words(&value);
        }

        #[test]
        fn split_words_never_panics_on_escape_heavy_text(value in r#"[\\"' a-fx0-9uUé\t]{0,40}"#) {
            let _ = split_words(&value);
            let _ = split_raw_words(&value);
        }

        #[test]
        fn quoted_words_round_trip(list in prop::collection::vec("[^\0]*", 0..5)) {
            let value = list.iter().map(|w| quote_word(w)).collect::<Vec<_>>().join(" ");
            prop_assert_eq!(split_words(&value).unwrap(), list);
        }

        #[test]
        fn plain_words_split_on_whitespace(list in prop::collection::vec("[a-zA-Z0-9/._=-]{1,8}", 0..6)) {
            prop_assert_eq!(split_words(&list.join(" \t ")).unwrap(), list);
        }

        #[test]
        fn path_normalisation_is_idempotent(path in "(/|\\.|\\.\\.|[a-z]{1,3}|//){0,12}") {
            if let Ok(once) = normalize_absolute_path(&path) {
                prop_assert_eq!(normalize_absolute_path(&once), Ok(once.clone()));
                prop_assert!(once.starts_with('/'));
                prop_assert!(once == "/" || !once.ends_with('/'));
                prop_assert!(!once.contains("//"));
            }
        }

        #[test]
        fn path_normalisation_is_idempotent_on_any_text(path in any::<String>()) {
            if let Ok(once) = normalize_absolute_path(&path) {
                prop_assert_eq!(normalize_absolute_path(&once), Ok(once.clone()));
            }
        }

        #[test]
        fn value_parsers_never_panic(value in any::<String>()) {
            let _ = parse_bool(&value);
            let _ = parse_size_or_infinity(&value);
            let _ = parse_time_or_infinity(&value);
            let _ = parse_mode(&value);
            let _ = parse_nice(&value);
            let _ = parse_path_entry(&value);
            let _ = parse_bind_spec(&value);
            let _ = parse_tmpfs_spec(&value);
            let _ = parse_env_assignments(&value);
            let _ = parse_env_file(&value);
            let _ = parse_name_list(&value);
            for key in RLIMIT_KEYS {
                let _ = parse_rlimit(key, &value);
            }
        }

        #[test]
        fn number_parsers_never_panic(value in "[-+0-9.: a-zA-Z\u{b5}\u{3bc}]{0,30}") {
            let _ = parse_size(&value);
            let _ = parse_time_usec(&value);
            let _ = parse_nice(&value);
            for key in RLIMIT_KEYS {
                let _ = parse_rlimit(key, &value);
            }
        }

        #[test]
        fn env_file_never_panics(text in "[A-Z_=#; \t\n\r'\"\\\\$`a-z0-9]{0,60}") {
            let _ = parse_env_file(&text);
        }

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
