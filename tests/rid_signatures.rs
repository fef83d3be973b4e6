//! RID XML Signatures (RFC 6545 §9.1, §9.3.2) checked against an independent implementation,
//! `xmlsec1` (libxmlsec1, Debian package `xmlsec1`, installed by `scripts/deps`): what gridlink
//! signs xmlsec1 verifies, what xmlsec1 signs gridlink verifies, and tampered content, SHA-1, XSLT
//! and foreign references are refused with clear errors. Keys are the lab CA's (ECDSA P-256) and
//! an RSA certificate made with `openssl`. Test names follow the `rid.md` checklist lines.

mod common;

use common::rid::{ca, leaf, rid_serve, write, xmlsec1};

use std::path::Path;
use std::process::Command;

use gridlink::rid::sign::{sign_message, sign_origin, verify_message, verify_origin, SigningKey};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::CertificateDer;
use tokio_rustls::rustls::RootCertStore;

const NS_DS: &str = "http://www.w3.org/2000/09/xmldsig#";

fn roots(ca: &Path) -> RootCertStore {
    let mut r = RootCertStore::empty();
    for c in CertificateDer::pem_file_iter(ca).unwrap() {
        r.add(c.unwrap()).unwrap();
    }
    r
}

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/rid")
            .join(name),
    )
    .unwrap()
}

/// An Acknowledgement (no ReportSchema: gridlink adds a signature-only one).
const ACK: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<iodef-rid:RID lang="en" xmlns:iodef-rid="urn:ietf:params:xml:ns:iodef-rid-2.0"
    xmlns:iodef="urn:ietf:params:xml:ns:iodef-1.0">
  <iodef-rid:RIDPolicy MsgType="Acknowledgement" MsgDestination="RIDSystem">
    <iodef-rid:PolicyRegion region="PeerToPeer"/>
    <iodef:Node><iodef:Address category="ipv4-addr">192.0.2.1</iodef:Address></iodef:Node>
    <iodef-rid:TrafficType type="Attack"/>
    <iodef:IncidentID name="csirt.example.com">189801</iodef:IncidentID>
  </iodef-rid:RIDPolicy>
  <iodef-rid:RequestStatus AuthorizationStatus="Approved"/>
</iodef-rid:RID>
"#;

/// An InvestigationRequest whose IODEF v2 document has a RecordItem (what the originator signs).
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
          <Incident purpose="mitigation">
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

/// A Report with an xmlsec1 signing template in `ReportSchema/Signature` (default-namespace
/// `Signature`, unlike gridlink's `ds:` prefix), digest and signature method as given.
fn template(method: &str, digest: &str) -> String {
    let unsigned = String::from_utf8(fixture("valid/report-iodef-v2.xml")).unwrap();
    let sig = format!(
        r#"<Signature dtype="xml" meaning="xml"><Signature xmlns="{NS_DS}">
  <SignedInfo>
    <CanonicalizationMethod Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/>
    <SignatureMethod Algorithm="{method}"/>
    <Reference URI="">
      <Transforms>
        <Transform Algorithm="http://www.w3.org/2000/09/xmldsig#enveloped-signature"/>
        <Transform Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/>
      </Transforms>
      <DigestMethod Algorithm="{digest}"/>
      <DigestValue/>
    </Reference>
  </SignedInfo>
  <SignatureValue/>
  <KeyInfo><X509Data/></KeyInfo>
</Signature></Signature>
    </ReportSchema>"#
    );
    unsigned.replacen("</ReportSchema>", &sig, 1)
}

