//! Landlock: the ABI the kernel offers and what each version adds. sbx uses it as defence in
//! depth behind the mount namespace, and as the filesystem confinement of `--best-effort`
//! when namespaces are refused.
//!
//! Invariant: pure over the answer of landlock_create_ruleset(VERSION), whose errno tells a
//! kernel without Landlock (ENOSYS) from one that did not enable it at boot (EOPNOTSUPP).

use super::{Finding, Fix, Impact, Status};
use crate::error::describe_errno;
use crate::sys::Errno;

/// What each ABI version adds, and the first kernel with it.
const ABIS: &[(u32, &str, &str)] = &[
    (1, "5.13", "filesystem access rights"),
    (2, "5.19", "renaming and linking across directories (REFER)"),
    (3, "6.2", "truncation (TRUNCATE)"),
    (4, "6.7", "TCP bind and connect rules"),
    (5, "6.10", "ioctl on devices (IOCTL_DEV)"),
    (6, "6.12", "scopes: abstract unix sockets and signals"),
    (7, "6.15", "audit logging controls"),
];

/// The ABI from which sbx gets everything it can use (TCP rules at 4, scopes at 6).
const FULL: u32 = 6;

pub fn finding(abi: Result<u32, Errno>) -> Finding {
    const ID: &str = "landlock";
    const TITLE: &str = "Landlock";
    let abi = match abi {
        Ok(n) if n > 0 => n,
        Ok(_) | Err(Errno::NOSYS) => {
            return Finding::new(
                ID,
                TITLE,
                Status::Missing,
                "the kernel has no Landlock (Linux 5.13+, CONFIG_SECURITY_LANDLOCK)",
            )
            .detail("no defence in depth behind the mount namespace; --best-effort refuses without it")
            .fixes([Fix::note("use Linux 5.13 or newer built with CONFIG_SECURITY_LANDLOCK=y")]);
        }
        Err(Errno::OPNOTSUPP) => {
            return Finding::new(ID, TITLE, Status::Missing, "Landlock is built in but not enabled at boot")
                .detail("no defence in depth behind the mount namespace; --best-effort refuses without it")
                .fixes([Fix::Boot { parameter: "lsm=landlock,... (add landlock to the lsm= list your kernel boots with, see /sys/kernel/security/lsm)".into() }]);
        }
        Err(e) => {
            return Finding::new(
                ID,
                TITLE,
                Status::Unknown,
                format!("cannot ask for the Landlock ABI: {}", describe_errno(e)),
            );
        }
    };
    let has: Vec<String> =
        ABIS.iter().filter(|(n, _, _)| *n <= abi).map(|(n, _, what)| format!("ABI {n}: {what}")).collect();
    let lacks: Vec<String> = ABIS
        .iter()
        .filter(|(n, _, _)| *n > abi && *n <= FULL)
        .map(|(n, k, what)| format!("ABI {n} (Linux {k}): {what}"))
        .collect();
    let mut f = if lacks.is_empty() {
        Finding::new(ID, TITLE, Status::Ok, format!("ABI {abi}: filesystem rules, TCP bind/connect rules and scopes"))
    } else {
        Finding::new(ID, TITLE, Status::Limited, format!("ABI {abi}: lacks {}", lacks.join("; ")))
            .fixes([Fix::note("a newer kernel adds them (TCP rules need Linux 6.7, scopes 6.12)")])
    };
    for line in has {
        f = f.detail(line);
    }
    f.impact(Impact::Info)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_abi_says_what_it_adds() {
        let full = finding(Ok(7));
        assert_eq!(full.status, Status::Ok);
        assert_eq!(full.details.len(), 7);
        let three = finding(Ok(3));
        assert_eq!(three.status, Status::Limited);
        assert!(three.summary.contains("ABI 4 (Linux 6.7): TCP bind and connect rules"), "{}", three.summary);
        assert!(three.summary.contains("ABI 6 (Linux 6.12): scopes"), "{}", three.summary);
        assert!(!three.summary.contains("ABI 7"));
        let five = finding(Ok(5));
        assert!(five.summary.contains("ABI 6") && !five.summary.contains("ABI 4"), "{}", five.summary);
    }

    #[test]
    fn absent_and_disabled_differ() {
        let absent = finding(Err(Errno::NOSYS));
        assert_eq!(absent.status, Status::Missing);
        assert!(absent.summary.contains("no Landlock"));
        let disabled = finding(Err(Errno::OPNOTSUPP));
        assert!(disabled.summary.contains("not enabled at boot"));
        assert!(matches!(&disabled.fixes[0], Fix::Boot { parameter } if parameter.starts_with("lsm=landlock")));
        assert_eq!(finding(Err(Errno::PERM)).status, Status::Unknown);
        assert_eq!(absent.impact, Impact::Info, "full isolation does not depend on it");
    }
}
