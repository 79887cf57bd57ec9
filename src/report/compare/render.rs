//! A comparison as text: an aligned table for the terminal, markdown for a review, TOML for tools.

use super::verdict::fmt_share;
use super::{Basis, Cell, Comparison, Row, Verdict};
use crate::vocab::fmt_us;

/// How `compare` prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Format {
    /// Aligned columns, one block per lane and phase.
    #[default]
    Table,
    /// A markdown table to paste into a review.
    Markdown,
    /// TOML, for tools.
    Toml,
}

impl Comparison {
    /// The comparison in `format`.
    pub fn render(&self, format: Format) -> String {
        match format {
            Format::Table => self.table(),
            Format::Markdown => self.markdown(),
            Format::Toml => toml::to_string(self).unwrap_or_else(|e| format!("# {e}\n")),
        }
    }

    fn header(&self) -> Vec<String> {
        let mut h = vec!["metric".to_string(), self.reports[0].clone()];
        for label in &self.reports[1..] {
            h.extend([label.clone(), "ratio".into(), "verdict".into()]);
        }
        h
    }

    fn cells(row: &Row) -> Vec<String> {
        let mut cells = vec![row.metric.clone(), value(row.base, &row.unit)];
        for c in &row.others {
            match c {
                Some(c) => cells.extend([value(c.value, &row.unit), ratio(c), verdict(c)]),
                None => cells.extend(["-".into(), String::new(), String::new()]),
            }
        }
        cells
    }

    fn blocks(&self) -> Vec<(String, Vec<&Row>)> {
        let mut blocks: Vec<(String, Vec<&Row>)> = Vec::new();
        for row in &self.rows {
            let title = format!("{} · phase {}", row.lane, row.phase);
            match blocks.last_mut().filter(|(t, _)| *t == title) {
                Some((_, rows)) => rows.push(row),
                None => blocks.push((title, vec![row])),
            }
        }
        blocks
    }

    fn table(&self) -> String {
        let mut out = format!(
            "BASE {}  vs  {}\n",
            self.members[0],
            self.members[1..].join(", ")
        );
        let header = self.header();
        for (title, rows) in self.blocks() {
            let lines: Vec<Vec<String>> = std::iter::once(header.clone())
                .chain(rows.iter().map(|r| Self::cells(r)))
                .collect();
            out.push_str(&format!("\n{title}\n"));
            out.push_str(&aligned(&lines));
        }
        out.push_str(&self.trailer());
        out
    }

    fn markdown(&self) -> String {
        let mut header = vec!["lane".to_string(), "phase".into()];
        header.extend(self.header());
        let mut out = format!("| {} |\n", header.join(" | "));
        out.push_str(&format!("|{}\n", "---|".repeat(header.len())));
        for row in &self.rows {
            let mut cells = vec![row.lane.clone(), row.phase.to_string()];
            cells.extend(Self::cells(row));
            out.push_str(&format!("| {} |\n", cells.join(" | ")));
        }
        out.push_str(&self.trailer());
        out
    }

    fn trailer(&self) -> String {
        let mut out = String::new();
        out.push_str(&format!(
            "\nverdict: a change when the per-second figures differ (Mann-Whitney, p < {}) by \
             {}% or more, else same; see compare --help",
            super::ALPHA,
            fmt_share(self.min_effect)
        ));
        if self.members.iter().any(|m| m.contains(' ')) {
            for (label, members) in self.reports.iter().zip(&self.members) {
                out.push_str(&format!("\nnote: {label} is {members}"));
            }
        }
        for u in &self.unmatched {
            out.push_str(&format!("\nnote: {u}"));
        }
        for v in &self.versions {
            out.push_str(&format!("\nnote: measured with another version: {v}"));
        }
        for f in &self.failures {
            out.push_str(&format!("\nFAILED {}: {}", f.expr, f.detail));
        }
        if !out.is_empty() {
            out.push('\n');
        }
        out
    }
}

fn value(v: f64, unit: &str) -> String {
    match unit {
        "us" => fmt_us(v.round() as u64),
        "msg/s" => format!("{v:.1}/s"),
        _ => format!("{v:.0}"),
    }
}

fn ratio(c: &Cell) -> String {
    match c.ratio {
        None => "new".into(),
        Some(r) if r >= 100.0 => format!("{r:.0}x"),
        Some(r) if r >= 10.0 => format!("{r:.1}x"),
        Some(r) if r > 0.0 && r < 0.01 => "<0.01x".into(),
        Some(r) => format!("{r:.2}x"),
    }
}

/// The verdict with its basis: `better (p=0.003, n=18+18)`, `same (p=0.41, n=10+10)`,
/// `same (99% ci, n=2+2)` when there were too few seconds (`99% ci` alone for reports without
/// them), `same (poisson)` for counts.
fn verdict(c: &Cell) -> String {
    let word = match c.verdict {
        Verdict::Better => "better",
        Verdict::Worse => "worse",
        Verdict::Same => "same",
    };
    let n = format!("n={}+{}", c.n_base, c.n_new);
    let mut basis = match (c.basis, c.p) {
        (Basis::Rank, Some(p)) => format!("{}, {n}", fmt_p(p)),
        // A report without per-second quantiles has no seconds to count.
        (Basis::Rank | Basis::Interval, _) if c.n_base + c.n_new == 0 => "99% ci".to_string(),
        (Basis::Rank | Basis::Interval, _) => format!("99% ci, {n}"),
        (Basis::Poisson, _) => "poisson".to_string(),
    };
    if let Some(note) = &c.note {
        basis.push_str(&format!(", {note}"));
    }
    format!("{word} ({basis})")
}

/// A p-value as benchstat shows one: `p=0.41`, three digits below 0.1, `p<0.001` below that.
fn fmt_p(p: f64) -> String {
    match p {
        p if p < 0.001 => "p<0.001".to_string(),
        p if p < 0.1 => format!("p={p:.3}"),
        p => format!("p={p:.2}"),
    }
}

/// Left-aligns the first column and right-aligns the others, two spaces apart.
fn aligned(lines: &[Vec<String>]) -> String {
    let cols = lines.iter().map(Vec::len).max().unwrap_or(0);
    let width: Vec<usize> = (0..cols)
        .map(|c| {
            lines
                .iter()
                .filter_map(|l| l.get(c))
                .map(|s| s.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for l in lines {
        let cells: Vec<String> = l
            .iter()
            .enumerate()
            .map(|(c, s)| match c {
                0 => format!("  {s:<w$}", w = width[c]),
                _ if s.is_empty() => " ".repeat(width[c]),
                _ if width[c] > 0 && c % 3 == 1 && c > 1 => format!("{s:<w$}", w = width[c]),
                _ => format!("{s:>w$}", w = width[c]),
            })
            .collect();
        out.push_str(cells.join("  ").trim_end());
        out.push('\n');
    }
    out
}
