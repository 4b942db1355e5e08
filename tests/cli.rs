//! The command line and the profile language as transcripts: what a user types, the exit
//! status and the words that must appear on stdout/stderr.
//!
//! Profile errors name FILE:LINE and the directive, exit 125 and start nothing (the payload
//! would have created a marker file); unknown keys warn with FILE:LINE and run; usage errors
//! exit 125; `--dry-run` starts nothing; profiles stack in order, `-p` applies last, drop-ins
//! apply after their profile and an empty assignment resets a list; `sbx check`,
//! `sbx profiles` and `sbx show` report on profiles.

#[macro_use]
mod common;

use std::fs;
use std::path::Path;

use common::*;

/// Runs the probe (which would create `marker`) under `profile` and extra sbx arguments.
fn run_marked(ctx: &Ctx, profile: &str, extra: &[&str], marker: &str) -> Output {
    let mut args = vec!["--profile", profile];
    args.extend_from_slice(extra);
    ctx.run_probe(&args, &["write", marker])
}

sbx_test!(invalid_value_in_profile_names_file_line_and_directive, |ctx| {
    let cases = [
        ("ProtectSystem", "bogus"),
        ("ProtectHome", "sometimes"),
        ("NoNewPrivileges", "maybe"),
        ("LimitNOFILE", "lots"),
        ("UMask", "0999"),
        ("Nice", "100"),
        ("PrivateTmp", "perhaps"),
    ];
    for (i, (key, value)) in cases.iter().enumerate() {
        let file = format!("bad{i}.conf");
        let profile = ctx.profile(&file, &format!("[Unit]\nDescription=test\n\n[Service]\n{key}={value}\n"));
        let marker = ctx.path(&format!("ran{i}"));
        let out = run_marked(ctx, &profile, &[], &marker);
        out.assert_sbx_error();
        assert!(out.stderr.contains(&format!("{file}:5")), "FILE:LINE\n{out}");
        assert!(out.stderr.contains(key), "the directive\n{out}");
        assert!(!Path::new(&marker).exists(), "the payload ran despite the error\n{out}");
    }
});

sbx_test!(invalid_override_names_directive, |ctx| {
    let marker = ctx.path("ran");
    let out = run_marked(ctx, &ctx.bare(), &["-p", "ProtectSystem=bogus"], &marker);
    out.assert_sbx_error();
    assert!(out.stderr.contains("ProtectSystem"), "{out}");
    assert!(!Path::new(&marker).exists(), "{out}");
    let out = run_marked(ctx, &ctx.bare(), &["-p", "no-equals-sign"], &marker);
    out.assert_sbx_error();
    assert!(!Path::new(&marker).exists(), "{out}");
});

sbx_test!(unknown_key_warns_and_runs, |ctx| {
    let profile = ctx.profile("warn.conf", "[Service]\nNoNewPrivileges=yes\nSbxTestNoSuchDirective=1\n");
    let marker = ctx.path("ran");
    let out = run_marked(ctx, &profile, &[], &marker);
    out.assert_code(0);
    assert!(out.stderr.contains("warn.conf:3"), "FILE:LINE\n{out}");
    assert!(out.stderr.contains("SbxTestNoSuchDirective"), "{out}");
    assert!(Path::new(&marker).exists(), "the payload must run\n{out}");
});

sbx_test!(missing_profile_is_an_error, |ctx| {
    let marker = ctx.path("ran");
    for profile in ["/nonexistent/sbx-test.conf", "sbx-test-no-such-profile"] {
        let out = run_marked(ctx, profile, &[], &marker);
        out.assert_sbx_error();
        assert!(out.stderr.contains(profile.trim_start_matches("/nonexistent/")), "{out}");
    }
    assert!(!Path::new(&marker).exists());
});

sbx_test!(usage_errors_exit_125, |ctx| {
    let probe = probe_path();
    let probe = probe.to_str().unwrap();
    for args in
        [&["run"][..], &["run", "--profile"][..], &["--sbx-test-no-such-flag"][..], &["sbx-test-no-such-command"][..]]
    {
        let out = ctx.run(args);
        out.assert_code(125);
        assert!(!out.stderr.is_empty(), "{out}");
    }
    ctx.run(&["run", "--profile", &ctx.bare(), "--", probe, "exit", "0"]).assert_code(0);
});

sbx_test!(unknown_option_before_the_command_is_a_usage_error, |ctx| {
    // A mistyped option (`--pyt` for `--pty`) must not be taken for the command.
    let probe = probe_path();
    let probe = probe.to_str().unwrap();
    for args in [
        &["run", "--sbx-test-no-such-flag", "--", probe, "exit", "0"][..],
        &["run", "--sbx-test-no-such-flag", probe, "exit", "0"][..],
    ] {
        let out = ctx.run(args);
        out.assert_code(125);
        assert!(out.stderr.contains("--sbx-test-no-such-flag"), "{out}");
    }
    // Control: options of the command itself still pass through.
    let out = ctx.run(&["run", "--profile", &ctx.bare(), probe, "exit", "0"]);
    out.assert_code(0);
});

