//! Outages as the store follows them: a lane's availability changes turned into spans on the
//! monotonic clock, and their view in results.

use crate::brokers::{Availability, BrokerStatus};
use crate::metrics::Outage;
use std::sync::Arc;
use std::time::Instant;

/// An outage as the store follows it, on the monotonic clock.
#[derive(Debug, Clone)]
struct OutageSpan {
    start: Instant,
    end: Option<Instant>,
    reason: String,
}

/// One lane's broker availability, as its client reports it, and the outages seen so far.
pub(super) struct OutageLog {
    status: Arc<BrokerStatus>,
    spans: Vec<OutageSpan>,
}

impl OutageLog {
    /// A log that follows nothing until [`OutageLog::watch`].
    pub(super) fn new() -> OutageLog {
        OutageLog {
            status: BrokerStatus::new(),
            spans: Vec::new(),
        }
    }

    /// Follows `status` from now on.
    pub(super) fn watch(&mut self, status: Arc<BrokerStatus>) {
        self.status = status;
    }

    /// Turns the availability changes since the last call into outages (a short blip between
    /// two ticks included).
    pub(super) fn track(&mut self) {
        for change in self.status.take_changes() {
            let open = self.spans.last_mut().filter(|o| o.end.is_none());
            match (change, open) {
                (Availability::Down(start, reason), None) => self.spans.push(OutageSpan {
                    start,
                    end: None,
                    reason,
                }),
                (Availability::Up(at), Some(o)) => o.end = Some(at.max(o.start)),
                _ => {}
            }
        }
    }

    /// The outages of lane `lane` that reach into the stretch from `since` to `now`, timed from
    /// `run_start`.
    pub(super) fn since(
        &self,
        lane: usize,
        since: Instant,
        run_start: Instant,
        now: Instant,
    ) -> Vec<Outage> {
        self.spans
            .iter()
            .filter(|o| o.end.is_none_or(|e| e >= since))
            .map(|o| {
                let end = o.end.unwrap_or(now).max(o.start);
                Outage {
                    lane,
                    start_s: o.start.saturating_duration_since(run_start).as_secs_f64(),
                    duration_s: end.saturating_duration_since(o.start).as_secs_f64(),
                    ongoing: o.end.is_none(),
                    reason: o.reason.clone(),
                }
            })
            .collect()
    }
}
