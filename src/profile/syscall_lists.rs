//! Value parsers for the seccomp family of directives: syscall lists with `~` and
//! `name:errno`, errno names, address families, namespace types, architectures.
//!
//! Invariant: every name is checked here, so an unknown syscall, group, errno or family is an
//! error with file:line before anything runs. Resolution to numbers is the plan's job.

use serde::Serialize;

use crate::plan::syscalls;
use crate::profile::values;

/// What a refused call gets: an errno, or the process is killed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum ErrnoAction {
    Errno(u16),
    Kill,
}

/// One `SystemCallFilter=` / `SystemCallLog=` assignment.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FilterAssign {
    pub invert: bool,
    /// Names or `@groups`, each with an optional errno (deny-lists only).
    pub items: Vec<(String, Option<ErrnoAction>)>,
}

pub fn parse_filter(value: &str) -> Result<FilterAssign, String> {
    let (invert, rest) = match value.strip_prefix('~') {
        Some(r) => (true, r),
        None => (false, value),
    };
    let mut items = Vec::new();
    for word in values::split_words(rest)? {
        let (name, errno) = match word.split_once(':') {
            Some((n, e)) => (n.to_string(), Some(parse_errno_action(e)?)),
            None => (word.clone(), None),
        };
        check_syscall_name(&name)?;
        items.push((name, errno));
    }
    Ok(FilterAssign { invert, items })
}

fn check_syscall_name(name: &str) -> Result<(), String> {
    if name.starts_with('@') {
        if syscalls::group(name).is_none() {
            return Err(format!("unknown system call group {name} (see sbx syscall-filter)"));
        }
    } else if !syscalls::is_known(name) {
        return Err(format!("unknown system call {name:?}"));
    }
    Ok(())
}

/// An errno name or number (1..4095), or `kill`.
pub fn parse_errno_action(s: &str) -> Result<ErrnoAction, String> {
    if s == "kill" {
        return Ok(ErrnoAction::Kill);
    }
    parse_errno(s).map(ErrnoAction::Errno)
}

pub fn parse_errno(s: &str) -> Result<u16, String> {
    if let Some(&(_, n)) = ERRNOS.iter().find(|(name, _)| name.eq_ignore_ascii_case(s)) {
        return Ok(n);
    }
    match s.parse::<u16>() {
        Ok(n) if (1..=4095).contains(&n) => Ok(n),
        _ => Err(format!("expected an errno name such as EPERM or a number from 1 to 4095, or kill; not {s:?}")),
    }
}

pub fn errno_name(n: u16) -> Option<&'static str> {
    ERRNOS.iter().find(|(_, v)| *v == n).map(|(name, _)| *name)
}

