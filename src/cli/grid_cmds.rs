//! `gridlink discover` and `gridlink topic …`.

use std::process::ExitCode;

use clap::{Args, Subcommand};
use gridlink::grid::{AccessModel, Affiliation, JidState, TopicInfo, TopicOptions};
use gridlink::vuln::PayloadType;
use tokio_xmpp::jid::Jid;

use super::explain::{explain, Action};
use super::global::{open_one_shot_grid, Global};

/// `discover` options.
#[derive(Args, Debug)]
pub struct DiscoverArgs {
    /// Also list nodes that carry none of gridlink's payload types (IODEF, CSAF, CVE).
    #[arg(long)]
    pub all: bool,
    /// Print JSON (an array of topics) instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// `topic` subcommands.
#[derive(Subcommand, Debug)]
pub enum TopicCommand {
    /// Create a topic (pubsub#type = IODEF v2 unless --payload says CSAF or CVE; persistent items).
    #[command(
        after_help = "Examples:\n  gridlink topic create incidents --title Incidents --max-items 5000\n  gridlink topic create triage --access-model authorize\n  gridlink topic create advisories --payload csaf"
    )]
    Create(CreateArgs),
    /// Create the topic if missing; if it exists, check its type and access model.
    #[command(
        after_help = "Examples:\n  gridlink topic ensure incidents    # exit 0 if it exists and is an IODEF topic"
    )]
    Ensure(CreateArgs),
    /// Show a topic's meta-data.
    #[command(
        after_help = "Examples:\n  gridlink topic info incidents\n  gridlink topic info incidents --json"
    )]
    Info {
        /// The topic (pubsub node).
        node: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Remove every item of a topic (owner only); the topic stays.
    #[command(after_help = "Examples:\n  gridlink topic purge incidents")]
    Purge {
        /// The topic.
        node: String,
    },
    /// Delete a topic (owner only).
    #[command(after_help = "Examples:\n  gridlink topic delete incidents")]
    Delete {
        /// The topic.
        node: String,
    },
    /// Grant a JID access to a topic (member = may subscribe on whitelist topics).
    #[command(
        after_help = "Examples:\n  gridlink topic allow incidents soc@grid.example              # member: may subscribe\n  gridlink topic allow incidents sensor@grid.example --as publisher"
    )]
    Allow {
        /// The topic.
        node: String,
        /// The JID to affiliate. (Not named `jid`: that would be the
        /// global `--jid`, the account gridlink logs in as.)
        #[arg(value_name = "JID")]
        who: String,
        /// The affiliation to grant.
        #[arg(long = "as", value_enum, default_value_t = Affiliation::Member)]
        affiliation: Affiliation,
    },
    /// Approve a pending subscription to an `authorize` topic (owner only);
    /// the subscriber is told and catches up.
    #[command(after_help = "Examples:\n  gridlink topic approve triage soc@grid.example")]
    Approve {
        /// The topic.
        node: String,
        /// The subscriber's JID.
        #[arg(value_name = "JID")]
        who: String,
    },
    /// Refuse a pending subscription, or end one (owner only).
    #[command(after_help = "Examples:\n  gridlink topic refuse triage soc@grid.example")]
    Refuse {
        /// The topic.
        node: String,
        /// The subscriber's JID.
        #[arg(value_name = "JID")]
        who: String,
    },
    /// List a topic's subscriptions (owner only): JID and state; requests
    /// waiting for `topic approve` are `pending` (found with XEP-0060
    /// §8.7's get-pending command where the service does not list them).
    #[command(after_help = "Examples:\n  gridlink topic subscriptions incidents --json")]
    Subscriptions {
        /// The topic.
        node: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// List a topic's affiliations (owner only): JID and affiliation.
    #[command(after_help = "Examples:\n  gridlink topic affiliations incidents")]
    Affiliations {
        /// The topic.
        node: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

/// Options of `topic create` / `topic ensure`.
#[derive(Args, Debug)]
pub struct CreateArgs {
    /// The topic (pubsub node id).
    pub node: String,
    /// Human title.
    #[arg(long)]
    pub title: Option<String>,
    /// Description.
    #[arg(long)]
    pub description: Option<String>,
    /// Access model (RFC 8600 §8.3.4 recommends whitelist or authorize).
    #[arg(long, value_enum, default_value_t = AccessModel::Whitelist)]
    pub access_model: AccessModel,
    /// Items the broker keeps (capped by the server; refused values fall back to its maximum).
    #[arg(long)]
    pub max_items: Option<u32>,
    /// What the topic carries: IODEF v2 XML, CSAF 2.0 advisories or CVE JSON 5 records
    /// (sets pubsub#type; see docs/payload-types.md).
    #[arg(long, value_enum, default_value_t = PayloadType::Iodef)]
    pub payload: PayloadType,
}

impl CreateArgs {
    fn options(&self) -> TopicOptions {
        TopicOptions {
            title: self.title.clone(),
            description: self.description.clone(),
            access_model: self.access_model,
            max_items: self.max_items,
            payload_type: self.payload,
        }
    }
}

fn show(t: &TopicInfo) -> String {
    let kind = if let Some(known) = t.payload() {
        known.name().to_string()
    } else {
        match &t.payload_type {
            Some(other) => format!("other ({other})"),
            None => "untyped".to_string(),
        }
    };
    format!(
        "{}\t{}\t{}\t{}\t{}",
        t.node,
        kind,
        t.access_model.as_deref().unwrap_or("-"),
        t.title.as_deref().unwrap_or("-"),
        t.description.as_deref().unwrap_or("-"),
    )
}

/// `gridlink discover`.
pub async fn discover(g: &Global, a: DiscoverArgs) -> anyhow::Result<ExitCode> {
    let grid = open_one_shot_grid(g).await?;
    // IODEF topics and those of the other payload types (CSAF, CVE); with
    // --all every node.
    let topics: Vec<TopicInfo> = grid
        .discover(true)
        .await?
        .into_iter()
        .filter(|t| a.all || t.payload().is_some())
        .collect();
    if a.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({
                "service": grid.service().to_string(),
                "topics": topics.iter().map(|t| {
                    let mut v = serde_json::to_value(t).unwrap_or_default();
                    v["iodef"] = serde_json::Value::Bool(t.is_iodef());
                    v["payload"] = serde_json::json!(t.payload());
                    v
                }).collect::<Vec<_>>(),
            }))?
        );
    } else {
        eprintln!(
            "pubsub service {}: {} topic(s)",
            grid.service(),
            topics.len()
        );
        println!("NODE\tTYPE\tACCESS\tTITLE\tDESCRIPTION");
        for t in &topics {
            println!("{}", show(t));
        }
    }
    grid.close().await;
    Ok(ExitCode::SUCCESS)
}

