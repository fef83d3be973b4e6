//! One items request (XEP-0060 §6.5) and what paging needs around it.
//!
//! [`fetch`] returns [`RawItem`]s, payloads not yet checked, with the RSM
//! `<set/>` of the answer, so that a topic can be read in pages (`items.rs`:
//! [`Retrieve::Newest`], [`Retrieve::Ids`] with the ids listed by
//! [`item_ids`], [`Retrieve::Page`]) and each payload checked only when its
//! consumer asks for it: a topic that keeps a thousand documents is then
//! never in memory as a thousand parsed, validated, converted events.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use tokio_xmpp::jid::Jid;
use tokio_xmpp::minidom::Element;
use tokio_xmpp::parsers::disco::{DiscoItemsQuery, DiscoItemsResult};
use tokio_xmpp::parsers::rsm::{SetQuery, SetResult};

use super::notify::item_event_with;
use super::{ns, GridError, GridEvent};
use crate::iodef::ValidationLevel;
use crate::xmpp::Session;

/// Which items to retrieve.
#[derive(Debug, Clone, Copy)]
pub(super) enum Retrieve<'a> {
    /// Everything the broker keeps.
    All,
    /// The newest `n` (XEP-0060 §6.5.7 `max_items`). Prosody answers them
    /// oldest first.
    Newest(u32),
    /// These ids, in this order (Prosody keeps the requested order; ids it
    /// no longer keeps are left out of the answer).
    Ids(&'a [String]),
    /// A page of at most `max` items in the service's RSM order (XEP-0059;
    /// oldest first on ejabberd), after the item whose RSM id is `after`
    /// (from the start when `None`). Only for services that answered with
    /// an RSM `<set/>` (ejabberd); Prosody 0.12 has no RSM for items.
    Page { max: u32, after: Option<&'a str> },
}

/// The RSM `<set/>` a service put beside `<items/>` (XEP-0059 §2): ejabberd
/// does whenever `max_items` or RSM was asked for, Prosody never.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct RsmPage {
    /// How many items the whole set holds.
    pub count: Option<usize>,
    /// The RSM id of the page's last item: where the next page starts.
    pub last: Option<String>,
}

impl RsmPage {
    /// Reads the `<set/>` of an items answer (`None` without one; a `<set/>`
    /// that does not parse is treated as none: the answer's items stand).
    pub(super) fn from_answer(pubsub: &Element) -> Option<RsmPage> {
        let set = pubsub.get_child("set", ns::RSM)?;
        let set = SetResult::try_from(set.clone()).ok()?;
        Some(RsmPage {
            count: set.count,
            last: set.last,
        })
    }
}

/// One answer: its items and, when the service pages with RSM, its `<set/>`.
#[derive(Debug)]
pub(super) struct Fetched {
    pub items: Vec<RawItem>,
    pub rsm: Option<RsmPage>,
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
    /// Checks the payload and wraps it, as a live notification would be; an IODEF item's RFC 8727
    /// JSON only with `item_json` (as the live path, `Grid::without_item_json`).
    pub fn into_event(self, topic: &str, level: ValidationLevel, item_json: bool) -> GridEvent {
        item_event_with(
            topic,
            self.id,
            self.publisher,
            self.payload,
            (self.received_at, None),
            level,
            item_json,
        )
    }
}

/// Where the page after one of `n` items (asked for `page`) starts, or
/// `None` when it was the last: a short or empty page, no `<last/>`, or the
/// same `<last/>` as before (a service that ignores `<after/>` would
/// otherwise be asked forever).
pub(super) fn next_after(
    n: usize,
    page: u32,
    rsm: Option<RsmPage>,
    after: Option<&str>,
) -> Option<String> {
    let last = rsm?.last?;
    (n > 0 && n >= page as usize && after != Some(last.as_str())).then_some(last)
}

