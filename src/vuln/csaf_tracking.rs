//! The CSAF 2.0 §6.1 mandatory tests on `/document/tracking`: the revision
//! history sorted (6.1.14) and complete (6.1.21), the document version
//! being its latest item (6.1.16), draft status and pre-release parts
//! (6.1.17–6.1.20), one versioning scheme only (6.1.30). Versions are
//! either integers or semantic versions (CSAF 2.0 §3.1.11).

use std::cmp::Ordering;

use serde_json::Value;

/// A `version` or revision `number`.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Version {
    Integer(u64),
    Semantic {
        major: u64,
        minor: u64,
        patch: u64,
        /// The pre-release part (after `-`), if any.
        pre: Option<String>,
    },
}

impl Version {
    /// Parses `s`, ignoring build metadata (`+…`).
    fn parse(s: &str) -> Option<Version> {
        if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
            return s.parse().ok().map(Version::Integer);
        }
        let core = s.split_once('+').map_or(s, |(c, _)| c);
        let (core, pre) = match core.split_once('-') {
            Some((c, p)) => (c, Some(p.to_owned())),
            None => (core, None),
        };
        let mut parts = core.split('.').map(|p| p.parse::<u64>().ok());
        let (Some(Some(major)), Some(Some(minor)), Some(Some(patch)), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return None;
        };
        Some(Version::Semantic {
            major,
            minor,
            patch,
            pre,
        })
    }

    fn major(&self) -> u64 {
        match self {
            Version::Integer(n) => *n,
            Version::Semantic { major, .. } => *major,
        }
    }

    fn is_pre_release(&self) -> bool {
        matches!(self, Version::Semantic { pre: Some(_), .. })
    }

    /// `0` or `0.y.z`: not yet released.
    fn is_zero(&self) -> bool {
        self.major() == 0
    }

    /// Without its pre-release part.
    fn release(&self) -> Version {
        match self {
            Version::Semantic {
                major,
                minor,
                patch,
                ..
            } => Version::Semantic {
                major: *major,
                minor: *minor,
                patch: *patch,
                pre: None,
            },
            v => v.clone(),
        }
    }

    /// Semantic version precedence (semver.org §11); `None` across schemes.
    fn compare(&self, other: &Version) -> Option<Ordering> {
        match (self, other) {
            (Version::Integer(a), Version::Integer(b)) => Some(a.cmp(b)),
            (
                Version::Semantic {
                    major: a,
                    minor: b,
                    patch: c,
                    pre: p,
                },
                Version::Semantic {
                    major: x,
                    minor: y,
                    patch: z,
                    pre: q,
                },
            ) => Some((a, b, c).cmp(&(x, y, z)).then_with(|| match (p, q) {
                (None, None) => Ordering::Equal,
                (None, Some(_)) => Ordering::Greater,
                (Some(_), None) => Ordering::Less,
                (Some(p), Some(q)) => pre_release_cmp(p, q),
            })),
            _ => None,
        }
    }
}

fn pre_release_cmp(a: &str, b: &str) -> Ordering {
    let (mut x, mut y) = (a.split('.'), b.split('.'));
    loop {
        match (x.next(), y.next()) {
            (None, None) => return Ordering::Equal,
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(p), Some(q)) => {
                let o = match (p.parse::<u64>(), q.parse::<u64>()) {
                    (Ok(m), Ok(n)) => m.cmp(&n),
                    (Ok(_), Err(_)) => Ordering::Less,
                    (Err(_), Ok(_)) => Ordering::Greater,
                    (Err(_), Err(_)) => p.cmp(q),
                };
                if o != Ordering::Equal {
                    return o;
                }
            }
        }
    }
}

