//! Single Kafka nodes for the tests: KRaft broker and controller in one process, on free
//! loopback ports, their data in a scratch folder.

use super::process::{remove_dir, scratch_dir, BrokerProcess, Launch};
use super::{
    failed, free_ports, kafka_home, on_path, StartError, INSTALL, KAFKA_CLUSTER_ID, KAFKA_READY,
    KAFKA_START_TIMEOUT,
};
use std::ffi::OsString;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// Where one KRaft node (broker and controller) sits: its id, its ports and every voter of its
/// quorum, `1@127.0.0.1:<controller port>,...`, and anything beyond a plain node.
pub(super) struct KafkaNode {
    pub(super) id: usize,
    pub(super) port: u16,
    pub(super) cport: u16,
    pub(super) voters: String,
    pub(super) extra: KafkaExtras,
}

/// What a node has beyond its PLAINTEXT and CONTROLLER listeners (nothing by default).
#[derive(Default)]
pub(super) struct KafkaExtras {
    /// More client listeners, as (listener name, security protocol, port).
    pub(super) listeners: Vec<(&'static str, &'static str, u16)>,
    /// More lines of `server.properties`.
    pub(super) properties: String,
    /// More arguments to `StorageTool format` (SCRAM credentials).
    pub(super) format_args: Vec<String>,
    /// A plaintext listener on every address, advertised as this address and port (for clients
    /// in network namespaces of their own).
    pub(super) outside: Option<(String, u16)>,
}

/// One KRaft node, broker and controller, on loopback (as `scripts/` and the checks run it), with
/// Kafka's own topics replicated on every voter (min ISR 2 when there are several).
/// Beyond those: a heartbeat every 0.5 s and a 3 s broker session (defaults 2 s and 9 s), so a
/// node restarted after a kill is unfenced in seconds rather than after its old session expires
/// (about 9 s instead of 16 s here).
fn kafka_properties(dir: &Path, node: &KafkaNode) -> String {
    let KafkaNode {
        id,
        port,
        cport,
        voters,
        extra,
    } = node;
    let rf = voters.split(',').count();
    let isr = rf.min(2);
    let mut listeners: String = (extra.listeners.iter())
        .map(|(name, _, p)| format!(",{name}://127.0.0.1:{p}"))
        .collect();
    let mut advertised = listeners.clone();
    let mut protocols: String = (extra.listeners.iter())
        .map(|(name, protocol, _)| format!(",{name}:{protocol}"))
        .collect();
    if let Some((addr, p)) = &extra.outside {
        listeners.push_str(&format!(",OUTSIDE://0.0.0.0:{p}"));
        advertised.push_str(&format!(",OUTSIDE://{addr}:{p}"));
        protocols.push_str(",OUTSIDE:PLAINTEXT");
    }
    format!(
        "process.roles=broker,controller
node.id={id}
controller.quorum.voters={voters}
listeners=PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{cport}{listeners}
advertised.listeners=PLAINTEXT://127.0.0.1:{port}{advertised}
inter.broker.listener.name=PLAINTEXT
controller.listener.names=CONTROLLER
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT{protocols}
{extra_properties}
log.dirs={data}
num.partitions=1
offsets.topic.replication.factor={rf}
offsets.topic.num.partitions=1
transaction.state.log.replication.factor={rf}
transaction.state.log.min.isr={isr}
transaction.state.log.num.partitions=1
share.coordinator.state.topic.replication.factor={rf}
share.coordinator.state.topic.min.isr={isr}
group.initial.rebalance.delay.ms=0
broker.heartbeat.interval.ms=500
broker.session.timeout.ms=3000
",
        data = dir.join("data").display(),
        extra_properties = extra.properties.trim_end(),
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

/// Formats the node's storage (`kafka-storage.sh format`), once per scratch folder, with `extra`
/// arguments (SCRAM credentials) at the end.
fn format_kafka_storage(
    java: &Path,
    home: &Path,
    props: &Path,
    extra: &[String],
) -> Result<(), StartError> {
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
        .args(extra)
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

/// The launch of a formatted Kafka node in `dir`, its heap growing from 256 MB to `max_heap`
/// (`512m`, say).
pub(super) fn kafka_launch(java: PathBuf, home: &Path, dir: &Path, max_heap: &str) -> Launch {
    let mut argv: Vec<OsString> = vec![
        java.into(),
        "-Xms256m".into(),
        format!("-Xmx{max_heap}").into(),
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

/// Apache Kafka's folder and the `java` to run it on.
pub(super) fn kafka_tools() -> Result<(PathBuf, PathBuf), StartError> {
    let home = kafka_home()?;
    let java = on_path("java").ok_or_else(|| StartError::NotInstalled {
        what: "java (17 or later, for Apache Kafka)",
        looked: "PATH".into(),
    })?;
    Ok((home, java))
}

/// A new scratch folder with `node`'s `server.properties`, its storage formatted (the folder is
/// removed again when that fails).
pub(super) fn prepare_kafka(
    java: &Path,
    home: &Path,
    node: &KafkaNode,
) -> Result<PathBuf, StartError> {
    let dir = scratch_dir("kafka")?;
    let props = dir.join("server.properties");
    let prepared = fs::write(&props, kafka_properties(&dir, node))
        .map_err(|e| failed(format!("writing {}", props.display()), e))
        .and_then(|()| format_kafka_storage(java, home, &props, &node.extra.format_args));
    match prepared {
        Ok(()) => Ok(dir),
        Err(e) => {
            remove_dir(&dir);
            Err(e)
        }
    }
}

/// Starts a single-node KRaft Apache Kafka on free loopback ports (client and controller), its
/// data in a scratch folder; its bootstrap address is `127.0.0.1:<port>`.
pub fn start_kafka() -> Result<BrokerProcess, StartError> {
    let [port, cport] = free_ports::<2>();
    start_node(port, cport, KafkaExtras::default(), port)
}

/// Starts a single-node KRaft Apache Kafka as [`start_kafka`] does, with one more listener on
/// every address that is advertised as `addr` (an address of this machine that hosts in network
/// namespaces reach); the process's port is that listener's, so its bootstrap address is
/// `addr:<port>`.
pub fn start_kafka_reachable_at(addr: &str) -> Result<BrokerProcess, StartError> {
    let [port, cport, outside] = free_ports::<3>();
    let extra = KafkaExtras {
        outside: Some((addr.to_string(), outside)),
        ..KafkaExtras::default()
    };
    start_node(port, cport, extra, outside)
}

/// Starts node 1, alone in its quorum, on client `port` and controller `cport` with `extra`, and
/// waits until it serves clients on `serve` (one of its ports).
pub(super) fn start_node(
    port: u16,
    cport: u16,
    extra: KafkaExtras,
    serve: u16,
) -> Result<BrokerProcess, StartError> {
    let (home, java) = kafka_tools()?;
    let node = KafkaNode {
        id: 1,
        port,
        cport,
        voters: format!("1@127.0.0.1:{cport}"),
        extra,
    };
    let dir = prepare_kafka(&java, &home, &node)?;
    BrokerProcess::start(kafka_launch(java, &home, &dir, "512m"), serve, dir)
}
