//! Conditions (`Ready`, `InSync`) with observedGeneration, kept stable so that status is written only when it changes.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};

/// A `Ready` condition for `generation`. `previous` keeps its transition
/// time when the status did not change, so re-applying it changes nothing.
#[must_use]
pub fn ready(
    ready: bool,
    reason: &str,
    message: impl Into<String>,
    generation: Option<i64>,
    previous: &[Condition],
) -> Condition {
    condition("Ready", ready, reason, message, generation, previous)
}

/// A condition of type `type_` (see [`ready`]).
#[must_use]
pub fn condition(
    type_: &str,
    ready: bool,
    reason: &str,
    message: impl Into<String>,
    generation: Option<i64>,
    previous: &[Condition],
) -> Condition {
    let status = if ready { "True" } else { "False" };
    let last_transition_time = previous
        .iter()
        .find(|c| c.type_ == type_ && c.status == status)
        .map_or_else(
            || Time(k8s_openapi::jiff::Timestamp::now()),
            |c| c.last_transition_time.clone(),
        );
    Condition {
        type_: type_.into(),
        status: status.into(),
        reason: reason.into(),
        message: message.into(),
        observed_generation: generation,
        last_transition_time,
    }
}
