//! User and group names: systemd's relaxed name rule, numeric ids, and lists of both.
//!
//! Invariant: a name that passes is not empty, does not look like a number, is not `.` or `..`
//! and has no control characters, `:` or `/`; an id is a decimal below 2^32 - 1, other than
//! 65535. Every parser is total; nothing here looks a name up.

use super::is_all_digits;
use super::words::split_words;

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
}
