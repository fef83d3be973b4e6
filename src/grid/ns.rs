//! XML namespaces the grid layer uses. xmpp-parsers 0.23 lacks constants for
//! the pubsub sub-namespaces marked "(local)", so they live here.

/// XEP-0060 pubsub.
pub const PUBSUB: &str = "http://jabber.org/protocol/pubsub";
/// XEP-0060 owner use cases.
pub const PUBSUB_OWNER: &str = "http://jabber.org/protocol/pubsub#owner";
/// XEP-0060 event notifications.
pub const PUBSUB_EVENT: &str = "http://jabber.org/protocol/pubsub#event";
/// XEP-0060 application error conditions (local).
pub const PUBSUB_ERRORS: &str = "http://jabber.org/protocol/pubsub#errors";
/// Node configuration form type.
pub const NODE_CONFIG: &str = "http://jabber.org/protocol/pubsub#node_config";
/// Node meta-data form type (local).
pub const META_DATA: &str = "http://jabber.org/protocol/pubsub#meta-data";
/// XEP-0030 info.
pub const DISCO_INFO: &str = "http://jabber.org/protocol/disco#info";
/// XEP-0030 items.
pub const DISCO_ITEMS: &str = "http://jabber.org/protocol/disco#items";
/// XEP-0059 result set management.
pub const RSM: &str = "http://jabber.org/protocol/rsm";
/// XEP-0203 delayed delivery.
pub const DELAY: &str = "urn:xmpp:delay";
