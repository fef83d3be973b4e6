//! The read side of the HTTP server: the router, and the handlers of the
//! service, category, feed, entry and content documents.

use std::borrow::Cow;
use std::sync::Arc;

use axum::extract::{DefaultBodyLimit, Path, Query, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use chrono::{DateTime, Utc};
use serde::Deserialize;

use super::archive;
use super::cache::{Page, Which};
use super::conditional::{document, respond};
use super::documents;
use super::ops;
use super::problem::Problem;
use super::state::{AppState, Shared};
use super::urls::Route;
use super::write;
use crate::store::{Cursor, StoredItem};

/// The application's routes (patterns from `urls.rs`), wired to `state`.
pub(crate) fn router(state: Shared) -> Router {
    Router::new()
        .route(&Route::Service.pattern(), get(service))
        .route(&Route::Categories.pattern(), get(categories))
        .route(&Route::Feed.pattern(), get(feed).post(write::create))
        .route(&Route::Archive.pattern(), get(archive::archive))
        .route(&Route::Entry.pattern(), get(entry).delete(write::delete))
        .route(&Route::Xml.pattern(), get(content_xml))
        .route(&Route::Json.pattern(), get(content_json))
        .route(&Route::DocumentJson.pattern(), get(content_document_json))
        .route(&Route::Metrics.pattern(), get(ops::metrics))
        .route(&Route::Healthz.pattern(), get(ops::healthz))
        .fallback(|| async { Problem::not_found() })
        // The write path reads bodies itself, with its own limit and 413.
        .layer(DefaultBodyLimit::disable())
        .with_state(state.clone())
        .merge(super::pages::router(&state))
}

/// The topics the request may see, and when the newest of them was
/// created (the service and category documents' Last-Modified; their ETag
/// covers configuration changes).
async fn visible_topics(
    st: &AppState,
    headers: &HeaderMap,
) -> Result<(Vec<String>, DateTime<Utc>), Problem> {
    let access = st.auth.read(headers, None)?;
    let stored = st.store.topics().await?;
    let modified = stored
        .iter()
        .filter(|t| access.covers(&t.topic))
        .map(|t| t.created)
        .max()
        .unwrap_or(DateTime::UNIX_EPOCH);
    // Configured topics plus every topic the store holds, sorted.
    let mut topics: Vec<String> = stored.into_iter().map(|t| t.topic).collect();
    topics.extend(st.config.topics.keys().cloned());
    topics.retain(|t| access.covers(t));
    topics.sort();
    topics.dedup();
    Ok((topics, modified))
}

async fn service(State(st): State<Shared>, headers: HeaderMap) -> Result<Response, Problem> {
    let (topics, modified) = visible_topics(&st, &headers).await?;
    let body = documents::service_document(&st.doc_context(), &topics)?;
    Ok(document(
        &headers,
        documents::SERVICE_MEDIA_TYPE,
        body,
        modified,
    ))
}

async fn categories(State(st): State<Shared>, headers: HeaderMap) -> Result<Response, Problem> {
    let (topics, modified) = visible_topics(&st, &headers).await?;
    let body = documents::categories_document(&st.doc_context(), &topics)?;
    Ok(document(
        &headers,
        documents::CATEGORIES_MEDIA_TYPE,
        body,
        modified,
    ))
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
    st.auth.read(headers, Some(&topic))?;
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
    let page = Arc::new(Page::new(body, info.updated));
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
    st.auth.read(&headers, Some(&topic))?;
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
    st.auth.read(&headers, Some(&topic))?;
    let it = item(&st, &topic, &id).await?;
    if is_json_document(&it) {
        return Err(Problem::not_found());
    }
    // Served byte for byte as it came from the grid (UTF-8, no declaration).
    Ok(untrusted(document(
        &headers,
        "application/xml;charset=utf-8",
        it.envelope.document,
        it.updated,
    )))
}

async fn content_json(
    State(st): State<Shared>,
    Path((topic, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Response, Problem> {
    st.auth.read(&headers, Some(&topic))?;
    let Some(json_form) = st.json_form.clone() else {
        return Err(Problem::not_found());
    };
    let it = item(&st, &topic, &id).await?;
    if is_json_document(&it) {
        // No RFC 8727 form: the document is JSON already (document.json).
        return Err(Problem::not_found());
    }
    let body = json_form(&it.envelope).map_err(|e| {
        tracing::warn!(%topic, item = %id, error = %e, "no JSON form for item");
        Problem::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("no JSON form: {e}"),
        )
    })?;
    Ok(untrusted(document(
        &headers,
        "application/json",
        body,
        it.updated,
    )))
}

/// Whether the item is a CSAF advisory or CVE record (JSON), not IODEF.
fn is_json_document(it: &StoredItem) -> bool {
    crate::vuln::PayloadType::from_uri(&it.envelope.payload_ns)
        .is_some_and(crate::vuln::PayloadType::is_json)
}

/// A CSAF advisory or CVE record, byte for byte as the grid carried it
/// (the vulnerability entry's `content src`); IODEF items have none.
async fn content_document_json(
    State(st): State<Shared>,
    Path((topic, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Response, Problem> {
    st.auth.read(&headers, Some(&topic))?;
    let it = item(&st, &topic, &id).await?;
    if !is_json_document(&it) {
        return Err(Problem::not_found());
    }
    Ok(untrusted(document(
        &headers,
        "application/json",
        it.envelope.document,
        it.updated,
    )))
}

/// Marks a response whose body is a grid member's document, not ours: no
/// content sniffing (a browser must not take XML or JSON for HTML), and
/// should a browser render it anyway, no scripts, no loads, no same-origin
/// access (a sandboxed, unique origin).
fn untrusted(mut response: Response) -> Response {
    let h = response.headers_mut();
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; sandbox"),
    );
    response
}
