//! Reconnecting: the connector the session's `StanzaStream` calls for each
//! (re)connection, with exponential backoff and jitter, the point at which
//! retrying stops because it cannot succeed, and fail-over across the
//! servers of a cluster ([`Config::servers`]).
//!
//! Fail-over is round-robin: after a loss the first attempt goes to the
//! server the session was on (a network blip is more common than a dead
//! node, and only that server can resume the XEP-0198 session), each
//! failed attempt moves on to the next. Another node cannot resume the
//! stream; tokio-xmpp then binds a new session, and the layers above catch
//! up on [`SessionEvent::NewSession`] from their durable cursors.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rand::Rng;
use tokio::sync::oneshot;
use tokio_rustls::rustls::ClientConfig;
use tokio_xmpp::jid::Jid;
use tokio_xmpp::stanzastream::Connection;

use super::connect::connect_and_login;
use super::events::{EventSender, SessionEvent};
use super::stream::Login;
use super::ConnectError;
use crate::config::Config;

/// After this many reconnect attempts in a row that failed for a reason
/// retrying cannot fix (refused credentials, a certificate refused or
/// revoked, a pin mismatch: [`ConnectError::is_transient`](super::ConnectError::is_transient) is false), the
/// session ends with that error instead of retrying forever. More than
/// one, so that a server still starting up (an auth backend not ready yet)
/// is given a few seconds.
pub const GIVE_UP_AFTER: u32 = 5;

/// One connection attempt to `server` alone, within the connect timeout.
async fn login_at(
    config: &Config,
    tls: &Arc<ClientConfig>,
    jid: &Jid,
    server: &(String, u16),
) -> Result<Login, ConnectError> {
    let limit = config.connect_timeout;
    tokio::time::timeout(
        limit,
        connect_and_login(&config.for_server(server.clone()), tls, jid),
    )
    .await
    .map_err(|_| ConnectError::Timeout {
        addr: format!("{}:{}", server.0, server.1),
        after: limit,
    })?
}

/// The first connection: each of [`Config::servers`] once, in order, until
/// one logs in; returns the login and the index of its server. An
/// unreachable server (a transient error, or a name that does not resolve)
/// passes the turn to the next; an error about the account or the trust in
/// the server (refused credentials, certificate, pin) is returned at once,
/// as another node of the same service would give the same answer. With
/// every server unreachable, the last one's error is returned.
pub(super) async fn connect_first(
    config: &Config,
    tls: &Arc<ClientConfig>,
    jid: &Jid,
) -> Result<(Login, usize), ConnectError> {
    let servers = config.servers();
    let mut index = 0;
    loop {
        let server = &servers[index];
        match login_at(config, tls, jid, server).await {
            Ok(login) => return Ok((login, index)),
            Err(e)
                if index + 1 < servers.len()
                    && (e.is_transient() || matches!(e, ConnectError::UnknownHost { .. })) =>
            {
                tracing::warn!(server = %format!("{}:{}", server.0, server.1), error = %e, "server unreachable; trying the next one");
                index += 1;
            }
            Err(e) => return Err(e),
        }
    }
}

/// The connector `StanzaStream` calls for each (re)connection: the first
/// call gets the connection made by [`Session::connect`](super::Session::connect), to server
/// `current` of [`Config::servers`]; later calls retry with exponential
/// backoff and jitter, moving round-robin through the servers, until they
/// succeed, the session ends, or [`GIVE_UP_AFTER`] attempts in a row fail
/// for good — then the slot is dropped, which ends the `StanzaStream`, and
/// `failure` says why.
pub(super) fn reconnector(
    config: Config,
    tls: Arc<ClientConfig>,
    jid: Jid,
    (first, current): (Login, usize),
    events: EventSender,
    failure: Arc<Mutex<Option<String>>>,
) -> Box<dyn FnMut(Option<String>, oneshot::Sender<Connection>) + Send + 'static> {
    let mut first = Some(first.connection);
    let servers = Arc::new(config.servers());
    // The server the session is on, shared by the reconnect tasks.
    let current = Arc::new(AtomicUsize::new(current));
    Box::new(move |_location, slot| {
        if let Some(conn) = first.take() {
            let _ = slot.send(conn);
            return;
        }
        let (config, tls, jid, events) = (config.clone(), tls.clone(), jid.clone(), events.clone());
        let (failure, servers, current) = (failure.clone(), servers.clone(), current.clone());
        tokio::spawn(async move {
            let mut retry = Retry::default();
            let lost_on = current.load(Ordering::Relaxed) % servers.len();
            let mut index = lost_on;
            loop {
                tokio::time::sleep(retry.next_delay(config.reconnect_max_delay)).await;
                if slot.is_closed() {
                    return; // the session was closed meanwhile
                }
                let attempt = retry.attempt;
                let server = &servers[index];
                match login_at(&config, &tls, &jid, server).await {
                    Ok(login) => {
                        let server = format!("{}:{}", server.0, server.1);
                        if index == lost_on {
                            tracing::info!(attempt, %server, "reconnected");
                        } else {
                            tracing::warn!(attempt, %server, "failed over to another server");
                        }
                        current.store(index, Ordering::Relaxed);
                        let _ = slot.send(login.connection);
                        return;
                    }
                    Err(e) => {
                        if retry.failed(e.is_transient()) == Verdict::GiveUp {
                            tracing::error!(attempts = retry.for_good, error = %e, "reconnecting cannot succeed; the XMPP session ends");
                            if let Ok(mut f) = failure.lock() {
                                *f = Some(e.to_string());
                            }
                            return; // `slot` dropped: the stream ends
                        }
                        report_retry(&events, attempt, e.to_string());
                    }
                }
                index = (index + 1) % servers.len();
            }
        });
    })
}

