//! Why a poll round, or one fetch of it, failed. Every URL in these
//! messages is in its redacted form (`redact.rs`): they end up in logs.

use std::time::Duration;

use crate::rolie::PublishError;

/// Why a round failed.
#[derive(Debug, thiserror::Error)]
pub enum PollError {
    /// The request failed (connection, TLS, timeout).
    #[error("GET {0}: {1}")]
    Http(String, String),
    /// The server answered with an error status.
    #[error("GET {url}: {status}{}", retry_after.map(|d| format!(" (Retry-After {} s)", d.as_secs())).unwrap_or_default())]
    Status {
        /// The URL asked.
        url: String,
        /// Its status.
        status: reqwest::StatusCode,
        /// The server's `Retry-After` (429, 503), if any.
        retry_after: Option<Duration>,
    },
    /// A body gridlink will never read (too large, not UTF-8).
    #[error("GET {0}: {1}")]
    Body(String, String),
    /// A URL the poller may not fetch (another origin, a private address,
    /// a redirect loop; see `policy.rs`).
    #[error("GET {0}: refused: {1}")]
    Refused(String, String),
    /// The feed could not be read (not Atom, a bad link).
    #[error("{0}: {1}")]
    Feed(String, String),
    /// The grid did not take an entry (retried).
    #[error("publishing to {0}: {1}")]
    Grid(String, PublishError),
    /// The state file could not be written.
    #[error("state file {0}: {1}")]
    State(String, std::io::Error),
}

impl PollError {
    /// Whether fetching an entry's content failed for good: the entry is
    /// skipped rather than retried (404, 410, too large, not UTF-8, a URL
    /// the poller refuses).
    pub fn skips_entry(&self) -> bool {
        match self {
            PollError::Status { status, .. } => {
                *status == reqwest::StatusCode::NOT_FOUND || *status == reqwest::StatusCode::GONE
            }
            PollError::Body(..) | PollError::Refused(..) => true,
            _ => false,
        }
    }

    /// The server's `Retry-After`, if it sent one.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            PollError::Status { retry_after, .. } => *retry_after,
            _ => None,
        }
    }
}
