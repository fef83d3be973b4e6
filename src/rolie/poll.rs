//! The ROLIE client side: poll a remote ROLIE/Atom feed and publish its new
//! entries into a grid topic (a *source* of the bridge).
//!
//! Each round: a conditional GET of the feed (ETag / Last-Modified), then the
//! entries newest first, following `rel="next"` pages until an entry already
//! seen (same `id` and `updated`) shows up. New entries are fetched (their
//! `content src`), validated and published oldest first through the
//! [`Publisher`]; each one is recorded in a state file as soon as the broker
//! confirmed it, so a restart never republishes. Errors back off
//! exponentially per source.
//!
//! What a feed may make the bridge fetch is limited (`poll/policy.rs`),
//! bodies are read up to a limit (`poll/fetch.rs`), and URLs are shown
//! without their credentials (`poll/redact.rs`).

use std::collections::{HashSet, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::{PublishBody, PublishError, Publisher};

mod client;
/// The CSAF provider poller (`--poll-csaf`).
pub mod csaf;
mod csaf_index;
mod error;
mod feed;
mod fetch;
/// OpenPGP signatures of polled CSAF advisories.
pub mod openpgp;
mod policy;
mod redact;

pub use client::{ClientError, PollClient};
pub use error::PollError;
pub use fetch::MAX_BODY;
pub use policy::PollOrigin;
pub use redact::{redact_url, REDACTED};

use feed::{parse_feed, Entry};
use fetch::{get, Validators};
use policy::FetchPolicy;

/// Entries remembered per source (oldest forgotten first).
const SEEN_LIMIT: usize = 10_000;
/// Pages followed in one round.
const MAX_PAGES: usize = 50;

/// One remote feed and the topic its entries go to (`--poll URL=TOPIC`).
/// Its `Debug` form shows the URL redacted, as logs do.
#[derive(Clone, PartialEq, Eq)]
pub struct PollSource {
    /// The feed URL.
    pub url: String,
    /// The grid topic to publish into.
    pub topic: String,
}

impl std::str::FromStr for PollSource {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let (url, topic) = s
            .rsplit_once('=')
            .ok_or_else(|| format!("{s:?}: expected URL=TOPIC"))?;
        // The message must not repeat the URL: it may hold credentials.
        let bad = || {
            format!(
                "{}={topic}: expected http(s)://HOST…=TOPIC",
                redact_url(url)
            )
        };
        let parsed = reqwest::Url::parse(url).map_err(|_| bad())?;
        if policy::PollOrigin::of(&parsed).is_none() || topic.is_empty() {
            return Err(bad());
        }
        Ok(PollSource {
            url: url.to_string(),
            topic: topic.to_string(),
        })
    }
}

impl std::fmt::Debug for PollSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PollSource")
            .field("url", &self.display_url())
            .field("topic", &self.topic)
            .finish()
    }
}

impl PollSource {
    /// The URL as logs and `/metrics` show it: no user or password,
    /// secret-looking query values `REDACTED` (see [`redact_url`]).
    pub fn display_url(&self) -> String {
        redact_url(&self.url)
    }
}

/// Counters of one source, for `/metrics`.
#[derive(Debug, Default)]
pub struct PollStats {
    /// Entries published.
    pub published: AtomicU64,
    /// Entries refused as invalid (not retried).
    pub invalid: AtomicU64,
    /// Rounds that failed (network, HTTP status, unparsable feed, grid down).
    pub errors: AtomicU64,
    /// Rounds answered 304 Not Modified.
    pub not_modified: AtomicU64,
    /// Entries skipped for good because their content is gone (404, 410)
    /// or unreadable (too large, not UTF-8): retrying cannot help, and
    /// stopping at them would hold back every newer entry.
    pub skipped: AtomicU64,
    /// CSAF advisories refused for a missing or bad OpenPGP signature
    /// (also counted in `invalid`).
    pub bad_signature: AtomicU64,
}

/// What is remembered between rounds and restarts.
#[derive(Debug, Default, Serialize, Deserialize)]
struct State {
    etag: Option<String>,
    last_modified: Option<String>,
    /// `id|updated` of entries already handled, oldest first.
    seen: VecDeque<String>,
}

impl State {
    fn load(path: &Path) -> State {
        std::fs::read(path)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default()
    }

