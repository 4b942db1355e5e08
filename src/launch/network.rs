//! The sandbox's network namespace, made beside pid 1 rather than by its clone(2).
//!
//! Setting a network namespace up takes the kernel about half a millisecond (loopback's
//! registration, the per-namespace sysctls), as long as pid 1's mounts. So the monitor forks
//! a short-lived helper that joins pid 1's user namespace, creates the network namespace,
//! brings `lo` up and passes a descriptor of it to pid 1 over a socket pair, while pid 1
//! builds the root; pid 1 enters it before anything of the payload's runs.
//!
//! Invariant: pid 1 enters the namespace, or fails with a record, before it starts a payload
//! or a unit's command; a helper that dies without a word is a failure (end of file), never
//! a sandbox sharing the host's network. The helper is outside the sandbox's pid namespace,
//! so the payload is still pid 2; it is reaped by the monitor before its event loop.

use std::os::fd::{AsFd, OwnedFd};

use nix::unistd::Pid;
use rustix::net::{
    AddressFamily, RecvAncillaryBuffer, RecvAncillaryMessage, RecvFlags, SendAncillaryBuffer, SendAncillaryMessage,
    SendFlags, SocketFlags, SocketType,
};

use crate::error::Error;
use crate::launch::report::{Failure, Step};
use crate::sys::Errno;
use crate::sys::net::NetError;
use crate::sys::ns::{CLONE_NEWNET, CLONE_NEWUSER, Forked, enter, exit_now, fork_into};

/// The helper's one message: what happened (OK, or the failed step) and the errno.
const OK: u32 = 0;
const NAMESPACE: u32 = 1;
const LOOPBACK: u32 = 2;

/// The two ends of the channel: the monitor's (given to the helper) and pid 1's.
pub fn channel() -> Result<(OwnedFd, OwnedFd), Error> {
    rustix::net::socketpair(AddressFamily::UNIX, SocketType::SEQPACKET, SocketFlags::CLOEXEC, None)
        .map_err(|e| Error::io("create the network namespace's socket pair", e.into()))
}

/// Monitor side, right after pid 1's clone (pid 1 is still dumpable): the user namespace the
/// helper is to join, when pid 1 has one of its own.
pub fn owner(pid1: Pid, userns: bool) -> Result<Option<std::fs::File>, Error> {
    if !userns {
        return Ok(None);
    }
    // The pid names pid 1 for sure: the monitor has not reaped it, so it cannot be reused.
    let path = format!("/proc/{pid1}/ns/user");
    std::fs::File::open(&path).map(Some).map_err(|e| Error::io(format!("open {path}"), e))
}

/// Monitor side, right after pid 1's clone, before its id maps are written (the helper needs
/// none): starts the helper with the monitor's end of the channel (which the monitor then no
/// longer holds), so that pid 1 learns of a failure here as end of file.
pub fn start(owner: Option<std::fs::File>, end: OwnedFd) -> Result<Pid, Error> {
    match fork_into(0) {
        Ok(Forked::Child) => {
            let made = match &owner {
                Some(ns) => enter(ns.as_fd(), CLONE_NEWUSER).map_err(NetError::Namespace),
                None => Ok(()),
            }
            .and_then(|()| crate::sys::net::new_namespace());
            send(&end, made);
            exit_now(0)
        }
        Ok(Forked::Parent { child }) => Ok(Pid::from_raw(child)),
        Err(e) => Err(Error::io("fork the network namespace's helper", e.into())),
    }
}

/// Monitor side: waits for the helper (it makes a handful of system calls).
pub fn reap(helper: Pid) {
    let _ = nix::sys::wait::waitpid(helper, None);
}

