//! RFC 8727 JSON binding, driven by the schema table: the member layout ([`Slot`]) and JSON → XML.
//! XML → JSON is `json_out.rs` (a `Serialize` view over the same slots).
//!
//! The generic rule (RFC 8727 §3): attributes and child elements become members of one object; a child
//! whose maximum occurrence is above one is an array; element text is `value` (`id` for IncidentID and
//! IndicatorID, `handle` for RegistryHandle); `xml:lang` is `lang`; ML_STRING without attributes is a
//! plain string. The special cases of RFC 8727 §3.2 are listed in [`Slot`] and in `SPECIAL` below.

use std::sync::OnceLock;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use serde_json::{Map, Value};

use super::error::IodefError;
use super::schema::{self, Content, Ns, Particle, NS_IODEF, NS_SCI};
use super::tree::{self, Element, Node};

/// How one child declaration appears among its parent's JSON members.
#[derive(Debug, Clone)]
pub(crate) enum Slot {
    /// A child element: member `name`; an array when `many` (its own maxOccurs > 1). When only an
    /// enclosing group repeats (`ctx_many`, e.g. IndicatorExpression's Confidence) a single occurrence
    /// is a plain value, as the RFC 8727 schema has it, and several are an array (lossless).
    Elem {
        decl: usize,
        name: &'static str,
        many: bool,
        ctx_many: bool,
    },
    /// A wrapper class deleted by RFC 8727 §3.2 (Flow, ApplicationHeader, SignatureData, IndicatorData,
    /// Record): its children appear directly in the parent, as an array called after them.
    Wrapper {
        decl: usize,
        inner: usize,
        name: &'static str,
    },
    /// `ObservableReference` deleted: its `uid-ref` attribute appears directly in the parent.
    ObsRef { decl: usize, many: bool },
    /// Assessment's impact choice: `Impact` is an array of single-member objects.
    Impact { decls: Vec<usize> },
}

/// Wrapper classes removed by RFC 8727 §3.2.
const WRAPPERS: &[&str] = &[
    "Flow",
    "ApplicationHeader",
    "SignatureData",
    "IndicatorData",
    "Record",
];

/// XSD names spelled differently in the RFC 8727 JSON schema.
fn json_name(xsd: &'static str) -> &'static str {
    match xsd {
        "Nameservers" => "NameServers",
        other => other,
    }
}

/// The member holding an element's text.
pub(crate) fn text_key(name: &str) -> &'static str {
    match name {
        "IncidentID" | "IndicatorID" => "id",
        "RegistryHandle" => "handle",
        _ => "value",
    }
}

fn collect_slots(p: &Particle, many_ctx: bool, out: &mut Vec<Slot>) {
    let (_, max) = p.occurs();
    let many = many_ctx || max > 1;
    let own_many = max > 1;
    match p {
        Particle::Elem { decl, .. } => {
            let d = schema::decl(*decl);
            if d.ns == Ns::Iodef && WRAPPERS.contains(&d.name) {
                if let Content::Complex {
                    model: Particle::Seq { items, .. },
                    ..
                } = &d.content
                {
                    if let Some(Particle::Elem { decl: inner, .. }) = items.first() {
                        let name = json_name(schema::decl(*inner).name);
                        out.push(Slot::Wrapper {
                            decl: *decl,
                            inner: *inner,
                            name,
                        });
                        return;
                    }
                }
            }
            if d.ns == Ns::Iodef && d.name == "ObservableReference" {
                out.push(Slot::ObsRef { decl: *decl, many });
                return;
            }
            out.push(Slot::Elem {
                decl: *decl,
                name: json_name(d.name),
                many: own_many,
                ctx_many: many_ctx,
            });
        }
        Particle::Any { .. } => {}
        Particle::Seq { items, .. } => items.iter().for_each(|i| collect_slots(i, many, out)),
        // (a Choice below repeats its items when it repeats itself)
        Particle::Choice { items, .. } => {
            // The items of a repeated choice are arrays in RFC 8727 (e.g. IndicatorExpression's
            // IndicatorExpression / Observable / uid-ref / IndicatorReference).
            let many = many || (max > 1);
            let is_impact = items
                .iter()
                .any(|i| matches!(i, Particle::Elem { decl, .. } if schema::decl(*decl).name == "SystemImpact"));
            if is_impact {
                let decls = items
                    .iter()
                    .filter_map(|i| match i {
                        Particle::Elem { decl, .. } => Some(*decl),
                        _ => None,
                    })
                    .collect();
                out.push(Slot::Impact { decls });
            } else {
                for i in items.iter() {
                    let before = out.len();
                    collect_slots(i, many, out);
                    if many {
                        for s in &mut out[before..] {
                            if let Slot::Elem { many: m, .. } | Slot::ObsRef { many: m, .. } = s {
                                *m = true;
                            }
                        }
                    }
                }
            }
        }
    }
}

