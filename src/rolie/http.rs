//! The read side of the HTTP server: routes, documents, conditional GET.

use std::borrow::Cow;
use std::sync::Arc;

use axum::extract::{DefaultBodyLimit, Path, Query, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use chrono::{DateTime, Utc};
use serde::Deserialize;

use super::cache::Which;
use super::config::RolieConfig;
use super::documents::{self, DocContext};
use super::ops::{self, HealthProbe, Metrics, MetricsHook};
use super::urls::Urls;
use super::write::{self, Publisher};
use super::JsonForm;
use crate::store::{Cursor, Store, StoreError, StoredItem};

/// Everything a request handler can reach.
pub(crate) struct AppState {
    pub(crate) config: RolieConfig,
    pub(crate) store: Store,
    pub(crate) urls: Urls,
    pub(crate) publisher: Arc<dyn Publisher>,
    pub(crate) json_form: Option<JsonForm>,
    pub(crate) health: Option<Arc<dyn HealthProbe>>,
    pub(crate) metrics_hook: Option<MetricsHook>,
    pub(crate) tokens: Vec<String>,
    pub(crate) metrics: Metrics,
    pub(crate) feed_cache: super::cache::FeedCache,
    /// Open connections and the limit on them (`max_connections`).
    pub(crate) connections: Arc<super::listen::ConnLimit>,
}

pub(crate) type Shared = Arc<AppState>;

impl AppState {
    pub(crate) fn doc_context(&self) -> DocContext<'_> {
        DocContext {
            urls: &self.urls,
            config: &self.config,
            json: self.json_form.is_some(),
            writable: !self.tokens.is_empty(),
        }
    }

    /// Configured topics plus every topic the store holds, sorted.
    pub(crate) async fn topics(&self) -> Result<Vec<String>, Problem> {
        let mut topics: Vec<String> = self
            .store
            .topics()
            .await?
            .into_iter()
            .map(|t| t.topic)
            .collect();
        topics.extend(self.config.topics.keys().cloned());
        topics.sort();
        topics.dedup();
        Ok(topics)
    }

    /// The version a cached document of `topic` must have been rendered
    /// at to be served now (see `cache.rs`): the topic's generation and
    /// how many archive blocks the store has closed. Costs no query.
    pub(crate) fn version(&self, topic: &str) -> super::cache::Version {
        let closed = match u64::try_from(self.store.last_seq()) {
            Ok(seq) => seq / self.config.archive_block().max(1),
            Err(_) => 0,
        };
        (self.store.generation(topic), closed)
    }

    /// Whether `topic` is served (configured, or known to the store).
    pub(crate) async fn known_topic(&self, topic: &str) -> Result<bool, Problem> {
        Ok(self.config.topics.contains_key(topic) || self.store.topic(topic).await?.is_some())
    }
}

/// An HTTP error with a plain-text explanation (RFC 5023 §5.5: 4xx/5xx
/// bodies SHOULD say what went wrong).
#[derive(Debug)]
pub(crate) struct Problem {
    pub(crate) status: StatusCode,
    pub(crate) message: String,
}

impl Problem {
    pub(crate) fn new(status: StatusCode, message: impl Into<String>) -> Problem {
        Problem {
            status,
            message: message.into(),
        }
    }

    pub(crate) fn not_found() -> Problem {
        Problem::new(StatusCode::NOT_FOUND, "not found")
    }
}

impl From<StoreError> for Problem {
    fn from(e: StoreError) -> Problem {
        tracing::error!(error = %e, "store failure while serving");
        Problem::new(StatusCode::INTERNAL_SERVER_ERROR, "store failure")
    }
}

impl From<std::io::Error> for Problem {
    fn from(e: std::io::Error) -> Problem {
        tracing::error!(error = %e, "document rendering failed");
        Problem::new(StatusCode::INTERNAL_SERVER_ERROR, "rendering failure")
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let mut r = (self.status, format!("{}\n", self.message)).into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            r.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"gridlink\""),
            );
        }
        // After a 408 or 413 the rest of the body was never read, so the
        // connection cannot carry another request: say so (RFC 9110
        // §15.5.9) rather than leave the client to find a reset.
        if matches!(
            self.status,
            StatusCode::REQUEST_TIMEOUT | StatusCode::PAYLOAD_TOO_LARGE
        ) {
            r.headers_mut()
                .insert(header::CONNECTION, HeaderValue::from_static("close"));
        }
        r
    }
}

