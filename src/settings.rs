//! Settings: the typed, merged form of all profile assignments.
//!
//! Invariant: pure data, no syscalls. Merging follows systemd: for a scalar the later
//! assignment wins and an empty one resets it to the default; a list accumulates and an empty
//! assignment clears what came before. Every value remembers the `Origin` that set it, so the
//! plan can name the directive and file:line when something cannot be done.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::error::ProfileError;
use crate::profile::directives::{self, Kind, Status};
use crate::profile::resource_values::{BindRule, IoLimit, Limit};
use crate::profile::specifiers::{self, SpecifierContext};
use crate::profile::syntax::Warning;
use crate::profile::syscall_lists::{ErrnoAction, FamilyAssign, FilterAssign, KeyringMode, NsAssign};
use crate::profile::values::{self, BindSpec, CommandLine, PathEntry, RlimitValue, TmpfsSpec};
use crate::profile::{Assignment, Origin};

/// A value with the assignment that set it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Spanned<T> {
    pub value: T,
    pub origin: Origin,
}

pub type Scalar<T> = Option<Spanned<T>>;
pub type List<T> = Vec<Spanned<T>>;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum ProtectSystem {
    No,
    Yes,
    Full,
    Strict,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum ProtectHome {
    No,
    Yes,
    ReadOnly,
    Tmpfs,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum ProtectProc {
    Default,
    NoAccess,
    Invisible,
    Ptraceable,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum ProcSubset {
    All,
    Pid,
}

/// The five state-directory families, in systemd's order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub enum StateKind {
    Runtime,
    State,
    Cache,
    Logs,
    Configuration,
}

impl StateKind {
    pub const ALL: [StateKind; 5] =
        [StateKind::Runtime, StateKind::State, StateKind::Cache, StateKind::Logs, StateKind::Configuration];

    pub fn directive(self) -> &'static str {
        match self {
            StateKind::Runtime => "RuntimeDirectory",
            StateKind::State => "StateDirectory",
            StateKind::Cache => "CacheDirectory",
            StateKind::Logs => "LogsDirectory",
            StateKind::Configuration => "ConfigurationDirectory",
        }
    }

    /// The environment variable systemd sets for this family.
    pub fn env_var(self) -> &'static str {
        match self {
            StateKind::Runtime => "RUNTIME_DIRECTORY",
            StateKind::State => "STATE_DIRECTORY",
            StateKind::Cache => "CACHE_DIRECTORY",
            StateKind::Logs => "LOGS_DIRECTORY",
            StateKind::Configuration => "CONFIGURATION_DIRECTORY",
        }
    }

    pub fn index(self) -> usize {
        self as usize
    }
}

/// `Type=`: how systemd decides that a service has started.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum ServiceType {
    Simple,
    Exec,
    Forking,
    Oneshot,
    Dbus,
    Notify,
    NotifyReload,
    Idle,
}

/// The command-line directives of a service, in the order systemd runs them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub enum Phase {
    Condition,
    StartPre,
    Start,
    StartPost,
    StopPost,
}

impl Phase {
    pub const ALL: [Phase; 5] = [Phase::Condition, Phase::StartPre, Phase::Start, Phase::StartPost, Phase::StopPost];

    pub fn directive(self) -> &'static str {
        match self {
            Phase::Condition => "ExecCondition",
            Phase::StartPre => "ExecStartPre",
            Phase::Start => "ExecStart",
            Phase::StartPost => "ExecStartPost",
            Phase::StopPost => "ExecStopPost",
        }
    }

    pub fn index(self) -> usize {
        self as usize
    }
}

/// `WorkingDirectory=`: a path, or `~` for the user's home; `-` tolerates absence.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct WorkingDir {
    pub path: Option<String>,
    pub home: bool,
    pub ignore_missing: bool,
}

