//! The `gridlink` command line: argument definitions and dispatch. Each
//! command is a thin shell over the library (`gridlink::grid`, `::iodef`, …).

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod bridge;
mod global;
mod grid_cmds;
pub mod iodef;
#[cfg(test)]
mod keys;
mod publish;
mod subscribe;

pub use global::{init_logging, Global};

/// gridlink — join an XMPP-Grid (RFC 8600): discover IODEF topics, publish
/// and subscribe to incident reports (RFC 7970 / RFC 8727), bridge to ROLIE.
#[derive(Parser, Debug)]
#[command(name = "gridlink", version, propagate_version = true)]
#[command(
    after_help = "Settings come from --config FILE (TOML, same keys as the flags with \
underscores), overridden by GRIDLINK_* environment variables, overridden by flags.\n\
Example: gridlink --jid soc@grid.example --password-file pw --ca-file ca.pem discover"
)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

/// The commands.
#[derive(Subcommand, Debug)]
pub enum Command {
    /// List the IODEF topics the pubsub service offers (by pubsub#type, never by name).
    Discover(grid_cmds::DiscoverArgs),
    /// Create, check, inspect, delete topics and grant access.
    #[command(subcommand)]
    Topic(grid_cmds::TopicCommand),
    /// Publish IODEF documents (XML or RFC 8727 JSON) to a topic.
    Publish(publish::PublishArgs),
    /// Withdraw published items (subscribers are notified).
    Retract(publish::RetractArgs),
    /// Inspect or send what `publish --durable` left queued.
    #[command(subcommand)]
    Outbox(publish::OutboxCommand),
    /// Subscribe to topics and stream incidents as JSON lines.
    Subscribe(subscribe::SubscribeArgs),
    /// Retrieve the items a topic keeps.
    Items(subscribe::ItemsArgs),
    /// Validate, convert and summarise IODEF documents (offline).
    #[command(subcommand)]
    Iodef(iodef::IodefCommand),
    /// Run the ROLIE (RFC 8322) repository bridged to the grid.
    Bridge(Box<bridge::BridgeArgs>),
}

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
    }
}
