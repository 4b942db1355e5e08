//! Why the sandbox could not be created, in terms of the host setting that forbids it and
//! the command that fixes it.
//!
//! Invariant: reads only /proc and /proc/sys (through `doctor::userns`, which `sbx doctor`
//! shares); each cause the host can have gets its own message rather than one generic
//! "operation not permitted".

use crate::doctor::procfs::explain_refused_proc;
use crate::doctor::userns::{BEST_EFFORT, explain_clone, explain_map};
use crate::error::Error;
use crate::error::describe_errno;
use crate::plan::Plan;
use crate::sys::Errno;

/// clone(2) with namespace flags failed: find the reason on this host (the same one
/// `sbx doctor` names).
pub fn clone_failed(plan: &Plan, e: Errno) -> Error {
    let base = format!("cannot create the sandbox's namespaces: {}", describe_errno(e));
    match explain_clone(plan.namespaces.user, e) {
        Some(cause) => Error::Namespaces(format!("{base}\n{}\n{BEST_EFFORT}", cause.render())),
        None => Error::Namespaces(format!("{base}\n{BEST_EFFORT}")),
    }
}

/// The sandbox's network namespace could not be made or entered (`launch::network`: a helper
/// makes it beside clone(2)): the run falls back like a refused clone(2).
pub fn net_namespace_failed(message: String) -> Error {
    Error::Namespaces(format!("cannot create the sandbox's namespaces: {message}\n{BEST_EFFORT}"))
}

/// Writing the new user namespace's uid_map or gid_map (`file`) failed: the same causes as
/// creating it, plus uid 0 without CAP_SETFCAP. The run falls back like a refused clone(2).
pub fn id_map_failed(file: &str, text: &str, e: Errno) -> Error {
    let base = format!("user namespace: write {text:?} to {file}: {}", describe_errno(e));
    match explain_map(e) {
        Some(cause) => Error::Namespaces(format!("{base}\n{}\n{BEST_EFFORT}", cause.render())),
        None => Error::Namespaces(format!("{base}\n{BEST_EFFORT}")),
    }
}

/// What `--best-effort` does when the fresh /proc is refused.
pub const PROC_BEST_EFFORT: &str = "or: sbx run --best-effort binds the container's /proc instead (it shows the container's processes, not only the sandbox's) and reports what that weakens";

/// pid 1 could not mount the sandbox's procfs in its user namespace (`message` says which
/// step): name the masks that make the kernel refuse it, and the fixes.
pub fn proc_refused(message: String) -> Error {
    let (causes, fixes) = explain_refused_proc();
    let mut text = format!("cannot mount a fresh /proc in the sandbox: {message}");
    for c in causes {
        text.push_str(&format!("\n{c}"));
    }
    for f in fixes {
        text.push_str(&format!("\nfix: {f}"));
    }
    text.push_str(&format!("\n{PROC_BEST_EFFORT}"));
    Error::ProcRefused(text)
}