/// The application's routes, wired to `state`.
pub(crate) fn router(state: Shared) -> Router {
    Router::new()
        .route("/rolie/servicedocument", get(service))
        .route("/rolie/categories", get(categories))
        .route("/rolie/feeds/{topic}", get(feed).post(write::create))
        .route(
            "/rolie/feeds/{topic}/archive/{block}",
            get(super::archive::archive),
        )
        .route(
            "/rolie/feeds/{topic}/entries/{item}",
            get(entry).delete(write::delete),
        )
        .route(
            "/rolie/feeds/{topic}/entries/{item}/iodef.xml",
            get(content_xml),
        )
        .route(
            "/rolie/feeds/{topic}/entries/{item}/iodef.json",
            get(content_json),
        )
        .route("/metrics", get(ops::metrics))
        .route("/healthz", get(ops::healthz))
        .fallback(|| async { Problem::not_found() })
        // The write path reads bodies itself, with its own limit and 413.
        .layer(DefaultBodyLimit::disable())
        .with_state(state)
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
    let validators = Validators::new(&super::cache::etag_of(&body), modified);
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

async fn service(State(st): State<Shared>, headers: HeaderMap) -> Result<Response, Problem> {
    write::authorize_read(&st, &headers)?;
    let topics = st.topics().await?;
    let body = documents::service_document(&st.doc_context(), &topics)?;
    let modified = newest_topic_change(&st).await?;
    Ok(document(
        &headers,
        documents::SERVICE_MEDIA_TYPE,
        body,
        modified,
    ))
}

async fn categories(State(st): State<Shared>, headers: HeaderMap) -> Result<Response, Problem> {
    write::authorize_read(&st, &headers)?;
    let topics = st.topics().await?;
    let body = documents::categories_document(&st.doc_context(), &topics)?;
    let modified = newest_topic_change(&st).await?;
    Ok(document(
        &headers,
        documents::CATEGORIES_MEDIA_TYPE,
        body,
        modified,
    ))
}

/// When the set of topics last grew: the service and category documents'
/// Last-Modified. (Their ETag covers configuration changes.)
async fn newest_topic_change(st: &AppState) -> Result<DateTime<Utc>, Problem> {
    let topics = st.store.topics().await?;
    Ok(topics
        .iter()
        .map(|t| t.created)
        .max()
        .unwrap_or(DateTime::UNIX_EPOCH))
}

/// Paging cursors of a feed request.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct FeedQuery {
    before: Option<i64>,
    after: Option<i64>,
}

async fn feed(
    State(st): State<Shared>,
    Path(topic): Path<String>,
    query: Result<Query<FeedQuery>, axum::extract::rejection::QueryRejection>,
    // The request itself rather than a `HeaderMap` extractor, which would
    // copy every header: this is the pollers' hot path.
    request: Request,
) -> Result<Response, Problem> {
    let headers = request.headers();
    write::authorize_read(&st, headers)?;
    let Query(q) = query.map_err(|e| Problem::new(StatusCode::BAD_REQUEST, e.body_text()))?;
    let cursor = match (q.before, q.after) {
        (None, None) => Cursor::Newest,
        (Some(b), None) if b > 0 => Cursor::Before(b),
        (None, Some(a)) if a >= 0 => Cursor::After(a),
        _ => {
            return Err(Problem::new(
                StatusCode::BAD_REQUEST,
                "use one of before=N (N > 0) or after=N (N >= 0)",
            ))
        }
    };
    // Read before anything else: see `cache.rs` for why this order is safe.
    let key = (topic.clone(), Which::Page(q.before, q.after));
    let version = st.version(&topic);
    if let Some(page) = st.feed_cache.get(&key, version) {
        return Ok(respond(
            headers,
            documents::FEED_MEDIA_TYPE,
            &page.validators,
            Cow::Borrowed(&page.body),
        ));
    }
    let info = match st.store.topic(&topic).await? {
        Some(info) => info,
        None if st.config.topics.contains_key(&topic) => st.store.ensure_topic(&topic).await?,
        None => return Err(Problem::not_found()),
    };
    let page = st.store.page(&topic, cursor, st.config.page_size).await?;
    let (tombstones, prev_archive) = match cursor {
        // The newest archive is looked up after the page is read: blocks
        // only close, so it can be newer than the page, never older, and
        // every entry the page lacks is then in it or an older archive,
        // or arrived after this response (`archive.rs`).
        Cursor::Newest => (
            st.store.tombstones(&topic).await?,
            st.store
                .newest_closed_block(&topic, st.config.archive_block())
                .await?,
        ),
        _ => (Vec::new(), None),
    };
    let body = documents::feed_document(
        &st.doc_context(),
        &topic,
        info.updated,
        &page,
        cursor,
        &tombstones,
        prev_archive,
    )?;
    let page = Arc::new(super::cache::Page::new(body, info.updated));
    st.feed_cache.put(key, version, page.clone());
    Ok(respond(
        headers,
        documents::FEED_MEDIA_TYPE,
        &page.validators,
        Cow::Borrowed(&page.body),
    ))
}

async fn item(st: &AppState, topic: &str, item: &str) -> Result<StoredItem, Problem> {
    st.store
        .get(topic, item)
        .await?
        .ok_or_else(Problem::not_found)
}

async fn entry(
    State(st): State<Shared>,
    Path((topic, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Response, Problem> {
    write::authorize_read(&st, &headers)?;
    let it = item(&st, &topic, &id).await?;
    let body = documents::entry_document(&st.doc_context(), &it)?;
    Ok(document(
        &headers,
        documents::ENTRY_MEDIA_TYPE,
        body,
        it.updated,
    ))
}

async fn content_xml(
    State(st): State<Shared>,
    Path((topic, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Response, Problem> {
    write::authorize_read(&st, &headers)?;
    let it = item(&st, &topic, &id).await?;
    // Served byte for byte as it came from the grid (UTF-8, no declaration).
    Ok(document(
        &headers,
        "application/xml;charset=utf-8",
        it.envelope.document,
        it.updated,
    ))
}

async fn content_json(
    State(st): State<Shared>,
    Path((topic, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Response, Problem> {
    write::authorize_read(&st, &headers)?;
    let Some(json_form) = st.json_form.clone() else {
        return Err(Problem::not_found());
    };
    let it = item(&st, &topic, &id).await?;
    let body = json_form(&it.envelope).map_err(|e| {
        tracing::warn!(%topic, item = %id, error = %e, "no JSON form for item");
        Problem::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("no JSON form: {e}"),
        )
    })?;
    Ok(document(&headers, "application/json", body, it.updated))
}
