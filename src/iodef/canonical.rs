//! The canonical form of a document ([`Document::canonical`](crate::iodef::Document::canonical)):
//! a normalised copy for comparing documents whatever syntax they came from — no source lines or
//! prefixes, `xsi:` attributes dropped, typed values whitespace-collapsed and numbers normalised,
//! ignorable whitespace removed, children of repeated choices grouped in schema order and the Flows
//! of one EventData merged (RFC 8727 JSON can carry neither), and the XSD default written out for the
//! attributes RFC 8727 requires (`json::required_default`: JSON always carries them).

use crate::iodef::arena::{Builder, Element, Node};
use crate::iodef::schema::{self, Content, Particle, St, NS_IODEF, NS_XSI};

fn norm_value(ty: St, v: &str) -> String {
    match ty {
        St::String => v.to_string(),
        St::Integer | St::Float | St::PositiveFloat => {
            let c = schema::collapse(v);
            match c.parse::<f64>() {
                Ok(f) => format!("{f}"),
                Err(_) => c,
            }
        }
        _ => schema::collapse(v),
    }
}

/// Position of each child declaration in a content model (first appearance).
fn model_order(p: &Particle, out: &mut Vec<usize>) {
    match p {
        Particle::Elem { decl, .. } => {
            if !out.contains(decl) {
                out.push(*decl)
            }
        }
        Particle::Any { .. } => {}
        Particle::Seq { items, .. } | Particle::Choice { items, .. } => {
            items.iter().for_each(|i| model_order(i, out))
        }
    }
}

/// See [`Document::canonical`](crate::iodef::Document::canonical): writes the canonical copy of `el` (declared as `di`) to `b`.
pub(crate) fn canonical(el: Element<'_>, di: Option<usize>, b: &mut Builder) {
    b.start(el.ns(), el.name(), None);
    canonical_attrs(el, di, b);
    canonical_content(el, di, b);
    b.end();
}

/// The attributes, `xsi:*` dropped, values normalised by type, sorted by (namespace, name).
fn canonical_attrs(el: Element<'_>, di: Option<usize>, b: &mut Builder) {
    let d = di.map(schema::decl);
    let default = d
        .and_then(crate::iodef::json::required_default)
        .filter(|(name, _)| el.attr(name).is_none());
    let attrs: Vec<_> = el
        .attrs()
        .filter(|a| a.ns != NS_XSI)
        .map(|a| {
            let qn = if a.ns == schema::NS_XML {
                format!("xml:{}", a.name)
            } else {
                a.name.to_string()
            };
            let v = match d.and_then(|d| d.attrs.iter().find(|x| x.name == qn)) {
                Some(ad) => norm_value(ad.ty, a.value),
                None => a.value.to_string(),
            };
            (a, v)
        })
        .collect();
    let mut attrs: Vec<(&str, &str, String)> =
        attrs.into_iter().map(|(a, v)| (a.ns, a.name, v)).collect();
    if let Some((name, value)) = default {
        attrs.push(("", name, value.to_string()));
    }
    attrs.sort_by(|a, b| (a.0, a.1).cmp(&(b.0, b.1)));
    for (ns, name, v) in attrs {
        b.attr_ns(ns, name, None, &v);
    }
}

fn is_flow(k: Element<'_>) -> bool {
    k.name() == "Flow" && k.ns() == NS_IODEF
}

/// The children of the canonical copy of `el`.
fn canonical_content(el: Element<'_>, di: Option<usize>, b: &mut Builder) {
    let d = di.map(schema::decl);
    match d.map(|d| &d.content) {
        Some(Content::Simple(ty)) => b.text(&norm_value(*ty, &el.text())),
        Some(Content::Complex {
            mixed: false,
            model,
        }) => {
            let mut order = Vec::new();
            model_order(model, &mut order);
            let mut kids: Vec<(usize, Element<'_>, Option<usize>)> = el
                .elements()
                .map(|k| {
                    let kd = schema::find(k.ns(), k.name());
                    let pos = kd
                        .and_then(|x| order.iter().position(|o| *o == x))
                        .unwrap_or(usize::MAX);
                    (pos, k, kd)
                })
                .collect();
            kids.sort_by_key(|(p, _, _)| *p);
            let mut i = 0;
            while i < kids.len() {
                let (_, k, kd) = kids[i];
                i += 1;
                if !is_flow(k) {
                    canonical(k, kd, b);
                    continue;
                }
                // RFC 8727 has no Flow class (§3.2): the Systems of all Flows of one EventData are one list.
                b.start(k.ns(), k.name(), None);
                canonical_attrs(k, kd, b);
                canonical_content(k, kd, b);
                while let Some((_, f, fd)) = kids.get(i).copied().filter(|(_, f, _)| is_flow(*f)) {
                    canonical_content(f, fd, b);
                    i += 1;
                }
                b.end();
            }
        }
        Some(Content::Empty) => {}
        _ => {
            // Mixed, opaque or undeclared content: keep everything (the builder merges adjacent text).
            let opaque = d.is_some_and(|d| matches!(d.content, Content::Opaque));
            for c in el.children() {
                match c {
                    Node::Element(k) => {
                        let kd = if opaque {
                            None
                        } else {
                            schema::find(k.ns(), k.name())
                        };
                        canonical(k, kd, b)
                    }
                    Node::Text(t) => b.text(t),
                }
            }
        }
    }
}
