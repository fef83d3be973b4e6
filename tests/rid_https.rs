//! RID over HTTPS (RFC 6546) end to end, two organisations on one lab Prosody, each with its own CA
//! (made by the lab CA, rcgen): `gridlink rid serve` for A and for B, mutual TLS both ways.
//!
//! * A sends B a Report with `gridlink rid send`; B publishes its IODEF to topic `rid-b`, where a
//!   slixmpp subscriber gets it.
//! * An independent client (Python `requests` with B's certificate, every answer validated with
//!   xmlschema against the RFC 6545 schema) sends A a Report (200, empty), a Query (a Report back),
//!   an unknown Query (Acknowledgement Denied) and an InvestigationRequest (Acknowledgement Pending
//!   with a RID-Callback-Token), and the bad inputs: no client certificate (TLS refuses), an unknown
//!   certificate (403, logged), invalid RID (400 with reasons), oversized (413), DOCTYPE (400), wrong
//!   content type (415), GET / (204), another path (404). Nothing bad reaches the grid.
//! * A's operator answers the InvestigationRequest with `gridlink rid respond`: the Result reaches B
//!   with the token, and B publishes it.
//!
//! Test names follow the `rid.md` checklist lines they cover.

mod common;

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use common::hostile::{run, Proc};
use common::{fixture, gridlink_at, open_topic, peer, prosody};
use gridlink::lab::Prosody;
use gridlink::lab::TestCa;
use serde_json::json;
use tokio::io::{AsyncBufReadExt, BufReader};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).to_path_buf()
}

struct Org {
    ca: TestCa,
    state: PathBuf,
}

fn org(dir: &Path, name: &str) -> Org {
    let d = dir.join(name);
    std::fs::create_dir_all(&d).unwrap();
    let ca = TestCa::generate_named(
        &d,
        &format!("{name} RID CA"),
        &[&format!("{name}.example"), "localhost"],
    )
    .unwrap();
    Org {
        ca,
        state: d.join("state"),
    }
}

fn gl(p: &Prosody, state: &Path) -> std::process::Command {
    gridlink_at(p.c2s_port, &p.ca.ca_pem, "publisher", "publisher-pw", state)
}

/// Starts `gridlink rid serve` and returns it with its port.
async fn serve(p: &Prosody, o: &Org, config: &Path, client_ca: &Path, topic: &str) -> (Proc, u16) {
    let mut c = gl(p, &o.state);
    c.env("RUST_LOG", "gridlink=info")
        .arg("--config")
        .arg(config)
        .args(["rid", "serve", "--listen", "127.0.0.1:0", "--topic", topic])
        .arg("--tls-cert")
        .arg(&o.ca.server_chain_pem)
        .arg("--tls-key")
        .arg(&o.ca.server_key_pem)
        .arg("--client-ca")
        .arg(client_ca);
    common::rid::rid_serve("rid serve", c).await
}

fn client_tls(c: &mut std::process::Command, me: &Org, peer_ca: &Path) {
    c.arg("--tls-cert")
        .arg(&me.ca.server_chain_pem)
        .arg("--tls-key")
        .arg(&me.ca.server_key_pem)
        .arg("--peer-ca")
        .arg(peer_ca);
}

