//! naas plugin for kind `AccessPorts`: access or trunk ports on one device, in one VLAN.
//!
//! Pipeline: [`spec`] parses and checks the `spec`, [`expand`] writes the
//! canonical spec, [`render`] turns it into EOS, FRR or NETCONF configuration
//! through the host's templates. [`schema`] is the OpenAPI schema of `spec`.

pub mod expand;
pub mod render;
pub mod schema;
pub mod spec;
pub mod vlans;

use naas_plugin_sdk::{
    Context, DeviceConfig, Host, Plugin, PluginInfo, Service, ServiceKind, Violation,
};

/// Device platforms this plugin renders for.
pub const PLATFORMS: [&str; 3] = ["eos", "frr", "netconf"];

/// The `AccessPorts` plugin.
#[derive(Debug)]
pub struct AccessPorts;

impl Plugin for AccessPorts {
    fn describe() -> PluginInfo {
        PluginInfo {
            name: "access-ports".into(),
            version: "0.1.0".into(),
            vendor: "naas".into(),
            description: "Access and trunk ports on switches: VLAN, description, admin state"
                .into(),
            kinds: vec![ServiceKind {
                group: "network.naas.io".into(),
                version: "v1alpha1".into(),
                kind: "AccessPorts".into(),
                plural: "accessports".into(),
                spec_schema: schema::spec_schema().to_string(),
            }],
            platforms: PLATFORMS.iter().map(ToString::to_string).collect(),
        }
    }

    fn validate(
        service: &Service,
        context: &Context,
        _host: &dyn Host,
    ) -> Result<(), Vec<Violation>> {
        spec::check(&service.spec, context).map(|_| ())
    }

    fn expand(
        service: &Service,
        _context: &Context,
        _host: &dyn Host,
    ) -> Result<String, Vec<Violation>> {
        let spec = spec::parse(&service.spec)?;
        Ok(expand::to_json(&spec))
    }

    fn render(
        service: &Service,
        context: &Context,
        host: &dyn Host,
    ) -> Result<Vec<DeviceConfig>, Vec<Violation>> {
        let (spec, device) = spec::check(&service.spec, context)?;
        render::render(service, &spec, device, host)
    }
}

naas_plugin_sdk::export_plugin!(AccessPorts);
