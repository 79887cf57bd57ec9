//! The Kafka lane against one real Apache Kafka node with every kind of secured listener:
//! SASL_PLAINTEXT and SASL_SSL with SCRAM-SHA-256, SSL, and SSL that requires a client
//! certificate (whose key the lane reads encrypted, with its password from the environment).

use super::{a_wrong_password_fails_fast, publish_acked, publishes_and_leaks_nothing, refused};
use super::{secret, Pki};
use pubduel::brokers::kafka::{self, KafkaSettings, SaslMechanism, SecurityProtocol};
use pubduel::testkit::{self, KafkaSecurity, SecuredKafka, TestNames};

/// Settings of a Kafka lane on `addr` with these names.
fn kafka_settings(names: &TestNames, addr: String) -> KafkaSettings {
    KafkaSettings {
        bootstrap: addr,
        topic: names.topic.clone(),
        partitions: 1,
        ..KafkaSettings::default()
    }
}

/// The profile of a Kafka-only run on `addr` with these names, with `extra` keys in `[kafka]`.
fn kafka_profile(names: &TestNames, addr: &str, extra: &str) -> String {
    format!(
        "lanes = [\"kafka\"]\nrate = 200\nwarmup = \"0s\"\n[kafka]\nbootstrap = \"{addr}\"\n\
         topic = \"{}\"\npartitions = 1\n{extra}",
        names.topic
    )
}

/// Connects with `settings` and publishes a few messages, each acked.
async fn connects_and_publishes(what: &str, settings: &KafkaSettings) {
    let publisher = kafka::connect(settings)
        .await
        .unwrap_or_else(|e| panic!("{what}: {e}"));
    publish_acked(publisher.as_ref(), 20).await;
}

#[test]
fn kafka_over_sasl_scram_ssl_and_mutual_tls() {
    let pki = Pki::new(&secret("key"));
    let pw = secret("kafka");
    let kafka = testkit::start_secured_kafka(&KafkaSecurity {
        scram_user: "alice".into(),
        scram_password: pw.clone(),
        keystore: pki.keystore.clone(),
        truststore: pki.ca.clone(),
    })
    .expect("Kafka with secured listeners starts");
    let names = TestNames::new("secured-kafka");
    let var = "PUBDUEL_TEST_KAFKA_PASSWORD";
    let profile = kafka_profile(
        &names,
        &kafka.sasl_addr(),
        &format!(
            "security_protocol = \"SASL_PLAINTEXT\"\nsasl_mechanism = \"SCRAM-SHA-256\"\n\
             sasl_username = \"alice\"\nsasl_password_env = \"{var}\"\n"
        ),
    );
    publishes_and_leaks_nothing(&pki, "kafka-sasl", &profile, &[(var, &pw)], &pw);
    a_wrong_password_fails_fast(&pki, "kafka-wrong", &profile, var, "Authentication failed");
    let wrong_key_password = mutual_tls_with_an_encrypted_key(&pki, &kafka, &names);

    let rt = tokio::runtime::Runtime::new().unwrap();
    let ssl = KafkaSettings {
        security_protocol: SecurityProtocol::Ssl,
        ssl_ca: Some(pki.ca.clone()),
        ..kafka_settings(&names, kafka.ssl_addr())
    };
    let sasl = KafkaSettings {
        security_protocol: SecurityProtocol::SaslPlaintext,
        sasl_mechanism: Some(SaslMechanism::ScramSha256),
        sasl_username: Some("alice".into()),
        sasl_password_file: Some(pki.file("kafka-pw", &pw)),
        ..kafka_settings(&names, kafka.sasl_addr())
    };
    let sasl_ssl = KafkaSettings {
        bootstrap: kafka.sasl_ssl_addr(),
        security_protocol: SecurityProtocol::SaslSsl,
        ssl_ca: Some(pki.ca.clone()),
        ..sasl.clone()
    };
    rt.block_on(async {
        connects_and_publishes("SSL", &ssl).await;
        connects_and_publishes("SASL_SSL", &sasl_ssl).await;
    });
    let wrong = KafkaSettings {
        sasl_password_file: Some(pki.file("kafka-wrong-pw", &format!("wrong{pw}"))),
        ..sasl
    };
    rt.block_on(kafka_refusals(&pki, wrong, ssl));
    rt.block_on(mutual_tls_refusals(&pki, &kafka, &names));
    println!("wrong key password: {wrong_key_password}");
}

