//! Running a probe in a throw-away child: fork, let the body try what sbx would do, read its
//! one fixed-size record from a pipe.
//!
//! Invariant: the parent changes nothing; whatever the body creates (namespaces, mounts in
//! its own mount namespace) dies with it. Call only while single-threaded: the child then
//! may allocate. A child that dies without a record (a seccomp filter killing it with
//! SIGSYS) or takes too long is reported as such, never as a success.

use std::os::fd::{AsFd, OwnedFd};

use rustix::event::{PollFd, PollFlags};
use rustix::pipe::{PipeFlags, pipe_with};
use rustix::process::{Pid, Signal, WaitOptions, WaitStatus};

use crate::sys::Errno;
use crate::sys::ns::{Forked, exit_now, fork_into};

/// How long a probe may take before it is killed.
const TIMEOUT_MS: i64 = 10_000;

/// What a probing child reports: the step it failed at (0: none, it got through) and the
/// errno there (0: the step ran but its check did not hold).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Record {
    pub step: u32,
    pub errno: i32,
}

impl Record {
    pub const OK: Record = Record { step: 0, errno: 0 };

    pub fn failed(step: u32, e: Errno) -> Record {
        Record { step, errno: e.raw_os_error() }
    }

    pub fn encode(self) -> [u8; 8] {
        let mut b = [0u8; 8];
        b[..4].copy_from_slice(&self.step.to_le_bytes());
        b[4..].copy_from_slice(&self.errno.to_le_bytes());
        b
    }

    pub fn decode(b: &[u8]) -> Option<Record> {
        let b: &[u8; 8] = b.try_into().ok()?;
        Some(Record {
            step: u32::from_le_bytes([b[0], b[1], b[2], b[3]]),
            errno: i32::from_le_bytes([b[4], b[5], b[6], b[7]]),
        })
    }

    pub fn errno(self) -> Option<Errno> {
        (self.errno != 0).then(|| Errno::from_raw_os_error(self.errno))
    }
}

/// Why a probe gave no record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ChildError {
    /// Creating the pipe or forking failed.
    Setup {
        op: &'static str,
        errno: Errno,
    },
    /// The child was killed by this signal before reporting.
    Killed(i32),
    /// The child exited with this code without reporting.
    Silent(i32),
    TimedOut,
}

impl std::fmt::Display for ChildError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        use crate::error::describe_errno;
        match self {
            ChildError::Setup { op, errno } => write!(f, "{op}: {}", describe_errno(*errno)),
            ChildError::Killed(sig) if *sig == libc::SIGSYS => {
                write!(f, "the probe was killed by SIGSYS: a seccomp filter kills the system call it tried")
            }
            ChildError::Killed(sig) => write!(f, "the probe was killed by signal {sig}"),
            ChildError::Silent(code) => write!(f, "the probe exited with status {code} without a report"),
            ChildError::TimedOut => write!(f, "the probe did not finish within {} s", TIMEOUT_MS / 1000),
        }
    }
}

/// Where the body (or a process it forks) sends its record.
pub struct Reporter {
    fd: OwnedFd,
}

impl Reporter {
    pub fn send(&self, r: Record) {
        let _ = rustix::io::write(&self.fd, &r.encode());
    }
}

/// Forks; the child runs `body` and exits. Returns the first record any process sent.
pub fn run(body: impl FnOnce(&Reporter)) -> Result<Record, ChildError> {
    let setup = |op| move |errno| ChildError::Setup { op, errno };
    let (read, write) = pipe_with(PipeFlags::CLOEXEC).map_err(setup("pipe"))?;
    let child = match fork_into(0).map_err(setup("fork"))? {
        Forked::Child => {
            drop(read);
            // A panic must not unwind into the parent's code in this copy of the process.
            let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| body(&Reporter { fd: write })));
            exit_now(0)
        }
        Forked::Parent { child } => child,
    };
    drop(write);
    let pid = Pid::from_raw(child).expect("fork returns a positive pid");
    let record = read_record(&read);
    if record == Err(ChildError::TimedOut) {
        let _ = rustix::process::kill_process(pid, Signal::KILL);
    }
    let status = rustix::process::waitpid(Some(pid), WaitOptions::empty());
    match (record, status) {
        (Ok(r), _) => Ok(r),
        (Err(ChildError::TimedOut), _) => Err(ChildError::TimedOut),
        (Err(_), Ok(Some((_, s)))) => Err(silence(s)),
        (Err(e), _) => Err(e),
    }
}

fn silence(s: WaitStatus) -> ChildError {
    match (s.terminating_signal(), s.exit_status()) {
        (Some(sig), _) => ChildError::Killed(sig),
        (None, Some(code)) => ChildError::Silent(code),
        _ => ChildError::Silent(-1),
    }
}

/// Reads one record, waiting at most the timeout. EOF without a record is `Silent(0)` here;
/// the caller refines it from the child's exit status.
fn read_record(fd: &OwnedFd) -> Result<Record, ChildError> {
    let mut buf = [0u8; 8];
    let mut got = 0;
    while got < buf.len() {
        let mut fds = [PollFd::new(fd, PollFlags::IN)];
        let timeout = rustix::time::Timespec { tv_sec: TIMEOUT_MS / 1000, tv_nsec: 0 };
        match rustix::event::poll(&mut fds, Some(&timeout)) {
            Ok(0) => return Err(ChildError::TimedOut),
            Ok(_) | Err(Errno::INTR) => {}
            Err(errno) => return Err(ChildError::Setup { op: "poll", errno }),
        }
        match rustix::io::read(fd.as_fd(), &mut buf[got..]) {
            Ok(0) => return Err(ChildError::Silent(0)),
            Ok(n) => got += n,
            Err(Errno::INTR | Errno::AGAIN) => {}
            Err(errno) => return Err(ChildError::Setup { op: "read", errno }),
        }
    }
    Record::decode(&buf).ok_or(ChildError::Silent(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_round_trip() {
        for r in [Record::OK, Record::failed(2, Errno::PERM), Record { step: 8, errno: 0 }] {
            assert_eq!(Record::decode(&r.encode()), Some(r));
        }
        assert_eq!(Record::decode(&[0; 7]), None);
        assert_eq!(Record::failed(1, Errno::NOSPC).errno(), Some(Errno::NOSPC));
        assert_eq!(Record::OK.errno(), None);
    }

    #[test]
    fn silence_names_the_signal() {
        assert!(ChildError::Killed(libc::SIGSYS).to_string().contains("seccomp filter"));
        assert!(ChildError::Silent(3).to_string().contains("status 3"));
    }
}
