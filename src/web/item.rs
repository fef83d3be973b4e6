//! `/web/topics/{topic}/items/{item}`: one item's incidents — IncidentID,
//! purpose, status, times, contacts, assessment, indicators as a table,
//! events and systems — with links to its IODEF XML, RFC 8727 JSON and
//! Atom entry.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use maud::{html, Markup};

use super::context::WebContext;
use super::incident::{incidents, safe_link, IncidentView, Part, Values};
use super::page::{error, shell, store_failed, topic_path, when};

/// `GET /web/topics/{topic}/items/{item}`.
pub(crate) async fn item(
    State(ctx): State<WebContext>,
    Path((topic, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    if let Err(refused) = (ctx.read)(&headers, Some(&topic)) {
        return *refused;
    }
    let it = match ctx.store.get(&topic, &id).await {
        Ok(Some(it)) => it,
        Ok(None) => return error(StatusCode::NOT_FOUND, "no such item"),
        Err(e) => return store_failed(&e),
    };
    let links = (ctx.links)(&topic, &id);
    let parsed = crate::iodef::parse(it.envelope.document.as_bytes());
    let views = parsed.as_ref().map(incidents).unwrap_or_default();
    let title = views
        .first()
        .map(|v| v.id.clone())
        .filter(|i| !i.is_empty())
        .unwrap_or_else(|| id.clone());
    let body = html! {
        p.crumbs { a href=(topic_path(&topic)) { "← " (topic) } }
        h1 { "Incident " span #incident-id { (title) } }
        p.links {
            a #xml href=(links.xml) { "IODEF XML" } " · "
            @if let Some(json) = &links.json { a #json href=(json) { "RFC 8727 JSON" } " · " }
            a #entry href=(links.entry) { "Atom entry" }
        }
        dl.meta {
            dt { "item" } dd { (id) }
            dt { "stored" } dd { (when(&it.updated)) }
            dt { "first stored" } dd { (when(&it.published)) }
            @if let Some(p) = &it.envelope.publisher { dt { "publisher" } dd { (p) } }
        }
        @if let Err(e) = &parsed {
            p.bad { "This document could not be read as IODEF: " (e.to_string()) }
        }
        @for v in &views { (incident(v)) }
    };
    shell(&format!("Incident {title}"), false, body)
}

fn incident(v: &IncidentView) -> Markup {
    html! {
        section.incident {
            h2 { (v.id) @if !v.id_name.is_empty() { span.csirt { " from " (v.id_name) } } }
            dl.meta {
                dt { "purpose" } dd.purpose { (v.purpose) }
                dt { "status" } dd { @if v.status.is_empty() { "—" } @else { (v.status) } }
                dt { "restriction" } dd.restriction { (v.restriction) }
                @for (k, t) in &v.times { dt { (k) } dd { (t) } }
            }
            @for d in &v.descriptions { p.description { (d) } }
            h3 { "Indicators" }
            @if v.indicators.is_empty() { p.empty { "none" } } @else {
                table.indicators {
                    thead { tr { th { "IndicatorID" } th { "kind" } th { "value" } th { "description" } } }
                    tbody {
                        @for i in &v.indicators {
                            @if i.values.is_empty() {
                                tr { td { (i.id) } td { "—" } td { "—" } td.desc { (i.description) } }
                            }
                            @for (kind, value) in &i.values {
                                tr { td { (i.id) } td { (kind) } td.value { (value) } td.desc { (i.description) } }
                            }
                        }
                    }
                }
            }
            (parts("Assessment", &v.assessments))
            (parts("Contacts", &v.contacts))
            (parts("Events", &v.events))
            (parts("Systems", &v.systems))
            @if !v.urls.is_empty() {
                h3 { "URLs" }
                ul.urls {
                    @for u in &v.urls {
                        li {
                            // Only http(s) becomes a link; anything else
                            // (`javascript:`, `data:`) stays text.
                            @match safe_link(u) {
                                Some(href) => a href=(href) rel="noopener noreferrer nofollow" { (u) },
                                None => code { (u) },
                            }
                        }
                    }
                }
            }
        }
    }
}

fn parts(title: &str, parts: &[Part]) -> Markup {
    html! {
        @if !parts.is_empty() {
            h3 { (title) }
            @for p in parts {
                div.part {
                    h4 { (p.label) }
                    @if !p.facts.is_empty() {
                        dl { @for (k, v) in &p.facts { dt { (k) } dd { (v) } } }
                    }
                    (values(&p.values))
                }
            }
        }
    }
}

fn values(v: &Values) -> Markup {
    html! {
        @if !v.is_empty() {
            ul.values { @for (kind, value) in v { li { span.kind { (kind) } " " span.value { (value) } } } }
        }
    }
}
