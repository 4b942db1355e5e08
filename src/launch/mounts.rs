//! Builds the sandbox root from the prepared mount list, in the child (pid 1).
//!
//! Invariant: host paths are opened only through the old root's descriptor and sandbox paths
//! only through the new root's, both with RESOLVE_NO_SYMLINKS (the plan resolved every
//! trusted symlink; one appearing now was planted and fails the run). The exception keeps
//! that promise with fewer calls: a directory whose source and target are single names in
//! their roots is cloned and attached by name without following a symlink, and the kernel
//! refuses to attach a planted one on the directory (`bind_by_name`). The host's mount tree
//! is a slave of ours first, so nothing propagates back. One function per operation kind.
//!
//! The staging: the sandbox's root is mounted on top of the host root ("/"), where it covers
//! no path a source could name (sources are opened through a descriptor of the host root
//! taken before, never by path); the tmpfs holding the inodes InaccessiblePaths= binds, when
//! the plan needs it, is stacked on top of the new root, which it covers no more (targets are
//! opened through the new root's descriptor). Both are reached through their descriptors
//! only. At the end that tmpfs moves into the host's tree, one pivot_root(".", ".") from the
//! new root puts the host root on top of it, and one detach takes the whole host tree away,
//! the tmpfs with it: the detach takes the topmost mount at "." (pivot_root walks every
//! thread of the system, and each detach waits for an RCU grace period: one call of each).

use std::ffi::CStr;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use rustix::fs::{Mode, OFlags, ResolveFlags};
use rustix::mount::{
    FsMountFlags, FsOpenFlags, MountAttrFlags, MountPropagationFlags, MoveMountFlags, OpenTreeFlags, UnmountFlags,
};

use crate::launch::prepare::PMount;
use crate::launch::report::{Failure, Step, Sub};
use crate::sys::Errno;
use crate::sys::mount::{MOUNT_ATTR_NODEV, MOUNT_ATTR_NOEXEC, MOUNT_ATTR_NOSUID, MOUNT_ATTR_RDONLY, set_mount_attrs};

type R<T> = Result<T, (Sub, Errno)>;

struct Roots<'a> {
    old: OwnedFd,
    new: Option<OwnedFd>,
    /// The empty, mode-000 file and directory that InaccessiblePaths= binds over paths, made
    /// on first use (`inaccessible`), with what the plan needs of them.
    inaccessible: Option<Inaccessible>,
    wanted: Wanted,
    /// The directory the last create operation wrote into (its path relative to the new root,
    /// and a writable descriptor), kept for the next one: the root mirror creates its entries
    /// one after another in the same directory. Dropped when a mount lands on that directory or
    /// above it, which would hide what the descriptor refers to.
    /// (The path is borrowed from the prepared operations: pid 1 allocates nothing.)
    parent: Option<(&'a CStr, OwnedFd)>,
}

impl<'a> Roots<'a> {
    /// The inaccessible inodes, made now if this is the first operation to need them.
    fn inaccessible(&mut self) -> R<&Inaccessible> {
        let wanted = self.wanted;
        match &mut self.inaccessible {
            Some(made) => Ok(made),
            slot => Ok(slot.insert(inaccessible(wanted)?)),
        }
    }

