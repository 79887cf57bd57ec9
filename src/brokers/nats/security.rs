//! The NATS lane's security settings: the login (creds file, nkey seed, token, or user and
//! password) and TLS keys of `[nats]`, their checks, the async-nats options they become, and what
//! a refused connection means.

use super::NatsSettings;
use crate::brokers::secret::{existing_files, from_file, Env, Fault, Secret, SecretSource};
use async_nats::{ConnectErrorKind, ConnectOptions};

/// Keys a profile might use to put a secret in `[nats]` itself, refused with where the secret
/// should come from instead.
pub const INLINE_SECRETS: [(&str, &str); 3] = [
    (
        "password",
        "password_env (an environment variable) or password_file (a file)",
    ),
    (
        "token",
        "token_env (an environment variable) or token_file (a file)",
    ),
    ("nkey", "nkey_seed (a file holding the seed)"),
];

fn password(s: &NatsSettings) -> SecretSource<'_> {
    SecretSource {
        env: ("password_env", s.password_env.as_deref()),
        file: ("password_file", s.password_file.as_deref()),
    }
}

fn token(s: &NatsSettings) -> SecretSource<'_> {
    SecretSource {
        env: ("token_env", s.token_env.as_deref()),
        file: ("token_file", s.token_file.as_deref()),
    }
}

/// The ways of logging in that are set, by the key that sets each.
fn logins(s: &NatsSettings) -> Vec<&'static str> {
    [
        ("creds", s.creds.is_some()),
        ("nkey_seed", s.nkey_seed.is_some()),
        ("token_env", s.token_env.is_some()),
        ("token_file", s.token_file.is_some()),
        ("user", s.user.is_some() || password(s).is_set()),
    ]
    .into_iter()
    .filter_map(|(key, set)| set.then_some(key))
    .collect()
}

/// Checks the login and TLS keys: one way of logging in, its parts complete, every secret and
/// file readable. The error names the key, never a secret.
pub(super) fn validate(s: &NatsSettings, env: &Env) -> Result<(), Fault> {
    let logins = logins(s);
    let tokens = s.token_env.is_some() && s.token_file.is_some();
    if logins.len() > 1 && !(tokens && logins.len() == 2) {
        let msg = format!(
            "log in one way only: {} are set",
            logins
                .iter()
                .map(|k| format!("`{k}`"))
                .collect::<Vec<_>>()
                .join(", ")
        );
        return Err((logins[1], msg));
    }
    match (&s.user, password(s).is_set()) {
        (Some(u), _) if u.is_empty() => return Err(("user", "must not be empty".into())),
        (Some(_), false) => {
            return Err((
                "password_env",
                "or password_file is needed with user".into(),
            ))
        }
        (None, true) => return Err(("user", "is needed with a password".into())),
        _ => {}
    }
    password(s).read(env)?;
    token(s).read(env)?;
    match (&s.tls_cert, &s.tls_key) {
        (Some(_), None) => return Err(("tls_key", "is needed with tls_cert".into())),
        (None, Some(_)) => return Err(("tls_cert", "is needed with tls_key".into())),
        _ => {}
    }
    existing_files([
        ("tls_ca", s.tls_ca.as_deref()),
        ("tls_cert", s.tls_cert.as_deref()),
        ("tls_key", s.tls_key.as_deref()),
        ("nkey_seed", s.nkey_seed.as_deref()),
    ])?;
    creds(s, ConnectOptions::new()).map(|_| ())
}

/// `o` with the creds file's JWT and seed, when `creds` is set.
fn creds(s: &NatsSettings, o: ConnectOptions) -> Result<ConnectOptions, Fault> {
    let Some(path) = &s.creds else {
        return Ok(o);
    };
    let text = from_file("creds", path)?;
    o.credentials(text.expose()).map_err(|e| {
        let msg = format!("{} is not a NATS credentials file: {e}", path.display());
        ("creds", msg)
    })
}

/// Whether the connection must be TLS: a `tls://` URL, or any TLS key set (so a CA or a client
/// certificate is never silently left unused on a plain connection).
pub(super) fn tls_required(s: &NatsSettings) -> bool {
    s.servers().iter().any(|u| u.starts_with("tls://"))
        || s.tls_ca.is_some()
        || s.tls_cert.is_some()
        || s.tls_first
}

/// `o` with the login a server URL carries (`nats://user:password@host`, `nats://token@host`),
/// when no key of `[nats]` sets one: the client then connects to URLs without it, which it
/// would otherwise show in its debug logs.
fn url_login(s: &NatsSettings, o: ConnectOptions) -> ConnectOptions {
    if !logins(s).is_empty() {
        return o;
    }
    let with_login = s.servers().into_iter().find_map(|u| {
        let addr = u.parse::<async_nats::ServerAddr>().ok()?;
        let user = addr.username()?.to_string();
        Some((user, addr.password().map(str::to_string)))
    });
    match with_login {
        Some((user, Some(password))) => o.user_and_password(user, password),
        Some((token, None)) => o.token(token),
        None => o,
    }
}