/// A capability set as a bit mask over capability numbers.
pub type CapMask = u64;

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Settings {
    pub description: Scalar<String>,

    pub private_users: Scalar<bool>,
    pub private_network: Scalar<bool>,
    pub private_ipc: Scalar<bool>,
    pub protect_hostname: Scalar<bool>,

    pub protect_system: Scalar<ProtectSystem>,
    pub protect_home: Scalar<ProtectHome>,
    pub private_tmp: Scalar<bool>,
    pub private_devices: Scalar<bool>,
    pub read_write_paths: List<PathEntry>,
    pub read_only_paths: List<PathEntry>,
    pub inaccessible_paths: List<PathEntry>,
    pub bind_paths: List<BindSpec>,
    pub bind_read_only_paths: List<BindSpec>,
    pub temporary_file_system: List<TmpfsSpec>,
    pub protect_kernel_tunables: Scalar<bool>,
    pub protect_kernel_modules: Scalar<bool>,
    pub protect_kernel_logs: Scalar<bool>,
    pub protect_control_groups: Scalar<bool>,
    pub protect_proc: Scalar<ProtectProc>,
    pub proc_subset: Scalar<ProcSubset>,
    pub working_directory: Scalar<WorkingDir>,
    pub root_directory: Scalar<String>,

    /// Per `StateKind::index()`: the directory names, then the mode.
    pub state_dirs: [List<String>; 5],
    pub state_dir_modes: [Scalar<u32>; 5],

    pub user: Scalar<String>,
    pub group: Scalar<String>,
    pub supplementary_groups: List<String>,
    pub dynamic_user: Scalar<bool>,
    pub capability_bounding_set: Scalar<CapMask>,
    pub ambient_capabilities: Scalar<CapMask>,
    pub no_new_privileges: Scalar<bool>,

    pub environment: List<(String, String)>,
    pub environment_files: List<PathEntry>,
    pub pass_environment: List<String>,
    pub unset_environment: List<String>,
    pub umask: Scalar<u32>,
    pub nice: Scalar<i32>,
    pub rlimits: BTreeMap<String, Spanned<RlimitValue>>,

    pub system_call_filter: List<FilterAssign>,
    pub system_call_error_number: Scalar<ErrnoAction>,
    pub system_call_architectures: List<String>,
    pub system_call_log: List<FilterAssign>,
    pub restrict_namespaces: List<NsAssign>,
    pub restrict_address_families: List<FamilyAssign>,
    pub memory_deny_write_execute: Scalar<bool>,
    pub restrict_realtime: Scalar<bool>,
    pub restrict_suid_sgid: Scalar<bool>,
    pub lock_personality: Scalar<bool>,
    pub protect_clock: Scalar<bool>,
    pub keyring_mode: Scalar<KeyringMode>,

    pub memory_max: Scalar<Limit>,
    pub memory_high: Scalar<Limit>,
    pub memory_low: Scalar<Limit>,
    pub memory_min: Scalar<Limit>,
    pub memory_swap_max: Scalar<Limit>,
    pub cpu_quota: Scalar<u32>,
    pub cpu_quota_period: Scalar<Option<u64>>,
    pub cpu_weight: Scalar<u64>,
    pub allowed_cpus: Scalar<String>,
    pub tasks_max: Scalar<Limit>,
    pub io_weight: Scalar<u64>,
    /// IOReadBandwidthMax=, IOWriteBandwidthMax=, IOReadIOPSMax=, IOWriteIOPSMax=.
    pub io_limits: [List<IoLimit>; 4],
    pub oom_score_adjust: Scalar<i32>,
    pub socket_bind_allow: List<BindRule>,
    pub socket_bind_deny: List<BindRule>,
    pub runtime_max: Scalar<Option<u64>>,
    pub timeout_stop: Scalar<Option<u64>>,

    /// `sbx run --unit`: `Type=` and, per `Phase::index()`, the command lines.
    pub service_type: Scalar<ServiceType>,
    pub commands: [List<CommandLine>; 5],

    /// `[X-Sbx] WritableWorkingDirectory=`: make the caller's working directory writable.
    pub writable_working_directory: Scalar<bool>,
    /// `[X-Sbx] HostRoot=no`: as root, the payload's uid 0 is a transient host uid.
    pub host_root: Scalar<bool>,
    /// `[X-Sbx] DieWithParent=` (or `sbx run --die-with-parent`): sbx, and with it the
    /// sandbox, ends when the process that started sbx dies.
    pub die_with_parent: Scalar<bool>,
}

/// The outcome of applying assignments: settings, plus warnings for keys sbx ignores.
#[derive(Debug)]
pub struct Applied {
    pub settings: Settings,
    pub warnings: Vec<Warning>,
}

/// Applies assignments in order through the directive table. All errors are collected so a
/// user sees every problem of a profile at once; nothing is applied when any exists.
pub fn apply(assignments: &[Assignment], ctx: &SpecifierContext) -> Result<Applied, Vec<ProfileError>> {
    let mut settings = Settings::default();
    let mut warnings = Vec::new();
    let mut errors = Vec::new();
    for a in assignments {
        if let Err(e) = apply_one(&mut settings, a, ctx, &mut warnings) {
            errors.push(e);
        }
    }
    if errors.is_empty() { Ok(Applied { settings, warnings }) } else { Err(errors) }
}

fn apply_one(
    settings: &mut Settings,
    a: &Assignment,
    ctx: &SpecifierContext,
    warnings: &mut Vec<Warning>,
) -> Result<(), ProfileError> {
    let Some(row) = directives::find(&a.key) else {
        if &*a.origin.source == "-p" {
            // A typo on the command line would silently drop a protection: refuse it, as
            // systemd-run -p does.
            return Err(ProfileError::UnknownOverride { origin: a.origin.clone(), key: a.key.clone() });
        }
        warnings.push(Warning {
            origin: a.origin.clone(),
            message: format!("unknown directive {}= in [{}], ignored", a.key, a.section.name()),
        });
        return Ok(());
    };
    if row.section != a.section {
        return Err(ProfileError::WrongSection {
            origin: a.origin.clone(),
            key: a.key.clone(),
            expected: row.section.name(),
            found: a.section.name(),
        });
    }
    match row.status {
        Status::Supported => {}
        Status::Ignored(reason) => {
            warnings.push(Warning { origin: a.origin.clone(), message: format!("{}= is ignored: {reason}", a.key) });
            return Ok(());
        }
        Status::Rejected(reason) => {
            return Err(ProfileError::Rejected {
                origin: a.origin.clone(),
                key: a.key.clone(),
                reason: reason.to_string(),
            });
        }
    }
    let value_error = |message: String| ProfileError::Value {
        origin: a.origin.clone(),
        key: a.key.clone(),
        value: a.value.clone(),
        message,
    };
    // systemd expands specifiers in command lines word by word, once quotes are removed.
    // Resource-control values and plain numbers, booleans and enums take no specifiers in
    // systemd (so `CPUQuota=50%` is a percentage, not a specifier).
    let literal = row.stage == directives::Stage::Cgroup
        || matches!(row.kind, Kind::Bool | Kind::Number | Kind::Mode | Kind::Enum(_) | Kind::Rlimit);
    let value = match row.kind {
        _ if literal => Ok(a.value.clone()),
        Kind::Command => values::expand_specifiers(&a.value, |word| specifiers::expand(word, ctx)),
        _ => specifiers::expand(&a.value, ctx),
    }
    .map_err(value_error)?;
    (row.apply)(settings, &value, &a.origin).map_err(value_error)
}

impl Settings {
    pub fn flag(v: &Scalar<bool>) -> bool {
        v.as_ref().is_some_and(|s| s.value)
    }
}
