//! The write side: AtomPub POST and DELETE, and what HTTP can check of a
//! posted document.
//!
//! The server never publishes by itself: it validates what HTTP can check
//! (authorisation, size, media type, well-formedness) and hands the document
//! to a [`Publisher`](super::publish::Publisher), which validates the IODEF, publishes it to the grid
//! and answers only once the broker confirmed. The item then reaches the
//! store through the bridge's ingest path like any other notification.

use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use quick_xml::events::Event;
use quick_xml::name::ResolveResult;
use quick_xml::{NsReader, Reader};

use super::documents;
use super::problem::Problem;
use super::publish::{PublishBody, Published};
use super::state::Shared;
use super::xml::ATOM_NS;

/// `POST /rolie/feeds/{topic}`: create a member (RFC 5023 §9.2).
pub(crate) async fn create(
    State(st): State<Shared>,
    Path(topic): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, Problem> {
    st.auth.write(&headers, &topic)?;
    if !st.known_topic(&topic).await? {
        return Err(Problem::not_found());
    }
    // A client that announces a body and then stalls (or trickles it) is
    // cut off: the server's header timeouts do not cover the body.
    let limit = st.config.request_timeout();
    let bytes = tokio::time::timeout(limit, read_limited(&headers, body, st.config.max_body))
        .await
        .map_err(|_| {
            Problem::new(
                StatusCode::REQUEST_TIMEOUT,
                format!("request body not received within {} s", limit.as_secs()),
            )
        })??;
    let parsed = parse_body(&headers, &bytes)?;
    let started = std::time::Instant::now();
    let Published { item_id, confirmed } = st.publisher.publish(&topic, parsed).await?;
    let location = st.urls.entry(&topic, &item_id);
    if !confirmed {
        // Accepted into the durable outbox, not yet confirmed by the broker
        // (RFC 9110 §15.3.3): it will be published when the broker is back.
        tracing::info!(%topic, item = %item_id, "accepted via AtomPub; queued for the broker");
        let mut r = (
            StatusCode::ACCEPTED,
            "accepted: queued until the XMPP broker confirms it; the Location will resolve then\n",
        )
            .into_response();
        if let Ok(v) = HeaderValue::from_str(&location) {
            r.headers_mut().insert(header::LOCATION, v);
        }
        return Ok(r);
    }
    tracing::info!(%topic, item = %item_id, elapsed_ms = started.elapsed().as_millis() as u64, "published via AtomPub");
    let mut response = match st.store.get(&topic, &item_id).await? {
        Some(item) => {
            let body = documents::entry_document(&st.doc_context(), &item)?;
            let mut r = (StatusCode::CREATED, body).into_response();
            let h = r.headers_mut();
            h.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static(documents::ENTRY_MEDIA_TYPE),
            );
            if let Ok(v) = HeaderValue::from_str(&location) {
                h.insert(header::CONTENT_LOCATION, v);
            }
            r
        }
        None => StatusCode::CREATED.into_response(),
    };
    if let Ok(v) = HeaderValue::from_str(&location) {
        response.headers_mut().insert(header::LOCATION, v);
    }
    Ok(response)
}

/// `DELETE /rolie/feeds/{topic}/entries/{item}`: retract (RFC 5023 §9.4).
pub(crate) async fn delete(
    State(st): State<Shared>,
    Path((topic, item)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Response, Problem> {
    st.auth.write(&headers, &topic)?;
    st.publisher.retract(&topic, &item).await?;
    // The broker confirmed: drop it here too rather than wait for the
    // retract notification, so the feed is right at once (idempotent).
    st.store.retract(&topic, &item).await?;
    Ok(StatusCode::OK.into_response())
}

async fn read_limited(headers: &HeaderMap, body: Body, max: usize) -> Result<Bytes, Problem> {
    let too_large = || {
        Problem::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("body exceeds {max} bytes"),
        )
    };
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > max as u64) {
        return Err(too_large());
    }
    // Bodies without a length (chunked) are cut off at the limit too.
    axum::body::to_bytes(body, max)
        .await
        .map_err(|_| too_large())
}

/// Fuzzing entry point: an AtomPub POST body with its `Content-Type`, read
/// as the collection's POST handler reads it. True if accepted.
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub fn fuzz_post_body(content_type: &str, bytes: &[u8]) -> bool {
    let mut headers = HeaderMap::new();
    if let Ok(v) = HeaderValue::from_str(content_type) {
        headers.insert(header::CONTENT_TYPE, v);
    }
    parse_body(&headers, bytes).is_ok()
}

fn bad(message: impl Into<String>) -> Problem {
    Problem::new(StatusCode::BAD_REQUEST, message)
}

fn parse_body(headers: &HeaderMap, bytes: &[u8]) -> Result<PublishBody, Problem> {
    let unsupported = || {
        Problem::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "use application/xml (IODEF), application/json (RFC 8727) or application/atom+xml;type=entry",
        )
    };
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(unsupported)?
        .to_ascii_lowercase();
    let mut parts = content_type.split(';').map(str::trim);
    let essence = parts.next().unwrap_or_default();
    let text = std::str::from_utf8(bytes).map_err(|_| bad("body is not UTF-8"))?;
    match essence {
        "application/xml" | "text/xml" => {
            well_formed(text)?;
            Ok(PublishBody::Xml(text.to_owned()))
        }
        "application/json" => {
            serde_json::from_str::<serde_json::Value>(text)
                .map_err(|e| bad(format!("invalid JSON: {e}")))?;
            Ok(PublishBody::Json(text.to_owned()))
        }
        "application/atom+xml" => {
            if parts.any(|p| p.replace(' ', "") == "type=feed") {
                return Err(unsupported());
            }
            from_atom_entry(text)
        }
        _ => Err(unsupported()),
    }
}

