//! Turning a refused system call into a sentence: which call, which directive (and where),
//! and what to add to allow it — the "restrict, restart, read the error, fix" loop.
//!
//! Invariant: runs in the monitor, with the plan; the child only sent numbers.

use crate::launch::report::SyscallEvent;
use crate::plan::Plan;
use crate::plan::seccomp::Verdict;
use crate::plan::seccomp::resolve::Cause;
use crate::plan::syscalls;
use crate::profile::syscall_lists::{FAMILIES, NAMESPACES, errno_name};

pub fn describe(plan: &Plan, e: &SyscallEvent) -> String {
    let s = &plan.seccomp;
    if e.foreign {
        return format!(
            "a system call of another ABI (i386 or x32, number {}) was refused: sbx filters only the native {} ABI",
            e.nr,
            s.arch.name()
        );
    }
    let name = syscalls::name_of(s.arch, e.nr).unwrap_or("unknown");
    let call = format!("{name}(2){} (number {})", form(name, e.args), e.nr);
    let cause = s.causes.get(&e.nr).or(s.default_cause.as_ref());
    match e.verdict {
        Verdict::Log => format!("{call} was called (SystemCallLog=)"),
        Verdict::Kill => format!("{call} was refused{}; {}", by(cause), fix(name, cause)),
        Verdict::Errno(errno) => {
            let en = errno_name(errno).map_or_else(|| errno.to_string(), str::to_string);
            format!("{call} failed with {en}{}; {}", by(cause), fix(name, cause))
        }
    }
}

fn by(cause: Option<&Cause>) -> String {
    let Some(c) = cause else { return String::new() };
    let at = c.origin.as_ref().map(|o| format!(", {o}")).unwrap_or_default();
    match (&c.entry, c.directive) {
        (None, "SystemCallFilter") => format!(" by SystemCallFilter= (not in its allow-list{at})"),
        (_, d) if d.contains(' ') => format!(" by {d}"),
        (Some(entry), d) => format!(" by {d}={entry}{at}"),
        (None, d) => format!(" by {d}={at}"),
    }
}

/// The argument that decided, for the calls judged by one: " with TIOCSTI", " with AF_INET6".
fn form(name: &str, args: [u32; 2]) -> String {
    match name {
        "ioctl" => match args[1] {
            0x5412 => " with TIOCSTI".into(),
            0x541c => " with TIOCLINUX".into(),
            r => format!(" with request {r:#x}"),
        },
        "socket" => {
            let family = FAMILIES
                .iter()
                .find(|(_, v)| *v == args[0])
                .map_or_else(|| args[0].to_string(), |(n, _)| n.to_string());
            format!(" with {family}")
        }
        "unshare" | "clone" => namespace_flags(u64::from(args[0])),
        "setns" => namespace_flags(u64::from(args[1])),
        _ => String::new(),
    }
}

fn namespace_flags(flags: u64) -> String {
    let names: Vec<&str> = NAMESPACES.iter().filter(|(_, f)| flags & f != 0).map(|(n, _)| *n).collect();
    if names.is_empty() { String::new() } else { format!(" with namespace types {}", names.join(" ")) }
}

/// The smallest group that holds `name` (not @known), the entry to add to allow it.
fn smallest_group(name: &str) -> Option<&'static str> {
    syscalls::groups()
        .iter()
        .filter(|g| g.name() != "@known")
        .filter_map(|g| syscalls::expand(g.name()).filter(|m| m.contains(name)).map(|m| (m.len(), g.name())))
        .min()
        .map(|(_, n)| n)
}

fn fix(name: &str, cause: Option<&Cause>) -> String {
    // A `~` line refused it: a later line naming the call gives it back (systemd's rule).
    if cause.and_then(|c| c.entry.as_deref()).is_some_and(|e| e.starts_with('~')) {
        return format!("add SystemCallFilter={name} after that line to allow it");
    }
    match cause.map(|c| c.directive) {
        Some("SystemCallFilter") | None => {
            let entry = smallest_group(name).unwrap_or(name);
            format!("add SystemCallFilter={entry} to allow it")
        }
        Some(d) if d.starts_with("sbx") => "sbx refuses it in every sandbox".to_string(),
        Some(d) => format!("it is part of what {d}= forbids"),
    }
}
