//! The host's own resources, cluster-scoped in API group `naas.io/v1alpha1`: Plugin and Device.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The API group of the host's own kinds.
pub const GROUP: &str = "naas.io";
/// Their version.
pub const VERSION: &str = "v1alpha1";

/// A Wasm plugin from an OCI registry; the host serves the service kinds it declares.
#[derive(CustomResource, Deserialize, Serialize, Clone, Debug, JsonSchema, PartialEq)]
#[kube(
    group = "naas.io",
    version = "v1alpha1",
    kind = "Plugin",
    status = "PluginStatus",
    shortname = "nplugin",
    category = "naas-admin",
    printcolumn = r#"{"name":"Ready","type":"string","jsonPath":".status.conditions[?(@.type==\"Ready\")].status"}"#,
    printcolumn = r#"{"name":"Digest","type":"string","jsonPath":".status.digest","priority":1}"#,
    printcolumn = r#"{"name":"Kinds","type":"string","jsonPath":".status.kinds"}"#,
    printcolumn = r#"{"name":"Age","type":"date","jsonPath":".metadata.creationTimestamp"}"#
)]
#[serde(rename_all = "camelCase")]
pub struct PluginSpec {
    /// OCI reference of the plugin: `registry[:port]/repository:tag`, optionally `@sha256:…`.
    pub image: String,
    /// The manifest digest the image must resolve to (`sha256:…`); pins a tag.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
    /// A `kubernetes.io/dockerconfigjson` Secret with registry credentials.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pull_secret_ref: Option<ObjectRef>,
    /// Reach the image's registry over plain HTTP (test registries only).
    #[serde(default, skip_serializing_if = "is_false")]
    pub insecure_registry: bool,
    /// A ConfigMap holding extra PEM CA certificates (key `ca.crt`) for the registry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_config_map_ref: Option<ObjectRef>,
    /// Sandbox limits of every call into the plugin.
    #[serde(default)]
    pub limits: PluginLimits,
    /// ConfigMaps whose data become `context.variables` (later ones win;
    /// a service namespace's `naas-variables` ConfigMap wins over all).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub variables: Vec<ObjectRef>,
    /// A ConfigMap of template overrides: each key names one of the plugin's
    /// templates (e.g. `eos.j2`), its value replaces that template's text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub templates: Option<ObjectRef>,
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// A reference to a namespaced object (the operator's namespace when `namespace` is empty).
#[derive(Deserialize, Serialize, Clone, Debug, JsonSchema, PartialEq, Eq)]
pub struct ObjectRef {
    /// The object's name.
    pub name: String,
    /// Its namespace; default: the operator's namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
}

/// Sandbox limits of a plugin.
#[derive(Deserialize, Serialize, Clone, Debug, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct PluginLimits {
    /// Deadline of each call, e.g. `500ms`, `1s`.
    #[serde(default = "default_timeout")]
    pub timeout: String,
    /// Linear-memory limit in MiB.
    #[serde(default = "default_memory")]
    #[schemars(range(min = 1, max = 1024))]
    pub memory_mib: u32,
    /// Most bytes one call may return.
    #[serde(default = "default_output")]
    #[schemars(range(min = 1024))]
    pub max_output_bytes: u64,
}

fn default_timeout() -> String {
    "1s".into()
}
fn default_memory() -> u32 {
    64
}
fn default_output() -> u64 {
    4 << 20
}

impl Default for PluginLimits {
    fn default() -> Self {
        Self {
            timeout: default_timeout(),
            memory_mib: default_memory(),
            max_output_bytes: default_output(),
        }
    }
}

/// What the host found out about a Plugin.
#[derive(Deserialize, Serialize, Clone, Debug, Default, JsonSchema, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct PluginStatus {
    /// The manifest digest the image resolved to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
    /// The sha256 of the Wasm component.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub component_digest: Option<String>,
    /// What the plugin's `describe()` said.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub info: Option<PluginInfoStatus>,
    /// The service kinds served, as `Kind.group/version`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub kinds: Vec<String>,
    /// `Ready`, with reason, message and observedGeneration.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
}

/// The plugin's `describe()`, in the Plugin's status.
#[derive(Deserialize, Serialize, Clone, Debug, Default, JsonSchema, PartialEq, Eq)]
pub struct PluginInfoStatus {
    /// Name.
    pub name: String,
    /// Version.
    pub version: String,
    /// Vendor.
    pub vendor: String,
    /// Platforms it renders for.
    #[serde(default)]
    pub platforms: Vec<String>,
}

