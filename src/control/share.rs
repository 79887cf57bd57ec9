//! Shares: how a lane's rate and publishers are split between agents, as k6's execution segments
//! split a test: agent `i` of weights `w` covers the span from `sum(w[..i])` to `sum(w[..=i])` of
//! the whole, and its share is `round(v * to) - round(v * from)`, so the shares always add up to
//! the whole, whatever the weights.

use crate::vocab::Knobs;

/// Agent `i`'s integer part of `whole`, the agents weighted by `weights` (all 1 for an even
/// split). The parts of all agents add up to `whole`.
pub fn share(whole: u64, weights: &[u64], i: usize) -> u64 {
    let total: u128 = weights.iter().map(|w| u128::from(*w)).sum();
    if total == 0 || i >= weights.len() {
        return 0;
    }
    let from: u128 = weights[..i].iter().map(|w| u128::from(*w)).sum();
    let to = from + u128::from(weights[i]);
    // round(v * x / total), halves up, in integers.
    let at = |x: u128| (2 * u128::from(whole) * x + total) / (2 * total);
    (at(to) - at(from)) as u64
}

/// Agent `i`'s knobs when the lane's `knobs` are split by `weights`: its share of the rate and of
/// the publishers; max-pending, the strategy and the message stay as they are (per agent). An
/// agent keeps at least one publisher (a share of 0 would stop its lane).
pub fn knobs_of(knobs: &Knobs, weights: &[u64], i: usize) -> Knobs {
    let concurrency = share(u64::from(knobs.concurrency), weights, i).max(1);
    Knobs {
        rate: share(knobs.rate, weights, i),
        concurrency: u32::try_from(concurrency).unwrap_or(u32::MAX),
        ..*knobs
    }
}

/// Why `knobs` cannot be split between agents of `weights`, naming the knob; `None` when it
/// can: every agent's share is at least one publisher and, in open loop, at least one message a
/// second (a share of 0 msg/s would mean as fast as possible).
pub fn unsplittable(knobs: &Knobs, weights: &[u64]) -> Option<(&'static str, String)> {
    let agents = weights.len();
    let short = |whole: u64| (0..agents).any(|i| share(whole, weights, i) == 0);
    let how = if weights.iter().any(|w| *w != 1) {
        " with these weights"
    } else {
        ""
    };
    if short(u64::from(knobs.concurrency)) {
        return Some((
            "concurrency",
            format!(
                "{} publishers cannot be shared by {agents} agents{how}: give each at least one",
                knobs.concurrency
            ),
        ));
    }
    if knobs.rate > 0 && short(knobs.rate) {
        return Some((
            "rate",
            format!(
                "{} msg/s cannot be shared by {agents} agents{how}: give each at least 1 msg/s",
                knobs.rate
            ),
        ));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_add_up_to_the_whole() {
        for whole in [0, 1, 2, 7, 1000, 3001, 999_999] {
            for weights in [
                vec![1],
                vec![1, 1, 1],
                vec![3, 1, 2, 5],
                vec![1; 7],
                vec![0, 2, 1],
            ] {
                let sum: u64 = (0..weights.len()).map(|i| share(whole, &weights, i)).sum();
                assert_eq!(sum, whole, "{whole} over {weights:?}");
            }
        }
    }

    #[test]
    fn an_even_split_differs_by_at_most_one() {
        let parts: Vec<u64> = (0..3).map(|i| share(1000, &[1, 1, 1], i)).collect();
        assert_eq!(parts.iter().sum::<u64>(), 1000);
        assert!(
            parts.iter().max().unwrap() - parts.iter().min().unwrap() <= 1,
            "{parts:?}"
        );
        assert_eq!(share(3000, &[1, 2], 1), 2000);
        assert_eq!(share(10, &[0, 1], 0), 0);
    }

    #[test]
    fn knobs_split_rate_and_publishers_only() {
        let k = Knobs {
            rate: 3000,
            concurrency: 6,
            max_pending: 500,
            ..Knobs::default()
        };
        let parts: Vec<Knobs> = (0..3).map(|i| knobs_of(&k, &[1, 1, 1], i)).collect();
        assert!(parts
            .iter()
            .all(|p| p.rate == 1000 && p.concurrency == 2 && p.max_pending == 500));
        assert!(unsplittable(&k, &[1; 3]).is_none());
        assert_eq!(unsplittable(&k, &[1; 7]).map(|e| e.0), Some("concurrency"));
        let slow = Knobs { rate: 2, ..k };
        assert_eq!(unsplittable(&slow, &[1; 3]).map(|e| e.0), Some("rate"));
        let max = Knobs { rate: 0, ..k };
        assert!(
            unsplittable(&max, &[1; 3]).is_none(),
            "rate 0 (as fast as possible) splits"
        );
        // Weighted: 6 publishers over 10:1:1 leave the light agents none.
        let heavy = unsplittable(&k, &[10, 1, 1]).unwrap();
        assert_eq!(heavy.0, "concurrency");
        assert!(heavy.1.contains("with these weights"), "{}", heavy.1);
        let parts: Vec<Knobs> = (0..2).map(|i| knobs_of(&k, &[2, 1], i)).collect();
        assert_eq!((parts[0].rate, parts[1].rate), (2000, 1000));
        assert_eq!((parts[0].concurrency, parts[1].concurrency), (4, 2));
    }
}
