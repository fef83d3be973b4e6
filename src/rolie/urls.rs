//! The repository's URL layout, in one place.
//!
//! ```text
//! /rolie/servicedocument                         AtomPub service document
//! /rolie/categories                              AtomPub category document
//! /rolie/feeds/{topic}[?before=N|?after=N]       collection: feed (GET), create (POST)
//! /rolie/feeds/{topic}/archive/{n}               RFC 5005 archive document (GET)
//! /rolie/feeds/{topic}/entries/{item}            entry document (GET), retract (DELETE)
//! /rolie/feeds/{topic}/entries/{item}/iodef.xml  the IODEF document (content src)
//! /rolie/feeds/{topic}/entries/{item}/iodef.json its RFC 8727 JSON form
//! /rolie/feeds/{topic}/entries/{item}/document.json a CSAF or CVE document (content src)
//! ```
//!
//! Topic and item ids are percent-encoded as single path segments, so a `/`
//! or `..` inside a node name can never become a path step; handlers only
//! ever look ids up in the store, never on the file system.
//!
//! The router's patterns ([`Route::pattern`]), the links in documents
//! ([`Urls`]) and the fast path's recognition of feed paths
//! ([`feed_path`]) are all made of the constants below.

/// The service document.
const SERVICE: &str = "/rolie/servicedocument";
/// The category document.
const CATEGORIES: &str = "/rolie/categories";
/// What precedes a topic: the collections.
const FEEDS: &str = "/rolie/feeds/";
/// Between a topic and an archive block number.
const ARCHIVE: &str = "/archive/";
/// Between a topic and an item id.
const ENTRIES: &str = "/entries/";
/// After an entry: its IODEF document.
const XML: &str = "/iodef.xml";
/// After an entry: its RFC 8727 JSON form.
const JSON: &str = "/iodef.json";
/// After an entry: its CSAF advisory or CVE record.
const DOCUMENT_JSON: &str = "/document.json";

/// The server's routes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Route {
    /// AtomPub service document.
    Service,
    /// AtomPub category document.
    Categories,
    /// A topic's feed (GET) and collection (POST).
    Feed,
    /// An archive document.
    Archive,
    /// An entry document (GET) and member (DELETE).
    Entry,
    /// An entry's IODEF document.
    Xml,
    /// An entry's JSON form.
    Json,
    /// An entry's CSAF or CVE document.
    DocumentJson,
    /// Prometheus metrics.
    Metrics,
    /// Health.
    Healthz,
}

impl Route {
    /// The router's path pattern (`{topic}`, `{block}`, `{item}` captures).
    pub(crate) fn pattern(self) -> String {
        let feed = format!("{FEEDS}{{topic}}");
        let entry = format!("{feed}{ENTRIES}{{item}}");
        match self {
            Route::Service => SERVICE.to_owned(),
            Route::Categories => CATEGORIES.to_owned(),
            Route::Feed => feed,
            Route::Archive => format!("{feed}{ARCHIVE}{{block}}"),
            Route::Entry => entry,
            Route::Xml => format!("{entry}{XML}"),
            Route::Json => format!("{entry}{JSON}"),
            Route::DocumentJson => format!("{entry}{DOCUMENT_JSON}"),
            Route::Metrics => "/metrics".to_owned(),
            Route::Healthz => "/healthz".to_owned(),
        }
    }
}

/// The raw (still percent-encoded) topic and, for an archive, block
/// segment of a feed or archive path; `None` for any other path.
pub(crate) fn feed_path(path: &str) -> Option<(&str, Option<&str>)> {
    let rest = path.strip_prefix(FEEDS)?;
    Some(match rest.split_once(ARCHIVE) {
        Some((topic, block)) => (topic, Some(block)),
        None => (rest, None),
    })
}

/// Builds absolute URLs below the public base URL.
#[derive(Debug, Clone)]
pub(crate) struct Urls {
    base: String,
}

impl Urls {
    /// `base` without a trailing slash, e.g. `https://rolie.example.org`.
    pub(crate) fn new(base: &str) -> Urls {
        Urls {
            base: base.trim_end_matches('/').to_owned(),
        }
    }

    pub(crate) fn service(&self) -> String {
        format!("{}{SERVICE}", self.base)
    }

    pub(crate) fn feed(&self, topic: &str) -> String {
        format!("{}{FEEDS}{}", self.base, segment(topic))
    }

    pub(crate) fn feed_before(&self, topic: &str, seq: i64) -> String {
        format!("{}?before={seq}", self.feed(topic))
    }

    pub(crate) fn feed_after(&self, topic: &str, seq: i64) -> String {
        format!("{}?after={seq}", self.feed(topic))
    }

    pub(crate) fn archive(&self, topic: &str, block: u64) -> String {
        format!("{}{ARCHIVE}{block}", self.feed(topic))
    }

    pub(crate) fn entry(&self, topic: &str, item: &str) -> String {
        format!("{}{ENTRIES}{}", self.feed(topic), segment(item))
    }

    pub(crate) fn xml(&self, topic: &str, item: &str) -> String {
        format!("{}{XML}", self.entry(topic, item))
    }

    pub(crate) fn json(&self, topic: &str, item: &str) -> String {
        format!("{}{JSON}", self.entry(topic, item))
    }

    pub(crate) fn document_json(&self, topic: &str, item: &str) -> String {
        format!("{}{DOCUMENT_JSON}", self.entry(topic, item))
    }
}

/// Percent-encodes `s` as one path segment: everything but RFC 3986
/// unreserved characters is encoded, and so are the dots of a `.` or `..`
/// segment (which clients would otherwise collapse).
pub(crate) fn segment(s: &str) -> String {
    let all_dots = !s.is_empty() && s.bytes().all(|b| b == b'.');
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'.' if all_dots => out.push_str("%2E"),
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_are_opaque() {
        assert_eq!(segment("a/b c"), "a%2Fb%20c");
        assert_eq!(segment(".."), "%2E%2E");
        assert_eq!(segment("a.b"), "a.b");
        assert_eq!(segment("é"), "%C3%A9");
    }

    /// Links and routes agree: a link's path is its route's pattern with
    /// the captures filled in.
    #[test]
    fn links_follow_the_routes() {
        let u = Urls::new("https://r.example/");
        let fill = |r: Route| {
            format!(
                "https://r.example{}",
                r.pattern()
                    .replace("{topic}", "t")
                    .replace("{item}", "i")
                    .replace("{block}", "3")
            )
        };
        assert_eq!(u.service(), fill(Route::Service));
        assert_eq!(u.feed("t"), fill(Route::Feed));
        assert_eq!(u.archive("t", 3), fill(Route::Archive));
        assert_eq!(u.entry("t", "i"), fill(Route::Entry));
        assert_eq!(u.xml("t", "i"), fill(Route::Xml));
        assert_eq!(u.json("t", "i"), fill(Route::Json));
        assert_eq!(feed_path("/rolie/feeds/t"), Some(("t", None)));
        assert_eq!(
            feed_path("/rolie/feeds/t/archive/3"),
            Some(("t", Some("3")))
        );
        assert_eq!(feed_path("/rolie/categories"), None);
    }
}
