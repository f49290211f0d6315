//! Test-only naas plugin (kind `Hostile`) that misbehaves according to the service name.
//!
//! | name            | behaviour                                                        |
//! |-----------------|------------------------------------------------------------------|
//! | `loop`          | loops forever                                                    |
//! | `memory`        | allocates 1 MiB chunks and keeps them, forever                   |
//! | `panic`         | panics                                                           |
//! | `oversize`      | validate and expand pass; render returns 8 MiB of text           |
//! | `fs`            | probes files, environment and arguments; one violation on `probe` |
//! | `template-bomb` | asks the host to render billions of loop iterations; violation on `template` |
//! | `log-flood`     | logs 100000 lines of 10 KiB, then passes                         |
//! | `template`      | render asks the host to render `spec.template` with `spec.vars` and returns the output (or a violation on `template`) |
//! | anything else   | behaves well                                                     |
//!
//! Every export that receives a service (validate, expand, render) misbehaves.

use std::hint::black_box;

use naas_plugin_sdk::{
    ConfigFormat, Context, DeviceConfig, Host, LogLevel, Plugin, PluginInfo, Service, ServiceKind,
    Violation,
};

/// Size of the text rendered by the `oversize` service.
pub const OVERSIZE_BYTES: usize = 8 << 20;
/// Number of log lines written by the `log-flood` service.
pub const FLOOD_LINES: usize = 100_000;
/// Size of each `log-flood` line.
pub const FLOOD_LINE_BYTES: usize = 10 << 10;
/// A template whose three nested loops would run 10^15 times.
pub const TEMPLATE_BOMB: &str = "{% for a in range(100000) %}{% for b in range(100000) %}\
{% for c in range(100000) %}{{ a }}{{ b }}{{ c }}{% endfor %}{% endfor %}{% endfor %}";

/// The hostile plugin.
#[derive(Debug)]
pub struct Hostile;

/// What an export does after misbehaving, when it returns at all.
enum Outcome {
    /// Go on as a well-behaved plugin.
    Pass,
    /// Fail with these violations.
    Refuse(Vec<Violation>),
}

fn spin_forever() -> ! {
    let mut n: u64 = 0;
    loop {
        n = black_box(n.wrapping_add(1));
    }
}

fn hoard_memory() -> ! {
    let mut hoard: Vec<Vec<u8>> = Vec::new();
    loop {
        let chunk = vec![0xA5u8; 1 << 20];
        hoard.push(black_box(chunk));
        black_box(&hoard);
    }
}

fn outcome_text<T, E: std::fmt::Display>(r: Result<T, E>, ok: impl FnOnce(T) -> String) -> String {
    match r {
        Ok(v) => ok(v),
        Err(e) => e.to_string(),
    }
}

/// Probes the file system, environment and arguments; reports what happened.
#[must_use]
pub fn probe() -> String {
    let read = outcome_text(std::fs::read_to_string("/etc/passwd"), |s| {
        format!("OK {} bytes", s.len())
    });
    let readdir = outcome_text(std::fs::read_dir("/"), |d| {
        format!("OK {} entries", d.count())
    });
    let env = std::env::vars().count();
    let args = std::env::args().count();
    format!("read=/etc/passwd: {read}; readdir=/: {readdir}; env={env}; args={args}")
}

fn misbehave(service: &Service, host: &dyn Host) -> Outcome {
    match service.name.as_str() {
        "loop" => spin_forever(),
        "memory" => hoard_memory(),
        "panic" => panic!("hostile plugin panicked on purpose"),
        "fs" => Outcome::Refuse(vec![Violation::new("probe", probe())]),
        "template-bomb" => {
            let message = match host.render_template(TEMPLATE_BOMB, &serde_json::json!({})) {
                Err(e) => e,
                Ok(text) => format!(
                    "the template bomb was not stopped: the host rendered {} bytes",
                    text.len()
                ),
            };
            Outcome::Refuse(vec![Violation::new("template", message)])
        }
        "log-flood" => {
            let line = "x".repeat(FLOOD_LINE_BYTES);
            for _ in 0..FLOOD_LINES {
                host.log(LogLevel::Info, &line);
            }
            Outcome::Pass
        }
        _ => Outcome::Pass,
    }
}

/// Renders the service's `spec.template` with `spec.vars` through the host.
fn render_spec_template(service: &Service, host: &dyn Host) -> Result<String, Vec<Violation>> {
    let spec: serde_json::Value = serde_json::from_str(&service.spec).unwrap_or_default();
    let template = spec["template"].as_str().unwrap_or_default();
    let vars = spec.get("vars").cloned().unwrap_or(serde_json::json!({}));
    host.render_template(template, &vars)
        .map_err(|e| vec![Violation::new("template", e)])
}

