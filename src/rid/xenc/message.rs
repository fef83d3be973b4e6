//! XML Encryption at the level of a RID message (RFC 6545 §9.1, checklist 28): the enclosed
//! document (`RIDPolicy/ReportSchema/XMLDocument`'s element) is encrypted when a `restriction`
//! says it must be, RIDPolicy stays in clear text for the systems that route the message, and a
//! received message's encrypted document is put back in clear before it is checked as usual.

use super::decrypt::decrypt_element;
use super::encrypt::encrypt_element_for;
use super::error::XencError;
use super::keys::{DecryptingKey, Recipient};
use super::span::{scan, Span};
use super::uris::NS_XENC;
use crate::rid::sign::{read, El};
use crate::rid::NS_RID;

fn is_encrypted_data(s: &Span) -> bool {
    s.ns == NS_XENC && s.name == "EncryptedData"
}

/// What [`encrypt_message`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sealed {
    /// No restriction asks for encryption (or there is no enclosed document): sent as it was.
    Clear(String),
    /// The enclosed documents were encrypted, because of this restriction (`element="value"`).
    Encrypted {
        /// The message with `xenc:EncryptedData` in place of each enclosed document.
        xml: String,
        /// The restriction that required it.
        because: String,
    },
}

impl Sealed {
    /// The message to send.
    pub fn into_xml(self) -> String {
        match self {
            Sealed::Clear(x) | Sealed::Encrypted { xml: x, .. } => x,
        }
    }
}

/// Encrypts `xml`'s enclosed documents for `to` when the message or its documents carry a
/// `private` or `need-to-know` restriction (any element: a RID class covers the whole enclosed
/// document, an IODEF class its subtree, and the IODEF schema has no place for an EncryptedData in
/// place of a subtree, so the whole document is encrypted). A restricted message with no recipient
/// certificate is an error: it must not be sent in clear (RFC 6545 §9.1).
pub fn encrypt_message(xml: String, to: Option<&Recipient>) -> Result<Sealed, XencError> {
    encrypt_message_for(xml, to.as_slice())
}

/// [`encrypt_message`] for several readers at once (`need-to-know`: every one of them can decrypt;
/// none: a restricted message is an error).
pub fn encrypt_message_for(xml: String, readers: &[&Recipient]) -> Result<Sealed, XencError> {
    let s = scan(&xml)?;
    let Some(because) = s.restricted else {
        return Ok(Sealed::Clear(xml));
    };
    let todo: Vec<&Span> = s
        .documents
        .iter()
        .filter(|d| !is_encrypted_data(d))
        .collect();
    if todo.is_empty() {
        // Nothing but RIDPolicy, which stays in clear text (§9.1), or already encrypted.
        return Ok(Sealed::Clear(xml));
    }
    if readers.is_empty() {
        return Err(XencError::NoRecipient(because));
    }
    let mut out = xml;
    for d in todo.iter().rev() {
        let plain = out
            .get(d.start..d.end)
            .ok_or_else(|| XencError::Xml("document span outside the message".into()))?;
        let enc = encrypt_element_for(plain.as_bytes(), readers)?;
        out.replace_range(d.start..d.end, &enc);
    }
    tracing::debug!(restriction = %because, documents = todo.len(), "RID message encrypted for its recipient");
    Ok(Sealed::Encrypted { xml: out, because })
}

/// Whether a received message holds an encrypted document.
pub fn is_encrypted(xml: &str) -> bool {
    scan(xml)
        .map(|s| s.documents.iter().any(is_encrypted_data))
        .unwrap_or(false)
}

/// The `XMLDocument` element of a RID message tree.
fn xml_document(root: &El) -> Option<&El> {
    let mut el = root;
    if el.ns != NS_RID || el.name != "RID" {
        return None;
    }
    for name in ["RIDPolicy", "ReportSchema", "XMLDocument"] {
        el = el.named(NS_RID, name).next()?;
    }
    Some(el)
}

/// `xml` with every encrypted enclosed document decrypted with `key` and put back in its place
/// (unchanged when nothing is encrypted). The plaintext must be exactly one element where the
/// EncryptedData was: anything that would change the message around it is refused.
pub fn decrypt_message(xml: &str, key: &DecryptingKey) -> Result<String, XencError> {
    let s = scan(xml)?;
    let spans: Vec<&Span> = s
        .documents
        .iter()
        .filter(|d| is_encrypted_data(d))
        .collect();
    if spans.is_empty() {
        return Ok(xml.to_string());
    }
    let root = read(xml.as_bytes()).map_err(|e| XencError::Xml(e.to_string()))?;
    let doc = xml_document(&root).ok_or_else(|| XencError::Xml("no XMLDocument".into()))?;
    let eds: Vec<&El> = doc.named(NS_XENC, "EncryptedData").collect();
    if eds.len() != spans.len() {
        return Err(XencError::Malformed(
            "EncryptedData found outside its place".into(),
        ));
    }
    let mut out = xml.to_string();
    let mut placed: Vec<(usize, usize)> = Vec::new();
    for (span, ed) in spans.iter().zip(eds).rev() {
        let plain = decrypt_element(ed, key)?;
        let plain = String::from_utf8(plain).map_err(|_| XencError::Decrypt)?;
        out.replace_range(span.start..span.end, &plain);
        // Offsets before this span are unchanged; later ones were already placed.
        let shift = plain.len() as isize - (span.end - span.start) as isize;
        for p in placed.iter_mut() {
            p.0 = p.0.wrapping_add_signed(shift);
        }
        placed.push((span.start, plain.len()));
    }
    // The structure around the documents is what it was: the same number of enclosed elements, the
    // decrypted ones exactly where their EncryptedData were.
    let after = scan(&out)?;
    let ok = after.documents.len() == s.documents.len()
        && placed.iter().all(|(start, len)| {
            after
                .documents
                .iter()
                .any(|d| d.start == *start && d.end == start + len && !is_encrypted_data(d))
        });
    if !ok {
        return Err(XencError::Malformed(
            "the decrypted content is not one element".into(),
        ));
    }
    Ok(out)
}
