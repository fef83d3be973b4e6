//! Per-declaration attribute tables for validation: which declared attribute a parsed one is (one
//! pointer compare per declared name, since parsed names are the name table's own strings), and the
//! required and `ext-X` attributes as bit sets, so that an element whose required attributes are all
//! there and that touches no `ext-X` pair (the usual case) needs no second look at its attributes.
//! Used by validation (`validate/strict.rs`) and the JSON writer (`json/write.rs`).

use super::lookup::{decl, decl_count};
use super::names::known_name;
use super::shape::{Attr, St};

/// `ext-X`'s base name `X`, for attribute names.
pub(crate) fn ext_base(name: &str) -> Option<&str> {
    name.strip_prefix("ext-")
}

/// The attributes `X` of declaration `di` that the `ext-X` rule (RFC 7970 §5.1.1) applies to: an
/// enumeration with `ext-value` beside an `ext-X` attribute. Computed once per declaration, not
/// per element.
pub(crate) fn ext_pairs(di: usize) -> &'static [&'static Attr] {
    use std::sync::OnceLock;
    static ALL: OnceLock<Vec<Vec<&'static Attr>>> = OnceLock::new();
    let all = ALL.get_or_init(|| {
        (0..decl_count())
            .map(|i| {
                let d = decl(i);
                d.attrs
                    .iter()
                    .filter(|ad| {
                        matches!(ad.ty, St::Enum(values) if values.contains(&"ext-value"))
                            && d.attrs.iter().any(|x| ext_base(x.name) == Some(ad.name))
                    })
                    .collect()
            })
            .collect()
    });
    all.get(di).map_or(&[], Vec::as_slice)
}

/// Per declaration: its attribute names as the name table's strings (one pointer compare each
/// finds a parsed attribute's declaration), which are required, and which take part in an `ext-X`
/// pair (RFC 7970 §5.1.1), as bit sets over the declaration's attribute indices.
pub(crate) struct AttrTable {
    /// (pointer, length) of the name table's copy of each declared unqualified name (0 for `xml:`).
    names: Vec<(usize, usize)>,
    pub(crate) required: u64,
    /// Attributes `X` of the declaration's `ext-X` pairs: the ones whose value (`ext-value` or not)
    /// [`AttrTable::satisfied`] reads (only the `X` bits of its `ext_value`).
    pub(crate) ext_mask: u64,
    /// More than 64 attributes: the bit sets cannot say, always look by name.
    pub(crate) wide: bool,
    /// The `ext-X` pairs as bits: (bit of `X`, bit of `ext-X`).
    pub(crate) pairs: Vec<(u64, u64)>,
}

impl AttrTable {
    /// Whether the attributes seen (`seen`) and those whose value is `ext-value` (`ext_value`)
    /// satisfy the required and `ext-X` rules: every required attribute there, and for each pair,
    /// `ext-X` present exactly when `X="ext-value"`. When this says yes the rules find nothing, so
    /// the walk by name is skipped (an enumeration with an `ext-X` pair, like `restriction`, is on
    /// many elements, so "no pair touched" alone sent most elements down the walk).
    #[inline]
    pub(crate) fn satisfied(&self, seen: u64, ext_value: u64) -> bool {
        !self.wide
            && self.required & !seen == 0
            && self
                .pairs
                .iter()
                .all(|&(x, ext)| (ext_value & x == 0) == (seen & ext == 0))
    }
}

impl AttrTable {
    /// Index of the declared unqualified attribute whose table name is `name` itself (by pointer).
    #[inline]
    pub(crate) fn find(&self, name: &str) -> Option<usize> {
        let key = (name.as_ptr() as usize, name.len());
        self.names.iter().position(|n| *n == key)
    }
}

pub(crate) fn attr_table(di: usize) -> &'static AttrTable {
    use std::sync::OnceLock;
    static ALL: OnceLock<Vec<AttrTable>> = OnceLock::new();
    let all = ALL.get_or_init(|| {
        (0..decl_count())
            .map(|i| {
                let d = decl(i);
                let bit = |j: usize| 1u64.checked_shl(j as u32).unwrap_or(0);
                let mut t = AttrTable {
                    names: Vec::new(),
                    required: 0,
                    ext_mask: 0,
                    wide: d.attrs.len() > 64,
                    pairs: Vec::new(),
                };
                for (j, a) in d.attrs.iter().enumerate() {
                    let canon = if a.name.starts_with("xml:") {
                        None
                    } else {
                        known_name(a.name)
                    };
                    t.names
                        .push(canon.map_or((0, 0), |c| (c.as_ptr() as usize, c.len())));
                    if a.required {
                        t.required |= bit(j);
                    }
                }
                for x in ext_pairs(i) {
                    let (mut xb, mut eb) = (0, 0);
                    for (j, a) in d.attrs.iter().enumerate() {
                        if a.name == x.name {
                            t.ext_mask |= bit(j);
                            xb |= bit(j);
                        } else if ext_base(a.name) == Some(x.name) {
                            eb |= bit(j);
                        }
                    }
                    t.pairs.push((xb, eb));
                }
                t
            })
            .collect()
    });
    &all[di]
}
