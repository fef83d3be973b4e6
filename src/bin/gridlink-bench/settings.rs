//! How much one run measures: the full counts or `--quick`'s.

/// Counts for one run.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Items per publish→notify run.
    pub items: usize,
    /// Raw ceiling / gridlink pairs at full load, alternated
    /// ([`crate::flow::Paired`]).
    pub flow_rounds: usize,
    /// Catch-up backlogs, one topic each: issue 22's 1 000 (its target
    /// row) and 10 000 (how the broker's per-id lookups grow with the
    /// topic on memory storage).
    pub catchup_items: Vec<usize>,
    /// Fan-out subscribers.
    pub fanout_subs: usize,
    /// Items in the fan-out run.
    pub fanout_items: usize,
    /// Topics to discover.
    pub topics: usize,
    /// Memory section: topics and items per topic.
    pub mem_topics: usize,
    pub mem_per_topic: usize,
    /// Seconds per wrk run.
    pub wrk_secs: u64,
    /// wrk runs per side (bridge, nginx), alternated; the median counts.
    pub wrk_rounds: usize,
    /// Seconds per IODEF measurement.
    pub iodef_secs: f64,
}

impl Settings {
    pub fn full() -> Settings {
        Settings {
            items: 10_000,
            flow_rounds: 3,
            catchup_items: vec![1_000, 10_000],
            fanout_subs: 50,
            fanout_items: 1_000,
            topics: 1_000,
            mem_topics: 100,
            mem_per_topic: 1_000,
            wrk_secs: 5,
            wrk_rounds: 3,
            iodef_secs: 2.0,
        }
    }

    pub fn quick() -> Settings {
        Settings {
            items: 100,
            flow_rounds: 1,
            catchup_items: vec![100],
            fanout_subs: 5,
            fanout_items: 30,
            topics: 30,
            mem_topics: 5,
            mem_per_topic: 20,
            wrk_secs: 1,
            wrk_rounds: 1,
            iodef_secs: 0.2,
        }
    }
}
