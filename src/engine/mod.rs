//! The workload engine: lanes, workers, knobs, phases and the open-loop schedule.
//! It knows nothing of terminals; front ends drive it through [`EngineHandle`].

mod e2e;
mod lane;
pub mod payload;
mod schedule;
pub use schedule::tight_timer_slack;
mod shared;
mod ticket;
mod worker;

use crate::brokers::{BrokerError, OnMessage, Publisher};
use crate::metrics::{
    log_heap, no_analysis, Analyser, IntervalRecord, MetricsStore, PhaseResult, Snapshot,
};
use crate::vocab::{knobs, KnobChange, Knobs};
use e2e::E2eTracker;
use lane::Lane;
use payload::PayloadBuilder;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tokio::time::MissedTickBehavior;
use tokio_util::sync::CancellationToken;

/// How long the end-to-end consumers may catch up at the end of a run.
pub const E2E_GRACE: Duration = Duration::from_secs(5);

/// How often the metrics store is drained and a snapshot published.
pub const STATS_TICK: Duration = Duration::from_secs(1);
/// Stats ticks between two lines of the `pubduel::memory` debug log (ten seconds).
const HEAP_LOG_TICKS: u64 = 10;

/// A lane to run: its name, publisher and first knobs.
pub struct LaneSetup {
    /// The lane's name.
    pub name: String,
    /// The lane's publisher.
    pub publisher: Arc<dyn Publisher>,
    /// Knobs at the start.
    pub knobs: Knobs,
}

/// Run-wide engine settings.
#[derive(Clone)]
pub struct EngineConfig {
    /// Left out of each phase's percentiles after its start.
    pub warmup: Duration,
    /// Run an in-process consumer per lane and record `e2e`.
    pub e2e: bool,
    /// How long to wait at the end for outstanding acks.
    pub drain: Duration,
    /// Keep every closed interval for [`EngineHandle::take_intervals`] (interval log, series).
    pub keep_intervals: bool,
    /// With `e2e`: how long the consumers may catch up at the end before the rest is missing.
    pub e2e_grace: Duration,
    /// Spin the last microseconds before each open-loop slot (precise pacing, costs CPU).
    pub precise: bool,
    /// What the phases' numbers mean: the analysis the run hands down (none by default).
    pub analyse: Analyser,
    /// The bytes every message carries instead of filler, if a payload file was given.
    pub payload: Option<bytes::Bytes>,
}

impl std::fmt::Debug for EngineConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EngineConfig")
            .field("warmup", &self.warmup)
            .field("e2e", &self.e2e)
            .field("drain", &self.drain)
            .field("keep_intervals", &self.keep_intervals)
            .field("e2e_grace", &self.e2e_grace)
            .field("precise", &self.precise)
            .finish_non_exhaustive()
    }
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            warmup: Duration::from_secs(2),
            e2e: false,
            drain: Duration::from_secs(5),
            keep_intervals: false,
            e2e_grace: E2E_GRACE,
            precise: false,
            analyse: no_analysis(),
            payload: None,
        }
    }
}

/// Which lanes a knob change applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LaneTarget {
    /// Every lane.
    All,
    /// One lane, by position.
    One(usize),
}

impl LaneTarget {
    fn includes(self, i: usize) -> bool {
        matches!(self, LaneTarget::All) || self == LaneTarget::One(i)
    }
}

/// What a [fed](Engine::fed) engine's lanes are told to do: every lane's knobs, in lane order,
/// numbered so that whoever carries them can tell a newer order from an older one.
#[derive(Debug, Clone, PartialEq)]
pub struct Orders {
    /// Counts up from 0 (the first knobs) with every order.
    pub version: u64,
    /// Each lane's knobs.
    pub knobs: Vec<Knobs>,
    /// Publishing paused.
    pub paused: bool,
    /// The caption of the phase the order opens (a scripted step's note).
    pub note: Option<String>,
    /// Publishing is over: the lanes stop, settle what is in flight and send the rest.
    pub end: bool,
}

