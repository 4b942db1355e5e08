//! The syscall filter, from inside real sandboxes: SystemCallFilter= (allow-list, deny-list,
//! `name:errno`, how later assignments add and remove), SystemCallErrorNumber=,
//! SystemCallLog=, SystemCallArchitectures=, and the directives whose syscall half sbx applies
//! as systemd does: RestrictNamespaces=, RestrictAddressFamilies=, MemoryDenyWriteExecute=,
//! RestrictRealtime=, RestrictSUIDSGID=, LockPersonality=, ProtectClock=,
//! ProtectKernelModules=, ProtectKernelLogs=, PrivateDevices=, ProtectHostname=; the refusal
//! of TIOCSTI and TIOCLINUX in every sandbox; real programs under `@system-service` and the
//! `strict` profile; the plan-time errors of the family.
//!
//! A refused call either kills the process (sbx exits 159, 128+SIGSYS, and names the call and
//! the directive) or fails with an errno. Each treatment has a control run without the
//! directive in which the same call is allowed. Where the control's errno could equal the
//! treatment's (EPERM from a missing capability, rootless), the treatment runs with
//! `--log-refused` and must name the call and the directive on stderr, and the control must
//! not: that tells the filter's refusal from the kernel's.
//!
//! The calls are chosen so that a control can never change the host: the clock is "set" with
//! an out-of-range value (EINVAL before any privilege check), the host name with a name one
//! byte too long, modules are loaded from an invalid descriptor, a realtime policy is taken in
//! a child that exits at once, TIOCSTI only ever targets a pseudo-terminal the probe creates.

#[macro_use]
mod common;

use std::fs;
use std::path::Path;

use common::*;

/// sbx's exit status when the filter killed the payload.
const KILLED: i32 = 128 + libc::SIGSYS;

/// `FLAGS... --profile BARE -p DIRECTIVE...`
fn args(ctx: &Ctx, flags: &[&str], directives: &[&str]) -> Vec<String> {
    let mut a: Vec<String> = flags.iter().map(|f| f.to_string()).collect();
    a.extend(bare_args(&ctx.bare(), directives));
    a
}

/// The probe under the bare profile plus `directives`, with `--log-refused`; exit status 0.
fn logged(ctx: &Ctx, directives: &[&str], ops: &[&str]) -> Output {
    let out = ctx.run_probe(&args(ctx, &["--log-refused"], directives), ops);
    out.assert_code(0);
    out
}

/// The probe under the bare profile plus `directives`, which must kill it: status 159.
fn killed(ctx: &Ctx, directives: &[&str], ops: &[&str]) -> Output {
    let out = ctx.run_probe(&bare_args(&ctx.bare(), directives), ops);
    out.assert_code(KILLED);
    out
}

/// Probe operations written as one line.
fn words(line: &str) -> Vec<&str> {
    line.split_whitespace().collect()
}

/// A syscall number as the probe's `syscall` operation takes it.
fn nr(n: libc::c_long) -> String {
    n.to_string()
}

/// The `--log-refused` line for an errno refusal of `call` by `by` (e.g. `ProtectClock=`).
fn refusal(call: &str, n: libc::c_long, errno: &str, by: &str) -> String {
    format!("sbx: probe: {call}(2) (number {n}) failed with {errno} by {by}")
}

fn assert_reported(out: &Output, needle: &str) {
    assert!(out.stderr.contains(needle), "stderr must say {needle:?}\n{out}");
}

fn assert_not_reported(out: &Output, call: &str) {
    assert!(!out.stderr.contains(&format!("{call}(2)")), "nothing may report {call}(2) here\n{out}");
}

fn kernel_at_least(major: u32, minor: u32) -> bool {
    let release = fs::read_to_string("/proc/sys/kernel/osrelease").expect("read osrelease");
    let mut parts = release.trim().split(['.', '-']).map(|p| p.parse::<u32>().unwrap_or(0));
    (parts.next().unwrap_or(0), parts.next().unwrap_or(0)) >= (major, minor)
}

fn read_sysctl(path: &str) -> Option<String> {
    fs::read_to_string(path).ok().map(|s| s.trim().to_string())
}

// ---------------------------------------------------------------------------------------------
// SystemCallFilter=, SystemCallErrorNumber=, SystemCallLog=

sbx_test!(allow_list_kills_a_call_outside_it_and_names_it, |ctx| {
    let text = "[Service]\n# only what a service needs\nSystemCallFilter=@system-service\n";
    let profile = ctx.profile("service.conf", text);
    let mount = nr(libc::SYS_mount);
    let ops = ["pid", "syscall", &mount, "0,0,0,0,0", "pid"];
    let t = ctx.run_probe(&["--profile", &profile], &ops);
    t.assert_code(KILLED);
    assert_eq!(t.lines(), ["ok 2"], "the payload dies at the refused call\n{t}");
    assert_reported(
        &t,
        &format!(
            "sbx: probe: mount(2) (number {mount}) was refused by SystemCallFilter= (not in its allow-list, {profile}:3); add SystemCallFilter=@mount to allow it"
        ),
    );
    // Control: without the filter mount(2) runs (and fails on its NULL arguments).
    let c = ctx.probe(&[], &ops);
    assert!(c.line(1).starts_with("err E"), "{c}");
    assert_eq!(c.ok(2), "2", "{c}");
    assert_not_reported(&c, "mount");
});

