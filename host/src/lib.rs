//! naas: Network-as-a-Service on Kubernetes with WebAssembly plugins.
//!
//! One concern per module: [`runtime`] runs plugins in a sandbox,
//! [`pipeline`] is the one validate → expand → render path every caller uses,
//! [`plugin_set`] routes each service to the plugin of its kind,
//! [`manifest`] and [`inventory`] read the CLI's inputs, [`template`] renders
//! plugin templates on the host, [`config_tree`] diffs device configs into
//! remediation commands, and [`cli`] is the command line.

pub mod cli;
pub mod config_tree;
pub mod conformance;
pub mod digest;
pub mod driver;
pub mod fsutil;
pub mod inventory;
pub mod manifest;
pub mod oci;
pub mod operator;
pub mod pipeline;
pub mod plugin_set;
pub mod runtime;
pub mod scaffold;
pub mod template;
