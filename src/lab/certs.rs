//! A tiny CA and a server certificate for the lab, made fresh each time.
//!
//! webpki rejects a self-signed end-entity certificate used as its own trust
//! anchor, so the lab issues a real CA and signs the server certificate with it.

use std::path::{Path, PathBuf};

use rcgen::{
    date_time_ymd, BasicConstraints, CertificateParams, CertificateRevocationListParams, DnType,
    ExtendedKeyUsagePurpose, IsCa, Issuer, KeyIdMethod, KeyPair, KeyUsagePurpose, OtherNameValue,
    RevocationReason, RevokedCertParams, SanType, SerialNumber,
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
    /// A current CRL of the CA that revokes nothing (for `--crl-file`).
    pub crl_current: PathBuf,
    /// A current CRL of the CA that revokes the server certificate.
    pub crl_revoking_server: PathBuf,
    /// A CRL of the CA whose next update is long past.
    pub crl_expired: PathBuf,
    /// The CA's private key (a throwaway lab CA), for [`TestCa::client_cert`].
    pub ca_key_pem: PathBuf,
    /// The CA's common name.
    pub ca_name: String,
}

/// A client certificate and its key, as PEM files.
#[derive(Debug, Clone)]
pub struct ClientCert {
    /// The certificate followed by the CA certificate: pass it as `--client-cert`.
    pub chain_pem: PathBuf,
    /// The private key: pass it as `--client-key`.
    pub key_pem: PathBuf,
}

/// `id-on-xmppAddr` (RFC 6120 §13.7.1.4): the JID an XMPP certificate is for.
const ID_ON_XMPPADDR: [u64; 9] = [1, 3, 6, 1, 5, 5, 7, 8, 5];

impl TestCa {
    /// Writes a CA and a certificate valid for `names` into `dir`.
    pub fn generate(dir: &Path, names: &[&str]) -> std::io::Result<TestCa> {
        Self::generate_named(dir, "gridlink lab CA", names)
    }

    /// Like [`TestCa::generate`], with the CA's common name given (two CAs
    /// of different names are two issuers to a revocation check).
    pub fn generate_named(dir: &Path, ca_name: &str, names: &[&str]) -> std::io::Result<TestCa> {
        Self::try_generate(dir, ca_name, names, None).map_err(std::io::Error::other)?
    }

    /// Like [`TestCa::generate`], with certificates that expire on the
    /// first of January two years from now instead of in 4096 (rcgen's
    /// default): ejabberd 23.01 (p1_pkix) sets an Erlang timer for each
    /// certificate's expiry, and one that far away crashes it (`badarg`,
    /// `cause => time`), leaving it without any certificate.
    pub fn generate_short_lived(dir: &Path, names: &[&str]) -> std::io::Result<TestCa> {
        use chrono::Datelike;
        let until = chrono::Utc::now().year() + 2;
        Self::try_generate(dir, "gridlink lab CA", names, Some(until))
            .map_err(std::io::Error::other)?
    }

