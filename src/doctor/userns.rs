//! User namespaces: can this caller create one and map its ids (tried for real in a child),
//! can root map uid 0 into one, and when not, which host setting forbids it and how to lift
//! it. `explain_clone` is what `sbx run` prints when clone(2) is refused, so both commands
//! name the same cause.
//!
//! Invariant: `cause` is pure over `Facts`, keyed by the step that failed and its errno, and
//! returns `None` rather than guess; only `Facts::read` and the probes touch the host, and a
//! probe's namespace dies with its child. A fix that asks for something on this host (a
//! profile line, another user) is offered only when a throwaway child has tried what it needs
//! here and it worked (`Tried`): under Docker's default profile, say, PrivateUsers=yes is
//! refused by the same filter as root mode and is not offered.

use super::child::{self, ChildError, Record};
use super::container::{self, Engine};
use super::seccomp::SeccompState;
use super::{Finding, Fix, Impact, Status, engines, read, read_number, status_field};
use crate::error::describe_errno;
use crate::host::HostFacts;
use crate::host::mountinfo;
use crate::sys::Errno;
use crate::sys::ns::CLONE_NEWUSER;
use crate::sys::probe::unshare_namespaces;

/// The way out when namespaces are refused, offered by `sbx run` and `sbx doctor` alike.
pub const BEST_EFFORT: &str = "or: sbx run --best-effort runs with what needs no namespace (Landlock, seccomp, capabilities) and reports what that weakens";

const CAP_SYS_ADMIN: u32 = 21;
const CAP_SETFCAP: u32 = 31;

/// What decides whether user namespaces work.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Facts {
    pub euid: u32,
    pub kernel: (u32, u32),
    /// CAP_SYS_ADMIN in sbx's effective set (Debian's switch and root mode depend on it).
    pub sys_admin: bool,
    /// CAP_SETFCAP in sbx's effective set (mapping uid 0 needs it, Linux 5.12+).
    pub setfcap: bool,
    pub max_user_namespaces: Option<i64>,
    /// Debian's and older Ubuntu's switch.
    pub unprivileged_userns_clone: Option<i64>,
    /// Ubuntu 23.10+.
    pub apparmor_restrict: Option<i64>,
    pub seccomp: SeccompState,
    /// The container engine around sbx, when known for certain.
    pub engine: Option<Engine>,
    /// sbx's own path, for an AppArmor profile.
    pub exe: String,
    /// What the fixes on this host need, tried (as root only; all false otherwise).
    pub tried: Tried,
}

/// What the fixes `cause` and `clone_cause` can offer need, each tried by a throwaway child.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Tried {
    /// A user namespace with uid 0 mapped into it (CAP_SETFCAP), and a user, mount and pid
    /// namespace with a fresh procfs (`procfs::probe`: a container's masked /proc, or an outer
    /// Landlock domain, refuses that): what PrivateUsers=yes as root needs.
    pub private_users: bool,
    /// A user namespace made by another uid (65534), mapping itself: sbx run by a non-root user.
    pub unprivileged: bool,
    /// Mount and pid namespaces without a user namespace, with a fresh procfs: sbx's root mode.
    pub root_mode: bool,
}

/// The uid the unprivileged try switches to.
const NOBODY: u32 = 65534;

impl Tried {
    /// Runs the tries (a few forks; only on a failure path or in `sbx doctor`).
    pub fn probe(euid: u32) -> Tried {
        if euid != 0 {
            return Tried::default();
        }
        let ok = |o: Result<Record, ChildError>| matches!(o, Ok(r) if r == Record::OK);
        let private_users = ok(probe(0).outcome) && ok(super::procfs::probe(true));
        Tried { private_users, unprivileged: ok(probe_as(NOBODY)), root_mode: ok(super::procfs::probe(false)) }
    }
}

