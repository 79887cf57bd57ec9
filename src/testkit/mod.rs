//! Local brokers for integration tests and benchmarks: real Apache Kafka (one KRaft node that is
//! both broker and controller) and a real `nats-server -js`, each on free loopback ports with its
//! data in a scratch folder of its own.
//!
//! Where they come from (`scripts/install-brokers.sh` puts them in the first cache folder):
//! - Apache Kafka: `PUBDUEL_KAFKA_HOME` (a folder with `libs/` and `log4j2.properties`), else
//!   `${PUBDUEL_CACHE:-$HOME/.cache/pubduel}/kafka-4.4.0`, else
//!   `$HOME/.cache/pubduel-checks/kafka-4.4.0`; it runs on the `java` (17+) found on `PATH`.
//! - nats-server: `PUBDUEL_NATS_SERVER`, else
//!   `${PUBDUEL_CACHE:-$HOME/.cache/pubduel}/nats-server-v2.15.3/nats-server`, else `nats-server`
//!   on `PATH`. (Other releases: point the two variables at them, as `scripts/test.sh` does.)
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
//!
//! Tests of replicated topics and streams use a 3-node Kafka cluster and a 3-node JetStream
//! cluster instead ([`start_clusters`], shared per test binary by [`shared_clusters`]), each node
//! a [`BrokerProcess`] like a single broker.
//!
//! Tests of secured clusters start a Kafka node with SASL/SCRAM, SSL and mutual-TLS listeners
//! ([`start_secured_kafka`]) and a nats-server from a configuration of their own
//! ([`start_nats_with_config`]), with the certificates and credentials the test made.

mod agents;
mod cluster;
mod kafka;
mod output;
mod process;
pub mod samples;
pub use output::{lines_of, text};
mod secured;

pub use agents::AgentProcess;
pub use cluster::{shared_clusters, start_clusters, LocalClusters};
pub use kafka::{start_kafka, start_kafka_reachable_at};
pub use process::{BrokerProcess, BusyLoops};
pub use secured::{start_nats_with_config, start_secured_kafka, KafkaSecurity, SecuredKafka};

use crate::brokers::kafka::KafkaSettings;
use crate::brokers::nats::NatsSettings;
use crate::config::{LaneConfig, RunConfig};
use crate::vocab::{Knobs, LaneKind};
use process::{remove_dir, scratch_dir, Launch};
use std::ffi::OsString;
use std::fs;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// The Apache Kafka release the cache folders are named after (scripts/lib-brokers.sh's default).
const KAFKA_VERSION: &str = "4.4.0";
/// The nats-server release whose cache folder is looked in (scripts/lib-brokers.sh's default).
const NATS_VERSION: &str = "v2.15.3";
/// What to run when a broker is missing.
const INSTALL: &str = "install the brokers with scripts/install-brokers.sh";
/// Cluster id every scratch Kafka node is formatted with (16 bytes, base64url): each single node
/// or cluster has its own data, and the nodes of one cluster must share an id.
const KAFKA_CLUSTER_ID: &str = "5L6g3nShT-eMCtK--X86sw";
/// Kafka logs this once it serves clients (about 5-7 s after the JVM starts on 2 cores).
const KAFKA_READY: &str = "Kafka Server started";
/// nats-server logs this once it serves clients (JetStream is up by then).
const NATS_READY: &str = "Server is ready";
/// How long a Kafka start may take: generous for a loaded machine (a healthy one takes 5-10 s).
const KAFKA_START_TIMEOUT: Duration = Duration::from_secs(120);
/// How long a nats-server start may take (a healthy one takes well under a second).
const NATS_START_TIMEOUT: Duration = Duration::from_secs(30);

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

/// The version of the `nats-server` the tests start (`2.15.3`), from its `--version`.
pub fn nats_server_version() -> Result<String, StartError> {
    let program = nats_server()?;
    let out = std::process::Command::new(&program)
        .arg("--version")
        .output()
        .map_err(|e| StartError::NotInstalled {
            what: "nats-server",
            looked: format!("{} ({e})", program.display()),
        })?;
    let text = String::from_utf8_lossy(&out.stdout);
    Ok(text
        .split_whitespace()
        .last()
        .unwrap_or("")
        .trim_start_matches('v')
        .to_string())
}

