//! The session's event queue: what the driver tells the layer above, in
//! order, with a bound on the messages waiting and a signal for any it had
//! to drop.
//!
//! The driver must never wait for the consumer: it is also what reads IQ
//! answers, so a consumer that blocks on an IQ (a catch-up request, a
//! resubscription) while the driver waits for room in the queue would
//! deadlock. An unbounded queue avoids that but lets a slow consumer — a
//! SIEM's full pipe, a stalled disk — grow the process without limit while
//! the broker keeps notifying. So messages are counted: past
//! [`Config::event_queue`](crate::config::Config::event_queue) waiting, the
//! driver drops new ones and queues one [`SessionEvent::Lagged`] instead.
//! Pubsub notifications are not the record — the topics' items are — so a
//! consumer that sees `Lagged` fetches the items to catch up, as after a new
//! session; the durable follower does exactly that, so nothing is lost that
//! the broker still keeps.
//!
//! Why the catch-up after a `Lagged` covers every dropped message: the
//! driver counts a drop *before* it checks whether a `Lagged` is already
//! waiting, and the receiver clears that mark *before* it takes the count.
//! A drop is therefore either counted by a `Lagged` not yet received (whose
//! catch-up comes later), or it queues a new one. A `Lagged` whose count was
//! already taken by an earlier one (0 left) is skipped.
//!
//! Control events (new session, suspended, resumed, reconnect failures) are
//! few and never dropped.

use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};

use tokio::sync::mpsc;
use tokio_xmpp::jid::Jid;
use tokio_xmpp::parsers::message::Message;

/// What the session tells the layer above, in order.
#[derive(Debug)]
pub enum SessionEvent {
    /// A new session (first login, or after a reconnect that could not be
    /// resumed): server-side session state (presence, IQs in flight) is gone;
    /// subscriptions should be verified and missed items fetched.
    NewSession {
        /// The full JID bound for this session.
        jid: Jid,
    },
    /// The connection dropped; reconnecting.
    Suspended,
    /// The connection came back and XEP-0198 resumed it: nothing was lost.
    Resumed,
    /// A reconnect attempt failed; another follows after a backoff.
    ReconnectFailed {
        /// 1 for the first retry after a loss.
        attempt: u32,
        /// Why it failed.
        error: String,
    },
    /// An incoming `<message/>` (pubsub notifications arrive this way).
    Message(Box<Message>),
    /// The consumer fell behind: this many incoming messages found the
    /// queue full and were dropped since the last `Lagged`. Fetch the
    /// topics' items to catch up (see the module docs).
    Lagged {
        /// Messages dropped (at least 1).
        dropped: u64,
    },
}

/// State shared by the sending and the receiving half.
#[derive(Debug)]
struct Shared {
    /// Messages sent and not yet received.
    queued: AtomicUsize,
    /// The most messages that may wait.
    limit: usize,
    /// Messages dropped and not yet reported by a received `Lagged`.
    dropped: AtomicU64,
    /// A `Lagged` is in the queue.
    lag_queued: AtomicBool,
}

/// The driver's (and the reconnector's) half. Never waits.
#[derive(Clone, Debug)]
pub(crate) struct EventSender {
    tx: mpsc::UnboundedSender<SessionEvent>,
    shared: Arc<Shared>,
}

/// The layer above's half: [`Session::take_events`](super::Session::take_events).
/// Also a `Stream` of events.
#[derive(Debug)]
pub struct SessionEvents {
    rx: mpsc::UnboundedReceiver<SessionEvent>,
    shared: Arc<Shared>,
}

/// A queue that holds at most `limit` messages (at least 1).
pub(crate) fn channel(limit: usize) -> (EventSender, SessionEvents) {
    let (tx, rx) = mpsc::unbounded_channel();
    let shared = Arc::new(Shared {
        queued: AtomicUsize::new(0),
        limit: limit.max(1),
        dropped: AtomicU64::new(0),
        lag_queued: AtomicBool::new(false),
    });
    (
        EventSender {
            tx,
            shared: shared.clone(),
        },
        SessionEvents { rx, shared },
    )
}

impl EventSender {
    /// Queues a control event (never dropped). A closed receiver (nobody
    /// listens any more) is not an error.
    pub(crate) fn control(&self, ev: SessionEvent) {
        let _ = self.tx.send(ev);
    }

    /// Queues an incoming message, or drops it when `limit` are waiting
    /// and makes sure a [`SessionEvent::Lagged`] is queued after the drop.
    pub(crate) fn message(&self, m: Message) {
        let s = &self.shared;
        if s.queued.load(Ordering::Acquire) >= s.limit {
            // Counted before the mark is tested: see the module docs.
            s.dropped.fetch_add(1, Ordering::AcqRel);
            if !s.lag_queued.swap(true, Ordering::AcqRel) {
                let _ = self.tx.send(SessionEvent::Lagged { dropped: 0 });
            }
            return;
        }
        s.queued.fetch_add(1, Ordering::AcqRel);
        let _ = self.tx.send(SessionEvent::Message(Box::new(m)));
    }
}

impl SessionEvents {
    /// The next event; `None` once the session is gone and everything was
    /// received.
    pub async fn recv(&mut self) -> Option<SessionEvent> {
        loop {
            let ev = self.rx.recv().await?;
            if let Some(ev) = self.received(ev) {
                return Some(ev);
            }
        }
    }

    /// The next event if one is waiting.
    pub fn try_recv(&mut self) -> Option<SessionEvent> {
        loop {
            let ev = self.rx.try_recv().ok()?;
            if let Some(ev) = self.received(ev) {
                return Some(ev);
            }
        }
    }

