//! History retrieval (XEP-0060 §6.5): the items a topic still keeps.

use chrono::Utc;
use tokio_xmpp::jid::Jid;
use tokio_xmpp::minidom::Element;

use super::subscribe::item_event;
use super::{ns, GridError, GridEvent};
use crate::iodef::ValidationLevel;
use crate::xmpp::Session;

/// Fetches items of `topic`: the newest `max` (all the broker keeps when
/// `None`), or the one with `id`. Built and read by hand: an RSM `<set/>`
/// beside `<items/>` makes xmpp-parsers 0.23's `PubSub` parse fail.
pub async fn items(
    session: &Session,
    service: &Jid,
    topic: &str,
    max: Option<u32>,
    id: Option<&str>,
    level: ValidationLevel,
) -> Result<Vec<GridEvent>, GridError> {
    let mut items = Element::builder("items", ns::PUBSUB).attr(super::ncname("node"), topic);
    if let Some(m) = max {
        items = items.attr(super::ncname("max_items"), m.to_string());
    }
    if let Some(id) = id {
        items = items.append(Element::builder("item", ns::PUBSUB).attr(super::ncname("id"), id));
    }
    let req = Element::builder("pubsub", ns::PUBSUB).append(items).build();
    let op = format!("retrieve items of topic {topic:?}");
    let answer = session.get(Some(service.clone()), req).await.map_err(|e| {
        match e.condition().as_deref() {
            Some("item-not-found") if id.is_none() => GridError::NoSuchTopic(topic.to_string()),
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
        .map(|mut item| {
            item_event(
                topic,
                item.attr("id").unwrap_or_default().to_string(),
                item.attr("publisher").map(str::to_string),
                item.unshift_child(),
                now,
                None,
                level,
            )
        })
        .collect())
}