    /// Write-then-rename: a crash never leaves half a state file. 0600:
    /// it names what the feed published.
    fn save(&self, path: &Path) -> std::io::Result<()> {
        let tmp = path.with_extension("tmp");
        crate::store::files::write_private(&tmp, &serde_json::to_vec(self)?)?;
        std::fs::rename(tmp, path)
    }

    fn remember(&mut self, key: String) {
        self.seen.push_back(key);
        while self.seen.len() > SEEN_LIMIT {
            self.seen.pop_front();
        }
    }
}

/// Polls one source until `shutdown` flips to true.
pub struct Poller {
    source: PollSource,
    /// `source.url` as logs show it.
    shown: String,
    client: reqwest::Client,
    policy: Arc<FetchPolicy>,
    publisher: Arc<dyn Publisher>,
    state_path: PathBuf,
    interval: Duration,
    max_backoff: Duration,
    /// This source's counters.
    pub stats: Arc<PollStats>,
}

/// `href` resolved against the document's URL `base` and the `xml:base`
/// values in scope (outermost first).
fn resolve(base: &str, xml_bases: &[String], href: &str) -> Result<String, PollError> {
    let bad = |e: &dyn std::fmt::Display| {
        PollError::Feed(
            redact_url(base),
            format!("bad link {:?}: {e}", redact_url(href)),
        )
    };
    let mut url = reqwest::Url::parse(base).map_err(|e| bad(&e))?;
    for b in xml_bases.iter().map(String::as_str).chain([href]) {
        url = url.join(b).map_err(|e| bad(&e))?;
    }
    Ok(url.to_string())
}

/// Fuzzing entry point: one feed page as the poller reads it, its `next`
/// link and every entry's content link resolved against a base URL.
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub fn fuzz_feed_page(xml: &str) -> usize {
    let Ok(page) = parse_feed(xml) else { return 0 };
    let base = "https://feed.example/rolie/feeds/x";
    let mut n = 0;
    if let Some(next) = &page.next {
        n += usize::from(resolve(base, &page.next_base, next).is_ok());
    }
    for e in &page.entries {
        let _ = e.key();
        if let Some(src) = &e.content_src {
            n += usize::from(resolve(base, &e.content_base, src).is_ok());
        }
    }
    n
}

impl Poller {
    /// A poller for `source`, fetching through a client of `clients`; its
    /// state lives in `state_dir`.
    pub fn new(
        source: PollSource,
        clients: &PollClient,
        publisher: Arc<dyn Publisher>,
        state_dir: &Path,
        interval: Duration,
    ) -> Result<Poller, ClientError> {
        use sha2::Digest;
        let (client, policy) = clients.for_feed(&source.url)?;
        let h = sha2::Sha256::digest(format!("{}\n{}", source.url, source.topic).as_bytes());
        let name: String = h.iter().take(8).map(|b| format!("{b:02x}")).collect();
        Ok(Poller {
            shown: source.display_url(),
            source,
            client,
            policy,
            publisher,
            state_path: state_dir.join(format!("poll-{name}.json")),
            interval,
            max_backoff: Duration::from_secs(300),
            stats: Arc::new(PollStats::default()),
        })
    }

    /// The source.
    pub fn source(&self) -> &PollSource {
        &self.source
    }

