//! The `ds:Signature` element of RID signatures, made and read, and the one XPath form RID
//! signatures select parts with: an absolute path of child steps (`/p:A/p:B[2]`), as RFC 6545
//! §7.1.1's XPath Filter 2.0 example does. Anything else (XSLT, other transforms, other references,
//! SHA-1) is refused here, before any digest is computed.

use base64::Engine;

use super::error::SigError;
use super::keys::SigningKey;
use super::tree::El;
use super::uris::{ENVELOPED, EXC_C14N, FILTER2, NS_DS, SHA256};
use crate::rid::model::{NS_IODEF_V1, NS_IODEF_V2, NS_RID};

/// XSLT 1.0 as a transform.
const XSLT: &str = "http://www.w3.org/TR/1999/REC-xslt-19991116";

/// Namespace bindings in scope (`None`: the default namespace), innermost last.
pub type Scope = Vec<(Option<String>, String)>;

/// What a signature's one Reference signs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Kind {
    /// The whole document but the signature (the sending peer's).
    Enveloped,
    /// The elements an XPath Filter 2.0 `intersect` path selects (the originator's).
    Detached {
        /// The path, whitespace removed.
        xpath: String,
        /// The XPath element's namespace bindings.
        scope: Scope,
    },
}

/// A `ds:Signature` read and checked for the algorithms RID accepts.
pub struct Parsed<'a> {
    /// What it signs.
    pub kind: Kind,
    /// `SignatureMethod`.
    pub method: String,
    /// `DigestValue`.
    pub digest: Vec<u8>,
    /// `SignatureValue`.
    pub value: Vec<u8>,
    /// `KeyInfo/X509Data/X509Certificate`s (DER), signer first.
    pub certs: Vec<Vec<u8>>,
    /// `SignedInfo`, canonicalized for the signature value.
    pub signed_info: &'a El,
}

fn ds(name: &str) -> El {
    El::new(NS_DS, Some("ds"), name)
}

fn alg(name: &str, uri: &str) -> El {
    ds(name).attr("Algorithm", uri)
}

/// A signature of `kind` by `key`, `DigestValue` and `SignatureValue` still empty.
pub fn build(kind: &Kind, key: &SigningKey) -> El {
    let transforms = match kind {
        Kind::Enveloped => ds("Transforms")
            .child(alg("Transform", ENVELOPED))
            .child(alg("Transform", EXC_C14N)),
        Kind::Detached { xpath, scope } => {
            let mut x = El::new(FILTER2, Some("f2"), "XPath")
                .attr("Filter", "intersect")
                .text(xpath);
            x.decls.push((Some("f2".into()), FILTER2.into()));
            x.decls.extend(scope.iter().cloned());
            ds("Transforms")
                .child(alg("Transform", FILTER2).child(x))
                .child(alg("Transform", EXC_C14N))
        }
    };
    let b64 = base64::engine::general_purpose::STANDARD.encode(key.cert.as_ref());
    let mut sig = ds("Signature")
        .child(
            ds("SignedInfo")
                .child(alg("CanonicalizationMethod", EXC_C14N))
                .child(alg("SignatureMethod", key.method))
                .child(
                    ds("Reference")
                        .attr("URI", "")
                        .child(transforms)
                        .child(alg("DigestMethod", SHA256))
                        .child(ds("DigestValue")),
                ),
        )
        .child(ds("SignatureValue"))
        .child(ds("KeyInfo").child(ds("X509Data").child(ds("X509Certificate").text(&b64))));
    sig.decls.push((Some("ds".into()), NS_DS.into()));
    sig
}

/// The first descendant (or `e`) named `{ds}name`, to fill in.
pub fn find_mut<'a>(e: &'a mut El, name: &str) -> Option<&'a mut El> {
    if e.ns == NS_DS && e.name == name {
        return Some(e);
    }
    e.children.iter_mut().find_map(|c| match c {
        super::tree::Child::El(c) => find_mut(c, name),
        super::tree::Child::Text(_) => None,
    })
}

