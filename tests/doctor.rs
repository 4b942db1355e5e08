//! `sbx doctor` under conditions made real on this machine: a normal host; a user namespace
//! whose user.max_user_namespaces is 0; an sbx sandbox whose filter refuses namespaces
//! (RestrictNamespaces=yes, as a container's seccomp profile would); root without
//! CAP_SETFCAP; a /proc with masked paths, as containers have; and the host's cgroup layout.
//! Each treatment has a control run without the condition, and each checks the exit code
//! and the JSON (which must carry the same findings as the text).

#[macro_use]
mod common;

use std::path::Path;
use std::process::Command;

use common::*;
use serde_json::Value;

/// `argv` as the variant's caller: through setpriv when the harness drops from root.
fn as_caller(ctx: &Ctx, argv: &[String]) -> Vec<String> {
    let c = ctx.caller();
    let mut v = Vec::new();
    if c.drop_privileges {
        v.extend([
            "setpriv".into(),
            format!("--reuid={}", c.uid),
            format!("--regid={}", c.gid),
            "--init-groups".into(),
        ]);
    }
    v.extend(argv.iter().cloned());
    v
}

/// Runs a command line to completion, from the scratch directory, with the harness's PATH.
fn run(ctx: &Ctx, argv: &[String]) -> Output {
    let out = Command::new(&argv[0])
        .args(&argv[1..])
        .current_dir(ctx.cwd())
        .env("PATH", PATH)
        .output()
        .unwrap_or_else(|e| panic!("cannot start {argv:?}: {e}"));
    Output {
        cmdline: argv.join(" "),
        code: out.status.code(),
        signal: std::os::unix::process::ExitStatusExt::signal(&out.status),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// `sh -c SCRIPT` as the caller.
fn shell(ctx: &Ctx, script: &str) -> Output {
    run(ctx, &as_caller(ctx, &["sh".into(), "-c".into(), script.into()]))
}

fn sbx() -> String {
    sbx_path().to_str().expect("UTF-8 path").to_string()
}

/// The report of a `doctor --json` run, checked for consistency with its exit code.
fn report(out: &Output) -> Value {
    let v: Value = serde_json::from_str(&out.stdout).unwrap_or_else(|e| panic!("doctor --json: {e}\n{out}"));
    let degraded = v["findings"].as_array().expect("findings").iter().any(|f| f["degrades"] == true);
    assert_eq!(v["full_isolation"], !degraded, "{out}");
    assert_eq!(v["exit_code"], if degraded { 1 } else { 0 }, "{out}");
    assert_eq!(out.code, v["exit_code"].as_i64().map(|c| c as i32), "the exit code is the report's\n{out}");
    v
}

fn finding<'a>(v: &'a Value, id: &str) -> &'a Value {
    v["findings"].as_array().unwrap().iter().find(|f| f["id"] == id).unwrap_or_else(|| panic!("no finding {id}: {v:#}"))
}

fn details(f: &Value) -> String {
    f["details"].as_array().unwrap().iter().map(|d| d.as_str().unwrap()).collect::<Vec<_>>().join("\n")
}

fn fixes(f: &Value) -> Vec<Value> {
    f["fixes"].as_array().unwrap().clone()
}

sbx_test!(normal_host_allows_user_namespaces, |ctx| {
    let out = ctx.run(&["doctor", "--json"]);
    let v = report(&out);
    for id in ["kernel", "userns", "root-map", "procfs", "seccomp"] {
        assert_eq!(finding(&v, id)["status"], "ok", "{id}\n{out}");
    }
    // Only cgroup limits can cost full isolation on these machines (cgroup v2 without
    // controllers): the exit code is 1 exactly when sbx enforces them and they are missing.
    for f in v["findings"].as_array().unwrap().iter().filter(|f| f["degrades"] == true) {
        assert_eq!(f["id"], "cgroup", "{out}");
    }
    assert_eq!(v["mode"], if ctx.is_root() { "root" } else { "rootless" });
    assert_eq!(v["uid"], ctx.uid());
    // The text carries the same findings, in the same order, and the same verdict.
    let text = ctx.run(&["doctor"]);
    assert_eq!(text.code, out.code, "{text}");
    let statuses = ["ok ", "missing ", "limited ", "unknown "];
    let lines: Vec<&str> = text.stdout.lines().filter(|l| statuses.iter().any(|s| l.starts_with(s))).collect();
    let findings = v["findings"].as_array().unwrap();
    assert_eq!(lines.len(), findings.len(), "{text}");
    for (line, f) in lines.iter().zip(findings) {
        let want = format!(
            "{:<8} {}: {}",
            f["status"].as_str().unwrap(),
            f["title"].as_str().unwrap(),
            f["summary"].as_str().unwrap()
        );
        assert_eq!(*line, want, "{text}");
    }
    let verdict = if out.code == Some(0) {
        "verdict: full isolation is possible here (exit 0)\n".to_string()
    } else {
        "verdict: degraded (exit 1): some protections cannot be enforced here\n  cgroup v2 limits: ".to_string()
    };
    assert!(text.stdout.contains(&verdict), "{text}");
});