fn send(end: &OwnedFd, made: Result<OwnedFd, NetError>) {
    let (kind, errno, ns) = match made {
        Ok(ns) => (OK, 0, Some(ns)),
        Err(NetError::Namespace(e)) => (NAMESPACE, e.raw_os_error(), None),
        Err(NetError::Loopback(e)) => (LOOPBACK, e.raw_os_error(), None),
    };
    let mut word = [0u8; 8];
    word[..4].copy_from_slice(&kind.to_ne_bytes());
    word[4..].copy_from_slice(&errno.to_ne_bytes());
    let mut space = [std::mem::MaybeUninit::uninit(); rustix::cmsg_space!(ScmRights(1))];
    let mut control = SendAncillaryBuffer::new(&mut space);
    let fds = ns.as_ref().map(|fd| [fd.as_fd()]);
    if let Some(fds) = &fds {
        control.push(SendAncillaryMessage::ScmRights(fds));
    }
    let _ = rustix::net::sendmsg(end, &[std::io::IoSlice::new(&word)], &mut control, SendFlags::empty());
}

/// pid 1 side, once the root is built: receives the namespace and enters it.
pub fn join(end: &OwnedFd) -> Result<(), Failure> {
    let fail = |step, e| Err(Failure::new(step, e));
    let mut word = [0u8; 8];
    let mut space = [std::mem::MaybeUninit::uninit(); rustix::cmsg_space!(ScmRights(1))];
    let mut control = RecvAncillaryBuffer::new(&mut space);
    let got = match rustix::net::recvmsg(
        end,
        &mut [std::io::IoSliceMut::new(&mut word)],
        &mut control,
        RecvFlags::CMSG_CLOEXEC,
    ) {
        Ok(msg) => msg.bytes,
        Err(e) => return fail(Step::NetNamespace, e),
    };
    let mut ns = None;
    for message in control.drain() {
        if let RecvAncillaryMessage::ScmRights(mut fds) = message {
            ns = fds.next();
        }
    }
    let kind = u32::from_ne_bytes([word[0], word[1], word[2], word[3]]);
    // rustix accepts only real errno values (1..4095).
    let raw = i32::from_ne_bytes([word[4], word[5], word[6], word[7]]);
    let errno = || if (1..4096).contains(&raw) { Errno::from_raw_os_error(raw) } else { Errno::IO };
    match (got, kind, ns) {
        (8, OK, Some(ns)) => enter(ns.as_fd(), CLONE_NEWNET).map_err(|e| Failure::new(Step::NetNamespace, e)),
        (8, LOOPBACK, _) => fail(Step::Loopback, errno()),
        (8, NAMESPACE, _) => fail(Step::NetNamespace, errno()),
        // The helper died before it could say anything.
        _ => fail(Step::NetNamespace, Errno::PIPE),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn step_and_errno(r: Result<(), Failure>) -> (Step, Errno) {
        let f = r.expect_err("join must fail");
        (f.step, f.errno)
    }

    #[test]
    fn a_helpers_failure_reaches_pid_1_with_its_step_and_errno() {
        let (helper, pid1) = channel().unwrap();
        send(&helper, Err(NetError::Namespace(Errno::NOSPC)));
        assert_eq!(step_and_errno(join(&pid1)), (Step::NetNamespace, Errno::NOSPC));
        send(&helper, Err(NetError::Loopback(Errno::PERM)));
        assert_eq!(step_and_errno(join(&pid1)), (Step::Loopback, Errno::PERM));
    }

    /// A helper that dies without a word leaves pid 1 failing, not running on without the
    /// namespace.
    #[test]
    fn a_silent_helper_is_a_failure() {
        let (helper, pid1) = channel().unwrap();
        drop(helper);
        assert_eq!(step_and_errno(join(&pid1)), (Step::NetNamespace, Errno::PIPE));
    }

    /// An OK without a descriptor (which the kernel would never deliver) is refused too.
    #[test]
    fn an_ok_without_a_namespace_is_a_failure() {
        let (helper, pid1) = channel().unwrap();
        let word = [0u8; 8];
        rustix::net::send(&helper, &word, SendFlags::empty()).unwrap();
        assert_eq!(step_and_errno(join(&pid1)), (Step::NetNamespace, Errno::PIPE));
    }
}
