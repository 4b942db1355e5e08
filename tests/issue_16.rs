//! Issue 16, the attack review: each finding as a test that runs real sandboxes as root and
//! unprivileged, with a control run beside each refusal.
//!
//! - Configuration files (profiles, drop-ins, units, unit drop-ins, EnvironmentFile=) must be
//!   regular files of bounded size: a FIFO, /dev/zero or a huge file is refused at once with the
//!   path and what was expected, never read until sbx hangs or runs out of memory.
//! - `EnvironmentFile=` follows the symlink rule of mount paths: a symlink owned by anyone but
//!   root is refused, so a user cannot point a root-run sbx at a root-only file.

#[macro_use]
mod common;

use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::time::Duration;

use common::*;

/// Long enough for any refusal; a hang (the bug) fails the test at this bound.
const PROMPT: Duration = Duration::from_secs(20);

/// A FIFO at `dir()/rel`, owned by the caller.
fn fifo(ctx: &Ctx, rel: &str) -> String {
    let path = ctx.dir().join(rel);
    let c = CString::new(path.as_os_str().as_bytes()).unwrap();
    // SAFETY: a valid NUL-terminated path; mkfifo reads nothing else.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o666) }, 0, "mkfifo {}", path.display());
    ctx.give(&path);
    path.to_str().unwrap().to_string()
}

/// `sbx run ARGS -- probe ready`, bounded by `PROMPT`: refused with 125 (the payload never
/// printed its line) and `what` on stderr.
fn assert_refused(ctx: &Ctx, args: &[&str], what: &[&str]) {
    let out = ctx.cmd(&probe_args(args, &["ready"])).timeout(PROMPT).run();
    out.assert_sbx_error();
    assert!(!out.stdout.contains("ready"), "the payload ran\n{out}");
    for w in what {
        assert!(out.stderr.contains(w), "stderr lacks {w:?}\n{out}");
    }
}

fn assert_runs(ctx: &Ctx, args: &[&str]) {
    let out = ctx.cmd(&probe_args(args, &["ready"])).timeout(PROMPT).run();
    out.assert_code(0);
    assert_eq!(out.line(0), "ready", "{out}");
}

sbx_test!(issue_16_profile_must_be_a_regular_file, |ctx| {
    let good = ctx.profile("good.conf", "[Service]\nPrivateTmp=yes\n");
    assert_runs(ctx, &["--profile", &good]);
    let pipe = fifo(ctx, "pipe.conf");
    assert_refused(ctx, &["--profile", &pipe], &[&pipe, "FIFO, not a regular file"]);
    assert_refused(ctx, &["--profile", "/dev/zero"], &["/dev/zero", "character device, not a regular file"]);
    let big = ctx.write("big.conf", &format!("[Service]\n{}", "# padding\n".repeat(110_000)));
    assert_refused(ctx, &["--profile", &big], &[&big, "larger than the 1024 KiB"]);
});

sbx_test!(issue_16_profile_dropin_must_be_a_regular_file, |ctx| {
    let profile = ctx.profile("p.conf", "[Service]\nPrivateTmp=yes\n");
    ctx.mkdir("p.conf.d");
    ctx.write("p.conf.d/10-good.conf", "[Service]\nPrivateNetwork=yes\n");
    assert_runs(ctx, &["--profile", &profile]);
    let pipe = fifo(ctx, "p.conf.d/20-pipe.conf");
    assert_refused(ctx, &["--profile", &profile], &[&pipe, "FIFO"]);
});

