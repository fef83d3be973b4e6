//! STIX 2.1 patterns (STIX 2.1 §9), the subset gridlink writes and reads: observation expressions
//! of equality comparisons, joined by `AND` / `OR`, with `!=` for a negated single comparison.
//! [`Expr`] renders to pattern text; [`parse`] reads pattern text back into an [`Expr`], refusing
//! (with the reason) what IODEF cannot express: qualifiers, `FOLLOWEDBY`, `LIKE`, `MATCHES`, …

/// A literal on the right of a comparison.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Literal {
    /// A quoted string.
    Str(String),
    /// An integer.
    Int(i64),
}

/// One comparison: `TYPE:PATH = value` (or `!=` when `negated`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Comparison {
    /// The cyber-observable type (`ipv4-addr`).
    pub kind: String,
    /// The property path after the colon (`value`, `hashes.'SHA-256'`).
    pub path: String,
    /// The value compared with.
    pub value: Literal,
    /// `!=` instead of `=`.
    pub negated: bool,
}

impl Comparison {
    /// `kind:path = 'value'`.
    pub fn string(kind: &str, path: &str, value: &str) -> Comparison {
        Comparison {
            kind: kind.into(),
            path: path.into(),
            value: Literal::Str(value.into()),
            negated: false,
        }
    }

    /// `kind:path = value` (an integer).
    pub fn int(kind: &str, path: &str, value: i64) -> Comparison {
        Comparison {
            kind: kind.into(),
            path: path.into(),
            value: Literal::Int(value),
            negated: false,
        }
    }

    fn render(&self, out: &mut String) {
        out.push_str(&self.kind);
        out.push(':');
        out.push_str(&self.path);
        out.push_str(if self.negated { " != " } else { " = " });
        match &self.value {
            Literal::Int(n) => out.push_str(&n.to_string()),
            Literal::Str(s) => {
                out.push('\'');
                for c in s.chars() {
                    if c == '\'' || c == '\\' {
                        out.push('\\');
                    }
                    out.push(c);
                }
                out.push('\'');
            }
        }
    }
}

/// A pattern: observation expressions (one bracket each) combined with AND / OR.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expr {
    /// `[c1 AND c2 …]` (`all`) or `[c1 OR c2 …]`: one observation.
    Observation {
        /// The comparisons (of one object type when joined by AND).
        comparisons: Vec<Comparison>,
        /// AND (true) or OR between them.
        all: bool,
    },
    /// Every sub-pattern (`AND`).
    All(Vec<Expr>),
    /// Any sub-pattern (`OR`).
    Any(Vec<Expr>),
}

impl Expr {
    /// One observation of one comparison.
    pub fn single(c: Comparison) -> Expr {
        Expr::Observation {
            comparisons: vec![c],
            all: true,
        }
    }

    /// The pattern text.
    pub fn render(&self) -> String {
        let mut out = String::new();
        self.render_into(&mut out, false);
        out
    }

    fn render_into(&self, out: &mut String, nested: bool) {
        match self {
            Expr::Observation { comparisons, all } => {
                out.push('[');
                for (i, c) in comparisons.iter().enumerate() {
                    if i > 0 {
                        out.push_str(if *all { " AND " } else { " OR " });
                    }
                    c.render(out);
                }
                out.push(']');
            }
            Expr::All(v) | Expr::Any(v) if v.len() == 1 => v[0].render_into(out, nested),
            Expr::All(v) | Expr::Any(v) => {
                let op = if matches!(self, Expr::All(_)) {
                    " AND "
                } else {
                    " OR "
                };
                if nested {
                    out.push('(');
                }
                for (i, e) in v.iter().enumerate() {
                    if i > 0 {
                        out.push_str(op);
                    }
                    e.render_into(out, true);
                }
                if nested {
                    out.push(')');
                }
            }
        }
    }

    /// Every comparison, in order.
    pub fn comparisons(&self) -> Vec<&Comparison> {
        match self {
            Expr::Observation { comparisons, .. } => comparisons.iter().collect(),
            Expr::All(v) | Expr::Any(v) => v.iter().flat_map(|e| e.comparisons()).collect(),
        }
    }
}

/// A boolean tree of comparisons, as read from a pattern (observation brackets dissolved).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Logic {
    /// One comparison.
    Leaf(Comparison),
    /// All of them.
    And(Vec<Logic>),
    /// Any of them.
    Or(Vec<Logic>),
}

/// The most tokens a pattern may have (hostile input: bounded work and recursion).
const MAX_TOKENS: usize = 2000;
/// The deepest nesting of parentheses and brackets accepted.
const MAX_DEPTH: usize = 32;

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Word(String),
    Str(String),
    Int(i64),
    Punct(&'static str),
}

