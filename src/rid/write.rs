//! Writing a [`Rid`] as RFC 6545 XML: an XML declaration and UTF-8 (§5.5), the `iodef-rid:` and
//! `iodef:` prefixes of the RFC's examples, RID classes indented, and what RID carries opaquely
//! (`Node`, `ExtensionType` content) written as it was read.

use super::model::*;
use super::xml::{escape_attr, escape_text, Writer, XmlElement, XmlNode};

const BINDINGS: [(Option<&str>, &str); 3] = [
    (Some("iodef-rid"), NS_RID),
    (Some("iodef"), NS_IODEF_V1),
    (Some("xsi"), NS_XSI),
];

struct Out {
    s: String,
    /// Whether the root declared `xmlns:xsi` (only when it has `xsi:` attributes of its own).
    xsi: bool,
}

impl Out {
    fn indent(&mut self, depth: usize) {
        self.s.push('\n');
        for _ in 0..depth {
            self.s.push_str("  ");
        }
    }

    fn attr(&mut self, name: &str, value: &str) {
        self.s.push(' ');
        self.s.push_str(name);
        self.s.push_str("=\"");
        escape_attr(value, &mut self.s);
        self.s.push('"');
    }

    fn coded(&mut self, name: &str, value: &str, ext: &Option<String>) {
        self.attr(name, value);
        if let Some(e) = ext {
            self.attr(&format!("ext-{name}"), e);
        }
    }

    fn restriction(&mut self, r: &Option<Restriction>) {
        if let Some(r) = r {
            self.attr("restriction", r.as_str());
        }
    }

    /// An opaque element through the namespace-aware writer, inside the root's bindings.
    fn element(&mut self, el: &XmlElement) {
        let n = if self.xsi { 3 } else { 2 };
        let mut w = Writer::within(std::mem::take(&mut self.s), &BINDINGS[..n]);
        w.element(el);
        self.s = w.out;
    }

    fn content(&mut self, content: &[XmlNode]) {
        for n in content {
            match n {
                XmlNode::Element(e) => self.element(e),
                XmlNode::Text(t) => escape_text(t, &mut self.s),
            }
        }
    }

    /// An ExtensionType element (`XMLDocument`, `Signature`).
    fn extension(&mut self, name: &str, x: &Extension) {
        self.s.push_str("<iodef-rid:");
        self.s.push_str(name);
        for a in &x.attrs {
            if a.ns.is_empty() {
                self.attr(&a.name, &a.value);
            }
        }
        if x.content.is_empty() {
            self.s.push_str("/>");
            return;
        }
        self.s.push('>');
        self.content(&x.content);
        self.s.push_str("</iodef-rid:");
        self.s.push_str(name);
        self.s.push('>');
    }
}

impl Rid {
    /// The message as RFC 6545 XML text (with the XML declaration).
    pub fn to_xml(&self) -> String {
        let mut o = Out {
            s: String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<iodef-rid:RID"),
            xsi: !self.xsi.is_empty(),
        };
        o.attr("lang", &self.lang);
        o.attr("xmlns:iodef-rid", NS_RID);
        o.attr("xmlns:iodef", NS_IODEF_V1);
        if !self.xsi.is_empty() {
            o.attr("xmlns:xsi", NS_XSI);
            for a in &self.xsi {
                o.attr(&format!("xsi:{}", a.name), &a.value);
            }
        }
        o.s.push('>');
        if let Some(p) = &self.policy {
            write_policy(&mut o, p);
        }
        if let Some(s) = &self.status {
            o.indent(1);
            o.s.push_str("<iodef-rid:RequestStatus");
            o.coded(
                "AuthorizationStatus",
                s.status.value.as_str(),
                &s.status.ext,
            );
            if let Some(j) = &s.justification {
                o.coded("Justification", j.value.as_str(), &j.ext);
            }
            o.restriction(&s.restriction);
            o.s.push_str("/>");
        }
        if let Some(src) = &self.source {
            o.indent(1);
            o.s.push_str("<iodef-rid:IncidentSource");
            o.restriction(&src.restriction);
            o.s.push('>');
            o.indent(2);
            o.s.push_str("<iodef-rid:SourceFound>");
            o.s.push_str(if src.found { "true" } else { "false" });
            o.s.push_str("</iodef-rid:SourceFound>");
            for n in &src.nodes {
                o.indent(2);
                o.element(n);
            }
            o.indent(1);
            o.s.push_str("</iodef-rid:IncidentSource>");
        }
        o.s.push_str("\n</iodef-rid:RID>\n");
        o.s
    }
}

fn write_policy(o: &mut Out, p: &RidPolicy) {
    o.indent(1);
    o.s.push_str("<iodef-rid:RIDPolicy");
    o.coded("MsgType", p.msg_type.value.as_str(), &p.msg_type.ext);
    o.coded(
        "MsgDestination",
        p.destination.value.as_str(),
        &p.destination.ext,
    );
    o.restriction(&p.restriction);
    o.s.push('>');
    for r in &p.regions {
        o.indent(2);
        o.s.push_str("<iodef-rid:PolicyRegion");
        o.coded("region", r.value.as_str(), &r.ext);
        o.s.push_str("/>");
    }
    o.indent(2);
    o.element(&p.node);
    for t in &p.traffic {
        o.indent(2);
        o.s.push_str("<iodef-rid:TrafficType");
        o.coded("type", t.value.as_str(), &t.ext);
        o.s.push_str("/>");
    }
    if let Some(id) = &p.incident_id {
        o.indent(2);
        o.s.push_str("<iodef:IncidentID");
        o.attr("name", &id.name);
        if let Some(i) = &id.instance {
            o.attr("instance", i);
        }
        o.restriction(&id.restriction);
        o.s.push('>');
        escape_text(&id.value, &mut o.s);
        o.s.push_str("</iodef:IncidentID>");
    }
    if let Some(rs) = &p.report_schema {
        o.indent(2);
        o.s.push_str("<iodef-rid:ReportSchema");
        if let Some(v) = &rs.version {
            o.coded("Version", v.value.as_str(), &v.ext);
        }
        if let Some(v) = &rs.schema_id {
            o.coded("XMLSchemaID", v.value.as_str(), &v.ext);
        }
        o.s.push('>');
        o.indent(3);
        o.extension("XMLDocument", &rs.document);
        if let Some(u) = &rs.url {
            o.indent(3);
            o.s.push_str("<iodef-rid:URL>");
            escape_text(u, &mut o.s);
            o.s.push_str("</iodef-rid:URL>");
        }
        for s in &rs.signatures {
            o.indent(3);
            o.extension("Signature", s);
        }
        o.indent(2);
        o.s.push_str("</iodef-rid:ReportSchema>");
    }
    o.indent(1);
    o.s.push_str("</iodef-rid:RIDPolicy>");
}