/// As `probe`, in a child that first becomes `uid` (group `uid` too, no supplementary groups).
fn probe_as(uid: u32) -> Result<Record, ChildError> {
    use rustix::process::{Gid, Uid};
    child::run(|r| {
        let (gid, id) = (Gid::from_raw(uid), Uid::from_raw(uid));
        let switched = rustix::thread::set_thread_groups(&[])
            .and_then(|()| rustix::thread::set_thread_res_gid(gid, gid, gid))
            .and_then(|()| rustix::thread::set_thread_res_uid(id, id, id));
        if let Err(e) = switched {
            return r.send(Record::failed(STEP_CREATE, e));
        }
        r.send(map_self(uid))
    })
}

impl Facts {
    pub fn read(host: &HostFacts, container: Option<&container::Container>) -> Facts {
        let status = read("/proc/self/status").unwrap_or_default();
        let caps = status_field(&status, "CapEff").and_then(|v| u64::from_str_radix(v, 16).ok()).unwrap_or(0);
        Facts {
            euid: host.euid,
            kernel: host.kernel,
            sys_admin: caps & (1 << CAP_SYS_ADMIN) != 0,
            setfcap: caps & (1 << CAP_SETFCAP) != 0,
            max_user_namespaces: read_number("/proc/sys/user/max_user_namespaces"),
            unprivileged_userns_clone: read_number("/proc/sys/kernel/unprivileged_userns_clone"),
            apparmor_restrict: read_number("/proc/sys/kernel/apparmor_restrict_unprivileged_userns"),
            seccomp: SeccompState::parse(&status),
            // A guess (only /.dockerenv) names no engine: the fixes then cover the common ones.
            engine: container.filter(|c| c.certain).map(|c| c.engine.clone()),
            exe: std::env::current_exe().map_or_else(|_| "/usr/bin/sbx".into(), |p| p.to_string_lossy().into_owned()),
            tried: Tried::probe(host.euid),
        }
    }
}

/// Where creating a usable user namespace failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    /// unshare(2) or clone(2) with CLONE_NEWUSER.
    Create,
    /// Writing /proc/PID/uid_map.
    MapIds,
}

/// The host setting behind a refusal, and how to lift it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cause {
    pub why: String,
    pub fixes: Vec<Fix>,
}

impl Cause {
    /// `cause: ...` then one `fix: ...` line per fix, as `sbx run` prints them.
    pub fn render(&self) -> String {
        let mut s = format!("cause: {}", self.why);
        for f in &self.fixes {
            s.push_str(&format!("\nfix: {f}"));
        }
        s
    }
}

/// Why creating (or mapping ids in) a user namespace failed with `e`, if the host says.
pub fn cause(f: &Facts, step: Step, e: Errno) -> Option<Cause> {
    match (step, e) {
        (_, Errno::NOSPC | Errno::USERS) if f.max_user_namespaces == Some(0) => Some(Cause {
            why: "user namespaces are disabled: user.max_user_namespaces is 0".into(),
            fixes: vec![Fix::sysctl("user.max_user_namespaces", "15000")],
        }),
        (_, Errno::NOSPC | Errno::USERS) => Some(Cause {
            why: format!(
                "the limit on user namespaces is reached: user.max_user_namespaces is {} here and an enclosing namespace's limit counts too, or namespaces are nested 32 deep",
                f.max_user_namespaces.map_or_else(|| "unknown".into(), |n| n.to_string())
            ),
            fixes: vec![Fix::sysctl("user.max_user_namespaces", "15000"), Fix::note("or run sbx fewer levels deep")],
        }),
        (Step::Create, Errno::INVAL) => Some(Cause {
            why: "the kernel has no user namespaces (built without CONFIG_USER_NS)".into(),
            fixes: vec![Fix::note("use a kernel built with CONFIG_USER_NS=y (every distribution kernel is)")],
        }),
        (Step::Create, Errno::PERM) if f.unprivileged_userns_clone == Some(0) && !f.sys_admin => Some(Cause {
            why: "unprivileged user namespaces are disabled: kernel.unprivileged_userns_clone is 0 (Debian's switch)"
                .into(),
            fixes: vec![Fix::sysctl("kernel.unprivileged_userns_clone", "1")],
        }),
        (Step::Create, Errno::PERM) if f.seccomp.filtered() => Some(seccomp_cause(f, "unshare(CLONE_NEWUSER)")),
        (_, Errno::PERM | Errno::ACCESS) if f.apparmor_restrict == Some(1) && !f.sys_admin => Some(apparmor_cause(f)),
        (Step::MapIds, Errno::PERM) if f.euid == 0 && !f.setfcap && f.kernel >= (5, 12) => Some(root_map_cause(f)),
        _ => None,
    }
}