sbx_test!(deny_list_kills_a_listed_call, |ctx| {
    let mount = nr(libc::SYS_mount);
    let reboot = nr(libc::SYS_reboot);
    let line = format!("syscall {reboot} 0,0,0,0 syscall {mount} 0,0,0,0,0 pid");
    let ops = words(&line);
    let t = killed(ctx, &["SystemCallFilter=~@mount"], &ops);
    assert!(t.line(0).starts_with("err E"), "a call not in the deny-list runs\n{t}");
    assert_eq!(t.lines().len(), 1, "the payload dies at mount(2)\n{t}");
    assert_reported(
        &t,
        &format!(
            "sbx: probe: mount(2) (number {mount}) was refused by SystemCallFilter=~@mount, -p #1; add SystemCallFilter=mount after that line to allow it"
        ),
    );
    let c = ctx.probe(&["SystemCallFilter=~@swap"], &["syscall", &mount, "0,0,0,0,0", "pid"]);
    assert!(c.line(0).starts_with("err E"), "{c}");
    assert_not_reported(&c, "mount");
});

sbx_test!(a_kill_takes_only_the_process_that_made_the_call, |ctx| {
    // The payload's child makes the refused call: the child dies, the payload carries on,
    // sbx reports the refusal and exits with the payload's own status (159 is for a payload
    // that the filter itself killed).
    let mount = nr(libc::SYS_mount);
    let ops = ["child-syscall", &mount, "0,0,0,0,0", "pid"];
    let t = ctx.run_probe(&bare_args(&ctx.bare(), &["SystemCallFilter=~@mount"]), &ops);
    t.assert_code(0);
    assert!(["err SIGSYS", "err SIGKILL"].contains(&t.line(0)), "the child is killed\n{t}");
    assert_eq!(t.ok(1), "2", "the payload itself goes on\n{t}");
    assert_reported(&t, &format!("mount(2) (number {mount}) was refused by SystemCallFilter=~@mount"));
    let c = ctx.probe(&[], &ops);
    assert!(c.line(0).starts_with("err E"), "control: the child lives to see its errno\n{c}");
});

sbx_test!(errno_entries_fail_the_call_and_the_program_goes_on, |ctx| {
    let mount = nr(libc::SYS_mount);
    let umount = nr(libc::SYS_umount2);
    let ops = ["syscall", &mount, "0,0,0,0,0", "syscall", &umount, "buf,0", "pid"];
    // `name:errno` in a deny-list.
    let t = ctx.probe(&["SystemCallFilter=~mount:EPERM"], &ops);
    assert_eq!(t.err(0), "EPERM", "{t}");
    assert_ne!(t.line(1), "err EPERM", "only mount(2) is listed\n{t}");
    assert_eq!(t.ok(2), "2", "{t}");
    assert!(t.stderr.is_empty(), "errno refusals are quiet without --log-refused\n{t}");
    let t = logged(ctx, &["SystemCallFilter=~mount:EPERM"], &ops);
    assert_reported(&t, &format!("{}, -p #1", refusal("mount", libc::SYS_mount, "EPERM", "SystemCallFilter=~mount")));
    // SystemCallErrorNumber= turns every kill of the filter into that errno.
    let t = logged(ctx, &["SystemCallFilter=~@mount", "SystemCallErrorNumber=EPERM"], &ops);
    assert_eq!(t.err(0), "EPERM", "{t}");
    assert_eq!(t.err(1), "EPERM", "{t}");
    assert_eq!(t.ok(2), "2", "{t}");
    assert_reported(&t, &format!("{}, -p #1", refusal("mount", libc::SYS_mount, "EPERM", "SystemCallFilter=~@mount")));
    assert_reported(&t, &refusal("umount2", libc::SYS_umount2, "EPERM", "SystemCallFilter=~@mount"));
    // ... also in an allow-list.
    let t = ctx.probe(&["SystemCallFilter=@system-service", "SystemCallErrorNumber=EPERM"], &ops);
    assert_eq!(t.err(0), "EPERM", "{t}");
    assert_eq!(t.ok(2), "2", "{t}");
    // Control: neither call fails with EPERM here (as root they reach the kernel's own checks
    // of their NULL arguments; rootless EPERM would be the kernel's, so look at stderr).
    let c = logged(ctx, &[], &ops);
    if ctx.is_root() {
        assert_ne!(c.line(0), "err EPERM", "{c}");
        assert_ne!(c.line(1), "err EPERM", "{c}");
    }
    assert_not_reported(&c, "mount");
    assert_not_reported(&c, "umount2");
});

