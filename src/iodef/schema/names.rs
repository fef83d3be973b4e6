//! The name table: every element and attribute local name of the schema table, looked up by the
//! bytes the reader reads ([`NameTable::get`], once per element and attribute it sees), and the
//! static strings document trees share instead of copying names ([`statics`]: the namespaces and
//! prefixes of [`KNOWN`], then every schema name). A tree's string handle (`arena::Str`) is an index
//! into [`statics`] or a span of its own buffer. On the parser's hot path, hence the hand-made table.

use super::generated::DECLS;
use super::shape::{Content, Ns, NO_DECL, NS_DS, NS_ENUM, NS_IODEF, NS_SCI, NS_XML, NS_XSI};
use crate::iodef::bytes::word;

/// Namespace URIs and prefixes IODEF documents use, shared instead of stored per document: the
/// first static strings ([`statics`], where the schema's names follow).
pub(crate) const KNOWN: [&str; 13] = [
    NS_IODEF, NS_DS, NS_ENUM, NS_SCI, NS_XSI, NS_XML, "iodef", "ds", "enum", "sci", "xsi", "",
    "xml",
];
/// Indices of [`KNOWN`] strings the reader needs as static strings of trees.
pub(crate) const KNOWN_IODEF: u32 = 0;
pub(crate) const KNOWN_NS_XML: u32 = 5;
pub(crate) const KNOWN_EMPTY: u32 = 11;
pub(crate) const KNOWN_XML: u32 = 12;

/// String equality with a pointer fast path: names and namespaces of parsed trees are usually the
/// schema table's own `&'static str`s, so most comparisons in validation and JSON output are one
/// pointer compare instead of a `memcmp`.
#[inline]
pub(crate) fn same(a: &str, b: &str) -> bool {
    (a.as_ptr() == b.as_ptr() && a.len() == b.len()) || a == b
}

/// What the parser needs to know about a local name, found with one lookup per element or attribute.
#[derive(Clone, Copy, Debug)]
pub(crate) struct KnownName {
    /// The same name as a static string of the trees (its index in [`statics`], where it is the
    /// schema table's own `&'static str`): parsed trees share it instead of allocating.
    pub name: u32,
    /// The declaration called so (every declaration has a name of its own) and its namespace
    /// (the index in [`statics`] of the known string `arena::known_static` gives for it, as the
    /// reader records namespaces): an element of this name is of that declaration exactly when it
    /// is in that namespace (`lookup::decl_of`), which the reader records in the node. `NO_DECL`
    /// for a name only attributes have.
    pub decl: u32,
    pub decl_ns: u32,
    /// Whether whitespace-only text directly inside the IODEF element of this name is ignorable
    /// (element-only or empty content in the schema).
    pub iodef_ignorable: bool,
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
    /// The static strings of trees (`arena::Str`): [`KNOWN`], then the name of each entry of
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
    /// [`KnownName::decl_ns`] (an index of [`KNOWN`]).
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
                    name: KNOWN.len() as u32 + u32::from(j) - 1,
                    decl: if e.decl == u16::MAX {
                        NO_DECL
                    } else {
                        u32::from(e.decl)
                    },
                    decl_ns: u32::from(e.ns),
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
    t.statics.get(k.name as usize).copied()
}

/// The static strings of trees (see `arena::Str`): [`KNOWN`], then every schema name.
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
        for (i, d) in super::DECLS.iter().enumerate() {
            let k = t
                .get(d.name.as_bytes())
                .expect("a declaration's name is in the table");
            assert_eq!(k.decl as usize, i, "{}", d.name);
            let statics = super::statics();
            assert_eq!(statics[k.decl_ns as usize], d.ns.uri());
            assert_eq!(statics[k.name as usize], d.name);
        }
    }

    /// The name table records each declaration's namespace as the `KNOWN` string of its URI.
    #[test]
    fn declaration_namespaces_are_known() {
        for d in super::DECLS {
            let uri = d.ns.uri();
            assert!(super::KNOWN.contains(&uri), "{uri}");
        }
    }
}
