//! `gridlink publish`: validated IODEF in, broker-confirmed items out,
//! pipelined with a bounded window of requests in flight.

use std::io::{IsTerminal, Read};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use futures::stream::{self, StreamExt};
use gridlink::grid::{Payload, DEFAULT_MAX_PAYLOAD};
use gridlink::iodef::ValidationLevel;

use super::{open_grid, Global};

/// `publish` options.
#[derive(Args, Debug)]
pub struct PublishArgs {
    /// The topic (pubsub node) to publish to.
    #[arg(long)]
    pub topic: String,
    /// IODEF documents (XML or RFC 8727 JSON); `-` or nothing reads one from stdin.
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
    // Prepare everything first: a batch with a bad file fails before the
    // first stanza is sent only for that file, the rest still goes out.
    let prepared: Vec<(String, Result<Payload, String>)> = files
        .iter()
        .map(|f| {
            let name = f.display().to_string();
            let p = read_input(f, a.max_size).and_then(|bytes| {
                Payload::prepare(&bytes, a.validate, a.max_size).map_err(|e| e.to_string())
            });
            (name, p)
        })
        .collect();
    let grid = open_grid(g).await?;
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
                    (name, r.map_err(|e| e.to_string()))
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
