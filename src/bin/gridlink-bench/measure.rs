//! What every worker process shares: which client it is and its arguments
//! (`Kind`, `WorkerArgs`; the slixmpp peer takes the same), the result it
//! writes (`WorkerResult`), and how it measures: wall-clock time per item,
//! its own CPU time, its peak memory, the publishing pace. The workers are in
//! `worker.rs` and `floor.rs`; the coordinator reads their results.

use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use clap::{Args, ValueEnum};
use serde::{Deserialize, Serialize};

use gridlink::config::{Config, Secret, TlsMode};

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
    /// `--hops`: per item, when it passed each hop of the receive path
    /// (`hops.rs`).
    #[serde(default)]
    pub hops: Vec<(u64, [f64; 3])>,
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

/// Sleeps until item `i`'s slot when a rate is set.
pub async fn pace(start: tokio::time::Instant, rate: f64, i: usize) {
    if rate > 0.0 {
        tokio::time::sleep_until(start + Duration::from_secs_f64(i as f64 / rate)).await;
    }
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
        ..Default::default()
    })
}

/// The value at fraction `p` (0–1) of `sorted` (nearest rank); NaN when empty.
pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// The median of `v` (sorted in place; the upper one of an even count).
pub fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    percentile(v, 0.5)
}
