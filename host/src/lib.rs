//! naas: Network-as-a-Service on Kubernetes with WebAssembly plugins.
//!
//! One concern per module: [`runtime`] runs plugins in a sandbox,
//! [`pipeline`] is the one validate → expand → render path every caller uses,
//! [`plugin_set`] routes each service to the plugin of its kind,
//! [`manifest`] and [`inventory`] read the CLI's inputs, [`template`] renders
//! plugin templates on the host, [`config_tree`] diffs device configs into
//! remediation commands, [`applied`] is what naas applied per device and
//! how it pushes (shared by the operator and [`push`], which pushes without
//! a cluster, recording in a [`state`] directory), and [`cli`] is the
//! command line.

pub mod admission;
pub mod applied;
pub mod claims;
pub mod cli;
pub mod conformance;
pub mod digest;
pub mod evaluations;
pub mod fsutil;
pub mod inventory;
pub mod manifest;
pub mod metrics;
pub mod oci;
pub mod operator;
pub mod pipeline;
pub mod plugin_set;
pub mod push;
pub mod runtime;
pub mod scaffold;
pub mod state;
pub mod template;

/// The driver contract and the drivers (crate `naas-driver`).
pub use naas_driver as driver;
/// Config trees and remediation (crate `naas-driver`).
pub use naas_driver::config_tree;
