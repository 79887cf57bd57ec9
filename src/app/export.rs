//! The interval log and the series file of a run, fed from each leg's engine on every tick.

use crate::config::RunConfig;
use crate::engine::EngineHandle;
use crate::metrics::IntervalRecord;
use crate::report::{ExportError, ExportSender, Exporter};
use std::time::SystemTime;

/// Where a leg's lanes, phases and times sit in the whole run: a capacity search runs one lane
/// after the other, each on its own engine, and the files number them as the report does.
#[derive(Debug, Clone, Copy, Default)]
pub struct Shift {
    /// The position of the leg's first lane among all of the run's lanes.
    pub lane: usize,
    /// The phases of the legs before it.
    pub phase: u32,
    /// Seconds the legs before it took.
    pub t_s: f64,
}

impl Shift {
    fn apply(self, mut records: Vec<IntervalRecord>) -> Vec<IntervalRecord> {
        for r in &mut records {
            r.lane += self.lane;
            r.phase += self.phase;
            r.start_s += self.t_s;
            r.end_s += self.t_s;
        }
        records
    }
}

/// The run's export files, open from before the first leg until after the last.
pub struct Export {
    exporter: Option<Exporter>,
}

/// One leg's feed into the export.
pub struct Pump {
    task: Option<(tokio::task::JoinHandle<()>, ExportSender, EngineHandle)>,
    shift: Shift,
}

impl Export {
    /// Opens `--hlog` and `--series`, if asked for; `lanes` names every lane of every leg in
    /// order.
    pub fn open(
        cfg: &RunConfig,
        lanes: Vec<String>,
        started_at: SystemTime,
    ) -> Result<Export, ExportError> {
        let exporter = if cfg.export.any() {
            Some(Exporter::start(&cfg.export, lanes, started_at)?)
        } else {
            None
        };
        Ok(Export { exporter })
    }

    /// Feeds the intervals `handle`'s engine closes, shifted by `shift`, until
    /// [`Pump::finish`].
    pub fn pump(&self, handle: EngineHandle, shift: Shift) -> Pump {
        let Some(exporter) = &self.exporter else {
            return Pump { task: None, shift };
        };
        let sender = exporter.sender();
        let (tx, h) = (sender.clone(), handle.clone());
        let task = tokio::spawn(async move {
            let mut ticks = h.ticks();
            while ticks.changed().await.is_ok() {
                tx.send(shift.apply(h.take_intervals()));
            }
        });
        Pump {
            task: Some((task, sender, handle)),
            shift,
        }
    }

    /// Writes what is queued, flushes and closes the files.
    pub async fn finish(self) -> Result<(), super::OutputError> {
        let Some(exporter) = self.exporter else {
            return Ok(());
        };
        let written = tokio::task::spawn_blocking(move || exporter.finish())
            .await
            .map_err(|e| super::OutputError::Writer {
                what: "export",
                message: e.to_string(),
            })?;
        Ok(written?)
    }
}

impl Pump {
    /// Sends the intervals closed up to the end of the leg; call it after the engine finished.
    pub async fn finish(self) {
        let Some((task, sender, handle)) = self.task else {
            return;
        };
        task.abort();
        let _ = task.await;
        sender.send(self.shift.apply(handle.take_intervals()));
    }
}