    /// A writable descriptor of the sandbox directory `path` (relative to the new root).
    fn parent_dir(&mut self, path: &'a CStr) -> R<BorrowedFd<'_>> {
        let cached = matches!(&self.parent, Some((p, _)) if *p == path);
        if !cached {
            let dir = reopen_dir(&target(self, path)?)?;
            self.parent = Some((path, dir));
        }
        match &self.parent {
            Some((_, fd)) => Ok(fd.as_fd()),
            None => Err((Sub::OpenTarget, Errno::BADF)),
        }
    }

    /// After operation `op`: forget the cached directory if `op` mounted on it or above it.
    fn after(&mut self, op: &PMount) {
        let Some((cached, _)) = &self.parent else { return };
        let covers = match mount_target(op) {
            Some(t) => covers(t.to_bytes(), cached.to_bytes()),
            None => false,
        };
        if covers || matches!(op, PMount::RootTmpfs | PMount::RootBind { .. }) {
            self.parent = None;
        }
    }
}

/// Where `op` attaches a mount or changes one (None for the operations that create entries).
pub fn mount_target(op: &PMount) -> Option<&CStr> {
    match op {
        PMount::Bind { target, .. }
        | PMount::SelfBind { target, .. }
        | PMount::Tmpfs { target, .. }
        | PMount::Proc { target, .. }
        | PMount::Sysfs { target }
        | PMount::Devpts { target }
        | PMount::Mqueue { target }
        | PMount::InaccessibleDir { target, .. }
        | PMount::InaccessibleFile { target }
        | PMount::AttachTree { target, .. }
        | PMount::RemountReadOnly { target } => Some(target.as_c_str()),
        PMount::RootTmpfs | PMount::RootBind { .. } | PMount::Mkdir { .. } | PMount::Touch { .. } => None,
        PMount::Symlink { .. } => None,
    }
}

/// Whether a mount at `target` hides or changes the directory `dir` (both relative to the new
/// root, "." for the root itself): it is `dir` or one of its ancestors.
pub fn covers(target: &[u8], dir: &[u8]) -> bool {
    target == b"." || target == dir || (dir.starts_with(target) && dir.get(target.len()) == Some(&b'/'))
}

/// The inodes InaccessiblePaths= binds, in a tmpfs of their own (see the staging).
struct Inaccessible {
    /// The tmpfs's mount.
    mount: OwnedFd,
    file: Option<OwnedFd>,
    dir: Option<OwnedFd>,
}

/// Which of the inaccessible inodes the plan binds.
#[derive(Clone, Copy, Default)]
struct Wanted {
    file: bool,
    dir: bool,
}

/// Applies every mount operation and pivots to the new root. The host root is still stacked
/// on it, reachable by ".." from any top-level directory, until `Pivoted::detach`. Before a
/// new sysfs, `join_network` puts pid 1 in the sandbox's network namespace (a sysfs shows the
/// network devices of the namespace that mounts it).
pub fn apply(
    ops: &[PMount],
    trees: &[OwnedFd],
    mut join_network: impl FnMut() -> Result<(), Failure>,
) -> Result<Pivoted, Failure> {
    let wanted = Wanted {
        file: ops.iter().any(|op| matches!(op, PMount::InaccessibleFile { .. })),
        dir: ops.iter().any(|op| matches!(op, PMount::InaccessibleDir { shared: true, .. })),
    };
    let mut roots = staging(wanted).map_err(|(sub, e)| Failure::at(Step::Staging, sub, 0, e))?;
    for (i, op) in ops.iter().enumerate() {
        if matches!(op, PMount::Sysfs { .. }) {
            join_network()?;
        }
        apply_one(&mut roots, op, trees).map_err(|(sub, e)| Failure::at(Step::Mount, sub, i, e))?;
        roots.after(op);
    }
    pivot(roots).map_err(|(sub, e)| Failure::at(Step::FinishRoot, sub, 0, e))
}

/// The new root is the root; the host root is stacked on it until `detach`.
#[must_use = "the host root stays in the sandbox until it is detached"]
pub struct Pivoted {
    /// The inaccessible inodes' tmpfs was moved into the host tree (or never made).
    parked: bool,
}

impl Pivoted {
    /// Detaches the host root (and the tmpfs, if it was not parked). Each detach waits for an
    /// RCU grace period, about 0.1 ms, which is why pid 1 does this while the payload's first
    /// steps run, and nothing of the payload's runs until it is done.
    pub fn detach(self) -> Result<(), Failure> {
        let detach = |e| Failure::at(Step::FinishRoot, Sub::Detach, 0, e);
        // Unmounting "." takes the topmost mount at "." with everything below it in its tree:
        // the host root, on top of anything stacked on the new root.
        rustix::mount::unmount(c".", UnmountFlags::DETACH).map_err(detach)?;
        if !self.parked {
            rustix::mount::unmount(c".", UnmountFlags::DETACH).map_err(detach)?;
        }
        rustix::process::chdir(c"/").map_err(|e| Failure::at(Step::FinishRoot, Sub::None, 0, e))
    }
}

fn staging<'a>(wanted: Wanted) -> R<Roots<'a>> {
    let s = |e| (Sub::None, e);
    rustix::mount::mount_change(c"/", MountPropagationFlags::DOWNSTREAM | MountPropagationFlags::REC).map_err(s)?;
    let old = open_dir(c"/").map_err(s)?;
    Ok(Roots { old, new: None, inaccessible: None, wanted, parent: None })
}

/// A small tmpfs stacked on the new root (the sandbox root's first operation has been
/// applied), holding an empty file and an empty directory of mode 000 (each only if the plan
/// binds it). Stacked there, it covers no path: targets are opened through the new root's
/// descriptor, sources through the host root's. `pivot` moves it away first (`park`).
fn inaccessible(wanted: Wanted) -> R<Inaccessible> {
    let c = |e| (Sub::Create, e);
    let fs = new_fs(c"tmpfs")?;
    configure(&fs, c"mode", Some(c"0755"))?;
    configure(&fs, c"size", Some(c"4k"))?;
    let mount = make_mount(&fs, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC)?;
    stack_on_root(&mount)?;
    let mut file = None;
    let mut dir = None;
    if wanted.file {
        let flags = OFlags::CREATE | OFlags::EXCL | OFlags::WRONLY | OFlags::CLOEXEC;
        let f = rustix::fs::openat(&mount, c"file", flags, Mode::empty()).map_err(c)?;
        rustix::fs::fchmod(&f, Mode::empty()).map_err(c)?;
        file = Some(f);
    }
    if wanted.dir {
        rustix::fs::mkdirat(&mount, c"dir", Mode::empty()).map_err(c)?;
        let flags = OFlags::PATH | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
        dir = Some(rustix::fs::openat(&mount, c"dir", flags, Mode::empty()).map_err(c)?);
    }
    Ok(Inaccessible { mount, file, dir })
}

/// Moves the inaccessible inodes' tmpfs off the new root and into the host's tree, onto one
/// of its directories (every source has been opened by now), so that detaching the host root
/// takes it along. Whether it found a place.
fn park(old: &OwnedFd, tmpfs: &OwnedFd) -> bool {
    let flags = MoveMountFlags::MOVE_MOUNT_F_EMPTY_PATH | MoveMountFlags::MOVE_MOUNT_T_EMPTY_PATH;
    [c"proc", c"dev", c"sys", c"tmp"].iter().any(|dir| {
        open_beneath(old.as_fd(), dir)
            .and_then(|place| rustix::mount::move_mount(tmpfs, c"", &place, c"", flags))
            .is_ok()
    })
}

/// Attaches `tree` on top of whatever is mounted on "/" (the host root, for a start).
fn stack_on_root(tree: &OwnedFd) -> R<()> {
    let flags = MoveMountFlags::MOVE_MOUNT_F_EMPTY_PATH;
    rustix::mount::move_mount(tree, c"", rustix::fs::CWD, c"/", flags).map_err(|e| (Sub::Attach, e))
}

fn pivot(roots: Roots<'_>) -> R<Pivoted> {
    let Roots { old, new, inaccessible, .. } = roots;
    let new = new.ok_or((Sub::OpenTarget, Errno::BADF))?;
    let parked = inaccessible.as_ref().is_none_or(|x| park(&old, &x.mount));
    rustix::process::fchdir(&new).map_err(|e| (Sub::None, e))?;
    drop(new);
    rustix::process::pivot_root(c".", c".").map_err(|e| (Sub::Pivot, e))?;
    Ok(Pivoted { parked })
}

fn open_dir(path: &CStr) -> Result<OwnedFd, Errno> {
    rustix::fs::open(path, OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC, Mode::empty())
}

/// Opens `path` (relative) beneath `root` as an O_PATH descriptor, refusing every symlink.
fn open_beneath(root: BorrowedFd<'_>, path: &CStr) -> Result<OwnedFd, Errno> {
    let resolve = ResolveFlags::IN_ROOT | ResolveFlags::NO_SYMLINKS | ResolveFlags::NO_MAGICLINKS;
    rustix::fs::openat2(root, path, OFlags::PATH | OFlags::CLOEXEC, Mode::empty(), resolve)
}

fn new_root<'r>(roots: &'r Roots<'_>) -> R<BorrowedFd<'r>> {
    roots.new.as_ref().map(|f| f.as_fd()).ok_or((Sub::OpenTarget, Errno::BADF))
}

fn target(roots: &Roots<'_>, path: &CStr) -> R<OwnedFd> {
    open_beneath(new_root(roots)?, path).map_err(|e| (Sub::OpenTarget, e))
}

fn attach(tree: &OwnedFd, target: &OwnedFd) -> R<()> {
    let flags = MoveMountFlags::MOVE_MOUNT_F_EMPTY_PATH | MoveMountFlags::MOVE_MOUNT_T_EMPTY_PATH;
    rustix::mount::move_mount(tree, c"", target, c"", flags).map_err(|e| (Sub::Attach, e))
}

fn apply_one<'a>(roots: &mut Roots<'a>, op: &'a PMount, trees: &[OwnedFd]) -> R<()> {
    match op {
        PMount::AttachTree { target: t, tree } => {
            attach(trees.get(*tree).ok_or((Sub::OpenSource, Errno::BADF))?, &target(roots, t)?)
        }
        PMount::RootTmpfs => root_tmpfs(roots),
        PMount::RootBind { source, readonly } => {
            let src = open_beneath(roots.old.as_fd(), source).map_err(|e| (Sub::OpenSource, e))?;
            let tree = clone_tree(&src, true, if *readonly { MOUNT_ATTR_RDONLY } else { 0 })?;
            stack_on_root(&tree)?;
            roots.new = Some(tree);
            Ok(())
        }
        PMount::Mkdir { parent, name, mode } => {
            let dir = roots.parent_dir(parent)?;
            match rustix::fs::mkdirat(dir, name.as_c_str(), Mode::from_raw_mode(*mode)) {
                Ok(()) | Err(Errno::EXIST) => Ok(()),
                Err(e) => Err((Sub::Create, e)),
            }
        }
        PMount::Touch { parent, name } => {
            let dir = roots.parent_dir(parent)?;
            let flags = OFlags::CREATE | OFlags::WRONLY | OFlags::CLOEXEC | OFlags::NOFOLLOW;
            rustix::fs::openat(dir, name.as_c_str(), flags, Mode::from_raw_mode(0o644))
                .map(drop)
                .map_err(|e| (Sub::Create, e))
        }
        PMount::Symlink { parent, name, target: link } => {
            let dir = roots.parent_dir(parent)?;
            rustix::fs::symlinkat(link.as_c_str(), dir, name.as_c_str()).map_err(|e| (Sub::Create, e))
        }
        PMount::Bind { source, target: t, readonly, recursive, attrs, by_name } => {
            let attrs = *attrs | if *readonly { MOUNT_ATTR_RDONLY } else { 0 };
            if *by_name {
                return bind_by_name(roots, source, t, *recursive, attrs);
            }
            let src = open_beneath(roots.old.as_fd(), source).map_err(|e| (Sub::OpenSource, e))?;
            let tree = clone_tree(&src, *recursive, attrs)?;
            attach(&tree, &target(roots, t)?)
        }
        PMount::SelfBind { target: t, readonly } => {
            let src = target(roots, t)?;
            let tree = clone_tree(&src, true, if *readonly { MOUNT_ATTR_RDONLY } else { 0 })?;
            attach(&tree, &src)
        }
        PMount::Tmpfs { target: t, mode, options, attrs } => {
            let fs = new_fs(c"tmpfs")?;
            configure(&fs, c"mode", Some(mode))?;
            for (k, v) in options {
                configure(&fs, k, v.as_deref())?;
            }
            attach(&make_mount(&fs, *attrs)?, &target(roots, t)?)
        }
        PMount::Proc { target: t, hidepid, subset_pid } => {
            let fs = new_fs(c"proc")?;
            if let Some(h) = hidepid {
                configure(&fs, c"hidepid", Some(h))?;
            }
            if *subset_pid {
                configure(&fs, c"subset", Some(c"pid"))?;
            }
            attach(&make_mount(&fs, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC)?, &target(roots, t)?)
        }
        PMount::Sysfs { target: t } => {
            // The network namespace is the one pid 1 is in now (`apply` joined it first).
            let fs = new_fs(c"sysfs")?;
            let attrs = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC;
            attach(&make_mount(&fs, attrs)?, &target(roots, t)?)
        }
        PMount::Devpts { target: t } => {
            let fs = new_fs(c"devpts")?;
            configure(&fs, c"newinstance", None)?;
            configure(&fs, c"ptmxmode", Some(c"0666"))?;
            configure(&fs, c"mode", Some(c"0620"))?;
            attach(&make_mount(&fs, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC)?, &target(roots, t)?)
        }
        PMount::Mqueue { target: t } => {
            let fs = new_fs(c"mqueue")?;
            attach(&make_mount(&fs, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC)?, &target(roots, t)?)
        }
        PMount::InaccessibleDir { target: t, shared: true } => {
            let src = roots.inaccessible()?.dir.as_ref().ok_or((Sub::OpenSource, Errno::BADF))?;
            let tree =
                clone_tree(src, false, MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC)?;
            attach(&tree, &target(roots, t)?)
        }
        PMount::InaccessibleDir { target: t, shared: false } => {
            let fs = new_fs(c"tmpfs")?;
            configure(&fs, c"mode", Some(c"0"))?;
            configure(&fs, c"size", Some(c"4k"))?;
            attach(&make_mount(&fs, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC)?, &target(roots, t)?)
        }
        PMount::InaccessibleFile { target: t } => {
            let src = roots.inaccessible()?.file.as_ref().ok_or((Sub::OpenSource, Errno::BADF))?;
            let tree =
                clone_tree(src, false, MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC)?;
            attach(&tree, &target(roots, t)?)
        }
        PMount::RemountReadOnly { target: t } => {
            let fd = target(roots, t)?;
            set_mount_attrs(fd.as_fd(), MOUNT_ATTR_RDONLY, false).map_err(|e| (Sub::SetFlags, e))
        }
    }
}

