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

/// What hears the changes (the store handle's shared state).
pub(crate) trait Changes: Send + Sync + 'static {
    /// A replica committed a change of `topic` that assigned up to `seq`.
    fn changed_elsewhere(&self, topic: &str, seq: i64);
    /// Notifications may have been missed; the sequence stands at `seq`.
    fn resync(&self, seq: i64);
}

/// The `NOTIFY` channel of store changes.
pub(super) const CHANNEL: &str = "gridlink_store";

impl Pg {
    /// Starts the listener for `shared` (it ends once the store is dropped).
    pub(crate) fn listen<S: Changes>(&self, shared: Weak<S>) {
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
                failures = (failures + 1).min(6);
                tokio::time::sleep(Duration::from_millis(100 << failures)).await;
            }
        });
    }
}

/// Applies notifications until the connection closes (`true`: reconnect)
/// or the store is gone (`false`).
async fn follow<S: Changes>(
    shared: &Weak<S>,
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
