//! Creating, checking and deleting topics, and granting access (XEP-0060 §8).

use serde::Serialize;
use tokio_xmpp::jid::Jid;
use tokio_xmpp::minidom::Element;
use tokio_xmpp::parsers::data_forms::{DataForm, DataFormType, Field, FieldType};
use tokio_xmpp::parsers::pubsub::owner::{Owner, Payload as OwnerPayload};
use tokio_xmpp::parsers::pubsub::pubsub::{Configure, Create};
use tokio_xmpp::parsers::pubsub::{NodeName, PubSub};

use super::discover::topic_info;
use super::{ns, GridError, TopicInfo};
use crate::vuln::PayloadType;
use crate::xmpp::Session;

/// XEP-0060 access models. RFC 8600 §8.3.4 wants brokers to offer only
/// `authorize` and `whitelist`; gridlink defaults to `whitelist`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum AccessModel {
    /// Only affiliated JIDs (members) may subscribe.
    #[default]
    Whitelist,
    /// The owner approves each subscription.
    Authorize,
    /// Anyone may subscribe.
    Open,
    /// Anyone subscribed to the owner's presence.
    Presence,
    /// Contacts in given roster groups.
    Roster,
}

impl AccessModel {
    /// The form value.
    pub fn as_str(self) -> &'static str {
        match self {
            AccessModel::Whitelist => "whitelist",
            AccessModel::Authorize => "authorize",
            AccessModel::Open => "open",
            AccessModel::Presence => "presence",
            AccessModel::Roster => "roster",
        }
    }
}

/// How a new topic is configured.
#[derive(Debug, Clone, Default)]
pub struct TopicOptions {
    /// `pubsub#title`.
    pub title: Option<String>,
    /// `pubsub#description`.
    pub description: Option<String>,
    /// `pubsub#access_model`.
    pub access_model: AccessModel,
    /// `pubsub#max_items`; `None` = `max`, the service's cap. (Prosody's
    /// default is 20, far too few for consumers that catch up from history.)
    pub max_items: Option<u32>,
    /// What the topic carries: its `pubsub#type` (default IODEF v2).
    pub payload_type: PayloadType,
}

/// What `ensure` found or did.
#[derive(Debug, Clone, Serialize)]
pub struct EnsureOutcome {
    /// The topic did not exist and was created.
    pub created: bool,
    /// Settings of an existing topic that differ from what was asked.
    pub differences: Vec<String>,
    /// Values the server refused and the replacement used.
    pub adjustments: Vec<String>,
    /// The topic as the service now describes it.
    pub info: TopicInfo,
}

fn config_form(opts: &TopicOptions, max_items: Option<&str>) -> DataForm {
    // `max` is XEP-0060's name for "the service's limit" (Prosody >= 0.12).
    let mut fields = vec![
        Field::text_single("pubsub#type", opts.payload_type.uri()),
        Field::new("pubsub#persist_items", FieldType::Boolean).with_value("1"),
        Field::new("pubsub#access_model", FieldType::ListSingle)
            .with_value(opts.access_model.as_str()),
        // RFC 8600 §6: do not replay the last item on subscribe; consumers
        // fetch history explicitly.
        Field::new("pubsub#send_last_published_item", FieldType::ListSingle).with_value("never"),
        Field::new("pubsub#deliver_payloads", FieldType::Boolean).with_value("1"),
        Field::new("pubsub#notify_retract", FieldType::Boolean).with_value("1"),
        Field::new("pubsub#notify_delete", FieldType::Boolean).with_value("1"),
    ];
    if let Some(t) = &opts.title {
        fields.push(Field::text_single("pubsub#title", t));
    }
    if let Some(d) = &opts.description {
        fields.push(Field::text_single("pubsub#description", d));
    }
    if let Some(m) = max_items {
        fields.push(Field::text_single("pubsub#max_items", m));
    }
    DataForm::new(DataFormType::Submit, ns::NODE_CONFIG, fields)
}

async fn send_create(
    session: &Session,
    service: &Jid,
    node: &str,
    form: DataForm,
) -> Result<(), GridError> {
    let req = PubSub::Create {
        create: Create {
            node: Some(NodeName(node.to_string())),
        },
        configure: Some(Configure { form: Some(form) }),
    };
    session
        .set(Some(service.clone()), req.into())
        .await
        .map(|_| ())
        .map_err(GridError::request(format!("create topic {node:?}")))
}

