//! The Kafka lane: an rdkafka producer whose delivery callback times each ack on arrival.

mod contact;
mod produce;
mod reports;
mod security;
mod settings;
mod transactions;

pub use security::{is_secret, SaslMechanism, SecurityProtocol, INLINE_SECRETS};
pub use settings::KafkaSettings;

use super::{
    AckFuture, BrokerError, BrokerStatus, ConsumerTask, Message, OnMessage, PayloadAcks, Publisher,
    Settle, TaggedAck, STAMP_HEADER,
};
use futures::future::{BoxFuture, FutureExt};
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{Header, Headers as _, Message as _, OwnedHeaders};
use rdkafka::producer::{BaseProducer, BaseRecord, DeliveryResult, Producer, ProducerContext};
use rdkafka::statistics::Statistics;
use rdkafka::{ClientContext, Offset, TopicPartitionList};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::oneshot;
use tokio_util::sync::CancellationToken;

/// Distinct message keys the lane rotates through.
const KEYS: u64 = 64;
/// How long setup waits for the broker to answer.
const SETUP_TIMEOUT: Duration = Duration::from_secs(5);

/// Times each delivery report the moment librdkafka hands it over, and follows whether the
/// brokers can be reached.
struct AckContext {
    status: Arc<BrokerStatus>,
    /// Where tagged messages' acks go: the first lane that asked.
    tagged: std::sync::OnceLock<Arc<dyn PayloadAcks>>,
}

impl ClientContext for AckContext {
    fn error(&self, error: KafkaError, reason: &str) {
        if error.rdkafka_error_code() == Some(RDKafkaErrorCode::AllBrokersDown) {
            self.status.set_down(Instant::now(), reason);
        } else {
            tracing::debug!("librdkafka: {error}: {reason}");
        }
    }

    fn stats(&self, statistics: Statistics) {
        // Learned brokers (node id >= 0) that are up mean the cluster answers again.
        if statistics
            .brokers
            .values()
            .any(|b| b.nodeid >= 0 && b.state == "UP")
        {
            self.status.set_up(Instant::now());
        }
    }
}

impl ProducerContext for AckContext {
    type DeliveryOpaque = produce::Opaque;

    fn delivery(&self, result: &DeliveryResult<'_>, opaque: Self::DeliveryOpaque) {
        let now = Instant::now();
        let (outcome, message) = match result {
            Ok(m) => {
                self.status.set_up(now);
                (Ok(now), m)
            }
            Err((e, m)) => (Err(BrokerError::Ack(e.to_string())), m),
        };
        let mut tagged = Vec::new();
        let payload = message.payload().unwrap_or_default();
        self.settle(opaque, payload, outcome, &mut tagged);
        self.settle_tagged(&tagged);
    }
}

impl AckContext {
    /// Settles one message's ack as its opaque says: a settle is called, a tagged ack is added
    /// to `tagged` for [`AckContext::settle_tagged`].
    fn settle<'a>(
        &self,
        opaque: produce::Opaque,
        payload: &'a [u8],
        result: super::AckResult,
        tagged: &mut Vec<TaggedAck<'a>>,
    ) {
        match opaque {
            produce::Opaque::Settle(settle) => settle.settle(result),
            produce::Opaque::Tag(tag) => tagged.push(TaggedAck {
                payload,
                tag,
                result,
            }),
        }
    }

    /// Hands a report's tagged acks to the lane whose they are.
    fn settle_tagged(&self, tagged: &[TaggedAck<'_>]) {
        if let (false, Some(acks)) = (tagged.is_empty(), self.tagged.get()) {
            acks.settle(tagged);
        }
    }
}

/// The Kafka lane's publisher.
pub struct KafkaPublisher {
    /// Released before the producer (fields drop in order).
    topic: produce::TopicHandle,
    /// The producer's event loop (delivery reports); stopped before the producer goes.
    reports: Option<reports::Reports>,
    producer: BaseProducer<AckContext>,
    status: Arc<BrokerStatus>,
    settings: KafkaSettings,
    keys: Vec<String>,
    transactions: transactions::Transactions,
}

fn unreachable(settings: &KafkaSettings, detail: String) -> BrokerError {
    BrokerError::Unreachable {
        lane: "kafka",
        addr: settings.bootstrap.clone(),
        detail,
        flag: "--kafka",
        env: "PUBDUEL_KAFKA",
    }
}

