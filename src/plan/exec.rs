//! What the payload executes and with which process attributes: argv, the executable
//! candidates, the environment, the working directory, umask, nice and rlimits.
//!
//! Invariant: everything is resolved to plain values here (the environment is final, the
//! PATH search is a list of candidate paths) so the child only walks lists. Environment files
//! are read now, and a missing one is an error unless marked with `-`.

use std::collections::BTreeMap;
use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::OsStrExt;

use serde::Serialize;

use crate::error::PlanError;
use crate::host::{self, HostFacts, ResolveError};
use crate::plan::ids::Identity;
use crate::plan::sequence::{self, Sequence};
use crate::plan::state_dirs::StateDir;
use crate::profile::values;
use crate::settings::{Phase, Settings, StateKind};

/// systemd's fixed search path for services.
pub const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ExecPlan {
    /// The bytes execve gets (shown lossily in JSON; the plan keeps them exact).
    #[serde(serialize_with = "lossy")]
    pub argv: Vec<OsString>,
    /// Paths tried in order with execve (PATH search done here); ENOENT moves to the next.
    #[serde(serialize_with = "lossy")]
    pub candidates: Vec<OsString>,
    /// `NAME=VALUE` entries, as bytes: a passed variable need not be UTF-8.
    #[serde(serialize_with = "lossy")]
    pub env: Vec<OsString>,
    pub cwd: String,
    /// `WorkingDirectory=-PATH`: a failed chdir falls back to /, as in systemd. Never for the
    /// caller's directory: a payload must not run somewhere else than it was started for.
    pub cwd_fallback_root: bool,
    /// The working directory is the one sbx was started in (no WorkingDirectory=).
    pub cwd_from_caller: bool,
    pub umask: u32,
    pub nice: Option<i32>,
    pub rlimits: Vec<Rlimit>,
    /// OOMScoreAdjust=.
    pub oom_score_adjust: Option<i32>,
    /// RuntimeMaxSec= and TimeoutStopSec= (Some(None) is infinity), in microseconds.
    pub runtime_max: Option<u64>,
    pub timeout_stop: Option<Option<u64>>,
    /// `sbx run --unit`: every command of the unit; `argv` and `candidates` above are then its
    /// main (first ExecStart=) command's.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sequence: Option<Sequence>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Rlimit {
    pub name: String,
    #[serde(skip)]
    pub resource: i32,
    /// `None` is RLIM_INFINITY.
    pub soft: Option<u64>,
    pub hard: Option<u64>,
}

pub fn plan(
    s: &Settings,
    host: &HostFacts,
    id: &Identity,
    argv: &[OsString],
    state: &[StateDir],
) -> Result<ExecPlan, PlanError> {
    if argv.is_empty() {
        return plan_unit(s, host, id, state);
    }
    let env = environment(s, host, id, state, false)?;
    let path = env.get("PATH").and_then(|p| p.to_str()).unwrap_or(DEFAULT_PATH).to_string();
    let (cwd, cwd_fallback_root) = working_directory(s, host, id)?;
    Ok(command_plan(s, argv, &path, env, cwd, cwd_fallback_root))
}

/// The plan of one command line with its environment and working directory decided.
fn command_plan(
    s: &Settings,
    argv: &[OsString],
    path: &str,
    env: BTreeMap<String, OsString>,
    cwd: String,
    cwd_fallback_root: bool,
) -> ExecPlan {
    ExecPlan {
        candidates: candidates(&argv[0], path),
        argv: argv.to_vec(),
        env: env
            .into_iter()
            .map(|(k, v)| {
                let mut entry = OsString::from(k);
                entry.push("=");
                entry.push(v);
                entry
            })
            .collect(),
        cwd,
        cwd_fallback_root,
        cwd_from_caller: s.working_directory.is_none() && s.root_directory.is_none(),
        umask: s.umask.as_ref().map_or(0o022, |u| u.value),
        nice: s.nice.as_ref().map(|n| n.value),
        rlimits: rlimits(s),
        oom_score_adjust: s.oom_score_adjust.as_ref().map(|o| o.value),
        runtime_max: s.runtime_max.as_ref().and_then(|r| r.value),
        timeout_stop: s.timeout_stop.as_ref().map(|t| t.value),
        sequence: None,
    }
}