fn lex(s: &str) -> Result<Vec<Tok>, String> {
    let b: Vec<char> = s.chars().collect();
    let mut i = 0;
    let mut out = Vec::new();
    while i < b.len() {
        let c = b[i];
        if out.len() > MAX_TOKENS {
            return Err(format!("pattern longer than {MAX_TOKENS} tokens"));
        }
        if c.is_whitespace() {
            i += 1;
        } else if c == '\'' {
            let mut v = String::new();
            i += 1;
            loop {
                match b.get(i) {
                    None => return Err("unterminated string literal".into()),
                    Some('\\') => {
                        match b.get(i + 1) {
                            Some(&e @ ('\'' | '\\')) => v.push(e),
                            _ => return Err("bad escape in string literal".into()),
                        }
                        i += 2;
                    }
                    Some('\'') => {
                        i += 1;
                        break;
                    }
                    Some(&ch) => {
                        v.push(ch);
                        i += 1;
                    }
                }
            }
            out.push(Tok::Str(v));
        } else if c.is_ascii_digit()
            || (c == '-' && b.get(i + 1).is_some_and(|d| d.is_ascii_digit()))
        {
            let start = i;
            i += 1;
            while b.get(i).is_some_and(|d| d.is_ascii_digit()) {
                i += 1;
            }
            let text: String = b[start..i].iter().collect();
            let n = text.parse().map_err(|_| format!("bad integer {text}"))?;
            out.push(Tok::Int(n));
        } else if c.is_ascii_alphabetic() || c == '_' {
            // An object path or keyword: letters, digits, '-', '_', ':', '.', '[*]' and
            // quoted keys ('SHA-256') belong to one word.
            let mut w = String::new();
            while let Some(&ch) = b.get(i) {
                if ch.is_ascii_alphanumeric() || "-_:.*[]".contains(ch) {
                    // `[` only inside a path (`to_refs[*]`), never starting an observation.
                    w.push(ch);
                    i += 1;
                } else if ch == '\'' && w.ends_with('.') {
                    let end = b[i + 1..]
                        .iter()
                        .position(|&x| x == '\'')
                        .ok_or("unterminated quoted key")?;
                    w.extend(&b[i..i + end + 2]);
                    i += end + 2;
                } else {
                    break;
                }
            }
            out.push(Tok::Word(w));
        } else {
            let two: String = b[i..(i + 2).min(b.len())].iter().collect();
            let p = match (c, two.as_str()) {
                (_, "!=") => "!=",
                (_, "<=") | (_, ">=") => "<>=",
                ('[', _) => "[",
                (']', _) => "]",
                ('(', _) => "(",
                (')', _) => ")",
                ('=', _) => "=",
                ('<', _) | ('>', _) => "<>=",
                _ => return Err(format!("unexpected character {c:?}")),
            };
            i += if two == "!=" || two == "<=" || two == ">=" {
                2
            } else {
                1
            };
            out.push(Tok::Punct(p));
        }
    }
    Ok(out)
}

struct Parser {
    toks: Vec<Tok>,
    at: usize,
    depth: usize,
}

/// Reads a STIX pattern into a [`Logic`] tree; `Err` names what gridlink cannot carry into IODEF.
pub fn parse(pattern: &str) -> Result<Logic, String> {
    let mut p = Parser {
        toks: lex(pattern)?,
        at: 0,
        depth: 0,
    };
    let l = p.observations()?;
    match p.toks.get(p.at) {
        None => Ok(l),
        Some(Tok::Word(w)) if is_qualifier(w) => {
            Err(format!("the qualifier {w} has no IODEF equivalent"))
        }
        Some(t) => Err(format!("unexpected {t:?} in pattern")),
    }
}

fn is_qualifier(w: &str) -> bool {
    matches!(
        w.to_ascii_uppercase().as_str(),
        "WITHIN" | "REPEATS" | "START" | "STOP"
    )
}

impl Parser {
    fn peek_word(&self) -> Option<String> {
        match self.toks.get(self.at) {
            Some(Tok::Word(w)) => Some(w.to_ascii_uppercase()),
            _ => None,
        }
    }

