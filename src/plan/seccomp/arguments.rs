//! The argument-level halves of the hardening directives, as seccomp rules on a `Builder`:
//! RestrictNamespaces=, RestrictAddressFamilies=, MemoryDenyWriteExecute= (without
//! PR_SET_MDWE), RestrictRealtime=, RestrictSUIDSGID=, LockPersonality=, KeyringMode=private
//! (sbx's own rule: see `keyring`), the terminal
//! injection refusal every sandbox gets, and the syscall groups behind ProtectClock=,
//! ProtectKernelModules=, ProtectKernelLogs=, ProtectKernelTunables=, PrivateDevices= and
//! ProtectHostname=. Each follows the rules systemd's seccomp-util.c applies.
//!
//! Invariant: every rule carries the directive (and file:line) that asked for it, and is
//! added through the Builder, so the strictest action for a call wins (resolve.rs).

use std::collections::BTreeMap;

use super::resolve::{Builder, Cause, EAFNOSUPPORT, ENOSYS, EPERM, cause};
use super::{Action, Cmp, Cond, Width};
use crate::profile::Origin;
use crate::profile::syscall_lists::{self, KeyringMode, NsAssign};
use crate::settings::{Settings, Spanned};

fn flag_cause(directive: &'static str, v: &Option<Spanned<bool>>) -> Option<Cause> {
    v.as_ref().filter(|v| v.value).map(|v| cause(directive, None, Some(&v.origin)))
}

/// The syscall halves of the Protect*=/PrivateDevices= directives (EPERM, as systemd).
pub fn protections(b: &mut Builder, s: &Settings) {
    let eperm = Action::Errno(EPERM);
    if let Some(c) = flag_cause("ProtectClock", &s.protect_clock) {
        b.refuse_group("@clock", eperm, c);
    }
    if let Some(c) = flag_cause("ProtectKernelModules", &s.protect_kernel_modules) {
        b.refuse_group("@module", eperm, c);
    }
    if let Some(c) = flag_cause("ProtectKernelLogs", &s.protect_kernel_logs) {
        b.refuse_names(&["syslog"], eperm, c);
    }
    if let Some(c) = flag_cause("ProtectKernelTunables", &s.protect_kernel_tunables) {
        b.refuse_names(&["_sysctl"], eperm, c);
    }
    if let Some(c) = flag_cause("PrivateDevices", &s.private_devices) {
        b.refuse_group("@raw-io", eperm, c);
    }
    if let Some(c) = flag_cause("ProtectHostname", &s.protect_hostname) {
        b.refuse_names(&["sethostname", "setdomainname"], eperm, c);
    }
}

fn cond(arg: u8, width: Width, cmp: Cmp, value: u64) -> Cond {
    Cond { arg, width, cmp, value }
}

fn has_bits(arg: u8, width: Width, bits: u64) -> Cond {
    cond(arg, width, Cmp::MaskedEq(bits), bits)
}

/// TIOCSTI and TIOCLINUX push input into a terminal: refused in every sandbox. The request
/// is an int in the kernel, so only the low 32 bits are compared.
pub fn terminal_injection(b: &mut Builder) {
    for request in [0x5412u64, 0x541c] {
        let c = cause("sbx (terminal input injection)", None, None);
        b.rule("ioctl", vec![cond(1, Width::Dword, Cmp::Eq, request)], Action::Errno(EPERM), c);
    }
}

/// RestrictNamespaces=: the namespace types left allowed after all assignments.
pub fn allowed_namespaces(s: &Settings) -> Option<(u64, Origin)> {
    let all = syscall_lists::all_namespaces();
    let mut allowed: Option<u64> = None;
    for a in &s.restrict_namespaces {
        allowed = Some(match (a.value.clone(), allowed) {
            (NsAssign::All(true), _) => 0,
            (NsAssign::All(false), _) => all,
            (NsAssign::Allow(m), None) => m,
            (NsAssign::Allow(m), Some(prev)) => prev | m,
            (NsAssign::Deny(m), prev) => prev.unwrap_or(all) & !m,
        });
    }
    let last = s.restrict_namespaces.last()?;
    allowed.filter(|m| *m != all).map(|m| (m, last.origin.clone()))
}

