//! RFC 8727 JSON binding, driven by the schema table: the member layout ([`Slot`]), which JSON member
//! each attribute and child element of a declaration becomes. JSON → XML is `read.rs`, XML → JSON
//! `view.rs` (a `Serialize` view over the same slots) and `write.rs` (the text writer).
//!
//! The generic rule (RFC 8727 §3): attributes and child elements become members of one object; a child
//! whose maximum occurrence is above one is an array; element text is `value` (`id` for IncidentID and
//! IndicatorID, `handle` for RegistryHandle); `xml:lang` is `lang`; ML_STRING without attributes is a
//! plain string. The special cases of RFC 8727 §3.2 are listed in [`Slot`] and in `SPECIAL` below.

use std::sync::OnceLock;

use crate::iodef::schema::{self, Content, Ns, Particle};

/// How one child declaration appears among its parent's JSON members.
#[derive(Debug, Clone)]
pub(crate) enum Slot {
    /// A child element: member `name`; an array when `many` (its own maxOccurs > 1). When only an
    /// enclosing group repeats (`ctx_many`, e.g. IndicatorExpression's Confidence) a single occurrence
    /// is a plain value, as the RFC 8727 schema has it, and several are an array (lossless).
    Elem {
        decl: usize,
        name: &'static str,
        many: bool,
        ctx_many: bool,
    },
    /// A wrapper class deleted by RFC 8727 §3.2 (Flow, ApplicationHeader, SignatureData, IndicatorData,
    /// Record): its children appear directly in the parent, as an array called after them.
    Wrapper {
        decl: usize,
        inner: usize,
        name: &'static str,
    },
    /// `ObservableReference` deleted: its `uid-ref` attribute appears directly in the parent.
    ObsRef { decl: usize, many: bool },
    /// Assessment's impact choice: `Impact` is an array of single-member objects.
    Impact { decls: Vec<usize> },
}

/// Wrapper classes removed by RFC 8727 §3.2.
const WRAPPERS: &[&str] = &[
    "Flow",
    "ApplicationHeader",
    "SignatureData",
    "IndicatorData",
    "Record",
];

/// XSD names spelled differently in the RFC 8727 JSON schema.
fn json_name(xsd: &'static str) -> &'static str {
    match xsd {
        "Nameservers" => "NameServers",
        other => other,
    }
}

/// The member holding an element's text.
pub(crate) fn text_key(name: &str) -> &'static str {
    match name {
        "IncidentID" | "IndicatorID" => "id",
        "RegistryHandle" => "handle",
        _ => "value",
    }
}

fn collect_slots(p: &Particle, many_ctx: bool, out: &mut Vec<Slot>) {
    let (_, max) = p.occurs();
    let many = many_ctx || max > 1;
    let own_many = max > 1;
    match p {
        Particle::Elem { decl, .. } => {
            let d = schema::decl(*decl);
            if d.ns == Ns::Iodef && WRAPPERS.contains(&d.name) {
                if let Content::Complex {
                    model: Particle::Seq { items, .. },
                    ..
                } = &d.content
                {
                    if let Some(Particle::Elem { decl: inner, .. }) = items.first() {
                        let name = json_name(schema::decl(*inner).name);
                        out.push(Slot::Wrapper {
                            decl: *decl,
                            inner: *inner,
                            name,
                        });
                        return;
                    }
                }
            }
            if d.ns == Ns::Iodef && d.name == "ObservableReference" {
                out.push(Slot::ObsRef { decl: *decl, many });
                return;
            }
            out.push(Slot::Elem {
                decl: *decl,
                name: json_name(d.name),
                many: own_many,
                ctx_many: many_ctx,
            });
        }
        Particle::Any { .. } => {}
        Particle::Seq { items, .. } => items.iter().for_each(|i| collect_slots(i, many, out)),
        // (a Choice below repeats its items when it repeats itself)
        Particle::Choice { items, .. } => {
            // The items of a repeated choice are arrays in RFC 8727 (e.g. IndicatorExpression's
            // IndicatorExpression / Observable / uid-ref / IndicatorReference).
            let many = many || (max > 1);
            let is_impact = items
                .iter()
                .any(|i| matches!(i, Particle::Elem { decl, .. } if schema::decl(*decl).name == "SystemImpact"));
            if is_impact {
                let decls = items
                    .iter()
                    .filter_map(|i| match i {
                        Particle::Elem { decl, .. } => Some(*decl),
                        _ => None,
                    })
                    .collect();
                out.push(Slot::Impact { decls });
            } else {
                for i in items.iter() {
                    let before = out.len();
                    collect_slots(i, many, out);
                    if many {
                        for s in &mut out[before..] {
                            if let Slot::Elem { many: m, .. } | Slot::ObsRef { many: m, .. } = s {
                                *m = true;
                            }
                        }
                    }
                }
            }
        }
    }
}

/// Slots of every declaration, computed once.
pub(crate) fn slots(di: usize) -> &'static [Slot] {
    static ALL: OnceLock<Vec<Vec<Slot>>> = OnceLock::new();
    let all = ALL.get_or_init(|| {
        (0..schema_len())
            .map(|i| {
                let mut v = Vec::new();
                if let Content::Complex { model, .. } = &schema::decl(i).content {
                    collect_slots(model, false, &mut v);
                }
                v
            })
            .collect()
    });
    &all[di]
}

fn schema_len() -> usize {
    schema::decl_count()
}
