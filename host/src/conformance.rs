//! The conformance kit: fixtures (service, context, expected output or violations) checked against a plugin through the pipeline.
//!
//! A fixture set is a directory of fixture directories. Each fixture holds
//! `service.yaml` (one service manifest), optionally `context.yaml` (else the
//! set's `context.yaml` is used) and `expected.yaml`:
//!
//! ```yaml
//! spec: {...}            # the expanded spec (optional)
//! configs:               # one entry per device, sorted by device
//!   - {device: leaf1, format: cli, text: "interface Ethernet1\n..."}
//! ```
//! or, for a service the plugin must refuse:
//! ```yaml
//! violations:
//!   - {field: spec.vlan, message: "..."}
//! ```
//! A context file is what the plugin sees: `tenant`, `devices` (name,
//! platform, facts, ports) and `variables`.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::manifest::parse_services;
use crate::pipeline::{PipelineError, evaluate};
use crate::runtime::{ConfigFormat, Context, Device, Plugin};

/// Why a fixture set could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ConformanceError {
    /// A file or directory could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file or directory.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A fixture file is malformed.
    #[error("{path}: {detail}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        detail: String,
    },
    /// An expected file could not be written.
    #[error("cannot write {path}: {source}")]
    Write {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
}

/// The context file: what the plugin sees besides the service.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct ContextFile {
    tenant: String,
    #[serde(default)]
    devices: Vec<DeviceFile>,
    #[serde(default)]
    variables: serde_json::Map<String, Value>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct DeviceFile {
    name: String,
    platform: String,
    #[serde(default)]
    facts: serde_json::Map<String, Value>,
    #[serde(default)]
    ports: Vec<String>,
}

/// What a plugin must answer for a fixture.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged, deny_unknown_fields)]
pub enum Expected {
    /// The service is refused with these violations.
    Violations {
        /// Every violation, in the plugin's order.
        violations: Vec<ExpectedViolation>,
    },
    /// The service renders.
    Rendered {
        /// The expanded spec, when the fixture checks it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        spec: Option<Value>,
        /// One config per device, sorted by device.
        configs: Vec<ExpectedConfig>,
    },
}

/// A violation, as written in `expected.yaml`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExpectedViolation {
    /// The field path.
    pub field: String,
    /// The message.
    pub message: String,
}

/// A device config, as written in `expected.yaml`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExpectedConfig {
    /// The device.
    pub device: String,
    /// `cli`, `netconf-xml` or `json`.
    pub format: String,
    /// The configuration text.
    pub text: String,
}

/// One fixture, loaded.
#[derive(Debug, Clone)]
pub struct Fixture {
    /// The fixture directory's name.
    pub name: String,
    /// The fixture directory.
    pub dir: PathBuf,
    service: crate::runtime::Service,
    context: Context,
    expected: Option<Expected>,
}

/// The verdict on one fixture.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// The plugin answered as expected (and expand is idempotent).
    Pass,
    /// The plugin answered otherwise; a unified diff, expected → actual.
    Fail(String),
    /// There is no `expected.yaml` yet.
    Missing,
}

/// Loads every fixture under `dir` (sorted by name).
///
/// # Errors
/// Unreadable directory, or a fixture whose files are missing or malformed.
pub fn load_fixtures(dir: &Path) -> Result<Vec<Fixture>, ConformanceError> {
    let read_err = |path: &Path, source| ConformanceError::Read {
        path: path.to_path_buf(),
        source,
    };
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| read_err(dir, e))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.join("service.yaml").is_file())
        .collect();
    dirs.sort();
    if dirs.is_empty() {
        return Err(ConformanceError::Invalid {
            path: dir.to_path_buf(),
            detail: "no fixtures found (expected directories holding service.yaml)".into(),
        });
    }
    let set_context = dir.join("context.yaml");
    dirs.iter().map(|d| load_fixture(d, &set_context)).collect()
}

