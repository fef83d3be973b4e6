//! A live subscription: the task that reads the session's events and turns
//! them into [`GridEvent`]s — notifications checked and converted, a new
//! session answered by subscribing again (and approvals found that way),
//! a slow consumer told to catch up, and, following every IODEF topic, new
//! topics looked for now and then (XEP-0060 announces no node creation).

use std::collections::BTreeSet;

use tokio::sync::mpsc;
use tokio_xmpp::jid::{BareJid, Jid};
use tokio_xmpp::parsers::message::Message;

use super::notify::notification;
use super::subscribe::{new_topics, subscribe_all, TopicSelection};
use super::{GridError, GridEvent};
use crate::iodef::ValidationLevel;
use crate::xmpp::{Session, SessionEvent, SessionEvents};

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
    item_json: bool,
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
    // Only a subscription to every IODEF topic looks for new ones.
    let every = match selection {
        TopicSelection::AllIodef => session.config().rediscover_every,
        TopicSelection::Named(_) => None,
    };
    let look = every.map(|d| {
        // An interval's first tick is at once: the first look is due
        // one period after subscribing.
        let mut i = tokio::time::interval_at(tokio::time::Instant::now() + d, d);
        i.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        i
    });
    let live = Live {
        me: session.bare_jid(),
        session,
        service,
        selection,
        level,
        item_json,
        tx,
        topics: initial.iter().cloned().collect(),
        followed: initial.clone(),
        waiting: pending.iter().cloned().collect(),
    };
    let task = tokio::spawn(live.run(events, look));
    Ok(Subscription {
        rx,
        task,
        topics: initial,
        pending,
    })
}

/// The consumer dropped its [`Subscription`]: the task ends.
struct Gone;

/// What the subscription task keeps between events: the topics in the
/// three forms its events need, and where events go.
struct Live {
    session: Session,
    service: Jid,
    selection: TopicSelection,
    level: ValidationLevel,
    /// Build IODEF items' JSON (`Grid::without_item_json` says not).
    item_json: bool,
    me: BareJid,
    tx: mpsc::Sender<GridEvent>,
    /// The topics followed, in the selection's order (what events report).
    followed: Vec<String>,
    /// The same as a set: notifications of other nodes are not ours.
    topics: BTreeSet<String>,
    /// Pending the owner's approval; one that a new session finds
    /// subscribed was approved while the session was down (its
    /// notification lost).
    waiting: BTreeSet<String>,
}

impl Live {
    /// Dispatches session events and look-ups for new topics until the
    /// session or the consumer goes.
    async fn run(mut self, mut events: SessionEvents, mut look: Option<tokio::time::Interval>) {
        loop {
            let handled = tokio::select! {
                ev = events.recv() => match ev {
                    Some(SessionEvent::NewSession { .. }) => self.new_session().await,
                    Some(SessionEvent::Lagged { dropped }) => self.lagged(dropped).await,
                    Some(SessionEvent::Message(m)) => self.message(*m).await,
                    Some(_) => Ok(()),
                    None => return,
                },
                () = tick(&mut look) => self.look_for_new_topics().await,
            };
            if let Err(Gone) = handled {
                return;
            }
        }
    }

    async fn send(&self, ev: GridEvent) -> Result<(), Gone> {
        self.tx.send(ev).await.map_err(|_| Gone)
    }

    /// Subscribes again (the broker may have lost presence and session
    /// state); announces approvals that came while the session was down,
    /// then [`GridEvent::Resubscribed`].
    async fn new_session(&mut self) -> Result<(), Gone> {
        let (t, pending) =
            match subscribe_all(&self.session, &self.service, &self.selection, &self.tx).await {
                Ok(done) => done,
                Err(e) => {
                    tracing::error!(error = %e, "resubscribing failed");
                    return Ok(());
                }
            };
        let pending: BTreeSet<String> = pending.into_iter().collect();
        for topic in self.waiting.difference(&pending).filter(|w| t.contains(w)) {
            self.send(GridEvent::Approved {
                topic: topic.clone(),
            })
            .await?;
        }
        self.waiting = pending;
        tracing::info!(topics = t.len(), "resubscribed after a new session");
        self.topics = t.iter().cloned().collect();
        self.followed = t.clone();
        self.send(GridEvent::Resubscribed { topics: t }).await
    }

    /// Notifications were dropped for a slow consumer: it is told to catch
    /// up from the topics' items.
    async fn lagged(&mut self, dropped: u64) -> Result<(), Gone> {
        tracing::warn!(
            dropped,
            "the consumer fell behind: notifications dropped; catch up from the topics' items"
        );
        self.send(GridEvent::Lagged {
            topics: self.followed.clone(),
            dropped,
        })
        .await
    }

    /// A message: the grid events it carries, for the topics followed.
    async fn message(&mut self, m: Message) -> Result<(), Gone> {
        // The id only when profiling asked for it (no copy otherwise).
        let msg = if tracing::enabled!(target: "gridlink::receive", tracing::Level::TRACE) {
            m.id.as_ref().map(|i| i.0.clone())
        } else {
            None
        };
        tracing::trace!(target: "gridlink::receive", hop = "subscription", ?msg, "message taken from the session's queue");
        for ge in notification(m, &self.service, &self.topics, self.level, self.item_json) {
            if let GridEvent::Item { envelope, .. } = &ge {
                tracing::trace!(target: "gridlink::receive", hop = "parsed", ?msg, item = %envelope.item_id, "notification parsed");
            }
            match &ge {
                // Only a subscription that was waiting can be approved: the
                // service also confirms the one we approved ourselves as
                // the owner.
                GridEvent::Approved { topic } if !self.waiting.remove(topic) => continue,
                GridEvent::Unsubscribed { topic } => {
                    self.waiting.remove(topic);
                }
                // Our own request, which `subscribe` approved.
                GridEvent::SubscriptionRequest { jid, .. }
                    if jid.parse::<Jid>().is_ok_and(|j| j.to_bare() == self.me) =>
                {
                    continue
                }
                _ => {}
            }
            self.send(ge).await?;
        }
        Ok(())
    }

    /// Subscribes to IODEF topics created since the last look and announces
    /// them with [`GridEvent::TopicsAdded`]; a failed look is tried again
    /// at the next tick.
    async fn look_for_new_topics(&mut self) -> Result<(), Gone> {
        let added = match new_topics(&self.session, &self.service, &self.topics, &self.tx).await {
            Ok((added, pending)) => {
                self.waiting.extend(pending);
                added
            }
            Err(e) => {
                tracing::warn!(error = %e, "looking for new IODEF topics failed; trying again later");
                return Ok(());
            }
        };
        if added.is_empty() {
            return Ok(());
        }
        tracing::info!(?added, "new IODEF topics found and subscribed to");
        self.topics.extend(added.iter().cloned());
        self.followed.extend(added.iter().cloned());
        self.send(GridEvent::TopicsAdded {
            added,
            topics: self.followed.clone(),
        })
        .await
    }
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
