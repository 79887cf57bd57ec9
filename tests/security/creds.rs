//! NATS in operator mode (decentralized auth) for the creds test: an operator, a system account,
//! an account with JetStream and a user of it, each a JWT signed with its issuer's nkey the way
//! `nsc` makes them, and the user's `.creds` file; the server learns the accounts from its
//! configuration (`resolver: MEMORY`).

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use nkeys::KeyPair;
use serde_json::{json, Value};

/// Unlimited account limits, JetStream's included (which turns JetStream on for the account).
fn account_limits() -> Value {
    json!({
        "subs": -1, "data": -1, "payload": -1, "imports": -1, "exports": -1,
        "wildcards": true, "conn": -1, "leaf": -1,
        "mem_storage": -1, "disk_storage": -1, "streams": -1, "consumer": -1,
    })
}

/// A JWT whose subject is `subject` with `nats` claims, issued and signed by `issuer`.
fn jwt(issuer: &KeyPair, subject: &str, name: &str, nats: Value) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let header = json!({"typ": "JWT", "alg": "ed25519-nkey"});
    let claims = json!({
        "jti": format!("PUBDUEL{}{now}", name.to_uppercase()),
        "iat": now,
        "iss": issuer.public_key(),
        "name": name,
        "sub": subject,
        "nats": nats,
    });
    let encode = |v: &Value| URL_SAFE_NO_PAD.encode(v.to_string());
    let signed = format!("{}.{}", encode(&header), encode(&claims));
    let signature = issuer.sign(signed.as_bytes()).expect("an nkey signs");
    format!("{signed}.{}", URL_SAFE_NO_PAD.encode(signature))
}

/// The text of a `.creds` file: a user's JWT and seed, as `nsc generate creds` writes them.
fn creds_file(jwt: &str, seed: &str) -> String {
    format!(
        "-----BEGIN NATS USER JWT-----\n{jwt}\n------END NATS USER JWT------\n\n\
         ************************* IMPORTANT *************************\n\
         NKEY Seed printed below can be used to sign and prove identity.\n\
         NKEYs are sensitive and should be treated as secrets.\n\n\
         -----BEGIN USER NKEY SEED-----\n{seed}\n------END USER NKEY SEED------\n\n\
         *************************************************************\n"
    )
}

/// A user of `account`: its `.creds` text and its seed.
fn user(account: &KeyPair, name: &str) -> (String, String) {
    let user = KeyPair::new_user();
    let nats = json!({
        "pub": {}, "sub": {}, "subs": -1, "data": -1, "payload": -1,
        "type": "user", "version": 2,
    });
    let token = jwt(account, &user.public_key(), name, nats);
    let seed = user.seed().expect("a user seed");
    (creds_file(&token, &seed), seed)
}

/// An operator with its accounts, and the users a test logs in as.
pub struct OperatorMode {
    /// The nats-server configuration: the operator, the system account, the accounts.
    pub config: String,
    /// The `.creds` text of a user of the account with JetStream.
    pub creds: String,
    /// That user's seed (the secret of the creds file).
    pub seed: String,
    /// The `.creds` text of a user of an account the server does not know.
    pub stranger: String,
}

impl OperatorMode {
    /// A new operator, its system account and an account with JetStream, each with new keys.
    pub fn new() -> OperatorMode {
        let operator = KeyPair::new_operator();
        let (system, account) = (KeyPair::new_account(), KeyPair::new_account());
        let op = json!({"type": "operator", "version": 2, "system_account": system.public_key()});
        let op_jwt = jwt(&operator, &operator.public_key(), "pubduel-op", op);
        let account_jwt = |key: &KeyPair, name: &str, limits: Value| {
            let nats = json!({
                "limits": limits,
                "default_permissions": {"pub": {}, "sub": {}},
                "type": "account", "version": 2,
            });
            jwt(&operator, &key.public_key(), name, nats)
        };
        let sys_limits = json!({"subs": -1, "data": -1, "payload": -1, "conn": -1});
        let config = format!(
            "operator: {op_jwt}\nsystem_account: {sys}\nresolver: MEMORY\n\
             resolver_preload: {{\n  {sys}: {}\n  {acc}: {}\n}}\n",
            account_jwt(&system, "SYS", sys_limits),
            account_jwt(&account, "BENCH", account_limits()),
            sys = system.public_key(),
            acc = account.public_key(),
        );
        let (creds, seed) = user(&account, "bench");
        let (stranger, _) = user(&KeyPair::new_account(), "stranger");
        OperatorMode {
            config,
            creds,
            seed,
            stranger,
        }
    }
}
