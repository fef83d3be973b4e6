//! The CSAF 2.0 §6.1 mandatory tests that can be checked offline and
//! without a CVSS calculator: product and group ids defined exactly once
//! (6.1.1, 6.1.2, 6.1.4, 6.1.5) and not circular (6.1.3), no contradicting
//! product status (6.1.6), translator and translation languages (6.1.15,
//! 6.1.28), unique revision numbers (6.1.22), CVEs (6.1.23) and hash
//! algorithms (6.1.25), no prohibited category (6.1.26) or version range
//! in a product version (6.1.31), and the profile tests of 6.1.27 (1–11);
//! the tracking tests are in `csaf_tracking.rs`, those within each
//! vulnerability in `csaf_vuln_tests.rs`, the CVSS computation and
//! consistency tests (6.1.9, 6.1.10) in `csaf_cvss.rs`; PURLs (6.1.13) are
//! parsed in the product tree walk. Not implemented: the tests that need a
//! registry (6.1.11 CWE, 6.1.12 language tags; see `docs/payload-types.md`).

use std::collections::{BTreeMap, BTreeSet};
use std::str::FromStr;

use serde_json::Value;

/// Runs the tests; each failure is one line naming the test.
pub fn run(doc: &Value) -> Vec<String> {
    let mut out = Vec::new();
    let products = defined_products(doc, &mut out);
    let groups = defined_groups(doc, &mut out);
    for (path, id) in product_refs(doc) {
        if !products.contains(&id) {
            out.push(format!(
                "6.1.1: product id {id:?} at {path} is not defined in the product tree"
            ));
        }
    }
    for (path, id) in group_refs(doc) {
        if !groups.contains_key(&id) {
            out.push(format!(
                "6.1.4: product group id {id:?} at {path} is not defined"
            ));
        }
    }
    contradicting_status(doc, &mut out);
    unique(
        doc.pointer("/document/tracking/revision_history"),
        "number",
        "6.1.22: revision number",
        &mut out,
    );
    unique(doc.get("vulnerabilities"), "cve", "6.1.23: CVE", &mut out);
    profile(doc, &groups, &mut out);
    circular(doc, &mut out);
    languages(doc, &mut out);
    category(doc, &mut out);
    product_tree_walk(doc, &mut out);
    super::csaf_tracking::run(doc, &mut out);
    super::csaf_vuln_tests::run(doc, &groups, &mut out);
    super::csaf_cvss::run(doc, &mut out);
    out
}

/// 6.1.3: a relationship's product must not be defined through itself.
fn circular(doc: &Value, out: &mut Vec<String>) {
    let mut parts: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for r in arr(doc.pointer("/product_tree/relationships")) {
        if let Some(id) = r
            .pointer("/full_product_name/product_id")
            .and_then(Value::as_str)
        {
            let refs = ["product_reference", "relates_to_product_reference"]
                .iter()
                .filter_map(|k| r.get(*k).and_then(Value::as_str));
            parts.entry(id).or_default().extend(refs);
        }
    }
    for (&id, refs) in &parts {
        // Depth-first over the references, each id once: a loop, bounded
        // by the number of relationships.
        let mut seen = BTreeSet::new();
        let mut pending: Vec<&str> = refs.clone();
        while let Some(r) = pending.pop() {
            if r == id {
                out.push(format!(
                    "6.1.3: product id {id:?} is defined through itself"
                ));
                break;
            }
            if seen.insert(r) {
                pending.extend(parts.get(r).into_iter().flatten());
            }
        }
    }
}

/// 6.1.15 and 6.1.28.
fn languages(doc: &Value, out: &mut Vec<String>) {
    let d = |k: &str| {
        doc.pointer(&format!("/document/{k}"))
            .and_then(Value::as_str)
    };
    if d("publisher/category") == Some("translator") && d("source_lang").is_none() {
        out.push("6.1.15: a translator's document has no /document/source_lang".into());
    }
    if let (Some(lang), Some(source)) = (d("lang"), d("source_lang")) {
        if lang.eq_ignore_ascii_case(source) {
            out.push(format!(
                "6.1.28: /document/lang and /document/source_lang are both {lang:?}"
            ));
        }
    }
}

