//! Error types per stage, sbx's exit-code scheme, and how an errno reads in a message.
//!
//! Invariant: every error names what failed (file:line and directive for profiles, the step,
//! path and errno for launch) and maps to one of sbx's reserved exit codes, which the man page
//! lists. Messages are lowercase with no trailing period; `main` prints the chain once.

use std::fmt;
use std::io;
use std::path::PathBuf;
use std::sync::Arc;

use serde::Serialize;

/// sbx failed before the payload ran (usage, profile, plan or setup error).
pub const EXIT_SBX_FAILURE: i32 = 125;
/// The command was found but could not be executed (permission, format).
pub const EXIT_CANNOT_EXECUTE: i32 = 126;
/// The command was not found in the sandbox.
pub const EXIT_NOT_FOUND: i32 = 127;

/// Where an assignment was written: a file and a 1-based line, or a command-line override.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Origin {
    /// Display name of the source: a path, `builtin:NAME.conf`, or `-p`.
    pub source: Arc<str>,
    /// 1-based line in `source` (for `-p`, the position of the argument among the `-p`s).
    pub line: u32,
}

impl Origin {
    pub fn new(source: &Arc<str>, line: u32) -> Self {
        Origin { source: Arc::clone(source), line }
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if &*self.source == "-p" { write!(f, "-p #{}", self.line) } else { write!(f, "{}:{}", self.source, self.line) }
    }
}

/// A problem in profile text or a `-p` override. Nothing is started when one exists.
#[derive(Debug, thiserror::Error)]
pub enum ProfileError {
    #[error("{origin}: {message}")]
    Syntax { origin: Origin, message: String },
    #[error("{origin}: {key}={value}: {message}")]
    Value { origin: Origin, key: String, value: String, message: String },
    #[error("{origin}: {key}= is not supported by sbx yet: {reason}")]
    Rejected { origin: Origin, key: String, reason: String },
    #[error("{origin}: {key}= belongs in [{expected}], not [{found}]")]
    WrongSection { origin: Origin, key: String, expected: &'static str, found: &'static str },
    #[error("cannot read profile {}: {source}", path.display())]
    Read { path: PathBuf, source: io::Error },
    #[error("profile {name:?} not found (searched {searched}; built in: {builtins})")]
    NotFound { name: String, searched: String, builtins: String },
    #[error("{origin}: unknown directive {key}= (see the DIRECTIVES section of sbx(1))")]
    UnknownOverride { origin: Origin, key: String },
    #[error("-p {arg:?}: expected DIRECTIVE=VALUE")]
    Override { arg: String },
    #[error("unit {}: {message}", path.display())]
    Unit { path: PathBuf, message: String },
}

/// A profile that parsed but cannot be turned into a sandbox on this host.
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    #[error("{directive} ({origin}): {message}")]
    Directive { directive: String, origin: Origin, message: String },
    #[error("{0}")]
    Host(String),
}

impl PlanError {
    pub fn directive(directive: &str, origin: &Origin, message: impl Into<String>) -> Self {
        PlanError::Directive { directive: directive.to_string(), origin: origin.clone(), message: message.into() }
    }
}

/// Any failure of sbx itself, with the exit code it maps to.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Profile(#[from] ProfileError),
    #[error("{} error(s) in the profile", .0.len())]
    Profiles(Vec<ProfileError>),
    #[error(transparent)]
    Plan(#[from] PlanError),
    #[error("{0}")]
    Launch(String),
    /// No namespace could be created here; `--best-effort` can fall back to what needs none.
    #[error("{0}")]
    Namespaces(String),
    /// The namespaces exist but no fresh procfs can be mounted in them (a container masks
    /// /proc paths); `--best-effort` can bind the existing /proc instead.
    #[error("{0}")]
    ProcRefused(String),
    #[error("{context}: {source}")]
    Io { context: String, source: io::Error },
    #[error("{0}")]
    Usage(String),
    /// The payload could not be executed; the code is 126 or 127.
    #[error("{message}")]
    Exec { message: String, code: i32 },
}

impl Error {
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Exec { code, .. } => *code,
            _ => EXIT_SBX_FAILURE,
        }
    }

    pub fn io(context: impl Into<String>, source: io::Error) -> Self {
        Error::Io { context: context.into(), source }
    }
}

/// `no such file or directory (ENOENT)`.
pub fn describe_errno(e: rustix::io::Errno) -> String {
    let text = std::io::Error::from_raw_os_error(e.raw_os_error()).to_string();
    let text = text.split(" (os error").next().unwrap_or(&text).to_lowercase();
    match errno_name(e.raw_os_error()) {
        Some(name) => format!("{text} ({name})"),
        None => text,
    }
}

fn errno_name(n: i32) -> Option<&'static str> {
    use libc::*;
    Some(match n {
        EPERM => "EPERM",
        ENOENT => "ENOENT",
        EACCES => "EACCES",
        EEXIST => "EEXIST",
        ENOTDIR => "ENOTDIR",
        EISDIR => "EISDIR",
        EINVAL => "EINVAL",
        EROFS => "EROFS",
        ELOOP => "ELOOP",
        EBUSY => "EBUSY",
        ENOSPC => "ENOSPC",
        ENOMEM => "ENOMEM",
        ENOSYS => "ENOSYS",
        ENOEXEC => "ENOEXEC",
        EXDEV => "EXDEV",
        EAGAIN => "EAGAIN",
        EUSERS => "EUSERS",
        ENODEV => "ENODEV",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errnos_read_well() {
        assert_eq!(describe_errno(rustix::io::Errno::NOENT), "no such file or directory (ENOENT)");
    }
}
