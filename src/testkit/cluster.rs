//! Three-node clusters, for tests of replicated topics and streams: Apache Kafka as three KRaft
//! nodes (each broker and controller, one static quorum) and NATS JetStream as three routed
//! `nats-server`s, every node on free loopback ports, in a scratch folder and under the same
//! watchdog as a single broker, so none outlives the test process.

use super::kafka::{kafka_launch, kafka_tools, prepare_kafka, KafkaExtras, KafkaNode};
use super::process::{log_tail, scratch_dir, BrokerProcess};
use super::{failed, free_ports, nats_launch, nats_server, StartError};
use rdkafka::config::ClientConfig;
use rdkafka::producer::{BaseProducer, Producer};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// Nodes in each cluster.
const NODES: usize = 3;
/// Largest heap of each Kafka node of a cluster: three JVMs share the machine.
const KAFKA_HEAP: &str = "384m";
/// How long a started cluster may take to settle: every Kafka broker registered, a JetStream meta
/// leader elected (a healthy machine needs a few seconds).
const SETTLE_TIMEOUT: Duration = Duration::from_secs(60);
/// The NATS cluster's name (`--cluster_name`).
const NATS_CLUSTER: &str = "pubduel";

/// Every port both clusters use, chosen together before anything starts.
struct ClusterPorts {
    kafka: [u16; NODES],
    controller: [u16; NODES],
    nats: [u16; NODES],
    routes: [u16; NODES],
    monitor: [u16; NODES],
}

impl ClusterPorts {
    fn free() -> ClusterPorts {
        let p = free_ports::<{ 5 * NODES }>();
        let group = |g: usize| std::array::from_fn(|n| p[g * NODES + n]);
        ClusterPorts {
            kafka: group(0),
            controller: group(1),
            nats: group(2),
            routes: group(3),
            monitor: group(4),
        }
    }
}

/// A 3-node Apache Kafka cluster and a 3-node NATS JetStream cluster, both ready for a topic or
/// stream with three replicas. Every node is stopped and its folder removed when this is dropped.
pub struct LocalClusters {
    /// The Kafka nodes, node ids 1 to 3 in order.
    pub kafka: Vec<BrokerProcess>,
    /// The nats-servers, `n1` to `n3` in order.
    pub nats: Vec<BrokerProcess>,
    started_in: Duration,
}

impl LocalClusters {
    /// Every Kafka node's bootstrap address, `127.0.0.1:<port>,...`.
    pub fn kafka_addr(&self) -> String {
        let addrs: Vec<String> = self
            .kafka
            .iter()
            .map(|b| format!("127.0.0.1:{}", b.port))
            .collect();
        addrs.join(",")
    }

    /// Every nats-server's URL, `nats://127.0.0.1:<port>,...`.
    pub fn nats_url(&self) -> String {
        let urls: Vec<String> = self
            .nats
            .iter()
            .map(|b| format!("nats://127.0.0.1:{}", b.port))
            .collect();
        urls.join(",")
    }

    /// How long the start took, until both clusters were ready.
    pub fn started_in(&self) -> Duration {
        self.started_in
    }
}

/// Starts both clusters at once on free loopback ports and returns once Kafka has all three
/// brokers registered and JetStream has a meta leader.
pub fn start_clusters() -> Result<LocalClusters, StartError> {
    let t0 = Instant::now();
    let ports = ClusterPorts::free();
    std::thread::scope(|s| {
        let nats = s.spawn(|| start_nats_cluster(&ports));
        let kafka = start_kafka_cluster(&ports);
        let nats = nats.join().expect("the NATS cluster start does not panic");
        Ok(LocalClusters {
            kafka: kafka?,
            nats: nats?,
            started_in: t0.elapsed(),
        })
    })
}

/// `f` over every item, each on a thread of its own, results in order.
fn in_parallel<T: Send, R: Send>(items: Vec<T>, f: impl Fn(T) -> R + Sync) -> Vec<R> {
    let f = &f;
    std::thread::scope(|s| {
        let threads: Vec<_> = items.into_iter().map(|t| s.spawn(move || f(t))).collect();
        threads
            .into_iter()
            .map(|t| t.join().expect("a node start does not panic"))
            .collect()
    })
}

/// Every node of a cluster, or the first error (the nodes that did start are stopped then).
fn all_nodes(
    started: Vec<Result<BrokerProcess, StartError>>,
) -> Result<Vec<BrokerProcess>, StartError> {
    started.into_iter().collect()
}

/// Formats and starts the three Kafka nodes together (none is ready until a majority of the
/// quorum runs), then waits until every broker is registered.
fn start_kafka_cluster(ports: &ClusterPorts) -> Result<Vec<BrokerProcess>, StartError> {
    let (home, java) = kafka_tools()?;
    let voters: Vec<String> = (0..NODES)
        .map(|i| format!("{}@127.0.0.1:{}", i + 1, ports.controller[i]))
        .collect();
    let nodes: Vec<KafkaNode> = (0..NODES)
        .map(|i| KafkaNode {
            id: i + 1,
            port: ports.kafka[i],
            cport: ports.controller[i],
            voters: voters.join(","),
            extra: KafkaExtras::default(),
        })
        .collect();
    let nodes = all_nodes(in_parallel(nodes, |node| {
        let dir = prepare_kafka(&java, &home, &node)?;
        BrokerProcess::start(
            kafka_launch(java.clone(), &home, &dir, KAFKA_HEAP),
            node.port,
            dir,
        )
    }))?;
    let addr: Vec<String> = nodes
        .iter()
        .map(|b| format!("127.0.0.1:{}", b.port))
        .collect();
    wait_kafka_brokers(&addr.join(","), &nodes)?;
    Ok(nodes)
}

