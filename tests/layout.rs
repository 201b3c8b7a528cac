//! The pipeline's layout is a rule, not a habit: each stage's folder may
//! import only the stages below it, no file inside a folder imports a file
//! that imports it back, and no source file grows past the size a reader
//! can hold in mind.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

/// Stage → the stages it may `use crate::…` from (itself always allowed).
const ALLOWED: &[(&str, &[&str])] = &[
    ("wire", &[]),
    ("capture", &["wire"]),
    ("decode", &["wire", "capture"]),
    ("track", &["wire"]),
    ("diagnose", &["wire", "track"]),
    ("output", &["wire", "track", "diagnose"]),
    (
        "pipeline",
        &["wire", "capture", "decode", "track", "diagnose", "output"],
    ),
    (
        "cli",
        &[
            "wire", "capture", "decode", "track", "diagnose", "output", "pipeline",
        ],
    ),
];

const MAX_LINES: usize = 800;

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).expect("read src") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The stage a file belongs to: its folder under src/, or its own name for
/// a top-level file (`pipeline.rs`).
fn stage_of(path: &Path) -> Option<String> {
    let rel = path.strip_prefix(src()).ok()?;
    let first = rel.components().next()?.as_os_str().to_str()?;
    Some(first.trim_end_matches(".rs").to_string())
}

/// Code lines, without `#[cfg(test)]` modules at the end of a file (tests
/// may reach anywhere to build their inputs).
fn non_test_code(text: &str) -> &str {
    match text.find("#[cfg(test)]\nmod ") {
        Some(i) => &text[..i],
        None => text,
    }
}

/// Every `crate::STAGE` a file names, outside comments.
fn crate_refs(code: &str) -> BTreeSet<String> {
    let mut refs = BTreeSet::new();
    for line in code.lines() {
        let line = line.split("//").next().unwrap_or("");
        let mut rest = line;
        while let Some(i) = rest.find("crate::") {
            rest = &rest[i + "crate::".len()..];
            let name: String = rest
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            if !name.is_empty() {
                refs.insert(name);
            }
        }
    }
    refs
}

#[test]
fn each_stage_imports_only_the_stages_below_it() {
    let allowed: BTreeMap<&str, &[&str]> = ALLOWED.iter().copied().collect();
    let mut files = Vec::new();
    rust_files(&src(), &mut files);
    let mut broken = Vec::new();
    for file in &files {
        let Some(stage) = stage_of(file) else {
            continue;
        };
        if stage == "lib" || stage == "main" {
            continue;
        }
        let Some(ok) = allowed.get(stage.as_str()) else {
            broken.push(format!(
                "{}: stage `{stage}` is not in the layout rule",
                file.display()
            ));
            continue;
        };
        let text = fs::read_to_string(file).expect("read");
        for r in crate_refs(non_test_code(&text)) {
            if r != stage && !ok.contains(&r.as_str()) {
                broken.push(format!("{}: {stage} imports crate::{r}", file.display()));
            }
        }
    }
    assert!(
        broken.is_empty(),
        "layout rule broken:\n{}",
        broken.join("\n")
    );
}

#[test]
fn no_import_circles_inside_a_folder() {
    let mut files = Vec::new();
    rust_files(&src(), &mut files);
    // folder → file → files of the same folder it imports (`super::x` or
    // `crate::folder::x`).
    let mut graph: BTreeMap<String, BTreeMap<String, BTreeSet<String>>> = BTreeMap::new();
    for file in &files {
        let Some(dir) = file.parent() else { continue };
        if dir == src() {
            continue;
        }
        let folder = dir
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("")
            .to_string();
        let name = file
            .file_stem()
            .and_then(|n| n.to_str())
            .unwrap_or("")
            .to_string();
        if name == "mod" || name.contains("test") {
            continue;
        }
        let text = fs::read_to_string(file).expect("read");
        let code = non_test_code(&text);
        let mut deps = BTreeSet::new();
        for line in code.lines() {
            let line = line.split("//").next().unwrap_or("").trim();
            for prefix in ["super::".to_string(), format!("crate::{folder}::")] {
                let mut rest = line;
                while let Some(i) = rest.find(prefix.as_str()) {
                    rest = &rest[i + prefix.len()..];
                    let dep: String = rest
                        .chars()
                        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                        .collect();
                    if !dep.is_empty() && dep != name && dir.join(format!("{dep}.rs")).exists() {
                        deps.insert(dep);
                    }
                }
            }
        }
        graph.entry(folder).or_default().insert(name, deps);
    }
    for (folder, files) in &graph {
        // Depth-first search for a back edge.
        fn visit(
            n: &str,
            g: &BTreeMap<String, BTreeSet<String>>,
            path: &mut Vec<String>,
            done: &mut BTreeSet<String>,
        ) -> Option<Vec<String>> {
            if let Some(i) = path.iter().position(|p| p == n) {
                let mut cycle = path[i..].to_vec();
                cycle.push(n.to_string());
                return Some(cycle);
            }
            if done.contains(n) {
                return None;
            }
            path.push(n.to_string());
            for d in g.get(n).into_iter().flatten() {
                if let Some(c) = visit(d, g, path, done) {
                    return Some(c);
                }
            }
            path.pop();
            done.insert(n.to_string());
            None
        }
        let mut done = BTreeSet::new();
        for f in files.keys() {
            if let Some(cycle) = visit(f, files, &mut Vec::new(), &mut done) {
                panic!("import circle in src/{folder}/: {}", cycle.join(" -> "));
            }
        }
    }
}

