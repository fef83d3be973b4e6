//! Validation beyond the schema: the enclosed document (IODEF v2 strictly, IODEF v1 with the checks
//! gridlink has for v1, anything else skipped as §5.6 says) and the RFC 6545 text rules the schema
//! cannot express (§5 classes per message type, §5.1 Node by MsgDestination, §5.1 TrafficType, §6
//! what each message must carry, §11 NodeName, `ext-*` attributes). [`check`] runs everything on bytes.

use super::error::{Problem, RidError, Rule, Severity};
use super::model::*;
use super::parse::{parse, text_of};
use super::xml::XmlElement;
use crate::iodef::{self, IodefError, RuleSource};

/// A document found in `ReportSchema/XMLDocument`.
#[derive(Debug)]
pub enum Enclosed {
    /// An IODEF v2 (RFC 7970) document, parsed.
    V2(Box<iodef::Document>),
    /// An IODEF v1 (RFC 5070) document, kept as XML: gridlink checks its required core only.
    V1(XmlElement),
    /// An element in a namespace gridlink does not handle (skipped, RFC 6545 §5.6).
    Foreign(XmlElement),
}

impl ReportSchema {
    /// The documents in `XMLDocument`, each classified; v2 documents that do not parse are errors.
    pub fn enclosed(&self) -> Vec<Result<Enclosed, IodefError>> {
        self.document
            .elements()
            .map(|e| {
                if e.name == "IODEF-Document" && e.ns == NS_IODEF_V2 {
                    iodef::parse(e.to_xml().as_bytes()).map(|d| Enclosed::V2(Box::new(d)))
                } else if e.name == "IODEF-Document" && e.ns == NS_IODEF_V1 {
                    Ok(Enclosed::V1(e.clone()))
                } else {
                    Ok(Enclosed::Foreign(e.clone()))
                }
            })
            .collect()
    }
}

/// Parses, then validates: every finding, the schema's first (an unreadable message is an error).
pub fn check(bytes: &[u8]) -> Result<(Rid, Vec<Problem>), RidError> {
    let text = text_of(bytes)?;
    let rid = parse(bytes)?;
    let mut out = Vec::new();
    if !text.trim_start().starts_with("<?xml") {
        out.push(Problem::rfc(
            "§5.5",
            Severity::Warning,
            "/",
            1,
            "no XML declaration (every RID document starts with one)",
        ));
    }
    out.extend(validate(&rid));
    Ok((rid, out))
}

/// Descendants (and `el`) with local name `name`.
fn has_descendant(el: &XmlElement, name: &str) -> bool {
    el.name == name || el.elements().any(|c| has_descendant(c, name))
}

fn rfc(out: &mut Vec<Problem>, sec: &'static str, sev: Severity, path: &str, msg: String) {
    out.push(Problem::rfc(sec, sev, path, 0, msg));
}

/// `ext-X` only with `X="ext-value"`, and `X="ext-value"` only with `ext-X`.
fn ext_rule<T: PartialEq + Copy + std::fmt::Display>(
    out: &mut Vec<Problem>,
    path: &str,
    name: &str,
    c: &Coded<T>,
    ext_value: T,
) {
    match (c.value == ext_value, c.ext.is_some()) {
        (true, false) => rfc(
            out,
            "§5",
            Severity::Error,
            path,
            format!("{name}=\"ext-value\" without ext-{name}"),
        ),
        (false, true) => rfc(
            out,
            "§5",
            Severity::Error,
            path,
            format!("ext-{name} set but {name}={:?}", c.value.to_string()),
        ),
        _ => {}
    }
}

