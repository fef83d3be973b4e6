//! RID XML Encryption (RFC 6545 §9.1, checklist 28): a `private`/`need-to-know` restriction makes
//! the enclosed IODEF document travel as `xenc:EncryptedData`, RIDPolicy in clear; `public` stays
//! clear; a message that cannot be encrypted is not sent; one that cannot be decrypted is answered
//! Acknowledgement Denied, Justification `Encryption`, and nothing is published. Checked end to end
//! between two gridlink endpoints (lab Prosody, mutual TLS, rcgen ECDSA P-256: ECDH-ES), and against
//! `xmlsec1` 1.2.37 (libxmlsec1) with an RSA certificate made by `openssl`.
//!
//! xmlsec1 1.2 knows only `rsa-oaep-mgf1p` (SHA-1) and no ECDH-ES: gridlink sends XML Encryption
//! 1.1's `rsa-oaep` with SHA-256/MGF1-SHA-256, which xmlsec1 1.2 cannot open, so the interop is
//! proven for the content encryption (AES-256-GCM, xmlsec1 `--aeskey`) in that direction, and in full
//! (xmlsec1's `aes256-gcm` + `rsa-oaep-mgf1p`) in the other. The two forms gridlink sends are proven
//! both ways against Python `cryptography` (`tests/py/xenc_peer.py`).

mod common;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use common::hostile::{run, Proc};
use common::rid::{ca, leaf, rid_serve, write, xmlsec1};
use common::{gridlink_at, open_topic, prosody};
use gridlink::lab::Prosody;
use gridlink::rid::client::{Reply, RidClient, SendError};
use gridlink::rid::sign::{canonicalize, read};
use gridlink::rid::xenc::{
    self, decrypt_message, encrypt_message, DecryptingKey, Recipient, RecipientKey, Sealed,
    XencError,
};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::CertificateDer;

fn fixture() -> String {
    std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/rid/valid/report-iodef-v2.xml"),
    )
    .unwrap()
}

/// An InvestigationRequest (its RecordItem is what the originator signs), `need-to-know`.
const REQUEST: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<RID lang="en" xmlns="urn:ietf:params:xml:ns:iodef-rid-2.0"
     xmlns:iodef="urn:ietf:params:xml:ns:iodef-1.0">
  <RIDPolicy MsgType="InvestigationRequest" MsgDestination="SourceOfIncident">
    <PolicyRegion region="PeerToPeer"/>
    <iodef:Node><iodef:Address category="ipv4-addr">192.0.2.35</iodef:Address></iodef:Node>
    <TrafficType type="Network"/>
    <iodef:IncidentID name="csirt.example.com">189801</iodef:IncidentID>
    <ReportSchema Version="ext-value" ext-Version="2.0" XMLSchemaID="ext-value"
                  ext-XMLSchemaID="urn:ietf:params:xml:ns:iodef-2.0">
      <XMLDocument dtype="xml" meaning="xml">
        <IODEF-Document version="2.00" xml:lang="en" xmlns="urn:ietf:params:xml:ns:iodef-2.0">
          <Incident purpose="mitigation" restriction="need-to-know">
            <IncidentID name="csirt.example.com">189801</IncidentID>
            <GenerationTime>2026-12-07T06:00:00Z</GenerationTime>
            <Contact type="organization" role="creator">
              <Email><EmailTo>ir@csirt.example.com</EmailTo></Email>
            </Contact>
            <EventData>
              <Expectation action="investigate"/>
              <Record>
                <RecordData>
                  <RecordItem dtype="string">450000522ad9 sample packet &amp; more</RecordItem>
                </RecordData>
              </Record>
            </EventData>
          </Incident>
        </IODEF-Document>
      </XMLDocument>
    </ReportSchema>
  </RIDPolicy>
</RID>
"#;

/// The fixture Report (its Incident `restriction="private"`) under another IncidentID.
fn report(id: &str, restriction: &str) -> String {
    fixture().replace("492382", id).replace(
        "restriction=\"private\"",
        &format!("restriction=\"{restriction}\""),
    )
}

