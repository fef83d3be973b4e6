//! `gridlink publish`: validated IODEF in, broker-confirmed items out,
//! pipelined with a bounded window of requests in flight.

use std::io::{IsTerminal, Read};
use std::path::PathBuf;
use std::process::ExitCode;

use std::collections::HashMap;

use anyhow::Context;
use clap::Args;
use futures::stream::{self, StreamExt};
use gridlink::durable::{state_file, Outbox, OutboxOptions};
use gridlink::grid::{Payload, DEFAULT_MAX_PAYLOAD};
use gridlink::iodef::{Redaction, ValidationLevel};
use gridlink::store::Store;

use super::explain::{explain_text, Action};
use super::global::{open_grid, open_grid_retrying, Global};

/// `publish` options.
#[derive(Args, Debug)]
pub struct PublishArgs {
    /// The topic (pubsub node) to publish to.
    #[arg(long)]
    pub topic: String,
    /// IODEF documents (XML or RFC 8727 JSON), CSAF 2.0 advisories or CVE JSON 5 records (detected);
    /// `-` or nothing reads one from stdin.
    pub files: Vec<PathBuf>,
    /// Validation before sending: strict (RFC 7970 schema + text rules), basic, off.
    #[arg(long, default_value = "strict", value_parser = parse_level)]
    pub validate: ValidationLevel,
    /// Largest accepted document in bytes (Prosody's default stanza limit is 256 KiB).
    #[arg(long, default_value_t = DEFAULT_MAX_PAYLOAD)]
    pub max_size: usize,
    /// Publish requests in flight at once.
    #[arg(long, default_value_t = 32)]
    pub window: usize,
    /// Write documents to the outbox in --state-dir before sending and keep
    /// them there until the broker confirms: nothing accepted is lost if
    /// gridlink, the network or the broker dies. Waits (retrying) while the
    /// server is unreachable; also sends what an earlier run left queued.
    #[arg(long)]
    pub durable: bool,
    /// Most documents the outbox may hold (with --durable).
    #[arg(long, default_value_t = gridlink::durable::DEFAULT_OUTBOX_MAX)]
    pub outbox_max: usize,
    /// What to leave out before publishing.
    #[command(flatten)]
    pub redact: RedactArgs,
}

/// `retract` options.
#[derive(Args, Debug)]
pub struct RetractArgs {
    /// The topic the items are in.
    #[arg(long)]
    pub topic: String,
    /// Item ids (as `publish` printed them).
    #[arg(required = true, value_name = "ITEM_ID")]
    pub ids: Vec<String>,
}

