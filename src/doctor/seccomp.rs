//! seccomp: whether sbx can install its filter, which return actions the kernel offers, the
//! filters sbx already runs under, and whether its diagnostics listener (the user
//! notification fd pid 1 takes from the payload to name a refused call) can work here.
//!
//! Invariant: the actions are asked of the kernel (SECCOMP_GET_ACTION_AVAIL), with
//! /proc/sys/kernel/seccomp/actions_avail as the fallback when an outer filter refuses the
//! question; the rest is parsing and classification.

use serde::Serialize;

use super::{Finding, Fix, Impact, Status, read, read_number, status_field};
use crate::host::HostFacts;
use crate::sys::Errno;
use crate::sys::probe::seccomp_action_available;

/// The calling process's seccomp state from /proc/self/status.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct SeccompState {
    /// `Seccomp:` 0 none, 1 strict, 2 filter.
    pub mode: Option<u8>,
    /// `Seccomp_filters:` (Linux 5.10+).
    pub filters: Option<u32>,
}

impl SeccompState {
    pub fn parse(status: &str) -> SeccompState {
        SeccompState {
            mode: status_field(status, "Seccomp").and_then(|v| v.parse().ok()),
            filters: status_field(status, "Seccomp_filters").and_then(|v| v.parse().ok()),
        }
    }

    pub fn filtered(&self) -> bool {
        self.mode == Some(2)
    }

    /// "2 seccomp filters" / "a seccomp filter" for messages.
    pub fn describe(&self) -> String {
        match self.filters {
            Some(1) => "1 seccomp filter (Seccomp: 2, Seccomp_filters: 1 in /proc/self/status)".into(),
            Some(n) => format!("{n} seccomp filters (Seccomp: 2, Seccomp_filters: {n} in /proc/self/status)"),
            None => "a seccomp filter (Seccomp: 2 in /proc/self/status)".into(),
        }
    }
}

/// Whether the kernel knows a return action.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Avail {
    Yes,
    No,
    /// The question itself failed with this errno and the fallback file was unreadable.
    Unknown(Errno),
}

/// The return actions sbx's filters use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Actions {
    /// SECCOMP_RET_ALLOW: asking about it tells whether filter mode exists at all.
    pub filter: Avail,
    pub errno: Avail,
    pub kill_process: Avail,
    pub user_notif: Avail,
}

const RET_ALLOW: u32 = 0x7fff_0000;
const RET_ERRNO: u32 = 0x0005_0000;
const RET_KILL_PROCESS: u32 = 0x8000_0000;
const RET_USER_NOTIF: u32 = 0x7fc0_0000;

impl Actions {
    pub fn probe() -> Actions {
        let listed = read("/proc/sys/kernel/seccomp/actions_avail");
        let ask = |action, name| classify(seccomp_action_available(action), listed.as_deref(), name);
        Actions {
            filter: ask(RET_ALLOW, "allow"),
            errno: ask(RET_ERRNO, "errno"),
            kill_process: ask(RET_KILL_PROCESS, "kill_process"),
            user_notif: ask(RET_USER_NOTIF, "user_notif"),
        }
    }
}

/// The kernel's answer, or the actions_avail list when the question was refused.
pub fn classify(answer: Result<(), Errno>, actions_avail: Option<&str>, name: &str) -> Avail {
    match answer {
        Ok(()) => Avail::Yes,
        Err(Errno::OPNOTSUPP) => Avail::No,
        Err(e) => match actions_avail {
            Some(list) => {
                if list.split_whitespace().any(|a| a == name) {
                    Avail::Yes
                } else {
                    Avail::No
                }
            }
            None if e == Errno::INVAL || e == Errno::NOSYS => Avail::No,
            None => Avail::Unknown(e),
        },
    }
}

pub fn filter_finding(state: &SeccompState, a: &Actions) -> Finding {
    const ID: &str = "seccomp";
    const TITLE: &str = "seccomp filters";
    let missing: Vec<&str> =
        [(a.filter, "filters"), (a.errno, "SECCOMP_RET_ERRNO"), (a.kill_process, "SECCOMP_RET_KILL_PROCESS")]
            .into_iter()
            .filter(|(v, _)| *v != Avail::Yes)
            .map(|(_, n)| n)
            .collect();
    let mut f = if missing.is_empty() {
        Finding::new(
            ID,
            TITLE,
            Status::Ok,
            "sbx can install its system call filter (filter mode, errno and kill-process actions)",
        )
    } else if let Some(Avail::Unknown(e)) =
        [a.filter, a.errno, a.kill_process].into_iter().find(|v| matches!(v, Avail::Unknown(_)))
    {
        Finding::new(
            ID,
            TITLE,
            Status::Unknown,
            format!("cannot ask the kernel which seccomp actions exist: {}", crate::error::describe_errno(e)),
        )
    } else {
        Finding::new(
            ID,
            TITLE,
            Status::Missing,
            format!("the kernel lacks seccomp {}: sbx cannot install its system call filter", missing.join(", ")),
        )
        .fixes([Fix::note("use a kernel built with CONFIG_SECCOMP_FILTER (every distribution kernel is)")])
    };
    if state.filtered() {
        f = f.detail(format!(
            "sbx already runs under {}, from a container engine or a parent sandbox; sbx's filter adds to it, and a call either refuses stays refused",
            state.describe()
        ));
    }
    f.impact(Impact::EverySandbox)
}

