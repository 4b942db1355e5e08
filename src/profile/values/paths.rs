//! Paths: path list entries with their `-` and `+` prefixes, `BindPaths=` entries and
//! `TemporaryFileSystem=` entries, and the normalisation every path goes through.
//!
//! Invariant: every path that leaves here is absolute and normalised (no `.`, `..`, repeated or
//! trailing `/`, within Linux's length limits), and normalising it again changes nothing;
//! tmpfs options come from an allow-list. Every parser is total. Paths are only checked for
//! shape: nothing here looks at the file system.

use super::is_all_digits;
use super::numbers::parse_mode;
use super::words::TRAILING_BACKSLASH;

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
/// The word is already unquoted (see [`split_words`](super::split_words)).
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
/// `word` is one entry as [`split_raw_words`](super::split_raw_words) returns it: each field is decoded here, as systemd
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
/// `word` is already unquoted (see [`split_words`](super::split_words)); as in systemd the path ends at the first
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::values::split_raw_words;
    use proptest::prelude::*;

    fn entry(path: &str, ignore_missing: bool, relative_to_root: bool) -> PathEntry {
        PathEntry { path: path.to_string(), ignore_missing, relative_to_root }
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

    // --- properties ----------------------------------------------------------------------------

    proptest! {
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
    }
}