sbx_test!(later_assignments_add_and_remove_as_in_systemd, |ctx| {
    let mount = nr(libc::SYS_mount);
    let umount = nr(libc::SYS_umount2);
    let reboot = nr(libc::SYS_reboot);
    // Allow-list first: a later `~name` removes the name from it.
    let t = killed(ctx, &["SystemCallFilter=@system-service", "SystemCallFilter=~uname"], &["pid", "hostname", "pid"]);
    assert_eq!(t.lines(), ["ok 2"], "{t}");
    assert_reported(&t, &format!("uname(2) (number {}) was refused", libc::SYS_uname));
    let c = ctx.probe(&["SystemCallFilter=@system-service"], &["pid", "hostname", "pid"]);
    c.ok(1);
    // Deny-list first: a later plain assignment removes names from the deny-list and does
    // not turn it into an allow-list (reboot(2), in no allowed group, still runs).
    let directives = ["SystemCallFilter=~@mount", "SystemCallFilter=mount @system-service"];
    let ops = ["syscall", &reboot, "0,0,0,0", "syscall", &mount, "0,0,0,0,0", "syscall", &umount, "buf,0", "pid"];
    let t = killed(ctx, &directives, &ops);
    assert!(t.line(0).starts_with("err E"), "{t}");
    assert!(t.line(1).starts_with("err E"), "mount(2) was taken off the deny-list\n{t}");
    assert_eq!(t.lines().len(), 2, "umount2(2) is still on it\n{t}");
    assert_reported(&t, &format!("umount2(2) (number {umount}) was refused by SystemCallFilter=~@mount"));
    // An empty assignment resets the filter.
    let c = ctx.probe(&["SystemCallFilter=~@mount", "SystemCallFilter="], &ops);
    assert_eq!(c.ok(3), "2", "{c}");
    assert_not_reported(&c, "umount2");
});

sbx_test!(refusal_names_the_assignment_that_removed_the_call, |ctx| {
    // `@system-service` (-p #1) allows uname(2); `~uname` (-p #2) takes it away again. The
    // message must point at the second assignment, not at the allow-list that did allow it.
    let t = killed(ctx, &["SystemCallFilter=@system-service", "SystemCallFilter=~uname"], &["hostname"]);
    assert_reported(&t, &format!("uname(2) (number {}) was refused", libc::SYS_uname));
    assert_reported(&t, "-p #2");
    assert!(!t.stderr.contains("add SystemCallFilter=@system-service"), "@system-service is already there\n{t}");
});

sbx_test!(system_call_log_reports_and_allows, |ctx| {
    let t = ctx.probe(&["SystemCallLog=uname"], &["hostname", "pid"]);
    let host = ctx.direct(&["hostname"]);
    assert_eq!(t.line(0), host.line(0), "the call runs\n{t}");
    assert_eq!(t.ok(1), "2", "{t}");
    assert_reported(&t, &format!("sbx: probe: uname(2) (number {}) was called (SystemCallLog=)", libc::SYS_uname));
    let c = ctx.probe(&[], &["hostname", "pid"]);
    assert_not_reported(&c, "uname");
});

// ---------------------------------------------------------------------------------------------
// SystemCallArchitectures=

#[cfg(target_arch = "x86_64")]
sbx_test!(native_architecture_kills_i386_and_x32_calls, |ctx| {
    // getpid through `int 0x80` (i386 number 20) and through the x32 ABI (bit 30 | 39).
    let i386 = ["pid", "int80", "20", "-", "pid"];
    let x32 = ["pid", "syscall", "0x40000027", "-", "pid"];
    let t = killed(ctx, &["SystemCallArchitectures=native"], &i386);
    assert_eq!(t.lines(), ["ok 2"], "{t}");
    assert_reported(&t, "sbx: probe: a system call of another ABI (i386 or x32, number 20) was refused");
    let t = killed(ctx, &["SystemCallArchitectures=native"], &x32);
    assert_eq!(t.lines(), ["ok 2"], "{t}");
    // Controls on the host, outside any filter: the i386 call works (IA-32 emulation); the
    // x32 one works or, without CONFIG_X86_X32_ABI, is ENOSYS; neither kills.
    let c = ctx.direct(&i386);
    assert_eq!(c.ok(1), c.ok(0), "getpid through int 0x80\n{c}");
    let c = ctx.direct(&x32);
    assert!(c.line(1) == format!("ok {}", c.ok(0)) || c.line(1) == "err ENOSYS", "{c}");
    assert_eq!(c.ok(2), c.ok(0), "{c}");
});

#[cfg(target_arch = "x86_64")]
sbx_test!(x32_refusal_is_named_as_another_abi, |ctx| {
    let t = killed(ctx, &["SystemCallArchitectures=native"], &["syscall", "0x40000027", "-"]);
    assert_reported(&t, "a system call of another ABI");
    assert!(!t.stderr.contains("unknown(2)"), "{t}");
});

// ---------------------------------------------------------------------------------------------
// RestrictNamespaces=, RestrictAddressFamilies=

sbx_test!(restrict_namespaces, |ctx| {
    // User=root: the payload holds every capability in its user namespace (rootless) or on
    // the host (root), so only the filter can refuse a namespace.
    let setns = nr(libc::SYS_setns);
    let clone3 = nr(libc::SYS_clone3);
    // setns(-1, 0 | CLONE_NEWUTS | CLONE_NEWUSER), clone3(NULL, 0)
    let line = format!(
        "unshare USER unshare NET unshare UTS unshare USER|UTS clone-flags USER clone-flags UTS \
         syscall {setns} -1,0 syscall {setns} -1,0x4000000 syscall {setns} -1,0x10000000 syscall {clone3} 0,0"
    );
    let ops = words(&line);
    let c = ctx.probe(&["User=root"], &ops);
    for i in 0..6 {
        c.ok(i);
    }
    for i in 6..9 {
        assert_eq!(c.err(i), "EBADF", "setns reaches the kernel\n{c}");
    }
    assert_eq!(c.err(9), "EINVAL", "clone3 reaches the kernel\n{c}");

    let t = ctx.probe(&["User=root", "RestrictNamespaces=yes"], &ops);
    for i in 0..9 {
        assert_eq!(t.err(i), "EPERM", "line {i}\n{t}");
    }
    assert_eq!(t.err(9), "ENOSYS", "clone3 cannot be judged by its flags: ENOSYS, so callers fall back to clone\n{t}");

    let t = ctx.probe(&["User=root", "RestrictNamespaces=~user"], &ops);
    let want =
        ["err EPERM", "ok", "ok", "err EPERM", "err EPERM", "ok", "err EPERM", "err EBADF", "err EPERM", "err ENOSYS"];
    assert_eq!(t.lines(), want, "only user namespaces are refused\n{t}");
});

