//! The one writer of `/metrics` text: Prometheus text exposition format
//! 0.0.4 (`# HELP`, `# TYPE`, samples with escaped label values).
//!
//! Every family gridlink exposes — the ROLIE server's own and the bridge's
//! (XMPP, polling) — is written through [`Exposition`], so label values that
//! come from outside (topic names, poll URLs) are escaped in one place, the
//! way the format says: `\` as `\\`, `"` as `\"` and a line feed as `\n`.
//! An unescaped quote or line feed would end the sample early and let a
//! topic name inject samples of its own.

use std::borrow::Cow;
use std::fmt::{Display, Write as _};

/// The `Content-Type` of a text exposition.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// A metric family's type (the `# TYPE` line).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A value that only grows (`_total` names).
    Counter,
    /// A value that goes up and down.
    Gauge,
    /// `_sum` and `_count` samples of observations.
    Summary,
}

impl Kind {
    fn as_str(self) -> &'static str {
        match self {
            Kind::Counter => "counter",
            Kind::Gauge => "gauge",
            Kind::Summary => "summary",
        }
    }
}

/// Appends families and samples to a `/metrics` body.
#[derive(Debug)]
pub struct Exposition<'a> {
    out: &'a mut String,
}

impl<'a> Exposition<'a> {
    /// A writer appending to `out` (which may already hold other families).
    pub fn new(out: &'a mut String) -> Exposition<'a> {
        Exposition { out }
    }

    /// Starts family `name`: its `# HELP` (escaped) and `# TYPE` lines.
    /// Its samples follow with [`sample`](Self::sample).
    pub fn family(&mut self, name: &str, kind: Kind, help: &str) -> &mut Self {
        debug_assert!(valid_name(name), "metric name {name:?}");
        let _ = writeln!(self.out, "# HELP {name} {}", escape_help(help));
        let _ = writeln!(self.out, "# TYPE {name} {}", kind.as_str());
        self
    }

    /// One sample `name{labels} value`. Label names are the program's own
    /// (checked in debug builds); label values are escaped.
    pub fn sample(
        &mut self,
        name: &str,
        labels: &[(&str, &str)],
        value: impl Display,
    ) -> &mut Self {
        debug_assert!(valid_name(name), "metric name {name:?}");
        self.out.push_str(name);
        if !labels.is_empty() {
            self.out.push('{');
            for (i, (label, v)) in labels.iter().enumerate() {
                debug_assert!(valid_name(label) && !label.contains(':'), "label {label:?}");
                if i > 0 {
                    self.out.push(',');
                }
                let _ = write!(self.out, "{label}=\"{}\"", escape_label(v));
            }
            self.out.push('}');
        }
        let _ = writeln!(self.out, " {value}");
        self
    }

    /// A family of one unlabelled sample.
    pub fn single(&mut self, name: &str, kind: Kind, help: &str, value: impl Display) {
        self.family(name, kind, help).sample(name, &[], value);
    }
}

/// A label value as the text format wants it: `\`, `"` and line feed
/// escaped as `\\`, `\"` and `\n`.
pub fn escape_label(v: &str) -> Cow<'_, str> {
    escape(v, true)
}

/// `# HELP` text: `\` and line feed escaped (a quote needs none there).
pub fn escape_help(v: &str) -> Cow<'_, str> {
    escape(v, false)
}

fn escape(v: &str, quote: bool) -> Cow<'_, str> {
    if !v
        .bytes()
        .any(|b| b == b'\\' || b == b'\n' || (quote && b == b'"'))
    {
        return Cow::Borrowed(v);
    }
    let mut out = String::with_capacity(v.len() + 8);
    for c in v.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '"' if quote => out.push_str("\\\""),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// `[a-zA-Z_:][a-zA-Z0-9_:]*`, the format's metric name syntax.
fn valid_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    bytes
        .next()
        .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_' || b == b':')
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b':')
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reads one sample line back the way the format defines it: the
    /// label values unescaped, and nothing after the value.
    fn parse_sample(line: &str) -> (String, Vec<(String, String)>, String) {
        let (name, rest) = line.split_at(line.find(['{', ' ']).unwrap());
        let mut labels = Vec::new();
        let mut chars = rest.chars().peekable();
        if chars.peek() == Some(&'{') {
            chars.next();
            loop {
                let label: String = chars.by_ref().take_while(|c| *c != '=').collect();
                assert_eq!(chars.next(), Some('"'), "{line}");
                let mut value = String::new();
                loop {
                    match chars.next().expect("unterminated label value") {
                        '\\' => match chars.next() {
                            Some('\\') => value.push('\\'),
                            Some('"') => value.push('"'),
                            Some('n') => value.push('\n'),
                            other => panic!("bad escape {other:?} in {line}"),
                        },
                        '"' => break,
                        '\n' => panic!("raw line feed in {line}"),
                        c => value.push(c),
                    }
                }
                labels.push((label, value));
                match chars.next() {
                    Some(',') => continue,
                    Some('}') => break,
                    other => panic!("{other:?} after a label in {line}"),
                }
            }
        }
        let value: String = chars.collect();
        let value = value.strip_prefix(' ').expect("space before the value");
        assert!(!value.contains(' '), "one value: {line}");
        (name.to_owned(), labels, value.to_owned())
    }

    #[test]
    fn hostile_label_values_round_trip() {
        let hostile = "a\"b\\c\nd} 1\nevil_total 9";
        let mut out = String::new();
        Exposition::new(&mut out)
            .family("x_total", Kind::Counter, "Help with \\ and\nnewline \"q\".")
            .sample("x_total", &[("topic", hostile), ("k", "plain")], 3u64);
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines.len(), 3, "{out}");
        assert_eq!(
            lines[0],
            "# HELP x_total Help with \\\\ and\\nnewline \"q\"."
        );
        assert_eq!(lines[1], "# TYPE x_total counter");
        let (name, labels, value) = parse_sample(lines[2]);
        assert_eq!(name, "x_total");
        assert_eq!(
            labels,
            vec![
                ("topic".to_owned(), hostile.to_owned()),
                ("k".to_owned(), "plain".to_owned())
            ]
        );
        assert_eq!(value, "3");
    }

    #[test]
    fn unlabelled_and_borrowed() {
        let mut out = String::new();
        Exposition::new(&mut out).single("up", Kind::Gauge, "Up.", 1);
        assert_eq!(out, "# HELP up Up.\n# TYPE up gauge\nup 1\n");
        assert!(matches!(escape_label("plain"), Cow::Borrowed(_)));
        assert_eq!(escape_help("a\"b"), "a\"b");
        assert!(valid_name("a:b_c1") && !valid_name("1a") && !valid_name("a-b"));
    }
}
