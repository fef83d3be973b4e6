//! XML → RFC 8727 JSON, as a `serde::Serialize` view of the element tree.
//!
//! The view serialises straight into any serde serializer: `serde_json::to_writer` streams JSON text
//! without building a `serde_json::Value` (one `BTreeMap` node and key `String` per member, which
//! dominated XML→JSON in the profile), and `serde_json::to_value` gives the `Value` form from the very
//! same code, so the two can never disagree. Members are written in the order a `serde_json::Map`
//! (a `BTreeMap`, no `preserve_order`) would hold them, so the text is byte-identical to serialising
//! the `Value`.
//!
//! The mapping itself (which child is which member, arrays, the RFC 8727 §3.2 special cases) is the
//! one described in `members.rs` and `src/iodef/README.md`. The text writer (`write.rs`) writes the
//! same bytes faster and falls back to this view for what its layouts cannot say.

use std::borrow::Cow;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use serde::ser::{SerializeMap, SerializeSeq};
use serde::{Serialize, Serializer};

use super::members::{slots, text_key, Slot};
use crate::iodef::arena::{Attribute, Element};
use crate::iodef::schema::{self, same, Content, Ns, St, NS_IODEF, NS_SCI, NS_XML};
use crate::iodef::xml;

/// The RFC 8727 JSON form of the element `el`, declared as `di` in the schema table.
pub(crate) struct JsonView<'a> {
    pub el: Element<'a>,
    pub di: usize,
}

/// One member value, resolved lazily: nested elements serialise themselves when written.
enum Member<'a> {
    /// Text typed by a simple type (numbers for INTEGER/REAL, collapsed text otherwise).
    Scalar(St, Cow<'a, str>),
    /// Text as it is.
    Str(Cow<'a, str>),
    /// A child element's own JSON form.
    Elem(Element<'a>, usize),
    /// `{ "<name>": <child> }` (Assessment's impacts).
    Impact(Element<'a>, usize),
    /// An SCI element's STRUCTUREDINFO object.
    Structured(Element<'a>),
    Array(Vec<Member<'a>>),
}

/// An object under construction: members keyed like a `serde_json::Map` (a later insert replaces).
#[derive(Default)]
struct Obj<'a> {
    members: Vec<(Cow<'a, str>, Member<'a>)>,
}

impl<'a> Obj<'a> {
    fn with_capacity(n: usize) -> Self {
        Obj {
            members: Vec::with_capacity(n),
        }
    }

    fn get_mut(&mut self, key: &str) -> Option<&mut Member<'a>> {
        self.members
            .iter_mut()
            .find(|(k, _)| same(k, key))
            .map(|(_, v)| v)
    }

    /// `Map::insert`: replaces the value of an existing key.
    fn insert(&mut self, key: Cow<'a, str>, v: Member<'a>) {
        match self.get_mut(&key) {
            Some(slot) => *slot = v,
            None => self.members.push((key, v)),
        }
    }

    /// Appends to the array member `key` (creating it; a non-array value there is replaced).
    fn push(&mut self, key: Cow<'a, str>, many: bool, v: Member<'a>) {
        if !many {
            return self.insert(key, v);
        }
        match self.get_mut(&key) {
            Some(Member::Array(a)) => a.push(v),
            Some(other) => *other = Member::Array(vec![v]),
            None => self.members.push((key, Member::Array(vec![v]))),
        }
    }

    /// The members in the order of a `serde_json::Map` (a `BTreeMap`: keys in byte order).
    fn sorted(mut self) -> Self {
        self.members
            .sort_by(|(a, _), (b, _)| a.as_bytes().cmp(b.as_bytes()));
        self
    }
}

impl Serialize for Obj<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(self.members.len()))?;
        for (k, v) in &self.members {
            m.serialize_entry(&**k, v)?;
        }
        m.end()
    }
}

impl Serialize for Member<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Member::Scalar(ty, text) => serialize_scalar(*ty, text, s),
            Member::Str(t) => s.serialize_str(t),
            Member::Elem(el, di) => JsonView { el: *el, di: *di }.serialize(s),
            Member::Impact(el, di) => {
                let mut m = s.serialize_map(Some(1))?;
                m.serialize_entry(el.name(), &JsonView { el: *el, di: *di })?;
                m.end()
            }
            Member::Structured(el) => structured(*el).sorted().serialize(s),
            Member::Array(items) => {
                let mut seq = s.serialize_seq(Some(items.len()))?;
                for i in items {
                    seq.serialize_element(i)?;
                }
                seq.end()
            }
        }
    }
}

