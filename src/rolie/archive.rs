//! RFC 5005 §4 archived feeds (RFC 8322 §6.1.2: archiving SHOULD be
//! supported): `/rolie/feeds/{topic}/archive/{n}`.
//!
//! **What an archive is.** The store numbers every row it writes from one
//! counter (`items.seq`, AUTOINCREMENT, never reused) and never moves a row
//! to another number: new content for an item is a new row at the newest
//! end. Archive `n` of a topic is that topic's rows numbered
//! `n*B+1 ..= (n+1)*B` (`B` = `RolieConfig::archive_block`), served only once the
//! counter has passed `(n+1)*B`: from then on no insert can add an entry to
//! it, so it is a fixed block (`store::blocks`). Numbers are global, so a
//! topic's archive numbers have gaps (blocks holding only other topics'
//! rows); the links skip those, and an empty block is not an archive (404).
//!
//! **Links.** The subscription document — the feed's first page — links
//! `prev-archive` to the topic's newest archive; each archive links
//! `prev-archive` to the next older one and `next-archive` to the next
//! newer one where they exist, `current` to the subscription document, and
//! carries `<fh:archive/>` plus what every ROLIE feed document carries
//! (`self`, `service`, the information-type category). Archives carry no
//! §3 paging links: they are not pages of the paged feed, whose cursors
//! move as items arrive. Walking `prev-archive` from the subscription
//! document reaches every archive holding an entry of the topic, and the
//! first page holds every entry in no archive yet: those sit in the one
//! open block, at most `B` rows, and `B <= page_size` (`RolieConfig::check`).
//!
//! **Stability.** An archive's entries and so its ETag do not change when
//! items arrive. Three things do change it. (1) Once, when a newer archive
//! of the topic first closes, it gains its `next-archive` link. (2) An
//! entry updated later leaves it (the new content is a new row at the
//! newest end), and a retracted one leaves it: a client holding the old
//! copy keeps the old entry, and RFC 5005 §4.2 has it merge documents by
//! `atom:id`, keeping the most recently `atom:updated` one, so it ends with
//! the new content from the subscription document (or a newer archive)
//! either way, and learns of retractions from the subscription document's
//! `at:deleted-entry` tombstones, not from an archive. (3) A neighbour that
//! lost its last entry stops being linked. So a cached archive that is a
//! day old misleads no client, which is why archives may be cached for
//! [`ARCHIVE_MAX_AGE`] on top of the usual ETag/Last-Modified revalidation.
//! (`Last-Modified` and `atom:updated` are the newest entry's time, stable
//! across requests and restarts; when that entry leaves, they move back,
//! so a client revalidating with `If-Modified-Since` alone keeps its older
//! copy — harmless for the same reason. The ETag always changes.)

use std::borrow::Cow;
use std::sync::Arc;

use axum::extract::{Path, Request, State};
use axum::http::{header, HeaderValue};
use axum::response::Response;
use chrono::DateTime;

use super::cache::{Page, Which};
use super::conditional::respond;
use super::documents::{self, write_entry, DocContext, FEED_LINK_TYPE};
use super::problem::Problem;
use super::state::Shared;
use super::xml::XmlOut;
use crate::store::Block;

/// RFC 5005's namespace (`fh:archive`).
pub(crate) const HISTORY_NS: &str = "http://purl.org/syndication/history/1.0";

/// `Cache-Control` of an archive: a day (see the module comment for why a
/// stale copy is harmless). Not `public`: with `read_requires_token` the
/// request carries `Authorization`, and shared caches must not keep it.
pub(crate) const ARCHIVE_MAX_AGE: &str = "max-age=86400";

/// The block number of an `{n}` path segment: plain decimal digits, no
/// sign, no leading zero (one URL per archive), and small enough for a
/// `u64`. Anything else names no archive.
pub(crate) fn parse_block(segment: &str) -> Option<u64> {
    let canonical = !segment.is_empty()
        && segment.len() <= 20
        && segment.bytes().all(|b| b.is_ascii_digit())
        && (segment == "0" || !segment.starts_with('0'));
    if !canonical {
        return None;
    }
    segment.parse().ok()
}

