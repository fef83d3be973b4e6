//! IODEF throughput: parse+validate and XML→JSON, beside a raw quick-xml event scan of the same bytes
//! (the ceiling). Run: `cargo bench --bench iodef`. Prints the ratios at the end.

use std::time::Duration;

use criterion::{criterion_group, Criterion, Throughput};

#[path = "support/iodef_corpus.rs"]
mod corpus;
use corpus::*;

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("iodef");
    g.throughput(Throughput::Bytes(total_bytes()));
    g.bench_function("quick-xml scan (ceiling)", |b| b.iter(scan));
    g.bench_function("parse+validate", |b| b.iter(parse_validate));
    g.bench_function("xml->json", |b| b.iter(xml_to_json));
    g.bench_function("xml->json Value", |b| b.iter(xml_to_json_value));
    g.finish();
}

fn ratios() {
    let half = Duration::from_millis(500);
    let ceiling = mbps(scan, half);
    let pv = mbps(parse_validate, half);
    let js = mbps(xml_to_json, half);
    let po = mbps(parse_only, half);
    let jv = mbps(xml_to_json_value, half);
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