/// Binds the host directory `source` (one name in the old root) onto `target` (one name in
/// the new root) with two calls less than open-then-clone and two less than open-then-attach.
/// open_tree does not follow `source` if it has become a symlink since planning; the clone is
/// then rooted at the symlink, and move_mount refuses to attach a non-directory on the
/// directory `target` (EINVAL), so the run fails as RESOLVE_NO_SYMLINKS would make it. A
/// single name has no `..` to climb. `target` is an entry of the new root, which only this
/// process has written, and move_mount does not follow it either.
fn bind_by_name(roots: &Roots<'_>, source: &CStr, target: &CStr, recursive: bool, attrs: u64) -> R<()> {
    let tree = clone_at(roots.old.as_fd(), source, OpenTreeFlags::AT_SYMLINK_NOFOLLOW, recursive, attrs)?;
    let flags = MoveMountFlags::MOVE_MOUNT_F_EMPTY_PATH;
    rustix::mount::move_mount(&tree, c"", new_root(roots)?, target, flags).map_err(|e| (Sub::Attach, e))
}

fn root_tmpfs(roots: &mut Roots<'_>) -> R<()> {
    let fs = new_fs(c"tmpfs")?;
    configure(&fs, c"mode", Some(c"0755"))?;
    let mnt = make_mount(&fs, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV)?;
    stack_on_root(&mnt)?;
    roots.new = Some(mnt);
    Ok(())
}

