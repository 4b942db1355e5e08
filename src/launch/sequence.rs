//! `sbx run --unit`: pid 1 runs a unit's commands one after another in the sandbox it has
//! built, and the monitor says how a failing one ended.
//!
//! pid 1 runs ExecCondition=, ExecStartPre=, then the main process with ExecStartPost= beside
//! it (Type=oneshot: each ExecStart= to its end, then ExecStartPost=), and ExecStopPost=
//! whatever happened before. Each command is a payload of its own (`payload::run`: the same
//! steps, Landlock rules and syscall filter), with a report pipe of its own that execve
//! closes, so pid 1 knows when a command has executed (ExecStartPost= starts only then) and
//! receives its failure record, which it sends on with the command's end in one `CommandEnd`
//! record. A terminating signal is forwarded to every running command and starts nothing
//! more but ExecStopPost=.
//!
//! Invariant: pid 1 allocates nothing here (every command was prepared before clone) and
//! never signals a process it has not seen start; its exit code is the first failure's (a
//! command that did not exit 0 and has no `-` prefix), or 0.

use std::os::fd::{AsFd, AsRawFd, OwnedFd};

use nix::sys::signal::{Signal, kill};
use nix::sys::signalfd::{SfdFlags, SignalFd};
use nix::sys::wait::{WaitPidFlag, WaitStatus, waitpid};
use nix::unistd::Pid;
use rustix::event::{PollFd, PollFlags};
use rustix::pipe::{PipeFlags, pipe_with};

use crate::error::{EXIT_SBX_FAILURE, Error};
use crate::launch::prepare::{self, PayloadPrep, Prepared};
use crate::launch::report::{CommandEnd, End, Failure, Step};
use crate::launch::seccomp::{self, Handover};
use crate::launch::{payload, signals};
use crate::plan::Plan;
use crate::plan::exec::DEFAULT_PATH;
use crate::settings::Phase;
use crate::sys::Errno;
use crate::sys::ns::{Forked, fork_into};

/// One command, ready for the child.
pub struct CommandPrep {
    pub payload: PayloadPrep,
    pub phase: Phase,
    pub ignore_failure: bool,
}

pub struct SequencePrep {
    pub commands: Vec<CommandPrep>,
    /// The main process, run beside ExecStartPost=; `None` for Type=oneshot.
    pub main: Option<usize>,
}

/// Monitor, before clone: each command's payload is the plan's with the command's argv,
/// executable candidates and (for `!`) no id switch.
pub fn prepare(plan: &Plan) -> Result<Option<SequencePrep>, Error> {
    let Some(seq) = &plan.exec.sequence else { return Ok(None) };
    let mut commands = Vec::with_capacity(seq.commands.len());
    for c in &seq.commands {
        let mut view = plan.clone();
        view.exec.argv = c.argv.iter().map(std::ffi::OsString::from).collect();
        view.exec.candidates.clone_from(&c.candidates);
        view.identity.switch &= !c.keep_ids;
        commands.push(CommandPrep {
            payload: prepare::payload(&view)?,
            phase: c.phase,
            ignore_failure: c.ignore_failure,
        });
    }
    Ok(Some(SequencePrep { commands, main: seq.main }))
}

/// pid 1: runs the unit; returns the exit code for the sandbox.
pub fn run(prep: &Prepared, seq: &SequencePrep, report: &OwnedFd, pty: Option<OwnedFd>) -> i32 {
    let mut set = signals::forwarded();
    set.add(Signal::SIGCHLD);
    let Ok(sigfd) = SignalFd::with_flags(&set, SfdFlags::SFD_CLOEXEC | SfdFlags::SFD_NONBLOCK) else {
        return EXIT_SBX_FAILURE;
    };
    let mut d = Driver { prep, seq, report, pty, sigfd, main: None, control: None, stopping: None };
    let started = d.start_unit();
    let stopped = d.run_each(Phase::StopPost);
    started.and(stopped).err().unwrap_or(0)
}

