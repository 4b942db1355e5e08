//! Turns the Plan into what the child needs in C form: every path a C string relative to the
//! root it is opened from, argv/envp as pointer arrays, flags as numbers.
//!
//! Invariant: all allocation for the child happens here, in the monitor, before clone; the
//! child only reads these values.

use std::ffi::{CStr, CString};
use std::os::fd::OwnedFd;

use crate::error::Error;
use crate::host::FileKind;
use crate::launch::landlock::LandlockPrep;
use crate::launch::mounts::{covers, mount_target};
use crate::launch::seccomp::SeccompPrep;
use crate::launch::sequence::{self, SequencePrep};
use crate::plan::Plan;
use crate::plan::mounts::MountOp;
use crate::profile::syscall_lists::KeyringMode;
use crate::sys::exec::ExecArrays;
use crate::sys::mount::{MOUNT_ATTR_NODEV, MOUNT_ATTR_NOEXEC, MOUNT_ATTR_NOSUID};
use crate::sys::ns;
use crate::sys::seccomp::SharedPage;

/// One step of building the sandbox root, as pid 1 applies it (`launch::mounts`). Bind's
/// `by_name`: a directory whose source and target are single names in their roots (the root
/// mirror's entries), which pid 1 clones and attaches by name. InaccessibleDir's `shared`:
/// nothing is created or mounted below it later, so it can be a read-only bind of one shared
/// mode-000 directory rather than a tmpfs of its own.
pub enum PMount {
    RootTmpfs,
    RootBind {
        source: CString,
        readonly: bool,
    },
    Mkdir {
        parent: CString,
        name: CString,
        mode: u32,
    },
    Touch {
        parent: CString,
        name: CString,
    },
    Symlink {
        parent: CString,
        name: CString,
        target: CString,
    },
    Bind {
        source: CString,
        target: CString,
        readonly: bool,
        recursive: bool,
        attrs: u64,
        by_name: bool,
    },
    SelfBind {
        target: CString,
        readonly: bool,
    },
    Tmpfs {
        target: CString,
        mode: CString,
        options: Vec<(CString, Option<CString>)>,
        attrs: u64,
    },
    Proc {
        target: CString,
        hidepid: Option<CString>,
        subset_pid: bool,
    },
    Sysfs {
        target: CString,
    },
    Devpts {
        target: CString,
    },
    Mqueue {
        target: CString,
    },
    InaccessibleDir {
        target: CString,
        shared: bool,
    },
    InaccessibleFile {
        target: CString,
    },
    /// Attach `Prepared::trees[tree]`, a detached tree the monitor made (`launch::idmap`).
    AttachTree {
        target: CString,
        tree: usize,
    },
    RemountReadOnly {
        target: CString,
    },
}

pub struct PayloadPrep {
    pub rlimits: Vec<(i32, Option<u64>, Option<u64>)>,
    pub nice: Option<i32>,
    pub umask: u32,
    pub switch_ids: bool,
    pub uid: u32,
    pub gid: u32,
    pub groups: Option<Vec<rustix::process::Gid>>,
    pub bounding: u64,
    pub ambient: u64,
    pub last_cap: u32,
    pub no_new_privs: bool,
    pub oom_score_adj: Option<CString>,
    pub mdwe: bool,
    pub keyring: Option<KeyringMode>,
    pub cwd: CString,
    pub cwd_fallback_root: bool,
    pub candidates: Vec<CString>,
    pub arrays: ExecArrays,
    // Owners of the strings `arrays` points into.
    _argv: Vec<CString>,
    _envp: Vec<CString>,
}

pub struct Prepared {
    pub ns_flags: u64,
    pub unshare_cgroupns: bool,
    pub landlock: LandlockPrep,
    pub seccomp: SeccompPrep,
    pub mounts: Vec<PMount>,
    /// The network namespace is made beside pid 1 by a helper (`launch::network`) while pid 1
    /// builds the root, rather than by clone(2) on the critical path. Not with a cgroup of
    /// the run's own: the namespace would be charged to the monitor's cgroup.
    pub net_by_helper: bool,
    /// Bring `lo` up in pid 1 (the namespace came with clone(2)).
    pub loopback: bool,
    pub payload: PayloadPrep,
    /// `sbx run --unit`: the unit's commands, which pid 1 runs instead of `payload`.
    pub sequence: Option<SequencePrep>,
    /// Rootless and without a cgroup of the run's own, pid 1 writes its id maps itself once it
    /// has the go-ahead (one line each mapping the caller's ids, setgroups denied first: what
    /// the kernel lets a process write for itself), and the monitor gives it sooner.
    pub own_id_maps: Option<OwnIdMaps>,
    /// `HostRoot=no`: pid 1 switches to uid and gid 0 inside its user namespace (the
    /// transient host id) once the monitor has written the maps, before its first mount.
    pub become_root: bool,
    /// Detached mount trees pid 1 attaches (`PMount::AttachTree`), made before clone.
    pub trees: Vec<OwnedFd>,
}

