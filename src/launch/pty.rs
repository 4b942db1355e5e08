//! `--pty`: a terminal of the payload's own, relayed to sbx's standard streams, the way
//! `systemd-run --pty` does it.
//!
//! Invariant: the caller's terminal is put in raw mode only while the relay runs and is
//! restored on drop; the payload's terminal starts with the caller's settings and window size.

use std::os::fd::{AsFd, OwnedFd};

use rustix::event::{PollFd, PollFlags};
use rustix::fs::{Mode, OFlags};
use rustix::termios::{OptionalActions, Termios};

use crate::error::Error;

pub struct Pty {
    master: OwnedFd,
    slave_path: String,
    slave: Option<OwnedFd>,
    saved: Option<Termios>,
    stdin_open: bool,
}

fn io(what: &str, e: rustix::io::Errno) -> Error {
    Error::io(format!("--pty: {what}"), e.into())
}

impl Pty {
    pub fn open() -> Result<Pty, Error> {
        let flags =
            rustix::pty::OpenptFlags::RDWR | rustix::pty::OpenptFlags::NOCTTY | rustix::pty::OpenptFlags::CLOEXEC;
        let master = rustix::pty::openpt(flags).map_err(|e| io("open a pseudo-terminal", e))?;
        rustix::pty::grantpt(&master).map_err(|e| io("grantpt", e))?;
        rustix::pty::unlockpt(&master).map_err(|e| io("unlockpt", e))?;
        let name = rustix::pty::ptsname(&master, Vec::new()).map_err(|e| io("ptsname", e))?;
        let slave = rustix::fs::open(name.as_c_str(), OFlags::RDWR | OFlags::NOCTTY | OFlags::CLOEXEC, Mode::empty())
            .map_err(|e| io("open the terminal", e))?;
        if let Ok(t) = rustix::termios::tcgetattr(rustix::stdio::stdin()) {
            let _ = rustix::termios::tcsetattr(&slave, OptionalActions::Now, &t);
        }
        let slave_path = name.to_string_lossy().into_owned();
        let pty = Pty { master, slave_path, slave: Some(slave), saved: None, stdin_open: true };
        pty.copy_window_size();
        Ok(pty)
    }

    /// The terminal's path on the host (/dev/pts/N).
    pub fn slave_path(&self) -> &str {
        &self.slave_path
    }

    /// Puts the caller's terminal in raw mode until the relay is dropped.
    pub fn start_relay(mut self) -> Pty {
        let stdin = rustix::stdio::stdin();
        self.saved = rustix::termios::tcgetattr(stdin).ok();
        if let Some(t) = &self.saved {
            let mut raw = t.clone();
            raw.make_raw();
            let _ = rustix::termios::tcsetattr(stdin, OptionalActions::Now, &raw);
        }
        self
    }

    /// The terminal's other end, for the payload; the monitor must not keep it.
    pub fn take_slave(&mut self) -> Option<OwnedFd> {
        self.slave.take()
    }

    pub fn poll_fds(&self) -> Vec<PollFd<'_>> {
        let mut v = vec![PollFd::new(&self.master, PollFlags::IN)];
        if self.stdin_open {
            v.push(PollFd::from_borrowed_fd(rustix::stdio::stdin(), PollFlags::IN));
        }
        v
    }

    /// Moves whatever is ready; returns false once the payload's side has hung up.
    pub fn relay(&mut self, ready: &[PollFlags]) -> bool {
        if let Some(r) = ready.first() {
            if r.contains(PollFlags::IN) {
                if !copy(self.master.as_fd(), rustix::stdio::stdout()) {
                    return false;
                }
            } else if r.intersects(PollFlags::HUP | PollFlags::ERR) {
                return false;
            }
        }
        if let Some(r) = ready.get(1) {
            if !r.is_empty() && !copy(rustix::stdio::stdin(), self.master.as_fd()) {
                self.stdin_open = false;
            }
        }
        true
    }

    pub fn copy_window_size(&self) {
        if let Ok(ws) = rustix::termios::tcgetwinsize(rustix::stdio::stdin()) {
            let _ = rustix::termios::tcsetwinsize(&self.master, ws);
        }
    }

    /// Copies what the payload wrote before it ended.
    pub fn drain(&mut self) {
        let _ = rustix::fs::fcntl_setfl(&self.master, OFlags::NONBLOCK);
        while copy(self.master.as_fd(), rustix::stdio::stdout()) {}
    }
}

fn copy(from: std::os::fd::BorrowedFd<'_>, to: std::os::fd::BorrowedFd<'_>) -> bool {
    let mut buf = [0u8; 8192];
    match rustix::io::read(from, &mut buf) {
        Ok(0) | Err(_) => false,
        Ok(n) => {
            let mut rest = &buf[..n];
            while !rest.is_empty() {
                match rustix::io::write(to, rest) {
                    Ok(w) => rest = &rest[w..],
                    Err(_) => return false,
                }
            }
            true
        }
    }
}

impl Drop for Pty {
    fn drop(&mut self) {
        if let Some(t) = &self.saved {
            let _ = rustix::termios::tcsetattr(rustix::stdio::stdin(), OptionalActions::Now, t);
        }
    }
}
