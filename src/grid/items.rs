//! History retrieval (XEP-0060 §6.5): the items a topic still keeps.
//!
//! [`items`] turns a whole answer into events at once; the follower's
//! catch-up (`durable/follow.rs`) works on [`RawItem`]s instead, so that it
//! can fetch a topic in pages ([`Retrieve::Newest`], [`Retrieve::Ids`],
//! with the ids listed by [`item_ids`]) and check each payload only when its
//! consumer asks for it: a topic that keeps a thousand documents is then
//! never in memory as a thousand parsed, validated, converted events.

use chrono::{DateTime, Utc};
use tokio_xmpp::jid::Jid;
use tokio_xmpp::minidom::Element;
use tokio_xmpp::parsers::disco::{DiscoItemsQuery, DiscoItemsResult};

use super::subscribe::item_event;
use super::{ns, GridError, GridEvent};
use crate::iodef::ValidationLevel;
use crate::xmpp::Session;

/// Which items to retrieve.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Retrieve<'a> {
    /// Everything the broker keeps.
    All,
    /// The newest `n` (XEP-0060 §6.5.7 `max_items`). Prosody answers them
    /// oldest first.
    Newest(u32),
    /// These ids, in this order (Prosody keeps the requested order; ids it
    /// no longer keeps are left out of the answer).
    Ids(&'a [String]),
}

/// One retrieved item, its payload not yet checked.
#[derive(Debug)]
pub(crate) struct RawItem {
    pub id: String,
    pub publisher: Option<String>,
    pub payload: Option<Element>,
    pub received_at: DateTime<Utc>,
}

impl RawItem {
    /// Checks the payload and wraps it, as a live notification would be.
    pub fn into_event(self, topic: &str, level: ValidationLevel) -> GridEvent {
        item_event(
            topic,
            self.id,
            self.publisher,
            self.payload,
            self.received_at,
            None,
            level,
        )
    }
}

/// Fetches items of `topic`: the newest `max` (all the broker keeps when
/// `None`), or the one with `id`.
pub async fn items(
    session: &Session,
    service: &Jid,
    topic: &str,
    max: Option<u32>,
    id: Option<&str>,
    level: ValidationLevel,
) -> Result<Vec<GridEvent>, GridError> {
    let one;
    let what = match (id, max) {
        (Some(id), _) => {
            one = [id.to_string()];
            Retrieve::Ids(&one)
        }
        (None, Some(m)) => Retrieve::Newest(m),
        (None, None) => Retrieve::All,
    };
    Ok(raw_items(session, service, topic, what)
        .await?
        .into_iter()
        .map(|item| item.into_event(topic, level))
        .collect())
}

/// Fetches items of `topic` without checking their payloads. Built and read
/// by hand: an RSM `<set/>` beside `<items/>` makes xmpp-parsers 0.23's
/// `PubSub` parse fail.
pub(crate) async fn raw_items(
    session: &Session,
    service: &Jid,
    topic: &str,
    what: Retrieve<'_>,
) -> Result<Vec<RawItem>, GridError> {
    let mut items = Element::builder("items", ns::PUBSUB).attr(super::ncname("node"), topic);
    match what {
        Retrieve::All => {}
        Retrieve::Newest(m) => items = items.attr(super::ncname("max_items"), m.to_string()),
        Retrieve::Ids(ids) => {
            for id in ids {
                items = items.append(
                    Element::builder("item", ns::PUBSUB).attr(super::ncname("id"), id.as_str()),
                );
            }
        }
    }
    let req = Element::builder("pubsub", ns::PUBSUB).append(items).build();
    let op = format!("retrieve items of topic {topic:?}");
    let by_id = matches!(what, Retrieve::Ids(_));
    let answer = session.get(Some(service.clone()), req).await.map_err(|e| {
        match e.condition().as_deref() {
            Some("item-not-found") if !by_id => GridError::NoSuchTopic(topic.to_string()),
            _ => GridError::request(op.clone())(e),
        }
    })?;
    let now = Utc::now();
    // The answer is taken apart, not copied: it holds every kept document.
    let mut list = answer
        .and_then(|mut p| p.remove_child("items", ns::PUBSUB))
        .ok_or_else(|| GridError::Protocol {
            op,
            message: "no <items/> in the result".into(),
        })?;
    Ok(list
        .take_contents_as_children()
        .filter(|c| c.is("item", ns::PUBSUB))
        .map(|mut item| RawItem {
            id: item.attr("id").unwrap_or_default().to_string(),
            publisher: item.attr("publisher").map(str::to_string),
            payload: item.unshift_child(),
            received_at: now,
        })
        .collect())
}

/// The ids of the items `topic` keeps (XEP-0060 §5.5: disco#items on the
/// node; each item's `name` is its id), in the order the service lists them.
/// XEP-0060 does not say which order that is (Prosody: newest first), so the
/// caller works it out. Prosody loads every payload to answer this.
pub(crate) async fn item_ids(
    session: &Session,
    service: &Jid,
    topic: &str,
) -> Result<Vec<String>, GridError> {
    let op = format!("list the items of topic {topic:?}");
    let query = DiscoItemsQuery {
        node: Some(topic.to_string()),
        rsm: None,
    };
    let el = session
        .get(Some(service.clone()), query.into())
        .await
        .map_err(|e| match e.condition().as_deref() {
            Some("item-not-found") => GridError::NoSuchTopic(topic.to_string()),
            _ => GridError::request(op.clone())(e),
        })?;
    let list: DiscoItemsResult = super::discover::parse_answer(el, &op)?;
    Ok(list.items.into_iter().filter_map(|i| i.name).collect())
}
