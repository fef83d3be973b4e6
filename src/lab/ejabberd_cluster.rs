//! A cluster of real ejabberd 23.01 nodes on 127.0.0.1: the broker a grid
//! spanning machines would run, for the fail-over tests and the benchmark.
//!
//! How it is put together, and why:
//!
//! * Erlang distribution needs the nodes to find each other. A lone lab
//!   node runs without epmd (`-erl_epmd_port`), but in that mode every node
//!   is assumed to listen on the *same* port, which two nodes on one
//!   address cannot. So the cluster starts an epmd of its own on a free
//!   port, bound to 127.0.0.1 (`ERL_EPMD_PORT` for every node and control
//!   client), and stops it last: the system's epmd on 4369 is never used or
//!   touched. Nodes have long names on the loopback address
//!   (`gl1@127.0.0.1`, `gl2@127.0.0.1`) and share one cookie.
//! * Every node serves the same domain with the same certificate, from one
//!   lab CA, and has its own free client ports.
//! * Node 1 starts alone and gets the accounts; every further node starts,
//!   then runs `ejabberdctl join_cluster gl1@127.0.0.1` — only once both
//!   run (`ejabberdctl status`), not as soon as the listeners open: see
//!   `Ejabberd::wait_running`. In 23.01 that
//!   (`ejabberd_cluster_mnesia:join/1`) wipes the joining node's schema,
//!   adds node 1 as an `extra_db_node` and copies **every** table onto the
//!   joining node with node 1's storage type — `passwd`, `session` and the
//!   pubsub tables (`pubsub_node`, `pubsub_state`, `pubsub_item`, …) alike —
//!   then restarts ejabberd on it. So accounts, topics, subscriptions and
//!   items are visible from every node, and each node holds a full copy on
//!   its own disk: when one is `kill -9`'d, the others keep serving (mnesia
//!   has no quorum; the survivors carry on with their replicas).
//! * Storage is therefore mnesia. ejabberd's SQL backend would need one
//!   database server shared by all nodes (a per-node SQLite file cannot
//!   be), which would be the single point of failure the cluster exists to
//!   remove, and sessions and routes would still live in mnesia anyway.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::certs::TestCa;
use super::ejabberd::{Ejabberd, EjabberdOptions, EjabberdStorage, Member};
use super::process::{self, free_port, tail, which};
use super::prosody::LabError;
use crate::config::Config;

/// How long a node may take to join the cluster (copy the tables, restart).
const JOIN_LIMIT: Duration = Duration::from_secs(180);

/// A running cluster of ejabberd nodes. Dropping it stops every node, then
/// the cluster's epmd.
pub struct EjabberdCluster {
    // Declared first: dropped (stopped) before the epmd they registered with.
    nodes: Vec<Ejabberd>,
    epmd: Option<Child>,
    epmd_port: u16,
    // Holds the CA shared by the nodes and epmd's log.
    dir: tempfile::TempDir,
    /// The certificates every node serves.
    pub ca: TestCa,
}

impl std::fmt::Debug for EjabberdCluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EjabberdCluster")
            .field("nodes", &self.nodes)
            .field("epmd_port", &self.epmd_port)
            .finish()
    }
}

impl EjabberdCluster {
    /// Starts `size` nodes (at least 1) with `opts` (every node gets the
    /// same configuration; storage must be mnesia) and joins them into one
    /// cluster; returns once every node accepts clients and knows every
    /// other one.
    pub fn start(opts: EjabberdOptions, size: usize) -> Result<EjabberdCluster, LabError> {
        if opts.storage != EjabberdStorage::Mnesia {
            return Err(LabError::Ejabberd(
                "a lab cluster replicates mnesia; SQL storage would need a database server shared by the nodes".into(),
            ));
        }
        let epmd_bin = which("epmd").ok_or(LabError::EjabberdNotInstalled)?;
        let dir = tempfile::Builder::new()
            .prefix("gridlink-ejabberd-cluster-")
            .tempdir()?;
        let ca = TestCa::generate_short_lived(dir.path(), &["localhost", "pubsub.localhost"])?;
        let mut cluster = EjabberdCluster {
            nodes: Vec::new(),
            epmd: None,
            epmd_port: free_port()?,
            dir,
            ca,
        };
        cluster.start_epmd(&epmd_bin)?;
        let cookie = super::process::random_token();
        for n in 1..=size.max(1) {
            let member = Member {
                name: format!("gl{n}@127.0.0.1"),
                epmd_port: cluster.epmd_port,
                cookie: cookie.clone(),
                ca: cluster.ca.clone(),
            };
            let node = Ejabberd::launch(&opts, Some(member))?;
            node.wait_running()?;
            if n == 1 {
                node.register(&opts.users)?;
            } else {
                cluster.join(&node)?;
            }
            cluster.nodes.push(node);
        }
        cluster.wait_for_members(Duration::from_secs(30))?;
        Ok(cluster)
    }

