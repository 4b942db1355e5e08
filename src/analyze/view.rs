//! What systemd's security assessor sees of a profile: Settings, plus the few keys sbx keeps
//! outside them (refused or unknown to its directive table), with the implications systemd
//! adds when it loads a unit — DynamicUser='s forced protections, the capabilities that
//! Protect*= and PrivateDevices= drop, the device policy PrivateDevices= closes.
//!
//! Invariant: pure data in, pure data out; every default is systemd 252's for a system service
//! of `Type=simple` run as root unless `User=` says otherwise. The view is of the profile *text*
//! (what systemd would score), never of what sbx does anyway — that is `here`'s job.

use std::collections::BTreeSet;
use std::net::IpAddr;

use crate::plan::dynamic_user;
use crate::plan::seccomp::arguments::allowed_namespaces;
use crate::plan::syscalls;
use crate::profile::syntax::Warning;
use crate::profile::syscall_lists::{self, KeyringMode};
use crate::profile::values::{parse_bool, split_words};
use crate::profile::{Assignment, Section};
use crate::settings::{ProcSubset, ProtectHome, ProtectProc, ProtectSystem, Settings};
use caps::Capability as Cap;

/// Keys systemd's score reads that Settings does not hold; `Extra` keeps their values.
pub const EXTRA_KEYS: &[&str] = &[
    "PrivateMounts",
    "RootImage",
    "RemoveIPC",
    "DevicePolicy",
    "DeviceAllow",
    "IPAddressDeny",
    "IPAddressAllow",
    "NotifyAccess",
    "Delegate",
    "DefaultDependencies",
];

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum DevicePolicy {
    #[default]
    Auto,
    Closed,
    Strict,
}

/// The values of `EXTRA_KEYS` after all assignments, as systemd would merge them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Extra {
    pub private_mounts: bool,
    pub root_image: bool,
    pub remove_ipc: bool,
    pub device_policy: DevicePolicy,
    pub device_allow: bool,
    pub ip_deny: Vec<(IpAddr, u8)>,
    pub ip_allow: Vec<(IpAddr, u8)>,
    pub notify_all: bool,
    pub delegate: bool,
    pub default_dependencies: bool,
}

impl Default for Extra {
    fn default() -> Self {
        Extra {
            private_mounts: false,
            root_image: false,
            remove_ipc: false,
            device_policy: DevicePolicy::Auto,
            device_allow: false,
            ip_deny: Vec::new(),
            ip_allow: Vec::new(),
            notify_all: false,
            delegate: false,
            default_dependencies: true,
        }
    }
}

impl Extra {
    /// Reads `EXTRA_KEYS` from assignments in order; a value systemd would not accept is
    /// scored as absent and reported, as systemd logs and skips it.
    pub fn from_assignments(assignments: &[Assignment]) -> (Extra, Vec<Warning>) {
        let mut e = Extra::default();
        let mut warnings = Vec::new();
        for a in assignments.iter().filter(|a| EXTRA_KEYS.contains(&a.key.as_str())) {
            let wanted = if a.key == "DefaultDependencies" { Section::Unit } else { Section::Service };
            if a.section != wanted {
                continue;
            }
            if let Err(why) = e.apply(&a.key, a.value.trim()) {
                let message = format!("{}={}: {why}; scored as if absent", a.key, a.value);
                warnings.push(Warning { origin: a.origin.clone(), message });
            }
        }
        (e, warnings)
    }

    fn apply(&mut self, key: &str, v: &str) -> Result<(), String> {
        let flag = |v: &str| if v.is_empty() { Ok(false) } else { parse_bool(v) };
        match key {
            "PrivateMounts" => self.private_mounts = flag(v)?,
            "RootImage" => self.root_image = !v.is_empty() && !v.chars().all(|c| c == '/'),
            "RemoveIPC" => self.remove_ipc = flag(v)?,
            "DevicePolicy" => self.device_policy = device_policy(v)?,
            "DeviceAllow" => self.device_allow = !v.is_empty(),
            "IPAddressDeny" => add_ip(&mut self.ip_deny, v)?,
            "IPAddressAllow" => add_ip(&mut self.ip_allow, v)?,
            "NotifyAccess" => self.notify_all = v == "all",
            // An empty Delegate= turns delegation on (without controllers); so do names.
            "Delegate" => self.delegate = v.is_empty() || parse_bool(v).unwrap_or(true),
            "DefaultDependencies" => self.default_dependencies = v.is_empty() || parse_bool(v)?,
            _ => {}
        }
        Ok(())
    }
}

