//! Hostile input never panics and always yields a clear error value: malformed XML, DOCTYPE and
//! external entities, billion laughs, oversize input, 10 000-deep nesting, invalid UTF-8 — plus a
//! property test over the parser, validator and both converters.

use gridlink::iodef::{self, IodefError};
use proptest::prelude::*;

const MIN: &str = include_str!("fixtures/iodef/valid/rfc7970-sec7.1-minimal.xml");
const RICH: &str = include_str!("fixtures/iodef/valid/gridlink-rich.xml");

/// Malformed XML: unclosed, mismatched, garbage.
#[test]
fn malformed() {
    for s in [
        "<IODEF-Document",
        "<a></b>",
        "<a>",
        "<<<",
        "<a x='1' x='2'/>",
        "<a xmlns:p='urn:x' xmlns:p='urn:y'/>",
        "<a xmlns='urn:x' xmlns='urn:y'/>",
        "<a xmlns:p='urn:x' xmlns:q='urn:x' p:x='1' q:x='2'/>",
        "</a>",
        "<a/><b/>",
        "<a>&bogus;</a>",
        "<p:a/>",
        // Not namespace-well-formed (fuzz finding rid_message-6: `:xml:lang` took the default
        // namespace as if the empty prefix were bound to it, and was written as `xmlns:=`).
        "<a x='1'y='2'/>",
        "<a :b='1'/>",
        "<:a/>",
        "<a xmlns:='urn:x'/>",
        "<p:a xmlns:p='urn:x' p:b:c='1'/>",
        "<a xmlns:p:q='urn:x'/>",
        "<a b:='1'/>",
    ] {
        let e = iodef::parse(s.as_bytes()).unwrap_err();
        assert!(
            matches!(e, IodefError::Xml { .. } | IodefError::Entity { .. }),
            "{s}: {e:?}"
        );
    }
    assert!(matches!(
        iodef::parse(b"").unwrap_err(),
        IodefError::UnknownFormat(_)
    ));
    assert!(matches!(
        iodef::parse(b"hello").unwrap_err(),
        IodefError::UnknownFormat(_)
    ));
    assert!(matches!(
        iodef::parse(b"{\"version\": ").unwrap_err(),
        IodefError::Json { .. }
    ));
}

/// DOCTYPE (external entity, billion laughs) is refused before anything is expanded.
#[test]
fn doctype_and_entities() {
    let xxe =
        r#"<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><r>&x;</r>"#;
    assert!(matches!(
        iodef::parse(xxe.as_bytes()).unwrap_err(),
        IodefError::Doctype { line: 1 }
    ));
    let mut lol =
        String::from("<?xml version=\"1.0\"?>\n<!DOCTYPE lolz [\n<!ENTITY lol \"lol\">\n");
    for i in 1..10 {
        let prev = if i == 1 {
            "lol".to_string()
        } else {
            format!("lol{}", i - 1)
        };
        lol.push_str(&format!(
            "<!ENTITY lol{i} \"{}\">\n",
            format!("&{prev};").repeat(10)
        ));
    }
    lol.push_str("]>\n<lolz>&lol9;</lolz>");
    let e = iodef::parse(lol.as_bytes()).unwrap_err();
    assert!(matches!(e, IodefError::Doctype { line: 2 }), "{e:?}");
    // an undeclared entity without a DTD
    let e = iodef::parse(MIN.replace("492382", "&lol9;").as_bytes()).unwrap_err();
    assert!(matches!(e, IodefError::Entity { .. }), "{e:?}");
    assert!(e.to_string().contains("lol9"));
}

/// Predefined and character references are fine.
#[test]
fn predefined_entities_ok() {
    let d = iodef::parse(
        MIN.replace("492382", "&lt;&#x41;&#66;&amp;&quot;&apos;&gt;")
            .as_bytes(),
    )
    .unwrap();
    assert_eq!(d.incident_ids()[0].id, "<AB&\"'>");
}

/// 100 MB is refused up front.
#[test]
fn oversize() {
    let mut big = Vec::with_capacity(100 * 1024 * 1024);
    big.extend_from_slice(b"<IODEF-Document>");
    big.resize(100 * 1024 * 1024, b' ');
    let e = iodef::parse(&big).unwrap_err();
    assert!(matches!(e, IodefError::TooLarge { .. }), "{e:?}");
}

/// 10 000-deep nesting (XML and JSON) is an error, not a stack overflow.
#[test]
fn deep_nesting() {
    let deep = format!("{}{}", "<a>".repeat(10_000), "</a>".repeat(10_000));
    assert!(matches!(
        iodef::parse(deep.as_bytes()).unwrap_err(),
        IodefError::TooDeep { .. }
    ));
    let mut doc = MIN.to_string();
    let nest = format!(
        "{}{}",
        "<Contact role=\"tech\" type=\"person\">".repeat(10_000),
        "</Contact>".repeat(10_000)
    );
    doc = doc.replace("<Email>", &format!("{nest}<Email>"));
    assert!(matches!(
        iodef::parse(doc.as_bytes()).unwrap_err(),
        IodefError::TooDeep { .. }
    ));
    let json = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    assert!(matches!(
        iodef::parse(json.replacen('[', "{\"a\":", 1).as_bytes()).unwrap_err(),
        IodefError::Json { .. }
    ));
}