    /// An epmd for this cluster only: its own port, loopback only, in the
    /// foreground as our child (so that it is stopped with the cluster).
    fn start_epmd(&mut self, bin: &std::path::Path) -> Result<(), LabError> {
        let log = std::fs::File::create(self.dir.path().join("epmd.log"))?;
        let child = Command::new(bin)
            .args([
                "-port",
                &self.epmd_port.to_string(),
                "-address",
                "127.0.0.1",
            ])
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()?;
        self.epmd = Some(child);
        process::wait_for_ports(
            &mut self.epmd,
            &[self.epmd_port],
            Duration::from_secs(10),
            Duration::from_millis(50),
            Duration::from_secs(1),
        )
        .map_err(|why| {
            let log = std::fs::read_to_string(self.dir.path().join("epmd.log")).unwrap_or_default();
            LabError::Ejabberd(format!("epmd: {why}; log:\n{}", tail(&log, 10)))
        })
    }

    /// `ejabberdctl join_cluster` on `node`, towards node 1; waits until
    /// the restarted node accepts clients again. The join copies every
    /// table and restarts ejabberd on the node: seconds, but on a loaded
    /// machine it can outlast `ejabberdctl`'s own 60 s limit, so that is
    /// lifted (`--no-timeout`) and [`JOIN_LIMIT`] applies instead.
    fn join(&self, node: &Ejabberd) -> Result<(), LabError> {
        let first = self.nodes.first().map(Ejabberd::node).unwrap_or_default();
        let out_path = node.dir().join("join_cluster.out");
        let out = std::fs::File::create(&out_path)?;
        let mut child = Some(
            node.ctl_command(&["--no-timeout", "join_cluster", first])
                .stdout(out.try_clone()?)
                .stderr(out)
                .spawn()?,
        );
        let fail = |why: String| {
            let out = std::fs::read_to_string(&out_path).unwrap_or_default();
            LabError::Ejabberd(format!(
                "{} joining {first}: {why}\n{out}\nlog tail:\n{}",
                node.node(),
                tail(&node.log(), 30)
            ))
        };
        let deadline = Instant::now() + JOIN_LIMIT;
        loop {
            match child.as_mut().map(Child::try_wait) {
                Some(Ok(Some(status))) if status.success() => break,
                Some(Ok(Some(status))) => {
                    return Err(fail(format!("ejabberdctl exited with {status}")))
                }
                Some(Err(e)) => return Err(fail(e.to_string())),
                _ if Instant::now() > deadline => {
                    process::stop(&mut child, Duration::from_secs(1));
                    return Err(fail(format!("not done after {} s", JOIN_LIMIT.as_secs())));
                }
                _ => std::thread::sleep(Duration::from_millis(100)),
            }
        }
        while !node.accepts_clients() {
            if Instant::now() > deadline {
                return Err(fail("no client listener after the join".into()));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        Ok(())
    }

    /// Waits until every running node lists every running node as a
    /// member (`ejabberdctl list_cluster`).
    fn wait_for_members(&self, limit: Duration) -> Result<(), LabError> {
        let deadline = Instant::now() + limit;
        loop {
            let mut missing = Vec::new();
            for node in self.nodes.iter().filter(|n| n.pid().is_some()) {
                let listed = node.ctl(&["list_cluster"]).unwrap_or_default();
                for other in self.nodes.iter().filter(|n| n.pid().is_some()) {
                    if !listed.contains(&format!("'{}'", other.node())) {
                        missing.push(format!("{} does not list {}", node.node(), other.node()));
                    }
                }
            }
            if missing.is_empty() {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(LabError::Ejabberd(missing.join("; ")));
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// The nodes, node 1 first.
    pub fn nodes(&self) -> &[Ejabberd] {
        &self.nodes
    }

    /// Node `i` (0-based; node 1 is `node(0)`).
    pub fn node(&self, i: usize) -> &Ejabberd {
        &self.nodes[i]
    }

    /// Kills node `i` with SIGKILL; the others carry on with their replicas.
    pub fn kill9(&mut self, i: usize) {
        if let Some(n) = self.nodes.get_mut(i) {
            n.kill9();
        }
    }

    /// The cluster's membership as node `i` sees it (`list_cluster`),
    /// sorted.
    pub fn members(&self, i: usize) -> Result<Vec<String>, LabError> {
        let text = self.nodes[i].ctl(&["list_cluster"])?;
        let mut members: Vec<String> = text
            .lines()
            .map(|l| l.trim().trim_matches('\'').to_string())
            .filter(|l| !l.is_empty())
            .collect();
        members.sort();
        Ok(members)
    }

    /// A client configuration for `user` that connects to node `i` first
    /// and fails over to the others, in order.
    pub fn client_config(&self, i: usize, user: &str, password: &str) -> Config {
        let mut c = self.nodes[i].client_config(user, password);
        // One state dir for the account, whichever node it starts on.
        c.state_dir = self.dir.path().join(format!("state-{user}"));
        c.failover_servers = self
            .nodes
            .iter()
            .enumerate()
            .cycle()
            .skip(i + 1)
            .take(self.nodes.len() - 1)
            .map(|(_, n)| ("127.0.0.1".to_string(), n.c2s_port))
            .collect();
        c
    }

    /// The directory holding the shared CA and epmd's log.
    pub fn dir(&self) -> &std::path::Path {
        self.dir.path()
    }
}

impl Drop for EjabberdCluster {
    fn drop(&mut self) {
        // Stopping nodes one by one: each stop is a clean `init:stop()`,
        // so no node waits on a half-dead peer.
        for n in self.nodes.iter_mut().rev() {
            n.stop();
        }
        if let Some(mut epmd) = self.epmd.take() {
            let _ = epmd.kill();
            let _ = epmd.wait();
        }
    }
}
