//! What ejabberd 23.01's RSM paging of pubsub items (XEP-0059 on XEP-0060
//! items) does, checked against the real server on both storages: the
//! premise issue 22 asks to check before catch-up resumes "from the last
//! delivered position" with `<after/>`. Found: the RSM order is by *first*
//! publication and an item published again (changed or not) keeps its place
//! and its RSM id, so `<after/>` a recorded position misses the updates of
//! items before it; the follower therefore keeps reading ejabberd's RSM
//! pages from the start (`durable/follow.rs`). Each test fails with a clear
//! message when ejabberd is missing.

mod common;

use common::ejabberd;
use gridlink::grid::{AccessModel, Grid, Payload, TopicOptions};
use gridlink::iodef::ValidationLevel;
use gridlink::lab::{Ejabberd, EjabberdStorage};
use tokio_xmpp::minidom::Element;

const TOPIC: &str = "incidents";
const PUBSUB: &str = "http://jabber.org/protocol/pubsub";
const RSM: &str = "http://jabber.org/protocol/rsm";

async fn grid(e: &Ejabberd, user: &str) -> Grid {
    Grid::connect(e.client_config(user, &format!("{user}-pw")))
        .await
        .unwrap_or_else(|err| panic!("{user} cannot join ejabberd: {err}"))
}

/// Item `n`; `edition` changes its content, not its id.
fn payload(n: usize, edition: usize) -> Payload {
    let doc = common::incident(n).replace(
        "2026-11-23T09:00:00Z",
        &format!("2026-11-23T09:00:{edition:02}Z"),
    );
    Payload::prepare(doc.as_bytes(), ValidationLevel::Strict, 64 * 1024).expect("test document")
}

/// One RSM page: (item numbers, `<first/>`, `<last/>`, `<count/>`).
struct Page {
    items: Vec<usize>,
    first: Option<String>,
    last: Option<String>,
    count: Option<String>,
}

async fn page(g: &Grid, max: usize, after: Option<&str>, index: Option<usize>) -> Page {
    let mut set = Element::builder("set", RSM)
        .append(Element::builder("max", RSM).append(max.to_string()).build());
    if let Some(a) = after {
        set = set.append(Element::builder("after", RSM).append(a.to_string()).build());
    }
    if let Some(i) = index {
        set = set.append(Element::builder("index", RSM).append(i.to_string()).build());
    }
    let req = Element::builder("pubsub", PUBSUB)
        .append(
            Element::builder("items", PUBSUB)
                .attr(
                    tokio_xmpp::minidom::rxml::NcName::try_from("node").expect("name"),
                    TOPIC,
                )
                .build(),
        )
        .append(set.build())
        .build();
    let answer = g
        .session()
        .get(Some(g.service().clone()), req)
        .await
        .expect("items with RSM")
        .expect("an answer");
    let items = answer
        .get_child("items", PUBSUB)
        .expect("<items/>")
        .children()
        .filter_map(|i| i.attr("id"))
        .map(|id| {
            id.rsplit(':')
                .next()
                .and_then(|n| n.parse().ok())
                .expect("item id")
        })
        .collect();
    let set = answer.get_child("set", RSM);
    let text = |name: &str| set.and_then(|s| s.get_child(name, RSM)).map(|c| c.text());
    Page {
        items,
        first: text("first"),
        last: text("last"),
        count: text("count"),
    }
}

/// Every item in RSM pages of `max`, from the start or after `after`.
async fn all_after(g: &Grid, max: usize, mut after: Option<String>) -> Vec<usize> {
    let mut out = Vec::new();
    loop {
        let p = page(g, max, after.as_deref(), None).await;
        out.extend(&p.items);
        if p.items.len() < max || p.last.is_none() || p.last == after {
            return out;
        }
        after = p.last;
    }
}

async fn premise(storage: EjabberdStorage) {
    let e = ejabberd(storage);
    let publisher = grid(&e, "publisher").await;
    let opts = TopicOptions {
        access_model: AccessModel::Open,
        ..Default::default()
    };
    publisher.create_topic(TOPIC, &opts).await.expect("topic");
    for n in 0..6 {
        publisher
            .publish(TOPIC, &payload(n, 0))
            .await
            .expect("publish");
    }
    let reader = grid(&e, "subscriber").await;
    // 1. RSM pages come oldest first, in publication order.
    assert_eq!(
        all_after(&reader, 2, None).await,
        [0, 1, 2, 3, 4, 5],
        "{storage:?}"
    );
    // The position after the first page (items 0 and 1): what a follower
    // would record as "delivered up to here".
    let first = page(&reader, 2, None, None).await;
    let mark = first.last.clone().expect("<last/>");
    eprintln!(
        "{storage:?}: first page {:?}, <first/> {:?}, <last/> {mark:?}, <count/> {:?}",
        first.items, first.first, first.count
    );
    let id_of_3 = page(&reader, 1, None, Some(3)).await.first;
    // 2. Items published again, unchanged (1) and changed (0, before the
    // mark; 3, after it), keep their place: the order is by first
    // publication, unlike Prosody's (by last publication), and the RSM id
    // (a timestamp) of an item does not change.
    publisher
        .publish(TOPIC, &payload(1, 0))
        .await
        .expect("republish 1 unchanged");
    publisher
        .publish(TOPIC, &payload(0, 1))
        .await
        .expect("republish 0 changed");
    publisher
        .publish(TOPIC, &payload(3, 1))
        .await
        .expect("republish 3 changed");
    let order = all_after(&reader, 2, None).await;
    eprintln!("{storage:?}: after republishing 1 (unchanged), 0 and 3 (changed): {order:?}");
    assert_eq!(
        order,
        [0, 1, 2, 3, 4, 5],
        "RSM order is by first publication ({storage:?})"
    );
    assert_eq!(
        page(&reader, 1, None, Some(3)).await.first,
        id_of_3,
        "a changed item keeps its RSM id ({storage:?})"
    );
    // 3. So resuming after the recorded position misses the update of item
    // 0, published after the position was recorded: not loss-free.
    let after_mark = all_after(&reader, 2, Some(mark.clone())).await;
    eprintln!("{storage:?}: after the recorded <last/> {mark:?}: {after_mark:?}");
    assert_eq!(
        after_mark,
        [2, 3, 4, 5],
        "after the recorded position ({storage:?})"
    );
    // 4. <index/> is honoured (pages could be asked for by position, several
    // at once; a retraction meanwhile would shift them, though).
    let by_index = page(&reader, 2, None, Some(2)).await;
    assert_eq!(by_index.items, [2, 3], "<index>2</index> ({storage:?})");
}

#[tokio::test]
async fn rsm_order_and_after_on_ejabberd_mnesia() {
    premise(EjabberdStorage::Mnesia).await;
}

#[tokio::test]
async fn rsm_order_and_after_on_ejabberd_sqlite() {
    premise(EjabberdStorage::Sqlite).await;
}
