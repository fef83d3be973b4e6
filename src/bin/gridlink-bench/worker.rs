//! The clients under test, each run as its own process (`gridlink-bench
//! worker …`) so that its CPU time is its own: gridlink publisher and
//! subscriber (the library, as `gridlink publish`/`subscribe` use it), the
//! raw ceiling publisher and reader, and the tokio-xmpp floor (`floor.rs`). The slixmpp peer is
//! `tests/py/bench_slix.py` with the same arguments and output.
//!
//! Every worker writes a [`WorkerResult`]: its CPU time over the measured
//! phase and a wall-clock timestamp per item (publishers: when the publish
//! was written; subscribers: when the notification was read), keyed by the
//! item number, so the coordinator can compute throughput and latency.

use std::hint::black_box;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{bail, Context};
use clap::{Args, ValueEnum};
use futures::stream::{self, StreamExt, TryStreamExt};
use serde::{Deserialize, Serialize};
use tokio::io::AsyncWriteExt;
use tokio::sync::Semaphore;

use gridlink::config::{Config, Secret, TlsMode};
use gridlink::grid::{Grid, GridEvent, Payload, TopicSelection, DEFAULT_MAX_PAYLOAD};
use gridlink::iodef::ValidationLevel;

use crate::payloads::{self, item_number};
use crate::raw::{self, Account, Elements};

/// Which client.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Kind {
    /// gridlink publisher.
    GlPub,
    /// gridlink subscriber(s).
    GlSub,
    /// Raw ceiling publisher.
    RawPub,
    /// Raw ceiling reader(s).
    RawSub,
    /// tokio-xmpp floor publisher (`floor.rs`).
    FloorPub,
    /// tokio-xmpp floor subscriber(s).
    FloorSub,
}

/// Worker arguments (the slixmpp peer takes the same).
#[derive(Args, Debug, Clone)]
pub struct WorkerArgs {
    /// Which client.
    #[arg(value_enum)]
    pub kind: Kind,
    /// STARTTLS port (gridlink).
    #[arg(long)]
    pub port: u16,
    /// Direct TLS port (raw client).
    #[arg(long)]
    pub tls_port: u16,
    /// The lab CA.
    #[arg(long)]
    pub ca: PathBuf,
    /// Account (publishers) or account prefix (subscribers: PREFIX0, PREFIX1, …);
    /// passwords are `<account>-pw`.
    #[arg(long)]
    pub user: String,
    /// Pubsub node.
    #[arg(long)]
    pub node: String,
    /// Items (JSON lines, see payloads.rs).
    #[arg(long)]
    pub payloads: PathBuf,
    /// Publishes in flight.
    #[arg(long, default_value_t = 32)]
    pub window: usize,
    /// Publishes per second (0: as fast as the window allows).
    #[arg(long, default_value_t = 0.0)]
    pub rate: f64,
    /// Subscriber sessions (one account each).
    #[arg(long, default_value_t = 1)]
    pub sessions: usize,
    /// Give up after this many seconds.
    #[arg(long, default_value_t = 300)]
    pub timeout: u64,
    /// Where to write the result (JSON).
    #[arg(long)]
    pub out: PathBuf,
}

/// What a worker reports.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct WorkerResult {
    /// User + system CPU seconds over the measured phase.
    pub cpu_s: f64,
    /// (item number, seconds since the epoch) per publish or delivery.
    pub times: Vec<(u64, f64)>,
    /// Peak resident set size at the end, KiB (VmHWM).
    #[serde(default)]
    pub max_rss_kb: u64,
}

/// A process's peak resident set size in KiB (`VmHWM` of /proc/PID/status).
pub fn peak_rss_kb(pid: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// Seconds since the epoch: comparable across processes on one machine.
pub fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

/// This process's user + system CPU seconds so far.
pub fn cpu() -> f64 {
    use nix::sys::resource::{getrusage, UsageWho};
    getrusage(UsageWho::RUSAGE_SELF)
        .map(|u| {
            let t = |tv: nix::sys::time::TimeVal| tv.tv_sec() as f64 + tv.tv_usec() as f64 / 1e6;
            t(u.user_time()) + t(u.system_time())
        })
        .unwrap_or(0.0)
}

/// A gridlink configuration for a lab account over STARTTLS.
pub fn gl_config(port: u16, ca: &std::path::Path, user: &str) -> anyhow::Result<Config> {
    let jid = format!("{user}@localhost")
        .parse()
        .map_err(|e| anyhow::anyhow!("jid: {e}"))?;
    let mut c = Config::new(jid, Secret::new(format!("{user}-pw")));
    c.server = Some(("127.0.0.1".into(), port));
    c.ca_file = Some(ca.to_path_buf());
    c.tls_mode = TlsMode::StartTls;
    c.pubsub = Some(
        "pubsub.localhost"
            .parse()
            .map_err(|e| anyhow::anyhow!("jid: {e}"))?,
    );
    c.iq_timeout = Duration::from_secs(120);
    c.state_dir = std::env::temp_dir().join(format!("gridlink-bench-{user}"));
    Ok(c)
}

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

/// Sleeps until item `i`'s slot when a rate is set.
pub async fn pace(start: tokio::time::Instant, rate: f64, i: usize) {
    if rate > 0.0 {
        tokio::time::sleep_until(start + Duration::from_secs_f64(i as f64 / rate)).await;
    }
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
        max_rss_kb: 0,
    })
}

async fn gl_sub(a: &WorkerArgs, count: usize) -> anyhow::Result<WorkerResult> {
    let mut subs = Vec::new();
    for i in 0..a.sessions {
        let user = format!("{}{i}", a.user);
        let grid = Grid::connect(gl_config(a.port, &a.ca, &user)?).await?;
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
    gather(tasks, cpu0).await
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
        max_rss_kb: 0,
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

/// One subscriber session's task: (item number, time received) per item.
pub type SessionTask = tokio::task::JoinHandle<anyhow::Result<Vec<(u64, f64)>>>;

/// A subscriber worker's result: every session task's (item, time) pairs and
/// the CPU spent since `cpu0`, read once all of them have finished.
pub async fn gather(tasks: Vec<SessionTask>, cpu0: f64) -> anyhow::Result<WorkerResult> {
    let mut times = Vec::new();
    for t in tasks {
        times.extend(t.await??);
    }
    Ok(WorkerResult {
        cpu_s: cpu() - cpu0,
        times,
        max_rss_kb: 0,
    })
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
