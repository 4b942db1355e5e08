//! Resource control: where the run's cgroup v2 directory goes and what is written into it.
//!
//! Invariant: only runs that ask for a limit get a cgroup (cgroup v1-only hosts keep working
//! for the others). As root the run's cgroup goes under `<mount>/sbx`; rootless, under the
//! nearest ancestor of sbx's own cgroup that the caller owns (a delegated subtree), holds no
//! process itself and offers every needed controller. When there is none, this fails with the
//! reason and the fix. Limits are resolved to the exact file contents here.

use serde::Serialize;

use crate::error::PlanError;
use crate::host::HostFacts;
use crate::profile::Origin;
use crate::profile::resource_values::{IoLimit, Limit};
use crate::settings::{Scalar, Settings};

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CgroupPlan {
    /// The directory the run's cgroup is created in (absolute host path).
    pub parent: String,
    /// Directories to create first (root: `<mount>/sbx`).
    pub create: Vec<String>,
    /// `cgroup.subtree_control` writes, in order: (directory, "+memory +pids ...").
    pub enable: Vec<(String, String)>,
    /// Control files and their contents, e.g. ("memory.max", "67108864").
    pub files: Vec<(String, String)>,
    /// MemoryMax= as written, to explain an OOM kill.
    pub memory_max: Option<String>,
}

struct Want {
    files: Vec<(String, String)>,
    controllers: Vec<&'static str>,
    first: Option<(&'static str, Origin)>,
}

impl Want {
    fn add<T>(
        &mut self,
        directive: &'static str,
        slot: &Scalar<T>,
        controller: &'static str,
        file: &str,
        value: impl Fn(&T) -> String,
    ) {
        if let Some(v) = slot {
            self.files.push((file.to_string(), value(&v.value)));
            if !self.controllers.contains(&controller) {
                self.controllers.push(controller);
            }
            self.first.get_or_insert((directive, v.origin.clone()));
        }
    }
}

fn limit(l: &Limit, total: u64) -> String {
    match l {
        Limit::Value(v) => v.to_string(),
        Limit::Percent(p) => (u128::from(total) * u128::from(*p) / 10000).to_string(),
        Limit::Infinity => "max".into(),
    }
}

pub fn plan(s: &Settings, host: &HostFacts) -> Result<Option<CgroupPlan>, PlanError> {
    let mut w = Want { files: Vec::new(), controllers: Vec::new(), first: None };
    let mem = host.mem_total;
    w.add("MemoryMin", &s.memory_min, "memory", "memory.min", |l| limit(l, mem));
    w.add("MemoryLow", &s.memory_low, "memory", "memory.low", |l| limit(l, mem));
    w.add("MemoryHigh", &s.memory_high, "memory", "memory.high", |l| limit(l, mem));
    w.add("MemoryMax", &s.memory_max, "memory", "memory.max", |l| limit(l, mem));
    w.add("MemorySwapMax", &s.memory_swap_max, "memory", "memory.swap.max", |l| limit(l, mem));
    let period = s.cpu_quota_period.as_ref().and_then(|p| p.value).unwrap_or(100_000).max(1000);
    w.add("CPUQuota", &s.cpu_quota, "cpu", "cpu.max", |pct| {
        format!("{} {period}", (period * u64::from(*pct) / 10000).max(1000))
    });
    w.add("CPUWeight", &s.cpu_weight, "cpu", "cpu.weight", |n| n.to_string());
    w.add("AllowedCPUs", &s.allowed_cpus, "cpuset", "cpuset.cpus", String::clone);
    let tasks = *host.tasks_limit.get();
    w.add("TasksMax", &s.tasks_max, "pids", "pids.max", |l| limit(l, tasks));
    w.add("IOWeight", &s.io_weight, "io", "io.weight", |n| format!("default {n}"));
    io_max(s, host, &mut w)?;
    let Some((directive, origin)) = w.first.clone() else { return Ok(None) };
    let fail = |m: String| PlanError::directive(directive, &origin, m);
    let Some(cg) = host.cgroup() else {
        return Err(fail("no cgroup v2 hierarchy is mounted here (cgroup v1 only), so sbx cannot apply resource limits; boot with cgroup v2 (systemd.unified_cgroup_hierarchy=1, or cgroup_no_v1=all), or drop the line".into()));
    };
    let controllers = w.controllers.join(" ");
    let plus = w.controllers.iter().map(|c| format!("+{c}")).collect::<Vec<_>>().join(" ");
    let (parent, create, enable) = if host.is_root() {
        let available = host.fs.read_to_string(&format!("{}/cgroup.controllers", cg.mount)).unwrap_or_default();
        if let Some(missing) = missing(&w.controllers, &available) {
            return Err(fail(format!(
                "the {missing} controller is not available in the cgroup v2 hierarchy at {} (on hybrid hosts every controller is bound to cgroup v1); boot with cgroup_no_v1=all or systemd.unified_cgroup_hierarchy=1, or drop the line",
                cg.mount
            )));
        }
        let parent = format!("{}/sbx", cg.mount);
        (parent.clone(), vec![parent.clone()], vec![(cg.mount.clone(), plus.clone()), (parent, plus)])
    } else {
        let parent = delegated(host, &cg.mount, &cg.own, &w.controllers).ok_or_else(|| {
            fail(format!(
                "no delegated cgroup v2 subtree offers {controllers} to uid {} (sbx runs rootless in {}{}); an administrator can delegate one: mkdir /sys/fs/cgroup/user-UID; echo '+{}' > /sys/fs/cgroup/cgroup.subtree_control; chown -R UID /sys/fs/cgroup/user-UID, then start your shell in a leaf of it; under systemd: systemd-run --user -p Delegate=yes --scope -- sbx ...; or drop the line",
                host.uid,
                cg.mount,
                cg.own,
                w.controllers.join(" +")
            ))
        })?;
        (parent.clone(), Vec::new(), vec![(parent, plus)])
    };
    let memory_max = s.memory_max.as_ref().map(|m| match m.value {
        Limit::Value(v) => format!("{v} bytes"),
        Limit::Percent(p) => format!("{}.{:02}%", p / 100, p % 100),
        Limit::Infinity => "infinity".into(),
    });
    Ok(Some(CgroupPlan { parent, create, enable, files: w.files, memory_max }))
}

fn missing<'a>(wanted: &[&'a str], available: &str) -> Option<&'a str> {
    wanted.iter().find(|c| !available.split_whitespace().any(|a| a == **c)).copied()
}

