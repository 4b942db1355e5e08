//! A fresh /proc in a new pid namespace, as every sandbox mounts one: tried for real in a
//! child (new namespaces, a private tmpfs on /tmp, procfs through fsopen/fsmount as the
//! launch does, then attached there and checked to show the new pid namespace).
//!
//! Invariant: the child makes its mount tree private before mounting anything, so nothing
//! reaches the host, and everything vanishes with it. The explanation of a refusal (the
//! container masks /proc paths, so the kernel refuses a procfs that would reveal them) is
//! pure over the mount table.

use rustix::fs::{Mode, OFlags};
use rustix::mount::{FsMountFlags, FsOpenFlags, MountAttrFlags, MountFlags, MountPropagationFlags, MoveMountFlags};

use super::child::{self, ChildError, Record, Reporter};
use super::userns::{self, Facts as UsernsFacts, Step as UsernsStep};
use super::{Finding, Fix, Impact, Status, engines};
use crate::error::describe_errno;
use crate::host::mountinfo::Mount;
use crate::sys::Errno;
use crate::sys::ns::{CLONE_NEWNS, CLONE_NEWPID, CLONE_NEWUSER, Forked, exit_now, fork_into};
use crate::sys::probe::unshare_namespaces;

/// The steps of the probe, as its record numbers them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    Unshare = 1,
    Private = 2,
    Fork = 3,
    Tmpfs = 4,
    NewProc = 5,
    MountProc = 6,
    Attach = 7,
    /// The new /proc did not show the new pid namespace.
    Verify = 8,
}

const STEPS: [Step; 8] =
    [Step::Unshare, Step::Private, Step::Fork, Step::Tmpfs, Step::NewProc, Step::MountProc, Step::Attach, Step::Verify];

impl Step {
    fn from_record(n: u32) -> Option<Step> {
        STEPS.into_iter().find(|s| *s as u32 == n)
    }

    fn describe(self, user_ns: bool) -> &'static str {
        match self {
            Step::Unshare if user_ns => "unshare(CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID)",
            Step::Unshare => "unshare(CLONE_NEWNS | CLONE_NEWPID)",
            Step::Private => "making the new mount tree private",
            Step::Fork => "forking into the new pid namespace",
            Step::Tmpfs => "mounting a tmpfs on /tmp in the new mount namespace",
            Step::NewProc => "creating a procfs (fsopen, fsconfig)",
            Step::MountProc => "mounting the new procfs (fsmount)",
            Step::Attach => "attaching the new procfs (move_mount)",
            Step::Verify => "checking that the new /proc shows the new pid namespace",
        }
    }
}

/// One try: with a user namespace (rootless, PrivateUsers=) or without (root mode).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Attempt {
    pub user_ns: bool,
    pub outcome: Result<Record, ChildError>,
}

impl Attempt {
    fn failure(&self) -> Option<(Step, Option<Errno>)> {
        match &self.outcome {
            Ok(r) if r.step == 0 => None,
            Ok(r) => Some((Step::from_record(r.step).unwrap_or(Step::Verify), r.errno())),
            Err(_) => Some((Step::Unshare, None)),
        }
    }
}

/// The tries doctor makes: sbx's mode for this caller first; as root also with a user
/// namespace (PrivateUsers=) when one can be created.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Attempts {
    pub mode: Attempt,
    pub private_users: Option<Attempt>,
}

pub fn run(root: bool, userns_works: bool) -> Attempts {
    let attempt = |user_ns| Attempt { user_ns, outcome: probe(user_ns) };
    Attempts { mode: attempt(!root), private_users: (root && userns_works).then(|| attempt(true)) }
}

