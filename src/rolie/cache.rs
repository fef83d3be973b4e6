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
//!
//! The same cache holds archive documents (`archive.rs`). Those, and the
//! first page's `prev-archive` link, also depend on which blocks of the
//! store's sequence space are closed, which another topic's insert can
//! change; so a [`Version`] is the pair (topic generation, closed blocks),
//! both read before rendering and both only ever growing.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};

use super::conditional::{etag_of, Validators};

/// Bytes of rendered pages kept. A 100-entry page is ~150 KiB, so this
/// holds the ~25 most recently used pages: the first pages of the feeds that
/// are being polled. Bounded in bytes, not pages, because a bridge with many
/// topics must stay small (BENCHMARKS.md, section 7), and pages differ in
/// size with their documents.
const MAX_BYTES: usize = 4 << 20;

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
    pub(crate) fn new(mut body: String, updated: DateTime<Utc>) -> Page {
        // The renderer's buffer grew by doubling: up to twice the page, for
        // as long as the cache keeps it (the budget counts the length).
        body.shrink_to_fit();
        Page {
            validators: Validators::new(&etag_of(&body), updated),
            body,
        }
    }
}

/// Which document of a topic: a feed page (its `before`/`after` cursors)
/// or an archive document (its block number).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Which {
    /// `/rolie/feeds/{topic}[?before=N|?after=N]`.
    Page(Option<i64>, Option<i64>),
    /// `/rolie/feeds/{topic}/archive/{n}`.
    Archive(u64),
}

/// Which document of which topic.
pub(crate) type Key = (String, Which);

/// The topic generation and the number of closed sequence blocks a page
/// was rendered at (compared as a pair: both only grow).
pub(crate) type Version = (u64, u64);

/// One cached page.
#[derive(Debug)]
struct Slot {
    /// The topic generation it was rendered at.
    version: Version,
    /// When it was last put or served (the cache's own clock).
    used: u64,
    page: Arc<Page>,
}

/// What the lock guards.
#[derive(Debug, Default)]
struct Pages {
    slots: HashMap<Key, Slot>,
    /// Sum of the bodies' lengths.
    bytes: usize,
    /// Ticks on every put and hit.
    clock: u64,
}

impl Pages {
    fn remove(&mut self, key: &Key) {
        if let Some(old) = self.slots.remove(key) {
            self.bytes -= old.page.body.len();
        }
    }
}

/// The cache (one per server): at most a byte budget of pages, the least
/// recently used going first, and a topic's pages dropped as soon as a
/// newer rendering of that topic shows they are stale.
#[derive(Debug)]
pub(crate) struct FeedCache {
    budget: usize,
    pages: Mutex<Pages>,
}

impl Default for FeedCache {
    fn default() -> Self {
        FeedCache::with_budget(MAX_BYTES)
    }
}

impl FeedCache {
    /// A cache keeping at most `budget` bytes of page bodies.
    pub(crate) fn with_budget(budget: usize) -> FeedCache {
        FeedCache {
            budget,
            pages: Mutex::default(),
        }
    }

    /// The page `key`, if it was rendered at `version`.
    pub(crate) fn get(&self, key: &Key, version: Version) -> Option<Arc<Page>> {
        let mut pages = self.pages.lock().ok()?;
        pages.clock += 1;
        let now = pages.clock;
        match pages.slots.get_mut(key) {
            Some(slot) if slot.version == version => {
                slot.used = now;
                Some(slot.page.clone())
            }
            _ => None,
        }
    }

    /// Remembers a page rendered at `version`. A page larger than the whole
    /// budget is not kept.
    pub(crate) fn put(&self, key: Key, version: Version, page: Arc<Page>) {
        let Ok(mut pages) = self.pages.lock() else {
            return;
        };
        // Two requests can render concurrently; the later-finishing one
        // must not put an older rendering over a newer one.
        if pages.slots.get(&key).is_some_and(|s| s.version > version) {
            return;
        }
        // Generations only grow: the topic's pages rendered before this one
        // can never be served again.
        let stale: Vec<Key> = pages
            .slots
            .iter()
            .filter(|(k, s)| k.0 == key.0 && s.version < version)
            .map(|(k, _)| k.clone())
            .collect();
        for k in &stale {
            pages.remove(k);
        }
        pages.remove(&key);
        let size = page.body.len();
        if size > self.budget {
            return;
        }
        while pages.bytes + size > self.budget {
            let Some(oldest) = pages
                .slots
                .iter()
                .min_by_key(|(_, s)| s.used)
                .map(|(k, _)| k.clone())
            else {
                break;
            };
            pages.remove(&oldest);
        }
        pages.clock += 1;
        let used = pages.clock;
        pages.bytes += size;
        pages.slots.insert(
            key,
            Slot {
                version,
                used,
                page,
            },
        );
    }