/// `gridlink retract`: withdraws published items; subscribers are notified
/// (`retract` lines) and ROLIE bridges drop the entries. One line per id;
/// exit 1 if any failed (the others are still retracted).
pub async fn retract(g: &Global, a: RetractArgs) -> anyhow::Result<ExitCode> {
    let grid = open_grid(g).await?;
    let mut failed = 0;
    for id in &a.ids {
        match grid.retract(&a.topic, id).await {
            Ok(()) => println!("retracted\t{}\t{id}", a.topic),
            Err(e) => {
                failed += 1;
                eprintln!(
                    "error: {id}: {}",
                    explain_text(&grid, &e, &a.topic, Action::Publish)
                );
            }
        }
    }
    grid.close().await;
    if failed > 0 {
        eprintln!("{failed} of {} item(s) not retracted", a.ids.len());
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
}

/// `--omit` and `--share`: what to leave out of documents before they are
/// published (RFC 8600 §9), for `publish` and `bridge`.
#[derive(Args, Debug, Default)]
pub struct RedactArgs {
    /// Leave out every element at PATH before publishing: `Email`, or
    /// `Contact/Email` for those under a Contact (local names); repeatable.
    #[arg(long = "omit", value_name = "PATH")]
    pub omit: Vec<String>,
    /// Publish only what IODEF's `restriction` lets these audiences see
    /// (comma-separated, e.g. `public,green`; TLP names are the RFC's
    /// synonyms); elements restricted further are left out. An Incident
    /// without a restriction is `private`.
    #[arg(long, value_name = "VALUES", value_delimiter = ',')]
    pub share: Vec<String>,
}

impl RedactArgs {
    /// The redaction `--omit` and `--share` ask for.
    pub fn redaction(&self) -> anyhow::Result<Redaction> {
        let mut r = Redaction::new();
        for p in &self.omit {
            r = r.omit(p).map_err(|e| anyhow::anyhow!("--omit {e}"))?;
        }
        if !self.share.is_empty() {
            r = r
                .share(self.share.iter().map(String::as_str))
                .map_err(anyhow::Error::msg)?;
        }
        Ok(r)
    }
}

/// `gridlink outbox`: what `publish --durable` left queued.
#[derive(clap::Subcommand, Debug)]
pub enum OutboxCommand {
    /// How many documents wait, and the oldest ones.
    #[command(after_help = "Examples:\n  gridlink outbox status")]
    Status,
    /// Send everything queued (retrying while the server is unreachable).
    #[command(after_help = "Examples:\n  gridlink outbox drain")]
    Drain {
        /// Publish requests in flight at once.
        #[arg(long, default_value_t = 32)]
        window: usize,
    },
}

/// The outbox of the configured account, in its state directory.
fn open_outbox(g: &Global, window: usize, max: usize) -> anyhow::Result<(Outbox, PathBuf)> {
    let cfg = g.connection()?;
    gridlink::store::files::create_private_dir(&cfg.state_dir).with_context(|| {
        format!(
            "cannot create the state directory {}",
            cfg.state_dir.display()
        )
    })?;
    let path = cfg
        .state_dir
        .join(state_file(&cfg.jid.to_bare().to_string(), "outbox"));
    let store =
        Store::open(&path).with_context(|| format!("cannot open the outbox {}", path.display()))?;
    let opts = OutboxOptions {
        max,
        window: window.max(1),
        ..OutboxOptions::default()
    };
    Ok((Outbox::new(store, opts), path))
}

/// Drains `outbox` through a freshly opened grid, printing `id<TAB>name`
/// per confirmed document. Returns how many were refused or are left.
async fn drain(g: &Global, outbox: &Outbox, names: &HashMap<i64, String>) -> anyhow::Result<usize> {
    let waiting = outbox.len().await?;
    if waiting == 0 {
        return Ok(0);
    }
    let grid = open_grid_retrying(
        g,
        &format!("{waiting} document(s) stay queued in the outbox"),
    )
    .await?;
    let mut refused = 0usize;
    outbox
        .drain(&grid, true, |f| {
            let name = names
                .get(&f.entry.seq)
                .cloned()
                .unwrap_or_else(|| format!("(outbox #{})", f.entry.seq));
            match f.result {
                Ok(id) => println!("{id}\t{name}"),
                Err(e) => {
                    refused += 1;
                    eprintln!("error: {name}: refused by the broker: {e}");
                }
            }
        })
        .await?;
    grid.close().await;
    // `drain` also returns when the session closes for good.
    let left = outbox.len().await?;
    if left > 0 {
        eprintln!(
            "error: {left} document(s) are still queued in the outbox (the XMPP session closed); `gridlink outbox drain` sends them"
        );
    }
    Ok(refused + left)
}

/// Runs `gridlink outbox`.
pub async fn outbox(g: &Global, c: OutboxCommand) -> anyhow::Result<ExitCode> {
    match c {
        OutboxCommand::Status => {
            let (outbox, path) = open_outbox(g, 1, usize::MAX)?;
            let n = outbox.len().await?;
            println!("{n} document(s) waiting in {}", path.display());
            Ok(ExitCode::SUCCESS)
        }
        OutboxCommand::Drain { window } => {
            let (outbox, _) = open_outbox(g, window, usize::MAX)?;
            let refused = drain(g, &outbox, &HashMap::new()).await?;
            Ok(if refused > 0 {
                ExitCode::from(1)
            } else {
                ExitCode::SUCCESS
            })
        }
    }
}

/// `publish --durable`: everything valid goes to the outbox first, then the
/// outbox is drained (including what earlier runs left).
async fn run_durable(
    g: &Global,
    a: &PublishArgs,
    prepared: Vec<(String, Result<Payload, String>)>,
) -> anyhow::Result<ExitCode> {
    let (outbox, path) = open_outbox(g, a.window, a.outbox_max)?;
    let total = prepared.len();
    let mut failed = 0usize;
    let mut names = HashMap::new();
    for (name, p) in prepared {
        match p {
            Err(e) => {
                failed += 1;
                eprintln!("error: {name}: {e}");
            }
            Ok(payload) => match outbox.accept(&a.topic, &payload).await {
                Ok(ticket) => {
                    names.insert(ticket.seq, name);
                }
                Err(e) => {
                    failed += 1;
                    eprintln!("error: {name}: {e}");
                }
            },
        }
    }
    eprintln!(
        "queued {} document(s) in the outbox {} ({} waiting in all)",
        names.len(),
        path.display(),
        outbox.len().await?
    );
    failed += drain(g, &outbox, &names).await?;
    if failed > 0 {
        eprintln!("{failed} of {total} document(s) not published");
        return Ok(ExitCode::from(1));
    }
    Ok(ExitCode::SUCCESS)
}

fn parse_level(s: &str) -> Result<ValidationLevel, String> {
    s.parse()
}

fn read_input(path: &PathBuf, max: usize) -> Result<Vec<u8>, String> {
    let mut buf = Vec::new();
    // Read one byte past the limit: enough to know it is too large without
    // pulling an arbitrarily large input into memory.
    let limit = max as u64 + 1;
    let res = if path.as_os_str() == "-" {
        std::io::stdin().lock().take(limit).read_to_end(&mut buf)
    } else {
        std::fs::File::open(path).and_then(|f| f.take(limit).read_to_end(&mut buf))
    };
    res.map_err(|e| format!("cannot read: {e}"))?;
    // Only `max + 1` bytes were read: report the limit, not that count,
    // which would understate the input's real size.
    if buf.len() > max {
        return Err(format!("larger than the limit of {max} bytes (--max-size)"));
    }
    Ok(buf)
}

/// Runs `gridlink publish`.
pub async fn run(g: &Global, a: PublishArgs) -> anyhow::Result<ExitCode> {
    let files = if a.files.is_empty() {
        vec![PathBuf::from("-")]
    } else {
        a.files.clone()
    };
    let redaction = a.redact.redaction()?;
    // Prepare everything first: a batch with a bad file fails before the
    // first stanza is sent only for that file, the rest still goes out.
    let prepared: Vec<(String, Result<Payload, String>)> = files
        .iter()
        .map(|f| {
            let name = f.display().to_string();
            let p = read_input(f, a.max_size).and_then(|bytes| {
                Payload::prepare_redacted(&bytes, a.validate, a.max_size, &redaction)
                    .map_err(|e| e.to_string())
            });
            if let Ok(p) = &p {
                if p.omitted > 0 {
                    eprintln!("{name}: left out {} element(s)", p.omitted);
                }
            }
            (name, p)
        })
        .collect();
    if a.durable {
        return run_durable(g, &a, prepared).await;
    }
    let grid = open_grid(g).await?;
    // A topic whose pubsub#type names one of gridlink's payload types takes
    // only documents of that type (a CVE record on a CSAF topic is refused
    // here rather than by every subscriber).
    let topic_type = grid
        .topic_info(&a.topic)
        .await
        .ok()
        .and_then(|t| t.payload());
    let prepared: Vec<(String, Result<Payload, String>)> = prepared
        .into_iter()
        .map(|(name, p)| match (p, topic_type) {
            (Ok(p), Some(t)) if p.format != t => {
                let e = format!(
                    "a {} document, but topic {:?} carries {t}",
                    p.format, a.topic
                );
                (name, Err(e))
            }
            (p, _) => (name, p),
        })
        .collect();
    let progress = (prepared.len() > 20 && std::io::stderr().is_terminal()).then(|| {
        let pb = indicatif::ProgressBar::new(prepared.len() as u64);
        pb.set_style(
            indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} {per_sec} eta {eta}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        pb
    });
    let topic = a.topic.as_str();
    let grid_ref = &grid;
    // `buffered` keeps output in input order while `window` publishes wait
    // for their confirmations concurrently.
    let mut results = stream::iter(prepared)
        .map(|(name, p)| async move {
            match p {
                Err(e) => (name, Err(e)),
                Ok(payload) => {
                    let r = grid_ref.publish(topic, &payload).await;
                    (
                        name,
                        r.map_err(|e| explain_text(grid_ref, &e, topic, Action::Publish)),
                    )
                }
            }
        })
        .buffered(a.window.max(1));
    let mut failed = 0usize;
    while let Some((name, r)) = results.next().await {
        match r {
            Ok(id) => println!("{id}\t{name}"),
            Err(e) => {
                failed += 1;
                let msg = format!("error: {name}: {e}");
                match &progress {
                    Some(pb) => pb.println(msg),
                    None => eprintln!("{msg}"),
                }
            }
        }
        if let Some(pb) = &progress {
            pb.inc(1);
        }
    }
    if let Some(pb) = progress {
        pb.finish_and_clear();
    }
    grid.close().await;
    if failed > 0 {
        eprintln!("{failed} of {} document(s) not published", files.len());
        return Ok(ExitCode::from(1));
    }
    Ok(ExitCode::SUCCESS)
}
