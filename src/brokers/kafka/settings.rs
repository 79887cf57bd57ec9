//! The Kafka lane's settings: the profile's `[kafka]` section, checked, and the librdkafka
//! configuration made from it.

use super::security::{self, SaslMechanism, SecurityProtocol};
use super::setup_error;
use crate::brokers::{BrokerError, Durability};
use rdkafka::config::ClientConfig;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::PathBuf;

/// librdkafka's partitioners.
const PARTITIONERS: [&str; 7] = [
    "random",
    "consistent",
    "consistent_random",
    "murmur2",
    "murmur2_random",
    "fnv1a",
    "fnv1a_random",
];

/// Kafka settings from the profile's `[kafka]` section.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct KafkaSettings {
    /// Bootstrap servers, `host:port[,host:port]`.
    pub bootstrap: String,
    /// Topic to publish to; created at start when missing.
    pub topic: String,
    /// Partitions of a newly created topic.
    pub partitions: i32,
    /// Replication factor of a newly created topic.
    pub replication: i32,
    /// `min.insync.replicas` of a newly created topic: copies that must have a message before
    /// `acks = all` is acknowledged (the broker's default, 1, when absent).
    pub min_insync_replicas: Option<i32>,
    /// Producer `acks`: `all`, `1` or `0`.
    pub acks: String,
    /// Producer `linger.ms`.
    pub linger_ms: u32,
    /// Producer `batch.size` in bytes (librdkafka's default when absent).
    pub batch_size: Option<u32>,
    /// Produce requests in flight per broker connection (`max.in.flight.requests.per.connection`).
    /// 5, as in the Java client and sarama: a broker serves one request per connection at a time,
    /// so librdkafka's own default (1000000) queues tiny requests that each wait for replication.
    pub max_in_flight: u32,
    /// `compression.type`: none, gzip, snappy, lz4, zstd.
    pub compression: String,
    /// `enable.idempotence`: the broker drops a retried duplicate and keeps each partition in
    /// order. librdkafka's default is false, the Java client's (since Kafka 3.0) true; the report
    /// shows which was in force.
    pub enable_idempotence: bool,
    /// librdkafka's `partitioner` for keyed messages (its default, `consistent_random`, when
    /// absent): random, consistent, consistent_random, murmur2, murmur2_random (the Java
    /// client's), fnv1a, fnv1a_random.
    pub partitioner: Option<String>,
    /// `message.timeout.ms`: how long librdkafka retries before it reports a failed delivery.
    pub message_timeout_ms: u32,
    /// Keep librdkafka's own queue limits instead of setting them above max-pending.
    pub native_defaults: bool,
    /// `security.protocol`: PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL.
    #[serde(skip_serializing_if = "SecurityProtocol::is_plaintext")]
    pub security_protocol: SecurityProtocol,
    /// `sasl.mechanisms` of a SASL login: PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512.
    pub sasl_mechanism: Option<SaslMechanism>,
    /// `sasl.username` of a SASL login.
    pub sasl_username: Option<String>,
    /// The environment variable that holds the SASL password (read when the lane connects).
    pub sasl_password_env: Option<String>,
    /// The file that holds the SASL password (read when the lane connects).
    pub sasl_password_file: Option<PathBuf>,
    /// `ssl.ca.location`: PEM file of the CA that signed the brokers' certificates.
    pub ssl_ca: Option<PathBuf>,
    /// `ssl.certificate.location`: PEM file of the client's certificate, for brokers that ask.
    pub ssl_cert: Option<PathBuf>,
    /// `ssl.key.location`: PEM file of the client certificate's private key.
    pub ssl_key: Option<PathBuf>,
    /// The environment variable that holds the password of an encrypted `ssl_key`
    /// (`ssl.key.password`, read when the lane connects).
    pub ssl_key_password_env: Option<String>,
    /// The file that holds the password of an encrypted `ssl_key` (read when the lane connects).
    pub ssl_key_password_file: Option<PathBuf>,
    /// Any other librdkafka properties, passed through as they are (those a key above sets are
    /// refused; values that may carry secrets are blanked in reports).
    pub properties: BTreeMap<String, String>,
}

impl Default for KafkaSettings {
    fn default() -> Self {
        KafkaSettings {
            bootstrap: "127.0.0.1:9092".into(),
            topic: "pubduel".into(),
            partitions: 3,
            replication: 1,
            min_insync_replicas: None,
            acks: "all".into(),
            linger_ms: 5,
            batch_size: None,
            max_in_flight: 5,
            compression: "none".into(),
            enable_idempotence: false,
            partitioner: None,
            message_timeout_ms: 10_000,
            native_defaults: false,
            security_protocol: SecurityProtocol::Plaintext,
            sasl_mechanism: None,
            sasl_username: None,
            sasl_password_env: None,
            sasl_password_file: None,
            ssl_ca: None,
            ssl_cert: None,
            ssl_key: None,
            ssl_key_password_env: None,
            ssl_key_password_file: None,
            properties: BTreeMap::new(),
        }
    }
}

