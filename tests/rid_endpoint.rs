//! The RID endpoint beyond the basic exchange (`tests/rid_https.rs`): run by a bridge as one of its
//! sources (`[[source]] type = "rid"`), Queries answered from the bridge's store, revoked peer
//! certificates refused by TLS (CRLs), callbacks to the requester's source address, and the trace
//! semantics gridlink implements. Two organisations, each with its own lab CA (rcgen): A (the peer,
//! `gridlink rid send`) and B (the bridge or `gridlink rid serve`).
//!
//! Test names follow the `rid.md` checklist lines they cover.

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use common::hostile::{run, Proc};
use common::{fixture, gridlink_at, open_topic};
use gridlink::bridge::{Bridge, BridgeOptions};
use gridlink::grid::{Payload, TopicSelection};
use gridlink::lab::{Prosody, TestCa};
use gridlink::rid::RidConfig;

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

/// `gridlink rid send --to URL ARGS…` as `me`, trusting `peer_ca`: exit code, stdout, stderr.
async fn send(
    p: &Prosody,
    me: &Org,
    peer_ca: &Path,
    url: &str,
    args: &[&str],
) -> (Option<i32>, String, String) {
    let mut c = gl(p, &me.state);
    c.args(["rid", "send", "--to", url])
        .args(args)
        .arg("--tls-cert")
        .arg(&me.ca.server_chain_pem)
        .arg("--tls-key")
        .arg(&me.ca.server_key_pem)
        .arg("--peer-ca")
        .arg(peer_ca)
        .args(["--node", "127.0.0.1"]);
    run(tokio::process::Command::from(c), Duration::from_secs(60)).await
}

/// A bridge (as `publisher`) following `incidents` and `rid-reports`, with one RID source whose
/// only peer is A (its Reports go to `rid-reports`).
struct RidBridge {
    base: String,
    rid_url: String,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<Result<(), gridlink::bridge::BridgeError>>>,
}

impl RidBridge {
    async fn start(
        p: &Prosody,
        dir: &Path,
        a: &Org,
        b: &Org,
        rid_extra: &str,
        peer_extra: &str,
    ) -> RidBridge {
        let _ = tokio_rustls::rustls::crypto::aws_lc_rs::default_provider().install_default();
        let publisher = common::grid(p, "publisher").await;
        for t in ["incidents", "rid-reports", "rid-requests"] {
            open_topic(&publisher, t).await;
        }
        let rid: RidConfig = toml::from_str(&format!(
            "listen = \"127.0.0.1:0\"\ntls_cert = {:?}\ntls_key = {:?}\nclient_ca = {:?}\nnode = \"127.0.0.1\"\nstate_dir = {:?}\n{rid_extra}\n[[peer]]\nname = \"rid-a.example\"\nallow = [\"Report\", \"Query\", \"InvestigationRequest\", \"TraceRequest\"]\ntopic = \"rid-reports\"\n{peer_extra}\n",
            b.ca.server_chain_pem, b.ca.server_key_pem, a.ca.ca_pem, dir.join("rid-pending"),
        ))
        .unwrap();
        let bridge = Bridge::start(
            common::grid(p, "publisher").await,
            gridlink::store::Store::open(dir.join("bridge.sqlite")).unwrap(),
            BridgeOptions {
                topics: TopicSelection::Named(vec!["incidents".into(), "rid-reports".into()]),
                rolie: gridlink::rolie::RolieConfig {
                    listen: "127.0.0.1:0".parse().unwrap(),
                    ..Default::default()
                },
                state_dir: dir.join("state").join("poll"),
                rid: vec![rid],
                ..Default::default()
            },
        )
        .await
        .unwrap();
        let base = format!("http://{}", bridge.local_addr());
        assert_eq!(bridge.rid_addrs().len(), 1);
        let rid_url = format!("https://localhost:{}/", bridge.rid_addrs()[0].port());
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(bridge.run(async {
            let _ = stopped.await;
        }));
        RidBridge {
            base,
            rid_url,
            stop: Some(stop),
            task: Some(task),
        }
    }

