//! Compiled content models: the models of the schema table that are a plain sequence (or one
//! choice) of element particles, choices of element particles and wildcards — every model but one
//! — laid out once per declaration as a flat list of steps and matched by one loop over the
//! children, instead of by `model_match.rs`'s recursive matcher (its calls, its `Result`s and the
//! particle tree walked for every element were a quarter of validation).
//!
//! The loop is that matcher's greedy algorithm for these shapes, step for step: the same children
//! matched to the same declarations, and the same [`Fail`] (position and particle) when matching
//! stops, so every message stays as it was. A test runs both on every sequence of up to five
//! children drawn from each model's own names and two strangers; a model of any other shape is
//! matched by the recursive matcher ([`match_model`] decides).

use std::sync::OnceLock;

use super::model_match::{match_particle, Fail, Kid};
use crate::iodef::schema::{self, Content, Particle, NO_DECL};

/// One item of a compiled sequence.
#[derive(Debug)]
enum Step {
    /// `decl`, `min..=max` times.
    Elem {
        min: u32,
        max: u32,
        decl: u32,
        p: &'static Particle,
    },
    /// A choice of element particles (`alts`: (min, max, declaration, particle)), `min..=max` times;
    /// `nullable` when one of them may occur zero times (then the choice never fails).
    Choice {
        min: u32,
        max: u32,
        nullable: bool,
        alts: Vec<(u32, u32, u32, &'static Particle)>,
        p: &'static Particle,
    },
    /// A wildcard, `min..=max` times; `other_ns`: only elements of another namespace.
    Any {
        min: u32,
        max: u32,
        other_ns: bool,
        p: &'static Particle,
    },
}

/// The steps of a model that is a sequence occurring exactly once of compilable items, or a choice
/// occurring exactly once of element particles (as the matcher treats it: a sequence of that one
/// choice gives the same result). `None`: not of that shape.
fn compile(model: &'static Particle) -> Option<Vec<Step>> {
    match model {
        Particle::Seq {
            min: 1,
            max: 1,
            items,
        } => items.iter().map(step).collect(),
        Particle::Choice { min: 1, max: 1, .. } => Some(vec![step(model)?]),
        _ => None,
    }
}

fn step(p: &'static Particle) -> Option<Step> {
    match *p {
        Particle::Elem { min, max, decl } => Some(Step::Elem {
            min,
            max,
            decl: u32::try_from(decl).ok().filter(|d| *d != NO_DECL)?,
            p,
        }),
        Particle::Any {
            min, max, other_ns, ..
        } => Some(Step::Any {
            min,
            max,
            other_ns,
            p,
        }),
        Particle::Choice { min, max, items } => {
            let alts = items
                .iter()
                .map(|it| match *it {
                    Particle::Elem { min, max, decl } => {
                        let d = u32::try_from(decl).ok().filter(|d| *d != NO_DECL)?;
                        Some((min, max, d, it))
                    }
                    _ => None,
                })
                .collect::<Option<Vec<_>>>()?;
            Some(Step::Choice {
                min,
                max,
                nullable: alts.iter().any(|a| a.0 == 0),
                alts,
                p,
            })
        }
        Particle::Seq { .. } => None,
    }
}

/// A compiled model: its steps, and for each step the two numbers the loop needs to pass over an
/// element step the next child is not (most steps of the long IODEF sequences are such optional
/// elements): `(declaration, min)`, or `(FULL, _)` for a choice or wildcard. Eight bytes a step
/// instead of the whole step (up to 56), which the loop read for every element: the steps were
/// the validator's largest source of D1 cache misses after the parse had swept the cache.
#[derive(Debug)]
struct Compiled {
    steps: Vec<Step>,
    quick: Vec<(u32, u32)>,
}

/// [`Compiled::quick`] of a step that is not an element particle (never a child's declaration:
/// those are declaration indices or `NO_DECL`).
const FULL: u32 = NO_DECL - 1;

impl Compiled {
    fn new(steps: Vec<Step>) -> Compiled {
        let quick = steps
            .iter()
            .map(|s| match *s {
                Step::Elem { min, decl, .. } => (decl, min),
                Step::Choice { .. } | Step::Any { .. } => (FULL, 0),
            })
            .collect();
        Compiled { steps, quick }
    }
}

/// Each declaration's compiled model (`None`: not complex content, or not a compilable shape).
fn compiled(di: usize) -> Option<&'static Compiled> {
    static ALL: OnceLock<Vec<Option<Compiled>>> = OnceLock::new();
    ALL.get_or_init(|| {
        (0..schema::decl_count())
            .map(|i| match &schema::decl(i).content {
                Content::Complex { model, .. } => compile(model).map(Compiled::new),
                _ => None,
            })
            .collect()
    })
    .get(di)?
    .as_ref()
}

