//! The state directories: RuntimeDirectory=, StateDirectory=, CacheDirectory=,
//! LogsDirectory=, ConfigurationDirectory= and their *Mode= companions.
//!
//! As root they live in /run, /var/lib, /var/cache, /var/log and /etc and are owned by User=;
//! rootless they live where systemd puts a user service's ($XDG_RUNTIME_DIR,
//! ~/.local/state, ~/.cache, ~/.local/state/log, ~/.config). Either way they are writable
//! under ProtectSystem=strict, announced in the environment, and the runtime directory is
//! removed when the run ends (also when sbx is stopped by a signal). The control is the same
//! run without the directives, where the same writes fail.

#[macro_use]
mod common;

use std::os::unix::fs::MetadataExt;
use std::path::Path;

use common::*;

const ENV: [&str; 5] =
    ["RUNTIME_DIRECTORY", "STATE_DIRECTORY", "CACHE_DIRECTORY", "LOGS_DIRECTORY", "CONFIGURATION_DIRECTORY"];

sbx_test!(state_directories, |ctx| {
    let Some((www_uid, _)) = user_ids("www-data") else {
        ctx.skip("there is no www-data user on this host");
        return;
    };
    let name = ctx.unique("state");
    let d = ctx.state_dirs(&name);
    let dirs = [&d.runtime, &d.state, &d.cache, &d.logs, &d.config];
    for dir in dirs {
        ctx.remove_later(dir);
    }
    let s = |p: &Path| p.to_str().unwrap().to_string();
    let files: Vec<String> = dirs.iter().map(|d| s(&d.join("f"))).collect();
    let strict = ["ProtectSystem=strict", "ProtectHome=read-only", "User=www-data"];
    let directives: Vec<String> = strict
        .iter()
        .map(|d| d.to_string())
        .chain(
            ["Runtime", "State", "Cache", "Logs", "Configuration"].iter().map(|kind| format!("{kind}Directory={name}")),
        )
        .chain(["StateDirectoryMode=0750".to_string()])
        .collect();
    let directives: Vec<&str> = directives.iter().map(String::as_str).collect();

    let mut ops: Vec<String> = Vec::new();
    for f in &files {
        ops.extend(["write".into(), f.clone()]);
    }
    for dir in dirs {
        ops.extend(["stat".into(), s(dir)]);
    }
    for var in ENV {
        ops.extend(["env".into(), var.into()]);
    }
    let ops: Vec<&str> = ops.iter().map(String::as_str).collect();

    let t = ctx.probe(&directives, &ops);
    for i in 0..5 {
        t.ok(i);
        assert_eq!(t.field(5 + i, "uid"), www_uid.to_string(), "owned by User= inside\n{t}");
        assert_eq!(t.ok(10 + i), s(dirs[i]), "{} inside\n{t}", ENV[i]);
    }
    assert_eq!(t.field(5, "mode"), "0755", "the default mode\n{t}");
    assert_eq!(t.field(6, "mode"), "0750", "StateDirectoryMode=\n{t}");

    assert!(!d.runtime.exists(), "the runtime directory must be removed at exit");
    let owner = if ctx.is_root() { www_uid } else { ctx.uid() };
    for dir in &dirs[1..] {
        let f = dir.join("f");
        assert!(f.is_file(), "{} must persist on the host", f.display());
        assert_eq!(std::fs::metadata(dir).unwrap().uid(), owner, "{} on the host", dir.display());
    }

    let c = ctx.probe(&strict, &ops);
    for i in 0..5 {
        assert!(c.line(i).starts_with("err "), "without the directive the write fails\n{c}");
        assert_eq!(c.err(10 + i), "unset", "{c}");
    }
});

sbx_test!(runtime_directory_removed_when_sbx_is_stopped, |ctx| {
    let name = ctx.unique("runtime");
    let runtime = ctx.state_dirs(&name).runtime;
    ctx.remove_later(&runtime);
    let args = bare_args(&ctx.bare(), &[&format!("RuntimeDirectory={name}")]);
    let mut sbx = ctx.spawn(&probe_args(&args, &["ready", "sleep", "300"]));
    sbx.wait_for_line("ready", WAIT);
    assert!(runtime.is_dir(), "{} must exist while the sandbox runs", runtime.display());
    sbx.signal(libc::SIGTERM);
    sbx.wait(WAIT).assert_code(128 + libc::SIGTERM);
    assert!(!runtime.exists(), "{} must be removed at exit", runtime.display());
});
