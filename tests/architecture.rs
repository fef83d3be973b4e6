//! Two house rules the compiler does not check (issue 19), read from `src/`:
//!
//! * no file under `src/` has more than [`MAX_LINES`] lines;
//! * the files of one folder do not import each other in a circle.
//!
//! **What counts as an import.** Every file is scanned with comments and
//! string/char literals blanked out, then tokenised; two things count:
//! `use` declarations (every path of a `use` tree, `pub use` re-exports
//! included) and paths written in code that start with `crate::`, `super::`,
//! `self::` or the name of one of the current module's child modules
//! (`items::fetch(..)` in `grid/mod.rs`). `mod x;` is *not* an import: a
//! parent declaring its children depends on nothing. Paths starting with any
//! other name (external crates, items in scope) are ignored. Inline modules
//! (`mod tests { use super::*; }`) are followed, so their `super::` means
//! the file itself, not its parent.
//!
//! **Where a path points.** A path is made absolute and cut at the longest
//! prefix that is a module of `src/` (`src/a/b.rs` and `src/a/b/mod.rs` are
//! `a::b`; `lib.rs`/`main.rs` the root; `src/bin/NAME/…` a crate of its
//! own). When the next segment is a name that module imports (`pub use
//! error::GridError` in `grid/mod.rs`), the path is followed to where that
//! name comes from, so `use super::GridError` in `grid/items.rs` points at
//! `grid/error.rs`; any other name is an item of the module itself, so a
//! child's `use super::ncname` is an edge to its parent's file.
//!
//! **The graphs.** For every module with child modules (a "folder": `grid/`
//! with `grid/mod.rs`, or `durable/follow/` with `durable/follow.rs`) the
//! nodes are the module's own file and one node per child module, a child
//! with a folder of its own standing for that whole folder. An import from
//! anywhere inside one node to another node is an edge. Every strongly
//! connected component of more than one node is a circle and is reported
//! with the lines that make its edges. The root's graph (`lib.rs` and the
//! top-level modules) is one of them: layers must not import each other
//! either.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// The most lines a file under `src/` may have.
const MAX_LINES: usize = 500;

/// A module path from the root of `src/` (`["grid", "items"]`).
type ModPath = Vec<String>;

/// One import found in a file: the absolute path it names and where.
struct Import {
    path: ModPath,
    line: usize,
    text: String,
}

/// One file of `src/`, scanned.
struct File {
    rel: String,
    module: ModPath,
    imports: Vec<Import>,
    /// Name → absolute path, for every name a `use` brings in (followed
    /// when another file names an item through this module).
    binds: BTreeMap<String, ModPath>,
}

/// The module a file under `src/` is (`rel` uses `/`), and its crate root.
fn module_of(rel: &str) -> (ModPath, ModPath) {
    let mut segs: ModPath = rel
        .trim_end_matches(".rs")
        .split('/')
        .map(str::to_string)
        .collect();
    let root: ModPath = if segs[0] == "bin" {
        segs[..2].to_vec()
    } else {
        vec![]
    };
    if matches!(
        segs.last().map(String::as_str),
        Some("mod" | "lib" | "main")
    ) && segs.len() > root.len()
    {
        segs.pop();
    }
    (segs, root)
}

