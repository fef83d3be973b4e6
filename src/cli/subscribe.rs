//! `gridlink subscribe` and `gridlink items`: events as JSON lines (or raw
//! XML documents) on stdout, or one file per item.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, ValueEnum};
use gridlink::durable::{state_file, Follower};
use gridlink::grid::{GridEvent, TopicSelection};
use gridlink::iodef::ValidationLevel;
use gridlink::store::Store;

use super::{open_grid, Global};

/// Output format.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// One JSON object per line (items carry the RFC 8727 JSON under "iodef").
    Json,
    /// The IODEF XML documents as received.
    Xml,
}

/// `subscribe` options.
#[derive(Args, Debug)]
pub struct SubscribeArgs {
    /// Topics to follow (repeatable).
    #[arg(long = "topic", required_unless_present = "all_iodef")]
    pub topics: Vec<String>,
    /// Follow every IODEF topic the service offers.
    #[arg(long, conflicts_with = "topics")]
    pub all_iodef: bool,
    #[command(flatten)]
    pub output: Output,
    /// Exit after this many items.
    #[arg(long)]
    pub count: Option<u64>,
    /// Name of the delivery cursor kept in --state-dir. On start and after
    /// every reconnect, items the topics still keep that this cursor has not
    /// delivered are emitted first, so that stopping and restarting loses
    /// and repeats nothing. Two consumers need two names.
    #[arg(long, default_value = "default")]
    pub cursor: String,
    /// No cursor and no catch-up: only items published while running.
    #[arg(long, conflicts_with = "cursor")]
    pub no_cursor: bool,
    /// Items per catch-up request. Catch-up asks for the newest page
    /// first and, when that does not reach back to what was delivered, lists
    /// the item ids and fetches older items a page at a time: memory stays
    /// bounded by the page. A page larger than what the topics keep fetches
    /// each topic in one request (faster on Prosody, memory grows with the
    /// topic: about 18x the documents' size).
    #[arg(long, default_value_t = gridlink::durable::CATCH_UP_PAGE, value_parser = clap::value_parser!(u32).range(2..))]
    pub catch_up_page: u32,
}

/// `items` options.
#[derive(Args, Debug)]
pub struct ItemsArgs {
    /// The topic.
    #[arg(long)]
    pub topic: String,
    /// Only the newest N items.
    #[arg(long)]
    pub max: Option<u32>,
    /// Only the item with this id.
    #[arg(long)]
    pub id: Option<String>,
    /// Items per request when listing everything the topic keeps (older
    /// items are fetched by id, a page at a time, so memory stays bounded).
    #[arg(long, default_value_t = gridlink::durable::CATCH_UP_PAGE, value_parser = clap::value_parser!(u32).range(2..))]
    pub page: u32,
    #[command(flatten)]
    pub output: Output,
}

/// Output options shared by `subscribe` and `items`.
#[derive(Args, Debug)]
pub struct Output {
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Json)]
    pub format: Format,
    /// Write one file per item into this directory (named after the item id).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Validation of received documents: strict, basic (default), off.
    #[arg(long, default_value = "basic", value_parser = |s: &str| s.parse::<ValidationLevel>())]
    pub validate: ValidationLevel,
}

/// A file name for an item id: path separators and other unsafe characters
/// become `_`, and a leading dot is escaped, so no id can leave the directory.
fn file_name(item_id: &str, ext: &str) -> String {
    let mut s: String = item_id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | ':') {
                c
            } else {
                '_'
            }
        })
        .collect();
    if s.is_empty() || s.starts_with('.') {
        s.insert(0, '_');
    }
    format!("{s}.{ext}")
}

impl Output {
    /// Emits one event; returns whether it was an item.
    fn emit(&self, ev: &GridEvent, out: &mut impl Write) -> anyhow::Result<bool> {
        let is_item = matches!(ev, GridEvent::Item { .. });
        if let Some(dir) = &self.out {
            if let GridEvent::Item { envelope, .. } = ev {
                write_file(dir, self.format, ev, &envelope.item_id)?;
            }
            // Non-item events still go to stdout so nothing passes silently.
            if !is_item {
                ev.write_json(&mut *out)?;
                writeln!(out)?;
            }
        } else {
            match (self.format, ev) {
                (Format::Xml, GridEvent::Item { envelope, .. }) => {
                    writeln!(out, "{}", envelope.document)?
                }
                (Format::Xml, other) => eprintln!("{}", other.to_json()),
                (Format::Json, ev) => {
                    ev.write_json(&mut *out)?;
                    writeln!(out)?
                }
            }
        }
        out.flush()?;
        Ok(is_item)
    }
}

