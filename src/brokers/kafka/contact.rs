//! The Kafka lane's first contact with the cluster: metadata requests through a probe client that
//! hears librdkafka's errors, so a refused login or an untrusted certificate ends the setup at
//! once, in librdkafka's words, rather than after a timeout that only says it timed out.

use super::{setup_error, unreachable, KafkaSettings, SETUP_TIMEOUT};
use crate::brokers::BrokerError;
use parking_lot::Mutex;
use rdkafka::config::{ClientConfig, RDKafkaLogLevel};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::producer::{BaseProducer, DeliveryResult, Producer, ProducerContext};
use rdkafka::ClientContext;
use std::time::{Duration, Instant};

/// How long each metadata request of the probe waits before the errors seen so far are looked at.
const SLICE: Duration = Duration::from_millis(500);

/// Why a broker that answers does not let the lane in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Refusal {
    /// The SASL login failed.
    Login,
    /// TLS failed on the broker's certificate.
    Certificate,
    /// The broker did not take the client's certificate, or wants one and got none.
    ClientCertificate,
    /// One side speaks TLS or SASL and the other does not.
    Protocol,
}

impl Refusal {
    /// The refusal an error from librdkafka's error callback stands for, if any.
    fn of(code: Option<RDKafkaErrorCode>, reason: &str) -> Option<Refusal> {
        let lower = reason.to_ascii_lowercase();
        // OpenSSL's words for the alerts a broker sends about the client's certificate (Java
        // sends `bad certificate` for a missing one as well as for one it does not trust).
        let client_alert = CLIENT_CERTIFICATE_ALERTS
            .iter()
            .any(|a| lower.contains(&format!("alert {a}")));
        match code {
            Some(RDKafkaErrorCode::Authentication) => Some(Refusal::Login),
            _ if client_alert => Some(Refusal::ClientCertificate),
            Some(RDKafkaErrorCode::SSL) if lower.contains("certificate") => {
                Some(Refusal::Certificate)
            }
            Some(RDKafkaErrorCode::SSL) => Some(Refusal::Protocol),
            _ if lower.contains("security.protocol") => Some(Refusal::Protocol),
            _ => None,
        }
    }

    /// What to check, naming the keys of `[kafka]`.
    fn hint(self) -> &'static str {
        match self {
            Refusal::Login => {
                "The broker refused the SASL authentication: check sasl_mechanism, sasl_username \
                 and the password in sasl_password_env or sasl_password_file of [kafka]."
            }
            Refusal::Certificate => {
                "The broker's TLS certificate is not trusted: point ssl_ca of [kafka] at the PEM \
                 file of the CA that signed it (and check the certificate names this host)."
            }
            Refusal::ClientCertificate => {
                "The broker did not take a client certificate: it wants one signed by a CA it \
                 trusts; set ssl_cert and ssl_key of [kafka] to it and its key."
            }
            Refusal::Protocol => {
                "The listener at this address seems to expect another security protocol (TLS or \
                 SASL): set security_protocol of [kafka] to what it speaks (PLAINTEXT, SSL, \
                 SASL_PLAINTEXT or SASL_SSL); or the broker takes no more connections."
            }
        }
    }
}

/// TLS alerts about the client's certificate, as OpenSSL names them.
const CLIENT_CERTIFICATE_ALERTS: [&str; 7] = [
    "bad certificate",
    "certificate required",
    "unknown ca",
    "certificate unknown",
    "unsupported certificate",
    "certificate expired",
    "certificate revoked",
];

/// Keeps the errors librdkafka reports while the probe waits for metadata.
#[derive(Default)]
struct ProbeContext {
    /// The latest error, in librdkafka's words.
    last: Mutex<Option<String>>,
    /// The first refusal seen, with its reason.
    refused: Mutex<Option<(Refusal, String)>>,
    /// Whether the broker closed a connection before answering the first request (ApiVersion).
    closed_early: Mutex<bool>,
}

impl ProbeContext {
    /// The refusal seen so far, if any: one librdkafka reported as such, or a listener that
    /// closed the connection at the first request instead of answering it (what an SSL listener
    /// does to a client that does not speak TLS).
    fn refusal(&self) -> Option<(Refusal, String)> {
        let refused = self.refused.lock().clone();
        refused.or_else(|| {
            let early = *self.closed_early.lock();
            let last = self.last.lock().clone();
            early.then(|| (Refusal::Protocol, last.unwrap_or_default()))
        })
    }
}

impl ClientContext for ProbeContext {
    fn error(&self, error: KafkaError, reason: &str) {
        let code = error.rdkafka_error_code();
        if let Some(r) = Refusal::of(code, reason) {
            self.refused.lock().get_or_insert((r, reason.to_string()));
        }
        // "1/1 brokers are down" says less than the failure logged before it.
        if code != Some(RDKafkaErrorCode::AllBrokersDown) || self.last.lock().is_none() {
            *self.last.lock() = Some(reason.to_string());
        }
    }

    fn log(&self, _: RDKafkaLogLevel, facility: &str, message: &str) {
        tracing::debug!(target: "librdkafka", "{facility}: {message}");
        if facility != "FAIL" {
            return;
        }
        // `[thrd:...]: ` is librdkafka's thread, said again in the message itself.
        let message = message.split_once("]: ").map_or(message, |(_, m)| m);
        if message.contains("Disconnected") && message.contains("APIVERSION_QUERY") {
            *self.closed_early.lock() = true;
        }
        *self.last.lock() = Some(message.to_string());
    }
}

