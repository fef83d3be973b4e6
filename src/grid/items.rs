//! History retrieval (XEP-0060 §6.5): the items a topic still keeps, as
//! events — the newest `max`, one by id, or every one page by page
//! ([`for_each_item`]).
//!
//! Reading a whole topic page by page, oldest first, is one API, used by
//! [`for_each_item`] and by the follower's catch-up
//! (`durable/follow/catch_up.rs`): [`plan`] fetches the newest page and
//! says how the rest is read — it was everything, or a [`Pager`] fetches
//! the older items by id (the ids listed by disco#items; a few pages asked
//! for at once, `inflight.rs`) and hands the newest page last, or reads RSM
//! pages from the start (ejabberd: its
//! newest page comes newest first on SQL storage and oldest first on
//! mnesia, with nothing in the answer to tell which; its RSM pages are
//! oldest first on both, in order of first publication, which a replaced
//! item keeps: an update made since the last RSM position delivered comes
//! before it, so RSM is never resumed from there — `tests/ejabberd_rsm.rs`,
//! `tests/ejabberd.rs::update_while_away_is_delivered_*`). Items stay
//! unchecked [`RawItem`]s until their consumer takes them. The requests
//! themselves are in `retrieve.rs`.

use std::collections::VecDeque;

use tokio_xmpp::jid::Jid;

use super::inflight::InFlight;
use super::retrieve::{fetch, item_ids, next_after, older_ids, RawItem, Retrieve, RsmPage};
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
        let mut pager = Pager::rsm(topic, RSM_PAGE);
        while pager.remaining() {
            for item in pager.next(session, service).await? {
                if newest.len() == keep {
                    newest.pop_front();
                }
                newest.push_back(item);
            }
        }
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
        .map(|item| item.into_event(topic, level, true))
        .collect())
}

/// Items per RSM request when the rest of a capped answer is fetched.
const RSM_PAGE: u32 = 100;

/// Every item `topic` keeps, oldest first, `page` per request (see
/// [`plan`]), each page handed to `each` before the next is fetched.
/// Memory stays bounded by a page (unless the service lists ids in an order
/// that cannot be told: then one request). Items published meanwhile are
/// not included. Stops early when `each` returns `false`. Returns how many
/// items were handed over.
pub async fn for_each_item(
    session: &Session,
    service: &Jid,
    topic: &str,
    page: u32,
    level: ValidationLevel,
    mut each: impl FnMut(GridEvent) -> bool,
) -> Result<usize, GridError> {
    let mut handed = 0;
    let mut hand = |items: Vec<RawItem>| {
        for item in items {
            handed += 1;
            if !each(item.into_event(topic, level, true)) {
                return false;
            }
        }
        true
    };
    match plan(session, service, topic, page.max(2), false, false)
        .await?
        .read
    {
        Read::Whole { items, .. } => {
            hand(items);
        }
        Read::Pages(mut pager) => {
            while pager.remaining() {
                if !hand(pager.next(session, service).await?) {
                    return Ok(handed);
                }
            }
            hand(pager.into_newest());
        }
    }
    Ok(handed)
}

/// How a topic is read, oldest first, as [`plan`] found it.
#[derive(Debug)]
pub(crate) struct Plan {
    /// How many items the topic keeps, as far as planning could tell.
    pub kept: usize,
    /// The ids planning saw: the newest page and the id listing, or every
    /// item when the topic was read whole.
    pub ids: Vec<String>,
    /// Requests planning made.
    pub requests: usize,
    /// The most of them outstanding at once (2 when the listing went out
    /// with the newest page).
    pub peak_in_flight: usize,
    /// The most items one of those answers held.
    pub largest: usize,
    /// The items, or how to fetch them.
    pub read: Read,
}

