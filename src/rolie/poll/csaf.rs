//! The CSAF provider poller (`--poll-csaf URL=TOPIC`): a provider's
//! `provider-metadata.json` names its ROLIE feeds (JSON, CSAF 2.0 §7.1.20)
//! or directories with a `changes.csv` (§7.1.16–§7.1.17); new and changed
//! advisories are fetched, checked against their SHA-256/SHA-512 sidecar
//! (§7.1.18: at least one must be there and match) and published to the
//! topic through the [`Publisher`] (which validates them as CSAF).
//!
//! Every request goes through the Atom poller's machinery: conditional GETs
//! (ETag / Last-Modified per URL), bounded bodies, the fetch policy (the
//! provider's own origin and `--poll-allow` only, no private addresses for
//! a public provider, checked redirects), redacted URLs in logs and errors.
//! What was published is remembered in a state file (write-then-rename,
//! 0600), so a restart never republishes; errors back off per source.

use std::collections::{BTreeMap, HashSet, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256, Sha512};

use super::client::{ClientError, PollClient};
use super::error::PollError;
use super::fetch::{get, Validators, MAX_BODY};
use super::policy::FetchPolicy;
use super::redact::redact_url;
use super::{PollSource, PollStats};
use crate::rolie::{PublishBody, PublishError, Publisher};
use crate::vuln::{read_json, Schema};

/// Advisories remembered per source (oldest forgotten first).
const SEEN_LIMIT: usize = 50_000;

/// Where a provider lists its advisories.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
enum Index {
    /// A ROLIE feed in CSAF's JSON form.
    Rolie(String),
    /// A directory whose `changes.csv` lists path and time of each advisory.
    Directory(String),
}

impl Index {
    fn url(&self) -> String {
        match self {
            Index::Rolie(u) => u.clone(),
            Index::Directory(d) => format!("{}/changes.csv", d.trim_end_matches('/')),
        }
    }
}

/// What is remembered between rounds and restarts.
#[derive(Debug, Default, Serialize, Deserialize)]
struct State {
    /// ETag and Last-Modified per URL (metadata, feeds, changes.csv).
    validators: BTreeMap<String, (Option<String>, Option<String>)>,
    /// The indexes the metadata named when it was last read.
    indexes: Vec<Index>,
    /// `url|updated` of advisories handled, oldest first.
    seen: VecDeque<String>,
}

impl State {
    fn load(path: &Path) -> State {
        std::fs::read(path)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default()
    }

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

    fn validators(&self, url: &str) -> Validators<'_> {
        self.validators
            .get(url)
            .map_or_else(Validators::default, |(e, m)| Validators {
                etag: e.as_deref(),
                last_modified: m.as_deref(),
            })
    }
}

/// One advisory an index lists.
#[derive(Debug, Clone)]
struct Listed {
    url: String,
    updated: String,
    /// Sidecar URLs, SHA-512 first.
    hashes: Vec<String>,
}

/// Polls one CSAF provider until `shutdown` flips to true.
pub struct CsafPoller {
    source: PollSource,
    shown: String,
    client: reqwest::Client,
    policy: Arc<FetchPolicy>,
    publisher: Arc<dyn Publisher>,
    state_path: PathBuf,
    interval: Duration,
    max_backoff: Duration,
    /// This source's counters (`invalid` counts refused advisories: a bad
    /// or missing hash, not CSAF).
    pub stats: Arc<PollStats>,
}

