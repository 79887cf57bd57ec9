//! The module stack, checked on the source: the engine side never draws, and each top-level
//! module uses only the modules below it. A change that breaks the stack fails here, not in review.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

/// Top-level modules from the bottom up: each may use only those before it. The front ends sit
/// on `app`, which runs either of them as a parameter; `testkit` serves the tests.
const STACK: &[&str] = &[
    "vocab", "brokers", "metrics", "analysis", "engine", "report", "plot", "profile", "cli",
    "tools", "logging", "app", "headless", "tui", "cmd", "testkit",
];

/// Modules that must not know about the terminal.
const NO_TERMINAL: &[&str] = &[
    "vocab", "brokers", "metrics", "analysis", "engine", "report", "plot",
];

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).expect("src is readable").flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The module a file belongs to (`src/engine/lane.rs` -> `engine`).
fn module_of(src: &Path, file: &Path) -> String {
    let rel = file.strip_prefix(src).expect("under src");
    let first = rel.components().next().expect("a component");
    first
        .as_os_str()
        .to_string_lossy()
        .trim_end_matches(".rs")
        .to_string()
}

/// The file's code before its test module (tests may use anything).
fn code(file: &Path) -> String {
    let text = fs::read_to_string(file).expect("readable source");
    match text.find("\n#[cfg(test)]") {
        Some(i) => text[..i].to_string(),
        None => text,
    }
}

/// Modules named after `crate::` in `text`, including `crate::{a, b}` groups.
fn uses(text: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    for part in text.split("crate::").skip(1) {
        let names: Vec<&str> = match part.strip_prefix('{') {
            Some(group) => group.split('}').next().unwrap_or("").split(',').collect(),
            None => vec![part],
        };
        for name in names {
            let word: String = name
                .trim()
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            if !word.is_empty() {
                found.insert(word);
            }
        }
    }
    found
}

fn sources() -> (PathBuf, Vec<PathBuf>) {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let files = files
        .into_iter()
        .filter(|f| !f.ends_with("tests.rs") && !f.components().any(|c| c.as_os_str() == "tests"))
        .collect();
    (src, files)
}

#[test]
fn the_engine_side_never_draws() {
    let (src, files) = sources();
    for file in files {
        let module = module_of(&src, &file);
        if NO_TERMINAL.contains(&module.as_str()) {
            let text = code(&file);
            for crate_name in ["ratatui", "crossterm"] {
                assert!(
                    !text.contains(crate_name),
                    "{} uses {crate_name}: {module} must not know about the dashboard",
                    file.display()
                );
            }
        }
    }
}

#[test]
fn each_module_uses_only_those_below_it() {
    let (src, files) = sources();
    let rank = |m: &str| STACK.iter().position(|x| *x == m);
    for file in files {
        let module = module_of(&src, &file);
        if module == "main" || module == "lib" {
            continue;
        }
        let mine = rank(&module)
            .unwrap_or_else(|| panic!("{module} is not in the stack of tests/layers.rs"));
        for used in uses(&code(&file)) {
            if let Some(theirs) = rank(&used) {
                assert!(
                    theirs <= mine,
                    "{} ({module}) uses {used}, which sits above it",
                    file.display()
                );
            }
        }
    }
}