#[test]
fn checklist_26_enveloped_signature_every_message_interoperates_with_xmlsec1() {
    let dir = tempfile::tempdir().unwrap();
    let a = ca(dir.path(), "a");
    let key = SigningKey::from_pem(&a.server_chain_pem, &a.server_key_pem).unwrap();
    let cert = leaf(&a.server_chain_pem);
    let ca_pem = a.ca_pem.to_str().unwrap();
    // gridlink signs a Report (ReportSchema present) and an Acknowledgement (none): each is still
    // valid RID (gridlink's checker, no errors), gridlink verifies it, and so does xmlsec1.
    for (name, unsigned) in [
        ("report", fixture("valid/report-iodef-v2.xml")),
        ("ack", ACK.as_bytes().to_vec()),
    ] {
        let signed = sign_message(&unsigned, &key).unwrap();
        let (_, problems) = gridlink::rid::check(signed.as_bytes()).unwrap();
        assert!(
            problems.iter().all(|p| !p.is_error()),
            "{name}: {problems:?}\n{signed}"
        );
        verify_message(signed.as_bytes(), &cert).unwrap();
        let f = write(dir.path(), &format!("{name}-signed.xml"), &signed);
        let (ok, out) = xmlsec1(&["--verify", "--trusted-pem", ca_pem, f.to_str().unwrap()]);
        assert!(
            ok,
            "xmlsec1 refused gridlink's {name} signature: {out}\n{signed}"
        );
        // Tampered: both refuse.
        let tampered = signed.replacen("PeerToPeer", "IntraConsortium", 1);
        let e = verify_message(tampered.as_bytes(), &cert).unwrap_err();
        assert!(e.to_string().contains("digest mismatch"), "{e}");
        let f = write(dir.path(), &format!("{name}-tampered.xml"), &tampered);
        let (ok, out) = xmlsec1(&["--verify", "--trusted-pem", ca_pem, f.to_str().unwrap()]);
        assert!(!ok, "xmlsec1 accepted a tampered document: {out}");
        // Another peer's certificate does not verify it.
        let other = ca(dir.path(), &format!("other-{name}"));
        let e = verify_message(signed.as_bytes(), &leaf(&other.server_chain_pem)).unwrap_err();
        assert!(e.to_string().contains("does not verify"), "{e}");
    }
    // xmlsec1 signs (ECDSA P-256, SHA-256, default-namespace ds:Signature): gridlink verifies.
    let t = write(
        dir.path(),
        "tmpl.xml",
        &template(
            "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256",
            "http://www.w3.org/2001/04/xmlenc#sha256",
        ),
    );
    let out = dir.path().join("xmlsec-signed.xml");
    let keyarg = format!(
        "{},{}",
        a.server_key_pem.display(),
        a.server_chain_pem.display()
    );
    let (ok, text) = xmlsec1(&[
        "--sign",
        "--privkey-pem",
        &keyarg,
        "--output",
        out.to_str().unwrap(),
        t.to_str().unwrap(),
    ]);
    assert!(ok, "xmlsec1 --sign: {text}");
    let signed = std::fs::read(&out).unwrap();
    verify_message(&signed, &cert).unwrap();
    let (_, problems) = gridlink::rid::check(&signed).unwrap();
    assert!(problems.iter().all(|p| !p.is_error()), "{problems:?}");
}

