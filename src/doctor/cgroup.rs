//! cgroup v2: is a cgroup2 hierarchy mounted and where (unified, hybrid beside cgroup v1, or
//! none), which controllers it offers at its root and in this process's own cgroup, and
//! whether that cgroup is delegated to the caller, so that sbx could create a child cgroup
//! for a payload and apply MemoryMax=, TasksMax=, CPUQuota= and the other limits.
//!
//! Invariant: `layout` and `finding` are pure; `read` only stats and reads files below a
//! root directory it is given (tests point it at a temporary tree).

use std::os::unix::fs::MetadataExt;
use std::path::Path;

use super::{Finding, Fix, Impact, Status};
use crate::host::HostFacts;
use crate::host::mountinfo::Mount;

/// The cgroup2 controllers sbx's limits need, each with the directives it serves.
pub const CONTROLLERS: &[(&str, &[&str])] = &[
    ("memory", &["MemoryMax", "MemoryHigh", "MemoryLow", "MemoryMin", "MemorySwapMax"]),
    ("pids", &["TasksMax"]),
    ("cpu", &["CPUQuota", "CPUQuotaPeriodSec", "CPUWeight"]),
    ("cpuset", &["AllowedCPUs", "AllowedMemoryNodes"]),
    ("io", &["IOWeight", "IOReadBandwidthMax", "IOWriteBandwidthMax", "IOReadIOPSMax", "IOWriteIOPSMax"]),
];

/// Where the hierarchies are, and this process's place in the cgroup2 one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Layout {
    pub v2: Option<Mount>,
    /// cgroup v1 hierarchies: mount point and the controllers bound to it (v2 names).
    pub v1: Vec<(String, Vec<String>)>,
    /// This process's cgroup2 path ("0::PATH" in /proc/self/cgroup).
    pub own: Option<String>,
}

const V1_CONTROLLERS: &[&str] = &[
    "cpu",
    "cpuacct",
    "cpuset",
    "memory",
    "devices",
    "freezer",
    "net_cls",
    "net_prio",
    "blkio",
    "perf_event",
    "hugetlb",
    "pids",
    "rdma",
    "misc",
];

pub fn layout(mounts: &[Mount], self_cgroup: &str) -> Layout {
    let v2s: Vec<&Mount> = mounts.iter().filter(|m| m.fstype == "cgroup2").collect();
    let v2 = ["/sys/fs/cgroup", "/sys/fs/cgroup/unified"]
        .iter()
        .find_map(|p| v2s.iter().find(|m| m.point == *p))
        .or(v2s.first())
        .map(|m| (*m).clone());
    let v1 = mounts
        .iter()
        .filter(|m| m.fstype == "cgroup")
        .map(|m| {
            let names = m.super_options.split(',').filter(|o| V1_CONTROLLERS.contains(o));
            (m.point.clone(), names.map(|n| if n == "blkio" { "io".to_string() } else { n.to_string() }).collect())
        })
        .collect();
    let own =
        self_cgroup.lines().find_map(|l| l.strip_prefix("0::")).map(|p| p.trim_end_matches(" (deleted)").to_string());
    Layout { v2, v1, own }
}

impl Layout {
    pub fn kind(&self) -> &'static str {
        match (&self.v2, self.v1.is_empty()) {
            (Some(_), true) => "unified",
            (Some(_), false) => "hybrid",
            (None, false) => "cgroup v1 only",
            (None, true) => "none",
        }
    }

    /// This process's cgroup directory under the cgroup2 mount, when the mount shows it.
    pub fn own_dir(&self) -> Option<String> {
        let (m, own) = (self.v2.as_ref()?, self.own.as_deref()?);
        let rel = if m.root == "/" { own } else { own.strip_prefix(m.root.as_str())? };
        Some(
            format!("{}/{}", m.point.trim_end_matches('/'), rel.trim_start_matches('/'))
                .trim_end_matches('/')
                .to_string(),
        )
    }

    fn v1_home(&self, controller: &str) -> Option<&str> {
        self.v1.iter().find(|(_, c)| c.iter().any(|n| n == controller)).map(|(p, _)| p.as_str())
    }
}

/// A directory a run's cgroup could go in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Candidate {
    pub dir: String,
    pub owner: u32,
    /// Processes live in it (its cgroup.procs is not empty).
    pub busy: bool,
    pub controllers: Vec<String>,
}