/// Checks that `text` is one well-formed XML element.
fn well_formed(text: &str) -> Result<(), Problem> {
    let mut reader = Reader::from_str(text);
    let (mut depth, mut roots) = (0usize, 0usize);
    loop {
        match reader.read_event() {
            Ok(Event::Eof) => break,
            Ok(Event::Start(_)) => {
                roots += usize::from(depth == 0);
                depth += 1;
            }
            Ok(Event::End(_)) => depth = depth.saturating_sub(1),
            Ok(Event::Empty(_)) => roots += usize::from(depth == 0),
            Ok(Event::Text(t)) if depth == 0 && !t.iter().all(u8::is_ascii_whitespace) => {
                return Err(bad("text outside the root element"));
            }
            Ok(Event::DocType(_)) => return Err(bad("DOCTYPE is not accepted")),
            Ok(_) => {}
            Err(e) => {
                return Err(bad(format!(
                    "not well-formed XML at byte {}: {e}",
                    reader.error_position()
                )));
            }
        }
    }
    match (roots, depth) {
        (1, 0) => Ok(()),
        (0, _) => Err(bad("no root element")),
        (_, 0) => Err(bad("more than one root element")),
        _ => Err(bad("unclosed element")),
    }
}

/// Takes the IODEF out of a posted Atom entry's inline `atom:content`.
///
/// XML content is cut out of the entry byte for byte, so namespaces the
/// IODEF uses must be declared on or inside its root element (as IODEF
/// documents normally do), not on the `atom:entry`.
fn from_atom_entry(text: &str) -> Result<PublishBody, Problem> {
    let mut reader = NsReader::from_str(text);
    let atom = |r: &ResolveResult<'_>| matches!(r, ResolveResult::Bound(ns) if ns.as_ref() == ATOM_NS.as_bytes());
    let mut depth = 0usize;
    let mut content: Option<(String, usize)> = None; // (type, start offset)
    let mut before = 0u64;
    loop {
        let (ns, event) = reader
            .read_resolved_event()
            .map_err(|e| bad(format!("not well-formed Atom entry: {e}")))?;
        match event {
            Event::Eof => break,
            // quick-xml expands no entities, but a DTD has no business in
            // an entry and is refused here as in a bare IODEF document.
            Event::DocType(_) => return Err(bad("DOCTYPE is not accepted")),
            Event::Start(e) if depth == 0 => {
                if !(atom(&ns) && e.local_name().as_ref() == b"entry") {
                    return Err(bad("root element is not atom:entry"));
                }
                depth = 1;
            }
            Event::Empty(_) if depth == 0 => return Err(bad("empty atom:entry")),
            Event::Start(e) if depth == 1 && atom(&ns) && e.local_name().as_ref() == b"content" => {
                if e.try_get_attribute("src").ok().flatten().is_some() {
                    return Err(bad("atom:content must carry the IODEF inline, not by src"));
                }
                let ty = e
                    .try_get_attribute("type")
                    .ok()
                    .flatten()
                    .and_then(|a| a.unescape_value().ok())
                    .map(|v| v.to_ascii_lowercase())
                    .unwrap_or_else(|| "text".into());
                content = Some((ty, reader.buffer_position() as usize));
                depth = 2;
            }
            Event::Start(_) => depth += 1,
            Event::End(_) if depth == 2 && content.is_some() => {
                let (ty, start) = content.take().unwrap_or_default();
                let inner = text.get(start..before as usize).unwrap_or_default();
                return content_body(&ty, inner);
            }
            Event::End(_) => depth = depth.saturating_sub(1),
            _ => {}
        }
        before = reader.buffer_position();
    }
    Err(bad("atom:entry has no inline atom:content"))
}

fn content_body(ty: &str, inner: &str) -> Result<PublishBody, Problem> {
    let essence = ty.split(';').next().unwrap_or_default().trim();
    if essence == "xml"
        || essence == "application/xml"
        || essence == "text/xml"
        || essence.ends_with("+xml")
    {
        let doc = inner.trim();
        well_formed(doc)?;
        Ok(PublishBody::Xml(doc.to_owned()))
    } else if essence == "application/json" {
        let json = quick_xml::escape::unescape(inner)
            .map_err(|e| bad(format!("bad escape in content: {e}")))?;
        serde_json::from_str::<serde_json::Value>(&json)
            .map_err(|e| bad(format!("invalid JSON: {e}")))?;
        Ok(PublishBody::Json(json.into_owned()))
    } else {
        Err(bad(format!(
            "atom:content type {ty:?} is not IODEF (use application/xml or application/json)"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extracts_inline_iodef() {
        let entry = format!(
            "<entry xmlns=\"{ATOM_NS}\"><title>t</title><content type=\"application/xml\">\n  <IODEF-Document xmlns=\"urn:ietf:params:xml:ns:iodef-2.0\"><Incident/></IODEF-Document>\n</content></entry>"
        );
        assert_eq!(
            from_atom_entry(&entry).unwrap(),
            PublishBody::Xml("<IODEF-Document xmlns=\"urn:ietf:params:xml:ns:iodef-2.0\"><Incident/></IODEF-Document>".into())
        );
        let json = format!("<entry xmlns=\"{ATOM_NS}\"><content type=\"application/json\">{{&quot;a&quot;:1}}</content></entry>");
        assert_eq!(
            from_atom_entry(&json).unwrap(),
            PublishBody::Json("{\"a\":1}".into())
        );
        assert!(from_atom_entry("<entry/>").is_err());
        assert!(well_formed("<a><b></a>").is_err());
        assert!(well_formed("<a/><b/>").is_err());
        assert!(well_formed("<a>x</a>").is_ok());
    }
}
