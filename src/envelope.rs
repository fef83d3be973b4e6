//! The one type every source produces and every sink consumes.
//!
//! gridlink's architecture is *sources → envelope → sinks* (see ARCHITECTURE.md):
//! an XMPP notification, a catch-up fetch, an AtomPub POST or a remote ROLIE poll
//! all become an [`Envelope`]; stdout JSON lines, the ROLIE store and the XMPP
//! publisher all take one.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The IODEF v2 namespace (RFC 7970), also the `pubsub#type` of an IODEF topic.
pub const IODEF_V2_NS: &str = "urn:ietf:params:xml:ns:iodef-2.0";

/// One item of one topic, with where and when it came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Envelope {
    /// The pubsub node (RFC 8600 "Topic") the item belongs to.
    pub topic: String,
    /// The pubsub item id: stable per incident, so a republish replaces.
    pub item_id: String,
    /// The JID that published the item, when the broker says so.
    pub publisher: Option<String>,
    /// When gridlink received (or accepted) the item.
    pub received_at: DateTime<Utc>,
    /// The XEP-0203 delay stamp, when the broker delivered the item late.
    pub delayed_at: Option<DateTime<Utc>>,
    /// The namespace of the payload's root element.
    pub payload_ns: String,
    /// The payload as serialised XML (one element, no XML declaration).
    pub document: String,
}
