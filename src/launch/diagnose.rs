//! Why the sandbox could not be created, in terms of the host setting that forbids it and
//! the command that fixes it.
//!
//! Invariant: reads only /proc and /proc/sys (through `doctor::userns`, which `sbx doctor`
//! shares); each cause the host can have gets its own message rather than one generic
//! "operation not permitted".

use crate::doctor::userns::{BEST_EFFORT, explain_clone};
use crate::error::Error;
use crate::launch::report::describe_errno;
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
