//! The host under the figures: how busy its CPUs were, how long pubduel's own threads waited to
//! run, and what else was busy, from `/proc`, so that a finding can tell a starved host from a
//! slow broker or a setting.
//!
//! One sampler thread per process reads, once a second: `/proc/stat` (every CPU's busy, idle and
//! steal time), `/proc/loadavg` (the run queue), `/proc/self/task/*/schedstat` (each of pubduel's
//! threads' time on a CPU and time waiting for one) and, for naming what else was busy,
//! `/proc/[pid]/stat` of every process. It is started by a run ([`start`]); until then, and where
//! `/proc` is not there, [`between`] finds nothing.

use parking_lot::Mutex;
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::atomic::{AtomicU32, Ordering::Relaxed};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// Samples kept for the host's figures (an hour).
const KEEP: usize = 3600;
/// Samples that keep the table of every process (for naming what else was busy).
const KEEP_PROCESSES: usize = 120;
/// Processes named as busy, at most.
const NAMED: usize = 3;

/// What the host did over a stretch of time.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct HostLoad {
    /// Seconds covered.
    pub seconds: f64,
    /// CPUs of the host.
    pub cpus: u32,
    /// Share of all CPU time that was busy (0..1).
    pub busy: f64,
    /// Share of all CPU time a hypervisor took for others (0..1).
    pub steal: f64,
    /// Mean run queue: threads running or ready to run.
    pub run_queue: f64,
    /// CPUs pubduel itself kept busy (its threads' time on a CPU per second).
    pub own_cpu: f64,
    /// Seconds per second pubduel's threads were ready but waited for a CPU.
    pub own_wait: f64,
    /// The busiest other processes: what they are, CPUs each kept busy.
    pub others: Vec<(String, f64)>,
    /// The runtime threads pubduel's publishers and clients' tasks ran on (`--threads`; 0 when
    /// not known).
    #[serde(default)]
    pub workers: u32,
}

/// One reading of `/proc`.
#[derive(Debug, Clone, Default)]
struct Sample {
    /// Jiffies: total, busy, steal, summed over every CPU.
    total: u64,
    busy: u64,
    steal: u64,
    cpus: u32,
    run_queue: u32,
    /// Per thread of pubduel: time on a CPU and waiting for one, nanoseconds.
    threads: HashMap<u32, (u64, u64)>,
    /// Per process (pid): its name and CPU jiffies; only in the latest samples.
    processes: Option<HashMap<u32, (String, u64)>>,
}

struct Monitor {
    samples: Mutex<VecDeque<(Instant, Sample)>>,
    /// The worker threads of the runtime the last run started from.
    workers: AtomicU32,
}

static MONITOR: OnceLock<Option<&'static Monitor>> = OnceLock::new();

/// Starts the sampler (once per process); false where `/proc` cannot be read. Called from a
/// run's runtime, whose worker threads the host's figures then name.
pub fn start() -> bool {
    let monitor = MONITOR.get_or_init(|| {
        read_sample(true)?;
        let m: &'static Monitor = Box::leak(Box::new(Monitor {
            samples: Mutex::new(VecDeque::new()),
            workers: AtomicU32::new(0),
        }));
        let spawned = std::thread::Builder::new()
            .name("pubduel-host".into())
            .spawn(move || loop {
                if let Some(s) = read_sample(true) {
                    let mut all = m.samples.lock();
                    all.push_back((Instant::now(), s));
                    trim(&mut all);
                }
                std::thread::sleep(Duration::from_secs(1));
            });
        spawned.ok().map(|_| m)
    });
    let Some(m) = monitor else {
        return false;
    };
    let workers = tokio::runtime::Handle::try_current().map_or(0, |h| h.metrics().num_workers());
    m.workers
        .store(u32::try_from(workers).unwrap_or(u32::MAX), Relaxed);
    true
}

fn trim(all: &mut VecDeque<(Instant, Sample)>) {
    while all.len() > KEEP {
        all.pop_front();
    }
    let n = all.len();
    for (_, s) in all.iter_mut().take(n.saturating_sub(KEEP_PROCESSES)) {
        s.processes = None;
    }
}