/// The rest of a [`Plan`].
#[derive(Debug)]
pub(crate) enum Read {
    /// The whole backlog, in hand: the newest page held everything, or
    /// (`unordered`) the service listed its ids in an order that could not
    /// be told, and everything was fetched in one request.
    Whole {
        items: Vec<RawItem>,
        unordered: bool,
    },
    /// Page by page.
    Pages(Pager),
}

/// Fetches the newest `page` (at least 2) items of `topic` and plans
/// reading the rest: when the page is not full it is everything; else the
/// ids are listed (disco#items on the node) and the older ones read by id,
/// the newest page last. A service that answers with an RSM `<set/>` is
/// read in RSM pages from the start instead; `list_rsm` lists its ids all
/// the same (the follower's catch-up compares them with its cursor).
///
/// With `list_early` the listing is asked for together with the newest page
/// (one round trip less when the topic keeps more than a page; a listing
/// wasted when it does not): for callers that expect a large topic.
pub(crate) async fn plan(
    session: &Session,
    service: &Jid,
    topic: &str,
    page: u32,
    list_rsm: bool,
    list_early: bool,
) -> Result<Plan, GridError> {
    let newest = fetch(session, service, topic, Retrieve::Newest(page));
    let (first, mut early) = if list_early {
        let (first, listed) = tokio::join!(newest, item_ids(session, service, topic));
        (first?, Some(listed))
    } else {
        (newest.await?, None)
    };
    let mut requests = 1 + usize::from(early.is_some());
    let peak_in_flight = requests;
    let mut largest = first.items.len();
    let page_ids = |items: &[RawItem]| items.iter().map(|i| i.id.clone()).collect::<Vec<_>>();
    if let Some(rsm) = first.rsm {
        let mut ids = Vec::new();
        let mut listed_len = 0;
        if list_rsm {
            ids = match early.take() {
                Some(listed) => listed?,
                None => {
                    requests += 1;
                    item_ids(session, service, topic).await?
                }
            };
            listed_len = ids.len();
        }
        ids.extend(page_ids(&first.items));
        return Ok(Plan {
            kept: rsm.count.unwrap_or(listed_len).max(first.items.len()),
            ids,
            requests,
            peak_in_flight,
            largest,
            read: Read::Pages(Pager::rsm(topic, page)),
        });
    }
    let newest = first.items;
    if newest.len() < page as usize {
        return Ok(Plan {
            kept: newest.len(),
            ids: page_ids(&newest),
            requests,
            peak_in_flight,
            largest,
            read: Read::Whole {
                items: newest,
                unordered: false,
            },
        });
    }
    let listed = match early {
        Some(listed) => listed?,
        None => {
            requests += 1;
            item_ids(session, service, topic).await?
        }
    };
    let Some(older) = older_ids(&listed, &newest) else {
        let all = fetch(session, service, topic, Retrieve::All).await?.items;
        return Ok(Plan {
            kept: all.len(),
            ids: page_ids(&all),
            requests: requests + 1,
            peak_in_flight,
            largest: largest.max(all.len()),
            read: Read::Whole {
                items: all,
                unordered: true,
            },
        });
    };
    largest = largest.max(newest.len());
    let kept = listed.len().max(newest.len());
    let mut ids = page_ids(&newest);
    ids.extend(listed);
    Ok(Plan {
        kept,
        ids,
        requests,
        peak_in_flight,
        largest,
        read: Read::Pages(Pager {
            topic: topic.to_string(),
            page,
            left: Left::Older {
                ids: older.into(),
                in_flight: InFlight::default(),
                newest,
            },
        }),
    })
}

/// The pages of a topic still to read, one request per [`next`](Self::next).
/// A `next` dropped before its answer came (a `select!`) changes nothing:
/// the same page is asked for again.
#[derive(Debug)]
pub(crate) struct Pager {
    topic: String,
    page: u32,
    left: Left,
}