/// 6.1.26: a category of its own must not look like a profile's.
fn category(doc: &Value, out: &mut Vec<String>) {
    const PROFILES: [&str; 5] = [
        "csaf_base",
        "csaf_security_incident_response",
        "csaf_informational_advisory",
        "csaf_security_advisory",
        "csaf_vex",
    ];
    let Some(c) = doc.pointer("/document/category").and_then(Value::as_str) else {
        return;
    };
    if PROFILES.contains(&c) {
        return;
    }
    let norm = |s: &str| -> String {
        s.chars()
            .filter(|ch| !matches!(ch, '-' | '_' | '\u{2010}' | '\u{2212}') && !ch.is_whitespace())
            .collect::<String>()
            .to_lowercase()
    };
    let n = norm(c);
    let like = PROFILES[1..]
        .iter()
        .any(|p| n == norm(p) || n == norm(&p["csaf_".len()..]));
    if like || c.to_lowercase().starts_with("csaf_") {
        out.push(format!(
            "6.1.26: the document category {c:?} is reserved (a CSAF profile's name or prefix)"
        ));
    }
}

/// 6.1.13 (every `purl` of a product identification helper), 6.1.25
/// (every `file_hashes` list, wherever a product is defined) and 6.1.31
/// (`product_version` branches), in one walk of the product tree.
fn product_tree_walk(doc: &Value, out: &mut Vec<String>) {
    const RANGE_WORDS: [&str; 7] = [
        "after", "all", "before", "earlier", "later", "prior", "versions",
    ];
    // The nesting is bounded (64 levels, checked before parsing); a loop
    // all the same.
    let mut pending: Vec<(&Value, String)> = doc
        .get("product_tree")
        .map(|t| (t, "/product_tree".to_string()))
        .into_iter()
        .collect();
    while let Some((v, path)) = pending.pop() {
        match v {
            Value::Object(m) => {
                // Only branches have this category.
                if m.get("category").and_then(Value::as_str) == Some("product_version") {
                    let name = m.get("name").and_then(Value::as_str).unwrap_or("");
                    let lower = name.to_lowercase();
                    if lower.contains('<')
                        || lower.contains('>')
                        || lower.split_whitespace().any(|w| RANGE_WORDS.contains(&w))
                    {
                        out.push(format!(
                            "6.1.31: product version {name:?} at {path} is a version range"
                        ));
                    }
                }
                if path.ends_with("/product_identification_helper") {
                    if let Some(purl) = m.get("purl").and_then(Value::as_str) {
                        if let Err(e) = packageurl::PackageUrl::from_str(purl) {
                            out.push(format!(
                                "6.1.13: {path}/purl {purl:?} is not a valid package URL: {e}"
                            ));
                        }
                    }
                }
                if let Some(list) = m.get("file_hashes") {
                    let mut seen = BTreeSet::new();
                    for a in arr(Some(list))
                        .iter()
                        .filter_map(|h| h.get("algorithm").and_then(Value::as_str))
                    {
                        if !seen.insert(a) {
                            out.push(format!(
                                "6.1.25: hash algorithm {a:?} is used more than once at {path}/file_hashes"
                            ));
                        }
                    }
                }
                for (k, x) in m {
                    pending.push((x, format!("{path}/{k}")));
                }
            }
            Value::Array(a) => {
                for (i, x) in a.iter().enumerate() {
                    pending.push((x, format!("{path}/{i}")));
                }
            }
            _ => {}
        }
    }
}

fn arr(v: Option<&Value>) -> &[Value] {
    v.and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[])
}

fn strs(v: Option<&Value>) -> impl Iterator<Item = &str> {
    arr(v).iter().filter_map(Value::as_str)
}

fn defined_products(doc: &Value, out: &mut Vec<String>) -> BTreeSet<String> {
    let tree = doc.get("product_tree");
    let mut ids = Vec::new();
    // Branches nest: a loop, not recursion.
    let mut pending: Vec<&Value> = arr(tree.and_then(|t| t.get("branches"))).iter().collect();
    while let Some(b) = pending.pop() {
        ids.extend(b.pointer("/product/product_id").and_then(Value::as_str));
        pending.extend(arr(b.get("branches")));
    }
    for p in arr(tree.and_then(|t| t.get("full_product_names"))) {
        ids.extend(p.get("product_id").and_then(Value::as_str));
    }
    for r in arr(tree.and_then(|t| t.get("relationships"))) {
        ids.extend(
            r.pointer("/full_product_name/product_id")
                .and_then(Value::as_str),
        );
    }
    let mut set = BTreeSet::new();
    for id in ids {
        if !set.insert(id.to_owned()) {
            out.push(format!(
                "6.1.2: product id {id:?} is defined more than once"
            ));
        }
    }
    set
}

