//! A new network namespace with its loopback interface up.

use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

use super::{Errno, check};

/// Which step of `new_namespace` failed.
pub enum NetError {
    Namespace(Errno),
    Loopback(Errno),
}

/// SIOCGSKNS: a descriptor of the network namespace a socket belongs to.
const SIOCGSKNS: libc::c_ulong = 0x894c;

/// Moves the calling process into a new network namespace, brings "lo" up there and returns a
/// descriptor of the namespace, through which other processes join it (`sys::ns::enter`).
pub fn new_namespace() -> Result<OwnedFd, NetError> {
    // SAFETY: unshare(CLONE_NEWNET) changes only this process's network namespace; no memory
    // or descriptor table is affected.
    check(unsafe { libc::unshare(libc::CLONE_NEWNET) } as libc::c_long).map_err(NetError::Namespace)?;
    let sock = rustix::net::socket(rustix::net::AddressFamily::INET, rustix::net::SocketType::DGRAM, None)
        .map_err(NetError::Loopback)?;
    up(sock.as_fd()).map_err(NetError::Loopback)?;
    // SAFETY: SIOCGSKNS takes no argument and returns a new close-on-exec descriptor.
    let fd =
        check(unsafe { libc::ioctl(sock.as_raw_fd(), SIOCGSKNS as _) } as libc::c_long).map_err(NetError::Namespace)?;
    // SAFETY: the kernel just created this descriptor for us; nothing else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as i32) })
}

/// Brings "lo" up in the calling process's network namespace.
pub fn loopback_up() -> Result<(), Errno> {
    let sock = rustix::net::socket(rustix::net::AddressFamily::INET, rustix::net::SocketType::DGRAM, None)?;
    up(sock.as_fd())
}

/// SIOCGIFFLAGS then SIOCSIFFLAGS with IFF_UP on "lo", through the socket `sock`.
fn up(sock: BorrowedFd<'_>) -> Result<(), Errno> {
    // SAFETY: ifreq is plain old data; zeroed is a valid value.
    let mut req: libc::ifreq = unsafe { std::mem::zeroed() };
    for (dst, src) in req.ifr_name.iter_mut().zip(b"lo\0") {
        *dst = *src as libc::c_char;
    }
    // SAFETY: `req` is a valid ifreq naming the interface; the kernel fills ifru_flags.
    if unsafe { libc::ioctl(sock.as_raw_fd(), libc::SIOCGIFFLAGS as _, &mut req) } < 0 {
        return Err(Errno::from_io_error(&std::io::Error::last_os_error()).unwrap_or(Errno::IO));
    }
    // SAFETY: reading and writing the flags member of the union the kernel just filled.
    unsafe { req.ifr_ifru.ifru_flags |= libc::IFF_UP as libc::c_short };
    // SAFETY: as above; the kernel reads the name and flags.
    if unsafe { libc::ioctl(sock.as_raw_fd(), libc::SIOCSIFFLAGS as _, &req) } < 0 {
        return Err(Errno::from_io_error(&std::io::Error::last_os_error()).unwrap_or(Errno::IO));
    }
    Ok(())
}
