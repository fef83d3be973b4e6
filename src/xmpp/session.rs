//! A long-lived XMPP session: one driver task owns tokio-xmpp's `StanzaStream`
//! and everything else talks to it through a [`Session`] handle.
//!
//! Why not `tokio_xmpp::Client`: its receiver polls a `try_lock`ed mutex and
//! returns `Pending` without registering a waker, so IQ responses can be lost
//! for good (measured: 7 hangs in 130 runs). `StanzaStream` is polled here by
//! exactly one task, which also owns the IQ table, so that race cannot occur.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::StreamExt;
use rand::Rng;
use tokio::sync::{mpsc, oneshot, watch};
use tokio_xmpp::jid::{BareJid, Jid};
use tokio_xmpp::minidom::Element;
use tokio_xmpp::parsers::iq::Iq;
use tokio_xmpp::parsers::ns;
use tokio_xmpp::parsers::presence::Presence;
use tokio_xmpp::parsers::stanza_error::{DefinedCondition, ErrorType, StanzaError};
use tokio_xmpp::stanzastream::{Connection, Event, StanzaStream, StreamEvent};
use tokio_xmpp::Stanza;

use super::connect::connect_and_login;
use super::events::{EventSender, SessionEvent, SessionEvents};
use super::reconnect::reconnector;
use super::{ConnectError, IqError};
use crate::config::Config;

/// How many stanzas may wait in each direction inside `StanzaStream`.
const QUEUE_DEPTH: usize = 1024;

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

enum Command {
    Iq {
        id: String,
        iq: Box<Iq>,
        to: Option<Jid>,
        reply: oneshot::Sender<Result<Option<Element>, IqError>>,
    },
    Send(Box<Stanza>),
    Close,
}

struct Pending {
    to: Option<Jid>,
    reply: oneshot::Sender<Result<Option<Element>, IqError>>,
}

/// A cheap, cloneable handle to the session.
#[derive(Clone)]
pub struct Session {
    inner: Arc<Inner>,
}

struct Inner {
    commands: mpsc::Sender<Command>,
    state: watch::Receiver<SessionState>,
    bound: watch::Receiver<Option<Jid>>,
    events: Mutex<Option<SessionEvents>>,
    config: Config,
    mechanism: &'static str,
    tls_version: Option<&'static str>,
    id_prefix: String,
    next_id: AtomicU64,
    reconnects: Arc<AtomicU64>,
    failure: Arc<Mutex<Option<String>>>,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("jid", &self.jid())
            .field("state", &self.state())
            .finish()
    }
}

impl Session {
    /// Connects, authenticates and binds a resource, failing fast: any error
    /// of this first attempt (refused, unknown host, untrusted certificate,
    /// wrong password, timeout) is returned, not retried. After this returns,
    /// connection losses are repaired in the background (resume when
    /// possible, else a new session announced by [`SessionEvent::NewSession`]).
    pub async fn connect(config: Config) -> Result<Session, ConnectError> {
        let tls = super::tls::client_config(&config)?;
        // A fixed resource keeps the same full JID across reconnects, so
        // server-side state tied to it (subscriptions by full JID) survives.
        let jid = match config.jid.clone().try_into_full() {
            Ok(full) => Jid::from(full),
            Err(bare) => {
                let suffix: u32 = rand::rng().random();
                bare.with_resource_str(&format!("gridlink-{suffix:08x}"))
                    .map(Jid::from)
                    .map_err(|e| ConnectError::TlsConfig(format!("resource: {e}")))?
            }
        };
        let (host, port) = config.server_addr();
        let addr = format!("{host}:{port}");
        let limit = config.connect_timeout;
        let login = tokio::time::timeout(limit, connect_and_login(&config, &tls, &jid))
            .await
            .map_err(|_| ConnectError::Timeout {
                addr: addr.clone(),
                after: limit,
            })??;
        let mechanism = login.mechanism;
        let tls_version = login.tls_version;

        let (event_tx, event_rx) = super::events::channel(config.event_queue);
        let failure = Arc::new(Mutex::new(None));
        let connector = reconnector(
            config.clone(),
            tls,
            jid,
            login,
            event_tx.clone(),
            failure.clone(),
        );
        let stream = StanzaStream::new(connector, QUEUE_DEPTH);
        let (cmd_tx, cmd_rx) = mpsc::channel(256);
        let (state_tx, state_rx) = watch::channel(SessionState::Suspended);
        let (bound_tx, mut bound_rx) = watch::channel(None);
        let own = config.jid.to_bare();
        let reconnects = Arc::new(AtomicU64::new(0));
        tokio::spawn(drive(
            stream,
            cmd_rx,
            event_tx,
            state_tx,
            bound_tx,
            own,
            reconnects.clone(),
        ));

        // Binding happens inside the stream worker; wait for it so that
        // `jid()` is known and the first requests do not race the bind.
        let bound = tokio::time::timeout(limit, bound_rx.wait_for(|b| b.is_some()))
            .await
            .map(|r| r.is_ok())
            .unwrap_or(false);
        if !bound {
            return Err(ConnectError::Protocol {
                addr,
                reason: "resource binding did not complete".into(),
            });
        }
        let id_prefix: u32 = rand::rng().random();
        Ok(Session {
            inner: Arc::new(Inner {
                commands: cmd_tx,
                state: state_rx,
                bound: bound_rx,
                events: Mutex::new(Some(event_rx)),
                config,
                mechanism,
                tls_version,
                id_prefix: format!("gl{id_prefix:08x}-"),
                next_id: AtomicU64::new(1),
                reconnects,
                failure,
            }),
        })
    }

