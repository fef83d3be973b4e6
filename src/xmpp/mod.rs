//! The XMPP session layer: TLS, SASL, reconnect, IQ request/response.
//!
//! * `connect` — one connection attempt, written out step by step.
//! * `tls` — the rustls client configuration (trust anchors, client certificate).
//! * `session` — the [`Session`] handle; `driver` — the task that alone owns
//!   the stream (IQ table, pings, events, [`SessionState`]).
//! * `stream` — what `connect`, `sasl` and `session` share: the stream
//!   header and timeouts, the logged-in result, protocol errors.
//! * `reconnect` — the reconnecting connector: backoff with jitter, and
//!   [`GIVE_UP_AFTER`] failures that retrying cannot fix.
//! * `events` — the driver's event queue: bounded for messages, with
//!   [`SessionEvent::Lagged`] for what it had to drop.
//! * `error` — [`ConnectError`] and [`IqError`].
//! * `xml` — `ncname`, attribute names for hand-built elements (also the
//!   grid layer's).

mod connect;
mod driver;
mod error;
mod events;
mod reconnect;
mod sasl;
mod session;
mod stream;
mod tls;
mod xml;

pub use connect::connect_bare_stream;
pub use driver::SessionState;
pub use error::{condition_name, ConnectError, IqError};
pub use events::{SessionEvent, SessionEvents};
pub use reconnect::{backoff, GIVE_UP_AFTER};
pub use session::Session;
pub use tls::{client_config, spki_sha256};
pub(crate) use xml::ncname;
