//! The content-model matcher of validation: does a sequence of child elements match an element's
//! particle (sequence, choice, element, wildcard) from the schema table? Split from `validate.rs`,
//! which walks the tree and reports; this file only answers "where did matching stop, expecting what".

use super::arena::{same, Element};
use super::schema::{self, Particle};

/// Why a content model did not match.
pub(crate) struct Fail {
    /// Index of the child where matching stopped.
    pub at: usize,
    /// The particle that wanted something else there. Matching a repeated group ends with a failed
    /// attempt even in valid documents, so the names it expected are rendered only by [`Fail::expected`]
    /// (formatting them up front showed in the profile).
    wanted: &'static Particle,
}

impl Fail {
    /// Matching stopped at child `at`, where `wanted` wanted something else.
    pub(crate) fn new(at: usize, wanted: &'static Particle) -> Fail {
        Fail { at, wanted }
    }

    /// The particle that wanted something else, as an address (tests compare them).
    #[cfg(test)]
    pub(crate) fn wanted_ptr(&self) -> *const Particle {
        self.wanted
    }

    /// What would have been accepted where matching stopped.
    pub(crate) fn expected(&self) -> Vec<String> {
        let mut out = Vec::new();
        first_names(self.wanted, &mut out);
        out
    }
}

/// A child element with what the matcher asks of it worked out once: the matcher compares each
/// child with several particles, and comparing names and namespaces every time (a declaration
/// lookup and two string compares per child and particle) was its hottest line.
#[derive(Clone, Copy)]
pub(crate) struct Kid<'a> {
    pub el: Element<'a>,
    pub name: &'a str,
    /// The declaration this child is an element of ([`decl_of`]), [`NO_DECL`] if none: an element
    /// particle matches exactly the children whose `decl` is its declaration.
    pub decl: u32,
    /// In a namespace other than IODEF's and not in none: what an `##other` wildcard takes.
    pub foreign: bool,
}