impl KafkaSettings {
    /// Checks values librdkafka would otherwise reject later; the error names the key.
    pub fn validate(&self) -> Result<(), (&'static str, String)> {
        if !["all", "-1", "1", "0"].contains(&self.acks.as_str()) {
            return Err(("acks", format!("must be all, 1 or 0, got `{}`", self.acks)));
        }
        if !["none", "gzip", "snappy", "lz4", "zstd"].contains(&self.compression.as_str()) {
            return Err((
                "compression",
                format!(
                    "must be none, gzip, snappy, lz4 or zstd, got `{}`",
                    self.compression
                ),
            ));
        }
        if self.partitions < 1 {
            return Err((
                "partitions",
                format!("must be at least 1, got {}", self.partitions),
            ));
        }
        if self.replication < 1 {
            return Err((
                "replication",
                format!("must be at least 1, got {}", self.replication),
            ));
        }
        if let Some(m) = self.min_insync_replicas {
            if !(1..=self.replication).contains(&m) {
                return Err((
                    "min_insync_replicas",
                    format!(
                        "must be between 1 and replication ({}), got {m}",
                        self.replication
                    ),
                ));
            }
        }
        if self.max_in_flight < 1 {
            return Err(("max_in_flight", "must be at least 1".into()));
        }
        if self.enable_idempotence && !["all", "-1"].contains(&self.acks.as_str()) {
            let msg = format!(
                "needs acks = all (librdkafka refuses it with acks = {})",
                self.acks
            );
            return Err(("enable_idempotence", msg));
        }
        if self.enable_idempotence && self.max_in_flight > 5 {
            let msg = format!(
                "needs max_in_flight of 5 or less, got {}",
                self.max_in_flight
            );
            return Err(("enable_idempotence", msg));
        }
        if let Some(p) = self
            .partitioner
            .as_deref()
            .filter(|p| !PARTITIONERS.contains(p))
        {
            let msg = format!("must be one of {}, got `{p}`", PARTITIONERS.join(", "));
            return Err(("partitioner", msg));
        }
        if self.topic.is_empty() {
            return Err(("topic", "must not be empty".into()));
        }
        security::validate(self, &crate::brokers::secret::Env::Process)
    }

    /// The first `[kafka.properties]` entry that a key of `[kafka]` sets instead, as (property,
    /// message): one place per setting, and no password written in the profile.
    pub fn typed_property(&self) -> Option<(String, String)> {
        security::typed_property(self)
    }

    /// The settings as a report or `--dry-run` may show them: the values of properties that may
    /// carry credentials are blanked. The typed keys hold no secret, only where to find one.
    pub fn redacted(&self) -> KafkaSettings {
        KafkaSettings {
            properties: security::redact_properties(&self.properties),
            ..self.clone()
        }
    }

    /// Copies a message is sure to have when its ack arrives: none for `acks = 0`, the leader's
    /// for `acks = 1`, and for `acks = all` at least `min.insync.replicas` (all in-sync replicas
    /// are waited for, and the broker refuses the write when fewer than that are in sync).
    pub fn acked_copies(&self) -> u32 {
        match self.acks.as_str() {
            "0" => 0,
            "1" => 1,
            _ => self.min_insync_replicas.unwrap_or(1).max(1) as u32,
        }
    }

    /// What an ack means with these settings (Kafka keeps every partition on disk).
    pub fn durability(&self) -> Durability {
        Durability {
            storage: "file".into(),
            replicas: self.replication.max(1) as u32,
            acked_copies: self.acked_copies(),
            linger_ms: self.linger_ms,
        }
    }

    /// What every client of the lane shares: the brokers, the security settings (the passwords
    /// read now), the pass-through properties.
    pub(super) fn base_config(&self) -> Result<ClientConfig, BrokerError> {
        let mut c = ClientConfig::new();
        c.set("bootstrap.servers", &self.bootstrap)
            .set("client.id", "pubduel");
        security::apply(self, &mut c, &crate::brokers::secret::Env::Process)
            .map_err(|(key, message)| setup_error(format!("[kafka] {key}: {message}")))?;
        for (k, v) in &self.properties {
            c.set(k, v);
        }
        Ok(c)
    }

    pub(super) fn producer_config(&self) -> Result<ClientConfig, BrokerError> {
        let mut c = self.base_config()?;
        c.set("acks", &self.acks)
            .set("linger.ms", self.linger_ms.to_string())
            .set("compression.type", &self.compression)
            .set("enable.idempotence", self.enable_idempotence.to_string())
            .set("message.timeout.ms", self.message_timeout_ms.to_string())
            .set(
                "max.in.flight.requests.per.connection",
                self.max_in_flight.to_string(),
            )
            // Broker states once a second (seen in `AckContext::stats`), and reconnects at most a
            // second apart, so an outage's end is seen within a second or two.
            .set("statistics.interval.ms", "1000")
            .set("reconnect.backoff.max.ms", "1000");
        if let Some(b) = self.batch_size {
            c.set("batch.size", b.to_string());
        }
        if let Some(p) = &self.partitioner {
            c.set("partitioner", p);
        }
        if !self.native_defaults {
            // pubduel's own max-pending is the limit; keep librdkafka's queue out of the way.
            c.set("queue.buffering.max.messages", "10000000");
        }
        for (k, v) in &self.properties {
            c.set(k, v);
        }
        Ok(c)
    }
}
