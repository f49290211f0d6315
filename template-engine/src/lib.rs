//! The naas template dialect and the Wasm side of the template sandbox.
//!
//! * [`dialect`]: the one definition of the minijinja settings every
//!   `render-template` call uses. Plugins' native unit tests render with it
//!   directly (through `naas-plugin-sdk`'s `testing` feature).
//! * On `wasm32`, the crate is also a core Wasm module with no imports,
//!   exporting `naas_alloc` and `naas_render` (see [`abi`]). The host builds it
//!   (`host/build.rs`), embeds it, and runs every template a plugin asks it to
//!   render inside that module, under the plugin's memory limit and deadline:
//!   a template can amplify memory (`'x' * n`, doubling in a loop, `join`,
//!   `indent`...) faster than minijinja's fuel counts, so only a sandbox bounds
//!   what it costs the host.

pub mod abi;
pub mod dialect;
#[cfg(target_arch = "wasm32")]
mod guest;

pub use dialect::{DEFAULT_FUEL, describe_error, environment, xml_escape};