    /// Rounds until `shutdown` becomes true.
    pub async fn run(self, mut shutdown: tokio::sync::watch::Receiver<bool>) {
        let mut backoff = self.interval;
        loop {
            let wait = match self.poll_once().await {
                Ok(n) => {
                    if n > 0 {
                        tracing::info!(source = %self.shown, topic = %self.source.topic, published = n, "poll round");
                    }
                    backoff = self.interval;
                    self.interval
                }
                Err(e) => {
                    backoff = (backoff * 2).min(self.max_backoff);
                    // A server that says when to come back is not asked sooner.
                    let wait = e.retry_after().map_or(backoff, |d| backoff.max(d));
                    tracing::warn!(source = %self.shown, error = %e, retry_in = ?wait, "poll failed");
                    wait
                }
            };
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = shutdown.wait_for(|s| *s) => return,
            }
        }
    }

    async fn get(
        &self,
        url: &str,
        state: Option<&State>,
    ) -> Result<Option<(String, reqwest::header::HeaderMap)>, PollError> {
        let validators = state.map_or_else(Validators::default, |s| Validators {
            etag: s.etag.as_deref(),
            last_modified: s.last_modified.as_deref(),
            accept: None,
        });
        get(&self.client, &self.policy, url, validators, MAX_BODY).await
    }

    /// One round now (what [`Poller::run`] repeats): fetches the feed and
    /// publishes its new entries; returns how many were published. A
    /// failed round counts in [`PollStats::errors`].
    pub async fn poll_once(&self) -> Result<usize, PollError> {
        let r = self.round().await;
        if r.is_err() {
            self.stats.errors.fetch_add(1, Ordering::Relaxed);
        }
        r
    }

    /// One round; returns how many entries were published.
    async fn round(&self) -> Result<usize, PollError> {
        let mut state = State::load(&self.state_path);
        let Some((first, headers)) = self.get(&self.source.url, Some(&state)).await? else {
            self.stats.not_modified.fetch_add(1, Ordering::Relaxed);
            return Ok(0);
        };
        let seen: HashSet<String> = state.seen.iter().cloned().collect();
        let mut new: Vec<(Entry, String)> = Vec::new();
        let mut page_url = self.source.url.clone();
        let mut body = first;
        'pages: for _ in 0..MAX_PAGES {
            let page = parse_feed(&body).map_err(|e| PollError::Feed(redact_url(&page_url), e))?;
            for e in page.entries {
                if seen.contains(&e.key()) {
                    break 'pages; // everything older was handled before
                }
                new.push((e, page_url.clone()));
            }
            match page.next {
                Some(href) => {
                    page_url = resolve(&page_url, &page.next_base, &href)?;
                    match self.get(&page_url, None).await? {
                        Some((b, _)) => body = b,
                        None => break,
                    }
                }
                None => break,
            }
        }
        let mut published = 0;
        // Oldest first, so the grid sees them in the order they were made.
        for (entry, base) in new.into_iter().rev() {
            let Some(src) = &entry.content_src else {
                tracing::warn!(source = %self.shown, entry = %entry.id, "entry without out-of-line content; skipped");
                state.remember(entry.key());
                continue;
            };
            // A link that does not resolve is as unreadable as a 404.
            let fetched = match resolve(&base, &entry.content_base, src) {
                Ok(url) => self.get(&url, None).await,
                Err(e) => Err(e),
            };
            let doc = match fetched {
                Ok(Some((doc, _))) => doc,
                Ok(None) => continue,
                // Gone for good or never to be fetched (another origin, a
                // private address, a redirect loop, too large): skipped
                // and remembered, so that the newer entries behind it are
                // not held back forever. Anything else (5xx, network) ends
                // the round; the entry is retried.
                Err(e) if e.skips_entry() || matches!(e, PollError::Feed(..)) => {
                    self.stats.skipped.fetch_add(1, Ordering::Relaxed);
                    tracing::warn!(source = %self.shown, entry = %entry.id, reason = %e, "entry content unavailable; skipped");
                    state.remember(entry.key());
                    self.save(&state)?;
                    continue;
                }
                Err(e) => return Err(e),
            };
            match self
                .publisher
                .publish(&self.source.topic, PublishBody::Xml(doc))
                .await
            {
                Ok(_) => {
                    published += 1;
                    self.stats.published.fetch_add(1, Ordering::Relaxed);
                }
                Err(PublishError::Invalid(problems)) => {
                    // Not retried: the same document would fail again.
                    self.stats.invalid.fetch_add(1, Ordering::Relaxed);
                    tracing::warn!(source = %self.shown, entry = %entry.id, problems = %problems.join("; "), "invalid IODEF in remote feed");
                }
                Err(e) => return Err(PollError::Grid(self.source.topic.clone(), e)),
            }
            state.remember(entry.key());
            self.save(&state)?;
        }
        state.etag = headers
            .get("etag")
            .and_then(|v| v.to_str().ok())
            .map(String::from);
        state.last_modified = headers
            .get("last-modified")
            .and_then(|v| v.to_str().ok())
            .map(String::from);
        self.save(&state)?;
        Ok(published)
    }

    fn save(&self, state: &State) -> Result<(), PollError> {
        state
            .save(&self.state_path)
            .map_err(|e| PollError::State(self.state_path.display().to_string(), e))
    }
}

#[cfg(test)]
mod tests {
    use super::fetch::{retry_after, MAX_RETRY_AFTER};
    use super::*;