fn setup_error(detail: String) -> BrokerError {
    BrokerError::Setup {
        lane: "kafka",
        detail,
    }
}

/// Connects (failing at once, naming the cause, when the login or TLS is refused), creates the
/// topic when missing, and returns the lane's publisher.
pub async fn connect(settings: &KafkaSettings) -> Result<Arc<KafkaPublisher>, BrokerError> {
    let config = settings.base_config()?;
    let probe = (settings.clone(), config.clone());
    tokio::task::spawn_blocking(move || contact::first_contact(&probe.0, &probe.1))
        .await
        .map_err(|e| setup_error(e.to_string()))??;
    let admin: AdminClient<DefaultClientContext> =
        config.create().map_err(|e| setup_error(e.to_string()))?;
    create_topic(&Arc::new(admin), settings).await?;
    let status = BrokerStatus::new();
    let producer: BaseProducer<AckContext> = settings
        .producer_config()?
        .create_with_context(AckContext {
            status: Arc::clone(&status),
            tagged: std::sync::OnceLock::new(),
        })
        .map_err(|e| setup_error(e.to_string()))?;
    let keys = (0..KEYS).map(|i| format!("key-{i}")).collect();
    let topic = produce::TopicHandle::new(producer.client().native_ptr(), &settings.topic)
        .map_err(setup_error)?;
    let rk = producer.client().native_ptr();
    let reports =
        reports::Reports::start(rk, Arc::clone(producer.context())).map_err(setup_error)?;
    Ok(Arc::new(KafkaPublisher {
        topic,
        reports: Some(reports),
        producer,
        status,
        settings: settings.clone(),
        keys,
        transactions: transactions::Transactions::new(settings),
    }))
}

async fn create_topic(
    admin: &Arc<AdminClient<DefaultClientContext>>,
    s: &KafkaSettings,
) -> Result<(), BrokerError> {
    let min_insync = s.min_insync_replicas.map(|m| m.to_string());
    let mut topic = NewTopic::new(
        &s.topic,
        s.partitions,
        TopicReplication::Fixed(s.replication),
    );
    if let Some(m) = &min_insync {
        topic = topic.set("min.insync.replicas", m);
    }
    let opts = AdminOptions::new()
        .operation_timeout(Some(SETUP_TIMEOUT))
        .request_timeout(Some(SETUP_TIMEOUT));
    let results = admin
        .create_topics([&topic], &opts)
        .await
        .map_err(|e| setup_error(format!("create topic: {e}")))?;
    for r in results {
        match r {
            Ok(_) | Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
            Err((name, code)) => return Err(setup_error(format!("create topic {name}: {code}"))),
        }
    }
    // Wait until the topic's partitions are known, so the first messages do not wait for metadata.
    let deadline = Instant::now() + SETUP_TIMEOUT;
    loop {
        let probe = Arc::clone(admin);
        let name = s.topic.clone();
        let ready = tokio::task::spawn_blocking(move || {
            probe
                .inner()
                .fetch_metadata(Some(&name), Duration::from_secs(2))
                .map(|m| {
                    m.topics().iter().any(|t| {
                        t.name() == name && t.error().is_none() && !t.partitions().is_empty()
                    })
                })
        })
        .await
        .map_err(|e| setup_error(e.to_string()))?;
        if matches!(ready, Ok(true)) {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(setup_error(format!(
                "topic {} has no partitions after creation",
                s.topic
            )));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// `record` with `payload`, `key` and the headers of `msg`.
pub(super) fn shaped<'a, D: rdkafka::util::IntoOpaque>(
    record: BaseRecord<'a, str, [u8], D>,
    msg: &'a Message,
    payload: &'a [u8],
    key: Option<&'a str>,
) -> BaseRecord<'a, str, [u8], D> {
    let mut record = record.payload(payload);
    if let Some(key) = key {
        record = record.key(key);
    }
    if msg.has_headers() {
        let headers = msg.headers().fold(OwnedHeaders::new(), |h, (k, v)| {
            h.insert(Header {
                key: k,
                value: Some(v),
            })
        });
        record = record.headers(headers);
    }
    record
}

impl KafkaPublisher {
    /// Hands a message to librdkafka, with `payload` as its bytes (its own, or one stamped for
    /// the call); on failure the delivery comes back with the error.
    fn send(
        &self,
        msg: &Message,
        payload: &[u8],
        opaque: produce::Opaque,
    ) -> Result<(), (BrokerError, produce::Opaque)> {
        let owned;
        let key = match msg.key() {
            None => Some(self.keys[(msg.seq % KEYS) as usize].as_str()),
            Some(k) => {
                owned = k.map(|k| format!("key-{k}"));
                owned.as_deref()
            }
        };
        let refused = |e: KafkaError| match e {
            KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull) => BrokerError::QueueFull,
            e => BrokerError::Publish(e.to_string()),
        };
        if msg.has_headers() {
            let record = BaseRecord::with_opaque_to(&self.settings.topic, opaque);
            let record = shaped(record, msg, payload, key);
            return (self.producer.send(record))
                .map_err(|(e, record)| (refused(e), record.delivery_opaque));
        }
        let rk = self.producer.client().native_ptr();
        let key = key.map(str::as_bytes);
        produce::produce(rk, &self.topic, payload, key, opaque)
            .map_err(|(code, back)| (refused(KafkaError::MessageProduction(code)), back))
    }

    /// The partitions of the topic, as the broker reports them.
    fn partitions(&self) -> Result<Vec<i32>, BrokerError> {
        let md = self
            .producer
            .client()
            .fetch_metadata(Some(&self.settings.topic), SETUP_TIMEOUT)
            .map_err(|e| setup_error(e.to_string()))?;
        Ok(md
            .topics()
            .iter()
            .flat_map(|t| t.partitions().iter().map(|p| p.id()))
            .collect())
    }
}

