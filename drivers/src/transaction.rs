//! One change across several devices as one transaction: prepare every device, then commit them all, or roll back those committed.
//!
//! [`apply`] opens a session to every device and loads and diffs its
//! candidate (concurrently); a device that cannot be prepared fails the
//! transaction before anything is committed. Then every changed device
//! commits (concurrently), confirmed within [`Plan::confirm_within`] when
//! set, so that a device whose session drops mid-way reverts by itself
//! where the platform has confirmed commits. When any commit fails, the
//! devices already committed are rolled back and the others discarded;
//! only when every commit succeeded are they confirmed. The error names
//! every device and what happened to it.

use std::time::Duration;

use futures_util::future::join_all;

use crate::{Driver, DriverError, LoadMode, Session, Target};

/// One device's part of a transaction.
#[derive(Debug, Clone)]
pub struct Change {
    /// How to reach the device.
    pub target: Target,
    /// Merge, or replace naas's part (with what naas applied before).
    pub mode: LoadMode,
    /// The candidate.
    pub config: String,
}

/// A transaction: the changes and how to commit them.
#[derive(Debug, Clone, Default)]
pub struct Plan {
    /// One change per device.
    pub changes: Vec<Change>,
    /// Commit with a confirm timeout, then confirm once all devices committed.
    pub confirm_within: Option<Duration>,
}

/// What the transaction did on one device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// The device.
    pub device: String,
    /// What was (or would be) sent: the driver's diff; empty when nothing.
    pub diff: String,
    /// Whether the device's config changed.
    pub committed: bool,
}

/// Why a transaction failed; in every case no device keeps a partial change.
#[derive(Debug, thiserror::Error)]
pub enum TransactionError {
    /// A device could not be prepared: nothing was committed anywhere.
    #[error("{source}; nothing was committed on any device")]
    Prepare {
        /// The first device that failed (in device order) and why.
        source: DriverError,
    },
    /// A commit failed: the devices committed before were rolled back.
    #[error("{source}; {}", rollback_summary(.rolled_back, .rollback_failed))]
    Commit {
        /// The device whose commit failed and why.
        source: DriverError,
        /// Devices that had committed and were rolled back.
        rolled_back: Vec<String>,
        /// Devices whose rollback failed too (with confirmed commits they
        /// revert by themselves at the confirm timeout).
        rollback_failed: Vec<(String, DriverError)>,
    },
    /// Every device committed but a confirmation failed: that device
    /// reverts at its confirm timeout; the others were rolled back.
    #[error("{source}; {}", rollback_summary(.rolled_back, .rollback_failed))]
    Confirm {
        /// The device whose confirmation failed and why.
        source: DriverError,
        /// Devices rolled back after it.
        rolled_back: Vec<String>,
        /// Devices whose rollback failed.
        rollback_failed: Vec<(String, DriverError)>,
    },
}

impl TransactionError {
    /// The device the transaction failed on.
    #[must_use]
    pub fn device(&self) -> &str {
        let source = match self {
            TransactionError::Prepare { source }
            | TransactionError::Commit { source, .. }
            | TransactionError::Confirm { source, .. } => source,
        };
        source.device()
    }
}

fn rollback_summary(rolled_back: &[String], failed: &[(String, DriverError)]) -> String {
    let mut text = if rolled_back.is_empty() {
        "no other device had committed".to_string()
    } else {
        format!("rolled back: {}", rolled_back.join(", "))
    };
    for (device, e) in failed {
        text.push_str(&format!("; rollback of {device} failed too: {e}"));
    }
    text
}

/// A prepared device: its session and diff.
struct Prepared {
    device: String,
    session: Box<dyn Session>,
    diff: String,
}