    fn try_generate(
        dir: &Path,
        ca_name: &str,
        names: &[&str],
        not_after_year: Option<i32>,
    ) -> Result<std::io::Result<TestCa>, rcgen::Error> {
        let ca_key = KeyPair::generate()?;
        let mut ca = CertificateParams::new(Vec::<String>::new())?;
        if let Some(year) = not_after_year {
            ca.not_after = date_time_ymd(year, 1, 1);
        }
        ca.distinguished_name.push(DnType::CommonName, ca_name);
        ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let ca_cert = ca.self_signed(&ca_key)?;

        let key = KeyPair::generate()?;
        let mut srv =
            CertificateParams::new(names.iter().map(|s| s.to_string()).collect::<Vec<_>>())?;
        srv.distinguished_name.push(DnType::CommonName, names[0]);
        if let Some(year) = not_after_year {
            srv.not_after = date_time_ymd(year, 1, 1);
        }
        // A known serial, so that a CRL can name it.
        let serial: [u8; 8] = rand::random();
        let serial = SerialNumber::from_slice(&[&[0x01], &serial[..]].concat());
        srv.serial_number = Some(serial.clone());
        srv.extended_key_usages = vec![
            ExtendedKeyUsagePurpose::ServerAuth,
            ExtendedKeyUsagePurpose::ClientAuth,
        ];
        let issuer = Issuer::new(ca, ca_key);
        let srv_cert = srv.signed_by(&key, &issuer)?;
        let crl = |revoked: Vec<RevokedCertParams>, next_update_year: i32| {
            CertificateRevocationListParams {
                this_update: date_time_ymd(2020, 1, 1),
                next_update: date_time_ymd(next_update_year, 1, 1),
                crl_number: SerialNumber::from(1u64),
                issuing_distribution_point: None,
                revoked_certs: revoked,
                key_identifier_method: KeyIdMethod::Sha256,
            }
            .signed_by(&issuer)
            .and_then(|c| c.pem())
        };
        let crl_current = crl(Vec::new(), 4000)?;
        let crl_revoking = crl(
            vec![RevokedCertParams {
                serial_number: serial,
                revocation_time: date_time_ymd(2020, 1, 1),
                reason_code: Some(RevocationReason::KeyCompromise),
                invalidity_date: None,
            }],
            4000,
        )?;
        let crl_expired = crl(Vec::new(), 2021)?;

        let out = TestCa {
            ca_pem: dir.join("ca.pem"),
            server_chain_pem: dir.join("server.chain.pem"),
            server_key_pem: dir.join("server.key"),
            crl_current: dir.join("ca-current.crl.pem"),
            crl_revoking_server: dir.join("ca-revoking-server.crl.pem"),
            crl_expired: dir.join("ca-expired.crl.pem"),
            ca_key_pem: dir.join("ca.key"),
            ca_name: ca_name.to_string(),
        };
        let written = std::fs::write(&out.ca_pem, ca_cert.pem())
            .and_then(|_| {
                std::fs::write(
                    &out.server_chain_pem,
                    format!("{}{}", srv_cert.pem(), ca_cert.pem()),
                )
            })
            .and_then(|_| std::fs::write(&out.server_key_pem, key.serialize_pem()))
            .and_then(|_| std::fs::write(&out.crl_current, &crl_current))
            .and_then(|_| std::fs::write(&out.crl_revoking_server, &crl_revoking))
            .and_then(|_| std::fs::write(&out.crl_expired, &crl_expired))
            .and_then(|_| std::fs::write(&out.ca_key_pem, issuer.key().serialize_pem()));
        Ok(written.map(|_| out))
    }

    /// Issues a client certificate for `jid` (its `id-on-xmppAddr`, which is
    /// what a server's SASL EXTERNAL maps to an account) and writes it and
    /// its key into `dir` as `<stem>.chain.pem` and `<stem>.key`.
    pub fn client_cert(&self, dir: &Path, stem: &str, jid: &str) -> std::io::Result<ClientCert> {
        let ca_key = std::fs::read_to_string(&self.ca_key_pem)?;
        let issued = (|| {
            // The issuer is the CA's name and key; nothing else of the CA
            // certificate goes into what it signs.
            let ca_key = KeyPair::from_pem(&ca_key)?;
            let mut ca = CertificateParams::new(Vec::<String>::new())?;
            ca.distinguished_name
                .push(DnType::CommonName, self.ca_name.as_str());
            ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
            ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
            let issuer = Issuer::new(ca, ca_key);
            let key = KeyPair::generate()?;
            let mut params = CertificateParams::new(Vec::<String>::new())?;
            params.distinguished_name.push(DnType::CommonName, jid);
            params.subject_alt_names = vec![SanType::OtherName((
                ID_ON_XMPPADDR.to_vec(),
                OtherNameValue::Utf8String(jid.to_string()),
            ))];
            // Server authentication too: Prosody 0.12.3 (LuaSec) checks a
            // client's certificate for the TLS server purpose and refuses
            // one for client authentication only ("unsuitable certificate
            // purpose"), whatever `lsec_ignore_purpose` says.
            params.extended_key_usages = vec![
                ExtendedKeyUsagePurpose::ClientAuth,
                ExtendedKeyUsagePurpose::ServerAuth,
            ];
            let cert = params.signed_by(&key, &issuer)?;
            Ok::<_, rcgen::Error>((cert.pem(), key.serialize_pem()))
        })()
        .map_err(std::io::Error::other)?;
        let out = ClientCert {
            chain_pem: dir.join(format!("{stem}.chain.pem")),
            key_pem: dir.join(format!("{stem}.key")),
        };
        let ca_pem = std::fs::read_to_string(&self.ca_pem)?;
        std::fs::write(&out.chain_pem, format!("{}{ca_pem}", issued.0))?;
        std::fs::write(&out.key_pem, issued.1)?;
        Ok(out)
    }
}
