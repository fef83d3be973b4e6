//! Name lookups in the schema table: a declaration by namespace and local name ([`find`]), and
//! whether a parsed name is one of the table's names ([`known_name`], once per element and attribute
//! the reader sees). Split from `schema.rs` (the table's shape and the simple-type checks); both
//! lookups are on the parser's and validator's hot paths, hence the hand-made tables.

use super::model::NO_DECL;
use super::schema::{Content, Ns};
use super::schema_gen::DECLS;

/// Looks a declaration up by namespace and local name (the first one in table order).
pub(crate) fn find(ns: &str, name: &str) -> Option<usize> {
    use std::collections::HashMap;
    use std::hash::BuildHasherDefault;
    use std::sync::OnceLock;
    // Validation and the JSON binding call this for extension content and wrappers; a scan of the
    // whole table per call showed in the profile.
    type Table = HashMap<&'static str, Vec<usize>, BuildHasherDefault<NameHash>>;
    static BY_NAME: OnceLock<Table> = OnceLock::new();
    let map = BY_NAME.get_or_init(|| {
        let mut m = Table::default();
        for (i, d) in DECLS.iter().enumerate() {
            m.entry(d.name).or_default().push(i);
        }
        m
    });
    map.get(name)?
        .iter()
        .copied()
        .find(|i| DECLS[*i].ns.uri() == ns)
}

/// What the parser needs to know about a local name, found with one lookup per element or attribute.
#[derive(Clone, Copy, Debug)]
pub(crate) struct KnownName {
    /// The same name, borrowed from the schema table: parsed trees share it instead of allocating.
    pub name: &'static str,
    /// Whether whitespace-only text directly inside the IODEF element of this name is ignorable
    /// (element-only or empty content in the schema).
    pub iodef_ignorable: bool,
    /// The declaration called so (every declaration has a name of its own) and its namespace
    /// (the known string `arena::known_static` gives for it, as the reader records namespaces):
    /// an element of this name is of that declaration exactly when it is in that namespace
    /// (`model::decl_of`), which the reader records in the node. `NO_DECL` for a name only
    /// attributes have.
    pub decl: u32,
    pub decl_ns: &'static str,
}

/// A multiply-rotate hash over 8-byte words (the FxHash scheme): the name table is fixed at start-up
/// and only ever read, so SipHash's flooding resistance buys nothing here (input cannot add keys),
/// while its cost (and then byte-at-a-time FNV's) showed in the parser's profile.
#[derive(Default)]
pub(crate) struct NameHash(u64);

impl NameHash {
    #[inline]
    fn add(&mut self, w: u64) {
        self.0 = (self.0.rotate_left(5) ^ w).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
}

impl std::hash::Hasher for NameHash {
    fn finish(&self) -> u64 {
        self.0
    }
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut w = [0u8; 8];
            w.copy_from_slice(c);
            self.add(u64::from_le_bytes(w));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut w = [0u8; 8];
            w[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(w));
        }
    }
    #[inline]
    fn write_u8(&mut self, b: u8) {
        self.add(u64::from(b));
    }
}

/// Up to eight bytes as a little-endian word (without a variable-length `memcpy` call); the reader
/// also keys namespace prefixes with it.
#[inline]
pub(crate) fn word(b: &[u8]) -> u64 {
    if let Ok(a) = <[u8; 8]>::try_from(b) {
        return u64::from_le_bytes(a);
    }
    let n = b.len().min(8);
    if n >= 4 {
        // Two overlapping 4-byte loads: the bytes they share are equal, so OR-ing them gives the
        // same word as packing the bytes one by one (which showed in the parser's profile).
        let lo = b.get(..4).and_then(|x| <[u8; 4]>::try_from(x).ok());
        let hi = b.get(n - 4..n).and_then(|x| <[u8; 4]>::try_from(x).ok());
        if let (Some(lo), Some(hi)) = (lo, hi) {
            return u64::from(u32::from_le_bytes(lo))
                | u64::from(u32::from_le_bytes(hi)) << (8 * (n - 4));
        }
    }
    b.iter()
        .take(8)
        .enumerate()
        .fold(0, |w, (i, x)| w | u64::from(*x) << (8 * i))
}

/// An open-addressing table of every element and attribute local name of the schema table, hashed
/// on the name's length and first and last eight bytes: the parser looks up every element and
/// attribute name, and a general-purpose `HashMap` (hashing the whole name, then probing control
/// bytes) showed in its profile.
pub(crate) struct NameTable {
    /// Index + 1 into `names` (0: empty), a quarter full at most.
    slots: Vec<u16>,
    names: Vec<(Key, KnownName)>,
    shift: u32,
}

/// A name's length and first and last eight bytes: equal keys mean equal names up to 16 bytes,
/// so most lookups compare no string bytes (reading the table's names showed as cache misses).
#[derive(Clone, Copy, PartialEq, Eq)]
struct Key {
    len: usize,
    head: u64,
    tail: u64,
}

