//! Local brokers for integration tests and benchmarks: real Apache Kafka (one KRaft node that is
//! both broker and controller) and a real `nats-server -js`, each on free loopback ports with its
//! data in a scratch folder of its own.
//!
//! Where they come from (`scripts/install-brokers.sh` puts them in the first cache folder):
//! - Apache Kafka: `PUBDUEL_KAFKA_HOME` (a folder with `libs/` and `log4j2.properties`), else
//!   `${PUBDUEL_CACHE:-$HOME/.cache/pubduel}/kafka-4.1.1`, else
//!   `$HOME/.cache/pubduel-checks/kafka-4.1.1`; it runs on the `java` (17+) found on `PATH`.
//! - nats-server: `PUBDUEL_NATS_SERVER`, else `${PUBDUEL_CACHE:-$HOME/.cache/pubduel}/bin/nats-server`,
//!   else `nats-server` on `PATH`.
//!
//! Lifetime: a [`BrokerProcess`] is stopped and its folder removed when it is dropped. Each broker
//! also runs under a small shell watchdog that kills it and removes its folder once the process
//! that started it is gone, so no broker outlives a test binary that was killed, or that kept its
//! brokers in a `static` (statics are never dropped; [`shared`] also stops its pair at exit).
//! `PR_SET_PDEATHSIG` would not do: it fires when the spawning *thread* ends, and every test runs
//! on a thread of its own.
//!
//! Most tests share one pair per test binary ([`shared`]) and keep apart by naming their own topic
//! and stream ([`TestNames`], [`unique`]); a test that kills a broker starts its own
//! ([`start_kafka`], [`start_nats`], [`LocalBrokers::start`]) and can bring it back with
//! [`BrokerProcess::restart`].

use std::ffi::OsString;
use std::fs::{self, OpenOptions};
use std::io::{Read, Seek, SeekFrom};
use std::net::{TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// The Apache Kafka release the cache folders are named after.
const KAFKA_VERSION: &str = "4.1.1";
/// What to run when a broker is missing.
const INSTALL: &str = "install the brokers with scripts/install-brokers.sh";
/// Cluster id every scratch Kafka is formatted with (16 bytes, base64url): each has its own data.
const KAFKA_CLUSTER_ID: &str = "5L6g3nShT-eMCtK--X86sw";
/// Kafka logs this once it serves clients (about 5-7 s after the JVM starts on 2 cores).
const KAFKA_READY: &str = "Kafka Server started";
/// nats-server logs this once it serves clients (JetStream is up by then).
const NATS_READY: &str = "Server is ready";
/// How long a Kafka start may take: generous for a loaded machine (a healthy one takes 5-10 s).
const KAFKA_START_TIMEOUT: Duration = Duration::from_secs(120);
/// How long a nats-server start may take (a healthy one takes well under a second).
const NATS_START_TIMEOUT: Duration = Duration::from_secs(30);

/// Runs the broker (`$3...`) and waits for it; a watcher kills it and removes its folder (`$2`)
/// when the process `$1` is gone. The shell leads its own process group, so killing the group
/// stops the shell, the broker and the watcher together.
const WATCHDOG: &str = r#"parent=$1; dir=$2; shift 2
"$@" &
broker=$!
( while kill -0 "$parent" 2>/dev/null; do sleep 0.5; done
  kill -9 "$broker" 2>/dev/null; rm -rf "$dir" ) &
watcher=$!
wait "$broker"; status=$?
kill -0 "$parent" 2>/dev/null && kill "$watcher" 2>/dev/null
exit $status"#;

/// Why a local broker could not be started.
#[derive(thiserror::Error)]
pub enum StartError {
    /// A program or file the broker needs is not where it is looked for.
    #[error("{what} not found (looked in {looked}); {INSTALL}")]
    NotInstalled {
        /// What is missing.
        what: &'static str,
        /// Where it was looked for.
        looked: String,
    },
    /// The broker was found but did not come up.
    #[error("{what}: {detail}")]
    Failed {
        /// What failed.
        what: String,
        /// Why, with the end of the broker's log when there is one.
        detail: String,
    },
}

impl std::fmt::Debug for StartError {
    /// The same text as `Display`, so `expect` on a start shows a readable message.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Display::fmt(self, f)
    }
}