/// The canonical form (exclusive c14n, no comments) of a whole document.
fn canonical(xml: &str) -> String {
    canonicalize(&read(xml.as_bytes()).unwrap(), None)
}

/// One base64 character of the last `CipherValue` (the content's) changed.
fn tamper(wire: &str) -> String {
    let at = wire.rfind("<xenc:CipherValue>").unwrap() + "<xenc:CipherValue>".len() + 20;
    let mut s = wire.to_string();
    let c = if &s[at..at + 1] == "A" { "B" } else { "A" };
    s.replace_range(at..at + 1, c);
    s
}

/// ECDH-ES (P-256) both ways, with the library alone: private is encrypted (no IODEF text left,
/// RIDPolicy in clear, still valid RID), decrypts back to the very same octets; public and
/// unrestricted stay clear; no recipient, a wrong key or an altered ciphertext fail.
#[test]
fn checklist_28_ecdh_es_round_trip_tampering_and_wrong_key() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (ca(dir.path(), "rid-a"), ca(dir.path(), "rid-b"));
    let to_b = Recipient::from_cert(&leaf(&b.server_chain_pem)).unwrap();
    assert!(matches!(to_b.key, RecipientKey::P256(_)));
    let clear = fixture();
    let Sealed::Encrypted { xml: wire, because } =
        encrypt_message(clear.clone(), Some(&to_b)).unwrap()
    else {
        panic!("a private Incident was not encrypted");
    };
    assert!(because.contains("private"), "{because}");
    for gone in ["IODEF-Document", "contact@csirt.example.com", "2015-07-18"] {
        assert!(!wire.contains(gone), "{gone} on the wire:\n{wire}");
    }
    for there in [
        "<xenc:EncryptedData",
        xenc::AES256_GCM,
        xenc::ECDH_ES,
        xenc::CONCAT_KDF,
        xenc::KW_AES256,
        "<dsig11:ECKeyValue>",
        "<RIDPolicy MsgType=\"Report\"",
        "<iodef:IncidentID name=\"csirt.example.com\">492382",
    ] {
        assert!(wire.contains(there), "{there} missing:\n{wire}");
    }
    // Still a schema-valid RID message (XMLDocument holds any content): gridlink's checker and
    // Python xmlschema with the RFC 6545 schemas (and XML Signature's, for the ds: elements) agree.
    let (_, problems) = gridlink::rid::check(wire.as_bytes()).unwrap();
    assert!(!problems.iter().any(|p| p.is_error()), "{problems:?}");
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let f = write(dir.path(), "encrypted-report.xml", wire.as_bytes());
    let out = Command::new("python3")
        .arg(root.join("tests/py/rid_xsd_verdict.py"))
        .arg(root.join("tests/fixtures/rid/schemas"))
        .arg(root.join("tests/fixtures/iodef/schemas"))
        .arg(&f)
        .output()
        .expect("python3 is required");
    let verdict: serde_json::Value =
        serde_json::from_slice(out.stdout.split(|b| *b == b'\n').next().unwrap())
            .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
    assert_eq!(verdict["valid"], true, "xmlschema: {verdict}");
    assert!(xenc::is_encrypted(&wire));

    let kb = DecryptingKey::from_pem(&b.server_key_pem).unwrap();
    assert_eq!(decrypt_message(&wire, &kb).unwrap(), clear);
    // Another recipient's key, an altered ciphertext: refused, one opaque error.
    let ka = DecryptingKey::from_pem(&a.server_key_pem).unwrap();
    assert!(matches!(
        decrypt_message(&wire, &ka),
        Err(XencError::Decrypt)
    ));
    assert!(matches!(
        decrypt_message(&tamper(&wire), &kb),
        Err(XencError::Decrypt)
    ));
    // A swapped-in plaintext that is not one element is refused too (encrypt "</XMLDocument>").
    let bad = xenc::encrypt_element(b"<a/></XMLDocument><XMLDocument>", &to_b).unwrap();
    let s = xenc::scan(&clear).unwrap().documents[0].clone();
    let mut forged = clear.clone();
    forged.replace_range(s.start..s.end, &bad);
    assert!(decrypt_message(&forged, &kb).is_err());

    // need-to-know for several readers: one EncryptedKey each (an RSA and two P-256 ones would do
    // alike), every reader decrypts, nobody else.
    let c = ca(dir.path(), "rid-c");
    let to_a = Recipient::from_cert(&leaf(&a.server_chain_pem)).unwrap();
    let both = xenc::encrypt_message_for(report("2", "need-to-know"), &[&to_a, &to_b])
        .unwrap()
        .into_xml();
    assert_eq!(both.matches("<xenc:EncryptedKey>").count(), 2);
    assert_eq!(
        decrypt_message(&both, &ka).unwrap(),
        report("2", "need-to-know")
    );
    assert_eq!(
        decrypt_message(&both, &kb).unwrap(),
        report("2", "need-to-know")
    );
    let kc = DecryptingKey::from_pem(&c.server_key_pem).unwrap();
    assert!(decrypt_message(&both, &kc).is_err());

    // Public, and no restriction at all: clear.
    for r in ["public", "default"] {
        let x = report("1", r);
        assert_eq!(
            encrypt_message(x.clone(), Some(&to_b)).unwrap(),
            Sealed::Clear(x)
        );
    }
    // Restricted and nobody to encrypt for: an error, never clear text.
    assert!(matches!(
        encrypt_message(clear, None),
        Err(XencError::NoRecipient(_))
    ));
}

