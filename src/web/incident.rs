//! What the incident page shows of an IODEF document, walked from the
//! document tree (`crate::iodef`'s arena and `Incident` views): every value
//! is an owned string for the templates to escape; nothing here is markup.

use crate::iodef::Document;
use crate::iodef::Element;

/// Observable values: (kind, value), e.g. (`ipv4-addr`, `192.0.2.1`),
/// (`domain`, `example.org`), (`hash`, `…`), (`url`, `…`).
pub(crate) type Values = Vec<(String, String)>;

/// One labelled line (a contact, an assessment, an event, a system).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Part {
    /// Its kind and role (`Contact creator/organization`, `System source`).
    pub(crate) label: String,
    /// Its facts, in document order: (name, value).
    pub(crate) facts: Vec<(String, String)>,
    /// The observables inside it.
    pub(crate) values: Values,
}

/// One Indicator.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Indicator {
    pub(crate) id: String,
    pub(crate) description: String,
    pub(crate) values: Values,
}

/// One Incident, as the page shows it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct IncidentView {
    /// `IncidentID` text and its `name` (the CSIRT).
    pub(crate) id: String,
    pub(crate) id_name: String,
    pub(crate) purpose: String,
    pub(crate) status: String,
    pub(crate) restriction: String,
    /// (which, value): GenerationTime, ReportTime, DetectTime, …
    pub(crate) times: Vec<(String, String)>,
    pub(crate) descriptions: Vec<String>,
    pub(crate) contacts: Vec<Part>,
    pub(crate) assessments: Vec<Part>,
    pub(crate) indicators: Vec<Indicator>,
    pub(crate) events: Vec<Part>,
    pub(crate) systems: Vec<Part>,
    /// Every URL the incident names (References, contacts): shown as text,
    /// linked only when `http:`/`https:` ([`safe_link`]).
    pub(crate) urls: Vec<String>,
}

const TIMES: [&str; 5] = [
    "GenerationTime",
    "ReportTime",
    "DetectTime",
    "StartTime",
    "EndTime",
];

/// The incidents of `doc`.
pub(crate) fn incidents(doc: &Document) -> Vec<IncidentView> {
    doc.incidents()
        .map(|i| {
            let el = i.element();
            let id = i.incident_id();
            IncidentView {
                id: id.as_ref().map(|x| x.id.clone()).unwrap_or_default(),
                id_name: id.map(|x| x.name).unwrap_or_default(),
                purpose: i.purpose().unwrap_or_default().to_owned(),
                status: i.status().unwrap_or_default().to_owned(),
                restriction: i.restriction().to_owned(),
                times: TIMES
                    .iter()
                    .filter_map(|t| i.time(t).map(|v| ((*t).to_owned(), v)))
                    .collect(),
                descriptions: i.descriptions(),
                contacts: all(el, "Contact").into_iter().map(part).collect(),
                assessments: el.children_named("Assessment").map(part).collect(),
                indicators: all(el, "Indicator").into_iter().map(indicator).collect(),
                events: all(el, "EventData").into_iter().map(part).collect(),
                systems: all(el, "System").into_iter().map(part).collect(),
                urls: all(el, "URL").into_iter().map(|u| trimmed(u)).collect(),
            }
        })
        .collect()
}

/// Every descendant of `el` called `name` (IODEF namespace), in document order.
fn all<'a>(el: Element<'a>, name: &str) -> Vec<Element<'a>> {
    let mut out = Vec::new();
    for k in el.elements() {
        if k.name() == name && k.ns() == el.ns() {
            out.push(k);
        }
        out.extend(all(k, name));
    }
    out
}

fn trimmed(el: Element<'_>) -> String {
    el.text().trim().to_owned()
}

/// A Contact, Assessment, EventData or System: its attributes, its direct
/// text children, and the observables inside.
fn part(el: Element<'_>) -> Part {
    let mut label = el.name().to_owned();
    for a in ["role", "type", "category", "occurrence"] {
        if let Some(v) = el.attr(a) {
            label.push(' ');
            label.push_str(v);
        }
    }
    let mut facts = Vec::new();
    for k in el.elements() {
        let text = trimmed(k);
        match k.name() {
            // Nested parts have their own rows; observables their column.
            "Contact" | "EventData" | "System" | "Flow" | "Node" | "Indicator" => {}
            _ if !text.is_empty() => facts.push((k.name().to_owned(), text)),
            // Attributes and children only (SystemImpact, Confidence,
            // Reference, …): the attributes, then the texts inside.
            _ => {
                let mut words: Vec<String> = k
                    .attrs()
                    .map(|a| format!("{}={}", a.name, a.value))
                    .collect();
                let mut inner = String::new();
                for g in k.elements() {
                    all_text(g, &mut inner);
                }
                words.extend(inner.lines().map(str::to_owned));
                if !words.is_empty() {
                    facts.push((k.name().to_owned(), words.join(" ")));
                }
            }
        }
    }
    Part {
        label,
        facts,
        values: values(el),
    }
}

