//! Landlock rules: which paths the payload may read, write or execute, which TCP ports it
//! may bind or connect to, and which scopes (abstract sockets, signals) it is confined to.
//!
//! Invariant: rules are an allow-list in sandbox paths, trimmed to the ABI this kernel
//! offers. With namespaces they mirror the mount view (read-only everywhere, full rights on
//! writable mounts) as defence in depth; without namespaces `view` computes them from the
//! profile and is what confines the filesystem. Nothing here touches the host beyond
//! `HostFacts`.

use serde::Serialize;

use crate::plan::mounts::{Mount, MountOp};

pub const EXECUTE: u64 = 1 << 0;
pub const WRITE_FILE: u64 = 1 << 1;
pub const READ_FILE: u64 = 1 << 2;
pub const READ_DIR: u64 = 1 << 3;
pub const REMOVE_DIR: u64 = 1 << 4;
pub const REMOVE_FILE: u64 = 1 << 5;
pub const MAKE_CHAR: u64 = 1 << 6;
pub const MAKE_DIR: u64 = 1 << 7;
pub const MAKE_REG: u64 = 1 << 8;
pub const MAKE_SOCK: u64 = 1 << 9;
pub const MAKE_FIFO: u64 = 1 << 10;
pub const MAKE_BLOCK: u64 = 1 << 11;
pub const MAKE_SYM: u64 = 1 << 12;
/// ABI 2.
pub const REFER: u64 = 1 << 13;
/// ABI 3.
pub const TRUNCATE: u64 = 1 << 14;

pub const BIND_TCP: u64 = 1 << 0;
pub const CONNECT_TCP: u64 = 1 << 1;
pub const SCOPE_ABSTRACT_UNIX: u64 = 1 << 0;
pub const SCOPE_SIGNAL: u64 = 1 << 1;

/// Reading and executing.
pub const READ: u64 = EXECUTE | READ_FILE | READ_DIR;
/// Everything on files and directories (device ioctls are left alone: sbx does not
/// handle IOCTL_DEV, so terminals keep working).
pub const WRITE: u64 = READ
    | WRITE_FILE
    | REMOVE_DIR
    | REMOVE_FILE
    | MAKE_CHAR
    | MAKE_DIR
    | MAKE_REG
    | MAKE_SOCK
    | MAKE_FIFO
    | MAKE_BLOCK
    | MAKE_SYM
    | REFER
    | TRUNCATE;
/// The rights that apply to a non-directory.
pub const FILE_RIGHTS: u64 = EXECUTE | WRITE_FILE | READ_FILE | TRUNCATE;

