//! The command line, as clap definitions only.

use clap::{Args, Parser, Subcommand};

#[derive(Parser, Debug)]
#[command(
    name = "sbx",
    version,
    about = "Run a program in a Linux sandbox described with systemd's hardening directives",
    long_about = "sbx runs one program in fresh namespaces on a root of its own, confined as a profile says. \
Profiles are systemd unit-file drop-ins: the same ProtectSystem=, PrivateTmp=, User=, \
CapabilityBoundingSet= ... that harden a systemd service, applied without systemd. sbx needs no \
setuid bit: unprivileged users get a user namespace, root gets real id switches.",
    after_help = "Exit status: the payload's own, or 128+N when signal N killed it; 125 when sbx itself \
failed (the message says which step), 126 when the command cannot be executed, 127 when it is not found."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run a command in a sandbox
    Run(RunArgs),
    /// Validate profiles and print every finding with file:line
    Check(CheckArgs),
    /// List the built-in profiles and the search path
    Profiles,
    /// Print the merged profile in unit-file syntax
    Show(ShowArgs),
    /// List systemd's syscall groups and their members
    SyscallFilter(SyscallFilterArgs),
    /// Score a profile like systemd-analyze security, and show what of it holds on this host
    ///
    /// One row per check of systemd 252's `systemd-analyze security`: a mark, the check, what
    /// it means for this profile and the exposure it adds; then HERE: whether this sbx enforces
    /// it on this host and by which mechanism, or why not. The overall exposure (0.0 to 10.0)
    /// and its verdict are systemd's, computed from the profile text alone.
    Analyze(AnalyzeArgs),
    /// Report what this host lets sbx enforce, and how to fix what is missing
    ///
    /// Exit status: 0 when full isolation is possible here, 1 when some protection a profile
    /// can ask for cannot be enforced, 125 when doctor itself failed.
    Doctor(DoctorArgs),
    /// Write the man page or shell completions (for packagers)
    #[command(hide = true)]
    Generate(GenerateArgs),
}

#[derive(Args, Debug)]
pub struct ProfileArgs {
    /// A profile name (searched in $XDG_CONFIG_HOME/sbx/profiles, /etc/sbx/profiles, then the
    /// built-in ones) or a path to a .conf file; repeat to stack profiles like drop-ins.
    /// Without it, the built-in "default" profile applies
    #[arg(long = "profile", value_name = "NAME|PATH")]
    pub profiles: Vec<String>,
    /// Set a directive after all profiles, like systemd-run -p (e.g. -p PrivateNetwork=yes)
    #[arg(short = 'p', long = "property", value_name = "DIRECTIVE=VALUE")]
    pub set: Vec<String>,
}

#[derive(Args, Debug)]
pub struct RunArgs {
    #[command(flatten)]
    pub profile: ProfileArgs,
    /// Run a systemd service unit in the foreground instead of a COMMAND: its ExecStart= (and
    /// ExecStartPre=, ExecStartPost=, ExecCondition=, ExecStopPost=), its sandboxing and its
    /// drop-ins (FILE.service.d/ and /etc/systemd/system/NAME.service.d/); --profile and -p
    /// apply on top (the default profile does not: the unit is the profile).
    /// NAME@INSTANCE.service reads NAME@.service
    #[arg(long, value_name = "FILE.service", conflicts_with = "command")]
    pub unit: Option<String>,
    /// The unit-like name for %N/%n and the state directory names [default: the command's
    /// basename, or the unit's name]
    #[arg(long, value_name = "NAME")]
    pub name: Option<String>,
    /// Print the resolved plan and start nothing
    #[arg(long)]
    pub dry_run: bool,
    /// With --dry-run, print the plan as JSON
    #[arg(long, requires = "dry_run")]
    pub json: bool,
    /// Give the payload a terminal of its own, relayed by sbx (for interactive programs)
    #[arg(long)]
    pub pty: bool,
    /// Where no namespace can be created, run anyway with what needs none (Landlock, seccomp,
    /// no_new_privs, capabilities, rlimits) and report every directive that is weakened
    #[arg(long)]
    pub best_effort: bool,
    /// Report every system call the filter refuses, also those refused with an errno
    /// (killed ones are always reported)
    #[arg(long)]
    pub log_refused: bool,
    /// End sbx and the whole sandbox when the process that started sbx dies (the same as
    /// -p DieWithParent=yes; off by default)
    #[arg(long)]
    pub die_with_parent: bool,
    /// The command and its arguments (any bytes: they reach execve unchanged)
    #[arg(required_unless_present = "unit", trailing_var_arg = true, value_name = "COMMAND")]
    pub command: Vec<std::ffi::OsString>,
}

#[derive(Args, Debug)]
pub struct CheckArgs {
    /// Profiles to check (names or paths); stacked in order like `run --profile`
    #[arg(required = true, value_name = "PROFILE")]
    pub profiles: Vec<String>,
    /// Overrides to check with them
    #[arg(short = 'p', long = "property", value_name = "DIRECTIVE=VALUE")]
    pub set: Vec<String>,
}

#[derive(Args, Debug)]
pub struct ShowArgs {
    /// Profiles to merge (names or paths), in order
    #[arg(required = true, value_name = "PROFILE")]
    pub profiles: Vec<String>,
    #[arg(short = 'p', long = "property", value_name = "DIRECTIVE=VALUE")]
    pub set: Vec<String>,
}

#[derive(Args, Debug)]
pub struct SyscallFilterArgs {
    /// Groups to list, with the leading @ (e.g. @system-service); all of them when none is given
    #[arg(value_name = "@GROUP")]
    pub groups: Vec<String>,
}

#[derive(Args, Debug)]
pub struct AnalyzeArgs {
    #[command(flatten)]
    pub profile: ProfileArgs,
    /// Score a systemd service unit (with its drop-ins) instead of profiles; --profile and -p
    /// apply on top. NAME@INSTANCE.service reads NAME@.service
    #[arg(long, value_name = "FILE.service")]
    pub unit: Option<String>,
    /// Print the report as JSON: systemd's per-check fields, sbx's "here" column, the total
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct DoctorArgs {
    /// Print the findings as JSON (each with status, summary, details, fixes and impact)
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct GenerateArgs {
    /// What to write: man, bash, zsh, fish, or all (into DIR)
    #[arg(value_parser = ["man", "bash", "zsh", "fish", "all"])]
    pub what: String,
    /// With "all": the directory holding man/ and completions/
    #[arg(default_value = ".")]
    pub dir: String,
}
