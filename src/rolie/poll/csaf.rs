//! The CSAF provider poller (`--poll-csaf URL=TOPIC`): a provider's
//! `provider-metadata.json` names its ROLIE feeds (JSON, CSAF 2.0 §7.1.20)
//! or directories with a `changes.csv` (§7.1.16–§7.1.17); new and changed
//! advisories are fetched, checked against their SHA-256/SHA-512 sidecar
//! (§7.1.18: at least one must be there and match), when OpenPGP keys are
//! configured for the source also against their detached signature
//! (§7.1.19, `poll/openpgp.rs`), and published to the topic through the
//! [`Publisher`] (which validates them as CSAF). Keys are files, or pinned
//! fingerprints of keys the provider metadata lists (§7.1.20), fetched.
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
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use pgp::composed::SignedPublicKey;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256, Sha512};

use super::client::{ClientError, PollClient};
use super::csaf_index::{changes, feed_error, metadata, rolie_entries, Index, Listed, MetaKey};
use super::error::PollError;
use super::fetch::{get, Validators, MAX_BODY};

/// What the CSAF poller accepts for metadata, feeds, advisories and sidecars.
const ACCEPT_CSAF: &str = "application/json, text/csv;q=0.9, text/plain;q=0.9";
/// What it accepts for signatures and keys (RFC 3156 §6 names the signature type).
const ACCEPT_OPENPGP: &str = "application/pgp-signature, application/pgp-keys, text/plain;q=0.9";
use super::openpgp::{normalize_fingerprint, CsafKey, CsafKeySpec, KeyError, Keyring, MAX_OPENPGP};
use super::policy::FetchPolicy;
use super::redact::redact_url;
use super::{PollSource, PollStats};
use crate::rolie::{PublishBody, PublishError, Publisher};

/// Advisories remembered per source (oldest forgotten first).
const SEEN_LIMIT: usize = 50_000;

