//! `sbx doctor`: what this host lets sbx do and, for each missing piece, the exact fix.
//!
//! Invariant: probing changes nothing on the host. A probe either reads /proc and /sys or
//! runs in a throw-away child (`child.rs`) whose namespaces and mounts vanish with it. Each
//! concern has pure functions from what was read to a `Finding`, tested with fake inputs,
//! and a small reading part beside them. A finding never sets the exit code by itself:
//! `Report::new` decides from each finding's status and impact, and an impact naming
//! directives counts only when the directive table says sbx enforces one of them.

pub mod cgroup;
pub mod child;
pub mod container;
pub mod kernel;
pub mod landlock;
pub mod procfs;
pub mod render;
pub mod seccomp;
pub mod tty;
pub mod usernet;
pub mod userns;

use std::fmt;

use serde::Serialize;

use crate::host::{HostFacts, mountinfo};
use crate::profile::directives;

/// Exit code when some protection a profile can ask for cannot be enforced here.
pub const EXIT_DEGRADED: i32 = 1;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Ok,
    Missing,
    Limited,
    /// The probe could not tell (it failed in a way that names no cause).
    Unknown,
}

impl Status {
    pub fn label(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Missing => "missing",
            Status::Limited => "limited",
            Status::Unknown => "unknown",
        }
    }
}

/// One way to lift a limit.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Fix {
    /// A command to run (as root unless it says otherwise).
    Command { command: String },
    /// A file to write.
    File { path: String, content: String },
    /// A kernel setting, now with sysctl and for every boot in `file`.
    Sysctl { key: String, value: String, file: String },
    /// A kernel command-line parameter.
    Boot { parameter: String },
    /// An option of a container engine's run command (or a pod spec field for Kubernetes).
    Engine { engine: String, option: String },
    /// Anything else: the profile, the way sbx is started, a package.
    Note { text: String },
}

/// Where sysctl fixes are made permanent.
pub const SYSCTL_FILE: &str = "/etc/sysctl.d/90-sbx.conf";

impl Fix {
    pub fn command(c: impl Into<String>) -> Fix {
        Fix::Command { command: c.into() }
    }

    pub fn sysctl(key: &str, value: &str) -> Fix {
        Fix::Sysctl { key: key.into(), value: value.into(), file: SYSCTL_FILE.into() }
    }

    pub fn engine(engine: &str, option: &str) -> Fix {
        Fix::Engine { engine: engine.into(), option: option.into() }
    }

    pub fn note(text: impl Into<String>) -> Fix {
        Fix::Note { text: text.into() }
    }
}

impl fmt::Display for Fix {
    /// One line, except a file's content, which follows on its own lines.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Fix::Command { command } => write!(f, "{command}"),
            Fix::File { path, content } => write!(f, "write {path}:\n{}", content.trim_end()),
            Fix::Sysctl { key, value, file } => {
                write!(f, "sysctl -w {key}={value} (to keep it across reboots: echo '{key} = {value}' >> {file})")
            }
            Fix::Boot { parameter } => write!(f, "boot with {parameter} on the kernel command line"),
            Fix::Engine { engine, option } if engine == "kubernetes" => write!(f, "in the pod spec: {option}"),
            Fix::Engine { engine, option } => write!(f, "{engine} run {option} ..."),
            Fix::Note { text } => write!(f, "{text}"),
        }
    }
}

/// What a missing piece costs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Impact {
    /// Information only; never degrades.
    Info,
    /// Every sandbox sbx starts here needs it.
    EverySandbox,
    /// These directives (names from the directive table) cannot be enforced without it.
    Directives(Vec<&'static str>),
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub id: &'static str,
    pub title: &'static str,
    pub status: Status,
    pub summary: String,
    pub details: Vec<String>,
    pub fixes: Vec<Fix>,
    pub impact: Impact,
    /// Set by `Report::new`: whether this finding keeps full isolation from being possible.
    pub degrades: bool,
}

impl Finding {
    pub fn new(id: &'static str, title: &'static str, status: Status, summary: impl Into<String>) -> Finding {
        Finding {
            id,
            title,
            status,
            summary: summary.into(),
            details: Vec::new(),
            fixes: Vec::new(),
            impact: Impact::Info,
            degrades: false,
        }
    }

    pub fn detail(mut self, d: impl Into<String>) -> Finding {
        self.details.push(d.into());
        self
    }

    pub fn fixes(mut self, fixes: impl IntoIterator<Item = Fix>) -> Finding {
        self.fixes.extend(fixes);
        self
    }

    pub fn impact(mut self, impact: Impact) -> Finding {
        self.impact = impact;
        self
    }

    /// The directives this finding names that sbx enforces (an empty list for other impacts).
    pub fn enforced_directives(&self) -> Vec<&'static str> {
        match &self.impact {
            Impact::Directives(names) => names.iter().copied().filter(|n| enforced(n)).collect(),
            _ => Vec::new(),
        }
    }
}

/// Whether sbx enforces a directive today (the table's `Supported`).
fn enforced(name: &str) -> bool {
    directives::find(name).is_some_and(|d| d.status == directives::Status::Supported)
}

/// Whether a finding keeps full isolation from being possible, given which directives sbx
/// enforces.
fn degrades(f: &Finding, enforced: impl Fn(&str) -> bool) -> bool {
    f.status != Status::Ok
        && match &f.impact {
            Impact::Info => false,
            Impact::EverySandbox => true,
            Impact::Directives(names) => names.iter().any(|n| enforced(n)),
        }
}

