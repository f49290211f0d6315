//! The device inventory (devices, platforms, facts, per-tenant port grants) and the plugin `Context` built from it.

use std::collections::BTreeSet;
use std::path::Path;

use serde::Deserialize;
use serde_json::Value;

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
#[derive(Debug, Clone, Deserialize)]
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
        Self::parse(&text, &file)
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
                naas_plugin_sdk::sort_natural(&mut ports);
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