    fn enter(&mut self) -> Result<(), String> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(format!("pattern nested deeper than {MAX_DEPTH}"));
        }
        Ok(())
    }

    /// Binary levels: OR below AND (`lower` = false parses AND).
    fn binary(
        &mut self,
        or: bool,
        unit: fn(&mut Parser) -> Result<Logic, String>,
    ) -> Result<Logic, String> {
        let mut parts = vec![if or {
            self.binary(false, unit)?
        } else {
            unit(self)?
        }];
        let op = if or { "OR" } else { "AND" };
        while self.peek_word().as_deref() == Some(op) {
            self.at += 1;
            parts.push(if or {
                self.binary(false, unit)?
            } else {
                unit(self)?
            });
        }
        if self.peek_word().as_deref() == Some("FOLLOWEDBY") {
            return Err("FOLLOWEDBY has no IODEF equivalent".into());
        }
        Ok(if parts.len() == 1 {
            parts.remove(0)
        } else if or {
            Logic::Or(parts)
        } else {
            Logic::And(parts)
        })
    }

    fn observations(&mut self) -> Result<Logic, String> {
        self.binary(true, Parser::observation)
    }

    fn observation(&mut self) -> Result<Logic, String> {
        self.enter()?;
        let l = match self.toks.get(self.at) {
            Some(Tok::Punct("(")) => {
                self.at += 1;
                let l = self.observations()?;
                self.expect(")")?;
                l
            }
            Some(Tok::Punct("[")) => {
                self.at += 1;
                let l = self.binary(true, Parser::comparison)?;
                self.expect("]")?;
                if let Some(w) = self.peek_word().filter(|w| is_qualifier(w)) {
                    return Err(format!("the qualifier {w} has no IODEF equivalent"));
                }
                l
            }
            other => return Err(format!("expected [ or ( but found {other:?}")),
        };
        self.depth -= 1;
        Ok(l)
    }

    fn comparison(&mut self) -> Result<Logic, String> {
        self.enter()?;
        if self.toks.get(self.at) == Some(&Tok::Punct("(")) {
            self.at += 1;
            let l = self.binary(true, Parser::comparison)?;
            self.expect(")")?;
            self.depth -= 1;
            return Ok(l);
        }
        let Some(Tok::Word(path)) = self.toks.get(self.at).cloned() else {
            return Err("expected an object path".into());
        };
        self.at += 1;
        let (kind, prop) = path
            .split_once(':')
            .ok_or_else(|| format!("{path} is not an object path (TYPE:PROPERTY)"))?;
        let negated = match self.toks.get(self.at) {
            Some(Tok::Punct("=")) => false,
            Some(Tok::Punct("!=")) => true,
            Some(Tok::Word(w)) => return Err(format!("the operator {w} has no IODEF equivalent")),
            _ => return Err(format!("only = and != are supported after {path}")),
        };
        self.at += 1;
        let value = match self.toks.get(self.at) {
            Some(Tok::Str(s)) => Literal::Str(s.clone()),
            Some(Tok::Int(n)) => Literal::Int(*n),
            other => return Err(format!("unsupported value {other:?} for {path}")),
        };
        self.at += 1;
        self.depth -= 1;
        Ok(Logic::Leaf(Comparison {
            kind: kind.into(),
            path: prop.into(),
            value,
            negated,
        }))
    }

    fn expect(&mut self, p: &'static str) -> Result<(), String> {
        if self.toks.get(self.at) == Some(&Tok::Punct(p)) {
            self.at += 1;
            Ok(())
        } else {
            Err(format!("expected {p}"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_and_reads_back() {
        let e = Expr::Any(vec![
            Expr::single(Comparison::string("ipv4-addr", "value", "192.0.2.1")),
            Expr::All(vec![
                Expr::single(Comparison::string("domain-name", "value", "a'b.example")),
                Expr::single(Comparison::int("network-traffic", "dst_port", 80)),
            ]),
        ]);
        let text = e.render();
        assert_eq!(
            text,
            "[ipv4-addr:value = '192.0.2.1'] OR ([domain-name:value = 'a\\'b.example'] AND [network-traffic:dst_port = 80])"
        );
        let l = parse(&text).unwrap();
        let Logic::Or(v) = l else { panic!("{l:?}") };
        assert!(matches!(&v[1], Logic::And(a) if a.len() == 2));
        let h = parse("[file:hashes.'SHA-256' = 'ab' AND file:name = 'x']").unwrap();
        let Logic::And(v) = h else { panic!() };
        assert_eq!(
            v[0],
            Logic::Leaf(Comparison::string("file", "hashes.'SHA-256'", "ab"))
        );
    }

    #[test]
    fn refuses_what_iodef_cannot_say() {
        for (p, why) in [
            ("[ipv4-addr:value = '1.2.3.4'] WITHIN 5 SECONDS", "WITHIN"),
            ("[a:b = 'x'] FOLLOWEDBY [a:b = 'y']", "FOLLOWEDBY"),
            ("[url:value LIKE '%x']", "LIKE"),
            ("[url:value = 'x'", "expected ]"),
            ("[url:value > 3]", "only ="),
        ] {
            let e = parse(p).unwrap_err();
            assert!(e.contains(why), "{p}: {e}");
        }
        let deep = format!("{}[a:b = 'x']{}", "(".repeat(100), ")".repeat(100));
        assert!(parse(&deep).unwrap_err().contains("deeper"));
    }
}
