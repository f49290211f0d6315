//! Fixtures shared by the bgp-peering tests.
#![allow(dead_code)]

use naas_plugin_sdk::testing::TestHost;
use naas_plugin_sdk::{Context, Device, DeviceConfig, Plugin, Service, Violation};
use serde_json::{Value, json};

use bgp_peering::BgpPeering;

pub fn context() -> Context {
    let device = |name: &str, platform: &str| Device {
        name: name.into(),
        platform: platform.into(),
        facts: "{}".into(),
        ports: vec![],
    };
    Context {
        tenant: "tenant-a".into(),
        devices: vec![
            device("border1", "frr"),
            device("spine1", "eos"),
            device("nc1", "netconf"),
        ],
        variables: "{}".into(),
    }
}

pub fn service(spec: &Value) -> Service {
    Service {
        api_version: "network.naas.io/v1alpha1".into(),
        kind: "BgpPeering".into(),
        namespace: "tenant-a".into(),
        name: "transit".into(),
        generation: 1,
        labels: vec![],
        spec: spec.to_string(),
    }
}

pub fn validate(spec: &Value) -> Result<(), Vec<Violation>> {
    BgpPeering::validate(&service(spec), &context(), &TestHost::new())
}

pub fn expand(spec: &Value) -> Result<String, Vec<Violation>> {
    BgpPeering::expand(&service(spec), &context(), &TestHost::new())
}

/// Expands, validates the expansion, then renders it, like the host.
pub fn render(spec: &Value) -> Result<Vec<DeviceConfig>, Vec<Violation>> {
    let expanded: Value = serde_json::from_str(&expand(spec)?).unwrap();
    validate(&expanded)?;
    BgpPeering::render(&service(&expanded), &context(), &TestHost::new())
}

pub fn lines(v: &[Violation]) -> Vec<String> {
    v.iter().map(ToString::to_string).collect()
}

pub fn fields(v: &[Violation]) -> Vec<&str> {
    v.iter().map(|v| v.field.as_str()).collect()
}

pub fn example() -> Value {
    json!({
        "device": "border1",
        "localAsn": 65001,
        "routerId": "192.0.2.1",
        "neighbors": [
            {"address": "2001:db8::2", "remoteAsn": 65002},
            {"address": "198.51.100.2", "remoteAsn": 65002, "description": "transit A"}
        ],
        "prefixList": {
            "entries": [
                {"prefix": "203.0.113.0/24"},
                {"prefix": "10.0.0.0/8", "action": "deny", "ge": 8, "le": 32},
                {"prefix": "2001:db8:100::/48", "le": 64}
            ]
        }
    })
}
