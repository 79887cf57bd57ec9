//! The Kafka lane's security settings: TLS and SASL keys of `[kafka]`, their checks, and the
//! librdkafka properties they become for every client the lane makes (producer, admin, probe,
//! end-to-end consumer).

use super::KafkaSettings;
use crate::brokers::secret::{existing_files, Env, Fault, Secret, SecretSource, REDACTED};
use rdkafka::config::ClientConfig;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

/// How the lane talks to the brokers (librdkafka's `security.protocol`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum SecurityProtocol {
    /// No TLS, no login.
    #[default]
    #[serde(rename = "PLAINTEXT", alias = "plaintext")]
    Plaintext,
    /// TLS, no login (a client certificate may identify the client).
    #[serde(rename = "SSL", alias = "ssl")]
    Ssl,
    /// A SASL login without TLS.
    #[serde(rename = "SASL_PLAINTEXT", alias = "sasl_plaintext")]
    SaslPlaintext,
    /// A SASL login over TLS.
    #[serde(rename = "SASL_SSL", alias = "sasl_ssl")]
    SaslSsl,
}

impl SecurityProtocol {
    /// The name librdkafka and Kafka's listeners use.
    pub fn as_str(self) -> &'static str {
        match self {
            SecurityProtocol::Plaintext => "PLAINTEXT",
            SecurityProtocol::Ssl => "SSL",
            SecurityProtocol::SaslPlaintext => "SASL_PLAINTEXT",
            SecurityProtocol::SaslSsl => "SASL_SSL",
        }
    }

    /// Whether the client logs in with SASL.
    pub fn sasl(self) -> bool {
        matches!(
            self,
            SecurityProtocol::SaslPlaintext | SecurityProtocol::SaslSsl
        )
    }

    /// Whether the connection is TLS.
    pub fn tls(self) -> bool {
        matches!(self, SecurityProtocol::Ssl | SecurityProtocol::SaslSsl)
    }

    /// Whether this is the default (for leaving it out of reports).
    pub fn is_plaintext(&self) -> bool {
        *self == SecurityProtocol::Plaintext
    }
}

/// The SASL mechanism of a login (librdkafka's `sasl.mechanisms`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum SaslMechanism {
    /// User and password sent as they are (use it over TLS only).
    #[serde(rename = "PLAIN")]
    Plain,
    /// SCRAM with SHA-256: the password never crosses the wire.
    #[serde(rename = "SCRAM-SHA-256")]
    ScramSha256,
    /// SCRAM with SHA-512.
    #[serde(rename = "SCRAM-SHA-512")]
    ScramSha512,
}

impl SaslMechanism {
    /// The name librdkafka uses.
    pub fn as_str(self) -> &'static str {
        match self {
            SaslMechanism::Plain => "PLAIN",
            SaslMechanism::ScramSha256 => "SCRAM-SHA-256",
            SaslMechanism::ScramSha512 => "SCRAM-SHA-512",
        }
    }
}

/// Keys a profile might use to put a secret in `[kafka]` itself, refused with where the secret
/// should come from instead.
pub const INLINE_SECRETS: [(&str, &str); 3] = [
    (
        "sasl_password",
        "sasl_password_env (an environment variable) or sasl_password_file (a file)",
    ),
    (
        "password",
        "sasl_password_env (an environment variable) or sasl_password_file (a file)",
    ),
    (
        "ssl_key_password",
        "ssl_key_password_env (an environment variable) or ssl_key_password_file (a file)",
    ),
];

/// librdkafka properties that typed keys of `[kafka]` set: refused in `[kafka.properties]`, so a
/// setting has one place (and a password is never written in the profile).
const TYPED_PROPERTIES: [(&str, &str); 11] = [
    ("enable.idempotence", "enable_idempotence"),
    ("partitioner", "partitioner"),
    ("security.protocol", "security_protocol"),
    ("sasl.mechanisms", "sasl_mechanism"),
    ("sasl.mechanism", "sasl_mechanism"),
    ("sasl.username", "sasl_username"),
    (
        "sasl.password",
        "sasl_password_env (an environment variable) or sasl_password_file (a file)",
    ),
    ("ssl.ca.location", "ssl_ca"),
    ("ssl.certificate.location", "ssl_cert"),
    ("ssl.key.location", "ssl_key"),
    (
        "ssl.key.password",
        "ssl_key_password_env (an environment variable) or ssl_key_password_file (a file)",
    ),
];

