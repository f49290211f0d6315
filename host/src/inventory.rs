//! The device inventory (devices, platforms, facts, per-tenant port grants, and how to reach each device) and the plugin `Context` built from it.
//!
//! The connection fields (`address`, `port`, `username`, `passwordFile`,
//! `passwordEnv`, `privateKeyFile`, `hostKey`,
//! `insecureSkipHostKeyVerification`) are optional: `naas render` needs
//! none; `naas push` and `naas diff` refuse a device they must reach that
//! lacks them ([`Inventory::target`]). Secrets never sit in the devices
//! file itself: it names a file or an environment variable holding them.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_json::Value;

use crate::driver::{Secret, Target};
use crate::runtime::{Context, Device};

/// Why an inventory or variables file is unusable.
#[derive(Debug, thiserror::Error)]
pub enum InventoryError {
    /// The file could not be read.
    #[error("cannot read {file}: {source}")]
    Read {
        /// The file.
        file: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file is not valid YAML of the expected shape.
    #[error("{file}: {detail}")]
    Parse {
        /// The file.
        file: String,
        /// What is wrong, with the location.
        detail: String,
    },
    /// A field has an invalid value.
    #[error("{file}: {field}: {problem}")]
    Field {
        /// The file.
        file: String,
        /// The field path, e.g. `devices[1].grants[0].ports[2]`.
        field: String,
        /// What is wrong.
        problem: String,
    },
}

/// One device of the inventory, as written in the devices file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct InventoryDevice {
    /// Unique device name.
    pub name: String,
    /// Platform (`eos`, `frr`, `netconf`...).
    pub platform: String,
    /// Free-form facts (a mapping).
    #[serde(default)]
    pub facts: serde_json::Map<String, Value>,
    /// Which tenant may use which ports.
    #[serde(default)]
    pub grants: Vec<Grant>,
    /// Management address (push, diff).
    #[serde(default)]
    pub address: Option<String>,
    /// SSH port (default 22).
    #[serde(default)]
    pub port: Option<u16>,
    /// Login name.
    #[serde(default)]
    pub username: Option<String>,
    /// A file holding the password (relative to the devices file).
    #[serde(default)]
    pub password_file: Option<PathBuf>,
    /// An environment variable holding the password.
    #[serde(default)]
    pub password_env: Option<String>,
    /// A file holding an OpenSSH private key (relative to the devices file).
    #[serde(default)]
    pub private_key_file: Option<PathBuf>,
    /// The device's SSH host key, an OpenSSH public key line (`ssh-ed25519 AAAA…`).
    #[serde(default)]
    pub host_key: Option<String>,
    /// Accept any host key (never in production: anyone on the path can
    /// pose as the device). Exclusive with `hostKey`.
    #[serde(default)]
    pub insecure_skip_host_key_verification: bool,
}

/// Ports of a device granted to one tenant.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Grant {
    /// The tenant (a namespace).
    pub tenant: String,
    /// Ports and ranges (`Ethernet1-8`); expanded when the inventory loads.
    #[serde(default)]
    pub ports: Vec<String>,
}

/// The devices file: `devices:` followed by a list of [`InventoryDevice`].
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Inventory {
    /// All devices.
    #[serde(default)]
    pub devices: Vec<InventoryDevice>,
    /// The file it was read from, for errors (empty when built in memory).
    #[serde(skip)]
    pub file: String,
}

impl Inventory {
    /// Reads and checks a devices file.
    ///
    /// # Errors
    /// Unreadable file, invalid YAML, unknown fields, duplicate device names,
    /// or an invalid port range in a grant.
    pub fn load(path: &Path) -> Result<Self, InventoryError> {
        let file = path.display().to_string();
        let text = read(path)?;
        let mut inv = Self::parse(&text, &file)?;
        // Credential files are relative to the devices file.
        let base = path.parent().unwrap_or(Path::new(""));
        for d in &mut inv.devices {
            for f in [&mut d.password_file, &mut d.private_key_file]
                .into_iter()
                .flatten()
            {
                if f.is_relative() {
                    *f = base.join(&*f);
                }
            }
        }
        inv.file = file;
        Ok(inv)
    }