/// What the host did between `from` and `to`, from the samples taken within; `None` before
/// [`start`], or with fewer than two samples in the stretch.
pub fn between(from: Instant, to: Instant) -> Option<HostLoad> {
    let m = (*MONITOR.get()?)?;
    let all = m.samples.lock();
    let within: Vec<&(Instant, Sample)> = (all.iter())
        .filter(|(at, _)| *at >= from && *at <= to)
        .collect();
    let (first, last) = (within.first()?, within.last()?);
    (within.len() >= 2).then(|| load(first, last, &within, m.workers.load(Relaxed)))
}

fn load(
    first: &(Instant, Sample),
    last: &(Instant, Sample),
    within: &[&(Instant, Sample)],
    workers: u32,
) -> HostLoad {
    let (a, b) = (&first.1, &last.1);
    let seconds = last.0.duration_since(first.0).as_secs_f64().max(1e-3);
    let total = b.total.saturating_sub(a.total).max(1) as f64;
    let (cpu_ns, wait_ns) = thread_deltas(&a.threads, &b.threads);
    let queue = within
        .iter()
        .map(|(_, s)| f64::from(s.run_queue))
        .sum::<f64>();
    HostLoad {
        seconds,
        cpus: b.cpus,
        busy: b.busy.saturating_sub(a.busy) as f64 / total,
        steal: b.steal.saturating_sub(a.steal) as f64 / total,
        run_queue: queue / within.len() as f64,
        own_cpu: cpu_ns as f64 / 1e9 / seconds,
        own_wait: wait_ns as f64 / 1e9 / seconds,
        others: busiest(within, seconds),
        workers,
    }
}

/// The growth of pubduel's threads' CPU and wait times; a thread born in between counts whole.
fn thread_deltas(a: &HashMap<u32, (u64, u64)>, b: &HashMap<u32, (u64, u64)>) -> (u64, u64) {
    b.iter().fold((0, 0), |(cpu, wait), (tid, (c, w))| {
        let (c0, w0) = a.get(tid).copied().unwrap_or((0, 0));
        (cpu + c.saturating_sub(c0), wait + w.saturating_sub(w0))
    })
}

/// The processes (other than pubduel) that kept the most CPUs busy over the latest samples
/// that keep the process table.
fn busiest(within: &[&(Instant, Sample)], seconds: f64) -> Vec<(String, f64)> {
    let with: Vec<&(Instant, Sample)> = (within.iter().copied())
        .filter(|(_, s)| s.processes.is_some())
        .collect();
    let (Some(first), Some(last)) = (with.first(), with.last()) else {
        return Vec::new();
    };
    let span = last.0.duration_since(first.0).as_secs_f64();
    let span = if span > 0.5 { span } else { seconds };
    let (a, b) = (first.1.processes.as_ref(), last.1.processes.as_ref());
    let (Some(a), Some(b)) = (a, b) else {
        return Vec::new();
    };
    let me = std::process::id();
    let tick = clock_tick();
    let mut by_name: BTreeMap<String, f64> = BTreeMap::new();
    for (pid, (name, t)) in b.iter().filter(|(pid, _)| **pid != me) {
        let t0 = a.get(pid).map_or(0, |(_, t0)| *t0);
        *by_name.entry(name.clone()).or_default() += t.saturating_sub(t0) as f64 / tick / span;
    }
    let mut top: Vec<(String, f64)> = by_name.into_iter().filter(|(_, c)| *c >= 0.05).collect();
    top.sort_by(|x, y| y.1.total_cmp(&x.1));
    top.truncate(NAMED);
    top
}

fn clock_tick() -> f64 {
    // SAFETY: sysconf reads a constant of the system and has no preconditions.
    let t = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if t > 0 {
        t as f64
    } else {
        100.0
    }
}