/// `decl` at most `max` times from `pos`, recorded in `out`: how many.
#[inline]
fn run_elem(
    decl: u32,
    max: u32,
    kids: &[Kid<'_>],
    pos: usize,
    out: &mut Vec<(usize, Option<usize>)>,
) -> usize {
    let mut n = 0;
    for (i, k) in kids.iter().enumerate().skip(pos) {
        if n >= max as usize || k.decl != decl {
            break;
        }
        out.push((i, Some(decl as usize)));
        n += 1;
    }
    n
}

/// Matches the compiled `steps` against `kids` from the start, as `match_particle` matches the
/// model they were compiled from.
fn run(
    model: &Compiled,
    kids: &[Kid<'_>],
    out: &mut Vec<(usize, Option<usize>)>,
) -> Result<usize, Fail> {
    let mut cur = 0;
    // The declaration of the child at `cur` (`NO_DECL` past the last child, which no step has).
    let decl_at = |cur: usize| kids.get(cur).map_or(NO_DECL, |k| k.decl);
    let mut next = decl_at(0);
    for (s, &(qdecl, qmin)) in model.steps.iter().zip(&model.quick) {
        // An element the next child is not: it occurs zero times here (most steps of the long
        // IODEF sequences are such optional elements, and setting up the loop below for each
        // was most of the matcher's cost). Decided from `quick` alone.
        if qdecl != FULL && qdecl != next {
            if qmin > 0 {
                return Err(Fail::new(cur, s.particle()));
            }
            continue;
        }
        match *s {
            Step::Elem { min, max, decl, p } => {
                let n = run_elem(decl, max, kids, cur, out);
                cur += n;
                next = decl_at(cur);
                if n < min as usize {
                    return Err(Fail::new(cur, p));
                }
            }
            Step::Any {
                min,
                max,
                other_ns,
                p,
            } => {
                let mut n = 0;
                for (i, k) in kids.iter().enumerate().skip(cur) {
                    if n >= max as usize || (other_ns && !k.foreign) {
                        break;
                    }
                    out.push((i, (k.decl != NO_DECL).then_some(k.decl as usize)));
                    n += 1;
                }
                cur += n;
                next = decl_at(cur);
                if n < min as usize {
                    return Err(Fail::new(cur, p));
                }
            }
            Step::Choice {
                min,
                max,
                nullable,
                ref alts,
                p,
            } => {
                let mut count = 0;
                while count < max {
                    // The first alternative the child at `cur` can start.
                    let alt = alts.iter().find(|a| a.2 == next);
                    match alt {
                        Some(&(amin, amax, decl, ap)) => {
                            let n = run_elem(decl, amax, kids, cur, out);
                            if n < amin as usize {
                                return Err(Fail::new(cur + n, ap));
                            }
                            count += 1;
                            if n == 0 {
                                break;
                            }
                            cur += n;
                            next = decl_at(cur);
                        }
                        None => {
                            if count >= min || nullable {
                                break;
                            }
                            return Err(Fail::new(cur, p));
                        }
                    }
                }
            }
        }
    }
    Ok(cur)
}

impl Step {
    /// The particle the step was compiled from.
    fn particle(&self) -> &'static Particle {
        match *self {
            Step::Elem { p, .. } | Step::Choice { p, .. } | Step::Any { p, .. } => p,
        }
    }
}

/// Matches declaration `di`'s content model (`model`) against `kids`, recording (child, declaration)
/// pairs in `out`: compiled when the model's shape allows, else by the recursive matcher.
pub(crate) fn match_model(
    di: usize,
    model: &'static Particle,
    kids: &[Kid<'_>],
    out: &mut Vec<(usize, Option<usize>)>,
) -> Result<usize, Fail> {
    match compiled(di) {
        Some(steps) => run(steps, kids, out),
        None => match_particle(model, kids, 0, out),
    }
}

#[cfg(test)]
mod tests {
    use super::super::model_match::{match_particle, Kid};
    use super::{compiled, run};
    use crate::iodef::schema::{self, Content, Particle, NO_DECL};

    fn decls_in(p: &Particle, out: &mut Vec<u32>) {
        match p {
            Particle::Elem { decl, .. } => out.push(*decl as u32),
            Particle::Any { .. } => {}
            Particle::Seq { items, .. } | Particle::Choice { items, .. } => {
                items.iter().for_each(|i| decls_in(i, out))
            }
        }
    }

    /// All models but IndicatorExpression's (a repeated sequence) compile, and each compiled model
    /// matches as the recursive matcher does — same result, same failure position and particle, same
    /// (child, declaration) pairs — on every sequence of up to five children drawn from the model's
    /// declarations, another IODEF declaration, a foreign-namespace element and an unknown one.
    #[test]
    fn compiled_models_match_as_the_matcher() {
        let doc = crate::iodef::parse(
            br#"<IODEF-Document version="2.00" xmlns="urn:ietf:params:xml:ns:iodef-2.0"/>"#,
        )
        .unwrap();
        let el = doc.root();
        let kid = |decl: u32, foreign: bool| Kid {
            el,
            name: "x",
            decl,
            foreign,
        };
        let mut not_compiled = Vec::new();
        for di in 0..schema::decl_count() {
            let Content::Complex { model, .. } = &schema::decl(di).content else {
                continue;
            };
            let Some(steps) = compiled(di) else {
                not_compiled.push(schema::decl(di).name);
                continue;
            };
            let mut alphabet: Vec<Kid<'_>> = Vec::new();
            let mut ds = Vec::new();
            decls_in(model, &mut ds);
            ds.sort_unstable();
            ds.dedup();
            for d in ds {
                let foreign = schema::decl(d as usize).ns != schema::Ns::Iodef;
                alphabet.push(kid(d, foreign));
            }
            let stranger = (0..schema::decl_count() as u32)
                .find(|d| alphabet.iter().all(|k| k.decl != *d))
                .unwrap();
            alphabet.push(kid(stranger, false));
            alphabet.push(kid(NO_DECL, true));
            alphabet.push(kid(NO_DECL, false));
            let mut seqs: Vec<Vec<Kid<'_>>> = vec![Vec::new()];
            let mut last = vec![Vec::new()];
            for _ in 0..5 {
                if last.len() * alphabet.len() > 200_000 {
                    break;
                }
                let mut next = Vec::new();
                for s in &last {
                    for k in &alphabet {
                        let mut t: Vec<Kid<'_>> = s.clone();
                        t.push(*k);
                        next.push(t);
                    }
                }
                seqs.extend(next.iter().cloned());
                last = next;
            }
            // Longer ones near the model's order: each declaration in model order 0 to 2 times,
            // then one random change (a child replaced, dropped, doubled or two swapped).
            let mut rng = 0x2545_f491_4f6c_dd1du64;
            let mut rand = |n: usize| {
                rng ^= rng << 13;
                rng ^= rng >> 7;
                rng ^= rng << 17;
                (rng % n as u64) as usize
            };
            let ordered: Vec<Kid<'_>> = alphabet[..alphabet.len() - 3].to_vec();
            let mut in_order = Vec::new();
            decls_in(model, &mut in_order);
            for _ in 0..20_000 {
                let mut t: Vec<Kid<'_>> = Vec::new();
                for d in &in_order {
                    let k = *ordered.iter().find(|k| k.decl == *d).unwrap();
                    for _ in 0..rand(3) {
                        t.push(k);
                    }
                }
                if !t.is_empty() {
                    let i = rand(t.len());
                    match rand(4) {
                        0 => t[i] = alphabet[rand(alphabet.len())],
                        1 => {
                            t.remove(i);
                        }
                        2 => t.insert(i, t[i]),
                        _ => {
                            let j = rand(t.len());
                            t.swap(i, j);
                        }
                    }
                }
                seqs.push(t);
            }
            for kids in &seqs {
                let (mut a, mut b) = (Vec::new(), Vec::new());
                let ra = run(steps, kids, &mut a).map_err(|f| (f.at, f.wanted_ptr()));
                let rb = match_particle(model, kids, 0, &mut b).map_err(|f| (f.at, f.wanted_ptr()));
                let names: Vec<u32> = kids.iter().map(|k| k.decl).collect();
                assert_eq!(ra, rb, "{} {names:?}", schema::decl(di).name);
                assert_eq!(a, b, "{} {names:?}", schema::decl(di).name);
            }
        }
        assert_eq!(not_compiled, ["IndicatorExpression"]);
    }
}
