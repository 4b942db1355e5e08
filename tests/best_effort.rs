//! The tier for hosts without namespaces, made real by running sbx inside an sbx sandbox whose
//! syscall filter refuses namespaces (RestrictNamespaces=yes), as a container's seccomp profile
//! would: without --best-effort sbx refuses and names the cause; with it, sbx runs and reports
//! every directive, and from inside what still holds is checked against a control run.
//! Also: Landlock's defence in depth in a normal sandbox (a root payload cannot remount).

#[macro_use]
mod common;

use common::*;

/// `sbx run OUTER -- sbx run INNER -- probe OPS`: the inner sbx cannot create namespaces.
fn nested(ctx: &Ctx, inner: &[&str], ops: &[&str]) -> Output {
    let sbx = sbx_path();
    let mut args: Vec<String> =
        ["run", "--profile", &ctx.bare(), "-p", "RestrictNamespaces=yes", "--", sbx.to_str().unwrap(), "run"]
            .iter()
            .map(|s| s.to_string())
            .collect();
    args.extend(inner.iter().map(|s| s.to_string()));
    args.extend(["--".to_string(), probe_path().to_str().unwrap().to_string()]);
    args.extend(ops.iter().map(|s| s.to_string()));
    ctx.run(&args.iter().map(String::as_str).collect::<Vec<_>>())
}

sbx_test!(without_namespaces_sbx_refuses_and_names_the_cause, |ctx| {
    let marker = ctx.path("ran");
    let out = nested(ctx, &["--profile", &ctx.bare()], &["write", &marker]);
    out.assert_code(125);
    assert!(out.stderr.contains("seccomp filter") && out.stderr.contains("fix:"), "{out}");
    assert!(!std::path::Path::new(&marker).exists(), "nothing ran\n{out}");
});

sbx_test!(best_effort_runs_and_reports_every_directive, |ctx| {
    let out = nested(ctx, &["--best-effort", "--profile", "strict"], &["pid"]);
    out.assert_code(0);
    for line in [
        "ProtectSystem=: enforced: Landlock",
        "PrivateTmp=: weakened",
        "PrivateNetwork=: weakened",
        "ProtectProc=: NOT enforced",
        "SystemCallFilter=: enforced (seccomp)",
    ] {
        assert!(out.stderr.contains(line), "the report names {line:?}\n{out}");
    }
});

sbx_test!(best_effort_still_confines_the_filesystem, |ctx| {
    let dir = ctx.mkdir("ro");
    let file = format!("{dir}/f");
    let ops = ["write", &file, "ls", ctx.home().to_str().unwrap()];
    let t = nested(
        ctx,
        &["--best-effort", "--profile", &ctx.bare(), "-p", &format!("ReadOnlyPaths={dir}"), "-p", "ProtectHome=yes"],
        &ops,
    );
    t.assert_code(0);
    assert_eq!(t.err(0), "EACCES", "ReadOnlyPaths= through Landlock\n{t}");
    assert_eq!(t.err(1), "EACCES", "ProtectHome=yes through Landlock\n{t}");
    // Control: the same tier without the directives.
    let c = nested(ctx, &["--best-effort", "--profile", &ctx.bare()], &ops);
    c.assert_code(0);
    c.ok(0);
    c.ok(1);
});

sbx_test!(best_effort_private_network_leaves_only_unix_sockets, |ctx| {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let tcp = listener.local_addr().unwrap().to_string();
    let ops = ["socket", "AF_UNIX", "STREAM", "socket", "AF_INET", "DGRAM", "tcp-connect", &tcp];
    let t = nested(ctx, &["--best-effort", "--profile", &ctx.bare(), "-p", "PrivateNetwork=yes"], &ops);
    t.assert_code(0);
    t.ok(0);
    assert_eq!(t.err(1), "EAFNOSUPPORT", "{t}");
    assert!(t.line(2).starts_with("err "), "{t}");
    let c = nested(ctx, &["--best-effort", "--profile", &ctx.bare()], &ops);
    c.ok(1);
    c.ok(2);
});