/// The RFC 6545 text rules and the enclosed documents.
pub fn validate(rid: &Rid) -> Vec<Problem> {
    let mut out = Vec::new();
    let Some(p) = &rid.policy else {
        rfc(
            &mut out,
            "§5",
            Severity::Error,
            "/RID",
            "no RIDPolicy (every message type uses it)".into(),
        );
        return out;
    };
    let pp = "/RID/RIDPolicy";
    let mt = p.msg_type.value;
    ext_rule(&mut out, pp, "MsgType", &p.msg_type, MsgType::ExtValue);
    ext_rule(
        &mut out,
        pp,
        "MsgDestination",
        &p.destination,
        MsgDestination::ExtValue,
    );
    for r in &p.regions {
        ext_rule(
            &mut out,
            &format!("{pp}/PolicyRegion"),
            "region",
            r,
            Region::ExtValue,
        );
    }
    for t in &p.traffic {
        ext_rule(
            &mut out,
            &format!("{pp}/TrafficType"),
            "type",
            t,
            Traffic::ExtValue,
        );
    }
    if let Some(s) = &rid.status {
        ext_rule(
            &mut out,
            "/RID/RequestStatus",
            "AuthorizationStatus",
            &s.status,
            AuthorizationStatus::ExtValue,
        );
        if let Some(j) = &s.justification {
            ext_rule(
                &mut out,
                "/RID/RequestStatus",
                "Justification",
                j,
                Justification::ExtValue,
            );
            if s.status.value == AuthorizationStatus::Approved {
                rfc(
                    &mut out,
                    "§5.2",
                    Severity::Warning,
                    "/RID/RequestStatus",
                    "Justification explains Denied or Pending, not Approved".into(),
                );
            }
        }
    }
    if let Some(rs) = &p.report_schema {
        let rp = format!("{pp}/ReportSchema");
        if let Some(v) = &rs.version {
            ext_rule(&mut out, &rp, "Version", v, SchemaVersion::ExtValue);
        }
        if let Some(v) = &rs.schema_id {
            ext_rule(&mut out, &rp, "XMLSchemaID", v, SchemaId::ExtValue);
        }
    }
    // §5: RequestStatus only in (and always in) Acknowledgements; IncidentSource likewise for Results.
    let is = |m: MsgType| mt == m;
    match (&rid.status, is(MsgType::Acknowledgement)) {
        (Some(_), false) => rfc(
            &mut out,
            "§5",
            Severity::Error,
            "/RID/RequestStatus",
            format!("RequestStatus belongs to Acknowledgements only, not {mt}"),
        ),
        (None, true) => rfc(
            &mut out,
            "§6.2",
            Severity::Error,
            "/RID",
            "an Acknowledgement needs RequestStatus".into(),
        ),
        _ => {}
    }
    match (&rid.source, is(MsgType::Result)) {
        (Some(_), false) => rfc(
            &mut out,
            "§5",
            Severity::Error,
            "/RID/IncidentSource",
            format!("IncidentSource belongs to Results only, not {mt}"),
        ),
        (None, true) => rfc(
            &mut out,
            "§6.3",
            Severity::Error,
            "/RID",
            "a Result needs IncidentSource".into(),
        ),
        _ => {}
    }
    // §6.1–6.5: IncidentID is required information in every message (a Query by type excepted).
    if p.incident_id.is_none() && !(is(MsgType::Query) && p.report_schema.is_some()) {
        rfc(
            &mut out,
            "§6",
            Severity::Error,
            pp,
            format!("a {mt} must carry an IncidentID"),
        );
    }
    if p.incident_id.as_ref().is_some_and(|i| i.id().is_empty()) {
        rfc(
            &mut out,
            "§6",
            Severity::Error,
            &format!("{pp}/IncidentID"),
            "empty IncidentID".into(),
        );
    }
    // §6: which messages carry an IODEF document.
    let requests =
        is(MsgType::TraceRequest) || is(MsgType::InvestigationRequest) || is(MsgType::Result);
    if requests && p.report_schema.is_none() {
        rfc(
            &mut out,
            "§6",
            Severity::Error,
            pp,
            format!("a {mt} must enclose an IODEF document (ReportSchema)"),
        );
    }
    // A ReportSchema that only carries signatures (src/rid/sign) encloses no document.
    let signature_only = p
        .report_schema
        .as_ref()
        .is_some_and(|rs| !rs.signatures.is_empty() && rs.document.elements().next().is_none());
    if is(MsgType::Acknowledgement) && p.report_schema.is_some() && !signature_only {
        rfc(
            &mut out,
            "§6.2",
            Severity::Warning,
            pp,
            "an Acknowledgement carries no IODEF document".into(),
        );
    }
    node_rules(&mut out, p, &format!("{pp}/Node"));
    if let Some(src) = &rid.source {
        for n in &src.nodes {
            if !n.elements().any(|e| e.name == "Address") {
                rfc(
                    &mut out,
                    "§5.3",
                    Severity::Error,
                    "/RID/IncidentSource/Node",
                    "IncidentSource Node must hold the source's IP in Address".into(),
                );
            }
            idn_rule(&mut out, n, "/RID/IncidentSource/Node");
        }
    }
    let docs = enclosed_rules(&mut out, p);
    traffic_rules(&mut out, p, &docs);
    out
}

