//! `sbx generate`: the man page and shell completions, from the clap definitions and the
//! directive table. The checked-in copies in man/ and completions/ are tested against a
//! fresh rendering, so they cannot drift.

use clap::CommandFactory;
use clap_complete::Shell;

use crate::cli::{Cli, GenerateArgs};
use crate::error::{EXIT_CANNOT_EXECUTE, EXIT_NOT_FOUND, EXIT_SBX_FAILURE, Error};
use crate::profile::directives::{DIRECTIVES, Status};

pub fn generate(args: GenerateArgs) -> Result<i32, Error> {
    match args.what.as_str() {
        "man" => print!("{}", man_page()),
        "all" => {
            for (path, text) in outputs() {
                let full = std::path::Path::new(&args.dir).join(path);
                if let Some(parent) = full.parent() {
                    std::fs::create_dir_all(parent)
                        .map_err(|e| Error::io(format!("create {}", parent.display()), e))?;
                }
                std::fs::write(&full, text).map_err(|e| Error::io(format!("write {}", full.display()), e))?;
            }
        }
        shell => print!("{}", completion(shell.parse().map_err(|_| Error::Usage(format!("unknown shell {shell}")))?)),
    }
    Ok(0)
}

/// Every generated file, by path relative to the repository root.
pub fn outputs() -> Vec<(&'static str, String)> {
    vec![
        ("man/sbx.1", man_page()),
        ("completions/sbx.bash", completion(Shell::Bash)),
        ("completions/_sbx", completion(Shell::Zsh)),
        ("completions/sbx.fish", completion(Shell::Fish)),
    ]
}

fn completion(shell: Shell) -> String {
    let mut buf = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "sbx", &mut buf);
    String::from_utf8_lossy(&buf).into_owned()
}

fn roff_escape(s: &str) -> String {
    s.replace('\\', "\\\\").replace('-', "\\-").replace('\'', "\\(aq")
}

/// One page: the top-level command, each subcommand's synopsis and options, the exit codes,
/// the files, and the directive reference.
pub fn man_page() -> String {
    let cmd = Cli::command();
    let mut page = Vec::new();
    let man = clap_mangen::Man::new(cmd.clone()).date("");
    let _ = man.render_title(&mut page);
    let _ = man.render_name_section(&mut page);
    let _ = man.render_synopsis_section(&mut page);
    let _ = man.render_description_section(&mut page);
    let mut out = String::from_utf8_lossy(&page).into_owned();
    out.push_str(".SH COMMANDS\n");
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        let mut buf = Vec::new();
        let sub_man = clap_mangen::Man::new(sub.clone().name(format!("sbx {}", sub.get_name())));
        let _ = sub_man.render_synopsis_section(&mut buf);
        let _ = sub_man.render_options_section(&mut buf);
        let text =
            String::from_utf8_lossy(&buf).replace(".SH SYNOPSIS", ".SS Synopsis").replace(".SH OPTIONS", ".SS Options");
        out.push_str(&format!(
            ".TP\n\\fBsbx {}\\fR\n{}\n",
            sub.get_name(),
            roff_escape(&sub.get_about().map(|a| a.to_string()).unwrap_or_default())
        ));
        out.push_str(&text);
    }
    out.push_str(&format!(
        ".SH EXIT STATUS\nThe payload's exit status, or 128+N when signal N killed it. sbx's own failures:\n.TP\n{EXIT_SBX_FAILURE}\nsbx failed before the payload ran: a usage, profile or plan error, or a setup step (the message names the step, the path, the directive and the errno). Nothing was started when a profile is wrong.\n.TP\n{EXIT_CANNOT_EXECUTE}\nThe command was found but could not be executed.\n.TP\n{EXIT_NOT_FOUND}\nThe command was not found in the sandbox.\n"
    ));
    out.push_str(".SH FILES\n.TP\n$XDG_CONFIG_HOME/sbx/profiles/NAME.conf, /etc/sbx/profiles/NAME.conf\nProfiles, searched in this order before the built-in ones; drop-ins in NAME.conf.d/*.conf apply after NAME.conf in lexical order.\n");
    out.push_str(".SH DIRECTIVES\nProfiles are systemd unit-file drop-ins. These keys are known; a key that is not is a warning. A key marked unsupported would restrict something sbx cannot enforce yet, and is an error.\n");
    for d in DIRECTIVES {
        let status = match d.status {
            Status::Supported => String::new(),
            Status::Ignored(why) => format!(" (ignored: {why})"),
            Status::Rejected(why) => format!(" (unsupported: {why})"),
        };
        let doc = match d.status {
            Status::Supported => format!("{} Example: {}={}. Applied by: {:?}.", d.doc, d.name, d.sample, d.stage),
            _ => String::new(),
        };
        out.push_str(&format!(
            ".TP\n\\fB{}=\\fR\\fI{}\\fR [{}]\n{}{}\n",
            d.name,
            roff_escape(&d.kind.synopsis()),
            d.section.name(),
            roff_escape(&doc),
            roff_escape(&status)
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The checked-in man page and completions are what the binary generates now.
    /// To refresh them: cargo run -- generate all
    #[test]
    fn generated_files_are_fresh() {
        let root = env!("CARGO_MANIFEST_DIR");
        for (path, fresh) in outputs() {
            let on_disk = std::fs::read_to_string(format!("{root}/{path}")).unwrap_or_default();
            assert!(on_disk == fresh, "{path} is stale: run `cargo run -- generate all` and commit the result");
        }
    }
}