/// Why clone(2) for a sandbox failed: with a user namespace (`user`), as `cause`; without one
/// (root mode), a filter or a missing CAP_SYS_ADMIN.
pub fn clone_cause(f: &Facts, user: bool, e: Errno) -> Option<Cause> {
    if user {
        return cause(f, Step::Create, e);
    }
    // Each offered only when tried here (`Tried`).
    let private_users = f.tried.private_users.then(|| {
        Fix::note("set PrivateUsers=yes in the profile: sbx then creates a user namespace first, which needs no capability (tried here: it works)")
    });
    // The container side: CAP_SYS_ADMIN is a broad grant (Docker's default seccomp profile
    // then allows namespaces too), so it comes after the profile's fix.
    let sys_admin = engines(f.engine.as_ref()).into_iter().map(|e| Fix::engine(e, "--cap-add SYS_ADMIN"));
    match e {
        Errno::PERM if f.seccomp.filtered() => {
            let mut c = seccomp_cause(f, "clone(2) with namespace flags");
            if !f.sys_admin {
                c.why.push_str("; and sbx runs as root without CAP_SYS_ADMIN, which root mode needs");
                c.fixes.extend(private_users);
                c.fixes.extend(sys_admin);
            }
            Some(c)
        }
        Errno::PERM if !f.sys_admin => {
            let mut fixes: Vec<Fix> = private_users.into_iter().collect();
            fixes.extend(sys_admin);
            if f.tried.unprivileged {
                fixes.push(Fix::note("or run sbx as a non-root user (tried here: it works)"));
            }
            Some(Cause {
                why: "sbx runs as root without CAP_SYS_ADMIN (a container drops it), and as root it creates namespaces without a user namespace".into(),
                fixes,
            })
        }
        _ => None,
    }
}

/// For `sbx run`: the cause of a refused clone(2), read from this host.
pub fn explain_clone(user: bool, e: Errno) -> Option<Cause> {
    clone_cause(&read_host(), user, e)
}

/// For `sbx run`: the cause of a refused write to a new user namespace's uid_map or gid_map.
pub fn explain_map(e: Errno) -> Option<Cause> {
    cause(&read_host(), Step::MapIds, e)
}

/// This host's facts, with the container around sbx detected from its mounts.
pub fn read_host() -> Facts {
    let mounts = mountinfo::parse(&read("/proc/self/mountinfo").unwrap_or_default());
    let container = container::detect(&container::Signs::read(&mounts));
    Facts::read(&HostFacts::probe(), container.as_ref())
}

fn seccomp_cause(f: &Facts, call: &str) -> Cause {
    let source = match &f.engine {
        Some(Engine::Docker) => "Docker's default seccomp profile, which refuses unshare(2), clone(2) with namespace flags and setns(2) to containers without CAP_SYS_ADMIN".to_string(),
        Some(e) => format!("the {} container's seccomp profile", e.name()),
        None => "whatever started sbx: a container engine (Docker's default profile refuses namespaces), a parent sandbox (sbx or systemd with RestrictNamespaces=) or a supervisor".into(),
    };
    let own_profile =
        Fix::note("or give the container a seccomp profile of your own that allows unshare, clone and setns");
    let fixes = match &f.engine {
        Some(Engine::Kubernetes) => vec![Fix::engine("kubernetes", "securityContext.seccompProfile.type: Unconfined")],
        Some(Engine::Docker | Engine::Podman) | None => {
            let mut v: Vec<Fix> = engines(f.engine.as_ref())
                .into_iter()
                .map(|e| Fix::engine(e, "--security-opt seccomp=unconfined"))
                .collect();
            v.push(own_profile);
            if f.engine.is_none() {
                v.push(Fix::note("outside a container: run sbx outside the filtered process tree, or let that filter allow namespaces"));
            }
            v
        }
        Some(_) => vec![own_profile],
    };
    Cause {
        why: format!("a seccomp filter refuses {call}: sbx runs under {}, installed by {source}", f.seccomp.describe()),
        fixes,
    }
}

