//! IODEF throughput: parse+validate and XML→JSON, beside a raw quick-xml event scan of the same bytes
//! (the ceiling). Run: `cargo bench --bench iodef`. Prints the ratios at the end.

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{criterion_group, Criterion, Throughput};
use quick_xml::events::Event;
use quick_xml::Reader;

/// The RFC examples (and gridlink's rich example) as one corpus.
const CORPUS: &[&str] = &[
    include_str!("../tests/fixtures/iodef/valid/rfc7970-sec7.1-minimal.xml"),
    include_str!("../tests/fixtures/iodef/valid/rfc8274-appB.1-malware-delivery-url.xml"),
    include_str!("../tests/fixtures/iodef/valid/rfc8274-appB.3-spear-phishing.xml"),
    include_str!("../tests/fixtures/iodef/valid/rfc8274-appB.5-iot-malware.xml"),
    include_str!(
        "../tests/fixtures/iodef/xsd-disagree/rfc7970-sec7.2-indicators-from-campaign.xml"
    ),
    include_str!("../tests/fixtures/iodef/xsd-disagree/rfc8274-appB.2-ddos.xml"),
    include_str!("../tests/fixtures/iodef/xsd-disagree/rfc8274-appB.4-malware.xml"),
    include_str!("../tests/fixtures/iodef/valid/gridlink-rich.xml"),
];

fn total_bytes() -> u64 {
    CORPUS.iter().map(|d| d.len() as u64).sum()
}

/// The ceiling: every event of every document, nothing built.
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

/// XML bytes in, RFC 8727 JSON text out (what `gridlink iodef convert`, the bridge and a SIEM sink need).
fn xml_to_json() -> usize {
    CORPUS
        .iter()
        .filter_map(|d| gridlink::iodef::parse(d.as_bytes()).ok())
        .map(|doc| doc.to_json_string().len())
        .sum()
}

/// XML bytes in, a `serde_json::Value` out (no text): the measure used before 2026-11-23, kept for
/// comparison.
fn xml_to_json_value() -> usize {
    CORPUS
        .iter()
        .filter_map(|d| gridlink::iodef::parse(d.as_bytes()).ok())
        .map(|doc| doc.to_json().as_object().map(|o| o.len()).unwrap_or(0))
        .sum()
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("iodef");
    g.throughput(Throughput::Bytes(total_bytes()));
    g.bench_function("quick-xml scan (ceiling)", |b| b.iter(scan));
    g.bench_function("parse+validate", |b| b.iter(parse_validate));
    g.bench_function("xml->json", |b| b.iter(xml_to_json));
    g.bench_function("xml->json Value", |b| b.iter(xml_to_json_value));
    g.finish();
}

/// MB/s of `f` over about half a second.
fn mbps(f: fn() -> usize) -> f64 {
    let start = Instant::now();
    let mut iters = 0u64;
    while start.elapsed() < Duration::from_millis(500) {
        black_box(f());
        iters += 1;
    }
    (total_bytes() * iters) as f64 / start.elapsed().as_secs_f64() / 1e6
}

fn parse_only() -> usize {
    CORPUS
        .iter()
        .filter_map(|d| gridlink::iodef::parse(d.as_bytes()).ok())
        .count()
}

fn ratios() {
    let ceiling = mbps(scan);
    let pv = mbps(parse_validate);
    let js = mbps(xml_to_json);
    let po = mbps(parse_only);
    let jv = mbps(xml_to_json_value);
    println!(
        "\nIODEF throughput over {} bytes of RFC examples:",
        total_bytes()
    );
    println!("  quick-xml event scan   {ceiling:8.1} MB/s (ceiling)");
    println!(
        "  parse+validate         {pv:8.1} MB/s  ratio {:.2}",
        pv / ceiling
    );
    println!(
        "  XML -> RFC 8727 JSON   {js:8.1} MB/s  ratio {:.2}  (JSON text)",
        js / ceiling
    );
    println!(
        "  (parse alone           {po:8.1} MB/s  ratio {:.2})",
        po / ceiling
    );
    println!(
        "  (XML -> JSON Value     {jv:8.1} MB/s  ratio {:.2})",
        jv / ceiling
    );
}

criterion_group!(benches, bench);

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
    ratios();
}