    /// `Retry-After` as seconds or an HTTP date (a past date is "now"),
    /// capped at an hour; anything else is ignored.
    #[test]
    fn retry_after_values() {
        assert_eq!(retry_after("3"), Some(Duration::from_secs(3)));
        assert_eq!(retry_after(" 120 "), Some(Duration::from_secs(120)));
        assert_eq!(retry_after("999999"), Some(MAX_RETRY_AFTER));
        assert_eq!(
            retry_after("Wed, 21 Oct 2015 07:28:00 GMT"),
            Some(Duration::ZERO)
        );
        let later =
            httpdate::fmt_http_date(std::time::SystemTime::now() + Duration::from_secs(600));
        let d = retry_after(&later).unwrap();
        assert!(
            d > Duration::from_secs(590) && d <= Duration::from_secs(600),
            "{d:?}"
        );
        assert_eq!(retry_after("soon"), None);
        assert_eq!(retry_after("-1"), None);
    }

    /// Links resolve against the page URL and every `xml:base` in scope
    /// (feed, entry, content); a feed with extensions the client does not
    /// know — an unregistered and a `local` `rolie:property`, an unknown
    /// link relation, a private category scheme, a `prev` link — still
    /// gives its entries (RFC 8322 checklist 1, 31, 37).
    #[test]
    fn xml_base_and_unknown_extensions() {
        let xml = r#"<feed xmlns="http://www.w3.org/2005/Atom" xmlns:rolie="urn:ietf:params:xml:ns:rolie-1.0" xml:base="https://a.example/r/">
          <id>urn:f</id>
          <rolie:property name="urn:example:unregistered" value="x"/>
          <rolie:property name="urn:ietf:params:rolie:property:local-x" value="y"/>
          <category scheme="urn:example:private" term="z"/>
          <link rel="urn:example:rel" href="elsewhere"/>
          <link rel="prev" href="?before=1"/>
          <link rel="next" xml:base="pages/" href="2"/>
          <entry xml:base="entries/"><id>urn:1</id><updated>2026-01-01T00:00:00Z</updated>
            <rolie:property name="urn:example:unregistered" value="x"/>
            <content type="application/xml" src="1.xml"/></entry>
          <entry><id>urn:2</id><updated>2026-01-02T00:00:00Z</updated>
            <content xml:base="https://b.example/docs/" type="application/xml" src="2.xml"/></entry>
        </feed>"#;
        let p = parse_feed(xml).unwrap();
        assert_eq!(p.entries.len(), 2);
        let page = "https://origin.example/rolie/feeds/t";
        let url =
            |e: &Entry| resolve(page, &e.content_base, e.content_src.as_deref().unwrap()).unwrap();
        assert_eq!(url(&p.entries[0]), "https://a.example/r/entries/1.xml");
        assert_eq!(url(&p.entries[1]), "https://b.example/docs/2.xml");
        let next = resolve(page, &p.next_base, p.next.as_deref().unwrap()).unwrap();
        assert_eq!(next, "https://a.example/r/pages/2");
        // Without xml:base, relative to the page.
        assert_eq!(
            resolve(page, &[], "entries/a/iodef.xml").unwrap(),
            "https://origin.example/rolie/feeds/entries/a/iodef.xml"
        );
    }

    /// URL=TOPIC parsing.
    #[test]
    fn source_syntax() {
        let s: PollSource = "https://x.example/rolie/feeds/a?b=c=incidents"
            .parse()
            .unwrap();
        assert_eq!(s.topic, "incidents");
        assert_eq!(s.url, "https://x.example/rolie/feeds/a?b=c");
        assert!("ftp://x=y".parse::<PollSource>().is_err());
        let s: PollSource = "https://u:pw@x.example/f?token=t0k=i".parse().unwrap();
        assert_eq!(s.display_url(), "https://x.example/f?token=REDACTED");
        assert!(!format!("{s:?}").contains("pw") && !format!("{s:?}").contains("t0k"));
        let e = "https://u:pw@x.example/f?token=t0k="
            .parse::<PollSource>()
            .unwrap_err();
        assert!(!e.contains("pw") && !e.contains("t0k"), "{e}");
        assert!("https://x=".parse::<PollSource>().is_err());
    }

    /// The seen list is bounded.
    #[test]
    fn seen_is_bounded() {
        let mut s = State::default();
        for i in 0..SEEN_LIMIT + 5 {
            s.remember(i.to_string());
        }
        assert_eq!(s.seen.len(), SEEN_LIMIT);
        assert_eq!(s.seen.front().map(String::as_str), Some("5"));
    }
}