    /// Parses and checks devices-file text; `file` names it in errors.
    ///
    /// # Errors
    /// As [`Inventory::load`].
    pub fn parse(text: &str, file: &str) -> Result<Self, InventoryError> {
        let inv: Inventory = serde_yaml_ng::from_str(text).map_err(|e| InventoryError::Parse {
            file: file.to_string(),
            detail: e.to_string(),
        })?;
        inv.checked(file)
    }

    /// Checks device names (unique, not empty) and expands every grant's
    /// port ranges; `file` names the source in errors.
    ///
    /// # Errors
    /// A duplicate or empty device name, or an invalid port range.
    pub fn checked(mut self, file: &str) -> Result<Self, InventoryError> {
        let field_err = |field: String, problem: String| InventoryError::Field {
            file: file.to_string(),
            field,
            problem,
        };
        let mut names = BTreeSet::new();
        for (i, d) in self.devices.iter_mut().enumerate() {
            if d.name.is_empty() || !names.insert(d.name.clone()) {
                return Err(field_err(
                    format!("devices[{i}].name"),
                    format!("device name {:?} is empty or used twice", d.name),
                ));
            }
            for (j, g) in d.grants.iter_mut().enumerate() {
                let mut ports = Vec::new();
                for (k, p) in g.ports.iter().enumerate() {
                    let expanded = naas_plugin_sdk::expand_list(p).map_err(|e| {
                        field_err(
                            format!("devices[{i}].grants[{j}].ports[{k}]"),
                            e.to_string(),
                        )
                    })?;
                    ports.extend(expanded);
                }
                naas_plugin_sdk::sort_natural(&mut ports);
                g.ports = ports;
            }
        }
        Ok(self)
    }

    /// How to reach device `name`, with its credentials read from their
    /// file or environment variable.
    ///
    /// # Errors
    /// [`InventoryError::Field`] naming the device and the field when the
    /// device is not in the inventory, lacks an address, a username, a
    /// credential or a host-key decision, or a credential cannot be read.
    pub fn target(&self, name: &str) -> Result<Target, InventoryError> {
        let err = |field: String, problem: String| InventoryError::Field {
            file: self.file_name().to_string(),
            field,
            problem,
        };
        let Some((i, d)) = self
            .devices
            .iter()
            .enumerate()
            .find(|(_, d)| d.name == name)
        else {
            return Err(err(
                "devices".into(),
                format!("device {name} is not in the inventory: naas cannot reach it"),
            ));
        };
        let missing = |field: &str, what: &str| {
            err(
                format!("devices[{i}].{field}"),
                format!("device {name} has no {field} ({what}); naas push and naas diff need it"),
            )
        };
        let address = d
            .address
            .clone()
            .ok_or_else(|| missing("address", "its management address"))?;
        let username = d
            .username
            .clone()
            .ok_or_else(|| missing("username", "the login name"))?;
        let read_file = |field: &str, path: &Path| {
            std::fs::read_to_string(path).map_err(|e| {
                err(
                    format!("devices[{i}].{field}"),
                    format!("device {name}: cannot read {}: {e}", path.display()),
                )
            })
        };
        let secret = match (&d.private_key_file, &d.password_file, &d.password_env) {
            (Some(key), None, None) => Secret::PrivateKey(read_file("privateKeyFile", key)?),
            (None, Some(file), None) => {
                let text = read_file("passwordFile", file)?;
                Secret::Password(text.trim_end_matches(['\n', '\r']).to_string())
            }
            (None, None, Some(var)) => Secret::Password(std::env::var(var).map_err(|_| {
                err(
                    format!("devices[{i}].passwordEnv"),
                    format!("device {name}: environment variable {var} is not set"),
                )
            })?),
            (None, None, None) => {
                return Err(missing(
                    "passwordFile",
                    "or privateKeyFile or passwordEnv: its credential",
                ));
            }
            _ => {
                return Err(err(
                    format!("devices[{i}]"),
                    format!("device {name}: give one of passwordFile, passwordEnv, privateKeyFile"),
                ));
            }
        };
        let host_key = match (&d.host_key, d.insecure_skip_host_key_verification) {
            (Some(k), false) => Some(k.trim().to_string()),
            (None, true) => None,
            (None, false) => {
                return Err(missing(
                    "hostKey",
                    "its SSH host key, e.g. from ssh-keyscan; or insecureSkipHostKeyVerification: true",
                ));
            }
            (Some(_), true) => {
                return Err(err(
                    format!("devices[{i}].hostKey"),
                    format!(
                        "device {name}: hostKey and insecureSkipHostKeyVerification exclude each other"
                    ),
                ));
            }
        };
        Ok(Target {
            device: d.name.clone(),
            address,
            port: d.port.unwrap_or(22),
            platform: d.platform.clone(),
            username,
            secret,
            host_key,
        })
    }

