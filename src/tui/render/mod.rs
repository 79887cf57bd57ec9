//! Pure rendering: the whole screen is drawn from one metrics snapshot and the UI state, with no
//! I/O. One file per panel.
//!
//! ```text
//! header (profile, elapsed, phase, running/paused/finished, knob target)
//! ┌ kafka ─────────────────┐┌ nats ──────────────────┐
//! │ lane column            ││ lane column            │
//! │ (stage bars when tall) ││                        │
//! └────────────────────────┘└────────────────────────┘
//! ┌ duel ──────────────┐┌ distribution ─────────────┐   the band: both panels when the screen
//! └────────────────────┘└───────────────────────────┘   is large, the duel alone, or one line
//! assert band (thresholds, when the run has any)
//! footer (status, keys)               help overlay on `?`
//! ```

pub mod asserts;
pub mod counters;
pub mod distribution;
pub mod duel;
pub mod findings;
pub mod footer;
pub mod header;
pub mod help;
pub mod lane;
pub mod percentiles;
pub mod stagebar;
pub mod text;
pub mod timeline;

use super::state::UiState;
use crate::engine::LaneTarget;
use crate::metrics::Snapshot;
use lane::LaneView;
use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Flex, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::Line;
use ratatui::widgets::{Paragraph, Widget, Wrap};
use ratatui::Frame;
use std::borrow::Cow;
use timeline::Metric;

/// Most lines a scripted step's caption takes, above the lanes.
const MAX_CAPTION_LINES: usize = 3;

/// Smallest terminal the dashboard draws in.
pub const MIN_WIDTH: u16 = 80;
/// Smallest terminal height the dashboard draws in.
pub const MIN_HEIGHT: u16 = 24;

/// What the band under the lanes holds; the larger the screen, the more.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Band {
    /// One line: the duel of `ack`.
    Line,
    /// The duel panel across the width.
    Duel,
    /// The duel and distribution panels side by side, and stage bars in the lane columns.
    Full,
}

impl Band {
    /// The band for a body (the space between header and footer) of `area`.
    pub fn of(area: Rect) -> Band {
        if area.width >= 140 && area.height >= 40 {
            Band::Full
        } else if area.height >= 32 {
            Band::Duel
        } else {
            Band::Line
        }
    }

    /// Lines the band takes for `snap`.
    fn height(self, snap: &Snapshot) -> u16 {
        match self {
            Band::Line => 1,
            Band::Duel => duel::height(snap) + 2,
            Band::Full => duel::height(snap).max(distribution::height(snap)) + 2,
        }
    }
}

/// The colour that marks lane `i` in the duel and the distribution.
pub fn lane_colour(i: usize) -> Color {
    [Color::LightYellow, Color::LightCyan, Color::LightGreen][i % 3]
}

/// Draws one frame.
pub fn draw(frame: &mut Frame, snap: &Snapshot, ui: &UiState) {
    let area = frame.area();
    render(area, frame.buffer_mut(), snap, ui);
}

/// Draws the whole screen into `buf`.
pub fn render(area: Rect, buf: &mut Buffer, snap: &Snapshot, ui: &UiState) {
    if area.width < MIN_WIDTH || area.height < MIN_HEIGHT {
        too_small(area, buf);
        return;
    }
    let caption = snap
        .note
        .as_deref()
        .map(|n| text::wrap(&format!("▶ {n}"), area.width))
        .unwrap_or_default();
    let caption_h = caption.len().min(MAX_CAPTION_LINES) as u16;
    let [head, cap, body, checks, foot] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(caption_h),
        Constraint::Fill(1),
        Constraint::Length(asserts::height(&ui.asserts)),
        Constraint::Length(footer::HEIGHT),
    ])
    .areas(area);
    header::render(head, buf, snap, ui);
    let style = Style::new().fg(Color::Magenta).add_modifier(Modifier::BOLD);
    let lines: Vec<Line> = caption
        .into_iter()
        .map(|l| Line::styled(l, style))
        .collect();
    Paragraph::new(lines).render(cap, buf);
    let band = Band::of(body);
    let pair = duel_pair(snap, ui);
    let [lanes_a, band_a] =
        Layout::vertical([Constraint::Fill(1), Constraint::Length(band.height(&pair))]).areas(body);
    lanes(lanes_a, buf, snap, ui, band == Band::Full);
    render_band(band_a, buf, &pair, band);
    asserts::render(checks, buf, snap, &ui.asserts);
    footer::render(foot, buf, ui);
    if ui.help {
        help::render(area, buf, &ui.lanes);
    }
}

/// Most lane columns side by side: one per 40 columns of screen, at most four.
pub fn lanes_per_page(width: u16, lanes: usize) -> usize {
    (usize::from(width) / 40).clamp(1, 4).min(lanes.max(1))
}

