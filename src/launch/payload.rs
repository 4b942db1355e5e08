//! The payload's last steps before execve, in systemd's order: session and terminal,
//! rlimits, nice, umask, ids (groups, gid, uid, keeping capabilities), the bounding and
//! ambient sets, no_new_privs, keyring, MDWE, descriptors, signals, Landlock, working
//! directory, the syscall filter (last), execve. Up to Landlock they run while pid 1
//! detaches the host root (see `run`).
//!
//! Invariant: no allocation and no formatting; a failure is one record on the report pipe.

use std::os::fd::{AsFd, AsRawFd, OwnedFd};

use rustix::thread::{CapabilitySet, CapabilitySets};

use crate::error::{EXIT_CANNOT_EXECUTE, EXIT_NOT_FOUND, EXIT_SBX_FAILURE};
use crate::launch::landlock::{self, LandlockPrep};
use crate::launch::prepare::PayloadPrep;
use crate::launch::report::{Failure, Step, Sub};
use crate::launch::seccomp::{self, SeccompPrep};
use crate::profile::syscall_lists::KeyringMode;
use crate::sys::{self, Errno};

/// `root_ready`, when given, is read before the syscall filter (and so before execve): until
/// pid 1 writes to it, the host root is still stacked on the sandbox's (see
/// `mounts::Pivoted`). End of file means pid 1 failed there and reports it.
pub fn run(
    p: &PayloadPrep,
    rules: &LandlockPrep,
    filter: &SeccompPrep,
    report: OwnedFd,
    pty: Option<OwnedFd>,
    root_ready: Option<OwnedFd>,
) -> ! {
    let mut root = RootReady(root_ready);
    let last_steps = |root: &mut RootReady| -> Result<(), Failure> {
        // Until pid 1 detaches it, the host root sits on the sandbox's "/", and ".." stepping
        // back onto the root dentry would cross into it. Landlock's rules are mount targets,
        // normalised and opened without following symlinks: looked up before the wait. The
        // working directory may pass a symlink to "..": after it, as is the filter (which may
        // refuse read(2)) and so execve.
        landlock::apply(rules)?;
        root.wait();
        if let Err(e) = rustix::process::chdir(p.cwd.as_c_str()) {
            if !p.cwd_fallback_root {
                return Err(Failure::new(Step::Chdir, e));
            }
            step(Step::Chdir, rustix::process::chdir(c"/"))?;
        }
        seccomp::install(filter)
    };
    if let Err(f) = setup(p, pty).and_then(|()| last_steps(&mut root)) {
        f.send(report.as_fd());
        sys::ns::exit_now(EXIT_SBX_FAILURE);
    }
    let errno = exec(p);
    Failure::new(Step::Exec, errno).send(report.as_fd());
    sys::ns::exit_now(if errno == Errno::NOENT { EXIT_NOT_FOUND } else { EXIT_CANNOT_EXECUTE })
}

fn step<T>(step: Step, r: Result<T, Errno>) -> Result<T, Failure> {
    r.map_err(|e| Failure::new(step, e))
}

/// pid 1's word that the host root is gone, awaited once.
struct RootReady(Option<OwnedFd>);

impl RootReady {
    fn wait(&mut self) {
        let Some(fd) = self.0.take() else { return };
        let mut byte = [0u8; 1];
        loop {
            match rustix::io::read(&fd, &mut byte) {
                Ok(1) => return,
                Err(Errno::INTR) => continue,
                _ => sys::ns::exit_now(EXIT_SBX_FAILURE),
            }
        }
    }
}

