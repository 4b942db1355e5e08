//! Plan tests for the mount list, on a fake Debian host.

mod cases {
    use crate::plan::mounts::*;
    use crate::plan::tests::plan_as;

    fn ops(lines: &str) -> Vec<Mount> {
        plan_as(0, lines).unwrap().mounts
    }

    fn binds(mounts: &[Mount]) -> Vec<(String, bool)> {
        mounts
            .iter()
            .filter_map(|m| match &m.op {
                MountOp::Bind { target, readonly, .. } => Some((target.clone(), *readonly)),
                _ => None,
            })
            .collect()
    }

    fn targets_of(mounts: &[Mount], pick: fn(&MountOp) -> Option<&String>) -> Vec<String> {
        mounts.iter().filter_map(|m| pick(&m.op).cloned()).collect()
    }

    #[test]
    fn protect_system_levels() {
        let strict = binds(&ops("ProtectSystem=strict"));
        assert!(strict.contains(&("/etc".into(), true)) && strict.contains(&("/var".into(), true)));
        let full = binds(&ops("ProtectSystem=full"));
        assert!(full.contains(&("/etc".into(), true)) && full.contains(&("/var".into(), false)));
        let yes = binds(&ops("ProtectSystem=yes"));
        assert!(yes.contains(&("/usr".into(), true)) && yes.contains(&("/etc".into(), false)));
        let no = binds(&ops(""));
        assert!(no.iter().filter(|(t, _)| t != "/sys").all(|(_, ro)| !ro));
    }

    #[test]
    fn a_strict_root_is_the_hosts_cloned_read_only_when_the_payload_cannot_mount() {
        let m =
            ops("ProtectSystem=strict\nCapabilityBoundingSet=CAP_NET_BIND_SERVICE\nPrivateTmp=yes\nProtectHome=tmpfs");
        assert_eq!(m[0].op, MountOp::RootBind { source: "/".into(), readonly: true });
        assert_eq!(m[0].cause.directive, "ProtectSystem");
        assert!(
            !m.iter().any(|m| matches!(&m.op, MountOp::RootTmpfs | MountOp::Symlink { .. })),
            "nothing of the mirror: {m:?}"
        );
        assert!(
            !m.iter().any(
                |m| matches!(&m.op, MountOp::Mkdir { path, .. } | MountOp::Touch { path } if !path.starts_with("/dev/"))
            ),
            "mountpoints are created only in sbx's /dev: {m:?}"
        );
        assert!(m.iter().any(|m| matches!(&m.op, MountOp::Tmpfs { target, .. } if target == "/tmp")));
        assert!(!binds(&m).iter().any(|(t, _)| t == "/sys"), "the clone's /sys is the host's, read-only: {m:?}");
    }

    #[test]
    fn a_private_network_gets_a_sysfs_of_its_own_mounted_last_with_its_children() {
        let under_sys = |m: &Mount| match &m.op {
            MountOp::Sysfs { target } | MountOp::Bind { target, .. } | MountOp::Inaccessible { target, .. } => {
                target == "/sys" || target.starts_with("/sys/")
            }
            _ => false,
        };
        for profile in [
            "PrivateNetwork=yes\nProtectKernelTunables=yes",
            "PrivateNetwork=yes\nProtectSystem=strict\nProtectKernelTunables=yes",
        ] {
            let m = ops(profile);
            let first = m.iter().position(|m| matches!(m.op, MountOp::Sysfs { .. })).expect("a sysfs");
            assert_eq!(m[first].cause.directive, "PrivateNetwork");
            assert!(m[..first].iter().all(|m| !under_sys(m)), "nothing at or below /sys before it: {m:?}");
            let rest: Vec<&Mount> =
                m[first..].iter().filter(|m| !matches!(m.op, MountOp::RemountReadOnly { .. })).collect();
            assert!(rest.iter().all(|m| under_sys(m)), "only /sys and its children after it: {rest:?}");
            assert!(!binds(&m).iter().any(|(t, _)| t == "/sys"), "not the host's /sys: {m:?}");
        }
        // Without the directive: the host's /sys, read-only, and no sysfs.
        let m = ops("ProtectKernelTunables=yes");
        assert!(!m.iter().any(|m| matches!(m.op, MountOp::Sysfs { .. })));
        assert!(binds(&m).contains(&("/sys".into(), true)), "{m:?}");
    }

