//! Section 8: publish→notify on a 2-node ejabberd 23.01 cluster against one
//! ejabberd node (issue 25, part 5), with gridlink's clients only (the
//! comparison is between brokers, not clients).
//!
//! Three setups, each at two sizes (a quarter of the items, then all of
//! them: how the figure grows with the work): a lone node (mnesia), the
//! cluster with publisher and subscriber on node 1 (every write is also
//! replicated to node 2), and the cluster with the publisher on node 2 and
//! the subscriber on node 1 (the notification also crosses nodes). The lone
//! node is stopped before the cluster starts: the machine has two cores.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use anyhow::{bail, Context};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;

use gridlink::grid::{AccessModel, Grid, TopicOptions};
use gridlink::lab::{Ejabberd, EjabberdCluster, EjabberdOptions};

use crate::flow::{proc_cpu, summarise, Flow};
use crate::lab::Ctx;
use crate::measure::{gl_config, WorkerResult};
use crate::payloads::{self, Item};
use crate::report::Report;
use crate::settings::Settings;
use crate::worker;

/// The section's name in the table.
pub const SECTION: &str = "8 publish→notify, ejabberd cluster";

/// Where one run's clients connect.
struct Target<'a> {
    pub_port: u16,
    sub_port: u16,
    ca: &'a Path,
    /// The broker processes whose CPU is counted.
    pids: Vec<u32>,
    /// The topic owner's session.
    owner: &'a Grid,
}

fn options() -> EjabberdOptions {
    EjabberdOptions {
        users: vec![
            ("publisher".into(), "publisher-pw".into()),
            ("sub0".into(), "sub0-pw".into()),
        ],
        // `info` logs every login; nothing per stanza, but keep it quiet.
        log_level: "warning",
        ..Default::default()
    }
}

/// Section 8 on `items`.
pub async fn run(
    ctx: &Ctx,
    s: &Settings,
    items: &[Item],
    report: &mut Report,
) -> anyhow::Result<()> {
    let n = s.items.min(items.len());
    let sizes = [(n / 4).max(10).min(n), n];

    report.notes.push(format!(
        "Section 8: ejabberd {} (mnesia) on 127.0.0.1, gridlink clients only (window 32, one subscriber \
         session); the cluster is `gridlink::lab::EjabberdCluster` (2 nodes, replicated mnesia). × peer = \
         the cluster's throughput ÷ one node's at the same size. Broker CPU = all nodes' user+system time \
         per item. Both nodes share the machine's cores with the clients: the cluster adds no capacity \
         here, only the cost of replication and routing between nodes.",
        ejabberd_version()
    ));
    let single = tokio::task::spawn_blocking(|| Ejabberd::start(options())).await??;
    let owner = Grid::connect(gl_config(single.c2s_port, &single.ca.ca_pem, "publisher")?).await?;
    let mut alone = Vec::new();
    for size in sizes {
        let t = Target {
            pub_port: single.c2s_port,
            sub_port: single.c2s_port,
            ca: &single.ca.ca_pem,
            pids: single.pid().into_iter().collect(),
            owner: &owner,
        };
        let f = flow(ctx, &t, &format!("one-{size}"), &items[..size]).await?;
        add(report, &format!("one ejabberd node ({size} items)"), &f);
        alone.push(f);
    }
    owner.close().await;
    drop(single);

    let cluster = tokio::task::spawn_blocking(|| EjabberdCluster::start(options(), 2)).await??;
    let (n1, n2) = (cluster.node(0), cluster.node(1));
    let owner = Grid::connect(gl_config(n2.c2s_port, &cluster.ca.ca_pem, "publisher")?).await?;
    let pids: Vec<u32> = cluster.nodes().iter().filter_map(Ejabberd::pid).collect();
    for (i, size) in sizes.into_iter().enumerate() {
        for (label, pub_port) in [
            ("both on node 1", n1.c2s_port),
            ("publisher on node 2, subscriber on node 1", n2.c2s_port),
        ] {
            let t = Target {
                pub_port,
                sub_port: n1.c2s_port,
                ca: &cluster.ca.ca_pem,
                pids: pids.clone(),
                owner: &owner,
            };
            let node = format!(
                "cl-{}-{size}",
                if pub_port == n1.c2s_port {
                    "same"
                } else {
                    "cross"
                }
            );
            let f = flow(ctx, &t, &node, &items[..size]).await?;
            let row = report
                .add(
                    SECTION,
                    &format!("2-node cluster, {label} ({size} items)"),
                    fmt(&f),
                )
                .peer(f.rate / alone[i].rate);
            if pub_port == n2.c2s_port && size == n {
                row.headline(
                    "publish→notify throughput, ejabberd 2-node cluster, across nodes".into(),
                    format!("{:.0} items/s", f.rate),
                    format!("one ejabberd node {:.0} items/s", alone[i].rate),
                    Some(f.rate / alone[i].rate),
                );
                report.print_last();
                // On a shared machine the rate swings with the load; the
                // brokers' CPU per item is the steadier cost of a cluster.
                report
                    .add(
                        SECTION,
                        &format!("2-node cluster ÷ one node, broker CPU per item ({size} items)"),
                        format!("{:.0} µs ÷ {:.0} µs", f.broker_cpu, alone[i].broker_cpu),
                    )
                    .headline(
                        "broker CPU per item, ejabberd 2-node cluster, across nodes".into(),
                        format!("{:.0} µs", f.broker_cpu),
                        format!("one ejabberd node {:.0} µs", alone[i].broker_cpu),
                        Some(f.broker_cpu / alone[i].broker_cpu),
                    );
            }
            report.print_last();
        }
    }
    owner.close().await;
    Ok(())
}

