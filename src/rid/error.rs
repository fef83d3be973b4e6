//! What can be wrong with a RID message: [`RidError`] (unreadable, not RID, schema-invalid) and the
//! findings of validation ([`Problem`], with the [`Rule`] that found it and its [`Severity`]).

use std::fmt;

use crate::iodef::IodefError;

/// Which rule set a finding comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rule {
    /// The RFC 6545 §8 schema (with the RFC 5070 types it imports): the XSD oracle agrees with these.
    Schema,
    /// RFC 6545 text the schema cannot express (the section is named).
    Rfc(&'static str),
    /// The enclosed IODEF document (RFC 7970 or RFC 5070 rules).
    Enclosed,
}

/// How serious a finding is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    /// A SHOULD, or an RFC example's habit: reported, the message is still processed.
    Warning,
    /// A MUST or the schema: the message is refused.
    Error,
}

/// One validation finding.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// Element path, e.g. `/RID/RIDPolicy/Node` (attribute as `/@name`).
    pub path: String,
    /// 1-based source line, when known.
    pub line: Option<u32>,
    /// What is wrong.
    pub message: String,
    /// Which rule set found it.
    pub rule: Rule,
    /// Whether the message is refused for it.
    pub severity: Severity,
}

impl Problem {
    /// A schema error.
    pub fn schema(path: impl Into<String>, line: u32, message: impl Into<String>) -> Problem {
        Problem {
            path: path.into(),
            line: (line > 0).then_some(line),
            message: message.into(),
            rule: Rule::Schema,
            severity: Severity::Error,
        }
    }

    /// An RFC 6545 text rule finding.
    pub fn rfc(
        section: &'static str,
        severity: Severity,
        path: impl Into<String>,
        line: u32,
        message: impl Into<String>,
    ) -> Problem {
        Problem {
            path: path.into(),
            line: (line > 0).then_some(line),
            message: message.into(),
            rule: Rule::Rfc(section),
            severity,
        }
    }

    /// Whether this is an error (the message is refused).
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.severity == Severity::Warning {
            write!(f, "warning: ")?;
        }
        match self.line {
            Some(l) => write!(f, "line {l}: {}: {}", self.path, self.message)?,
            None => write!(f, "{}: {}", self.path, self.message)?,
        }
        match self.rule {
            Rule::Schema => Ok(()),
            Rule::Rfc(s) => write!(f, " (RFC 6545 {s})"),
            Rule::Enclosed => write!(f, " (enclosed IODEF)"),
        }
    }
}

/// Why a RID message could not be read.
#[derive(Debug, thiserror::Error)]
pub enum RidError {
    /// Not well-formed, over a limit, a DTD, not UTF-8 …: the IODEF reader's refusal.
    #[error("{0}")]
    Xml(#[from] IodefError),
    /// Larger than the limit.
    #[error("message of {size} bytes is larger than the limit of {max}")]
    TooLarge {
        /// Its size.
        size: usize,
        /// The limit.
        max: usize,
    },
    /// The root is not `RID` in the RID 2.0 namespace.
    #[error("root element is {{{ns}}}{name}, not RID in urn:ietf:params:xml:ns:iodef-rid-2.0")]
    NotRid {
        /// Its namespace.
        ns: String,
        /// Its local name.
        name: String,
    },
    /// The schema refuses it.
    #[error("invalid RID message: {}", list(.0))]
    Invalid(Vec<Problem>),
}

fn list(p: &[Problem]) -> String {
    p.iter()
        .map(|p| p.to_string())
        .collect::<Vec<_>>()
        .join("; ")
}
