//! The IODEF v1 (RFC 5070 §8) types the RID schema imports, checked as that schema declares them:
//! `Node` (with `NodeName`, `Address`, `Location`, `DateTime`, `NodeRole`, `Counter`), `IncidentID`
//! and the attributes of `ExtensionType` (`XMLDocument`, `Signature`). The content of an
//! `ExtensionType` is a lax wildcard: the enclosed document is `validate.rs`'s business.

use super::check::{collapse, is_date_time, is_double, is_integer, is_language, Checker, MANY};
use super::model::{Restriction, NS_IODEF_V1};
use crate::iodef::Element;

const ADDRESS_CATEGORIES: &[&str] = &[
    "asn",
    "atm",
    "e-mail",
    "mac",
    "ipv4-addr",
    "ipv4-net",
    "ipv4-net-mask",
    "ipv6-addr",
    "ipv6-net",
    "ipv6-net-mask",
    "ext-value",
];
const NODE_ROLES: &[&str] = &[
    "client",
    "server-internal",
    "server-public",
    "www",
    "mail",
    "messaging",
    "streaming",
    "voice",
    "file",
    "ftp",
    "p2p",
    "name",
    "directory",
    "credential",
    "print",
    "application",
    "database",
    "infra",
    "log",
    "ext-value",
];
const COUNTER_TYPES: &[&str] = &[
    "byte",
    "packet",
    "flow",
    "session",
    "event",
    "alert",
    "message",
    "host",
    "site",
    "organization",
    "ext-value",
];
const DURATIONS: &[&str] = &[
    "second",
    "minute",
    "hour",
    "day",
    "month",
    "quarter",
    "year",
    "ext-value",
];
const DTYPES: &[&str] = &[
    "boolean",
    "byte",
    "character",
    "date-time",
    "integer",
    "ntpstamp",
    "portlist",
    "real",
    "string",
    "file",
    "path",
    "frame",
    "packet",
    "ipv4-packet",
    "ipv6-packet",
    "url",
    "csv",
    "winreg",
    "xml",
    "ext-value",
];
/// The restriction-type values.
pub const RESTRICTIONS: &[&str] = &["default", "public", "need-to-know", "private"];

fn one_of<'a>(values: &'a [&'a str]) -> impl Fn(&str) -> Option<()> + 'a {
    move |s| values.contains(&s).then_some(())
}

/// A `restriction` attribute, if present and valid.
pub fn restriction(c: &mut Checker, el: Element<'_>, path: &str) -> Option<Restriction> {
    c.enumerated(
        el,
        path,
        "restriction",
        false,
        Restriction::parse,
        RESTRICTIONS,
    )
}

/// `lang` of an MLStringType, if present, must be an `xs:language`.
fn lang(c: &mut Checker, el: Element<'_>, path: &str) {
    if let Some(l) = el.attr("lang") {
        if !is_language(&collapse(l)) {
            c.err(
                &format!("{path}/@lang"),
                el,
                format!("lang={l:?} is not a language tag"),
            );
        }
    }
}

/// An `iodef:Node` (RFC 5070 §3.16.1).
pub fn node(c: &mut Checker, el: Element<'_>, path: &str) {
    c.attrs(el, path, &[]);
    c.no_text(el, path);
    // (NodeName | Address)*, Location?, DateTime?, NodeRole*, Counter*: a phase per particle.
    let mut phase = 0;
    let mut seen_once = [false; 2];
    for k in el.elements() {
        let kp = format!("{path}/{}", k.name());
        let p = if k.ns() != NS_IODEF_V1 {
            None
        } else {
            match k.name() {
                "NodeName" | "Address" => Some(0),
                "Location" => Some(1),
                "DateTime" => Some(2),
                "NodeRole" => Some(3),
                "Counter" => Some(4),
                _ => None,
            }
        };
        let Some(p) = p else {
            c.err(
                path,
                k,
                format!("unexpected element {{{}}}{} in Node", k.ns(), k.name()),
            );
            return;
        };
        let repeat_once = (p == 1 || p == 2) && phase == p && seen_once[p - 1];
        if p < phase || repeat_once {
            c.err(
                path,
                k,
                format!("element {} out of order in Node", k.name()),
            );
            return;
        }
        phase = p;
        if p == 1 || p == 2 {
            seen_once[p - 1] = true;
        }
        c.no_children(k, &kp);
        match k.name() {
            "NodeName" | "Location" => {
                c.attrs(k, &kp, &["lang"]);
                lang(c, k, &kp);
            }
            "Address" => {
                c.attrs(
                    k,
                    &kp,
                    &["category", "ext-category", "vlan-name", "vlan-num"],
                );
                c.enumerated(
                    k,
                    &kp,
                    "category",
                    false,
                    one_of(ADDRESS_CATEGORIES),
                    ADDRESS_CATEGORIES,
                );
                if let Some(n) = k.attr("vlan-num") {
                    if !is_integer(&collapse(n)) {
                        c.err(
                            &format!("{kp}/@vlan-num"),
                            k,
                            format!("vlan-num={n:?} is not an integer"),
                        );
                    }
                }
            }
            "DateTime" => {
                c.attrs(k, &kp, &[]);
                if !is_date_time(&collapse(&k.text())) {
                    c.err(
                        &kp,
                        k,
                        format!("{:?} is not an xs:dateTime", k.text().trim()),
                    );
                }
            }
            "NodeRole" => {
                c.attrs(k, &kp, &["category", "ext-category", "lang"]);
                c.enumerated(k, &kp, "category", true, one_of(NODE_ROLES), NODE_ROLES);
                lang(c, k, &kp);
            }
            _ => {
                c.attrs(
                    k,
                    &kp,
                    &["type", "ext-type", "meaning", "duration", "ext-duration"],
                );
                c.enumerated(k, &kp, "type", true, one_of(COUNTER_TYPES), COUNTER_TYPES);
                c.enumerated(k, &kp, "duration", false, one_of(DURATIONS), DURATIONS);
                if !is_double(&collapse(&k.text())) {
                    c.err(&kp, k, format!("{:?} is not an xs:double", k.text().trim()));
                }
            }
        }
    }
}

/// An `iodef:IncidentID` (RFC 5070 §3.3): simple content, `name` required.
pub fn incident_id(c: &mut Checker, el: Element<'_>, path: &str) -> Option<Restriction> {
    c.attrs(el, path, &["name", "instance", "restriction"]);
    c.no_children(el, path);
    c.required(el, path, "name");
    restriction(c, el, path)
}

/// The attributes of an `ExtensionType` element.
pub fn extension_attrs(c: &mut Checker, el: Element<'_>, path: &str) {
    c.attrs(
        el,
        path,
        &["dtype", "ext-dtype", "meaning", "formatid", "restriction"],
    );
    c.enumerated(el, path, "dtype", true, one_of(DTYPES), DTYPES);
    restriction(c, el, path);
}

/// `iodef:Node` particles as the RID sequences name them.
pub const NODE: (&str, &str) = (NS_IODEF_V1, "Node");

/// A `Node` particle occurring `min..=max` times.
pub const fn node_particle(min: usize, max: usize) -> super::check::Particle {
    (NODE.0, NODE.1, min, max)
}

/// Unbounded Nodes.
pub const NODES: super::check::Particle = node_particle(0, MANY);
