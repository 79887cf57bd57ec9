//! The duel: the two lanes side by side on each stage of the current phase, which one is ahead
//! and by how much, and the findings that explain the gap. The screen a presenter points at.
//!
//! ```text
//! ╭ duel  kafka vs nats · phase 2 (20s) ─────────────────────────────────────────╮
//! │stage       kafka      nats  ahead              why                          │
//! │submit p50   35us     420us  kafka 12x faster   ⚑ max-pending-stall (nats)   │
//! │       p99  175us    2.10ms  kafka 12x faster                                │
//! │ack    p50 2.40ms     900us  nats 2.7x faster                                │
//! ╰──────────────────────────────────────────────────────────────────────────────╯
//! ```
//!
//! On small screens [`line`] says the same for `ack` in one line.

use super::{lane_colour, text};
use crate::metrics::{LaneSnapshot, Snapshot};
use crate::vocab::FindingKind;
use crate::vocab::{fmt_us, Stage};
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Paragraph, Widget};

/// The stages the duel compares, in display order.
pub const STAGES: [Stage; 5] = [
    Stage::Submit,
    Stage::Ack,
    Stage::Flight,
    Stage::Permit,
    Stage::E2e,
];

/// How to read the table, under it when there is room.
const LEGEND: &str = "ahead: the lower latency at that percentile, by slower ÷ faster (even: \
                      within 10%). why: findings of the lane behind; its column has the details.";

/// Below this ratio the lanes count as even.
const EVEN: f64 = 1.1;
/// Width of the stage column.
const STAGE_W: usize = 7;
/// Narrowest `why` column worth drawing.
const MIN_WHY_W: usize = 16;

/// Which lane is ahead on one figure.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Lead {
    /// Lane `lane` (0 or 1) is `times` times faster.
    Ahead {
        /// Index of the faster lane.
        lane: usize,
        /// Slower value over faster value.
        times: f64,
    },
    /// Within 10% of each other.
    Even,
    /// A lane has no figure.
    Unknown,
}

/// Who leads between the figures `a` (lane 0) and `b` (lane 1); lower is better.
pub fn lead(a: Option<u64>, b: Option<u64>) -> Lead {
    let (Some(a), Some(b)) = (a, b) else {
        return Lead::Unknown;
    };
    let (fast, slow, lane) = if a <= b { (a, b, 0) } else { (b, a, 1) };
    let times = slow as f64 / fast.max(1) as f64;
    if times < EVEN {
        Lead::Even
    } else {
        Lead::Ahead { lane, times }
    }
}

/// `2.7x`, `16x`.
pub fn times(x: f64) -> String {
    if x < 9.95 {
        format!("{x:.1}x")
    } else {
        format!("{x:.0}x")
    }
}

/// `nats 16x faster`, `even`, or `-`.
pub fn lead_text(lead: Lead, names: [&str; 2]) -> String {
    match lead {
        Lead::Ahead { lane, times: t } => format!("{} {} faster", names[lane], times(t)),
        Lead::Even => "even".to_string(),
        Lead::Unknown => "-".to_string(),
    }
}

/// One compared figure: a stage at a percentile on both lanes.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// The stage.
    pub stage: Stage,
    /// `p50` or `p99`.
    pub pct: &'static str,
    /// Lane 0's and lane 1's value, in microseconds.
    pub values: [Option<u64>; 2],
    /// Who leads.
    pub lead: Lead,
}

/// The compared figures of the current phase: p50 and p99 of each stage either lane has.
pub fn rows(a: &LaneSnapshot, b: &LaneSnapshot) -> Vec<Row> {
    let mut out = Vec::new();
    for stage in STAGES {
        let (sa, sb) = (a.phase.stage(stage), b.phase.stage(stage));
        if sa.is_none() && sb.is_none() {
            continue;
        }
        for (pct, p50) in [("p50", true), ("p99", false)] {
            let pick = |s: Option<&crate::metrics::StageSummary>| {
                s.map(|v| if p50 { v.p50_us } else { v.p99_us })
            };
            let values = [pick(sa), pick(sb)];
            out.push(Row {
                stage,
                pct,
                values,
                lead: lead(values[0], values[1]),
            });
        }
    }
    out
}

