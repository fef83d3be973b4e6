//! Where a CSAF provider lists its advisories and keys: the parts of
//! `provider-metadata.json` the poller follows (ROLIE feeds, directories,
//! `public_openpgp_keys`), the entries of a ROLIE feed in CSAF's JSON form
//! and the lines of a directory's `changes.csv`, each advisory with the
//! URLs of its hash sidecars and OpenPGP signature.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::error::PollError;
use super::fetch::MAX_BODY;
use super::redact::redact_url;
use crate::vuln::{read_json, Schema};

/// Where a provider lists its advisories.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(super) enum Index {
    /// A ROLIE feed in CSAF's JSON form.
    Rolie(String),
    /// A directory whose `changes.csv` lists path and time of each advisory.
    Directory(String),
}

impl Index {
    pub(super) fn url(&self) -> String {
        match self {
            Index::Rolie(u) => u.clone(),
            Index::Directory(d) => format!("{}/changes.csv", d.trim_end_matches('/')),
        }
    }
}

/// One advisory an index lists.
#[derive(Debug, Clone)]
pub(super) struct Listed {
    pub(super) url: String,
    pub(super) updated: String,
    /// Sidecar URLs, SHA-512 first.
    pub(super) hashes: Vec<String>,
    /// The detached OpenPGP signature (§7.1.19: `URL.asc`, or the ROLIE
    /// entry's `signature` link).
    pub(super) signature: String,
}

/// A key the provider metadata names (`public_openpgp_keys`, §7.1.20).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct MetaKey {
    /// As the metadata says it (not trusted: the fetched key's own
    /// fingerprint is compared with the configured pin).
    pub(super) fingerprint: Option<String>,
    /// Where the key is.
    pub(super) url: String,
}

/// What the poller takes from a provider-metadata.json.
#[derive(Debug, Default)]
pub(super) struct Metadata {
    pub(super) indexes: Vec<Index>,
    pub(super) keys: Vec<MetaKey>,
}

pub(super) fn feed_error(url: &str, what: impl std::fmt::Display) -> PollError {
    PollError::Feed(redact_url(url), what.to_string())
}

/// `href` resolved against `base`.
fn join(base: &str, href: &str) -> Result<String, PollError> {
    reqwest::Url::parse(base)
        .and_then(|b| b.join(href))
        .map(|u| u.to_string())
        .map_err(|e| feed_error(base, format!("bad link {:?}: {e}", redact_url(href))))
}

/// The ROLIE feeds, directories and OpenPGP keys a provider-metadata.json
/// names.
pub(super) fn metadata(url: &str, body: &str) -> Result<Metadata, PollError> {
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
    let mut keys = Vec::new();
    for k in meta
        .get("public_openpgp_keys")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if let Some(u) = k.get("url").and_then(Value::as_str) {
            keys.push(MetaKey {
                fingerprint: k
                    .get("fingerprint")
                    .and_then(Value::as_str)
                    .map(String::from),
                url: join(url, u)?,
            });
        }
    }
    Ok(Metadata { indexes: out, keys })
}

/// The advisories of a CSAF ROLIE feed (JSON): each entry's `content.src`,
/// `updated`, `hash` and `signature` links.
pub(super) fn rolie_entries(url: &str, body: &str) -> Result<Vec<Listed>, PollError> {
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
        let mut signature = None;
        for l in e
            .get("link")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let href = l.get("href").and_then(Value::as_str);
            match (l.get("rel").and_then(Value::as_str), href) {
                (Some("hash"), Some(h)) => hashes.push(join(url, h)?),
                (Some("signature"), Some(h)) => signature = Some(join(url, h)?),
                _ => {}
            }
        }
        hashes.sort_by_key(|h| !h.ends_with(".sha512"));
        let src = join(url, src)?;
        out.push(Listed {
            signature: signature.unwrap_or_else(|| format!("{src}.asc")),
            url: src,
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
/// sidecars next to each (`.sha512`, then `.sha256`, and `.asc`).
pub(super) fn changes(dir: &str, body: &str) -> Vec<Listed> {
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
                signature: format!("{url}.asc"),
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
        let m = metadata(url, meta).unwrap();
        assert_eq!(
            m.indexes,
            [Index::Rolie(
                "https://www.example.com/.well-known/csaf/feed-tlp-white.json".into()
            )]
        );
        assert_eq!(
            m.keys,
            [MetaKey {
                fingerprint: Some("8F5F267907B2C4559DB360DB2294BA7D2B2298B1".into()),
                url: "https://keys.example.net/vks/v1/by-fingerprint/8F5F267907B2C4559DB360DB2294BA7D2B2298B1".into(),
            }]
        );
        assert!(metadata(url, "{\"canonical_url\": 1}").is_err());
        let feed = include_str!("../../../tests/fixtures/csaf/example-01-feed-tlp-white.json");
        let listed = rolie_entries("https://psirt.domain.tld/f.json", feed).unwrap();
        assert_eq!(listed.len(), 1);
        assert!(listed[0].url.ends_with("/2020/2020-ESA-001.json"));
        assert_eq!(listed[0].hashes.len(), 1);
        assert!(listed[0].signature.ends_with("/2020/2020-ESA-001.json.asc"));
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
        assert_eq!(c[0].signature, "https://p.example/white/2024/a-1.json.asc");
    }
}
