//! Validation: the errata-corrected RFC 7970 XSD, interpreted from the schema table, plus the RFC 7970
//! text rules the XSD cannot express. Each finding is a [`Problem`] naming the element path and line.

use std::collections::HashMap;
use std::fmt::{self, Write as _};

use super::schema::{self, Content, Decl, Particle, St, NS_DS, NS_IODEF, NS_XML, NS_XSI};
use super::tree::{Element, Node};

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

struct Validator {
    problems: Vec<Problem>,
    ids: HashMap<String, String>,
    idrefs: Vec<(String, String, Option<u32>)>,
}

fn line_of(el: &Element) -> Option<u32> {
    (el.line > 0).then_some(el.line)
}

impl Validator {
    fn push(&mut self, el: &Element, path: &str, source: RuleSource, message: String) {
        self.problems.push(Problem {
            path: path.to_string(),
            line: line_of(el),
            message,
            source,
        });
    }

    fn id(&mut self, el: &Element, path: &str, ty: St, value: &str) {
        let v = schema::collapse(value);
        match ty {
            St::Id if self.ids.insert(v.clone(), path.to_string()).is_some() => {
                self.push(el, path, RuleSource::Schema, format!("duplicate ID {v:?}"));
            }
            St::IdRef => self.idrefs.push((v, path.to_string(), line_of(el))),
            _ => {}
        }
    }

    fn attrs(&mut self, el: &Element, d: &Decl, path: &str) {
        for a in &el.attrs {
            if a.ns == NS_XSI {
                continue;
            }
            let name: std::borrow::Cow<'_, str> = if a.ns == NS_XML {
                format!("xml:{}", a.name).into()
            } else if a.ns.is_empty() {
                a.name.as_str().into()
            } else {
                format!("{{{}}}{}", a.ns, a.name).into()
            };
            let apath = || format!("{path}/@{name}");
            let Some(ad) = d.attrs.iter().find(|x| x.name == name) else {
                self.push(
                    el,
                    &apath(),
                    RuleSource::Schema,
                    format!("attribute {name} is not allowed on {}", d.name),
                );
                continue;
            };
            if let Err(m) = schema::check(ad.ty, &a.value) {
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
            self.id(el, &apath(), ad.ty, &a.value);
        }
        for ad in d.attrs.iter().filter(|x| x.required) {
            if el.attr(ad.name).is_none() {
                self.push(
                    el,
                    path,
                    RuleSource::Schema,
                    format!("missing required attribute {}", ad.name),
                );
            }
        }
        // RFC 7970 §5.1.1: ext-X only with X="ext-value", and X="ext-value" needs ext-X.
        for ad in d.attrs {
            let St::Enum(values) = ad.ty else { continue };
            if !values.contains(&"ext-value") {
                continue;
            }
            let ext = format!("ext-{}", ad.name);
            if !d.attrs.iter().any(|x| x.name == ext) {
                continue;
            }
            let base = el.attr(ad.name).map(schema::collapse);
            match (base.as_deref(), el.attr(&ext)) {
                (Some("ext-value"), None) => self.push(
                    el,
                    path,
                    RuleSource::Rfc,
                    format!("{}=\"ext-value\" requires {ext} (RFC 7970 §5.1.1)", ad.name),
                ),
                (b, Some(_)) if b != Some("ext-value") => self.push(
                    el,
                    path,
                    RuleSource::Rfc,
                    format!(
                        "{ext} may only be set when {}=\"ext-value\" (RFC 7970 §5.1.1)",
                        ad.name
                    ),
                ),
                _ => {}
            }
        }
    }

