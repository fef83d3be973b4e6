//! Finding the pubsub service and the IODEF topics on it (RFC 8600 §5).
//!
//! A topic is IODEF when its XEP-0030 meta-data form says
//! `pubsub#type = urn:ietf:params:xml:ns:iodef-2.0` — never because of its name.

use futures::stream::{self, StreamExt, TryStreamExt};
use serde::Serialize;
use tokio_xmpp::jid::Jid;
use tokio_xmpp::minidom::Element;
use tokio_xmpp::parsers::data_forms::DataForm;
use tokio_xmpp::parsers::disco::{
    DiscoInfoQuery, DiscoInfoResult, DiscoItemsQuery, DiscoItemsResult,
};
use tokio_xmpp::parsers::rsm::SetQuery;

use super::{ns, GridError};
use crate::envelope::IODEF_V2_NS;
use crate::vuln::PayloadType;
use crate::xmpp::Session;

/// How many disco#info requests run at once during discovery.
const INFO_CONCURRENCY: usize = 16;
/// Page size when the service pages disco#items with RSM.
const PAGE: usize = 200;

/// What the service says about one topic.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TopicInfo {
    /// The node id.
    pub node: String,
    /// `pubsub#title`, or the disco item's name.
    pub title: Option<String>,
    /// `pubsub#description`.
    pub description: Option<String>,
    /// `pubsub#type`: the payload namespace.
    #[serde(rename = "type")]
    pub payload_type: Option<String>,
    /// `pubsub#access_model`.
    pub access_model: Option<String>,
    /// `pubsub#publish_model`.
    pub publish_model: Option<String>,
    /// `pubsub#max_items`, when the service reports it.
    pub max_items: Option<String>,
}

impl TopicInfo {
    /// Whether the topic carries IODEF v2 (RFC 8600 §5).
    pub fn is_iodef(&self) -> bool {
        self.payload_type.as_deref() == Some(IODEF_V2_NS)
    }

    /// The payload type `pubsub#type` names, when it is one gridlink knows
    /// (IODEF v2, CSAF 2.0, CVE JSON 5).
    pub fn payload(&self) -> Option<PayloadType> {
        self.payload_type.as_deref().and_then(PayloadType::from_uri)
    }

    fn from_disco(node: &str, name: Option<String>, info: &DiscoInfoResult) -> TopicInfo {
        let meta = info
            .extensions
            .iter()
            .find(|f| f.form_type() == Some(ns::META_DATA));
        let get = |var: &str| meta.and_then(|f| field(f, var));
        TopicInfo {
            node: node.to_string(),
            title: get("pubsub#title").filter(|t| !t.is_empty()).or(name),
            description: get("pubsub#description").filter(|t| !t.is_empty()),
            payload_type: get("pubsub#type").filter(|t| !t.is_empty()),
            access_model: get("pubsub#access_model"),
            publish_model: get("pubsub#publish_model"),
            max_items: get("pubsub#max_items"),
        }
    }
}

/// The first value of a form field.
pub(crate) fn field(form: &DataForm, var: &str) -> Option<String> {
    form.fields
        .iter()
        .find(|f| f.var.as_deref() == Some(var))
        .and_then(|f| f.values.first().cloned())
}

async fn disco_info(
    session: &Session,
    to: &Jid,
    node: Option<&str>,
) -> Result<DiscoInfoResult, GridError> {
    let q = DiscoInfoQuery {
        node: node.map(str::to_string),
    };
    let op = match node {
        Some(n) => format!("disco#info of topic {n:?}"),
        None => format!("disco#info of {to}"),
    };
    let el = session
        .get(Some(to.clone()), q.into())
        .await
        .map_err(GridError::request(op.clone()))?;
    parse_answer(el, &op)
}

pub(super) fn parse_answer<T: TryFrom<Element>>(
    el: Option<Element>,
    op: &str,
) -> Result<T, GridError>
where
    T::Error: std::fmt::Debug,
{
    let el = el.ok_or_else(|| GridError::Protocol {
        op: op.to_string(),
        message: "empty result".into(),
    })?;
    T::try_from(el).map_err(|e| GridError::Protocol {
        op: op.to_string(),
        message: format!("{e:?}"),
    })
}

