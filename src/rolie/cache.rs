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

use super::http::Validators;

/// Most pages kept; beyond it the cache starts over. A 100-entry page is
/// ~150 KiB, so this bounds the cache near 10 MiB.
const MAX_PAGES: usize = 64;

/// One rendered page with its validators, ready to answer a GET or a
/// conditional GET: a hit copies nothing but the `Arc` (and the body, for
/// a 200).
#[derive(Debug)]
pub(crate) struct Page {
    /// The document.
    pub(crate) body: String,
    /// Its `ETag` (strong, see [`etag_of`]) and `Last-Modified` (the
    /// topic's `updated`), as header values.
    pub(crate) validators: Validators,
}

impl Page {
    /// Wraps a freshly rendered document of a topic last changed at
    /// `updated`, computing its ETag.
    pub(crate) fn new(body: String, updated: DateTime<Utc>) -> Page {
        Page {
            validators: Validators::new(&etag_of(&body), updated),
            body,
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

/// The cache (one per server).
#[derive(Debug, Default)]
pub(crate) struct FeedCache {
    pages: Mutex<HashMap<Key, (Version, Arc<Page>)>>,
}

impl FeedCache {
    /// The page `key`, if it was rendered at `version`.
    pub(crate) fn get(&self, key: &Key, version: Version) -> Option<Arc<Page>> {
        let pages = self.pages.lock().ok()?;
        match pages.get(key) {
            Some((v, page)) if *v == version => Some(page.clone()),
            _ => None,
        }
    }

    /// Remembers a page rendered at `version`.
    pub(crate) fn put(&self, key: Key, version: Version, page: Arc<Page>) {
        if let Ok(mut pages) = self.pages.lock() {
            if pages.len() >= MAX_PAGES && !pages.contains_key(&key) {
                pages.clear();
            }
            pages.insert(key, (version, page));
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
        c.put(key.clone(), 3, Arc::new(Page::new("<feed/>".into(), t0)));
        assert!(c.get(&key, 3).is_some());
        assert!(c.get(&key, 4).is_none(), "changed generation");
        assert!(c.get(&("t".into(), Some(5), None), 3).is_none());
        assert_eq!(
            c.get(&key, 3).map(|p| p.validators.etag().to_string()),
            Some(etag_of("<feed/>"))
        );
    }
}
