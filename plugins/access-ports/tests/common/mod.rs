//! Fixtures shared by the access-ports tests.
#![allow(dead_code)]

use naas_plugin_sdk::testing::TestHost;
use naas_plugin_sdk::{Context, Device, DeviceConfig, Plugin, Service, Violation};
use serde_json::{Value, json};

use access_ports::AccessPorts;

pub fn device(name: &str, platform: &str, ports: &str) -> Device {
    Device {
        name: name.into(),
        platform: platform.into(),
        facts: "{}".into(),
        ports: naas_plugin_sdk::expand_list(ports).unwrap(),
    }
}

pub fn context(tenant: &str) -> Context {
    Context {
        tenant: tenant.into(),
        devices: vec![
            device("leaf1", "eos", "Ethernet1-10,Ethernet1/1-4"),
            device("leaf2", "frr", "swp1-4"),
            device("nc1", "netconf", "GigabitEthernet0/0/1-4"),
            device("old1", "junos", "xe-0/0/1"),
        ],
        variables: "{}".into(),
    }
}

pub fn service(spec: &Value) -> Service {
    Service {
        api_version: "network.naas.io/v1alpha1".into(),
        kind: "AccessPorts".into(),
        namespace: "tenant-a".into(),
        name: "web".into(),
        generation: 1,
        labels: vec![],
        spec: spec.to_string(),
    }
}

pub fn validate(spec: &Value) -> Result<(), Vec<Violation>> {
    AccessPorts::validate(&service(spec), &context("tenant-a"), &TestHost::new())
}

pub fn expand(spec: &Value) -> Result<String, Vec<Violation>> {
    AccessPorts::expand(&service(spec), &context("tenant-a"), &TestHost::new())
}

pub fn render(spec: &Value) -> Result<Vec<DeviceConfig>, Vec<Violation>> {
    let expanded: Value = serde_json::from_str(&expand(spec)?).unwrap();
    AccessPorts::render(&service(&expanded), &context("tenant-a"), &TestHost::new())
}

/// The violations as `field: message` lines.
pub fn lines(v: &[Violation]) -> Vec<String> {
    v.iter().map(ToString::to_string).collect()
}

pub fn base() -> Value {
    json!({"device": "leaf1", "ports": "Ethernet1-2", "vlan": 10})
}
