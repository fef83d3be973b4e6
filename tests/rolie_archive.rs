//! RFC 5005 §4 archived feeds (RFC 8322 §6.1.2): a client that starts at
//! the subscription document and follows `prev-archive` rebuilds the whole
//! topic; archive documents are valid Atom (jing, feedparser), stable and
//! cacheable, behind the same access control as the feed, and hostile
//! archive paths get 4xx, never 5xx.

mod common;

use std::collections::{BTreeMap, BTreeSet};

use common::rolie::*;
use gridlink::rolie::{Hooks, RolieConfig};
use gridlink::store::{Cursor, Store};
use reqwest::header;

const FH: &str = "http://purl.org/syndication/history/1.0";

/// Small pages and blocks, so a few dozen items make many archives.
fn config() -> RolieConfig {
    RolieConfig {
        page_size: 4,
        archive_block_size: Some(3),
        ..base_config()
    }
}

/// The IODEF example documents, cycled: `doc(i)` differs from `doc(i + 1)`.
fn doc(i: usize) -> String {
    let all = iodef_examples();
    all[i % all.len()].1.clone()
}

/// Stores `n` items `x-{start}..` in `topic`, one document each; every
/// third one also stores an item in `other`, so the topic's rows are not
/// contiguous in the store's sequence (archive numbers get gaps).
async fn fill(store: &Store, topic: &str, start: usize, n: usize) {
    for i in start..start + n {
        store
            .put(envelope(topic, &format!("x-{i}"), &doc(i)))
            .await
            .unwrap();
        if i % 3 == 0 {
            store
                .put(envelope("other", &format!("o-{i}"), &doc(i)))
                .await
                .unwrap();
        }
    }
}

/// The item id of an entry, from its `self` link (`…/entries/{id}`).
fn item_of(entry: &Node) -> String {
    let href = entry.links("self")[0].attr("href");
    href.rsplit_once("/entries/").unwrap().1.to_owned()
}

/// One fetched document of the walk.
struct Fetched {
    url: String,
    body: String,
    tree: Node,
}

async fn fetch(url: &str) -> Fetched {
    let body = get_text(url).await;
    let tree = Node::parse(&body);
    Fetched {
        url: url.to_owned(),
        body,
        tree,
    }
}

/// What an RFC 5005 §4.2 client does: the subscription document, then
/// `prev-archive` links until there are none. Returns the subscription
/// document and the archives, newest first.
async fn walk(feed_url: &str) -> (Fetched, Vec<Fetched>) {
    let subscription = fetch(feed_url).await;
    let mut archives: Vec<Fetched> = Vec::new();
    let mut seen = BTreeSet::new();
    let mut next = subscription
        .tree
        .links("prev-archive")
        .first()
        .map(|l| l.attr("href").to_owned());
    while let Some(url) = next {
        assert!(seen.insert(url.clone()), "prev-archive loop at {url}");
        assert!(archives.len() < 1000, "runaway walk");
        let a = fetch(&url).await;
        next = a
            .tree
            .links("prev-archive")
            .first()
            .map(|l| l.attr("href").to_owned());
        archives.push(a);
    }
    (subscription, archives)
}

/// The topic's current items: item id → `atom:updated` as served.
async fn expected(store: &Store, topic: &str) -> BTreeMap<String, String> {
    let page = store.page(topic, Cursor::Newest, 10_000).await.unwrap();
    page.items
        .iter()
        .map(|i| {
            (
                i.envelope.item_id.clone(),
                i.updated
                    .to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            )
        })
        .collect()
}

