//! A loopback TCP relay for fault tests: `cut` drops every connection and
//! refuses new ones (a network outage), `stall` freezes traffic without
//! closing anything (a black hole), `restore` brings it back.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// A TCP relay from `127.0.0.1:port` to a target address.
pub struct TcpProxy {
    /// The port clients connect to.
    pub port: u16,
    target: SocketAddr,
    stalled: Arc<AtomicBool>,
    /// Bumped on every `cut`; connection tasks end when it changes.
    generation: watch::Sender<u64>,
    listener: Option<JoinHandle<()>>,
}

impl TcpProxy {
    /// Starts relaying from a free loopback port to `target`.
    pub async fn start(target: SocketAddr) -> std::io::Result<TcpProxy> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let port = listener.local_addr()?.port();
        let (generation, _) = watch::channel(0);
        let mut p = TcpProxy {
            port,
            target,
            stalled: Arc::new(AtomicBool::new(false)),
            generation,
            listener: None,
        };
        p.listener = Some(p.accept_loop(listener));
        Ok(p)
    }

    fn accept_loop(&self, listener: TcpListener) -> JoinHandle<()> {
        let target = self.target;
        let stalled = self.stalled.clone();
        let gen = self.generation.subscribe();
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let Ok(server) = TcpStream::connect(target).await else {
                    continue;
                };
                let _ = client.set_nodelay(true);
                let _ = server.set_nodelay(true);
                tokio::spawn(relay(client, server, stalled.clone(), gen.clone()));
            }
        })
    }

    /// Drops every connection and stops listening: clients see a reset and
    /// their reconnects are refused until [`TcpProxy::restore`].
    pub fn cut(&mut self) {
        if let Some(l) = self.listener.take() {
            l.abort();
        }
        self.generation.send_modify(|g| *g += 1);
    }

    /// Listens again on the same port (after `cut`) and unfreezes (after `stall`).
    pub async fn restore(&mut self) -> std::io::Result<()> {
        self.stalled.store(false, Ordering::SeqCst);
        if self.listener.is_none() {
            let listener = TcpListener::bind(("127.0.0.1", self.port)).await?;
            self.listener = Some(self.accept_loop(listener));
        }
        Ok(())
    }

    /// Stops forwarding bytes in both directions, keeping connections open.
    pub fn stall(&self) {
        self.stalled.store(true, Ordering::SeqCst);
    }
}

impl Drop for TcpProxy {
    fn drop(&mut self) {
        self.cut();
    }
}

async fn relay(
    client: TcpStream,
    server: TcpStream,
    stalled: Arc<AtomicBool>,
    mut gen: watch::Receiver<u64>,
) {
    let (cr, cw) = client.into_split();
    let (sr, sw) = server.into_split();
    let up = pump(cr, sw, stalled.clone());
    let down = pump(sr, cw, stalled);
    tokio::select! {
        _ = up => {}
        _ = down => {}
        _ = gen.changed() => {}
    }
}

async fn pump(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    stalled: Arc<AtomicBool>,
) {
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let n = match from.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        // While stalled, hold the bytes: they are delivered after `restore`.
        while stalled.load(Ordering::SeqCst) {
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        if to.write_all(&buf[..n]).await.is_err() {
            return;
        }
    }
}
