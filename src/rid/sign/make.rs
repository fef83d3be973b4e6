//! Signing a RID message. The RID schema (RFC 6545 §8) has one place for signatures:
//! `RIDPolicy/ReportSchema/Signature` (an IODEF `ExtensionType` holding a `ds:Signature`), so both
//! signatures go there, the originator's detached one first, the sending peer's enveloped one last.
//! A message without a ReportSchema (an Acknowledgement, a Query by IncidentID) gets one whose
//! `XMLDocument` is empty (`meaning="signature"`): schema-valid, and it encloses no document.

use base64::Engine;
use sha2::{Digest, Sha256};

use super::c14n::canonicalize;
use super::dsig::{build, find_mut, path_to, Kind};
use super::error::SigError;
use super::keys::SigningKey;
use super::tree::{document, read, Child, El};
use super::verify::verify_message_with;
use crate::rid::model::{NS_IODEF_V2, NS_RID};

/// Index (among all children) of the last child element `{ns}name`.
fn last_index(e: &El, ns: &str, name: &str) -> Option<usize> {
    e.children
        .iter()
        .rposition(|c| matches!(c, Child::El(x) if x.ns == ns && x.name == name))
}

fn el_mut(e: &mut El, i: usize) -> Result<&mut El, SigError> {
    match e.children.get_mut(i) {
        Some(Child::El(x)) => Ok(x),
        _ => Err(SigError::Xml("tree changed while signing".into())),
    }
}

/// `RIDPolicy/ReportSchema` (made when missing) as child indices from the root.
fn report_schema(root: &mut El) -> Result<[usize; 2], SigError> {
    if root.ns != NS_RID || root.name != "RID" {
        return Err(SigError::Xml("not a RID document".into()));
    }
    let pi = last_index(root, NS_RID, "RIDPolicy")
        .ok_or_else(|| SigError::Xml("a RID message without RIDPolicy cannot be signed".into()))?;
    let policy = el_mut(root, pi)?;
    let prefix = policy.prefix.clone();
    let ri = match last_index(policy, NS_RID, "ReportSchema") {
        Some(i) => i,
        None => {
            let rs = El::new(NS_RID, prefix.as_deref(), "ReportSchema").child(
                El::new(NS_RID, prefix.as_deref(), "XMLDocument")
                    .attr("dtype", "xml")
                    .attr("meaning", "signature"),
            );
            policy.children.push(Child::El(rs));
            policy.children.len() - 1
        }
    };
    Ok([pi, ri])
}

/// Adds a signature of `kind` whose signed octets are `signed(root)` to `RIDPolicy/ReportSchema`;
/// the root with it.
fn add(
    mut root: El,
    kind: Kind,
    key: &SigningKey,
    signed: impl Fn(&El, &El) -> Result<String, SigError>,
) -> Result<El, SigError> {
    let [pi, ri] = report_schema(&mut root)?;
    let rs = el_mut(el_mut(&mut root, pi)?, ri)?;
    let wrapper = El::new(NS_RID, rs.prefix.as_deref(), "Signature")
        .attr("dtype", "xml")
        .attr("meaning", "xml")
        .child(build(&kind, key));
    rs.children.push(Child::El(wrapper));
    let wi = rs.children.len() - 1;
    // The digest over the tree with the signature in place (the enveloped transform leaves it out).
    let octets = {
        let rs = match root.children.get(pi) {
            Some(Child::El(p)) => match p.children.get(ri) {
                Some(Child::El(rs)) => rs,
                _ => return Err(SigError::Xml("tree changed while signing".into())),
            },
            _ => return Err(SigError::Xml("tree changed while signing".into())),
        };
        let Some(Child::El(w)) = rs.children.get(wi) else {
            return Err(SigError::Xml("tree changed while signing".into()));
        };
        let sig = w
            .elements()
            .next()
            .ok_or_else(|| SigError::Xml("signature lost".into()))?;
        signed(&root, sig)?
    };
    let b64 = base64::engine::general_purpose::STANDARD;
    let sig = {
        let w = el_mut(el_mut(el_mut(&mut root, pi)?, ri)?, wi)?;
        match w.children.first_mut() {
            Some(Child::El(s)) => s,
            _ => return Err(SigError::Xml("signature lost".into())),
        }
    };
    let dv = find_mut(sig, "DigestValue").ok_or_else(|| SigError::Xml("no DigestValue".into()))?;
    dv.children = vec![Child::Text(b64.encode(Sha256::digest(octets.as_bytes())))];
    let si = find_mut(sig, "SignedInfo").ok_or_else(|| SigError::Xml("no SignedInfo".into()))?;
    let value = key.sign(canonicalize(si, None).as_bytes())?;
    let sv =
        find_mut(sig, "SignatureValue").ok_or_else(|| SigError::Xml("no SignatureValue".into()))?;
    sv.children = vec![Child::Text(b64.encode(value))];
    Ok(root)
}

/// The sending peer's enveloped signature over the whole message (RFC 6545 §9.1), added to the
/// message `xml`; the signed document, checked once before it is returned.
pub fn sign_message(xml: &[u8], key: &SigningKey) -> Result<String, SigError> {
    let root = add(read(xml)?, Kind::Enveloped, key, |root, sig| {
        Ok(canonicalize(root, Some(sig)))
    })?;
    let out = document(&root);
    // What the peer will read back must verify: a writer or canonicalizer slip shows here, not there.
    verify_message_with(out.as_bytes(), key.cert.as_ref())?;
    Ok(out)
}

/// First element (depth first) satisfying `f`, as child element indices from `e`.
fn find_path(e: &El, f: &dyn Fn(&El, &El) -> bool, path: &mut Vec<usize>) -> bool {
    for (i, c) in e.elements().enumerate() {
        path.push(i);
        if f(e, c) || find_path(c, f, path) {
            return true;
        }
        path.pop();
    }
    false
}

/// A test on (parent, child) that picks what the originator signs.
type Rule = dyn Fn(&El, &El) -> bool;

/// The originator's detached signature (RFC 6545 §9.1): over the first IODEF `RecordItem` of the
/// enclosed IODEF v2 document, else its first `RecordData/DateTime`, else its `ReportTime` or
/// `GenerationTime` (timestamps). Added to `xml`, before the enveloped signature that [`sign_message`] adds.
pub fn sign_origin(xml: &[u8], key: &SigningKey) -> Result<String, SigError> {
    let root = read(xml)?;
    let rules: [&Rule; 4] = [
        &|_, c| c.ns == NS_IODEF_V2 && c.name == "RecordItem",
        &|p, c| c.ns == NS_IODEF_V2 && c.name == "DateTime" && p.name == "RecordData",
        &|_, c| c.ns == NS_IODEF_V2 && c.name == "ReportTime",
        &|_, c| c.ns == NS_IODEF_V2 && c.name == "GenerationTime",
    ];
    let mut path = Vec::new();
    if !rules.iter().any(|f| {
        path.clear();
        find_path(&root, *f, &mut path)
    }) {
        return Err(SigError::Missing(
            "RecordItem or timestamp to sign (an IODEF v2 document is needed)",
        ));
    }
    let (xpath, scope) = path_to(&root, &path);
    let kind = Kind::Detached {
        xpath: xpath.clone(),
        scope: scope.clone(),
    };
    let root = add(root, kind, key, move |root, _| {
        let sel = super::dsig::select(root, &xpath, &scope)?;
        Ok(sel.iter().map(|e| canonicalize(e, None)).collect())
    })?;
    Ok(document(&root))
}
