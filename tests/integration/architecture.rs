//! The shape of the crate, checked from its source: no import cycles between files, no module
//! importing from a layer above its own, and `unsafe` only in the FFI module `src/av/`.
//!
//! Imports are read as text: every `use` item (brace groups expanded) and every inline
//! `crate::…`/`super::…` path, outside comments and `#[cfg(test)]` modules. A module and its
//! own ancestors (`mod.rs` re-exports, `super::Type`) are not edges: that is how Rust nests.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Layers, lowest first: a module may import only from its own layer or lower ones.
const LAYERS: &[&[&str]] = &[
    // Pure foundations and the FFI wrappers.
    &[
        "av", "codecs", "cpu_time", "error", "ids", "ladder", "layout", "metrics", "model", "time",
        "timeline", "x264_cpu",
    ],
    // Where packets come from and where objects go.
    &["ingest", "storage"],
    // Media work: thumbnails, transcoding, HLS, and the pipeline that drives them.
    &["thumbnail", "hls", "pipeline", "quality"],
    // One recording's lifecycle.
    &["recording"],
    // Live serving and the control plane.
    &["control", "live", "api", "publish", "bench"],
    // Front ends.
    &["cli", "progress"],
];

fn src_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// `src/a/b.rs` → `a::b`; `src/a/mod.rs` → `a`; `src/lib.rs` → `` (the crate).
fn module_of(path: &Path) -> Option<String> {
    let relative = path.strip_prefix(src_dir()).ok()?;
    let mut parts: Vec<String> = relative
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    let file = parts.pop()?;
    match file.as_str() {
        "main.rs" if parts.is_empty() => None,
        "lib.rs" if parts.is_empty() => Some(String::new()),
        "mod.rs" => Some(parts.join("::")),
        _ => {
            parts.push(file.strip_suffix(".rs")?.to_owned());
            Some(parts.join("::"))
        }
    }
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

/// The code of a file without comments and without its `#[cfg(test)]` module (kept last).
fn code_of(text: &str) -> String {
    let text = text.split("#[cfg(test)]").next().unwrap_or_default();
    text.lines()
        .map(|line| {
            let trimmed = line.trim_start();
            if trimmed.starts_with("//") {
                ""
            } else {
                match line.find(" // ") {
                    Some(at) if !line[..at].contains('"') => &line[..at],
                    _ => line,
                }
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Expands a `use` tree (`a::{b, c::{d, e}}`) into its paths.
fn expand_use(tree: &str) -> Vec<String> {
    let tree: String = tree.chars().filter(|c| !c.is_whitespace()).collect();
    let Some(open) = tree.find('{') else {
        let path = tree.split(" as ").next().unwrap_or_default();
        return vec![path.split("as").next().unwrap_or(path).to_owned()];
    };
    let prefix = &tree[..open];
    let inner = &tree[open + 1..tree.rfind('}').unwrap_or(tree.len())];
    let mut items = Vec::new();
    let (mut depth, mut start) = (0, 0);
    for (i, c) in inner.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                items.push(&inner[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    items.push(&inner[start..]);
    items
        .into_iter()
        .filter(|item| !item.is_empty())
        .flat_map(|item| {
            expand_use(item)
                .into_iter()
                .map(|p| match p.as_str() {
                    "self" => prefix.trim_end_matches("::").to_owned(),
                    _ => format!("{prefix}{p}"),
                })
                .collect::<Vec<_>>()
        })
        .collect()
}

/// Every path the code names that starts at `crate` or `super`.
fn named_paths(code: &str) -> Vec<String> {
    let mut paths = Vec::new();
    let use_item = regex::Regex::new(r"(?s)\buse\s+((?:crate|super|self)\b[^;]*);").unwrap();
    for captures in use_item.captures_iter(code) {
        paths.extend(expand_use(&captures[1]));
    }
    let without_uses = use_item.replace_all(code, "");
    let inline = regex::Regex::new(r"\b((?:crate|super)(?:::(?:super|\w+))+)").unwrap();
    for captures in inline.captures_iter(&without_uses) {
        paths.push(captures[1].to_owned());
    }
    paths
}

/// `path` as named in `module` made absolute: `crate` is the root, `self` the module itself and
/// each `super` one level up (the same for `a/b.rs` and `a/b/mod.rs`, both module `a::b`).
fn absolute(path: &str, module: &str) -> Vec<String> {
    let mut base: Vec<String> = module
        .split("::")
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect();
    let mut segments = path.split("::").peekable();
    match segments.peek().copied() {
        Some("crate") => {
            base.clear();
            segments.next();
        }
        Some("self") => {
            segments.next();
        }
        _ => {
            while segments.peek() == Some(&"super") {
                segments.next();
                base.pop();
            }
        }
    }
    base.extend(segments.map(str::to_owned));
    base
}

/// The longest prefix of `path` that is a module of the crate.
fn resolve(path: &[String], modules: &BTreeSet<String>) -> Option<String> {
    (1..=path.len())
        .rev()
        .map(|n| path[..n].join("::"))
        .find(|candidate| modules.contains(candidate))
}

fn is_ancestor_or_self(ancestor: &str, module: &str) -> bool {
    ancestor.is_empty() || module == ancestor || module.starts_with(&format!("{ancestor}::"))
}

struct Crate {
    modules: BTreeSet<String>,
    edges: BTreeMap<String, BTreeSet<String>>,
    files: BTreeMap<String, PathBuf>,
}

fn read_crate() -> Crate {
    let mut files = Vec::new();
    rust_files(&src_dir(), &mut files);
    let mut by_module = BTreeMap::new();
    for file in files {
        if let Some(module) = module_of(&file) {
            by_module.insert(module, file);
        }
    }
    let modules: BTreeSet<String> = by_module.keys().cloned().collect();
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (module, file) in &by_module {
        let code = code_of(&std::fs::read_to_string(file).unwrap());
        for path in named_paths(&code) {
            let absolute = absolute(&path, module);
            let Some(target) = resolve(&absolute, &modules) else {
                continue;
            };
            if is_ancestor_or_self(&target, module) || is_ancestor_or_self(module, &target) {
                continue;
            }
            edges.entry(module.clone()).or_default().insert(target);
        }
    }
    Crate {
        modules,
        edges,
        files: by_module,
    }
}

/// Strongly connected components with more than one module (Tarjan).
fn cycles(graph: &Crate) -> Vec<Vec<String>> {
    struct State<'a> {
        graph: &'a Crate,
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        on_stack: BTreeSet<&'a str>,
        found: Vec<Vec<String>>,
    }
    fn visit<'a>(state: &mut State<'a>, node: &'a str) {
        let n = state.index.len();
        state.index.insert(node, n);
        state.low.insert(node, n);
        state.stack.push(node);
        state.on_stack.insert(node);
        if let Some(targets) = state.graph.edges.get(node) {
            for target in targets {
                let target = target.as_str();
                if !state.index.contains_key(target) {
                    visit(state, target);
                    let low = state.low[node].min(state.low[target]);
                    state.low.insert(node, low);
                } else if state.on_stack.contains(target) {
                    let low = state.low[node].min(state.index[target]);
                    state.low.insert(node, low);
                }
            }
        }
        if state.low[node] == state.index[node] {
            let mut component = Vec::new();
            while let Some(member) = state.stack.pop() {
                state.on_stack.remove(member);
                component.push(member.to_owned());
                if member == node {
                    break;
                }
            }
            if component.len() > 1 {
                component.sort();
                state.found.push(component);
            }
        }
    }
    let mut state = State {
        graph,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        found: Vec::new(),
    };
    for module in &graph.modules {
        if !state.index.contains_key(module.as_str()) {
            visit(&mut state, module);
        }
    }
    state.found
}

fn layer_of(module: &str) -> Option<usize> {
    let top = module.split("::").next().unwrap_or_default();
    LAYERS.iter().position(|layer| layer.contains(&top))
}

#[test]
fn the_import_reader_sees_real_imports() {
    // The checks below can only fail if edges are found at all: a sample the crate must have.
    let graph = read_crate();
    let recording = graph
        .edges
        .get("recording::session")
        .cloned()
        .unwrap_or_default();
    assert!(
        recording.iter().any(|m| m.starts_with("storage")),
        "recording::session imports storage, but the reader found {recording:?}"
    );
    assert_eq!(
        expand_use("crate::a::{b, c::{d, e as f}, self}"),
        [
            "crate::a::b",
            "crate::a::c::d",
            "crate::a::c::e",
            "crate::a"
        ]
    );
}

#[test]
fn no_import_cycles_between_files() {
    let graph = read_crate();
    let found = cycles(&graph);
    assert!(
        found.is_empty(),
        "modules that import each other (directly or through others): {found:#?}"
    );
}

#[test]
fn no_module_imports_from_a_layer_above_its_own() {
    let graph = read_crate();
    let mut upward = Vec::new();
    for (from, targets) in &graph.edges {
        let Some(from_layer) = layer_of(from) else {
            continue;
        };
        for to in targets {
            if let Some(to_layer) = layer_of(to)
                && to_layer > from_layer
            {
                upward.push(format!("{from} -> {to}"));
            }
        }
    }
    for module in &graph.modules {
        if !module.is_empty() {
            assert!(
                layer_of(module).is_some(),
                "module {module} is in no layer of tests/integration/architecture.rs"
            );
        }
    }
    assert!(
        upward.is_empty(),
        "imports from a higher layer: {upward:#?}"
    );
}

#[test]
fn unsafe_code_is_confined_to_the_ffi_module() {
    let graph = read_crate();
    let word = regex::Regex::new(r"\bunsafe\b").unwrap();
    let mut outside = Vec::new();
    for (module, file) in &graph.files {
        let text = std::fs::read_to_string(file).unwrap();
        let code: String = text
            .lines()
            .filter(|line| !line.trim_start().starts_with("//"))
            .collect::<Vec<_>>()
            .join("\n");
        if word.is_match(&code) && module != "av" && !module.starts_with("av::") {
            outside.push(file.display().to_string());
        }
    }
    assert!(outside.is_empty(), "unsafe outside src/av/: {outside:?}");
    let main = std::fs::read_to_string(src_dir().join("main.rs")).unwrap();
    assert!(!word.is_match(&main), "unsafe in src/main.rs");
}
