//! Checklist 18 (RFC 6545 §6.2, §7.1): a denied Request's Acknowledgement must reach both the
//! originator and the sending peer. Three real RID endpoints on loopback: the originator O signs an
//! InvestigationRequest (detached signature), the hop H forwards it to gridlink G with its own
//! enveloped signature; G's operator denies it with `gridlink rid respond --deny`, and the signed
//! Acknowledgement Denied reaches H (at the request's source address, RFC 6546 §3) and O (the
//! configured peer its signature's certificate names).

mod common;

use std::path::Path;
use std::time::Duration;

use common::hostile::{run, Proc};
use common::rid::{ca, rid_serve, write};
use gridlink::lab::TestCa;
use gridlink::rid::sign::{sign_message, sign_origin, SigningKey};

/// An InvestigationRequest made from the IODEF v2 Report fixture (its RecordItem is what the
/// originator signs).
fn request() -> String {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/rid/valid/report-iodef-v2.xml");
    std::fs::read_to_string(path)
        .unwrap()
        .replace("MsgType=\"Report\"", "MsgType=\"InvestigationRequest\"")
        .replace(
            "<TrafficType type=\"Attack\"/>",
            "<TrafficType type=\"Network\"/>",
        )
}

/// `gridlink rid serve` for `org` on 127.0.0.1:`port` (0: any), trusting clients of `client_ca`.
async fn serve(
    p: &gridlink::lab::Prosody,
    dir: &Path,
    name: &str,
    org: &TestCa,
    client_ca: &Path,
    port: u16,
    conf: &str,
) -> (Proc, u16) {
    let conf = write(dir, &format!("{name}.toml"), conf);
    let mut c = common::gridlink_at(
        p.c2s_port,
        &p.ca.ca_pem,
        "publisher",
        "publisher-pw",
        &dir.join(format!("{name}-state")),
    );
    c.env("RUST_LOG", "gridlink=info")
        .arg("--config")
        .arg(&conf)
        .args(["rid", "serve", "--listen", &format!("127.0.0.1:{port}")])
        .args(["--topic", "orig-reports"])
        .arg("--tls-cert")
        .arg(&org.server_chain_pem)
        .arg("--tls-key")
        .arg(&org.server_key_pem)
        .arg("--client-ca")
        .arg(client_ca);
    rid_serve(name, c).await
}

