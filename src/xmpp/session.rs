//! A long-lived XMPP session: one driver task owns tokio-xmpp's `StanzaStream`
//! and everything else talks to it through a [`Session`] handle.
//!
//! Why not `tokio_xmpp::Client`: its receiver polls a `try_lock`ed mutex and
//! returns `Pending` without registering a waker, so IQ responses can be lost
//! for good (measured: 7 hangs in 130 runs). `StanzaStream` is polled here by
//! exactly one task, which also owns the IQ table, so that race cannot occur.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rand::Rng;
use tokio::sync::{mpsc, oneshot, watch};
use tokio_xmpp::jid::{BareJid, Jid};
use tokio_xmpp::minidom::Element;
use tokio_xmpp::parsers::iq::Iq;
use tokio_xmpp::stanzastream::StanzaStream;
use tokio_xmpp::Stanza;

use super::driver::{drive, Command, SessionState};
use super::events::SessionEvents;
use super::reconnect::{connect_first, reconnector};
use super::stream::QUEUE_DEPTH;
use super::{ConnectError, IqError};
use crate::config::Config;

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
    /// wrong password, timeout) is returned, not retried — with several
    /// servers ([`Config::servers`]), once each is found unreachable. After this returns,
    /// connection losses are repaired in the background (resume when
    /// possible, else a new session announced by [`SessionEvent::NewSession`](super::SessionEvent::NewSession)).
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
        let limit = config.connect_timeout;
        let (login, at) = connect_first(&config, &tls, &jid).await?;
        let (host, port) = config.servers().swap_remove(at);
        let addr = format!("{host}:{port}");
        let mechanism = login.mechanism;
        let tls_version = login.tls_version;

        let (event_tx, event_rx) = super::events::channel(config.event_queue);
        let failure = Arc::new(Mutex::new(None));
        let connector = reconnector(
            config.clone(),
            tls,
            jid,
            (login, at),
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
    /// [`SessionEvent::Lagged`](super::SessionEvent::Lagged) says to catch up (see `events.rs`).
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
