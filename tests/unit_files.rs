//! `sbx run --unit FILE.service`: a real unit file, its drop-ins and its template, run in the
//! foreground with its sandboxing.
//!
//! Each check runs the probe (or a shell) as the unit's commands and compares with a control:
//! the same unit without the drop-in, the condition made true, the refused key removed. What
//! a foreground run cannot honour must be said (Restart=, [Install]) or refused before
//! anything runs (Type=forking, `+`), which the tests check by a marker file that must not
//! appear.

#[macro_use]
mod common;

use std::path::Path;

use common::*;

fn probe() -> String {
    probe_path().to_str().expect("UTF-8 probe path").to_string()
}

/// `sbx run --unit PATH EXTRA...`
fn run_unit(ctx: &Ctx, path: &str, extra: &[&str]) -> Output {
    let mut args = vec!["run", "--unit", path];
    args.extend(extra);
    ctx.run(&args)
}

sbx_test!(a_unit_and_its_dropins_sandbox_the_command, |ctx| {
    ctx.mkdir("rw");
    ctx.mkdir("ro");
    let text = format!(
        "[Unit]\nDescription=sandboxed\n[Service]\nProtectSystem=strict\nExecStart={} write {} write {}\n",
        probe(),
        ctx.path("rw/f"),
        ctx.path("ro/f")
    );
    let unit = ctx.write("app.service", &text);
    ctx.mkdir("app.service.d");
    ctx.write("app.service.d/10-rw.conf", &format!("[Service]\nReadWritePaths={}\n", ctx.path("rw")));
    ctx.write("app.service.d/README", "not a drop-in: ignored\n");
    let t = run_unit(ctx, &unit, &[]);
    t.assert_code(0);
    t.ok(0);
    assert_eq!(t.err(1), "EROFS", "ProtectSystem=strict holds inside\n{t}");
    assert!(Path::new(&ctx.path("rw/f")).is_file(), "the drop-in's ReadWritePaths= reached the host\n{t}");

    // Control: the same unit without its drop-in directory.
    let bare = ctx.write("bare.service", &text);
    assert_eq!(run_unit(ctx, &bare, &[]).err(0), "EROFS");
    // -p comes after the drop-ins: an empty ReadWritePaths= resets the list.
    let p = run_unit(ctx, &unit, &["-p", "ReadWritePaths="]);
    assert_eq!(p.err(0), "EROFS", "{p}");
});

sbx_test!(root: system_dropins_come_first_and_mask_local_ones, |ctx| {
    let name = ctx.unique("unit");
    let system = Path::new("/etc/systemd/system").join(format!("{name}.service.d"));
    std::fs::create_dir_all(&system).expect("mkdir in /etc/systemd/system");
    ctx.remove_later(&system);
    std::fs::write(system.join("50-who.conf"), "[Service]\nEnvironment=WHO=system\n").unwrap();
    let unit = ctx.write(
        &format!("{name}.service"),
        "[Service]\nEnvironment=WHO=unit ALSO=unit\nExecStart=/bin/sh -c 'echo $WHO $ALSO'\n",
    );
    ctx.mkdir(&format!("{name}.service.d"));
    ctx.write(&format!("{name}.service.d/50-who.conf"), "[Service]\nEnvironment=WHO=local\n");
    ctx.write(&format!("{name}.service.d/60-also.conf"), "[Service]\nEnvironment=ALSO=local\n");
    let out = run_unit(ctx, &unit, &[]);
    out.assert_code(0);
    assert_eq!(out.stdout, "system local\n", "{out}");
});

// A unit's commands run after pid 1 has detached the host root (launch::init detaches before
// the sequence, not beside a payload): with the tmpfs of inaccessible inodes staged, one mount
// at "/" and ".." from a top-level directory is "/".
sbx_test!(a_units_commands_run_without_the_host_root, |ctx| {
    let unit = ctx.write(
        "gone.service",
        &format!(
            "[Service]\nType=oneshot\nProtectSystem=strict\nInaccessiblePaths=/etc/hostname\n\
             ExecStartPre={p} mounts-at / same-file /etc/.. /\nExecStart={p} mounts-at /\n",
            p = probe()
        ),
    );
    let out = run_unit(ctx, &unit, &[]);
    out.assert_code(0);
    assert_eq!(out.lines(), ["ok 1", "ok yes", "ok 1"], "{out}");
});

