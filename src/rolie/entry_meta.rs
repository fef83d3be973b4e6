//! What an entry shows of its IODEF document (title, summary, content-id,
//! purpose), taken from the document model's [`crate::iodef::Summary`]:
//! there is one IODEF reader, `crate::iodef`.

/// Summary strings are cut to this many characters.
const MAX_SUMMARY_CHARS: usize = 1000;

/// What an entry shows of its IODEF document: the first Incident's
/// IncidentID, purpose and first Description, from the document model's
/// [`Summary`](crate::iodef::Summary). A document the model cannot read
/// (not IODEF v2, not well-formed) gets an entry all the same, titled by
/// its item id.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct EntryMeta {
    /// Text of the IncidentID (the ROLIE `content-id`).
    pub(crate) incident_id: Option<String>,
    /// `Incident@purpose` (traceback, mitigation, reporting, …).
    pub(crate) purpose: Option<String>,
    /// The first Description of the Incident, whitespace collapsed, cut to
    /// [`MAX_SUMMARY_CHARS`].
    pub(crate) description: Option<String>,
    /// A CSAF advisory's or CVE record's own title (IODEF has none).
    pub(crate) doc_title: Option<String>,
    /// The document is JSON (CSAF, CVE): `content` is `application/json`.
    pub(crate) json: bool,
    /// The highest CVSS score of a CSAF advisory or CVE record: the
    /// `severity` link's target (a calculator page for the vector) and title.
    pub(crate) severity: Option<(String, String)>,
}

impl EntryMeta {
    /// What an entry shows of a stored item of any payload type: IODEF
    /// through [`EntryMeta::of`]; a CSAF advisory or CVE record (ROLIE
    /// vulnerability draft §4: content-id = the tracking id or CVE id)
    /// through `crate::vuln`, without the schema again (checked on arrival).
    pub(crate) fn of_envelope(env: &crate::envelope::Envelope) -> EntryMeta {
        use crate::vuln::{PayloadType, VulnDocument};
        if !PayloadType::from_uri(&env.payload_ns).is_some_and(PayloadType::is_json) {
            return EntryMeta::of(&env.document);
        }
        let off = crate::iodef::ValidationLevel::Off;
        let Ok(doc) = VulnDocument::parse(env.document.as_bytes(), usize::MAX, off) else {
            return EntryMeta {
                json: true,
                ..EntryMeta::default()
            };
        };
        let m = doc.meta;
        EntryMeta {
            incident_id: Some(m.content_id),
            purpose: None,
            description: m.summary.or_else(|| Some(m.title.clone())),
            doc_title: Some(m.title),
            json: true,
            severity: m
                .severity
                .and_then(|s| Some((s.calculator_url()?, s.describe()))),
        }
    }

    pub(crate) fn of(document: &str) -> EntryMeta {
        let Ok(doc) = crate::iodef::parse(document.as_bytes()) else {
            return EntryMeta::default();
        };
        let summary: crate::iodef::Summary = doc.summary();
        let Some(first) = summary.incidents.into_iter().next() else {
            return EntryMeta::default();
        };
        let non_empty = |s: String| Some(s).filter(|s| !s.is_empty());
        EntryMeta {
            incident_id: first.id.and_then(|id| non_empty(collapse(&id.id))),
            purpose: non_empty(first.purpose),
            description: first
                .description
                .and_then(|d| non_empty(collapse(&d).chars().take(MAX_SUMMARY_CHARS).collect())),
            ..EntryMeta::default()
        }
    }

    /// The entry title: `IncidentID (purpose)`, or `fallback` without an id.
    pub(crate) fn title(&self, fallback: &str) -> String {
        if let Some(t) = &self.doc_title {
            return t.clone();
        }
        let id = self.incident_id.as_deref().unwrap_or(fallback);
        match &self.purpose {
            Some(p) => format!("{id} ({p})"),
            None => id.to_owned(),
        }
    }

    /// The entry summary (required by RFC 4287 for out-of-line content):
    /// the first Description, else a sentence built from id and purpose.
    pub(crate) fn summary(&self, fallback: &str) -> String {
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

fn collapse(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entry_meta_from_the_summary() {
        let xml = r#"<IODEF-Document xmlns="urn:ietf:params:xml:ns:iodef-2.0" version="2.00">
          <Incident purpose="reporting"><IncidentID name="csirt.example.com">492382</IncidentID>
          <Contact><Description>not this</Description></Contact>
          <Description>Scan &amp;
            probe &#x41;</Description><Description>second</Description>
          </Incident></IODEF-Document>"#;
        let m = EntryMeta::of(xml);
        assert_eq!(m.incident_id.as_deref(), Some("492382"));
        assert_eq!(m.purpose.as_deref(), Some("reporting"));
        assert_eq!(m.description.as_deref(), Some("Scan & probe A"));
        assert_eq!(m.title("x"), "492382 (reporting)");
        let m = EntryMeta::of("<<<not xml");
        assert_eq!(m, EntryMeta::default());
        assert_eq!(m.summary("item-1"), "IODEF document item-1");
    }
}