/// The nearest ancestor of `own` (itself excluded: sbx lives there) that the caller owns,
/// holds no process and offers the controllers; climbing stops where ownership ends.
fn delegated(host: &HostFacts, mount: &str, own: &str, wanted: &[&str]) -> Option<String> {
    let mut rel = own.trim_end_matches('/').to_string();
    while let Some(i) = rel.rfind('/') {
        rel.truncate(i);
        let dir = format!("{mount}{rel}");
        if host.fs.owner(&dir) != Some(host.uid) {
            return None;
        }
        let procs = host.fs.read_to_string(&format!("{dir}/cgroup.procs")).unwrap_or_default();
        let available = host.fs.read_to_string(&format!("{dir}/cgroup.controllers")).unwrap_or_default();
        if procs.trim().is_empty() && missing(wanted, &available).is_none() {
            return Some(dir);
        }
    }
    None
}

/// io.max: one line per device, the four limits merged.
fn io_max(s: &Settings, host: &HostFacts, w: &mut Want) -> Result<(), PlanError> {
    const KEYS: [(&str, &str); 4] = [
        ("IOReadBandwidthMax", "rbps"),
        ("IOWriteBandwidthMax", "wbps"),
        ("IOReadIOPSMax", "riops"),
        ("IOWriteIOPSMax", "wiops"),
    ];
    let mut lines: Vec<((u32, u32), Vec<String>)> = Vec::new();
    for (list, (directive, key)) in s.io_limits.iter().zip(KEYS) {
        for l in list {
            let IoLimit { device, value } = &l.value;
            let dev = host.fs.device_numbers(device).ok_or_else(|| {
                PlanError::directive(directive, &l.origin, format!("{device}: no such device or file"))
            })?;
            let v = value.map_or("max".to_string(), |v| v.to_string());
            match lines.iter_mut().find(|(d, _)| *d == dev) {
                Some((_, parts)) => parts.push(format!("{key}={v}")),
                None => lines.push((dev, vec![format!("{key}={v}")])),
            }
            w.first.get_or_insert((directive, l.origin.clone()));
        }
    }
    if !lines.is_empty() {
        for ((major, minor), parts) in lines {
            w.files.push(("io.max".into(), format!("{major}:{minor} {}", parts.join(" "))));
        }
        if !w.controllers.contains(&"io") {
            w.controllers.push("io");
        }
    }
    Ok(())
}

/// Why RLIMIT_NPROC would not bind the payload of `plan`, when it would not. The kernel lets a
/// fork past the limit when the process's real uid is uid 0 of the initial user namespace, or
/// when it holds CAP_SYS_ADMIN or CAP_SYS_RESOURCE there (fork.c, `copy_process`). Rootless,
/// the payload's host uid is the caller's (never 0) and its capabilities hold only in its own
/// user namespace, so the limit binds.
pub fn nproc_exemption(plan: &crate::plan::Plan, host: &HostFacts) -> Option<&'static str> {
    if !host.is_root() {
        return None;
    }
    if plan.identity.uid == 0 {
        return Some(
            "the payload runs as uid 0, which RLIMIT_NPROC does not bind (add User= to run it as another user)",
        );
    }
    (!plan.namespaces.user && plan.caps.payload_may_exceed_nproc(plan.identity.uid))
        .then_some("the payload may hold CAP_SYS_ADMIN or CAP_SYS_RESOURCE, which exempt it from RLIMIT_NPROC")
}

