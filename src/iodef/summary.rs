//! Typed views on the parts of a document that gridlink reads (Incident, its ID, purpose, times) and
//! the analyst summary; `Document`'s accessors for them ([`Document::incidents`],
//! [`Document::summary`], …) are here too, beside what they return, so that `document.rs` does not
//! import this file (which needs `Document`).

use std::fmt;

use crate::iodef::arena::Element;
use crate::iodef::document::Document;
use crate::iodef::schema::NS_IODEF;

/// An incident's identifier: `IncidentID` content plus its `name` (the CSIRT) and `instance`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct IncidentId {
    /// `IncidentID@name`, the issuing CSIRT's FQDN.
    pub name: String,
    /// The identifier itself (element content).
    pub id: String,
    /// `IncidentID@instance`, if any.
    pub instance: Option<String>,
}

impl Document {
    /// `IncidentID` of every Incident, in document order.
    pub fn incident_ids(&self) -> Vec<IncidentId> {
        self.incidents().filter_map(|i| i.incident_id()).collect()
    }

    /// The Incidents.
    pub fn incidents(&self) -> impl Iterator<Item = Incident<'_>> {
        self.root().children_named("Incident").map(Incident::new)
    }

    /// What an analyst wants first (and what a ROLIE entry title is made of).
    pub fn summary(&self) -> Summary {
        Summary::of(self)
    }
}

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
        .map(|k| usize::from(k.name() == name && k.ns() == NS_IODEF) + count(k, name))
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
