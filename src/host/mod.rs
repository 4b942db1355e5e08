//! HostFacts: what the plan needs to know about this machine, probed once before planning.
//!
//! Invariant: this is the only input to `plan::build` besides Settings, and the file-system
//! and user-database parts sit behind small traits so plans can be tested against a fake
//! host. Probing reads files and calls getuid and friends; it changes nothing.

pub mod mountinfo;

use std::collections::BTreeMap;
use std::io;
use std::os::unix::fs::MetadataExt;

/// What a path on the host is, after resolution.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub enum FileKind {
    Dir,
    File,
    /// A device, fifo or socket: bound like a file.
    Other,
}

/// A host path with every symlink expanded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Resolved {
    pub path: String,
    pub kind: FileKind,
}

#[derive(Debug, thiserror::Error)]
pub enum ResolveError {
    #[error("no such file or directory: {0}")]
    NotFound(String),
    #[error(
        "{link} is a symlink owned by uid {owner}; sbx follows only symlinks owned by root, since another user could have planted it (name the target instead)"
    )]
    UntrustedSymlink { link: String, owner: u32 },
    #[error("too many levels of symlinks resolving {0}")]
    Loop(String),
    #[error("{path}: {source}")]
    Io { path: String, source: io::Error },
}

/// Entry kinds at the top of the host's root directory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RootEntry {
    Dir(String),
    File(String),
    Symlink { name: String, target: String },
}

/// A host file system as the planner sees it.
pub trait HostFs {
    /// Lstat one path: kind, symlink owner and target. `None` when it does not exist.
    fn lstat(&self, path: &str) -> Result<Option<Node>, io::Error>;
    fn root_entries(&self) -> Vec<RootEntry>;
    /// A configuration file's text: a regular file of bounded size (`config_file`).
    fn read_to_string(&self, path: &str) -> Result<String, io::Error>;
    /// [`HostFs::read_to_string`] of a path `resolve` returned: any symlink met on the way is
    /// refused, so the file read is the one resolution approved.
    fn read_resolved(&self, path: &str) -> Result<String, io::Error>;
    /// The names in a directory (empty when it cannot be read).
    fn read_dir(&self, path: &str) -> Vec<String>;
    /// The owner uid of a path, without following a final symlink.
    fn owner(&self, path: &str) -> Option<u32>;
    /// The text of /proc/self/mountinfo (empty when it cannot be read).
    fn mountinfo(&self) -> String;
    /// (major, minor) of a block device node, or of the device a path's file system is on.
    fn device_numbers(&self, path: &str) -> Option<(u32, u32)>;
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Node {
    Dir,
    File,
    Other,
    Symlink { owner: u32, target: String },
}

/// Resolves an absolute, normalised path on the host, following only root-owned symlinks.
pub fn resolve(fs: &dyn HostFs, path: &str) -> Result<Resolved, ResolveError> {
    resolve_in(fs, "/", path)
}

/// Resolves `path` as seen from a root directory `root` (a normalised host path): absolute
/// symlinks and `..` stay inside it, as under chroot. Returns the host path.
pub fn resolve_in(fs: &dyn HostFs, root: &str, path: &str) -> Result<Resolved, ResolveError> {
    let base = root.trim_end_matches('/').to_string();
    let mut pending: Vec<String> = components(path).into_iter().rev().collect();
    let mut done = base.clone();
    let mut hops = 0;
    let mut kind = FileKind::Dir;
    while let Some(c) = pending.pop() {
        if c == ".." {
            if done.len() > base.len() {
                if let Some(i) = done.rfind('/') {
                    done.truncate(i.max(base.len()));
                }
            }
            continue;
        }
        let candidate = format!("{done}/{c}");
        let io_err = |source| ResolveError::Io { path: candidate.clone(), source };
        match fs.lstat(&candidate).map_err(io_err)? {
            None => return Err(ResolveError::NotFound(path.to_string())),
            Some(Node::Symlink { owner, target }) => {
                if owner != 0 {
                    return Err(ResolveError::UntrustedSymlink { link: candidate, owner });
                }
                hops += 1;
                if hops > 40 {
                    return Err(ResolveError::Loop(path.to_string()));
                }
                if target.starts_with('/') {
                    done.clone_from(&base);
                }
                pending.extend(components(&target).into_iter().rev());
            }
            Some(node) => {
                kind = match node {
                    Node::Dir => FileKind::Dir,
                    Node::File => FileKind::File,
                    _ => FileKind::Other,
                };
                done = candidate;
            }
        }
    }
    if done.is_empty() {
        done.push('/');
    }
    Ok(Resolved { path: done, kind })
}

fn components(path: &str) -> Vec<String> {
    path.split('/').filter(|c| !c.is_empty() && *c != ".").map(str::to_string).collect()
}

/// The real host.
pub struct RealFs;

impl HostFs for RealFs {
    fn lstat(&self, path: &str) -> Result<Option<Node>, io::Error> {
        let meta = match std::fs::symlink_metadata(path) {
            Ok(m) => m,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) if e.raw_os_error() == Some(libc::ENOTDIR) => return Ok(None),
            Err(e) => return Err(e),
        };
        let ft = meta.file_type();
        Ok(Some(if ft.is_symlink() {
            let target = std::fs::read_link(path)?.to_string_lossy().into_owned();
            Node::Symlink { owner: meta.uid(), target }
        } else if ft.is_dir() {
            Node::Dir
        } else if ft.is_file() {
            Node::File
        } else {
            Node::Other
        }))
    }

