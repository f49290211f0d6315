//! The candidate-config contract every driver implements (NAPALM-like) and its typed errors.
//!
//! A push is `open` → `load` (merge or replace) → `diff` → `commit`
//! (optionally confirmed within a time) → `confirm`, or `discard` before a
//! commit, or `rollback` after one; `running_config` reads the device. The
//! SSH CLI and NETCONF drivers implement the same contract.

use std::time::Duration;

use async_trait::async_trait;

/// How a driver reaches one device. Credentials are never logged or printed.
#[derive(Clone)]
pub struct Target {
    /// The Device's name.
    pub device: String,
    /// Management address.
    pub address: String,
    /// SSH port.
    pub port: u16,
    /// Config dialect (`eos`, `frr`, `netconf`...).
    pub platform: String,
    /// Login name.
    pub username: String,
    /// Password or private key.
    pub secret: Secret,
    /// The expected SSH host key; `None` only when the Device skips verification.
    pub host_key: Option<String>,
}

impl std::fmt::Debug for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Target")
            .field("device", &self.device)
            .field("address", &self.address)
            .field("port", &self.port)
            .field("platform", &self.platform)
            .finish_non_exhaustive()
    }
}

/// A credential; its `Debug` never shows it.
#[derive(Clone)]
pub enum Secret {
    /// A password.
    Password(String),
    /// An OpenSSH private key (PEM).
    PrivateKey(String),
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Secret::Password(_) => "Password(***)",
            Secret::PrivateKey(_) => "PrivateKey(***)",
        })
    }
}

/// Whether a candidate adds to the running config or replaces naas's part of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoadMode {
    /// Add these lines.
    Merge,
    /// Make naas's part of the device exactly the candidate. `applied` is
    /// naas's part now (what it applied before, as recorded): only its lines
    /// are ever negated; lines on the device that naas never applied are
    /// never touched.
    Replace {
        /// The config naas applied before (empty for a first push).
        applied: String,
    },
}

/// Why a driver operation failed, naming the device.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DriverError {
    /// The device could not be reached or refused the login.
    #[error("device {device}: cannot connect: {reason}")]
    Connect {
        /// The device.
        device: String,
        /// Auth failure, timeout, refused, closed...
        reason: String,
    },
    /// The device presented another host key than its Device says.
    #[error(
        "device {device}: host key mismatch: expected {expected}, got {found}; if the device was replaced, update spec.hostKey"
    )]
    HostKeyMismatch {
        /// The device.
        device: String,
        /// The key in the Device.
        expected: String,
        /// The key presented.
        found: String,
    },
    /// The device rejected a line of the candidate.
    #[error("device {device}: rejected {line:?}: {message}")]
    ConfigRejected {
        /// The device.
        device: String,
        /// The line it rejected.
        line: String,
        /// The device's own message.
        message: String,
    },
    /// The commit failed.
    #[error("device {device}: commit failed: {detail}")]
    CommitFailed {
        /// The device.
        device: String,
        /// Why.
        detail: String,
    },
    /// Another session holds the configuration lock.
    #[error("device {device}: the configuration is locked by another session")]
    LockHeld {
        /// The device.
        device: String,
    },
    /// A command did not answer in time.
    #[error("device {device}: {command:?} did not answer within {timeout:?}")]
    CommandTimeout {
        /// The device.
        device: String,
        /// The command.
        command: String,
        /// The timeout.
        timeout: Duration,
    },
}

impl DriverError {
    /// The device the error is about.
    #[must_use]
    pub fn device(&self) -> &str {
        match self {
            DriverError::Connect { device, .. }
            | DriverError::HostKeyMismatch { device, .. }
            | DriverError::ConfigRejected { device, .. }
            | DriverError::CommitFailed { device, .. }
            | DriverError::LockHeld { device }
            | DriverError::CommandTimeout { device, .. } => device,
        }
    }
}

/// A driver: opens sessions to devices.
#[async_trait]
pub trait Driver: Send + Sync {
    /// Connects to `target` (verifying its host key) and opens a session.
    ///
    /// # Errors
    /// [`DriverError::Connect`] or [`DriverError::HostKeyMismatch`].
    async fn open(&self, target: &Target) -> Result<Box<dyn Session>, DriverError>;
}

/// One open session to one device.
#[async_trait]
pub trait Session: Send {
    /// The device's running config (naas's view of it).
    async fn running_config(&mut self) -> Result<String, DriverError>;
    /// Loads a candidate.
    async fn load(&mut self, mode: &LoadMode, config: &str) -> Result<(), DriverError>;
    /// What committing the candidate would change, empty when nothing: a
    /// unified diff (memory driver; NETCONF: running against the candidate
    /// datastore, or the pending edit-config payload on a device without
    /// `:candidate`) or the commands commit would type, one per line (CLI driver).
    async fn diff(&mut self) -> Result<String, DriverError>;
    /// Commits the candidate; with `confirm_within`, the device rolls back
    /// by itself unless [`Session::confirm`] comes in time.
    async fn commit(&mut self, confirm_within: Option<Duration>) -> Result<(), DriverError>;
    /// Confirms a confirmed commit.
    async fn confirm(&mut self) -> Result<(), DriverError>;
    /// Drops the candidate.
    async fn discard(&mut self) -> Result<(), DriverError>;
    /// Restores the config from before the last commit.
    async fn rollback(&mut self) -> Result<(), DriverError>;
}