/// Debian's ejabberd package version.
fn ejabberd_version() -> String {
    std::process::Command::new("dpkg-query")
        .args(["-W", "-f=${Version}", "ejabberd"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default()
}

fn fmt(f: &Flow) -> String {
    format!(
        "{:.0} items/s, p50 {:.0} ms, p99 {:.0} ms, broker CPU {:.0} µs/item",
        f.rate, f.p50, f.p99, f.broker_cpu
    )
}

fn add(report: &mut Report, what: &str, f: &Flow) {
    report.add(SECTION, what, fmt(f));
    report.print_last();
}

/// A gridlink worker (`gl-pub` or `gl-sub`) towards `port`.
fn worker(ctx: &Ctx, t: &Target, publisher: bool, node: &str, file: &Path, out: &Path) -> Command {
    let mut c = Command::new(&ctx.exe);
    let port = if publisher { t.pub_port } else { t.sub_port };
    c.args(worker::worker_args(if publisher {
        "gl-pub"
    } else {
        "gl-sub"
    }))
    .arg("--port")
    .arg(port.to_string())
    .arg("--tls-port")
    .arg(port.to_string())
    .arg("--ca")
    .arg(t.ca)
    .arg("--user")
    .arg(if publisher { "publisher" } else { "sub" })
    .arg("--node")
    .arg(node)
    .arg("--payloads")
    .arg(file)
    .arg("--out")
    .arg(out)
    .kill_on_drop(true);
    c
}

/// One publish→notify run on a fresh topic `node`: the subscriber worker
/// started and ready, the publisher run, the two matched item by item (as
/// `flow.rs` does for Prosody).
async fn flow(ctx: &Ctx, t: &Target<'_>, node: &str, items: &[Item]) -> anyhow::Result<Flow> {
    let opts = TopicOptions {
        access_model: AccessModel::Open,
        ..Default::default()
    };
    t.owner
        .create_topic(node, &opts)
        .await
        .with_context(|| format!("create topic {node}"))?;
    let sub_out = ctx.dir.join(format!("{node}-sub.json"));
    let pub_out = ctx.dir.join(format!("{node}-pub.json"));
    // The workers publish, and expect, every item of the file.
    let part = ctx.dir.join(format!("{node}-items.jsonl"));
    payloads::save(items, &part)?;
    let count = items.len();
    let mut sub = worker(ctx, t, false, node, &part, &sub_out)
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
            "subscriber did not get ready: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let cpu = || t.pids.iter().map(|p| proc_cpu(*p)).sum::<f64>();
    let broker0 = cpu();
    let publ = worker(ctx, t, true, node, &part, &pub_out)
        .output()
        .await
        .context("run publisher")?;
    worker::check_exit("publisher", publ)?;
    let sub_done = tokio::time::timeout(Duration::from_secs(300), sub.wait_with_output())
        .await
        .context("subscriber did not finish")??;
    let broker = cpu() - broker0;
    worker::check_exit("subscriber", sub_done)?;
    let read = |p: &Path| -> anyhow::Result<WorkerResult> {
        Ok(serde_json::from_slice(&std::fs::read(p)?)?)
    };
    let mut f = summarise(&read(&pub_out)?, &read(&sub_out)?, count)?;
    f.broker_cpu = broker * 1e6 / count as f64;
    Ok(f)
}