/// The same both ways with an RSA key (RSA-SHA256), made with `openssl`.
#[test]
fn checklist_26_enveloped_signature_rsa_interoperates_with_xmlsec1() {
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
    let key = SigningKey::from_pem(&cert_pem, &key_pem).unwrap();
    assert_eq!(key.method, gridlink::rid::sign::RSA_SHA256);
    let cert = leaf(&cert_pem);
    let signed = sign_message(&fixture("valid/report-iodef-v2.xml"), &key).unwrap();
    let f = write(dir.path(), "rsa-signed.xml", &signed);
    let (ok, text) = xmlsec1(&[
        "--verify",
        "--trusted-pem",
        cert_pem.to_str().unwrap(),
        f.to_str().unwrap(),
    ]);
    assert!(ok, "xmlsec1 refused gridlink's RSA signature: {text}");
    let t = write(
        dir.path(),
        "tmpl.xml",
        &template(
            "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
            "http://www.w3.org/2001/04/xmlenc#sha256",
        ),
    );
    let out = dir.path().join("xmlsec-rsa.xml");
    let keyarg = format!("{},{}", key_pem.display(), cert_pem.display());
    let (ok, text) = xmlsec1(&[
        "--sign",
        "--privkey-pem",
        &keyarg,
        "--output",
        out.to_str().unwrap(),
        t.to_str().unwrap(),
    ]);
    assert!(ok, "xmlsec1 --sign (RSA): {text}");
    verify_message(&std::fs::read(&out).unwrap(), &cert).unwrap();
    // RSA-SHA1 signed by xmlsec1: refused, naming SHA-1.
    let t = write(
        dir.path(),
        "sha1.xml",
        &template(
            "http://www.w3.org/2000/09/xmldsig#rsa-sha1",
            "http://www.w3.org/2001/04/xmlenc#sha256",
        ),
    );
    let (ok, text) = xmlsec1(&[
        "--sign",
        "--privkey-pem",
        &keyarg,
        "--output",
        out.to_str().unwrap(),
        t.to_str().unwrap(),
    ]);
    assert!(ok, "xmlsec1 --sign (RSA-SHA1): {text}");
    let e = verify_message(&std::fs::read(&out).unwrap(), &cert).unwrap_err();
    assert!(e.to_string().contains("SHA-1 refused"), "{e}");
}

#[test]
fn checklist_27_sha1_xslt_foreign_references_refused() {
    let dir = tempfile::tempdir().unwrap();
    let a = ca(dir.path(), "a");
    let cert = leaf(&a.server_chain_pem);
    // xmlsec1 signs with SHA-1 (ECDSA-SHA1, SHA-1 digest): gridlink refuses, naming SHA-1.
    let t = write(
        dir.path(),
        "sha1.xml",
        &template(
            "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha1",
            "http://www.w3.org/2000/09/xmldsig#sha1",
        ),
    );
    let out = dir.path().join("sha1-signed.xml");
    let keyarg = format!(
        "{},{}",
        a.server_key_pem.display(),
        a.server_chain_pem.display()
    );
    let (ok, text) = xmlsec1(&[
        "--sign",
        "--privkey-pem",
        &keyarg,
        "--output",
        out.to_str().unwrap(),
        t.to_str().unwrap(),
    ]);
    assert!(ok, "xmlsec1 --sign (SHA-1): {text}");
    let e = verify_message(&std::fs::read(&out).unwrap(), &cert).unwrap_err();
    assert!(e.to_string().contains("SHA-1 refused"), "{e}");
    // gridlink's own signature with an XSLT transform, an external reference, inclusive c14n
    // spliced in: each refused before any digest is computed.
    let key = SigningKey::from_pem(&a.server_chain_pem, &a.server_key_pem).unwrap();
    let signed = sign_message(&fixture("valid/report-iodef-v2.xml"), &key).unwrap();
    let xslt = signed.replacen(
        "<ds:Transform Algorithm=\"http://www.w3.org/2000/09/xmldsig#enveloped-signature\"/>",
        "<ds:Transform Algorithm=\"http://www.w3.org/TR/1999/REC-xslt-19991116\"/>",
        1,
    );
    assert_ne!(xslt, signed);
    let e = verify_message(xslt.as_bytes(), &cert).unwrap_err();
    assert!(e.to_string().contains("XSLT transform refused"), "{e}");
    let external = signed.replacen("URI=\"\"", "URI=\"https://attacker.example/x.xml\"", 1);
    let e = verify_message(external.as_bytes(), &cert).unwrap_err();
    assert!(e.to_string().contains("only URI=\"\""), "{e}");
    let inclusive = signed.replacen(
        "<ds:CanonicalizationMethod Algorithm=\"http://www.w3.org/2001/10/xml-exc-c14n#\"/>",
        "<ds:CanonicalizationMethod Algorithm=\"http://www.w3.org/TR/2001/REC-xml-c14n-20010315\"/>",
        1,
    );
    let e = verify_message(inclusive.as_bytes(), &cert).unwrap_err();
    assert!(e.to_string().contains("only exclusive c14n"), "{e}");
    // And no signature at all is a clear error.
    let e = verify_message(&fixture("valid/report-iodef-v2.xml"), &cert).unwrap_err();
    assert!(e.to_string().contains("no enveloped"), "{e}");
}

