//! IODEF observables → STIX pattern expressions ([`Expr`]): `Address` by category, `DomainData`,
//! `EmailData`, `Service` ports, `FileData` hashes and names, `System`s and `Observable`s made of
//! them, and `IndicatorExpression` trees. What has no pattern returns `None` (see
//! `docs/stix-mapping.md` for what is left out and why).

use base64::Engine;

use super::pattern::{Comparison, Expr};
use crate::iodef::{Element, NS_DS, NS_IODEF};

/// XMLDSIG / XML Encryption digest URIs → STIX hash algorithm names (the `hash-algorithm-ov`
/// vocabulary) and the digest length in bytes.
const HASHES: [(&str, &str, usize); 7] = [
    ("http://www.w3.org/2001/04/xmldsig-more#md5", "MD5", 16),
    ("http://www.w3.org/2000/09/xmldsig#sha1", "SHA-1", 20),
    ("http://www.w3.org/2001/04/xmlenc#sha256", "SHA-256", 32),
    ("http://www.w3.org/2001/04/xmlenc#sha512", "SHA-512", 64),
    (
        "http://www.w3.org/2007/05/xmldsig-more#sha3-256",
        "SHA3-256",
        32,
    ),
    (
        "http://www.w3.org/2007/05/xmldsig-more#sha3-512",
        "SHA3-512",
        64,
    ),
    (
        "http://www.w3.org/2001/04/xmldsig-more#sha256",
        "SHA-256",
        32,
    ),
];

/// The digest URI and byte length of a STIX hash algorithm name (for STIX → IODEF).
pub fn digest_uri(stix_name: &str) -> Option<(&'static str, usize)> {
    let name = stix_name.trim_matches('\'').to_ascii_uppercase();
    HASHES
        .iter()
        .find(|(_, n, _)| *n == name)
        .map(|(u, _, len)| (*u, *len))
}

fn text(el: Element<'_>) -> String {
    el.text().split_whitespace().collect::<Vec<_>>().join(" ")
}

/// `Address` → ipv4-addr, ipv6-addr, email-addr, mac-addr, url, autonomous-system.
pub fn address(el: Element<'_>) -> Option<Comparison> {
    let value = text(el);
    if value.is_empty() {
        return None;
    }
    let category = el.attr("category").unwrap_or("ipv6-addr");
    Some(match category {
        "ipv4-addr" | "ipv4-net" => Comparison::string("ipv4-addr", "value", &value),
        "ipv6-addr" | "ipv6-net" => Comparison::string("ipv6-addr", "value", &value),
        "e-mail" => Comparison::string("email-addr", "value", &value),
        "mac" => Comparison::string(
            "mac-addr",
            "value",
            &value.to_ascii_lowercase().replace('-', ":"),
        ),
        // A URL cannot contain white space; RFC examples wrap long ones.
        "site-uri" => Comparison::string("url", "value", &value.replace(' ', "")),
        "asn" => Comparison::int("autonomous-system", "number", value.parse().ok()?),
        _ => return None,
    })
}

/// `DomainData` → domain-name (its `Name`).
pub fn domain(el: Element<'_>) -> Option<Comparison> {
    let name = text(el.child("Name")?);
    (!name.is_empty()).then(|| Comparison::string("domain-name", "value", &name))
}

/// `EmailData` → one email-message observation (sender, recipients, subject, ANDed).
pub fn email(el: Element<'_>) -> Option<Expr> {
    let mut c = Vec::new();
    if let Some(from) = el.child("EmailFrom") {
        c.push(Comparison::string(
            "email-message",
            "from_ref.value",
            &text(from),
        ));
    }
    for to in el.children_named("EmailTo") {
        c.push(Comparison::string(
            "email-message",
            "to_refs[*].value",
            &text(to),
        ));
    }
    if let Some(s) = el.child("EmailSubject") {
        c.push(Comparison::string("email-message", "subject", &text(s)));
    }
    (!c.is_empty()).then_some(Expr::Observation {
        comparisons: c,
        all: true,
    })
}

/// `Service` → network-traffic port (`src_port` for a System of category `source`, else
/// `dst_port`).
pub fn service_port(el: Element<'_>, source: bool) -> Option<Comparison> {
    let port: i64 = text(el.child("Port")?).parse().ok()?;
    let path = if source { "src_port" } else { "dst_port" };
    Some(Comparison::int("network-traffic", path, port))
}

