//! Listening sockets and the connection limits (in all, and per client
//! address).
//!
//! With `server_threads` > 0 every server thread accepts on its own socket,
//! all bound to the same address with `SO_REUSEPORT`, so the kernel spreads
//! new connections over the threads and no thread hands work to another
//! (nginx's worker model; see `server.rs` for why). Linux only lets sockets
//! of the same user share a port this way.

use std::collections::HashMap;
use std::future::Future;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use axum_server::accept::Accept;
use socket2::{Domain, Protocol, Socket, Type};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::throttle::client_key;

/// A per-connection service whose requests the acceptor times (see
/// [`Activity`]).
pub(crate) trait Timed {
    /// Hands the service its connection's [`Activity`].
    fn timed_by(&mut self, activity: Arc<Activity>);
}

/// Pending connections the kernel queues per socket before accepting.
const BACKLOG: i32 = 1024;

/// `count` listening sockets on `addr` (the first decides the port of a
/// `:0` address; the others share it). With more than one, each has
/// `SO_REUSEPORT`.
pub(crate) fn bind(addr: SocketAddr, count: usize) -> io::Result<Vec<std::net::TcpListener>> {
    let addr = if count > 1 { unused(addr)? } else { addr };
    let first = socket(addr, count > 1)?;
    let addr = first.local_addr()?;
    let mut all = vec![first];
    for _ in 1..count {
        all.push(socket(addr, true)?);
    }
    Ok(all)
}

/// `addr` with its port decided, after checking that nothing listens there.
///
/// `SO_REUSEPORT` lets any socket of the same user that also sets it bind
/// a port that is already listening, and the kernel then splits new
/// connections between the two: a second server started on the same port
/// by mistake (or a `:0` bind that the kernel resolves to a port another
/// reuse-port group holds) would silently take part of the traffic instead
/// of failing with "address in use". So a plain socket (`SO_REUSEADDR`, as
/// std's `TcpListener::bind`, which fails only on a listening socket) is
/// bound first and dropped before the group binds the port it got.
fn unused(addr: SocketAddr) -> io::Result<SocketAddr> {
    let probe = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    probe.set_reuse_address(true)?;
    probe.bind(&addr.into())?;
    probe
        .local_addr()?
        .as_socket()
        .ok_or_else(|| io::Error::other("listening address is not an IP address"))
}

fn socket(addr: SocketAddr, reuse_port: bool) -> io::Result<std::net::TcpListener> {
    let s = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    // What std's `TcpListener::bind` does: a restarted server can bind at
    // once although connections of the last one are in TIME_WAIT.
    s.set_reuse_address(true)?;
    if reuse_port {
        s.set_reuse_port(true)?;
    }
    s.bind(&addr.into())?;
    s.listen(BACKLOG)?;
    s.set_nonblocking(true)?;
    Ok(s.into())
}

/// Open connections, bounded by `max_connections` in all and by
/// `max_connections_per_ip` per client address, shared by all threads.
#[derive(Debug)]
pub(crate) struct ConnLimit {
    permits: Arc<Semaphore>,
    max: usize,
    refused: AtomicU64,
    per_ip: usize,
    /// Open connections by client address ([`client_key`]); an address
    /// leaves when its last connection closes. Locked once per accept and
    /// once per close, never per request.
    by_ip: Mutex<HashMap<IpAddr, usize>>,
    refused_per_ip: AtomicU64,
    /// When a refusal was last logged (seconds since the Unix epoch):
    /// under a flood the log gets one line a minute, `/metrics` the count.
    last_warned: AtomicU64,
}

impl ConnLimit {
    /// A limit of `max` open connections, `per_ip` of them from one
    /// client address.
    pub(crate) fn new(max: usize, per_ip: usize) -> ConnLimit {
        ConnLimit {
            permits: Arc::new(Semaphore::new(max.min(Semaphore::MAX_PERMITS))),
            max,
            refused: AtomicU64::new(0),
            per_ip,
            by_ip: Mutex::default(),
            refused_per_ip: AtomicU64::new(0),
            last_warned: AtomicU64::new(0),
        }
    }

    /// Connections open now.
    pub(crate) fn open(&self) -> usize {
        self.max.saturating_sub(self.permits.available_permits())
    }

    /// Connections closed at once because the limit was reached.
    pub(crate) fn refused(&self) -> u64 {
        self.refused.load(Ordering::Relaxed)
    }

