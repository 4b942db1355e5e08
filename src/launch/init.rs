//! pid 1 of the sandbox: waits for the monitor's go-ahead and the id maps (rootless, it
//! writes its own; under `HostRoot=no` it then becomes the namespace's root, the transient
//! host uid, before anything else), builds the root, starts the payload and detaches the host root while the
//! payload's first steps run, then relays signals to it and reaps every orphan until it exits.
//!
//! Invariant: runs between clone and exit without parsing, formatting or name lookups; it
//! walks the prepared plan. A failure is sent as a fixed record on the report pipe. The
//! process dies with the monitor (parent-death signal) and is non-dumpable before the
//! payload starts; nothing of the payload's runs while the host root is still attached.

use std::os::fd::{AsFd, OwnedFd};
use std::time::{Duration, Instant};

use nix::sys::signal::{SigSet, Signal};
use nix::sys::wait::{WaitPidFlag, WaitStatus, waitpid};
use nix::unistd::Pid;
use rustix::event::{PollFd, PollFlags};

use crate::error::EXIT_SBX_FAILURE;
use crate::launch::prepare::{OwnIdMaps, Prepared};
use crate::launch::report::{Failure, Finished, Step};
use crate::launch::seccomp::{self, Handover, SeccompPrep};
use crate::launch::{RELEASE_CODE_AFTER, mounts, network, payload, sequence, signals};
use crate::sys::Errno;
use crate::sys::ns::{Forked, exit_now, fork_into};
use nix::sys::signalfd::{SfdFlags, SignalFd};

/// The descriptors the child side receives. Each side of the fork drops what it must not hold.
pub struct ChildFds {
    pub report_w: OwnedFd,
    pub report_r: OwnedFd,
    pub sync_r: OwnedFd,
    pub sync_w: OwnedFd,
    pub pty_slave: Option<OwnedFd>,
    /// pid 1's end of the channel the network namespace arrives on (`network`).
    pub net: Option<OwnedFd>,
}

pub fn run(prep: &Prepared, fds: ChildFds) -> ! {
    let ChildFds { report_w, report_r, sync_r, sync_w, pty_slave, net } = fds;
    drop(report_r);
    drop(sync_w);
    let fail = |f: Failure| -> ! {
        f.send(report_w.as_fd());
        exit_now(EXIT_SBX_FAILURE)
    };
    let started = wait_for_monitor(&sync_r).map_err(|e| Failure::new(Step::WaitForMonitor, e)).and_then(|()| {
        prep.own_id_maps.as_ref().map_or(Ok(()), |maps| map_own_ids(maps).map_err(|e| Failure::new(Step::IdMaps, e)))
    });
    let rooted = started.and_then(|()| match prep.become_root {
        // The kernel clears the parent-death signal on a change of credentials: set it again,
        // then make sure the monitor did not die in between (its end of the pipe is open).
        true => become_root().and_then(|()| tie_to_monitor(&sync_r).map_err(|e| Failure::new(Step::WaitForMonitor, e))),
        false => Ok(()),
    });
    if let Err(f) = rooted {
        fail(f);
    }
    if prep.unshare_cgroupns {
        if let Err(e) = crate::sys::ns::unshare_cgroup() {
            fail(Failure::new(Step::CgroupNamespace, e));
        }
    }
    rustix::process::umask(rustix::fs::Mode::empty());
    let mut net = net;
    let pivoted = match prep.mounts.is_empty() {
        true => None,
        false => Some(mounts::apply(&prep.mounts, &prep.trees, || join_network(&mut net)).unwrap_or_else(|f| fail(f))),
    };
    // Without a pid namespace this is not pid 1: adopt the payload's orphans all the same.
    let _ = rustix::process::set_child_subreaper(Some(rustix::process::getpid()));
    if let Err(f) = join_network(&mut net) {
        fail(f);
    }
    if prep.loopback {
        if let Err(e) = crate::sys::net::loopback_up() {
            fail(Failure::new(Step::Loopback, e));
        }
    }
    let _ = rustix::process::set_dumpable_behavior(rustix::process::DumpableBehavior::NotDumpable);
    if let Some(seq) = &prep.sequence {
        if let Some(Err(f)) = pivoted.map(mounts::Pivoted::detach) {
            fail(f);
        }
        end(prep, sequence::run(prep, seq, &report_w, pty_slave), &report_w);
    }
    // The payload starts with the host root still stacked on the sandbox's. Its steps up to
    // Landlock cannot step onto the root dentry where it sits, and it waits for `root_ready`
    // before its working directory, filter and execve, while pid 1 detaches the host root.
    let (root_ready, root_detached) = match pivoted.is_some() {
        true => match rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC) {
            Ok((r, w)) => (Some(r), Some(w)),
            Err(e) => fail(Failure::new(Step::ForkPayload, e)),
        },
        false => (None, None),
    };
    let child = match fork_into(0) {
        Ok(Forked::Child) => {
            drop(root_detached);
            payload::run(&prep.payload, &prep.landlock, &prep.seccomp, report_w, pty_slave, root_ready)
        }
        Ok(Forked::Parent { child }) => child,
        Err(e) => fail(Failure::new(Step::ForkPayload, e)),
    };
    drop((pty_slave, root_ready));
    let payload = Pid::from_raw(child);
    if let (Some(pivoted), Some(detached)) = (pivoted, root_detached) {
        // A failure closes the pipe unwritten: the payload ends without a word, this reports.
        let done = pivoted.detach();
        if let Err(f) = done
            .and_then(|()| rustix::io::write(&detached, b"1").map(drop).map_err(|e| Failure::new(Step::FinishRoot, e)))
        {
            let _ = nix::sys::signal::kill(payload, Signal::SIGKILL);
            let _ = waitpid(payload, Some(WaitPidFlag::__WALL));
            fail(f);
        }
    }
    let listener = match seccomp::take_listener(&prep.seccomp, payload) {
        Handover::Listener(fd) => Some(fd),
        Handover::None => None,
        Handover::Failed(e) => fail(Failure::new(Step::Listener, e)),
        Handover::Exited(status) => exit_now(exit_code(&status).unwrap_or(EXIT_SBX_FAILURE)),
    };
    let code = relay_and_reap(payload, listener, &prep.seccomp, &report_w);
    end(prep, code, &report_w)
}