#[test]
fn no_source_file_is_over_800_lines() {
    let mut files = Vec::new();
    rust_files(&src(), &mut files);
    let long: Vec<String> = files
        .iter()
        .filter_map(|f| {
            let n = fs::read_to_string(f).expect("read").lines().count();
            (n > MAX_LINES).then(|| format!("{}: {n} lines", f.display()))
        })
        .collect();
    assert!(
        long.is_empty(),
        "files over {MAX_LINES} lines:\n{}",
        long.join("\n")
    );
}

#[test]
fn the_rule_sees_a_violation() {
    // The scanner itself: a line naming a stage above is found, a comment
    // is not.
    let refs = crate_refs("use crate::output::sink::Sink;\n// crate::cli is mentioned here\n");
    assert_eq!(
        refs.into_iter().collect::<Vec<_>>(),
        vec!["output".to_string()]
    );
}

/// Structs in src/track/ whose fields stay `pub`, with the reason. Every
/// other struct there keeps its fields private to the stage and gives
/// read-only accessors, so nothing outside `track` can change tracker
/// state and a connection's layout can change without touching its readers.
const PUB_FIELDS_ALLOWED: &[(&str, &str)] = &[
    (
        "TrackerConfig",
        "the tracker's settings: the command line and library callers set them",
    ),
    (
        "Wire",
        "a segment builder compiled only for unit tests, not tracker state: tests set its clock",
    ),
];

/// `(struct, line)` for every `pub name:` field line in `code`, each named
/// after the struct it sits in (`?` when outside any).
fn pub_fields(code: &str) -> Vec<(String, String)> {
    let mut found = Vec::new();
    // (struct name, its indentation) while inside a struct's braces.
    let mut inside: Option<(String, usize)> = None;
    for line in code.lines() {
        let indent = line.len() - line.trim_start().len();
        let trimmed = line.trim();
        if let Some((_, at)) = &inside {
            if indent == *at && trimmed.starts_with('}') {
                inside = None;
                continue;
            }
        }
        if let Some(i) = trimmed.find("struct ") {
            let before = &trimmed[..i];
            if trimmed.ends_with('{') && (before.is_empty() || before.starts_with("pub")) {
                let name: String = trimmed[i + "struct ".len()..]
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                inside = Some((name, indent));
                continue;
            }
        }
        let Some(rest) = trimmed.strip_prefix("pub ") else {
            continue;
        };
        let name_len = rest
            .chars()
            .take_while(|c| c.is_ascii_lowercase() || *c == '_')
            .count();
        if name_len > 0 && rest[name_len..].starts_with(':') {
            let owner = inside.as_ref().map_or("?", |(n, _)| n.as_str());
            found.push((owner.to_string(), trimmed.to_string()));
        }
    }
    found
}

#[test]
fn tracker_state_has_no_pub_fields() {
    let mut files = Vec::new();
    rust_files(&src().join("track"), &mut files);
    files.sort();
    let mut broken = Vec::new();
    let mut exempt_seen = BTreeSet::new();
    for file in &files {
        let text = fs::read_to_string(file).expect("read");
        for (owner, line) in pub_fields(&text) {
            if PUB_FIELDS_ALLOWED.iter().any(|(s, _)| *s == owner) {
                exempt_seen.insert(owner);
            } else {
                broken.push(format!("{}: {owner}: `{line}`", file.display()));
            }
        }
    }
    assert!(
        broken.is_empty(),
        "pub fields in src/track/ (make them pub(super) and add a getter):\n{}",
        broken.join("\n")
    );
    // An exemption whose struct no longer has pub fields must go.
    for (s, why) in PUB_FIELDS_ALLOWED {
        assert!(
            exempt_seen.contains(*s),
            "exemption `{s}` ({why}) has no pub field left"
        );
    }
}

#[test]
fn the_pub_field_scanner_sees_a_pub_field() {
    let code = "pub struct Kept {\n    pub(super) ord: u64,\n    len: u32,\n}\n\
                pub struct Leaky {\n    /// doc\n    pub segments: u64,\n    pub fn_like: Vec<u8>,\n}\n\
                impl Leaky {\n    pub fn segments(&self) -> u64 {\n        self.segments\n    }\n}\n";
    assert_eq!(
        pub_fields(code),
        vec![
            ("Leaky".to_string(), "pub segments: u64,".to_string()),
            ("Leaky".to_string(), "pub fn_like: Vec<u8>,".to_string()),
        ]
    );
}