/// Forks a child that enters new namespaces and mounts a procfs there.
pub fn probe(user_ns: bool) -> Result<Record, ChildError> {
    let flags = CLONE_NEWNS | CLONE_NEWPID | if user_ns { CLONE_NEWUSER } else { 0 };
    child::run(|r| {
        if let Err(e) = unshare_namespaces(flags) {
            return r.send(Record::failed(Step::Unshare as u32, e));
        }
        let private = MountPropagationFlags::PRIVATE | MountPropagationFlags::REC;
        if let Err(e) = rustix::mount::mount_change(c"/", private) {
            return r.send(Record::failed(Step::Private as u32, e));
        }
        match fork_into(0) {
            Ok(Forked::Child) => {
                in_new_pid_namespace(r);
                exit_now(0)
            }
            Ok(Forked::Parent { child }) => {
                let pid = rustix::process::Pid::from_raw(child);
                let _ = rustix::process::waitpid(pid, rustix::process::WaitOptions::empty());
            }
            Err(e) => r.send(Record::failed(Step::Fork as u32, e)),
        }
    })
}

/// pid 1 of the new pid namespace: the mounts a sandbox's /proc needs, in a private tree.
fn in_new_pid_namespace(r: &Reporter) {
    let fail = |step: Step, e: Errno| r.send(Record::failed(step as u32, e));
    let tmpfs = rustix::mount::mount(c"tmpfs", c"/tmp", c"tmpfs", MountFlags::NOSUID | MountFlags::NODEV, c"mode=0755");
    if let Err(e) = tmpfs {
        return fail(Step::Tmpfs, e);
    }
    let fs = match rustix::mount::fsopen(c"proc", FsOpenFlags::FSOPEN_CLOEXEC).and_then(|fs| {
        rustix::mount::fsconfig_create(&fs)?;
        Ok(fs)
    }) {
        Ok(fs) => fs,
        Err(e) => return fail(Step::NewProc, e),
    };
    let attrs =
        MountAttrFlags::MOUNT_ATTR_NOSUID | MountAttrFlags::MOUNT_ATTR_NODEV | MountAttrFlags::MOUNT_ATTR_NOEXEC;
    let mnt = match rustix::mount::fsmount(&fs, FsMountFlags::FSMOUNT_CLOEXEC, attrs) {
        Ok(m) => m,
        Err(e) => return fail(Step::MountProc, e),
    };
    let cwd = rustix::fs::CWD;
    if let Err(e) = rustix::mount::move_mount(&mnt, c"", cwd, c"/tmp", MoveMountFlags::MOVE_MOUNT_F_EMPTY_PATH) {
        return fail(Step::Attach, e);
    }
    let shows_us = rustix::fs::open(c"/tmp/1/stat", OFlags::RDONLY | OFlags::CLOEXEC, Mode::empty()).is_ok()
        && rustix::fs::readlink(c"/tmp/self", Vec::new()).is_ok_and(|l| l.as_bytes() == b"1");
    r.send(if shows_us { Record::OK } else { Record { step: Step::Verify as u32, errno: 0 } });
}

/// Mount points below a procfs mount, except binfmt_misc (its mount point is a permanently
/// empty directory): what a container masks (kcore, keys, timer_list, /proc/sys read-only
/// ...). The kernel refuses a new procfs in a user namespace while such mounts, locked by
/// that namespace, hide parts of the existing one ("mount_too_revealing").
pub fn masked_paths(mounts: &[Mount]) -> Vec<String> {
    let procs: Vec<&str> = mounts.iter().filter(|m| m.fstype == "proc").map(|m| m.point.as_str()).collect();
    let mut out: Vec<String> = mounts
        .iter()
        .filter(|m| m.fstype != "binfmt_misc")
        .filter(|m| procs.iter().any(|p| m.point.starts_with(&format!("{}/", p.trim_end_matches('/')))))
        .map(|m| m.point.clone())
        .collect();
    out.dedup();
    out
}

/// What explains a refusal.
pub struct Facts<'a> {
    pub userns: &'a UsernsFacts,
    pub masked: Vec<String>,
}

