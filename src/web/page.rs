//! The HTML shell every page shares, the headers every response carries,
//! and the small formatting helpers the templates use.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use maud::{html, Markup, DOCTYPE};

/// Our own style sheet and script only: no inline script, no inline style,
/// no event-handler attributes, no `javascript:` URLs, no frames, no
/// plugins, forms only to ourselves. Inline SVG is markup, not a load.
pub(crate) const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
img-src 'self'; connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

/// The style sheet's path.
pub(crate) const CSS_PATH: &str = "/web/static/web.css";
/// The live page's script's path.
pub(crate) const JS_PATH: &str = "/web/static/live.js";
/// The pages' icon (else a browser asks for `/favicon.ico`, which ROLIE
/// answers 404, an error in its console).
pub(crate) const ICON_PATH: &str = "/web/static/icon.svg";

/// Adds the headers every page and asset carries.
pub(crate) fn secure(mut response: Response) -> Response {
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    response
}

/// A whole page: `title` (escaped like everything else), the navigation,
/// `body`; `script` adds our one script file.
pub(crate) fn shell(title: &str, script: bool, body: Markup) -> Response {
    let markup = html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · gridlink" }
                link rel="stylesheet" href=(CSS_PATH);
                link rel="icon" type="image/svg+xml" href=(ICON_PATH);
                @if script {
                    script src=(JS_PATH) defer {}
                }
            }
            body {
                header {
                    nav {
                        a href="/" { "gridlink" }
                        " · "
                        a href="/web/live" { "live" }
                        " · "
                        a href="/rolie/servicedocument" { "ROLIE" }
                    }
                }
                main { (body) }
            }
        }
    };
    let mut r = markup.into_response();
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

/// An error page (store failures, unknown ids).
pub(crate) fn error(status: StatusCode, message: &str) -> Response {
    let mut r = shell(
        status.canonical_reason().unwrap_or("error"),
        false,
        html! { h1 { (status.as_u16()) " " (status.canonical_reason().unwrap_or("")) } p { (message) } },
    );
    *r.status_mut() = status;
    r
}

/// The answer to a failed store query: logged, a 500 page.
pub(crate) fn store_failed(e: &crate::store::StoreError) -> Response {
    tracing::warn!(error = %e, "web page: store query failed");
    error(
        StatusCode::INTERNAL_SERVER_ERROR,
        "the store could not be read",
    )
}

/// A time as the pages show it: UTC, to the second.
pub(crate) fn when(t: &DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M:%S UTC").to_string()
}

/// How long ago `t` was, roughly (`3 min ago`).
pub(crate) fn ago(t: &DateTime<Utc>, now: &DateTime<Utc>) -> String {
    let s = (*now - *t).num_seconds().max(0);
    match s {
        0..60 => format!("{s} s ago"),
        60..3600 => format!("{} min ago", s / 60),
        3600..86400 => format!("{} h ago", s / 3600),
        _ => format!("{} d ago", s / 86400),
    }
}

/// `s` cut to `max` characters (with `…`), for table cells.
pub(crate) fn cut(s: &str, max: usize) -> String {
    let collapsed = s.split_whitespace().collect::<Vec<_>>().join(" ");
    if collapsed.chars().count() <= max {
        return collapsed;
    }
    let mut out: String = collapsed.chars().take(max).collect();
    out.push('…');
    out
}

/// Percent-encodes `s` as one path segment or query value (everything but
/// RFC 3986 unreserved characters), so no id can become a path step, a
/// query separator or a scheme.
pub(crate) fn enc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'~' => out.push(b as char),
            // A lone `.` or `..` segment would be collapsed by clients.
            b'.' if !s.bytes().all(|b| b == b'.') => out.push('.'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// The topic page's path.
pub(crate) fn topic_path(topic: &str) -> String {
    format!("/web/topics/{}", enc(topic))
}

/// The incident page's path.
pub(crate) fn item_path(topic: &str, item: &str) -> String {
    format!("/web/topics/{}/items/{}", enc(topic), enc(item))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_and_cuts() {
        assert_eq!(enc("a/b c?d&e"), "a%2Fb%20c%3Fd%26e");
        assert_eq!(enc(".."), "%2E%2E");
        assert_eq!(enc("x.y"), "x.y");
        assert_eq!(enc("javascript:x"), "javascript%3Ax");
        assert_eq!(cut("a  b\n c", 10), "a b c");
        assert_eq!(cut("abcdef", 3), "abc…");
        assert_eq!(item_path("t", "i:1"), "/web/topics/t/items/i%3A1");
    }

    #[test]
    fn templates_escape_text_and_attributes() {
        let hostile = "<script>window.__xss=1</script>\"' onload=x";
        let body = html! { p title=(hostile) { (hostile) } }.into_string();
        assert!(!body.contains("<script>"), "{body}");
        assert!(!body.contains("\" onload"), "{body}");
        assert!(body.contains("&lt;script&gt;"), "{body}");
    }
}
