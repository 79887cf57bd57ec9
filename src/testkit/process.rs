//! Broker processes: each under a shell watchdog in its own process group, killed like a crash,
//! restarted on its data, and waited for until its log says it serves clients.

use super::{failed, StartError, INSTALL};
use std::ffi::OsString;
use std::fs::{self, OpenOptions};
use std::io::{Read, Seek, SeekFrom};
use std::net::TcpStream;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// Runs the broker (`$3...`) and waits for it; a watcher kills it and removes its folder (`$2`)
/// when the process `$1` is gone. The shell leads its own process group, so killing the group
/// stops the shell, the broker and the watcher together.
pub(super) const WATCHDOG: &str = r#"parent=$1; dir=$2; shift 2
"$@" &
broker=$!
( while kill -0 "$parent" 2>/dev/null; do sleep 0.5; done
  kill -9 "$broker" 2>/dev/null; rm -rf "$dir" ) &
watcher=$!
wait "$broker"; status=$?
kill -0 "$parent" 2>/dev/null && kill "$watcher" 2>/dev/null
exit $status"#;

/// A new, empty scratch folder for one broker's data and log.
pub(super) fn scratch_dir(name: &str) -> Result<PathBuf, StartError> {
    static N: AtomicU32 = AtomicU32::new(0);
    static SWEPT: OnceLock<()> = OnceLock::new();
    SWEPT.get_or_init(sweep_stale_dirs);
    let dir = std::env::temp_dir().join(format!(
        "pubduel-{name}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).map_err(|e| failed(format!("creating {}", dir.display()), e))?;
    Ok(dir)
}

/// Removes the scratch folders of test processes that are gone. The watchdog removes a folder
/// when its test process dies, except that of a broker the test had killed (kept for a restart
/// that never came).
fn sweep_stale_dirs() {
    let Ok(entries) = fs::read_dir(std::env::temp_dir()) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let pid = ["pubduel-kafka-", "pubduel-nats-"]
            .iter()
            .find_map(|prefix| name.strip_prefix(prefix))
            .and_then(|rest| rest.split('-').next())
            .and_then(|pid| pid.parse::<libc::pid_t>().ok());
        // SAFETY: kill(2) with signal 0 only asks whether the process exists.
        let gone = pid.is_some_and(|pid| {
            pid > 0
                && unsafe { libc::kill(pid, 0) } != 0
                && std::io::Error::last_os_error().raw_os_error() == Some(libc::ESRCH)
        });
        if gone {
            remove_dir(&entry.path());
        }
    }
}

/// Removes a broker's folder; retries briefly, as a broker just killed may still be writing.
pub(super) fn remove_dir(dir: &Path) {
    for _ in 0..10 {
        if fs::remove_dir_all(dir).is_ok() || !dir.exists() {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// How to (re)start one broker.
pub(super) struct Launch {
    /// For messages: `Apache Kafka`, `nats-server`.
    pub(super) name: &'static str,
    /// The program and its arguments.
    pub(super) argv: Vec<OsString>,
    /// Where its output goes (appended to across restarts).
    pub(super) log: PathBuf,
    /// The log line that says it serves clients.
    pub(super) ready: &'static str,
    /// How long a start may take.
    pub(super) timeout: Duration,
}

/// A broker process owned by a test: killed and its folder removed when dropped.
pub struct BrokerProcess {
    /// Port clients connect to, on 127.0.0.1.
    pub port: u16,
    launch: Launch,
    dir: PathBuf,
    /// The watchdog shell, leader of the broker's process group; `None` while killed.
    child: Option<Child>,
}

impl BrokerProcess {
    /// Starts the broker in `dir` (removed again if it does not come up).
    pub(super) fn start(
        launch: Launch,
        port: u16,
        dir: PathBuf,
    ) -> Result<BrokerProcess, StartError> {
        let mut broker = BrokerProcess {
            port,
            launch,
            dir,
            child: None,
        };
        broker.restart()?;
        Ok(broker)
    }

    /// Kills the broker at once (SIGKILL, like a crash) and returns once it is gone, its ports
    /// closed. Its data stays for [`Self::restart`].
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            stop_group(&mut child, self.port);
        }
    }

    /// Starts the broker again (killing it first if it still runs) on the same data and ports,
    /// and waits until it serves clients: an outage and its recovery.
    pub fn restart(&mut self) -> Result<(), StartError> {
        self.kill();
        let from = fs::metadata(&self.launch.log).map_or(0, |m| m.len());
        let mut child = spawn_watched(&self.launch, &self.dir)?;
        match wait_ready(&mut child, &self.launch, self.port, from) {
            Ok(()) => {
                self.child = Some(child);
                Ok(())
            }
            Err(e) => {
                stop_group(&mut child, self.port);
                Err(e)
            }
        }
    }

    /// The broker's log file, for a test that wants to show it.
    pub fn log_path(&self) -> &Path {
        &self.launch.log
    }

    /// Kills the broker and removes its folder through a shared reference (at process exit).
    pub(super) fn halt(&self) {
        if let Some(child) = &self.child {
            kill_group(child);
        }
        remove_dir(&self.dir);
    }
}

impl Drop for BrokerProcess {
    fn drop(&mut self) {
        self.kill();
        remove_dir(&self.dir);
    }
}

/// SIGKILL to the watchdog's process group: the shell, the broker and the watcher.
pub(super) fn kill_group(child: &Child) {
    let Ok(pgid) = libc::pid_t::try_from(child.id()) else {
        return;
    };
    // SAFETY: kill(2) with a negative pid signals the process group that this shell leads (it
    // was spawned with `process_group(0)` and has not been reaped yet, so the id is still ours).
    unsafe {
        libc::kill(-pgid, libc::SIGKILL);
    }
}

/// Kills the watchdog's process group and waits until the broker is gone: none of the group is
/// left (the shell is reaped here, the orphaned broker by init) or, should nothing reap it, its
/// port no longer answers.
fn stop_group(child: &mut Child, port: u16) {
    kill_group(child);
    let _ = child.wait();
    let Ok(pgid) = libc::pid_t::try_from(child.id()) else {
        return;
    };
    // SAFETY: kill(2) with signal 0 only asks whether any process of the group is left.
    let group_left = || unsafe { libc::kill(-pgid, 0) } == 0;
    let deadline = Instant::now() + Duration::from_secs(10);
    while group_left()
        && TcpStream::connect(("127.0.0.1", port)).is_ok()
        && Instant::now() < deadline
    {
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Starts the launch's program under the watchdog, in its own process group, output to its log.
fn spawn_watched(launch: &Launch, dir: &Path) -> Result<Child, StartError> {
    let log = OpenOptions::new()
        .create(true)
        .append(true)
        .open(&launch.log)
        .map_err(|e| failed(format!("opening {}", launch.log.display()), e))?;
    let log2 = log
        .try_clone()
        .map_err(|e| failed(format!("opening {}", launch.log.display()), e))?;
    Command::new("sh")
        .arg("-c")
        .arg(WATCHDOG)
        .arg("pubduel-broker")
        .arg(std::process::id().to_string())
        .arg(dir)
        .args(&launch.argv)
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(log2)
        .process_group(0)
        .spawn()
        .map_err(|e| failed(format!("starting {} under sh", launch.name), e))
}

/// Waits until the broker's port answers and its log (after byte `from`) has its ready line.
fn wait_ready(child: &mut Child, l: &Launch, port: u16, from: u64) -> Result<(), StartError> {
    let deadline = Instant::now() + l.timeout;
    let what = || format!("{} on 127.0.0.1:{port}", l.name);
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            let log = log_tail(&l.log, from);
            let why = format!("exited ({status}) while starting ({INSTALL} if it is broken); its log ends:\n{log}");
            return Err(failed(what(), why));
        }
        if TcpStream::connect(("127.0.0.1", port)).is_ok()
            && log_since(&l.log, from).contains(l.ready)
        {
            return Ok(());
        }
        if Instant::now() >= deadline {
            let log = log_tail(&l.log, from);
            return Err(failed(
                what(),
                format!("not ready within {:?}; its log ends:\n{log}", l.timeout),
            ));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The log from byte `from` on.
fn log_since(log: &Path, from: u64) -> String {
    let mut text = Vec::new();
    if let Ok(mut f) = fs::File::open(log) {
        if f.seek(SeekFrom::Start(from)).is_ok() {
            let _ = f.read_to_end(&mut text);
        }
    }
    String::from_utf8_lossy(&text).into_owned()
}

/// The last 20 lines of the log from byte `from` on.
pub(super) fn log_tail(log: &Path, from: u64) -> String {
    let text = log_since(log, from);
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(20)..].join("\n")
}

/// Busy loops (`sh -c 'while :; do :; done'`) that keep CPUs busy beside a run, to starve the
/// host; killed when dropped.
pub struct BusyLoops(Vec<std::process::Child>);

impl BusyLoops {
    /// Twice as many busy loops as the host has CPUs.
    pub fn starving_the_host() -> BusyLoops {
        let cpus = std::thread::available_parallelism().map_or(2, |n| n.get());
        BusyLoops(
            (0..cpus * 2)
                .map(|_| {
                    std::process::Command::new("sh")
                        .args(["-c", "while :; do :; done"])
                        .spawn()
                        .expect("sh runs")
                })
                .collect(),
        )
    }
}

impl Drop for BusyLoops {
    fn drop(&mut self) {
        for l in &mut self.0 {
            let _ = l.kill();
            let _ = l.wait();
        }
    }
}
