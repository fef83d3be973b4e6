//! `gridlink::memory::release_free_memory` gives free heap pages back.
//! A test file of its own: it reads its own process's RSS, which other
//! tests' allocations in the same process would blur.

/// Anonymous resident memory of this process, in KiB.
fn rss_anon_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("RssAnon:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("RssAnon in /proc/self/status")
}

/// 64 MiB in 4 KiB blocks, seven of every eight freed: the freed runs lie
/// between kept blocks, not at the top of the heap, so malloc keeps them;
/// the trim hands most of them back.
#[test]
fn freed_heap_pages_go_back_to_the_system() {
    let mut blocks: Vec<Vec<u8>> = (0..16_384).map(|i| vec![i as u8; 4096]).collect();
    let mut kept = Vec::with_capacity(blocks.len() / 8);
    for (i, b) in blocks.drain(..).enumerate() {
        if i % 8 == 0 {
            kept.push(b);
        }
    }
    let before = rss_anon_kib();
    gridlink::memory::release_free_memory();
    let after = rss_anon_kib();
    println!("RssAnon before {before} KiB, after {after} KiB");
    // 56 MiB were freed; at least half of it must have left the process.
    assert!(
        before.saturating_sub(after) >= 28 * 1024,
        "the trim returned {} KiB of 56 MiB freed",
        before.saturating_sub(after)
    );
    assert_eq!(kept.len(), 2048);
    assert!(kept
        .iter()
        .enumerate()
        .all(|(i, b)| b[4095] == (8 * i) as u8));
}
