//! The pollers' fast path: a conditional GET or HEAD of a cached feed page
//! or archive document whose validators match is answered 304 before the
//! request reaches the router.
//!
//! Feed readers poll far more often than feeds change, so most requests a
//! repository sees are `If-None-Match` revalidations of the first page. For
//! those the router's work — route matching, percent-decoding the path into
//! a `String`, deserialising an (empty) query, the handler's future — is
//! most of the user-space cost of a response that is 4 header lines. This
//! module recognises exactly that case and nothing else: any request that
//! is not a clean cache hit with matching validators returns `None` and
//! goes through the router, which then does the same checks again and
//! answers as it always did (200, 400, 401, 404, …).
//!
//! Equivalence with the router is by construction: the decision uses the
//! same cache key and generation as the feed handler (`http.rs`), the same
//! read check (`Auth::read`), the same paths ([`feed_path`], from the
//! routes' constants) and [`Validators::not_modified`](super::conditional::Validators),
//! and the response is built by the same
//! [`not_modified`](super::conditional::not_modified) function `respond`
//! uses. `tests` below compare the two responses.

use axum::http::{Method, Request};
use axum::response::Response;

use super::archive;
use super::cache::Which;
use super::conditional;
use super::state::AppState;
use super::urls::feed_path;

/// The 304 for `request` if it is a GET or HEAD of the first page of a
/// feed (no query string) or of an archive document that is in the page
/// cache at the topic's current version and whose
/// `If-None-Match`/`If-Modified-Since` say the client's copy is current;
/// `None` otherwise (the router decides).
pub(crate) fn not_modified<B>(st: &AppState, request: &Request<B>) -> Option<Response> {
    if request.method() != Method::GET && request.method() != Method::HEAD {
        return None;
    }
    let uri = request.uri();
    if uri.query().is_some() {
        return None;
    }
    let (topic, block) = feed_path(uri.path())?;
    let which = match block {
        // `archive::parse_block` is the router's own check of `{block}`.
        Some(block) => Which::Archive(archive::parse_block(block)?),
        None => Which::Page(None, None),
    };
    // What the router's `{topic}` would decode differently (percent
    // escapes) or not match at all (another segment, an empty one) is left
    // to the router.
    if topic.is_empty() || topic.bytes().any(|b| b == b'/' || b == b'%') {
        return None;
    }
    let headers = request.headers();
    // Cheap refusal first: most requests that are not revalidations carry
    // neither header, and the cache lookup below allocates its key.
    if !headers.contains_key(axum::http::header::IF_NONE_MATCH)
        && !headers.contains_key(axum::http::header::IF_MODIFIED_SINCE)
    {
        return None;
    }
    st.auth.read(headers, Some(topic)).ok()?;
    // Same order as the feed handler: the version before the lookup.
    let version = st.version(topic);
    let page = st.feed_cache.get(&(topic.to_owned(), which), version)?;
    if !page.validators.not_modified(headers) {
        return None;
    }
    let response = conditional::not_modified(&page.validators);
    Some(match which {
        Which::Archive(_) => archive::with_max_age(response),
        Which::Page(..) => response,
    })
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use axum::body::Body;
    use axum::http::{header, Request, StatusCode};
    use tower_service::Service;

    use super::*;
    use crate::rolie::auth::{parse_tokens, Auth};
    use crate::rolie::cache::Page;
    use crate::rolie::config::RolieConfig;
    use crate::rolie::http::router;
    use crate::rolie::listen::ConnLimit;
    use crate::rolie::publish::NoPublisher;
    use crate::rolie::state::Shared;
    use crate::rolie::urls::Urls;
    use crate::store::Store;

    fn state(config: RolieConfig) -> Shared {
        Arc::new(AppState {
            urls: Urls::new("http://127.0.0.1:1"),
            auth: Auth::new(
                config.reads_need_token(),
                parse_tokens("sekrit", true).unwrap(),
            ),
            config,
            store: Store::open_in_memory().unwrap(),
            publisher: Arc::new(NoPublisher),
            json_form: None,
            health: None,
            metrics_hook: None,
            responses: Default::default(),
            feed_cache: Default::default(),
            connections: Arc::new(ConnLimit::new(8, 8)),
        })
    }

    /// A page for topic `t` cached at the current generation (0).
    fn cached(st: &Shared) -> String {
        let page = Arc::new(Page::new(
            "<feed/>".into(),
            chrono::DateTime::from_timestamp(1_700_000_000, 0).unwrap(),
        ));
        let etag = page.validators.etag().to_owned();
        st.feed_cache
            .put(("t".into(), Which::Page(None, None)), st.version("t"), page);
        etag
    }

    fn req(method: &str, uri: &str, headers: &[(&str, &str)]) -> Request<Body> {
        let mut r = Request::builder().method(method).uri(uri);
        for (k, v) in headers {
            r = r.header(*k, *v);
        }
        r.body(Body::empty()).unwrap()
    }

    async fn routed(st: &Shared, r: Request<Body>) -> Response {
        let Ok(resp) = router(st.clone()).call(r).await;
        resp
    }

    /// The fast path's 304 has the router's status, headers (names, values,
    /// order) and empty body, for GET and HEAD, If-None-Match and
    /// If-Modified-Since.
    #[tokio::test]
    async fn same_304_as_the_router() {
        let st = state(RolieConfig::default());
        let etag = cached(&st);
        for method in ["GET", "HEAD"] {
            for h in [
                (header::IF_NONE_MATCH.as_str(), etag.as_str()),
                ("if-none-match", "\"x\", W/\"y\", *"),
                ("if-modified-since", "Tue, 14 Nov 2023 22:13:20 GMT"),
            ] {
                let fast = not_modified(&st, &req(method, "/rolie/feeds/t", &[h]))
                    .expect("fast path taken");
                let mut slow = routed(&st, req(method, "/rolie/feeds/t", &[h])).await;
                // What `observe::Observed` does to every response on its way out.
                conditional::without_304_length(&mut slow);
                assert_eq!(slow.status(), StatusCode::NOT_MODIFIED, "{method} {h:?}");
                assert_eq!(fast.status(), slow.status());
                let names = |r: &Response| {
                    r.headers()
                        .iter()
                        .map(|(k, v)| (k.clone(), v.clone()))
                        .collect::<Vec<_>>()
                };
                assert_eq!(names(&fast), names(&slow), "{method} {h:?}");
                assert!(names(&fast).iter().any(|(k, _)| k == header::ETAG));
                assert!(names(&fast).iter().any(|(k, _)| k == header::CACHE_CONTROL));
                let body = |r: Response| async {
                    axum::body::to_bytes(r.into_body(), 1 << 20).await.unwrap()
                };
                assert_eq!(body(fast).await, body(slow).await);
            }
        }
    }

    /// Everything that is not a clean hit with matching validators is left
    /// to the router: a stale ETag (200 there), an old date, no validators,
    /// a query, another route, an escaped or unknown topic, another method,
    /// a missing token when reads need one. (A changed topic: in
    /// `tests/rolie_server.rs`, over a store that changes.)
    #[tokio::test]
    async fn anything_else_falls_through() {
        let st = state(RolieConfig::default());
        let etag = cached(&st);
        let inm = ("if-none-match", etag.as_str());
        for r in [
            req("GET", "/rolie/feeds/t", &[("if-none-match", "\"stale\"")]),
            req(
                "GET",
                "/rolie/feeds/t",
                &[("if-modified-since", "Sat, 01 Jan 2000 00:00:00 GMT")],
            ),
            req("GET", "/rolie/feeds/t", &[]),
            req("GET", "/rolie/feeds/t?after=0", &[inm]),
            req("GET", "/rolie/feeds/t?", &[inm]),
            req("GET", "/rolie/feeds/t/", &[inm]),
            req("GET", "/rolie/feeds/%74", &[inm]),
            req("GET", "/rolie/feeds/u", &[inm]),
            req("GET", "/rolie/feeds/", &[inm]),
            req("POST", "/rolie/feeds/t", &[inm]),
            req("DELETE", "/rolie/feeds/t", &[inm]),
        ] {
            let what = format!("{} {}", r.method(), r.uri());
            assert!(not_modified(&st, &r).is_none(), "{what}");
        }
        // The router still answers a stale ETag with the page.
        let r = routed(
            &st,
            req("GET", "/rolie/feeds/t", &[("if-none-match", "\"stale\"")]),
        )
        .await;
        assert_eq!(r.status(), StatusCode::OK);

        let locked = state(RolieConfig {
            read_requires_token: true,
            ..RolieConfig::default()
        });
        let etag = cached(&locked);
        let inm = ("if-none-match", etag.as_str());
        assert!(not_modified(&locked, &req("GET", "/rolie/feeds/t", &[inm])).is_none());
        let r = req(
            "GET",
            "/rolie/feeds/t",
            &[inm, ("authorization", "Bearer sekrit")],
        );
        assert!(not_modified(&locked, &r).is_some());
    }

    /// A cached archive document is revalidated here too, with the
    /// archive's Cache-Control; a non-canonical block number, another
    /// block, or a feed page's entry do not answer for it.
    #[tokio::test]
    async fn archives_take_the_fast_path_too() {
        let st = state(RolieConfig::default());
        let page = Arc::new(Page::new(
            "<feed/>".into(),
            chrono::DateTime::from_timestamp(1_700_000_000, 0).unwrap(),
        ));
        let etag = page.validators.etag().to_owned();
        st.feed_cache
            .put(("t".into(), Which::Archive(7)), st.version("t"), page);
        let inm = ("if-none-match", etag.as_str());
        let r = not_modified(&st, &req("GET", "/rolie/feeds/t/archive/7", &[inm]))
            .expect("fast path taken");
        assert_eq!(r.status(), axum::http::StatusCode::NOT_MODIFIED);
        assert_eq!(r.headers()[header::CACHE_CONTROL], archive::ARCHIVE_MAX_AGE);
        for uri in [
            "/rolie/feeds/t/archive/07",
            "/rolie/feeds/t/archive/8",
            "/rolie/feeds/t/archive/7/",
            "/rolie/feeds/t/archive/7?x",
            "/rolie/feeds/t",
            "/rolie/feeds/%74/archive/7",
        ] {
            assert!(
                not_modified(&st, &req("GET", uri, &[inm])).is_none(),
                "{uri}"
            );
        }
    }
}
