//! The TAXII 2.1 server (issue 26) read and written by independent code: the OASIS
//! taxii2-client discovers it, lists collections, pages with `added_after` and `next`, and adds
//! a bundle that reaches a slixmpp subscriber as valid IODEF; every object it serves passes
//! stix2-validator at its strictest; pages stay put while items arrive; the ROLIE tokens and
//! scopes apply, as Bearer or as Basic passwords.

mod common;

use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::time::Duration;

use common::rolie::envelope;
use common::taxii::*;
use common::*;
use gridlink::stix::{to_stix, Context};
use gridlink::taxii::collection_id;
use serde_json::Value;

fn incident_with_address(n: usize) -> String {
    format!(
        "<IODEF-Document xmlns='urn:ietf:params:xml:ns:iodef-2.0' version='2.00'>\
         <Incident purpose='reporting' restriction='green'><IncidentID name='csirt.example.com'>T-{n}</IncidentID>\
         <GenerationTime>2026-11-23T09:00:00Z</GenerationTime>\
         <Contact role='creator' type='organization'><ContactName>Example CSIRT</ContactName></Contact>\
         <EventData><Flow><System category='source'><Node><Address category='ipv4-addr'>192.0.2.{}</Address></Node></System></Flow></EventData>\
         </Incident></IODEF-Document>",
        n % 250
    )
}

/// The ids the server should serve for `topic`, item by item, oldest first (what the conversion
/// gives for each stored item: the same function the server calls, run here on the store).
async fn expected(t: &Taxii, topic: &str) -> Vec<Vec<String>> {
    let page = t
        .store
        .page(topic, gridlink::store::Cursor::After(0), 10_000)
        .await
        .unwrap();
    // A store page lists items newest first.
    page.items
        .iter()
        .rev()
        .map(|it| {
            let doc = gridlink::iodef::parse(it.envelope.document.as_bytes()).unwrap();
            to_stix(&doc, &Context::default())
                .objects
                .iter()
                .map(|o| o["id"].as_str().unwrap().to_string())
                .collect()
        })
        .collect()
}

#[tokio::test]
async fn taxii2_client_discovers_lists_pages_and_every_object_is_strictly_valid() {
    let t = start().await;
    for rel in VALID.iter().chain(&["iodef/valid/gridlink-rich.xml"]) {
        let doc = String::from_utf8(fixture_bytes(rel)).unwrap();
        t.store.put(envelope("incidents", rel, &doc)).await.unwrap();
    }
    for n in 0..12 {
        let id = format!("gen-{n}");
        t.store
            .put(envelope("incidents", &id, &incident_with_address(n)))
            .await
            .unwrap();
    }
    let per_item = expected(&t, "incidents").await;
    let all: Vec<String> = per_item.concat();
    // added_after: the time the 8th item was stored; the items after it follow.
    let page = t
        .store
        .page("incidents", gridlink::store::Cursor::After(0), 100)
        .await
        .unwrap();
    let cut = page.items[page.items.len() - 8]
        .updated
        .to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
    let after: Vec<String> = per_item[8..].concat();
    let out = t.dir.path().join("served.json");
    let url = t.url("/taxii2/");
    let s = taxii_client(&[
        "read",
        &url,
        "soc-analyst",
        WRITE,
        "--per-page",
        "7",
        "--out",
        out.to_str().unwrap(),
        "--added-after",
        &cut,
    ]);
    assert_eq!(s["title"], "gridlink TAXII 2.1");
    assert_eq!(s["api_roots"], 1);
    assert_eq!(
        s["versions"],
        serde_json::json!(["application/taxii+json;version=2.1"])
    );
    let cols = s["collections"].as_array().unwrap();
    assert_eq!(cols.len(), 2, "{cols:?}");
    let inc = cols.iter().find(|c| c["alias"] == "incidents").unwrap();
    assert_eq!(inc["id"], collection_id("incidents"));
    assert_eq!(
        (inc["can_read"].as_bool(), inc["can_write"].as_bool()),
        (Some(true), Some(true))
    );
    let ids: Vec<String> = serde_json::from_value(s["ids"].clone()).unwrap();
    assert_eq!(ids, all, "every object once, in the store's order");
    assert_eq!(s["pages"].as_u64().unwrap() as usize, all.len().div_ceil(7));
    let after_ids: Vec<String> = serde_json::from_value(s["after_ids"].clone()).unwrap();
    assert_eq!(after_ids, after, "added_after {cut}");
    assert_eq!(s["manifest"].as_u64().unwrap() as usize, all.len().min(100));
    assert_eq!(s["by_id"].as_array().unwrap().len(), 1);
    assert_eq!(s["versions_of_first"].as_array().unwrap().len(), 1);
    for ty in [
        "identity",
        "incident",
        "indicator",
        "marking-definition",
        "relationship",
    ] {
        assert!(
            s["types"].as_array().unwrap().iter().any(|x| x == ty),
            "{ty}"
        );
    }
    stix_validate(&[out]);
    // A read token may read but not write.
    let s = taxii_client(&[
        "read",
        &url,
        "reader",
        READ,
        "--per-page",
        "50",
        "--out",
        t.dir.path().join("r.json").to_str().unwrap(),
    ]);
    let inc = s["collections"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["alias"] == "incidents")
        .unwrap()
        .clone();
    assert_eq!(inc["can_write"], false);
}

