//! TLS of the ROLIE server (RFC 8322 §5.3; checklist lines 8–11), checked
//! with a tokio-rustls client that pins the protocol version.

mod common;

use std::path::Path;
use std::sync::Arc;

use common::rolie::*;
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_rustls::rustls::crypto::aws_lc_rs;
use tokio_rustls::rustls::{
    version, ClientConfig, ProtocolVersion, RootCertStore, SupportedProtocolVersion,
};

/// PEM of a CA and of one leaf it issued.
struct Pki {
    ca: String,
    chain: String,
    key: String,
}

fn issue(ca_name: &str, leaf: &str, eku: ExtendedKeyUsagePurpose) -> Pki {
    let ca_key = KeyPair::generate().unwrap();
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.distinguished_name.push(DnType::CommonName, ca_name);
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let ca_cert = ca.self_signed(&ca_key).unwrap();
    let key = KeyPair::generate().unwrap();
    let mut p = CertificateParams::new(vec![leaf.to_owned()]).unwrap();
    p.distinguished_name.push(DnType::CommonName, leaf);
    p.extended_key_usages = vec![eku];
    let cert = p.signed_by(&key, &Issuer::new(ca, ca_key)).unwrap();
    Pki {
        ca: ca_cert.pem(),
        chain: format!("{}{}", cert.pem(), ca_cert.pem()),
        key: key.serialize_pem(),
    }
}

async fn tls_server(dir: &Path, client_ca: Option<&str>) -> (TestServer, Pki) {
    let pki = issue(
        "rolie test CA",
        "localhost",
        ExtendedKeyUsagePurpose::ServerAuth,
    );
    std::fs::write(dir.join("cert.pem"), &pki.chain).unwrap();
    std::fs::write(dir.join("key.pem"), &pki.key).unwrap();
    let mut config = base_config();
    config.tls_cert = Some(dir.join("cert.pem"));
    config.tls_key = Some(dir.join("key.pem"));
    if let Some(ca) = client_ca {
        std::fs::write(dir.join("client-ca.pem"), ca).unwrap();
        config.client_ca = Some(dir.join("client-ca.pem"));
    }
    let s = start_in(None, config, Default::default()).await;
    (s, pki)
}

