//! The host rules: a starved host, and a load generator that is its own bottleneck.

use super::{Finding, FindingKind};
use crate::metrics::host::HostLoad;

/// Busy share of all CPUs at and above which the host counts as full.
const FULL: f64 = 0.85;
/// Share of the time pubduel's threads were ready but waited for a CPU, at and above which
/// they count as starved.
const WAITED: f64 = 0.25;
/// Steal share that starves a virtual host on its own.
const STOLEN: f64 = 0.10;
/// Share of the host's CPUs pubduel kept busy at which it is its own bottleneck.
const OWN_SHARE: f64 = 0.80;
/// Shortest stretch judged, seconds.
const MIN_SECONDS: f64 = 2.0;

/// pubduel's threads waited for CPUs the host had given to others (or a hypervisor took).
/// `whose` names the host: "the host", or an agent's.
pub(super) fn host_starved(h: &HostLoad, whose: &str) -> Option<Finding> {
    if h.seconds < MIN_SECONDS {
        return None;
    }
    let waited = h.own_wait / (h.own_wait + h.own_cpu).max(1e-9);
    let full = h.busy >= FULL && waited >= WAITED;
    if !full && h.steal < STOLEN {
        return None;
    }
    Some(Finding::new(
        FindingKind::HostStarved,
        format!(
            "{whose} was starved of CPU: its {} CPUs were {:.0}% busy (run queue {:.1}, steal \
             {:.0}%), and pubduel's threads waited {:.0} ms per second to run ({:.0}% of the time \
             they were ready). {}These figures are the host's, not the broker's or the knobs': \
             lowering the rate will not help. Free the CPUs, or generate the load from another \
             host (pubduel agent).{}",
            h.cpus,
            100.0 * h.busy,
            h.run_queue,
            100.0 * h.steal,
            1000.0 * h.own_wait,
            100.0 * waited,
            busy_besides(h),
            fewer_threads(h),
        ),
    ))
}

/// With a broker busy on the same CPUs, pubduel's runtime threads waking each other cost CPU
/// the broker could have had: the advice to run on one (empty when it already does).
fn fewer_threads(h: &HostLoad) -> String {
    let broker = (h.others.iter()).any(|(name, _)| kind_of(name) == BROKER);
    if !broker || h.workers <= 1 {
        return String::new();
    }
    format!(
        " On a host shared with a broker, --threads 1 leaves it more: pubduel ran its \
         publishers on {} threads that wake each other, and one thread spends less CPU per \
         message.",
        h.workers
    )
}

/// What [`kind_of`] says of a broker.
const BROKER: &str = " (a broker on this host)";

/// What else kept the CPUs busy, as a sentence (empty when nothing stood out).
fn busy_besides(h: &HostLoad) -> String {
    if h.others.is_empty() {
        return String::new();
    }
    let named: Vec<String> = (h.others.iter())
        .map(|(name, cpus)| format!("{name} {cpus:.1}{}", kind_of(name)))
        .collect();
    format!("Busy besides pubduel (CPUs): {}. ", named.join(", "))
}

fn kind_of(name: &str) -> &'static str {
    const BUILDS: [&str; 8] = [
        "rustc", "cargo", "cc1", "cc1plus", "ld", "go", "javac", "make",
    ];
    if name == "nats-server" || name.contains("Kafka") {
        BROKER
    } else if BUILDS.contains(&name) || name.contains("build") {
        " (a build)"
    } else {
        ""
    }
}

/// pubduel itself kept most of the host's CPUs busy while the host was not starved by others.
pub(super) fn client_bound(h: &HostLoad) -> Option<Finding> {
    let cpus = f64::from(h.cpus.max(1));
    if h.seconds < MIN_SECONDS || h.own_cpu < OWN_SHARE * cpus {
        return None;
    }
    Some(Finding::new(
        FindingKind::ClientBound,
        format!(
            "pubduel kept {:.1} of the host's {} CPUs busy: the load generator, not the broker, \
             set this pace, and the figures are its ceiling on this host. Generate the load from \
             more hosts (pubduel agent), or lower concurrency to leave the broker its share.",
            h.own_cpu, h.cpus
        ),
    ))
}
