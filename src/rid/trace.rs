//! Trace semantics gridlink applies (RFC 6545 §3.1, §5.1): the path a TraceRequest has taken, read
//! from its enclosed IODEF document (every `EventData/Flow/System[@category="intermediate"]`'s
//! `Node/Address`, as the §7.1.3 example records the RID systems a trace passed), so that a request
//! whose path already lists this system is stopped ([`in_path`]); and the §5.1 check that a
//! `Node/NodeName` of a `MsgDestination="RIDSystem"` policy resolves to its `Node/Address`
//! ([`check_node_name`]).

use std::net::IpAddr;

use super::model::{MsgDestination, Rid};
use super::xml::XmlElement;

/// The IODEF namespaces whose `System` elements describe the path.
const IODEF_NS: [&str; 2] = [
    "urn:ietf:params:xml:ns:iodef-1.0",
    "urn:ietf:params:xml:ns:iodef-2.0",
];

fn walk(e: &XmlElement, out: &mut Vec<String>) {
    if e.name == "System" && IODEF_NS.contains(&e.ns.as_str()) {
        if e.attr("category") == Some("intermediate") {
            for node in e.elements().filter(|n| n.name == "Node") {
                for a in node.elements().filter(|a| a.name == "Address") {
                    out.push(a.text().trim().to_string());
                }
            }
        }
        return;
    }
    for c in e.elements() {
        walk(c, out);
    }
}

/// The addresses of the RID systems a message's enclosed documents record as intermediate
/// systems (its trace path), trimmed, in document order.
pub fn path(msg: &Rid) -> Vec<String> {
    let Some(rs) = msg.policy.as_ref().and_then(|p| p.report_schema.as_ref()) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for doc in rs.document.elements() {
        walk(doc, &mut out);
    }
    out
}

fn same_address(a: &str, b: &str) -> bool {
    match (a.parse::<IpAddr>(), b.parse::<IpAddr>()) {
        (Ok(x), Ok(y)) => x == y,
        _ => a.eq_ignore_ascii_case(b),
    }
}

/// The first of `own` (this system's addresses) the message's trace path already lists: a trace
/// loop (RFC 6545 §3.1: stop and alert).
pub fn in_path<'a>(msg: &Rid, own: &'a [String]) -> Option<&'a str> {
    let path = path(msg);
    own.iter()
        .find(|o| path.iter().any(|p| same_address(p, o)))
        .map(String::as_str)
}

