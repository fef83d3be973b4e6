//! The typed model of a RID 2.0 message (RFC 6545 §5, schema §8): the `RID` root and its
//! `RIDPolicy`, `RequestStatus` and `IncidentSource` classes with their enumerations. What RID borrows
//! from IODEF v1 and carries without interpreting (`Node`, `ExtensionType` content) stays an owned
//! [`XmlElement`] tree.

use super::xml::{XmlAttr, XmlElement, XmlNode};

/// The RID 2.0 namespace.
pub const NS_RID: &str = "urn:ietf:params:xml:ns:iodef-rid-2.0";
/// The IODEF v1 namespace RID 2.0 imports (RFC 5070).
pub const NS_IODEF_V1: &str = "urn:ietf:params:xml:ns:iodef-1.0";
/// The IODEF v2 namespace (RFC 7970).
pub const NS_IODEF_V2: &str = "urn:ietf:params:xml:ns:iodef-2.0";
/// The XML Schema instance namespace (its attributes are allowed anywhere).
pub const NS_XSI: &str = "http://www.w3.org/2001/XMLSchema-instance";

/// Defines an enumeration of the schema with its `ext-value`, wire names and parser.
macro_rules! code {
    ($(#[$m:meta])* $name:ident { $($(#[$vm:meta])* $v:ident = $s:literal),* $(,)? }) => {
        $(#[$m])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum $name {
            $($(#[$vm])* $v,)*
            /// `ext-value`: the meaning is in the matching `ext-*` attribute.
            ExtValue,
        }
        impl $name {
            /// Every value the schema allows.
            pub const VALUES: &'static [&'static str] = &[$($s,)* "ext-value"];
            /// The value for a wire name (whitespace already collapsed).
            pub fn parse(s: &str) -> Option<Self> {
                match s {
                    $($s => Some(Self::$v),)*
                    "ext-value" => Some(Self::ExtValue),
                    _ => None,
                }
            }
            /// The wire name.
            pub fn as_str(&self) -> &'static str {
                match self {
                    $(Self::$v => $s,)*
                    Self::ExtValue => "ext-value",
                }
            }
        }
        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

code!(
    /// `RIDPolicy@MsgType` (§5.1): which message this is.
    MsgType {
        /// Trace attack traffic upstream, hop by hop.
        TraceRequest = "TraceRequest",
        /// Status or refusal of a received message (carries `RequestStatus`).
        Acknowledgement = "Acknowledgement",
        /// The outcome of a Request (carries `IncidentSource`).
        Result = "Result",
        /// Ask the SP nearest a known source to act.
        InvestigationRequest = "InvestigationRequest",
        /// File an incident; no action asked.
        Report = "Report",
        /// Ask a peer about an incident.
        Query = "Query",
    }
);

code!(
    /// `RIDPolicy@MsgDestination` (§5.1): what the `Node` names.
    MsgDestination {
        /// Node/Address is the next RID system.
        RidSystem = "RIDSystem",
        /// Node/Address is the incident's source.
        SourceOfIncident = "SourceOfIncident",
    }
);

code!(
    /// `PolicyRegion@region`: the sharing scope.
    Region {
        /// Client to service provider.
        ClientToSp = "ClientToSP",
        /// Service provider to client.
        SpToClient = "SPToClient",
        /// Inside one consortium.
        IntraConsortium = "IntraConsortium",
        /// Between two peers.
        PeerToPeer = "PeerToPeer",
        /// Between consortiums.
        BetweenConsortiums = "BetweenConsortiums",
    }
);

code!(
    /// `TrafficType@type`.
    Traffic {
        /// A security incident.
        Attack = "Attack",
        /// Traffic or routing problems.
        Network = "Network",
        /// Content and regional access rules.
        Content = "Content",
        /// Data with handling requirements.
        DataWithHandlingRequirements = "DataWithHandlingRequirements",
        /// Audience restriction.
        AudienceRestriction = "AudienceRestriction",
        /// Other (explained in IODEF Expectation or History).
        Other = "Other",
    }
);

code!(
    /// `RequestStatus@AuthorizationStatus` (§5.2, erratum 3410).
    AuthorizationStatus {
        /// Accepted for processing.
        Approved = "Approved",
        /// Refused for the reason in Justification.
        Denied = "Denied",
        /// No decision yet.
        Pending = "Pending",
    }
);

code!(
    /// `RequestStatus@Justification` (§5.2).
    Justification {
        /// Not enough resources.
        SystemResource = "SystemResource",
        /// The enveloped signature failed.
        Authentication = "Authentication",
        /// The originator's detached signature failed.
        AuthenticationOrigin = "AuthenticationOrigin",
        /// Could not decrypt.
        Encryption = "Encryption",
        /// Unrecognised format.
        UnrecognizedFormat = "UnrecognizedFormat",
        /// Legal or policy grounds: send nothing more until settled.
        CannotProcess = "CannotProcess",
        /// Other.
        Other = "Other",
    }
);

code!(
    /// `ReportSchema@Version`.
    SchemaVersion {
        /// IODEF 1.0.
        V1_0 = "1.0",
    }
);

code!(
    /// `ReportSchema@XMLSchemaID`.
    SchemaId {
        /// `urn:ietf:params:xml:ns:iodef-1.0`.
        IodefV1 = "urn:ietf:params:xml:ns:iodef-1.0",
    }
);

/// An enumerated attribute with its `ext-*` companion.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Coded<T> {
    /// The schema value.
    pub value: T,
    /// The `ext-*` attribute, meaningful only with `ext-value`.
    pub ext: Option<String>,
}

impl<T> Coded<T> {
    /// A plain value.
    pub fn of(value: T) -> Coded<T> {
        Coded { value, ext: None }
    }
}

/// A `restriction` attribute (IODEF v1 restriction-type).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Restriction {
    /// Follow the pre-agreed policy.
    Default,
    /// May be sent in clear.
    Public,
    /// Encrypt per reader or under a group key.
    NeedToKnow,
    /// Encrypt for the recipient.
    Private,
}

impl Restriction {
    /// The value for a wire name.
    pub fn parse(s: &str) -> Option<Restriction> {
        Some(match s {
            "default" => Restriction::Default,
            "public" => Restriction::Public,
            "need-to-know" => Restriction::NeedToKnow,
            "private" => Restriction::Private,
            _ => return None,
        })
    }
    /// The wire name.
    pub fn as_str(&self) -> &'static str {
        match self {
            Restriction::Default => "default",
            Restriction::Public => "public",
            Restriction::NeedToKnow => "need-to-know",
            Restriction::Private => "private",
        }
    }
}

