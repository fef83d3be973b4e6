//! Name lookups in the schema table: a declaration by namespace and local name ([`find`]), and
//! whether a parsed name is one of the table's names ([`known_name`], once per element and attribute
//! the reader sees). Split from `schema.rs` (the table's shape and the simple-type checks); both
//! lookups are on the parser's and validator's hot paths, hence the hand-made tables.

use super::arena::{Str, KNOWN, KNOWN_EMPTY};
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
    /// The same name as a static string of the trees ([`statics`]: the schema table's own
    /// `&'static str`): parsed trees share it instead of allocating.
    pub name: Str,
    /// The declaration called so (every declaration has a name of its own) and its namespace
    /// (the known string `arena::known_static` gives for it, as the reader records namespaces):
    /// an element of this name is of that declaration exactly when it is in that namespace
    /// (`model::decl_of`), which the reader records in the node. `NO_DECL` for a name only
    /// attributes have.
    pub decl: u32,
    pub decl_ns: Str,
    /// Whether whitespace-only text directly inside the IODEF element of this name is ignorable
    /// (element-only or empty content in the schema).
    pub iodef_ignorable: bool,
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
    names: Vec<Entry>,
    shift: u32,
    /// The static strings of trees (`arena::Str`): `arena::KNOWN`, then the name of each entry of
    /// `names` in order (so an entry's index gives its name, which it does not store).
    statics: Vec<&'static str>,
}

/// One name of the table in 24 bytes (its key, and [`KnownName`] packed; 64 bytes with the name
/// and namespace as `&'static str`s, 48 with them as `arena::Str`s): the parser looks up every
/// element and attribute name, and the entries were its largest source of D1 cache misses.
#[derive(Clone, Copy)]
struct Entry {
    key: Key,
    /// [`KnownName::decl`], `u16::MAX` for `NO_DECL`.
    decl: u16,
    /// [`KnownName::decl_ns`] as an index of `arena::KNOWN`.
    ns: u8,
    iodef_ignorable: bool,
}

/// A name's length and first and last eight bytes: equal keys mean equal names up to 16 bytes,
/// so most lookups compare no string bytes (reading the table's names showed as cache misses).
#[derive(Clone, Copy, PartialEq, Eq)]
#[repr(C, packed(4))]
struct Key {
    head: u64,
    tail: u64,
    len: u32,
}

impl Key {
    #[inline]
    fn of(name: &[u8]) -> Key {
        let n = name.len().min(8);
        Key {
            head: word(&name[..n]),
            tail: word(&name[name.len() - n..]),
            // Longer names are in no table; their length only has to differ from theirs.
            len: u32::try_from(name.len()).unwrap_or(u32::MAX),
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

    /// Adds `name` (of declaration `decl` in namespace `KNOWN[ns]`, or `NO_DECL`) unless it is in
    /// already; its entry.
    fn insert(&mut self, name: &'static str, decl: u32, ns: u8) -> Option<&mut Entry> {
        let key = Key::of(name.as_bytes());
        let mask = self.slots.len() - 1;
        let mut i = self.slot(&key);
        loop {
            match self.slots[i] {
                0 => {
                    self.statics.push(name);
                    self.names.push(Entry {
                        key,
                        decl: if decl == NO_DECL {
                            u16::MAX
                        } else {
                            u16::try_from(decl).ok().filter(|d| *d != u16::MAX)?
                        },
                        ns,
                        iodef_ignorable: false,
                    });
                    self.slots[i] = u16::try_from(self.names.len()).ok()?;
                    return self.names.last_mut();
                }
                j if self.name_of(usize::from(j) - 1) == name => {
                    return self.names.get_mut(usize::from(j) - 1)
                }
                _ => i = (i + 1) & mask,
            }
        }
    }

    /// The name of entry `i`.
    #[inline]
    fn name_of(&self, i: usize) -> &'static str {
        // Entry `i`'s name is static string `KNOWN.len() + i`.
        self.statics.get(KNOWN.len() + i).copied().unwrap_or("")
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
            let e = self.names[usize::from(j) - 1];
            if e.key == key
                && (name.len() <= 16 || self.name_of(usize::from(j) - 1).as_bytes() == name)
            {
                return Some(KnownName {
                    // Entry `j - 1`'s name is static string `KNOWN.len() + j - 1`.
                    name: Str::known(KNOWN.len() as u32 + u32::from(j) - 1),
                    decl: if e.decl == u16::MAX {
                        NO_DECL
                    } else {
                        u32::from(e.decl)
                    },
                    decl_ns: Str::known(u32::from(e.ns)),
                    iodef_ignorable: e.iodef_ignorable,
                });
            }
            i = (i + 1) & mask;
        }
    }
}

/// The name table's own copy of `name` (the string parsed trees hold), when it is one of the
/// schema table's element and attribute local names (attributes without their `xml:`).
pub(crate) fn known_name(name: &str) -> Option<&'static str> {
    let t = name_table();
    let k = t.get(name.as_bytes())?;
    t.statics.get(k.name.static_index()? as usize).copied()
}

/// The static strings of trees (see `arena::Str`): `arena::KNOWN`, then every schema name.
pub(crate) fn statics() -> &'static [&'static str] {
    &name_table().statics
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
            statics: KNOWN.to_vec(),
        };
        for (i, d) in DECLS.iter().enumerate() {
            let ignorable = d.ns == Ns::Iodef
                && matches!(
                    d.content,
                    Content::Empty | Content::Complex { mixed: false, .. }
                );
            // Every declaration's namespace is one of `KNOWN` (a test checks it).
            let ns = KNOWN
                .iter()
                .position(|k| *k == d.ns.uri())
                .unwrap_or(KNOWN.len() - 1);
            let decl = u32::try_from(i).unwrap_or(NO_DECL);
            if let Some(k) = t.insert(d.name, decl, ns as u8) {
                k.iodef_ignorable |= ignorable;
            }
        }
        // Attributes after elements, so that parsed element names are the first declaration's own
        // `&'static str` (comparisons with it are then a pointer compare, see `arena::same`).
        for d in DECLS {
            for a in d.attrs {
                let n = a.name.strip_prefix("xml:").unwrap_or(a.name);
                // Never looked at for attributes: `decl` says there is no declaration.
                t.insert(n, NO_DECL, KNOWN_EMPTY as u8);
            }
        }
        t
    })
}

#[cfg(test)]
mod tests {
    use super::word;

    /// Entries stay at 24 bytes (see `Entry`).
    #[test]
    fn entries_are_small() {
        assert_eq!(std::mem::size_of::<super::Entry>(), 24);
    }

    /// Every declaration's name looks up to that declaration, in its namespace, under the
    /// table's own copy of the name.
    #[test]
    fn declarations_look_up() {
        let t = super::name_table();
        for i in 0..super::super::schema::decl_count() {
            let d = super::super::schema::decl(i);
            let k = t
                .get(d.name.as_bytes())
                .expect("a declaration's name is in the table");
            assert_eq!(k.decl as usize, i, "{}", d.name);
            let statics = super::statics();
            assert_eq!(
                statics[k.decl_ns.static_index().unwrap() as usize],
                d.ns.uri()
            );
            assert_eq!(statics[k.name.static_index().unwrap() as usize], d.name);
        }
    }

    /// The name table records each declaration's namespace as the `KNOWN` string of its URI.
    #[test]
    fn declaration_namespaces_are_known() {
        for i in 0..super::super::schema::decl_count() {
            let uri = super::super::schema::decl(i).ns.uri();
            assert!(super::KNOWN.contains(&uri), "{uri}");
        }
    }

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
