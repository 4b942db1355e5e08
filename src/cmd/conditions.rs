//! The `[Unit]` conditions sbx can evaluate without systemd, on the host, as systemd's manager
//! does before it starts a unit (systemd 252, src/shared/condition.c).
//!
//! Invariant: a test reads the host and changes nothing; "the manager" is sbx itself (its
//! user, groups and environment). A condition not listed in `SUPPORTED` is never guessed:
//! `test` returns `None` and the caller refuses the unit.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use crate::host::HostFacts;
use crate::profile::values::split_relaxed;

/// What `test` evaluates (after `Condition` or `Assert`).
pub const SUPPORTED: &[&str] = &[
    "PathExists",
    "PathIsDirectory",
    "PathIsSymbolicLink",
    "PathIsMountPoint",
    "PathIsReadWrite",
    "DirectoryNotEmpty",
    "FileNotEmpty",
    "FileIsExecutable",
    "User",
    "Group",
    "Host",
    "KernelCommandLine",
    "Environment",
    "Architecture",
];

/// systemd's largest system uid (`SYSTEM_UID_MAX`).
const SYSTEM_UID_MAX: u32 = 999;

/// Evaluates `Condition{check}={value}` (specifiers expanded, `|` and `!` removed); `None`
/// when sbx cannot, `Some(Err)` when the value is malformed.
pub fn test(check: &str, value: &str, host: &HostFacts) -> Option<Result<bool, String>> {
    let path = || -> Result<&Path, String> {
        if value.starts_with('/') { Ok(Path::new(value)) } else { Err("expected an absolute path".into()) }
    };
    let on_path = |f: fn(&Path) -> bool| Some(path().map(f));
    match check {
        "PathExists" => on_path(|p| p.exists()),
        "PathIsDirectory" => on_path(Path::is_dir),
        "PathIsSymbolicLink" => on_path(Path::is_symlink),
        "PathIsMountPoint" => on_path(is_mount_point),
        "PathIsReadWrite" => {
            on_path(|p| rustix::fs::statvfs(p).is_ok_and(|s| !s.f_flag.contains(rustix::fs::StatVfsMountFlags::RDONLY)))
        }
        "DirectoryNotEmpty" => on_path(|p| {
            // systemd skips hidden and backup files here.
            fs::read_dir(p)
                .is_ok_and(|mut d| d.any(|e| e.is_ok_and(|e| !e.file_name().to_string_lossy().starts_with('.'))))
        }),
        "FileNotEmpty" => on_path(|p| fs::metadata(p).is_ok_and(|m| m.is_file() && m.len() > 0)),
        "FileIsExecutable" => {
            on_path(|p| fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0))
        }
        "User" => Some(Ok(user(value, host))),
        "Group" => Some(Ok(group(value, host))),
        "Host" => Some(Ok(host_name(value, host))),
        "KernelCommandLine" => Some(Ok(words_match(value, &split_relaxed(&read("/proc/cmdline"))))),
        "Environment" => {
            let env: Vec<String> = host.env.iter().map(|(k, v)| format!("{k}={v}")).collect();
            Some(Ok(words_match(value, &env)))
        }
        "Architecture" => Some(Ok(value == "native" || value == architecture())),
        _ => None,
    }
}

fn read(path: &str) -> String {
    fs::read_to_string(path).unwrap_or_default()
}

fn is_mount_point(p: &Path) -> bool {
    let Ok(real) = p.canonicalize() else { return false };
    let real = real.to_string_lossy();
    read("/proc/self/mountinfo").lines().filter_map(|l| l.split(' ').nth(4)).any(|m| unescape_octal(m) == real)
}

