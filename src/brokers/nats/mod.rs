//! The NATS lane: async-nats JetStream publishes with their acks awaited as futures.

mod atomic;
mod fast;
mod security;

pub use security::INLINE_SECRETS;

use super::{
    AckFuture, BrokerError, BrokerStatus, ConsumerTask, Durability, FastBatch, FastFlow, Message,
    OnMessage, Publisher, STAMP_HEADER,
};
use crate::vocab::AckStrategy;
use async_nats::jetstream::{self, consumer, stream};
use futures::future::{BoxFuture, FutureExt};
use futures::StreamExt;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

/// How long setup waits for the server to answer.
const SETUP_TIMEOUT: Duration = Duration::from_secs(5);
/// async-nats's own in-flight ack cap when pubduel's max-pending is the limit instead.
const CLIENT_INFLIGHT_CAP: usize = 8_000_000;
/// Longest wait between two reconnect attempts (async-nats's own default grows to 4 s), so the
/// end of an outage is seen within about a second.
const MAX_RECONNECT_DELAY: Duration = Duration::from_secs(1);
/// async-nats's default in-flight ack cap, kept when `native_defaults` is set.
pub const NATIVE_INFLIGHT_CAP: usize = 5_000;

/// Where a stream keeps its messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Storage {
    /// On disk (JetStream's default).
    #[default]
    File,
    /// In memory only.
    Memory,
}

impl Storage {
    /// `file` or `memory`.
    pub fn as_str(self) -> &'static str {
        match self {
            Storage::File => "file",
            Storage::Memory => "memory",
        }
    }
}

/// When a stream's server acks a message: after writing it (the default), or before, flushing
/// in the background (`async`, nats-server 2.12+, R1 file streams only).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum PersistMode {
    /// Acked once written.
    #[default]
    Default,
    /// Acked before it is written; flushed in the background.
    Async,
}

impl PersistMode {
    fn is_default(&self) -> bool {
        *self == PersistMode::Default
    }
}

/// NATS settings from the profile's `[nats]` section.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NatsSettings {
    /// Server URL, `nats://host:port`.
    pub url: String,
    /// Stream name; created at start when missing, reused when present.
    pub stream: String,
    /// Subject to publish to (must be bound to the stream).
    pub subject: String,
    /// Storage of a newly created stream.
    pub storage: Storage,
    /// Replicas of a newly created stream.
    pub replicas: u32,
    /// Give every message a `Nats-Msg-Id`, so the stream drops a duplicate within its
    /// duplicate window (the server's default, two minutes), as a deduplicating producer does.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub dedup: bool,
    /// `async`: a newly created stream acks before it writes (R1 file streams only).
    #[serde(skip_serializing_if = "PersistMode::is_default")]
    pub persist_mode: PersistMode,
    /// Most bytes a newly created stream keeps (oldest dropped first).
    pub max_bytes: i64,
    /// How long the client waits for an ack before it reports a failure, in milliseconds.
    pub ack_timeout_ms: u64,
    /// Keep async-nats's own in-flight ack cap (5000, with backpressure) instead of setting it
    /// above max-pending.
    pub native_defaults: bool,
    /// A `.creds` file (user JWT and nkey seed), for servers with decentralized auth.
    pub creds: Option<PathBuf>,
    /// A file holding an nkey seed (`SU...`), for servers that list the user's public nkey.
    pub nkey_seed: Option<PathBuf>,
    /// The environment variable that holds a token (read when the lane connects).
    pub token_env: Option<String>,
    /// The file that holds a token (read when the lane connects).
    pub token_file: Option<PathBuf>,
    /// The user of a user and password login.
    pub user: Option<String>,
    /// The environment variable that holds the user's password (read when the lane connects).
    pub password_env: Option<String>,
    /// The file that holds the user's password (read when the lane connects).
    pub password_file: Option<PathBuf>,
    /// PEM file of the CA that signed the server's certificate (TLS is then required).
    pub tls_ca: Option<PathBuf>,
    /// PEM file of the client's certificate, for servers that verify clients.
    pub tls_cert: Option<PathBuf>,
    /// PEM file of the client certificate's private key.
    pub tls_key: Option<PathBuf>,
    /// TLS before the server's first message, for servers with `handshake_first`.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub tls_first: bool,
}