/// Runs `plan` through `driver` (see the module docs).
///
/// # Errors
/// See [`TransactionError`]; after any error no device keeps a partial change.
pub async fn apply(driver: &dyn Driver, plan: Plan) -> Result<Vec<Outcome>, TransactionError> {
    let ready = prepare_all(driver, plan.changes).await?;
    let (mut changed, mut unchanged): (Vec<_>, Vec<_>) =
        ready.into_iter().partition(|p| !p.diff.is_empty());
    // Nothing to send there: drop the (empty) candidate and any lock.
    join_all(unchanged.iter_mut().map(|p| p.session.discard())).await;
    let mut outcomes: Vec<Outcome> = unchanged
        .into_iter()
        .map(|p| Outcome {
            device: p.device,
            diff: String::new(),
            committed: false,
        })
        .collect();

    let confirm = plan.confirm_within;
    let commits = join_all(changed.iter_mut().map(|p| p.session.commit(confirm))).await;
    if let Some(pos) = commits.iter().position(Result::is_err) {
        let source = commits[pos].clone().unwrap_err();
        let (rolled_back, rollback_failed) = undo(&mut changed, &commits).await;
        return Err(TransactionError::Commit {
            source,
            rolled_back,
            rollback_failed,
        });
    }
    if confirm.is_some() {
        let confirms = join_all(changed.iter_mut().map(|p| p.session.confirm())).await;
        if let Some(pos) = confirms.iter().position(Result::is_err) {
            let source = confirms[pos].clone().unwrap_err();
            // The failed one reverts by itself; undo the confirmed ones.
            let (rolled_back, rollback_failed) = undo(&mut changed, &confirms).await;
            return Err(TransactionError::Confirm {
                source,
                rolled_back,
                rollback_failed,
            });
        }
    }
    outcomes.extend(changed.into_iter().map(|p| Outcome {
        device: p.device,
        diff: p.diff,
        committed: true,
    }));
    outcomes.sort_by(|a, b| a.device.cmp(&b.device));
    Ok(outcomes)
}

/// Prepares every device of `plan` as [`apply`] does (open, load, diff),
/// then discards every candidate: what a push would send, sending nothing.
/// Outcomes are in device order, none `committed`.
///
/// # Errors
/// [`TransactionError::Prepare`] when a device cannot be reached or
/// refuses the candidate; every other session is discarded.
pub async fn preview(driver: &dyn Driver, plan: Plan) -> Result<Vec<Outcome>, TransactionError> {
    let mut ready = prepare_all(driver, plan.changes).await?;
    join_all(ready.iter_mut().map(|p| p.session.discard())).await;
    Ok(ready
        .into_iter()
        .map(|p| Outcome {
            committed: false,
            device: p.device,
            diff: p.diff,
        })
        .collect())
}

/// Prepares every device concurrently, in device order; when one fails,
/// discards the others and fails with the first failure in device order.
async fn prepare_all(
    driver: &dyn Driver,
    mut changes: Vec<Change>,
) -> Result<Vec<Prepared>, TransactionError> {
    changes.sort_by(|a, b| a.target.device.cmp(&b.target.device));
    let prepared = join_all(changes.iter().map(|c| prepare(driver, c))).await;
    let mut ready = Vec::with_capacity(prepared.len());
    let mut failure = None;
    for p in prepared {
        match p {
            Ok(p) => ready.push(p),
            Err(e) => {
                failure.get_or_insert(e);
            }
        }
    }
    if let Some(source) = failure {
        join_all(ready.iter_mut().map(|p| p.session.discard())).await;
        return Err(TransactionError::Prepare { source });
    }
    Ok(ready)
}

/// Opens, loads and diffs one device.
async fn prepare(driver: &dyn Driver, change: &Change) -> Result<Prepared, DriverError> {
    let mut session = driver.open(&change.target).await?;
    let loaded = async {
        session.load(&change.mode, &change.config).await?;
        session.diff().await
    }
    .await;
    match loaded {
        Ok(diff) => Ok(Prepared {
            device: change.target.device.clone(),
            session,
            diff,
        }),
        Err(e) => {
            let _ = session.discard().await;
            Err(e)
        }
    }
}

