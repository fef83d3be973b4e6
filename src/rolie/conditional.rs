//! Validators and conditional requests (RFC 9110 §13): `ETag`,
//! `Last-Modified`, 304 answers. Every document response leaves through
//! [`respond`], and every 304 is built by [`not_modified`], whether the
//! router or the fast path (`fast.rs`) answers.

use std::borrow::Cow;

use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

/// A strong ETag for a document: the first 128 bits of its SHA-256, quoted.
pub(crate) fn etag_of(body: &str) -> String {
    let digest = Sha256::digest(body.as_bytes());
    let hex: String = digest[..16].iter().map(|b| format!("{b:02x}")).collect();
    format!("\"{hex}\"")
}

/// A document response with `ETag` and `Last-Modified`, or 304 when the
/// client's validators match (RFC 9110 §13.2.2: If-None-Match wins over
/// If-Modified-Since).
pub(crate) fn document(
    req: &HeaderMap,
    media_type: &'static str,
    body: String,
    modified: DateTime<Utc>,
) -> Response {
    let validators = Validators::new(&etag_of(&body), modified);
    respond(req, media_type, &validators, Cow::Owned(body))
}

/// A representation's validators as ready-made header values: a cached
/// page keeps them, so a 304 costs no hashing and no date formatting.
#[derive(Debug, Clone)]
pub(crate) struct Validators {
    etag: HeaderValue,
    last_modified: HeaderValue,
    modified_secs: u64,
}

impl Validators {
    /// Validators for a representation with entity tag `etag` (quoted)
    /// last modified at `modified`.
    pub(crate) fn new(etag: &str, modified: DateTime<Utc>) -> Validators {
        let modified_secs = modified.timestamp().max(0) as u64;
        let date = httpdate::fmt_http_date(
            std::time::UNIX_EPOCH + std::time::Duration::from_secs(modified_secs),
        );
        Validators {
            // Both are ASCII by construction (a quoted hex digest, an HTTP
            // date); an empty value stands in should that ever change.
            etag: HeaderValue::from_str(etag).unwrap_or(HeaderValue::from_static("")),
            last_modified: HeaderValue::from_str(&date).unwrap_or(HeaderValue::from_static("")),
            modified_secs,
        }
    }

    /// The entity tag, quoted.
    #[cfg(test)]
    pub(crate) fn etag(&self) -> &str {
        self.etag.to_str().unwrap_or_default()
    }

    /// Whether the request's conditions say the client's copy is current.
    pub(crate) fn not_modified(&self, req: &HeaderMap) -> bool {
        match req.get(header::IF_NONE_MATCH) {
            Some(inm) => {
                let etag = self.etag.as_bytes();
                inm.as_bytes()
                    .split(|b| *b == b',')
                    .map(|t| t.trim_ascii())
                    .map(|t| t.strip_prefix(b"W/").unwrap_or(t))
                    .any(|t| t == b"*" || t == etag)
            }
            None => req
                .get(header::IF_MODIFIED_SINCE)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| httpdate::parse_http_date(v).ok())
                .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                .is_some_and(|since| self.modified_secs <= since.as_secs()),
        }
    }
}

/// The response for a representation: 304 when the request's validators
/// match, else 200 with `body` (copied only then).
pub(crate) fn respond(
    req: &HeaderMap,
    media_type: &'static str,
    validators: &Validators,
    body: Cow<'_, str>,
) -> Response {
    if validators.not_modified(req) {
        return not_modified(validators);
    }
    let mut headers = validator_headers(validators);
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(media_type));
    (StatusCode::OK, headers, body.into_owned()).into_response()
}

/// The 304 for a representation with `validators`. The one place a 304 is
/// built, so the router's and the fast path's (`fast.rs`) are identical.
pub(crate) fn not_modified(validators: &Validators) -> Response {
    // No Content-Length: see `without_304_length`.
    (StatusCode::NOT_MODIFIED, validator_headers(validators)).into_response()
}

/// Takes the Content-Length off a 304; every response leaves through it
/// (`ops::Observed`).
///
/// A 304 says nothing about the length of the representation, so it
/// carries none (as nginx answers). axum's router sets one on every
/// response whose body has a known size, here `0`: hyper drops that from a
/// 304 to a GET but sends it for a HEAD, and RFC 9110 §8.6 allows a 304's
/// Content-Length only when it is the length a 200 would have had — a
/// client or cache that took `0` for the page's length would be wrong.
pub(crate) fn without_304_length(response: &mut Response) {
    if response.status() == StatusCode::NOT_MODIFIED {
        response.headers_mut().remove(header::CONTENT_LENGTH);
    }
}

/// The headers every 200 and 304 of a representation carry.
fn validator_headers(validators: &Validators) -> HeaderMap {
    let mut headers = HeaderMap::with_capacity(4);
    headers.insert(header::ETAG, validators.etag.clone());
    headers.insert(header::LAST_MODIFIED, validators.last_modified.clone());
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers
}
