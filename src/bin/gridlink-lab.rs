//! `gridlink-lab`: a working XMPP-Grid on this machine in one command.
//!
//! Starts a throwaway Prosody (TLS with a fresh CA, SQL storage, a pubsub
//! service), then runs, inside one process, what a real deployment runs as
//! separate gridlink instances: a controller that creates the `incidents`
//! topic and replays example IODEF incidents into it every few seconds (each
//! round a new instance of the incident, generated now, so that subscribers
//! see a stream), and a SIEM-style subscriber that prints one short line per
//! incident (the full JSON lines go to a file). It also prints the commands
//! to join the same grid from another terminal, every few incidents and on
//! Enter; they carry a state directory inside the lab's own, so that no run
//! shares a cursor with another or with the user's home.

use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use gridlink::grid::{Affiliation, Grid, GridEvent, Payload, TopicOptions, TopicSelection};
use gridlink::iodef::ValidationLevel;
use gridlink::lab::{Prosody, ProsodyOptions};

/// Example incidents (RFC 7970 §7.1, RFC 8274 B.1 and B.3; provenance in
/// deploy/examples/README.md).
const EXAMPLES: &[(&str, &str)] = &[
    (
        "RFC 7970 minimal",
        include_str!("../../deploy/examples/rfc7970-sec7.1-minimal.xml"),
    ),
    (
        "RFC 8274 malware delivery URL",
        include_str!("../../deploy/examples/rfc8274-appB.1-malware-delivery-url.xml"),
    ),
    (
        "RFC 8274 spear phishing",
        include_str!("../../deploy/examples/rfc8274-appB.3-spear-phishing.xml"),
    ),
];

