//! `gridlink rid serve | send | respond | pending`: the RID over HTTPS (RFC 6546) endpoint joined to
//! the grid, and the requester side. Settings come from `[rid]` in `--config`, overridden by flags.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context};

use gridlink::bridge::{grid_publisher, DEFAULT_CONFIRM_WAIT};
use gridlink::durable::{state_file, Outbox, OutboxOptions};
use gridlink::iodef::ValidationLevel;
use gridlink::rid::client::{Reply, RidClient};
use gridlink::rid::pending::Pending;
use gridlink::rid::{
    self, message, AuthorizationStatus, Justification, MsgType, PeerConfig, RidConfig,
};
use gridlink::source::Source;
use gridlink::store::Store;
use gridlink::{TopicOptions, DEFAULT_MAX_PAYLOAD};

use super::global::{open_grid, Global};

/// `gridlink rid serve`.
#[derive(clap::Args, Debug)]
pub struct ServeArgs {
    /// Address to listen on (`[rid] listen`; RFC 6546: port 4590).
    #[arg(long)]
    pub listen: Option<String>,
    /// This endpoint's certificate chain, PEM (`[rid] tls_cert`).
    #[arg(long)]
    pub tls_cert: Option<PathBuf>,
    /// Its private key, PEM (`[rid] tls_key`).
    #[arg(long)]
    pub tls_key: Option<PathBuf>,
    /// CA that peers' certificates chain to, PEM (`[rid] client_ca`): mutual TLS is required.
    #[arg(long)]
    pub client_ca: Option<PathBuf>,
    /// Topic Reports go to when their peer has none (`[rid] topic`).
    #[arg(long)]
    pub topic: Option<String>,
    /// Topic requests go to (`[rid] requests_topic`, default rid-requests).
    #[arg(long)]
    pub requests_topic: Option<String>,
    /// A peer by the DNS name its certificate carries, allowed Reports, Queries, Acks and Results
    /// (repeatable; `[[rid.peer]]` tables say more).
    #[arg(long = "peer")]
    pub peers: Vec<String>,
}

/// `gridlink rid send`.
#[derive(clap::Args, Debug)]
#[command(group(clap::ArgGroup::new("what").required(true).args(["report", "query", "investigate", "message"])))]
pub struct SendArgs {
    /// The peer's RID endpoint, e.g. https://rid.csirt-b.example:4590/.
    #[arg(long)]
    pub to: String,
    /// Send this IODEF v2 document as a Report.
    #[arg(long)]
    pub report: Option<PathBuf>,
    /// Query by IncidentID: `NAME:ID`, or an ID whose name is the part before `#`.
    #[arg(long)]
    pub query: Option<String>,
    /// Send this IODEF v2 document as an InvestigationRequest.
    #[arg(long)]
    pub investigate: Option<PathBuf>,
    /// Send this RID message as it is.
    #[arg(long)]
    pub message: Option<PathBuf>,
    #[command(flatten)]
    pub tls: ClientTls,
}

/// The requester's certificate and trust (default: `[rid] tls_cert`, `tls_key`, `client_ca`).
#[derive(clap::Args, Debug)]
pub struct ClientTls {
    /// Certificate presented to the peer, PEM.
    #[arg(long)]
    pub tls_cert: Option<PathBuf>,
    /// Its key, PEM.
    #[arg(long)]
    pub tls_key: Option<PathBuf>,
    /// CA the peer's certificate chains to, PEM.
    #[arg(long)]
    pub peer_ca: Option<PathBuf>,
    /// CRL file for the peer's certificate path (repeatable; default `[rid] crl`).
    #[arg(long = "crl")]
    pub crl: Vec<PathBuf>,
    /// This system's address, RIDPolicy/Node of what it sends (`[rid] node`).
    #[arg(long)]
    pub node: Option<String>,
}

