//! The tokio-xmpp floor: the XMPP library gridlink is built on, driven
//! directly through its `StanzaStream`, with none of gridlink's own layers
//! (no session driver or IQ table, no pubsub parsing, no IODEF, no JSON).
//!
//! The publisher sends publish IQs built before the clock starts (as the raw
//! ceiling pre-serialises its bytes) with the same window, and counts the
//! answers; the subscriber counts notifications and reads each item's id.
//! Login is gridlink's ([`gridlink::xmpp::connect_bare_stream`]), so TLS,
//! SASL and XEP-0198 are negotiated exactly as for the gridlink client.
//!
//! What this client costs per item is what any client on tokio-xmpp costs at
//! least: the line between "gridlink's own work" and "the library's" in the
//! CPU-per-item comparison, and, since it negotiates XEP-0198 as gridlink
//! does, the broker's throughput with stream management on.

use std::str::FromStr;

use anyhow::{bail, Context};
use futures::StreamExt;
use tokio_xmpp::jid::Jid;
use tokio_xmpp::minidom::Element;
use tokio_xmpp::parsers::iq::Iq;
use tokio_xmpp::parsers::ns;
use tokio_xmpp::parsers::presence::Presence;
use tokio_xmpp::stanzastream::{Event, StanzaStream, StreamEvent};
use tokio_xmpp::Stanza;

use crate::measure::{cpu, gather, gl_config, now, pace, WorkerArgs, WorkerResult};
use crate::payloads::{self, item_number};

/// Logs in and waits until the stream has bound a resource.
async fn online(a: &WorkerArgs, user: &str) -> anyhow::Result<StanzaStream> {
    let config = gl_config(a.port, &a.ca, user)?;
    let mut s = gridlink::xmpp::connect_bare_stream(&config).await?;
    loop {
        match s.next().await {
            Some(Event::Stream(StreamEvent::Reset { .. })) => return Ok(s),
            Some(_) => {}
            None => bail!("{user}: the stream ended before binding"),
        }
    }
}

fn pubsub_jid() -> anyhow::Result<Jid> {
    Jid::from_str("pubsub.localhost").map_err(|e| anyhow::anyhow!("jid: {e}"))
}

fn set(id: String, payload: Element) -> anyhow::Result<Box<Stanza>> {
    Ok(Box::new(Stanza::Iq(Iq::Set {
        from: None,
        to: Some(pubsub_jid()?),
        id,
        payload,
    })))
}

/// The publisher: pre-built publish IQs, `window` in flight.
pub async fn publisher(a: &WorkerArgs, items: &[payloads::Item]) -> anyhow::Result<WorkerResult> {
    let stream = online(a, &a.user).await?;
    let stanzas = items
        .iter()
        .map(|it| {
            let xml = format!(
                "<pubsub xmlns='{}'><publish node='{}'><item id='{}'>{}</item></publish></pubsub>",
                ns::PUBSUB,
                a.node,
                it.id,
                it.xml
            );
            let payload = Element::from_str(&xml).context("publish payload")?;
            Ok((it.n, set(format!("f{}", it.n), payload)?))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let total = stanzas.len();
    let window = a.window.max(1);
    // One task sends and reads: tokio-xmpp's `StanzaStream::split` halves
    // share a mutex that the receiver `try_lock`s without registering a
    // waker (the lost wake-up of `Client`), so a split reader can stall.
    let mut stream = stream;
    let mut next = stanzas.into_iter().enumerate();
    let mut times = Vec::with_capacity(total);
    let (mut sent, mut done) = (0usize, 0usize);
    let cpu0 = cpu();
    let start = tokio::time::Instant::now();
    while done < total {
        let can_send = sent < total && sent - done < window;
        tokio::select! {
            _ = pace(start, a.rate, sent), if can_send => {
                if let Some((_, (n, st))) = next.next() {
                    times.push((n, now()));
                    stream.send(st).await;
                    sent += 1;
                }
            }
            ev = stream.next() => match ev {
                Some(Event::Stanza(Stanza::Iq(Iq::Result { .. }))) => done += 1,
                Some(Event::Stanza(Stanza::Iq(Iq::Error { error, .. }))) => {
                    bail!("the broker refused a publish: {error:?}")
                }
                Some(_) => {}
                None => bail!("stream ended after {done} answers"),
            },
        }
    }
    let cpu_s = cpu() - cpu0;
    stream.close().await;
    Ok(WorkerResult {
        cpu_s,
        times,
        ..Default::default()
    })
}

/// The item number of a pubsub notification, read through the parsed tree.
fn notified_item(payloads: &[Element]) -> Option<u64> {
    let event = payloads.iter().find(|p| p.is("event", ns::PUBSUB_EVENT))?;
    let items = event.get_child("items", ns::PUBSUB_EVENT)?;
    let item = items.get_child("item", ns::PUBSUB_EVENT)?;
    item_number(item.attr("id")?.as_bytes())
}

/// Subscribes `user` to `node` and waits for the answer.
async fn subscribed(a: &WorkerArgs, user: &str) -> anyhow::Result<StanzaStream> {
    let mut s = online(a, user).await?;
    s.send(Box::new(Stanza::Presence(Presence::available())))
        .await;
    let payload = Element::from_str(&format!(
        "<pubsub xmlns='{}'><subscribe node='{}' jid='{user}@localhost'/></pubsub>",
        ns::PUBSUB,
        a.node
    ))
    .context("subscribe payload")?;
    s.send(set("sub1".into(), payload)?).await;
    loop {
        match s.next().await {
            Some(Event::Stanza(Stanza::Iq(Iq::Result { id, .. }))) if id == "sub1" => return Ok(s),
            Some(Event::Stanza(Stanza::Iq(Iq::Error { error, .. }))) => {
                bail!("{user}: subscribe refused: {error:?}")
            }
            Some(_) => {}
            None => bail!("{user}: the stream ended before the subscription"),
        }
    }
}

/// The subscriber(s): count notifications until `count` each.
pub async fn subscriber(a: &WorkerArgs, count: usize) -> anyhow::Result<WorkerResult> {
    let mut streams = Vec::new();
    for i in 0..a.sessions {
        streams.push(subscribed(a, &format!("{}{i}", a.user)).await?);
    }
    println!("READY");
    let cpu0 = cpu();
    let tasks: Vec<_> = streams
        .into_iter()
        .map(|mut s| {
            tokio::spawn(async move {
                let mut times = Vec::with_capacity(count);
                while times.len() < count {
                    match s.next().await {
                        Some(Event::Stanza(Stanza::Message(m))) => {
                            let t = now();
                            if let Some(n) = notified_item(&m.payloads) {
                                times.push((n, t));
                            }
                        }
                        Some(_) => {}
                        None => bail!("stream ended after {} notifications", times.len()),
                    }
                }
                s.close().await;
                anyhow::Ok(times)
            })
        })
        .collect();
    gather(tasks, cpu0).await
}
