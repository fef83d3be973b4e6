//! RFC 8727 JSON → XML: builds the document arena (the same representation the XML reader makes)
//! from a `serde_json::Value`, following the member layout of `members.rs` ([`Slot`]). Text goes into
//! the tree's buffer; embedded XML (xmldsig base64, `dtype="xml"` values, SCI `RawData`) is parsed
//! and copied in without source lines.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use serde_json::{Map, Value};

use super::members::{slots, text_key, Slot};
use crate::iodef::arena::{Builder, Element, Node};
use crate::iodef::error::IodefError;
use crate::iodef::schema::{self, Content, Ns, NS_IODEF, NS_SCI};
use crate::iodef::xml;

/// Characters XML 1.0 cannot carry (JSON can): refused rather than written as broken XML.
fn xml_char_ok(c: char) -> bool {
    !matches!(c, '\u{0}'..='\u{8}' | '\u{b}' | '\u{c}' | '\u{e}'..='\u{1f}' | '\u{fffe}' | '\u{ffff}')
}

fn text_of(v: &Value, path: &str) -> Result<String, IodefError> {
    match v {
        Value::String(s) if !s.chars().all(xml_char_ok) => Err(IodefError::json(
            path,
            "string contains a character XML 1.0 cannot represent",
        )),
        Value::String(s) => Ok(s.clone()),
        Value::Number(n) => Ok(n.to_string()),
        Value::Bool(b) => Ok(b.to_string()),
        _ => Err(IodefError::json(path, "expected a string or number")),
    }
}

/// Opens the element declared as `di` (with the table's conventional prefix).
fn start_decl(b: &mut Builder, di: usize) {
    let d = schema::decl(di);
    let prefix = Some(d.ns.prefix()).filter(|p| !p.is_empty());
    b.start_static(d.ns.uri(), d.name, prefix);
}

/// Sets an attribute from a JSON member if the declaration has it; false if it is not an attribute.
fn take_attr(
    b: &mut Builder,
    di: usize,
    key: &str,
    v: &Value,
    path: &str,
) -> Result<bool, IodefError> {
    let d = schema::decl(di);
    let decl_name = if key == "lang" { "xml:lang" } else { key };
    if !d.attrs.iter().any(|a| a.name == decl_name) {
        return Ok(false);
    }
    let mut s = text_of(v, &format!("{path}/{key}"))?;
    if di == schema::ROOT && key == "version" && (s == "2.0" || s == "2.00") {
        s = "2.00".into();
    }
    b.attr(decl_name, &s);
    Ok(true)
}

fn as_object<'a>(v: &'a Value, path: &str) -> Result<&'a Map<String, Value>, IodefError> {
    v.as_object()
        .ok_or_else(|| IodefError::json(path, "expected an object"))
}

fn items<'a>(v: &'a Value, many: bool, path: &str) -> Result<Vec<(String, &'a Value)>, IodefError> {
    match (many, v) {
        (true, Value::Array(a)) => Ok(a
            .iter()
            .enumerate()
            .map(|(i, x)| (format!("{path}/{i}"), x))
            .collect()),
        (true, _) => Err(IodefError::json(path, "expected an array")),
        (false, Value::Array(_)) => Err(IodefError::json(
            path,
            "expected a single value, not an array",
        )),
        (false, x) => Ok(vec![(path.to_string(), x)]),
    }
}

/// Copies the children of `el` (a parsed fragment's wrapper) into the open element, without lines.
fn copy_children(b: &mut Builder, el: Element<'_>) {
    for c in el.children() {
        match c {
            Node::Element(k) => b.copy(k, false),
            Node::Text(t) => b.text(t),
        }
    }
}

