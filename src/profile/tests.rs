//! Profile parsing and validation: every error names its key and line.

use super::*;
use crate::brokers::nats::NatsSettings;
use crate::brokers::BrokerSettings;
use crate::vocab::AckStrategy;

fn parse(text: &str) -> Result<Profile, ProfileError> {
    Profile::parse(Path::new("p.toml"), text)
}

/// The error `text` is refused with, after checking it names `key` on `line`.
fn refused(text: &str, line: usize, key: &str) -> ProfileError {
    let e = parse(text).unwrap_err();
    assert_eq!((e.line, e.key.as_deref()), (Some(line), Some(key)), "{e}");
    e
}

#[test]
fn unknown_key_names_key_and_line() {
    let e = parse("rate = 5\nconcurency = 4\n").unwrap_err();
    assert_eq!(e.line, Some(2));
    assert_eq!(e.key.as_deref(), Some("concurency"));
    let s = e.to_string();
    assert!(
        s.starts_with("p.toml:2:1: key `concurency` (line 2)"),
        "{s}"
    );
    assert!(s.contains("did you mean `concurrency`"), "{s}");
}

#[test]
fn asserts_parse_and_a_bad_one_names_its_line() {
    let p =
        parse("[[assert]]\nexpr = \"nats.ack.p99 < 5ms\"\n[[assert]]\nexpr = \"errors == 0\"\n")
            .unwrap();
    assert_eq!(p.thresholds().unwrap().len(), 2);
    refused(
        "rate = 5\n[[assert]]\nexpr = \"ack.p99 < 5ms\"\n\n[[assert]]\nexpr = \"ack.p99 <<< 5\"\n",
        6,
        "expr",
    );
    let e = parse("[[assert]]\nexpr = \"kafak.ack.p99 < 5ms\"\n").unwrap_err();
    assert!(e.to_string().contains("unknown lane `kafak`"), "{e}");
    let e = parse("[[assert]]\nexpr = \"ack.p99 > 1.2x\"\n").unwrap_err();
    assert!(e.to_string().contains("compare"), "{e}");
    let e = parse("[[assert]]\nexp = \"ack.p99 < 5ms\"\n").unwrap_err();
    assert!(e.to_string().contains("expr"), "{e}");
}

#[test]
fn unknown_key_in_a_section() {
    let e = parse("[kafka]\ntopic = \"t\"\nlinger = 5\n").unwrap_err();
    assert_eq!(e.line, Some(3), "{e}");
    assert!(e.to_string().contains("linger"), "{e}");
}

#[test]
fn secrets_are_never_inline_and_their_sources_are_checked() {
    let e = refused(
        "[kafka]\nsecurity_protocol = \"SASL_PLAINTEXT\"\nsasl_password = \"pw\"\n",
        3,
        "sasl_password",
    );
    assert!(e.to_string().contains("sasl_password_env") && !e.to_string().contains("pw\""));
    let e = refused("[nats]\nuser = \"a\"\npassword = \"pw\"\n", 3, "password");
    assert!(e.to_string().contains("password_file"), "{e}");
    refused(
        "[kafka.properties]\n\"sasl.password\" = \"pw\"\n",
        2,
        "sasl.password",
    );
    let e = refused(
        "[kafka]\nsecurity_protocol = \"SASL_SSL\"\nsasl_mechanism = \"SCRAM-SHA-512\"\n\
         sasl_username = \"u\"\nsasl_password_env = \"PUBDUEL_TEST_UNSET_PROFILE_PW\"\n",
        5,
        "sasl_password_env",
    );
    assert!(
        e.to_string()
            .contains("PUBDUEL_TEST_UNSET_PROFILE_PW is not set"),
        "{e}"
    );
    let e = refused(
        "[kafka]\nsecurity_protocol = \"SSL\"\nssl_key_password = \"kpw\"\n",
        3,
        "ssl_key_password",
    );
    assert!(e.to_string().contains("ssl_key_password_file") && !e.to_string().contains("kpw"));
    let e = refused(
        "[kafka.properties]\n\"ssl.key.password\" = \"kpw\"\n",
        2,
        "ssl.key.password",
    );
    assert!(e.to_string().contains("ssl_key_password_env") && !e.to_string().contains("kpw"));
    refused(
        "[kafka]\nssl_key_password_env = \"KPW\"\n",
        2,
        "ssl_key_password_env",
    );
    let e = parse("[kafka]\nsecurity_protocol = \"SASL\"\n").unwrap_err();
    assert_eq!(e.line, Some(2), "{e}");
    refused("[nats]\ntls_ca = \"/nonexistent/ca.pem\"\n", 2, "tls_ca");
}