    /// Connections closed at once because their address had
    /// `max_connections_per_ip` open (also counted in [`refused`](Self::refused)).
    pub(crate) fn refused_per_ip(&self) -> u64 {
        self.refused_per_ip.load(Ordering::Relaxed)
    }

    /// Takes one of `ip`'s connection slots, if it has one left.
    fn enter(self: &Arc<Self>, ip: IpAddr) -> Option<PerIp> {
        let key = client_key(ip);
        let mut by_ip = self.by_ip.lock().ok()?;
        let open = by_ip.entry(key).or_default();
        if *open >= self.per_ip {
            return None;
        }
        *open += 1;
        Some(PerIp {
            limit: self.clone(),
            key,
        })
    }

    fn refuse_per_ip(&self, ip: IpAddr) -> io::Error {
        self.refused_per_ip.fetch_add(1, Ordering::Relaxed);
        self.refused.fetch_add(1, Ordering::Relaxed);
        if self.may_warn() {
            tracing::warn!(
                max_connections_per_ip = self.per_ip,
                client = %client_key(ip),
                "per-address connection limit reached: its new connections are closed at once (max_connections_per_ip)"
            );
        }
        io::Error::other("per-address connection limit reached")
    }

    /// At most one warning a minute: under a flood the log gets one line
    /// a minute, `/metrics` the count.
    fn may_warn(&self) -> bool {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or_default();
        let last = self.last_warned.load(Ordering::Relaxed);
        now >= last + 60
            && self
                .last_warned
                .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
    }

    fn refuse(&self, peer: io::Result<SocketAddr>) -> io::Error {
        self.refused.fetch_add(1, Ordering::Relaxed);
        if self.may_warn() {
            tracing::warn!(
                max_connections = self.max,
                peer = ?peer.ok(),
                "connection limit reached: new connections are closed at once (max_connections)"
            );
        }
        io::Error::other("connection limit reached")
    }
}

/// One connection's place in its address's count, given back on drop.
#[derive(Debug)]
struct PerIp {
    limit: Arc<ConnLimit>,
    key: IpAddr,
}

impl Drop for PerIp {
    fn drop(&mut self) {
        if let Ok(mut by_ip) = self.limit.by_ip.lock() {
            if let Some(open) = by_ip.get_mut(&self.key) {
                *open = open.saturating_sub(1);
                if *open == 0 {
                    by_ip.remove(&self.key);
                }
            }
        }
    }
}

/// The innermost acceptor: takes a connection slot and one of its
/// address's (or closes the connection), switches Nagle off, as nginx does on kept-alive
/// connections, so a small response is never held back for an ACK, and
/// times the connection's requests (see [`Activity`]).
#[derive(Debug, Clone)]
pub(crate) struct Limited {
    /// The open-connection limit.
    pub(crate) limit: Arc<ConnLimit>,
    /// How long a client has for each request head (`request_timeout`).
    pub(crate) idle: std::time::Duration,
}

impl<S: Timed> Accept<TcpStream, S> for Limited {
    type Stream = Slot<TcpStream>;
    type Service = S;
    type Future = std::future::Ready<io::Result<(Slot<TcpStream>, S)>>;

    fn accept(&self, stream: TcpStream, mut service: S) -> Self::Future {
        let peer = stream.peer_addr();
        // The address's slot first: a client at its own limit must not
        // take (even briefly) one of the slots everyone shares.
        let per_ip = match &peer {
            Ok(addr) => match self.limit.enter(addr.ip()) {
                Some(p) => Some(p),
                None => return std::future::ready(Err(self.limit.refuse_per_ip(addr.ip()))),
            },
            Err(_) => None,
        };
        let Ok(permit) = self.limit.permits.clone().try_acquire_owned() else {
            return std::future::ready(Err(self.limit.refuse(peer)));
        };
        // Only a latency optimisation; a socket that refuses it still works.
        let _ = stream.set_nodelay(true);
        let activity = Arc::new(Activity::new());
        service.timed_by(activity.clone());
        let watch = Watch {
            sleep: Box::pin(tokio::time::sleep_until(activity.base + self.idle)),
            activity,
            limit: self.idle,
        };
        std::future::ready(Ok((
            Slot {
                io: stream,
                _permit: permit,
                _per_ip: per_ip,
                watch,
            },
            service,
        )))
    }
}

