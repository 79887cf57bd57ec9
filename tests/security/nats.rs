//! The NATS lane against real nats-servers, one per kind of login or TLS: TLS with a user and
//! password or an nkey, a token over TLS before the server's first message (`handshake_first`),
//! mutual TLS, and creds files in operator mode.

use super::creds::OperatorMode;
use super::{a_wrong_password_fails_fast, publish_acked, publishes_and_leaks_nothing, refused};
use super::{secret, Pki};
use pubduel::brokers::nats::{self, NatsSettings};
use pubduel::testkit::{self, TestNames};

/// The profile of a NATS-only run on these names, with `extra` keys in `[nats]`.
fn nats_profile(names: &TestNames, extra: &str) -> String {
    format!(
        "lanes = [\"nats\"]\nrate = 200\nwarmup = \"0s\"\n[nats]\nstream = \"{}\"\n\
         subject = \"{}\"\n{extra}",
        names.stream, names.subject
    )
}

/// The `tls { ... }` block of a server with the test's certificate, and `more` in it.
fn tls_block(pki: &Pki, more: &str) -> String {
    format!(
        "tls {{ cert_file: \"{}\", key_file: \"{}\"{more} }}\n",
        pki.cert.display(),
        pki.key.display()
    )
}

/// Settings of a NATS lane on `url` with these names, trusting the test's CA.
fn nats_settings(pki: &Pki, names: &TestNames, url: String) -> NatsSettings {
    NatsSettings {
        url,
        stream: names.stream.clone(),
        subject: names.subject.clone(),
        tls_ca: Some(pki.ca.clone()),
        ..NatsSettings::default()
    }
}

/// Connects with `settings` and publishes a few messages, each acked.
fn connects_and_publishes(what: &str, settings: &NatsSettings) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let publisher = nats::connect(settings)
            .await
            .unwrap_or_else(|e| panic!("{what}: {e}"));
        publish_acked(publisher.as_ref(), 20).await;
    });
}

/// Connects with `settings`, which the server must refuse at once, and returns the error's text.
fn refused_now(what: &str, settings: &NatsSettings) -> String {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(refused(what, nats::connect(settings)))
}

#[test]
fn nats_over_tls_with_a_user_and_password_or_an_nkey() {
    let pki = Pki::new(&secret("key"));
    let pw = secret("nats");
    let nkey = nkeys::KeyPair::new_user();
    let server = testkit::start_nats_with_config(&format!(
        "{}authorization {{ users = [ {{ user: alice, password: \"{pw}\" }}, {{ nkey: {} }} ] }}\n",
        tls_block(&pki, ""),
        nkey.public_key()
    ))
    .expect("nats-server with TLS starts");
    let url = format!("tls://127.0.0.1:{}", server.port);
    let names = TestNames::new("secured-nats");
    let var = "PUBDUEL_TEST_NATS_PASSWORD";
    let ca = format!("tls_ca = \"{}\"\n", pki.ca.display());
    let profile = nats_profile(
        &names,
        &format!("url = \"{url}\"\nuser = \"alice\"\npassword_env = \"{var}\"\n{ca}"),
    );
    publishes_and_leaks_nothing(&pki, "nats-tls", &profile, &[(var, &pw)], &pw);
    // A login in the URL (here from PUBDUEL_NATS) works as well, and shows nowhere either.
    let with_login = format!("tls://alice:{pw}@127.0.0.1:{}", server.port);
    let env = [("PUBDUEL_NATS", with_login.as_str())];
    publishes_and_leaks_nothing(
        &pki,
        "nats-url-login",
        &nats_profile(&names, &ca),
        &env,
        &pw,
    );
    let wrong =
        a_wrong_password_fails_fast(&pki, "nats-wrong", &profile, var, "authorization violation");
    let seed = nkey.seed().unwrap();
    let seed_file = pki.file("user.nk", &format!("{seed}\n"));
    let nkey_profile = nats_profile(
        &names,
        &format!(
            "url = \"{url}\"\nnkey_seed = \"{}\"\n{ca}",
            seed_file.display()
        ),
    );
    publishes_and_leaks_nothing(&pki, "nats-nkey", &nkey_profile, &[], &seed);

    let settings = NatsSettings {
        user: Some("alice".into()),
        password_file: Some(pki.file("nats-pw", &pw)),
        tls_ca: Some(pki.other_ca.clone()),
        ..nats_settings(&pki, &names, url.clone())
    };
    let unknown_nkey = NatsSettings {
        nkey_seed: Some(pki.file("other.nk", &nkeys::KeyPair::new_user().seed().unwrap())),
        ..nats_settings(&pki, &names, url)
    };
    let unknown_nkey = refused_now("an nkey the server lacks", &unknown_nkey);
    assert!(
        unknown_nkey.contains("authorization violation"),
        "{unknown_nkey}"
    );
    assert!(unknown_nkey.contains("nkey_seed"), "{unknown_nkey}");
    let (untrusted, no_tls) = nats_refusals(&pki, settings);
    println!(
        "wrong password: {wrong}\nunknown nkey: {unknown_nkey}\nuntrusted CA: {untrusted}\n\
         no TLS: {no_tls}"
    );
}