/// What to do after a failed reconnect attempt.
#[derive(Debug, PartialEq, Eq)]
enum Verdict {
    Retry,
    GiveUp,
}

/// The reconnect schedule of one loss: the delay before each attempt, and
/// when to stop.
///
/// Failures that retrying can fix (refused, timed out: the server is down
/// or restarting) back off exponentially, up to the configured cap. The
/// first failure that retrying cannot fix (refused credentials, a refused
/// certificate) restarts the delays at [`FOR_GOOD_FIRST_STEP`]: its
/// [`GIVE_UP_AFTER`] tries are the grace for a server whose auth backend
/// is still starting, and they take seconds (1 + 2 + 4 + 8 s at most), not
/// the minutes the backoff may have grown to while the server was down.
/// Without that, a subscriber whose account was deleted during a restart
/// kept retrying for a minute or more.
#[derive(Debug, Default)]
struct Retry {
    /// Attempts made so far (1-based once the first is under way).
    attempt: u32,
    /// The step of [`backoff`] the next delay is drawn from.
    step: u32,
    /// Failures in a row that retrying cannot fix.
    for_good: u32,
}

/// The [`backoff`] step the first failure that retrying cannot fix restarts
/// from: 1 s.
const FOR_GOOD_FIRST_STEP: u32 = 3;

impl Retry {
    /// The delay before the next attempt; counts it.
    fn next_delay(&mut self, max: Duration) -> Duration {
        self.attempt += 1;
        self.step += 1;
        backoff(self.step, max)
    }

    /// Records a failed attempt.
    fn failed(&mut self, transient: bool) -> Verdict {
        if transient {
            self.for_good = 0;
            return Verdict::Retry;
        }
        if self.for_good == 0 {
            self.step = FOR_GOOD_FIRST_STEP - 1; // `next_delay` adds one
        }
        self.for_good += 1;
        if self.for_good >= GIVE_UP_AFTER {
            Verdict::GiveUp
        } else {
            Verdict::Retry
        }
    }
}

fn report_retry(events: &EventSender, attempt: u32, error: String) {
    tracing::warn!(attempt, %error, "reconnect failed; retrying");
    events.control(SessionEvent::ReconnectFailed { attempt, error });
}

/// Delay before reconnect attempt `attempt` (1-based): 0.25 s doubling up
/// to `max`, each drawn uniformly from [half, full] so that many clients
/// cut off together do not come back in lockstep.
pub fn backoff(attempt: u32, max: Duration) -> Duration {
    let base = Duration::from_millis(250).saturating_mul(1u32 << attempt.min(16).saturating_sub(1));
    let full = base.min(max);
    let jitter: f64 = rand::rng().random_range(0.5..=1.0);
    full.mul_f64(jitter)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Backoff doubles, stays within [half, full] and respects the cap.
    #[test]
    fn backoff_grows_and_caps() {
        let max = Duration::from_secs(30);
        for (attempt, full_ms) in [(1u32, 250u64), (2, 500), (3, 1000), (5, 4000)] {
            let d = backoff(attempt, max);
            assert!(d >= Duration::from_millis(full_ms / 2), "{attempt}: {d:?}");
            assert!(d <= Duration::from_millis(full_ms), "{attempt}: {d:?}");
        }
        assert!(backoff(40, max) <= max);
        assert!(backoff(40, max) >= max / 2);
    }

    /// However long the server was down (the backoff grown to its cap),
    /// the tries that retrying cannot fix come at 1, 2, 4, 8 s and the
    /// fifth gives up: a deleted account ends the session in seconds.
    #[test]
    fn failures_for_good_restart_the_delays_and_give_up() {
        let max = Duration::from_secs(30);
        let mut retry = Retry::default();
        for _ in 0..12 {
            retry.next_delay(max);
            assert_eq!(retry.failed(true), Verdict::Retry);
        }
        assert!(retry.next_delay(max) >= max / 2, "the cap was reached");
        let mut waited = Duration::ZERO;
        for _ in 1..GIVE_UP_AFTER {
            assert_eq!(retry.failed(false), Verdict::Retry);
            waited += retry.next_delay(max);
        }
        assert_eq!(retry.failed(false), Verdict::GiveUp);
        assert!(waited <= Duration::from_secs(15), "{waited:?}");
        assert!(waited >= Duration::from_millis(7500), "{waited:?}");
    }

    /// A transient failure between two for-good ones resets the count (the
    /// server went down again), and the next for-good one restarts at 1 s.
    #[test]
    fn a_transient_failure_resets_the_count() {
        let max = Duration::from_secs(30);
        let mut retry = Retry::default();
        for _ in 0..GIVE_UP_AFTER - 1 {
            retry.next_delay(max);
            assert_eq!(retry.failed(false), Verdict::Retry);
        }
        retry.next_delay(max);
        assert_eq!(retry.failed(true), Verdict::Retry);
        retry.next_delay(max);
        assert_eq!(retry.failed(false), Verdict::Retry);
        assert!(retry.next_delay(max) <= Duration::from_secs(1));
        assert_eq!(retry.attempt, GIVE_UP_AFTER + 2);
    }
}
