//! Leader election on a `coordination.k8s.io` Lease, as client-go's leaderelection does it, so that two operator replicas never push at once.
//!
//! A candidate takes the Lease when it is free, released, or not renewed
//! for its `leaseDurationSeconds` as measured on the candidate's own clock
//! from the moment it last saw the Lease change (no clock skew between
//! replicas matters). The leader renews every `retry_period`; when it has
//! not renewed for `renew_deadline` (shorter than the lease duration) it
//! gives up leading, so it stops before any other replica can start.
//! Every write is conditional on the Lease's resourceVersion: of two
//! candidates, one wins and the other sees a conflict.
//! (kube-leader-election and kube-coordinate target older kube releases.)

use std::time::{Duration, Instant};

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, PostParams};

/// How the Lease is held.
#[derive(Debug, Clone)]
pub struct LeaseConfig {
    /// The Lease's name.
    pub name: String,
    /// Its namespace (the operator's).
    pub namespace: String,
    /// This replica's identity (the Pod name).
    pub identity: String,
    /// How long a Lease lasts without renewal before another may take it.
    pub lease_duration: Duration,
    /// How long the leader keeps leading without a successful renewal
    /// (shorter than `lease_duration`).
    pub renew_deadline: Duration,
    /// How often candidates try and the leader renews.
    pub retry_period: Duration,
}

impl LeaseConfig {
    /// The Lease `name` in `namespace` held as `identity`, with client-go's
    /// default timings (15 s lease, 10 s renew deadline, 2 s retry).
    #[must_use]
    pub fn new(name: &str, namespace: &str, identity: &str) -> Self {
        Self {
            name: name.into(),
            namespace: namespace.into(),
            identity: identity.into(),
            lease_duration: Duration::from_secs(15),
            renew_deadline: Duration::from_secs(10),
            retry_period: Duration::from_secs(2),
        }
    }
}

/// Why leader election failed.
#[derive(Debug, thiserror::Error)]
pub enum LeaderError {
    /// The Lease could not be read or written.
    #[error("Lease {namespace}/{name}: {source}")]
    Api {
        /// The Lease's namespace.
        namespace: String,
        /// The Lease's name.
        name: String,
        /// The API error.
        #[source]
        source: kube::Error,
    },
    /// The timings cannot keep two leaders apart.
    #[error(
        "leader election: the renew deadline ({renew:?}) must be shorter than the lease duration ({lease:?})"
    )]
    Timings {
        /// The renew deadline.
        renew: Duration,
        /// The lease duration.
        lease: Duration,
    },
}

/// A candidate for, then holder of, one Lease.
pub struct Elector {
    api: Api<Lease>,
    config: LeaseConfig,
    /// The Lease's resourceVersion when last seen changing, and when.
    observed: Option<(String, Instant)>,
}

impl Elector {
    /// A candidate for the Lease `config` names.
    ///
    /// # Errors
    /// Timings that could let two replicas lead at once.
    pub fn new(client: kube::Client, config: LeaseConfig) -> Result<Self, LeaderError> {
        if config.renew_deadline >= config.lease_duration {
            return Err(LeaderError::Timings {
                renew: config.renew_deadline,
                lease: config.lease_duration,
            });
        }
        Ok(Self {
            api: Api::namespaced(client, &config.namespace),
            config,
            observed: None,
        })
    }

    /// This replica's identity.
    #[must_use]
    pub fn identity(&self) -> &str {
        &self.config.identity
    }

    fn api_error(&self, source: kube::Error) -> LeaderError {
        LeaderError::Api {
            namespace: self.config.namespace.clone(),
            name: self.config.name.clone(),
            source,
        }
    }

    /// How long a replica that lost the Lease may still finish its work
    /// before another one can take the Lease: half the gap between the
    /// renew deadline and the lease duration.
    #[must_use]
    pub fn margin(&self) -> Duration {
        self.config
            .lease_duration
            .saturating_sub(self.config.renew_deadline)
            / 2
    }

    /// Waits until this replica holds the Lease. API errors are logged and
    /// retried: a candidate waits through an API outage.
    pub async fn acquire(&mut self) {
        loop {
            match self.try_acquire_or_renew().await {
                Ok(true) => return,
                Ok(false) => {}
                Err(e) => tracing::warn!("leader election: {e}"),
            }
            tokio::time::sleep(self.config.retry_period).await;
        }
    }

    /// Renews the Lease until leadership is lost: another replica holds
    /// it, or no renewal succeeded for the renew deadline. Returns why.
    pub async fn hold(&mut self) -> String {
        let mut renewed = Instant::now();
        loop {
            tokio::time::sleep(self.config.retry_period).await;
            let left = self.config.renew_deadline.saturating_sub(renewed.elapsed());
            match tokio::time::timeout(left, self.try_acquire_or_renew()).await {
                Ok(Ok(true)) => renewed = Instant::now(),
                Ok(Ok(false)) => {
                    return format!("Lease {} is held by another replica", self.config.name);
                }
                Ok(Err(e)) => tracing::warn!("leader election: renewing: {e}"),
                Err(_) => {}
            }
            if renewed.elapsed() >= self.config.renew_deadline {
                return format!(
                    "Lease {} not renewed for {:?}",
                    self.config.name, self.config.renew_deadline
                );
            }
        }
    }

