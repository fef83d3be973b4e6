//! Sections 1–4: publish→notify, fan-out, catch-up, discovery, each against
//! one Prosody (SQL or memory storage), for gridlink, slixmpp, the raw
//! ceiling and (section 1) the tokio-xmpp floor.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use futures::stream::{self, StreamExt, TryStreamExt};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;

use gridlink::grid::{AccessModel, Grid, TopicOptions};
use gridlink::lab::{Prosody, ProsodyOptions, Storage};

use crate::payloads::{self, Item};
use crate::raw::Account;
use crate::report::Report;
use crate::worker::{self, gl_config, WorkerResult};
use crate::Settings;

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
}

/// Paths and processes every run shares.
pub struct Ctx {
    pub exe: PathBuf,
    pub slix: PathBuf,
    pub dir: PathBuf,
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

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn summarise(publ: &WorkerResult, sub: &WorkerResult, expected: usize) -> anyhow::Result<Flow> {
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
    })
}

/// One lab Prosody with the benchmark's accounts and a publisher session.
pub struct Lab {
    pub prosody: Prosody,
    pub owner: Grid,
}

/// Starts Prosody with `publisher` (pubsub admin) and `sub0..subN`.
pub async fn lab(storage: Storage, subscribers: usize, max_items: u32) -> anyhow::Result<Lab> {
    let mut users = vec![("publisher".to_string(), "publisher-pw".to_string())];
    users.extend((0..subscribers).map(|i| (format!("sub{i}"), format!("sub{i}-pw"))));
    // The catch-up subscriber: never online while items are published.
    users.push(("late".to_string(), "late-pw".to_string()));
    let prosody = tokio::task::spawn_blocking(move || {
        Prosody::start(ProsodyOptions {
            users,
            pubsub_admins: vec!["publisher".into()],
            storage,
            max_items,
            // debug logs every stanza: that would be what we measure.
            log_level: "warn",
            // Ctrl-C stops the harness and its Prosody together.
            ..Default::default()
        })
    })
    .await??;
    let owner = Grid::connect(prosody.client_config("publisher", "publisher-pw")).await?;
    Ok(Lab { prosody, owner })
}

impl Lab {
    /// Creates an open IODEF topic (everyone may subscribe).
    pub async fn topic(&self, node: &str) -> anyhow::Result<()> {
        let opts = TopicOptions {
            access_model: AccessModel::Open,
            ..Default::default()
        };
        self.owner
            .create_topic(node, &opts)
            .await
            .with_context(|| format!("create topic {node}"))?;
        Ok(())
    }

    fn account(&self, user: &str) -> Account {
        Account {
            port: self.prosody.direct_tls_port,
            ca: self.prosody.ca.ca_pem.clone(),
            user: user.into(),
            password: format!("{user}-pw"),
        }
    }
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
    Ok(f)
}

fn fmt_flow(f: &Flow) -> String {
    format!("{:.0} items/s", f.rate)
}

