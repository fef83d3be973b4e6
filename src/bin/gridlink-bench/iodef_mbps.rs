//! Section 6: IODEF parse+validate and XML→JSON throughput beside a raw
//! quick-xml event scan of the same bytes, on the corpus of
//! `benches/iodef.rs` (the criterion bench; this is the same measurement,
//! repeated here so that one run gives every figure).

use std::hint::black_box;
use std::time::{Duration, Instant};

use quick_xml::events::Event;
use quick_xml::Reader;

use crate::report::Report;

const CORPUS: &[&str] = &[
    include_str!("../../../tests/fixtures/iodef/valid/rfc7970-sec7.1-minimal.xml"),
    include_str!("../../../tests/fixtures/iodef/valid/rfc8274-appB.1-malware-delivery-url.xml"),
    include_str!("../../../tests/fixtures/iodef/valid/rfc8274-appB.3-spear-phishing.xml"),
    include_str!("../../../tests/fixtures/iodef/valid/rfc8274-appB.5-iot-malware.xml"),
    include_str!(
        "../../../tests/fixtures/iodef/xsd-disagree/rfc7970-sec7.2-indicators-from-campaign.xml"
    ),
    include_str!("../../../tests/fixtures/iodef/xsd-disagree/rfc8274-appB.2-ddos.xml"),
    include_str!("../../../tests/fixtures/iodef/xsd-disagree/rfc8274-appB.4-malware.xml"),
    include_str!("../../../tests/fixtures/iodef/valid/gridlink-rich.xml"),
];

fn scan() -> usize {
    let mut n = 0;
    for doc in CORPUS {
        let mut r = Reader::from_str(doc);
        loop {
            match r.read_event() {
                Ok(Event::Eof) | Err(_) => break,
                Ok(e) => n += black_box(&e).len(),
            }
        }
    }
    n
}

fn parse_validate() -> usize {
    CORPUS
        .iter()
        .map(|d| {
            gridlink::iodef::parse(d.as_bytes())
                .map(|doc| doc.validate().len())
                .unwrap_or(0)
        })
        .sum()
}

/// XML bytes in, RFC 8727 JSON text out, as the criterion bench measures it
/// (the JSON form the bridge serves). Until 2026-11-23 this section
/// built a `serde_json::Value` instead (the criterion bench keeps that as
/// "xml->json Value"), which is slower than writing the text.
fn xml_to_json() -> usize {
    CORPUS
        .iter()
        .filter_map(|d| gridlink::iodef::parse(d.as_bytes()).ok())
        .map(|doc| doc.to_json_string().len())
        .sum()
}

fn mbps(f: fn() -> usize, for_: Duration) -> f64 {
    let bytes: usize = CORPUS.iter().map(|d| d.len()).sum();
    black_box(f()); // warm-up
    let start = Instant::now();
    let mut iters = 0u64;
    while start.elapsed() < for_ {
        black_box(f());
        iters += 1;
    }
    (bytes as u64 * iters) as f64 / start.elapsed().as_secs_f64() / 1e6
}

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
        .target("≥ 0.3× scan", pv >= 0.3 * ceiling);
    report.print_last();
    report
        .add(sec, "XML → RFC 8727 JSON text", format!("{json:.0} MB/s"))
        .ceiling(json / ceiling)
        .target("≥ 0.3× scan", json >= 0.3 * ceiling);
    report.print_last();
}
