//! Who may read and write: bearer tokens (write and read-only, each for
//! every topic or for some), client certificates, and the start-up warning
//! about topics that are served more openly than the grid shares them.
//!
//! * A **write token** (`write_token_file`) may POST and DELETE and read.
//! * A **read token** (`read_token_file`) may only read; setting the file
//!   makes reads need a token (as `read_requires_token` does).
//! * A token line is `TOKEN` (every topic) or `TOKEN topic1,topic2` (those
//!   topics only). A scoped token reads only the feeds, archives and
//!   entries of its topics, sees only them in the service and category
//!   documents, and may not read `/metrics` (which names every topic).
//! * With `client_ca`, every client needs a certificate from it before any
//!   request is read (the TLS handshake checks it; [`client_verifier`]).
//!
//! Presented tokens are compared with every configured one in time that
//! does not depend on where they differ, and are never logged. A wrong one
//! is marked on its 401 (`problem::BadCredentials`) for `throttle.rs`.

use std::sync::Arc;

use axum::http::{header, HeaderMap, StatusCode};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::CertificateDer;
use tokio_rustls::rustls::crypto::CryptoProvider;
use tokio_rustls::rustls::server::danger::ClientCertVerifier;
use tokio_rustls::rustls::server::WebPkiClientVerifier;
use tokio_rustls::rustls::RootCertStore;

use super::config::RolieConfig;
use super::error::{read_file, ServeError};
use super::problem::Problem;
use super::throttle::Throttle;

/// One configured bearer token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Token {
    secret: String,
    /// From the write token file: may POST and DELETE.
    write: bool,
    /// The topics it covers; `None`: every topic.
    topics: Option<Vec<String>>,
}

impl Token {
    fn covers(&self, topic: &str) -> bool {
        self.topics
            .as_ref()
            .is_none_or(|t| t.iter().any(|t| t == topic))
    }
}

/// What a reader may see.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Access<'a> {
    /// Every topic (open reads, or an unscoped token).
    Everything,
    /// Only these topics (a scoped token).
    Topics(&'a [String]),
}

impl Access<'_> {
    /// Whether `topic` may be read.
    pub(crate) fn covers(&self, topic: &str) -> bool {
        match self {
            Access::Everything => true,
            Access::Topics(t) => t.iter().any(|t| t == topic),
        }
    }
}

/// The server's tokens and its failure throttle.
#[derive(Debug, Default)]
pub(crate) struct Auth {
    /// Write tokens first, then read tokens (the first match decides).
    tokens: Vec<Token>,
    read_required: bool,
    /// Failed attempts by client address.
    pub(crate) throttle: Throttle,
}

impl Auth {
    /// The tokens of `config`'s token files.
    pub(crate) fn load(config: &RolieConfig) -> Result<Auth, ServeError> {
        let mut tokens = Vec::new();
        for (file, write) in [
            (&config.write_token_file, true),
            (&config.read_token_file, false),
        ] {
            let Some(path) = file else { continue };
            let found = parse_tokens(&read_file(path)?, write)
                .map_err(|e| ServeError::Config(format!("{}: {e}", path.display())))?;
            if found.is_empty() {
                let what = if write { "writes" } else { "token reads" };
                tracing::warn!(path = %path.display(), "token file has no tokens: {what} are refused");
            }
            tokens.extend(found);
        }
        Ok(Auth::new(config.reads_need_token(), tokens))
    }

    /// An `Auth` over `tokens` (write tokens first).
    pub(crate) fn new(read_required: bool, tokens: Vec<Token>) -> Auth {
        Auth {
            tokens,
            read_required,
            throttle: Throttle::default(),
        }
    }

    /// Whether reads need a token.
    pub(crate) fn read_required(&self) -> bool {
        self.read_required
    }

    /// Whether any token may write (else collections accept nothing).
    pub(crate) fn can_write(&self) -> bool {
        self.tokens.iter().any(|t| t.write)
    }

    /// The configured token the request presents: 401 without one, or
    /// with one that matches none (marked for the throttle).
    fn identify(&self, headers: &HeaderMap) -> Result<&Token, Problem> {
        let Some(presented) = bearer(headers) else {
            return Err(Problem::new(
                StatusCode::UNAUTHORIZED,
                "bearer token required",
            ));
        };
        // Compare with every token, so timing does not reveal which one
        // nearly matched; the first match (write tokens first) decides.
        let found = self.tokens.iter().fold(None, |found, t| {
            let hit = same(t.secret.as_bytes(), presented.as_bytes());
            found.or(hit.then_some(t))
        });
        found.ok_or_else(Problem::bad_token)
    }