/// What decides whether sbx's pid 1 can take the payload's notification fd.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListenerFacts {
    pub kernel: (u32, u32),
    /// kernel.yama.ptrace_scope, when Yama is built in.
    pub ptrace_scope: Option<i64>,
    /// HostFacts' verdict, which the plan uses.
    pub usable: bool,
}

impl ListenerFacts {
    pub fn read(host: &HostFacts) -> ListenerFacts {
        ListenerFacts {
            kernel: host.kernel,
            ptrace_scope: read_number("/proc/sys/kernel/yama/ptrace_scope"),
            usable: host.seccomp_listener,
        }
    }
}

pub fn listener_finding(l: &ListenerFacts, a: &Actions) -> Finding {
    const ID: &str = "seccomp-listener";
    const TITLE: &str = "seccomp user notification";
    let scope = match l.ptrace_scope {
        Some(s) => format!("Yama ptrace_scope {s}"),
        None => "no Yama".to_string(),
    };
    let f = if a.user_notif == Avail::Yes && l.usable {
        Finding::new(
            ID,
            TITLE,
            Status::Ok,
            format!(
                "sbx's pid 1 can take the payload's notification fd (SECCOMP_RET_USER_NOTIF, kernel {}.{}, {scope}): refused calls are named",
                l.kernel.0, l.kernel.1
            ),
        )
    } else {
        let why = if a.user_notif != Avail::Yes {
            "the kernel has no SECCOMP_RET_USER_NOTIF (Linux 5.0+)".to_string()
        } else if l.kernel < (5, 9) {
            format!(
                "kernel {}.{} is older than 5.9 (pidfd_getfd and SECCOMP_USER_NOTIF_FLAG_CONTINUE)",
                l.kernel.0, l.kernel.1
            )
        } else {
            "Yama's ptrace_scope is 3: no process may take another's descriptors".to_string()
        };
        let fix = if l.ptrace_scope == Some(3) {
            Fix::note(
                "ptrace_scope 3 cannot be lowered until reboot: set kernel.yama.ptrace_scope = 1 in /etc/sysctl.d/ and reboot",
            )
        } else {
            Fix::note("use Linux 5.9 or newer")
        };
        Finding::new(ID, TITLE, Status::Limited, format!("{why}; the filter still refuses and kills, but sbx cannot name the refused call and --log-refused reports nothing"))
            .fixes([fix])
    };
    f.impact(Impact::Info)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: Actions =
        Actions { filter: Avail::Yes, errno: Avail::Yes, kill_process: Avail::Yes, user_notif: Avail::Yes };

    #[test]
    fn parses_the_seccomp_lines() {
        let s = SeccompState::parse("Name:\tx\nSeccomp:\t2\nSeccomp_filters:\t3\n");
        assert_eq!(s, SeccompState { mode: Some(2), filters: Some(3) });
        assert!(s.filtered());
        assert!(s.describe().starts_with("3 seccomp filters"));
        let old = SeccompState::parse("Seccomp:\t0\n");
        assert_eq!(old, SeccompState { mode: Some(0), filters: None });
        assert!(!old.filtered());
    }

    #[test]
    fn falls_back_to_actions_avail() {
        let list = Some("kill_process kill_thread trap errno user_notif trace log allow");
        assert_eq!(classify(Ok(()), None, "allow"), Avail::Yes);
        assert_eq!(classify(Err(Errno::OPNOTSUPP), list, "user_notif"), Avail::No);
        assert_eq!(classify(Err(Errno::PERM), list, "user_notif"), Avail::Yes);
        assert_eq!(classify(Err(Errno::PERM), Some("kill_thread errno allow"), "user_notif"), Avail::No);
        assert_eq!(classify(Err(Errno::INVAL), None, "allow"), Avail::No);
        assert_eq!(classify(Err(Errno::PERM), None, "allow"), Avail::Unknown(Errno::PERM));
    }

    #[test]
    fn filter_needs_errno_and_kill_process() {
        let none = SeccompState::default();
        assert_eq!(filter_finding(&none, &ALL).status, Status::Ok);
        let f = filter_finding(&none, &Actions { kill_process: Avail::No, ..ALL });
        assert_eq!(f.status, Status::Missing);
        assert!(f.summary.contains("SECCOMP_RET_KILL_PROCESS"), "{}", f.summary);
        assert_eq!(f.impact, Impact::EverySandbox);
        let under = filter_finding(&SeccompState { mode: Some(2), filters: Some(1) }, &ALL);
        assert_eq!(under.status, Status::Ok);
        assert!(under.details[0].contains("Seccomp_filters: 1"), "{:?}", under.details);
    }

    #[test]
    fn listener_names_what_stops_it() {
        let ok = ListenerFacts { kernel: (6, 18), ptrace_scope: Some(1), usable: true };
        assert_eq!(listener_finding(&ok, &ALL).status, Status::Ok);
        let old = ListenerFacts { kernel: (5, 4), ptrace_scope: None, usable: false };
        assert!(listener_finding(&old, &ALL).summary.contains("older than 5.9"));
        let yama = ListenerFacts { kernel: (6, 1), ptrace_scope: Some(3), usable: false };
        let f = listener_finding(&yama, &ALL);
        assert_eq!(f.status, Status::Limited);
        assert!(f.summary.contains("ptrace_scope is 3"));
        assert_eq!(f.impact, Impact::Info);
        let no_notif = listener_finding(&ok, &Actions { user_notif: Avail::No, ..ALL });
        assert!(no_notif.summary.contains("SECCOMP_RET_USER_NOTIF"));
    }
}
