//! The tier for hosts where no namespace can be created (a container's seccomp profile, an
//! AppArmor restriction, user.max_user_namespaces=0): the profile mapped onto what needs no
//! namespace — Landlock for the filesystem view, seccomp, no_new_privs, capabilities,
//! rlimits — used only when the user opts into best effort.
//!
//! Invariant: every directive this tier cannot honour as written is recorded as weakened or
//! not enforced, with what stands in for it; nothing is dropped silently. The filesystem view
//! needs Landlock: without it, this tier refuses.

use serde::Serialize;

use crate::error::PlanError;
use crate::host::{self, HostFacts};
use crate::plan::landlock::{
    self, FILE_RIGHTS, LandlockPlan, READ, SCOPE_ABSTRACT_UNIX, SCOPE_SIGNAL, ViewBuilder, WRITE,
};
use crate::plan::{Invocation, Mode, Plan, caps, exec, ids, seccomp, state_dirs};
use crate::profile::Origin;
use crate::profile::syscall_lists::{FAMILIES, FamilyAssign};

const AF_UNIX: u32 = 1;
use crate::settings::{ProtectHome, ProtectSystem, Settings, Spanned};

/// How one directive fares in this tier.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub enum Fate {
    /// Enforced, by something other than what it names (e.g. Landlock instead of a mount).
    Substituted(String),
    /// Partly enforced: what holds, and what does not.
    Weakened(String),
    NotEnforced(String),
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Note {
    pub directive: &'static str,
    pub origin: Option<Origin>,
    pub fate: Fate,
}

struct Notes(Vec<Note>);

impl Notes {
    fn add<T>(&mut self, directive: &'static str, v: &Option<Spanned<T>>, fate: Fate) {
        if let Some(v) = v {
            self.0.push(Note { directive, origin: Some(v.origin.clone()), fate });
        }
    }

    fn add_list<T>(&mut self, directive: &'static str, v: &[Spanned<T>], fate: Fate) {
        if let Some(first) = v.first() {
            self.0.push(Note { directive, origin: Some(first.origin.clone()), fate });
        }
    }
}

pub fn build(s: &Settings, host: &HostFacts, inv: &Invocation) -> Result<(Plan, Vec<Note>), PlanError> {
    if host.landlock_abi == 0 {
        return Err(PlanError::Host(
            "without namespaces sbx confines the filesystem with Landlock, which this kernel lacks (or has disabled); nothing can be enforced".into(),
        ));
    }
    let mut notes = Notes(Vec::new());
    let s = &network_by_seccomp(s, host.landlock_abi, &mut notes);
    let namespaces =
        ids::Namespaces { user: false, mount: false, pid: false, net: false, ipc: false, uts: false, cgroup: false };
    let identity = identity(s, host, &mut notes)?;
    let mut caps = caps::plan(s, &namespaces, host)?;
    if !host.is_root() {
        // An unprivileged process holds no capability and, under no_new_privs, gains none:
        // the bounding set changes nothing (and dropping from it would need CAP_SETPCAP).
        caps.bounding_mask = crate::profile::directives::all_caps();
        let why = "the payload holds no capability and cannot gain one (no_new_privs)";
        notes.add("CapabilityBoundingSet", &s.capability_bounding_set, Fate::Substituted(why.into()));
        if caps.ambient_mask != 0 {
            caps.ambient_mask = 0;
            caps.ambient.clear();
            let why = "without privileges or a user namespace no capability can be given";
            notes.add("AmbientCapabilities", &s.ambient_capabilities, Fate::NotEnforced(why.into()));
        }
    }
    if !caps.no_new_privs {
        // Unprivileged, Landlock and seccomp can only be installed under no_new_privs.
        caps.no_new_privs = true;
        notes.0.push(Note {
            directive: "NoNewPrivileges",
            origin: None,
            fate: Fate::Substituted("implied: Landlock and seccomp need it without namespaces".into()),
        });
    }
    let state_dirs = state_dirs::plan(s, host, &identity)?;
    let exec = exec::plan(s, host, &identity, &inv.argv, &state_dirs)?;
    let mut seccomp = seccomp::plan(s, host, &seccomp::Options { log_refused: inv.log_refused })?;
    if host.keyctl_refused && seccomp.keyring.is_some() {
        // Joining a keyring would fail; the filter that refuses keyctl holds for the payload too.
        seccomp.keyring = None;
        let why = "keyctl(2) is refused to sbx and everything it starts (a seccomp filter of the container): the payload keeps the caller's session keyring but cannot read or change it with keyctl; add_key and request_key are as that filter decides";
        notes.add("KeyringMode", &s.keyring_mode, Fate::Weakened(why.into()));
    }
    let landlock = filesystem_view(s, host, &state_dirs, &mut notes)?;
    unenforceable(s, host.landlock_abi, &mut notes);
    let plan = Plan {
        name: inv.name.clone(),
        mode: if host.is_root() { Mode::Root } else { Mode::Rootless },
        namespaces,
        id_map: None,
        identity,
        mounts: Vec::new(),
        loopback_up: false,
        caps,
        state_dirs,
        exec,
        seccomp,
        landlock,
        cgroup: crate::plan::cgroup::plan(s, host)?,
        pty: inv.pty.clone(),
    };
    Ok((plan, notes.0))
}