sbx_test!(issue_16_unit_and_its_dropins_must_be_regular_files, |ctx| {
    let probe = probe_path();
    let unit = ctx.write("u.service", &format!("[Service]\nType=oneshot\nExecStart={} ready\n", probe.display()));
    let run = |unit: &str| ctx.cmd(&["run", "--unit", unit]).timeout(PROMPT).run();
    let out = run(&unit);
    out.assert_code(0);
    assert_eq!(out.line(0), "ready", "{out}");
    let pipe = fifo(ctx, "f.service");
    let out = run(&pipe);
    out.assert_sbx_error();
    assert!(out.stderr.contains(&pipe) && out.stderr.contains("FIFO"), "{out}");
    ctx.mkdir("u.service.d");
    let dropin = fifo(ctx, "u.service.d/10-pipe.conf");
    let out = run(&unit);
    out.assert_sbx_error();
    assert!(out.stderr.contains(&dropin) && out.stderr.contains("FIFO"), "{out}");
    assert!(!out.stdout.contains("ready"), "the unit ran\n{out}");
});

sbx_test!(issue_16_environment_file_must_be_a_regular_file, |ctx| {
    let bare = ctx.bare();
    let file = ctx.write("app.env", "SBXT_F=1\n");
    let directive = |p: &str| format!("EnvironmentFile={p}");
    assert_runs(ctx, &["--profile", &bare, "-p", &directive(&file)]);
    let pipe = fifo(ctx, "app-pipe.env");
    assert_refused(ctx, &["--profile", &bare, "-p", &directive(&pipe)], &["EnvironmentFile", &pipe, "FIFO"]);
    // `-` tolerates a missing file, not one of the wrong kind.
    let optional = directive(&format!("-{pipe}"));
    assert_refused(ctx, &["--profile", &bare, "-p", &optional], &["EnvironmentFile", &pipe, "FIFO"]);
    assert_refused(ctx, &["--profile", &bare, "-p", "EnvironmentFile=/dev/zero"], &["/dev/zero", "character device"]);
});

/// A symlink at `dir()/rel` to `target`, owned by `uid`.
fn symlink_owned_by(ctx: &Ctx, rel: &str, target: &str, uid: u32) -> String {
    let link = ctx.dir().join(rel);
    std::os::unix::fs::symlink(target, &link).unwrap();
    std::os::unix::fs::lchown(&link, Some(uid), None).unwrap();
    link.to_str().unwrap().to_string()
}

sbx_test!(root: issue_16_environment_file_refuses_a_user_owned_symlink, |ctx| {
    let secret = ctx.write("secret.env", "SBXT_SECRET=root-only\n");
    std::os::unix::fs::chown(&secret, Some(0), Some(0)).unwrap();
    ctx.chmod(Path::new(&secret), 0o600);
    let (user, _) = user_ids(&std::env::var("SBX_TEST_USER").unwrap_or_else(|_| "sbx-test".into()))
        .expect("the unprivileged test user exists");
    let planted = symlink_owned_by(ctx, "planted.env", &secret, user);
    let trusted = symlink_owned_by(ctx, "trusted.env", &secret, 0);
    let run = |link: &str| {
        let env = format!("EnvironmentFile={link}");
        ctx.run_probe(&bare_args(&ctx.bare(), &["User=nobody", &env]), &["ids", "env", "SBXT_SECRET"])
    };
    // Control: the same target through a root-owned symlink reaches the payload (root chose it).
    let c = run(&trusted);
    c.assert_code(0);
    assert_eq!(c.ok(1), "root-only", "{c}");
    let t = run(&planted);
    t.assert_sbx_error();
    assert!(
        t.stderr.contains("EnvironmentFile") && t.stderr.contains(&planted) && t.stderr.contains(&format!("uid {user}")),
        "{t}"
    );
    assert!(!t.stdout.contains("root-only"), "{t}");
});