/// Linux's errno names and numbers (asm-generic, used by x86_64 and aarch64).
const ERRNOS: &[(&str, u16)] = &[
    ("EPERM", 1),
    ("ENOENT", 2),
    ("ESRCH", 3),
    ("EINTR", 4),
    ("EIO", 5),
    ("ENXIO", 6),
    ("E2BIG", 7),
    ("ENOEXEC", 8),
    ("EBADF", 9),
    ("ECHILD", 10),
    ("EAGAIN", 11),
    ("ENOMEM", 12),
    ("EACCES", 13),
    ("EFAULT", 14),
    ("ENOTBLK", 15),
    ("EBUSY", 16),
    ("EEXIST", 17),
    ("EXDEV", 18),
    ("ENODEV", 19),
    ("ENOTDIR", 20),
    ("EISDIR", 21),
    ("EINVAL", 22),
    ("ENFILE", 23),
    ("EMFILE", 24),
    ("ENOTTY", 25),
    ("ETXTBSY", 26),
    ("EFBIG", 27),
    ("ENOSPC", 28),
    ("ESPIPE", 29),
    ("EROFS", 30),
    ("EMLINK", 31),
    ("EPIPE", 32),
    ("EDOM", 33),
    ("ERANGE", 34),
    ("EDEADLK", 35),
    ("ENAMETOOLONG", 36),
    ("ENOLCK", 37),
    ("ENOSYS", 38),
    ("ENOTEMPTY", 39),
    ("ELOOP", 40),
    ("ENOMSG", 42),
    ("EIDRM", 43),
    ("ECHRNG", 44),
    ("EL2NSYNC", 45),
    ("EL3HLT", 46),
    ("EL3RST", 47),
    ("ELNRNG", 48),
    ("EUNATCH", 49),
    ("ENOCSI", 50),
    ("EL2HLT", 51),
    ("EBADE", 52),
    ("EBADR", 53),
    ("EXFULL", 54),
    ("ENOANO", 55),
    ("EBADRQC", 56),
    ("EBADSLT", 57),
    ("EBFONT", 59),
    ("ENOSTR", 60),
    ("ENODATA", 61),
    ("ETIME", 62),
    ("ENOSR", 63),
    ("ENONET", 64),
    ("ENOPKG", 65),
    ("EREMOTE", 66),
    ("ENOLINK", 67),
    ("EADV", 68),
    ("ESRMNT", 69),
    ("ECOMM", 70),
    ("EPROTO", 71),
    ("EMULTIHOP", 72),
    ("EDOTDOT", 73),
    ("EBADMSG", 74),
    ("EOVERFLOW", 75),
    ("ENOTUNIQ", 76),
    ("EBADFD", 77),
    ("EREMCHG", 78),
    ("ELIBACC", 79),
    ("ELIBBAD", 80),
    ("ELIBSCN", 81),
    ("ELIBMAX", 82),
    ("ELIBEXEC", 83),
    ("EILSEQ", 84),
    ("ERESTART", 85),
    ("ESTRPIPE", 86),
    ("EUSERS", 87),
    ("ENOTSOCK", 88),
    ("EDESTADDRREQ", 89),
    ("EMSGSIZE", 90),
    ("EPROTOTYPE", 91),
    ("ENOPROTOOPT", 92),
    ("EPROTONOSUPPORT", 93),
    ("ESOCKTNOSUPPORT", 94),
    ("EOPNOTSUPP", 95),
    ("EPFNOSUPPORT", 96),
    ("EAFNOSUPPORT", 97),
    ("EADDRINUSE", 98),
    ("EADDRNOTAVAIL", 99),
    ("ENETDOWN", 100),
    ("ENETUNREACH", 101),
    ("ENETRESET", 102),
    ("ECONNABORTED", 103),
    ("ECONNRESET", 104),
    ("ENOBUFS", 105),
    ("EISCONN", 106),
    ("ENOTCONN", 107),
    ("ESHUTDOWN", 108),
    ("ETOOMANYREFS", 109),
    ("ETIMEDOUT", 110),
    ("ECONNREFUSED", 111),
    ("EHOSTDOWN", 112),
    ("EHOSTUNREACH", 113),
    ("EALREADY", 114),
    ("EINPROGRESS", 115),
    ("ESTALE", 116),
    ("EUCLEAN", 117),
    ("ENOTNAM", 118),
    ("ENAVAIL", 119),
    ("EISNAM", 120),
    ("EREMOTEIO", 121),
    ("EDQUOT", 122),
    ("ENOMEDIUM", 123),
    ("EMEDIUMTYPE", 124),
    ("ECANCELED", 125),
    ("ENOKEY", 126),
    ("EKEYEXPIRED", 127),
    ("EKEYREVOKED", 128),
    ("EKEYREJECTED", 129),
    ("EOWNERDEAD", 130),
    ("ENOTRECOVERABLE", 131),
    ("ERFKILL", 132),
    ("EHWPOISON", 133),
    ("EWOULDBLOCK", 11),
    ("EDEADLOCK", 35),
];

/// `RestrictAddressFamilies=`: `none`, a list, or `~list`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FamilyAssign {
    pub invert: bool,
    pub families: Vec<u32>,
}

pub fn parse_families(value: &str) -> Result<FamilyAssign, String> {
    if value == "none" {
        return Ok(FamilyAssign { invert: false, families: Vec::new() });
    }
    let (invert, rest) = match value.strip_prefix('~') {
        Some(r) => (true, r),
        None => (false, value),
    };
    let mut families = Vec::new();
    for word in values::split_words(rest)? {
        let af = FAMILIES.iter().find(|(n, _)| *n == word).map(|(_, v)| *v).ok_or_else(|| {
            format!("unknown address family {word:?} (expected names such as AF_UNIX AF_INET AF_INET6, or none)")
        })?;
        families.push(af);
    }
    Ok(FamilyAssign { invert, families })
}

/// Address family names and numbers (linux/socket.h).
pub const FAMILIES: &[(&str, u32)] = &[
    ("AF_UNIX", 1),
    ("AF_LOCAL", 1),
    ("AF_INET", 2),
    ("AF_AX25", 3),
    ("AF_IPX", 4),
    ("AF_APPLETALK", 5),
    ("AF_NETROM", 6),
    ("AF_BRIDGE", 7),
    ("AF_ATMPVC", 8),
    ("AF_X25", 9),
    ("AF_INET6", 10),
    ("AF_ROSE", 11),
    ("AF_DECnet", 12),
    ("AF_NETBEUI", 13),
    ("AF_SECURITY", 14),
    ("AF_KEY", 15),
    ("AF_NETLINK", 16),
    ("AF_PACKET", 17),
    ("AF_ASH", 18),
    ("AF_ECONET", 19),
    ("AF_ATMSVC", 20),
    ("AF_RDS", 21),
    ("AF_SNA", 22),
    ("AF_IRDA", 23),
    ("AF_PPPOX", 24),
    ("AF_WANPIPE", 25),
    ("AF_LLC", 26),
    ("AF_IB", 27),
    ("AF_MPLS", 28),
    ("AF_CAN", 29),
    ("AF_TIPC", 30),
    ("AF_BLUETOOTH", 31),
    ("AF_IUCV", 32),
    ("AF_RXRPC", 33),
    ("AF_ISDN", 34),
    ("AF_PHONET", 35),
    ("AF_IEEE802154", 36),
    ("AF_CAIF", 37),
    ("AF_ALG", 38),
    ("AF_NFC", 39),
    ("AF_VSOCK", 40),
    ("AF_KCM", 41),
    ("AF_QIPCRTR", 42),
    ("AF_SMC", 43),
    ("AF_XDP", 44),
    ("AF_MCTP", 45),
];