pub fn restrict_namespaces(b: &mut Builder, s: &Settings) {
    let Some((allowed, origin)) = allowed_namespaces(s) else { return };
    let c = |entry: &str| cause("RestrictNamespaces", Some(entry), Some(&origin));
    let eperm = Action::Errno(EPERM);
    // clone3 passes its flags in memory, out of a filter's reach: ENOSYS makes the C library
    // fall back to clone, whose flags can be checked.
    b.refuse_names(&["clone3"], Action::Errno(ENOSYS), c("clone3"));
    if allowed == 0 {
        b.refuse_names(&["setns"], eperm, c("setns"));
    } else {
        b.rule("setns", vec![cond(1, Width::Dword, Cmp::Eq, 0)], eperm, c("setns"));
    }
    for (name, flag) in syscall_lists::NAMESPACES {
        if allowed & flag == *flag {
            continue;
        }
        b.rule("unshare", vec![has_bits(0, Width::Qword, *flag)], eperm, c(name));
        b.rule("clone", vec![has_bits(0, Width::Qword, *flag)], eperm, c(name));
        if allowed != 0 {
            b.rule("setns", vec![has_bits(1, Width::Dword, *flag)], eperm, c(name));
        }
    }
}

/// RestrictAddressFamilies=: socket(2) with a family outside the allowed set fails with
/// EAFNOSUPPORT (the first assignment decides allow- or deny-list, as for syscalls).
pub fn restrict_address_families(b: &mut Builder, s: &Settings) {
    let list = &s.restrict_address_families;
    if list.is_empty() {
        return;
    }
    let last = list.last().map(|l| &l.origin);
    // systemd: the first line decides allow- or deny-list; `none` refuses every family and
    // lets the next line decide again; later lines add (same kind) or remove (other kind).
    let mut deny_list: Option<bool> = None;
    let mut set: BTreeMap<u32, ()> = BTreeMap::new();
    for a in list {
        let none = !a.value.invert && a.value.families.is_empty();
        if none {
            set.clear();
            deny_list = None;
            continue;
        }
        let mode = *deny_list.get_or_insert(a.value.invert);
        for f in &a.value.families {
            if a.value.invert == mode {
                set.insert(*f, ())
            } else {
                set.remove(f)
            };
        }
    }
    let action = Action::Errno(EAFNOSUPPORT);
    let c = |entry: String| cause("RestrictAddressFamilies", Some(&entry), last);
    if deny_list == Some(true) {
        for f in set.keys() {
            b.rule(
                "socket",
                vec![cond(0, Width::Dword, Cmp::Eq, u64::from(*f))],
                action,
                c(format!("~{}", family_name(*f))),
            );
        }
        return;
    }
    let Some(lowest) = set.keys().next().copied() else {
        b.refuse_names(&["socket"], action, c("none".into()));
        return;
    };
    let highest = set.keys().next_back().copied().unwrap_or(lowest);
    b.rule("socket", vec![cond(0, Width::Dword, Cmp::Lt, u64::from(lowest))], action, c("(not listed)".into()));
    b.rule("socket", vec![cond(0, Width::Dword, Cmp::Gt, u64::from(highest))], action, c("(not listed)".into()));
    for af in lowest..highest {
        if !set.contains_key(&af) {
            b.rule("socket", vec![cond(0, Width::Dword, Cmp::Eq, u64::from(af))], action, c(family_name(af)));
        }
    }
}

fn family_name(af: u32) -> String {
    syscall_lists::FAMILIES
        .iter()
        .find(|(_, v)| *v == af)
        .map_or_else(|| format!("family {af}"), |(n, _)| n.to_string())
}