#[test]
fn checklist_25_30_originator_detached_signature_checked_by_every_party() {
    let dir = tempfile::tempdir().unwrap();
    let origin = ca(dir.path(), "origin");
    let hop = ca(dir.path(), "hop");
    let okey = SigningKey::from_pem(&origin.server_chain_pem, &origin.server_key_pem).unwrap();
    let hkey = SigningKey::from_pem(&hop.server_chain_pem, &hop.server_key_pem).unwrap();
    // The originator signs the RecordItem (detached, XPath Filter 2.0 + exclusive c14n) and its
    // own message; the hop forwards the request with the originator's signature unchanged and its
    // own enveloped signature.
    let by_origin = sign_origin(REQUEST.as_bytes(), &okey).unwrap();
    assert!(by_origin.contains("xmldsig-filter2"), "{by_origin}");
    let forwarded = sign_message(by_origin.as_bytes(), &hkey).unwrap();
    let (_, problems) = gridlink::rid::check(forwarded.as_bytes()).unwrap();
    assert!(problems.iter().all(|p| !p.is_error()), "{problems:?}");
    // Every party (here: one trusting both CAs) validates the originator and the hop.
    let mut trust = roots(&origin.ca_pem);
    trust.add_parsable_certificates(
        CertificateDer::pem_file_iter(&hop.ca_pem)
            .unwrap()
            .map(|c| c.unwrap()),
    );
    let checked = verify_origin(forwarded.as_bytes(), &trust).unwrap();
    assert_eq!(checked.signers, vec![leaf(&origin.server_chain_pem)]);
    verify_message(forwarded.as_bytes(), &leaf(&hop.server_chain_pem)).unwrap();
    // xmlsec1 checks both: the detached one (first ds:Signature) and the enveloped one.
    let f = write(dir.path(), "forwarded.xml", &forwarded);
    for (n, ca) in [(1, &origin.ca_pem), (2, &hop.ca_pem)] {
        let xpath = format!("(//*[local-name()='Signature' and namespace-uri()='{NS_DS}'])[{n}]");
        let (ok, out) = xmlsec1(&[
            "--verify",
            "--trusted-pem",
            ca.to_str().unwrap(),
            "--node-xpath",
            &xpath,
            f.to_str().unwrap(),
        ]);
        assert!(ok, "xmlsec1 refused signature {n}: {out}\n{forwarded}");
    }
    // A RecordItem altered on the way: the originator's signature fails (and xmlsec1 agrees).
    let altered = forwarded.replacen("sample packet", "other packet", 1);
    let e = verify_origin(altered.as_bytes(), &trust).unwrap_err();
    assert!(e.to_string().contains("digest mismatch"), "{e}");
    // An originator whose certificate does not chain to a trusted CA is refused.
    let e = verify_origin(forwarded.as_bytes(), &roots(&hop.ca_pem)).unwrap_err();
    assert!(e.to_string().contains("does not chain"), "{e}");
    // A request without the originator's signature.
    let e = verify_origin(REQUEST.as_bytes(), &trust).unwrap_err();
    assert!(e.to_string().contains("no detached"), "{e}");
}