sbx_test!(an_inner_filter_holds_without_a_listener_of_its_own, |ctx| {
    // The outer sandbox's filter holds the only listener the kernel allows on the way up, so
    // the inner sbx installs its policy without notifications and the kernel kills by itself.
    let mount = libc::SYS_mount.to_string();
    let ops = ["pid", "syscall", &mount, "0,0,0,0,0", "pid"];
    let t = nested(ctx, &["--best-effort", "--profile", &ctx.bare(), "-p", "SystemCallFilter=~@mount"], &ops);
    t.assert_code(128 + libc::SIGSYS);
    assert_eq!(t.lines().len(), 1, "the payload dies at mount(2)\n{t}");
    let c = nested(ctx, &["--best-effort", "--profile", &ctx.bare()], &ops);
    c.assert_code(0);
    assert!(c.line(1).starts_with("err E"), "without the directive mount(2) runs and fails\n{c}");
});

sbx_test!(best_effort_cannot_signal_outside, |ctx| {
    // Without a pid namespace the payload sees other processes; Landlock's signal scope keeps
    // it from signalling them. Target: the outer sandbox's pid 1, outside the inner sandbox
    // (signal 0 only checks).
    // Before Landlock ABI 6 (Linux 6.12) the kernel cannot do that, and the report says so.
    let kill = libc::SYS_kill.to_string();
    let t = nested(ctx, &["--best-effort", "--profile", &ctx.bare()], &["syscall", &kill, "1,0"]);
    t.assert_code(0);
    if landlock_abi() >= 6 {
        assert_eq!(t.err(0), "EPERM", "{t}");
        let line = "other processes: weakened: no pid namespace; Landlock refuses ptrace and signals";
        assert!(t.stderr.contains(line) && t.stderr.contains("oom_score_adj"), "{t}");
    } else {
        t.ok(0);
        assert!(t.stderr.contains("other processes: weakened: ") && t.stderr.contains("cannot scope signals"), "{t}");
    }
    // Control: the outer sandbox's payload (no Landlock domain of its own) may.
    let probe = probe_path();
    let bare = ctx.bare();
    let outer = [
        "run",
        "--profile",
        &bare,
        "-p",
        "RestrictNamespaces=yes",
        "--",
        probe.to_str().unwrap(),
        "syscall",
        &kill,
        "1,0",
    ];
    ctx.run(&outer).ok(0);
});

sbx_test!(root: landlock_keeps_a_root_payload_from_remounting, |ctx| {
    // A root payload with every capability could remount sbx's read-only binds; Landlock
    // refuses mount changes to a sandboxed process.
    let out = ctx.run(&["run", "--profile", &ctx.bare(), "-p", "ProtectSystem=strict", "--", "/bin/sh", "-c", "mount -o remount,bind,rw /etc; echo rc=$?"]);
    out.assert_code(0);
    assert!(out.stdout.contains("rc=32"), "{out}");
    // Control: the same remount in a plain mount namespace works.
    let c = std::process::Command::new("unshare").args(["-m", "sh", "-c", "mount --bind /etc /etc && mount -o remount,bind,ro /etc && mount -o remount,bind,rw /etc; echo rc=$?"]).output().unwrap();
    assert!(String::from_utf8_lossy(&c.stdout).contains("rc=0"), "{c:?}");
});

/// Forks up to 60 children that sleep, and prints how many started.
const FORKS: &str = "import os, time\nn = 0\ntry:\n    for _ in range(60):\n        if os.fork() == 0:\n            time.sleep(3)\n            os._exit(0)\n        n += 1\nexcept OSError:\n    pass\nprint(n)\n";