/// Whether a finding of `kind` bears on `stage`'s latency.
pub fn explains(kind: FindingKind, stage: Stage) -> bool {
    use FindingKind::*;
    match kind {
        BrokerUnavailable | UnfairComparison | HostStarved | ClientBound => true,
        MaxPendingStall => matches!(
            stage,
            Stage::Submit | Stage::Permit | Stage::Ack | Stage::E2e
        ),
        ClientQueueFull => matches!(stage, Stage::Submit | Stage::Ack | Stage::E2e),
        GeneratorLag | AgentBehind => matches!(stage, Stage::Ack | Stage::E2e),
        BrokerSaturated | LingerWait => matches!(stage, Stage::Ack | Stage::Flight | Stage::E2e),
    }
}

/// The findings (`⚑ kind (lane)`) shown next to each stage: a lane's finding goes to the first
/// stage it bears on where that lane is behind; findings about both lanes go to the first stage.
pub fn why(lanes: [&LaneSnapshot; 2], rows: &[Row]) -> Vec<(Stage, Vec<String>)> {
    let mut stages: Vec<Stage> = rows.iter().map(|r| r.stage).collect();
    stages.dedup();
    let behind = |stage: Stage, lane: usize| {
        rows.iter()
            .filter(|r| r.stage == stage)
            .any(|r| match r.lead {
                Lead::Ahead { lane: ahead, .. } => ahead != lane,
                _ => false,
            })
    };
    let mut out: Vec<(Stage, Vec<String>)> = stages.iter().map(|s| (*s, Vec::new())).collect();
    for (i, lane) in lanes.iter().enumerate() {
        for f in &lane.findings {
            let everywhere = matches!(
                f.kind,
                FindingKind::UnfairComparison | FindingKind::BrokerUnavailable
            );
            let at = stages
                .iter()
                .position(|s| explains(f.kind, *s) && (everywhere || behind(*s, i)));
            if let Some(at) = at {
                let item = format!("⚑ {} ({})", f.kind, lane.name);
                if !out[at].1.contains(&item) {
                    out[at].1.push(item);
                }
            }
        }
    }
    out
}

/// Rows the panel takes inside its border for `snap`.
pub fn height(snap: &Snapshot) -> u16 {
    match snap.lanes.as_slice() {
        [a, b, ..] => 1 + rows(a, b).len().max(1) as u16,
        _ => 1,
    }
}

/// The panel's title: `duel`, the lanes and the phase.
fn title(snap: &Snapshot) -> Line<'static> {
    let mut spans = vec![Span::styled(
        " duel ",
        Style::new()
            .fg(Color::Black)
            .bg(Color::Cyan)
            .add_modifier(Modifier::BOLD),
    )];
    if let [a, b, ..] = snap.lanes.as_slice() {
        let warm = snap.lanes.iter().any(|l| l.phase.warmup_only);
        spans.push(Span::styled(
            format!(
                " {} vs {} · phase {} ({}){} ",
                a.name,
                b.name,
                snap.phase,
                super::header::clock(snap.phase_elapsed),
                if warm { " · warm-up figures" } else { "" }
            ),
            Style::new().add_modifier(Modifier::BOLD),
        ));
    }
    Line::from(spans)
}

/// Draws the panel, bordered, into `area`.
pub fn render(area: Rect, buf: &mut Buffer, snap: &Snapshot) {
    let block = Block::bordered()
        .border_type(BorderType::Rounded)
        .border_style(Style::new().fg(Color::Cyan))
        .title(title(snap));
    let inner = block.inner(area);
    block.render(area, buf);
    let dim = Style::new().fg(Color::DarkGray);
    let lines = match snap.lanes.as_slice() {
        [] => vec![Line::styled("waiting for data...", dim)],
        [one] => vec![Line::styled(
            format!(
                "one lane ({}): nothing to duel; run two lanes to compare them",
                one.name
            ),
            dim,
        )],
        [a, b, ..] => table([a, b], usize::from(inner.width)),
    };
    let mut lines = lines;
    let room = usize::from(inner.height).saturating_sub(lines.len() + 1);
    let note = text::wrap(LEGEND, inner.width);
    if snap.lanes.len() >= 2 && note.len() <= room {
        lines.push(Line::raw(""));
        lines.extend(note.into_iter().map(|l| Line::styled(l, dim)));
    }
    Paragraph::new(lines).render(inner, buf);
}

