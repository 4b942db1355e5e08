//! `WritableWorkingDirectory=`: the caller's working directory made writable in the sandbox,
//! and the rule that keeps that convenience from undoing the rest of the profile.
//!
//! The directory is granted as a writable bind (namespaces) or a Landlock write rule (the
//! no-namespace tier); both tiers take it from `writable`, so the plan, the dry run and the
//! run agree, and the rule below holds in either.
//!
//! Invariant: a working directory is granted only when it is neither equal to, nor an ancestor
//! of, nor inside anything another directive of the profile hides, replaces or makes read-only
//! (a project directory inside a home directory is the one exception: the home directory
//! itself stays protected); nor `/`, the API file systems, the directories shared with other
//! users (/tmp, /var/tmp, /dev/shm, /run/user/UID) or a directory `ProtectSystem=` covers.
//! The rule applies to every name of the directory (a bind mount of /etc/x elsewhere is still
//! /etc/x) and of every mount below it, which the writable bind takes along. Otherwise the run
//! is refused, naming the directory, the directive it would undo and the fixes; the grant is
//! never narrowed silently.

use crate::error::PlanError;
use crate::host::mountinfo::{self, Mount};
use crate::host::{self, HostFacts};
use crate::plan::mounts::Cause;
use crate::settings::{ProtectHome, ProtectSystem, Settings};

/// The working directory to make writable: its host path (symlinks resolved) and why.
#[derive(Clone, Debug)]
pub struct Writable {
    pub path: String,
    pub cause: Cause,
}