/// Group id → its product ids.
fn defined_groups(doc: &Value, out: &mut Vec<String>) -> BTreeMap<String, Vec<String>> {
    let mut groups = BTreeMap::new();
    for g in arr(doc.pointer("/product_tree/product_groups")) {
        let Some(id) = g.get("group_id").and_then(Value::as_str) else {
            continue;
        };
        let members = strs(g.get("product_ids")).map(str::to_owned).collect();
        if groups.insert(id.to_owned(), members).is_some() {
            out.push(format!(
                "6.1.5: product group id {id:?} is defined more than once"
            ));
        }
    }
    groups
}

const STATUSES: [&str; 8] = [
    "first_affected",
    "known_affected",
    "last_affected",
    "known_not_affected",
    "first_fixed",
    "fixed",
    "recommended",
    "under_investigation",
];

fn product_refs(doc: &Value) -> Vec<(String, String)> {
    let mut refs = Vec::new();
    let mut add = |path: String, v: Option<&Value>| {
        refs.extend(strs(v).map(|id| (path.clone(), id.to_owned())));
    };
    for (i, g) in arr(doc.pointer("/product_tree/product_groups"))
        .iter()
        .enumerate()
    {
        add(
            format!("/product_tree/product_groups/{i}/product_ids"),
            g.get("product_ids"),
        );
    }
    for (i, r) in arr(doc.pointer("/product_tree/relationships"))
        .iter()
        .enumerate()
    {
        for key in ["product_reference", "relates_to_product_reference"] {
            if let Some(id) = r.get(key).and_then(Value::as_str) {
                refs.push((
                    format!("/product_tree/relationships/{i}/{key}"),
                    id.to_owned(),
                ));
            }
        }
    }
    for (i, v) in arr(doc.get("vulnerabilities")).iter().enumerate() {
        let mut add = |path: String, v: Option<&Value>| {
            refs.extend(strs(v).map(|id| (path.clone(), id.to_owned())));
        };
        for s in STATUSES {
            add(
                format!("/vulnerabilities/{i}/product_status/{s}"),
                v.pointer(&format!("/product_status/{s}")),
            );
        }
        for (list, key) in [
            ("remediations", "product_ids"),
            ("scores", "products"),
            ("threats", "product_ids"),
            ("flags", "product_ids"),
        ] {
            for (j, x) in arr(v.get(list)).iter().enumerate() {
                add(format!("/vulnerabilities/{i}/{list}/{j}/{key}"), x.get(key));
            }
        }
    }
    refs
}

fn group_refs(doc: &Value) -> Vec<(String, String)> {
    let mut refs = Vec::new();
    for (i, v) in arr(doc.get("vulnerabilities")).iter().enumerate() {
        for list in ["remediations", "threats", "flags"] {
            for (j, x) in arr(v.get(list)).iter().enumerate() {
                let path = format!("/vulnerabilities/{i}/{list}/{j}/group_ids");
                refs.extend(strs(x.get("group_ids")).map(|id| (path.clone(), id.to_owned())));
            }
        }
    }
    refs
}

fn contradicting_status(doc: &Value, out: &mut Vec<String>) {
    let classes: [(&str, &[&str]); 4] = [
        (
            "affected",
            &["first_affected", "known_affected", "last_affected"],
        ),
        ("not affected", &["known_not_affected"]),
        ("fixed", &["first_fixed", "fixed"]),
        ("under investigation", &["under_investigation"]),
    ];
    for (i, v) in arr(doc.get("vulnerabilities")).iter().enumerate() {
        let mut seen: BTreeMap<&str, &str> = BTreeMap::new();
        for (class, lists) in classes {
            for list in lists {
                for id in strs(v.pointer(&format!("/product_status/{list}"))) {
                    match seen.insert(id, class) {
                        Some(before) if before != class => out.push(format!(
                            "6.1.6: product {id:?} is both {before} and {class} in /vulnerabilities/{i}/product_status"
                        )),
                        _ => {}
                    }
                }
            }
        }
    }
}

