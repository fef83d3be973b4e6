//! Turning input bytes into a publishable IODEF payload, and publishing it.
//!
//! A CSAF advisory or CVE record (JSON) is checked by `crate::vuln` and
//! travels as written in an XEP-0335 container. Every other input goes
//! through the IODEF library: XML or RFC 8727 JSON in,
//! validated at the chosen level, serialised back as XML without comments,
//! processing instructions or DOCTYPE (XMPP's restricted XML forbids them),
//! and checked against the size limit (Prosody's default stanza limit is
//! 256 KiB, and an oversized stanza kills the whole stream).

use sha2::{Digest, Sha256};
use tokio_xmpp::jid::Jid;
use tokio_xmpp::minidom::Element;
use tokio_xmpp::parsers::pubsub::pubsub::{Item, Retract};
use tokio_xmpp::parsers::pubsub::{ItemId, NodeName, PubSub};

use super::{ns, GridError, PayloadError};
use crate::iodef::{self, IncidentId, Redaction, ValidationLevel};
use crate::vuln::{self, PayloadType, VulnDocument, VulnError};
use crate::xmpp::{IqError, Session};

/// Default payload limit: under Prosody's 256 KiB stanza limit with room
/// for the stanza around it.
pub const DEFAULT_MAX_PAYLOAD: usize = 200 * 1024;

/// A document ready to publish.
#[derive(Debug, Clone)]
pub struct Payload {
    /// The stable item id (see [`item_id`]).
    pub item_id: String,
    /// The XML as it goes on the wire.
    pub xml: String,
    /// The same, as an element for the stanza.
    pub element: Element,
    /// Elements left out by the redaction ([`Payload::prepare_redacted`]).
    pub omitted: usize,
    /// IODEF, or a JSON format carried in an XEP-0335 container.
    pub format: PayloadType,
}

impl Payload {
    /// Parses, validates and prepares `bytes` (IODEF XML or RFC 8727 JSON).
    pub fn prepare(
        bytes: &[u8],
        level: ValidationLevel,
        max_size: usize,
    ) -> Result<Payload, PayloadError> {
        Self::prepare_redacted(bytes, level, max_size, &Redaction::new())
    }

    /// [`Payload::prepare`], leaving out what `redaction` says first (RFC
    /// 8600 §9). The input is validated as given, then again as redacted:
    /// a redaction that leaves an invalid document publishes nothing. A
    /// redaction that leaves nothing out sends the input as written.
    pub fn prepare_redacted(
        bytes: &[u8],
        level: ValidationLevel,
        max_size: usize,
        redaction: &Redaction,
    ) -> Result<Payload, PayloadError> {
        if bytes.len() > max_size {
            return Err(PayloadError::TooLarge {
                size: bytes.len(),
                max: max_size,
            });
        }
        if let Some(p) = Self::prepare_vuln(bytes, level, max_size, redaction)? {
            return Ok(p);
        }
        let doc = iodef::parse(bytes)?;
        let problems = doc.check(level);
        if !problems.is_empty() {
            return Err(PayloadError::Invalid(
                problems.iter().map(|p| p.to_string()).collect(),
            ));
        }
        let (doc, omitted) = match redaction.is_empty() {
            true => (doc, 0),
            false => {
                let r = doc.redact(redaction)?;
                if r.omitted > 0 {
                    let problems = r.document.check(level);
                    if !problems.is_empty() {
                        return Err(PayloadError::InvalidAfterRedaction {
                            omitted: r.omitted,
                            problems: problems.iter().map(|p| p.to_string()).collect(),
                        });
                    }
                }
                (r.document, r.omitted)
            }
        };
        // XML input goes out as written (minus what XMPP forbids), so that
        // consumers get a canonically equal document; JSON input, and what a
        // redaction changed, is serialised by the IODEF library.
        let xml = match doc.source_format() {
            iodef::SourceFormat::Xml if omitted == 0 => strip_for_xmpp(bytes)?,
            _ => doc.to_xml(),
        };
        if xml.len() > max_size {
            return Err(PayloadError::TooLarge {
                size: xml.len(),
                max: max_size,
            });
        }
        let element: Element = xml
            .parse()
            .map_err(|e: tokio_xmpp::minidom::Error| PayloadError::Xmpp(e.to_string()))?;
        Ok(Payload {
            item_id: item_id(&doc.incident_ids(), &xml),
            xml,
            element,
            omitted,
            format: PayloadType::Iodef,
        })
    }

