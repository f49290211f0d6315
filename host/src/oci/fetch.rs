//! The fetcher: resolve a reference, then serve its manifest and blobs from the verified cache or the registry, once per digest.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

use oci_client::manifest::{OciDescriptor, OciImageManifest};
use tokio::sync::OnceCell;

use super::artifact::{WasmConfig, component_layer, parse_manifest};
use super::client::{Registry, RegistryOptions};
use super::error::{Error, OciResult};
use super::reference::PluginRef;
use super::store::BlobStore;
use crate::digest::Digest;

/// Largest config document accepted.
const CONFIG_LIMIT: u64 = 1 << 20;

/// Where a fetched artifact came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// Entirely from the local cache: no byte was downloaded.
    Cache,
    /// At least part of it was downloaded.
    Registry,
}

/// A verified plugin artifact: its manifest, config and component bytes.
#[derive(Debug, Clone)]
pub struct Fetched {
    /// The reference, pinned to the manifest digest.
    pub reference: PluginRef,
    /// The manifest's sha256 (verified).
    pub manifest_digest: Digest,
    /// The manifest.
    pub manifest: OciImageManifest,
    /// The config blob's bytes (verified).
    pub config: Arc<[u8]>,
    /// The component layer's descriptor.
    pub layer: OciDescriptor,
    /// The component's sha256 (verified: `component` hashes to it).
    pub component_digest: Digest,
    /// The component's bytes.
    pub component: Arc<[u8]>,
    /// Cache or registry.
    pub source: Source,
}

impl Fetched {
    /// The config as a Wasm OCI config document, when it is one.
    #[must_use]
    pub fn wasm_config(&self) -> Option<WasmConfig> {
        serde_json::from_slice(&self.config).ok()
    }
}

type Flight = Arc<OnceCell<Fetched>>;

/// Pulls plugins from registries into a content-addressed cache.
///
/// # Guarantees
/// - The manifest and every blob are checked against their sha256 before
///   use, whether downloaded or read from the cache; a pinned digest that
///   the content (or the tag) does not match is refused.
/// - With a warm cache, a digest-pinned reference is served without any
///   registry request.
/// - Concurrent fetches of one manifest digest download it once.
pub struct Fetcher {
    registry: Registry,
    store: Option<BlobStore>,
    flights: Mutex<HashMap<Digest, Flight>>,
}

impl std::fmt::Debug for Fetcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Fetcher")
            .field("store", &self.store)
            .field("options", self.registry.options())
            .finish_non_exhaustive()
    }
}

impl Fetcher {
    /// A fetcher caching under `cache_root` (e.g. `<cache>/oci`), or in
    /// memory only when `None`.
    ///
    /// # Errors
    /// When the cache cannot be created or the CA bundle is unusable.
    pub fn new(opts: RegistryOptions, cache_root: Option<&Path>) -> OciResult<Self> {
        Ok(Self {
            registry: Registry::new(opts)?,
            store: cache_root.map(BlobStore::open).transpose()?,
            flights: Mutex::new(HashMap::new()),
        })
    }

    /// The blob store, if caching on disk.
    #[must_use]
    pub fn store(&self) -> Option<&BlobStore> {
        self.store.as_ref()
    }

    pub(super) fn registry(&self) -> &Registry {
        &self.registry
    }

    /// Resolves and fetches `r`, verified.
    ///
    /// # Errors
    /// Unknown tag or digest, unreachable registry, refused credentials,
    /// digest mismatch, not a Wasm artifact, blob over the size cap, cache
    /// failure: see [`Error`].
    pub async fn fetch(&self, r: &PluginRef) -> OciResult<Fetched> {
        let digest = self.manifest_digest(r).await?;
        let flight = {
            let mut flights = self.flights.lock().unwrap_or_else(|p| p.into_inner());
            flights.entry(digest.clone()).or_default().clone()
        };
        let result = flight
            .get_or_try_init(|| self.fetch_digest(r, &digest))
            .await
            .cloned();
        {
            let mut flights = self.flights.lock().unwrap_or_else(|p| p.into_inner());
            if flights
                .get(&digest)
                .is_some_and(|f| Arc::ptr_eq(f, &flight))
            {
                flights.remove(&digest);
            }
        }
        let mut fetched = result?;
        // Remember where the tag pointed, when the registry said so.
        let resolved = r.pinned().is_none() || r.checks_tag();
        if let (Some(store), Some(key), true) = (&self.store, r.tag_key(), resolved) {
            store.set_tag(&key, &digest)?;
        }
        fetched.reference = r.with_digest(&digest);
        Ok(fetched)
    }

