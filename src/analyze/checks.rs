//! The checks of `systemd-analyze security` (systemd 252), one row per check: systemd's name
//! and JSON field for it, the directives it reads, its weight and range, and a judge.
//!
//! Invariant: names, JSON fields, weights, ranges and judging rules are systemd 252's — they
//! were read from its `src/analyze/analyze-security.c` and confirmed row by row with
//! `SYSTEMD_ANALYZE_DEBUG=1 systemd-analyze security --offline=true UNIT`, which prints
//! weight, badness and range of every check; the descriptions are sbx's own words. A judge
//! reads only the `View` and returns a badness from 0 to the range, or `None` where systemd
//! says the check does not apply. The table is flat on purpose, like the directive table.

use caps::Capability as Cap;

use super::view::{Archs, DevicePolicy, View};
use crate::plan::syscalls;
use crate::settings::{ProtectHome, ProtectProc, ProtectSystem};

/// A check's verdict on one profile.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Judged {
    /// 0 (good) to the check's range (bad); `None`: the check does not apply.
    pub badness: Option<u64>,
    pub text: String,
}

pub struct Check {
    /// As `systemd-analyze security` names the row.
    pub id: &'static str,
    /// As its `--json` output names the row (typos included).
    pub json_field: &'static str,
    /// The directives whose values can change the verdict, the main one first.
    pub reads: &'static [&'static str],
    pub weight: u64,
    pub range: u64,
    pub judge: fn(&View) -> Judged,
}

fn at(badness: u64, text: &str) -> Judged {
    Judged { badness: Some(badness), text: text.to_string() }
}

/// A yes/no check: good when `ok`.
fn flag(ok: bool, good: &str, bad: &str) -> Judged {
    if ok { at(0, good) } else { at(1, bad) }
}

fn not_applicable(text: &str) -> Judged {
    Judged { badness: None, text: text.to_string() }
}

/// Good when the bounding set holds none of `caps` (after what Protect*= drop).
fn held(v: &View, caps: &[Cap], good: &str, bad: &str) -> Judged {
    let mask = caps.iter().fold(0, |m, c| m | c.bitmask());
    flag(v.bounding & mask == 0, good, bad)
}

/// Good when creating namespaces of this type is refused.
fn namespace(v: &View, clone_flag: u64, kind: &str) -> Judged {
    let ok = v.namespaces_allowed & clone_flag == 0;
    let text = if ok { format!("cannot create {kind} namespaces") } else { format!("may create {kind} namespaces") };
    at(u64::from(!ok), &text)
}

/// SystemCallFilter=~@GROUP: does the filter keep every call of the group out? Names the
/// running architecture lacks are skipped, as systemd skips what libseccomp cannot resolve.
fn syscall_group(v: &View, group: &str) -> Judged {
    let Some(set) = &v.syscalls else { return at(10, "no system call filter") };
    if !set.allow_list && set.names.is_empty() {
        return at(10, "no system call filter");
    }
    let arch = syscalls::Arch::native();
    let offender = syscalls::expand(group)
        .unwrap_or_default()
        .into_iter()
        .find(|n| arch.is_some_and(|a| syscalls::number(a, n).is_some()) && set.names.contains(*n) == set.allow_list);
    match (set.allow_list, offender) {
        (true, None) => at(0, &format!("allow-list leaves out {group}")),
        (true, Some(n)) => at(9, &format!("allow-list lets in {group} calls ({n}, ...)")),
        (false, None) => at(0, &format!("deny-list covers {group}")),
        (false, Some(n)) => at(10, &format!("deny-list misses {group} calls ({n}, ...)")),
    }
}

fn user(v: &View) -> Judged {
    match v.user.as_deref() {
        Some("nobody") => at(9, "runs as nobody, an identity shared with unrelated programs"),
        u if v.dynamic_user && !matches!(u, Some("0" | "root")) => at(0, "runs as a transient user of its own"),
        Some(u) if !matches!(u, "0" | "root" | "") => at(0, "runs as a user of its own, not root"),
        _ => at(10, "runs as root"),
    }
}