/// `o` with the login and TLS settings, each secret read now from its source.
pub(super) fn apply(
    s: &NatsSettings,
    o: ConnectOptions,
    env: &Env,
) -> Result<ConnectOptions, Fault> {
    let mut o = creds(s, url_login(s, o))?;
    if let Some(path) = &s.nkey_seed {
        let seed = from_file("nkey_seed", path)?;
        o = o.nkey(seed.expose().trim().to_string());
    }
    if let Some(t) = token(s).read(env)? {
        o = o.token(t.expose().to_string());
    }
    if let (Some(user), Some(pw)) = (&s.user, password(s).read(env)?) {
        o = o.user_and_password(user.clone(), owned(&pw));
    }
    if let Some(ca) = &s.tls_ca {
        o = o.add_root_certificates(ca.clone());
    }
    if let (Some(cert), Some(key)) = (&s.tls_cert, &s.tls_key) {
        o = o.add_client_certificate(cert.clone(), key.clone());
    }
    if s.tls_first {
        o = o.tls_first();
    }
    Ok(o.require_tls(tls_required(s)))
}

/// The secret's value, for the client that sends it.
fn owned(secret: &Secret) -> String {
    secret.expose().to_string()
}

/// TLS alerts a server sends when it does not take the client's certificate (rustls's names).
const CLIENT_CERTIFICATE_ALERTS: [&str; 6] = [
    "badcertificate",
    "unknownca",
    "certificateunknown",
    "unsupportedcertificate",
    "certificateexpired",
    "certificaterevoked",
];

/// Why a server that answered did not let the lane in, as a hint naming the keys to check; `None`
/// when the failure is not one of those (the server is rather unreachable).
pub(super) fn refusal(
    kind: ConnectErrorKind,
    detail: &str,
    s: &NatsSettings,
) -> Option<&'static str> {
    let lower = detail.to_ascii_lowercase();
    // An alert the server sent: about the client's certificate, when it is one of these.
    let alert = lower
        .split_once("received fatal alert: ")
        .map_or("", |(_, a)| a);
    let wanted = alert.starts_with("certificaterequired");
    let not_taken = CLIENT_CERTIFICATE_ALERTS
        .iter()
        .any(|c| alert.starts_with(c));
    let certificate = lower.contains("certificate") || lower.contains("unknownissuer");
    let tls = tls_required(s);
    match kind {
        ConnectErrorKind::AuthorizationViolation => Some(
            "The server refused the login: check user and the password in password_env or \
             password_file of [nats] (or token_env/token_file, nkey_seed, creds).",
        ),
        ConnectErrorKind::Authentication => Some(
            "The login could not be signed: check that nkey_seed or creds of [nats] hold a \
             valid user seed.",
        ),
        _ if wanted => Some(
            "The server asks for a client certificate: set tls_cert and tls_key of [nats] to the \
             PEM files of a certificate signed by a CA it trusts, and its key.",
        ),
        _ if not_taken => Some(
            "The server did not take the client certificate: check tls_cert and tls_key of [nats] \
             (a certificate signed by a CA the server trusts, not expired, and its key).",
        ),
        _ if certificate => Some(
            "The server's TLS certificate is not trusted: point tls_ca of [nats] at the PEM file \
             of the CA that signed it (and check the certificate names this host).",
        ),
        ConnectErrorKind::Tls => {
            Some("TLS could not be set up: check tls_ca, tls_cert and tls_key of [nats].")
        }
        ConnectErrorKind::Io if tls && !s.tls_first && lower.contains("expected info") => Some(
            "The server said nothing: it may wait for TLS before its first message \
             (handshake_first): set tls_first = true in [nats].",
        ),
        ConnectErrorKind::Io if tls && !unreachable(&lower) => Some(
            "TLS is required (a tls:// URL or a tls_* key of [nats]) but the server did not \
             complete a TLS handshake: does it have TLS on (and handshake_first for tls_first)?",
        ),
        _ => None,
    }
}