sbx_test!(restrict_address_families, |ctx| {
    let ops = words("socket AF_UNIX STREAM socket AF_INET STREAM socket AF_INET6 STREAM socket AF_NETLINK RAW");
    let c = ctx.probe(&[], &ops);
    assert_eq!(c.lines(), ["ok", "ok", "ok", "ok"], "{c}");
    let t = ctx.probe(&["RestrictAddressFamilies=AF_UNIX AF_INET"], &ops);
    assert_eq!(t.lines(), ["ok", "ok", "err EAFNOSUPPORT", "err EAFNOSUPPORT"], "{t}");
    let t = ctx.probe(&["RestrictAddressFamilies=~AF_INET6"], &ops);
    assert_eq!(t.lines(), ["ok", "ok", "err EAFNOSUPPORT", "ok"], "{t}");
    let t = ctx.probe(&["RestrictAddressFamilies=none"], &ops);
    assert_eq!(t.lines(), ["err EAFNOSUPPORT"; 4], "{t}");
});

// ---------------------------------------------------------------------------------------------
// MemoryDenyWriteExecute=, RestrictRealtime=, RestrictSUIDSGID=, LockPersonality=

sbx_test!(memory_deny_write_execute, |ctx| {
    let ops = ["mmap-wx", "mprotect-x", "mmap-rx"];
    // With PR_SET_MDWE (Linux 6.3) the kernel itself refuses, with EACCES; the seccomp
    // fallback of older kernels answers EPERM, as systemd's does.
    let errno = if kernel_at_least(6, 3) { "EACCES" } else { "EPERM" };
    let t = ctx.probe(&["MemoryDenyWriteExecute=yes"], &ops);
    assert_eq!(t.err(0), errno, "a writable and executable mapping\n{t}");
    assert_eq!(t.err(1), errno, "making a writable mapping executable\n{t}");
    t.ok(2);
    let c = ctx.probe(&["MemoryDenyWriteExecute=no"], &ops);
    assert_eq!(c.lines(), ["ok", "ok", "ok"], "{c}");
});

sbx_test!(restrict_realtime, |ctx| {
    let ops = ["sched", "FIFO", "sched", "RR", "sched", "BATCH", "sched", "IDLE", "sched", "OTHER"];
    let t = logged(ctx, &["RestrictRealtime=yes"], &ops);
    assert_eq!(t.lines(), ["err EPERM", "err EPERM", "ok", "ok", "ok"], "{t}");
    let n = libc::SYS_sched_setscheduler;
    assert_reported(&t, &refusal("sched_setscheduler", n, "EPERM", "RestrictRealtime="));
    let c = logged(ctx, &["RestrictRealtime=no"], &ops);
    if ctx.is_root() {
        assert_eq!(c.lines(), ["ok"; 5], "root may take a realtime policy\n{c}");
    } else {
        // Without CAP_SYS_NICE the kernel refuses realtime policies itself.
        assert_eq!(c.lines()[2..], ["ok"; 3], "{c}");
    }
    assert_not_reported(&c, "sched_setscheduler");
});

sbx_test!(restrict_suid_sgid, |ctx| {
    let run = |directive: &str, dir: &str| {
        let d = ctx.mkdir(dir);
        let f = format!("{d}/file");
        let (sub, sgid_dir, suid_new, plain_new) =
            (format!("{d}/plain"), format!("{d}/sgid"), format!("{d}/suid-new"), format!("{d}/plain-new"));
        let line = format!(
            "write {f} chmod {f} 4755 chmod {f} 2755 fchmod {f} 6755 chmod {f} 0755 mkdir-mode {sgid_dir} 2755 \
             mkdir-mode {sub} 0755 open-creat {suid_new} 4755 open-creat {plain_new} 0644"
        );
        let ops = words(&line);
        (ctx.probe(&[directive], &ops), suid_new, sgid_dir)
    };
    let (t, suid_new, sgid_dir) = run("RestrictSUIDSGID=yes", "t");
    let want = ["ok", "err EPERM", "err EPERM", "err EPERM", "ok 0755", "err EPERM", "ok 0755", "err EPERM", "ok 0644"];
    assert_eq!(t.lines(), want, "{t}");
    assert!(!Path::new(&suid_new).exists() && !Path::new(&sgid_dir).exists(), "{t}");
    let (c, _, _) = run("RestrictSUIDSGID=no", "c");
    // mkdir(2) runs, though Linux drops S_ISGID from its mode argument (a directory gets the
    // bit only from its parent); systemd refuses the request all the same.
    let want = ["ok", "ok 4755", "ok 2755", "ok 6755", "ok 0755", "ok 0755", "ok 0755", "ok 4755", "ok 0644"];
    assert_eq!(c.lines(), want, "{c}");
});

