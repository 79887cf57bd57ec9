//! Secured brokers, for tests of TLS and logins: one Apache Kafka node with client listeners of
//! every kind a lane may meet, beside the PLAINTEXT listener the node uses itself: SCRAM-SHA-256
//! logins without and over TLS (the credentials added when its storage is formatted), TLS that
//! only the broker proves, and TLS that requires a client certificate from the test's CA; and a
//! nats-server run from a configuration the test writes (TLS, users, tokens, nkeys). The test
//! makes the certificates and credentials; each broker runs like any other [`BrokerProcess`].

use super::kafka::{start_node, KafkaExtras};
use super::process::{scratch_dir, BrokerProcess};
use super::{free_port, free_ports, nats_launch, nats_server, StartError};
use std::path::PathBuf;

/// The login and key material a secured Kafka node takes.
#[derive(Debug, Clone)]
pub struct KafkaSecurity {
    /// The SCRAM-SHA-256 user the SASL listeners accept.
    pub scram_user: String,
    /// Its password: letters and digits, as it goes into StorageTool's `--add-scram` unquoted.
    pub scram_password: String,
    /// The TLS listeners' keystore: a PEM file with the broker's private key (PKCS#8, not
    /// encrypted) and its certificate chain.
    pub keystore: PathBuf,
    /// The mutual-TLS listener's truststore: a PEM file of the CA whose client certificates it
    /// takes.
    pub truststore: PathBuf,
}

/// A Kafka node with secured listeners; stopped and its folder removed when dropped.
pub struct SecuredKafka {
    /// The node; its `port` is the PLAINTEXT listener.
    pub broker: BrokerProcess,
    /// The SASL_PLAINTEXT listener's port (SCRAM-SHA-256 logins).
    pub sasl_port: u16,
    /// The SASL_SSL listener's port (SCRAM-SHA-256 logins over TLS).
    pub sasl_ssl_port: u16,
    /// The SSL listener's port (no client certificate asked for).
    pub ssl_port: u16,
    /// The mutual-TLS listener's port (an SSL listener that requires a client certificate).
    pub mtls_port: u16,
}

impl SecuredKafka {
    /// The PLAINTEXT listener, `127.0.0.1:<port>`.
    pub fn plain_addr(&self) -> String {
        addr(self.broker.port)
    }

    /// The SASL_PLAINTEXT listener, `127.0.0.1:<port>`.
    pub fn sasl_addr(&self) -> String {
        addr(self.sasl_port)
    }

    /// The SASL_SSL listener, `127.0.0.1:<port>`.
    pub fn sasl_ssl_addr(&self) -> String {
        addr(self.sasl_ssl_port)
    }

    /// The SSL listener, `127.0.0.1:<port>`.
    pub fn ssl_addr(&self) -> String {
        addr(self.ssl_port)
    }

    /// The mutual-TLS listener, `127.0.0.1:<port>`.
    pub fn mtls_addr(&self) -> String {
        addr(self.mtls_port)
    }
}

fn addr(port: u16) -> String {
    format!("127.0.0.1:{port}")
}

/// The secured listeners, as (listener name, security protocol); the names are what their
/// `listener.name.<name>.` settings are prefixed with, in lower case.
const LISTENERS: [(&str, &str); 4] = [
    ("SASL_PLAINTEXT", "SASL_PLAINTEXT"),
    ("SASL_SSL", "SASL_SSL"),
    ("SSL", "SSL"),
    ("MTLS", "SSL"),
];

/// The broker settings of the secured listeners.
fn secured_properties(security: &KafkaSecurity) -> String {
    let scram = "sasl.enabled.mechanisms=SCRAM-SHA-256
scram-sha-256.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;";
    let keystore = format!(
        "ssl.keystore.type=PEM\nssl.keystore.location={}",
        security.keystore.display()
    );
    let truststore = format!(
        "ssl.truststore.type=PEM\nssl.truststore.location={}",
        security.truststore.display()
    );
    let per_listener = [
        ("sasl_plaintext", scram.to_string()),
        ("sasl_ssl", format!("{scram}\n{keystore}")),
        ("ssl", format!("{keystore}\nssl.client.auth=none")),
        (
            "mtls",
            format!("{keystore}\n{truststore}\nssl.client.auth=required"),
        ),
    ];
    let mut text = String::from("sasl.enabled.mechanisms=SCRAM-SHA-256\n");
    for (listener, settings) in per_listener {
        for line in settings.lines() {
            text.push_str(&format!("listener.name.{listener}.{line}\n"));
        }
    }
    text
}

/// Starts a single-node KRaft Apache Kafka on free loopback ports with a PLAINTEXT, a
/// SASL_PLAINTEXT and a SASL_SSL (SCRAM-SHA-256), an SSL and a mutual-TLS listener, and waits
/// until it serves clients.
pub fn start_secured_kafka(security: &KafkaSecurity) -> Result<SecuredKafka, StartError> {
    let [port, cport, sasl_port, sasl_ssl_port, ssl_port, mtls_port] = free_ports::<6>();
    let scram = format!(
        "SCRAM-SHA-256=[name={},password={}]",
        security.scram_user, security.scram_password
    );
    let ports = [sasl_port, sasl_ssl_port, ssl_port, mtls_port];
    let extra = KafkaExtras {
        listeners: (LISTENERS.iter().zip(ports))
            .map(|((name, protocol), port)| (*name, *protocol, port))
            .collect(),
        properties: secured_properties(security),
        format_args: vec!["--add-scram".into(), scram],
        outside: None,
    };
    let broker = start_node(port, cport, extra, port)?;
    Ok(SecuredKafka {
        broker,
        sasl_port,
        sasl_ssl_port,
        ssl_port,
        mtls_port,
    })
}

/// Starts `nats-server -js` on a free loopback port with `config` (nats-server's configuration
/// format: `tls { ... }`, `authorization { ... }`) written into its scratch folder after the store
/// cap every scratch server has; clients reach it at `127.0.0.1:<port>`, with the scheme the test
/// chooses (`nats://`, `tls://`).
pub fn start_nats_with_config(config: &str) -> Result<BrokerProcess, StartError> {
    let program = nats_server()?;
    let port = free_port();
    let dir = scratch_dir("nats")?;
    let launch = nats_launch(&program, &dir, port, config, Vec::new())?;
    BrokerProcess::start(launch, port, dir)
}
