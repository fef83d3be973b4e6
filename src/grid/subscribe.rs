//! Subscribing to topics: the request and its answer, the selection of
//! topics, and subscribing to all of them (again after a new session, and
//! to new ones). The live [`Subscription`](super::Subscription) that turns
//! notifications into [`GridEvent`]s is in `subscription.rs`.
//!
//! Subscriptions are made for the account's bare JID (as in RFC 8600 §6), so
//! they survive resource changes; the session sends available presence on
//! every new session, which bare-JID delivery needs. After a new session the
//! subscriptions are made again (idempotent on the broker) before anything
//! else, so a server restart does not silently end the stream of items.
//! Following every IODEF topic, the service is also asked now and then for
//! topics created since (XEP-0060 announces no node creation), which are
//! subscribed to and announced with [`GridEvent::TopicsAdded`].

use std::collections::BTreeSet;

use tokio::sync::mpsc;
use tokio_xmpp::jid::Jid;
use tokio_xmpp::minidom::Element;
use tokio_xmpp::parsers::pubsub::pubsub::Subscribe;
use tokio_xmpp::parsers::pubsub::{NodeName, PubSub};

use super::{discover, ns, GridError, GridEvent};
use crate::xmpp::Session;

/// The broker's answer to a subscription request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SubscriptionState {
    /// Notifications will flow.
    Subscribed,
    /// The topic owner must approve (access model `authorize`).
    Pending,
    /// Subscribed; options may be configured (notifications flow).
    Unconfigured,
}

/// Subscribes the account's bare JID to `topic`.
///
/// A pending answer on a topic we own is approved at once: ejabberd has
/// even the owner's own subscription to an `authorize` topic wait for the
/// owner (XEP-0060 §6.1.3.3 makes no exception), which would leave an
/// owner's bridge or subscriber waiting for itself. For anyone else the
/// approval is refused and the subscription stays pending.
pub async fn subscribe(
    session: &Session,
    service: &Jid,
    topic: &str,
) -> Result<SubscriptionState, GridError> {
    let me = Jid::from(session.bare_jid());
    let req = PubSub::Subscribe {
        subscribe: Some(Subscribe {
            jid: me.clone(),
            node: Some(NodeName(topic.to_string())),
        }),
        options: None,
    };
    let op = format!("subscribe to topic {topic:?}");
    let answer = session
        .set(Some(service.clone()), req.into())
        .await
        .map_err(GridError::request(op.clone()))?;
    let state = subscription_state(answer.as_ref(), op)?;
    if state != SubscriptionState::Pending {
        return Ok(state);
    }
    match super::topic::set_subscription(session, service, topic, &me, true).await {
        Ok(()) => {
            tracing::info!(topic, "approved our own subscription (we own the topic)");
            Ok(SubscriptionState::Subscribed)
        }
        Err(e) => {
            tracing::debug!(topic, error = %e, "not the owner: the subscription stays pending");
            Ok(SubscriptionState::Pending)
        }
    }
}

/// The state an answer to `<subscribe/>` gives (XEP-0060 §6.1.2): an
/// answer without a `<subscription/>` means subscribed.
fn subscription_state(
    answer: Option<&Element>,
    op: String,
) -> Result<SubscriptionState, GridError> {
    // Read by hand: xmpp-parsers 0.23's `SubscriptionElem` has private fields.
    let state = answer
        .and_then(|p| p.get_child("subscription", ns::PUBSUB))
        .and_then(|s| s.attr("subscription"))
        .unwrap_or("subscribed");
    match state {
        "subscribed" => Ok(SubscriptionState::Subscribed),
        "pending" => Ok(SubscriptionState::Pending),
        "unconfigured" => Ok(SubscriptionState::Unconfigured),
        other => Err(GridError::Protocol {
            op,
            message: format!("subscription state {other:?}"),
        }),
    }
}

/// Which topics a subscriber follows.
#[derive(Debug, Clone)]
pub enum TopicSelection {
    /// These nodes.
    Named(Vec<String>),
    /// Every IODEF topic the service lists (discovered again on each new
    /// session, and every [`Config::rediscover_every`](crate::config::Config::rediscover_every)
    /// for topics created since).
    AllIodef,
}

