//! The sandbox's file system seen from inside: the tmpfs root with the host's top-level
//! entries (or, strict and without CAP_SYS_ADMIN, the host's root cloned), ProtectSystem=,
//! ProtectHome=, PrivateTmp=, ReadWritePaths=, ReadOnlyPaths=, InaccessiblePaths=,
//! BindPaths=, BindReadOnlyPaths= and TemporaryFileSystem=.
//!
//! Every test applies directives to the bare profile and pairs each forbidden operation with a
//! control run in which the same operation is allowed (or fails differently), so a directive
//! that does nothing fails the test. Writes that a control run makes on the host are removed
//! when the test ends.

#[macro_use]
mod common;

use std::collections::BTreeSet;
use std::fs;
use std::path::Path;

use common::*;

sbx_test!(tmpfs_root_holds_host_top_level_entries, |ctx| {
    let out = ctx.probe(&[], &["mount", "/", "ls", "/", "ns", "mnt"]);
    assert_eq!(out.words(0)[1], "tmpfs", "the root must be a fresh tmpfs\n{out}");
    let inside: BTreeSet<&str> = out.words(1).into_iter().collect();
    for name in host_ls("/") {
        assert!(inside.contains(name.as_str()), "host's /{name} is missing inside\n{out}");
    }
    let host = ctx.direct(&["ns", "mnt"]);
    assert_ne!(out.line(2), host.line(0), "the sandbox must have its own mount namespace");
});

sbx_test!(a_strict_root_the_payload_cannot_unmount_is_the_hosts_own, |ctx| {
    // Without CAP_SYS_ADMIN for the payload, ProtectSystem=strict clones the host's root
    // mount with everything below it, read-only, instead of mirroring its top level in a tmpfs.
    let host_tmp = Path::new("/tmp").join(ctx.unique("covered"));
    fs::write(&host_tmp, "host\n").unwrap();
    ctx.remove_later(&host_tmp);
    let ops = ["mount", "/", "ls", "/", "write", "/sbx-probe-top", "ls", "/tmp", "ls", "/proc", "mount", "/sys"];
    let t = ctx.probe(&["ProtectSystem=strict", "PrivateTmp=yes", "CapabilityBoundingSet="], &ops);
    let host = ctx.direct(&["mount", "/"]);
    assert_eq!(t.words(0)[1], host.words(0)[1], "the root must be the host's file system\n{t}");
    assert!(t.words(0)[2].split(',').any(|o| o == "ro"), "the root must be read-only\n{t}");
    let inside: BTreeSet<&str> = t.words(1).into_iter().collect();
    for name in host_ls("/") {
        assert!(inside.contains(name.as_str()), "host's /{name} is missing inside\n{t}");
    }
    assert_eq!(t.err(2), "EROFS", "{t}");
    assert!(!Path::new("/sbx-probe-top").exists(), "a refused write reached the host");
    // What sbx mounts covers the host's mounts and files there.
    let name = host_tmp.file_name().unwrap().to_str().unwrap();
    assert!(!t.words(3).contains(&name), "the host's /tmp shows through PrivateTmp=\n{t}");
    let pids = t.words(4).iter().filter(|w| w.parse::<u32>().is_ok()).count();
    assert!(pids <= 3, "/proc must be the sandbox's, not the host's\n{t}");
    let sys = t.words(5);
    assert!(sys[0] == "/sys" && sys[2].split(',').any(|o| o == "ro"), "/sys must be read-only\n{t}");
    // Control: with CAP_SYS_ADMIN in the bounding set, the mirror.
    let c = ctx.probe(&["ProtectSystem=strict", "PrivateTmp=yes", "CapabilityBoundingSet=CAP_SYS_ADMIN"], &ops[..2]);
    assert_eq!(c.words(0)[1], "tmpfs", "{c}");
});

