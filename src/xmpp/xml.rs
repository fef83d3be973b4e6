//! Names for hand-built XML elements, shared by the session layer (SASL
//! EXTERNAL) and the grid layer (pubsub requests xmpp-parsers lacks types for).

use tokio_xmpp::minidom::rxml::NcName;

/// An attribute name for hand-built elements (only called with literals).
pub(crate) fn ncname(s: &'static str) -> NcName {
    NcName::try_from(s).unwrap_or_else(|_| unreachable!("{s:?} is an NCName"))
}
