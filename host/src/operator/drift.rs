//! Drift checks of a Device: read its running config, check that every line naas applied is there, and heal when the Device says so.

use std::time::Duration;

use kube::ResourceExt;

use super::applied::target;
use super::records::record_of;
use super::{Context, Device, DriftPolicy, Error};
use crate::applied::{self, DeviceUpdate, union};
use crate::config_tree::{self, Platform};

/// Most drift lines kept in status and Events.
const MAX_LINES: usize = 50;

/// What a drift check found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Finding {
    /// Whether the device holds naas's config (after healing, if it healed).
    pub in_sync: bool,
    /// The condition's reason: `InSync`, `Drifted`, `Healed`, `Unreachable`.
    pub reason: &'static str,
    /// What happened, for the condition and the Event.
    pub message: String,
    /// `missing: …` / `returned: …` lines (at most [`MAX_LINES`]).
    pub lines: Vec<String>,
    /// Whether the device answered.
    pub reachable: bool,
}

/// The Device's drift check interval, when it has one.
///
/// # Errors
/// An interval that does not parse, naming the field.
pub(super) fn interval(d: &Device) -> Result<Option<Duration>, String> {
    d.spec
        .drift_check_interval
        .as_deref()
        .map(|s| crate::cli::parse_duration(s).map_err(|e| format!("spec.driftCheckInterval: {e}")))
        .transpose()
}

/// Checks `d` (platforms with config-tree rules: eos, frr, ios); `None` for
/// other platforms.
pub(super) async fn check(ctx: &Context, d: &Device) -> Option<Finding> {
    let platform = Platform::by_name(&d.spec.platform)?;
    let device = d.name_any();
    // One push or check per device at a time.
    let lock = ctx.applied.lock_of(&device);
    let _guard = lock.lock().await;
    Some(
        match look(ctx, &device, platform, d.spec.drift_policy).await {
            Ok(f) => {
                crate::metrics::global().drift(&device, f.lines.len());
                f
            }
            Err(e) => Finding {
                in_sync: false,
                reason: "Unreachable",
                message: format!("drift check failed: {e}"),
                lines: Vec::new(),
                reachable: false,
            },
        },
    )
}

async fn look(
    ctx: &Context,
    device: &str,
    platform: &'static Platform,
    policy: DriftPolicy,
) -> Result<Finding, Error> {
    let (fragments, _, removed) = record_of(ctx, device).await?;
    let applied = union(&fragments);
    let found = read_drift(ctx, device, &applied, &removed, platform).await?;
    if found.is_empty() {
        return Ok(Finding {
            in_sync: true,
            reason: "InSync",
            message: "every line naas applied is on the device".into(),
            lines: Vec::new(),
            reachable: true,
        });
    }
    let lines = describe(&found);
    if policy == DriftPolicy::Report {
        return Ok(Finding {
            in_sync: false,
            reason: "Drifted",
            message: format!(
                "the device differs from what naas applied: {}",
                summary(&lines)
            ),
            lines,
            reachable: true,
        });
    }
    // Heal: make naas's part exactly what it applied (before = after).
    let update = DeviceUpdate {
        target: target(ctx, device).await?,
        before: fragments.clone(),
        after: fragments,
    };
    applied::commit(ctx.driver.as_ref(), &[update])
        .await
        .map_err(|e| Error::Push {
            device: device.into(),
            detail: e.to_string(),
        })?;
    let after = read_drift(ctx, device, &applied, &removed, platform).await?;
    Ok(Finding {
        in_sync: after.is_empty(),
        reason: if after.is_empty() {
            "Healed"
        } else {
            "Drifted"
        },
        message: format!("healed (driftPolicy heal): {}", summary(&lines)),
        lines: describe(&after),
        reachable: true,
    })
}

async fn read_drift(
    ctx: &Context,
    device: &str,
    applied: &str,
    removed: &str,
    platform: &Platform,
) -> Result<config_tree::Drift, Error> {
    let t = target(ctx, device).await?;
    let mut session = ctx.driver.open(&t).await.map_err(Error::Driver)?;
    let running = session.running_config().await.map_err(Error::Driver)?;
    drop(session);
    config_tree::drift(&running, applied, removed, platform).map_err(|e| Error::Push {
        device: device.into(),
        detail: format!("its running config does not parse: {e}"),
    })
}

fn describe(d: &config_tree::Drift) -> Vec<String> {
    d.missing
        .iter()
        .map(|l| format!("missing: {l}"))
        .chain(d.returned.iter().map(|l| format!("returned: {l}")))
        .take(MAX_LINES)
        .collect()
}

fn summary(lines: &[String]) -> String {
    let shown: Vec<&str> = lines.iter().take(5).map(String::as_str).collect();
    let more = lines.len().saturating_sub(shown.len());
    if more == 0 {
        shown.join("; ")
    } else {
        format!("{}; and {more} more", shown.join("; "))
    }
}
