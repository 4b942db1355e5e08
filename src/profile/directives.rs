//! THE directive table: one row per key a profile may write.
//!
//! Invariant: the parser, `-p`, `sbx check`, the man page and the completions all read this
//! table, so they agree by construction. A row is `Supported` only when sbx enforces it;
//! a key that would restrict something sbx cannot enforce yet is `Rejected` with the reason,
//! never accepted and dropped. The tests at the end check the table's own invariants.

use crate::profile::resource_values as rv;
use crate::profile::syscall_lists;
use crate::profile::values;
use crate::profile::{Origin, Section};
use crate::settings::{Phase, Settings, StateKind};

pub use super::assign::all_caps;
use super::assign::*;

/// What a value looks like; decides the merge rule and feeds docs and completions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Bool,
    Enum(&'static [&'static str]),
    Text,
    Name,
    Mode,
    Number,
    Rlimit,
    Paths,
    Binds,
    Tmpfs,
    Caps,
    Names,
    Env,
    Syscalls,
    /// A command line: `ExecStart=` and its siblings.
    Command,
}

/// How repeated assignments combine.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Merge {
    /// The later assignment wins; an empty one resets to the default.
    Scalar,
    /// Assignments accumulate; an empty one clears the list.
    List,
}

impl Kind {
    pub fn merge(self) -> Merge {
        match self {
            Kind::Paths | Kind::Binds | Kind::Tmpfs | Kind::Names | Kind::Env | Kind::Syscalls | Kind::Command => {
                Merge::List
            }
            _ => Merge::Scalar,
        }
    }

    /// A short synopsis of the accepted values, for the man page and errors.
    pub fn synopsis(self) -> String {
        match self {
            Kind::Bool => "BOOL".into(),
            Kind::Enum(choices) => choices.join("|"),
            Kind::Text => "TEXT".into(),
            Kind::Name => "NAME".into(),
            Kind::Mode => "MODE".into(),
            Kind::Number => "NUMBER".into(),
            Kind::Rlimit => "SOFT[:HARD]".into(),
            Kind::Paths => "[-]PATH...".into(),
            Kind::Binds => "[-]SRC[:DEST[:rbind|norbind]]...".into(),
            Kind::Tmpfs => "PATH[:OPTIONS]...".into(),
            Kind::Caps => "[~]CAPABILITY...".into(),
            Kind::Names => "NAME...".into(),
            Kind::Env => "VAR=VALUE...".into(),
            Kind::Syscalls => "[~]NAME|@GROUP[:ERRNO]...".into(),
            Kind::Command => "[-@:!+]COMMAND [ARG]... [; COMMAND...]".into(),
        }
    }
}

/// The plan part that consumes a directive.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub enum Stage {
    Meta,
    Namespaces,
    Mounts,
    StateDirs,
    Ids,
    Caps,
    Process,
    Rlimits,
    Seccomp,
    Cgroup,
    /// What runs: a unit's commands and start-up type (`sbx run --unit`).
    Exec,
    Other,
}

/// Whether sbx enforces a key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    Supported,
    /// Restricts nothing; accepted with a warning.
    Ignored(&'static str),
    /// Would restrict something sbx cannot enforce yet: an error.
    Rejected(&'static str),
}

pub type ApplyFn = fn(&mut Settings, &str, &Origin) -> Result<(), String>;

pub struct Directive {
    pub name: &'static str,
    pub section: Section,
    pub kind: Kind,
    pub stage: Stage,
    pub status: Status,
    pub apply: ApplyFn,
    /// A valid value, used by the table tests and shown as an example.
    pub sample: &'static str,
    pub doc: &'static str,
}

pub fn find(name: &str) -> Option<&'static Directive> {
    DIRECTIVES.iter().find(|d| d.name == name)
}

// ---- value appliers: each writes one Settings field ------------------------------------

// ---- the table -------------------------------------------------------------------------

const SVC: Section = Section::Service;

macro_rules! row {
    ($name:literal, $section:expr, $kind:expr, $stage:ident, $apply:expr, $sample:literal, $doc:literal) => {
        Directive {
            name: $name,
            section: $section,
            kind: $kind,
            stage: Stage::$stage,
            status: Status::Supported,
            apply: $apply,
            sample: $sample,
            doc: $doc,
        }
    };
}

macro_rules! rejected {
    ($name:literal, $stage:ident, $why:expr) => {
        Directive {
            name: $name,
            section: SVC,
            kind: Kind::Text,
            stage: Stage::$stage,
            status: Status::Rejected($why),
            apply: ignore,
            sample: "",
            doc: $why,
        }
    };
}

macro_rules! ignored {
    ($name:literal, $why:literal) => {
        Directive {
            name: $name,
            section: SVC,
            kind: Kind::Text,
            stage: Stage::Other,
            status: Status::Ignored($why),
            apply: ignore,
            sample: "",
            doc: $why,
        }
    };
}

macro_rules! rlimit_row {
    ($name:literal, $sample:literal, $doc:literal) => {
        row!($name, SVC, Kind::Rlimit, Rlimits, |s, v, o| rlimit(s, $name, v, o), $sample, $doc)
    };
}

const BPF: &str = "needs cgroup BPF programs, which sbx does not install; remove the line or run it under systemd";

