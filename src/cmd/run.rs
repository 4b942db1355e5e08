//! `sbx run`: profile → Settings → Plan → (print | launch).

use crate::cli::RunArgs;
use crate::cmd::{common, fallback, report, unit};
use crate::error::Error;
use crate::host::HostFacts;
use crate::launch;
use crate::launch::pty::Pty;
use crate::plan::{self, Invocation, Plan};
use crate::settings::Settings;

pub fn run(mut args: RunArgs) -> Result<i32, Error> {
    if args.die_with_parent {
        args.profile.set.push("DieWithParent=yes".into());
    }
    if let Some(name) = &args.name {
        check_name(name)?;
    }
    let host = HostFacts::probe();
    let (name, resolved) = match &args.unit {
        Some(path) => {
            let run = unit::resolve(path, &args.profile, args.name.clone(), &host)?;
            if let Some(why) = unit::check_conditions(&run, &host)? {
                let outcome = if args.dry_run { "a run would be skipped" } else { "skipped, nothing was started" };
                eprintln!("sbx: {}: {why}: {outcome}", run.name);
                if !args.dry_run {
                    return Ok(0);
                }
            }
            (run.name, run.resolved)
        }
        None => {
            let name = args.name.clone().unwrap_or_else(|| basename(&args.command[0].to_string_lossy()));
            let profiles = common::profiles_or_default(&args.profile.profiles);
            let resolved = common::resolve(&profiles, &args.profile.set, &name, &host)?;
            unit::warn_unit_keys(&resolved.settings);
            (name, resolved)
        }
    };
    if Settings::flag(&resolved.settings.die_with_parent) && !args.dry_run {
        die_with_parent()?;
    }
    let pty = if args.pty { Some(Pty::open()?) } else { None };
    let inv = Invocation {
        argv: args.command.clone(),
        name,
        pty: pty.as_ref().map(|p| p.slave_path().to_string()),
        log_refused: args.log_refused,
        host_proc: false,
    };
    let settings = limits_or_fallback(&resolved.settings, &host, &inv, args.best_effort)?;
    let plan = plan::build(&settings, &host, &inv)?;
    if args.dry_run {
        if args.json {
            let json = serde_json::to_string_pretty(&plan)
                .map_err(|e| Error::Launch(format!("cannot print the plan: {e}")))?;
            println!("{json}");
        } else {
            print!("{}", render(&plan));
        }
        return Ok(0);
    }
    let result = match launch::run(&plan, pty) {
        Err(e @ (Error::Namespaces(_) | Error::ProcRefused(_))) if args.best_effort => {
            fallback::run(&resolved, &settings, &host, &inv, e)
        }
        other => other,
    };
    // sbx exits next. Freeing these would only write to a few dozen heap pages (1,900
    // allocations) just before the process goes away.
    std::mem::forget((plan, settings, resolved, host, inv, args));
    result
}

/// DieWithParent=: SIGKILL to sbx when its parent dies. pid 1 dies with sbx (its own
/// parent-death signal) and takes the pid namespace down, so the whole sandbox ends. A parent
/// that died before the prctl is caught by comparing getppid() with the parent recorded at
/// sbx's start: it has changed to a reaper.
fn die_with_parent() -> Result<(), Error> {
    use rustix::process::{Pid, Signal, getppid, set_parent_process_death_signal};
    set_parent_process_death_signal(Some(Signal::KILL))
        .map_err(|e| Error::io("DieWithParent=: prctl(PR_SET_PDEATHSIG, SIGKILL)", e.into()))?;
    let now = Pid::as_raw(getppid());
    match crate::sys::proc::parent_at_start() {
        Some(first) if first != now => Err(Error::Launch(format!(
            "DieWithParent=: sbx's parent (pid {first}) ended before sbx started the sandbox; nothing was started"
        ))),
        _ => Ok(()),
    }
}

/// Resource limits need a usable cgroup v2 subtree; with --best-effort and none, the limits
/// rlimits can approximate are moved there and every limit is reported.
fn limits_or_fallback(s: &Settings, host: &HostFacts, inv: &Invocation, best_effort: bool) -> Result<Settings, Error> {
    match plan::cgroup::plan(s, host) {
        Ok(_) => Ok(s.clone()),
        Err(e) if best_effort => {
            // Who the payload runs as, and with what, decides whether RLIMIT_NPROC binds it.
            let (approximated, _) = plan::cgroup::rlimit_fallback(s, None);
            let exempt = plan::cgroup::nproc_exemption(&plan::build(&approximated, host, inv)?, host);
            let (fallback, notes) = plan::cgroup::rlimit_fallback(s, exempt);
            eprintln!("sbx: {e}");
            eprintln!("sbx: --best-effort: resource limits without a cgroup:");
            for n in &notes {
                eprintln!("sbx:   {}", report::note_line(n));
            }
            Ok(fallback)
        }
        Err(e) => Err(e.into()),
    }
}

/// Bytes a run's name (%N, and so the state directories named after it) may hold: those of a
/// systemd unit name, without its escape character.
fn name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, ':' | '_' | '.' | '-' | '@')
}

/// `--name`: one path component of a unit name's characters, or an error saying so.
fn check_name(name: &str) -> Result<(), Error> {
    if name.is_empty() || name == "." || name == ".." || name.len() > 255 || !name.chars().all(name_char) {
        return Err(Error::Usage(format!(
            "--name {name:?}: a run's name names its state directories (RuntimeDirectory=%N, ...), so it must be 1-255 of A-Z a-z 0-9 : _ . - @, and not . or .."
        )));
    }
    Ok(())
}