    fn file_name(&self) -> &str {
        if self.file.is_empty() {
            "the devices file"
        } else {
            &self.file
        }
    }

    /// The context a plugin sees for `tenant`: the devices granted to it
    /// (sorted by name) with the union of their granted ports.
    #[must_use]
    pub fn context_for(&self, tenant: &str, variables: &Value) -> Context {
        let mut devices: Vec<Device> = self
            .devices
            .iter()
            .filter_map(|d| {
                let grants: Vec<&Grant> = d.grants.iter().filter(|g| g.tenant == tenant).collect();
                if grants.is_empty() {
                    return None;
                }
                let mut ports: Vec<String> = grants
                    .iter()
                    .flat_map(|g| g.ports.iter().cloned())
                    .collect();
                // One grant's ports are sorted already ([`Inventory::checked`]).
                if grants.len() > 1 {
                    naas_plugin_sdk::sort_natural(&mut ports);
                }
                Some(Device {
                    name: d.name.clone(),
                    platform: d.platform.clone(),
                    facts: Value::Object(d.facts.clone()).to_string(),
                    ports,
                })
            })
            .collect();
        devices.sort_by(|a, b| a.name.cmp(&b.name));
        Context {
            tenant: tenant.to_string(),
            devices,
            variables: variables.to_string(),
        }
    }
}

/// Reads a variables file (YAML or JSON) that must hold a mapping.
///
/// # Errors
/// Unreadable file, invalid YAML, or a top level that is not a mapping.
pub fn load_variables(path: &Path) -> Result<Value, InventoryError> {
    let file = path.display().to_string();
    let value: Value =
        serde_yaml_ng::from_str(&read(path)?).map_err(|e| InventoryError::Parse {
            file: file.clone(),
            detail: e.to_string(),
        })?;
    match value {
        Value::Object(_) => Ok(value),
        Value::Null => Ok(Value::Object(serde_json::Map::new())),
        _ => Err(InventoryError::Field {
            file,
            field: "(top level)".into(),
            problem: "variables must be a mapping of names to values".into(),
        }),
    }
}

