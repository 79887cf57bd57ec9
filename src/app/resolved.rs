//! `--dry-run`: the resolved settings as TOML.

use super::start::run_info;
use crate::config::RunConfig;
use serde::Serialize;
use std::collections::BTreeMap;
use std::time::SystemTime;

#[derive(Serialize)]
struct Resolved<'a> {
    profile: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    duration: Option<String>,
    warmup: String,
    e2e: bool,
    /// The runtime's worker threads (`--threads`); absent: one per CPU.
    #[serde(skip_serializing_if = "Option::is_none")]
    threads: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    report: Option<String>,
    /// Where live metrics would be served (`--metrics-listen`).
    #[serde(skip_serializing_if = "Option::is_none")]
    metrics_listen: Option<String>,
    /// The payload file's size, when every message carries one (`message_size` then does not).
    #[serde(skip_serializing_if = "Option::is_none")]
    payload: Option<String>,
    lanes: Vec<ResolvedLane>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    steps: Vec<ResolvedStep>,
    brokers: crate::report::Brokers,
    /// The agents that would generate the run; rate and publishers above are the whole run's.
    #[serde(skip_serializing_if = "Option::is_none")]
    agents: Option<ResolvedAgents>,
}

#[derive(Serialize)]
struct ResolvedAgents {
    #[serde(skip_serializing_if = "Option::is_none")]
    count: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    names: Option<Vec<String>>,
    control: String,
    wait: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    max_lost: Option<usize>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    weights: BTreeMap<String, u64>,
}

#[derive(Serialize)]
struct ResolvedStep {
    at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    note: Option<String>,
    lanes: Vec<ResolvedLane>,
}

#[derive(Serialize)]
struct ResolvedLane {
    name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    kind: Option<&'static str>,
    knobs: crate::vocab::Knobs,
}

/// The resolved settings as TOML, for `--dry-run`.
pub fn resolved_toml(cfg: &RunConfig) -> String {
    let info = run_info(cfg, SystemTime::now());
    let report = crate::report::Report::build(&info, &[]);
    let brokers = report.map(|r| r.brokers).unwrap_or_default();
    let r = Resolved {
        profile: &cfg.profile_name,
        duration: cfg
            .duration
            .map(|d| humantime::format_duration(d).to_string()),
        warmup: humantime::format_duration(cfg.warmup).to_string(),
        e2e: cfg.e2e,
        threads: cfg.threads,
        report: cfg.report.as_ref().map(|p| p.display().to_string()),
        metrics_listen: cfg.metrics_listen.clone(),
        payload: (cfg.payload.as_ref()).map(|b| format!("a file of {} bytes", b.len())),
        lanes: cfg
            .lanes
            .iter()
            .map(|l| ResolvedLane {
                name: l.name.clone(),
                kind: Some(l.kind.as_str()),
                knobs: l.knobs,
            })
            .collect(),
        steps: cfg
            .steps
            .iter()
            .map(|s| ResolvedStep {
                at: humantime::format_duration(s.at).to_string(),
                note: s.note.clone(),
                lanes: cfg
                    .lanes
                    .iter()
                    .zip(&s.knobs)
                    .map(|(l, knobs)| ResolvedLane {
                        name: l.name.clone(),
                        kind: None,
                        knobs: *knobs,
                    })
                    .collect(),
            })
            .collect(),
        brokers,
        agents: cfg.agents.as_ref().map(|a| {
            let (count, names) = match &a.want {
                crate::cli::AgentsArg::Count(n) => (Some(*n), None),
                crate::cli::AgentsArg::Names(v) => (None, Some(v.clone())),
            };
            ResolvedAgents {
                count,
                names,
                control: a.login.redacted().url,
                wait: humantime::format_duration(a.wait).to_string(),
                max_lost: a.max_lost,
                weights: a.weights.clone(),
            }
        }),
    };
    toml::to_string(&r).unwrap_or_else(|e| format!("# cannot show settings: {e}\n"))
}
