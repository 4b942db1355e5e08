//! Settings → one `Filter` for the native architecture, with systemd's semantics: the
//! `Builder` every directive adds to, how SystemCallFilter= and SystemCallLog= assignments
//! combine, the errno and architecture directives. The argument rules of the other
//! hardening directives are in `arguments.rs`.
//!
//! Invariant: several directives judging one syscall combine as stacked kernel filters would:
//! the most restrictive action wins. Every refusal keeps the directive (and file:line) that
//! caused it, so a refused call can be explained.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::Serialize;

use super::{Action, Cond, Rule, SyscallRules};
use crate::error::PlanError;
use crate::plan::syscalls::{self, Arch};
use crate::profile::Origin;
use crate::profile::syscall_lists::{ErrnoAction, FilterAssign};
use crate::settings::{Settings, Spanned};

pub const EPERM: u16 = 1;
pub const ENOSYS: u16 = 38;
pub const EAFNOSUPPORT: u16 = 97;

/// Why a syscall (or a form of it) is refused.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Cause {
    pub directive: &'static str,
    /// The entry that matched, as written (`@privileged`, `~AF_PACKET`), if any. Shared:
    /// one cause stands behind every number of a group.
    pub entry: Option<Arc<str>>,
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

/// Verdicts by syscall number, in a table indexed by number (numbers are small and dense:
/// below 512 on every architecture sbx knows, and the table grows if one is not).
#[derive(Default)]
struct Verdicts(Vec<Option<Verdict>>);

impl Verdicts {
    fn get(&self, nr: u32) -> Option<&Verdict> {
        self.0.get(nr as usize).and_then(Option::as_ref)
    }

    fn slot(&mut self, nr: u32) -> &mut Option<Verdict> {
        let i = nr as usize;
        if i >= self.0.len() {
            self.0.resize(i + 1, None);
        }
        &mut self.0[i]
    }

    fn insert(&mut self, nr: u32, v: Verdict) {
        *self.slot(nr) = Some(v);
    }

    /// (number, verdict), ascending.
    fn iter(&self) -> impl Iterator<Item = (u32, &Verdict)> {
        (0u32..).zip(&self.0).filter_map(|(nr, v)| Some((nr, v.as_ref()?)))
    }
}

/// The rule set being built: unconditional verdicts per number, a default, and argument rules.
pub struct Builder {
    pub arch: Arch,
    default: Verdict,
    explicit: Verdicts,
    conditional: BTreeMap<u32, Vec<(Rule, Cause)>>,
    /// SystemCallLog= numbers (allowed, but reported).
    pub logged: Vec<u32>,
    /// Whether the allow-list form is in use (then unknown-to-systemd calls get ENOSYS).
    pub allow_list: bool,
}

pub(super) fn cause(directive: &'static str, entry: Option<&str>, origin: Option<&Origin>) -> Cause {
    Cause { directive, entry: entry.map(Arc::from), origin: origin.cloned() }
}

impl Builder {
    pub fn new(arch: Arch) -> Self {
        Builder {
            arch,
            default: Verdict { action: Action::Allow, cause: None },
            explicit: Verdicts::default(),
            conditional: BTreeMap::new(),
            logged: Vec::new(),
            allow_list: false,
        }
    }

    /// The unconditional verdict of `nr` so far.
    fn verdict(&self, nr: u32) -> &Verdict {
        self.explicit.get(nr).unwrap_or(&self.default)
    }

    /// Refuses `nr` with `action` unless something at least as strict already applies.
    pub(super) fn refuse(&mut self, nr: u32, action: Action, cause: Cause) {
        if severity(action) > severity(self.verdict(nr).action) {
            self.explicit.insert(nr, Verdict { action, cause: Some(cause) });
        }
    }

    fn refuse_name(&mut self, name: &str, action: Action, cause: &Cause) {
        if let Some(nr) = syscalls::number(self.arch, name) {
            self.refuse(nr, action, cause.clone());
        }
    }

    pub(super) fn refuse_names(&mut self, names: &[&str], action: Action, cause: Cause) {
        for n in names {
            self.refuse_name(n, action, &cause);
        }
    }

    pub(super) fn refuse_group(&mut self, group: &str, action: Action, cause: Cause) {
        for nr in syscalls::entry_numbers(self.arch, group).iter() {
            self.refuse(nr, action, cause.clone());
        }
    }

    /// Adds an argument rule: when `conds` hold, `action`.
    pub(super) fn rule(&mut self, name: &str, conds: Vec<Cond>, action: Action, cause: Cause) {
        if let Some(nr) = syscalls::number(self.arch, name) {
            self.conditional.entry(nr).or_default().push((Rule { conds, action }, cause));
        }
    }

    /// The explained refusals, by number, for diagnostics.
    pub fn causes(&self) -> (Option<Cause>, BTreeMap<u32, Cause>) {
        let mut out: BTreeMap<u32, Cause> = BTreeMap::new();
        for (nr, v) in self.explicit.iter() {
            if let Some(c) = &v.cause {
                out.insert(nr, c.clone());
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
        let mut nrs: Vec<u32> =
            self.explicit.iter().map(|(nr, _)| nr).chain(self.conditional.keys().copied()).collect();
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
        b.explicit.slot(nr).get_or_insert(Verdict { action: Action::Errno(ENOSYS), cause: None });
    }
}
