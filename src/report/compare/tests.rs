use super::*;
use crate::report::testdata::{lane, report, stage};
use crate::report::{LaneReport, Report, SeriesReport, SeriesStageReport};

fn opts(fail_if: &[&str]) -> CompareOptions {
    CompareOptions {
        match_by: MatchBy::Index,
        stages: vec![Stage::Submit, Stage::Ack],
        fail_if: fail_if.iter().map(|t| t.parse().unwrap()).collect(),
        min_effect: MIN_EFFECT,
    }
}

/// Each report a group of its own, the first BASE.
fn each(reports: Vec<(&str, Report)>, o: &CompareOptions) -> Comparison {
    let groups: Vec<Group> = (reports.into_iter())
        .map(|(l, r)| Group::one(l.into(), r))
        .collect();
    compare(&groups, o).unwrap()
}

fn cell<'a>(c: &'a Comparison, lane: &str, metric: &str) -> &'a Cell {
    let row = c.rows.iter().find(|r| r.lane == lane && r.metric == metric);
    row.and_then(|r| r.others[0].as_ref()).expect("a cell")
}

#[test]
fn a_run_against_itself_is_the_same_everywhere_and_passes_a_loose_gate() {
    let a = report(vec![vec![lane("kafka", 1000, 500), lane("nats", 300, 500)]]);
    let c = each(vec![("a", a.clone()), ("a", a)], &opts(&["ack.p99 > 1.5x"]));
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
    let c = each(vec![("a", a), ("b", b)], &opts(&["ack.p50 > 1.2x"]));
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
    let c = each(vec![("a", a.clone()), ("b", b.clone())], &o);
    assert!(c.rows.iter().all(|r| r.others[0]
        .as_ref()
        .is_some_and(|x| x.verdict == Verdict::Same && x.phase != r.phase)));
    let by_index = each(vec![("a", a), ("b", b)], &opts(&[]));
    assert_eq!(cell(&by_index, "kafka", "ack.p50").verdict, Verdict::Worse);
}

#[test]
fn markdown_is_a_table_with_a_column_per_report() {
    let a = report(vec![vec![lane("kafka", 1000, 500), lane("nats", 300, 500)]]);
    let md = each(
        vec![("a", a.clone()), ("b", a.clone()), ("c", a)],
        &opts(&[]),
    )
    .render(Format::Markdown);
    let first = md.lines().next().unwrap();
    assert_eq!(first.matches(" ratio ").count(), 2, "{first}");
    // The table's rows, then a blank line and the rule the verdicts follow.
    let rows: Vec<&str> = md.lines().skip(2).take_while(|l| !l.is_empty()).collect();
    assert!(
        rows.len() > 10 && rows.iter().all(|l| l.starts_with("| ")),
        "{md}"
    );
    assert!(
        md.contains("\nverdict: a change when the per-second figures differ"),
        "{md}"
    );
}

#[test]
fn a_lane_one_report_lacks_is_missing_in_toml() {
    let both = report(vec![vec![lane("kafka", 1000, 500), lane("nats", 300, 500)]]);
    let nats = report(vec![vec![lane("nats", 300, 500)]]);
    let c = each(vec![("both", both), ("nats", nats)], &opts(&[]));
    let toml = c.render(Format::Toml);
    let parsed: toml::Table = toml::from_str(&toml).expect(&toml);
    let rows = parsed["rows"].as_array().unwrap();
    let kafka = rows
        .iter()
        .find(|r| r["lane"].as_str() == Some("kafka"))
        .unwrap();
    assert_eq!(kafka["others"][0]["missing"].as_bool(), Some(true));
    let nats = rows
        .iter()
        .find(|r| r["lane"].as_str() == Some("nats"))
        .unwrap();
    assert_eq!(nats["others"][0]["verdict"].as_str(), Some("same"));
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
    let c = each(vec![("a.toml", a.clone()), ("b.toml", b)], &opts(&[]));
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
    let same = each(vec![("a.toml", a.clone()), ("a2.toml", a)], &opts(&[]));
    assert!(same.versions.is_empty());
}

/// `lane` with `secs` whole seconds after a 2 s warm-up (and the warm-up's two and a partial
/// last one), its ack p50 of each second `ack_p50(i)` (other quantiles in proportion) and 1000
/// acks a second.
fn with_seconds(mut lane: LaneReport, secs: usize, ack_p50: impl Fn(usize) -> u64) -> LaneReport {
    let mut s = SeriesReport::default();
    let mut ack = SeriesStageReport::default();
    // Two warm-up seconds far off (they must be left out), the measured ones, a partial last.
    let p50s: Vec<u64> = [50_000, 50_000]
        .into_iter()
        .chain((0..secs).map(&ack_p50))
        .chain([90_000])
        .collect();
    for (i, p50) in p50s.iter().enumerate() {
        let last = i == p50s.len() - 1;
        s.t_s
            .push(if last { i as f64 + 0.3 } else { i as f64 + 1.0 });
        s.acked_per_s.push(1000.0);
        ack.p50_us.push(*p50);
        ack.p90_us.push(p50 * 2);
        ack.p99_us.push(p50 * 3);
        ack.p999_us.push(p50 * 4);
        ack.max_us.push(p50 * 5);
    }
    s.stages.insert("ack".into(), ack);
    lane.series = Some(s);
    lane
}