    #[test]
    fn a_strict_root_is_mirrored_when_the_payload_may_unmount_a_cover() {
        // CAP_SYS_ADMIN kept: unmounting sbx's /proc would uncover the clone's host /proc.
        let m = ops("ProtectSystem=strict\nCapabilityBoundingSet=CAP_SYS_ADMIN");
        assert_eq!(m[0].op, MountOp::RootTmpfs);
        let m = ops("ProtectSystem=full\nCapabilityBoundingSet=");
        assert_eq!(m[0].op, MountOp::RootTmpfs, "parts of the root stay writable: each is a bind of its own");
    }

    #[test]
    fn with_no_new_privileges_only_uid_0_or_an_ambient_cap_can_hold_sys_admin() {
        let root = |lines: &str| plan_as(0, lines).unwrap().mounts[0].op.clone();
        let clone = MountOp::RootBind { source: "/".into(), readonly: true };
        // Root mode, another user: capabilities go with the uid switch, and no_new_privs keeps
        // setuid-root programs and file capabilities from bringing them back.
        assert_eq!(root("ProtectSystem=strict\nUser=www-data\nNoNewPrivileges=yes"), clone);
        assert_eq!(root("ProtectSystem=strict\nUser=www-data"), MountOp::RootTmpfs, "a setuid program may");
        assert_eq!(root("ProtectSystem=strict\nNoNewPrivileges=yes"), MountOp::RootTmpfs, "root keeps its caps");
        let ambient = "ProtectSystem=strict\nUser=www-data\nNoNewPrivileges=yes\nAmbientCapabilities=CAP_SYS_ADMIN";
        assert_eq!(root(ambient), MountOp::RootTmpfs);
        // A unit's `!` command runs as root whatever User= says.
        let unit = "ProtectSystem=strict\nUser=www-data\nNoNewPrivileges=yes\nExecStart=/bin/true";
        assert_eq!(crate::plan::tests::plan_unit_as(0, unit).unwrap().mounts[0].op, clone);
        let bang =
            "ProtectSystem=strict\nUser=www-data\nNoNewPrivileges=yes\nExecStartPre=!/bin/true\nExecStart=/bin/true";
        assert_eq!(crate::plan::tests::plan_unit_as(0, bang).unwrap().mounts[0].op, MountOp::RootTmpfs);
        // Rootless, the caller's own uid in the sandbox.
        let rootless = plan_as(1000, "ProtectSystem=strict\nNoNewPrivileges=yes").unwrap();
        assert_eq!(rootless.mounts[0].op, clone);
    }

    #[test]
    fn a_strict_root_is_mirrored_when_a_mountpoint_must_be_created_at_the_top() {
        let m = ops("ProtectSystem=strict\nCapabilityBoundingSet=\nBindReadOnlyPaths=/etc:/config");
        assert_eq!(m[0].op, MountOp::RootTmpfs);
        assert!(m.iter().any(|m| m.op == MountOp::Mkdir { path: "/config".into(), mode: 0o755 }));
        // The same errors either way: a missing mountpoint below a host directory.
        let e = plan_as(0, "ProtectSystem=strict\nCapabilityBoundingSet=\nBindPaths=/etc:/srv/new").unwrap_err();
        assert!(e.to_string().contains("cannot be created there"), "{e}");
    }

    #[test]
    fn top_level_symlinks_are_recreated() {
        let m = ops("");
        assert!(m.iter().any(|m| m.op == MountOp::Symlink { path: "/bin".into(), target: "usr/bin".into() }));
    }

    #[test]
    fn hidden_homes_are_never_bound_underneath() {
        let m = ops("ProtectHome=yes\nProtectSystem=strict");
        assert!(!binds(&m).iter().any(|(t, _)| t == "/home" || t == "/root"));
        let hidden = targets_of(&m, |op| match op {
            MountOp::Inaccessible { target, .. } => Some(target),
            _ => None,
        });
        assert_eq!(hidden, ["/home", "/root", "/run/user"]);
    }

    #[test]
    fn a_longer_path_overrides_a_shorter_one_whatever_the_order() {
        let m = ops("ProtectSystem=strict\nReadWritePaths=/srv/www\nReadOnlyPaths=/srv");
        let b = binds(&m);
        let ro = b.iter().position(|x| x == &("/srv".to_string(), true)).unwrap();
        let rw = b.iter().position(|x| x == &("/srv/www".to_string(), false)).unwrap();
        assert!(ro < rw, "{b:?}");
    }

    #[test]
    fn profile_paths_follow_root_owned_symlinks() {
        let m = ops("ProtectKernelModules=yes");
        assert!(
            m.iter().any(|m| matches!(&m.op, MountOp::Inaccessible { target, .. } if target == "/usr/lib/modules"))
        );
    }

