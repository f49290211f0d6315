//! Admission: services validated and expanded by their plugins at `kubectl apply`, through the one pipeline (AdmissionReview in, AdmissionReview out).
//!
//! `validate` answers with every violation (each with its field path), or
//! the host's own refusals (a port outside the tenant's grant), or a denial
//! naming the plugin that failed (`plugin … timed out after 500ms`), never
//! "internal error". `mutate` answers with a JSONPatch (RFC 6902) from the
//! submitted object to the expanded one, touching only `spec` and the
//! annotation [`EXPANDED_BY`], and on creation adding the operator's
//! finalizer (one write fewer per service for the operator); an already
//! expanded spec on an update gets no patch.
//! Reviews have no side effects, so `dryRun` requests are answered like any
//! other. Where the plugins and the devices come from is a [`Resolver`]: the
//! operator's caches, or a fixed plugin set and inventory.
//!
//! The host's own kinds (group `naas.io`: Plugin and Device) are checked on
//! the same `/validate` endpoint by the host itself, with no plugin call:
//! image and digest syntax, OpenSSH host keys, tenant port ranges, Secret
//! references in the operator's namespace ([`plugin_violations`],
//! [`device_violations`]). `/mutate` allows them without a patch.

pub mod certs;
mod fixed;
mod objects;
mod server;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use kube::ResourceExt;
use kube::core::DynamicObject;
use kube::core::admission::{AdmissionRequest, AdmissionResponse, AdmissionReview, Operation};
use serde_json::Value;

use crate::manifest::service_of_object;
use crate::operator::FINALIZER;
use crate::plugin_set::PluginSet;
use crate::runtime::{Context, Executor, Service};

pub use fixed::FixedResolver;
pub use objects::{device_violations, plugin_violations};
pub(crate) use server::serve_connection;
pub use server::{ServeError, TlsFiles, router, serve};

/// The Validating/MutatingWebhookConfigurations (`kind`) as dynamic
/// objects: `naas webhook certs` sets their `caBundle`, the operator the
/// rules of its service webhooks.
#[must_use]
pub fn configurations(client: &kube::Client, kind: &str) -> kube::Api<DynamicObject> {
    let ar = kube::discovery::ApiResource {
        group: "admissionregistration.k8s.io".into(),
        version: "v1".into(),
        api_version: "admissionregistration.k8s.io/v1".into(),
        kind: kind.into(),
        plural: format!("{}s", kind.to_lowercase()),
    };
    kube::Api::all_with(client.clone(), &ar)
}

/// Annotation naming the digest of the plugin that expanded a service.
pub const EXPANDED_BY: &str = "naas.io/expanded-by";

/// Most bytes of an AdmissionReview the host reads (the API server sends at most 3 MiB objects).
pub const MAX_REVIEW_BYTES: usize = 4 << 20;

/// Where admission finds the plugin of a kind and a service's context.
#[async_trait]
pub trait Resolver: Send + Sync {
    /// The plugins serving `api_version` `kind`, and the serving plugin's
    /// digest; `None` when no plugin serves it.
    async fn plugins(
        &self,
        api_version: &str,
        kind: &str,
    ) -> Result<Option<(PluginSet, String)>, String>;
    /// The context `service` is evaluated in (its tenant's devices and ports, variables).
    async fn context(&self, service: &Service) -> Result<Context, String>;
    /// What naas applied, per service, on the devices `configs` go to,
    /// with each device's platform (for [`crate::claims`]); none by default.
    async fn held(
        &self,
        configs: &[crate::runtime::DeviceConfig],
    ) -> Result<std::collections::BTreeMap<String, (String, crate::applied::Fragments)>, String>
    {
        let _ = configs;
        Ok(std::collections::BTreeMap::new())
    }
}

/// Answers AdmissionReviews.
#[derive(Clone)]
pub struct Admission {
    resolver: Arc<dyn Resolver>,
    executor: Executor,
    /// Bound on one review's plugin work, well under the webhook's timeout.
    deadline: Duration,
    /// The operator's namespace: the only one Plugin and Device Secret references may name.
    namespace: Arc<str>,
}

impl Admission {
    /// Reviews with `resolver`, evaluating on `executor`, each bounded by
    /// `deadline`; Plugins and Devices may only reference Secrets in
    /// `operator_namespace`.
    #[must_use]
    pub fn new(
        resolver: Arc<dyn Resolver>,
        executor: Executor,
        deadline: Duration,
        operator_namespace: &str,
    ) -> Self {
        Self {
            resolver,
            executor,
            deadline,
            namespace: operator_namespace.into(),
        }
    }

    /// Answers a validating review (the raw request body).
    ///
    /// # Errors
    /// A body that is not an AdmissionReview with a request (a 400 for the caller).
    pub async fn validate(&self, body: &[u8]) -> Result<AdmissionReview<DynamicObject>, String> {
        self.review(body, false).await
    }

    /// Answers a mutating review (the raw request body).
    ///
    /// # Errors
    /// As [`Admission::validate`].
    pub async fn mutate(&self, body: &[u8]) -> Result<AdmissionReview<DynamicObject>, String> {
        self.review(body, true).await
    }