fn read_sample(processes: bool) -> Option<Sample> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let mut s = Sample::default();
    for line in stat.lines() {
        let mut f = line.split_whitespace();
        match f.next() {
            Some("cpu") => {
                let v: Vec<u64> = f.filter_map(|x| x.parse().ok()).collect();
                let at = |i: usize| v.get(i).copied().unwrap_or(0);
                // user nice system idle iowait irq softirq steal (guest time is within user).
                s.total = (0..8).map(at).sum();
                s.busy = s.total - at(3) - at(4);
                s.steal = at(7);
            }
            Some(c) if c.starts_with("cpu") => s.cpus += 1,
            _ => {}
        }
    }
    let loadavg = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    s.run_queue = (loadavg.split_whitespace().nth(3))
        .and_then(|f| f.split('/').next()?.parse().ok())
        .unwrap_or(0);
    s.threads = own_threads();
    s.processes = processes.then(every_process);
    Some(s)
}

fn own_threads() -> HashMap<u32, (u64, u64)> {
    let Ok(dir) = std::fs::read_dir("/proc/self/task") else {
        return HashMap::new();
    };
    (dir.flatten())
        .filter_map(|e| {
            let tid: u32 = e.file_name().to_str()?.parse().ok()?;
            let text = std::fs::read_to_string(e.path().join("schedstat")).ok()?;
            let mut f = text.split_whitespace().map(|x| x.parse::<u64>().ok());
            Some((tid, (f.next()??, f.next()??)))
        })
        .collect()
}

/// Every process's name (what it is, for a broker or a build) and CPU jiffies.
fn every_process() -> HashMap<u32, (String, u64)> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return HashMap::new();
    };
    (dir.flatten())
        .filter_map(|e| {
            let pid: u32 = e.file_name().to_str()?.parse().ok()?;
            let stat = std::fs::read_to_string(e.path().join("stat")).ok()?;
            let (name, rest) = stat.split_once(" (")?.1.rsplit_once(") ")?;
            let f: Vec<&str> = rest.split_whitespace().collect();
            let ticks = f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?;
            Some((pid, (what(name, pid), ticks)))
        })
        .collect()
}

/// A process's name as a finding shows it: a JVM by what it runs (Kafka, a build tool).
fn what(name: &str, pid: u32) -> String {
    if name != "java" {
        return name.to_string();
    }
    let cmd = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
    let cmd = String::from_utf8_lossy(&cmd);
    if cmd.contains("kafka.Kafka") || cmd.contains("kafka") {
        "java (Kafka)".into()
    } else if cmd.contains("maven") || cmd.contains("gradle") {
        "java (a build)".into()
    } else {
        "java".into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// This thread's time on a CPU so far.
    fn thread_cpu() -> Duration {
        let mut t = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: `t` is a valid timespec to write into.
        unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut t) };
        Duration::new(t.tv_sec as u64, t.tv_nsec as u32)
    }

    #[test]
    fn proc_reads_and_a_busy_thread_shows() {
        let Some(a) = read_sample(true) else {
            return; // no /proc here: nothing to read, nothing to claim
        };
        assert!(a.cpus >= 1 && a.total > 0 && a.busy <= a.total);
        // SAFETY: gettid has no preconditions.
        let me = unsafe { libc::gettid() } as u32;
        assert!(a.threads.contains_key(&me));
        // Spin until this thread has had 250 ms on a CPU, however loaded the machine is.
        let (t0, c0) = (Instant::now(), thread_cpu());
        let mut x = 0u64;
        while thread_cpu() - c0 < Duration::from_millis(250)
            && t0.elapsed() < Duration::from_secs(20)
        {
            x = x.wrapping_mul(31).wrapping_add(7);
        }
        std::hint::black_box(x);
        let b = read_sample(true).unwrap();
        let (cpu, _) = thread_deltas(&a.threads, &b.threads);
        assert!(
            cpu >= 200_000_000,
            "250 ms of spinning showed {cpu} ns on a CPU"
        );
        let (first, last) = ((t0, a), (Instant::now(), b));
        let l = load(&first, &last, &[&first, &last], 2);
        assert!(
            l.busy > 0.0 && l.own_cpu > 0.0 && l.run_queue >= 1.0,
            "{l:?}"
        );
    }
}
