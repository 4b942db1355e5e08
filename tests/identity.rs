//! Identity and privileges: User=/Group= (as root the ids really switch; rootless the caller
//! is shown as that user), CapabilityBoundingSet=, AmbientCapabilities= (the lighttpd case:
//! www-data binding port 80), the rootless refusal of a capability that could not take effect
//! on the host, and NoNewPrivileges=.
//!
//! Controls: the same run without the directive, and the bounding set a payload has when no
//! directive changes it (`Ctx::default_bounding_set`).

#[macro_use]
mod common;

use std::os::unix::fs::MetadataExt;
use std::path::Path;

use common::*;

fn www_data(ctx: &Ctx) -> Option<(u32, u32)> {
    let ids = user_ids("www-data");
    if ids.is_none() {
        ctx.skip("there is no www-data user on this host");
    }
    ids
}

/// The uid the caller has inside a sandbox without User=: root stays root, rootless callers
/// are mapped to themselves.
fn own_uid_inside(ctx: &Ctx) -> String {
    if ctx.is_root() { "0".into() } else { ctx.uid().to_string() }
}

sbx_test!(user_and_group, |ctx| {
    let Some((uid, gid)) = www_data(ctx) else {
        return;
    };
    let shared = ctx.mkdir("shared");
    ctx.chmod(Path::new(&shared), 0o777);
    let file = format!("{shared}/by-user");
    let ops = ["ids", "write", &file];
    let t = ctx.probe(&["User=www-data", "Group=www-data"], &ops);
    for key in ["uid", "euid"] {
        assert_eq!(t.field(0, key), uid.to_string(), "{t}");
    }
    for key in ["gid", "egid"] {
        assert_eq!(t.field(0, key), gid.to_string(), "{t}");
    }
    t.ok(1);
    let owner = std::fs::metadata(&file).unwrap().uid();
    let expected = if ctx.is_root() { uid } else { ctx.uid() };
    assert_eq!(owner, expected, "owner on the host of a file the payload created");
    let c = ctx.probe(&[], &["ids"]);
    assert_eq!(c.field(0, "uid"), own_uid_inside(ctx), "{c}");
});

sbx_test!(host_sees_the_switched_ids, |ctx| {
    let Some((uid, _)) = www_data(ctx) else {
        return;
    };
    let marker = ctx.unique("marker");
    let args = bare_args(&ctx.bare(), &["User=www-data"]);
    let mut sbx = ctx.spawn(&probe_args(&args, &["marker", &marker, "ready", "sleep", "300"]));
    sbx.wait_for_line("ready", WAIT);
    let payload: Vec<i32> = pids_with_marker(&marker)
        .into_iter()
        .filter(|p| std::fs::read_to_string(format!("/proc/{p}/comm")).is_ok_and(|c| c.trim() == "probe"))
        .collect();
    assert_eq!(payload.len(), 1, "one payload process: {payload:?}");
    let uids = proc_status(payload[0], "Uid").expect("payload status");
    let expected = if ctx.is_root() { uid } else { ctx.uid() };
    for id in uids.split_whitespace() {
        assert_eq!(id, expected.to_string(), "real, effective, saved, fs uid on the host: {uids}");
    }
    sbx.kill();
});

sbx_test!(capability_bounding_set, |ctx| {
    let unchanged = ctx.default_bounding_set();
    let t = ctx.probe(&["CapabilityBoundingSet=CAP_CHOWN CAP_NET_RAW"], &["caps"]);
    assert_eq!(t.mask(0, "CapBnd"), cap(CAP_CHOWN) | cap(CAP_NET_RAW), "{t}");
    let inverted = ctx.probe(&["CapabilityBoundingSet=~CAP_CHOWN"], &["caps"]);
    assert_eq!(inverted.mask(0, "CapBnd"), unchanged & !cap(CAP_CHOWN), "{inverted}");
    let c = ctx.probe(&[], &["caps"]);
    assert_eq!(c.mask(0, "CapBnd"), unchanged, "{c}");
    assert_ne!(unchanged & cap(CAP_CHOWN), 0, "the bounding set lacks CAP_CHOWN anyway: no control");

    if ctx.is_root() {
        let file = ctx.write("owned", "x\n");
        let ops = ["chown", &file, "1:1", "caps"];
        let t = ctx.probe(&["CapabilityBoundingSet="], &ops);
        assert_eq!(t.err(0), "EPERM", "an empty bounding set leaves root powerless\n{t}");
        assert_eq!(t.mask(1, "CapEff"), 0, "{t}");
        let c = ctx.probe(&[], &ops);
        c.ok(0);
    }
});

