//! The content-model matcher of validation, for models of any shape: does a sequence of child
//! elements match an element's particle (sequence, choice, element, wildcard) from the schema table?
//! A recursive, greedy matcher over the particle tree. `model_compiled.rs` runs the same algorithm
//! faster for the shapes nearly every model has, and falls back to this one for the rest; see
//! `mod.rs` for how the two are kept in step. The walk that reports is `strict.rs`; this file only
//! answers "where did matching stop, expecting what".

use crate::iodef::arena::Element;
use crate::iodef::schema::{self, Particle, NO_DECL};

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
    /// The declaration this child is an element of (`schema::decl_of`), [`NO_DECL`] if none: an element
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
