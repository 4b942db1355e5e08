//! Each directive family as mount operations, in the order `plan` applies them: the root
//! and the host's top level, home directories, (the API file systems: api.rs), temporary
//! directories, TemporaryFileSystem=, explicit binds, access paths, state directories, (the
//! kernel protections: api.rs).
//!
//! Invariant: a family only appends operations through the planner's primitives, so the
//! visibility model stays true; nothing here reads the host except through `HostFacts`.

use crate::error::PlanError;
use crate::host::{self, FileKind, RootEntry};
use crate::profile::values::PathEntry;
use crate::settings::{ProtectHome, ProtectSystem, Settings, Spanned};

use super::planner::{Cover, Planner, Visibility, cause_of, default_cause, plan_error};
use super::{Cause, MountInputs, MountOp};

impl Planner<'_> {
    /// RootDirectory=: the root is that host directory, bound; ProtectSystem= makes all of it
    /// (strict) or its system directories (yes, full) read-only.
    pub(super) fn root_directory(&mut self, s: &Settings) -> Result<bool, PlanError> {
        let Some(rd) = &s.root_directory else { return Ok(false) };
        let cause = cause_of("RootDirectory", &s.root_directory);
        let dir = host::resolve(&*self.host.fs, &rd.value).map_err(|e| plan_error(&cause, e.to_string()))?;
        if dir.kind != FileKind::Dir {
            return Err(plan_error(&cause, format!("{} is not a directory", dir.path)));
        }
        let protect = s.protect_system.as_ref().map_or(ProtectSystem::No, |v| v.value);
        self.push(MountOp::RootBind { source: dir.path.clone(), readonly: protect == ProtectSystem::Strict }, cause);
        self.cover("/", Cover::Host { source: dir.path.clone() });
        self.root = dir.path;
        if matches!(protect, ProtectSystem::Yes | ProtectSystem::Full) {
            let pcause = cause_of("ProtectSystem", &s.protect_system);
            for name in ["usr", "boot", "efi", "lib", "lib64", "lib32", "bin", "sbin", "etc"] {
                if !system_readonly(protect, name) {
                    continue;
                }
                let Ok(r) = self.resolve_in_sandbox(&format!("/{name}")) else { continue };
                if r.kind == FileKind::Dir && r.path == format!("/{name}") {
                    self.bind(&format!("{}/{name}", self.root), &r.path, FileKind::Dir, true, pcause.clone())?;
                }
            }
        }
        Ok(true)
    }

    /// The host's root as the sandbox root: its mount cloned with every mount below it, all
    /// read-only. Below it nothing can be created, so a mountpoint the host lacks is a plan
    /// error here (see `mounts::plan`, which then mirrors the root instead).
    pub(super) fn host_root(&mut self, s: &Settings) {
        let cause = cause_of("ProtectSystem", &s.protect_system);
        self.push(MountOp::RootBind { source: "/".into(), readonly: true }, cause);
        self.cover("/", Cover::Host { source: "/".into() });
        self.host_clone = true;
    }

    pub(super) fn root(&mut self, s: &Settings) {
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
                        idmap: false,
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
                        idmap: false,
                    };
                    self.push(op, cause.clone());
                }
            }
        }
        self.finally_readonly.push(("/".into(), default_cause("sbx root")));
    }

    pub(super) fn home(&mut self, s: &Settings) -> Result<(), PlanError> {
        let mode = s.protect_home.as_ref().map_or(ProtectHome::No, |v| v.value);
        let strict = s.protect_system.as_ref().is_some_and(|v| v.value == ProtectSystem::Strict);
        let cause = cause_of("ProtectHome", &s.protect_home);
        for dir in ["/home", "/root", "/run/user"] {
            let Ok(r) = self.resolve_in_sandbox(dir) else {
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

    pub(super) fn tmp(&mut self, s: &Settings) -> Result<(), PlanError> {
        if !Settings::flag(&s.private_tmp) {
            return Ok(());
        }
        let cause = cause_of("PrivateTmp", &s.private_tmp);
        for dir in ["/tmp", "/var/tmp"] {
            if dir == "/tmp" {
                self.mountpoint(dir, FileKind::Dir, &cause)?;
            } else if matches!(self.visible(dir), Visibility::Absent) {
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
        Ok(())
    }

    pub(super) fn temporary_file_systems(&mut self, s: &Settings) -> Result<(), PlanError> {
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

    pub(super) fn binds(&mut self, s: &Settings, inputs: &MountInputs) -> Result<(), PlanError> {
        // The caller's working directory, resolved and checked (`plan::working_directory`);
        // under RootDirectory= it has no place.
        if let Some((cwd, cause)) = inputs.writable_cwd.as_ref().filter(|_| self.root == "/") {
            self.bind(cwd, cwd, FileKind::Dir, false, cause.clone())?;
            if inputs.idmap_cwd.is_some() {
                // Not recursive: the kernel idmaps one mount; what is mounted below the working
                // directory is left out rather than shown with the host's ids.
                if let Some(super::Mount { op: MountOp::Bind { idmap, recursive, .. }, .. }) = self.mounts.last_mut() {
                    *idmap = true;
                    *recursive = false;
                }
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
                    idmap: false,
                };
                self.push(op, cause);
                self.cover(&target, Cover::Host { source: source.path });
            }
        }
        Ok(())
    }

    /// ReadWritePaths=, ReadOnlyPaths=, InaccessiblePaths=: shorter paths first, so a longer
    /// path overrides a shorter one whatever the order in the profile.
    pub(super) fn access_paths(&mut self, s: &Settings) -> Result<(), PlanError> {
        let mut all: Vec<(&'static str, &Spanned<PathEntry>)> = Vec::new();
        all.extend(s.read_write_paths.iter().map(|p| ("ReadWritePaths", p)));
        all.extend(s.read_only_paths.iter().map(|p| ("ReadOnlyPaths", p)));
        all.extend(s.inaccessible_paths.iter().map(|p| ("InaccessiblePaths", p)));
        all.sort_by_key(|(_, p)| p.value.path.matches('/').count() - usize::from(p.value.path == "/"));
        for (directive, entry) in all {
            let cause = Cause { directive, origin: Some(entry.origin.clone()) };
            // systemd: a path is the host's unless prefixed with +, which makes it relative to
            // RootDirectory=; a host path outside the root is not in the sandbox at all.
            let sandbox = if entry.value.relative_to_root {
                Some(entry.value.path.clone())
            } else {
                self.host_to_sandbox(&entry.value.path)
            };
            let visibility = match &sandbox {
                Some(p) => {
                    let p = self.sandbox_path(p, &cause)?;
                    let v = self.visible(&p);
                    (p, v)
                }
                None => (entry.value.path.clone(), Visibility::Absent),
            };
            let (path, visibility) = visibility;
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
                        idmap: false,
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

    pub(super) fn state_dirs(&mut self, inputs: &MountInputs) -> Result<(), PlanError> {
        for d in inputs.state_dirs {
            let target = match &d.private_parent {
                None => d.path.clone(),
                Some(parent) => {
                    // Only this service's part of private/ is visible: a tmpfs over it (once),
                    // then its own directory, reached through the host's symlink at `path`.
                    if !self.mounts.iter().any(|m| matches!(&m.op, MountOp::Tmpfs { target, .. } if target == parent)) {
                        self.host_made_mountpoint(parent, &d.cause)?;
                        self.tmpfs(parent, 0o755, "", true, d.cause.clone())?;
                    }
                    format!("{parent}/{}", d.host_path.rsplit('/').next().unwrap_or_default())
                }
            };
            if d.private_parent.is_some() {
                self.mountpoint(&target, FileKind::Dir, &d.cause)?;
            } else {
                self.host_made_mountpoint(&target, &d.cause)?;
            }
            let op = MountOp::Bind {
                source: d.host_path.clone(),
                target: target.clone(),
                kind: FileKind::Dir,
                readonly: false,
                recursive: false,
                nosuid_noexec: false,
                idmap: false,
            };
            self.push(op, d.cause.clone());
            self.cover(&target, Cover::Host { source: d.host_path.clone() });
        }
        Ok(())
    }

    /// A mountpoint the monitor creates on the host before launch: where the sandbox shows
    /// the host's own tree it will exist; elsewhere it must be made here or already exist.
    fn host_made_mountpoint(&mut self, path: &str, cause: &Cause) -> Result<(), PlanError> {
        let shows_itself = matches!(self.cover_of(path), Some((Cover::Host { source }, target, _)) if source == target);
        if shows_itself { Ok(()) } else { self.mountpoint(path, FileKind::Dir, cause) }
    }
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