/// `sbx run --unit` (no command line): the unit's commands (see `sequence`) in a service's
/// environment.
fn plan_unit(s: &Settings, host: &HostFacts, id: &Identity, state: &[StateDir]) -> Result<ExecPlan, PlanError> {
    let env = environment(s, host, id, state, true)?;
    let sequence = sequence::plan(s, &expandable(s, &env)?, id)?;
    let main = sequence.indices(Phase::Start).next().map(|i| &sequence.commands[i]);
    let Some(main) = main else { return Err(PlanError::Host("the unit has no ExecStart=".into())) };
    let argv: Vec<OsString> = main.argv.iter().map(OsString::from).collect();
    // A service starts in the root directory, not where it was started from.
    let (cwd, fallback) = match s.working_directory {
        Some(_) => working_directory(s, host, id)?,
        None => ("/".to_string(), false),
    };
    let mut exec = command_plan(s, &argv, DEFAULT_PATH, env, cwd, fallback);
    exec.cwd_from_caller = false;
    exec.candidates.clone_from(&main.candidates);
    exec.sequence = Some(sequence);
    Ok(exec)
}

/// The environment as text for `$NAME` expansion in a unit's command lines. A value that is not
/// UTF-8 passes to the payload as it is, but a command line that names it is refused (sbx's
/// command lines are text).
fn expandable(s: &Settings, env: &BTreeMap<String, OsString>) -> Result<BTreeMap<String, String>, PlanError> {
    let mut text = BTreeMap::new();
    for (k, v) in env {
        match v.to_str() {
            Some(v) => {
                text.insert(k.clone(), v.to_string());
            }
            None => {
                let named = |w: &String| w.contains(&format!("${k}")) || w.contains(&format!("${{{k}}}"));
                let lines = Phase::ALL.into_iter().flat_map(|p| s.commands[p.index()].iter().map(move |l| (p, l)));
                let flagged =
                    lines.filter(|(_, l)| !l.value.flags.no_env_expand).find(|(_, l)| l.value.argv.iter().any(named));
                if let Some((phase, line)) = flagged {
                    return Err(PlanError::directive(
                        phase.directive(),
                        &line.origin,
                        format!(
                            "${k} is not UTF-8 and cannot be expanded in a command line; the payload still gets it in its environment"
                        ),
                    ));
                }
            }
        }
    }
    Ok(text)
}

/// The paths execve tries for `cmd`: itself when it has a `/`, else each directory of `path`.
/// Bytes in, bytes out: a command name need not be UTF-8.
pub fn candidates(cmd: &OsStr, path: &str) -> Vec<OsString> {
    if cmd.as_bytes().contains(&b'/') {
        return vec![cmd.to_os_string()];
    }
    let join = |dir: &str| {
        let mut p = OsString::from(dir.trim_end_matches('/'));
        p.push("/");
        p.push(cmd);
        p
    };
    path.split(':').filter(|d| d.starts_with('/')).map(join).collect()
}

/// Byte strings as JSON strings, bytes that are not UTF-8 as U+FFFD.
pub fn lossy<S: serde::Serializer>(v: &[OsString], ser: S) -> Result<S::Ok, S::Error> {
    ser.collect_seq(v.iter().map(|a| a.to_string_lossy()))
}