/// Everything doctor found, in run order, and the verdict.
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    pub kernel: String,
    pub arch: String,
    pub uid: u32,
    pub euid: u32,
    /// The mode sbx runs in for this caller: "root" or "rootless".
    pub mode: &'static str,
    pub findings: Vec<Finding>,
    pub full_isolation: bool,
    pub exit_code: i32,
}

impl Report {
    fn new(kernel: &kernel::Facts, host: &HostFacts, mut findings: Vec<Finding>) -> Report {
        for f in &mut findings {
            f.degrades = degrades(f, enforced);
        }
        let full_isolation = !findings.iter().any(|f| f.degrades);
        Report {
            kernel: kernel.release.clone(),
            arch: kernel.machine.clone(),
            uid: host.uid,
            euid: host.euid,
            mode: if host.is_root() { "root" } else { "rootless" },
            findings,
            full_isolation,
            exit_code: if full_isolation { 0 } else { EXIT_DEGRADED },
        }
    }
}

/// Probes the host. Call only while sbx is single-threaded: probes fork.
pub fn run() -> Report {
    let host = HostFacts::probe();
    let kernel = kernel::Facts::read(&host);
    let mounts = mountinfo::parse(&read("/proc/self/mountinfo").unwrap_or_default());
    let container = container::detect(&container::Signs::read(&mounts));
    let userns_facts = userns::Facts::read(&host, container.as_ref());
    let userns_probe = userns::probe(host.euid);
    let (userns_finding, root_map) = userns::findings(&userns_facts, &userns_probe);
    let procfs = procfs::Facts { userns: &userns_facts, masked: procfs::masked_paths(&mounts) };
    let actions = seccomp::Actions::probe();
    let findings = vec![
        kernel::finding(&kernel),
        container::finding(container.as_ref()),
        userns_finding,
        root_map,
        procfs::finding(&procfs, &procfs::run(host.is_root(), userns_probe.created())),
        seccomp::filter_finding(&userns_facts.seccomp, &actions),
        seccomp::listener_finding(&seccomp::ListenerFacts::read(&host), &actions),
        landlock::finding(crate::sys::landlock::abi()),
        cgroup::finding(&cgroup::read(std::path::Path::new("/"), &mounts, &host)),
        tty::finding(read("/proc/sys/dev/tty/legacy_tiocsti").as_deref()),
        usernet::finding(&usernet::find_in_path(&std::env::var("PATH").unwrap_or_default())),
    ];
    Report::new(&kernel, &host, findings)
}

/// A /proc or /sys file's text, `None` when it cannot be read.
pub fn read(path: &str) -> Option<String> {
    std::fs::read_to_string(path).ok()
}

/// A sysctl as a number (`/proc/sys/...`), `None` when absent or unreadable.
pub fn read_number(path: &str) -> Option<i64> {
    read(path)?.trim().parse().ok()
}

/// The value of `Key:` in a /proc/PID/status text, trimmed.
pub fn status_field<'a>(status: &'a str, key: &str) -> Option<&'a str> {
    status.lines().find_map(|l| l.strip_prefix(key)?.strip_prefix(':').map(str::trim))
}

/// The engines whose run options a fix should name: the one detected, or both common ones.
pub fn engines(engine: Option<&container::Engine>) -> Vec<&'static str> {
    match engine {
        Some(container::Engine::Docker) => vec!["docker"],
        Some(container::Engine::Podman) => vec!["podman"],
        _ => vec!["docker", "podman"],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn finding(status: Status, impact: Impact) -> Finding {
        Finding::new("x", "X", status, "s").impact(impact)
    }

    #[test]
    fn only_enforced_losses_degrade() {
        let enforced = |n: &str| n == "PrivateUsers";
        assert!(degrades(&finding(Status::Missing, Impact::EverySandbox), enforced));
        assert!(degrades(&finding(Status::Unknown, Impact::EverySandbox), enforced));
        assert!(!degrades(&finding(Status::Ok, Impact::EverySandbox), enforced));
        assert!(!degrades(&finding(Status::Missing, Impact::Info), enforced));
        assert!(degrades(&finding(Status::Limited, Impact::Directives(vec!["MemoryMax", "PrivateUsers"])), enforced));
        assert!(!degrades(&finding(Status::Missing, Impact::Directives(vec!["MemoryMax"])), enforced));
    }

    #[test]
    fn the_directive_table_decides_what_is_enforced() {
        assert!(enforced("PrivateUsers"));
        assert!(!enforced("IPAddressDeny"), "it needs BPF, which sbx does not install");
        assert!(!enforced("NoSuchDirective"));
    }

    #[test]
    fn reads_status_fields() {
        let status = "Name:\tsbx\nSeccomp:\t2\nSeccomp_filters:\t1\nCapEff:\t000001ffffffffff\n";
        assert_eq!(status_field(status, "Seccomp"), Some("2"));
        assert_eq!(status_field(status, "Seccomp_filters"), Some("1"));
        assert_eq!(status_field(status, "CapEff"), Some("000001ffffffffff"));
        assert_eq!(status_field(status, "NoNewPrivs"), None);
    }

    #[test]
    fn fixes_read_as_commands() {
        assert_eq!(
            Fix::sysctl("user.max_user_namespaces", "15000").to_string(),
            "sysctl -w user.max_user_namespaces=15000 (to keep it across reboots: echo 'user.max_user_namespaces = 15000' >> /etc/sysctl.d/90-sbx.conf)"
        );
        assert_eq!(
            Fix::engine("docker", "--security-opt seccomp=unconfined").to_string(),
            "docker run --security-opt seccomp=unconfined ..."
        );
        assert_eq!(
            Fix::Boot { parameter: "cgroup_no_v1=all".into() }.to_string(),
            "boot with cgroup_no_v1=all on the kernel command line"
        );
    }
}