    /// The configuration this session was opened with.
    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    /// The full JID bound for the current session.
    pub fn jid(&self) -> Jid {
        self.inner
            .bound
            .borrow()
            .clone()
            .unwrap_or_else(|| self.inner.config.jid.clone())
    }

    /// The account's bare JID.
    pub fn bare_jid(&self) -> BareJid {
        self.inner.config.jid.to_bare()
    }

    /// The TLS version of the first connection (`TLSv1.3` or `TLSv1.2`;
    /// `None` for loopback plaintext).
    pub fn tls_version(&self) -> Option<&'static str> {
        self.inner.tls_version
    }

    /// The SASL mechanism used for the first login.
    pub fn mechanism(&self) -> &'static str {
        self.inner.mechanism
    }

    /// Current connectivity.
    pub fn state(&self) -> SessionState {
        *self.inner.state.borrow()
    }

    /// How many times the connection was lost since the first login (each
    /// loss is repaired by resumption or a new session).
    pub fn reconnects(&self) -> u64 {
        self.inner.reconnects.load(Ordering::Relaxed)
    }

    /// Why the session ended on its own, if it did: reconnecting failed
    /// [`GIVE_UP_AFTER`](super::GIVE_UP_AFTER) times in a row for a reason retrying cannot fix
    /// (the account's password changed, its certificate was revoked, …).
    /// The state is then [`SessionState::Closed`] and the event stream ends.
    pub fn failure(&self) -> Option<String> {
        self.inner.failure.lock().ok().and_then(|f| f.clone())
    }

    /// A receiver that changes whenever the state does.
    pub fn watch_state(&self) -> watch::Receiver<SessionState> {
        self.inner.state.clone()
    }

    /// Takes the event stream. There is one: the first caller gets it. The
    /// driver never waits for it (it also reads every IQ answer): past
    /// [`Config::event_queue`] waiting messages, new ones are dropped and a
    /// [`SessionEvent::Lagged`] says to catch up (see `events.rs`).
    pub fn take_events(&self) -> Option<SessionEvents> {
        self.inner.events.lock().ok().and_then(|mut e| e.take())
    }

    /// Gives back an event stream taken with [`Session::take_events`], for
    /// the next caller (a short exchange that read a few messages itself).
    pub(crate) fn return_events(&self, events: SessionEvents) {
        if let Ok(mut e) = self.inner.events.lock() {
            *e = Some(events);
        }
    }

    fn next_id(&self) -> String {
        let n = self.inner.next_id.fetch_add(1, Ordering::Relaxed);
        format!("{}{n}", self.inner.id_prefix)
    }

    /// Sends `<iq type='get'>` and waits for the answer (default timeout).
    pub async fn get(&self, to: Option<Jid>, payload: Element) -> Result<Option<Element>, IqError> {
        self.iq(false, to, payload, self.inner.config.iq_timeout)
            .await
    }

    /// Sends `<iq type='set'>` and waits for the answer (default timeout).
    pub async fn set(&self, to: Option<Jid>, payload: Element) -> Result<Option<Element>, IqError> {
        self.iq(true, to, payload, self.inner.config.iq_timeout)
            .await
    }

    /// Sends an IQ and waits at most `timeout` for its `result` payload.
    pub async fn iq(
        &self,
        set: bool,
        to: Option<Jid>,
        payload: Element,
        timeout: Duration,
    ) -> Result<Option<Element>, IqError> {
        let id = self.next_id();
        let iq = if set {
            Iq::Set {
                from: None,
                to: to.clone(),
                id: id.clone(),
                payload,
            }
        } else {
            Iq::Get {
                from: None,
                to: to.clone(),
                id: id.clone(),
                payload,
            }
        };
        let (reply, rx) = oneshot::channel();
        let target = to
            .as_ref()
            .map(|j| j.to_string())
            .unwrap_or_else(|| "the server".into());
        self.inner
            .commands
            .send(Command::Iq {
                id,
                iq: Box::new(iq),
                to,
                reply,
            })
            .await
            .map_err(|_| IqError::Closed)?;
        match tokio::time::timeout(timeout, rx).await {
            Ok(Ok(r)) => r,
            Ok(Err(_)) => Err(IqError::Closed),
            // Dropping `rx` lets the driver forget the entry on its next sweep.
            Err(_) => Err(IqError::Timeout {
                to: target,
                after: timeout,
            }),
        }
    }

    /// Queues a stanza for sending (no answer expected).
    pub async fn send(&self, stanza: Stanza) -> Result<(), IqError> {
        self.inner
            .commands
            .send(Command::Send(Box::new(stanza)))
            .await
            .map_err(|_| IqError::Closed)
    }

    /// Closes the stream cleanly (`</stream:stream>`) for every handle and
    /// waits (at most 5 s) until it is closed.
    pub async fn close(&self) {
        let mut state = self.inner.state.clone();
        let _ = self.inner.commands.send(Command::Close).await;
        let _ = tokio::time::timeout(
            Duration::from_secs(5),
            state.wait_for(|s| *s == SessionState::Closed),
        )
        .await;
    }
}

