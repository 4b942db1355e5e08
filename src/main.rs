#![deny(unsafe_code)]
#![cfg_attr(not(test), no_main)]
//! sbx: run a program in a Linux sandbox described with systemd's hardening directives.
//!
//! `run` parses the command line, runs one command, prints an error once and exits with
//! the payload's status or one of sbx's reserved codes (see `error.rs`). The process starts
//! in `sys::entry`.

mod analyze;
mod cli;
mod cmd;
mod config_file;
mod doctor;
mod error;
mod host;
mod launch;
mod plan;
mod profile;
mod settings;
mod sys;

use clap::Parser;

use crate::error::{EXIT_SBX_FAILURE, Error};

/// The static build links musl, whose allocator is slow for sbx's many small allocations
/// (bench/README.md).
#[cfg(target_env = "musl")]
#[global_allocator]
static ALLOCATOR: dlmalloc::GlobalDlmalloc = dlmalloc::GlobalDlmalloc;

/// `args`: the process's arguments, program name first (see `sys::entry`).
#[cfg_attr(test, allow(dead_code))]
fn run(args: Vec<std::ffi::OsString>) -> ! {
    let cli = match cli::Cli::try_parse_from(args) {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() { EXIT_SBX_FAILURE } else { 0 };
            let _ = e.print();
            std::process::exit(code);
        }
    };
    let code = match cmd::dispatch(cli.command) {
        Ok(code) => code,
        Err(e) => {
            print_error(&e);
            e.exit_code()
        }
    };
    std::process::exit(code);
}

fn print_error(e: &Error) {
    match e {
        Error::Profiles(errors) => {
            for err in errors {
                eprintln!("sbx: {err}");
            }
            eprintln!("sbx: nothing was started");
        }
        Error::Profile(err) => eprintln!("sbx: {err}\nsbx: nothing was started"),
        Error::Plan(err) => eprintln!("sbx: {err}\nsbx: nothing was started"),
        other => eprintln!("sbx: {other}"),
    }
}