sbx_test!(lock_personality, |ctx| {
    // PER_LINUX32 (0x0008), then back to PER_LINUX; each line shows the previous persona.
    let ops = ["personality", "0x0008", "personality", "0"];
    let t = ctx.probe(&["LockPersonality=yes"], &ops);
    assert_eq!(t.err(0), "EPERM", "{t}");
    assert_eq!(t.ok(1), "0x0", "setting the current persona again is allowed\n{t}");
    let c = ctx.probe(&["LockPersonality=no"], &ops);
    assert_eq!(c.lines(), ["ok 0x0", "ok 0x8"], "{c}");
});

// ---------------------------------------------------------------------------------------------
// The syscall halves of ProtectClock=, ProtectKernelModules=, ProtectKernelLogs=,
// PrivateDevices=, ProtectHostname=

sbx_test!(protect_clock, |ctx| {
    // The "set" calls carry an out-of-range value: the kernel answers EINVAL before it checks
    // privileges and sets nothing, so only the filter can answer EPERM.
    let gettime = nr(libc::SYS_clock_gettime);
    let ops = ["clock-settime-invalid", "settimeofday-invalid", "adjtimex", "syscall", &gettime, "0,buf"];
    let t = logged(ctx, &["ProtectClock=yes"], &ops);
    assert_eq!(t.err(0), "EPERM", "{t}");
    assert_eq!(t.err(1), "EPERM", "{t}");
    // systemd refuses the whole @clock group, read-only adjtimex(2) included.
    assert_eq!(t.err(2), "EPERM", "{t}");
    assert_eq!(t.ok(3), "0", "reading the clock stays allowed\n{t}");
    assert_reported(&t, &refusal("clock_settime", libc::SYS_clock_settime, "EPERM", "ProtectClock="));
    assert_reported(&t, &refusal("settimeofday", libc::SYS_settimeofday, "EPERM", "ProtectClock="));
    let c = logged(ctx, &["ProtectClock=no"], &ops);
    assert_eq!(c.err(0), "EINVAL", "{c}");
    assert_eq!(c.err(1), "EINVAL", "{c}");
    c.ok(2);
    assert_eq!(c.ok(3), "0", "{c}");
    assert_not_reported(&c, "clock_settime");
});

sbx_test!(protect_kernel_modules, |ctx| {
    let finit = nr(libc::SYS_finit_module);
    let init = nr(libc::SYS_init_module);
    let ops = ["syscall", &finit, "-1,buf,0", "syscall", &init, "buf,0,buf"];
    let t = logged(ctx, &["ProtectKernelModules=yes"], &ops);
    assert_eq!(t.lines(), ["err EPERM", "err EPERM"], "{t}");
    assert_reported(&t, &refusal("finit_module", libc::SYS_finit_module, "EPERM", "ProtectKernelModules="));
    assert_reported(&t, &refusal("init_module", libc::SYS_init_module, "EPERM", "ProtectKernelModules="));
    // Control: an invalid descriptor (EBADF; ENOSYS without CONFIG_MODULES). Rootless the
    // kernel may answer EPERM for want of CAP_SYS_MODULE: then only stderr tells.
    let c = logged(ctx, &["ProtectKernelModules=no"], &ops);
    if ctx.is_root() {
        assert!(["err EBADF", "err ENOSYS"].contains(&c.line(0)), "{c}");
    }
    assert_not_reported(&c, "finit_module");
    assert_not_reported(&c, "init_module");
});

sbx_test!(protect_kernel_logs, |ctx| {
    let ops = ["syslog", "10"]; // SYSLOG_ACTION_SIZE_BUFFER
    let t = logged(ctx, &["ProtectKernelLogs=yes"], &ops);
    assert_eq!(t.err(0), "EPERM", "{t}");
    assert_reported(&t, &refusal("syslog", libc::SYS_syslog, "EPERM", "ProtectKernelLogs="));
    let c = logged(ctx, &["ProtectKernelLogs=no"], &ops);
    // kernel.dmesg_restrict=1 keeps the log from callers without CAP_SYSLOG.
    let restricted = read_sysctl("/proc/sys/kernel/dmesg_restrict").as_deref() == Some("1");
    if ctx.is_root() || !restricted {
        c.ok(0);
    } else {
        assert_eq!(c.err(0), "EPERM", "{c}");
    }
    assert_not_reported(&c, "syslog");
});

#[cfg(target_arch = "x86_64")]
sbx_test!(private_devices_refuses_port_io, |ctx| {
    // ioperm(0x80, 1, off) needs no privilege and iopl(4) is out of range: the kernel answers
    // ok/EINVAL (or ENOSYS without CONFIG_X86_IOPL_IOPERM), never EPERM.
    let ops = ["syscall", &nr(libc::SYS_ioperm), "0x80,1,0", "syscall", &nr(libc::SYS_iopl), "4"];
    let t = logged(ctx, &["PrivateDevices=yes"], &ops);
    assert_eq!(t.lines(), ["err EPERM", "err EPERM"], "{t}");
    assert_reported(&t, &refusal("ioperm", libc::SYS_ioperm, "EPERM", "PrivateDevices="));
    assert_reported(&t, &refusal("iopl", libc::SYS_iopl, "EPERM", "PrivateDevices="));
    let c = logged(ctx, &["PrivateDevices=no"], &ops);
    assert!(["ok 0", "err ENOSYS"].contains(&c.line(0)), "{c}");
    assert!(["err EINVAL", "err ENOSYS"].contains(&c.line(1)), "{c}");
});

