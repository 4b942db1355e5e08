//! Safe by default: no guarantee of a shipped profile depends on where, or as whom, sbx is
//! started (issue 16).
//!
//! - `WritableWorkingDirectory=` never undoes a protection: started from the home directory,
//!   /tmp, /, /etc (and the other shared or system places) under `default` and `strict`, sbx
//!   refuses and names the directive, the directory and the fix, in the dry run, the run and
//!   the no-namespace tier alike; from a project directory it runs (the control).
//! - As root, `strict`'s payload is root only inside the sandbox (`HostRoot=no`): root's 0600
//!   files and sockets are out of its reach, while the working directory is its own and what
//!   it writes there is root's on the host. `-p HostRoot=yes` is the control.
//! - `default` keeps the kernel's tunables out of reach, root or not.

#[macro_use]
mod common;

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use common::*;

/// Where a user might start sbx that must not become writable: the home directory, the shared
/// temporary directories, the host's root and a system directory.
fn unsafe_places(ctx: &Ctx) -> Vec<PathBuf> {
    let mut places = vec![ctx.home().to_path_buf()];
    places.extend(["/tmp", "/var/tmp", "/dev/shm", "/", "/etc", "/usr/lib"].iter().map(PathBuf::from));
    places
}

sbx_test!(the_working_directory_never_undoes_a_profile, |ctx| {
    for profile in ["default", "strict"] {
        for place in unsafe_places(ctx) {
            let args = probe_args(&["--profile", profile], &["marker", "ran"]);
            let out = ctx.cmd(&args).cwd(&place).run();
            out.assert_code(125);
            let dir = place.to_str().unwrap();
            assert!(
                out.stderr.contains("WritableWorkingDirectory") && out.stderr.contains(&format!("directory {dir} ")),
                "{profile} from {dir}: the refusal names the directive and the directory\n{out}"
            );
            assert!(out.stderr.contains("-p WritableWorkingDirectory=no"), "the fix is named\n{out}");
            assert!(!out.stdout.contains("ran"), "nothing ran\n{out}");
            // The plan says the same as the run.
            let plan = ctx.cmd(&["run", "--dry-run", "--profile", profile, "--", "true"]).cwd(&place).run();
            plan.assert_code(125);
            assert!(plan.stderr.contains("WritableWorkingDirectory"), "--dry-run refuses too\n{plan}");
        }
        // Control: from a project directory the same profile runs, and the directory is writable.
        let file = ctx.cwd().join(format!("written-{profile}"));
        ctx.remove_later(&file);
        let t = ctx.run_probe(&["--profile", profile], &["write", file.to_str().unwrap()]);
        t.assert_code(0);
        t.ok(0);
    }
});

sbx_test!(started_anywhere_the_profiles_write_nothing_outside, |ctx| {
    // Told not to make the working directory writable, sbx runs from anywhere, and from
    // there the payload writes nothing on the host: not in that directory, not in the home.
    for profile in ["default", "strict"] {
        for place in unsafe_places(ctx) {
            let name = ctx.unique("escape");
            let here = place.join(&name);
            let home = ctx.home().join(&name);
            ctx.remove_later(&here);
            ctx.remove_later(&home);
            let args = ["--profile", profile, "-p", "WritableWorkingDirectory=no", "-p", "WorkingDirectory=/"];
            let out = ctx
                .cmd(&probe_args(&args, &["write", here.to_str().unwrap(), "write", home.to_str().unwrap()]))
                .cwd(&place)
                .run();
            out.assert_code(0);
            // A private /tmp or /dev/shm takes the write; the host never sees it.
            for p in [&here, &home] {
                assert!(
                    !p.exists(),
                    "{profile} from {}: {} stays unwritten on the host\n{out}",
                    place.display(),
                    p.display()
                );
            }
            assert!(!out.is_ok(1), "the home directory is not writable\n{out}");
        }
    }
});

