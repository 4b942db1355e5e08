//! Whether sbx runs inside a container, and which engine's: the fixes for a refused user
//! namespace, a masked /proc or a missing capability are options of that engine.
//!
//! Invariant: `detect` is pure over the signs read by `Signs::read`; every conclusion lists
//! the evidence it rests on, and a sign any image can carry (/.dockerenv) alone makes it
//! "possibly", never certain.

use serde::Serialize;

use super::{Finding, Status, read};
use crate::host::mountinfo::Mount;

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Engine {
    Docker,
    Podman,
    Kubernetes,
    Lxc,
    Nspawn,
    /// Named by pid 1's `container=` but not one sbx knows.
    Other(String),
}

impl Engine {
    pub fn name(&self) -> &str {
        match self {
            Engine::Docker => "Docker",
            Engine::Podman => "podman",
            Engine::Kubernetes => "Kubernetes",
            Engine::Lxc => "LXC",
            Engine::Nspawn => "systemd-nspawn",
            Engine::Other(n) => n,
        }
    }

    /// From the value of pid 1's `container=` variable.
    fn from_env(v: &str) -> Engine {
        match v {
            "docker" => Engine::Docker,
            "podman" => Engine::Podman,
            "lxc" | "lxc-libvirt" => Engine::Lxc,
            "systemd-nspawn" => Engine::Nspawn,
            other => Engine::Other(other.to_string()),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Container {
    pub engine: Engine,
    pub evidence: Vec<String>,
    /// False when only a sign an image can carry anywhere was found.
    pub certain: bool,
}

/// What the host shows about a container around sbx.
#[derive(Clone, Debug, Default)]
pub struct Signs<'a> {
    pub dockerenv: bool,
    /// /run/.containerenv's text (podman writes it, sometimes empty).
    pub containerenv: Option<String>,
    /// pid 1's environment, NUL-separated, when readable.
    pub pid1_environ: Option<String>,
    pub pid1_cgroup: Option<String>,
    pub mounts: &'a [Mount],
}

impl<'a> Signs<'a> {
    pub fn read(mounts: &'a [Mount]) -> Signs<'a> {
        Signs {
            dockerenv: std::path::Path::new("/.dockerenv").exists(),
            containerenv: read("/run/.containerenv"),
            pid1_environ: std::fs::read("/proc/1/environ").ok().map(|b| String::from_utf8_lossy(&b).into_owned()),
            pid1_cgroup: read("/proc/1/cgroup"),
            mounts,
        }
    }
}

/// Engine names as they appear in cgroup paths and in the host paths containers bind.
const PATH_HINTS: &[(&str, Engine)] = &[
    ("kubepods", Engine::Kubernetes),
    ("/kubelet/pods/", Engine::Kubernetes),
    ("/docker/", Engine::Docker),
    ("/docker-", Engine::Docker),
    ("libpod", Engine::Podman),
    ("/containers/storage/", Engine::Podman),
    ("/lxc/", Engine::Lxc),
    ("lxc.payload", Engine::Lxc),
    ("machine.slice/machine-", Engine::Nspawn),
];

fn path_hint(text: &str) -> Option<Engine> {
    PATH_HINTS.iter().find(|(h, _)| text.contains(h)).map(|(_, e)| e.clone())
}

pub fn detect(s: &Signs) -> Option<Container> {
    let mut found: Vec<(Engine, String, bool)> = Vec::new();
    let env = s.pid1_environ.as_deref().unwrap_or("");
    if let Some(v) = env.split('\0').find_map(|kv| kv.strip_prefix("container=")) {
        found.push((Engine::from_env(v), format!("pid 1 has container={v} in its environment"), true));
    }
    if let Some(text) = &s.containerenv {
        let engine =
            text.lines().find_map(|l| l.strip_prefix("engine=")).map(|e| format!(" ({})", e.trim_matches('"')));
        found.push((Engine::Podman, format!("/run/.containerenv exists{}", engine.unwrap_or_default()), true));
    }
    for line in s.pid1_cgroup.as_deref().unwrap_or("").lines() {
        if let Some(e) = path_hint(line.splitn(3, ':').nth(2).unwrap_or("")) {
            found.push((e, format!("pid 1's cgroup is {line}"), true));
            break;
        }
    }
    for m in
        s.mounts.iter().filter(|m| ["/", "/etc/hostname", "/etc/hosts", "/etc/resolv.conf"].contains(&m.point.as_str()))
    {
        if let Some(e) = path_hint(&format!("{} {}", m.root, m.super_options)) {
            found.push((
                e,
                format!("{} comes from the engine's storage ({})", m.point, shorten(&m.root, &m.super_options)),
                true,
            ));
            break;
        }
    }
    if s.dockerenv {
        found.push((Engine::Docker, "/.dockerenv exists".into(), false));
    }
    let engine = match found.iter().find(|(e, _, _)| *e == Engine::Kubernetes) {
        Some((e, _, _)) => e.clone(),
        None => found.first()?.0.clone(),
    };
    let certain = found.iter().any(|(_, _, strong)| *strong);
    Some(Container { engine, evidence: found.into_iter().map(|(_, ev, _)| ev).collect(), certain })
}

fn shorten(root: &str, super_options: &str) -> String {
    let text = if root.len() > 1 { root } else { super_options };
    let mut s: String = text.chars().take(60).collect();
    if text.chars().count() > 60 {
        s.push_str("...");
    }
    s
}

pub fn finding(c: Option<&Container>) -> Finding {
    const TITLE: &str = "container";
    let Some(c) = c else {
        return Finding::new(
            TITLE,
            "container",
            Status::Ok,
            "not inside a container (no engine files, no container= for pid 1, no engine paths in cgroups or mounts)",
        );
    };
    let mut f = if c.certain {
        Finding::new(
            TITLE,
            "container",
            Status::Limited,
            format!(
                "inside a {} container: its seccomp profile, masked /proc paths and capabilities decide what sbx can do (see the other findings)",
                c.engine.name()
            ),
        )
    } else {
        Finding::new(
            TITLE,
            "container",
            Status::Unknown,
            format!("possibly a {} container: only signs an image keeps wherever it runs were found", c.engine.name()),
        )
    };
    for e in &c.evidence {
        f = f.detail(e.clone());
    }
    f
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::mountinfo;

    #[test]
    fn nothing_means_no_container() {
        assert_eq!(detect(&Signs { pid1_cgroup: Some("0::/init.scope\n".into()), ..Signs::default() }), None);
        assert_eq!(finding(None).status, Status::Ok);
    }

    #[test]
    fn dockerenv_alone_is_only_possible() {
        let c = detect(&Signs { dockerenv: true, pid1_cgroup: Some("0::/\n".into()), ..Signs::default() }).unwrap();
        assert_eq!(c.engine, Engine::Docker);
        assert!(!c.certain);
        assert_eq!(finding(Some(&c)).status, Status::Unknown);
    }

    #[test]
    fn docker_on_cgroup_v1_shows_in_pid1_cgroup() {
        let c = detect(&Signs {
            dockerenv: true,
            pid1_cgroup: Some("12:pids:/docker/0123abcd\n0::/docker/0123abcd\n".into()),
            ..Signs::default()
        })
        .unwrap();
        assert_eq!(c.engine, Engine::Docker);
        assert!(c.certain);
        assert_eq!(c.evidence.len(), 2, "{:?}", c.evidence);
    }

    #[test]
    fn docker_with_a_cgroup_namespace_shows_in_its_binds() {
        let mounts = mountinfo::parse(
            "500 480 8:1 /var/lib/docker/containers/0123/hostname /etc/hostname rw,relatime - ext4 /dev/sda1 rw\n",
        );
        let c = detect(&Signs { pid1_cgroup: Some("0::/\n".into()), mounts: &mounts, ..Signs::default() }).unwrap();
        assert_eq!(c.engine, Engine::Docker);
        assert!(c.certain);
    }

    #[test]
    fn podman_writes_containerenv_and_container_env() {
        let c = detect(&Signs {
            containerenv: Some("engine=\"podman-5.4.2\"\nname=\"web\"\nrootless=1\n".into()),
            pid1_environ: Some("PATH=/usr/bin\0container=podman\0HOME=/root\0".into()),
            ..Signs::default()
        })
        .unwrap();
        assert_eq!(c.engine, Engine::Podman);
        assert_eq!(c.evidence[0], "pid 1 has container=podman in its environment");
        assert_eq!(c.evidence[1], "/run/.containerenv exists (podman-5.4.2)");
        assert!(finding(Some(&c)).summary.contains("inside a podman container"));
    }

    #[test]
    fn kubernetes_wins_over_its_runtime() {
        let c = detect(&Signs {
            dockerenv: true,
            pid1_cgroup: Some("0::/kubepods/besteffort/pod12/abc\n".into()),
            ..Signs::default()
        })
        .unwrap();
        assert_eq!(c.engine, Engine::Kubernetes);
    }

    #[test]
    fn unknown_container_names_are_kept() {
        let c = detect(&Signs { pid1_environ: Some("container=oci\0".into()), ..Signs::default() }).unwrap();
        assert_eq!(c.engine, Engine::Other("oci".into()));
    }
}