/// Everything read about the hierarchy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct State {
    pub layout: Layout,
    pub root_controllers: Option<Vec<String>>,
    pub own_controllers: Option<Vec<String>>,
    /// As root: the hierarchy's root. Rootless: the ancestors of this process's cgroup,
    /// nearest first, up to the first the caller does not own.
    pub candidates: Vec<Candidate>,
    pub uid: u32,
    pub user: String,
    /// systemd runs the host (/run/systemd/system exists).
    pub systemd: bool,
}

pub fn read(prefix: &Path, mounts: &[Mount], host: &HostFacts) -> State {
    let layout = layout(mounts, &std::fs::read_to_string(prefix.join("proc/self/cgroup")).unwrap_or_default());
    let at = |dir: &str, file: &str| prefix.join(dir.trim_start_matches('/')).join(file);
    let controllers = |dir: &str| {
        std::fs::read_to_string(at(dir, "cgroup.controllers"))
            .ok()
            .map(|s| s.split_whitespace().map(str::to_string).collect::<Vec<String>>())
    };
    let candidate = |dir: String| {
        let owner = std::fs::metadata(at(&dir, "")).ok()?.uid();
        let busy = !std::fs::read_to_string(at(&dir, "cgroup.procs")).unwrap_or_default().trim().is_empty();
        Some(Candidate { owner, busy, controllers: controllers(&dir).unwrap_or_default(), dir })
    };
    let mut candidates = Vec::new();
    if let (Some(m), Some(own)) = (&layout.v2, layout.own_dir()) {
        if host.euid == 0 {
            candidates.extend(candidate(m.point.clone()).map(|c| Candidate { busy: false, ..c }));
        } else {
            let mut dir = own;
            while let Some(c) = parent_within(&dir, &m.point).and_then(candidate) {
                let last = c.owner != host.euid;
                dir = c.dir.clone();
                candidates.push(c);
                if last {
                    break;
                }
            }
        }
    }
    State {
        root_controllers: layout.v2.as_ref().and_then(|m| controllers(&m.point)),
        own_controllers: layout.own_dir().as_deref().and_then(controllers),
        candidates,
        uid: host.euid,
        user: host.caller().name,
        systemd: prefix.join("run/systemd/system").is_dir(),
        layout,
    }
}

/// The parent of `dir`, while it is still inside the hierarchy mounted at `point`.
fn parent_within(dir: &str, point: &str) -> Option<String> {
    let parent = &dir[..dir.rfind('/')?];
    (dir != point && parent.len() >= point.len()).then(|| parent.to_string())
}

/// How files owned by a uid outside the caller's user namespace appear (kernel.overflowuid).
const OVERFLOW_UID: u32 = 65534;

/// Where a run's cgroup would go, or why there is no such place.
enum Target<'a> {
    Found(&'a Candidate),
    ReadOnly,
    /// The nearest directory the caller does not own (`None`: its cgroup is the root).
    NotOwned(Option<&'a Candidate>),
    /// Every directory the caller owns holds processes.
    AllBusy(Vec<&'a Candidate>),
}

/// As `sbx run` decides: as root under the hierarchy's root (unless it shows as the overflow
/// uid, outside root's user namespace); rootless under the nearest ancestor of sbx's own
/// cgroup that the caller owns and that holds no process (cgroup v2 lets only a cgroup
/// without processes give controllers to its children, and sbx lives in its own).
fn target(s: &State) -> Target<'_> {
    if s.layout.v2.as_ref().is_some_and(|m| m.read_only()) {
        return Target::ReadOnly;
    }
    if s.uid == 0 {
        return match s.candidates.first() {
            Some(c) if c.owner != OVERFLOW_UID => Target::Found(c),
            other => Target::NotOwned(other),
        };
    }
    let owned: Vec<&Candidate> = s.candidates.iter().take_while(|c| c.owner == s.uid).collect();
    match (owned.is_empty(), owned.iter().find(|c| !c.busy)) {
        (true, _) => Target::NotOwned(s.candidates.first()),
        (false, Some(c)) => Target::Found(c),
        (false, None) => Target::AllBusy(owned),
    }
}

fn all_directives() -> Vec<&'static str> {
    CONTROLLERS.iter().flat_map(|(_, d)| d.iter().copied()).collect()
}

