//! The result table and where it goes: printed always, written into
//! BENCHMARKS.md (between markers, the rest of the file kept) by full runs.

use std::fmt::Write as _;
use std::path::Path;

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
}

const BEGIN: &str = "<!-- gridlink-bench:begin -->";
const END: &str = "<!-- gridlink-bench:end -->";

/// Replaces the generated block of `path` (or appends one).
pub fn write_into(path: &Path, header: &str, body: &str) -> anyhow::Result<()> {
    let old = std::fs::read_to_string(path).unwrap_or_default();
    let block = format!("{BEGIN}\n{header}\n\n{body}{END}");
    let new = match (old.find(BEGIN), old.find(END)) {
        (Some(b), Some(e)) if e > b => format!("{}{block}{}", &old[..b], &old[e + END.len()..]),
        _ => format!("{}\n{block}\n", old.trim_end()),
    };
    std::fs::write(path, new)?;
    Ok(())
}
