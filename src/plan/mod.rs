//! The Plan: everything the sandbox will do, resolved before anything is created.
//!
//! Invariant: `build` reads only Settings, HostFacts and the command line; every error a
//! profile can cause surfaces here, before any fork. The Plan is in kernel terms
//! (namespaces, id maps, mounts, capability sets, rlimits), printable with `--dry-run`, and
//! `launch` only walks it.

pub mod caps;
pub mod cgroup;
pub mod dynamic_user;
pub mod exec;
pub mod host_proc;
pub mod ids;
pub mod landlock;
pub mod mounts;
pub mod no_namespaces;
pub mod seccomp;
pub mod sequence;
pub mod state_dirs;
pub mod syscalls;
pub mod working_directory;

use std::ffi::OsString;

use serde::Serialize;

use crate::error::PlanError;
use crate::host::HostFacts;
use crate::settings::Settings;

/// What the command line adds to the profile.
#[derive(Clone, Debug)]
pub struct Invocation {
    /// The command, as bytes (Linux arguments need not be UTF-8); empty for `sbx run --unit`,
    /// where the unit's ExecStart= and its siblings (in Settings) run instead.
    pub argv: Vec<OsString>,
    /// The unit-like name (%N); the basename of the command unless `--name` was given.
    pub name: String,
    /// With `--pty`: the host path of the payload's terminal, shown as /dev/console under a
    /// private /dev.
    pub pty: Option<String>,
    /// Report every refused system call, errno refusals included (`--log-refused`).
    pub log_refused: bool,
    /// Bind the /proc sbx runs under instead of mounting a fresh one: the `--best-effort`
    /// answer to a container whose masked /proc makes the kernel refuse a new procfs.
    pub host_proc: bool,
}

impl Invocation {
    /// `argv` under `name`, with no terminal, no refusal log and a fresh /proc: what planning
    /// without launching (`check`, `analyze`, tests) asks for.
    pub fn new(argv: Vec<OsString>, name: &str) -> Invocation {
        Invocation { argv, name: name.to_string(), pty: None, log_refused: false, host_proc: false }
    }
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
    pub seccomp: seccomp::SeccompPlan,
    pub landlock: landlock::LandlockPlan,
    pub cgroup: Option<cgroup::CgroupPlan>,
    pub pty: Option<String>,
}

pub fn build(s: &Settings, host: &HostFacts, inv: &Invocation) -> Result<Plan, PlanError> {
    let implied = dynamic_user::implied(s);
    let s = &implied;
    let namespaces = ids::namespaces(s, host);
    let host_id = dynamic_user::host_root_id(s, host, &inv.name)?;
    let identity = ids::identity(s, host, dynamic_user::account(s, host, &inv.name)?, host_id)?;
    let id_map = ids::id_map(&namespaces, &identity, host);
    let caps = caps::plan(s, &namespaces, host)?;
    let state_dirs = state_dirs::plan(s, host, &identity)?;
    let exec = exec::plan(s, host, &identity, &inv.argv, &state_dirs)?;
    let writable_cwd = working_directory::writable(s, host)?.map(|w| (w.path, w.cause));
    // Under HostRoot=no the working directory is root's: idmapped, the payload owns it.
    let idmap_cwd = identity.host_id;
    let state_binds: Vec<mounts::StateBind> = state_dirs
        .iter()
        .map(|d| mounts::StateBind {
            path: d.path.clone(),
            host_path: d.host_path.clone(),
            private_parent: d.private_parent.clone(),
            cause: d.cause.clone(),
        })
        .collect();
    // A unit's `!` command keeps pid 1's ids (root, which switches them): the payload whose
    // privileges decide the root is then uid 0.
    let keeps_root = exec.sequence.as_ref().is_some_and(|q| q.commands.iter().any(|c| c.keep_ids));
    let runs_as = if keeps_root { 0 } else { identity.uid };
    let inputs = mounts::MountInputs {
        state_dirs: &state_binds,
        writable_cwd,
        idmap_cwd,
        console: inv.pty.clone(),
        host_proc: inv.host_proc,
        payload_may_mount: caps.payload_may_hold_sys_admin(runs_as),
    };
    let mounts = mounts::plan(s, host, &inputs)?;
    let seccomp = seccomp::plan(s, host, &seccomp::Options { log_refused: inv.log_refused })?;
    let mut landlock = landlock::mirror(&mounts, host.landlock_abi);
    landlock.scoped = landlock::scopes(s, host.landlock_abi);
    if let Some(ports) = landlock::socket_bind(s, host.landlock_abi)? {
        landlock.handled_net |= landlock::BIND_TCP;
        landlock.ports = ports;
    }
    let cgroup = cgroup::plan(s, host)?;
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
        seccomp,
        landlock,
        cgroup,
        pty: inv.pty.clone(),
    })
}

