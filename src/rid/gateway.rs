//! Where the RID endpoint answers Queries from: a [`Store`] (the bridge's, or the endpoint's own,
//! which keeps what it published), the items the broker keeps ([`GridLookup`]), or the first of
//! several that knows the incident ([`FirstOf`]). Matched by IncidentID (name and text), newest first.

use std::sync::Arc;

use super::serve::Lookup;
use crate::grid::{Grid, GridEvent};
use crate::iodef::{self, ValidationLevel};
use crate::rolie::BoxFuture;
use crate::store::{Cursor, Store};

fn matches(document: &str, name: &str, id: &str) -> Option<iodef::Document> {
    let doc = iodef::parse(document.as_bytes()).ok()?;
    doc.incident_ids()
        .iter()
        .any(|i| i.name == name && i.id == id)
        .then_some(doc)
}

/// Finds incidents among the items a store keeps for `topics` (at most [`QUERY_DEPTH`] per topic).
pub struct StoreLookup {
    /// The store.
    pub store: Store,
    /// Where to look.
    pub topics: Vec<String>,
}

impl Lookup for StoreLookup {
    fn find<'a>(&'a self, name: &'a str, id: &'a str) -> BoxFuture<'a, Option<iodef::Document>> {
        Box::pin(async move {
            for topic in &self.topics {
                let mut cursor = Cursor::Newest;
                let mut seen = 0;
                while seen < QUERY_DEPTH as usize {
                    let Ok(page) = self.store.page(topic, cursor, 100).await else {
                        break;
                    };
                    seen += page.items.len();
                    if let Some(d) = page
                        .items
                        .iter()
                        .find_map(|i| matches(&i.envelope.document, name, id))
                    {
                        return Some(d);
                    }
                    match (page.has_older, page.items.last()) {
                        (true, Some(last)) => cursor = Cursor::Before(last.seq),
                        _ => break,
                    }
                }
            }
            None
        })
    }
}

/// The first answer of several lookups, in order.
pub struct FirstOf(pub Vec<Arc<dyn Lookup>>);

impl Lookup for FirstOf {
    fn find<'a>(&'a self, name: &'a str, id: &'a str) -> BoxFuture<'a, Option<iodef::Document>> {
        Box::pin(async move {
            for l in &self.0 {
                if let Some(d) = l.find(name, id).await {
                    return Some(d);
                }
            }
            None
        })
    }
}

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

#[cfg(test)]
mod tests {
    use super::*;

    /// A Query finds its incident among a store's items by IncidentID, and nothing for another one.
    #[tokio::test]
    async fn store_lookup_by_incident_id() {
        let store = Store::open_in_memory().unwrap();
        let doc = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/iodef/valid/rfc7970-sec7.1-minimal.xml"
        ))
        .unwrap();
        store
            .put(crate::envelope::Envelope {
                topic: "incidents".into(),
                item_id: "csirt.example.com:492382".into(),
                publisher: None,
                received_at: chrono::Utc::now(),
                delayed_at: None,
                payload_ns: crate::envelope::IODEF_V2_NS.into(),
                document: doc,
            })
            .await
            .unwrap();
        let l = FirstOf(vec![Arc::new(StoreLookup {
            store,
            topics: vec!["other".into(), "incidents".into()],
        })]);
        assert!(l.find("csirt.example.com", "492382").await.is_some());
        assert!(l.find("csirt.example.com", "1").await.is_none());
        assert!(l.find("other.example", "492382").await.is_none());
    }
}
