//! The CSAF 2.0 §6.1 mandatory tests within each vulnerability: one score
//! per CVSS version and product (6.1.7), involvements defined once
//! (6.1.24), remediations and flags that name products (6.1.29, 6.1.32),
//! one VEX justification flag per product (6.1.33).

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

fn arr(v: Option<&Value>) -> &[Value] {
    v.and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[])
}

fn strs(v: Option<&Value>) -> impl Iterator<Item = &str> {
    arr(v).iter().filter_map(Value::as_str)
}

/// Runs the tests; `groups` maps each product group id to its products.
pub fn run(doc: &Value, groups: &BTreeMap<String, Vec<String>>, out: &mut Vec<String>) {
    for (i, v) in arr(doc.get("vulnerabilities")).iter().enumerate() {
        // 6.1.7: (product, CVSS version) once.
        let mut scored = BTreeSet::new();
        for s in arr(v.get("scores")) {
            let versions = [
                s.get("cvss_v2").map(|_| "2.0".to_string()),
                s.pointer("/cvss_v3/version")
                    .and_then(Value::as_str)
                    .map(String::from),
            ];
            for p in strs(s.get("products")) {
                for ver in versions.iter().flatten() {
                    if !scored.insert((p, ver.clone())) {
                        out.push(format!(
                            "6.1.7: product {p:?} has more than one CVSS {ver} score in /vulnerabilities/{i}"
                        ));
                    }
                }
            }
        }
        // 6.1.24: (party, date) once.
        let mut involved = BTreeSet::new();
        for x in arr(v.get("involvements")) {
            let key = (
                x.get("party").and_then(Value::as_str),
                x.get("date").and_then(Value::as_str),
            );
            if let (Some(party), Some(date)) = key {
                if !involved.insert(key) {
                    out.push(format!(
                        "6.1.24: /vulnerabilities/{i} has more than one involvement of {party:?} at {date}"
                    ));
                }
            }
        }
        // 6.1.29 and 6.1.32.
        for (list, test) in [("remediations", "6.1.29"), ("flags", "6.1.32")] {
            for (j, x) in arr(v.get(list)).iter().enumerate() {
                if x.get("product_ids").is_none() && x.get("group_ids").is_none() {
                    out.push(format!(
                        "{test}: /vulnerabilities/{i}/{list}/{j} names no product_ids or group_ids"
                    ));
                }
            }
        }
        // 6.1.33: each product in one flag at most, directly or by group.
        let mut flagged = BTreeSet::new();
        for x in arr(v.get("flags")) {
            let mut products: BTreeSet<&str> = strs(x.get("product_ids")).collect();
            for g in strs(x.get("group_ids")) {
                products.extend(groups.get(g).into_iter().flatten().map(String::as_str));
            }
            for p in products {
                if !flagged.insert(p) {
                    out.push(format!(
                        "6.1.33: product {p:?} is in more than one flag of /vulnerabilities/{i}"
                    ));
                }
            }
        }
    }
}
