//! seccomp(2) and its user-notification ioctls, and the shared page pid 1 and the payload
//! use to hand over the notification fd.

use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::sync::atomic::{AtomicU32, Ordering};

use super::{Errno, check};

/// One classic BPF instruction, laid out as the kernel's `struct sock_filter`.
pub use crate::plan::seccomp::bpf::Insn;

#[repr(C)]
struct SockFprog {
    len: u16,
    filter: *const Insn,
}

const SECCOMP_SET_MODE_FILTER: libc::c_ulong = 1;
const SECCOMP_FILTER_FLAG_NEW_LISTENER: libc::c_ulong = 1 << 3;

/// Installs a filter on the calling thread; with `listener`, returns the user-notification fd.
pub fn install(prog: &[Insn], listener: bool) -> Result<Option<OwnedFd>, Errno> {
    let fprog = SockFprog { len: prog.len() as u16, filter: prog.as_ptr() };
    let flags = if listener { SECCOMP_FILTER_FLAG_NEW_LISTENER } else { 0 };
    // SAFETY: `fprog` points at `prog`, which outlives the call; the kernel copies the program.
    let ret =
        check(unsafe { libc::syscall(libc::SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, &fprog as *const SockFprog) })?;
    // SAFETY: with NEW_LISTENER the kernel returned a new descriptor that nothing else owns.
    Ok(listener.then(|| unsafe { OwnedFd::from_raw_fd(ret as i32) }))
}

/// `struct seccomp_data`.
#[repr(C)]
#[derive(Clone, Copy, Default)]
pub struct SeccompData {
    pub nr: i32,
    pub arch: u32,
    pub instruction_pointer: u64,
    pub args: [u64; 6],
}

/// `struct seccomp_notif`.
#[repr(C)]
#[derive(Clone, Copy, Default)]
pub struct Notif {
    pub id: u64,
    pub pid: u32,
    pub flags: u32,
    pub data: SeccompData,
}

#[repr(C)]
struct NotifResp {
    id: u64,
    val: i64,
    error: i32,
    flags: u32,
}

const NOTIF_RECV: libc::c_ulong = 0xc050_2100;
const NOTIF_SEND: libc::c_ulong = 0xc018_2101;
const USER_NOTIF_FLAG_CONTINUE: u32 = 1;

/// Receives one notification (blocks until one is pending).
pub fn notif_recv(fd: BorrowedFd<'_>) -> Result<Notif, Errno> {
    let mut n = Notif::default();
    // SAFETY: `n` is a zeroed seccomp_notif the kernel fills; the request size matches it.
    check(unsafe { libc::ioctl(fd.as_raw_fd(), NOTIF_RECV as _, &mut n as *mut Notif) } as libc::c_long)?;
    Ok(n)
}

/// Answers a notification: `Some(errno)` fails the call, `None` lets it run.
pub fn notif_send(fd: BorrowedFd<'_>, id: u64, error: Option<u16>) -> Result<(), Errno> {
    let resp = match error {
        Some(e) => NotifResp { id, val: 0, error: -i32::from(e), flags: 0 },
        None => NotifResp { id, val: 0, error: 0, flags: USER_NOTIF_FLAG_CONTINUE },
    };
    // SAFETY: `resp` is a valid seccomp_notif_resp the kernel only reads.
    check(unsafe { libc::ioctl(fd.as_raw_fd(), NOTIF_SEND as _, &resp as *const NotifResp) } as libc::c_long)?;
    Ok(())
}

/// A page shared between pid 1 and the payload across fork, for the listener hand-over:
/// word 0 is the state, word 1 the payload's listener fd number.
pub struct SharedPage {
    words: *const AtomicU32,
}

impl SharedPage {
    pub fn new() -> Result<SharedPage, Errno> {
        use rustix::mm::{MapFlags, ProtFlags};
        // SAFETY: a fresh anonymous shared mapping at an address the kernel chooses; nothing
        // else refers to it, and it stays mapped for the life of the process (never unmapped).
        let p = unsafe {
            rustix::mm::mmap_anonymous(
                std::ptr::null_mut(),
                4096,
                ProtFlags::READ | ProtFlags::WRITE,
                MapFlags::SHARED,
            )?
        };
        Ok(SharedPage { words: p as *const AtomicU32 })
    }