#[test]
fn wrong_type_names_line() {
    let e = parse("concurrency = \"four\"\n").unwrap_err();
    assert_eq!(e.line, Some(1), "{e}");
    assert!(e.to_string().contains("concurrency"), "{e}");
}

#[test]
fn out_of_range_names_key_and_line() {
    refused("# comment\nconcurrency = 0\n", 2, "concurrency");
    refused("[lane.nats]\nmax_pending = 0\n", 2, "max_pending");
    refused("[kafka]\nacks = \"most\"\n", 2, "acks");
}

#[test]
fn bad_duration_and_ack() {
    let e = parse("duration = \"ten\"\n").unwrap_err();
    assert_eq!(e.line, Some(1), "{e}");
    let e = parse("ack = \"fast\"\n").unwrap_err();
    assert_eq!(e.line, Some(1), "{e}");
}

#[test]
fn full_profile_parses() {
    let p = parse(
        "name = \"x\"\nduration = \"2m\"\nwarmup = \"1s\"\nlanes = [\"nats\"]\nconcurrency = 8\nack = \"task-per-message\"\n\
         [lane.kafka]\nack = \"async\"\n[kafka]\ntopic = \"t\"\n[kafka.properties]\n\"socket.nagle.disable\" = \"true\"\n\
         [nats]\nstorage = \"memory\"\n",
    )
    .unwrap();
    assert_eq!(p.duration, Some(Duration::from_secs(120)));
    assert_eq!(p.knobs.concurrency, Some(8));
    assert_eq!(p.lane_knobs("kafka").ack, Some(AckStrategy::Async));
    assert_eq!(p.lanes, Some(vec!["nats".to_string()]));
}

const LINGER: &str = "lanes = [\"k0\", \"k5\"]\nack = \"sync\"\n\
    [kafka]\nlinger_ms = 5\n\
    [lane.k0]\nkind = \"kafka\"\nconcurrency = 1\n[lane.k0.kafka]\nlinger_ms = 0\n\
    [lane.k5]\nkind = \"kafka\"\n";

#[test]
fn named_lanes_start_from_their_kinds_section_and_get_their_own_topic() {
    let p = parse(LINGER).unwrap();
    assert_eq!(p.lane_names(), ["k0", "k5"]);
    assert_eq!(p.lane_knobs("k0").concurrency, Some(1));
    let (kafka, nats) = (p.kafka.clone().unwrap(), NatsSettings::default());
    let k0 = p.lane_broker("k0", &kafka, &nats).unwrap();
    let k5 = p.lane_broker("k5", &kafka, &nats).unwrap();
    let (BrokerSettings::Kafka(k0), BrokerSettings::Kafka(k5)) = (k0, k5) else {
        panic!("both are Kafka lanes");
    };
    assert_eq!((k0.linger_ms, k5.linger_ms), (0, 5));
    assert_eq!(
        (k0.topic.as_str(), k5.topic.as_str()),
        ("pubduel-k0", "pubduel-k5")
    );
    // A profile of the default lanes reads as before.
    let p = parse("[lane.nats]\nack = \"sync\"\n").unwrap();
    assert_eq!(p.lane_names(), ["kafka", "nats"]);
    assert_eq!(p.lane_kind("nats").unwrap(), crate::vocab::LaneKind::Nats);
}