#[rustfmt::skip]
pub static DIRECTIVES: &[Directive] = &[
    row!("Description", Section::Unit, Kind::Text, Meta, |s, v, o| set(&mut s.description, v, o, |v| Ok(v.to_string())), "a sandbox", "A human-readable description of the profile."),
    // namespaces
    row!("PrivateUsers", SVC, Kind::Bool, Namespaces, |s, v, o| set_bool(&mut s.private_users, v, o), "yes", "Run in a new user namespace even as root; only root and the service's user are mapped."),
    row!("PrivateNetwork", SVC, Kind::Bool, Namespaces, |s, v, o| set_bool(&mut s.private_network, v, o), "yes", "Run in a new network namespace that has only the loopback interface, up."),
    row!("PrivateIPC", SVC, Kind::Bool, Namespaces, |s, v, o| set_bool(&mut s.private_ipc, v, o), "yes", "Run in a new IPC namespace: private System V IPC and POSIX message queues."),
    row!("ProtectHostname", SVC, Kind::Bool, Namespaces, |s, v, o| set_bool(&mut s.protect_hostname, v, o), "yes", "Run in a new UTS namespace, so host name changes stay inside."),
    // filesystem
    row!("ProtectSystem", SVC, Kind::Enum(&["no", "yes", "full", "strict"]), Mounts, |s, v, o| set_value(&mut s.protect_system, v, o, protect_system), "strict", "yes: /usr, /boot, /efi read-only; full: also /etc; strict: the whole tree read-only except /dev, /proc, /sys and what other directives open."),
    row!("ProtectHome", SVC, Kind::Enum(&["no", "yes", "read-only", "tmpfs"]), Mounts, |s, v, o| set_value(&mut s.protect_home, v, o, protect_home), "read-only", "/home, /root and /run/user: yes hides them, read-only binds them read-only, tmpfs replaces them with empty read-only tmpfs."),
    row!("PrivateTmp", SVC, Kind::Bool, Mounts, |s, v, o| set_bool(&mut s.private_tmp, v, o), "yes", "Private, initially empty /tmp and /var/tmp."),
    row!("PrivateDevices", SVC, Kind::Bool, Mounts, |s, v, o| set_bool(&mut s.private_devices, v, o), "yes", "A private /dev with only the pseudo devices (null, zero, full, random, urandom, tty, ptmx, a new devpts, shm); drops CAP_SYS_RAWIO and CAP_MKNOD."),
    row!("ReadWritePaths", SVC, Kind::Paths, Mounts, |s, v, o| push_paths(&mut s.read_write_paths, v, o), "-/srv/data", "Paths that stay writable in a read-only tree; a longer path overrides a shorter one."),
    row!("ReadOnlyPaths", SVC, Kind::Paths, Mounts, |s, v, o| push_paths(&mut s.read_only_paths, v, o), "/etc", "Paths made read-only."),
    row!("InaccessiblePaths", SVC, Kind::Paths, Mounts, |s, v, o| push_paths(&mut s.inaccessible_paths, v, o), "-/var/secret", "Paths replaced by an empty, inaccessible inode."),
    row!("BindPaths", SVC, Kind::Binds, Mounts, |s, v, o| push_binds(&mut s.bind_paths, v, o), "/srv/a:/srv/b", "Bind host paths into the sandbox, writable."),
    row!("BindReadOnlyPaths", SVC, Kind::Binds, Mounts, |s, v, o| push_binds(&mut s.bind_read_only_paths, v, o), "/srv/a:/srv/b:norbind", "Bind host paths into the sandbox, read-only."),
    row!("TemporaryFileSystem", SVC, Kind::Tmpfs, Mounts, |s, v, o| push(&mut s.temporary_file_system, v, o, values::parse_tmpfs_spec), "/var:ro", "Mount a fresh tmpfs on a path."),
    row!("ProtectKernelTunables", SVC, Kind::Bool, Mounts, |s, v, o| set_bool(&mut s.protect_kernel_tunables, v, o), "yes", "/proc/sys and other kernel tunables read-only; /proc/kallsyms, /proc/kcore and the debug file systems inaccessible."),
    row!("ProtectKernelModules", SVC, Kind::Bool, Mounts, |s, v, o| set_bool(&mut s.protect_kernel_modules, v, o), "yes", "Module directories inaccessible and CAP_SYS_MODULE dropped."),
    row!("ProtectKernelLogs", SVC, Kind::Bool, Mounts, |s, v, o| set_bool(&mut s.protect_kernel_logs, v, o), "yes", "/proc/kmsg and /dev/kmsg inaccessible and CAP_SYSLOG dropped."),
    row!("ProtectControlGroups", SVC, Kind::Bool, Mounts, |s, v, o| set_bool(&mut s.protect_control_groups, v, o), "yes", "/sys/fs/cgroup read-only."),
    row!("ProtectProc", SVC, Kind::Enum(&["default", "noaccess", "invisible", "ptraceable"]), Mounts, |s, v, o| set_value(&mut s.protect_proc, v, o, protect_proc), "invisible", "Hide other users' processes in /proc (procfs hidepid=)."),
    row!("ProcSubset", SVC, Kind::Enum(&["all", "pid"]), Mounts, |s, v, o| set_value(&mut s.proc_subset, v, o, proc_subset), "pid", "pid: /proc shows only process directories (procfs subset=pid)."),
    row!("RootDirectory", SVC, Kind::Text, Mounts, |s, v, o| set(&mut s.root_directory, v, o, values::normalize_absolute_path), "/srv/root", "The sandbox's root is this host directory (bound, not copied) instead of a tmpfs with the host's top level; /proc, /sys, /dev and /tmp must exist in it."),
    row!("WorkingDirectory", SVC, Kind::Text, Process, |s, v, o| set(&mut s.working_directory, v, o, working_directory), "-/srv", "The payload's working directory; ~ is the user's home; a leading - tolerates absence."),
    // state directories
    row!("RuntimeDirectory", SVC, Kind::Names, StateDirs, |s, v, o| state_dirs(s, StateKind::Runtime, v, o), "app", "Directories under /run (rootless: $XDG_RUNTIME_DIR), owned by User=, writable, removed when the run ends."),
    row!("StateDirectory", SVC, Kind::Names, StateDirs, |s, v, o| state_dirs(s, StateKind::State, v, o), "app", "Directories under /var/lib (rootless: $XDG_STATE_HOME), owned by User=, writable."),
    row!("CacheDirectory", SVC, Kind::Names, StateDirs, |s, v, o| state_dirs(s, StateKind::Cache, v, o), "app", "Directories under /var/cache (rootless: $XDG_CACHE_HOME), owned by User=, writable."),
    row!("LogsDirectory", SVC, Kind::Names, StateDirs, |s, v, o| state_dirs(s, StateKind::Logs, v, o), "app", "Directories under /var/log (rootless: $XDG_STATE_HOME/log), owned by User=, writable."),
    row!("ConfigurationDirectory", SVC, Kind::Names, StateDirs, |s, v, o| state_dirs(s, StateKind::Configuration, v, o), "app", "Directories under /etc (rootless: $XDG_CONFIG_HOME), owned by User=, writable."),
    row!("RuntimeDirectoryMode", SVC, Kind::Mode, StateDirs, |s, v, o| state_mode(s, StateKind::Runtime, v, o), "0750", "Access mode of RuntimeDirectory= (default 0755)."),
    row!("StateDirectoryMode", SVC, Kind::Mode, StateDirs, |s, v, o| state_mode(s, StateKind::State, v, o), "0750", "Access mode of StateDirectory= (default 0755)."),
    row!("CacheDirectoryMode", SVC, Kind::Mode, StateDirs, |s, v, o| state_mode(s, StateKind::Cache, v, o), "0750", "Access mode of CacheDirectory= (default 0755)."),
    row!("LogsDirectoryMode", SVC, Kind::Mode, StateDirs, |s, v, o| state_mode(s, StateKind::Logs, v, o), "0750", "Access mode of LogsDirectory= (default 0755)."),
    row!("ConfigurationDirectoryMode", SVC, Kind::Mode, StateDirs, |s, v, o| state_mode(s, StateKind::Configuration, v, o), "0750", "Access mode of ConfigurationDirectory= (default 0755)."),
    // identity and privileges
    row!("User", SVC, Kind::Name, Ids, |s, v, o| set(&mut s.user, v, o, user_name), "www-data", "Run as this user (root: a real switch; rootless: the caller appears as this user)."),
    row!("Group", SVC, Kind::Name, Ids, |s, v, o| set(&mut s.group, v, o, user_name), "www-data", "Run with this primary group."),
    row!("SupplementaryGroups", SVC, Kind::Names, Ids, |s, v, o| push(&mut s.supplementary_groups, v, o, user_name), "adm", "Additional groups (root only; a user namespace can map just one group)."),
    row!("DynamicUser", SVC, Kind::Bool, Ids, |s, v, o| set_bool(&mut s.dynamic_user, v, o), "yes", "Run as a transient user (uid 61184-65519, named by User= or the unit name; root only); implies ProtectSystem=strict, ProtectHome=read-only, PrivateTmp=, PrivateIPC=, NoNewPrivileges=, RestrictSUIDSGID=, and private state directories."),
    row!("CapabilityBoundingSet", SVC, Kind::Caps, Caps, |s, v, o| capability_set(&mut s.capability_bounding_set, v, o), "CAP_NET_BIND_SERVICE", "The capability bounding set; empty means none, ~ inverts."),
    row!("AmbientCapabilities", SVC, Kind::Caps, Caps, |s, v, o| capability_set(&mut s.ambient_capabilities, v, o), "CAP_NET_BIND_SERVICE", "Capabilities the payload keeps after switching to a non-root User=."),
    row!("NoNewPrivileges", SVC, Kind::Bool, Caps, |s, v, o| set_bool(&mut s.no_new_privileges, v, o), "yes", "Setuid bits and file capabilities no longer grant privileges (no_new_privs)."),
    // process
    row!("Environment", SVC, Kind::Env, Process, environment, "LANG=C.UTF-8 TZ=UTC", "Set environment variables."),
    row!("EnvironmentFile", SVC, Kind::Paths, Process, |s, v, o| push_paths(&mut s.environment_files, v, o), "-/etc/default/app", "Read VAR=VALUE lines from files; a leading - tolerates absence."),
    row!("PassEnvironment", SVC, Kind::Names, Process, |s, v, o| push(&mut s.pass_environment, v, o, env_var_name), "TERM LANG", "Pass these variables from sbx's environment."),
    row!("UnsetEnvironment", SVC, Kind::Names, Process, |s, v, o| push(&mut s.unset_environment, v, o, env_var_name), "DISPLAY", "Remove these variables from the payload's environment."),
    row!("UMask", SVC, Kind::Mode, Process, |s, v, o| set_value(&mut s.umask, v, o, values::parse_mode), "0077", "The file mode creation mask (default 0022)."),
    row!("Nice", SVC, Kind::Number, Process, |s, v, o| set(&mut s.nice, v, o, values::parse_nice), "10", "Scheduling priority, -20 to 19."),
    rlimit_row!("LimitCPU", "60", "CPU time limit (RLIMIT_CPU), seconds."),
    rlimit_row!("LimitFSIZE", "1G", "File size limit (RLIMIT_FSIZE)."),
    rlimit_row!("LimitDATA", "1G", "Data segment limit (RLIMIT_DATA)."),
    rlimit_row!("LimitSTACK", "8M", "Stack size limit (RLIMIT_STACK)."),
    rlimit_row!("LimitCORE", "0", "Core file size limit (RLIMIT_CORE)."),
    rlimit_row!("LimitRSS", "1G", "Resident set limit (RLIMIT_RSS; not enforced by Linux)."),
    rlimit_row!("LimitNOFILE", "1024:4096", "Open file limit (RLIMIT_NOFILE)."),
    rlimit_row!("LimitAS", "4G", "Address space limit (RLIMIT_AS)."),
    rlimit_row!("LimitNPROC", "512", "Process count limit per user (RLIMIT_NPROC)."),
    rlimit_row!("LimitMEMLOCK", "64M", "Locked memory limit (RLIMIT_MEMLOCK)."),
    rlimit_row!("LimitLOCKS", "128", "File lock limit (RLIMIT_LOCKS)."),
    rlimit_row!("LimitSIGPENDING", "128", "Pending signal limit (RLIMIT_SIGPENDING)."),
    rlimit_row!("LimitMSGQUEUE", "1M", "POSIX message queue bytes limit (RLIMIT_MSGQUEUE)."),
    rlimit_row!("LimitNICE", "0", "Nice ceiling (RLIMIT_NICE)."),
    rlimit_row!("LimitRTPRIO", "0", "Real-time priority ceiling (RLIMIT_RTPRIO)."),
    rlimit_row!("LimitRTTIME", "1s", "Real-time CPU time limit (RLIMIT_RTTIME)."),
    // sbx's own keys
    row!("DieWithParent", Section::XSbx, Kind::Bool, Process, |s, v, o| set_bool(&mut s.die_with_parent, v, o), "yes", "End sbx and the whole sandbox when the process that started sbx dies (as bwrap --die-with-parent; sbx run --die-with-parent sets it). Off by default: nohup, a script's & and supervisors that end their children need sbx to outlive its parent or do not need this."),
    row!("WritableWorkingDirectory", Section::XSbx, Kind::Bool, Mounts, |s, v, o| set_bool(&mut s.writable_working_directory, v, o), "yes", "Make the caller's working directory writable (a ReadWritePaths= entry for it) and start there."),
    row!("HostRoot", Section::XSbx, Kind::Bool, Namespaces, |s, v, o| set_bool(&mut s.host_root, v, o), "no", "As root without User= or DynamicUser=: no makes the payload root only inside a user namespace, as a transient unprivileged uid on the host (61184-65519), so root's files and sockets are out of its reach; the writable working directory is idmapped so the payload owns it as root does. Rootless it changes nothing (the payload is never host root)."),
    // restrictions sbx cannot enforce yet
    row!("SystemCallFilter", SVC, Kind::Syscalls, Seccomp, |s, v, o| push_one(&mut s.system_call_filter, v, o, syscall_lists::parse_filter), "@system-service", "Allow (or with ~, deny) system calls by name and @group; name:errno makes a denied call fail with that errno. The first assignment decides allow or deny; later ones add or remove."),
    row!("SystemCallErrorNumber", SVC, Kind::Text, Seccomp, |s, v, o| set(&mut s.system_call_error_number, v, o, syscall_lists::parse_errno_action), "EPERM", "The errno a refused system call returns instead of killing the process (or kill)."),
    row!("SystemCallArchitectures", SVC, Kind::Names, Seccomp, |s, v, o| push(&mut s.system_call_architectures, v, o, syscall_lists::parse_arch), "native", "Architectures whose system calls are allowed: native (or its name, x86-64, arm64). sbx's filter speaks the native ABI only, so other ABIs (i386, x32) are refused in every sandbox."),
    row!("SystemCallLog", SVC, Kind::Syscalls, Seccomp, |s, v, o| push_one(&mut s.system_call_log, v, o, syscall_lists::parse_filter), "@privileged", "Report (and allow) these system calls; with ~, all others."),
    row!("RestrictNamespaces", SVC, Kind::Text, Seccomp, |s, v, o| push_one(&mut s.restrict_namespaces, v, o, syscall_lists::parse_namespaces), "yes", "Forbid creating or joining namespaces: yes (all), or the types allowed (~ for the types forbidden)."),
    row!("RestrictAddressFamilies", SVC, Kind::Text, Seccomp, |s, v, o| push_one(&mut s.restrict_address_families, v, o, syscall_lists::parse_families), "AF_UNIX AF_INET AF_INET6", "The socket address families allowed (~ for those forbidden, none for no sockets)."),
    row!("MemoryDenyWriteExecute", SVC, Kind::Bool, Seccomp, |s, v, o| set_bool(&mut s.memory_deny_write_execute, v, o), "yes", "No memory that is writable and executable, and no making memory executable."),
    row!("RestrictRealtime", SVC, Kind::Bool, Seccomp, |s, v, o| set_bool(&mut s.restrict_realtime, v, o), "yes", "Refuse real-time scheduling policies (SCHED_FIFO, SCHED_RR, SCHED_DEADLINE)."),
    row!("RestrictSUIDSGID", SVC, Kind::Bool, Seccomp, |s, v, o| set_bool(&mut s.restrict_suid_sgid, v, o), "yes", "Refuse creating files or directories with the set-user-ID or set-group-ID bit."),
    row!("LockPersonality", SVC, Kind::Bool, Seccomp, |s, v, o| set_bool(&mut s.lock_personality, v, o), "yes", "personality(2) cannot change the execution domain."),
    row!("ProtectClock", SVC, Kind::Bool, Seccomp, |s, v, o| set_bool(&mut s.protect_clock, v, o), "yes", "Refuse changing the clocks (@clock) and drop CAP_SYS_TIME and CAP_WAKE_ALARM."),
    row!("KeyringMode", SVC, Kind::Enum(&["inherit", "private", "shared"]), Process, |s, v, o| set_value(&mut s.keyring_mode, v, o, syscall_lists::parse_keyring_mode), "private", "private (the default, as for a systemd service): a new session keyring of the payload's own, and add_key, keyctl and request_key refused, since a uid's user keyring answers to that uid by serial number; shared: a new session keyring linked to the uid's user keyring; inherit: sbx's session keyring."),
    row!("MemoryMax", SVC, Kind::Text, Cgroup, |s, v, o| set(&mut s.memory_max, v, o, rv::parse_memory), "512M", "Hard memory limit of the sandbox (cgroup memory.max): bytes, a percentage of physical memory, or infinity; beyond it the kernel kills (OOM)."),
    row!("MemoryHigh", SVC, Kind::Text, Cgroup, |s, v, o| set(&mut s.memory_high, v, o, rv::parse_memory), "400M", "Memory throttling threshold (memory.high)."),
    row!("MemoryLow", SVC, Kind::Text, Cgroup, |s, v, o| set(&mut s.memory_low, v, o, rv::parse_memory), "64M", "Best-effort memory protection (memory.low)."),
    row!("MemoryMin", SVC, Kind::Text, Cgroup, |s, v, o| set(&mut s.memory_min, v, o, rv::parse_memory), "32M", "Hard memory protection (memory.min)."),
    row!("MemorySwapMax", SVC, Kind::Text, Cgroup, |s, v, o| set(&mut s.memory_swap_max, v, o, rv::parse_memory), "0", "Swap limit (memory.swap.max)."),
    row!("CPUQuota", SVC, Kind::Text, Cgroup, |s, v, o| set(&mut s.cpu_quota, v, o, rv::parse_cpu_quota), "20%", "CPU time as a percentage of one CPU, above 100% for several (cpu.max)."),
    row!("CPUQuotaPeriodSec", SVC, Kind::Text, Cgroup, |s, v, o| set(&mut s.cpu_quota_period, v, o, rv::parse_timeout), "50ms", "The period CPUQuota= applies over (default 100ms)."),
    row!("CPUWeight", SVC, Kind::Number, Cgroup, |s, v, o| set(&mut s.cpu_weight, v, o, rv::parse_weight), "50", "Relative CPU weight, 1 to 10000, default 100 (cpu.weight)."),
    row!("AllowedCPUs", SVC, Kind::Text, Cgroup, |s, v, o| set(&mut s.allowed_cpus, v, o, rv::parse_cpuset), "0-1", "CPUs the sandbox may run on (cpuset.cpus)."),
    rejected!("AllowedMemoryNodes", Cgroup, "not implemented yet (NUMA memory nodes); remove the line"),
    row!("TasksMax", SVC, Kind::Text, Cgroup, |s, v, o| set(&mut s.tasks_max, v, o, rv::parse_tasks), "64", "Maximum number of tasks (pids.max): a number, a percentage of the system limit, or infinity."),
    row!("IOWeight", SVC, Kind::Number, Cgroup, |s, v, o| set(&mut s.io_weight, v, o, rv::parse_weight), "50", "Relative I/O weight, 1 to 10000, default 100 (io.weight)."),
    row!("IOReadBandwidthMax", SVC, Kind::Text, Cgroup, |s, v, o| push_one(&mut s.io_limits[0], v, o, |v| rv::parse_io_limit(v, true)), "/dev/sda 5M", "Read bandwidth limit per device (io.max rbps)."),
    row!("IOWriteBandwidthMax", SVC, Kind::Text, Cgroup, |s, v, o| push_one(&mut s.io_limits[1], v, o, |v| rv::parse_io_limit(v, true)), "/dev/sda 5M", "Write bandwidth limit per device (io.max wbps)."),
    row!("IOReadIOPSMax", SVC, Kind::Text, Cgroup, |s, v, o| push_one(&mut s.io_limits[2], v, o, |v| rv::parse_io_limit(v, false)), "/dev/sda 1000", "Read operations per second per device (io.max riops)."),
    row!("IOWriteIOPSMax", SVC, Kind::Text, Cgroup, |s, v, o| push_one(&mut s.io_limits[3], v, o, |v| rv::parse_io_limit(v, false)), "/dev/sda 1000", "Write operations per second per device (io.max wiops)."),
    rejected!("DeviceAllow", Cgroup, BPF),
    rejected!("DevicePolicy", Cgroup, BPF),
    rejected!("IPAddressAllow", Cgroup, BPF),
    rejected!("IPAddressDeny", Cgroup, BPF),
    row!("SocketBindAllow", SVC, Kind::Names, Other, |s, v, o| push(&mut s.socket_bind_allow, v, o, rv::parse_bind_rule), "tcp:8080", "TCP ports the payload may bind despite SocketBindDeny= (Landlock; UDP and per-family rules are refused)."),
    row!("SocketBindDeny", SVC, Kind::Names, Other, |s, v, o| push(&mut s.socket_bind_deny, v, o, rv::parse_bind_rule), "tcp", "Refuse binding TCP ports (tcp, or ipv4:tcp with ipv6:tcp) except those SocketBindAllow= lists (Landlock TCP rules, ABI 4)."),
    rejected!("RestrictNetworkInterfaces", Cgroup, BPF),
    rejected!("RestrictFileSystems", Other, "needs a BPF LSM program, which sbx does not install"),
    row!("OOMScoreAdjust", SVC, Kind::Number, Process, |s, v, o| set(&mut s.oom_score_adjust, v, o, rv::parse_oom_score), "500", "The payload's OOM killer adjustment, -1000 to 1000 (lowering it needs root)."),
    row!("RuntimeMaxSec", SVC, Kind::Text, Process, |s, v, o| set(&mut s.runtime_max, v, o, rv::parse_timeout), "30s", "Stop the payload after this long: SIGTERM, then SIGKILL after TimeoutStopSec=."),
    row!("TimeoutStopSec", SVC, Kind::Text, Process, |s, v, o| set(&mut s.timeout_stop, v, o, rv::parse_timeout), "10s", "How long a payload stopped by RuntimeMaxSec= or sbx may take before SIGKILL (default 90s)."),
    rejected!("ExecPaths", Mounts, "not implemented yet; remove the line"),
    rejected!("NoExecPaths", Mounts, "not implemented yet; remove the line"),
    rejected!("RemoveIPC", Process, "not implemented yet; use PrivateIPC=yes"),
    rejected!("SecureBits", Caps, "not implemented yet; remove the line"),
    rejected!("PrivateMounts", Namespaces, "sbx always uses a private mount namespace; remove the line"),
    rejected!("NetworkNamespacePath", Namespaces, "joining existing namespaces is not implemented"),
    rejected!("IPCNamespacePath", Namespaces, "joining existing namespaces is not implemented"),
    rejected!("RootImage", Mounts, "disk images are not supported"),
    rejected!("MountImages", Mounts, "disk images are not supported"),
    rejected!("ExtensionImages", Mounts, "disk images are not supported"),
    rejected!("ExtensionDirectories", Mounts, "not implemented yet; remove the line"),
    rejected!("LoadCredential", Mounts, "credentials are not implemented yet"),
    rejected!("SetCredential", Mounts, "credentials are not implemented yet"),
    rejected!("AppArmorProfile", Other, "LSM profiles are not supported"),
    rejected!("SELinuxContext", Other, "LSM profiles are not supported"),
    rejected!("SmackProcessLabel", Other, "LSM profiles are not supported"),
    rejected!("NUMAPolicy", Other, "not implemented yet; remove the line"),
    rejected!("CPUSchedulingPolicy", Process, "not implemented yet; remove the line"),
    rejected!("CPUSchedulingPriority", Process, "not implemented yet; remove the line"),
    rejected!("IOSchedulingClass", Process, "not implemented yet; remove the line"),
    rejected!("IOSchedulingPriority", Process, "not implemented yet; remove the line"),
    // a unit's start-up type and commands (sbx run --unit; with a COMMAND they are not used)
    row!("Type", SVC, Kind::Enum(&["simple", "exec", "forking", "oneshot", "dbus", "notify", "notify-reload", "idle"]), Exec, |s, v, o| set_value(&mut s.service_type, v, o, service_type), "oneshot", "How the unit's main process starts: simple, exec and idle run ExecStart= in the foreground and ExecStartPost= once it has executed; oneshot runs each ExecStart= to its end first. forking, notify, notify-reload and dbus are refused: sbx follows no PID file and has no notification socket and no bus."),
    row!("ExecCondition", SVC, Kind::Command, Exec, |s, v, o| commands(s, Phase::Condition, v, o), "/usr/bin/test -d /srv", "Commands run first: an exit status from 1 to 254 skips the unit (sbx exits 0), 255 or a signal fails it."),
    row!("ExecStartPre", SVC, Kind::Command, Exec, |s, v, o| commands(s, Phase::StartPre, v, o), "-/bin/mkdir -p /srv/data", "Commands run one after another before ExecStart=, in the same sandbox; the first failure (unless prefixed -) fails the unit."),
    row!("ExecStart", SVC, Kind::Command, Exec, |s, v, o| commands(s, Phase::Start, v, o), "/usr/sbin/lighttpd -D -f /etc/lighttpd/lighttpd.conf", "The unit's command; several (lines, or ; between commands) only with Type=oneshot. Prefixes: - a failure is ignored, @ the next word is argv[0], : no variable expansion, ! no switch to User=, !! no effect (Linux has ambient capabilities), + (full privileges, unsandboxed) is refused. $NAME as a word is split, ${NAME} is kept whole. A bare name is looked up in /usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin."),
    row!("ExecStartPost", SVC, Kind::Command, Exec, |s, v, o| commands(s, Phase::StartPost, v, o), "/bin/touch /run/app/started", "Commands run one after another once the main process has executed (with Type=oneshot, once ExecStart= has ended), while it runs; a failure stops the unit."),
    row!("ExecStopPost", SVC, Kind::Command, Exec, |s, v, o| commands(s, Phase::StopPost, v, o), "-/bin/rm -f /run/app/started", "Commands run after the unit has stopped, also when it failed; the first failure (unless prefixed -) stops the rest and fails the unit."),
    // keys a foreground sandbox has no use for and that restrict nothing
    ignored!("Restart", "sbx runs the unit once, in the foreground"),
    ignored!("RestartSec", "sbx runs the unit once, in the foreground"),
    ignored!("RestartPreventExitStatus", "sbx runs the unit once, in the foreground"),
    ignored!("RestartForceExitStatus", "sbx runs the unit once, in the foreground"),
    ignored!("SuccessExitStatus", "sbx exits with the main process's status as it is"),
    ignored!("TimeoutSec", "sbx has no start-up timeout (TimeoutStopSec= sets the stop timeout)"),
    ignored!("WatchdogSec", "sbx has no service watchdog"),
    ignored!("NotifyAccess", "sbx has no notification socket (Type=notify is refused)"),
    ignored!("GuessMainPID", "sbx tracks the main process itself"),
    ignored!("KillSignal", "sbx forwards the signal it receives to the main process"),
    ignored!("RemainAfterExit", "sbx runs the command once"),
    ignored!("TimeoutStartSec", "sbx has no start-up timeout"),
    ignored!("KillMode", "sbx always kills the whole sandbox at the end"),
    ignored!("StandardInput", "the payload uses sbx's standard streams"),
    ignored!("StandardOutput", "the payload uses sbx's standard streams"),
    ignored!("StandardError", "the payload uses sbx's standard streams"),
    ignored!("SyslogIdentifier", "sbx has no journal"),
    ignored!("ExecReload", "sbx has no reload request; send the program its reload signal instead"),
    ignored!("ExecStop", "sbx stops a unit by forwarding the signal it receives (SIGTERM) to the main process"),
    ignored!("PIDFile", "sbx tracks the payload itself"),
];