/// MemoryDenyWriteExecute= through seccomp (kernels without PR_SET_MDWE).
pub fn memory_deny_write_execute(b: &mut Builder, origin: &Origin) {
    const PROT_WRITE: u64 = 0x2;
    const PROT_EXEC: u64 = 0x4;
    const SHM_EXEC: u64 = 0o100000;
    let eperm = Action::Errno(EPERM);
    let c = || cause("MemoryDenyWriteExecute", None, Some(origin));
    b.rule("mmap", vec![has_bits(2, Width::Dword, PROT_WRITE | PROT_EXEC)], eperm, c());
    b.rule("mprotect", vec![has_bits(2, Width::Dword, PROT_EXEC)], eperm, c());
    b.rule("pkey_mprotect", vec![has_bits(2, Width::Dword, PROT_EXEC)], eperm, c());
    b.rule("shmat", vec![has_bits(2, Width::Dword, SHM_EXEC)], eperm, c());
}

/// RestrictRealtime=: only SCHED_OTHER (0), SCHED_BATCH (3) and SCHED_IDLE (5) may be set.
pub fn restrict_realtime(b: &mut Builder, s: &Settings) {
    let Some(c) = flag_cause("RestrictRealtime", &s.restrict_realtime) else { return };
    let eperm = Action::Errno(EPERM);
    for policy in [1u64, 2, 4] {
        b.rule("sched_setscheduler", vec![cond(1, Width::Dword, Cmp::Eq, policy)], eperm, c.clone());
    }
    b.rule("sched_setscheduler", vec![cond(1, Width::Dword, Cmp::Gt, 5)], eperm, c);
}

/// RestrictSUIDSGID=: no mode with S_ISUID or S_ISGID on chmod, mkdir, mknod and creating
/// opens; openat2 (flags in memory) gets ENOSYS so the C library uses openat.
pub fn restrict_suid_sgid(b: &mut Builder, s: &Settings) {
    let Some(c) = flag_cause("RestrictSUIDSGID", &s.restrict_suid_sgid) else { return };
    const O_CREAT: u64 = 0o100;
    let eperm = Action::Errno(EPERM);
    b.refuse_names(&["openat2"], Action::Errno(ENOSYS), c.clone());
    for bit in [0o4000u64, 0o2000] {
        for (name, arg) in [
            ("chmod", 1),
            ("fchmod", 1),
            ("fchmodat", 2),
            ("fchmodat2", 2),
            ("mkdir", 1),
            ("mkdirat", 2),
            ("mknod", 1),
            ("mknodat", 2),
            ("creat", 1),
        ] {
            b.rule(name, vec![has_bits(arg, Width::Dword, bit)], eperm, c.clone());
        }
        b.rule("open", vec![has_bits(1, Width::Dword, O_CREAT), has_bits(2, Width::Dword, bit)], eperm, c.clone());
        b.rule("openat", vec![has_bits(2, Width::Dword, O_CREAT), has_bits(3, Width::Dword, bit)], eperm, c.clone());
    }
}

/// LockPersonality=: personality(2) only with the default execution domain (PER_LINUX).
pub fn lock_personality(b: &mut Builder, s: &Settings) {
    let Some(c) = flag_cause("LockPersonality", &s.lock_personality) else { return };
    b.rule("personality", vec![cond(0, Width::Qword, Cmp::Ne, 0)], Action::Errno(EPERM), c);
}

/// KeyringMode=private, also when unset (systemd's default for a service): besides the session
/// keyring of its own the payload joins, add_key(2), keyctl(2) and request_key(2) are refused.
/// A uid's user keyring grants every right to every process of that uid, found by its serial
/// number (listed in /proc/keys) from any user namespace, so a payload that runs as a host uid
/// (root's or `User=`'s as root; the caller's rootless) could otherwise plant keys there or
/// unlink them. An argument filter cannot tell a serial number apart, so the calls go whole.
pub fn keyring(b: &mut Builder, s: &Settings) {
    let set = s.keyring_mode.as_ref();
    if set.is_some_and(|m| m.value != KeyringMode::Private) {
        return;
    }
    let c = cause("KeyringMode", None, set.map(|m| &m.origin));
    b.refuse_names(&["add_key", "keyctl", "request_key"], Action::Errno(EPERM), c);
}