/// A typed scalar from text: integers as JSON integers (i64, else u64), REALs as JSON numbers when
/// finite; anything else (including integers beyond u64, RFC 8727 §3.2 #15) as collapsed text.
pub(crate) fn serialize_scalar<S: Serializer>(ty: St, text: &str, s: S) -> Result<S::Ok, S::Error> {
    match ty {
        St::String => s.serialize_str(text),
        St::Integer | St::Float | St::PositiveFloat => {
            let c = schema::collapsed(text);
            let n = c.trim_start_matches('+');
            if let Ok(i) = n.parse::<i64>() {
                return s.serialize_i64(i);
            }
            if let Ok(u) = n.parse::<u64>() {
                return s.serialize_u64(u);
            }
            if matches!(ty, St::Float | St::PositiveFloat) {
                if let Some(f) = c.parse::<f64>().ok().filter(|f| f.is_finite()) {
                    return s.serialize_f64(f);
                }
            }
            s.serialize_str(&c)
        }
        _ => s.serialize_str(&schema::collapsed(text)),
    }
}

/// The member name of an attribute: `lang` for `xml:lang`; `None` for `xsi:*` and foreign attributes
/// (RFC 8727 has no member for them).
pub(crate) fn attr_json_name<'a>(a: &Attribute<'a>) -> Option<&'a str> {
    if a.ns == NS_XML && a.name == "lang" {
        Some("lang")
    } else if a.ns.is_empty() {
        Some(a.name)
    } else {
        None
    }
}

/// The attributes RFC 8727's JSON schema requires where the XSD has them optional with a default:
/// (element, attribute, the XSD's default). Left out of the XML, they are written to JSON with the
/// default, the value the XSD gives them (issue 21: otherwise gridlink's JSON fails RFC 8727).
pub(crate) fn required_default(d: &schema::Decl) -> Option<(&'static str, &'static str)> {
    if d.ns != Ns::Iodef {
        return None;
    }
    match d.name {
        "Address" => Some(("category", "ipv6-addr")),
        "SystemImpact" => Some(("type", "unknown")),
        _ => None,
    }
}

fn put_attrs<'a>(el: Element<'a>, di: usize, m: &mut Obj<'a>) {
    let d = schema::decl(di);
    if let Some((name, default)) = required_default(d) {
        if el.attr(name).is_none() {
            m.insert(Cow::Borrowed(name), Member::Str(Cow::Borrowed(default)));
        }
    }
    for a in el.attrs() {
        let Some(name) = attr_json_name(&a) else {
            continue;
        };
        let decl_name = if name == "lang" { "xml:lang" } else { name };
        let ty = d
            .attrs
            .iter()
            .find(|x| same(x.name, decl_name))
            .map(|x| x.ty)
            .unwrap_or(St::String);
        // XML "2.00" is JSON "2.0" (the RFC 8727 examples' spelling).
        let v = if di == schema::ROOT && name == "version" && a.value == "2.00" {
            Member::Str(Cow::Borrowed("2.0"))
        } else {
            Member::Scalar(ty, Cow::Borrowed(a.value))
        };
        m.insert(Cow::Borrowed(name), v);
    }
}

impl Serialize for JsonView<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let (el, di) = (self.el, self.di);
        let d = schema::decl(di);
        match &d.content {
            Content::Opaque if d.ns == Ns::Sci => structured(el).sorted().serialize(s),
            Content::Opaque => s.serialize_str(&B64.encode(xml::to_string(el))),
            Content::Simple(ty) => {
                let text = el.text_cow();
                if el.attrs().all(|a| attr_json_name(&a).is_none())
                    && (d.attrs.is_empty() || d.ty == "MLStringType")
                {
                    return serialize_scalar(*ty, &text, s);
                }
                let mut m = Obj::default();
                put_attrs(el, di, &mut m);
                m.insert(Cow::Borrowed(text_key(d.name)), Member::Scalar(*ty, text));
                m.sorted().serialize(s)
            }
            Content::Empty => {
                let mut m = Obj::default();
                put_attrs(el, di, &mut m);
                m.sorted().serialize(s)
            }
            Content::Complex { mixed: true, .. } if d.attrs.is_empty() && d.ty.is_empty() => {
                // A local element without a type (xs:anyType): BulkObservableList. RFC 8727 has a string.
                if el.elements().next().is_some() {
                    s.serialize_str(&xml::write_content(el))
                } else {
                    s.serialize_str(&el.text_cow())
                }
            }
            Content::Complex { mixed, .. } => {
                let mut m = Obj::with_capacity(el.attrs().len() + slots(di).len().min(8) + 1);
                put_attrs(el, di, &mut m);
                if *mixed {
                    let has_elems = el.elements().next().is_some();
                    let v = if el.attr("dtype") == Some("xml") || has_elems {
                        Cow::Owned(xml::write_content(el))
                    } else {
                        el.text_cow()
                    };
                    if !v.is_empty() || d.ty == "ExtensionType" {
                        m.insert(Cow::Borrowed("value"), Member::Str(v));
                    }
                }
                children(el, di, &mut m);
                m.sorted().serialize(s)
            }
        }
    }
}