pub struct OwnIdMaps {
    pub uid_map: CString,
    pub gid_map: CString,
}

/// Sets `shared` on the inaccessible directories that no later operation creates an entry in
/// or mounts something below.
fn share_inaccessible_dirs(ops: &mut [PMount]) {
    for i in 0..ops.len() {
        let (head, later) = ops.split_at_mut(i + 1);
        let PMount::InaccessibleDir { target, shared } = &mut head[i] else { continue };
        let dir = target.to_bytes();
        *shared = !later.iter().any(|op| match op {
            PMount::Mkdir { parent, .. } | PMount::Touch { parent, .. } | PMount::Symlink { parent, .. } => {
                covers(dir, parent.to_bytes())
            }
            _ => mount_target(op).is_some_and(|t| t.to_bytes() != dir && covers(dir, t.to_bytes())),
        });
    }
}

/// A relative path of one component: no slash, and not "." or "..".
fn single_name(path: &CStr) -> bool {
    let b = path.to_bytes();
    !b.is_empty() && !b.contains(&b'/') && b != b"." && b != b".."
}

fn c(s: impl AsRef<std::ffi::OsStr>) -> Result<CString, Error> {
    use std::os::unix::ffi::OsStrExt;
    let s = s.as_ref();
    CString::new(s.as_bytes()).map_err(|_| Error::Launch(format!("{s:?} contains a NUL byte")))
}

/// A sandbox path relative to the root it is opened from: "/" is ".".
fn rel(path: &str) -> Result<CString, Error> {
    let r = path.trim_start_matches('/');
    c(if r.is_empty() { "." } else { r })
}

fn split(path: &str) -> Result<(CString, CString), Error> {
    let (parent, name) = path.rsplit_once('/').unwrap_or(("", path));
    Ok((rel(parent)?, c(name)?))
}

pub fn prepare(plan: &Plan) -> Result<Prepared, Error> {
    let n = &plan.namespaces;
    let flag = |on: bool, f: u64| if on { f } else { 0 };
    let ns_flags = flag(n.user, ns::CLONE_NEWUSER)
        | flag(n.mount, ns::CLONE_NEWNS)
        | flag(n.pid, ns::CLONE_NEWPID)
        | flag(n.net && plan.cgroup.is_some(), ns::CLONE_NEWNET)
        | flag(n.ipc, ns::CLONE_NEWIPC)
        | flag(n.uts, ns::CLONE_NEWUTS)
        // With a cgroup of its own, pid 1 unshares its cgroup namespace once it is placed, so
        // the payload sees that cgroup as its root.
        | flag(n.cgroup && plan.cgroup.is_none(), ns::CLONE_NEWCGROUP);
    let mut trees = Vec::new();
    let mut mounts: Vec<PMount> =
        plan.mounts.iter().map(|m| mount(&m.op, plan, &mut trees)).collect::<Result<_, _>>()?;
    share_inaccessible_dirs(&mut mounts);
    let l = &plan.landlock;
    let landlock = LandlockPrep {
        abi: l.abi,
        handled_fs: l.handled_fs,
        handled_net: l.handled_net,
        scoped: l.scoped,
        paths: l.paths.iter().map(|r| Ok((c(&r.path)?, r.access))).collect::<Result<_, Error>>()?,
        ports: l.ports.clone(),
    };
    let unshare_cgroupns = n.cgroup && plan.cgroup.is_some();
    Ok(Prepared {
        ns_flags,
        unshare_cgroupns,
        landlock,
        seccomp: seccomp(plan)?,
        mounts,
        net_by_helper: n.net && plan.cgroup.is_none(),
        loopback: plan.loopback_up && plan.cgroup.is_some(),
        payload: payload(plan)?,
        sequence: sequence::prepare(plan)?,
        own_id_maps: own_id_maps(plan)?,
        become_root: plan.identity.host_id.is_some(),
        trees,
    })
}

fn own_id_maps(plan: &Plan) -> Result<Option<OwnIdMaps>, Error> {
    let rootless = plan.mode == crate::plan::Mode::Rootless && plan.cgroup.is_none();
    match &plan.id_map {
        Some(m) if rootless && m.deny_setgroups => {
            Ok(Some(OwnIdMaps { uid_map: c(&m.uid_map)?, gid_map: c(&m.gid_map)? }))
        }
        _ => Ok(None),
    }
}

