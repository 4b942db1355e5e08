//! `sbx run --best-effort` after the sandbox the profile asks for could not be made: the
//! strongest sandbox this host still allows, and a report of what it costs.
//!
//! In order: as root without CAP_SYS_ADMIN (a container drops it), a user namespace of sbx's
//! own (PrivateUsers=yes needs no capability); where the namespaces exist but a fresh procfs is
//! refused (a container's masked /proc), the container's /proc bound in; where no namespace
//! can be made, the no-namespace tier (Landlock, seccomp, capabilities, rlimits).
//!
//! Invariant: a fallback is tried only after the previous attempt failed before its payload
//! ran (launch refuses before execve), and each prints its report, a line per directive of
//! the profile, before it starts anything.

use std::sync::Arc;

use crate::cmd::{common, report};
use crate::doctor::userns;
use crate::error::Error;
use crate::host::HostFacts;
use crate::launch;
use crate::launch::pty::Pty;
use crate::plan::{self, Invocation};
use crate::profile::Origin;
use crate::settings::{Settings, Spanned};

/// What PrivateUsers= added by --best-effort changes, for the report.
const ADDED_USERNS: &str = "added by --best-effort: as root without CAP_SYS_ADMIN sbx can create namespaces only inside a user namespace of its own; uid 0 and User= map to themselves, and the payload's capabilities hold only inside the sandbox";

pub fn run(
    resolved: &common::Resolved,
    settings: &Settings,
    host: &HostFacts,
    inv: &Invocation,
    first: Error,
) -> Result<i32, Error> {
    let mut failed = first;
    let mut s = settings.clone();
    let mut added_userns = false;
    if matches!(failed, Error::Namespaces(_)) && host.is_root() && !Settings::flag(&s.private_users) {
        // Only where a user namespace can be made and uid 0 mapped into it (not under Docker's
        // default seccomp profile, nor without CAP_SETFCAP): a child tries it first.
        let userns_works = matches!(userns::probe(host.euid).outcome, Ok(r) if r.errno().is_none());
        if !userns::read_host().sys_admin && userns_works {
            print_causes(&failed);
            s.private_users = Some(Spanned { value: true, origin: Origin::new(&Arc::from("--best-effort"), 1) });
            eprintln!(
                "sbx: --best-effort: trying again in a user namespace of its own; for each directive of the profile:"
            );
            eprintln!("sbx:   PrivateUsers=: {ADDED_USERNS}");
            print_report(resolved, &[], report::Tier::Namespaces);
            match launch::run(&plan::build(&s, host, inv)?, pty(inv)?) {
                Err(e @ (Error::Namespaces(_) | Error::ProcRefused(_))) => failed = e,
                other => return other,
            }
            added_userns = matches!(failed, Error::ProcRefused(_));
            if !added_userns {
                s = settings.clone();
            }
        }
    }
    match failed {
        Error::ProcRefused(why) => with_host_proc(resolved, &s, host, inv, &why, added_userns),
        Error::Namespaces(why) => without_namespaces(resolved, &s, host, inv, &why),
        other => Err(other),
    }
}

/// The namespaces work but no fresh procfs can be mounted: the container's /proc is bound in.
fn with_host_proc(
    resolved: &common::Resolved,
    settings: &Settings,
    host: &HostFacts,
    inv: &Invocation,
    why: &str,
    added_userns: bool,
) -> Result<i32, Error> {
    let notes = plan::host_proc::notes(settings);
    let inv = Invocation { host_proc: true, ..inv.clone() };
    let plan = plan::build(&plan::host_proc::settings(settings), host, &inv)?;
    print_lines(why);
    eprintln!("sbx: --best-effort: running with every namespace; for each directive of the profile:");
    eprintln!("sbx:   /proc: weakened: {}", plan::host_proc::VIEW);
    if Settings::flag(&settings.private_network) {
        // The new sysfs meets the kernel's check on the same masks: the container's /sys stays.
        eprintln!(
            "sbx:   /sys: weakened: the container's /sys, read-only, instead of a sysfs of the sandbox's network namespace: /sys/class/net lists the container's interfaces"
        );
    }
    if added_userns {
        eprintln!("sbx:   PrivateUsers=: {ADDED_USERNS}");
    }
    print_report(resolved, &notes, report::Tier::Namespaces);
    launch::run(&plan, pty(&inv)?)
}

/// No namespace can be created here: run with what needs none.
fn without_namespaces(
    resolved: &common::Resolved,
    settings: &Settings,
    host: &HostFacts,
    inv: &Invocation,
    why: &str,
) -> Result<i32, Error> {
    let (plan, notes) = plan::no_namespaces::build(settings, host, inv)?;
    print_lines(why);
    eprintln!("sbx: --best-effort: running without namespaces; for each directive of the profile:");
    print_report(resolved, &notes, report::Tier::NoNamespaces);
    eprintln!("sbx:   {}", plan::no_namespaces::process_isolation(host.landlock_abi, plan.identity.uid));
    launch::run(&plan, pty(inv)?)
}

fn print_causes(e: &Error) {
    if let Error::Namespaces(why) | Error::ProcRefused(why) = e {
        print_lines(why);
    }
}

/// The diagnosis, without its "or: --best-effort" hint (that is what runs now).
fn print_lines(why: &str) {
    for line in why.lines().filter(|l| !l.starts_with("or: ")) {
        eprintln!("sbx: {line}");
    }
}

fn print_report(resolved: &common::Resolved, notes: &[plan::no_namespaces::Note], tier: report::Tier) {
    for line in report::lines(&resolved.loaded.assignments, notes, tier) {
        eprintln!("sbx:   {line}");
    }
}

fn pty(inv: &Invocation) -> Result<Option<Pty>, Error> {
    if inv.pty.is_some() { Ok(Some(Pty::open()?)) } else { Ok(None) }
}