    fn root_entries(&self) -> Vec<RootEntry> {
        let mut out = Vec::new();
        let Ok(entries) = std::fs::read_dir("/") else {
            return out;
        };
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            let Ok(ft) = e.file_type() else { continue };
            if ft.is_symlink() {
                if let Ok(t) = std::fs::read_link(e.path()) {
                    out.push(RootEntry::Symlink { name, target: t.to_string_lossy().into_owned() });
                }
            } else if ft.is_dir() {
                out.push(RootEntry::Dir(name));
            } else {
                out.push(RootEntry::File(name));
            }
        }
        out.sort_by(|a, b| root_entry_name(a).cmp(root_entry_name(b)));
        out
    }

    fn read_to_string(&self, path: &str) -> Result<String, io::Error> {
        crate::config_file::read(std::path::Path::new(path), crate::config_file::Symlinks::Follow)
    }

    fn read_resolved(&self, path: &str) -> Result<String, io::Error> {
        crate::config_file::read(std::path::Path::new(path), crate::config_file::Symlinks::Refuse)
    }

    fn owner(&self, path: &str) -> Option<u32> {
        std::fs::symlink_metadata(path).ok().map(|m| m.uid())
    }

    fn mountinfo(&self) -> String {
        std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default()
    }

    fn device_numbers(&self, path: &str) -> Option<(u32, u32)> {
        use std::os::unix::fs::FileTypeExt;
        let m = std::fs::metadata(path).ok()?;
        let dev = if m.file_type().is_block_device() { m.rdev() } else { m.dev() };
        Some((libc::major(dev), libc::minor(dev)))
    }

    fn read_dir(&self, path: &str) -> Vec<String> {
        let Ok(entries) = std::fs::read_dir(path) else { return Vec::new() };
        let mut names: Vec<String> = entries.flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect();
        names.sort();
        names
    }
}

pub fn root_entry_name(e: &RootEntry) -> &str {
    match e {
        RootEntry::Dir(n) | RootEntry::File(n) => n,
        RootEntry::Symlink { name, .. } => name,
    }
}

/// A user account from the host's /etc/passwd.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Account {
    pub name: String,
    pub uid: u32,
    pub gid: u32,
    pub home: String,
    pub shell: String,
}

