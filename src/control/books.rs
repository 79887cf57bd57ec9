//! What the coordinator keeps of each agent during a run: how it stands, and what it measured in
//! each phase on each lane, from which the run's exact figures are made.

use crate::control::wire::AgentInfo;
use crate::metrics::host::HostLoad;
use crate::metrics::{CounterValues, E2eCounts, LaneResult, StageSet};
use crate::vocab::{Finding, FindingKind};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

/// An agent's standing during a run.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Standing {
    Ok,
    /// No interval for [`SUSPECT_AFTER`].
    Suspect,
    /// No interval for [`LOST_AFTER`], since this many seconds into the run.
    Lost(f64),
}

/// What the coordinator knows of one agent during a run.
#[derive(Debug, Clone)]
pub(super) struct Book {
    pub(super) info: AgentInfo,
    /// Its weight: its share of each lane's rate and publishers is its part of all weights.
    pub(super) weight: u64,
    pub(super) last_seen: Instant,
    pub(super) standing: Standing,
    pub(super) acked: u64,
    /// Un-acked messages per lane, as its last interval said.
    pub(super) in_flight: Vec<u64>,
    /// Its last interval has come.
    pub(super) done: bool,
    /// The newest knob order it has applied.
    pub(super) version: u64,
}

/// What one agent measured in one phase on one lane, from its intervals.
#[derive(Clone, Default)]
pub(super) struct Part {
    pub(super) counts: CounterValues,
    pub(super) measured_counts: CounterValues,
    pub(super) measured: StageSet,
    pub(super) warm: StageSet,
    /// Seconds of its measured intervals.
    pub(super) measured_s: f64,
    /// End to end, as the agent counted it at the end of the run.
    pub(super) e2e: Option<E2eCounts>,
    /// What the agent's host did over the phase's measured part, as it said at the end.
    pub(super) host: Option<HostLoad>,
}

/// Every part, by (agent position, the knob order of the phase, lane position).
pub(super) type Parts = BTreeMap<(usize, u64, usize), Part>;

/// `agents 3/4 (a4 lost)  knobs v7 on 3/3  max-pending per agent`: who publishes, and whether
/// every live agent has applied knob order `version`, for the header and the progress lines.
pub(super) fn status_line(books: &[Book], version: u64) -> String {
    let gone = |b: &&Book| matches!(b.standing, Standing::Lost(_));
    let live: Vec<&Book> = books.iter().filter(|b| !gone(b)).collect();
    let mut s = format!("agents {}/{}", live.len(), books.len());
    let odd: Vec<String> = (books.iter())
        .filter_map(|b| match b.standing {
            Standing::Lost(_) => Some(format!("{} lost", b.info.name)),
            Standing::Suspect => Some(format!("{} suspect", b.info.name)),
            Standing::Ok => None,
        })
        .collect();
    if !odd.is_empty() {
        s.push_str(&format!(" ({})", odd.join(", ")));
    }
    let on = live.iter().filter(|b| b.version >= version).count();
    s.push_str(&format!("  knobs v{version} on {on}/{}", live.len()));
    s.push_str("  max-pending per agent");
    s
}

/// Sets `lane`'s counts, rates and histograms to the sum of `parts`: the rates are each agent's
/// own (its measured acks over its measured seconds), added.
pub(super) fn fill<'a>(lane: &mut LaneResult, parts: impl Iterator<Item = &'a Part>) {
    let (mut counts, mut measured, mut warm) = (
        CounterValues::default(),
        StageSet::accumulating(),
        StageSet::accumulating(),
    );
    let (mut throughput, mut sent_rate) = (0.0, 0.0);
    let mut e2e: Option<E2eCounts> = None;
    for part in parts {
        if let Some(c) = part.e2e {
            let sum = e2e.get_or_insert_with(E2eCounts::default);
            sum.acked += c.acked;
            sum.received += c.received;
            sum.late += c.late;
        }
        counts = counts.plus(&part.counts);
        measured.merge(&part.measured);
        warm.merge(&part.warm);
        if part.measured_s > 0.0 {
            throughput += part.measured_counts.acked as f64 / part.measured_s;
            sent_rate += part.measured_counts.sent as f64 / part.measured_s;
        }
    }
    lane.counts = counts;
    if e2e.is_some() {
        lane.e2e = e2e;
    }
    lane.throughput = throughput;
    lane.sent_rate = sent_rate;
    lane.warmup_only = measured.is_empty() && !warm.is_empty();
    lane.measured = Arc::new(measured);
    lane.warm = Arc::new(warm);
}

/// The `agent-behind` finding of one lane: the agents whose measured send rate fell below 90% of
/// their share of `rate` (open loop only), as (name, part) pairs; `None` when all kept up.
pub(super) fn behind<'a>(
    rate: u64,
    weights: &[u64],
    agents: impl Iterator<Item = (usize, &'a str, &'a Part)>,
) -> Option<Finding> {
    if rate == 0 {
        return None;
    }
    let late: Vec<String> = agents
        .filter_map(|(i, name, part)| {
            let share = super::share::share(rate, weights, i);
            if part.measured_s < 1.0 || share == 0 {
                return None;
            }
            let sent = part.measured_counts.sent as f64 / part.measured_s;
            (sent < 0.9 * share as f64)
                .then(|| format!("{name} sent {sent:.0} of its {share} msg/s"))
        })
        .collect();
    (!late.is_empty()).then(|| {
        Finding::new(
            FindingKind::AgentBehind,
            format!(
                "{}: that host, not the broker, set its part of the figures (its CPU, its network, \
                 its publishers or max-pending); the other agents kept their shares. Give it fewer \
                 (a weight), or more publishers",
                late.join("; ")
            ),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn part(sent: u64, secs: f64) -> Part {
        Part {
            measured_counts: CounterValues {
                sent,
                ..CounterValues::default()
            },
            measured_s: secs,
            ..Part::default()
        }
    }

    #[test]
    fn an_agent_below_its_share_is_named_and_one_that_keeps_up_is_not() {
        let (fine, slow) = (part(10_000, 10.0), part(6_000, 10.0));
        let agents = [(0, "a1", &fine), (1, "a2", &slow)];
        let f = behind(2000, &[1, 1], agents.into_iter()).expect("a2 is behind");
        assert_eq!(f.kind, FindingKind::AgentBehind);
        assert!(
            f.message.starts_with("a2 sent 600 of its 1000 msg/s"),
            "{}",
            f.message
        );
        assert!(!f.message.contains("a1"), "{}", f.message);
        let both_fine = [(0, "a1", &fine), (1, "a2", &fine)];
        assert!(behind(2000, &[1, 1], both_fine.into_iter()).is_none());
        assert!(
            behind(0, &[1, 1], agents.into_iter()).is_none(),
            "closed loop has no share"
        );
    }
}
