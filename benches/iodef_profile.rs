//! Profiling driver for the IODEF bench: runs N passes of one measure over the bench's corpus
//! (`support/iodef_corpus.rs`), so that callgrind or cachegrind can count one measure alone.
//!
//! `cargo bench --bench iodef_profile -- MEASURE N`, or under valgrind the built binary:
//! `valgrind --tool=callgrind target/release/deps/iodef_profile-* MEASURE 200`. Measures:
//! `scan` (the quick-xml ceiling), `parse`, `validate` and `json` (strict validation /
//! `to_json_string` of documents parsed once before the passes), `pv` (parse + validate, the
//! bench's measure) and `xj` (XML → JSON text, the bench's measure), `none` (only the set-up).
//! Instructions per pass: (count for N passes − count for `none`) / N, or the difference of two
//! pass counts divided by their difference. The set-up parse runs for every measure, so `none`
//! is the common base.
//!
//! Not a benchmark: `bench = false` in Cargo.toml keeps it out of a plain `cargo bench`.

use std::hint::black_box;

#[path = "support/iodef_corpus.rs"]
#[allow(dead_code)]
mod corpus;
use corpus::*;

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    let measure = args.first().map(String::as_str).unwrap_or("pv");
    let n: usize = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(200);
    // Documents parsed once, for the measures that start from a tree.
    let docs: Vec<gridlink::iodef::Document> = CORPUS
        .iter()
        .filter_map(|d| gridlink::iodef::parse(d.as_bytes()).ok())
        .collect();
    let mut total = 0usize;
    for _ in 0..n {
        total += match measure {
            "scan" => scan(),
            "parse" => parse_only(),
            "validate" => docs.iter().map(|d| black_box(d).validate().len()).sum(),
            "json" => docs
                .iter()
                .map(|d| black_box(d).to_json_string().len())
                .sum(),
            "pv" => parse_validate(),
            "xj" => xml_to_json(),
            "none" => 0,
            other => {
                eprintln!("unknown measure {other:?}: scan parse validate json pv xj none");
                std::process::exit(2);
            }
        };
    }
    println!("{measure} x{n}: {total}");
}