/// Invalid UTF-8 and UTF-16 are refused with a clear error.
#[test]
fn bad_encodings() {
    let mut b = MIN.as_bytes().to_vec();
    b.insert(200, 0xff);
    assert!(matches!(
        iodef::parse(&b).unwrap_err(),
        IodefError::NotUtf8 { offset: 200 }
    ));
    assert!(matches!(
        iodef::parse(&[0xff, 0xfe, b'<', 0]).unwrap_err(),
        IodefError::Encoding(_)
    ));
    let latin1 = MIN.replace("encoding=\"UTF-8\"", "encoding=\"ISO-8859-1\"");
    assert!(matches!(
        iodef::parse(latin1.as_bytes()).unwrap_err(),
        IodefError::Encoding(_)
    ));
}

/// Non-IODEF roots are refused; IODEF v1 gets its own error naming RFC 5070.
#[test]
fn wrong_roots() {
    assert!(matches!(
        iodef::parse(b"<html/>").unwrap_err(),
        IodefError::NotIodef { .. }
    ));
    let v1 = MIN
        .replace("iodef-2.0", "iodef-1.0")
        .replace("2.00", "1.00");
    let e = iodef::parse(v1.as_bytes()).unwrap_err();
    assert!(e.to_string().contains("IODEF v1"), "{e}");
}

/// JSON that is not RFC 8727 gets a path.
#[test]
fn bad_json() {
    let e = iodef::parse(br#"{"version":"2.0","Incident":[{"purpose":"reporting","Bogus":1}]}"#)
        .unwrap_err();
    assert!(e.to_string().contains("/Incident/0/Bogus"), "{e}");
    let e = iodef::parse(br#"{"version":"2.0\u0001","Incident":[]}"#).unwrap_err();
    assert!(e.to_string().contains("XML 1.0"), "{e}");
    let e = iodef::parse(br#"{"version":"2.0","Incident":{"purpose":"x"}}"#).unwrap_err();
    assert!(e.to_string().contains("expected an array"), "{e}");
}

/// A DATETIME whose time ends inside a multi-byte character is an invalid value, not a panic
/// (`str::split_at` at its eighth byte panicked).
#[test]
fn datetime_cut_inside_a_character() {
    let doc = MIN.replace("2015-07-18T09:00:00-05:00", "2015-07-18T09:00:0é");
    let problems = iodef::parse(doc.as_bytes()).unwrap().validate();
    assert!(
        problems.iter().any(|p| p.message.contains("DATETIME")),
        "{problems:?}"
    );
}

fn exercise(bytes: &[u8]) {
    if let Ok(doc) = iodef::parse(bytes) {
        let _ = doc.validate();
        let _ = doc.validate_basic();
        let _ = doc.summary().to_string();
        let json = doc.to_json();
        let _ = iodef::Document::from_json(&json);
        let xml = doc.to_xml();
        // what we write we can read back
        iodef::parse(xml.as_bytes()).expect("own XML output re-parses");
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, .. ProptestConfig::default() })]

    /// Random bytes never panic.
    #[test]
    fn random_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        exercise(&bytes);
    }

    /// Mutations of real documents (byte flips, cuts, insertions) never panic.
    #[test]
    fn mutated_documents(
        which in 0usize..2,
        edits in proptest::collection::vec((any::<proptest::sample::Index>(), any::<u8>(), 0u8..3), 1..8),
    ) {
        let mut b = if which == 0 { MIN.as_bytes().to_vec() } else { RICH.as_bytes().to_vec() };
        for (ix, byte, op) in edits {
            if b.is_empty() { break; }
            let i = ix.index(b.len());
            match op {
                0 => b[i] = byte,
                1 => { b.remove(i); }
                _ => b.insert(i, byte),
            }
        }
        exercise(&b);
    }

    /// Mutations of RFC 8727 JSON never panic.
    #[test]
    fn mutated_json(cut in any::<proptest::sample::Index>(), byte in any::<u8>()) {
        let doc = iodef::parse(RICH.as_bytes()).unwrap();
        let mut s = serde_json::to_vec(&doc.to_json()).unwrap();
        let i = cut.index(s.len());
        s[i] = byte;
        exercise(&s);
    }
}

/// An element with hundreds of attributes before its declared ones (past the JSON writer's
/// byte-sized attribute positions): the JSON text is still the `Value` form's text, and validation
/// reports the foreign attributes and nothing panics.
#[test]
fn many_attributes_before_declared_ones() {
    let foreign: String = (0..300).map(|i| format!(" x:a{i}=\"{i}\"")).collect();
    let xml = MIN.replacen(
        "<Incident ",
        &format!("<Incident xmlns:x=\"urn:example:x\"{foreign} "),
        1,
    );
    assert_ne!(xml, MIN, "the fixture has an Incident start tag");
    let doc = iodef::parse(xml.as_bytes()).unwrap();
    assert_eq!(doc.to_json_string(), doc.to_json().to_string());
    assert_eq!(doc.validate().len(), 300);
}
