//! `/web/topics/{topic}`: a topic's incidents, newest first, paged with
//! the feeds' own cursor (`before=N`, a sequence number), filtered by
//! purpose, restriction and time, searched by IncidentID, observable value
//! or text.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use maud::{html, Markup};

use super::context::WebContext;
use super::filter::{Row, TopicQuery, PURPOSES, RESTRICTIONS};
use super::page::{cut, enc, error, item_path, shell, store_failed, topic_path, when};
use crate::store::{Cursor, StoreError};

/// Items examined for one page at most: a rare filter answers with fewer
/// rows and an "older" link rather than reading the whole topic.
const MAX_SCAN: usize = 1000;

/// What one page found.
struct Found {
    rows: Vec<Row>,
    /// Where the next page starts (`before=`), when older items exist.
    older: Option<i64>,
    examined: usize,
}

/// `GET /web/topics/{topic}`.
pub(crate) async fn topic(
    State(ctx): State<WebContext>,
    Path(topic): Path<String>,
    query: Result<Query<TopicQuery>, QueryRejection>,
    headers: HeaderMap,
) -> Response {
    if let Err(refused) = (ctx.read)(&headers, Some(&topic)) {
        return *refused;
    }
    let Ok(Query(q)) = query else {
        return error(StatusCode::BAD_REQUEST, "unreadable query");
    };
    let cursor = match q.before {
        None => Cursor::Newest,
        Some(b) if b > 0 => Cursor::Before(b),
        Some(_) => return error(StatusCode::BAD_REQUEST, "before=N needs N > 0"),
    };
    let known = match ctx.store.topic(&topic).await {
        Ok(t) => t.is_some() || ctx.configured.contains(&topic),
        Err(e) => return store_failed(&e),
    };
    if !known {
        return error(StatusCode::NOT_FOUND, "no such topic");
    }
    match scan(&ctx, &topic, cursor, &q).await {
        Ok(found) => render(&topic, &q, &found),
        Err(e) => store_failed(&e),
    }
}

async fn scan(
    ctx: &WebContext,
    topic: &str,
    mut cursor: Cursor,
    q: &TopicQuery,
) -> Result<Found, StoreError> {
    let want = ctx.page_size.max(1);
    let mut found = Found {
        rows: Vec::new(),
        older: None,
        examined: 0,
    };
    loop {
        let page = ctx.store.page(topic, cursor, want).await?;
        let (has_older, last) = (page.has_older, page.items.last().map(|i| i.seq));
        // Parsing documents is CPU work: off the server thread, whose other
        // connections would wait.
        let q2 = q.clone();
        let judged: Vec<(i64, Option<Row>)> = tokio::task::spawn_blocking(move || {
            page.items
                .iter()
                .map(|it| (it.seq, q2.matches(it).then(|| Row::of(it))))
                .collect()
        })
        .await
        .map_err(|e| StoreError::Task(e.to_string()))?;
        let count = judged.len();
        for (n, (seq, row)) in judged.into_iter().enumerate() {
            found.examined += 1;
            found.rows.extend(row);
            // Stop on an item boundary, so the next page starts right after it.
            if found.rows.len() == want || found.examined >= MAX_SCAN {
                let more = has_older || n + 1 < count;
                found.older = more.then_some(seq);
                return Ok(found);
            }
        }
        match last {
            Some(last) if has_older => cursor = Cursor::Before(last),
            _ => return Ok(found),
        }
    }
}

/// The query string of `q` with `before` set to `older` (filters kept).
fn older_link(topic: &str, q: &TopicQuery, older: i64) -> String {
    let mut s = format!("{}?before={older}", topic_path(topic));
    for (k, v) in [
        ("purpose", &q.purpose),
        ("restriction", &q.restriction),
        ("since", &q.since),
        ("until", &q.until),
        ("q", &q.q),
        ("in", &q.field),
    ] {
        if !v.is_empty() {
            s.push_str(&format!("&{k}={}", enc(v)));
        }
    }
    s
}

fn select(name: &str, label: &str, options: &[&str], chosen: &str) -> Markup {
    html! {
        label { (label) " "
            select name=(name) {
                option value="" selected[chosen.is_empty()] { "any" }
                @for o in options {
                    option value=(o) selected[*o == chosen] { (o) }
                }
            }
        }
    }
}

fn render(topic: &str, q: &TopicQuery, found: &Found) -> Response {
    let fields = [
        ("any", "anything"),
        ("id", "IncidentID"),
        ("value", "indicator value"),
        ("text", "text"),
    ];
    let body = html! {
        h1 { "Topic " span.topic { (topic) } }
        form #filters method="get" action=(topic_path(topic)) {
            label { "search " input #q type="search" name="q" value=(q.q) placeholder="IncidentID, address, domain, hash, text"; }
            label { " in "
                select name="in" {
                    @for (v, l) in fields {
                        option value=(v) selected[q.field == v || (q.field.is_empty() && v == "any")] { (l) }
                    }
                }
            }
            (select("purpose", " purpose", &PURPOSES, &q.purpose))
            (select("restriction", " restriction", &RESTRICTIONS, &q.restriction))
            label { " stored since (UTC) " input type="datetime-local" name="since" value=(q.since); }
            label { " until " input type="datetime-local" name="until" value=(q.until); }
            " "
            button #apply type="submit" { "apply" }
            " "
            a href=(topic_path(topic)) { "clear" }
        }
        @if found.rows.is_empty() {
            p.empty #none { "No incidents" @if q.filtering() { " match" } "." }
        } @else {
            table #incidents {
                thead { tr { th { "stored" } th { "IncidentID" } th { "purpose" } th { "restriction" } th { "status" } th { "description" } } }
                tbody {
                    @for r in &found.rows {
                        tr data-seq=(r.seq) {
                            td.when { (when(&r.updated)) }
                            td.id { a.incident href=(item_path(&r.topic, &r.item_id)) { (r.incident_id) } }
                            td { (r.purpose) }
                            td { (r.restriction) }
                            td { (r.status) }
                            td.desc { (cut(&r.description, 120)) }
                        }
                    }
                }
            }
        }
        p.paging {
            @if q.before.is_some() { a #newest href=(topic_path(topic)) { "⇤ newest" } " " }
            @if let Some(older) = found.older { a #older href=(older_link(topic, q, older)) { "older ⇥" } }
            span.note { " (" (found.examined) " items examined)" }
        }
    };
    shell(&format!("Topic {topic}"), false, body)
}
