//! `gridlink subscribe --out DIR` against a real Prosody: every item gets a
//! file of its own, whatever its id (issue 21). Ids that mapped to the same
//! file before (`x/y`, `x_y`) and an id too long for a file name are
//! published with the library, the subscriber is the `gridlink` binary.

mod common;

use std::collections::HashSet;
use std::process::Stdio;
use std::time::Duration;

use common::{grid, gridlink_async, incident, open_topic, prosody};
use gridlink::grid::Payload;

#[tokio::test]
async fn colliding_and_long_ids_land_in_distinct_files() {
    let p = prosody();
    let publisher = grid(&p, "publisher").await;
    open_topic(&publisher, "incidents").await;
    let dir = tempfile::tempdir().unwrap();

    let long = "L".repeat(300);
    let ids = ["x/y", "x_y", long.as_str(), "../x_y", "ünï/cödé"];
    let mut sub = gridlink_async(&p, "subscriber", "subscriber-pw");
    sub.args(["subscribe", "--topic", "incidents", "--format", "xml"])
        .args(["--count", &ids.len().to_string(), "--out"])
        .arg(dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let sub = sub.spawn().unwrap();
    tokio::time::sleep(Duration::from_secs(2)).await;

    for (n, id) in ids.iter().enumerate() {
        let payload = Payload::from_prepared(id.to_string(), incident(1000 + n)).unwrap();
        publisher.publish("incidents", &payload).await.unwrap();
    }
    let out = tokio::time::timeout(Duration::from_secs(30), sub.wait_with_output())
        .await
        .expect("the subscriber did not get every item within 30 s")
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");

    // One file per item, each holding its own incident, nothing left over
    // (no `.tmp`), nothing outside the directory.
    let mut numbers = HashSet::new();
    let mut files = 0;
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name().into_string().unwrap();
        assert!(name.ends_with(".xml"), "{name}");
        assert!(name.len() < 200, "{name}");
        let body = std::fs::read_to_string(entry.path()).unwrap();
        let n = (1000..1000 + ids.len())
            .find(|n| body.contains(&format!(">{n}</IncidentID>")))
            .unwrap_or_else(|| panic!("{name} holds no incident of the test: {body}"));
        numbers.insert(n);
        files += 1;
    }
    assert_eq!(files, ids.len(), "{stderr}");
    assert_eq!(numbers.len(), ids.len(), "an item replaced another");
    assert!(
        dir.path().join("x_y.xml").exists(),
        "a safe id keeps its name"
    );
    assert!(!dir.path().parent().unwrap().join("x_y.xml").exists());
}