/// systemd's order: fixed variables, the user's, PassEnvironment=, Environment=,
/// EnvironmentFile= (later wins), then UnsetEnvironment= removes. A unit (`unit`) starts as
/// clean as systemd starts a service: the manager's locale and INVOCATION_ID, and the user's
/// variables only when User= (or DynamicUser=) is set; a command always gets the user's.
fn environment(
    s: &Settings,
    host: &HostFacts,
    id: &Identity,
    state: &[StateDir],
    unit: bool,
) -> Result<BTreeMap<String, OsString>, PlanError> {
    let mut env: BTreeMap<String, OsString> = BTreeMap::new();
    env.insert("PATH".to_string(), DEFAULT_PATH.into());
    if unit {
        env.extend(manager_environment(host).into_iter().map(|(k, v)| (k, v.into())));
    }
    if !unit || s.user.is_some() || Settings::flag(&s.dynamic_user) {
        for (k, v) in [("USER", &id.user_name), ("LOGNAME", &id.user_name), ("HOME", &id.home), ("SHELL", &id.shell)] {
            env.insert(k.to_string(), v.into());
        }
    }
    for kind in StateKind::ALL {
        let paths: Vec<&str> = state.iter().filter(|d| d.kind == kind).map(|d| d.path.as_str()).collect();
        if !paths.is_empty() {
            env.insert(kind.env_var().to_string(), paths.join(":").into());
        }
    }
    for name in &s.pass_environment {
        if let Some(v) = host.env_os.get(&name.value) {
            env.insert(name.value.clone(), v.clone());
        }
    }
    for pair in &s.environment {
        env.insert(pair.value.0.clone(), pair.value.1.clone().into());
    }
    for file in &s.environment_files {
        let Some(text) = environment_file(host, &file.value.path, file.value.ignore_missing)
            .map_err(|message| PlanError::directive("EnvironmentFile", &file.origin, message))?
        else {
            continue;
        };
        let pairs = values::parse_env_file(&text).map_err(|(line, msg)| {
            PlanError::directive("EnvironmentFile", &file.origin, format!("{}:{line}: {msg}", file.value.path))
        })?;
        env.extend(pairs.into_iter().map(|(k, v)| (k, v.into())));
    }
    for name in &s.unset_environment {
        match name.value.split_once('=') {
            Some((k, v)) if env.get(k).is_some_and(|cur| cur.to_str() == Some(v)) => {
                env.remove(k);
            }
            Some(_) => {}
            None => {
                env.remove(&name.value);
            }
        }
    }
    Ok(env)
}

