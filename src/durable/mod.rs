//! The loss-free layer: what makes "accepted" mean "will arrive", whatever
//! dies in between, and "delivered" mean "once" — except the one event a
//! consumer had in hand when it died, which comes again (see `follow`).
//!
//! * `outbox` — [`Outbox`]: documents are written to the store before they
//!   are sent and removed only when the broker confirmed them; drained in
//!   order on (re)connect.
//! * `follow` — [`Follower`]: a subscription with a persistent per-topic
//!   cursor, catch-up after restarts and new sessions, deduplication, and
//!   [`GridEvent::Gap`](crate::GridEvent::Gap) when the broker no longer has
//!   what was missed.
//!
//! Both keep their state in a [`Store`](crate::store::Store) (SQLite): the
//! bridge uses its item store, the CLI a file in `--state-dir`.

mod follow;
mod outbox;
mod seen;

pub use follow::{FollowError, Follower, CATCH_UP_PAGE};
pub use outbox::{
    Finished, Outbox, OutboxError, OutboxOptions, OutboxStats, Ticket, DEFAULT_OUTBOX_MAX,
};

/// A file name for per-account state in a state directory: the account and
/// a purpose, with anything but `[A-Za-z0-9._-]` replaced by `_`.
pub fn state_file(account: &str, purpose: &str) -> String {
    let clean = |s: &str| -> String {
        s.chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                    c
                } else {
                    '_'
                }
            })
            .collect()
    };
    format!("{}-{}.sqlite", clean(purpose), clean(account))
}