/// Connects with only `versions` enabled and GETs the service document;
/// returns the negotiated version, suite name and the response head.
async fn fetch(
    s: &TestServer,
    ca_pem: &str,
    versions: &[&'static SupportedProtocolVersion],
    client_cert: Option<&Pki>,
) -> Result<(ProtocolVersion, String, String), String> {
    let mut roots = RootCertStore::empty();
    roots
        .add(CertificateDer::from_pem_slice(ca_pem.as_bytes()).unwrap())
        .unwrap();
    let builder = ClientConfig::builder_with_provider(Arc::new(aws_lc_rs::default_provider()))
        .with_protocol_versions(versions)
        .unwrap()
        .with_root_certificates(roots);
    let config = match client_cert {
        Some(p) => {
            let chain = CertificateDer::pem_slice_iter(p.chain.as_bytes())
                .collect::<Result<Vec<_>, _>>()
                .unwrap();
            builder
                .with_client_auth_cert(
                    chain,
                    PrivateKeyDer::from_pem_slice(p.key.as_bytes()).unwrap(),
                )
                .unwrap()
        }
        None => builder.with_no_client_auth(),
    };
    let addr = s.base.trim_start_matches("https://").to_owned();
    let tcp = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let mut tls = connector
        .connect(ServerName::try_from("localhost").unwrap(), tcp)
        .await
        .map_err(|e| e.to_string())?;
    tls.write_all(
        b"GET /rolie/servicedocument HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
    )
    .await
    .map_err(|e| e.to_string())?;
    let mut resp = Vec::new();
    tls.read_to_end(&mut resp)
        .await
        .map_err(|e| e.to_string())?;
    let (_, conn) = tls.get_ref();
    let version = conn.protocol_version().unwrap();
    let suite = format!("{:?}", conn.negotiated_cipher_suite().unwrap().suite());
    let head = String::from_utf8_lossy(&resp)
        .lines()
        .next()
        .unwrap_or_default()
        .to_owned();
    Ok((version, suite, head))
}

/// Line 8: TLS 1.2 is supported.
#[tokio::test]
async fn line_08_tls12_supported() {
    let dir = tempfile::tempdir().unwrap();
    let (s, pki) = tls_server(dir.path(), None).await;
    assert!(s.base.starts_with("https://"));
    let (v, _, head) = fetch(&s, &pki.ca, &[&version::TLS12], None).await.unwrap();
    assert_eq!(v, ProtocolVersion::TLSv1_2);
    assert_eq!(head, "HTTP/1.1 200 OK");
}

/// Line 9: TLS 1.2 per RFC 7525 — only ECDHE with AEAD suites are
/// negotiated (no RSA key exchange, no CBC, no RC4).
#[tokio::test]
async fn line_09_tls12_per_rfc7525() {
    let dir = tempfile::tempdir().unwrap();
    let (s, pki) = tls_server(dir.path(), None).await;
    let (_, suite, _) = fetch(&s, &pki.ca, &[&version::TLS12], None).await.unwrap();
    assert!(suite.starts_with("TLS_ECDHE_"), "{suite}");
    assert!(
        suite.contains("GCM") || suite.contains("CHACHA20_POLY1305"),
        "{suite}"
    );
}

/// Line 10: TLS 1.3 is supported (and preferred); no 0-RTT is offered.
#[tokio::test]
async fn line_10_tls13_supported_without_0rtt() {
    let dir = tempfile::tempdir().unwrap();
    let (s, pki) = tls_server(dir.path(), None).await;
    let (v, _, head) = fetch(&s, &pki.ca, &[&version::TLS13, &version::TLS12], None)
        .await
        .unwrap();
    assert_eq!(v, ProtocolVersion::TLSv1_3);
    assert_eq!(head, "HTTP/1.1 200 OK");
    // 0-RTT: rustls' ServerConfig::max_early_data_size stays 0 (server.rs);
    // a server that accepted early data would have to advertise it in its
    // session tickets, which rustls only does when that size is non-zero.
}

/// Line 11: certificate-based client authentication — with client_ca set,
/// a client without a certificate, or with one from another CA, is refused;
/// one issued by the configured CA is served.
#[tokio::test]
async fn line_11_client_certificate_authentication() {
    let dir = tempfile::tempdir().unwrap();
    let client = issue(
        "client CA",
        "reader.example",
        ExtendedKeyUsagePurpose::ClientAuth,
    );
    let stranger = issue(
        "other CA",
        "stranger.example",
        ExtendedKeyUsagePurpose::ClientAuth,
    );
    let (s, pki) = tls_server(dir.path(), Some(&client.ca)).await;
    let ok = fetch(&s, &pki.ca, &[&version::TLS13], Some(&client))
        .await
        .unwrap();
    assert_eq!(ok.2, "HTTP/1.1 200 OK");
    for (what, cert) in [("no certificate", None), ("foreign CA", Some(&stranger))] {
        for v in [&version::TLS13, &version::TLS12] {
            match fetch(&s, &pki.ca, &[v], cert).await {
                Err(_) => {}
                Ok((_, _, head)) => assert!(
                    !head.starts_with("HTTP/1.1 200"),
                    "{what} was served: {head}"
                ),
            }
        }
    }
}

/// TLS settings that cannot work are refused at bind time.
#[tokio::test]
async fn inconsistent_tls_settings_are_refused() {
    use gridlink::rolie::{Hooks, NoPublisher, RolieServer};
    let store = gridlink::store::Store::open_in_memory().unwrap();
    let mut c = base_config();
    c.client_ca = Some("/nonexistent".into());
    assert!(
        RolieServer::bind(c, store.clone(), Arc::new(NoPublisher), Hooks::default())
            .await
            .is_err()
    );
    let mut c = base_config();
    c.tls_cert = Some("/nonexistent".into());
    assert!(
        RolieServer::bind(c, store, Arc::new(NoPublisher), Hooks::default())
            .await
            .is_err()
    );
}

/// The bridge's pollers trust what `--ca-file` says, but the settings that
/// concern the XMPP server alone do not reach them: with an XMPP key pin,
/// a revocation list of another CA and the account's client certificate
/// configured, an HTTPS ROLIE source of its own CA is still fetched (the
/// pin or the CRL refused it when the pollers shared the XMPP TLS
/// configuration), while the XMPP configuration itself still refuses it.
#[tokio::test]
async fn pollers_do_not_take_the_xmpp_servers_pins_crls_or_client_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let (s, pki) = tls_server(dir.path(), None).await;
    std::fs::write(dir.path().join("rolie-ca.pem"), &pki.ca).unwrap();
    let lab_dir = tempfile::tempdir().unwrap();
    let lab = gridlink::lab::TestCa::generate(lab_dir.path(), &["localhost"]).unwrap();
    let cert = lab
        .client_cert(lab_dir.path(), "me", "me@localhost")
        .unwrap();
    let mut cfg = gridlink::Config::new(
        "me@localhost".parse().unwrap(),
        gridlink::config::Secret::new("pw"),
    );
    cfg.ca_file = Some(dir.path().join("rolie-ca.pem"));
    cfg.pin_sha256 = vec![format!("sha256/{}=", "A".repeat(43))];
    cfg.crl_files = vec![lab.crl_current.clone()];
    cfg.client_cert = Some(cert.chain_pem);
    cfg.client_key = Some(cert.key_pem);
    let port = s.base.rsplit(':').next().unwrap().to_owned();
    let url = format!("https://localhost:{port}/rolie/servicedocument");

    let client = gridlink::rolie::poll::PollClient::new(&cfg, Vec::new())
        .and_then(|c| c.client_for(&url))
        .expect("poll client");
    let r = client.get(&url).send().await.expect("fetched over HTTPS");
    assert_eq!(r.status(), 200);

    let xmpp = gridlink::xmpp::client_config(&cfg).unwrap();
    let strict = reqwest::Client::builder()
        .use_preconfigured_tls((*xmpp).clone())
        .build()
        .unwrap();
    let e = strict
        .get(&url)
        .send()
        .await
        .expect_err("the XMPP settings refuse it");
    assert!(e.is_connect(), "{e:?}");
}
