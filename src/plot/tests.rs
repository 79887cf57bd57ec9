//! Charts of synthetic reports: SVG and PNG files are written and checked for their shape.
//! `cargo run --example plots -- DIR` writes sample images to look at.

use super::style::{axis_rate, axis_us, nines, nines_label};
use super::*;
use crate::report::Report;
use crate::testkit::samples::{report, schema_1};

fn one<'r>(label: &str, report: &'r Report) -> Vec<Plotted<'r>> {
    vec![Plotted {
        label: label.into(),
        report,
    }]
}

/// True when every element opened in `svg` is closed, in order.
fn well_formed(svg: &str) -> bool {
    let mut open: Vec<&str> = Vec::new();
    for tag in svg
        .split('<')
        .skip(1)
        .map(|t| t.split('>').next().unwrap_or(""))
    {
        let name = |t: &str| t.split_whitespace().next().unwrap_or("").to_string();
        if tag.starts_with('?') || tag.starts_with('!') || tag.ends_with('/') {
            continue;
        }
        match tag.strip_prefix('/') {
            Some(closing) if open.pop().map(name) != Some(name(closing)) => return false,
            Some(_) => {}
            None => open.push(tag),
        }
    }
    open.is_empty()
}

#[test]
fn an_svg_of_one_report_holds_both_lanes() {
    let r = report(1.0, 1);
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run.svg");
    plot(&one("run", &r), &out).unwrap();
    let svg = std::fs::read_to_string(&out).unwrap();
    assert!(svg.starts_with("<svg"), "{}", &svg[..80]);
    assert!(well_formed(&svg), "the SVG is not well formed");
    assert!(svg.len() > 5000, "only {} bytes", svg.len());
    for text in [
        "kafka",
        "nats",
        "ack latency by percentile",
        "99.9%",
        "rate 10k",
    ] {
        assert!(svg.contains(text), "no {text:?} in the SVG");
    }
}

#[test]
fn a_png_of_two_reports_is_a_png() {
    let (a, b) = (report(1.0, 1), report(1.6, 2));
    let reports = [
        Plotted {
            label: "a".into(),
            report: &a,
        },
        Plotted {
            label: "b".into(),
            report: &b,
        },
    ];
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("both.png");
    plot(&reports, &out).unwrap();
    let png = std::fs::read(&out).unwrap();
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"));
    assert!(png.len() > 20_000, "only {} bytes", png.len());
}

#[test]
fn a_schema_1_report_plots_its_summary_points() {
    let r = schema_1(report(1.0, 1));
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("old.svg");
    plot(&one("old", &r), &out).unwrap();
    let svg = std::fs::read_to_string(&out).unwrap();
    assert!(svg.contains("(summary points)") && svg.contains("nats"));
    assert!(!svg.contains("acked msg/s"), "no series, so no timeline");
}

#[test]
fn an_unknown_extension_says_which_ones_work() {
    let r = report(1.0, 1);
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run.jpg");
    let err = plot(&one("run", &r), &out).unwrap_err();
    assert!(matches!(err, PlotError::UnknownFormat { .. }));
    let message = err.to_string();
    assert!(message.contains("run.jpg") && message.contains(".svg") && message.contains(".png"));
    assert!(!out.exists());
}

#[test]
fn a_report_without_samples_has_nothing_to_draw() {
    let mut r = report(1.0, 1);
    r.phases.clear();
    let dir = tempfile::tempdir().unwrap();
    let err = plot(&one("run", &r), &dir.path().join("run.svg")).unwrap_err();
    assert!(matches!(err, PlotError::Empty), "{err}");
}

#[test]
fn a_file_that_cannot_be_written_is_named() {
    let r = report(1.0, 1);
    let out = std::path::Path::new("/nonexistent-dir/run.png");
    let err = plot(&one("run", &r), out).unwrap_err();
    assert!(matches!(err, PlotError::Draw { .. }));
    assert!(
        err.to_string().contains("/nonexistent-dir/run.png"),
        "{err}"
    );
}

#[test]
fn axis_labels_read_as_a_person_writes_them() {
    assert_eq!(nines_label(&nines(0.5)), "50%");
    assert_eq!(nines_label(&2.0), "99%");
    assert_eq!(nines_label(&3.0), "99.9%");
    assert_eq!(nines_label(&5.0), "99.999%");
    assert_eq!(axis_us(250.0), "250µs");
    assert_eq!(axis_us(1500.0), "1.5ms");
    assert_eq!(axis_us(2_000_000.0), "2s");
    assert_eq!(axis_rate(12_000.0), "12k");
    assert_eq!(axis_rate(0.0), "0");
}