fn node_rules(out: &mut Vec<Problem>, p: &RidPolicy, path: &str) {
    let has_addr = p.node.elements().any(|e| e.name == "Address");
    let has_name = p.node.elements().any(|e| e.name == "NodeName");
    match p.destination.value {
        MsgDestination::RidSystem | MsgDestination::SourceOfIncident if !has_addr => rfc(
            out,
            "§5.1",
            Severity::Error,
            path,
            format!("MsgDestination={} needs Node/Address", p.destination.value),
        ),
        MsgDestination::SourceOfIncident if has_name => rfc(
            out,
            "§5.1",
            Severity::Warning,
            path,
            "MsgDestination=SourceOfIncident: NodeName is not used".into(),
        ),
        MsgDestination::ExtValue if !has_addr => rfc(
            out,
            "§5.1",
            Severity::Warning,
            path,
            "an ext-value MsgDestination should still name the Node by Address".into(),
        ),
        _ => {}
    }
    idn_rule(out, &p.node, path);
}

/// §11: NodeName holds U-labels, never A-labels.
fn idn_rule(out: &mut Vec<Problem>, node: &XmlElement, path: &str) {
    for n in node.elements().filter(|e| e.name == "NodeName") {
        let t = n.text();
        if t.split('.')
            .any(|l| l.trim().to_ascii_lowercase().starts_with("xn--"))
        {
            rfc(
                out,
                "§11",
                Severity::Error,
                &format!("{path}/NodeName"),
                format!(
                    "{:?} holds an A-label: send IDNs as UTF-8 U-labels",
                    t.trim()
                ),
            );
        }
    }
}