    /// A CSAF advisory or CVE record, in its XEP-0335 container; `None`
    /// for anything else (IODEF XML, RFC 8727 JSON), which IODEF reads.
    fn prepare_vuln(
        bytes: &[u8],
        level: ValidationLevel,
        max_size: usize,
        redaction: &Redaction,
    ) -> Result<Option<Payload>, PayloadError> {
        if !vuln::looks_like_json(bytes) {
            return Ok(None);
        }
        let doc = match VulnDocument::parse(bytes, max_size, level) {
            Err(VulnError::UnknownFormat) => return Ok(None),
            r => r?,
        };
        if !redaction.is_empty() {
            return Err(PayloadError::Xmpp(format!(
                "--omit/--share name IODEF elements; a {} document cannot be redacted",
                doc.kind
            )));
        }
        let element = vuln::wrap_container(&doc.text);
        let xml = String::from(&element);
        if xml.len() > max_size {
            return Err(PayloadError::TooLarge {
                size: xml.len(),
                max: max_size,
            });
        }
        Ok(Some(Payload {
            item_id: doc.meta.item_id,
            xml,
            element,
            omitted: 0,
            format: doc.kind,
        }))
    }

    /// The envelope's `payload_ns`: the topic type the payload belongs to.
    pub fn payload_ns(&self) -> &'static str {
        self.format.uri()
    }

    /// The document as sinks see it: the IODEF XML, or the JSON text
    /// without its container.
    pub fn document(&self) -> String {
        match self.format {
            PayloadType::Iodef => self.xml.clone(),
            _ => self.element.text(),
        }
    }
}

impl Payload {
    /// Rebuilds a payload that was prepared before (for example read back
    /// from the outbox): `xml` is already clean, only the stanza element is
    /// made again. The item id is kept, so a re-send replaces, never adds.
    pub fn from_prepared(item_id: String, xml: String) -> Result<Payload, PayloadError> {
        let element: Element = xml
            .parse()
            .map_err(|e: tokio_xmpp::minidom::Error| PayloadError::Xmpp(e.to_string()))?;
        let format = match vuln::is_container(&element) {
            true => vuln::detect(&serde_json::from_str(&element.text()).unwrap_or_default())
                .unwrap_or(PayloadType::Csaf),
            false => PayloadType::Iodef,
        };
        Ok(Payload {
            item_id,
            xml,
            element,
            omitted: 0,
            format,
        })
    }
}

/// The document without XML declaration, comments, processing instructions
/// or DOCTYPE — XMPP's restricted XML forbids them (RFC 6120 §11.1) — and
/// otherwise unchanged: whitespace, prefixes and attribute order stay.
fn strip_for_xmpp(bytes: &[u8]) -> Result<String, PayloadError> {
    use quick_xml::events::Event;
    let text = std::str::from_utf8(bytes)
        .map_err(|e| PayloadError::Xmpp(e.to_string()))?
        .trim_start_matches('\u{feff}');
    let mut reader = quick_xml::Reader::from_str(text);
    let mut writer = quick_xml::Writer::new(Vec::with_capacity(text.len()));
    let mut depth = 0usize;
    loop {
        let ev = reader
            .read_event()
            .map_err(|e| PayloadError::Xmpp(e.to_string()))?;
        match ev {
            Event::Eof => break,
            Event::Decl(_) | Event::Comment(_) | Event::PI(_) | Event::DocType(_) => continue,
            // Text outside the root element is only whitespace; drop it.
            Event::Text(_) if depth == 0 => continue,
            Event::Start(_) => depth += 1,
            Event::End(_) => depth = depth.saturating_sub(1),
            _ => {}
        }
        writer
            .write_event(ev)
            .map_err(|e| PayloadError::Xmpp(e.to_string()))?;
    }
    String::from_utf8(writer.into_inner()).map_err(|e| PayloadError::Xmpp(e.to_string()))
}