sbx_test!(commands_run_in_order_in_one_sandbox, |ctx| {
    let unit = ctx.write(
        "order.service",
        "[Service]\nType=oneshot\nPrivateTmp=yes\n\
         ExecStartPre=/bin/sh -c 'echo pre > /tmp/state'\n\
         ExecStartPost=/bin/echo post\n\
         ExecStart=/bin/cat /tmp/state ; /bin/echo second\n\
         ExecStopPost=/bin/echo stop\n",
    );
    let out = run_unit(ctx, &unit, &[]);
    out.assert_code(0);
    assert_eq!(out.stdout, "pre\nsecond\npost\nstop\n", "one private /tmp for all commands\n{out}");
});

sbx_test!(the_first_failure_stops_the_unit_unless_prefixed_with_a_dash, |ctx| {
    let text = |pre: &str| {
        format!(
            "[Service]\nExecStartPre=-/bin/false\nExecStartPre={pre}\nExecStart=/bin/echo main\nExecStopPost=/bin/echo stop\n"
        )
    };
    let unit = ctx.write("fail.service", &text("/bin/sh -c 'exit 3'"));
    let out = run_unit(ctx, &unit, &[]);
    out.assert_code(3);
    assert_eq!(out.stdout, "stop\n", "nothing after the failure but ExecStopPost=\n{out}");
    assert!(out.stderr.contains("ExecStartPre=-/bin/false") && out.stderr.contains("ignored"), "{out}");
    assert!(out.stderr.contains("exited with status 3"), "{out}");

    let missing = ctx.write("missing.service", &text("/nonexistent-sbx-test/cmd"));
    let out = run_unit(ctx, &missing, &[]);
    out.assert_code(127);
    assert_eq!(out.stdout, "stop\n", "{out}");
    assert!(out.stderr.contains("ExecStartPre=/nonexistent-sbx-test/cmd") && out.stderr.contains("ENOENT"), "{out}");

    // Control: with a dash, the same failure is only reported.
    let dashed = ctx.write("dashed.service", &text("-/bin/sh -c 'exit 3'"));
    let out = run_unit(ctx, &dashed, &[]);
    out.assert_code(0);
    assert_eq!(out.stdout, "main\nstop\n", "{out}");
});

sbx_test!(a_failing_start_post_stops_the_main_process, |ctx| {
    let unit = ctx.write(
        "post.service",
        &format!(
            "[Service]\nExecStart={} ready sleep 300\nExecStartPost=/bin/false\nExecStopPost=/bin/echo stop\n",
            probe()
        ),
    );
    let out = run_unit(ctx, &unit, &[]);
    out.assert_code(1);
    assert!(out.stdout.ends_with("stop\n"), "{out}");
    assert!(out.stderr.contains("ExecStartPost=/bin/false"), "{out}");
});

sbx_test!(sigterm_stops_the_main_process_and_runs_stop_post, |ctx| {
    let unit = ctx.write(
        "stop.service",
        &format!("[Service]\nExecStart={} ready sleep 300\nExecStopPost=/bin/echo stopped\n", probe()),
    );
    let mut sbx = ctx.spawn(&["run", "--unit", &unit]);
    sbx.wait_for_line("ready", WAIT);
    sbx.signal(libc::SIGTERM);
    let out = sbx.wait(WAIT);
    out.assert_code(128 + libc::SIGTERM);
    assert!(out.stdout.ends_with("stopped\n"), "{out}");
});

