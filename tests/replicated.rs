//! Replicated lanes on real 3-node clusters (the shared clusters of `pubduel::testkit`): the
//! shipped `replicated` profile (Kafka RF3, acks=all, min.insync.replicas=2 vs JetStream R3 on
//! file) really is like for like, and each way of making the lanes unalike is named by
//! `unfair-comparison`. The cases take turns, so one run's load does not slow another's acks.

use async_nats::jetstream;
use pubduel::vocab::{AckStrategy, FindingKind, Knobs, Stage};

use pubduel::app;
use pubduel::brokers::kafka::KafkaSettings;
use pubduel::brokers::nats::{NatsSettings, Storage};
use pubduel::config::RunConfig;

use pubduel::metrics::LaneResult;
use pubduel::profile::Profile;
use pubduel::testkit::{self, LocalClusters, TestNames};
use rdkafka::admin::{AdminClient, AdminOptions, ResourceSpecifier};
use rdkafka::client::DefaultClientContext;
use rdkafka::config::ClientConfig;
use std::path::Path;
use std::sync::Once;
use std::time::{Duration, Instant};
use tokio::sync::Mutex;

/// Held by each case while it runs.
static ONE_AT_A_TIME: Mutex<()> = Mutex::const_new(());

/// Measured acks each lane must have before a run stops.
const ACKS: u64 = 300;
/// Longest a run may take to get them.
const PATIENCE: Duration = Duration::from_secs(60);

/// The shared clusters; the first call says how long their start took.
fn clusters() -> &'static LocalClusters {
    static SAID: Once = Once::new();
    let c = testkit::shared_clusters();
    SAID.call_once(|| {
        eprintln!(
            "clusters ready in {:.1} s: kafka {} / nats {}",
            c.started_in().as_secs_f64(),
            c.kafka_addr(),
            c.nats_url()
        );
    });
    c
}

/// The shipped profile's `[kafka]` and `[nats]` settings, pointed at the shared clusters under
/// names of `tag`'s own; both lanes, async, 2 publishers, 256 pending, 300 msg/s.
fn replicated_config(tag: &str) -> RunConfig {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("profiles/replicated.toml");
    let profile = Profile::load(&path).expect("profiles/replicated.toml loads");
    let c = clusters();
    let names = TestNames::new(tag);
    let knobs = Knobs {
        concurrency: 2,
        max_pending: 256,
        ack: AckStrategy::Async,
        rate: 300,
        ..Knobs::default()
    };
    let mut cfg = names.run_config(c.kafka_addr(), c.nats_url(), knobs);
    cfg.warmup = Duration::from_millis(300);
    cfg.kafka = KafkaSettings {
        bootstrap: cfg.kafka.bootstrap,
        topic: cfg.kafka.topic,
        ..profile.kafka.expect("the profile has [kafka]")
    };
    cfg.nats = NatsSettings {
        url: cfg.nats.url,
        stream: cfg.nats.stream,
        subject: cfg.nats.subject,
        ..profile.nats.expect("the profile has [nats]")
    };
    cfg
}

/// Runs `cfg` until every lane has [`ACKS`] measured acks; returns the last phase's lanes after
/// checking that each acked over 100 messages without an error. Says how long it ran and each
/// lane's ack latency.
async fn run(cfg: &RunConfig) -> Vec<LaneResult> {
    let t0 = Instant::now();
    let (engine, _) = app::start(cfg).await.expect("lanes start");
    let handle = engine.handle();
    while t0.elapsed() < PATIENCE {
        tokio::time::sleep(Duration::from_millis(200)).await;
        let enough = handle
            .phases()
            .last()
            .is_some_and(|p| p.lanes.iter().all(|l| l.measured.count(Stage::Ack) >= ACKS));
        if enough {
            break;
        }
    }
    let lanes = engine.finish().await.pop().expect("a phase").lanes;
    for l in &lanes {
        let c = &l.counts;
        assert!(c.acked > 100 && c.errors == 0, "{}: {c:?}", l.name);
    }
    eprintln!(
        "{}: ran {:.1} s; {}",
        cfg.profile_name,
        t0.elapsed().as_secs_f64(),
        ack_latencies(&lanes)
    );
    lanes
}

