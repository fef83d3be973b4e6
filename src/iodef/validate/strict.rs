//! Strict validation ([`validate`]): the walk over the tree that checks the errata-corrected RFC 7970
//! XSD, interpreted from the schema table (attributes and their types, IDs and IDREFs, text and
//! content models), and calls the RFC 7970 text rules (`rfc_rules.rs`) and the xmldsig rules
//! (`xmldsig.rs`) and RFC 7203's (`sci.rs`) on the way. Each finding is a [`Problem`] naming the element path and line.

use std::borrow::Cow;
use std::collections::hash_map::Entry;
use std::collections::HashMap;

use super::model_compiled::match_model;
use super::model_match::{wildcard_only, Kid};
use super::problem::{attr_display, line_of, path_of, push, Path, Problem, RuleSource};
use super::{rfc_rules, sci, xmldsig};
use crate::iodef::arena::{Attribute, Element, Node};
use crate::iodef::schema::{
    self, attr_table, ext_base, ext_pairs, same, Content, Decl, St, NS_XML, NS_XSI,
};

struct Validator<'a> {
    problems: Vec<Problem>,
    ids: HashMap<Cow<'a, str>, ()>,
    /// IDREF values with where they are (the attribute, or the element's text), checked against
    /// `ids` after the walk; a path is rendered only for one that matches no ID.
    idrefs: Vec<(Cow<'a, str>, Element<'a>, Option<Attribute<'a>>)>,
    /// Each element's children and their matched declarations, on two stacks shared by the whole
    /// walk (an element uses the part after its parent's and gives it back): one allocation each per
    /// validation instead of one per nesting level, which showed in the profile.
    kids: Vec<Kid<'a>>,
    matched: Vec<(usize, Option<usize>)>,
}

