//! The house rule for `src/rolie/`: no circle of imports between the files
//! of the folder (a uses b uses … uses a), and files under 500 lines.
//!
//! A file `a.rs` depends on sibling `b` when its text names `super::b` or
//! `crate::rolie::b` (in a `use` or inline, test modules included), or,
//! for `mod.rs`, `use b::…` / `pub use b::…`; a child naming
//! `super::Item` for an item of `mod.rs` itself depends on `mod`.
//! `pub mod poll;` declares a module and is not an import.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// The dependency graph of the `.rs` files directly in `dir`.
fn graph(dir: &Path) -> BTreeMap<String, BTreeSet<String>> {
    let mut files = BTreeMap::new();
    for e in std::fs::read_dir(dir).expect("read dir") {
        let p = e.expect("entry").path();
        if p.extension().is_some_and(|x| x == "rs") {
            let name = p.file_stem().unwrap().to_string_lossy().into_owned();
            files.insert(name, std::fs::read_to_string(&p).expect("read file"));
        }
    }
    let siblings: BTreeSet<String> = files.keys().filter(|n| *n != "mod").cloned().collect();
    let ident = |s: &str| -> String {
        s.chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect()
    };
    let mut g = BTreeMap::new();
    for (name, text) in &files {
        let mut deps = BTreeSet::new();
        for line in text.lines() {
            let code = line.split("//").next().unwrap_or_default();
            for prefix in ["super::", "crate::rolie::"] {
                for (i, _) in code.match_indices(prefix) {
                    let rest = &code[i + prefix.len()..];
                    // `super::{a, b::c}`: each item of the group.
                    let items: Vec<String> = match rest.strip_prefix('{') {
                        Some(group) => group.split([',', '}']).map(|s| ident(s.trim())).collect(),
                        None => vec![ident(rest)],
                    };
                    for item in items.into_iter().filter(|i| !i.is_empty()) {
                        if name == "mod" {
                            continue; // mod.rs's `super::` is outside the folder
                        }
                        if siblings.contains(&item) {
                            deps.insert(item);
                        } else if item != "self" && item != "super" {
                            deps.insert("mod".to_owned());
                        }
                    }
                }
            }
            if name == "mod" {
                let t = code.trim_start();
                if let Some(rest) = t.strip_prefix("pub use ").or(t.strip_prefix("use ")) {
                    let item = ident(rest);
                    if siblings.contains(&item) {
                        deps.insert(item);
                    }
                }
            }
        }
        deps.remove(name);
        g.insert(name.clone(), deps);
    }
    g
}

/// A circle in `g`, if there is one.
fn circle(g: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        n: &str,
        g: &BTreeMap<String, BTreeSet<String>>,
        state: &mut BTreeMap<String, u8>,
        path: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        match state.get(n) {
            Some(2) => return None,
            Some(1) => {
                let start = path.iter().position(|p| p == n).unwrap_or(0);
                let mut c = path[start..].to_vec();
                c.push(n.to_owned());
                return Some(c);
            }
            _ => {}
        }
        state.insert(n.to_owned(), 1);
        path.push(n.to_owned());
        for d in g.get(n).into_iter().flatten() {
            if let Some(c) = visit(d, g, state, path) {
                return Some(c);
            }
        }
        path.pop();
        state.insert(n.to_owned(), 2);
        None
    }
    let mut state = BTreeMap::new();
    for n in g.keys() {
        if let Some(c) = visit(n, g, &mut state, &mut Vec::new()) {
            return Some(c);
        }
    }
    None
}

#[test]
fn no_import_circle_in_src_rolie() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/rolie");
    let g = graph(&dir);
    assert!(g.len() > 10, "read the folder: {g:?}");
    // The layering the refactor set up (see `src/rolie/mod.rs`).
    assert!(g["cache"].contains("conditional") && !g["conditional"].contains("cache"));
    assert!(!g["listen"].contains("observe"), "{:?}", g["listen"]);
    if let Some(c) = circle(&g) {
        panic!("import circle in src/rolie: {}", c.join(" -> "));
    }
}

#[test]
fn the_checker_finds_circles() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("mod.rs"), "mod a;\nmod b;\npub use a::X;\n").unwrap();
    std::fs::write(dir.path().join("a.rs"), "use super::b::Y;\npub struct X;\n").unwrap();
    std::fs::write(
        dir.path().join("b.rs"),
        "use super::{c, X};\npub struct Y;\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("c.rs"), "").unwrap();
    let g = graph(dir.path());
    assert_eq!(g["b"], ["c".to_owned(), "mod".to_owned()].into());
    let c = circle(&g).expect("a -> b -> mod -> a");
    assert!(c.len() >= 3, "{c:?}");
    std::fs::write(dir.path().join("b.rs"), "use super::c;\n").unwrap();
    assert_eq!(circle(&graph(dir.path())), None);
}

#[test]
fn files_stay_under_500_lines() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/rolie");
    for e in std::fs::read_dir(&dir).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "rs") {
            let n = std::fs::read_to_string(&p).unwrap().lines().count();
            assert!(n <= 500, "{} has {n} lines", p.display());
        }
    }
}