/// The host's user and group databases (files only; sbx does not load NSS modules).
#[derive(Clone, Debug, Default)]
pub struct UserDb {
    pub users: Vec<Account>,
    pub groups: BTreeMap<String, u32>,
    /// Group name → member user names (the fourth field of /etc/group).
    pub members: BTreeMap<String, Vec<String>>,
}

impl UserDb {
    pub fn parse(passwd: &str, group: &str) -> UserDb {
        let users = passwd.lines().filter_map(parse_passwd_line).collect();
        let mut db = UserDb { users, ..UserDb::default() };
        for line in group.lines() {
            let f: Vec<&str> = line.split(':').collect();
            let (Some(name), Some(Ok(gid))) = (f.first(), f.get(2).map(|g| g.parse::<u32>())) else {
                continue;
            };
            db.groups.insert(name.to_string(), gid);
            let members = f.get(3).map(|m| m.split(',').filter(|s| !s.is_empty()).map(str::to_string).collect());
            db.members.insert(name.to_string(), members.unwrap_or_default());
        }
        db
    }

    /// The gids of the groups that list `user` as a member.
    pub fn members_of(&self, user: &str) -> Vec<u32> {
        self.members
            .iter()
            .filter(|(_, m)| m.iter().any(|u| u == user))
            .filter_map(|(g, _)| self.groups.get(g).copied())
            .collect()
    }

    pub fn user_by_name(&self, name: &str) -> Option<&Account> {
        self.users.iter().find(|u| u.name == name)
    }

    pub fn user_by_uid(&self, uid: u32) -> Option<&Account> {
        self.users.iter().find(|u| u.uid == uid)
    }

    pub fn gid_by_name(&self, name: &str) -> Option<u32> {
        self.groups.get(name).copied()
    }

    pub fn group_name(&self, gid: u32) -> Option<&str> {
        self.groups.iter().find(|(_, g)| **g == gid).map(|(n, _)| n.as_str())
    }
}

/// Where the cgroup v2 hierarchy is mounted and where sbx itself sits in it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CgroupHost {
    /// The mount point (/sys/fs/cgroup, or /sys/fs/cgroup/unified on hybrid hosts).
    pub mount: String,
    /// sbx's own cgroup, relative to the mount ("/user.slice/...").
    pub own: String,
}

impl CgroupHost {
    /// From /proc/self/mountinfo (the cgroup2 mount) and /proc/self/cgroup (the "0::" line).
    pub fn probe(mountinfo: &str, cgroup: &str) -> Option<CgroupHost> {
        let mount = mountinfo.lines().find_map(|l| {
            let (pre, post) = l.split_once(" - ")?;
            (post.split_whitespace().next() == Some("cgroup2"))
                .then(|| pre.split_whitespace().nth(4).map(str::to_string))?
        })?;
        let own = cgroup.lines().find_map(|l| l.strip_prefix("0::")).unwrap_or("/").to_string();
        Some(CgroupHost { mount, own })
    }
}

/// The caller's working directory as text, or why it cannot be had.
fn working_directory() -> Result<String, String> {
    let dir = std::env::current_dir().map_err(|e| format!("cannot read the working directory: {e}"))?;
    dir.into_os_string().into_string().map_err(|raw| {
        format!("the working directory {raw:?} is not valid UTF-8, which sbx cannot represent in a sandbox's paths")
    })
}

/// Physical memory in bytes, as sysinfo(2) reports it (MemTotal of /proc/meminfo).
#[allow(clippy::useless_conversion, reason = "the fields are narrower on 32-bit targets")]
fn mem_total() -> u64 {
    let info = rustix::system::sysinfo();
    u64::from(info.totalram).saturating_mul(u64::from(info.mem_unit))
}

/// "6.18.44-fc" → (6, 18).
fn kernel_version(release: &str) -> (u32, u32) {
    let mut parts = release.split(|c: char| !c.is_ascii_digit()).filter_map(|p| p.parse().ok());
    (parts.next().unwrap_or(0), parts.next().unwrap_or(0))
}