#[test]
fn bad_lanes_name_their_key_and_line() {
    let e = refused("lanes = [\"r\"]\n[lane.r]\nkind = \"rabbit\"\n", 3, "kind");
    assert!(e.to_string().contains("rabbit"), "{e}");
    let e = refused("lanes = [\"r\"]\nrate = 5\n", 1, "lanes");
    assert!(e.to_string().contains("needs kind"), "{e}");
    let e = refused(
        "lanes = [\"a\", \"a\"]\n[lane.a]\nkind = \"nats\"\n",
        1,
        "lanes",
    );
    assert!(e.to_string().contains("two lanes are named `a`"), "{e}");
    let e = refused("lanes = [\"k.0\"]\n", 1, "lanes");
    assert!(e.to_string().contains("not a lane name"), "{e}");
    refused("lanes = [\"nats\"]\n[lane.typo]\nrate = 1\n", 2, "kind");
    refused("[lane.nats]\nconcurency = 2\n", 2, "concurency");
    let e = refused(
        "lanes = [\"k0\"]\n[lane.k0]\nkind = \"kafka\"\n[lane.k0.nats]\nstream = \"S\"\n",
        4,
        "nats",
    );
    assert!(e.to_string().contains("has no [nats] settings"), "{e}");
    let e = refused(
        "lanes = [\"k0\"]\n[lane.k0]\nkind = \"kafka\"\n[lane.k0.kafka]\nlinger = 0\n",
        5,
        "linger",
    );
    assert!(e.to_string().contains("linger_ms"), "{e}");
    let e = refused(
        "lanes = [\"k0\"]\n[lane.k0]\nkind = \"kafka\"\n[lane.k0.kafka]\nacks = \"most\"\n",
        5,
        "acks",
    );
    assert!(e.to_string().contains("all, 1 or 0"), "{e}");
    refused(
        "[lane.kafka.kafka]\nsasl_password = \"x\"\n",
        2,
        "sasl_password",
    );
    let e = refused("[[assert]]\nexpr = \"k9.ack.p99 < 5ms\"\n", 2, "expr");
    assert!(e.to_string().contains("unknown lane `k9`"), "{e}");
}

#[test]
fn a_nats_atomic_batch_over_the_servers_limit_is_refused_at_its_line() {
    let e = refused(
        "lanes = [\"nats\"]\nack = \"atomic\"\nbatch = 5000\n",
        3,
        "batch",
    );
    assert!(e.to_string().contains("at most 1000"), "{e}");
    refused("[lane.nats]\nack = \"atomic\"\nbatch = 2000\n", 3, "batch");
    parse("lanes = [\"kafka\"]\nack = \"atomic\"\nbatch = 5000\n").unwrap();
    parse("ack = \"atomic\"\nbatch = 1000\n").unwrap();
}

#[test]
fn an_agents_section_says_which_agents_and_where() {
    let p =
        parse("[agents]\ncount = 3\ncontrol = \"nats://c:4222\"\nwait = \"10s\"\nmax_lost = 1\n")
            .unwrap();
    let a = p.agents.unwrap();
    assert_eq!((a.count, a.max_lost), (Some(3), Some(1)));
    assert_eq!(a.wait, Some(std::time::Duration::from_secs(10)));
    parse("[agents]\nnames = [\"a1\", \"a2\"]\n").unwrap();
    refused("[agents]\ncount = 0\n", 2, "count");
    refused("[agents]\ncount = 2\nnames = [\"a1\"]\n", 3, "names");
    refused("[agents]\nnames = [\"a 1\"]\n", 2, "names");
    refused("[agents]\ncount = 2\nweights = { a1 = 0 }\n", 3, "weights");
    let e = parse("[agents]\ncount = 2\ncontrl = \"x\"\n").unwrap_err();
    assert_eq!(e.line, Some(3), "{e}");
}