/// Checklist 19 (with 26, 30 at the endpoint): `gridlink rid serve` with `require_signatures`
/// answers a message whose signatures fail with an Acknowledgement Denied naming the failure
/// (`Authentication`: the sending peer's enveloped signature; `AuthenticationOrigin`: the
/// originator's detached one), signed itself, and publishes nothing; a well-signed request is
/// taken (Acknowledgement Pending, signed by the endpoint).
#[tokio::test(flavor = "multi_thread")]
async fn checklist_19_failed_signatures_answered_with_ack_justification() {
    use common::hostile::run;
    use std::time::Duration;
    let p = common::prosody();
    let publisher = common::grid(&p, "publisher").await;
    for t in ["sig-b", "sig-requests"] {
        common::open_topic(&publisher, t).await;
    }
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (ca(dir.path(), "rid-a"), ca(dir.path(), "rid-b"));
    let conf = write(
        dir.path(),
        "b.toml",
        "[rid]\nnode = \"127.0.0.1\"\nrequests_topic = \"sig-requests\"\nrequire_signatures = true\n\
         [[rid.peer]]\nname = \"rid-a.example\"\nallow = [\"Report\", \"InvestigationRequest\"]\n",
    );
    let state = dir.path().join("b-state");
    let gl = || {
        common::gridlink_at(
            p.c2s_port,
            &p.ca.ca_pem,
            "publisher",
            "publisher-pw",
            &state,
        )
    };
    let mut c = gl();
    c.arg("--config")
        .arg(&conf)
        .args([
            "rid",
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--topic",
            "sig-b",
        ])
        .arg("--tls-cert")
        .arg(&b.server_chain_pem)
        .arg("--tls-key")
        .arg(&b.server_key_pem)
        .arg("--client-ca")
        .arg(&a.ca_pem);
    let (srv, port) = rid_serve("rid serve", c).await;
    let tls = gridlink::rid::config::client_tls(&a.server_chain_pem, &a.server_key_pem, &b.ca_pem)
        .unwrap();
    let http = reqwest::Client::builder()
        .use_preconfigured_tls(tls)
        .build()
        .unwrap();
    let url = format!("https://localhost:{port}/");
    let post = |body: String| {
        let (http, url) = (http.clone(), url.clone());
        async move {
            let r = http
                .post(&url)
                .header("Content-Type", "text/xml")
                .body(body)
                .send()
                .await
                .unwrap();
            (r.status().as_u16(), r.text().await.unwrap())
        }
    };
    let key = SigningKey::from_pem(&a.server_chain_pem, &a.server_key_pem).unwrap();
    let report = String::from_utf8(fixture("valid/report-iodef-v2.xml")).unwrap();
    let signed_report = sign_message(report.as_bytes(), &key).unwrap();
    let by_origin = sign_origin(REQUEST.as_bytes(), &key).unwrap();
    let altered_origin = sign_message(
        by_origin
            .replacen("sample packet", "other packet", 1)
            .as_bytes(),
        &key,
    )
    .unwrap();
    let cases = [
        ("unsigned Report", report.clone(), "Authentication"),
        (
            "tampered Report",
            signed_report.replacen("PeerToPeer", "IntraConsortium", 1),
            "Authentication",
        ),
        (
            "request without the originator's signature",
            sign_message(REQUEST.as_bytes(), &key).unwrap(),
            "AuthenticationOrigin",
        ),
        (
            "request whose signed RecordItem was altered",
            altered_origin,
            "AuthenticationOrigin",
        ),
    ];
    let b_leaf = leaf(&b.server_chain_pem);
    for (what, body, why) in cases {
        let (status, answer) = post(body).await;
        assert_eq!(status, 200, "{what}: {answer}");
        assert!(
            answer.contains("AuthorizationStatus=\"Denied\"")
                && answer.contains(&format!("Justification=\"{why}\"")),
            "{what}: {answer}"
        );
        verify_message(answer.as_bytes(), &b_leaf).unwrap();
    }
    // Well signed: taken, answered Pending (signed), published once.
    let good = sign_message(by_origin.as_bytes(), &key).unwrap();
    let (status, answer) = post(good).await;
    assert_eq!(status, 200, "{answer}\n{}", srv.output());
    assert!(answer.contains("Pending"), "{answer}");
    verify_message(answer.as_bytes(), &b_leaf).unwrap();
    let (status, answer) = post(signed_report).await;
    assert_eq!(status, 200, "{answer}");
    for (topic, n) in [("sig-requests", 1), ("sig-b", 1)] {
        let mut c = gl();
        c.args(["items", "--topic", topic]);
        let (code, out, err) = run(tokio::process::Command::from(c), Duration::from_secs(30)).await;
        assert_eq!(code, Some(0), "{err}");
        assert_eq!(
            out.lines().filter(|l| !l.is_empty()).count(),
            n,
            "{topic}: {out}"
        );
    }
    assert!(srv.output().contains("signature"), "refusals are logged");
}