/// A report of one phase (2 s warm-up) of one kafka lane whose acks are `base_us` plus noise,
/// with `secs` measured seconds.
fn run(base_us: u64, secs: usize, ack_p50: impl Fn(usize) -> u64) -> Report {
    let mut r = report(vec![vec![with_seconds(
        lane("kafka", base_us, 500),
        secs,
        ack_p50,
    )]]);
    r.phases[0].warmup_s = 2.0;
    r.phases[0].duration_s = secs as f64 + 2.3;
    r
}

#[test]
fn measured_seconds_leave_out_the_warmup_and_a_partial_last_second() {
    let r = run(1000, 6, |_| 1500);
    let (phase, lane) = (&r.phases[0], &r.phases[0].lanes[0]);
    let kept = samples::measured_seconds(phase, lane.series.as_ref().unwrap());
    assert_eq!(kept, [2, 3, 4, 5, 6, 7]);
    let p50 = samples::seconds((phase, lane), Metric::Stage(Stage::Ack, Stat::P50));
    assert_eq!(p50, [1500.0; 6]);
}

#[test]
fn noise_between_runs_reads_same_and_a_real_change_reads_with_its_basis() {
    // BASE and NEW 6% apart every second: the rank test sees it, the minimum effect does not
    // call it. A 40% shift is a change, and the cell says on what.
    let base = run(1000, 8, |i| 1500 + (i as u64 % 4) * 10);
    let near = run(1060, 8, |i| 1590 + (i as u64 % 4) * 10);
    let far = run(1400, 8, |i| 2100 + (i as u64 % 4) * 10);
    let c = each(vec![("a", base), ("b", near), ("c", far)], &opts(&[]));
    let row = (c.rows.iter())
        .find(|r| r.metric == "ack.p50")
        .expect("an ack.p50 row");
    let (near, far) = (
        row.others[0].as_ref().unwrap(),
        row.others[1].as_ref().unwrap(),
    );
    assert_eq!((near.verdict, near.basis), (Verdict::Same, Basis::Rank));
    assert!(near.p.unwrap() < 0.01 && near.note.as_deref() == Some("under 10%"));
    assert_eq!((far.verdict, far.n_base, far.n_new), (Verdict::Worse, 8, 8));
    let md = c.render(Format::Markdown);
    let line = md.lines().find(|l| l.contains("ack.p50")).unwrap();
    assert!(line.contains("same (p<0.001, n=8+8, under 10%)"), "{line}");
    assert!(line.contains("worse (p<0.001, n=8+8)"), "{line}");
    let toml = c.render(Format::Toml);
    assert!(
        toml.contains("basis = \"rank\"") && toml.contains("n_base = 8"),
        "{toml}"
    );
    // Throughput: 1000/s every second on both sides, judged by rank.
    let t = cell(&c, "kafka", "throughput");
    assert_eq!(
        (t.verdict, t.basis, t.n_new),
        (Verdict::Same, Basis::Rank, 8)
    );
}

#[test]
fn few_seconds_fall_back_to_the_histograms_spread() {
    let (a, b) = (run(1000, 3, |_| 1500), run(1400, 3, |_| 2100));
    let c = each(vec![("a", a), ("b", b)], &opts(&[]));
    let k = cell(&c, "kafka", "ack.p50");
    assert_eq!(
        (k.verdict, k.basis, k.n_base),
        (Verdict::Worse, Basis::Interval, 3)
    );
    assert!(c.render(Format::Table).contains("worse (99% ci, n=3+3)"));
}

#[test]
fn a_group_is_the_median_of_its_runs_with_their_seconds_pooled() {
    let runs = |us: [u64; 3]| Group {
        runs: (us.iter().enumerate())
            .map(|(i, &u)| (format!("r{u}-{i}.toml"), run(u, 6, move |_| u + 500)))
            .collect(),
    };
    let (base, new) = (runs([1000, 1100, 1020]), runs([1400, 1300, 1420]));
    let c = compare(&[base, new], &opts(&[])).unwrap();
    let row = c.rows.iter().find(|r| r.metric == "ack.p50").unwrap();
    // Each run's ack p50 is its base plus 500 (a uniform spread of 1 ms above it).
    assert!((row.base - 1520.0).abs() <= 2.0, "{}", row.base);
    let cell = row.others[0].as_ref().unwrap();
    assert!((cell.value - 1900.0).abs() <= 2.0, "{}", cell.value);
    assert_eq!(
        (cell.n_base, cell.n_new, cell.verdict),
        (18, 18, Verdict::Worse)
    );
    assert_eq!(c.reports, ["r1000-0.toml+2", "r1400-0.toml+2"]);
    assert_eq!(
        c.members[0],
        "3 runs: r1000-0.toml r1100-1.toml r1020-2.toml"
    );
}

#[test]
fn runs_of_a_group_that_do_not_line_up_are_named() {
    let one = run(1000, 6, |_| 1500);
    let mut two = one.clone();
    two.phases[0].index = 4;
    let group = Group {
        runs: vec![("a1.toml".into(), one.clone()), ("a2.toml".into(), two)],
    };
    let e = compare(
        &[group, Group::one("b.toml".into(), one.clone())],
        &opts(&[]),
    )
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("a2.toml") && e.contains("phase 0 of a1.toml"),
        "{e}"
    );
    let mut lane_gone = one.clone();
    lane_gone.phases[0].lanes[0].name = "nats".into();
    let group = Group {
        runs: vec![
            ("b1.toml".into(), one.clone()),
            ("b2.toml".into(), lane_gone),
        ],
    };
    let e = compare(&[Group::one("a.toml".into(), one), group], &opts(&[]))
        .unwrap_err()
        .to_string();
    assert!(e.contains("b2.toml: phase 0 has no lane `kafka`"), "{e}");
}