fn apparmor_cause(f: &Facts) -> Cause {
    let profile = format!(
        "abi <abi/4.0>,\ninclude <tunables/global>\n\nprofile sbx {} flags=(unconfined) {{\n  userns,\n}}\n",
        f.exe
    );
    Cause {
        why: "AppArmor restricts unprivileged user namespaces (kernel.apparmor_restrict_unprivileged_userns is 1, Ubuntu 23.10+): a namespace is created without capabilities, so its ids cannot be mapped".into(),
        fixes: vec![
            Fix::File { path: "/etc/apparmor.d/sbx".into(), content: profile },
            Fix::command("apparmor_parser -r /etc/apparmor.d/sbx"),
            Fix::sysctl("kernel.apparmor_restrict_unprivileged_userns", "0"),
        ],
    }
}

fn root_map_cause(f: &Facts) -> Cause {
    let mut fixes: Vec<Fix> =
        engines(f.engine.as_ref()).into_iter().map(|e| Fix::engine(e, "--cap-add SETFCAP")).collect();
    fixes.push(Fix::note("in an OCI bundle (runc, crun): add CAP_SETFCAP to process.capabilities in config.json"));
    if f.tried.unprivileged {
        fixes.push(Fix::note(
            "or run the container (or sbx) as a non-root user: a rootless sandbox maps only the caller's own id (tried here: it works)",
        ));
    }
    if f.tried.root_mode {
        fixes.push(Fix::note(
            "or drop PrivateUsers= from the profile (it maps uid 0 for sbx's pid 1, whatever User= says): as root sbx then needs no user namespace (tried here: it works)",
        ));
    }
    Cause {
        why: format!(
            "sbx runs as uid 0 without CAP_SETFCAP, and since Linux 5.12 only a process with CAP_SETFCAP may map uid 0 into a user namespace (kernel {}.{})",
            f.kernel.0, f.kernel.1
        ),
        fixes,
    }
}

/// What the child reported: creating the namespace, then writing its uid map.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Probe {
    pub outcome: Result<Record, ChildError>,
    /// The map the child wrote for itself.
    pub map: String,
}

pub const STEP_CREATE: u32 = 1;
pub const STEP_MAP: u32 = 2;

impl Probe {
    /// Whether a user namespace could be created (its map aside).
    pub fn created(&self) -> bool {
        matches!(self.outcome, Ok(r) if r.step != STEP_CREATE)
    }
}

/// Forks a child that unshares a user namespace and maps itself: as root uid 0 to uid 0
/// (what PrivateUsers= does), otherwise uid 0 to the caller (what a rootless sandbox does).
pub fn probe(euid: u32) -> Probe {
    let outcome = child::run(|r| r.send(map_self(euid)));
    Probe { outcome, map: format!("0 {euid} 1\n") }
}

/// In a probing child: unshares a user namespace and maps uid 0 in it to `uid`.
fn map_self(uid: u32) -> Record {
    if let Err(e) = unshare_namespaces(CLONE_NEWUSER) {
        return Record::failed(STEP_CREATE, e);
    }
    let map = format!("0 {uid} 1\n");
    let write = rustix::fs::open(c"/proc/self/uid_map", rustix::fs::OFlags::WRONLY, rustix::fs::Mode::empty())
        .and_then(|fd| rustix::io::write(&fd, map.as_bytes()));
    match write {
        Ok(_) => Record::OK,
        Err(e) => Record::failed(STEP_MAP, e),
    }
}

