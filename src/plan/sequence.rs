//! A unit's commands (`sbx run --unit`): which run, in which order, with which argv, and what
//! a failure of each means, after systemd.service(5).
//!
//! The order is ExecCondition=, ExecStartPre=, ExecStart= (with ExecStartPost= alongside the
//! main process, or after every ExecStart= for Type=oneshot), then ExecStopPost= whatever
//! happened. All of them run in the same sandbox, one after another.
//!
//! Invariant: what sbx cannot do faithfully is refused here, before anything exists: `+`
//! (unsandboxed) commands, Type=forking/notify/notify-reload/dbus, several ExecStart= without
//! Type=oneshot, `!` where no id switch can be skipped. Variables are expanded with the
//! payload's final environment and bare names resolved against systemd's fixed search path,
//! never the caller's PATH, so the child only walks the list.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::error::PlanError;
use std::ffi::OsString;

use crate::plan::exec::{DEFAULT_PATH, candidates};
use crate::plan::ids::Identity;
use crate::profile::Origin;
use crate::profile::values::{CommandLine, expand_variables};
use crate::settings::{Phase, ServiceType, Settings, Spanned};

/// The commands of a unit, in the order they may run.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Sequence {
    pub service_type: ServiceType,
    pub commands: Vec<Command>,
    /// The index of the main process, which ExecStartPost= runs alongside; `None` for
    /// Type=oneshot, whose ExecStart= commands each run to their end.
    pub main: Option<usize>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Command {
    pub phase: Phase,
    /// Variables expanded (unless the `:` prefix says not to).
    pub argv: Vec<String>,
    /// Paths tried in order with execve.
    #[serde(serialize_with = "crate::plan::exec::lossy")]
    pub candidates: Vec<OsString>,
    /// `-`: a failure is reported and has no effect.
    pub ignore_failure: bool,
    /// `!`: no switch to User=/Group= for this command.
    pub keep_ids: bool,
    /// The command as written after `Directive=`, for messages.
    pub written: String,
    pub origin: Origin,
}

impl Command {
    /// `ExecStartPre=-/bin/mkdir /srv (app.service:7)`, for messages.
    pub fn describe(&self) -> String {
        format!("{}={} ({})", self.phase.directive(), self.written, self.origin)
    }
}

impl Sequence {
    pub fn indices(&self, phase: Phase) -> impl Iterator<Item = usize> + '_ {
        self.commands.iter().enumerate().filter(move |(_, c)| c.phase == phase).map(|(i, _)| i)
    }
}

/// Resolves the command-line settings against the payload's environment and identity.
pub fn plan(s: &Settings, env: &BTreeMap<String, String>, identity: &Identity) -> Result<Sequence, PlanError> {
    let service_type = service_type(s)?;
    let starts = &s.commands[Phase::Start.index()];
    let Some(first) = starts.first() else {
        return Err(PlanError::Host("the unit has no ExecStart=: there is nothing to run".into()));
    };
    if service_type != ServiceType::Oneshot {
        if let Some(second) = starts.get(1) {
            let msg = format!(
                "a second command ({}) after {}: several ExecStart= commands (lines, or ; on one line) need Type=oneshot",
                second.value, first.value
            );
            return Err(PlanError::directive("ExecStart", &second.origin, msg));
        }
    }
    let mut commands = Vec::new();
    for phase in Phase::ALL {
        for line in &s.commands[phase.index()] {
            commands.push(command(phase, line, env, identity, s)?);
        }
    }
    let main = (service_type != ServiceType::Oneshot).then(|| commands.iter().position(|c| c.phase == Phase::Start));
    Ok(Sequence { service_type, commands, main: main.flatten() })
}

