//! A bounded memo of successful evaluations, keyed by the digest of everything one depends on, so the operator does not evaluate again what its admission webhook just did.
//!
//! An evaluation is a function of the plugin (its digest, limits and
//! template overrides), the service (every field a plugin sees, generation
//! and labels included) and the context: a plugin has no clock, randomness
//! or I/O. The validating webhook sees a new service as the operator then
//! reconciles it (generation 1, expanded spec), so the operator finds its
//! evaluation here instead of running the plugin again. Only successes are
//! kept; a refusal or a failure is evaluated again, with its logs. The memo
//! holds at most its capacity, dropping the oldest first.

use std::collections::{HashMap, VecDeque};
use std::sync::{Mutex, PoisonError};

use sha2::{Digest as _, Sha256};

use crate::pipeline::Evaluation;
use crate::runtime::{Context, Plugin, Service};

/// The digest of an evaluation's inputs.
pub type Key = [u8; 32];

/// Successful evaluations by [`key`], at most `capacity` of them.
pub struct Evaluations {
    capacity: usize,
    entries: Mutex<(HashMap<Key, Evaluation>, VecDeque<Key>)>,
}

impl std::fmt::Debug for Evaluations {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Evaluations")
            .field("capacity", &self.capacity)
            .finish_non_exhaustive()
    }
}

impl Evaluations {
    /// An empty memo keeping at most `capacity` evaluations.
    #[must_use]
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity,
            entries: Mutex::default(),
        }
    }

    /// The evaluation kept under `key`, if any.
    #[must_use]
    pub fn get(&self, key: &Key) -> Option<Evaluation> {
        let entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        entries.0.get(key).cloned()
    }

    /// Keeps `evaluation` under `key`, dropping the oldest beyond capacity.
    pub fn insert(&self, key: Key, evaluation: Evaluation) {
        if self.capacity == 0 {
            return;
        }
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        let (map, order) = &mut *entries;
        if map.insert(key, evaluation).is_none() {
            order.push_back(key);
        }
        while order.len() > self.capacity {
            if let Some(old) = order.pop_front() {
                map.remove(&old);
            }
        }
    }

    /// How many evaluations are kept.
    #[must_use]
    pub fn len(&self) -> usize {
        self.entries
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .0
            .len()
    }

    /// Whether none is kept.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The digest of what evaluating `service` in `context` with `plugin`
/// depends on. Every field is length-prefixed, so no two inputs share one.
#[must_use]
pub fn key(plugin: &Plugin, service: &Service, context: &Context) -> Key {
    let mut h = Sha256::new();
    let mut field = |bytes: &[u8]| {
        h.update((bytes.len() as u64).to_le_bytes());
        h.update(bytes);
    };
    field(plugin.digest().hex().as_bytes());
    field(format!("{:?}", plugin.limits()).as_bytes());
    let overrides = plugin.template_overrides().templates();
    field(&(overrides.len() as u64).to_le_bytes());
    for (name, text) in overrides {
        field(name.as_bytes());
        field(text.as_bytes());
    }
    field(service.api_version.as_bytes());
    field(service.kind.as_bytes());
    field(service.namespace.as_bytes());
    field(service.name.as_bytes());
    field(&service.generation.to_le_bytes());
    field(&(service.labels.len() as u64).to_le_bytes());
    for (k, v) in &service.labels {
        field(k.as_bytes());
        field(v.as_bytes());
    }
    field(service.spec.as_bytes());
    field(context.tenant.as_bytes());
    field(&(context.devices.len() as u64).to_le_bytes());
    for d in &context.devices {
        field(d.name.as_bytes());
        field(d.platform.as_bytes());
        field(d.facts.as_bytes());
        field(&(d.ports.len() as u64).to_le_bytes());
        for p in &d.ports {
            field(p.as_bytes());
        }
    }
    field(context.variables.as_bytes());
    h.finalize().into()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn evaluation(name: &str) -> Evaluation {
        Evaluation {
            service: Service {
                api_version: "network.naas.io/v1alpha1".into(),
                kind: "AccessPorts".into(),
                namespace: "tenant-a".into(),
                name: name.into(),
                generation: 1,
                labels: Vec::new(),
                spec: "{}".into(),
            },
            configs: Vec::new(),
        }
    }

    #[test]
    fn keeps_at_most_its_capacity_dropping_the_oldest() {
        let memo = Evaluations::new(2);
        for i in 0..3u8 {
            memo.insert([i; 32], evaluation(&format!("s{i}")));
        }
        assert_eq!(memo.len(), 2);
        assert!(memo.get(&[0; 32]).is_none());
        assert_eq!(memo.get(&[2; 32]).unwrap().service.name, "s2");
        // The same key again takes no second place.
        memo.insert([2; 32], evaluation("s2"));
        assert_eq!(memo.len(), 2);
        assert_eq!(memo.get(&[1; 32]).unwrap().service.name, "s1");
        let none = Evaluations::new(0);
        none.insert([0; 32], evaluation("s"));
        assert!(none.is_empty());
    }
}