/// No step here looks up a path but oom_score_adj's, a fixed one (see `run`'s `root_ready`).
fn setup(p: &PayloadPrep, pty: Option<OwnedFd>) -> Result<(), Failure> {
    step(Step::Session, rustix::process::setsid())?;
    if let Some(slave) = pty {
        step(Step::Terminal, rustix::process::ioctl_tiocsctty(&slave))?;
        for fd in 0..3 {
            step(Step::Terminal, sys::fd::dup2(slave.as_raw_fd(), fd))?;
        }
    }
    for (i, (resource, soft, hard)) in p.rlimits.iter().enumerate() {
        sys::proc::set_rlimit(*resource, *soft, *hard).map_err(|e| Failure::at(Step::Rlimit, Sub::None, i, e))?;
    }
    if let Some(n) = p.nice {
        step(Step::Nice, sys::proc::set_nice(n))?;
    }
    if let Some(v) = &p.oom_score_adj {
        step(Step::OomScoreAdjust, sys::proc::write_file(c"/proc/self/oom_score_adj", v))?;
    }
    rustix::process::umask(rustix::fs::Mode::from_raw_mode(p.umask));
    if p.switch_ids {
        switch_ids(p)?;
    }
    capabilities(p)?;
    if p.no_new_privs {
        step(Step::NoNewPrivs, rustix::thread::set_no_new_privs(true))?;
    }
    match p.keyring {
        Some(KeyringMode::Private) => step(Step::Keyring, sys::seccomp::join_new_session_keyring())?,
        Some(KeyringMode::Shared) => {
            step(Step::Keyring, sys::seccomp::join_new_session_keyring())?;
            step(Step::Keyring, sys::seccomp::link_user_keyring())?;
        }
        Some(KeyringMode::Inherit) | None => {}
    }
    if p.mdwe {
        step(Step::MemoryDenyWriteExecute, sys::seccomp::memory_deny_write_execute())?;
    }
    step(Step::Descriptors, sys::fd::cloexec_from(3))?;
    sys::exec::reset_signals();
    Ok(())
}

fn switch_ids(p: &PayloadPrep) -> Result<(), Failure> {
    use rustix::process::{Gid, Uid};
    step(Step::KeepCaps, rustix::thread::set_keep_capabilities(true))?;
    if let Some(groups) = &p.groups {
        step(Step::Groups, rustix::thread::set_thread_groups(groups))?;
    }
    let gid = Gid::from_raw(p.gid);
    step(Step::Gid, rustix::thread::set_thread_res_gid(gid, gid, gid))?;
    let uid = Uid::from_raw(p.uid);
    step(Step::Uid, rustix::thread::set_thread_res_uid(uid, uid, uid))
}

/// Effective = permitted (keep-caps kept the permitted set across the uid switch), then the
/// bounding set is cut down and the ambient set raised; execve does the rest.
fn capabilities(p: &PayloadPrep) -> Result<(), Failure> {
    let cur = step(Step::Capabilities, rustix::thread::capabilities(None))?;
    let ambient = CapabilitySet::from_bits_retain(p.ambient);
    let sets = CapabilitySets { effective: cur.permitted, permitted: cur.permitted, inheritable: ambient };
    step(Step::Capabilities, rustix::thread::set_capabilities(None, sets))?;
    for cap in 0..=p.last_cap.min(63) {
        if p.bounding & (1u64 << cap) == 0 {
            match sys::caps::bounding_drop(cap) {
                Ok(()) | Err(Errno::INVAL) => {}
                Err(e) => return Err(Failure::at(Step::Bounding, Sub::None, cap as usize, e)),
            }
        }
    }
    for cap in 0..64u32 {
        if p.ambient & (1u64 << cap) != 0 {
            sys::caps::ambient_raise(cap).map_err(|e| Failure::at(Step::Ambient, Sub::None, cap as usize, e))?;
        }
    }
    Ok(())
}

/// Tries each candidate like execvp: ENOENT/ENOTDIR move on, EACCES is remembered.
fn exec(p: &PayloadPrep) -> Errno {
    let mut seen = Errno::NOENT;
    for path in &p.candidates {
        match sys::exec::execve(path, &p.arrays) {
            Errno::NOENT | Errno::NOTDIR => {}
            e => seen = e,
        }
    }
    seen
}
