//! One publish→notify run of one client (sections 1 and 2): its subscriber
//! worker started and ready, its publisher run, both results matched item by
//! item into throughput, latency and CPU per item, with Prosody's own CPU.

use std::collections::HashMap;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use anyhow::{bail, Context};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;

use crate::lab::{Ctx, Lab};
use crate::measure::{percentile, WorkerResult};
use crate::worker;

/// Which client implementation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Client {
    Gridlink,
    Slixmpp,
    Raw,
    /// tokio-xmpp driven directly (`floor.rs`).
    Floor,
}

/// One publish→notify run, summarised.
#[derive(Debug, Clone, Default)]
pub struct Flow {
    /// Notifications per second (all subscribers together).
    pub rate: f64,
    /// Latency percentiles, milliseconds.
    pub p50: f64,
    pub p99: f64,
    /// Client CPU, microseconds per item.
    pub pub_cpu: f64,
    pub sub_cpu: f64,
    /// Prosody's CPU, microseconds per notification.
    pub broker_cpu: f64,
    /// `--hops` (gridlink only): each stretch of the receive path as
    /// (name, p50 ms, p99 ms).
    pub hops: Vec<(String, f64, f64)>,
}

/// Prosody's user+system CPU seconds (from /proc; 100 ticks per second).
pub fn proc_cpu(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let after = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let f: Vec<&str> = after.split_whitespace().collect();
    // After the command: state is field 3, utime 14 and stime 15 (1-based).
    let get = |i: usize| {
        f.get(i - 3)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (get(14) + get(15)) / 100.0
}

pub fn summarise(publ: &WorkerResult, sub: &WorkerResult, expected: usize) -> anyhow::Result<Flow> {
    let sent: HashMap<u64, f64> = publ.times.iter().copied().collect();
    let mut lat: Vec<f64> = sub
        .times
        .iter()
        .filter_map(|(n, t)| sent.get(n).map(|s| (t - s) * 1000.0))
        .collect();
    if lat.len() < expected {
        bail!(
            "{} of {expected} notifications matched a publish",
            lat.len()
        );
    }
    lat.sort_by(f64::total_cmp);
    let first = publ.times.iter().map(|t| t.1).fold(f64::INFINITY, f64::min);
    let last = sub.times.iter().map(|t| t.1).fold(0.0, f64::max);
    Ok(Flow {
        rate: sub.times.len() as f64 / (last - first).max(1e-9),
        p50: percentile(&lat, 0.5),
        p99: percentile(&lat, 0.99),
        pub_cpu: publ.cpu_s * 1e6 / publ.times.len().max(1) as f64,
        sub_cpu: sub.cpu_s * 1e6 / sub.times.len().max(1) as f64,
        broker_cpu: 0.0,
        hops: crate::hops::summary(&publ.times, &sub.times, &sub.hops),
    })
}

fn command(ctx: &Ctx, lab: &Lab, client: Client, publisher: bool) -> Command {
    let mut c = match client {
        Client::Slixmpp => {
            let mut c = Command::new("python3");
            c.arg(&ctx.slix).arg(if publisher { "pub" } else { "sub" });
            c
        }
        Client::Gridlink | Client::Raw | Client::Floor => {
            let kind = match (client, publisher) {
                (Client::Gridlink, true) => "gl-pub",
                (Client::Gridlink, false) => "gl-sub",
                (Client::Floor, true) => "floor-pub",
                (Client::Floor, false) => "floor-sub",
                (_, true) => "raw-pub",
                (_, false) => "raw-sub",
            };
            // GRIDLINK_BENCH_PERF=DIR runs each worker under `perf record --call-graph dwarf`
            // (one DIR/KIND-PID.data per worker): how the CPU-per-item figures
            // were profiled. Off by default.
            let mut c = match std::env::var_os("GRIDLINK_BENCH_PERF") {
                Some(dir) => {
                    let mut c = Command::new("perf");
                    static RUNS: std::sync::atomic::AtomicU32 =
                        std::sync::atomic::AtomicU32::new(0);
                    let run = RUNS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let out = std::path::Path::new(&dir).join(format!("{kind}-{run}.data"));
                    c.args(["record", "--call-graph", "dwarf", "-F", "999", "-o"])
                        .arg(out)
                        .arg("--")
                        .arg(&ctx.exe);
                    c
                }
                None => Command::new(&ctx.exe),
            };
            c.args(worker::worker_args(kind));
            if kind == "gl-sub" && crate::hops::ASKED.load(std::sync::atomic::Ordering::Relaxed) {
                c.env(crate::hops::ENV, "1");
            }
            c
        }
    };
    c.arg("--port")
        .arg(lab.prosody.c2s_port.to_string())
        .arg("--tls-port")
        .arg(lab.prosody.direct_tls_port.to_string())
        .arg("--ca")
        .arg(&lab.prosody.ca.ca_pem)
        .arg("--user")
        .arg(if publisher { "publisher" } else { "sub" })
        .kill_on_drop(true);
    c
}

/// Runs `client` publisher and subscriber(s) on a fresh topic `node`.
#[allow(clippy::too_many_arguments)]
pub async fn flow(
    ctx: &Ctx,
    lab: &Lab,
    client: Client,
    node: &str,
    items_file: &Path,
    count: usize,
    rate: f64,
    sessions: usize,
) -> anyhow::Result<Flow> {
    lab.topic(node).await?;
    let sub_out = ctx.dir.join(format!("{node}-sub.json"));
    let pub_out = ctx.dir.join(format!("{node}-pub.json"));
    let common = |c: &mut Command, out: &Path| {
        c.arg("--node")
            .arg(node)
            .arg("--payloads")
            .arg(items_file)
            .arg("--out")
            .arg(out)
            .arg("--sessions")
            .arg(sessions.to_string())
            .arg("--rate")
            .arg(format!("{rate:.3}"));
    };
    let mut sc = command(ctx, lab, client, false);
    common(&mut sc, &sub_out);
    let mut sub = sc
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .context("start subscriber")?;
    let stdout = sub.stdout.take().context("subscriber stdout")?;
    let mut lines = BufReader::new(stdout).lines();
    let ready = tokio::time::timeout(Duration::from_secs(180), async {
        while let Some(l) = lines.next_line().await? {
            if l.trim() == "READY" {
                return anyhow::Ok(true);
            }
        }
        anyhow::Ok(false)
    })
    .await;
    if !matches!(ready, Ok(Ok(true))) {
        let out = sub.wait_with_output().await?;
        bail!(
            "{client:?} subscriber did not get ready: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let pid = lab.prosody.pid().unwrap_or(0);
    let broker0 = proc_cpu(pid);
    let mut pc = command(ctx, lab, client, true);
    common(&mut pc, &pub_out);
    let publ = pc.output().await.context("run publisher")?;
    worker::check_exit(&format!("{client:?} publisher"), publ)?;
    let sub_done = tokio::time::timeout(Duration::from_secs(300), sub.wait_with_output())
        .await
        .with_context(|| format!("{client:?} subscriber did not finish"))??;
    let broker = proc_cpu(pid) - broker0;
    worker::check_exit(&format!("{client:?} subscriber"), sub_done)?;
    let read = |p: &Path| -> anyhow::Result<WorkerResult> {
        Ok(serde_json::from_slice(&std::fs::read(p)?)?)
    };
    let mut f = summarise(&read(&pub_out)?, &read(&sub_out)?, count * sessions)?;
    f.broker_cpu = broker * 1e6 / (count * sessions) as f64;
    // Every run starts on the same broker heap: with memory storage Prosody
    // keeps every item of every topic, and its garbage collector's work
    // grows with them, so runs that came later paid for earlier runs' items
    // (Prosody's CPU per item rose 1944 → 2755 → 3136 → 3393 µs in run
    // order, raw → floor → gridlink → slixmpp).
    lab.drop_topic(node).await?;
    Ok(f)
}

/// Raw ceiling and gridlink runs at full load, alternated `rounds` times
/// (section 1's throughput and broker-CPU ratios).
///
/// On a shared 2-core machine the speed moves between minutes (the raw
/// ceiling alone ranged 330–478 items/s in one evening), and a slow minute
/// slows every client alike. One raw run then one gridlink run put a slow
/// minute on one side only; alternated pairs put it inside a pair, and the
/// median of the pairs' ratios counts (as `http::alternating` does for wrk).
pub struct Paired {
    pub raw: Vec<Flow>,
    pub gridlink: Vec<Flow>,
}

impl Paired {
    pub async fn run(
        ctx: &Ctx,
        lab: &Lab,
        items_file: &Path,
        count: usize,
        rounds: usize,
    ) -> anyhow::Result<Paired> {
        let mut p = Paired {
            raw: Vec::new(),
            gridlink: Vec::new(),
        };
        for r in 0..rounds.max(1) {
            let (raw, gl) = (format!("raw-full-{r}"), format!("gl-full-{r}"));
            p.raw
                .push(flow(ctx, lab, Client::Raw, &raw, items_file, count, 0.0, 1).await?);
            p.gridlink
                .push(flow(ctx, lab, Client::Gridlink, &gl, items_file, count, 0.0, 1).await?);
        }
        Ok(p)
    }

    /// Each pair's gridlink ÷ raw throughput, in run order.
    pub fn rate_ratios(&self) -> Vec<f64> {
        self.ratios(|g, r| g.rate / r.rate)
    }

    /// Each pair's gridlink ÷ raw broker CPU per item, in run order.
    pub fn broker_ratios(&self) -> Vec<f64> {
        self.ratios(|g, r| g.broker_cpu / r.broker_cpu)
    }

    fn ratios(&self, f: impl Fn(&Flow, &Flow) -> f64) -> Vec<f64> {
        self.gridlink
            .iter()
            .zip(&self.raw)
            .map(|(g, r)| f(g, r))
            .collect()
    }

    /// The pair whose throughput ratio is the median: its runs stand for
    /// the section's other full-load rows (latency, client CPU, half rate).
    pub fn median_pair(&self) -> (&Flow, &Flow) {
        let ratios = self.rate_ratios();
        let mut order: Vec<usize> = (0..ratios.len()).collect();
        order.sort_by(|&a, &b| ratios[a].total_cmp(&ratios[b]));
        let i = order[order.len() / 2];
        (&self.raw[i], &self.gridlink[i])
    }
}

/// Ratios as "1.10 / 0.85 / 1.11×".
pub fn fmt_ratios(v: &[f64]) -> String {
    let parts: Vec<String> = v.iter().map(|r| format!("{r:.2}")).collect();
    format!("{}×", parts.join(" / "))
}