impl Default for NatsSettings {
    fn default() -> Self {
        NatsSettings {
            url: "nats://127.0.0.1:4222".into(),
            stream: "PUBDUEL".into(),
            subject: "pubduel.bench".into(),
            storage: Storage::File,
            replicas: 1,
            dedup: false,
            persist_mode: PersistMode::Default,
            max_bytes: 1 << 30,
            ack_timeout_ms: 10_000,
            native_defaults: false,
            creds: None,
            nkey_seed: None,
            token_env: None,
            token_file: None,
            user: None,
            password_env: None,
            password_file: None,
            tls_ca: None,
            tls_cert: None,
            tls_key: None,
            tls_first: false,
        }
    }
}

impl NatsSettings {
    /// Checks values the server would otherwise reject later; the error names the key.
    pub fn validate(&self) -> Result<(), (&'static str, String)> {
        if self.stream.is_empty() || self.stream.contains(['.', ' ', '*', '>']) {
            return Err((
                "stream",
                format!(
                    "must be a name without `.`, spaces or wildcards, got `{}`",
                    self.stream
                ),
            ));
        }
        if self.subject.is_empty() || self.subject.contains(' ') {
            return Err((
                "subject",
                format!("must be a subject without spaces, got `{}`", self.subject),
            ));
        }
        if !(1..=5).contains(&self.replicas) {
            return Err((
                "replicas",
                format!("must be between 1 and 5, got {}", self.replicas),
            ));
        }
        if self.persist_mode == PersistMode::Async {
            if self.replicas > 1 {
                let msg = format!(
                    "`async` acks before the write, which only an R1 stream allows; replicas is {}",
                    self.replicas
                );
                return Err(("persist_mode", msg));
            }
            if self.storage == Storage::Memory {
                let msg = "`async` is for file storage; a memory stream has no write to wait for";
                return Err(("persist_mode", msg.into()));
            }
        }
        security::validate(self, &crate::brokers::secret::Env::Process)
    }

    /// What an ack means with these settings: JetStream acks once a majority of the stream's
    /// replicas has the message.
    pub fn durability(&self) -> Durability {
        let storage = match self.persist_mode {
            PersistMode::Async => format!("{} (acked before the write)", self.storage.as_str()),
            PersistMode::Default => self.storage.as_str().into(),
        };
        Durability {
            storage,
            replicas: self.replicas,
            acked_copies: self.replicas / 2 + 1,
            linger_ms: 0,
        }
    }

    /// The server URLs: `url` may list several, separated by commas (a cluster's seeds).
    pub fn servers(&self) -> Vec<&str> {
        self.url
            .split(',')
            .map(str::trim)
            .filter(|u| !u.is_empty())
            .collect()
    }

    /// The settings as a report, `--dry-run` or an error may show them: any user or password in
    /// a URL is left out. The other keys hold no secret, only where to find one.
    pub fn redacted(&self) -> NatsSettings {
        let hide = |url: &str| match url.split_once("://") {
            Some((scheme, rest)) => match rest.rsplit_once('@') {
                Some((_, host)) => format!("{scheme}://{host}"),
                None => url.to_string(),
            },
            None => url.rsplit_once('@').map_or(url, |(_, h)| h).to_string(),
        };
        NatsSettings {
            url: self
                .servers()
                .into_iter()
                .map(hide)
                .collect::<Vec<_>>()
                .join(","),
            ..self.clone()
        }
    }
}

/// The NATS lane's publisher.
pub struct NatsPublisher {
    js: jetstream::Context,
    status: Arc<BrokerStatus>,
    settings: NatsSettings,
    /// The server's version, from its INFO.
    server_version: String,
    /// The subject and message ids of the lane's messages.
    address: Arc<Address>,
}

/// The async-nats release built in (checked against Cargo.lock by a test).
pub const CLIENT_VERSION: &str = "0.51.0";

fn setup_error(detail: String) -> BrokerError {
    BrokerError::Setup {
        lane: "nats",
        detail,
    }
}