sbx_test!(no_new_privileges_keeps_a_non_root_payload_from_uncovering_the_clone, |ctx| {
    // CAP_SYS_ADMIN stays in the bounding set, but a payload that is not uid 0 has no
    // capability after execve, and no_new_privs keeps setuid programs and file capabilities
    // from granting one: the clone is used. Unmounting a cover fails, here and in a user
    // namespace of the payload's own (the covers came locked to what they cover).
    let user: &[&str] = if ctx.is_root() { &["User=nobody"] } else { &[] };
    let mut directives = vec!["ProtectSystem=strict", "PrivateTmp=yes", "NoNewPrivileges=yes"];
    directives.extend_from_slice(user);
    let ops = ["mount", "/", "umount", "/tmp", "here", "umount", "/tmp", "nested", "umount", "/proc", "nested"];
    let t = ctx.probe(&directives, &ops);
    let host = ctx.direct(&["mount", "/"]);
    assert_eq!(t.words(0)[1], host.words(0)[1], "the root must be the host's, cloned\n{t}");
    assert_eq!(t.err(1), "EPERM", "{t}");
    assert_eq!(t.err(2), "EINVAL", "a locked mount cannot be unmounted\n{t}");
    assert_eq!(t.err(3), "EINVAL", "{t}");
    // Control: without no_new_privs the mirror (a tmpfs root), whose covers hide nothing.
    directives.retain(|d| *d != "NoNewPrivileges=yes");
    let c = ctx.probe(&directives, &ops[..2]);
    assert_eq!(c.words(0)[1], "tmpfs", "{c}");
});

sbx_test!(the_host_root_is_gone_once_the_sandbox_runs, |ctx| {
    // After pivot_root the host root sits on the sandbox's root until it is detached; ".."
    // from a top-level directory would step into it. With and without the tmpfs holding the
    // inaccessible inodes (stacked on the host root while the root is built), with the mirror
    // and with the host's root cloned.
    let ops = ["mounts-at", "/", "same-file", "/etc/..", "/", "same-file", "/usr/..", "/"];
    for directives in [
        &["ProtectSystem=strict", "CapabilityBoundingSet="][..],
        &["ProtectSystem=strict", "CapabilityBoundingSet=", "InaccessiblePaths=/etc/hostname -/opt"],
        &["ProtectSystem=strict", "InaccessiblePaths=/etc/hostname -/opt"],
        &["ProtectSystem=full", "ProtectKernelTunables=yes"],
    ] {
        let t = ctx.probe(directives, &ops);
        assert_eq!(t.ok(0), "1", "one mount at / (the sandbox's), with {directives:?}\n{t}");
        assert_eq!(t.ok(1), "yes", "/etc/.. must be the sandbox's root, with {directives:?}\n{t}");
        assert_eq!(t.ok(2), "yes", "{t}");
    }
});

sbx_test!(protect_system_strict_makes_everything_read_only, |ctx| {
    let data = ctx.mkdir("data");
    let file = format!("{data}/new");
    let ops = ["write", &file, "write", "/dev/null", "read", "/proc/self/comm"];
    let t = ctx.probe(&["ProtectSystem=strict"], &ops);
    assert_eq!(t.err(0), "EROFS", "{t}");
    assert!(!Path::new(&file).exists(), "a refused write reached the host");
    t.ok(1); // the API file systems are governed by their own directives
    t.ok(2);
    let c = ctx.probe(&["ProtectSystem=no"], &ops);
    c.ok(0);
    assert_eq!(fs::read_to_string(&file).unwrap(), "probe\n", "the control write must reach the host");
});

sbx_test!(protect_system_yes_protects_usr_not_etc, |ctx| {
    let usr = Path::new("/usr").join(ctx.unique("usr"));
    let etc = Path::new("/etc").join(ctx.unique("etc"));
    ctx.remove_later(&usr);
    ctx.remove_later(&etc);
    let data = format!("{}/new", ctx.mkdir("data"));
    let ops = ["write", usr.to_str().unwrap(), "write", etc.to_str().unwrap(), "write", &data];
    let t = ctx.probe(&["ProtectSystem=yes"], &ops);
    assert_eq!(t.err(0), "EROFS", "/usr must be read-only\n{t}");
    assert_ne!(t.line(1), "err EROFS", "/etc stays writable with ProtectSystem=yes\n{t}");
    t.ok(2);
    let c = ctx.probe(&["ProtectSystem=no"], &ops);
    assert_ne!(c.line(0), "err EROFS", "{c}");
    if ctx.is_root() {
        c.ok(0);
        assert!(usr.exists(), "the control write to /usr must reach the host");
    }
});