/// A network device that services configure.
#[derive(CustomResource, Deserialize, Serialize, Clone, Debug, JsonSchema, PartialEq)]
#[kube(
    group = "naas.io",
    version = "v1alpha1",
    kind = "Device",
    status = "DeviceStatus",
    shortname = "ndev",
    category = "naas-admin",
    printcolumn = r#"{"name":"Platform","type":"string","jsonPath":".spec.platform"}"#,
    printcolumn = r#"{"name":"Address","type":"string","jsonPath":".spec.address"}"#,
    printcolumn = r#"{"name":"Ready","type":"string","jsonPath":".status.conditions[?(@.type==\"Ready\")].status"}"#,
    printcolumn = r#"{"name":"Age","type":"date","jsonPath":".metadata.creationTimestamp"}"#
)]
#[serde(rename_all = "camelCase")]
pub struct DeviceSpec {
    /// Management address (IP or DNS name).
    pub address: String,
    /// SSH port.
    #[serde(default = "default_port")]
    pub port: u16,
    /// Config dialect: `eos`, `frr`, `ios`, `junos`, `netconf`...
    pub platform: String,
    /// How the host talks to it.
    #[serde(default)]
    pub driver: DriverKind,
    /// Secret (in the operator's namespace unless given) with `username`
    /// and `password` or `privateKey`.
    pub credentials_secret_ref: ObjectRef,
    /// The device's SSH host key, as in `known_hosts` (`ssh-ed25519 AAAA…`).
    /// Required unless `insecureSkipHostKeyVerification` is true.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host_key: Option<String>,
    /// Accept any host key (flagged in status). For labs only.
    #[serde(default, skip_serializing_if = "is_false")]
    pub insecure_skip_host_key_verification: bool,
    /// Which namespaces (tenants) may use which ports (ranges allowed: `Ethernet1-8`).
    #[serde(default)]
    pub tenants: Vec<TenantGrant>,
    /// Free-form facts passed to plugins.
    #[serde(default)]
    #[schemars(extend("x-kubernetes-preserve-unknown-fields" = true))]
    pub facts: serde_json::Map<String, serde_json::Value>,
    /// How often to read the running config and check that naas's lines
    /// are all there (e.g. `10m`); unset: never.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drift_check_interval: Option<String>,
    /// What to do about drift: `report` it (status and an Event), or `heal`
    /// (push naas's config again).
    #[serde(default)]
    pub drift_policy: DriftPolicy,
}

impl DeviceSpec {
    /// Why `spec.driver` does not fit `spec.platform` (platform `netconf`
    /// takes driver `netconf`, every CLI platform driver `cli`), or `None`
    /// when it fits. The operator's Device check and admission share it.
    #[must_use]
    pub fn driver_mismatch(&self) -> Option<String> {
        let netconf = self.platform == crate::driver::NETCONF_PLATFORM;
        (netconf != (self.driver == DriverKind::Netconf)).then(|| {
            format!(
                "spec.driver {:?} does not fit spec.platform {:?}: platform netconf takes driver netconf, CLI platforms (frr, eos, ios, junos) take driver cli",
                self.driver, self.platform
            )
        })
    }
}

/// What the host does when a device drifted from what naas applied.
#[derive(Deserialize, Serialize, Clone, Copy, Debug, Default, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum DriftPolicy {
    /// Say so in status (condition `InSync`, `drift`) and an Event.
    #[default]
    Report,
    /// Also push naas's config again.
    Heal,
}

fn default_port() -> u16 {
    22
}

/// How the host reaches a device.
#[derive(Deserialize, Serialize, Clone, Copy, Debug, Default, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum DriverKind {
    /// An SSH CLI session.
    #[default]
    Cli,
    /// NETCONF over SSH.
    Netconf,
}

/// Ports of a device granted to one namespace.
#[derive(Deserialize, Serialize, Clone, Debug, JsonSchema, PartialEq, Eq)]
pub struct TenantGrant {
    /// The tenant's namespace.
    pub namespace: String,
    /// Ports and ranges; empty grants the device without ports.
    #[serde(default)]
    pub ports: Vec<String>,
}

/// What the host knows of a device.
#[derive(Deserialize, Serialize, Clone, Debug, Default, JsonSchema, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct DeviceStatus {
    /// Whether the last contact succeeded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reachable: Option<bool>,
    /// `Verified`, or `Skipped` when insecureSkipHostKeyVerification is set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host_key_verification: Option<String>,
    /// The last push to the device.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_push: Option<PushRecord>,
    /// sha256 of the config naas intends the device to have.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub intended_config_digest: Option<String>,
    /// naas's lines missing from the device (`missing: …`) or removed lines
    /// back on it (`returned: …`), at the last drift check.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub drift: Vec<String>,
    /// `Ready`, with reason, message and observedGeneration.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
}

/// One push to a device.
#[derive(Deserialize, Serialize, Clone, Debug, Default, JsonSchema, PartialEq, Eq)]
pub struct PushRecord {
    /// When (RFC 3339).
    pub time: String,
    /// `Committed`, `Failed: …`, `RolledBack: …`.
    pub result: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use kube::CustomResourceExt;

    #[test]
    fn crds_are_cluster_scoped_with_status_and_the_documented_fields() {
        for crd in [Plugin::crd(), Device::crd()] {
            assert_eq!(crd.spec.scope, "Cluster");
            assert_eq!(crd.spec.group, GROUP);
            let v = &crd.spec.versions[0];
            assert_eq!(v.name, VERSION);
            assert!(v.subresources.as_ref().unwrap().status.is_some());
        }
        let schema = serde_json::to_value(Device::crd()).unwrap();
        let spec =
            &schema["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"];
        assert_eq!(
            spec["properties"]["driver"]["enum"],
            serde_json::json!(["cli", "netconf"])
        );
        assert_eq!(
            spec["properties"]["facts"]["x-kubernetes-preserve-unknown-fields"],
            true
        );
        let required = spec["required"].as_array().unwrap();
        for field in ["address", "platform", "credentialsSecretRef"] {
            assert!(required.contains(&field.into()), "{field}: {required:?}");
        }
    }
}