/// Runs a local XMPP-Grid lab: Prosody + gridlink publisher and subscriber.
#[derive(Parser, Debug)]
#[command(name = "gridlink-lab", version)]
struct Args {
    /// Seconds between two published incidents.
    #[arg(long, default_value_t = 3)]
    interval: u64,
    /// Stop after this many publications (default: run until Ctrl-C).
    #[arg(long)]
    rounds: Option<u64>,
    /// The topic to use.
    #[arg(long, default_value = "incidents")]
    topic: String,
    /// Where the ROLIE bridge listens (a free port is used if this one is taken).
    #[arg(long, default_value = "127.0.0.1:8080")]
    http: std::net::SocketAddr,
    /// Where the subscriber writes its JSON lines [default: siem.jsonl in
    /// the lab's directory, removed when the lab stops].
    #[arg(long)]
    json_out: Option<std::path::PathBuf>,
    /// Show the commands for another terminal again after this many
    /// incidents (0: only at the start and on Enter).
    #[arg(long, default_value_t = 10)]
    hint_every: u64,
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let _ = tokio_rustls::rustls::crypto::aws_lc_rs::default_provider().install_default();
    match run(args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("gridlink-lab: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(args: Args) -> anyhow::Result<()> {
    let mut opts = ProsodyOptions {
        log_level: "info",
        // Ctrl-C reaches the lab only; it closes its sessions, then stops Prosody.
        own_process_group: true,
        ..Default::default()
    };
    opts.users.push(("bridge".into(), "bridge-pw".into()));
    let prosody = tokio::task::spawn_blocking(move || Prosody::start(opts)).await??;
    say(
        "lab",
        &format!(
        "Prosody is up: STARTTLS on 127.0.0.1:{}, direct TLS on 127.0.0.1:{}, pubsub service {}",
        prosody.c2s_port, prosody.direct_tls_port, prosody.pubsub
    ),
    );
    say(
        "lab",
        &format!("state, logs and CA in {}", prosody.dir().display()),
    );

    let controller = Grid::connect(prosody.client_config("publisher", "publisher-pw")).await?;
    say(
        "controller",
        &format!(
            "logged in as {} with {}",
            controller.session().jid(),
            controller.session().mechanism()
        ),
    );
    let topic = args.topic.as_str();
    let ensured = controller
        .ensure_topic(
            topic,
            &TopicOptions {
                title: Some("Lab incidents".into()),
                description: Some("IODEF v2 incidents replayed by gridlink-lab".into()),
                ..Default::default()
            },
        )
        .await?;
    say(
        "controller",
        &format!(
            "topic {topic:?} {} (access model {})",
            if ensured.created { "created" } else { "exists" },
            ensured.info.access_model.as_deref().unwrap_or("?")
        ),
    );
    controller
        .set_affiliation(topic, &"subscriber@localhost".parse()?, Affiliation::Member)
        .await?;
    controller
        .set_affiliation(topic, &"bridge@localhost".parse()?, Affiliation::Publisher)
        .await?;
    let (bridge_addr, stop_bridge, bridge_task) = start_bridge(&prosody, topic, args.http).await?;
    let base = format!("http://{bridge_addr}");
    say(
        "bridge",
        &format!("ROLIE repository at {base}/rolie/servicedocument"),
    );
    say(
        "bridge",
        &format!("web pages at {base}/ (topics, search, live view: open in a browser)"),
    );

    let siem = Grid::connect(prosody.client_config("subscriber", "subscriber-pw")).await?;
    let topics = siem.discover(true).await?;
    say(
        "siem",
        &format!(
            "discovered {} topic(s) on {}:",
            topics.len(),
            siem.service()
        ),
    );
    for t in &topics {
        say(
            "siem",
            &format!(
                "  {}  type={}  access={}",
                t.node,
                t.payload_type.as_deref().unwrap_or("(untyped)"),
                t.access_model.as_deref().unwrap_or("?")
            ),
        );
    }
    let mut sub = siem
        .subscribe(TopicSelection::AllIodef, ValidationLevel::Basic)
        .await?;
    say("siem", "subscribed to every IODEF topic; incidents follow");

    let json_path = args
        .json_out
        .clone()
        .unwrap_or_else(|| prosody.dir().join("siem.jsonl"));
    let mut json_out = std::io::BufWriter::new(std::fs::File::create(&json_path)?);
    say(
        "siem",
        &format!("JSON lines of every event go to {}", json_path.display()),
    );
    let hint = join_hint(&prosody, topic, &base)?;
    eprintln!("{hint}");
    let mut enter = enter_presses();
    let run_stamp = chrono::Utc::now().format("%H%M%S").to_string();

    // `kill` and `docker stop` send SIGTERM: stop as on Ctrl-C, so that the
    // lab's Prosody is stopped too instead of being left running. Both are
    // listened to from here on, not per turn of the loop: a signal that
    // arrives while a publication is under way is kept for the next turn
    // (`tokio::signal::ctrl_c()` made anew each turn would miss it).
    use tokio::signal::unix::{signal, SignalKind};
    let mut terminate = signal(SignalKind::terminate())?;
    let mut interrupt = signal(SignalKind::interrupt())?;
    let mut tick = tokio::time::interval(Duration::from_secs(args.interval.max(1)));
    let mut published = 0u64;
    let mut received = 0u64;
    loop {
        tokio::select! {
            _ = tick.tick(), if args.rounds.is_none_or(|r| published < r) => {
                let (name, xml) = EXAMPLES[(published as usize) % EXAMPLES.len()];
                let doc = this_round(xml, &format!("lab-{run_stamp}-{}", published + 1));
                let p = Payload::prepare(doc.as_bytes(), ValidationLevel::Strict, 1 << 20)?;
                let id = controller.publish(topic, &p).await?;
                published += 1;
                say("controller", &format!("published {id} ({name})"));
            }
            Some(()) = enter.recv() => eprintln!("{hint}"),
            ev = sub.next() => {
                let Some(ev) = ev else { anyhow::bail!("subscriber session closed") };
                say("siem", &one_line(&ev));
                {
                    use std::io::Write;
                    writeln!(json_out, "{}", ev.to_json())?;
                    json_out.flush()?;
                }
                if matches!(ev, GridEvent::Item { .. }) {
                    received += 1;
                    if args.hint_every > 0 && received.is_multiple_of(args.hint_every) {
                        eprintln!("{hint}");
                    }
                }
                if args.rounds.is_some_and(|r| received >= r) {
                    break;
                }
            }
            _ = interrupt.recv() => break,
            _ = terminate.recv() => break,
        }
    }
    say(
        "lab",
        &format!("published {published}, received {received}; stopping"),
    );
    let _ = stop_bridge.send(());
    let _ = bridge_task.await;
    controller.close().await;
    siem.close().await;
    drop(prosody);
    Ok(())
}

/// One line of the lab's story, on stderr (the JSON lines go to a file).
fn say(who: &str, what: &str) {
    eprintln!("[{who:>10}] {what}");
}

type BridgeHandle = (
    std::net::SocketAddr,
    tokio::sync::oneshot::Sender<()>,
    tokio::task::JoinHandle<()>,
);

/// Runs the ROLIE bridge as the `bridge` account, with a write token in the lab dir.
async fn start_bridge(
    p: &Prosody,
    topic: &str,
    http: std::net::SocketAddr,
) -> anyhow::Result<BridgeHandle> {
    use gridlink::bridge::{Bridge, BridgeOptions};
    let tokens = p.dir().join("write-tokens");
    gridlink::store::files::write_private(&tokens, b"lab-token\n")?;
    let listen = match std::net::TcpListener::bind(http) {
        Ok(l) => l.local_addr()?,
        Err(_) => "127.0.0.1:0".parse()?,
    };
    let rolie = gridlink::rolie::RolieConfig {
        listen,
        write_token_file: Some(tokens),
        ..Default::default()
    };
    let store = gridlink::store::Store::open(p.dir().join("bridge.sqlite"))?;
    let grid = Grid::connect(p.client_config("bridge", "bridge-pw")).await?;
    let bridge = Bridge::start(
        grid,
        store,
        BridgeOptions {
            topics: TopicSelection::Named(vec![topic.to_string()]),
            rolie,
            state_dir: p.dir().join("poll"),
            ..Default::default()
        },
    )
    .await?;
    let addr = bridge.local_addr();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        if let Err(e) = bridge
            .run(async {
                let _ = rx.await;
            })
            .await
        {
            eprintln!("gridlink-lab: bridge: {e}");
        }
    });
    Ok((addr, tx, task))
}