fn device_policy(v: &str) -> Result<DevicePolicy, String> {
    match v {
        "" | "auto" => Ok(DevicePolicy::Auto),
        "closed" => Ok(DevicePolicy::Closed),
        "strict" => Ok(DevicePolicy::Strict),
        _ => Err("expected auto, closed or strict".into()),
    }
}

/// IPAddressAllow=/IPAddressDeny= words: `any`, `localhost`, `link-local`, `multicast`, or
/// ADDRESS[/PREFIX]; an empty value clears the list.
fn add_ip(list: &mut Vec<(IpAddr, u8)>, v: &str) -> Result<(), String> {
    if v.is_empty() {
        list.clear();
        return Ok(());
    }
    for word in split_words(v)? {
        let named: &[(&str, u8)] = match word.as_str() {
            "any" => &[("0.0.0.0", 0), ("::", 0)],
            "localhost" => &[("127.0.0.0", 8), ("::1", 128)],
            "link-local" => &[("169.254.0.0", 16), ("fe80::", 64)],
            "multicast" => &[("224.0.0.0", 4), ("ff00::", 8)],
            _ => &[],
        };
        if !named.is_empty() {
            list.extend(named.iter().filter_map(|(a, p)| a.parse().ok().map(|a| (a, *p))));
            continue;
        }
        let (addr, prefix) = word.split_once('/').map_or((word.as_str(), None), |(a, p)| (a, Some(p)));
        let addr: IpAddr = addr.parse().map_err(|_| format!("{word:?} is not an IP address"))?;
        let full = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            Some(p) => p.parse::<u8>().ok().filter(|p| *p <= full).ok_or(format!("bad prefix length in {word:?}"))?,
            None => full,
        };
        list.push((addr, prefix));
    }
    Ok(())
}

/// Whether an entry, masked to its prefix, lies in 127.0.0.0/8 or is ::1.
fn is_localhost(addr: IpAddr, prefix: u8) -> bool {
    match addr {
        IpAddr::V4(a) => prefix >= 8 && a.octets()[0] == 127,
        IpAddr::V6(a) => prefix == 128 && a.is_loopback(),
    }
}

/// Which socket families a RestrictAddressFamilies= setting keeps out, in systemd's five
/// buckets (`true`: restricted).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Families {
    pub inet: bool,
    pub unix: bool,
    pub netlink: bool,
    pub packet: bool,
    pub other: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Archs {
    /// No SystemCallArchitectures=: every ABI.
    All,
    /// Exactly `native` (systemd 252 does not count the native architecture's own name).
    NativeOnly,
    Several,
}

/// The syscall names a SystemCallFilter= setting lists (allowed, or denied), by name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyscallSet {
    pub allow_list: bool,
    pub names: BTreeSet<String>,
}