/// The far side of a [fed](Engine::fed) engine: the orders its lanes are to follow, and the store
/// their measurements go into ([`MetricsStore::lanes`]: recorders and counters, by lane).
pub struct Feed {
    /// The orders, the first knobs first.
    pub orders: mpsc::UnboundedReceiver<Orders>,
    /// The store the measurements go into.
    pub store: Arc<MetricsStore>,
    /// Cancelled by the feeder once everything measured after the end has arrived (or will not).
    pub drained: CancellationToken,
}

/// The lanes of a fed engine: their knobs, and where their orders go.
struct Remote {
    knobs: Vec<Knobs>,
    version: u64,
    orders: mpsc::UnboundedSender<Orders>,
    drained: CancellationToken,
}

impl Remote {
    fn send(&mut self, paused: bool, note: Option<String>, end: bool) {
        let order = Orders {
            version: self.version,
            knobs: self.knobs.clone(),
            paused,
            note,
            end,
        };
        self.version += 1;
        let _ = self.orders.send(order);
    }
}

/// A request to the engine; each one that changes something opens a new phase.
#[derive(Debug, Clone)]
enum Control {
    Apply(LaneTarget, KnobChange),
    TogglePause,
    NewPhase,
    Step(Vec<Knobs>, Option<String>),
    Resume(Vec<Knobs>, Option<String>),
    Set(Vec<Knobs>, bool, Option<String>),
    Freeze,
}

/// A cloneable handle front ends use to steer and observe a running engine.
#[derive(Clone)]
pub struct EngineHandle {
    ctrl: mpsc::UnboundedSender<Control>,
    store: Arc<MetricsStore>,
    ticks: watch::Receiver<u64>,
}

impl EngineHandle {
    /// Changes knobs on some lanes; a change opens a new phase.
    pub fn apply(&self, target: LaneTarget, change: KnobChange) {
        let _ = self.ctrl.send(Control::Apply(target, change));
    }

    /// Pauses or resumes publishing (a new phase either way).
    pub fn toggle_pause(&self) {
        let _ = self.ctrl.send(Control::TogglePause);
    }

    /// Sets every lane's knobs (in lane order) and opens a phase captioned `note`, even when
    /// nothing changes: a scripted step.
    pub fn step(&self, knobs: Vec<Knobs>, note: Option<String>) {
        let _ = self.ctrl.send(Control::Step(knobs, note));
    }

    /// Like [`EngineHandle::step`], and resumes publishing if it was paused.
    pub fn resume_with(&self, knobs: Vec<Knobs>, note: Option<String>) {
        let _ = self.ctrl.send(Control::Resume(knobs, note));
    }

    /// Sets every lane's knobs (in lane order) and whether publishing is paused, and opens one
    /// phase captioned `note`: an order from elsewhere (an agent's coordinator).
    pub fn set(&self, knobs: Vec<Knobs>, paused: bool, note: Option<String>) {
        let _ = self.ctrl.send(Control::Set(knobs, paused, note));
    }

    /// Ends the run here without ending the engine: publishing stops, no phase opens, and the
    /// phases [`Engine::finish`] returns close at this instant (a front end that keeps the final
    /// numbers on screen until the user quits).
    pub fn freeze(&self) {
        let _ = self.ctrl.send(Control::Freeze);
    }

    /// When the run (and its phase 0) started: scripted steps count from here.
    pub fn started(&self) -> Instant {
        self.store.start()
    }

    /// Starts a new phase with the same knobs: fresh histograms.
    pub fn new_phase(&self) {
        let _ = self.ctrl.send(Control::NewPhase);
    }

    /// The latest metrics snapshot.
    pub fn snapshot(&self) -> Arc<Snapshot> {
        self.store.snapshot()
    }

    /// Every phase so far, the current one as of now.
    pub fn phases(&self) -> Vec<PhaseResult> {
        self.store.phases(Instant::now())
    }

