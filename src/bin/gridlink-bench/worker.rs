//! The clients under test, each run as its own process (`gridlink-bench
//! worker …`) so that its CPU time is its own: gridlink publisher and
//! subscriber (the library, as `gridlink publish`/`subscribe` use it), the
//! raw ceiling publisher and reader, and the tokio-xmpp floor (`floor.rs`). The slixmpp peer is
//! `tests/py/bench_slix.py` with the same arguments and output.
//!
//! Every worker writes a `WorkerResult` (`measure.rs`): its CPU time over the measured
//! phase and a wall-clock timestamp per item (publishers: when the publish
//! was written; subscribers: when the notification was read), keyed by the
//! item number, so the coordinator can compute throughput and latency.

use std::hint::black_box;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context};
use futures::stream::{self, StreamExt, TryStreamExt};
use tokio::io::AsyncWriteExt;
use tokio::sync::Semaphore;

use gridlink::grid::{Grid, GridEvent, Payload, TopicSelection, DEFAULT_MAX_PAYLOAD};
use gridlink::iodef::ValidationLevel;

use crate::measure::{
    cpu, gather, gl_config, now, pace, peak_rss_kb, Kind, WorkerArgs, WorkerResult,
};
use crate::payloads::{self, item_number};
use crate::raw::{self, Account, Elements};

/// Runs one worker and writes its result.
pub async fn run(a: WorkerArgs) -> anyhow::Result<()> {
    let items = payloads::load(&a.payloads)?;
    let deadline = Duration::from_secs(a.timeout);
    let work = async {
        match a.kind {
            Kind::GlPub => gl_pub(&a, &items).await,
            Kind::GlSub => gl_sub(&a, items.len()).await,
            Kind::RawPub => raw_pub(&a, &items).await,
            Kind::RawSub => raw_sub(&a, items.len()).await,
            Kind::FloorPub => crate::floor::publisher(&a, &items).await,
            Kind::FloorSub => crate::floor::subscriber(&a, items.len()).await,
        }
    };
    let mut result = tokio::time::timeout(deadline, work)
        .await
        .with_context(|| format!("{:?} timed out after {} s", a.kind, a.timeout))??;
    result.max_rss_kb = peak_rss_kb("self");
    std::fs::write(&a.out, serde_json::to_vec(&result)?)?;
    Ok(())
}