/// systemd's SecurityInfo for one profile.
#[derive(Clone, Debug, PartialEq)]
pub struct View {
    pub user: Option<String>,
    pub dynamic_user: bool,
    pub supplementary_groups: bool,
    pub private_devices: bool,
    pub private_mounts: bool,
    pub private_network: bool,
    pub private_tmp: bool,
    pub private_users: bool,
    pub protect_control_groups: bool,
    pub protect_kernel_modules: bool,
    pub protect_kernel_tunables: bool,
    pub protect_kernel_logs: bool,
    pub protect_clock: bool,
    pub protect_hostname: bool,
    pub protect_home: ProtectHome,
    pub protect_system: ProtectSystem,
    pub own_root: bool,
    pub lock_personality: bool,
    pub memory_deny_write_execute: bool,
    pub no_new_privileges: bool,
    pub restrict_realtime: bool,
    pub restrict_suid_sgid: bool,
    pub remove_ipc: bool,
    pub delegate: bool,
    /// Capability bits by number, as the kernel and systemd count them.
    pub bounding: u64,
    pub ambient: u64,
    pub umask: u32,
    pub keyring_private: bool,
    pub protect_proc: ProtectProc,
    pub proc_subset_pid: bool,
    pub notify_all: bool,
    /// Clone flags of the namespace types still allowed.
    pub namespaces_allowed: u64,
    pub families: Families,
    pub archs: Archs,
    pub syscalls: Option<SyscallSet>,
    pub ip_deny_all: bool,
    pub ip_allow_localhost: bool,
    pub ip_allow_other: bool,
    pub device_policy: DevicePolicy,
    pub device_allow: bool,
    pub default_dependencies: bool,
}

fn caps_mask(caps: &[Cap]) -> u64 {
    caps.iter().fold(0, |m, c| m | c.bitmask())
}

impl View {
    pub fn new(settings: &Settings, extra: &Extra) -> View {
        let s = &dynamic_user::implied(settings);
        let on = Settings::flag;
        let dynamic_user = on(&s.dynamic_user);
        let mut bounding = s.capability_bounding_set.as_ref().map_or(u64::MAX, |c| c.value);
        for (protect, dropped) in [
            (on(&s.protect_kernel_modules), caps_mask(&[Cap::CAP_SYS_MODULE])),
            (on(&s.protect_kernel_logs), caps_mask(&[Cap::CAP_SYSLOG])),
            (on(&s.protect_clock), caps_mask(&[Cap::CAP_SYS_TIME, Cap::CAP_WAKE_ALARM])),
            (on(&s.private_devices), caps_mask(&[Cap::CAP_MKNOD, Cap::CAP_SYS_RAWIO])),
        ] {
            if protect {
                bounding &= !dropped;
            }
        }
        let device_policy = match extra.device_policy {
            DevicePolicy::Auto if on(&s.private_devices) => DevicePolicy::Closed,
            p => p,
        };
        let own_root =
            extra.root_image || s.root_directory.as_ref().is_some_and(|r| !r.value.trim_matches('/').is_empty());
        let v4_all = extra.ip_deny.iter().any(|(a, p)| a.is_ipv4() && *p == 0);
        let v6_all = extra.ip_deny.iter().any(|(a, p)| a.is_ipv6() && *p == 0);
        View {
            user: s.user.as_ref().map(|u| u.value.clone()),
            dynamic_user,
            supplementary_groups: !s.supplementary_groups.is_empty(),
            private_devices: on(&s.private_devices),
            private_mounts: extra.private_mounts,
            private_network: on(&s.private_network),
            private_tmp: on(&s.private_tmp),
            private_users: on(&s.private_users),
            protect_control_groups: on(&s.protect_control_groups),
            protect_kernel_modules: on(&s.protect_kernel_modules),
            protect_kernel_tunables: on(&s.protect_kernel_tunables),
            protect_kernel_logs: on(&s.protect_kernel_logs),
            protect_clock: on(&s.protect_clock),
            protect_hostname: on(&s.protect_hostname),
            protect_home: s.protect_home.as_ref().map_or(ProtectHome::No, |v| v.value),
            protect_system: s.protect_system.as_ref().map_or(ProtectSystem::No, |v| v.value),
            own_root,
            lock_personality: on(&s.lock_personality),
            memory_deny_write_execute: on(&s.memory_deny_write_execute),
            no_new_privileges: on(&s.no_new_privileges),
            restrict_realtime: on(&s.restrict_realtime),
            restrict_suid_sgid: on(&s.restrict_suid_sgid),
            remove_ipc: extra.remove_ipc || dynamic_user,
            delegate: extra.delegate,
            bounding,
            ambient: s.ambient_capabilities.as_ref().map_or(0, |c| c.value),
            umask: s.umask.as_ref().map_or(0o022, |u| u.value),
            keyring_private: s.keyring_mode.as_ref().is_none_or(|k| k.value == KeyringMode::Private),
            protect_proc: s.protect_proc.as_ref().map_or(ProtectProc::Default, |p| p.value),
            proc_subset_pid: s.proc_subset.as_ref().is_some_and(|p| p.value == ProcSubset::Pid),
            notify_all: extra.notify_all,
            namespaces_allowed: allowed_namespaces(s).map_or(syscall_lists::all_namespaces(), |(m, _)| m),
            families: families(s),
            archs: archs(s),
            syscalls: syscall_set(s),
            ip_deny_all: v4_all && v6_all,
            ip_allow_localhost: extra.ip_allow.iter().any(|(a, p)| is_localhost(*a, *p)),
            ip_allow_other: extra.ip_allow.iter().any(|(a, p)| !is_localhost(*a, *p)),
            device_policy,
            device_allow: extra.device_allow || on(&s.protect_clock) || extra.root_image,
            default_dependencies: extra.default_dependencies,
        }
    }

