//! `gridlink-bench`: the performance harness of issue 7. Starts its own
//! Prosody (SQL storage, and memory storage for a broker-independent view)
//! and measures, in one run:
//!
//! 1. publish→notify throughput and latency: gridlink, slixmpp (same window,
//!    same payloads) and a raw ceiling client; client CPU per item;
//! 2. fan-out to many subscribers; 3. catch-up after being offline;
//! 4. discovery of many topics; 5. ROLIE requests/s against nginx (wrk);
//! 6. IODEF MB/s against a raw quick-xml scan; 7. peak RSS of a subscriber
//!    and of the bridge with many topics and items; 8. publish→notify on a
//!    2-node ejabberd cluster against one ejabberd node.
//!
//! `--quick` uses small counts (CI keeps the harness working with it; its
//! figures mean nothing). `--write BENCHMARKS.md` updates that file's
//! first-screen table with the figures this run measured; `--history
//! docs/benchmarks-history.md` adds the run's whole table there. Figures are
//! targets' evidence, never test assertions.
//!
//! Modules: `payloads` (the corpus), `raw` (the ceiling client), `worker`
//! (client processes; `measure` what they share), `lab` (the bench's Prosody), `pubsub` (sections 1–4,
//! with `flow` and `fetch`), `web` (5 and 7, with `http`), `iodef_mbps` (6),
//! `cluster` (8), `hops` (`--hops`: where the receive path's latency goes),
//! `report` (the rows), `write` (BENCHMARKS.md and the history).

mod catchup;
mod cluster;
mod fetch;
mod floor;
mod flow;
mod hops;
mod http;
mod iodef_mbps;
mod lab;
mod measure;
mod payloads;
mod pubsub;
mod raw;
mod report;
mod settings;
mod web;
mod worker;
mod write;

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Context};
use clap::{Parser, Subcommand, ValueEnum};
use gridlink::lab::Storage;
use settings::Settings;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Part {
    /// Sections 1–4 (XMPP).
    Pubsub,
    /// Section 3 alone (catch-up), on a topic the owner fills first.
    Catchup,
    /// Section 2 alone (fan-out).
    Fanout,
    /// Section 5 (bridge, nginx).
    Web,
    /// Section 7 (peak memory of subscriber and bridge).
    Memory,
    /// Section 6.
    Iodef,
    /// Section 8 (ejabberd cluster against one ejabberd node).
    Cluster,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum StorageArg {
    Sql,
    Memory,
}

/// gridlink's benchmark harness (issue 7).
#[derive(Parser, Debug)]
#[command(version)]
struct Cli {
    /// Small counts, to check the harness works (figures are meaningless).
    #[arg(long)]
    quick: bool,
    /// Update the first-screen table of this markdown file (BENCHMARKS.md):
    /// the rows of the figures this run measured, between its
    /// `bench:table` markers; every other row is kept.
    #[arg(long)]
    write: Option<PathBuf>,
    /// Add this run's whole table as a new section of this markdown file
    /// (docs/benchmarks-history.md), after its `bench:history:next` line.
    #[arg(long)]
    history: Option<PathBuf>,
    /// Only these parts (repeatable; default: all).
    #[arg(long, value_enum)]
    only: Vec<Part>,
    /// Prosody storage for sections 1–4 (repeatable; default: sql and memory,
    /// sql only with --quick).
    #[arg(long, value_enum)]
    storage: Vec<StorageArg>,
    /// Items per publish→notify run (overrides the mode's count).
    #[arg(long)]
    items: Option<usize>,
    /// Catch-up backlog, one topic of this many items (repeatable;
    /// overrides the mode's counts: 1 000 and 10 000, or 100 with --quick).
    #[arg(long)]
    catchup_items: Vec<usize>,
    /// Items in the fan-out run (overrides the mode's count).
    #[arg(long)]
    fanout_items: Option<usize>,
    /// Subscriber sessions in the fan-out run (overrides the mode's count).
    #[arg(long)]
    fanout_subs: Option<usize>,
    /// Memory section: items per topic (overrides the mode's count).
    #[arg(long)]
    mem_per_topic: Option<usize>,
    /// Memory section: topics (overrides the mode's count).
    #[arg(long)]
    mem_topics: Option<usize>,
    /// Prosody storage for the memory section [default: sql].
    #[arg(long, value_enum, default_value = "sql")]
    mem_storage: StorageArg,
    /// Record where gridlink's publish→notify latency goes, hop by hop on
    /// the receive path (`hops.rs`; costs the subscriber some CPU).
    #[arg(long)]
    hops: bool,
    /// A global Prosody setting (`name = value`, Lua) for every Prosody this
    /// run starts, after the lab's own (repeatable): to measure what a
    /// broker setting changes. The run's header lists them.
    #[arg(long, value_name = "LINE")]
    prosody_option: Vec<String>,
    /// The `gridlink` binary for the bridge [default: beside this one].
    #[arg(long)]
    gridlink: Option<PathBuf>,
    /// The slixmpp peer script.
    #[arg(long, default_value = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/py/bench_slix.py"))]
    slix: PathBuf,
    #[command(subcommand)]
    worker: Option<WorkerCmd>,
}

#[derive(Subcommand, Debug)]
enum WorkerCmd {
    /// Internal: one client process (started by the harness itself).
    #[command(hide = true)]
    Worker(measure::WorkerArgs),
}

/// The 1-minute load average (the machine is shared: the table says how
/// busy it was).
fn load() -> f64 {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|l| l.split_whitespace().next()?.parse().ok())
        .unwrap_or(f64::NAN)
}

