//! Requests waiting for the operator's decision (the Result round trip) and callback tokens:
//! a TraceRequest or InvestigationRequest is answered Acknowledgement Pending at once with a
//! `RID-Callback-Token`; the request is kept here, one JSON file per token, until
//! `gridlink rid respond` sends the Result (or a Denied Acknowledgement) back with that token.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use serde::{Deserialize, Serialize};

use super::client::{RidClient, SendError};

/// A request waiting for its Result.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct PendingRequest {
    /// The callback token it was given.
    pub token: String,
    /// The peer (its configured DNS-ID).
    pub peer: String,
    /// Where the answer goes: the peer's configured URL, or `https://NAME:PORT/` connected to at
    /// `connect_to`.
    pub url: String,
    /// The address the request came from.
    pub remote: String,
    /// The address the callback connects to, the URL's host name still checked against the
    /// certificate (RFC 6546 §3: the request's source address); `None` when the peer's URL is
    /// configured and is used as it is.
    #[serde(default)]
    pub connect_to: Option<String>,
    /// TraceRequest or InvestigationRequest.
    pub msg_type: String,
    /// Its IncidentID (name, text).
    pub incident_name: String,
    /// Its IncidentID text.
    pub incident_id: String,
    /// The grid item its IODEF document was published as.
    pub item_id: Option<String>,
    /// When it arrived (RFC 3339).
    pub received_at: String,
    /// The configured peer that originated the request, when another than `peer` (proven by the
    /// request's detached signature): a Denied Acknowledgement must reach it too (RFC 6545 §6.2).
    #[serde(default)]
    pub originator: Option<String>,
}

/// The directory of pending requests.
#[derive(Debug, Clone)]
pub struct Pending {
    dir: PathBuf,
}

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// A token unique for ever among this responder's callbacks: time, process, a counter, randomness;
/// printable ASCII without spaces, well under 255 characters (RFC 6546 §3).
pub fn new_token() -> String {
    let now = chrono::Utc::now().timestamp_nanos_opt().unwrap_or_default();
    format!(
        "{now:x}-{:x}-{:x}-{:08x}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed),
        rand::random::<u32>()
    )
}

impl PendingRequest {
    /// The client the answer is sent with: `base`, connecting to [`connect_to`](Self::connect_to)
    /// (on the URL's port) for the URL's host name when set.
    pub fn callback_client(&self, base: &RidClient) -> Result<RidClient, SendError> {
        let Some(ip) = self.connect_to.as_deref() else {
            return Ok(base.clone());
        };
        let bad = |why: String| SendError::Transport {
            url: self.url.clone(),
            message: why,
        };
        let ip: std::net::IpAddr = ip
            .parse()
            .map_err(|e| bad(format!("source address {ip:?}: {e}")))?;
        let url = reqwest::Url::parse(&self.url).map_err(|e| bad(e.to_string()))?;
        let (Some(host), Some(port)) = (url.host_str(), url.port_or_known_default()) else {
            return Err(bad("no host or port".into()));
        };
        base.via(host, std::net::SocketAddr::new(ip, port))
    }
}

impl Pending {
    /// The directory (created owner-only when missing).
    pub fn open(dir: &Path) -> std::io::Result<Pending> {
        crate::store::files::create_private_dir(dir)?;
        Ok(Pending {
            dir: dir.to_path_buf(),
        })
    }

    fn path(&self, token: &str) -> Option<PathBuf> {
        // Tokens are ours, but `respond` takes one from the command line: no path tricks.
        let ok = !token.is_empty()
            && token.len() <= 255
            && token
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-');
        ok.then(|| self.dir.join(format!("{token}.json")))
    }

    /// Records a request (written and synced before the peer gets its Pending).
    pub fn put(&self, r: &PendingRequest) -> std::io::Result<()> {
        let path = self
            .path(&r.token)
            .ok_or_else(|| std::io::Error::other("bad token"))?;
        let tmp = path.with_extension("tmp");
        let text = serde_json::to_vec_pretty(r).map_err(std::io::Error::other)?;
        {
            use std::io::Write;
            let mut f = std::fs::File::create(&tmp)?;
            f.write_all(&text)?;
            f.sync_all()?;
        }
        std::fs::rename(tmp, path)
    }

    /// The request with `token`.
    pub fn get(&self, token: &str) -> Option<PendingRequest> {
        let text = std::fs::read(self.path(token)?).ok()?;
        serde_json::from_slice(&text).ok()
    }

    /// Every waiting request, oldest first.
    pub fn list(&self) -> Vec<PendingRequest> {
        let mut v: Vec<PendingRequest> = std::fs::read_dir(&self.dir)
            .into_iter()
            .flatten()
            .flatten()
            .filter(|e| e.path().extension().is_some_and(|x| x == "json"))
            .filter_map(|e| serde_json::from_slice(&std::fs::read(e.path()).ok()?).ok())
            .collect();
        v.sort_by(|a, b| a.received_at.cmp(&b.received_at));
        v
    }

    /// Forgets a request once answered.
    pub fn remove(&self, token: &str) -> std::io::Result<()> {
        match self.path(token) {
            Some(p) => std::fs::remove_file(p),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Checklist 39: callback tokens are 1–255 printable ASCII characters without spaces, never twice
    /// the same; a token from the command line cannot name a file outside the directory.
    #[test]
    fn checklist_39_tokens_unique_and_printable() {
        let mut seen = std::collections::HashSet::new();
        for _ in 0..10_000 {
            let t = new_token();
            assert!(
                (1..=255).contains(&t.len()) && t.bytes().all(|b| b.is_ascii_graphic()),
                "{t}"
            );
            assert!(seen.insert(t));
        }
        let dir = tempfile::tempdir().unwrap();
        let p = Pending::open(dir.path()).unwrap();
        assert!(p.get("../../etc/passwd").is_none());
        let r = PendingRequest {
            token: new_token(),
            peer: "rid-b.example".into(),
            url: "https://rid-b.example:4590/".into(),
            remote: "192.0.2.7".into(),
            connect_to: Some("192.0.2.7".into()),
            msg_type: "InvestigationRequest".into(),
            incident_name: "csirt.example.com".into(),
            incident_id: "492382".into(),
            item_id: None,
            received_at: chrono::Utc::now().to_rfc3339(),
            originator: Some("rid-c.example".into()),
        };
        p.put(&r).unwrap();
        assert_eq!(p.get(&r.token), Some(r.clone()));
        assert_eq!(p.list(), vec![r.clone()]);
        p.remove(&r.token).unwrap();
        assert!(p.list().is_empty());
    }
}