/// Namespace type names and their clone flags.
pub const NAMESPACES: &[(&str, u64)] = &[
    ("cgroup", 0x0200_0000),
    ("ipc", 0x0800_0000),
    ("net", 0x4000_0000),
    ("mnt", 0x0002_0000),
    ("pid", 0x2000_0000),
    ("user", 0x1000_0000),
    ("uts", 0x0400_0000),
    ("time", 0x0000_0080),
];

pub fn all_namespaces() -> u64 {
    NAMESPACES.iter().fold(0, |m, (_, f)| m | f)
}

/// `RestrictNamespaces=`: a boolean, a list of types, or `~list`; as the mask of types it
/// leaves allowed, and whether it replaces or combines with earlier assignments.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub enum NsAssign {
    /// yes (none allowed) or no (all allowed): replaces.
    All(bool),
    /// Allow exactly these (OR-ed with earlier lists).
    Allow(u64),
    /// Allow all but these (removed from what earlier assignments allowed).
    Deny(u64),
}

pub fn parse_namespaces(value: &str) -> Result<NsAssign, String> {
    if let Ok(b) = values::parse_bool(value) {
        return Ok(NsAssign::All(b));
    }
    let (invert, rest) = match value.strip_prefix('~') {
        Some(r) => (true, r),
        None => (false, value),
    };
    let mut mask = 0;
    for word in values::split_words(rest)? {
        let (_, f) = NAMESPACES.iter().find(|(n, _)| *n == word).ok_or_else(|| {
            format!("unknown namespace type {word:?} (expected a boolean, or cgroup ipc net mnt pid user uts time)")
        })?;
        mask |= f;
    }
    Ok(if invert { NsAssign::Deny(mask) } else { NsAssign::Allow(mask) })
}

/// `SystemCallArchitectures=`: `native` or systemd's architecture names.
pub fn parse_arch(word: &str) -> Result<String, String> {
    if word == "native" || syscalls::Arch::from_systemd_name(word).is_some() || KNOWN_OTHER_ARCHS.contains(&word) {
        Ok(word.to_string())
    } else {
        Err(format!("unknown architecture {word:?} (expected native, x86-64, x86, x32, arm64, ...)"))
    }
}

/// Architecture names systemd knows that sbx has no syscall table for; a profile naming them
/// is valid, they just never match this host's native ABI.
const KNOWN_OTHER_ARCHS: &[&str] =
    &["x86", "x32", "arm", "mips", "mips64", "ppc", "ppc64", "ppc64-le", "s390", "s390x", "riscv64", "loongarch64"];

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum KeyringMode {
    Inherit,
    Private,
    Shared,
}

pub fn parse_keyring_mode(v: &str) -> Result<KeyringMode, String> {
    match v {
        "inherit" => Ok(KeyringMode::Inherit),
        "private" => Ok(KeyringMode::Private),
        "shared" => Ok(KeyringMode::Shared),
        _ => Err("expected inherit, private or shared".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_parse_with_errnos_and_groups() {
        let f = parse_filter("~@mount reboot:EPERM swapon:kill").unwrap();
        assert!(f.invert);
        assert_eq!(f.items[0], ("@mount".to_string(), None));
        assert_eq!(f.items[1], ("reboot".to_string(), Some(ErrnoAction::Errno(1))));
        assert_eq!(f.items[2], ("swapon".to_string(), Some(ErrnoAction::Kill)));
        assert!(parse_filter("read nosuchcall").unwrap_err().contains("nosuchcall"));
        assert!(parse_filter("@nosuchgroup").unwrap_err().contains("@nosuchgroup"));
        assert!(parse_filter("read:EBOGUS").unwrap_err().contains("errno"));
    }

    #[test]
    fn errnos_by_name_and_number() {
        assert_eq!(parse_errno("EPERM"), Ok(1));
        assert_eq!(parse_errno("eacces"), Ok(13));
        assert_eq!(parse_errno("4095"), Ok(4095));
        assert!(parse_errno("0").is_err() && parse_errno("4096").is_err());
        assert_eq!(errno_name(97), Some("EAFNOSUPPORT"));
    }

    #[test]
    fn families_and_namespaces() {
        assert_eq!(parse_families("AF_UNIX AF_INET6").unwrap(), FamilyAssign { invert: false, families: vec![1, 10] });
        assert_eq!(parse_families("none").unwrap().families, Vec::<u32>::new());
        assert!(parse_families("~AF_PACKET").unwrap().invert);
        assert!(parse_families("AF_BOGUS").is_err());
        assert_eq!(parse_namespaces("yes").unwrap(), NsAssign::All(true));
        assert_eq!(parse_namespaces("net ipc").unwrap(), NsAssign::Allow(0x4000_0000 | 0x0800_0000));
        assert_eq!(parse_namespaces("~user").unwrap(), NsAssign::Deny(0x1000_0000));
        assert!(parse_namespaces("bogus").is_err());
    }
}