/// Connects (failing at once, naming the cause, when the login or TLS is refused), creates or
/// reuses the stream, and returns the lane's publisher.
pub async fn connect(settings: &NatsSettings) -> Result<Arc<NatsPublisher>, BrokerError> {
    let status = BrokerStatus::new();
    let options = security::apply(
        settings,
        connect_options(Arc::clone(&status)),
        &crate::brokers::secret::Env::Process,
    )
    .map_err(|(key, message)| setup_error(format!("[nats] {key}: {message}")))?;
    // Any login in the URLs is in `options` now; the client gets them without it.
    let shown = settings.redacted();
    let client = tokio::time::timeout(
        SETUP_TIMEOUT + Duration::from_secs(1),
        options.connect(shown.servers()),
    )
    .await
    .map_err(|_| unreachable(settings, "timed out".into()))?
    .map_err(|e| connect_error(settings, &e))?;
    let cap = if settings.native_defaults {
        NATIVE_INFLIGHT_CAP
    } else {
        CLIENT_INFLIGHT_CAP
    };
    let js = jetstream::context::ContextBuilder::new()
        .timeout(SETUP_TIMEOUT)
        .ack_timeout(Duration::from_millis(settings.ack_timeout_ms))
        .max_ack_inflight(cap)
        .backpressure_on_inflight(true)
        .build(client);
    create_stream(&js, settings).await?;
    Ok(Arc::new(NatsPublisher {
        address: Arc::new(Address {
            subject: settings.subject.clone(),
            dedup: (settings.dedup).then(|| format!("{:016x}", rand::random::<u64>())),
        }),
        server_version: js.client().server_info().version,
        js,
        status,
        settings: settings.clone(),
    }))
}

/// Connect options for a NATS server that is not a lane's (the agents' control server), with
/// the login and TLS of `settings`: its security keys, secrets read now, on this host; the
/// error names the key.
pub fn login_options(
    settings: &NatsSettings,
    name: &str,
) -> Result<async_nats::ConnectOptions, (&'static str, String)> {
    security::validate(settings, &crate::brokers::secret::Env::Process)?;
    let options = async_nats::ConnectOptions::new()
        .name(name)
        .connection_timeout(SETUP_TIMEOUT);
    security::apply(settings, options, &crate::brokers::secret::Env::Process)
}

/// Whether a server `version` (`2.12.3`, `v2.15.0-dev`) is at least `major.minor`.
pub fn server_at_least(version: &str, (major, minor): (u32, u32)) -> bool {
    let mut parts = version
        .trim_start_matches('v')
        .split(['.', '-'])
        .map(|p| p.parse::<u32>().unwrap_or(0));
    let (ma, mi) = (parts.next().unwrap_or(0), parts.next().unwrap_or(0));
    (ma, mi) >= (major, minor)
}

/// Where a lane's messages go and what names them: its subject, and with `dedup` the prefix
/// that makes this connection's message ids its own.
pub(super) struct Address {
    subject: String,
    dedup: Option<String>,
}

impl Address {
    /// The subject of `msg`: the lane's, with the message's key as its last token when the
    /// knobs ask for keys.
    fn subject_of(&self, msg: &Message) -> async_nats::Subject {
        match msg.key() {
            Some(Some(k)) => format!("{}.{k}", self.subject).into(),
            _ => self.subject.as_str().into(),
        }
    }

    /// The headers of `msg` (its shape's, its stamp, and with `dedup` its message id), if any.
    fn headers_of(&self, msg: &Message) -> Option<async_nats::HeaderMap> {
        if !msg.has_headers() && self.dedup.is_none() {
            return None;
        }
        let mut headers = async_nats::HeaderMap::new();
        for (k, v) in msg.headers() {
            headers.insert(k, v);
        }
        if let Some(prefix) = &self.dedup {
            let id = format!("{prefix}-{}", msg.seq);
            headers.insert(async_nats::header::NATS_MESSAGE_ID, id.as_str());
        }
        Some(headers)
    }
}

/// The addresses as errors may show them (without credentials).
fn shown_addr(settings: &NatsSettings) -> String {
    settings.redacted().url
}

fn unreachable(settings: &NatsSettings, detail: String) -> BrokerError {
    BrokerError::Unreachable {
        lane: "nats",
        addr: shown_addr(settings),
        detail,
        flag: "--nats",
        env: "PUBDUEL_NATS",
    }
}

/// A failed first connection: refused (a login, a certificate, TLS), or else unreachable.
fn connect_error(settings: &NatsSettings, e: &async_nats::ConnectError) -> BrokerError {
    let detail = e.to_string();
    match security::refusal(e.kind(), &detail, settings) {
        Some(hint) => BrokerError::Refused {
            lane: "nats",
            addr: shown_addr(settings),
            detail,
            hint: hint.into(),
        },
        None => unreachable(settings, detail),
    }
}

/// The client's options: quick reconnects, and its connection events followed in `status`.
fn connect_options(status: Arc<BrokerStatus>) -> async_nats::ConnectOptions {
    async_nats::ConnectOptions::new()
        .name("pubduel")
        .connection_timeout(SETUP_TIMEOUT)
        .reconnect_delay_callback(reconnect_delay)
        .event_callback(move |event| {
            let status = Arc::clone(&status);
            async move {
                match event {
                    async_nats::Event::Disconnected => {
                        status.set_down(Instant::now(), "disconnected from the server")
                    }
                    async_nats::Event::Connected => status.set_up(Instant::now()),
                    other => tracing::debug!("nats: {other}"),
                }
            }
        })
}

