//! The schema checker's toolbox, shared by `parse.rs` (the RID classes) and `v1.rs` (the IODEF v1
//! types RID imports): allowed attributes, element-only content, sequences of particles, and the
//! simple types (`xs:language`, `xs:boolean`, `xs:double`, `xs:integer`, `xs:dateTime`).

use super::error::Problem;
use super::model::NS_XSI;
use crate::iodef::Element;

/// Collects schema findings.
#[derive(Default)]
pub struct Checker {
    /// The findings so far.
    pub problems: Vec<Problem>,
}

/// One particle of a sequence: namespace, local name, min and max occurrences.
pub type Particle = (&'static str, &'static str, usize, usize);

/// Unbounded `maxOccurs`.
pub const MANY: usize = usize::MAX;

/// XSD whitespace collapse.
pub fn collapse(s: &str) -> String {
    s.split_ascii_whitespace().collect::<Vec<_>>().join(" ")
}

impl Checker {
    /// Records a schema error at `el`.
    pub fn err(&mut self, path: &str, el: Element<'_>, msg: impl Into<String>) {
        self.problems.push(Problem::schema(path, el.line(), msg));
    }

    /// Every attribute must be in `allowed` (unqualified) or an `xsi:` attribute.
    pub fn attrs(&mut self, el: Element<'_>, path: &str, allowed: &[&str]) {
        for a in el.attrs() {
            let ok = if a.ns.is_empty() {
                allowed.contains(&a.name)
            } else {
                a.ns == NS_XSI
            };
            if !ok {
                let name = match a.prefix {
                    Some(p) => format!("{p}:{}", a.name),
                    None => a.name.to_string(),
                };
                self.err(
                    &format!("{path}/@{name}"),
                    el,
                    format!("attribute {name} is not allowed on {}", el.name()),
                );
            }
        }
    }

    /// A required attribute, whitespace-collapsed.
    pub fn required(&mut self, el: Element<'_>, path: &str, name: &str) -> Option<String> {
        let v = el.attr(name).map(collapse);
        if v.is_none() {
            self.err(path, el, format!("missing required attribute {name}"));
        }
        v
    }

    /// An enumerated attribute: `None` when absent or not one of the values (reported).
    pub fn enumerated<T>(
        &mut self,
        el: Element<'_>,
        path: &str,
        name: &str,
        required: bool,
        parse: impl Fn(&str) -> Option<T>,
        values: &[&str],
    ) -> Option<T> {
        let raw = if required {
            self.required(el, path, name)?
        } else {
            collapse(el.attr(name)?)
        };
        let v = parse(&raw);
        if v.is_none() {
            self.err(
                &format!("{path}/@{name}"),
                el,
                format!("{name}={raw:?} is not one of {}", values.join(", ")),
            );
        }
        v
    }

    /// No text but whitespace directly inside `el`.
    pub fn no_text(&mut self, el: Element<'_>, path: &str) {
        if !el.text().trim().is_empty() {
            self.err(path, el, format!("{} may not contain text", el.name()));
        }
    }

    /// Simple content: no child elements.
    pub fn no_children(&mut self, el: Element<'_>, path: &str) {
        if let Some(c) = el.elements().next() {
            self.err(
                path,
                el,
                format!(
                    "{} has simple content: element {} not allowed",
                    el.name(),
                    c.name()
                ),
            );
        }
    }

    /// Matches `el`'s child elements against a sequence; the children per particle, or `None`
    /// (reported) when they do not fit. Text is checked by the caller.
    pub fn seq<'d>(
        &mut self,
        el: Element<'d>,
        path: &str,
        parts: &[Particle],
    ) -> Option<Vec<Vec<Element<'d>>>> {
        let mut groups: Vec<Vec<Element<'d>>> = vec![Vec::new(); parts.len()];
        let mut i = 0;
        for c in el.elements() {
            loop {
                let Some(&(ns, name, min, max)) = parts.get(i) else {
                    self.err(
                        path,
                        c,
                        format!(
                            "unexpected element {{{}}}{} in {}",
                            c.ns(),
                            c.name(),
                            el.name()
                        ),
                    );
                    return None;
                };
                if c.ns() == ns && c.name() == name && groups[i].len() < max {
                    groups[i].push(c);
                    break;
                }
                if groups[i].len() < min {
                    self.err(
                        path,
                        c,
                        format!(
                            "expected {name} in {}, found {{{}}}{}",
                            el.name(),
                            c.ns(),
                            c.name()
                        ),
                    );
                    return None;
                }
                i += 1;
            }
        }
        for (k, &(_, name, min, _)) in parts.iter().enumerate() {
            if groups[k].len() < min {
                self.err(path, el, format!("{} is missing {name}", el.name()));
                return None;
            }
        }
        Some(groups)
    }
}