fn supplementary_groups(v: &View) -> Judged {
    if v.runs_privileged() {
        return not_applicable("runs as root, so extra groups change nothing");
    }
    flag(!v.supplementary_groups, "no extra groups", "gets extra groups' access")
}

fn remove_ipc(v: &View) -> Judged {
    if v.runs_privileged() {
        return not_applicable("runs as root, so there is no user's IPC to remove");
    }
    flag(v.remove_ipc, "its System V IPC objects go when it stops", "may leave System V IPC objects behind")
}

/// Checks systemd skips for units without default dependencies (early boot services).
fn boot_phase(v: &View, judged: Judged) -> Judged {
    if v.default_dependencies { judged } else { not_applicable("early-boot service: the option does not fit") }
}

fn private_tmp(v: &View) -> Judged {
    boot_phase(v, flag(v.private_tmp, "/tmp and /var/tmp are its own", "shares /tmp and /var/tmp with others"))
}

fn protect_home(v: &View) -> Judged {
    let j = match v.protect_home {
        ProtectHome::Yes => at(0, "home directories are out of reach"),
        ProtectHome::Tmpfs => at(1, "sees empty stand-ins for home directories"),
        ProtectHome::ReadOnly => at(5, "can read every home directory"),
        ProtectHome::No => at(10, "can read and write every home directory"),
    };
    boot_phase(v, j)
}

fn protect_system(v: &View) -> Judged {
    let j = match v.protect_system {
        ProtectSystem::Strict => at(0, "the whole OS tree is read-only"),
        ProtectSystem::Full => at(3, "/usr, /boot, /efi and /etc are read-only; the rest is writable"),
        ProtectSystem::Yes => at(5, "/usr, /boot and /efi are read-only; /etc and the rest are writable"),
        ProtectSystem::No => at(10, "can write anywhere in the OS tree"),
    };
    boot_phase(v, j)
}

fn root_directory(v: &View) -> Judged {
    boot_phase(v, flag(v.own_root, "has a root directory of its own", "sees the host's root directory"))
}

fn umask(v: &View) -> Judged {
    let m = v.umask;
    let unset = |bits: u32| m & bits != bits;
    if unset(0o002) {
        at(10, "new files are writable by everyone")
    } else if unset(0o004) {
        at(5, "new files are readable by everyone")
    } else if unset(0o020) {
        at(2, "new files are writable by the group")
    } else if unset(0o040) {
        at(1, "new files are readable by the group")
    } else {
        at(0, "new files are private to their owner")
    }
}

fn protect_proc(v: &View) -> Judged {
    match v.protect_proc {
        ProtectProc::Invisible | ProtectProc::Ptraceable => at(0, "other users' processes are hidden in /proc"),
        ProtectProc::NoAccess => at(1, "other users' processes are listed but unreadable in /proc"),
        ProtectProc::Default => at(3, "sees every process in /proc"),
    }
}

fn architectures(v: &View) -> Judged {
    match v.archs {
        Archs::NativeOnly => at(0, "system calls of the native ABI only"),
        Archs::Several => at(8, "system calls of several ABIs"),
        Archs::All => at(10, "system calls of every ABI the kernel offers"),
    }
}

fn ip_addresses(v: &View) -> Judged {
    if !v.ip_deny_all {
        at(10, "no IP address allow-list")
    } else if v.ip_allow_other {
        at(5, "IP allow-list reaches beyond localhost")
    } else if v.ip_allow_localhost {
        at(2, "IP traffic only with localhost")
    } else {
        at(0, "no IP traffic at all")
    }
}

fn devices(v: &View) -> Judged {
    match (v.device_policy, v.device_allow) {
        (DevicePolicy::Auto, _) => at(10, "no device access list"),
        (_, true) => at(5, "device access list with some special devices"),
        (_, false) => at(0, "device access list of the basic pseudo devices"),
    }
}

macro_rules! check {
    ($id:literal, $json:literal, [$($read:expr),*], $weight:literal, $range:literal, $judge:expr) => {
        Check { id: $id, json_field: $json, reads: &[$($read),*], weight: $weight, range: $range, judge: $judge }
    };
}

