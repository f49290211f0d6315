//! Registry credentials from a docker config JSON (`~/.docker/config.json`, or a Kubernetes `kubernetes.io/dockerconfigjson` pull Secret).

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use oci_client::secrets::RegistryAuth;
use serde::Deserialize;

use super::error::{Error, OciResult};

/// Basic-auth credentials by registry, read from a docker config JSON:
/// `{"auths": {"host:port": {"auth": "base64(user:pass)"}}}` or with
/// `username` and `password` fields (the legacy `.dockercfg` layout, without
/// the `auths` wrapper, is read too). Keys may carry a scheme and a path
/// (`https://index.docker.io/v1/`); they are matched on the host.
///
/// A registry without credentials is accessed anonymously; when it asks for
/// a bearer token, `oci-client` runs the token flow with whatever credentials
/// were found, once the realm passed naas's check (no plain-HTTP realm that
/// `--insecure-registry` does not name).
#[derive(Clone, Default)]
pub struct DockerConfig {
    creds: BTreeMap<String, (String, String)>,
}

impl fmt::Debug for DockerConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never print secrets.
        f.debug_struct("DockerConfig")
            .field("registries", &self.creds.keys().collect::<Vec<_>>())
            .finish()
    }
}

#[derive(Deserialize)]
struct File {
    auths: Option<BTreeMap<String, Entry>>,
    #[serde(flatten)]
    legacy: BTreeMap<String, serde_json::Value>,
}

#[derive(Deserialize, Default)]
struct Entry {
    auth: Option<String>,
    username: Option<String>,
    password: Option<String>,
}

impl DockerConfig {
    /// No credentials: every registry is accessed anonymously.
    #[must_use]
    pub fn anonymous() -> Self {
        Self::default()
    }

    /// Reads `path`.
    ///
    /// # Errors
    /// [`Error::RegistryConfig`] when the file cannot be read or is not a
    /// docker config JSON, naming the entry at fault.
    pub fn from_file(path: &Path) -> OciResult<Self> {
        let text = std::fs::read(path).map_err(|e| Error::RegistryConfig {
            path: path.to_path_buf(),
            detail: format!("cannot read it: {e}"),
        })?;
        Self::parse(&text).map_err(|detail| Error::RegistryConfig {
            path: path.to_path_buf(),
            detail,
        })
    }

    /// Reads the explicit file if given, else `~/.docker/config.json` (or
    /// `$DOCKER_CONFIG/config.json`) when it exists, else none.
    ///
    /// # Errors
    /// When the chosen file cannot be read or parsed.
    pub fn discover(explicit: Option<&Path>) -> OciResult<Self> {
        if let Some(path) = explicit {
            return Self::from_file(path);
        }
        match default_path() {
            Some(p) if p.is_file() => Self::from_file(&p),
            _ => Ok(Self::anonymous()),
        }
    }

    /// Parses a docker config JSON document.
    ///
    /// # Errors
    /// A message naming what is wrong.
    pub fn parse(json: &[u8]) -> Result<Self, String> {
        let file: File = serde_json::from_slice(json).map_err(|e| {
            format!("not a docker config JSON ({e}); expected {{\"auths\": {{…}}}}")
        })?;
        let entries = match file.auths {
            Some(a) => a,
            None => file
                .legacy
                .into_iter()
                .filter_map(|(k, v)| serde_json::from_value::<Entry>(v).ok().map(|e| (k, e)))
                .collect(),
        };
        let mut creds = BTreeMap::new();
        for (key, entry) in entries {
            let pair = match (entry.auth.filter(|a| !a.is_empty()), entry.username) {
                (Some(auth), _) => {
                    decode_auth(&auth).map_err(|e| format!("auths.{key:?}.auth: {e}"))?
                }
                (None, Some(user)) => (user, entry.password.unwrap_or_default()),
                // Credential helpers and identity tokens are not supported.
                (None, None) => continue,
            };
            creds.insert(host_of(&key), pair);
        }
        Ok(Self { creds })
    }

