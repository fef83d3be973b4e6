//! XML → RFC 8727 JSON text, written straight into one byte buffer: the text path of
//! [`Document::to_json_string`](crate::iodef::Document::to_json_string) and
//! [`Document::write_json`](crate::iodef::Document::write_json).
//!
//! `view.rs` is the reference: a `serde::Serialize` view that collects each object's members in a
//! `Vec`, sorts them like a `serde_json::Map` and serialises them (it still gives `to_json()`'s
//! `Value`). Here each declaration's members are laid out once, in that same byte order (`write_plan.rs`),
//! so an object is written key by key with no member list, no sort and no allocation; each child
//! element is assigned to its member in one pass over the children. Whatever the layout cannot say
//! for certain falls back to the view for that element and its subtree (attributes the declaration
//! lacks, two members of one name, opaque and untyped content), so the text is byte-identical to
//! the view's (tested against it).

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use serde::Serialize;

use super::escape::write_str;
use super::members::{slots, Slot};
use super::view::{attr_json_name, serialize_scalar, JsonView};
use super::write_plan::{elem_is, layout, slot_of, Layout, Src};
use crate::iodef::arena::Element;
use crate::iodef::schema::{self, attr_table, same, Content, Ns, St};
use crate::iodef::xml;

type Res = Result<(), serde_json::Error>;

/// What `Writer::element` learnt about an element's attributes and children before writing it.
struct Found {
    /// Declared attributes present (bit i for declaration attribute i).
    seen: u64,
    /// For each bit of `seen`, the attribute's index among the element's attributes (bytes: zeroing
    /// 64 `u32`s per element showed in the profile; an element whose member attribute comes after its
    /// 256th attribute is written by the view).
    at: [u8; 64],
    /// Slots with at least one child (bit j for slot j < 64).
    filled: u64,
    /// Slots with more than one child (bit j for slot j < 64).
    multi: u64,
}

/// The writer: the output and a scratch list of (child slot, child) pairs shared by all levels
/// (each level uses the part after its parent's).
pub(crate) struct Writer<'a> {
    pub out: Vec<u8>,
    kids: Vec<(u32, Element<'a>)>,
}

impl<'a> Writer<'a> {
    /// A writer whose output starts with `capacity` bytes reserved.
    pub(crate) fn new(capacity: usize) -> Self {
        Writer {
            out: Vec::with_capacity(capacity),
            kids: Vec::new(),
        }
    }

    fn ser(&mut self) -> serde_json::Serializer<&mut Vec<u8>> {
        serde_json::Serializer::new(&mut self.out)
    }

    fn str(&mut self, s: &str) -> Res {
        write_str(&mut self.out, s);
        Ok(())
    }

    /// `serialize_scalar`'s text, with strings written by [`write_str`] instead of serde_json's
    /// escaper; numbers (and number types whose text is not a number) still go through serde_json.
    fn scalar(&mut self, ty: St, text: &str) -> Res {
        match ty {
            St::Integer | St::Float | St::PositiveFloat => {
                serialize_scalar(ty, text, &mut self.ser())
            }
            St::String => self.str(text),
            _ => self.str(&schema::collapsed(text)),
        }
    }

    /// A member's key: `quoted` is `"key":` (see `Layout::quoted`).
    fn key(&mut self, first: &mut bool, quoted: &str) {
        if !std::mem::take(first) {
            self.out.push(b',');
        }
        self.out.extend_from_slice(quoted.as_bytes());
    }

    /// An element the layout does not describe: by the view, except xmldsig content (the base64 of
    /// its XML, the view's `serialize_str(&B64.encode(xml::to_string(el)))`), which is encoded
    /// straight into the output: base64 text has nothing to escape, and the encoded copy and
    /// serde_json's scan of it showed in the profile.
    fn view(&mut self, el: Element<'_>, di: usize) -> Res {
        let d = schema::decl(di);
        if matches!(d.content, Content::Opaque) && d.ns != Ns::Sci {
            let xml = xml::to_string(el);
            self.out.push(b'"');
            let start = self.out.len();
            let len = base64::encoded_len(xml.len(), true).unwrap_or(0);
            self.out.resize(start + len, 0);
            match self
                .out
                .get_mut(start..)
                .map(|tail| B64.encode_slice(xml.as_bytes(), tail))
            {
                Some(Ok(n)) => self.out.truncate(start + n),
                // Not reached (the tail is the encoded length); the plain way, as the view.
                _ => {
                    self.out.truncate(start);
                    self.out.extend_from_slice(B64.encode(&xml).as_bytes());
                }
            }
            self.out.push(b'"');
            return Ok(());
        }
        JsonView { el, di }.serialize(&mut self.ser())
    }

