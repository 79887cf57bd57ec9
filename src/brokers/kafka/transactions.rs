//! Kafka's all-or-nothing batches: a transactional producer, one transaction per batch (begin,
//! produce, commit). A producer holds one open transaction at a time, so batches of one lane
//! take turns; the wait for the previous commit is part of the next batch's `submit`.

use super::{setup_error, shaped, KafkaSettings, KEYS};
use crate::brokers::{AckFuture, BrokerError, Message};
use futures::future::FutureExt;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::producer::{BaseRecord, DefaultProducerContext, Producer, ThreadedProducer};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Mutex;

type TxProducer = ThreadedProducer<DefaultProducerContext>;

/// Longest a transaction's setup or commit may take before it counts as failed.
const TX_TIMEOUT: Duration = Duration::from_secs(10);

/// The lane's transactional producer, made when the first atomic batch goes out.
pub(super) struct Transactions {
    settings: KafkaSettings,
    producer: Arc<Mutex<Option<Arc<TxProducer>>>>,
}

impl Transactions {
    /// Transactions on the topic of `settings`, none open yet.
    pub(super) fn new(settings: &KafkaSettings) -> Transactions {
        Transactions {
            settings: settings.clone(),
            producer: Arc::default(),
        }
    }

    /// Begins a transaction, produces `msgs` in it and returns once librdkafka has them all;
    /// the future commits it and resolves at the commit's end, the ack of every message.
    pub(super) async fn submit(&self, msgs: &[Message]) -> Result<AckFuture, BrokerError> {
        let mut turn = Arc::clone(&self.producer).lock_owned().await;
        let producer = match turn.as_ref() {
            Some(p) => Arc::clone(p),
            None => {
                let p = self.make().await?;
                *turn = Some(Arc::clone(&p));
                p
            }
        };
        let (p, topic) = (Arc::clone(&producer), self.settings.topic.clone());
        let records = msgs.to_vec();
        blocking(move || produce(&p, &topic, &records)).await?;
        Ok(async move {
            let p = Arc::clone(&producer);
            let committed = blocking(move || {
                p.commit_transaction(TX_TIMEOUT).map_err(|e| {
                    let _ = p.abort_transaction(TX_TIMEOUT);
                    BrokerError::Ack(format!("the transaction did not commit: {e}"))
                })
            })
            .await;
            // The next batch may begin only now.
            drop(turn);
            committed.map(|()| Instant::now())
        }
        .boxed())
    }

    /// A producer with a transactional id of its own, its transactions initialised.
    async fn make(&self) -> Result<Arc<TxProducer>, BrokerError> {
        let mut c = self.settings.producer_config()?;
        let id = format!("pubduel-{}-{}", self.settings.topic, std::process::id());
        c.set("transactional.id", &id)
            .set("acks", "all")
            .set("enable.idempotence", "true");
        let p: TxProducer = c.create().map_err(|e| setup_error(e.to_string()))?;
        let p = Arc::new(p);
        let init = Arc::clone(&p);
        blocking(move || {
            init.init_transactions(TX_TIMEOUT).map_err(|e| {
                BrokerError::Publish(format!(
                    "cannot start transactions ({e}): a Kafka broker needs its transaction state \
                     log (transaction.state.log.replication.factor no higher than the brokers)"
                ))
            })
        })
        .await?;
        Ok(p)
    }
}

/// Begins a transaction and hands every record to librdkafka (waiting out a full queue); an
/// error aborts the transaction.
fn produce(p: &TxProducer, topic: &str, records: &[Message]) -> Result<(), BrokerError> {
    p.begin_transaction()
        .map_err(|e| BrokerError::Publish(format!("cannot begin a transaction: {e}")))?;
    for msg in records {
        // The lane's own keys unless the knobs set them, as its other strategies do.
        let key = match msg.key() {
            None => Some(format!("key-{}", msg.seq % KEYS)),
            Some(k) => k.map(|k| format!("key-{k}")),
        };
        let mut record = shaped(BaseRecord::to(topic), msg, &msg.payload, key.as_deref());
        loop {
            match p.send(record) {
                Ok(()) => break,
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), back)) => {
                    record = back;
                    std::thread::sleep(Duration::from_millis(1));
                }
                Err((e, _)) => {
                    let _ = p.abort_transaction(TX_TIMEOUT);
                    return Err(BrokerError::Publish(e.to_string()));
                }
            }
        }
    }
    Ok(())
}

/// Runs a blocking librdkafka call off the async workers.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, BrokerError> + Send + 'static,
) -> Result<T, BrokerError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| BrokerError::Publish(format!("the transaction thread stopped: {e}")))?
}
