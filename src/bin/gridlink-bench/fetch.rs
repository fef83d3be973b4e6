//! Sections 3 and 4's measures, timed in the coordinator's own process (not
//! workers: what they cost is time, not CPU): catch-up of a topic in one
//! items request (raw, or gridlink's) or through gridlink's follower a page
//! at a time, and discovery the raw way.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::bail;
use tokio::io::AsyncWriteExt;
use tokio::sync::Semaphore;

use gridlink::config::Config;
use gridlink::grid::{Grid, GridEvent, TopicSelection};
use gridlink::iodef::ValidationLevel;

use crate::raw::{self, Account, Elements};

/// Catch-up the raw way: one items request, read until the answer ends;
/// returns the number of items in it.
pub async fn raw_catch_up(acc: &Account, node: &str) -> anyhow::Result<usize> {
    let mut s = raw::login(acc, "rawcatchup").await?;
    let answer = s
        .request(
            &format!("<iq type='get' id='items1' to='pubsub.localhost'><pubsub xmlns='http://jabber.org/protocol/pubsub'><items node='{node}'/></pubsub></iq>"),
            b"</iq>",
        )
        .await?;
    let n = items_in(&answer);
    let _ = s.wr.write_all(b"</stream:stream>").await;
    Ok(n)
}

/// The `<item>` elements in a raw answer (payloads hold none).
fn items_in(answer: &[u8]) -> usize {
    memchr::memmem::find_iter(answer, b"<item ").count()
}

/// The follower's requests made the raw way, to tell the broker's cost of
/// paging from gridlink's: the newest `page` items and the id listing
/// (disco#items on the node) together, then the older items by id, `page`
/// ids a request, three requests in flight (`PAGES_IN_FLIGHT`), answers
/// counted by scanning bytes. Returns the items received.
pub async fn raw_paged_catch_up(acc: &Account, node: &str, page: usize) -> anyhow::Result<usize> {
    const IN_FLIGHT: usize = 3;
    let mut s = raw::login(acc, "rawpaged").await?;
    let pubsub = "http://jabber.org/protocol/pubsub";
    let first = format!(
        "<iq type='get' id='newest' to='pubsub.localhost'><pubsub xmlns='{pubsub}'>\
         <items node='{node}' max_items='{page}'/></pubsub></iq>\
         <iq type='get' id='listing' to='pubsub.localhost'>\
         <query xmlns='http://jabber.org/protocol/disco#items' node='{node}'/></iq>"
    );
    // Prosody answers one session's requests in order.
    let newest = s.request(&first, b"</iq>").await?;
    let mut got = items_in(&newest);
    let listing = s.request("", b"</iq>").await?;
    // The listing is newest first; the newest page came already.
    let mut ids = Vec::new();
    for at in memchr::memmem::find_iter(&listing, b" name='") {
        let rest = &listing[at + 7..];
        if let Some(end) = memchr::memchr(b'\'', rest) {
            ids.push(String::from_utf8_lossy(&rest[..end]).into_owned());
        }
    }
    let older: Vec<String> = ids.into_iter().skip(got).rev().collect();
    let requests: Vec<String> = older
        .chunks(page)
        .enumerate()
        .map(|(k, chunk)| {
            let items: String = chunk
                .iter()
                .map(|id| format!("<item id='{id}'/>"))
                .collect();
            format!(
                "<iq type='get' id='older{k}' to='pubsub.localhost'><pubsub xmlns='{pubsub}'>\
                 <items node='{node}'>{items}</items></pubsub></iq>"
            )
        })
        .collect();
    let mut next = requests.iter();
    for q in next.by_ref().take(IN_FLIGHT) {
        s.wr.write_all(q.as_bytes()).await?;
    }
    s.wr.flush().await?;
    for _ in 0..requests.len() {
        let answer = s.request("", b"</iq>").await?;
        got += items_in(&answer);
        if let Some(q) = next.next() {
            s.wr.write_all(q.as_bytes()).await?;
            s.wr.flush().await?;
        }
    }
    let _ = s.wr.write_all(b"</stream:stream>").await;
    Ok(got)
}

