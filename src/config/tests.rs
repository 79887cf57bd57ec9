//! Precedence and validation of the resolved run settings.

use super::*;
use crate::cli::{Cli, Command};
use crate::vocab::AckStrategy;
use clap::Parser;

fn cli(args: &[&str]) -> RunArgs {
    let mut all = vec!["pubduel"];
    all.extend_from_slice(args);
    match Cli::try_parse_from(all).unwrap().command() {
        Command::Run(r) => *r,
        other => panic!("not a run: {other:?}"),
    }
}

#[test]
fn flags_beat_profile_beat_defaults() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("p.toml");
    std::fs::write(
        &p,
        "concurrency = 7\nrate = 50\n[lane.nats]\nack = \"task-per-message\"\nmax_pending = 4000\n",
    )
    .unwrap();
    let c = RunConfig::resolve(
        &cli(&["--profile", p.to_str().unwrap(), "--rate", "99"]),
        true,
    )
    .unwrap();
    let (kafka, nats) = (c.lanes[0].1, c.lanes[1].1);
    assert_eq!(
        (kafka.concurrency, kafka.rate, kafka.ack),
        (7, 99, AckStrategy::Async)
    );
    assert_eq!(
        (nats.ack, nats.max_pending),
        (AckStrategy::TaskPerMessage, 4000)
    );
    assert_eq!(kafka.max_pending, Knobs::default().max_pending);
    assert_eq!(c.profile_name, "p");
    assert_eq!(c.duration, Some(HEADLESS_DEFAULT_DURATION));
    let c = RunConfig::resolve(
        &cli(&["--profile", p.to_str().unwrap(), "--ack", "sync"]),
        false,
    )
    .unwrap();
    assert_eq!(
        c.lanes[1].1.ack,
        AckStrategy::Sync,
        "a flag overrides per-lane profile knobs"
    );
    assert_eq!(c.duration, None);
}

#[test]
fn zero_concurrency_is_a_flag_error() {
    let e = RunConfig::resolve(&cli(&["--concurrency", "0"]), true).unwrap_err();
    assert!(e.to_string().starts_with("--concurrency:"), "{e}");
}

#[test]
fn lanes_and_addresses() {
    let c = RunConfig::resolve(
        &cli(&[
            "--lanes",
            "nats",
            "--nats",
            "nats://127.0.0.1:1",
            "--kafka",
            "h:1",
        ]),
        true,
    )
    .unwrap();
    assert_eq!(c.lanes.len(), 1);
    assert_eq!(c.lanes[0].0, LaneKind::Nats);
    assert_eq!(c.nats.url, "nats://127.0.0.1:1");
    assert_eq!(c.kafka.bootstrap, "h:1");
}

#[test]
fn a_warm_up_longer_than_the_run_is_refused() {
    let e = RunConfig::resolve(&cli(&["--warmup", "5s", "--duration", "2s"]), true)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("--warmup") && e.contains("longer than the run"),
        "{e}"
    );
    assert!(RunConfig::resolve(&cli(&["--warmup", "2s", "--duration", "2s"]), true).is_ok());
}
