//! Errors of the OCI fetcher and pusher, each naming the reference or registry and what to do.

use std::path::PathBuf;

/// A `Result` whose error is an OCI [`Error`].
pub type OciResult<T> = Result<T, Error>;

/// What went wrong while pulling, verifying, caching or pushing a plugin.
///
/// Every message names the reference (or the registry) and, where the user
/// can act, says how.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The text is not a usable OCI reference.
    #[error("{reference:?} is not a plugin reference: {detail}")]
    InvalidReference {
        /// The text given.
        reference: String,
        /// What is wrong and what is expected.
        detail: String,
    },
    /// The docker config JSON could not be read or parsed.
    #[error("registry config {path}: {detail}")]
    RegistryConfig {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        detail: String,
    },
    /// The CA bundle could not be read or used.
    #[error("CA bundle {path}: {detail}")]
    CaFile {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        detail: String,
    },
    /// The registry did not answer, after every retry.
    #[error(
        "cannot reach registry {registry} for {reference} after {attempts} attempt(s): {detail}; \
         check the address and that the registry is up"
    )]
    Unreachable {
        /// `host:port`.
        registry: String,
        /// The reference being pulled or pushed.
        reference: String,
        /// How many tries were made.
        attempts: u32,
        /// The last transport error.
        detail: String,
    },
    /// The TLS handshake failed (unknown CA, wrong protocol...).
    #[error("TLS with registry {registry} failed: {detail}; {hint}")]
    Tls {
        /// `host:port`.
        registry: String,
        /// The TLS error.
        detail: String,
        /// What to try.
        hint: &'static str,
    },
    /// The registry refused the credentials (or their absence).
    #[error(
        "registry {registry} refused access to {reference} ({status}): {detail}; check the \
         credentials for {registry} in --registry-config (or NAAS_REGISTRY_CONFIG, default \
         ~/.docker/config.json)"
    )]
    Auth {
        /// `host:port`.
        registry: String,
        /// The reference.
        reference: String,
        /// `401 Unauthorized` or `403 Forbidden`.
        status: &'static str,
        /// The registry's message.
        detail: String,
    },
    /// The registry sends clients for a token to a plain-HTTP realm that no
    /// `--insecure-registry` entry allows; nothing was sent there.
    #[error(
        "registry {registry} names the plain-HTTP token realm {realm} (for {reference}); naas \
         refuses to send credentials or token requests to it over plain HTTP: configure the \
         registry's token auth with an https:// realm, or pass --insecure-registry {realm_host} \
         if plain HTTP to that token server is really intended"
    )]
    InsecureTokenRealm {
        /// `host:port` of the registry.
        registry: String,
        /// The reference being pulled or pushed.
        reference: String,
        /// The realm URL of the registry's Bearer challenge.
        realm: String,
        /// `host:port` of the realm (port 80 when the URL names none).
        realm_host: String,
    },
    /// The tag, digest or repository does not exist.
    #[error("{reference}: {what} not found in registry {registry}; check the name and tag")]
    NotFound {
        /// The reference.
        reference: String,
        /// `tag "v1"`, `manifest sha256:…`, `repository naas/x`...
        what: String,
        /// `host:port`.
        registry: String,
    },
    /// Content does not hash to the digest it was asked for (or pinned to).
    #[error(
        "{reference}: {what} digest mismatch: expected {expected}, got {actual}; the content \
         was refused and not cached"
    )]
    DigestMismatch {
        /// The reference.
        reference: String,
        /// `manifest`, `layer sha256:…`, `pinned manifest`...
        what: String,
        /// The digest asked for.
        expected: String,
        /// The digest of what arrived (or what the tag points to).
        actual: String,
    },
    /// The artifact is not a Wasm plugin.
    #[error("{reference} is not a Wasm plugin artifact: found {found}; expected {expected}")]
    NotWasm {
        /// The reference.
        reference: String,
        /// The media types found.
        found: String,
        /// The media types accepted.
        expected: String,
    },
    /// A blob is larger than allowed.
    #[error(
        "{reference}: {what} is {size} bytes, over the limit of {limit} bytes; raise \
         --max-plugin-size if the plugin is legitimately that large"
    )]
    TooLarge {
        /// The reference.
        reference: String,
        /// Which blob.
        what: String,
        /// Its declared or downloaded size (at least).
        size: u64,
        /// The limit.
        limit: u64,
    },
    /// The registry answered something unexpected.
    #[error("registry {registry} failed for {reference}: {detail}")]
    Registry {
        /// `host:port`.
        registry: String,
        /// The reference.
        reference: String,
        /// Its answer.
        detail: String,
    },
    /// The on-disk cache could not be used.
    #[error("plugin cache {path}: {detail}; check its permissions or pass another --cache-dir")]
    Cache {
        /// The file or directory.
        path: PathBuf,
        /// What failed.
        detail: String,
    },
    /// A file to push could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file to push is not a Wasm component.
    #[error("{path} is not a Wasm component: {detail}")]
    NotAComponent {
        /// The file.
        path: String,
        /// The decoder's message.
        detail: String,
    },
}

impl Error {
    /// Whether retrying the same request may succeed.
    #[must_use]
    pub fn is_transient(&self) -> bool {
        matches!(self, Error::Unreachable { .. })
    }
}