fn indicator(el: Element<'_>) -> Indicator {
    Indicator {
        id: el.child("IndicatorID").map(trimmed).unwrap_or_default(),
        description: el
            .children_named("Description")
            .map(trimmed)
            .collect::<Vec<_>>()
            .join(" "),
        values: values(el),
    }
}

/// The observables below `el`: addresses (by category), domain names,
/// hash digests, URLs, e-mail addresses, file names.
pub(crate) fn values(el: Element<'_>) -> Values {
    let mut out = Vec::new();
    collect(el, &mut out);
    out
}

fn collect(el: Element<'_>, out: &mut Values) {
    for k in el.elements() {
        let kind = match (k.name(), el.name()) {
            ("Address", _) => Some(k.attr("category").unwrap_or("address").to_owned()),
            ("Name", "DomainData") => Some("domain".to_owned()),
            ("DigestValue", _) => Some("hash".to_owned()),
            ("URL", _) => Some("url".to_owned()),
            ("Email" | "EmailTo" | "EmailFrom", _) => Some("email".to_owned()),
            ("FileName", _) => Some("file".to_owned()),
            _ => None,
        };
        match kind {
            Some(kind) => {
                let v = trimmed(k);
                if v.is_empty() {
                    // Email wraps EmailTo: look inside.
                    collect(k, out);
                } else {
                    out.push((kind, v));
                }
            }
            None => collect(k, out),
        }
    }
}

/// Every text and attribute value of the document, for the text search.
pub(crate) fn all_text(el: Element<'_>, out: &mut String) {
    for a in el.attrs() {
        out.push_str(a.value);
        out.push('\n');
    }
    let t = el.text();
    if !t.trim().is_empty() {
        out.push_str(t.trim());
        out.push('\n');
    }
    for k in el.elements() {
        all_text(k, out);
    }
}

/// `url` when it is safe to put in an `href`: `http:` or `https:` only,
/// after the same whitespace trimming a browser does. Anything else
/// (`javascript:`, `data:`, relative) is shown as text only.
pub(crate) fn safe_link(url: &str) -> Option<&str> {
    let u = url.trim_matches(|c: char| c.is_ascii_whitespace() || c.is_control());
    let lower = u.get(..8).unwrap_or(u).to_ascii_lowercase();
    let ok = (lower.starts_with("http://") || lower.starts_with("https://"))
        && !u.chars().any(|c| c.is_control() || c.is_whitespace());
    ok.then_some(u)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_web_urls_become_links() {
        assert_eq!(
            safe_link("https://a.example/x"),
            Some("https://a.example/x")
        );
        assert_eq!(safe_link(" HTTP://a"), Some("HTTP://a"));
        for bad in [
            "javascript:alert(1)",
            " javascript:alert(1)",
            "JaVaScRiPt:x",
            "java\tscript:x",
            "data:text/html,x",
            "//evil.example",
            "http://a b",
            "vbscript:x",
        ] {
            assert_eq!(safe_link(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn walks_an_incident() {
        let xml = br#"<IODEF-Document version="2.00" xmlns="urn:ietf:params:xml:ns:iodef-2.0"><Incident purpose="mitigation" status="new" restriction="green"><IncidentID name="csirt.example">X-1</IncidentID><GenerationTime>2024-01-01T00:00:00Z</GenerationTime><Description>d1</Description><Assessment occurrence="actual"><SystemImpact severity="high" type="takeover-system"><Description>taken over</Description></SystemImpact></Assessment><Contact role="creator" type="organization"><ContactName>CSIRT</ContactName><Email><EmailTo>a@csirt.example</EmailTo></Email></Contact><EventData><Description>ev</Description><Flow><System category="source"><Node><Address category="ipv4-addr">192.0.2.1</Address><DomainData><Name>bad.example</Name></DomainData></Node></System></Flow></EventData><IndicatorData><Indicator><IndicatorID name="csirt.example" version="1">ind-1</IndicatorID><Description>c2</Description><Observable><Address category="ipv4-addr">198.51.100.7</Address></Observable></Indicator></IndicatorData></Incident></IODEF-Document>"#;
        let doc = crate::iodef::parse(xml).unwrap();
        let v = incidents(&doc);
        let i = &v[0];
        assert_eq!(
            (i.id.as_str(), i.id_name.as_str()),
            ("X-1", "csirt.example")
        );
        assert_eq!(i.purpose, "mitigation");
        assert_eq!(i.times[0].0, "GenerationTime");
        assert_eq!(i.contacts[0].label, "Contact creator organization");
        assert_eq!(
            i.contacts[0].values,
            [("email".into(), "a@csirt.example".into())]
        );
        assert_eq!(
            i.assessments[0].facts[0].1,
            "severity=high type=takeover-system taken over"
        );
        assert_eq!(i.indicators[0].id, "ind-1");
        assert_eq!(
            i.indicators[0].values,
            [("ipv4-addr".into(), "198.51.100.7".into())]
        );
        assert_eq!(
            i.systems[0].values[1],
            ("domain".into(), "bad.example".into())
        );
        assert_eq!(i.events[0].facts[0], ("Description".into(), "ev".into()));
    }
}
