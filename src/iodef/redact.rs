//! Leaving information out before a document is shared (RFC 8600 §9: a
//! Provider must be able to filter or omit fields before publishing).
//!
//! Two rules, both by element, each removing the element with everything
//! inside it:
//! * **paths** (`--omit`): `Email` is every element of that local name,
//!   `Contact/Email` only those whose parent is a `Contact`, and so on;
//! * **restriction** (`--share`): IODEF's `restriction` attribute (RFC 7970
//!   §3.3.1) says how far a class and its children may be disclosed. Its
//!   effective value is the nearest one set on the element or an ancestor;
//!   `Incident` defaults to `private` (the only class with a default), and
//!   `ext-value` means the `ext-restriction` attribute's value. An element
//!   whose effective value is not in the shared set is left out; one with
//!   no effective value (outside any `Incident`, nothing set) stays. The
//!   TLP names are the RFC's synonyms: `white` = `public`, `green` =
//!   `partner`, `amber` = `need-to-know`, `red` = `private`.
//!
//! Leaving out a required element makes the document invalid; callers
//! validate the result (publishing refuses it with the schema's problems),
//! since publishing half an incident silently would be worse than nothing.

use std::collections::BTreeSet;

use crate::iodef::arena::{Builder, Element, Node};
use crate::iodef::document::Document;
use crate::iodef::error::IodefError;
use crate::iodef::schema::NS_IODEF;

/// What to leave out of a document before it is shared.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Redaction {
    omit: Vec<Vec<String>>,
    share: Option<BTreeSet<String>>,
}

/// A redacted copy of a document.
#[derive(Debug, Clone)]
pub struct Redacted {
    /// The document without what was left out.
    pub document: Document,
    /// How many elements were left out (each with its subtree).
    pub omitted: usize,
}

/// The restriction values RFC 7970 §3.3.1 names, with their synonyms.
const SYNONYMS: [(&str, &str); 4] = [
    ("white", "public"),
    ("green", "partner"),
    ("amber", "need-to-know"),
    ("red", "private"),
];

impl Redaction {
    /// Nothing left out.
    pub fn new() -> Redaction {
        Redaction::default()
    }

    /// Whether this leaves nothing out.
    pub fn is_empty(&self) -> bool {
        self.omit.is_empty() && self.share.is_none()
    }

    /// Also leaves out elements at `path` (`Name` or `Parent/Name`, local
    /// names). An error for an empty path or segment.
    pub fn omit(mut self, path: &str) -> Result<Redaction, String> {
        let segments: Vec<String> = path.split('/').map(|s| s.trim().to_string()).collect();
        if segments.iter().any(|s| s.is_empty()) {
            return Err(format!(
                "{path:?}: expected an element name or Parent/Name (local names)"
            ));
        }
        self.omit.push(segments);
        Ok(self)
    }

    /// Shares only elements whose effective restriction is one of `values`
    /// (each also allows its synonym). An error for an empty list.
    pub fn share<'a>(
        mut self,
        values: impl IntoIterator<Item = &'a str>,
    ) -> Result<Redaction, String> {
        let mut set = BTreeSet::new();
        for v in values.into_iter().map(str::trim).filter(|v| !v.is_empty()) {
            set.insert(v.to_string());
            for (a, b) in SYNONYMS {
                if v == a {
                    set.insert(b.to_string());
                } else if v == b {
                    set.insert(a.to_string());
                }
            }
        }
        if set.is_empty() {
            return Err("--share needs at least one restriction value (e.g. public,green)".into());
        }
        self.share = Some(set);
        Ok(self)
    }

    /// Whether `el`, whose ancestors' local names are `path` (root first),
    /// is at an omitted path.
    fn omitted_path(&self, path: &[&str], el: Element<'_>) -> bool {
        self.omit.iter().any(|p| {
            let Some((last, parents)) = p.split_last() else {
                return false;
            };
            last == el.name()
                && parents.len() <= path.len()
                && parents
                    .iter()
                    .zip(&path[path.len() - parents.len()..])
                    .all(|(a, b)| a == b)
        })
    }
}

/// The restriction `el` sets, if it sets one (the `Incident` default
/// included).
fn own_restriction<'d>(el: Element<'d>) -> Option<&'d str> {
    if el.ns() != NS_IODEF {
        return None;
    }
    match el.attr("restriction") {
        Some("ext-value") => Some(el.attr("ext-restriction").unwrap_or("ext-value")),
        Some(v) => Some(v),
        None if el.name() == "Incident" => Some("private"),
        None => None,
    }
}

/// Copies `el` into `out` without what `r` leaves out; counts the omitted.
fn copy(
    out: &mut Builder,
    r: &Redaction,
    el: Element<'_>,
    path: &mut Vec<String>,
    inherited: Option<&str>,
    omitted: &mut usize,
) {
    let effective = own_restriction(el).or(inherited);
    out.start(el.ns(), el.name(), el.prefix());
    for a in el.attrs() {
        out.attr_ns(a.ns, a.name, a.prefix, a.value);
    }
    path.push(el.name().to_string());
    for c in el.children() {
        match c {
            Node::Text(t) => out.text(t),
            Node::Element(k) => {
                let names: Vec<&str> = path.iter().map(String::as_str).collect();
                let restricted = match (&r.share, own_restriction(k).or(effective)) {
                    (Some(allowed), Some(v)) => !allowed.contains(v),
                    _ => false,
                };
                if restricted || r.omitted_path(&names, k) {
                    *omitted += 1;
                } else {
                    copy(out, r, k, path, effective, omitted);
                }
            }
        }
    }
    path.pop();
    out.end();
}

