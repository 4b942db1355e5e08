//! Installing the syscall filter (payload, last step before execve) and judging its
//! notifications (pid 1).
//!
//! Invariant: between installing the filter and execve the payload makes only @default calls
//! (futex, execve, exit_group), so no profile can deadlock its own hand-over. The listener fd
//! reaches pid 1 through pidfd_getfd while the payload waits on a futex; when no listener can
//! be had, the same policy without notifications is installed, so nothing is weaker.

use std::os::fd::{AsFd, AsRawFd, OwnedFd};

use nix::sys::wait::{WaitPidFlag, WaitStatus, waitpid};
use nix::unistd::Pid;

use crate::launch::report::{Failure, Step, SyscallEvent};
use crate::plan::seccomp::Verdict;
use crate::sys::Errno;
use crate::sys::seccomp::{self as sc, Insn, SharedPage};

/// Hand-over states in the shared page.
const WAITING: u32 = 0;
const INSTALLED: u32 = 1;
const TAKEN: u32 = 2;
const NOT_TAKEN: u32 = 3;
const NO_LISTENER: u32 = 4;
const X32_BIT: u32 = 0x4000_0000;

/// What the child needs of the seccomp plan, prepared before fork.
pub struct SeccompPrep {
    pub program: Vec<Insn>,
    /// The policy without `Notify`, when a filter above may hold a listener (`SeccompPlan`).
    pub fallback: Option<Vec<Insn>>,
    pub listener: bool,
    pub verdicts: Vec<(u32, Verdict)>,
    pub default_verdict: Verdict,
    pub native_arch: u32,
    /// x86-64: numbers with bit 30 set are the x32 ABI.
    pub x32_bit: bool,
    pub page: Option<SharedPage>,
    /// Rootless, pid 1 may take the fd only from a dumpable process: the payload's memory
    /// belongs to the host's user namespace, where pid 1 holds no capability. The payload
    /// runs as the caller's own uid (or, under HostRoot=no, as a transient uid of its own), so
    /// being dumpable exposes nothing the caller lacks.
    pub dumpable_for_handover: bool,
}

/// Payload side: install the filter; hand the listener to pid 1 when there is one.
pub fn install(s: &SeccompPrep) -> Result<(), Failure> {
    let Some(page) = s.page.as_ref().filter(|_| s.listener) else {
        return sc::install(&s.program, false).map(drop).map_err(|e| Failure::new(Step::Seccomp, e));
    };
    if s.dumpable_for_handover {
        rustix::process::set_dumpable_behavior(rustix::process::DumpableBehavior::Dumpable)
            .map_err(|e| Failure::new(Step::Seccomp, e))?;
    }
    match sc::install(&s.program, true) {
        Ok(Some(fd)) => {
            page.set_fd(fd.as_raw_fd() as u32);
            page.set_state(INSTALLED);
            while page.state() == INSTALLED {
                page.wait_while(INSTALLED, 1000);
            }
            // Closing would be a call the filter may refuse; execve closes it (CLOEXEC).
            std::mem::forget(fd);
            if page.state() == NOT_TAKEN {
                // pid 1 reports why; any other call could wait on our own listener.
                crate::sys::ns::exit_now(crate::error::EXIT_SBX_FAILURE);
            }
            Ok(())
        }
        Ok(None) => Ok(()),
        // A listener already exists above us (a nested sandbox, a container runtime): the
        // same policy without notifications. Without a fallback sbx ran under no filter when
        // it planned, so none can hold a listener: the error stands.
        Err(Errno::BUSY) => {
            let fallback = s.fallback.as_ref().ok_or(Failure::new(Step::Seccomp, Errno::BUSY))?;
            sc::install(fallback, false).map_err(|e| Failure::new(Step::Seccomp, e))?;
            page.set_state(NO_LISTENER);
            Ok(())
        }
        Err(e) => Err(Failure::new(Step::Seccomp, e)),
    }
}

/// What pid 1 got from the hand-over.
pub enum Handover {
    Listener(OwnedFd),
    None,
    Failed(Errno),
    /// The payload ended before installing its filter (a setup failure, reported by it).
    Exited(WaitStatus),
}

/// pid 1 side: wait until the payload has installed its filter, then take the listener.
pub fn take_listener(s: &SeccompPrep, payload: Pid) -> Handover {
    let Some(page) = s.page.as_ref().filter(|_| s.listener) else { return Handover::None };
    loop {
        match page.state() {
            WAITING => {
                page.wait_while(WAITING, 50);
                if let Ok(st @ (WaitStatus::Exited(..) | WaitStatus::Signaled(..))) =
                    waitpid(payload, Some(WaitPidFlag::WNOHANG))
                {
                    return Handover::Exited(st);
                }
            }
            INSTALLED => {
                let taken = rustix::process::Pid::from_raw(payload.as_raw())
                    .ok_or(Errno::SRCH)
                    .and_then(|p| rustix::process::pidfd_open(p, rustix::process::PidfdFlags::empty()))
                    .and_then(|pidfd| {
                        rustix::process::pidfd_getfd(
                            &pidfd,
                            page.fd() as i32,
                            rustix::process::PidfdGetfdFlags::empty(),
                        )
                    });
                return match taken {
                    Ok(fd) => {
                        page.set_state(TAKEN);
                        Handover::Listener(fd)
                    }
                    Err(e) => {
                        page.set_state(NOT_TAKEN);
                        Handover::Failed(e)
                    }
                };
            }
            _ => return Handover::None,
        }
    }
}

/// pid 1, before it starts another payload with the same filter (`launch::sequence`): the
/// hand-over page back to its first state. The payload before has executed or ended by then,
/// so it no longer reads the page.
pub fn rearm(s: &SeccompPrep) {
    if let Some(page) = &s.page {
        page.set_state(WAITING);
    }
}

/// pid 1: answer one pending notification as the plan says; returns what to report.
pub fn answer(s: &SeccompPrep, listener: &OwnedFd) -> Option<SyscallEvent> {
    let n = sc::notif_recv(listener.as_fd()).ok()?;
    // x32 shares x86-64's audit arch and marks its numbers with bit 30.
    let foreign = n.data.arch != s.native_arch || (s.x32_bit && n.data.nr as u32 & X32_BIT != 0);
    let nr = n.data.nr as u32;
    let verdict = if foreign { Verdict::Kill } else { lookup(s, nr) };
    let reply = match verdict {
        Verdict::Kill => {
            let _ = rustix::process::Pid::from_raw(n.pid as i32)
                .map(|p| rustix::process::kill_process(p, rustix::process::Signal::KILL));
            Some(38)
        }
        Verdict::Errno(e) => Some(e),
        Verdict::Log => None,
    };
    let _ = sc::notif_send(listener.as_fd(), n.id, reply);
    let args = [n.data.args[0] as u32, n.data.args[1] as u32];
    Some(SyscallEvent { nr, foreign, verdict, args })
}

fn lookup(s: &SeccompPrep, nr: u32) -> Verdict {
    match s.verdicts.binary_search_by_key(&nr, |(n, _)| *n) {
        Ok(i) => s.verdicts[i].1,
        Err(_) => s.default_verdict,
    }
}