#[tokio::test(flavor = "multi_thread")]
async fn checklist_18_denied_request_acknowledged_to_originator_and_sending_peer() {
    let p = common::prosody();
    let publisher = common::grid(&p, "publisher").await;
    for t in ["orig-reports", "orig-requests"] {
        common::open_topic(&publisher, t).await;
    }
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let (o, h, g) = (ca(dir, "rid-o"), ca(dir, "rid-h"), ca(dir, "rid-g"));
    // G trusts the CAs of both: H's for the TLS client, O's for the detached signature.
    let both = format!(
        "{}{}",
        std::fs::read_to_string(&o.ca_pem).unwrap(),
        std::fs::read_to_string(&h.ca_pem).unwrap()
    );
    let oh_ca = write(dir, "o-and-h-ca.pem", &both);
    let peer_g =
        "[[rid.peer]]\nname = \"rid-g.example\"\nallow = [\"Acknowledgement\", \"Result\"]\n";
    let (mut o_srv, o_port) = serve(
        &p,
        dir,
        "rid-o",
        &o,
        &g.ca_pem,
        0,
        &format!("[rid]\nnode = \"127.0.0.1\"\n{peer_g}"),
    )
    .await;
    let h_port = gridlink::lab::free_port().unwrap();
    let (mut h_srv, _) = serve(
        &p,
        dir,
        "rid-h",
        &h,
        &g.ca_pem,
        h_port,
        &format!("[rid]\nnode = \"127.0.0.1\"\n{peer_g}"),
    )
    .await;
    let g_conf = format!(
        "[rid]\nnode = \"127.0.0.1\"\nrequests_topic = \"orig-requests\"\nstate_dir = {:?}\n\
         [[rid.peer]]\nname = \"rid-h.example\"\nallow = [\"InvestigationRequest\"]\ncallback_port = {h_port}\n\
         [[rid.peer]]\nname = \"rid-o.example\"\nallow = [\"Acknowledgement\"]\nurl = \"https://localhost:{o_port}/\"\n",
        dir.join("g-pending")
    );
    let (mut g_srv, g_port) = serve(&p, dir, "rid-g", &g, &oh_ca, 0, &g_conf).await;
    let g_conf = dir.join("rid-g.toml");

    // H forwards O's request, and one of its own (no originator's signature).
    let okey = SigningKey::from_pem(&o.server_chain_pem, &o.server_key_pem).unwrap();
    let hkey = SigningKey::from_pem(&h.server_chain_pem, &h.server_key_pem).unwrap();
    let by_origin = sign_origin(request().as_bytes(), &okey).unwrap();
    let forwarded = sign_message(by_origin.as_bytes(), &hkey).unwrap();
    let own = sign_message(
        request().replacen(">492382<", ">492383<", 1).as_bytes(),
        &hkey,
    )
    .unwrap();
    let tls = gridlink::rid::config::client_tls(&h.server_chain_pem, &h.server_key_pem, &g.ca_pem)
        .unwrap();
    let http = reqwest::Client::builder()
        .use_preconfigured_tls(tls)
        .build()
        .unwrap();
    for body in [forwarded, own] {
        let r = http
            .post(format!("https://localhost:{g_port}/"))
            .header("Content-Type", "text/xml")
            .body(body)
            .send()
            .await
            .unwrap();
        let (status, answer) = (r.status().as_u16(), r.text().await.unwrap());
        assert_eq!(status, 200, "{answer}\n{}", g_srv.output());
        assert!(answer.contains("Pending"), "{answer}");
    }

    let gl = || {
        let mut c = common::gridlink_at(
            p.c2s_port,
            &p.ca.ca_pem,
            "publisher",
            "publisher-pw",
            &dir.join("rid-g-state"),
        );
        c.arg("--config").arg(&g_conf);
        c
    };
    let mut c = gl();
    c.args(["rid", "pending"]);
    let (code, out, err) = run(tokio::process::Command::from(c), Duration::from_secs(30)).await;
    assert_eq!(code, Some(0), "{err}");
    let waiting: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(waiting.len(), 2, "{out}");
    let by_o = waiting
        .iter()
        .find(|w| w["originator"] == "rid-o.example")
        .unwrap_or_else(|| panic!("the originator is recorded: {out}"));
    let by_h = waiting
        .iter()
        .find(|w| w["originator"].is_null())
        .unwrap_or_else(|| panic!("H's own request has no other originator: {out}"));

    let deny = |token: &str| {
        let mut c = gl();
        c.args(["rid", "respond", "--deny", "--token", token])
            .arg("--tls-cert")
            .arg(&g.server_chain_pem)
            .arg("--tls-key")
            .arg(&g.server_key_pem)
            .arg("--peer-ca")
            .arg(&oh_ca)
            .args(["--node", "127.0.0.1"]);
        run(tokio::process::Command::from(c), Duration::from_secs(60))
    };
    let token = by_o["token"].as_str().unwrap();
    let (code, _, err) = deny(token).await;
    assert_eq!(
        code,
        Some(0),
        "{err}\nO: {}\nH: {}",
        o_srv.output(),
        h_srv.output()
    );
    assert!(err.contains("told the originator rid-o.example"), "{err}");
    for srv in [&mut o_srv, &mut h_srv] {
        srv.wait_line(true, Duration::from_secs(20), |l| {
            l.contains("RID message received") && l.contains("Acknowledgement")
        })
        .await;
    }
    assert!(
        h_srv.output().contains(token),
        "the sending peer's callback carries its token"
    );

    // H's own request: only H is told.
    let token = by_h["token"].as_str().unwrap();
    let (code, _, err) = deny(token).await;
    assert_eq!(code, Some(0), "{err}");
    assert!(!err.contains("originator"), "{err}");
    h_srv
        .wait_line(true, Duration::from_secs(20), |l| {
            l.contains("RID message received") && l.contains(token)
        })
        .await;
    let told_o = o_srv
        .stderr_lines()
        .iter()
        .filter(|l| l.contains("RID message received"))
        .count();
    assert_eq!(told_o, 1, "{}", o_srv.output());
    for srv in [&mut o_srv, &mut h_srv, &mut g_srv] {
        srv.stop().await;
    }
}
