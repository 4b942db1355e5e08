//! The syscall filter: systemd's seccomp directives resolved into one rule set per
//! architecture, compiled to classic BPF before fork and installed by the payload last.
//!
//! Invariant: a `Filter` is complete and explicit — every syscall number with a decision
//! other than the default is listed with its rules, the architecture check comes first, and
//! nothing is left for the child to decide. `bpf.rs` turns it into a program; `interp.rs`
//! runs a program on a syscall for the tests.

pub mod arguments;
pub mod bpf;
#[cfg(test)]
pub mod interp;
pub mod resolve;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;

use serde::Serialize;

use crate::error::PlanError;
use crate::host::HostFacts;
use crate::plan::syscalls::{self, Arch};
use crate::profile::syscall_lists::KeyringMode;
use crate::settings::Settings;
use resolve::{Builder, Cause};

/// What the kernel does with a system call (seccomp return actions).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Action {
    Allow,
    /// Fail the call with this errno.
    Errno(u16),
    /// Kill the whole process (SIGSYS status).
    KillProcess,
    /// Ask the supervisor (sbx's pid 1) through the user-notification fd; it decides.
    Notify,
    /// Allow and log (SECCOMP_RET_LOG).
    Log,
}

impl Action {
    /// The 32-bit SECCOMP_RET_* value.
    pub fn ret(self) -> u32 {
        match self {
            Action::Allow => 0x7fff_0000,
            Action::Errno(e) => 0x0005_0000 | u32::from(e),
            Action::KillProcess => 0x8000_0000,
            Action::Notify => 0x7fc0_0000,
            Action::Log => 0x7ffc_0000,
        }
    }
}

/// How an argument is compared. `Dword` compares only the low 32 bits (for arguments the
/// kernel truncates to int, such as the ioctl request); `Qword` all 64.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Width {
    Dword,
    Qword,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[allow(dead_code, reason = "the compiler handles every comparison; the directives use some of them")]
pub enum Cmp {
    Eq,
    Ne,
    /// `(arg & mask) == value`
    MaskedEq(u64),
    Lt,
    Le,
    Gt,
    Ge,
}

/// One comparison on argument `arg` (0..=5), unsigned.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Cond {
    pub arg: u8,
    pub width: Width,
    pub cmp: Cmp,
    pub value: u64,
}

/// If every condition holds (an empty list always holds), take `action`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Rule {
    pub conds: Vec<Cond>,
    pub action: Action,
}

/// The decision for one syscall number: the first rule that matches, else `otherwise`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SyscallRules {
    pub nr: u32,
    pub rules: Vec<Rule>,
    pub otherwise: Action,
}

/// A complete filter for one architecture.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Filter {
    /// AUDIT_ARCH_* of the syscalls this filter judges.
    pub audit_arch: u32,
    /// What a call from any other architecture (or ABI) gets.
    pub other_arch: Action,
    /// On x86_64: calls with bit 30 set (the x32 ABI) get `other_arch` too.
    pub reject_x32: bool,
    /// Syscalls numbered above this get `Errno(ENOSYS)` (newer than sbx's table), so C
    /// libraries fall back to older calls instead of being killed. `None`: no such rule.
    pub enosys_above: Option<u32>,
    pub syscalls: Vec<SyscallRules>,
    pub default: Action,
}

/// What pid 1 does when the filter hands it a call (the `Notify` action).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Verdict {
    /// Kill the process, as SECCOMP_RET_KILL_PROCESS would, and say which call it was.
    Kill,
    /// Fail the call with this errno, and say so (`--log-refused`).
    Errno(u16),
    /// Let the call run, and say so (SystemCallLog=).
    Log,
}

/// Everything the payload installs and pid 1 needs to judge notifications.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SeccompPlan {
    pub arch: Arch,
    /// The policy as installed: `Notify` where pid 1 decides (when `listener`).
    pub filter: Filter,
    /// Whether pid 1 listens for notifications (diagnostics); otherwise the kernel decides.
    pub listener: bool,
    /// The verdict for a notification, by syscall number; `default_verdict` otherwise.
    pub verdicts: Vec<(u32, Verdict)>,
    pub default_verdict: Verdict,
    /// Why each number is refused, for the messages; `default_cause` for the rest.
    pub causes: BTreeMap<u32, Cause>,
    pub default_cause: Option<Cause>,
    /// MemoryDenyWriteExecute= through prctl(PR_SET_MDWE) (exact, kernel >= 6.3).
    pub mdwe_prctl: bool,
    pub keyring: Option<KeyringMode>,
    /// The compiled program as installed (with `Notify` when `listener`).
    #[serde(skip)]
    pub program: Vec<bpf::Insn>,
    /// With a listener: the same policy without `Notify`, for when the kernel refuses a
    /// listener at run time because a filter sbx already runs under holds one. Compiled only
    /// when sbx runs under a filter (`HostFacts::under_seccomp`); otherwise no listener can
    /// exist above the payload's, and `None`.
    #[serde(skip)]
    pub fallback: Option<Vec<bpf::Insn>>,
}

/// Options from the command line and the host that shape the filter.
pub struct Options {
    /// Report every refused call, errno ones included (`--log-refused`).
    pub log_refused: bool,
}

pub fn plan(s: &Settings, host: &HostFacts, opts: &Options) -> Result<SeccompPlan, PlanError> {
    let arch =
        Arch::native().ok_or_else(|| PlanError::Host("sbx has no system call table for this architecture".into()))?;
    plan_for(s, host, opts, arch)
}

