//! A run's results: every row, printed as one markdown table; the rows that
//! carry a headline become the run's rows of BENCHMARKS.md's first-screen
//! table (`write.rs` puts them there).

use std::fmt::Write as _;

use crate::write::TableRow;

/// One figure.
#[derive(Debug, Clone)]
pub struct Row {
    /// Section (e.g. "1 publish→notify (sql)").
    pub section: String,
    /// What was measured, by whom.
    pub what: String,
    /// The figure with its unit.
    pub value: String,
    /// Ratio to the raw ceiling.
    pub vs_ceiling: Option<f64>,
    /// Ratio to the peer (slixmpp, nginx, …).
    pub vs_peer: Option<f64>,
    /// The target, as written in issue 7.
    pub target: String,
    /// Whether it was met (None: no target).
    pub met: Option<bool>,
    /// Its row on BENCHMARKS.md's first screen, if it has one.
    pub headline: Option<Headline>,
}

/// How a [`Row`] appears on BENCHMARKS.md's first screen.
#[derive(Debug, Clone)]
pub struct Headline {
    /// The figure's name: the key that a later run replaces the row by, so
    /// it names what changes the figure's meaning (storage, counts) and
    /// nothing that does not.
    pub figure: String,
    /// gridlink's figure alone (the row's value may hold more).
    pub gridlink: String,
    /// The comparison and its figure.
    pub versus: String,
    /// gridlink ÷ the comparison.
    pub ratio: Option<f64>,
}

/// All rows of a run.
#[derive(Debug, Default)]
pub struct Report {
    pub rows: Vec<Row>,
    pub notes: Vec<String>,
}

impl Report {
    /// Adds a row without target.
    pub fn add(&mut self, section: &str, what: &str, value: String) -> &mut Row {
        self.rows.push(Row {
            section: section.into(),
            what: what.into(),
            value,
            vs_ceiling: None,
            vs_peer: None,
            target: String::new(),
            met: None,
            headline: None,
        });
        // Just pushed.
        let last = self.rows.len() - 1;
        &mut self.rows[last]
    }

    /// Prints one row as soon as it is known (long runs show progress).
    pub fn print_last(&self) {
        if let Some(r) = self.rows.last() {
            eprintln!("  {} | {} | {}", r.section, r.what, r.value);
        }
    }

    /// The markdown table.
    pub fn markdown(&self) -> String {
        let mut s = String::new();
        s.push_str("| section | what | figure | × ceiling | × peer | target | met |\n");
        s.push_str("|---|---|---|---|---|---|---|\n");
        let f = |r: Option<f64>| r.map(|v| format!("{v:.2}")).unwrap_or_default();
        for r in &self.rows {
            let met = match r.met {
                Some(true) => "yes",
                Some(false) => "**no**",
                None => "",
            };
            let _ = writeln!(
                s,
                "| {} | {} | {} | {} | {} | {} | {} |",
                r.section,
                r.what,
                r.value,
                f(r.vs_ceiling),
                f(r.vs_peer),
                r.target,
                met
            );
        }
        for n in &self.notes {
            let _ = writeln!(s, "\n{n}");
        }
        s
    }

    /// The first-screen rows of this run, measured at `date` on `machine`.
    /// On a `loaded` machine (other work running) a met target is labelled
    /// as such: such a figure is no evidence either way.
    pub fn table_rows(&self, date: &str, machine: &str, loaded: bool) -> Vec<TableRow> {
        let dash = || "—".to_string();
        self.rows
            .iter()
            .filter_map(|r| {
                let h = r.headline.as_ref()?;
                Some(TableRow {
                    figure: h.figure.clone(),
                    gridlink: h.gridlink.clone(),
                    versus: h.versus.clone(),
                    ratio: h.ratio.map(|v| format!("{v:.2}×")).unwrap_or_else(dash),
                    target: if r.target.is_empty() {
                        dash()
                    } else {
                        r.target.clone()
                    },
                    met: match (r.met, loaded) {
                        (Some(true), false) => "yes".into(),
                        (Some(false), false) => "**no**".into(),
                        (Some(true), true) => "yes, on a loaded machine (not evidence)".into(),
                        (Some(false), true) => "**no**, on a loaded machine".into(),
                        (None, _) => dash(),
                    },
                    date: date.into(),
                    machine: machine.into(),
                })
            })
            .collect()
    }
}

impl Row {
    /// Sets the ratio to the ceiling.
    pub fn ceiling(&mut self, r: f64) -> &mut Row {
        self.vs_ceiling = Some(r);
        self
    }
    /// Sets the ratio to the peer.
    pub fn peer(&mut self, r: f64) -> &mut Row {
        self.vs_peer = Some(r);
        self
    }
    /// Sets the target and whether it was met.
    pub fn target(&mut self, t: &str, met: bool) -> &mut Row {
        self.target = t.into();
        self.met = Some(met);
        self
    }
    /// Puts the row on BENCHMARKS.md's first screen (see [`Headline`]).
    pub fn headline(
        &mut self,
        figure: String,
        gridlink: String,
        versus: String,
        ratio: Option<f64>,
    ) -> &mut Row {
        self.headline = Some(Headline {
            figure,
            gridlink,
            versus,
            ratio,
        });
        self
    }
}

/// `n` with its thousands apart ("100 000"), as the figures' names have them.
pub fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(' ');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_with_a_headline_become_table_rows() {
        let mut r = Report::default();
        r.add(
            "1 publish→notify (sql)",
            "raw ceiling: throughput",
            "39 items/s".into(),
        );
        r.add(
            "1 publish→notify (sql)",
            "gridlink: throughput",
            "38 items/s".into(),
        )
        .ceiling(38.0 / 39.0)
        .target("≥ 0.9× ceiling", true)
        .headline(
            "publish→notify throughput, SQL storage".into(),
            "38 items/s".into(),
            "raw ceiling 39 items/s".into(),
            Some(38.0 / 39.0),
        );
        r.add("2 fan-out", "gridlink", "218/s".into()).headline(
            "fan-out".into(),
            "218/s".into(),
            "raw ceiling 477/s".into(),
            None,
        );
        let t = r.table_rows("2026-12-07 01:00, harness run", "2 cores", false);
        assert_eq!(t.len(), 2);
        assert_eq!(t[0].ratio, "0.97×");
        assert_eq!(
            (t[0].target.as_str(), t[0].met.as_str()),
            ("≥ 0.9× ceiling", "yes")
        );
        assert_eq!(
            (t[1].ratio.as_str(), t[1].target.as_str(), t[1].met.as_str()),
            ("—", "—", "—")
        );
        assert_eq!(t[1].date, "2026-12-07 01:00, harness run");
        // A loaded machine's "yes" is labelled.
        let t = r.table_rows("d", "2 cores, load 6", true);
        assert_eq!(t[0].met, "yes, on a loaded machine (not evidence)");
        assert_eq!(t[1].met, "—");
    }

    #[test]
    fn thousands_are_spaced() {
        assert_eq!(thousands(7), "7");
        assert_eq!(thousands(1000), "1 000");
        assert_eq!(thousands(100_000), "100 000");
        assert_eq!(thousands(1_234_567), "1 234 567");
    }
}
