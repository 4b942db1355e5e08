//! `HostRoot=no`: the working directory as an idmapped mount, made by the monitor before
//! pid 1 exists, so that root's files there belong to the payload's root (a transient host
//! uid) and what it writes there lands as root's.
//!
//! The kernel lets only a process privileged over the file system's own user namespace (the
//! host's) idmap a mount, so pid 1, inside its user namespace, cannot; the monitor can, and
//! the detached tree reaches pid 1 as an inherited descriptor. The id maps come from a user
//! namespace made for the purpose by a child that lives only until they are read.
//!
//! Invariant: the tree maps exactly the host's uid and gid 0 to the transient id, and the
//! directory is opened without following any symlink (the plan resolved it).

use std::os::fd::{AsFd, OwnedFd};

use rustix::fs::{Mode, OFlags, ResolveFlags};
use rustix::mount::OpenTreeFlags;

use crate::sys::Errno;
use crate::sys::ns::{CLONE_NEWUSER, Forked, exit_now, fork_into};

/// Why the tree could not be made: no user namespace (the host refuses them, as it would
/// refuse the sandbox's own), or the mount itself (what to tell the user).
pub enum IdmapError {
    Namespace(Errno),
    Mount(String),
}

/// A detached, idmapped clone of the host directory `dir` (its top mount only). Call while
/// the process is single-threaded.
pub fn working_directory(dir: &str, host_id: u32) -> Result<OwnedFd, IdmapError> {
    let fail = |what: &str, e: Errno| {
        IdmapError::Mount(format!(
            "HostRoot=no: the working directory {dir} is not idmapped ({what}: {e}), so the payload, uid {host_id} on the host, may write there only what that uid may; idmapping needs CAP_SYS_ADMIN over the file system (which containers drop) and a file system that supports it (ext4, xfs, btrfs, tmpfs from Linux 6.3); -p HostRoot=yes gives the payload root's uid instead"
        ))
    };
    let userns = mapped_userns(host_id).map_err(|(what, e)| match what {
        CREATE => IdmapError::Namespace(e),
        _ => fail(what, e),
    })?;
    let resolve = ResolveFlags::NO_SYMLINKS | ResolveFlags::NO_MAGICLINKS;
    let flags = OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC;
    let at = rustix::fs::openat2(rustix::fs::CWD, dir, flags, Mode::empty(), resolve).map_err(|e| fail("open", e))?;
    let tree = rustix::mount::open_tree(
        &at,
        c"",
        OpenTreeFlags::OPEN_TREE_CLONE | OpenTreeFlags::OPEN_TREE_CLOEXEC | OpenTreeFlags::AT_EMPTY_PATH,
    )
    .map_err(|e| fail("clone the mount (open_tree)", e))?;
    crate::sys::mount::set_idmap(tree.as_fd(), userns.as_fd()).map_err(|e| fail("idmap it (mount_setattr)", e))?;
    Ok(tree)
}

const CREATE: &str = "create a user namespace";

/// A user namespace whose only ids are 0, mapped to `host_id`: a child creates it and waits
/// on a pipe until the monitor has written the maps and opened the namespace.
fn mapped_userns(host_id: u32) -> Result<OwnedFd, (&'static str, Errno)> {
    let (wait_r, wait_w) =
        rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC).map_err(|e| ("create a pipe", e))?;
    let child = match fork_into(CLONE_NEWUSER).map_err(|e| (CREATE, e))? {
        Forked::Child => {
            drop(wait_w);
            let _ = rustix::io::read(&wait_r, &mut [0u8; 1]);
            exit_now(0)
        }
        Forked::Parent { child } => child,
    };
    drop(wait_r);
    let line = format!("0 {host_id} 1\n");
    let opened = ["uid_map", "gid_map"]
        .iter()
        .try_for_each(|f| std::fs::write(format!("/proc/{child}/{f}"), &line))
        .map_err(|e| ("write its id maps", Errno::from_io_error(&e).unwrap_or(Errno::IO)))
        .and_then(|()| {
            let path = format!("/proc/{child}/ns/user");
            rustix::fs::open(path.as_str(), OFlags::RDONLY | OFlags::CLOEXEC, Mode::empty()).map_err(|e| ("open it", e))
        });
    drop(wait_w);
    let _ = nix::sys::wait::waitpid(nix::unistd::Pid::from_raw(child), None);
    opened
}