/// What every sandbox has without a directive asking for it and this tier can keep or not: the
/// pid namespace's wall between the payload and the host's processes. One report line.
pub fn process_isolation(abi: u32, uid: u32) -> String {
    if abi >= 6 {
        "other processes: weakened: no pid namespace; Landlock refuses ptrace and signals to processes outside the sandbox, but their /proc/PID files that need neither (oom_score_adj, coredump_filter) stay writable for processes of the payload's uid".into()
    } else {
        format!(
            "other processes: weakened: no pid namespace; Landlock refuses ptrace of processes outside the sandbox, but this kernel's Landlock (ABI {abi}) cannot scope signals (ABI 6, Linux 6.12): the payload can signal every process of uid {uid}, and write their oom_score_adj and coredump_filter"
        )
    }
}

/// PrivateNetwork= without a network namespace: only AF_UNIX sockets (seccomp), no TCP
/// (Landlock, ABI 4), abstract sockets confined (Landlock scope, ABI 6).
fn network_by_seccomp(s: &Settings, abi: u32, notes: &mut Notes) -> Settings {
    let mut s = s.clone();
    if let Some(pn) = s.private_network.clone().filter(|p| p.value) {
        // Narrow whatever the profile allows: alone, an allow-list of AF_UNIX; after other
        // assignments, a last `~` line refusing every other family (systemd's merge rules).
        let families = if s.restrict_address_families.is_empty() {
            FamilyAssign { invert: false, families: vec![AF_UNIX] }
        } else {
            let others = FAMILIES.iter().map(|(_, f)| *f).filter(|f| *f != AF_UNIX);
            FamilyAssign { invert: true, families: others.collect() }
        };
        s.restrict_address_families.push(Spanned { value: families, origin: pn.origin.clone() });
        let abstract_sockets = if abi >= 6 {
            "abstract sockets outside the sandbox are refused (Landlock)"
        } else {
            "the host's abstract sockets stay reachable (refusing them needs Landlock ABI 6)"
        };
        let why = format!(
            "no network namespace: sockets other than AF_UNIX are refused (seccomp); {abstract_sockets}; the host's pathname sockets stay reachable"
        );
        notes.add("PrivateNetwork", &s.private_network, Fate::Weakened(why));
    }
    s
}

fn identity(s: &Settings, host: &HostFacts, notes: &mut Notes) -> Result<ids::Identity, PlanError> {
    if host.is_root() {
        if ids::unprivileged_root(s, host) {
            let why = "no user namespace: the payload is the host's uid 0 (without capabilities)";
            notes.add("HostRoot", &s.host_root, Fate::NotEnforced(why.into()));
        }
        return ids::identity(s, host, None, None);
    }
    if s.host_root.as_ref().is_some_and(|v| !v.value) {
        let how = "rootless, the payload runs as the caller and is never the host's root";
        notes.add("HostRoot", &s.host_root, Fate::Substituted(how.into()));
    }
    let wanted = ids::identity(s, host, None, None)?;
    let me = host.caller();
    if s.user.is_some() && wanted.uid != me.uid {
        notes.add(
            "User",
            &s.user,
            Fate::NotEnforced(format!("no user namespace: the payload runs as {} (uid {})", me.name, me.uid)),
        );
    }
    if s.group.is_some() && wanted.gid != me.gid {
        notes.add("Group", &s.group, Fate::NotEnforced(format!("no user namespace: the payload keeps gid {}", me.gid)));
    }
    Ok(ids::Identity {
        uid: me.uid,
        gid: me.gid,
        groups: None,
        user_name: me.name,
        home: me.home,
        shell: me.shell,
        switch: false,
        dynamic: false,
        host_id: None,
    })
}

const SYSTEM_DIRS: [&str; 8] = ["/usr", "/boot", "/efi", "/lib", "/lib64", "/lib32", "/bin", "/sbin"];
const DEVICES: [&str; 6] = ["/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom", "/dev/tty"];