/// Discovery the raw way: disco#items of the service, then disco#info of
/// every node, `concurrency` in flight (as gridlink does). Returns the
/// seconds it took (after login) and the number of nodes.
pub async fn raw_discover(acc: &Account, concurrency: usize) -> anyhow::Result<(f64, usize)> {
    use tokio::io::AsyncReadExt;
    let mut s = raw::login(acc, "rawdisco").await?;
    let t0 = Instant::now();
    let list = s
        .request(
            "<iq type='get' id='items1' to='pubsub.localhost'><query xmlns='http://jabber.org/protocol/disco#items'/></iq>",
            b"</iq>",
        )
        .await?;
    let mut nodes = Vec::new();
    for m in memchr::memmem::find_iter(&list, b"node=") {
        let rest = &list[m + 5..];
        let Some(&q) = rest.first() else { continue };
        if let Some(end) = memchr::memchr(q, &rest[1..]) {
            nodes.push(String::from_utf8_lossy(&rest[1..1 + end]).into_owned());
        }
    }
    let total = nodes.len();
    let window = Arc::new(Semaphore::new(concurrency.max(1)));
    let raw::Stream {
        mut rd,
        mut wr,
        buf,
    } = s;
    let w = window.clone();
    let reader = tokio::spawn(async move {
        let answers = Elements::new(b"<iq ", b"</iq>");
        let mut buf = buf;
        let mut chunk = vec![0u8; 64 * 1024];
        let mut done = 0;
        while done < total {
            let mut n = 0;
            answers.drain(&mut buf, |_| n += 1);
            done += n;
            w.add_permits(n);
            if done >= total {
                break;
            }
            let k = rd.read(&mut chunk).await?;
            if k == 0 {
                bail!("stream closed after {done} answers");
            }
            buf.extend_from_slice(&chunk[..k]);
        }
        anyhow::Ok(())
    });
    for (i, node) in nodes.iter().enumerate() {
        window.acquire().await?.forget();
        wr.write_all(format!("<iq type='get' id='i{i}' to='pubsub.localhost'><query xmlns='http://jabber.org/protocol/disco#info' node='{node}'/></iq>").as_bytes()).await?;
        wr.flush().await?;
    }
    reader.await??;
    Ok((t0.elapsed().as_secs_f64(), total))
}

/// How long gridlink takes, from nothing, to be current with `node`'s
/// `expect` items: connect, subscribe, fetch and check every item. With
/// `paged`, through the follower with a new cursor, as `gridlink subscribe`
/// and the bridge do on start (a page at a time); without, in one items
/// request. Returns (seconds, items).
pub async fn gl_catch_up(
    config: Config,
    node: &str,
    expect: usize,
    paged: bool,
) -> anyhow::Result<(f64, usize)> {
    let mut config = config;
    config.stream_management = if paged {
        // As `subscribe` with a cursor and `bridge` connect (no XEP-0198).
        config.stream_management.for_follower()
    } else {
        // As `gridlink items` connects (no XEP-0198 either).
        config.stream_management.for_one_shot()
    };
    let t0 = Instant::now();
    let grid = Grid::connect(config).await?;
    let selection = TopicSelection::Named(vec![node.to_string()]);
    let ok = if paged {
        let store = gridlink::store::Store::open_in_memory()?;
        let mut f =
            gridlink::durable::Follower::start(&grid, selection, ValidationLevel::Basic, store)
                .await?;
        let mut ok = 0;
        while ok < expect {
            match tokio::time::timeout(Duration::from_secs(600), f.next()).await {
                Ok(Some(GridEvent::Item { .. })) => ok += 1,
                Ok(Some(_)) => {}
                Ok(None) => bail!("the session ended after {ok} of {expect} items"),
                Err(_) => bail!("no item for 600 s after {ok} of {expect}"),
            }
        }
        ok
    } else {
        let _sub = grid.subscribe(selection, ValidationLevel::Basic).await?;
        let items = grid.items(node, None, None, ValidationLevel::Basic).await?;
        items
            .iter()
            .filter(|e| matches!(e, GridEvent::Item { .. }))
            .count()
    };
    let secs = t0.elapsed().as_secs_f64();
    grid.close().await;
    Ok((secs, ok))
}