sbx_test!(argv0_environment_and_variable_expansion, |ctx| {
    let env_file = ctx.write("env", "C=fromfile\n");
    let unit = ctx.write(
        "env.service",
        &format!(
            "[Service]\nType=oneshot\nEnvironment=\"A=x y\"\nEnvironmentFile={env_file}\nEnvironmentFile=-{}\n\
             ExecStart=@/bin/sh mysh -c 'echo \"$0|$A|$C\"'\n\
             ExecStart=/usr/bin/printf '[%%s]\\n' $A ${{A}} $$ ${{UNSET}}\n\
             ExecStart=:/bin/echo $A\n\
             ExecStart={} env HOME env PATH env C\n",
            ctx.path("missing-env"),
            probe()
        ),
    );
    let out = run_unit(ctx, &unit, &[]);
    out.assert_code(0);
    let lines = out.lines();
    assert_eq!(lines[..7], ["mysh|x y|fromfile", "[x]", "[y]", "[x y]", "[$]", "[]", "$A"], "{out}");
    assert_eq!(out.err(7), "unset", "a unit without User= gets no HOME\n{out}");
    assert_eq!(out.ok(8), "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "{out}");
    assert_eq!(out.ok(9), "fromfile", "{out}");
    // Control: a command line (not a unit) keeps the caller's HOME.
    let c = ctx.run_probe(&bare_args(&ctx.bare(), &[]), &["env", "HOME"]);
    assert!(c.is_ok(0), "{c}");
});

sbx_test!(a_false_condition_skips_the_unit, |ctx| {
    let ran = ctx.path("ran");
    let flag = ctx.path("flag");
    let unit = ctx.write(
        "cond.service",
        &format!("[Unit]\nConditionPathExists={flag}\n[Service]\nExecStart={} write {ran}\n", probe()),
    );
    let out = run_unit(ctx, &unit, &[]);
    out.assert_code(0);
    assert!(out.stderr.contains(&format!("ConditionPathExists={flag}")) && out.stderr.contains("not met"), "{out}");
    assert!(!Path::new(&ran).exists(), "nothing may run\n{out}");
    // Control: once the condition holds, the command runs.
    ctx.write("flag", "");
    run_unit(ctx, &unit, &[]).assert_code(0);
    assert!(Path::new(&ran).exists());
});

sbx_test!(asserts_fail_and_unknown_conditions_are_refused, |ctx| {
    let ran = ctx.path("ran");
    let write = format!("ExecStart={} write {ran}\n", probe());
    let cases = [
        (format!("AssertPathExists={}", ctx.path("nope")), "assertion failed"),
        ("ConditionVirtualization=no".to_string(), "sbx evaluates only"),
        ("AssertFirstBoot=yes".to_string(), "sbx evaluates only"),
    ];
    for (line, message) in cases {
        let unit = ctx.write("assert.service", &format!("[Unit]\n{line}\n[Service]\n{write}"));
        let out = run_unit(ctx, &unit, &[]);
        out.assert_sbx_error();
        assert!(out.stderr.contains(message), "{line}\n{out}");
        assert!(!Path::new(&ran).exists(), "{out}");
    }
    // Control: an assertion that holds.
    let unit = ctx
        .write("assert.service", &format!("[Unit]\nAssertPathIsDirectory={}\n[Service]\n{write}", ctx.dir().display()));
    run_unit(ctx, &unit, &[]).assert_code(0);
    assert!(Path::new(&ran).exists());
});

sbx_test!(exec_condition_skips_on_1_to_254, |ctx| {
    let ran = ctx.path("ran");
    let text =
        |code: u8| format!("[Service]\nExecCondition=/bin/sh -c 'exit {code}'\nExecStart={} write {ran}\n", probe());
    let unit = ctx.write("cond.service", &text(1));
    let out = run_unit(ctx, &unit, &[]);
    out.assert_code(0);
    assert!(out.stderr.contains("skipped"), "{out}");
    assert!(!Path::new(&ran).exists(), "{out}");
    let unit = ctx.write("cond.service", &text(255));
    run_unit(ctx, &unit, &[]).assert_code(255);
    assert!(!Path::new(&ran).exists());
    let unit = ctx.write("cond.service", &text(0));
    run_unit(ctx, &unit, &[]).assert_code(0);
    assert!(Path::new(&ran).exists());
});

sbx_test!(what_a_foreground_run_ignores_is_reported, |ctx| {
    let unit = ctx.write(
        "daemon.service",
        "[Unit]\nAfter=network.target\nWants=network.target\n[Service]\nRestart=always\nRestartSec=5\n\
         ExecStart=/bin/true\nExecReload=/bin/kill -HUP $MAINPID\n[Install]\nWantedBy=multi-user.target\n",
    );
    let out = run_unit(ctx, &unit, &[]);
    out.assert_code(0);
    assert!(out.stderr.contains("Restart= is ignored: sbx runs the unit once"), "{out}");
    assert!(out.stderr.contains("RestartSec= is ignored") && out.stderr.contains("ExecReload= is ignored"), "{out}");
    let unused = out.stderr.lines().find(|l| l.contains("not used by a foreground run")).expect("one line");
    assert!(unused.contains("After=") && unused.contains("Wants=") && unused.contains("WantedBy="), "{out}");
});

sbx_test!(what_sbx_cannot_run_faithfully_is_refused, |ctx| {
    let ran = ctx.path("ran");
    let pre = format!("ExecStartPre={} write {ran}\n", probe());
    let cases = [
        ("Type=forking\nExecStart=/usr/sbin/daemon\n", "Type=simple"),
        ("Type=notify\nExecStart=/bin/true\n", "NOTIFY_SOCKET"),
        ("ExecStart=+/bin/true\n", "remove the +"),
        ("ExecStart=/bin/true\nExecStart=/bin/true\n", "Type=oneshot"),
        ("ExecStart=bin/relative\n", "absolute path"),
    ];
    for (service, message) in cases {
        let unit = ctx.write("refused.service", &format!("[Service]\n{pre}{service}"));
        let out = run_unit(ctx, &unit, &[]);
        out.assert_sbx_error();
        assert!(out.stderr.contains(message), "{service}\n{out}");
        assert!(!Path::new(&ran).exists(), "nothing may run\n{out}");
    }
    // Control: -p overrides a refused Type=.
    let unit = ctx.write("refused.service", &format!("[Service]\n{pre}Type=forking\nExecStart=/bin/true\n"));
    run_unit(ctx, &unit, &["-p", "Type=simple"]).assert_code(0);
    assert!(Path::new(&ran).exists());
});

sbx_test!(a_template_instance_expands_its_specifiers, |ctx| {
    ctx.write("greet@.service", "[Service]\nType=oneshot\nExecStart=/bin/echo %i %I %p %N %j\n");
    ctx.mkdir("greet@a-b.service.d");
    ctx.write("greet@a-b.service.d/x.conf", "[Service]\nEnvironment=X=inst\nExecStart=/bin/sh -c 'echo X=$X'\n");
    let out = run_unit(ctx, &ctx.path("greet@a-b.service"), &[]);
    out.assert_code(0);
    assert_eq!(out.stdout, "a-b a/b greet greet@a-b greet\nX=inst\n", "{out}");
    // A template on its own cannot run.
    run_unit(ctx, &ctx.path("greet@.service"), &[]).assert_sbx_error();
});

sbx_test!(bang_runs_a_command_without_the_user_switch, |ctx| {
    if user_ids("www-data").is_none() {
        ctx.skip("there is no www-data user on this host");
        return;
    }
    let unit = ctx.write(
        "bang.service",
        &format!("[Service]\nUser=www-data\nExecStartPre=!{p} ids\nExecStart={p} ids\n", p = probe()),
    );
    let out = run_unit(ctx, &unit, &[]);
    if ctx.is_root() {
        out.assert_code(0);
        assert_eq!(out.field(0, "uid"), "0", "! skips the switch\n{out}");
        assert_eq!(out.field(1, "uid"), user_ids("www-data").unwrap().0.to_string(), "{out}");
    } else {
        // Rootless the caller can appear as one user only: refused, not silently changed.
        out.assert_sbx_error();
        assert!(out.stderr.contains("remove the !"), "{out}");
    }
});

sbx_test!(root: a_bang_command_keeps_the_strict_root_a_mirror, |ctx| {
    // With User= and NoNewPrivileges=yes the payload cannot hold CAP_SYS_ADMIN, so
    // ProtectSystem=strict clones the host's root; a `!` command runs as root and could
    // unmount sbx's covers there, so with one the whole unit gets the mirror (a tmpfs root).
    if user_ids("www-data").is_none() {
        ctx.skip("there is no www-data user on this host");
        return;
    }
    let text = |pre: &str| {
        format!(
            "[Service]\nUser=www-data\nNoNewPrivileges=yes\nProtectSystem=strict\n{pre}ExecStart={p} mount /\n",
            p = probe()
        )
    };
    let bang = run_unit(ctx, &ctx.write("bang.service", &text(&format!("ExecStartPre=!{} mount /\n", probe()))), &[]);
    bang.assert_code(0);
    assert_eq!(bang.words(0)[1], "tmpfs", "the ! command's root\n{bang}");
    assert_eq!(bang.words(1)[1], "tmpfs", "{bang}");
    let plain = run_unit(ctx, &ctx.write("plain.service", &text("")), &[]);
    plain.assert_code(0);
    assert_eq!(plain.words(0)[1], ctx.direct(&["mount", "/"]).words(0)[1], "control: the host's root\n{plain}");
});
