//! The grid side of the RID endpoint for `gridlink rid serve`: Queries answered from the items the
//! broker keeps on the query topics (newest first, matched by IncidentID).

use super::serve::Lookup;
use crate::grid::{Grid, GridEvent};
use crate::iodef::{self, ValidationLevel};
use crate::rolie::BoxFuture;

/// How many of a topic's newest items a Query looks through.
pub const QUERY_DEPTH: u32 = 500;

/// Finds incidents among the items of `topics` on the grid.
pub struct GridLookup {
    /// The grid session.
    pub grid: Grid,
    /// Where to look.
    pub topics: Vec<String>,
}

impl Lookup for GridLookup {
    fn find<'a>(&'a self, name: &'a str, id: &'a str) -> BoxFuture<'a, Option<iodef::Document>> {
        Box::pin(async move {
            for topic in &self.topics {
                let items = match self
                    .grid
                    .items(topic, Some(QUERY_DEPTH), None, ValidationLevel::Off)
                    .await
                {
                    Ok(v) => v,
                    Err(e) => {
                        tracing::warn!(topic, error = %e, "cannot read a query topic");
                        continue;
                    }
                };
                // Newest last in the answer: look from the end.
                for ev in items.into_iter().rev() {
                    let GridEvent::Item { envelope, .. } = ev else {
                        continue;
                    };
                    let Ok(doc) = iodef::parse(envelope.document.as_bytes()) else {
                        continue;
                    };
                    if doc
                        .incident_ids()
                        .iter()
                        .any(|i| i.name == name && i.id == id)
                    {
                        return Some(doc);
                    }
                }
            }
            None
        })
    }
}
