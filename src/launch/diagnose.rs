//! Why the sandbox could not be created, in terms of the host setting that forbids it and
//! the command that fixes it.
//!
//! Invariant: reads only /proc and /proc/sys; each cause the host can have gets its own
//! message rather than one generic "operation not permitted".

use crate::error::Error;
use crate::launch::report::describe_errno;
use crate::plan::Plan;
use crate::sys::Errno;

fn read_num(path: &str) -> Option<i64> {
    std::fs::read_to_string(path).ok()?.trim().parse().ok()
}

fn seccomp_filtered() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .map(|s| s.lines().any(|l| l.starts_with("Seccomp:") && l.trim_end().ends_with('2')))
        .unwrap_or(false)
}

const BEST_EFFORT: &str = "or: sbx run --best-effort runs with what needs no namespace (Landlock, seccomp, capabilities) and reports what that weakens";

/// clone(2) with namespace flags failed: find the reason on this host.
pub fn clone_failed(plan: &Plan, e: Errno) -> Error {
    let base = format!("cannot create the sandbox's namespaces: {}", describe_errno(e));
    let filtered = e == Errno::PERM && seccomp_filtered();
    if !plan.namespaces.user && !filtered {
        return Error::Namespaces(format!("{base}\n{BEST_EFFORT}"));
    }
    let cause = if read_num("/proc/sys/user/max_user_namespaces") == Some(0) {
        "user namespaces are disabled: user.max_user_namespaces is 0.\nfix: sysctl -w user.max_user_namespaces=15000 (and set it in /etc/sysctl.d/ to keep it)".to_string()
    } else if read_num("/proc/sys/kernel/unprivileged_userns_clone") == Some(0) {
        "unprivileged user namespaces are disabled: kernel.unprivileged_userns_clone is 0.\nfix: sysctl -w kernel.unprivileged_userns_clone=1 (and set it in /etc/sysctl.d/ to keep it)".to_string()
    } else if read_num("/proc/sys/kernel/apparmor_restrict_unprivileged_userns") == Some(1) {
        "AppArmor restricts unprivileged user namespaces (kernel.apparmor_restrict_unprivileged_userns is 1).\nfix: give sbx an AppArmor profile that allows \"userns,\", or sysctl -w kernel.apparmor_restrict_unprivileged_userns=0".to_string()
    } else if filtered {
        "a seccomp filter on sbx forbids creating namespaces: this is usually a container's seccomp profile (Docker's default refuses unshare and clone with namespace flags).\nfix: run the container with --security-opt seccomp=unconfined or a profile that allows them, or run sbx as root in it".to_string()
    } else if e == Errno::NOSPC || e == Errno::USERS {
        "the limit on nested or total user namespaces is reached (user.max_user_namespaces, or 32 levels of nesting).\nfix: raise user.max_user_namespaces, or run sbx fewer levels deep".to_string()
    } else {
        return Error::Namespaces(format!("{base}\n{BEST_EFFORT}"));
    };
    Error::Namespaces(format!("{base}\ncause: {cause}\n{BEST_EFFORT}"))
}