fn write_file(dir: &Path, format: Format, ev: &GridEvent, item_id: &str) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir)?;
    let (ext, body) = match (format, ev) {
        (Format::Xml, GridEvent::Item { envelope, .. }) => ("xml", envelope.document.clone()),
        (_, ev) => ("json", serde_json::to_string(ev)?),
    };
    let path = dir.join(file_name(item_id, ext));
    // Write then rename: a reader never sees half a file.
    let tmp = path.with_extension(format!("{ext}.tmp"));
    std::fs::write(&tmp, body)?;
    std::fs::rename(&tmp, &path)?;
    Ok(())
}

/// Where events come from: a plain subscription (`--no-cursor`) or a
/// follower with a persistent cursor.
enum Source {
    Live(gridlink::grid::Subscription),
    Follow(Box<Follower>),
}

impl Source {
    async fn next(&mut self) -> Option<GridEvent> {
        match self {
            Source::Live(s) => s.next().await,
            Source::Follow(f) => f.next().await,
        }
    }

    async fn delivered(&self, ev: &GridEvent) -> anyhow::Result<()> {
        if let Source::Follow(f) = self {
            f.delivered(ev)
                .await
                .context("cannot record the delivery in the cursor store")?;
        }
        Ok(())
    }
}

/// Runs `gridlink subscribe`.
pub async fn subscribe(g: &Global, a: SubscribeArgs) -> anyhow::Result<ExitCode> {
    let grid = open_grid(g).await?;
    let selection = if a.all_iodef {
        TopicSelection::AllIodef
    } else {
        TopicSelection::Named(a.topics.clone())
    };
    let mut source = if a.no_cursor {
        Source::Live(grid.subscribe(selection, a.output.validate).await?)
    } else {
        let cfg = grid.session().config();
        gridlink::store::files::create_private_dir(&cfg.state_dir).with_context(|| {
            format!(
                "cannot create the state directory {}",
                cfg.state_dir.display()
            )
        })?;
        let path = cfg.state_dir.join(state_file(
            &cfg.jid.to_bare().to_string(),
            &format!("cursor-{}", a.cursor),
        ));
        let store = Store::open(&path)
            .with_context(|| format!("cannot open the cursor store {}", path.display()))?;
        Source::Follow(Box::new(
            Follower::start_paged(&grid, selection, a.output.validate, store, a.catch_up_page)
                .await?,
        ))
    };
    let stdout = std::io::stdout();
    let mut items = 0u64;
    loop {
        tokio::select! {
            ev = source.next() => {
                let Some(ev) = ev else {
                    match grid.session().failure() {
                        Some(why) => anyhow::bail!("the XMPP session ended: {why}"),
                        None => anyhow::bail!("the XMPP session closed"),
                    }
                };
                let is_item = a.output.emit(&ev, &mut stdout.lock())?;
                // Recorded only once written and flushed: a crash in between
                // repeats this one event rather than losing it.
                source.delivered(&ev).await?;
                if is_item {
                    items += 1;
                    if a.count.is_some_and(|c| items >= c) {
                        break;
                    }
                }
            }
            _ = tokio::signal::ctrl_c() => break,
        }
    }
    grid.close().await;
    Ok(ExitCode::SUCCESS)
}

/// Runs `gridlink items`.
pub async fn items(g: &Global, a: ItemsArgs) -> anyhow::Result<ExitCode> {
    let grid = open_grid(g).await?;
    let stdout = std::io::stdout();
    if a.max.is_some() || a.id.is_some() {
        let events = grid
            .items(&a.topic, a.max, a.id.as_deref(), a.output.validate)
            .await?;
        for ev in &events {
            a.output.emit(ev, &mut stdout.lock())?;
        }
    } else {
        // Everything the topic keeps, a page at a time, written as it comes.
        let mut failed = None;
        grid.for_each_item(&a.topic, a.page, a.output.validate, |ev| {
            match a.output.emit(&ev, &mut stdout.lock()) {
                Ok(_) => true,
                Err(e) => {
                    failed = Some(e);
                    false
                }
            }
        })
        .await?;
        if let Some(e) = failed {
            return Err(e);
        }
    }
    grid.close().await;
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::file_name;

    /// Item ids cannot escape the output directory.
    #[test]
    fn file_names_are_safe() {
        assert_eq!(
            file_name("../../etc/passwd", "xml"),
            "_.._.._etc_passwd.xml"
        );
        assert_eq!(file_name("..", "xml"), "_...xml");
        assert_eq!(file_name("csirt.example:1", "json"), "csirt.example:1.json");
        assert_eq!(file_name("", "xml"), "_.xml");
    }
}