    /// Gives the Lease up (after this replica stopped leading), so that
    /// another replica takes it at once instead of after the lease duration.
    ///
    /// # Errors
    /// The Lease could not be read or written.
    pub async fn release(&mut self) -> Result<(), LeaderError> {
        // A renewal sent just before leading stopped may land after the read
        // below: its conflict means "read again", not "give up".
        for _ in 0..5 {
            let Some(mut lease) = self.read().await? else {
                return Ok(());
            };
            let spec = lease.spec.get_or_insert_with(LeaseSpec::default);
            if spec.holder_identity.as_deref() != Some(&self.config.identity) {
                return Ok(());
            }
            spec.holder_identity = None;
            spec.lease_duration_seconds = Some(1);
            spec.renew_time = Some(MicroTime(Timestamp::now()));
            match self
                .api
                .replace(&self.config.name, &PostParams::default(), &lease)
                .await
            {
                Ok(_) => return Ok(()),
                Err(e) if is_conflict(&e) => {}
                Err(e) => return Err(self.api_error(e)),
            }
        }
        Ok(())
    }

    /// The Lease, if it exists.
    async fn read(&self) -> Result<Option<Lease>, LeaderError> {
        self.api
            .get_opt(&self.config.name)
            .await
            .map_err(|e| self.api_error(e))
    }

    /// One try: takes or renews the Lease when it may. `Ok(true)` when this
    /// replica holds it afterwards.
    ///
    /// # Errors
    /// The Lease could not be read or written (a conflict is not an error: `Ok(false)`).
    pub async fn try_acquire_or_renew(&mut self) -> Result<bool, LeaderError> {
        let now = MicroTime(Timestamp::now());
        let duration = i32::try_from(self.config.lease_duration.as_secs()).unwrap_or(i32::MAX);
        let Some(mut lease) = self.read().await? else {
            let lease = Lease {
                metadata: ObjectMeta {
                    name: Some(self.config.name.clone()),
                    namespace: Some(self.config.namespace.clone()),
                    ..ObjectMeta::default()
                },
                spec: Some(LeaseSpec {
                    holder_identity: Some(self.config.identity.clone()),
                    lease_duration_seconds: Some(duration),
                    acquire_time: Some(now.clone()),
                    renew_time: Some(now),
                    lease_transitions: Some(0),
                    ..LeaseSpec::default()
                }),
            };
            return match self.api.create(&PostParams::default(), &lease).await {
                Ok(_) => Ok(true),
                Err(e) if is_conflict(&e) => Ok(false),
                Err(e) => Err(self.api_error(e)),
            };
        };
        let version = lease.metadata.resource_version.clone().unwrap_or_default();
        let spec = lease.spec.get_or_insert_with(LeaseSpec::default);
        let holder = spec.holder_identity.clone().filter(|h| !h.is_empty());
        let mine = holder.as_deref() == Some(self.config.identity.as_str());
        if !mine && holder.is_some() {
            // Another holder: free only once it has not renewed for its
            // lease duration, measured from when we saw it last change.
            let changed = self.observed.as_ref().is_none_or(|(v, _)| *v != version);
            if changed {
                self.observed = Some((version, Instant::now()));
                return Ok(false);
            }
            let held_for = Duration::from_secs(
                u64::try_from(spec.lease_duration_seconds.unwrap_or(duration)).unwrap_or(0),
            );
            if self
                .observed
                .as_ref()
                .is_some_and(|(_, at)| at.elapsed() < held_for)
            {
                return Ok(false);
            }
        }
        if !mine {
            spec.acquire_time = Some(now.clone());
            spec.lease_transitions = Some(spec.lease_transitions.unwrap_or(0).saturating_add(1));
        }
        spec.holder_identity = Some(self.config.identity.clone());
        spec.lease_duration_seconds = Some(duration);
        spec.renew_time = Some(now);
        match self
            .api
            .replace(&self.config.name, &PostParams::default(), &lease)
            .await
        {
            Ok(_) => Ok(true),
            Err(e) if is_conflict(&e) => Ok(false),
            Err(e) => Err(self.api_error(e)),
        }
    }
}

fn is_conflict(e: &kube::Error) -> bool {
    matches!(e, kube::Error::Api(s) if s.code == 409)
}

/// This replica's identity: `POD_NAME` in a Pod, else host name and process id.
#[must_use]
pub fn default_identity() -> String {
    std::env::var("POD_NAME").unwrap_or_else(|_| {
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .map(|h| h.trim().to_string())
            .unwrap_or_else(|_| "naas".into());
        format!("{host}-{}", std::process::id())
    })
}
