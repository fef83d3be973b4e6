//! Why a peer closed the connection without answering: the TLS alert it sent after the
//! handshake.
//!
//! In TLS 1.3 the server checks the client's certificate only after the client has finished
//! its side of the handshake, so a refused certificate (revoked, unknown CA) reaches the client
//! as an alert on a connection it already holds. When hyper is quick to write the request, the
//! alert comes back as the request's error ("received fatal alert: CertificateRevoked"); when
//! the close wins the race, hyper drops the connection before the request goes out and says only
//! "connection was not ready". A second connection that sends nothing and only reads gets the
//! alert every time: that is what the operator needs to read.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::AsyncReadExt;
use tokio_rustls::rustls::ClientConfig;

/// How long the probe waits for the connection, then for the alert. A peer that accepts the
/// certificate sends nothing: the probe ends after this, finding no alert.
const PROBE_WAIT: Duration = Duration::from_secs(3);

/// The alert (or TLS failure) a fresh connection to `url` ends with, if it ends with one within
/// [`PROBE_WAIT`]; `resolve` is the client's address override for a host.
pub(super) async fn alert_after_handshake(
    tls: &ClientConfig,
    resolve: Option<&(String, SocketAddr)>,
    url: &str,
) -> Option<String> {
    let url = reqwest::Url::parse(url).ok()?;
    let host = url
        .host_str()?
        .trim_start_matches('[')
        .trim_end_matches(']');
    let port = url.port_or_known_default()?;
    let addr = match resolve {
        Some((h, a)) if h == host => *a,
        _ => tokio::net::lookup_host((host, port)).await.ok()?.next()?,
    };
    let name = rustls_pki_types::ServerName::try_from(host.to_string()).ok()?;
    let connector = tokio_rustls::TlsConnector::from(Arc::new(tls.clone()));
    let connect = async {
        let tcp = tokio::net::TcpStream::connect(addr).await?;
        connector.connect(name, tcp).await
    };
    let mut stream = match tokio::time::timeout(PROBE_WAIT, connect).await {
        Ok(Ok(s)) => s,
        Ok(Err(e)) => return tls_failure(e),
        Err(_) => return None,
    };
    let mut byte = [0u8; 1];
    match tokio::time::timeout(PROBE_WAIT, stream.read(&mut byte)).await {
        Ok(Err(e)) => tls_failure(e),
        _ => None,
    }
}

/// A TLS failure's message; `None` for plain network errors, which say nothing new.
fn tls_failure(e: std::io::Error) -> Option<String> {
    let tls = e
        .get_ref()
        .is_some_and(|inner| inner.is::<tokio_rustls::rustls::Error>());
    tls.then(|| e.to_string())
}

#[cfg(all(test, feature = "lab"))]
mod tests {
    use super::*;
    use crate::lab::TestCa;
    use crate::rid::config::{client_tls, server_tls, server_tls_with_crls};

    /// A TLS server on 127.0.0.1 that handshakes with every client and holds the connection.
    async fn server(config: tokio_rustls::rustls::ServerConfig) -> SocketAddr {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                let acceptor = acceptor.clone();
                tokio::spawn(async move {
                    if let Ok(s) = acceptor.accept(tcp).await {
                        tokio::time::sleep(Duration::from_secs(10)).await;
                        drop(s);
                    }
                });
            }
        });
        addr
    }

    /// A server whose CRL revokes the client's certificate: the probe reads its alert.
    #[tokio::test]
    async fn a_revoked_client_certificate_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let ca = TestCa::generate(dir.path(), &["localhost"]).unwrap();
        let (cert, key) = (&ca.server_chain_pem, &ca.server_key_pem);
        let revoking = server_tls_with_crls(
            cert,
            key,
            &ca.ca_pem,
            std::slice::from_ref(&ca.crl_revoking_server),
        );
        let addr = server(revoking.unwrap()).await;
        let tls = client_tls(cert, key, &ca.ca_pem).unwrap();
        let url = format!("https://localhost:{}/", addr.port());
        let alert = alert_after_handshake(&tls, Some(&("localhost".into(), addr)), &url).await;
        let alert = alert.expect("the server's alert");
        assert!(alert.contains("CertificateRevoked"), "{alert}");
    }

    /// A server that accepts the client says nothing, and neither does the probe.
    #[tokio::test]
    async fn an_accepted_client_gets_no_alert() {
        let dir = tempfile::tempdir().unwrap();
        let ca = TestCa::generate(dir.path(), &["localhost"]).unwrap();
        let (cert, key) = (&ca.server_chain_pem, &ca.server_key_pem);
        let addr = server(server_tls(cert, key, &ca.ca_pem).unwrap()).await;
        let tls = client_tls(cert, key, &ca.ca_pem).unwrap();
        let url = format!("https://localhost:{}/", addr.port());
        let alert = alert_after_handshake(&tls, Some(&("localhost".into(), addr)), &url).await;
        assert_eq!(alert, None);
    }
}