fn child<'a>(e: &'a El, name: &'a str) -> Result<&'a El, SigError> {
    e.named(NS_DS, name)
        .next()
        .ok_or_else(|| SigError::Malformed(format!("<{}> has no ds:{name}", e.qname())))
}

fn algorithm(e: &El) -> Result<&str, SigError> {
    e.get("Algorithm")
        .ok_or_else(|| SigError::Malformed(format!("<{}> has no Algorithm", e.qname())))
}

fn b64(e: &El) -> Result<Vec<u8>, SigError> {
    let t: String = e
        .text_content()
        .chars()
        .filter(|c| !c.is_ascii_whitespace())
        .collect();
    base64::engine::general_purpose::STANDARD
        .decode(t)
        .map_err(|_| SigError::Malformed(format!("{} is not base64", e.qname())))
}

/// Reads `sig` (whose in-scope bindings are `scope`), refusing what RID signatures do not use.
pub fn parse<'a>(sig: &'a El, scope: &Scope) -> Result<Parsed<'a>, SigError> {
    let si = child(sig, "SignedInfo")?;
    let cm = child(si, "CanonicalizationMethod")?;
    if algorithm(cm)? != EXC_C14N || cm.elements().next().is_some() {
        return Err(SigError::Algorithm(format!(
            "CanonicalizationMethod {} (only exclusive c14n without comments or prefix list)",
            algorithm(cm)?
        )));
    }
    let method = algorithm(child(si, "SignatureMethod")?)?.to_string();
    let refs: Vec<&El> = si.named(NS_DS, "Reference").collect();
    let [r] = refs[..] else {
        return Err(SigError::Malformed(format!(
            "{} References (RID signatures have one)",
            refs.len()
        )));
    };
    match r.get("URI") {
        Some("") => {}
        other => return Err(SigError::Reference(other.unwrap_or("(none)").into())),
    }
    let mut chain = Vec::new();
    let mut inner = scope.clone();
    inner.extend(si.decls.iter().cloned());
    inner.extend(r.decls.iter().cloned());
    if let Ok(ts) = child(r, "Transforms") {
        inner.extend(ts.decls.iter().cloned());
        for t in ts.named(NS_DS, "Transform") {
            match algorithm(t)? {
                ENVELOPED => chain.push(None),
                EXC_C14N if t.elements().next().is_none() => chain.push(Some(None)),
                FILTER2 => {
                    let x = t.named(FILTER2, "XPath").next().ok_or_else(|| {
                        SigError::Malformed("XPath Filter 2.0 transform without XPath".into())
                    })?;
                    if x.get("Filter") != Some("intersect") {
                        return Err(SigError::Algorithm(
                            "XPath Filter 2.0 other than Filter=\"intersect\"".into(),
                        ));
                    }
                    let mut s = inner.clone();
                    s.extend(t.decls.iter().cloned());
                    s.extend(x.decls.iter().cloned());
                    let xpath: String = x
                        .text_content()
                        .chars()
                        .filter(|c| !c.is_whitespace())
                        .collect();
                    chain.push(Some(Some((xpath, s))));
                }
                XSLT => return Err(SigError::Xslt),
                other => return Err(SigError::Algorithm(format!("Transform {other}"))),
            }
        }
    }
    let kind = match chain.as_slice() {
        [None, Some(None)] => Kind::Enveloped,
        [Some(Some((xpath, scope))), Some(None)] => Kind::Detached {
            xpath: xpath.clone(),
            scope: scope.clone(),
        },
        _ => return Err(SigError::Algorithm(
            "transforms other than enveloped-signature + exc-c14n, or XPath Filter 2.0 + exc-c14n"
                .into(),
        )),
    };
    let dm = algorithm(child(r, "DigestMethod")?)?;
    if dm != SHA256 {
        return Err(if dm.to_ascii_lowercase().contains("sha1") {
            SigError::Sha1(dm.into())
        } else {
            SigError::Algorithm(format!("DigestMethod {dm}"))
        });
    }
    let digest = b64(child(r, "DigestValue")?)?;
    let value = b64(child(sig, "SignatureValue")?)?;
    let mut certs = Vec::new();
    if let Ok(ki) = child(sig, "KeyInfo") {
        for xd in ki.named(NS_DS, "X509Data") {
            for c in xd.named(NS_DS, "X509Certificate") {
                certs.push(b64(c)?);
            }
        }
    }
    Ok(Parsed {
        kind,
        method,
        digest,
        value,
        certs,
        signed_info: si,
    })
}