sbx_test!(protect_system_full_protects_etc, |ctx| {
    let etc = Path::new("/etc").join(ctx.unique("etc"));
    let usr = Path::new("/usr").join(ctx.unique("usr"));
    ctx.remove_later(&etc);
    ctx.remove_later(&usr);
    let data = format!("{}/new", ctx.mkdir("data"));
    let ops = ["write", etc.to_str().unwrap(), "write", usr.to_str().unwrap(), "write", &data];
    let t = ctx.probe(&["ProtectSystem=full"], &ops);
    assert_eq!(t.err(0), "EROFS", "/etc must be read-only\n{t}");
    assert_eq!(t.err(1), "EROFS", "/usr must be read-only\n{t}");
    t.ok(2);
    let c = ctx.probe(&["ProtectSystem=yes"], &ops);
    assert_ne!(c.line(0), "err EROFS", "{c}");
    if ctx.is_root() {
        c.ok(0);
    }
});

/// A new file in the caller's home directory: (its path, its name).
fn home_file(ctx: &Ctx) -> (String, String) {
    let name = ctx.unique("home");
    let file = ctx.host_file(&ctx.home().join(&name), "secret\n");
    (file, name)
}

sbx_test!(protect_home_yes_hides_home, |ctx| {
    let (file, _) = home_file(ctx);
    let home = ctx.home().to_str().unwrap();
    let ops = ["read", &file, "ls", home, "ls", "/home", "ls", "/root", "ls", "/run/user"];
    let t = ctx.probe(&["ProtectHome=yes"], &ops);
    assert!(t.line(0).starts_with("err "), "home files must be unreachable\n{t}");
    for i in 1..5 {
        assert!(t.line(i) == "ok" || t.line(i).starts_with("err "), "must be empty or inaccessible\n{t}");
    }
    let c = ctx.probe(&["ProtectHome=no"], &ops);
    assert_eq!(c.ok(0), "secret\\n", "{c}");
});

sbx_test!(protect_home_read_only, |ctx| {
    let (file, _) = home_file(ctx);
    let new = ctx.home().join(ctx.unique("new"));
    ctx.remove_later(&new);
    let ops = ["read", &file, "write", new.to_str().unwrap()];
    let t = ctx.probe(&["ProtectHome=read-only"], &ops);
    assert_eq!(t.ok(0), "secret\\n", "{t}");
    assert_eq!(t.err(1), "EROFS", "{t}");
    let c = ctx.probe(&["ProtectHome=no"], &ops);
    c.ok(1);
    assert!(new.exists(), "the control write must reach the host");
});

sbx_test!(protect_home_tmpfs_shows_empty_read_only_dirs, |ctx| {
    let (file, name) = home_file(ctx);
    let home = ctx.home().to_str().unwrap();
    let ops = ["read", &file, "ls", home, "ls", "/home", "write", "/home/x"];
    let t = ctx.probe(&["ProtectHome=tmpfs"], &ops);
    assert!(t.line(0).starts_with("err "), "{t}");
    assert!(!t.line(1).contains(&name), "{t}");
    assert!(t.words(2).is_empty(), "/home must be an empty tmpfs\n{t}");
    assert_eq!(t.err(3), "EROFS", "the tmpfs is read-only\n{t}");
    let c = ctx.probe(&["ProtectHome=no"], &ops);
    c.ok(0);
    assert!(c.words(1).contains(&name.as_str()), "{c}");
});

sbx_test!(private_tmp_gives_empty_private_tmp, |ctx| {
    let tmp = ctx.host_file(&Path::new("/tmp").join(ctx.unique("tmp")), "host\n");
    let vartmp = ctx.host_file(&Path::new("/var/tmp").join(ctx.unique("vartmp")), "host\n");
    let created = Path::new("/tmp").join(ctx.unique("inside"));
    ctx.remove_later(&created);
    let ops = ["read", &tmp, "read", &vartmp, "ls", "/tmp", "write", created.to_str().unwrap()];
    let t = ctx.probe(&["PrivateTmp=yes"], &ops);
    assert_eq!(t.err(0), "ENOENT", "{t}");
    assert_eq!(t.err(1), "ENOENT", "{t}");
    assert!(t.words(2).is_empty(), "a private /tmp starts empty\n{t}");
    t.ok(3);
    assert!(!created.exists(), "a write to the private /tmp reached the host");
    let c = ctx.probe(&["PrivateTmp=no"], &ops);
    c.ok(0);
    c.ok(1);
});