/// Column widths of the table.
struct Widths {
    lane: usize,
    ahead: usize,
    why: usize,
}

/// The table's lines at `width` columns.
fn table(lanes: [&LaneSnapshot; 2], width: usize) -> Vec<Line<'static>> {
    let rows = rows(lanes[0], lanes[1]);
    if rows.is_empty() {
        return vec![Line::styled(
            "waiting for data: no samples in this phase yet",
            Style::new().fg(Color::DarkGray),
        )];
    }
    let names = [lanes[0].name.as_str(), lanes[1].name.as_str()];
    let texts: Vec<String> = rows.iter().map(|r| lead_text(r.lead, names)).collect();
    let lane = names.iter().map(|n| n.len()).max().unwrap_or(0).max(8);
    let ahead = texts.iter().map(|t| t.chars().count()).max().unwrap_or(0);
    let ahead = ahead.max(5);
    let why_w = width.saturating_sub(STAGE_W + 4 + 2 * (lane + 1) + 1 + ahead + 2);
    let w = Widths {
        lane,
        ahead,
        why: if why_w >= MIN_WHY_W { why_w } else { 0 },
    };
    let why = why(lanes, &rows);
    let mut out = vec![heading(names, &w)];
    let mut notes: Vec<String> = Vec::new();
    for (i, (r, t)) in rows.iter().zip(&texts).enumerate() {
        let first = i == 0 || rows[i - 1].stage != r.stage;
        if first {
            let items = why.iter().find(|(s, _)| *s == r.stage);
            notes = fit(items.map(|(_, v)| v.clone()).unwrap_or_default(), w.why);
        }
        let note = (!notes.is_empty()).then(|| notes.remove(0));
        out.push(row_line(r, first, t, note, &w));
    }
    out
}

/// The table's heading: `stage  kafka  nats  ahead  why (findings)`.
fn heading(names: [&str; 2], w: &Widths) -> Line<'static> {
    let bold = Style::new().add_modifier(Modifier::BOLD);
    let (lw, aw) = (w.lane, w.ahead);
    let mut head = vec![Span::styled(
        format!(
            "{:<sw$}{:>lw$} {:>lw$}  {:<aw$}",
            "stage",
            names[0],
            names[1],
            "ahead",
            sw = STAGE_W + 4,
        ),
        bold,
    )];
    if w.why > 0 {
        head.push(Span::styled("  why (findings)", bold));
    }
    Line::from(head)
}

/// One row: the stage (on its first row), the percentile, both figures (the faster one in its
/// lane's colour), who is ahead, and a line of findings.
fn row_line(r: &Row, first: bool, lead: &str, note: Option<String>, w: &Widths) -> Line<'static> {
    let bold = Style::new().add_modifier(Modifier::BOLD);
    let stage = if first { r.stage.as_str() } else { "" };
    let mut spans = vec![
        Span::styled(format!("{stage:<STAGE_W$}"), bold),
        Span::raw(format!("{:<4}", r.pct)),
    ];
    for (lane, v) in r.values.iter().enumerate() {
        let shown = v.map_or("-".to_string(), fmt_us);
        let ahead = matches!(r.lead, Lead::Ahead { lane: l, .. } if l == lane);
        let style = if ahead {
            bold.fg(lane_colour(lane))
        } else {
            Style::new()
        };
        spans.push(Span::styled(format!("{shown:>lw$} ", lw = w.lane), style));
    }
    let lead_style = match r.lead {
        Lead::Ahead { lane, .. } => bold.fg(lane_colour(lane)),
        _ => Style::new().fg(Color::DarkGray),
    };
    spans.push(Span::styled(
        format!(" {lead:<aw$}", aw = w.ahead),
        lead_style,
    ));
    if let Some(n) = note.filter(|_| w.why > 0) {
        spans.push(Span::raw("  "));
        spans.push(Span::styled(n, Style::new().fg(Color::Yellow)));
    }
    Line::from(spans)
}

/// Packs finding items into lines of `width`, two per stage at most (the lanes list them all).
fn fit(items: Vec<String>, width: usize) -> Vec<String> {
    if width == 0 {
        return Vec::new();
    }
    let spans = items.into_iter().map(Span::raw).collect();
    text::pack(spans, width as u16)
        .into_iter()
        .map(|l| l.to_string())
        .filter(|l| l.chars().count() <= width)
        .take(2)
        .collect()
}

