//! The Kubernetes manifests, the Grafana dashboard and the Dockerfile in deploy/ cannot be applied
//! or built here, so this reads them and checks the fields that make agents work: one Indexed Job
//! whose completion index names each agent, pods spread over nodes, nothing restarted behind the
//! run's back, the control server's Service, an image whose entry point is pubduel, each agent's
//! metrics on a named port, and a dashboard that queries only metrics pubduel serves.

use serde_yaml::Value;

fn docs(path: &str) -> Vec<Value> {
    let text = std::fs::read_to_string(format!("{}/{path}", env!("CARGO_MANIFEST_DIR")))
        .unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_yaml::Deserializer::from_str(&text)
        .map(|d| serde::Deserialize::deserialize(d).unwrap_or_else(|e| panic!("{path}: {e}")))
        .collect()
}

fn kind<'a>(all: &'a [Value], kind: &str) -> &'a Value {
    all.iter()
        .find(|d| d["kind"].as_str() == Some(kind))
        .unwrap_or_else(|| panic!("no {kind}"))
}

#[test]
fn the_agents_are_one_indexed_job_spread_over_nodes() {
    let all = docs("deploy/kubernetes/agents.yaml");
    let job = kind(&all, "Job");
    let spec = &job["spec"];
    assert_eq!(spec["completionMode"].as_str(), Some("Indexed"));
    assert_eq!(
        spec["parallelism"], spec["completions"],
        "every agent runs at once"
    );
    assert!(spec["parallelism"].as_u64().unwrap() >= 2);
    assert_eq!(
        spec["backoffLimit"].as_u64(),
        Some(0),
        "a lost agent is not replaced mid-run"
    );
    let pod = &spec["template"]["spec"];
    assert_eq!(pod["restartPolicy"].as_str(), Some("Never"));
    let spread = &pod["topologySpreadConstraints"][0];
    assert_eq!(
        spread["topologyKey"].as_str(),
        Some("kubernetes.io/hostname")
    );
    let labels = &spec["template"]["metadata"]["labels"];
    assert_eq!(
        &spread["labelSelector"]["matchLabels"], labels,
        "spreads its own pods"
    );
    let c = &pod["containers"][0];
    let args: Vec<&str> = c["args"]
        .as_sequence()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(args[0], "agent");
    let at = |flag: &str| args[args.iter().position(|a| *a == flag).unwrap() + 1];
    assert!(at("--name").contains("$(JOB_COMPLETION_INDEX)"), "{args:?}");
    assert_eq!(at("--control"), "$(PUBDUEL_CONTROL)");
    let control = (c["env"].as_sequence().unwrap().iter())
        .find(|e| e["name"].as_str() == Some("PUBDUEL_CONTROL"))
        .and_then(|e| e["value"].as_str())
        .unwrap();
    assert_eq!(control, "nats://pubduel-control:4222");
    let port = at("--metrics-listen").rsplit_once(':').unwrap().1;
    let named = (c["ports"].as_sequence().unwrap().iter())
        .find(|p| p["name"].as_str() == Some("metrics"))
        .and_then(|p| p["containerPort"].as_u64());
    assert_eq!(named.map(|p| p.to_string()).as_deref(), Some(port));
}

/// The names of the samples pubduel serves for a run of two lanes with every stage measured.
fn served_names() -> std::collections::BTreeSet<String> {
    use pubduel::metrics::{LaneSnapshot, Snapshot, StageSummary};
    use pubduel::vocab::Stage;
    let lane = |name: &str| LaneSnapshot {
        name: name.into(),
        interval: (Stage::ALL.iter())
            .map(|s| (*s, StageSummary::default()))
            .collect(),
        ..LaneSnapshot::default()
    };
    let snapshot = Snapshot {
        lanes: vec![lane("kafka"), lane("nats")],
        ..Snapshot::default()
    };
    let text = pubduel::report::openmetrics::encode(Some(std::sync::Arc::new(snapshot)));
    (text.lines())
        .filter(|l| !l.starts_with('#'))
        .map(|l| l.split(['{', ' ']).next().unwrap().to_string())
        .collect()
}

/// Every `pubduel_...` name in `expr`.
fn metric_names(expr: &str) -> Vec<String> {
    (expr.match_indices("pubduel_"))
        .map(|(at, _)| {
            (expr[at..].chars())
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect()
        })
        .collect()
}

#[test]
fn the_grafana_dashboard_queries_only_metrics_pubduel_serves() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/deploy/grafana/pubduel.json");
    let text = std::fs::read_to_string(path).unwrap();
    let dash: serde_json::Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}"));
    let vars = dash["templating"]["list"].as_array().unwrap();
    let source = (vars.iter())
        .find(|v| v["type"] == "datasource" && v["query"] == "prometheus")
        .expect("a Prometheus data source variable");
    let uid = format!("${{{}}}", source["name"].as_str().unwrap());
    let mut exprs: Vec<&str> = vars
        .iter()
        .filter_map(|v| v["definition"].as_str())
        .collect();
    for panel in dash["panels"].as_array().unwrap() {
        let title = panel["title"].as_str().unwrap();
        assert_eq!(panel["datasource"]["uid"].as_str(), Some(&*uid), "{title}");
        let targets = panel["targets"].as_array().unwrap();
        assert!(!targets.is_empty(), "{title} queries nothing");
        exprs.extend(targets.iter().map(|t| t["expr"].as_str().unwrap()));
    }
    let served = served_names();
    let queried: Vec<String> = exprs.iter().flat_map(|e| metric_names(e)).collect();
    assert!(queried.len() >= 6, "{queried:?}");
    for name in &queried {
        assert!(
            served.contains(name),
            "the dashboard queries {name}, which pubduel does not serve: {served:?}"
        );
    }
    for wanted in [
        "rate(pubduel_acked_total{",
        "rate(pubduel_errors_total{",
        "stage=\"ack\", quantile=\"0.99\"",
        "stage=\"submit\", quantile=\"0.99\"",
        "pubduel_in_flight{",
    ] {
        assert!(
            exprs.iter().any(|e| e.contains(wanted)),
            "no panel shows {wanted}"
        );
    }
}

#[test]
fn the_control_server_is_a_nats_server_behind_its_service() {
    let all = docs("deploy/kubernetes/control.yaml");
    let deployment = kind(&all, "Deployment");
    let c = &deployment["spec"]["template"]["spec"]["containers"][0];
    assert!(c["image"].as_str().unwrap().starts_with("nats:"));
    let args = format!("{:?}", c["args"]);
    assert!(
        !args.contains("-js") && !args.contains("jetstream"),
        "no JetStream needed: {args}"
    );
    let service = kind(&all, "Service");
    assert_eq!(
        service["metadata"]["name"].as_str(),
        Some("pubduel-control")
    );
    assert_eq!(service["spec"]["ports"][0]["port"].as_u64(), Some(4222));
    assert_eq!(
        service["spec"]["selector"],
        deployment["spec"]["template"]["metadata"]["labels"]
    );
}

#[test]
fn the_image_runs_pubduel() {
    let file = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/Dockerfile")).unwrap();
    assert!(file.contains("cargo build --release --locked"));
    assert!(file.contains("ENTRYPOINT [\"pubduel\"]"));
    let agents = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/deploy/kubernetes/agents.yaml"
    ))
    .unwrap();
    let image = agents
        .lines()
        .find_map(|l| l.trim().strip_prefix("image: "))
        .unwrap();
    let version = env!("CARGO_PKG_VERSION");
    assert_eq!(
        image,
        format!("pubduel:{version}"),
        "the Job runs this version's image"
    );
}
