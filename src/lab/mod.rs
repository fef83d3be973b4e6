//! A throwaway XMPP lab: a real Prosody on 127.0.0.1 with a generated CA,
//! SQL storage and a pubsub service, plus a loopback TCP proxy to cut or
//! stall connections. Tests, benchmarks and `gridlink-lab` all use it, so
//! the broker the tests run against is the one a newcomer watches.
//!
//! * `certs` — a test CA and a server certificate (rcgen).
//! * `prosody` — config, accounts, start/kill/restart of the Prosody process.
//! * `ejabberd` — the same for ejabberd, the second broker.
//! * `ejabberd_cluster` — several ejabberd nodes joined into one cluster
//!   (replicated mnesia, a private epmd), for fail-over across brokers.
//! * `postgres` — a throwaway PostgreSQL 15 (replicas sharing a store).
//! * `proxy` — a TCP relay that can drop or freeze every connection.
//! * `process` — what the two brokers share as processes (start-up wait,
//!   stop, log tails, client configuration).

mod certs;
mod ejabberd;
mod ejabberd_cluster;
mod postgres;
mod process;
mod prosody;
mod proxy;

pub use certs::{ClientCert, TestCa};
pub use ejabberd::{Ejabberd, EjabberdOptions, EjabberdStorage};
pub use ejabberd_cluster::EjabberdCluster;
pub use postgres::{Postgres, PostgresError};
pub use process::free_port;
pub use prosody::{LabError, Prosody, ProsodyOptions, Storage, CERTS_DOMAIN};
pub use proxy::TcpProxy;
