//! ROLIE vulnerability collections (draft-ietf-mile-rolie-vuln §4, §5): CSAF
//! advisories and CVE records stored from the grid are served as entries with
//! a `content-id` property, `application/json` content by `src`, and a
//! `severity` link when scored; the feed passes jing (RFC 4287's RELAX NG)
//! and feedparser, and the content is the document byte for byte.

mod common;

use common::rolie::*;
use gridlink::envelope::Envelope;
use gridlink::rolie::TopicSettings;
use gridlink::vuln::{PayloadType, CSAF_2_0_FORMAT, CVE_5_FORMAT};

fn vuln_envelope(topic: &str, item_id: &str, ns: &str, document: &str) -> Envelope {
    Envelope {
        payload_ns: ns.into(),
        ..envelope(topic, item_id, document)
    }
}

fn fixture_text(rel: &str) -> String {
    String::from_utf8(std::fs::read(fixtures().join("..").join(rel)).unwrap()).unwrap()
}

#[tokio::test]
async fn vulnerability_feed_entries() {
    let mut config = base_config();
    for t in ["advisories", "cves"] {
        config.topics.insert(
            t.into(),
            TopicSettings {
                information_type: Some("vulnerability".into()),
                title: Some(format!("Vulnerabilities: {t}")),
                ..Default::default()
            },
        );
    }
    // A tiny page size, so that the feed pages and archives like the others.
    config.page_size = 2;
    // The bridge's RFC 8727 hook fails on JSON documents: never asked for them.
    let hooks = gridlink::rolie::Hooks {
        json_form: Some(std::sync::Arc::new(|_: &Envelope| {
            Err("not IODEF".to_string())
        })),
        ..Default::default()
    };
    let s = start_in(None, config, hooks).await;
    let csaf = [
        ("csaf/bsi-2022-0001.json", "www.bsi.bund.de:BSI-2022-0001"),
        ("csaf/rhsa-2021_5217.json", "rhsa"),
        ("csaf/avendor-advisory-0004.json", "avendor"),
    ];
    for (f, id) in csaf {
        let doc = fixture_text(f);
        s.store
            .put(vuln_envelope("advisories", id, CSAF_2_0_FORMAT, &doc))
            .await
            .unwrap();
    }
    let cve = fixture_text("cve/CVE-2022-21658.json");
    s.store
        .put(vuln_envelope("cves", "CVE-2022-21658", CVE_5_FORMAT, &cve))
        .await
        .unwrap();

    for path in ["/rolie/feeds/advisories", "/rolie/feeds/cves"] {
        let xml = get_text(&s.url(path)).await;
        jing("rfc4287-appB-atom.rnc", &xml);
        let parsed = feedparser(&xml);
        assert_eq!(parsed["bozo"], 0, "{path}: {parsed}");
        let tags = &parsed["feed"]["tags"];
        assert!(
            tags.as_array()
                .unwrap()
                .iter()
                .any(|t| t["term"] == "vulnerability"),
            "{path}: {tags}"
        );
    }

    // The CVE entry: content-id, JSON content by src, severity link.
    let feed = Node::parse(&get_text(&s.url("/rolie/feeds/cves")).await);
    let entry = feed.one(ATOM, "entry");
    let props = entry.all(ROLIE, "property");
    assert_eq!(props.len(), 1);
    assert_eq!(
        props[0].attr("name"),
        "urn:ietf:params:rolie:property:content-id"
    );
    assert_eq!(props[0].attr("value"), "CVE-2022-21658");
    assert_eq!(entry.one(ROLIE, "format").attr("ns"), CVE_5_FORMAT);
    let content = entry.one(ATOM, "content");
    assert_eq!(content.attr("type"), "application/json");
    let severity = entry.links("severity");
    assert_eq!(severity.len(), 1, "a scored record has a severity link");
    assert!(severity[0]
        .attr("href")
        .starts_with("https://www.first.org/cvss/calculator/3.1#CVSS:3.1/"));
    assert!(severity[0]
        .attr("title")
        .starts_with("CVSS 3.1 base score "));
    // The document, byte for byte, as application/json.
    let r = get(content.attr("src")).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "application/json");
    assert_eq!(r.text().await.unwrap(), cve);
    // No IODEF rendering of a JSON document.
    let xml_url = content.attr("src").replace("/document.json", "/iodef.xml");
    assert_eq!(get(&xml_url).await.status(), 404);
    let rfc8727_url = content.attr("src").replace("/document.json", "/iodef.json");
    assert_eq!(get(&rfc8727_url).await.status(), 404);
    assert!(entry.links("alternate").is_empty(), "no RFC 8727 alternate");

    // The CSAF feed pages (3 items, 2 per page); the BSI entry is scored,
    // Red Hat's is not.
    let first = Node::parse(&get_text(&s.url("/rolie/feeds/advisories")).await);
    assert_eq!(first.all(ATOM, "entry").len(), 2);
    assert_eq!(first.links("next").len(), 1, "paged");
    let all: Vec<Node> = {
        let mut v: Vec<Node> = first.all(ATOM, "entry").into_iter().cloned().collect();
        let next = Node::parse(&get_text(first.links("next")[0].attr("href")).await);
        v.extend(next.all(ATOM, "entry").into_iter().cloned());
        v
    };
    let by_id = |cid: &str| {
        all.iter()
            .find(|e| {
                e.all(ROLIE, "property")
                    .iter()
                    .any(|p| p.attr("value") == cid)
            })
            .unwrap_or_else(|| panic!("no entry with content-id {cid}"))
            .clone()
    };
    let bsi = by_id("BSI-2022-0001");
    assert_eq!(bsi.links("severity").len(), 1);
    assert_eq!(
        bsi.one(ATOM, "title").text,
        "CVRF-CSAF-Converter: XML External Entities Vulnerability",
        "the advisory's own title"
    );
    let rhsa = by_id("RHSA-2021:5217");
    assert!(
        rhsa.links("severity").is_empty(),
        "no score, no severity link"
    );
    let r = get(rhsa.one(ATOM, "content").attr("src")).await;
    assert_eq!(
        r.text().await.unwrap(),
        fixture_text("csaf/rhsa-2021_5217.json")
    );
    // A standalone entry validates too.
    let entry_url = bsi.links("self")[0].attr("href").to_owned();
    jing("rfc4287-appB-atom.rnc", &get_text(&entry_url).await);
    assert_eq!(
        PayloadType::from_uri(CSAF_2_0_FORMAT),
        Some(PayloadType::Csaf)
    );
}
