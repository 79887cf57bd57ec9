//! Secured clusters, for real: nats-servers with TLS (mutual, and before the server's first
//! message) and every login (user and password, token, nkey, creds in operator mode), and an Apache
//! Kafka node with SASL_PLAINTEXT and SASL_SSL (SCRAM-SHA-256), SSL and mutual-TLS listeners, all
//! started by the test on free loopback ports with certificates it makes (rcgen). pubduel
//! publishes through each; a wrong password, key or certificate, an untrusted CA and TLS on one
//! side only fail at connect, within seconds, naming the cause; and no output of a run (stdout,
//! stderr, report, log file, `--dry-run`) holds the secret.
//!
//! One Kafka node serves all of its cases, which run one after the other (the failures at once);
//! the nats-servers start in milliseconds, one per kind of login or TLS. The suite takes about as
//! long as a Kafka start and a few short runs.

mod creds;
mod kafka;
mod nats;
mod pki;

use pki::Pki;
use pubduel::brokers::{BrokerError, Message, Publisher};
use pubduel::report::Report;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

/// How long a refused connection may take to be reported.
const FAST: Duration = Duration::from_secs(5);

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
        let msg = Message::plain(seq, bytes::Bytes::from_static(b"secured"));
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
    an_encrypted_key_needs_its_password(dir.path());
}

/// An encrypted `ssl_key` without a password source, or with the password written in the
/// profile, is refused before any run; the password shows nowhere.
fn an_encrypted_key_needs_its_password(dir: &Path) {
    let pki = Pki::new(&secret("key"));
    let ssl = format!(
        "lanes = [\"kafka\"]\n[kafka]\nsecurity_protocol = \"SSL\"\nssl_cert = \"{}\"\n\
         ssl_key = \"{}\"\n",
        pki.client_cert.display(),
        pki.client_key_encrypted.display()
    );
    let pw = &pki.client_key_password;
    // Each profile is refused by `--dry-run` (exit 2) with an error that holds `names`.
    let refused = |tag: &str, text: &str, names: &[&str]| {
        let run = pubduel(dir, tag, text, &["--dry-run"], &[]);
        assert_eq!(run.output.status.code(), Some(2), "{}", run.text());
        assert!(
            names.iter().all(|n| run.text().contains(n)),
            "{}",
            run.text()
        );
        run.assert_no_leak(pw);
    };
    refused("no-key-pw", &ssl, &["ssl_key", "is encrypted"]);
    let inline = format!("{ssl}ssl_key_password = \"{pw}\"\n");
    refused("inline-key-pw", &inline, &["ssl_key_password_env"]);
    let as_property = format!("{ssl}[kafka.properties]\n\"ssl.key.password\" = \"{pw}\"\n");
    refused("property-key-pw", &as_property, &["ssl_key_password_file"]);
}