/// `sbx run OUTER -- sbx run INNER -- probe OPS` from `cwd`: the inner sbx cannot create
/// namespaces (the outer filter refuses them), so `--best-effort` takes the no-namespace tier.
fn nested_from(ctx: &Ctx, cwd: &Path, inner: &[&str], ops: &[&str]) -> Output {
    let sbx = sbx_path();
    let mut args: Vec<String> =
        ["run", "--profile", &ctx.bare(), "-p", "RestrictNamespaces=yes", "--"].iter().map(|s| s.to_string()).collect();
    args.extend([sbx.to_str().unwrap().to_string(), "run".to_string()]);
    args.extend(inner.iter().map(|s| s.to_string()));
    args.extend(["--".to_string(), probe_path().to_str().unwrap().to_string()]);
    args.extend(ops.iter().map(|s| s.to_string()));
    ctx.cmd(&args.iter().map(String::as_str).collect::<Vec<_>>()).cwd(cwd).run()
}

sbx_test!(best_effort_keeps_the_working_directory_rule, |ctx| {
    for place in [Path::new("/"), Path::new("/etc")] {
        let out = nested_from(ctx, place, &["--best-effort", "--profile", "strict"], &["marker", "ran"]);
        out.assert_code(125);
        assert!(
            out.stderr.contains("WritableWorkingDirectory") && !out.stdout.contains("ran"),
            "the no-namespace tier refuses {} as well\n{out}",
            place.display()
        );
    }
    // Control: from the project directory the tier runs and the directory is writable.
    let file = ctx.cwd().join("best-effort-written");
    ctx.remove_later(&file);
    let out =
        nested_from(ctx, &ctx.cwd(), &["--best-effort", "--profile", "strict"], &["write", file.to_str().unwrap()]);
    out.assert_code(0);
    out.ok(0);
    // Without a user namespace strict's HostRoot=no cannot hold for root, and the report says so.
    let want = if ctx.is_root() { "HostRoot=: NOT enforced" } else { "HostRoot=: enforced: rootless" };
    assert!(out.stderr.contains(want), "{want}\n{out}");
});

sbx_test!(strict_payload_is_not_host_root, |ctx| {
    let secret = ctx.write("secret", "s3cret\n");
    ctx.chmod(Path::new(&secret), 0o600);
    let sock_path = ctx.path("owner-only.sock");
    let listener = std::os::unix::net::UnixListener::bind(&sock_path).unwrap();
    ctx.give(Path::new(&sock_path));
    ctx.chmod(Path::new(&sock_path), 0o600);
    let made = ctx.cwd().join("made-by-payload");
    ctx.remove_later(&made);
    let ops = ["ids", "read", &secret, "unix-connect", &sock_path, "write", made.to_str().unwrap()];
    let t = ctx.run_probe(&["--profile", "strict", "-p", "RestrictAddressFamilies=AF_UNIX"], &ops);
    t.assert_code(0);
    t.ok(3); // the working directory is the payload's to write
    let c =
        ctx.run_probe(&["--profile", "strict", "-p", "RestrictAddressFamilies=AF_UNIX", "-p", "HostRoot=yes"], &ops);
    c.assert_code(0);
    c.ok(1);
    c.ok(2);
    if ctx.is_root() {
        assert_eq!(t.field(0, "uid"), "0", "root inside the sandbox\n{t}");
        assert_eq!(t.err(1), "EACCES", "root's 0600 file is out of reach\n{t}");
        assert_eq!(t.err(2), "EACCES", "root's 0600 socket is out of reach\n{t}");
        assert_eq!(std::fs::metadata(&made).unwrap().uid(), 0, "what the payload writes is root's on the host");
    } else {
        // Rootless the payload is the caller already: HostRoot= changes nothing.
        t.ok(1);
        t.ok(2);
        assert_eq!(std::fs::metadata(&made).unwrap().uid(), ctx.uid());
    }
    drop(listener);
});

