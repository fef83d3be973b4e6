//! `/`: the topics a reader may see (items, last update, arrivals per hour
//! over the last day) and the bridge's health (XMPP session, outbox depth,
//! the follow's lag per topic, the sources' failures).

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use chrono::{DateTime, Duration, Utc};
use maud::{html, Markup};

use super::context::{Scope, WebContext};
use super::health;
use super::page::{ago, shell, store_failed, topic_path, when};
use super::sparkline;
use crate::store::{Cursor, StoreError, TopicInfo};

/// Store pages walked for a sparkline at most (a busy topic's older
/// arrivals are then left out of it, not the page slowed down).
const SPARK_PAGES: usize = 4;
const SPARK_PAGE_SIZE: usize = 500;

/// One topic's line.
struct TopicLine {
    info: TopicInfo,
    buckets: [u64; sparkline::HOURS],
    /// When the grid follow last delivered an item of it.
    delivered: Option<DateTime<Utc>>,
}

/// `GET /`.
pub(crate) async fn index(State(ctx): State<WebContext>, headers: HeaderMap) -> Response {
    let scope = match (ctx.read)(&headers, None) {
        Ok(s) => s,
        Err(refused) => return *refused,
    };
    match lines(&ctx, &scope).await {
        Ok((topics, outbox)) => render(&ctx, &scope, &topics, outbox),
        Err(e) => store_failed(&e),
    }
}

async fn lines(ctx: &WebContext, scope: &Scope) -> Result<(Vec<TopicLine>, usize), StoreError> {
    let now = Utc::now();
    let mut out = Vec::new();
    for info in ctx.topics(scope).await? {
        let times = arrivals(ctx, &info.topic, now - Duration::hours(24)).await?;
        let delivered = ctx.store.last_delivered(&info.topic).await?;
        out.push(TopicLine {
            buckets: sparkline::per_hour(&times, now),
            info,
            delivered,
        });
    }
    Ok((out, ctx.store.outbox_len().await?))
}

/// When the items of `topic` stored since `since` arrived (newest first,
/// bounded by [`SPARK_PAGES`]).
async fn arrivals(
    ctx: &WebContext,
    topic: &str,
    since: DateTime<Utc>,
) -> Result<Vec<DateTime<Utc>>, StoreError> {
    let mut times = Vec::new();
    let mut cursor = Cursor::Newest;
    for _ in 0..SPARK_PAGES {
        let page = ctx.store.page(topic, cursor, SPARK_PAGE_SIZE).await?;
        let Some(last) = page.items.last() else { break };
        cursor = Cursor::Before(last.seq);
        let done = last.updated < since || !page.has_older;
        times.extend(page.items.iter().map(|i| i.updated).filter(|t| *t >= since));
        if done {
            break;
        }
    }
    Ok(times)
}

fn render(ctx: &WebContext, scope: &Scope, topics: &[TopicLine], outbox: usize) -> Response {
    let now = Utc::now();
    let health = (ctx.health)();
    let body = html! {
        h1 { "Topics" }
        @if topics.is_empty() {
            p.empty { "No topics yet." }
        } @else {
            table #topics {
                thead { tr { th { "topic" } th.num { "items" } th { "last update" } th { "arrivals per hour, last 24 h" } th { "last delivered from the grid" } } }
                tbody {
                    @for t in topics {
                        tr {
                            td { a href=(topic_path(&t.info.topic)) { (t.info.topic) } }
                            td.num { (t.info.items) }
                            td { time datetime=(t.info.updated.to_rfc3339()) title=(when(&t.info.updated)) { (ago(&t.info.updated, &now)) } }
                            td { (sparkline::svg(&t.buckets)) }
                            td { @match &t.delivered { Some(d) => (ago(d, &now)), None => "—" } }
                        }
                    }
                }
            }
        }
        h2 { "Health" }
        (health_table(scope, &health, outbox))
    };
    shell("Topics", false, body)
}

fn health_table(scope: &Scope, h: &super::context::Health, outbox: usize) -> Markup {
    let rows = match scope {
        // The counters name every topic and polled source: like
        // `/metrics`, only for a reader of every topic.
        Scope::All => health::rows(&health::samples(&h.metrics)),
        Scope::Topics(_) => Vec::new(),
    };
    let state = |ok: bool| if ok { "ok" } else { "bad" };
    html! {
        table #health {
            thead { tr { th { "component" } th { "state" } th { "detail" } } }
            tbody {
                @match &h.xmpp {
                    Some((ok, detail)) => tr.(state(*ok)) { td { "XMPP session" } td { (state(*ok)) } td { (detail) } },
                    None => tr.ok { td { "XMPP session" } td { "ok" } td { "not configured (repository only)" } },
                }
                tr.(state(outbox < 1000)) {
                    td { "publish outbox" } td { (state(outbox < 1000)) }
                    td { (outbox) " documents waiting for the broker" }
                }
                @for r in &rows {
                    tr.(state(r.ok)) { td { (r.component) } td { (state(r.ok)) } td { (r.detail) } }
                }
            }
        }
    }
}