/// The item id of a document: a stable function of its incident identity, so
/// that republishing an incident (for example an update) replaces the item
/// instead of adding a second one. One incident gives `name:id[:instance]`
/// when those are plain characters; anything else is hashed; a document
/// without IncidentID gets the hash of its content.
pub fn item_id(ids: &[IncidentId], xml: &str) -> String {
    let plain = |s: &str| {
        !s.is_empty()
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
    };
    match ids {
        [one]
            if plain(&one.name) && plain(&one.id) && one.instance.as_deref().is_none_or(plain) =>
        {
            let mut s = format!("{}:{}", one.name, one.id);
            if let Some(i) = &one.instance {
                s.push(':');
                s.push_str(i);
            }
            s
        }
        [] => format!("sha256-{}", hex(&Sha256::digest(xml.as_bytes()))),
        many => {
            let mut h = Sha256::new();
            for id in many {
                for part in [&id.name, &id.id, id.instance.as_deref().unwrap_or("")] {
                    h.update(part.as_bytes());
                    h.update([0u8]);
                }
            }
            format!("incident-{}", hex(&h.finalize()))
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Publishes one payload and waits for the broker's confirmation. Returns
/// the item id the broker confirmed.
pub async fn publish(
    session: &Session,
    service: &Jid,
    topic: &str,
    payload: &Payload,
) -> Result<String, GridError> {
    // Built by hand with minidom, per attempt. xmpp-parsers' `PubSub::Publish`
    // would do, but its conversion to an element replays the payload as XML
    // events and builds it again (a second copy of the document per
    // publish, in the issue-7 profile); a request kept for retries would be
    // copied once more to send it.
    let request = || -> Element {
        let item = Element::builder("item", ns::PUBSUB)
            .attr(super::ncname("id"), payload.item_id.as_str())
            .append(payload.element.clone());
        let publish = Element::builder("publish", ns::PUBSUB)
            .attr(super::ncname("node"), topic)
            .append(item);
        Element::builder("pubsub", ns::PUBSUB)
            .append(publish)
            .build()
    };
    // A publish is idempotent (the item id is a function of the document),
    // so one lost to a session reset is simply sent again.
    let mut attempt = 0;
    let answer = loop {
        attempt += 1;
        match session.set(Some(service.clone()), request()).await {
            Err(IqError::SessionReset { .. }) if attempt < 3 => {
                tracing::info!(topic, item = %payload.item_id, "session reset during publish; sending again");
            }
            r => break r.map_err(GridError::request(format!("publish to topic {topic:?}")))?,
        }
    };
    // The result may echo the item id (XEP-0060 §7.1.2); servers that assign
    // ids would put theirs there. Fall back to ours.
    let confirmed = answer
        .as_ref()
        .and_then(|p| p.get_child("publish", ns::PUBSUB))
        .and_then(|p| p.get_child("item", ns::PUBSUB))
        .and_then(|i| i.attr("id"))
        .map(str::to_string);
    Ok(confirmed.unwrap_or_else(|| payload.item_id.clone()))
}

/// Retracts (deletes) an item, notifying subscribers.
pub async fn retract(
    session: &Session,
    service: &Jid,
    topic: &str,
    item_id: &str,
) -> Result<(), GridError> {
    let req = PubSub::Retract(Retract {
        node: NodeName(topic.to_string()),
        notify: true,
        items: vec![Item {
            id: Some(ItemId(item_id.to_string())),
            publisher: None,
            payload: None,
        }],
    });
    session
        .set(Some(service.clone()), req.into())
        .await
        .map(|_| ())
        .map_err(GridError::request(format!(
            "retract item {item_id:?} from topic {topic:?}"
        )))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(name: &str, id: &str, instance: Option<&str>) -> IncidentId {
        IncidentId {
            name: name.into(),
            id: id.into(),
            instance: instance.map(Into::into),
        }
    }

    /// One plain incident id gives a readable, stable item id.
    #[test]
    fn readable_item_id() {
        assert_eq!(
            item_id(&[id("csirt.example.com", "492382", None)], "<x/>"),
            "csirt.example.com:492382"
        );
        assert_eq!(
            item_id(&[id("csirt.example.com", "1", Some("2"))], "<x/>"),
            "csirt.example.com:1:2"
        );
    }

    /// Unusual characters are hashed; the result is still stable.
    #[test]
    fn hashed_item_id_is_stable() {
        let a = item_id(&[id("x y", "1", None)], "<a/>");
        let b = item_id(&[id("x y", "1", None)], "<b/>");
        assert_eq!(a, b);
        assert!(a.starts_with("incident-"));
        assert_ne!(a, item_id(&[id("x y", "2", None)], "<a/>"));
    }

    /// Comments, PIs and the declaration go; everything else stays as written.
    #[test]
    fn strip_keeps_the_document() {
        let doc = "<?xml version='1.0'?>\n<!-- c --><a xmlns='urn:x'>\n  <?pi x?><b k='1'>t<!-- c -->u</b>\n</a>\n";
        assert_eq!(
            strip_for_xmpp(doc.as_bytes()).unwrap(),
            "<a xmlns='urn:x'>\n  <b k='1'>tu</b>\n</a>"
        );
    }

    /// Without incident ids the content decides.
    #[test]
    fn content_hash_without_ids() {
        assert_ne!(item_id(&[], "<a/>"), item_id(&[], "<b/>"));
        assert!(item_id(&[], "<a/>").starts_with("sha256-"));
    }
}
