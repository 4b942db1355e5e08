//! One module per subcommand, and what they share: turning profile names and `-p`
//! overrides into Settings.

mod analyze;
mod check;
mod common;
mod conditions;
mod doctor;
mod fallback;
mod generate;
mod profiles;
mod report;
mod run;
mod show;
mod syscall_filter;
mod unit;

use crate::cli::Command;
use crate::error::Error;

pub fn dispatch(command: Command) -> Result<i32, Error> {
    match command {
        Command::Run(args) => run::run(args),
        Command::Check(args) => check::check(args),
        Command::Profiles => profiles::profiles(),
        Command::Show(args) => show::show(args),
        Command::SyscallFilter(args) => syscall_filter::syscall_filter(args),
        Command::Analyze(args) => analyze::analyze(args),
        Command::Doctor(args) => doctor::doctor(args),
        Command::Generate(args) => generate::generate(args),
    }
}
