//! Section 6: IODEF parse+validate and XML→JSON throughput beside a raw
//! quick-xml event scan of the same bytes: the criterion bench's corpus and
//! functions (`benches/support/iodef_corpus.rs`, included by path), run
//! here too so that one harness run gives every figure.

use std::time::Duration;

use crate::report::Report;

// The criterion bench's own measurement, so both give the same figures.
// This section reports three of its functions; the others are the bench's.
#[allow(dead_code)]
#[path = "../../../benches/support/iodef_corpus.rs"]
mod corpus;
use corpus::{mbps, parse_validate, scan, xml_to_json};

/// Adds the section's rows.
pub fn run(secs: f64, report: &mut Report) {
    let d = Duration::from_secs_f64(secs);
    let ceiling = mbps(scan, d);
    let pv = mbps(parse_validate, d);
    let json = mbps(xml_to_json, d);
    let sec = "6 IODEF (RFC examples)";
    report.add(
        sec,
        "quick-xml raw event scan",
        format!("{ceiling:.0} MB/s"),
    );
    report
        .add(sec, "parse + validate (strict)", format!("{pv:.0} MB/s"))
        .ceiling(pv / ceiling)
        .target("≥ 0.3× scan", pv >= 0.3 * ceiling)
        .headline(
            "IODEF parse + validate ÷ quick-xml scan, harness (MB/s)".into(),
            format!("{pv:.0} MB/s"),
            format!("scan {ceiling:.0} MB/s"),
            Some(pv / ceiling),
        );
    report.print_last();
    report
        .add(sec, "XML → RFC 8727 JSON text", format!("{json:.0} MB/s"))
        .ceiling(json / ceiling)
        .target("≥ 0.3× scan", json >= 0.3 * ceiling)
        .headline(
            "IODEF XML → RFC 8727 JSON ÷ quick-xml scan, harness (MB/s)".into(),
            format!("{json:.0} MB/s"),
            format!("scan {ceiling:.0} MB/s"),
            Some(json / ceiling),
        );
    report.print_last();
}
