//! Plugins from OCI registries: references, credentials, a content-addressed cache, and a verifying fetcher and pusher.
//!
//! Vendors ship plugins as Wasm OCI artifacts (the CNCF TAG Runtime layout:
//! config `application/vnd.wasm.config.v0+json`, one `application/wasm`
//! layer). [`Fetcher`] resolves a reference to a manifest digest, verifies the
//! sha256 of the manifest and of every blob, keeps them in a
//! [`BlobStore`] under `<cache>/oci/`, and hands the component's bytes and
//! verified digest to [`crate::runtime::Runtime::load_verified`]. With a warm
//! cache, a digest-pinned reference is served without any registry request.
//!
//! One concern per file: [`reference`](PluginRef) parsing and pinning,
//! [`auth`](DockerConfig) (docker config JSON), [`store`](BlobStore),
//! [`artifact`](WasmConfig) (media types, the config document, checks),
//! `client` (the registry transport: TLS, retries, verified downloads),
//! `classify` (transport failures mapped to errors a user can act on),
//! `realm` (the token-realm rule: no credentials to a plain-HTTP realm),
//! [`fetch`](Fetcher) (the cache-aware, single-flight fetcher),
//! [`push`](PushRequest), and [`Error`].

mod artifact;
mod auth;
mod classify;
mod client;
mod error;
mod fetch;
mod push;
mod realm;
mod reference;
mod store;

pub use artifact::{
    ComponentWorld, LEGACY_CONFIG_MEDIA_TYPE, LEGACY_LAYER_MEDIA_TYPE, WASM_CONFIG_MEDIA_TYPE,
    WASM_LAYER_MEDIA_TYPE, WasmConfig,
};
pub use auth::DockerConfig;
pub use client::{RegistryOptions, RetryPolicy};
pub use error::{Error, OciResult};
pub use fetch::{Fetched, Fetcher, Source};
pub use push::{PushRequest, Pushed, TITLE_ANNOTATION};
pub use reference::PluginRef;
pub use store::BlobStore;

/// Default largest plugin (and blob) accepted: 64 MiB.
pub const DEFAULT_MAX_PLUGIN_SIZE: u64 = 64 << 20;

/// Installs rustls' crypto provider (ring) for this process, once.
///
/// The TLS stack may find both ring and aws-lc-rs in the dependency tree and
/// then refuses to pick one; call this at startup (the `naas` binary does)
/// before any HTTPS request. Calling it again, or after another provider was
/// installed, does nothing.
pub fn install_crypto_provider() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // An error means a provider is already installed: keep that one.
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}
