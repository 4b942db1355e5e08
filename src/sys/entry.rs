//! The process entry point: `main` as the C library calls it, in place of Rust's start-up.
//!
//! Rust's own start-up locates the main thread's stack guard by reading /proc/self/maps and
//! installs stack-overflow handlers on an alternate signal stack: 16 system calls and a
//! parse of the maps text before sbx's first instruction, on every start of a sandbox. sbx
//! keeps the two parts of it that it relies on: the standard descriptors are open (on
//! /dev/null when closed, so that no file sbx opens becomes its stdout or stderr), and
//! SIGPIPE is ignored (a closed pipe is an EPIPE error, not a silent death). A stack
//! overflow still ends the process with SIGSEGV, only without Rust's message.
//!
//! Invariant: runs once, single-threaded, before any other code of sbx.

use std::ffi::{c_char, c_int};

/// Called by the C library's start-up code with the process's arguments (which Rust's
/// standard library has already taken from the same start-up, for `std::env::args`).
#[unsafe(no_mangle)]
// SAFETY: the binary defines no other `main` (the crate is `no_main` outside tests), and the
// C library calls this with the process's argc and argv, which are not used here.
extern "C" fn main(_argc: c_int, _argv: *const *const c_char) -> c_int {
    standard_descriptors_open();
    ignore_sigpipe();
    crate::run()
}

/// Opens /dev/null on any of descriptors 0, 1 and 2 that is closed; aborts if it cannot.
fn standard_descriptors_open() {
    let mut fds = [0, 1, 2].map(|fd| libc::pollfd { fd, events: 0, revents: 0 });
    // SAFETY: `fds` is a valid array of three pollfd that lives across the call; a zero
    // timeout returns at once.
    let ret = unsafe { libc::poll(fds.as_mut_ptr(), 3, 0) };
    for p in &fds {
        let closed = if ret < 0 {
            // SAFETY: F_GETFD on a plain integer descriptor reads no memory.
            let flags = unsafe { libc::fcntl(p.fd, libc::F_GETFD) };
            flags == -1
        } else {
            p.revents & libc::POLLNVAL != 0
        };
        if closed {
            // SAFETY: a static C string; the lowest free descriptor is the closed one.
            let fd = unsafe { libc::open(c"/dev/null".as_ptr(), libc::O_RDWR) };
            if fd != p.fd {
                std::process::abort();
            }
        }
    }
}

fn ignore_sigpipe() {
    // SAFETY: SIG_IGN needs no handler code; SIGPIPE is a valid signal.
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_IGN) };
}
