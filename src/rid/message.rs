//! Making RID messages: a Report around an IODEF document, a Query by IncidentID, the
//! Acknowledgement that answers a message (RFC 6545 §6), and the message a Result wraps.

use super::model::*;
use super::xml::XmlElement;
use crate::iodef;

/// An `iodef:Node` holding one address (`category` `ipv4-addr` or `ipv6-addr`, else a NodeName).
pub fn node(address: &str) -> XmlElement {
    let n = XmlElement::new(NS_IODEF_V1, "Node", Some("iodef"));
    match address.parse::<std::net::IpAddr>() {
        Ok(ip) => n.with_child(
            XmlElement::new(NS_IODEF_V1, "Address", Some("iodef"))
                .with_attr(
                    "category",
                    if ip.is_ipv4() {
                        "ipv4-addr"
                    } else {
                        "ipv6-addr"
                    },
                )
                .with_text(address),
        ),
        Err(_) => {
            n.with_child(XmlElement::new(NS_IODEF_V1, "NodeName", Some("iodef")).with_text(address))
        }
    }
}

/// The IncidentID (`name`, text) of an IODEF document's first Incident.
pub fn incident_id_of(doc: &XmlElement) -> Option<IncidentId> {
    let inc = doc.elements().find(|e| e.name == "Incident")?;
    let id = inc.elements().find(|e| e.name == "IncidentID")?;
    Some(IncidentId {
        name: id.attr("name")?.to_string(),
        instance: id.attr("instance").map(String::from),
        restriction: None,
        value: id.text().trim().to_string(),
    })
}

fn policy(msg_type: MsgType, node: XmlElement, incident_id: Option<IncidentId>) -> RidPolicy {
    RidPolicy {
        msg_type: Coded::of(msg_type),
        destination: Coded::of(MsgDestination::RidSystem),
        restriction: None,
        regions: vec![Coded::of(Region::PeerToPeer)],
        node,
        traffic: vec![Coded::of(Traffic::Attack)],
        incident_id,
        report_schema: None,
    }
}

fn rid(policy: RidPolicy) -> Rid {
    Rid {
        lang: "en".into(),
        xsi: Vec::new(),
        policy: Some(policy),
        status: None,
        source: None,
    }
}

/// `ReportSchema` around an IODEF v2 document (attributes as `rid.md` §8 suggests for v2).
pub fn report_schema_v2(doc: &iodef::Document) -> Option<ReportSchema> {
    let x = XmlElement::from_iodef(doc)?;
    Some(ReportSchema {
        version: Some(Coded {
            value: SchemaVersion::ExtValue,
            ext: Some("2.0".into()),
        }),
        schema_id: Some(Coded {
            value: SchemaId::ExtValue,
            ext: Some(NS_IODEF_V2.into()),
        }),
        document: Extension::xml(x),
        url: None,
        signatures: Vec::new(),
    })
}

/// A message of `msg_type` (Report, TraceRequest, InvestigationRequest, Result) enclosing an
/// IODEF v2 document, sent to the RID system at `next_hop` (an IP address or name).
pub fn enclosing(msg_type: MsgType, doc: &iodef::Document, next_hop: &str) -> Option<Rid> {
    let rs = report_schema_v2(doc)?;
    let id = incident_id_of(&XmlElement::from_iodef(doc)?);
    let mut p = policy(msg_type, node(next_hop), id);
    p.report_schema = Some(rs);
    Some(rid(p))
}

/// A Query by IncidentID (`name#number` is split at nothing: `name` is the issuing CSIRT).
pub fn query(name: &str, incident: &str, next_hop: &str) -> Rid {
    rid(policy(
        MsgType::Query,
        node(next_hop),
        Some(IncidentId {
            name: name.into(),
            instance: None,
            restriction: None,
            value: incident.into(),
        }),
    ))
}

/// The Acknowledgement answering `to` (its IncidentID, regions and traffic types kept).
pub fn acknowledgement(
    to: &Rid,
    status: AuthorizationStatus,
    why: Option<Justification>,
    me: &str,
) -> Rid {
    let mut p = policy(MsgType::Acknowledgement, node(me), None);
    if let Some(tp) = &to.policy {
        p.regions = tp.regions.clone();
        p.traffic = tp.traffic.clone();
        p.incident_id = tp.incident_id.clone();
    }
    if p.incident_id.is_none() {
        p.incident_id = Some(IncidentId {
            name: "gridlink".into(),
            instance: None,
            restriction: None,
            value: "unknown".into(),
        });
    }
    let mut r = rid(p);
    r.status = Some(RequestStatus {
        status: Coded::of(status),
        justification: why.map(Coded::of),
        restriction: None,
    });
    r
}

/// A Result answering a Request: the operator's IODEF document and whether the source was found.
pub fn result(doc: &iodef::Document, found: bool, sources: &[&str], me: &str) -> Option<Rid> {
    let mut r = enclosing(MsgType::Result, doc, me)?;
    r.source = Some(IncidentSource {
        found,
        nodes: sources.iter().map(|s| node(s)).collect(),
        restriction: None,
    });
    Some(r)
}

/// A Report answering a Query with the stored IODEF v2 document.
pub fn report_for(query: &Rid, doc: &iodef::Document, me: &str) -> Option<Rid> {
    let mut r = enclosing(MsgType::Report, doc, me)?;
    if let (Some(p), Some(q)) = (r.policy.as_mut(), query.policy.as_ref()) {
        p.regions = q.regions.clone();
        p.traffic = q.traffic.clone();
        if p.incident_id.is_none() {
            p.incident_id = q.incident_id.clone();
        }
    }
    Some(r)
}
