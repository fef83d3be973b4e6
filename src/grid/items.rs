//! History retrieval (XEP-0060 §6.5): the items a topic still keeps, as
//! events — the newest `max`, one by id, or every one page by page
//! ([`for_each_item`]). The requests themselves (and the follower's
//! catch-up, which works on their unchecked [`RawItem`]s) are in
//! `retrieve.rs`.

use std::collections::VecDeque;

use tokio_xmpp::jid::Jid;

use super::retrieve::{
    fetch, item_ids, next_after, older_ids, raw_items, RawItem, Retrieve, RsmPage,
};
use super::{GridError, GridEvent};
use crate::iodef::ValidationLevel;
use crate::xmpp::Session;

/// Fetches items of `topic`: the newest `max`, oldest first (all the broker
/// keeps when `None`), or the one with `id`.
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
    let mut fetched = fetch(session, service, topic, what).await?;
    if let (Retrieve::Newest(m), Some(_)) = (&what, &fetched.rsm) {
        // ejabberd answers `max_items` newest first on SQL storage and
        // oldest first on mnesia, with nothing in the answer to tell which:
        // read the topic in RSM pages (oldest first on both) and keep the
        // last `m`.
        let keep = *m as usize;
        let mut newest = VecDeque::with_capacity(keep.min(RSM_PAGE as usize));
        rsm_pages(session, service, topic, RSM_PAGE, |items| {
            for item in items {
                if newest.len() == keep {
                    newest.pop_front();
                }
                newest.push_back(item);
            }
            true
        })
        .await?;
        fetched.items = newest.into();
    }
    if matches!(what, Retrieve::All) {
        // A service that caps the answer and says so with an RSM `<set/>`
        // (count above what came, and where it stopped) is asked for the
        // rest, page by page after the last item it sent.
        let mut rsm = fetched.rsm.take();
        while let Some(RsmPage {
            count: Some(count),
            last: Some(last),
        }) = rsm
        {
            if fetched.items.len() >= count {
                break;
            }
            let after = Retrieve::Page {
                max: RSM_PAGE,
                after: Some(&last),
            };
            let next = fetch(session, service, topic, after).await?;
            if next.items.is_empty() {
                break;
            }
            fetched.items.extend(next.items);
            rsm = next.rsm;
        }
    }
    Ok(fetched
        .items
        .into_iter()
        .map(|item| item.into_event(topic, level))
        .collect())
}

/// Items per RSM request when the rest of a capped answer is fetched.
const RSM_PAGE: u32 = 100;

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
    let first = fetch(session, service, topic, Retrieve::Newest(page)).await?;
    if first.rsm.is_some() {
        // ejabberd: its newest page is newest first on SQL storage and
        // oldest first on mnesia, with nothing in the answer to tell which;
        // its RSM pages are oldest first on both.
        return for_each_rsm(session, service, topic, page, level, each).await;
    }
    let newest = first.items;
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

/// [`for_each_item`] on a service that pages items with RSM: pages of
/// `page` in the service's order (oldest first), each after the last.
async fn for_each_rsm(
    session: &Session,
    service: &Jid,
    topic: &str,
    page: u32,
    level: ValidationLevel,
    mut each: impl FnMut(GridEvent) -> bool,
) -> Result<usize, GridError> {
    let mut handed = 0;
    rsm_pages(session, service, topic, page, |items| {
        for item in items {
            handed += 1;
            if !each(item.into_event(topic, level)) {
                return false;
            }
        }
        true
    })
    .await?;
    Ok(handed)
}

/// Reads `topic` from a service that pages items with RSM, `page` items per
/// request in the service's order (oldest first), each page after the
/// previous one's `<last/>`, handing each page to `each` until it returns
/// `false` or the last page was handed over.
async fn rsm_pages(
    session: &Session,
    service: &Jid,
    topic: &str,
    page: u32,
    mut each: impl FnMut(Vec<RawItem>) -> bool,
) -> Result<(), GridError> {
    let mut after: Option<String> = None;
    loop {
        let what = Retrieve::Page {
            max: page,
            after: after.as_deref(),
        };
        let fetched = fetch(session, service, topic, what).await?;
        let n = fetched.items.len();
        if !each(fetched.items) {
            return Ok(());
        }
        match next_after(n, page, fetched.rsm, after.as_deref()) {
            Some(last) => after = Some(last),
            None => return Ok(()),
        }
    }
}