/// What is remembered between rounds and restarts.
#[derive(Debug, Default, Serialize, Deserialize)]
struct State {
    /// ETag and Last-Modified per URL (metadata, feeds, changes.csv).
    validators: BTreeMap<String, (Option<String>, Option<String>)>,
    /// The indexes the metadata named when it was last read.
    indexes: Vec<Index>,
    /// The OpenPGP keys it listed.
    #[serde(default)]
    keys: Vec<MetaKey>,
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
                accept: None,
            })
    }
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
    /// OpenPGP keys configured for this source, if any.
    trust: Option<Trust>,
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
            trust: None,
            stats: Arc::new(PollStats::default()),
        })
    }

    /// Requires a good OpenPGP signature on every advisory, made by one of
    /// the `keys` given for this source (others are ignored; none: no
    /// change). Key files are read now.
    pub fn with_openpgp(mut self, keys: &[CsafKey]) -> Result<CsafPoller, KeyError> {
        let mut trust = Trust::default();
        let mut any = false;
        for k in keys.iter().filter(|k| k.source == self.source.url) {
            any = true;
            match &k.key {
                CsafKeySpec::File(path) => trust.files.extend(&Keyring::load(path)?),
                CsafKeySpec::Fingerprint(f) => trust.pins.push(normalize_fingerprint(f)),
            }
        }
        if any {
            self.trust = Some(trust);
        }
        Ok(self)
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
        // Provider metadata, ROLIE feeds in CSAF's JSON form and advisories
        // are JSON; hash sidecars and changes.csv are text.
        let v = Validators {
            accept: Some(ACCEPT_CSAF),
            ..v
        };
        get(&self.client, &self.policy, url, v, MAX_BODY).await
    }

    async fn round(&self) -> Result<usize, PollError> {
        let mut state = State::load(&self.state_path);
        let meta_url = self.source.url.clone();
        // Pinned keys need the metadata's key list: a state file written
        // before it was kept (or while no key was listed) must not let a
        // 304 hide it.
        let need_keys =
            self.trust.as_ref().is_some_and(|t| !t.pins.is_empty()) && state.keys.is_empty();
        let v = match need_keys {
            true => Validators::default(),
            false => state.validators(&meta_url),
        };
        match self.fetch(&meta_url, v).await? {
            None => self.stats.not_modified.fetch_add(1, Ordering::Relaxed),
            Some((body, headers)) => {
                let meta = metadata(&meta_url, &body)?;
                (state.indexes, state.keys) = (meta.indexes, meta.keys);
                keep_validators(&mut state, &meta_url, &headers);
                0
            }
        };
        let ring = self.keyring(&mut state).await?;
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
                published += self.one(&adv, ring.as_ref()).await?;
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
    async fn one(&self, adv: &Listed, ring: Option<&Keyring>) -> Result<usize, PollError> {
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
        if let Some(ring) = ring {
            match self.check_signature(ring, adv, doc.as_bytes()).await? {
                Ok(signer) => {
                    tracing::debug!(source = %self.shown, advisory = %shown, %signer, "OpenPGP signature good")
                }
                Err(why) => {
                    self.stats.invalid.fetch_add(1, Ordering::Relaxed);
                    self.stats.bad_signature.fetch_add(1, Ordering::Relaxed);
                    tracing::warn!(source = %self.shown, advisory = %shown, reason = %why, "CSAF advisory refused: OpenPGP signature");
                    return Ok(0);
                }
            }
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

    /// `Ok(Ok(signer))` when the advisory's `.asc` holds a good signature by
    /// a trusted key; `Ok(Err(why))` when it could not be read or does not
    /// verify.
    async fn check_signature(
        &self,
        ring: &Keyring,
        adv: &Listed,
        doc: &[u8],
    ) -> Result<Result<String, String>, PollError> {
        let shown = redact_url(&adv.signature);
        let asc = match get(
            &self.client,
            &self.policy,
            &adv.signature,
            Validators {
                accept: Some(ACCEPT_OPENPGP),
                ..Validators::default()
            },
            MAX_OPENPGP,
        )
        .await
        {
            Ok(Some((asc, _))) => asc,
            Ok(None) => return Ok(Err(format!("{shown}: no signature"))),
            Err(e) if e.skips_entry() => {
                return Ok(Err(format!(
                    "no OpenPGP signature could be read (CSAF 2.0 §7.1.19): {e}"
                )))
            }
            Err(e) => return Err(e),
        };
        Ok(ring
            .verify(doc, asc.as_bytes(), SystemTime::now())
            .map_err(|why| format!("{shown}: {why}")))
    }

    /// The keys to check signatures with this round: the configured files
    /// and, for each pinned fingerprint, the key the metadata lists under it
    /// (fetched again when changed; kept between rounds). `None` when the
    /// source has no keys; an error when a pinned key cannot be had, so
    /// that nothing is handled until it can.
    async fn keyring(&self, state: &mut State) -> Result<Option<Keyring>, PollError> {
        let Some(trust) = &self.trust else {
            return Ok(None);
        };
        let mut ring = trust.files.clone();
        for pin in &trust.pins {
            let cached = trust.fetched.lock().ok().and_then(|m| m.get(pin).cloned());
            // Entries under that fingerprint, and those that name none; the
            // one the key came from last time first.
            let mut candidates: Vec<&MetaKey> = state
                .keys
                .iter()
                .filter(|k| {
                    k.fingerprint
                        .as_deref()
                        .is_none_or(|f| normalize_fingerprint(f) == *pin)
                })
                .collect();
            candidates.sort_by_key(|k| cached.as_ref().is_none_or(|(u, _)| *u != k.url));
            let urls: Vec<String> = candidates.iter().map(|k| k.url.clone()).collect();
            let mut found = None;
            let mut why = Vec::new();
            for url in urls {
                let from_cache = cached.as_ref().filter(|(u, _)| *u == url);
                let v = match from_cache {
                    Some(_) => state.validators(&url),
                    None => Validators::default(),
                };
                let v = Validators {
                    accept: Some(ACCEPT_OPENPGP),
                    ..v
                };
                let got = get(&self.client, &self.policy, &url, v, MAX_OPENPGP).await?;
                let Some((body, headers)) = got else {
                    // 304 for the URL the cached key came from.
                    found = from_cache.cloned();
                    break;
                };
                match Keyring::pinned(&redact_url(&url), body.as_bytes(), pin) {
                    Ok(cert) => {
                        keep_validators(state, &url, &headers);
                        found = Some((url, cert));
                        break;
                    }
                    Err(e) => why.push(e.to_string()),
                }
            }
            let Some((url, cert)) = found else {
                return Err(feed_error(
                    &self.source.url,
                    format!(
                        "no usable OpenPGP key with the pinned fingerprint {pin} in public_openpgp_keys{}{}",
                        if why.is_empty() { "" } else { ": " },
                        why.join("; ")
                    ),
                ));
            };
            if let Ok(mut m) = trust.fetched.lock() {
                m.insert(pin.clone(), (url, cert.clone()));
            }
            ring.push(cert);
        }
        Ok(Some(ring))
    }

    fn save(&self, state: &State) -> Result<(), PollError> {
        state
            .save(&self.state_path)
            .map_err(|e| PollError::State(self.state_path.display().to_string(), e))
    }
}

/// The OpenPGP keys of one source.
#[derive(Default)]
struct Trust {
    /// From key files.
    files: Keyring,
    /// Pinned fingerprints (upper-case hex).
    pins: Vec<String>,
    /// The key fetched for each pin, and its URL.
    fetched: Mutex<BTreeMap<String, (String, SignedPublicKey)>>,
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
