//! Operations endpoints: `/metrics` (Prometheus text) and `/healthz`.

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

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

/// Middleware: counts every response by status and logs it — writes at
/// `info` with the peer address, as an audit trail (RFC 8322 §9), reads at
/// `debug`. Reads are the hot path (pollers), so their log fields are only
/// rendered when `debug` is on.
pub(crate) async fn observe(State(st): State<Shared>, request: Request, next: Next) -> Response {
    let method = request.method().clone();
    let read = method == Method::GET || method == Method::HEAD;
    let fields = (!read || tracing::enabled!(tracing::Level::DEBUG)).then(|| {
        let peer = request
            .extensions()
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.to_string())
            .unwrap_or_default();
        (
            request.uri().path().to_owned(),
            peer,
            std::time::Instant::now(),
        )
    });
    let response = next.run(request).await;
    let status = response.status().as_u16();
    st.metrics.count(status);
    if let Some((path, peer, started)) = fields {
        let elapsed_us = started.elapsed().as_micros() as u64;
        if read {
            tracing::debug!(%peer, %method, %path, status, elapsed_us, "http");
        } else {
            tracing::info!(%peer, %method, %path, status, elapsed_us, "http write");
        }
    }
    response
}

/// Escapes a Prometheus label value.
fn label(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// `GET /metrics`.
pub(crate) async fn metrics(State(st): State<Shared>) -> Response {
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
