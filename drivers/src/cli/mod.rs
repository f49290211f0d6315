//! The SSH CLI driver: platforms as data, a shell dialog per device, remediation typed line by line.
//!
//! [`CliDriver::open`] connects with [`crate::ssh::connect`] (host key
//! verified), opens a shell (with a pty) and waits for the prompt; at most
//! one session per device at a time, and at most
//! [`CliOptions::max_sessions`] across devices. A [`CliSession`] computes
//! what to type with the config tree ([`crate::config_tree::remediation_scoped`]):
//! `load(Replace { applied })` negates only lines naas applied,
//! `load(Merge)` adds the missing lines; `diff` lists the commands commit
//! would type. Platforms with a candidate (EOS configure sessions, Junos
//! `configure private`) stage the commands there and commit (confirmed where
//! asked); the others (FRR, IOS-XE) type them live and restore the snapshot
//! on a rejection (see [`session`]). The dialog runs over a [`Shell`]: SSH in
//! production, [`ReplayShell`] (recorded transcripts) in tests.

pub mod platform;
mod scope;
pub mod session;
pub mod shell;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use async_trait::async_trait;
use tokio::sync::Semaphore;

pub use platform::{Candidate, CliPlatform, EOS_CLI, FRR_CLI, IOS_XE_CLI, JUNOS, JUNOS_CLI};
pub use session::{CliSession, Reconnect};
pub use shell::{ReplayShell, Shell, ShellError, SshShell};

use crate::ssh::{SshOptions, connect};
use crate::{Driver, DriverError, Session, Target};

/// Timeouts and bounds of a [`CliDriver`].
#[derive(Debug, Clone)]
pub struct CliOptions {
    /// Connection: connect timeout (TCP, handshake, login), keepalive.
    pub ssh: SshOptions,
    /// Bound on each command's answer (and on the first prompt).
    pub command_timeout: Duration,
    /// Sessions open at once across all devices; more wait for a slot.
    pub max_sessions: usize,
}

impl Default for CliOptions {
    fn default() -> Self {
        Self {
            ssh: SshOptions::default(),
            command_timeout: Duration::from_secs(30),
            max_sessions: 64,
        }
    }
}

/// The SSH CLI driver. Clones share the session bounds.
#[derive(Clone)]
pub struct CliDriver {
    options: CliOptions,
    slots: Arc<Semaphore>,
    devices: Arc<Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>>,
}

impl std::fmt::Debug for CliDriver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CliDriver")
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

impl CliDriver {
    /// A driver with these options.
    #[must_use]
    pub fn new(options: CliOptions) -> Self {
        Self {
            slots: Arc::new(Semaphore::new(options.max_sessions.max(1))),
            options,
            devices: Arc::default(),
        }
    }

    fn device_lock(&self, device: &str) -> Arc<tokio::sync::Mutex<()>> {
        self.devices
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(device.to_string())
            .or_default()
            .clone()
    }
}

/// Opens a shell on `target` and reads up to its first prompt.
async fn open_shell(
    target: &Target,
    platform: &'static CliPlatform,
    options: &CliOptions,
) -> Result<Box<dyn Shell>, DriverError> {
    let connection = connect(target, &options.ssh).await?;
    let channel = connection.shell(platform.pty).await?;
    let prompt = platform::compiled(platform.prompt);
    Ok(Box::new(SshShell::new(connection, channel, prompt)))
}

/// Reconnects a session whose SSH connection dropped.
struct SshReconnect {
    target: Target,
    platform: &'static CliPlatform,
    options: CliOptions,
}

#[async_trait]
impl Reconnect for SshReconnect {
    async fn reconnect(&self) -> Result<Box<dyn Shell>, DriverError> {
        let mut shell = open_shell(&self.target, self.platform, &self.options).await?;
        session::setup(
            &self.target.device,
            self.platform,
            shell.as_mut(),
            self.options.command_timeout,
        )
        .await?;
        Ok(shell)
    }
}

#[async_trait]
impl Driver for CliDriver {
    async fn open(&self, target: &Target) -> Result<Box<dyn Session>, DriverError> {
        let device = target.device.as_str();
        let platform =
            CliPlatform::by_name(&target.platform).ok_or_else(|| DriverError::Connect {
                device: device.to_string(),
                reason: format!(
                    "platform {:?} has no CLI driver: use frr, eos, ios or junos",
                    target.platform
                ),
            })?;
        let wait = self.options.ssh.connect_timeout;
        let device_guard = tokio::time::timeout(wait, self.device_lock(device).lock_owned())
            .await
            .map_err(|_| DriverError::LockHeld {
                device: device.to_string(),
            })?;
        let slot = tokio::time::timeout(wait, self.slots.clone().acquire_owned())
            .await
            .ok()
            .and_then(Result::ok)
            .ok_or_else(|| DriverError::Connect {
                device: device.to_string(),
                reason: format!(
                    "all {} SSH session slots stayed busy for {wait:?}: raise the session bound or push to fewer devices at once",
                    self.options.max_sessions
                ),
            })?;
        let shell = open_shell(target, platform, &self.options).await?;
        let reconnect: Arc<dyn Reconnect> = Arc::new(SshReconnect {
            target: target.clone(),
            platform,
            options: self.options.clone(),
        });
        let prefix = format!(
            "naas-{}",
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_millis() % 1_000_000)
        );
        let inner = session::Inner::start(
            device,
            platform,
            shell,
            Some(reconnect),
            self.options.command_timeout,
            &prefix,
            vec![Box::new(device_guard), Box::new(slot)],
        )
        .await?;
        Ok(Box::new(CliSession::new(inner)))
    }
}