/// Creates the stream, or reuses it when it exists and takes the subject.
async fn create_stream(
    js: &jetstream::Context,
    settings: &NatsSettings,
) -> Result<(), BrokerError> {
    let version = js.client().server_info().version;
    let config = stream::Config {
        name: settings.stream.clone(),
        // The subject, and its keyed form (`subject.KEY`) for the `keys` knob.
        subjects: vec![settings.subject.clone(), format!("{}.>", settings.subject)],
        storage: match settings.storage {
            Storage::File => stream::StorageType::File,
            Storage::Memory => stream::StorageType::Memory,
        },
        num_replicas: settings.replicas as usize,
        // Atomic batches need it (nats-server 2.12+); async persistence cannot have it.
        allow_atomic_publish: settings.persist_mode == PersistMode::Default
            && server_at_least(&version, (2, 12)),
        // Fast-ingest batches need it (nats-server 2.14+).
        allow_batch_publish: server_at_least(&version, (2, 14)),
        persist_mode: match settings.persist_mode {
            PersistMode::Default => None,
            PersistMode::Async => Some(stream::PersistenceMode::Async),
        },
        max_bytes: settings.max_bytes,
        discard: stream::DiscardPolicy::Old,
        ..Default::default()
    };
    let stream = js
        .get_or_create_stream(config)
        .await
        .map_err(|e| setup_error(stream_refused(settings, &e)))?;
    let bound = &stream.cached_info().config.subjects;
    if !bound.iter().any(|s| subject_matches(s, &settings.subject)) {
        return Err(setup_error(format!(
            "stream {} exists but does not take subject {} (it takes {}); pick another stream or subject",
            settings.stream,
            settings.subject,
            bound.join(", ")
        )));
    }
    Ok(())
}

/// Why the stream could not be made, with what to change when the server has no room for its
/// reservation: a stream reserves its whole `max_bytes` against the server's JetStream store cap.
fn stream_refused(settings: &NatsSettings, e: &jetstream::context::CreateStreamError) -> String {
    let full = matches!(
        e.kind(),
        jetstream::context::CreateStreamErrorKind::JetStream(j)
            if j.error_code() == jetstream::ErrorCode::STORAGE_RESOURCES_EXCEEDED
    );
    let cap = match settings.storage {
        Storage::File => "max_file_store",
        Storage::Memory => "max_memory_store",
    };
    let hint = if full {
        format!(
            " (a new stream reserves its max_bytes, {} bytes, against the server's JetStream \
             {cap}; lower [nats] max_bytes, remove unused streams, or raise {cap})",
            settings.max_bytes
        )
    } else {
        String::new()
    };
    format!("stream {}: {e}{hint}", settings.stream)
}

/// async-nats's exponential backoff (0, 2, 4, 8 ... ms), capped at [`MAX_RECONNECT_DELAY`].
fn reconnect_delay(attempts: usize) -> Duration {
    let exp = attempts.saturating_sub(1).min(20) as u32;
    if attempts <= 1 {
        Duration::ZERO
    } else {
        Duration::from_millis(1u64 << exp).min(MAX_RECONNECT_DELAY)
    }
}

/// Whether a stream subject (possibly with wildcards) covers `subject`.
fn subject_matches(pattern: &str, subject: &str) -> bool {
    let mut p = pattern.split('.');
    let mut s = subject.split('.');
    loop {
        match (p.next(), s.next()) {
            (Some(">"), Some(_)) => return true,
            (Some("*"), Some(_)) => {}
            (Some(a), Some(b)) if a == b => {}
            (None, None) => return true,
            _ => return false,
        }
    }
}

