//! Reconnecting: the connector the session's `StanzaStream` calls for each
//! (re)connection, with exponential backoff and jitter, and the point at
//! which retrying stops because it cannot succeed.

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
use crate::config::Config;

/// After this many reconnect attempts in a row that failed for a reason
/// retrying cannot fix (refused credentials, a certificate refused or
/// revoked, a pin mismatch: [`ConnectError::is_transient`](super::ConnectError::is_transient) is false), the
/// session ends with that error instead of retrying forever. More than
/// one, so that a server still starting up (an auth backend not ready yet)
/// is given a few seconds.
pub const GIVE_UP_AFTER: u32 = 5;

/// The connector `StanzaStream` calls for each (re)connection: the first
/// call gets the connection made by [`Session::connect`](super::Session::connect); later calls retry
/// with exponential backoff and jitter until they succeed, the session
/// ends, or [`GIVE_UP_AFTER`] attempts in a row fail for good — then the
/// slot is dropped, which ends the `StanzaStream`, and `failure` says why.
pub(super) fn reconnector(
    config: Config,
    tls: Arc<ClientConfig>,
    jid: Jid,
    first: Login,
    events: EventSender,
    failure: Arc<Mutex<Option<String>>>,
) -> Box<dyn FnMut(Option<String>, oneshot::Sender<Connection>) + Send + 'static> {
    let mut first = Some(first.connection);
    Box::new(move |_location, slot| {
        if let Some(conn) = first.take() {
            let _ = slot.send(conn);
            return;
        }
        let (config, tls, jid, events) = (config.clone(), tls.clone(), jid.clone(), events.clone());
        let failure = failure.clone();
        tokio::spawn(async move {
            let mut attempt: u32 = 0;
            let mut for_good: u32 = 0;
            loop {
                attempt += 1;
                tokio::time::sleep(backoff(attempt, config.reconnect_max_delay)).await;
                if slot.is_closed() {
                    return; // the session was closed meanwhile
                }
                let res = tokio::time::timeout(
                    config.connect_timeout,
                    connect_and_login(&config, &tls, &jid),
                )
                .await;
                match res {
                    Ok(Ok(login)) => {
                        tracing::info!(attempt, "reconnected");
                        let _ = slot.send(login.connection);
                        return;
                    }
                    Ok(Err(e)) if !e.is_transient() => {
                        for_good += 1;
                        if for_good >= GIVE_UP_AFTER {
                            tracing::error!(attempts = for_good, error = %e, "reconnecting cannot succeed; the XMPP session ends");
                            if let Ok(mut f) = failure.lock() {
                                *f = Some(e.to_string());
                            }
                            return; // `slot` dropped: the stream ends
                        }
                        report_retry(&events, attempt, e.to_string());
                    }
                    Ok(Err(e)) => {
                        for_good = 0;
                        report_retry(&events, attempt, e.to_string());
                    }
                    Err(_) => {
                        for_good = 0;
                        report_retry(&events, attempt, "timed out".to_string());
                    }
                }
            }
        });
    })
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
}