fn mount(op: &MountOp, plan: &Plan, trees: &mut Vec<OwnedFd>) -> Result<PMount, Error> {
    Ok(match op {
        MountOp::Bind { source, target, idmap: true, .. } => {
            let host_id =
                plan.identity.host_id.ok_or_else(|| Error::Launch("an idmapped bind without HostRoot=no".into()))?;
            match crate::launch::idmap::working_directory(source, host_id) {
                Ok(tree) => {
                    trees.push(tree);
                    PMount::AttachTree { target: rel(target)?, tree: trees.len() - 1 }
                }
                Err(crate::launch::idmap::IdmapError::Namespace(e)) => {
                    return Err(crate::launch::diagnose::clone_failed(plan, e));
                }
                // A permission falls short, no protection: the directory is bound as it is.
                Err(crate::launch::idmap::IdmapError::Mount(why)) => {
                    eprintln!("sbx: {why}");
                    PMount::Bind {
                        source: rel(source)?,
                        target: rel(target)?,
                        readonly: false,
                        recursive: false,
                        attrs: 0,
                        by_name: false,
                    }
                }
            }
        }
        MountOp::RootTmpfs => PMount::RootTmpfs,
        MountOp::RootBind { source, readonly } => PMount::RootBind { source: rel(source)?, readonly: *readonly },
        MountOp::Mkdir { path, mode } => {
            let (parent, name) = split(path)?;
            PMount::Mkdir { parent, name, mode: *mode }
        }
        MountOp::Touch { path } => {
            let (parent, name) = split(path)?;
            PMount::Touch { parent, name }
        }
        MountOp::Symlink { path, target } => {
            let (parent, name) = split(path)?;
            PMount::Symlink { parent, name, target: c(target)? }
        }
        MountOp::Bind { source, target, kind, readonly, recursive, nosuid_noexec, .. } => {
            let (source, target) = (rel(source)?, rel(target)?);
            let by_name = *kind == FileKind::Dir && single_name(&source) && single_name(&target);
            PMount::Bind {
                source,
                target,
                readonly: *readonly,
                recursive: *recursive,
                attrs: if *nosuid_noexec { MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC } else { 0 },
                by_name,
            }
        }
        MountOp::SelfBind { target, readonly } => PMount::SelfBind { target: rel(target)?, readonly: *readonly },
        MountOp::Tmpfs { target, mode, options, nosuid, nodev, noexec } => {
            let attrs = if *nosuid { MOUNT_ATTR_NOSUID } else { 0 }
                | if *nodev { MOUNT_ATTR_NODEV } else { 0 }
                | if *noexec { MOUNT_ATTR_NOEXEC } else { 0 };
            let options = options
                .split(',')
                .filter(|o| !o.is_empty())
                .map(|o| match o.split_once('=') {
                    Some((k, v)) => Ok((c(k)?, Some(c(v)?))),
                    None => Ok((c(o)?, None)),
                })
                .collect::<Result<_, Error>>()?;
            PMount::Tmpfs { target: rel(target)?, mode: c(&format!("{mode:o}"))?, options, attrs }
        }
        MountOp::Proc { target, hidepid, subset_pid } => {
            PMount::Proc { target: rel(target)?, hidepid: hidepid.map(c).transpose()?, subset_pid: *subset_pid }
        }
        MountOp::Sysfs { target } => PMount::Sysfs { target: rel(target)? },
        MountOp::Devpts { target } => PMount::Devpts { target: rel(target)? },
        MountOp::Mqueue { target } => PMount::Mqueue { target: rel(target)? },
        MountOp::Inaccessible { target, kind: FileKind::Dir } => {
            PMount::InaccessibleDir { target: rel(target)?, shared: false }
        }
        MountOp::Inaccessible { target, .. } => PMount::InaccessibleFile { target: rel(target)? },
        MountOp::RemountReadOnly { target } => PMount::RemountReadOnly { target: rel(target)? },
    })
}

fn seccomp(plan: &Plan) -> Result<SeccompPrep, Error> {
    let s = &plan.seccomp;
    let page = if s.listener {
        Some(SharedPage::new().map_err(|e| Error::io("map the seccomp hand-over page", e.into()))?)
    } else {
        None
    };
    let mut verdicts = s.verdicts.clone();
    verdicts.sort_by_key(|(nr, _)| *nr);
    Ok(SeccompPrep {
        program: s.program.clone(),
        fallback: s.fallback.clone(),
        listener: s.listener,
        verdicts,
        default_verdict: s.default_verdict,
        native_arch: s.arch.audit_arch(),
        x32_bit: s.filter.reject_x32,
        page,
        dumpable_for_handover: plan.mode == crate::plan::Mode::Rootless || plan.identity.host_id.is_some(),
    })
}

