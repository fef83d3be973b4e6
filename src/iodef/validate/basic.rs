//! The basic check ([`Document::validate_basic`](crate::iodef::Document::validate_basic)): namespace,
//! version and the required core of each Incident, without the schema; and the same for an IODEF v1
//! (RFC 5070) root, reported inside [`IodefError::V1`](crate::iodef::IodefError::V1). Shares nothing
//! with the strict validation (`strict.rs`) but the finding type.

use super::problem::{line_of, Problem, RuleSource};
use crate::iodef::arena::Element;
use crate::iodef::schema::{NS_IODEF, NS_IODEF_V1};

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

/// Basic RFC 5070 checks on an IODEF v1 root (reported inside [`IodefError::V1`](crate::iodef::IodefError::V1)).
pub(crate) fn v1_basic_problems(root: Element<'_>) -> Vec<String> {
    let mut out = Vec::new();
    if root.ns() != NS_IODEF_V1 {
        out.push(format!(
            "namespace is {:?}, expected {NS_IODEF_V1}",
            root.ns()
        ));
    }
    if root.attr("version") != Some("1.00") {
        out.push("version must be \"1.00\"".into());
    }
    if root.attr("lang").is_none() {
        out.push("IODEF-Document needs a lang attribute (RFC 5070 §3.1)".into());
    }
    let incidents: Vec<Element<'_>> = root.elements().filter(|e| e.name() == "Incident").collect();
    if incidents.is_empty() {
        out.push("no Incident".into());
    }
    for (n, inc) in incidents.iter().enumerate() {
        if inc.attr("purpose").is_none() {
            out.push(format!("Incident[{}] has no purpose", n + 1));
        }
        for req in ["IncidentID", "ReportTime", "Assessment", "Contact"] {
            if !inc.elements().any(|e| e.name() == req) {
                out.push(format!(
                    "Incident[{}] has no {req} (required in RFC 5070 §3.2)",
                    n + 1
                ));
            }
        }
    }
    out
}
