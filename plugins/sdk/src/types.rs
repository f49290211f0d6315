//! Native mirrors of the WIT records of `naas:plugin/types`, independent of the target.

/// One service kind handled by a plugin (WIT `service-kind`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ServiceKind {
    /// API group, e.g. `network.naas.io`.
    pub group: String,
    /// API version within the group, e.g. `v1alpha1`.
    pub version: String,
    /// Kind in CamelCase, e.g. `AccessPorts`.
    pub kind: String,
    /// Lower-case plural, e.g. `accessports`.
    pub plural: String,
    /// OpenAPI v3 schema of `spec`, as JSON text.
    pub spec_schema: String,
}

/// What a plugin is and what it handles (WIT `plugin-info`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PluginInfo {
    /// Plugin name, e.g. `access-ports`.
    pub name: String,
    /// Plugin version (semver).
    pub version: String,
    /// Who ships it.
    pub vendor: String,
    /// One line for humans.
    pub description: String,
    /// Service kinds handled; at least one.
    pub kinds: Vec<ServiceKind>,
    /// Device platforms rendered for, e.g. `eos`.
    pub platforms: Vec<String>,
}

/// A service to act on: one custom resource (WIT `service`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Service {
    /// `apiVersion`, e.g. `network.naas.io/v1alpha1`.
    pub api_version: String,
    /// `kind`, e.g. `AccessPorts`.
    pub kind: String,
    /// `metadata.namespace`: the tenant.
    pub namespace: String,
    /// `metadata.name`.
    pub name: String,
    /// `metadata.generation`.
    pub generation: i64,
    /// `metadata.labels`, sorted by key.
    pub labels: Vec<(String, String)>,
    /// The resource's `spec`, as JSON text.
    pub spec: String,
}

/// A device the tenant may configure (WIT `device`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Device {
    /// Device name, e.g. `leaf1`.
    pub name: String,
    /// Platform, e.g. `eos`, `frr`, `netconf`.
    pub platform: String,
    /// Free-form facts, as a JSON object.
    pub facts: String,
    /// Ports granted to the tenant on this device, one by one.
    pub ports: Vec<String>,
}

/// Everything a plugin may know besides the service (WIT `context`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Context {
    /// The tenant (the service's namespace).
    pub tenant: String,
    /// Devices granted to the tenant, sorted by name.
    pub devices: Vec<Device>,
    /// Tenant variables, as a JSON object.
    pub variables: String,
}

impl Context {
    /// The granted device called `name`, if any.
    #[must_use]
    pub fn device(&self, name: &str) -> Option<&Device> {
        self.devices.iter().find(|d| d.name == name)
    }
}

impl Device {
    /// Whether `port` was granted to the tenant on this device.
    #[must_use]
    pub fn has_port(&self, port: &str) -> bool {
        self.ports.iter().any(|p| p == port)
    }
}

/// Why a service is refused (WIT `violation`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Violation {
    /// Path of the offending field, e.g. `spec.ports[2]`.
    pub field: String,
    /// What is wrong and how to fix it.
    pub message: String,
}

impl Violation {
    /// A violation on `field`.
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

/// How a device consumes a configuration (WIT `config-format`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ConfigFormat {
    /// CLI lines (EOS, FRR vtysh...).
    Cli,
    /// A NETCONF `<config>` payload.
    NetconfXml,
    /// A JSON document.
    Json,
}

/// The configuration one device needs for one service (WIT `device-config`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceConfig {
    /// Device name; one of `context.devices`.
    pub device: String,
    /// Format of `text`.
    pub format: ConfigFormat,
    /// The configuration itself.
    pub text: String,
}