/// A command that was started (or could not be).
struct Running {
    index: usize,
    pid: Option<Pid>,
    listener: Option<OwnedFd>,
    failure: Option<Failure>,
    end: Option<End>,
}

#[derive(Clone, Copy)]
enum Slot {
    Main,
    Control,
}

struct Driver<'a> {
    prep: &'a Prepared,
    seq: &'a SequencePrep,
    report: &'a OwnedFd,
    pty: Option<OwnedFd>,
    sigfd: SignalFd,
    /// The main process while ExecStartPost= runs beside it.
    main: Option<Running>,
    /// The command pid 1 waits for.
    control: Option<Running>,
    /// The terminating signal sbx received, if any: only ExecStopPost= starts after it.
    stopping: Option<i32>,
}

impl Driver<'_> {
    /// Everything before ExecStopPost=: `Err` carries the first failure's exit code.
    fn start_unit(&mut self) -> Result<(), i32> {
        if !self.conditions_hold()? {
            return Ok(());
        }
        self.run_each(Phase::StartPre)?;
        match self.seq.main {
            Some(m) => self.run_main(m),
            None => {
                self.run_each(Phase::Start)?;
                self.run_each(Phase::StartPost)
            }
        }
    }

    /// ExecCondition=: 1 to 254 skips the unit, 255 or a signal fails it.
    fn conditions_hold(&mut self) -> Result<bool, i32> {
        for i in 0..self.seq.commands.len() {
            if self.seq.commands[i].phase != Phase::Condition {
                continue;
            }
            match self.run_to_end(i) {
                _ if self.seq.commands[i].ignore_failure => {}
                End::Exited(0) => {}
                End::Exited(1..=254) => return Ok(false),
                end => return Err(end.code()),
            }
        }
        Ok(true)
    }

    fn run_each(&mut self, phase: Phase) -> Result<(), i32> {
        for i in 0..self.seq.commands.len() {
            if self.seq.commands[i].phase != phase {
                continue;
            }
            if let Some(sig) = self.stopping.filter(|_| phase != Phase::StopPost) {
                return Err(128 + sig);
            }
            let end = self.run_to_end(i);
            self.judge(i, end)?;
        }
        Ok(())
    }

    fn judge(&self, i: usize, end: End) -> Result<(), i32> {
        if end == End::Exited(0) || self.seq.commands[i].ignore_failure { Ok(()) } else { Err(end.code()) }
    }

    /// The main process, and ExecStartPost= once it has executed; a failing ExecStartPost=
    /// stops it with SIGTERM, as systemd stops a unit whose start failed.
    fn run_main(&mut self, m: usize) -> Result<(), i32> {
        let main = self.start(m, true);
        let executed = main.failure.is_none() && main.end.is_none();
        self.main = Some(main);
        let mut result = Ok(());
        for i in 0..self.seq.commands.len() {
            if !executed || self.seq.commands[i].phase != Phase::StartPost {
                continue;
            }
            if let Some(sig) = self.stopping {
                result = Err(128 + sig);
                break;
            }
            let end = self.run_to_end(i);
            if let Err(code) = self.judge(i, end) {
                self.signal_all(Signal::SIGTERM);
                result = Err(code);
                break;
            }
        }
        self.wait(Slot::Main);
        let Some(main) = self.main.take() else { return result };
        let end = main.end.unwrap_or(End::Exited(EXIT_SBX_FAILURE));
        self.report_end(&main, end);
        result.and(self.judge(m, end))
    }

    /// Starts command `i` and waits for it; with `--pty` the terminal becomes its controlling
    /// terminal, unless the main process runs beside it and holds it (then the command only
    /// writes to it).
    fn run_to_end(&mut self, i: usize) -> End {
        let with_pty = self.main.is_none();
        self.control = Some(self.start(i, with_pty));
        self.wait(Slot::Control);
        let Some(c) = self.control.take() else { return End::Exited(EXIT_SBX_FAILURE) };
        let end = c.end.unwrap_or(End::Exited(EXIT_SBX_FAILURE));
        self.report_end(&c, end);
        end
    }

    /// Forks command `i` and returns once it has executed or failed to.
    fn start(&mut self, i: usize, with_pty: bool) -> Running {
        let failed = |step: Step, e: Errno| Running {
            index: i,
            pid: None,
            listener: None,
            failure: Some(Failure::new(step, e)),
            end: Some(End::Exited(EXIT_SBX_FAILURE)),
        };
        let (exec_r, exec_w) = match pipe_with(PipeFlags::CLOEXEC) {
            Ok(p) => p,
            Err(e) => return failed(Step::ForkPayload, e),
        };
        let (prep, seq) = (self.prep, self.seq);
        seccomp::rearm(&prep.seccomp);
        let pid = match fork_into(0) {
            Ok(Forked::Child) => {
                drop(exec_r);
                let pty = match self.pty.take() {
                    Some(slave) if !with_pty => {
                        // Beside the main process, which holds the terminal: its streams only.
                        for fd in 0..3 {
                            let _ = crate::sys::fd::dup2(slave.as_raw_fd(), fd);
                        }
                        None
                    }
                    pty => pty,
                };
                payload::run(&seq.commands[i].payload, &prep.landlock, &prep.seccomp, exec_w, pty, None)
            }
            Ok(Forked::Parent { child }) => Pid::from_raw(child),
            Err(e) => return failed(Step::ForkPayload, e),
        };
        drop(exec_w);
        let mut run = Running { index: i, pid: Some(pid), listener: None, failure: None, end: None };
        match seccomp::take_listener(&prep.seccomp, pid) {
            Handover::Listener(fd) => run.listener = Some(fd),
            Handover::None => {}
            Handover::Failed(e) => run.failure = Some(Failure::new(Step::Listener, e)),
            Handover::Exited(status) => run.end = end_of(&status),
        }
        run.failure = run.failure.or_else(|| read_failure(&exec_r));
        run
    }

    fn slot(&mut self, slot: Slot) -> &mut Option<Running> {
        match slot {
            Slot::Main => &mut self.main,
            Slot::Control => &mut self.control,
        }
    }

    /// Relays signals and syscall-filter notifications and reaps every child until the
    /// command in `slot` has ended.
    fn wait(&mut self, slot: Slot) {
        while self.slot(slot).as_ref().is_some_and(|r| r.end.is_none()) {
            let ready = self.poll();
            let (prep, report) = (self.prep, self.report);
            for (s, (readable, gone)) in [(Slot::Main, ready[1]), (Slot::Control, ready[2])] {
                let Some(r) = self.slot(s).as_mut() else { continue };
                if let (true, Some(l)) = (readable, r.listener.as_ref()) {
                    if let Some(event) = seccomp::answer(&prep.seccomp, l) {
                        event.send(report.as_fd());
                    }
                } else if gone {
                    r.listener = None;
                }
            }
            if ready[0].0 {
                self.relay_signals();
                self.reap();
            }
        }
    }

    /// Blocks until something is ready: (readable, hung up) for the signal fd and the main
    /// process's and the control command's listeners.
    fn poll(&self) -> [(bool, bool); 3] {
        let mut fds = [
            PollFd::new(&self.sigfd, PollFlags::IN),
            watch(&self.main, &self.sigfd),
            watch(&self.control, &self.sigfd),
        ];
        let mut ready = [(false, false); 3];
        if rustix::event::poll(&mut fds, None).is_ok() {
            for (r, fd) in ready.iter_mut().zip(&fds) {
                let ev = fd.revents();
                *r = (ev.contains(PollFlags::IN), ev.intersects(PollFlags::HUP | PollFlags::ERR));
            }
        }
        ready
    }

    fn relay_signals(&mut self) {
        while let Ok(Some(info)) = self.sigfd.read_signal() {
            let Ok(sig) = Signal::try_from(info.ssi_signo as i32) else { continue };
            if sig == Signal::SIGCHLD {
                continue;
            }
            if matches!(sig, Signal::SIGTERM | Signal::SIGINT | Signal::SIGHUP | Signal::SIGQUIT) {
                self.stopping = self.stopping.or(Some(sig as i32));
            }
            self.signal_all(sig);
        }
    }

    /// Signals the commands that run (never a pid that may have been reused).
    fn signal_all(&self, sig: Signal) {
        for r in [&self.main, &self.control].into_iter().flatten() {
            if let (Some(pid), None) = (r.pid, r.end) {
                let _ = kill(pid, sig);
            }
        }
    }

    fn reap(&mut self) {
        while let Ok(status) = waitpid(None, Some(WaitPidFlag::WNOHANG)) {
            if status == WaitStatus::StillAlive {
                break;
            }
            for r in [&mut self.main, &mut self.control].into_iter().flatten() {
                if r.end.is_none() && r.pid.is_some() && r.pid == status.pid() {
                    r.end = end_of(&status);
                }
            }
        }
    }

    fn report_end(&self, r: &Running, end: End) {
        if end != End::Exited(0) || r.failure.is_some() {
            let index = u16::try_from(r.index).unwrap_or(u16::MAX);
            CommandEnd { index, end, failure: r.failure }.send(self.report.as_fd());
        }
    }
}

