//! /dev, /proc and /sys inside the sandbox and the directives that shape them:
//! PrivateDevices=, ProtectKernelTunables=, ProtectKernelModules=, ProtectKernelLogs=,
//! ProtectControlGroups=, ProtectProc= and ProcSubset=.
//!
//! Each treatment run is paired with a control run under the bare profile; where the host
//! decides what the control can show (its /dev, its kernel modules, its cgroupfs), the
//! control is compared with what the test or the probe sees on the host.

#[macro_use]
mod common;

use std::collections::BTreeSet;

use common::*;

/// What PrivateDevices=yes may leave in /dev (systemd: the pseudo devices, a new devpts, shm,
/// mqueue, hugepages and the std fd links; `core` and `log` are links systemd may add).
const PRIVATE_DEV_ALLOWED: &[&str] = &[
    "null",
    "zero",
    "full",
    "random",
    "urandom",
    "tty",
    "ptmx",
    "pts",
    "shm",
    "mqueue",
    "hugepages",
    "fd",
    "stdin",
    "stdout",
    "stderr",
    "core",
    "log",
];
/// What PrivateDevices=yes must provide.
const PRIVATE_DEV_REQUIRED: &[&str] =
    &["null", "zero", "full", "random", "urandom", "tty", "ptmx", "pts", "shm", "fd", "stdin", "stdout", "stderr"];

/// The mount options (`rw,nosuid,...`) of the `mount PATH` result on line `i`.
fn mount_opts(out: &Output, i: usize) -> BTreeSet<String> {
    let words = out.words(i);
    assert!(words.len() >= 4, "unexpected mount line\n{out}");
    words[2].split(',').chain(words[3].split(',')).map(str::to_string).collect()
}

fn is_read_only(out: &Output, i: usize) -> bool {
    out.words(i)[2].split(',').any(|o| o == "ro")
}

sbx_test!(private_devices_leaves_only_pseudo_devices, |ctx| {
    let ops = ["ls", "/dev", "write", "/dev/null", "read", "/dev/zero", "caps"];
    let t = ctx.probe(&["PrivateDevices=yes"], &ops);
    let dev = t.words(0);
    for name in &dev {
        assert!(PRIVATE_DEV_ALLOWED.contains(name), "/dev/{name} must not be in a private /dev\n{t}");
    }
    for name in PRIVATE_DEV_REQUIRED {
        assert!(dev.contains(name), "/dev/{name} is missing\n{t}");
    }
    t.ok(1);
    t.ok(2);
    let bounding = t.mask(3, "CapBnd");
    assert_eq!(bounding & (cap(CAP_SYS_RAWIO) | cap(CAP_MKNOD)), 0, "CAP_SYS_RAWIO and CAP_MKNOD must go\n{t}");

    let c = ctx.probe(&[], &ops);
    let host_extra: Vec<String> =
        host_ls("/dev").into_iter().filter(|n| !PRIVATE_DEV_ALLOWED.contains(&n.as_str())).collect();
    if host_extra.is_empty() {
        eprintln!("note: the host's /dev holds nothing beyond the pseudo devices");
    } else {
        assert!(
            c.words(0).iter().any(|n| host_extra.iter().any(|h| h == n)),
            "without PrivateDevices= the host's devices ({host_extra:?}) are visible\n{c}"
        );
    }
    assert_eq!(c.mask(3, "CapBnd"), ctx.default_bounding_set(), "the bare profile keeps the bounding set\n{c}");
});

