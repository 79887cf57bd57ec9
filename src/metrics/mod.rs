//! The shared metrics store: HDR histograms per lane and stage, counters, gauges and series.
//!
//! Workers record into striped recorders (no shared lock, no channel per message); a stats tick
//! drains them into interval and phase histograms and publishes a cheap, cloned [`Snapshot`].

mod histo;
mod recorder;
mod snapshot;
mod store;

pub use histo::{fmt_us, fmt_us_short, Stage, StageSet, StageSummary, HIGHEST_US};
pub use recorder::{CounterValues, Counters, Dedicated, Recorder, Recorders};
pub use snapshot::{LaneSnapshot, PhaseStats, SeriesPoint, Snapshot};
pub use store::{outages_of, ClosedPhase, LaneMetrics, LanePhase, MetricsStore, Outage, PhaseMode};
