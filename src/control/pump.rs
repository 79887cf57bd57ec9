//! The coordinator's task during a run: knob orders out, intervals in, heartbeats both ways,
//! and agents that fall silent marked suspect, then lost.

use super::books::{status_line, Book, Parts, Standing};
use super::wire::{self, Applied, Interval, KnobOrder};
use super::{LOST_AFTER, SUSPECT_AFTER};
use crate::engine::{Feed, Orders};
use crate::metrics::{MetricsStore, StageSet};
use futures::StreamExt;
use parking_lot::Mutex;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

/// The coordinator's task during a run: orders out, intervals in, heartbeats both ways.
pub(super) struct Pump {
    pub(super) client: async_nats::Client,
    pub(super) run: String,
    pub(super) books: Arc<Mutex<Vec<Book>>>,
    pub(super) parts: Arc<Mutex<Parts>>,
    pub(super) start: Instant,
}

impl Pump {
    pub(super) async fn run(
        self,
        mut feed: Feed,
        [mut data, mut applied]: [async_nats::Subscriber; 2],
        cancel: CancellationToken,
    ) {
        let mut beat = tokio::time::interval(Duration::from_secs(1));
        let (mut ended, mut version) = (false, 0);
        loop {
            tokio::select! {
                () = cancel.cancelled() => break,
                o = feed.orders.recv() => match o {
                    Some(o) => {
                        ended |= o.end;
                        if !o.end {
                            version = o.version;
                        }
                        self.send(&o).await;
                    }
                    None => ended = true,
                },
                m = data.next() => match m {
                    Some(m) => self.take(&feed.store, &m.payload),
                    None => break,
                },
                Some(m) = applied.next() => {
                    self.applied(&m.payload);
                    let line = status_line(&self.books.lock(), version);
                    feed.store.set_source(Some(line));
                }
                _ = beat.tick() => {
                    let _ = (self.client)
                        .publish(wire::beat_subject(&self.run), bytes::Bytes::new())
                        .await;
                    self.watch();
                    let line = status_line(&self.books.lock(), version);
                    feed.store.set_source(Some(line));
                }
            }
            if ended && self.all_done() {
                feed.drained.cancel();
            }
        }
        feed.drained.cancel();
    }

    async fn send(&self, o: &Orders) {
        let order = KnobOrder {
            version: o.version,
            knobs: o.knobs.clone(),
            paused: o.paused,
            note: o.note.clone(),
            end: o.end,
        };
        if let Err(e) =
            wire::publish_json(&self.client, wire::orders_subject(&self.run), &order).await
        {
            tracing::warn!("agents: the knob order v{} did not go out: {e}", o.version);
        }
    }

    /// Notes that an agent has applied a knob order (the header's `knobs v7 on 4/4`).
    fn applied(&self, payload: &[u8]) {
        let Ok(a) = serde_json::from_slice::<Applied>(payload) else {
            tracing::warn!("agents: a knob order's receipt that cannot be read");
            return;
        };
        let mut books = self.books.lock();
        if let Some(b) = books.iter_mut().find(|b| b.info.name == a.agent) {
            b.last_seen = Instant::now();
            b.version = b.version.max(a.version);
        }
    }

    /// Adds one interval of one agent to the store.
    fn take(&self, store: &MetricsStore, payload: &[u8]) {
        let iv: Interval = match serde_json::from_slice(payload) {
            Ok(iv) => iv,
            Err(e) => {
                tracing::warn!("agents: an interval that cannot be read: {e}");
                return;
            }
        };
        let mut books = self.books.lock();
        let Some(i) = books.iter().position(|b| b.info.name == iv.agent) else {
            return;
        };
        let b = &mut books[i];
        b.last_seen = Instant::now();
        b.version = b.version.max(iv.version);
        if b.standing == Standing::Suspect {
            b.standing = Standing::Ok;
        }
        let mut parts = self.parts.lock();
        for (lane, part) in iv.lanes.iter().enumerate() {
            let Some(metrics) = store.lanes().get(lane) else {
                continue;
            };
            let set = match part.stage_set() {
                Ok(set) => set,
                Err(e) => {
                    tracing::warn!("agents: {}'s histograms: {e}", iv.agent);
                    StageSet::default()
                }
            };
            metrics.recorders.add(&set);
            let mine = parts.entry((i, iv.phase_version, lane)).or_default();
            mine.counts = mine.counts.plus(&part.counts);
            if iv.warm {
                mine.warm.merge(&set);
            } else {
                mine.measured.merge(&set);
                mine.measured_counts = mine.measured_counts.plus(&part.counts);
                mine.measured_s += (iv.end_s - iv.start_s).max(0.0);
            }
            b.acked += part.counts.acked;
            if let Some(f) = b.in_flight.get_mut(lane) {
                *f = if iv.last { 0 } else { part.in_flight };
            }
        }
        for (version, lanes) in &iv.e2e {
            for (lane, c) in lanes.iter().enumerate() {
                parts.entry((i, *version, lane)).or_default().e2e = *c;
            }
        }
        for (version, load) in &iv.hosts {
            for lane in 0..store.lanes().len() {
                parts.entry((i, *version, lane)).or_default().host = Some(load.clone());
            }
        }
        b.done |= iv.last;
        for (lane, metrics) in store.lanes().iter().enumerate() {
            let in_flight = books.iter().filter_map(|b| b.in_flight.get(lane)).sum();
            let counts = iv.lanes.get(lane).map(|p| p.counts).unwrap_or_default();
            metrics.counters.add(&counts, in_flight);
        }
    }

    /// Marks agents silent for too long suspect, then lost (the run goes on without them).
    fn watch(&self) {
        let now = Instant::now();
        let at = now.saturating_duration_since(self.start).as_secs_f64();
        for b in self.books.lock().iter_mut() {
            let silent = now.saturating_duration_since(b.last_seen);
            match b.standing {
                Standing::Lost(_) => {}
                _ if b.done => {}
                _ if silent >= LOST_AFTER => {
                    b.standing = Standing::Lost(at);
                    b.in_flight.iter_mut().for_each(|f| *f = 0);
                    tracing::warn!(
                        "agent {} lost at {at:.1}s: no interval for {}s; the run goes on without it (degraded)",
                        b.info.name,
                        LOST_AFTER.as_secs()
                    );
                }
                Standing::Ok if silent >= SUSPECT_AFTER => {
                    b.standing = Standing::Suspect;
                    tracing::warn!(
                        "agent {} suspect: no interval for {}s",
                        b.info.name,
                        silent.as_secs()
                    );
                }
                _ => {}
            }
        }
    }

    /// Every agent has sent its last interval, or is lost.
    fn all_done(&self) -> bool {
        (self.books.lock().iter()).all(|b| b.done || matches!(b.standing, Standing::Lost(_)))
    }
}