fn parse_passwd_line(line: &str) -> Option<Account> {
    let f: Vec<&str> = line.split(':').collect();
    if f.len() < 7 {
        return None;
    }
    Some(Account {
        name: f[0].to_string(),
        uid: f[2].parse().ok()?,
        gid: f[3].parse().ok()?,
        home: f[5].to_string(),
        shell: f[6].to_string(),
    })
}

/// A host fact read on first use: most runs never need it, and every read of a /proc file
/// is a few microseconds of every start.
pub struct Lazy<T> {
    cell: std::sync::OnceLock<T>,
    probe: fn() -> T,
}

impl<T> Lazy<T> {
    fn new(probe: fn() -> T) -> Self {
        Lazy { cell: std::sync::OnceLock::new(), probe }
    }

    /// A fact known in advance (fake hosts).
    #[cfg(test)]
    pub fn known(value: T) -> Self {
        Lazy { cell: std::sync::OnceLock::from(value), probe: || unreachable!("a known fact is never probed") }
    }

    pub fn get(&self) -> &T {
        self.cell.get_or_init(self.probe)
    }
}

/// Everything the planner may know about the host.
pub struct HostFacts {
    pub uid: u32,
    pub gid: u32,
    pub euid: u32,
    /// The caller's working directory, or why sbx cannot use it (it could not be read, or it
    /// is not UTF-8, which the plan's paths are).
    pub cwd: Result<String, String>,
    /// The caller's environment (for PassEnvironment= and the XDG directories).
    pub env: BTreeMap<String, String>,
    /// The caller's environment as bytes (names that are UTF-8): what PassEnvironment= passes.
    pub env_os: BTreeMap<String, std::ffi::OsString>,
    pub hostname: String,
    pub machine_id: String,
    /// Whether setgroups(2) is allowed in sbx's user namespace (/proc/self/setgroups is not
    /// "deny", as it is for root inside an unprivileged container or `unshare -r`).
    pub setgroups_allowed: bool,
    /// The running kernel's (major, minor) version.
    pub kernel: (u32, u32),
    /// Whether pid 1 can take a seccomp user-notification fd from the payload
    /// (pidfd_getfd, kernel >= 5.6, Yama's ptrace_scope below 3, and no filter refusing it).
    pub seccomp_listener: bool,
    /// sbx already runs under a seccomp filter (a container's, an outer sandbox's); one of
    /// those may hold the notification listener, which the kernel allows only once.
    pub under_seccomp: bool,
    /// The cgroup v2 hierarchy, when one is mounted: read on first use through `cgroup()`
    /// (generating /proc/self/mountinfo is a third of what probing the host costs, and only
    /// runs with resource limits need it).
    pub cgroup: Lazy<Option<CgroupHost>>,
    /// MemTotal, in bytes (for percentages of physical memory).
    pub mem_total: u64,
    /// The system's task limit (the smaller of kernel.pid_max and kernel.threads-max), for
    /// TasksMax= percentages.
    pub tasks_limit: Lazy<u64>,
    /// The Landlock ABI version (0 when absent or disabled).
    pub landlock_abi: u32,
    /// keyctl(2) is refused to sbx (a container's seccomp profile, Docker's among them), and so
    /// to everything it starts: no keyring is reachable.
    pub keyctl_refused: bool,
    /// CAP_SYS_PTRACE in sbx's effective set: as root, pid 1 needs it to take the syscall
    /// filter's notification fd from the non-dumpable payload (containers drop it).
    pub sys_ptrace: bool,
    /// `net.ipv4.ip_unprivileged_port_start`, for ambient CAP_NET_BIND_SERVICE rootless.
    pub unprivileged_port_start: Lazy<u32>,
    pub users: UserDb,
    pub fs: Box<dyn HostFs>,
}