sbx_test!(protect_kernel_tunables_makes_proc_sys_read_only, |ctx| {
    let ops = ["mount", "/proc/sys", "mount", "/sys"];
    let t = ctx.probe(&["ProtectKernelTunables=yes"], &ops);
    assert!(is_read_only(&t, 0), "/proc/sys must be read-only\n{t}");
    assert!(is_read_only(&t, 1), "/sys must be read-only\n{t}");
    let c = ctx.probe(&[], &ops);
    assert!(!is_read_only(&c, 0), "without the directive /proc/sys is part of a writable /proc\n{c}");

    if ctx.is_root() {
        // kernel.hostname belongs to the UTS namespace: writing it cannot touch the host once
        // ProtectHostname= has given the sandbox its own (checked first).
        let uts = ctx.probe(&["ProtectHostname=yes"], &["ns", "uts"]);
        assert_ne!(uts.line(0), ctx.direct(&["ns", "uts"]).line(0), "{uts}");
        let ops = ["write", "/proc/sys/kernel/hostname"];
        let t = ctx.probe(&["ProtectHostname=yes", "ProtectKernelTunables=yes"], &ops);
        assert_eq!(t.err(0), "EROFS", "{t}");
        let c = ctx.probe(&["ProtectHostname=yes"], &ops);
        c.ok(0);
    }
});

sbx_test!(protect_kernel_modules, |ctx| {
    let modules = if std::path::Path::new("/usr/lib/modules").is_dir() { "/usr/lib/modules" } else { "/lib/modules" };
    let ops = ["caps", "ls", modules];
    let t = ctx.probe(&["ProtectKernelModules=yes"], &ops);
    assert_eq!(t.mask(0, "CapBnd") & cap(CAP_SYS_MODULE), 0, "CAP_SYS_MODULE must go\n{t}");
    assert!(t.line(1) == "ok" || t.line(1).starts_with("err "), "{modules} must be empty or inaccessible\n{t}");
    let c = ctx.probe(&[], &ops);
    let unchanged = ctx.default_bounding_set();
    assert_eq!(c.mask(0, "CapBnd"), unchanged, "{c}");
    assert_ne!(unchanged & cap(CAP_SYS_MODULE), 0, "the bounding set lacks CAP_SYS_MODULE anyway: no control");
    if host_ls(modules).is_empty() {
        eprintln!("note: the host has no kernel modules in {modules}");
    } else {
        assert!(!c.words(1).is_empty(), "{c}");
    }
});

sbx_test!(protect_kernel_logs, |ctx| {
    let ops = ["stat", "/proc/kmsg", "stat", "/dev/kmsg", "caps", "read", "/dev/kmsg"];
    let t = ctx.probe(&["ProtectKernelLogs=yes"], &ops);
    let c = ctx.probe(&[], &ops);
    for i in 0..2 {
        let inaccessible = t.line(i).starts_with("err ") || t.field(i, "mode") == "0000";
        assert!(inaccessible, "line {i} must be inaccessible\n{t}");
        assert_ne!(c.field(i, "mode"), "0000", "{c}");
    }
    assert_eq!(t.mask(2, "CapBnd") & cap(CAP_SYSLOG), 0, "CAP_SYSLOG must go\n{t}");
    assert_eq!(c.mask(2, "CapBnd"), ctx.default_bounding_set(), "{c}");
    // Root may open a mode-0000 stand-in, but it holds no kernel messages. (/proc/kmsg is
    // not read: reading it takes the messages away from the host's syslog.)
    assert!(t.line(3) == "ok" || t.line(3).starts_with("err "), "/dev/kmsg must yield nothing\n{t}");
    if ctx.is_root() {
        assert!(!c.ok(3).is_empty(), "control: root reads kernel messages\n{c}");
    }
});

sbx_test!(protect_control_groups_makes_cgroupfs_read_only, |ctx| {
    let ops = ["mount", "/sys/fs/cgroup"];
    let t = ctx.probe(&["ProtectControlGroups=yes"], &ops);
    assert!(is_read_only(&t, 0), "/sys/fs/cgroup must be read-only\n{t}");
    // Control: the host's own mount is writable, so the read-only flag is the sandbox's doing.
    // (sbx mounts all of /sys read-only, DESIGN.md "The filesystem", so a run without the
    // directive cannot serve as the control here.)
    let host = ctx.direct(&ops);
    assert!(!is_read_only(&host, 0), "the host's cgroupfs is read-only already: no control\n{host}");
});