impl CsafPoller {
    /// A poller for the provider metadata at `source.url`.
    pub fn new(
        source: PollSource,
        clients: &PollClient,
        publisher: Arc<dyn Publisher>,
        state_dir: &Path,
        interval: Duration,
    ) -> Result<CsafPoller, ClientError> {
        let (client, policy) = clients.for_feed(&source.url)?;
        let h = Sha256::digest(format!("csaf\n{}\n{}", source.url, source.topic).as_bytes());
        let name: String = h.iter().take(8).map(|b| format!("{b:02x}")).collect();
        Ok(CsafPoller {
            shown: source.display_url(),
            source,
            client,
            policy,
            publisher,
            state_path: state_dir.join(format!("csaf-{name}.json")),
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
                        tracing::info!(source = %self.shown, topic = %self.source.topic, published = n, "CSAF poll round");
                    }
                    backoff = self.interval;
                    self.interval
                }
                Err(e) => {
                    backoff = (backoff * 2).min(self.max_backoff);
                    let wait = e.retry_after().map_or(backoff, |d| backoff.max(d));
                    tracing::warn!(source = %self.shown, error = %e, retry_in = ?wait, "CSAF poll failed");
                    wait
                }
            };
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = shutdown.wait_for(|s| *s) => return,
            }
        }
    }

    /// One round now; returns how many advisories were published.
    pub async fn poll_once(&self) -> Result<usize, PollError> {
        let r = self.round().await;
        if r.is_err() {
            self.stats.errors.fetch_add(1, Ordering::Relaxed);
        }
        r
    }

    async fn fetch(
        &self,
        url: &str,
        v: Validators<'_>,
    ) -> Result<Option<(String, reqwest::header::HeaderMap)>, PollError> {
        get(&self.client, &self.policy, url, v, MAX_BODY).await
    }

    async fn round(&self) -> Result<usize, PollError> {
        let mut state = State::load(&self.state_path);
        let meta_url = self.source.url.clone();
        match self.fetch(&meta_url, state.validators(&meta_url)).await? {
            None => self.stats.not_modified.fetch_add(1, Ordering::Relaxed),
            Some((body, headers)) => {
                state.indexes = indexes(&meta_url, &body)?;
                keep_validators(&mut state, &meta_url, &headers);
                0
            }
        };
        let seen: HashSet<String> = state.seen.iter().cloned().collect();
        let mut published = 0;
        for index in state.indexes.clone() {
            let url = index.url();
            let Some((body, headers)) = self.fetch(&url, state.validators(&url)).await? else {
                continue;
            };
            let mut listed = match &index {
                Index::Rolie(_) => rolie_entries(&url, &body)?,
                Index::Directory(dir) => changes(dir, &body),
            };
            // Oldest first, so the grid sees them in the order they were made.
            listed.sort_by(|a, b| a.updated.cmp(&b.updated));
            for adv in listed {
                let key = format!("{}|{}", adv.url, adv.updated);
                if seen.contains(&key) {
                    continue;
                }
                published += self.one(&adv).await?;
                state.remember(key);
                self.save(&state)?;
            }
            // Only now: a round that failed half-way reads the index again.
            keep_validators(&mut state, &url, &headers);
            self.save(&state)?;
        }
        self.save(&state)?;
        Ok(published)
    }

    /// Fetches, checks and publishes one advisory: 1 if published, 0 if
    /// refused for good (counted and logged); an error ends the round.
    async fn one(&self, adv: &Listed) -> Result<usize, PollError> {
        let shown = redact_url(&adv.url);
        let skip = |why: String| {
            self.stats.skipped.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(source = %self.shown, advisory = %shown, reason = %why, "CSAF advisory skipped");
            Ok(0)
        };
        let doc = match self.fetch(&adv.url, Validators::default()).await {
            Ok(Some((doc, _))) => doc,
            Ok(None) => return Ok(0),
            Err(e) if e.skips_entry() => return skip(e.to_string()),
            Err(e) => return Err(e),
        };
        if let Err(why) = self.check_hash(adv, doc.as_bytes()).await? {
            self.stats.invalid.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(source = %self.shown, advisory = %shown, reason = %why, "CSAF advisory refused");
            return Ok(0);
        }
        match self
            .publisher
            .publish(&self.source.topic, PublishBody::Json(doc))
            .await
        {
            Ok(_) => {
                self.stats.published.fetch_add(1, Ordering::Relaxed);
                Ok(1)
            }
            Err(PublishError::Invalid(problems)) => {
                self.stats.invalid.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(source = %self.shown, advisory = %shown, problems = %problems.join("; "), "invalid CSAF advisory");
                Ok(0)
            }
            Err(e) => Err(PollError::Grid(self.source.topic.clone(), e)),
        }
    }

    /// `Ok(Ok(()))` when a sidecar was found and matches; `Ok(Err(why))`
    /// when none could be read or one does not match.
    async fn check_hash(&self, adv: &Listed, doc: &[u8]) -> Result<Result<(), String>, PollError> {
        for url in &adv.hashes {
            let text = match self.fetch(url, Validators::default()).await {
                Ok(Some((t, _))) => t,
                Ok(None) => continue,
                Err(e) if e.skips_entry() => continue,
                Err(e) => return Err(e),
            };
            let sha512 = url.ends_with(".sha512");
            let expected = text
                .split_whitespace()
                .next()
                .unwrap_or("")
                .to_ascii_lowercase();
            let actual = match sha512 {
                true => hex(&Sha512::digest(doc)),
                false => hex(&Sha256::digest(doc)),
            };
            return Ok(match expected == actual {
                true => Ok(()),
                false => Err(format!(
                    "{} does not match the document ({} of the document is {actual})",
                    redact_url(url),
                    if sha512 { "SHA-512" } else { "SHA-256" }
                )),
            });
        }
        Ok(Err(
            "no SHA-256 or SHA-512 sidecar could be read (CSAF 2.0 §7.1.18)".into(),
        ))
    }

    fn save(&self, state: &State) -> Result<(), PollError> {
        state
            .save(&self.state_path)
            .map_err(|e| PollError::State(self.state_path.display().to_string(), e))
    }
}

