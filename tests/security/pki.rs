//! Certificates made for one test with rcgen: a CA, a server certificate for 127.0.0.1 and a
//! client certificate it signed, and a second CA that signed nothing the servers trust but a
//! stranger's client certificate. The client key comes plain and encrypted (PKCS#8, PBES2 with
//! PBKDF2-SHA256 and AES-256-CBC, as `openssl pkcs8 -topk8 -v2 aes-256-cbc` writes it).

use pkcs8::pkcs5::pbes2;
use pkcs8::{LineEnding, PrivateKeyInfo};
use rcgen::{BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair};
use std::path::PathBuf;

/// The files of one test's certificates, in a folder removed when dropped.
pub struct Pki {
    pub dir: tempfile::TempDir,
    /// The CA that signed the servers' and the client's certificates (PEM).
    pub ca: PathBuf,
    /// A CA nobody trusts (PEM).
    pub other_ca: PathBuf,
    /// The server certificate (PEM).
    pub cert: PathBuf,
    /// Its private key (PKCS#8 PEM).
    pub key: PathBuf,
    /// Key, certificate and CA in one PEM file: Kafka's keystore.
    pub keystore: PathBuf,
    /// The client certificate the CA signed (PEM).
    pub client_cert: PathBuf,
    /// Its private key (PKCS#8 PEM, not encrypted).
    pub client_key: PathBuf,
    /// The same key encrypted with [`Pki::client_key_password`] (PKCS#8 PEM).
    pub client_key_encrypted: PathBuf,
    /// The password of the encrypted client key.
    pub client_key_password: String,
    /// A client certificate the other CA signed (PEM), with its plain key.
    pub stranger: (PathBuf, PathBuf),
}

fn ca(name: &str) -> (rcgen::Certificate, KeyPair) {
    let key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(DnType::CommonName, name);
    (params.self_signed(&key).unwrap(), key)
}

/// A certificate for `names` signed by `issuer`, and its new key; a client's when `client`.
fn leaf(
    names: &[&str],
    client: bool,
    issuer: &(rcgen::Certificate, KeyPair),
) -> (rcgen::Certificate, KeyPair) {
    let key = KeyPair::generate().unwrap();
    let names = names.iter().map(|n| n.to_string()).collect::<Vec<_>>();
    let mut params = CertificateParams::new(names.clone()).expect("names for a certificate");
    params
        .distinguished_name
        .push(DnType::CommonName, names[0].as_str());
    if client {
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    }
    (params.signed_by(&key, &issuer.0, &issuer.1).unwrap(), key)
}

/// `key` as an encrypted PKCS#8 PEM file's text.
fn encrypted(key: &KeyPair, password: &str) -> String {
    let der = key.serialize_der();
    let info = PrivateKeyInfo::try_from(der.as_slice()).expect("a PKCS#8 key");
    let (salt, iv): ([u8; 16], [u8; 16]) = (rand::random(), rand::random());
    let params = pbes2::Parameters::pbkdf2_sha256_aes256cbc(2048, &salt, &iv).unwrap();
    let doc = info.encrypt_with_params(params, password).unwrap();
    doc.to_pem("ENCRYPTED PRIVATE KEY", LineEnding::LF)
        .unwrap()
        .to_string()
}

impl Pki {
    /// New certificates; the client key's password is `key_password`.
    pub fn new(key_password: &str) -> Pki {
        let dir = tempfile::tempdir().unwrap();
        let root = ca("pubduel test CA");
        let other = ca("pubduel other CA");
        let (cert, key) = leaf(&["127.0.0.1", "localhost"], false, &root);
        let (client, client_key) = leaf(&["pubduel-client"], true, &root);
        let (stranger, stranger_key) = leaf(&["pubduel-stranger"], true, &other);
        let write = |name: &str, text: String| {
            let path = dir.path().join(name);
            std::fs::write(&path, text).unwrap();
            path
        };
        Pki {
            ca: write("ca.pem", root.0.pem()),
            other_ca: write("other-ca.pem", other.0.pem()),
            cert: write("server.pem", cert.pem()),
            key: write("server.key", key.serialize_pem()),
            keystore: write(
                "keystore.pem",
                format!("{}{}{}", key.serialize_pem(), cert.pem(), root.0.pem()),
            ),
            client_cert: write("client.pem", client.pem()),
            client_key: write("client.key", client_key.serialize_pem()),
            client_key_encrypted: write(
                "client-encrypted.key",
                encrypted(&client_key, key_password),
            ),
            client_key_password: key_password.to_string(),
            stranger: (
                write("stranger.pem", stranger.pem()),
                write("stranger.key", stranger_key.serialize_pem()),
            ),
            dir,
        }
    }

    /// Writes `text` to a file of this test's folder and returns its path.
    pub fn file(&self, name: &str, text: &str) -> PathBuf {
        let path = self.dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path
    }
}
