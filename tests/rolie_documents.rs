//! Every document the ROLIE server serves, checked by independent tools:
//! `jing -c` against the RFC 4287 / RFC 5023 RELAX NG grammars, and Python
//! `feedparser` (must parse with `bozo == 0`).

mod common;

use common::rolie::*;

/// The service document is valid AtomPub and served as `application/atomsvc+xml`.
#[tokio::test]
async fn service_document_validates_with_jing() {
    let s = start_filled().await;
    let r = get(&s.url("/rolie/servicedocument")).await;
    assert_eq!(r.status(), 200);
    assert!(r.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("application/atomsvc+xml"));
    let body = r.text().await.unwrap();
    jing("rfc5023-appB-atompub-service.rnc", &body);
    assert!(
        body.contains("xmlns=\"http://www.w3.org/2007/app\""),
        "{body}"
    );
    assert!(
        body.contains("xmlns:atom=\"http://www.w3.org/2005/Atom\""),
        "{body}"
    );
    assert!(
        !body.contains("https://www.w3.org"),
        "RFC 8322's misprinted namespaces: {body}"
    );
}

/// The category document is valid AtomPub and lists both information types.
#[tokio::test]
async fn category_document_validates_with_jing() {
    let s = start_filled().await;
    let r = get(&s.url("/rolie/categories")).await;
    assert_eq!(r.status(), 200);
    assert!(r.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("application/atomcat+xml"));
    let body = r.text().await.unwrap();
    jing("rfc5023-appB-atompub-categories.rnc", &body);
    assert!(
        body.contains("term=\"incident\"") && body.contains("term=\"indicator\""),
        "{body}"
    );
}

