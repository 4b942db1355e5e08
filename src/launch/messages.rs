//! Failure records as messages for people: the step, what it worked on (a mount, an rlimit,
//! a Landlock rule), the directive behind it and the errno, by name.
//!
//! Invariant: runs in the monitor only (it formats and allocates); the child sends the fixed
//! records of `report`, and this module turns them into text with the Plan the monitor holds.

use crate::error::describe_errno;
use crate::launch::report::{Failure, Step, Sub};
use crate::plan::Plan;
use crate::sys::Errno;

impl Failure {
    /// A message naming the step, what it worked on, the directive behind it and the errno.
    pub fn render(&self, plan: &Plan) -> String {
        let errno = describe_errno(self.errno);
        match self.step {
            Step::Mount => match plan.mounts.get(self.index as usize) {
                Some(m) => format!("mounts: {} ({}): {}: {errno}", describe_op(&m.op), m.cause, sub_name(self.sub)),
                None => format!("mounts: step {}: {errno}", self.index),
            },
            Step::Rlimit => match plan.exec.rlimits.get(self.index as usize) {
                Some(r) => format!("rlimits: {}=: {errno}{}", r.name, hint_rlimit(self.errno)),
                None => format!("rlimits: {errno}"),
            },
            Step::Chdir if plan.exec.cwd_from_caller => format!(
                "working directory {} (where sbx was started): {errno}; it must be reachable in the sandbox: start sbx in another directory or set -p WorkingDirectory=PATH",
                plan.exec.cwd
            ),
            Step::Chdir => format!("working directory {}: {errno}", plan.exec.cwd),
            Step::Landlock => match plan.landlock.paths.get(self.index as usize) {
                Some(r) if self.sub != Sub::None => {
                    format!("Landlock: rule for {}: {}: {errno}", r.path, sub_name(self.sub))
                }
                _ => format!("Landlock: {errno}"),
            },
            Step::Exec => format!("cannot execute {}: {errno}", plan.exec.argv[0].to_string_lossy()),
            step => format!("{}: {errno}", step_name(step)),
        }
    }
}

fn hint_rlimit(e: Errno) -> &'static str {
    if e == Errno::PERM { " (only root can raise a hard limit above the current one)" } else { "" }
}

fn step_name(step: Step) -> &'static str {
    match step {
        Step::WaitForMonitor => "waiting for sbx to write the id maps",
        Step::IdMaps => "writing its own id maps",
        Step::Staging => "preparing the staging root",
        Step::Mount => "mounts",
        Step::FinishRoot => "switching to the new root",
        Step::Loopback => "bringing up the loopback interface",
        Step::NetNamespace => "creating the network namespace",
        Step::ForkPayload => "starting the payload",
        Step::Session => "starting a new session",
        Step::Terminal => "attaching the terminal",
        Step::Rlimit => "rlimits",
        Step::Nice => "Nice=",
        Step::Umask => "UMask=",
        Step::KeepCaps => "keeping capabilities across the id switch",
        Step::Groups => "SupplementaryGroups=",
        Step::Gid => "Group=",
        Step::Uid => "User=",
        Step::Capabilities => "setting capability sets",
        Step::Bounding => "CapabilityBoundingSet=",
        Step::Ambient => "AmbientCapabilities=",
        Step::NoNewPrivs => "NoNewPrivileges=",
        Step::Chdir => "WorkingDirectory=",
        Step::Descriptors => "closing inherited descriptors",
        Step::Exec => "execve",
        Step::Keyring => "KeyringMode=",
        Step::MemoryDenyWriteExecute => "MemoryDenyWriteExecute= (prctl PR_SET_MDWE)",
        Step::Seccomp => "installing the syscall filter",
        Step::Listener => "taking the syscall filter's notification fd from the payload (pidfd_getfd)",
        Step::Landlock => "Landlock",
        Step::CgroupNamespace => "entering a cgroup namespace",
        Step::OomScoreAdjust => "OOMScoreAdjust= (lowering it needs root)",
    }
}

fn sub_name(sub: Sub) -> &'static str {
    match sub {
        Sub::None => "",
        Sub::OpenSource => "open source",
        Sub::OpenTarget => "open target",
        Sub::Create => "create mountpoint",
        Sub::CloneTree => "clone mount tree",
        Sub::SetFlags => "set mount flags",
        Sub::Attach => "attach mount",
        Sub::NewFilesystem => "create file system",
        Sub::Configure => "configure file system",
        Sub::MakeMount => "make mount",
        Sub::Pivot => "pivot_root",
        Sub::Detach => "detach",
    }
}

pub fn describe_op(op: &crate::plan::mounts::MountOp) -> String {
    use crate::plan::mounts::MountOp::*;
    match op {
        RootTmpfs => "tmpfs → / (the sandbox root)".into(),
        RootBind { source, readonly } => {
            format!("bind {source} → / (the sandbox root){}", if *readonly { " read-only" } else { "" })
        }
        Mkdir { path, .. } => format!("mkdir {path}"),
        Touch { path } => format!("create {path}"),
        Symlink { path, target } => format!("symlink {path} → {target}"),
        Bind { source, target, readonly, .. } => {
            format!("bind {source} → {target}{}", if *readonly { " read-only" } else { "" })
        }
        SelfBind { target, readonly } => {
            format!("bind {target} onto itself{}", if *readonly { " read-only" } else { "" })
        }
        Tmpfs { target, .. } => format!("tmpfs → {target}"),
        Proc { target, .. } => format!("proc → {target}"),
        Sysfs { target } => format!("sysfs of the sandbox's network namespace → {target} read-only"),
        Devpts { target } => format!("devpts → {target}"),
        Mqueue { target } => format!("mqueue → {target}"),
        Inaccessible { target, .. } => format!("inaccessible → {target}"),
        RemountReadOnly { target } => format!("read-only {target}"),
    }
}
