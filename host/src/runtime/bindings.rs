//! Host bindings generated from the WIT world in `wit/` (the one place `bindgen!` is called).

wasmtime::component::bindgen!({
    world: "plugin",
    path: "../wit",
    additional_derives: [PartialEq],
});

pub use self::naas::plugin::host::LogLevel;
// The world `use`s plugin-info, service, context, violation and device-config,
// so bindgen defines those at this level; the rest live in the interface.
pub use self::naas::plugin::types::{ConfigFormat, Device, ServiceKind};

impl ConfigFormat {
    /// The name used in the WIT file and in manifests (`cli`, `netconf-xml`, `json`).
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            ConfigFormat::Cli => "cli",
            ConfigFormat::NetconfXml => "netconf-xml",
            ConfigFormat::Json => "json",
        }
    }
}

impl std::fmt::Display for ConfigFormat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}