impl ProducerContext for ProbeContext {
    type DeliveryOpaque = ();

    fn delivery(&self, _: &DeliveryResult<'_>, _: ()) {}
}

/// The TLS files librdkafka loads when it creates a client, by its property and the keys of
/// `[kafka]` to check when it cannot.
const TLS_FILES: [(&str, &str); 3] = [
    (
        "ssl.key.location",
        "The private key in ssl_key of [kafka] could not be loaded: check that it is the PEM key \
         of ssl_cert and, if it is encrypted, its password in ssl_key_password_env or \
         ssl_key_password_file.",
    ),
    (
        "ssl.certificate.location",
        "The client certificate in ssl_cert of [kafka] could not be loaded: check that it is a \
         PEM certificate.",
    ),
    (
        "ssl.ca.location",
        "The CA in ssl_ca of [kafka] could not be loaded: check that it is a PEM file of \
         certificates.",
    ),
];

/// A client librdkafka would not create, with what to check when a TLS file is the cause (a
/// wrong key password reads `ssl.key.location failed: ... PEM lib`).
fn creation_error(e: &KafkaError) -> BrokerError {
    let detail = e.to_string();
    match TLS_FILES.iter().find(|(p, _)| detail.contains(p)) {
        Some((_, hint)) => setup_error(format!("{detail}\n  {hint}")),
        None => setup_error(detail),
    }
}

/// Asks the cluster for its metadata until it answers (then `Ok`), refuses the lane (a login,
/// certificate or protocol error, at once) or [`SETUP_TIMEOUT`] passes (unreachable, with the
/// latest reason librdkafka gave). Blocks: run it on a blocking thread.
pub(super) fn first_contact(s: &KafkaSettings, config: &ClientConfig) -> Result<(), BrokerError> {
    let mut config = config.clone();
    // Connection failures are logged at info level, whatever the log filter is.
    config.set_log_level(RDKafkaLogLevel::Info);
    let probe: BaseProducer<ProbeContext> = config
        .create_with_context(ProbeContext::default())
        .map_err(|e| creation_error(&e))?;
    let deadline = Instant::now() + SETUP_TIMEOUT;
    loop {
        let answer = probe.client().fetch_metadata(None, SLICE);
        // Serves the error events queued meanwhile, into the context.
        probe.poll(Duration::from_millis(10));
        let Err(e) = answer else {
            return Ok(());
        };
        let context = probe.context();
        if let Some((refusal, reason)) = context.refusal() {
            return Err(BrokerError::Refused {
                lane: "kafka",
                addr: s.bootstrap.clone(),
                detail: reason,
                hint: refusal.hint().into(),
            });
        }
        if Instant::now() >= deadline {
            let detail = context.last.lock().clone().unwrap_or_else(|| e.to_string());
            return Err(unreachable(s, detail));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_are_told_apart() {
        let auth = "SASL authentication error: Authentication failed during authentication due \
                    to invalid credentials with SASL mechanism SCRAM-SHA-256";
        let ca = "SSL handshake failed: error:0A000086:SSL routines::certificate verify failed";
        let no_cert = "Receive failed: error:0A000412:SSL routines::sslv3 alert bad certificate: \
                       SSL alert number 42 (after 5ms in state APIVERSION_QUERY)";
        let plain = "Disconnected while requesting ApiVersion: might be caused by incorrect \
                     security.protocol configuration (connecting to a SSL listener?)";
        let cases = [
            (
                Some(RDKafkaErrorCode::Authentication),
                auth,
                Some(Refusal::Login),
            ),
            (Some(RDKafkaErrorCode::SSL), ca, Some(Refusal::Certificate)),
            (
                Some(RDKafkaErrorCode::SSL),
                "wrong version number",
                Some(Refusal::Protocol),
            ),
            (
                Some(RDKafkaErrorCode::BrokerTransportFailure),
                plain,
                Some(Refusal::Protocol),
            ),
            (
                Some(RDKafkaErrorCode::BrokerTransportFailure),
                "Connection refused",
                None,
            ),
            (
                Some(RDKafkaErrorCode::BrokerTransportFailure),
                no_cert,
                Some(Refusal::ClientCertificate),
            ),
            (
                Some(RDKafkaErrorCode::SSL),
                "SSL handshake failed: error:0A000418:SSL routines::tlsv1 alert unknown ca",
                Some(Refusal::ClientCertificate),
            ),
        ];
        for (code, reason, want) in cases {
            assert_eq!(Refusal::of(code, reason), want, "{reason}");
        }
        assert!(Refusal::Login.hint().contains("authentication"));
        let bad_key = KafkaError::ClientCreation(
            "ssl.key.location failed: error:0A080009:SSL routines::PEM lib".into(),
        );
        let e = creation_error(&bad_key).to_string();
        assert!(
            e.contains("PEM lib") && e.contains("ssl_key_password_env"),
            "{e}"
        );
        let other = KafkaError::ClientCreation("Invalid value for configuration property".into());
        assert!(!creation_error(&other).to_string().contains("[kafka]"));
        assert!(Refusal::Certificate.hint().contains("certificate"));
        assert!(Refusal::ClientCertificate.hint().contains("ssl_cert"));
    }
}
