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
    cgroup: Option<String>,
    watcher: Option<OwnedFd>,
}

pub fn create(dirs: &[StateDir], cgroup: Option<String>) -> Result<RuntimeCleanup, Error> {
    for d in dirs {
        let err = |what: &str, path: &str, e| Error::io(format!("{}: {what} {path}", d.kind.directive()), e);
        if let Some(parent) = &d.private_parent {
            private_parent(parent).map_err(|e| err("create", parent, e))?;
        }
        let path = Path::new(&d.host_path);
        std::fs::create_dir_all(path).map_err(|e| err("create", &d.host_path, e))?;
        if let Some((uid, gid)) = d.owner {
            own(path, uid, gid, d.private_parent.is_some()).map_err(|e| err("chown", &d.host_path, e))?;
        }
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(d.mode))
            .map_err(|e| err("chmod", &d.host_path, e))?;
        if d.private_parent.is_some() {
            link_to_private(d).map_err(|e| err("link", &d.path, e))?;
        }
    }
    let paths: Vec<String> = dirs.iter().filter(|d| d.remove_at_exit).map(|d| d.host_path.clone()).collect();
    let watcher =
        if paths.is_empty() && cgroup.is_none() { None } else { Some(spawn_watcher(&paths, cgroup.as_deref())?) };
    Ok(RuntimeCleanup { paths, cgroup, watcher })
}

/// `private/` is root's and mode 0700, so only the sandbox's own bind reaches inside.
fn private_parent(parent: &str) -> std::io::Result<()> {
    std::fs::create_dir_all(parent)?;
    chown(parent, Some(0), Some(0))?;
    std::fs::set_permissions(parent, std::fs::Permissions::from_mode(0o700))
}

/// Gives a directory to its user. A transient uid may differ from the previous run's, so
/// then (as systemd does) the whole tree changes hands, without following symlinks.
fn own(path: &Path, uid: u32, gid: u32, recursive: bool) -> std::io::Result<()> {
    use std::os::unix::fs::MetadataExt;
    let before = std::fs::symlink_metadata(path)?;
    std::os::unix::fs::lchown(path, Some(uid), Some(gid))?;
    if !recursive || (before.uid(), before.gid()) == (uid, gid) {
        return Ok(());
    }
    for entry in std::fs::read_dir(path)? {
        let entry = entry?;
        if entry.file_type()?.is_dir() {
            own(&entry.path(), uid, gid, true)?;
        } else {
            std::os::unix::fs::lchown(entry.path(), Some(uid), Some(gid))?;
        }
    }
    Ok(())
}

/// `path` → `private/NAME`, as systemd leaves it; a real directory there is refused.
fn link_to_private(d: &StateDir) -> std::io::Result<()> {
    let target = format!("private/{}", d.host_path.rsplit('/').next().unwrap_or_default());
    match std::fs::symlink_metadata(&d.path) {
        Ok(m) if m.file_type().is_symlink() => Ok(()),
        Ok(_) => Err(std::io::Error::other(format!(
            "exists and is not a symlink; with DynamicUser= the data lives in {} (move it there)",
            d.host_path
        ))),
        Err(_) => std::os::unix::fs::symlink(target, &d.path),
    }
}

/// A process that removes the runtime directories if the monitor dies without first
/// telling it the run ended normally (one byte on the pipe).
fn spawn_watcher(paths: &[String], cgroup: Option<&str>) -> Result<OwnedFd, Error> {
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
                if let Some(cg) = cgroup {
                    crate::launch::cgroup::remove(cg);
                }
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
        if let Some(cg) = &self.cgroup {
            crate::launch::cgroup::remove(cg);
        }
        for p in &self.paths {
            let _ = std::fs::remove_dir_all(p);
        }
        if let Some(w) = self.watcher.take() {
            let _ = rustix::io::write(w.as_fd(), b"1");
        }
    }
}
