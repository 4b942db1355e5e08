//! State directories (RuntimeDirectory= and its four siblings): where they live on the host,
//! who owns them, and the environment variables that name them.
//!
//! Invariant: as root they live under /run, /var/lib, /var/cache, /var/log and /etc and belong
//! to User=; rootless under the caller's XDG directories, as for systemd's user services.
//! The same path is used on the host and in the sandbox. Only RuntimeDirectory= is removed
//! at the end of a run. As root, a directory that already exists and belongs to someone else
//! (say /run/user, for a command named `user` under `RuntimeDirectory=%N`) is refused, never
//! handed over or removed; a transient uid (DynamicUser=, HostRoot=no) may take over one of
//! an earlier transient uid, as systemd's do.

use serde::Serialize;

use crate::error::PlanError;
use crate::host::HostFacts;
use crate::plan::ids::Identity;
use crate::plan::mounts::Cause;
use crate::settings::{Settings, StateKind};

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct StateDir {
    pub kind: StateKind,
    /// Where the payload sees it (and the name in $STATE_DIRECTORY and friends).
    pub path: String,
    /// Where it lives on the host: `path`, or under `private/` with DynamicUser=.
    pub host_path: String,
    /// With DynamicUser=: the host's mode-0700 `private` directory this one lives in; `path`
    /// is then a symlink to it on the host, and inside only this service's part is visible.
    pub private_parent: Option<String>,
    pub mode: u32,
    /// Host ids to own the directory (root mode only; rootless it is the caller's).
    pub owner: Option<(u32, u32)>,
    pub remove_at_exit: bool,
    #[serde(skip)]
    pub cause: Cause,
}

pub fn plan(s: &Settings, host: &HostFacts, id: &Identity) -> Result<Vec<StateDir>, PlanError> {
    let mut out = Vec::new();
    for kind in StateKind::ALL {
        let names = &s.state_dirs[kind.index()];
        let Some(first) = names.first() else { continue };
        let base = base_dir(kind, host).map_err(|m| PlanError::directive(kind.directive(), &first.origin, m))?;
        let mode = s.state_dir_modes[kind.index()].as_ref().map_or(0o755, |m| m.value);
        // systemd keeps a transient user's state, cache and logs under private/ so no other
        // user can reach them once the uid is reused; runtime and configuration stay put.
        let private = id.dynamic && matches!(kind, StateKind::State | StateKind::Cache | StateKind::Logs);
        for name in names {
            let path = format!("{base}/{}", name.value);
            let host_path = if private { format!("{base}/private/{}", name.value) } else { path.clone() };
            if host.is_root() {
                claimable(kind, &name.origin, &host_path, host, id)?;
            }
            out.push(StateDir {
                kind,
                host_path,
                private_parent: private.then(|| format!("{base}/private")),
                path,
                mode,
                owner: host.is_root().then_some(id.host_id.map_or((id.uid, id.gid), |x| (x, x))),
                remove_at_exit: kind == StateKind::Runtime,
                cause: Cause { directive: kind.directive(), origin: Some(name.origin.clone()) },
            });
        }
    }
    Ok(out)
}

/// As root: an existing directory at `path` may become the payload's only if it is already
/// the payload's host uid's, or (for a transient uid) an earlier transient uid's.
fn claimable(
    kind: StateKind,
    origin: &crate::profile::Origin,
    path: &str,
    host: &HostFacts,
    id: &Identity,
) -> Result<(), PlanError> {
    use crate::plan::dynamic_user::{FIRST_UID, LAST_UID};
    let Some(owner) = host.fs.owner(path) else { return Ok(()) };
    let payload = id.host_id.unwrap_or(id.uid);
    let transient = id.dynamic || id.host_id.is_some();
    if owner == payload || (transient && (FIRST_UID..=LAST_UID).contains(&owner)) {
        return Ok(());
    }
    let fate = if kind == StateKind::Runtime { "given to it and removed when the run ends" } else { "given to it" };
    Err(PlanError::directive(
        kind.directive(),
        origin,
        format!(
            "{path} already exists and belongs to uid {owner}, not to the payload's uid {payload}; it would be {fate}; choose another name (with RuntimeDirectory=%N and friends: sbx run --name NAME), or give the directory to that uid first"
        ),
    ))
}

/// The base directory of a family: systemd's system paths as root, XDG paths rootless.
pub fn base_dir(kind: StateKind, host: &HostFacts) -> Result<String, String> {
    if host.is_root() {
        return Ok(match kind {
            StateKind::Runtime => "/run",
            StateKind::State => "/var/lib",
            StateKind::Cache => "/var/cache",
            StateKind::Logs => "/var/log",
            StateKind::Configuration => "/etc",
        }
        .to_string());
    }
    let env = |k: &str| host.env.get(k).filter(|v| v.starts_with('/')).cloned();
    let home = host.caller().home;
    let state = env("XDG_STATE_HOME").unwrap_or_else(|| format!("{home}/.local/state"));
    Ok(match kind {
        StateKind::Runtime => env("XDG_RUNTIME_DIR")
            .ok_or("$XDG_RUNTIME_DIR is not set, so a rootless run has no runtime directory base; set it (usually /run/user/UID)")?,
        StateKind::State => state,
        StateKind::Cache => env("XDG_CACHE_HOME").unwrap_or_else(|| format!("{home}/.cache")),
        StateKind::Logs => format!("{state}/log"),
        StateKind::Configuration => env("XDG_CONFIG_HOME").unwrap_or_else(|| format!("{home}/.config")),
    })
}

#[cfg(test)]
mod claim_tests {
    use crate::host::fake;
    use crate::plan::tests::settings;
    use crate::plan::{Invocation, build};

    fn plan_with(lines: &str, existing: Option<(&str, u32)>) -> Result<(), String> {
        let mut host = fake::host(0);
        let mut fs = fake::FakeFs::debian();
        if let Some((path, owner)) = existing {
            fs.nodes.insert(path.into(), crate::host::Node::Dir);
            fs.owners.insert(path.into(), owner);
        }
        host.fs = Box::new(fs);
        build(&settings(lines), &host, &Invocation::new(vec!["true".into()], "app"))
            .map(drop)
            .map_err(|e| e.to_string())
    }

    #[test]
    fn someone_elses_directory_is_never_taken_over() {
        // /run/user is root's: a runtime directory named `user` would hand it to www-data and
        // remove it at the end.
        let e = plan_with("User=www-data\nRuntimeDirectory=user", None).unwrap_err();
        assert!(e.contains("/run/user already exists and belongs to uid 0") && e.contains("--name"), "{e}");
        let e = plan_with("User=www-data\nLogsDirectory=apt", Some(("/var/log/apt", 0))).unwrap_err();
        assert!(e.contains("LogsDirectory") && e.contains("given to it"), "{e}");
        // The payload's own, or none yet: fine.
        assert!(plan_with("User=www-data\nLogsDirectory=web", Some(("/var/log/web", 33))).is_ok());
        assert!(plan_with("User=www-data\nRuntimeDirectory=fresh", None).is_ok());
        // A transient uid takes over an earlier transient uid's directory, as systemd does.
        assert!(plan_with("DynamicUser=yes\nRuntimeDirectory=app", Some(("/run/app", 61500))).is_ok());
        assert!(plan_with("DynamicUser=yes\nRuntimeDirectory=app", Some(("/run/app", 1000))).is_err());
    }
}