/// Waits until the cluster's metadata lists every broker, so a topic with three replicas can be
/// placed.
fn wait_kafka_brokers(addr: &str, nodes: &[BrokerProcess]) -> Result<(), StartError> {
    let client: BaseProducer = ClientConfig::new()
        .set("bootstrap.servers", addr)
        .create()
        .map_err(|e| failed("a Kafka client for the cluster's metadata", e))?;
    let deadline = Instant::now() + SETTLE_TIMEOUT;
    let mut seen = String::from("no metadata yet");
    while Instant::now() < deadline {
        match client.client().fetch_metadata(None, Duration::from_secs(2)) {
            Ok(m) if m.brokers().len() >= NODES => return Ok(()),
            Ok(m) => seen = format!("{} of {NODES} brokers registered", m.brokers().len()),
            Err(e) => seen = e.to_string(),
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    Err(failed(
        format!("the Kafka cluster on {addr}"),
        format!(
            "not settled within {SETTLE_TIMEOUT:?}: {seen}{}",
            logs_of(nodes)
        ),
    ))
}

/// The end of every node's log, for an error message.
fn logs_of(nodes: &[BrokerProcess]) -> String {
    nodes
        .iter()
        .map(|b| {
            format!(
                "\n{}:\n{}",
                b.log_path().display(),
                log_tail(b.log_path(), 0)
            )
        })
        .collect()
}

/// Starts the three nats-servers together, routed to each other, then waits until JetStream has
/// a meta leader.
fn start_nats_cluster(ports: &ClusterPorts) -> Result<Vec<BrokerProcess>, StartError> {
    let program = nats_server()?;
    let nodes = all_nodes(in_parallel((0..NODES).collect(), |i| {
        start_nats_node(&program, ports, i)
    }))?;
    wait_nats_meta_leader(&ports.monitor, &nodes)?;
    Ok(nodes)
}

/// Starts nats-server `n<i+1>` of the cluster, with routes to the other two and monitoring on.
fn start_nats_node(
    program: &Path,
    ports: &ClusterPorts,
    i: usize,
) -> Result<BrokerProcess, StartError> {
    let route = |n: usize| format!("nats://127.0.0.1:{}", ports.routes[n]);
    let others: Vec<String> = (0..NODES).filter(|&n| n != i).map(route).collect();
    let cluster = vec![
        "-m".into(),
        ports.monitor[i].to_string(),
        "-n".into(),
        format!("n{}", i + 1),
        "--cluster_name".into(),
        NATS_CLUSTER.into(),
        "--cluster".into(),
        route(i),
        "--routes".into(),
        others.join(","),
    ];
    let dir = scratch_dir("nats")?;
    let launch = nats_launch(program, &dir, ports.nats[i], "", cluster)?;
    BrokerProcess::start(launch, ports.nats[i], dir)
}

/// Waits until every nats-server's `/healthz` answers 200, which in a cluster means JetStream is
/// in contact with a meta leader.
fn wait_nats_meta_leader(monitor: &[u16], nodes: &[BrokerProcess]) -> Result<(), StartError> {
    let deadline = Instant::now() + SETTLE_TIMEOUT;
    let mut seen = String::from("no answer yet");
    while Instant::now() < deadline {
        let answers: Vec<Option<(u16, String)>> =
            monitor.iter().map(|p| http_get(*p, "/healthz")).collect();
        if answers.iter().all(|a| matches!(a, Some((200, _)))) {
            return Ok(());
        }
        seen = format!("/healthz answered {answers:?}");
        std::thread::sleep(Duration::from_millis(250));
    }
    Err(failed(
        "the NATS JetStream cluster",
        format!(
            "no meta leader within {SETTLE_TIMEOUT:?}: {seen}{}",
            logs_of(nodes)
        ),
    ))
}

/// The status code and body of `GET <path>` on 127.0.0.1:`port`, or `None` when nothing answers.
fn http_get(port: u16, path: &str) -> Option<(u16, String)> {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let mut conn = TcpStream::connect_timeout(&addr, Duration::from_secs(2)).ok()?;
    conn.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(conn, "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").ok()?;
    let mut text = String::new();
    conn.read_to_string(&mut text).ok()?;
    let status = text.split_whitespace().nth(1)?.parse().ok()?;
    let body = text.split_once("\r\n\r\n").map_or("", |(_, b)| b).trim();
    Some((status, body.to_string()))
}

/// The clusters [`shared_clusters`] hands out, or why they did not start.
static SHARED: OnceLock<Result<LocalClusters, String>> = OnceLock::new();

/// The clusters shared by every test of this test binary, started on first use and stopped when
/// the binary exits. Tests keep apart by their own topic and stream names
/// ([`TestNames`](super::TestNames)). Panics with the reason when the clusters cannot start.
pub fn shared_clusters() -> &'static LocalClusters {
    super::started_once(&SHARED, "clusters", start_clusters, stop_shared)
}

/// At exit: stops the shared clusters at once rather than leaving them to the watchdog.
extern "C" fn stop_shared() {
    if let Some(Ok(c)) = SHARED.get() {
        c.kafka.iter().chain(&c.nats).for_each(BrokerProcess::halt);
    }
}