    /// The intervals closed since the last call (kept only with `keep_intervals`).
    pub fn take_intervals(&self) -> Vec<IntervalRecord> {
        self.store.take_intervals()
    }

    /// Changes once per stats tick; front ends wait on it.
    pub fn ticks(&self) -> watch::Receiver<u64> {
        self.ticks.clone()
    }
}

/// A running engine. Dropping it stops the workers; [`Engine::finish`] stops them cleanly.
pub struct Engine {
    handle: EngineHandle,
    cancel: CancellationToken,
    controller: Option<JoinHandle<Vec<PhaseResult>>>,
}

impl Engine {
    /// Starts every lane (and, with `e2e`, its consumer first).
    pub async fn start(
        setups: Vec<LaneSetup>,
        config: EngineConfig,
    ) -> Result<Engine, BrokerError> {
        let epoch = Instant::now();
        let nonce: u32 = rand::random();
        let names: Vec<(String, Knobs)> =
            setups.iter().map(|s| (s.name.clone(), s.knobs)).collect();
        let store = Arc::new(MetricsStore::new(
            &names,
            Arc::clone(&config.analyse),
            config.warmup,
            epoch,
        ));
        if config.keep_intervals {
            store.keep_intervals();
        }
        for (i, setup) in setups.iter().enumerate() {
            store.watch_status(i, setup.publisher.status());
        }
        let cancel = CancellationToken::new();
        let payloads: Vec<PayloadBuilder> = (0..setups.len())
            .map(|_| {
                PayloadBuilder::new(knobs::limits::MAX_MESSAGE_SIZE as usize, epoch, nonce)
                    .with_file(config.payload.clone())
            })
            .collect();
        let consumers = if config.e2e {
            // Their own token: they outlive publishing by the end-of-run grace.
            start_consumers(&setups, &store, &payloads, &CancellationToken::new()).await?
        } else {
            Vec::new()
        };
        let now = Instant::now();
        store.restart(now);
        let lanes: Vec<Lane> = setups
            .into_iter()
            .zip(store.lanes())
            .zip(payloads)
            .map(|((s, m), p)| {
                Lane::start(s.publisher, Arc::clone(m), p, s.knobs, now, config.precise)
            })
            .collect();
        let (ctrl, rx) = mpsc::unbounded_channel();
        let (ticks_tx, ticks) = watch::channel(0u64);
        let run = Controller {
            lanes,
            remote: None,
            store: Arc::clone(&store),
            config,
            paused: false,
            ticks: ticks_tx,
            consumers,
            frozen_at: None,
        };
        let controller = tokio::spawn(run.run(rx, cancel.clone()));
        Ok(Engine {
            handle: EngineHandle { ctrl, store, ticks },
            cancel,
            controller: Some(controller),
        })
    }

    /// An engine whose lanes run elsewhere (on agents): it keeps the phases, the stats tick and
    /// the handle as [`Engine::start`] does, sends every knob change out as [`Orders`], and
    /// takes what the lanes measured through the [`Feed`]'s store. It knows nothing of where
    /// the lanes are or how the orders travel.
    pub fn fed(lanes: &[(String, Knobs)], config: EngineConfig) -> (Engine, Feed) {
        let now = Instant::now();
        let store = Arc::new(MetricsStore::new(
            lanes,
            Arc::clone(&config.analyse),
            config.warmup,
            now,
        ));
        if config.keep_intervals {
            store.keep_intervals();
        }
        let (orders_tx, orders) = mpsc::unbounded_channel();
        let drained = CancellationToken::new();
        let mut remote = Remote {
            knobs: lanes.iter().map(|(_, k)| *k).collect(),
            version: 0,
            orders: orders_tx,
            drained: drained.clone(),
        };
        remote.send(false, None, false);
        let (ctrl, rx) = mpsc::unbounded_channel();
        let (ticks_tx, ticks) = watch::channel(0u64);
        let cancel = CancellationToken::new();
        let run = Controller {
            lanes: Vec::new(),
            remote: Some(remote),
            store: Arc::clone(&store),
            config,
            paused: false,
            ticks: ticks_tx,
            consumers: Vec::new(),
            frozen_at: None,
        };
        let controller = tokio::spawn(run.run(rx, cancel.clone()));
        let engine = Engine {
            handle: EngineHandle {
                ctrl,
                store: Arc::clone(&store),
                ticks,
            },
            cancel,
            controller: Some(controller),
        };
        let feed = Feed {
            orders,
            store,
            drained,
        };
        (engine, feed)
    }