    /// Bytes of page bodies held (for tests).
    #[cfg(test)]
    fn bytes(&self) -> usize {
        self.pages.lock().map(|p| p.bytes).unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A page is served only for the topic state it was rendered at.
    #[test]
    fn stale_pages_are_not_served() {
        let c = FeedCache::default();
        let key = ("t".to_string(), Which::Page(None, None));
        let t0 = DateTime::from_timestamp_nanos(1);
        c.put(
            key.clone(),
            (3, 0),
            Arc::new(Page::new("<feed/>".into(), t0)),
        );
        assert!(c.get(&key, (3, 0)).is_some());
        assert!(c.get(&key, (4, 0)).is_none(), "changed generation");
        assert!(c.get(&key, (3, 1)).is_none(), "a block closed");
        assert!(c
            .get(&("t".into(), Which::Page(Some(5), None)), (3, 0))
            .is_none());
        assert!(c.get(&("t".into(), Which::Archive(0)), (3, 0)).is_none());
        assert_eq!(
            c.get(&key, (3, 0)).map(|p| p.validators.etag().to_string()),
            Some(etag_of("<feed/>"))
        );
    }

    fn page(len: usize) -> Arc<Page> {
        Arc::new(Page::new(
            "x".repeat(len),
            DateTime::from_timestamp_nanos(1),
        ))
    }

    fn key(topic: &str, before: Option<i64>) -> Key {
        (topic.to_string(), Which::Page(before, None))
    }

    /// The budget holds: the least recently used page goes first, and a
    /// page used since it was put survives.
    #[test]
    fn bounded_in_bytes_least_recently_used_first() {
        let c = FeedCache::with_budget(300);
        c.put(key("a", None), (1, 0), page(100));
        c.put(key("b", None), (1, 0), page(100));
        c.put(key("c", None), (1, 0), page(100));
        assert!(c.get(&key("a", None), (1, 0)).is_some(), "a used again");
        c.put(key("d", None), (1, 0), page(100));
        assert_eq!(c.bytes(), 300);
        assert!(c.get(&key("b", None), (1, 0)).is_none(), "b was the oldest");
        for k in ["a", "c", "d"] {
            assert!(c.get(&key(k, None), (1, 0)).is_some(), "{k} kept");
        }
        c.put(key("e", None), (1, 0), page(250));
        assert!(c.bytes() <= 300);
        assert!(c.get(&key("e", None), (1, 0)).is_some());
        c.put(key("f", None), (1, 0), page(301));
        assert!(
            c.get(&key("f", None), (1, 0)).is_none(),
            "larger than the budget"
        );
        assert!(c.bytes() <= 300);
    }

    /// A kept page holds no more memory than its length says.
    #[test]
    fn a_page_keeps_no_spare_capacity() {
        let mut body = String::with_capacity(1 << 16);
        body.push_str("<feed/>");
        let p = Page::new(body, DateTime::from_timestamp_nanos(1));
        assert_eq!(p.body.capacity(), p.body.len());
    }

    /// A newer rendering of a topic drops that topic's stale pages (all of
    /// them, not only the same page), and nothing of other topics.
    #[test]
    fn a_newer_generation_drops_the_topics_stale_pages() {
        let c = FeedCache::with_budget(10_000);
        c.put(key("t", None), (1, 0), page(100));
        c.put(key("t", Some(7)), (1, 0), page(100));
        c.put(key("u", None), (1, 0), page(100));
        c.put(key("t", None), (2, 0), page(120));
        assert_eq!(c.bytes(), 220);
        c.put(key("t", None), (1, 0), page(100));
        assert!(
            c.get(&key("t", None), (2, 0)).is_some(),
            "an older rendering lost"
        );
        assert!(c.get(&key("t", Some(7)), (1, 0)).is_none());
        assert!(c.get(&key("u", None), (1, 0)).is_some());
        assert!(c.get(&key("t", None), (2, 0)).is_some());
    }
}
