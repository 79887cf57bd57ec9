//! The test brokers themselves: a killed broker comes back on the same ports with its data, and
//! a client that was connected before the outage gets through again.

use async_nats::jetstream;
use pubduel::testkit::{LocalBrokers, TestNames};
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::producer::{FutureProducer, FutureRecord};
use std::net::TcpStream;
use std::time::Duration;

/// How long a client may take to get through to a restarted broker.
const PATIENCE: Duration = Duration::from_secs(60);

async fn kafka_send(producer: &FutureProducer, topic: &str) {
    let record = FutureRecord::to(topic).key("k").payload("x");
    producer
        .send(record, PATIENCE)
        .await
        .map_err(|(e, _)| e)
        .expect("Kafka acknowledges");
}

/// The end offset of partition 0 of `topic`.
fn kafka_high(addr: &str, topic: &str) -> i64 {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", addr)
        .set("group.id", "pubduel-testkit")
        .create()
        .expect("a Kafka consumer");
    consumer
        .fetch_watermarks(topic, 0, PATIENCE)
        .expect("the topic's watermarks")
        .1
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_brokers_restart_on_their_data_and_ports() {
    let mut b = LocalBrokers::start().expect("Apache Kafka and nats-server start");
    let names = TestNames::new("restart");
    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", b.kafka_addr())
        .set("message.timeout.ms", PATIENCE.as_millis().to_string())
        .create()
        .expect("a Kafka producer");
    kafka_send(&producer, &names.topic).await;
    let js = jetstream::new(async_nats::connect(b.nats_url()).await.unwrap());
    js.create_stream(jetstream::stream::Config {
        name: names.stream.clone(),
        subjects: vec![names.subject.clone()],
        ..Default::default()
    })
    .await
    .expect("a stream");
    js.publish(names.subject.clone(), "x".into())
        .await
        .unwrap()
        .await
        .expect("NATS acknowledges");

    b.kafka.kill();
    b.nats.kill();
    for port in [b.kafka.port, b.nats.port] {
        assert!(
            TcpStream::connect(("127.0.0.1", port)).is_err(),
            "port {port} closed after kill"
        );
    }
    b.kafka.restart().expect("Kafka restarts");
    b.nats.restart().expect("nats-server restarts");

    kafka_send(&producer, &names.topic).await;
    assert_eq!(
        kafka_high(&b.kafka_addr(), &names.topic),
        2,
        "the message from before the outage is kept"
    );
    let js = jetstream::new(async_nats::connect(b.nats_url()).await.unwrap());
    let mut stream = js
        .get_stream(&names.stream)
        .await
        .expect("the stream is kept");
    let info = stream.info().await.unwrap();
    assert_eq!(
        info.state.messages, 1,
        "the message from before the outage is kept"
    );
}