/// A RID message: the `RID` root.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rid {
    /// `lang` (required).
    pub lang: String,
    /// `xsi:*` attributes of the root, kept for writing back.
    pub xsi: Vec<XmlAttr>,
    /// The policy (every message type uses it).
    pub policy: Option<RidPolicy>,
    /// Acknowledgements only.
    pub status: Option<RequestStatus>,
    /// Results only.
    pub source: Option<IncidentSource>,
}

/// `RIDPolicy` (§5.1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RidPolicy {
    /// The message type.
    pub msg_type: Coded<MsgType>,
    /// What the Node names.
    pub destination: Coded<MsgDestination>,
    /// `restriction`.
    pub restriction: Option<Restriction>,
    /// One or more sharing scopes.
    pub regions: Vec<Coded<Region>>,
    /// The IODEF v1 `Node` (next RID system, or the incident's source).
    pub node: XmlElement,
    /// One or more traffic types.
    pub traffic: Vec<Coded<Traffic>>,
    /// The incident this message is about.
    pub incident_id: Option<IncidentId>,
    /// The enclosed document.
    pub report_schema: Option<ReportSchema>,
}

/// An IODEF v1 `IncidentID`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IncidentId {
    /// `name`: the CSIRT that issued it.
    pub name: String,
    /// `instance`.
    pub instance: Option<String>,
    /// `restriction`.
    pub restriction: Option<Restriction>,
    /// The text as sent (an `xs:string`: whitespace kept); [`IncidentId::id`] trims it.
    pub value: String,
}

impl IncidentId {
    /// The identifier without surrounding whitespace.
    pub fn id(&self) -> &str {
        self.value.trim()
    }
}

/// `RequestStatus` (§5.2).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestStatus {
    /// The decision.
    pub status: Coded<AuthorizationStatus>,
    /// Why (for Denied or Pending).
    pub justification: Option<Coded<Justification>>,
    /// `restriction`.
    pub restriction: Option<Restriction>,
}

/// `IncidentSource` (§5.3).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IncidentSource {
    /// `SourceFound`.
    pub found: bool,
    /// The sources found (IODEF v1 `Node`s).
    pub nodes: Vec<XmlElement>,
    /// `restriction`.
    pub restriction: Option<Restriction>,
}

/// `ReportSchema` (§5.1.1): the enclosed document.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReportSchema {
    /// `Version`.
    pub version: Option<Coded<SchemaVersion>>,
    /// `XMLSchemaID`.
    pub schema_id: Option<Coded<SchemaId>>,
    /// `XMLDocument` (an IODEF v1 ExtensionType).
    pub document: Extension,
    /// `URL` of the schema.
    pub url: Option<String>,
    /// `Signature`s (ExtensionType holding `ds:Signature`).
    pub signatures: Vec<Extension>,
}

/// An IODEF v1 `ExtensionType` element's attributes and mixed content (compared without the line).
#[derive(Clone, Debug)]
pub struct Extension {
    /// Attributes (`dtype`, `meaning`, …) in source order.
    pub attrs: Vec<XmlAttr>,
    /// Mixed content.
    pub content: Vec<XmlNode>,
    /// Source line (0 when built).
    pub line: u32,
}

impl PartialEq for Extension {
    fn eq(&self, o: &Self) -> bool {
        self.attrs == o.attrs && self.content == o.content
    }
}
impl Eq for Extension {}

impl Extension {
    /// `dtype="xml" meaning="xml"` around one element, as §5.1.1 asks for an enclosed document.
    pub fn xml(doc: XmlElement) -> Extension {
        Extension {
            attrs: vec![XmlAttr::new("dtype", "xml"), XmlAttr::new("meaning", "xml")],
            content: vec![XmlNode::Element(doc)],
            line: 0,
        }
    }

    /// The element children.
    pub fn elements(&self) -> impl Iterator<Item = &XmlElement> {
        self.content.iter().filter_map(|n| match n {
            XmlNode::Element(e) => Some(e),
            XmlNode::Text(_) => None,
        })
    }
}

impl Rid {
    /// The message type (`None` without RIDPolicy).
    pub fn msg_type(&self) -> Option<MsgType> {
        self.policy.as_ref().map(|p| p.msg_type.value)
    }

    /// The trimmed IncidentID, if any.
    pub fn incident_id(&self) -> Option<&str> {
        self.policy
            .as_ref()
            .and_then(|p| p.incident_id.as_ref())
            .map(|i| i.id())
    }
}