/// (1) The walk yields every current entry — new, updated, and none that
/// was retracted — with its current content; no entry is in two archives,
/// and no document holds an outdated version of an entry.
#[tokio::test]
async fn walking_prev_archive_rebuilds_the_topic_exactly() {
    let s = start_in(None, config(), Hooks::default()).await;
    fill(&s.store, "incidents", 0, 30).await;
    // Updates move items to the newest end; a retraction removes one.
    for i in [1, 7, 12] {
        s.store
            .put(envelope("incidents", &format!("x-{i}"), &doc(i + 1)))
            .await
            .unwrap();
    }
    assert!(s.store.retract("incidents", "x-4").await.unwrap());
    fill(&s.store, "incidents", 30, 5).await;

    let feed_url = s.url("/rolie/feeds/incidents");
    let (subscription, archives) = walk(&feed_url).await;
    assert!(
        archives.len() >= 8,
        "35 items in blocks of 3: many archives, got {}",
        archives.len()
    );
    // The paged feed is still there (RFC 5005 §3 alongside §4).
    assert_eq!(subscription.tree.links("next").len(), 1);
    assert_eq!(subscription.tree.links("first").len(), 1);
    assert!(subscription.tree.all(FH, "archive").is_empty());

    let mut merged: BTreeMap<String, String> = BTreeMap::new();
    let mut in_archives: BTreeMap<String, String> = BTreeMap::new();
    for (i, a) in archives.iter().enumerate() {
        let t = &a.tree;
        assert_eq!(t.all(FH, "archive").len(), 1, "fh:archive in {}", a.url);
        assert_eq!(t.links("current")[0].attr("href"), feed_url);
        assert_eq!(t.links("self")[0].attr("href"), a.url);
        assert_eq!(t.links("service").len(), 1);
        assert!(t.links("next").is_empty() && t.links("first").is_empty());
        // next-archive points back along the walk (the newest has none:
        // the subscription document follows it).
        let newer = t.links("next-archive");
        if i == 0 {
            assert!(newer.is_empty(), "newest archive {}", a.url);
        } else {
            assert_eq!(newer[0].attr("href"), archives[i - 1].url);
        }
        assert!(!t.all(ATOM, "entry").is_empty(), "empty archive {}", a.url);
        for e in t.all(ATOM, "entry") {
            let id = item_of(e);
            let updated = e.one(ATOM, "updated").text.clone();
            assert!(
                in_archives.insert(id.clone(), updated).is_none(),
                "{id} in two archives"
            );
        }
    }
    for doc in std::iter::once(&subscription).chain(&archives) {
        for e in doc.tree.all(ATOM, "entry") {
            let id = item_of(e);
            let updated = e.one(ATOM, "updated").text.clone();
            if let Some(seen) = merged.get(&id) {
                assert_eq!(seen, &updated, "two versions of {id} ({})", doc.url);
            }
            merged.insert(id, updated);
        }
    }
    let want = expected(&s.store, "incidents").await;
    assert_eq!(want.len(), 34);
    assert_eq!(merged, want, "walk != store");
    assert!(!merged.contains_key("x-4"), "retracted");
    // Archive blocks are per store sequence: another topic's items never
    // show up, and that topic has its own archives.
    assert!(merged.keys().all(|k| k.starts_with("x-")));
    let (_, others) = walk(&s.url("/rolie/feeds/other")).await;
    assert!(!others.is_empty());
    s.stop().await;
}

/// (2) Archive documents (and the subscription document with its new
/// link) pass jing with RFC 4287's grammar, and feedparser reads them
/// without complaint, links included.
#[tokio::test]
async fn archive_documents_are_valid_atom() {
    let s = start_in(None, config(), Hooks::default()).await;
    fill(&s.store, "incidents", 0, 12).await;
    let (subscription, archives) = walk(&s.url("/rolie/feeds/incidents")).await;
    assert!(archives.len() >= 3);
    jing("rfc4287-appB-atom.rnc", &subscription.body);
    for a in &archives {
        jing("rfc4287-appB-atom.rnc", &a.body);
        let parsed = feedparser(&a.body);
        assert_eq!(parsed["bozo"], 0, "{}: {}", a.url, parsed["bozo_exception"]);
        assert_eq!(parsed["version"], "atom10");
        let rels: Vec<&str> = parsed["feed"]["links"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l["rel"].as_str().unwrap())
            .collect();
        assert!(
            rels.contains(&"current") && rels.contains(&"self"),
            "{rels:?}"
        );
        assert_eq!(
            parsed["entries"].as_array().unwrap().len(),
            a.tree.all(ATOM, "entry").len()
        );
    }
    let parsed = feedparser(&subscription.body);
    assert_eq!(parsed["bozo"], 0);
    assert!(parsed["feed"]["links"]
        .as_array()
        .unwrap()
        .iter()
        .any(|l| l["rel"] == "prev-archive"));
    s.stop().await;
}

/// (3) An archive does not change when items arrive: same bytes, same
/// ETag, and a conditional GET gets 304 (with the long-lived
/// Cache-Control, on the fast path and through the router alike).
#[tokio::test]
async fn archives_are_stable_and_revalidate_with_304() {
    let s = start_in(None, config(), Hooks::default()).await;
    // Seqs 1..=9, one topic: blocks 0, 1, 2 closed, none open.
    for i in 0..9 {
        s.store
            .put(envelope("incidents", &format!("x-{i}"), &doc(i)))
            .await
            .unwrap();
    }
    let url0 = s.url("/rolie/feeds/incidents/archive/0");
    let url2 = s.url("/rolie/feeds/incidents/archive/2");
    let first = get(&url0).await;
    assert_eq!(first.status(), 200);
    let cache_control = first.headers()[header::CACHE_CONTROL].clone();
    assert!(cache_control.to_str().unwrap().contains("max-age="));
    let etag = first.headers()[header::ETAG].clone();
    let modified = first.headers()[header::LAST_MODIFIED].clone();
    let body = first.text().await.unwrap();
    // The newest archive before the next block closes.
    let newest = get(&url2).await;
    let etag2 = newest.headers()[header::ETAG].clone();

    // Two more items: block 3 stays open, archive 2 keeps its links.
    fill(&s.store, "incidents", 100, 2).await;
    let again2 = get(&url2).await;
    assert_eq!(again2.headers()[header::ETAG], etag2, "newest archive");
    // Many more, in both topics: later blocks close.
    fill(&s.store, "incidents", 200, 20).await;
    let again = get(&url0).await;
    assert_eq!(again.status(), 200);
    assert_eq!(again.headers()[header::ETAG], etag);
    assert_eq!(again.headers()[header::LAST_MODIFIED], modified);
    assert_eq!(again.text().await.unwrap(), body, "same bytes");

    // 304s, for both validators, twice (the page is in the cache then).
    for round in 0..2 {
        for (name, value) in [
            (header::IF_NONE_MATCH, etag.clone()),
            (header::IF_MODIFIED_SINCE, modified.clone()),
        ] {
            let r = client()
                .get(&url0)
                .header(name.clone(), value)
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 304, "round {round}, {name}");
            assert_eq!(r.headers()[header::ETAG], etag);
            assert_eq!(r.headers()[header::CACHE_CONTROL], cache_control);
        }
    }
    let r = client()
        .get(&url0)
        .header(header::IF_NONE_MATCH, "\"other\"")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);

    // What may change an archive: losing an entry (here a retraction).
    assert!(s.store.retract("incidents", "x-1").await.unwrap());
    let after = get(&url0).await;
    assert_ne!(after.headers()[header::ETAG], etag);
    assert!(!after.text().await.unwrap().contains("/entries/x-1\""));
    s.stop().await;
}