fn load_fixture(dir: &Path, set_context: &Path) -> Result<Fixture, ConformanceError> {
    let invalid = |path: &Path, detail: String| ConformanceError::Invalid {
        path: path.to_path_buf(),
        detail,
    };
    let read = |path: &Path| {
        std::fs::read_to_string(path).map_err(|source| ConformanceError::Read {
            path: path.to_path_buf(),
            source,
        })
    };
    let service_path = dir.join("service.yaml");
    let mut services = parse_services(
        &read(&service_path)?,
        &service_path.display().to_string(),
        "default",
    )
    .map_err(|e| invalid(&service_path, e.to_string()))?;
    if services.len() != 1 {
        return Err(invalid(
            &service_path,
            format!(
                "holds {} services; a fixture holds exactly one",
                services.len()
            ),
        ));
    }
    let own_context = dir.join("context.yaml");
    let context_path = if own_context.is_file() {
        own_context
    } else {
        set_context.to_path_buf()
    };
    let cf: ContextFile = serde_yaml_ng::from_str(&read(&context_path)?)
        .map_err(|e| invalid(&context_path, e.to_string()))?;
    let expected_path = dir.join("expected.yaml");
    let expected = if expected_path.is_file() {
        Some(
            serde_yaml_ng::from_str(&read(&expected_path)?).map_err(|e| {
                invalid(
                    &expected_path,
                    format!("{e} (expected `configs:` or `violations:`)"),
                )
            })?,
        )
    } else {
        None
    };
    let mut devices: Vec<Device> = cf
        .devices
        .into_iter()
        .map(|d| Device {
            name: d.name,
            platform: d.platform,
            facts: Value::Object(d.facts).to_string(),
            ports: d.ports,
        })
        .collect();
    devices.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(Fixture {
        name: dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
        dir: dir.to_path_buf(),
        service: services.remove(0),
        context: Context {
            tenant: cf.tenant,
            devices,
            variables: Value::Object(cf.variables).to_string(),
        },
        expected,
    })
}

/// What the plugin actually answers for `fixture`, in the expected-file shape.
/// Plugin failures (traps, timeouts, contract breaches) are returned as `Err`.
///
/// # Errors
/// The pipeline error when it is not a refusal of the service, or when
/// expand is not idempotent.
pub fn actual(plugin: &Plugin, fixture: &Fixture) -> Result<Expected, String> {
    match evaluate(plugin, &fixture.service, &fixture.context) {
        Ok(e) => {
            let spec: Value = serde_json::from_str(&e.service.spec).map_err(|x| x.to_string())?;
            check_idempotent(plugin, &e.service, &fixture.context)?;
            Ok(Expected::Rendered {
                spec: Some(spec),
                configs: e
                    .configs
                    .into_iter()
                    .map(|c| ExpectedConfig {
                        device: c.device,
                        format: format_name(c.format),
                        text: c.text,
                    })
                    .collect(),
            })
        }
        Err(PipelineError::Invalid { violations, .. }) => Ok(Expected::Violations {
            violations: violations
                .into_iter()
                .map(|v| ExpectedViolation {
                    field: v.field,
                    message: v.message,
                })
                .collect(),
        }),
        Err(e) => Err(e.to_string()),
    }
}

fn format_name(f: ConfigFormat) -> String {
    f.as_str().to_string()
}

/// expand(expand(x)) must equal expand(x).
fn check_idempotent(
    plugin: &Plugin,
    expanded: &crate::runtime::Service,
    context: &Context,
) -> Result<(), String> {
    let mut session = plugin.session().map_err(|e| e.to_string())?;
    match session
        .expand(expanded, context)
        .map_err(|e| e.to_string())?
    {
        Ok(again) if again == expanded.spec => Ok(()),
        Ok(again) => Err(format!(
            "expand is not idempotent:\n  expand(x)         = {}\n  expand(expand(x)) = {again}",
            expanded.spec
        )),
        Err(v) => Err(format!(
            "expanding an already expanded spec was refused: {v:?}"
        )),
    }
}

/// Checks one fixture.
#[must_use]
pub fn check(plugin: &Plugin, fixture: &Fixture) -> Verdict {
    let Some(expected) = &fixture.expected else {
        return Verdict::Missing;
    };
    let got = actual(plugin, fixture);
    let matches = match (&got, expected) {
        (
            Ok(Expected::Rendered { spec, configs }),
            Expected::Rendered {
                spec: want_spec,
                configs: want,
            },
        ) => configs == want && (want_spec.is_none() || want_spec == spec),
        (Ok(g), e) => g == e,
        (Err(_), _) => false,
    };
    if matches {
        return Verdict::Pass;
    }
    let got_text = match &got {
        Ok(g) => to_yaml(g),
        Err(e) => format!("plugin failure: {e}\n"),
    };
    Verdict::Fail(diff(&to_yaml(expected), &got_text))
}

/// Writes `expected.yaml` from what the plugin answers now.
///
/// # Errors
/// When the plugin fails (not a refusal) or the file cannot be written.
pub fn bless(plugin: &Plugin, fixture: &Fixture) -> Result<(), ConformanceError> {
    let path = fixture.dir.join("expected.yaml");
    let got = actual(plugin, fixture).map_err(|detail| ConformanceError::Invalid {
        path: fixture.dir.clone(),
        detail: format!("cannot record the expected output: {detail}"),
    })?;
    std::fs::write(&path, to_yaml(&got)).map_err(|source| ConformanceError::Write { path, source })
}

fn to_yaml(e: &Expected) -> String {
    serde_yaml_ng::to_string(e).unwrap_or_else(|x| format!("<cannot serialize: {x}>\n"))
}

fn diff(expected: &str, actual: &str) -> String {
    similar::TextDiff::from_lines(expected, actual)
        .unified_diff()
        .context_radius(3)
        .header("expected", "actual")
        .to_string()
}