/// `text` with comments and the insides of string and char literals
/// replaced by spaces (newlines kept, so line numbers stay right).
fn blank(text: &str) -> String {
    let c: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    let keep = |ch: char| if ch == '\n' { '\n' } else { ' ' };
    let ident = |ch: char| ch.is_alphanumeric() || ch == '_';
    // Whether an identifier ends just before `i` (a `b` prefix aside:
    // `br"…"` is a raw byte string).
    let ident_before =
        |i: usize| i > 0 && ident(c[i - 1]) && !(c[i - 1] == 'b' && (i == 1 || !ident(c[i - 2])));
    while i < c.len() {
        let at = |j: usize| c.get(j).copied().unwrap_or('\0');
        if c[i] == '/' && at(i + 1) == '/' {
            while i < c.len() && c[i] != '\n' {
                out.push(' ');
                i += 1;
            }
        } else if c[i] == '/' && at(i + 1) == '*' {
            let mut depth = 0;
            while i < c.len() {
                if c[i] == '/' && at(i + 1) == '*' {
                    depth += 1;
                    out.push_str("  ");
                    i += 2;
                } else if c[i] == '*' && at(i + 1) == '/' {
                    depth -= 1;
                    out.push_str("  ");
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    out.push(keep(c[i]));
                    i += 1;
                }
            }
        } else if c[i] == 'r'
            && (at(i + 1) == '"'
                || (at(i + 1) == '#' && at(i + 2) == '#' || at(i + 1) == '#' && at(i + 2) == '"'))
            && !ident_before(i)
        {
            // A raw string: r"…", r#"…"#, …
            let mut hashes = 0;
            i += 1;
            while at(i) == '#' {
                hashes += 1;
                i += 1;
            }
            i += 1; // the opening quote
            out.push('"');
            while i < c.len() {
                if c[i] == '"' && (1..=hashes).all(|k| at(i + k) == '#') {
                    i += 1 + hashes;
                    break;
                }
                out.push(keep(c[i]));
                i += 1;
            }
            out.push('"');
        } else if c[i] == '"' || (c[i] == '\'' && (at(i + 1) == '\\' || at(i + 2) == '\'')) {
            // A string, or a char literal ('x', '\n'); not a lifetime ('a).
            let quote = c[i];
            out.push(quote);
            i += 1;
            while i < c.len() && c[i] != quote {
                if c[i] == '\\' {
                    out.push(' ');
                    i += 1;
                }
                if i < c.len() {
                    out.push(keep(c[i]));
                    i += 1;
                }
            }
            out.push(quote);
            i += 1;
        } else {
            out.push(c[i]);
            i += 1;
        }
    }
    out
}

/// Identifiers, `::` and single punctuation characters, with their lines.
fn tokens(text: &str) -> Vec<(String, usize)> {
    let c: Vec<char> = text.chars().collect();
    let (mut out, mut i, mut line) = (Vec::new(), 0, 1);
    while i < c.len() {
        if c[i] == '\n' {
            line += 1;
            i += 1;
        } else if c[i].is_whitespace() {
            i += 1;
        } else if c[i].is_alphanumeric() || c[i] == '_' {
            let start = i;
            while i < c.len() && (c[i].is_alphanumeric() || c[i] == '_') {
                i += 1;
            }
            out.push((c[start..i].iter().collect(), line));
        } else if c[i] == ':' && c.get(i + 1) == Some(&':') {
            out.push(("::".into(), line));
            i += 2;
        } else {
            out.push((c[i].to_string(), line));
            i += 1;
        }
    }
    out
}

/// Expands a `use` tree (its tokens, without `use` and `;`) into
/// (path, bound name): `a::{b, c as d, e::*}` → `a::b` (b), `a::c` (d),
/// `a::e` (none: a glob).
fn use_paths(toks: &[String]) -> Vec<(Vec<String>, Option<String>)> {
    fn tree(
        t: &[String],
        i: &mut usize,
        prefix: &[String],
        out: &mut Vec<(Vec<String>, Option<String>)>,
    ) {
        let mut path = prefix.to_vec();
        while *i < t.len() {
            match t[*i].as_str() {
                "::" => *i += 1,
                "{" => {
                    *i += 1;
                    while *i < t.len() && t[*i] != "}" {
                        tree(t, i, &path, out);
                        if *i < t.len() && t[*i] == "," {
                            *i += 1;
                        }
                    }
                    *i += 1;
                    return;
                }
                "*" => {
                    *i += 1;
                    out.push((path, None));
                    return;
                }
                "," | "}" => break,
                "as" => {
                    let alias = t.get(*i + 1).cloned();
                    *i += 2;
                    out.push((path, alias));
                    return;
                }
                seg => {
                    path.push(seg.to_string());
                    *i += 1;
                }
            }
        }
        let name = path.last().cloned().filter(|n| n != "self");
        if path.last().is_some_and(|n| n == "self") {
            path.pop();
        }
        out.push((path, name));
    }
    let mut out = Vec::new();
    let mut i = 0;
    while i < toks.len() {
        tree(toks, &mut i, &[], &mut out);
        i += 1;
    }
    out
}