/// Connects and logs in exactly as [`Session::connect`] does (same TLS,
/// SASL mechanism choice and timeouts), then hands the connection to a bare
/// tokio-xmpp `StanzaStream` (which binds a resource and negotiates XEP-0198),
/// with no driver task, no IQ table and no reconnection: if the connection
/// drops (and cannot be resumed), the stream ends.
///
/// This is what the XMPP library costs on its own, without gridlink's
/// session, pubsub or IODEF layers: `gridlink-bench` uses it for its
/// "tokio-xmpp floor" client. Applications want [`Session`].
pub async fn connect_bare_stream(config: &Config) -> Result<StanzaStream, ConnectError> {
    let tls = super::tls::client_config(config)?;
    let jid = config.jid.clone();
    let (host, port) = config.server_addr();
    let limit = config.connect_timeout;
    let login = tokio::time::timeout(limit, connect_and_login(config, &tls, &jid))
        .await
        .map_err(|_| ConnectError::Timeout {
            addr: format!("{host}:{port}"),
            after: limit,
        })??;
    let mut first = Some(login.connection);
    let connector = Box::new(
        move |_location: Option<String>, slot: oneshot::Sender<Connection>| {
            if let Some(conn) = first.take() {
                let _ = slot.send(conn);
            }
            // Later calls drop `slot`: StanzaStream treats that as fatal and
            // ends the stream, which is what a measurement wants.
        },
    );
    Ok(StanzaStream::new(connector, QUEUE_DEPTH))
}

/// The driver: the only code that touches the `StanzaStream`.
async fn drive(
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
