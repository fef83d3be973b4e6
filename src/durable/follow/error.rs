//! Why following failed: [`FollowError`].

use crate::grid::GridError;
use crate::store::StoreError;

/// Why following failed.
#[derive(Debug, thiserror::Error)]
pub enum FollowError {
    /// The grid side failed.
    #[error(transparent)]
    Grid(#[from] GridError),
    /// The cursor store failed.
    #[error("cursor store: {0}")]
    Store(#[from] StoreError),
}