/// Sections 1–4 on one storage.
pub async fn run(
    ctx: &Ctx,
    s: &Settings,
    storage: Storage,
    items: &[Item],
    report: &mut Report,
) -> anyhow::Result<()> {
    let st = match storage {
        Storage::Sql => "sql",
        Storage::Memory => "memory",
    };
    let lab = lab(storage, s.fanout_subs.max(1), 100_000).await?;
    let all = ctx.dir.join("items.jsonl");
    let fan = ctx.dir.join("fanout.jsonl");
    payloads::save(items, &all)?;
    payloads::save(&items[..s.fanout_items.min(items.len())], &fan)?;
    let n = items.len();
    let sec1 = format!("1 publish→notify ({st})");

    let rawf = flow(ctx, &lab, Client::Raw, "raw-full", &all, n, 0.0, 1).await?;
    report.add(&sec1, "raw ceiling: throughput", fmt_flow(&rawf));
    report.print_last();
    let flf = flow(ctx, &lab, Client::Floor, "floor-full", &all, n, 0.0, 1).await?;
    let glf = flow(ctx, &lab, Client::Gridlink, "gl-full", &all, n, 0.0, 1).await?;
    let slf = flow(ctx, &lab, Client::Slixmpp, "slix-full", &all, n, 0.0, 1).await?;
    report
        .add(&sec1, "tokio-xmpp floor: throughput", fmt_flow(&flf))
        .ceiling(flf.rate / rawf.rate);
    report.print_last();
    report
        .add(&sec1, "gridlink: throughput", fmt_flow(&glf))
        .ceiling(glf.rate / rawf.rate)
        .peer(glf.rate / slf.rate)
        .target("≥ 0.9× ceiling", glf.rate >= 0.9 * rawf.rate);
    report.print_last();
    report
        .add(&sec1, "slixmpp: throughput", fmt_flow(&slf))
        .ceiling(slf.rate / rawf.rate);
    report.print_last();
    for (who, f) in [
        ("raw ceiling", &rawf),
        ("tokio-xmpp floor", &flf),
        ("gridlink", &glf),
        ("slixmpp", &slf),
    ] {
        report.add(
            &sec1,
            &format!("{who}: latency at full load (window 32)"),
            format!("p50 {:.1} ms, p99 {:.1} ms", f.p50, f.p99),
        );
    }
    let half = rawf.rate / 2.0;
    let rawh = flow(ctx, &lab, Client::Raw, "raw-half", &all, n, half, 1).await?;
    let glh = flow(ctx, &lab, Client::Gridlink, "gl-half", &all, n, half, 1).await?;
    report.add(
        &sec1,
        &format!("raw ceiling: latency at half load ({half:.0}/s)"),
        format!("p50 {:.2} ms, p99 {:.2} ms", rawh.p50, rawh.p99),
    );
    report
        .add(
            &sec1,
            &format!("gridlink: latency at half load ({half:.0}/s)"),
            format!("p50 {:.2} ms, p99 {:.2} ms", glh.p50, glh.p99),
        )
        .ceiling(glh.p99 / rawh.p99)
        .target("p99 ≤ 1.5× ceiling", glh.p99 <= 1.5 * rawh.p99);
    report.print_last();
    let gl_cpu = glf.pub_cpu + glf.sub_cpu;
    let sl_cpu = slf.pub_cpu + slf.sub_cpu;
    report
        .add(
            &sec1,
            "gridlink: client CPU per item",
            format!(
                "{gl_cpu:.0} µs (publisher {:.0} + subscriber {:.0})",
                glf.pub_cpu, glf.sub_cpu
            ),
        )
        .peer(gl_cpu / sl_cpu)
        .target("≤ 0.1× slixmpp", gl_cpu <= 0.1 * sl_cpu);
    report.print_last();
    report.add(
        &sec1,
        "slixmpp: client CPU per item",
        format!(
            "{sl_cpu:.0} µs (publisher {:.0} + subscriber {:.0})",
            slf.pub_cpu, slf.sub_cpu
        ),
    );
    let fl_cpu = flf.pub_cpu + flf.sub_cpu;
    report
        .add(
            &sec1,
            "tokio-xmpp floor: client CPU per item",
            format!(
                "{fl_cpu:.0} µs (publisher {:.0} + subscriber {:.0})",
                flf.pub_cpu, flf.sub_cpu
            ),
        )
        .peer(fl_cpu / sl_cpu);
    report.print_last();
    report.add(
        &sec1,
        "raw ceiling: client CPU per item",
        format!(
            "{:.0} µs (publisher {:.0} + reader {:.0})",
            rawf.pub_cpu + rawf.sub_cpu,
            rawf.pub_cpu,
            rawf.sub_cpu
        ),
    );
    report.add(
        &sec1,
        "Prosody CPU per item (raw / floor / gridlink / slixmpp runs)",
        format!(
            "{:.0} / {:.0} / {:.0} / {:.0} µs",
            rawf.broker_cpu, flf.broker_cpu, glf.broker_cpu, slf.broker_cpu
        ),
    );

    if s.fanout_subs > 0 {
        let sec2 = format!("2 fan-out 1→{} ({st})", s.fanout_subs);
        let fi = s.fanout_items.min(n);
        let rf = flow(
            ctx,
            &lab,
            Client::Raw,
            "fan-raw",
            &fan,
            fi,
            0.0,
            s.fanout_subs,
        )
        .await?;
        let gf = flow(
            ctx,
            &lab,
            Client::Gridlink,
            "fan-gl",
            &fan,
            fi,
            0.0,
            s.fanout_subs,
        )
        .await?;
        report.add(
            &sec2,
            &format!("raw ceiling: notifications/s ({fi} items)"),
            format!(
                "{:.0}/s, p50 {:.0} ms, p99 {:.0} ms",
                rf.rate, rf.p50, rf.p99
            ),
        );
        report
            .add(
                &sec2,
                &format!("gridlink: notifications/s ({fi} items)"),
                format!(
                    "{:.0}/s, p50 {:.0} ms, p99 {:.0} ms",
                    gf.rate, gf.p50, gf.p99
                ),
            )
            .ceiling(gf.rate / rf.rate);
        report.print_last();
    }

    // 3. Catch-up: gl-full holds every item, published while `late` was
    // offline.
    let sec3 = format!("3 catch-up of {n} ({st})");
    let acc = lab.account("late");
    let t0 = Instant::now();
    let rn = worker::raw_catch_up(&acc, "gl-full").await?;
    let raw_s = t0.elapsed().as_secs_f64();
    let cfg = gl_config(lab.prosody.c2s_port, &lab.prosody.ca.ca_pem, "late")?;
    let (one_s, on) = worker::gl_catch_up(cfg.clone(), "gl-full", n, false).await?;
    let (gl_s, gn) = worker::gl_catch_up(cfg, "gl-full", n, true).await?;
    if rn != n || gn != n || on != n {
        bail!("catch-up got {gn} (gridlink) / {on} (one request) / {rn} (raw) items, expected {n}");
    }
    report.add(
        &sec3,
        "raw ceiling: one items request",
        format!("{raw_s:.2} s"),
    );
    report
        .add(
            &sec3,
            "gridlink, one items request (memory grows with the topic)",
            format!("{one_s:.2} s"),
        )
        .ceiling(one_s / raw_s);
    report.print_last();
    report
        .add(
            &sec3,
            &format!(
                "gridlink follower, new cursor: connect, subscribe, fetch {} per request, check all",
                gridlink::durable::CATCH_UP_PAGE
            ),
            format!("{gl_s:.2} s"),
        )
        .ceiling(gl_s / raw_s)
        .target("≤ 2 s", gl_s <= 2.0);
    report.print_last();

    // 4. Discovery.
    let sec4 = format!("4 discovery of {} topics ({st})", s.topics);
    let owner = &lab.owner;
    let opts = TopicOptions {
        access_model: AccessModel::Open,
        ..Default::default()
    };
    let names: Vec<String> = (0..s.topics).map(|i| format!("d{i:05}")).collect();
    stream::iter(names.iter())
        .map(|t| owner.create_topic(t, &opts))
        .buffer_unordered(16)
        .try_collect::<Vec<_>>()
        .await?;
    let (raw_s, raw_n) = worker::raw_discover(&acc, 16).await?;
    let grid = Grid::connect(gl_config(
        lab.prosody.c2s_port,
        &lab.prosody.ca.ca_pem,
        "sub0",
    )?)
    .await?;
    let t0 = Instant::now();
    let found = grid.discover(false).await?;
    let gl_s = t0.elapsed().as_secs_f64();
    grid.close().await;
    if found.len() < s.topics || raw_n < s.topics {
        bail!(
            "discovery found {} (gridlink) / {raw_n} (raw) topics, expected ≥ {}",
            found.len(),
            s.topics
        );
    }
    report.add(
        &sec4,
        "raw ceiling: disco#items + disco#info each (16 in flight)",
        format!("{raw_s:.2} s ({raw_n} nodes)"),
    );
    report
        .add(
            &sec4,
            "gridlink: discover()",
            format!("{gl_s:.2} s ({} IODEF topics)", found.len()),
        )
        .ceiling(gl_s / raw_s);
    report.print_last();
    lab.owner.close().await;
    Ok(())
}
