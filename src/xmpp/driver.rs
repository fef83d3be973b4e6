//! The driver task: the only code that touches tokio-xmpp's `StanzaStream`.
//! It owns the IQ table (answers routed to their waiters, checked against
//! whom they were sent to; all failed on a new session), answers pings and
//! refuses other requests, queues messages and session changes as events,
//! and publishes the [`SessionState`].

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use tokio::sync::{mpsc, oneshot, watch};
use tokio_xmpp::jid::{BareJid, Jid};
use tokio_xmpp::minidom::Element;
use tokio_xmpp::parsers::iq::Iq;
use tokio_xmpp::parsers::ns;
use tokio_xmpp::parsers::presence::Presence;
use tokio_xmpp::parsers::stanza_error::{DefinedCondition, ErrorType, StanzaError};
use tokio_xmpp::stanzastream::{Event, StanzaStream, StreamEvent};
use tokio_xmpp::Stanza;

use super::events::{EventSender, SessionEvent};
use super::IqError;

/// Connectivity as seen by the layer above.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionState {
    /// Bound and usable.
    Online,
    /// The connection was lost; reconnecting (XEP-0198 may resume it).
    Suspended,
    /// Closed for good.
    Closed,
}

/// What a [`Session`](super::Session) handle asks the driver to do.
pub(super) enum Command {
    Iq {
        id: String,
        iq: Box<Iq>,
        to: Option<Jid>,
        reply: oneshot::Sender<Result<Option<Element>, IqError>>,
    },
    Send(Box<Stanza>),
    Close,
}

/// An IQ waiting for its answer: from whom, and where it goes.
struct Pending {
    to: Option<Jid>,
    reply: oneshot::Sender<Result<Option<Element>, IqError>>,
}

/// The driver: the only code that touches the `StanzaStream`.
pub(super) async fn drive(
    mut stream: StanzaStream,
    mut commands: mpsc::Receiver<Command>,
    events: EventSender,
    state: watch::Sender<SessionState>,
    bound: watch::Sender<Option<Jid>>,
    own: BareJid,
    reconnects: Arc<AtomicU64>,
) {
    let mut pending: HashMap<String, Pending> = HashMap::new();
    let mut sweep = tokio::time::interval(Duration::from_secs(1));
    loop {
        tokio::select! {
            ev = stream.next() => match ev {
                None => break,
                Some(Event::Stanza(Stanza::Iq(iq))) => {
                    if let Some(reply) = handle_iq(iq, &mut pending, &own) {
                        stream.send(Box::new(Stanza::Iq(reply))).await;
                    }
                }
                Some(Event::Stanza(Stanza::Message(m))) => {
                    // Receive-path profiling (issue 22): one event per hop,
                    // target `gridlink::receive`, off unless asked for.
                    tracing::trace!(target: "gridlink::receive", hop = "driver", msg = ?m.id.as_ref().map(|i| &i.0), "message read from the stream");
                    events.message(m);
                }
                Some(Event::Stanza(Stanza::Presence(_))) => {}
                Some(Event::Stream(StreamEvent::Reset { bound_jid, .. })) => {
                    tracing::info!(jid = %bound_jid, "new XMPP session");
                    fail_all(&mut pending, |to| IqError::SessionReset { to });
                    // Initial presence: bare-JID pubsub notifications are only
                    // delivered to available resources.
                    stream.send(Box::new(Stanza::Presence(Presence::available()))).await;
                    let _ = bound.send(Some(bound_jid.clone()));
                    let _ = state.send(SessionState::Online);
                    events.control(SessionEvent::NewSession { jid: bound_jid });
                }
                Some(Event::Stream(StreamEvent::Suspended)) => {
                    tracing::warn!("XMPP connection lost; reconnecting");
                    reconnects.fetch_add(1, Ordering::Relaxed);
                    let _ = state.send(SessionState::Suspended);
                    events.control(SessionEvent::Suspended);
                }
                Some(Event::Stream(StreamEvent::Resumed)) => {
                    tracing::info!("XMPP stream resumed (XEP-0198)");
                    let _ = state.send(SessionState::Online);
                    events.control(SessionEvent::Resumed);
                }
            },
            cmd = commands.recv() => match cmd {
                None | Some(Command::Close) => break, // closed, or every handle is gone
                Some(Command::Iq { id, iq, to, reply }) => {
                    pending.insert(id, Pending { to, reply });
                    stream.send(Box::new(Stanza::Iq(*iq))).await;
                }
                Some(Command::Send(stanza)) => {
                    stream.send(stanza).await;
                }
            },
            _ = sweep.tick() => pending.retain(|_, p| !p.reply.is_closed()),
        }
    }
    fail_all(&mut pending, |_| IqError::Closed);
    // Announce "closed" only after `</stream:stream>` went out, so a caller
    // that exits right after `close()` does not cut the stream short.
    let _ = tokio::time::timeout(Duration::from_secs(4), stream.close()).await;
    let _ = state.send(SessionState::Closed);
}

fn fail_all(pending: &mut HashMap<String, Pending>, err: impl Fn(String) -> IqError) {
    for (_, p) in pending.drain() {
        let to =
            p.to.map(|j| j.to_string())
                .unwrap_or_else(|| "the server".into());
        let _ = p.reply.send(Err(err(to)));
    }
}