sbx_test!(ambient_capabilities_let_www_data_bind_port_80, |ctx| {
    if www_data(ctx).is_none() {
        return;
    }
    let ops = ["caps", "tcp-bind", "127.0.0.1:80"];
    let base = ["PrivateNetwork=yes", "User=www-data"];
    let t = ctx.probe(&[base[0], base[1], "AmbientCapabilities=CAP_NET_BIND_SERVICE"], &ops);
    assert_eq!(t.mask(0, "CapAmb"), cap(CAP_NET_BIND_SERVICE), "{t}");
    assert_eq!(t.mask(0, "CapEff"), cap(CAP_NET_BIND_SERVICE), "{t}");
    t.ok(1);
    let c = ctx.probe(&base, &ops);
    assert_eq!(c.mask(0, "CapEff"), 0, "{c}");
    assert_eq!(c.err(1), "EACCES", "{c}");
});

sbx_test!(rootless: ambient_capability_for_the_host_network_is_refused, |ctx| {
    if www_data(ctx).is_none() {
        return;
    }
    // Binding port 80 in the host's network from a user namespace cannot work, so sbx must
    // refuse before starting anything, and say why.
    let marker = ctx.path("ran");
    let directives = ["User=www-data", "AmbientCapabilities=CAP_NET_BIND_SERVICE"];
    let out = ctx.run_probe(&bare_args(&ctx.bare(), &directives), &["write", &marker]);
    out.assert_sbx_error();
    assert!(out.stderr.contains("AmbientCapabilities"), "{out}");
    assert!(!Path::new(&marker).exists(), "the payload ran\n{out}");
    // Control: in a private network the capability means something and the run starts.
    let private = [directives[0], directives[1], "PrivateNetwork=yes"];
    ctx.probe(&private, &["write", &marker]);
    assert!(Path::new(&marker).exists());
});

sbx_test!(no_new_privileges, |ctx| {
    let t = ctx.probe(&["NoNewPrivileges=yes"], &["caps"]);
    assert_eq!(t.field(0, "NoNewPrivs"), "1", "{t}");
    let c = ctx.probe(&["NoNewPrivileges=no"], &["caps"]);
    assert_eq!(c.field(0, "NoNewPrivs"), "0", "{c}");
});

sbx_test!(dynamic_user_runs_as_a_transient_user, |ctx| {
    let name = ctx.unique("dyn");
    let args = |extra: &str| -> Vec<String> {
        let mut a: Vec<String> = ["run", "--profile", &ctx.bare(), "--name", &name, "-p", "DynamicUser=yes"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        if !extra.is_empty() {
            a.extend(["-p".to_string(), extra.to_string()]);
        }
        a.push(probe_path().to_str().unwrap().to_string());
        a.extend(["ids", "write", "/etc/sbx-dynamic-user-test"].iter().map(|s| s.to_string()));
        a
    };
    let run = |extra: &str| {
        let a = args(extra);
        ctx.run(&a.iter().map(String::as_str).collect::<Vec<_>>())
    };
    if !ctx.is_root() {
        // A user namespace maps only the caller's own uid: refused before anything runs.
        let out = run("");
        out.assert_sbx_error();
        assert!(out.stderr.contains("DynamicUser") && out.stderr.contains("needs root"), "{out}");
        return;
    }
    let state = format!("/var/lib/{name}");
    let private = format!("/var/lib/private/{name}");
    ctx.remove_later(Path::new(&state));
    ctx.remove_later(Path::new(&private));
    let out = run(&format!("StateDirectory={name}"));
    out.assert_code(0);
    let uid: u32 = out.field(0, "uid").parse().unwrap();
    assert!((61184..=65519).contains(&uid), "{out}");
    assert_eq!(out.err(1), "EROFS", "DynamicUser= implies ProtectSystem=strict\n{out}");
    assert_eq!(std::fs::read_link(&state).unwrap().to_str(), Some(format!("private/{name}").as_str()));
    assert_eq!(std::fs::metadata(&private).unwrap().uid(), uid, "the private directory belongs to the transient user");
    assert_eq!(std::fs::metadata("/var/lib/private").unwrap().mode() & 0o777, 0o700);
    // The same name gets the same uid on the next run.
    let again = run("");
    assert_eq!(again.field(0, "uid"), uid.to_string(), "{again}");
    // Control: without DynamicUser= the payload is root (it only reads, nothing is written).
    let control = ctx.run(&["run", "--profile", &ctx.bare(), "--", probe_path().to_str().unwrap(), "ids"]);
    assert_eq!(control.field(0, "uid"), "0", "{control}");
});