impl Key {
    #[inline]
    fn of(name: &[u8]) -> Key {
        let n = name.len().min(8);
        Key {
            len: name.len(),
            head: word(&name[..n]),
            tail: word(&name[name.len() - n..]),
        }
    }
}

impl NameTable {
    #[inline]
    fn slot(&self, k: &Key) -> usize {
        let h = (k.head ^ k.tail.rotate_left(29))
            .wrapping_add(k.len as u64)
            .wrapping_mul(0x9e37_79b9_7f4a_7c15);
        (h >> self.shift) as usize
    }

    fn insert(&mut self, k: KnownName) -> Option<&mut KnownName> {
        let key = Key::of(k.name.as_bytes());
        let mask = self.slots.len() - 1;
        let mut i = self.slot(&key);
        loop {
            match self.slots[i] {
                0 => {
                    self.names.push((key, k));
                    self.slots[i] = u16::try_from(self.names.len()).ok()?;
                    return self.names.last_mut().map(|(_, k)| k);
                }
                j if self.names[usize::from(j) - 1].1.name == k.name => {
                    return self.names.get_mut(usize::from(j) - 1).map(|(_, k)| k)
                }
                _ => i = (i + 1) & mask,
            }
        }
    }

    /// The table's entry for `name`, if it is one of the schema's names (inlined into the reader's
    /// two call sites: the call's own cost showed in the profile).
    #[inline(always)]
    pub(crate) fn get(&self, name: &[u8]) -> Option<KnownName> {
        let key = Key::of(name);
        let mask = self.slots.len() - 1;
        let mut i = self.slot(&key);
        loop {
            let j = self.slots[i];
            if j == 0 {
                return None;
            }
            let (kk, k) = self.names[usize::from(j) - 1];
            if kk == key && (key.len <= 16 || k.name.as_bytes() == name) {
                return Some(k);
            }
            i = (i + 1) & mask;
        }
    }
}

/// Every element and attribute local name of the schema table (attributes without their `xml:`).
pub(crate) fn known_name(name: &str) -> Option<KnownName> {
    known_name_bytes(name.as_bytes())
}

/// [`known_name`] of raw bytes: bytes equal to a table name are that (valid UTF-8) name, so the
/// reader looks a name up before it checks that the bytes are a `str` span (only unknown names need
/// the span; finding it for every name showed in the profile).
pub(crate) fn known_name_bytes(name: &[u8]) -> Option<KnownName> {
    name_table().get(name)
}

/// The table of [`known_name_bytes`], for a caller that looks many names up (the reader fetches it
/// once per document instead of checking the `OnceLock` per name).
pub(crate) fn name_table() -> &'static NameTable {
    use std::sync::OnceLock;
    static NAMES: OnceLock<NameTable> = OnceLock::new();
    NAMES.get_or_init(|| {
        let mut unique: Vec<&str> = DECLS
            .iter()
            .flat_map(|d| {
                std::iter::once(d.name).chain(
                    d.attrs
                        .iter()
                        .map(|a| a.name.strip_prefix("xml:").unwrap_or(a.name)),
                )
            })
            .collect();
        unique.sort_unstable();
        unique.dedup();
        // At most a quarter full, so probes stay short and always end at an empty slot.
        let size = (unique.len() * 4).next_power_of_two();
        let mut t = NameTable {
            slots: vec![0; size],
            names: Vec::with_capacity(unique.len()),
            shift: 64 - size.trailing_zeros(),
        };
        for (i, d) in DECLS.iter().enumerate() {
            let ignorable = d.ns == Ns::Iodef
                && matches!(
                    d.content,
                    Content::Empty | Content::Complex { mixed: false, .. }
                );
            if let Some(k) = t.insert(KnownName {
                name: d.name,
                iodef_ignorable: false,
                decl: u32::try_from(i).unwrap_or(NO_DECL),
                decl_ns: super::arena::known_static(d.ns.uri()).unwrap_or(d.ns.uri()),
            }) {
                k.iodef_ignorable |= ignorable;
            }
        }
        // Attributes after elements, so that parsed element names are the first declaration's own
        // `&'static str` (comparisons with it are then a pointer compare, see `arena::same`).
        for d in DECLS {
            for a in d.attrs {
                let n = a.name.strip_prefix("xml:").unwrap_or(a.name);
                t.insert(KnownName {
                    name: n,
                    iodef_ignorable: false,
                    decl: NO_DECL,
                    decl_ns: "",
                });
            }
        }
        t
    })
}

#[cfg(test)]
mod tests {
    use super::word;

    /// The two-load shortcut packs the same word as byte by byte, for every length up to 8.
    #[test]
    fn word_packs_bytes_in_order() {
        let bytes = b"ABCDEFGHIJ";
        for n in 0..=8 {
            let slow = bytes[..n]
                .iter()
                .enumerate()
                .fold(0u64, |w, (i, x)| w | u64::from(*x) << (8 * i));
            assert_eq!(word(&bytes[..n]), slow, "length {n}");
        }
    }
}