sbx_test!(default_keeps_the_kernel_out_of_reach, |ctx| {
    let ops = ["mount", "/proc/sys", "mount", "/sys", "mount", "/sys/fs/cgroup"];
    let t = ctx.run_probe(&["--profile", "default"], &ops);
    t.assert_code(0);
    for i in 0..3 {
        assert!(t.words(i)[2].split(',').any(|o| o == "ro"), "line {i} is read-only under default\n{t}");
    }
    // Control: the bare profile leaves /proc/sys part of a writable /proc.
    let c = ctx.probe(&[], &ops);
    assert!(!c.words(0)[2].split(',').any(|o| o == "ro"), "{c}");
});

sbx_test!(the_sandbox_never_outlives_sbx, |ctx| {
    // strict as root changes pid 1's credentials (HostRoot=no), which clears a parent-death
    // signal: the sandbox must still end with sbx. The bare profile is the control that it
    // always did.
    for profile in [ctx.bare(), "strict".to_string()] {
        let marker = ctx.unique("outlive");
        let sbx = ctx.spawn(&probe_args(&["--profile", &profile], &["stat", &marker, "sleep", "120"]));
        let probe = probe_path();
        let payload_runs = || {
            pids_with_marker(&marker).into_iter().any(|pid| {
                let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
                cmdline.split(|b| *b == 0).next() == Some(std::os::unix::ffi::OsStrExt::as_bytes(probe.as_os_str()))
            })
        };
        assert!(wait_until(std::time::Duration::from_secs(20), payload_runs), "{}", sbx.snapshot());
        sbx.signal(libc::SIGKILL);
        let gone = wait_until(std::time::Duration::from_secs(20), || pids_with_marker(&marker).is_empty());
        assert!(gone, "{profile}: pids {:?} outlived sbx", pids_with_marker(&marker));
    }
});

sbx_test!(default_keeps_the_hosts_ipc_apart, |ctx| {
    // As root, default's payload attached and wrote a root process's System V segment; its IPC
    // objects are now its own.
    let key = ctx.host_msg_queue().to_string();
    let t = ctx.run_probe(&["--profile", "default"], &["sysv-msgq", &key]);
    t.assert_code(0);
    assert_eq!(t.err(0), "ENOENT", "the host's queue is not visible under default\n{t}");
    let c = ctx.probe(&[], &["sysv-msgq", &key]);
    c.ok(0);
});

sbx_test!(root: a_run_name_never_takes_over_a_host_directory, |ctx| {
    // web's RuntimeDirectory=%N with a run named `user` would have given /run/user to
    // www-data and removed it at the end.
    std::fs::create_dir_all("/run/user").unwrap();
    let before = std::fs::metadata("/run/user").unwrap();
    let out = ctx.run_probe(&["--profile", "web", "--name", "user"], &["marker", "ran"]);
    out.assert_code(125);
    assert!(out.stderr.contains("/run/user already exists and belongs to uid 0"), "{out}");
    let after = std::fs::metadata("/run/user").unwrap();
    assert_eq!((after.uid(), after.ino()), (0, before.ino()), "/run/user is untouched");
    // A name that is not one component is refused before anything is planned.
    for bad in ["a/b", "a b"] {
        let out = ctx.run_probe(&["--profile", "web", "--name", bad], &["marker", "ran"]);
        out.assert_code(125);
        assert!(out.stderr.contains("--name"), "{out}");
    }
    // Control: a name of its own runs, and its runtime directory is gone afterwards.
    let name = ctx.unique("web");
    ctx.remove_later(Path::new(&format!("/var/log/{name}")));
    let out = ctx.run_probe(&["--profile", "web", "--name", &name], &["stat", &format!("/run/{name}")]);
    out.assert_code(0);
    out.ok(0);
    assert!(!Path::new(&format!("/run/{name}")).exists());
});

/// Unmounts a bind mount the test made when dropped.
struct BindGuard(String);

impl Drop for BindGuard {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount").arg(&self.0).status();
    }
}

fn bind(source: &str, target: &str) -> BindGuard {
    let ok = std::process::Command::new("mount").args(["--bind", source, target]).status().unwrap().success();
    assert!(ok, "mount --bind {source} {target}");
    BindGuard(target.to_string())
}

