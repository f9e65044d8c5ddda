//! The shape of the source tree (ARCHITECTURE.md): dependencies between
//! the layers point down only, no two modules import each other (directly
//! or round a circle), and no source file is longer than 600 lines before
//! its tests.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

const MAX_LINES: usize = 600;

/// The layers, top to bottom, and what each may use besides itself: the
/// crate-root helpers (`error`, `log`) are usable from everywhere.
const LAYERS: &[(&str, &[&str])] = &[
    ("ffi", &["server", "client", "attach", "engine", "io", "proto"]),
    ("server", &["engine", "io", "proto"]),
    ("client", &["engine", "io", "proto"]),
    ("attach", &["engine", "io", "proto"]),
    ("engine", &["io", "proto"]),
    ("io", &["proto"]),
    ("proto", &[]),
];

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("src")
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The module path of a source file (`server::event_loop` for
/// `src/server/event_loop/mod.rs`; "" for `src/lib.rs`).
fn module_of(path: &Path) -> String {
    let rel = path.strip_prefix(root()).unwrap().with_extension("");
    let mut parts: Vec<String> = rel.iter().map(|p| p.to_string_lossy().into_owned()).collect();
    if parts.last().is_some_and(|p| p == "mod" || p == "lib") {
        parts.pop();
    }
    parts.join("::")
}

/// A file's text before its unit tests.
fn code_of(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap();
    match text.find("#[cfg(test)]") {
        Some(i) => text[..i].to_owned(),
        None => text,
    }
}

/// Every module a file's code names with a `crate::` path, resolved to
/// the longest module that exists.
fn imports(code: &str, modules: &BTreeSet<String>) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    let mut rest = code;
    while let Some(i) = rest.find("crate::") {
        rest = &rest[i + "crate::".len()..];
        let path: String = rest.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == ':').collect();
        let parts: Vec<&str> = path.split("::").filter(|p| !p.is_empty()).collect();
        if let Some(m) = (1..=parts.len()).rev().map(|k| parts[..k].join("::")).find(|m| modules.contains(m)) {
            found.insert(m);
        }
    }
    found
}

struct Tree {
    /// Module to the modules it imports (outside its own subtree and its ancestors).
    edges: BTreeMap<String, BTreeSet<String>>,
    lines: BTreeMap<String, (PathBuf, usize)>,
}

fn tree() -> Tree {
    let mut files = Vec::new();
    rust_files(&root(), &mut files);
    let modules: BTreeSet<String> = files.iter().map(|f| module_of(f)).collect();
    let mut edges = BTreeMap::new();
    let mut lines = BTreeMap::new();
    for f in &files {
        let m = module_of(f);
        let code = code_of(f);
        lines.insert(m.clone(), (f.clone(), code.lines().count()));
        let related = |other: &String| {
            other == &m || other.starts_with(&format!("{m}::")) || m.starts_with(&format!("{other}::"))
        };
        let targets: BTreeSet<String> = imports(&code, &modules).into_iter().filter(|o| !related(o)).collect();
        edges.insert(m, targets);
    }
    Tree { edges, lines }
}

fn layer_of(module: &str) -> &str {
    module.split("::").next().unwrap_or("")
}

#[test]
fn layers_depend_only_on_the_layers_below() {
    let t = tree();
    let mut wrong = Vec::new();
    for (from, targets) in &t.edges {
        let Some((_, allowed)) = LAYERS.iter().find(|(l, _)| *l == layer_of(from)) else { continue };
        for to in targets {
            let layer = layer_of(to);
            let ok = layer == layer_of(from) || ["error", "log", ""].contains(&layer) || allowed.contains(&layer);
            if !ok {
                wrong.push(format!("{from} -> {to}"));
            }
        }
    }
    assert!(wrong.is_empty(), "imports that point up or sideways: {wrong:#?}");
}

#[test]
fn no_module_imports_round_a_circle() {
    let t = tree();
    // Depth-first search for a back edge.
    fn visit(
        m: &str,
        edges: &BTreeMap<String, BTreeSet<String>>,
        state: &mut BTreeMap<String, u8>,
        path: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        state.insert(m.to_owned(), 1);
        path.push(m.to_owned());
        for next in edges.get(m).into_iter().flatten() {
            match state.get(next.as_str()) {
                Some(1) => {
                    let start = path.iter().position(|p| p == next).unwrap();
                    let mut circle = path[start..].to_vec();
                    circle.push(next.clone());
                    return Some(circle);
                }
                Some(_) => {}
                None => {
                    if let Some(c) = visit(next, edges, state, path) {
                        return Some(c);
                    }
                }
            }
        }
        path.pop();
        state.insert(m.to_owned(), 2);
        None
    }
    let mut state = BTreeMap::new();
    for m in t.edges.keys() {
        if !state.contains_key(m.as_str())
            && let Some(circle) = visit(m, &t.edges, &mut state, &mut Vec::new())
        {
            panic!("import circle: {}", circle.join(" -> "));
        }
    }
}

#[test]
fn no_source_file_is_longer_than_600_lines_before_its_tests() {
    let t = tree();
    let long: Vec<String> =
        t.lines.values().filter(|(_, n)| *n > MAX_LINES).map(|(p, n)| format!("{} ({n} lines)", p.display())).collect();
    assert!(long.is_empty(), "split these files by concept: {long:#?}");
}

#[test]
fn the_checks_see_the_tree() {
    // The checks above would pass vacuously on an empty tree.
    let t = tree();
    assert!(t.edges.contains_key("server::event_loop"));
    assert!(t.edges["attach::drive"].contains("engine"));
    assert!(t.edges["engine"].contains("io::transport"));
}
