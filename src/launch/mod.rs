//! Launch: turns a Plan into a running sandbox and returns the payload's exit code.
//!
//! Invariant: everything the child needs is prepared before clone; the order of the steps in
//! the child is in `init.rs` (pid 1) and `payload.rs` (last steps), and nowhere else
//! (`network.rs` makes the network namespace pid 1 enters at its step).

pub mod cgroup;
pub(crate) mod diagnose;
mod dynamic_user;
mod idmap;
pub mod init;
pub mod landlock;
pub mod messages;
mod monitor;
pub mod mounts;
mod network;
pub mod payload;
pub mod prepare;
pub mod pty;
pub mod refusals;
pub mod report;
pub mod seccomp;
pub mod sequence;
pub mod signals;
pub mod state_dirs;
mod stop_timer;

use crate::error::Error;
use crate::plan::Plan;

/// How long the payload runs before the monitor and pid 1 release the pages of sbx's code
/// they no longer run (`sys::image`); short runs end first and pay nothing.
const RELEASE_CODE_AFTER: std::time::Duration = std::time::Duration::from_millis(100);

pub fn run(plan: &Plan, pty: Option<pty::Pty>) -> Result<i32, Error> {
    let prep = prepare::prepare(plan)?;
    let _claim =
        plan.identity.dynamic.then(|| dynamic_user::claim(plan.identity.uid, &plan.identity.user_name)).transpose()?;
    let _root_claim = plan
        .identity
        .host_id
        .map(|x| dynamic_user::claim(x, &crate::plan::dynamic_user::host_root_claim(&plan.name)))
        .transpose()?;
    let cgroup = plan.cgroup.as_ref().map(|c| cgroup::create(c, &plan.name)).transpose()?;
    let _cleanup = state_dirs::create(&plan.state_dirs, cgroup.as_ref().map(|c| c.path.clone()))?;
    let pty = pty.map(pty::Pty::start_relay);
    let code = monitor::run(plan, &prep, pty, cgroup.as_ref());
    // Not freed: its heap pages are still shared copy-on-write with the exiting pid 1, and the
    // frees would copy them (0.7% of a strict start-up's samples in perf) just before sbx exits.
    std::mem::forget(prep);
    code
}