/// Checklist 25 with 28: the originator signs the clear RecordItem, then the document is encrypted,
/// then the sending peer signs what is sent; the receiver checks the enveloped signature over what
/// arrived, decrypts, and checks the originator's over the clear text (decryption gives back the
/// very octets that were signed).
#[test]
fn checklist_28_25_originator_signature_checked_after_decryption() {
    use gridlink::rid::sign::{
        sign_message, sign_origin, verify_message, verify_origin, SigningKey,
    };
    use tokio_rustls::rustls::RootCertStore;
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (ca(dir.path(), "rid-a"), ca(dir.path(), "rid-b"));
    let key = SigningKey::from_pem(&a.server_chain_pem, &a.server_key_pem).unwrap();
    let to_b = Recipient::from_cert(&leaf(&b.server_chain_pem)).unwrap();
    let by_origin = sign_origin(REQUEST.as_bytes(), &key).unwrap();
    let sealed = encrypt_message(by_origin.clone(), Some(&to_b))
        .unwrap()
        .into_xml();
    let wire = sign_message(sealed.as_bytes(), &key).unwrap();
    assert!(!wire.contains("sample packet") && wire.contains("xmldsig-filter2"));
    verify_message(wire.as_bytes(), &leaf(&a.server_chain_pem)).unwrap();
    let kb = DecryptingKey::from_pem(&b.server_key_pem).unwrap();
    let clear = decrypt_message(&wire, &kb).unwrap();
    let mut roots = RootCertStore::empty();
    for c in CertificateDer::pem_file_iter(&a.ca_pem).unwrap() {
        roots.add(c.unwrap()).unwrap();
    }
    verify_origin(clear.as_bytes(), &roots).unwrap();
    // Over the encrypted form the RecordItem is not there: the check needs the clear text.
    assert!(verify_origin(wire.as_bytes(), &roots).is_err());
}