sbx_test!(root: a_bind_mount_does_not_smuggle_a_protected_directory, |ctx| {
    // The red team bound /etc/x (and /run, /tmp) at a harmless-looking path and ran from
    // there; the rule judged the path, not the directory.
    let etc_dir = Path::new("/etc").join(ctx.unique("etc"));
    std::fs::create_dir(&etc_dir).unwrap();
    ctx.remove_later(&etc_dir);
    let etc_dir = etc_dir.to_str().unwrap();
    let alias = ctx.mkdir("alias");
    let _alias = bind(etc_dir, &alias);
    let project = ctx.mkdir("project");
    let sub = ctx.mkdir("project/sub");
    let _sub = bind(etc_dir, &sub);
    let tmp_alias = ctx.mkdir("tmp-alias");
    let _tmp = bind("/tmp", &tmp_alias);
    for (cwd, named) in [(&alias, etc_dir), (&project, etc_dir), (&tmp_alias, "/tmp")] {
        for profile in ["default", "strict"] {
            let out = ctx.cmd(&probe_args(&["--profile", profile], &["write", "x"])).cwd(cwd.as_str()).run();
            out.assert_code(125);
            assert!(out.stderr.contains(&format!("same directory as {named}")), "{profile} from {cwd}\n{out}");
        }
    }
    assert!(std::fs::read_dir(etc_dir).unwrap().next().is_none(), "nothing was written to {etc_dir}");
    // Control: the project without the smuggled mount runs.
    drop(_sub);
    let out = ctx.cmd(&probe_args(&["--profile", "default"], &["write", "x"])).cwd(project.as_str()).run();
    out.assert_code(0);
    out.ok(0);
});

sbx_test!(a_variable_that_is_not_utf8_passes_as_bytes, |ctx| {
    // default passes LANG; its bytes reach the payload as they are, never dropped.
    let run = |value: &str, ops: &[&str]| {
        let script = format!(r#"LANG=$(printf '{value}') exec "$0" "$@""#);
        let mut args = vec!["-c".to_string(), script, sbx_path().to_str().unwrap().to_string()];
        args.extend(probe_args(&["--profile", "default"], ops));
        ctx.host_cmd(Path::new("/bin/sh"), &args).run()
    };
    let out = run("a\\377", &["env", "LANG"]);
    out.assert_code(0);
    assert_eq!(out.ok(0), "a\\xff", "the byte 0xff arrives as it is\n{out}");
    let c = run("C.UTF-8", &["env", "LANG"]);
    c.assert_code(0);
    assert_eq!(c.ok(0), "C.UTF-8", "{c}");
});

sbx_test!(the_working_directory_refusal_offers_only_fixes_that_work, |ctx| {
    let cwd = ctx.cwd();
    let dir = cwd.to_str().unwrap();
    // The scratch directory read-only, the working directory inside it.
    let ro = format!("ReadOnlyPaths={}", ctx.dir().to_str().unwrap());
    let file = cwd.join("named-writable");
    ctx.remove_later(&file);
    let ops = ["write", file.to_str().unwrap()];
    let out = ctx.run_probe(&["--profile", "default", "-p", &ro], &ops);
    out.assert_code(125);
    let fix = format!("-p WritableWorkingDirectory=no -p ReadWritePaths={dir}");
    assert!(out.stderr.contains(&fix), "a read-only directory can be named writable\n{out}");
    // The fix as printed works.
    let rw = format!("ReadWritePaths={dir}");
    let t = ctx.run_probe(&["--profile", "default", "-p", &ro, "-p", "WritableWorkingDirectory=no", "-p", &rw], &ops);
    t.assert_code(0);
    t.ok(0);
    // Where the directory is the sandbox's own (/tmp), naming it would not help: not offered.
    let out = ctx.cmd(&probe_args(&["--profile", "default"], &ops)).cwd("/tmp").run();
    out.assert_code(125);
    assert!(!out.stderr.contains("ReadWritePaths="), "{out}");
});