fn children<'a>(el: Element<'a>, di: usize, m: &mut Obj<'a>) {
    let sl = slots(di);
    let mut ctx_seen: Vec<&str> = Vec::new();
    for k in el.elements() {
        // The slot and declaration of this child among the parent's slots (no table-wide search).
        let in_slot = sl.iter().find_map(|s| {
            let cands: &[usize] = match s {
                Slot::Elem { decl, .. }
                | Slot::Wrapper { decl, .. }
                | Slot::ObsRef { decl, .. } => std::slice::from_ref(decl),
                Slot::Impact { decls } => decls,
            };
            cands
                .iter()
                .copied()
                .find(|d| {
                    let d = schema::decl(*d);
                    same(d.name, k.name()) && same(d.ns.uri(), k.ns())
                })
                .map(|d| (s, d))
        });
        let Some((s, idx)) = in_slot else {
            continue;
        };
        match s {
            Slot::Elem {
                name,
                many,
                ctx_many,
                ..
            } => {
                let v = Member::Elem(k, idx);
                if !*many && *ctx_many {
                    if ctx_seen.contains(name) {
                        // second occurrence: turn the member into an array (element values are
                        // never arrays, so an array here is ours)
                        if let Some(prev) = m.get_mut(name) {
                            if !matches!(prev, Member::Array(_)) {
                                let old = std::mem::replace(prev, Member::Array(Vec::new()));
                                *prev = Member::Array(vec![old]);
                            }
                        }
                        m.push(Cow::Borrowed(name), true, v);
                    } else {
                        m.insert(Cow::Borrowed(name), v);
                    }
                    ctx_seen.push(name);
                } else {
                    m.push(Cow::Borrowed(name), *many, v);
                }
            }
            Slot::Wrapper { inner, name, .. } => {
                for w in k.elements() {
                    if schema::find(w.ns(), w.name()) == Some(*inner) {
                        m.push(Cow::Borrowed(name), true, Member::Elem(w, *inner));
                    }
                }
                // An empty wrapper is invalid anyway; make sure the member exists.
                if m.get_mut(name).is_none() {
                    m.insert(Cow::Borrowed(name), Member::Array(Vec::new()));
                }
            }
            Slot::ObsRef { many, .. } => {
                let v = Member::Str(Cow::Owned(
                    k.attr("uid-ref").map(schema::collapse).unwrap_or_default(),
                ));
                m.push(Cow::Borrowed("uid-ref"), *many, v);
            }
            Slot::Impact { .. } => {
                m.push(Cow::Borrowed("Impact"), true, Member::Impact(k, idx));
            }
        }
    }
}

/// RFC 7203 SCI class → RFC 8727 STRUCTUREDINFO.
fn structured(el: Element<'_>) -> Obj<'_> {
    let mut m = Obj::default();
    for a in el.attrs() {
        if a.ns.is_empty() {
            m.insert(Cow::Borrowed(a.name), Member::Str(Cow::Borrowed(a.value)));
        }
    }
    for k in el.elements() {
        match (k.ns(), k.name()) {
            (NS_SCI, "RawData") => m.push(
                Cow::Borrowed("RawData"),
                true,
                Member::Str(Cow::Owned(B64.encode(xml::write_content(k)))),
            ),
            (NS_SCI, n @ ("Platform" | "Scoring")) => {
                m.push(Cow::Borrowed(n), true, Member::Structured(k))
            }
            (NS_IODEF, "Reference") => {
                if let Some(r) = schema::find(NS_IODEF, "Reference") {
                    m.push(Cow::Borrowed("Reference"), true, Member::Elem(k, r));
                }
            }
            _ => {}
        }
    }
    m
}
