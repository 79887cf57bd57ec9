//! The Kubernetes manifests and the Dockerfile in deploy/ cannot be applied or built here, so this
//! reads them and checks the fields that make agents work: one Indexed Job whose completion index
//! names each agent, pods spread over nodes, nothing restarted behind the run's back, the control
//! server's Service, and an image whose entry point is pubduel.

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
