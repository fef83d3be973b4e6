//! The lab Prosody, in every configuration the tests use, and grid
//! sessions on it. The one place (with hostile.rs's preset, which comes
//! through [`start_prosody`]) where tests start a Prosody.

use gridlink::grid::{Grid, Subscription, TopicOptions, TopicSelection};
use gridlink::iodef::ValidationLevel;
use gridlink::lab::{Prosody, ProsodyOptions};

/// Starts a lab Prosody with `opts`; one that cannot start fails the test
/// with the reason.
pub fn start_prosody(opts: ProsodyOptions) -> Prosody {
    Prosody::start(opts).unwrap_or_else(|e| panic!("{e}"))
}

/// A fresh Prosody with `publisher` (pubsub admin) and `subscriber`.
pub fn prosody() -> Prosody {
    start_prosody(ProsodyOptions::default())
}

/// [`prosody`] with a `bridge` account too (password `bridge-pw`).
pub fn prosody_with_bridge() -> Prosody {
    let mut o = ProsodyOptions::default();
    o.users.push(("bridge".into(), "bridge-pw".into()));
    start_prosody(o)
}

/// A Prosody for fault tests: SQL storage (survives kill -9), quiet logs
/// (debug logging of 2 000 stanzas slows it down), at most `max_items` kept
/// per node, and a `bridge` account.
pub fn prosody_for_faults(max_items: u32) -> Prosody {
    let mut opts = ProsodyOptions {
        log_level: "info",
        max_items,
        ..ProsodyOptions::default()
    };
    opts.users.push(("bridge".into(), "bridge-pw".into()));
    start_prosody(opts)
}

/// [`prosody`] plus the host `certs.localhost`, which authenticates by
/// client certificate (SASL EXTERNAL, `mod_auth_ccert`).
pub fn prosody_with_cert_host() -> Prosody {
    start_prosody(ProsodyOptions {
        client_cert_host: true,
        ..ProsodyOptions::default()
    })
}

/// A grid session for a lab user (password `<user>-pw`).
pub async fn grid(p: &Prosody, user: &str) -> Grid {
    Grid::connect(p.client_config(user, &format!("{user}-pw")))
        .await
        .unwrap_or_else(|e| panic!("{user} cannot join: {e}"))
}

/// An open IODEF topic (anyone may subscribe), created by `publisher`.
pub async fn open_topic(publisher: &Grid, node: &str) {
    let opts = TopicOptions {
        access_model: gridlink::grid::AccessModel::Open,
        ..Default::default()
    };
    publisher
        .create_topic(node, &opts)
        .await
        .expect("create topic");
}

/// `publisher` with an open IODEF topic `node`, and `subscriber`
/// subscribed to it: the start of most publish/subscribe tests.
pub async fn subscribed(p: &Prosody, node: &str) -> (Grid, Grid, Subscription) {
    let publisher = grid(p, "publisher").await;
    let subscriber = grid(p, "subscriber").await;
    open_topic(&publisher, node).await;
    let sub = subscriber
        .subscribe(
            TopicSelection::Named(vec![node.to_string()]),
            ValidationLevel::Basic,
        )
        .await
        .expect("subscribe");
    (publisher, subscriber, sub)
}
