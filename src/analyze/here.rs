//! The "here" column: whether what a check scores is really enforced on this host by this
//! sbx, and by which mechanism.
//!
//! Invariant: the column is derived from one input, `Enforcement` — for each directive the
//! profile sets, its fate here — plus what sbx does without being asked. Today `Enforcement`
//! comes from the directive table and one `plan::build` for this host (`from_plan`); a richer
//! report (a best-effort tier weakening single directives) only has to fill the same map.
//! Nothing here scores anything or touches the host.

use std::collections::BTreeMap;
use std::fmt;

use crate::error::PlanError;
use crate::plan::Plan;
use crate::plan::seccomp::Action;
use crate::profile::Assignment;
use crate::profile::directives::{self, Kind, Stage, Status};

/// What happens here to one directive the profile sets.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fate {
    /// Enforced, by this mechanism.
    Enforced(&'static str),
    /// The directive table rejects it (or does not know it): sbx would not honour it.
    NotSupported(String),
    /// Planning for this host refused it, for this reason.
    Refused(String),
    /// Planning stopped at another directive (or the host), so sbx would not start at all.
    Blocked(String),
}

/// The fate of every directive the profile sets, and what sbx does by itself.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Enforcement {
    pub fates: BTreeMap<String, Fate>,
    /// Check ids sbx satisfies without being asked, with the mechanism.
    pub defaults: BTreeMap<&'static str, &'static str>,
}

/// The second column of one row.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Here {
    Enforced { mechanisms: Vec<&'static str>, by_default: bool },
    NotSupported(String),
    NotAskedFor,
    Refused(String),
}

impl Here {
    /// A stable one-word status for `--json`.
    pub fn status(&self) -> &'static str {
        match self {
            Here::Enforced { .. } => "enforced",
            Here::NotSupported(_) => "not-supported",
            Here::NotAskedFor => "not-asked-for",
            Here::Refused(_) => "refused",
        }
    }
}

impl fmt::Display for Here {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Here::Enforced { mechanisms, by_default } => {
                write!(f, "enforced ({}{})", mechanisms.join(", "), if *by_default { ", sbx default" } else { "" })
            }
            Here::NotSupported(why) => write!(f, "not supported by sbx: {why}"),
            Here::NotAskedFor => write!(f, "not asked for"),
            Here::Refused(why) => write!(f, "refused on this host: {why}"),
        }
    }
}

/// The keys the profile sets: those whose last assignment is not a reset. An empty
/// capability set is a setting ("none"), not a reset.
pub fn set_keys(assignments: &[Assignment]) -> Vec<&str> {
    let mut last: BTreeMap<&str, &str> = BTreeMap::new();
    for a in assignments {
        last.insert(&a.key, &a.value);
    }
    let caps = |k: &str| directives::find(k).is_some_and(|d| d.kind == Kind::Caps);
    last.into_iter().filter(|(k, v)| !v.trim().is_empty() || caps(k)).map(|(k, _)| k).collect()
}

/// The mechanism that enforces a directive, from its table row's stage and the plan.
fn mechanism(key: &str, stage: Stage, plan: &Plan) -> &'static str {
    match (stage, key) {
        (Stage::Namespaces, "PrivateUsers") => "user namespace",
        (Stage::Namespaces, "PrivateNetwork") => "network namespace",
        (Stage::Namespaces, "PrivateIPC") => "IPC namespace",
        (Stage::Namespaces, "ProtectHostname") => "UTS namespace",
        (Stage::Namespaces, _) => "namespaces",
        (Stage::Mounts | Stage::StateDirs, _) => "mount namespace",
        (Stage::Ids, _) if plan.identity.switch => "ids",
        (Stage::Ids, _) => "user namespace",
        (Stage::Caps, "NoNewPrivileges") => "no_new_privs",
        (Stage::Caps, _) => "capabilities",
        (Stage::Seccomp, _) => "seccomp",
        (Stage::Process, _) => "process setup",
        (Stage::Rlimits, _) => "rlimits",
        (Stage::Cgroup, _) => "cgroup",
        (Stage::Meta | Stage::Exec | Stage::Other, _) => "sbx",
    }
}