impl HostFacts {
    /// The cgroup v2 hierarchy, when one is mounted (probed once, on first use).
    pub fn cgroup(&self) -> Option<&CgroupHost> {
        self.cgroup.get().as_ref()
    }

    pub fn probe() -> HostFacts {
        let read = |p: &str| std::fs::read_to_string(p).unwrap_or_default();
        // Only a seccomp filter refuses pidfd_getfd on kernels that have it (5.6 and later).
        let under_seccomp = crate::sys::probe::under_seccomp_filter();
        let uname = rustix::system::uname();
        let kernel = kernel_version(&uname.release().to_string_lossy());
        HostFacts {
            uid: rustix::process::getuid().as_raw(),
            gid: rustix::process::getgid().as_raw(),
            euid: rustix::process::geteuid().as_raw(),
            cwd: working_directory(),
            env: std::env::vars_os()
                .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
                .collect(),
            env_os: std::env::vars_os().filter_map(|(k, v)| Some((k.into_string().ok()?, v))).collect(),
            hostname: uname.nodename().to_string_lossy().into_owned(),
            machine_id: read("/etc/machine-id").trim().to_string(),
            setgroups_allowed: read("/proc/self/setgroups").trim() != "deny",
            landlock_abi: crate::sys::landlock::abi_version(),
            keyctl_refused: crate::sys::probe::keyctl_refused(),
            // capget and sysinfo: generating /proc/self/status and /proc/meminfo costs more.
            sys_ptrace: rustix::thread::capabilities(None)
                .is_ok_and(|c| c.effective.contains(rustix::thread::CapabilitySet::SYS_PTRACE)),
            cgroup: Lazy::new(|| {
                let read = |p: &str| std::fs::read_to_string(p).unwrap_or_default();
                CgroupHost::probe(&read("/proc/self/mountinfo"), &read("/proc/self/cgroup"))
            }),
            mem_total: mem_total(),
            tasks_limit: Lazy::new(|| {
                ["/proc/sys/kernel/pid_max", "/proc/sys/kernel/threads-max"]
                    .iter()
                    .filter_map(|p| std::fs::read_to_string(p).ok()?.trim().parse::<u64>().ok())
                    .min()
                    .unwrap_or(32768)
            }),
            kernel,
            seccomp_listener: kernel >= (5, 9)
                && read("/proc/sys/kernel/yama/ptrace_scope").trim() != "3"
                && !(under_seccomp && crate::sys::probe::pidfd_getfd_refused()),
            under_seccomp,
            unprivileged_port_start: Lazy::new(|| {
                std::fs::read_to_string("/proc/sys/net/ipv4/ip_unprivileged_port_start")
                    .ok()
                    .and_then(|s| s.trim().parse().ok())
                    .unwrap_or(1024)
            }),
            users: UserDb::parse(&read("/etc/passwd"), &read("/etc/group")),
            fs: Box::new(RealFs),
        }
    }

    pub fn is_root(&self) -> bool {
        self.euid == 0
    }

    /// The caller's own account, falling back to $HOME and the uid when /etc/passwd lacks it.
    pub fn caller(&self) -> Account {
        self.users.user_by_uid(self.uid).cloned().unwrap_or_else(|| Account {
            name: self.uid.to_string(),
            uid: self.uid,
            gid: self.gid,
            home: self.env.get("HOME").cloned().unwrap_or_else(|| "/".into()),
            shell: "/bin/sh".into(),
        })
    }

    pub fn path_exists(&self, path: &str) -> bool {
        matches!(self.fs.lstat(path), Ok(Some(_)))
    }
}

#[cfg(test)]
pub mod fake {
    //! An in-memory host for plan tests.
    use super::*;
    use std::collections::BTreeMap;

    #[derive(Default)]
    pub struct FakeFs {
        pub nodes: BTreeMap<String, Node>,
        pub owners: BTreeMap<String, u32>,
        /// /proc/self/mountinfo; by default one ext4 root.
        pub mountinfo: Option<String>,
        pub files: BTreeMap<String, String>,
    }

