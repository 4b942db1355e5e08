//! Creating the state directories on the host before launch, and removing RuntimeDirectory=
//! afterwards — also when sbx itself is killed.
//!
//! Invariant: directories are created with the planned mode and (as root) owner before the
//! sandbox exists; runtime directories are removed at the end of every run: by the monitor
//! on a normal end, or by a small watcher process when the monitor dies without saying so.

use std::io::Read;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::os::unix::fs::{PermissionsExt, chown};
use std::path::Path;

use crate::error::Error;
use crate::plan::state_dirs::StateDir;
use crate::sys::ns::{Forked, exit_now, fork_into};

/// Removes the runtime directories when dropped; owns the watcher's pipe.
pub struct RuntimeCleanup {
    paths: Vec<String>,
    watcher: Option<OwnedFd>,
}

pub fn create(dirs: &[StateDir]) -> Result<RuntimeCleanup, Error> {
    for d in dirs {
        let path = Path::new(&d.path);
        std::fs::create_dir_all(path)
            .map_err(|e| Error::io(format!("{}: create {}", d.kind.directive(), d.path), e))?;
        if let Some((uid, gid)) = d.owner {
            chown(path, Some(uid), Some(gid))
                .map_err(|e| Error::io(format!("{}: chown {}", d.kind.directive(), d.path), e))?;
        }
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(d.mode))
            .map_err(|e| Error::io(format!("{}: chmod {}", d.kind.directive(), d.path), e))?;
    }
    let paths: Vec<String> = dirs.iter().filter(|d| d.remove_at_exit).map(|d| d.path.clone()).collect();
    let watcher = if paths.is_empty() { None } else { Some(spawn_watcher(&paths)?) };
    Ok(RuntimeCleanup { paths, watcher })
}

/// A process that removes the runtime directories if the monitor dies without first
/// telling it the run ended normally (one byte on the pipe).
fn spawn_watcher(paths: &[String]) -> Result<OwnedFd, Error> {
    let (r, w) = rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC).map_err(|e| Error::io("pipe", e.into()))?;
    match fork_into(0).map_err(|e| Error::io("fork the cleanup watcher", e.into()))? {
        Forked::Parent { .. } => Ok(w),
        Forked::Child => {
            drop(w);
            // Hold none of the caller's streams open: a pipeline must not wait on the watcher.
            let flags = rustix::fs::OFlags::RDWR | rustix::fs::OFlags::CLOEXEC;
            if let Ok(null) = rustix::fs::open(c"/dev/null", flags, rustix::fs::Mode::empty()) {
                for fd in 0..3 {
                    let _ = crate::sys::fd::dup2(null.as_raw_fd(), fd);
                }
            }
            let _ = rustix::process::setsid();
            let mut byte = [0u8; 1];
            let said_done = std::fs::File::from(r).read(&mut byte).is_ok_and(|n| n == 1);
            if !said_done {
                for p in paths {
                    let _ = std::fs::remove_dir_all(p);
                }
            }
            exit_now(0)
        }
    }
}

impl Drop for RuntimeCleanup {
    fn drop(&mut self) {
        for p in &self.paths {
            let _ = std::fs::remove_dir_all(p);
        }
        if let Some(w) = self.watcher.take() {
            let _ = rustix::io::write(w.as_fd(), b"1");
        }
    }
}
