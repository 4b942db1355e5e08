//! The API file systems as mount operations: /proc (a new procfs, or with --best-effort the
//! container's bound), /sys (the host's read-only, or with PrivateNetwork= a new read-only
//! sysfs of the sandbox's network namespace), a private /dev, and the kernel protections that hide or freeze
//! parts of them (ProtectKernelTunables=, ProtectKernelLogs=, ProtectControlGroups=, ...).
//!
//! Invariant: as in families.rs, operations are appended only through the planner's
//! primitives; nothing here reads the host except through `HostFacts`.

use crate::error::PlanError;
use crate::host::{self, FileKind};
use crate::settings::{ProcSubset, ProtectProc, Settings};

use super::planner::{Cover, Planner, Visibility, cause_of, default_cause};
use super::{Cause, MountInputs, MountOp};

impl Planner<'_> {
    pub(super) fn api(&mut self, s: &Settings, inputs: &MountInputs) -> Result<(), PlanError> {
        let hidepid = match s.protect_proc.as_ref().map(|v| v.value) {
            Some(ProtectProc::NoAccess) => Some("noaccess"),
            Some(ProtectProc::Invisible) => Some("invisible"),
            Some(ProtectProc::Ptraceable) => Some("ptraceable"),
            _ => None,
        };
        let subset_pid = s.proc_subset.as_ref().is_some_and(|v| v.value == ProcSubset::Pid);
        let proc_cause = cause_of("ProtectProc", &s.protect_proc);
        self.mountpoint("/proc", FileKind::Dir, &proc_cause)?;
        if inputs.host_proc {
            let bind = MountOp::Bind {
                source: "/proc".into(),
                target: "/proc".into(),
                kind: FileKind::Dir,
                readonly: false,
                recursive: true,
                nosuid_noexec: true,
                idmap: false,
            };
            self.push(bind, proc_cause);
        } else {
            self.push(MountOp::Proc { target: "/proc".into(), hidepid, subset_pid }, proc_cause);
        }
        // The new procfs shows what the host's does (less, with ProcSubset=pid; the kernel
        // protections below account for that).
        self.cover("/proc", Cover::Host { source: "/proc".into() });
        let sys = MountOp::Bind {
            source: "/sys".into(),
            target: "/sys".into(),
            kind: FileKind::Dir,
            readonly: true,
            recursive: true,
            nosuid_noexec: false,
            idmap: false,
        };
        if Settings::flag(&s.private_network) && !inputs.host_proc {
            self.private_sysfs(s)?;
        } else if !self.host_clone {
            // A read-only clone of the host's root brings the host's /sys, read-only, along.
            self.mountpoint("/sys", FileKind::Dir, &default_cause("sbx /sys (read-only)"))?;
            self.push(sys, default_cause("sbx /sys (read-only)"));
            self.cover("/sys", Cover::Host { source: "/sys".into() });
        }
        self.mountpoint("/dev", FileKind::Dir, &cause_of("PrivateDevices", &s.private_devices))?;
        if Settings::flag(&s.private_devices) {
            self.private_dev(s, inputs.console.as_deref());
        } else {
            let dev = MountOp::Bind {
                source: "/dev".into(),
                target: "/dev".into(),
                kind: FileKind::Dir,
                readonly: false,
                recursive: true,
                nosuid_noexec: false,
                idmap: false,
            };
            self.push(dev, default_cause("sbx /dev (host)"));
            self.cover("/dev", Cover::Host { source: "/dev".into() });
        }
        Ok(())
    }

    /// PrivateNetwork=: a sysfs of the sandbox's network namespace, read-only like the host's
    /// /sys otherwise is, over the clone's /sys too. The host's cgroup hierarchy, a separate
    /// mount the new sysfs lacks, is bound below it read-only. (With the container's /proc
    /// bound, a fresh sysfs would be refused for the same masks: the host's /sys is kept.)
    fn private_sysfs(&mut self, s: &Settings) -> Result<(), PlanError> {
        let cause = cause_of("PrivateNetwork", &s.private_network);
        self.mountpoint("/sys", FileKind::Dir, &cause)?;
        self.push(MountOp::Sysfs { target: "/sys".into() }, cause.clone());
        self.cover("/sys", Cover::Host { source: "/sys".into() });
        if self.host.path_exists("/sys/fs/cgroup") {
            let cgroup = MountOp::Bind {
                source: "/sys/fs/cgroup".into(),
                target: "/sys/fs/cgroup".into(),
                kind: FileKind::Dir,
                readonly: true,
                recursive: true,
                nosuid_noexec: true,
                idmap: false,
            };
            self.push(cgroup, cause);
        }
        Ok(())
    }

    pub(super) fn private_dev(&mut self, s: &Settings, console: Option<&str>) {
        let cause = cause_of("PrivateDevices", &s.private_devices);
        let c = || cause.clone();
        let op = MountOp::Tmpfs {
            target: "/dev".into(),
            mode: 0o755,
            options: String::new(),
            nosuid: true,
            nodev: false,
            noexec: true,
        };
        self.push(op, c());
        self.cover("/dev", Cover::Ours);
        for name in ["null", "zero", "full", "random", "urandom", "tty"] {
            let path = format!("/dev/{name}");
            self.push(MountOp::Touch { path: path.clone() }, c());
            self.created.insert(path.clone());
            let op = MountOp::Bind {
                source: path.clone(),
                target: path,
                kind: FileKind::Other,
                readonly: false,
                recursive: false,
                nosuid_noexec: true,
                idmap: false,
            };
            self.push(op, c());
        }
        if let Some(tty) = console {
            // The terminal belongs to the host's devpts; under a name of this /dev, ttyname()
            // and ps can name it (systemd-nspawn does the same).
            self.push(MountOp::Touch { path: "/dev/console".into() }, default_cause("--pty"));
            self.created.insert("/dev/console".into());
            let op = MountOp::Bind {
                source: tty.into(),
                target: "/dev/console".into(),
                kind: FileKind::Other,
                readonly: false,
                recursive: false,
                nosuid_noexec: true,
                idmap: false,
            };
            self.push(op, default_cause("--pty"));
        }
        for (dir, mode) in [("/dev/pts", 0o755), ("/dev/shm", 0o1777), ("/dev/mqueue", 0o755)] {
            self.push(MountOp::Mkdir { path: dir.into(), mode }, c());
            self.created.insert(dir.into());
        }
        self.push(MountOp::Devpts { target: "/dev/pts".into() }, c());
        let shm = MountOp::Tmpfs {
            target: "/dev/shm".into(),
            mode: 0o1777,
            options: String::new(),
            nosuid: true,
            nodev: true,
            noexec: false,
        };
        self.push(shm, c());
        if Settings::flag(&s.private_ipc) {
            self.push(MountOp::Mqueue { target: "/dev/mqueue".into() }, cause_of("PrivateIPC", &s.private_ipc));
        } else if self.host.path_exists("/dev/mqueue") {
            let op = MountOp::Bind {
                source: "/dev/mqueue".into(),
                target: "/dev/mqueue".into(),
                kind: FileKind::Dir,
                readonly: false,
                recursive: false,
                nosuid_noexec: true,
                idmap: false,
            };
            self.push(op, c());
        }
        for (link, target) in [
            ("/dev/ptmx", "pts/ptmx"),
            ("/dev/fd", "/proc/self/fd"),
            ("/dev/stdin", "/proc/self/fd/0"),
            ("/dev/stdout", "/proc/self/fd/1"),
            ("/dev/stderr", "/proc/self/fd/2"),
        ] {
            self.push(MountOp::Symlink { path: link.into(), target: target.into() }, c());
            self.created.insert(link.into());
        }
        self.finally_readonly.push(("/dev".into(), c()));
    }

    pub(super) fn kernel(&mut self, s: &Settings) {
        let subset_pid = s.proc_subset.as_ref().is_some_and(|v| v.value == ProcSubset::Pid);
        if Settings::flag(&s.protect_kernel_tunables) {
            let cause = cause_of("ProtectKernelTunables", &s.protect_kernel_tunables);
            if !subset_pid {
                for p in [
                    "/proc/sys",
                    "/proc/sysrq-trigger",
                    "/proc/latency_stats",
                    "/proc/acpi",
                    "/proc/timer_stats",
                    "/proc/asound",
                    "/proc/bus",
                    "/proc/fs",
                    "/proc/irq",
                ] {
                    if self.host.path_exists(p) {
                        self.push(MountOp::SelfBind { target: p.into(), readonly: true }, cause.clone());
                    }
                }
            }
            for p in ["/proc/kallsyms", "/proc/kcore", "/sys/kernel/debug", "/sys/kernel/tracing"] {
                self.hide_if_present(p, subset_pid, &cause);
            }
        }
        if Settings::flag(&s.protect_kernel_modules) {
            let cause = cause_of("ProtectKernelModules", &s.protect_kernel_modules);
            for p in ["/lib/modules", "/usr/lib/modules"] {
                if let Ok(r) = self.resolve_in_sandbox(p) {
                    if !matches!(self.visible(&r.path), Visibility::Absent | Visibility::Hidden) {
                        self.inaccessible(&r.path, r.kind, cause.clone());
                    }
                }
            }
        }
        if Settings::flag(&s.protect_kernel_logs) {
            let cause = cause_of("ProtectKernelLogs", &s.protect_kernel_logs);
            for p in ["/proc/kmsg", "/dev/kmsg"] {
                self.hide_if_present(p, subset_pid, &cause);
            }
        }
    }

    pub(super) fn hide_if_present(&mut self, path: &str, subset_pid: bool, cause: &Cause) {
        if subset_pid && path.starts_with("/proc/") {
            return;
        }
        if let Visibility::Host(hp) = self.visible(path) {
            let kind = host::resolve(&*self.host.fs, &hp).map(|r| r.kind).unwrap_or(FileKind::File);
            self.inaccessible(path, kind, cause.clone());
        }
    }
}
