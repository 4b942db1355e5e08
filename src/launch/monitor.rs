//! The parent side: starts pid 1 in new namespaces (and the helper that makes the network
//! namespace beside it), writes its id maps, relays signals, collects failure records and
//! turns the end of the sandbox into sbx's exit code.
//!
//! Invariant: the sandbox never outlives the monitor (pid 1 has a parent-death signal and
//! takes the pid namespace down with it). The monitor may return before pid 1 has finished
//! exiting, but only on pid 1's word that every other process of the sandbox is gone; it exits
//! with the payload's status, or with one of sbx's reserved codes and a message naming the
//! failed step.

use std::os::fd::{AsFd, OwnedFd};

use nix::sys::signal::{SigSet, SigmaskHow, Signal, sigprocmask};
use nix::sys::signalfd::{SfdFlags, SignalFd};
use nix::sys::wait::{WaitPidFlag, WaitStatus, waitpid};
use nix::unistd::Pid;
use rustix::event::{PollFd, PollFlags};
use rustix::pipe::{PipeFlags, pipe_with};

use crate::error::{EXIT_CANNOT_EXECUTE, EXIT_NOT_FOUND, Error};
use crate::launch::cgroup::RunCgroup;
use crate::launch::init::{self, ChildFds};
use crate::launch::prepare::Prepared;
use crate::launch::pty::Pty;
use crate::launch::refusals;
use crate::launch::report::{Failure, Record, Step, SyscallEvent};
use crate::launch::stop_timer::StopTimer;
use crate::launch::{diagnose, network, sequence, signals};
use crate::plan::Plan;
use crate::plan::ids::IdMap;
use crate::plan::mounts::MountOp;
use crate::plan::seccomp::Verdict;
use crate::sys::ns::{Forked, fork_into};

pub fn run(plan: &Plan, prep: &Prepared, pty: Option<Pty>, cgroup: Option<&RunCgroup>) -> Result<i32, Error> {
    let pipe =
        |what: &str| pipe_with(PipeFlags::CLOEXEC).map_err(|e| Error::io(format!("create the {what} pipe"), e.into()));
    let (report_r, report_w) = pipe("report")?;
    let (sync_r, sync_w) = pipe("sync")?;
    let mut mask = signals::forwarded();
    mask.add(Signal::SIGCHLD);
    sigprocmask(SigmaskHow::SIG_BLOCK, Some(&mask), None).map_err(|e| Error::io("block signals", e.into()))?;
    let mut pty = pty;
    let pty_slave = pty.as_mut().and_then(Pty::take_slave);
    let (net_helper_end, net) = match prep.net_by_helper {
        true => network::channel().map(|(a, b)| (Some(a), Some(b)))?,
        false => (None, None),
    };
    let child = match fork_into(prep.ns_flags) {
        Ok(Forked::Child) => init::run(prep, ChildFds { report_w, report_r, sync_r, sync_w, pty_slave, net }),
        Ok(Forked::Parent { child }) => Pid::from_raw(child),
        Err(e) => return Err(diagnose::clone_failed(plan, e)),
    };
    drop((report_w, sync_r, pty_slave, net));
    let kill_pid1 = || {
        let _ = nix::sys::signal::kill(child, Signal::SIGKILL);
        let _ = waitpid(child, None);
    };
    // The network helper first. Making the namespace takes longer than pid 1's mounts, and
    // pid 1, once it has its go-ahead, may hold this CPU until its mounts are done (the
    // scheduler puts a woken task beside its waker), leaving the monitor no time to fork the
    // helper. The helper needs no id map: joining pid 1's user namespace gives it every
    // capability there.
    let helper = match net_helper_end {
        Some(end) => {
            let started = network::owner(child, plan.namespaces.user).and_then(|owner| network::start(owner, end));
            Some(started.inspect_err(|_| kill_pid1())?)
        }
        None => None,
    };
    // pid 1 waits for the go-ahead: its ids (unless it maps its own) and its cgroup are
    // settled before it runs a step. Waiting, it cannot take this CPU from the monitor before
    // the helper is forked, which a just-cloned pid 1 often did (sched tracepoints, 150
    // starts: clone -> helper fork p75 710 us against 110 us this way).
    let settle = || -> Result<(), Error> {
        if let Some(map) = plan.id_map.as_ref().filter(|_| prep.own_id_maps.is_none()) {
            write_id_map(child, map)?;
        }
        if let Some(cg) = cgroup {
            cg.place(child.as_raw())?;
        }
        Ok(())
    };
    let go = settle().and_then(|()| {
        rustix::io::write(&sync_w, b"1").map(drop).map_err(|e| Error::io("start the sandbox", e.into()))
    });
    if let Err(e) = go {
        kill_pid1();
        // Its message finds no pid 1 to read it; the helper ends on the failed send.
        if let Some(helper) = helper {
            network::reap(helper);
        }
        return Err(e);
    }
    if let Some(helper) = helper {
        network::reap(helper);
    }
    let _ = rustix::process::set_dumpable_behavior(rustix::process::DumpableBehavior::NotDumpable);
    // pid 1 reports the end once every process of the sandbox is gone; without a terminal to
    // drain or a cgroup to remove (which must be empty), there is nothing left to wait for.
    let leave_early = pty.is_none() && cgroup.is_none();
    let outcome = event_loop(plan, child, &report_r, mask, pty, leave_early)?;
    drop(sync_w);
    if outcome.failure.is_some() {
        // The payload never ran: sbx may start another sandbox (--best-effort), whose pid 1
        // inherits dumpability and must be dumpable for its id maps to be writable by sbx.
        let _ = rustix::process::set_dumpable_behavior(rustix::process::DumpableBehavior::Dumpable);
    }
    if let (Some(cg), Some(max)) = (cgroup, plan.cgroup.as_ref().and_then(|c| c.memory_max.as_ref())) {
        if cg.oom_kills() > 0 {
            eprintln!(
                "sbx: {}: killed: MemoryMax={max} exceeded (the kernel's OOM killer ended a process of the sandbox)",
                plan.name
            );
        }
    }
    finish(plan, outcome)
}

