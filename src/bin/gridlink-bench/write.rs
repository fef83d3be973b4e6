//! Where a full run's figures go: BENCHMARKS.md's first-screen table (one
//! row per figure, the latest of each) and the run's whole table as a new
//! section of docs/benchmarks-history.md.
//!
//! The table lies between [`START`] and [`END`]. A run replaces the rows
//! whose figure (first cell) it measured and keeps every other row where it
//! is: figures the harness does not measure (the criterion IODEF ratios,
//! memory at counts it was not run with) stay until someone updates them.
//! New figures are added at the end. Lines inside the markers that are not
//! table rows are kept as they are.

use anyhow::bail;

/// Opens the generated table in BENCHMARKS.md.
pub const START: &str = "<!-- bench:table:start -->";
/// Closes it.
pub const END: &str = "<!-- bench:table:end -->";
/// New run sections of the history go right after this line (newest first).
pub const HISTORY_NEXT: &str = "<!-- bench:history:next -->";

const HEADER: &str =
    "| figure | gridlink | ceiling or peer | ratio | target | met | date | machine |";
const RULE: &str = "|---|---|---|---|---|---|---|---|";

/// One row of the first-screen table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableRow {
    /// What was measured; the key a run replaces rows by.
    pub figure: String,
    /// gridlink's figure.
    pub gridlink: String,
    /// What it is compared with, and its figure ("raw ceiling 39 items/s").
    pub versus: String,
    /// gridlink ÷ the comparison ("0.96×"), or "—".
    pub ratio: String,
    /// The target ("≥ 0.9× ceiling"), or "—".
    pub target: String,
    /// "yes", "**no**" or "—".
    pub met: String,
    /// When (UTC) and from what ("2026-11-23 07:54, harness run").
    pub date: String,
    /// The machine and its load at the time.
    pub machine: String,
}

impl TableRow {
    fn cells(&self) -> [&str; 8] {
        [
            &self.figure,
            &self.gridlink,
            &self.versus,
            &self.ratio,
            &self.target,
            &self.met,
            &self.date,
            &self.machine,
        ]
    }

    /// The markdown line (a `|` inside a cell would split it: written `/`).
    pub fn render(&self) -> String {
        let cells: Vec<String> = self.cells().iter().map(|c| c.replace('|', "/")).collect();
        format!("| {} |", cells.join(" | "))
    }

    /// A table line back into a row (None for the header, the rule, or a
    /// line with another number of cells).
    fn parse(line: &str) -> Option<TableRow> {
        let inner = line.trim().strip_prefix('|')?.strip_suffix('|')?;
        let c: Vec<String> = inner.split('|').map(|c| c.trim().to_string()).collect();
        if c.len() != 8 || c[0] == "figure" || c[0].starts_with("---") {
            return None;
        }
        let mut c = c.into_iter();
        let mut next = || c.next().unwrap_or_default();
        Some(TableRow {
            figure: next(),
            gridlink: next(),
            versus: next(),
            ratio: next(),
            target: next(),
            met: next(),
            date: next(),
            machine: next(),
        })
    }
}

/// `doc` with the table between the markers updated by `rows` (see the
/// file's comment). Fails when the markers are missing or out of order:
/// a table written somewhere unexpected would go unnoticed.
pub fn update_table(doc: &str, rows: &[TableRow]) -> anyhow::Result<String> {
    let (Some(s), Some(e)) = (doc.find(START), doc.find(END)) else {
        bail!("no {START} … {END} markers: the table's place is not marked");
    };
    if e < s {
        bail!("{END} comes before {START}");
    }
    let inside = &doc[s + START.len()..e];
    let mut before = Vec::new();
    let mut after = Vec::new();
    let mut kept: Vec<TableRow> = Vec::new();
    for line in inside.lines().filter(|l| !l.trim().is_empty()) {
        if line.trim_start().starts_with('|') {
            kept.extend(TableRow::parse(line));
        } else if kept.is_empty() {
            before.push(line);
        } else {
            after.push(line);
        }
    }
    for row in rows {
        match kept.iter_mut().find(|k| k.figure == row.figure) {
            Some(k) => *k = row.clone(),
            None => kept.push(row.clone()),
        }
    }
    let mut block = String::from("\n");
    for l in &before {
        block.push_str(l);
        block.push_str("\n\n");
    }
    block.push_str(HEADER);
    block.push('\n');
    block.push_str(RULE);
    block.push('\n');
    for r in &kept {
        block.push_str(&r.render());
        block.push('\n');
    }
    for l in &after {
        block.push('\n');
        block.push_str(l);
        block.push('\n');
    }
    Ok(format!("{}{START}{block}{}", &doc[..s], &doc[e..]))
}

