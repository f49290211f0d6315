//! The __NAME__ naas plugin: validates, expands and renders `__KIND__` services.
//!
//! Build with `./build.sh`, check with `naas plugin test <component> fixtures`.
//! The contract is `wit/plugin.wit`; `docs/plugins.md` in the naas repository
//! explains every field.

wit_bindgen::generate!({ path: "wit", world: "plugin" });

use naas::plugin::host::render_named_template;
use naas::plugin::types::{ConfigFormat, ServiceKind};
use serde_json::{Map, Value, json};

/// The device template, rendered on the host (minijinja, strict undefined).
const TEMPLATE: &str = include_str!("../templates/config.j2");

struct Component;

/// Reads the spec as a JSON object; a violation otherwise.
fn spec_of(service: &Service) -> Result<Map<String, Value>, Vec<Violation>> {
    match serde_json::from_str(&service.spec) {
        Ok(Value::Object(m)) => Ok(m),
        _ => Err(vec![violation("spec", "spec must be an object")]),
    }
}

fn violation(field: &str, message: &str) -> Violation {
    Violation { field: field.into(), message: message.into() }
}

/// Every violation of the spec, not only the first.
fn check(spec: &Map<String, Value>, context: &Context) -> Vec<Violation> {
    let mut v = Vec::new();
    for key in spec.keys() {
        if !["device", "description"].contains(&key.as_str()) {
            v.push(violation(&format!("spec.{key}"), &format!("unknown field {key:?}; allowed: device, description")));
        }
    }
    match spec.get("device") {
        Some(Value::String(d)) if context.devices.iter().any(|x| &x.name == d) => {}
        Some(Value::String(d)) => v.push(violation(
            "spec.device",
            &format!("device {d} is not granted to tenant {}", context.tenant),
        )),
        _ => v.push(violation("spec.device", "spec.device must be a device name")),
    }
    if !matches!(spec.get("description"), None | Some(Value::String(_))) {
        v.push(violation("spec.description", "spec.description must be a string"));
    }
    v
}

impl Guest for Component {
    fn describe() -> PluginInfo {
        PluginInfo {
            name: "__NAME__".into(),
            version: "0.1.0".into(),
            vendor: "example".into(),
            description: "__KIND__ services".into(),
            kinds: vec![ServiceKind {
                group: "example.naas.io".into(),
                version: "v1alpha1".into(),
                kind: "__KIND__".into(),
                plural: "__PLURAL__".into(),
                spec_schema: json!({
                    "type": "object",
                    "required": ["device"],
                    "properties": {
                        "device": {"type": "string", "description": "Device to configure"},
                        "description": {"type": "string", "description": "Free text"}
                    }
                })
                .to_string(),
            }],
            platforms: vec!["eos".into(), "frr".into()],
        }
    }

    fn validate(service: Service, context: Context) -> Result<(), Vec<Violation>> {
        let v = check(&spec_of(&service)?, &context);
        if v.is_empty() { Ok(()) } else { Err(v) }
    }

    fn expand(service: Service, context: Context) -> Result<String, Vec<Violation>> {
        let mut spec = spec_of(&service)?;
        let v = check(&spec, &context);
        if !v.is_empty() {
            return Err(v);
        }
        spec.entry("description").or_insert_with(|| json!(""));
        Ok(Value::Object(spec).to_string())
    }

    fn render(service: Service, _context: Context) -> Result<Vec<DeviceConfig>, Vec<Violation>> {
        let spec = spec_of(&service)?;
        let device = spec.get("device").and_then(Value::as_str).unwrap_or_default();
        let vars = json!({
            "kind": service.kind, "namespace": service.namespace, "name": service.name,
            "device": device, "description": spec.get("description").cloned().unwrap_or(json!("")),
        });
        // Named, so a deployment can override it (a Plugin's templates ConfigMap).
        let text = render_named_template("config.j2", TEMPLATE, &vars.to_string())
            .map_err(|e| vec![violation("spec", &format!("template failed: {e}"))])?;
        Ok(vec![DeviceConfig { device: device.into(), format: ConfigFormat::Cli, text }])
    }
}

export!(Component);
