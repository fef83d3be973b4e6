//! XML namespaces the grid layer uses, and the prefixes a received payload
//! gets back for the usual ones. xmpp-parsers 0.23 lacks constants for the
//! pubsub sub-namespaces marked "(local)", so they live here.

use tokio_xmpp::minidom::Element;

/// XEP-0060 pubsub.
pub const PUBSUB: &str = "http://jabber.org/protocol/pubsub";
/// XEP-0060 owner use cases.
pub const PUBSUB_OWNER: &str = "http://jabber.org/protocol/pubsub#owner";
/// XEP-0060 event notifications.
pub const PUBSUB_EVENT: &str = "http://jabber.org/protocol/pubsub#event";
/// XEP-0060 application error conditions (local).
pub const PUBSUB_ERRORS: &str = "http://jabber.org/protocol/pubsub#errors";
/// Node configuration form type.
pub const NODE_CONFIG: &str = "http://jabber.org/protocol/pubsub#node_config";
/// Node meta-data form type (local).
pub const META_DATA: &str = "http://jabber.org/protocol/pubsub#meta-data";
/// XEP-0030 info.
pub const DISCO_INFO: &str = "http://jabber.org/protocol/disco#info";
/// XEP-0030 items.
pub const DISCO_ITEMS: &str = "http://jabber.org/protocol/disco#items";
/// XEP-0004 data forms.
pub const DATA_FORMS: &str = "jabber:x:data";
/// XEP-0060 §8.6 subscription authorization form type (local).
pub const SUBSCRIBE_AUTHORIZATION: &str =
    "http://jabber.org/protocol/pubsub#subscribe_authorization";
/// XEP-0059 result set management.
pub const RSM: &str = "http://jabber.org/protocol/rsm";
/// XEP-0203 delayed delivery.
pub const DELAY: &str = "urn:xmpp:delay";

/// The prefixes IODEF documents write for the namespaces they carry besides
/// their own: the RFC 7970 examples' `xsi` and `ds`, RFC 7203's `sci`, RFC
/// 7495's `enum`.
const USUAL_PREFIXES: [(&str, &str); 4] = [
    ("xsi", "http://www.w3.org/2001/XMLSchema-instance"),
    ("ds", "http://www.w3.org/2000/09/xmldsig#"),
    ("sci", "urn:ietf:params:xml:ns:iodef-sci-1.0"),
    ("enum", "urn:ietf:params:xml:ns:iodef-enum-1.0"),
];

/// Takes the payload out of an `<item/>` (of a notification or an items
/// result) as the rest of gridlink sees it: with the usual prefixes declared
/// again ([`restore_usual_prefixes`]). The one place payloads are taken
/// out, so that the document text an event carries and the text the
/// follower hashes to compare with its cursor are written the same way.
pub(crate) fn take_payload(item: &mut Element) -> Option<Element> {
    let mut payload = item.unshift_child()?;
    restore_usual_prefixes(&mut payload);
    Some(payload)
}