#[derive(Debug)]
enum Left {
    /// Older items by id, oldest first (`ids` not yet asked for, then the
    /// pages `in_flight`, which come first); then the newest page.
    Older {
        ids: VecDeque<String>,
        in_flight: InFlight,
        newest: Vec<RawItem>,
    },
    /// RSM pages in the service's order (oldest first), after the item
    /// whose RSM id is `after` (from the start when `None`); `done` once
    /// the last page came.
    Rsm { after: Option<String>, done: bool },
}

impl Pager {
    /// RSM pages of `page` items from the start.
    fn rsm(topic: &str, page: u32) -> Pager {
        Pager {
            topic: topic.to_string(),
            page,
            left: Left::Rsm {
                after: None,
                done: false,
            },
        }
    }

    /// Whether a page is left to fetch (the newest page, kept for last,
    /// aside: [`into_newest`](Self::into_newest)).
    pub(crate) fn remaining(&self) -> bool {
        match &self.left {
            Left::Older { ids, in_flight, .. } => !ids.is_empty() || !in_flight.is_empty(),
            Left::Rsm { done, .. } => !done,
        }
    }

    /// How many older ids are left to ask for (0 on RSM pages).
    pub(crate) fn older(&self) -> usize {
        match &self.left {
            Left::Older { ids, .. } => ids.len(),
            Left::Rsm { .. } => 0,
        }
    }

    /// The most page requests outstanding at once so far.
    pub(crate) fn peak_in_flight(&self) -> usize {
        match &self.left {
            Left::Older { in_flight, .. } => in_flight.peak(),
            Left::Rsm { .. } => 1,
        }
    }

    /// Whether the topic is read in RSM pages.
    pub(crate) fn is_rsm(&self) -> bool {
        matches!(self.left, Left::Rsm { .. })
    }

    /// Leaves out the oldest ids not yet asked for as long as `known` says
    /// so for each (before the first [`next`](Self::next): all of them).
    pub(crate) fn skip_oldest_while(&mut self, known: impl Fn(&str) -> bool) {
        if let Left::Older { ids, in_flight, .. } = &mut self.left {
            if !in_flight.is_empty() {
                return;
            }
            let skip = ids.iter().take_while(|id| known(id)).count();
            ids.drain(..skip);
        }
    }

    /// Fetches the next page (one request; older pages by id are asked
    /// for [`PAGES_IN_FLIGHT`](super::inflight::PAGES_IN_FLIGHT) at a time,
    /// see `inflight.rs`, and handed over in order).
    pub(crate) async fn next(
        &mut self,
        session: &Session,
        service: &Jid,
    ) -> Result<Vec<RawItem>, GridError> {
        let (topic, page) = (self.topic.as_str(), self.page);
        match &mut self.left {
            Left::Older { ids, in_flight, .. } => {
                in_flight.fill(session, service, topic, page, ids);
                let Some(answer) = in_flight.take().await else {
                    return Ok(Vec::new());
                };
                // The next pages go out before this one is handed over, so
                // the broker works while the consumer reads.
                in_flight.fill(session, service, topic, page, ids);
                let items = answer?;
                tracing::debug!(
                    topic,
                    fetched = items.len(),
                    left = ids.len() + in_flight.len() * page as usize,
                    "older page"
                );
                Ok(items)
            }
            Left::Rsm { after, done } => {
                let what = Retrieve::Page {
                    max: page,
                    after: after.as_deref(),
                };
                let fetched = fetch(session, service, topic, what).await?;
                let n = fetched.items.len();
                tracing::debug!(topic, fetched = n, "RSM page");
                let next = next_after(n, page, fetched.rsm, after.as_deref());
                *done = next.is_none();
                *after = next;
                Ok(fetched.items)
            }
        }
    }

    /// The newest page, kept for last (none on RSM pages).
    pub(crate) fn into_newest(self) -> Vec<RawItem> {
        match self.left {
            Left::Older { newest, .. } => newest,
            Left::Rsm { .. } => Vec::new(),
        }
    }
}
