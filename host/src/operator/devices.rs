//! The Device controller: checks a Device (host key policy, tenant port grants, driver), runs its drift checks, and reports both in status.

use std::sync::Arc;

use kube::runtime::controller::Action;
use kube::runtime::events::EventType;
use kube::{Resource, ResourceExt};

use super::{Context, Device, DeviceStatus, Error, conditions, drift};

/// Reconciles one Device.
pub(super) async fn reconcile(d: Arc<Device>, ctx: Arc<Context>) -> Result<Action, Error> {
    crate::metrics::global().reconciled("Device");
    let _busy = ctx.busy();
    let generation = d.meta().generation;
    let previous = d.status.clone().unwrap_or_default();
    // The checks admission makes (a Device stored before the webhook ran,
    // or with admission off, is judged the same).
    let problems = crate::admission::device_violations(&d.spec, &ctx.namespace);
    let (ready, reason, message) = if problems.is_empty() {
        (true, "Valid", "the Device is valid".to_string())
    } else {
        (false, "Invalid", problems.join("; "))
    };
    // The drift check, every driftCheckInterval, on a valid Device.
    let interval = drift::interval(&d).ok().flatten();
    let finding = match interval {
        Some(_) if ready => drift::check(&ctx, &d).await,
        _ => None,
    };
    let mut conditions = vec![conditions::ready(
        ready,
        reason,
        message.clone(),
        generation,
        &previous.conditions,
    )];
    if let Some(f) = &finding {
        conditions.push(conditions::condition(
            "InSync",
            f.in_sync,
            f.reason,
            f.message.clone(),
            generation,
            &previous.conditions,
        ));
    }
    let status = DeviceStatus {
        reachable: finding
            .as_ref()
            .map_or(previous.reachable, |f| Some(f.reachable)),
        drift: finding.as_ref().map_or_else(Vec::new, |f| f.lines.clone()),
        host_key_verification: Some(
            if d.spec.insecure_skip_host_key_verification {
                "Skipped"
            } else {
                "Verified"
            }
            .into(),
        ),
        conditions,
        ..previous.clone()
    };
    if let Some(f) = &finding {
        let was = previous.conditions.iter().find(|c| c.type_ == "InSync");
        let changed = was.is_none_or(|c| c.reason != f.reason || c.message != f.message);
        if changed && f.reason != "InSync" {
            let kind = if f.reason == "Healed" {
                EventType::Normal
            } else {
                EventType::Warning
            };
            ctx.event(&*d, kind, f.reason, &f.message).await;
        }
    }
    if d.status.as_ref() != Some(&status) {
        if !ready {
            ctx.event(&*d, EventType::Warning, "Invalid", &message)
                .await;
        } else if d.spec.insecure_skip_host_key_verification {
            ctx.event(
                &*d,
                EventType::Warning,
                "HostKeyNotVerified",
                "insecureSkipHostKeyVerification is set: any host key is accepted",
            )
            .await;
        }
        ctx.apply_status(&*d, &status).await?;
    }
    Ok(interval.map_or_else(Action::await_change, Action::requeue))
}

/// Retries a failed Device.
pub(super) fn error_policy(d: Arc<Device>, error: &Error, ctx: Arc<Context>) -> Action {
    tracing::warn!(device = %d.name_any(), "reconcile failed: {error}");
    crate::metrics::global().failed("Device", error.class());
    Action::requeue(ctx.backoff(&format!("Device/{}", d.name_any())))
}