/// The elements an absolute child path selects, in document order.
pub fn select<'a>(root: &'a El, xpath: &str, scope: &Scope) -> Result<Vec<&'a El>, SigError> {
    let unsupported = || {
        SigError::Algorithm(format!(
            "XPath {xpath:?} (only absolute child paths such as /p:A/p:B[1] are evaluated)"
        ))
    };
    let steps = xpath.strip_prefix('/').ok_or_else(unsupported)?;
    let mut current: Vec<&El> = Vec::new();
    for (i, step) in steps.split('/').enumerate() {
        let (name, pos) = match step.split_once('[') {
            Some((n, p)) => {
                let p = p.strip_suffix(']').ok_or_else(unsupported)?;
                (n, Some(p.parse::<usize>().map_err(|_| unsupported())?))
            }
            None => (step, None),
        };
        let ok = |s: &str| {
            !s.is_empty()
                && s.chars()
                    .all(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | '.'))
        };
        let (ns, local) = match name.split_once(':') {
            Some((p, l)) if ok(p) && ok(l) => (
                scope
                    .iter()
                    .rev()
                    .find(|(q, _)| q.as_deref() == Some(p))
                    .map(|(_, n)| n.as_str())
                    .ok_or_else(|| SigError::Malformed(format!("XPath prefix {p:?} not bound")))?,
                l,
            ),
            None if ok(name) => ("", name),
            _ => return Err(unsupported()),
        };
        let candidates: Vec<Vec<&El>> = if i == 0 {
            vec![vec![root]]
        } else {
            current.iter().map(|e| e.elements().collect()).collect()
        };
        let mut next = Vec::new();
        for group in candidates {
            let matching = group.into_iter().filter(|e| e.ns == ns && e.name == local);
            match pos {
                Some(n) => next.extend(matching.skip(n.saturating_sub(1)).take(usize::from(n > 0))),
                None => next.extend(matching),
            }
        }
        current = next;
    }
    Ok(current)
}

/// An absolute child path to the element at `path` (child element indices below `root`), and the
/// bindings of the prefixes it uses.
pub fn path_to(root: &El, path: &[usize]) -> (String, Scope) {
    let mut scope: Scope = Vec::new();
    let prefix = |ns: &str, scope: &mut Scope| -> Option<String> {
        if ns.is_empty() {
            return None;
        }
        if let Some((p, _)) = scope.iter().find(|(_, n)| n == ns) {
            return p.clone();
        }
        let p = match ns {
            NS_RID => "rid".to_string(),
            NS_IODEF_V2 => "iodef".to_string(),
            NS_IODEF_V1 => "iodef1".to_string(),
            _ => format!("n{}", scope.len()),
        };
        scope.push((Some(p.clone()), ns.to_string()));
        Some(p)
    };
    let step = |e: &El, pos: Option<usize>, scope: &mut Scope| {
        let mut s = String::from("/");
        if let Some(p) = prefix(&e.ns, scope) {
            s.push_str(&p);
            s.push(':');
        }
        s.push_str(&e.name);
        if let Some(n) = pos {
            s.push_str(&format!("[{n}]"));
        }
        s
    };
    let mut out = step(root, None, &mut scope);
    let mut cur = root;
    for &i in path {
        let kids: Vec<&El> = cur.elements().collect();
        let Some(e) = kids.get(i) else { break };
        let n = kids[..i]
            .iter()
            .filter(|k| k.ns == e.ns && k.name == e.name)
            .count();
        out.push_str(&step(e, Some(n + 1), &mut scope));
        cur = e;
    }
    (out, scope)
}