/// The user-namespace finding and the root-mapping finding.
pub fn findings(f: &Facts, p: &Probe) -> (Finding, Finding) {
    (userns_finding(f, p), root_map_finding(f, p))
}

fn userns_finding(f: &Facts, p: &Probe) -> Finding {
    const ID: &str = "userns";
    const TITLE: &str = "user namespaces";
    let impact = if f.euid == 0 { Impact::Directives(vec!["PrivateUsers"]) } else { Impact::EverySandbox };
    let needed = if f.euid == 0 { "sbx needs one for PrivateUsers=" } else { "every rootless sandbox lives in one" };
    let failed = match &p.outcome {
        Err(e) => return Finding::new(ID, TITLE, Status::Unknown, format!("the probe failed: {e}")).impact(impact),
        Ok(r) if r.step == STEP_CREATE || (r.step == STEP_MAP && f.euid != 0) => *r,
        Ok(_) => {
            let how = if f.euid == 0 {
                "(as root sbx needs one only for PrivateUsers=)".to_string()
            } else {
                format!("and uid {} maps to 0 in it", f.euid)
            };
            return Finding::new(ID, TITLE, Status::Ok, format!("unshare(CLONE_NEWUSER) works {how}")).impact(impact);
        }
    };
    let errno = failed.errno().unwrap_or(Errno::IO);
    let (step, what) = if failed.step == STEP_CREATE {
        (Step::Create, format!("unshare(CLONE_NEWUSER) fails: {}", describe_errno(errno)))
    } else {
        (
            Step::MapIds,
            format!(
                "a user namespace is created, but writing {:?} to its uid_map fails: {}",
                p.map.trim(),
                describe_errno(errno)
            ),
        )
    };
    let mut finding = Finding::new(ID, TITLE, Status::Missing, format!("{what}; {needed}")).impact(impact);
    match cause(f, step, errno) {
        Some(c) => finding = finding.detail(format!("cause: {}", c.why)).fixes(c.fixes),
        None => {
            finding = finding.detail("no host setting explains it (a chroot, or an LSM policy, can also refuse it)")
        }
    }
    finding.fixes([Fix::note(BEST_EFFORT)])
}

