//! Loading profiles into Settings for any command: search, parse, specifiers, merge.
//!
//! Invariant: warnings are printed once, here, with file:line; errors are returned, all of
//! them at once.

use crate::error::Error;
use crate::host::HostFacts;
use crate::plan::state_dirs::base_dir;
use crate::profile::specifiers::SpecifierContext;
use crate::profile::{Assignment, load};
use crate::settings::{self, Settings, StateKind};

pub struct Resolved {
    pub settings: Settings,
    pub loaded: load::Loaded,
    /// What the specifiers expanded to.
    pub specifiers: SpecifierContext,
}

pub fn resolve(profiles: &[String], overrides: &[String], name: &str, host: &HostFacts) -> Result<Resolved, Error> {
    resolve_loaded(load::load(profiles, overrides)?, name, host)
}

/// [`resolve`] for assignments already loaded (a unit file and what comes after it).
pub fn resolve_loaded(loaded: load::Loaded, name: &str, host: &HostFacts) -> Result<Resolved, Error> {
    for w in &loaded.warnings {
        eprintln!("sbx: warning: {}: {}", w.origin, w.message);
    }
    let ctx = specifier_context(&loaded.assignments, host, name);
    let applied = settings::apply(&loaded.assignments, &ctx).map_err(Error::Profiles)?;
    for w in &applied.warnings {
        eprintln!("sbx: warning: {}: {}", w.origin, w.message);
    }
    Ok(Resolved { settings: applied.settings, loaded, specifiers: ctx })
}

/// The last raw value of a key, honouring empty resets.
fn last_value<'a>(assignments: &'a [Assignment], key: &str) -> Option<&'a str> {
    assignments.iter().rev().find(|a| a.key == key).map(|a| a.value.as_str()).filter(|v| !v.is_empty())
}

/// Specifiers describe the payload's user (User= when set, otherwise who runs sbx) and the
/// directory bases of the mode sbx runs in.
fn specifier_context(assignments: &[Assignment], host: &HostFacts, name: &str) -> SpecifierContext {
    let account = last_value(assignments, "User")
        .and_then(|u| {
            host.users
                .user_by_name(u)
                .cloned()
                .or_else(|| u.parse().ok().and_then(|id| host.users.user_by_uid(id).cloned()))
        })
        .unwrap_or_else(|| {
            if host.is_root() {
                host.users.user_by_uid(0).cloned().unwrap_or_else(|| host.caller())
            } else {
                host.caller()
            }
        });
    let gid = last_value(assignments, "Group")
        .and_then(|g| host.users.gid_by_name(g).or_else(|| g.parse().ok()))
        .unwrap_or(account.gid);
    let base = |k| base_dir(k, host).unwrap_or_default();
    SpecifierContext {
        unit_full: format!("{name}.service"),
        unit_name: name.to_string(),
        user: account.name.clone(),
        uid: account.uid,
        group: host.users.group_name(gid).map_or_else(|| gid.to_string(), str::to_string),
        gid,
        home: account.home.clone(),
        shell: account.shell.clone(),
        runtime_dir: base(StateKind::Runtime),
        state_dir: base(StateKind::State),
        cache_dir: base(StateKind::Cache),
        logs_dir: base(StateKind::Logs),
        config_dir: base(StateKind::Configuration),
        host_name: host.hostname.clone(),
        machine_id: host.machine_id.clone(),
    }
}

/// The profiles to use: the given ones, or the built-in default.
pub fn profiles_or_default(profiles: &[String]) -> Vec<String> {
    if profiles.is_empty() { vec!["default".to_string()] } else { profiles.to_vec() }
}