/// `gridlink rid respond`.
#[derive(clap::Args, Debug)]
#[command(group(clap::ArgGroup::new("answer").required(true).args(["result", "deny"])))]
pub struct RespondArgs {
    /// The token of the waiting request (`gridlink rid pending` lists them).
    #[arg(long)]
    pub token: String,
    /// Send this IODEF v2 document back as the Result.
    #[arg(long)]
    pub result: Option<PathBuf>,
    /// With --result: the source was found.
    #[arg(long)]
    pub found: bool,
    /// With --result: a source address found (repeatable).
    #[arg(long = "source")]
    pub sources: Vec<String>,
    /// Refuse the request (an Acknowledgement Denied), sent to the requester and, when the
    /// request's detached signature is by another configured peer, to that originator too.
    #[arg(long)]
    pub deny: bool,
    #[command(flatten)]
    pub tls: ClientTls,
}

/// Reads a file or stdin, at most one byte over the RID limit.
pub fn read_input(path: &Path) -> anyhow::Result<Vec<u8>> {
    let mut buf = Vec::new();
    let limit = rid::MAX_MESSAGE_BYTES as u64 + 1;
    if path == Path::new("-") {
        std::io::stdin()
            .lock()
            .take(limit)
            .read_to_end(&mut buf)
            .context("reading stdin")?;
    } else {
        let f = std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
        f.take(limit)
            .read_to_end(&mut buf)
            .with_context(|| format!("reading {}", path.display()))?;
    }
    Ok(buf)
}

fn rid_table(g: &Global) -> anyhow::Result<RidConfig> {
    match g.file()?.rid {
        Some(t) => t.try_into().context("the [rid] table"),
        None => Ok(RidConfig::default()),
    }
}

fn need<T: Clone>(v: Option<T>, what: &str) -> anyhow::Result<T> {
    v.with_context(|| format!("{what} is needed (flag or [rid] key)"))
}

fn pending_dir(g: &Global, c: &RidConfig) -> anyhow::Result<PathBuf> {
    Ok(match &c.state_dir {
        Some(d) => d.clone(),
        None => g.connection()?.state_dir.join("rid-pending"),
    })
}

/// `gridlink rid serve`: runs until interrupted.
pub async fn serve(g: &Global, a: ServeArgs) -> anyhow::Result<ExitCode> {
    // Flags override the `[rid]` table key by key.
    let mut c = rid_table(g)?;
    c.listen = a.listen.or(c.listen);
    c.tls_cert = a.tls_cert.or(c.tls_cert);
    c.tls_key = a.tls_key.or(c.tls_key);
    c.client_ca = a.client_ca.or(c.client_ca);
    c.topic = a.topic.or(c.topic);
    c.requests_topic = a.requests_topic.or(c.requests_topic);
    let mut peer_tables = c.peer.take().unwrap_or_default();
    peer_tables.extend(a.peers.into_iter().map(|name| PeerConfig {
        name,
        pin_sha256: None,
        allow: None,
        topic: None,
        url: None,
        callback_port: None,
    }));
    c.peer = Some(peer_tables);
    let cfg = g.connection()?;
    let plan = c.plan(&cfg.state_dir)?;
    let grid = open_grid(g).await?;
    for t in &plan.topics {
        grid.ensure_topic(t, &TopicOptions::default())
            .await
            .with_context(|| format!("topic {t}"))?;
    }
    gridlink::store::files::create_private_dir(&cfg.state_dir)
        .with_context(|| format!("cannot create {}", cfg.state_dir.display()))?;
    let path = cfg
        .state_dir
        .join(state_file(&cfg.jid.to_bare().to_string(), "rid"));
    let store = Store::open(&path).with_context(|| format!("cannot open {}", path.display()))?;
    let outbox = Outbox::new(store.clone(), OutboxOptions::default());
    {
        let (outbox, grid) = (outbox.clone(), grid.clone());
        tokio::spawn(async move {
            if let Err(e) = outbox.drain(&grid, false, |_| {}).await {
                tracing::error!(error = %e, "outbox store failed; queued documents stay on disk");
            }
        });
    }
    let publisher = grid_publisher(
        grid.clone(),
        store.clone(),
        outbox,
        plan.topics.clone(),
        ValidationLevel::Strict,
        DEFAULT_MAX_PAYLOAD,
        DEFAULT_CONFIRM_WAIT,
    );
    // What this endpoint published is in its own store; older items the broker still keeps.
    let server = plan.server(publisher, store, &grid, plan.query_topics(&[]))?;
    let addr = server.local_addr()?;
    // Listening before the line below says "ready" (see `shutdown.rs`).
    let mut shutdown = super::shutdown::Shutdown::listen().context("signal handlers")?;
    tracing::info!(%addr, "RID endpoint listening (RFC 6546, mutual TLS)");
    eprintln!("gridlink rid: listening on https://{addr}/");
    // Run as the source it is: one shutdown signal, as in the bridge.
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let task = tokio::spawn(Box::new(server).run(stopped));
    shutdown.recv().await;
    let _ = stop.send(true);
    let _ = task.await;
    grid.close().await;
    Ok(ExitCode::SUCCESS)
}