sbx_test!(rootless: issue_16_environment_file_symlink_rule_is_the_mount_rule, |ctx| {
    // The caller's own symlink is refused for EnvironmentFile= as it is for a mount path.
    let file = ctx.write("own.env", "SBXT_OWN=1\n");
    let link = symlink_owned_by(ctx, "own-link.env", &file, ctx.uid());
    let env = format!("EnvironmentFile={link}");
    let t = ctx.run_probe(&bare_args(&ctx.bare(), &[&env]), &["env", "SBXT_OWN"]);
    t.assert_sbx_error();
    assert!(t.stderr.contains(&link) && t.stderr.contains("symlink owned by uid"), "{t}");
    let bind = format!("BindReadOnlyPaths={link}");
    let m = ctx.run_probe(&bare_args(&ctx.bare(), &[&bind]), &["ready"]);
    m.assert_sbx_error();
    assert!(m.stderr.contains("symlink owned by uid"), "{m}");
    // Control: the file itself.
    let c = ctx.probe(&[&format!("EnvironmentFile={file}")], &["env", "SBXT_OWN"]);
    assert_eq!(c.ok(0), "1", "{c}");
});

/// Host pids of the probe (not sbx, whose arguments hold the marker too) running with
/// `marker` among its arguments.
fn probe_pids(marker: &str) -> Vec<i32> {
    let probe = probe_path();
    pids_with_marker(marker)
        .into_iter()
        .filter(|pid| {
            let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            cmdline.split(|b| *b == 0).next() == Some(probe.as_os_str().as_bytes())
        })
        .collect()
}

