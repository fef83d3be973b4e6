//! `gridlink subscribe` and `gridlink items`: events as JSON lines (or raw
//! XML documents) on stdout, or one file per item.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, ValueEnum};
use gridlink::durable::{state_file, FollowError, Follower};
use gridlink::grid::{GridEvent, TopicSelection};
use gridlink::iodef::ValidationLevel;
use gridlink::sink::{
    self, Fanout, FanoutOptions, FilesSink, JsonLinesSink, Sink, SinkConfig, SinkError,
};
use gridlink::source::GridSource;
use gridlink::store::Store;

use super::explain::{explain, Action};
use super::global::{open_follower_grid, open_grid, open_one_shot_grid, Global};

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
    /// Send events to a SIEM instead of stdout (repeatable): syslog://HOST:PORT,
    /// syslog+tls://HOST:PORT, syslog+udp://HOST:PORT, http(s)://HOST/PATH,
    /// splunk-hec+https://HOST:PORT, elastic+https://HOST:PORT/INDEX. Settings
    /// as query parameters (?app_name=…&facility=…&batch_size=…&token_file=…);
    /// --ca-file applies unless the URL names its own ca_file. Each sink keeps
    /// its own cursor in --state-dir and retries until its receiver accepts;
    /// events it refuses go to dead-letter-SINK.jsonl there.
    #[arg(long = "to", value_name = "URL")]
    pub to: Vec<String>,
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

impl Output {
    /// The sink these options ask for: one file per item, or lines on
    /// stdout.
    fn sink(&self) -> Box<dyn Sink> {
        let format = match self.format {
            Format::Json => sink::Format::Json,
            Format::Xml => sink::Format::Xml,
        };
        match &self.out {
            Some(dir) => Box::new(FilesSink::new(dir.clone(), format)),
            None => Box::new(JsonLinesSink::stdout(format)),
        }
    }
}

/// Delivers `ev` to `sink`; `Ok(false)` once the reader has gone away (a
/// closed pipe ends the command quietly, as Unix tools do).
async fn emit(sink: &mut Box<dyn Sink>, ev: &GridEvent) -> anyhow::Result<bool> {
    match sink.deliver(ev).await {
        Ok(()) => Ok(true),
        Err(SinkError::Closed { .. }) => Ok(false),
        Err(e) => Err(e.into()),
    }
}

