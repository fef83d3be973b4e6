//! Typed views on the parts of a document that gridlink reads (Incident, its ID, purpose, times), the
//! analyst summary, the IODEF v1 basic check and the canonical form used to compare documents.

use std::fmt;

use super::arena::Builder;
use super::arena::{Element, Node};
use super::schema::{self, Content, Particle, St, NS_XSI};
use super::{Document, IncidentId};

/// A view of one `Incident` element.
#[derive(Clone, Copy, Debug)]
pub struct Incident<'a> {
    el: Element<'a>,
}

impl<'a> Incident<'a> {
    pub(crate) fn new(el: Element<'a>) -> Self {
        Incident { el }
    }
    /// The underlying element.
    pub fn element(&self) -> Element<'a> {
        self.el
    }
    /// `purpose` (with `ext-purpose` substituted when it is `ext-value`).
    pub fn purpose(&self) -> Option<&'a str> {
        ext(self.el, "purpose")
    }
    /// `status` (with `ext-status` substituted when it is `ext-value`).
    pub fn status(&self) -> Option<&'a str> {
        ext(self.el, "status")
    }
    /// Effective `restriction` (RFC 7970 §3.3.1: "private" when the Incident sets none).
    pub fn restriction(&self) -> &'a str {
        ext(self.el, "restriction").unwrap_or("private")
    }
    /// The `IncidentID`.
    pub fn incident_id(&self) -> Option<IncidentId> {
        self.el.child("IncidentID").map(|i| IncidentId {
            name: i.attr("name").unwrap_or_default().to_string(),
            id: i.text().trim().to_string(),
            instance: i.attr("instance").map(str::to_string),
        })
    }
    /// Text of a DATETIME child (`GenerationTime`, `ReportTime`, …).
    pub fn time(&self, name: &str) -> Option<String> {
        self.el.child(name).map(|t| t.text().trim().to_string())
    }
    /// `GenerationTime` parsed.
    pub fn generation_time(&self) -> Option<chrono::DateTime<chrono::FixedOffset>> {
        self.time("GenerationTime")
            .and_then(|t| chrono::DateTime::parse_from_rfc3339(&t).ok())
    }
    /// Descriptions, in order.
    pub fn descriptions(&self) -> Vec<String> {
        self.el
            .children_named("Description")
            .map(|d| d.text().trim().to_string())
            .collect()
    }
}

fn ext<'a>(el: Element<'a>, attr: &str) -> Option<&'a str> {
    match el.attr(attr) {
        Some("ext-value") => el.attr(&format!("ext-{attr}")).or(Some("ext-value")),
        other => other,
    }
}

fn count(el: Element<'_>, name: &str) -> usize {
    el.elements()
        .map(|k| usize::from(k.name() == name && k.ns() == super::NS_IODEF) + count(k, name))
        .sum()
}

/// The essentials of one Incident.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IncidentSummary {
    /// Its IncidentID.
    pub id: Option<IncidentId>,
    /// `purpose`.
    pub purpose: String,
    /// `status`, if set.
    pub status: Option<String>,
    /// Effective restriction.
    pub restriction: String,
    /// First Description.
    pub description: Option<String>,
    /// `GenerationTime`.
    pub generation_time: Option<String>,
    /// `ReportTime`.
    pub report_time: Option<String>,
    /// `DetectTime`.
    pub detect_time: Option<String>,
    /// `StartTime`.
    pub start_time: Option<String>,
    /// `EndTime`.
    pub end_time: Option<String>,
    /// Number of Indicator elements.
    pub indicators: usize,
    /// Number of EventData elements (nested ones included).
    pub events: usize,
    /// Number of Contact elements (nested ones included).
    pub contacts: usize,
}

/// Summary of a document: one entry per Incident.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Summary {
    /// Per-Incident summaries, in document order.
    pub incidents: Vec<IncidentSummary>,
}

impl Summary {
    pub(crate) fn of(doc: &Document) -> Summary {
        let incidents = doc
            .incidents()
            .map(|i| IncidentSummary {
                id: i.incident_id(),
                purpose: i.purpose().unwrap_or_default().to_string(),
                status: i.status().map(str::to_string),
                restriction: i.restriction().to_string(),
                description: i.descriptions().into_iter().next(),
                generation_time: i.time("GenerationTime"),
                report_time: i.time("ReportTime"),
                detect_time: i.time("DetectTime"),
                start_time: i.time("StartTime"),
                end_time: i.time("EndTime"),
                indicators: count(i.element(), "Indicator"),
                events: count(i.element(), "EventData"),
                contacts: count(i.element(), "Contact"),
            })
            .collect();
        Summary { incidents }
    }