impl Publisher for KafkaPublisher {
    fn name(&self) -> &'static str {
        "kafka"
    }

    fn versions(&self) -> Vec<(&'static str, String)> {
        vec![("librdkafka", rdkafka::util::get_rdkafka_version().1)]
    }

    fn lacks(&self, ack: crate::vocab::AckStrategy) -> Option<String> {
        (ack == crate::vocab::AckStrategy::Fast).then(|| crate::brokers::KAFKA_NO_FAST.into())
    }

    fn submit_atomic(&self, msgs: &[Message]) -> BoxFuture<'_, Result<AckFuture, BrokerError>> {
        let msgs = msgs.to_vec();
        async move { self.transactions.submit(&msgs).await }.boxed()
    }

    fn submit(&self, msg: &Message) -> BoxFuture<'_, Result<AckFuture, BrokerError>> {
        let (tx, rx) = oneshot::channel();
        // The receiver is gone for the `none` strategy: nobody waits, nothing to do.
        let to_future = Settle::new(move |outcome| {
            let _ = tx.send(outcome);
        });
        let result = self
            .send(msg, &msg.payload, produce::Opaque::Settle(to_future))
            .map(|()| {
                let ack: AckFuture = async move {
                    rx.await
                        .unwrap_or_else(|_| Err(BrokerError::Ack("delivery report lost".into())))
                }
                .boxed();
                ack
            });
        futures::future::ready(result.map_err(|(e, _)| e)).boxed()
    }

    fn settles_inline(&self) -> bool {
        true
    }

    fn status(&self) -> Arc<BrokerStatus> {
        Arc::clone(&self.status)
    }

    fn submit_settled(&self, msg: &Message, settle: Settle) -> Result<(), (BrokerError, Settle)> {
        self.send(msg, &msg.payload, produce::Opaque::Settle(settle))
            .map_err(|(e, back)| match back {
                produce::Opaque::Settle(settle) => (e, settle),
                produce::Opaque::Tag(_) => unreachable!("a settle comes back as it went"),
            })
    }

    fn settle_tagged(&self, acks: Arc<dyn PayloadAcks>) -> bool {
        self.producer.context().tagged.set(acks).is_ok()
    }

    fn submit_tagged(&self, msg: &Message, payload: &[u8], tag: u64) -> Result<(), BrokerError> {
        self.send(msg, payload, produce::Opaque::Tag(tag))
            .map_err(|(e, _)| e)
    }

    fn consume(
        &self,
        on_message: OnMessage,
        cancel: CancellationToken,
    ) -> BoxFuture<'_, Result<ConsumerTask, BrokerError>> {
        async move {
            let mut cfg = self.settings.base_config()?;
            cfg.set("group.id", format!("pubduel-e2e-{}", std::process::id()))
                .set("enable.auto.commit", "false")
                .set("auto.offset.reset", "latest")
                .set("fetch.wait.max.ms", "10")
                // The consumer keeps up, so a small prefetch suffices; librdkafka's default (64 MB
                // per partition) would be filled by the catch-up after a stall, and kept.
                .set("queued.max.messages.kbytes", "4096");
            let consumer: StreamConsumer = cfg
                .create()
                .map_err(|e| setup_error(format!("consumer: {e}")))?;
            let mut tpl = TopicPartitionList::new();
            let parts = tokio::task::block_in_place(|| self.partitions())?;
            // Resolve the end of each partition now: `Offset::End` would be resolved lazily, after
            // the first messages of the run may already be there.
            for p in parts {
                let (_, high) = tokio::task::block_in_place(|| {
                    consumer.fetch_watermarks(&self.settings.topic, p, SETUP_TIMEOUT)
                })
                .map_err(|e| setup_error(format!("watermarks of partition {p}: {e}")))?;
                tpl.add_partition_offset(&self.settings.topic, p, Offset::Offset(high))
                    .map_err(|e| setup_error(e.to_string()))?;
            }
            consumer
                .assign(&tpl)
                .map_err(|e| setup_error(format!("assign: {e}")))?;
            let task: ConsumerTask = async move {
                loop {
                    tokio::select! {
                        _ = cancel.cancelled() => break,
                        m = consumer.recv() => match m {
                            Ok(m) => {
                                let stamp = m.headers().and_then(|h| {
                                    (0..h.count())
                                        .map(|i| h.get(i))
                                        .find(|x| x.key == STAMP_HEADER)
                                        .and_then(|x| x.value)
                                });
                                on_message(m.payload().unwrap_or_default(), stamp, Instant::now())
                            }
                            Err(e) => {
                                tracing::warn!("kafka consumer: {e}");
                                tokio::time::sleep(Duration::from_millis(50)).await;
                            }
                        },
                    }
                }
            }
            .boxed();
            Ok(task)
        }
        .boxed()
    }
}