/// Rolls back the sessions whose step succeeded (`results[i]` is Ok) and
/// discards the others.
async fn undo(
    sessions: &mut [Prepared],
    results: &[Result<(), DriverError>],
) -> (Vec<String>, Vec<(String, DriverError)>) {
    let undone = join_all(sessions.iter_mut().zip(results).map(|(p, r)| async move {
        if r.is_ok() {
            Some((p.device.clone(), p.session.rollback().await))
        } else {
            let _ = p.session.discard().await;
            None
        }
    }))
    .await;
    let mut rolled_back = Vec::new();
    let mut failed = Vec::new();
    for (device, result) in undone.into_iter().flatten() {
        match result {
            Ok(()) => rolled_back.push(device),
            Err(e) => failed.push((device, e)),
        }
    }
    (rolled_back, failed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Fault, MemoryDriver, Secret};

    fn change(device: &str, config: &str) -> Change {
        Change {
            target: Target {
                device: device.into(),
                address: "127.0.0.1".into(),
                port: 22,
                platform: "frr".into(),
                username: "naas".into(),
                secret: Secret::Password("p".into()),
                host_key: None,
            },
            mode: LoadMode::Replace {
                applied: String::new(),
            },
            config: config.into(),
        }
    }

    fn plan(confirm: Option<Duration>) -> Plan {
        Plan {
            changes: vec![
                change("r3", "c\n"),
                change("r1", "a\n"),
                change("r2", "b\n"),
            ],
            confirm_within: confirm,
        }
    }

    #[tokio::test]
    async fn every_device_commits_and_an_unchanged_one_is_left_alone() {
        let d = MemoryDriver::new();
        let out = apply(&d, plan(Some(Duration::from_secs(60))))
            .await
            .unwrap();
        assert_eq!(
            out.iter()
                .map(|o| (o.device.as_str(), o.committed))
                .collect::<Vec<_>>(),
            [("r1", true), ("r2", true), ("r3", true)]
        );
        assert_eq!(d.running("r2"), "b\n");
        let out = apply(&d, plan(None)).await.unwrap();
        assert!(
            out.iter().all(|o| !o.committed && o.diff.is_empty()),
            "{out:?}"
        );
        assert_eq!(d.pushes().len(), 3, "nothing pushed twice");
    }

    #[tokio::test]
    async fn a_device_that_cannot_be_prepared_stops_everything_before_any_commit() {
        for fault in [Fault::Unreachable, Fault::Reject] {
            let d = MemoryDriver::new();
            d.set_fault("r2", Some(fault));
            let e = apply(&d, plan(None)).await.unwrap_err();
            assert!(matches!(e, TransactionError::Prepare { .. }), "{e}");
            assert_eq!(e.device(), "r2");
            assert!(e.to_string().contains("nothing was committed"), "{e}");
            assert!(d.pushes().is_empty());
        }
    }

    #[tokio::test]
    async fn a_preview_shows_each_diff_and_commits_nothing() {
        let d = MemoryDriver::new();
        let out = preview(&d, plan(None)).await.unwrap();
        assert_eq!(
            out.iter().map(|o| o.device.as_str()).collect::<Vec<_>>(),
            ["r1", "r2", "r3"]
        );
        assert!(out[0].diff.contains("+a"), "{out:?}");
        assert!(out.iter().all(|o| !o.committed));
        assert!(d.pushes().is_empty(), "nothing was committed");
        d.set_fault("r3", Some(Fault::Reject));
        let e = preview(&d, plan(None)).await.unwrap_err();
        assert_eq!(e.device(), "r3");
        assert!(d.pushes().is_empty());
    }

    #[tokio::test]
    async fn a_failed_commit_rolls_back_the_devices_that_committed() {
        let d = MemoryDriver::new();
        apply(&d, plan(None)).await.unwrap();
        d.set_fault("r2", Some(Fault::Commit));
        let mut next = plan(None);
        for c in &mut next.changes {
            c.config.push_str("new\n");
        }
        let e = apply(&d, next).await.unwrap_err();
        assert_eq!(e.device(), "r2");
        let text = e.to_string();
        assert!(text.contains("rolled back: r1, r3"), "{text}");
        for (device, before) in [("r1", "a\n"), ("r2", "b\n"), ("r3", "c\n")] {
            assert_eq!(d.running(device), before, "{device} is as before");
        }
    }
}