/// A digest's hex form: hex as written (RFC 8274's examples), or decoded base64 (XMLDSIG's type).
fn digest_hex(value: &str, len: usize) -> Option<String> {
    let v: String = value.split_whitespace().collect();
    if v.len() == 2 * len && v.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Some(v.to_ascii_lowercase());
    }
    let bytes = base64::engine::general_purpose::STANDARD.decode(&v).ok()?;
    (bytes.len() == len).then(|| bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// `File` → file hashes (ORed: any one identifies the file), or its name when it has no hash.
pub fn file(el: Element<'_>) -> Option<Expr> {
    let mut c = Vec::new();
    for hd in el.children_named("HashData") {
        for h in hd.children_named("Hash") {
            let ds = |n: &str| h.elements().find(|e| e.ns() == NS_DS && e.name() == n);
            let Some(uri) = ds("DigestMethod").and_then(|m| m.attr("Algorithm")) else {
                continue;
            };
            let Some((_, name, len)) = HASHES.iter().find(|(u, _, _)| *u == uri.trim()) else {
                continue;
            };
            if let Some(hex) = ds("DigestValue").and_then(|v| digest_hex(&v.text(), *len)) {
                c.push(Comparison::string(
                    "file",
                    &format!("hashes.'{name}'"),
                    &hex,
                ));
            }
        }
    }
    if c.is_empty() {
        let name = text(el.child("FileName")?);
        c.push(Comparison::string("file", "name", &name));
    }
    Some(Expr::Observation {
        comparisons: c,
        all: false,
    })
}

/// Every atomic observable of a `System`: its Node's addresses and domains, its services' ports
/// and e-mail, each its own expression.
pub fn system(el: Element<'_>) -> Vec<Expr> {
    let mut out = Vec::new();
    let source = el.attr("category") == Some("source");
    for node in el.children_named("Node") {
        for k in node.elements().filter(|k| k.ns() == NS_IODEF) {
            let c = match k.name() {
                "Address" => address(k),
                "DomainData" => domain(k),
                _ => None,
            };
            out.extend(c.map(Expr::single));
        }
    }
    for s in el.children_named("Service") {
        out.extend(service_port(s, source).map(Expr::single));
        out.extend(s.child("EmailData").and_then(email));
    }
    out
}

/// The expression of one `Observable` (its one child), ORing the parts of a System.
pub fn observable(el: Element<'_>) -> Option<Expr> {
    let k = el.elements().find(|k| k.ns() == NS_IODEF)?;
    match k.name() {
        "Address" => address(k).map(Expr::single),
        "DomainData" => domain(k).map(Expr::single),
        "EmailData" => email(k),
        "Service" => {
            let mut parts: Vec<Expr> = service_port(k, false)
                .map(Expr::single)
                .into_iter()
                .collect();
            parts.extend(k.child("EmailData").and_then(email));
            any(parts)
        }
        "FileData" => any(k.children_named("File").filter_map(file).collect()),
        "System" => any(system(k)),
        _ => None,
    }
}

fn any(mut v: Vec<Expr>) -> Option<Expr> {
    match v.len() {
        0 => None,
        1 => v.pop(),
        _ => Some(Expr::Any(v)),
    }
}

/// An `IndicatorExpression` → AND / OR of its operands; `not` over a single one-comparison
/// observation becomes `!=` (STIX has no NOT of observations); `xor`, `ext-value` and a `not`
/// of more give `Err` with the reason. `resolve` finds the element an `ObservableReference`'s
/// `uid-ref` names.
pub fn expression<'d>(
    el: Element<'d>,
    resolve: &dyn Fn(&str) -> Option<Element<'d>>,
    depth: usize,
) -> Result<Expr, String> {
    if depth > 32 {
        return Err("IndicatorExpression nested too deep".into());
    }
    let mut parts = Vec::new();
    for k in el.elements().filter(|k| k.ns() == NS_IODEF) {
        let e = match k.name() {
            "IndicatorExpression" => Some(expression(k, resolve, depth + 1)?),
            "Observable" => observable(k),
            "ObservableReference" => {
                let target = k
                    .attr("uid-ref")
                    .and_then(resolve)
                    .ok_or("an ObservableReference names nothing in the document")?;
                referenced(target)
            }
            "IndicatorReference" => return Err("IndicatorReference operands are not mapped".into()),
            _ => continue,
        };
        parts.push(e.ok_or_else(|| format!("an operand ({}) has no STIX pattern", k.name()))?);
    }
    match el.attr("operator").map(str::trim).unwrap_or("and") {
        "and" => Ok(if parts.len() == 1 {
            parts.remove(0)
        } else {
            Expr::All(parts)
        }),
        "or" => any(parts).ok_or_else(|| "an empty IndicatorExpression".into()),
        "not" => match parts.as_slice() {
            [Expr::Observation { comparisons, .. }] if comparisons.len() == 1 => {
                let mut c = comparisons[0].clone();
                c.negated = true;
                Ok(Expr::single(c))
            }
            _ => Err("STIX patterns negate only single comparisons (not of more)".into()),
        },
        other => Err(format!("the operator {other} has no STIX pattern")),
    }
}

/// The expression of an element an `ObservableReference` points at.
pub fn referenced(el: Element<'_>) -> Option<Expr> {
    match el.name() {
        "Address" => address(el).map(Expr::single),
        "DomainData" => domain(el).map(Expr::single),
        "EmailData" => email(el),
        "Service" => service_port(el, false).map(Expr::single),
        "FileData" => any(el.children_named("File").filter_map(file).collect()),
        "File" => file(el),
        "System" => any(system(el)),
        "Observable" => observable(el),
        _ => None,
    }
}