/// Parts of librdkafka property names whose values are credentials or key material.
const SECRET_WORDS: [&str; 7] = [
    "password",
    "secret",
    "token",
    "jaas",
    "credential",
    "key",
    "sasl.oauthbearer.config",
];

/// Whether a librdkafka property's value may carry a secret (it is blanked in reports).
pub fn is_secret(property: &str) -> bool {
    let p = property.to_ascii_lowercase();
    SECRET_WORDS.iter().any(|w| p.contains(w))
}

/// `properties` with every value that may carry a secret blanked.
pub(super) fn redact_properties(properties: &BTreeMap<String, String>) -> BTreeMap<String, String> {
    properties
        .iter()
        .map(|(k, v)| {
            let v = if is_secret(k) { REDACTED } else { v.as_str() };
            (k.clone(), v.to_string())
        })
        .collect()
}

/// The first `[kafka.properties]` entry that a typed key sets, as (property, message).
pub(super) fn typed_property(s: &KafkaSettings) -> Option<(String, String)> {
    s.properties.keys().find_map(|k| {
        let (_, typed) = TYPED_PROPERTIES.iter().find(|(p, _)| p == k)?;
        Some((
            k.clone(),
            format!("is set by a key of [kafka]: use {typed} there instead"),
        ))
    })
}

fn password(s: &KafkaSettings) -> SecretSource<'_> {
    SecretSource {
        env: ("sasl_password_env", s.sasl_password_env.as_deref()),
        file: ("sasl_password_file", s.sasl_password_file.as_deref()),
    }
}

fn key_password(s: &KafkaSettings) -> SecretSource<'_> {
    SecretSource {
        env: ("ssl_key_password_env", s.ssl_key_password_env.as_deref()),
        file: ("ssl_key_password_file", s.ssl_key_password_file.as_deref()),
    }
}

/// Checks the security keys: what the protocol needs is there, nothing is set that it would
/// ignore, and every secret and file can be read. The error names the key, never a secret.
pub(super) fn validate(s: &KafkaSettings, env: &Env) -> Result<(), Fault> {
    validate_sasl(s, env)?;
    validate_tls(s, env)
}

/// Checks the SASL login keys against the protocol, and reads the password.
fn validate_sasl(s: &KafkaSettings, env: &Env) -> Result<(), Fault> {
    let p = s.security_protocol.as_str();
    let sasl_keys = [
        ("sasl_mechanism", s.sasl_mechanism.is_some()),
        ("sasl_username", s.sasl_username.is_some()),
        ("sasl_password_env", s.sasl_password_env.is_some()),
        ("sasl_password_file", s.sasl_password_file.is_some()),
    ];
    if !s.security_protocol.sasl() {
        return unused(
            p,
            sasl_keys,
            "a SASL login needs SASL_PLAINTEXT or SASL_SSL",
        );
    }
    if let Some((key, _)) = sasl_keys.iter().take(2).find(|(_, set)| !set) {
        return Err((key, format!("is needed with security_protocol = {p}")));
    }
    if s.sasl_username.as_deref().is_some_and(str::is_empty) {
        return Err(("sasl_username", "must not be empty".into()));
    }
    if !password(s).is_set() {
        let msg = format!("or sasl_password_file is needed with security_protocol = {p}");
        return Err(("sasl_password_env", msg));
    }
    password(s).read(env).map(|_| ())
}

