//! Sinks: where the grid's events go.
//!
//! A [`Sink`] takes each [`GridEvent`] the grid delivers (through a
//! [`GridSource`](crate::source::GridSource)) and answers only once the event
//! is durably handled: written and flushed, stored, accepted by its receiver.
//! The router records an event in the delivery cursor only after every sink
//! has answered `Ok`, so a crash in between hands the same event out again
//! (each sink must take a repeat calmly: the store by content, files by
//! replacing, JSON lines by printing it once more) and nothing is lost.
//!
//! | sink | module | used by |
//! |---|---|---|
//! | the ROLIE store (Atom feeds) | [`store`] | `gridlink bridge` |
//! | JSON lines (or raw XML) on stdout or a file | [`json_lines`] | `gridlink subscribe`, `[[sink]] type = "json_lines"` |
//! | one file per item in a directory | [`files`] | `gridlink subscribe --out DIR`, `[[sink]] type = "files"` |
//!
//! Adding a sink is one module here plus one [`SinkConfig`] variant (see
//! ARCHITECTURE.md, "Adding a sink").

use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;

use serde::Deserialize;

use crate::grid::GridEvent;
use crate::store::StoreError;

pub mod files;
pub mod json_lines;
pub mod store;

pub use files::FilesSink;
pub use json_lines::JsonLinesSink;
pub use store::StoreSink;

/// A boxed future, as sinks return them (the trait stays object-safe).
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Where the grid's events go.
pub trait Sink: Send {
    /// A short name for logs and errors (`json_lines`, `files /var/spool`).
    fn name(&self) -> &str;

    /// Handles one event. `Ok` means it is durably handled: only then is it
    /// recorded in the delivery cursor. An error stops the router with the
    /// event unrecorded, so it is delivered again after a restart.
    fn deliver<'a>(&'a mut self, ev: &'a GridEvent) -> BoxFuture<'a, Result<(), SinkError>>;
}

/// Why a sink could not handle an event.
#[derive(Debug, thiserror::Error)]
pub enum SinkError {
    /// The reader went away (a closed pipe): not a failure of gridlink,
    /// the command ends quietly as Unix tools do.
    #[error("{sink}: the output was closed")]
    Closed {
        /// The sink's name.
        sink: String,
    },
    /// Writing failed.
    #[error("{sink}: {error}")]
    Io {
        /// The sink's name.
        sink: String,
        /// What the system said.
        #[source]
        error: std::io::Error,
    },
    /// The store failed.
    #[error("store: {0}")]
    Store(#[from] StoreError),
}

impl SinkError {
    /// An I/O error of `sink`; a broken pipe becomes [`SinkError::Closed`].
    pub fn io(sink: &str, error: std::io::Error) -> SinkError {
        if error.kind() == std::io::ErrorKind::BrokenPipe {
            SinkError::Closed { sink: sink.into() }
        } else {
            SinkError::Io {
                sink: sink.into(),
                error,
            }
        }
    }
}

/// How items are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    /// One JSON object per event (items carry the RFC 8727 JSON under
    /// `"iodef"`).
    #[default]
    Json,
    /// The IODEF XML documents as received.
    Xml,
}

/// A `[[sink]]` table of the configuration file: which sink, and its
/// settings. The bridge's ROLIE store is not one of them: it is the bridge.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum SinkConfig {
    /// `type = "json_lines"`: events as JSON lines (or items as XML).
    JsonLines {
        /// A file to append to; unset: stdout.
        #[serde(default)]
        path: Option<PathBuf>,
        /// `json` (default) or `xml`.
        #[serde(default)]
        format: Format,
    },
    /// `type = "files"`: one file per item, named after its item id.
    Files {
        /// The directory (created if missing).
        dir: PathBuf,
        /// `json` (default) or `xml`.
        #[serde(default)]
        format: Format,
    },
}

impl SinkConfig {
    /// Builds the sink this table describes.
    pub fn build(&self) -> Result<Box<dyn Sink>, SinkError> {
        Ok(match self {
            SinkConfig::JsonLines { path: None, format } => {
                Box::new(JsonLinesSink::stdout(*format))
            }
            SinkConfig::JsonLines {
                path: Some(path),
                format,
            } => Box::new(JsonLinesSink::append_to(path, *format)?),
            SinkConfig::Files { dir, format } => Box::new(FilesSink::new(dir.clone(), *format)),
        })
    }
}

/// Hands `ev` to every sink in turn; `Ok` once all of them handled it.
pub async fn deliver_all(sinks: &mut [Box<dyn Sink>], ev: &GridEvent) -> Result<(), SinkError> {
    for sink in sinks.iter_mut() {
        sink.deliver(ev).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `[[sink]]` tables: the type picks the variant, defaults fill in,
    /// unknown keys and types are refused.
    #[test]
    fn sink_tables() {
        let t: SinkConfig = toml::from_str("type = \"files\"\ndir = \"/tmp/x\"").unwrap();
        assert_eq!(
            t,
            SinkConfig::Files {
                dir: "/tmp/x".into(),
                format: Format::Json
            }
        );
        let t: SinkConfig = toml::from_str("type = \"json_lines\"\nformat = \"xml\"").unwrap();
        assert_eq!(
            t,
            SinkConfig::JsonLines {
                path: None,
                format: Format::Xml
            }
        );
        let e = toml::from_str::<SinkConfig>("type = \"files\"\ndir = \"d\"\ndirr = 1")
            .unwrap_err()
            .to_string();
        assert!(e.contains("dirr"), "{e}");
        assert!(toml::from_str::<SinkConfig>("type = \"carrier-pigeon\"").is_err());
    }
}
