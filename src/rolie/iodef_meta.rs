//! Title and summary for an entry, read from the IODEF document itself.
//!
//! This deliberately does not use `crate::iodef` (the full document model):
//! an entry needs three strings, and a document that the model rejects must
//! still get a readable entry. A streaming quick-xml pass picks the first
//! `IncidentID`, the first `Incident@purpose` and the first `Description`.
//! quick-xml never expands DTD-declared entities, so a hostile document
//! cannot inflate here.

use quick_xml::escape::resolve_predefined_entity;
use quick_xml::events::Event;
use quick_xml::Reader;

/// Summary strings are cut to this many characters.
const MAX_SUMMARY_CHARS: usize = 1000;

/// What an entry shows of an IODEF document.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IodefMeta {
    /// Text of the first `IncidentID` (the ROLIE `content-id`).
    pub incident_id: Option<String>,
    /// The first `Incident@purpose` (traceback, mitigation, reporting, …).
    pub purpose: Option<String>,
    /// Text of the first `Description` directly under an `Incident` (else
    /// the first anywhere), whitespace collapsed, cut to 1000 chars.
    pub description: Option<String>,
}

#[derive(Clone, Copy, PartialEq)]
enum Capture {
    None,
    IncidentId,
    Description,
    OtherDescription,
}

impl IodefMeta {
    /// Reads what it can from `xml`; a malformed document yields what was
    /// found before the error (possibly nothing), never a failure.
    pub fn extract(xml: &str) -> IodefMeta {
        let mut meta = IodefMeta::default();
        let mut reader = Reader::from_str(xml);
        let mut capture = Capture::None;
        let mut text = String::new();
        // Local names of the open elements, to tell Incident/Description
        // from, e.g., ThreatActor/Description.
        let mut stack: Vec<Vec<u8>> = Vec::new();
        let mut any_description: Option<String> = None;
        loop {
            let event = match reader.read_event() {
                Ok(Event::Eof) | Err(_) => break,
                Ok(event) => event,
            };
            let is_start = matches!(&event, Event::Start(_));
            match event {
                Event::Start(e) | Event::Empty(e) => {
                    let local = e.local_name();
                    let parent_is_incident = stack.last().is_some_and(|p| p == b"Incident");
                    if is_start {
                        stack.push(local.as_ref().to_vec());
                    }
                    match local.as_ref() {
                        b"Incident" if meta.purpose.is_none() => {
                            meta.purpose = e
                                .try_get_attribute("purpose")
                                .ok()
                                .flatten()
                                .and_then(|a| a.unescape_value().ok())
                                .map(|v| v.into_owned());
                        }
                        b"IncidentID" if is_start && meta.incident_id.is_none() => {
                            capture = Capture::IncidentId;
                            text.clear();
                        }
                        b"Description" if is_start && capture == Capture::None => {
                            capture = if parent_is_incident {
                                Capture::Description
                            } else {
                                Capture::OtherDescription
                            };
                            text.clear();
                        }
                        _ => {}
                    }
                }
                Event::Text(t) if capture != Capture::None => {
                    if let Ok(s) = t.xml_content() {
                        text.push_str(&s);
                    }
                }
                Event::CData(t) if capture != Capture::None => {
                    if let Ok(s) = t.decode() {
                        text.push_str(&s);
                    }
                }
                Event::GeneralRef(r) if capture != Capture::None => {
                    if let Ok(Some(c)) = r.resolve_char_ref() {
                        text.push(c);
                    } else if let Ok(name) = r.decode() {
                        if let Some(s) = resolve_predefined_entity(&name) {
                            text.push_str(s);
                        }
                    }
                }
                Event::End(e) => {
                    stack.pop();
                    let local = e.local_name();
                    let value = collapse(&text);
                    match (capture, local.as_ref()) {
                        (Capture::OtherDescription, b"Description") => {
                            if any_description.is_none() {
                                any_description = Some(cut(&value)).filter(|v| !v.is_empty());
                            }
                            capture = Capture::None;
                        }
                        (Capture::IncidentId, b"IncidentID") => {
                            meta.incident_id = Some(value).filter(|v| !v.is_empty());
                            capture = Capture::None;
                        }
                        (Capture::Description, b"Description") => {
                            if meta.description.is_none() {
                                meta.description = Some(cut(&value)).filter(|v| !v.is_empty());
                            }
                            capture = Capture::None;
                        }
                        _ => {}
                    }
                }
                _ => {}
            }
            if meta.incident_id.is_some() && meta.description.is_some() && meta.purpose.is_some() {
                break;
            }
        }
        meta.description = meta.description.or(any_description);
        meta
    }

    /// The entry title: `IncidentID (purpose)`, or `fallback` without an id.
    pub fn title(&self, fallback: &str) -> String {
        let id = self.incident_id.as_deref().unwrap_or(fallback);
        match &self.purpose {
            Some(p) => format!("{id} ({p})"),
            None => id.to_owned(),
        }
    }

    /// The entry summary (required by RFC 4287 for out-of-line content):
    /// the first Description, else a sentence built from id and purpose.
    pub fn summary(&self, fallback: &str) -> String {
        if let Some(d) = &self.description {
            return d.clone();
        }
        let id = self.incident_id.as_deref().unwrap_or(fallback);
        match &self.purpose {
            Some(p) => format!("IODEF incident {id}, purpose {p}"),
            None => format!("IODEF document {id}"),
        }
    }
}

fn cut(s: &str) -> String {
    s.chars().take(MAX_SUMMARY_CHARS).collect()
}

fn collapse(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extracts_first_values() {
        let xml = r#"<IODEF-Document xmlns="urn:ietf:params:xml:ns:iodef-2.0">
          <Incident purpose="reporting"><IncidentID name="csirt.example.com">492382</IncidentID>
          <Contact><Description>not this</Description></Contact>
          <Description>Scan &amp; probe &#x41;</Description><Description>second</Description>
          </Incident></IODEF-Document>"#;
        let m = IodefMeta::extract(xml);
        assert_eq!(m.incident_id.as_deref(), Some("492382"));
        assert_eq!(m.purpose.as_deref(), Some("reporting"));
        assert_eq!(m.description.as_deref(), Some("Scan & probe A"));
        assert_eq!(m.title("x"), "492382 (reporting)");
    }

    #[test]
    fn garbage_gives_fallbacks() {
        let m = IodefMeta::extract("<<<not xml");
        assert_eq!(m, IodefMeta::default());
        assert_eq!(m.summary("item-1"), "IODEF document item-1");
    }
}
