//! Pushing a component as a CNCF TAG Runtime Wasm OCI artifact: config, one `application/wasm` layer, and the manifest.

use std::collections::BTreeMap;

use oci_client::manifest::{OCI_IMAGE_MEDIA_TYPE, OciDescriptor, OciImageManifest};

use super::artifact::{ComponentWorld, WASM_CONFIG_MEDIA_TYPE, WASM_LAYER_MEDIA_TYPE, WasmConfig};
use super::error::{Error, OciResult};
use super::fetch::Fetcher;
use super::reference::PluginRef;
use crate::digest::Digest;

/// The OCI annotation naming a layer's file (oras and others use it on pull).
pub const TITLE_ANNOTATION: &str = "org.opencontainers.image.title";

/// What to push.
#[derive(Debug, Clone)]
pub struct PushRequest {
    /// Where: `registry/repository:tag` (not a digest).
    pub reference: PluginRef,
    /// The component's bytes.
    pub component: Vec<u8>,
    /// The file name recorded on the layer (`org.opencontainers.image.title`).
    pub title: Option<String>,
    /// Manifest annotations (e.g. `org.opencontainers.image.version`).
    pub annotations: BTreeMap<String, String>,
    /// The config's `created` time (RFC 3339); default: `SOURCE_DATE_EPOCH`
    /// if set (reproducible builds), else now.
    pub created: Option<String>,
}

/// What was pushed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pushed {
    /// The manifest's digest: pin the plugin with `<reference>@<digest>`.
    pub manifest_digest: Digest,
    /// The config blob's digest.
    pub config_digest: Digest,
    /// The component layer's digest.
    pub layer_digest: Digest,
}

impl Fetcher {
    /// Pushes `req.component` as a Wasm OCI artifact: the config
    /// (`application/vnd.wasm.config.v0+json`, with the component's world
    /// decoded by `wit_component::decode`), one `application/wasm` layer,
    /// and an OCI image manifest tagged `req.reference`'s tag.
    ///
    /// # Errors
    /// A reference with a digest, bytes that are not a component, or any
    /// registry failure (see [`Error`]).
    pub async fn push(&self, req: &PushRequest) -> OciResult<Pushed> {
        let r = &req.reference;
        if r.pinned().is_some() || r.tag().is_none() {
            return Err(Error::InvalidReference {
                reference: r.to_string(),
                detail: "push to a tag (registry/repository:tag), not a digest".into(),
            });
        }
        let world = ComponentWorld::of_component(&req.component).map_err(|detail| {
            Error::NotAComponent {
                path: req.title.clone().unwrap_or_else(|| "the component".into()),
                detail,
            }
        })?;
        let layer_digest = Digest::of(&req.component);
        let config = WasmConfig {
            created: req.created.clone().unwrap_or_else(created_now),
            author: None,
            architecture: "wasm".into(),
            os: "wasip2".into(),
            layer_digests: vec![layer_digest.to_string()],
            component: Some(world),
        };
        let config_bytes = serde_json::to_vec(&config).map_err(|e| Error::Registry {
            registry: r.registry().into(),
            reference: r.to_string(),
            detail: format!("cannot encode the config: {e}"),
        })?;
        let config_digest = Digest::of(&config_bytes);
        let layer_annotations = req
            .title
            .as_ref()
            .map(|t| BTreeMap::from([(TITLE_ANNOTATION.to_string(), t.clone())]));
        let manifest = OciImageManifest {
            schema_version: 2,
            media_type: Some(OCI_IMAGE_MEDIA_TYPE.into()),
            config: descriptor(
                WASM_CONFIG_MEDIA_TYPE,
                &config_digest,
                config_bytes.len(),
                None,
            ),
            layers: vec![descriptor(
                WASM_LAYER_MEDIA_TYPE,
                &layer_digest,
                req.component.len(),
                layer_annotations,
            )],
            subject: None,
            artifact_type: None,
            annotations: (!req.annotations.is_empty()).then(|| req.annotations.clone()),
        };
        let manifest_bytes = serde_json::to_vec(&manifest).map_err(|e| Error::Registry {
            registry: r.registry().into(),
            reference: r.to_string(),
            detail: format!("cannot encode the manifest: {e}"),
        })?;
        let registry = self.registry();
        registry.push_blob(r, &req.component, &layer_digest).await?;
        registry.push_blob(r, &config_bytes, &config_digest).await?;
        registry
            .push_manifest(r, &manifest_bytes, OCI_IMAGE_MEDIA_TYPE)
            .await?;
        Ok(Pushed {
            manifest_digest: Digest::of(&manifest_bytes),
            config_digest,
            layer_digest,
        })
    }
}

fn descriptor(
    media_type: &str,
    digest: &Digest,
    size: usize,
    annotations: Option<BTreeMap<String, String>>,
) -> OciDescriptor {
    OciDescriptor {
        media_type: media_type.into(),
        digest: digest.to_string(),
        size: i64::try_from(size).unwrap_or(i64::MAX),
        urls: None,
        annotations,
        artifact_type: None,
    }
}

/// `SOURCE_DATE_EPOCH` (seconds) if set and valid, else now; RFC 3339, UTC.
fn created_now() -> String {
    let now = std::env::var("SOURCE_DATE_EPOCH")
        .ok()
        .and_then(|s| s.trim().parse::<i64>().ok())
        .and_then(|secs| chrono::DateTime::from_timestamp(secs, 0))
        .unwrap_or_else(chrono::Utc::now);
    now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}
