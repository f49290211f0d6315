//! What naas applied to a device, per service, and the push of changed devices as one transaction: shared by the operator (records in ConfigMaps) and `naas push` (records in a state directory).
//!
//! A device's record maps service keys (`Kind.namespace.name`) to the
//! config each service rendered for it (its *fragment*). The device's whole
//! naas config is the [`union`] of its fragments, in key order. A push
//! loads the new union in [`LoadMode::Replace`] mode with the old union as
//! `applied`: the driver then negates only lines naas applied before, and
//! never touches lines it never applied. Every caller goes through
//! [`DeviceUpdate`], [`commit`] and [`preview`], so the operator and the
//! command line push exactly the same way.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::driver::transaction::{self, Change, Outcome, TransactionError};
use crate::driver::{Driver, LoadMode, Target};

/// One device's record: service key → the config that service applied there.
pub type Fragments = BTreeMap<String, String>;

/// How long a device waits for the confirmation of a commit before it
/// reverts by itself (where the platform has confirmed commits): long
/// enough for every device of a transaction to commit.
pub const CONFIRM_WITHIN: Duration = Duration::from_secs(120);

/// The key of a service in a record: `Kind.namespace.name`.
#[must_use]
pub fn service_key(kind: &str, namespace: &str, name: &str) -> String {
    format!("{kind}.{namespace}.{name}")
}

/// The device's whole naas config: its services' fragments in key order,
/// each ending with a newline.
#[must_use]
pub fn union(fragments: &Fragments) -> String {
    let mut text = String::new();
    for t in fragments.values() {
        text.push_str(t);
        if !t.ends_with('\n') {
            text.push('\n');
        }
    }
    text
}

/// The unified diff between the unions of two records (`applied` → `planned`).
#[must_use]
pub fn planned_diff(before: &Fragments, after: &Fragments) -> String {
    similar::TextDiff::from_lines(&union(before), &union(after))
        .unified_diff()
        .header("applied", "planned")
        .to_string()
}

/// One device's part of a push: how to reach it, its record before (what
/// naas applied there) and after.
#[derive(Debug, Clone)]
pub struct DeviceUpdate {
    /// How to reach the device.
    pub target: Target,
    /// What naas applied there before this push.
    pub before: Fragments,
    /// What naas's part of the device must be after it.
    pub after: Fragments,
}

impl DeviceUpdate {
    /// The device's name.
    #[must_use]
    pub fn device(&self) -> &str {
        &self.target.device
    }

    /// Its change in a transaction: replace naas's part (the union of
    /// `before`) by the union of `after`.
    #[must_use]
    pub fn change(&self) -> Change {
        Change {
            target: self.target.clone(),
            mode: LoadMode::Replace {
                applied: union(&self.before),
            },
            config: union(&self.after),
        }
    }
}

fn plan(updates: &[DeviceUpdate]) -> transaction::Plan {
    transaction::Plan {
        changes: updates.iter().map(DeviceUpdate::change).collect(),
        confirm_within: Some(CONFIRM_WITHIN),
    }
}

/// Pushes every update as one transaction (see [`transaction::apply`]):
/// every device commits (confirmed within [`CONFIRM_WITHIN`]), or none
/// keeps a change. Returns what each device was sent, in device order.
///
/// # Errors
/// The transaction's error, naming the device and what happened to the others.
pub async fn commit(
    driver: &dyn Driver,
    updates: &[DeviceUpdate],
) -> Result<Vec<Outcome>, TransactionError> {
    let started = std::time::Instant::now();
    let result = transaction::apply(driver, plan(updates)).await;
    let took = started.elapsed();
    for u in updates {
        crate::metrics::global().pushed(&u.target.device, result.is_ok(), took);
    }
    result
}

/// What [`commit`] would send to each device, sending nothing (see
/// [`transaction::preview`]).
///
/// # Errors
/// A device that cannot be reached or refuses the candidate.
pub async fn preview(
    driver: &dyn Driver,
    updates: &[DeviceUpdate],
) -> Result<Vec<Outcome>, TransactionError> {
    transaction::preview(driver, plan(updates)).await
}

/// Most bytes of config text kept as "removed" per device (the oldest
/// fragments go first).
pub const MAX_REMOVED_BYTES: usize = 64 << 10;

