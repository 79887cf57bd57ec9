//! Precedence and validation of the resolved run settings.

use super::*;
use crate::brokers::BrokerSettings;
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
    let (kafka, nats) = (c.lanes[0].knobs, c.lanes[1].knobs);
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
        c.lanes[1].knobs.ack,
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
    assert_eq!(c.lanes[0].kind, LaneKind::Nats);
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

#[test]
fn named_lanes_resolve_with_their_own_settings_and_lanes_picks_them_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("linger.toml");
    std::fs::write(
        &p,
        "lanes = [\"k0\", \"k5\"]\nack = \"sync\"\n[lane.k0]\nkind = \"kafka\"\n\
         [lane.k0.kafka]\nlinger_ms = 0\n[lane.k5]\nkind = \"kafka\"\n\
         [[assert]]\nexpr = \"k0.ack.p99 < 1s\"\n",
    )
    .unwrap();
    let path = p.to_str().unwrap();
    let c = RunConfig::resolve(&cli(&["--profile", path, "--kafka", "h:1"]), true).unwrap();
    let names: Vec<&str> = c.lanes.iter().map(|l| l.name.as_str()).collect();
    assert_eq!(names, ["k0", "k5"]);
    let kafka = |i: usize| match c.broker(&c.lanes[i]) {
        BrokerSettings::Kafka(k) => k,
        other => panic!("{other:?}"),
    };
    assert_eq!((kafka(0).linger_ms, kafka(1).linger_ms), (0, 5));
    assert_eq!(
        (kafka(0).topic, kafka(1).topic),
        ("pubduel-k0".into(), "pubduel-k5".into())
    );
    assert_eq!(
        kafka(1).bootstrap,
        "h:1",
        "the flag reaches every lane of the kind"
    );
    let c = RunConfig::resolve(&cli(&["--profile", path, "--lanes", "k5"]), true).unwrap();
    assert_eq!(c.lanes.len(), 1);
    assert_eq!(
        (c.lanes[0].name.as_str(), c.lanes[0].kind),
        ("k5", LaneKind::Kafka)
    );
    let e = RunConfig::resolve(&cli(&["--profile", path, "--lanes", "k9"]), true).unwrap_err();
    assert!(
        e.to_string()
            .contains("unknown lane `k9` (this run has k0, k5)"),
        "{e}"
    );
    let e = RunConfig::resolve(
        &cli(&["--profile", path, "--assert", "k7.ack.p99 < 1s"]),
        true,
    )
    .unwrap_err();
    assert!(
        e.to_string().contains("--assert") && e.to_string().contains("k7"),
        "{e}"
    );
}

#[test]
fn agents_come_from_the_flags_over_the_profile() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("p.toml");
    std::fs::write(
        &p,
        "[agents]\ncount = 3\ncontrol = \"nats://c:4222\"\nmax_lost = 1\n\
         weights = { a1 = 3, a2 = 2 }\n",
    )
    .unwrap();
    let path = p.to_str().unwrap();
    let c = RunConfig::resolve(&cli(&["--profile", path]), true).unwrap();
    let a = c.agents.unwrap();
    assert_eq!(a.want, AgentsArg::Count(3));
    assert_eq!((a.control.as_str(), a.max_lost), ("nats://c:4222", Some(1)));
    assert_eq!(a.wait, DEFAULT_AGENT_WAIT);
    let c = RunConfig::resolve(&cli(&["--profile", path, "--agents", "a1,a2"]), true).unwrap();
    assert_eq!(
        c.agents.unwrap().want,
        AgentsArg::Names(vec!["a1".into(), "a2".into()])
    );
    assert!(RunConfig::resolve(&cli(&[]), true)
        .unwrap()
        .agents
        .is_none());
    let e = RunConfig::resolve(&cli(&["--agents", "2", "--control", ""]), true).unwrap_err();
    assert!(e.to_string().contains("--control"), "{e}");
    assert!(Cli::try_parse_from(["pubduel", "--agents", "0"]).is_err());
    // Weights: the flag's over the profile's, name by name; none without agents; 1 or more.
    let args = ["--profile", path, "--agent-weights", "a2=5,a3=1"];
    let w = RunConfig::resolve(&cli(&args), true)
        .unwrap()
        .agents
        .unwrap()
        .weights;
    assert_eq!(
        w.into_iter().collect::<Vec<_>>(),
        [("a1".into(), 3), ("a2".into(), 5), ("a3".into(), 1)]
    );
    let e = RunConfig::resolve(&cli(&["--agent-weights", "a1=2"]), true).unwrap_err();
    assert!(e.to_string().contains("--agents"), "{e}");
    for bad in ["a1", "a1=0", "a1=x", "a 1=2"] {
        assert!(
            Cli::try_parse_from(["pubduel", "--agent-weights", bad]).is_err(),
            "{bad}"
        );
    }
}

#[test]
fn metrics_listen_is_host_and_port_on_runs_capacity_and_agents() {
    let c = RunConfig::resolve(&cli(&["--metrics-listen", " [::1]:9464 "]), true).unwrap();
    assert_eq!(c.metrics_listen.as_deref(), Some("[::1]:9464"));
    assert_eq!(
        RunConfig::resolve(&cli(&[]), true).unwrap().metrics_listen,
        None
    );
    for bad in ["9464", "host", ":9464", "host:port", "host:65536"] {
        let e = Cli::try_parse_from(["pubduel", "--metrics-listen", bad]).unwrap_err();
        assert!(e.to_string().contains("--metrics-listen"), "{bad}: {e}");
    }
    let capacity = ["pubduel", "capacity", "--slo", "ack.p99 < 5ms"];
    let with = |more: &[&'static str]| Cli::try_parse_from([&capacity[..], more].concat());
    match with(&["--metrics-listen", "0.0.0.0:1"]).unwrap().command() {
        Command::Capacity(c) => assert_eq!(c.run.metrics_listen.as_deref(), Some("0.0.0.0:1")),
        other => panic!("not capacity: {other:?}"),
    }
    let agent = ["pubduel", "agent", "--control", "nats://c:4222"];
    match Cli::try_parse_from([&agent[..], &["--metrics-listen", "0.0.0.0:2"]].concat())
        .unwrap()
        .command()
    {
        Command::Agent(a) => assert_eq!(a.metrics_listen.as_deref(), Some("0.0.0.0:2")),
        other => panic!("not an agent: {other:?}"),
    }
}

#[test]
fn repeated_runs_number_their_files() {
    assert_eq!(
        numbered(Path::new("out/run.toml"), 2),
        Path::new("out/run-2.toml")
    );
    assert_eq!(numbered(Path::new("run"), 1), Path::new("run-1"));
    let dir = tempfile::tempdir().unwrap();
    let (report, hlog) = (dir.path().join("r.toml"), dir.path().join("r.hlog"));
    let (report, hlog) = (report.to_str().unwrap(), hlog.to_str().unwrap());
    let args = cli(&["--report", report, "--hlog", hlog, "--repeat", "3"]);
    assert_eq!(args.repeat, Some(3));
    let cfg = RunConfig::resolve(&args, true).unwrap();
    let third = cfg.repetition(3);
    assert_eq!(third.report, Some(dir.path().join("r-3.toml")));
    assert_eq!(third.export.hlog, Some(dir.path().join("r-3.hlog")));
    assert_eq!(third.export.series, None);
    assert_eq!(third.duration, cfg.duration);
    let zero = Cli::try_parse_from(["pubduel", "--repeat", "0"]).unwrap_err();
    assert!(
        zero.to_string().contains("must be 1 or more runs"),
        "{zero}"
    );
}
