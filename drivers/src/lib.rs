//! naas device drivers: the driver contract, config trees and remediation, and the in-memory driver.
//!
//! Its own crate because drivers bring heavy dependencies of their own (the
//! SSH stack) that have nothing to do with the Wasm runtime: its tests build
//! and run without wasmtime or kube. [`config_tree`] turns CLI config into
//! trees and computes the exact commands between two of them; the contract
//! ([`Driver`], [`Session`]) is what the operator and the CLI push through.

pub mod cli;
pub mod config_tree;
mod contract;
mod devices;
pub mod interfaces;
mod memory;
pub mod netconf;
pub mod ssh;
pub mod transaction;

pub use contract::{Driver, DriverError, LoadMode, Secret, Session, Target};
pub use devices::{DeviceDriver, NETCONF_PLATFORM};
pub use memory::{Fault, MemoryDriver, Pushed};
pub use netconf::{NetconfDriver, NetconfOptions};