sbx_test!(protect_proc_invisible, |ctx| {
    let t = ctx.probe(&["ProtectProc=invisible"], &["mount", "/proc"]);
    let opts = mount_opts(&t, 0);
    assert!(opts.contains("hidepid=invisible") || opts.contains("hidepid=2"), "{t}");
    let c = ctx.probe(&[], &["mount", "/proc"]);
    assert!(!mount_opts(&c, 0).iter().any(|o| o.starts_with("hidepid=") && o != "hidepid=0"), "{c}");

    if ctx.is_root() {
        // As www-data the payload no longer sees pid 1, which runs as root.
        let ops = ["ls", "/proc"];
        let t = ctx.probe(&["ProtectProc=invisible", "User=www-data"], &ops);
        assert!(!t.words(0).contains(&"1"), "{t}");
        let c = ctx.probe(&["User=www-data"], &ops);
        assert!(c.words(0).contains(&"1"), "{c}");
    }
});

sbx_test!(proc_subset_pid, |ctx| {
    let ops = ["ls", "/proc", "mount", "/proc"];
    let t = ctx.probe(&["ProcSubset=pid"], &ops);
    for name in t.words(0) {
        let allowed = name.bytes().all(|b| b.is_ascii_digit()) || name == "self" || name == "thread-self";
        assert!(allowed, "/proc/{name} must be hidden by ProcSubset=pid\n{t}");
    }
    assert!(mount_opts(&t, 1).contains("subset=pid"), "{t}");
    let c = ctx.probe(&[], &ops);
    assert!(c.words(0).contains(&"meminfo"), "{c}");
});

// Issue 16: with a network namespace of its own the sandbox's /sys is a sysfs mounted from
// inside that namespace (as systemd mounts one for PrivateNetwork=), so /sys/class/net lists
// only the sandbox's interfaces. It stays read-only, the host's cgroup hierarchy stays
// visible read-only below it, and ProtectKernelTunables= still hides the tracing file systems.
sbx_test!(issue_16_private_network_sys_lists_only_the_sandbox_interfaces, |ctx| {
    let host = ctx.direct(&["ls", "/sys/class/net", "ls", "/sys/fs/cgroup"]);
    assert!(host.words(0).iter().any(|w| *w != "lo"), "the host has no interface but lo: no control\n{host}");
    let ops = [
        "ls",
        "/sys/class/net",
        "mount",
        "/sys",
        "ls",
        "/sys/fs/cgroup",
        "mount",
        "/sys/fs/cgroup",
        "stat",
        "/sys/kernel/tracing",
    ];
    let bare = bare_args(&ctx.bare(), &["PrivateNetwork=yes", "ProtectKernelTunables=yes"]);
    let strict = ["--profile", "strict"];
    for args in [bare.iter().map(String::as_str).collect::<Vec<_>>(), strict.to_vec()] {
        let t = ctx.run_probe(&args, &ops);
        t.assert_code(0);
        assert_eq!(t.line(0), "ok lo", "only the sandbox's loopback\n{t}");
        assert!(is_read_only(&t, 1), "/sys must be read-only\n{t}");
        assert_eq!(t.words(1)[1], "sysfs", "{t}");
        assert_eq!(t.line(2), host.line(1), "the host's cgroup hierarchy\n{t}");
        assert!(is_read_only(&t, 3), "/sys/fs/cgroup must be read-only\n{t}");
        let hidden = t.line(4).starts_with("err ") || t.field(4, "mode") == "0000";
        assert!(hidden, "ProtectKernelTunables= hides /sys/kernel/tracing\n{t}");
    }
    // Control: without a network namespace of its own the sandbox sees the host's interfaces.
    let c = ctx.probe(&[], &ops[..2]);
    assert_eq!(c.line(0), host.line(0), "{c}");
});