/// What sbx does in every sandbox this plan describes, by check id.
fn defaults(plan: &Plan) -> BTreeMap<&'static str, &'static str> {
    let mut out = BTreeMap::new();
    if plan.namespaces.mount {
        out.insert("PrivateMounts=", "mount namespace");
    }
    if plan.namespaces.user {
        out.insert("PrivateUsers=", "user namespace");
    }
    if plan.seccomp.filter.other_arch != Action::Allow {
        out.insert("SystemCallArchitectures=", "seccomp");
    }
    if plan.seccomp.keyring == Some(crate::profile::syscall_lists::KeyringMode::Private) {
        out.insert("KeyringMode=", "process setup");
    }
    // Without User=, a rootless payload is the caller, and under HostRoot=no root's payload a
    // transient uid: neither is the host's root.
    if plan.mode == crate::plan::Mode::Rootless || plan.identity.host_id.is_some() {
        out.insert("User=/DynamicUser=", "user namespace");
    }
    out
}

/// One set directive's fate, given the plan's refusal (the directive it names, if any, and why).
fn fate(key: &str, refused: Option<&(Option<String>, String)>, plan: &Result<Plan, PlanError>) -> Option<Fate> {
    let Some(d) = directives::find(key) else {
        return Some(Fate::NotSupported("sbx does not know this key and ignores it".into()));
    };
    if let Status::Rejected(why) | Status::Ignored(why) = d.status {
        return Some(Fate::NotSupported(why.to_string()));
    }
    Some(match (refused, plan) {
        (Some((Some(named), why)), _) if named == key => Fate::Refused(why.clone()),
        (Some((Some(named), _)), _) => Fate::Blocked(format!("{named}= is refused first")),
        (Some((None, why)), _) => Fate::Blocked(why.clone()),
        (None, Ok(p)) => Fate::Enforced(mechanism(key, d.stage, p)),
        (None, Err(_)) => return None,
    })
}

impl Enforcement {
    /// Fates from the directive table and a plan built for this host.
    pub fn from_plan(set: &[&str], plan: &Result<Plan, PlanError>) -> Enforcement {
        let mut e = Enforcement::default();
        let refused = match plan {
            Ok(p) => {
                e.defaults = defaults(p);
                None
            }
            Err(PlanError::Directive { directive, message, .. }) => Some((Some(directive.clone()), message.clone())),
            Err(PlanError::Host(message)) => Some((None, message.clone())),
        };
        for key in set {
            if let Some(fate) = fate(key, refused.as_ref(), plan) {
                e.fates.insert(key.to_string(), fate);
            }
        }
        e
    }