impl<'a> Kid<'a> {
    #[inline]
    pub(crate) fn of(el: Element<'a>) -> Kid<'a> {
        Kid {
            el,
            name: el.name(),
            decl: el.decl(),
            foreign: el.in_other_ns(),
        }
    }
}

/// No declaration (see [`Kid::decl`]).
pub(crate) const NO_DECL: u32 = u32::MAX;

/// The declaration of an element called `name` in namespace `ns`, as `schema::find` answers
/// ([`NO_DECL`] for `None`). Every declaration has a name of its own (a test checks it), so the
/// name alone picks the declaration and the namespace only has to be its one. Parsed trees share
/// the schema table's name strings, so the name is looked up by its address first (a multiply
/// and a compare); any other string goes through `schema::find`.
#[inline]
pub(crate) fn decl_of(ns: &str, name: &str) -> u32 {
    let t = by_address();
    let key = name.as_ptr() as usize;
    let mask = t.slots.len() - 1;
    let mut i = t.slot(key);
    loop {
        match t.slots.get(i) {
            Some(&(p, len, di)) if p == key && len == name.len() => {
                return if same(ns, schema::decl(di as usize).ns.uri()) {
                    di
                } else {
                    NO_DECL
                };
            }
            Some(&(0, _, _)) | None => break,
            Some(_) => i = (i + 1) & mask,
        }
    }
    schema::find(ns, name).map_or(NO_DECL, |d| d as u32)
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
        let n = schema::decl_count();
        let size = (n * 2 * 4).next_power_of_two();
        let mut t = ByAddress {
            slots: vec![(0, 0, 0); size],
            shift: 64 - size.trailing_zeros(),
        };
        let mask = size - 1;
        for di in 0..n {
            let name = schema::decl(di).name;
            let copies = [Some(name), schema::known_name(name)];
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

#[inline]
fn elem_matches(di: usize, k: &Kid<'_>) -> bool {
    k.decl as usize == di
}

#[inline]
fn any_matches(other_ns: bool, k: &Kid<'_>) -> bool {
    !other_ns || k.foreign
}

/// A content model that is nothing but `xs:any` (possibly inside a one-item sequence).
pub(crate) fn wildcard_only(p: &Particle) -> bool {
    match p {
        Particle::Any { .. } => true,
        Particle::Seq { items, .. } => items.len() == 1 && wildcard_only(&items[0]),
        _ => false,
    }
}

fn nullable(p: &Particle) -> bool {
    match p {
        Particle::Elem { min, .. } | Particle::Any { min, .. } => *min == 0,
        Particle::Seq { min, items, .. } => *min == 0 || items.iter().all(nullable),
        Particle::Choice { min, items, .. } => *min == 0 || items.iter().any(nullable),
    }
}

fn can_start(p: &Particle, k: &Kid<'_>) -> bool {
    match p {
        Particle::Elem { decl, .. } => elem_matches(*decl, k),
        Particle::Any { other_ns, .. } => any_matches(*other_ns, k),
        Particle::Seq { items, .. } => {
            for it in items.iter() {
                if can_start(it, k) {
                    return true;
                }
                if !nullable(it) {
                    return false;
                }
            }
            false
        }
        Particle::Choice { items, .. } => items.iter().any(|it| can_start(it, k)),
    }
}

fn first_names(p: &Particle, out: &mut Vec<String>) {
    match p {
        Particle::Elem { decl, .. } => out.push(format!("<{}>", schema::decl(*decl).name)),
        Particle::Any { .. } => out.push("any element".into()),
        Particle::Seq { items, .. } => {
            for it in items.iter() {
                first_names(it, out);
                if !nullable(it) {
                    break;
                }
            }
        }
        Particle::Choice { items, .. } => items.iter().for_each(|it| first_names(it, out)),
    }
}

/// Greedy matcher (the XSD obeys Unique Particle Attribution, so one token of look-ahead decides).
/// Records (child index, declaration) pairs in `out`; returns the position after the match.
pub(crate) fn match_particle(
    p: &'static Particle,
    kids: &[Kid<'_>],
    pos: usize,
    out: &mut Vec<(usize, Option<usize>)>,
) -> Result<usize, Fail> {
    let (min, max) = p.occurs();
    match p {
        Particle::Elem { decl, .. } => match_elem(p, *decl, min, max, kids, pos, out),
        Particle::Any { other_ns, .. } => {
            let mut n = 0;
            while n < max
                && pos + (n as usize) < kids.len()
                && any_matches(*other_ns, &kids[pos + n as usize])
            {
                let k = &kids[pos + n as usize];
                out.push((
                    pos + n as usize,
                    (k.decl != NO_DECL).then_some(k.decl as usize),
                ));
                n += 1;
            }
            if n < min {
                return Err(Fail {
                    at: pos + n as usize,
                    wanted: p,
                });
            }
            Ok(pos + n as usize)
        }
        Particle::Seq { items, .. } => {
            let mut cur = pos;
            let mut count = 0;
            while count < max {
                let start = cur;
                let mark = out.len();
                let mut res = Ok(());
                for it in items.iter() {
                    // Element particles (most items of a sequence) without the recursive call.
                    let r = match it {
                        Particle::Elem { min, max, decl } => {
                            match_elem(it, *decl, *min, *max, kids, cur, out)
                        }
                        _ => match_particle(it, kids, cur, out),
                    };
                    match r {
                        Ok(c) => cur = c,
                        Err(f) => {
                            res = Err(f);
                            break;
                        }
                    }
                }
                match res {
                    Err(f) => {
                        if count >= min && cur == start {
                            out.truncate(mark);
                            cur = start;
                            break;
                        }
                        return Err(f);
                    }
                    Ok(()) => {
                        count += 1;
                        if cur == start {
                            break;
                        }
                    }
                }
            }
            Ok(cur)
        }
        Particle::Choice { items, .. } => {
            let mut cur = pos;
            let mut count = 0;
            while count < max {
                let next = kids
                    .get(cur)
                    .and_then(|k| items.iter().find(|it| can_start(it, k)));
                match next {
                    Some(it) => {
                        let c = match_particle(it, kids, cur, out)?;
                        count += 1;
                        if c == cur {
                            break;
                        }
                        cur = c;
                    }
                    None => {
                        if count >= min || items.iter().any(nullable) {
                            break;
                        }
                        return Err(Fail { at: cur, wanted: p });
                    }
                }
            }
            Ok(cur)
        }
    }
}

/// The element particle `p` (declaration `decl`, `min`..`max` times) at `pos`: [`match_particle`]'s
/// case for it, inlined into the sequence loop.
#[inline(always)]
fn match_elem(
    p: &'static Particle,
    decl: usize,
    min: u32,
    max: u32,
    kids: &[Kid<'_>],
    pos: usize,
    out: &mut Vec<(usize, Option<usize>)>,
) -> Result<usize, Fail> {
    let mut n = 0;
    while n < max && pos + (n as usize) < kids.len() && elem_matches(decl, &kids[pos + n as usize])
    {
        out.push((pos + n as usize, Some(decl)));
        n += 1;
    }
    if n < min {
        return Err(Fail {
            at: pos + n as usize,
            wanted: p,
        });
    }
    Ok(pos + n as usize)
}

#[cfg(test)]
mod tests {
    use super::{decl_of, NO_DECL};
    use crate::iodef::schema::{self, NS_DS, NS_ENUM, NS_IODEF, NS_SCI};

    /// `decl_of` relies on every declaration having a name of its own.
    #[test]
    fn declaration_names_are_unique() {
        let mut names: Vec<&str> = (0..schema::decl_count())
            .map(|i| schema::decl(i).name)
            .collect();
        names.sort_unstable();
        let n = names.len();
        names.dedup();
        assert_eq!(names.len(), n);
    }

    /// `decl_of` answers as `schema::find` for every declared name (the table's string, the name
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
        let mut names: Vec<String> = (0..schema::decl_count())
            .map(|i| schema::decl(i).name.to_string())
            .collect();
        names.extend(["", "x", "incident", "Incident ", "version", "lang"].map(String::from));
        for name in &names {
            let copies = [
                Some(name.as_str()),
                schema::known_name(name),
                (0..schema::decl_count())
                    .map(|i| schema::decl(i).name)
                    .find(|n| n == name),
            ];
            for n in copies.into_iter().flatten() {
                for ns in nss {
                    let ns_copy = ns.to_string();
                    for ns in [ns, ns_copy.as_str()] {
                        let want = schema::find(ns, n).map_or(NO_DECL, |d| d as u32);
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
