//! Observations of the host from the test process: processes, mounts, names, capabilities.

use std::fs;
use std::time::{Duration, Instant};

/// Polls `cond` every 20 ms until it holds or `timeout` passes; returns whether it held.
pub fn wait_until(timeout: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if cond() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Host pids whose command line contains `marker` as a whole argument.
pub fn pids_with_marker(marker: &str) -> Vec<i32> {
    let mut pids = Vec::new();
    let Ok(entries) = fs::read_dir("/proc") else {
        return pids;
    };
    for e in entries.flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<i32>().ok()) else {
            continue;
        };
        let Ok(cmdline) = fs::read(format!("/proc/{pid}/cmdline")) else {
            continue;
        };
        if cmdline.split(|b| *b == 0).any(|arg| arg == marker.as_bytes()) {
            pids.push(pid);
        }
    }
    pids
}

/// Host pids of the descendants of `pid` (children, grandchildren, ...).
pub fn descendants(pid: i32) -> Vec<i32> {
    let mut links: Vec<(i32, i32)> = Vec::new(); // (child, parent)
    for name in host_ls("/proc") {
        let Ok(child) = name.parse::<i32>() else {
            continue;
        };
        let Ok(stat) = fs::read_to_string(format!("/proc/{child}/stat")) else {
            continue;
        };
        // "PID (COMM) STATE PPID ...": COMM may hold spaces and parentheses.
        let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
        if let Some(ppid) = after.split_whitespace().nth(1).and_then(|p| p.parse().ok()) {
            links.push((child, ppid));
        }
    }
    let mut found = Vec::new();
    let mut queue = vec![pid];
    while let Some(parent) = queue.pop() {
        for &(child, _) in links.iter().filter(|(_, p)| *p == parent) {
            found.push(child);
            queue.push(child);
        }
    }
    found
}

/// A field of /proc/PID/status (`Uid`, `CapEff`, `PPid`, ...), trimmed.
pub fn proc_status(pid: i32, key: &str) -> Option<String> {
    let text = fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    text.lines().find_map(|l| Some(l.strip_prefix(key)?.strip_prefix(':')?.trim().to_string()))
}

/// The number of mounts in the test process's (the host's) mount namespace.
pub fn host_mount_count() -> usize {
    fs::read_to_string("/proc/self/mountinfo").expect("read mountinfo").lines().count()
}

/// The host's hostname.
pub fn host_hostname() -> String {
    fs::read_to_string("/proc/sys/kernel/hostname").expect("read hostname").trim().to_string()
}

/// Names in a host directory, sorted.
pub fn host_ls(dir: &str) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .map(|rd| rd.flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect())
        .unwrap_or_default();
    names.sort();
    names
}

/// Bit for a capability number (CAP_CHOWN = 0, CAP_NET_BIND_SERVICE = 10, ...).
pub const fn cap(n: u32) -> u64 {
    1 << n
}

pub const CAP_CHOWN: u32 = 0;
pub const CAP_NET_BIND_SERVICE: u32 = 10;
pub const CAP_NET_RAW: u32 = 13;
pub const CAP_SYS_MODULE: u32 = 16;
pub const CAP_SYS_RAWIO: u32 = 17;
pub const CAP_MKNOD: u32 = 27;
pub const CAP_SYSLOG: u32 = 34;

/// The Landlock ABI version this kernel offers (0: none, or disabled).
pub fn landlock_abi() -> u32 {
    const LANDLOCK_CREATE_RULESET_VERSION: libc::c_uint = 1;
    // SAFETY: with a null attribute pointer, size 0 and the version flag, the call only
    // returns a number.
    let v = unsafe {
        libc::syscall(
            libc::SYS_landlock_create_ruleset,
            std::ptr::null::<u8>(),
            0usize,
            LANDLOCK_CREATE_RULESET_VERSION,
        )
    };
    u32::try_from(v).unwrap_or(0)
}