// Issue 16: without a usable cgroup, --best-effort approximates TasksMax= with RLIMIT_NPROC,
// which the kernel does not apply to uid 0. The report must say what holds: not enforced for a
// root payload; weakened for an unprivileged one, whose fork loop the rlimit then stops.
sbx_test!(issue_16_tasks_max_by_rlimit_is_reported_as_it_holds, |ctx| {
    let run = |directives: &[&str]| {
        let mut args = vec!["run".to_string(), "--best-effort".into()];
        args.extend(bare_args(&ctx.bare(), directives));
        args.extend(["--".into(), "/usr/bin/python3".into(), "-c".into(), FORKS.into()]);
        ctx.run(&args.iter().map(String::as_str).collect::<Vec<_>>())
    };
    let t = run(&["TasksMax=20"]);
    if !t.stderr.contains("resource limits without a cgroup") {
        eprintln!("note: {}: not applicable: this host has a usable cgroup v2 (tests/cgroup.rs covers it)", ctx.name());
        return;
    }
    t.assert_code(0);
    let forked: u32 = t.stdout.trim().parse().unwrap_or_else(|_| panic!("a count\n{t}"));
    let line = t.stderr.lines().find(|l| l.contains("TasksMax=")).unwrap_or_else(|| panic!("TasksMax= reported\n{t}"));
    if ctx.is_root() {
        assert!(line.contains("NOT enforced") && line.contains("uid 0"), "{line}\n{t}");
        assert_eq!(forked, 60, "the report's reason holds: a root payload forks past the rlimit\n{t}");
        // Control: a payload as another user, with no way back to a capability (no_new_privs),
        // is bound by the rlimit, and the report says so.
        let c = run(&["TasksMax=20", "User=nobody", "NoNewPrivileges=yes"]);
        c.assert_code(0);
        let cline = c.stderr.lines().find(|l| l.contains("TasksMax=")).unwrap_or("");
        assert!(cline.contains("weakened") && cline.contains("LimitNPROC"), "{c}");
        assert!(c.stdout.trim().parse::<u32>().is_ok_and(|n| n < 60), "{c}");
    } else {
        assert!(line.contains("weakened") && line.contains("LimitNPROC"), "{line}\n{t}");
        assert!(forked < 60, "LimitNPROC=20 let {forked} children start\n{t}");
    }
});

// Issue 16: every fix a refusal prints must work on the host where it is printed. sbx as root
// without CAP_SYS_ADMIN under a filter that refuses namespaces (Docker's default profile does
// both) used to suggest PrivateUsers=yes, which the same filter refuses. A fix is now offered
// only after a throwaway child has tried what it needs here.
sbx_test!(root: issue_16_a_refusal_offers_only_fixes_that_work_here, |ctx| {
    let sbx = sbx_path();
    let sbx = sbx.to_str().unwrap();
    let probe = probe_path();
    let inner = |extra: &[&str]| {
        let mut args: Vec<String> = vec![sbx.into(), "run".into(), "--profile".into(), ctx.bare()];
        args.extend(extra.iter().map(|s| s.to_string()));
        args.extend(["--".into(), probe.to_str().unwrap().into(), "pid".into()]);
        args
    };
    // Under an sbx sandbox that refuses namespaces and CAP_SYS_ADMIN.
    let nested = |extra: &[&str]| {
        let mut args: Vec<String> = ["run", "--profile", &ctx.bare(), "-p", "CapabilityBoundingSet=~CAP_SYS_ADMIN"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        args.extend(["-p".into(), "RestrictNamespaces=yes".into(), "--".into()]);
        args.extend(inner(extra));
        ctx.run(&args.iter().map(String::as_str).collect::<Vec<_>>())
    };
    let fixes = |stderr: &str| stderr.lines().filter(|l| l.contains("fix: ")).map(String::from).collect::<Vec<_>>();
    let t = nested(&[]);
    t.assert_code(125);
    assert!(!fixes(&t.stderr).is_empty(), "the refusal names fixes\n{t}");
    assert!(!t.stderr.contains("PrivateUsers=yes"), "PrivateUsers=yes does not work here: not offered\n{t}");
    // What it no longer offers would indeed have failed.
    nested(&["-p", "PrivateUsers=yes"]).assert_code(125);
    // Control: only CAP_SYS_ADMIN missing (dropped by setpriv, no filter and no Landlock
    // domain around sbx): PrivateUsers=yes is offered, and it works.
    let without_sys_admin = |extra: &[&str]| {
        let out = std::process::Command::new("setpriv")
            .args(["--bounding-set", "-sys_admin", "--"])
            .args(inner(extra))
            .current_dir(ctx.cwd())
            .output()
            .expect("run setpriv");
        (out.status.code(), String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
    };
    let (code, _, stderr) = without_sys_admin(&[]);
    assert_eq!(code, Some(125), "{stderr}");
    assert!(fixes(&stderr).iter().any(|f| f.contains("PrivateUsers=yes")), "{stderr}");
    let (code, stdout, stderr) = without_sys_admin(&["-p", "PrivateUsers=yes"]);
    assert_eq!((code, stdout.trim()), (Some(0), "ok 2"), "the offered fix runs the payload as pid 2\n{stderr}");
});
