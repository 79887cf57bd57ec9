//! The real binary's dashboard in a real terminal (tmux) against real brokers (Apache Kafka and
//! nats-server, started by `pubduel::testkit`): both lanes drawn, a knob changed by a key, a
//! snapshot written by `s`, a clean quit that writes the report.

use pubduel::report::Report;
use pubduel::testkit::{self, TestNames};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

fn on_path(program: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {program}")])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// A tmux session, killed when dropped.
struct Session(String);

impl Session {
    fn screen(&self) -> String {
        let out = Command::new("tmux")
            .args(["capture-pane", "-p", "-t", &self.0])
            .output()
            .expect("tmux capture-pane runs");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn keys(&self, keys: &str) {
        let ok = Command::new("tmux")
            .args(["send-keys", "-t", &self.0, keys])
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok, "tmux send-keys {keys}");
    }

    /// Waits until the screen satisfies `cond`; fails with the screen after `secs`.
    fn wait(&self, what: &str, secs: u64, cond: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            let s = self.screen();
            if cond(&s) {
                return s;
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}:\n{s}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .args(["kill-session", "-t", &self.0])
            .status();
    }
}

fn shell_quote(p: &Path) -> String {
    format!("'{}'", p.display().to_string().replace('\'', "'\\''"))
}

#[test]
fn dashboard_runs_steers_snapshots_and_quits_in_tmux() {
    assert!(
        on_path("tmux"),
        "tmux is needed for this test (apt-get install tmux)"
    );
    let brokers = testkit::shared();
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("final.toml");
    let profile = dir.path().join("names.toml");
    std::fs::write(&profile, TestNames::new("tui").profile()).unwrap();
    let command = format!(
        "cd {dir} && PUBDUEL_NATS={nats} PUBDUEL_KAFKA={kafka} {bin} --profile {profile} \
         --rate 300 --concurrency 4 --warmup 1s --report {report} --log-file {log}; \
         echo EXITED-$?; sleep 60",
        dir = shell_quote(dir.path()),
        profile = shell_quote(&profile),
        nats = brokers.nats_url(),
        kafka = brokers.kafka_addr(),
        bin = shell_quote(Path::new(env!("CARGO_BIN_EXE_pubduel"))),
        report = shell_quote(&report),
        log = shell_quote(&dir.path().join("pubduel.log")),
    );
    let name = format!("pubduel-test-{}", std::process::id());
    let started = Command::new("tmux")
        .args([
            "new-session",
            "-d",
            "-s",
            &name,
            "-x",
            "160",
            "-y",
            "48",
            &command,
        ])
        .status()
        .is_ok_and(|s| s.success());
    assert!(started, "tmux starts a session");
    let session = Session(name);

    let first = session.wait("both lanes with percentiles and bars", 60, |s| {
        s.contains("kafka")
            && s.contains("nats")
            && s.contains("p99")
            && s.contains("concurrency 4")
            && s.chars().any(|c| ('▁'..='█').contains(&c))
    });
    assert!(!first.contains("EXITED"), "still running:\n{first}");

    session.keys("C");
    session.wait("concurrency raised by C", 15, |s| {
        s.contains("concurrency 5")
    });
    session.keys("s");
    // The header names the profile (names.toml), so wait for the footer's own words.
    let shown = session.wait("the snapshot path", 15, |s| s.contains("report written to"));
    let snapshots: Vec<_> = std::fs::read_dir(dir.path().join("reports"))
        .expect("s creates reports/")
        .flatten()
        .collect();
    assert_eq!(snapshots.len(), 1, "one snapshot written:\n{shown}");
    let name = snapshots[0].file_name().to_string_lossy().into_owned();
    assert!(shown.contains(&name), "the screen names {name}:\n{shown}");

    session.keys("q");
    let end = session.wait("a clean exit", 60, |s| s.contains("EXITED-"));
    assert!(end.contains("EXITED-0"), "exit status 0:\n{end}");
    assert!(
        !end.contains("knob keys act on"),
        "the dashboard is gone after quit:\n{end}"
    );
    assert!(
        end.contains("p99.9") && end.contains("report written to"),
        "the summary table and the report path are printed after quit:\n{end}"
    );
    let report = Report::load(&report).expect("the final report is written on quit");
    assert!(report.phases.len() >= 2, "C opened a second phase");
}