    fn element(&mut self, el: &Element, di: usize, path: &mut String) {
        let d = schema::decl(di);
        if matches!(d.content, Content::Opaque) {
            self.xmldsig(el, d, path);
            return;
        }
        self.attrs(el, d, path);
        let kids: Vec<&Element> = el.elements().collect();
        let text_nonblank = el
            .children
            .iter()
            .any(|n| matches!(n, Node::Text(t) if !t.trim().is_empty()));
        match &d.content {
            Content::Opaque => {}
            Content::Simple(ty) => {
                if let Some(k) = kids.first() {
                    self.push(
                        k,
                        path,
                        RuleSource::Schema,
                        format!(
                            "element <{}> not allowed: {} has text content only",
                            k.name, d.name
                        ),
                    );
                    return;
                }
                let text = el.text();
                if let Err(m) = schema::check(*ty, &text) {
                    self.push(el, path, RuleSource::Schema, m);
                } else {
                    self.id(el, path, *ty, &text);
                }
            }
            Content::Empty => {
                if let Some(k) = kids.first() {
                    self.push(
                        k,
                        path,
                        RuleSource::Schema,
                        format!("element <{}> not allowed: {} must be empty", k.name, d.name),
                    );
                } else if text_nonblank {
                    self.push(
                        el,
                        path,
                        RuleSource::Schema,
                        format!("text not allowed: {} must be empty", d.name),
                    );
                }
            }
            Content::Complex { mixed, model } => {
                // Text in element-only content is an error, except where the model is a bare wildcard
                // (SoftwareReference): the xmlschema oracle accepts text there, and RFC 7970 §2.15 needs
                // it (the reference is the text; the XSD forgot mixed="true"). See src/iodef/README.md.
                if !mixed && text_nonblank && !wildcard_only(model) {
                    self.push(
                        el,
                        path,
                        RuleSource::Schema,
                        format!("text not allowed in {} (element-only content)", d.name),
                    );
                }
                let mut matched = Vec::new();
                let res = match_particle(model, &kids, 0, &mut matched);
                let mut counts: Vec<(&str, usize)> = Vec::new();
                for (k, kd) in &matched {
                    let kid = kids[*k];
                    let n = match counts.iter_mut().find(|(name, _)| *name == kid.name) {
                        Some((_, n)) => {
                            *n += 1;
                            *n
                        }
                        None => {
                            counts.push((kid.name.as_str(), 1));
                            1
                        }
                    };
                    if let Some(kd) = kd {
                        // one path buffer for the whole walk: push this child's segment, pop it after
                        let len = path.len();
                        let _ = write!(path, "/{}[{n}]", kid.name);
                        self.element(kid, *kd, path);
                        path.truncate(len);
                    }
                }
                match res {
                    Ok(pos) if pos < kids.len() => {
                        let k = kids[pos];
                        self.push(
                            k,
                            path,
                            RuleSource::Schema,
                            format!(
                                "unexpected element <{}> in {} (not allowed here, or out of order)",
                                k.name, d.name
                            ),
                        );
                    }
                    Ok(_) => {}
                    Err(f) => {
                        let msg = match kids.get(f.at) {
                            Some(k) => format!(
                                "unexpected element <{}> in {}; expected {}",
                                k.name,
                                d.name,
                                f.expected.join(" or ")
                            ),
                            None => format!(
                                "{} is missing required element {}",
                                d.name,
                                f.expected.join(" or ")
                            ),
                        };
                        let at = kids.get(f.at).copied().unwrap_or(el);
                        self.push(at, path, RuleSource::Schema, msg);
                    }
                }
            }
        }
        self.rfc_rules(el, d, path, &kids);
    }

    /// The few xmldsig rules the IODEF classes lean on (Hash's DigestMethod, DigestValue,
    /// CanonicalizationMethod); Signature and X509Data content are not checked (see README).
    fn xmldsig(&mut self, el: &Element, d: &Decl, path: &str) {
        if d.ns != schema::Ns::Ds {
            return;
        }
        match d.name {
            "DigestMethod" | "CanonicalizationMethod" => match el.attr("Algorithm") {
                None => self.push(
                    el,
                    path,
                    RuleSource::Schema,
                    format!("missing required attribute Algorithm on ds:{}", d.name),
                ),
                Some(v) => {
                    if let Err(m) = schema::check(St::AnyUri, v) {
                        self.push(el, &format!("{path}/@Algorithm"), RuleSource::Schema, m);
                    }
                }
            },
            "X509Data" => self.x509_data(el, path),
            "DigestValue" => {
                if el.elements().next().is_some() {
                    self.push(
                        el,
                        path,
                        RuleSource::Schema,
                        "ds:DigestValue has text content only".into(),
                    );
                } else if let Err(m) = schema::check(St::Base64, &el.text()) {
                    self.push(el, path, RuleSource::Schema, m);
                }
            }
            _ => {}
        }
    }