    /// The JSON form of `el`, declared as `di`.
    pub(crate) fn element(&mut self, el: Element<'a>, di: usize) -> Res {
        let lay = layout(di);
        if lay.fallback {
            return self.view(el, di);
        }
        let d = schema::decl(di);
        // Every member attribute must be a distinct declared one; else the view decides.
        let mut seen = 0u64;
        // Where each seen declared attribute is among the element's attributes (only the entries of
        // `seen` are meaningful), so that writing it needs no second search by name.
        let mut at = [0u8; 64];
        let table = attr_table(di);
        let mut any_member_attr = false;
        for (ai, a) in el.attrs().enumerate() {
            let Some(name) = attr_json_name(&a) else {
                continue;
            };
            any_member_attr = true;
            // Unqualified names by the name table's copy first, as validation finds them.
            let found = if name == "lang" && !a.ns.is_empty() {
                d.attrs.iter().position(|x| x.name == "xml:lang")
            } else {
                table
                    .find(name)
                    .or_else(|| d.attrs.iter().position(|x| same(x.name, name)))
            };
            match (found, u8::try_from(ai)) {
                (Some(i), Ok(ai)) if i < 64 && seen & (1 << i) == 0 => {
                    seen |= 1 << i;
                    at[i] = ai;
                }
                _ => return self.view(el, di),
            }
        }
        if let Content::Simple(ty) = &d.content {
            if lay.scalar_ok && !any_member_attr {
                return self.scalar(*ty, &el.text_cow());
            }
        }
        // Children, each with its slot (u32::MAX: none), after the levels above.
        let base = self.kids.len();
        // Slots that have a child (bit j for slot j < 64; slots beyond are always looked at).
        let mut filled = 0u64;
        let mut multi = 0u64;
        if let Content::Complex { .. } = &d.content {
            for k in el.elements() {
                let j = slot_of(di, k);
                let bit = 1u64.checked_shl(j).unwrap_or(0);
                multi |= filled & bit;
                filled |= bit;
                self.kids.push((j, k));
            }
        }
        let found = Found {
            seen,
            at,
            filled,
            multi,
        };
        let r = self.members(el, di, lay, &found, base);
        self.kids.truncate(base);
        r
    }

    fn members(
        &mut self,
        el: Element<'a>,
        di: usize,
        lay: &Layout,
        found: &Found,
        base: usize,
    ) -> Res {
        self.out.push(b'{');
        let mut first = true;
        // The keys to look at, as bits of their positions: with `bits`, those of the attributes
        // and slots present and those always looked at; else (more than 64 keys) every key, in
        // turn. Either way in key order, through one call site of `member` (inlined).
        let (mut present, mut rest) = match &lay.bits {
            Some(b) => {
                let mut present = b.always;
                let mut seen = found.seen;
                while seen != 0 {
                    present |= b.by_attr.get(seen.trailing_zeros() as usize).unwrap_or(&0);
                    seen &= seen - 1;
                }
                let mut filled = found.filled;
                while filled != 0 {
                    present |= b
                        .by_slot
                        .get(filled.trailing_zeros() as usize)
                        .unwrap_or(&0);
                    filled &= filled - 1;
                }
                (present, 0..0)
            }
            None => (0, 0..lay.keys.len()),
        };
        loop {
            let t = if present != 0 {
                let t = present.trailing_zeros() as usize;
                present &= present - 1;
                t
            } else {
                match rest.next() {
                    Some(t) => t,
                    None => break,
                }
            };
            let (key, src) = lay.keys[t];
            self.member(&mut first, el, di, (key, &lay.quoted[t]), src, found, base)?;
        }
        self.out.push(b'}');
        Ok(())
    }

