//! Secured clusters, for real: a nats-server with TLS and a user, and an Apache Kafka node with a
//! SASL_PLAINTEXT (SCRAM-SHA-256) and an SSL listener, both started by the test on free loopback
//! ports with certificates it makes (rcgen). pubduel publishes through each; a wrong password, an
//! untrusted CA and TLS on one side only fail at connect, within seconds, naming the cause; and no
//! output of a run (stdout, stderr, report, log file, `--dry-run`) holds the secret.
//!
//! One broker of each kind serves all of its cases, which run one after the other (the failures
//! at once), so the suite takes about as long as a Kafka start and a few short runs.

use pubduel::brokers::kafka::{self, KafkaSettings, SaslMechanism, SecurityProtocol};
use pubduel::brokers::nats::{self, NatsSettings};
use pubduel::brokers::{BrokerError, Message, Publisher};
use pubduel::report::Report;
use pubduel::testkit::{self, KafkaSecurity, TestNames};
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

/// How long a refused connection may take to be reported.
const FAST: Duration = Duration::from_secs(5);

/// Certificates made for one test: a CA and a server certificate for 127.0.0.1 it signed, and a
/// second CA that signed nothing the servers show.
struct Pki {
    dir: tempfile::TempDir,
    /// The CA that signed the servers' certificates (PEM).
    ca: PathBuf,
    /// A CA nobody's certificate comes from (PEM).
    other_ca: PathBuf,
    /// The server certificate (PEM).
    cert: PathBuf,
    /// Its private key (PKCS#8 PEM).
    key: PathBuf,
    /// Key, certificate and CA in one PEM file: Kafka's keystore.
    keystore: PathBuf,
}

fn ca(name: &str) -> (rcgen::Certificate, KeyPair) {
    let key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(DnType::CommonName, name);
    (params.self_signed(&key).unwrap(), key)
}

impl Pki {
    fn new() -> Pki {
        let dir = tempfile::tempdir().unwrap();
        let (ca_cert, ca_key) = ca("pubduel test CA");
        let (other, _) = ca("pubduel other CA");
        let key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::new(vec!["127.0.0.1".into(), "localhost".into()])
            .expect("names for a certificate");
        params
            .distinguished_name
            .push(DnType::CommonName, "127.0.0.1");
        let cert = params.signed_by(&key, &ca_cert, &ca_key).unwrap();
        let write = |name: &str, text: String| {
            let path = dir.path().join(name);
            std::fs::write(&path, text).unwrap();
            path
        };
        Pki {
            ca: write("ca.pem", ca_cert.pem()),
            other_ca: write("other-ca.pem", other.pem()),
            cert: write("server.pem", cert.pem()),
            key: write("server.key", key.serialize_pem()),
            keystore: write(
                "keystore.pem",
                format!("{}{}{}", key.serialize_pem(), cert.pem(), ca_cert.pem()),
            ),
            dir,
        }
    }

    /// Writes `text` to a file of this test's folder and returns its path.
    fn file(&self, name: &str, text: &str) -> PathBuf {
        let path = self.dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path
    }
}

/// A secret no other run uses, of letters and digits.
fn secret(tag: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!("{tag}S3cret{}x{nanos}", std::process::id())
}

/// One headless run of the binary: its outputs, and the files it was told to write.
struct Run {
    output: Output,
    report: PathBuf,
    log: PathBuf,
    took: Duration,
}

impl Run {
    fn text(&self) -> String {
        format!(
            "{}{}",
            String::from_utf8_lossy(&self.output.stdout),
            String::from_utf8_lossy(&self.output.stderr)
        )
    }

    fn acked(&self, lane: &str) -> u64 {
        let r = Report::load(&self.report).unwrap_or_else(|e| panic!("{e}\n{}", self.text()));
        (r.phases.iter().flat_map(|p| &p.lanes))
            .filter(|l| l.name == lane)
            .map(|l| l.acked)
            .sum()
    }

    /// Fails when `secret` shows up in stdout, stderr, the report or the log file.
    fn assert_no_leak(&self, secret: &str) {
        assert!(!self.text().contains(secret), "the secret is in the output");
        for file in [&self.report, &self.log] {
            let text = std::fs::read_to_string(file).unwrap_or_default();
            assert!(
                !text.contains(secret),
                "the secret is in {}",
                file.display()
            );
        }
    }
}

