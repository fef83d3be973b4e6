//! Reading a RID 2.0 message: bytes → the IODEF reader's arena (no DTD, size and depth limits) →
//! the typed [`Rid`], checking the RFC 6545 §8 schema on the way (every finding collected; any one
//! refuses the message with [`RidError::Invalid`]).

use super::check::{collapse, is_language, parse_boolean, Checker, MANY};
use super::error::RidError;
use super::model::*;
use super::v1;
use super::xml::{XmlAttr, XmlElement};
use crate::iodef::{parse_xml, Element, IodefError};

/// Largest RID message accepted, in bytes (an IODEF document plus its envelope).
pub const MAX_MESSAGE_BYTES: usize = 4 * 1024 * 1024;

/// Decodes bytes as UTF-8 (RFC 6545 §5.5: UTF-8 only; a BOM is dropped).
pub fn text_of(bytes: &[u8]) -> Result<&str, RidError> {
    if bytes.len() > MAX_MESSAGE_BYTES {
        return Err(RidError::TooLarge {
            size: bytes.len(),
            max: MAX_MESSAGE_BYTES,
        });
    }
    if bytes.starts_with(&[0xFE, 0xFF]) || bytes.starts_with(&[0xFF, 0xFE]) {
        return Err(IodefError::Encoding("UTF-16".into()).into());
    }
    let bytes = bytes.strip_prefix(&[0xEF, 0xBB, 0xBF]).unwrap_or(bytes);
    std::str::from_utf8(bytes).map_err(|e| {
        RidError::Xml(IodefError::NotUtf8 {
            offset: e.valid_up_to(),
        })
    })
}

/// Parses and schema-checks a RID message.
pub fn parse(bytes: &[u8]) -> Result<Rid, RidError> {
    let text = text_of(bytes)?;
    let tree = parse_xml(text)?;
    let root = tree.root();
    if root.ns() != NS_RID || root.name() != "RID" {
        return Err(RidError::NotRid {
            ns: root.ns().into(),
            name: root.name().into(),
        });
    }
    let mut c = Checker::default();
    let rid = rid(&mut c, root);
    match rid {
        Some(r) if c.problems.is_empty() => Ok(r),
        _ => Err(RidError::Invalid(c.problems)),
    }
}

fn rid(c: &mut Checker, el: Element<'_>) -> Option<Rid> {
    let path = "/RID";
    c.attrs(el, path, &["lang"]);
    c.no_text(el, path);
    let lang = c.required(el, path, "lang");
    if let Some(l) = &lang {
        if !is_language(l) {
            c.err(
                "/RID/@lang",
                el,
                format!("lang={l:?} is not a language tag"),
            );
        }
    }
    let g = c.seq(
        el,
        path,
        &[
            (NS_RID, "RIDPolicy", 0, 1),
            (NS_RID, "RequestStatus", 0, 1),
            (NS_RID, "IncidentSource", 0, 1),
        ],
    )?;
    let policy = g[0].first().map(|p| policy(c, *p));
    let status = g[1].first().map(|s| request_status(c, *s));
    let source = g[2].first().map(|s| incident_source(c, *s));
    Some(Rid {
        lang: lang?,
        xsi: el
            .attrs()
            .filter(|a| a.ns == NS_XSI)
            .map(|a| XmlAttr {
                ns: a.ns.into(),
                name: a.name.into(),
                prefix: a.prefix.map(String::from),
                value: a.value.into(),
            })
            .collect(),
        policy: match policy {
            Some(p) => Some(p?),
            None => None,
        },
        status: match status {
            Some(s) => Some(s?),
            None => None,
        },
        source: match source {
            Some(s) => Some(s?),
            None => None,
        },
    })
}

/// An enumerated attribute and its `ext-*` companion.
fn coded<T>(
    c: &mut Checker,
    el: Element<'_>,
    path: &str,
    name: &str,
    required: bool,
    parse: fn(&str) -> Option<T>,
    values: &[&str],
) -> Option<Coded<T>> {
    let value = c.enumerated(el, path, name, required, parse, values)?;
    Some(Coded {
        value,
        ext: el.attr(&format!("ext-{name}")).map(String::from),
    })
}

