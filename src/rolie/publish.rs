//! Where AtomPub writes go: the [`Publisher`] seam between the HTTP write
//! side (`write.rs`) and the grid (the bridge implements it), the
//! documents it takes and the errors it answers with.

use std::future::Future;
use std::pin::Pin;

use axum::http::StatusCode;

use super::problem::Problem;

/// A boxed future, as [`Publisher`] methods return (the trait is used as a
/// trait object, so it cannot use `async fn`).
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A document to publish, as received over HTTP.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PublishBody {
    /// IODEF XML (posted as `application/xml`, or taken from the inline
    /// `atom:content` of a posted Atom entry). Well-formed, UTF-8.
    Xml(String),
    /// RFC 8727 JSON IODEF (posted as `application/json`). Valid JSON.
    Json(String),
}

/// A document the [`Publisher`] took.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Published {
    /// The item id it has (or will have) on the grid.
    pub item_id: String,
    /// `true` once the broker confirmed it (201 Created); `false` when it is
    /// durably queued and will be published when the broker is reachable
    /// (202 Accepted).
    pub confirmed: bool,
}

impl From<String> for Published {
    /// A confirmed publish.
    fn from(item_id: String) -> Self {
        Published {
            item_id,
            confirmed: true,
        }
    }
}

/// Why a publish or retract failed; each maps to one HTTP status.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PublishError {
    /// The document is not valid IODEF (400, the errors one per line).
    #[error("invalid document: {}", .0.join("; "))]
    Invalid(Vec<String>),
    /// No such topic on the grid (404).
    #[error("unknown topic")]
    UnknownTopic,
    /// No such item to retract (404).
    #[error("no such item")]
    NotFound,
    /// The grid connection is down; try again later (503).
    #[error("grid unavailable: {0}")]
    Unavailable(String),
    /// The broker refused or failed the operation (502).
    #[error("broker refused: {0}")]
    Refused(String),
}

impl From<PublishError> for Problem {
    fn from(e: PublishError) -> Problem {
        let status = match &e {
            PublishError::Invalid(_) => StatusCode::BAD_REQUEST,
            PublishError::UnknownTopic | PublishError::NotFound => StatusCode::NOT_FOUND,
            PublishError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            PublishError::Refused(_) => StatusCode::BAD_GATEWAY,
        };
        let message = match e {
            PublishError::Invalid(errors) => format!("invalid document:\n{}", errors.join("\n")),
            other => other.to_string(),
        };
        Problem::new(status, message)
    }
}

/// Where AtomPub writes go: the grid publisher (the bridge) or a test fake.
pub trait Publisher: Send + Sync + 'static {
    /// Validates and publishes `body` to `topic`; resolves to the item id
    /// once the broker has confirmed the publish, or once the document is
    /// durably queued for it (`confirmed: false`).
    fn publish<'a>(
        &'a self,
        topic: &'a str,
        body: PublishBody,
    ) -> BoxFuture<'a, Result<Published, PublishError>>;

    /// Retracts `item_id` from `topic` on the grid.
    fn retract<'a>(
        &'a self,
        topic: &'a str,
        item_id: &'a str,
    ) -> BoxFuture<'a, Result<(), PublishError>>;
}

/// A publisher for a read-only repository: every write is 503.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoPublisher;

impl Publisher for NoPublisher {
    fn publish<'a>(
        &'a self,
        _: &'a str,
        _: PublishBody,
    ) -> BoxFuture<'a, Result<Published, PublishError>> {
        Box::pin(async {
            Err(PublishError::Unavailable(
                "this repository is read-only".into(),
            ))
        })
    }

    fn retract<'a>(&'a self, _: &'a str, _: &'a str) -> BoxFuture<'a, Result<(), PublishError>> {
        Box::pin(async {
            Err(PublishError::Unavailable(
                "this repository is read-only".into(),
            ))
        })
    }
}