/// Exposed for tests elsewhere: a path list merge.
#[cfg(test)]
pub(crate) fn sample_list_directive() -> &'static Directive {
    find("ReadWritePaths").expect("row exists")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::{ProtectSystem, ServiceType, WorkingDir};
    use std::collections::HashSet;
    use std::sync::Arc;

    fn origin() -> Origin {
        Origin { source: Arc::from("t.conf"), line: 1 }
    }

    #[test]
    fn keys_are_unique() {
        let mut seen = HashSet::new();
        for d in DIRECTIVES {
            assert!(seen.insert(d.name), "duplicate row {}", d.name);
        }
    }

    #[test]
    fn every_row_is_documented() {
        for d in DIRECTIVES {
            assert!(!d.doc.is_empty(), "{} has no doc", d.name);
        }
    }

    #[test]
    fn every_supported_sample_parses_and_changes_settings() {
        for d in DIRECTIVES.iter().filter(|d| d.status == Status::Supported) {
            let mut s = Settings::default();
            (d.apply)(&mut s, d.sample, &origin()).unwrap_or_else(|e| panic!("{}={}: {e}", d.name, d.sample));
            assert_ne!(s, Settings::default(), "{}= writes no field", d.name);
        }
    }

    #[test]
    fn an_empty_assignment_resets_every_supported_row() {
        for d in DIRECTIVES.iter().filter(|d| d.status == Status::Supported) {
            let mut s = Settings::default();
            (d.apply)(&mut s, d.sample, &origin()).unwrap();
            if matches!(d.kind, Kind::Bool | Kind::Enum(_) | Kind::Mode) {
                // Invalid in systemd (warned and ignored there): an error here, never a reset.
                assert!((d.apply)(&mut s, "", &origin()).is_err(), "{}= accepts an empty value", d.name);
                continue;
            }
            (d.apply)(&mut s, "", &origin()).unwrap();
            if d.kind == Kind::Caps {
                // An empty capability set means "none", not "unset".
                assert_eq!(
                    s.capability_bounding_set.as_ref().or(s.ambient_capabilities.as_ref()).map(|c| c.value),
                    Some(0),
                    "{}",
                    d.name
                );
            } else {
                assert_eq!(s, Settings::default(), "{}= is not reset by an empty assignment", d.name);
            }
        }
    }

    #[test]
    fn bind_paths_keep_escaped_colons() {
        let mut s = Settings::default();
        push_binds(&mut s.bind_paths, r"/a\:b:/c norbind-free", &origin()).unwrap_err();
        push_binds(&mut s.bind_paths, r"/a\:b:/c", &origin()).unwrap();
        assert_eq!(s.bind_paths[0].value.source.path, "/a:b");
        assert_eq!(s.bind_paths[0].value.dest, "/c");
    }

    #[test]
    fn lists_accumulate() {
        let d = sample_list_directive();
        let mut s = Settings::default();
        (d.apply)(&mut s, "/a", &origin()).unwrap();
        (d.apply)(&mut s, "/b -/c", &origin()).unwrap();
        let paths: Vec<_> = s.read_write_paths.iter().map(|p| p.value.path.as_str()).collect();
        assert_eq!(paths, ["/a", "/b", "/c"]);
        assert!(s.read_write_paths[2].value.ignore_missing);
    }

    #[test]
    fn capability_sets_follow_systemd() {
        let mut slot = None;
        let bind = caps::Capability::CAP_NET_BIND_SERVICE.bitmask();
        let raw = caps::Capability::CAP_NET_RAW.bitmask();
        capability_set(&mut slot, "CAP_NET_BIND_SERVICE", &origin()).unwrap();
        capability_set(&mut slot, "cap_net_raw", &origin()).unwrap();
        assert_eq!(slot.as_ref().unwrap().value, bind | raw, "non-empty lines are OR-ed");
        capability_set(&mut slot, "", &origin()).unwrap();
        assert_eq!(slot.as_ref().unwrap().value, 0, "empty means none");
        capability_set(&mut slot, "~", &origin()).unwrap();
        assert_eq!(slot.as_ref().unwrap().value, all_caps(), "a lone ~ means all");
        capability_set(&mut slot, "~CAP_NET_RAW", &origin()).unwrap();
        assert_eq!(slot.as_ref().unwrap().value, all_caps() & !raw, "a later ~LIST removes");
        capability_set(&mut slot, "", &origin()).unwrap();
        capability_set(&mut slot, "~CAP_NET_RAW", &origin()).unwrap();
        assert_eq!(slot.as_ref().unwrap().value, 0, "removing from none leaves none (systemd 252)");
        assert!(capability_set(&mut slot, "CAP_BOGUS", &origin()).unwrap_err().contains("CAP_BOGUS"));
    }

    #[test]
    fn enums_accept_booleans_where_systemd_does() {
        let mut s = Settings::default();
        set(&mut s.protect_system, "true", &origin(), protect_system).unwrap();
        assert_eq!(s.protect_system.unwrap().value, ProtectSystem::Yes);
        assert!(protect_proc("yes").is_err());
        assert!(protect_home("sometimes").unwrap_err().contains("read-only"));
    }

    #[test]
    fn command_lines_accumulate_and_an_empty_one_resets() {
        let mut s = Settings::default();
        let start = find("ExecStart").unwrap();
        (start.apply)(&mut s, "/bin/a ; /bin/b", &origin()).unwrap();
        (start.apply)(&mut s, "-/bin/c x", &origin()).unwrap();
        let argv0: Vec<&str> = s.commands[Phase::Start.index()].iter().map(|c| c.value.argv[0].as_str()).collect();
        assert_eq!(argv0, ["/bin/a", "/bin/b", "/bin/c"]);
        (start.apply)(&mut s, "", &origin()).unwrap();
        assert!(s.commands[Phase::Start.index()].is_empty());
        assert!((start.apply)(&mut s, "bin/relative", &origin()).is_err());
        assert_eq!(service_type("notify-reload").unwrap(), ServiceType::NotifyReload);
        assert!(service_type("daemon").unwrap_err().contains("simple, exec, forking"));
    }

    /// systemd expands specifiers in a command line word by word, after quotes are removed.
    #[test]
    fn command_line_specifiers_expand_per_word() {
        let parsed = crate::profile::syntax::parse(
            "[Service]\nExecStart=/bin/ls %h \"%h/x\" '%%'\n",
            &std::sync::Arc::from("t.conf"),
        )
        .unwrap();
        let ctx = crate::profile::specifiers::SpecifierContext { home: "/home/a b".into(), ..Default::default() };
        let s = crate::settings::apply(&parsed.assignments, &ctx).unwrap().settings;
        assert_eq!(s.commands[Phase::Start.index()][0].value.argv, ["/bin/ls", "/home/a b", "/home/a b/x", "%"]);
    }

    #[test]
    fn working_directory_forms() {
        assert_eq!(working_directory("~").unwrap(), WorkingDir { path: None, home: true, ignore_missing: false });
        assert_eq!(working_directory("-/srv").unwrap().path.as_deref(), Some("/srv"));
        assert!(working_directory("relative").is_err());
    }

    #[test]
    fn state_directory_names_are_relative() {
        assert!(state_dir_name("app/sub").is_ok());
        for bad in ["/abs", "../up", "a//b", "a/./b"] {
            assert!(state_dir_name(bad).is_err(), "{bad}");
        }
    }
}
