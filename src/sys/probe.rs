//! The system calls `sbx doctor` probes the host with: unshare(2) in a throw-away child,
//! the Landlock ABI query and seccomp's action query. None of them changes the host.

use super::{Errno, check};

/// unshare(2) with namespace flags only (the `CLONE_NEW*` constants of `sys::ns`).
/// Call it in a single-threaded child made for the probe: the calling process moves into
/// the new namespaces for good.
pub fn unshare_namespaces(ns_flags: u64) -> Result<(), Errno> {
    // SAFETY: unshare takes one integer; with namespace flags only (no CLONE_FILES/FS) it
    // changes no state other threads could observe, and the probing child has no threads.
    check(unsafe { libc::unshare(ns_flags as libc::c_int) } as libc::c_long)?;
    Ok(())
}

const SECCOMP_GET_ACTION_AVAIL: libc::c_ulong = 2;

/// seccomp(SECCOMP_GET_ACTION_AVAIL, 0, &action): whether the kernel knows a filter return
/// action (`SECCOMP_RET_*`). EOPNOTSUPP: it does not; EINVAL: no filter support at all.
pub fn seccomp_action_available(action: u32) -> Result<(), Errno> {
    // SAFETY: the kernel reads one u32 from `action`, which lives across the call.
    check(unsafe {
        libc::syscall(libc::SYS_seccomp, SECCOMP_GET_ACTION_AVAIL, 0 as libc::c_ulong, &action as *const u32)
    })?;
    Ok(())
}

/// prctl(PR_GET_SECCOMP): whether this process already runs under a seccomp filter (a
/// container runtime's, an outer sandbox's). Only then can a filter above hold a
/// notification listener, and the kernel refuse sbx's own (EBUSY).
pub fn under_seccomp_filter() -> bool {
    // SAFETY: PR_GET_SECCOMP takes no pointer; it returns the mode (0 none, 2 filter).
    let mode = unsafe { libc::prctl(libc::PR_GET_SECCOMP, 0, 0, 0, 0) };
    mode != 0
}

/// A keyctl(2) operation no kernel has: it reaches no keyring, so it changes nothing.
const KEYCTL_NO_SUCH_OPERATION: libc::c_long = 0x7fff_ffff;

/// keyctl(2) with an unknown operation fails with EPERM (a seccomp filter refuses keyctl, as
/// Docker's default profile does) or ENOSYS (no keys in the kernel), not EOPNOTSUPP.
/// A real operation would not do: even a lookup may attach keyrings to the caller.
pub fn keyctl_refused() -> bool {
    // SAFETY: no memory is passed; the kernel rejects the operation before reading anything.
    let ret = check(unsafe { libc::syscall(libc::SYS_keyctl, KEYCTL_NO_SUCH_OPERATION, 0, 0, 0, 0) });
    matches!(ret, Err(Errno::PERM | Errno::NOSYS))
}

/// pidfd_getfd(2) on this very process (a duplicate of its own pidfd) fails with EPERM or
/// ENOSYS: a seccomp filter refuses it (Docker's default profile does, without
/// CAP_SYS_PTRACE), so sbx's pid 1 could not take a payload's notification fd either.
pub fn pidfd_getfd_refused() -> bool {
    let Ok(pidfd) = rustix::process::pidfd_open(rustix::process::getpid(), rustix::process::PidfdFlags::empty()) else {
        return true;
    };
    let target = std::os::fd::AsRawFd::as_raw_fd(&pidfd);
    let got = rustix::process::pidfd_getfd(&pidfd, target, rustix::process::PidfdGetfdFlags::empty());
    !matches!(got, Ok(_) | Err(Errno::BADF))
}