/// Checks the enclosed documents; returns the IODEF ones (v1 or v2) as XML trees for the rules after.
fn enclosed_rules(out: &mut Vec<Problem>, p: &RidPolicy) -> Vec<XmlElement> {
    let Some(rs) = &p.report_schema else {
        return Vec::new();
    };
    let path = "/RID/RIDPolicy/ReportSchema/XMLDocument";
    let mut docs = Vec::new();
    if rs
        .document
        .attrs
        .iter()
        .any(|a| a.name == "dtype" && a.value.trim() != "xml")
    {
        rfc(
            out,
            "§5.1.1",
            Severity::Warning,
            path,
            "an enclosed XML document is sent with dtype=\"xml\"".into(),
        );
    }
    let enclosed = rs.enclosed();
    // Signatures alone (src/rid/sign) are enough for the messages that need no IODEF document.
    let needs_document = matches!(
        p.msg_type.value,
        MsgType::TraceRequest | MsgType::InvestigationRequest | MsgType::Result
    );
    if enclosed.is_empty() && (rs.signatures.is_empty() || needs_document) {
        rfc(
            out,
            "§5.1.1",
            Severity::Error,
            path,
            "XMLDocument holds no document".into(),
        );
    }
    for e in enclosed {
        match e {
            Err(err) => out.push(Problem {
                path: format!("{path}/IODEF-Document"),
                line: None,
                message: format!("the enclosed IODEF v2 document cannot be read: {err}"),
                rule: Rule::Enclosed,
                severity: Severity::Error,
            }),
            Ok(Enclosed::V2(d)) => {
                for q in d.validate() {
                    out.push(Problem {
                        path: format!("{path}{}", q.path),
                        line: None,
                        message: q.message,
                        rule: if q.source == RuleSource::Schema {
                            Rule::Enclosed
                        } else {
                            Rule::Rfc("§5.6, RFC 7970 text")
                        },
                        severity: Severity::Error,
                    });
                }
                if rs
                    .schema_id
                    .as_ref()
                    .is_some_and(|s| s.value == SchemaId::IodefV1)
                {
                    rfc(out, "§5.1.1", Severity::Warning, path, "XMLSchemaID says IODEF 1.0 but the document is IODEF 2.0 (send XMLSchemaID=\"ext-value\" ext-XMLSchemaID=\"urn:ietf:params:xml:ns:iodef-2.0\")".into());
                }
                match XmlElement::from_iodef(&d) {
                    Some(x) => docs.push(x),
                    None => docs.push(XmlElement::new(NS_IODEF_V2, "IODEF-Document", None)),
                }
            }
            Ok(Enclosed::V1(x)) => {
                v1_rules(out, &x, path);
                docs.push(x);
            }
            // XML Encryption (§9.1, `xenc/`): the endpoint decrypts it and checks it again.
            Ok(Enclosed::Foreign(x))
                if x.ns == "http://www.w3.org/2001/04/xmlenc#" && x.name == "EncryptedData" =>
            {
                rfc(
                    out,
                    "§9.1",
                    Severity::Warning,
                    path,
                    "the enclosed document is encrypted: checked once decrypted".into(),
                )
            }
            Ok(Enclosed::Foreign(x)) => rfc(
                out,
                "§5.6",
                Severity::Warning,
                path,
                format!(
                    "enclosed {{{}}}{} is in a namespace gridlink does not handle: skipped",
                    x.ns, x.name
                ),
            ),
        }
    }
    docs
}

/// The enclosed IODEF v1 document: the checks of `iodef`'s v1 recognition (RFC 5070's required core).
fn v1_rules(out: &mut Vec<Problem>, x: &XmlElement, path: &str) {
    let Err(IodefError::V1 { basic_problems, .. }) = iodef::parse(x.to_xml().as_bytes()) else {
        return;
    };
    for m in basic_problems {
        // The v1 XSD makes version optional (fixed "1.00"); RFC 5070's text calls it required.
        let sev = if m.starts_with("version") {
            Severity::Warning
        } else {
            Severity::Error
        };
        out.push(Problem {
            path: format!("{path}/IODEF-Document"),
            line: (x.line > 0).then_some(x.line),
            message: format!("IODEF v1: {m}"),
            rule: if sev == Severity::Warning {
                Rule::Rfc("§7, RFC 5070 §3.1")
            } else {
                Rule::Enclosed
            },
            severity: sev,
        });
    }
}

/// §5.1 TrafficType: Attack described by IODEF Method and Impact; Other explained by Expectation or History.
fn traffic_rules(out: &mut Vec<Problem>, p: &RidPolicy, docs: &[XmlElement]) {
    let path = "/RID/RIDPolicy/TrafficType";
    let any = |names: &[&str]| {
        docs.iter()
            .any(|d| names.iter().any(|n| has_descendant(d, n)))
    };
    let described = any(&["Method"]) && any(&["Impact", "SystemImpact"]);
    let explained = any(&["Expectation", "History"]);
    for t in &p.traffic {
        match t.value {
            Traffic::Attack if !docs.is_empty() && !described => rfc(
                out,
                "§5.1",
                Severity::Warning,
                path,
                "TrafficType Attack: the IODEF document should describe the attack with Method and Impact".into(),
            ),
            Traffic::Other if !explained => rfc(
                out,
                "§5.1",
                Severity::Error,
                path,
                "TrafficType Other must be explained in IODEF Expectation or History".into(),
            ),
            _ => {}
        }
    }
}

impl XmlElement {
    /// An owned tree of an IODEF v2 document.
    pub fn from_iodef(d: &iodef::Document) -> Option<XmlElement> {
        let tree = iodef::parse_xml(&d.to_xml()).ok()?;
        Some(XmlElement::from_element(tree.root()))
    }
}
