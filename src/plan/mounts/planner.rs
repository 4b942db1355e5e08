//! The planner's model of the sandbox as the mount list grows: which mount covers a path
//! (a host tree, a tmpfs of sbx's own, or an inaccessible inode), whether a path is visible,
//! and where a mountpoint may be created.
//!
//! Invariant: a mountpoint is created only where sbx's own tmpfs covers it; under a host bind
//! a missing path is a plan error naming the host path, never a write to the host.

use std::collections::BTreeSet;

use crate::error::PlanError;
use crate::host::{self, FileKind, HostFacts, ResolveError};
use crate::profile::values::PathEntry;
use crate::settings::Spanned;

use super::{Cause, Mount, MountOp};

/// What is visible below a mount target, as the plan goes.
#[derive(Clone, Debug)]
pub(super) enum Cover {
    /// A host directory tree: `path` below the target is `source` + rest on the host.
    Host { source: String },
    /// A tmpfs sbx mounted: only what sbx created exists.
    Ours,
    /// An inaccessible inode: nothing below it is visible.
    Hidden,
}

pub(super) struct Planner<'a> {
    pub(super) host: &'a HostFacts,
    /// The host directory the sandbox's `/` shows: "/" (a tmpfs mirroring the host's top
    /// level), or RootDirectory=.
    pub(super) root: String,
    pub(super) mounts: Vec<Mount>,
    pub(super) covers: Vec<(String, Cover)>,
    pub(super) created: BTreeSet<String>,
    pub(super) finally_readonly: Vec<(String, Cause)>,
    /// The root is the host's, cloned read-only with everything below it (`host_root`): its
    /// /sys is already the host's, read-only.
    pub(super) host_clone: bool,
}

pub(super) fn default_cause(directive: &'static str) -> Cause {
    Cause { directive, origin: None }
}

pub(super) fn cause_of<T>(directive: &'static str, v: &Option<Spanned<T>>) -> Cause {
    Cause { directive, origin: v.as_ref().map(|s| s.origin.clone()) }
}

pub(super) fn join(base: &str, name: &str) -> String {
    if base == "/" { format!("/{name}") } else { format!("{base}/{name}") }
}

/// `path` relative to `prefix` when `prefix` is a component-wise prefix of it.
pub(super) fn strip<'p>(path: &'p str, prefix: &str) -> Option<&'p str> {
    if prefix == "/" {
        return Some(path.trim_start_matches('/'));
    }
    let rest = path.strip_prefix(prefix)?;
    if rest.is_empty() { Some("") } else { rest.strip_prefix('/') }
}

pub(super) fn parent(path: &str) -> &str {
    match path.rfind('/') {
        Some(0) | None => "/",
        Some(i) => &path[..i],
    }
}

impl<'a> Planner<'a> {
    pub(super) fn new(host: &'a HostFacts) -> Self {
        Planner {
            host,
            root: "/".into(),
            mounts: Vec::new(),
            covers: Vec::new(),
            created: BTreeSet::new(),
            finally_readonly: Vec::new(),
            host_clone: false,
        }
    }
}

impl Planner<'_> {
    pub(super) fn push(&mut self, op: MountOp, cause: Cause) {
        self.mounts.push(Mount { op, cause });
    }

    pub(super) fn cover(&mut self, target: &str, cover: Cover) {
        self.covers.push((target.to_string(), cover));
    }

    /// The innermost cover of `path` (the latest among equals) and the rest of the path.
    pub(super) fn cover_of<'p>(&self, path: &'p str) -> Option<(&Cover, &str, &'p str)> {
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
    pub(super) fn visible(&self, path: &str) -> Visibility {
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
    pub(super) fn mountpoint(&mut self, path: &str, kind: FileKind, cause: &Cause) -> Result<(), PlanError> {
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

    pub(super) fn bind(
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
            idmap: false,
        };
        self.push(op, cause);
        self.cover(target, Cover::Host { source: source.to_string() });
        Ok(())
    }

    pub(super) fn tmpfs(
        &mut self,
        target: &str,
        mode: u32,
        options: &str,
        readonly: bool,
        cause: Cause,
    ) -> Result<(), PlanError> {
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

    pub(super) fn inaccessible(&mut self, target: &str, kind: FileKind, cause: Cause) {
        self.push(MountOp::Inaccessible { target: target.into(), kind }, cause.clone());
        if kind == FileKind::Dir {
            self.cover(target, Cover::Hidden);
            self.finally_readonly.push((target.to_string(), cause));
        }
    }

    /// Where a profile path lands in the sandbox: root-owned host symlinks on its longest
    /// existing prefix are followed (the sandbox mirrors the host's top level); a symlink
    /// anyone else owns is an error.
    pub(super) fn sandbox_path(&self, path: &str, cause: &Cause) -> Result<String, PlanError> {
        let mut prefix = path.to_string();
        let mut rest: Vec<String> = Vec::new();
        loop {
            match self.resolve_in_sandbox(&prefix) {
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

    /// A sandbox path resolved as the root shows it (symlinks inside RootDirectory= stay
    /// inside it); the result is the sandbox path.
    pub(super) fn resolve_in_sandbox(&self, path: &str) -> Result<host::Resolved, ResolveError> {
        let r = host::resolve_in(&*self.host.fs, &self.root, path)?;
        let inside = strip(&r.path, &self.root).map_or_else(|| "/".to_string(), |rest| format!("/{rest}"));
        Ok(host::Resolved { path: inside, kind: r.kind })
    }

    /// The sandbox path a host path lands on under RootDirectory=, if it is inside the root.
    pub(super) fn host_to_sandbox(&self, host_path: &str) -> Option<String> {
        strip(host_path, &self.root).map(|rest| format!("/{rest}"))
    }

    pub(super) fn resolve_source(&self, entry: &PathEntry, cause: &Cause) -> Result<Option<host::Resolved>, PlanError> {
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

    pub(super) fn kind_in_sandbox(&self, path: &str, v: &Visibility) -> FileKind {
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
pub(super) enum Visibility {
    Absent,
    Host(String),
    Ours,
    Hidden,
}

pub(super) fn plan_error(cause: &Cause, message: impl Into<String>) -> PlanError {
    match &cause.origin {
        Some(o) => PlanError::directive(cause.directive, o, message),
        None => PlanError::Host(format!("{}: {}", cause.directive, message.into())),
    }
}