/// RSA: gridlink sends `xenc11#rsa-oaep` (SHA-256, MGF1-SHA-256) and decrypts it; xmlsec1 opens
/// gridlink's AES-256-GCM content with the same key; what xmlsec1 encrypts (`aes256-gcm` +
/// `rsa-oaep-mgf1p`, its only RSA-OAEP) gridlink decrypts to the same document (canonically).
#[test]
fn checklist_28_rsa_oaep_and_aes_gcm_interoperate_with_xmlsec1() {
    let dir = tempfile::tempdir().unwrap();
    let (key_pem, cert_pem) = (dir.path().join("rsa.key"), dir.path().join("rsa.pem"));
    let out = Command::new("openssl")
        .args([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
        ])
        .args(["-subj", "/CN=rid-rsa.example", "-addext"])
        .arg("subjectAltName=DNS:rid-rsa.example")
        .arg("-keyout")
        .arg(&key_pem)
        .arg("-out")
        .arg(&cert_pem)
        .output()
        .expect("openssl is needed (scripts/deps)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let clear = fixture();
    let to = Recipient::from_cert(&leaf(&cert_pem)).unwrap();
    assert!(matches!(to.key, RecipientKey::Rsa(_)));
    let wire = encrypt_message(clear.clone(), Some(&to))
        .unwrap()
        .into_xml();
    assert!(wire.contains(xenc::RSA_OAEP) && wire.contains(xenc::MGF1_SHA256));
    assert!(!wire.contains("IODEF-Document"));
    let key = DecryptingKey::from_pem(&key_pem).unwrap();
    assert_eq!(decrypt_message(&wire, &key).unwrap(), clear);
    // The same key as PKCS#1 ("BEGIN RSA PRIVATE KEY").
    let pkcs1 = dir.path().join("rsa1.key");
    let out = Command::new("openssl")
        .args(["rsa", "-traditional", "-in"])
        .arg(&key_pem)
        .arg("-out")
        .arg(&pkcs1)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let key1 = DecryptingKey::from_pem(&pkcs1).unwrap();
    assert_eq!(decrypt_message(&wire, &key1).unwrap(), clear);

    // gridlink's content encryption, opened by xmlsec1 with the AES key.
    let cek = [7u8; 32];
    let span = xenc::scan(&clear).unwrap().documents[0].clone();
    let plain = &clear[span.start..span.end];
    let mut doc = clear.clone();
    doc.replace_range(
        span.start..span.end,
        &xenc::encrypt_element_with_key(plain.as_bytes(), &cek).unwrap(),
    );
    assert!(!doc.contains("IODEF-Document"));
    let key_bin = write(dir.path(), "cek.bin", &cek);
    let f = write(dir.path(), "gridlink-encrypted.xml", doc.as_bytes());
    let (ok, out) = xmlsec1(&[
        "--decrypt",
        "--aeskey",
        key_bin.to_str().unwrap(),
        f.to_str().unwrap(),
    ]);
    assert!(
        ok,
        "xmlsec1 could not decrypt gridlink's AES-256-GCM: {out}"
    );
    assert_eq!(canonical(&out), canonical(&clear), "{out}");

    // xmlsec1 encrypts the IODEF document for the RSA certificate: gridlink decrypts.
    let tmpl = write(
        dir.path(),
        "tmpl.xml",
        format!(
            "<xenc:EncryptedData xmlns:xenc=\"{}\" Type=\"{}\"><xenc:EncryptionMethod Algorithm=\"{}\"/><ds:KeyInfo xmlns:ds=\"{}\"><xenc:EncryptedKey><xenc:EncryptionMethod Algorithm=\"{}\"/><xenc:CipherData><xenc:CipherValue/></xenc:CipherData></xenc:EncryptedKey></ds:KeyInfo><xenc:CipherData><xenc:CipherValue/></xenc:CipherData></xenc:EncryptedData>",
            xenc::NS_XENC,
            xenc::TYPE_ELEMENT,
            xenc::AES256_GCM,
            xenc::NS_DS,
            xenc::RSA_OAEP_MGF1P
        )
        .as_bytes(),
    );
    let data = write(dir.path(), "rid.xml", clear.as_bytes());
    let (ok, out) = xmlsec1(&[
        "--encrypt",
        "--pubkey-cert-pem",
        cert_pem.to_str().unwrap(),
        "--session-key",
        "aes-256",
        "--xml-data",
        data.to_str().unwrap(),
        "--node-xpath",
        "//*[local-name()='IODEF-Document']",
        tmpl.to_str().unwrap(),
    ]);
    assert!(ok, "xmlsec1 --encrypt: {out}");
    assert!(
        !out.contains("IODEF-Document") && out.contains("EncryptedData"),
        "{out}"
    );
    let back = decrypt_message(&out, &key).unwrap();
    assert_eq!(canonical(&back), canonical(&clear), "{back}");
    // Altered by one character: refused.
    assert!(decrypt_message(&tamper(&out), &key).is_err());
}

fn gl(p: &Prosody, state: &Path) -> std::process::Command {
    gridlink_at(p.c2s_port, &p.ca.ca_pem, "publisher", "publisher-pw", state)
}

async fn items(p: &Prosody, state: &Path, topic: &str) -> Vec<String> {
    let mut c = gl(p, state);
    c.args(["items", "--topic", topic]);
    let (code, out, err) = run(tokio::process::Command::from(c), Duration::from_secs(30)).await;
    assert_eq!(code, Some(0), "{err}");
    out.lines()
        .filter(|l| !l.is_empty())
        .map(String::from)
        .collect()
}

fn denied_encryption(r: &Reply) -> bool {
    match r {
        Reply::Message(m) => {
            let x = m.to_xml();
            x.contains("AuthorizationStatus=\"Denied\"")
                && x.contains("Justification=\"Encryption\"")
        }
        _ => false,
    }
}

/// Two gridlink endpoints: A sends B a private Report (encrypted on the wire for the certificate B
/// presents in TLS, ECDH-ES), B decrypts it and publishes the clear IODEF; B's answer to a Query
/// for it is encrypted for A's certificate and A decrypts it; a public Report goes in
/// clear; an altered ciphertext and a message encrypted for someone else are answered Denied
/// `Encryption` with nothing published; with no recipient certificate nothing is sent.
#[tokio::test(flavor = "multi_thread")]
async fn checklist_28_private_report_encrypted_end_to_end() {
    let p = prosody();
    let publisher = common::grid(&p, "publisher").await;
    for t in ["enc-b", "enc-requests"] {
        open_topic(&publisher, t).await;
    }
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (ca(dir.path(), "rid-a"), ca(dir.path(), "rid-b"));
    let b_state = dir.path().join("b-state");
    let conf = write(
        dir.path(),
        "b.toml",
        b"[rid]\nnode = \"127.0.0.1\"\nrequests_topic = \"enc-requests\"\nrequire_signatures = true\n\
          [[rid.peer]]\nname = \"rid-a.example\"\nallow = [\"Report\", \"Query\", \"InvestigationRequest\"]\n",
    );
    let mut c = gl(&p, &b_state);
    c.env("RUST_LOG", "gridlink=info")
        .arg("--config")
        .arg(&conf)
        .args([
            "rid",
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--topic",
            "enc-b",
        ])
        .arg("--tls-cert")
        .arg(&b.server_chain_pem)
        .arg("--tls-key")
        .arg(&b.server_key_pem)
        .arg("--client-ca")
        .arg(&a.ca_pem);
    let (mut srv, port) = rid_serve("rid serve", c).await;
    let url = format!("https://localhost:{port}/");
    let client = RidClient::new(&a.server_chain_pem, &a.server_key_pem, &b.ca_pem).unwrap();
    let msg = |id: &str, r: &str| gridlink::rid::parse(report(id, r).as_bytes()).unwrap();
    let key =
        gridlink::rid::sign::SigningKey::from_pem(&a.server_chain_pem, &a.server_key_pem).unwrap();
    let signed = |x: &str| gridlink::rid::sign::sign_message(x.as_bytes(), &key).unwrap();

    // (a) private: encrypted on the wire, published in clear by B.
    let private = msg("1001", "private");
    let wire = client.wire(&url, &private).await.unwrap();
    assert!(
        !wire.contains("IODEF-Document") && !wire.contains("contact@csirt.example.com"),
        "{wire}"
    );
    assert!(wire.contains("<xenc:EncryptedData") && wire.contains("<ds:Signature"));
    let r = client.send(&url, &private, None).await.unwrap();
    assert!(matches!(r, Reply::Empty), "{r:?}\n{}", srv.output());
    srv.wait_line(true, Duration::from_secs(10), |l| {
        l.contains("encrypted RID document decrypted")
    })
    .await;
    let on_b = items(&p, &b_state, "enc-b").await;
    assert_eq!(on_b.len(), 1, "{on_b:?}");
    assert!(on_b[0].contains("contact@csirt.example.com") && on_b[0].contains("1001"));

    // A Query for it: B's Report answer carries the private document, so B encrypts it for the
    // certificate A presented in TLS; A's client decrypts it.
    let tls = gridlink::rid::config::client_tls(&a.server_chain_pem, &a.server_key_pem, &b.ca_pem)
        .unwrap();
    let http = reqwest::Client::builder()
        .use_preconfigured_tls(tls)
        .build()
        .unwrap();
    let query = gridlink::rid::message::query("csirt.example.com", "1001", "127.0.0.1");
    let raw = http
        .post(&url)
        .header("Content-Type", "text/xml")
        .body(signed(&query.to_xml()))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        raw.contains("MsgType=\"Report\"")
            && raw.contains("<xenc:EncryptedData")
            && !raw.contains("contact@csirt.example.com"),
        "{raw}"
    );
    match client.send(&url, &query, None).await.unwrap() {
        Reply::Message(m) => assert!(
            m.to_xml().contains("contact@csirt.example.com"),
            "{}",
            m.to_xml()
        ),
        other => panic!("{other:?}"),
    }

    // (b) public: clear on the wire, published.
    let public = msg("1002", "public");
    let wire = client.wire(&url, &public).await.unwrap();
    assert!(wire.contains("IODEF-Document") && !wire.contains("EncryptedData"));
    let r = client.send(&url, &public, None).await.unwrap();
    assert!(matches!(r, Reply::Empty), "{r:?}");
    assert_eq!(items(&p, &b_state, "enc-b").await.len(), 2);

    // A need-to-know InvestigationRequest: signed by its originator over the clear RecordItem,
    // encrypted, signed by A; B checks both signatures (the originator's after decrypting) and
    // publishes the request.
    let request = gridlink::rid::parse(REQUEST.as_bytes()).unwrap();
    let wire = client.wire(&url, &request).await.unwrap();
    assert!(!wire.contains("sample packet") && wire.contains("xmldsig-filter2"));
    match client.send(&url, &request, None).await.unwrap() {
        Reply::Message(m) => assert!(m.to_xml().contains("Pending"), "{}", m.to_xml()),
        other => panic!("{other:?}\n{}", srv.output()),
    }
    let reqs = items(&p, &b_state, "enc-requests").await;
    assert_eq!(reqs.len(), 1, "{reqs:?}");
    assert!(reqs[0].contains("sample packet"));

    // (d) an altered ciphertext (signed after the change, so that decryption is what fails) and a message
    // encrypted for A's own certificate: Denied, Encryption; nothing published.
    let unsigned = client.clone().unsigned();
    let altered = signed(&tamper(
        &unsigned.wire(&url, &msg("1003", "private")).await.unwrap(),
    ));
    let resp = http
        .post(&url)
        .header("Content-Type", "text/xml")
        .body(altered)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let answer = resp.text().await.unwrap();
    assert!(
        answer.contains("AuthorizationStatus=\"Denied\"")
            && answer.contains("Justification=\"Encryption\""),
        "{answer}"
    );
    let elsewhere = client
        .clone()
        .encrypt_for(&leaf(&a.server_chain_pem))
        .unwrap();
    let r = elsewhere
        .send(&url, &msg("1004", "need-to-know"), None)
        .await
        .unwrap();
    assert!(denied_encryption(&r), "{r:?}");
    assert_eq!(items(&p, &b_state, "enc-b").await.len(), 2);
    assert!(
        srv.output().contains("cannot decrypt"),
        "refusals are logged"
    );

    // (e) must be encrypted, no recipient certificate: an error, nothing sent.
    let received = |s: &Proc| {
        s.stderr_lines()
            .iter()
            .filter(|l| l.contains("RID message received"))
            .count()
    };
    let before = received(&srv);
    let e = client
        .clone()
        .no_recipient()
        .send(&url, &msg("1005", "private"), None)
        .await
        .unwrap_err();
    assert!(
        matches!(
            &e,
            SendError::Encryption {
                error: XencError::NoRecipient(_),
                ..
            }
        ),
        "{e}"
    );
    assert!(e.to_string().contains("must be encrypted"), "{e}");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(received(&srv), before);
    assert_eq!(items(&p, &b_state, "enc-b").await.len(), 2);
    srv.stop().await;
}