fn root_map_finding(f: &Facts, p: &Probe) -> Finding {
    const ID: &str = "root-map";
    const TITLE: &str = "mapping uid 0";
    if f.euid != 0 {
        return Finding::new(ID, TITLE, Status::Ok, "not needed: a rootless sandbox maps only the caller's own id");
    }
    let impact = Impact::Directives(vec!["PrivateUsers"]);
    match &p.outcome {
        Ok(r) if r.step == 0 => {
            Finding::new(ID, TITLE, Status::Ok, "uid 0 can map itself into a user namespace (\"0 0 1\" in uid_map)")
                .impact(impact)
        }
        Ok(r) if r.step == STEP_MAP => {
            let errno = r.errno().unwrap_or(Errno::IO);
            let summary = format!(
                "writing \"0 0 1\" to a new user namespace's uid_map fails: {}; PrivateUsers= needs it",
                describe_errno(errno)
            );
            let f2 = Finding::new(ID, TITLE, Status::Missing, summary).impact(impact);
            match cause(f, Step::MapIds, errno) {
                Some(c) => f2.detail(format!("cause: {}", c.why)).fixes(c.fixes),
                None => f2,
            }
        }
        // The user-namespace finding already counts what this costs.
        Ok(_) => Finding::new(ID, TITLE, Status::Unknown, "not tested: no user namespace could be created"),
        Err(e) => Finding::new(ID, TITLE, Status::Unknown, format!("the probe failed: {e}")).impact(impact),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host() -> Facts {
        Facts {
            euid: 1000,
            kernel: (6, 18),
            sys_admin: false,
            setfcap: false,
            max_user_namespaces: Some(63000),
            unprivileged_userns_clone: None,
            apparmor_restrict: None,
            seccomp: SeccompState { mode: Some(0), filters: Some(0) },
            engine: None,
            exe: "/usr/local/bin/sbx".into(),
            tried: Tried::default(),
        }
    }

    fn probe(step: u32, e: Option<Errno>) -> Probe {
        Probe { outcome: Ok(Record { step, errno: e.map_or(0, |e| e.raw_os_error()) }), map: "0 1000 1\n".into() }
    }

    #[test]
    fn a_zero_limit_names_the_sysctl() {
        let f = Facts { max_user_namespaces: Some(0), ..host() };
        let c = cause(&f, Step::Create, Errno::NOSPC).unwrap();
        assert!(c.why.contains("user.max_user_namespaces is 0"), "{}", c.why);
        assert_eq!(c.fixes, vec![Fix::sysctl("user.max_user_namespaces", "15000")]);
        assert!(c.render().contains("\nfix: sysctl -w user.max_user_namespaces=15000"), "{}", c.render());
        let c = cause(&host(), Step::Create, Errno::NOSPC).unwrap();
        assert!(c.why.contains("limit on user namespaces is reached"), "{}", c.why);
    }

    #[test]
    fn debians_switch_binds_only_without_cap_sys_admin() {
        let f = Facts { unprivileged_userns_clone: Some(0), ..host() };
        assert!(cause(&f, Step::Create, Errno::PERM).unwrap().why.contains("kernel.unprivileged_userns_clone is 0"));
        let admin = Facts { sys_admin: true, ..f };
        assert_eq!(cause(&admin, Step::Create, Errno::PERM), None);
    }

    #[test]
    fn a_filter_is_named_with_the_engines_option() {
        let f =
            Facts { seccomp: SeccompState { mode: Some(2), filters: Some(1) }, engine: Some(Engine::Docker), ..host() };
        let c = cause(&f, Step::Create, Errno::PERM).unwrap();
        assert!(c.why.contains("seccomp filter") && c.why.contains("Seccomp_filters: 1"), "{}", c.why);
        assert!(c.why.contains("Docker's default seccomp profile"), "{}", c.why);
        assert_eq!(c.fixes[0], Fix::engine("docker", "--security-opt seccomp=unconfined"));
        let bare = Facts { engine: None, ..f.clone() };
        let c = cause(&bare, Step::Create, Errno::PERM).unwrap();
        assert!(c.why.contains("parent sandbox"), "{}", c.why);
        assert!(c.fixes.contains(&Fix::engine("podman", "--security-opt seccomp=unconfined")), "{:?}", c.fixes);
        assert!(c.fixes.iter().any(|x| x.to_string().starts_with("outside a container")), "{:?}", c.fixes);
        let k8s = Facts { engine: Some(Engine::Kubernetes), ..f };
        assert_eq!(
            cause(&k8s, Step::Create, Errno::PERM).unwrap().fixes[0].to_string(),
            "in the pod spec: securityContext.seccompProfile.type: Unconfined"
        );
    }

    #[test]
    fn apparmor_shows_when_the_map_is_refused() {
        let f = Facts { apparmor_restrict: Some(1), ..host() };
        let c = cause(&f, Step::MapIds, Errno::PERM).unwrap();
        assert!(c.why.contains("apparmor_restrict_unprivileged_userns is 1"));
        match &c.fixes[0] {
            Fix::File { path, content } => {
                assert_eq!(path, "/etc/apparmor.d/sbx");
                assert!(
                    content.contains("profile sbx /usr/local/bin/sbx flags=(unconfined)")
                        && content.contains("userns,")
                );
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(cause(&host(), Step::MapIds, Errno::PERM), None, "no cause is guessed");
    }

    #[test]
    fn root_without_setfcap_cannot_map_root() {
        let root = Facts { euid: 0, sys_admin: true, ..host() };
        let c = cause(&root, Step::MapIds, Errno::PERM).unwrap();
        assert!(c.why.contains("CAP_SETFCAP"), "{}", c.why);
        assert!(c.fixes.contains(&Fix::engine("podman", "--cap-add SETFCAP")));
        assert_eq!(cause(&Facts { kernel: (5, 10), ..root.clone() }, Step::MapIds, Errno::PERM), None);
        assert_eq!(cause(&Facts { setfcap: true, ..root }, Step::MapIds, Errno::PERM), None);
    }

    #[test]
    fn root_mode_without_cap_sys_admin() {
        let root = Facts { euid: 0, ..host() };
        assert!(clone_cause(&root, false, Errno::PERM).unwrap().why.contains("without CAP_SYS_ADMIN"));
        let filtered = Facts { seccomp: SeccompState { mode: Some(2), filters: None }, ..root };
        let c = clone_cause(&filtered, false, Errno::PERM).unwrap();
        assert!(
            c.why.contains("seccomp filter refuses clone(2)") && c.why.contains("without CAP_SYS_ADMIN"),
            "{}",
            c.why
        );
        assert!(!c.fixes.iter().any(|x| x.to_string().contains("PrivateUsers=yes")), "not tried: not offered");
        // Offered only when the child that tried it got a user namespace with uid 0 mapped.
        let works = Tried { private_users: true, ..Tried::default() };
        let c = clone_cause(&Facts { tried: works, ..filtered }, false, Errno::PERM).unwrap();
        assert!(c.fixes.iter().any(|x| x.to_string().contains("PrivateUsers=yes")));
        let plain = clone_cause(&Facts { euid: 0, ..host() }, false, Errno::PERM).unwrap();
        assert!(
            !plain
                .fixes
                .iter()
                .any(|x| x.to_string().contains("PrivateUsers=yes") || x.to_string().contains("non-root"))
        );
        assert_eq!(clone_cause(&Facts { sys_admin: true, ..host() }, false, Errno::PERM), None);
    }

    #[test]
    fn findings_follow_the_probe() {
        let (u, r) = findings(&host(), &probe(0, None));
        assert_eq!((u.status, r.status), (Status::Ok, Status::Ok));
        assert_eq!(u.impact, Impact::EverySandbox);
        let limited = Facts { max_user_namespaces: Some(0), ..host() };
        let (u, _) = findings(&limited, &probe(STEP_CREATE, Some(Errno::NOSPC)));
        assert_eq!(u.status, Status::Missing);
        assert!(u.summary.contains("unshare(CLONE_NEWUSER) fails: no space left on device (ENOSPC)"), "{}", u.summary);
        assert!(u.details[0].contains("user.max_user_namespaces is 0"));
        assert!(u.fixes.iter().any(|f| f.to_string().contains("--best-effort")));
        let (u, _) = findings(&host(), &Probe { outcome: Err(ChildError::Killed(libc::SIGSYS)), map: String::new() });
        assert_eq!(u.status, Status::Unknown);
    }

    #[test]
    fn root_findings_split_creation_and_mapping() {
        let root = Facts { euid: 0, sys_admin: true, ..host() };
        let (u, r) = findings(&root, &probe(STEP_MAP, Some(Errno::PERM)));
        assert_eq!(u.status, Status::Ok, "creating works; only the map fails");
        assert_eq!(u.impact, Impact::Directives(vec!["PrivateUsers"]));
        assert_eq!(r.status, Status::Missing);
        assert!(r.details[0].contains("CAP_SETFCAP"));
        let (_, r) = findings(&root, &probe(STEP_CREATE, Some(Errno::NOSPC)));
        assert_eq!(r.status, Status::Unknown);
        let (_, r) = findings(&host(), &probe(0, None));
        assert_eq!((r.status, r.impact), (Status::Ok, Impact::Info));
    }
}