/// The duel of `ack` in one line, for screens too small for the panel: `duel ack  p50: nats 2.7x
/// faster (900us vs 2.40ms)  p99: ...  ⚑ max-pending-stall (nats)`, shortened or left out where
/// it does not fit.
pub fn line(snap: &Snapshot, width: u16) -> Line<'static> {
    let head = Span::styled(
        "duel",
        Style::new()
            .fg(Color::Black)
            .bg(Color::Cyan)
            .add_modifier(Modifier::BOLD),
    );
    let [a, b, ..] = snap.lanes.as_slice() else {
        let what = if snap.lanes.is_empty() {
            " waiting for data..."
        } else {
            " one lane: nothing to duel"
        };
        return Line::from(vec![head, Span::raw(what)]);
    };
    let names = [a.name.as_str(), b.name.as_str()];
    let rows = rows(a, b);
    let mut items: Vec<Vec<Vec<Span<'static>>>> = vec![vec![vec![head, Span::raw(" ack")]]];
    for r in rows.iter().filter(|r| r.stage == Stage::Ack) {
        let mut item = vec![Span::raw(format!("{}: ", r.pct))];
        let style = match r.lead {
            Lead::Ahead { lane, .. } => Style::new()
                .fg(lane_colour(lane))
                .add_modifier(Modifier::BOLD),
            _ => Style::new(),
        };
        item.push(Span::styled(lead_text(r.lead, names), style));
        let short = item.clone();
        if let Lead::Ahead { lane, .. } = r.lead {
            let v = |i: usize| r.values[i].map_or("-".into(), fmt_us);
            item.push(Span::raw(format!(" ({} vs {})", v(lane), v(1 - lane))));
        }
        items.push(vec![item, short]);
    }
    if rows.is_empty() {
        items.push(vec![vec![Span::raw("waiting for data...")]]);
    }
    let yellow = Style::new().fg(Color::Yellow);
    for (_, notes) in why([a, b], &rows)
        .into_iter()
        .filter(|(s, _)| *s == Stage::Ack)
    {
        items.extend(
            notes
                .into_iter()
                .map(|n| vec![vec![Span::styled(n, yellow)]]),
        );
    }
    one_line(items, usize::from(width))
}

