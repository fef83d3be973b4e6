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

use std::collections::{HashSet, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::{PublishBody, PublishError, Publisher};

mod feed;
use feed::{parse_feed, Entry};

/// Entries remembered per source (oldest forgotten first).
const SEEN_LIMIT: usize = 10_000;
/// Pages followed in one round.
const MAX_PAGES: usize = 50;
/// Largest feed page or content document fetched.
const MAX_BODY: usize = 4 * 1024 * 1024;

/// One remote feed and the topic its entries go to (`--poll URL=TOPIC`).
#[derive(Debug, Clone, PartialEq, Eq)]
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
        if !(url.starts_with("http://") || url.starts_with("https://")) || topic.is_empty() {
            return Err(format!("{s:?}: expected http(s)://…=TOPIC"));
        }
        Ok(PollSource {
            url: url.to_string(),
            topic: topic.to_string(),
        })
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

    /// Write-then-rename: a crash never leaves half a state file.
    fn save(&self, path: &Path) -> std::io::Result<()> {
        let tmp = path.with_extension("tmp");
        std::fs::write(&tmp, serde_json::to_vec(self)?)?;
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
    client: reqwest::Client,
    publisher: Arc<dyn Publisher>,
    state_path: PathBuf,
    interval: Duration,
    max_backoff: Duration,
    /// This source's counters.
    pub stats: Arc<PollStats>,
}

/// Why a round failed.
#[derive(Debug, thiserror::Error)]
enum RoundError {
    #[error("GET {0}: {1}")]
    Http(String, String),
    #[error("GET {url}: {status}{}", retry_after.map(|d| format!(" (Retry-After {} s)", d.as_secs())).unwrap_or_default())]
    Status {
        url: String,
        status: reqwest::StatusCode,
        /// The server's `Retry-After` (429, 503), if any.
        retry_after: Option<Duration>,
    },
    /// A body gridlink will never read (too large, not UTF-8).
    #[error("GET {0}: {1}")]
    Body(String, String),
    #[error("{0}: {1}")]
    Feed(String, String),
    #[error("publishing to {0}: {1}")]
    Grid(String, PublishError),
    #[error("state file {0}: {1}")]
    State(String, std::io::Error),
}

impl RoundError {
    /// Whether fetching an entry's content failed for good: the entry is
    /// skipped rather than retried.
    fn content_is_gone(&self) -> bool {
        match self {
            RoundError::Status { status, .. } => {
                *status == reqwest::StatusCode::NOT_FOUND || *status == reqwest::StatusCode::GONE
            }
            RoundError::Body(..) => true,
            _ => false,
        }
    }
}

/// The longest `Retry-After` honoured (a server asking for more is asked
/// again after this).
const MAX_RETRY_AFTER: Duration = Duration::from_secs(3600);

/// A `Retry-After` value (RFC 9110 §10.2.3): seconds, or an HTTP date.
fn retry_after(v: &str) -> Option<Duration> {
    let v = v.trim();
    if let Ok(secs) = v.parse::<u64>() {
        return Some(Duration::from_secs(secs).min(MAX_RETRY_AFTER));
    }
    let at = httpdate::parse_http_date(v).ok()?;
    Some(
        at.duration_since(std::time::SystemTime::now())
            .unwrap_or_default()
            .min(MAX_RETRY_AFTER),
    )
}

/// `href` resolved against the document's URL `base` and the `xml:base`
/// values in scope (outermost first).
fn resolve(base: &str, xml_bases: &[String], href: &str) -> Result<String, RoundError> {
    let bad = |e: &dyn std::fmt::Display| {
        RoundError::Feed(base.to_string(), format!("bad link {href:?}: {e}"))
    };
    let mut url = reqwest::Url::parse(base).map_err(|e| bad(&e))?;
    for b in xml_bases.iter().map(String::as_str).chain([href]) {
        url = url.join(b).map_err(|e| bad(&e))?;
    }
    Ok(url.to_string())
}

impl Poller {
    /// A poller for `source`; its state lives in `state_dir`.
    pub fn new(
        source: PollSource,
        client: reqwest::Client,
        publisher: Arc<dyn Publisher>,
        state_dir: &Path,
        interval: Duration,
    ) -> Poller {
        use sha2::Digest;
        let h = sha2::Sha256::digest(format!("{}\n{}", source.url, source.topic).as_bytes());
        let name: String = h.iter().take(8).map(|b| format!("{b:02x}")).collect();
        Poller {
            source,
            client,
            publisher,
            state_path: state_dir.join(format!("poll-{name}.json")),
            interval,
            max_backoff: Duration::from_secs(300),
            stats: Arc::new(PollStats::default()),
        }
    }

    /// The source.
    pub fn source(&self) -> &PollSource {
        &self.source
    }

    /// Rounds until `shutdown` becomes true.
    pub async fn run(self, mut shutdown: tokio::sync::watch::Receiver<bool>) {
        let mut backoff = self.interval;
        loop {
            let wait = match self.round().await {
                Ok(n) => {
                    if n > 0 {
                        tracing::info!(source = %self.source.url, topic = %self.source.topic, published = n, "poll round");
                    }
                    backoff = self.interval;
                    self.interval
                }
                Err(e) => {
                    self.stats.errors.fetch_add(1, Ordering::Relaxed);
                    backoff = (backoff * 2).min(self.max_backoff);
                    // A server that says when to come back is not asked sooner.
                    let wait = match &e {
                        RoundError::Status {
                            retry_after: Some(d),
                            ..
                        } => backoff.max(*d),
                        _ => backoff,
                    };
                    tracing::warn!(source = %self.source.url, error = %e, retry_in = ?wait, "poll failed");
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
    ) -> Result<Option<(String, reqwest::header::HeaderMap)>, RoundError> {
        let mut req = self
            .client
            .get(url)
            .header("accept", "application/atom+xml, application/xml");
        if let Some(s) = state {
            if let Some(e) = &s.etag {
                req = req.header("if-none-match", e);
            }
            if let Some(m) = &s.last_modified {
                req = req.header("if-modified-since", m);
            }
        }
        let err = |e: &dyn std::fmt::Display| RoundError::Http(url.to_string(), e.to_string());
        let resp = req.send().await.map_err(|e| err(&e))?;
        if resp.status() == reqwest::StatusCode::NOT_MODIFIED {
            return Ok(None);
        }
        if !resp.status().is_success() {
            return Err(RoundError::Status {
                url: url.to_string(),
                status: resp.status(),
                retry_after: resp
                    .headers()
                    .get(reqwest::header::RETRY_AFTER)
                    .and_then(|v| v.to_str().ok())
                    .and_then(retry_after),
            });
        }
        let body = |m: String| RoundError::Body(url.to_string(), m);
        let too_large = || body(format!("response larger than {MAX_BODY} bytes"));
        if resp.content_length().is_some_and(|l| l as usize > MAX_BODY) {
            return Err(too_large());
        }
        let headers = resp.headers().clone();
        let bytes = resp.bytes().await.map_err(|e| err(&e))?;
        if bytes.len() > MAX_BODY {
            return Err(too_large());
        }
        let text = String::from_utf8(bytes.to_vec()).map_err(|e| body(e.to_string()))?;
        Ok(Some((text, headers)))
    }

    /// One round; returns how many entries were published.
    async fn round(&self) -> Result<usize, RoundError> {
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
            let page = parse_feed(&body).map_err(|e| RoundError::Feed(page_url.clone(), e))?;
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
                tracing::warn!(entry = %entry.id, "entry without out-of-line content; skipped");
                state.remember(entry.key());
                continue;
            };
            let url = resolve(&base, &entry.content_base, src)?;
            let doc = match self.get(&url, None).await {
                Ok(Some((doc, _))) => doc,
                Ok(None) => continue,
                // Gone for good: skipped and remembered, so that the newer
                // entries behind it are not held back forever. Anything
                // else (5xx, network) ends the round; the entry is retried.
                Err(e) if e.content_is_gone() => {
                    self.stats.skipped.fetch_add(1, Ordering::Relaxed);
                    tracing::warn!(entry = %entry.id, error = %e, "entry content unavailable; skipped");
                    state.remember(entry.key());
                    state
                        .save(&self.state_path)
                        .map_err(|e| RoundError::State(self.state_path.display().to_string(), e))?;
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
                    tracing::warn!(entry = %entry.id, problems = %problems.join("; "), "invalid IODEF in remote feed");
                }
                Err(e) => return Err(RoundError::Grid(self.source.topic.clone(), e)),
            }
            state.remember(entry.key());
            state
                .save(&self.state_path)
                .map_err(|e| RoundError::State(self.state_path.display().to_string(), e))?;
        }
        state.etag = headers
            .get("etag")
            .and_then(|v| v.to_str().ok())
            .map(String::from);
        state.last_modified = headers
            .get("last-modified")
            .and_then(|v| v.to_str().ok())
            .map(String::from);
        state
            .save(&self.state_path)
            .map_err(|e| RoundError::State(self.state_path.display().to_string(), e))?;
        Ok(published)
    }
}

#[cfg(test)]
mod tests {
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