    /// The column for a check that reads `reads` and scored `badness` out of `range`.
    pub fn here(&self, check_id: &'static str, reads: &[&str], badness: Option<u64>, range: u64) -> Here {
        let fates: Vec<&Fate> = reads.iter().filter_map(|k| self.fates.get(*k)).collect();
        for f in &fates {
            if let Fate::NotSupported(why) = f {
                return Here::NotSupported(why.clone());
            }
        }
        // A refusal shows wherever the refused directive counts, even where it weakens.
        for f in &fates {
            if let Fate::Refused(why) = f {
                return Here::Refused(why.clone());
            }
        }
        let asks = badness.is_some_and(|b| b < range) && !fates.is_empty();
        if asks {
            for f in &fates {
                if let Fate::Blocked(why) = f {
                    return Here::Refused(format!("sbx would not start: {why}"));
                }
            }
            let mut mechanisms: Vec<&'static str> = Vec::new();
            for f in fates {
                if let Fate::Enforced(m) = f
                    && !mechanisms.contains(m)
                {
                    mechanisms.push(m);
                }
            }
            return Here::Enforced { mechanisms, by_default: false };
        }
        match self.defaults.get(check_id) {
            Some(m) => Here::Enforced { mechanisms: vec![m], by_default: true },
            None => Here::NotAskedFor,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::tests::plan_as;

    #[test]
    fn here_names_the_mechanism_of_each_stage() {
        let plan = plan_as(1000, "ProtectSystem=strict\nUser=www-data\nCapabilityBoundingSet=");
        let e = Enforcement::from_plan(&["ProtectSystem", "User", "CapabilityBoundingSet"], &plan);
        assert_eq!(e.fates["ProtectSystem"], Fate::Enforced("mount namespace"));
        assert_eq!(e.fates["User"], Fate::Enforced("user namespace"), "rootless: the id map");
        assert_eq!(e.fates["CapabilityBoundingSet"], Fate::Enforced("capabilities"));
        assert_eq!(e.here("ProtectSystem=", &["ProtectSystem"], Some(0), 10).to_string(), "enforced (mount namespace)");
        let root = Enforcement::from_plan(&["User"], &plan_as(0, "User=www-data"));
        assert_eq!(root.fates["User"], Fate::Enforced("ids"));
    }

    #[test]
    fn here_weakening_values_are_not_asked_for() {
        let e = Enforcement::from_plan(&["ProtectSystem"], &plan_as(0, "ProtectSystem=no"));
        assert_eq!(e.here("ProtectSystem=", &["ProtectSystem"], Some(10), 10), Here::NotAskedFor);
        assert_eq!(
            e.here("PrivateMounts=", &["PrivateMounts"], Some(1), 1).to_string(),
            "enforced (mount namespace, sbx default)"
        );
    }

    #[test]
    fn here_shows_what_sbx_does_without_the_directive() {
        // An unset KeyringMode= is private; without User= the payload is the caller rootless.
        let rootless = Enforcement::from_plan(&[], &plan_as(1000, ""));
        let key = rootless.here("KeyringMode=", &["KeyringMode"], Some(0), 1).to_string();
        assert_eq!(key, "enforced (process setup, sbx default)");
        let user = rootless.here("User=/DynamicUser=", &["User", "DynamicUser"], Some(10), 10).to_string();
        assert_eq!(user, "enforced (user namespace, sbx default)");
        // As root without HostRoot=no the payload is the host's root: nothing to claim.
        let root = Enforcement::from_plan(&[], &plan_as(0, ""));
        assert_eq!(root.here("User=/DynamicUser=", &["User", "DynamicUser"], Some(10), 10), Here::NotAskedFor);
        let transient = Enforcement::from_plan(&[], &plan_as(0, "[X-Sbx]\nHostRoot=no"));
        let user = transient.here("User=/DynamicUser=", &["User", "DynamicUser"], Some(10), 10).to_string();
        assert_eq!(user, "enforced (user namespace, sbx default)", "HostRoot=no: a transient uid");
    }

    #[test]
    fn here_rejected_unknown_and_refused() {
        let e = Enforcement::from_plan(&["PrivateMounts", "Delegate"], &plan_as(0, ""));
        assert!(matches!(e.here("PrivateMounts=", &["PrivateMounts"], Some(0), 1), Here::NotSupported(_)));
        assert!(e.here("Delegate=", &["Delegate"], Some(1), 1).to_string().contains("does not know"));
        let plan = plan_as(1000, "SupplementaryGroups=adm\nProtectSystem=strict");
        let e = Enforcement::from_plan(&["SupplementaryGroups", "ProtectSystem"], &plan);
        let h = e.here("SupplementaryGroups=", &["SupplementaryGroups"], Some(1), 1);
        assert_eq!(h.status(), "refused", "{h}");
        let h = e.here("ProtectSystem=", &["ProtectSystem"], Some(0), 10);
        assert_eq!(h.to_string(), "refused on this host: sbx would not start: SupplementaryGroups= is refused first");
    }

    #[test]
    fn here_set_keys_honour_resets() {
        let a = |k: &str, v: &str| Assignment {
            section: crate::profile::Section::Service,
            key: k.into(),
            value: v.into(),
            origin: crate::profile::Origin { source: std::sync::Arc::from("t"), line: 1 },
        };
        let assignments = [a("PrivateTmp", "yes"), a("PrivateTmp", ""), a("CapabilityBoundingSet", ""), a("User", "x")];
        assert_eq!(set_keys(&assignments), ["CapabilityBoundingSet", "User"]);
    }
}