/// Runs the tracking tests; each failure is one line naming the test.
pub fn run(doc: &Value, out: &mut Vec<String>) {
    let Some(tracking) = doc.pointer("/document/tracking") else {
        return;
    };
    let status = tracking.get("status").and_then(Value::as_str).unwrap_or("");
    let released = status == "final" || status == "interim";
    let version_text = tracking.get("version").and_then(Value::as_str);
    let version = version_text.and_then(Version::parse);
    // (date, number text, number) in document order; the schema has
    // checked their presence and form.
    let mut items: Vec<(&str, &str, Version)> = tracking
        .get("revision_history")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|r| {
            let date = r.get("date")?.as_str()?;
            let text = r.get("number")?.as_str()?;
            Some((date, text, Version::parse(text)?))
        })
        .collect();
    // 6.1.30: one scheme for the version and every number.
    let integer = |v: &Version| matches!(v, Version::Integer(_));
    let mixed = {
        let mut all = items.iter().map(|i| &i.2).chain(version.as_ref());
        let first = all.next().map(integer);
        first.is_some_and(|f| all.any(|v| integer(v) != f))
    };
    if mixed {
        out.push(
            "6.1.30: the revision history and version mix integer and semantic versioning".into(),
        );
    }
    if let (Some(v), Some(text)) = (&version, version_text) {
        // 6.1.17.
        if (v.is_zero() || v.is_pre_release()) && status != "draft" {
            out.push(format!(
                "6.1.17: version {text:?} is a draft version, but the status is {status:?}"
            ));
        }
        // 6.1.20.
        if released && v.is_pre_release() {
            out.push(format!(
                "6.1.20: a {status} document has the pre-release version {text:?}"
            ));
        }
    }
    for (_, text, n) in &items {
        // 6.1.18.
        if released && n.is_zero() {
            out.push(format!(
                "6.1.18: a {status} document has revision {text:?} in its history"
            ));
        }
        // 6.1.19.
        if n.is_pre_release() {
            out.push(format!(
                "6.1.19: revision {text:?} is a pre-release version"
            ));
        }
    }
    if mixed || items.is_empty() {
        return;
    }
    // Sorted by date (stable: items of one date keep their order). The
    // dates are RFC 3339 (the schema checks it); compared as instants.
    let instant = |d: &str| chrono::DateTime::parse_from_rfc3339(d).ok();
    items.sort_by(|a, b| match (instant(a.0), instant(b.0)) {
        (Some(x), Some(y)) => x.cmp(&y),
        _ => a.0.cmp(b.0),
    });
    // 6.1.14.
    for w in items.windows(2) {
        if w[0].2.compare(&w[1].2) != Some(Ordering::Less) {
            out.push(format!(
                "6.1.14: sorted by date, revision {:?} ({}) comes after {:?} ({})",
                w[1].1, w[1].0, w[0].1, w[0].0
            ));
            break;
        }
    }
    // 6.1.16.
    if let (Some(v), Some(text), Some(last)) = (&version, version_text, items.last()) {
        let same = if status == "draft" {
            *v == last.2
        } else {
            v.release() == last.2.release()
        };
        if !same {
            out.push(format!(
                "6.1.16: version {text:?} is not the latest revision {:?}",
                last.1
            ));
        }
    }
    // 6.1.21.
    if items[0].2.major() > 1 {
        out.push(format!(
            "6.1.21: the revision history starts at {:?}, not 0 or 1",
            items[0].1
        ));
    }
    for w in items.windows(2) {
        if w[1].2.major() > w[0].2.major() + 1 {
            out.push(format!(
                "6.1.21: the revision history goes from {:?} to {:?}",
                w[0].1, w[1].1
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions() {
        assert_eq!(Version::parse("12"), Some(Version::Integer(12)));
        let v = |s| Version::parse(s).unwrap();
        assert!(v("1.0.0-rc").is_pre_release());
        assert!(!v("1.0.0+build.5").is_pre_release());
        assert_eq!(Version::parse("1.0"), None);
        assert_eq!(Version::parse("x"), None);
        for (a, b) in [
            ("1.0.0-alpha", "1.0.0-alpha.1"),
            ("1.0.0-alpha.1", "1.0.0-alpha.beta"),
            ("1.0.0-beta.2", "1.0.0-beta.11"),
            ("1.0.0-rc.1", "1.0.0"),
            ("1.9.0", "1.10.0"),
        ] {
            assert_eq!(v(a).compare(&v(b)), Some(Ordering::Less), "{a} < {b}");
        }
        assert_eq!(v("1").compare(&v("1.0.0")), None);
    }
}