pub fn finding(f: &Facts, a: &Attempts) -> Finding {
    const ID: &str = "procfs";
    const TITLE: &str = "fresh /proc";
    let root = f.userns.euid == 0;
    match (a.mode.failure(), a.private_users.as_ref().and_then(|p| p.failure().map(|fl| (p, fl)))) {
        (None, None) => {
            let how = match (root, &a.private_users) {
                (true, Some(_)) => "without a user namespace (root mode) and with one (PrivateUsers=)",
                (true, None) => "without a user namespace (root mode; PrivateUsers= not tried: no user namespace)",
                (false, _) => "in a new user, mount and pid namespace",
            };
            Finding::new(
                ID,
                TITLE,
                Status::Ok,
                format!("a new procfs mounts {how} and shows only the new pid namespace"),
            )
            .impact(Impact::EverySandbox)
        }
        (None, Some((pu, failure))) => {
            let (summary, details, fixes) = explain(f, pu, failure);
            let mut fd = Finding::new(ID, TITLE, Status::Limited, format!("with PrivateUsers=: {summary}"))
                .fixes(fixes)
                .impact(Impact::Directives(vec!["PrivateUsers"]));
            for d in details {
                fd = fd.detail(d);
            }
            fd.detail("root mode (no user namespace) mounts a fresh /proc")
        }
        (Some(failure), pu) => {
            let (summary, details, fixes) = explain(f, &a.mode, failure);
            let mut fd = Finding::new(ID, TITLE, Status::Missing, summary).fixes(fixes).impact(Impact::EverySandbox);
            for d in details {
                fd = fd.detail(d);
            }
            if let (Some(p), None) = (&a.private_users, pu) {
                if p.failure().is_none() {
                    fd = fd.detail("with PrivateUsers=yes (a user namespace) it works: sbx as root could use that");
                }
            }
            if a.mode.outcome.is_err() {
                fd.status = Status::Unknown;
            }
            fd
        }
    }
}

/// Summary, details and fixes for one failed attempt.
fn explain(f: &Facts, a: &Attempt, (step, errno): (Step, Option<Errno>)) -> (String, Vec<String>, Vec<Fix>) {
    let e = match (&a.outcome, errno) {
        (Err(err), _) => return (format!("the probe failed: {err}"), Vec::new(), Vec::new()),
        (Ok(_), None) => return (format!("{} failed", step.describe(a.user_ns)), Vec::new(), Vec::new()),
        (Ok(_), Some(e)) => e,
    };
    let summary = format!("{} fails: {}", step.describe(a.user_ns), describe_errno(e));
    match step {
        Step::Unshare => {
            let cause = if a.user_ns { userns::cause(f.userns, UsernsStep::Create, e) } else { userns::clone_cause(f.userns, false, e) };
            match cause {
                Some(c) => (summary, vec![format!("cause: {}", c.why)], c.fixes),
                None => (summary, Vec::new(), Vec::new()),
            }
        }
        Step::Private | Step::Tmpfs if e == Errno::PERM => (
            summary,
            vec!["cause: mounts are refused even in a mount namespace of sbx's own: sbx runs in a Landlock domain (inside an sbx sandbox, for one) or under an LSM policy that forbids mount(2)".into()],
            vec![Fix::note("run sbx outside that sandbox, or let the policy allow mounts")],
        ),
        Step::MountProc | Step::NewProc if e == Errno::PERM && a.user_ns => {
            let (details, fixes) = masked(f);
            (summary, details, fixes)
        }
        _ => (summary, Vec::new(), Vec::new()),
    }
}

