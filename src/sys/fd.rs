//! close_range(2), which rustix lacks.

use super::{Errno, check};

/// Marks every descriptor from `first` up close-on-exec (CLOSE_RANGE_CLOEXEC), so the
/// payload inherits only what is below `first` while failure reports can still be written.
pub fn cloexec_from(first: u32) -> Result<(), Errno> {
    // SAFETY: close_range takes plain integers and only changes descriptor flags.
    check(unsafe { libc::syscall(libc::SYS_close_range, first, u32::MAX, libc::CLOSE_RANGE_CLOEXEC) })?;
    Ok(())
}

/// dup2(2) without the close-on-exec flag on the new descriptor.
pub fn dup2(old: i32, new: i32) -> Result<(), Errno> {
    // SAFETY: dup2 takes plain integers; the caller owns both descriptor numbers.
    check(unsafe { libc::dup2(old, new) } as libc::c_long)?;
    Ok(())
}
