//! The shape of the schema table (`generated.rs`, generated from the errata-corrected RFC 7970 XSD):
//! declarations, content-model particles, simple types, and the namespaces IODEF documents use.
//!
//! The table is data, not code: validation (`validate/`) and the JSON binding (`json/`) both walk it,
//! so the two can never disagree about which children an element may have.

/// IODEF v2 namespace.
pub const NS_IODEF: &str = "urn:ietf:params:xml:ns:iodef-2.0";
/// IODEF v1 namespace (RFC 5070).
pub const NS_IODEF_V1: &str = "urn:ietf:params:xml:ns:iodef-1.0";
/// RFC 7495 enumeration reference namespace.
pub const NS_ENUM: &str = "urn:ietf:params:xml:ns:iodef-enum-1.0";
/// RFC 7203 SCI namespace.
pub const NS_SCI: &str = "urn:ietf:params:xml:ns:iodef-sci-1.0";
/// XML Signature namespace.
pub const NS_DS: &str = "http://www.w3.org/2000/09/xmldsig#";
/// The `xml:` namespace.
pub const NS_XML: &str = "http://www.w3.org/XML/1998/namespace";
/// XML Schema instance namespace (`xsi:schemaLocation`).
pub const NS_XSI: &str = "http://www.w3.org/2001/XMLSchema-instance";

/// Namespaces the table knows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Ns {
    Iodef,
    Enum,
    Sci,
    Ds,
}

impl Ns {
    /// The namespace URI.
    pub(crate) fn uri(self) -> &'static str {
        match self {
            Ns::Iodef => NS_IODEF,
            Ns::Enum => NS_ENUM,
            Ns::Sci => NS_SCI,
            Ns::Ds => NS_DS,
        }
    }
    /// Conventional prefix when serialising.
    pub(crate) fn prefix(self) -> &'static str {
        match self {
            Ns::Iodef => "",
            Ns::Enum => "enum",
            Ns::Sci => "sci",
            Ns::Ds => "ds",
        }
    }
}

/// A simple (text) type (all XSD built-ins the IODEF schemas use, whether or not the table needs them now).
#[allow(dead_code)]
#[derive(Clone, Copy, Debug)]
pub(crate) enum St {
    String,
    DateTime,
    Integer,
    Float,
    PositiveFloat,
    AnyUri,
    Id,
    IdRef,
    NcName,
    NmToken,
    HexBinary,
    Base64,
    Boolean,
    Lang,
    Timezone,
    Portlist,
    Enum(&'static [&'static str]),
}

/// One attribute declaration.
#[derive(Debug)]
pub(crate) struct Attr {
    pub name: &'static str,
    pub ty: St,
    pub required: bool,
    #[allow(dead_code)]
    pub default: Option<&'static str>,
    pub fixed: Option<&'static str>,
}

/// A content-model particle; `max == u32::MAX` means unbounded.
#[derive(Debug)]
pub(crate) enum Particle {
    Elem {
        min: u32,
        max: u32,
        decl: usize,
    },
    Seq {
        min: u32,
        max: u32,
        items: &'static [Particle],
    },
    Choice {
        min: u32,
        max: u32,
        items: &'static [Particle],
    },
    Any {
        min: u32,
        max: u32,
        #[allow(dead_code)]
        lax: bool,
        other_ns: bool,
    },
}

impl Particle {
    /// (min, max) occurrences.
    pub(crate) fn occurs(&self) -> (u32, u32) {
        match *self {
            Particle::Elem { min, max, .. }
            | Particle::Seq { min, max, .. }
            | Particle::Choice { min, max, .. }
            | Particle::Any { min, max, .. } => (min, max),
        }
    }
}

/// What an element may contain.
#[derive(Debug)]
pub(crate) enum Content {
    /// Text only, of this type.
    Simple(St),
    /// Nothing at all.
    Empty,
    /// Child elements (and text if mixed).
    Complex { mixed: bool, model: Particle },
    /// Not modelled by gridlink (xmldsig, RFC 7203 SCI): anything goes.
    Opaque,
}

/// One element declaration.
#[derive(Debug)]
pub(crate) struct Decl {
    pub ns: Ns,
    pub name: &'static str,
    /// Named XSD type (`MLStringType`, `ExtensionType`, …) or "".
    pub ty: &'static str,
    pub content: Content,
    pub attrs: &'static [Attr],
}

/// No declaration: what an element of no declaration records (`arena::NodeData::decl`) and
/// what the lookups answer for a name that is not declared (`lookup::decl_of`).
pub(crate) const NO_DECL: u32 = u32::MAX;
