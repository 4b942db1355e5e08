//! Value parsers: the grammars systemd uses for directive values, rewritten for sbx.
//!
//! Booleans, sizes, time spans, word lists with quotes and C escapes, access modes, paths,
//! `BindPaths=` and `TemporaryFileSystem=` entries, `Limit*=` values, environment assignments
//! and files, nice levels, user/group names and command lines. One file per kind of value:
//! `words` (lists, quotes, escapes), `numbers` (booleans, sizes, times, modes, nice levels),
//! `paths` (path lists, bind and tmpfs entries), `limits` (`Limit*=`), `env` (assignments and
//! files), `names` (users and groups) and `command` (`ExecStart=` and its siblings). This
//! file re-exports their parsers and holds what they share.
//!
//! Invariant: every parser is total. It returns the parsed value or a lowercase message naming
//! the form that was expected, and it never panics, whatever the input. Nothing here touches
//! the system: specifiers are expanded elsewhere, paths are only checked for shape.

mod command;
mod env;
mod limits;
mod names;
mod numbers;
mod paths;
mod words;

pub use command::{CommandLine, expand_specifiers, expand_variables, parse_command_lines, split_relaxed};
pub use env::{parse_env_assignments, parse_env_file};
pub use limits::{RlimitValue, parse_rlimit};
pub use names::valid_user_or_group;
pub use numbers::{parse_bool, parse_mode, parse_nice};
pub use paths::{BindSpec, PathEntry, TmpfsSpec, parse_bind_spec, parse_path_entry, parse_tmpfs_spec};
pub use words::{split_raw_words, split_words};

// The rest of the API, not called from outside this module yet.
#[allow(unused_imports, reason = "value-parser API; not every directive uses it yet")]
pub use {
    env::valid_env_name,
    limits::RLIMIT_KEYS,
    names::parse_name_list,
    numbers::{parse_size, parse_size_or_infinity, parse_time_or_infinity, parse_time_usec},
    paths::normalize_absolute_path,
};

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

fn is_all_digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    // Binary size units, shared by the size tests (numbers.rs) and the byte-limit tests (limits.rs).
    pub(super) const K: u64 = 1024;
    pub(super) const M: u64 = 1024 * K;
    pub(super) const G: u64 = 1024 * M;

    // --- properties ----------------------------------------------------------------------------

    proptest! {
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
    }
}
