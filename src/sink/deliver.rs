//! What a sink is: the [`Sink`] trait, its errors, and delivering one event
//! to several sinks.

use std::future::Future;
use std::pin::Pin;

use serde::Deserialize;

use crate::grid::GridEvent;
use crate::store::StoreError;

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

/// Hands `ev` to every sink in turn; `Ok` once all of them handled it.
pub async fn deliver_all(sinks: &mut [Box<dyn Sink>], ev: &GridEvent) -> Result<(), SinkError> {
    for sink in sinks.iter_mut() {
        sink.deliver(ev).await?;
    }
    Ok(())
}