/// Whether an I/O error says nothing answered at all (rather than a failed handshake).
fn unreachable(lower: &str) -> bool {
    ["refused", "unreachable", "no route", "timed out", "dns"]
        .iter()
        .any(|w| lower.contains(w))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(env: &str) -> NatsSettings {
        NatsSettings {
            user: Some("alice".into()),
            password_env: Some(env.into()),
            ..NatsSettings::default()
        }
    }

    #[test]
    fn a_user_needs_a_password_that_is_set() {
        let mut env = Env::given([]);
        let var = "PUBDUEL_TEST_NATS_PW";
        let e = validate(&user(var), &env).unwrap_err();
        assert_eq!(e.0, "password_env");
        assert!(e.1.contains(var) && e.1.contains("not set"), "{}", e.1);
        env = Env::given([(var, "nats-pw")]);
        assert!(validate(&user(var), &env).is_ok());
        let o = apply(&user(var), ConnectOptions::new(), &env).unwrap();
        assert!(!format!("{o:?}").contains("nats-pw"));
        env = Env::given([]);
        let no_pw = NatsSettings {
            password_env: None,
            ..user(var)
        };
        assert_eq!(validate(&no_pw, &env).unwrap_err().0, "password_env");
        let no_user = NatsSettings {
            user: None,
            ..user(var)
        };
        assert_eq!(validate(&no_user, &env).unwrap_err().0, "user");
    }

    #[test]
    fn one_login_and_files_that_exist() {
        let env = Env::given([]);
        let both = NatsSettings {
            token_env: Some("T".into()),
            nkey_seed: Some("seed".into()),
            ..NatsSettings::default()
        };
        let e = validate(&both, &env).unwrap_err();
        assert!(e.1.contains("one way"), "{}", e.1);
        let missing = NatsSettings {
            tls_ca: Some("/nonexistent/ca.pem".into()),
            ..NatsSettings::default()
        };
        let e = validate(&missing, &env).unwrap_err();
        assert_eq!(e.0, "tls_ca");
        assert!(e.1.contains("does not exist"), "{}", e.1);
        assert!(tls_required(&missing));
        assert!(!tls_required(&NatsSettings::default()));
        let tls_url = NatsSettings {
            url: "tls://127.0.0.1:4222".into(),
            ..NatsSettings::default()
        };
        assert!(tls_required(&tls_url));
    }

    #[test]
    fn a_login_in_the_url_is_taken_out_of_it() {
        let env = Env::given([]);
        let s = NatsSettings {
            url: "nats://me:pw@127.0.0.1:4222".into(),
            ..NatsSettings::default()
        };
        let o = apply(&s, ConnectOptions::new(), &env).unwrap();
        assert!(!format!("{o:?}").contains("pw"));
        assert_eq!(s.redacted().servers(), ["nats://127.0.0.1:4222"]);
    }

    #[test]
    fn refusals_name_their_cause() {
        let (plain, tls) = (NatsSettings::default(), tls_first(false));
        let auth = refusal(ConnectErrorKind::AuthorizationViolation, "", &plain).unwrap();
        assert!(auth.contains("login"));
        let ca = "IO error: invalid peer certificate: UnknownIssuer";
        assert!(refusal(ConnectErrorKind::Io, ca, &tls)
            .unwrap()
            .contains("tls_ca"));
        let corrupt = "IO error: received corrupt message of type InvalidContentType";
        assert!(refusal(ConnectErrorKind::Io, corrupt, &tls).is_some());
        assert!(refusal(ConnectErrorKind::Io, corrupt, &plain).is_none());
        let refused = "IO error: Connection refused";
        assert!(refusal(ConnectErrorKind::Io, refused, &tls).is_none());
        assert!(refusal(ConnectErrorKind::TimedOut, "timed out", &tls).is_none());
    }

    fn tls_first(first: bool) -> NatsSettings {
        NatsSettings {
            url: "tls://127.0.0.1:4222".into(),
            tls_first: first,
            ..NatsSettings::default()
        }
    }

    #[test]
    fn a_refused_client_certificate_is_told_from_an_untrusted_server() {
        let tls = tls_first(false);
        let hint = |detail: &str| refusal(ConnectErrorKind::Io, detail, &tls).unwrap();
        let required = hint("IO error: received fatal alert: CertificateRequired");
        assert!(
            required.contains("asks for a client certificate"),
            "{required}"
        );
        for alert in ["UnknownCA", "BadCertificate", "CertificateExpired"] {
            let h = hint(&format!("IO error: received fatal alert: {alert}"));
            assert!(
                h.contains("did not take the client certificate"),
                "{alert}: {h}"
            );
        }
        let untrusted = hint("IO error: invalid peer certificate: UnknownIssuer");
        assert!(untrusted.contains("tls_ca") && !untrusted.contains("tls_cert"));
        let silent = "IO error: expected INFO, got nothing";
        assert!(hint(silent).contains("tls_first = true"));
        let first = refusal(ConnectErrorKind::Io, silent, &tls_first(true)).unwrap();
        assert!(!first.contains("tls_first = true"), "{first}");
    }
}
