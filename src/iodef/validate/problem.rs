//! What a validation finding is ([`Problem`], [`RuleSource`]) and where it is: the element path a
//! finding names, rendered only when there is a finding (during the walk from the walk's own `Path`,
//! after it from the tree's parent links). Shared by every check of the folder.

use std::fmt;

use crate::iodef::arena::{Attribute, Element};
use crate::iodef::schema::{same, NS_XML};

/// Where a rule comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RuleSource {
    /// The XSD (errata-corrected RFC 7970 §8): the XSD oracle agrees with these.
    Schema,
    /// RFC 7970 text the XSD cannot express (e.g. Contact needs a child, `ext-*` only with `ext-value`).
    Rfc,
}

/// One validation finding.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// Element path, e.g. `/IODEF-Document/Incident[1]/Contact[1]` (attribute as `/@name`).
    pub path: String,
    /// 1-based source line, when the document came from XML.
    pub line: Option<u32>,
    /// What is wrong.
    pub message: String,
    /// Which rule set found it.
    pub source: RuleSource,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(l) => write!(f, "line {l}: {}: {}", self.path, self.message)?,
            None => write!(f, "{}: {}", self.path, self.message)?,
        }
        if self.source == RuleSource::Rfc {
            write!(f, " (RFC 7970 text rule)")?;
        }
        Ok(())
    }
}

/// Records a finding at `el` (its line) under the rendered `path`.
pub(crate) fn push(
    out: &mut Vec<Problem>,
    el: Element<'_>,
    path: &str,
    source: RuleSource,
    message: String,
) {
    out.push(Problem {
        path: path.to_string(),
        line: line_of(el),
        message,
        source,
    });
}

/// Where the walk is. Rendered as `/IODEF-Document/Incident[1]/…` only when a finding needs it: formatting
/// the path of every element showed in the profile, and valid documents never need one.
#[derive(Clone, Copy)]
pub(crate) struct Path<'p> {
    pub up: Option<&'p Path<'p>>,
    /// This element's parent and its position among the parent's element children; the `[n]` of the
    /// path (1-based, among same-named siblings) is counted from them when rendering.
    pub parent: Option<(Element<'p>, usize)>,
    pub name: &'p str,
}

impl Path<'_> {
    pub fn render(&self) -> String {
        let mut s = String::with_capacity(96);
        self.render_into(&mut s);
        s
    }

    /// Appends the path to `s`: one buffer for all levels (a `String` per level, each appended to
    /// the next, showed in the profile of the documents with findings).
    fn render_into(&self, s: &mut String) {
        if let Some(up) = self.up {
            up.render_into(s);
        }
        match self.parent {
            None => {
                s.push('/');
                s.push_str(self.name);
            }
            Some((parent, pos)) => {
                let n = 1 + parent
                    .elements()
                    .take(pos)
                    .filter(|e| same(e.name(), self.name))
                    .count();
                push_step(s, self.name, n);
            }
        }
    }
}

/// Appends `/name[n]`: by hand, since `write!` (the formatting machinery for each step of each
/// path) was most of rendering a path in the profile of documents with findings.
fn push_step(s: &mut String, name: &str, n: usize) {
    s.push('/');
    s.push_str(name);
    s.push('[');
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    let mut v = n;
    loop {
        i -= 1;
        digits[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    for d in &digits[i..] {
        s.push(char::from(*d));
    }
    s.push(']');
}

/// The line of `el`, if it has one (elements built from JSON have none).
pub(crate) fn line_of(el: Element<'_>) -> Option<u32> {
    (el.line() > 0).then_some(el.line())
}

/// An attribute's name as problems show it: `xml:lang`, `name`, or `{ns}name`.
pub(crate) fn attr_display(a: &Attribute<'_>) -> String {
    if a.ns == NS_XML {
        format!("xml:{}", a.name)
    } else if a.ns.is_empty() {
        a.name.to_string()
    } else {
        format!("{{{}}}{}", a.ns, a.name)
    }
}

/// The path of `el` as [`Path::render`] writes it, found through the tree's parent links (for the
/// findings made after the walk).
pub(crate) fn path_of(el: Element<'_>) -> String {
    match el.parent() {
        None => format!("/{}", el.name()),
        Some(p) => {
            let mut s = path_of(p);
            let n = 1 + p
                .elements()
                .take_while(|e| !e.same_node(&el))
                .filter(|e| same(e.name(), el.name()))
                .count();
            push_step(&mut s, el.name(), n);
            s
        }
    }
}

#[cfg(test)]
mod tests {
    use super::push_step;

    /// `push_step` writes what `write!(s, "/{name}[{n}]")` writes.
    #[test]
    fn push_step_is_write() {
        use std::fmt::Write as _;
        for n in [0, 1, 9, 10, 11, 99, 100, 12345, usize::MAX] {
            let mut a = String::from("x");
            push_step(&mut a, "Name", n);
            let mut b = String::from("x");
            let _ = write!(b, "/Name[{n}]");
            assert_eq!(a, b);
        }
    }
}