type Controller = (&'static str, &'static [&'static str]);

pub fn finding(s: &State) -> Finding {
    const ID: &str = "cgroup";
    const TITLE: &str = "cgroup v2 limits";
    let impact = Impact::Directives(all_directives());
    let Some(v2) = &s.layout.v2 else {
        return no_cgroup2(s).impact(impact);
    };
    let Some(own) = s.layout.own_dir() else {
        let what = s.layout.own.as_deref().unwrap_or("unknown (no 0:: line in /proc/self/cgroup)");
        return Finding::new(
            ID,
            TITLE,
            Status::Unknown,
            format!("this process's cgroup ({what}) is not visible under {}", v2.point),
        )
        .impact(impact);
    };
    let target = target(s);
    // What the place would offer; without one, what the hierarchy could offer once delegated.
    let offered = match &target {
        Target::Found(c) => c.controllers.clone(),
        _ => s.root_controllers.clone().unwrap_or_default(),
    };
    let (usable, unusable): (Vec<Controller>, Vec<Controller>) =
        CONTROLLERS.iter().copied().partition(|(c, _)| offered.iter().any(|o| o == c));
    let found = matches!(target, Target::Found(_));
    let status = match (usable.is_empty() || !found, unusable.is_empty()) {
        (true, _) => Status::Missing,
        (false, false) => Status::Limited,
        (false, true) => Status::Ok,
    };
    let own_c = s.own_controllers.clone().unwrap_or_default();
    let mut f = Finding::new(ID, TITLE, status, summary(s, &v2.point, &usable, &unusable, found))
        .detail(format!(
            "layout: {} (cgroup2 at {}{})",
            s.layout.kind(),
            v2.point,
            if v2.read_only() { ", read-only" } else { "" }
        ))
        .detail(format!(
            "this process's cgroup: {own}; controllers there: {}; at the root: {}",
            list(&own_c),
            list(s.root_controllers.as_deref().unwrap_or(&[]))
        ));
    for (c, dirs) in &unusable {
        let d: Vec<String> = dirs.iter().map(|d| format!("{d}=")).collect();
        f = f.detail(format!("{c} ({}): {}", d.join(", "), why_missing(s, c, &target)));
    }
    f = f.detail(delegation(s, &own, &target));
    f.fixes(fixes(s, &v2.point, &unusable, &target)).impact(impact)
}

fn list(names: &[String]) -> String {
    if names.is_empty() { "none".into() } else { names.join(" ") }
}

fn summary(s: &State, point: &str, usable: &[Controller], unusable: &[Controller], found: bool) -> String {
    let names = |v: &[Controller]| v.iter().map(|(c, _)| *c).collect::<Vec<_>>().join(", ");
    if usable.is_empty() {
        let why = if unusable.iter().any(|(c, _)| s.layout.v1_home(c).is_some()) {
            "; cgroup v1 hierarchies hold them"
        } else {
            ""
        };
        return format!(
            "cgroup limits are not available: none of {} is available to sbx in the cgroup2 hierarchy at {point} ({} layout){why}",
            names(unusable),
            s.layout.kind()
        );
    }
    if !found {
        return format!(
            "cgroup limits are not available: no cgroup is delegated to {} (uid {}) where sbx could create one for the payload",
            s.user, s.uid
        );
    }
    if unusable.is_empty() {
        format!("sbx can create a cgroup for the payload, with {}", names(usable))
    } else {
        format!("sbx can create a cgroup for the payload, with {}; without {}", names(usable), names(unusable))
    }
}

fn why_missing(s: &State, c: &str, target: &Target) -> String {
    if let Some(p) = s.layout.v1_home(c) {
        return format!("bound to the cgroup v1 hierarchy at {p}");
    }
    match target {
        Target::Found(t) if s.root_controllers.as_ref().is_some_and(|r| r.iter().any(|x| x == c)) => {
            format!("offered at the root, but not enabled down to {} (each parent's cgroup.subtree_control)", t.dir)
        }
        _ => "not offered by this kernel or this container's hierarchy".into(),
    }
}

fn delegation(s: &State, own: &str, target: &Target) -> String {
    let who = format!("{} (uid {})", s.user, s.uid);
    match target {
        Target::Found(c) if s.uid == 0 => format!("delegation: as root, runs' cgroups go under {}/sbx", c.dir),
        Target::Found(c) => {
            format!("delegation: runs' cgroups would go under {}, which {who} owns and no process is in", c.dir)
        }
        Target::ReadOnly => {
            "delegation: the cgroup2 filesystem is mounted read-only here (container engines do this)".into()
        }
        Target::NotOwned(Some(c)) => format!("delegation: {} is owned by uid {}, not by {who}", c.dir, c.owner),
        Target::NotOwned(None) => format!(
            "delegation: this process's cgroup {own} is the root of the hierarchy: nothing above it is delegated to {who}"
        ),
        Target::AllBusy(v) => {
            let dirs: Vec<&str> = v.iter().map(|c| c.dir.as_str()).collect();
            format!(
                "delegation: {} belong to {who} but processes live in each; sbx needs one without, above its own cgroup",
                dirs.join(", ")
            )
        }
    }
}

fn fixes(s: &State, point: &str, unusable: &[Controller], target: &Target) -> Vec<Fix> {
    let mut out = Vec::new();
    if unusable.iter().any(|(c, _)| s.layout.v1_home(c).is_some()) {
        out.push(Fix::Boot { parameter: "cgroup_no_v1=all (every controller moves to cgroup2)".into() });
        out.push(if s.systemd {
            Fix::Boot { parameter: "systemd.unified_cgroup_hierarchy=1".into() }
        } else {
            Fix::note("on OpenRC: rc_cgroup_mode=\"unified\" in /etc/rc.conf, then reboot")
        });
    }
    let then = if out.is_empty() { "" } else { "then: " };
    match target {
        Target::Found(_) => {}
        Target::ReadOnly => out.push(Fix::note("give the container a writable, delegated cgroup (Docker mounts it read-only unless the container is privileged)")),
        Target::AllBusy(v) => {
            let dir = &v[0].dir;
            out.push(Fix::command(format!("mkdir {dir}/shell && echo $$ > {dir}/shell/cgroup.procs")));
            out.push(Fix::note(format!("as {}, from the shell that starts sbx: it moves into a leaf, so {dir} holds no process", s.user)));
        }
        Target::NotOwned(_) if s.uid == 0 => {}
        Target::NotOwned(_) if s.systemd => {
            out.push(Fix::note(format!("{then}systemd-run --user --scope -p Delegate=yes sbx run ... (as the user; in a unit: Delegate=yes)")));
        }
        Target::NotOwned(_) => out.extend(delegate_recipe(s, point)),
    }
    out
}

/// For init systems without delegation (OpenRC, runit, s6): a subtree for the user, made by
/// root, with the user's shell in a leaf of it.
fn delegate_recipe(s: &State, point: &str) -> Vec<Fix> {
    let point = point.trim_end_matches('/');
    let dir = format!("{point}/sbx-{}", s.user);
    let root = s.root_controllers.as_deref().unwrap_or(&[]);
    let mut enable: Vec<String> =
        CONTROLLERS.iter().filter(|(c, _)| root.iter().any(|r| r == c)).map(|(c, _)| format!("+{c}")).collect();
    if enable.is_empty() {
        enable = CONTROLLERS.iter().map(|(c, _)| format!("+{c}")).collect();
    }
    vec![
        Fix::command(format!(
            "mkdir -p {dir}/shell && echo '{}' > {point}/cgroup.subtree_control && chown -R {} {dir}",
            enable.join(" "),
            s.user
        )),
        Fix::note(format!(
            "then, as root, move the user's login shell into the leaf: echo PID > {dir}/shell/cgroup.procs (OpenRC, runit, s6: from the session's start-up)"
        )),
    ]
}

fn no_cgroup2(s: &State) -> Finding {
    if s.layout.v1.is_empty() {
        return Finding::new("cgroup", "cgroup v2 limits", Status::Missing, "no cgroup filesystem is mounted")
            .fixes([Fix::command("mount -t cgroup2 none /sys/fs/cgroup")]);
    }
    Finding::new("cgroup", "cgroup v2 limits", Status::Missing, "no cgroup2 filesystem is mounted: the host uses cgroup v1 only")
        .fixes([
            Fix::Boot { parameter: "cgroup_no_v1=all (every controller moves to cgroup2)".into() },
            Fix::note("then mount cgroup2: mount -t cgroup2 none /sys/fs/cgroup (systemd: systemd.unified_cgroup_hierarchy=1; OpenRC: rc_cgroup_mode=\"unified\" in /etc/rc.conf)"),
        ])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::fake;
    use crate::host::mountinfo;

    /// This machine: cgroup v1 controllers plus an empty cgroup2 at /sys/fs/cgroup/unified.
    const HYBRID: &str = "\
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
34 31 0:31 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup rw,cpuset
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
38 31 0:35 / /sys/fs/cgroup/blkio rw,relatime - cgroup cgroup rw,blkio
39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
";
    const UNIFIED: &str =
        "36 25 0:31 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime - cgroup2 cgroup2 rw,nsdelegate\n";
    const ALL: &[&str] = &["cpuset", "cpu", "io", "memory", "pids"];

    fn names(c: &[&str]) -> Vec<String> {
        c.iter().map(|c| c.to_string()).collect()
    }

    fn cand(dir: &str, owner: u32, busy: bool, controllers: &[&str]) -> Candidate {
        Candidate { dir: dir.into(), owner, busy, controllers: names(controllers) }
    }

    fn state(mounts: &str, own: &str, root: &[&str], candidates: Vec<Candidate>, uid: u32) -> State {
        State {
            layout: layout(&mountinfo::parse(mounts), own),
            root_controllers: Some(names(root)),
            own_controllers: Some(names(root)),
            candidates,
            uid,
            user: "alice".into(),
            systemd: false,
        }
    }

    #[test]
    fn tells_the_layouts_apart() {
        let l = layout(&mountinfo::parse(HYBRID), "4:memory:/x\n0::/\n");
        assert_eq!(l.kind(), "hybrid");
        assert_eq!(l.own_dir().as_deref(), Some("/sys/fs/cgroup/unified"));
        assert_eq!(l.v1_home("io"), Some("/sys/fs/cgroup/blkio"));
        assert_eq!(l.v1_home("hugetlb"), None);
        let u = layout(&mountinfo::parse(UNIFIED), "0::/user.slice/user-1000.slice/session-2.scope\n");
        assert_eq!(u.kind(), "unified");
        assert_eq!(u.own_dir().as_deref(), Some("/sys/fs/cgroup/user.slice/user-1000.slice/session-2.scope"));
        assert_eq!(layout(&[], "").kind(), "none");
    }

    #[test]
    fn a_mount_of_a_subtree_maps_the_own_path() {
        let m = mountinfo::parse("90 80 0:31 /docker/abc /sys/fs/cgroup ro - cgroup2 cgroup2 rw\n");
        assert_eq!(layout(&m, "0::/docker/abc/x\n").own_dir().as_deref(), Some("/sys/fs/cgroup/x"));
        assert_eq!(layout(&m, "0::/other\n").own_dir(), None);
    }

    #[test]
    fn parents_stay_inside_the_mount() {
        assert_eq!(parent_within("/sys/fs/cgroup/a/b", "/sys/fs/cgroup").as_deref(), Some("/sys/fs/cgroup/a"));
        assert_eq!(parent_within("/sys/fs/cgroup/a", "/sys/fs/cgroup").as_deref(), Some("/sys/fs/cgroup"));
        assert_eq!(parent_within("/sys/fs/cgroup", "/sys/fs/cgroup"), None);
    }

    #[test]
    fn the_hybrid_host_has_no_limits_and_says_why() {
        let root =
            state(HYBRID, "0::/\n", &["hugetlb"], vec![cand("/sys/fs/cgroup/unified", 0, false, &["hugetlb"])], 0);
        let f = finding(&root);
        assert_eq!(f.status, Status::Missing);
        assert!(
            f.summary.contains("cgroup limits are not available") && f.summary.contains("hybrid layout"),
            "{}",
            f.summary
        );
        assert!(f.summary.contains("cgroup v1 hierarchies hold them"), "{}", f.summary);
        let memory = f.details.iter().find(|d| d.starts_with("memory (MemoryMax=")).expect("a line for memory");
        assert!(memory.ends_with("bound to the cgroup v1 hierarchy at /sys/fs/cgroup/memory"), "{memory}");
        assert!(f.details.iter().any(|d| d.starts_with("io (IOWeight=") && d.contains("/sys/fs/cgroup/blkio")));
        assert!(
            f.fixes.iter().any(|x| matches!(x, Fix::Boot { parameter } if parameter.starts_with("cgroup_no_v1=all")))
        );
        assert!(f.fixes.iter().any(|x| x.to_string().contains("rc_cgroup_mode")));
        assert!(matches!(&f.impact, Impact::Directives(d) if d.contains(&"MemoryMax") && d.contains(&"TasksMax")));
        // Rootless, the process sits in the root cgroup: nothing above it can be delegated.
        let user = finding(&state(HYBRID, "0::/\n", &["hugetlb"], vec![], 1000));
        assert!(user.summary.contains("none of memory"), "{}", user.summary);
        assert!(user.details.iter().any(|d| d.contains("is the root of the hierarchy")), "{:?}", user.details);
        let recipe = user.fixes.iter().find(|x| x.to_string().contains("mkdir")).expect("a recipe");
        assert!(recipe.to_string().starts_with("mkdir -p /sys/fs/cgroup/unified/sbx-alice/shell"), "{recipe}");
    }

    #[test]
    fn a_session_outside_any_delegated_subtree_gets_the_recipe() {
        let own = "0::/user.slice/user-1000.slice/session-2.scope\n";
        let s = state(UNIFIED, own, ALL, vec![cand("/sys/fs/cgroup/user.slice/user-1000.slice", 0, false, ALL)], 1000);
        let f = finding(&s);
        assert_eq!(f.status, Status::Missing);
        assert!(f.summary.contains("no cgroup is delegated to alice (uid 1000)"), "{}", f.summary);
        assert!(
            f.details.iter().any(|d| d
                == "delegation: /sys/fs/cgroup/user.slice/user-1000.slice is owned by uid 0, not by alice (uid 1000)")
        );
        assert_eq!(
            f.fixes[0].to_string(),
            "mkdir -p /sys/fs/cgroup/sbx-alice/shell && echo '+memory +pids +cpu +cpuset +io' > /sys/fs/cgroup/cgroup.subtree_control && chown -R alice /sys/fs/cgroup/sbx-alice"
        );
        let systemd = finding(&State { systemd: true, ..s });
        assert!(systemd.fixes[0].to_string().contains("systemd-run --user --scope -p Delegate=yes"));
    }

    #[test]
    fn the_nearest_owned_cgroup_without_processes_is_used() {
        let base = "/sys/fs/cgroup/user.slice/user-1000.slice";
        let s = state(
            UNIFIED,
            "0::/user.slice/user-1000.slice/user@1000.service/app.slice/sbx.scope\n",
            ALL,
            vec![
                cand(&format!("{base}/user@1000.service/app.slice"), 1000, false, &["memory", "pids", "cpu"]),
                cand(&format!("{base}/user@1000.service"), 1000, false, &["memory", "pids", "cpu"]),
                cand(base, 0, false, ALL),
            ],
            1000,
        );
        let f = finding(&s);
        assert_eq!(f.status, Status::Limited);
        assert_eq!(f.summary, "sbx can create a cgroup for the payload, with memory, pids, cpu; without cpuset, io");
        let cpuset = f.details.iter().find(|d| d.starts_with("cpuset (")).unwrap();
        assert!(
            cpuset
                .contains("not enabled down to /sys/fs/cgroup/user.slice/user-1000.slice/user@1000.service/app.slice"),
            "{cpuset}"
        );
        assert!(f.details.iter().any(|d| {
            d.contains("would go under /sys/fs/cgroup/user.slice/user-1000.slice/user@1000.service/app.slice")
        }));
        assert!(f.fixes.is_empty(), "{:?}", f.fixes);
        let full = state(
            UNIFIED,
            "0::/sbx-alice/shell\n",
            ALL,
            vec![cand("/sys/fs/cgroup/sbx-alice", 1000, false, ALL)],
            1000,
        );
        assert_eq!(finding(&full).status, Status::Ok);
    }

    #[test]
    fn owned_cgroups_with_processes_need_a_leaf() {
        let s = state(
            UNIFIED,
            "0::/sbx-alice\n",
            ALL,
            vec![cand("/sys/fs/cgroup/sbx-alice", 1000, true, ALL), cand("/sys/fs/cgroup", 0, true, ALL)],
            1000,
        );
        let s = State { layout: layout(&mountinfo::parse(UNIFIED), "0::/sbx-alice/a\n"), ..s };
        let f = finding(&s);
        assert_eq!(f.status, Status::Missing);
        assert!(f.details.iter().any(|d| d.contains("processes live in each")), "{:?}", f.details);
        assert!(
            f.fixes[0].to_string().starts_with("mkdir /sys/fs/cgroup/sbx-alice/shell && echo $$ >"),
            "{:?}",
            f.fixes
        );
    }

    #[test]
    fn root_in_a_user_namespace_does_not_own_the_hosts_cgroup() {
        let f = finding(&state(UNIFIED, "0::/\n", ALL, vec![cand("/sys/fs/cgroup", OVERFLOW_UID, false, ALL)], 0));
        assert_eq!(f.status, Status::Missing);
        assert!(f.details.iter().any(|d| d.contains("owned by uid 65534, not by alice (uid 0)")), "{:?}", f.details);
        let root = finding(&state(UNIFIED, "0::/\n", ALL, vec![cand("/sys/fs/cgroup", 0, false, ALL)], 0));
        assert_eq!(root.status, Status::Ok);
        assert!(root.details.iter().any(|d| d == "delegation: as root, runs' cgroups go under /sys/fs/cgroup/sbx"));
    }

    #[test]
    fn read_only_mounts_are_not_delegated_even_to_root() {
        let m = "90 80 0:31 / /sys/fs/cgroup ro,nosuid - cgroup2 cgroup2 rw\n";
        let f = finding(&state(m, "0::/\n", &["memory", "pids"], vec![cand("/sys/fs/cgroup", 0, false, ALL)], 0));
        assert_eq!(f.status, Status::Missing);
        assert!(f.details.iter().any(|d| d.contains("mounted read-only")), "{:?}", f.details);
    }

    #[test]
    fn without_cgroup2() {
        let v1 = "35 31 0:32 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n";
        let f = finding(&state(v1, "4:memory:/\n", &[], vec![], 0));
        assert!(f.summary.contains("cgroup v1 only"), "{}", f.summary);
        assert_eq!(finding(&state("", "", &[], vec![], 0)).summary, "no cgroup filesystem is mounted");
    }

    #[test]
    fn reads_a_tree() {
        let me = rustix::process::geteuid().as_raw();
        let uid = if me == 0 { 1000 } else { me };
        let dir = std::env::temp_dir().join(format!("sbx-doctor-cgroup-{}", std::process::id()));
        let delegated = dir.join("sys/fs/cgroup/user.slice");
        std::fs::create_dir_all(delegated.join("shell")).unwrap();
        std::fs::create_dir_all(dir.join("proc/self")).unwrap();
        std::fs::write(dir.join("proc/self/cgroup"), "0::/user.slice/shell\n").unwrap();
        std::fs::write(dir.join("sys/fs/cgroup/cgroup.controllers"), "cpuset cpu io memory pids\n").unwrap();
        std::fs::write(delegated.join("cgroup.controllers"), "memory pids\n").unwrap();
        std::fs::write(delegated.join("cgroup.procs"), "").unwrap();
        std::fs::write(delegated.join("shell/cgroup.controllers"), "").unwrap();
        std::fs::write(delegated.join("shell/cgroup.procs"), "4242\n").unwrap();
        if me == 0 {
            for p in [delegated.clone(), delegated.join("cgroup.procs"), delegated.join("shell")] {
                std::os::unix::fs::chown(&p, Some(uid), None).unwrap();
            }
        }
        let s = read(&dir, &mountinfo::parse(UNIFIED), &fake::host(uid));
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(s.root_controllers.as_deref().unwrap(), ["cpuset", "cpu", "io", "memory", "pids"]);
        assert_eq!(s.own_controllers.as_deref().unwrap(), [] as [String; 0]);
        let path = |p: &str| format!("{}/{p}", "/sys/fs/cgroup");
        assert_eq!(s.candidates[0], cand(&path("user.slice"), uid, false, &["memory", "pids"]));
        assert_eq!(
            s.candidates.len(),
            2,
            "the walk stops at the first cgroup the caller does not own: {:?}",
            s.candidates
        );
        let f = finding(&s);
        assert_eq!(f.status, Status::Limited, "{f:?}");
        assert!(f.details.iter().any(|d| d.contains("would go under /sys/fs/cgroup/user.slice")), "{:?}", f.details);
    }

    #[test]
    fn every_directive_named_is_a_cgroup_row_of_the_table() {
        use crate::profile::directives::{Stage, find};
        for name in all_directives() {
            let d = find(name).unwrap_or_else(|| panic!("{name} is not in the directive table"));
            assert_eq!(d.stage, Stage::Cgroup, "{name}");
        }
    }
}