/// `--best-effort` without a usable cgroup: the limits rlimits can approximate, and a note
/// for every limit, weakened or not enforced. `nproc_exempt` says why RLIMIT_NPROC would not
/// bind this payload (`nproc_exemption`); TasksMax= is then reported not enforced.
pub fn rlimit_fallback(s: &Settings, nproc_exempt: Option<&str>) -> (Settings, Vec<crate::plan::no_namespaces::Note>) {
    use crate::plan::no_namespaces::{Fate, Note};
    use crate::profile::values::RlimitValue;
    use crate::settings::Spanned;
    let mut out = s.clone();
    let mut notes = Vec::new();
    let mut note = |directive: &'static str, origin: &Origin, fate: Fate| {
        notes.push(Note { directive, origin: Some(origin.clone()), fate });
    };
    // The two limits an rlimit approximates, unless the profile set that rlimit itself.
    let approximated = [
        ("MemoryMax", out.memory_max.take(), "LimitAS", "address space per process, not the sandbox's memory"),
        ("TasksMax", out.tasks_max.take(), "LimitNPROC", "counts all the user's processes, not the sandbox's"),
    ];
    for (directive, limit, rlimit, unlike) in approximated {
        let Some(l) = limit else { continue };
        match (l.value, nproc_exempt.filter(|_| rlimit == "LimitNPROC")) {
            (Limit::Value(_), Some(why)) => {
                note(directive, &l.origin, Fate::NotEnforced(format!("no usable cgroup, and {why}")));
            }
            (Limit::Value(n), None) if !out.rlimits.contains_key(rlimit) => {
                let v = RlimitValue { soft: Some(n), hard: Some(n) };
                out.rlimits.insert(rlimit.into(), Spanned { value: v, origin: l.origin.clone() });
                let how = format!("no usable cgroup: approximated by {rlimit}= ({unlike})");
                note(directive, &l.origin, Fate::Weakened(how));
            }
            _ => note(directive, &l.origin, Fate::NotEnforced("no usable cgroup".into())),
        }
    }
    let rest: [(&'static str, Option<Origin>); 9] = [
        ("MemoryHigh", out.memory_high.take().map(|v| v.origin)),
        ("MemoryLow", out.memory_low.take().map(|v| v.origin)),
        ("MemoryMin", out.memory_min.take().map(|v| v.origin)),
        ("MemorySwapMax", out.memory_swap_max.take().map(|v| v.origin)),
        ("CPUQuota", out.cpu_quota.take().map(|v| v.origin)),
        ("CPUWeight", out.cpu_weight.take().map(|v| v.origin)),
        ("AllowedCPUs", out.allowed_cpus.take().map(|v| v.origin)),
        ("IOWeight", out.io_weight.take().map(|v| v.origin)),
        ("IO*Max", out.io_limits.iter_mut().find_map(|l| l.first().map(|v| v.origin.clone()))),
    ];
    out.io_limits.iter_mut().for_each(Vec::clear);
    for (directive, origin) in rest {
        if let Some(o) = origin {
            note(directive, &o, Fate::NotEnforced("no usable cgroup and no rlimit that approximates it".into()));
        }
    }
    (out, notes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::fake;
    use crate::host::{CgroupHost, Node};
    use crate::plan::tests::settings;

    fn host(uid: u32) -> HostFacts {
        let mut h = fake::host(uid);
        let mut fs = fake::FakeFs::debian();
        for d in ["/sys/fs/cgroup", "/sys/fs/cgroup/user", "/sys/fs/cgroup/user/shell"] {
            fs.nodes.insert(d.into(), Node::Dir);
        }
        fs.owners.insert("/sys/fs/cgroup/user".into(), 1000);
        fs.owners.insert("/sys/fs/cgroup/user/shell".into(), 1000);
        fs.files.insert("/sys/fs/cgroup/cgroup.controllers".into(), "cpuset cpu io memory pids".into());
        fs.files.insert("/sys/fs/cgroup/user/cgroup.controllers".into(), "memory pids".into());
        fs.files.insert("/sys/fs/cgroup/user/cgroup.procs".into(), "".into());
        fs.files.insert("/sys/fs/cgroup/user/shell/cgroup.procs".into(), "4242\n".into());
        h.fs = Box::new(fs);
        h.cgroup =
            crate::host::Lazy::known(Some(CgroupHost { mount: "/sys/fs/cgroup".into(), own: "/user/shell".into() }));
        h
    }

    #[test]
    fn no_limits_no_cgroup() {
        assert_eq!(plan(&settings(""), &host(0)).unwrap(), None);
    }

    #[test]
    fn limits_become_files() {
        let s = settings("MemoryMax=64M\nMemoryHigh=50%\nCPUQuota=20%\nTasksMax=infinity\nCPUWeight=50");
        let p = plan(&s, &host(0)).unwrap().unwrap();
        assert_eq!(p.parent, "/sys/fs/cgroup/sbx");
        let file = |f: &str| p.files.iter().find(|(n, _)| n == f).map(|(_, v)| v.as_str());
        assert_eq!(file("memory.max"), Some("67108864"));
        assert_eq!(file("memory.high"), Some(&*((8u64 << 30) / 2).to_string()));
        assert_eq!(file("cpu.max"), Some("20000 100000"));
        assert_eq!(file("pids.max"), Some("max"));
        assert_eq!(file("cpu.weight"), Some("50"));
        assert_eq!(p.enable[0], ("/sys/fs/cgroup".to_string(), "+memory +cpu +pids".to_string()));
    }

    #[test]
    fn quotas_above_one_cpu_and_custom_periods() {
        let p = plan(&settings("CPUQuota=150%\nCPUQuotaPeriodSec=50ms"), &host(0)).unwrap().unwrap();
        assert_eq!(p.files, vec![("cpu.max".to_string(), "75000 50000".to_string())]);
    }

    #[test]
    fn rootless_uses_the_delegated_ancestor() {
        let p = plan(&settings("MemoryMax=64M\nTasksMax=10"), &host(1000)).unwrap().unwrap();
        assert_eq!(p.parent, "/sys/fs/cgroup/user", "its own cgroup holds processes; its owned parent does not");
        assert!(p.create.is_empty());
        let e = plan(&settings("CPUQuota=20%"), &host(1000)).unwrap_err().to_string();
        assert!(e.contains("delegated") && e.contains("Delegate=yes"), "cpu is not delegated: {e}");
    }

    #[test]
    fn hosts_without_cgroup_v2_or_controllers_are_explained() {
        let mut h = host(0);
        h.cgroup = crate::host::Lazy::known(None);
        assert!(plan(&settings("MemoryMax=1G"), &h).unwrap_err().to_string().contains("cgroup v1 only"));
        let mut h = host(0);
        h.cgroup =
            crate::host::Lazy::known(Some(CgroupHost { mount: "/sys/fs/cgroup/unified".into(), own: "/".into() }));
        let e = plan(&settings("MemoryMax=1G"), &h).unwrap_err().to_string();
        assert!(e.contains("memory controller is not available"), "{e}");
    }

    #[test]
    fn without_a_cgroup_two_limits_become_rlimits_and_the_rest_are_reported() {
        use crate::plan::no_namespaces::Fate;
        let s = settings("MemoryMax=64M\nTasksMax=10\nLimitNPROC=5\nCPUQuota=20%");
        let (out, notes) = rlimit_fallback(&s, None);
        let as_limit = out.rlimits.get("LimitAS").map(|r| (r.value.soft, r.value.hard));
        assert_eq!(as_limit, Some((Some(64 << 20), Some(64 << 20))));
        let nproc = out.rlimits.get("LimitNPROC").map(|r| r.value.soft);
        assert_eq!(nproc, Some(Some(5)), "the profile's own LimitNPROC= stays");
        assert!(out.memory_max.is_none() && out.tasks_max.is_none() && out.cpu_quota.is_none());
        let fate = |d: &str| notes.iter().find(|n| n.directive == d).map(|n| &n.fate);
        assert!(
            matches!(fate("MemoryMax"), Some(Fate::Weakened(w)) if w.contains("LimitAS=")),
            "{:?}",
            fate("MemoryMax")
        );
        assert!(matches!(fate("TasksMax"), Some(Fate::NotEnforced(_))), "{:?}", fate("TasksMax"));
        assert!(matches!(fate("CPUQuota"), Some(Fate::NotEnforced(_))), "{:?}", fate("CPUQuota"));
        assert_eq!(notes.len(), 3);
        let (out, notes) = rlimit_fallback(&settings("TasksMax=10"), None);
        assert_eq!(out.rlimits.get("LimitNPROC").map(|r| r.value.hard), Some(Some(10)));
        assert!(matches!(&notes[..], [n] if matches!(&n.fate, Fate::Weakened(w) if w.contains("LimitNPROC="))));
        // A payload the limit does not bind: not enforced, and no rlimit pretends otherwise.
        let (out, notes) = rlimit_fallback(&settings("TasksMax=10"), Some("uid 0"));
        assert!(!out.rlimits.contains_key("LimitNPROC"));
        assert!(matches!(&notes[..], [n] if matches!(&n.fate, Fate::NotEnforced(w) if w.contains("uid 0"))));
    }
}