#[cfg(test)]
pub mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::host::fake;
    use crate::profile::specifiers::SpecifierContext;
    use crate::profile::syntax;
    use crate::settings;

    /// Settings from `[Service]` lines, as a test profile `t.conf`.
    pub fn settings(lines: &str) -> Settings {
        let text = format!("[Service]\n{lines}\n");
        let parsed = syntax::parse(&text, &Arc::from("t.conf")).expect("test profile parses");
        let ctx = SpecifierContext { unit_name: "app".into(), unit_full: "app.service".into(), ..Default::default() };
        settings::apply(&parsed.assignments, &ctx).expect("test profile applies").settings
    }

    pub fn plan_as(uid: u32, lines: &str) -> Result<Plan, PlanError> {
        let host = fake::host(uid);
        let inv = Invocation::new(vec!["true".into()], "app");
        build(&settings(lines), &host, &inv)
    }

    /// A `sbx run --unit` plan: no command line, the commands come from `lines`.
    pub fn plan_unit_as(uid: u32, lines: &str) -> Result<Plan, PlanError> {
        let host = fake::host(uid);
        let inv = Invocation::new(Vec::new(), "app");
        build(&settings(lines), &host, &inv)
    }

    #[test]
    fn rootless_maps_the_caller_to_user() {
        let p = plan_as(1000, "User=www-data").unwrap();
        let m = p.id_map.unwrap();
        assert_eq!(m.uid_map, "33 1000 1\n");
        assert!(m.deny_setgroups);
        assert!(!p.identity.switch);
        assert_eq!(p.mode, Mode::Rootless);
    }

    #[test]
    fn root_switches_ids_without_a_user_namespace() {
        let p = plan_as(0, "User=www-data\nSupplementaryGroups=adm").unwrap();
        assert!(p.id_map.is_none());
        assert!(!p.namespaces.user);
        assert!(p.identity.switch);
        assert_eq!((p.identity.uid, p.identity.gid), (33, 33));
        assert_eq!(p.identity.groups, Some(vec![4]));
    }

    #[test]
    fn root_in_a_user_namespace_without_setgroups_keeps_its_groups() {
        let mut host = fake::host(0);
        host.setgroups_allowed = false;
        let inv = Invocation::new(vec!["true".into()], "app");
        let p = build(&settings("User=www-data"), &host, &inv).unwrap();
        assert_eq!(p.identity.groups, None);
        let e = build(&settings("SupplementaryGroups=adm"), &host, &inv).unwrap_err().to_string();
        assert!(e.contains("setgroups(2) is denied"), "{e}");
    }

    #[test]
    fn root_private_users_maps_root_and_the_user_only() {
        let p = plan_as(0, "User=www-data\nPrivateUsers=yes").unwrap();
        assert_eq!(p.id_map.unwrap().uid_map, "0 0 1\n33 33 1\n");
    }

    #[test]
    fn rootless_refuses_supplementary_groups() {
        let e = plan_as(1000, "SupplementaryGroups=adm").unwrap_err().to_string();
        assert!(e.contains("SupplementaryGroups") && e.contains("t.conf:2"), "{e}");
    }

    #[test]
    fn rootless_low_port_capability_needs_a_private_network() {
        let e = plan_as(1000, "AmbientCapabilities=CAP_NET_BIND_SERVICE").unwrap_err().to_string();
        assert!(e.contains("PrivateNetwork=yes") && e.contains("ip_unprivileged_port_start"), "{e}");
        assert!(plan_as(1000, "AmbientCapabilities=CAP_NET_BIND_SERVICE\nPrivateNetwork=yes").is_ok());
        assert!(plan_as(0, "User=www-data\nAmbientCapabilities=CAP_NET_BIND_SERVICE").is_ok());
        let e = plan_as(1000, "AmbientCapabilities=CAP_SYS_TIME").unwrap_err().to_string();
        assert!(e.contains("no effect in a user namespace"), "{e}");
    }

    #[test]
    fn ambient_must_be_in_the_bounding_set() {
        let e = plan_as(0, "AmbientCapabilities=CAP_NET_RAW\nCapabilityBoundingSet=CAP_NET_BIND_SERVICE").unwrap_err();
        assert!(e.to_string().contains("not in the bounding set"), "{e}");
    }

    #[test]
    fn protections_drop_their_capabilities() {
        let p = plan_as(0, "PrivateDevices=yes\nProtectKernelModules=yes\nProtectKernelLogs=yes").unwrap();
        for cap in ["CAP_SYS_RAWIO", "CAP_MKNOD", "CAP_SYS_MODULE", "CAP_SYSLOG"] {
            assert!(!p.caps.bounding.iter().any(|c| c == cap), "{cap} kept");
        }
        assert!(p.caps.bounding.iter().any(|c| c == "CAP_NET_ADMIN"));
    }

    #[test]
    fn environment_follows_systemds_order() {
        let host_env = "Environment=A=1 B=2\nUnsetEnvironment=B\nStateDirectory=app";
        let p = plan_as(0, host_env).unwrap();
        let env = &p.exec.env;
        assert!(env.contains(&"A=1".into()));
        assert!(!env.iter().any(|e| e.to_string_lossy().starts_with("B=")));
        assert!(env.contains(&"STATE_DIRECTORY=/var/lib/app".into()));
        assert!(env.contains(&format!("PATH={}", exec::DEFAULT_PATH).into()));
        assert!(env.contains(&"HOME=/root".into()));
    }

    #[test]
    fn the_command_is_searched_in_the_payloads_path() {
        let p = plan_as(0, "Environment=PATH=/opt/bin:/usr/bin").unwrap();
        assert_eq!(p.exec.candidates, ["/opt/bin/true", "/usr/bin/true"]);
    }

    #[test]
    fn state_directories_rootless_live_in_xdg_places() {
        let e = plan_as(1000, "RuntimeDirectory=app").unwrap_err().to_string();
        assert!(e.contains("XDG_RUNTIME_DIR"), "{e}");
        let p = plan_as(1000, "StateDirectory=app\nCacheDirectory=app\nLogsDirectory=app").unwrap();
        let paths: Vec<&str> = p.state_dirs.iter().map(|d| d.path.as_str()).collect();
        assert_eq!(
            paths,
            ["/home/alice/.local/state/app", "/home/alice/.cache/app", "/home/alice/.local/state/log/app"]
        );
    }
}