/// `doc` with `section` inserted after the [`HISTORY_NEXT`] line (newest
/// first), or appended when the file has no such line.
pub fn add_to_history(doc: &str, section: &str) -> String {
    let section = section.trim_end();
    match doc.find(HISTORY_NEXT) {
        Some(i) => {
            let at = i + HISTORY_NEXT.len();
            format!("{}\n\n{section}\n{}", &doc[..at], &doc[at..])
        }
        None => format!("{}\n\n{section}\n", doc.trim_end()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(figure: &str, gridlink: &str, date: &str) -> TableRow {
        TableRow {
            figure: figure.into(),
            gridlink: gridlink.into(),
            versus: "raw ceiling 39 items/s".into(),
            ratio: "0.96×".into(),
            target: "≥ 0.9× ceiling".into(),
            met: "yes".into(),
            date: date.into(),
            machine: "2 cores, load 5–6".into(),
        }
    }

    fn doc(rows: &[TableRow]) -> String {
        let mut t = format!("# Benchmarks\n\nIntro.\n\n{START}\n{HEADER}\n{RULE}\n");
        for r in rows {
            t.push_str(&r.render());
            t.push('\n');
        }
        t.push_str(&format!("{END}\n\n## Method\n\nKept | as it is.\n"));
        t
    }

    fn table(doc: &str) -> Vec<TableRow> {
        let s = doc.find(START).unwrap();
        let e = doc.find(END).unwrap();
        doc[s..e].lines().filter_map(TableRow::parse).collect()
    }

    #[test]
    fn replaces_measured_rows_keeps_the_others_in_place_and_adds_new_ones() {
        let old = doc(&[
            row("throughput, SQL", "38 items/s", "2026-11-23 07:54"),
            row("IODEF, criterion", "140.1 µs", "2026-11-24 02:41"),
            row("throughput, memory", "119 items/s", "2026-11-23 07:54"),
        ]);
        let new = update_table(
            &old,
            &[
                row("throughput, memory", "130 items/s", "2026-12-07 01:00"),
                row("throughput, SQL", "41 items/s", "2026-12-07 01:00"),
                row("fan-out, SQL", "220/s", "2026-12-07 01:00"),
            ],
        )
        .unwrap();
        assert_eq!(
            table(&new),
            vec![
                row("throughput, SQL", "41 items/s", "2026-12-07 01:00"),
                row("IODEF, criterion", "140.1 µs", "2026-11-24 02:41"),
                row("throughput, memory", "130 items/s", "2026-12-07 01:00"),
                row("fan-out, SQL", "220/s", "2026-12-07 01:00"),
            ]
        );
        // Everything outside the markers is untouched.
        let (s, e) = (new.find(START).unwrap(), new.find(END).unwrap());
        assert_eq!(&new[..s], &old[..old.find(START).unwrap()]);
        assert_eq!(&new[e..], &old[old.find(END).unwrap()..]);
        // Writing the same rows again changes nothing.
        let again = update_table(&new, &table(&new)).unwrap();
        assert_eq!(again, new);
    }

    #[test]
    fn keeps_notes_inside_the_markers() {
        let old = doc(&[row("a", "1", "d")]).replace(
            &format!("{START}\n"),
            &format!("{START}\nA note before.\n\n"),
        );
        let new = update_table(&old, &[row("a", "2", "d2")]).unwrap();
        assert!(new.contains(&format!("{START}\nA note before.\n\n{HEADER}")));
        assert_eq!(table(&new), vec![row("a", "2", "d2")]);
    }

    #[test]
    fn a_pipe_in_a_cell_does_not_split_the_row() {
        let r = row("a | b", "1", "d");
        assert_eq!(TableRow::parse(&r.render()).unwrap().figure, "a / b");
    }

    #[test]
    fn missing_or_reversed_markers_are_an_error() {
        let e = update_table("# Benchmarks\n", &[row("a", "1", "d")]).unwrap_err();
        assert!(e.to_string().contains("markers"), "{e}");
        let reversed = format!("{END}\n{START}\n");
        assert!(update_table(&reversed, &[]).is_err());
    }

    /// The committed files are in the form the writer reads: the table
    /// reads back unchanged, and a run's row replaces its namesake only.
    #[test]
    fn the_committed_benchmarks_md_round_trips() {
        let doc = include_str!("../../../BENCHMARKS.md");
        let rows = table(doc);
        assert!(rows.len() >= 10, "{} rows", rows.len());
        assert_eq!(update_table(doc, &[]).unwrap(), doc);
        assert_eq!(update_table(doc, &rows).unwrap(), doc);
        let mut newer = rows[0].clone();
        newer.gridlink = "40 items/s".into();
        let after = table(&update_table(doc, &[newer.clone()]).unwrap());
        assert_eq!(after[0], newer);
        assert_eq!(after[1..], rows[1..]);
        let history = include_str!("../../../docs/benchmarks-history.md");
        assert!(history.contains(HISTORY_NEXT));
    }

    #[test]
    fn history_sections_go_after_the_marker_newest_first() {
        let h = format!("# History\n\n{HISTORY_NEXT}\n\n## Old round\n\ntext\n");
        let h = add_to_history(&h, "## Run 1\n\nfigures\n");
        let h = add_to_history(&h, "## Run 2\n\nfigures\n");
        let (r2, r1, old) = (
            h.find("## Run 2").unwrap(),
            h.find("## Run 1").unwrap(),
            h.find("## Old round").unwrap(),
        );
        assert!(
            h.find(HISTORY_NEXT).unwrap() < r2 && r2 < r1 && r1 < old,
            "{h}"
        );
        assert!(h.ends_with("## Old round\n\ntext\n"));
        assert_eq!(
            add_to_history("# No marker\n", "## Run\n"),
            "# No marker\n\n## Run\n"
        );
    }
}
