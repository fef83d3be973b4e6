//! The benchmark's Prosody: one per section group and storage, with the
//! benchmark's accounts and a publisher session, and the paths every run
//! shares.

use std::path::PathBuf;
use std::sync::OnceLock;

use anyhow::Context;

use gridlink::grid::{AccessModel, Grid, TopicOptions};
use gridlink::lab::{Prosody, ProsodyOptions, Storage};

use crate::raw::Account;

/// Paths and processes every run shares.
pub struct Ctx {
    pub exe: PathBuf,
    pub slix: PathBuf,
    pub dir: PathBuf,
}

/// One lab Prosody with the benchmark's accounts and a publisher session.
pub struct Lab {
    pub prosody: Prosody,
    pub owner: Grid,
}

/// `--prosody-option`: global Prosody settings every lab of this run adds
/// (set once, by `main`, before any lab starts).
pub static PROSODY_OPTIONS: OnceLock<Vec<String>> = OnceLock::new();

/// Starts Prosody with `publisher` (pubsub admin) and `sub0..subN`.
pub async fn lab(storage: Storage, subscribers: usize, max_items: u32) -> anyhow::Result<Lab> {
    let mut users = vec![("publisher".to_string(), "publisher-pw".to_string())];
    users.extend((0..subscribers).map(|i| (format!("sub{i}"), format!("sub{i}-pw"))));
    // The catch-up subscriber: never online while items are published.
    users.push(("late".to_string(), "late-pw".to_string()));
    let prosody = tokio::task::spawn_blocking(move || {
        Prosody::start(ProsodyOptions {
            users,
            pubsub_admins: vec!["publisher".into()],
            storage,
            max_items,
            // debug logs every stanza: that would be what we measure.
            log_level: "warn",
            extra_config: PROSODY_OPTIONS.get().cloned().unwrap_or_default(),
            // Ctrl-C stops the harness and its Prosody together.
            ..Default::default()
        })
    })
    .await??;
    let owner = Grid::connect(prosody.client_config("publisher", "publisher-pw")).await?;
    Ok(Lab { prosody, owner })
}

impl Lab {
    /// Creates an open IODEF topic (everyone may subscribe).
    pub async fn topic(&self, node: &str) -> anyhow::Result<()> {
        let opts = TopicOptions {
            access_model: AccessModel::Open,
            ..Default::default()
        };
        self.owner
            .create_topic(node, &opts)
            .await
            .with_context(|| format!("create topic {node}"))?;
        Ok(())
    }

    /// Deletes a topic a run made, so that its items do not weigh on the
    /// runs after it (with memory storage Prosody keeps them on its heap).
    pub async fn drop_topic(&self, node: &str) -> anyhow::Result<()> {
        self.owner
            .delete_topic(node)
            .await
            .with_context(|| format!("delete topic {node}"))
    }

    /// The raw client's account `user` on this Prosody (direct TLS).
    pub fn account(&self, user: &str) -> Account {
        Account {
            port: self.prosody.direct_tls_port,
            ca: self.prosody.ca.ca_pem.clone(),
            user: user.into(),
            password: format!("{user}-pw"),
        }
    }
}

/// The storage's name in section titles and in the first-screen table.
pub fn names(storage: Storage) -> (&'static str, &'static str) {
    match storage {
        Storage::Sql => ("sql", "SQL storage"),
        Storage::Memory => ("memory", "memory storage"),
    }
}
