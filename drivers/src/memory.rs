//! The in-memory driver: devices are text buffers; it records every commit, for examples and tests without devices.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use async_trait::async_trait;

use crate::{Driver, DriverError, LoadMode, Session, Target};

/// One commit the memory driver received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pushed {
    /// The device.
    pub device: String,
    /// Its config after the commit.
    pub config: String,
}

#[derive(Debug, Default)]
struct Devices {
    running: BTreeMap<String, String>,
    pushes: Vec<Pushed>,
    faults: BTreeMap<String, Fault>,
    /// Sessions asked for, per device (counted as `open` starts).
    opens: BTreeMap<String, usize>,
}

/// A failure the memory driver plays for a device, to test what callers do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// `open` fails (unreachable).
    Unreachable,
    /// `load` rejects the candidate.
    Reject,
    /// `commit` fails.
    Commit,
    /// `open` takes [`SLOW_OPEN`] (a slow device), then works.
    Slow,
}

/// How long `open` takes on a device with [`Fault::Slow`].
pub const SLOW_OPEN: Duration = Duration::from_millis(300);

/// Devices kept in memory. Clones share the devices.
#[derive(Debug, Clone, Default)]
pub struct MemoryDriver {
    devices: Arc<Mutex<Devices>>,
}

impl MemoryDriver {
    /// No devices configured yet.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// The running config of `device` (empty if never pushed).
    #[must_use]
    pub fn running(&self, device: &str) -> String {
        self.lock().running.get(device).cloned().unwrap_or_default()
    }

    /// Sets the running config of `device`, as someone editing the device by
    /// hand would.
    pub fn set_running(&self, device: &str, config: &str) {
        self.lock()
            .running
            .insert(device.to_string(), config.to_string());
    }

    /// Makes `device` fail as `fault` says from now on (`None`: heals it).
    pub fn set_fault(&self, device: &str, fault: Option<Fault>) {
        let mut d = self.lock();
        match fault {
            Some(f) => d.faults.insert(device.to_string(), f),
            None => d.faults.remove(device),
        };
    }

    fn fault(&self, device: &str) -> Option<Fault> {
        self.lock().faults.get(device).copied()
    }

    /// How many sessions have been asked of `device` so far (counted when
    /// `open` starts, so a slow open in progress counts).
    #[must_use]
    pub fn opens(&self, device: &str) -> usize {
        self.lock().opens.get(device).copied().unwrap_or(0)
    }

    /// Every commit so far, oldest first.
    #[must_use]
    pub fn pushes(&self) -> Vec<Pushed> {
        self.lock().pushes.clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Devices> {
        self.devices.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[async_trait]
impl Driver for MemoryDriver {
    async fn open(&self, target: &Target) -> Result<Box<dyn Session>, DriverError> {
        *self.lock().opens.entry(target.device.clone()).or_default() += 1;
        if self.fault(&target.device) == Some(Fault::Unreachable) {
            return Err(DriverError::Connect {
                device: target.device.clone(),
                reason: "connection refused (memory driver fault)".into(),
            });
        }
        if self.fault(&target.device) == Some(Fault::Slow) {
            tokio::time::sleep(SLOW_OPEN).await;
        }
        Ok(Box::new(MemorySession {
            driver: self.clone(),
            device: target.device.clone(),
            candidate: None,
            before: None,
        }))
    }
}

struct MemorySession {
    driver: MemoryDriver,
    device: String,
    candidate: Option<String>,
    before: Option<String>,
}

#[async_trait]
impl Session for MemorySession {
    async fn running_config(&mut self) -> Result<String, DriverError> {
        Ok(self.driver.running(&self.device))
    }

    async fn load(&mut self, mode: &LoadMode, config: &str) -> Result<(), DriverError> {
        if self.driver.fault(&self.device) == Some(Fault::Reject) {
            return Err(DriverError::ConfigRejected {
                device: self.device.clone(),
                line: config.lines().next().unwrap_or_default().to_string(),
                message: "% Invalid input (memory driver fault)".into(),
            });
        }
        let base = self
            .candidate
            .clone()
            .unwrap_or_else(|| self.driver.running(&self.device));
        self.candidate = Some(match mode {
            // A memory device holds only naas's config.
            LoadMode::Replace { .. } => config.to_string(),
            LoadMode::Merge => {
                let mut merged = base;
                for line in config.lines() {
                    if !merged.lines().any(|l| l == line) {
                        merged.push_str(line);
                        merged.push('\n');
                    }
                }
                merged
            }
        });
        Ok(())
    }

    async fn diff(&mut self) -> Result<String, DriverError> {
        let running = self.driver.running(&self.device);
        let candidate = self.candidate.clone().unwrap_or_else(|| running.clone());
        Ok(similar::TextDiff::from_lines(&running, &candidate)
            .unified_diff()
            .header("running", "candidate")
            .to_string())
    }

    async fn commit(&mut self, _confirm_within: Option<Duration>) -> Result<(), DriverError> {
        if self.driver.fault(&self.device) == Some(Fault::Commit) {
            return Err(DriverError::CommitFailed {
                device: self.device.clone(),
                detail: "commit refused (memory driver fault)".into(),
            });
        }
        let Some(candidate) = self.candidate.take() else {
            return Ok(());
        };
        let mut d = self.driver.lock();
        let previous = d
            .running
            .insert(self.device.clone(), candidate.clone())
            .unwrap_or_default();
        self.before = Some(previous);
        d.pushes.push(Pushed {
            device: self.device.clone(),
            config: candidate,
        });
        Ok(())
    }

    async fn confirm(&mut self) -> Result<(), DriverError> {
        self.before = None;
        Ok(())
    }

    async fn discard(&mut self) -> Result<(), DriverError> {
        self.candidate = None;
        Ok(())
    }

    async fn rollback(&mut self) -> Result<(), DriverError> {
        if let Some(before) = self.before.take() {
            self.driver
                .lock()
                .running
                .insert(self.device.clone(), before);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Secret;

    fn target(device: &str) -> Target {
        Target {
            device: device.into(),
            address: "127.0.0.1".into(),
            port: 22,
            platform: "eos".into(),
            username: "u".into(),
            secret: Secret::Password("p".into()),
            host_key: None,
        }
    }

    fn replace() -> LoadMode {
        LoadMode::Replace {
            applied: String::new(),
        }
    }

    #[tokio::test]
    async fn load_diff_commit_rollback_and_record() {
        let d = MemoryDriver::new();
        let mut s = d.open(&target("leaf1")).await.unwrap();
        s.load(&replace(), "a\nb\n").await.unwrap();
        assert!(s.diff().await.unwrap().contains("+a\n"));
        assert_eq!(d.running("leaf1"), "", "nothing before commit");
        s.commit(None).await.unwrap();
        assert_eq!(d.running("leaf1"), "a\nb\n");
        s.load(&LoadMode::Merge, "b\nc\n").await.unwrap();
        s.commit(Some(Duration::from_secs(60))).await.unwrap();
        assert_eq!(d.running("leaf1"), "a\nb\nc\n");
        s.rollback().await.unwrap();
        assert_eq!(d.running("leaf1"), "a\nb\n");
        assert_eq!(d.pushes().len(), 2);
        s.load(&replace(), "x\n").await.unwrap();
        s.discard().await.unwrap();
        assert!(s.diff().await.unwrap().is_empty());
        assert_eq!(format!("{:?}", target("x").secret), "Password(***)");
    }
}
