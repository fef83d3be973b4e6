//! Subscribing to topics and turning notifications into [`GridEvent`]s.
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

use super::notify::notification;
use super::{discover, ns, GridError, GridEvent};
use crate::iodef::ValidationLevel;
use crate::xmpp::{Session, SessionEvent};

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

/// A live subscription: an async stream of [`GridEvent`]s.
pub struct Subscription {
    rx: mpsc::Receiver<GridEvent>,
    task: tokio::task::JoinHandle<()>,
    topics: Vec<String>,
    pending: Vec<String>,
}

impl Subscription {
    /// The topics subscribed to when the subscription was made (a new
    /// session may change them: see [`GridEvent::Resubscribed`]).
    pub fn topics(&self) -> &[String] {
        &self.topics
    }

    /// Those of [`topics`](Self::topics) whose subscription waited for the
    /// owner's approval when it was made (a [`GridEvent::Pending`] each;
    /// [`GridEvent::Approved`] when the owner approves).
    pub fn pending(&self) -> &[String] {
        &self.pending
    }

    /// The next event; `None` when the session has closed.
    pub async fn next(&mut self) -> Option<GridEvent> {
        self.rx.recv().await
    }
}

impl futures::Stream for Subscription {
    type Item = GridEvent;
    fn poll_next(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<GridEvent>> {
        self.rx.poll_recv(cx)
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Subscribes and starts delivering events. Takes the session's event
/// stream (one subscriber per session).
pub async fn start(
    session: Session,
    service: Jid,
    selection: TopicSelection,
    level: ValidationLevel,
) -> Result<Subscription, GridError> {
    let mut events = session.take_events().ok_or_else(|| GridError::Protocol {
        op: "subscribe".into(),
        message: "this session already has a subscriber".into(),
    })?;
    // Events queued before this point (the first NewSession) are covered
    // by the subscriptions made just below.
    while events.try_recv().is_some() {}
    // Only a hand-off between this task and the consumer: what may wait for
    // a slow consumer is bounded by the session's queue
    // (`Config::event_queue`), which drops and says so (`Lagged`).
    let (tx, rx) = mpsc::channel(64);
    let (initial, pending) = subscribe_all(&session, &service, &selection, &tx).await?;
    let pending_at_start = pending.clone();
    // Only a subscription to every IODEF topic looks for new ones.
    let every = match selection {
        TopicSelection::AllIodef => session.config().rediscover_every,
        TopicSelection::Named(_) => None,
    };
    let mut followed = initial.clone();
    // Pending the owner's approval; one that a new session finds subscribed
    // was approved while the session was down (its notification lost).
    let mut waiting: BTreeSet<String> = pending.iter().cloned().collect();
    let me = session.bare_jid();
    let task = tokio::spawn(async move {
        let mut topics: BTreeSet<String> = followed.iter().cloned().collect();
        let mut look = every.map(|d| {
            // An interval's first tick is at once: the first look is due
            // one period after subscribing.
            let mut i = tokio::time::interval_at(tokio::time::Instant::now() + d, d);
            i.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            i
        });
        loop {
            let ev = tokio::select! {
                ev = events.recv() => match ev {
                    Some(ev) => ev,
                    None => return,
                },
                () = tick(&mut look) => {
                    let added = match new_topics(&session, &service, &topics, &tx).await {
                        Ok((added, pending)) => {
                            waiting.extend(pending);
                            added
                        }
                        Err(e) => {
                            tracing::warn!(error = %e, "looking for new IODEF topics failed; trying again later");
                            continue;
                        }
                    };
                    if added.is_empty() {
                        continue;
                    }
                    tracing::info!(?added, "new IODEF topics found and subscribed to");
                    topics.extend(added.iter().cloned());
                    followed.extend(added.iter().cloned());
                    let ev = GridEvent::TopicsAdded {
                        added,
                        topics: followed.clone(),
                    };
                    if tx.send(ev).await.is_err() {
                        return;
                    }
                    continue;
                }
            };
            match ev {
                SessionEvent::NewSession { .. } => {
                    // The broker may have lost presence and session state.
                    match subscribe_all(&session, &service, &selection, &tx).await {
                        Ok((t, pending)) => {
                            let pending: BTreeSet<String> = pending.into_iter().collect();
                            for topic in waiting.difference(&pending).filter(|w| t.contains(w)) {
                                let ev = GridEvent::Approved {
                                    topic: topic.clone(),
                                };
                                if tx.send(ev).await.is_err() {
                                    return;
                                }
                            }
                            waiting = pending;
                            tracing::info!(topics = t.len(), "resubscribed after a new session");
                            topics = t.iter().cloned().collect();
                            followed = t.clone();
                            let ev = GridEvent::Resubscribed { topics: t };
                            if tx.send(ev).await.is_err() {
                                return;
                            }
                        }
                        Err(e) => tracing::error!(error = %e, "resubscribing failed"),
                    }
                }
                SessionEvent::Lagged { dropped } => {
                    tracing::warn!(
                        dropped,
                        "the consumer fell behind: notifications dropped; catch up from the topics' items"
                    );
                    let ev = GridEvent::Lagged {
                        topics: followed.clone(),
                        dropped,
                    };
                    if tx.send(ev).await.is_err() {
                        return;
                    }
                }
                SessionEvent::Message(m) => {
                    for ge in notification(*m, &service, &topics, level) {
                        match &ge {
                            // Only a subscription that was waiting can be
                            // approved: the service also confirms the one
                            // we approved ourselves as the owner.
                            GridEvent::Approved { topic } if !waiting.remove(topic) => continue,
                            GridEvent::Unsubscribed { topic } => {
                                waiting.remove(topic);
                            }
                            // Our own request, which `subscribe` approved.
                            GridEvent::SubscriptionRequest { jid, .. }
                                if jid.parse::<Jid>().is_ok_and(|j| j.to_bare() == me) =>
                            {
                                continue
                            }
                            _ => {}
                        }
                        if tx.send(ge).await.is_err() {
                            return;
                        }
                    }
                }
                _ => {}
            }
        }
    });
    Ok(Subscription {
        rx,
        task,
        topics: initial,
        pending: pending_at_start,
    })
}

/// Waits for the next tick of `interval`; forever without one.
async fn tick(interval: &mut Option<tokio::time::Interval>) {
    match interval {
        Some(i) => {
            i.tick().await;
        }
        None => std::future::pending().await,
    }
}

/// Discovers the IODEF topics and subscribes to those not in `known`;
/// returns them (in discovery's order) and those of them pending approval.
/// One that cannot be subscribed to is left for the next look.
async fn new_topics(
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
async fn subscribe_all(
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