/// Comments removed (what c14n without comments drops), so libxml2's with-comments form compares.
fn strip_comments(s: &str) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(i) = rest.find("<!--") {
        out.push_str(&rest[..i]);
        rest = rest[i..].find("-->").map_or("", |j| &rest[i + j + 3..]);
    }
    out.push_str(rest);
    out
}

/// The canonical form every RID signature rests on (25, 26) agrees with libxml2's exclusive c14n
/// (`xmllint --exc-c14n`, scripts/deps) on namespace traps, escapes, references and line ends, and
/// on every RFC 6545 example and valid fixture.
#[test]
fn checklist_26_exclusive_c14n_agrees_with_libxml2() {
    let dir = tempfile::tempdir().unwrap();
    let mut docs: Vec<(String, String)> = [
        "<a:e xmlns:a=\"urn:a\" xmlns:b=\"urn:b\" xmlns:u=\"urn:unused\" z=\"1\" b:y=\"2\" a:x=\"3\" c=\"0\"/>",
        "<r xmlns=\"urn:d\"><s xmlns=\"\"><t xmlns=\"urn:d\"/></s><x:t xmlns:x=\"urn:d\"/></r>",
        "<r a=\"&#9;&#10;x\ty\r\nz&quot;'&lt;&gt;&amp;\"><![CDATA[<&>]]>&#13;\r\n&#x1F600;</r>",
        "<p:a xmlns:p=\"urn:1\"><p:b/><p:c xmlns:p=\"urn:2\"><p:d/></p:c><q:e xmlns:q=\"urn:1\"/></p:a>",
        "<a xml:lang=\"en\" xmlns:x=\"urn:x\"><b xml:space=\"preserve\">  x  </b><c x:k=\"v\"/></a>",
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<a>\n  <b>text</b>\n  <c/>\n</a>\n",
        "<a xmlns=\"urn:d\" xmlns:e=\"urn:e\"><e:b e:x=\"1\" x=\"2\"><c/></e:b></a>",
    ]
    .iter()
    .enumerate()
    .map(|(i, d)| (format!("crafted {i}"), d.to_string()))
    .collect();
    let base = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/rid");
    for sub in ["examples", "valid"] {
        for e in std::fs::read_dir(base.join(sub)).unwrap() {
            let p = e.unwrap().path();
            docs.push((
                p.display().to_string(),
                strip_comments(&std::fs::read_to_string(&p).unwrap()),
            ));
        }
    }
    assert!(docs.len() > 20);
    for (i, (name, doc)) in docs.iter().enumerate() {
        let f = write(dir.path(), &format!("d{i}.xml"), doc);
        let out = Command::new("xmllint")
            .arg("--exc-c14n")
            .arg(&f)
            .output()
            .expect("xmllint is needed (libxml2-utils, scripts/deps)");
        assert!(
            out.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let ours = gridlink::rid::sign::canonicalize(
            &gridlink::rid::sign::read(doc.as_bytes()).unwrap(),
            None,
        );
        assert_eq!(ours, String::from_utf8(out.stdout).unwrap(), "{name}");
    }
}
