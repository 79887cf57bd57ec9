//! The shared metrics store: HDR histograms per lane and stage, counters, gauges and series.
//!
//! Workers record into striped recorders (no shared lock, no channel per message); a stats tick
//! drains them into interval and phase histograms and publishes a cheap, cloned [`Snapshot`].

mod e2e;
mod histo;
mod phase;
mod recorder;
mod snapshot;
mod store;
mod tally;

pub mod host;
pub use e2e::{E2eBook, E2eCounts};
pub use histo::{decode_v2, encode_v2, HistogramError, StageSet, StageSummary, HIGHEST_US};
pub use phase::{outages_of, LaneResult, Outage, PhaseResult};
pub use recorder::{CounterValues, Counters, Dedicated, Line, Record, Recorder, Recorders, Stripe};
pub use snapshot::{LaneSnapshot, PhaseStats, Quantiles, SeriesPoint, Snapshot};
pub use store::{
    log_heap, no_analysis, Analyser, HistogramBytes, IntervalRecord, LaneMetrics, MetricsStore,
};