/// Ends the sandbox with the payload's exit code. In a pid namespace, pid 1 first kills and
/// reaps every process left, then tells the monitor the code: nothing of the sandbox runs
/// any more, and the monitor need not wait for this process's own exit, where the kernel
/// tears the namespaces down (the mount tree, a few hundred microseconds).
fn end(prep: &Prepared, code: i32, report: &OwnedFd) -> ! {
    if prep.ns_flags & crate::sys::ns::CLONE_NEWPID != 0 {
        // Every process of the namespace is pid 1's descendant, and an orphan is pid 1's child:
        // no child left (ECHILD) means no process left.
        loop {
            match waitpid(None, Some(WaitPidFlag::WNOHANG | WaitPidFlag::__WALL)) {
                Err(nix::errno::Errno::ECHILD) => break,
                Ok(WaitStatus::StillAlive) => {
                    // As pid 1 of the namespace, -1 reaches every other process in it and
                    // nothing outside; sent again after each reaped child, for one forked
                    // meanwhile.
                    match nix::sys::signal::kill(Pid::from_raw(-1), Signal::SIGKILL) {
                        // ESRCH: only zombies are left, which the wait below reaps.
                        Ok(()) | Err(nix::errno::Errno::ESRCH) => {}
                        // Cannot kill them: exit without a word, and the kernel kills them as
                        // pid 1 exits while the monitor waits for that exit, as it always did.
                        Err(_) => exit_now(code),
                    }
                    let _ = waitpid(None, Some(WaitPidFlag::__WALL));
                }
                _ => {}
            }
        }
        Finished { code }.send(report.as_fd());
    }
    exit_now(code)
}

/// Enters the network namespace the helper made, once (before a new sysfs, or after the
/// mounts); a no-op when there is none or pid 1 is in it already.
fn join_network(net: &mut Option<OwnedFd>) -> Result<(), Failure> {
    net.take().map_or(Ok(()), |end| network::join(&end))
}

/// Dies with the monitor, then waits for its go-ahead (the network helper is started, the id
/// maps are written unless pid 1 writes its own, the cgroup is joined). The monitor keeps the
/// write end open for its whole life, so a hang-up afterwards means it is gone.
fn wait_for_monitor(sync_r: &OwnedFd) -> Result<(), Errno> {
    rustix::process::set_parent_process_death_signal(Some(rustix::process::Signal::KILL))?;
    let mut byte = [0u8; 1];
    if rustix::io::read(sync_r, &mut byte)? == 0 {
        exit_now(EXIT_SBX_FAILURE);
    }
    tie_to_monitor(sync_r)
}

/// Sets the parent-death signal, then ends pid 1 if the monitor is already gone (its end of
/// the sync pipe closed): a monitor that died before the signal was set sends none.
fn tie_to_monitor(sync_r: &OwnedFd) -> Result<(), Errno> {
    rustix::process::set_parent_process_death_signal(Some(rustix::process::Signal::KILL))?;
    let mut fds = [PollFd::new(sync_r, PollFlags::IN)];
    rustix::event::poll(&mut fds, Some(&rustix::time::Timespec { tv_sec: 0, tv_nsec: 0 }))?;
    if fds[0].revents().contains(PollFlags::HUP) {
        exit_now(EXIT_SBX_FAILURE);
    }
    Ok(())
}