    /// ds:X509Data (xmldsig-core): one or more of X509IssuerSerial, X509SKI, X509SubjectName,
    /// X509Certificate, X509CRL or a foreign-namespace element.
    fn x509_data(&mut self, el: &Element, path: &str) {
        let mut n = 0;
        for k in el.elements() {
            n += 1;
            let kpath = format!("{path}/ds:{}", k.name);
            if k.ns != NS_DS {
                if k.ns.is_empty() {
                    self.push(
                        k,
                        path,
                        RuleSource::Schema,
                        format!("unexpected element <{}> in ds:X509Data", k.name),
                    );
                }
                continue;
            }
            match k.name.as_str() {
                "X509IssuerSerial" => {
                    let kids: Vec<&Element> = k.elements().collect();
                    let names: Vec<&str> = kids.iter().map(|e| e.name.as_str()).collect();
                    if kids.iter().any(|e| e.ns != NS_DS)
                        || names != ["X509IssuerName", "X509SerialNumber"]
                    {
                        self.push(k, &kpath, RuleSource::Schema, "ds:X509IssuerSerial needs exactly X509IssuerName then X509SerialNumber".into());
                    } else if let Err(m) = schema::check(St::Integer, &kids[1].text()) {
                        self.push(kids[1], &kpath, RuleSource::Schema, m);
                    }
                }
                "X509SKI" | "X509Certificate" | "X509CRL" => {
                    if let Err(m) = schema::check(St::Base64, &k.text()) {
                        self.push(k, &kpath, RuleSource::Schema, m);
                    }
                }
                "X509SubjectName" => {}
                other => self.push(
                    k,
                    path,
                    RuleSource::Schema,
                    format!("unexpected element <ds:{other}> in ds:X509Data"),
                ),
            }
            if k.name != "X509IssuerSerial" && k.elements().next().is_some() {
                self.push(
                    k,
                    &kpath,
                    RuleSource::Schema,
                    format!("ds:{} has text content only", k.name),
                );
            }
        }
        if n == 0 {
            self.push(
                el,
                path,
                RuleSource::Schema,
                "ds:X509Data needs at least one child".into(),
            );
        }
        if el
            .children
            .iter()
            .any(|c| matches!(c, Node::Text(t) if !t.trim().is_empty()))
        {
            self.push(
                el,
                path,
                RuleSource::Schema,
                "text not allowed in ds:X509Data".into(),
            );
        }
    }

    fn rfc_rules(&mut self, el: &Element, d: &Decl, path: &str, kids: &[&Element]) {
        if d.ns != schema::Ns::Iodef {
            return;
        }
        match d.name {
            "Contact" if kids.is_empty() => self.push(
                el,
                path,
                RuleSource::Rfc,
                "Contact must have at least one child element (RFC 7970 §3.9)".into(),
            ),
            "RelatedActivity" | "ThreatActor" | "Campaign" if kids.is_empty() => self.push(
                el,
                path,
                RuleSource::Rfc,
                format!(
                    "{} must have at least one child element (RFC 7970 §3.6-3.8)",
                    d.name
                ),
            ),
            "IODEF-Document" => {
                if el.attr("version").is_none() {
                    self.push(
                        el,
                        path,
                        RuleSource::Rfc,
                        "missing required attribute version (RFC 7970 §3.1: MUST be \"2.00\")"
                            .into(),
                    );
                }
                if el.attr("private-enum-id").is_some() && el.attr("private-enum-name").is_none() {
                    self.push(
                        el,
                        path,
                        RuleSource::Rfc,
                        "private-enum-id requires private-enum-name (RFC 7970 §3.1)".into(),
                    );
                }
            }
            "SoftwareReference"
                if el.attr("spec-name") == Some("custom") && el.attr("dtype").is_none() =>
            {
                self.push(
                    el,
                    path,
                    RuleSource::Rfc,
                    "spec-name=\"custom\" requires dtype (RFC 7970 §2.15)".into(),
                )
            }
            "IndicatorReference" => {
                let n = el.attr("uid-ref").is_some() as u8 + el.attr("euid-ref").is_some() as u8;
                if n != 1 {
                    self.push(el, path, RuleSource::Schema, "IndicatorReference needs exactly one of uid-ref, euid-ref (xs:key uidrefKey)".into());
                }
            }
            _ => {}
        }
    }
}

/// Why a content model did not match.
struct Fail {
    at: usize,
    expected: Vec<String>,
}

