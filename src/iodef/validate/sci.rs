//! RFC 7203 (IODEF-SCI) basic structure for the SCI elements IODEF v2 embeds (`sci:AttackPattern`,
//! `sci:Vulnerability`, `sci:Weakness`, and the `Platform`/`Scoring` inside them). The XSD gridlink
//! validates against leaves their content open (RFC 7203's own schema is written against IODEF v1 and
//! does not load beside v2), but RFC 8727 gives them one JSON shape, STRUCTUREDINFO: without these rules
//! a document strict validation accepts could carry an SCI element gridlink cannot write as JSON that
//! RFC 8727's schema (or gridlink's own JSON reader) accepts (issue 21, fuzz finding 2).

use super::problem::{push, Path, Problem, RuleSource};
use crate::iodef::arena::Element;
use crate::iodef::schema::{NS_IODEF, NS_SCI};

/// The IANA "SCI" table (RFC 7203 §6; its one entry, MMDEF 1.2, RFC 7203 §4.1) plus `private`: the values
/// RFC 7203 §4.4 allows for `SpecID`, and the enumeration of RFC 8727's `SpecID`.
const SPEC_IDS: [&str; 2] = ["urn:ietf:params:xml:ns:mile:mmdef:1.2", "private"];

/// Checks the SCI element `el` (in the SCI namespace) and the `Platform`/`Scoring` inside it.
pub(super) fn check(el: Element<'_>, path: &Path<'_>, out: &mut Vec<Problem>) {
    basic(el, path, true, out);
}

/// RFC 7203 §4.4: attributes SpecID (required, from the table or `private`), ext-SpecID (exactly when
/// SpecID is `private`), ContentID; children RawData*, Reference*; one of ContentID/RawData/Reference.
/// `outer`: `Platform`/`Scoring` may appear (only one level down, as in RFC 8727's STRUCTUREDINFO).
fn basic(el: Element<'_>, path: &Path<'_>, outer: bool, out: &mut Vec<Problem>) {
    let name = el.name();
    let mut problem = |m: String| push(out, el, &path.render(), RuleSource::Rfc, m);
    for a in el.attrs() {
        if a.ns.is_empty() && !matches!(a.name, "SpecID" | "ext-SpecID" | "ContentID") {
            problem(format!(
                "attribute {} not allowed on sci:{name} (RFC 7203 §4.4: SpecID, ext-SpecID, ContentID)",
                a.name
            ));
        }
    }
    match el.attr("SpecID") {
        None => problem(format!(
            "missing required attribute SpecID of sci:{name} (RFC 7203 §4.4)"
        )),
        Some(v) if !SPEC_IDS.contains(&v) => problem(format!(
            "SpecID \"{v}\" of sci:{name} is neither in the IANA SCI table nor \"private\" \
             (RFC 7203 §4.4; use SpecID=\"private\" with ext-SpecID)"
        )),
        Some(v) => {
            if (v == "private") != el.attr("ext-SpecID").is_some() {
                problem(format!(
                    "ext-SpecID of sci:{name} must be set exactly when SpecID=\"private\" (RFC 7203 §4.4)"
                ));
            }
        }
    }
    let (mut raw, mut reference) = (false, false);
    let mut nested = Vec::new();
    for (pos, k) in el.elements().enumerate() {
        match (k.ns(), k.name()) {
            (NS_SCI, "RawData") => raw = true,
            (NS_IODEF, "Reference") => reference = true,
            (NS_SCI, "Platform" | "Scoring") if outer => nested.push((pos, k)),
            (_, other) => problem(format!(
                "element <{other}> not allowed in sci:{name} (RFC 7203 §4.4: RawData, Reference{})",
                if outer { ", Platform, Scoring" } else { "" }
            )),
        }
    }
    if !raw && !reference && el.attr("ContentID").is_none() {
        problem(format!(
            "sci:{name} needs one of ContentID, RawData, Reference (RFC 7203 §4.4)"
        ));
    }
    if raw && reference {
        problem(format!(
            "sci:{name} has both RawData and Reference; only one should be used (RFC 7203 §4.4), \
             and RFC 8727's STRUCTUREDINFO allows only one"
        ));
    }
    for (pos, k) in nested {
        let kpath = Path {
            up: Some(path),
            parent: Some((el, pos)),
            name: k.name(),
        };
        basic(k, &kpath, false, out);
    }
}
