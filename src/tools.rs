//! The subcommands that work on reports rather than brokers: compare, plot, merge. Each returns
//! its exit code, or an error with the code that says what kind it is.

use crate::cli::{CompareArgs, MergeArgs, PlotArgs};
use crate::plot::{self, Plotted};
use crate::report::compare::{compare as compare_reports, CompareOptions, Group};
use crate::report::{merge as merge_reports, Report};
use std::path::{Path, PathBuf};

/// Exit code: a gate failed.
pub const EXIT_GATE: u8 = 3;
/// Exit code: input that cannot be used.
pub const EXIT_INVALID: u8 = 2;

/// A subcommand that could not do its work.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct ToolError {
    /// The exit code.
    pub code: u8,
    /// What went wrong, naming the file.
    pub message: String,
}

impl ToolError {
    fn invalid(message: String) -> ToolError {
        ToolError {
            code: EXIT_INVALID,
            message,
        }
    }
}

/// Each report with a label: its file name, or its whole path where names repeat.
fn load_all(paths: &[PathBuf]) -> Result<Vec<(String, Report)>, ToolError> {
    let name = |p: &Path| {
        p.file_name().map_or_else(
            || p.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        )
    };
    let names: Vec<String> = paths.iter().map(|p| name(p)).collect();
    paths
        .iter()
        .zip(&names)
        .map(|(p, n)| {
            let label = if names.iter().filter(|x| *x == n).count() > 1 {
                p.display().to_string()
            } else {
                n.clone()
            };
            let report = Report::load(p).map_err(|e| ToolError::invalid(e.to_string()))?;
            Ok((label, report))
        })
        .collect()
}

/// `pubduel compare`: prints the comparison; exit 3 when a gate failed.
pub fn compare(args: &CompareArgs) -> Result<u8, ToolError> {
    let stages = args.stages().map_err(ToolError::invalid)?;
    if args.vs.is_empty() && args.reports.len() < 2 {
        return Err(ToolError::invalid(
            "compare needs BASE and NEW reports (or BASE... --vs NEW...)".into(),
        ));
    }
    let paths: Vec<PathBuf> = args.reports.iter().chain(&args.vs).cloned().collect();
    let mut reports = load_all(&paths)?;
    let groups: Vec<Group> = if args.vs.is_empty() {
        reports.into_iter().map(|(l, r)| Group::one(l, r)).collect()
    } else {
        let new = reports.split_off(args.reports.len());
        vec![Group { runs: reports }, Group { runs: new }]
    };
    let opts = CompareOptions {
        match_by: args.match_by,
        stages,
        fail_if: args.fail_if.clone(),
        min_effect: args.min_effect,
    };
    let c = compare_reports(&groups, &opts).map_err(|e| ToolError::invalid(e.to_string()))?;
    print!("{}", c.render(args.format));
    if c.failures.is_empty() {
        Ok(0)
    } else {
        eprintln!(
            "compare: {} gate(s) failed: {}",
            c.failures.len(),
            (c.failures.iter())
                .map(|f| format!("{} ({})", f.expr, f.detail))
                .collect::<Vec<_>>()
                .join("; ")
        );
        Ok(EXIT_GATE)
    }
}

/// `pubduel merge`: writes the merged report.
pub fn merge(args: &MergeArgs) -> Result<u8, ToolError> {
    let reports = load_all(&args.reports)?;
    let merged = merge_reports(&reports).map_err(|e| ToolError::invalid(e.to_string()))?;
    merged.write(&args.output).map_err(|e| ToolError {
        code: 1,
        message: format!("cannot write {}: {e}", args.output.display()),
    })?;
    println!(
        "merged {} reports into {}",
        reports.len(),
        args.output.display()
    );
    Ok(0)
}

/// `pubduel plot`: draws the reports into one image.
pub fn plot(args: &PlotArgs) -> Result<u8, ToolError> {
    let reports = load_all(&args.reports)?;
    let plotted: Vec<Plotted<'_>> = reports
        .iter()
        .map(|(label, report)| Plotted {
            label: label.trim_end_matches(".toml").to_string(),
            report,
        })
        .collect();
    plot::plot(&plotted, &args.output).map_err(|e| ToolError {
        code: if e.is_input() { EXIT_INVALID } else { 1 },
        message: e.to_string(),
    })?;
    println!("plot written to {}", args.output.display());
    Ok(0)
}