/// The filesystem view of the profile as Landlock rules on host paths.
fn filesystem_view(
    s: &Settings,
    host: &HostFacts,
    dirs: &[state_dirs::StateDir],
    notes: &mut Notes,
) -> Result<LandlockPlan, PlanError> {
    let abi = host.landlock_abi;
    let mut v = ViewBuilder::new(&*host.fs);
    let real = |p: &str| host::resolve(&*host.fs, p).ok().map(|r| r.path);
    let protect = s.protect_system.as_ref().map_or(ProtectSystem::No, |p| p.value);
    v.set("/", if protect == ProtectSystem::Strict { READ } else { WRITE });
    if matches!(protect, ProtectSystem::Yes | ProtectSystem::Full) {
        for d in SYSTEM_DIRS.iter().copied().chain((protect == ProtectSystem::Full).then_some("/etc")) {
            if let Some(p) = real(d) {
                v.set(&p, READ);
            }
        }
    }
    notes.add(
        "ProtectSystem",
        &s.protect_system,
        Fate::Substituted("Landlock (read-only rights) instead of read-only mounts".into()),
    );
    home(s, &mut v, &real, protect, notes);
    api(s, &mut v, &real, notes);
    temporary(s, &mut v, &real, protect, notes);
    access_paths(s, &mut v, host, notes)?;
    for d in dirs {
        v.set(&d.host_path, WRITE);
    }
    if let Some(cwd) = crate::plan::working_directory::writable(s, host)? {
        v.set(&cwd.path, WRITE);
    }
    let handled = landlock::fs_rights(abi);
    let mut plan = LandlockPlan { abi, handled_fs: handled, paths: v.rules(handled), ..LandlockPlan::default() };
    if Settings::flag(&s.private_network) && abi >= 4 {
        plan.handled_net = landlock::BIND_TCP | landlock::CONNECT_TCP;
    }
    if abi >= 6 {
        // Without a pid namespace, signals to processes outside the sandbox are refused; with
        // PrivateNetwork=, abstract sockets outside it too.
        plan.scoped = SCOPE_SIGNAL | if Settings::flag(&s.private_network) { SCOPE_ABSTRACT_UNIX } else { 0 };
    }
    if let Some(ports) = landlock::socket_bind(s, abi)? {
        plan.handled_net |= landlock::BIND_TCP;
        plan.ports.extend(ports);
    }
    Ok(plan)
}

fn home(
    s: &Settings,
    v: &mut ViewBuilder,
    real: &dyn Fn(&str) -> Option<String>,
    protect: ProtectSystem,
    notes: &mut Notes,
) {
    let mode = s.protect_home.as_ref().map_or(ProtectHome::No, |h| h.value);
    let rights = match mode {
        ProtectHome::Yes | ProtectHome::Tmpfs => Some(0),
        ProtectHome::ReadOnly => Some(READ),
        ProtectHome::No if protect == ProtectSystem::Strict => Some(WRITE),
        ProtectHome::No => None,
    };
    for d in ["/home", "/root", "/run/user"] {
        if let (Some(r), Some(p)) = (rights, real(d)) {
            v.set(&p, r);
        }
    }
    let fate = match mode {
        ProtectHome::Tmpfs => {
            Fate::Weakened("Landlock makes the home directories inaccessible instead of empty tmpfs mounts".into())
        }
        _ => Fate::Substituted("Landlock instead of mounts".into()),
    };
    notes.add("ProtectHome", &s.protect_home, fate);
}

fn api(s: &Settings, v: &mut ViewBuilder, real: &dyn Fn(&str) -> Option<String>, notes: &mut Notes) {
    v.set("/proc", WRITE);
    v.set("/sys", READ);
    if Settings::flag(&s.private_devices) {
        v.set("/dev", 0);
        for d in DEVICES {
            v.set(d, FILE_RIGHTS);
        }
        for d in ["/dev/pts", "/dev/shm"] {
            v.set(d, WRITE);
        }
        v.set("/dev/ptmx", FILE_RIGHTS);
        notes.add(
            "PrivateDevices",
            &s.private_devices,
            Fate::Substituted("Landlock allows only the pseudo devices; capabilities and seccomp as usual".into()),
        );
    } else {
        v.set("/dev", WRITE);
    }
    if Settings::flag(&s.protect_kernel_tunables) {
        for p in ["/proc/sys", "/proc/sysrq-trigger"] {
            v.set(p, READ);
        }
        for p in ["/proc/kallsyms", "/proc/kcore", "/sys/kernel/debug", "/sys/kernel/tracing"] {
            v.set(p, 0);
        }
        notes.add(
            "ProtectKernelTunables",
            &s.protect_kernel_tunables,
            Fate::Substituted("Landlock instead of read-only mounts".into()),
        );
    }
    if Settings::flag(&s.protect_kernel_modules) {
        for p in ["/lib/modules", "/usr/lib/modules"].iter().filter_map(|p| real(p)) {
            v.set(&p, 0);
        }
    }
    if Settings::flag(&s.protect_kernel_logs) {
        for p in ["/proc/kmsg", "/dev/kmsg"] {
            v.set(p, 0);
        }
    }
}

