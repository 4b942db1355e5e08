//! Capability sets: the bounding set to keep and the ambient set to raise, and no_new_privs.
//!
//! Invariant: the ambient set is a subset of the bounding set, and rootless it holds only
//! capabilities that can take effect inside a user namespace (for network ones, only in a
//! network namespace the sandbox owns). Everything else is refused here with the reason.

use caps::Capability;
use serde::Serialize;

use crate::error::PlanError;
use crate::host::HostFacts;
use crate::plan::ids::Namespaces;
use crate::profile::directives::all_caps;
use crate::settings::{CapMask, Settings};

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CapPlan {
    /// Capabilities kept in the bounding set (all others are dropped).
    pub bounding: Vec<String>,
    /// Capabilities raised in the ambient set (they survive the switch to a non-root uid).
    pub ambient: Vec<String>,
    #[serde(skip)]
    pub bounding_mask: CapMask,
    #[serde(skip)]
    pub ambient_mask: CapMask,
    pub no_new_privs: bool,
}

impl CapPlan {
    /// Whether a payload running as `uid` (in the sandbox) can hold CAP_SYS_ADMIN there, and so
    /// mount and unmount. It must be in the bounding set, and then: uid 0 keeps its
    /// capabilities across execve; another uid has none after execve unless they are ambient,
    /// or a setuid-root program or file capabilities grant them, which no_new_privs forbids.
    pub fn payload_may_hold_sys_admin(&self, uid: u32) -> bool {
        self.payload_may_hold(Capability::CAP_SYS_ADMIN, uid)
    }

    /// Whether a payload running as `uid` can hold CAP_SYS_ADMIN or CAP_SYS_RESOURCE, either of
    /// which lets it fork past RLIMIT_NPROC.
    pub fn payload_may_exceed_nproc(&self, uid: u32) -> bool {
        [Capability::CAP_SYS_ADMIN, Capability::CAP_SYS_RESOURCE].into_iter().any(|c| self.payload_may_hold(c, uid))
    }

    /// Whether a payload running as `uid` can hold `cap` (the same reasoning as for
    /// CAP_SYS_ADMIN above).
    fn payload_may_hold(&self, cap: Capability, uid: u32) -> bool {
        let bit = cap.bitmask();
        self.bounding_mask & bit != 0 && (uid == 0 || self.ambient_mask & bit != 0 || !self.no_new_privs)
    }
}

/// Capabilities that act on objects a user namespace owns, so they work rootless.
const USERNS_EFFECTIVE: &[Capability] = &[
    Capability::CAP_CHOWN,
    Capability::CAP_DAC_OVERRIDE,
    Capability::CAP_DAC_READ_SEARCH,
    Capability::CAP_FOWNER,
    Capability::CAP_FSETID,
    Capability::CAP_KILL,
    Capability::CAP_SETGID,
    Capability::CAP_SETUID,
    Capability::CAP_SETPCAP,
    Capability::CAP_SETFCAP,
    Capability::CAP_SYS_CHROOT,
    Capability::CAP_SYS_PTRACE,
    Capability::CAP_SYS_ADMIN,
    Capability::CAP_AUDIT_WRITE,
];

/// Network capabilities: rootless they act only on a network namespace the sandbox owns.
const NETWORK: &[Capability] = &[
    Capability::CAP_NET_BIND_SERVICE,
    Capability::CAP_NET_ADMIN,
    Capability::CAP_NET_RAW,
    Capability::CAP_NET_BROADCAST,
];

pub fn plan(s: &Settings, ns: &Namespaces, host: &HostFacts) -> Result<CapPlan, PlanError> {
    let mut bounding = s.capability_bounding_set.as_ref().map_or(all_caps(), |c| c.value);
    let drops: [(&Option<_>, &[Capability]); 4] = [
        (&s.protect_clock, &[Capability::CAP_SYS_TIME, Capability::CAP_WAKE_ALARM]),
        (&s.private_devices, &[Capability::CAP_SYS_RAWIO, Capability::CAP_MKNOD]),
        (&s.protect_kernel_modules, &[Capability::CAP_SYS_MODULE]),
        (&s.protect_kernel_logs, &[Capability::CAP_SYSLOG]),
    ];
    for (flag, caps) in drops {
        if Settings::flag(flag) {
            bounding &= !mask(caps);
        }
    }
    let ambient = s.ambient_capabilities.as_ref().map_or(0, |c| c.value);
    if let Some(a) = &s.ambient_capabilities {
        let outside = ambient & !bounding;
        if outside != 0 {
            let msg = format!(
                "{} not in the bounding set (CapabilityBoundingSet= and the Protect*/PrivateDevices= directives drop it); add it there or remove it here",
                names(outside).join(" ")
            );
            return Err(PlanError::directive("AmbientCapabilities", &a.origin, msg));
        }
        if ns.user {
            check_userns(ambient, ns, host).map_err(|m| PlanError::directive("AmbientCapabilities", &a.origin, m))?;
        }
    }
    Ok(CapPlan {
        bounding: names(bounding),
        ambient: names(ambient),
        bounding_mask: bounding,
        ambient_mask: ambient,
        no_new_privs: Settings::flag(&s.no_new_privileges),
    })
}

fn check_userns(ambient: CapMask, ns: &Namespaces, host: &HostFacts) -> Result<(), String> {
    for cap in caps::all() {
        if ambient & cap.bitmask() == 0 {
            continue;
        }
        if NETWORK.contains(&cap) {
            if ns.net {
                continue;
            }
            if cap == Capability::CAP_NET_BIND_SERVICE && *host.unprivileged_port_start.get() == 0 {
                continue;
            }
            return Err(format!(
                "{cap} cannot take effect on the host's network from a user namespace (sbx runs rootless); run sbx as root, add PrivateNetwork=yes for a network of the sandbox's own{}",
                if cap == Capability::CAP_NET_BIND_SERVICE {
                    format!(
                        ", or let every user bind low ports (sysctl net.ipv4.ip_unprivileged_port_start=0; now {})",
                        host.unprivileged_port_start.get()
                    )
                } else {
                    String::new()
                }
            ));
        }
        if !USERNS_EFFECTIVE.contains(&cap) {
            return Err(format!(
                "{cap} acts on the host as a whole and has no effect in a user namespace (sbx runs rootless); run sbx as root or remove it"
            ));
        }
    }
    Ok(())
}

fn mask(caps: &[Capability]) -> CapMask {
    caps.iter().fold(0, |m, c| m | c.bitmask())
}

pub fn names(m: CapMask) -> Vec<String> {
    let mut all: Vec<Capability> = caps::all().into_iter().filter(|c| m & c.bitmask() != 0).collect();
    all.sort_by_key(|c| c.index());
    all.iter().map(|c| c.to_string()).collect()
}