/// `xml` as this round's incident: the IncidentID gets `instance` (so the
/// item id, `name:id:instance`, is new and subscribers see a new incident,
/// not a replacement they already have) and GenerationTime is now.
fn this_round(xml: &str, instance: &str) -> String {
    let mut doc = xml.replacen(
        "IncidentID name=",
        &format!("IncidentID instance=\"{instance}\" name="),
        1,
    );
    if let Some(open) = doc.find("GenerationTime>") {
        let start = open + "GenerationTime>".len();
        if let Some(len) = doc[start..].find("</") {
            let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
            doc.replace_range(start..start + len, &now);
        }
    }
    doc
}

/// One short line for an event of the lab's subscriber.
fn one_line(ev: &GridEvent) -> String {
    match ev {
        GridEvent::Item { envelope, .. } => {
            let summary = gridlink::iodef::parse(envelope.document.as_bytes())
                .map(|d| d.summary())
                .ok();
            let first = summary.as_ref().and_then(|s| s.incidents.first());
            let mut what: String = first
                .and_then(|i| i.description.as_deref())
                .unwrap_or("")
                .chars()
                .take(60)
                .collect();
            if what.len()
                < first
                    .and_then(|i| i.description.as_ref())
                    .map_or(0, |d| d.len())
            {
                what.push('…');
            }
            format!(
                "incident {} on {}: {} {}",
                envelope.item_id,
                envelope.topic,
                first.map(|i| i.purpose.as_str()).unwrap_or("?"),
                what
            )
        }
        other => {
            let json = other.to_json();
            format!("event {}", json["kind"].as_str().unwrap_or("?"))
        }
    }
}