/// The lanes a page of columns shows: `ui.page` (wrapped) of pages of `per_page` lanes; their
/// first position and how many.
pub fn page_of(ui: &UiState, lanes: usize, per_page: usize) -> (usize, usize) {
    let pages = lanes.div_ceil(per_page.max(1)).max(1);
    let first = (ui.page % pages) * per_page;
    (first, per_page.min(lanes - first.min(lanes)))
}

/// The snapshot with only the two lanes the duel compares (`d` picks them), for the duel and
/// distribution panels.
fn duel_pair<'s>(snap: &'s Snapshot, ui: &UiState) -> Cow<'s, Snapshot> {
    let (a, b) = ui.duel;
    let pick = match (snap.lanes.get(a), snap.lanes.get(b)) {
        (Some(a), Some(b)) if snap.lanes.len() > 2 => vec![a.clone(), b.clone()],
        _ => return Cow::Borrowed(snap),
    };
    Cow::Owned(Snapshot {
        elapsed: snap.elapsed,
        phase: snap.phase,
        phase_elapsed: snap.phase_elapsed,
        phase_starts: snap.phase_starts.clone(),
        paused: snap.paused,
        note: snap.note.clone(),
        lanes: pick,
        source: snap.source.clone(),
    })
}

/// Draws the band under the lanes.
fn render_band(area: Rect, buf: &mut Buffer, snap: &Snapshot, band: Band) {
    match band {
        Band::Line => Paragraph::new(duel::line(snap, area.width)).render(area, buf),
        Band::Duel => duel::render(area, buf, snap),
        Band::Full => {
            let [left, right] =
                Layout::horizontal([Constraint::Percentage(55), Constraint::Fill(1)]).areas(area);
            duel::render(left, buf, snap);
            distribution::render(right, buf, snap);
        }
    }
}

fn lanes(area: Rect, buf: &mut Buffer, snap: &Snapshot, ui: &UiState, stage_bars: bool) {
    if snap.lanes.is_empty() {
        Paragraph::new("waiting for the first snapshot...").render(area, buf);
        return;
    }
    let (first, shown) = page_of(
        ui,
        snap.lanes.len(),
        lanes_per_page(area.width, snap.lanes.len()),
    );
    let page = &snap.lanes[first..first + shown];
    let n = shown as u32;
    let cols = Layout::horizontal((0..n).map(|_| Constraint::Ratio(1, n))).split(area);
    let mut tops = [0.0f64; 3];
    for (top, m) in tops.iter_mut().zip(Metric::ALL) {
        let mut all = Vec::new();
        for (lane, col) in page.iter().zip(cols.iter()) {
            all.extend(timeline::columns(&lane.series, m, lane::bars_width(*col)).0);
        }
        *top = timeline::scale_top(&all, m);
    }
    for (i, (lane, col)) in (first..).zip(page.iter().zip(cols.iter())) {
        // Once the run has finished the knob keys act on no lane.
        let selected = !ui.finished
            && match ui.target {
                LaneTarget::All => true,
                LaneTarget::One(j) => i == j,
            };
        let view = LaneView {
            snap,
            lane,
            selected,
            tops,
            stage_bars,
            warmup: ui.warmup,
        };
        lane::render(*col, buf, &view);
    }
}

fn too_small(area: Rect, buf: &mut Buffer) {
    let lines = vec![
        Line::styled(
            "Terminal too small",
            Style::new().fg(Color::Yellow).add_modifier(Modifier::BOLD),
        ),
        Line::raw(format!(
            "{}x{} now; pubduel needs at least {MIN_WIDTH}x{MIN_HEIGHT}.",
            area.width, area.height
        )),
        Line::raw("Enlarge the window, or press q to quit."),
    ];
    let [row] = Layout::vertical([Constraint::Length(4)])
        .flex(Flex::Center)
        .areas(area);
    Paragraph::new(lines)
        .centered()
        .wrap(Wrap { trim: true })
        .render(row, buf);
}

/// The text of each row of `buf`, for tests and captures.
pub fn buffer_lines(buf: &Buffer) -> Vec<String> {
    let area = buf.area;
    (area.top()..area.bottom())
        .map(|y| {
            let mut line = String::new();
            let mut skip = 0;
            for x in area.left()..area.right() {
                if skip > 0 {
                    skip -= 1;
                    continue;
                }
                let sym = buf[(x, y)].symbol();
                skip = unicode_width(sym).saturating_sub(1);
                line.push_str(sym);
            }
            line
        })
        .collect()
}

fn unicode_width(s: &str) -> usize {
    ratatui::text::Span::raw(s).width()
}
