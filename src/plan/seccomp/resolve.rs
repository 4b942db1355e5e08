//! Settings → one `Filter` for the native architecture, with systemd's semantics: how
//! SystemCallFilter= assignments combine, the errno and architecture directives, and the
//! argument rules behind RestrictNamespaces=, RestrictAddressFamilies=,
//! MemoryDenyWriteExecute=, RestrictRealtime=, RestrictSUIDSGID=, LockPersonality= and the
//! syscall halves of the Protect*= and PrivateDevices= directives.
//!
//! Invariant: several directives judging one syscall combine as stacked kernel filters would:
//! the most restrictive action wins. Every refusal keeps the directive (and file:line) that
//! caused it, so a refused call can be explained.

use std::collections::BTreeMap;

use serde::Serialize;

use super::{Action, Cmp, Cond, Rule, SyscallRules, Width};
use crate::error::PlanError;
use crate::plan::syscalls::{self, Arch};
use crate::profile::Origin;
use crate::profile::syscall_lists::{self, ErrnoAction, FilterAssign, NsAssign};
use crate::settings::{Settings, Spanned};

pub const EPERM: u16 = 1;
pub const ENOSYS: u16 = 38;
pub const EAFNOSUPPORT: u16 = 97;

/// Why a syscall (or a form of it) is refused.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Cause {
    pub directive: &'static str,
    /// The entry that matched, as written (`@privileged`, `~AF_PACKET`), if any.
    pub entry: Option<String>,
    pub origin: Option<Origin>,
}

/// A syscall's fate before argument rules: its action and, when refused, why.
#[derive(Clone, Debug, PartialEq)]
struct Verdict {
    action: Action,
    cause: Option<Cause>,
}

/// Orders actions like the kernel orders the results of stacked filters.
pub fn severity(a: Action) -> u8 {
    match a {
        Action::KillProcess => 5,
        Action::Errno(_) => 4,
        Action::Notify => 3,
        Action::Log => 2,
        Action::Allow => 1,
    }
}

/// The rule set being built: unconditional verdicts per number, a default, and argument rules.
pub struct Builder {
    pub arch: Arch,
    default: Verdict,
    explicit: BTreeMap<u32, Verdict>,
    conditional: BTreeMap<u32, Vec<(Rule, Cause)>>,
    /// SystemCallLog= numbers (allowed, but reported).
    pub logged: Vec<u32>,
    /// Whether the allow-list form is in use (then unknown-to-systemd calls get ENOSYS).
    pub allow_list: bool,
}

fn cause(directive: &'static str, entry: Option<&str>, origin: Option<&Origin>) -> Cause {
    Cause { directive, entry: entry.map(str::to_string), origin: origin.cloned() }
}

impl Builder {
    pub fn new(arch: Arch) -> Self {
        Builder {
            arch,
            default: Verdict { action: Action::Allow, cause: None },
            explicit: BTreeMap::new(),
            conditional: BTreeMap::new(),
            logged: Vec::new(),
            allow_list: false,
        }
    }

    /// The unconditional verdict of `nr` so far.
    fn verdict(&self, nr: u32) -> &Verdict {
        self.explicit.get(&nr).unwrap_or(&self.default)
    }

    /// Refuses `nr` with `action` unless something at least as strict already applies.
    fn refuse(&mut self, nr: u32, action: Action, cause: Cause) {
        if severity(action) > severity(self.verdict(nr).action) {
            self.explicit.insert(nr, Verdict { action, cause: Some(cause) });
        }
    }

    fn refuse_name(&mut self, name: &str, action: Action, cause: &Cause) {
        if let Some(nr) = syscalls::number(self.arch, name) {
            self.refuse(nr, action, cause.clone());
        }
    }

    fn refuse_names(&mut self, names: &[&str], action: Action, cause: Cause) {
        for n in names {
            self.refuse_name(n, action, &cause);
        }
    }

    fn refuse_group(&mut self, group: &str, action: Action, cause: Cause) {
        for nr in syscalls::entry_numbers(self.arch, group).iter() {
            self.refuse(nr, action, cause.clone());
        }
    }

    /// Adds an argument rule: when `conds` hold, `action`.
    fn rule(&mut self, name: &str, conds: Vec<Cond>, action: Action, cause: Cause) {
        if let Some(nr) = syscalls::number(self.arch, name) {
            self.conditional.entry(nr).or_default().push((Rule { conds, action }, cause));
        }
    }

    /// The explained refusals, by number, for diagnostics.
    pub fn causes(&self) -> (Option<Cause>, BTreeMap<u32, Cause>) {
        let mut out: BTreeMap<u32, Cause> = BTreeMap::new();
        for (nr, v) in &self.explicit {
            if let Some(c) = &v.cause {
                out.insert(*nr, c.clone());
            }
        }
        // A refusal by argument names its directive; the entry only when every rule of the
        // call came from the same one (the event does not say which rule matched).
        for (nr, rules) in &self.conditional {
            if let Some((_, c)) = rules.first() {
                let same = rules.iter().all(|(_, o)| o.entry == c.entry && o.directive == c.directive);
                let c = if same { c.clone() } else { Cause { entry: None, ..c.clone() } };
                out.entry(*nr).or_insert(c);
            }
        }
        (self.default.cause.clone(), out)
    }

