//! `--metrics-listen`: a headless run on real brokers serves its live metrics over HTTP while it
//! goes on, and an address that cannot be listened on is refused (exit 2) before any broker or
//! control server is tried.
//!
//! The run uses the test binary's shared Apache Kafka and nats-server
//! (`pubduel::testkit::shared`), with its own topic and stream.

use pubduel::testkit::{self, lines_of, text, TestNames};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

fn pubduel(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_pubduel"))
        .args(args)
        .env_remove("PUBDUEL_KAFKA")
        .env_remove("PUBDUEL_NATS")
        .env_remove("PUBDUEL_CONTROL")
        .output()
        .expect("the binary runs")
}

/// Reads `lines` (keeping them in `seen`) until `want` picks something out of one, for up to a
/// minute.
fn wait_for<T>(
    lines: &mpsc::Receiver<String>,
    seen: &mut Vec<String>,
    want: impl Fn(&str) -> Option<T>,
) -> T {
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        match lines.recv_timeout(Duration::from_millis(200)) {
            Ok(line) => {
                let found = want(&line);
                seen.push(line);
                if let Some(v) = found {
                    return v;
                }
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
        }
    }
    panic!("not seen in time:\n{}", seen.join("\n"));
}

/// `GET path` on `addr`: the response's head and body.
fn get(addr: &str, path: &str) -> (String, String) {
    let mut s = TcpStream::connect(addr).expect("the metrics endpoint answers");
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    write!(s, "GET {path} HTTP/1.1\r\nHost: {addr}\r\n\r\n").unwrap();
    let mut response = String::new();
    s.read_to_string(&mut response).unwrap();
    let (head, body) = response.split_once("\r\n\r\n").expect("a head and a body");
    (head.to_string(), body.to_string())
}

/// The value of `pubduel_acked_total` for `lane` in a scrape.
fn acked(body: &str, lane: &str) -> u64 {
    let prefix = format!("pubduel_acked_total{{lane=\"{lane}\"}} ");
    (body.lines())
        .find_map(|l| l.strip_prefix(&prefix))
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no {prefix}in\n{body}"))
}

#[test]
fn a_headless_run_serves_both_lanes_live_metrics_that_grow_between_scrapes() {
    let b = testkit::shared();
    let dir = tempfile::tempdir().unwrap();
    let profile = dir.path().join("live.toml");
    std::fs::write(&profile, TestNames::new("live").profile()).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_pubduel"))
        .args(["run", "--headless", "--rate", "500", "--duration", "8s"])
        .args(["--warmup", "1s", "--metrics-listen", "127.0.0.1:0"])
        .arg("--profile")
        .arg(&profile)
        .env("PUBDUEL_KAFKA", b.kafka_addr())
        .env("PUBDUEL_NATS", b.nats_url())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let lines = lines_of(child.stdout.take().unwrap());
    let errors = lines_of(child.stderr.take().unwrap());
    let mut seen = Vec::new();
    let addr = wait_for(&lines, &mut seen, |l| {
        let rest = l.strip_prefix("metrics at http://")?;
        rest.strip_suffix("/metrics").map(str::to_string)
    });
    // Both lanes have reported two seconds of publishing (kafka's line comes first).
    for _ in 0..2 {
        wait_for(&lines, &mut seen, |l| {
            (l.starts_with('[') && l.contains("] nats ")).then_some(())
        });
    }
    let (head, first) = get(&addr, "/metrics");
    std::thread::sleep(Duration::from_millis(1500));
    let (_, second) = get(&addr, "/metrics");
    let (missing, _) = get(&addr, "/");
    let status = child.wait().unwrap();
    let said = format!(
        "{}\n{}",
        seen.join("\n"),
        errors.try_iter().collect::<Vec<_>>().join("\n")
    );
    assert!(status.success(), "{status}: {said}");

    assert!(head.starts_with("HTTP/1.1 200 OK"), "{head}");
    assert!(
        head.contains("Content-Type: application/openmetrics-text; version=1.0.0; charset=utf-8"),
        "{head}"
    );
    assert!(missing.starts_with("HTTP/1.1 404"), "{missing}");
    assert!(first.ends_with("# EOF\n"), "{first}");
    for lane in ["kafka", "nats"] {
        let label = format!("lane=\"{lane}\"");
        let named: Vec<&str> = (first.lines())
            .filter(|l| l.starts_with("pubduel_") && l.contains(&label))
            .collect();
        for name in [
            "pubduel_sent_total{",
            "pubduel_in_flight{",
            "pubduel_knob_rate{",
            "pubduel_interval_latency_seconds{",
        ] {
            assert!(
                named.iter().any(|l| l.starts_with(name)),
                "no {name}..{label} in\n{first}"
            );
        }
        let (before, after) = (acked(&first, lane), acked(&second, lane));
        assert!(
            before > 0 && after > before,
            "{lane}: acked {before} then {after}"
        );
    }
    let ack_p99 =
        "pubduel_interval_latency_seconds{lane=\"nats\",stage=\"ack\",quantile=\"0.99\"} ";
    assert!(first.lines().any(|l| l.starts_with(ack_p99)), "{first}");
    assert!(!first.contains(&b.nats_url()) && !first.contains(&b.kafka_addr()));
}

#[test]
fn an_address_that_cannot_be_listened_on_is_exit_2_before_any_broker_is_tried() {
    let busy = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = busy.local_addr().unwrap().to_string();
    let unreachable = ["--kafka", "127.0.0.1:1", "--nats", "nats://127.0.0.1:1"];
    let runs: [Vec<&str>; 3] = [
        [&["--headless", "--duration", "3s"][..], &unreachable].concat(),
        [
            &["capacity", "--headless", "--slo", "ack.p99 < 10ms"][..],
            &unreachable,
        ]
        .concat(),
        vec!["agent", "--control", "nats://127.0.0.1:1"],
    ];
    for args in runs {
        let args = [&args[..], &["--metrics-listen", &addr]].concat();
        let t0 = Instant::now();
        let o = pubduel(&args);
        // An unreachable broker would be exit 1, and take longer to find out.
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", text(&o));
        assert!(
            t0.elapsed() < Duration::from_secs(3),
            "{args:?} took {:?}",
            t0.elapsed()
        );
        let said = text(&o);
        assert!(
            said.contains(&format!("--metrics-listen {addr}: cannot listen there")),
            "{args:?}: {said}"
        );
        assert!(!said.contains("metrics at"), "{said}");
    }
    for bad in ["9464", "localhost", ":9464", "127.0.0.1:99999"] {
        let o = pubduel(&["--headless", "--dry-run", "--metrics-listen", bad]);
        assert_eq!(o.status.code(), Some(2), "{bad}: {}", text(&o));
        assert!(text(&o).contains("--metrics-listen"), "{bad}: {}", text(&o));
    }
    let o = pubduel(&[
        "--headless",
        "--dry-run",
        "--metrics-listen",
        "0.0.0.0:9464",
    ]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        text(&o).contains("metrics_listen = \"0.0.0.0:9464\""),
        "{}",
        text(&o)
    );
}