/// Writes the XML element declared as `di` for the RFC 8727 JSON value `v` to `b`.
pub(crate) fn from_value(
    v: &Value,
    di: usize,
    path: &str,
    b: &mut Builder,
) -> Result<(), IodefError> {
    let d = schema::decl(di);
    match &d.content {
        Content::Opaque if d.ns == Ns::Sci => structured_from_json(v, di, path, b),
        Content::Opaque => {
            let s = v
                .as_str()
                .ok_or_else(|| IodefError::json(path, "expected base64 text"))?;
            let bytes = B64
                .decode(s.as_bytes())
                .map_err(|e| IodefError::json(path, format!("invalid base64: {e}")))?;
            let text = String::from_utf8(bytes)
                .map_err(|_| IodefError::json(path, "base64 content is not UTF-8 XML"))?;
            let parsed = xml::parse_xml(&text)
                .map_err(|e| IodefError::json(path, format!("embedded XML: {e}")))?;
            let root = parsed.root();
            if root.ns() != d.ns.uri() || root.name() != d.name {
                return Err(IodefError::json(
                    path,
                    format!("embedded XML must be a {} element", d.name),
                ));
            }
            b.copy(root, false);
            Ok(())
        }
        Content::Simple(_) => {
            start_decl(b, di);
            match v {
                Value::Object(m) => {
                    let tk = text_key(d.name);
                    for (k, x) in m {
                        if k == tk {
                            b.text(&text_of(x, &format!("{path}/{k}"))?);
                        } else if !take_attr(b, di, k, x, path)? {
                            return Err(IodefError::json(
                                &format!("{path}/{k}"),
                                format!("unknown member for {}", d.name),
                            ));
                        }
                    }
                }
                other => b.text(&text_of(other, path)?),
            }
            b.end();
            Ok(())
        }
        Content::Empty => {
            start_decl(b, di);
            for (k, x) in as_object(v, path)? {
                if !take_attr(b, di, k, x, path)? {
                    return Err(IodefError::json(
                        &format!("{path}/{k}"),
                        format!("unknown member for {}", d.name),
                    ));
                }
            }
            b.end();
            Ok(())
        }
        Content::Complex { mixed: true, .. } if d.attrs.is_empty() && d.ty.is_empty() => {
            let s = text_of(v, path)?;
            start_decl(b, di);
            match xml::parse_fragment(&s) {
                Ok(t) if t.root().elements().next().is_some() => copy_children(b, t.root()),
                _ => b.text(&s),
            }
            b.end();
            Ok(())
        }
        Content::Complex { mixed, .. } => {
            let m = as_object(v, path)?;
            start_decl(b, di);
            let mut value = None;
            let mut xml_dtype = false;
            for (k, x) in m {
                if *mixed && k == "value" {
                    value = Some(text_of(x, &format!("{path}/value"))?);
                    continue;
                }
                if take_attr(b, di, k, x, path)? {
                    xml_dtype |= k == "dtype" && x.as_str() == Some("xml");
                    continue;
                }
                let known = slots(di).iter().any(|s| match s {
                    Slot::Elem { name, .. } | Slot::Wrapper { name, .. } => name == k,
                    Slot::ObsRef { .. } => k == "uid-ref",
                    Slot::Impact { .. } => k == "Impact",
                });
                if !known {
                    return Err(IodefError::json(
                        &format!("{path}/{k}"),
                        format!("unknown member for {}", d.name),
                    ));
                }
            }
            if let Some(val) = value {
                if xml_dtype {
                    let t = xml::parse_fragment(&val).map_err(|e| {
                        IodefError::json(
                            &format!("{path}/value"),
                            format!("dtype=\"xml\" value: {e}"),
                        )
                    })?;
                    copy_children(b, t.root());
                } else {
                    b.text(&val);
                }
            }
            children_from_json(b, m, di, path)?;
            b.end();
            Ok(())
        }
    }
}

