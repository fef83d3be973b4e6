//! The XEP-0335 JSON container (`<json xmlns='urn:xmpp:json:0'>`) that
//! carries a CSAF or CVE document in a pubsub item (XMPP payloads are XML).
//!
//! Built and read by hand: xmpp-parsers 0.23 has the type
//! (`json_containers::JsonContainer`), but it parses the text into a
//! `serde_json::Value`, which sorts the members and re-serialises numbers
//! and whitespace; the grid carries the publisher's JSON text byte for byte.

use tokio_xmpp::minidom::Element;
use tokio_xmpp::parsers::ns::JSON_CONTAINERS;

use super::error::VulnError;

/// The container's namespace (XEP-0335).
pub const JSON_CONTAINER_NS: &str = JSON_CONTAINERS;

/// The container element around `json` (the text as given; the XML writer
/// escapes `<`, `&` and quotes).
pub fn wrap(json: &str) -> Element {
    Element::builder("json", JSON_CONTAINER_NS)
        .append(json.to_owned())
        .build()
}

/// Whether `el` is a JSON container.
pub fn is_container(el: &Element) -> bool {
    el.is("json", JSON_CONTAINER_NS)
}

/// The JSON text of a container: its character data (child elements are
/// not allowed).
pub fn unwrap(el: &Element) -> Result<String, VulnError> {
    if !is_container(el) {
        return Err(VulnError::Container(format!(
            "{{{}}}{}",
            el.ns(),
            el.name()
        )));
    }
    if el.children().next().is_some() {
        return Err(VulnError::Container(
            "child elements inside the JSON container".into(),
        ));
    }
    Ok(el.text())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The text survives the XML round trip byte for byte: markup
    /// characters, tabs, newlines, non-ASCII.
    #[test]
    fn text_round_trips() {
        let json = "{\"a\": \"<b> & 'c' \\\"d\\\" ĉ\",\n\t\"e\":  [1, 2.50]  }\n";
        let xml = String::from(&wrap(json));
        assert!(
            xml.starts_with("<json xmlns=\"urn:xmpp:json:0\">")
                || xml.starts_with("<json xmlns='urn:xmpp:json:0'>"),
            "{xml}"
        );
        let back: Element = xml.parse().unwrap();
        assert_eq!(unwrap(&back).unwrap(), json);
        let other: Element = "<x xmlns='urn:x'/>".parse().unwrap();
        assert!(unwrap(&other).is_err());
        let nested: Element = "<json xmlns='urn:xmpp:json:0'>{}<x/></json>"
            .parse()
            .unwrap();
        assert!(unwrap(&nested).is_err());
    }
}