/// Declares on `root` the usual prefix of each of those namespaces that its
/// tree uses, so that the document written from it reads
/// `xsi:schemaLocation` again.
///
/// Why: the XMPP stream parser keeps every name's namespace but not the
/// prefix it was written with, and minidom's writer then makes one up
/// (`tns0`, `tns1`, …). That is the same document to a namespace-aware
/// reader, but not what the publisher wrote nor what someone reading the
/// `document` field expects. Declarations the element already has are kept,
/// and a usual prefix is not added when its name or its namespace is bound
/// already. Other namespaces still get minidom's made-up prefixes.
pub(crate) fn restore_usual_prefixes(root: &mut Element) {
    let mut used = [false; USUAL_PREFIXES.len()];
    // Bound anywhere in the tree already, by name or by namespace: rxml's
    // writer panics when an element declares a prefix the root declared
    // too, so a usual prefix is added only where nothing else binds it.
    let mut taken = [false; USUAL_PREFIXES.len()];
    // A loop, not recursion: payload depth comes from the sender.
    let mut pending = vec![&*root];
    while let Some(el) = pending.pop() {
        let declared = el.prefixes.declared_prefixes();
        for (i, (prefix, uri)) in USUAL_PREFIXES.into_iter().enumerate() {
            used[i] |= el.has_ns(uri) || el.attrs().iter().any(|((ns, _), _)| ns.as_str() == uri);
            taken[i] |= declared
                .iter()
                .any(|(p, ns)| p.as_deref() == Some(prefix) || ns == uri);
        }
        pending.extend(el.children());
    }
    let add = |i: usize| used[i] && !taken[i];
    // Most payloads use none of them: nothing to copy then.
    if !(0..USUAL_PREFIXES.len()).any(add) {
        return;
    }
    let mut declared = root.prefixes.declared_prefixes().clone();
    for (i, (prefix, uri)) in USUAL_PREFIXES.into_iter().enumerate() {
        if add(i) {
            declared.insert(Some(prefix.to_string()), uri.to_string());
        }
    }
    root.prefixes = declared.into();
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What the XMPP stream parser hands over: namespaces, no prefixes.
    fn as_from_stream(xml: &str) -> Element {
        let mut root: Element = xml.parse().unwrap();
        let mut pending = vec![&mut root];
        while let Some(el) = pending.pop() {
            el.prefixes = Default::default();
            pending.extend(el.children_mut());
        }
        root
    }

    const XSI_DOC: &str = "<IODEF-Document xmlns='urn:ietf:params:xml:ns:iodef-2.0' \
        xmlns:xsi='http://www.w3.org/2001/XMLSchema-instance' version='2.00' \
        xsi:schemaLocation='urn:ietf:params:xml:ns:iodef-2.0 iodef-2.0.xsd'>\
        <Incident purpose='reporting'><AdditionalData dtype='xml'>\
        <sci:AttackPattern xmlns:sci='urn:ietf:params:xml:ns:iodef-sci-1.0'/>\
        <v:x xmlns:v='urn:example:vendor' v:a='1'/></AdditionalData></Incident></IODEF-Document>";

    #[test]
    fn usual_prefixes_come_back_after_the_stream_dropped_them() {
        let mut el = as_from_stream(XSI_DOC);
        let before = String::from(&el);
        // The loss this repairs (if minidom starts keeping prefixes, this
        // function can go).
        assert!(!before.contains("xsi:schemaLocation"), "{before}");
        restore_usual_prefixes(&mut el);
        let after = String::from(&el);
        assert!(after.contains(" xsi:schemaLocation='urn:ietf"), "{after}");
        assert!(after.contains("xmlns:xsi='http://www.w3.org/2001/XMLSchema-instance'"));
        assert!(after.contains("<sci:AttackPattern"), "{after}");
        assert!(
            !after.contains("xmlns:ds="),
            "unused namespaces are not declared: {after}"
        );
        // Still the same document.
        let again: Element = after.parse().unwrap();
        assert_eq!(again, XSI_DOC.parse::<Element>().unwrap());
    }

    #[test]
    fn declarations_already_there_are_kept() {
        // minidom's own parser keeps prefixes: nothing to add, nothing changed.
        let mut el: Element = XSI_DOC.parse().unwrap();
        let before = String::from(&el);
        restore_usual_prefixes(&mut el);
        assert_eq!(String::from(&el), before);
        // A document that binds `xsi` to something else keeps its binding.
        let odd = "<r xmlns='urn:ietf:params:xml:ns:iodef-2.0' xmlns:xsi='urn:example:other' \
            xmlns:s='http://www.w3.org/2001/XMLSchema-instance' s:type='t' xsi:a='1'/>";
        let mut el: Element = odd.parse().unwrap();
        restore_usual_prefixes(&mut el);
        let out = String::from(&el);
        assert!(out.contains("xmlns:xsi='urn:example:other'"), "{out}");
        assert_eq!(
            out.parse::<Element>().unwrap(),
            odd.parse::<Element>().unwrap()
        );
    }
}