/// Runs `gridlink subscribe`.
pub async fn subscribe(g: &Global, a: SubscribeArgs) -> anyhow::Result<ExitCode> {
    // Listening from the start, one listener for every wait (see `shutdown.rs`).
    let mut shutdown = super::shutdown::Shutdown::listen().context("signal handlers")?;
    let grid = if a.no_cursor {
        open_grid(g).await?
    } else {
        open_follower_grid(g).await?
    };
    let selection = if a.all_iodef {
        TopicSelection::AllIodef
    } else {
        TopicSelection::Named(a.topics.clone())
    };
    let named = a.topics.join(", ");
    let mut source = if a.no_cursor {
        GridSource::Live(
            grid.subscribe(selection, a.output.validate)
                .await
                .map_err(|e| explain(&grid, e, &named, Action::Read))?,
        )
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
        let follower =
            Follower::start_paged(&grid, selection, a.output.validate, store, a.catch_up_page)
                .await
                .map_err(|e| match e {
                    FollowError::Grid(e) => explain(&grid, e, &named, Action::Read),
                    other => other.into(),
                })?;
        GridSource::Follow(Box::new(follower))
    };
    // A preset of the router: the grid source, one sink, or the --to sinks
    // (each with its own cursor in the journal of the cursor store).
    let cfg = grid.session().config();
    let mut sinks = Vec::new();
    for url in &a.to {
        let mut table = SinkConfig::from_url(url)?;
        if let SinkConfig::Syslog { ca_file, .. } | SinkConfig::Http { ca_file, .. } = &mut table {
            if ca_file.is_none() {
                ca_file.clone_from(&cfg.ca_file);
            }
        }
        sinks.push(table.build()?);
    }
    if a.to.is_empty() || a.output.out.is_some() {
        sinks.push(a.output.sink());
    }
    let journal = match &source {
        GridSource::Follow(f) => f.store().clone(),
        GridSource::Live(_) => Store::open_in_memory()?,
    };
    let fanout_opts = FanoutOptions {
        dead_letter_dir: cfg.state_dir.clone(),
        backoff: Default::default(),
    };
    let mut sink = Fanout::start(sinks, &journal, fanout_opts).await?;
    let mut items = 0u64;
    // Said once, on stderr only (stdout stays JSON lines): a subscriber
    // with nothing new to print otherwise looks dead.
    let mut announced = false;
    loop {
        if !announced && source.caught_up().await {
            announced = true;
            let cursor = (!a.no_cursor).then_some(a.cursor.as_str());
            eprintln!("{}", caught_up_line(&source.topics(), items, cursor));
        }
        tokio::select! {
            ev = source.next() => {
                let Some(ev) = ev else {
                    match grid.session().failure() {
                        Some(why) => anyhow::bail!("the XMPP session ended: {why}"),
                        None => anyhow::bail!("the XMPP session closed"),
                    }
                };
                match sink.deliver(&ev).await {
                    Ok(()) => {}
                    Err(SinkError::Closed { .. }) => break,
                    Err(e) => return Err(e.into()),
                }
                // Recorded only once written and flushed: a crash in between
                // repeats this one event rather than losing it.
                source
                    .acknowledge(&ev)
                    .await
                    .context("cannot record the delivery in the cursor store")?;
                if matches!(ev, GridEvent::Item { .. }) {
                    items += 1;
                    if a.count.is_some_and(|c| items >= c) {
                        break;
                    }
                }
            }
            _ = shutdown.recv() => break,
        }
    }
    // With --count, the remote sinks deliver what was counted before the
    // command ends (Ctrl-C stops waiting; the journal keeps the rest).
    if a.count.is_some_and(|c| items >= c) {
        tokio::select! {
            _ = async { while !sink.flush(std::time::Duration::from_secs(1)).await {} } => {}
            _ = shutdown.recv() => {}
        }
    }
    let monitor = sink.monitor();
    sink.close().await;
    for s in monitor.sinks() {
        use std::sync::atomic::Ordering::Relaxed;
        eprintln!(
            "gridlink: sink {}: sent {}, retried {}, failed attempts {}, dead-lettered {}, behind {}",
            s.name,
            s.sent.load(Relaxed),
            s.retried.load(Relaxed),
            s.failed.load(Relaxed),
            s.dead_lettered.load(Relaxed),
            monitor.lag(s)
        );
    }
    grid.close().await;
    Ok(ExitCode::SUCCESS)
}

/// The line `subscribe` prints once everything kept was delivered.
fn caught_up_line(topics: &[String], delivered: u64, cursor: Option<&str>) -> String {
    let topics = if topics.is_empty() {
        "no topic yet".to_string()
    } else {
        topics.join(", ")
    };
    let done = match cursor {
        None => "following live (--no-cursor)".to_string(),
        Some(c) if delivered == 0 => {
            format!("caught up: nothing on {topics} that cursor {c:?} has not delivered before")
        }
        Some(_) => format!("caught up on {topics}: {delivered} item(s) printed"),
    };
    format!("gridlink: {done}; waiting for new items (Ctrl-C stops)")
}

/// Runs `gridlink items`.
pub async fn items(g: &Global, a: ItemsArgs) -> anyhow::Result<ExitCode> {
    let grid = open_one_shot_grid(g).await?;
    let mut sink = a.output.sink();
    if a.max.is_some() || a.id.is_some() {
        let events = grid
            .items(&a.topic, a.max, a.id.as_deref(), a.output.validate)
            .await
            .map_err(|e| explain(&grid, e, &a.topic, Action::Read))?;
        for ev in &events {
            if !emit(&mut sink, ev).await? {
                break;
            }
        }
    } else {
        // Everything the topic keeps, a page at a time, written as it
        // comes (the sinks write synchronously, so their future is ready
        // at once and the callback can drive it).
        let mut failed = None;
        grid.for_each_item(&a.topic, a.page, a.output.validate, |ev| {
            match futures::executor::block_on(emit(&mut sink, &ev)) {
                Ok(more) => more,
                Err(e) => {
                    failed = Some(e);
                    false
                }
            }
        })
        .await
        .map_err(|e| explain(&grid, e, &a.topic, Action::Read))?;
        if let Some(e) = failed {
            return Err(e);
        }
    }
    grid.close().await;
    Ok(ExitCode::SUCCESS)
}
