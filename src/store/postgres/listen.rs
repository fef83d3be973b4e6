//! Every replica hears every other's changes: a connection of its own
//! `LISTEN`s on [`CHANNEL`], where each committed change of a topic says
//! `"<seq> <topic>"` (`items.rs`). Each notification moves the topic's
//! generation, so rendered pages cached before it are not served again
//! (`rolie::cache`). When the listening connection is lost, notifications
//! may have been missed: on reconnecting, every generation moves.

use std::sync::Weak;
use std::time::Duration;

use tokio::sync::mpsc;

use super::Pg;
use crate::store::handle::Shared;

/// The `NOTIFY` channel of store changes.
pub(super) const CHANNEL: &str = "gridlink_store";

impl Pg {
    /// Starts the listener for `shared` (it ends once the store is dropped).
    pub(crate) fn listen(&self, shared: Weak<Shared>) {
        let pool = self.pool_handle();
        tokio::spawn(async move {
            let mut failures: u32 = 0;
            loop {
                if shared.strong_count() == 0 {
                    return;
                }
                let (tx, mut rx) = mpsc::unbounded_channel();
                match pool.open(Some(tx)).await {
                    Ok(client) => {
                        let listening = async {
                            client.batch_execute(&format!("LISTEN {CHANNEL}")).await?;
                            client.query_one("SELECT value FROM seq_counter", &[]).await
                        };
                        match listening.await {
                            Ok(row) => {
                                failures = 0;
                                // Anything committed before LISTEN took
                                // effect is covered by this resync.
                                if let Some(s) = shared.upgrade() {
                                    s.resync(row.get(0));
                                }
                                if !follow(&shared, &mut rx, &client).await {
                                    return;
                                }
                            }
                            Err(e) => tracing::warn!(error = %e, "postgresql: cannot LISTEN"),
                        }
                    }
                    Err(e) => tracing::warn!(error = %e, "postgresql: listener cannot connect"),
                }
                failures += 1;
                tokio::time::sleep(crate::xmpp::backoff(failures, Duration::from_secs(5))).await;
            }
        });
    }
}

/// Applies notifications until the connection closes (`true`: reconnect)
/// or the store is gone (`false`).
async fn follow(
    shared: &Weak<Shared>,
    rx: &mut mpsc::UnboundedReceiver<tokio_postgres::Notification>,
    client: &tokio_postgres::Client,
) -> bool {
    let mut tick = tokio::time::interval(Duration::from_secs(2));
    loop {
        tokio::select! {
            n = rx.recv() => {
                let Some(n) = n else { return true };
                let Some(s) = shared.upgrade() else { return false };
                match n.payload().split_once(' ') {
                    Some((seq, topic)) => s.changed_elsewhere(topic, seq.parse().unwrap_or(0)),
                    None => s.resync(0),
                }
            }
            _ = tick.tick() => {
                if shared.strong_count() == 0 {
                    return false;
                }
                if client.is_closed() {
                    return true;
                }
            }
        }
    }
}