fn write_id_map(child: Pid, map: &IdMap) -> Result<(), Error> {
    let base = format!("/proc/{child}");
    let write = |file: &str, text: &str| {
        let path = format!("{base}/{file}");
        std::fs::write(&path, text).map_err(|e| match e.raw_os_error() {
            Some(raw) => diagnose::id_map_failed(&path, text, rustix::io::Errno::from_raw_os_error(raw)),
            None => Error::io(format!("user namespace: write {text:?} to {path}"), e),
        })
    };
    if map.deny_setgroups {
        write("setgroups", "deny")?;
    }
    write("uid_map", &map.uid_map)?;
    write("gid_map", &map.gid_map)
}

struct Outcome {
    status: WaitStatus,
    failure: Option<Failure>,
    /// The system call whose refusal killed the payload, if one did.
    killed_by: Option<SyscallEvent>,
}

/// Waits for pid 1 to end (or, with `leave_early`, for its word that the sandbox has ended),
/// forwarding signals, relaying the terminal and reading failure records as they come.
fn event_loop(
    plan: &Plan,
    child: Pid,
    report: &OwnedFd,
    mask: SigSet,
    mut pty: Option<Pty>,
    leave_early: bool,
) -> Result<Outcome, Error> {
    let mut timer = StopTimer::new(plan);
    let sigfd = SignalFd::with_flags(&mask, SfdFlags::SFD_CLOEXEC | SfdFlags::SFD_NONBLOCK)
        .map_err(|e| Error::io("signalfd", e.into()))?;
    let mut failure = None;
    let mut killed_by = None;
    let mut report_open = true;
    // Returns pid 1's final code when the record is its word that the sandbox has ended.
    let mut on_record = |r: Record| -> Option<i32> {
        match r {
            Record::Failure(f) => failure = failure.or(Some(f)),
            Record::Syscall(e) if e.verdict == Verdict::Kill => {
                killed_by = killed_by.or(Some(e));
            }
            Record::Syscall(e) => eprintln!("sbx: {}: {}", plan.name, refusals::describe(plan, &e)),
            Record::Ended(e) => sequence::report(plan, &e),
            Record::Finished(f) => return Some(f.code),
        }
        None
    };
    loop {
        let mut fds = vec![PollFd::new(&sigfd, PollFlags::IN)];
        if report_open {
            fds.push(PollFd::new(report, PollFlags::IN));
        }
        let pty_first = fds.len();
        if let Some(p) = &pty {
            fds.extend(p.poll_fds());
        }
        // Once the payload has run a while, the planner's code is dead weight in the resident
        // set: released right before poll blocks, so only the code from here to the blocking
        // call faults back in.
        let release = timer.release_due();
        let timeout = timer.next_timeout();
        if release {
            crate::sys::image::release_code_pages();
        }
        match rustix::event::poll(&mut fds, timeout.as_ref()) {
            Ok(_) | Err(rustix::io::Errno::INTR) => {}
            Err(e) => return Err(Error::io("poll", e.into())),
        }
        let ready: Vec<PollFlags> = fds.iter().map(|f| f.revents()).collect();
        drop(fds);
        timer.fire(plan, child);
        if report_open && !ready[1].is_empty() {
            match read_record(report).map(&mut on_record) {
                Some(Some(code)) if leave_early => {
                    return Ok(Outcome { status: WaitStatus::Exited(child, code), failure, killed_by });
                }
                Some(_) => {}
                None => report_open = false,
            }
        }
        if let Some(p) = pty.as_mut() {
            if !p.relay(&ready[pty_first..]) {
                pty = None;
            }
        }
        if ready[0].is_empty() {
            continue;
        }
        while let Ok(Some(info)) = sigfd.read_signal() {
            let Ok(sig) = Signal::try_from(info.ssi_signo as i32) else {
                continue;
            };
            if sig == Signal::SIGWINCH {
                if let Some(p) = &pty {
                    p.copy_window_size();
                    continue;
                }
            }
            if sig != Signal::SIGCHLD {
                let _ = nix::sys::signal::kill(child, sig);
            }
        }
        if let Ok(status @ (WaitStatus::Exited(..) | WaitStatus::Signaled(..))) =
            waitpid(child, Some(WaitPidFlag::WNOHANG))
        {
            if let Some(p) = pty.as_mut() {
                p.drain();
            }
            while report_open {
                match read_record(report) {
                    Some(r) => {
                        let _ = on_record(r);
                    }
                    None => report_open = false,
                }
            }
            return Ok(Outcome { status, failure, killed_by });
        }
    }
}