fn masked(f: &Facts) -> (Vec<String>, Vec<Fix>) {
    let mut details = vec![if f.masked.is_empty() {
        "cause: the existing /proc is not fully visible in this mount namespace, and the kernel refuses a new procfs in a user namespace that would reveal what is hidden (mount_too_revealing)".to_string()
    } else {
        format!(
            "cause: /proc is masked: {} {} mounted over, and the kernel refuses a new procfs in a user namespace that would reveal what these hide (mount_too_revealing)",
            f.masked.join(", "),
            if f.masked.len() == 1 { "is" } else { "are" }
        )
    }];
    details
        .push("container engines mask these paths by default; bubblewrap fails here with \"Can't mount proc\"".into());
    let mut fixes = Vec::new();
    for e in engines(f.userns.engine.as_ref()) {
        fixes.push(match e {
            "docker" => Fix::engine(e, "--security-opt systempaths=unconfined"),
            _ => Fix::engine(e, "--security-opt unmask=ALL"),
        });
    }
    if f.userns.engine == Some(super::container::Engine::Kubernetes) {
        fixes = vec![Fix::engine("kubernetes", "securityContext.procMount: Unmasked (with hostUsers: false)")];
    }
    fixes.push(Fix::note(if f.userns.euid == 0 {
        "in the profile: without PrivateUsers=, sbx as root mounts /proc without a user namespace of its own, where the masks do not stop it (that needs CAP_SYS_ADMIN, and a container without a user namespace)"
    } else {
        "in the profile: nothing; every sandbox mounts a /proc of its own, and no directive changes what the kernel refuses here"
    }));
    (details, fixes)
}

