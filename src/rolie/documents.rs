//! The four ROLIE documents: service, categories, feed and entry.
//!
//! Each function renders one complete document from store data and the
//! configuration. Rendering is deterministic (no clock, no randomness), so
//! a document's ETag is a pure function of what the store holds and a
//! restarted server serves byte-identical documents.

use chrono::{DateTime, SecondsFormat, Utc};
use sha2::{Digest, Sha256};

use super::config::{AuthorFrom, RolieConfig};
use super::entry_meta::EntryMeta;
use super::urls::Urls;
use super::xml::{
    XmlOut, APP_NS, ATOM_NS, CONTENT_ID_PROPERTY, INFORMATION_TYPE_SCHEME, PURPOSE_SCHEME,
    ROLIE_NS, TOMBSTONES_NS,
};
use crate::store::{Cursor, Page, StoredItem, Tombstone};

/// `application/atom+xml;type=entry` and friends, as served.
pub const ENTRY_MEDIA_TYPE: &str = "application/atom+xml;type=entry;charset=utf-8";
/// The feed media type (RFC 5023 §12 `type` parameter).
pub const FEED_MEDIA_TYPE: &str = "application/atom+xml;type=feed;charset=utf-8";
/// The service document media type (RFC 5023 §8).
pub const SERVICE_MEDIA_TYPE: &str = "application/atomsvc+xml;charset=utf-8";
/// The category document media type (RFC 5023 §7).
pub const CATEGORIES_MEDIA_TYPE: &str = "application/atomcat+xml;charset=utf-8";

/// What every document needs: where things live and how topics are set up.
pub(crate) struct DocContext<'a> {
    pub(crate) urls: &'a Urls,
    pub(crate) config: &'a RolieConfig,
    /// Whether the RFC 8727 JSON form is available (an `alternate` link).
    pub(crate) json: bool,
    /// Whether POST is accepted (otherwise collections say `<accept/>`).
    pub(crate) writable: bool,
}

type Doc = Result<String, std::io::Error>;

/// RFC 3339 with milliseconds and `Z`, as Atom Date Constructs want.
pub(crate) fn date(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// A stable `urn:uuid:` derived from `parts` (SHA-256, RFC 9562 version 8).
pub(crate) fn stable_urn(parts: &[&str]) -> String {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p.as_bytes());
        h.update([0u8]);
    }
    let d = h.finalize();
    let mut b = [0u8; 16];
    b.copy_from_slice(&d[..16]);
    b[6] = (b[6] & 0x0f) | 0x80;
    b[8] = (b[8] & 0x3f) | 0x80;
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "urn:uuid:{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

/// The AtomPub service document: one workspace, one collection per topic,
/// each with exactly one information-type category (RFC 8322 §5.1.2).
pub(crate) fn service_document(ctx: &DocContext<'_>, topics: &[String]) -> Doc {
    // Workspaces in order: the default one first, then the others by title.
    let default = ctx.config.workspace_title.as_str();
    let mut workspaces: Vec<&str> = topics.iter().map(|t| ctx.config.workspace(t)).collect();
    workspaces.push(default);
    workspaces.sort_by_key(|w| (*w != default, *w));
    workspaces.dedup();
    let mut out = XmlOut::new();
    out.start("service", &[("xmlns", APP_NS), ("xmlns:atom", ATOM_NS)]);
    for workspace in workspaces {
        let members: Vec<&String> = topics
            .iter()
            .filter(|t| ctx.config.workspace(t) == workspace)
            .collect();
        if members.is_empty() && workspace == default && !topics.is_empty() {
            continue; // every topic lives elsewhere; RFC 5023 only needs one workspace
        }
        out.start("workspace", &[]);
        out.text("atom:title", &[("type", "text")], workspace);
        for topic in members {
            write_collection(&mut out, ctx, topic);
        }
        out.end("workspace");
    }
    out.end("service");
    out.finish()
}

fn write_collection(out: &mut XmlOut, ctx: &DocContext<'_>, topic: &str) {
    out.start("collection", &[("href", &ctx.urls.feed(topic))]);
    out.text("atom:title", &[("type", "text")], &ctx.config.title(topic));
    if ctx.writable {
        for accept in [
            "application/atom+xml;type=entry",
            "application/xml",
            "application/json",
        ] {
            out.text("accept", &[], accept);
        }
    } else {
        // RFC 5023 §8.3.4: one empty accept = members cannot be created.
        out.empty("accept", &[]);
    }
    out.start("categories", &[("fixed", "yes")]);
    out.empty("atom:category", &info_type(ctx, topic));
    out.end("categories");
    out.end("collection");
}