async fn get(url: &str, auth: Option<(&str, &str)>, accept: &str) -> reqwest::Response {
    let mut r = http().get(url).header("Accept", accept);
    if let Some((u, p)) = auth {
        r = r.basic_auth(u, Some(p));
    }
    r.send().await.unwrap()
}

async fn json(r: reqwest::Response) -> Value {
    serde_json::from_slice(&r.bytes().await.unwrap()).unwrap()
}

const TAXII: &str = "application/taxii+json;version=2.1";

#[tokio::test]
async fn pages_stay_put_while_items_arrive_and_tokens_rule() {
    let t = start().await;
    for n in 0..10 {
        t.store
            .put(envelope(
                "incidents",
                &format!("i{n}"),
                &incident_with_address(n),
            ))
            .await
            .unwrap();
    }
    let original: Vec<String> = expected(&t, "incidents").await.concat();
    let objects = t.url(&format!(
        "/taxii2/api/collections/{}/objects/",
        collection_id("incidents")
    ));
    let r = get(&format!("{objects}?limit=9"), Some(("me", READ)), TAXII).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], TAXII);
    assert!(r.headers().contains_key("x-taxii-date-added-first"));
    assert!(r.headers().contains_key("x-taxii-date-added-last"));
    let mut body: Value = json(r).await;
    let mut seen: Vec<String> = Vec::new();
    let mut round = 0;
    loop {
        seen.extend(
            body["objects"]
                .as_array()
                .unwrap()
                .iter()
                .map(|o| o["id"].as_str().unwrap().to_string()),
        );
        if body["more"] != true {
            break;
        }
        // Concurrent ingest between pages: new items, and new content for an item already served.
        round += 1;
        t.store
            .put(envelope(
                "incidents",
                &format!("new{round}"),
                &incident_with_address(100 + round),
            ))
            .await
            .unwrap();
        let next = body["next"].as_str().unwrap().to_string();
        let r = get(
            &format!("{objects}?limit=9&next={next}"),
            Some(("me", READ)),
            TAXII,
        )
        .await;
        assert_eq!(r.status(), 200);
        body = json(r).await;
        assert!(round < 100);
    }
    assert_eq!(
        &seen[..original.len()],
        &original[..],
        "the first items, each object once, in order"
    );
    assert!(
        seen.len() > original.len(),
        "items added while paging come after"
    );
    // Filters.
    let r = get(
        &format!("{objects}?match[type]=incident"),
        Some(("me", READ)),
        TAXII,
    )
    .await;
    let b: Value = json(r).await;
    assert!(b["objects"]
        .as_array()
        .unwrap()
        .iter()
        .all(|o| o["type"] == "incident"));
    assert_eq!(b["objects"].as_array().unwrap().len(), 10 + round);
    let r = get(
        &format!("{objects}?match[spec_version]=2.0"),
        Some(("me", READ)),
        TAXII,
    )
    .await;
    let b: Value = json(r).await;
    assert_eq!(b["objects"].as_array().unwrap().len(), 0);
    // Credentials: none, wrong, out of scope, Bearer; media types.
    let r = get(&objects, None, TAXII).await;
    assert_eq!(r.status(), 401);
    assert!(r.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .contains("Basic"));
    assert_eq!(r.headers()["content-type"], TAXII);
    assert_eq!(
        get(&objects, Some(("me", "wrong")), TAXII).await.status(),
        401
    );
    assert_eq!(
        get(&objects, Some(("me", SCOPED)), TAXII).await.status(),
        403
    );
    let r = http()
        .get(&objects)
        .bearer_auth(READ)
        .header("Accept", TAXII)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(
        get(
            &objects,
            Some(("me", READ)),
            "application/taxii+json;version=2.0"
        )
        .await
        .status(),
        406
    );
    let cols: Value = json(
        get(
            &t.url("/taxii2/api/collections/"),
            Some(("me", SCOPED)),
            TAXII,
        )
        .await,
    )
    .await;
    let aliases: Vec<&Value> = cols["collections"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| &c["alias"])
        .collect();
    assert_eq!(
        aliases,
        [&Value::from("other")],
        "a scoped token sees its topics only"
    );
    let post = |token: &'static str| {
        http()
            .post(&objects)
            .basic_auth("me", Some(token))
            .header("Content-Type", TAXII)
            .header("Accept", TAXII)
            .body("{\"objects\": []}")
            .send()
    };
    assert_eq!(
        post(READ).await.unwrap().status(),
        403,
        "read tokens do not write"
    );
    assert_eq!(post(WRITE).await.unwrap().status(), 202);
    // Hostile bodies: not JSON, not TAXII, too large; each refused with a TAXII error resource.
    let send = |ct: &'static str, body: Vec<u8>| {
        http()
            .post(&objects)
            .basic_auth("me", Some(WRITE))
            .header("Content-Type", ct)
            .header("Accept", TAXII)
            .body(body)
            .send()
    };
    let r = send(TAXII, b"{\"objects\": [".to_vec()).await.unwrap();
    assert_eq!(r.status(), 400);
    assert_eq!(r.headers()["content-type"], TAXII);
    assert_eq!(json(r).await["http_status"], "400");
    assert_eq!(
        send("text/plain", b"{}".to_vec()).await.unwrap().status(),
        415
    );
    let big = vec![b' '; gridlink::taxii::MAX_CONTENT_LENGTH + 1];
    assert_eq!(send(TAXII, big).await.unwrap().status(), 413);
}

