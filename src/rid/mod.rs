//! RID 2.0 (RFC 6545) messages and RID over HTTPS (RFC 6546): the MILE system that exchanges
//! incidents point to point between CSIRTs, joined to the grid. `src/rid/README.md` says what is
//! implemented, what is not, and why.
//!
//! Files, lowest first (each imports only files listed before it):
//! * `error.rs`: [`RidError`], [`Problem`] (with its [`Rule`] and [`Severity`]);
//! * `xml.rs`: the owned element tree ([`XmlElement`]) for what RID carries opaquely, and its writer;
//! * `model.rs`: the typed message ([`Rid`], [`RidPolicy`], [`RequestStatus`], [`IncidentSource`],
//!   [`ReportSchema`], the enumerations);
//! * `check.rs`: the schema checker's toolbox (sequences, attributes, simple types);
//! * `v1.rs`: the IODEF v1 types the RID schema imports (`Node`, `IncidentID`, `ExtensionType`);
//! * `parse.rs`: bytes → [`Rid`] with the schema checked ([`parse`]);
//! * `write.rs`: [`Rid::to_xml`];
//! * `validate.rs`: the enclosed document and the RFC 6545 text rules ([`validate`], [`check`]);
//! * `trace.rs`: the trace path of a request (loop detection) and the NodeName check (§5.1);
//! * `message.rs`: making Reports, Queries, Acknowledgements and Results;
//! * `config.rs`: the `[rid]` table, peers, the TLS configurations (mutual, TLS 1.2+);
//! * `sign/`: XML Signatures; `xenc/`: XML Encryption of restricted messages (checklist 28);
//! * `client.rs`: sending (RFC 6546 requester: POST, retries, inline/202/empty answers);
//! * `pending.rs`: requests waiting for the operator's Result, callback tokens;
//! * `body.rs`: a POSTed message read (size, time) and checked;
//! * `endpoint.rs`: what an endpoint is made of ([`serve::Endpoint`], its peers, [`serve::Lookup`]);
//! * `reply.rs`: its HTTP answers (signed, encrypted when restricted; Denied; refusals);
//! * `serve.rs`: the endpoint (RFC 6546 responder) joined to the grid; `gateway.rs`: Queries
//!   answered from the grid;
//! * `sink.rs`: [`sink::RidSink`], the grid's items forwarded to a peer as Reports;
//! * `source.rs`: a `[rid]` table made into a running endpoint ([`source::Plan`]), for `gridlink rid
//!   serve` and the bridge's `[[source]] type = "rid"`.

mod alert;
mod body;
mod check;
pub mod client;
pub mod config;
mod endpoint;
mod error;
pub mod gateway;
pub mod message;
mod model;
mod parse;
pub mod pending;
mod reply;
pub mod serve;
pub mod sign;
pub mod sink;
pub mod source;
pub mod trace;
mod v1;
mod validate;
mod write;
pub mod xenc;
mod xml;

pub use config::{PeerConfig, RidConfig};
pub use error::{Problem, RidError, Rule, Severity};
pub use model::*;
pub use parse::{parse, MAX_MESSAGE_BYTES};
pub use validate::{check, validate, Enclosed};
pub use xml::{XmlAttr, XmlElement, XmlNode};