/// Connects with `settings` (which trust another CA than the server's), and then through a
/// `tls://` URL to a nats-server without TLS: both are refused at once, naming the cause.
fn nats_refusals(pki: &Pki, settings: NatsSettings) -> (String, String) {
    let untrusted = refused_now("an untrusted CA", &settings);
    let named = untrusted.contains("certificate") && untrusted.contains("tls_ca");
    assert!(named, "{untrusted}");
    let plain = testkit::start_nats().expect("a plain nats-server starts");
    let settings = NatsSettings {
        url: format!("tls://127.0.0.1:{}", plain.port),
        tls_ca: Some(pki.ca.clone()),
        ..settings
    };
    let no_tls = refused_now("TLS the server lacks", &settings);
    assert!(no_tls.contains("TLS"), "{no_tls}");
    (untrusted, no_tls)
}

#[test]
fn nats_with_a_token_over_tls_first() {
    let pki = Pki::new(&secret("key"));
    let token = secret("token");
    let server = testkit::start_nats_with_config(&format!(
        "{}authorization {{ token: \"{token}\" }}\n",
        tls_block(&pki, ", handshake_first: true"),
    ))
    .expect("nats-server with handshake_first starts");
    let url = format!("tls://127.0.0.1:{}", server.port);
    let names = TestNames::new("secured-nats-token");
    let var = "PUBDUEL_TEST_NATS_TOKEN";
    let profile = nats_profile(
        &names,
        &format!(
            "url = \"{url}\"\ntoken_env = \"{var}\"\ntls_first = true\ntls_ca = \"{}\"\n",
            pki.ca.display()
        ),
    );
    publishes_and_leaks_nothing(&pki, "nats-token", &profile, &[(var, &token)], &token);
    let wrong = a_wrong_password_fails_fast(
        &pki,
        "nats-wrong-token",
        &profile,
        var,
        "authorization violation",
    );
    let from_file = NatsSettings {
        token_file: Some(pki.file("token", &format!("{token}\n"))),
        tls_first: true,
        ..nats_settings(&pki, &names, url.clone())
    };
    connects_and_publishes("a token from a file", &from_file);
    let not_first = NatsSettings {
        tls_first: false,
        ..from_file
    };
    let not_first = refused_now("TLS after the server's INFO", &not_first);
    assert!(not_first.contains("tls_first = true"), "{not_first}");
    println!("wrong token: {wrong}\nwithout tls_first: {not_first}");
}

#[test]
fn nats_with_mutual_tls() {
    let pki = Pki::new(&secret("key"));
    let server = testkit::start_nats_with_config(&tls_block(
        &pki,
        &format!(", ca_file: \"{}\", verify: true", pki.ca.display()),
    ))
    .expect("nats-server with verify starts");
    let names = TestNames::new("secured-nats-mtls");
    let url = format!("tls://127.0.0.1:{}", server.port);
    let with_cert = NatsSettings {
        tls_cert: Some(pki.client_cert.clone()),
        tls_key: Some(pki.client_key.clone()),
        ..nats_settings(&pki, &names, url.clone())
    };
    connects_and_publishes("a client certificate", &with_cert);
    let no_cert = refused_now("no client certificate", &nats_settings(&pki, &names, url));
    let stranger = NatsSettings {
        tls_cert: Some(pki.stranger.0.clone()),
        tls_key: Some(pki.stranger.1.clone()),
        ..with_cert
    };
    let stranger = refused_now("a client certificate of another CA", &stranger);
    println!("no client certificate: {no_cert}\nanother CA's: {stranger}");
    for e in [&no_cert, &stranger] {
        assert!(e.contains("tls_cert") && e.contains("tls_key"), "{e}");
    }
}

#[test]
fn nats_with_a_creds_file_in_operator_mode() {
    let pki = Pki::new(&secret("key"));
    let operator = OperatorMode::new();
    let server =
        testkit::start_nats_with_config(&operator.config).expect("nats-server in operator mode");
    let names = TestNames::new("secured-nats-creds");
    let url = format!("nats://127.0.0.1:{}", server.port);
    let creds = pki.file("user.creds", &operator.creds);
    let profile = nats_profile(
        &names,
        &format!("url = \"{url}\"\ncreds = \"{}\"\n", creds.display()),
    );
    publishes_and_leaks_nothing(&pki, "nats-creds", &profile, &[], &operator.seed);
    let stranger = NatsSettings {
        url,
        stream: names.stream.clone(),
        subject: names.subject.clone(),
        creds: Some(pki.file("stranger.creds", &operator.stranger)),
        ..NatsSettings::default()
    };
    let stranger = refused_now("creds of an unknown account", &stranger);
    assert!(stranger.contains("creds"), "{stranger}");
    println!("unknown account: {stranger}");
}
