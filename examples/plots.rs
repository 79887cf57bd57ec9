//! Writes sample charts of synthetic reports into a folder, for a person to look at:
//! `cargo run --example plots -- DIR` (one report as SVG and PNG, a schema 1 report, and two
//! reports overlaid).

use pubduel::plot::{plot, Plotted};
use pubduel::testkit::samples::{report, schema_1};
use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    let Some(dir) = std::env::args_os().nth(1).map(PathBuf::from) else {
        eprintln!("usage: cargo run --example plots -- DIR");
        return ExitCode::from(2);
    };
    if let Err(e) = std::fs::create_dir_all(&dir) {
        eprintln!("cannot make {}: {e}", dir.display());
        return ExitCode::FAILURE;
    }
    let (a, b) = (report(1.0, 1), report(1.6, 2));
    let old = schema_1(report(1.0, 3));
    let one = |label: &str, r| {
        vec![Plotted {
            label: label.into(),
            report: r,
        }]
    };
    let two = vec![
        Plotted {
            label: "before".into(),
            report: &a,
        },
        Plotted {
            label: "after".into(),
            report: &b,
        },
    ];
    let charts = [
        (one("run", &a), "one.svg"),
        (one("run", &a), "one.png"),
        (one("old", &old), "schema1.png"),
        (two, "two.png"),
    ];
    for (lines, file) in charts {
        let path = dir.join(file);
        if let Err(e) = plot(&lines, &path) {
            eprintln!("{}: {e}", path.display());
            return ExitCode::FAILURE;
        }
        println!("{}", path.display());
    }
    ExitCode::SUCCESS
}