/// Maps its own ids (see `Prepared::own_id_maps`).
fn map_own_ids(maps: &OwnIdMaps) -> Result<(), Errno> {
    crate::sys::proc::write_file(c"/proc/self/setgroups", c"deny")?;
    crate::sys::proc::write_file(c"/proc/self/uid_map", &maps.uid_map)?;
    crate::sys::proc::write_file(c"/proc/self/gid_map", &maps.gid_map)
}

fn exit_code(status: &WaitStatus) -> Option<i32> {
    match status {
        WaitStatus::Exited(_, code) => Some(*code),
        WaitStatus::Signaled(_, sig, _) => Some(128 + *sig as i32),
        _ => None,
    }
}

/// Forwards the relayed signals to the payload, judges the syscall filter's notifications
/// and reaps every child; returns the exit code to report for the payload (its own, or
/// 128+N when signal N killed it).
fn relay_and_reap(payload: Pid, mut listener: Option<OwnedFd>, filter: &SeccompPrep, report: &OwnedFd) -> i32 {
    let mut set: SigSet = signals::forwarded();
    set.add(Signal::SIGCHLD);
    let Ok(sigfd) = SignalFd::with_flags(&set, SfdFlags::SFD_CLOEXEC | SfdFlags::SFD_NONBLOCK) else {
        return EXIT_SBX_FAILURE;
    };
    // Once the payload has run RELEASE_CODE_AFTER, the code pages go, right before a wait blocks.
    let mut release_at = Some(Instant::now() + RELEASE_CODE_AFTER);
    loop {
        if release_at.is_some_and(|at| at <= Instant::now()) {
            release_at = None;
            crate::sys::image::release_code_pages();
        }
        let timeout = release_at.map(|at| at.saturating_duration_since(Instant::now()));
        let (signals_ready, listener_ready, listener_gone) = wait_for_events(&sigfd, listener.as_ref(), timeout);
        if listener_ready {
            if let Some(event) = listener.as_ref().and_then(|l| seccomp::answer(filter, l)) {
                event.send(report.as_fd());
            }
        } else if listener_gone {
            listener = None;
        }
        if !signals_ready {
            continue;
        }
        while let Ok(Some(info)) = sigfd.read_signal() {
            let Ok(sig) = Signal::try_from(info.ssi_signo as i32) else { continue };
            if sig != Signal::SIGCHLD {
                let _ = nix::sys::signal::kill(payload, sig);
            }
        }
        while let Ok(status) = waitpid(None, Some(WaitPidFlag::WNOHANG)) {
            match status {
                WaitStatus::StillAlive => break,
                s if s.pid() == Some(payload) => {
                    if let Some(code) = exit_code(&s) {
                        return code;
                    }
                }
                _ => {}
            }
        }
    }
}

/// Blocks until a signal or a notification is pending, or `timeout` passes: (signals,
/// notification, listener hung up).
fn wait_for_events(sigfd: &SignalFd, listener: Option<&OwnedFd>, timeout: Option<Duration>) -> (bool, bool, bool) {
    let second =
        listener.map_or(PollFd::from_borrowed_fd(sigfd.as_fd(), PollFlags::empty()), |l| PollFd::new(l, PollFlags::IN));
    let mut fds = [PollFd::new(sigfd, PollFlags::IN), second];
    let n = if listener.is_some() { 2 } else { 1 };
    let timeout = timeout.and_then(|d| rustix::time::Timespec::try_from(d).ok());
    if rustix::event::poll(&mut fds[..n], timeout.as_ref()).is_err() {
        return (false, false, false);
    }
    let sig = !fds[0].revents().is_empty();
    let l = if n == 2 { fds[1].revents() } else { PollFlags::empty() };
    (sig, l.contains(PollFlags::IN), l.intersects(PollFlags::HUP | PollFlags::ERR))
}

/// `HostRoot=no`: pid 1 takes uid and gid 0 of its user namespace, the transient host id, and
/// drops root's supplementary groups, so that nothing it does afterwards acts as host root.
fn become_root() -> Result<(), Failure> {
    let step = |s: Step, r: Result<(), Errno>| r.map_err(|e| Failure::new(s, e));
    step(Step::Groups, rustix::thread::set_thread_groups(&[]))?;
    let (uid, gid) = (rustix::process::Uid::ROOT, rustix::process::Gid::ROOT);
    step(Step::Gid, rustix::thread::set_thread_res_gid(gid, gid, gid))?;
    step(Step::Uid, rustix::thread::set_thread_res_uid(uid, uid, uid))
}