/// `xs:language` (after collapse).
pub fn is_language(s: &str) -> bool {
    let mut parts = s.split('-');
    let first = parts.next().unwrap_or("");
    (1..=8).contains(&first.len())
        && first.bytes().all(|b| b.is_ascii_alphabetic())
        && parts.all(|p| (1..=8).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_alphanumeric()))
}

/// `xs:boolean` (after collapse).
pub fn parse_boolean(s: &str) -> Option<bool> {
    match s {
        "true" | "1" => Some(true),
        "false" | "0" => Some(false),
        _ => None,
    }
}

/// `xs:integer` (after collapse).
pub fn is_integer(s: &str) -> bool {
    let d = s.strip_prefix(['+', '-']).unwrap_or(s);
    !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit())
}

/// `xs:double` (after collapse): a decimal with optional exponent, or INF, -INF, +INF, NaN.
pub fn is_double(s: &str) -> bool {
    if matches!(s, "INF" | "-INF" | "+INF" | "NaN") {
        return true;
    }
    let (mant, exp) = match s.find(['e', 'E']) {
        Some(i) => (&s[..i], Some(&s[i + 1..])),
        None => (s, None),
    };
    let m = mant.strip_prefix(['+', '-']).unwrap_or(mant);
    let mut parts = m.splitn(2, '.');
    let int = parts.next().unwrap_or("");
    let frac = parts.next();
    let digits = |x: &str| x.bytes().all(|b| b.is_ascii_digit());
    let mant_ok = digits(int)
        && frac.is_none_or(digits)
        && (!int.is_empty() || frac.is_some_and(|f| !f.is_empty()));
    mant_ok && exp.is_none_or(is_integer)
}

/// `xs:dateTime` (after collapse): `-?YYYY-MM-DDThh:mm:ss(.s+)?(Z|(+|-)hh:mm)?`.
pub fn is_date_time(s: &str) -> bool {
    let s = s.strip_prefix('-').unwrap_or(s);
    let Some((date, time)) = s.split_once('T') else {
        return false;
    };
    let d: Vec<&str> = date.split('-').collect();
    let num = |x: &str, n: usize| x.len() == n && x.bytes().all(|b| b.is_ascii_digit());
    if d.len() != 3 || d[0].len() < 4 || !d[0].bytes().all(|b| b.is_ascii_digit()) {
        return false;
    }
    if !num(d[1], 2) || !num(d[2], 2) {
        return false;
    }
    let (month, day): (u32, u32) = (d[1].parse().unwrap_or(0), d[2].parse().unwrap_or(0));
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) {
        return false;
    }
    let (clock, zone) = if let Some(t) = time.strip_suffix('Z') {
        (t, None)
    } else if time.len() > 6 && matches!(time.as_bytes()[time.len() - 6], b'+' | b'-') {
        (&time[..time.len() - 6], Some(&time[time.len() - 5..]))
    } else {
        (time, None)
    };
    if let Some(z) = zone {
        let Some((h, m)) = z.split_once(':') else {
            return false;
        };
        if !num(h, 2) || !num(m, 2) || h > "14" || m > "59" {
            return false;
        }
    }
    let (hms, frac) = match clock.split_once('.') {
        Some((a, f)) => (a, Some(f)),
        None => (clock, None),
    };
    let t: Vec<&str> = hms.split(':').collect();
    if t.len() != 3 || !t.iter().all(|x| num(x, 2)) || frac.is_some_and(|f| !num(f, f.len().max(1)))
    {
        return false;
    }
    let (h, m, sec): (u32, u32, u32) = (
        t[0].parse().unwrap_or(99),
        t[1].parse().unwrap_or(99),
        t[2].parse().unwrap_or(99),
    );
    (h < 24 && m < 60 && sec < 60) || (h == 24 && m == 0 && sec == 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn simple_types() {
        assert!(is_language("en-US") && !is_language("en_US") && !is_language(""));
        assert!(is_double("1.5e3") && is_double("-INF") && is_double(".5") && !is_double("inf"));
        assert!(!is_double("1e") && !is_double("."));
        assert!(
            is_date_time("2004-02-02T22:49:24+00:00") && is_date_time("2004-02-02T22:49:24.5Z")
        );
        assert!(!is_date_time("2004-13-02T22:49:24Z") && !is_date_time("2004-02-02 22:49:24"));
        assert_eq!(parse_boolean("1"), Some(true));
        assert!(is_integer("-12") && !is_integer("1.0"));
    }
}
