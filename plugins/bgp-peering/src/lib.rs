//! naas plugin for kind `BgpPeering`: BGP sessions on one device, with an optional prefix list.
//!
//! Pipeline: [`spec`] (with [`prefix_list`]) parses and checks the `spec`,
//! [`expand`] writes the canonical spec, [`render`] turns it into FRR or EOS
//! configuration through the host's templates. [`schema`] is the OpenAPI
//! schema of `spec`.

pub mod expand;
pub mod prefix_list;
pub mod render;
pub mod schema;
pub mod spec;

use naas_plugin_sdk::{
    Context, DeviceConfig, Host, Plugin, PluginInfo, Service, ServiceKind, Violation,
};

/// Device platforms this plugin renders for.
pub const PLATFORMS: [&str; 2] = ["frr", "eos"];

/// The `BgpPeering` plugin.
#[derive(Debug)]
pub struct BgpPeering;

impl Plugin for BgpPeering {
    fn describe() -> PluginInfo {
        PluginInfo {
            name: "bgp-peering".into(),
            version: "0.1.0".into(),
            vendor: "naas".into(),
            description: "BGP sessions on a router, with an optional prefix list on every neighbor"
                .into(),
            kinds: vec![ServiceKind {
                group: "network.naas.io".into(),
                version: "v1alpha1".into(),
                kind: "BgpPeering".into(),
                plural: "bgppeerings".into(),
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
        spec::check(service, context).map(|_| ())
    }

    fn expand(
        service: &Service,
        _context: &Context,
        _host: &dyn Host,
    ) -> Result<String, Vec<Violation>> {
        spec::parse(service).map(|spec| expand::to_json(&spec))
    }

    fn render(
        service: &Service,
        context: &Context,
        host: &dyn Host,
    ) -> Result<Vec<DeviceConfig>, Vec<Violation>> {
        let (spec, device) = spec::check(service, context)?;
        render::render(service, &spec, device, host)
    }
}

naas_plugin_sdk::export_plugin!(BgpPeering);
