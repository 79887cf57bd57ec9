//! Small text helpers shared by the panels: packing items into lines, wrapping, compact numbers.

use crate::vocab::{fmt_us, fmt_us_short};
use ratatui::text::{Line, Span};

/// Packs `items` into lines of at most `width` columns, two spaces apart, never splitting an item.
pub fn pack<'a>(items: Vec<Span<'a>>, width: u16) -> Vec<Line<'a>> {
    pack_groups(items.into_iter().map(|s| vec![s]).collect(), width)
}

/// Like [`pack`], for items made of several differently styled spans.
pub fn pack_groups<'a>(items: Vec<Vec<Span<'a>>>, width: u16) -> Vec<Line<'a>> {
    let width = usize::from(width.max(1));
    let mut lines: Vec<Line<'a>> = Vec::new();
    let mut current: Vec<Span<'a>> = Vec::new();
    let mut used = 0usize;
    for item in items {
        let w: usize = item.iter().map(Span::width).sum();
        if !current.is_empty() && used + 2 + w > width {
            lines.push(Line::from(std::mem::take(&mut current)));
            used = 0;
        }
        if !current.is_empty() {
            current.push(Span::raw("  "));
            used += 2;
        }
        used += w;
        current.extend(item);
    }
    if !current.is_empty() {
        lines.push(Line::from(current));
    }
    lines
}

/// Wraps `text` at spaces into lines of at most `width` characters (long words are cut).
pub fn wrap(text: &str, width: u16) -> Vec<String> {
    let width = usize::from(width.max(1));
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        let mut word = word.to_string();
        while word.chars().count() > width {
            if !line.is_empty() {
                lines.push(std::mem::take(&mut line));
            }
            let head: String = word.chars().take(width).collect();
            word = word.chars().skip(width).collect();
            lines.push(head);
        }
        let needed = if line.is_empty() {
            0
        } else {
            line.chars().count() + 1
        };
        if !line.is_empty() && needed + word.chars().count() > width {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(&word);
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
}

/// A count in at most seven characters: `950`, `12345`, `123.4k`, `12.35M`.
pub fn count(v: u64) -> String {
    match v {
        0..=99_999 => v.to_string(),
        100_000..=999_999 => format!("{:.1}k", v as f64 / 1e3),
        1_000_000..=999_999_999 => format!("{:.2}M", v as f64 / 1e6),
        _ => format!("{:.2}G", v as f64 / 1e9),
    }
}

/// A rate per second: `0/s`, `950/s`, `12.3k/s`, `1.25M/s`.
pub fn rate(v: f64) -> String {
    if v < 10_000.0 {
        format!("{v:.0}/s")
    } else if v < 1e6 {
        format!("{:.1}k/s", v / 1e3)
    } else {
        format!("{:.2}M/s", v / 1e6)
    }
}

/// Microseconds with a unit per value, in at most `width` characters when the value allows:
/// the full form (`1.23ms`) when it fits, else a shorter one (`1.2ms`, `12ms`).
pub fn latency(us: u64, width: usize) -> String {
    let full = fmt_us(us);
    if full.chars().count() <= width {
        return full;
    }
    fmt_us_short(us)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plain(lines: &[Line]) -> Vec<String> {
        lines.iter().map(|l| l.to_string()).collect()
    }

    #[test]
    fn pack_keeps_items_whole() {
        let items = ["concurrency 8", "max-pending 4000", "ack async"]
            .map(Span::raw)
            .to_vec();
        assert_eq!(
            plain(&pack(items.clone(), 40)),
            ["concurrency 8  max-pending 4000", "ack async"]
        );
        assert_eq!(plain(&pack(items, 80)).len(), 1);
    }

    #[test]
    fn wrap_breaks_at_spaces() {
        assert_eq!(wrap("a bb ccc dddd", 6), ["a bb", "ccc", "dddd"]);
        assert_eq!(wrap("abcdefgh", 3), ["abc", "def", "gh"]);
        assert!(wrap("", 5).is_empty());
    }

    #[test]
    fn numbers_stay_short() {
        assert_eq!(count(12_345), "12345");
        assert_eq!(count(123_456), "123.5k");
        assert_eq!(count(12_345_678), "12.35M");
        assert_eq!(rate(498.4), "498/s");
        assert_eq!(rate(12_345.0), "12.3k/s");
        assert_eq!(latency(1_234, 6), "1.23ms");
        assert_eq!(latency(1_234, 5), "1.2ms");
        assert_eq!(latency(123_456, 6), "123ms");
        assert_eq!(latency(850, 5), "850us");
        assert_eq!(latency(1_500_000, 4), "1.5s");
    }
}