fn keep_validators(state: &mut State, url: &str, headers: &reqwest::header::HeaderMap) {
    let h = |n: &str| {
        headers
            .get(n)
            .and_then(|v| v.to_str().ok())
            .map(String::from)
    };
    state
        .validators
        .insert(url.to_owned(), (h("etag"), h("last-modified")));
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn feed_error(url: &str, what: impl std::fmt::Display) -> PollError {
    PollError::Feed(redact_url(url), what.to_string())
}

/// `href` resolved against `base`.
fn join(base: &str, href: &str) -> Result<String, PollError> {
    reqwest::Url::parse(base)
        .and_then(|b| b.join(href))
        .map(|u| u.to_string())
        .map_err(|e| feed_error(base, format!("bad link {:?}: {e}", redact_url(href))))
}

/// The ROLIE feeds and directories a provider-metadata.json names.
fn indexes(url: &str, body: &str) -> Result<Vec<Index>, PollError> {
    let (_, meta) = read_json(body.as_bytes(), MAX_BODY).map_err(|e| feed_error(url, e))?;
    Schema::ProviderMetadata
        .validate(&meta)
        .map_err(|e| feed_error(url, e))?;
    let mut out = Vec::new();
    for d in meta
        .get("distributions")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let feeds = d.pointer("/rolie/feeds").and_then(Value::as_array);
        for f in feeds.into_iter().flatten() {
            if let Some(u) = f.get("url").and_then(Value::as_str) {
                out.push(Index::Rolie(join(url, u)?));
            }
        }
        if let Some(dir) = d.get("directory_url").and_then(Value::as_str) {
            out.push(Index::Directory(join(url, dir)?));
        }
    }
    if out.is_empty() {
        return Err(feed_error(
            url,
            "the provider metadata names no ROLIE feed and no directory",
        ));
    }
    Ok(out)
}

/// The advisories of a CSAF ROLIE feed (JSON): each entry's `content.src`,
/// `updated` and `hash` links.
fn rolie_entries(url: &str, body: &str) -> Result<Vec<Listed>, PollError> {
    let (_, feed) = read_json(body.as_bytes(), MAX_BODY).map_err(|e| feed_error(url, e))?;
    Schema::RolieFeed
        .validate(&feed)
        .map_err(|e| feed_error(url, e))?;
    let mut out = Vec::new();
    for e in feed
        .pointer("/feed/entry")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let Some(src) = e.pointer("/content/src").and_then(Value::as_str) else {
            continue;
        };
        let mut hashes: Vec<String> = Vec::new();
        for l in e
            .get("link")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if l.get("rel").and_then(Value::as_str) == Some("hash") {
                if let Some(h) = l.get("href").and_then(Value::as_str) {
                    hashes.push(join(url, h)?);
                }
            }
        }
        hashes.sort_by_key(|h| !h.ends_with(".sha512"));
        out.push(Listed {
            url: join(url, src)?,
            updated: e
                .get("updated")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_owned(),
            hashes,
        });
    }
    Ok(out)
}

/// The advisories a directory's `changes.csv` lists: `"path","time"` lines;
/// sidecars next to each (`.sha512`, then `.sha256`).
fn changes(dir: &str, body: &str) -> Vec<Listed> {
    let base = format!("{}/", dir.trim_end_matches('/'));
    body.lines()
        .filter_map(|line| {
            let (path, time) = line.split_once(',')?;
            let unquote = |s: &str| s.trim().trim_matches('"').to_owned();
            let (path, time) = (unquote(path), unquote(time));
            // Paths are relative to the directory: nothing that climbs out.
            if path.is_empty()
                || path.starts_with('/')
                || path.contains("..")
                || path.contains("://")
            {
                return None;
            }
            let url = format!("{base}{path}");
            Some(Listed {
                hashes: vec![format!("{url}.sha512"), format!("{url}.sha256")],
                url,
                updated: time,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_and_feed() {
        let meta = include_str!("../../../tests/fixtures/csaf/example-01-provider-metadata.json");
        let url = "https://www.example.com/.well-known/csaf/provider-metadata.json";
        assert_eq!(
            indexes(url, meta).unwrap(),
            [Index::Rolie(
                "https://www.example.com/.well-known/csaf/feed-tlp-white.json".into()
            )]
        );
        assert!(indexes(url, "{\"canonical_url\": 1}").is_err());
        let feed = include_str!("../../../tests/fixtures/csaf/example-01-feed-tlp-white.json");
        let listed = rolie_entries("https://psirt.domain.tld/f.json", feed).unwrap();
        assert_eq!(listed.len(), 1);
        assert!(listed[0].url.ends_with("/2020/2020-ESA-001.json"));
        assert_eq!(listed[0].hashes.len(), 1);
        let c = changes(
            "https://p.example/white",
            "\"2024/a-1.json\",\"2024-01-02T00:00:00Z\"\n\"../x.json\",\"t\"\n",
        );
        assert_eq!(c.len(), 1);
        assert_eq!(c[0].url, "https://p.example/white/2024/a-1.json");
        assert_eq!(
            c[0].hashes[0],
            "https://p.example/white/2024/a-1.json.sha512"
        );
    }
}
