//! Finding the agents: the control server, and the `pubduel-agent` service's INFO, asked until
//! the agents a run wants have answered.

use super::wire::{self, AgentInfo};
use super::{ControlError, CONNECT_TIMEOUT};
use crate::brokers::nats::NatsSettings;
use crate::cli::AgentsArg as Want;
use crate::config::AgentsConfig as AgentsPlan;
use futures::StreamExt;
use std::time::{Duration, Instant};

/// How long a discovery round gathers answers.
const GATHER: Duration = Duration::from_millis(300);

/// Connects to the control server.
pub async fn connect(login: &NatsSettings) -> Result<async_nats::Client, ControlError> {
    let shown = login.redacted();
    let unreachable = |detail: String| ControlError::Unreachable {
        url: shown.url.clone(),
        detail,
    };
    let options =
        crate::brokers::nats::login_options(login, "pubduel").map_err(|(key, message)| {
            ControlError::Login {
                key: key.to_string(),
                message,
            }
        })?;
    let connect = options.connect(shown.servers());
    tokio::time::timeout(CONNECT_TIMEOUT + Duration::from_secs(1), connect)
        .await
        .map_err(|_| unreachable("timed out".into()))?
        .map_err(|e| unreachable(e.to_string()))
}

/// Asks the agents (the `pubduel-agent` service's INFO) until those `plan` wants have answered
/// or its wait is over.
pub(super) async fn discover(
    client: &async_nats::Client,
    plan: &AgentsPlan,
) -> Result<Vec<AgentInfo>, ControlError> {
    let deadline = Instant::now() + plan.wait;
    loop {
        let mut found = ask(client).await;
        found.sort_by(|a, b| a.name.cmp(&b.name));
        found.dedup_by(|a, b| a.name == b.name);
        let picked: Vec<AgentInfo> = match &plan.want {
            Want::Count(n) => found.iter().take(*n).cloned().collect(),
            Want::Names(names) => (found.iter())
                .filter(|a| names.contains(&a.name))
                .cloned()
                .collect(),
        };
        let wanted = match &plan.want {
            Want::Count(n) => *n,
            Want::Names(v) => v.len(),
        };
        if picked.len() == wanted {
            return Ok(picked);
        }
        if Instant::now() >= deadline {
            let names = match &plan.want {
                Want::Names(names) => {
                    let missing: Vec<&str> = (names.iter())
                        .filter(|n| !picked.iter().any(|a| &a.name == *n))
                        .map(String::as_str)
                        .collect();
                    format!(" (missing: {})", missing.join(", "))
                }
                Want::Count(_) if !picked.is_empty() => {
                    let came: Vec<&str> = picked.iter().map(|a| a.name.as_str()).collect();
                    format!(" ({})", came.join(", "))
                }
                Want::Count(_) => String::new(),
            };
            return Err(ControlError::TooFew {
                came: picked.len(),
                wanted,
                wait: plan.wait,
                names,
            });
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// One round of the service discovery: every agent that answers INFO within [`GATHER`].
async fn ask(client: &async_nats::Client) -> Vec<AgentInfo> {
    let inbox = client.new_inbox();
    let Ok(mut replies) = client.subscribe(inbox.clone()).await else {
        return Vec::new();
    };
    let subject = format!("$SRV.INFO.{}", wire::SERVICE);
    if client
        .publish_with_reply(subject, inbox, bytes::Bytes::new())
        .await
        .is_err()
    {
        return Vec::new();
    }
    let mut found = Vec::new();
    let until = tokio::time::sleep(GATHER);
    tokio::pin!(until);
    loop {
        tokio::select! {
            () = &mut until => break,
            m = replies.next() => match m {
                Some(m) => found.extend(info_of(&m.payload)),
                None => break,
            },
        }
    }
    found
}

/// An agent from its service INFO reply.
fn info_of(payload: &[u8]) -> Option<AgentInfo> {
    let v: serde_json::Value = serde_json::from_slice(payload).ok()?;
    let meta = v.get("metadata")?;
    let text = |x: Option<&serde_json::Value>| x.and_then(|s| s.as_str()).map(str::to_string);
    Some(AgentInfo {
        name: text(meta.get("agent"))?,
        host: text(meta.get("host")).unwrap_or_default(),
        version: text(v.get("version")).unwrap_or_default(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_agent_is_read_from_its_service_info() {
        let info = br#"{"type":"io.nats.micro.v1.info_response","name":"pubduel-agent","id":"x","version":"0.1.0","metadata":{"agent":"a1","host":"h1"},"endpoints":[]}"#;
        assert_eq!(
            info_of(info),
            Some(AgentInfo {
                name: "a1".into(),
                host: "h1".into(),
                version: "0.1.0".into()
            })
        );
        assert_eq!(info_of(br#"{"name":"other"}"#), None);
    }
}