impl Document {
    /// A copy without what `r` leaves out (see the module docs). The
    /// document element itself is never left out. Not validated: check the
    /// result before publishing it.
    pub fn redact(&self, r: &Redaction) -> Result<Redacted, IodefError> {
        let mut out = Builder::new();
        let mut omitted = 0;
        copy(
            &mut out,
            r,
            self.root(),
            &mut Vec::new(),
            None,
            &mut omitted,
        );
        Ok(Redacted {
            document: out.finish()?,
            omitted,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &str = r#"<IODEF-Document version="2.00" xmlns="urn:ietf:params:xml:ns:iodef-2.0">
  <Incident purpose="reporting" restriction="green">
    <IncidentID name="csirt.example.com">1</IncidentID>
    <GenerationTime>2026-11-23T10:00:00Z</GenerationTime>
    <Discovery restriction="red"><Description>internal notes</Description></Discovery>
    <Contact role="creator" type="organization">
      <ContactName>CSIRT</ContactName>
      <Email><EmailTo>csirt@example.com</EmailTo></Email>
    </Contact>
    <Contact role="victim" type="person" restriction="ext-value" ext-restriction="tlp-amber-strict">
      <Email><EmailTo>victim@example.org</EmailTo></Email>
    </Contact>
  </Incident>
  <Incident purpose="reporting">
    <IncidentID name="csirt.example.com">2</IncidentID>
    <GenerationTime>2026-11-23T10:00:00Z</GenerationTime>
    <Contact role="creator" type="organization"><ContactName>CSIRT</ContactName></Contact>
  </Incident>
</IODEF-Document>"#;

    fn redact(r: Redaction) -> (String, usize) {
        let d = crate::iodef::parse(DOC.as_bytes()).unwrap();
        let out = d.redact(&r).unwrap();
        (out.document.to_xml(), out.omitted)
    }

    /// Nothing left out: the copy is the same document.
    #[test]
    fn empty_redaction_copies() {
        let d = crate::iodef::parse(DOC.as_bytes()).unwrap();
        let out = d.redact(&Redaction::new()).unwrap();
        assert_eq!(out.omitted, 0);
        assert_eq!(out.document.canonical(), d.canonical());
    }

    /// `Name` everywhere, `Parent/Name` only under that parent.
    #[test]
    fn paths() {
        let (xml, n) = redact(Redaction::new().omit("EmailTo").unwrap());
        assert_eq!(n, 2);
        assert!(!xml.contains("EmailTo"), "{xml}");
        let (xml, n) = redact(Redaction::new().omit("Discovery/Description").unwrap());
        assert_eq!(n, 1);
        assert!(!xml.contains("internal notes") && xml.contains("csirt@example.com"));
        let (_, n) = redact(Redaction::new().omit("Incident/Description").unwrap());
        assert_eq!(n, 0);
        assert!(Redaction::new().omit("Contact//Email").is_err());
        assert!(Redaction::new().omit("").is_err());
    }

    /// The effective restriction is the nearest one set; `Incident`
    /// defaults to private; `ext-value` reads `ext-restriction`; TLP names
    /// and the RFC's names are synonyms.
    #[test]
    fn restriction() {
        // green = partner: incident 1 stays without its red Discovery and
        // its ext-restricted Contact; incident 2 (default private) goes.
        let (xml, n) = redact(Redaction::new().share(["partner"]).unwrap());
        assert_eq!(n, 3, "{xml}");
        assert!(xml.contains(">1<") && !xml.contains(">2<"), "{xml}");
        assert!(!xml.contains("internal notes") && !xml.contains("victim@"));
        assert!(xml.contains("csirt@example.com"));
        // Sharing private and red too keeps all but the ext-value Contact.
        let (xml, n) = redact(Redaction::new().share(["green", "private"]).unwrap());
        assert_eq!(n, 1, "{xml}");
        assert!(xml.contains("internal notes") && xml.contains(">2<"));
        let (xml, n) = redact(
            Redaction::new()
                .share(["green", "red", "tlp-amber-strict"])
                .unwrap(),
        );
        assert_eq!(n, 0, "{xml}");
        assert!(Redaction::new().share([" ", ""]).is_err());
    }

    /// What is left is validated by the caller: leaving out a required
    /// element gives an invalid document, not a silent half.
    #[test]
    fn required_elements_left_out_make_it_invalid() {
        let d = crate::iodef::parse(DOC.as_bytes()).unwrap();
        assert!(d.validate().is_empty(), "{:?}", d.validate());
        let out = d
            .redact(&Redaction::new().omit("IncidentID").unwrap())
            .unwrap();
        assert!(out
            .document
            .validate()
            .iter()
            .any(|p| p.to_string().contains("IncidentID")));
        // Every Incident restricted away: the document has none left.
        let out = d
            .redact(&Redaction::new().share(["public"]).unwrap())
            .unwrap();
        assert_eq!(out.omitted, 2);
        assert!(!out.document.validate().is_empty());
    }
}
