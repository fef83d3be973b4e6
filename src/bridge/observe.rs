//! What the bridge shows about itself: its counters and how `/metrics`
//! renders them (Prometheus text format), the XMPP session's health for
//! `/healthz`, and what the router notes of each event.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use crate::envelope::Envelope;
use crate::grid::{Grid, GridEvent};
use crate::rolie::poll::{PollSource, PollStats};
use crate::rolie::{ComponentHealth, HealthProbe, Hooks};
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
        let mut family = |name: &str, help: &str, map: &Mutex<BTreeMap<String, u64>>| {
            out.push_str(&format!("# HELP {name} {help}\n# TYPE {name} counter\n"));
            if let Ok(m) = map.lock() {
                for (topic, n) in m.iter() {
                    let t = topic.replace('\\', "\\\\").replace('"', "\\\"");
                    out.push_str(&format!("{name}{{topic=\"{t}\"}} {n}\n"));
                }
            }
        };
        family(
            "gridlink_items_in_total",
            "Items received from the grid.",
            &self.items_in,
        );
        family(
            "gridlink_items_out_total",
            "Items published to the grid.",
            &self.items_out,
        );
        let n = self.publishes.load(Ordering::Relaxed);
        let micros = self.publish_micros.load(Ordering::Relaxed);
        out.push_str(&format!(
            "# HELP gridlink_publish_seconds Time from POST to the broker's confirmation.\n\
             # TYPE gridlink_publish_seconds summary\n\
             gridlink_publish_seconds_sum {}\ngridlink_publish_seconds_count {n}\n",
            micros as f64 / 1e6
        ));
        out.push_str(&format!(
            "# HELP gridlink_resubscriptions_total New XMPP sessions after which the bridge resubscribed.\n\
             # TYPE gridlink_resubscriptions_total counter\ngridlink_resubscriptions_total {}\n",
            self.resubscriptions.load(Ordering::Relaxed)
        ));
        out.push_str(&format!(
            "# HELP gridlink_notifications_dropped_total Notifications dropped because the bridge fell behind (caught up from the topics' items).\n\
             # TYPE gridlink_notifications_dropped_total counter\ngridlink_notifications_dropped_total {}\n",
            self.dropped.load(Ordering::Relaxed)
        ));
        out.push_str(&format!(
            "# HELP gridlink_gaps_total Catch-ups that could not prove nothing was missed.\n\
             # TYPE gridlink_gaps_total counter\ngridlink_gaps_total {}\n",
            self.gaps.load(Ordering::Relaxed)
        ));
        if let Ok(polls) = self.polls.lock() {
            for (name, help, get) in [
                (
                    "gridlink_poll_published_total",
                    "Remote feed entries published to the grid.",
                    (|s: &PollStats| s.published.load(Ordering::Relaxed)) as fn(&PollStats) -> u64,
                ),
                (
                    "gridlink_poll_invalid_total",
                    "Remote feed entries refused as invalid IODEF.",
                    |s| s.invalid.load(Ordering::Relaxed),
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
                out.push_str(&format!("# HELP {name} {help}\n# TYPE {name} counter\n"));
                for (src, stats) in polls.iter() {
                    let u = src.display_url().replace('\\', "\\\\").replace('"', "\\\"");
                    out.push_str(&format!(
                        "{name}{{source=\"{u}\",topic=\"{}\"}} {}\n",
                        src.topic,
                        get(stats)
                    ));
                }
            }
        }
    }
}

/// `/healthz`'s view of the XMPP session.
pub(super) struct SessionHealth(pub(super) tokio::sync::watch::Receiver<SessionState>);

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
pub(super) fn hooks(grid: &Grid, counters: &Arc<Counters>) -> Hooks {
    let metrics_counters = counters.clone();
    let metrics_session = grid.session().clone();
    Hooks {
        json_form: Some(Arc::new(|env: &Envelope| {
            crate::iodef::parse(env.document.as_bytes())
                .map(|d| d.to_json_string())
                .map_err(|e| e.to_string())
        })),
        health: Some(Arc::new(SessionHealth(grid.session().watch_state()))),
        metrics: Some(Arc::new(move |out: &mut String| {
            metrics_counters.render(out);
            out.push_str(&format!(
                "# HELP gridlink_xmpp_reconnects_total XMPP connection losses since start.\n\
                 # TYPE gridlink_xmpp_reconnects_total counter\ngridlink_xmpp_reconnects_total {}\n",
                metrics_session.reconnects()
            ));
        })),
    }
}
