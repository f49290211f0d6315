//! What the benchmarks evaluate: one AccessPorts service, its context, and the same pipeline written natively.
#![allow(dead_code)]

use access_ports::AccessPorts;
use naas::inventory::Inventory;
use naas::manifest::parse_services;
use naas::runtime::{Context, Service};
use naas_plugin_sdk::Plugin as _;
use naas_plugin_sdk::testing::TestHost;

/// The service every benchmark evaluates (five ports, EOS).
pub const SERVICE: &str = "
apiVersion: network.naas.io/v1alpha1
kind: AccessPorts
metadata: {name: web, namespace: tenant-a}
spec: {device: leaf1, ports: 'Ethernet1-4,Ethernet7', vlan: 120, description: web servers}
";

const DEVICES: &str = "
devices:
  - name: leaf1
    platform: eos
    grants: [{tenant: tenant-a, ports: [Ethernet1-48]}]
";

/// The service and the context the host gives the plugin.
pub fn service_and_context() -> (Service, Context) {
    let service = parse_services(SERVICE, "bench", "default")
        .unwrap()
        .remove(0);
    let ctx = Inventory::parse(DEVICES, "bench")
        .unwrap()
        .context_for("tenant-a", &serde_json::json!({}));
    (service, ctx)
}

fn to_sdk_service(s: &Service) -> naas_plugin_sdk::Service {
    naas_plugin_sdk::Service {
        api_version: s.api_version.clone(),
        kind: s.kind.clone(),
        namespace: s.namespace.clone(),
        name: s.name.clone(),
        generation: s.generation,
        labels: s.labels.clone(),
        spec: s.spec.clone(),
    }
}

/// The native inputs, converted once (the Wasm path pays its own conversion).
pub fn native_inputs(
    s: &Service,
    c: &Context,
) -> (naas_plugin_sdk::Service, naas_plugin_sdk::Context) {
    let ctx = naas_plugin_sdk::Context {
        tenant: c.tenant.clone(),
        devices: c
            .devices
            .iter()
            .map(|d| naas_plugin_sdk::Device {
                name: d.name.clone(),
                platform: d.platform.clone(),
                facts: d.facts.clone(),
                ports: d.ports.clone(),
            })
            .collect(),
        variables: c.variables.clone(),
    };
    (to_sdk_service(s), ctx)
}

/// validate → expand → validate → render, natively, with the host's template settings.
pub fn native_pipeline(
    host: &TestHost,
    service: &naas_plugin_sdk::Service,
    ctx: &naas_plugin_sdk::Context,
) -> usize {
    AccessPorts::validate(service, ctx, host).unwrap();
    let spec = AccessPorts::expand(service, ctx, host).unwrap();
    let expanded = naas_plugin_sdk::Service {
        spec,
        ..service.clone()
    };
    AccessPorts::validate(&expanded, ctx, host).unwrap();
    let configs = AccessPorts::render(&expanded, ctx, host).unwrap();
    configs.iter().map(|c| c.text.len()).sum()
}
