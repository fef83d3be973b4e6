//! A tiny CA and a server certificate for the lab, made fresh each time.
//!
//! webpki rejects a self-signed end-entity certificate used as its own trust
//! anchor, so the lab issues a real CA and signs the server certificate with it.

use std::path::{Path, PathBuf};

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};

/// Paths of the generated PEM files.
#[derive(Debug, Clone)]
pub struct TestCa {
    /// The CA certificate: pass it as `--ca-file`.
    pub ca_pem: PathBuf,
    /// The server certificate followed by the CA certificate.
    pub server_chain_pem: PathBuf,
    /// The server's private key.
    pub server_key_pem: PathBuf,
}

impl TestCa {
    /// Writes a CA and a certificate valid for `names` into `dir`.
    pub fn generate(dir: &Path, names: &[&str]) -> std::io::Result<TestCa> {
        Self::try_generate(dir, names).map_err(std::io::Error::other)?
    }

    fn try_generate(dir: &Path, names: &[&str]) -> Result<std::io::Result<TestCa>, rcgen::Error> {
        let ca_key = KeyPair::generate()?;
        let mut ca = CertificateParams::new(Vec::<String>::new())?;
        ca.distinguished_name
            .push(DnType::CommonName, "gridlink lab CA");
        ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let ca_cert = ca.self_signed(&ca_key)?;

        let key = KeyPair::generate()?;
        let mut srv =
            CertificateParams::new(names.iter().map(|s| s.to_string()).collect::<Vec<_>>())?;
        srv.distinguished_name.push(DnType::CommonName, names[0]);
        srv.extended_key_usages = vec![
            ExtendedKeyUsagePurpose::ServerAuth,
            ExtendedKeyUsagePurpose::ClientAuth,
        ];
        let issuer = Issuer::new(ca, ca_key);
        let srv_cert = srv.signed_by(&key, &issuer)?;

        let out = TestCa {
            ca_pem: dir.join("ca.pem"),
            server_chain_pem: dir.join("server.chain.pem"),
            server_key_pem: dir.join("server.key"),
        };
        let written = std::fs::write(&out.ca_pem, ca_cert.pem())
            .and_then(|_| {
                std::fs::write(
                    &out.server_chain_pem,
                    format!("{}{}", srv_cert.pem(), ca_cert.pem()),
                )
            })
            .and_then(|_| std::fs::write(&out.server_key_pem, key.serialize_pem()));
        Ok(written.map(|_| out))
    }
}
