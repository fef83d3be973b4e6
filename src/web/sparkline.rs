//! Arrivals per hour over the last day, drawn as an inline SVG sparkline
//! (markup, not a script or a load: the CSP allows it as it is).

use chrono::{DateTime, Utc};
use maud::{html, Markup};

/// Hours the sparkline covers.
pub(crate) const HOURS: usize = 24;
const WIDTH: usize = 120;
const HEIGHT: usize = 24;

/// How many of `times` fall in each of the last [`HOURS`] hours before
/// `now`, the oldest hour first.
pub(crate) fn per_hour(times: &[DateTime<Utc>], now: DateTime<Utc>) -> [u64; HOURS] {
    let mut buckets = [0u64; HOURS];
    for t in times {
        let age = (now - *t).num_seconds();
        if !(0..(HOURS as i64 * 3600)).contains(&age) {
            continue;
        }
        let hour = (age / 3600) as usize;
        buckets[HOURS - 1 - hour] += 1;
    }
    buckets
}

/// The sparkline of `buckets`: a polyline scaled to the busiest hour, with
/// a `<title>` saying the total for screen readers and tooltips.
pub(crate) fn svg(buckets: &[u64; HOURS]) -> Markup {
    let max = buckets.iter().copied().max().unwrap_or(0).max(1);
    let step = WIDTH as f64 / (HOURS - 1) as f64;
    let points: Vec<String> = buckets
        .iter()
        .enumerate()
        .map(|(i, n)| {
            let y = HEIGHT as f64 - 2.0 - (*n as f64 / max as f64) * (HEIGHT as f64 - 4.0);
            format!("{:.1},{:.1}", i as f64 * step, y)
        })
        .collect();
    let total: u64 = buckets.iter().sum();
    html! {
        svg class="spark" width=(WIDTH) height=(HEIGHT) viewBox=(format!("0 0 {WIDTH} {HEIGHT}"))
            role="img" xmlns="http://www.w3.org/2000/svg" {
            title { (total) " arrivals in the last 24 hours (busiest hour: " (max) ")" }
            polyline fill="none" stroke="currentColor" stroke-width="1.5" points=(points.join(" ")) {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;

    #[test]
    fn buckets_by_hour_oldest_first() {
        let now = Utc::now();
        let times = [
            now - Duration::minutes(5),
            now - Duration::minutes(50),
            now - Duration::minutes(70),
            now - Duration::hours(23) - Duration::minutes(59),
            now - Duration::hours(25),
            now + Duration::minutes(1),
        ];
        let b = per_hour(&times, now);
        assert_eq!(b[HOURS - 1], 2);
        assert_eq!(b[HOURS - 2], 1);
        assert_eq!(b[0], 1);
        assert_eq!(b.iter().sum::<u64>(), 4);
        let s = svg(&b).into_string();
        assert!(s.starts_with("<svg class=\"spark\""), "{s}");
        assert!(s.contains("4 arrivals"), "{s}");
        assert_eq!(s.matches(',').count(), HOURS, "{s}");
    }
}