/// The command's base name as a run name: every other character becomes `_` (a name with a
/// slash or a space would name another directory, or several).
fn basename(cmd: &str) -> String {
    let b = cmd.rsplit('/').next().unwrap_or(cmd);
    let name: String = b.chars().map(|c| if name_char(c) { c } else { '_' }).take(255).collect();
    if name.is_empty() || name == "." || name == ".." { "sbx".into() } else { name }
}

#[cfg(test)]
mod name_tests {
    use super::*;

    #[test]
    fn names_are_one_safe_component() {
        assert_eq!(basename("/usr/sbin/lighttpd"), "lighttpd");
        assert_eq!(basename("./my tool"), "my_tool");
        assert_eq!(basename("a\nb"), "a_b");
        assert_eq!(basename("/x/.."), "sbx");
        assert!(check_name("web-1@x").is_ok());
        for bad in ["a/b", "a b", "..", "", "x\ny"] {
            assert!(check_name(bad).is_err(), "{bad:?}");
        }
    }
}

/// The plan as text, grouped by mechanism, one mount per line with its cause.
pub fn render(plan: &Plan) -> String {
    let mut out = String::new();
    let mut line = |s: String| {
        out.push_str(&s);
        out.push('\n');
    };
    let n = &plan.namespaces;
    let ns: Vec<&str> = [
        (n.user, "user"),
        (n.mount, "mount"),
        (n.pid, "pid"),
        (n.net, "net"),
        (n.ipc, "ipc"),
        (n.uts, "uts"),
        (n.cgroup, "cgroup"),
    ]
    .iter()
    .filter(|(on, _)| *on)
    .map(|(_, name)| *name)
    .collect();
    line(format!("name: {}", plan.name));
    line(format!("mode: {:?}", plan.mode).to_lowercase());
    line(format!("namespaces: {}", ns.join(" ")));
    if let Some(m) = &plan.id_map {
        line(format!("uid_map: {}", m.uid_map.trim().replace('\n', ", ")));
        line(format!(
            "gid_map: {}{}",
            m.gid_map.trim().replace('\n', ", "),
            if m.deny_setgroups { " (setgroups denied)" } else { "" }
        ));
    }
    let id = &plan.identity;
    let groups = id.groups.as_ref().map_or("unchanged".to_string(), |g| format!("{g:?}"));
    line(format!(
        "identity: {} uid={} gid={} groups={groups}{}",
        id.user_name,
        id.uid,
        id.gid,
        if id.switch { " (switched)" } else { " (mapped)" }
    ));
    line("mounts:".into());
    for (i, m) in plan.mounts.iter().enumerate() {
        line(format!("  {:3}. {}    [{}]", i + 1, launch::messages::describe_op(&m.op), m.cause));
    }
    if plan.loopback_up {
        line("network: lo up, nothing else".into());
    }
    let c = &plan.caps;
    line(format!(
        "capability bounding set: {}",
        if c.bounding.is_empty() { "(empty)".into() } else { c.bounding.join(" ") }
    ));
    line(format!("ambient capabilities: {}", if c.ambient.is_empty() { "(none)".into() } else { c.ambient.join(" ") }));
    line(format!("no_new_privs: {}", if c.no_new_privs { "yes" } else { "no" }));
    for d in &plan.state_dirs {
        line(format!(
            "state directory: {} mode {:04o}{}",
            d.path,
            d.mode,
            if d.remove_at_exit { " (removed at exit)" } else { "" }
        ));
    }
    let e = &plan.exec;
    for r in &e.rlimits {
        let v = |x: Option<u64>| x.map_or("infinity".to_string(), |v| v.to_string());
        line(format!("rlimit: {}={}:{}", r.name, v(r.soft), v(r.hard)));
    }
    line(format!("umask: {:04o}", e.umask));
    if let Some(nice) = e.nice {
        line(format!("nice: {nice}"));
    }
    line(format!("working directory: {}", e.cwd));
    line("environment:".into());
    for v in &e.env {
        // Bytes that are not UTF-8 shown escaped (\xFF), as the kernel will get them.
        line(format!("  {}", v.as_encoded_bytes().escape_ascii()));
    }
    line(format!("argv: {:?}", e.argv));
    line(format!("executable: {}", lossy_join(&e.candidates)));
    if let Some(seq) = &e.sequence {
        line(format!("unit commands (Type={}):", format!("{:?}", seq.service_type).to_lowercase()));
        for (i, c) in seq.commands.iter().enumerate() {
            let mut notes = vec![c.origin.to_string()];
            notes.extend(seq.main.filter(|m| *m == i).map(|_| "main process".to_string()));
            notes.extend(c.ignore_failure.then(|| "failure ignored".to_string()));
            notes.extend(c.keep_ids.then(|| "no id switch".to_string()));
            line(format!(
                "  {}: {:?} ({})    [{}]",
                c.phase.directive(),
                c.argv,
                lossy_join(&c.candidates),
                notes.join(", ")
            ));
        }
    }
    out
}

/// Paths joined with " | ", bytes that are not UTF-8 shown as U+FFFD (the plan keeps them).
fn lossy_join(paths: &[std::ffi::OsString]) -> String {
    paths.iter().map(|p| p.to_string_lossy()).collect::<Vec<_>>().join(" | ")
}