/// (4) The read token guards archives exactly as it guards the feed,
/// fast path included; unknown topics have no archives.
#[tokio::test]
async fn archives_need_the_read_token_when_the_feed_does() {
    let config = RolieConfig {
        read_requires_token: true,
        ..config()
    };
    let s = start_in(None, config, Hooks::default()).await;
    fill(&s.store, "incidents", 0, 9).await;
    let url = s.url("/rolie/feeds/incidents/archive/0");
    let anonymous = get(&url).await;
    assert_eq!(anonymous.status(), 401);
    assert!(anonymous.headers().contains_key(header::WWW_AUTHENTICATE));
    let wrong = client()
        .get(&url)
        .bearer_auth("not-a-token")
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);
    let ok = client()
        .get(&url)
        .bearer_auth("secret-token")
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
    let etag = ok.headers()[header::ETAG].clone();
    // Cached now: a revalidation without the token must still be refused.
    let r = client()
        .get(&url)
        .header(header::IF_NONE_MATCH, etag.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let r = client()
        .get(&url)
        .bearer_auth("secret-token")
        .header(header::IF_NONE_MATCH, etag)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 304);
    // Nothing about which archives exist without the token.
    let r = get(&s.url("/rolie/feeds/nope/archive/0")).await;
    assert_eq!(r.status(), 401);
    let r = client()
        .get(s.url("/rolie/feeds/nope/archive/0"))
        .bearer_auth("secret-token")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    s.stop().await;
}

/// (5) Hostile or unknown archive paths: 400 or 404, never a 5xx, with and
/// without validators (the fast path sees them first).
#[tokio::test]
async fn hostile_archive_paths_are_client_errors() {
    let s = start_in(None, config(), Hooks::default()).await;
    // Seqs 1..=16: blocks 0..=4 closed. `other` has rows in blocks 0, 1,
    // 3 and 4 only: block 2 holds only `incidents` rows, so it is no
    // archive of `other`.
    fill(&s.store, "incidents", 0, 12).await;
    let (_, archives) = walk(&s.url("/rolie/feeds/other")).await;
    let listed: Vec<String> = archives.iter().map(|a| a.url.clone()).collect();
    let gap = s.url("/rolie/feeds/other/archive/2");
    assert_eq!(listed.len(), 4, "{listed:?}");
    assert!(!listed.contains(&gap));
    assert_eq!(get(&gap).await.status(), 404);
    assert_eq!(
        get(&s.url("/rolie/feeds/incidents/archive/2"))
            .await
            .status(),
        200
    );
    let long = "9".repeat(5000);
    let paths = [
        "abc".to_string(),
        "-1".into(),
        "+1".into(),
        "00".into(),
        "01".into(),
        "1.0".into(),
        "1e3".into(),
        "0x1".into(),
        "%FF".into(),
        "%00".into(),
        "1%2F2".into(),
        "..".into(),
        "%2E%2E".into(),
        "".into(),
        "0/".into(),
        "0/extra".into(),
        "18446744073709551615".into(),
        "18446744073709551616".into(),
        "9223372036854775807".into(),
        "3074457345618258602".into(),
        "99999999999999999999999999999999".into(),
        long,
        // Not closed yet, and far beyond anything stored.
        "5".into(),
        "1000000".into(),
    ];
    for p in &paths {
        for topic in ["incidents", "nope", "%FF"] {
            let url = s.url(&format!("/rolie/feeds/{topic}/archive/{p}"));
            for validators in [false, true] {
                let mut r = client().get(&url);
                if validators {
                    r = r.header(header::IF_NONE_MATCH, "*");
                }
                let status = r.send().await.unwrap().status();
                assert!(
                    status == 400 || status == 404,
                    "{url} (validators: {validators}): {status}"
                );
            }
        }
    }
    // The server is still fine.
    assert_eq!(get(&s.url("/rolie/feeds/incidents")).await.status(), 200);
    s.stop().await;
}