    #[test]
    fn missing_paths_are_errors_unless_prefixed() {
        let e = plan_as(0, "ReadOnlyPaths=/nope").unwrap_err().to_string();
        assert!(e.contains("ReadOnlyPaths") && e.contains("t.conf:2") && e.contains("prefix it with -"), "{e}");
        assert!(plan_as(0, "ReadOnlyPaths=-/nope\nInaccessiblePaths=/nope").is_ok());
        let e = plan_as(0, "BindPaths=/nope:/srv/x").unwrap_err().to_string();
        assert!(e.contains("BindPaths") && e.contains("no such file"), "{e}");
    }

    #[test]
    fn mountpoints_are_never_created_on_the_host() {
        let e = plan_as(0, "BindPaths=/etc:/srv/new").unwrap_err().to_string();
        assert!(e.contains("cannot be created there") && e.contains("TemporaryFileSystem="), "{e}");
        let m = ops("TemporaryFileSystem=/opt\nBindPaths=/etc:/opt/etc");
        assert!(m.iter().any(|m| m.op == MountOp::Mkdir { path: "/opt/etc".into(), mode: 0o755 }));
    }

    #[test]
    fn paths_hidden_by_protect_home_are_not_exposed_by_read_paths() {
        let e = plan_as(0, "ProtectHome=tmpfs\nReadOnlyPaths=/home/alice").unwrap_err().to_string();
        assert!(e.contains("not visible") && e.contains("BindPaths="), "{e}");
        let m = ops("ProtectHome=tmpfs\nBindReadOnlyPaths=/home/alice");
        assert!(binds(&m).contains(&("/home/alice".into(), true)));
    }

    #[test]
    fn untrusted_symlinks_are_refused() {
        let mut host = crate::host::fake::host(0);
        let mut fs = crate::host::fake::FakeFs::debian();
        fs.nodes.insert("/srv/www/link".into(), crate::host::Node::Symlink { owner: 1000, target: "/etc".into() });
        host.fs = Box::new(fs);
        let s = crate::plan::tests::settings("ReadWritePaths=/srv/www/link");
        let inv = crate::plan::Invocation::new(vec!["true".into()], "a");
        let e = crate::plan::build(&s, &host, &inv).unwrap_err().to_string();
        assert!(e.contains("owned by uid 1000"), "{e}");
    }

    #[test]
    fn read_only_remounts_come_last_and_every_op_has_a_cause() {
        let m = ops("ProtectHome=tmpfs\nPrivateDevices=yes\nTemporaryFileSystem=/opt:ro");
        let first_remount = m.iter().position(|m| matches!(m.op, MountOp::RemountReadOnly { .. })).unwrap();
        assert!(m[first_remount..].iter().all(|m| matches!(m.op, MountOp::RemountReadOnly { .. })));
        let remounted = targets_of(&m, |op| match op {
            MountOp::RemountReadOnly { target } => Some(target),
            _ => None,
        });
        for t in ["/", "/home", "/dev", "/opt"] {
            assert!(remounted.contains(&t.to_string()), "{t} not read-only: {remounted:?}");
        }
        assert!(m.iter().all(|m| !m.cause.directive.is_empty()));
    }

    fn host_with_root_dir(dirs: &[&str]) -> crate::host::HostFacts {
        let mut fs = crate::host::fake::FakeFs::debian();
        for d in dirs {
            fs.nodes.insert(format!("/srv/r{d}"), crate::host::Node::Dir);
        }
        fs.nodes.insert("/srv/r/lib".into(), crate::host::Node::Symlink { owner: 0, target: "/usr/lib".into() });
        let mut host = crate::host::fake::host(0);
        host.fs = Box::new(fs);
        host
    }

    fn plan_root_dir(host: &crate::host::HostFacts, lines: &str) -> Result<crate::plan::Plan, crate::error::PlanError> {
        let s = crate::plan::tests::settings(&format!("RootDirectory=/srv/r\n{lines}"));
        let inv = crate::plan::Invocation::new(vec!["true".into()], "a");
        crate::plan::build(&s, host, &inv)
    }