/// Runs `pubduel` headless with the profile `text` (written to `dir/<tag>.toml`), `args` after
/// it, `env` set, and debug logging on (so the logs a user could turn on are checked too).
fn pubduel(dir: &Path, tag: &str, text: &str, args: &[&str], env: &[(&str, &str)]) -> Run {
    let profile = dir.join(format!("{tag}.toml"));
    std::fs::write(&profile, text).unwrap();
    let (report, log) = (
        dir.join(format!("{tag}-report.toml")),
        dir.join(format!("{tag}.log")),
    );
    let t0 = Instant::now();
    let output = Command::new(env!("CARGO_BIN_EXE_pubduel"))
        .arg("--headless")
        .arg("--profile")
        .arg(&profile)
        .arg("--report")
        .arg(&report)
        .arg("--log-file")
        .arg(&log)
        .args(args)
        .env_remove("PUBDUEL_KAFKA")
        .env_remove("PUBDUEL_NATS")
        .env("RUST_LOG", "debug")
        .envs(env.iter().copied())
        .output()
        .expect("the binary runs");
    Run {
        output,
        report,
        log,
        took: t0.elapsed(),
    }
}

/// What `--dry-run` prints for the profile `text`, asserting it succeeds.
fn dry_run(dir: &Path, text: &str, env: &[(&str, &str)]) -> String {
    let profile = dir.join("dry.toml");
    std::fs::write(&profile, text).unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_pubduel"))
        .arg("--profile")
        .arg(&profile)
        .arg("--dry-run")
        .envs(env.iter().copied())
        .output()
        .expect("the binary runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(o.status.success(), "{text}");
    text
}

/// Publishes `n` messages through `p` and waits for every ack.
async fn publish_acked(p: &dyn Publisher, n: u64) {
    for seq in 0..n {
        let msg = Message {
            seq,
            payload: bytes::Bytes::from_static(b"secured"),
        };
        let ack = p.submit(&msg).await.expect("the client takes the message");
        ack.await.expect("the broker acks the message");
    }
}

/// Awaits a connect that must be refused at once, and returns its error's text.
async fn refused<T>(
    what: &str,
    connect: impl std::future::Future<Output = Result<T, BrokerError>>,
) -> String {
    let t0 = Instant::now();
    let Err(e) = connect.await else {
        panic!("{what}: connected");
    };
    let took = t0.elapsed();
    assert!(took < FAST, "{what}: reported after {took:?}: {e}");
    e.to_string()
}

/// The profile of a NATS-only run on these names, with `extra` keys in `[nats]`.
fn nats_profile(names: &TestNames, extra: &str) -> String {
    format!(
        "lanes = [\"nats\"]\nrate = 200\nwarmup = \"0s\"\n[nats]\nstream = \"{}\"\n\
         subject = \"{}\"\n{extra}",
        names.stream, names.subject
    )
}

/// Runs the binary on the profile `text` with `env`, and checks that the lane published and that
/// no output, nor `--dry-run`, holds `secret`.
fn publishes_and_leaks_nothing(
    pki: &Pki,
    tag: &str,
    text: &str,
    env: &[(&str, &str)],
    secret: &str,
) {
    let lane = if text.contains("[\"nats\"]") {
        "nats"
    } else {
        "kafka"
    };
    let run = pubduel(
        pki.dir.path(),
        tag,
        text,
        &["--duration", "2s", "--e2e"],
        env,
    );
    assert!(run.output.status.success(), "{}", run.text());
    assert!(run.acked(lane) > 0, "{}", run.text());
    run.assert_no_leak(secret);
    assert!(!dry_run(pki.dir.path(), text, env).contains(secret));
}

/// Runs the binary on the profile `text` with a wrong password in `var`, checks that it fails
/// fast with exit 1 saying `says`, and returns what it printed.
fn a_wrong_password_fails_fast(pki: &Pki, tag: &str, text: &str, var: &str, says: &str) -> String {
    let wrong = secret("wrong");
    let run = pubduel(
        pki.dir.path(),
        tag,
        text,
        &["--duration", "2s"],
        &[(var, &wrong)],
    );
    assert_eq!(run.output.status.code(), Some(1), "{}", run.text());
    assert!(run.took < FAST, "a wrong password took {:?}", run.took);
    assert!(run.text().contains(says), "{}", run.text());
    run.assert_no_leak(&wrong);
    run.text()
}

#[test]
fn nats_over_tls_with_a_user_and_password() {
    let pki = Pki::new();
    let pw = secret("nats");
    let server = testkit::start_nats_with_config(&format!(
        "tls {{ cert_file: \"{}\", key_file: \"{}\" }}\n\
         authorization {{ users = [ {{ user: alice, password: \"{pw}\" }} ] }}\n",
        pki.cert.display(),
        pki.key.display()
    ))
    .expect("nats-server with TLS starts");
    let url = format!("tls://127.0.0.1:{}", server.port);
    let names = TestNames::new("secured-nats");
    let var = "PUBDUEL_TEST_NATS_PASSWORD";
    let ca = format!("tls_ca = \"{}\"\n", pki.ca.display());
    let profile = nats_profile(
        &names,
        &format!("url = \"{url}\"\nuser = \"alice\"\npassword_env = \"{var}\"\n{ca}"),
    );
    publishes_and_leaks_nothing(&pki, "nats-tls", &profile, &[(var, &pw)], &pw);
    // A login in the URL (here from PUBDUEL_NATS) works as well, and shows nowhere either.
    let with_login = format!("tls://alice:{pw}@127.0.0.1:{}", server.port);
    let env = [("PUBDUEL_NATS", with_login.as_str())];
    publishes_and_leaks_nothing(
        &pki,
        "nats-url-login",
        &nats_profile(&names, &ca),
        &env,
        &pw,
    );
    let wrong =
        a_wrong_password_fails_fast(&pki, "nats-wrong", &profile, var, "authorization violation");

    let settings = NatsSettings {
        url,
        stream: names.stream.clone(),
        subject: names.subject.clone(),
        user: Some("alice".into()),
        password_file: Some(pki.file("nats-pw", &pw)),
        tls_ca: Some(pki.other_ca.clone()),
        ..NatsSettings::default()
    };
    let (untrusted, no_tls) = nats_refusals(&pki, settings);
    println!("wrong password: {wrong}\nuntrusted CA: {untrusted}\nno TLS: {no_tls}");
}

/// Connects with `settings` (which trust another CA than the server's), and then through a
/// `tls://` URL to a nats-server without TLS: both are refused at once, naming the cause.
fn nats_refusals(pki: &Pki, settings: NatsSettings) -> (String, String) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let untrusted = rt.block_on(refused("an untrusted CA", nats::connect(&settings)));
    let named = untrusted.contains("certificate") && untrusted.contains("tls_ca");
    assert!(named, "{untrusted}");
    let plain = testkit::start_nats().expect("a plain nats-server starts");
    let settings = NatsSettings {
        url: format!("tls://127.0.0.1:{}", plain.port),
        tls_ca: Some(pki.ca.clone()),
        ..settings
    };
    let no_tls = rt.block_on(refused("TLS the server lacks", nats::connect(&settings)));
    assert!(no_tls.contains("TLS"), "{no_tls}");
    (untrusted, no_tls)
}

