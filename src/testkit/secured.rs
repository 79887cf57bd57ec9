//! Secured brokers, for tests of TLS and logins: one Apache Kafka node with a SASL_PLAINTEXT
//! listener that takes SCRAM-SHA-256 logins (the credentials added when its storage is formatted)
//! and an SSL listener with a PEM keystore, beside the PLAINTEXT listener the node uses itself;
//! and a nats-server run from a configuration the test writes (TLS, users, tokens). The test makes
//! the certificates and credentials; each broker runs like any other [`BrokerProcess`].

use super::process::{remove_dir, scratch_dir, BrokerProcess};
use super::{
    failed, free_port, free_ports, kafka_launch, kafka_tools, nats_launch, nats_server,
    prepare_kafka, KafkaExtras, KafkaNode, StartError,
};
use std::path::PathBuf;

/// The login and key material a secured Kafka node takes.
#[derive(Debug, Clone)]
pub struct KafkaSecurity {
    /// The SCRAM-SHA-256 user the SASL listener accepts.
    pub scram_user: String,
    /// Its password: letters and digits, as it goes into StorageTool's `--add-scram` unquoted.
    pub scram_password: String,
    /// The SSL listener's keystore: a PEM file with the broker's private key (PKCS#8, not
    /// encrypted) and its certificate chain.
    pub keystore: PathBuf,
}

/// A Kafka node with secured listeners; stopped and its folder removed when dropped.
pub struct SecuredKafka {
    /// The node; its `port` is the PLAINTEXT listener.
    pub broker: BrokerProcess,
    /// The SASL_PLAINTEXT listener's port (SCRAM-SHA-256 logins).
    pub sasl_port: u16,
    /// The SSL listener's port.
    pub ssl_port: u16,
}

impl SecuredKafka {
    /// The PLAINTEXT listener, `127.0.0.1:<port>`.
    pub fn plain_addr(&self) -> String {
        format!("127.0.0.1:{}", self.broker.port)
    }

    /// The SASL_PLAINTEXT listener, `127.0.0.1:<port>`.
    pub fn sasl_addr(&self) -> String {
        format!("127.0.0.1:{}", self.sasl_port)
    }

    /// The SSL listener, `127.0.0.1:<port>`.
    pub fn ssl_addr(&self) -> String {
        format!("127.0.0.1:{}", self.ssl_port)
    }
}

/// The broker settings of the secured listeners.
fn secured_properties(security: &KafkaSecurity) -> String {
    format!(
        "sasl.enabled.mechanisms=SCRAM-SHA-256
listener.name.sasl_plaintext.sasl.enabled.mechanisms=SCRAM-SHA-256
listener.name.sasl_plaintext.scram-sha-256.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
listener.name.ssl.ssl.keystore.type=PEM
listener.name.ssl.ssl.keystore.location={}
listener.name.ssl.ssl.client.auth=none
",
        security.keystore.display()
    )
}

/// Starts a single-node KRaft Apache Kafka on free loopback ports with a PLAINTEXT, a
/// SASL_PLAINTEXT (SCRAM-SHA-256) and an SSL listener, and waits until it serves clients.
pub fn start_secured_kafka(security: &KafkaSecurity) -> Result<SecuredKafka, StartError> {
    let (home, java) = kafka_tools()?;
    let [port, cport, sasl_port, ssl_port] = free_ports::<4>();
    let scram = format!(
        "SCRAM-SHA-256=[name={},password={}]",
        security.scram_user, security.scram_password
    );
    let node = KafkaNode {
        id: 1,
        port,
        cport,
        voters: format!("1@127.0.0.1:{cport}"),
        extra: KafkaExtras {
            listeners: vec![("SASL_PLAINTEXT", sasl_port), ("SSL", ssl_port)],
            properties: secured_properties(security),
            format_args: vec!["--add-scram".into(), scram],
        },
    };
    let dir = prepare_kafka(&java, &home, &node)?;
    let broker = BrokerProcess::start(kafka_launch(java, &home, &dir, "512m"), port, dir)?;
    Ok(SecuredKafka {
        broker,
        sasl_port,
        ssl_port,
    })
}

/// Starts `nats-server -js` on a free loopback port with `config` (nats-server's configuration
/// format: `tls { ... }`, `authorization { ... }`) written into its scratch folder; clients reach
/// it at `127.0.0.1:<port>`, with the scheme the test chooses (`nats://`, `tls://`).
pub fn start_nats_with_config(config: &str) -> Result<BrokerProcess, StartError> {
    let program = nats_server()?;
    let port = free_port();
    let dir = scratch_dir("nats")?;
    let conf = dir.join("nats.conf");
    if let Err(e) = std::fs::write(&conf, config) {
        remove_dir(&dir);
        return Err(failed(format!("writing {}", conf.display()), e));
    }
    let args = vec!["-c".into(), conf.display().to_string()];
    BrokerProcess::start(nats_launch(&program, &dir, port, args), port, dir)
}
