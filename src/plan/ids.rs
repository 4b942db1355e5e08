//! Who the payload is: namespaces, the user-namespace id maps, and the ids to switch to.
//!
//! Invariant: rootless, exactly one uid and one gid are mapped (the caller's own, shown as
//! `User=`/`Group=`), and anything needing more ids is refused here with the reason; as root
//! the ids switch for real, except under `HostRoot=no` without `User=`/`DynamicUser=`, where
//! the payload's uid and gid 0 are one transient host id (the only ids mapped), so it holds no
//! host root's file access. Names are looked up in the host's user database now, never in
//! the child.

use serde::Serialize;

use crate::error::PlanError;
use crate::host::{Account, HostFacts};
use crate::settings::{Settings, Spanned};

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Namespaces {
    pub user: bool,
    pub mount: bool,
    pub pid: bool,
    pub net: bool,
    pub ipc: bool,
    pub uts: bool,
    pub cgroup: bool,
}

/// Lines for /proc/PID/uid_map and gid_map, written by the monitor.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct IdMap {
    pub uid_map: String,
    pub gid_map: String,
    /// Write "deny" to /proc/PID/setgroups first (required for an unprivileged gid map).
    pub deny_setgroups: bool,
}

/// The payload's identity as seen inside the sandbox.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Identity {
    pub uid: u32,
    pub gid: u32,
    /// Supplementary groups to set; `None` leaves them alone (a user namespace forbids it).
    pub groups: Option<Vec<u32>>,
    pub user_name: String,
    pub home: String,
    pub shell: String,
    /// Whether the payload switches ids itself (root mode) or gets them from the map.
    pub switch: bool,
    /// A transient user (DynamicUser=), claimed for the run.
    pub dynamic: bool,
    /// `HostRoot=no` as root: the transient host uid (and gid) the payload's root is, claimed
    /// for the run; pid 1 and the payload become it by switching to 0 inside the namespace.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub host_id: Option<u32>,
}

/// `HostRoot=no` applies: sbx runs as root, and no `User=`/`DynamicUser=` names who the
/// payload is (an explicit one keeps its meaning).
pub fn unprivileged_root(s: &Settings, host: &HostFacts) -> bool {
    host.is_root()
        && s.host_root.as_ref().is_some_and(|v| !v.value)
        && s.user.is_none()
        && !Settings::flag(&s.dynamic_user)
}

pub fn namespaces(s: &Settings, host: &HostFacts) -> Namespaces {
    Namespaces {
        user: !host.is_root() || Settings::flag(&s.private_users) || unprivileged_root(s, host),
        mount: true,
        pid: true,
        net: Settings::flag(&s.private_network),
        ipc: Settings::flag(&s.private_ipc),
        uts: Settings::flag(&s.protect_hostname),
        cgroup: true,
    }
}

/// The payload's identity. `host_id` is the transient host uid under `HostRoot=no`.
pub fn identity(
    s: &Settings,
    host: &HostFacts,
    dynamic: Option<Account>,
    host_id: Option<u32>,
) -> Result<Identity, PlanError> {
    let is_dynamic = dynamic.is_some();
    let account = match (&s.user, dynamic) {
        (_, Some(d)) => d,
        (Some(u), None) => lookup_user(host, u)?,
        (None, None) if host.is_root() => host.users.user_by_uid(0).cloned().unwrap_or(Account {
            name: "root".into(),
            uid: 0,
            gid: 0,
            home: "/root".into(),
            shell: "/bin/sh".into(),
        }),
        (None, None) => host.caller(),
    };
    let gid = match &s.group {
        Some(g) if !is_dynamic => lookup_group(host, g)?,
        _ => account.gid,
    };
    // Under HostRoot=no only the transient id is mapped: no supplementary group of root's.
    let groups = if host_id.is_some() { Some(Vec::new()) } else { supplementary(s, host, &account, gid)? };
    Ok(Identity {
        uid: account.uid,
        gid,
        groups,
        user_name: account.name,
        home: account.home,
        shell: account.shell,
        switch: host.is_root(),
        dynamic: is_dynamic,
        host_id,
    })
}

fn supplementary(s: &Settings, host: &HostFacts, account: &Account, gid: u32) -> Result<Option<Vec<u32>>, PlanError> {
    if !host.is_root() {
        if let Some(first) = s.supplementary_groups.first() {
            return Err(PlanError::directive(
                "SupplementaryGroups",
                &first.origin,
                "a rootless sandbox can map only the caller's own group; run sbx as root, or drop the line",
            ));
        }
        return Ok(None);
    }
    if !host.setgroups_allowed {
        if let Some(first) = s.supplementary_groups.first() {
            return Err(PlanError::directive(
                "SupplementaryGroups",
                &first.origin,
                "setgroups(2) is denied in the user namespace sbx runs in (/proc/self/setgroups says deny, as for root in a rootless container); drop the line",
            ));
        }
        // The groups cannot change here; the payload keeps the ones sbx has.
        return Ok(None);
    }
    let mut groups: Vec<u32> = host.users.members_of(&account.name);
    for g in &s.supplementary_groups {
        groups.push(lookup_group(host, g)?);
    }
    groups.retain(|g| *g != gid);
    groups.sort_unstable();
    groups.dedup();
    Ok(Some(groups))
}

fn lookup_user(host: &HostFacts, u: &Spanned<String>) -> Result<Account, PlanError> {
    if let Some(a) = host.users.user_by_name(&u.value) {
        return Ok(a.clone());
    }
    if let Ok(uid) = u.value.parse::<u32>() {
        return Ok(host.users.user_by_uid(uid).cloned().unwrap_or(Account {
            name: uid.to_string(),
            uid,
            gid: uid,
            home: "/".into(),
            shell: "/bin/sh".into(),
        }));
    }
    Err(PlanError::directive("User", &u.origin, format!("no user {:?} in /etc/passwd", u.value)))
}

fn lookup_group(host: &HostFacts, g: &Spanned<String>) -> Result<u32, PlanError> {
    host.users
        .gid_by_name(&g.value)
        .or_else(|| g.value.parse().ok())
        .ok_or_else(|| PlanError::directive("Group", &g.origin, format!("no group {:?} in /etc/group", g.value)))
}

/// The maps for a new user namespace. Rootless: the caller appears as the payload's ids.
/// Root with PrivateUsers=: root and the payload's ids map to themselves, nothing else.
pub fn id_map(ns: &Namespaces, id: &Identity, host: &HostFacts) -> Option<IdMap> {
    if !ns.user {
        return None;
    }
    if let Some(x) = id.host_id {
        let line = format!("0 {x} 1\n");
        return Some(IdMap { uid_map: line.clone(), gid_map: line, deny_setgroups: false });
    }
    if !host.is_root() {
        return Some(IdMap {
            uid_map: format!("{} {} 1\n", id.uid, host.uid),
            gid_map: format!("{} {} 1\n", id.gid, host.gid),
            deny_setgroups: true,
        });
    }
    let map = |v: u32| {
        if v == 0 { "0 0 1\n".to_string() } else { format!("0 0 1\n{v} {v} 1\n") }
    };
    Some(IdMap { uid_map: map(id.uid), gid_map: map(id.gid), deny_setgroups: false })
}