/// Makes `segs`, written in module `ctx` of a crate rooted at `root`,
/// absolute; `None` when it does not start inside `src/` (external crates,
/// local names).
fn absolute(
    segs: &[String],
    ctx: &[String],
    root: &[String],
    modules: &BTreeSet<ModPath>,
) -> Option<ModPath> {
    let first = segs.first()?;
    let mut base: ModPath = match first.as_str() {
        "crate" => root.to_vec(),
        "self" | "super" => ctx.to_vec(),
        _ => {
            let mut child = ctx.to_vec();
            child.push(first.clone());
            if !modules.contains(&child) {
                return None;
            }
            ctx.to_vec()
        }
    };
    let mut rest = segs;
    if matches!(first.as_str(), "crate" | "self") {
        rest = &segs[1..];
    }
    while rest.first().is_some_and(|s| s == "super") {
        base.pop()?;
        rest = &rest[1..];
    }
    base.extend(rest.iter().cloned());
    Some(base)
}

/// Scans one file's imports (paths made absolute) and bound names.
fn scan(rel: &str, text: &str, modules: &BTreeSet<ModPath>) -> File {
    let (module, root) = module_of(rel);
    let toks = tokens(&blank(text));
    let mut file = File {
        rel: rel.into(),
        module: module.clone(),
        imports: Vec::new(),
        binds: BTreeMap::new(),
    };
    // Inline modules: (name, brace depth inside them, gated by
    // `#[cfg(test)]`). Imports inside a test module are not counted: unit
    // tests may reach through the public API (`crate::iodef::parse`) to
    // build their inputs; the rule is about the code that ships.
    let mut inline: Vec<(String, usize, bool)> = Vec::new();
    let mut depth = 0;
    let mut i = 0;
    while i < toks.len() {
        let (t, line) = (&toks[i].0, toks[i].1);
        let mut ctx = module.clone();
        ctx.extend(inline.iter().map(|(n, _, _)| n.clone()));
        let in_test = inline.iter().any(|(_, _, test)| *test);
        let prev = if i > 0 { toks[i - 1].0.as_str() } else { "" };
        match t.as_str() {
            "{" => depth += 1,
            "}" => {
                depth -= 1;
                if inline.last().is_some_and(|(_, d, _)| *d > depth) {
                    inline.pop();
                }
            }
            "mod" if toks.get(i + 2).is_some_and(|t| t.0 == "{") => {
                let gate: Vec<&str> = toks[i.saturating_sub(7)..i]
                    .iter()
                    .map(|t| t.0.as_str())
                    .collect();
                let test = gate == ["#", "[", "cfg", "(", "test", ")", "]"];
                inline.push((toks[i + 1].0.clone(), depth + 1, test));
            }
            _ if in_test => {}
            "use" => {
                let end = (i..toks.len())
                    .find(|&k| toks[k].0 == ";")
                    .unwrap_or(toks.len());
                let body: Vec<String> = toks[i + 1..end].iter().map(|t| t.0.clone()).collect();
                for (path, name) in use_paths(&body) {
                    let Some(abs) = absolute(&path, &ctx, &root, modules) else {
                        continue;
                    };
                    if let (Some(name), true) = (name, inline.is_empty()) {
                        file.binds.insert(name, abs.clone());
                    }
                    let text = format!("use {}", path.join("::"));
                    file.imports.push(Import {
                        path: abs,
                        line,
                        text,
                    });
                }
                i = end;
            }
            _ if prev != "::" && prev != "in" && toks.get(i + 1).is_some_and(|n| n.0 == "::") => {
                let mut path = vec![t.clone()];
                let mut k = i + 1;
                while toks.get(k).is_some_and(|n| n.0 == "::")
                    && toks
                        .get(k + 1)
                        .is_some_and(|n| n.0.starts_with(|c: char| c.is_alphanumeric() || c == '_'))
                {
                    path.push(toks[k + 1].0.clone());
                    k += 2;
                }
                if let Some(abs) = absolute(&path, &ctx, &root, modules) {
                    let text = path.join("::");
                    file.imports.push(Import {
                        path: abs,
                        line,
                        text,
                    });
                }
                i = k - 1;
            }
            _ => {}
        }
        i += 1;
    }
    file
}

/// The module `path` points at: its longest module prefix, followed
/// through that module's imports when the next name is one of them.
fn target(path: &[String], files: &BTreeMap<ModPath, &File>, hops: usize) -> Option<ModPath> {
    let cut = (0..=path.len())
        .rev()
        .find(|&n| files.contains_key(&path[..n]))?;
    let module = path[..cut].to_vec();
    if let (Some(name), true) = (path.get(cut), hops < 8) {
        if let Some(from) = files[&module].binds.get(name) {
            let mut via = from.clone();
            via.extend(path[cut + 1..].iter().cloned());
            if via != path {
                return target(&via, files, hops + 1).or(Some(module));
            }
        }
    }
    Some(module)
}