/// For `sbx run`: why a fresh procfs was refused in the sandbox's user namespace (EPERM), read
/// from this host: the cause lines and the fixes.
pub fn explain_refused_proc() -> (Vec<String>, Vec<Fix>) {
    let mounts = super::mountinfo::parse(&super::read("/proc/self/mountinfo").unwrap_or_default());
    let userns = userns::read_host();
    masked(&Facts { userns: &userns, masked: masked_paths(&mounts) })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::doctor::container::Engine;
    use crate::doctor::seccomp::SeccompState;
    use crate::host::mountinfo;

    fn facts(euid: u32, engine: Option<Engine>) -> UsernsFacts {
        UsernsFacts {
            euid,
            kernel: (6, 18),
            sys_admin: euid == 0,
            setfcap: euid == 0,
            max_user_namespaces: Some(63000),
            unprivileged_userns_clone: None,
            apparmor_restrict: None,
            seccomp: SeccompState { mode: Some(0), filters: Some(0) },
            engine,
            exe: "/sbx".into(),
            tried: Default::default(),
        }
    }

    fn at(user_ns: bool, step: u32, e: Option<Errno>) -> Attempt {
        Attempt { user_ns, outcome: Ok(Record { step, errno: e.map_or(0, |e| e.raw_os_error()) }) }
    }

    const PODMAN_MOUNTS: &str = "\
600 500 0:60 / / rw - overlay overlay rw,lowerdir=/var/lib/containers/storage/overlay/l/A
610 600 0:61 / /proc rw,nosuid,nodev,noexec - proc proc rw
611 610 0:62 / /proc/acpi ro - tmpfs tmpfs ro
612 610 0:5 /null /proc/kcore rw - devtmpfs devtmpfs rw
613 610 0:5 /null /proc/keys rw - devtmpfs devtmpfs rw
614 610 0:61 /sys /proc/sys ro - proc proc rw
615 600 0:63 / /sys ro - sysfs sysfs ro
";

    #[test]
    fn masked_paths_are_the_overmounts_below_proc() {
        let m = mountinfo::parse(PODMAN_MOUNTS);
        assert_eq!(masked_paths(&m), ["/proc/acpi", "/proc/kcore", "/proc/keys", "/proc/sys"]);
        let host = mountinfo::parse(
            "22 27 0:21 / /proc rw - proc proc rw\n50 22 0:45 / /proc/sys/fs/binfmt_misc rw - binfmt_misc binfmt_misc rw\n",
        );
        assert!(masked_paths(&host).is_empty());
    }

    #[test]
    fn masked_proc_is_named_with_the_engine_option() {
        let u = facts(1000, Some(Engine::Podman));
        let f = Facts { userns: &u, masked: masked_paths(&mountinfo::parse(PODMAN_MOUNTS)) };
        let a = Attempts { mode: at(true, Step::MountProc as u32, Some(Errno::PERM)), private_users: None };
        let out = finding(&f, &a);
        assert_eq!(out.status, Status::Missing);
        assert!(
            out.summary.contains("mounting the new procfs (fsmount) fails: operation not permitted (EPERM)"),
            "{}",
            out.summary
        );
        assert!(
            out.details[0].contains("/proc/acpi, /proc/kcore, /proc/keys, /proc/sys are mounted over"),
            "{:?}",
            out.details
        );
        assert!(out.details[0].contains("mount_too_revealing"));
        assert_eq!(out.fixes[0], Fix::engine("podman", "--security-opt unmask=ALL"));
        assert!(out.fixes[1].to_string().starts_with("in the profile: nothing"), "{:?}", out.fixes);
        let unknown_engine = facts(1000, None);
        let f = Facts { userns: &unknown_engine, masked: vec![] };
        let fixes = finding(&f, &a).fixes;
        assert!(fixes.contains(&Fix::engine("docker", "--security-opt systempaths=unconfined")), "{fixes:?}");
        assert!(fixes.contains(&Fix::engine("podman", "--security-opt unmask=ALL")));
    }

    #[test]
    fn root_mode_can_work_while_private_users_cannot() {
        let u = facts(0, Some(Engine::Docker));
        let f = Facts { userns: &u, masked: vec!["/proc/kcore".into()] };
        let a = Attempts {
            mode: at(false, 0, None),
            private_users: Some(at(true, Step::MountProc as u32, Some(Errno::PERM))),
        };
        let out = finding(&f, &a);
        assert_eq!(out.status, Status::Limited);
        assert_eq!(out.impact, Impact::Directives(vec!["PrivateUsers"]));
        assert!(out.summary.starts_with("with PrivateUsers=: "), "{}", out.summary);
        assert_eq!(out.fixes[0], Fix::engine("docker", "--security-opt systempaths=unconfined"));
        assert!(out.fixes[1].to_string().contains("without PrivateUsers="), "{:?}", out.fixes);
    }

    #[test]
    fn a_refused_unshare_gets_the_user_namespace_cause() {
        let mut u = facts(1000, None);
        u.max_user_namespaces = Some(0);
        let f = Facts { userns: &u, masked: vec![] };
        let a = Attempts { mode: at(true, Step::Unshare as u32, Some(Errno::NOSPC)), private_users: None };
        let out = finding(&f, &a);
        assert_eq!((out.status, out.impact.clone()), (Status::Missing, Impact::EverySandbox));
        assert!(out.details[0].contains("user.max_user_namespaces is 0"), "{:?}", out.details);
        let mut root = facts(0, Some(Engine::Docker));
        root.sys_admin = false;
        let f = Facts { userns: &root, masked: vec![] };
        let a = Attempts {
            mode: at(false, Step::Unshare as u32, Some(Errno::PERM)),
            private_users: Some(at(true, 0, None)),
        };
        let out = finding(&f, &a);
        assert!(out.details[0].contains("without CAP_SYS_ADMIN"), "{:?}", out.details);
        assert!(out.details.iter().any(|d| d.contains("PrivateUsers=yes")), "{:?}", out.details);
    }

    #[test]
    fn mounts_refused_in_a_namespace_of_its_own_point_at_landlock() {
        let u = facts(1000, None);
        let f = Facts { userns: &u, masked: vec![] };
        let out =
            finding(&f, &Attempts { mode: at(true, Step::Private as u32, Some(Errno::PERM)), private_users: None });
        assert_eq!(out.status, Status::Missing);
        assert!(out.details[0].contains("Landlock domain"), "{:?}", out.details);
    }

    #[test]
    fn everything_works() {
        let u = facts(1000, None);
        let f = Facts { userns: &u, masked: vec![] };
        let out = finding(&f, &Attempts { mode: at(true, 0, None), private_users: None });
        assert_eq!(out.status, Status::Ok);
        let killed =
            Attempts { mode: Attempt { user_ns: true, outcome: Err(ChildError::Killed(31)) }, private_users: None };
        assert_eq!(finding(&f, &killed).status, Status::Unknown);
        let verify = finding(&f, &Attempts { mode: at(true, Step::Verify as u32, None), private_users: None });
        assert!(verify.summary.contains("shows the new pid namespace"), "{}", verify.summary);
    }
}