/// A shell (as the caller) starts `sbx run [OPTION] -- probe stat MARKER sleep 120` in the
/// background and waits; once the probe runs, the shell is killed with SIGKILL. Returns the
/// marker, to look for what is left.
fn orphan_sbx(ctx: &Ctx, option: Option<&str>) -> String {
    let marker = ctx.unique("parent");
    let mut args = vec!["run".to_string(), "--profile".into(), ctx.bare()];
    args.extend(option.map(str::to_string));
    args.extend(["--".into(), probe_path().to_str().unwrap().into(), "stat".into(), marker.clone()]);
    args.extend(["sleep".into(), "120".into()]);
    let mut script_args = vec!["-c".to_string(), r#""$0" "$@" & wait"#.into(), sbx_path().to_str().unwrap().into()];
    script_args.extend(args);
    let mut parent = ctx.host_cmd(Path::new("/bin/sh"), &script_args).spawn();
    let started = wait_until(WAIT, || !probe_pids(&marker).is_empty());
    assert!(started, "the payload did not start\n{}", parent.snapshot());
    parent.kill();
    marker
}

sbx_test!(issue_16_die_with_parent, |ctx| {
    let marker = orphan_sbx(ctx, Some("--die-with-parent"));
    let gone = wait_until(WAIT, || pids_with_marker(&marker).is_empty());
    assert!(gone, "sbx or its payload outlived sbx's parent: pids {:?}", pids_with_marker(&marker));

    // The profile key asks the same.
    let dropin = ctx.profile("dwp.conf", "[X-Sbx]\nDieWithParent=yes\n");
    let marker = orphan_sbx(ctx, Some(&format!("--profile={dropin}")));
    let gone = wait_until(WAIT, || pids_with_marker(&marker).is_empty());
    assert!(gone, "DieWithParent=yes: pids {:?} are left", pids_with_marker(&marker));

    // Control: without it, sbx and the payload outlive the parent (the default, as bwrap's).
    let marker = orphan_sbx(ctx, None);
    std::thread::sleep(Duration::from_secs(2));
    let left = probe_pids(&marker);
    for pid in pids_with_marker(&marker) {
        // SAFETY: kill takes no pointers; these are this test's own processes.
        unsafe { libc::kill(pid, libc::SIGKILL) };
    }
    assert!(!left.is_empty(), "without --die-with-parent the payload ended with the parent");
    assert!(wait_until(WAIT, || pids_with_marker(&marker).is_empty()), "cannot clean up the control run");
});

/// `dir()/name` with a name ending in the byte 0xff (not UTF-8).
fn non_utf8(ctx: &Ctx, name: &str) -> std::path::PathBuf {
    let mut bytes = name.as_bytes().to_vec();
    bytes.push(0xff);
    ctx.dir().join(std::ffi::OsStr::from_bytes(&bytes))
}

sbx_test!(issue_16_arguments_reach_execve_as_bytes, |ctx| {
    let bare = ctx.bare();
    let hex = r#"printf %s "$1" | od -An -tx1"#;
    let mut arg = b"A".to_vec();
    arg.push(0xff);
    let arg = std::ffi::OsStr::from_bytes(&arg);
    let args: Vec<&std::ffi::OsStr> =
        ["run", "--profile", &bare, "--", "/bin/sh", "-c", hex, "sh"].into_iter().map(std::ffi::OsStr::new).collect();
    let out = ctx.cmd(&[&args[..], &[arg]].concat()).run();
    out.assert_code(0);
    assert_eq!(out.stdout.split_whitespace().collect::<Vec<_>>(), ["41", "ff"], "{out}");
    // Control: the same bytes as UTF-8 text ("A\u{ff}" is 41 c3 bf) differ, so the check sees bytes.
    let out = ctx.cmd(&[&args[..], &[std::ffi::OsStr::new("A\u{ff}")]].concat()).run();
    out.assert_code(0);
    assert_eq!(out.stdout.split_whitespace().collect::<Vec<_>>(), ["41", "c3", "bf"], "{out}");

    // The command path too, and --dry-run shows it escaped.
    let tool = non_utf8(ctx, "tool-");
    std::fs::write(&tool, "#!/bin/sh\necho \"tool ran with $1\"\n").unwrap();
    ctx.chmod(&tool, 0o755);
    ctx.give(&tool);
    let run = |extra: &[&str]| {
        let mut a: Vec<&std::ffi::OsStr> = ["run", "--profile", &bare].into_iter().map(std::ffi::OsStr::new).collect();
        a.extend(extra.iter().map(std::ffi::OsStr::new));
        a.extend([std::ffi::OsStr::new("--"), tool.as_os_str(), std::ffi::OsStr::new("x")]);
        ctx.cmd(&a).run()
    };
    let out = run(&[]);
    out.assert_code(0);
    assert_eq!(out.stdout.trim(), "tool ran with x", "{out}");
    let out = run(&["--dry-run"]);
    out.assert_code(0);
    assert!(out.stdout.contains(r"tool-\xFF"), "--dry-run escapes the byte\n{out}");
});

sbx_test!(issue_16_working_directory_is_never_a_silent_root, |ctx| {
    let bare = ctx.bare();
    // Control: started in a directory the sandbox shows, the payload starts there.
    let c = ctx.probe(&[], &["cwd"]);
    assert_eq!(c.ok(0), ctx.cwd().to_str().unwrap(), "{c}");

    // A directory whose name is not UTF-8: refused, not replaced by /.
    let odd = non_utf8(ctx, "cwd-");
    std::fs::create_dir(&odd).unwrap();
    ctx.give(&odd);
    let out = ctx.cmd(&probe_args(&["--profile", &bare], &["cwd"])).cwd(&odd).run();
    out.assert_sbx_error();
    assert!(out.stderr.contains("not valid UTF-8") && out.stderr.contains("WorkingDirectory="), "{out}");
    assert!(out.stdout.is_empty(), "the payload ran\n{out}");

    // A directory the sandbox does not have (an empty tmpfs over its parent): an error naming
    // it, not a run in /.
    let hidden = ctx.mkdir("hidden");
    let hide = format!("TemporaryFileSystem={}", ctx.dir().display());
    let shown = ctx.cmd(&probe_args(&bare_args(&bare, &[]), &["cwd"])).cwd(&hidden).run();
    shown.assert_code(0);
    assert_eq!(shown.ok(0), hidden, "{shown}");
    let out = ctx.cmd(&probe_args(&bare_args(&bare, &[&hide]), &["cwd"])).cwd(&hidden).run();
    out.assert_sbx_error();
    assert!(out.stderr.contains(&hidden) && out.stderr.contains("where sbx was started"), "{out}");
    assert!(out.stdout.is_empty(), "the payload ran\n{out}");
});
