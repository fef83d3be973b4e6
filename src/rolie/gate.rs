//! [`Gate`]: what a router mounted beside the ROLIE routes ([`RolieServer::mount`](super::RolieServer::mount),
//! the TAXII 2.1 server of `crate::taxii`) may use of this server — its store, publisher, tokens and URLs —
//! with the same read defaults, token scopes and failure throttle as the ROLIE routes.
//!
//! Besides `Authorization: Bearer TOKEN`, a gate accepts HTTP Basic credentials whose password is
//! one of the same tokens (the user name only names the client, for logs): TAXII 2.1 §1.6.8.1
//! makes Basic the one scheme every TAXII client supports.

use std::sync::Arc;

use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine;

use super::auth::Access;
use super::problem::{BadCredentials, Problem};
use super::publish::Publisher;
use super::state::Shared;
use crate::store::Store;

/// A router's view of the server (cheap to clone).
#[derive(Clone)]
pub struct Gate(pub(crate) Shared);

impl std::fmt::Debug for Gate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gate").finish_non_exhaustive()
    }
}

/// A refused request: its status and why. Its response carries the marker that makes the
/// server throttle a client presenting wrong credentials, like the ROLIE routes' refusals.
#[derive(Debug, Clone)]
pub struct Denied {
    /// 401, 403 or 500.
    pub status: StatusCode,
    /// Why, for the client.
    pub message: String,
    bad_credentials: bool,
}

impl From<Problem> for Denied {
    fn from(p: Problem) -> Denied {
        Denied {
            status: p.status,
            message: p.message,
            bad_credentials: p.bad_credentials,
        }
    }
}

impl Denied {
    /// The refusal as a response with `body` (already in the caller's format) of `content_type`;
    /// a 401 asks for Basic or Bearer credentials.
    pub fn respond(self, body: String, content_type: &'static str) -> Response {
        let mut r = (self.status, body).into_response();
        let h = r.headers_mut();
        h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
        if self.status == StatusCode::UNAUTHORIZED {
            h.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"gridlink\", Bearer realm=\"gridlink\""),
            );
        }
        if self.bad_credentials {
            r.extensions_mut().insert(BadCredentials);
        }
        r
    }
}

/// Who is asking: the Basic user name, if credentials came that way.
#[derive(Debug, Clone, Default)]
pub struct Caller {
    /// The Basic user name (for logs and as the Contact of what it adds); `None` for bearer
    /// tokens and anonymous reads.
    pub user: Option<String>,
}

/// `headers` with Basic credentials turned into the bearer form the token check reads, and the
/// Basic user name. Other schemes pass unchanged.
fn normalise(headers: &HeaderMap) -> (std::borrow::Cow<'_, HeaderMap>, Caller) {
    let Some(value) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    else {
        return (std::borrow::Cow::Borrowed(headers), Caller::default());
    };
    let Some((scheme, creds)) = value.trim_start().split_once(' ') else {
        return (std::borrow::Cow::Borrowed(headers), Caller::default());
    };
    if !scheme.eq_ignore_ascii_case("basic") {
        return (std::borrow::Cow::Borrowed(headers), Caller::default());
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(creds.trim())
        .ok()
        .and_then(|b| String::from_utf8(b).ok());
    let mut h = headers.clone();
    let (user, password) = match decoded.as_deref().and_then(|d| d.split_once(':')) {
        Some((u, p)) => (Some(u.to_string()), p.to_string()),
        // Undecodable credentials are a wrong token, not a missing one (throttled).
        None => (None, "\u{1}invalid".to_string()),
    };
    match HeaderValue::from_str(&format!("Bearer {password}")) {
        Ok(v) => {
            h.insert(header::AUTHORIZATION, v);
        }
        Err(_) => {
            h.insert(
                header::AUTHORIZATION,
                HeaderValue::from_static("Bearer \u{1}"),
            );
        }
    }
    (std::borrow::Cow::Owned(h), Caller { user })
}

impl Gate {
    /// The item store the feeds are rendered from.
    pub fn store(&self) -> &Store {
        &self.0.store
    }

    /// Where writes go (the bridge's grid publisher).
    pub fn publisher(&self) -> &Arc<dyn Publisher> {
        &self.0.publisher
    }

    /// The public base URL (no trailing slash).
    pub fn base_url(&self) -> String {
        self.0.urls.base().to_string()
    }

    /// The URL of an item's IODEF XML (the ROLIE `content src`).
    pub fn xml_url(&self, topic: &str, item: &str) -> String {
        self.0.urls.xml(topic, item)
    }

    /// May this request read `topic`? (`None`: a listing, filtered with [`Readable::covers`].)
    pub fn read(&self, headers: &HeaderMap, topic: Option<&str>) -> Result<Readable, Denied> {
        let (h, caller) = normalise(headers);
        let access = self.0.auth.read(&h, topic)?;
        let topics = match access {
            Access::Everything => None,
            Access::Topics(t) => Some(t.to_vec()),
        };
        Ok(Readable { topics, caller })
    }

    /// May this request write to `topic`?
    pub fn write(&self, headers: &HeaderMap, topic: &str) -> Result<Caller, Denied> {
        let (h, caller) = normalise(headers);
        self.0.auth.write(&h, topic)?;
        Ok(caller)
    }

    /// Whether this request could write to `topic` (a collection's `can_write`).
    pub fn can_write(&self, headers: &HeaderMap, topic: &str) -> bool {
        let (h, _) = normalise(headers);
        self.0.auth.write(&h, topic).is_ok()
    }

    /// Every served topic (configured, or known to the store), sorted.
    pub async fn topics(&self) -> Result<Vec<String>, Denied> {
        let stored = self.0.store.topics().await.map_err(Problem::from)?;
        let mut topics: Vec<String> = stored.into_iter().map(|t| t.topic).collect();
        topics.extend(self.0.config.topics.keys().cloned());
        topics.sort();
        topics.dedup();
        Ok(topics)
    }

    /// A topic's configured title, if any.
    pub fn title(&self, topic: &str) -> Option<String> {
        self.0
            .config
            .topics
            .get(topic)
            .and_then(|t| t.title.clone())
    }
}

/// What a reader may see.
#[derive(Debug, Clone)]
pub struct Readable {
    topics: Option<Vec<String>>,
    /// Who asked.
    pub caller: Caller,
}

impl Readable {
    /// Whether `topic` may be read.
    pub fn covers(&self, topic: &str) -> bool {
        self.topics
            .as_ref()
            .is_none_or(|t| t.iter().any(|x| x == topic))
    }
}
