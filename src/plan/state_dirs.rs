//! State directories (RuntimeDirectory= and its four siblings): where they live on the host,
//! who owns them, and the environment variables that name them.
//!
//! Invariant: as root they live under /run, /var/lib, /var/cache, /var/log and /etc and belong
//! to User=; rootless under the caller's XDG directories, as for systemd's user services.
//! The same path is used on the host and in the sandbox. Only RuntimeDirectory= is removed
//! at the end of a run.

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
            out.push(StateDir {
                kind,
                host_path: if private { format!("{base}/private/{}", name.value) } else { path.clone() },
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