/// Routes an answer to its waiter, or answers a request. Returns the stanza
/// to send back, if any.
fn handle_iq(iq: Iq, pending: &mut HashMap<String, Pending>, own: &BareJid) -> Option<Iq> {
    match iq {
        Iq::Result {
            from, id, payload, ..
        } => {
            if let Some(p) = take_matching(pending, &id, from.as_ref(), own) {
                let _ = p.reply.send(Ok(payload));
            }
            None
        }
        Iq::Error {
            from, id, error, ..
        } => {
            if let Some(p) = take_matching(pending, &id, from.as_ref(), own) {
                let to =
                    p.to.map(|j| j.to_string())
                        .unwrap_or_else(|| "the server".into());
                let _ = p.reply.send(Err(IqError::Stanza {
                    to,
                    error: Box::new(error),
                }));
            }
            None
        }
        Iq::Get {
            from, id, payload, ..
        } if payload.is("ping", ns::PING) => Some(Iq::Result {
            from: None,
            to: from,
            id,
            payload: None,
        }),
        Iq::Get {
            from, id, payload, ..
        }
        | Iq::Set {
            from, id, payload, ..
        } => {
            tracing::debug!(
                request = payload.name(),
                ns = payload.ns(),
                "unhandled IQ request"
            );
            Some(Iq::Error {
                from: None,
                to: from,
                id,
                error: StanzaError::new(
                    ErrorType::Cancel,
                    DefinedCondition::ServiceUnavailable,
                    "en",
                    "not supported by this client",
                ),
                payload: None,
            })
        }
    }
}

/// Takes the pending entry for `id` if the answer comes from whom we asked.
/// A request to no one (the account) may be answered without `from` or from
/// the bare JID or its domain.
fn take_matching(
    pending: &mut HashMap<String, Pending>,
    id: &str,
    from: Option<&Jid>,
    own: &BareJid,
) -> Option<Pending> {
    let ok = match pending.get(id) {
        None => return None,
        Some(p) => match (&p.to, from) {
            (Some(to), Some(f)) => to == f || (to.to_bare() == *own && f.to_bare() == *own),
            (Some(to), None) => to.to_bare() == *own || to.as_str() == own.domain().as_str(),
            (None, None) => true,
            (None, Some(f)) => f.to_bare() == *own || f.as_str() == own.domain().as_str(),
        },
    };
    if !ok {
        tracing::warn!(id, from = ?from, "ignoring IQ answer from an unexpected sender");
        return None;
    }
    pending.remove(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An answer from someone else with a pending id is not delivered.
    #[test]
    fn spoofed_answer_is_ignored() {
        let own: BareJid = "alice@localhost".parse().unwrap();
        let mut pending = HashMap::new();
        let (tx, mut rx) = oneshot::channel();
        pending.insert(
            "1".to_string(),
            Pending {
                to: Some("pubsub.localhost".parse().unwrap()),
                reply: tx,
            },
        );
        let spoof = Iq::Result {
            from: Some("mallory@localhost".parse().unwrap()),
            to: None,
            id: "1".into(),
            payload: None,
        };
        assert!(handle_iq(spoof, &mut pending, &own).is_none());
        assert!(rx.try_recv().is_err());
        let real = Iq::Result {
            from: Some("pubsub.localhost".parse().unwrap()),
            to: None,
            id: "1".into(),
            payload: None,
        };
        handle_iq(real, &mut pending, &own);
        assert!(matches!(rx.try_recv(), Ok(Ok(None))));
    }

    /// Pings are answered; other requests get service-unavailable.
    #[test]
    fn requests_are_answered() {
        let own: BareJid = "alice@localhost".parse().unwrap();
        let mut pending = HashMap::new();
        let ping = Iq::Get {
            from: Some("localhost".parse().unwrap()),
            to: None,
            id: "p".into(),
            payload: Element::builder("ping", ns::PING).build(),
        };
        assert!(matches!(
            handle_iq(ping, &mut pending, &own),
            Some(Iq::Result { .. })
        ));
        let other = Iq::Get {
            from: Some("localhost".parse().unwrap()),
            to: None,
            id: "q".into(),
            payload: Element::builder("query", "jabber:iq:version").build(),
        };
        match handle_iq(other, &mut pending, &own) {
            Some(Iq::Error { error, .. }) => {
                assert_eq!(
                    error.defined_condition,
                    DefinedCondition::ServiceUnavailable
                )
            }
            other => panic!("expected an error answer, got {other:?}"),
        }
    }

    /// What Prosody answers to `<resume/>` after a restart: `<failed/>`
    /// without `h`. XEP-0198 allows it; xmpp-parsers 0.23.0 refused it and
    /// tokio-xmpp then retried the resumption forever (see
    /// vendor/xmpp-parsers/GRIDLINK-PATCH.md). Fails without the patch.
    #[test]
    fn sm_failed_without_h_parses() {
        use tokio_xmpp::parsers::sm::Failed;
        let el: Element = "<failed xmlns='urn:xmpp:sm:3'><item-not-found xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></failed>"
            .parse()
            .unwrap();
        let failed = Failed::try_from(el).expect("<failed/> without h must parse");
        assert_eq!(failed.h, None);
    }
}