/// One circle: the files of a strongly connected component and the import
/// lines that tie them together.
#[derive(Debug)]
struct Circle {
    folder: String,
    files: Vec<String>,
    edges: Vec<String>,
}

/// Every circle of imports within a folder, over `files` (`src/`-relative
/// path, text).
fn circles(sources: &[(String, String)]) -> Vec<Circle> {
    let modules: BTreeSet<ModPath> = sources.iter().map(|(rel, _)| module_of(rel).0).collect();
    let scanned: Vec<File> = sources
        .iter()
        .map(|(rel, text)| scan(rel, text, &modules))
        .collect();
    // lib.rs and main.rs are both the root: the root's names are lib.rs's.
    let mut by_module: BTreeMap<ModPath, &File> = BTreeMap::new();
    for f in &scanned {
        by_module.entry(f.module.clone()).or_insert(f);
    }
    let name_of = |m: &ModPath| {
        by_module
            .get(m)
            .map(|f| format!("src/{}", f.rel))
            .unwrap_or_else(|| format!("src/{}", m.join("/")))
    };
    let mut found = Vec::new();
    for group in by_module.keys().filter(|g| {
        modules
            .iter()
            .any(|m| m.len() == g.len() + 1 && m.starts_with(g))
    }) {
        let node = |m: &ModPath| -> Option<ModPath> {
            m.starts_with(group)
                .then(|| m[..(group.len() + 1).min(m.len())].to_vec())
        };
        let mut edges: BTreeMap<ModPath, BTreeMap<ModPath, Vec<String>>> = BTreeMap::new();
        for f in &scanned {
            let Some(from) = node(&f.module) else {
                continue;
            };
            for imp in &f.imports {
                let Some(to) = target(&imp.path, &by_module, 0).as_ref().and_then(node) else {
                    continue;
                };
                if to != from {
                    let at = format!("src/{}:{} ", f.rel, imp.line);
                    let why = edges.entry(from.clone()).or_default().entry(to);
                    let why = why.or_default();
                    match why.last_mut() {
                        Some(last) if last.starts_with(&at) => {
                            last.push_str(&format!(", {}", imp.text));
                        }
                        _ => why.push(format!("{at}{}", imp.text)),
                    }
                }
            }
        }
        for scc in components(&edges) {
            let mut lines = Vec::new();
            for a in &scc {
                for b in &scc {
                    lines.extend(
                        edges
                            .get(a)
                            .and_then(|m| m.get(b))
                            .into_iter()
                            .flatten()
                            .cloned(),
                    );
                }
            }
            found.push(Circle {
                folder: format!("src/{}", group.join("/")),
                files: scc.iter().map(&name_of).collect(),
                edges: lines,
            });
        }
    }
    found
}

/// The strongly connected components of more than one node (Tarjan).
fn components(edges: &BTreeMap<ModPath, BTreeMap<ModPath, Vec<String>>>) -> Vec<Vec<ModPath>> {
    struct Tarjan<'a> {
        edges: &'a BTreeMap<ModPath, BTreeMap<ModPath, Vec<String>>>,
        index: BTreeMap<ModPath, (usize, usize)>,
        stack: Vec<ModPath>,
        out: Vec<Vec<ModPath>>,
    }
    impl Tarjan<'_> {
        fn visit(&mut self, v: &ModPath) -> usize {
            let n = self.index.len();
            self.index.insert(v.clone(), (n, n));
            self.stack.push(v.clone());
            let mut low = n;
            for w in self.edges.get(v).into_iter().flat_map(|m| m.keys()) {
                low = low.min(match self.index.get(w) {
                    None => self.visit(w),
                    Some(&(i, _)) if self.stack.contains(w) => i,
                    Some(_) => usize::MAX,
                });
            }
            self.index.insert(v.clone(), (n, low));
            if low == n {
                let at = self.stack.iter().position(|x| x == v).unwrap_or(0);
                let scc = self.stack.split_off(at);
                if scc.len() > 1 {
                    self.out.push(scc);
                }
            }
            low
        }
    }
    let mut t = Tarjan {
        edges,
        index: BTreeMap::new(),
        stack: Vec::new(),
        out: Vec::new(),
    };
    for v in edges.keys() {
        if !t.index.contains_key(v) {
            t.visit(v);
        }
    }
    t.out
}