    /// Accounts for an event leaving the queue; `None` for a `Lagged` with
    /// nothing left to report.
    fn received(&self, ev: SessionEvent) -> Option<SessionEvent> {
        let s = &self.shared;
        match ev {
            SessionEvent::Message(_) => {
                s.queued.fetch_sub(1, Ordering::AcqRel);
                Some(ev)
            }
            SessionEvent::Lagged { .. } => {
                // Cleared before the count is taken: see the module docs.
                s.lag_queued.store(false, Ordering::Release);
                match s.dropped.swap(0, Ordering::AcqRel) {
                    0 => None,
                    dropped => Some(SessionEvent::Lagged { dropped }),
                }
            }
            ev => Some(ev),
        }
    }
}

impl futures::Stream for SessionEvents {
    type Item = SessionEvent;
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<SessionEvent>> {
        loop {
            let ev = match self.rx.poll_recv(cx) {
                Poll::Ready(Some(ev)) => ev,
                Poll::Ready(None) => return Poll::Ready(None),
                Poll::Pending => return Poll::Pending,
            };
            if let Some(ev) = self.received(ev) {
                return Poll::Ready(Some(ev));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(id: &str) -> Message {
        let mut m = Message::new(None);
        m.id = Some(tokio_xmpp::parsers::message::Id(id.into()));
        m
    }

    fn id(ev: &SessionEvent) -> Option<String> {
        match ev {
            SessionEvent::Message(m) => m.id.as_ref().map(|i| i.0.clone()),
            _ => None,
        }
    }

    /// Up to the limit, messages queue; beyond it they are dropped and one
    /// `Lagged` counting them follows the kept ones; control events are
    /// never dropped; once drained, messages queue again.
    #[test]
    fn bounded_with_one_lagged_per_overflow() {
        let (tx, mut rx) = channel(3);
        for i in 0..10 {
            tx.message(msg(&i.to_string()));
        }
        tx.control(SessionEvent::Suspended);
        let got: Vec<_> = std::iter::from_fn(|| rx.try_recv()).collect();
        let ids: Vec<_> = got.iter().filter_map(id).collect();
        assert_eq!(ids, ["0", "1", "2"]);
        assert!(
            matches!(got[3], SessionEvent::Lagged { dropped: 7 }),
            "{got:?}"
        );
        assert!(matches!(got[4], SessionEvent::Suspended), "{got:?}");
        assert_eq!(got.len(), 5);
        tx.message(msg("10"));
        let next = rx.try_recv().map(|e| id(&e));
        assert_eq!(next, Some(Some("10".into())));
    }

    /// A drop after the consumer took a `Lagged` (here: while the queue is
    /// still full of messages) queues a new one; a `Lagged` whose drops an
    /// earlier one already reported is skipped.
    #[test]
    fn every_drop_is_followed_by_a_lagged() {
        let (tx, mut rx) = channel(2);
        tx.message(msg("a"));
        tx.message(msg("b"));
        tx.message(msg("dropped-1"));
        // The consumer takes the first message, then the queue fills again.
        assert_eq!(rx.try_recv().map(|e| id(&e)), Some(Some("a".into())));
        tx.message(msg("c"));
        tx.message(msg("dropped-2"));
        let got: Vec<_> = std::iter::from_fn(|| rx.try_recv()).collect();
        // b, Lagged(2): both drops reported by the first Lagged (they
        // happened before it was received), then c.
        assert_eq!(id(&got[0]).as_deref(), Some("b"));
        assert!(
            matches!(got[1], SessionEvent::Lagged { dropped: 2 }),
            "{got:?}"
        );
        assert_eq!(id(&got[2]).as_deref(), Some("c"));
        assert_eq!(got.len(), 3, "{got:?}");
        // A drop after that Lagged was received gets a Lagged of its own.
        tx.message(msg("d"));
        tx.message(msg("e"));
        tx.message(msg("dropped-3"));
        let got: Vec<_> = std::iter::from_fn(|| rx.try_recv()).collect();
        assert!(
            matches!(got[2], SessionEvent::Lagged { dropped: 1 }),
            "{got:?}"
        );
    }

    /// The race the module docs describe: the consumer clears the mark, a
    /// drop queues a second `Lagged`, then the consumer takes the count
    /// (including that drop); the second `Lagged` has nothing left and is
    /// skipped.
    #[test]
    fn a_lagged_with_nothing_left_is_skipped() {
        let (tx, mut rx) = channel(1);
        tx.message(msg("a"));
        tx.message(msg("dropped-1")); // queues Lagged
        let s = rx.shared.clone();
        // Consumer: receives "a", then starts on the Lagged and clears the mark …
        assert!(rx.try_recv().is_some());
        let lagged = rx.rx.try_recv().expect("the Lagged");
        s.lag_queued.store(false, Ordering::Release);
        // … the driver drops another message meanwhile (queue still "full"
        // because the consumer has not given the slot back in this test) …
        s.queued.store(1, Ordering::Release);
        tx.message(msg("dropped-2")); // counted, and queues a second Lagged
                                      // … and the consumer takes the count: both drops.
        let first = rx.received(lagged);
        assert!(
            matches!(first, Some(SessionEvent::Lagged { dropped: 2 })),
            "{first:?}"
        );
        s.queued.store(0, Ordering::Release);
        assert!(rx.try_recv().is_none(), "the second Lagged is skipped");
    }
}