/// XSD whitespace collapse of a value borrowed from the tree or owned.
fn collapsed_cow(v: Cow<'_, str>) -> Cow<'_, str> {
    match v {
        Cow::Borrowed(s) => schema::collapsed(s),
        Cow::Owned(s) => Cow::Owned(schema::collapse(&s)),
    }
}

impl<'a> Validator<'a> {
    fn push(&mut self, el: Element<'_>, path: &str, source: RuleSource, message: String) {
        push(&mut self.problems, el, path, source, message);
    }

    /// Records an ID or IDREF value; `path` renders where it is (only called when needed).
    fn id(
        &mut self,
        el: Element<'a>,
        path: &dyn Fn() -> String,
        attr: Option<Attribute<'a>>,
        ty: St,
        value: Cow<'a, str>,
    ) {
        match ty {
            // One hash per ID (`contains` then `insert` hashed a new ID twice); the message shows
            // the ID seen first, which is equal to this one.
            St::Id => match self.ids.entry(collapsed_cow(value)) {
                Entry::Occupied(o) => {
                    let m = format!("duplicate ID {:?}", o.key());
                    self.push(el, &path(), RuleSource::Schema, m);
                }
                Entry::Vacant(v) => {
                    v.insert(());
                }
            },
            St::IdRef => self.idrefs.push((collapsed_cow(value), el, attr)),
            _ => {}
        }
    }

    fn attrs(&mut self, el: Element<'a>, di: usize, d: &Decl, path: &Path<'_>) {
        let table = attr_table(di);
        // Declared attributes present (by index), for the required and ext-X rules below.
        let mut seen = 0u64;
        // Declared attributes of an `ext-X` pair whose value is `ext-value`.
        let mut ext_value = 0u64;
        for a in el.attrs() {
            if a.ns == NS_XSI {
                continue;
            }
            // The declaration of this attribute: unqualified ones by name, `xml:` ones by their
            // `xml:`-prefixed table name; other namespaces are never declared. Parsed names are the
            // name table's own strings, so a pointer compare with each declared name's finds it.
            let ai = if a.ns.is_empty() {
                table
                    .find(a.name)
                    .or_else(|| d.attrs.iter().position(|x| same(x.name, a.name)))
            } else if a.ns == NS_XML {
                d.attrs
                    .iter()
                    .position(|x| x.name.strip_prefix("xml:") == Some(a.name))
            } else {
                None
            };
            let name = || attr_display(&a);
            let apath = || format!("{}/@{}", path.render(), name());
            let Some(ai) = ai else {
                let m = format!("attribute {} is not allowed on {}", name(), d.name);
                self.push(el, &apath(), RuleSource::Schema, m);
                continue;
            };
            let bit = 1u64.checked_shl(ai as u32).unwrap_or(0);
            seen |= bit;
            // Collapsing never lengthens a value, so a shorter one (most enumeration values) is not
            // `ext-value` and needs no collapse.
            if table.ext_mask & bit != 0
                && a.value.len() >= "ext-value".len()
                && schema::collapsed(a.value) == "ext-value"
            {
                ext_value |= bit;
            }
            let ad = &d.attrs[ai];
            if let Err(m) = schema::check(ad.ty, a.value) {
                self.push(el, &apath(), RuleSource::Schema, m);
                continue;
            }
            if let Some(f) = ad.fixed {
                if a.value != f {
                    self.push(
                        el,
                        &apath(),
                        RuleSource::Schema,
                        format!("value {:?} must be {f:?}", a.value),
                    );
                }
            }
            // Most attributes are neither ID nor IDREF: skip the call and its closure.
            if matches!(ad.ty, St::Id | St::IdRef) {
                self.id(el, &apath, Some(a), ad.ty, Cow::Borrowed(a.value));
            }
        }
        // Nothing to report when every required attribute was seen and each ext-X pair is consistent
        // (the usual case); otherwise the rules below look again, by name, and report.
        if table.satisfied(seen, ext_value) {
            return;
        }
        for ad in d.attrs.iter().filter(|x| x.required) {
            if el.attr(ad.name).is_none() {
                self.push(
                    el,
                    &path.render(),
                    RuleSource::Schema,
                    format!("missing required attribute {}", ad.name),
                );
            }
        }
        // RFC 7970 §5.1.1: ext-X only with X="ext-value", and X="ext-value" needs ext-X.
        for ad in ext_pairs(di) {
            let base = el.attr(ad.name).map(schema::collapsed);
            let ext_set = el
                .attrs()
                .any(|x| x.ns.is_empty() && ext_base(x.name) == Some(ad.name));
            match (base.as_deref(), ext_set) {
                (Some("ext-value"), false) => self.push(
                    el,
                    &path.render(),
                    RuleSource::Rfc,
                    format!(
                        "{}=\"ext-value\" requires ext-{} (RFC 7970 §5.1.1)",
                        ad.name, ad.name
                    ),
                ),
                (b, true) if b != Some("ext-value") => self.push(
                    el,
                    &path.render(),
                    RuleSource::Rfc,
                    format!(
                        "ext-{} may only be set when {}=\"ext-value\" (RFC 7970 §5.1.1)",
                        ad.name, ad.name
                    ),
                ),
                _ => {}
            }
        }
    }

    fn element(&mut self, el: Element<'a>, di: usize, path: &Path<'_>) {
        let d = schema::decl(di);
        if matches!(d.content, Content::Opaque) {
            xmldsig::check(el, d, path, &mut self.problems);
            if d.ns == schema::Ns::Sci {
                sci::check(el, path, &mut self.problems);
            }
            return;
        }
        self.attrs(el, di, d, path);
        // This element's children are `self.kids[base..end]`; deeper levels use what follows.
        let base = self.kids.len();
        // One walk over the children: the elements, and whether there is text at all (the reader
        // drops ignorable whitespace, so element-only content usually has none, and the test
        // below then need not walk the children again).
        let mut any_text = false;
        for n in el.children() {
            match n {
                Node::Element(e) => self.kids.push(Kid::of(e)),
                Node::Text(_) => any_text = true,
            }
        }
        let end = self.kids.len();
        // Only element-only and empty content need it (not text content, where it is the value).
        let text_nonblank = || {
            any_text
                && el
                    .children()
                    .any(|n| matches!(n, Node::Text(t) if !t.trim().is_empty()))
        };
        match &d.content {
            Content::Opaque => {}
            Content::Simple(ty) => {
                if let Some(k) = self.kids.get(base).copied() {
                    self.push(
                        k.el,
                        &path.render(),
                        RuleSource::Schema,
                        format!(
                            "element <{}> not allowed: {} has text content only",
                            k.name, d.name
                        ),
                    );
                    self.kids.truncate(base);
                    return;
                }
                {
                    let text = el.text_cow();
                    if let Err(m) = schema::check(*ty, &text) {
                        self.push(el, &path.render(), RuleSource::Schema, m);
                    } else if matches!(ty, St::Id | St::IdRef) {
                        // Most text is neither ID nor IDREF: skip the call and its closure.
                        self.id(el, &|| path.render(), None, *ty, text);
                    }
                }
            }
            Content::Empty => {
                if let Some(k) = self.kids.get(base).copied() {
                    self.push(
                        k.el,
                        &path.render(),
                        RuleSource::Schema,
                        format!("element <{}> not allowed: {} must be empty", k.name, d.name),
                    );
                } else if text_nonblank() {
                    self.push(
                        el,
                        &path.render(),
                        RuleSource::Schema,
                        format!("text not allowed: {} must be empty", d.name),
                    );
                }
            }
            Content::Complex { mixed, model } => {
                // Text in element-only content is an error, except where the model is a bare wildcard
                // (SoftwareReference): the xmlschema oracle accepts text there, and RFC 7970 §2.15 needs
                // it (the reference is the text; the XSD forgot mixed="true"). See src/iodef/README.md.
                if !mixed && !wildcard_only(model) && text_nonblank() {
                    self.push(
                        el,
                        &path.render(),
                        RuleSource::Schema,
                        format!("text not allowed in {} (element-only content)", d.name),
                    );
                }
                let mbase = self.matched.len();
                let res = match_model(di, model, &self.kids[base..end], &mut self.matched);
                for m in mbase..self.matched.len() {
                    let (k, kd) = self.matched[m];
                    if let Some(kd) = kd {
                        let kid = self.kids[base + k];
                        let kpath = Path {
                            up: Some(path),
                            parent: Some((el, k)),
                            name: kid.name,
                        };
                        self.element(kid.el, kd, &kpath);
                    }
                }
                self.matched.truncate(mbase);
                // The child at `i` of this element (after the walk below it, the stack is back to `end`).
                let kid_at = |kids: &[Kid<'a>], i: usize| kids[base..end].get(i).copied();
                match res {
                    Ok(pos) if pos < end - base => {
                        let k = self.kids[base + pos].el;
                        self.push(
                            k,
                            &path.render(),
                            RuleSource::Schema,
                            format!(
                                "unexpected element <{}> in {} (not allowed here, or out of order)",
                                k.name(),
                                d.name
                            ),
                        );
                    }
                    Ok(_) => {}
                    Err(f) => {
                        let at_kid = kid_at(&self.kids, f.at);
                        let msg = match at_kid {
                            Some(k) => format!(
                                "unexpected element <{}> in {}; expected {}",
                                k.name,
                                d.name,
                                f.expected().join(" or ")
                            ),
                            None => format!(
                                "{} is missing required element {}",
                                d.name,
                                f.expected().join(" or ")
                            ),
                        };
                        let at = at_kid.map_or(el, |k| k.el);
                        self.push(at, &path.render(), RuleSource::Schema, msg);
                    }
                }
            }
        }
        self.kids.truncate(base);
        rfc_rules::check(el, di, d, path, base == end, &mut self.problems);
    }
}

/// Full validation of a root element against the schema table and the RFC text rules.
pub(crate) fn validate(root: Element<'_>) -> Vec<Problem> {
    let mut v = Validator {
        problems: Vec::new(),
        // Room for the IDs of a typical document without rehashing as it grows (SipHash is kept:
        // IDs are input).
        ids: HashMap::with_capacity(32),
        idrefs: Vec::new(),
        // Room for the widest level and its descendants in typical documents.
        kids: Vec::with_capacity(64),
        matched: Vec::with_capacity(64),
    };
    let path = Path {
        up: None,
        parent: None,
        name: "IODEF-Document",
    };
    v.element(root, schema::ROOT, &path);
    for (r, el, attr) in std::mem::take(&mut v.idrefs) {
        if !v.ids.contains_key(&r) {
            let mut path = path_of(el);
            if let Some(a) = attr {
                path.push_str("/@");
                path.push_str(&attr_display(&a));
            }
            v.problems.push(Problem {
                path,
                line: line_of(el),
                message: format!("IDREF {r:?} does not match any ID in the document"),
                source: RuleSource::Schema,
            });
        }
    }
    v.problems
}