/// Creates an IODEF topic with create-and-configure in one request. When
/// the server refuses the requested `max_items` (above its cap), the request
/// is repeated with `max` (the service's own limit) and the change is
/// reported in the returned adjustments.
pub async fn create(
    session: &Session,
    service: &Jid,
    node: &str,
    opts: &TopicOptions,
) -> Result<Vec<String>, GridError> {
    let requested = opts.max_items.map(|m| m.to_string());
    let value = requested.as_deref().unwrap_or("max");
    match send_create(session, service, node, config_form(opts, Some(value))).await {
        Ok(()) => Ok(Vec::new()),
        Err(e) if requested.is_some() && refused_value(&e) => {
            let first = e.to_string();
            send_create(session, service, node, config_form(opts, Some("max"))).await?;
            let note = format!(
                "the server refused max_items={} ({first}); used the server's maximum instead",
                requested.unwrap_or_default()
            );
            tracing::warn!(topic = node, "{note}");
            Ok(vec![note])
        }
        Err(e) => Err(e),
    }
}

/// A refusal that names a bad configuration value rather than a permission.
fn refused_value(e: &GridError) -> bool {
    matches!(
        e.condition().as_deref(),
        Some("not-acceptable" | "bad-request" | "policy-violation" | "resource-constraint")
    )
}

/// Makes sure the topic exists as an IODEF topic: creates it when missing,
/// otherwise reports how it differs from what was asked (it changes nothing
/// on an existing topic: that is the owner's call).
pub async fn ensure(
    session: &Session,
    service: &Jid,
    node: &str,
    opts: &TopicOptions,
) -> Result<EnsureOutcome, GridError> {
    match topic_info(session, service, node).await {
        Ok(info) => {
            let mut differences = Vec::new();
            if info.payload_type.as_deref() != Some(opts.payload_type.uri()) {
                differences.push(format!(
                    "pubsub#type is {:?}, not {:?}",
                    info.payload_type.as_deref().unwrap_or("(unset)"),
                    opts.payload_type.uri()
                ));
            }
            if let Some(am) = &info.access_model {
                if am != opts.access_model.as_str() {
                    differences.push(format!(
                        "access model is {am:?}, not {:?}",
                        opts.access_model.as_str()
                    ));
                }
            }
            Ok(EnsureOutcome {
                created: false,
                differences,
                adjustments: Vec::new(),
                info,
            })
        }
        Err(GridError::NoSuchTopic(_)) => {
            let adjustments = create(session, service, node, opts).await?;
            let info = topic_info(session, service, node).await?;
            Ok(EnsureOutcome {
                created: true,
                differences: Vec::new(),
                adjustments,
                info,
            })
        }
        Err(e) => Err(e),
    }
}

/// Deletes a topic (owner only).
pub async fn delete(session: &Session, service: &Jid, node: &str) -> Result<(), GridError> {
    let req = Owner {
        payload: OwnerPayload::Delete {
            node: NodeName(node.to_string()),
            redirect_uri: None,
        },
    };
    session
        .set(Some(service.clone()), req.into())
        .await
        .map(|_| ())
        .map_err(GridError::request(format!("delete topic {node:?}")))
}

/// Removes every item of a topic (owner only); subscribers get a purge
/// notification, the topic and its configuration stay.
pub async fn purge(session: &Session, service: &Jid, node: &str) -> Result<(), GridError> {
    let req = Owner {
        payload: OwnerPayload::Purge {
            node: NodeName(node.to_string()),
        },
    };
    session
        .set(Some(service.clone()), req.into())
        .await
        .map(|_| ())
        .map_err(GridError::request(format!("purge topic {node:?}")))
}

/// Affiliations a topic owner can grant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Affiliation {
    /// May subscribe and retrieve items (needed on `whitelist` topics).
    #[default]
    Member,
    /// May publish (and subscribe).
    Publisher,
    /// Removes any affiliation.
    None,
    /// Banned.
    Outcast,
}

impl Affiliation {
    fn as_str(self) -> &'static str {
        match self {
            Affiliation::Member => "member",
            Affiliation::Publisher => "publisher",
            Affiliation::None => "none",
            Affiliation::Outcast => "outcast",
        }
    }
}

/// Sets a JID's affiliation with a topic.
pub async fn set_affiliation(
    session: &Session,
    service: &Jid,
    node: &str,
    jid: &Jid,
    affiliation: Affiliation,
) -> Result<(), GridError> {
    let op = format!("set affiliation of {jid} on topic {node:?}");
    owner_set(
        session,
        service,
        node,
        "affiliation",
        jid,
        affiliation.as_str(),
        op,
    )
    .await
}

/// Approves `jid`'s pending subscription to `node` (or, with `approve`
/// false, refuses or ends it), as the topic's owner (XEP-0060 §8.8.2); the
/// service tells the subscriber.
pub async fn set_subscription(
    session: &Session,
    service: &Jid,
    node: &str,
    jid: &Jid,
    approve: bool,
) -> Result<(), GridError> {
    let state = if approve { "subscribed" } else { "none" };
    let op = format!("set the subscription of {jid} to topic {node:?}");
    owner_set(session, service, node, "subscription", jid, state, op).await
}

