//! Sections 5 and 7: the ROLIE bridge (`gridlink bridge`, the real binary)
//! against nginx serving the same feed bytes, measured with wrk; and peak
//! memory of a subscriber and of the bridge with many topics and items.

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use tokio::process::{Child, Command};

use gridlink::lab::{free_port, Storage};

use crate::http::{alternating, get, header, nginx, require};
use crate::lab::{lab, Ctx, Lab};
use crate::measure::{peak_rss_kb, WorkerResult};
use crate::payloads::{self, Item};
use crate::report::{thousands, Report};
use crate::settings::Settings;
use crate::worker;

/// A running `gridlink bridge`.
struct BridgeProc {
    child: Child,
    port: u16,
}

async fn start_bridge(
    ctx: &Ctx,
    lab: &Lab,
    gridlink: &Path,
    topics: &[String],
    name: &str,
) -> anyhow::Result<BridgeProc> {
    let port = free_port()?;
    let dir = ctx.dir.join(name);
    std::fs::create_dir_all(&dir)?;
    let cfg = dir.join("gridlink.toml");
    // A 100-entry feed page: the page size section 5 asks for.
    std::fs::write(&cfg, "[bridge]\npage_size = 100\n")?;
    let mut c = Command::new(gridlink);
    c.env("GRIDLINK_PASSWORD", "sub0-pw")
        .arg("--jid")
        .arg("sub0@localhost")
        .arg("--server")
        .arg(format!("127.0.0.1:{}", lab.prosody.c2s_port))
        .arg("--ca-file")
        .arg(&lab.prosody.ca.ca_pem)
        .arg("--pubsub")
        .arg("pubsub.localhost")
        .arg("--state-dir")
        .arg(&dir)
        .arg("--config")
        .arg(&cfg)
        .arg("-q")
        .arg("bridge")
        .arg("--listen")
        .arg(format!("127.0.0.1:{port}"))
        .arg("--store")
        .arg(dir.join("bridge.sqlite"));
    for t in topics {
        c.arg("--topic").arg(t);
    }
    let child = c
        .stdout(Stdio::null())
        .stderr(Stdio::from(std::fs::File::create(dir.join("stderr.log"))?))
        .kill_on_drop(true)
        .spawn()
        .with_context(|| format!("start {}", gridlink.display()))?;
    Ok(BridgeProc { child, port })
}