    /// A handle for steering and snapshots.
    pub fn handle(&self) -> EngineHandle {
        self.handle.clone()
    }

    /// Stops publishing, waits for outstanding acks (up to the drain time) and returns every phase.
    pub async fn finish(mut self) -> Vec<PhaseResult> {
        self.cancel.cancel();
        match self.controller.take() {
            Some(c) => match c.await {
                Ok(phases) => phases,
                Err(_) => self.handle.phases(),
            },
            None => self.handle.phases(),
        }
    }
}

impl Drop for Engine {
    fn drop(&mut self) {
        self.cancel.cancel();
    }
}

/// Starts one end-to-end consumer per lane, each seeing only what is published from now on.
async fn start_consumers(
    setups: &[LaneSetup],
    store: &MetricsStore,
    payloads: &[PayloadBuilder],
    cancel: &CancellationToken,
) -> Result<Vec<JoinHandle<()>>, BrokerError> {
    let mut consumers = Vec::new();
    for ((setup, metrics), payloads) in setups.iter().zip(store.lanes()).zip(payloads) {
        let tracker = Arc::new(E2eTracker::new(payloads.clone(), Arc::clone(metrics)));
        let on_message: OnMessage = Arc::new(move |p: &[u8], stamp: Option<&[u8]>, at: Instant| {
            tracker.on_message(p, stamp, at)
        });
        let task = setup
            .publisher
            .consume(on_message, cancel.child_token())
            .await?;
        consumers.push(tokio::spawn(task));
    }
    Ok(consumers)
}

/// The engine's own task: applies controls, runs the stats tick, and shuts lanes down.
struct Controller {
    lanes: Vec<Lane>,
    /// A fed engine's lanes (and then `lanes` is empty).
    remote: Option<Remote>,
    store: Arc<MetricsStore>,
    config: EngineConfig,
    paused: bool,
    ticks: watch::Sender<u64>,
    consumers: Vec<JoinHandle<()>>,
    /// When the run was frozen ([`EngineHandle::freeze`]), if it was.
    frozen_at: Option<Instant>,
}

impl Controller {
    async fn run(
        mut self,
        mut rx: mpsc::UnboundedReceiver<Control>,
        cancel: CancellationToken,
    ) -> Vec<PhaseResult> {
        let mut tick =
            tokio::time::interval_at((self.store.start() + STATS_TICK).into(), STATS_TICK);
        tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
        loop {
            let warm = self.store.warmup_deadline(Instant::now());
            tokio::select! {
                _ = cancel.cancelled() => break,
                Some(c) = rx.recv() => self.control(c),
                _ = tick.tick() => {
                    self.store.tick(Instant::now());
                    self.ticks.send_modify(|t| *t += 1);
                    if *self.ticks.borrow() % HEAP_LOG_TICKS == 0 {
                        log_heap(&self.store);
                    }
                }
                _ = sleep_until_opt(warm) => {
                    self.store.tick(Instant::now());
                }
            }
        }
        self.shutdown().await
    }