/// Discovers the IODEF topics and subscribes to those not in `known`;
/// returns them (in discovery's order) and those of them pending approval.
/// One that cannot be subscribed to is left for the next look.
pub(super) async fn new_topics(
    session: &Session,
    service: &Jid,
    known: &BTreeSet<String>,
    tx: &mpsc::Sender<GridEvent>,
) -> Result<(Vec<String>, Vec<String>), GridError> {
    let mut added = Vec::new();
    let mut pending = Vec::new();
    for t in discover::discover(session, service, false).await? {
        if known.contains(&t.node) || added.contains(&t.node) {
            continue;
        }
        match subscribe(session, service, &t.node).await {
            Ok(state) => {
                if state == SubscriptionState::Pending {
                    pending.push(t.node.clone());
                }
                note_state(&t.node, state, tx).await;
                added.push(t.node);
            }
            Err(e) => {
                tracing::warn!(topic = %t.node, error = %e, "cannot subscribe to a new IODEF topic yet")
            }
        }
    }
    Ok((added, pending))
}

/// Logs a subscription's state; a pending one is also an event.
async fn note_state(topic: &str, state: SubscriptionState, tx: &mpsc::Sender<GridEvent>) {
    match state {
        SubscriptionState::Pending => {
            tracing::warn!(topic, "subscription pending the topic owner's approval");
            let _ = tx
                .send(GridEvent::Pending {
                    topic: topic.to_string(),
                })
                .await;
        }
        state => tracing::info!(topic, ?state, "subscribed"),
    }
}

/// Subscribes to every selected topic; returns them in the selection's
/// order (discovery's for all IODEF topics), each once, and those whose
/// subscription waits for the owner's approval.
pub(super) async fn subscribe_all(
    session: &Session,
    service: &Jid,
    selection: &TopicSelection,
    tx: &mpsc::Sender<GridEvent>,
) -> Result<(Vec<String>, Vec<String>), GridError> {
    let names: Vec<String> = match selection {
        TopicSelection::Named(n) => n.clone(),
        TopicSelection::AllIodef => discover::discover(session, service, false)
            .await?
            .into_iter()
            .map(|t| t.node)
            .collect(),
    };
    let mut once = BTreeSet::new();
    let names: Vec<String> = names
        .into_iter()
        .filter(|n| once.insert(n.clone()))
        .collect();
    let mut pending = Vec::new();
    for topic in &names {
        let state = subscribe(session, service, topic).await?;
        if state == SubscriptionState::Pending {
            pending.push(topic.clone());
        }
        note_state(topic, state, tx).await;
    }
    Ok((names, pending))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The answers of XEP-0060 §6.1.2 (Examples 33, 34 and 35, trimmed to
    /// the payload): subscribed, pending (an `authorize` topic) and
    /// unconfigured; an empty result is subscribed; anything else is an
    /// error naming the state.
    #[test]
    fn subscription_states_of_the_xep_examples() {
        let state = |xml: Option<&str>| {
            let el: Option<Element> = xml.map(|x| x.parse().unwrap());
            subscription_state(el.as_ref(), "subscribe".into())
        };
        let p = "xmlns='http://jabber.org/protocol/pubsub'";
        assert_eq!(
            state(Some(&format!("<pubsub {p}><subscription node='princely_musings' jid='francisco@denmark.lit' subid='ba49252aaa4f5d320c24d3766f0bdcade78c78d3' subscription='subscribed'/></pubsub>"))).unwrap(),
            SubscriptionState::Subscribed
        );
        assert_eq!(
            state(Some(&format!("<pubsub {p}><subscription node='princely_musings' jid='francisco@denmark.lit' subscription='pending'/></pubsub>"))).unwrap(),
            SubscriptionState::Pending
        );
        assert_eq!(
            state(Some(&format!("<pubsub {p}><subscription node='princely_musings' jid='francisco@denmark.lit' subscription='unconfigured'><subscribe-options><required/></subscribe-options></subscription></pubsub>"))).unwrap(),
            SubscriptionState::Unconfigured
        );
        assert_eq!(state(None).unwrap(), SubscriptionState::Subscribed);
        let e = state(Some(&format!(
            "<pubsub {p}><subscription node='n' jid='a@b' subscription='none'/></pubsub>"
        )))
        .unwrap_err();
        assert!(e.to_string().contains("none"), "{e}");
    }
}