sbx_test!(read_write_paths_punch_holes_in_strict, |ctx| {
    let data = ctx.mkdir("data");
    let file = format!("{data}/written");
    let t = ctx.probe(&["ProtectSystem=strict", &format!("ReadWritePaths={data}")], &["write", &file]);
    t.ok(0);
    assert_eq!(fs::read_to_string(&file).unwrap(), "probe\n", "the write must reach the host");
    fs::remove_file(&file).unwrap();
    let c = ctx.probe(&["ProtectSystem=strict"], &["write", &file]);
    assert_eq!(c.err(0), "EROFS", "{c}");
});

sbx_test!(read_only_paths, |ctx| {
    let data = ctx.mkdir("data");
    let sub = ctx.mkdir("data/sub");
    let existing = ctx.write("data/existing", "kept\n");
    let new = format!("{data}/new");
    let in_sub = format!("{sub}/new");
    let ops = ["read", &existing, "write", &new, "write", &in_sub];
    let ro = format!("ReadOnlyPaths={data}");
    let t = ctx.probe(&[&ro, &format!("ReadWritePaths={sub}")], &ops);
    assert_eq!(t.ok(0), "kept\\n", "{t}");
    assert_eq!(t.err(1), "EROFS", "{t}");
    t.ok(2); // the longer path wins
    assert!(!Path::new(&new).exists());
    let c = ctx.probe(&[], &ops);
    c.ok(1);
});

sbx_test!(inaccessible_paths, |ctx| {
    let data = ctx.mkdir("data");
    let secret = ctx.write("data/secret", "secret\n");
    let lone = ctx.write("lone-file", "secret\n");
    let ops = ["read", &secret, "ls", &data, "read", &lone];
    let t = ctx.probe(&[&format!("InaccessiblePaths={data} {lone}")], &ops);
    // Root may open the empty mode-0000 stand-ins; nobody may see what they cover.
    for i in 0..3 {
        assert!(t.line(i) == "ok" || t.line(i).starts_with("err "), "empty or inaccessible\n{t}");
    }
    let c = ctx.probe(&[], &ops);
    assert_eq!(c.ok(0), "secret\\n", "{c}");
    assert_eq!(c.words(1), ["secret"], "{c}");
    assert_eq!(c.ok(2), "secret\\n", "{c}");
});

// Inaccessible directories nothing is mounted below share one stand-in: it must stay empty and
// read-only, so that nothing written through one shows up in another.
sbx_test!(inaccessible_directories_stay_empty_and_apart, |ctx| {
    let a = ctx.mkdir("a");
    let b = ctx.mkdir("b");
    ctx.write("b/kept", "kept\n");
    let planted = format!("{a}/planted");
    let ops = ["write", &planted, "mkdir", &format!("{a}/dir"), "ls", &a, "ls", &b];
    let t = ctx.probe(&[&format!("InaccessiblePaths={a} {b}")], &ops);
    t.err(0);
    t.err(1);
    for i in [2, 3] {
        // Root may list the mode-0000 stand-ins (empty); anyone else gets EACCES.
        assert!(!t.is_ok(i) || t.words(i).is_empty(), "line {i}: an inaccessible directory lists something\n{t}");
    }
    assert!(!Path::new(&planted).exists(), "a write reached the host");
});

sbx_test!(bind_paths_are_writable_binds, |ctx| {
    let src = ctx.mkdir("src");
    ctx.write("src/a", "from src\n");
    let dest = ctx.mkdir("dest");
    let ops = ["read", &format!("{dest}/a"), "write", &format!("{dest}/b")];
    let t = ctx.probe(&[&format!("BindPaths={src}:{dest}")], &ops);
    assert_eq!(t.ok(0), "from\\x20src\\n", "{t}");
    t.ok(1);
    assert!(Path::new(&src).join("b").exists(), "a write through the bind must reach the source");
    let c = ctx.probe(&[], &ops);
    assert_eq!(c.err(0), "ENOENT", "{c}");
});