/// `GET /rolie/feeds/{topic}/archive/{n}`.
pub(crate) async fn archive(
    State(st): State<Shared>,
    Path((topic, n)): Path<(String, String)>,
    request: Request,
) -> Result<Response, Problem> {
    let headers = request.headers();
    // The feed's checks in the feed's order: the read token first, so an
    // unauthorised client learns nothing about which archives exist.
    st.auth.read(headers, Some(&topic))?;
    let block = parse_block(&n).ok_or_else(Problem::not_found)?;
    let size = st.config.archive_block();
    let key = (topic.clone(), Which::Archive(block));
    // Read before anything else, as the feed handler (`http.rs`) does (see `cache.rs`).
    let version = st.version(&topic);
    if let Some(page) = st.feed_cache.get(&key, version) {
        return Ok(with_max_age(respond(
            headers,
            documents::FEED_MEDIA_TYPE,
            &page.validators,
            Cow::Borrowed(&page.body),
        )));
    }
    if !st.known_topic(&topic).await? {
        return Err(Problem::not_found());
    }
    let Some(view) = st.store.closed_block(&topic, size, block).await? else {
        return Err(Problem::not_found());
    };
    // The newest entry's time: what the archive's content last changed to
    // by adding (it never gains entries later), and stable across requests.
    let Some(updated) = view.items.iter().map(|i| i.updated).max() else {
        return Err(Problem::not_found());
    };
    let body = archive_document(&st.doc_context(), &topic, block, &view, updated)?;
    let page = Arc::new(Page::new(body, updated));
    st.feed_cache.put(key, version, page.clone());
    Ok(with_max_age(respond(
        headers,
        documents::FEED_MEDIA_TYPE,
        &page.validators,
        Cow::Borrowed(&page.body),
    )))
}

/// Replaces the server's usual `no-cache` (right for documents that change
/// with every item) with [`ARCHIVE_MAX_AGE`], on a 200 and a 304 alike.
pub(crate) fn with_max_age(mut response: Response) -> Response {
    if response.headers().contains_key(header::ETAG) {
        response.headers_mut().insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static(ARCHIVE_MAX_AGE),
        );
    }
    response
}

/// Archive document `block` of `topic` (RFC 5005 §4), entries newest first.
pub(crate) fn archive_document(
    ctx: &DocContext<'_>,
    topic: &str,
    block: u64,
    view: &Block,
    updated: DateTime<chrono::Utc>,
) -> Result<String, std::io::Error> {
    let urls = ctx.urls;
    let mut out = XmlOut::new();
    documents::start_feed(
        &mut out,
        ctx,
        topic,
        updated,
        &urls.archive(topic, block),
        &[("xmlns:fh", HISTORY_NS)],
    );
    out.empty(
        "link",
        &[
            ("rel", "current"),
            ("type", FEED_LINK_TYPE),
            ("href", &urls.feed(topic)),
        ],
    );
    for (rel, target) in [("prev-archive", view.older), ("next-archive", view.newer)] {
        if let Some(b) = target {
            out.empty(
                "link",
                &[
                    ("rel", rel),
                    ("type", FEED_LINK_TYPE),
                    ("href", &urls.archive(topic, b)),
                ],
            );
        }
    }
    // An extension element, so after the links and before the entries
    // (RFC 4287's feed grammar).
    out.empty("fh:archive", &[]);
    for item in &view.items {
        write_entry(&mut out, ctx, item, false);
    }
    out.end("feed");
    out.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_canonical_numbers_name_archives() {
        assert_eq!(parse_block("0"), Some(0));
        assert_eq!(parse_block("17"), Some(17));
        assert_eq!(parse_block("18446744073709551615"), Some(u64::MAX));
        for bad in [
            "",
            "00",
            "017",
            "+1",
            "-1",
            "1e3",
            " 1",
            "0x10",
            "18446744073709551616",
            "99999999999999999999999",
            "١",
        ] {
            assert_eq!(parse_block(bad), None, "{bad:?}");
        }
    }
}