/// An `EnvironmentFile=`'s text, `None` when it is missing and marked `-`. sbx reads it with
/// its own privileges on the payload's behalf, so the path is resolved by the rule mount
/// sources follow (`host::resolve`: only root-owned symlinks are followed) and the resolved
/// path is then opened refusing any symlink; it must be a regular file of bounded size.
fn environment_file(host: &HostFacts, path: &str, ignore_missing: bool) -> Result<Option<String>, String> {
    let resolved = match host::resolve(&*host.fs, path) {
        Ok(r) => r,
        Err(ResolveError::NotFound(_)) if ignore_missing => return Ok(None),
        Err(ResolveError::NotFound(p)) => {
            return Err(format!("{p}: no such file or directory (prefix it with - to ignore a missing file)"));
        }
        Err(e) => return Err(e.to_string()),
    };
    match host.fs.read_resolved(&resolved.path) {
        Ok(text) => Ok(Some(text)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && ignore_missing => Ok(None),
        Err(e) if resolved.path == path => Err(format!("{path}: {e}")),
        Err(e) => Err(format!("{path} (resolved to {}): {e}", resolved.path)),
    }
}

/// What systemd's manager gives every service: its locale (locale.conf, or Debian's
/// /etc/default/locale; C.UTF-8 when neither sets LANG) and a fresh INVOCATION_ID.
fn manager_environment(host: &HostFacts) -> BTreeMap<String, String> {
    let is_locale = |k: &str| k == "LANG" || k == "LANGUAGE" || k.starts_with("LC_");
    let file = ["/etc/locale.conf", "/etc/default/locale"].iter().find_map(|p| host.fs.read_to_string(p).ok());
    let mut env: BTreeMap<String, String> = file
        .and_then(|text| values::parse_env_file(&text).ok())
        .unwrap_or_default()
        .into_iter()
        .filter(|(k, v)| is_locale(k) && !v.is_empty())
        .collect();
    env.entry("LANG".into()).or_insert_with(|| "C.UTF-8".into());
    if let Ok(uuid) = host.fs.read_to_string("/proc/sys/kernel/random/uuid") {
        env.insert("INVOCATION_ID".into(), uuid.trim().replace('-', ""));
    }
    env
}

/// The payload's working directory and whether a failed chdir may fall back to / (only
/// when `WorkingDirectory=-` says so). Without WorkingDirectory= it is the caller's, which
/// must then be usable: never a silent /; under RootDirectory= (where the caller's path names
/// nothing of the caller's) it is the new root, as for a service.
fn working_directory(s: &Settings, host: &HostFacts, id: &Identity) -> Result<(String, bool), PlanError> {
    Ok(match &s.working_directory {
        Some(w) if w.value.home => (id.home.clone(), w.value.ignore_missing),
        Some(w) => (w.value.path.clone().unwrap_or_else(|| "/".into()), w.value.ignore_missing),
        // The caller's directory is a host path: in another root it means nothing; systemd's
        // default, the root, applies.
        None if s.root_directory.is_some() => ("/".into(), false),
        None => match &host.cwd {
            Ok(cwd) => (cwd.clone(), false),
            Err(why) => {
                return Err(PlanError::Host(format!(
                    "{why}; start sbx in another directory or set -p WorkingDirectory=PATH"
                )));
            }
        },
    })
}

fn rlimits(s: &Settings) -> Vec<Rlimit> {
    s.rlimits
        .iter()
        .filter_map(|(name, v)| {
            Some(Rlimit { name: name.clone(), resource: resource(name)?, soft: v.value.soft, hard: v.value.hard })
        })
        .collect()
}

#[allow(clippy::unnecessary_cast, reason = "RLIMIT_* are unsigned in glibc, int in musl")]
fn resource(name: &str) -> Option<i32> {
    use libc::*;
    let r = match name {
        "LimitCPU" => RLIMIT_CPU,
        "LimitFSIZE" => RLIMIT_FSIZE,
        "LimitDATA" => RLIMIT_DATA,
        "LimitSTACK" => RLIMIT_STACK,
        "LimitCORE" => RLIMIT_CORE,
        "LimitRSS" => RLIMIT_RSS,
        "LimitNOFILE" => RLIMIT_NOFILE,
        "LimitAS" => RLIMIT_AS,
        "LimitNPROC" => RLIMIT_NPROC,
        "LimitMEMLOCK" => RLIMIT_MEMLOCK,
        "LimitLOCKS" => RLIMIT_LOCKS,
        "LimitSIGPENDING" => RLIMIT_SIGPENDING,
        "LimitMSGQUEUE" => RLIMIT_MSGQUEUE,
        "LimitNICE" => RLIMIT_NICE,
        "LimitRTPRIO" => RLIMIT_RTPRIO,
        "LimitRTTIME" => RLIMIT_RTTIME,
        _ => return None,
    };
    Some(r as i32)
}

#[cfg(test)]
mod bytes_tests {
    use std::os::unix::ffi::OsStringExt;

    use crate::host::fake;
    use crate::plan::tests::settings;
    use crate::plan::{Invocation, build};

    #[test]
    fn a_passed_value_keeps_its_bytes_but_is_not_expanded() {
        let mut host = fake::host(0);
        host.env_os.insert("LANG".into(), std::ffi::OsString::from_vec(b"a\xff".to_vec()));
        let unit = |line: &str| {
            let s = settings(&format!("PassEnvironment=LANG\n{line}"));
            build(&s, &host, &Invocation::new(Vec::new(), "app")).map_err(|e| e.to_string())
        };
        let p = unit("ExecStart=/bin/true").unwrap();
        assert!(p.exec.env.contains(&std::ffi::OsString::from_vec(b"LANG=a\xff".to_vec())));
        let e = unit("ExecStart=/bin/echo $LANG").unwrap_err();
        assert!(e.contains("ExecStart") && e.contains("$LANG is not UTF-8"), "{e}");
        assert!(unit("ExecStart=:/bin/echo $LANG").is_ok(), "the : prefix expands nothing");
    }
}
