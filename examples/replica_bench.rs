//! Replicas on one PostgreSQL, measured (issue 25, BENCHMARKS.md):
//! ROLIE feed requests/s served by 1, 2 and 4 replicas (ROLIE servers, each
//! with its own `Store` handle and page cache, on one lab PostgreSQL), and
//! ingest items/s into PostgreSQL against the embedded SQLite store.
//!
//! `cargo run --release --example replica_bench [ITEMS] [SECS]` (needs
//! PostgreSQL 15 and wrk from `scripts/deps`). Every replica runs in this
//! process on this machine: on one machine more replicas share the same
//! cores, so the figure to read is requests/s per core, not a scale-out.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use gridlink::envelope::Envelope;
use gridlink::lab::Postgres;
use gridlink::rolie::{
    BoxFuture, Hooks, PublishBody, PublishError, Published, Publisher, RolieConfig, RolieServer,
};
use gridlink::store::Store;

/// A publisher that refuses: the benchmark only reads.
struct ReadOnly;

impl Publisher for ReadOnly {
    fn publish<'a>(
        &'a self,
        _topic: &'a str,
        _body: PublishBody,
    ) -> BoxFuture<'a, Result<Published, PublishError>> {
        Box::pin(async { Err(PublishError::Unavailable("read-only benchmark".into())) })
    }

    fn retract<'a>(
        &'a self,
        _topic: &'a str,
        _item_id: &'a str,
    ) -> BoxFuture<'a, Result<(), PublishError>> {
        Box::pin(async { Err(PublishError::Unavailable("read-only benchmark".into())) })
    }
}

fn incident(n: usize) -> Envelope {
    Envelope {
        topic: "incidents".into(),
        item_id: format!("csirt.example.com:{n}"),
        publisher: Some("publisher@localhost/bench".into()),
        received_at: Utc::now(),
        delayed_at: None,
        payload_ns: "urn:ietf:params:xml:ns:iodef-2.0".into(),
        document: format!(
            "<IODEF-Document xmlns='urn:ietf:params:xml:ns:iodef-2.0' version='2.00'>\
             <Incident purpose='reporting'><IncidentID name='csirt.example.com'>{n}</IncidentID>\
             <GenerationTime>2026-12-07T00:00:00Z</GenerationTime>\
             <Contact role='creator' type='organization'><Email><EmailTo>soc@csirt.example.com</EmailTo></Email></Contact>\
             </Incident></IODEF-Document>"
        ),
    }
}

/// Items/s of `writers` tasks putting `items` new incidents into `stores`
/// (one handle each; the same database when they are replicas).
async fn ingest(stores: Vec<Store>, items: usize, offset: usize) -> anyhow::Result<f64> {
    let writers = stores.len();
    let started = Instant::now();
    let tasks: Vec<_> = stores
        .into_iter()
        .enumerate()
        .map(|(w, s)| {
            tokio::spawn(async move {
                for n in (w..items).step_by(writers) {
                    s.put(incident(offset + n)).await?;
                }
                anyhow::Ok(())
            })
        })
        .collect();
    for t in tasks {
        t.await??;
    }
    Ok(items as f64 / started.elapsed().as_secs_f64())
}

/// Requests/s of wrk against each of `urls` at once (one wrk each), summed.
async fn feed_load(urls: &[String], secs: u64) -> anyhow::Result<f64> {
    let connections = (32 / urls.len()).max(2);
    let runs = urls.iter().map(|u| {
        tokio::process::Command::new("wrk")
            .args(["-t1", &format!("-c{connections}"), &format!("-d{secs}s"), u])
            .output()
    });
    let mut total = 0.0;
    for out in futures::future::join_all(runs).await {
        let text = String::from_utf8_lossy(&out?.stdout).into_owned();
        if text.contains("Non-2xx") || text.contains("Socket errors") {
            anyhow::bail!("wrk saw errors:\n{text}");
        }
        total += text
            .lines()
            .find_map(|l| l.strip_prefix("Requests/sec:"))
            .and_then(|v| v.trim().parse::<f64>().ok())
            .ok_or_else(|| anyhow::anyhow!("no Requests/sec in:\n{text}"))?;
    }
    Ok(total)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let items: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(2000);
    let secs: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(5);
    let _ = tokio_rustls::rustls::crypto::aws_lc_rs::default_provider().install_default();
    let pg = Postgres::start()?;
    let url = pg.create_db("bench")?;
    let dir = tempfile::tempdir()?;

    println!(
        "## ingest: {items} new items, one put each (content hash, sequence, topic, tombstone)"
    );
    let sqlite = Store::open(dir.path().join("bench.sqlite"))?;
    let s = ingest(vec![sqlite], items, 0).await?;
    println!("| SQLite, 1 writer | {s:.0} items/s |");
    let p1 = ingest(vec![Store::connect(&url).await?], items, 0).await?;
    println!("| PostgreSQL, 1 writer | {p1:.0} items/s |");
    let two = vec![Store::connect(&url).await?, Store::connect(&url).await?];
    let p2 = ingest(two, items, items).await?;
    println!("| PostgreSQL, 2 replicas writing | {p2:.0} items/s |");

    println!("## feed: GET /rolie/feeds/incidents (first page, 50 entries), wrk for {secs} s");
    for k in [1usize, 2, 4] {
        let mut urls = Vec::new();
        let mut stops = Vec::new();
        for _ in 0..k {
            let config = RolieConfig {
                listen: "127.0.0.1:0".parse()?,
                public_url: Some("http://rolie.test".into()),
                server_threads: Some(1),
                ..RolieConfig::default()
            };
            let server = RolieServer::bind(
                config,
                Store::connect(&url).await?,
                Arc::new(ReadOnly),
                Hooks::default(),
            )
            .await?;
            urls.push(format!(
                "http://{}/rolie/feeds/incidents",
                server.local_addr()
            ));
            let (tx, rx) = tokio::sync::oneshot::channel::<()>();
            tokio::spawn(server.run(async {
                let _ = rx.await;
            }));
            stops.push(tx);
        }
        // Warm each replica's cache once.
        for u in &urls {
            reqwest::get(u).await?.error_for_status()?;
        }
        let rps = feed_load(&urls, secs).await?;
        println!(
            "| {k} replica(s) | {rps:.0} req/s | {:.0} req/s per core ({} cores) |",
            rps / num_cores() as f64,
            num_cores()
        );
        for s in stops {
            let _ = s.send(());
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    Ok(())
}

fn num_cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}