/// Slots of every declaration, computed once.
pub(crate) fn slots(di: usize) -> &'static [Slot] {
    static ALL: OnceLock<Vec<Vec<Slot>>> = OnceLock::new();
    let all = ALL.get_or_init(|| {
        (0..schema_len())
            .map(|i| {
                let mut v = Vec::new();
                if let Content::Complex { model, .. } = &schema::decl(i).content {
                    collect_slots(model, false, &mut v);
                }
                v
            })
            .collect()
    });
    &all[di]
}

fn schema_len() -> usize {
    super::schema_gen::DECLS.len()
}

fn is_xml_dtype(el: &Element) -> bool {
    el.attr("dtype") == Some("xml")
}

// ---------------------------------------------------------------------------------------------
// JSON → XML
// ---------------------------------------------------------------------------------------------

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

fn new_elem(di: usize) -> Element {
    let d = schema::decl(di);
    let prefix = Some(d.ns.prefix())
        .filter(|p| !p.is_empty())
        .map(std::borrow::Cow::Borrowed);
    Element {
        ns: d.ns.uri().into(),
        name: d.name.into(),
        prefix,
        ..Default::default()
    }
}

/// Sets an attribute from a JSON member if the declaration has it; false if it is not an attribute.
fn take_attr(
    el: &mut Element,
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
    el.set_attr(decl_name, &s);
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

/// RFC 8727 JSON value to the XML element declared as `di`.
pub(crate) fn from_value(v: &Value, di: usize, path: &str) -> Result<Element, IodefError> {
    let d = schema::decl(di);
    let mut el = new_elem(di);
    match &d.content {
        Content::Opaque if d.ns == Ns::Sci => structured_from_json(v, di, path),
        Content::Opaque => {
            let s = v
                .as_str()
                .ok_or_else(|| IodefError::json(path, "expected base64 text"))?;
            let bytes = B64
                .decode(s.as_bytes())
                .map_err(|e| IodefError::json(path, format!("invalid base64: {e}")))?;
            let text = String::from_utf8(bytes)
                .map_err(|_| IodefError::json(path, "base64 content is not UTF-8 XML"))?;
            let parsed = tree::parse_xml(&text)
                .map_err(|e| IodefError::json(path, format!("embedded XML: {e}")))?;
            if parsed.ns != el.ns || parsed.name != el.name {
                return Err(IodefError::json(
                    path,
                    format!("embedded XML must be a {} element", d.name),
                ));
            }
            Ok(strip_lines(parsed))
        }
        Content::Simple(_) => {
            match v {
                Value::Object(m) => {
                    let tk = text_key(d.name);
                    for (k, x) in m {
                        if k == tk {
                            el.children
                                .push(Node::Text(text_of(x, &format!("{path}/{k}"))?));
                        } else if !take_attr(&mut el, di, k, x, path)? {
                            return Err(IodefError::json(
                                &format!("{path}/{k}"),
                                format!("unknown member for {}", d.name),
                            ));
                        }
                    }
                }
                other => el.children.push(Node::Text(text_of(other, path)?)),
            }
            el.children
                .retain(|n| !matches!(n, Node::Text(t) if t.is_empty()));
            Ok(el)
        }
        Content::Empty => {
            for (k, x) in as_object(v, path)? {
                if !take_attr(&mut el, di, k, x, path)? {
                    return Err(IodefError::json(
                        &format!("{path}/{k}"),
                        format!("unknown member for {}", d.name),
                    ));
                }
            }
            Ok(el)
        }
        Content::Complex { mixed: true, .. } if d.attrs.is_empty() && d.ty.is_empty() => {
            let s = text_of(v, path)?;
            match tree::parse_fragment(&s) {
                Ok(nodes) if nodes.iter().any(|n| matches!(n, Node::Element(_))) => {
                    el.children.extend(nodes.into_iter().map(strip_node))
                }
                _ if !s.is_empty() => el.children.push(Node::Text(s)),
                _ => {}
            }
            Ok(el)
        }
        Content::Complex { mixed, .. } => {
            let m = as_object(v, path)?;
            let mut value = None;
            for (k, x) in m {
                if *mixed && k == "value" {
                    value = Some(text_of(x, &format!("{path}/value"))?);
                    continue;
                }
                if take_attr(&mut el, di, k, x, path)? {
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
                if is_xml_dtype(&el) {
                    let nodes = tree::parse_fragment(&val).map_err(|e| {
                        IodefError::json(
                            &format!("{path}/value"),
                            format!("dtype=\"xml\" value: {e}"),
                        )
                    })?;
                    el.children.extend(nodes.into_iter().map(strip_node));
                } else if !val.is_empty() {
                    el.children.push(Node::Text(val));
                }
            }
            children_from_json(&mut el, m, di, path)?;
            Ok(el)
        }
    }
}

fn strip_node(n: Node) -> Node {
    match n {
        Node::Element(e) => Node::Element(strip_lines(e)),
        t => t,
    }
}

/// Elements built from JSON carry no source lines.
fn strip_lines(mut e: Element) -> Element {
    e.line = 0;
    e.children = e.children.into_iter().map(strip_node).collect();
    e
}

fn children_from_json(
    el: &mut Element,
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
                        el.children.push(Node::Element(from_value(x, *decl, &p)?));
                    }
                }
            }
            Slot::Wrapper { decl, inner, name } => {
                if let Some(v) = m.get(*name) {
                    let mut w = new_elem(*decl);
                    for (p, x) in items(v, true, &format!("{path}/{name}"))? {
                        w.children.push(Node::Element(from_value(x, *inner, &p)?));
                    }
                    el.children.push(Node::Element(w));
                }
            }
            Slot::ObsRef { decl, many } => {
                if let Some(v) = m.get("uid-ref") {
                    for (p, x) in items(v, *many, &format!("{path}/uid-ref"))? {
                        let mut o = new_elem(*decl);
                        o.set_attr("uid-ref", &text_of(x, &p)?);
                        el.children.push(Node::Element(o));
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
                            el.children.push(Node::Element(from_value(
                                iv,
                                *idx,
                                &format!("{p}/{k}"),
                            )?));
                        }
                    }
                }
            }
        }
    }
    Ok(())
}