/// Type=: the default is simple; the kinds whose start-up sbx cannot follow are refused.
fn service_type(s: &Settings) -> Result<ServiceType, PlanError> {
    let Some(t) = &s.service_type else { return Ok(ServiceType::Simple) };
    let why = match t.value {
        ServiceType::Simple | ServiceType::Exec | ServiceType::Oneshot | ServiceType::Idle => return Ok(t.value),
        ServiceType::Forking => {
            "the main process forks into the background and exits, but sbx runs a unit in the foreground and follows no PID file; start the program in its foreground mode (often a -D, -f or --nodaemon option) with -p Type=simple"
        }
        ServiceType::Notify | ServiceType::NotifyReload => {
            "the service reports readiness on $NOTIFY_SOCKET, which sbx does not provide; if it also runs without one, add -p Type=simple (then ExecStartPost= runs as soon as it has executed)"
        }
        ServiceType::Dbus => {
            "the service is ready when it takes a D-Bus name, and sbx has no bus; add -p Type=simple to run it anyway"
        }
    };
    Err(PlanError::directive("Type", &t.origin, format!("refused: {why}")))
}

fn command(
    phase: Phase,
    line: &Spanned<CommandLine>,
    env: &BTreeMap<String, String>,
    identity: &Identity,
    s: &Settings,
) -> Result<Command, PlanError> {
    let c = &line.value;
    let refuse = |msg: String| PlanError::directive(phase.directive(), &line.origin, format!("{c}: {msg}"));
    if c.flags.privileged {
        return Err(refuse(
            "the + prefix runs a command with full privileges outside the sandbox, which sbx never does; remove the + to run it sandboxed like the others".into(),
        ));
    }
    let user_set = s.user.is_some() || Settings::flag(&s.dynamic_user);
    let keep_ids = c.flags.no_setuid && identity.switch;
    if c.flags.no_setuid && user_set && !identity.switch {
        return Err(refuse(format!(
            "the ! prefix runs a command without switching to {}, but rootless the caller can be mapped as one user only; remove the ! to run it as {}, or run sbx as root",
            identity.user_name, identity.user_name
        )));
    }
    let argv = if c.flags.no_env_expand { c.argv.clone() } else { expand_variables(&c.argv, env) };
    if argv.is_empty() {
        return Err(refuse("no argv[0] is left once variables are expanded".into()));
    }
    Ok(Command {
        phase,
        argv,
        candidates: candidates(c.path.as_ref(), DEFAULT_PATH),
        ignore_failure: c.flags.ignore_failure,
        keep_ids,
        written: c.to_string(),
        origin: line.origin.clone(),
    })
}

#[cfg(test)]
mod tests {
    use crate::plan::tests::plan_as;
    use crate::settings::{Phase, ServiceType};

    fn unit(uid: u32, lines: &str) -> Result<super::Sequence, String> {
        crate::plan::tests::plan_unit_as(uid, lines)
            .map(|p| p.exec.sequence.expect("a unit plan"))
            .map_err(|e| e.to_string())
    }

    #[test]
    fn commands_run_in_systemds_order() {
        let s = unit(
            0,
            "ExecStopPost=/bin/post\nExecStartPost=/bin/started\nExecStart=/bin/main\nExecStartPre=-/bin/pre\nExecCondition=/bin/cond",
        )
        .unwrap();
        let phases: Vec<Phase> = s.commands.iter().map(|c| c.phase).collect();
        assert_eq!(phases, [Phase::Condition, Phase::StartPre, Phase::Start, Phase::StartPost, Phase::StopPost]);
        assert_eq!(s.main, Some(2));
        assert_eq!(s.service_type, ServiceType::Simple);
        assert!(s.commands[1].ignore_failure);
        assert_eq!(s.commands[1].describe(), "ExecStartPre=-/bin/pre (t.conf:5)");
    }

