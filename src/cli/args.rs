//! The command line's definition: [`Cli`] and its [`Command`]s, with the
//! help texts and examples (clap derive). Dispatch is in `mod.rs`; the
//! completions and man page are generated from this in `docs.rs`.

use clap::{Parser, Subcommand};

use super::global::Global;
use super::{bridge, grid_cmds, iodef, publish, subscribe};

/// Join an XMPP-Grid (RFC 8600): discover IODEF topics, publish
/// and subscribe to incident reports (RFC 7970 / RFC 8727), bridge to ROLIE.
#[derive(Parser, Debug)]
#[command(name = "gridlink", version, propagate_version = true)]
#[command(
    after_help = "Settings come from --config FILE (TOML, same keys as the flags with \
underscores; gridlink.example.toml shows every key), overridden by GRIDLINK_* environment \
variables (an empty one counts as unset), overridden by flags.\n\n\
Examples:\n  \
gridlink --jid soc@grid.example --password-file pw --ca-file ca.pem discover\n  \
gridlink --config gridlink.toml subscribe --topic incidents\n  \
gridlink iodef validate incident.xml\n  \
gridlink completions bash > ~/.local/share/bash-completion/completions/gridlink"
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
    #[command(after_help = "Examples:\n  gridlink discover\n  gridlink discover --all --json")]
    Discover(grid_cmds::DiscoverArgs),
    /// Create, check, inspect, delete topics and grant access.
    #[command(
        subcommand,
        after_help = "Examples:\n  \
gridlink topic create incidents --title Incidents\n  \
gridlink topic allow incidents soc@grid.example --as member\n  \
gridlink topic info incidents"
    )]
    Topic(grid_cmds::TopicCommand),
    /// Publish IODEF documents (XML or RFC 8727 JSON), CSAF advisories or CVE records to a topic.
    #[command(
        after_help = "Examples:\n  gridlink publish --topic incidents incident.xml more/*.xml\n  gridlink iodef convert --to xml incident.json | gridlink publish --topic incidents -\n  gridlink publish --durable --topic incidents spool/*.xml"
    )]
    Publish(publish::PublishArgs),
    /// Withdraw published items (subscribers are notified).
    #[command(
        after_help = "Examples:\n  gridlink retract --topic incidents csirt.example.com:492382"
    )]
    Retract(publish::RetractArgs),
    /// Inspect or send what `publish --durable` left queued.
    #[command(
        subcommand,
        after_help = "Examples:\n  \
gridlink outbox status\n  \
gridlink outbox drain"
    )]
    Outbox(publish::OutboxCommand),
    /// Subscribe to topics and stream incidents as JSON lines.
    #[command(
        after_help = "Examples:\n  gridlink subscribe --topic incidents\n  gridlink subscribe --all-iodef --format xml --count 10\n  gridlink subscribe --topic incidents --out /var/spool/incidents --cursor spool"
    )]
    Subscribe(subscribe::SubscribeArgs),
    /// Retrieve the items a topic keeps.
    #[command(
        after_help = "Examples:\n  gridlink items --topic incidents --max 3\n  gridlink items --topic incidents --id csirt.example.com:492382 --format xml"
    )]
    Items(subscribe::ItemsArgs),
    /// Validate, convert and summarise IODEF documents (offline).
    #[command(
        subcommand,
        after_help = "Examples:\n  \
gridlink iodef validate incident.xml\n  \
gridlink iodef convert --to json incident.xml | jq ."
    )]
    Iodef(iodef::IodefCommand),
    /// Run the ROLIE (RFC 8322) repository bridged to the grid.
    #[command(
        after_help = "Examples:\n  gridlink bridge --topic incidents --write-token-file tokens.txt\n  gridlink --config gridlink.toml bridge    # settings in its [bridge] table\n  gridlink bridge --topic mirror --poll https://rolie.example.org/rolie/feeds/incidents=mirror"
    )]
    Bridge(Box<bridge::BridgeArgs>),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    #[command(after_help = "Examples:\n  \
gridlink completions bash > ~/.local/share/bash-completion/completions/gridlink\n  \
gridlink completions zsh > ~/.zfunc/_gridlink      # with fpath+=(~/.zfunc) in ~/.zshrc\n  \
gridlink completions fish > ~/.config/fish/completions/gridlink.fish")]
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff), e.g. `gridlink man | man -l -`.
    #[command(after_help = "Examples:\n  \
gridlink man | man -l -\n  \
gridlink man > ~/.local/share/man/man1/gridlink.1")]
    Man,
}