    /// Final per-syscall rules: argument rules stricter than the syscall's own verdict,
    /// strictest first, then that verdict.
    pub fn syscall_rules(&self) -> (Action, Vec<SyscallRules>) {
        let mut nrs: Vec<u32> = self.explicit.keys().chain(self.conditional.keys()).copied().collect();
        nrs.sort_unstable();
        nrs.dedup();
        let mut out = Vec::new();
        for nr in nrs {
            let otherwise = self.verdict(nr).action;
            let mut rules: Vec<Rule> = self
                .conditional
                .get(&nr)
                .map(|rs| {
                    rs.iter().map(|(r, _)| r.clone()).filter(|r| severity(r.action) > severity(otherwise)).collect()
                })
                .unwrap_or_default();
            rules.sort_by_key(|r| std::cmp::Reverse(severity(r.action)));
            if rules.is_empty() && otherwise == self.default.action {
                continue;
            }
            out.push(SyscallRules { nr, rules, otherwise });
        }
        (self.default.action, out)
    }
}

fn deny_action(s: &Settings) -> Action {
    match s.system_call_error_number.as_ref().map(|e| e.value) {
        Some(ErrnoAction::Errno(e)) => Action::Errno(e),
        _ => Action::KillProcess,
    }
}

fn item_action(errno: Option<ErrnoAction>, fallback: Action) -> Action {
    match errno {
        Some(ErrnoAction::Errno(e)) => Action::Errno(e),
        Some(ErrnoAction::Kill) => Action::KillProcess,
        None => fallback,
    }
}

/// SystemCallFilter=: the first assignment decides the kind; later ones add or remove.
pub fn system_call_filter(b: &mut Builder, s: &Settings) {
    let list: &[Spanned<FilterAssign>] = &s.system_call_filter;
    let Some(first) = list.first() else { return };
    let deny = deny_action(s);
    if !first.value.invert {
        b.allow_list = true;
        let mut allowed = syscalls::group_numbers(b.arch, "@default").cloned().unwrap_or_default();
        // Numbers a later `~` line took out, with that line as the reason they are refused.
        let mut removed: BTreeMap<u32, Cause> = BTreeMap::new();
        for a in list {
            for (entry, _) in &a.value.items {
                let numbers = syscalls::entry_numbers(b.arch, entry);
                if a.value.invert {
                    let c = cause("SystemCallFilter", Some(&format!("~{entry}")), Some(&a.origin));
                    for nr in numbers.iter() {
                        allowed.remove(nr);
                        removed.insert(nr, c.clone());
                    }
                } else {
                    allowed.union_with(&numbers);
                    for nr in numbers.iter() {
                        removed.remove(&nr);
                    }
                }
            }
        }
        b.default = Verdict { action: deny, cause: Some(cause("SystemCallFilter", None, Some(&first.origin))) };
        for nr in allowed.iter() {
            b.explicit.insert(nr, Verdict { action: Action::Allow, cause: None });
        }
        for (nr, c) in removed {
            b.explicit.insert(nr, Verdict { action: deny, cause: Some(c) });
        }
        return;
    }
    let mut denied: BTreeMap<u32, (Action, Cause)> = BTreeMap::new();
    for a in list {
        for (entry, errno) in &a.value.items {
            let numbers = syscalls::entry_numbers(b.arch, entry);
            if a.value.invert {
                let c = cause("SystemCallFilter", Some(&format!("~{entry}")), Some(&a.origin));
                for nr in numbers.iter() {
                    denied.insert(nr, (item_action(*errno, deny), c.clone()));
                }
            } else {
                for nr in numbers.iter() {
                    denied.remove(&nr);
                }
            }
        }
    }
    for (nr, (action, c)) in denied {
        b.refuse(nr, action, c);
    }
}

/// SystemCallLog=: the calls to report (with ~, all but the listed ones).
pub fn system_call_log(b: &mut Builder, s: &Settings) {
    let Some(first) = s.system_call_log.first() else { return };
    let mut set: BTreeMap<u32, ()> = BTreeMap::new();
    if first.value.invert {
        for (nr, _) in syscalls::all(b.arch) {
            set.insert(nr, ());
        }
    }
    for a in &s.system_call_log {
        for (entry, _) in &a.value.items {
            for nr in syscalls::entry_numbers(b.arch, entry).iter() {
                if a.value.invert == first.value.invert {
                    if first.value.invert {
                        set.remove(&nr)
                    } else {
                        set.insert(nr, ())
                    };
                } else if first.value.invert {
                    set.insert(nr, ());
                } else {
                    set.remove(&nr);
                }
            }
        }
    }
    b.logged = set.into_keys().collect();
}

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

/// SystemCallArchitectures=: which ABIs may make calls. sbx has tables only for the native
/// one, so naming another is refused rather than silently left unfiltered.
pub fn check_architectures(s: &Settings, arch: Arch) -> Result<(), PlanError> {
    for a in &s.system_call_architectures {
        let native = a.value == "native" || Arch::from_systemd_name(&a.value) == Some(arch);
        if !native {
            let msg = format!(
                "{}: sbx filters only the native ABI ({}); calls of other ABIs are always refused, so drop this entry",
                a.value,
                arch.name()
            );
            return Err(PlanError::directive("SystemCallArchitectures", &a.origin, msg));
        }
    }
    Ok(())
}

/// In the allow-list form, calls newer than systemd 252's table (in sbx's number table but not
/// in @known) fail with ENOSYS instead of the default action, so C libraries fall back to
/// older calls (fchmodat2 → fchmodat) as they do under systemd.
pub fn newer_than_systemd(b: &mut Builder) {
    let known = syscalls::group_numbers(b.arch, "@known").cloned().unwrap_or_default();
    let nrs: Vec<u32> = syscalls::all(b.arch).filter(|(nr, _)| !known.contains(*nr)).map(|(nr, _)| nr).collect();
    for nr in nrs {
        b.explicit.entry(nr).or_insert(Verdict { action: Action::Errno(ENOSYS), cause: None });
    }
}