fn client(g: &Global, t: &ClientTls) -> anyhow::Result<(RidClient, String)> {
    let c = rid_table(g)?;
    let cert = need(t.tls_cert.clone().or(c.tls_cert.clone()), "--tls-cert")?;
    let key = need(t.tls_key.clone().or(c.tls_key.clone()), "--tls-key")?;
    let ca = need(t.peer_ca.clone().or(c.client_ca.clone()), "--peer-ca")?;
    let node = t
        .node
        .clone()
        .or(c.node.clone())
        .unwrap_or_else(|| "127.0.0.1".into());
    let crl = if t.crl.is_empty() {
        c.crl.clone().unwrap_or_default()
    } else {
        t.crl.clone()
    };
    let client = RidClient::with_crls(&cert, &key, &ca, &crl)?;
    let client = if c.sign == Some(false) {
        client.unsigned()
    } else {
        client
    };
    Ok((client, node))
}

fn iodef_file(path: &Path) -> anyhow::Result<gridlink::iodef::Document> {
    let bytes = read_input(path)?;
    let doc = gridlink::iodef::parse(&bytes).with_context(|| format!("{}", path.display()))?;
    let problems = doc.validate();
    if !problems.is_empty() {
        let lines: Vec<String> = problems.iter().map(|p| p.to_string()).collect();
        bail!(
            "{} is not valid IODEF v2:\n{}",
            path.display(),
            lines.join("\n")
        );
    }
    Ok(doc)
}

fn print_reply(r: Reply) -> ExitCode {
    match r {
        Reply::Message(m) => {
            print!("{}", m.to_xml());
            let denied = m
                .status
                .as_ref()
                .is_some_and(|s| s.status.value == AuthorizationStatus::Denied);
            if denied {
                ExitCode::from(2)
            } else {
                ExitCode::SUCCESS
            }
        }
        Reply::Empty => {
            eprintln!("accepted");
            ExitCode::SUCCESS
        }
        Reply::Later(token) => {
            eprintln!("accepted; the answer comes later (callback token {token})");
            ExitCode::SUCCESS
        }
    }
}

