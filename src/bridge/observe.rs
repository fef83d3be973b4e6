//! What the bridge shows about itself: its counters and how `/metrics`
//! renders them (through [`crate::metrics`], which escapes the labels), the
//! XMPP session's health for `/healthz`, and what the router notes of each
//! event.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use crate::envelope::Envelope;
use crate::grid::{Grid, GridEvent};
use crate::metrics::{Exposition, Kind};
use crate::rolie::poll::{PollSource, PollStats};
use crate::rolie::{ComponentHealth, HealthProbe, Hooks};
use crate::sink::SinkMonitor;
use crate::xmpp::SessionState;

/// Counters for `/metrics`.
#[derive(Default)]
pub(super) struct Counters {
    pub(super) items_in: Mutex<BTreeMap<String, u64>>,
    pub(super) items_out: Mutex<BTreeMap<String, u64>>,
    pub(super) publish_micros: AtomicU64,
    pub(super) publishes: AtomicU64,
    pub(super) resubscriptions: AtomicU64,
    pub(super) gaps: AtomicU64,
    pub(super) dropped: AtomicU64,
    pub(super) polls: Mutex<Vec<(PollSource, Arc<PollStats>)>>,
}

impl Counters {
    pub(super) fn bump(map: &Mutex<BTreeMap<String, u64>>, topic: &str) {
        if let Ok(mut m) = map.lock() {
            *m.entry(topic.to_string()).or_default() += 1;
        }
    }

    pub(super) fn render(&self, out: &mut String) {
        let mut w = Exposition::new(out);
        for (name, help, map) in [
            (
                "gridlink_items_in_total",
                "Items received from the grid.",
                &self.items_in,
            ),
            (
                "gridlink_items_out_total",
                "Items published to the grid.",
                &self.items_out,
            ),
        ] {
            w.family(name, Kind::Counter, help);
            if let Ok(m) = map.lock() {
                for (topic, n) in m.iter() {
                    w.sample(name, &[("topic", topic)], n);
                }
            }
        }
        let micros = self.publish_micros.load(Ordering::Relaxed);
        w.family(
            "gridlink_publish_seconds",
            Kind::Summary,
            "Time from POST to the broker's confirmation.",
        )
        .sample("gridlink_publish_seconds_sum", &[], micros as f64 / 1e6)
        .sample(
            "gridlink_publish_seconds_count",
            &[],
            self.publishes.load(Ordering::Relaxed),
        );
        w.single(
            "gridlink_resubscriptions_total",
            Kind::Counter,
            "New XMPP sessions after which the bridge resubscribed.",
            self.resubscriptions.load(Ordering::Relaxed),
        );
        w.single(
            "gridlink_notifications_dropped_total",
            Kind::Counter,
            "Notifications dropped because the bridge fell behind (caught up from the topics' items).",
            self.dropped.load(Ordering::Relaxed),
        );
        w.single(
            "gridlink_gaps_total",
            Kind::Counter,
            "Catch-ups that could not prove nothing was missed.",
            self.gaps.load(Ordering::Relaxed),
        );
        if let Ok(polls) = self.polls.lock() {
            for (name, help, get) in [
                (
                    "gridlink_poll_published_total",
                    "Remote feed entries published to the grid.",
                    (|s: &PollStats| s.published.load(Ordering::Relaxed)) as fn(&PollStats) -> u64,
                ),
                (
                    "gridlink_poll_invalid_total",
                    "Remote feed entries refused as invalid (IODEF; CSAF: invalid, a bad or missing hash sidecar or OpenPGP signature).",
                    |s| s.invalid.load(Ordering::Relaxed),
                ),
                (
                    "gridlink_poll_bad_signature_total",
                    "CSAF advisories refused for a missing or bad OpenPGP signature (also in gridlink_poll_invalid_total).",
                    |s| s.bad_signature.load(Ordering::Relaxed),
                ),
                (
                    "gridlink_poll_errors_total",
                    "Failed poll rounds (retried with backoff).",
                    |s| s.errors.load(Ordering::Relaxed),
                ),
                (
                    "gridlink_poll_not_modified_total",
                    "Poll rounds answered 304.",
                    |s| s.not_modified.load(Ordering::Relaxed),
                ),
                (
                    "gridlink_poll_skipped_total",
                    "Remote feed entries skipped because their content is gone (404, 410) or unreadable.",
                    |s| s.skipped.load(Ordering::Relaxed),
                ),
            ] {
                w.family(name, Kind::Counter, help);
                for (src, stats) in polls.iter() {
                    w.sample(
                        name,
                        &[("source", &src.display_url()), ("topic", &src.topic)],
                        get(stats),
                    );
                }
            }
        }
    }
}