/// Fetches items of `topic` and the answer's RSM `<set/>`, if any. Built
/// and read by hand: an RSM `<set/>` beside `<items/>` makes xmpp-parsers
/// 0.23's `PubSub` parse fail (and its `PubSub::Items` cannot carry one in
/// a request); the `<set/>` itself is xmpp-parsers' typed `SetQuery` /
/// `SetResult`.
pub(super) async fn fetch(
    session: &Session,
    service: &Jid,
    topic: &str,
    what: Retrieve<'_>,
) -> Result<Fetched, GridError> {
    let mut items = Element::builder("items", ns::PUBSUB).attr(super::ncname("node"), topic);
    let mut set = None;
    match what {
        Retrieve::All => {}
        Retrieve::Page { max, after } => {
            set = Some(SetQuery {
                max: Some(max as usize),
                after: after.map(str::to_string),
                before: None,
                index: None,
            });
        }
        Retrieve::Newest(m) => items = items.attr(super::ncname("max_items"), m.to_string()),
        Retrieve::Ids(ids) => {
            for id in ids {
                items = items.append(
                    Element::builder("item", ns::PUBSUB).attr(super::ncname("id"), id.as_str()),
                );
            }
        }
    }
    let mut req = Element::builder("pubsub", ns::PUBSUB).append(items);
    if let Some(set) = set {
        req = req.append(Element::from(set));
    }
    let req = req.build();
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
    let mut rsm = None;
    let mut list = answer
        .and_then(|mut p| {
            rsm = RsmPage::from_answer(&p);
            p.remove_child("items", ns::PUBSUB)
        })
        .ok_or_else(|| GridError::Protocol {
            op,
            message: "no <items/> in the result".into(),
        })?;
    let items = list
        .take_contents_as_children()
        .filter(|c| c.is("item", ns::PUBSUB))
        .map(|mut item| RawItem {
            id: item.attr("id").unwrap_or_default().to_string(),
            publisher: item.attr("publisher").map(str::to_string),
            payload: ns::take_payload(&mut item),
            received_at: now,
        })
        .collect();
    Ok(Fetched { items, rsm })
}

/// The ids of the items `topic` keeps (XEP-0060 §5.5: disco#items on the
/// node; each item's `name` is its id), in the order the service lists them.
/// XEP-0060 does not say which order that is (Prosody: newest first), so the
/// caller works it out. Prosody loads every payload to answer this.
pub(super) async fn item_ids(
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
pub(super) fn older_ids(listed: &[String], newest: &[RawItem]) -> Option<Vec<String>> {
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

    /// ejabberd's answer to `max_items` on SQL storage (newest first), as
    /// captured from ejabberd 23.01.
    const EJABBERD_ANSWER: &str = "<pubsub xmlns='http://jabber.org/protocol/pubsub'>\
        <set xmlns='http://jabber.org/protocol/rsm'><count>25</count>\
        <first index='0'>2026-11-23T20:40:32.290365Z</first>\
        <last>2026-11-23T20:40:32.168612Z</last></set>\
        <items node='incidents'><item id='c:24'/><item id='c:23'/></items></pubsub>";

    #[test]
    fn rsm_set_of_an_items_answer() {
        let el: Element = EJABBERD_ANSWER.parse().unwrap();
        assert_eq!(
            RsmPage::from_answer(&el),
            Some(RsmPage {
                count: Some(25),
                last: Some("2026-11-23T20:40:32.168612Z".into()),
            })
        );
        // Prosody's answers carry none.
        let el: Element = "<pubsub xmlns='http://jabber.org/protocol/pubsub'>\
            <items node='incidents'><item id='a'/></items></pubsub>"
            .parse()
            .unwrap();
        assert_eq!(RsmPage::from_answer(&el), None);
    }

    #[test]
    fn rsm_paging_stops_at_the_end() {
        let page = |last: &str| {
            Some(RsmPage {
                count: Some(25),
                last: Some(last.into()),
            })
        };
        // A full page with a <last/>: go on after it.
        assert_eq!(next_after(5, 5, page("t5"), None), Some("t5".into()));
        assert_eq!(
            next_after(5, 5, page("t10"), Some("t5")),
            Some("t10".into())
        );
        // A short or empty page, no <set/> or <last/>, or the same <last/>
        // again (<after/> ignored): done.
        assert_eq!(next_after(4, 5, page("t9"), Some("t5")), None);
        assert_eq!(next_after(0, 5, page("t9"), Some("t5")), None);
        assert_eq!(next_after(5, 5, None, None), None);
        assert_eq!(next_after(5, 5, Some(RsmPage::default()), None), None);
        assert_eq!(next_after(5, 5, page("t5"), Some("t5")), None);
    }

    #[test]
    fn rsm_page_request_carries_the_set() {
        let set = SetQuery {
            max: Some(5),
            after: Some("t5".into()),
            before: None,
            index: None,
        };
        let el = Element::from(set);
        assert!(el.is("set", ns::RSM));
        assert_eq!(
            el.get_child("max", ns::RSM).map(|m| m.text()),
            Some("5".into())
        );
        assert_eq!(
            el.get_child("after", ns::RSM).map(|m| m.text()),
            Some("t5".into())
        );
    }

    #[test]
    fn older_ids_needs_an_order_it_can_tell() {
        assert_eq!(older_ids(&list("d a b e c"), &page("c d e")), None);
        // One page id in the list says nothing about its order.
        assert_eq!(older_ids(&list("a b e"), &page("d e")), None);
        assert_eq!(older_ids(&list(""), &page("d e")), None);
    }
}
