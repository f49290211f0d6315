//! The [`Plugin`] trait a plugin's logic implements and the [`Host`] it calls back.

use crate::types::{Context, DeviceConfig, PluginInfo, Service, Violation};

/// Severity of a log line (WIT `log-level`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum LogLevel {
    /// Very detailed tracing.
    Trace,
    /// Debugging detail.
    Debug,
    /// Normal operation.
    Info,
    /// Something looks wrong.
    Warn,
    /// Something failed.
    Error,
}

/// The functions the host gives a plugin (WIT interface `host`).
///
/// Inside a component this calls the real imports; in native unit tests a
/// test implementation (see the `testing` feature) stands in.
pub trait Host {
    /// Writes a line to the host's log.
    fn log(&self, level: LogLevel, message: &str);

    /// Renders a minijinja template on the host with `vars` (a JSON object).
    ///
    /// # Errors
    /// The host's message (syntax error, undefined variable, fuel...).
    fn render_template(&self, template: &str, vars: &serde_json::Value) -> Result<String, String>;

    /// Renders the template called `name`: the deployment's override of that
    /// name when there is one, else `default` (the plugin's built-in text).
    ///
    /// # Errors
    /// The host's message; for an override, it names where the override
    /// came from and its line.
    fn render_named_template(
        &self,
        name: &str,
        default: &str,
        vars: &serde_json::Value,
    ) -> Result<String, String>;
}

/// A naas plugin's logic, independent of WebAssembly.
///
/// Export it from a component with [`crate::export_plugin!`]. Every method
/// must return violations rather than panic on any input.
pub trait Plugin {
    /// Who the plugin is, its service kinds (with schemas) and platforms.
    fn describe() -> PluginInfo;

    /// Checks a service; returns every violation found.
    ///
    /// # Errors
    /// The violations, each naming its field.
    fn validate(
        service: &Service,
        context: &Context,
        host: &dyn Host,
    ) -> Result<(), Vec<Violation>>;

    /// Fills in defaults and expands ranges; returns the new `spec` as JSON
    /// text. Must be idempotent.
    ///
    /// # Errors
    /// The violations that prevent expansion.
    fn expand(
        service: &Service,
        context: &Context,
        host: &dyn Host,
    ) -> Result<String, Vec<Violation>>;

    /// Renders the configuration of every device the (expanded) service touches.
    ///
    /// # Errors
    /// The violations that prevent rendering.
    fn render(
        service: &Service,
        context: &Context,
        host: &dyn Host,
    ) -> Result<Vec<DeviceConfig>, Vec<Violation>>;
}
