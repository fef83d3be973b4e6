//! Sources: where documents and events come from.
//!
//! Two directions meet at the grid:
//!
//! * [`GridSource`] is the grid's own side: the XMPP follow (a
//!   subscription, with a persistent delivery cursor and catch-up unless
//!   the consumer asked for live events only). What it yields goes to the
//!   [sinks](crate::sink); [`GridSource::acknowledge`] records an event once
//!   every sink has handled it.
//! * A [`Source`] feeds the grid: it hands documents to a
//!   [`Publisher`](crate::rolie::Publisher) — in the bridge, the grid
//!   publisher, which puts them in the durable outbox before anything is
//!   answered — and runs until told to stop. Instances: the feed poller
//!   ([`poll`]; [`leased`] when replicas share a PostgreSQL store)
//!   and the ROLIE server's AtomPub POST/DELETE ([`atompub`]).
//!   `gridlink publish` is the same path for files on the command line.
//!
//! Adding a source is one module here plus one [`SourceConfig`] variant
//! (see ARCHITECTURE.md, "Adding a source").

use serde::Deserialize;

use crate::sink::BoxFuture;

pub mod atompub;
mod grid;
pub mod leased;
pub mod poll;

pub use grid::GridSource;

/// The one shutdown signal of a running topology: `true` means stop.
pub type Shutdown = tokio::sync::watch::Receiver<bool>;

/// Something that feeds documents toward the grid until shut down.
pub trait Source: Send {
    /// A short name for logs (`poll https://…`, `atompub 127.0.0.1:8080`).
    fn name(&self) -> String;

    /// Runs until `shutdown` turns `true`.
    fn run(self: Box<Self>, shutdown: Shutdown) -> BoxFuture<'static, ()>;
}

/// A `[[source]]` table of the configuration file.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum SourceConfig {
    /// `type = "poll"`: a remote ROLIE/Atom feed whose new entries are
    /// published to `topic` (the same as `--poll URL=TOPIC`).
    Poll {
        /// The feed's URL.
        url: String,
        /// The grid topic its entries go to.
        topic: String,
    },
    /// `type = "rid"`: a RID endpoint (RFC 6545/6546) run by the bridge. Its keys are the `[rid]`
    /// table's ([`RidConfig`](crate::rid::RidConfig)), each defaulting to the `[rid]` table's
    /// value; kept as a table here (`source` does not name `rid`, which builds on it) and read
    /// into a `RidConfig` where the two tables are merged.
    Rid(toml::Table),
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `[[source]]` tables: the type picks the variant; unknown keys and
    /// missing ones are refused.
    #[test]
    fn source_tables() {
        let t: SourceConfig =
            toml::from_str("type = \"poll\"\nurl = \"https://x.example/feed\"\ntopic = \"t\"")
                .unwrap();
        assert_eq!(
            t,
            SourceConfig::Poll {
                url: "https://x.example/feed".into(),
                topic: "t".into()
            }
        );
        assert!(toml::from_str::<SourceConfig>("type = \"poll\"\nurl = \"u\"").is_err());
        let e = toml::from_str::<SourceConfig>(
            "type = \"poll\"\nurl = \"u\"\ntopic = \"t\"\ninterval = 3",
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("interval"), "{e}");
        // A RID source keeps its keys for the `[rid]` table's reader (the tag removed).
        let t: SourceConfig =
            toml::from_str("type = \"rid\"\nlisten = \"127.0.0.1:4591\"").unwrap();
        let SourceConfig::Rid(table) = t else {
            panic!("{t:?}")
        };
        assert_eq!(table.len(), 1);
        assert_eq!(table["listen"].as_str(), Some("127.0.0.1:4591"));
    }
}