fn read(path: &Path) -> Result<String, InventoryError> {
    std::fs::read_to_string(path).map_err(|source| InventoryError::Read {
        file: path.display().to_string(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const INV: &str = "
devices:
  - name: leaf2
    platform: eos
    grants:
      - {tenant: tenant-a, ports: [Ethernet9-10]}
  - name: leaf1
    platform: eos
    facts: {model: 7050}
    grants:
      - {tenant: tenant-a, ports: ['Ethernet3,Ethernet1-2']}
      - {tenant: tenant-b, ports: [Ethernet11]}
      - {tenant: tenant-a, ports: [Ethernet2, Ethernet5]}
";

    #[test]
    fn context_holds_only_the_tenants_devices_and_ports() {
        let inv = Inventory::parse(INV, "d.yaml").unwrap();
        let ctx = inv.context_for("tenant-a", &serde_json::json!({"x": 1}));
        assert_eq!(ctx.devices.len(), 2);
        assert_eq!(ctx.devices[0].name, "leaf1");
        assert_eq!(
            ctx.devices[0].ports,
            ["Ethernet1", "Ethernet2", "Ethernet3", "Ethernet5"]
        );
        assert_eq!(ctx.devices[0].facts, r#"{"model":7050}"#);
        assert_eq!(ctx.variables, r#"{"x":1}"#);
        let b = inv.context_for("tenant-b", &Value::Null);
        assert_eq!(b.devices.len(), 1);
        assert_eq!(b.devices[0].ports, ["Ethernet11"]);
        assert!(inv.context_for("tenant-c", &Value::Null).devices.is_empty());
    }

    #[test]
    fn a_target_needs_every_connection_field_and_reads_credentials() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("pw"), "s3cret\n").unwrap();
        let path = dir.path().join("devices.yaml");
        std::fs::write(
            &path,
            "devices:
  - {name: r1, platform: frr, address: 10.0.0.1, username: naas, passwordFile: pw, hostKey: 'ssh-ed25519 AAAA'}
  - {name: r2, platform: frr, address: 10.0.0.2, port: 2222, username: naas, passwordEnv: NAAS_TEST_NO_SUCH_VAR, insecureSkipHostKeyVerification: true}
  - {name: r3, platform: frr, username: naas}
  - {name: r4, platform: frr, address: a, username: naas, passwordFile: pw}
  - {name: r5, platform: frr, address: a, username: naas, passwordFile: pw, privateKeyFile: k, hostKey: x}
",
        )
        .unwrap();
        let inv = Inventory::load(&path).unwrap();
        let t = inv.target("r1").unwrap();
        assert_eq!((t.address.as_str(), t.port), ("10.0.0.1", 22));
        assert!(matches!(&t.secret, Secret::Password(p) if p == "s3cret"));
        assert_eq!(t.host_key.as_deref(), Some("ssh-ed25519 AAAA"));
        let e = inv.target("r2").unwrap_err().to_string();
        assert!(
            e.contains("devices[1].passwordEnv") && e.contains("NAAS_TEST_NO_SUCH_VAR"),
            "{e}"
        );
        for (device, field) in [
            ("r3", "devices[2].address"),
            ("r4", "devices[3].hostKey"),
            ("r5", "devices[4]"),
            ("r9", "devices"),
        ] {
            let e = inv.target(device).unwrap_err().to_string();
            assert!(e.contains(field) && e.contains(device), "{device}: {e}");
            assert!(!e.contains("s3cret"), "never print secrets: {e}");
        }
        assert!(
            Inventory::parse("devices: [{name: a, platform: frr, password: x}]", "d.yaml").is_err(),
            "no inline password"
        );
    }

    #[test]
    fn errors_name_the_field() {
        let e = Inventory::parse(
            "devices: [{name: a, platform: eos, grants: [{tenant: t, ports: [Eth4-1]}]}]",
            "d.yaml",
        )
        .unwrap_err();
        assert!(
            e.to_string()
                .starts_with("d.yaml: devices[0].grants[0].ports[0]: invalid port"),
            "{e}"
        );
        let e = Inventory::parse("devices: [{name: a, platform: eos, colour: red}]", "d.yaml")
            .unwrap_err();
        assert!(e.to_string().contains("unknown field `colour`"), "{e}");
        let e = Inventory::parse(
            "devices: [{name: a, platform: eos}, {name: a, platform: frr}]",
            "d.yaml",
        )
        .unwrap_err();
        assert!(e.to_string().contains("devices[1].name"), "{e}");
    }
}
