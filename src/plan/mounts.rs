//! The ordered list of mount operations that builds the sandbox's file system.
//!
//! Invariants: targets are absolute, normalised and free of symlinks (host symlinks are
//! resolved here, following only root-owned ones); a mountpoint is created only inside a
//! tmpfs sbx mounted itself, never on the host; a parent's operation precedes its children's;
//! every operation carries the directive (and file:line) that asked for it; read-only
//! remounts of sbx's own tmpfs mounts come last, after every mountpoint exists. Nothing here
//! touches the host beyond `HostFacts`.

use std::collections::BTreeSet;

use serde::Serialize;

use crate::error::PlanError;
use crate::host::{self, FileKind, HostFacts, ResolveError, RootEntry};
use crate::profile::Origin;
use crate::profile::values::PathEntry;
use crate::settings::{ProcSubset, ProtectHome, ProtectProc, ProtectSystem, Settings, Spanned};

/// One step of building the root, in kernel terms.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum MountOp {
    /// The sandbox root: a fresh tmpfs.
    RootTmpfs,
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

/// What is visible below a mount target, as the plan goes.
#[derive(Clone, Debug)]
enum Cover {
    /// A host directory tree: `path` below the target is `source` + rest on the host.
    Host { source: String },
    /// A tmpfs sbx mounted: only what sbx created exists.
    Ours,
    /// An inaccessible inode: nothing below it is visible.
    Hidden,
}

/// Inputs the mount plan needs besides Settings.
pub struct MountInputs<'a> {
    /// State directories (host path = sandbox path), created by the monitor before launch.
    pub state_dirs: &'a [(String, Cause)],
    /// The caller's working directory when it must be writable.
    pub writable_cwd: Option<(String, Cause)>,
    /// The host path of the payload's terminal (`--pty`), bound to /dev/console.
    pub console: Option<String>,
}

struct Planner<'a> {
    host: &'a HostFacts,
    mounts: Vec<Mount>,
    covers: Vec<(String, Cover)>,
    created: BTreeSet<String>,
    finally_readonly: Vec<(String, Cause)>,
}

pub fn plan(s: &Settings, host: &HostFacts, inputs: &MountInputs) -> Result<Vec<Mount>, PlanError> {
    let mut p = Planner {
        host,
        mounts: Vec::new(),
        covers: Vec::new(),
        created: BTreeSet::new(),
        finally_readonly: Vec::new(),
    };
    p.root(s);
    p.home(s)?;
    p.api(s, inputs);
    p.tmp(s);
    p.temporary_file_systems(s)?;
    p.binds(s, inputs)?;
    p.access_paths(s)?;
    p.state_dirs(inputs)?;
    p.kernel(s);
    for (target, cause) in std::mem::take(&mut p.finally_readonly) {
        p.push(MountOp::RemountReadOnly { target }, cause);
    }
    Ok(p.mounts)
}

fn default_cause(directive: &'static str) -> Cause {
    Cause { directive, origin: None }
}

fn cause_of<T>(directive: &'static str, v: &Option<Spanned<T>>) -> Cause {
    Cause { directive, origin: v.as_ref().map(|s| s.origin.clone()) }
}

fn join(base: &str, name: &str) -> String {
    if base == "/" { format!("/{name}") } else { format!("{base}/{name}") }
}

/// `path` relative to `prefix` when `prefix` is a component-wise prefix of it.
fn strip<'p>(path: &'p str, prefix: &str) -> Option<&'p str> {
    if prefix == "/" {
        return Some(path.trim_start_matches('/'));
    }
    let rest = path.strip_prefix(prefix)?;
    if rest.is_empty() { Some("") } else { rest.strip_prefix('/') }
}

fn parent(path: &str) -> &str {
    match path.rfind('/') {
        Some(0) | None => "/",
        Some(i) => &path[..i],
    }
}