fn temporary(
    s: &Settings,
    v: &mut ViewBuilder,
    real: &dyn Fn(&str) -> Option<String>,
    protect: ProtectSystem,
    notes: &mut Notes,
) {
    let private = Settings::flag(&s.private_tmp);
    for d in ["/tmp", "/var/tmp"].iter().filter_map(|d| real(d)) {
        if private || protect != ProtectSystem::Strict {
            v.set(&d, WRITE);
        } else {
            v.set(&d, READ);
        }
    }
    notes.add(
        "PrivateTmp",
        &s.private_tmp,
        Fate::Weakened("no mount namespace: /tmp and /var/tmp are the host's, shared and writable".into()),
    );
    for t in &s.temporary_file_system {
        if let Some(p) = real(&t.value.path) {
            v.set(&p, 0);
        }
    }
    notes.add_list(
        "TemporaryFileSystem",
        &s.temporary_file_system,
        Fate::Weakened("no mount namespace: the path is made inaccessible (Landlock) instead of an empty tmpfs".into()),
    );
}

/// ReadWritePaths=/ReadOnlyPaths=/InaccessiblePaths=, and binds onto their own path.
fn access_paths(s: &Settings, v: &mut ViewBuilder, host: &HostFacts, notes: &mut Notes) -> Result<(), PlanError> {
    let mut all: Vec<(&'static str, String, bool, u64, &Origin)> = Vec::new();
    for (d, list, r) in [
        ("ReadWritePaths", &s.read_write_paths, WRITE),
        ("ReadOnlyPaths", &s.read_only_paths, READ),
        ("InaccessiblePaths", &s.inaccessible_paths, 0),
    ] {
        all.extend(list.iter().map(|p| (d, p.value.path.clone(), p.value.ignore_missing, r, &p.origin)));
    }
    for (d, list, r) in [("BindPaths", &s.bind_paths, WRITE), ("BindReadOnlyPaths", &s.bind_read_only_paths, READ)] {
        for b in list {
            if b.value.dest == b.value.source.path {
                all.push((d, b.value.dest.clone(), b.value.source.ignore_missing, r, &b.origin));
            } else {
                let why = format!("no mount namespace: {} cannot appear at {}", b.value.source.path, b.value.dest);
                notes.0.push(Note { directive: d, origin: Some(b.origin.clone()), fate: Fate::NotEnforced(why) });
            }
        }
    }
    all.sort_by_key(|(_, p, ..)| p.matches('/').count());
    for (directive, path, optional, rights, origin) in all {
        match host::resolve(&*host.fs, &path) {
            Ok(r) => v.set(&r.path, rights),
            Err(host::ResolveError::NotFound(_)) if optional || rights == 0 => {}
            Err(e) => return Err(PlanError::directive(directive, origin, e.to_string())),
        }
    }
    Ok(())
}

/// What needs a namespace and has no stand-in here.
fn unenforceable(s: &Settings, abi: u32, notes: &mut Notes) {
    let why = |w: &str| Fate::NotEnforced(w.to_string());
    let signals = if abi >= 6 { "refused (Landlock)" } else { "NOT refused (Landlock ABI 6 needed)" };
    notes.add("RootDirectory", &s.root_directory, why("no mount namespace: the payload sees the host's root"));
    let proc = format!(
        "no pid namespace: /proc shows every process; ptrace outside the sandbox is refused (Landlock), signals are {signals}"
    );
    notes.add("ProtectProc", &s.protect_proc, why(&proc));
    notes.add("ProcSubset", &s.proc_subset, why("no new procfs: /proc shows everything it shows on the host"));
    let ipc = format!(
        "no IPC namespace: System V IPC and POSIX message queues are the host's; signals outside the sandbox are {signals}"
    );
    notes.add("PrivateIPC", &s.private_ipc, Fate::Weakened(ipc));
    notes.add("PrivateUsers", &s.private_users, why("no user namespace"));
    notes.add(
        "ProtectHostname",
        &s.protect_hostname,
        Fate::Substituted("seccomp refuses sethostname/setdomainname instead of a UTS namespace".into()),
    );
    notes.add(
        "ProtectControlGroups",
        &s.protect_control_groups,
        Fate::Substituted("Landlock: /sys is read-only".into()),
    );
    notes.add("DynamicUser", &s.dynamic_user, why("a transient user needs a user namespace or root"));
    if Settings::flag(&s.die_with_parent) {
        let what = "no pid namespace: sbx ends with its parent, the payload and its processes may not";
        notes.add("DieWithParent", &s.die_with_parent, Fate::Weakened(what.into()));
    }
}