impl Drop for KafkaPublisher {
    fn drop(&mut self) {
        let _ = self.producer.flush(Duration::from_secs(1));
        // The event loop goes first: it reads the client, which goes with the producer.
        drop(self.reports.take());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_not_reported() {
        let mut s = KafkaSettings::default();
        s.properties
            .insert("ssl.keystore.password".into(), "hunter2".into());
        s.properties
            .insert("socket.timeout.ms".into(), "1000".into());
        let r = s.redacted();
        assert_eq!(
            r.properties["ssl.keystore.password"],
            crate::brokers::secret::REDACTED
        );
        assert_eq!(r.properties["socket.timeout.ms"], "1000");
        let text = toml::to_string(&r).unwrap();
        assert!(
            !text.contains("hunter2") && !text.contains("security_protocol"),
            "{text}"
        );
    }

    #[test]
    fn bad_values_name_their_key() {
        let s = KafkaSettings {
            acks: "most".into(),
            ..KafkaSettings::default()
        };
        assert_eq!(s.validate().unwrap_err().0, "acks");
        assert!(KafkaSettings::default().validate().is_ok());
    }

    #[test]
    fn idempotence_and_the_partitioner_are_checked_and_set() {
        let key = |s: KafkaSettings| s.validate().unwrap_err().0;
        let idem = |acks: &str, max_in_flight| KafkaSettings {
            enable_idempotence: true,
            acks: acks.into(),
            max_in_flight,
            ..KafkaSettings::default()
        };
        assert!(idem("all", 5).validate().is_ok());
        assert_eq!(key(idem("1", 5)), "enable_idempotence");
        assert_eq!(key(idem("all", 6)), "enable_idempotence");
        let bad = KafkaSettings {
            partitioner: Some("round-robin".into()),
            ..KafkaSettings::default()
        };
        assert_eq!(key(bad), "partitioner");
        let good = KafkaSettings {
            partitioner: Some("murmur2_random".into()),
            ..idem("all", 5)
        };
        let c = good.producer_config().unwrap();
        assert_eq!(c.get("partitioner"), Some("murmur2_random"));
        assert_eq!(c.get("enable.idempotence"), Some("true"));
        let off = KafkaSettings::default().producer_config().unwrap();
        assert_eq!(
            off.get("enable.idempotence"),
            Some("false"),
            "librdkafka's default, said"
        );
    }
}
