//! The host's Prometheus metrics (prometheus-client): reconciles, failures by reason, plugin call latency, push latency, drift and leadership.
//!
//! One registry per process ([`global`]): the runtime, the transaction code
//! and the controllers record into it wherever they run, and `naas
//! operator --ops-listen` serves it on `/metrics` in the OpenMetrics text
//! format.

use std::sync::LazyLock;
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

/// Labels of a reconcile: the kind reconciled.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct KindLabels {
    kind: String,
}

/// Labels of a failure: the kind and why.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct FailureLabels {
    kind: String,
    reason: String,
}

/// Labels of a plugin call: the plugin and the export called.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CallLabels {
    plugin: String,
    export: String,
}

/// Labels of a push: the device and how it ended.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PushLabels {
    device: String,
    result: String,
}

/// Labels of a device gauge.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DeviceLabels {
    device: String,
}

/// Every metric the host records.
pub struct Metrics {
    registry: Registry,
    reconciles: Family<KindLabels, Counter>,
    failures: Family<FailureLabels, Counter>,
    plugin_calls: Family<CallLabels, Histogram, fn() -> Histogram>,
    pushes: Family<PushLabels, Histogram, fn() -> Histogram>,
    drift_lines: Family<DeviceLabels, Gauge>,
    leader: Gauge,
    reused: Counter,
}

impl Metrics {
    fn new() -> Self {
        let mut registry = Registry::with_prefix("naas");
        let reconciles = Family::default();
        registry.register("reconciles", "Reconciles run, by kind", reconciles.clone());
        let failures = Family::default();
        registry.register(
            "reconcile_failures",
            "Reconciles that failed or left an object not Ready, by kind and reason",
            failures.clone(),
        );
        // 100 µs .. ~3.3 s.
        let plugin_calls: Family<_, _, fn() -> Histogram> =
            Family::new_with_constructor(|| Histogram::new(exponential_buckets(0.0001, 2.0, 16)));
        registry.register(
            "plugin_call_duration_seconds",
            "Time of one plugin export call, by plugin and export",
            plugin_calls.clone(),
        );
        // 1 ms .. ~65 s.
        let pushes: Family<_, _, fn() -> Histogram> =
            Family::new_with_constructor(|| Histogram::new(exponential_buckets(0.001, 2.0, 17)));
        registry.register(
            "push_duration_seconds",
            "Time of the transaction that pushed to a device, by device and result",
            pushes.clone(),
        );
        let drift_lines = Family::default();
        registry.register(
            "drift_lines",
            "Lines naas applied that the device's running config has lost (or got back), at the last drift check",
            drift_lines.clone(),
        );
        let leader = Gauge::default();
        registry.register(
            "leader",
            "1 while this replica holds the operator's Lease",
            leader.clone(),
        );
        let reused = Counter::default();
        registry.register(
            "evaluations_reused",
            "Evaluations taken from the memo instead of calling the plugin (the operator reusing its webhook's)",
            reused.clone(),
        );
        Self {
            registry,
            reused,
            reconciles,
            failures,
            plugin_calls,
            pushes,
            drift_lines,
            leader,
        }
    }

    /// Counts one reconcile of `kind`.
    pub fn reconciled(&self, kind: &str) {
        self.reconciles
            .get_or_create(&KindLabels { kind: kind.into() })
            .inc();
    }

    /// Counts one failure of a `kind` reconcile, by `reason` (a condition reason or an error class).
    pub fn failed(&self, kind: &str, reason: &str) {
        self.failures
            .get_or_create(&FailureLabels {
                kind: kind.into(),
                reason: reason.into(),
            })
            .inc();
    }

    /// Records one call of `export` on `plugin` that took `took`.
    pub fn plugin_call(&self, plugin: &str, export: &str, took: Duration) {
        self.plugin_calls
            .get_or_create(&CallLabels {
                plugin: plugin.into(),
                export: export.into(),
            })
            .observe(took.as_secs_f64());
    }

    /// Records a transaction that pushed to `device`, took `took`, and `ok` or not.
    pub fn pushed(&self, device: &str, ok: bool, took: Duration) {
        self.pushes
            .get_or_create(&PushLabels {
                device: device.into(),
                result: if ok { "ok" } else { "error" }.into(),
            })
            .observe(took.as_secs_f64());
    }

    /// Records the drift lines found on `device` at its last check.
    pub fn drift(&self, device: &str, lines: usize) {
        self.drift_lines
            .get_or_create(&DeviceLabels {
                device: device.into(),
            })
            .set(i64::try_from(lines).unwrap_or(i64::MAX));
    }

    /// Counts one evaluation taken from the memo.
    pub fn evaluation_reused(&self) {
        self.reused.inc();
    }

    /// How many evaluations were taken from the memo.
    #[must_use]
    pub fn evaluations_reused(&self) -> u64 {
        self.reused.get()
    }

    /// Records whether this replica leads.
    pub fn set_leader(&self, leading: bool) {
        self.leader.set(i64::from(leading));
    }

    /// The metrics in the OpenMetrics text format.
    #[must_use]
    pub fn encode(&self) -> String {
        let mut out = String::new();
        // Writing to a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}

/// The process's metrics.
pub fn global() -> &'static Metrics {
    static METRICS: LazyLock<Metrics> = LazyLock::new(Metrics::new);
    &METRICS
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recorded_values_are_in_the_text_format() {
        let m = Metrics::new();
        m.reconciled("AccessPorts");
        m.reconciled("AccessPorts");
        m.failed("AccessPorts", "Invalid");
        m.plugin_call("access-ports", "render", Duration::from_millis(3));
        m.pushed("leaf1", true, Duration::from_millis(40));
        m.drift("leaf1", 2);
        m.set_leader(true);
        let text = m.encode();
        for line in [
            "naas_reconciles_total{kind=\"AccessPorts\"} 2",
            "naas_reconcile_failures_total{kind=\"AccessPorts\",reason=\"Invalid\"} 1",
            "naas_plugin_call_duration_seconds_count{plugin=\"access-ports\",export=\"render\"} 1",
            "naas_push_duration_seconds_count{device=\"leaf1\",result=\"ok\"} 1",
            "naas_drift_lines{device=\"leaf1\"} 2",
            "naas_leader 1",
        ] {
            assert!(text.contains(line), "{line} missing in:\n{text}");
        }
        assert!(text.ends_with("# EOF\n"), "{text}");
    }
}