    fn control(&mut self, c: Control) {
        if self.frozen_at.is_some() {
            return;
        }
        let current: Vec<Knobs> = match &self.remote {
            Some(r) => r.knobs.clone(),
            None => self.lanes.iter().map(Lane::knobs).collect(),
        };
        let next = match c {
            Control::Freeze => {
                let now = Instant::now();
                self.frozen_at = Some(now);
                for (lane, k) in self.lanes.iter_mut().zip(&current) {
                    lane.set(*k, true, now);
                }
                if let Some(r) = self.remote.as_mut() {
                    r.send(true, None, true);
                }
                return;
            }
            Control::Apply(target, change) => {
                let next: Vec<Knobs> = (current.iter().enumerate())
                    .map(|(i, k)| match self.lanes.get(i) {
                        _ if !target.includes(i) => *k,
                        Some(lane) => lane.changed(*k, change),
                        None => k.apply(change),
                    })
                    .collect();
                if next == current {
                    return;
                }
                next
            }
            Control::TogglePause => {
                self.paused = !self.paused;
                current
            }
            Control::NewPhase => current,
            Control::Step(knobs, note) if knobs.len() == current.len() => {
                return self.begin(knobs, note);
            }
            Control::Resume(knobs, note) if knobs.len() == current.len() => {
                self.paused = false;
                return self.begin(knobs, note);
            }
            Control::Set(knobs, paused, note) if knobs.len() == current.len() => {
                self.paused = paused;
                return self.begin(knobs, note);
            }
            Control::Step(..) | Control::Resume(..) | Control::Set(..) => return,
        };
        self.begin(next, None);
    }

    /// Switches the lanes to `next` and opens a phase.
    fn begin(&mut self, next: Vec<Knobs>, note: Option<String>) {
        // Workers switch first, then the store closes the phase: closing drains and analyses,
        // and messages sent under the old knobs meanwhile belong to the old phase.
        let now = Instant::now();
        for (lane, k) in self.lanes.iter_mut().zip(&next) {
            lane.set(*k, self.paused, now);
        }
        // The new phase's messages are numbered from here: end-to-end counts go by number.
        for (lane, m) in self.lanes.iter().zip(self.store.lanes()) {
            m.e2e.begin_phase(|| lane.next_seq());
        }
        if let Some(r) = self.remote.as_mut() {
            r.knobs.clone_from(&next);
            r.send(self.paused, note.clone(), false);
        }
        self.store.begin_phase(now, &next, self.paused, note);
        self.ticks.send_modify(|t| *t += 1);
    }

    async fn shutdown(mut self) -> Vec<PhaseResult> {
        let stop_at = self.frozen_at.unwrap_or_else(Instant::now);
        futures::future::join_all(
            self.lanes
                .iter_mut()
                .map(|l| l.stop(Duration::from_secs(2))),
        )
        .await;
        let deadline = Instant::now() + self.config.drain;
        while self.lanes.iter().any(|l| l.in_flight() > 0) && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        if let Some(r) = self.remote.as_mut() {
            if self.frozen_at.is_none() {
                r.send(self.paused, None, true);
            }
            // The lanes settle what is in flight and send the rest: their drain, and the
            // consumers' grace, and the trip back.
            let wait = self.config.drain + self.config.e2e_grace + Duration::from_secs(3);
            let _ = tokio::time::timeout(wait, r.drained.cancelled()).await;
        }
        if self.config.e2e {
            // The consumers catch up for a bounded grace: what arrives now is `late`, what never
            // does is `missing`.
            self.store.lanes().iter().for_each(|m| m.e2e.closing());
            let deadline = Instant::now() + self.config.e2e_grace;
            while Instant::now() < deadline
                && self.store.lanes().iter().any(|m| m.e2e.outstanding() > 0)
            {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
        for c in &self.consumers {
            c.abort();
        }
        let phases = self.store.phases(stop_at);
        self.store.tick(Instant::now());
        self.ticks.send_modify(|t| *t += 1);
        phases
    }
}

async fn sleep_until_opt(t: Option<Instant>) {
    match t {
        Some(t) => tokio::time::sleep_until(t.into()).await,
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests;
