//! Profiles: unit-file text in, ordered `Assignment`s out, then typed `Settings`.
//!
//! Invariant: every assignment carries the `Origin` (file and line, or the `-p` argument) it
//! came from, so any later error can name it. Nothing in this module touches the system beyond
//! reading profile files.

mod assign;
pub mod directives;
pub mod load;
pub mod resource_values;
pub mod specifiers;
pub mod syntax;
pub mod syscall_lists;
pub mod unit;
pub mod values;

use serde::Serialize;

/// Where an assignment was written (defined beside the errors that cite it).
pub use crate::error::Origin;

/// The unit-file sections a profile may use.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Section {
    /// `[Unit]`: only `Description=` is read.
    Unit,
    /// `[Service]`: systemd's own directives.
    Service,
    /// `[X-Sbx]`: keys only sbx knows; systemd ignores `X-` sections.
    XSbx,
    /// `[Install]`: how systemd enables a unit; nothing in it concerns a sandbox.
    Install,
}

impl Section {
    pub fn name(self) -> &'static str {
        match self {
            Section::Unit => "Unit",
            Section::Service => "Service",
            Section::XSbx => "X-Sbx",
            Section::Install => "Install",
        }
    }

    pub fn from_name(name: &str) -> Option<Section> {
        match name {
            "Unit" => Some(Section::Unit),
            "Service" => Some(Section::Service),
            "X-Sbx" => Some(Section::XSbx),
            "Install" => Some(Section::Install),
            _ => None,
        }
    }
}

/// One `Key=Value` line after continuation joining, with its section and origin.
/// The value is raw: specifiers are not yet expanded and quotes are not yet removed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Assignment {
    pub section: Section,
    pub key: String,
    pub value: String,
    pub origin: Origin,
}