sbx_test!(usage_errors_exit_125, |ctx| {
    let out = ctx.run(&["doctor", "--no-such-option"]);
    out.assert_code(125);
    assert!(out.stdout.is_empty(), "{out}");
});

sbx_test!(zero_user_namespaces_names_the_sysctl, |ctx| {
    // In a user namespace of its own, user.max_user_namespaces can be set to 0 for it and its
    // descendants: doctor (uid 0 there) must name the sysctl and the fix.
    let script = |limit: &str| format!("unshare -Ur sh -c '{limit}exec {} doctor --json'", sbx());
    let t = shell(ctx, &script("echo 0 > /proc/sys/user/max_user_namespaces && "));
    let v = report(&t);
    t.assert_code(1);
    let u = finding(&v, "userns");
    assert_eq!(u["status"], "missing", "{t}");
    assert!(u["summary"].as_str().unwrap().contains("(ENOSPC)"), "{t}");
    assert!(details(u).contains("user namespaces are disabled: user.max_user_namespaces is 0"), "{t}");
    assert!(
        fixes(u)
            .iter()
            .any(|f| f["kind"] == "sysctl" && f["key"] == "user.max_user_namespaces" && f["value"] == "15000"),
        "{t}"
    );
    assert_eq!(u["degrades"], true, "PrivateUsers= cannot be enforced\n{t}");
    // The text says the same.
    let text = shell(ctx, &script("echo 0 > /proc/sys/user/max_user_namespaces && ").replace(" --json", ""));
    text.assert_code(1);
    assert!(text.stdout.contains("fix: sysctl -w user.max_user_namespaces=15000 (to keep it across reboots: echo 'user.max_user_namespaces = 15000' >> /etc/sysctl.d/90-sbx.conf)"), "{text}");
    assert!(text.stdout.contains("verdict: degraded (exit 1)"), "{text}");
    // Control: the same namespace without the limit.
    let c = shell(ctx, &script(""));
    let v = report(&c);
    assert_eq!(finding(&v, "userns")["status"], "ok", "{c}");
    assert_eq!(finding(&v, "root-map")["status"], "ok", "{c}");
});

/// `sbx run --profile BARE -p RestrictNamespaces=VALUE -- sbx doctor --json`.
fn doctor_in_sandbox(ctx: &Ctx, restrict: &str) -> Output {
    let sbx = sbx();
    let r = format!("RestrictNamespaces={restrict}");
    ctx.run(&["run", "--profile", &ctx.bare(), "-p", &r, "--", &sbx, "doctor", "--json"])
}

sbx_test!(a_filter_refusing_namespaces_is_named, |ctx| {
    let t = doctor_in_sandbox(ctx, "yes");
    let v = report(&t);
    t.assert_code(1);
    let u = finding(&v, "userns");
    assert_eq!(u["status"], "missing", "{t}");
    assert!(
        u["summary"].as_str().unwrap().starts_with("unshare(CLONE_NEWUSER) fails: operation not permitted (EPERM)"),
        "{t}"
    );
    let why = details(u);
    assert!(
        why.contains("a seccomp filter refuses unshare(CLONE_NEWUSER)") && why.contains("Seccomp_filters: 1"),
        "{t}"
    );
    assert!(
        fixes(u).iter().any(|f| f["kind"] == "engine" && f["option"] == "--security-opt seccomp=unconfined"),
        "{t}"
    );
    let p = finding(&v, "procfs");
    assert_eq!((p["status"].as_str(), p["degrades"].as_bool()), (Some("missing"), Some(true)), "{t}");
    assert!(details(p).contains("seccomp filter"), "{t}");
    assert!(details(finding(&v, "seccomp")).contains("already runs under 1 seccomp filter"), "{t}");
    // Control: the same sandbox without the restriction lets doctor create namespaces. (Its
    // mounts there are refused by the sandbox's Landlock domain, which doctor names.)
    let c = doctor_in_sandbox(ctx, "no");
    let v = report(&c);
    assert_eq!(finding(&v, "userns")["status"], "ok", "{c}");
    let p = finding(&v, "procfs");
    assert!(p["status"] == "ok" || details(p).contains("Landlock domain"), "{c}");
});

sbx_test!(root: root_without_cap_setfcap_cannot_map_root, |ctx| {
    let t = run(ctx, &["setpriv".into(), "--bounding-set=-setfcap".into(), sbx(), "doctor".into(), "--json".into()]);
    let v = report(&t);
    t.assert_code(1);
    let r = finding(&v, "root-map");
    assert_eq!(r["status"], "missing", "{t}");
    assert!(r["summary"].as_str().unwrap().contains("writing \"0 0 1\""), "{t}");
    assert!(details(r).contains("without CAP_SETFCAP"), "{t}");
    assert!(fixes(r).iter().any(|f| f["option"] == "--cap-add SETFCAP"), "{t}");
    assert_eq!(finding(&v, "userns")["status"], "ok", "creating the namespace still works\n{t}");
    // Control: with the capability.
    let c = ctx.run(&["doctor", "--json"]);
    assert_eq!(finding(&report(&c), "root-map")["status"], "ok", "{c}");
});