    fn word(&self, i: usize) -> &AtomicU32 {
        // SAFETY: the mapping is 4096 bytes, zero-filled, aligned, never unmapped; AtomicU32
        // has the layout of u32 and every bit pattern is valid.
        unsafe { &*self.words.add(i) }
    }

    pub fn state(&self) -> u32 {
        self.word(0).load(Ordering::SeqCst)
    }

    pub fn set_state(&self, v: u32) {
        self.word(0).store(v, Ordering::SeqCst);
        let _ = rustix::thread::futex::wake(self.word(0), rustix::thread::futex::Flags::empty(), u32::MAX);
    }

    pub fn fd(&self) -> u32 {
        self.word(1).load(Ordering::SeqCst)
    }

    pub fn set_fd(&self, fd: u32) {
        self.word(1).store(fd, Ordering::SeqCst);
    }

    /// Waits while the state is `v`, at most `ms` milliseconds.
    pub fn wait_while(&self, v: u32, ms: u32) {
        let t = futex_timeout(ms);
        let _ = rustix::thread::futex::wait(self.word(0), rustix::thread::futex::Flags::empty(), v, Some(&t));
    }
}

/// `ms` milliseconds as a futex timeout. tv_nsec must stay below one second: the kernel
/// refuses the wait (EINVAL) otherwise, and a waiting loop would spin instead of sleeping.
fn futex_timeout(ms: u32) -> rustix::thread::futex::Timespec {
    rustix::thread::futex::Timespec { tv_sec: i64::from(ms / 1000), tv_nsec: i64::from(ms % 1000) * 1_000_000 }
}

/// prctl(PR_SET_MDWE, PR_MDWE_REFUSE_EXEC_GAIN): no memory may gain execute permission.
pub fn memory_deny_write_execute() -> Result<(), Errno> {
    // SAFETY: prctl with integer arguments only.
    check(unsafe { libc::prctl(65, 1 as libc::c_ulong, 0 as libc::c_ulong, 0 as libc::c_ulong, 0 as libc::c_ulong) }
        as libc::c_long)?;
    Ok(())
}

const KEYCTL_JOIN_SESSION_KEYRING: libc::c_long = 1;
const KEYCTL_LINK: libc::c_long = 8;
const KEY_SPEC_USER_KEYRING: libc::c_long = -4;
const KEY_SPEC_SESSION_KEYRING: libc::c_long = -3;

/// keyctl(KEYCTL_JOIN_SESSION_KEYRING, NULL): a new anonymous session keyring.
pub fn join_new_session_keyring() -> Result<(), Errno> {
    // SAFETY: a null name asks for an anonymous keyring; no memory is passed.
    check(unsafe { libc::syscall(libc::SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, std::ptr::null::<libc::c_char>()) })?;
    Ok(())
}

/// keyctl(KEYCTL_LINK, user keyring, session keyring).
pub fn link_user_keyring() -> Result<(), Errno> {
    // SAFETY: integer arguments only.
    check(unsafe { libc::syscall(libc::SYS_keyctl, KEYCTL_LINK, KEY_SPEC_USER_KEYRING, KEY_SPEC_SESSION_KEYRING) })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn futex_timeouts_keep_nanoseconds_below_a_second() {
        for (ms, sec, nsec) in [(1000, 1, 0), (50, 0, 50_000_000), (1500, 1, 500_000_000), (0, 0, 0)] {
            let t = futex_timeout(ms);
            assert_eq!((t.tv_sec, t.tv_nsec), (sec, nsec), "{ms} ms");
        }
    }

    /// A wait nobody ends sleeps (the kernel took the timeout) instead of failing at once.
    #[test]
    fn an_unanswered_wait_sleeps() {
        let page = SharedPage::new().unwrap();
        let start = std::time::Instant::now();
        page.wait_while(0, 1000);
        assert!(start.elapsed() >= std::time::Duration::from_millis(900), "{:?}", start.elapsed());
    }
}
