//! Glue between the `wit-bindgen` bindings and the native [`Plugin`] trait (only on `wasm32`).

use std::marker::PhantomData;

use crate::bindings::naas::plugin::host as wit_host;
use crate::bindings::naas::plugin::types as wit;
use crate::plugin::{Host, LogLevel, Plugin};
use crate::types::{ConfigFormat, Context, Device, DeviceConfig, PluginInfo, Service, Violation};

/// The [`Host`] that calls the component's real imports.
#[derive(Debug, Clone, Copy, Default)]
pub struct WasmHost;

impl Host for WasmHost {
    fn log(&self, level: LogLevel, message: &str) {
        let level = match level {
            LogLevel::Trace => wit_host::LogLevel::Trace,
            LogLevel::Debug => wit_host::LogLevel::Debug,
            LogLevel::Info => wit_host::LogLevel::Info,
            LogLevel::Warn => wit_host::LogLevel::Warn,
            LogLevel::Error => wit_host::LogLevel::Error,
        };
        wit_host::log(level, message);
    }

    fn render_template(&self, template: &str, vars: &serde_json::Value) -> Result<String, String> {
        wit_host::render_template(template, &vars.to_string())
    }

    fn render_named_template(
        &self,
        name: &str,
        default: &str,
        vars: &serde_json::Value,
    ) -> Result<String, String> {
        wit_host::render_named_template(name, default, &vars.to_string())
    }
}

/// Implements the generated `Guest` trait for any [`Plugin`]; used by
/// [`crate::export_plugin!`].
#[derive(Debug)]
pub struct Adapter<P>(PhantomData<P>);

fn service(s: wit::Service) -> Service {
    Service {
        api_version: s.api_version,
        kind: s.kind,
        namespace: s.namespace,
        name: s.name,
        generation: s.generation,
        labels: s.labels,
        spec: s.spec,
    }
}

fn context(c: wit::Context) -> Context {
    Context {
        tenant: c.tenant,
        devices: c
            .devices
            .into_iter()
            .map(|d| Device {
                name: d.name,
                platform: d.platform,
                facts: d.facts,
                ports: d.ports,
            })
            .collect(),
        variables: c.variables,
    }
}

fn violations(v: Vec<Violation>) -> Vec<wit::Violation> {
    v.into_iter()
        .map(|v| wit::Violation {
            field: v.field,
            message: v.message,
        })
        .collect()
}

fn info(i: PluginInfo) -> wit::PluginInfo {
    wit::PluginInfo {
        name: i.name,
        version: i.version,
        vendor: i.vendor,
        description: i.description,
        kinds: i
            .kinds
            .into_iter()
            .map(|k| wit::ServiceKind {
                group: k.group,
                version: k.version,
                kind: k.kind,
                plural: k.plural,
                spec_schema: k.spec_schema,
            })
            .collect(),
        platforms: i.platforms,
    }
}

fn device_config(c: DeviceConfig) -> wit::DeviceConfig {
    wit::DeviceConfig {
        device: c.device,
        format: match c.format {
            ConfigFormat::Cli => wit::ConfigFormat::Cli,
            ConfigFormat::NetconfXml => wit::ConfigFormat::NetconfXml,
            ConfigFormat::Json => wit::ConfigFormat::Json,
        },
        text: c.text,
    }
}

impl<P: Plugin> crate::bindings::Guest for Adapter<P> {
    fn describe() -> wit::PluginInfo {
        info(P::describe())
    }

    fn validate(s: wit::Service, c: wit::Context) -> Result<(), Vec<wit::Violation>> {
        P::validate(&service(s), &context(c), &WasmHost).map_err(violations)
    }

    fn expand(s: wit::Service, c: wit::Context) -> Result<String, Vec<wit::Violation>> {
        P::expand(&service(s), &context(c), &WasmHost).map_err(violations)
    }

    fn render(
        s: wit::Service,
        c: wit::Context,
    ) -> Result<Vec<wit::DeviceConfig>, Vec<wit::Violation>> {
        P::render(&service(s), &context(c), &WasmHost)
            .map(|v| v.into_iter().map(device_config).collect())
            .map_err(violations)
    }
}
