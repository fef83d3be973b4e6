//! The `gridlink` command line: argument definitions and dispatch. Each
//! command is a thin shell over the library (`gridlink::grid`, `::iodef`, …).

use std::process::ExitCode;

mod args;
mod bridge;
pub mod docs;
pub mod env;
mod explain;
mod global;
mod grid_cmds;
pub mod iodef;
#[cfg(test)]
mod keys;
mod publish;
mod rid;
mod rid_net;
mod shutdown;
mod subscribe;

pub use args::{Cli, Command};
pub use global::init_logging;

/// Runs the parsed command.
pub async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Iodef(cmd) => iodef::run(cmd),
        Command::Discover(a) => grid_cmds::discover(&cli.global, a).await,
        Command::Topic(c) => grid_cmds::topic(&cli.global, c).await,
        Command::Publish(a) => publish::run(&cli.global, a).await,
        Command::Retract(a) => publish::retract(&cli.global, a).await,
        Command::Outbox(c) => publish::outbox(&cli.global, c).await,
        Command::Subscribe(a) => subscribe::subscribe(&cli.global, a).await,
        Command::Items(a) => subscribe::items(&cli.global, a).await,
        Command::Bridge(a) => bridge::run(&cli.global, *a).await,
        Command::Rid(c) => rid::run(&cli.global, c).await,
        Command::Completions { shell } => docs::completions(shell),
        Command::Man => docs::man(),
    }
}
