//! The RFC 7970 text rules the XSD cannot express (a `Contact` needs a child, `IODEF-Document` needs
//! `version`, …; listed in `src/iodef/README.md`), and the one key constraint of the XSD the table
//! does not carry (`IndicatorReference`'s `uid-ref`/`euid-ref`). The strict walk (`strict.rs`) calls
//! [`check`] once per element after its content.

use super::problem::{push, Path, Problem, RuleSource};
use crate::iodef::arena::Element;
use crate::iodef::schema::{self, Decl};

/// Whether [`check`] has a rule for declaration `di`: an IODEF class of one of these names. Worked
/// out once per declaration (this runs for every element; comparing names each time showed).
fn has_rfc_rule(di: usize) -> bool {
    use std::sync::OnceLock;
    const RULED: [&str; 12] = [
        "Contact",
        "DomainData",
        "Observable",
        "DetectionPattern",
        "RegistryHandle",
        "BusinessImpact",
        "RelatedActivity",
        "ThreatActor",
        "Campaign",
        "IODEF-Document",
        "SoftwareReference",
        "IndicatorReference",
    ];
    static ALL: OnceLock<Vec<bool>> = OnceLock::new();
    ALL.get_or_init(|| {
        (0..schema::decl_count())
            .map(|i| {
                let d = schema::decl(i);
                d.ns == schema::Ns::Iodef && RULED.contains(&d.name)
            })
            .collect()
    })
    .get(di)
    .copied()
    .unwrap_or(false)
}

/// The text rules for element `el` of declaration `di` (`d`); `childless`: it has no child element.
pub(super) fn check(
    el: Element<'_>,
    di: usize,
    d: &Decl,
    path: &Path<'_>,
    childless: bool,
    out: &mut Vec<Problem>,
) {
    // Most classes have no text rule: skip the name comparisons below for them.
    if !has_rfc_rule(di) {
        return;
    }
    match d.name {
        "Contact" if childless => push(
            out,
            el,
            &path.render(),
            RuleSource::Rfc,
            "Contact must have at least one child element (RFC 7970 §3.9)".into(),
        ),
        "RelatedActivity" | "ThreatActor" | "Campaign" if childless => push(
            out,
            el,
            &path.render(),
            RuleSource::Rfc,
            format!(
                "{} must have at least one child element (RFC 7970 §3.6-3.8)",
                d.name
            ),
        ),
        "IODEF-Document" => {
            if el.attr("version").is_none() {
                push(
                    out,
                    el,
                    &path.render(),
                    RuleSource::Rfc,
                    "missing required attribute version (RFC 7970 §3.1: MUST be \"2.00\")".into(),
                );
            }
            if el.attr("private-enum-id").is_some() && el.attr("private-enum-name").is_none() {
                push(
                    out,
                    el,
                    &path.render(),
                    RuleSource::Rfc,
                    "private-enum-id requires private-enum-name (RFC 7970 §3.1)".into(),
                );
            }
        }
        "SoftwareReference"
            if el.attr("spec-name") == Some("custom") && el.attr("dtype").is_none() =>
        {
            push(
                out,
                el,
                &path.render(),
                RuleSource::Rfc,
                "spec-name=\"custom\" requires dtype (RFC 7970 §2.15)".into(),
            )
        }
        // The XSD's choice has every particle optional; RFC 7970's text (and
        // RFC 8727's `oneOf`) wants exactly one child.
        "Observable" if childless => push(
            out,
            el,
            &path.render(),
            RuleSource::Rfc,
            "Observable must have exactly one child element (RFC 7970 §3.29.3)".into(),
        ),
        // The XSD's choice of Description* | DetectionConfiguration* can be
        // empty; RFC 7970's text (and RFC 8727's `oneOf`) wants one of them.
        "DetectionPattern"
            if !el
                .elements()
                .any(|k| matches!(k.name(), "Description" | "DetectionConfiguration")) =>
        {
            push(
                out,
                el,
                &path.render(),
                RuleSource::Rfc,
                "DetectionPattern needs a Description or a DetectionConfiguration (RFC 7970 §3.10.1)"
                    .into(),
            )
        }
        // Required in RFC 7970's text and in RFC 8727's JSON schema, optional
        // in the XSD (without a default): without them gridlink's own JSON
        // would fail RFC 8727 (issue 21; `tests/py/iodef_required_diff.py`
        // lists the differences). RFC 8274's Appendix B.3 example omits
        // DomainData's two (a known defect of the example, see
        // `tests/fixtures/iodef/README.md`).
        "DomainData" => {
            for attr in ["system-status", "domain-status"] {
                if el.attr(attr).is_none() {
                    push(
                        out,
                        el,
                        &path.render(),
                        RuleSource::Rfc,
                        format!("missing required attribute {attr} of DomainData (RFC 7970 §3.19)"),
                    );
                }
            }
        }
        "RegistryHandle" | "BusinessImpact" => {
            let (attr, section) = match d.name {
                "RegistryHandle" => ("registry", "§3.9.1"),
                _ => ("type", "§3.12.2"),
            };
            if el.attr(attr).is_none() {
                push(
                    out,
                    el,
                    &path.render(),
                    RuleSource::Rfc,
                    format!(
                        "missing required attribute {attr} of {} (RFC 7970 {section})",
                        d.name
                    ),
                );
            }
        }
        "IndicatorReference" => {
            let n = el.attr("uid-ref").is_some() as u8 + el.attr("euid-ref").is_some() as u8;
            if n != 1 {
                push(
                    out,
                    el,
                    &path.render(),
                    RuleSource::Schema,
                    "IndicatorReference needs exactly one of uid-ref, euid-ref (xs:key uidrefKey)"
                        .into(),
                );
            }
        }
        _ => {}
    }
}