const CAPS: &str = "CapabilityBoundingSet";
const NEWUSER: u64 = 0x1000_0000;
const NEWNS: u64 = 0x0002_0000;
const NEWIPC: u64 = 0x0800_0000;
const NEWPID: u64 = 0x2000_0000;
const NEWCGROUP: u64 = 0x0200_0000;
const NEWNET: u64 = 0x4000_0000;
const NEWUTS: u64 = 0x0400_0000;

#[rustfmt::skip]
pub static CHECKS: &[Check] = &[
    check!("User=/DynamicUser=", "UserOrDynamicUser", ["User", "DynamicUser"], 2000, 10, user),
    check!("SupplementaryGroups=", "SupplementaryGroups", ["SupplementaryGroups", "User", "DynamicUser"], 200, 1, supplementary_groups),
    check!("PrivateDevices=", "PrivateDevices", ["PrivateDevices"], 1000, 1, |v| flag(v.private_devices, "sees no hardware devices", "may see hardware devices")),
    check!("PrivateMounts=", "PrivateMounts", ["PrivateMounts"], 1000, 1, |v| flag(v.private_mounts, "its mounts stay its own", "may add mounts the host sees")),
    check!("PrivateNetwork=", "PrivateNetwork", ["PrivateNetwork"], 2500, 1, |v| flag(v.private_network, "cut off from the host's network", "uses the host's network")),
    check!("PrivateTmp=", "PrivateTmp", ["PrivateTmp", "DynamicUser"], 1000, 1, private_tmp),
    check!("PrivateUsers=", "PrivateUsers", ["PrivateUsers"], 1000, 1, |v| flag(v.private_users, "other users are unmapped", "sees the host's other users")),
    check!("ProtectControlGroups=", "ProtectControlGroups", ["ProtectControlGroups"], 1000, 1, |v| flag(v.protect_control_groups, "control groups are read-only", "may change control groups")),
    check!("ProtectKernelModules=", "ProtectKernelModules", ["ProtectKernelModules"], 1000, 1, |v| flag(v.protect_kernel_modules, "cannot load or read kernel modules", "may load or read kernel modules")),
    check!("ProtectKernelTunables=", "ProtectKernelTunables", ["ProtectKernelTunables"], 1000, 1, |v| flag(v.protect_kernel_tunables, "kernel tunables are read-only", "may change kernel tunables")),
    check!("ProtectKernelLogs=", "ProtectKernelLogs", ["ProtectKernelLogs"], 1000, 1, |v| flag(v.protect_kernel_logs, "kernel log buffer is out of reach", "may read or write the kernel log buffer")),
    check!("ProtectClock=", "ProtectClock", ["ProtectClock"], 1000, 1, |v| flag(v.protect_clock, "cannot set the clocks", "may set the system or hardware clock")),
    check!("ProtectHome=", "ProtectHome", ["ProtectHome", "DynamicUser"], 1000, 10, protect_home),
    check!("ProtectHostname=", "ProtectHostname", ["ProtectHostname"], 50, 1, |v| flag(v.protect_hostname, "host name changes stay inside", "may change the host name")),
    check!("ProtectSystem=", "ProtectSystem", ["ProtectSystem", "DynamicUser"], 1000, 10, protect_system),
    check!("RootDirectory=/RootImage=", "RootDirectoryOrRootImage", ["RootDirectory", "RootImage"], 200, 1, root_directory),
    check!("LockPersonality=", "LockPersonality", ["LockPersonality"], 100, 1, |v| flag(v.lock_personality, "execution domain is locked", "may change its execution domain")),
    check!("MemoryDenyWriteExecute=", "MemoryDenyWriteExecute", ["MemoryDenyWriteExecute"], 100, 1, |v| flag(v.memory_deny_write_execute, "no memory both writable and executable", "may map memory writable and executable")),
    check!("NoNewPrivileges=", "NoNewPrivileges", ["NoNewPrivileges", "DynamicUser"], 1000, 1, |v| flag(v.no_new_privileges, "cannot gain privileges through exec", "may gain privileges through setuid programs")),
    check!("CapabilityBoundingSet=~CAP_SYS_ADMIN", "CapabilityBoundingSet_CAP_SYS_ADMIN", [CAPS], 1500, 1, |v| held(v, &[Cap::CAP_SYS_ADMIN], "no system administration capability", "keeps the system administration capability")),
    check!("CapabilityBoundingSet=~CAP_SET(UID|GID|PCAP)", "CapabilityBoundingSet_CAP_SET_UID_GID_PCAP", [CAPS], 1500, 1, |v| held(v, &[Cap::CAP_SETUID, Cap::CAP_SETGID, Cap::CAP_SETPCAP], "cannot change ids or capabilities", "may change ids or capabilities")),
    check!("CapabilityBoundingSet=~CAP_SYS_PTRACE", "CapabilityBoundingSet_CAP_SYS_PTRACE", [CAPS], 1500, 1, |v| held(v, &[Cap::CAP_SYS_PTRACE], "cannot trace other processes", "may trace any process")),
    check!("CapabilityBoundingSet=~CAP_SYS_TIME", "CapabilityBoundingSet_CAP_SYS_TIME", [CAPS, "ProtectClock"], 1000, 1, |v| held(v, &[Cap::CAP_SYS_TIME], "cannot set the system clock", "may set the system clock")),
    check!("CapabilityBoundingSet=~CAP_NET_ADMIN", "CapabilityBoundingSet_CAP_NET_ADMIN", [CAPS], 1000, 1, |v| held(v, &[Cap::CAP_NET_ADMIN], "cannot configure the network", "may configure the network")),
    check!("CapabilityBoundingSet=~CAP_SYS_RAWIO", "CapabilityBoundingSet_CAP_SYS_RAWIO", [CAPS, "PrivateDevices"], 1000, 1, |v| held(v, &[Cap::CAP_SYS_RAWIO], "no raw I/O", "may do raw I/O")),
    check!("CapabilityBoundingSet=~CAP_SYS_MODULE", "CapabilityBoundingSet_CAP_SYS_MODULE", [CAPS, "ProtectKernelModules"], 1000, 1, |v| held(v, &[Cap::CAP_SYS_MODULE], "cannot load kernel modules", "may load kernel modules")),
    check!("CapabilityBoundingSet=~CAP_AUDIT_*", "CapabilityBoundingSet_CAP_AUDIT", [CAPS], 500, 1, |v| held(v, &[Cap::CAP_AUDIT_CONTROL, Cap::CAP_AUDIT_READ, Cap::CAP_AUDIT_WRITE], "no access to the audit system", "may use the audit system")),
    check!("CapabilityBoundingSet=~CAP_SYSLOG", "CapabilityBoundingSet_CAP_SYSLOG", [CAPS, "ProtectKernelLogs"], 500, 1, |v| held(v, &[Cap::CAP_SYSLOG], "no privileged kernel log access", "keeps privileged kernel log access")),
    check!("CapabilityBoundingSet=~CAP_SYS_(NICE|RESOURCE)", "CapabilityBoundingSet_CAP_SYS_NICE_RESOURCE", [CAPS], 500, 1, |v| held(v, &[Cap::CAP_SYS_NICE, Cap::CAP_SYS_RESOURCE], "cannot raise priorities or limits", "may raise priorities and resource limits")),
    check!("CapabilityBoundingSet=~CAP_MKNOD", "CapabilityBoundingSet_CAP_MKNOD", [CAPS, "PrivateDevices"], 500, 1, |v| held(v, &[Cap::CAP_MKNOD], "cannot make device nodes", "may make device nodes")),
    check!("CapabilityBoundingSet=~CAP_(CHOWN|FSETID|SETFCAP)", "CapabilityBoundingSet_CAP_CHOWN_FSETID_SETFCAP", [CAPS], 1000, 1, |v| held(v, &[Cap::CAP_CHOWN, Cap::CAP_FSETID, Cap::CAP_SETFCAP], "cannot give files away or set their capabilities", "may change any file's owner, mode bits or capabilities")),
    check!("CapabilityBoundingSet=~CAP_(DAC_*|FOWNER|IPC_OWNER)", "CapabilityBoundingSet_CAP_DAC_FOWNER_IPC_OWNER", [CAPS], 1000, 1, |v| held(v, &[Cap::CAP_DAC_OVERRIDE, Cap::CAP_DAC_READ_SEARCH, Cap::CAP_FOWNER, Cap::CAP_IPC_OWNER], "file and IPC permissions apply to it", "may bypass file and IPC permissions")),
    check!("CapabilityBoundingSet=~CAP_KILL", "CapabilityBoundingSet_CAP_KILL", [CAPS], 500, 1, |v| held(v, &[Cap::CAP_KILL], "can signal only its own processes", "may signal any process")),
    check!("CapabilityBoundingSet=~CAP_NET_(BIND_SERVICE|BROADCAST|RAW)", "CapabilityBoundingSet_CAP_NET_BIND_SERVICE_BROADCAST_RAW)", [CAPS], 500, 1, |v| held(v, &[Cap::CAP_NET_BIND_SERVICE, Cap::CAP_NET_BROADCAST, Cap::CAP_NET_RAW], "no privileged networking", "keeps low ports, raw sockets or broadcast")),
    check!("CapabilityBoundingSet=~CAP_SYS_BOOT", "CapabilityBoundingSet_CAP_SYS_BOOT", [CAPS], 100, 1, |v| held(v, &[Cap::CAP_SYS_BOOT], "cannot reboot", "may reboot the machine")),
    check!("CapabilityBoundingSet=~CAP_MAC_*", "CapabilityBoundingSet_CAP_MAC", [CAPS], 100, 1, |v| held(v, &[Cap::CAP_MAC_ADMIN, Cap::CAP_MAC_OVERRIDE], "cannot change or bypass MAC policy", "may change or bypass MAC policy")),
    check!("CapabilityBoundingSet=~CAP_LINUX_IMMUTABLE", "CapabilityBoundingSet_CAP_LINUX_IMMUTABLE", [CAPS], 75, 1, |v| held(v, &[Cap::CAP_LINUX_IMMUTABLE], "cannot set immutable or append-only flags", "may set immutable or append-only flags")),
    check!("CapabilityBoundingSet=~CAP_IPC_LOCK", "CapabilityBoundingSet_CAP_IPC_LOCK", [CAPS], 50, 1, |v| held(v, &[Cap::CAP_IPC_LOCK], "cannot pin memory", "may pin memory in RAM")),
    check!("CapabilityBoundingSet=~CAP_SYS_CHROOT", "CapabilityBoundingSet_CAP_SYS_CHROOT", [CAPS], 50, 1, |v| held(v, &[Cap::CAP_SYS_CHROOT], "cannot chroot", "may chroot")),
    check!("CapabilityBoundingSet=~CAP_BLOCK_SUSPEND", "CapabilityBoundingSet_CAP_BLOCK_SUSPEND", [CAPS], 25, 1, |v| held(v, &[Cap::CAP_BLOCK_SUSPEND], "cannot keep the system awake", "may keep the system from suspending")),
    check!("CapabilityBoundingSet=~CAP_WAKE_ALARM", "CapabilityBoundingSet_CAP_WAKE_ALARM", [CAPS, "ProtectClock"], 25, 1, |v| held(v, &[Cap::CAP_WAKE_ALARM], "cannot set wake-up timers", "may set timers that wake the system")),
    check!("CapabilityBoundingSet=~CAP_LEASE", "CapabilityBoundingSet_CAP_LEASE", [CAPS], 25, 1, |v| held(v, &[Cap::CAP_LEASE], "no leases on others' files", "may take leases on any file")),
    check!("CapabilityBoundingSet=~CAP_SYS_TTY_CONFIG", "CapabilityBoundingSet_CAP_SYS_TTY_CONFIG", [CAPS], 25, 1, |v| held(v, &[Cap::CAP_SYS_TTY_CONFIG], "cannot hang up terminals", "may hang up terminals (vhangup)")),
    check!("CapabilityBoundingSet=~CAP_SYS_PACCT", "CapabilityBoundingSet_CAP_SYS_PACCT", [CAPS], 25, 1, |v| held(v, &[Cap::CAP_SYS_PACCT], "cannot switch process accounting", "may switch process accounting")),
    check!("CapabilityBoundingSet=~CAP_BPF", "CapabilityBoundingSet_CAP_BPF", [CAPS], 25, 1, |v| held(v, &[Cap::CAP_BPF], "cannot load BPF programs", "may load BPF programs")),
    check!("UMask=", "UMask", ["UMask"], 100, 10, umask),
    check!("KeyringMode=", "KeyringMode", ["KeyringMode"], 1000, 1, |v| flag(v.keyring_private, "has a keyring of its own", "shares a keyring with other programs")),
    check!("ProtectProc=", "ProtectProc", ["ProtectProc"], 1000, 3, protect_proc),
    check!("ProcSubset=", "ProcSubset", ["ProcSubset"], 10, 1, |v| flag(v.proc_subset_pid, "/proc shows processes only", "sees all of /proc, not only processes")),
    check!("NotifyAccess=", "NotifyAccess", ["NotifyAccess"], 1000, 1, |v| flag(!v.notify_all, "its children cannot report service state", "any of its processes may report service state")),
    check!("RemoveIPC=", "RemoveIPC", ["RemoveIPC", "User", "DynamicUser"], 100, 1, remove_ipc),
    check!("Delegate=", "Delegate", ["Delegate"], 100, 1, |v| flag(!v.delegate, "manages no control group subtree", "manages a control group subtree of its own")),
    check!("RestrictRealtime=", "RestrictRealtime", ["RestrictRealtime"], 500, 1, |v| flag(v.restrict_realtime, "no real-time scheduling", "may take real-time scheduling")),
    check!("RestrictSUIDSGID=", "RestrictSUIDSGID", ["RestrictSUIDSGID", "DynamicUser"], 1000, 1, |v| flag(v.restrict_suid_sgid, "cannot make setuid or setgid files", "may make setuid or setgid files")),
    check!("RestrictNamespaces=~user", "RestrictNamespaces_user", ["RestrictNamespaces"], 1500, 1, |v| namespace(v, NEWUSER, "user")),
    check!("RestrictNamespaces=~mnt", "RestrictNamespaces_mnt", ["RestrictNamespaces"], 500, 1, |v| namespace(v, NEWNS, "mount")),
    check!("RestrictNamespaces=~ipc", "RestrictNamespaces_ipc", ["RestrictNamespaces"], 500, 1, |v| namespace(v, NEWIPC, "IPC")),
    check!("RestrictNamespaces=~pid", "RestrictNamespaces_pid", ["RestrictNamespaces"], 500, 1, |v| namespace(v, NEWPID, "PID")),
    check!("RestrictNamespaces=~cgroup", "RestrictNamespaces_cgroup", ["RestrictNamespaces"], 500, 1, |v| namespace(v, NEWCGROUP, "cgroup")),
    check!("RestrictNamespaces=~net", "RestrictNamespaces_net", ["RestrictNamespaces"], 500, 1, |v| namespace(v, NEWNET, "network")),
    check!("RestrictNamespaces=~uts", "RestrictNamespaces_uts", ["RestrictNamespaces"], 100, 1, |v| namespace(v, NEWUTS, "UTS")),
    check!("RestrictAddressFamilies=~AF_(INET|INET6)", "RestrictAddressFamilies_AF_INET_INET6", ["RestrictAddressFamilies"], 1500, 1, |v| flag(v.families.inet, "cannot open IP sockets", "may open IP sockets")),
    check!("RestrictAddressFamilies=~AF_UNIX", "RestrictAddressFamilies_AF_UNIX", ["RestrictAddressFamilies"], 25, 1, |v| flag(v.families.unix, "cannot open local sockets", "may open local sockets")),
    check!("RestrictAddressFamilies=~AF_NETLINK", "RestrictAddressFamilies_AF_NETLINK", ["RestrictAddressFamilies"], 200, 1, |v| flag(v.families.netlink, "cannot open netlink sockets", "may open netlink sockets")),
    check!("RestrictAddressFamilies=~AF_PACKET", "RestrictAddressFamilies_AF_PACKET", ["RestrictAddressFamilies"], 1000, 1, |v| flag(v.families.packet, "cannot open packet sockets", "may open packet sockets")),
    check!("RestrictAddressFamilies=~…", "RestrictAddressFamilies_OTHER", ["RestrictAddressFamilies"], 1250, 1, |v| flag(v.families.other, "cannot open sockets of rarer families", "may open sockets of rarer families")),
    check!("SystemCallArchitectures=", "SystemCallArchitectures", ["SystemCallArchitectures"], 1000, 10, architectures),
    check!("SystemCallFilter=~@swap", "SystemCallFilter_swap", ["SystemCallFilter"], 1000, 10, |v| syscall_group(v, "@swap")),
    check!("SystemCallFilter=~@obsolete", "SystemCallFilter_obsolete", ["SystemCallFilter"], 250, 10, |v| syscall_group(v, "@obsolete")),
    check!("SystemCallFilter=~@clock", "SystemCallFilter_clock", ["SystemCallFilter"], 1000, 10, |v| syscall_group(v, "@clock")),
    check!("SystemCallFilter=~@cpu-emulation", "SystemCallFilter_cpu_emulation", ["SystemCallFilter"], 250, 10, |v| syscall_group(v, "@cpu-emulation")),
    check!("SystemCallFilter=~@debug", "SystemCallFilter_debug", ["SystemCallFilter"], 1000, 10, |v| syscall_group(v, "@debug")),
    check!("SystemCallFilter=~@mount", "SystemCallFilter_mount", ["SystemCallFilter"], 1000, 10, |v| syscall_group(v, "@mount")),
    check!("SystemCallFilter=~@module", "SystemCallFilter_module", ["SystemCallFilter"], 1000, 10, |v| syscall_group(v, "@module")),
    check!("SystemCallFilter=~@raw-io", "SystemCallFilter_raw_io", ["SystemCallFilter"], 1000, 10, |v| syscall_group(v, "@raw-io")),
    check!("SystemCallFilter=~@reboot", "SystemCallFilter_reboot", ["SystemCallFilter"], 1000, 10, |v| syscall_group(v, "@reboot")),
    check!("SystemCallFilter=~@privileged", "SystemCallFilter_privileged", ["SystemCallFilter"], 700, 10, |v| syscall_group(v, "@privileged")),
    check!("SystemCallFilter=~@resources", "SystemCallFilter_resources", ["SystemCallFilter"], 700, 10, |v| syscall_group(v, "@resources")),
    check!("IPAddressDeny=", "IPAddressDeny", ["IPAddressDeny", "IPAddressAllow"], 1000, 10, ip_addresses),
    check!("DeviceAllow=", "DeviceAllow", ["DeviceAllow", "DevicePolicy", "PrivateDevices"], 1000, 10, devices),
    check!("AmbientCapabilities=", "AmbientCapabilities", ["AmbientCapabilities"], 500, 1, |v| flag(v.ambient == 0, "gets no ambient capabilities", "gets ambient capabilities")),
];

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;
    use crate::analyze::view::Extra;
    use crate::plan::tests::settings;
    use crate::profile::directives;

    fn judge(id: &str, lines: &str) -> Option<u64> {
        let c = CHECKS.iter().find(|c| c.id == id).expect("check exists");
        (c.judge)(&View::new(&settings(lines), &Extra::default())).badness
    }

    #[test]
    fn checks_ids_and_fields_are_unique() {
        let mut ids = HashSet::new();
        let mut fields = HashSet::new();
        for c in CHECKS {
            assert!(ids.insert(c.id), "duplicate id {}", c.id);
            assert!(fields.insert(c.json_field), "duplicate field {}", c.json_field);
        }
    }

    /// systemd 252 prints 81 checks; their weights add up to 56460 (measured: the weight
    /// column of `SYSTEMD_ANALYZE_DEBUG=1 systemd-analyze security --offline=true`).
    #[test]
    fn checks_count_and_weights_as_measured() {
        assert_eq!(CHECKS.len(), 81);
        assert_eq!(CHECKS.iter().map(|c| c.weight).sum::<u64>(), 56460);
        let ranges: Vec<u64> = CHECKS.iter().map(|c| c.range).filter(|r| *r != 1).collect();
        assert_eq!(ranges.len(), 19, "range 10 or 3: user, home, system, umask, proc, archs, 11 filters, ip, devices");
        assert!(ranges.iter().all(|r| *r == 10 || *r == 3));
    }

    #[test]
    fn checks_read_directives_sbx_or_systemd_knows() {
        for c in CHECKS {
            for key in c.reads {
                let known = directives::find(key).is_some() || crate::analyze::view::EXTRA_KEYS.contains(key);
                assert!(known, "{}: reads unknown directive {key}", c.id);
            }
        }
    }

    #[test]
    fn checks_stay_in_range_for_every_directive_sample() {
        let service = |d: &&directives::Directive| d.section == crate::profile::Section::Service;
        for d in directives::DIRECTIVES.iter().filter(service).filter(|d| d.status == directives::Status::Supported) {
            if d.sample.is_empty() {
                continue;
            }
            let view = View::new(&settings(&format!("{}={}", d.name, d.sample)), &Extra::default());
            for c in CHECKS {
                if let Some(b) = (c.judge)(&view).badness {
                    assert!(b <= c.range, "{}={}: {} badness {b} > {}", d.name, d.sample, c.id, c.range);
                }
            }
        }
    }

    #[test]
    fn checks_judge_like_systemd() {
        assert_eq!(judge("User=/DynamicUser=", ""), Some(10));
        assert_eq!(judge("User=/DynamicUser=", "User=nobody"), Some(9));
        assert_eq!(judge("User=/DynamicUser=", "DynamicUser=yes\nUser=root"), Some(10));
        assert_eq!(judge("SupplementaryGroups=", "SupplementaryGroups=adm"), None, "root: not applicable");
        assert_eq!(judge("SupplementaryGroups=", "User=www-data\nSupplementaryGroups=adm"), Some(1));
        assert_eq!(judge("RemoveIPC=", "User=www-data"), Some(1));
        assert_eq!(judge("RemoveIPC=", "DynamicUser=yes"), Some(0));
        assert_eq!(judge("UMask=", ""), Some(5), "0022");
        assert_eq!(judge("UMask=", "UMask=0027"), Some(1));
        assert_eq!(judge("UMask=", "UMask=0007"), Some(2));
        assert_eq!(judge("UMask=", "UMask=0070"), Some(10));
        assert_eq!(judge("ProtectProc=", "ProtectProc=noaccess"), Some(1));
        assert_eq!(judge("SystemCallArchitectures=", "SystemCallArchitectures=native"), Some(0));
        assert_eq!(judge("SystemCallArchitectures=", "SystemCallArchitectures=x86-64"), Some(8));
        assert_eq!(judge("SystemCallFilter=~@mount", "SystemCallFilter=~@mount"), Some(0));
        assert_eq!(judge("SystemCallFilter=~@swap", "SystemCallFilter=~@mount"), Some(10));
        assert_eq!(judge("SystemCallFilter=~@clock", "SystemCallFilter=@system-service"), Some(0));
        assert_eq!(judge("SystemCallFilter=~@resources", "SystemCallFilter=@system-service"), Some(9));
        assert_eq!(judge("SystemCallFilter=~@swap", "SystemCallFilter=~swapon\nSystemCallFilter=swapon"), Some(10));
        assert_eq!(judge("CapabilityBoundingSet=~CAP_SYS_MODULE", "ProtectKernelModules=yes"), Some(0));
        assert_eq!(judge("CapabilityBoundingSet=~CAP_AUDIT_*", "CapabilityBoundingSet=~CAP_AUDIT_READ"), Some(1));
        assert_eq!(judge("RestrictNamespaces=~net", "RestrictNamespaces=~net\nRestrictNamespaces=net"), Some(1));
        assert_eq!(judge("RestrictNamespaces=~uts", "RestrictNamespaces=net ipc"), Some(0));
        assert_eq!(judge("DeviceAllow=", "PrivateDevices=yes"), Some(0));
        assert_eq!(judge("DeviceAllow=", "PrivateDevices=yes\nProtectClock=yes"), Some(5));
        assert_eq!(judge("KeyringMode=", "KeyringMode=shared"), Some(1));
    }
}