impl Planner<'_> {
    fn push(&mut self, op: MountOp, cause: Cause) {
        self.mounts.push(Mount { op, cause });
    }

    fn cover(&mut self, target: &str, cover: Cover) {
        self.covers.push((target.to_string(), cover));
    }

    /// The innermost cover of `path` (the latest among equals) and the rest of the path.
    fn cover_of<'p>(&self, path: &'p str) -> Option<(&Cover, &str, &'p str)> {
        let mut best: Option<(&Cover, &str, &'p str)> = None;
        for (target, cover) in &self.covers {
            if let Some(rest) = strip(path, target) {
                if best.is_none_or(|(_, t, _)| target.len() >= t.len()) {
                    best = Some((cover, target.as_str(), rest));
                }
            }
        }
        best
    }

    /// Whether `path` exists in the sandbox as planned so far; `Some(host path)` when it is
    /// backed by the host.
    fn visible(&self, path: &str) -> Visibility {
        match self.cover_of(path) {
            None => Visibility::Absent,
            Some((Cover::Host { source }, _, rest)) => {
                let hp = if rest.is_empty() { source.clone() } else { join(source, rest) };
                if self.host.path_exists(&hp) { Visibility::Host(hp) } else { Visibility::Absent }
            }
            Some((Cover::Ours, target, _)) => {
                if path == target || self.created.contains(path) {
                    Visibility::Ours
                } else {
                    Visibility::Absent
                }
            }
            Some((Cover::Hidden, target, _)) => {
                if path == target {
                    Visibility::Hidden
                } else {
                    Visibility::Absent
                }
            }
        }
    }

    /// Makes `path` exist as a mountpoint of the given kind, creating it (and its parents)
    /// only inside sbx's own tmpfs mounts.
    fn mountpoint(&mut self, path: &str, kind: FileKind, cause: &Cause) -> Result<(), PlanError> {
        if path == "/" || !matches!(self.visible(path), Visibility::Absent) {
            return Ok(());
        }
        let dir = parent(path);
        self.mountpoint(dir, FileKind::Dir, cause)?;
        match self.cover_of(path) {
            Some((Cover::Ours | Cover::Hidden, _, _)) => {}
            Some((Cover::Host { source }, target, rest)) => {
                let msg = format!(
                    "{path} does not exist in the sandbox and cannot be created there: {target} is the host's {} (create {} on the host, or put the path under a TemporaryFileSystem=)",
                    source,
                    join(source, rest)
                );
                return Err(plan_error(cause, msg));
            }
            None => return Err(plan_error(cause, format!("{path}: no parent mount"))),
        }
        let op = match kind {
            FileKind::Dir => MountOp::Mkdir { path: path.to_string(), mode: 0o755 },
            _ => MountOp::Touch { path: path.to_string() },
        };
        self.push(op, cause.clone());
        self.created.insert(path.to_string());
        Ok(())
    }

    fn bind(
        &mut self,
        source: &str,
        target: &str,
        kind: FileKind,
        readonly: bool,
        cause: Cause,
    ) -> Result<(), PlanError> {
        self.mountpoint(target, kind, &cause)?;
        let op = MountOp::Bind {
            source: source.into(),
            target: target.into(),
            kind,
            readonly,
            recursive: true,
            nosuid_noexec: false,
        };
        self.push(op, cause);
        self.cover(target, Cover::Host { source: source.to_string() });
        Ok(())
    }

    fn tmpfs(&mut self, target: &str, mode: u32, options: &str, readonly: bool, cause: Cause) -> Result<(), PlanError> {
        self.mountpoint(target, FileKind::Dir, &cause)?;
        let op = MountOp::Tmpfs {
            target: target.into(),
            mode,
            options: options.into(),
            nosuid: true,
            nodev: true,
            noexec: false,
        };
        self.push(op, cause.clone());
        self.cover(target, Cover::Ours);
        if readonly {
            self.finally_readonly.push((target.to_string(), cause));
        }
        Ok(())
    }

    fn inaccessible(&mut self, target: &str, kind: FileKind, cause: Cause) {
        self.push(MountOp::Inaccessible { target: target.into(), kind }, cause.clone());
        if kind == FileKind::Dir {
            self.cover(target, Cover::Hidden);
            self.finally_readonly.push((target.to_string(), cause));
        }
    }

    // ---- the directive families, in application order ----------------------------------

    fn root(&mut self, s: &Settings) {
        let cause = cause_of("ProtectSystem", &s.protect_system);
        self.push(MountOp::RootTmpfs, default_cause("sbx root"));
        self.cover("/", Cover::Ours);
        let protect = s.protect_system.as_ref().map_or(ProtectSystem::No, |v| v.value);
        let home = s.protect_home.as_ref().map_or(ProtectHome::No, |v| v.value);
        for entry in self.host.fs.root_entries() {
            let name = host::root_entry_name(&entry).to_string();
            let path = format!("/{name}");
            // Mounted by their own directives below; binding the host's first would leave it
            // reachable under the later mount.
            let replaced = matches!(name.as_str(), "proc" | "sys" | "dev")
                || (name == "tmp" && Settings::flag(&s.private_tmp))
                || (matches!(name.as_str(), "home" | "root") && matches!(home, ProtectHome::Yes | ProtectHome::Tmpfs));
            match entry {
                RootEntry::Symlink { target, .. } => {
                    self.push(MountOp::Symlink { path: path.clone(), target }, cause.clone());
                    self.created.insert(path);
                }
                RootEntry::Dir(_) if replaced => {
                    self.push(MountOp::Mkdir { path: path.clone(), mode: 0o755 }, cause.clone());
                    self.created.insert(path);
                }
                RootEntry::Dir(_) => {
                    let ro = system_readonly(protect, &name);
                    self.push(MountOp::Mkdir { path: path.clone(), mode: 0o755 }, cause.clone());
                    self.created.insert(path.clone());
                    let op = MountOp::Bind {
                        source: path.clone(),
                        target: path.clone(),
                        kind: FileKind::Dir,
                        readonly: ro,
                        recursive: true,
                        nosuid_noexec: false,
                    };
                    self.push(op, cause.clone());
                    self.cover(&path, Cover::Host { source: path.clone() });
                }
                RootEntry::File(_) => {
                    self.push(MountOp::Touch { path: path.clone() }, cause.clone());
                    self.created.insert(path.clone());
                    let ro = protect != ProtectSystem::No;
                    let op = MountOp::Bind {
                        source: path.clone(),
                        target: path.clone(),
                        kind: FileKind::File,
                        readonly: ro,
                        recursive: false,
                        nosuid_noexec: false,
                    };
                    self.push(op, cause.clone());
                }
            }
        }
        self.finally_readonly.push(("/".into(), default_cause("sbx root")));
    }

    fn home(&mut self, s: &Settings) -> Result<(), PlanError> {
        let mode = s.protect_home.as_ref().map_or(ProtectHome::No, |v| v.value);
        let strict = s.protect_system.as_ref().is_some_and(|v| v.value == ProtectSystem::Strict);
        let cause = cause_of("ProtectHome", &s.protect_home);
        for dir in ["/home", "/root", "/run/user"] {
            let Ok(r) = host::resolve(&*self.host.fs, dir) else {
                continue;
            };
            if r.kind != FileKind::Dir {
                continue;
            }
            match mode {
                ProtectHome::Yes => {
                    self.mountpoint(&r.path, FileKind::Dir, &cause)?;
                    self.inaccessible(&r.path, FileKind::Dir, cause.clone());
                }
                ProtectHome::Tmpfs => self.tmpfs(&r.path, 0o755, "", true, cause.clone())?,
                ProtectHome::ReadOnly => self.bind(&r.path, &r.path, FileKind::Dir, true, cause.clone())?,
                ProtectHome::No if strict => self.bind(&r.path, &r.path, FileKind::Dir, false, cause.clone())?,
                ProtectHome::No => {}
            }
        }
        Ok(())
    }

    fn api(&mut self, s: &Settings, inputs: &MountInputs) {
        let hidepid = match s.protect_proc.as_ref().map(|v| v.value) {
            Some(ProtectProc::NoAccess) => Some("noaccess"),
            Some(ProtectProc::Invisible) => Some("invisible"),
            Some(ProtectProc::Ptraceable) => Some("ptraceable"),
            _ => None,
        };
        let subset_pid = s.proc_subset.as_ref().is_some_and(|v| v.value == ProcSubset::Pid);
        let proc_cause = cause_of("ProtectProc", &s.protect_proc);
        self.push(MountOp::Proc { target: "/proc".into(), hidepid, subset_pid }, proc_cause);
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
        };
        self.push(sys, default_cause("sbx /sys (read-only)"));
        self.cover("/sys", Cover::Host { source: "/sys".into() });
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
            };
            self.push(dev, default_cause("sbx /dev (host)"));
            self.cover("/dev", Cover::Host { source: "/dev".into() });
        }
    }

    fn private_dev(&mut self, s: &Settings, console: Option<&str>) {
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

    fn tmp(&mut self, s: &Settings) {
        if !Settings::flag(&s.private_tmp) {
            return;
        }
        let cause = cause_of("PrivateTmp", &s.private_tmp);
        for dir in ["/tmp", "/var/tmp"] {
            if matches!(self.visible(dir), Visibility::Absent) {
                continue;
            }
            let op = MountOp::Tmpfs {
                target: dir.into(),
                mode: 0o1777,
                options: String::new(),
                nosuid: true,
                nodev: true,
                noexec: false,
            };
            self.push(op, cause.clone());
            self.cover(dir, Cover::Ours);
        }
    }

    fn temporary_file_systems(&mut self, s: &Settings) -> Result<(), PlanError> {
        for t in &s.temporary_file_system {
            let cause = Cause { directive: "TemporaryFileSystem", origin: Some(t.origin.clone()) };
            let target = self.sandbox_path(&t.value.path, &cause)?;
            let readonly = t.value.options.iter().any(|o| o == "ro");
            let mode = t
                .value
                .options
                .iter()
                .find_map(|o| o.strip_prefix("mode="))
                .and_then(|m| u32::from_str_radix(m, 8).ok())
                .unwrap_or(0o755);
            let mut nosuid = true;
            let mut nodev = true;
            let mut noexec = false;
            let mut data = Vec::new();
            for o in &t.value.options {
                match o.as_str() {
                    "ro" | "rw" => {}
                    "suid" => nosuid = false,
                    "dev" => nodev = false,
                    "noexec" => noexec = true,
                    "exec" => noexec = false,
                    "nosuid" => nosuid = true,
                    "nodev" => nodev = true,
                    o if o.starts_with("mode=") => {}
                    o => data.push(o.to_string()),
                }
            }
            self.mountpoint(&target, FileKind::Dir, &cause)?;
            let op = MountOp::Tmpfs { target: target.clone(), mode, options: data.join(","), nosuid, nodev, noexec };
            self.push(op, cause.clone());
            self.cover(&target, Cover::Ours);
            if readonly {
                self.finally_readonly.push((target, cause));
            }
        }
        Ok(())
    }

    fn binds(&mut self, s: &Settings, inputs: &MountInputs) -> Result<(), PlanError> {
        if let Some((cwd, cause)) = &inputs.writable_cwd {
            if let Ok(r) = host::resolve(&*self.host.fs, cwd) {
                self.bind(&r.path, &r.path, r.kind, false, cause.clone())?;
            }
        }
        let lists = [("BindPaths", &s.bind_paths, false), ("BindReadOnlyPaths", &s.bind_read_only_paths, true)];
        for (directive, list, readonly) in lists {
            for b in list {
                let cause = Cause { directive, origin: Some(b.origin.clone()) };
                let Some(source) = self.resolve_source(&b.value.source, &cause)? else {
                    continue;
                };
                let target = self.sandbox_path(&b.value.dest, &cause)?;
                self.mountpoint(&target, source.kind, &cause)?;
                let op = MountOp::Bind {
                    source: source.path.clone(),
                    target: target.clone(),
                    kind: source.kind,
                    readonly,
                    recursive: b.value.recursive,
                    nosuid_noexec: false,
                };
                self.push(op, cause);
                self.cover(&target, Cover::Host { source: source.path });
            }
        }
        Ok(())
    }

    /// ReadWritePaths=, ReadOnlyPaths=, InaccessiblePaths=: shorter paths first, so a longer
    /// path overrides a shorter one whatever the order in the profile.
    fn access_paths(&mut self, s: &Settings) -> Result<(), PlanError> {
        let mut all: Vec<(&'static str, &Spanned<PathEntry>)> = Vec::new();
        all.extend(s.read_write_paths.iter().map(|p| ("ReadWritePaths", p)));
        all.extend(s.read_only_paths.iter().map(|p| ("ReadOnlyPaths", p)));
        all.extend(s.inaccessible_paths.iter().map(|p| ("InaccessiblePaths", p)));
        all.sort_by_key(|(_, p)| p.value.path.matches('/').count() - usize::from(p.value.path == "/"));
        for (directive, entry) in all {
            let cause = Cause { directive, origin: Some(entry.origin.clone()) };
            if entry.value.relative_to_root {
                return Err(plan_error(&cause, "the + prefix needs RootDirectory=, which sbx does not support yet"));
            }
            let path = self.sandbox_path(&entry.value.path, &cause)?;
            let visibility = self.visible(&path);
            match (directive, visibility) {
                ("InaccessiblePaths", Visibility::Absent | Visibility::Hidden) => {}
                ("InaccessiblePaths", v) => {
                    let kind = self.kind_in_sandbox(&path, &v);
                    self.inaccessible(&path, kind, cause);
                }
                (_, Visibility::Host(source)) => {
                    let kind = host::resolve(&*self.host.fs, &source).map(|r| r.kind).unwrap_or(FileKind::Dir);
                    let readonly = directive == "ReadOnlyPaths";
                    let op = MountOp::Bind {
                        source: source.clone(),
                        target: path.clone(),
                        kind,
                        readonly,
                        recursive: true,
                        nosuid_noexec: false,
                    };
                    self.push(op, cause);
                    self.cover(&path, Cover::Host { source });
                }
                (_, Visibility::Ours) => {
                    self.push(
                        MountOp::SelfBind { target: path.clone(), readonly: directive == "ReadOnlyPaths" },
                        cause,
                    );
                }
                (_, Visibility::Absent | Visibility::Hidden) if entry.value.ignore_missing => {}
                (_, _) => {
                    let msg = format!(
                        "{path} is not visible in the sandbox (missing on the host, or hidden by another directive such as ProtectHome=); use BindPaths= to bring it in, or prefix it with - to ignore it"
                    );
                    return Err(plan_error(&cause, msg));
                }
            }
        }
        Ok(())
    }

    fn state_dirs(&mut self, inputs: &MountInputs) -> Result<(), PlanError> {
        for (path, cause) in inputs.state_dirs {
            // The monitor creates the host directory before launch, so under a host bind it
            // will exist; under sbx's own tmpfs the mountpoint is created here.
            let under_host = matches!(self.cover_of(path), Some((Cover::Host { .. }, _, _)));
            if !under_host {
                self.mountpoint(path, FileKind::Dir, cause)?;
            }
            let op = MountOp::Bind {
                source: path.clone(),
                target: path.clone(),
                kind: FileKind::Dir,
                readonly: false,
                recursive: false,
                nosuid_noexec: false,
            };
            self.push(op, cause.clone());
            self.cover(path, Cover::Host { source: path.clone() });
        }
        Ok(())
    }

    fn kernel(&mut self, s: &Settings) {
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
                if let Ok(r) = host::resolve(&*self.host.fs, p) {
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

    fn hide_if_present(&mut self, path: &str, subset_pid: bool, cause: &Cause) {
        if subset_pid && path.starts_with("/proc/") {
            return;
        }
        if let Visibility::Host(hp) = self.visible(path) {
            let kind = host::resolve(&*self.host.fs, &hp).map(|r| r.kind).unwrap_or(FileKind::File);
            self.inaccessible(path, kind, cause.clone());
        }
    }

    // ---- helpers --------------------------------------------------------------------------

    /// Where a profile path lands in the sandbox: root-owned host symlinks on its longest
    /// existing prefix are followed (the sandbox mirrors the host's top level); a symlink
    /// anyone else owns is an error.
    fn sandbox_path(&self, path: &str, cause: &Cause) -> Result<String, PlanError> {
        let mut prefix = path.to_string();
        let mut rest: Vec<String> = Vec::new();
        loop {
            match host::resolve(&*self.host.fs, &prefix) {
                Ok(r) => {
                    let mut out = r.path;
                    for c in rest.iter().rev() {
                        out = join(&out, c);
                    }
                    return Ok(out);
                }
                Err(ResolveError::NotFound(_)) => {}
                Err(e) => return Err(plan_error(cause, e.to_string())),
            }
            match prefix.rfind('/') {
                Some(i) if prefix != "/" => {
                    rest.push(prefix[i + 1..].to_string());
                    prefix.truncate(i.max(1));
                }
                _ => return Ok(path.to_string()),
            }
        }
    }

    fn resolve_source(&self, entry: &PathEntry, cause: &Cause) -> Result<Option<host::Resolved>, PlanError> {
        match host::resolve(&*self.host.fs, &entry.path) {
            Ok(r) => Ok(Some(r)),
            Err(ResolveError::NotFound(_)) if entry.ignore_missing => Ok(None),
            Err(ResolveError::NotFound(p)) => Err(plan_error(
                cause,
                format!("{p}: no such file or directory on the host (prefix it with - to ignore it)"),
            )),
            Err(e) => Err(plan_error(cause, e.to_string())),
        }
    }

    fn kind_in_sandbox(&self, path: &str, v: &Visibility) -> FileKind {
        match v {
            Visibility::Host(hp) => host::resolve(&*self.host.fs, hp).map(|r| r.kind).unwrap_or(FileKind::Dir),
            _ => {
                let is_file = self.mounts.iter().any(|m| matches!(&m.op, MountOp::Touch { path: p } if p == path));
                if is_file { FileKind::File } else { FileKind::Dir }
            }
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
enum Visibility {
    Absent,
    Host(String),
    Ours,
    Hidden,
}

fn system_readonly(protect: ProtectSystem, top: &str) -> bool {
    match protect {
        ProtectSystem::No => false,
        ProtectSystem::Strict => true,
        ProtectSystem::Yes => matches!(top, "usr" | "boot" | "efi" | "lib" | "lib64" | "lib32" | "bin" | "sbin"),
        ProtectSystem::Full => {
            matches!(top, "usr" | "boot" | "efi" | "lib" | "lib64" | "lib32" | "bin" | "sbin" | "etc")
        }
    }
}

fn plan_error(cause: &Cause, message: impl Into<String>) -> PlanError {
    match &cause.origin {
        Some(o) => PlanError::directive(cause.directive, o, message),
        None => PlanError::Host(format!("{}: {}", cause.directive, message.into())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::tests::plan_as;

    fn ops(lines: &str) -> Vec<Mount> {
        plan_as(0, lines).unwrap().mounts
    }

    fn binds(mounts: &[Mount]) -> Vec<(String, bool)> {
        mounts
            .iter()
            .filter_map(|m| match &m.op {
                MountOp::Bind { target, readonly, .. } => Some((target.clone(), *readonly)),
                _ => None,
            })
            .collect()
    }

    fn targets_of(mounts: &[Mount], pick: fn(&MountOp) -> Option<&String>) -> Vec<String> {
        mounts.iter().filter_map(|m| pick(&m.op).cloned()).collect()
    }

    #[test]
    fn protect_system_levels() {
        let strict = binds(&ops("ProtectSystem=strict"));
        assert!(strict.contains(&("/etc".into(), true)) && strict.contains(&("/var".into(), true)));
        let full = binds(&ops("ProtectSystem=full"));
        assert!(full.contains(&("/etc".into(), true)) && full.contains(&("/var".into(), false)));
        let yes = binds(&ops("ProtectSystem=yes"));
        assert!(yes.contains(&("/usr".into(), true)) && yes.contains(&("/etc".into(), false)));
        let no = binds(&ops(""));
        assert!(no.iter().filter(|(t, _)| t != "/sys").all(|(_, ro)| !ro));
    }

    #[test]
    fn top_level_symlinks_are_recreated() {
        let m = ops("");
        assert!(m.iter().any(|m| m.op == MountOp::Symlink { path: "/bin".into(), target: "usr/bin".into() }));
    }

    #[test]
    fn hidden_homes_are_never_bound_underneath() {
        let m = ops("ProtectHome=yes\nProtectSystem=strict");
        assert!(!binds(&m).iter().any(|(t, _)| t == "/home" || t == "/root"));
        let hidden = targets_of(&m, |op| match op {
            MountOp::Inaccessible { target, .. } => Some(target),
            _ => None,
        });
        assert_eq!(hidden, ["/home", "/root", "/run/user"]);
    }

    #[test]
    fn a_longer_path_overrides_a_shorter_one_whatever_the_order() {
        let m = ops("ProtectSystem=strict\nReadWritePaths=/srv/www\nReadOnlyPaths=/srv");
        let b = binds(&m);
        let ro = b.iter().position(|x| x == &("/srv".to_string(), true)).unwrap();
        let rw = b.iter().position(|x| x == &("/srv/www".to_string(), false)).unwrap();
        assert!(ro < rw, "{b:?}");
    }

    #[test]
    fn profile_paths_follow_root_owned_symlinks() {
        let m = ops("ProtectKernelModules=yes");
        assert!(
            m.iter().any(|m| matches!(&m.op, MountOp::Inaccessible { target, .. } if target == "/usr/lib/modules"))
        );
    }

    #[test]
    fn missing_paths_are_errors_unless_prefixed() {
        let e = plan_as(0, "ReadOnlyPaths=/nope").unwrap_err().to_string();
        assert!(e.contains("ReadOnlyPaths") && e.contains("t.conf:2") && e.contains("prefix it with -"), "{e}");
        assert!(plan_as(0, "ReadOnlyPaths=-/nope\nInaccessiblePaths=/nope").is_ok());
        let e = plan_as(0, "BindPaths=/nope:/srv/x").unwrap_err().to_string();
        assert!(e.contains("BindPaths") && e.contains("no such file"), "{e}");
    }

    #[test]
    fn mountpoints_are_never_created_on_the_host() {
        let e = plan_as(0, "BindPaths=/etc:/srv/new").unwrap_err().to_string();
        assert!(e.contains("cannot be created there") && e.contains("TemporaryFileSystem="), "{e}");
        let m = ops("TemporaryFileSystem=/opt\nBindPaths=/etc:/opt/etc");
        assert!(m.iter().any(|m| m.op == MountOp::Mkdir { path: "/opt/etc".into(), mode: 0o755 }));
    }

    #[test]
    fn paths_hidden_by_protect_home_are_not_exposed_by_read_paths() {
        let e = plan_as(0, "ProtectHome=tmpfs\nReadOnlyPaths=/home/alice").unwrap_err().to_string();
        assert!(e.contains("not visible") && e.contains("BindPaths="), "{e}");
        let m = ops("ProtectHome=tmpfs\nBindReadOnlyPaths=/home/alice");
        assert!(binds(&m).contains(&("/home/alice".into(), true)));
    }

    #[test]
    fn untrusted_symlinks_are_refused() {
        let mut host = crate::host::fake::host(0);
        let mut fs = crate::host::fake::FakeFs::debian();
        fs.nodes.insert("/srv/www/link".into(), crate::host::Node::Symlink { owner: 1000, target: "/etc".into() });
        host.fs = Box::new(fs);
        let s = crate::plan::tests::settings("ReadWritePaths=/srv/www/link");
        let inv = crate::plan::Invocation { argv: vec!["true".into()], name: "a".into(), pty: None };
        let e = crate::plan::build(&s, &host, &inv).unwrap_err().to_string();
        assert!(e.contains("owned by uid 1000"), "{e}");
    }

    #[test]
    fn read_only_remounts_come_last_and_every_op_has_a_cause() {
        let m = ops("ProtectHome=tmpfs\nPrivateDevices=yes\nTemporaryFileSystem=/opt:ro");
        let first_remount = m.iter().position(|m| matches!(m.op, MountOp::RemountReadOnly { .. })).unwrap();
        assert!(m[first_remount..].iter().all(|m| matches!(m.op, MountOp::RemountReadOnly { .. })));
        let remounted = targets_of(&m, |op| match op {
            MountOp::RemountReadOnly { target } => Some(target),
            _ => None,
        });
        for t in ["/", "/home", "/dev", "/opt"] {
            assert!(remounted.contains(&t.to_string()), "{t} not read-only: {remounted:?}");
        }
        assert!(m.iter().all(|m| !m.cause.directive.is_empty()));
    }

    #[test]
    fn kernel_tunables_follow_proc_subset() {
        let m = ops("ProtectKernelTunables=yes\nProcSubset=pid");
        assert!(!m.iter().any(|m| matches!(&m.op, MountOp::SelfBind { target, .. } if target.starts_with("/proc"))));
    }
}

#[cfg(test)]
mod properties {
    use proptest::prelude::*;

    use super::*;
    use crate::plan::tests::plan_as;

    const LINES: &[&str] = &[
        "ProtectSystem=strict",
        "ProtectSystem=full",
        "ProtectHome=yes",
        "ProtectHome=tmpfs",
        "ProtectHome=read-only",
        "PrivateTmp=yes",
        "PrivateDevices=yes",
        "PrivateIPC=yes",
        "ProtectKernelTunables=yes",
        "ProtectKernelModules=yes",
        "ProtectKernelLogs=yes",
        "ProcSubset=pid",
        "TemporaryFileSystem=/opt",
        "TemporaryFileSystem=/srv:ro",
        "BindPaths=/etc:/opt/etc",
        "BindReadOnlyPaths=/home/alice",
        "ReadOnlyPaths=-/srv/www",
        "ReadWritePaths=-/var/lib",
        "InaccessiblePaths=-/etc",
        "StateDirectory=app",
    ];

    proptest! {
        /// Whatever the combination: a mountpoint is created only inside a tmpfs sbx mounted
        /// (or the root), after it; read-only remounts come last.
        #[test]
        fn mountpoints_are_created_only_in_sbx_tmpfs(picks in proptest::collection::vec(0..LINES.len(), 0..8)) {
            let text: Vec<&str> = picks.iter().map(|i| LINES[*i]).collect();
            let Ok(plan) = plan_as(0, &text.join("\n")) else { return Ok(()) };
            let mut ours: Vec<String> = vec!["/".into()];
            let mut seen_remount = false;
            for m in &plan.mounts {
                match &m.op {
                    MountOp::Mkdir { path, .. } | MountOp::Touch { path } | MountOp::Symlink { path, .. } => {
                        let parent = parent(path);
                        prop_assert!(ours.iter().any(|o| o == parent), "{path} created outside sbx's own mounts: {text:?}");
                        if matches!(m.op, MountOp::Mkdir { .. }) { ours.push(path.clone()); }
                    }
                    MountOp::Tmpfs { target, .. } | MountOp::Inaccessible { target, kind: FileKind::Dir } => ours.push(target.clone()),
                    MountOp::Bind { target, .. } => ours.retain(|o| strip(o, target).is_none()),
                    _ => {}
                }
                if matches!(m.op, MountOp::RemountReadOnly { .. }) { seen_remount = true; }
                else { prop_assert!(!seen_remount, "an operation after the read-only remounts: {text:?}"); }
            }
        }
    }
}
