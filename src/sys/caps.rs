//! Capability prctls by capability number (rustix takes an enum sbx does not carry).

use super::{Errno, check};

/// prctl(PR_CAPBSET_DROP, cap).
pub fn bounding_drop(cap: u32) -> Result<(), Errno> {
    // SAFETY: prctl with integer arguments only.
    check(unsafe { libc::prctl(libc::PR_CAPBSET_DROP, cap as libc::c_ulong, 0, 0, 0) } as libc::c_long)?;
    Ok(())
}

/// prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap).
pub fn ambient_raise(cap: u32) -> Result<(), Errno> {
    // SAFETY: prctl with integer arguments only.
    check(unsafe {
        libc::prctl(libc::PR_CAP_AMBIENT, libc::PR_CAP_AMBIENT_RAISE as libc::c_ulong, cap as libc::c_ulong, 0, 0)
    } as libc::c_long)?;
    Ok(())
}