    impl FakeFs {
        pub fn debian() -> FakeFs {
            let mut fs = FakeFs::default();
            for d in [
                "/",
                "/usr",
                "/usr/bin",
                "/usr/lib",
                "/usr/lib/modules",
                "/etc",
                "/var",
                "/var/lib",
                "/var/log",
                "/var/cache",
                "/var/tmp",
                "/run",
                "/run/user",
                "/home",
                "/home/alice",
                "/root",
                "/tmp",
                "/proc",
                "/sys",
                "/dev",
                "/boot",
                "/srv",
                "/srv/www",
                "/opt",
            ] {
                fs.nodes.insert(d.to_string(), Node::Dir);
            }
            for (l, t) in [("/bin", "usr/bin"), ("/lib", "usr/lib"), ("/var/run", "/run")] {
                fs.nodes.insert(l.to_string(), Node::Symlink { owner: 0, target: t.to_string() });
            }
            fs.nodes.insert("/etc/passwd".into(), Node::File);
            fs.nodes.insert("/usr/bin/true".into(), Node::File);
            fs
        }
    }

    impl HostFs for FakeFs {
        fn lstat(&self, path: &str) -> Result<Option<Node>, io::Error> {
            Ok(self.nodes.get(path).cloned())
        }

        fn root_entries(&self) -> Vec<RootEntry> {
            self.nodes
                .iter()
                .filter(|(p, _)| p.len() > 1 && p[1..].find('/').is_none())
                .map(|(p, n)| {
                    let name = p[1..].to_string();
                    match n {
                        Node::Dir => RootEntry::Dir(name),
                        Node::Symlink { target, .. } => RootEntry::Symlink { name, target: target.clone() },
                        _ => RootEntry::File(name),
                    }
                })
                .collect()
        }

