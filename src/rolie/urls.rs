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
//! ```
//!
//! Topic and item ids are percent-encoded as single path segments, so a `/`
//! or `..` inside a node name can never become a path step; handlers only
//! ever look ids up in the store, never on the file system.

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
        format!("{}/rolie/servicedocument", self.base)
    }

    pub(crate) fn feed(&self, topic: &str) -> String {
        format!("{}/rolie/feeds/{}", self.base, segment(topic))
    }

    pub(crate) fn feed_before(&self, topic: &str, seq: i64) -> String {
        format!("{}?before={seq}", self.feed(topic))
    }

    pub(crate) fn feed_after(&self, topic: &str, seq: i64) -> String {
        format!("{}?after={seq}", self.feed(topic))
    }

    pub(crate) fn archive(&self, topic: &str, block: u64) -> String {
        format!("{}/archive/{block}", self.feed(topic))
    }

    pub(crate) fn entry(&self, topic: &str, item: &str) -> String {
        format!("{}/entries/{}", self.feed(topic), segment(item))
    }

    pub(crate) fn xml(&self, topic: &str, item: &str) -> String {
        format!("{}/iodef.xml", self.entry(topic, item))
    }

    pub(crate) fn json(&self, topic: &str, item: &str) -> String {
        format!("{}/iodef.json", self.entry(topic, item))
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
}