    /// Whether the service runs with root's privileges (systemd: User= unset, 0 or root,
    /// and no DynamicUser=).
    pub fn runs_privileged(&self) -> bool {
        match self.user.as_deref() {
            Some("0" | "root") => true,
            _ if self.dynamic_user => false,
            u => u.is_none_or(str::is_empty),
        }
    }
}

/// The first assignment decides allow- or deny-list; later ones of the same kind add, of the
/// other kind remove. `none` forbids every family and, as in systemd 252, lets the next
/// assignment decide the kind afresh.
fn families(s: &Settings) -> Families {
    if s.restrict_address_families.is_empty() {
        return Families::default();
    }
    let (mut allow, mut fresh) = (true, true);
    let mut set = BTreeSet::new();
    for a in &s.restrict_address_families {
        if !a.value.invert && a.value.families.is_empty() {
            (allow, fresh) = (true, true);
            set.clear();
            continue;
        }
        if fresh {
            (allow, fresh) = (!a.value.invert, false);
        }
        for f in &a.value.families {
            if a.value.invert != allow {
                set.insert(*f);
            } else {
                set.remove(f);
            }
        }
    }
    let mut out = Families { inet: allow, unix: allow, netlink: allow, packet: allow, other: allow };
    for f in set {
        let bucket = match f {
            2 | 10 => &mut out.inet,
            1 => &mut out.unix,
            16 => &mut out.netlink,
            17 => &mut out.packet,
            _ => &mut out.other,
        };
        *bucket = !allow;
    }
    out
}

fn archs(s: &Settings) -> Archs {
    let set: BTreeSet<&str> = s.system_call_architectures.iter().map(|a| a.value.as_str()).collect();
    match set.len() {
        0 => Archs::All,
        1 if set.contains("native") => Archs::NativeOnly,
        _ => Archs::Several,
    }
}