/// Hostile `EncryptedData`: every structural change, algorithm swap, bad or oversized base64 and
/// truncation is a typed error (the endpoint's Denied `Encryption`), never a panic; random
/// single-byte changes anywhere never panic either.
#[test]
fn checklist_28_hostile_encrypted_data_refused_without_panic() {
    use proptest::prelude::*;
    let dir = tempfile::tempdir().unwrap();
    let b = ca(dir.path(), "rid-b");
    let to_b = Recipient::from_cert(&leaf(&b.server_chain_pem)).unwrap();
    let kb = DecryptingKey::from_pem(&b.server_key_pem).unwrap();
    let wire = encrypt_message(fixture(), Some(&to_b)).unwrap().into_xml();
    assert!(decrypt_message(&wire, &kb).is_ok());
    let long_b64 = "A".repeat(5000);
    let cases: Vec<(&str, String)> = vec![
        ("no Type", wire.replacen(&format!(" Type=\"{}\"", xenc::TYPE_ELEMENT), "", 1)),
        ("Content type", wire.replacen("xmlenc#Element", "xmlenc#Content", 1)),
        ("CBC", wire.replacen(xenc::AES256_GCM, "http://www.w3.org/2001/04/xmlenc#aes256-cbc", 1)),
        ("kw-aes128 for a 256-bit KEK", wire.replacen(xenc::KW_AES256, xenc::KW_AES128, 1)),
        ("RSA transport for an EC key", wire.replacen(xenc::KW_AES256, xenc::RSA_OAEP, 1)),
        ("ConcatKDF SHA-1", wire.replacen(&format!("<ds:DigestMethod Algorithm=\"{}\"/>", xenc::SHA256), "<ds:DigestMethod Algorithm=\"http://www.w3.org/2000/09/xmldsig#sha1\"/>", 1)),
        ("other curve", wire.replacen(xenc::CURVE_P256, "urn:oid:1.3.132.0.34", 1)),
        ("no AlgorithmID", wire.replacen("AlgorithmID=", "Algorithm-ID=", 1)),
        ("padding bits", wire.replacen("AlgorithmID=\"00", "AlgorithmID=\"07", 1)),
        ("no EncryptedKey", wire.replacen("<xenc:EncryptedKey>", "<xenc:EncryptedKeyX>", 1).replacen("</xenc:EncryptedKey>", "</xenc:EncryptedKeyX>", 1)),
        ("two EncryptionMethods", wire.replacen("<ds:KeyInfo>", &format!("<xenc:EncryptionMethod Algorithm=\"{}\"/><ds:KeyInfo>", xenc::AES256_GCM), 1)),
        ("bad base64", wire.replacen("<dsig11:PublicKey>", "<dsig11:PublicKey>!!", 1)),
        ("huge key", {
            let at = wire.find("<dsig11:PublicKey>").unwrap() + "<dsig11:PublicKey>".len();
            let mut s = wire.clone();
            s.insert_str(at, &long_b64);
            s
        }),
        ("empty ciphertext", {
            let at = wire.rfind("<xenc:CipherValue>").unwrap() + "<xenc:CipherValue>".len();
            let end = wire.rfind("</xenc:CipherValue>").unwrap();
            let mut s = wire.clone();
            s.replace_range(at..end, "AAAA");
            s
        }),
        ("CipherReference", wire.replacen("<xenc:CipherData><xenc:CipherValue>", "<xenc:CipherData><xenc:CipherReference URI=\"http://example.com/x\"/><xenc:CipherValue>", 1)),
        ("too many EncryptedKeys", {
            let start = wire.find("<xenc:EncryptedKey>").unwrap();
            let end = wire.find("</xenc:EncryptedKey>").unwrap() + "</xenc:EncryptedKey>".len();
            let mut s = wire.clone();
            s.insert_str(end, &wire[start..end].repeat(16));
            s
        }),
        ("DTD", wire.replacen("<RID ", "<!DOCTYPE RID [<!ENTITY x \"y\">]><RID ", 1)),
    ];
    for (what, bad) in cases {
        assert_ne!(bad, wire, "{what}: the case changed nothing");
        assert!(decrypt_message(&bad, &kb).is_err(), "{what} accepted");
    }
    proptest!(ProptestConfig::with_cases(64), |(at in 0usize..wire.len(), byte in 0u8..128)| {
        let mut bytes = wire.clone().into_bytes();
        bytes[at] = byte;
        if let Ok(s) = String::from_utf8(bytes) {
            let _ = decrypt_message(&s, &kb);
            let _ = xenc::is_encrypted(&s);
        }
    });
}