/// Every `.rs` file under `dir`, as (path relative to `base` with `/`, text).
fn read_tree(base: &Path, dir: &Path, out: &mut Vec<(String, String)>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .expect("read src/")
        .flatten()
        .map(|e| e.path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            read_tree(base, &p, out);
        } else if p.extension().is_some_and(|e| e == "rs") {
            let rel = p
                .strip_prefix(base)
                .expect("under src/")
                .to_string_lossy()
                .replace('\\', "/");
            out.push((
                rel,
                std::fs::read_to_string(&p).expect("read a source file"),
            ));
        }
    }
}

fn sources() -> Vec<(String, String)> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut out = Vec::new();
    read_tree(&src, &src, &mut out);
    out
}

#[test]
fn files_under_src_have_at_most_500_lines() {
    let long: Vec<String> = sources()
        .iter()
        .filter(|(_, text)| text.lines().count() > MAX_LINES)
        .map(|(rel, text)| format!("src/{rel}: {} lines", text.lines().count()))
        .collect();
    assert!(
        long.is_empty(),
        "files over {MAX_LINES} lines:\n{}",
        long.join("\n")
    );
}

#[test]
fn no_folder_imports_itself_in_a_circle() {
    let found = circles(&sources());
    let report: Vec<String> = found
        .iter()
        .map(|c| {
            format!(
                "{}: {}\n    {}",
                c.folder,
                c.files.join(" ⇄ "),
                c.edges.join("\n    ")
            )
        })
        .collect();
    assert!(
        report.is_empty(),
        "circles of imports:\n{}",
        report.join("\n")
    );
}

/// The checker itself, on a small tree held in memory.
#[test]
fn the_checker_finds_circles_and_only_circles() {
    let tree = |files: &[(&str, &str)]| -> Vec<(String, String)> {
        files
            .iter()
            .map(|(p, t)| (p.to_string(), t.to_string()))
            .collect()
    };
    // a → b through a re-export in mod.rs, b → a: one circle.
    let found = circles(&tree(&[
        ("lib.rs", "pub mod demo;"),
        ("demo/mod.rs", "mod a; mod b;\npub use a::A;\n"),
        ("demo/a.rs", "use super::b::B;\npub struct A;\n"),
        (
            "demo/b.rs",
            "pub struct B;\nfn f() -> crate::demo::A { todo!() }\n",
        ),
    ]));
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].folder, "src/demo");
    assert_eq!(found[0].files, ["src/demo/a.rs", "src/demo/b.rs"]);
    // A child using its parent's own item while the parent uses the child.
    let found = circles(&tree(&[
        ("lib.rs", "mod x;"),
        ("x.rs", "mod y;\npub fn helper() {}\nfn g() { y::go() }\n"),
        ("x/y.rs", "use super::helper;\npub fn go() {}\n"),
    ]));
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].files, ["src/x.rs", "src/x/y.rs"]);
    // Not imports: `mod` declarations, re-exports followed to a sibling,
    // comments, strings, and `super` inside an inline test module.
    let found = circles(&tree(&[
        ("lib.rs", "mod demo;"),
        ("demo/mod.rs", "mod a; mod b;\npub use a::A;\npub use b::B;\n"),
        ("demo/a.rs", "use super::B; // super::b::x\npub struct A;\n"),
        (
            "demo/b.rs",
            "pub struct B;\nconst S: &str = \"super::a::A\";\nconst R: &[u8] = br#\"use super::a::A;\"#;\n#[cfg(test)]\nmod tests {\n    use super::*;\n}\n",
        ),
    ]));
    assert!(found.is_empty(), "{found:?}");
    // A unit test reaching back (b's tests use a, a uses b) is not counted;
    // the same inline module without `#[cfg(test)]` is.
    let back = |gate: &str| {
        circles(&tree(&[
            ("lib.rs", "pub mod demo;"),
            ("demo/mod.rs", "mod a; mod b;\n"),
            ("demo/a.rs", "use super::b::B;\npub struct A;\n"),
            (
                "demo/b.rs",
                &format!("pub struct B;\n{gate}\nmod tests {{\n    use crate::demo::a::A;\n}}\n"),
            ),
        ]))
    };
    assert!(back("#[cfg(test)]").is_empty());
    assert_eq!(back("").len(), 1);
}