    #[test]
    fn root_directory_is_the_root_and_needs_its_api_mountpoints() {
        let full = ["", "/usr", "/usr/lib", "/usr/lib/modules", "/etc", "/proc", "/sys", "/dev", "/tmp"];
        let host = host_with_root_dir(&full);
        let p = plan_root_dir(&host, "ProtectSystem=strict\nProtectKernelModules=yes").unwrap();
        assert_eq!(p.mounts[0].op, MountOp::RootBind { source: "/srv/r".into(), readonly: true });
        assert!(
            !p.mounts.iter().any(|m| matches!(m.op, MountOp::RootTmpfs | MountOp::Mkdir { .. })),
            "nothing is created in a host directory"
        );
        // /lib/modules resolves inside the root (its /lib is a symlink to /usr/lib there).
        assert!(
            p.mounts
                .iter()
                .any(|m| matches!(&m.op, MountOp::Inaccessible { target, .. } if target == "/usr/lib/modules"))
        );
        let host = host_with_root_dir(&["", "/usr", "/sys", "/dev", "/tmp"]);
        let e = plan_root_dir(&host, "").unwrap_err().to_string();
        assert!(e.contains("create /srv/r/proc on the host"), "{e}");
    }

    #[test]
    fn root_directory_access_paths_are_host_paths_or_plus_relative() {
        let host = host_with_root_dir(&["", "/usr", "/etc", "/proc", "/sys", "/dev", "/tmp"]);
        for line in ["ReadOnlyPaths=/srv/r/etc", "ReadOnlyPaths=+/etc"] {
            let p = plan_root_dir(&host, line).unwrap();
            assert!(binds(&p.mounts).contains(&("/etc".into(), true)), "{line}");
        }
        let e = plan_root_dir(&host, "ReadOnlyPaths=/etc").unwrap_err().to_string();
        assert!(e.contains("not visible"), "a host path outside the root is not in the sandbox: {e}");
        assert!(plan_root_dir(&host, "ReadOnlyPaths=-/etc\nInaccessiblePaths=/etc").is_ok());
    }

    #[test]
    fn kernel_tunables_follow_proc_subset() {
        let m = ops("ProtectKernelTunables=yes\nProcSubset=pid");
        assert!(!m.iter().any(|m| matches!(&m.op, MountOp::SelfBind { target, .. } if target.starts_with("/proc"))));
    }
}

mod properties {
    use proptest::prelude::*;

    use crate::host::FileKind;
    use crate::plan::mounts::planner::{parent, strip};
    use crate::plan::mounts::*;
    use crate::plan::tests::plan_as;

    const LINES: &[&str] = &[
        "ProtectSystem=strict",
        "ProtectSystem=full",
        "ProtectHome=yes",
        "ProtectHome=tmpfs",
        "ProtectHome=read-only",
        "PrivateTmp=yes",
        "PrivateDevices=yes",
        "PrivateIPC=yes",
        "ProtectKernelTunables=yes",
        "ProtectKernelModules=yes",
        "ProtectKernelLogs=yes",
        "ProcSubset=pid",
        "TemporaryFileSystem=/opt",
        "TemporaryFileSystem=/srv:ro",
        "BindPaths=/etc:/opt/etc",
        "BindReadOnlyPaths=/home/alice",
        "ReadOnlyPaths=-/srv/www",
        "ReadWritePaths=-/var/lib",
        "InaccessiblePaths=-/etc",
        "StateDirectory=app",
    ];

    proptest! {
        /// Whatever the combination: a mountpoint is created only inside a tmpfs sbx mounted
        /// (or the root), after it; read-only remounts come last.
        #[test]
        fn mountpoints_are_created_only_in_sbx_tmpfs(picks in proptest::collection::vec(0..LINES.len(), 0..8)) {
            let text: Vec<&str> = picks.iter().map(|i| LINES[*i]).collect();
            let Ok(plan) = plan_as(0, &text.join("\n")) else { return Ok(()) };
            let mut ours: Vec<String> = vec!["/".into()];
            let mut seen_remount = false;
            for m in &plan.mounts {
                match &m.op {
                    MountOp::Mkdir { path, .. } | MountOp::Touch { path } | MountOp::Symlink { path, .. } => {
                        let parent = parent(path);
                        prop_assert!(ours.iter().any(|o| o == parent), "{path} created outside sbx's own mounts: {text:?}");
                        if matches!(m.op, MountOp::Mkdir { .. }) { ours.push(path.clone()); }
                    }
                    MountOp::Tmpfs { target, .. } | MountOp::Inaccessible { target, kind: FileKind::Dir } => ours.push(target.clone()),
                    MountOp::Bind { target, .. } => ours.retain(|o| strip(o, target).is_none()),
                    _ => {}
                }
                if matches!(m.op, MountOp::RemountReadOnly { .. }) { seen_remount = true; }
                else { prop_assert!(!seen_remount, "an operation after the read-only remounts: {text:?}"); }
            }
        }
    }
}