fn read_record(report: &OwnedFd) -> Option<Record> {
    let mut buf = [0u8; 16];
    match rustix::io::read(report.as_fd(), &mut buf) {
        Ok(16) => Record::decode(&buf),
        _ => None,
    }
}

/// Whether pid 1 failed to mount the fresh procfs with EPERM in a user namespace: what the
/// kernel does when the /proc sbx runs under has paths mounted over (a container's masks).
fn refused_proc(plan: &Plan, f: &Failure) -> bool {
    // A new sysfs meets the same check on the /sys sbx runs under.
    let proc_op =
        plan.mounts.get(f.index as usize).is_some_and(|m| matches!(m.op, MountOp::Proc { .. } | MountOp::Sysfs { .. }));
    proc_op && plan.namespaces.user && f.errno == rustix::io::Errno::PERM
}

fn finish(plan: &Plan, outcome: Outcome) -> Result<i32, Error> {
    if let Some(f) = outcome.failure {
        let message = f.render(plan);
        return Err(match f.step {
            Step::Exec => {
                let code = if f.errno == rustix::io::Errno::NOENT { EXIT_NOT_FOUND } else { EXIT_CANNOT_EXECUTE };
                Error::Exec { message, code }
            }
            Step::Mount if refused_proc(plan, &f) => diagnose::proc_refused(message),
            // Refused like a namespace clone(2) would have been: --best-effort may go on.
            Step::NetNamespace => diagnose::net_namespace_failed(message),
            _ => Error::Launch(message),
        });
    }
    let code = match outcome.status {
        WaitStatus::Exited(_, code) => code,
        WaitStatus::Signaled(_, sig, _) => 128 + sig as i32,
        _ => crate::error::EXIT_SBX_FAILURE,
    };
    if let Some(e) = outcome.killed_by {
        eprintln!("sbx: {}: {}", plan.name, refusals::describe(plan, &e));
        // pid 1 kills with SIGKILL; when that ended the payload itself, report it as systemd
        // would (killed by SIGSYS). A child killed while the payload went on changes nothing.
        if code == 128 + libc::SIGKILL {
            return Ok(128 + libc::SIGSYS);
        }
    }
    Ok(code)
}
