//! History retrieval (XEP-0060 §6.5): the items a topic still keeps.
//!
//! [`items`] turns a whole answer into events at once; the follower's
//! catch-up (`durable/follow.rs`) works on [`RawItem`]s instead, so that it
//! can fetch a topic in pages ([`Retrieve::Newest`], [`Retrieve::Ids`],
//! with the ids listed by [`item_ids`]) and check each payload only when its
//! consumer asks for it: a topic that keeps a thousand documents is then
//! never in memory as a thousand parsed, validated, converted events.

use std::collections::{HashMap, HashSet};

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

/// Every item `topic` keeps, oldest first, `page` per request: the newest
/// page; when it is full, the ids are listed (disco#items on the node) and
/// the older items fetched by id, each page handed to `each` before the next
/// is fetched, the newest page last. Memory stays bounded by a page (unless
/// the service lists ids in an order that cannot be told: then one request).
/// Items published meanwhile are not included. Stops early when `each`
/// returns `false`. Returns how many items were handed over.
pub async fn for_each_item(
    session: &Session,
    service: &Jid,
    topic: &str,
    page: u32,
    level: ValidationLevel,
    mut each: impl FnMut(GridEvent) -> bool,
) -> Result<usize, GridError> {
    let page = page.max(2);
    let newest = raw_items(session, service, topic, Retrieve::Newest(page)).await?;
    let mut handed = 0;
    let mut hand = |items: Vec<RawItem>| {
        for item in items {
            handed += 1;
            if !each(item.into_event(topic, level)) {
                return false;
            }
        }
        true
    };
    if newest.len() < page as usize {
        hand(newest);
        return Ok(handed);
    }
    let listed = item_ids(session, service, topic).await?;
    let Some(older) = older_ids(&listed, &newest) else {
        hand(raw_items(session, service, topic, Retrieve::All).await?);
        return Ok(handed);
    };
    for ids in older.chunks(page as usize) {
        if !hand(raw_items(session, service, topic, Retrieve::Ids(ids)).await?) {
            return Ok(handed);
        }
    }
    hand(newest);
    Ok(handed)
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
            payload: super::take_payload(&mut item),
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

/// The ids older than `newest` (the newest page, oldest first), oldest
/// first, taken from the service's list of ids — when where the page's ids
/// sit in that list tells its order (XEP-0060 leaves it open; Prosody lists
/// newest first). Ids listed after the page's newest were published since
/// it was fetched: they come live. `None` when the order cannot be told.
pub(crate) fn older_ids(listed: &[String], newest: &[RawItem]) -> Option<Vec<String>> {
    let pos: HashMap<&str, usize> = listed
        .iter()
        .enumerate()
        .map(|(i, id)| (id.as_str(), i))
        .collect();
    let at: Vec<usize> = newest
        .iter()
        .filter_map(|i| pos.get(i.id.as_str()).copied())
        .collect();
    let (&oldest, true) = (at.first()?, at.len() >= 2) else {
        return None;
    };
    let in_page: HashSet<&str> = newest.iter().map(|i| i.id.as_str()).collect();
    let keep = |id: &&String| !in_page.contains(id.as_str());
    if at.windows(2).all(|w| w[0] < w[1]) {
        Some(listed[..oldest].iter().filter(keep).cloned().collect())
    } else if at.windows(2).all(|w| w[0] > w[1]) {
        Some(
            listed[oldest + 1..]
                .iter()
                .rev()
                .filter(keep)
                .cloned()
                .collect(),
        )
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(id: &str) -> RawItem {
        RawItem {
            id: id.into(),
            publisher: None,
            payload: None,
            received_at: chrono::Utc::now(),
        }
    }

    fn list(ids: &str) -> Vec<String> {
        ids.split_whitespace().map(str::to_string).collect()
    }

    fn page(ids: &str) -> Vec<RawItem> {
        ids.split_whitespace().map(raw).collect()
    }

    #[test]
    fn older_ids_from_a_newest_first_list() {
        // Prosody's order; `n` was published after the page was fetched.
        let older = older_ids(&list("n e d c b a"), &page("d e"));
        assert_eq!(older, Some(list("a b c")));
    }

    #[test]
    fn older_ids_from_an_oldest_first_list() {
        let older = older_ids(&list("a b c d e n"), &page("d e"));
        assert_eq!(older, Some(list("a b c")));
    }

    #[test]
    fn older_ids_needs_an_order_it_can_tell() {
        assert_eq!(older_ids(&list("d a b e c"), &page("c d e")), None);
        // One page id in the list says nothing about its order.
        assert_eq!(older_ids(&list("a b e"), &page("d e")), None);
        assert_eq!(older_ids(&list(""), &page("d e")), None);
    }
}
