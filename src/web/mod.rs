//! The analyst's view: the bridge's store as server-rendered HTML pages.
//!
//! ```text
//! /                                   topics (items, last update, arrivals per hour), health
//! /web/topics/{topic}[?before=N]      a topic's incidents, newest first; filters and search
//! /web/topics/{topic}/items/{item}    one incident: ids, times, contacts, indicators, events
//! /web/live                           new incidents as they arrive (Server-Sent Events)
//! /web/events                         the event stream the live page reads
//! /web/static/{web.css,live.js,icon.svg} the style sheet, the script, the icon
//! ```
//!
//! Safe by construction: every page is a [maud] template, which escapes
//! every interpolated value (the documents are hostile input); links are
//! built from percent-encoded segments, never from document text; every
//! response carries a Content-Security-Policy that allows only our own
//! style sheet and script file (`script-src 'self'`: no inline script,
//! no event-handler attributes, no `javascript:` URLs); the live page's
//! script adds rows with `textContent` only.
//!
//! This folder knows nothing of ROLIE: the ROLIE server mounts
//! [`router`] with a [`WebContext`] made of its store, its read
//! authorization (the same tokens and topic scopes as the feeds) and its
//! links (`rolie/pages.rs`). Files, each using only those listed before
//! it: `context` (what handlers reach), `page` (the HTML shell and the
//! response headers), `health` (the bridge's counters, read back),
//! `sparkline` (arrivals per hour as inline SVG), `incident` (what an
//! incident page shows, walked from the IODEF tree), `filter` (the topic
//! page's filters and search), `index`, `topic`, `item`, `live` (the
//! handlers), `routes` (the router).

mod context;
mod filter;
mod health;
mod incident;
mod index;
mod item;
mod live;
mod page;
mod routes;
mod sparkline;
mod topic;

pub(crate) use context::{Health, ItemLinks, Scope, WebContext};
pub(crate) use routes::router;