/// One line of `width`: for each item, in order, the first of its forms that fits (two spaces
/// apart), or none of them; the first item always.
fn one_line(items: Vec<Vec<Vec<Span<'static>>>>, width: usize) -> Line<'static> {
    let width_of = |f: &Vec<Span>| f.iter().map(Span::width).sum::<usize>();
    let mut spans = Vec::new();
    let mut used = 0;
    for forms in items {
        let gap = if spans.is_empty() { 0 } else { 2 };
        let fits = forms
            .into_iter()
            .find(|f| spans.is_empty() || used + gap + width_of(f) <= width);
        let Some(item) = fits else {
            continue;
        };
        if gap > 0 {
            spans.push(Span::raw("  "));
        }
        used += gap + width_of(&item);
        spans.extend(item);
    }
    Line::from(spans)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::{PhaseStats, StageSummary};
    use crate::vocab::Finding;

    fn at(p50: u64) -> StageSummary {
        StageSummary {
            count: 100,
            p50_us: p50,
            p99_us: p50 * 4,
            ..StageSummary::default()
        }
    }

    fn lane(name: &str, submit: u64, ack: u64) -> LaneSnapshot {
        LaneSnapshot {
            name: name.into(),
            phase: PhaseStats {
                stages: vec![(Stage::Submit, at(submit)), (Stage::Ack, at(ack))],
                ..PhaseStats::default()
            },
            ..LaneSnapshot::default()
        }
    }

    fn snap(lanes: Vec<LaneSnapshot>) -> Snapshot {
        Snapshot {
            phase: 1,
            lanes,
            ..Snapshot::default()
        }
    }

    fn shown(snap: &Snapshot, w: u16, h: u16) -> Vec<String> {
        let area = Rect::new(0, 0, w, h);
        let mut buf = Buffer::empty(area);
        render(area, &mut buf, snap);
        super::super::buffer_lines(&buf)
    }

    fn row<'a>(lines: &'a [String], start: &str) -> &'a str {
        let at = lines
            .iter()
            .position(|l| l.starts_with(&format!("│{start}")));
        at.map_or_else(|| panic!("no {start} row in {lines:#?}"), |i| &lines[i])
    }

    #[test]
    fn leads_name_the_faster_lane_and_the_ratio() {
        assert_eq!(
            lead(Some(270), Some(4_300)),
            Lead::Ahead {
                lane: 0,
                times: 4_300.0 / 270.0
            }
        );
        assert_eq!(
            lead(Some(4_300), Some(270)),
            Lead::Ahead {
                lane: 1,
                times: 4_300.0 / 270.0
            }
        );
        assert_eq!(lead(Some(1_000), Some(1_050)), Lead::Even);
        assert_eq!(lead(None, Some(5)), Lead::Unknown);
        let names = ["kafka", "nats"];
        assert_eq!(
            lead_text(lead(Some(4_300), Some(270)), names),
            "nats 16x faster"
        );
        assert_eq!(
            lead_text(lead(Some(100), Some(270)), names),
            "kafka 2.7x faster"
        );
    }

    #[test]
    fn the_panel_names_kafka_when_kafka_is_faster() {
        let s = snap(vec![lane("kafka", 30, 1_000), lane("nats", 300, 4_000)]);
        let lines = shown(&s, 90, 10);
        assert!(
            lines[0].contains(" duel ") && lines[0].contains("kafka vs nats"),
            "{lines:#?}"
        );
        let ack = row(&lines, "ack    p50");
        assert!(ack.contains("1.00ms") && ack.contains("4.00ms"), "{ack}");
        assert!(ack.contains("kafka 4.0x faster"), "{ack}");
        assert!(row(&lines, "submit p50").contains("kafka 10x faster"));
    }

    #[test]
    fn the_panel_names_nats_when_nats_is_faster_and_shows_why() {
        let mut kafka = lane("kafka", 300, 4_300);
        kafka.findings = vec![Finding::new(
            FindingKind::LingerWait,
            "waits for linger".into(),
        )];
        let s = snap(vec![kafka, lane("nats", 30, 270)]);
        let lines = shown(&s, 100, 10);
        let ack = row(&lines, "ack    p50");
        assert!(ack.contains("nats 16x faster"), "{ack}");
        assert!(
            ack.contains("⚑ linger-wait (kafka)"),
            "the finding of the lane behind: {ack}"
        );
        assert!(
            !row(&lines, "submit p50").contains('⚑'),
            "linger is not about submit"
        );
    }

    #[test]
    fn a_finding_of_the_lane_ahead_does_not_explain_the_gap() {
        let mut nats = lane("nats", 30, 270);
        nats.findings = vec![Finding::new(FindingKind::MaxPendingStall, "stalls".into())];
        let s = snap(vec![lane("kafka", 300, 4_300), nats]);
        assert!(
            why([&s.lanes[0], &s.lanes[1]], &rows(&s.lanes[0], &s.lanes[1]))
                .iter()
                .all(|(_, v)| v.is_empty())
        );
    }

    #[test]
    fn the_title_shows_before_data_and_with_one_lane() {
        let lines = shown(&Snapshot::default(), 60, 4);
        assert!(lines[0].contains("duel") && lines[1].contains("waiting for data"));
        let lines = shown(&snap(vec![lane("kafka", 1, 2)]), 80, 4);
        assert!(lines[1].contains("nothing to duel"), "{lines:#?}");
        let empty = snap(vec![LaneSnapshot::default(), LaneSnapshot::default()]);
        assert!(shown(&empty, 80, 4)[1].contains("waiting for data"));
    }

    #[test]
    fn the_one_line_form_fits_and_keeps_the_verdict() {
        let s = snap(vec![lane("kafka", 300, 4_300), lane("nats", 30, 270)]);
        let l = line(&s, 80).to_string();
        assert!(l.chars().count() <= 80, "{l}");
        assert!(
            l.starts_with("duel ack  p50: nats 16x faster (270us vs 4.30ms)"),
            "{l}"
        );
        assert_eq!(line(&s, 40).to_string(), "duel ack  p50: nats 16x faster");
    }
}