/// One JID in a topic's owner lists: its subscription state (`subscribed`,
/// `pending`, `unconfigured`, `none`) or its affiliation (`owner`,
/// `publisher`, `member`, `outcast`, …), as the service reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct JidState {
    /// The JID (bare or full, as listed).
    pub jid: String,
    /// The subscription state or affiliation.
    pub state: String,
}

/// The topic's subscriptions (XEP-0060 §8.8.1), as its owner sees them.
/// Whether requests waiting for approval are listed (`pending`) is the
/// service's choice: ejabberd 23.01 lists only the others (§8.7 has
/// pending requests fetched with the `pubsub#get-pending` ad-hoc command:
/// `pending.rs`).
pub async fn subscriptions(
    session: &Session,
    service: &Jid,
    node: &str,
) -> Result<Vec<JidState>, GridError> {
    let op = format!("list the subscriptions to topic {node:?}");
    owner_list(session, service, node, "subscription", op).await
}

/// The topic's affiliations (XEP-0060 §8.9.1), as its owner sees them.
pub async fn affiliations(
    session: &Session,
    service: &Jid,
    node: &str,
) -> Result<Vec<JidState>, GridError> {
    let op = format!("list the affiliations with topic {node:?}");
    owner_list(session, service, node, "affiliation", op).await
}

/// An owner's list of `kind` (`subscription` or `affiliation`):
/// `<KINDs node/>` asked, `<KINDs><KIND jid KIND=value/>…</KINDs>` read.
/// Built and read by hand for the reason given at [`owner_set`]. Entries
/// without a JID or a value are skipped: nothing can be done with them.
async fn owner_list(
    session: &Session,
    service: &Jid,
    node: &str,
    kind: &'static str,
    op: String,
) -> Result<Vec<JidState>, GridError> {
    let list = format!("{kind}s");
    let req = Element::builder("pubsub", ns::PUBSUB_OWNER)
        .append(Element::builder(list.as_str(), ns::PUBSUB_OWNER).attr(super::ncname("node"), node))
        .build();
    let answer = session
        .get(Some(service.clone()), req)
        .await
        .map_err(GridError::request(op))?;
    let entries = answer
        .as_ref()
        .and_then(|a| a.get_child(&list, ns::PUBSUB_OWNER))
        .into_iter()
        .flat_map(|l| l.children())
        .filter(|e| e.is(kind, ns::PUBSUB_OWNER))
        .filter_map(|e| {
            Some(JidState {
                jid: e.attr("jid")?.to_string(),
                state: e.attr(kind)?.to_string(),
            })
        })
        .collect();
    Ok(entries)
}

/// An owner's change of one JID's `kind` (`affiliation` or `subscription`,
/// XEP-0060 §8.9.2 / §8.8.2): `<KINDs node><KIND jid KIND=value/></KINDs>`.
/// Built by hand: xmpp-parsers 0.23's owner `Affiliation` and
/// `SubscriptionElem` have private fields.
async fn owner_set(
    session: &Session,
    service: &Jid,
    node: &str,
    kind: &'static str,
    jid: &Jid,
    value: &str,
    op: String,
) -> Result<(), GridError> {
    let req = Element::builder("pubsub", ns::PUBSUB_OWNER)
        .append(
            Element::builder(format!("{kind}s"), ns::PUBSUB_OWNER)
                .attr(super::ncname("node"), node)
                .append(
                    Element::builder(kind, ns::PUBSUB_OWNER)
                        .attr(super::ncname("jid"), jid.to_string())
                        .attr(super::ncname(kind), value),
                ),
        )
        .build();
    session
        .set(Some(service.clone()), req)
        .await
        .map(|_| ())
        .map_err(GridError::request(op))
}

/// The topic's configuration form (owner only) as `var → value`; list
/// values are joined with commas.
pub async fn configuration(
    session: &Session,
    service: &Jid,
    node: &str,
) -> Result<std::collections::BTreeMap<String, String>, GridError> {
    let req = Owner {
        payload: OwnerPayload::Configure {
            node: Some(NodeName(node.to_string())),
            form: None,
        },
    };
    let op = format!("read configuration of topic {node:?}");
    let answer = session
        .get(Some(service.clone()), req.into())
        .await
        .map_err(GridError::request(op.clone()))?;
    let form = answer
        .and_then(|el| Owner::try_from(el).ok())
        .and_then(|o| match o.payload {
            OwnerPayload::Configure { form, .. } => form,
            _ => None,
        })
        .ok_or_else(|| GridError::Protocol {
            op,
            message: "no configuration form in the answer".into(),
        })?;
    Ok(form
        .fields
        .into_iter()
        .filter_map(|f| Some((f.var?, f.values.join(","))))
        .filter(|(k, _)| k != "FORM_TYPE")
        .collect())
}