    /// May this request read `topic` (`None`: a document about every
    /// topic, filtered by the returned [`Access`])?
    pub(crate) fn read(
        &self,
        headers: &HeaderMap,
        topic: Option<&str>,
    ) -> Result<Access<'_>, Problem> {
        if !self.read_required {
            return Ok(Access::Everything);
        }
        if self.tokens.is_empty() {
            return Err(Problem::new(StatusCode::FORBIDDEN, "no tokens configured"));
        }
        let token = self.identify(headers)?;
        if let Some(topic) = topic {
            if !token.covers(topic) {
                return Err(out_of_scope());
            }
        }
        Ok(match &token.topics {
            None => Access::Everything,
            Some(t) => Access::Topics(t),
        })
    }

    /// May this request read what concerns every topic (`/metrics`)?
    pub(crate) fn read_all(&self, headers: &HeaderMap) -> Result<(), Problem> {
        match self.read(headers, None)? {
            Access::Everything => Ok(()),
            Access::Topics(_) => Err(Problem::new(
                StatusCode::FORBIDDEN,
                "this token covers only some topics",
            )),
        }
    }

    /// May this request write to `topic`?
    pub(crate) fn write(&self, headers: &HeaderMap, topic: &str) -> Result<(), Problem> {
        if !self.can_write() {
            return Err(Problem::new(
                StatusCode::FORBIDDEN,
                "no write tokens configured",
            ));
        }
        let token = self.identify(headers)?;
        if !token.write {
            return Err(Problem::new(
                StatusCode::FORBIDDEN,
                "this token may only read",
            ));
        }
        if !token.covers(topic) {
            return Err(out_of_scope());
        }
        Ok(())
    }
}

fn out_of_scope() -> Problem {
    Problem::new(StatusCode::FORBIDDEN, "this token does not cover the topic")
}

/// The credentials of an `Authorization: Bearer …` header. The scheme is
/// case-insensitive (RFC 9110 §11.1), followed by one or more spaces.
fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, credentials) = value.trim_start().split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| credentials.trim())
}

/// Reads a token file: one token a line, optionally followed by the topics
/// it covers (comma- or space-separated); blank lines and `#` comments are
/// skipped.
pub(crate) fn parse_tokens(text: &str, write: bool) -> Result<Vec<Token>, String> {
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let mut fields = line.split_whitespace();
        let secret = fields.next().unwrap_or_default().to_owned();
        let topics: Vec<String> = fields
            .flat_map(|f| f.split(','))
            .filter(|t| !t.is_empty())
            .map(str::to_owned)
            .collect();
        if secret.contains(',') {
            // Not a token68 character (RFC 9110 §11.2): most likely a
            // scope written without the separating space.
            return Err(format!(
                "line {}: a token cannot contain ',' (write TOKEN topic1,topic2)",
                n + 1
            ));
        }
        out.push(Token {
            secret,
            write,
            topics: (!topics.is_empty()).then_some(topics),
        });
    }
    Ok(out)
}

/// Compares in time independent of where the strings differ.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Whether anyone who can reach the server can read: no token needed and
/// no client certificate required.
fn reads_open(config: &RolieConfig) -> bool {
    !config.reads_need_token() && config.client_ca.is_none()
}

/// Warns (once per call) when `topic`, whose pubsub access model on the
/// grid is `access_model` (`open`, `whitelist`, `authorize`, `presence`,
/// `roster`), is served by a repository anyone can read: the grid limits
/// who may subscribe, the repository would not. Returns whether it warned.
/// The bridge calls it for each served topic once it has learnt the
/// topic's access model.
pub fn warn_open_reads(config: &RolieConfig, topic: &str, access_model: &str) -> bool {
    if access_model.eq_ignore_ascii_case("open") || !reads_open(config) {
        return false;
    }
    tracing::warn!(
        %topic,
        access_model,
        "topic is not open on the grid, but the ROLIE repository lets anyone read it: set read_token_file (or read_requires_token) or client_ca"
    );
    true
}

