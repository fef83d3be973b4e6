//! Operations endpoints: `/metrics` (Prometheus text, written through
//! [`crate::metrics`]) and `/healthz`.

use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

use super::hooks::ComponentHealth;
use super::state::Shared;
use crate::metrics::{Exposition, Kind, CONTENT_TYPE};

/// `GET /metrics`. Behind a token for every topic when reads need one: it
/// names the topics and the polled sources.
pub(crate) async fn metrics(State(st): State<Shared>, headers: HeaderMap) -> Response {
    if let Err(p) = st.auth.read_all(&headers) {
        return p.into_response();
    }
    let mut out = String::new();
    let mut w = Exposition::new(&mut out);
    let name = "gridlink_http_requests_total";
    w.family(
        name,
        Kind::Counter,
        "HTTP responses of the ROLIE server by status.",
    );
    for (status, n) in st.responses.by_status() {
        w.sample(name, &[("status", &status.to_string())], n);
    }
    w.single(
        "gridlink_http_connections",
        Kind::Gauge,
        "Open HTTP connections.",
        st.connections.open(),
    );
    w.single(
        "gridlink_http_connections_refused_total",
        Kind::Counter,
        "Connections closed at once because max_connections were open.",
        st.connections.refused(),
    );
    w.single(
        "gridlink_http_connections_refused_per_ip_total",
        Kind::Counter,
        "Connections closed at once because their client address had max_connections_per_ip open.",
        st.connections.refused_per_ip(),
    );
    w.single(
        "gridlink_http_auth_failures_total",
        Kind::Counter,
        "Requests whose bearer token matched no configured token.",
        st.auth.throttle.failures(),
    );
    w.single(
        "gridlink_http_auth_throttled_total",
        Kind::Counter,
        "Requests answered 429 because their client address failed authentication too often.",
        st.auth.throttle.refused(),
    );
    let name = "gridlink_store_puts_total";
    w.family(
        name,
        Kind::Counter,
        "Items offered to the store by topic and outcome.",
    );
    for (topic, c) in st.store.counters() {
        for (outcome, n) in [
            ("inserted", c.inserted),
            ("replaced", c.replaced),
            ("unchanged", c.unchanged),
            ("retracted", c.retracted),
        ] {
            w.sample(name, &[("topic", &topic), ("outcome", outcome)], n);
        }
    }
    let name = "gridlink_store_items";
    w.family(name, Kind::Gauge, "Items the store holds by topic.");
    match st.store.topics().await {
        Ok(topics) => {
            for t in topics {
                w.sample(name, &[("topic", &t.topic)], t.items);
            }
        }
        Err(e) => tracing::warn!(error = %e, "metrics: store unreadable"),
    }
    if let Some(hook) = &st.metrics_hook {
        hook(&mut out);
    }
    ([(header::CONTENT_TYPE, CONTENT_TYPE)], out).into_response()
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
    let sinks = st.health.as_ref().and_then(|h| h.sinks());
    let healthy = store.healthy && xmpp.healthy && sinks.as_ref().is_none_or(|s| s.healthy);
    let mut body = serde_json::json!({
        "status": if healthy { "ok" } else { "unhealthy" },
        "store": { "healthy": store.healthy, "detail": store.detail },
        "xmpp": { "healthy": xmpp.healthy, "detail": xmpp.detail },
    });
    if let Some(s) = sinks {
        body["sinks"] = serde_json::json!({ "healthy": s.healthy, "detail": s.detail });
    }
    let status = if healthy {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, axum::Json(body)).into_response()
}
