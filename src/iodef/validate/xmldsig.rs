//! The few xmldsig rules the IODEF classes lean on (`Hash`'s `DigestMethod`, `DigestValue`,
//! `CanonicalizationMethod`, `X509Data`'s children). The schema table has xmldsig content as opaque,
//! so the strict walk (`strict.rs`) hands such elements here; `Signature` content is not checked
//! (see `src/iodef/README.md`).

use super::problem::{push, Path, Problem, RuleSource};
use crate::iodef::arena::{Element, Node};
use crate::iodef::schema::{self, Decl, St, NS_DS};

/// The xmldsig rules for an opaque-content element `el` of declaration `d` (nothing unless it is an
/// xmldsig one).
pub(super) fn check(el: Element<'_>, d: &Decl, path: &Path<'_>, out: &mut Vec<Problem>) {
    if d.ns != schema::Ns::Ds {
        return;
    }
    match d.name {
        "DigestMethod" | "CanonicalizationMethod" => match el.attr("Algorithm") {
            None => push(
                out,
                el,
                &path.render(),
                RuleSource::Schema,
                format!("missing required attribute Algorithm on ds:{}", d.name),
            ),
            Some(v) => {
                if let Err(m) = schema::check(St::AnyUri, v) {
                    push(
                        out,
                        el,
                        &format!("{}/@Algorithm", path.render()),
                        RuleSource::Schema,
                        m,
                    );
                }
            }
        },
        "X509Data" => x509_data(el, path, out),
        "DigestValue" => {
            if el.elements().next().is_some() {
                push(
                    out,
                    el,
                    &path.render(),
                    RuleSource::Schema,
                    "ds:DigestValue has text content only".into(),
                );
            } else if let Err(m) = schema::check(St::Base64, &el.text_cow()) {
                push(out, el, &path.render(), RuleSource::Schema, m);
            }
        }
        _ => {}
    }
}

/// ds:X509Data (xmldsig-core): one or more of X509IssuerSerial, X509SKI, X509SubjectName,
/// X509Certificate, X509CRL or a foreign-namespace element.
fn x509_data(el: Element<'_>, path: &Path<'_>, out: &mut Vec<Problem>) {
    let mut n = 0;
    for k in el.elements() {
        n += 1;
        let kpath = || format!("{}/ds:{}", path.render(), k.name());
        if k.ns() != NS_DS {
            if k.ns().is_empty() {
                push(
                    out,
                    k,
                    &path.render(),
                    RuleSource::Schema,
                    format!("unexpected element <{}> in ds:X509Data", k.name()),
                );
            }
            continue;
        }
        match k.name() {
            "X509IssuerSerial" => {
                let kids: Vec<Element<'_>> = k.elements().collect();
                let names: Vec<&str> = kids.iter().map(|e| e.name()).collect();
                if kids.iter().any(|e| e.ns() != NS_DS)
                    || names != ["X509IssuerName", "X509SerialNumber"]
                {
                    push(
                        out,
                        k,
                        &kpath(),
                        RuleSource::Schema,
                        "ds:X509IssuerSerial needs exactly X509IssuerName then X509SerialNumber"
                            .into(),
                    );
                } else if let Err(m) = schema::check(St::Integer, &kids[1].text()) {
                    push(out, kids[1], &kpath(), RuleSource::Schema, m);
                }
            }
            "X509SKI" | "X509Certificate" | "X509CRL" => {
                if let Err(m) = schema::check(St::Base64, &k.text()) {
                    push(out, k, &kpath(), RuleSource::Schema, m);
                }
            }
            "X509SubjectName" => {}
            other => push(
                out,
                k,
                &path.render(),
                RuleSource::Schema,
                format!("unexpected element <ds:{other}> in ds:X509Data"),
            ),
        }
        if k.name() != "X509IssuerSerial" && k.elements().next().is_some() {
            push(
                out,
                k,
                &kpath(),
                RuleSource::Schema,
                format!("ds:{} has text content only", k.name()),
            );
        }
    }
    if n == 0 {
        push(
            out,
            el,
            &path.render(),
            RuleSource::Schema,
            "ds:X509Data needs at least one child".into(),
        );
    }
    if el
        .children()
        .any(|c| matches!(c, Node::Text(t) if !t.trim().is_empty()))
    {
        push(
            out,
            el,
            &path.render(),
            RuleSource::Schema,
            "text not allowed in ds:X509Data".into(),
        );
    }
}