sbx_test!(protect_hostname_refuses_sethostname, |ctx| {
    // A name one byte longer than the kernel takes: EINVAL once the privilege check passed,
    // so nothing is ever renamed.
    let ops = ["syscall", &nr(libc::SYS_sethostname), "buf,65", "hostname"];
    let host = ctx.direct(&["hostname"]);
    let t = logged(ctx, &["ProtectHostname=yes"], &ops);
    assert_eq!(t.err(0), "EPERM", "{t}");
    assert_eq!(t.line(1), host.line(0), "{t}");
    assert_reported(&t, &refusal("sethostname", libc::SYS_sethostname, "EPERM", "ProtectHostname="));
    let c = logged(ctx, &["ProtectHostname=no"], &ops);
    if ctx.is_root() {
        assert_eq!(c.err(0), "EINVAL", "{c}");
    }
    assert_not_reported(&c, "sethostname");
    assert_eq!(host_hostname(), host.ok(0), "the host's name is unchanged");
});

// ---------------------------------------------------------------------------------------------
// Terminal injection

/// TIOCSTI, with high bits set in the 64-bit request, TIOCLINUX likewise.
const TIOCSTI: &str = "0x5412";
const TIOCSTI_HIGH: &str = "0x100005412";
const TIOCLINUX: &str = "0x541C";
const TIOCLINUX_HIGH: &str = "0x10000541C";
/// FIONREAD, harmless: shows the terminal itself works.
const FIONREAD: &str = "0x541B";

sbx_test!(tiocsti_is_refused_in_every_sandbox, |ctx| {
    // The probe makes a new pseudo-terminal its child's controlling terminal and pushes a
    // byte into its input. On the host that works (with CAP_SYS_ADMIN, or on one's own
    // controlling terminal while dev.tty.legacy_tiocsti=1; EIO otherwise).
    let line = format!(
        "pty-ioctl native {TIOCSTI} pty-ioctl native {TIOCSTI_HIGH} pty-ioctl native {TIOCLINUX} \
         pty-ioctl native {TIOCLINUX_HIGH} pty-ioctl native {FIONREAD}"
    );
    let ops = words(&line);
    let t = logged(ctx, &[], &ops);
    assert_eq!(t.lines()[..4], ["err EPERM"; 4], "{t}");
    assert_eq!(t.line(4), "ok queued=0", "{t}");
    assert_reported(&t, "by sbx (terminal input injection)");
    let legacy = read_sysctl("/proc/sys/dev/tty/legacy_tiocsti").is_none_or(|v| v == "1");
    let c = ctx.direct(&ops);
    if ctx.is_root() || legacy {
        assert_eq!(c.line(0), "ok queued=1", "{c}");
        assert_eq!(c.line(1), "ok queued=1", "the kernel ignores the high bits\n{c}");
    } else {
        assert_eq!(c.lines()[..2], ["err EIO"; 2], "{c}");
    }
    assert_ne!(c.line(2), "err EPERM", "{c}");
    assert_ne!(c.line(3), "err EPERM", "{c}");
});

sbx_test!(tiocsti_is_refused_on_the_sandbox_terminal, |ctx| {
    // With --pty the payload's stdin is a terminal of sbx's, its controlling terminal, on
    // which TIOCSTI needs no privilege (the control is the host run of the test above);
    // FIONREAD shows fd 0 is that terminal.
    let probe = probe_path();
    let ops = ["ioctl", "native", "0", TIOCSTI, "ioctl", "native", "0", TIOCSTI_HIGH, "ioctl", "native", "0", FIONREAD];
    let bare = ctx.bare();
    let mut argv = vec!["run", "--pty", "--profile", &bare, "--", probe.to_str().unwrap()];
    argv.extend(ops);
    let out = ctx.run(&argv);
    out.assert_code(0);
    let lines: Vec<&str> = out.stdout.lines().map(|l| l.trim_end_matches('\r')).collect();
    assert_eq!(lines, ["err EPERM", "err EPERM", "ok 0"], "{out}");
});

#[cfg(target_arch = "x86_64")]
sbx_test!(tiocsti_is_refused_through_the_i386_abi_too, |ctx| {
    // The same ioctl through `int 0x80` (i386 ioctl is number 54) in a sandbox with no
    // syscall directive. As root the payload holds CAP_SYS_ADMIN, with which TIOCSTI works on
    // any terminal it can open or was given, not only its controlling one.
    let ops = ["pty-ioctl", "i386", TIOCSTI, "pty-ioctl", "i386", TIOCSTI_HIGH];
    let t = ctx.run_probe(&args(ctx, &["--log-refused"], &[]), &ops);
    // The ioctl runs in a child of the probe: refused, it fails or the child is killed.
    assert_eq!(t.lines().len(), 2, "{t}");
    for line in t.lines() {
        assert!(line.starts_with("err "), "TIOCSTI through int 0x80 must be refused\n{t}");
    }
    let c = ctx.direct(&ops);
    let legacy = read_sysctl("/proc/sys/dev/tty/legacy_tiocsti").is_none_or(|v| v == "1");
    if ctx.is_root() || legacy {
        assert_eq!(c.lines(), ["ok queued=1"; 2], "control: int 0x80 TIOCSTI works on the host\n{c}");
    }
});