fn failed(what: impl Into<String>, detail: impl std::fmt::Display) -> StartError {
    StartError::Failed {
        what: what.into(),
        detail: detail.to_string(),
    }
}

/// `${PUBDUEL_CACHE:-$HOME/.cache/pubduel}`, where `scripts/install-brokers.sh` installs.
fn cache_dir() -> Option<PathBuf> {
    match std::env::var_os("PUBDUEL_CACHE").filter(|v| !v.is_empty()) {
        Some(dir) => Some(PathBuf::from(dir)),
        None => home().map(|h| h.join(".cache/pubduel")),
    }
}

fn home() -> Option<PathBuf> {
    std::env::var_os("HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
}

/// `program` in a folder of `PATH`.
fn on_path(program: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|dir| dir.join(program))
        .find(|p| p.is_file())
}

fn looked_in(paths: &[PathBuf], also: &str) -> String {
    let mut names: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
    names.extend((!also.is_empty()).then(|| also.to_string()));
    names.join(", ")
}

/// The Apache Kafka folder (with `libs/` and `log4j2.properties`), looked for as the module
/// documentation says; `PUBDUEL_KAFKA_HOME`, when set, is the only place looked.
pub fn kafka_home() -> Result<PathBuf, StartError> {
    let complete = |d: &Path| d.join("libs").is_dir() && d.join("log4j2.properties").is_file();
    let candidates: Vec<PathBuf> = match std::env::var_os("PUBDUEL_KAFKA_HOME") {
        Some(dir) if !dir.is_empty() => vec![PathBuf::from(dir)],
        _ => [cache_dir(), home().map(|h| h.join(".cache/pubduel-checks"))]
            .into_iter()
            .flatten()
            .map(|d| d.join(format!("kafka-{KAFKA_VERSION}")))
            .collect(),
    };
    candidates
        .iter()
        .find(|d| complete(d))
        .cloned()
        .ok_or_else(|| StartError::NotInstalled {
            what: "Apache Kafka (libs/ and log4j2.properties)",
            looked: looked_in(&candidates, ""),
        })
}

/// The `nats-server` program, looked for as the module documentation says;
/// `PUBDUEL_NATS_SERVER`, when set, is the only place looked.
pub fn nats_server() -> Result<PathBuf, StartError> {
    let explicit = std::env::var_os("PUBDUEL_NATS_SERVER").filter(|p| !p.is_empty());
    let candidates: Vec<PathBuf> = match &explicit {
        Some(p) => vec![PathBuf::from(p)],
        None => cache_dir()
            .map(|d| d.join("bin/nats-server"))
            .into_iter()
            .collect(),
    };
    let explicit = explicit.is_some();
    candidates
        .iter()
        .find(|p| p.is_file())
        .cloned()
        .or_else(|| (!explicit).then(|| on_path("nats-server")).flatten())
        .ok_or_else(|| StartError::NotInstalled {
            what: "nats-server",
            looked: looked_in(&candidates, if explicit { "" } else { "PATH" }),
        })
}

/// A free TCP port on 127.0.0.1.
pub fn free_port() -> u16 {
    free_ports::<1>()[0]
}

/// `N` distinct free ports on 127.0.0.1 (all held open until every one is chosen).
fn free_ports<const N: usize>() -> [u16; N] {
    let held: Vec<TcpListener> = (0..N)
        .map(|_| TcpListener::bind("127.0.0.1:0").expect("a free loopback port"))
        .collect();
    std::array::from_fn(|i| held[i].local_addr().expect("a bound port").port())
}

/// A name no other call in this process returns: `<tag>-<n>`, in lower case, with anything but
/// letters and digits in `tag` made a `-`. Fit for a Kafka topic, a NATS subject token or (upper
/// case, `-` as `_`) a stream, so tests that share brokers keep apart.
pub fn unique(tag: &str) -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    let tag: String = tag
        .chars()
        .map(|c| match c {
            'a'..='z' | '0'..='9' => c,
            'A'..='Z' => c.to_ascii_lowercase(),
            _ => '-',
        })
        .collect();
    format!("{tag}-{}", N.fetch_add(1, Ordering::Relaxed))
}

