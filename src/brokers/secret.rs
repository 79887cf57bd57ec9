//! Secrets of a secured cluster: passwords and tokens read from an environment variable or a file
//! when a lane connects, held in a type that never prints them, and the checks that a profile
//! names sources that exist. A profile never holds a secret itself, only where to find it.

use std::collections::BTreeMap;
use std::env::VarError;
use std::fmt;
use std::path::Path;

/// The environment a secret named by variable is read from: the process's own, or variables
/// given outright (tests, which must not write the environment of a multi-threaded process).
#[derive(Clone, Default)]
pub enum Env {
    /// The process environment.
    #[default]
    Process,
    /// These variables and no others.
    Given(BTreeMap<String, String>),
}

impl Env {
    /// An environment of exactly `vars`.
    pub fn given<'a>(vars: impl IntoIterator<Item = (&'a str, &'a str)>) -> Env {
        Env::Given(
            vars.into_iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        )
    }

    /// The value of variable `name`.
    fn var(&self, name: &str) -> Result<String, VarError> {
        match self {
            Env::Process => std::env::var(name),
            Env::Given(vars) => vars.get(name).cloned().ok_or(VarError::NotPresent),
        }
    }
}

impl fmt::Debug for Env {
    /// Names the variables, never their values.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Env::Process => f.write_str("Env::Process"),
            Env::Given(vars) => f.debug_set().entries(vars.keys()).finish(),
        }
    }
}

/// What a report, `--dry-run` or a log shows in place of a secret.
pub const REDACTED: &str = "***";

/// A password or token. `Debug` and `Display` print `***`; only [`Secret::expose`] gives the
/// value, for the client that sends it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// The value, for the client library that needs it; never for a message or a log.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

/// A setting at fault: the profile key it sits under, and what is wrong (never a secret's value).
pub type Fault = (&'static str, String);

/// Where one secret comes from: the profile keys of its two possible sources and their values.
#[derive(Debug, Clone, Copy)]
pub struct SecretSource<'a> {
    /// The key naming an environment variable (`sasl_password_env`) and its value, if set.
    pub env: (&'static str, Option<&'a str>),
    /// The key naming a file (`sasl_password_file`) and its value, if set.
    pub file: (&'static str, Option<&'a Path>),
}

impl SecretSource<'_> {
    /// Whether either source is set.
    pub fn is_set(&self) -> bool {
        self.env.1.is_some() || self.file.1.is_some()
    }

    /// Reads the secret (a variable from `env`): `None` when neither source is set; an error
    /// naming the key when both are, when the variable is unset or empty, or when the file is
    /// missing, unreadable or empty.
    pub fn read(&self, vars: &Env) -> Result<Option<Secret>, Fault> {
        let ((env_key, env), (file_key, file)) = (self.env, self.file);
        match (env, file) {
            (None, None) => Ok(None),
            (Some(_), Some(_)) => Err((
                env_key,
                format!("set either `{env_key}` or `{file_key}`, not both"),
            )),
            (Some(var), None) => from_env(env_key, var, vars).map(Some),
            (None, Some(path)) => from_file(file_key, path).map(Some),
        }
    }
}

/// The secret in environment variable `var` of `env` (named under profile key `key`).
fn from_env(key: &'static str, var: &str, env: &Env) -> Result<Secret, Fault> {
    if var.is_empty() {
        return Err((key, "must name an environment variable".into()));
    }
    match env.var(var) {
        Ok(v) if !v.is_empty() => Ok(Secret(v)),
        Ok(_) => Err((key, format!("environment variable {var} is empty"))),
        Err(VarError::NotPresent) => Err((key, format!("environment variable {var} is not set"))),
        Err(VarError::NotUnicode(_)) => Err((
            key,
            format!("environment variable {var} is not valid UTF-8"),
        )),
    }
}

