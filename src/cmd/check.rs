//! `sbx check`: load, merge and plan profiles without starting anything; print findings.

use crate::cli::CheckArgs;
use crate::cmd::common;
use crate::error::Error;
use crate::host::HostFacts;
use crate::plan::{self, Invocation};

pub fn check(args: CheckArgs) -> Result<i32, Error> {
    let host = HostFacts::probe();
    let resolved = common::resolve(&args.profiles, &args.set, "check", &host)?;
    // Planning finds what this host cannot do (missing paths, impossible ids or capabilities).
    let inv = Invocation {
        argv: vec!["/bin/true".into()],
        name: "check".into(),
        pty: None,
        log_refused: false,
        host_proc: false,
    };
    plan::build(&resolved.settings, &host, &inv)?;
    println!("{}: ok", resolved.loaded.sources.join(", "));
    Ok(0)
}