/// `topic approve` / `topic refuse`: the owner's decision on a subscription.
async fn decide(
    grid: &gridlink::Grid,
    node: &str,
    jid: &str,
    approve: bool,
) -> anyhow::Result<ExitCode> {
    let j: Jid = jid
        .parse()
        .map_err(|e| anyhow::anyhow!("invalid JID {jid:?}: {e}"))?;
    grid.set_subscription(node, &j, approve)
        .await
        .map_err(|e| explain(grid, e, node, Action::Own))?;
    let done = if approve { "approved" } else { "refused" };
    println!("{done}\t{node}\t{j}");
    Ok(ExitCode::SUCCESS)
}

/// `topic subscriptions` / `topic affiliations`: `JID<TAB>STATE` lines, or
/// a JSON array of `{"jid", "state"}`.
fn list(entries: &[JidState], json: bool) -> anyhow::Result<ExitCode> {
    if json {
        println!("{}", serde_json::to_string_pretty(entries)?);
    } else {
        for e in entries {
            println!("{}\t{}", e.jid, e.state);
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `gridlink topic …`.
pub async fn topic(g: &Global, c: TopicCommand) -> anyhow::Result<ExitCode> {
    let grid = open_one_shot_grid(g).await?;
    let code = match c {
        TopicCommand::Create(a) => {
            for note in grid
                .create_topic(&a.node, &a.options())
                .await
                .map_err(|e| explain(&grid, e, &a.node, Action::Create))?
            {
                eprintln!("note: {note}");
            }
            println!("created\t{}", a.node);
            ExitCode::SUCCESS
        }
        TopicCommand::Ensure(a) => {
            let out = grid
                .ensure_topic(&a.node, &a.options())
                .await
                .map_err(|e| explain(&grid, e, &a.node, Action::Create))?;
            for note in &out.adjustments {
                eprintln!("note: {note}");
            }
            for d in &out.differences {
                eprintln!("differs: {d}");
            }
            let what = if out.created { "created" } else { "exists" };
            println!("{what}\t{}", show(&out.info));
            if out.info.payload() == Some(a.payload) {
                ExitCode::SUCCESS
            } else {
                let what = match a.payload {
                    PayloadType::Iodef => "an IODEF".to_string(),
                    t => format!("a {}", t.name().to_uppercase()),
                };
                eprintln!("error: topic {:?} exists but is not {what} topic", a.node);
                ExitCode::from(2)
            }
        }
        TopicCommand::Info { node, json } => {
            let info = grid
                .topic_info(&node)
                .await
                .map_err(|e| explain(&grid, e, &node, Action::Info))?;
            // The full configuration is readable by owners only.
            let config = grid.topic_config(&node).await.ok();
            if json {
                let mut v = serde_json::to_value(&info)?;
                v["iodef"] = serde_json::Value::Bool(info.is_iodef());
                v["payload"] = serde_json::json!(info.payload());
                if let Some(c) = &config {
                    v["config"] = serde_json::to_value(c)?;
                }
                println!("{}", serde_json::to_string_pretty(&v)?);
            } else {
                println!("{}", show(&info));
                for (k, v) in config.iter().flatten() {
                    println!("  {k} = {v}");
                }
            }
            ExitCode::SUCCESS
        }
        TopicCommand::Purge { node } => {
            grid.purge_topic(&node)
                .await
                .map_err(|e| explain(&grid, e, &node, Action::Own))?;
            println!("purged\t{node}");
            ExitCode::SUCCESS
        }
        TopicCommand::Delete { node } => {
            grid.delete_topic(&node)
                .await
                .map_err(|e| explain(&grid, e, &node, Action::Own))?;
            println!("deleted\t{node}");
            ExitCode::SUCCESS
        }
        TopicCommand::Allow {
            node,
            who,
            affiliation,
        } => {
            let j: Jid = who
                .parse()
                .map_err(|e| anyhow::anyhow!("invalid JID {who:?}: {e}"))?;
            grid.set_affiliation(&node, &j, affiliation)
                .await
                .map_err(|e| explain(&grid, e, &node, Action::Own))?;
            println!("allowed\t{node}\t{j}\t{affiliation:?}");
            ExitCode::SUCCESS
        }
        TopicCommand::Subscriptions { node, json } => {
            let mut entries = grid
                .subscriptions(&node)
                .await
                .map_err(|e| explain(&grid, e, &node, Action::Own))?;
            // Services need not list waiting requests here (ejabberd does
            // not); XEP-0060 §8.7's command finds them.
            for jid in grid
                .pending_subscriptions(&node)
                .await
                .map_err(|e| explain(&grid, e, &node, Action::Own))?
            {
                if !entries.iter().any(|e| e.jid == jid && e.state == "pending") {
                    entries.push(JidState {
                        jid,
                        state: "pending".into(),
                    });
                }
            }
            list(&entries, json)?
        }
        TopicCommand::Affiliations { node, json } => {
            let a = grid
                .affiliations(&node)
                .await
                .map_err(|e| explain(&grid, e, &node, Action::Own))?;
            list(&a, json)?
        }
        TopicCommand::Approve { node, who } => decide(&grid, &node, &who, true).await?,
        TopicCommand::Refuse { node, who } => decide(&grid, &node, &who, false).await?,
    };
    grid.close().await;
    Ok(code)
}