#[cfg(target_arch = "x86_64")]
sbx_test!(kernel_surface_refusals_cover_the_i386_abi, |ctx| {
    // systemd installs these rules for every ABI the kernel runs (x86-64, i386, x32); a
    // call through `int 0x80` must be refused as the native one is (EPERM, or killed as a
    // call of another ABI). i386 numbers: sethostname 74, ioperm 101, iopl 110, syslog 103,
    // finit_module 350.
    let cases: &[(&str, &[&str], &str)] = &[
        ("ProtectHostname=yes", &["int80", "74", "buf,65"], "sethostname"),
        ("PrivateDevices=yes", &["int80", "101", "0x80,1,0"], "ioperm"),
        ("PrivateDevices=yes", &["int80", "110", "4"], "iopl"),
        ("ProtectKernelModules=yes", &["int80", "350", "-1,buf,0"], "finit_module"),
        ("ProtectKernelLogs=yes", &["int80", "103", "10,0,0"], "syslog"),
    ];
    let mut failures = Vec::new();
    for (directive, ops, call) in cases {
        let out = ctx.run_probe(&args(ctx, &["--log-refused"], &[directive]), ops);
        let refused = (out.code == Some(KILLED) && out.stderr.contains("another ABI"))
            || (out.code == Some(0) && out.line(0) == "err EPERM" && out.stderr.contains(&format!("{call}(2)")));
        if !refused {
            failures.push(format!("{directive}: {call} through int 0x80\n{out}"));
        }
    }
    assert!(failures.is_empty(), "not refused:\n{}", failures.join("\n"));
    // Control: int 0x80 itself works on the host.
    let c = ctx.direct(&["pid", "int80", "20", "-"]);
    assert_eq!(c.ok(1), c.ok(0), "{c}");
});

sbx_test!(log_refused_names_the_form_that_was_refused, |ctx| {
    // Refusals that depend on arguments: the report must name what was asked for.
    let t = logged(ctx, &["RestrictNamespaces=yes", "User=root"], &["unshare", "USER"]);
    assert_eq!(t.err(0), "EPERM", "{t}");
    assert_reported(&t, "unshare(2)");
    assert!(!t.stderr.contains("RestrictNamespaces=cgroup"), "a user namespace was asked for\n{t}");
    let t = logged(ctx, &[], &["pty-ioctl", "native", TIOCLINUX]);
    assert_eq!(t.err(0), "EPERM", "{t}");
    assert!(!t.stderr.contains("TIOCSTI"), "the call was TIOCLINUX\n{t}");
});

// ---------------------------------------------------------------------------------------------
// Real programs, the strict profile

const PYTHON: &str = "/usr/bin/python3";

const PYTHON_SCRIPT: &str = "\
import subprocess, threading
squares = []
threads = [threading.Thread(target=lambda i=i: squares.append(i * i)) for i in range(4)]
for t in threads: t.start()
for t in threads: t.join()
out = subprocess.run(['/usr/bin/sort'], input='b\\na\\n', capture_output=True, text=True, check=True).stdout
print(sorted(squares), out.split())
";

/// A shell pipeline, coreutils and python3 (threads, a subprocess) under `sbx_args`, and a
/// refused call in the same configuration to show the filter is on.
fn real_programs(ctx: &Ctx, sbx_args: &[&str]) {
    let run = |cmd: &[&str]| {
        let mut argv = vec!["run"];
        argv.extend_from_slice(sbx_args);
        argv.push("--");
        argv.extend_from_slice(cmd);
        ctx.run(&argv)
    };
    let script =
        "ls / | wc -l; printf 'c\\nb\\na\\n' > in; sort in > sorted; cp sorted copy; cat copy; rm in sorted copy";
    let out = run(&["/bin/sh", "-c", script]);
    out.assert_code(0);
    let lines = out.lines();
    assert!(lines[0].trim().parse::<u32>().is_ok_and(|n| n > 5), "ls / | wc -l\n{out}");
    assert_eq!(lines[1..], ["a", "b", "c"], "{out}");
    if Path::new(PYTHON).is_file() {
        let out = run(&[PYTHON, "-c", PYTHON_SCRIPT]);
        out.assert_code(0);
        assert_eq!(out.stdout, "[0, 1, 4, 9] ['a', 'b']\n", "{out}");
    } else {
        ctx.skip("python3 is not installed");
    }
    let probe = probe_path();
    let mount = nr(libc::SYS_mount);
    let out = run(&[probe.to_str().unwrap(), "syscall", &mount, "0,0,0,0,0"]);
    out.assert_code(KILLED);
    assert_reported(&out, "mount(2)");
}

sbx_test!(real_programs_work_under_system_service, |ctx| {
    let bare = ctx.bare();
    let sbx_args =
        ["--profile", &bare, "-p", "SystemCallFilter=@system-service", "-p", "SystemCallArchitectures=native"];
    real_programs(ctx, &sbx_args);
});

sbx_test!(real_programs_work_under_the_strict_profile, |ctx| {
    real_programs(ctx, &["--profile", "strict"]);
});