fn children_from_json(
    b: &mut Builder,
    m: &Map<String, Value>,
    di: usize,
    path: &str,
) -> Result<(), IodefError> {
    for s in slots(di) {
        match s {
            Slot::Elem {
                decl,
                name,
                many,
                ctx_many,
            } => {
                if let Some(v) = m.get(*name) {
                    let many = *many || (*ctx_many && v.is_array());
                    for (p, x) in items(v, many, &format!("{path}/{name}"))? {
                        from_value(x, *decl, &p, b)?;
                    }
                }
            }
            Slot::Wrapper { decl, inner, name } => {
                if let Some(v) = m.get(*name) {
                    let list = items(v, true, &format!("{path}/{name}"))?;
                    start_decl(b, *decl);
                    for (p, x) in list {
                        from_value(x, *inner, &p, b)?;
                    }
                    b.end();
                }
            }
            Slot::ObsRef { decl, many } => {
                if let Some(v) = m.get("uid-ref") {
                    for (p, x) in items(v, *many, &format!("{path}/uid-ref"))? {
                        let r = text_of(x, &p)?;
                        start_decl(b, *decl);
                        b.attr("uid-ref", &r);
                        b.end();
                    }
                }
            }
            Slot::Impact { decls } => {
                if let Some(v) = m.get("Impact") {
                    for (p, x) in items(v, true, &format!("{path}/Impact"))? {
                        let o = as_object(x, &p)?;
                        if o.len() != 1 {
                            return Err(IodefError::json(
                                &p,
                                "an Impact item has exactly one member",
                            ));
                        }
                        for (k, iv) in o {
                            let idx = decls
                                .iter()
                                .find(|d| schema::decl(**d).name == k)
                                .ok_or_else(|| {
                                    IodefError::json(&format!("{p}/{k}"), "not an impact class")
                                })?;
                            from_value(iv, *idx, &format!("{p}/{k}"), b)?;
                        }
                    }
                }
            }
        }
    }
    Ok(())
}

fn structured_from_json(
    v: &Value,
    di: usize,
    path: &str,
    b: &mut Builder,
) -> Result<(), IodefError> {
    let d = schema::decl(di);
    b.start_static(d.ns.uri(), d.name, Some("sci"));
    structured_fill(b, v, path)?;
    b.end();
    Ok(())
}

/// Attributes and children of an RFC 7203 SCI element from its STRUCTUREDINFO object.
fn structured_fill(b: &mut Builder, v: &Value, path: &str) -> Result<(), IodefError> {
    let m = as_object(v, path)?;
    for key in ["SpecID", "ext-SpecID", "ContentID"] {
        if let Some(x) = m.get(key) {
            b.attr(key, &text_of(x, &format!("{path}/{key}"))?);
        }
    }
    for (k, _) in m {
        if ![
            "SpecID",
            "ext-SpecID",
            "ContentID",
            "RawData",
            "Reference",
            "Platform",
            "Scoring",
        ]
        .contains(&k.as_str())
        {
            return Err(IodefError::json(
                &format!("{path}/{k}"),
                "unknown member for STRUCTUREDINFO",
            ));
        }
    }
    for key in ["RawData", "Reference", "Platform", "Scoring"] {
        let Some(v) = m.get(key) else { continue };
        for (p, x) in items(v, true, &format!("{path}/{key}"))? {
            match key {
                "RawData" => {
                    let s = x
                        .as_str()
                        .ok_or_else(|| IodefError::json(&p, "expected base64 text"))?;
                    let bytes = B64
                        .decode(s.as_bytes())
                        .map_err(|e| IodefError::json(&p, format!("invalid base64: {e}")))?;
                    let text = String::from_utf8(bytes)
                        .map_err(|_| IodefError::json(&p, "RawData is not UTF-8"))?;
                    let t = xml::parse_fragment(&text)
                        .map_err(|e| IodefError::json(&p, format!("RawData: {e}")))?;
                    b.start_static(NS_SCI, "RawData", Some("sci"));
                    copy_children(b, t.root());
                    b.end();
                }
                "Reference" => {
                    let r = schema::find(NS_IODEF, "Reference")
                        .ok_or_else(|| IodefError::json(&p, "no Reference class"))?;
                    from_value(x, r, &p, b)?;
                }
                _ => {
                    b.start_static(NS_SCI, key, Some("sci"));
                    structured_fill(b, x, &p)?;
                    b.end();
                }
            }
        }
    }
    Ok(())
}
