//! Rendered feed pages, reused until their topic changes.
//!
//! Rendering a 100-entry page reads 100 documents, extracts their IODEF
//! metadata and writes ~150 KiB of Atom: milliseconds per request, most of
//! it for nothing, because feeds are polled far more often than they change
//! (and a poller that sends `If-None-Match` only needs the ETag). A page is
//! valid as long as its topic's [`Store::generation`](crate::store::Store::generation)
//! is the one read *before* rendering: every insert, replace and retract
//! bumps it after committing, so a page can be newer than its label, never
//! older, and a stale page is never served. Checking costs no query.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

/// Most pages kept; beyond it the cache starts over. A 100-entry page is
/// ~150 KiB, so this bounds the cache near 10 MiB.
const MAX_PAGES: usize = 64;

/// One rendered page and its entity tag.
#[derive(Debug, Clone)]
pub(crate) struct Rendered {
    /// The document.
    pub(crate) body: Arc<String>,
    /// Its strong ETag, quoted.
    pub(crate) etag: String,
}

impl Rendered {
    /// Wraps a freshly rendered document, computing its ETag.
    pub(crate) fn new(body: String) -> Rendered {
        Rendered {
            etag: etag_of(&body),
            body: Arc::new(body),
        }
    }
}

/// A strong ETag for a document: the first 128 bits of its SHA-256, quoted.
pub(crate) fn etag_of(body: &str) -> String {
    let digest = Sha256::digest(body.as_bytes());
    let hex: String = digest[..16].iter().map(|b| format!("{b:02x}")).collect();
    format!("\"{hex}\"")
}

/// Which page of which topic.
type Key = (String, Option<i64>, Option<i64>);

/// The topic generation a page was rendered at.
type Version = u64;

/// A page, the generation it was rendered at, and its topic's `updated`.
type Entry = (Version, DateTime<Utc>, Rendered);

/// The cache (one per server).
#[derive(Debug, Default)]
pub(crate) struct FeedCache {
    pages: Mutex<HashMap<Key, Entry>>,
}

impl FeedCache {
    /// The page `key` and its topic's `updated` time, if it was rendered
    /// at `version`.
    pub(crate) fn get(&self, key: &Key, version: Version) -> Option<(DateTime<Utc>, Rendered)> {
        let pages = self.pages.lock().ok()?;
        match pages.get(key) {
            Some((v, updated, r)) if *v == version => Some((*updated, r.clone())),
            _ => None,
        }
    }

    /// Remembers a page rendered at `version`.
    pub(crate) fn put(&self, key: Key, version: Version, updated: DateTime<Utc>, page: Rendered) {
        if let Ok(mut pages) = self.pages.lock() {
            if pages.len() >= MAX_PAGES && !pages.contains_key(&key) {
                pages.clear();
            }
            pages.insert(key, (version, updated, page));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A page is served only for the topic state it was rendered at.
    #[test]
    fn stale_pages_are_not_served() {
        let c = FeedCache::default();
        let key = ("t".to_string(), None, None);
        let t0 = DateTime::from_timestamp_nanos(1);
        c.put(key.clone(), 3, t0, Rendered::new("<feed/>".into()));
        assert!(c.get(&key, 3).is_some());
        assert!(c.get(&key, 4).is_none(), "changed generation");
        assert!(c.get(&("t".into(), Some(5), None), 3).is_none());
        assert_eq!(
            c.get(&key, 3).map(|(t, r)| (t, r.etag)),
            Some((t0, etag_of("<feed/>")))
        );
    }
}