sbx_test!(strict_profile_kills_privileged_calls, |ctx| {
    let ptrace_attach = "16,2147483647,0,0"; // PTRACE_ATTACH to a pid that does not exist
    // The advice names what to add: after strict's `~@privileged ...` line, the call itself
    // (a later line gives it back); for a call the allow-list never had, its smallest group.
    let cases = [
        (libc::SYS_mount, "mount", "0,0,0,0,0", Some("SystemCallFilter=@mount")),
        (libc::SYS_reboot, "reboot", "0,0,0,0", Some("SystemCallFilter=reboot after that line")),
        // In @system-service (@aio), taken out again by strict's deny-list line.
        (libc::SYS_io_uring_setup, "io_uring_setup", "0,0", None),
        (libc::SYS_ptrace, "ptrace", ptrace_attach, Some("SystemCallFilter=@debug")),
    ];
    for (n, name, call_args, advice) in cases {
        let n = nr(n);
        let ops = ["pid", "syscall", &n, call_args, "pid"];
        let t = ctx.run_probe(&["--profile", "strict"], &ops);
        t.assert_code(KILLED);
        assert_eq!(t.lines(), ["ok 2"], "{t}");
        assert_reported(&t, &format!("sbx: probe: {name}(2) (number {n}) was refused by SystemCallFilter="));
        if let Some(advice) = advice {
            assert_reported(&t, &format!("add {advice} to allow it"));
        }
        // Control: the bare profile lets each call reach the kernel, which refuses its
        // arguments (or the missing privilege) with an errno.
        let c = ctx.probe(&[], &ops);
        assert!(c.line(1).starts_with("err E"), "{c}");
    }
    // ptrace(2) is not in @privileged: strict refuses it because @system-service lacks @debug.
    let privileged = ctx.run(&["syscall-filter", "@privileged"]);
    privileged.assert_code(0);
    assert!(!privileged.stdout.lines().any(|l| l.trim() == "ptrace"), "{privileged}");
    let debug = ctx.run(&["syscall-filter", "@debug"]);
    assert!(debug.stdout.lines().any(|l| l.trim() == "ptrace"), "{debug}");
});

// ---------------------------------------------------------------------------------------------
// Plan-time errors

sbx_test!(unknown_names_are_plan_time_errors, |ctx| {
    let marker = ctx.path("ran");
    let cases: &[(&str, &[&str])] = &[
        ("SystemCallFilter=nosuchcall", &["nosuchcall", "-p #1"]),
        ("SystemCallFilter=~nosuchcall", &["nosuchcall", "-p #1"]),
        ("SystemCallFilter=@nosuchgroup", &["@nosuchgroup", "-p #1"]),
        ("SystemCallFilter=~mount:ENOSUCH", &["ENOSUCH", "-p #1"]),
        ("SystemCallErrorNumber=ENOSUCH", &["ENOSUCH", "-p #1"]),
        ("RestrictAddressFamilies=AF_NOSUCH", &["AF_NOSUCH", "-p #1"]),
        ("RestrictNamespaces=nosuch", &["nosuch", "-p #1"]),
        ("SystemCallArchitectures=x86", &["x86", "-p #1", "only the native ABI"]),
    ];
    for (directive, needles) in cases {
        let out = ctx.run_probe(&bare_args(&ctx.bare(), &[directive]), &["write", &marker]);
        out.assert_sbx_error();
        for w in *needles {
            assert!(out.stderr.contains(w), "{w:?}\n{out}");
        }
        assert!(!Path::new(&marker).exists(), "{out}");
    }
    let profile =
        ctx.profile("bad.conf", "[Service]\nSystemCallFilter=@system-service\nSystemCallFilter=~nosuchcall\n");
    let out = ctx.run_probe(&["--profile", &profile], &["write", &marker]);
    out.assert_sbx_error();
    assert!(out.stderr.contains(&format!("{profile}:3")) && out.stderr.contains("nosuchcall"), "{out}");
    assert!(!Path::new(&marker).exists(), "{out}");
    // Control: known names run.
    let args = bare_args(&ctx.bare(), &["SystemCallFilter=~@mount", "SystemCallArchitectures=native"]);
    ctx.run_probe(&args, &["write", &marker]).assert_code(0);
    assert!(Path::new(&marker).exists());
});

sbx_test!(keyring_mode_gives_a_session_keyring_of_its_own, |ctx| {
    // keyctl(KEYCTL_GET_KEYRING_ID, KEY, create=0) for the session (-3) and the user-session
    // (-5) keyrings. A process without a session keyring of its own gets the user-session
    // keyring for the first; KeyringMode=shared gives it a new one (linked to the user
    // keyring). KeyringMode=private joins a new one too, and refuses keyctl altogether
    // (tests/keyrings.rs: the uid's user keyring would answer to its serial number).
    let keyctl = nr(libc::SYS_keyctl);
    let ops = ["syscall", &keyctl, "0,-3,0", "syscall", &keyctl, "0,-5,0"];
    let host = ctx.direct(&ops);
    let shared = ctx.probe(&["KeyringMode=shared"], &ops);
    assert_ne!(shared.ok(0), shared.ok(1), "a session keyring of its own\n{shared}");
    assert_ne!(shared.ok(0), host.ok(0), "not the caller's\n{shared}\n{host}");
    let private = ctx.probe(&["KeyringMode=private"], &ops);
    assert_eq!((private.err(0), private.err(1)), ("EPERM", "EPERM"), "{private}");
    // Control: inherit keeps what the caller has (no session keyring, or the caller's own).
    let inherit = ctx.probe(&["KeyringMode=inherit"], &ops);
    if host.ok(0) == host.ok(1) {
        assert_eq!(inherit.ok(0), inherit.ok(1), "{inherit}");
    } else {
        assert_eq!(inherit.ok(0), host.ok(0), "{inherit}\n{host}");
    }
});
