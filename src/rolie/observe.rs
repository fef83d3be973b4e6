//! The outermost per-connection service: the fast path, counting, the
//! audit log and the token-failure throttle around the router.

use std::convert::Infallible;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::body::Body;
use axum::http::{self as http, header, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::future::RouteFuture;
use axum::Router;
use tower_service::Service;

use super::conditional::without_304_length;
use super::fast;
use super::listen::{Activity, Timed};
use super::problem::{too_many_requests, BadCredentials};
use super::state::Shared;

/// The outermost service, one per connection: counts every response by
/// status and logs it — writes at `info` with the peer address, as an audit
/// trail (RFC 8322 §9), reads at `debug`. Reads are the hot path (pollers'
/// conditional GETs), so their log fields are only rendered when `debug` is
/// on, and this wraps the router directly instead of being an axum
/// `middleware::from_fn` layer, which boxes and clones per request (visible
/// in the 304 path's profile).
///
/// It also keeps token guessers out: a request with credentials from an
/// address that is locked out (`throttle.rs`) is answered 429 here, and a
/// response marked [`BadCredentials`] counts against its address and is
/// logged at debug (never with the token).
#[derive(Clone)]
pub(crate) struct Observe {
    router: Router,
    state: Shared,
    peer: SocketAddr,
    /// The connection's request accounting for its idle timer (set by the
    /// acceptor when the server uses it; see `listen::Activity`).
    pub(crate) activity: Option<Arc<Activity>>,
}

impl Timed for Observe {
    fn timed_by(&mut self, activity: Arc<Activity>) {
        self.activity = Some(activity);
    }
}

impl Observe {
    /// A make-service for axum-server: an `Observe` per accepted connection.
    pub(crate) fn per_connection(router: Router, state: Shared) -> MakeObserve {
        MakeObserve { router, state }
    }
}

/// Makes an [`Observe`] for each connection (its peer address).
#[derive(Clone)]
pub(crate) struct MakeObserve {
    router: Router,
    state: Shared,
}

impl Service<SocketAddr> for MakeObserve {
    type Response = Observe;
    type Error = Infallible;
    type Future = std::future::Ready<Result<Observe, Infallible>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, peer: SocketAddr) -> Self::Future {
        std::future::ready(Ok(Observe {
            router: self.router.clone(),
            state: self.state.clone(),
            peer,
            activity: None,
        }))
    }
}

impl<B> Service<http::Request<B>> for Observe
where
    B: axum::body::HttpBody<Data = axum::body::Bytes> + Send + 'static,
    B::Error: Into<axum::BoxError>,
{
    type Response = Response;
    type Error = Infallible;
    type Future = Observed;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        // A Router is always ready.
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<B>) -> Observed {
        let method = request.method().clone();
        let read = method == Method::GET || method == Method::HEAD;
        // Writes are always in the audit trail (RFC 8322 §9), and so are
        // reads when reading needs a token: then what is read is not public.
        let audited = !read || self.state.auth.read_required();
        let log = (audited || tracing::enabled!(tracing::Level::DEBUG)).then(|| Log {
            path: request.uri().path().to_owned(),
            peer: self.peer,
            method,
            read,
            audited,
            started: std::time::Instant::now(),
        });
        let ip = self.peer.ip();
        // A locked-out address gets no token compared (no header lookup
        // and no lock while no address has failed).
        let throttle = &self.state.auth.throttle;
        let locked = (throttle.active() && request.headers().contains_key(header::AUTHORIZATION))
            .then(|| throttle.locked(ip))
            .flatten();
        // Revalidations of a cached feed page are answered here; the
        // rest (and anything the fast path is unsure of) goes to the router.
        let inner = match locked {
            Some(wait) => Inner::Ready(Some(too_many_requests(wait.as_secs_f64().ceil() as u64))),
            None => match read
                .then(|| fast::not_modified(&self.state, &request))
                .flatten()
            {
                Some(response) => Inner::Ready(Some(response)),
                None => Inner::Routed(self.router.call(request.map(Body::new))),
            },
        };
        if let Some(a) = &self.activity {
            a.started();
        }
        Observed {
            inner,
            state: self.state.clone(),
            ip,
            log,
            activity: self.activity.clone(),
        }
    }
}

/// What a logged request needs after its response.
struct Log {
    path: String,
    peer: SocketAddr,
    method: Method,
    read: bool,
    /// Logged at info (the audit trail), not debug.
    audited: bool,
    started: std::time::Instant,
}

/// The response future of [`Observe`].
pub(crate) struct Observed {
    inner: Inner,
    state: Shared,
    /// The client's address (for the throttle).
    ip: IpAddr,
    log: Option<Log>,
    /// Told when the response is ready or the request abandoned; `None`
    /// once told.
    activity: Option<Arc<Activity>>,
}

impl Drop for Observed {
    fn drop(&mut self) {
        // An HTTP/2 stream the client reset is dropped unanswered; it must
        // not count as in flight forever (that would switch the
        // connection's idle timer off).
        if let Some(a) = self.activity.take() {
            a.finished();
        }
    }
}

/// Where an [`Observed`] response comes from.
enum Inner {
    /// The router's future.
    Routed(RouteFuture<Infallible>),
    /// A response made in `call` (the fast path); taken on the first poll.
    Ready(Option<Response>),
}

impl Future for Observed {
    type Output = Result<Response, Infallible>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut response = match &mut self.inner {
            Inner::Routed(f) => {
                let Ok(response) = std::task::ready!(Pin::new(f).poll(cx));
                response
            }
            // Polled again after completion: the router's future would
            // panic too; an empty 500 is the quieter answer.
            Inner::Ready(r) => r
                .take()
                .unwrap_or_else(|| StatusCode::INTERNAL_SERVER_ERROR.into_response()),
        };
        if let Some(a) = self.activity.take() {
            a.finished();
        }
        without_304_length(&mut response);
        let status = response.status().as_u16();
        self.state.responses.count(status);
        let bad_token = status == 401 && response.extensions().get::<BadCredentials>().is_some();
        if bad_token {
            self.state.auth.throttle.failed(self.ip);
        }
        if let Some(Log {
            path,
            peer,
            method,
            read,
            audited,
            started,
        }) = self.log.take()
        {
            let elapsed_us = started.elapsed().as_micros() as u64;
            match (read, audited) {
                // Guessing floods (wrong tokens, and the 429s of the
                // lock-out that follows) would flood an info log; they
                // are counted in /metrics instead.
                _ if bad_token => {
                    tracing::debug!(%peer, %method, %path, status, elapsed_us, "http: bearer token not accepted")
                }
                _ if status == 429 => {
                    tracing::debug!(%peer, %method, %path, status, elapsed_us, "http: locked out after failed authentication")
                }
                (true, false) => tracing::debug!(%peer, %method, %path, status, elapsed_us, "http"),
                (true, true) => {
                    tracing::info!(%peer, %method, %path, status, elapsed_us, "http read")
                }
                (false, _) => {
                    tracing::info!(%peer, %method, %path, status, elapsed_us, "http write")
                }
            }
        }
        Poll::Ready(Ok(response))
    }
}
