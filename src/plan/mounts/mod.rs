//! The ordered list of mount operations that builds the sandbox's file system.
//!
//! The root is a tmpfs mirroring the host's top level, or, when all of it is to be read-only
//! and nothing must be created at the top, the host's root mount cloned read-only (`plan`).
//!
//! Invariants: targets are absolute, normalised and free of symlinks (host symlinks are
//! resolved here, following only root-owned ones); a mountpoint is created only inside a
//! tmpfs sbx mounted itself, never on the host; a parent's operation precedes its children's;
//! every operation carries the directive (and file:line) that asked for it; read-only
//! remounts of sbx's own tmpfs mounts come last, after every mountpoint exists. Nothing here
//! touches the host beyond `HostFacts`.
//!
//! `planner.rs` holds the model of what is visible where as the list grows; `families.rs`
//! turns each directive family into operations, in the order `plan` calls them.

mod api;
mod families;
mod planner;
#[cfg(test)]
mod tests;

use serde::Serialize;

use crate::error::PlanError;
use crate::host::{FileKind, HostFacts};
use crate::profile::Origin;
use crate::settings::Settings;

use planner::Planner;

/// One step of building the root, in kernel terms.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum MountOp {
    /// The sandbox root: a fresh tmpfs.
    RootTmpfs,
    /// The sandbox root: a host directory (RootDirectory=), bound recursively.
    RootBind {
        source: String,
        readonly: bool,
    },
    Mkdir {
        path: String,
        mode: u32,
    },
    Touch {
        path: String,
    },
    Symlink {
        path: String,
        target: String,
    },
    /// Bind a host path (`source`) onto `target`; `readonly` applies to the whole subtree.
    Bind {
        source: String,
        target: String,
        kind: FileKind,
        readonly: bool,
        recursive: bool,
        nosuid_noexec: bool,
        /// Idmapped (`HostRoot=no`): the host's uid and gid 0 show as the payload's 0, whose
        /// host id is the transient one. The monitor makes the tree; pid 1 attaches it.
        #[serde(skip_serializing_if = "std::ops::Not::not")]
        idmap: bool,
    },
    /// Bind a path of the sandbox onto itself (inside the new /proc, say).
    SelfBind {
        target: String,
        readonly: bool,
    },
    Tmpfs {
        target: String,
        mode: u32,
        options: String,
        nosuid: bool,
        nodev: bool,
        noexec: bool,
    },
    Proc {
        target: String,
        hidepid: Option<&'static str>,
        subset_pid: bool,
    },
    /// A new sysfs, read-only, mounted from inside the sandbox's own network namespace (pid 1
    /// joins it first), so that its network class lists the sandbox's interfaces only.
    Sysfs {
        target: String,
    },
    Devpts {
        target: String,
    },
    Mqueue {
        target: String,
    },
    /// Cover `target` with an empty inode nobody can open: a mode-000 tmpfs for a directory,
    /// a mode-000 empty file for anything else.
    Inaccessible {
        target: String,
        kind: FileKind,
    },
    /// Make one of sbx's own tmpfs mounts read-only (not recursive).
    RemountReadOnly {
        target: String,
    },
}

/// Why an operation exists: the directive, and where it was written (none for defaults).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Cause {
    pub directive: &'static str,
    pub origin: Option<Origin>,
}