/// What a connection's requests are doing: how many are in flight, and
/// when the last one was answered. A client must have sent a complete
/// request head within the timeout of the last answer (or of the accept),
/// as with hyper's `header_read_timeout`, but checking it costs a request
/// two atomic updates and a clock read instead of a timer armed and
/// disarmed (a boxed `Sleep` registered with and removed from tokio's
/// timer wheel): the connection's one timer is re-armed only when it
/// fires.
#[derive(Debug)]
pub(crate) struct Activity {
    base: tokio::time::Instant,
    /// Milliseconds from `base` to the last answer.
    last: AtomicU64,
    busy: AtomicUsize,
}

impl Activity {
    fn new() -> Activity {
        Activity {
            base: tokio::time::Instant::now(),
            last: AtomicU64::new(0),
            busy: AtomicUsize::new(0),
        }
    }

    /// A request's head was read (the service is called).
    pub(crate) fn started(&self) {
        self.busy.fetch_add(1, Ordering::AcqRel);
    }

    /// A request was answered (or abandoned).
    pub(crate) fn finished(&self) {
        let ms = self.base.elapsed().as_millis() as u64;
        self.last.store(ms, Ordering::Release);
        self.busy.fetch_sub(1, Ordering::AcqRel);
    }
}

/// A connection's idle/header timer.
#[derive(Debug)]
struct Watch {
    activity: Arc<Activity>,
    limit: std::time::Duration,
    sleep: Pin<Box<tokio::time::Sleep>>,
}

impl Watch {
    /// Called when a read would block: whether the client has had its time
    /// (no request in flight, none completed within `limit` of the last
    /// answer). Registers for a wake-up at the deadline otherwise.
    fn expired(&mut self, cx: &mut Context<'_>) -> bool {
        if self.activity.busy.load(Ordering::Acquire) > 0 {
            return false;
        }
        loop {
            if self.sleep.as_mut().poll(cx).is_pending() {
                return false;
            }
            // The timer went off at a deadline that later answers may have
            // pushed back: move it there, or give up if it is past.
            let last = self.activity.last.load(Ordering::Acquire);
            let deadline = self.activity.base + std::time::Duration::from_millis(last) + self.limit;
            if deadline <= tokio::time::Instant::now() {
                return true;
            }
            self.sleep.as_mut().reset(deadline);
        }
    }
}

/// A connection holding its slot until it is dropped.
#[derive(Debug)]
pub(crate) struct Slot<T> {
    io: T,
    _permit: OwnedSemaphorePermit,
    _per_ip: Option<PerIp>,
    watch: Watch,
}

impl<T: AsyncRead + Unpin> AsyncRead for Slot<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = &mut *self;
        match Pin::new(&mut this.io).poll_read(cx, buf) {
            Poll::Pending => {
                if this.watch.expired(cx) {
                    return Poll::Ready(Err(io::Error::new(
                        io::ErrorKind::TimedOut,
                        "no complete request within request_timeout_secs",
                    )));
                }
                Poll::Pending
            }
            ready => ready,
        }
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Slot<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write_vectored(cx, bufs)
    }

    // Passed through: hyper writes head and body with one `writev` only
    // when the transport says it supports it.
    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn per_address_slots_are_given_back() {
        let limit = Arc::new(ConnLimit::new(10, 2));
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let b: IpAddr = "192.0.2.2".parse().unwrap();
        let first = limit.enter(a).expect("first");
        let _second = limit.enter(a).expect("second");
        assert!(limit.enter(a).is_none(), "a is at its limit");
        assert!(limit.enter(b).is_some(), "b is not");
        drop(first);
        assert!(limit.enter(a).is_some(), "a's slot came back");
    }

    /// A second reuse-port group on a port another group listens on fails
    /// with "address in use" instead of sharing the port's connections.
    #[test]
    fn second_group_on_a_listening_port_is_refused() {
        let loopback: SocketAddr = ([127, 0, 0, 1], 0).into();
        let first = bind(loopback, 2).expect("first group");
        let port = first[0].local_addr().expect("address");
        assert!(first.iter().all(|l| l.local_addr().ok() == Some(port)));
        let e = bind(port, 2).expect_err("the port is taken");
        assert_eq!(e.kind(), io::ErrorKind::AddrInUse, "{e}");
        drop(first);
        // Once closed, the port can be bound again at once.
        bind(port, 2).expect("port free again");
    }
}
