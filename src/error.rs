//! Error types per stage and sbx's exit-code scheme.
//!
//! Invariant: every error names what failed (file:line and directive for profiles, the step,
//! path and errno for launch) and maps to one of sbx's reserved exit codes, which the man page
//! lists. Messages are lowercase with no trailing period; `main` prints the chain once.

use std::io;
use std::path::PathBuf;

use crate::profile::Origin;

/// sbx failed before the payload ran (usage, profile, plan or setup error).
pub const EXIT_SBX_FAILURE: i32 = 125;
/// The command was found but could not be executed (permission, format).
pub const EXIT_CANNOT_EXECUTE: i32 = 126;
/// The command was not found in the sandbox.
pub const EXIT_NOT_FOUND: i32 = 127;

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