/// Settings of a Kafka lane on `addr` with these names.
fn kafka_settings(names: &TestNames, addr: String) -> KafkaSettings {
    KafkaSettings {
        bootstrap: addr,
        topic: names.topic.clone(),
        partitions: 1,
        ..KafkaSettings::default()
    }
}

#[test]
fn kafka_over_sasl_scram_and_ssl() {
    let pki = Pki::new();
    let pw = secret("kafka");
    let kafka = testkit::start_secured_kafka(&KafkaSecurity {
        scram_user: "alice".into(),
        scram_password: pw.clone(),
        keystore: pki.keystore.clone(),
    })
    .expect("Kafka with SASL and SSL listeners starts");
    let names = TestNames::new("secured-kafka");
    let var = "PUBDUEL_TEST_KAFKA_PASSWORD";
    let profile = format!(
        "lanes = [\"kafka\"]\nrate = 200\nwarmup = \"0s\"\n[kafka]\nbootstrap = \"{}\"\n\
         topic = \"{}\"\npartitions = 1\nsecurity_protocol = \"SASL_PLAINTEXT\"\n\
         sasl_mechanism = \"SCRAM-SHA-256\"\nsasl_username = \"alice\"\nsasl_password_env = \"{var}\"\n",
        kafka.sasl_addr(),
        names.topic
    );
    publishes_and_leaks_nothing(&pki, "kafka-sasl", &profile, &[(var, &pw)], &pw);
    a_wrong_password_fails_fast(&pki, "kafka-wrong", &profile, var, "Authentication failed");

    let rt = tokio::runtime::Runtime::new().unwrap();
    let ssl = KafkaSettings {
        security_protocol: SecurityProtocol::Ssl,
        ssl_ca: Some(pki.ca.clone()),
        ..kafka_settings(&names, kafka.ssl_addr())
    };
    rt.block_on(async {
        let publisher = kafka::connect(&ssl).await.expect("connects over SSL");
        publish_acked(publisher.as_ref(), 20).await;
    });
    let wrong = KafkaSettings {
        security_protocol: SecurityProtocol::SaslPlaintext,
        sasl_mechanism: Some(SaslMechanism::ScramSha256),
        sasl_username: Some("alice".into()),
        sasl_password_file: Some(pki.file("kafka-wrong-pw", &format!("wrong{pw}"))),
        ..kafka_settings(&names, kafka.sasl_addr())
    };
    rt.block_on(kafka_refusals(&pki, wrong, ssl));
}

