//! The IODEF throughput measurement shared by the criterion bench
//! (`benches/iodef.rs`) and section 6 of `gridlink-bench`, so that both
//! measure the same corpus the same way. Included by path (`#[path]`) into
//! both targets; it is not a bench target of its own (cargo looks for bench
//! targets only directly in `benches/`).

use std::hint::black_box;
use std::time::{Duration, Instant};

use quick_xml::events::Event;
use quick_xml::Reader;

/// The RFC examples (and gridlink's rich example) as one corpus.
pub const CORPUS: &[&str] = &[
    include_str!("../../tests/fixtures/iodef/valid/rfc7970-sec7.1-minimal.xml"),
    include_str!("../../tests/fixtures/iodef/valid/rfc8274-appB.1-malware-delivery-url.xml"),
    include_str!("../../tests/fixtures/iodef/valid/rfc8274-appB.3-spear-phishing.xml"),
    include_str!("../../tests/fixtures/iodef/valid/rfc8274-appB.5-iot-malware.xml"),
    include_str!(
        "../../tests/fixtures/iodef/xsd-disagree/rfc7970-sec7.2-indicators-from-campaign.xml"
    ),
    include_str!("../../tests/fixtures/iodef/xsd-disagree/rfc8274-appB.2-ddos.xml"),
    include_str!("../../tests/fixtures/iodef/xsd-disagree/rfc8274-appB.4-malware.xml"),
    include_str!("../../tests/fixtures/iodef/valid/gridlink-rich.xml"),
];

/// The corpus's size in bytes.
pub fn total_bytes() -> u64 {
    CORPUS.iter().map(|d| d.len() as u64).sum()
}

/// The ceiling: every event of every document, nothing built.
pub fn scan() -> usize {
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

/// Parse and strict validation.
pub fn parse_validate() -> usize {
    CORPUS
        .iter()
        .map(|d| {
            gridlink::iodef::parse(d.as_bytes())
                .map(|doc| doc.validate().len())
                .unwrap_or(0)
        })
        .sum()
}

/// XML bytes in, RFC 8727 JSON text out (what the bridge serves as an
/// entry's JSON form and a SIEM sink needs).
pub fn xml_to_json() -> usize {
    CORPUS
        .iter()
        .filter_map(|d| gridlink::iodef::parse(d.as_bytes()).ok())
        .map(|doc| doc.to_json_string().len())
        .sum()
}

/// XML bytes in, a `serde_json::Value` out (no text): the measure used
/// before 2026-11-23, kept for comparison.
pub fn xml_to_json_value() -> usize {
    CORPUS
        .iter()
        .filter_map(|d| gridlink::iodef::parse(d.as_bytes()).ok())
        .map(|doc| doc.to_json().as_object().map(|o| o.len()).unwrap_or(0))
        .sum()
}

/// Parse alone.
pub fn parse_only() -> usize {
    CORPUS
        .iter()
        .filter_map(|d| gridlink::iodef::parse(d.as_bytes()).ok())
        .count()
}

/// MB/s of `f` over about `for_` (after one warm-up call).
pub fn mbps(f: fn() -> usize, for_: Duration) -> f64 {
    black_box(f());
    let start = Instant::now();
    let mut iters = 0u64;
    while start.elapsed() < for_ {
        black_box(f());
        iters += 1;
    }
    (total_bytes() * iters) as f64 / start.elapsed().as_secs_f64() / 1e6
}