impl BridgeProc {
    /// Waits until the bridge has taken in `expected` items (its /metrics).
    async fn wait_items(&mut self, expected: u64, limit: Duration) -> anyhow::Result<()> {
        let t0 = Instant::now();
        loop {
            if let Ok(Some(st)) = self.child.try_wait() {
                bail!("the bridge exited ({st})");
            }
            if let Ok((200, _, body)) = get(self.port, "/metrics", "").await {
                let text = String::from_utf8_lossy(&body);
                let n: u64 = text
                    .lines()
                    .filter(|l| l.starts_with("gridlink_items_in_total{"))
                    .filter_map(|l| l.rsplit(' ').next()?.parse::<u64>().ok())
                    .sum();
                if n >= expected {
                    return Ok(());
                }
            }
            if t0.elapsed() > limit {
                bail!("the bridge did not take in {expected} items within {limit:?}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    fn pid(&self) -> String {
        self.child.id().map(|p| p.to_string()).unwrap_or_default()
    }
}

/// A worker process of kind `kind` connected to `lab`'s Prosody (the
/// caller adds account, node and the rest).
fn worker_command(ctx: &Ctx, lab: &Lab, kind: &str) -> Command {
    let mut c = Command::new(&ctx.exe);
    c.args(worker::worker_args(kind))
        .arg("--port")
        .arg(lab.prosody.c2s_port.to_string())
        .arg("--tls-port")
        .arg(lab.prosody.direct_tls_port.to_string())
        .arg("--ca")
        .arg(&lab.prosody.ca.ca_pem);
    c
}

/// Publishes `items` to each (existing) node with the raw publisher (fast,
/// and the same bytes every client sends).
async fn fill(ctx: &Ctx, lab: &Lab, nodes: &[String], items: &Path) -> anyhow::Result<()> {
    for node in nodes {
        let out = worker_command(ctx, lab, "raw-pub")
            .args(["--user", "publisher", "--node", node])
            .arg("--payloads")
            .arg(items)
            .arg("--out")
            .arg(ctx.dir.join("fill.json"))
            .output()
            .await?;
        worker::check_exit(&format!("filling {node}"), out)?;
    }
    Ok(())
}

/// Section 5 (ROLIE).
pub async fn run(
    ctx: &Ctx,
    s: &Settings,
    gridlink: &Path,
    items: &[Item],
    report: &mut Report,
) -> anyhow::Result<()> {
    // Checked first: a missing tool fails before minutes of work.
    require("wrk", "wrk")?;
    require("nginx", "nginx-light")?;
    let lab = lab(Storage::Sql, 2, 100_000).await?;

    // 5. ROLIE: one topic with 100 entries, a 100-entry page.
    let sec5 = "5 ROLIE feed page, 100 entries";
    let page = &items[..100.min(items.len())];
    let page_file = ctx.dir.join("page.jsonl");
    payloads::save(page, &page_file)?;
    lab.topic("rolie").await?;
    fill(ctx, &lab, &["rolie".to_string()], &page_file).await?;
    let mut bridge = start_bridge(ctx, &lab, gridlink, &["rolie".into()], "bridge-rolie").await?;
    bridge
        .wait_items(page.len() as u64, Duration::from_secs(120))
        .await?;
    let feed_path = "/rolie/feeds/rolie";
    let (status, head, body) = get(bridge.port, feed_path, "").await?;
    if status != 200 {
        bail!("GET {feed_path}: {status}");
    }
    let entries = memchr::memmem::find_iter(&body, b"<entry").count();
    if entries != page.len() {
        bail!(
            "the feed page has {entries} entries, expected {}",
            page.len()
        );
    }
    let etag = header(&head, "etag")
        .context("the bridge sent no ETag")?
        .to_string();
    let www = ctx.dir.join("www");
    std::fs::create_dir_all(&www)?;
    std::fs::write(www.join("feed.xml"), &body)?;
    let (_nginx, nport) = nginx(&ctx.dir, &www).await?;
    let (nstatus, nhead, nbody) = get(nport, "/feed.xml", "").await?;
    if nstatus != 200 || nbody != body {
        bail!("nginx does not serve the same bytes ({nstatus})");
    }
    let netag = header(&nhead, "etag")
        .context("nginx sent no ETag")?
        .to_string();
    let (s304, _, _) = get(
        bridge.port,
        feed_path,
        &format!("If-None-Match: {etag}\r\n"),
    )
    .await?;
    let (n304, _, _) = get(nport, "/feed.xml", &format!("If-None-Match: {netag}\r\n")).await?;
    if s304 != 304 || n304 != 304 {
        bail!("conditional GET: bridge {s304}, nginx {n304} (expected 304 from both)");
    }
    let secs = (s.wrk_secs, s.wrk_rounds);
    let bridge_url = format!("http://127.0.0.1:{}{feed_path}", bridge.port);
    let nginx_url = format!("http://127.0.0.1:{nport}/feed.xml");
    let (b200, n200) = alternating(&bridge_url, &nginx_url, None, None, secs).await?;
    let (b304, n304) = alternating(
        &bridge_url,
        &nginx_url,
        Some(&format!("If-None-Match: {etag}")),
        Some(&format!("If-None-Match: {netag}")),
        secs,
    )
    .await?;
    let kb = body.len() as f64 / 1024.0;
    report.add(
        sec5,
        &format!("nginx: static file ({kb:.0} KiB), 200"),
        format!("{n200:.0} req/s"),
    );
    report
        .add(
            sec5,
            "gridlink bridge: feed page, 200",
            format!("{b200:.0} req/s"),
        )
        .peer(b200 / n200)
        .target("≥ 0.5× nginx", b200 >= 0.5 * n200)
        .headline(
            "ROLIE feed page of 100 entries, 200".into(),
            format!("{b200:.0} req/s"),
            format!("nginx {n200:.0} req/s"),
            Some(b200 / n200),
        );
    report.print_last();
    report.add(
        sec5,
        "nginx: If-None-Match, 304",
        format!("{n304:.0} req/s"),
    );
    report
        .add(
            sec5,
            "gridlink bridge: If-None-Match, 304",
            format!("{b304:.0} req/s"),
        )
        .peer(b304 / n304)
        .target("≥ 1× nginx", b304 >= n304)
        .headline(
            "ROLIE feed page of 100 entries, 304 (If-None-Match)".into(),
            format!("{b304:.0} req/s"),
            format!("nginx {n304:.0} req/s"),
            Some(b304 / n304),
        );
    report.print_last();
    let _ = bridge.child.kill().await;
    lab.owner.close().await;
    Ok(())
}

/// Section 7 (memory): a subscriber following every topic live while the
/// broker fills, then a fresh bridge catching every topic up.
pub async fn memory(
    ctx: &Ctx,
    s: &Settings,
    storage: Storage,
    gridlink: &Path,
    items: &[Item],
    report: &mut Report,
) -> anyhow::Result<()> {
    let lab = lab(storage, 2, 100_000).await?;
    // 7. Memory: TOPICS topics × PER items on the broker.
    let sec7 = format!(
        "7 memory, {} topics × {} items ({storage:?})",
        s.mem_topics, s.mem_per_topic
    );
    let per = &items[..s.mem_per_topic.min(items.len())];
    let per_file = ctx.dir.join("mem.jsonl");
    payloads::save(per, &per_file)?;
    let nodes: Vec<String> = (0..s.mem_topics).map(|i| format!("m{i:03}")).collect();
    for n in &nodes {
        lab.topic(n).await?;
    }
    // The subscriber (the library as `gridlink subscribe` uses it) follows
    // every topic live while the broker fills.
    let sub_out = ctx.dir.join("mem-sub.json");
    let mut sub = worker_command(ctx, &lab, "gl-sub")
        .args(["--user", "sub", "--sessions", "1"])
        .arg("--node")
        .arg(nodes.join(","))
        .arg("--payloads")
        .arg(&per_file)
        .arg("--out")
        .arg(&sub_out)
        .arg("--timeout")
        .arg("1800")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()?;
    {
        use tokio::io::AsyncBufReadExt;
        let out = sub.stdout.take().context("subscriber stdout")?;
        let mut lines = tokio::io::BufReader::new(out).lines();
        while let Some(l) = lines.next_line().await? {
            if l.trim() == "READY" {
                break;
            }
        }
    }
    let t0 = Instant::now();
    fill(ctx, &lab, &nodes, &per_file).await?;
    let fill_s = t0.elapsed().as_secs_f64();
    let out = tokio::time::timeout(Duration::from_secs(1800), sub.wait_with_output())
        .await
        .context("the memory-section subscriber did not finish")??;
    worker::check_exit("memory-section subscriber", out)?;
    let subr: WorkerResult = serde_json::from_slice(&std::fs::read(&sub_out)?)?;
    let total = (s.mem_topics * per.len()) as u64;
    // A fresh bridge catches up every topic from the broker into its store.
    let t0 = Instant::now();
    let mut bridge = start_bridge(ctx, &lab, gridlink, &nodes, "bridge-mem").await?;
    bridge.wait_items(total, Duration::from_secs(1800)).await?;
    let catch_s = t0.elapsed().as_secs_f64();
    // Serve a little (first pages of every topic) before reading the peak.
    for n in &nodes {
        let _ = get(bridge.port, &format!("/rolie/feeds/{n}"), "").await?;
    }
    let bridge_kb = peak_rss_kb(&bridge.pid());
    let _ = bridge.child.kill().await;
    let mb = |kb: u64| kb as f64 / 1024.0;
    let counts = format!(
        "{} items ({} topics × {})",
        thousands(total as usize),
        thousands(s.mem_topics),
        thousands(per.len())
    );
    report
        .add(
            &sec7,
            &format!(
                "subscriber: peak RSS following {total} live items (published in {fill_s:.0} s)"
            ),
            format!("{:.1} MiB", mb(subr.max_rss_kb)),
        )
        .target("≤ 50 MB", mb(subr.max_rss_kb) * 1.048_576 <= 50.0)
        .headline(
            format!("peak RSS, subscriber following {counts} live"),
            format!("{:.1} MiB", mb(subr.max_rss_kb)),
            "—".into(),
            None,
        );
    report.print_last();
    report
        .add(
            &sec7,
            &format!(
                "bridge: peak RSS, catch-up of {total} into its store ({catch_s:.0} s) and serving"
            ),
            format!("{:.1} MiB", mb(bridge_kb)),
        )
        .target("≤ 50 MB", mb(bridge_kb) * 1.048_576 <= 50.0)
        .headline(
            format!("peak RSS, bridge catching up {counts} and serving"),
            format!("{:.1} MiB", mb(bridge_kb)),
            "—".into(),
            None,
        );
    report.print_last();
    lab.owner.close().await;
    Ok(())
}