    /// The manifest digest `r` names: its pin (no request); with a pin given
    /// separately, what the tag points to, which must be the pin; otherwise
    /// what the tag points to.
    async fn manifest_digest(&self, r: &PluginRef) -> OciResult<Digest> {
        match r.pinned() {
            Some(pin) if !r.checks_tag() => Ok(pin.clone()),
            Some(pin) => match self.registry.resolve(r).await {
                Ok(actual) if &actual == pin => Ok(actual),
                Ok(actual) => Err(Error::DigestMismatch {
                    reference: r.to_string(),
                    what: format!(
                        "pinned manifest (tag {:?} points elsewhere)",
                        r.tag().unwrap_or("")
                    ),
                    expected: pin.to_string(),
                    actual: actual.to_string(),
                }),
                Err(e) if e.is_transient() && self.has_manifest(pin) => {
                    tracing::warn!(reference = %r, "registry unreachable; the tag is unchecked, using the cached pinned manifest: {e}");
                    Ok(pin.clone())
                }
                Err(e) => Err(e),
            },
            None => match self.registry.resolve(r).await {
                Ok(d) => Ok(d),
                Err(e) if e.is_transient() => {
                    // The registry is down: use the digest this tag last had,
                    // if that manifest is still cached.
                    let cached = self
                        .store
                        .as_ref()
                        .zip(r.tag_key())
                        .and_then(|(s, k)| s.tag(&k));
                    match cached.filter(|d| self.has_manifest(d)) {
                        Some(d) => {
                            tracing::warn!(reference = %r, digest = %d, "registry unreachable; using the cached digest of this tag: {e}");
                            Ok(d)
                        }
                        None => Err(e),
                    }
                }
                Err(e) => Err(e),
            },
        }
    }

    fn has_manifest(&self, digest: &Digest) -> bool {
        self.store.as_ref().is_some_and(|s| s.contains(digest))
    }

    async fn fetch_digest(&self, r: &PluginRef, digest: &Digest) -> OciResult<Fetched> {
        let not_wasm = |(found, expected): (String, String)| Error::NotWasm {
            reference: r.to_string(),
            found,
            expected,
        };
        let mut source = Source::Cache;
        let manifest_bytes = match self.cached(digest)? {
            Some(b) => b,
            None => {
                source = Source::Registry;
                self.registry.manifest(r, digest).await?
            }
        };
        let manifest = parse_manifest(&manifest_bytes).map_err(not_wasm)?;
        let layer = component_layer(&manifest).map_err(not_wasm)?.clone();
        let layer_digest = descriptor_digest(r, &layer)?;
        let config_digest = descriptor_digest(r, &manifest.config)?;
        let max = self.registry.options().max_blob_size;
        let config = self
            .blob(
                r,
                &manifest.config,
                &config_digest,
                CONFIG_LIMIT.min(max),
                &mut source,
            )
            .await?;
        let component = self
            .blob(r, &layer, &layer_digest, max, &mut source)
            .await?;
        // The manifest goes in last: a cached manifest means cached blobs.
        if let (Some(store), Source::Registry) = (&self.store, source) {
            store.put(digest, &manifest_bytes)?;
        }
        Ok(Fetched {
            reference: r.with_digest(digest),
            manifest_digest: digest.clone(),
            manifest,
            config: config.into(),
            layer,
            component_digest: layer_digest,
            component: component.into(),
            source,
        })
    }

    async fn blob(
        &self,
        r: &PluginRef,
        desc: &OciDescriptor,
        digest: &Digest,
        limit: u64,
        source: &mut Source,
    ) -> OciResult<Vec<u8>> {
        if let Some(bytes) = self.cached(digest)? {
            return Ok(bytes);
        }
        *source = Source::Registry;
        let bytes = self.registry.blob(r, desc, digest, limit).await?;
        if let Some(store) = &self.store {
            store.put(digest, &bytes)?;
        }
        Ok(bytes)
    }

    fn cached(&self, digest: &Digest) -> OciResult<Option<Vec<u8>>> {
        match &self.store {
            Some(s) => s.get(digest),
            None => Ok(None),
        }
    }
}

fn descriptor_digest(r: &PluginRef, desc: &OciDescriptor) -> OciResult<Digest> {
    Digest::parse(&desc.digest).map_err(|detail| Error::Registry {
        registry: r.registry().into(),
        reference: r.to_string(),
        detail: format!("the manifest names a blob naas cannot verify: {detail}"),
    })
}