async fn gl_pub(a: &WorkerArgs, items: &[payloads::Item]) -> anyhow::Result<WorkerResult> {
    let grid = Grid::connect(gl_config(a.port, &a.ca, &a.user)?).await?;
    // Prepared (parsed, strictly validated) before the clock starts, as the
    // slixmpp peer builds its elements before: the measured phase is the
    // XMPP work only.
    let prepared = items
        .iter()
        .map(|it| {
            Payload::prepare(
                it.xml.as_bytes(),
                ValidationLevel::Strict,
                DEFAULT_MAX_PAYLOAD,
            )
            .map(|p| (it.n, p))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let cpu0 = cpu();
    let start = tokio::time::Instant::now();
    let (grid_ref, node) = (&grid, a.node.as_str());
    let times: Vec<(u64, f64)> = stream::iter(prepared.iter().enumerate())
        .map(|(i, (n, p))| async move {
            pace(start, a.rate, i).await;
            let t = now();
            grid_ref.publish(node, p).await.map(|_| (*n, t))
        })
        .buffer_unordered(a.window.max(1))
        .try_collect()
        .await?;
    let cpu_s = cpu() - cpu0;
    grid.close().await;
    Ok(WorkerResult {
        cpu_s,
        times,
        ..Default::default()
    })
}

async fn gl_sub(a: &WorkerArgs, count: usize) -> anyhow::Result<WorkerResult> {
    let recorder = crate::hops::Recorder::install();
    let mut subs = Vec::new();
    for i in 0..a.sessions {
        let user = format!("{}{i}", a.user);
        // Connected as `gridlink subscribe` (with its cursor) and the
        // bridge connect: `--stream-management auto`, off for a follower.
        let mut cfg = gl_config(a.port, &a.ca, &user)?;
        cfg.stream_management = cfg.stream_management.for_follower();
        let grid = Grid::connect(cfg).await?;
        // Several topics (comma-separated) for the memory section.
        let nodes: Vec<String> = a.node.split(',').map(str::to_string).collect();
        let sub = grid
            .subscribe(TopicSelection::Named(nodes), ValidationLevel::Basic)
            .await?;
        subs.push((grid, sub));
    }
    let count = count * a.node.split(',').count();
    println!("READY");
    let cpu0 = cpu();
    let tasks: Vec<_> = subs
        .into_iter()
        .map(|(grid, mut sub)| {
            tokio::spawn(async move {
                let mut times = Vec::with_capacity(count);
                while times.len() < count {
                    match sub.next().await {
                        Some(ev @ GridEvent::Item { .. }) => {
                            let t = now();
                            if let GridEvent::Item { envelope, .. } = &ev {
                                let n = item_number(envelope.item_id.as_bytes());
                                times.push((n.unwrap_or(u64::MAX), t));
                            }
                            // What `gridlink subscribe` does with each item:
                            // one JSON line (document + RFC 8727 JSON).
                            let mut line = Vec::new();
                            if ev.write_json(&mut line).is_ok() {
                                black_box(line.len());
                            }
                        }
                        Some(_) => {}
                        None => break,
                    }
                }
                grid.close().await;
                anyhow::Ok(times)
            })
        })
        .collect();
    let mut result = gather(tasks, cpu0).await?;
    if let Some(r) = recorder {
        result.hops = r.per_item();
    }
    Ok(result)
}

fn account(a: &WorkerArgs, user: String) -> Account {
    Account {
        port: a.tls_port,
        ca: a.ca.clone(),
        password: format!("{user}-pw"),
        user,
    }
}

/// The publish stanza, serialised once.
pub fn publish_stanza(tag: &str, node: &str, it: &payloads::Item) -> String {
    format!(
        "<iq type='set' id='{tag}{n}' to='pubsub.localhost'><pubsub xmlns='http://jabber.org/protocol/pubsub'><publish node='{node}'><item id='{id}'>{xml}</item></publish></pubsub></iq>",
        n = it.n,
        id = it.id,
        xml = it.xml
    )
}

async fn raw_pub(a: &WorkerArgs, items: &[payloads::Item]) -> anyhow::Result<WorkerResult> {
    let s = raw::login(&account(a, a.user.clone()), "rawpub").await?;
    let stanzas: Vec<(u64, String)> = items
        .iter()
        .map(|it| (it.n, publish_stanza("p", &a.node, it)))
        .collect();
    let total = stanzas.len();
    let window = Arc::new(Semaphore::new(a.window.max(1)));
    let raw::Stream {
        mut rd,
        mut wr,
        buf,
    } = s;
    let cpu0 = cpu();
    let w = window.clone();
    let reader = tokio::spawn(async move {
        use tokio::io::AsyncReadExt;
        let mut buf = buf;
        let mut chunk = vec![0u8; 64 * 1024];
        let mut done = 0;
        while done < total {
            let (n, errors) = raw::count_iq(&mut buf);
            if errors > 0 {
                bail!("the broker refused {errors} publish(es)");
            }
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
        Ok(rd)
    });
    let start = tokio::time::Instant::now();
    let mut times = Vec::with_capacity(total);
    for (i, (n, st)) in stanzas.iter().enumerate() {
        window.acquire().await?.forget();
        pace(start, a.rate, i).await;
        times.push((*n, now()));
        wr.write_all(st.as_bytes()).await?;
        wr.flush().await?;
    }
    let rd = reader.await??;
    let cpu_s = cpu() - cpu0;
    let mut s = rd.unsplit(wr);
    let _ = s.write_all(b"</stream:stream>").await;
    Ok(WorkerResult {
        cpu_s,
        times,
        ..Default::default()
    })
}

/// Logs in, sends presence and subscribes `user` to `node`.
pub async fn raw_subscriber(acc: &Account, node: &str) -> anyhow::Result<raw::Stream> {
    let mut s = raw::login(acc, "rawsub").await?;
    s.request(
        &format!("<presence/><iq type='set' id='sub1' to='pubsub.localhost'><pubsub xmlns='http://jabber.org/protocol/pubsub'><subscribe node='{node}' jid='{}@localhost'/></pubsub></iq>", acc.user),
        b"</iq>",
    )
    .await?;
    Ok(s)
}

async fn raw_sub(a: &WorkerArgs, count: usize) -> anyhow::Result<WorkerResult> {
    let mut streams = Vec::new();
    for i in 0..a.sessions {
        streams.push(raw_subscriber(&account(a, format!("{}{i}", a.user)), &a.node).await?);
    }
    println!("READY");
    let cpu0 = cpu();
    let tasks: Vec<_> = streams
        .into_iter()
        .map(|mut s| {
            tokio::spawn(async move {
                let messages = Elements::new(b"<message", b"</message>");
                let mut chunk = vec![0u8; 64 * 1024];
                let mut times = Vec::with_capacity(count);
                loop {
                    let t = now();
                    messages.drain(&mut s.buf, |m| {
                        if let Some(n) = item_number(m) {
                            times.push((n, t));
                        }
                    });
                    if times.len() >= count {
                        break;
                    }
                    s.fill(&mut chunk).await?;
                }
                anyhow::Ok(times)
            })
        })
        .collect();
    gather(tasks, cpu0).await
}

/// The worker command line for `kind` (the coordinator adds the rest).
pub fn worker_args(kind: &str) -> Vec<String> {
    vec!["worker".into(), kind.into()]
}

/// Checks a finished worker's exit status, with its stderr.
pub fn check_exit(what: &str, out: std::process::Output) -> anyhow::Result<()> {
    if !out.status.success() {
        bail!(
            "{what} failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(())
}
