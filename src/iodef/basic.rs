//! The basic check ([`Document::validate_basic`](super::Document::validate_basic)): namespace,
//! version and the required core of each Incident, without the schema. Split from `validate.rs`
//! (the strict validation: the XSD and the RFC 7970 text rules), which it shares nothing with but
//! the finding type.

use super::arena::Element;
use super::problem::{line_of, Problem, RuleSource};
use super::schema::NS_IODEF;

/// Cheap structural validation: namespace, version, and the required core of each Incident.
pub(crate) fn validate_basic(root: Element<'_>) -> Vec<Problem> {
    let mut out = Vec::new();
    let mut p = |el: Element<'_>, path: String, m: &str| {
        out.push(Problem {
            path,
            line: line_of(el),
            message: m.to_string(),
            source: RuleSource::Schema,
        })
    };
    if root.ns() != NS_IODEF || root.name() != "IODEF-Document" {
        p(
            root,
            "/".into(),
            "root must be IODEF-Document in urn:ietf:params:xml:ns:iodef-2.0",
        );
        return out;
    }
    match root.attr("version") {
        Some("2.00") => {}
        Some(v) => p(
            root,
            "/IODEF-Document/@version".into(),
            &format!("version must be \"2.00\", not {v:?}"),
        ),
        None => p(root, "/IODEF-Document".into(), "missing version attribute"),
    }
    let mut n = 0;
    for inc in root.children_named("Incident") {
        n += 1;
        let path = format!("/IODEF-Document/Incident[{n}]");
        if inc.attr("purpose").is_none() {
            p(inc, path.clone(), "missing required attribute purpose");
        }
        for (name, msg) in [
            ("IncidentID", "missing IncidentID"),
            ("GenerationTime", "missing GenerationTime"),
            ("Contact", "missing Contact"),
        ] {
            if inc.child(name).is_none() {
                p(inc, path.clone(), msg);
            }
        }
    }
    if n == 0 {
        p(
            root,
            "/IODEF-Document".into(),
            "IODEF-Document needs at least one Incident",
        );
    }
    out
}
