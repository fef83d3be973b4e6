//! The health the index page shows, read back from what the bridge already
//! exposes: its `/metrics` families (written by `crate::metrics`, so the
//! format is ours), the XMPP session state, the store's outbox depth and
//! the follower's per-topic delivery cursor.

use std::collections::BTreeMap;

/// One sample of the Prometheus text: name, labels, value.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Sample {
    pub(crate) name: String,
    pub(crate) labels: BTreeMap<String, String>,
    pub(crate) value: f64,
}

/// The samples of `text` (comments and unreadable lines skipped).
pub(crate) fn samples(text: &str) -> Vec<Sample> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .filter_map(sample)
        .collect()
}

fn sample(line: &str) -> Option<Sample> {
    let (head, value) = line.trim_end().rsplit_once(' ')?;
    let value: f64 = value.parse().ok()?;
    let (name, labels) = match head.split_once('{') {
        None => (head, BTreeMap::new()),
        Some((name, rest)) => (name, labels(rest.strip_suffix('}')?)?),
    };
    Some(Sample {
        name: name.to_owned(),
        labels,
        value,
    })
}

/// `a="x",b="y\"z"` → map (the exposition's escapes `\\`, `\"`, `\n`).
fn labels(mut s: &str) -> Option<BTreeMap<String, String>> {
    let mut out = BTreeMap::new();
    while !s.is_empty() {
        let (key, rest) = s.split_once("=\"")?;
        let mut value = String::new();
        let mut chars = rest.char_indices();
        let end = loop {
            match chars.next()? {
                (i, '"') => break i,
                (_, '\\') => match chars.next()?.1 {
                    'n' => value.push('\n'),
                    c => value.push(c),
                },
                (_, c) => value.push(c),
            }
        };
        out.insert(key.trim_start_matches(',').to_owned(), value);
        s = rest[end + 1..].trim_start_matches(',');
    }
    Some(out)
}

/// One row of the index page's health table.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Row {
    /// What (`poll https://… → topic`, `grid follow`, …).
    pub(crate) component: String,
    /// Whether it looks well.
    pub(crate) ok: bool,
    /// What is known of it, in words.
    pub(crate) detail: String,
}

/// The sources' rows: each polled feed (failures, invalid entries), and
/// the grid follow (notifications dropped, gaps, reconnects).
pub(crate) fn rows(samples: &[Sample]) -> Vec<Row> {
    let get = |name: &'static str| samples.iter().filter(move |s| s.name == name);
    let one = |name: &'static str| get(name).map(|s| s.value).sum::<f64>() as u64;
    let mut out = Vec::new();
    for s in get("gridlink_poll_errors_total") {
        let (Some(src), Some(topic)) = (s.labels.get("source"), s.labels.get("topic")) else {
            continue;
        };
        let same = |name: &'static str| {
            get(name)
                .find(|o| o.labels == s.labels)
                .map_or(0, |o| o.value as u64)
        };
        out.push(Row {
            component: format!("poll {src} → {topic}"),
            ok: s.value == 0.0,
            detail: format!(
                "{} published, {} failed rounds, {} invalid, {} not modified",
                same("gridlink_poll_published_total"),
                s.value as u64,
                same("gridlink_poll_invalid_total"),
                same("gridlink_poll_not_modified_total"),
            ),
        });
    }
    if samples.iter().any(|s| s.name == "gridlink_gaps_total") {
        let (dropped, gaps) = (
            one("gridlink_notifications_dropped_total"),
            one("gridlink_gaps_total"),
        );
        out.push(Row {
            component: "grid follow".into(),
            ok: gaps == 0,
            detail: format!(
                "{} items in, {dropped} notifications dropped (caught up), {gaps} gaps, {} reconnects",
                one("gridlink_items_in_total"),
                one("gridlink_xmpp_reconnects_total"),
            ),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::{Exposition, Kind};

    /// What `crate::metrics` writes, this reads back, escapes included.
    #[test]
    fn reads_back_the_exposition() {
        let mut text = String::new();
        let mut w = Exposition::new(&mut text);
        w.family("gridlink_poll_errors_total", Kind::Counter, "h");
        w.sample(
            "gridlink_poll_errors_total",
            &[("source", "https://x/\"a\\b"), ("topic", "t")],
            3,
        );
        w.family("gridlink_poll_published_total", Kind::Counter, "h");
        w.sample(
            "gridlink_poll_published_total",
            &[("source", "https://x/\"a\\b"), ("topic", "t")],
            7,
        );
        w.single("gridlink_gaps_total", Kind::Counter, "h", 0);
        w.single(
            "gridlink_notifications_dropped_total",
            Kind::Counter,
            "h",
            2,
        );
        let s = samples(&text);
        assert_eq!(s[0].labels["source"], "https://x/\"a\\b");
        let r = rows(&s);
        assert_eq!(r[0].component, "poll https://x/\"a\\b → t");
        assert!(!r[0].ok);
        assert!(
            r[0].detail.starts_with("7 published, 3 failed"),
            "{:?}",
            r[0]
        );
        assert_eq!(r[1].component, "grid follow");
        assert!(r[1].ok && r[1].detail.contains("2 notifications dropped"));
    }
}