fn structured_from_json(v: &Value, di: usize, path: &str) -> Result<Element, IodefError> {
    let mut el = new_elem(di);
    el.prefix = Some("sci".into());
    structured_fill(&mut el, v, path)?;
    Ok(el)
}

fn structured_fill(el: &mut Element, v: &Value, path: &str) -> Result<(), IodefError> {
    let m = as_object(v, path)?;
    for key in ["SpecID", "ext-SpecID", "ContentID"] {
        if let Some(x) = m.get(key) {
            el.set_attr(key, &text_of(x, &format!("{path}/{key}"))?);
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
            let child = match key {
                "RawData" => {
                    let s = x
                        .as_str()
                        .ok_or_else(|| IodefError::json(&p, "expected base64 text"))?;
                    let bytes = B64
                        .decode(s.as_bytes())
                        .map_err(|e| IodefError::json(&p, format!("invalid base64: {e}")))?;
                    let text = String::from_utf8(bytes)
                        .map_err(|_| IodefError::json(&p, "RawData is not UTF-8"))?;
                    let nodes = tree::parse_fragment(&text)
                        .map_err(|e| IodefError::json(&p, format!("RawData: {e}")))?;
                    Element {
                        ns: NS_SCI.into(),
                        name: "RawData".into(),
                        prefix: Some("sci".into()),
                        children: nodes.into_iter().map(strip_node).collect(),
                        ..Default::default()
                    }
                }
                "Reference" => {
                    let r = schema::find(NS_IODEF, "Reference")
                        .ok_or_else(|| IodefError::json(&p, "no Reference class"))?;
                    from_value(x, r, &p)?
                }
                _ => {
                    let mut e = Element {
                        ns: NS_SCI.into(),
                        name: key.into(),
                        prefix: Some("sci".into()),
                        ..Default::default()
                    };
                    structured_fill(&mut e, x, &p)?;
                    e
                }
            };
            el.children.push(Node::Element(child));
        }
    }
    Ok(())
}