/// Refuses the first of `keys` that is set, since protocol `p` would ignore it (`why`).
fn unused(
    p: &str,
    keys: impl IntoIterator<Item = (&'static str, bool)>,
    why: &str,
) -> Result<(), Fault> {
    match keys.into_iter().find(|(_, set)| *set) {
        Some((key, _)) => Err((key, format!("is set but security_protocol is {p}: {why}"))),
        None => Ok(()),
    }
}

/// Checks the TLS keys against the protocol: the files exist, a certificate comes with its key,
/// and the key's password (for an encrypted key only) can be read.
fn validate_tls(s: &KafkaSettings, env: &Env) -> Result<(), Fault> {
    let p = s.security_protocol.as_str();
    let files = [
        ("ssl_ca", s.ssl_ca.as_deref()),
        ("ssl_cert", s.ssl_cert.as_deref()),
        ("ssl_key", s.ssl_key.as_deref()),
    ];
    let password_keys = [
        ("ssl_key_password_env", s.ssl_key_password_env.is_some()),
        ("ssl_key_password_file", s.ssl_key_password_file.is_some()),
    ];
    if !s.security_protocol.tls() {
        let tls_keys = files.iter().map(|(key, f)| (*key, f.is_some()));
        unused(
            p,
            tls_keys.chain(password_keys),
            "TLS needs SSL or SASL_SSL",
        )?;
    }
    match (&s.ssl_cert, &s.ssl_key) {
        (Some(_), None) => return Err(("ssl_key", "is needed with ssl_cert".into())),
        (None, Some(_)) => return Err(("ssl_cert", "is needed with ssl_key".into())),
        _ => {}
    }
    if let (None, Some((key, _))) = (&s.ssl_key, password_keys.iter().find(|(_, set)| *set)) {
        let msg = "is set but ssl_key is not: it is the password of an encrypted ssl_key";
        return Err((key, msg.into()));
    }
    existing_files(files)?;
    match (&s.ssl_key, key_password(s).read(env)?) {
        (Some(key), None) if encrypted_key(key) => Err((
            "ssl_key",
            format!(
                "{} is encrypted: its password goes in ssl_key_password_env or \
                 ssl_key_password_file",
                key.display()
            ),
        )),
        _ => Ok(()),
    }
}

/// Whether the PEM file at `path` holds an encrypted private key (PKCS#8, or OpenSSL's older
/// form with a `Proc-Type` header).
fn encrypted_key(path: &Path) -> bool {
    std::fs::read_to_string(path).is_ok_and(|text| {
        text.contains("-----BEGIN ENCRYPTED PRIVATE KEY-----")
            || text.contains("Proc-Type: 4,ENCRYPTED")
    })
}

/// Sets the librdkafka security properties on `c`, with the passwords read now from their
/// sources.
pub(super) fn apply(s: &KafkaSettings, c: &mut ClientConfig, env: &Env) -> Result<(), Fault> {
    c.set("security.protocol", s.security_protocol.as_str());
    if s.security_protocol.sasl() {
        if let Some(m) = s.sasl_mechanism {
            c.set("sasl.mechanisms", m.as_str());
        }
        if let Some(u) = &s.sasl_username {
            c.set("sasl.username", u);
        }
        if let Some(pw) = password(s).read(env)? {
            set_secret(c, "sasl.password", &pw);
        }
    }
    if s.security_protocol.tls() {
        for (property, path) in [
            ("ssl.ca.location", &s.ssl_ca),
            ("ssl.certificate.location", &s.ssl_cert),
            ("ssl.key.location", &s.ssl_key),
        ] {
            if let Some(path) = path {
                c.set(property, path.to_string_lossy());
            }
        }
        if let Some(pw) = key_password(s).read(env)? {
            set_secret(c, "ssl.key.password", &pw);
        }
    }
    Ok(())
}

/// Hands a secret to librdkafka (whose own `Debug` of the config hides it).
fn set_secret(c: &mut ClientConfig, property: &str, secret: &Secret) {
    c.set(property, secret.expose());
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn sasl(env: &str) -> KafkaSettings {
        KafkaSettings {
            security_protocol: SecurityProtocol::SaslPlaintext,
            sasl_mechanism: Some(SaslMechanism::ScramSha256),
            sasl_username: Some("alice".into()),
            sasl_password_env: Some(env.into()),
            ..KafkaSettings::default()
        }
    }

    #[test]
    fn a_sasl_login_needs_its_parts_and_a_set_password() {
        let mut env = Env::given([]);
        let var = "PUBDUEL_TEST_KAFKA_SASL_PW";
        let e = validate(&sasl(var), &env).unwrap_err();
        assert_eq!(e.0, "sasl_password_env");
        assert!(e.1.contains(var) && e.1.contains("not set"), "{}", e.1);
        env = Env::given([(var, "pw-value")]);
        assert!(validate(&sasl(var), &env).is_ok());
        let mut c = ClientConfig::new();
        apply(&sasl(var), &mut c, &env).unwrap();
        assert_eq!(c.get("sasl.password"), Some("pw-value"));
        assert_eq!(c.get("sasl.mechanisms"), Some("SCRAM-SHA-256"));
        assert_eq!(c.get("security.protocol"), Some("SASL_PLAINTEXT"));
        assert!(!format!("{c:?}").contains("pw-value"), "{c:?}");
        env = Env::given([]);
        let no_mech = KafkaSettings {
            sasl_mechanism: None,
            ..sasl(var)
        };
        assert_eq!(validate(&no_mech, &env).unwrap_err().0, "sasl_mechanism");
        let no_pw = KafkaSettings {
            sasl_password_env: None,
            ..sasl(var)
        };
        assert_eq!(validate(&no_pw, &env).unwrap_err().0, "sasl_password_env");
    }

    #[test]
    fn keys_the_protocol_would_ignore_are_refused() {
        let env = Env::given([]);
        let s = KafkaSettings {
            sasl_username: Some("alice".into()),
            ..KafkaSettings::default()
        };
        let e = validate(&s, &env).unwrap_err();
        assert_eq!(e.0, "sasl_username");
        assert!(e.1.contains("SASL_PLAINTEXT"), "{}", e.1);
        let s = KafkaSettings {
            ssl_ca: Some("ca.pem".into()),
            ..KafkaSettings::default()
        };
        assert_eq!(validate(&s, &env).unwrap_err().0, "ssl_ca");
    }

    #[test]
    fn tls_files_must_exist() {
        let env = Env::given([]);
        let s = KafkaSettings {
            security_protocol: SecurityProtocol::Ssl,
            ssl_ca: Some(PathBuf::from("/nonexistent/ca.pem")),
            ..KafkaSettings::default()
        };
        let e = validate(&s, &env).unwrap_err();
        assert_eq!(e.0, "ssl_ca");
        assert!(e.1.contains("/nonexistent/ca.pem") && e.1.contains("does not exist"));
        let s = KafkaSettings {
            security_protocol: SecurityProtocol::Ssl,
            ssl_cert: Some(PathBuf::from("/nonexistent/c.pem")),
            ..KafkaSettings::default()
        };
        assert_eq!(validate(&s, &env).unwrap_err().0, "ssl_key");
    }

    #[test]
    fn secret_properties_are_blanked_and_typed_ones_refused() {
        let mut s = KafkaSettings::default();
        for (k, v) in [
            ("ssl.keystore.password", "kp"),
            ("sasl.oauthbearer.client.secret", "cs"),
            ("socket.timeout.ms", "1000"),
        ] {
            s.properties.insert(k.into(), v.into());
        }
        let r = redact_properties(&s.properties);
        assert_eq!(r["ssl.keystore.password"], REDACTED);
        assert_eq!(r["sasl.oauthbearer.client.secret"], REDACTED);
        assert_eq!(r["socket.timeout.ms"], "1000");
        assert_eq!(typed_property(&s), None);
        for (property, key) in [
            ("sasl.password", "sasl_password_env"),
            ("ssl.key.password", "ssl_key_password_env"),
        ] {
            let mut s = s.clone();
            s.properties.insert(property.into(), "x".into());
            let (k, msg) = typed_property(&s).unwrap();
            assert_eq!(k, property);
            assert!(msg.contains(key), "{msg}");
        }
    }

    /// SSL settings with a client certificate whose key is encrypted, its password in `var`.
    fn with_encrypted_key(dir: &Path, var: &str) -> KafkaSettings {
        let (cert, key) = (dir.join("client.pem"), dir.join("client.key"));
        std::fs::write(&cert, "cert").unwrap();
        let pem =
            "-----BEGIN ENCRYPTED PRIVATE KEY-----\nMIIB\n-----END ENCRYPTED PRIVATE KEY-----\n";
        std::fs::write(&key, pem).unwrap();
        KafkaSettings {
            security_protocol: SecurityProtocol::Ssl,
            ssl_cert: Some(cert),
            ssl_key: Some(key),
            ssl_key_password_env: Some(var.into()),
            ..KafkaSettings::default()
        }
    }

    #[test]
    fn a_key_password_is_read_from_its_source_and_never_shown() {
        let mut env = Env::given([]);
        let dir = tempfile::tempdir().unwrap();
        let var = "PUBDUEL_TEST_KAFKA_KEY_PW";
        let s = with_encrypted_key(dir.path(), var);
        let e = validate(&s, &env).unwrap_err();
        assert_eq!(e.0, "ssl_key_password_env");
        assert!(e.1.contains(var) && e.1.contains("not set"), "{}", e.1);
        env = Env::given([(var, "key-pw-value")]);
        assert!(validate(&s, &env).is_ok());
        let mut c = ClientConfig::new();
        apply(&s, &mut c, &env).unwrap();
        assert_eq!(c.get("ssl.key.password"), Some("key-pw-value"));
        assert!(!format!("{c:?}").contains("key-pw-value"), "{c:?}");
        assert!(!format!("{:?}", s.redacted()).contains("key-pw-value"));
        env = Env::given([]);
        let pw_file = dir.path().join("key-pw");
        std::fs::write(&pw_file, "from-file\n").unwrap();
        let from_file = KafkaSettings {
            ssl_key_password_env: None,
            ssl_key_password_file: Some(pw_file.clone()),
            ..s.clone()
        };
        let mut c = ClientConfig::new();
        apply(&from_file, &mut c, &env).unwrap();
        assert_eq!(c.get("ssl.key.password"), Some("from-file"));
        let both = KafkaSettings {
            ssl_key_password_file: Some(pw_file),
            ..s.clone()
        };
        assert!(validate(&both, &env).unwrap_err().1.contains("not both"));
    }

    #[test]
    fn a_key_password_needs_a_key_and_tls() {
        let env = Env::given([]);
        let dir = tempfile::tempdir().unwrap();
        let s = with_encrypted_key(dir.path(), "PUBDUEL_TEST_KAFKA_KEY_PW_UNSET");
        let no_password = KafkaSettings {
            ssl_key_password_env: None,
            ..s.clone()
        };
        let e = validate(&no_password, &env).unwrap_err();
        assert_eq!(e.0, "ssl_key");
        assert!(e.1.contains("is encrypted"), "{}", e.1);
        let plain_key = no_password.ssl_key.clone().unwrap();
        std::fs::write(&plain_key, "-----BEGIN PRIVATE KEY-----\n").unwrap();
        assert!(validate(&no_password, &env).is_ok());
        let no_key = KafkaSettings {
            ssl_cert: None,
            ssl_key: None,
            ..s.clone()
        };
        let e = validate(&no_key, &env).unwrap_err();
        assert_eq!(e.0, "ssl_key_password_env");
        assert!(e.1.contains("ssl_key is not"), "{}", e.1);
        let plain = KafkaSettings {
            security_protocol: SecurityProtocol::Plaintext,
            ..no_key
        };
        let e = validate(&plain, &env).unwrap_err();
        assert_eq!(e.0, "ssl_key_password_env");
        assert!(e.1.contains("TLS needs SSL"), "{}", e.1);
        let pw = dir.path().join("pw");
        std::fs::write(&pw, "pw").unwrap();
        let sasl_plain = KafkaSettings {
            sasl_password_env: None,
            sasl_password_file: Some(pw.clone()),
            ssl_key_password_file: Some(pw),
            ..sasl("PUBDUEL_TEST_KAFKA_KEY_PW_UNSET")
        };
        assert_eq!(
            validate(&sasl_plain, &env).unwrap_err().0,
            "ssl_key_password_file"
        );
    }
}
