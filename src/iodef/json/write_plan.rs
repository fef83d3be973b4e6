//! What the JSON text writer (`write.rs`) works out once per declaration: its members in
//! `serde_json::Map` key order with where each one's value comes from ([`Layout`], written key by key
//! with no member list, sort or allocation per element), and which slot (`members.rs`) each child
//! declaration is filed under ([`slot_of`]).

use std::sync::OnceLock;

use super::members::{slots, text_key, Slot};
use crate::iodef::arena::Element;
use crate::iodef::schema::{self, Content, NO_DECL};

/// Where a member's value comes from.
#[derive(Clone, Copy, Debug)]
pub(super) enum Src {
    /// The declaration's attribute of this index.
    Attr(usize),
    /// The element's text (simple content).
    Text,
    /// The text or XML content of mixed content (`value`).
    Mixed,
    /// The JSON slot of this index (`json::slots`).
    Slot(usize),
}

/// The members an element of one declaration can have, in `serde_json::Map` order.
pub(super) struct Layout {
    /// Written by the view instead (see the module docs).
    pub(super) fallback: bool,
    /// Simple content written as a bare scalar when the element has no member attribute.
    pub(super) scalar_ok: bool,
    pub(super) keys: Vec<(&'static str, Src)>,
    /// Each key as written, quotes and colon included (one copy per member instead of four
    /// pushes, which showed in the profile).
    pub(super) quoted: Vec<String>,
    /// The members as bits of key positions, when there are at most 64 keys (else `None`): which
    /// key each declared attribute and each slot under 64 is, and the keys that are always looked
    /// at (text, mixed content, slots from 64 on). Writing visits only the keys an element has
    /// (going over every key of the long IODEF layouts showed in the profile).
    pub(super) bits: Option<KeyBits>,
}

/// See [`Layout::bits`].
pub(super) struct KeyBits {
    pub(super) by_attr: Vec<u64>,
    pub(super) by_slot: Vec<u64>,
    pub(super) always: u64,
}

fn key_bits(keys: &[(&'static str, Src)], attrs: usize) -> Option<KeyBits> {
    if keys.len() > 64 || attrs > 64 {
        return None;
    }
    let mut b = KeyBits {
        by_attr: vec![0; attrs],
        by_slot: Vec::new(),
        always: 0,
    };
    for (t, (_, src)) in keys.iter().enumerate() {
        let bit = 1u64 << t;
        match *src {
            Src::Attr(i) => *b.by_attr.get_mut(i)? |= bit,
            Src::Slot(j) if j < 64 => {
                if b.by_slot.len() <= j {
                    b.by_slot.resize(j + 1, 0);
                }
                b.by_slot[j] |= bit;
            }
            Src::Slot(_) | Src::Text | Src::Mixed => b.always |= bit,
        }
    }
    Some(b)
}

fn layout_of(di: usize) -> Layout {
    let d = schema::decl(di);
    let mut keys: Vec<(&'static str, Src)> = d
        .attrs
        .iter()
        .enumerate()
        .map(|(i, a)| {
            let name = if a.name == "xml:lang" { "lang" } else { a.name };
            (name, Src::Attr(i))
        })
        .collect();
    let mut fallback = d.attrs.iter().any(|a| {
        // An attribute declared with a prefix other than xml: (none in the table) would need the
        // view's rules.
        a.name.contains(':') && a.name != "xml:lang"
    });
    // The view writes the XSD's default of an attribute RFC 8727 requires (`view::required_default`).
    if super::view::required_default(d).is_some() {
        fallback = true;
    }
    let mut scalar_ok = false;
    match &d.content {
        Content::Opaque => fallback = true,
        Content::Simple(_) => {
            scalar_ok = d.attrs.is_empty() || d.ty == "MLStringType";
            keys.push((text_key(d.name), Src::Text));
        }
        Content::Empty => {}
        // A local element without a type: the view writes a string.
        Content::Complex { mixed: true, .. } if d.attrs.is_empty() && d.ty.is_empty() => {
            fallback = true
        }
        Content::Complex { mixed, .. } => {
            if *mixed {
                keys.push(("value", Src::Mixed));
            }
            for (j, s) in slots(di).iter().enumerate() {
                let name = match s {
                    Slot::Elem { name, .. } | Slot::Wrapper { name, .. } => *name,
                    Slot::ObsRef { .. } => "uid-ref",
                    Slot::Impact { .. } => "Impact",
                };
                keys.push((name, Src::Slot(j)));
            }
        }
    }
    keys.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    // Two members of one name would need the view's "a later insert replaces" rule.
    if keys.windows(2).any(|w| w[0].0 == w[1].0) {
        fallback = true;
    }
    // Keys are written without escaping.
    if keys
        .iter()
        .any(|(k, _)| k.bytes().any(|b| b < 0x20 || b == b'"' || b == b'\\'))
    {
        fallback = true;
    }
    Layout {
        fallback,
        scalar_ok,
        bits: key_bits(&keys, d.attrs.len()),
        quoted: keys.iter().map(|(k, _)| format!("\"{k}\":")).collect(),
        keys,
    }
}

pub(super) fn layout(di: usize) -> &'static Layout {
    static ALL: OnceLock<Vec<Layout>> = OnceLock::new();
    &ALL.get_or_init(|| (0..schema::decl_count()).map(layout_of).collect())[di]
}

/// Whether `k` is an element of declaration `di`.
#[inline]
pub(super) fn elem_is(di: usize, k: Element<'_>) -> bool {
    k.decl() as usize == di
}

/// Per declaration, the (slot, declaration) of every declaration its slots take, in slot order:
/// one flat list to search per child instead of a declaration lookup per slot and child.
type SlotKeys = Vec<(u32, u32)>;

fn slot_keys(di: usize) -> &'static SlotKeys {
    static ALL: OnceLock<Vec<SlotKeys>> = OnceLock::new();
    &ALL.get_or_init(|| {
        (0..schema::decl_count())
            .map(|i| {
                let key = |j: usize, d: usize| (j as u32, d as u32);
                let mut v = Vec::new();
                for (j, s) in slots(i).iter().enumerate() {
                    match s {
                        Slot::Elem { decl, .. }
                        | Slot::Wrapper { decl, .. }
                        | Slot::ObsRef { decl, .. } => v.push(key(j, *decl)),
                        Slot::Impact { decls } => v.extend(decls.iter().map(|d| key(j, *d))),
                    }
                }
                v
            })
            .collect()
    })[di]
}

/// The first slot of declaration `di` that `k` belongs to (`u32::MAX`: none, the child has no
/// member), as `view::children` decides it: the slot of `k`'s declaration (declarations have
/// names of their own, so matching the name and namespace of a slot's declaration is being it).
pub(super) fn slot_of(di: usize, k: Element<'_>) -> u32 {
    let kd = k.decl();
    if kd == NO_DECL {
        return u32::MAX;
    }
    slot_keys(di)
        .iter()
        .find(|(_, d)| *d == kd)
        .map_or(u32::MAX, |x| x.0)
}