    /// The member `key` (and its quoted form) of `el` (declared as `di`) from `src`, if the
    /// element has it.
    #[allow(clippy::too_many_arguments)]
    #[inline(always)]
    fn member(
        &mut self,
        first: &mut bool,
        el: Element<'a>,
        di: usize,
        (key, quoted): (&'static str, &str),
        src: Src,
        found: &Found,
        base: usize,
    ) -> Res {
        let d = schema::decl(di);
        match src {
            Src::Attr(i) => {
                if found.seen & (1 << i) == 0 {
                    return Ok(());
                }
                let ad = &d.attrs[i];
                // The one attribute that is declaration `i` (each declared one at most once,
                // see `element`).
                let value = el.attr_at(found.at[i] as usize).map_or("", |a| a.value);
                self.key(first, quoted);
                // XML "2.00" is JSON "2.0" (the RFC 8727 examples' spelling).
                if di == schema::ROOT && key == "version" && value == "2.00" {
                    self.str("2.0")?;
                } else {
                    self.scalar(ad.ty, value)?;
                }
            }
            Src::Text => {
                let Content::Simple(ty) = &d.content else {
                    return Ok(());
                };
                self.key(first, quoted);
                self.scalar(*ty, &el.text_cow())?;
            }
            Src::Mixed => {
                let has_elems = el.elements().next().is_some();
                let v = if el.attr("dtype") == Some("xml") || has_elems {
                    std::borrow::Cow::Owned(xml::write_content(el))
                } else {
                    el.text_cow()
                };
                if !v.is_empty() || d.ty == "ExtensionType" {
                    self.key(first, quoted);
                    self.str(&v)?;
                }
            }
            // A slot no child was filed under writes nothing.
            Src::Slot(j) if j < 64 && found.filled & (1 << j) == 0 => {}
            Src::Slot(j) => self.slot(first, quoted, j, di, base, found.multi)?,
        }
        Ok(())
    }

    /// The member of slot `j` of `di`, from the children assigned to it (none: no member). Children
    /// of this level are `kids[base..end]`; deeper levels use the part after `end` and give it back.
    /// `multi`: [`Found::multi`].
    fn slot(
        &mut self,
        first: &mut bool,
        quoted: &str,
        j: usize,
        di: usize,
        base: usize,
        multi: u64,
    ) -> Res {
        let end = self.kids.len();
        let j32 = j as u32;
        // How many children this slot has and the last of them: a slot of the first 64 with one
        // child (the usual case; `member` calls this only for filled ones) is found by a search
        // that stops at it, any other in one pass over all the children.
        let (mut count, mut last) = (0usize, base);
        let bit = 1u64.checked_shl(j32).unwrap_or(0);
        if bit != 0 && multi & bit == 0 {
            if let Some(i) = self.kids[base..end].iter().position(|(s, _)| *s == j32) {
                (count, last) = (1, base + i);
            }
        } else {
            for (i, (s, _)) in self.kids[base..end].iter().enumerate() {
                if *s == j32 {
                    count += 1;
                    last = base + i;
                }
            }
        }
        if count == 0 {
            return Ok(());
        }
        self.key(first, quoted);
        match &slots(di)[j] {
            Slot::Elem {
                decl,
                many,
                ctx_many,
                ..
            } => {
                // An array when the slot repeats; when only an enclosing group does, one occurrence
                // is a plain value and several an array (see `json::Slot`). Otherwise a later
                // occurrence replaces an earlier one.
                if *many || (*ctx_many && count > 1) {
                    self.array(base..end, j32, |w, k| w.element(k, *decl))?;
                } else {
                    let k = self.kids[last].1;
                    self.element(k, *decl)?;
                }
            }
            Slot::Wrapper { inner, .. } => {
                self.out.push(b'[');
                let mut n = 0;
                for i in base..end {
                    let (sj, k) = self.kids[i];
                    if sj != j32 {
                        continue;
                    }
                    for w in k.elements() {
                        if w.decl() as usize == *inner {
                            if n > 0 {
                                self.out.push(b',');
                            }
                            n += 1;
                            self.element(w, *inner)?;
                        }
                    }
                }
                self.out.push(b']');
            }
            Slot::ObsRef { many, .. } => {
                let value =
                    |k: Element<'_>| k.attr("uid-ref").map(schema::collapse).unwrap_or_default();
                if *many {
                    self.array(base..end, j32, |w, k| w.str(&value(k)))?;
                } else {
                    let k = self.kids[last].1;
                    self.str(&value(k))?;
                }
            }
            Slot::Impact { decls } => {
                self.array(base..end, j32, |w, k| {
                    w.out.push(b'{');
                    w.str(k.name())?;
                    w.out.push(b':');
                    // The child matched one of `decls` when it was assigned to this slot.
                    if let Some(kd) = decls.iter().copied().find(|x| elem_is(*x, k)) {
                        w.element(k, kd)?;
                    }
                    w.out.push(b'}');
                    Ok(())
                })?;
            }
        }
        Ok(())
    }

    /// Writes `[…]` with `item` for each child in `kids[range]` filed under slot `j`.
    fn array(
        &mut self,
        range: std::ops::Range<usize>,
        j: u32,
        mut item: impl FnMut(&mut Self, Element<'a>) -> Res,
    ) -> Res {
        self.out.push(b'[');
        let mut first = true;
        for i in range {
            let (sj, k) = self.kids[i];
            if sj == j {
                if !first {
                    self.out.push(b',');
                }
                first = false;
                item(self, k)?;
            }
        }
        self.out.push(b']');
        Ok(())
    }
}