impl std::fmt::Display for Cause {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.origin {
            Some(o) => write!(f, "{}=, {o}", self.directive),
            None => write!(f, "{}", self.directive),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Mount {
    #[serde(flatten)]
    pub op: MountOp,
    pub cause: Cause,
}

/// A state directory to bind: created on the host by the monitor before launch.
pub struct StateBind {
    pub path: String,
    pub host_path: String,
    /// DynamicUser=: the `private` directory to cover with a tmpfs of sbx's own first.
    pub private_parent: Option<String>,
    pub cause: Cause,
}

/// Inputs the mount plan needs besides Settings.
pub struct MountInputs<'a> {
    /// State directories (host path = sandbox path), created by the monitor before launch.
    pub state_dirs: &'a [StateBind],
    /// The caller's working directory when it must be writable.
    pub writable_cwd: Option<(String, Cause)>,
    /// `HostRoot=no`: the working directory is idmapped to this transient host id.
    pub idmap_cwd: Option<u32>,
    /// The host path of the payload's terminal (`--pty`), bound to /dev/console.
    pub console: Option<String>,
    /// Bind the host's /proc (recursively, so its locked overmounts stay) instead of mounting
    /// a new procfs; `ProcSubset=` must then be cleared by the caller, since the kernel
    /// protections below /proc are planned as if the whole procfs were visible.
    pub host_proc: bool,
    /// The payload may hold CAP_SYS_ADMIN in the sandbox (`CapPlan::payload_may_hold_sys_admin`),
    /// and so could unmount what sbx mounted and uncover what lies below.
    pub payload_may_mount: bool,
}

/// How the sandbox's root shows the host's when there is no RootDirectory=.
#[derive(Clone, Copy, PartialEq)]
enum Root {
    /// A tmpfs with the host's top-level entries recreated in it, one by one.
    Mirror,
    /// The host's root mount cloned with everything below it, read-only as a whole.
    HostClone,
}

pub fn plan(s: &Settings, host: &HostFacts, inputs: &MountInputs) -> Result<Vec<Mount>, PlanError> {
    // The clone fails to plan where a mountpoint would have to be created outside sbx's own
    // tmpfs mounts (it would be created on the host); the mirror then has room for it, and
    // reports any other error the same way.
    if host_clone_fits(s, inputs) {
        if let Ok(mounts) = plan_with(s, host, inputs, Root::HostClone) {
            return Ok(mounts);
        }
    }
    plan_with(s, host, inputs, Root::Mirror)
}

/// A new sysfs needs the sandbox's network namespace, which pid 1 joins only when the helper
/// of launch/network.rs has made it (in parallel with the mounts before). So the sysfs and
/// every operation at or below /sys go last, in their order: the mounts before them need no
/// namespace, and a parent still precedes its children.
fn defer_sysfs(mounts: &mut Vec<Mount>) {
    if !mounts.iter().any(|m| matches!(m.op, MountOp::Sysfs { .. })) {
        return;
    }
    let below_sys = |m: &Mount| {
        let path = match &m.op {
            MountOp::Mkdir { path, .. } | MountOp::Touch { path } | MountOp::Symlink { path, .. } => path,
            MountOp::Bind { target, .. }
            | MountOp::SelfBind { target, .. }
            | MountOp::Tmpfs { target, .. }
            | MountOp::Proc { target, .. }
            | MountOp::Sysfs { target }
            | MountOp::Devpts { target }
            | MountOp::Mqueue { target }
            | MountOp::Inaccessible { target, .. }
            | MountOp::RemountReadOnly { target } => target,
            MountOp::RootTmpfs | MountOp::RootBind { .. } => return false,
        };
        // The mountpoint /sys itself is made in the root, before.
        let mountpoint = matches!(m.op, MountOp::Mkdir { .. }) && path == "/sys";
        !mountpoint && (path == "/sys" || path.starts_with("/sys/"))
    };
    let (sys, rest): (Vec<Mount>, Vec<Mount>) = std::mem::take(mounts).into_iter().partition(below_sys);
    *mounts = rest;
    mounts.extend(sys);
}

/// A read-only clone of the host's root looks the same to the payload as the mirror when all
/// of the root is read-only (ProtectSystem=strict) — one operation instead of about fifty.
/// It differs below what sbx mounts over /proc, /sys, /dev, /tmp and the home directories:
/// the host's mounts there, rather than empty directories. Only a payload holding
/// CAP_SYS_ADMIN in the sandbox could unmount a cover to reach them (in a user namespace of
/// its own the covers are locked to what they cover), so when it may, the mirror is used.
fn host_clone_fits(s: &Settings, inputs: &MountInputs) -> bool {
    let strict = s.protect_system.as_ref().is_some_and(|v| v.value == crate::settings::ProtectSystem::Strict);
    strict && s.root_directory.is_none() && !inputs.payload_may_mount
}

fn plan_with(s: &Settings, host: &HostFacts, inputs: &MountInputs, root: Root) -> Result<Vec<Mount>, PlanError> {
    let mut p = Planner::new(host);
    if !p.root_directory(s)? {
        match root {
            Root::Mirror => p.root(s),
            Root::HostClone => p.host_root(s),
        }
    }
    p.home(s)?;
    p.api(s, inputs)?;
    p.tmp(s)?;
    p.temporary_file_systems(s)?;
    p.binds(s, inputs)?;
    p.access_paths(s)?;
    p.state_dirs(inputs)?;
    p.kernel(s);
    defer_sysfs(&mut p.mounts);
    for (target, cause) in std::mem::take(&mut p.finally_readonly) {
        p.push(MountOp::RemountReadOnly { target }, cause);
    }
    Ok(p.mounts)
}
