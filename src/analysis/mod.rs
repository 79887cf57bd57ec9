//! Analysis: rules that say what a phase's numbers mean, in words a user can act on.
//!
//! Each rule is a small function over one phase's results (and, for the comparison rule, over
//! every lane of it). A lane whose broker was away during the phase gets `broker-unavailable`
//! and no advice about its knobs: its numbers then describe the outage, not the lane.

mod host;
mod rules;
#[cfg(test)]
mod tests;

use crate::metrics::host::HostLoad;
use crate::metrics::{LaneResult, PhaseResult};
use crate::vocab::Durability;
use crate::vocab::{Finding, FindingKind};

/// Findings for every lane of a phase (outer index = lane order); `durability` is per lane.
pub fn analyse(phase: &PhaseResult, durability: &[Durability]) -> Vec<Vec<Finding>> {
    let mut out: Vec<Vec<Finding>> = phase
        .lanes
        .iter()
        .enumerate()
        .map(|(i, lane)| lane_findings(lane, durability.get(i)))
        .collect();
    if let Some(f) = rules::unfair(phase, durability) {
        for lane in out.iter_mut() {
            lane.push(f.clone());
        }
    }
    let load = phase.host.as_ref();
    if let Some(f) = load.and_then(|h| host::host_starved(h, "the host")) {
        // The host, not the schedule's rate, held the figures back: the advice to lower the
        // rate would be wrong.
        for lane in out.iter_mut() {
            lane.retain(|x| x.kind != FindingKind::GeneratorLag);
            lane.push(f.clone());
        }
    } else if let Some(f) = load.and_then(host::client_bound) {
        for lane in out.iter_mut() {
            lane.push(f.clone());
        }
    }
    out
}

/// `host-starved` for agent `name`, whose host was starved of CPU over `load`; `None` when it
/// was not. A run of agents has no one host: each agent's load is judged on its own.
pub fn agent_starved(name: &str, load: &HostLoad) -> Option<Finding> {
    host::host_starved(load, &format!("agent {name}'s host"))
}

/// Findings from a lane's own numbers; only the outage when its broker was away.
fn lane_findings(lane: &LaneResult, durability: Option<&Durability>) -> Vec<Finding> {
    if let Some(f) = rules::broker_unavailable(lane) {
        return vec![f];
    }
    [
        rules::max_pending_stall(lane),
        rules::client_queue_full(lane),
        rules::generator_lag(lane),
        rules::broker_saturated(lane),
        durability.and_then(|d| rules::linger_wait(lane, d)),
    ]
    .into_iter()
    .flatten()
    .collect()
}
