//! Declarations looked up in the schema table: by index ([`decl`]), by namespace and local name
//! ([`find`]), and by a parsed element's namespace and name as the reader and builder record it
//! ([`decl_of`], by the address of the name the name table gave the tree, with [`find`] behind it).

use super::generated::DECLS;
use super::names::{known_name, same};
use super::shape::{Decl, NO_DECL};

/// Number of declarations in the table.
pub(crate) fn decl_count() -> usize {
    DECLS.len()
}

/// The declaration at `i`.
pub(crate) fn decl(i: usize) -> &'static Decl {
    &DECLS[i]
}

/// Index of `IODEF-Document`.
pub(crate) const ROOT: usize = 0;

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

/// The declaration of an element called `name` in namespace `ns`, as [`find`] answers
/// ([`NO_DECL`] for `None`). Every declaration has a name of its own (a test checks it), so the
/// name alone picks the declaration and the namespace only has to be its one. Parsed trees share
/// the schema table's name strings, so the name is looked up by its address first (a multiply
/// and a compare); any other string goes through [`find`].
#[inline]
pub(crate) fn decl_of(ns: &str, name: &str) -> u32 {
    let t = by_address();
    let key = name.as_ptr() as usize;
    let mask = t.slots.len() - 1;
    let mut i = t.slot(key);
    loop {
        match t.slots.get(i) {
            Some(&(p, len, di)) if p == key && len == name.len() => {
                return if same(ns, decl(di as usize).ns.uri()) {
                    di
                } else {
                    NO_DECL
                };
            }
            Some(&(0, _, _)) | None => break,
            Some(_) => i = (i + 1) & mask,
        }
    }
    find(ns, name).map_or(NO_DECL, |d| d as u32)
}

/// An open-addressing table from the address of each declaration's name (the schema table's own
/// and the name table's copy, the one parsed trees hold) to the declaration: (address, length,
/// declaration), address 0 for an empty slot, at most a quarter full.
struct ByAddress {
    slots: Vec<(usize, usize, u32)>,
    shift: u32,
}

impl ByAddress {
    #[inline]
    fn slot(&self, key: usize) -> usize {
        ((key as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15) >> self.shift) as usize
    }
}

fn by_address() -> &'static ByAddress {
    use std::sync::OnceLock;
    static T: OnceLock<ByAddress> = OnceLock::new();
    T.get_or_init(|| {
        let n = decl_count();
        let size = (n * 2 * 4).next_power_of_two();
        let mut t = ByAddress {
            slots: vec![(0, 0, 0); size],
            shift: 64 - size.trailing_zeros(),
        };
        let mask = size - 1;
        for di in 0..n {
            let name = decl(di).name;
            let copies = [Some(name), known_name(name)];
            for s in copies.into_iter().flatten() {
                let key = s.as_ptr() as usize;
                // A string at this address that is not this name (none today) stays out: the
                // lookup would then give it this declaration.
                if key == 0 || s != name {
                    continue;
                }
                let mut i = t.slot(key);
                while t.slots[i].0 != 0 && t.slots[i].0 != key {
                    i = (i + 1) & mask;
                }
                t.slots[i] = (key, s.len(), di as u32);
            }
        }
        t
    })
}

#[cfg(test)]
mod tests {
    use super::super::shape::{NO_DECL, NS_DS, NS_ENUM, NS_IODEF, NS_SCI};
    use super::{decl, decl_count, decl_of, find, known_name};

    /// `decl_of` relies on every declaration having a name of its own.
    #[test]
    fn declaration_names_are_unique() {
        let mut names: Vec<&str> = (0..decl_count()).map(|i| decl(i).name).collect();
        names.sort_unstable();
        let n = names.len();
        names.dedup();
        assert_eq!(names.len(), n);
    }

    /// `decl_of` answers as [`find`] for every declared name (the table's string, the name
    /// table's copy and a copy of neither) in every namespace the table knows, none and another,
    /// and for names that are not declared.
    #[test]
    fn decl_of_is_find() {
        let nss = [
            NS_IODEF,
            NS_ENUM,
            NS_SCI,
            NS_DS,
            "",
            "urn:x",
            "urn:ietf:params:xml:ns:iodef-2.0x",
        ];
        let mut names: Vec<String> = (0..decl_count())
            .map(|i| decl(i).name.to_string())
            .collect();
        names.extend(["", "x", "incident", "Incident ", "version", "lang"].map(String::from));
        for name in &names {
            let copies = [
                Some(name.as_str()),
                known_name(name),
                (0..decl_count()).map(|i| decl(i).name).find(|n| n == name),
            ];
            for n in copies.into_iter().flatten() {
                for ns in nss {
                    let ns_copy = ns.to_string();
                    for ns in [ns, ns_copy.as_str()] {
                        let want = find(ns, n).map_or(NO_DECL, |d| d as u32);
                        assert_eq!(decl_of(ns, n), want, "{ns} {n}");
                    }
                }
            }
        }
    }

    /// Every element of every fixture (and of documents with IODEF names in other namespaces, no
    /// namespace, escaped namespace URIs and unknown names) records the declaration `decl_of`
    /// gives for its namespace and name, parsed from XML and rebuilt by the builder.
    #[test]
    fn recorded_declaration_is_decl_of() {
        use crate::iodef::arena::Element;
        fn walk(el: Element<'_>, n: &mut usize) {
            assert_eq!(el.decl(), decl_of(el.ns(), el.name()), "{}", el.name());
            *n += 1;
            el.elements().for_each(|k| walk(k, n));
        }
        let mut docs: Vec<String> = vec![
            concat!(
                r#"<IODEF-Document xmlns="urn:ietf:params:xml:ns:iodef-2.0" version="2.00">"#,
                r#"<Incident xmlns="urn:x"><Contact/></Incident><x:Incident xmlns:x="urn:"#,
                r#"ietf:params:xml:ns:iodef-2.0"/><Incident xmlns="urn:ietf:params:xml:ns:iodef&#x2d;2.0"/>"#,
                r#"<Incident xmlns=""/><enum:Incident xmlns:enum="urn:ietf:params:xml:ns:iodef-enum-1.0"/>"#,
                r#"<ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#"/><version/><Nope/>"#,
                r#"<Incident xmlns="urn:ietf:params:xml:ns:iodef-2.0x"/></IODEF-Document>"#
            )
            .to_string(),
        ];
        let mut stack = vec![std::path::PathBuf::from("tests/fixtures/iodef")];
        while let Some(dir) = stack.pop() {
            for e in std::fs::read_dir(dir).unwrap().flatten() {
                let p = e.path();
                if p.is_dir() {
                    stack.push(p);
                } else if p.extension().is_some_and(|x| x == "xml") {
                    docs.push(std::fs::read_to_string(p).unwrap());
                }
            }
        }
        let mut n = 0;
        for d in &docs {
            let Ok(doc) = crate::iodef::parse(d.as_bytes()) else {
                continue;
            };
            walk(doc.root(), &mut n);
            walk(doc.canonical().root(), &mut n);
        }
        assert!(n > 5000, "{n}");
    }
}