/// The message of the Kafka lane's unfair-comparison; fails when there is none.
fn unfair(lanes: &[LaneResult]) -> String {
    let kafka = &lanes[0].findings;
    let found = kafka
        .iter()
        .find(|f| f.kind == FindingKind::UnfairComparison);
    found
        .unwrap_or_else(|| panic!("no unfair-comparison: {kafka:?}"))
        .message
        .clone()
}

/// `<lane> ack p50 .. p99 .. ms (n acks)` for each lane.
fn ack_latencies(lanes: &[LaneResult]) -> String {
    let each: Vec<String> = lanes
        .iter()
        .map(|l| {
            let s = l.reported().summary(Stage::Ack).expect("acks measured");
            format!(
                "{} ack p50 {:.2} ms, p99 {:.2} ms ({} acks)",
                l.name,
                s.p50_us as f64 / 1000.0,
                s.p99_us as f64 / 1000.0,
                s.count
            )
        })
        .collect();
    each.join("; ")
}

/// Checks on the brokers themselves that every partition of the topic has three replicas (two or
/// more in sync) and `min.insync.replicas` 2, and that the stream has three replicas.
async fn assert_three_replicas(cfg: &RunConfig) {
    let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
        .set("bootstrap.servers", &cfg.kafka.bootstrap)
        .create()
        .expect("a Kafka admin client");
    let meta = admin
        .inner()
        .fetch_metadata(Some(&cfg.kafka.topic), Duration::from_secs(10))
        .expect("the topic's metadata");
    let partitions = meta.topics()[0].partitions();
    assert_eq!(partitions.len(), 3);
    for p in partitions {
        let (replicas, isr) = (p.replicas().len(), p.isr().len());
        assert!(
            replicas == 3 && isr >= 2,
            "partition {}: {replicas} replicas, {isr} in sync",
            p.id()
        );
    }
    let topic = ResourceSpecifier::Topic(&cfg.kafka.topic);
    let configs = admin
        .describe_configs([&topic], &AdminOptions::new())
        .await
        .expect("the topic's configs");
    let config = configs[0].as_ref().expect("the topic's configs");
    let min_isr = config
        .get("min.insync.replicas")
        .and_then(|e| e.value.clone());
    assert_eq!(min_isr.as_deref(), Some("2"));
    let first = cfg.nats.url.split(',').next().unwrap();
    let js = jetstream::new(async_nats::connect(first).await.expect("NATS connects"));
    let mut stream = js.get_stream(&cfg.nats.stream).await.expect("the stream");
    let info = stream.info().await.expect("the stream's info");
    let peers = info.cluster.as_ref().map_or(0, |c| c.replicas.len());
    assert_eq!(
        (info.config.num_replicas, peers),
        (3, 2),
        "{:?}",
        info.cluster
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_replicated_profile_is_like_for_like() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let cfg = replicated_config("replicated-profile");
    assert_eq!(
        (cfg.kafka.replication, cfg.kafka.min_insync_replicas),
        (3, Some(2))
    );
    assert_eq!((cfg.kafka.acks.as_str(), cfg.kafka.linger_ms), ("all", 0));
    assert_eq!((cfg.nats.replicas, cfg.nats.storage), (3, Storage::File));
    let lanes = run(&cfg).await;
    for l in &lanes {
        let unfair = l
            .findings
            .iter()
            .any(|f| f.kind == FindingKind::UnfairComparison);
        assert!(!unfair, "{}: {:?}", l.name, l.findings);
    }
    assert_three_replicas(&cfg).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_kafka_replica_against_three_is_named() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let mut cfg = replicated_config("rf1");
    cfg.kafka.replication = 1;
    cfg.kafka.min_insync_replicas = Some(1);
    let message = unfair(&run(&cfg).await);
    assert!(message.contains("replication differs"), "{message}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acks_1_against_a_majority_is_named() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let mut cfg = replicated_config("acks1");
    cfg.kafka.acks = "1".into();
    let message = unfair(&run(&cfg).await);
    assert!(
        message.contains("copies sure to exist at the ack differ"),
        "{message}"
    );
    assert!(!message.contains("replication differs"), "{message}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_against_file_is_named() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let mut cfg = replicated_config("memory");
    cfg.nats.storage = Storage::Memory;
    let message = unfair(&run(&cfg).await);
    assert!(message.contains("storage differs"), "{message}");
}
