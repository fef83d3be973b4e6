//! `/web/live`: the newest incidents of every topic the reader may see,
//! with new ones appended as they arrive through `/web/events`, a
//! Server-Sent Events stream (`event: incident`, `id:` the store's
//! sequence number, so a reconnecting `EventSource` resumes with
//! `Last-Event-ID` where it stopped and misses nothing).

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures::stream::{self, Stream};
use maud::html;
use serde::Deserialize;

use super::context::{Scope, WebContext};
use super::filter::Row;
use super::page::{cut, item_path, shell, store_failed, when};
use crate::store::{Cursor, StoreError};

/// How often the stream looks for new items (an atomic load, no query,
/// unless the store's sequence moved).
const TICK: Duration = Duration::from_millis(200);
/// Rows the live page starts with.
const INITIAL: usize = 25;
/// Items read per topic per query.
const BATCH: usize = 100;
/// How long one stream lasts before the server ends it (the browser then
/// reconnects within `RETRY` and resumes by `Last-Event-ID`, missing
/// nothing). A server shutting down waits for open responses: an endless
/// stream would hold every shutdown for its whole grace period.
const LIFETIME: Duration = Duration::from_secs(5);
/// What the stream tells the browser to wait before reconnecting.
const RETRY: Duration = Duration::from_millis(300);

/// `GET /web/live`.
pub(crate) async fn live(State(ctx): State<WebContext>, headers: HeaderMap) -> Response {
    let scope = match (ctx.read)(&headers, None) {
        Ok(s) => s,
        Err(refused) => return *refused,
    };
    // Read first: rows newer than this may be on the page and come again
    // through the stream; the script drops the repeats by sequence number.
    let after = ctx.store.last_seq();
    let rows = match newest(&ctx, &scope).await {
        Ok(r) => r,
        Err(e) => return store_failed(&e),
    };
    let body = html! {
        h1 { "Live" }
        p.note { "New incidents appear at the top as the grid delivers them. Stream: " span #live-state { "connecting" } }
        table #live {
            thead { tr { th { "stored" } th { "topic" } th { "IncidentID" } th { "purpose" } th { "restriction" } th { "description" } } }
            tbody #live-rows data-after=(after) {
                @for r in &rows {
                    tr data-seq=(r.seq) {
                        td.when { (when(&r.updated)) }
                        td { (r.topic) }
                        td.id { a.incident href=(item_path(&r.topic, &r.item_id)) { (r.incident_id) } }
                        td { (r.purpose) }
                        td { (r.restriction) }
                        td.desc { (cut(&r.description, 120)) }
                    }
                }
            }
        }
    };
    shell("Live", true, body)
}

async fn newest(ctx: &WebContext, scope: &Scope) -> Result<Vec<Row>, StoreError> {
    let mut rows = Vec::new();
    for t in ctx.topics(scope).await? {
        let page = ctx.store.page(&t.topic, Cursor::Newest, INITIAL).await?;
        rows.extend(page.items.iter().map(Row::of));
    }
    rows.sort_by_key(|r| std::cmp::Reverse(r.seq));
    rows.truncate(INITIAL);
    Ok(rows)
}

/// Where the stream starts.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct EventsQuery {
    after: Option<i64>,
}

/// `GET /web/events[?after=N]`: items stored after sequence number N (or
/// `Last-Event-ID`, or now), as they arrive.
pub(crate) async fn events(
    State(ctx): State<WebContext>,
    Query(q): Query<EventsQuery>,
    headers: HeaderMap,
) -> Response {
    let scope = match (ctx.read)(&headers, None) {
        Ok(s) => s,
        Err(refused) => return *refused,
    };
    let resumed = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<i64>().ok());
    let after = resumed
        .or(q.after)
        .unwrap_or_else(|| ctx.store.last_seq())
        .max(0);
    Sse::new(stream_from(ctx, scope, after))
        .keep_alive(KeepAlive::default())
        .into_response()
}

fn stream_from(
    ctx: WebContext,
    scope: Scope,
    after: i64,
) -> impl Stream<Item = Result<Event, Infallible>> {
    // A first event tells the browser how soon to reconnect (after
    // `LIFETIME`, or the server's idle timeout).
    // Its id makes the browser resume from here even if no incident came.
    let hello = Event::default()
        .event("hello")
        .id(after.to_string())
        .retry(RETRY)
        .data("ready");
    let end = tokio::time::Instant::now() + LIFETIME;
    let state = (ctx, scope, after, std::collections::VecDeque::from([hello]));
    stream::unfold(state, move |(ctx, scope, mut last, mut queue)| async move {
        loop {
            if let Some(ev) = queue.pop_front() {
                return Some((Ok(ev), (ctx, scope, last, queue)));
            }
            if tokio::time::Instant::now() >= end {
                return None;
            }
            if ctx.store.last_seq() <= last {
                tokio::time::sleep(TICK).await;
                continue;
            }
            match since(&ctx, &scope, last).await {
                Ok(rows) => {
                    for r in rows {
                        last = last.max(r.seq);
                        queue.push_back(event(&r));
                    }
                    // Nothing visible to this reader moved: skip ahead.
                    if queue.is_empty() {
                        last = last.max(ctx.store.last_seq());
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, "live view: store query failed");
                    tokio::time::sleep(TICK * 10).await;
                }
            }
        }
    })
}

/// The visible items stored after `last`, oldest first.
async fn since(ctx: &WebContext, scope: &Scope, last: i64) -> Result<Vec<Row>, StoreError> {
    let mut rows = Vec::new();
    for t in ctx.topics(scope).await? {
        let mut from = last;
        loop {
            let page = ctx.store.page(&t.topic, Cursor::After(from), BATCH).await?;
            let Some(top) = page.items.first() else { break };
            from = top.seq;
            rows.extend(page.items.iter().map(Row::of));
            if !page.has_newer {
                break;
            }
        }
    }
    rows.sort_by_key(|r| r.seq);
    rows.dedup_by_key(|r| r.seq);
    Ok(rows)
}

fn event(r: &Row) -> Event {
    let data = serde_json::json!({
        "seq": r.seq,
        "topic": r.topic,
        "item": r.item_id,
        "url": item_path(&r.topic, &r.item_id),
        "incident_id": r.incident_id,
        "purpose": r.purpose,
        "restriction": r.restriction,
        "status": r.status,
        "description": cut(&r.description, 120),
        "stored": when(&r.updated),
    });
    Event::default()
        .event("incident")
        .id(r.seq.to_string())
        .data(data.to_string())
}