        fn read_to_string(&self, path: &str) -> Result<String, io::Error> {
            self.files.get(path).cloned().ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, path.to_string()))
        }

        fn read_resolved(&self, path: &str) -> Result<String, io::Error> {
            match self.nodes.get(path) {
                Some(Node::Symlink { .. }) => Err(io::Error::from_raw_os_error(libc::ELOOP)),
                _ => self.read_to_string(path),
            }
        }

        fn owner(&self, path: &str) -> Option<u32> {
            self.owners.get(path).copied().or_else(|| self.nodes.contains_key(path).then_some(0))
        }

        fn mountinfo(&self) -> String {
            self.mountinfo.clone().unwrap_or_else(|| "1 0 8:1 / / rw - ext4 /dev/sda1 rw\n".into())
        }

        fn device_numbers(&self, path: &str) -> Option<(u32, u32)> {
            self.nodes.contains_key(path).then_some((8, 0))
        }

        fn read_dir(&self, path: &str) -> Vec<String> {
            let prefix = if path == "/" { "/".to_string() } else { format!("{path}/") };
            self.nodes
                .keys()
                .filter_map(|p| p.strip_prefix(&prefix))
                .filter(|rest| !rest.is_empty() && !rest.contains('/'))
                .map(str::to_string)
                .collect()
        }
    }

    pub fn host(uid: u32) -> HostFacts {
        HostFacts {
            uid,
            gid: uid,
            euid: uid,
            cwd: Ok("/home/alice".into()),
            env: BTreeMap::from([("HOME".to_string(), "/home/alice".to_string())]),
            env_os: BTreeMap::from([("HOME".to_string(), "/home/alice".into())]),
            hostname: "box".into(),
            machine_id: "0123".into(),
            setgroups_allowed: true,
            landlock_abi: 6,
            keyctl_refused: false,
            sys_ptrace: true,
            cgroup: Lazy::known(None),
            mem_total: 8 << 30,
            tasks_limit: Lazy::known(4194304),
            kernel: (6, 18),
            seccomp_listener: true,
            under_seccomp: false,
            unprivileged_port_start: Lazy::known(1024),
            users: UserDb::parse(
                "root:x:0:0:root:/root:/bin/bash\nwww-data:x:33:33:www:/var/www:/usr/sbin/nologin\nalice:x:1000:1000::/home/alice:/bin/bash\n",
                "root:x:0:\nwww-data:x:33:\nalice:x:1000:\nadm:x:4:\n",
            ),
            fs: Box::new(FakeFs::debian()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::fake::FakeFs;
    use super::*;

    /// The cheaper sources agree with the /proc files they replace.
    #[test]
    fn probe_reads_memory_and_ptrace_as_proc_shows_them() {
        let h = HostFacts::probe();
        let status = std::fs::read_to_string("/proc/self/status").unwrap();
        let cap_eff = status.lines().find_map(|l| l.strip_prefix("CapEff:")).unwrap().trim();
        let cap_eff = u64::from_str_radix(cap_eff, 16).unwrap();
        assert_eq!(h.sys_ptrace, cap_eff & (1 << 19) != 0);
        let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap();
        let kib: u64 = meminfo
            .lines()
            .find_map(|l| l.strip_prefix("MemTotal:"))
            .and_then(|v| v.split_whitespace().next()?.parse().ok())
            .unwrap();
        assert_eq!(h.mem_total, kib * 1024);
    }

    #[test]
    fn resolves_inside_a_root_directory() {
        let mut fs = FakeFs::debian();
        for d in ["/srv/r", "/srv/r/usr", "/srv/r/usr/lib", "/srv/r/etc"] {
            fs.nodes.insert(d.into(), Node::Dir);
        }
        fs.nodes.insert("/srv/r/lib".into(), Node::Symlink { owner: 0, target: "/usr/lib".into() });
        assert_eq!(resolve_in(&fs, "/srv/r", "/lib").unwrap().path, "/srv/r/usr/lib");
        assert_eq!(resolve_in(&fs, "/srv/r", "/../../etc").unwrap().path, "/srv/r/etc");
        assert!(matches!(resolve_in(&fs, "/srv/r", "/bin"), Err(ResolveError::NotFound(_))));
    }

    #[test]
    fn resolves_root_owned_symlinks() {
        let fs = FakeFs::debian();
        assert_eq!(resolve(&fs, "/lib/modules").unwrap().path, "/usr/lib/modules");
        assert_eq!(resolve(&fs, "/var/run/user").unwrap().path, "/run/user");
        assert_eq!(resolve(&fs, "/bin/true").unwrap(), Resolved { path: "/usr/bin/true".into(), kind: FileKind::File });
        assert_eq!(resolve(&fs, "/").unwrap().path, "/");
    }

    #[test]
    fn refuses_symlinks_owned_by_users() {
        let mut fs = FakeFs::debian();
        fs.nodes.insert("/home/alice/x".into(), Node::Symlink { owner: 1000, target: "/etc".into() });
        assert!(matches!(
            resolve(&fs, "/home/alice/x/passwd"),
            Err(ResolveError::UntrustedSymlink { owner: 1000, .. })
        ));
    }

    #[test]
    fn reports_missing_paths_and_loops() {
        let mut fs = FakeFs::debian();
        assert!(matches!(resolve(&fs, "/nope"), Err(ResolveError::NotFound(_))));
        fs.nodes.insert("/a".into(), Node::Symlink { owner: 0, target: "/a".into() });
        assert!(matches!(resolve(&fs, "/a"), Err(ResolveError::Loop(_))));
    }

    #[test]
    fn parses_the_user_database() {
        let db = UserDb::parse("www-data:x:33:33:www:/var/www:/usr/sbin/nologin\nbad line\n", "www-data:x:33:\n");
        assert_eq!(db.user_by_name("www-data").unwrap().uid, 33);
        assert_eq!(db.gid_by_name("www-data"), Some(33));
        assert_eq!(db.group_name(33), Some("www-data"));
    }
}