    async fn review(
        &self,
        body: &[u8],
        mutate: bool,
    ) -> Result<AdmissionReview<DynamicObject>, String> {
        let review: AdmissionReview<DynamicObject> =
            serde_json::from_slice(body).map_err(|e| format!("not an AdmissionReview: {e}"))?;
        let request: AdmissionRequest<DynamicObject> = review
            .try_into()
            .map_err(|_| "the AdmissionReview has no request".to_string())?;
        let response = AdmissionResponse::from(&request);
        let answer = match tokio::time::timeout(self.deadline, self.decide(&request, mutate)).await
        {
            Ok(Ok(Some(patch))) => response.with_patch(patch).unwrap_or_else(|e| {
                AdmissionResponse::from(&request).deny(format!("cannot encode the patch: {e}"))
            }),
            Ok(Ok(None)) => response,
            Ok(Err(message)) => response.deny(message),
            Err(_) => response.deny(format!(
                "{}: the plugins did not answer within the admission deadline of {:?}",
                label(&request),
                self.deadline
            )),
        };
        Ok(answer.into_review())
    }

    /// `Ok(Some(patch))` to patch, `Ok(None)` to allow, `Err` to deny.
    async fn decide(
        &self,
        request: &AdmissionRequest<DynamicObject>,
        mutate: bool,
    ) -> Result<Option<json_patch::Patch>, String> {
        // A deletion needs no plugin: cleanup happens in the operator.
        if request.operation == Operation::Delete || request.operation == Operation::Connect {
            return Ok(None);
        }
        let Some(object) = &request.object else {
            return Err(format!("{}: the request has no object", label(request)));
        };
        if request.kind.group == crate::operator::GROUP {
            return objects::review(request, object, &self.namespace, mutate).map(|()| None);
        }
        // An update that leaves the spec as it is (the operator adding or
        // removing its finalizer, labels, a deletion in progress) needs no
        // plugin: refusing it could keep a service from ever being deleted
        // once its Device's grant shrank.
        let unchanged = request.operation == Operation::Update
            && request
                .old_object
                .as_ref()
                .is_some_and(|old| old.data.get("spec") == object.data.get("spec"));
        if unchanged || object.metadata.deletion_timestamp.is_some() {
            return Ok(None);
        }
        let api_version = if request.kind.group.is_empty() {
            request.kind.version.clone()
        } else {
            format!("{}/{}", request.kind.group, request.kind.version)
        };
        let Some((plugins, digest)) = self
            .resolver
            .plugins(&api_version, &request.kind.kind)
            .await?
        else {
            return Err(format!(
                "{}: no Ready Plugin serves {api_version} {}",
                label(request),
                request.kind.kind
            ));
        };
        let mut service = service_of_object(object, &api_version, &request.kind.kind);
        if service.name.is_empty() {
            service.name.clone_from(&request.name);
        }
        if service.namespace.is_empty() {
            service.namespace = request.namespace.clone().unwrap_or_default();
        }
        let context = Arc::new(self.resolver.context(&service).await?);
        let evaluation = plugins
            .evaluate(&self.executor, service.clone(), context)
            .await
            .map_err(|e| e.to_string())?;
        // No port another service holds on the same device.
        let held = self.resolver.held(&evaluation.configs).await?;
        let key = crate::applied::service_key(&service.kind, &service.namespace, &service.name);
        let taken = crate::claims::conflicts(&key, &evaluation.configs, &held);
        if !taken.is_empty() {
            return Err(format!(
                "{}: {}",
                label(request),
                crate::claims::describe(&taken)
            ));
        }
        if !mutate {
            return Ok(None);
        }
        let original = serde_json::to_value(object).map_err(|e| e.to_string())?;
        let mut mutated = original.clone();
        let spec: Value = serde_json::from_str(&evaluation.service.spec)
            .map_err(|e| format!("{}: the expanded spec is not JSON: {e}", label(request)))?;
        if original.get("spec") != Some(&spec) {
            mutated["spec"] = spec;
            let annotations = &mut mutated["metadata"]["annotations"];
            if !annotations.is_object() {
                *annotations = Value::Object(serde_json::Map::new());
            }
            annotations[EXPANDED_BY] = Value::String(digest);
        }
        // A new service carries the operator's finalizer from the start:
        // the operator then needs no write of its own to add it (on
        // creation only, so that one removed by hand stays removed).
        if request.operation == Operation::Create
            && !object.finalizers().iter().any(|f| f == FINALIZER)
        {
            let finalizers = &mut mutated["metadata"]["finalizers"];
            if !finalizers.is_array() {
                *finalizers = Value::Array(Vec::new());
            }
            if let Some(list) = finalizers.as_array_mut() {
                list.push(Value::String(FINALIZER.into()));
            }
        }
        if mutated == original {
            return Ok(None);
        }
        Ok(Some(json_patch::diff(&original, &mutated)))
    }
}

/// `Kind namespace/name` of the request's object.
fn label(r: &AdmissionRequest<DynamicObject>) -> String {
    format!(
        "{} {}/{}",
        r.kind.kind,
        r.namespace.as_deref().unwrap_or_default(),
        r.name
    )
}