/// A command's listener, or an fd polled for nothing (the array keeps its shape).
fn watch<'a>(r: &'a Option<Running>, idle: &'a SignalFd) -> PollFd<'a> {
    match r.as_ref().and_then(|r| r.listener.as_ref()) {
        Some(fd) => PollFd::new(fd, PollFlags::IN),
        None => PollFd::from_borrowed_fd(idle.as_fd(), PollFlags::empty()),
    }
}

fn end_of(status: &WaitStatus) -> Option<End> {
    match status {
        WaitStatus::Exited(_, code) => Some(End::Exited(*code)),
        WaitStatus::Signaled(_, sig, _) => Some(End::Killed(*sig as i32)),
        _ => None,
    }
}

/// The payload's failure record, or `None` once execve closed the pipe.
fn read_failure(pipe: &OwnedFd) -> Option<Failure> {
    let mut buf = [0u8; 16];
    let mut got = 0;
    while got < buf.len() {
        match rustix::io::read(pipe, &mut buf[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(Errno::INTR) => {}
            Err(_) => break,
        }
    }
    if got == buf.len() { Failure::decode(&buf) } else { None }
}

/// Monitor: says how a command of the unit ended. The main process's own exit status is
/// sbx's, as for a command line, so only its failure to start (or an ignored failure) is told.
pub fn report(plan: &Plan, e: &CommandEnd) {
    let Some(seq) = &plan.exec.sequence else { return };
    let Some(cmd) = seq.commands.get(usize::from(e.index)) else { return };
    let what = match (e.failure, e.end) {
        (Some(f), _) if f.step == Step::Exec && f.errno == Errno::NOENT && cmd.candidates.len() > 1 => {
            format!("not found in {DEFAULT_PATH}")
        }
        (Some(f), _) if f.step == Step::Exec => format!("cannot execute: {}", crate::error::describe_errno(f.errno)),
        (Some(f), _) => f.render(plan),
        (None, _) if seq.main == Some(usize::from(e.index)) && !cmd.ignore_failure => return,
        (None, End::Exited(code)) => format!("exited with status {code}"),
        (None, End::Killed(sig)) => {
            let name = Signal::try_from(sig).map_or("?", Signal::as_str);
            format!("was killed by signal {sig} ({name})")
        }
    };
    let outcome = if cmd.ignore_failure {
        "; ignored (the - prefix)"
    } else if cmd.phase == Phase::Condition && matches!(e.end, End::Exited(1..=254)) {
        "; the unit is skipped"
    } else {
        ""
    };
    eprintln!("sbx: {}: {}: {what}{outcome}", plan.name, cmd.describe());
}
