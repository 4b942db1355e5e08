//! The Plan: everything the sandbox will do, resolved before anything is created.
//!
//! Invariant: `build` reads only Settings, HostFacts and the command line; every error a
//! profile can cause surfaces here, before any fork. The Plan is in kernel terms
//! (namespaces, id maps, mounts, capability sets, rlimits), printable with `--dry-run`, and
//! `launch` only walks it.

pub mod caps;
pub mod exec;
pub mod ids;
pub mod mounts;
pub mod state_dirs;

use serde::Serialize;

use crate::error::PlanError;
use crate::host::HostFacts;
use crate::settings::Settings;

/// What the command line adds to the profile.
#[derive(Clone, Debug)]
pub struct Invocation {
    pub argv: Vec<String>,
    /// The unit-like name (%N); the basename of the command unless `--name` was given.
    pub name: String,
    pub pty: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    Rootless,
    Root,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Plan {
    pub name: String,
    pub mode: Mode,
    pub namespaces: ids::Namespaces,
    pub id_map: Option<ids::IdMap>,
    pub identity: ids::Identity,
    pub mounts: Vec<mounts::Mount>,
    pub loopback_up: bool,
    pub caps: caps::CapPlan,
    pub state_dirs: Vec<state_dirs::StateDir>,
    pub exec: exec::ExecPlan,
    pub pty: bool,
}

pub fn build(s: &Settings, host: &HostFacts, inv: &Invocation) -> Result<Plan, PlanError> {
    if inv.argv.is_empty() {
        return Err(PlanError::Host("no command given".into()));
    }
    let namespaces = ids::namespaces(s, host);
    let identity = ids::identity(s, host)?;
    let id_map = ids::id_map(&namespaces, &identity, host);
    let caps = caps::plan(s, &namespaces, host)?;
    let state_dirs = state_dirs::plan(s, host, &identity)?;
    let exec = exec::plan(s, host, &identity, &inv.argv, &state_dirs)?;
    let writable_cwd = Settings::flag(&s.writable_working_directory)
        .then(|| host.cwd.clone())
        .flatten()
        .map(|cwd| (cwd, mounts::Cause { directive: "WritableWorkingDirectory", origin: s.writable_working_directory.as_ref().map(|v| v.origin.clone()) }));
    let state_binds: Vec<(String, mounts::Cause)> = state_dirs.iter().map(|d| (d.path.clone(), d.cause.clone())).collect();
    let inputs = mounts::MountInputs { state_dirs: &state_binds, writable_cwd };
    let mounts = mounts::plan(s, host, &inputs)?;
    Ok(Plan {
        name: inv.name.clone(),
        mode: if host.is_root() { Mode::Root } else { Mode::Rootless },
        loopback_up: namespaces.net,
        namespaces,
        id_map,
        identity,
        mounts,
        caps,
        state_dirs,
        exec,
        pty: inv.pty,
    })
}
