//! What a sink is: the [`Sink`] trait, its errors, and delivering one event
//! to several sinks.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

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

    /// Whether this sink keeps its own durable cursor (remote receivers:
    /// syslog, HTTP). The router then hands it events through the sinks'
    /// journal in its own task ([`Fanout`](super::Fanout)), so that a slow
    /// or unreachable receiver never holds up the others or the grid; a
    /// sink that answers `false` (the default) is called in line.
    fn own_cursor(&self) -> bool {
        false
    }

    /// After how long of failing without a break this sink counts as
    /// unhealthy (`/healthz`; only for own-cursor sinks).
    fn failing_after(&self) -> Duration {
        Duration::from_secs(60)
    }

    /// How many events one [`deliver_batch`](Self::deliver_batch) may take,
    /// and how long to wait for a fuller batch (only for own-cursor sinks).
    fn batching(&self) -> Batching {
        Batching::default()
    }

    /// Handles several events at once, answering one [`Outcome`] per event
    /// handled, in order. Fewer outcomes than events means the rest was not
    /// tried; they come again. `Err` means nothing of the batch is known to
    /// have arrived (all of it comes again, after a backoff). The default
    /// calls [`deliver`](Self::deliver) for each.
    fn deliver_batch<'a>(
        &'a mut self,
        evs: &'a [GridEvent],
    ) -> BoxFuture<'a, Result<Vec<Outcome>, SinkError>> {
        Box::pin(async move {
            let mut out = Vec::with_capacity(evs.len());
            for ev in evs {
                match self.deliver(ev).await {
                    Ok(()) => out.push(Outcome::Accepted),
                    Err(e) if out.is_empty() => return Err(e),
                    Err(_) => break,
                }
            }
            Ok(out)
        })
    }
}

/// Batching of an own-cursor sink.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Batching {
    /// Most events per batch (at least 1).
    pub max: usize,
    /// How long to wait for `max` events before sending fewer.
    pub linger: Duration,
}

impl Default for Batching {
    fn default() -> Batching {
        Batching {
            max: 1,
            linger: Duration::ZERO,
        }
    }
}

/// What became of one event of a batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The receiver accepted it.
    Accepted,
    /// The receiver refused this event for good (an HTTP 4xx, a per-item
    /// mapping error): it goes to the dead-letter file with the reason.
    Refused(String),
    /// The receiver could not take it now (5xx, 429, a per-item
    /// rejection worth retrying): it and the rest of the batch come again.
    Retry(String),
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
    /// A remote receiver failed or could not be reached (retried).
    #[error("{sink}: {detail}")]
    Remote {
        /// The sink's name.
        sink: String,
        /// What went wrong.
        detail: String,
    },
    /// The sink's settings cannot work (a bad URL, an unreadable CA file).
    #[error("{sink}: {detail}")]
    Config {
        /// The sink's name (or its URL).
        sink: String,
        /// What is wrong.
        detail: String,
    },
}

impl SinkError {
    /// A remote failure of `sink`.
    pub fn remote(sink: &str, detail: impl std::fmt::Display) -> SinkError {
        SinkError::Remote {
            sink: sink.into(),
            detail: detail.to_string(),
        }
    }

    /// A settings problem of `sink`.
    pub fn config(sink: &str, detail: impl std::fmt::Display) -> SinkError {
        SinkError::Config {
            sink: sink.into(),
            detail: detail.to_string(),
        }
    }

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
