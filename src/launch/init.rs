//! pid 1 of the sandbox: waits for the id maps, builds the root, starts the payload, then
//! relays signals to it and reaps every orphan until it exits.
//!
//! Invariant: runs between clone and exit without parsing, formatting or name lookups; it
//! walks the prepared plan. A failure is sent as a fixed record on the report pipe. The
//! process dies with the monitor (parent-death signal) and is non-dumpable once the maps
//! are written.

use std::os::fd::{AsFd, OwnedFd};

use nix::sys::signal::{SigSet, Signal};
use nix::sys::wait::{WaitPidFlag, WaitStatus, waitpid};
use nix::unistd::Pid;
use rustix::event::{PollFd, PollFlags};

use crate::error::EXIT_SBX_FAILURE;
use crate::launch::prepare::Prepared;
use crate::launch::report::{Failure, Step};
use crate::launch::{mounts, payload, signals};
use crate::sys::Errno;
use crate::sys::ns::{Forked, exit_now, fork_into};

/// The descriptors the child side receives. Each side of the fork drops what it must not hold.
pub struct ChildFds {
    pub report_w: OwnedFd,
    pub report_r: OwnedFd,
    pub sync_r: OwnedFd,
    pub sync_w: OwnedFd,
    pub pty_slave: Option<OwnedFd>,
}

pub fn run(prep: &Prepared, fds: ChildFds) -> ! {
    let ChildFds { report_w, report_r, sync_r, sync_w, pty_slave } = fds;
    drop(report_r);
    drop(sync_w);
    let fail = |f: Failure| -> ! {
        f.send(report_w.as_fd());
        exit_now(EXIT_SBX_FAILURE)
    };
    if let Err(e) = wait_for_monitor(&sync_r) {
        fail(Failure::new(Step::WaitForMonitor, e));
    }
    rustix::process::umask(rustix::fs::Mode::empty());
    if let Err(f) = mounts::apply(&prep.mounts) {
        fail(f);
    }
    if prep.loopback {
        if let Err(e) = crate::sys::net::loopback_up() {
            fail(Failure::new(Step::Loopback, e));
        }
    }
    let _ = rustix::process::set_dumpable_behavior(rustix::process::DumpableBehavior::NotDumpable);
    let child = match fork_into(0) {
        Ok(Forked::Child) => payload::run(&prep.payload, report_w, pty_slave),
        Ok(Forked::Parent { child }) => child,
        Err(e) => fail(Failure::new(Step::ForkPayload, e)),
    };
    drop(report_w);
    drop(pty_slave);
    exit_now(relay_and_reap(Pid::from_raw(child)))
}

/// Dies with the monitor, then waits for its go-ahead (the id maps are written). The monitor
/// keeps the write end open for its whole life, so a hang-up afterwards means it is gone.
fn wait_for_monitor(sync_r: &OwnedFd) -> Result<(), Errno> {
    rustix::process::set_parent_process_death_signal(Some(rustix::process::Signal::KILL))?;
    let mut byte = [0u8; 1];
    if rustix::io::read(sync_r, &mut byte)? == 0 {
        exit_now(EXIT_SBX_FAILURE);
    }
    let mut fds = [PollFd::new(sync_r, PollFlags::IN)];
    rustix::event::poll(&mut fds, Some(&rustix::time::Timespec { tv_sec: 0, tv_nsec: 0 }))?;
    if fds[0].revents().contains(PollFlags::HUP) {
        exit_now(EXIT_SBX_FAILURE);
    }
    Ok(())
}

/// Forwards the relayed signals to the payload and reaps every child; returns the exit code
/// to report for the payload (its own, or 128+N when signal N killed it).
fn relay_and_reap(payload: Pid) -> i32 {
    let mut set: SigSet = signals::forwarded();
    set.add(Signal::SIGCHLD);
    loop {
        let Ok(sig) = set.wait() else { continue };
        if sig != Signal::SIGCHLD {
            let _ = nix::sys::signal::kill(payload, sig);
            continue;
        }
        while let Ok(status) = waitpid(None, Some(WaitPidFlag::WNOHANG)) {
            match status {
                WaitStatus::Exited(pid, code) if pid == payload => return code,
                WaitStatus::Signaled(pid, sig, _) if pid == payload => return 128 + sig as i32,
                WaitStatus::StillAlive => break,
                _ => {}
            }
        }
    }
}
