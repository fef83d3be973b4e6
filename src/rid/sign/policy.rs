//! What an endpoint does with signatures (`[rid] sign`, `require_signatures`): signs what it sends
//! and answers, and checks what it receives. A message that fails is answered as RFC 6545 §7 says:
//! an Acknowledgement Denied whose Justification is `Authentication` (the sending peer's enveloped
//! signature) or `AuthenticationOrigin` (the originator's detached one).

use tokio_rustls::rustls::RootCertStore;

use super::error::SigError;
use super::keys::SigningKey;
use super::make::{sign_message, sign_origin};
use super::verify::{verify_message, verify_origin};
use crate::rid::model::{Justification, MsgType};

/// An endpoint's signature settings.
#[derive(Debug)]
pub struct Signatures {
    /// The key it signs with (`None`: `sign = false`).
    pub key: Option<SigningKey>,
    /// Whether unsigned messages are refused (signatures present are always checked).
    pub require: bool,
    /// The CAs an originator's certificate must chain to.
    pub roots: RootCertStore,
}

impl Signatures {
    /// Settings from the endpoint's TLS files.
    pub fn from_files(
        cert: &std::path::Path,
        key: &std::path::Path,
        ca: &std::path::Path,
        sign: bool,
        require: bool,
    ) -> Result<Signatures, SigError> {
        let key = if sign {
            Some(SigningKey::from_pem(cert, key)?)
        } else {
            None
        };
        let roots = crate::rid::config::roots(ca).map_err(|e| SigError::Key(e.to_string()))?;
        Ok(Signatures {
            key,
            require,
            roots,
        })
    }

    /// `xml` with this endpoint's enveloped signature (a Request it originates also gets the
    /// originator's detached signature first); unsigned, with an error logged, if signing fails.
    pub fn sign(&self, xml: String, mt: Option<MsgType>) -> String {
        let Some(key) = &self.key else {
            return xml;
        };
        let mut doc = xml;
        if matches!(
            mt,
            Some(MsgType::TraceRequest | MsgType::InvestigationRequest)
        ) && !doc.contains("xmldsig-filter2")
        {
            match sign_origin(doc.as_bytes(), key) {
                Ok(s) => doc = s,
                Err(e) => tracing::warn!(error = %e, "request not signed as its originator"),
            }
        }
        match sign_message(doc.as_bytes(), key) {
            Ok(s) => s,
            Err(e) => {
                tracing::error!(error = %e, "RID message sent unsigned: it cannot be signed");
                doc
            }
        }
    }

    /// Checks a received message of type `mt` from the peer whose TLS certificate is `peer` (DER):
    /// the certificates (DER) of the originators whose detached signatures were checked (none
    /// when the message has none), or the refusal's Justification and reason when it fails.
    pub fn check(
        &self,
        bytes: &[u8],
        peer: &[u8],
        mt: MsgType,
    ) -> Result<Vec<Vec<u8>>, (Justification, SigError)> {
        let optional = |e: SigError| match e {
            SigError::Missing(_) if !self.require => Ok(()),
            e => Err(e),
        };
        verify_message(bytes, peer)
            .or_else(optional)
            .map_err(|e| (Justification::Authentication, e))?;
        if !matches!(mt, MsgType::TraceRequest | MsgType::InvestigationRequest) {
            return Ok(Vec::new());
        }
        match verify_origin(bytes, &self.roots) {
            Ok(checked) => Ok(checked.signers),
            Err(e) => optional(e)
                .map(|()| Vec::new())
                .map_err(|e| (Justification::AuthenticationOrigin, e)),
        }
    }
}