    /// Polls a feed of the bridge until it mentions `needle`.
    async fn feed_contains(&self, topic: &str, needle: &str) -> String {
        let url = format!("{}/rolie/feeds/{topic}", self.base);
        let mut last = String::new();
        for _ in 0..150 {
            let r = reqwest::get(&url).await.unwrap();
            let status = r.status().as_u16();
            last = r.text().await.unwrap();
            if status == 200 && last.contains(needle) {
                return last;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("{needle} never appeared in {url}: {last}");
    }

    async fn stop(mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.task.take() {
            t.await.unwrap().unwrap();
        }
    }
}

impl Drop for RidBridge {
    fn drop(&mut self) {
        if let Some(t) = self.task.take() {
            t.abort();
        }
    }
}

/// Checklist 34 with the bridge: a `[[source]] type = "rid"` endpoint run by `gridlink bridge`.
/// A's Report (over mutual TLS, `gridlink rid send`) goes through the bridge's outbox to the peer's
/// topic and appears in the bridge's ROLIE feed of that topic.
#[tokio::test(flavor = "multi_thread")]
async fn checklist_34_bridge_rid_source_report_reaches_the_feed() {
    let p = common::prosody();
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (org(dir.path(), "rid-a"), org(dir.path(), "rid-b"));
    let bridge = RidBridge::start(&p, dir.path(), &a, &b, "", "").await;
    let doc = fixture("iodef/valid/rfc7970-sec7.1-minimal.xml");
    let (code, _, err) = send(
        &p,
        &a,
        &b.ca.ca_pem,
        &bridge.rid_url,
        &["--report", doc.to_str().unwrap()],
    )
    .await;
    assert_eq!(code, Some(0), "{err}");
    assert!(err.contains("accepted"), "{err}");
    bridge.feed_contains("rid-reports", "492382").await;
    bridge.stop().await;
}

/// Checklist 1 (Query, RFC 6545 §7.4) with the bridge: a Query by IncidentID is answered with a
/// Report built from what the bridge's store holds (here an incident published on the grid to
/// `incidents`, a topic the bridge follows and no peer reports to); an unknown IncidentID gets the
/// Acknowledgement the RFC prescribes when no Report will come (Denied).
#[tokio::test(flavor = "multi_thread")]
async fn checklist_01_bridge_rid_source_query_answered_from_the_store() {
    let p = common::prosody();
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (org(dir.path(), "rid-a"), org(dir.path(), "rid-b"));
    let bridge = RidBridge::start(&p, dir.path(), &a, &b, "", "").await;
    let publisher = common::grid(&p, "publisher").await;
    let payload =
        Payload::from_prepared("csirt.example.com:7".into(), common::incident(7)).unwrap();
    publisher.publish("incidents", &payload).await.unwrap();
    bridge
        .feed_contains("incidents", "<title type=\"text\">7 (reporting)</title>")
        .await;

    let (code, out, err) = send(
        &p,
        &a,
        &b.ca.ca_pem,
        &bridge.rid_url,
        &["--query", "csirt.example.com:7"],
    )
    .await;
    assert_eq!(code, Some(0), "{err}");
    assert!(out.contains("MsgType=\"Report\""), "{out}");
    assert!(out.contains("soc@csirt.example.com"), "{out}");
    let (code, out, err) = send(
        &p,
        &a,
        &b.ca.ca_pem,
        &bridge.rid_url,
        &["--query", "csirt.example.com:8"],
    )
    .await;
    assert_eq!(code, Some(2), "{out}{err}");
    assert!(out.contains("MsgType=\"Acknowledgement\""), "{out}");
    assert!(out.contains("AuthorizationStatus=\"Denied\""), "{out}");
    bridge.stop().await;
}

/// Checklist 29 (RFC 6545 §9.3.1: X.509 path validation including revocation), both directions:
/// with `[rid] crl` naming A's CA's CRL that revokes A's certificate, the bridge's RID endpoint
/// refuses A in the TLS handshake and nothing is published; with `--crl` naming B's CA's CRL that
/// revokes B's certificate, A's client refuses B's server certificate before sending anything.
#[tokio::test(flavor = "multi_thread")]
async fn checklist_29_revoked_certificates_refused_by_tls() {
    let p = common::prosody();
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (org(dir.path(), "rid-a"), org(dir.path(), "rid-b"));
    let extra = format!("crl = [{:?}]", a.ca.crl_revoking_server);
    let bridge = RidBridge::start(&p, dir.path(), &a, &b, &extra, "").await;
    let doc = fixture("iodef/valid/rfc7970-sec7.1-minimal.xml");
    let report = ["--report", doc.to_str().unwrap()];

    // The client side: B's certificate is revoked by the CRL A was given.
    let b_revoked = b.ca.crl_revoking_server.to_str().unwrap();
    let mut args = report.to_vec();
    args.extend(["--crl", b_revoked]);
    let (code, _, err) = send(&p, &a, &b.ca.ca_pem, &bridge.rid_url, &args).await;
    assert_ne!(code, Some(0), "{err}");
    assert!(err.contains("invalid peer certificate: Revoked"), "{err}");

    // The server side: A's certificate is revoked by the CRL the endpoint was given (A checks
    // B against a current CRL that revokes nothing).
    let b_current = b.ca.crl_current.to_str().unwrap();
    let mut args = report.to_vec();
    args.extend(["--crl", b_current]);
    let (code, _, err) = send(&p, &a, &b.ca.ca_pem, &bridge.rid_url, &args).await;
    assert_ne!(code, Some(0), "{err}");
    assert!(
        err.contains("CertificateRevoked") || err.contains("revoked"),
        "{err}"
    );
    let feed = reqwest::get(format!("{}/rolie/feeds/rid-reports", bridge.base))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!feed.contains("492382"), "{feed}");
    bridge.stop().await;
}

/// Starts `gridlink rid serve` for `o` on 127.0.0.1:`port` with `config`, trusting `client_ca`.
async fn serve(p: &Prosody, o: &Org, config: &Path, client_ca: &Path, port: u16) -> Proc {
    let mut c = gl(p, &o.state);
    c.env("RUST_LOG", "gridlink=info")
        .arg("--config")
        .arg(config)
        .args(["rid", "serve", "--listen", &format!("127.0.0.1:{port}")])
        .arg("--tls-cert")
        .arg(&o.ca.server_chain_pem)
        .arg("--tls-key")
        .arg(&o.ca.server_key_pem)
        .arg("--client-ca")
        .arg(client_ca);
    let mut proc = Proc::spawn("rid serve", tokio::process::Command::from(c));
    proc.wait_line(true, Duration::from_secs(30), |l| {
        l.contains("listening on https://")
    })
    .await;
    proc
}

/// Checklist 40 (RFC 6546 §3: callbacks go to the requester's source address, on port 4590 unless
/// configured): A's peer table at B names no URL, only a `callback_port`, and A's DNS name does not
/// resolve. A sends B an InvestigationRequest; B's operator answers it with `gridlink rid
/// respond`, whose Result connects to the address the request came from (127.0.0.1), checks A's
/// certificate for A's name, and reaches A's endpoint, which publishes it.
#[tokio::test(flavor = "multi_thread")]
async fn checklist_40_callback_goes_to_the_source_address() {
    let p = common::prosody();
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (org(dir.path(), "rid-a"), org(dir.path(), "rid-b"));
    let a_port = gridlink::lab::free_port().unwrap();
    let bridge = RidBridge::start(
        &p,
        dir.path(),
        &a,
        &b,
        "",
        &format!("callback_port = {a_port}"),
    )
    .await;
    let publisher = common::grid(&p, "publisher").await;
    open_topic(&publisher, "rid-a").await;
    let a_conf = dir.path().join("a.toml");
    std::fs::write(
        &a_conf,
        "[rid]\nnode = \"127.0.0.1\"\ntopic = \"rid-a\"\n[[rid.peer]]\nname = \"rid-b.example\"\nallow = [\"Result\", \"Acknowledgement\"]\n",
    )
    .unwrap();
    let mut a_srv = serve(&p, &a, &a_conf, &b.ca.ca_pem, a_port).await;

    let doc = fixture("iodef/valid/rfc7970-sec7.1-minimal.xml");
    let (code, out, err) = send(
        &p,
        &a,
        &b.ca.ca_pem,
        &bridge.rid_url,
        &["--investigate", doc.to_str().unwrap()],
    )
    .await;
    assert_eq!(code, Some(0), "{err}");
    assert!(out.contains("AuthorizationStatus=\"Pending\""), "{out}");

    let b_conf = dir.path().join("b.toml");
    std::fs::write(
        &b_conf,
        format!("[rid]\nstate_dir = {:?}\n", dir.path().join("rid-pending")),
    )
    .unwrap();
    let mut c = gl(&p, &b.state);
    c.arg("--config").arg(&b_conf).args(["rid", "pending"]);
    let (code, out, err) = run(tokio::process::Command::from(c), Duration::from_secs(30)).await;
    assert_eq!(code, Some(0), "{err}");
    let waiting: serde_json::Value = serde_json::from_str(out.lines().next().unwrap()).unwrap();
    assert_eq!(waiting["url"], format!("https://rid-a.example:{a_port}/"));
    assert_eq!(waiting["connect_to"], "127.0.0.1");
    let token = waiting["token"].as_str().unwrap();

    let mut c = gl(&p, &b.state);
    c.arg("--config")
        .arg(&b_conf)
        .args([
            "rid",
            "respond",
            "--token",
            token,
            "--found",
            "--source",
            "192.0.2.200",
        ])
        .arg("--result")
        .arg(&doc)
        .arg("--tls-cert")
        .arg(&b.ca.server_chain_pem)
        .arg("--tls-key")
        .arg(&b.ca.server_key_pem)
        .arg("--peer-ca")
        .arg(&a.ca.ca_pem)
        .args(["--node", "127.0.0.1"]);
    let (code, _, err) = run(tokio::process::Command::from(c), Duration::from_secs(60)).await;
    assert_eq!(code, Some(0), "{err}\nA: {}", a_srv.output());
    assert!(err.contains("at 127.0.0.1"), "{err}");
    a_srv
        .wait_line(true, Duration::from_secs(20), |l| {
            l.contains("RID message received") && l.contains("Result") && l.contains(token)
        })
        .await;
    a_srv.stop().await;
    bridge.stop().await;
}

/// A TraceRequest made from the IODEF v2 Report fixture, its enclosed document recording the RID
/// systems `path` as intermediate systems (RFC 6545 §7.1.3), and `node_name` in RIDPolicy/Node.
fn trace_request(dir: &Path, path: &[&str], node_name: Option<&str>) -> PathBuf {
    let report = std::fs::read_to_string(fixture("rid/valid/report-iodef-v2.xml")).unwrap();
    let systems: String = path
        .iter()
        .map(|a| {
            format!(
                "<EventData><Flow><System category=\"intermediate\"><Node><Address category=\"ipv4-addr\">{a}</Address></Node></System></Flow></EventData>"
            )
        })
        .collect();
    let mut msg = report
        .replace("MsgType=\"Report\"", "MsgType=\"TraceRequest\"")
        .replace(
            "<TrafficType type=\"Attack\"/>",
            "<TrafficType type=\"Network\"/>",
        )
        .replace(
            "<!-- Add more fields to make the document useful -->",
            &systems,
        );
    if let Some(n) = node_name {
        msg = msg.replace(
            "<iodef:Node><iodef:Address",
            &format!("<iodef:Node><iodef:NodeName>{n}</iodef:NodeName><iodef:Address"),
        );
    }
    let f = dir.join(format!("trace-{}.xml", path.len()));
    std::fs::write(&f, msg).unwrap();
    f
}

/// Checklist 24 (RFC 6545 §3.1: a trace whose path already lists this system is stopped, with an
/// alert): a TraceRequest whose recorded path holds the endpoint's own address (its `node`,
/// 127.0.0.1) is answered Acknowledgement Denied, logged as a trace loop, and neither published
/// nor left waiting for the operator; the same request with another path waits (Pending).
#[tokio::test(flavor = "multi_thread")]
async fn checklist_24_trace_loop_stopped() {
    let p = common::prosody();
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (org(dir.path(), "rid-a"), org(dir.path(), "rid-b"));
    let bridge = RidBridge::start(&p, dir.path(), &a, &b, "", "").await;
    let looped = trace_request(dir.path(), &["192.0.2.35", "127.0.0.1"], None);
    let (code, out, err) = send(
        &p,
        &a,
        &b.ca.ca_pem,
        &bridge.rid_url,
        &["--message", looped.to_str().unwrap()],
    )
    .await;
    assert_eq!(code, Some(2), "{out}{err}");
    assert!(out.contains("AuthorizationStatus=\"Denied\""), "{out}");
    let pending = dir.path().join("rid-pending");
    let waiting = || std::fs::read_dir(&pending).map(|d| d.count()).unwrap_or(0);
    assert_eq!(waiting(), 0);

    let fine = trace_request(dir.path(), &["192.0.2.35"], None);
    let (code, out, err) = send(
        &p,
        &a,
        &b.ca.ca_pem,
        &bridge.rid_url,
        &["--message", fine.to_str().unwrap()],
    )
    .await;
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(out.contains("AuthorizationStatus=\"Pending\""), "{out}");
    assert_eq!(waiting(), 1);
    bridge.stop().await;
}

/// Checklist 11 (RFC 6545 §5.1: with MsgDestination=RIDSystem, a NodeName must resolve to the
/// Node's Address): `gridlink rid send` refuses to send a message whose NodeName (localhost) does
/// not resolve to its Address (192.0.2.130), before connecting to anything.
#[tokio::test]
async fn checklist_11_send_refuses_node_name_not_resolving_to_address() {
    let p = common::prosody();
    let dir = tempfile::tempdir().unwrap();
    let a = org(dir.path(), "rid-a");
    let msg = trace_request(dir.path(), &[], Some("localhost"));
    let (code, out, err) = send(
        &p,
        &a,
        &a.ca.ca_pem,
        "https://127.0.0.1:1/",
        &["--message", msg.to_str().unwrap()],
    )
    .await;
    assert_ne!(code, Some(0), "{out}");
    assert!(err.contains("not sent"), "{err}");
    assert!(err.contains("not to Node/Address 192.0.2.130"), "{err}");
}

/// Checklist 34 through `gridlink bridge` and its configuration file: a `[[source]] type = "rid"`
/// table that takes the `[rid]` table's keys and overrides `listen`; the bridge says where its RID
/// endpoint listens, and A's Report sent there is accepted and reaches the bridge's topic.
#[tokio::test(flavor = "multi_thread")]
async fn checklist_34_gridlink_bridge_runs_the_rid_source_of_its_config() {
    let p = common::prosody();
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (org(dir.path(), "rid-a"), org(dir.path(), "rid-b"));
    let publisher = common::grid(&p, "publisher").await;
    for t in ["incidents", "rid-requests"] {
        open_topic(&publisher, t).await;
    }
    let conf = dir.path().join("bridge.toml");
    std::fs::write(
        &conf,
        format!(
            "[bridge]\ntopics = [\"incidents\"]\nlisten = \"127.0.0.1:0\"\n\
             [[source]]\ntype = \"rid\"\nlisten = \"127.0.0.1:0\"\n\
             [rid]\nlisten = \"127.0.0.1:4590\"\ntls_cert = {:?}\ntls_key = {:?}\nclient_ca = {:?}\nnode = \"127.0.0.1\"\ntopic = \"incidents\"\n\
             [[rid.peer]]\nname = \"rid-a.example\"\nallow = [\"Report\"]\n",
            b.ca.server_chain_pem, b.ca.server_key_pem, a.ca.ca_pem
        ),
    )
    .unwrap();
    let mut c = gl(&p, &b.state);
    c.arg("--config").arg(&conf).arg("bridge");
    let mut bridge = Proc::spawn("bridge", tokio::process::Command::from(c));
    let line = bridge
        .wait_line(true, Duration::from_secs(30), |l| {
            l.contains("RID endpoint listening on https://")
        })
        .await;
    let port = line
        .rsplit(':')
        .next()
        .unwrap()
        .trim_end_matches('/')
        .to_string();
    assert_ne!(port, "4590", "{line}");
    let doc = fixture("iodef/valid/rfc7970-sec7.1-minimal.xml");
    let (code, _, err) = send(
        &p,
        &a,
        &b.ca.ca_pem,
        &format!("https://localhost:{port}/"),
        &["--report", doc.to_str().unwrap()],
    )
    .await;
    assert_eq!(code, Some(0), "{err}\nbridge: {}", bridge.output());
    assert!(err.contains("accepted"), "{err}");
    let items = publisher
        .items(
            "incidents",
            None,
            None,
            gridlink::iodef::ValidationLevel::Off,
        )
        .await
        .unwrap();
    assert_eq!(items.len(), 1, "{items:?}");
    bridge.stop().await;
}
