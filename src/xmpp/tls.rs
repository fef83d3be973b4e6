//! The TLS client configuration gridlink uses for every connection.
//!
//! tokio-xmpp's built-in connectors hard-code their roots and cannot present a
//! client certificate, so gridlink builds its own `rustls::ClientConfig`:
//! system roots plus `--ca-file`, TLS 1.2 minimum (rustls has nothing older),
//! optional client certificate. Certificate verification is always on.

use std::path::Path;
use std::sync::Arc;

use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::rustls::{self, ClientConfig, RootCertStore};

use super::ConnectError;
use crate::config::Config;

/// Builds the client configuration from the connection settings.
pub fn client_config(cfg: &Config) -> Result<Arc<ClientConfig>, ConnectError> {
    let mut roots = RootCertStore::empty();
    // System roots: missing or partly unreadable bundles are not fatal when
    // an explicit CA file is given, so only the parsable ones are added.
    let native = rustls_native_certs::load_native_certs();
    roots.add_parsable_certificates(native.certs);
    if let Some(ca) = &cfg.ca_file {
        let certs = read_certs(ca)?;
        if certs.is_empty() {
            return Err(ConnectError::TlsConfig(format!(
                "{}: no PEM certificate found",
                ca.display()
            )));
        }
        for c in certs {
            roots.add(c).map_err(|e| {
                ConnectError::TlsConfig(format!("{}: unusable CA certificate: {e}", ca.display()))
            })?;
        }
    }
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let builder = ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .map_err(|e| ConnectError::TlsConfig(e.to_string()))?
        .with_root_certificates(roots);
    let config = match (&cfg.client_cert, &cfg.client_key) {
        (Some(cert), Some(key)) => {
            let chain = read_certs(cert)?;
            let key = read_key(key)?;
            builder
                .with_client_auth_cert(chain, key)
                .map_err(|e| ConnectError::TlsConfig(format!("client certificate: {e}")))?
        }
        _ => builder.with_no_client_auth(),
    };
    Ok(Arc::new(config))
}

fn read_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, ConnectError> {
    let data = std::fs::read(path)
        .map_err(|e| ConnectError::TlsConfig(format!("cannot read {}: {e}", path.display())))?;
    rustls_pemfile::certs(&mut data.as_slice())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| ConnectError::TlsConfig(format!("{}: {e}", path.display())))
}

fn read_key(path: &Path) -> Result<PrivateKeyDer<'static>, ConnectError> {
    let data = std::fs::read(path)
        .map_err(|e| ConnectError::TlsConfig(format!("cannot read {}: {e}", path.display())))?;
    rustls_pemfile::private_key(&mut data.as_slice())
        .map_err(|e| ConnectError::TlsConfig(format!("{}: {e}", path.display())))?
        .ok_or_else(|| {
            ConnectError::TlsConfig(format!("{}: no PEM private key found", path.display()))
        })
}

/// Turns a handshake failure into a [`ConnectError`] that says whether the
/// certificate was the problem.
pub(crate) fn classify_handshake_error(name: &str, e: std::io::Error) -> ConnectError {
    if let Some(tls) = e.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>()) {
        if let rustls::Error::InvalidCertificate(reason) = tls {
            return ConnectError::UntrustedCertificate {
                name: name.to_string(),
                reason: format!("{reason:?}"),
            };
        }
        return ConnectError::Tls {
            name: name.to_string(),
            reason: tls.to_string(),
        };
    }
    ConnectError::Tls {
        name: name.to_string(),
        reason: e.to_string(),
    }
}