/// Publishes through the mutual-TLS listener with the client key encrypted and its password in
/// the environment (no output holds it); then a wrong key password fails at once, naming the
/// key. Returns what that run printed.
fn mutual_tls_with_an_encrypted_key(pki: &Pki, kafka: &SecuredKafka, names: &TestNames) -> String {
    let var = "PUBDUEL_TEST_KAFKA_KEY_PASSWORD";
    let profile = kafka_profile(
        names,
        &kafka.mtls_addr(),
        &format!(
            "security_protocol = \"SSL\"\nssl_ca = \"{}\"\nssl_cert = \"{}\"\nssl_key = \"{}\"\n\
             ssl_key_password_env = \"{var}\"\n",
            pki.ca.display(),
            pki.client_cert.display(),
            pki.client_key_encrypted.display()
        ),
    );
    let key_pw = &pki.client_key_password;
    publishes_and_leaks_nothing(pki, "kafka-mtls", &profile, &[(var, key_pw)], key_pw);
    a_wrong_password_fails_fast(
        pki,
        "kafka-wrong-key",
        &profile,
        var,
        "ssl_key_password_env",
    )
}

/// Connects with a wrong password (`wrong`), with `ssl` trusting another CA, and without TLS to
/// the SSL listener, all at once: each is refused at once, naming the cause.
async fn kafka_refusals(pki: &Pki, wrong: KafkaSettings, ssl: KafkaSettings) {
    let untrusted = KafkaSettings {
        ssl_ca: Some(pki.other_ca.clone()),
        ..ssl.clone()
    };
    let plain_on_ssl = KafkaSettings {
        security_protocol: SecurityProtocol::Plaintext,
        ssl_ca: None,
        ..ssl
    };
    let (wrong, untrusted, plain_on_ssl) = tokio::join!(
        refused("a wrong password", kafka::connect(&wrong)),
        refused("an untrusted CA", kafka::connect(&untrusted)),
        refused(
            "PLAINTEXT on an SSL listener",
            kafka::connect(&plain_on_ssl)
        ),
    );
    let named = wrong.contains("Authentication failed") && wrong.contains("sasl_password_env");
    assert!(named, "{wrong}");
    let named = untrusted.contains("certificate") && untrusted.contains("ssl_ca");
    assert!(named, "{untrusted}");
    assert!(plain_on_ssl.contains("security_protocol"), "{plain_on_ssl}");
    println!(
        "wrong password: {wrong}\nuntrusted CA: {untrusted}\nPLAINTEXT on SSL: {plain_on_ssl}"
    );
}

/// Connects to the mutual-TLS listener without a client certificate, and with one of another
/// CA, at once: both are refused at once, naming the client certificate keys.
async fn mutual_tls_refusals(pki: &Pki, kafka: &SecuredKafka, names: &TestNames) {
    let no_cert = KafkaSettings {
        security_protocol: SecurityProtocol::Ssl,
        ssl_ca: Some(pki.ca.clone()),
        ..kafka_settings(names, kafka.mtls_addr())
    };
    let stranger = KafkaSettings {
        ssl_cert: Some(pki.stranger.0.clone()),
        ssl_key: Some(pki.stranger.1.clone()),
        ..no_cert.clone()
    };
    let (no_cert, stranger) = tokio::join!(
        refused("no client certificate", kafka::connect(&no_cert)),
        refused("another CA's client certificate", kafka::connect(&stranger)),
    );
    println!("no client certificate: {no_cert}\nanother CA's: {stranger}");
    for e in [&no_cert, &stranger] {
        assert!(e.contains("ssl_cert") && e.contains("ssl_key"), "{e}");
    }
}