/// The secret in the file at `path` (named under profile key `key`), without the line end.
pub fn from_file(key: &'static str, path: &Path) -> Result<Secret, Fault> {
    existing_file(key, path)?;
    let text = std::fs::read_to_string(path)
        .map_err(|e| (key, format!("cannot read {}: {e}", path.display())))?;
    let value = text.trim_end_matches(['\r', '\n']);
    if value.trim().is_empty() {
        return Err((key, format!("{} is empty", path.display())));
    }
    Ok(Secret(value.to_string()))
}

/// Checks that `path` (the value of profile key `key`) is a file that exists.
pub fn existing_file(key: &'static str, path: &Path) -> Result<(), Fault> {
    if path.as_os_str().is_empty() {
        return Err((key, "must name a file".into()));
    }
    match std::fs::metadata(path) {
        Ok(m) if m.is_file() => Ok(()),
        Ok(_) => Err((key, format!("{} is not a file", path.display()))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            Err((key, format!("{} does not exist", path.display())))
        }
        Err(e) => Err((key, format!("cannot read {}: {e}", path.display()))),
    }
}

/// Checks every file that is set: each must exist.
pub fn existing_files<'a>(
    files: impl IntoIterator<Item = (&'static str, Option<&'a Path>)>,
) -> Result<(), Fault> {
    files
        .into_iter()
        .filter_map(|(key, path)| path.map(|p| (key, p)))
        .try_for_each(|(key, path)| existing_file(key, path))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn source<'a>(env: Option<&'a str>, file: Option<&'a Path>) -> SecretSource<'a> {
        SecretSource {
            env: ("password_env", env),
            file: ("password_file", file),
        }
    }

    #[test]
    fn a_secret_never_prints() {
        let s = Secret("hunter2".into());
        assert_eq!(format!("{s} {s:?} {:?}", Some(&s)), "*** *** Some(***)");
        assert_eq!(s.expose(), "hunter2");
    }

    #[test]
    fn env_sources_name_the_variable_never_the_value() {
        let var = "PUBDUEL_TEST_SECRET_ENV_SOURCE";
        let (none, empty, set) = (
            Env::given([]),
            Env::given([(var, "")]),
            Env::given([(var, "s3cret")]),
        );
        assert_eq!(source(None, None).read(&none).unwrap(), None);
        let e = source(Some(var), None).read(&none).unwrap_err();
        assert_eq!(e.0, "password_env");
        assert!(e.1.contains(var) && e.1.contains("not set"), "{}", e.1);
        let e = source(Some(var), None).read(&empty).unwrap_err();
        assert!(e.1.contains("empty"), "{}", e.1);
        let s = source(Some(var), None).read(&set).unwrap().unwrap();
        assert_eq!(s.expose(), "s3cret");
        let e = source(Some(var), Some(Path::new("/x")))
            .read(&set)
            .unwrap_err();
        assert!(
            e.1.contains("not both") && !e.1.contains("s3cret"),
            "{}",
            e.1
        );
        assert_eq!(
            format!("{set:?}"),
            format!("{{\"{var}\"}}"),
            "never the value"
        );
    }

    #[test]
    fn file_sources_are_read_without_the_line_end() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("pw");
        let e = source(None, Some(&f)).read(&Env::Process).unwrap_err();
        assert_eq!(e.0, "password_file");
        assert!(e.1.contains("does not exist"), "{}", e.1);
        std::fs::write(&f, "\n").unwrap();
        assert!(source(None, Some(&f))
            .read(&Env::Process)
            .unwrap_err()
            .1
            .contains("empty"));
        std::fs::write(&f, "pa ss\n").unwrap();
        let s = source(None, Some(&f)).read(&Env::Process).unwrap().unwrap();
        assert_eq!(s.expose(), "pa ss");
        let e = existing_files([("tls_ca", Some(dir.path()))]).unwrap_err();
        assert!(e.1.contains("not a file"), "{}", e.1);
        assert!(existing_files([("tls_ca", Some(f.as_path())), ("tls_key", None)]).is_ok());
    }
}