/// A bundle added through TAXII reaches a slixmpp subscriber as valid IODEF.
#[tokio::test]
async fn a_bundle_added_through_taxii_reaches_a_slixmpp_subscriber_as_valid_iodef() {
    let _ = tokio_rustls::rustls::crypto::aws_lc_rs::default_provider().install_default();
    let p = prosody_with_bridge();
    let publisher = grid(&p, "publisher").await;
    open_topic(&publisher, "incidents").await;
    publisher
        .set_affiliation(
            "incidents",
            &"bridge@localhost".parse().unwrap(),
            gridlink::grid::Affiliation::Publisher,
        )
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (w, r) = token_files(dir.path());
    let cfg = dir.path().join("gridlink.toml");
    std::fs::write(
        &cfg,
        format!(
            "[bridge]\nlisten = \"127.0.0.1:0\"\ntopics = [\"incidents\"]\nwrite_token_file = \"{}\"\nread_token_file = \"{}\"\n",
            w.display(),
            r.display()
        ),
    )
    .unwrap();
    let mut c = gridlink_async(&p, "bridge", "bridge-pw");
    c.arg("--config")
        .arg(&cfg)
        .arg("--state-dir")
        .arg(dir.path().join("state"))
        .args(["-v", "bridge", "--store"])
        .arg(dir.path().join("bridge.sqlite"));
    let mut bridge = common::hostile::Proc::spawn("gridlink bridge", c);
    let line = bridge
        .wait_line(true, Duration::from_secs(30), |l| {
            l.contains("serving ROLIE on ")
        })
        .await;
    let addr = line
        .split("serving ROLIE on ")
        .nth(1)
        .and_then(|r| r.split_whitespace().next())
        .unwrap()
        .to_string();
    let mut sub = peer(&p, "subscribe", "subscriber")
        .args(["--count", "2"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(sub.stdout.take().unwrap()).lines();
    let (first, mut lines) = tokio::task::spawn_blocking(move || (lines.next(), lines))
        .await
        .unwrap();
    assert_eq!(
        first.and_then(Result::ok).as_deref(),
        Some("READY"),
        "slixmpp did not subscribe"
    );
    let bundle = fixture("stix/client-bundle.json");
    let url = format!("http://{addr}/taxii2/");
    let status = tokio::task::spawn_blocking(move || {
        taxii_client(&["add", &url, "partner-soc", WRITE, bundle.to_str().unwrap()])
    })
    .await
    .unwrap();
    assert_eq!(status["status"], "complete", "{status}");
    assert_eq!(status["failure_count"], 0, "{status}");
    assert_eq!(status["success_count"], 6, "{status}");
    let received: Vec<Value> = tokio::task::spawn_blocking(move || {
        (0..2)
            .map(|_| serde_json::from_str(&lines.next().unwrap().unwrap()).unwrap())
            .collect()
    })
    .await
    .unwrap();
    let _ = sub.wait();
    let mut text = String::new();
    for r in &received {
        let xml = r["xml"].as_str().unwrap();
        let doc = gridlink::iodef::parse(xml.as_bytes()).unwrap();
        assert!(doc.validate().is_empty(), "{xml}: {:?}", doc.validate());
        text.push_str(xml);
    }
    for needle in [
        "198.51.100.77",
        "c2.example.net",
        "203.0.113.9",
        "Partner SOC",
        "restriction=\"green\"",
    ] {
        assert!(text.contains(needle), "{needle} in {text}");
    }
    bridge.stop().await;
}