    /// The credentials for `registry` (`host[:port]`), anonymous if none.
    #[must_use]
    pub fn auth_for(&self, registry: &str) -> RegistryAuth {
        let key = host_of(registry);
        match self.creds.get(&key) {
            Some((u, p)) => RegistryAuth::Basic(u.clone(), p.clone()),
            None => RegistryAuth::Anonymous,
        }
    }

    /// Whether credentials exist for `registry`.
    #[must_use]
    pub fn has(&self, registry: &str) -> bool {
        self.creds.contains_key(&host_of(registry))
    }
}

/// `$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`.
fn default_path() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("DOCKER_CONFIG").filter(|d| !d.is_empty()) {
        return Some(PathBuf::from(dir).join("config.json"));
    }
    std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".docker/config.json"))
}

fn decode_auth(auth: &str) -> Result<(String, String), String> {
    let raw = STANDARD
        .decode(auth.trim())
        .map_err(|e| format!("not base64 ({e}); expected base64(\"user:password\")"))?;
    let text = String::from_utf8(raw).map_err(|_| "not UTF-8 once decoded".to_string())?;
    let (user, pass) = text
        .split_once(':')
        .ok_or("decodes to no \"user:password\" pair")?;
    Ok((user.to_string(), pass.to_string()))
}

/// `https://host:port/v1/` → `host:port`; Docker Hub's aliases are one host.
fn host_of(key: &str) -> String {
    let no_scheme = key
        .strip_prefix("https://")
        .or_else(|| key.strip_prefix("http://"))
        .unwrap_or(key);
    let host = no_scheme.split('/').next().unwrap_or(no_scheme);
    match host {
        "docker.io" | "registry-1.docker.io" | "index.docker.io" => "index.docker.io".into(),
        h => h.to_ascii_lowercase(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn basic(a: RegistryAuth) -> (String, String) {
        match a {
            RegistryAuth::Basic(u, p) => (u, p),
            other => panic!("expected basic auth, got {other:?}"),
        }
    }

    #[test]
    fn reads_auth_and_username_password_entries() {
        let json = br#"{"auths": {
            "127.0.0.1:5000": {"auth": "YWxpY2U6czNjcjN0"},
            "https://index.docker.io/v1/": {"username": "bob", "password": "pw"},
            "helper.example": {}
        }, "credsStore": "desktop"}"#;
        let c = DockerConfig::parse(json).unwrap();
        assert_eq!(
            basic(c.auth_for("127.0.0.1:5000")),
            ("alice".into(), "s3cr3t".into())
        );
        assert_eq!(basic(c.auth_for("docker.io")), ("bob".into(), "pw".into()));
        assert!(matches!(
            c.auth_for("helper.example"),
            RegistryAuth::Anonymous
        ));
        assert!(matches!(c.auth_for("other:1"), RegistryAuth::Anonymous));
        assert!(!format!("{c:?}").contains("s3cr3t"));
    }

    #[test]
    fn reads_the_legacy_layout() {
        let c = DockerConfig::parse(br#"{"r.example:443": {"auth": "dTpw"}}"#).unwrap();
        assert_eq!(basic(c.auth_for("r.example:443")), ("u".into(), "p".into()));
    }

    #[test]
    fn bad_entries_are_named() {
        let e = DockerConfig::parse(br#"{"auths": {"r": {"auth": "!!"}}}"#).unwrap_err();
        assert!(
            e.contains("auths.\"r\".auth") && e.contains("base64"),
            "{e}"
        );
        let e = DockerConfig::parse(br#"{"auths": {"r": {"auth": "bm9jb2xvbg=="}}}"#).unwrap_err();
        assert!(e.contains("user:password"), "{e}");
        assert!(DockerConfig::parse(b"[1]").unwrap_err().contains("auths"));
    }

    #[test]
    fn a_named_file_must_exist() {
        let e = DockerConfig::discover(Some(Path::new("/nonexistent/config.json"))).unwrap_err();
        assert!(e.to_string().contains("/nonexistent/config.json"), "{e}");
    }
}
