use super::*;
use crate::report::testdata::{lane, report, stage};

fn opts(fail_if: &[&str]) -> CompareOptions {
    CompareOptions {
        match_by: MatchBy::Index,
        stages: vec![Stage::Submit, Stage::Ack],
        fail_if: fail_if.iter().map(|t| t.parse().unwrap()).collect(),
    }
}

fn cell<'a>(c: &'a Comparison, lane: &str, metric: &str) -> &'a Cell {
    let row = c.rows.iter().find(|r| r.lane == lane && r.metric == metric);
    row.and_then(|r| r.others[0].as_ref()).expect("a cell")
}

#[test]
fn a_run_against_itself_is_the_same_everywhere_and_passes_a_loose_gate() {
    let a = report(vec![vec![lane("kafka", 1000, 500), lane("nats", 300, 500)]]);
    let c = compare(
        &[("a".into(), a.clone()), ("a".into(), a)],
        &opts(&["ack.p99 > 1.5x"]),
    );
    assert!(c.rows.iter().all(|r| r.others[0]
        .as_ref()
        .is_some_and(|x| x.verdict == Verdict::Same && x.ratio == Some(1.0))));
    assert!(c.failures.is_empty());
    assert!(c.rows.iter().any(|r| r.metric == "ack.p99.9"));
}

#[test]
fn noise_reads_same_and_a_real_shift_reads_worse() {
    let a = report(vec![vec![lane("kafka", 1000, 500), lane("nats", 300, 500)]]);
    // nats: the same distribution in another order (noise); kafka: 40% slower acks.
    let mut b = report(vec![vec![lane("kafka", 1400, 500), lane("nats", 300, 500)]]);
    b.phases[0].lanes[1].stages.insert(
        "ack".into(),
        stage((0..20_000u64).map(|i| 300 + (i * 104_729 + 7) % 1000)),
    );
    let c = compare(
        &[("a".into(), a), ("b".into(), b)],
        &opts(&["ack.p50 > 1.2x"]),
    );
    assert_eq!(cell(&c, "nats", "ack.p99").verdict, Verdict::Same);
    let k = cell(&c, "kafka", "ack.p50");
    assert_eq!(k.verdict, Verdict::Worse);
    assert!(k.ratio.unwrap() > 1.2, "{k:?}");
    assert_eq!(c.failures.len(), 1, "{:?}", c.failures);
    assert!(
        c.failures[0].detail.contains("kafka phase 0"),
        "{:?}",
        c.failures
    );
    let table = c.render(Format::Table);
    assert!(
        table.contains("FAILED ack.p50 > 1.2x") && table.contains("worse"),
        "{table}"
    );
}

#[test]
fn phases_pair_by_knobs_when_asked() {
    let a = report(vec![
        vec![lane("kafka", 1000, 100), lane("nats", 300, 100)],
        vec![lane("kafka", 2000, 900), lane("nats", 600, 900)],
    ]);
    let b = report(vec![
        vec![lane("kafka", 2000, 900), lane("nats", 600, 900)],
        vec![lane("kafka", 1000, 100), lane("nats", 300, 100)],
    ]);
    let mut o = opts(&[]);
    o.match_by = MatchBy::Knobs;
    let c = compare(&[("a".into(), a.clone()), ("b".into(), b.clone())], &o);
    assert!(c.rows.iter().all(|r| r.others[0]
        .as_ref()
        .is_some_and(|x| x.verdict == Verdict::Same && x.phase != r.phase)));
    let by_index = compare(&[("a".into(), a), ("b".into(), b)], &opts(&[]));
    assert_eq!(cell(&by_index, "kafka", "ack.p50").verdict, Verdict::Worse);
}

#[test]
fn markdown_is_a_table_with_a_column_per_report() {
    let a = report(vec![vec![lane("kafka", 1000, 500), lane("nats", 300, 500)]]);
    let md = compare(
        &[
            ("a".into(), a.clone()),
            ("b".into(), a.clone()),
            ("c".into(), a),
        ],
        &opts(&[]),
    )
    .render(Format::Markdown);
    let first = md.lines().next().unwrap();
    assert_eq!(first.matches(" ratio ").count(), 2, "{first}");
    assert!(md.lines().skip(2).all(|l| l.starts_with("| ")), "{md}");
}

#[test]
fn a_comparison_says_when_the_reports_were_measured_with_other_versions() {
    let mut a = report(vec![vec![lane("nats", 1000, 500)]]);
    let mut b = a.clone();
    a.meta
        .versions
        .insert("nats-server".into(), "2.12.3".into());
    b.meta
        .versions
        .insert("nats-server".into(), "2.15.3".into());
    b.meta.versions.insert("librdkafka".into(), "2.12.1".into());
    let c = compare(
        &[("a.toml".into(), a.clone()), ("b.toml".into(), b)],
        &opts(&[]),
    );
    assert_eq!(
        c.versions,
        [
            "librdkafka: not recorded in a.toml, 2.12.1 in b.toml",
            "nats-server: 2.12.3 in a.toml, 2.15.3 in b.toml",
        ]
    );
    assert!(c
        .render(Format::Table)
        .contains("measured with another version: nats-server"));
    let same = compare(
        &[("a.toml".into(), a.clone()), ("a2.toml".into(), a)],
        &opts(&[]),
    );
    assert!(same.versions.is_empty());
}