/// A new, empty scratch folder for one broker's data and log.
fn scratch_dir(name: &str) -> Result<PathBuf, StartError> {
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
fn remove_dir(dir: &Path) {
    for _ in 0..10 {
        if fs::remove_dir_all(dir).is_ok() || !dir.exists() {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// How to (re)start one broker.
struct Launch {
    /// For messages: `Apache Kafka`, `nats-server`.
    name: &'static str,
    /// The program and its arguments.
    argv: Vec<OsString>,
    /// Where its output goes (appended to across restarts).
    log: PathBuf,
    /// The log line that says it serves clients.
    ready: &'static str,
    /// How long a start may take.
    timeout: Duration,
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
    fn start(launch: Launch, port: u16, dir: PathBuf) -> Result<BrokerProcess, StartError> {
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
    fn halt(&self) {
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
fn kill_group(child: &Child) {
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
            let why = format!("exited ({status}) while starting; its log ends:\n{log}");
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
fn log_tail(log: &Path, from: u64) -> String {
    let text = log_since(log, from);
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(20)..].join("\n")
}

/// One KRaft node, broker and controller, on loopback (as `scripts/` and the checks run it).
/// Beyond those: a heartbeat every 0.5 s and a 3 s broker session (defaults 2 s and 9 s), so a
/// node restarted after a kill is unfenced in seconds rather than after its old session expires
/// (about 9 s instead of 16 s here).
fn kafka_properties(dir: &Path, port: u16, cport: u16) -> String {
    format!(
        "process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:{cport}
listeners=PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{cport}
advertised.listeners=PLAINTEXT://127.0.0.1:{port}
inter.broker.listener.name=PLAINTEXT
controller.listener.names=CONTROLLER
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs={data}
num.partitions=1
offsets.topic.replication.factor=1
offsets.topic.num.partitions=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
group.initial.rebalance.delay.ms=0
broker.heartbeat.interval.ms=500
broker.session.timeout.ms=3000
",
        data = dir.join("data").display()
    )
}

/// The JVM options and class path Kafka's tools and server share.
fn kafka_jvm_args(home: &Path) -> Vec<OsString> {
    let mut log4j = OsString::from("-Dlog4j2.configurationFile=");
    log4j.push(home.join("log4j2.properties"));
    vec![
        log4j,
        "-Djava.awt.headless=true".into(),
        "-cp".into(),
        home.join("libs/*").into(),
    ]
}

/// Formats the node's storage (`kafka-storage.sh format`), once per scratch folder.
fn format_kafka_storage(java: &Path, home: &Path, props: &Path) -> Result<(), StartError> {
    let out = Command::new(java)
        .arg("-Xmx256m")
        .args(kafka_jvm_args(home))
        .args([
            "kafka.tools.StorageTool",
            "format",
            "-t",
            KAFKA_CLUSTER_ID,
            "-c",
        ])
        .arg(props)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| failed("running java for Kafka's StorageTool", e))?;
    if out.status.success() {
        return Ok(());
    }
    Err(failed(
        "formatting Kafka's storage",
        format!(
            "{}{}\n(Kafka from {}; {INSTALL})",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
            home.display()
        ),
    ))
}

/// The launch of a formatted Kafka node in `dir`.
fn kafka_launch(java: PathBuf, home: &Path, dir: &Path) -> Launch {
    let mut argv: Vec<OsString> = vec![
        java.into(),
        "-Xms256m".into(),
        "-Xmx512m".into(),
        "-XX:+UseG1GC".into(),
    ];
    argv.extend(kafka_jvm_args(home));
    argv.extend(["kafka.Kafka".into(), dir.join("server.properties").into()]);
    Launch {
        name: "Apache Kafka",
        argv,
        log: dir.join("kafka.log"),
        ready: KAFKA_READY,
        timeout: KAFKA_START_TIMEOUT,
    }
}

/// Starts a single-node KRaft Apache Kafka on free loopback ports (client and controller), its
/// data in a scratch folder; its bootstrap address is `127.0.0.1:<port>`.
pub fn start_kafka() -> Result<BrokerProcess, StartError> {
    let home = kafka_home()?;
    let java = on_path("java").ok_or_else(|| StartError::NotInstalled {
        what: "java (17 or later, for Apache Kafka)",
        looked: "PATH".into(),
    })?;
    let [port, cport] = free_ports::<2>();
    let dir = scratch_dir("kafka")?;
    let props = dir.join("server.properties");
    let prepared = fs::write(&props, kafka_properties(&dir, port, cport))
        .map_err(|e| failed(format!("writing {}", props.display()), e))
        .and_then(|()| format_kafka_storage(&java, &home, &props));
    if let Err(e) = prepared {
        remove_dir(&dir);
        return Err(e);
    }
    BrokerProcess::start(kafka_launch(java, &home, &dir), port, dir)
}

/// Starts `nats-server -js` on a free loopback port, its store in a scratch folder; its URL is
/// `nats://127.0.0.1:<port>`.
pub fn start_nats() -> Result<BrokerProcess, StartError> {
    let program = nats_server()?;
    let port = free_port();
    let dir = scratch_dir("nats")?;
    let mut argv: Vec<OsString> = vec![program.into()];
    argv.extend(["-a", "127.0.0.1", "-p", &port.to_string(), "-js", "-sd"].map(OsString::from));
    argv.push(dir.join("js").into());
    let launch = Launch {
        name: "nats-server",
        argv,
        log: dir.join("nats.log"),
        ready: NATS_READY,
        timeout: NATS_START_TIMEOUT,
    };
    BrokerProcess::start(launch, port, dir)
}

/// Both brokers, for tests that run both lanes.
pub struct LocalBrokers {
    /// The NATS server (JetStream on).
    pub nats: BrokerProcess,
    /// The Apache Kafka node.
    pub kafka: BrokerProcess,
}

impl LocalBrokers {
    /// Starts a pair of its own (both at once), for a test that kills or restarts a broker.
    pub fn start() -> Result<LocalBrokers, StartError> {
        std::thread::scope(|s| {
            let nats = s.spawn(start_nats);
            let kafka = start_kafka();
            let nats = nats.join().expect("the nats-server start does not panic");
            Ok(LocalBrokers {
                nats: nats?,
                kafka: kafka?,
            })
        })
    }

    /// `nats://127.0.0.1:<port>`.
    pub fn nats_url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.nats.port)
    }

    /// `127.0.0.1:<port>`.
    pub fn kafka_addr(&self) -> String {
        format!("127.0.0.1:{}", self.kafka.port)
    }
}

/// The pair [`shared`] hands out, or why it did not start.
static SHARED: OnceLock<Result<LocalBrokers, String>> = OnceLock::new();

/// The pair shared by every test of this test binary that does not kill a broker, started on
/// first use and stopped when the binary exits. Tests keep apart by their own topic and stream
/// names ([`TestNames`]). Panics with the reason when the brokers cannot start.
pub fn shared() -> &'static LocalBrokers {
    let started = SHARED.get_or_init(|| {
        let brokers = LocalBrokers::start().map_err(|e| e.to_string())?;
        // SAFETY: registers a plain `extern "C"` function with no arguments, as atexit(3) wants.
        unsafe {
            libc::atexit(stop_shared);
        }
        Ok(brokers)
    });
    match started {
        Ok(brokers) => brokers,
        Err(e) => panic!("the shared test brokers did not start: {e}"),
    }
}

/// At exit: stops the shared pair at once rather than leaving it to the watchdog's next look.
extern "C" fn stop_shared() {
    if let Some(Ok(b)) = SHARED.get() {
        b.kafka.halt();
        b.nats.halt();
    }
}

/// One test's own Kafka topic and NATS stream and subject, so tests that share brokers keep apart.
#[derive(Debug, Clone)]
pub struct TestNames {
    /// Kafka topic, `pubduel-<tag>-<n>`.
    pub topic: String,
    /// JetStream stream, `PUBDUEL_<TAG>_<N>`.
    pub stream: String,
    /// Subject bound to the stream, `pubduel.<tag>-<n>`.
    pub subject: String,
}

impl TestNames {
    /// Names made from `tag` that no other call in this process gets (see [`unique`]).
    pub fn new(tag: &str) -> TestNames {
        let name = unique(tag);
        TestNames {
            topic: format!("pubduel-{name}"),
            stream: format!("PUBDUEL_{}", name.to_uppercase().replace('-', "_")),
            subject: format!("pubduel.{name}"),
        }
    }

    /// A profile that sets only these names (`[kafka] topic`, `[nats] stream` and `subject`),
    /// for a test that runs the binary.
    pub fn profile(&self) -> String {
        format!(
            "[kafka]\ntopic = \"{}\"\n\n[nats]\nstream = \"{}\"\nsubject = \"{}\"\n",
            self.topic, self.stream, self.subject
        )
    }
}