fn python_requests(
    url: &str,
    me: &Org,
    ca: &Path,
    lines: &[serde_json::Value],
) -> Vec<serde_json::Value> {
    use std::io::Write;
    let mut child = std::process::Command::new("python3")
        .arg(root().join("tests/py/rid_https_client.py"))
        .arg(url)
        .arg(&me.ca.server_chain_pem)
        .arg(&me.ca.server_key_pem)
        .arg(ca)
        .arg(root().join("tests/fixtures/rid/schemas"))
        .arg(root().join("tests/fixtures/iodef/schemas"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3 is required (scripts/deps, tests/requirements.txt)");
    let input: String = lines.iter().map(|l| format!("{l}\n")).collect();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "rid_https_client.py failed: {} (install requests and xmlschema: pip install -r tests/requirements.txt)",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn by_name<'a>(v: &'a [serde_json::Value], name: &str) -> &'a serde_json::Value {
    v.iter()
        .find(|x| x["name"] == name)
        .unwrap_or_else(|| panic!("no answer for {name}: {v:?}"))
}

/// Items a topic keeps, as `gridlink items` lists them.
async fn items(p: &Prosody, state: &Path, topic: &str) -> Vec<serde_json::Value> {
    let mut c = gl(p, state);
    c.args(["items", "--topic", topic]);
    let (code, out, err) = run(tokio::process::Command::from(c), Duration::from_secs(30)).await;
    assert_eq!(code, Some(0), "{err}");
    out.lines()
        .filter(|l| !l.is_empty())
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// Checklist 33–38, 41–43, 48–51 (and 1, 3): the whole exchange described in the file's doc.
#[tokio::test(flavor = "multi_thread")]
async fn checklist_33_48_two_endpoints_mutual_tls_report_query_request_result() {
    let p = prosody();
    let publisher = common::grid(&p, "publisher").await;
    for t in ["rid-a", "rid-a-requests", "rid-b"] {
        open_topic(&publisher, t).await;
    }
    let dir = tempfile::tempdir().unwrap();
    let (a, b, rogue) = (
        org(dir.path(), "rid-a"),
        org(dir.path(), "rid-b"),
        org(dir.path(), "rid-c"),
    );
    // A trusts B's CA and the rogue's (whose certificate is no configured peer); B trusts A's CA.
    let a_trusts = dir.path().join("a-trusts.pem");
    std::fs::write(
        &a_trusts,
        std::fs::read_to_string(&b.ca.ca_pem).unwrap()
            + &std::fs::read_to_string(&rogue.ca.ca_pem).unwrap(),
    )
    .unwrap();
    let b_conf = dir.path().join("b.toml");
    std::fs::write(&b_conf, "[rid]\nnode = \"127.0.0.1\"\n[[rid.peer]]\nname = \"rid-a.example\"\nallow = [\"Report\", \"Result\", \"Acknowledgement\"]\n").unwrap();
    let (mut b_srv, b_port) = serve(&p, &b, &b_conf, &a.ca.ca_pem, "rid-b").await;
    let a_conf = dir.path().join("a.toml");
    std::fs::write(
        &a_conf,
        format!("[rid]\nnode = \"127.0.0.1\"\nrequests_topic = \"rid-a-requests\"\n[[rid.peer]]\nname = \"rid-b.example\"\nallow = [\"Report\", \"Query\", \"InvestigationRequest\"]\nurl = \"https://localhost:{b_port}/\"\n"),
    )
    .unwrap();
    let (mut a_srv, a_port) = serve(&p, &a, &a_conf, &a_trusts, "rid-a").await;

    // A slixmpp subscriber on B's topic.
    let mut sub = peer(&p, "subscribe", "subscriber");
    sub.args(["--node", "rid-b", "--count", "2", "--timeout", "60"]);
    let mut sub = tokio::process::Command::from(sub);
    sub.stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let mut sub = sub.spawn().unwrap();
    let mut sub_lines = BufReader::new(sub.stdout.take().unwrap()).lines();
    let ready = tokio::time::timeout(Duration::from_secs(30), sub_lines.next_line())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(ready.as_deref(), Some("READY"));

    // 1. A → B: a Report over mutual TLS, published on B's topic.
    let doc = fixture("iodef/valid/rfc7970-sec7.1-minimal.xml");
    let mut send = gl(&p, &a.state);
    send.args([
        "rid",
        "send",
        "--to",
        &format!("https://localhost:{b_port}/"),
        "--report",
    ])
    .arg(&doc);
    client_tls(&mut send, &a, &b.ca.ca_pem);
    let (code, _, err) = run(tokio::process::Command::from(send), Duration::from_secs(60)).await;
    assert_eq!(code, Some(0), "rid send: {err}\nB: {}", b_srv.output());
    assert!(err.contains("accepted"), "{err}");
    let got = tokio::time::timeout(Duration::from_secs(30), sub_lines.next_line())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    let item: serde_json::Value = serde_json::from_str(&got).unwrap();
    assert!(item["xml"].as_str().unwrap().contains("492382"), "{item}");

    // 2. Python requests (B's certificate) → A.
    let url = format!("https://localhost:{a_port}/");
    let rid = |f: &str| {
        root()
            .join("tests/fixtures/rid")
            .join(f)
            .to_string_lossy()
            .to_string()
    };
    let report = rid("valid/report-iodef-v2.xml");
    let query = std::fs::read_to_string(rid("examples/rfc6545-sec7.4.1-query.xml"))
        .unwrap()
        .replace(
            "name=\"CERT-FOR-OUR-DOMAIN\">\n      CERT-FOR-OUR-DOMAIN#210-1\n    ",
            "name=\"csirt.example.com\">492382",
        );
    assert!(query.contains(">492382<"), "{query}");
    let unknown = std::fs::read_to_string(rid("examples/rfc6545-sec7.4.1-query.xml")).unwrap();
    let investigate = std::fs::read_to_string(&report)
        .unwrap()
        .replace("MsgType=\"Report\"", "MsgType=\"InvestigationRequest\"");
    let doctype = format!("<?xml version=\"1.0\"?>\n<!DOCTYPE RID [<!ENTITY x SYSTEM \"file:///etc/passwd\">]>\n{unknown}");
    let answers = python_requests(
        &url,
        &b,
        &a.ca.ca_pem,
        &[
            json!({"name": "get", "method": "GET"}),
            json!({"name": "head", "method": "HEAD"}),
            json!({"name": "other-path", "path": "/rid", "body": unknown}),
            json!({"name": "no-cert", "cert": false, "body_file": report}),
            json!({"name": "wrong-type", "content_type": "application/xml", "body_file": report}),
            json!({"name": "invalid", "body_file": rid("invalid/policy-bad-msgtype.xml")}),
            json!({"name": "rfc-invalid", "body_file": rid("valid/rfc-query-with-requeststatus.xml")}),
            json!({"name": "doctype", "body": doctype}),
            json!({"name": "oversized", "body": "<!-- padding -->", "repeat_body": 300_000}),
            json!({"name": "report", "body_file": report}),
            json!({"name": "report-again", "body_file": report, "chunked": true}),
            json!({"name": "query", "body": query}),
            json!({"name": "query-unknown", "body": unknown}),
            json!({"name": "investigate", "body": investigate}),
        ],
    );
    let status = |n: &str| by_name(&answers, n)["status"].as_u64().unwrap_or(0);
    assert_eq!(
        (status("get"), status("head"), status("other-path")),
        (204, 204, 404),
        "{answers:?}"
    );
    assert!(
        by_name(&answers, "no-cert")["error"]
            .as_str()
            .is_some_and(|e| e.contains("SSL") || e.contains("Connection")),
        "{answers:?}"
    );
    assert_eq!(status("wrong-type"), 415);
    assert_eq!(status("invalid"), 400);
    assert!(by_name(&answers, "invalid")["body"]
        .as_str()
        .unwrap()
        .contains("MsgType=\"Request\" is not one of"));
    assert_eq!(status("rfc-invalid"), 400);
    assert!(by_name(&answers, "rfc-invalid")["body"]
        .as_str()
        .unwrap()
        .contains("RFC 6545 §5"));
    assert_eq!(status("doctype"), 400);
    assert!(by_name(&answers, "doctype")["body"]
        .as_str()
        .unwrap()
        .to_lowercase()
        .contains("doctype"));
    assert_eq!(status("oversized"), 413);
    assert_eq!(
        (
            status("report"),
            by_name(&answers, "report")["body"].as_str()
        ),
        (200, Some(""))
    );
    // Checklist 46: a chunked request body is accepted (the same Report again: still one item).
    assert_eq!(status("report-again"), 200);
    let q = by_name(&answers, "query");
    assert_eq!(
        (
            q["status"].as_u64(),
            q["xsd_valid"].as_bool(),
            q["msg_type"].as_str()
        ),
        (Some(200), Some(true), Some("Report")),
        "{q}"
    );
    assert!(q["content_type"].as_str().unwrap().starts_with("text/xml"));
    assert!(q["body"].as_str().unwrap().contains("492382"));
    let u = by_name(&answers, "query-unknown");
    assert_eq!(
        (
            u["xsd_valid"].as_bool(),
            u["msg_type"].as_str(),
            u["authorization"].as_str()
        ),
        (Some(true), Some("Acknowledgement"), Some("Denied")),
        "{u}"
    );
    let inv = by_name(&answers, "investigate");
    assert_eq!(
        (inv["xsd_valid"].as_bool(), inv["authorization"].as_str()),
        (Some(true), Some("Pending")),
        "{inv}"
    );
    let token = inv["token"]
        .as_str()
        .expect("a RID-Callback-Token")
        .to_string();
    assert!(!token.is_empty() && token.len() <= 255 && token.bytes().all(|b| b.is_ascii_graphic()));

    // An unknown certificate (chains to a trusted CA, no configured peer): refused and logged.
    let rogue_answers = python_requests(
        &url,
        &rogue,
        &a.ca.ca_pem,
        &[json!({"name": "rogue", "body_file": report})],
    );
    assert_eq!(
        by_name(&rogue_answers, "rogue")["status"],
        403,
        "{rogue_answers:?}"
    );
    a_srv
        .wait_line(true, Duration::from_secs(5), |l| {
            l.contains("no configured peer")
        })
        .await;
    // A certificate from a CA A does not trust: the TLS handshake refuses it (path validation).
    let stranger = org(dir.path(), "rid-d");
    let refused = python_requests(
        &url,
        &stranger,
        &a.ca.ca_pem,
        &[json!({"name": "untrusted", "body_file": report})],
    );
    assert!(
        by_name(&refused, "untrusted")["error"].is_string(),
        "{refused:?}"
    );

    // Nothing the bad inputs carried reached the grid: one item (the Report, sent twice: one item id).
    let on_a = items(&p, &a.state, "rid-a").await;
    assert_eq!(on_a.len(), 1, "{on_a:?}");
    assert_eq!(items(&p, &a.state, "rid-a-requests").await.len(), 1);

    // 3. A's operator answers the InvestigationRequest: the Result goes to B with the token.
    let mut pending = gl(&p, &a.state);
    pending
        .arg("--config")
        .arg(&a_conf)
        .args(["rid", "pending"]);
    let (code, out, err) = run(
        tokio::process::Command::from(pending),
        Duration::from_secs(30),
    )
    .await;
    assert_eq!(code, Some(0), "{err}");
    assert!(out.contains(&token), "{out}");
    let mut respond = gl(&p, &a.state);
    respond
        .arg("--config")
        .arg(&a_conf)
        .args([
            "rid",
            "respond",
            "--token",
            &token,
            "--found",
            "--source",
            "192.0.2.35",
            "--result",
        ])
        .arg(fixture("iodef/valid/gridlink-rich.xml"));
    client_tls(&mut respond, &a, &b.ca.ca_pem);
    let (code, _, err) = run(
        tokio::process::Command::from(respond),
        Duration::from_secs(60),
    )
    .await;
    assert_eq!(code, Some(0), "rid respond: {err}\nB: {}", b_srv.output());
    b_srv
        .wait_line(true, Duration::from_secs(10), |l| {
            l.contains("RID message received") && l.contains("Result") && l.contains(&token)
        })
        .await;
    let got = tokio::time::timeout(Duration::from_secs(30), sub_lines.next_line())
        .await
        .unwrap()
        .unwrap();
    assert!(
        got.is_some(),
        "the Result's document did not reach B's subscriber"
    );
    a_srv.stop().await;
    b_srv.stop().await;
}

fn item(topic: &str, id: &str, document: String) -> gridlink::grid::GridEvent {
    gridlink::grid::GridEvent::Item {
        envelope: gridlink::envelope::Envelope {
            topic: topic.into(),
            item_id: id.into(),
            publisher: None,
            received_at: chrono::Utc::now(),
            delayed_at: None,
            payload_ns: gridlink::envelope::IODEF_V2_NS.into(),
            document,
        },
        iodef: None,
    }
}

/// Checklist 34 and 51 (outbound): the RID sink forwards the items of its topics to a peer as
/// Reports (the peer publishes them), skips other topics, and fails (event unrecorded, sent again
/// later) while the peer is unreachable.
#[tokio::test(flavor = "multi_thread")]
async fn checklist_34_rid_sink_forwards_items_as_reports() {
    use gridlink::rid::client::RidClient;
    use gridlink::rid::sink::RidSink;
    use gridlink::sink::{Sink, SinkError};

    let p = prosody();
    let publisher = common::grid(&p, "publisher").await;
    open_topic(&publisher, "rid-b").await;
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (org(dir.path(), "rid-a"), org(dir.path(), "rid-b"));
    let b_conf = dir.path().join("b.toml");
    std::fs::write(
        &b_conf,
        "[rid]\n[[rid.peer]]\nname = \"rid-a.example\"\nallow = [\"Report\"]\n",
    )
    .unwrap();
    let (mut b_srv, b_port) = serve(&p, &b, &b_conf, &a.ca.ca_pem, "rid-b").await;

    let client =
        RidClient::new(&a.ca.server_chain_pem, &a.ca.server_key_pem, &b.ca.ca_pem).unwrap();
    let mut sink = RidSink::new(
        client.clone(),
        &format!("https://localhost:{b_port}/"),
        Some(vec!["incidents".into()]),
        "127.0.0.1",
    );
    let doc = std::fs::read_to_string(fixture("iodef/valid/rfc7970-sec7.1-minimal.xml")).unwrap();
    sink.deliver(&item("incidents", "csirt.example.com:492382", doc.clone()))
        .await
        .unwrap();
    sink.deliver(&item("elsewhere", "x", doc.clone()))
        .await
        .unwrap();
    b_srv
        .wait_line(true, Duration::from_secs(10), |l| {
            l.contains("RID message received") && l.contains("Report")
        })
        .await;
    let on_b = items(&p, &b.state, "rid-b").await;
    assert_eq!(on_b.len(), 1, "{on_b:?}");
    assert_eq!(
        b_srv
            .stderr_lines()
            .iter()
            .filter(|l| l.contains("RID message received"))
            .count(),
        1
    );

    // Checklist 29 on the sink's side: with `crl` naming B's CA's CRL that revokes B's
    // certificate, the sink refuses B's server certificate and sends nothing.
    let revoked = gridlink::rid::sink::RidSinkConfig {
        url: format!("https://localhost:{b_port}/"),
        tls_cert: a.ca.server_chain_pem.clone(),
        tls_key: a.ca.server_key_pem.clone(),
        peer_ca: b.ca.ca_pem.clone(),
        topics: None,
        node: None,
        crl: Some(vec![b.ca.crl_revoking_server.clone()]),
    };
    let mut revoked = RidSink::from_config(&revoked).unwrap();
    let e = revoked
        .deliver(&item("incidents", "csirt.example.com:492382", doc.clone()))
        .await
        .unwrap_err();
    assert!(format!("{e:?}").contains("Revoked"), "{e:?}");
    assert_eq!(items(&p, &b.state, "rid-b").await.len(), 1);

    b_srv.stop().await;
    let mut once = client;
    once.attempts = 1;
    let mut down = RidSink::new(
        once,
        &format!("https://localhost:{b_port}/"),
        None,
        "127.0.0.1",
    );
    let e = down
        .deliver(&item("incidents", "csirt.example.com:492382", doc))
        .await
        .unwrap_err();
    assert!(matches!(e, SinkError::Io { .. }), "{e}");
}

/// Checklist 34 through the bridge's configuration: `gridlink bridge` with two `[[sink]] type =
/// "rid"` tables, each an own-cursor sink. An item published to the bridge's topic reaches the peer
/// as a Report (the peer publishes it; `/metrics` counts it for that sink); the peer's refusal
/// (404, a path it does not serve) is dead-lettered for the other sink, not retried.
#[tokio::test(flavor = "multi_thread")]
async fn checklist_34_bridge_rid_sink_tables_forward_and_dead_letter() {
    use gridlink::bridge::{Bridge, BridgeOptions};
    use gridlink::grid::{Payload, TopicSelection};
    use gridlink::sink::SinkConfig;

    let _ = tokio_rustls::rustls::crypto::aws_lc_rs::default_provider().install_default();
    let p = common::prosody_with_bridge();
    let publisher = common::grid(&p, "publisher").await;
    for t in ["incidents", "rid-b"] {
        open_topic(&publisher, t).await;
    }
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (org(dir.path(), "rid-a"), org(dir.path(), "rid-b"));
    let b_conf = dir.path().join("b.toml");
    std::fs::write(
        &b_conf,
        "[rid]\n[[rid.peer]]\nname = \"rid-a.example\"\nallow = [\"Report\"]\n",
    )
    .unwrap();
    let (mut b_srv, b_port) = serve(&p, &b, &b_conf, &a.ca.ca_pem, "rid-b").await;

    let table = |url: String| -> SinkConfig {
        toml::from_str(&format!(
            "type = \"rid\"\nurl = \"{url}\"\ntls_cert = {:?}\ntls_key = {:?}\npeer_ca = {:?}\ntopics = [\"incidents\"]\nnode = \"127.0.0.1\"\n",
            a.ca.server_chain_pem, a.ca.server_key_pem, b.ca.ca_pem
        ))
        .unwrap()
    };
    let good = format!("https://localhost:{b_port}/");
    let wrong = format!("https://localhost:{b_port}/elsewhere");
    let state = dir.path().join("state");
    let bridge = Bridge::start(
        common::grid(&p, "bridge").await,
        gridlink::store::Store::open(dir.path().join("bridge.sqlite")).unwrap(),
        BridgeOptions {
            topics: TopicSelection::Named(vec!["incidents".into()]),
            rolie: gridlink::rolie::RolieConfig {
                listen: "127.0.0.1:0".parse().unwrap(),
                ..Default::default()
            },
            max_payload: 200 * 1024,
            state_dir: state.join("poll"),
            sinks: vec![table(good.clone()), table(wrong.clone())],
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let metrics_url = format!("http://{}/metrics", bridge.local_addr());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(bridge.run(async {
        let _ = stopped.await;
    }));

    let payload =
        Payload::from_prepared("csirt.example.com:7".into(), common::incident(7)).unwrap();
    publisher.publish("incidents", &payload).await.unwrap();
    b_srv
        .wait_line(true, Duration::from_secs(20), |l| {
            l.contains("RID message received") && l.contains("Report")
        })
        .await;
    let on_b = items(&p, &b.state, "rid-b").await;
    assert_eq!(on_b.len(), 1, "{on_b:?}");

    // The refused Report is dead-lettered with the reason, once.
    let dead = state.join(format!(
        "dead-letter-{}.jsonl",
        format!("rid {wrong}").replace(
            |c: char| !c.is_ascii_alphanumeric() && !".-_".contains(c),
            "_"
        )
    ));
    let mut lines = Vec::new();
    for _ in 0..200 {
        lines = std::fs::read_to_string(&dead)
            .map(|t| t.lines().map(String::from).collect::<Vec<_>>())
            .unwrap_or_default();
        if !lines.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(lines.len(), 1, "{}: {lines:?}", dead.display());
    assert!(lines[0].contains("404"), "{}", lines[0]);
    assert!(lines[0].contains("csirt.example.com:7"), "{}", lines[0]);

    let metrics = reqwest::get(&metrics_url)
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains(&format!(
            "gridlink_sink_sent_total{{sink=\"rid {good}\"}} 1"
        )),
        "{metrics}"
    );
    assert!(
        metrics.contains(&format!(
            "gridlink_sink_lag_events{{sink=\"rid {wrong}\"}} 0"
        )),
        "{metrics}"
    );
    let _ = stop.send(());
    task.await.unwrap().unwrap();
    b_srv.stop().await;
}
