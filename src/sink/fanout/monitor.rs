//! What the own-cursor sinks show about themselves: per-sink counters
//! (sent, retried, failed, dead-lettered), the lag behind the grid, for how
//! long a sink has been failing; rendered for `/metrics` and `/healthz`.

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::metrics::{Exposition, Kind};

/// One sink's counters (shared between its task and the monitor).
#[derive(Debug, Default)]
pub struct SinkStats {
    /// The sink's name (its cursor's key).
    pub name: String,
    /// Events the receiver accepted.
    pub sent: AtomicU64,
    /// Events sent again after a failed attempt.
    pub retried: AtomicU64,
    /// Delivery attempts that failed (connection errors, 5xx, 429).
    pub failed: AtomicU64,
    /// Events the receiver refused for good, written to the dead-letter file.
    pub dead_lettered: AtomicU64,
    /// After how long of failing the sink counts as unhealthy.
    pub failing_after: Duration,
    /// The last journal position delivered.
    pub(super) cursor: AtomicI64,
    /// Since when every attempt has failed (`None`: the last one worked).
    pub(super) failing: Mutex<Option<(Instant, String)>>,
}

impl SinkStats {
    pub(super) fn new(name: String, cursor: i64, failing_after: Duration) -> SinkStats {
        SinkStats {
            name,
            failing_after,
            cursor: AtomicI64::new(cursor),
            ..SinkStats::default()
        }
    }

    /// How long the sink has been failing, and the last error.
    pub fn failing(&self) -> Option<(Duration, String)> {
        let f = self.failing.lock().ok()?;
        f.as_ref().map(|(since, e)| (since.elapsed(), e.clone()))
    }

    pub(super) fn set_failing(&self, error: String) {
        if let Ok(mut f) = self.failing.lock() {
            let since = f.as_ref().map_or_else(Instant::now, |(s, _)| *s);
            *f = Some((since, error));
        }
    }

    pub(super) fn set_working(&self) {
        if let Ok(mut f) = self.failing.lock() {
            *f = None;
        }
    }
}

/// The own-cursor sinks of one router, as `/metrics` and `/healthz` see
/// them. Cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct SinkMonitor {
    pub(super) head: Arc<AtomicI64>,
    pub(super) sinks: Arc<Vec<Arc<SinkStats>>>,
}

impl SinkMonitor {
    /// The sinks' counters.
    pub fn sinks(&self) -> &[Arc<SinkStats>] {
        &self.sinks
    }

    /// Events `sink` still has to deliver (journal head − its cursor).
    pub fn lag(&self, sink: &SinkStats) -> u64 {
        let head = self.head.load(Ordering::Acquire);
        (head - sink.cursor.load(Ordering::Acquire)).max(0) as u64
    }

    /// Appends the `gridlink_sink_*` families.
    pub fn render(&self, out: &mut String) {
        if self.sinks.is_empty() {
            return;
        }
        let mut w = Exposition::new(out);
        type Get = fn(&SinkMonitor, &SinkStats) -> u64;
        let families: [(&str, Kind, &str, Get); 5] = [
            (
                "gridlink_sink_sent_total",
                Kind::Counter,
                "Events the sink's receiver accepted.",
                |_, s| s.sent.load(Ordering::Relaxed),
            ),
            (
                "gridlink_sink_retried_total",
                Kind::Counter,
                "Events sent again after a failed attempt.",
                |_, s| s.retried.load(Ordering::Relaxed),
            ),
            (
                "gridlink_sink_failed_total",
                Kind::Counter,
                "Delivery attempts that failed (connection errors, 5xx, 429); retried with backoff.",
                |_, s| s.failed.load(Ordering::Relaxed),
            ),
            (
                "gridlink_sink_dead_lettered_total",
                Kind::Counter,
                "Events the receiver refused for good, written to the dead-letter file.",
                |_, s| s.dead_lettered.load(Ordering::Relaxed),
            ),
            (
                "gridlink_sink_lag_events",
                Kind::Gauge,
                "Events received from the grid that the sink has not delivered yet.",
                |m, s| m.lag(s),
            ),
        ];
        for (name, kind, help, get) in families {
            w.family(name, kind, help);
            for s in self.sinks.iter() {
                w.sample(name, &[("sink", &s.name)], get(self, s));
            }
        }
    }

    /// `(healthy, detail)`: unhealthy when a sink has been failing for
    /// longer than its [`failing_after`](crate::sink::Sink::failing_after);
    /// the detail names it and its last error.
    pub fn health(&self) -> (bool, String) {
        let failing: Vec<String> = self
            .sinks
            .iter()
            .filter_map(|s| {
                let (for_, error) = s.failing()?;
                (for_ > s.failing_after)
                    .then(|| format!("{} failing for {}s: {error}", s.name, for_.as_secs()))
            })
            .collect();
        if failing.is_empty() {
            (true, format!("{} sink(s) delivering", self.sinks.len()))
        } else {
            (false, failing.join("; "))
        }
    }
}