/// The filesystem rights an ABI version knows.
pub fn fs_rights(abi: u32) -> u64 {
    match abi {
        0 => 0,
        1 => WRITE & !(REFER | TRUNCATE),
        2 => WRITE & !TRUNCATE,
        _ => WRITE,
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PathRule {
    pub path: String,
    pub access: u64,
    pub dir: bool,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct LandlockPlan {
    /// The ABI version of this kernel (0: no Landlock).
    pub abi: u32,
    pub handled_fs: u64,
    pub handled_net: u64,
    pub scoped: u64,
    pub paths: Vec<PathRule>,
    /// TCP ports allowed for BIND_TCP|CONNECT_TCP (empty with handled_net: no TCP at all).
    pub ports: Vec<(u16, u64)>,
}

/// Landlock's scopes (ABI 6), as defence in depth beside the namespaces: abstract unix
/// sockets outside the sandbox with PrivateNetwork=, signals to processes outside it with
/// PrivateIPC=.
pub fn scopes(s: &crate::settings::Settings, abi: u32) -> u64 {
    use crate::settings::Settings;
    if abi < 6 {
        return 0;
    }
    (if Settings::flag(&s.private_network) { SCOPE_ABSTRACT_UNIX } else { 0 })
        | (if Settings::flag(&s.private_ipc) { SCOPE_SIGNAL } else { 0 })
}

/// With namespaces: read and execute everywhere, everything on writable mounts.
pub fn mirror(mounts: &[Mount], abi: u32) -> LandlockPlan {
    let handled = fs_rights(abi);
    if handled == 0 {
        return LandlockPlan { abi, ..LandlockPlan::default() };
    }
    let readonly_later: Vec<&str> = mounts
        .iter()
        .filter_map(|m| match &m.op {
            MountOp::RemountReadOnly { target } => Some(target.as_str()),
            _ => None,
        })
        .collect();
    let root = "/".to_string();
    let mut paths = vec![PathRule { path: "/".into(), access: READ & handled, dir: true }];
    for m in mounts {
        let (target, dir) = match &m.op {
            MountOp::Bind { target, readonly: false, kind, .. } => (target, *kind == crate::host::FileKind::Dir),
            MountOp::SelfBind { target, readonly: false } => (target, true),
            MountOp::RootBind { readonly: false, .. } => (&root, true),
            MountOp::Tmpfs { target, .. } if !readonly_later.contains(&target.as_str()) => (target, true),
            MountOp::Proc { target, .. } | MountOp::Devpts { target } | MountOp::Mqueue { target } => (target, true),
            _ => continue,
        };
        let access = if dir { WRITE & handled } else { FILE_RIGHTS & handled };
        paths.retain(|p| p.path != *target);
        paths.push(PathRule { path: target.clone(), access, dir });
    }
    LandlockPlan { abi, handled_fs: handled, handled_net: 0, scoped: 0, paths, ports: Vec::new() }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::tests::plan_as;

    #[test]
    fn the_mirror_reads_everywhere_and_writes_where_mounts_are_writable() {
        let p =
            plan_as(0, "ProtectSystem=strict\nPrivateTmp=yes\nPrivateDevices=yes\nReadWritePaths=/srv/www").unwrap();
        let l = mirror(&p.mounts, 6);
        let access = |path: &str| l.paths.iter().find(|r| r.path == path).map(|r| r.access);
        assert_eq!(access("/"), Some(READ));
        assert_eq!(access("/tmp"), Some(WRITE));
        assert_eq!(access("/srv/www"), Some(WRITE));
        assert_eq!(access("/dev/null"), Some(FILE_RIGHTS), "device binds get file rights only");
        assert_eq!(access("/dev"), None, "the private /dev itself is made read-only");
        assert_eq!(access("/etc"), None, "read-only binds add nothing to /'s read rights");
    }

    #[test]
    fn scopes_follow_private_network_and_ipc() {
        let s = crate::plan::tests::settings("PrivateNetwork=yes\nPrivateIPC=yes");
        assert_eq!(scopes(&s, 6), SCOPE_ABSTRACT_UNIX | SCOPE_SIGNAL);
        assert_eq!(scopes(&s, 5), 0, "scopes came with ABI 6");
        assert_eq!(scopes(&crate::plan::tests::settings(""), 6), 0);
    }

    #[test]
    fn socket_bind_rules_become_landlock_ports() {
        let s = crate::plan::tests::settings("SocketBindDeny=tcp\nSocketBindAllow=tcp:8080 8443-8444");
        assert_eq!(socket_bind(&s, 6).unwrap(), Some(vec![(8080, BIND_TCP), (8443, BIND_TCP), (8444, BIND_TCP)]));
        assert!(socket_bind(&s, 3).unwrap_err().to_string().contains("ABI 4"));
        for bad in ["SocketBindDeny=any", "SocketBindDeny=udp", "SocketBindDeny=ipv4:tcp", "SocketBindDeny=tcp:80"] {
            assert!(socket_bind(&crate::plan::tests::settings(bad), 6).is_err(), "{bad}");
        }
        let e =
            socket_bind(&crate::plan::tests::settings("SocketBindDeny=tcp\nSocketBindAllow=udp:53"), 6).unwrap_err();
        assert!(e.to_string().contains("TCP"), "{e}");
        assert_eq!(socket_bind(&crate::plan::tests::settings("SocketBindAllow=tcp:80"), 6).unwrap(), None);
    }

    #[test]
    fn rights_follow_the_abi() {
        assert_eq!(fs_rights(0), 0);
        assert_eq!(fs_rights(1) & (REFER | TRUNCATE), 0);
        assert_eq!(fs_rights(3), WRITE);
        assert_eq!(mirror(&[], 0).handled_fs, 0);
    }
}

/// Turns "this path and what is below it gets these rights, unless a longer path says
/// otherwise" into Landlock rules, which can only add rights down a tree: where a subtree
/// must get less than its parent, the parent's rights go on each sibling instead.
pub struct ViewBuilder<'a> {
    fs: &'a dyn crate::host::HostFs,
    /// (path, rights), later entries for the same path replacing earlier ones.
    wanted: Vec<(String, u64)>,
}

fn within(path: &str, dir: &str) -> bool {
    dir == "/" || path == dir || path.strip_prefix(dir).is_some_and(|r| r.starts_with('/'))
}

fn child(dir: &str, name: &str) -> String {
    if dir == "/" { format!("/{name}") } else { format!("{dir}/{name}") }
}

impl<'a> ViewBuilder<'a> {
    pub fn new(fs: &'a dyn crate::host::HostFs) -> Self {
        ViewBuilder { fs, wanted: Vec::new() }
    }

    pub fn set(&mut self, path: &str, rights: u64) {
        self.wanted.retain(|(p, _)| p != path);
        self.wanted.push((path.to_string(), rights));
    }

    /// The rights of `path`: those of the longest wanted path that contains it.
    fn rights_of(&self, path: &str) -> u64 {
        self.wanted.iter().filter(|(p, _)| within(path, p)).max_by_key(|(p, _)| p.len()).map_or(0, |(_, r)| *r)
    }

    pub fn rules(&self, handled: u64) -> Vec<PathRule> {
        let mut out = Vec::new();
        self.emit("/", &mut out, handled);
        out
    }

    fn emit(&self, dir: &str, out: &mut Vec<PathRule>, handled: u64) {
        let rights = self.rights_of(dir);
        let below: Vec<&(String, u64)> = self.wanted.iter().filter(|(p, _)| p != dir && within(p, dir)).collect();
        // Subtrees that only add rights can stay under a rule on `dir`.
        let narrowing = below.iter().any(|(_, r)| rights & !r != 0);
        if !narrowing {
            if rights & handled != 0 {
                out.push(self.rule(dir, rights & handled));
            }
            for (p, r) in below {
                if r & !rights & handled != 0 && self.rights_of(p) == *r {
                    out.push(self.rule(p, r & handled));
                }
            }
            return;
        }
        for name in self.fs.read_dir(dir) {
            let path = child(dir, &name);
            // Through a symlink one reaches its target, whose rights are its own: a rule here
            // would hand the directory's rights to wherever the link points.
            if matches!(self.fs.lstat(&path), Ok(Some(crate::host::Node::Symlink { .. }))) {
                continue;
            }
            if below.iter().any(|(p, _)| within(p, &path)) {
                self.emit(&path, out, handled);
            } else if rights & handled != 0 {
                out.push(self.rule(&path, rights & handled));
            }
        }
    }

    fn rule(&self, path: &str, rights: u64) -> PathRule {
        let dir = matches!(self.fs.lstat(path), Ok(Some(crate::host::Node::Dir)));
        PathRule { path: path.to_string(), access: if dir { rights } else { rights & FILE_RIGHTS }, dir }
    }
}

#[cfg(test)]
mod view_tests {
    use super::*;
    use crate::host::fake::FakeFs;

    fn rules(set: &[(&str, u64)]) -> Vec<(String, u64)> {
        let fs = FakeFs::debian();
        let mut v = ViewBuilder::new(&fs);
        for (p, r) in set {
            v.set(p, *r);
        }
        v.rules(WRITE).into_iter().map(|r| (r.path, r.access)).collect()
    }

    #[test]
    fn narrowing_a_subtree_splits_its_parents() {
        let r = rules(&[("/", READ), ("/home", 0)]);
        assert!(!r.iter().any(|(p, _)| p == "/" || p.starts_with("/home")), "{r:?}");
        assert!(r.contains(&("/etc".into(), READ)) && r.contains(&("/usr".into(), READ)), "{r:?}");
    }

    #[test]
    fn widening_keeps_one_rule_on_the_parent() {
        let r = rules(&[("/", READ), ("/srv/www", WRITE)]);
        assert_eq!(r, vec![("/".to_string(), READ), ("/srv/www".to_string(), WRITE)]);
    }

    #[test]
    fn deep_narrowing_recurses_only_where_needed() {
        let r = rules(&[("/", READ), ("/var/lib", WRITE), ("/run/user", 0)]);
        assert!(r.contains(&("/var/lib".into(), WRITE)), "{r:?}");
        assert!(!r.contains(&("/run".into(), READ)) && !r.iter().any(|(p, _)| p == "/run/user"), "{r:?}");
        assert!(r.contains(&("/etc".into(), READ)), "{r:?}");
    }
}

/// SocketBindDeny=/SocketBindAllow= as Landlock TCP bind rules: Landlock can say "no TCP bind
/// except these ports", nothing else; every other form is refused with the reason.
pub fn socket_bind(
    s: &crate::settings::Settings,
    abi: u32,
) -> Result<Option<Vec<(u16, u64)>>, crate::error::PlanError> {
    use crate::error::PlanError;
    // Without a deny rule every bind is allowed already: SocketBindAllow= alone changes nothing.
    let Some(first) = s.socket_bind_deny.first() else { return Ok(None) };
    let refuse = |d: &str, o: &crate::profile::Origin, m: &str| Err(PlanError::directive(d, o, m));
    if abi < 4 {
        return refuse(
            "SocketBindDeny",
            &first.origin,
            "needs Landlock's TCP rules (ABI 4, Linux 6.7); this kernel lacks them",
        );
    }
    let mut tcp_denied = false;
    for d in &s.socket_bind_deny {
        let r = &d.value;
        if r.family.is_some() || r.ports.is_some() {
            return refuse(
                "SocketBindDeny",
                &d.origin,
                "sbx can refuse binds only for every TCP port at once (SocketBindDeny=tcp, with SocketBindAllow= for the exceptions); per-family or per-port denials need systemd's cgroup BPF",
            );
        }
        if r.transport.as_deref() != Some("tcp") {
            return refuse(
                "SocketBindDeny",
                &d.origin,
                "UDP binds cannot be restricted without cgroup BPF (Landlock covers TCP only); write SocketBindDeny=tcp, or run it under systemd",
            );
        }
        tcp_denied = true;
    }
    let mut ports = Vec::new();
    for a in &s.socket_bind_allow {
        let r = &a.value;
        if r.family.is_some() || r.transport.as_deref() == Some("udp") {
            return refuse(
                "SocketBindAllow",
                &a.origin,
                "only TCP ports of both families can be allowed (Landlock); drop the family or the udp",
            );
        }
        let Some((lo, hi)) = r.ports else {
            return refuse(
                "SocketBindAllow",
                &a.origin,
                "name the TCP ports to allow (allowing every port is the same as no SocketBindDeny=)",
            );
        };
        if u32::from(hi) - u32::from(lo) > 1024 {
            return refuse("SocketBindAllow", &a.origin, "at most 1025 ports per range (each is one Landlock rule)");
        }
        ports.extend((lo..=hi).map(|p| (p, BIND_TCP)));
    }
    Ok(tcp_denied.then_some(ports))
}
