//! The one test harness: every integration test that needs a broker, the
//! `gridlink` binaries, a fixture or a foreign client includes it with
//! `mod common;`. tests/README.md says which file starts what.
//!
//! * `prosody.rs`: the lab Prosody (every preset the tests use) and grid
//!   sessions on it;
//! * `ejabberd.rs`: the lab ejabberd;
//! * `cli.rs`: `gridlink`, `gridlink-lab` and `gridlink-bench` commands,
//!   bare or logged in to a lab broker;
//! * `fixtures.rs`: files under tests/fixtures and generated incidents;
//! * `python.rs`: Python with slixmpp, the slixmpp peer, C14N;
//! * `rolie.rs`: a ROLIE server over a temporary store, and the independent
//!   checkers (jing, feedparser);
//! * `taxii.rs`: a TAXII 2.1 server over a temp store, taxii2-client and
//!   stix2-validator (issue 26);
//! * `postgres.rs`: a throwaway PostgreSQL 15 (`--store postgres://…`);
//! * `gpg.rs`: GnuPG keys and detached signatures (CSAF OpenPGP tests);
//! * `hostile.rs`: Prosody with distinctive passwords, a `gridlink bridge`
//!   and a `gridlink subscribe` process, raw HTTP.
//!
//! The first four and `python.rs` are re-exported here (`common::prosody()`,
//! `common::gridlink(..)`); `rolie` and `hostile` are used by path
//! (`use common::rolie::*;`), as their names overlap (`client`, `run`).

// Cargo compiles each tests/*.rs file as a crate of its own, and each uses
// only some of these helpers: without this every test crate would warn about
// the ones it does not call. Normal practice for a shared tests/common.
#![allow(dead_code)]

pub mod cli;
pub mod ejabberd;
pub mod fixtures;
pub mod gpg;
pub mod hostile;
pub mod postgres;
pub mod prosody;
pub mod python;
pub mod rid;
pub mod rolie;
pub mod siem;
pub mod taxii;

// The same reason: a test crate that calls none of a file's helpers would
// see its re-export as unused.
#[allow(unused_imports)]
pub use {cli::*, ejabberd::*, fixtures::*, prosody::*, python::*};