/// The plan for a given architecture (the native one at run time; any in tests).
pub fn plan_for(s: &Settings, host: &HostFacts, opts: &Options, arch: Arch) -> Result<SeccompPlan, PlanError> {
    resolve::check_architectures(s, arch)?;
    let mut b = Builder::new(arch);
    resolve::system_call_filter(&mut b, s);
    arguments::protections(&mut b, s);
    arguments::terminal_injection(&mut b);
    arguments::restrict_namespaces(&mut b, s);
    arguments::restrict_address_families(&mut b, s);
    let mdwe = s.memory_deny_write_execute.as_ref().filter(|m| m.value);
    let mdwe_prctl = mdwe.is_some() && host.kernel >= (6, 3);
    if let (Some(m), false) = (mdwe, mdwe_prctl) {
        arguments::memory_deny_write_execute(&mut b, &m.origin);
    }
    arguments::restrict_realtime(&mut b, s);
    arguments::restrict_suid_sgid(&mut b, s);
    arguments::lock_personality(&mut b, s);
    arguments::keyring(&mut b, s);
    resolve::system_call_log(&mut b, s);
    if b.allow_list {
        resolve::newer_than_systemd(&mut b);
    }
    let direct = direct_filter(&b);
    // Root in a user namespace of its own (PrivateUsers=): pid 1 could take the fd only from a
    // dumpable payload, which host processes of the same uid could then trace while it still
    // holds capabilities; the kernel decides alone there (the refused call is not named). As
    // root, pid 1 takes the fd from the non-dumpable payload with CAP_SYS_PTRACE, which
    // containers drop.
    let listener = host.seccomp_listener && !(host.is_root() && (Settings::flag(&s.private_users) || !host.sys_ptrace));
    let compile = |f: &Filter| bpf::compile(f).map_err(|e| PlanError::Host(format!("syscall filter: {e}")));
    let (filter, verdicts, default_verdict, fallback) = if listener {
        let (notifying, verdicts, default_verdict) = with_notify(&direct, opts);
        let fallback = host.under_seccomp.then(|| compile(&direct)).transpose()?;
        (notifying, verdicts, default_verdict, fallback)
    } else {
        (direct, Vec::new(), Verdict::Kill, None)
    };
    let program = compile(&filter)?;
    let (default_cause, causes) = b.causes();
    Ok(SeccompPlan {
        arch,
        filter,
        listener,
        verdicts,
        default_verdict,
        causes,
        default_cause,
        mdwe_prctl,
        keyring: keyring(s, host),
        program,
        fallback,
    })
}

/// The session keyring the payload joins (systemd's default, `private`, when unset). Where
/// keyctl(2) is refused to sbx itself there is none to join for `private`: the host's filter and
/// the payload's (`arguments::keyring`) both keep the payload away from every keyring.
fn keyring(s: &Settings, host: &HostFacts) -> Option<KeyringMode> {
    match s.keyring_mode.as_ref().map_or(KeyringMode::Private, |k| k.value) {
        KeyringMode::Private if host.keyctl_refused => None,
        mode => Some(mode),
    }
}

/// The policy with the kernel deciding everything itself.
fn direct_filter(b: &Builder) -> Filter {
    let (default, mut syscalls) = b.syscall_rules();
    for nr in &b.logged {
        match syscalls.iter_mut().find(|r| r.nr == *nr) {
            Some(r) if r.otherwise == Action::Allow => r.otherwise = Action::Log,
            Some(_) => {}
            None if default == Action::Allow => {
                syscalls.push(SyscallRules { nr: *nr, rules: Vec::new(), otherwise: Action::Log })
            }
            None => {}
        }
    }
    syscalls.sort_by_key(|r| r.nr);
    let x86_64 = b.arch == Arch::X86_64;
    Filter {
        audit_arch: b.arch.audit_arch(),
        // The rules speak native numbers only, so calls through another ABI (i386's int 0x80,
        // x32) would pass every rule, the terminal-injection one included: they are refused.
        other_arch: Action::KillProcess,
        reject_x32: x86_64,
        enosys_above: b.allow_list.then(|| syscalls::max_number(b.arch)),
        syscalls,
        default,
    }
}

/// Hands kills (and with `--log-refused`, errno refusals; and logged calls) to pid 1.
fn with_notify(direct: &Filter, opts: &Options) -> (Filter, Vec<(u32, Verdict)>, Verdict) {
    let to_notify = |a: Action| -> Option<Verdict> {
        match a {
            Action::KillProcess => Some(Verdict::Kill),
            Action::Errno(e) if opts.log_refused && e != resolve::ENOSYS => Some(Verdict::Errno(e)),
            Action::Log => Some(Verdict::Log),
            _ => None,
        }
    };
    let mut f = direct.clone();
    let mut verdicts = Vec::new();
    let default_verdict = to_notify(f.default).unwrap_or(Verdict::Kill);
    if to_notify(f.default).is_some() {
        f.default = Action::Notify;
    }
    if f.other_arch == Action::KillProcess {
        f.other_arch = Action::Notify;
    }
    for r in &mut f.syscalls {
        let own = to_notify(r.otherwise);
        let mut notified = own.into_iter().chain(r.rules.iter().filter_map(|x| to_notify(x.action)));
        // One verdict per number: notify only when every notified action agrees.
        let Some(one) = notified.next() else { continue };
        if notified.any(|v| v != one) {
            continue;
        }
        if own.is_some() {
            r.otherwise = Action::Notify;
        }
        for rule in &mut r.rules {
            if to_notify(rule.action).is_some() {
                rule.action = Action::Notify;
            }
        }
        verdicts.push((r.nr, one));
    }
    (f, verdicts, default_verdict)
}