fn policy(c: &mut Checker, el: Element<'_>) -> Option<RidPolicy> {
    let path = "/RID/RIDPolicy";
    c.attrs(
        el,
        path,
        &[
            "MsgType",
            "ext-MsgType",
            "MsgDestination",
            "ext-MsgDestination",
            "restriction",
        ],
    );
    c.no_text(el, path);
    let msg_type = coded(
        c,
        el,
        path,
        "MsgType",
        true,
        MsgType::parse,
        MsgType::VALUES,
    );
    let destination = coded(
        c,
        el,
        path,
        "MsgDestination",
        true,
        MsgDestination::parse,
        MsgDestination::VALUES,
    );
    let restriction = v1::restriction(c, el, path);
    let g = c.seq(
        el,
        path,
        &[
            (NS_RID, "PolicyRegion", 1, MANY),
            v1::node_particle(1, 1),
            (NS_RID, "TrafficType", 1, MANY),
            (NS_IODEF_V1, "IncidentID", 0, 1),
            (NS_RID, "ReportSchema", 0, 1),
        ],
    )?;
    let mut regions = Vec::new();
    for r in &g[0] {
        let p = format!("{path}/PolicyRegion");
        c.attrs(*r, &p, &["region", "ext-region"]);
        c.no_children(*r, &p);
        c.no_text(*r, &p);
        regions.push(coded(
            c,
            *r,
            &p,
            "region",
            true,
            Region::parse,
            Region::VALUES,
        ));
    }
    let mut traffic = Vec::new();
    for t in &g[2] {
        let p = format!("{path}/TrafficType");
        c.attrs(*t, &p, &["type", "ext-type"]);
        c.no_children(*t, &p);
        c.no_text(*t, &p);
        traffic.push(coded(
            c,
            *t,
            &p,
            "type",
            true,
            Traffic::parse,
            Traffic::VALUES,
        ));
    }
    let node = g[1][0];
    v1::node(c, node, &format!("{path}/Node"));
    let incident_id = g[3]
        .first()
        .map(|i| incident_id(c, *i, &format!("{path}/IncidentID")));
    let report_schema = g[4].first().map(|r| report_schema(c, *r));
    Some(RidPolicy {
        msg_type: msg_type?,
        destination: destination?,
        restriction,
        regions: regions.into_iter().collect::<Option<Vec<_>>>()?,
        node: XmlElement::from_element(node),
        traffic: traffic.into_iter().collect::<Option<Vec<_>>>()?,
        incident_id: match incident_id {
            Some(i) => Some(i?),
            None => None,
        },
        report_schema: match report_schema {
            Some(r) => Some(r?),
            None => None,
        },
    })
}

fn incident_id(c: &mut Checker, el: Element<'_>, path: &str) -> Option<IncidentId> {
    let restriction = v1::incident_id(c, el, path);
    Some(IncidentId {
        name: el.attr("name")?.into(),
        instance: el.attr("instance").map(String::from),
        restriction,
        value: el.text(),
    })
}

fn extension(c: &mut Checker, el: Element<'_>, path: &str) -> Extension {
    v1::extension_attrs(c, el, path);
    let x = XmlElement::from_element(el);
    Extension {
        attrs: x.attrs,
        content: x.children,
        line: el.line(),
    }
}

fn report_schema(c: &mut Checker, el: Element<'_>) -> Option<ReportSchema> {
    let path = "/RID/RIDPolicy/ReportSchema";
    c.attrs(
        el,
        path,
        &["Version", "ext-Version", "XMLSchemaID", "ext-XMLSchemaID"],
    );
    c.no_text(el, path);
    let version = coded(
        c,
        el,
        path,
        "Version",
        false,
        SchemaVersion::parse,
        SchemaVersion::VALUES,
    );
    let schema_id = coded(
        c,
        el,
        path,
        "XMLSchemaID",
        false,
        SchemaId::parse,
        SchemaId::VALUES,
    );
    let g = c.seq(
        el,
        path,
        &[
            (NS_RID, "XMLDocument", 1, 1),
            (NS_RID, "URL", 0, 1),
            (NS_RID, "Signature", 0, MANY),
        ],
    )?;
    let document = extension(c, g[0][0], &format!("{path}/XMLDocument"));
    let url = g[1].first().map(|u| {
        let p = format!("{path}/URL");
        c.attrs(*u, &p, &[]);
        c.no_children(*u, &p);
        collapse(&u.text())
    });
    let signatures = g[2]
        .iter()
        .map(|s| extension(c, *s, &format!("{path}/Signature")))
        .collect();
    Some(ReportSchema {
        version: if el.attr("Version").is_some() {
            Some(version?)
        } else {
            None
        },
        schema_id: if el.attr("XMLSchemaID").is_some() {
            Some(schema_id?)
        } else {
            None
        },
        document,
        url,
        signatures,
    })
}

fn request_status(c: &mut Checker, el: Element<'_>) -> Option<RequestStatus> {
    let path = "/RID/RequestStatus";
    c.attrs(
        el,
        path,
        &[
            "AuthorizationStatus",
            "ext-AuthorizationStatus",
            "Justification",
            "ext-Justification",
            "restriction",
        ],
    );
    c.no_children(el, path);
    c.no_text(el, path);
    let status = coded(
        c,
        el,
        path,
        "AuthorizationStatus",
        true,
        AuthorizationStatus::parse,
        AuthorizationStatus::VALUES,
    );
    let justification = coded(
        c,
        el,
        path,
        "Justification",
        false,
        Justification::parse,
        Justification::VALUES,
    );
    let restriction = v1::restriction(c, el, path);
    Some(RequestStatus {
        status: status?,
        justification: if el.attr("Justification").is_some() {
            Some(justification?)
        } else {
            None
        },
        restriction,
    })
}

fn incident_source(c: &mut Checker, el: Element<'_>) -> Option<IncidentSource> {
    let path = "/RID/IncidentSource";
    c.attrs(el, path, &["restriction"]);
    c.no_text(el, path);
    let restriction = v1::restriction(c, el, path);
    let g = c.seq(el, path, &[(NS_RID, "SourceFound", 1, 1), v1::NODES])?;
    let sf = g[0][0];
    let sp = format!("{path}/SourceFound");
    c.attrs(sf, &sp, &[]);
    c.no_children(sf, &sp);
    let found = parse_boolean(&collapse(&sf.text()));
    if found.is_none() {
        c.err(
            &sp,
            sf,
            format!("{:?} is not an xs:boolean", sf.text().trim()),
        );
    }
    for n in &g[1] {
        v1::node(c, *n, &format!("{path}/Node"));
    }
    Some(IncidentSource {
        found: found?,
        nodes: g[1].iter().map(|n| XmlElement::from_element(*n)).collect(),
        restriction,
    })
}
