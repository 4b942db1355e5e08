//! Process creation into new namespaces: clone(2) used like fork(2).

use super::{Errno, check};

/// Namespace flags for clone(2).
pub const CLONE_NEWNS: u64 = libc::CLONE_NEWNS as u64;
pub const CLONE_NEWUSER: u64 = libc::CLONE_NEWUSER as u64;
pub const CLONE_NEWPID: u64 = libc::CLONE_NEWPID as u64;
pub const CLONE_NEWNET: u64 = libc::CLONE_NEWNET as u64;
pub const CLONE_NEWIPC: u64 = libc::CLONE_NEWIPC as u64;
pub const CLONE_NEWUTS: u64 = libc::CLONE_NEWUTS as u64;
pub const CLONE_NEWCGROUP: u64 = libc::CLONE_NEWCGROUP as u64;

/// What `fork_into` returned in this process.
pub enum Forked {
    Parent { child: i32 },
    Child,
}

/// clone(2) with the given namespace flags and SIGCHLD, no new stack: fork semantics.
/// Call only while the process is single-threaded; the child may then use only
/// async-signal-safe operations until it execs or exits.
pub fn fork_into(ns_flags: u64) -> Result<Forked, Errno> {
    let flags = ns_flags | libc::SIGCHLD as u64;
    // SAFETY: clone with a null stack duplicates the calling thread like fork(2); the caller
    // guarantees the process is single-threaded, so no lock can be held by another thread.
    let ret = check(unsafe { libc::syscall(libc::SYS_clone, flags, 0usize, 0usize, 0usize, 0usize) })?;
    Ok(if ret == 0 { Forked::Child } else { Forked::Parent { child: ret as i32 } })
}

/// setns(2) into the namespace `ns` (a /proc/PID/ns/* or SIOCGSKNS descriptor) of type
/// `kind` (CLONE_NEWUSER, CLONE_NEWNET, ...). Entering a user namespace needs a
/// single-threaded process, which then holds every capability in it.
pub fn enter(ns: std::os::fd::BorrowedFd<'_>, kind: u64) -> Result<(), Errno> {
    use std::os::fd::AsRawFd;
    // SAFETY: setns with a namespace descriptor changes only this process's namespaces (and,
    // for a user namespace, its credentials); no memory or descriptor table is affected.
    check(unsafe { libc::setns(ns.as_raw_fd(), kind as libc::c_int) } as libc::c_long)?;
    Ok(())
}

/// unshare(CLONE_NEWCGROUP): the current cgroup becomes this process's cgroup root.
pub fn unshare_cgroup() -> Result<(), Errno> {
    // SAFETY: a new cgroup namespace changes only how cgroup paths are shown; no memory or
    // descriptor table is affected.
    check(unsafe { libc::unshare(libc::CLONE_NEWCGROUP) } as libc::c_long)?;
    Ok(())
}

/// _exit(2): leaves the process without running destructors or atexit handlers.
pub fn exit_now(code: i32) -> ! {
    // SAFETY: _exit never returns and touches no Rust state.
    unsafe { libc::_exit(code) }
}
