//! The command line as documentation: the clap definition with the
//! connection options hidden where they mean nothing (offline commands),
//! shell completions and the manual page generated from it.

use std::io::Write;
use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches};

use super::args::Cli;
use super::global::CONNECTION;

/// Commands that never talk to the grid: their help lists no connection
/// options (they are still accepted, e.g. from GRIDLINK_* variables).
const OFFLINE: &[&str] = &["iodef", "completions", "man"];

/// The `gridlink` command definition, as parsed and documented.
pub fn command() -> clap::Command {
    let mut cmd = Cli::command();
    let hidden: Vec<clap::Arg> = cmd
        .get_arguments()
        .filter(|a| a.get_help_heading() == Some(CONNECTION))
        .map(|a| a.clone().hide(true))
        .collect();
    // A subcommand that has an argument of a global's id keeps its own when
    // clap copies the globals down: give the offline ones hidden copies.
    for name in OFFLINE {
        cmd = cmd.mut_subcommand(name, |sc| with_args(sc, &hidden));
    }
    cmd
}

/// `cmd` and its subcommands with `args` added.
fn with_args(mut cmd: clap::Command, args: &[clap::Arg]) -> clap::Command {
    let subs: Vec<String> = cmd
        .get_subcommands()
        .map(|s| s.get_name().to_string())
        .collect();
    for s in subs {
        cmd = cmd.mut_subcommand(s, |sc| with_args(sc, args));
    }
    cmd.args(args.iter().cloned())
}

/// Parses the process's arguments (exits with clap's message on an error
/// or for `--help`).
pub fn parse() -> Cli {
    let matches = command().get_matches();
    Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit())
}

/// `gridlink completions SHELL`.
pub fn completions(shell: clap_complete::Shell) -> anyhow::Result<ExitCode> {
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "gridlink", &mut out);
    std::io::stdout().lock().write_all(&out)?;
    Ok(ExitCode::SUCCESS)
}

/// `gridlink man`: one page, gridlink(1), with every command's options and
/// examples under it (the man pages of git-style subcommands would need
/// one file each, which `man -l -` cannot show).
pub fn man() -> anyhow::Result<ExitCode> {
    let cmd = Cli::command();
    let mut out = Vec::new();
    let man = clap_mangen::Man::new(cmd.clone());
    man.render_title(&mut out)?;
    man.render_name_section(&mut out)?;
    man.render_synopsis_section(&mut out)?;
    man.render_description_section(&mut out)?;
    man.render_options_section(&mut out)?;
    render_commands(&mut out, &cmd, "gridlink")?;
    man.render_extra_section(&mut out)?;
    man.render_version_section(&mut out)?;
    std::io::stdout().lock().write_all(&out)?;
    Ok(ExitCode::SUCCESS)
}

/// A COMMANDS section: each (sub)command's synopsis, description, own
/// options and examples, recursively.
fn render_commands(out: &mut Vec<u8>, cmd: &clap::Command, path: &str) -> anyhow::Result<()> {
    if path == "gridlink" {
        writeln!(out, ".SH COMMANDS")?;
    }
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        let name = format!("{path} {}", sub.get_name());
        writeln!(out, ".SS \"{}\"", roff_escape(&name))?;
        if let Some(about) = sub.get_long_about().or(sub.get_about()) {
            writeln!(out, "{}", roff_text(&about.to_string()))?;
        }
        for arg in sub
            .get_arguments()
            .filter(|a| !a.is_hide_set() && !a.is_global_set())
            .filter(|a| a.get_id() != "help" && a.get_id() != "version")
        {
            let flag = match (arg.get_long(), arg.get_short()) {
                (Some(l), _) => format!("\\-\\-{}", roff_escape(l)),
                (None, Some(c)) => format!("\\-{c}"),
                (None, None) => roff_escape(&arg.get_id().to_string().to_uppercase()),
            };
            writeln!(out, ".TP\n\\fB{flag}\\fR")?;
            if let Some(h) = arg.get_long_help().or(arg.get_help()) {
                writeln!(out, "{}", roff_text(&h.to_string()))?;
            }
        }
        if let Some(after) = sub.get_after_help() {
            writeln!(out, ".PP\n.nf\n{}\n.fi", roff_escape(&after.to_string()))?;
        }
        render_commands(out, sub, &name)?;
    }
    Ok(())
}

/// Escapes backslashes and hyphens for roff.
fn roff_escape(s: &str) -> String {
    s.replace('\\', "\\\\").replace('-', "\\-")
}

/// A paragraph of text: escaped, and no line starting with `.` or `'`
/// (roff would read it as a request).
fn roff_text(s: &str) -> String {
    roff_escape(s)
        .lines()
        .map(|l| {
            if l.starts_with('.') || l.starts_with('\'') {
                format!("\\&{l}")
            } else {
                l.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}
