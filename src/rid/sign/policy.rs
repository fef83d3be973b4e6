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
        let doc = self.sign_origin(xml, mt);
        self.sign_envelope(doc)
    }

    /// The originator's detached signature, for a Request this endpoint originates (one that has
    /// none yet); anything else unchanged. Made over the clear document, before encryption.
    pub fn sign_origin(&self, xml: String, mt: Option<MsgType>) -> String {
        let Some(key) = &self.key else {
            return xml;
        };
        if matches!(
            mt,
            Some(MsgType::TraceRequest | MsgType::InvestigationRequest)
        ) && !xml.contains("xmldsig-filter2")
        {
            match sign_origin(xml.as_bytes(), key) {
                Ok(s) => return s,
                Err(e) => tracing::warn!(error = %e, "request not signed as its originator"),
            }
        }
        xml
    }

    /// The sending peer's enveloped signature over the whole message as sent (encrypted, when it
    /// is); unsigned, with an error logged, if signing fails.
    pub fn sign_envelope(&self, xml: String) -> String {
        let Some(key) = &self.key else {
            return xml;
        };
        match sign_message(xml.as_bytes(), key) {
            Ok(s) => s,
            Err(e) => {
                tracing::error!(error = %e, "RID message sent unsigned: it cannot be signed");
                xml
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
        self.check_envelope(bytes, peer)?;
        self.check_origin(bytes, mt)
    }

    /// The sending peer's enveloped signature, checked over the message as received.
    pub fn check_envelope(
        &self,
        bytes: &[u8],
        peer: &[u8],
    ) -> Result<(), (Justification, SigError)> {
        verify_message(bytes, peer)
            .or_else(|e| self.optional(e))
            .map_err(|e| (Justification::Authentication, e))
    }

    /// The originator's detached signature of a Request, checked over the clear message (after
    /// decryption, when it was encrypted): the originators' certificates (DER; none when the
    /// message has no such signature and none is required).
    pub fn check_origin(
        &self,
        bytes: &[u8],
        mt: MsgType,
    ) -> Result<Vec<Vec<u8>>, (Justification, SigError)> {
        if !matches!(mt, MsgType::TraceRequest | MsgType::InvestigationRequest) {
            return Ok(Vec::new());
        }
        match verify_origin(bytes, &self.roots) {
            Ok(checked) => Ok(checked.signers),
            Err(e) => self
                .optional(e)
                .map(|()| Vec::new())
                .map_err(|e| (Justification::AuthenticationOrigin, e)),
        }
    }

    /// A missing signature is no failure unless signatures are required.
    fn optional(&self, e: SigError) -> Result<(), SigError> {
        match e {
            SigError::Missing(_) if !self.require => Ok(()),
            e => Err(e),
        }
    }
}
