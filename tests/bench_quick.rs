//! Keeps the benchmark harness working: `gridlink-bench --quick` runs every
//! section with small counts against its own Prosody, slixmpp, nginx and wrk.
//! Its figures are meaningless and nothing is asserted about them (targets
//! live in BENCHMARKS.md, measured by a full release run: scripts/bench).
//! A missing tool fails with the harness's message, never a skip.

mod common;

use common::{gridlink_bench, GRIDLINK_BIN};

#[test]
fn bench_quick_runs_every_section() {
    let out = gridlink_bench()
        .arg("--quick")
        .arg("--gridlink")
        .arg(GRIDLINK_BIN)
        .output()
        .expect("run gridlink-bench");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "gridlink-bench --quick failed ({}):\n{stderr}\n{stdout}",
        out.status
    );
    for section in [
        "1 publish→notify (sql)",
        "2 fan-out",
        "3 catch-up",
        "4 discovery",
        "5 ROLIE",
        "6 IODEF",
        "7 memory",
        "8 publish→notify, ejabberd cluster",
    ] {
        assert!(
            stdout.contains(section),
            "no {section:?} rows in the table:\n{stdout}"
        );
    }
}