/// RFC 6545 §5.1: with `MsgDestination="RIDSystem"`, a `Node/NodeName` must resolve to the
/// `Node/Address` (the RID system the message goes to). `Ok` when there is nothing to check or
/// the name resolves to the address; the reason otherwise.
pub async fn check_node_name(msg: &Rid) -> Result<(), String> {
    let Some(p) = msg.policy.as_ref() else {
        return Ok(());
    };
    if p.destination.value != MsgDestination::RidSystem {
        return Ok(());
    }
    let names: Vec<String> = p
        .node
        .elements()
        .filter(|e| e.name == "NodeName")
        .map(|e| e.text().trim().to_string())
        .collect();
    let addresses: Vec<IpAddr> = p
        .node
        .elements()
        .filter(|e| e.name == "Address")
        .filter_map(|e| e.text().trim().parse().ok())
        .collect();
    for name in &names {
        let resolved: Vec<IpAddr> = match tokio::net::lookup_host((name.as_str(), 0)).await {
            Ok(it) => it.map(|a| a.ip()).collect(),
            Err(e) => {
                return Err(format!(
                    "RIDPolicy/Node/NodeName {name:?} does not resolve ({e}), so it cannot be \
                     checked against Node/Address (RFC 6545 §5.1)"
                ))
            }
        };
        if !addresses.iter().any(|a| resolved.contains(a)) {
            let shown: Vec<String> = addresses.iter().map(|a| a.to_string()).collect();
            return Err(format!(
                "RIDPolicy/Node/NodeName {name:?} resolves to {resolved:?}, not to Node/Address \
                 {} (RFC 6545 §5.1)",
                shown.join(", ")
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trace_request(node: &str, path: &[&str]) -> Rid {
        let systems: String = path
            .iter()
            .map(|a| {
                format!(
                    "<EventData><Flow><System category=\"intermediate\"><Node>\
                     <Address category=\"ipv4-addr\"> {a} </Address></Node></System></Flow></EventData>"
                )
            })
            .collect();
        let text = format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
             <RID lang=\"en\" xmlns=\"urn:ietf:params:xml:ns:iodef-rid-2.0\" xmlns:iodef=\"urn:ietf:params:xml:ns:iodef-1.0\">\
             <RIDPolicy MsgType=\"TraceRequest\" MsgDestination=\"RIDSystem\"><PolicyRegion region=\"PeerToPeer\"/>\
             <iodef:Node>{node}</iodef:Node><TrafficType type=\"Network\"/>\
             <iodef:IncidentID name=\"csirt.example.com\">1</iodef:IncidentID>\
             <ReportSchema Version=\"ext-value\" ext-Version=\"2.0\" XMLSchemaID=\"ext-value\" ext-XMLSchemaID=\"urn:ietf:params:xml:ns:iodef-2.0\">\
             <XMLDocument dtype=\"xml\" meaning=\"xml\"><IODEF-Document version=\"2.00\" xmlns=\"urn:ietf:params:xml:ns:iodef-2.0\">\
             <Incident purpose=\"traceback\"><IncidentID name=\"csirt.example.com\">1</IncidentID>\
             <GenerationTime>2026-01-01T00:00:00Z</GenerationTime>\
             <Contact type=\"organization\" role=\"creator\"><Email><EmailTo>a@csirt.example.com</EmailTo></Email></Contact>\
             {systems}</Incident></IODEF-Document></XMLDocument></ReportSchema></RIDPolicy></RID>"
        );
        super::super::parse(text.as_bytes()).unwrap()
    }

    /// Checklist 24: the path is read from the intermediate systems; this system in it is a loop
    /// (addresses compared as addresses), elsewhere or absent it is not.
    #[test]
    fn checklist_24_trace_loop_detected_from_the_path() {
        let node = "<iodef:Address category=\"ipv4-addr\">192.0.2.3</iodef:Address>";
        let m = trace_request(node, &["192.0.2.35", "192.0.2.3"]);
        assert_eq!(path(&m), vec!["192.0.2.35", "192.0.2.3"]);
        let own = vec!["192.0.2.3".to_string()];
        assert_eq!(in_path(&m, &own), Some("192.0.2.3"));
        assert_eq!(in_path(&m, &["192.0.2.4".to_string()]), None);
        assert_eq!(in_path(&trace_request(node, &[]), &own), None);
        let v6 = trace_request(node, &["2001:db8::1"]);
        assert!(in_path(&v6, &["2001:0db8:0:0::1".to_string()]).is_some());
    }

    /// Checklist 11: a RIDSystem Node's NodeName must resolve to its Address; no NodeName, or a
    /// SourceOfIncident Node, is not checked.
    #[tokio::test]
    async fn checklist_11_node_name_resolves_to_the_address() {
        let with = |name: &str, addr: &str| {
            trace_request(
                &format!(
                    "<iodef:NodeName>{name}</iodef:NodeName>\
                     <iodef:Address category=\"ipv4-addr\">{addr}</iodef:Address>"
                ),
                &[],
            )
        };
        assert_eq!(
            check_node_name(&with("localhost", "127.0.0.1")).await,
            Ok(())
        );
        let e = check_node_name(&with("localhost", "192.0.2.9"))
            .await
            .unwrap_err();
        assert!(e.contains("not to Node/Address 192.0.2.9"), "{e}");
        let e = check_node_name(&with("no-such-host.invalid", "192.0.2.9"))
            .await
            .unwrap_err();
        assert!(e.contains("does not resolve"), "{e}");
        let plain = trace_request(
            "<iodef:Address category=\"ipv4-addr\">192.0.2.9</iodef:Address>",
            &[],
        );
        assert_eq!(check_node_name(&plain).await, Ok(()));
    }
}