/// The verifier of client certificates when `client_ca` is set (RFC 8322
/// §5.3: every client must present a certificate issued by one of its CAs).
pub(crate) fn client_verifier(
    config: &RolieConfig,
    provider: Arc<CryptoProvider>,
) -> Result<Option<Arc<dyn ClientCertVerifier>>, ServeError> {
    let Some(ca) = &config.client_ca else {
        return Ok(None);
    };
    let tls = |e: &dyn std::fmt::Display| ServeError::Tls(e.to_string());
    let mut roots = RootCertStore::empty();
    for c in CertificateDer::pem_slice_iter(read_file(ca)?.as_bytes()) {
        roots.add(c.map_err(|e| tls(&e))?).map_err(|e| tls(&e))?;
    }
    let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
        .build()
        .map_err(|e| tls(&e))?;
    Ok(Some(verifier))
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn with(auth: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::AUTHORIZATION, HeaderValue::from_str(auth).unwrap());
        h
    }

    #[test]
    fn token_files_with_scopes() {
        let t = parse_tokens("# c\n\n abc \ndef a,b\nghi  c d,e\n", true).unwrap();
        assert_eq!(t[0].secret, "abc");
        assert_eq!(t[0].topics, None);
        assert_eq!(t[1].topics, Some(vec!["a".into(), "b".into()]));
        assert_eq!(t[2].topics, Some(vec!["c".into(), "d".into(), "e".into()]));
        assert!(parse_tokens("abc,def\n", false).is_err());
        assert!(same(b"abc", b"abc") && !same(b"abc", b"abd") && !same(b"ab", b"abc"));
    }

    #[test]
    fn bearer_scheme_is_case_insensitive() {
        for h in [
            "Bearer x",
            "bearer x",
            "BEARER x",
            "BeArEr   x ",
            " Bearer x",
        ] {
            assert_eq!(bearer(&with(h)), Some("x"), "{h:?}");
        }
        for h in ["Basic x", "Bearerx", "Bearer"] {
            assert_eq!(bearer(&with(h)), None, "{h:?}");
        }
    }

    #[test]
    fn read_tokens_read_write_tokens_write_scopes_hold() {
        let mut tokens = parse_tokens("w\nws t1\n", true).unwrap();
        tokens.extend(parse_tokens("r\nrs t2,t3\n", false).unwrap());
        let auth = Auth::new(true, tokens);
        let status = |r: Result<(), Problem>| r.err().map(|p| p.status.as_u16());
        let read = |h: &str, t: Option<&str>| status(auth.read(&with(h), t).map(|_| ()));
        assert_eq!(read("Bearer r", Some("t1")), None);
        assert_eq!(read("Bearer w", Some("t1")), None, "write implies read");
        assert_eq!(read("Bearer rs", Some("t2")), None);
        assert_eq!(read("Bearer rs", Some("t1")), Some(403));
        assert_eq!(read("Bearer ws", Some("t1")), None);
        assert_eq!(read("Bearer ws", Some("t2")), Some(403));
        assert_eq!(read("Bearer nope", Some("t1")), Some(401));
        assert_eq!(status(auth.read_all(&with("Bearer rs"))), Some(403));
        assert_eq!(status(auth.read_all(&with("Bearer r"))), None);
        assert_eq!(status(auth.write(&with("Bearer w"), "t9")), None);
        assert_eq!(status(auth.write(&with("Bearer ws"), "t1")), None);
        assert_eq!(status(auth.write(&with("Bearer ws"), "t2")), Some(403));
        assert_eq!(status(auth.write(&with("Bearer r"), "t1")), Some(403));
        assert_eq!(status(auth.write(&with("Bearer rs"), "t2")), Some(403));
        let bad = auth.write(&with("Bearer nope"), "t1").unwrap_err();
        assert!(bad.bad_credentials);
        match auth.read(&with("Bearer rs"), None).unwrap() {
            Access::Topics(t) => assert_eq!(t, ["t2".to_owned(), "t3".to_owned()]),
            Access::Everything => panic!("scoped"),
        }
    }

    #[test]
    fn open_reads_warn_unless_the_topic_is_open() {
        let open = RolieConfig::default();
        assert!(warn_open_reads(&open, "t", "whitelist"));
        assert!(warn_open_reads(&open, "t", "authorize"));
        assert!(!warn_open_reads(&open, "t", "open"));
        let locked = RolieConfig {
            read_requires_token: true,
            ..RolieConfig::default()
        };
        assert!(!warn_open_reads(&locked, "t", "whitelist"));
        let read_tokens = RolieConfig {
            read_token_file: Some("/nonexistent".into()),
            ..RolieConfig::default()
        };
        assert!(!warn_open_reads(&read_tokens, "t", "whitelist"));
    }
}
