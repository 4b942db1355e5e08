//! Failure records that cross the fork: fixed-size, written by the child without
//! allocating, turned into text by the monitor (`messages`) with the Plan it already holds.
//!
//! Invariant: the report pipe is close-on-exec, so end-of-file with no record means the
//! payload's execve succeeded; a record names the step, the mount sub-operation (if any),
//! the index into the plan's list for that step, and the errno.

use std::os::fd::{AsFd, BorrowedFd};

use crate::plan::seccomp::Verdict;
use crate::sys::Errno;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub enum Step {
    WaitForMonitor = 1,
    Staging,
    Mount,
    FinishRoot,
    Loopback,
    ForkPayload,
    Session,
    Terminal,
    Rlimit,
    Nice,
    Umask,
    KeepCaps,
    Groups,
    Gid,
    Uid,
    Capabilities,
    Bounding,
    Ambient,
    NoNewPrivs,
    Chdir,
    Descriptors,
    Exec,
    Keyring,
    MemoryDenyWriteExecute,
    Seccomp,
    Listener,
    Landlock,
    CgroupNamespace,
    OomScoreAdjust,
    NetNamespace,
    IdMaps,
}

const STEPS: [Step; 31] = [
    Step::WaitForMonitor,
    Step::Staging,
    Step::Mount,
    Step::FinishRoot,
    Step::Loopback,
    Step::ForkPayload,
    Step::Session,
    Step::Terminal,
    Step::Rlimit,
    Step::Nice,
    Step::Umask,
    Step::KeepCaps,
    Step::Groups,
    Step::Gid,
    Step::Uid,
    Step::Capabilities,
    Step::Bounding,
    Step::Ambient,
    Step::NoNewPrivs,
    Step::Chdir,
    Step::Descriptors,
    Step::Exec,
    Step::Keyring,
    Step::MemoryDenyWriteExecute,
    Step::Seccomp,
    Step::Listener,
    Step::Landlock,
    Step::CgroupNamespace,
    Step::OomScoreAdjust,
    Step::NetNamespace,
    Step::IdMaps,
];

/// Sub-operations of a mount step.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub enum Sub {
    None = 0,
    OpenSource,
    OpenTarget,
    Create,
    CloneTree,
    SetFlags,
    Attach,
    NewFilesystem,
    Configure,
    MakeMount,
    Pivot,
    Detach,
}

const SUBS: [Sub; 12] = [
    Sub::None,
    Sub::OpenSource,
    Sub::OpenTarget,
    Sub::Create,
    Sub::CloneTree,
    Sub::SetFlags,
    Sub::Attach,
    Sub::NewFilesystem,
    Sub::Configure,
    Sub::MakeMount,
    Sub::Pivot,
    Sub::Detach,
];

/// A system call the filter handed to pid 1, and what pid 1 did with it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SyscallEvent {
    pub nr: u32,
    /// Made through another ABI than the native one (i386, x32).
    pub foreign: bool,
    pub verdict: Verdict,
    /// The low 32 bits of the first two arguments, to name the form that was judged (the
    /// ioctl request, the socket family, the namespace flags).
    pub args: [u32; 2],
}

const EVENT_TAG: u32 = 0xff00_0000;

impl SyscallEvent {
    pub fn encode(&self) -> [u8; 16] {
        let (kind, errno) = match self.verdict {
            Verdict::Kill => (0, 0),
            Verdict::Errno(e) => (1, e),
            Verdict::Log => (2, 0),
        };
        // Word 0: tag, kind (bits 0-1), foreign (bit 2), errno (bits 8-23).
        let head = EVENT_TAG | kind | (u32::from(self.foreign) << 2) | (u32::from(errno) << 8);
        let mut b = [0u8; 16];
        for (i, w) in [head, self.nr, self.args[0], self.args[1]].iter().enumerate() {
            b[i * 4..i * 4 + 4].copy_from_slice(&w.to_ne_bytes());
        }
        b
    }

    pub fn send(&self, fd: BorrowedFd<'_>) {
        let _ = rustix::io::write(fd.as_fd(), &self.encode());
    }
}

/// How a command of a unit ended (`sbx run --unit`, see `launch::sequence`): pid 1 sends one
/// for each command that did not exit 0 or whose payload reported a failure.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CommandEnd {
    /// The command's index in the plan's sequence.
    pub index: u16,
    pub end: End,
    /// What its payload reported before execve, if it did not get that far.
    pub failure: Option<Failure>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum End {
    Exited(i32),
    Killed(i32),
}

impl End {
    /// The status as sbx reports it: the exit code, or 128+N for signal N.
    pub fn code(self) -> i32 {
        match self {
            End::Exited(c) => c,
            End::Killed(sig) => 128 + sig,
        }
    }
}

const ENDED_TAG: u32 = 0xfe00_0000;

impl CommandEnd {
    // Word 0: tag, killed (bit 16), index (bits 0-15). Word 1: exit code or signal. Word 2:
    // failure present (bit 31), its index (bits 16-30), sub (8-15), step (0-7). Word 3: errno.
    pub fn encode(&self) -> [u8; 16] {
        let (killed, value) = match self.end {
            End::Exited(c) => (0, c),
            End::Killed(sig) => (1, sig),
        };
        let head = ENDED_TAG | (killed << 16) | u32::from(self.index);
        let (failure, errno) = match self.failure {
            Some(f) => {
                (1 << 31 | (f.index & 0x7fff) << 16 | (f.sub as u32) << 8 | f.step as u32, f.errno.raw_os_error())
            }
            None => (0, 0),
        };
        let mut b = [0u8; 16];
        for (i, w) in [head, value as u32, failure, errno as u32].iter().enumerate() {
            b[i * 4..i * 4 + 4].copy_from_slice(&w.to_ne_bytes());
        }
        b
    }

