//! Operations endpoints: `/metrics` (Prometheus text) and `/healthz`.

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use axum::body::Body;
use axum::extract::State;
use axum::http::{self as http, header, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::future::RouteFuture;
use axum::Router;
use tower_service::Service;

use super::http::Shared;

/// The health of one component, as `/healthz` reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ComponentHealth {
    /// Whether the component counts as working.
    pub healthy: bool,
    /// A short state word or message (`online`, `reconnecting`, …).
    pub detail: String,
}

/// Tells `/healthz` how the XMPP session is doing. The bridge implements it;
/// without one, `/healthz` reports the session as `not-configured` (healthy).
pub trait HealthProbe: Send + Sync + 'static {
    /// The current state of the XMPP session.
    fn xmpp(&self) -> ComponentHealth;
}

/// Appends more Prometheus text (e.g. the bridge's XMPP counters) to
/// `/metrics`. Each call must write complete `# TYPE` blocks.
pub type MetricsHook = Arc<dyn Fn(&mut String) + Send + Sync>;

/// The server's own counters.
#[derive(Debug)]
pub(crate) struct Metrics {
    /// Responses by status code (index `status - 100`): atomics, because
    /// every request bumps one and a lock showed in the 304 path's profile.
    http: Box<[AtomicU64]>,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics {
            http: (100..600).map(|_| AtomicU64::new(0)).collect(),
        }
    }
}

impl Metrics {
    fn count(&self, status: u16) {
        if let Some(c) = status
            .checked_sub(100)
            .and_then(|i| self.http.get(usize::from(i)))
        {
            c.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// (status, responses) for every status seen, in order.
    fn http_counts(&self) -> impl Iterator<Item = (u16, u64)> + '_ {
        (100u16..)
            .zip(self.http.iter())
            .map(|(s, c)| (s, c.load(Ordering::Relaxed)))
            .filter(|(_, n)| *n > 0)
    }
}

/// The outermost service, one per connection: counts every response by
/// status and logs it — writes at `info` with the peer address, as an audit
/// trail (RFC 8322 §9), reads at `debug`. Reads are the hot path (pollers'
/// conditional GETs), so their log fields are only rendered when `debug` is
/// on, and this wraps the router directly instead of being an axum
/// `middleware::from_fn` layer, which boxes and clones per request (visible
/// in the 304 path's profile).
#[derive(Clone)]
pub(crate) struct Observe {
    router: Router,
    state: Shared,
    peer: SocketAddr,
    /// The connection's request accounting for its idle timer (set by the
    /// acceptor when the server uses it; see `listen::Activity`).
    pub(crate) activity: Option<Arc<super::listen::Activity>>,
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
        let audited = !read || self.state.config.read_requires_token;
        let log = (audited || tracing::enabled!(tracing::Level::DEBUG)).then(|| Log {
            path: request.uri().path().to_owned(),
            peer: self.peer,
            method,
            read,
            audited,
            started: std::time::Instant::now(),
        });
        // Revalidations of a cached feed page are answered here; the
        // rest (and anything the fast path is unsure of) goes to the router.
        let inner = match read
            .then(|| super::fast::not_modified(&self.state, &request))
            .flatten()
        {
            Some(response) => Inner::Ready(Some(response)),
            None => Inner::Routed(self.router.call(request.map(Body::new))),
        };
        if let Some(a) = &self.activity {
            a.started();
        }
        Observed {
            inner,
            state: self.state.clone(),
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
    log: Option<Log>,
    /// Told when the response is ready or the request abandoned; `None`
    /// once told.
    activity: Option<Arc<super::listen::Activity>>,
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
        super::http::without_304_length(&mut response);
        let status = response.status().as_u16();
        self.state.metrics.count(status);
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

/// Escapes a Prometheus label value.
fn label(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// `GET /metrics`. Behind the read token when reads need one: it names
/// the topics and the polled sources.
pub(crate) async fn metrics(State(st): State<Shared>, headers: axum::http::HeaderMap) -> Response {
    if let Err(p) = super::write::authorize_read(&st, &headers) {
        return p.into_response();
    }
    let mut out = String::new();
    out.push_str(
        "# HELP gridlink_http_requests_total HTTP responses of the ROLIE server by status.\n",
    );
    out.push_str("# TYPE gridlink_http_requests_total counter\n");
    for (status, n) in st.metrics.http_counts() {
        let _ = writeln!(
            out,
            "gridlink_http_requests_total{{status=\"{status}\"}} {n}"
        );
    }
    out.push_str("# HELP gridlink_http_connections Open HTTP connections.\n");
    out.push_str("# TYPE gridlink_http_connections gauge\n");
    let _ = writeln!(out, "gridlink_http_connections {}", st.connections.open());
    out.push_str(
        "# HELP gridlink_http_connections_refused_total Connections closed at once because max_connections were open.\n",
    );
    out.push_str("# TYPE gridlink_http_connections_refused_total counter\n");
    let _ = writeln!(
        out,
        "gridlink_http_connections_refused_total {}",
        st.connections.refused()
    );
    out.push_str(
        "# HELP gridlink_store_puts_total Items offered to the store by topic and outcome.\n",
    );
    out.push_str("# TYPE gridlink_store_puts_total counter\n");
    for (topic, c) in st.store.counters() {
        let t = label(&topic);
        for (outcome, n) in [
            ("inserted", c.inserted),
            ("replaced", c.replaced),
            ("unchanged", c.unchanged),
        ] {
            let _ = writeln!(
                out,
                "gridlink_store_puts_total{{topic=\"{t}\",outcome=\"{outcome}\"}} {n}"
            );
        }
        let _ = writeln!(
            out,
            "gridlink_store_puts_total{{topic=\"{t}\",outcome=\"retracted\"}} {}",
            c.retracted
        );
    }
    out.push_str("# HELP gridlink_store_items Items the store holds by topic.\n");
    out.push_str("# TYPE gridlink_store_items gauge\n");
    match st.store.topics().await {
        Ok(topics) => {
            for t in topics {
                let _ = writeln!(
                    out,
                    "gridlink_store_items{{topic=\"{}\"}} {}",
                    label(&t.topic),
                    t.items
                );
            }
        }
        Err(e) => tracing::warn!(error = %e, "metrics: store unreadable"),
    }
    if let Some(hook) = &st.metrics_hook {
        hook(&mut out);
    }
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        out,
    )
        .into_response()
}

/// `GET /healthz`: 200 when the store takes writes and the XMPP session is
/// healthy, else 503; the body says which part failed (JSON).
pub(crate) async fn healthz(State(st): State<Shared>) -> Response {
    let store = match st.store.check_writable().await {
        Ok(()) => ComponentHealth {
            healthy: true,
            detail: "writable".into(),
        },
        Err(e) => ComponentHealth {
            healthy: false,
            detail: e.to_string(),
        },
    };
    let xmpp = st
        .health
        .as_ref()
        .map(|h| h.xmpp())
        .unwrap_or(ComponentHealth {
            healthy: true,
            detail: "not-configured".into(),
        });
    let healthy = store.healthy && xmpp.healthy;
    let body = serde_json::json!({
        "status": if healthy { "ok" } else { "unhealthy" },
        "store": { "healthy": store.healthy, "detail": store.detail },
        "xmpp": { "healthy": xmpp.healthy, "detail": xmpp.detail },
    });
    let status = if healthy {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, axum::Json(body)).into_response()
}