/// `/healthz`'s view of the XMPP session.
pub(super) struct SessionHealth(
    pub(super) tokio::sync::watch::Receiver<SessionState>,
    pub(super) SinkMonitor,
);

impl HealthProbe for SessionHealth {
    fn xmpp(&self) -> ComponentHealth {
        let state = *self.0.borrow();
        ComponentHealth {
            healthy: state == SessionState::Online,
            detail: match state {
                SessionState::Online => "online",
                SessionState::Suspended => "reconnecting",
                SessionState::Closed => "closed",
            }
            .to_string(),
        }
    }

    fn sinks(&self) -> Option<ComponentHealth> {
        if self.1.sinks().is_empty() {
            return None;
        }
        let (healthy, detail) = self.1.health();
        Some(ComponentHealth { healthy, detail })
    }
}

/// What the router itself takes from an event: counters, logs, and the
/// topics it now serves (POSTs to others are refused).
pub(super) fn observe(counters: &Counters, topics: &Mutex<Vec<String>>, ev: &GridEvent) {
    match ev {
        GridEvent::Item { envelope, .. } => Counters::bump(&counters.items_in, &envelope.topic),
        GridEvent::Resubscribed { topics: t } | GridEvent::TopicsAdded { topics: t, .. } => {
            if matches!(ev, GridEvent::Resubscribed { .. }) {
                counters.resubscriptions.fetch_add(1, Ordering::Relaxed);
            } else {
                tracing::info!(event = %ev.to_json(), "grid event");
            }
            if let Ok(mut cur) = topics.lock() {
                *cur = t.clone();
            }
        }
        GridEvent::Lagged { dropped, .. } => {
            counters.dropped.fetch_add(*dropped, Ordering::Relaxed);
            tracing::warn!(event = %ev.to_json(), "grid event");
        }
        GridEvent::Gap { .. } => {
            counters.gaps.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(event = %ev.to_json(), "grid event");
        }
        // Logged where they were detected, or by the store sink.
        GridEvent::Rejected { .. }
        | GridEvent::Retract { .. }
        | GridEvent::Purge { .. }
        | GridEvent::Delete { .. } => {}
        other => tracing::info!(event = %other.to_json(), "grid event"),
    }
}

/// The ROLIE server's hooks: the RFC 8727 JSON form, `/healthz`, `/metrics`.
pub(super) fn hooks(grid: &Grid, counters: &Arc<Counters>, sinks: SinkMonitor) -> Hooks {
    let metrics_counters = counters.clone();
    let metrics_session = grid.session().clone();
    Hooks {
        json_form: Some(Arc::new(|env: &Envelope| {
            crate::iodef::parse(env.document.as_bytes())
                .map(|d| d.to_json_string())
                .map_err(|e| e.to_string())
        })),
        health: Some(Arc::new(SessionHealth(
            grid.session().watch_state(),
            sinks.clone(),
        ))),
        metrics: Some(Arc::new(move |out: &mut String| {
            metrics_counters.render(out);
            sinks.render(out);
            Exposition::new(out).single(
                "gridlink_xmpp_reconnects_total",
                Kind::Counter,
                "XMPP connection losses since start.",
                metrics_session.reconnects(),
            );
        })),
    }
}
