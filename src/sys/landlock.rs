//! Landlock's three system calls (444 create_ruleset, 445 add_rule, 446 restrict_self, the
//! same numbers on x86_64 and aarch64), taking prepared values so the child need not allocate.

use std::ffi::CStr;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

use super::{Errno, check};

const SYS_CREATE_RULESET: libc::c_long = 444;
const SYS_ADD_RULE: libc::c_long = 445;
const SYS_RESTRICT_SELF: libc::c_long = 446;
const CREATE_RULESET_VERSION: u32 = 1;
const RULE_PATH_BENEATH: u32 = 1;
const RULE_NET_PORT: u32 = 2;

#[repr(C)]
struct RulesetAttr {
    handled_access_fs: u64,
    handled_access_net: u64,
    scoped: u64,
}

#[repr(C, packed)]
struct PathBeneathAttr {
    allowed_access: u64,
    parent_fd: i32,
}

#[repr(C)]
struct NetPortAttr {
    allowed_access: u64,
    port: u64,
}

/// landlock_create_ruleset(NULL, 0, LANDLOCK_CREATE_RULESET_VERSION): the highest Landlock
/// ABI the kernel offers. EOPNOTSUPP: built in but not enabled at boot; ENOSYS: absent (doctor
/// tells the two apart).
pub fn abi() -> Result<u32, Errno> {
    // SAFETY: with LANDLOCK_CREATE_RULESET_VERSION the attribute pointer must be null and
    // the size zero; the kernel reads nothing and creates no descriptor.
    let r = check(unsafe {
        libc::syscall(SYS_CREATE_RULESET, std::ptr::null::<RulesetAttr>(), 0usize, CREATE_RULESET_VERSION)
    })?;
    u32::try_from(r).map_err(|_| Errno::INVAL)
}

/// The Landlock ABI version the kernel offers (0 when Landlock is absent or disabled).
pub fn abi_version() -> u32 {
    abi().unwrap_or(0)
}

/// landlock_create_ruleset with the attribute size the ABI knows (8, 16 or 24 bytes).
pub fn create_ruleset(fs: u64, net: u64, scoped: u64, abi: u32) -> Result<OwnedFd, Errno> {
    let attr = RulesetAttr { handled_access_fs: fs, handled_access_net: net, scoped };
    let size: usize = match abi {
        0..=3 => 8,
        4 | 5 => 16,
        _ => 24,
    };
    // SAFETY: `attr` is valid for `size` bytes (a prefix of the struct) for the whole call.
    let fd = check(unsafe { libc::syscall(SYS_CREATE_RULESET, &attr as *const RulesetAttr, size, 0u32) })?;
    // SAFETY: the kernel returned a new descriptor that nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as i32) })
}

/// Allows `access` beneath the file or directory `parent` is open on (O_PATH).
pub fn add_path_rule(ruleset: BorrowedFd<'_>, parent: BorrowedFd<'_>, access: u64) -> Result<(), Errno> {
    let attr = PathBeneathAttr { allowed_access: access, parent_fd: parent.as_raw_fd() };
    // SAFETY: `attr` is a valid packed landlock_path_beneath_attr for the whole call.
    check(unsafe {
        libc::syscall(SYS_ADD_RULE, ruleset.as_raw_fd(), RULE_PATH_BENEATH, &attr as *const PathBeneathAttr, 0u32)
    })?;
    Ok(())
}

/// Allows `access` (bind/connect) on a TCP port.
pub fn add_port_rule(ruleset: BorrowedFd<'_>, port: u16, access: u64) -> Result<(), Errno> {
    let attr = NetPortAttr { allowed_access: access, port: u64::from(port) };
    // SAFETY: `attr` is a valid landlock_net_port_attr for the whole call.
    check(unsafe {
        libc::syscall(SYS_ADD_RULE, ruleset.as_raw_fd(), RULE_NET_PORT, &attr as *const NetPortAttr, 0u32)
    })?;
    Ok(())
}

/// Enforces the ruleset on the calling thread and its future children.
pub fn restrict_self(ruleset: BorrowedFd<'_>) -> Result<(), Errno> {
    // SAFETY: integer arguments only.
    check(unsafe { libc::syscall(SYS_RESTRICT_SELF, ruleset.as_raw_fd(), 0u32) })?;
    Ok(())
}

/// O_PATH|O_CLOEXEC open of a rule's path, refusing every symlink on the way (ELOOP).
pub fn open_path(path: &CStr) -> Result<OwnedFd, Errno> {
    use rustix::fs::{Mode, OFlags, ResolveFlags};
    let resolve = ResolveFlags::NO_SYMLINKS | ResolveFlags::NO_MAGICLINKS;
    rustix::fs::openat2(rustix::fs::CWD, path, OFlags::PATH | OFlags::CLOEXEC, Mode::empty(), resolve)
}