/// An O_PATH directory descriptor cannot be written through; reopen it as a real one.
fn reopen_dir(fd: &OwnedFd) -> R<OwnedFd> {
    rustix::fs::openat(fd, c".", OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC, Mode::empty())
        .map_err(|e| (Sub::OpenTarget, e))
}

fn clone_tree(src: &OwnedFd, recursive: bool, attrs: u64) -> R<OwnedFd> {
    clone_at(src.as_fd(), c"", OpenTreeFlags::AT_EMPTY_PATH, recursive, attrs)
}

/// A detached copy of the mount at `path` under `dir` (with `lookup` flags), with `attrs` set.
fn clone_at(dir: BorrowedFd<'_>, path: &CStr, lookup: OpenTreeFlags, recursive: bool, attrs: u64) -> R<OwnedFd> {
    let mut flags = OpenTreeFlags::OPEN_TREE_CLONE | OpenTreeFlags::OPEN_TREE_CLOEXEC | lookup;
    if recursive {
        flags |= OpenTreeFlags::AT_RECURSIVE;
    }
    let tree = rustix::mount::open_tree(dir, path, flags).map_err(|e| (Sub::CloneTree, e))?;
    if attrs != 0 {
        set_mount_attrs(tree.as_fd(), attrs, recursive).map_err(|e| (Sub::SetFlags, e))?;
    }
    Ok(tree)
}