impl Plugin for Hostile {
    fn describe() -> PluginInfo {
        PluginInfo {
            name: "hostile".into(),
            version: "0.1.0".into(),
            vendor: "naas".into(),
            description: "Test-only plugin that misbehaves on purpose, by service name".into(),
            kinds: vec![
                ServiceKind {
                    group: "network.naas.io".into(),
                    version: "v1alpha1".into(),
                    kind: "Hostile".into(),
                    plural: "hostiles".into(),
                    spec_schema: r#"{"type":"object","x-kubernetes-preserve-unknown-fields":true}"#
                        .into(),
                },
                // Valid JSON Schema, but not a structural one: the Kubernetes API
                // server refuses it as a CRD schema (a property without a type).
                ServiceKind {
                    group: "network.naas.io".into(),
                    version: "v1alpha1".into(),
                    kind: "NonStructural".into(),
                    plural: "nonstructurals".into(),
                    spec_schema:
                        r#"{"type":"object","properties":{"loose":{"description":"no type"}}}"#
                            .into(),
                },
            ],
            platforms: vec!["eos".into(), "frr".into(), "netconf".into()],
        }
    }

    fn validate(service: &Service, _: &Context, host: &dyn Host) -> Result<(), Vec<Violation>> {
        match misbehave(service, host) {
            Outcome::Pass => Ok(()),
            Outcome::Refuse(v) => Err(v),
        }
    }

    fn expand(service: &Service, _: &Context, host: &dyn Host) -> Result<String, Vec<Violation>> {
        match misbehave(service, host) {
            Outcome::Pass => Ok(service.spec.clone()),
            Outcome::Refuse(v) => Err(v),
        }
    }

    fn render(
        service: &Service,
        context: &Context,
        host: &dyn Host,
    ) -> Result<Vec<DeviceConfig>, Vec<Violation>> {
        if let Outcome::Refuse(v) = misbehave(service, host) {
            return Err(v);
        }
        // The first device with ports granted, else the first device.
        let with_ports = context.devices.iter().find(|d| !d.ports.is_empty());
        let Some(device) = with_ports.or(context.devices.first()) else {
            return Err(vec![Violation::new(
                "context.devices",
                "the tenant has no device to render for",
            )]);
        };
        let mut format = ConfigFormat::Cli;
        let text = match service.name.as_str() {
            "oversize" => "x".repeat(OVERSIZE_BYTES),
            "template" => render_spec_template(service, host)?,
            // Ports the host must refuse whatever validate said: one outside
            // the tenant's grant (CLI and NETCONF), and an abbreviation.
            "ungranted-port" => "interface Ethernet99
 description not yours
"
            .into(),
            "abbreviated-port" => "interface Et1
 description not yours
"
            .into(),
            "ungranted-netconf" => {
                format = ConfigFormat::NetconfXml;
                "<interfaces xmlns=\"urn:ietf:params:xml:ns:yang:ietf-interfaces\"><interface><name>Ethernet99</name></interface></interfaces>".into()
            }
            // A granted port passes the same check.
            "granted-port" => format!(
                "interface {}\n description mine\n",
                device.ports.first().map_or("none", String::as_str)
            ),
            _ => "ok".to_string(),
        };
        Ok(vec![DeviceConfig {
            device: device.name.clone(),
            format,
            text,
        }])
    }
}

naas_plugin_sdk::export_plugin!(Hostile);

#[cfg(test)]
mod tests {
    //! Native checks of the behaviours that return (the others never do).

    use super::*;
    use naas_plugin_sdk::Device;
    use naas_plugin_sdk::testing::TestHost;

    fn service(name: &str) -> Service {
        Service {
            name: name.into(),
            spec: r#"{"a":1}"#.into(),
            ..Service::default()
        }
    }

    fn context() -> Context {
        Context {
            devices: vec![Device {
                name: "leaf1".into(),
                ..Device::default()
            }],
            ..Context::default()
        }
    }

    #[test]
    fn behaves_well_by_default() {
        let (s, c, h) = (service("fine"), context(), TestHost::new());
        Hostile::validate(&s, &c, &h).unwrap();
        assert_eq!(Hostile::expand(&s, &c, &h).unwrap(), r#"{"a":1}"#);
        let out = Hostile::render(&s, &c, &h).unwrap();
        assert_eq!(
            (out[0].device.as_str(), out[0].text.as_str()),
            ("leaf1", "ok")
        );
        assert_eq!(Hostile::describe().kinds[0].kind, "Hostile");
    }

    #[test]
    fn oversize_renders_8_mib() {
        let (s, c, h) = (service("oversize"), context(), TestHost::new());
        Hostile::validate(&s, &c, &h).unwrap();
        assert_eq!(Hostile::render(&s, &c, &h).unwrap()[0].text.len(), 8 << 20);
    }

    #[test]
    fn fs_reports_its_probe() {
        let err = Hostile::validate(&service("fs"), &context(), &TestHost::new()).unwrap_err();
        assert_eq!(err[0].field, "probe");
        assert!(
            err[0].message.starts_with("read=/etc/passwd: "),
            "{}",
            err[0]
        );
        assert!(err[0].message.contains("; readdir=/: "), "{}", err[0]);
    }

    #[test]
    fn template_bomb_returns_the_host_error() {
        let err =
            Hostile::validate(&service("template-bomb"), &context(), &TestHost::new()).unwrap_err();
        assert_eq!(err[0].field, "template");
        assert!(err[0].message.contains("fuel"), "{}", err[0]);
    }
}