/// Feeds (full, empty, paged) are valid Atom and parse cleanly in feedparser.
#[tokio::test]
async fn feeds_validate_with_jing_and_feedparser() {
    let s = start_filled().await;
    for path in [
        "/rolie/feeds/incidents",
        "/rolie/feeds/indicators",
        "/rolie/feeds/incidents?before=3",
        "/rolie/feeds/incidents?after=0",
    ] {
        let r = get(&s.url(path)).await;
        assert_eq!(r.status(), 200, "{path}");
        assert_eq!(
            r.headers()["content-type"],
            "application/atom+xml;type=feed;charset=utf-8"
        );
        let body = r.text().await.unwrap();
        jing("rfc4287-appB-atom.rnc", &body);
        let parsed = feedparser(&body);
        assert_eq!(parsed["bozo"], 0, "{path}: {}", parsed["bozo_exception"]);
        assert_eq!(parsed["version"], "atom10");
    }
    let parsed = feedparser(&get_text(&s.url("/rolie/feeds/incidents")).await);
    let entries = parsed["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 4);
    // Newest first: the fixtures were stored in file-name order.
    let titles: Vec<&str> = entries
        .iter()
        .map(|e| e["title"].as_str().unwrap())
        .collect();
    assert_eq!(titles[3], "492382 (reporting)", "{titles:?}");
    for e in entries {
        assert!(e["id"].as_str().unwrap().starts_with("urn:uuid:"));
        assert!(!e["summary"].as_str().unwrap().is_empty());
        assert_eq!(e["author"], "controller@grid.example");
    }
}

/// Standalone entries are valid Atom entry documents, parse in feedparser,
/// and carry title/summary taken from the IODEF.
#[tokio::test]
async fn entries_validate_with_jing_and_feedparser() {
    let s = start_filled().await;
    for (name, _) in iodef_examples() {
        let r = get(&s.url(&format!("/rolie/feeds/incidents/entries/{name}"))).await;
        assert_eq!(r.status(), 200);
        assert_eq!(
            r.headers()["content-type"],
            "application/atom+xml;type=entry;charset=utf-8"
        );
        let body = r.text().await.unwrap();
        jing("rfc4287-appB-atom.rnc", &body);
        let parsed = feedparser(&body);
        assert_eq!(parsed["bozo"], 0, "{name}: {}", parsed["bozo_exception"]);
    }
    let body =
        get_text(&s.url("/rolie/feeds/incidents/entries/rfc7970-sec7.2-indicators-from-campaign"))
            .await;
    assert!(
        body.contains("<title type=\"text\">897923 (watch)</title>"),
        "{body}"
    );
    assert!(body.contains("<summary type=\"text\">Summarizes the Indicators of Compromise for the Orange Giraffe campaign of the Aggressive Butterfly crime gang.</summary>"), "{body}");
}

/// The content `src` serves the stored IODEF byte for byte, as XML; the
/// alternate link serves the JSON form from the plugged-in renderer.
#[tokio::test]
async fn content_urls_serve_the_documents() {
    let s = start_filled().await;
    for (name, doc) in iodef_examples() {
        let entry = get_text(&s.url(&format!("/rolie/feeds/incidents/entries/{name}"))).await;
        let src = attr_of(&entry, "<content ", "src");
        let r = get(&src).await;
        assert_eq!(r.status(), 200);
        assert!(r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/xml"));
        assert_eq!(r.text().await.unwrap(), doc);
        let json = attr_of(&entry, "rel=\"alternate\"", "href");
        let r = get(&json).await;
        assert_eq!(r.status(), 200);
        assert_eq!(r.headers()["content-type"], "application/json");
        assert_eq!(r.text().await.unwrap(), format!("{{\"item\":\"{name}\"}}"));
    }
}

/// Without a JSON renderer there is no alternate link and no JSON URL.
#[tokio::test]
async fn no_json_form_without_renderer() {
    let s = start().await;
    let (_, doc) = &iodef_examples()[0];
    s.store.put(envelope("t", "a", doc)).await.unwrap();
    let entry = get_text(&s.url("/rolie/feeds/t/entries/a")).await;
    assert!(!entry.contains("rel=\"alternate\""), "{entry}");
    assert_eq!(
        get(&s.url("/rolie/feeds/t/entries/a/iodef.json"))
            .await
            .status(),
        404
    );
}

/// Hostile text (markup, quotes) in ids and IODEF fields comes out escaped
/// and the documents stay valid. (A raw control character no longer gets
/// this far: the IODEF reader refuses what XML 1.0 forbids, see
/// `tests/fuzz_regressions.rs`.)
#[tokio::test]
async fn hostile_text_is_escaped() {
    let s = start().await;
    let doc = "<IODEF-Document xmlns=\"urn:ietf:params:xml:ns:iodef-2.0\" version=\"2.00\"><Incident purpose=\"a&quot;&lt;b\"><IncidentID name=\"x\">&lt;/title&gt;&amp;</IncidentID><Description>]]&gt; &lt;script&gt;</Description></Incident></IODEF-Document>";
    let id = "weird id/../<&>\"'";
    s.store
        .put(envelope("odd topic/..", id, doc))
        .await
        .unwrap();
    let feed = get_text(&s.url("/rolie/feeds/odd%20topic%2F..")).await;
    jing("rfc4287-appB-atom.rnc", &feed);
    assert_eq!(feedparser(&feed)["bozo"], 0);
    let entry_url = attr_of(
        &feed,
        "rel=\"self\" type=\"application/atom+xml;type=entry\"",
        "href",
    );
    let entry = get_text(&entry_url).await;
    jing("rfc4287-appB-atom.rnc", &entry);
    let parsed = feedparser(&entry);
    assert_eq!(parsed["entries"][0]["title"], "</title>& (a\"<b)");
}

/// The value of attribute `name` in the first tag that contains `marker`.
pub fn attr_of(xml: &str, marker: &str, name: &str) -> String {
    let at = xml
        .find(marker)
        .unwrap_or_else(|| panic!("{marker} not in {xml}"));
    let tag_start = xml[..at].rfind('<').unwrap();
    let tag_end = at + xml[at..].find('>').unwrap();
    let tag = &xml[tag_start..tag_end];
    let key = format!("{name}=\"");
    let v = &tag[tag
        .find(&key)
        .unwrap_or_else(|| panic!("{name} not in {tag}"))
        + key.len()..];
    v[..v.find('"').unwrap()].replace("&amp;", "&")
}

/// A retracted item leaves an RFC 6721 `at:deleted-entry` (ref = the
/// entry's former atom:id) on the feed's first page; the feed stays valid.
#[tokio::test]
async fn retractions_appear_as_tombstones() {
    let s = start_filled().await;
    let entry = Node::parse(
        &get_text(&s.url("/rolie/feeds/incidents/entries/rfc7970-sec7.1-minimal")).await,
    );
    let id = entry.one(ATOM, "id").text.clone();
    assert!(s
        .store
        .retract("incidents", "rfc7970-sec7.1-minimal")
        .await
        .unwrap());
    let body = get_text(&s.url("/rolie/feeds/incidents")).await;
    jing("rfc4287-appB-atom.rnc", &body);
    assert_eq!(feedparser(&body)["bozo"], 0);
    let feed = Node::parse(&body);
    let dead = feed.all("http://purl.org/atompub/tombstones/1.0", "deleted-entry");
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].attr("ref"), id);
    chrono::DateTime::parse_from_rfc3339(dead[0].attr("when")).unwrap();
    assert_eq!(feed.all(ATOM, "entry").len(), 3);
}