fn info_type<'a>(ctx: &'a DocContext<'_>, topic: &str) -> [(&'a str, &'a str); 2] {
    [
        ("scheme", INFORMATION_TYPE_SCHEME),
        ("term", ctx.config.information_type(topic)),
    ]
}

/// The category document: every information type the repository serves.
pub(crate) fn categories_document(ctx: &DocContext<'_>, topics: &[String]) -> Doc {
    let mut terms: Vec<&str> = topics
        .iter()
        .map(|t| ctx.config.information_type(t))
        .chain([ctx.config.default_information_type.as_str()])
        .collect();
    terms.sort_unstable();
    terms.dedup();
    let mut out = XmlOut::new();
    out.start(
        "app:categories",
        &[
            ("xmlns:app", APP_NS),
            ("xmlns:atom", ATOM_NS),
            ("fixed", "yes"),
            ("scheme", INFORMATION_TYPE_SCHEME),
        ],
    );
    for term in terms {
        out.empty(
            "atom:category",
            &[("scheme", INFORMATION_TYPE_SCHEME), ("term", term)],
        );
    }
    out.end("app:categories");
    out.finish()
}

/// The feed media type without parameters, as `type` of feed links.
pub(crate) const FEED_LINK_TYPE: &str = "application/atom+xml;type=feed";

/// Opens a topic's `atom:feed` and writes what every document of the feed
/// carries, whichever part of it it is (RFC 8322 §6.1): id, title,
/// updated, author, generator, the information-type category, `self` and
/// `service` links. `namespaces` are extra declarations on the root.
pub(crate) fn start_feed(
    out: &mut XmlOut,
    ctx: &DocContext<'_>,
    topic: &str,
    updated: DateTime<Utc>,
    self_url: &str,
    namespaces: &[(&str, &str)],
) {
    let mut root = vec![
        ("xmlns", ATOM_NS),
        ("xmlns:app", APP_NS),
        ("xmlns:rolie", ROLIE_NS),
    ];
    root.extend_from_slice(namespaces);
    out.start("feed", &root);
    // One id for the logical feed: its pages and archives are parts of it.
    out.text("id", &[], &stable_urn(&["feed", topic]));
    out.text("title", &[("type", "text")], &ctx.config.title(topic));
    out.text("updated", &[], &date(updated));
    out.start("author", &[]);
    out.text("name", &[], &ctx.config.author);
    out.end("author");
    out.text(
        "generator",
        &[("version", env!("CARGO_PKG_VERSION"))],
        "gridlink",
    );
    out.empty("category", &info_type(ctx, topic));
    out.empty(
        "link",
        &[
            ("rel", "self"),
            ("type", FEED_LINK_TYPE),
            ("href", self_url),
        ],
    );
    out.empty(
        "link",
        &[
            ("rel", "service"),
            ("type", "application/atomsvc+xml"),
            ("href", &ctx.urls.service()),
        ],
    );
}

/// One page of a topic's feed, with RFC 5005 paging links and, on the
/// first page, RFC 6721 tombstones of recently retracted items and the
/// RFC 5005 §4 `prev-archive` link to the newest archive document
/// (`prev_archive`, its block number).
pub(crate) fn feed_document(
    ctx: &DocContext<'_>,
    topic: &str,
    updated: DateTime<Utc>,
    page: &Page,
    cursor: Cursor,
    tombstones: &[Tombstone],
    prev_archive: Option<u64>,
) -> Doc {
    let urls = ctx.urls;
    let self_url = match cursor {
        Cursor::Newest => urls.feed(topic),
        Cursor::Before(s) => urls.feed_before(topic, s),
        Cursor::After(s) => urls.feed_after(topic, s),
    };
    let mut out = XmlOut::new();
    start_feed(
        &mut out,
        ctx,
        topic,
        updated,
        &self_url,
        &[("xmlns:at", TOMBSTONES_NS)],
    );
    let feed_type = FEED_LINK_TYPE;
    // RFC 5005 §4: the subscription document (this first page) links the
    // newest archive. The paging links stay: the first page is both the
    // head of the paged feed (§3) and the subscription document (§4), and
    // clients ignore relations they do not know (RFC 8322 §6.1.2).
    if let Some(block) = prev_archive {
        out.empty(
            "link",
            &[
                ("rel", "prev-archive"),
                ("type", feed_type),
                ("href", &urls.archive(topic, block)),
            ],
        );
    }
    out.empty(
        "link",
        &[
            ("rel", "first"),
            ("type", feed_type),
            ("href", &urls.feed(topic)),
        ],
    );
    if page.has_newer {
        if let Some(first) = page.items.first() {
            let href = urls.feed_after(topic, first.seq);
            out.empty(
                "link",
                &[("rel", "previous"), ("type", feed_type), ("href", &href)],
            );
        }
    }
    if page.has_older {
        if let Some(last) = page.items.last() {
            let href = urls.feed_before(topic, last.seq);
            out.empty(
                "link",
                &[("rel", "next"), ("type", feed_type), ("href", &href)],
            );
        }
    }
    let last = urls.feed_after(topic, 0);
    out.empty(
        "link",
        &[("rel", "last"), ("type", feed_type), ("href", &last)],
    );
    // Extension elements go before the entries (RFC 4287's feed grammar).
    for t in tombstones {
        let id = stable_urn(&["entry", topic, &t.item_id]);
        out.empty(
            "at:deleted-entry",
            &[("ref", &id), ("when", &date(t.deleted))],
        );
    }
    for item in &page.items {
        write_entry(&mut out, ctx, item, false);
    }
    out.end("feed");
    out.finish()
}