    /// One line for a ROLIE entry title: `name#id (purpose): first description`.
    pub fn title(&self) -> String {
        let Some(first) = self.incidents.first() else {
            return "IODEF document without incidents".into();
        };
        let id = first
            .id
            .as_ref()
            .map(|i| format!("{}#{}", i.name, i.id))
            .unwrap_or_else(|| "?".into());
        let mut t = format!("{id} ({})", first.purpose);
        if let Some(d) = &first.description {
            t.push_str(": ");
            t.push_str(&d.split_whitespace().collect::<Vec<_>>().join(" "));
        }
        if self.incidents.len() > 1 {
            t.push_str(&format!(" (+{} more incidents)", self.incidents.len() - 1));
        }
        t
    }
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (n, i) in self.incidents.iter().enumerate() {
            if n > 0 {
                writeln!(f)?;
            }
            match &i.id {
                Some(id) => write!(f, "incident     {}#{}", id.name, id.id)?,
                None => write!(f, "incident     (no IncidentID)")?,
            }
            if let Some(inst) = i.id.as_ref().and_then(|x| x.instance.as_ref()) {
                write!(f, " instance {inst}")?;
            }
            writeln!(f)?;
            writeln!(
                f,
                "purpose      {}{}",
                i.purpose,
                i.status
                    .as_ref()
                    .map(|s| format!(" (status {s})"))
                    .unwrap_or_default()
            )?;
            writeln!(f, "restriction  {}", i.restriction)?;
            if let Some(d) = &i.description {
                writeln!(
                    f,
                    "description  {}",
                    d.split_whitespace().collect::<Vec<_>>().join(" ")
                )?;
            }
            for (label, t) in [
                ("generated", &i.generation_time),
                ("reported", &i.report_time),
                ("detected", &i.detect_time),
                ("started", &i.start_time),
                ("ended", &i.end_time),
            ] {
                if let Some(t) = t {
                    writeln!(f, "{label:<12} {t}")?;
                }
            }
            writeln!(f, "indicators   {}", i.indicators)?;
            writeln!(f, "events       {}", i.events)?;
            writeln!(f, "contacts     {}", i.contacts)?;
        }
        Ok(())
    }
}

fn norm_value(ty: St, v: &str) -> String {
    match ty {
        St::String => v.to_string(),
        St::Integer | St::Float | St::PositiveFloat => {
            let c = schema::collapse(v);
            match c.parse::<f64>() {
                Ok(f) => format!("{f}"),
                Err(_) => c,
            }
        }
        _ => schema::collapse(v),
    }
}

/// Position of each child declaration in a content model (first appearance).
fn model_order(p: &Particle, out: &mut Vec<usize>) {
    match p {
        Particle::Elem { decl, .. } => {
            if !out.contains(decl) {
                out.push(*decl)
            }
        }
        Particle::Any { .. } => {}
        Particle::Seq { items, .. } | Particle::Choice { items, .. } => {
            items.iter().for_each(|i| model_order(i, out))
        }
    }
}

/// See [`Document::canonical`]: writes the canonical copy of `el` (declared as `di`) to `b`.
pub(crate) fn canonical(el: Element<'_>, di: Option<usize>, b: &mut Builder) {
    b.start(el.ns(), el.name(), None);
    canonical_attrs(el, di, b);
    canonical_content(el, di, b);
    b.end();
}

/// The attributes, `xsi:*` dropped, values normalised by type, sorted by (namespace, name).
fn canonical_attrs(el: Element<'_>, di: Option<usize>, b: &mut Builder) {
    let d = di.map(schema::decl);
    let mut attrs: Vec<_> = el
        .attrs()
        .filter(|a| a.ns != NS_XSI)
        .map(|a| {
            let qn = if a.ns == schema::NS_XML {
                format!("xml:{}", a.name)
            } else {
                a.name.to_string()
            };
            let v = match d.and_then(|d| d.attrs.iter().find(|x| x.name == qn)) {
                Some(ad) => norm_value(ad.ty, a.value),
                None => a.value.to_string(),
            };
            (a, v)
        })
        .collect();
    attrs.sort_by(|(a, _), (b, _)| (a.ns, a.name).cmp(&(b.ns, b.name)));
    for (a, v) in attrs {
        b.attr_ns(a.ns, a.name, None, &v);
    }
}

fn is_flow(k: Element<'_>) -> bool {
    k.name() == "Flow" && k.ns() == super::NS_IODEF
}

/// The children of the canonical copy of `el`.
fn canonical_content(el: Element<'_>, di: Option<usize>, b: &mut Builder) {
    let d = di.map(schema::decl);
    match d.map(|d| &d.content) {
        Some(Content::Simple(ty)) => b.text(&norm_value(*ty, &el.text())),
        Some(Content::Complex {
            mixed: false,
            model,
        }) => {
            let mut order = Vec::new();
            model_order(model, &mut order);
            let mut kids: Vec<(usize, Element<'_>, Option<usize>)> = el
                .elements()
                .map(|k| {
                    let kd = schema::find(k.ns(), k.name());
                    let pos = kd
                        .and_then(|x| order.iter().position(|o| *o == x))
                        .unwrap_or(usize::MAX);
                    (pos, k, kd)
                })
                .collect();
            kids.sort_by_key(|(p, _, _)| *p);
            let mut i = 0;
            while i < kids.len() {
                let (_, k, kd) = kids[i];
                i += 1;
                if !is_flow(k) {
                    canonical(k, kd, b);
                    continue;
                }
                // RFC 8727 has no Flow class (§3.2): the Systems of all Flows of one EventData are one list.
                b.start(k.ns(), k.name(), None);
                canonical_attrs(k, kd, b);
                canonical_content(k, kd, b);
                while let Some((_, f, fd)) = kids.get(i).copied().filter(|(_, f, _)| is_flow(*f)) {
                    canonical_content(f, fd, b);
                    i += 1;
                }
                b.end();
            }
        }
        Some(Content::Empty) => {}
        _ => {
            // Mixed, opaque or undeclared content: keep everything (the builder merges adjacent text).
            let opaque = d.is_some_and(|d| matches!(d.content, Content::Opaque));
            for c in el.children() {
                match c {
                    Node::Element(k) => {
                        let kd = if opaque {
                            None
                        } else {
                            schema::find(k.ns(), k.name())
                        };
                        canonical(k, kd, b)
                    }
                    Node::Text(t) => b.text(t),
                }
            }
        }
    }
}
