//! The module stack, checked on the source: the engine side never draws, and each top-level
//! module uses only the modules below it. A change that breaks the stack fails here, not in review.
//! Every line of non-test code is read, wherever a file declares its test module; the check is
//! itself tested on a fixture that hides an upward import below `mod tests;`. The README's module
//! map is the same list as [`STACK`].

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

/// Top-level modules from the bottom up: each may use only those before it. The front ends sit
/// on `app`, which runs either of them as a parameter; `testkit` serves the tests and examples.
const STACK: &[&str] = &[
    "vocab", "brokers", "metrics", "analysis", "engine", "report", "plot", "profile", "cli",
    "config", "control", "tools", "logging", "app", "headless", "tui", "cmd", "testkit",
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

/// `text` without its test-only items: every item under `#[cfg(test)]`, whether a `mod tests;`
/// line (its file is left out by [`test_files`]) or a block (`mod tests { ... }`), wherever it
/// sits in the file. Everything else is kept, so an import below a test module is still read.
fn non_test_code(text: &str) -> String {
    let mut out = String::new();
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        if line.trim() != "#[cfg(test)]" {
            out.push_str(line);
            out.push('\n');
            continue;
        }
        // Skip the item: its further attributes, then one line ending in `;`, or a block.
        let mut depth = 0i32;
        for item in lines.by_ref() {
            let code = item.split("//").next().unwrap_or("");
            depth += code.matches('{').count() as i32 - code.matches('}').count() as i32;
            let t = code.trim();
            if t.starts_with("#[") && depth == 0 {
                continue;
            }
            if depth <= 0 && (t.ends_with(';') || t.ends_with('}')) {
                break;
            }
        }
    }
    out
}

/// Files that only tests compile: `tests.rs`, and any file declared as `#[cfg(test)] mod x;`.
fn test_files(files: &[PathBuf]) -> BTreeSet<PathBuf> {
    let mut found = BTreeSet::new();
    for file in files {
        let text = fs::read_to_string(file).expect("readable source");
        let lines: Vec<&str> = text.lines().map(str::trim).collect();
        for pair in lines.windows(2) {
            if pair[0] != "#[cfg(test)]" {
                continue;
            }
            let Some(name) = pair[1]
                .strip_prefix("mod ")
                .and_then(|r| r.strip_suffix(';'))
            else {
                continue;
            };
            let dir = match file.file_name().and_then(|n| n.to_str()) {
                Some("mod.rs" | "lib.rs" | "main.rs") => file.parent().unwrap().to_path_buf(),
                _ => file.with_extension(""),
            };
            found.insert(dir.join(format!("{name}.rs")));
            found.insert(dir.join(name).join("mod.rs"));
        }
    }
    found.extend(files.iter().filter(|f| f.ends_with("tests.rs")).cloned());
    found
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

/// Every non-test source file with its module and its non-test code.
fn sources() -> Vec<(String, PathBuf, String)> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let tests = test_files(&files);
    files
        .into_iter()
        .filter(|f| !tests.contains(f))
        .map(|f| {
            let text = fs::read_to_string(&f).expect("readable source");
            (module_of(&src, &f), f, non_test_code(&text))
        })
        .collect()
}

/// What breaks the stack in `code` of a file of `module`: each a sentence naming the module used.
fn upward_uses(module: &str, code: &str) -> Vec<String> {
    let rank = |m: &str| STACK.iter().position(|x| *x == m);
    let Some(mine) = rank(module) else {
        return vec![format!("{module} is not in the stack of tests/layers.rs")];
    };
    uses(code)
        .into_iter()
        .filter(|used| rank(used).is_some_and(|theirs| theirs > mine))
        .map(|used| format!("{module} uses {used}, which sits above it"))
        .collect()
}

#[test]
fn the_engine_side_never_draws() {
    for (module, file, code) in sources() {
        if NO_TERMINAL.contains(&module.as_str()) {
            for crate_name in ["ratatui", "crossterm"] {
                assert!(
                    !code.contains(crate_name),
                    "{} uses {crate_name}: {module} must not know about the dashboard",
                    file.display()
                );
            }
        }
    }
}

#[test]
fn each_module_uses_only_those_below_it() {
    for (module, file, code) in sources() {
        if module == "main" || module == "lib" {
            continue;
        }
        let wrong = upward_uses(&module, &code);
        assert!(wrong.is_empty(), "{}: {}", file.display(), wrong.join("; "));
    }
}

#[test]
fn the_check_reads_below_a_test_module() {
    let fixture = "//! A module that declares its tests first.\n\
                   #[cfg(test)]\nmod tests;\n\n\
                   use crate::metrics::Snapshot;\n\
                   use crate::{report, engine::Engine};\n\
                   #[cfg(test)]\nmod more {\n    use crate::tui::Tui;\n    fn f() {}\n}\n\
                   pub fn after() -> u32 {\n    crate::app::answer()\n}\n";
    let code = non_test_code(fixture);
    assert!(code.contains("pub fn after"), "{code}");
    assert!(
        !code.contains("crate::tui"),
        "a test block is left out: {code}"
    );
    let wrong = upward_uses("analysis", &code);
    assert_eq!(
        wrong,
        [
            "analysis uses app, which sits above it",
            "analysis uses engine, which sits above it",
            "analysis uses report, which sits above it",
        ],
        "{code}"
    );
    assert!(upward_uses("testkit", &code).is_empty());
}

#[test]
fn the_readme_map_is_the_stack() {
    let readme = fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md"))
        .expect("README.md");
    let map: Vec<&str> = readme
        .split("### Module map")
        .nth(1)
        .expect("README.md has a '### Module map' section")
        .lines()
        .skip_while(|l| !l.starts_with("- `"))
        .take_while(|l| l.starts_with("- `") || l.starts_with("  "))
        .filter_map(|l| l.strip_prefix("- `"))
        .map(|l| l.split(['`', '/', '.']).next().unwrap_or(""))
        .collect();
    assert_eq!(map, STACK, "README's module map and tests/layers.rs differ");
}