sbx_test!(bind_read_only_paths, |ctx| {
    let src = ctx.mkdir("src");
    ctx.write("src/a", "from src\n");
    let dest = ctx.mkdir("dest");
    let ops = ["read", &format!("{dest}/a"), "write", &format!("{dest}/b")];
    let t = ctx.probe(&[&format!("BindReadOnlyPaths={src}:{dest}")], &ops);
    t.ok(0);
    assert_eq!(t.err(1), "EROFS", "{t}");
    let c = ctx.probe(&[&format!("BindPaths={src}:{dest}")], &ops);
    c.ok(1);
});

sbx_test!(bind_paths_create_missing_mount_points_inside_only, |ctx| {
    let src = ctx.mkdir("src");
    ctx.write("src/a", "from src\n");
    let dest = format!("/{}", ctx.unique("bind"));
    ctx.remove_later(Path::new(&dest));
    let ops = ["read", &format!("{dest}/a")];
    let t = ctx.probe(&[&format!("BindReadOnlyPaths={src}:{dest}")], &ops);
    t.ok(0);
    assert!(!Path::new(&dest).exists(), "the mount point was created on the host");
    let c = ctx.probe(&[], &ops);
    assert_eq!(c.err(0), "ENOENT", "{c}");
});

sbx_test!(temporary_file_system, |ctx| {
    let data = ctx.mkdir("data");
    ctx.write("data/host-file", "host\n");
    let inside = format!("{data}/inside");
    let ops = ["ls", &data, "write", &inside];
    let t = ctx.probe(&[&format!("TemporaryFileSystem={data}")], &ops);
    assert!(t.words(0).is_empty(), "a fresh tmpfs is empty\n{t}");
    t.ok(1);
    assert!(!Path::new(&inside).exists(), "a write to the tmpfs reached the host");
    let ro = ctx.probe(&[&format!("TemporaryFileSystem={data}:ro")], &ops);
    assert_eq!(ro.err(1), "EROFS", "{ro}");
    let c = ctx.probe(&[], &ops);
    assert_eq!(c.words(0), ["host-file"], "{c}");
});

sbx_test!(root_directory_becomes_the_root, |ctx| {
    // A root made of plain directories (a symlink the caller owns would be refused), with the
    // host's programs bound in read-only.
    for d in [
        "root/usr",
        "root/lib",
        "root/lib64",
        "root/bin",
        "root/proc",
        "root/sys",
        "root/dev",
        "root/tmp",
        "root/etc",
        "root/work",
    ] {
        ctx.mkdir(d);
    }
    ctx.write("root/etc/marker", "inside the root\n");
    let root = ctx.path("root");
    let probe = probe_path();
    let probe_dir = probe.parent().unwrap().to_str().unwrap().to_string();
    let binds = format!("BindReadOnlyPaths=/usr /lib:/lib /lib64:/lib64 /bin:/bin {probe_dir}:/work");
    let probe_in_root = format!("/work/{}", probe.file_name().unwrap().to_str().unwrap());
    let run = |extra: &[&str]| {
        let mut args =
            vec!["run".to_string(), "--profile".into(), ctx.bare(), "-p".into(), format!("RootDirectory={root}")];
        args.extend(["-p".to_string(), binds.clone()]);
        for e in extra {
            args.extend(["-p".to_string(), e.to_string()]);
        }
        args.extend([
            probe_in_root.clone(),
            "read".into(),
            "/etc/marker".into(),
            "write".into(),
            "/etc/new".into(),
            "ls".into(),
            "/".into(),
        ]);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        ctx.run(&args)
    };
    let t = run(&["ProtectSystem=strict"]);
    t.assert_code(0);
    assert_eq!(t.ok(0), "inside\\x20the\\x20root\\n", "{t}");
    assert_eq!(t.err(1), "EROFS", "ProtectSystem=strict makes the root read-only\n{t}");
    assert_eq!(t.ok(2), "bin dev etc lib lib64 proc sys tmp usr work", "{t}");
    // Control: without ProtectSystem= the root directory is writable (it is the caller's).
    let c = run(&[]);
    c.assert_code(0);
    c.ok(1);
    assert!(Path::new(&ctx.path("root/etc/new")).exists(), "the write reached the host directory\n{c}");
    // A root without the API mountpoints is refused before anything runs.
    std::fs::remove_dir(ctx.path("root/proc")).unwrap();
    let e = run(&[]);
    e.assert_sbx_error();
    assert!(e.stderr.contains("root/proc on the host"), "{e}");
});