pub(super) fn payload(plan: &Plan) -> Result<PayloadPrep, Error> {
    let e = &plan.exec;
    let argv: Vec<CString> = e.argv.iter().map(|a| c(a)).collect::<Result<_, _>>()?;
    let envp: Vec<CString> = e.env.iter().map(|a| c(a)).collect::<Result<_, _>>()?;
    let nul_terminated =
        |v: &[CString]| v.iter().map(|s| s.as_ptr()).chain(std::iter::once(std::ptr::null())).collect();
    let arrays = ExecArrays { argv: nul_terminated(&argv), envp: nul_terminated(&envp) };
    let last_cap =
        std::fs::read_to_string("/proc/sys/kernel/cap_last_cap").ok().and_then(|s| s.trim().parse().ok()).unwrap_or(40);
    Ok(PayloadPrep {
        rlimits: e.rlimits.iter().map(|r| (r.resource, r.soft, r.hard)).collect(),
        nice: e.nice,
        umask: e.umask,
        switch_ids: plan.identity.switch,
        uid: plan.identity.uid,
        gid: plan.identity.gid,
        groups: plan.identity.groups.as_ref().map(|g| g.iter().map(|g| rustix::process::Gid::from_raw(*g)).collect()),
        bounding: plan.caps.bounding_mask,
        ambient: plan.caps.ambient_mask,
        last_cap,
        no_new_privs: plan.caps.no_new_privs,
        oom_score_adj: e.oom_score_adjust.map(|v| c(&v.to_string())).transpose()?,
        mdwe: plan.seccomp.mdwe_prctl,
        keyring: plan.seccomp.keyring,
        cwd: c(&e.cwd)?,
        cwd_fallback_root: e.cwd_fallback_root,
        candidates: e.candidates.iter().map(|a| c(a)).collect::<Result<_, _>>()?,
        arrays,
        _argv: argv,
        _envp: envp,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir(target: &CStr) -> PMount {
        PMount::InaccessibleDir { target: target.into(), shared: false }
    }

    fn shared(ops: &[PMount]) -> Vec<bool> {
        ops.iter()
            .filter_map(|op| if let PMount::InaccessibleDir { shared, .. } = op { Some(*shared) } else { None })
            .collect()
    }

    #[test]
    fn an_inaccessible_directory_is_shared_unless_something_lands_below_it() {
        let mut ops = vec![
            dir(c"srv"),
            dir(c"opt"),
            dir(c"var/lib"),
            PMount::Mkdir { parent: c"srv".into(), name: c"etc".into(), mode: 0o755 },
            PMount::RemountReadOnly { target: c"opt".into() },
            PMount::Tmpfs { target: c"var/lib/x".into(), mode: c"755".into(), options: Vec::new(), attrs: 0 },
            PMount::Bind {
                source: c"etc".into(),
                target: c"srvx".into(),
                readonly: true,
                recursive: true,
                attrs: 0,
                by_name: true,
            },
        ];
        share_inaccessible_dirs(&mut ops);
        // srv: an entry is created in it; opt: only itself is changed; var/lib: a mount below.
        assert_eq!(shared(&ops), [false, true, false]);
        let mut later_only = vec![PMount::Mkdir { parent: c"srv".into(), name: c"a".into(), mode: 0o755 }, dir(c"srv")];
        share_inaccessible_dirs(&mut later_only);
        assert_eq!(shared(&later_only), [true], "what came before does not count");
    }

    #[test]
    fn pid_1_maps_its_own_ids_only_rootless_and_without_a_cgroup() {
        use crate::plan::tests::plan_as;
        let own = |uid: u32, lines: &str| own_id_maps(&plan_as(uid, lines).unwrap()).unwrap();
        let maps = own(1000, "").expect("rootless");
        assert_eq!((maps.uid_map.to_bytes(), maps.gid_map.to_bytes()), (&b"1000 1000 1\n"[..], &b"1000 1000 1\n"[..]));
        assert!(own(0, "PrivateUsers=yes").is_none(), "root maps a range: the monitor writes it");
        let mut limited = plan_as(1000, "").unwrap();
        limited.cgroup = Some(crate::plan::cgroup::CgroupPlan {
            parent: "/sys/fs/cgroup/user.slice".into(),
            create: Vec::new(),
            enable: Vec::new(),
            files: vec![("memory.max".into(), "1073741824".into())],
            memory_max: Some("1G".into()),
        });
        assert!(own_id_maps(&limited).unwrap().is_none(), "pid 1 waits to be placed in its cgroup");
    }

    #[test]
    fn only_one_plain_component_is_a_single_name() {
        assert!(single_name(c"etc") && single_name(c"lost+found") && single_name(c".hidden"));
        for path in [c"", c".", c"..", c"run/user", c"etc/", c"/etc"] {
            assert!(!single_name(path), "{path:?}");
        }
    }
}