/// The machine in a few words, for the first-screen table's `machine`
/// column (the run's section in the history has the whole description).
fn machine_short(load_at_start: f64) -> String {
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(0);
    let build = if cfg!(debug_assertions) {
        "debug"
    } else {
        "release"
    };
    format!(
        "{cores} cores, load {load_at_start:.1} → {:.1}, {build} build",
        load()
    )
}

/// Whether the machine was busy with other work when the run started (a
/// 1-minute load above half its cores; the run's own load later says
/// nothing): its figures are labelled, never taken as meeting a target
/// (issue 22). A build just before raises it too: wait a minute after one.
fn loaded(load_at_start: f64) -> bool {
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1) as f64;
    load_at_start > cores / 2.0
}

fn machine() -> String {
    let read = |p: &str| std::fs::read_to_string(p).unwrap_or_default();
    let cpu = read("/proc/cpuinfo")
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .map(|v| v.trim_start_matches([' ', '\t', ':']).to_string())
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(0);
    let mem_gib = read("/proc/meminfo")
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map(|kb| kb / 1024.0 / 1024.0)
        .unwrap_or(0.0);
    let os = read("/etc/os-release")
        .lines()
        .find_map(|l| l.strip_prefix("PRETTY_NAME="))
        .map(|v| v.trim_matches('"').to_string())
        .unwrap_or_default();
    let version = |cmd: &str, args: &[&str]| {
        std::process::Command::new(cmd)
            .args(args)
            .output()
            .map(|o| {
                let t = format!(
                    "{}{}",
                    String::from_utf8_lossy(&o.stdout),
                    String::from_utf8_lossy(&o.stderr)
                );
                t.lines().next().unwrap_or("").trim().to_string()
            })
            .unwrap_or_default()
    };
    let prosody = std::process::Command::new("dpkg-query")
        .args(["-W", "-f=${Version}", "prosody"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default();
    format!(
        "{cores} × {cpu}, {mem_gib:.0} GiB, {os}; Prosody {prosody}; {}; slixmpp {}; {}; {} build",
        version("rustc", &["-V"]),
        version(
            "python3",
            &["-c", "import slixmpp; print(slixmpp.__version__)"]
        ),
        version("nginx", &["-v"]),
        if cfg!(debug_assertions) {
            "debug"
        } else {
            "release"
        }
    )
}

async fn bench(cli: Cli) -> anyhow::Result<()> {
    if cli.quick && (cli.write.is_some() || cli.history.is_some()) {
        bail!("--quick figures are meaningless; it never writes a file");
    }
    let mut s = if cli.quick {
        Settings::quick()
    } else {
        Settings::full()
    };
    // Prosody itself may be too slow on a small machine for the issue's
    // counts in reasonable time; the table header says what was run.
    if let Some(n) = cli.items {
        s.items = n;
    }
    if !cli.catchup_items.is_empty() {
        s.catchup_items = cli.catchup_items.clone();
    }
    if let Some(n) = cli.fanout_items {
        s.fanout_items = n;
    }
    if let Some(n) = cli.fanout_subs {
        s.fanout_subs = n;
    }
    if let Some(n) = cli.mem_per_topic {
        s.mem_per_topic = n;
    }
    if let Some(n) = cli.mem_topics {
        s.mem_topics = n;
    }
    let parts = if cli.only.is_empty() {
        vec![
            Part::Pubsub,
            Part::Web,
            Part::Memory,
            Part::Iodef,
            Part::Cluster,
        ]
    } else {
        cli.only.clone()
    };
    let storages: Vec<Storage> = match (&cli.storage[..], cli.quick) {
        ([], true) => vec![Storage::Sql],
        ([], false) => vec![Storage::Sql, Storage::Memory],
        (list, _) => list
            .iter()
            .map(|s| match s {
                StorageArg::Sql => Storage::Sql,
                StorageArg::Memory => Storage::Memory,
            })
            .collect(),
    };
    let exe = std::env::current_exe()?;
    let gridlink = match cli.gridlink.clone() {
        Some(g) => g,
        None => exe.with_file_name("gridlink"),
    };
    // Everything the run needs, checked before minutes of work.
    if parts.contains(&Part::Web) {
        http::require("wrk", "wrk")?;
        http::require("nginx", "nginx-light")?;
    }
    if (parts.contains(&Part::Web) || parts.contains(&Part::Memory)) && !gridlink.is_file() {
        bail!(
            "the gridlink binary is not at {} (cargo build --bins, or --gridlink PATH)",
            gridlink.display()
        );
    }
    if parts.contains(&Part::Pubsub) {
        let ok = std::process::Command::new("python3")
            .args(["-c", "import slixmpp"])
            .status()
            .map(|st| st.success())
            .unwrap_or(false);
        if !ok {
            bail!("python3 with slixmpp is required: pip install -r tests/requirements.txt (scripts/deps does this)");
        }
        if !cli.slix.is_file() {
            bail!("the slixmpp peer is not at {}", cli.slix.display());
        }
    }
    let _ = lab::PROSODY_OPTIONS.set(cli.prosody_option.clone());
    hops::ASKED.store(cli.hops, std::sync::atomic::Ordering::Relaxed);
    let started = std::time::Instant::now();
    let load_at_start = load();
    let dir = tempfile::Builder::new()
        .prefix("gridlink-bench-")
        .tempdir()?;
    let ctx = lab::Ctx {
        exe,
        slix: cli.slix.clone(),
        dir: dir.path().to_path_buf(),
    };
    let largest_catch_up = s.catchup_items.iter().copied().max().unwrap_or(0);
    let prepared = s.items.max(100).max(s.mem_per_topic).max(largest_catch_up);
    eprintln!("gridlink-bench: preparing {prepared} items");
    let items = payloads::generate(prepared as u64)?;
    let mut report = report::Report::default();
    let bytes = payloads::total_bytes(&items[..s.items]) as f64 / s.items as f64;
    report.notes.push(format!(
        "Payloads: the valid RFC 7970 §7.1 / RFC 8274 B.1, B.3, B.5 examples in turn, each with its own \
         IncidentID (mean {bytes:.0} bytes). Window: 32 publishes in flight for every publisher. \
         Throughput = notifications received / (last notification − first publish). Latency = \
         notification received − publish written (wall clock, same machine). Client CPU = user+system \
         time of the publisher and subscriber processes over the measured phase, per item (payload \
         preparation excluded for both). × ceiling for times (catch-up, discovery, latency) is how many \
         times longer than the raw client."
    ));
    for storage in &storages {
        if parts.contains(&Part::Pubsub) {
            eprintln!("gridlink-bench: sections 1–4, {storage:?} storage");
            pubsub::run(&ctx, &s, *storage, &items, &mut report)
                .await
                .with_context(|| format!("sections 1–4 ({storage:?})"))?;
        }
        if parts.contains(&Part::Catchup) && !parts.contains(&Part::Pubsub) {
            eprintln!("gridlink-bench: section 3 alone, {storage:?} storage");
            catchup::catch_up_only(&s, *storage, &items, &mut report)
                .await
                .with_context(|| format!("section 3 ({storage:?})"))?;
        }
        if parts.contains(&Part::Fanout) && !parts.contains(&Part::Pubsub) {
            eprintln!("gridlink-bench: section 2 alone, {storage:?} storage");
            pubsub::fan_out_only(&ctx, &s, *storage, &items, &mut report)
                .await
                .with_context(|| format!("section 2 ({storage:?})"))?;
        }
    }
    if parts.contains(&Part::Web) {
        eprintln!("gridlink-bench: section 5 (bridge, nginx)");
        web::run(&ctx, &s, &gridlink, &items, &mut report)
            .await
            .context("section 5")?;
    }
    if parts.contains(&Part::Memory) {
        let storage = match cli.mem_storage {
            StorageArg::Sql => Storage::Sql,
            StorageArg::Memory => Storage::Memory,
        };
        eprintln!("gridlink-bench: section 7 (memory, {storage:?} storage)");
        web::memory(&ctx, &s, storage, &gridlink, &items, &mut report)
            .await
            .context("section 7")?;
    }
    if parts.contains(&Part::Iodef) {
        eprintln!("gridlink-bench: section 6 (IODEF)");
        iodef_mbps::run(s.iodef_secs, &mut report);
    }
    if parts.contains(&Part::Cluster) {
        eprintln!("gridlink-bench: section 8 (ejabberd cluster)");
        cluster::run(&ctx, &s, &items, &mut report)
            .await
            .context("section 8")?;
    }
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.contains('/'))
        .collect();
    let header = format!(
        "## Harness run ({}, `gridlink-bench {}`, {:.0} s)\n\nMachine: {}.\n\nCounts: {} items per \
         publish→notify run, catch-up of {:?} items, fan-out {} subscribers × {} items, {} topics discovered, \
         memory {} topics × {} items.",
        chrono::Utc::now().format("%Y-%m-%d %H:%M UTC"),
        args.join(" "),
        started.elapsed().as_secs_f64(),
        machine(),
        s.items,
        s.catchup_items,
        s.fanout_subs,
        s.fanout_items,
        s.topics,
        s.mem_topics,
        s.mem_per_topic
    );
    let table = report.markdown();
    println!("{header}\n\n{table}");
    if let Some(path) = &cli.write {
        let doc =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        let rows = report.table_rows(
            &format!(
                "{}, harness run",
                chrono::Utc::now().format("%Y-%m-%d %H:%M")
            ),
            &machine_short(load_at_start),
            loaded(load_at_start),
        );
        let doc = write::update_table(&doc, &rows).with_context(|| path.display().to_string())?;
        std::fs::write(path, doc)?;
        eprintln!("gridlink-bench: updated the table in {}", path.display());
    }
    if let Some(path) = &cli.history {
        // A missing history file is started by this run.
        let doc = std::fs::read_to_string(path).unwrap_or_default();
        std::fs::write(
            path,
            write::add_to_history(&doc, &format!("{header}\n\n{table}")),
        )?;
        eprintln!("gridlink-bench: added the run to {}", path.display());
    }
    Ok(())
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let res = match cli.worker {
        Some(WorkerCmd::Worker(a)) => worker::run(a).await,
        None => bench(cli).await,
    };
    match res {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("gridlink-bench: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