    fn decode(b: &[u8; 16]) -> Option<CommandEnd> {
        let word = |i: usize| u32::from_ne_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
        let head = word(0);
        let value = word(4) as i32;
        let end = if head & (1 << 16) != 0 { End::Killed(value) } else { End::Exited(value) };
        let f = word(8);
        let failure = if f & (1 << 31) != 0 {
            let step = *STEPS.iter().find(|s| **s as u32 == f & 0xff)?;
            let sub = *SUBS.iter().find(|s| **s as u32 == (f >> 8) & 0xff)?;
            Some(Failure { step, sub, index: (f >> 16) & 0x7fff, errno: Errno::from_raw_os_error(word(12) as i32) })
        } else {
            None
        };
        Some(CommandEnd { index: (head & 0xffff) as u16, end, failure })
    }

    pub fn send(&self, fd: BorrowedFd<'_>) {
        let _ = rustix::io::write(fd.as_fd(), &self.encode());
    }
}

const FINISHED_TAG: u32 = 0xfd00_0000;

/// pid 1's last word: every process of the sandbox is gone and this is the code to exit with.
/// Only its own exit (the namespaces' teardown) remains.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Finished {
    pub code: i32,
}

impl Finished {
    pub fn encode(&self) -> [u8; 16] {
        let mut b = [0u8; 16];
        b[0..4].copy_from_slice(&FINISHED_TAG.to_ne_bytes());
        b[4..8].copy_from_slice(&self.code.to_ne_bytes());
        b
    }

    pub fn send(&self, fd: BorrowedFd<'_>) {
        let _ = rustix::io::write(fd.as_fd(), &self.encode());
    }
}

/// What crosses the report pipe.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Record {
    Failure(Failure),
    Syscall(SyscallEvent),
    Ended(CommandEnd),
    Finished(Finished),
}

impl Record {
    pub fn decode(b: &[u8; 16]) -> Option<Record> {
        let word = |i: usize| u32::from_ne_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
        if word(0) & 0xff00_0000 == ENDED_TAG {
            return CommandEnd::decode(b).map(Record::Ended);
        }
        if word(0) == FINISHED_TAG {
            return Some(Record::Finished(Finished { code: word(4) as i32 }));
        }
        if word(0) & EVENT_TAG != EVENT_TAG {
            return Failure::decode(b).map(Record::Failure);
        }
        let head = word(0);
        let errno = u16::try_from((head >> 8) & 0xffff).ok()?;
        let verdict = match head & 0x3 {
            0 => Verdict::Kill,
            1 => Verdict::Errno(errno),
            2 => Verdict::Log,
            _ => return None,
        };
        let foreign = head & 0x4 != 0;
        Some(Record::Syscall(SyscallEvent { nr: word(4), foreign, verdict, args: [word(8), word(12)] }))
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Failure {
    pub step: Step,
    pub sub: Sub,
    pub index: u32,
    pub errno: Errno,
}

impl Failure {
    pub fn new(step: Step, errno: Errno) -> Self {
        Failure { step, sub: Sub::None, index: 0, errno }
    }

    pub fn at(step: Step, sub: Sub, index: usize, errno: Errno) -> Self {
        Failure { step, sub, index: index as u32, errno }
    }

    pub fn encode(&self) -> [u8; 16] {
        let mut b = [0u8; 16];
        b[0..4].copy_from_slice(&(self.step as u32).to_ne_bytes());
        b[4..8].copy_from_slice(&(self.sub as u32).to_ne_bytes());
        b[8..12].copy_from_slice(&self.index.to_ne_bytes());
        b[12..16].copy_from_slice(&self.errno.raw_os_error().to_ne_bytes());
        b
    }

    pub fn decode(b: &[u8; 16]) -> Option<Failure> {
        let word = |i: usize| u32::from_ne_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
        let step = *STEPS.iter().find(|s| **s as u32 == word(0))?;
        let sub = *SUBS.iter().find(|s| **s as u32 == word(4))?;
        Some(Failure { step, sub, index: word(8), errno: Errno::from_raw_os_error(word(12) as i32) })
    }

    /// Writes the record; the child has nothing better to do if this fails.
    pub fn send(&self, fd: BorrowedFd<'_>) {
        let _ = rustix::io::write(fd.as_fd(), &self.encode());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_round_trip() {
        for step in STEPS {
            for sub in SUBS {
                let f = Failure { step, sub, index: 7, errno: Errno::ACCESS };
                assert_eq!(Failure::decode(&f.encode()), Some(f));
            }
        }
        assert_eq!(Failure::decode(&[0xff; 16]), None);
        for (end, failure) in [
            (End::Exited(3), None),
            (End::Killed(9), None),
            (End::Exited(127), Some(Failure { step: Step::Exec, sub: Sub::None, index: 0, errno: Errno::NOENT })),
            (End::Exited(125), Some(Failure::at(Step::Rlimit, Sub::None, 15, Errno::PERM))),
            (End::Exited(-1), Some(Failure::at(Step::Landlock, Sub::OpenSource, 300, Errno::ACCESS))),
        ] {
            let e = CommandEnd { index: 513, end, failure };
            assert_eq!(Record::decode(&e.encode()), Some(Record::Ended(e)));
        }
        for code in [0, 1, 127, 137, 255, -1] {
            let f = Finished { code };
            assert_eq!(Record::decode(&f.encode()), Some(Record::Finished(f)));
        }
        for verdict in [Verdict::Kill, Verdict::Errno(13), Verdict::Log] {
            let e = SyscallEvent { nr: 165, foreign: true, verdict, args: [7, 0x5412] };
            assert_eq!(Record::decode(&e.encode()), Some(Record::Syscall(e)));
        }
    }
}