/// A standalone entry document (RFC 8322 §6.2.5: with `rel="collection"`
/// and the information-type category).
pub(crate) fn entry_document(ctx: &DocContext<'_>, item: &StoredItem) -> Doc {
    let mut out = XmlOut::new();
    write_entry(&mut out, ctx, item, true);
    out.finish()
}

pub(crate) fn write_entry(
    out: &mut XmlOut,
    ctx: &DocContext<'_>,
    item: &StoredItem,
    standalone: bool,
) {
    let env = &item.envelope;
    let (topic, id) = (env.topic.as_str(), env.item_id.as_str());
    let urls = ctx.urls;
    let meta = EntryMeta::of_envelope(env);
    if standalone {
        out.start(
            "entry",
            &[
                ("xmlns", ATOM_NS),
                ("xmlns:app", APP_NS),
                ("xmlns:rolie", ROLIE_NS),
            ],
        );
    } else {
        out.start("entry", &[]);
    }
    out.text("id", &[], &stable_urn(&["entry", topic, id]));
    out.text("title", &[("type", "text")], &meta.title(id));
    out.text("published", &[], &date(item.published));
    out.text("updated", &[], &date(item.updated));
    out.text("app:edited", &[], &date(item.updated));
    out.start("author", &[]);
    let author = match ctx.config.author_from {
        AuthorFrom::Publisher => env.publisher.as_deref(),
        AuthorFrom::Repository => None,
    };
    out.text("name", &[], author.unwrap_or(&ctx.config.author));
    out.end("author");
    out.empty("category", &info_type(ctx, topic));
    if let Some(purpose) = &meta.purpose {
        out.empty("category", &[("scheme", PURPOSE_SCHEME), ("term", purpose)]);
    }
    out.text("summary", &[("type", "text")], &meta.summary(id));
    let entry_url = urls.entry(topic, id);
    let entry_type = "application/atom+xml;type=entry";
    out.empty(
        "link",
        &[("rel", "self"), ("type", entry_type), ("href", &entry_url)],
    );
    out.empty(
        "link",
        &[("rel", "edit"), ("type", entry_type), ("href", &entry_url)],
    );
    let feed_type = "application/atom+xml;type=feed";
    out.empty(
        "link",
        &[
            ("rel", "collection"),
            ("type", feed_type),
            ("href", &urls.feed(topic)),
        ],
    );
    if standalone {
        let svc = urls.service();
        out.empty(
            "link",
            &[
                ("rel", "service"),
                ("type", "application/atomsvc+xml"),
                ("href", &svc),
            ],
        );
    }
    if let Some((href, title)) = &meta.severity {
        // ROLIE vulnerability draft §5: the document scoring the severity.
        out.empty(
            "link",
            &[("rel", "severity"), ("href", href), ("title", title)],
        );
    }
    if ctx.json && !meta.json {
        let href = urls.json(topic, id);
        out.empty(
            "link",
            &[
                ("rel", "alternate"),
                ("type", "application/json"),
                ("href", &href),
            ],
        );
    }
    out.empty("rolie:format", &[("ns", &env.payload_ns)]);
    if let Some(incident_id) = &meta.incident_id {
        out.empty(
            "rolie:property",
            &[("name", CONTENT_ID_PROPERTY), ("value", incident_id)],
        );
    }
    let content = match meta.json {
        true => ("application/json", urls.document_json(topic, id)),
        false => ("application/xml", urls.xml(topic, id)),
    };
    out.empty("content", &[("type", content.0), ("src", &content.1)]);
    out.end("entry");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urns_are_stable_uuids() {
        let a = stable_urn(&["entry", "t", "1"]);
        assert_eq!(a, stable_urn(&["entry", "t", "1"]));
        assert_ne!(a, stable_urn(&["entry", "t1", ""]));
        assert_eq!(a.len(), "urn:uuid:".len() + 36);
        assert_eq!(&a[23..24], "8");
    }
}
