//! One GET of the poller: the fetch rule checked first (`policy.rs`), the
//! body read a chunk at a time and given up as soon as it passes the limit
//! (a feed without Content-Length could otherwise stream gigabytes into
//! memory before the size is known), errors with redacted URLs.

use std::error::Error as _;
use std::time::Duration;

use reqwest::header::HeaderMap;

use super::error::PollError;
use super::policy::{FetchPolicy, Refusal};
use super::redact::redact_url;

/// Largest feed page or content document fetched.
pub const MAX_BODY: usize = 4 * 1024 * 1024;

/// The longest `Retry-After` honoured (a server asking for more is asked
/// again after this).
pub(super) const MAX_RETRY_AFTER: Duration = Duration::from_secs(3600);

/// What an Atom feed poller accepts (the default).
const ACCEPT_ATOM: &str = "application/atom+xml, application/xml";

/// Conditional request headers (from the previous round), and what the
/// request accepts.
#[derive(Debug, Default)]
pub(super) struct Validators<'a> {
    pub etag: Option<&'a str>,
    pub last_modified: Option<&'a str>,
    /// The `Accept` header; `None`: Atom ([`ACCEPT_ATOM`]).
    pub accept: Option<&'static str>,
}

/// GETs `url`: `None` for 304, else the body (UTF-8, at most `limit`
/// bytes) and the headers.
pub(super) async fn get(
    client: &reqwest::Client,
    policy: &FetchPolicy,
    url: &str,
    validators: Validators<'_>,
    limit: usize,
) -> Result<Option<(String, HeaderMap)>, PollError> {
    let shown = redact_url(url);
    let parsed =
        reqwest::Url::parse(url).map_err(|e| PollError::Refused(shown.clone(), e.to_string()))?;
    policy
        .check(&parsed)
        .map_err(|r| PollError::Refused(shown.clone(), r.to_string()))?;
    let mut req = client
        .get(parsed)
        .header("accept", validators.accept.unwrap_or(ACCEPT_ATOM));
    if let Some(e) = validators.etag {
        req = req.header("if-none-match", e);
    }
    if let Some(m) = validators.last_modified {
        req = req.header("if-modified-since", m);
    }
    let mut resp = req.send().await.map_err(|e| request_error(&shown, e))?;
    if resp.status() == reqwest::StatusCode::NOT_MODIFIED {
        return Ok(None);
    }
    if !resp.status().is_success() {
        return Err(PollError::Status {
            url: shown,
            status: resp.status(),
            retry_after: resp
                .headers()
                .get(reqwest::header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(retry_after),
        });
    }
    let too_large = || {
        PollError::Body(
            shown.clone(),
            format!("response larger than the limit of {limit} bytes; stopped reading"),
        )
    };
    let announced = resp.content_length().unwrap_or(0);
    if announced > limit as u64 {
        return Err(too_large());
    }
    let headers = resp.headers().clone();
    let mut body = Vec::with_capacity(announced as usize);
    // Dropping `resp` on the way out closes the connection: the rest of
    // an oversized body is never read.
    while let Some(chunk) = resp.chunk().await.map_err(|e| request_error(&shown, e))? {
        if body.len() + chunk.len() > limit {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    let text = String::from_utf8(body).map_err(|e| PollError::Body(shown, e.to_string()))?;
    Ok(Some((text, headers)))
}

/// A reqwest error as a [`PollError`]: a refusal of the fetch rule (a
/// redirect, an address found by DNS) is [`PollError::Refused`]; the
/// message has the error's causes but not reqwest's copy of the URL,
/// which is not redacted.
fn request_error(shown: &str, e: reqwest::Error) -> PollError {
    let mut causes = Vec::new();
    let mut source = e.source();
    while let Some(s) = source {
        if let Some(r) = s.downcast_ref::<Refusal>() {
            return PollError::Refused(shown.to_string(), r.to_string());
        }
        causes.push(s.to_string());
        source = s.source();
    }
    causes.insert(0, e.without_url().to_string());
    causes.dedup();
    PollError::Http(shown.to_string(), causes.join(": "))
}

/// A `Retry-After` value (RFC 9110 §10.2.3): seconds, or an HTTP date.
pub(super) fn retry_after(v: &str) -> Option<Duration> {
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