fn unique(list: Option<&Value>, key: &str, what: &str, out: &mut Vec<String>) {
    let mut seen = BTreeSet::new();
    for v in arr(list)
        .iter()
        .filter_map(|x| x.get(key))
        .filter_map(Value::as_str)
    {
        if !seen.insert(v) {
            out.push(format!("{what} {v:?} is used more than once"));
        }
    }
}

/// 6.1.27: what the profiles `csaf_security_incident_response`,
/// `csaf_informational_advisory`, `csaf_security_advisory` and `csaf_vex`
/// require.
fn profile(doc: &Value, groups: &BTreeMap<String, Vec<String>>, out: &mut Vec<String>) {
    let category = doc
        .pointer("/document/category")
        .and_then(Value::as_str)
        .unwrap_or("");
    let vulns = arr(doc.get("vulnerabilities"));
    if matches!(
        category,
        "csaf_security_incident_response" | "csaf_informational_advisory"
    ) {
        let has = |list: &str, cats: &[&str]| {
            arr(doc.pointer(&format!("/document/{list}")))
                .iter()
                .filter_map(|x| x.get("category").and_then(Value::as_str))
                .any(|c| cats.contains(&c))
        };
        if !has("notes", &["description", "details", "general", "summary"]) {
            out.push(format!(
                "6.1.27.1: a {category} document needs a description, details, general or summary note"
            ));
        }
        if !has("references", &["external"]) {
            out.push(format!(
                "6.1.27.2: a {category} document needs an external reference"
            ));
        }
    }
    match category {
        "csaf_informational_advisory" if !vulns.is_empty() => {
            out.push("6.1.27.3: an informational advisory has no vulnerabilities".into());
        }
        "csaf_security_advisory" | "csaf_vex" => {
            if doc.get("product_tree").is_none() {
                out.push(format!(
                    "6.1.27.4: a {category} document needs /product_tree"
                ));
            }
            if vulns.is_empty() {
                out.push(format!(
                    "6.1.27.11: a {category} document needs /vulnerabilities"
                ));
            }
            for (i, v) in vulns.iter().enumerate() {
                if v.get("notes").is_none() {
                    out.push(format!("6.1.27.5: /vulnerabilities/{i} has no notes"));
                }
                if category == "csaf_security_advisory" && v.get("product_status").is_none() {
                    out.push(format!(
                        "6.1.27.6: /vulnerabilities/{i} has no product_status"
                    ));
                }
                if category == "csaf_vex" {
                    vex(i, v, groups, out);
                }
            }
        }
        _ => {}
    }
}

fn vex(i: usize, v: &Value, groups: &BTreeMap<String, Vec<String>>, out: &mut Vec<String>) {
    let status = |s: &str| strs(v.pointer(&format!("/product_status/{s}")));
    if [
        "fixed",
        "known_affected",
        "known_not_affected",
        "under_investigation",
    ]
    .iter()
    .all(|s| status(s).next().is_none())
    {
        out.push(format!(
            "6.1.27.7: /vulnerabilities/{i} has no VEX product status"
        ));
    }
    if v.get("cve").is_none() && v.get("ids").is_none() {
        out.push(format!(
            "6.1.27.8: /vulnerabilities/{i} has neither cve nor ids"
        ));
    }
    // Products a list of statements covers, directly or through groups.
    let covered = |list: &str, only: Option<&str>| -> BTreeSet<String> {
        let mut c = BTreeSet::new();
        for x in arr(v.get(list)) {
            if only.is_some_and(|cat| x.get("category").and_then(Value::as_str) != Some(cat)) {
                continue;
            }
            c.extend(strs(x.get("product_ids")).map(str::to_owned));
            for g in strs(x.get("group_ids")) {
                c.extend(groups.get(g).into_iter().flatten().cloned());
            }
        }
        c
    };
    let mut impact = covered("flags", None);
    impact.extend(covered("threats", Some("impact")));
    for id in status("known_not_affected").filter(|id| !impact.contains(*id)) {
        out.push(format!("6.1.27.9: known_not_affected product {id:?} in /vulnerabilities/{i} has no impact statement"));
    }
    let actions = covered("remediations", None);
    for id in status("known_affected").filter(|id| !actions.contains(*id)) {
        out.push(format!("6.1.27.10: known_affected product {id:?} in /vulnerabilities/{i} has no action statement"));
    }
}