    #[test]
    fn several_exec_starts_need_oneshot() {
        let e = unit(0, "ExecStart=/bin/a ; /bin/b").unwrap_err();
        assert!(e.contains("Type=oneshot") && e.contains("t.conf:2"), "{e}");
        let s = unit(0, "Type=oneshot\nExecStart=/bin/a ; /bin/b\nExecStart=/bin/c").unwrap();
        assert_eq!(s.main, None);
        assert_eq!(s.indices(Phase::Start).count(), 3);
        assert!(unit(0, "ExecStartPre=/bin/a").unwrap_err().contains("no ExecStart="));
    }

    #[test]
    fn start_up_types_sbx_cannot_follow_are_refused() {
        for (t, why) in [("forking", "foreground"), ("notify", "NOTIFY_SOCKET"), ("dbus", "D-Bus")] {
            let e = unit(0, &format!("Type={t}\nExecStart=/bin/true")).unwrap_err();
            assert!(e.starts_with("Type (t.conf:2): refused") && e.contains(why) && e.contains("Type=simple"), "{e}");
        }
        for t in ["simple", "exec", "oneshot", "idle"] {
            assert!(unit(0, &format!("Type={t}\nExecStart=/bin/true")).is_ok(), "{t}");
        }
    }

    #[test]
    fn plus_is_refused_and_bang_skips_the_switch_as_root_only() {
        let e = unit(0, "ExecStartPre=+/bin/chown x /srv\nExecStart=/bin/true").unwrap_err();
        assert!(e.contains("ExecStartPre (t.conf:2)") && e.contains("remove the +"), "{e}");
        let s = unit(0, "User=www-data\nExecStartPre=!/bin/chown www-data /srv\nExecStart=/bin/true").unwrap();
        assert!(s.commands[0].keep_ids && !s.commands[1].keep_ids);
        let e = unit(1000, "User=www-data\nExecStartPre=!/bin/true\nExecStart=/bin/true").unwrap_err();
        assert!(e.contains("rootless") && e.contains("remove the !"), "{e}");
        let s = unit(1000, "ExecStartPre=!/bin/true\nExecStart=!!/bin/true").unwrap();
        assert!(!s.commands[0].keep_ids && !s.commands[1].keep_ids, "no User=: nothing to skip");
    }

    #[test]
    fn bare_names_use_the_fixed_search_path_and_variables_the_final_environment() {
        let s = unit(0, "Environment=PATH=/opt/bin A=x\\sy\nExecStart=true $A ${A} :$A\nExecStartPost=:/bin/echo $A")
            .unwrap();
        let main = &s.commands[0];
        assert_eq!(main.candidates[0], "/usr/local/sbin/true");
        assert_eq!(main.candidates.len(), 6);
        assert_eq!(main.argv, ["true", "x", "y", "x y", ":$A"]);
        assert_eq!(s.commands[1].argv, ["/bin/echo", "$A"], "the : prefix expands nothing");
    }

    #[test]
    fn a_unit_starts_with_a_services_environment_in_the_root_directory() {
        let p = crate::plan::tests::plan_unit_as(0, "ExecStart=/bin/true").unwrap();
        let has = |prefix: &str| p.exec.env.iter().any(|e| e.to_string_lossy().starts_with(prefix));
        assert!(has("LANG=C.UTF-8") && has("PATH=/usr/local/sbin:") && !has("HOME=") && !has("USER="));
        assert_eq!(p.exec.cwd, "/");
        let p =
            crate::plan::tests::plan_unit_as(0, "User=www-data\nWorkingDirectory=/srv\nExecStart=/bin/true").unwrap();
        assert!(p.exec.env.contains(&"HOME=/var/www".into()) && p.exec.env.contains(&"USER=www-data".into()));
        assert_eq!(p.exec.cwd, "/srv");
        let command = plan_as(0, "").unwrap();
        assert!(command.exec.env.contains(&"HOME=/root".into()), "a command line keeps the user's variables");
    }

    #[test]
    fn a_command_line_plan_is_unchanged() {
        assert!(plan_as(0, "ExecStart=/bin/true").unwrap().exec.sequence.is_none());
    }
}