sbx_test!(masked_proc_is_diagnosed, |ctx| {
    // Containers mount over files in /proc; a new procfs in a user namespace is then refused.
    if !is_root() {
        return ctx.skip("masking /proc needs root to prepare a mount namespace");
    }
    let Some(mask) = ["/proc/kcore", "/proc/keys", "/proc/timer_list"].into_iter().find(|p| Path::new(p).exists())
    else {
        return ctx.skip("no /proc/kcore, /proc/keys or /proc/timer_list to mask");
    };
    let doctor = as_caller(ctx, &[sbx(), "doctor".into(), "--json".into()]).join(" ");
    let script = |prep: &str| format!("{prep}exec {doctor}");
    let unshare = |script: String| {
        run(
            ctx,
            &[
                "unshare".into(),
                "-m".into(),
                "--propagation".into(),
                "private".into(),
                "sh".into(),
                "-c".into(),
                script,
            ],
        )
    };
    let t = unshare(script(&format!("mount --bind /dev/null {mask} && ")));
    let v = report(&t);
    t.assert_code(1);
    let p = finding(&v, "procfs");
    if ctx.is_root() {
        // Root mode needs no user namespace, so only PrivateUsers= is lost.
        assert_eq!(p["status"], "limited", "{t}");
        assert_eq!(p["impact"]["directives"], serde_json::json!(["PrivateUsers"]), "{t}");
    } else {
        assert_eq!(p["status"], "missing", "{t}");
        assert_eq!(p["impact"], "every-sandbox", "{t}");
    }
    assert!(
        p["summary"]
            .as_str()
            .unwrap()
            .contains("mounting the new procfs (fsmount) fails: operation not permitted (EPERM)"),
        "{t}"
    );
    assert!(
        details(p).contains(&format!("/proc is masked: {mask} is mounted over"))
            && details(p).contains("mount_too_revealing"),
        "{t}"
    );
    let options: Vec<Value> = fixes(p).iter().map(|f| f["option"].clone()).collect();
    assert!(
        options.contains(&"--security-opt unmask=ALL".into())
            && options.contains(&"--security-opt systempaths=unconfined".into()),
        "{t}"
    );
    // Control: the same mount namespace without the mask.
    let c = unshare(script(""));
    assert_eq!(finding(&report(&c), "procfs")["status"], "ok", "{c}");
});

sbx_test!(hybrid_cgroups_are_explained, |ctx| {
    let mounts = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    let v2_points: Vec<&str> =
        mounts.lines().filter(|l| l.contains(" - cgroup2 ")).filter_map(|l| l.split(' ').nth(4)).collect();
    let memory_on_v1 = mounts.lines().any(|l| l.contains(" - cgroup ") && l.split(',').any(|o| o.trim() == "memory"));
    if v2_points != ["/sys/fs/cgroup/unified"] || !memory_on_v1 {
        // Elsewhere there is no hybrid layout to explain. Where cgroup v2 holds the
        // controllers (the VM tier), root can use it and doctor says so.
        let pure_v2 = v2_points == ["/sys/fs/cgroup"] && !mounts.contains(" - cgroup ");
        if pure_v2 && ctx.is_root() && std::env::var("SBX_TEST_FEATURES").is_ok_and(|f| f.contains("cgroup2")) {
            let out = ctx.run(&["doctor", "--json"]);
            assert_eq!(finding(&report(&out), "cgroup")["status"], "ok", "{out}");
        } else {
            eprintln!("note: {}: not applicable: the host's cgroups are not the hybrid layout", ctx.name());
        }
        return;
    }
    let out = ctx.run(&["doctor", "--json"]);
    let v = report(&out);
    let f = finding(&v, "cgroup");
    assert_eq!(f["status"], "missing", "{out}");
    let summary = f["summary"].as_str().unwrap();
    assert!(summary.starts_with("cgroup limits are not available"), "{out}");
    assert!(
        summary.contains("/sys/fs/cgroup/unified (hybrid layout)")
            && summary.contains("cgroup v1 hierarchies hold them"),
        "{out}"
    );
    let d = details(f);
    assert!(
        d.contains("memory (MemoryMax=") && d.contains("bound to the cgroup v1 hierarchy at /sys/fs/cgroup/memory"),
        "{out}"
    );
    assert!(
        fixes(f)
            .iter()
            .any(|x| x["kind"] == "boot" && x["parameter"].as_str().unwrap().starts_with("cgroup_no_v1=all")),
        "{out}"
    );
    // Whether it costs full isolation follows the directive table: while sbx refuses the
    // cgroup directives as unsupported, the finding does not degrade the verdict.
    let check = Command::new(sbx_path()).args(["check", &ctx.bare(), "-p", "MemoryMax=64M"]).output().unwrap();
    let refused = String::from_utf8_lossy(&check.stderr).contains("is not supported by sbx yet");
    assert_eq!(f["degrades"], !refused, "{out}");
});