fn new_fs(name: &CStr) -> R<OwnedFd> {
    rustix::mount::fsopen(name, FsOpenFlags::FSOPEN_CLOEXEC).map_err(|e| (Sub::NewFilesystem, e))
}

fn configure(fs: &OwnedFd, key: &CStr, value: Option<&CStr>) -> R<()> {
    let r = match value {
        Some(v) => rustix::mount::fsconfig_set_string(fs, key, v),
        None => rustix::mount::fsconfig_set_flag(fs, key),
    };
    r.map_err(|e| (Sub::Configure, e))
}

fn make_mount(fs: &OwnedFd, attrs: u64) -> R<OwnedFd> {
    rustix::mount::fsconfig_create(fs).map_err(|e| (Sub::NewFilesystem, e))?;
    let attrs = MountAttrFlags::from_bits_retain(attrs as u32);
    rustix::mount::fsmount(fs, FsMountFlags::FSMOUNT_CLOEXEC, attrs).map_err(|e| (Sub::MakeMount, e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sys::ns::{CLONE_NEWNS, CLONE_NEWUSER, Forked, exit_now, fork_into};
    use crate::sys::proc::write_file;
    use rustix::mount::MountFlags;
    use std::ffi::CString;

    /// In a user and mount namespace of its own: a host directory replaced by a symlink after
    /// planning is not attached by `bind_by_name` (the kernel refuses a symlink-rooted clone
    /// on a directory), while the real directory is, read-only. The child reports by exit code
    /// and uses only system calls (the test process has other threads).
    #[test]
    fn binding_by_name_refuses_a_planted_symlink() {
        let uid_map = CString::new(format!("0 {} 1", rustix::process::getuid().as_raw())).unwrap();
        let gid_map = CString::new(format!("0 {} 1", rustix::process::getgid().as_raw())).unwrap();
        let child = match fork_into(CLONE_NEWUSER | CLONE_NEWNS) {
            Ok(Forked::Child) => exit_now(planted_symlink_child(&uid_map, &gid_map)),
            Ok(Forked::Parent { child }) => child,
            Err(e) => panic!("clone(CLONE_NEWUSER | CLONE_NEWNS): {e}"),
        };
        let pid = rustix::process::Pid::from_raw(child).unwrap();
        let status = rustix::process::waitpid(Some(pid), rustix::process::WaitOptions::empty()).unwrap().unwrap().1;
        assert_eq!(status.exit_status(), Some(0), "the child's step that failed (see planted_symlink_child)");
    }

    /// The child of `binding_by_name_refuses_a_planted_symlink`: 0, or the number of the step
    /// that went wrong.
    fn planted_symlink_child(uid_map: &CStr, gid_map: &CStr) -> i32 {
        let set_up = || -> Result<Roots<'static>, Errno> {
            write_file(c"/proc/self/setgroups", c"deny")?;
            write_file(c"/proc/self/uid_map", uid_map)?;
            write_file(c"/proc/self/gid_map", gid_map)?;
            rustix::mount::mount_change(c"/", MountPropagationFlags::PRIVATE | MountPropagationFlags::REC)?;
            rustix::mount::mount(c"tmpfs", c"/tmp", c"tmpfs", MountFlags::empty(), None)?;
            for dir in [c"/tmp/old", c"/tmp/new", c"/tmp/old/real", c"/tmp/new/d"] {
                rustix::fs::mkdir(dir, Mode::from_raw_mode(0o755))?;
            }
            rustix::fs::symlink(c"real", c"/tmp/old/d")?;
            Ok(Roots {
                old: open_dir(c"/tmp/old")?,
                new: Some(open_dir(c"/tmp/new")?),
                inaccessible: None,
                wanted: Wanted::default(),
                parent: None,
            })
        };
        let Ok(roots) = set_up() else { return 1 };
        match bind_by_name(&roots, c"d", c"d", true, MOUNT_ATTR_RDONLY) {
            Err((Sub::Attach, Errno::INVAL)) => {}
            Ok(()) => return 2,
            Err(_) => return 3,
        }
        if bind_by_name(&roots, c"real", c"d", true, MOUNT_ATTR_RDONLY).is_err() {
            return 4;
        }
        match rustix::fs::mkdir(c"/tmp/new/d/x", Mode::from_raw_mode(0o755)) {
            Err(Errno::ROFS) => 0,
            _ => 5,
        }
    }

    #[test]
    fn a_mount_covers_its_own_directory_and_those_below() {
        assert!(covers(b".", b"."));
        assert!(covers(b".", b"etc"));
        assert!(covers(b"dev", b"dev"));
        assert!(covers(b"dev", b"dev/pts"));
        assert!(covers(b"run/user", b"run/user/1000/x"));
    }

    #[test]
    fn a_mount_beside_or_below_a_directory_leaves_it_alone() {
        assert!(!covers(b"boot", b"."));
        assert!(!covers(b"dev/pts", b"dev"));
        assert!(!covers(b"dev", b"devices"));
        assert!(!covers(b"run/user", b"run"));
    }
}