/// The config naas has taken off a device once `before` became `after`:
/// `previous`, then the old fragment of every service whose fragment
/// changed or went, bounded to [`MAX_REMOVED_BYTES`] by dropping the oldest
/// text at a top-level line (a section is never cut in two). Lines that
/// are applied again are told apart at drift time.
#[must_use]
pub fn next_removed(previous: &str, before: &Fragments, after: &Fragments) -> String {
    let mut removed = previous.to_string();
    for (key, old) in before {
        if after.get(key) != Some(old) {
            if !removed.is_empty() && !removed.ends_with('\n') {
                removed.push('\n');
            }
            removed.push_str(old);
        }
    }
    if removed.len() <= MAX_REMOVED_BYTES {
        return removed;
    }
    let cut = removed.len() - MAX_REMOVED_BYTES;
    // The first top-level line at or after the cut.
    let start = removed[cut..]
        .match_indices('\n')
        .map(|(i, _)| cut + i + 1)
        .find(|&i| {
            removed[i..]
                .chars()
                .next()
                .is_some_and(|c| !c.is_whitespace())
        })
        .unwrap_or(removed.len());
    removed[start..].to_string()
}

/// Fragments from `(service key, config)` pairs, for tests.
#[cfg(test)]
pub(crate) fn fragments(pairs: &[(&str, &str)]) -> Fragments {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::driver::{MemoryDriver, Secret};

    #[test]
    fn the_union_is_in_key_order_and_line_terminated() {
        let f = fragments(&[("B.ns.b", "b1\nb2"), ("A.ns.a", "a1\n")]);
        assert_eq!(union(&f), "a1\nb1\nb2\n");
        assert_eq!(union(&Fragments::new()), "");
        assert_eq!(service_key("BgpPeering", "t", "up"), "BgpPeering.t.up");
        let d = planned_diff(&f, &fragments(&[("A.ns.a", "a1\n")]));
        assert!(d.contains("-b1\n-b2\n") && !d.contains("-a1"), "{d}");
    }

    #[test]
    fn removed_config_gathers_old_fragments_and_drops_the_oldest_whole_sections() {
        let before = fragments(&[
            ("A.t.a", "interface E1\n description a\n"),
            ("B.t.b", "b1\n"),
        ]);
        let after = fragments(&[("A.t.a", "interface E1\n description a2\n")]);
        assert_eq!(
            next_removed("old\n", &before, &after),
            "old\ninterface E1\n description a\nb1\n"
        );
        assert_eq!(next_removed("", &before, &before), "", "nothing changed");
        let section = "interface E9\n description long\n".repeat(MAX_REMOVED_BYTES / 16);
        let big = fragments(&[("C.t.c", section.as_str())]);
        let kept = next_removed("", &big, &Fragments::new());
        assert!(kept.len() <= MAX_REMOVED_BYTES, "{}", kept.len());
        assert!(kept.starts_with("interface E9\n"), "whole sections only");
    }

    #[tokio::test]
    async fn an_update_replaces_only_what_naas_applied() {
        let driver = MemoryDriver::new();
        let update = |before: Fragments, after: Fragments| DeviceUpdate {
            target: Target {
                device: "r1".into(),
                address: "127.0.0.1".into(),
                port: 22,
                platform: "frr".into(),
                username: "u".into(),
                secret: Secret::Password("p".into()),
                host_key: None,
            },
            before,
            after,
        };
        let both = fragments(&[("A.t.a", "a\n"), ("B.t.b", "b\n")]);
        let change = update(Fragments::new(), both.clone()).change();
        assert_eq!(change.config, "a\nb\n");
        assert_eq!(
            change.mode,
            LoadMode::Replace {
                applied: String::new()
            }
        );
        let seen = preview(&driver, &[update(Fragments::new(), both.clone())])
            .await
            .unwrap();
        assert!(seen[0].diff.contains("+a\n+b\n"), "{seen:?}");
        assert_eq!(driver.running("r1"), "", "a preview pushes nothing");
        commit(&driver, &[update(Fragments::new(), both.clone())])
            .await
            .unwrap();
        assert_eq!(driver.running("r1"), "a\nb\n");
        let only_a = fragments(&[("A.t.a", "a\n")]);
        let out = commit(&driver, &[update(both, only_a)]).await.unwrap();
        assert!(out[0].committed && out[0].diff.contains("-b"), "{out:?}");
        assert_eq!(driver.running("r1"), "a\n");
    }
}