impl Publisher for NatsPublisher {
    fn name(&self) -> &'static str {
        "nats"
    }

    fn versions(&self) -> Vec<(&'static str, String)> {
        vec![
            ("async-nats", CLIENT_VERSION.to_string()),
            ("nats-server", self.server_version.clone()),
        ]
    }

    fn lacks(&self, ack: AckStrategy) -> Option<String> {
        let (at, version) = (&self.settings.redacted().url, &self.server_version);
        match ack {
            AckStrategy::Atomic if self.settings.persist_mode == PersistMode::Async => Some(
                "atomic batches need a stream that acks after the write: persist_mode is `async`"
                    .into(),
            ),
            AckStrategy::Atomic if !server_at_least(version, (2, 12)) => Some(format!(
                "atomic batch publish needs nats-server 2.12 or later; the server at {at} is {version}"
            )),
            AckStrategy::Fast if !server_at_least(version, (2, 14)) => Some(format!(
                "fast-ingest batch publish needs nats-server 2.14 or later; the server at {at} is {version}"
            )),
            _ => None,
        }
    }

    fn open_fast(&self, flow: FastFlow) -> Result<Box<dyn FastBatch>, BrokerError> {
        Ok(Box::new(self.fast_batch(flow)))
    }

    fn submit_atomic(&self, msgs: &[Message]) -> BoxFuture<'_, Result<AckFuture, BrokerError>> {
        let batch: Vec<Message> = msgs.to_vec();
        async move { self.publish_batch(batch).await }.boxed()
    }

    fn status(&self) -> Arc<BrokerStatus> {
        Arc::clone(&self.status)
    }

    fn client_cap(&self) -> Option<u64> {
        self.settings
            .native_defaults
            .then_some(NATIVE_INFLIGHT_CAP as u64)
    }

    fn submit(&self, msg: &Message) -> BoxFuture<'_, Result<AckFuture, BrokerError>> {
        let payload = msg.payload.clone();
        let (subject, headers) = (self.address.subject_of(msg), self.address.headers_of(msg));
        async move {
            let ack = match headers {
                Some(headers) => {
                    self.js
                        .publish_with_headers(subject, headers, payload)
                        .await
                }
                None => self.js.publish(subject, payload).await,
            }
            .map_err(|e| BrokerError::Publish(e.to_string()))?;
            let fut: AckFuture = async move {
                ack.await
                    .map(|_| Instant::now())
                    .map_err(|e| BrokerError::Ack(e.to_string()))
            }
            .boxed();
            Ok(fut)
        }
        .boxed()
    }

    fn consume(
        &self,
        on_message: OnMessage,
        cancel: CancellationToken,
    ) -> BoxFuture<'_, Result<ConsumerTask, BrokerError>> {
        async move {
            let stream = self
                .js
                .get_stream(&self.settings.stream)
                .await
                .map_err(|e| setup_error(format!("consumer stream: {e}")))?;
            let consumer = stream
                .create_consumer(consumer::pull::OrderedConfig {
                    filter_subjects: vec![
                        self.settings.subject.clone(),
                        format!("{}.>", self.settings.subject),
                    ],
                    deliver_policy: consumer::DeliverPolicy::New,
                    ..Default::default()
                })
                .await
                .map_err(|e| setup_error(format!("consumer: {e}")))?;
            let mut messages = consumer
                .messages()
                .await
                .map_err(|e| setup_error(format!("consumer: {e}")))?;
            let task: ConsumerTask = async move {
                loop {
                    tokio::select! {
                        _ = cancel.cancelled() => break,
                        m = messages.next() => match m {
                            Some(Ok(m)) => {
                                let stamp = m.headers.as_ref().and_then(|h| h.get(STAMP_HEADER));
                                on_message(&m.payload, stamp.map(|v| v.as_str().as_bytes()), Instant::now())
                            }
                            Some(Err(e)) => tracing::warn!("nats consumer: {e}"),
                            None => break,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_client_version_is_the_one_built_in() {
        let lock = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.lock"))
            .expect("Cargo.lock");
        let entry = format!("name = \"async-nats\"\nversion = \"{CLIENT_VERSION}\"");
        assert!(
            lock.contains(&entry),
            "Cargo.lock has another async-nats than {CLIENT_VERSION}"
        );
    }

    #[test]
    fn subjects_match_wildcards() {
        assert!(subject_matches("pubduel.>", "pubduel.bench"));
        assert!(subject_matches("pubduel.*", "pubduel.bench"));
        assert!(subject_matches("pubduel.bench", "pubduel.bench"));
        assert!(!subject_matches("other.>", "pubduel.bench"));
        assert!(!subject_matches("pubduel.*", "pubduel.bench.x"));
    }

    #[test]
    fn credentials_are_not_reported() {
        let s = NatsSettings {
            url: "nats://me:secret@host:4222".into(),
            ..NatsSettings::default()
        };
        assert_eq!(s.redacted().url, "nats://host:4222");
        let cluster = NatsSettings {
            url: "nats://a:b@h1:4222, nats://h2:4223".into(),
            ..NatsSettings::default()
        };
        assert_eq!(cluster.servers(), ["nats://a:b@h1:4222", "nats://h2:4223"]);
        assert_eq!(cluster.redacted().url, "nats://h1:4222,nats://h2:4223");
    }
}