/// The two forms gridlink sends, which xmlsec1 1.2 cannot read (ECDH-ES with ConcatKDF and
/// kw-aes256 for EC P-256; `xmlenc11#rsa-oaep` SHA-256/MGF1-SHA-256 for RSA), against an
/// independent implementation, Python `cryptography` (`tests/py/xenc_peer.py`), both ways: it
/// decrypts what gridlink encrypts to the very octets, gridlink decrypts what it encrypts (written
/// with default namespaces, `PartyUInfo=""` as in the W3C example).
#[test]
fn checklist_28_ecdh_es_and_rsa_oaep_interoperate_with_python_cryptography() {
    let dir = tempfile::tempdir().unwrap();
    let b = ca(dir.path(), "rid-b");
    let (rsa_key, rsa_cert) = (dir.path().join("rsa.key"), dir.path().join("rsa.pem"));
    let out = Command::new("openssl")
        .args([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
        ])
        .args(["-subj", "/CN=rid-rsa.example"])
        .arg("-keyout")
        .arg(&rsa_key)
        .arg("-out")
        .arg(&rsa_cert)
        .output()
        .expect("openssl is needed (scripts/deps)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let py = |args: &[&std::ffi::OsStr]| {
        let out = Command::new("python3")
            .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/py/xenc_peer.py"))
            .args(args)
            .output()
            .expect("python3 is needed");
        assert!(
            out.status.success(),
            "xenc_peer.py (pip install cryptography, tests/requirements.txt): {}",
            String::from_utf8_lossy(&out.stderr)
        );
        out.stdout
    };
    let clear = fixture();
    let span = xenc::scan(&clear).unwrap().documents[0].clone();
    let plain = &clear[span.start..span.end];
    let plain_file = write(dir.path(), "plain.xml", plain.as_bytes());
    for (what, cert, key, marker) in [
        (
            "P-256",
            b.server_chain_pem.clone(),
            b.server_key_pem.clone(),
            xenc::ECDH_ES,
        ),
        ("RSA", rsa_cert.clone(), rsa_key.clone(), xenc::RSA_OAEP),
    ] {
        let to = Recipient::from_cert(&leaf(&cert)).unwrap();
        let wire = encrypt_message(clear.clone(), Some(&to))
            .unwrap()
            .into_xml();
        assert!(wire.contains(marker), "{what}");
        let f = write(dir.path(), "gridlink.xml", wire.as_bytes());
        let opened = py(&["decrypt".as_ref(), f.as_os_str(), key.as_os_str()]);
        assert_eq!(String::from_utf8(opened).unwrap(), plain, "{what}");

        let ed = String::from_utf8(py(&[
            "encrypt".as_ref(),
            plain_file.as_os_str(),
            cert.as_os_str(),
        ]))
        .unwrap();
        let mut theirs = clear.clone();
        theirs.replace_range(span.start..span.end, &ed);
        assert!(!theirs.contains("IODEF-Document") && xenc::is_encrypted(&theirs));
        let k = DecryptingKey::from_pem(&key).unwrap();
        assert_eq!(decrypt_message(&theirs, &k).unwrap(), clear, "{what}");
    }
}
