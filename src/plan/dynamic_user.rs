//! DynamicUser=: a transient user for the run, as systemd allocates it, and the sandbox it
//! implies.
//!
//! Invariant: only as root (a rootless sandbox can map just the caller's own uid); the uid is
//! in systemd's range 61184–65519, derived from the name so a service keeps its uid across
//! runs, and never one /etc/passwd or /etc/group already uses. What systemd forces with it
//! (ProtectSystem=strict, ProtectHome=read-only, PrivateTmp=, NoNewPrivileges=,
//! RestrictSUIDSGID=, RemoveIPC= — here PrivateIPC=, which is stronger) is forced here too.

use crate::error::PlanError;
use crate::host::{Account, HostFacts};
use crate::settings::{ProtectHome, ProtectSystem, Settings, Spanned};

pub const FIRST_UID: u32 = 61184;
pub const LAST_UID: u32 = 65519;

/// The settings with what DynamicUser= implies forced on, as systemd does.
pub fn implied(s: &Settings) -> Settings {
    let mut s = s.clone();
    let Some(origin) = s.dynamic_user.as_ref().filter(|d| d.value).map(|d| d.origin.clone()) else { return s };
    let on = |v: bool| Some(Spanned { value: v, origin: origin.clone() });
    s.protect_system = Some(Spanned { value: ProtectSystem::Strict, origin: origin.clone() });
    if s.protect_home.as_ref().is_none_or(|h| h.value == ProtectHome::No) {
        s.protect_home = Some(Spanned { value: ProtectHome::ReadOnly, origin: origin.clone() });
    }
    s.private_tmp = on(true);
    s.private_ipc = on(true);
    s.no_new_privileges = on(true);
    s.restrict_suid_sgid = on(true);
    s
}

/// The transient account, or `None` when DynamicUser= is off or names an existing user
/// (systemd then uses the static one).
/// `HostRoot=no`: the transient host uid the payload's root becomes, from the same range as
/// DynamicUser='s and claimed the same way (under the name `root:NAME`).
pub fn host_root_id(s: &Settings, host: &HostFacts, unit_name: &str) -> Result<Option<u32>, PlanError> {
    let Some(flag) = s.host_root.as_ref().filter(|_| crate::plan::ids::unprivileged_root(s, host)) else {
        return Ok(None);
    };
    pick_uid(&host_root_claim(unit_name), host)
        .map(Some)
        .ok_or_else(|| PlanError::directive("HostRoot", &flag.origin, "every uid from 61184 to 65519 is taken"))
}

/// The name a `HostRoot=no` run claims its transient uid under.
pub fn host_root_claim(unit_name: &str) -> String {
    format!("root:{unit_name}")
}

pub fn account(s: &Settings, host: &HostFacts, unit_name: &str) -> Result<Option<Account>, PlanError> {
    let Some(d) = s.dynamic_user.as_ref().filter(|d| d.value) else { return Ok(None) };
    if !host.is_root() {
        let msg = "a transient user needs root: a rootless sandbox can map only your own uid (it already runs as you); run sbx as root, or drop the line";
        return Err(PlanError::directive("DynamicUser", &d.origin, msg));
    }
    let name = s.user.as_ref().map_or(unit_name, |u| u.value.as_str());
    if host.users.user_by_name(name).is_some() {
        return Ok(None);
    }
    let uid = pick_uid(name, host)
        .ok_or_else(|| PlanError::directive("DynamicUser", &d.origin, "every uid from 61184 to 65519 is taken"))?;
    Ok(Some(Account { name: name.to_string(), uid, gid: uid, home: "/".into(), shell: "/usr/sbin/nologin".into() }))
}

/// A stable starting point from the name (FNV-1a), then the first uid free in the user and
/// group databases.
pub fn pick_uid(name: &str, host: &HostFacts) -> Option<u32> {
    let span = LAST_UID - FIRST_UID + 1;
    let hash = name.bytes().fold(0x811c_9dc5u32, |h, b| (h ^ u32::from(b)).wrapping_mul(0x0100_0193));
    (0..span)
        .map(|i| FIRST_UID + (hash.wrapping_add(i) % span))
        .find(|uid| host.users.user_by_uid(*uid).is_none() && host.users.group_name(*uid).is_none())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::fake;
    use crate::plan::tests::settings;

    #[test]
    fn the_uid_is_stable_in_range_and_free() {
        let host = fake::host(0);
        let s = settings("DynamicUser=yes");
        let a = account(&s, &host, "app").unwrap().unwrap();
        assert!((FIRST_UID..=LAST_UID).contains(&a.uid));
        assert_eq!(a.uid, account(&s, &host, "app").unwrap().unwrap().uid, "stable across runs");
        assert_eq!(a.name, "app");
        let named = account(&settings("DynamicUser=yes\nUser=worker"), &host, "app").unwrap().unwrap();
        assert_eq!(named.name, "worker");
        assert!(
            account(&settings("DynamicUser=yes\nUser=www-data"), &host, "app").unwrap().is_none(),
            "an existing user is used as is"
        );
    }

    #[test]
    fn rootless_is_refused_and_implications_are_forced() {
        let e = account(&settings("DynamicUser=yes"), &fake::host(1000), "app").unwrap_err().to_string();
        assert!(e.contains("needs root"), "{e}");
        let s = implied(&settings("DynamicUser=yes\nProtectSystem=no\nProtectHome=tmpfs"));
        assert_eq!(s.protect_system.unwrap().value, ProtectSystem::Strict);
        assert_eq!(s.protect_home.unwrap().value, ProtectHome::Tmpfs, "a stricter ProtectHome= stays");
        assert!(
            Settings::flag(&s.restrict_suid_sgid)
                && Settings::flag(&s.private_tmp)
                && Settings::flag(&s.no_new_privileges)
        );
    }
}