/// mountinfo writes space, tab, newline and backslash as `\NNN`.
fn unescape_octal(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('\\') {
        out.push_str(&rest[..i]);
        match rest.get(i + 1..i + 4).and_then(|o| u8::from_str_radix(o, 8).ok()) {
            Some(b) => {
                out.push(char::from(b));
                rest = &rest[i + 4..];
            }
            None => {
                out.push('\\');
                rest = &rest[i + 1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// ConditionUser=: a uid, a user name, or `@system`, compared with sbx's real and effective uid.
fn user(value: &str, host: &HostFacts) -> bool {
    let ids = [host.uid, host.euid];
    if let Ok(uid) = value.parse::<u32>() {
        return ids.contains(&uid);
    }
    if value == "@system" {
        return ids.iter().any(|id| *id <= SYSTEM_UID_MAX);
    }
    host.users.user_by_name(value).is_some_and(|a| ids.contains(&a.uid))
}

/// ConditionGroup=: a gid or group name among sbx's real, effective and supplementary groups.
fn group(value: &str, host: &HostFacts) -> bool {
    let Some(gid) = value.parse::<u32>().ok().or_else(|| host.users.gid_by_name(value)) else { return false };
    let egid = rustix::process::getegid().as_raw();
    let supplementary = rustix::process::getgroups().unwrap_or_default();
    gid == host.gid || gid == egid || supplementary.iter().any(|g| g.as_raw() == gid)
}

/// ConditionHost=: a machine id, or a host name pattern (shell globs, case-insensitive).
fn host_name(value: &str, host: &HostFacts) -> bool {
    let id: String = value.chars().filter(|c| *c != '-').collect();
    if id.len() == 32 && id.chars().all(|c| c.is_ascii_hexdigit()) {
        return id.eq_ignore_ascii_case(&host.machine_id);
    }
    glob(&value.to_lowercase(), &host.hostname.to_lowercase())
}

/// KernelCommandLine= and Environment=: `NAME=VALUE` must appear as a word; `NAME` matches
/// `NAME` or any `NAME=...`.
fn words_match(value: &str, words: &[String]) -> bool {
    words.iter().any(|w| {
        if value.contains('=') {
            w == value
        } else {
            w.strip_prefix(value).is_some_and(|rest| rest.is_empty() || rest.starts_with('='))
        }
    })
}

/// systemd's name for this machine's architecture.
fn architecture() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "x86-64",
        "x86" => "x86",
        "aarch64" => "arm64",
        "arm" => "arm",
        "powerpc64" => "ppc64",
        other => other,
    }
}

/// fnmatch(3) without flags: `*`, `?`, `[...]` (with `!` or `^` to negate, and ranges) and
/// `\` to quote the next character.
fn glob(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    glob_at(&p, &t)
}

fn glob_at(p: &[char], t: &[char]) -> bool {
    match p.first() {
        None => t.is_empty(),
        Some('*') => (0..=t.len()).any(|skip| glob_at(&p[1..], &t[skip..])),
        Some('?') => !t.is_empty() && glob_at(&p[1..], &t[1..]),
        Some('[') => match (t.first(), class(&p[1..])) {
            (Some(c), Some((matches, len))) => matches(*c) && glob_at(&p[1 + len..], &t[1..]),
            (Some(c), None) => *c == '[' && glob_at(&p[1..], &t[1..]),
            (None, _) => false,
        },
        Some('\\') if p.len() > 1 => t.first() == Some(&p[1]) && glob_at(&p[2..], &t[1..]),
        Some(c) => t.first() == Some(c) && glob_at(&p[1..], &t[1..]),
    }
}

type ClassMatch = Box<dyn Fn(char) -> bool>;

/// A bracket expression after its `[`: the matcher and its length up to and including `]`.
fn class(p: &[char]) -> Option<(ClassMatch, usize)> {
    let negate = matches!(p.first(), Some('!' | '^'));
    let start = usize::from(negate);
    // A `]` first in the class is a member.
    let end = p.iter().skip(start + 1).position(|c| *c == ']')? + start + 1;
    let members: Vec<char> = p[start..end].to_vec();
    let matches = move |c: char| {
        let mut i = 0;
        let mut hit = false;
        while i < members.len() {
            if i + 2 < members.len() && members[i + 1] == '-' {
                hit |= members[i] <= c && c <= members[i + 2];
                i += 3;
            } else {
                hit |= members[i] == c;
                i += 1;
            }
        }
        hit != negate
    };
    Some((Box::new(matches), end + 1))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::fake;

    fn t(check: &str, value: &str) -> bool {
        test(check, value, &fake::host(1000)).expect("supported").expect("valid")
    }

    #[test]
    fn globs_follow_fnmatch() {
        for (p, s) in
            [("*", "box"), ("b?x", "box"), ("b[a-p]x", "box"), ("b[!a]x", "box"), ("*.example.org", "a.example.org")]
        {
            assert!(glob(p, s), "{p} {s}");
        }
        for (p, s) in [("b?x", "bx"), ("b[!o]x", "box"), ("a*", "box"), ("box", "boxes"), ("[]x]", "y")] {
            assert!(!glob(p, s), "{p} {s}");
        }
        assert!(glob(r"a\*", "a*") && !glob(r"a\*", "ab"));
        assert!(glob("[]x]", "]") && glob("[a", "[a"));
    }

    #[test]
    fn paths() {
        let dir = std::env::temp_dir().join(format!("sbx-cond-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("d")).unwrap();
        std::fs::write(dir.join("empty"), "").unwrap();
        std::fs::write(dir.join("full"), "x").unwrap();
        let p = |rel: &str| dir.join(rel).to_string_lossy().into_owned();
        assert!(t("PathExists", &p("d")) && !t("PathExists", &p("nope")));
        assert!(t("PathIsDirectory", &p("d")) && !t("PathIsDirectory", &p("full")));
        assert!(t("FileNotEmpty", &p("full")) && !t("FileNotEmpty", &p("empty")) && !t("FileNotEmpty", &p("d")));
        assert!(t("DirectoryNotEmpty", &dir.to_string_lossy()) && !t("DirectoryNotEmpty", &p("d")));
        assert!(!t("FileIsExecutable", &p("full")));
        assert!(t("PathIsMountPoint", "/") && !t("PathIsMountPoint", &p("d")));
        assert!(t("PathIsReadWrite", &p("d")) && !t("PathIsSymbolicLink", &p("d")));
        let e = test("PathExists", "relative", &fake::host(0)).unwrap().unwrap_err();
        assert!(e.contains("absolute"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn the_manager_is_sbx() {
        let host = fake::host(1000);
        let alice = host.users.user_by_uid(1000).map(|a| a.name.clone()).expect("the fake host has uid 1000");
        assert!(t("User", "1000") && t("User", &alice) && !t("User", "root") && !t("User", "@system"));
        assert!(test("User", "@system", &fake::host(0)).unwrap().unwrap());
        assert!(t("Host", "BOX") && t("Host", "b*") && !t("Host", "web*"));
        assert!(t("Architecture", "native") && t("Architecture", architecture()) && !t("Architecture", "s390"));
        assert!(test("Virtualization", "no", &host).is_none());
    }

    #[test]
    fn words_match_names_or_assignments() {
        let words: Vec<String> = ["quiet", "root=/dev/sda1", "ro"].iter().map(|s| s.to_string()).collect();
        assert!(words_match("quiet", &words) && words_match("root", &words) && words_match("root=/dev/sda1", &words));
        assert!(!words_match("roo", &words) && !words_match("root=/dev/sdb", &words));
    }

    #[test]
    fn mountinfo_escapes() {
        assert_eq!(unescape_octal(r"/a\040b\134c\"), r"/a b\c\");
    }
}