/// `gridlink rid send`.
pub async fn send(g: &Global, a: SendArgs) -> anyhow::Result<ExitCode> {
    let (client, node) = client(g, &a.tls)?;
    let msg = if let Some(f) = &a.report {
        message::enclosing(MsgType::Report, &iodef_file(f)?, &node)
            .context("wrapping the document")?
    } else if let Some(f) = &a.investigate {
        message::enclosing(MsgType::InvestigationRequest, &iodef_file(f)?, &node)
            .context("wrapping the document")?
    } else if let Some(q) = &a.query {
        let (name, id) = match q.split_once(':') {
            Some((n, i)) => (n.to_string(), i.to_string()),
            None => (q.split('#').next().unwrap_or(q).to_string(), q.clone()),
        };
        message::query(&name, &id, &node)
    } else {
        let path = a.message.clone().unwrap_or_default();
        rid::parse(&read_input(&path)?).with_context(|| format!("{}", path.display()))?
    };
    // RFC 6545 §5.1: a RIDSystem Node's NodeName must resolve to its Address.
    if let Err(why) = gridlink::rid::trace::check_node_name(&msg).await {
        bail!("not sent: {why}");
    }
    Ok(print_reply(client.send(&a.to, &msg, None).await?))
}

/// `gridlink rid respond`: the operator's decision on a waiting request, sent back with its token.
pub async fn respond(g: &Global, a: RespondArgs) -> anyhow::Result<ExitCode> {
    let c = rid_table(g)?;
    let pending = Pending::open(&pending_dir(g, &c)?)?;
    let req = pending
        .get(&a.token)
        .with_context(|| format!("no waiting request with token {}", a.token))?;
    let (client, node) = client(g, &a.tls)?;
    let id = rid::IncidentId {
        name: req.incident_name.clone(),
        instance: None,
        restriction: None,
        value: req.incident_id.clone(),
    };
    let msg = match &a.result {
        Some(f) => {
            let sources: Vec<&str> = a.sources.iter().map(String::as_str).collect();
            let mut m = message::result(&iodef_file(f)?, a.found, &sources, &node)
                .context("wrapping the document")?;
            if let Some(p) = m.policy.as_mut() {
                p.incident_id = Some(id);
            }
            m
        }
        None => {
            let mut asked = message::query(&id.name, &id.value, &node);
            let kind = match req.msg_type.as_str() {
                "TraceRequest" => MsgType::TraceRequest,
                _ => MsgType::InvestigationRequest,
            };
            asked
                .policy
                .iter_mut()
                .for_each(|p| p.msg_type = rid::Coded::of(kind));
            message::acknowledgement(
                &asked,
                AuthorizationStatus::Denied,
                Some(Justification::CannotProcess),
                &node,
            )
        }
    };
    // RFC 6545 §6.2: a Denied Acknowledgement reaches the originator as well as the sending peer.
    // The originator first: if it cannot be told, the request stays waiting and the whole answer
    // can be given again (receivers deduplicate, RFC 6546 §3).
    if let (true, Some(name)) = (a.deny, &req.originator) {
        let peer = c.peer.iter().flatten().find(|p| &p.name == name);
        match peer {
            Some(p) => {
                let url = p.url();
                client
                    .send(&url, &msg, None)
                    .await
                    .with_context(|| format!("telling the originator {name} ({url})"))?;
                eprintln!("told the originator {name} ({url})");
            }
            None => eprintln!(
                "warning: the originator {name} has no [[rid.peer]] table any more: not told"
            ),
        }
    }
    // RFC 6546 §3: to the request's source address unless the peer's URL is configured.
    let client = req.callback_client(&client)?;
    let reply = client.send(&req.url, &msg, Some(&req.token)).await?;
    pending.remove(&req.token)?;
    match &req.connect_to {
        Some(ip) => eprintln!("sent to {} ({} at {ip})", req.peer, req.url),
        None => eprintln!("sent to {} ({})", req.peer, req.url),
    }
    Ok(print_reply(reply))
}

/// `gridlink rid pending`: the requests waiting for a Result, one JSON line each.
pub fn list_pending(g: &Global) -> anyhow::Result<ExitCode> {
    let c = rid_table(g)?;
    for r in Pending::open(&pending_dir(g, &c)?)?.list() {
        println!("{}", serde_json::to_string(&r)?);
    }
    Ok(ExitCode::SUCCESS)
}