/// Finds the publish-subscribe service on the account's domain: the first
/// disco#items entry whose disco#info has identity `pubsub/service`.
pub async fn find_pubsub_service(session: &Session) -> Result<Jid, GridError> {
    let domain: Jid = Jid::from(session.bare_jid().domain().to_owned());
    let op = format!("disco#items of {domain}");
    let el = session
        .get(
            Some(domain.clone()),
            DiscoItemsQuery {
                node: None,
                rsm: None,
            }
            .into(),
        )
        .await
        .map_err(GridError::request(op.clone()))?;
    let items: DiscoItemsResult = parse_answer(el, &op)?;
    let mut candidates: Vec<Jid> = items
        .items
        .into_iter()
        .filter(|i| i.node.is_none())
        .map(|i| i.jid)
        .collect();
    candidates.push(domain.clone()); // the server itself may be the service (PEP-style)
    for jid in candidates {
        // A component that does not answer must not stop the search.
        if let Ok(info) = disco_info(session, &jid, None).await {
            if info
                .identities
                .iter()
                .any(|i| i.category == "pubsub" && i.type_ == "service")
            {
                return Ok(jid);
            }
        }
    }
    Err(GridError::NoPubsubService {
        domain: domain.to_string(),
    })
}

/// Lists the service's nodes, paging with RSM when the service supports it.
pub async fn list_nodes(
    session: &Session,
    service: &Jid,
) -> Result<Vec<(String, Option<String>)>, GridError> {
    let info = disco_info(session, service, None).await?;
    let rsm = info.features.contains(ns::RSM);
    let mut out = Vec::new();
    let mut after: Option<String> = None;
    let mut paged = false;
    loop {
        let query = DiscoItemsQuery {
            node: None,
            rsm: rsm.then(|| SetQuery {
                max: Some(PAGE),
                after: after.clone(),
                before: None,
                index: None,
            }),
        };
        let op = format!("disco#items of {service}");
        let el = session
            .get(Some(service.clone()), query.into())
            .await
            .map_err(GridError::request(op.clone()))?;
        let page: DiscoItemsResult = parse_answer(el, &op)?;
        let n = page.items.len();
        out.extend(
            page.items
                .into_iter()
                .filter_map(|i| i.node.map(|node| (node, i.name))),
        );
        paged |= page.rsm.is_some();
        let next = page.rsm.and_then(|r| r.last);
        match next {
            Some(last) if rsm && n > 0 && after.as_ref() != Some(&last) => after = Some(last),
            _ => break,
        }
    }
    if !paged && out.len() >= SUSPECTED_CAP {
        // Nothing in such an answer says whether it is whole: ejabberd
        // 23.01 cuts the list at `max_nodes_discoitems` (100 by default)
        // without RSM and without a word.
        tracing::warn!(
            service = %service,
            nodes = out.len(),
            "the service listed {} nodes without paging (RSM); servers may cut this list short \
             (ejabberd: max_nodes_discoitems, 100 by default), and topics beyond it are not \
             discovered: raise that limit, or name the topics (--topic)",
            out.len()
        );
    }
    Ok(out)
}

/// A node list this long from a service that does not page may have been
/// cut short (ejabberd's default `max_nodes_discoitems`).
const SUSPECTED_CAP: usize = 100;

/// Meta-data of one topic.
pub async fn topic_info(
    session: &Session,
    service: &Jid,
    node: &str,
) -> Result<TopicInfo, GridError> {
    match disco_info(session, service, Some(node)).await {
        Ok(info) => Ok(TopicInfo::from_disco(node, None, &info)),
        Err(e) if e.condition().as_deref() == Some("item-not-found") => {
            Err(GridError::NoSuchTopic(node.to_string()))
        }
        Err(e) => Err(e),
    }
}

/// Lists topics with their meta-data; only IODEF ones unless `include_untyped`.
pub async fn discover(
    session: &Session,
    service: &Jid,
    include_untyped: bool,
) -> Result<Vec<TopicInfo>, GridError> {
    let nodes = list_nodes(session, service).await?;
    let mut topics: Vec<TopicInfo> = stream::iter(nodes)
        .map(|(node, name)| async move {
            match disco_info(session, service, Some(&node)).await {
                Ok(info) => Ok(Some(TopicInfo::from_disco(&node, name, &info))),
                // A node deleted between the listing and the query is not an error.
                Err(e) if e.condition().as_deref() == Some("item-not-found") => Ok(None),
                Err(e) => Err(e),
            }
        })
        .buffered(INFO_CONCURRENCY)
        .try_filter_map(|t| async move { Ok(t) })
        .try_collect()
        .await?;
    if !include_untyped {
        topics.retain(TopicInfo::is_iodef);
    }
    topics.sort_by(|a, b| a.node.cmp(&b.node));
    Ok(topics)
}