/// The `nats-server` program, looked for as the module documentation says;
/// `PUBDUEL_NATS_SERVER`, when set, is the only place looked.
pub fn nats_server() -> Result<PathBuf, StartError> {
    let explicit = std::env::var_os("PUBDUEL_NATS_SERVER").filter(|p| !p.is_empty());
    let candidates: Vec<PathBuf> = match &explicit {
        Some(p) => vec![PathBuf::from(p)],
        None => cache_dir()
            .map(|d| d.join(format!("nats-server-{NATS_VERSION}/nats-server")))
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

/// The JetStream file-store cap every scratch nats-server is given. Each stream reserves its
/// `max_bytes` (1 GiB by default) against this cap, and without one nats-server takes 75% of the
/// disk free when it starts: a shared test server holds dozens of streams, so on a fuller disk
/// stream creation would fail with "insufficient storage resources". The tests write megabytes.
const NATS_STORE_CAP: &str = "jetstream { max_file_store: 1TB }\n";

/// Writes `dir/nats.conf` (the store cap, then `config`) and returns the launch of
/// `nats-server -js -c dir/nats.conf` on 127.0.0.1:`port`, its store in `dir/js`, with `extra`
/// arguments (cluster settings) after those. Cleans `dir` away when the file cannot be written.
fn nats_launch(
    program: &Path,
    dir: &Path,
    port: u16,
    config: &str,
    extra: Vec<String>,
) -> Result<Launch, StartError> {
    let conf = dir.join("nats.conf");
    if let Err(e) = fs::write(&conf, format!("{NATS_STORE_CAP}{config}")) {
        remove_dir(dir);
        return Err(failed(format!("writing {}", conf.display()), e));
    }
    let mut argv: Vec<OsString> = vec![program.into(), "-c".into(), conf.into()];
    argv.extend(["-a", "127.0.0.1", "-p", &port.to_string(), "-js", "-sd"].map(OsString::from));
    argv.push(dir.join("js").into());
    argv.extend(extra.into_iter().map(OsString::from));
    Ok(Launch {
        name: "nats-server",
        argv,
        log: dir.join("nats.log"),
        ready: NATS_READY,
        timeout: NATS_START_TIMEOUT,
    })
}

/// Starts `nats-server -js` on a free loopback port, its store in a scratch folder; its URL is
/// `nats://127.0.0.1:<port>`.
pub fn start_nats() -> Result<BrokerProcess, StartError> {
    let program = nats_server()?;
    let port = free_port();
    let dir = scratch_dir("nats")?;
    BrokerProcess::start(
        nats_launch(&program, &dir, port, "", Vec::new())?,
        port,
        dir,
    )
}

/// Starts `nats-server -js` as [`start_nats`] does, with `args` after its own (`-a 0.0.0.0`
/// overrides the loopback address, for agents in network namespaces of their own).
pub fn start_nats_with_args(args: &[&str]) -> Result<BrokerProcess, StartError> {
    let program = nats_server()?;
    let port = free_port();
    let dir = scratch_dir("nats")?;
    let extra = args.iter().map(|a| a.to_string()).collect();
    BrokerProcess::start(nats_launch(&program, &dir, port, "", extra)?, port, dir)
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
    started_once(&SHARED, "brokers", LocalBrokers::start, stop_shared)
}

/// What `cell` holds, started by `start` on first use, with `at_exit` registered to stop it when
/// the test binary exits (statics are never dropped). Panics with the reason when it cannot start.
pub(crate) fn started_once<T, E: std::fmt::Display>(
    cell: &'static OnceLock<Result<T, String>>,
    what: &str,
    start: impl FnOnce() -> Result<T, E>,
    at_exit: extern "C" fn(),
) -> &'static T {
    let started = cell.get_or_init(|| {
        let value = start().map_err(|e| e.to_string())?;
        // SAFETY: registers a plain `extern "C"` function with no arguments, as atexit(3) wants.
        unsafe {
            libc::atexit(at_exit);
        }
        Ok(value)
    });
    match started {
        Ok(value) => value,
        Err(e) => panic!("the shared test {what} did not start: {e}"),
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

    /// A run of both lanes with `knobs` against `kafka` and `nats` (addresses), on these names:
    /// one partition, no warm-up, no duration, no report. Tests change what they need.
    pub fn run_config(&self, kafka: String, nats: String, knobs: Knobs) -> RunConfig {
        RunConfig {
            profile_name: self.topic.clone(),
            profile_path: None,
            duration: None,
            warmup: Duration::ZERO,
            e2e: false,
            precise: false,
            threads: None,
            lanes: vec![
                LaneConfig::of_kind(LaneKind::Kafka, knobs),
                LaneConfig::of_kind(LaneKind::Nats, knobs),
            ],
            kafka: KafkaSettings {
                bootstrap: kafka,
                topic: self.topic.clone(),
                partitions: 1,
                ..KafkaSettings::default()
            },
            nats: NatsSettings {
                url: nats,
                stream: self.stream.clone(),
                subject: self.subject.clone(),
                ..NatsSettings::default()
            },
            report: None,
            steps: Vec::new(),
            asserts: Vec::new(),
            export: Default::default(),
            payload: None,
            agents: None,
            metrics_listen: None,
        }
    }
}

/// Waits until `cond` holds, checking every 20 ms, and fails the test naming `what` when it does
/// not within `limit`; returns how long it took.
pub async fn until(what: &str, limit: Duration, mut cond: impl FnMut() -> bool) -> Duration {
    let t0 = Instant::now();
    while !cond() {
        assert!(
            t0.elapsed() < limit,
            "timed out after {limit:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    t0.elapsed()
}