fn elem_matches(di: usize, k: &Element) -> bool {
    let d = schema::decl(di);
    k.name == d.name && k.ns == d.ns.uri()
}

fn any_matches(other_ns: bool, k: &Element) -> bool {
    !other_ns || (k.ns != NS_IODEF && !k.ns.is_empty())
}

/// A content model that is nothing but `xs:any` (possibly inside a one-item sequence).
fn wildcard_only(p: &Particle) -> bool {
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

fn can_start(p: &Particle, k: &Element) -> bool {
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
fn match_particle(
    p: &Particle,
    kids: &[&Element],
    pos: usize,
    out: &mut Vec<(usize, Option<usize>)>,
) -> Result<usize, Fail> {
    let (min, max) = p.occurs();
    match p {
        Particle::Elem { decl, .. } => {
            let mut n = 0;
            while n < max
                && pos + (n as usize) < kids.len()
                && elem_matches(*decl, kids[pos + n as usize])
            {
                out.push((pos + n as usize, Some(*decl)));
                n += 1;
            }
            if n < min {
                return Err(Fail {
                    at: pos + n as usize,
                    expected: vec![format!("<{}>", schema::decl(*decl).name)],
                });
            }
            Ok(pos + n as usize)
        }
        Particle::Any { other_ns, .. } => {
            let mut n = 0;
            while n < max
                && pos + (n as usize) < kids.len()
                && any_matches(*other_ns, kids[pos + n as usize])
            {
                let k = kids[pos + n as usize];
                out.push((pos + n as usize, schema::find(&k.ns, &k.name)));
                n += 1;
            }
            if n < min {
                return Err(Fail {
                    at: pos + n as usize,
                    expected: vec!["any element".into()],
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
                    match match_particle(it, kids, cur, out) {
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
                        let mut expected = Vec::new();
                        first_names(p, &mut expected);
                        return Err(Fail { at: cur, expected });
                    }
                }
            }
            Ok(cur)
        }
    }
}

/// Full validation of a root element against the schema table and the RFC text rules.
pub(crate) fn validate(root: &Element) -> Vec<Problem> {
    let mut v = Validator {
        problems: Vec::new(),
        ids: HashMap::new(),
        idrefs: Vec::new(),
    };
    v.element(root, schema::ROOT, &mut String::from("/IODEF-Document"));
    for (r, path, line) in std::mem::take(&mut v.idrefs) {
        if !v.ids.contains_key(&r) {
            v.problems.push(Problem {
                path,
                line,
                message: format!("IDREF {r:?} does not match any ID in the document"),
                source: RuleSource::Schema,
            });
        }
    }
    v.problems
}

/// Cheap structural validation: namespace, version, and the required core of each Incident.
pub(crate) fn validate_basic(root: &Element) -> Vec<Problem> {
    let mut out = Vec::new();
    let mut p = |el: &Element, path: String, m: &str| {
        out.push(Problem {
            path,
            line: line_of(el),
            message: m.to_string(),
            source: RuleSource::Schema,
        })
    };
    if root.ns != NS_IODEF || root.name != "IODEF-Document" {
        p(
            root,
            "/".into(),
            "root must be IODEF-Document in urn:ietf:params:xml:ns:iodef-2.0",
        );
        return out;
    }
    match root.attr("version") {
        Some("2.00") => {}
        Some(v) => p(
            root,
            "/IODEF-Document/@version".into(),
            &format!("version must be \"2.00\", not {v:?}"),
        ),
        None => p(root, "/IODEF-Document".into(), "missing version attribute"),
    }
    let mut n = 0;
    for inc in root.children_named("Incident") {
        n += 1;
        let path = format!("/IODEF-Document/Incident[{n}]");
        if inc.attr("purpose").is_none() {
            p(inc, path.clone(), "missing required attribute purpose");
        }
        for (name, msg) in [
            ("IncidentID", "missing IncidentID"),
            ("GenerationTime", "missing GenerationTime"),
            ("Contact", "missing Contact"),
        ] {
            if inc.child(name).is_none() {
                p(inc, path.clone(), msg);
            }
        }
    }
    if n == 0 {
        p(
            root,
            "/IODEF-Document".into(),
            "IODEF-Document needs at least one Incident",
        );
    }
    out
}
