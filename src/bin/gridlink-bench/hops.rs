//! `--hops`: where a notification's latency goes on gridlink's receive path
//! (issue 22, deliverable 1). The library emits one trace event per hop
//! (target `gridlink::receive`: `driver` read the message off the stream,
//! `subscription` took it from the session's queue, `parsed` made it an
//! item event); the gridlink subscriber worker, asked with the
//! `GRIDLINK_BENCH_HOPS` environment variable, records each with a wall-clock
//! timestamp ([`Recorder`]) and reports per item when each hop was passed.
//! The coordinator adds the publisher's write time and the consumer's
//! receipt, and gives each stretch's p50 and p99 ([`summary`]). Recording
//! costs the worker some CPU: a `--hops` run's other figures are not the
//! plain run's.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tracing::field::{Field, Visit};
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::Layer;

use crate::measure::{now, percentile};
use crate::payloads::item_number;

/// The environment variable that turns recording on in the worker.
pub const ENV: &str = "GRIDLINK_BENCH_HOPS";

/// Whether this run was asked for `--hops` (the coordinator sets it; the
/// gridlink subscriber workers then get [`ENV`]).
pub static ASKED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// The library's hops, in path order.
const HOPS: [&str; 3] = ["driver", "subscription", "parsed"];

/// One recorded event.
#[derive(Debug, Default)]
struct Rec {
    hop: String,
    msg: String,
    item: String,
    t: f64,
}

impl Visit for Rec {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "hop" {
            self.hop = value.to_string();
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        match field.name() {
            "hop" => self.hop = format!("{value:?}").trim_matches('"').to_string(),
            "msg" => self.msg = format!("{value:?}"),
            "item" => self.item = format!("{value:?}"),
            _ => {}
        }
    }
}

/// Records the `gridlink::receive` events of this process.
#[derive(Clone, Default)]
pub struct Recorder(Arc<Mutex<Vec<Rec>>>);

impl<S: tracing::Subscriber> Layer<S> for Recorder {
    fn on_event(&self, event: &tracing::Event<'_>, _: Context<'_, S>) {
        if event.metadata().target() != "gridlink::receive" {
            return;
        }
        let mut rec = Rec {
            t: now(),
            ..Default::default()
        };
        event.record(&mut rec);
        if let Ok(mut v) = self.0.lock() {
            v.push(rec);
        }
    }
}

impl Recorder {
    /// Installs a recorder as this process's subscriber when [`ENV`] is
    /// set (nothing is recorded, and the events cost next to nothing,
    /// otherwise).
    pub fn install() -> Option<Recorder> {
        std::env::var_os(ENV)?;
        let r = Recorder::default();
        let filter = tracing_subscriber::filter::Targets::new()
            .with_target("gridlink::receive", tracing::Level::TRACE);
        tracing_subscriber::registry()
            .with(r.clone().with_filter(filter))
            .try_init()
            .ok()?;
        Some(r)
    }

    /// Per item number: when each of [`HOPS`] was passed (NaN when not seen).
    pub fn per_item(&self) -> Vec<(u64, [f64; 3])> {
        let Ok(recs) = self.0.lock() else {
            return Vec::new();
        };
        let mut by_msg: HashMap<&str, [f64; 3]> = HashMap::new();
        let mut items: Vec<(u64, &str)> = Vec::new();
        // Without message ids (a broker that sends none) hops cannot be
        // matched.
        for r in recs.iter().filter(|r| r.msg.starts_with("Some(")) {
            let Some(i) = HOPS.iter().position(|h| *h == r.hop) else {
                continue;
            };
            let e = by_msg.entry(&r.msg).or_insert([f64::NAN; 3]);
            // The first time each hop saw the message.
            if e[i].is_nan() {
                e[i] = r.t;
            }
            if r.hop == "parsed" {
                if let Some(n) = item_number(r.item.as_bytes()) {
                    items.push((n, &r.msg));
                }
            }
        }
        items
            .into_iter()
            .filter_map(|(n, m)| Some((n, *by_msg.get(m)?)))
            .collect()
    }
}

/// Each stretch of the path — publish written → driver → subscription →
/// parsed → consumer — as (name, p50 ms, p99 ms), from the publisher's
/// times, the consumer's, and the hops per item.
pub fn summary(
    published: &[(u64, f64)],
    consumed: &[(u64, f64)],
    hops: &[(u64, [f64; 3])],
) -> Vec<(String, f64, f64)> {
    let sent: HashMap<u64, f64> = published.iter().copied().collect();
    let got: HashMap<u64, f64> = consumed.iter().copied().collect();
    let names = [
        "publish written → driver read (broker, network)",
        "driver → subscription task (session queue)",
        "subscription task → parsed (parse, validate)",
        "parsed → consumer (subscription queue)",
    ];
    let mut stretches: Vec<Vec<f64>> = vec![Vec::new(); names.len()];
    for (n, [d, s, p]) in hops {
        let (Some(&w), Some(&c)) = (sent.get(n), got.get(n)) else {
            continue;
        };
        for (i, (a, b)) in [(w, *d), (*d, *s), (*s, *p), (*p, c)]
            .into_iter()
            .enumerate()
        {
            if a.is_finite() && b.is_finite() {
                stretches[i].push((b - a) * 1000.0);
            }
        }
    }
    names
        .iter()
        .zip(stretches)
        .map(|(name, mut v)| {
            v.sort_by(f64::total_cmp);
            (name.to_string(), percentile(&v, 0.5), percentile(&v, 0.99))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stretches_between_hops() {
        let published = [(1, 10.000), (2, 10.010)];
        let consumed = [(1, 10.005), (2, 10.020)];
        let hops = [(1, [10.001, 10.002, 10.004]), (2, [10.012, 10.013, 10.019])];
        let s = summary(&published, &consumed, &hops);
        assert_eq!(s.len(), 4);
        let ms = |v: f64| (v * 1000.0).round() / 1000.0;
        // publish → driver: 1 and 2 ms.
        assert_eq!((ms(s[0].1), ms(s[0].2)), (2.0, 2.0));
        // subscription → parsed: 2 and 6 ms; p50 of two is the higher.
        assert_eq!(ms(s[2].2), 6.0);
        // parsed → consumer: 1 ms each.
        assert_eq!((ms(s[3].1), ms(s[3].2)), (1.0, 1.0));
    }
}