sbx_test!(dry_run_starts_nothing, |ctx| {
    // In the working directory, which the default profile leaves writable.
    let marker = ctx.cwd().join("ran").to_str().unwrap().to_string();
    let probe = probe_path();
    let probe = probe.to_str().unwrap();
    let out = ctx.run(&["run", "--dry-run", "--", probe, "write", &marker]);
    out.assert_code(0);
    assert!(out.stdout.contains(probe), "the plan shows the argv\n{out}");
    assert!(!Path::new(&marker).exists(), "{out}");
    let json = ctx.run(&["run", "--dry-run", "--json", "--", probe, "write", &marker]);
    json.assert_code(0);
    let plan: serde_json::Value =
        serde_json::from_str(&json.stdout).unwrap_or_else(|e| panic!("--json must print JSON: {e}\n{json}"));
    assert!(plan.to_string().contains(probe), "{json}");
    assert!(!Path::new(&marker).exists());
    // Control: the same command without --dry-run runs.
    let run = ctx.run(&["run", "--", probe, "write", &marker]);
    run.assert_code(0);
    run.ok(0);
    assert!(Path::new(&marker).exists(), "{run}");
});

sbx_test!(profiles_stack_and_overrides_apply_last, |ctx| {
    let on = ctx.profile("on.conf", "[Service]\nNoNewPrivileges=yes\n");
    let off = ctx.profile("off.conf", "[Service]\nNoNewPrivileges=no\n");
    let nnp = |args: &[&str]| {
        let out = ctx.run_probe(args, &["caps"]);
        out.assert_code(0);
        out.field(0, "NoNewPrivs").to_string()
    };
    assert_eq!(nnp(&["--profile", &on, "--profile", &off]), "0", "the later profile wins");
    assert_eq!(nnp(&["--profile", &off, "--profile", &on]), "1", "the later profile wins");
    assert_eq!(nnp(&["--profile", &on, "-p", "NoNewPrivileges=no"]), "0", "-p applies last");
    assert_eq!(nnp(&["-p", "NoNewPrivileges=no", "--profile", &on]), "0", "-p applies last");
});

sbx_test!(empty_assignment_resets_a_list, |ctx| {
    let data = ctx.mkdir("data");
    let file = format!("{data}/new");
    let reset = ctx.profile("reset.conf", &format!("[Service]\nReadOnlyPaths={data}\nReadOnlyPaths=\n"));
    let kept = ctx.profile("kept.conf", &format!("[Service]\nReadOnlyPaths={data}\n"));
    let t = ctx.run_probe(&["--profile", &reset], &["write", &file]);
    t.assert_code(0);
    t.ok(0);
    let c = ctx.run_probe(&["--profile", &kept], &["write", &file]);
    c.assert_code(0);
    assert_eq!(c.err(0), "EROFS", "{c}");
});

sbx_test!(named_profile_with_drop_in, |ctx| {
    let name = ctx.unique("profile");
    let levels: Vec<_> =
        [".config", ".config/sbx", ".config/sbx/profiles"].iter().map(|p| ctx.home().join(p)).collect();
    let dir = levels[2].clone();
    let dropins = dir.join(format!("{name}.conf.d"));
    // Afterwards remove the first directory on the way that this test creates.
    let first_new = levels.iter().find(|p| !p.exists()).cloned();
    ctx.remove_later(&first_new.unwrap_or_else(|| dropins.clone()));
    ctx.remove_later(&dir.join(format!("{name}.conf")));
    fs::create_dir_all(&dropins).unwrap();
    for p in levels.iter().chain([&dropins]) {
        ctx.give(p);
    }
    ctx.host_file(&dir.join(format!("{name}.conf")), "[Service]\nNoNewPrivileges=yes\n");
    let c = ctx.run_probe(&["--profile", &name], &["caps"]);
    c.assert_code(0);
    assert_eq!(c.field(0, "NoNewPrivs"), "1", "the profile is found by name\n{c}");
    ctx.host_file(&dropins.join("10-off.conf"), "[Service]\nNoNewPrivileges=no\n");
    let t = ctx.run_probe(&["--profile", &name], &["caps"]);
    t.assert_code(0);
    assert_eq!(t.field(0, "NoNewPrivs"), "0", "the drop-in applies after the profile\n{t}");
});

sbx_test!(check_command, |ctx| {
    let good = ctx.profile("good.conf", "[Service]\nProtectSystem=strict\nPrivateTmp=yes\n");
    let bad = ctx.profile("bad.conf", "[Service]\nPrivateTmp=yes\nProtectSystem=bogus\n");
    ctx.run(&["check", &good]).assert_code(0);
    let out = ctx.run(&["check", &bad]);
    assert_ne!(out.code, Some(0), "{out}");
    let all = format!("{}{}", out.stdout, out.stderr);
    assert!(all.contains("bad.conf:3") && all.contains("ProtectSystem"), "{out}");
    ctx.run(&["check", "default", "strict", "web"]).assert_code(0);
});

sbx_test!(profiles_command_lists_builtins, |ctx| {
    let out = ctx.run(&["profiles"]);
    out.assert_code(0);
    for name in ["default", "strict", "web"] {
        assert!(out.stdout.contains(name), "{out}");
    }
});

sbx_test!(show_prints_unit_syntax, |ctx| {
    let out = ctx.run(&["show", "default"]);
    out.assert_code(0);
    assert!(out.stdout.contains("[Service]"), "{out}");
    for key in ["ProtectSystem=strict", "ProtectHome=read-only", "PrivateTmp=", "NoNewPrivileges="] {
        assert!(out.stdout.contains(key), "{key}\n{out}");
    }
    let web = ctx.run(&["show", "web"]);
    web.assert_code(0);
    assert!(web.stdout.contains("User=www-data"), "{web}");
    assert!(web.stdout.contains("AmbientCapabilities=CAP_NET_BIND_SERVICE"), "{web}");
    let missing = ctx.run(&["show", "sbx-test-no-such-profile"]);
    missing.assert_sbx_error();
});