/// A message per line read from stdin (Enter): the hint is shown again.
/// Ends with stdin (closed or not a terminal: nothing is read then).
fn enter_presses() -> tokio::sync::mpsc::Receiver<()> {
    let (tx, rx) = tokio::sync::mpsc::channel(1);
    if std::io::IsTerminal::is_terminal(&std::io::stdin()) {
        std::thread::spawn(move || {
            let mut line = String::new();
            while std::io::stdin().read_line(&mut line).is_ok_and(|n| n > 0) {
                line.clear();
                if tx.blocking_send(()).is_err() {
                    break;
                }
            }
        });
    }
    rx
}

/// The commands to join the lab from another terminal, with everything
/// they need spelled out: account, server, CA, a state directory of this
/// lab's own (cursors never shared with other runs or the user's home),
/// and absolute paths (they work from any directory).
fn join_hint(p: &Prosody, topic: &str, base: &str) -> anyhow::Result<String> {
    // A document the lab never replays, for the POST: its incident stays.
    let post = p.dir().join("your-incident.xml");
    std::fs::write(&post, YOUR_INCIDENT)?;
    let state = p.dir().join("state");
    let sibling = std::env::current_exe()
        .ok()
        .and_then(|e| e.parent().map(|d| d.join("gridlink")))
        .filter(|g| g.exists());
    let how = match sibling {
        Some(g) => format!("    alias gridlink={}\n", g.display()),
        None if on_path("gridlink") => String::new(),
        None => format!(
            "    cargo install --path {}    # installs gridlink\n",
            env!("CARGO_MANIFEST_DIR")
        ),
    };
    Ok(format!(
        "[       lab] try this in another terminal (press Enter here to show it again):\n\
         {how}\
         \x20   export GRIDLINK_JID=subscriber@localhost GRIDLINK_PASSWORD=subscriber-pw \\\n\
         \x20          GRIDLINK_SERVER=127.0.0.1:{port} GRIDLINK_CA_FILE={ca} \\\n\
         \x20          GRIDLINK_STATE_DIR={state}\n\
         \x20   gridlink discover\n\
         \x20   gridlink subscribe --topic {topic}       # what the topic keeps, then each new incident\n\
         \x20   gridlink items --topic {topic} --max 3\n\
         \x20   curl {base}/rolie/feeds/{topic}\n\
         \x20   xdg-open {base}/                     # the analyst's web pages\n\
         \x20   curl -H 'Authorization: Bearer lab-token' -H 'Content-Type: application/xml' \\\n\
         \x20        --data-binary @{post} {base}/rolie/feeds/{topic}",
        port = p.c2s_port,
        ca = p.ca.ca_pem.display(),
        state = state.display(),
        post = post.display(),
    ))
}

/// Whether `name` is an executable in a directory of PATH.
fn on_path(name: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|d| d.join(name).is_file()))
}

/// The document of the hint's POST: an incident id of its own.
const YOUR_INCIDENT: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<IODEF-Document version="2.00" xml:lang="en" xmlns="urn:ietf:params:xml:ns:iodef-2.0">
  <Incident purpose="reporting" restriction="green">
    <IncidentID name="soc.lab.example">first-post-1</IncidentID>
    <GenerationTime>2026-01-01T00:00:00Z</GenerationTime>
    <Description>Posted by you through the lab's ROLIE bridge</Description>
    <Contact type="organization" role="creator">
      <Email><EmailTo>soc@lab.example</EmailTo></Email>
    </Contact>
  </Incident>
</IODEF-Document>
"#;