/// Connects with a wrong password (`wrong`), with `ssl` trusting another CA, and without TLS to
/// the SSL listener, all at once: each is refused at once, naming the cause.
async fn kafka_refusals(pki: &Pki, wrong: KafkaSettings, ssl: KafkaSettings) {
    let untrusted = KafkaSettings {
        ssl_ca: Some(pki.other_ca.clone()),
        ..ssl.clone()
    };
    let plain_on_ssl = KafkaSettings {
        security_protocol: SecurityProtocol::Plaintext,
        ssl_ca: None,
        ..ssl
    };
    let (wrong, untrusted, plain_on_ssl) = tokio::join!(
        refused("a wrong password", kafka::connect(&wrong)),
        refused("an untrusted CA", kafka::connect(&untrusted)),
        refused(
            "PLAINTEXT on an SSL listener",
            kafka::connect(&plain_on_ssl)
        ),
    );
    let named = wrong.contains("Authentication failed") && wrong.contains("sasl_password_env");
    assert!(named, "{wrong}");
    let named = untrusted.contains("certificate") && untrusted.contains("ssl_ca");
    assert!(named, "{untrusted}");
    assert!(plain_on_ssl.contains("security_protocol"), "{plain_on_ssl}");
    println!(
        "wrong password: {wrong}\nuntrusted CA: {untrusted}\nPLAINTEXT on SSL: {plain_on_ssl}"
    );
}

#[test]
fn secrets_in_the_profile_are_checked_before_any_run() {
    let dir = tempfile::tempdir().unwrap();
    let profile = "lanes = [\"kafka\"]\n[kafka]\nsecurity_protocol = \"SASL_SSL\"\n\
                   sasl_mechanism = \"PLAIN\"\nsasl_username = \"u\"\n\
                   sasl_password_env = \"PUBDUEL_TEST_NEVER_SET\"\n";
    let run = pubduel(dir.path(), "unset", profile, &["--dry-run"], &[]);
    assert_eq!(run.output.status.code(), Some(2), "{}", run.text());
    assert!(
        run.text().contains("PUBDUEL_TEST_NEVER_SET is not set"),
        "{}",
        run.text()
    );
    let inline = "[kafka]\nsecurity_protocol = \"SASL_SSL\"\nsasl_password = \"hunter2\"\n";
    let run = pubduel(dir.path(), "inline", inline, &["--dry-run"], &[]);
    assert_eq!(run.output.status.code(), Some(2), "{}", run.text());
    assert!(
        run.text().contains("sasl_password_file") && !run.text().contains("hunter2"),
        "{}",
        run.text()
    );
}