/// SystemCallFilter= as systemd stores it: an allow-list starts from @default.
fn syscall_set(s: &Settings) -> Option<SyscallSet> {
    let first = s.system_call_filter.first()?;
    let allow_list = !first.value.invert;
    let mut names: BTreeSet<String> = BTreeSet::new();
    if allow_list {
        names.extend(syscalls::expand("@default").unwrap_or_default().into_iter().map(str::to_string));
    }
    for a in &s.system_call_filter {
        for (entry, _) in &a.value.items {
            let members: Vec<String> = if entry.starts_with('@') {
                syscalls::expand(entry).unwrap_or_default().into_iter().map(str::to_string).collect()
            } else {
                vec![entry.clone()]
            };
            for n in members {
                if a.value.invert != allow_list {
                    names.insert(n);
                } else {
                    names.remove(&n);
                }
            }
        }
    }
    Some(SyscallSet { allow_list, names })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::tests::settings;
    use std::sync::Arc;

    fn extra(lines: &[(&str, &str)]) -> Extra {
        let origin = crate::profile::Origin { source: Arc::from("t.conf"), line: 1 };
        let a: Vec<Assignment> = lines
            .iter()
            .map(|(k, v)| Assignment {
                section: if *k == "DefaultDependencies" { Section::Unit } else { Section::Service },
                key: k.to_string(),
                value: v.to_string(),
                origin: origin.clone(),
            })
            .collect();
        let (e, w) = Extra::from_assignments(&a);
        assert!(w.is_empty(), "{w:?}");
        e
    }

    #[test]
    fn view_families_follow_the_first_assignment() {
        let v = View::new(
            &settings("RestrictAddressFamilies=~AF_UNIX\nRestrictAddressFamilies=AF_UNIX"),
            &Extra::default(),
        );
        assert_eq!(v.families, Families::default(), "a later allow removes from the deny-list");
        let v =
            View::new(&settings("RestrictAddressFamilies=none\nRestrictAddressFamilies=AF_UNIX"), &Extra::default());
        assert_eq!(v.families, Families { inet: true, unix: false, netlink: true, packet: true, other: true });
        let v =
            View::new(&settings("RestrictAddressFamilies=none\nRestrictAddressFamilies=~AF_UNIX"), &Extra::default());
        assert_eq!(v.families, Families { unix: true, ..Families::default() }, "after none the kind is decided anew");
        let v = View::new(&settings("RestrictAddressFamilies=~AF_BLUETOOTH"), &Extra::default());
        assert!(v.families.other && !v.families.inet, "one exotic family denied counts for all, as systemd");
    }

    #[test]
    fn view_implications_of_loading() {
        let v = View::new(&settings("DynamicUser=yes\nProtectClock=yes\nPrivateDevices=yes"), &Extra::default());
        assert!(v.remove_ipc && v.private_tmp && v.no_new_privileges && v.restrict_suid_sgid);
        assert_eq!((v.protect_system, v.protect_home), (ProtectSystem::Strict, ProtectHome::ReadOnly));
        assert_eq!(v.bounding & Cap::CAP_SYS_TIME.bitmask(), 0);
        assert_eq!(v.bounding & Cap::CAP_MKNOD.bitmask(), 0);
        assert_eq!((v.device_policy, v.device_allow), (DevicePolicy::Closed, true), "ProtectClock= allows the rtc");
        assert!(!v.runs_privileged());
        assert!(View::new(&settings("User=root"), &Extra::default()).runs_privileged());
    }

    #[test]
    fn view_syscall_sets() {
        let v = View::new(&settings("SystemCallFilter=~@swap\nSystemCallFilter=swapoff"), &Extra::default());
        let set = v.syscalls.unwrap();
        assert!(!set.allow_list && set.names.contains("swapon") && !set.names.contains("swapoff"));
        let v = View::new(&settings("SystemCallFilter=read"), &Extra::default());
        assert!(v.syscalls.unwrap().names.contains("exit_group"), "@default is implied");
    }

    #[test]
    fn view_extra_keys() {
        let e =
            extra(&[("IPAddressDeny", "any"), ("IPAddressAllow", "localhost"), ("Delegate", ""), ("RootImage", "/")]);
        let v = View::new(&settings(""), &e);
        assert!(v.ip_deny_all && v.ip_allow_localhost && !v.ip_allow_other && v.delegate && !v.own_root);
        let e = extra(&[("IPAddressDeny", "0.0.0.0/0"), ("IPAddressAllow", "10.0.0.0/8")]);
        let v = View::new(&settings(""), &e);
        assert!(!v.ip_deny_all && v.ip_allow_other);
        let e = extra(&[("DefaultDependencies", "no"), ("DeviceAllow", "/dev/null rw"), ("DeviceAllow", "")]);
        assert!(!e.default_dependencies && !e.device_allow);
        let origin = crate::profile::Origin { source: Arc::from("t.conf"), line: 3 };
        let bad = Assignment { section: Section::Service, key: "DevicePolicy".into(), value: "open".into(), origin };
        let (e, w) = Extra::from_assignments(&[bad]);
        assert_eq!(e.device_policy, DevicePolicy::Auto);
        assert!(w[0].to_string().contains("t.conf:3"), "{}", w[0]);
    }
}