/// Directories shared with other users and processes: their sockets and files are a way out
/// (a tmux or X11 socket in /tmp, a session bus in /run/user/UID).
const SHARED: [&str; 4] = ["/tmp", "/var/tmp", "/dev/shm", "/run/user"];
/// The API file systems, each the sandbox's own (or a protected view of the host's).
const API: [&str; 3] = ["/proc", "/sys", "/dev"];
/// What `ProtectSystem=yes` makes read-only (`full` adds /etc).
const SYSTEM: [&str; 9] = ["/usr", "/boot", "/efi", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"];
/// What `ProtectSystem=strict` covers besides: the host's configuration and its variable
/// state (package databases, spools, logs, runtime sockets), where a write reaches whoever
/// reads it next, often root. A project directory lives elsewhere (/home, /srv, /opt, ...).
const STRICT_EXTRA: [&str; 3] = ["/etc", "/var", "/run"];
/// Where `ProtectHome=` acts.
const HOMES: [&str; 3] = ["/home", "/root", "/run/user"];

/// The working directory to make writable, or `None` when the profile does not ask for it
/// (or there is none to grant: under `RootDirectory=` the caller's directory is not in the
/// sandbox). An error when granting it would undo a protection, or it cannot be resolved.
pub fn writable(s: &Settings, host: &HostFacts) -> Result<Option<Writable>, PlanError> {
    let Some(flag) = s.writable_working_directory.as_ref().filter(|v| v.value) else { return Ok(None) };
    if s.root_directory.is_some() {
        return Ok(None);
    }
    let cause = Cause { directive: "WritableWorkingDirectory", origin: Some(flag.origin.clone()) };
    let refuse = |message: String| PlanError::directive("WritableWorkingDirectory", &flag.origin, message);
    let cwd = match host.cwd.as_deref() {
        Ok(cwd) => cwd,
        Err(why) => {
            return Err(refuse(format!("{why}; change to another directory, or add -p WritableWorkingDirectory=no")));
        }
    };
    let path = host::resolve(&*host.fs, cwd)
        .map_err(|e| {
            refuse(format!("cannot resolve the working directory {cwd}: {e}; add -p WritableWorkingDirectory=no"))
        })?
        .path;
    let fixes = "run sbx from a project directory, or add -p WritableWorkingDirectory=no";
    if let Some(Undone { why, read_only }) = undone_protection(s, host, &path) {
        // Where the directory is only read-only, naming it writable on purpose works; where it
        // is hidden or shared, ReadWritePaths= would show the sandbox's own, not the host's.
        let by_name = match read_only {
            true => {
                format!(", or, if it must be writable, add -p WritableWorkingDirectory=no -p ReadWritePaths={path}")
            }
            false => String::new(),
        };
        return Err(refuse(format!("the working directory {path} cannot be made writable: {why}; {fixes}{by_name}")));
    }
    // The same directory under another name (a bind mount), or a mount below it that shows a
    // directory from elsewhere, is judged by that name too.
    let mounts = mountinfo::parse(&host.fs.mountinfo());
    let below = mounts.iter().filter(|m| is_below(&m.point, &path)).map(|m| (Some(m.point.as_str()), m.point.as_str()));
    for (mount, at) in std::iter::once((None, path.as_str())).chain(below) {
        for name in other_names(&mounts, at).into_iter().filter(|n| n != &path && !is_below(n, &path)) {
            if let Some(Undone { why: undone, .. }) = undone_protection(s, host, &name) {
                let what = match mount {
                    None => String::new(),
                    Some(m) => format!(": {m}, mounted below it,"),
                };
                return Err(refuse(format!(
                    "the working directory {path} cannot be made writable{what} is the same directory as {name} (a bind mount), and {undone}; {fixes}"
                )));
            }
        }
    }
    Ok(Some(Writable { path, cause }))
}

/// Every host path that names the directory at `path` through a mount of the file system
/// that holds it: a bind mount of /etc/x at /srv/alias makes /etc/x a name of /srv/alias.
fn other_names(mounts: &[Mount], path: &str) -> Vec<String> {
    let holder = mounts.iter().filter(|m| m.point == path || is_below(path, &m.point)).max_by_key(|m| m.point.len());
    let Some(holder) = holder else { return Vec::new() };
    let rest = if holder.point == path { "" } else { path[holder.point.len()..].trim_start_matches('/') };
    let in_fs = join(&holder.root, rest);
    mounts
        .iter()
        .filter(|m| m.dev == holder.dev && (m.root == in_fs || is_below(&in_fs, &m.root)))
        .map(|m| {
            let tail = if m.root == in_fs { "" } else { in_fs[m.root.len()..].trim_start_matches('/') };
            join(&m.point, tail)
        })
        .collect()
}

fn join(base: &str, rest: &str) -> String {
    match (base, rest) {
        (b, "") => b.to_string(),
        ("/", r) => format!("/{r}"),
        (b, r) => format!("{b}/{r}"),
    }
}

/// How making a directory writable would undo the profile.
struct Undone {
    why: String,
    /// What it undoes only makes the directory read-only (ReadWritePaths= could lift it).
    read_only: bool,
}

/// How making `cwd` writable would undo the profile, or `None` when it would not.
fn undone_protection(s: &Settings, host: &HostFacts, cwd: &str) -> Option<Undone> {
    let hidden = |why: String| Some(Undone { why, read_only: false });
    if cwd == "/" {
        return hidden("it is the host's root, and a writable bind of it would replace the whole sandbox".into());
    }
    let real = |p: &str| host::resolve(&*host.fs, p).map(|r| r.path).unwrap_or_else(|_| p.to_string());
    for api in API {
        if overlaps(cwd, &real(api)) {
            return hidden(format!("it overlaps {api}, which the sandbox mounts itself"));
        }
    }
    for shared in SHARED {
        let shared = real(shared);
        if cwd == shared || is_below(&shared, cwd) || (shared == "/run/user" && parent(cwd) == shared) {
            return hidden(format!(
                "{shared} is shared with other users and processes, whose sockets would be reachable"
            ));
        }
    }
    let home_read_only = s.protect_home.as_ref().is_some_and(|v| v.value == ProtectHome::ReadOnly);
    let named = protected_paths(s, &real).into_iter().find_map(|(p, directive)| {
        let home_project = HOMES[..2].contains(&p.as_str()) && directive == "ProtectHome" && inside_a_home(cwd, &p);
        // ReadWritePaths= wins over a shorter read-only path, not over the same one.
        let read_only = (matches!(directive, "ReadOnlyPaths" | "BindReadOnlyPaths") && cwd != p)
            || (directive == "ProtectHome" && home_read_only && p != "/run/user");
        (overlaps(cwd, &p) && !home_project)
            .then(|| Undone { why: format!("it would undo {directive}= on {p}"), read_only })
    });
    named.or_else(|| system_cover(s, cwd, &real).map(|why| Undone { why, read_only: true }))
}

/// `ProtectSystem=`'s directories: `cwd` inside one of them, or (strict) a top-level directory.
fn system_cover(s: &Settings, cwd: &str, real: &dyn Fn(&str) -> String) -> Option<String> {
    let level = s.protect_system.as_ref().map_or(ProtectSystem::No, |v| v.value);
    let extra: &[&str] = match level {
        ProtectSystem::No => return None,
        ProtectSystem::Yes => &[],
        ProtectSystem::Full => &STRICT_EXTRA[..1],
        ProtectSystem::Strict => &STRICT_EXTRA,
    };
    let name = match level {
        ProtectSystem::Yes => "yes",
        ProtectSystem::Full => "full",
        _ => "strict",
    };
    let named = SYSTEM.iter().chain(extra).map(|d| real(d)).find(|d| cwd == d || is_below(cwd, d));
    match named {
        Some(d) => Some(format!("it would undo ProtectSystem={name} on {d}")),
        None if level == ProtectSystem::Strict && parent(cwd) == "/" => {
            Some(format!("it is a top-level directory of the host, read-only under ProtectSystem={name}"))
        }
        None => None,
    }
}

/// Paths other directives hide, replace or make read-only, with the directive.
fn protected_paths(s: &Settings, real: &dyn Fn(&str) -> String) -> Vec<(String, &'static str)> {
    let mut out = Vec::new();
    if s.protect_home.as_ref().is_some_and(|v| v.value != ProtectHome::No) {
        out.extend(HOMES.iter().map(|h| (real(h), "ProtectHome")));
    }
    if Settings::flag(&s.private_tmp) {
        out.extend(["/tmp", "/var/tmp"].iter().map(|t| (real(t), "PrivateTmp")));
    }
    out.extend(s.temporary_file_system.iter().map(|t| (real(&t.value.path), "TemporaryFileSystem")));
    out.extend(s.inaccessible_paths.iter().map(|p| (real(&p.value.path), "InaccessiblePaths")));
    out.extend(s.read_only_paths.iter().map(|p| (real(&p.value.path), "ReadOnlyPaths")));
    out.extend(s.bind_read_only_paths.iter().map(|b| (real(&b.value.dest), "BindReadOnlyPaths")));
    if Settings::flag(&s.protect_kernel_modules) {
        out.extend(["/usr/lib/modules", "/lib/modules"].iter().map(|m| (real(m), "ProtectKernelModules")));
    }
    out
}

/// A project directory inside a home directory: at least one level below `/root`, or below
/// `/home/USER`. The home directory itself, and `/home`, stay protected.
fn inside_a_home(cwd: &str, home_root: &str) -> bool {
    let depth = |p: &str| p.trim_start_matches('/').split('/').count();
    let needed = if home_root == "/root" { 1 } else { 2 };
    is_below(cwd, home_root) && depth(cwd) >= depth(home_root) + needed
}

/// `a` and `b` are the same path, or one is inside the other.
fn overlaps(a: &str, b: &str) -> bool {
    a == b || is_below(a, b) || is_below(b, a)
}

/// `path` is strictly inside `dir`.
fn is_below(path: &str, dir: &str) -> bool {
    dir == "/" && path != "/" || path.strip_prefix(dir).is_some_and(|rest| rest.starts_with('/'))
}

fn parent(path: &str) -> &str {
    match path.rfind('/') {
        Some(0) | None => "/",
        Some(i) => &path[..i],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::fake;
    use crate::plan::tests::settings;

    fn check(uid: u32, lines: &str, cwd: &str) -> Result<Option<String>, String> {
        let mut host = fake::host(uid);
        let mut fs = fake::FakeFs::debian();
        let mut at = String::new();
        for c in cwd.split('/').filter(|c| !c.is_empty()) {
            at = format!("{at}/{c}");
            fs.nodes.entry(at.clone()).or_insert(crate::host::Node::Dir);
        }
        host.fs = Box::new(fs);
        host.cwd = Ok(cwd.into());
        let s = settings(&format!("{lines}\n[X-Sbx]\nWritableWorkingDirectory=yes"));
        writable(&s, &host).map(|w| w.map(|w| w.path)).map_err(|e| e.to_string())
    }

    const DEFAULT: &str = "ProtectSystem=strict\nProtectHome=read-only\nPrivateTmp=yes\nPrivateDevices=yes";
    const STRICT: &str = "ProtectSystem=strict\nProtectHome=tmpfs\nPrivateTmp=yes\nPrivateDevices=yes";

    #[test]
    fn a_project_directory_is_granted() {
        for profile in [DEFAULT, STRICT] {
            assert_eq!(check(1000, profile, "/home/alice/src/app").unwrap().as_deref(), Some("/home/alice/src/app"));
            assert_eq!(check(0, profile, "/root/app").unwrap().as_deref(), Some("/root/app"));
            assert_eq!(check(0, profile, "/srv/site").unwrap().as_deref(), Some("/srv/site"));
        }
    }

    #[test]
    fn places_that_would_undo_the_profile_are_refused() {
        let cases = [
            ("/", "host's root"),
            ("/home/alice", "ProtectHome= on /home"),
            ("/home", "ProtectHome= on /home"),
            ("/root", "ProtectHome= on /root"),
            ("/tmp", "shared with other users"),
            ("/tmp/tmux-1000", "PrivateTmp= on /tmp"),
            ("/var/tmp", "shared"),
            ("/var", "/var/tmp is shared"),
            ("/var/spool/cron", "ProtectSystem=strict on /var"),
            ("/dev/shm", "overlaps /dev"),
            ("/run/user/1000", "shared"),
            ("/etc", "ProtectSystem=strict on /etc"),
            ("/usr/local/src", "ProtectSystem=strict on /usr"),
            ("/srv", "top-level directory"),
            ("/proc/self", "overlaps /proc"),
        ];
        for profile in [DEFAULT, STRICT] {
            for uid in [0, 1000] {
                for (cwd, why) in cases {
                    let e = check(uid, profile, cwd).unwrap_err();
                    assert!(e.contains(why) && e.contains("WritableWorkingDirectory"), "{cwd}: {e}");
                    assert!(e.contains("-p WritableWorkingDirectory=no"), "the fix is named: {e}");
                }
            }
        }
    }

    fn check_mounts(lines: &str, cwd: &str, mountinfo: &str) -> Result<Option<String>, String> {
        let mut host = fake::host(0);
        let mut fs = fake::FakeFs::debian();
        for d in ["/srv/alias", "/srv/proj", "/srv/proj/sub", "/etc/app"] {
            fs.nodes.insert(d.into(), crate::host::Node::Dir);
        }
        fs.mountinfo = Some(mountinfo.into());
        host.fs = Box::new(fs);
        host.cwd = Ok(cwd.into());
        let s = settings(&format!("{lines}\n[X-Sbx]\nWritableWorkingDirectory=yes"));
        writable(&s, &host).map(|w| w.map(|w| w.path)).map_err(|e| e.to_string())
    }

    #[test]
    fn a_bind_mount_is_judged_by_every_name() {
        let root = "1 0 8:1 / / rw - ext4 /dev/sda1 rw\n";
        // /srv/alias shows /etc/app; /srv/proj/sub shows /etc/app below a project.
        let alias = format!("{root}2 1 8:1 /etc/app /srv/alias rw - ext4 /dev/sda1 rw\n");
        let e = check_mounts(DEFAULT, "/srv/alias", &alias).unwrap_err();
        assert!(e.contains("same directory as /etc/app") && e.contains("ProtectSystem=strict on /etc"), "{e}");
        let sub = format!("{root}2 1 8:1 /etc/app /srv/proj/sub rw - ext4 /dev/sda1 rw\n");
        let e = check_mounts(DEFAULT, "/srv/proj", &sub).unwrap_err();
        assert!(e.contains("/srv/proj/sub, mounted below it,") && e.contains("/etc/app"), "{e}");
        // Another file system mounted in the project, or a bind of a project elsewhere: fine.
        let disk = format!("{root}2 1 8:17 / /srv/proj/sub rw - ext4 /dev/sdb1 rw\n");
        assert!(check_mounts(DEFAULT, "/srv/proj", &disk).unwrap().is_some());
        let fine = format!("{root}2 1 8:1 /srv/proj /srv/alias rw - ext4 /dev/sda1 rw\n");
        assert!(check_mounts(DEFAULT, "/srv/alias", &fine).unwrap().is_some());
    }

    #[test]
    fn the_rule_follows_the_profile() {
        // Without ProtectHome= the home directory is the host's, writable or not as it is.
        assert!(check(1000, "ProtectSystem=strict", "/home/alice").unwrap().is_some());
        // ProtectSystem=full leaves /var alone; /etc not.
        assert!(check(0, "ProtectSystem=full", "/var/lib/app").unwrap().is_some());
        assert!(check(0, "ProtectSystem=full", "/etc/app").unwrap_err().contains("ProtectSystem=full on /etc"));
        // Paths the profile names itself.
        let e = check(1000, "ReadOnlyPaths=/srv/site", "/srv/site/sub").unwrap_err();
        assert!(e.contains("ReadOnlyPaths= on /srv/site"), "{e}");
        let e = check(1000, "InaccessiblePaths=/srv/site/secret", "/srv/site").unwrap_err();
        assert!(e.contains("InaccessiblePaths= on /srv/site/secret"), "an ancestor too: {e}");
        let e = check(1000, "TemporaryFileSystem=/srv", "/srv/x").unwrap_err();
        assert!(e.contains("TemporaryFileSystem= on /srv"), "{e}");
        // Off: nothing to check.
        let mut host = fake::host(1000);
        host.cwd = Ok("/".into());
        assert!(writable(&settings("ProtectSystem=strict"), &host).unwrap().is_none());
    }
}
