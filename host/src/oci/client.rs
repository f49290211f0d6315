//! The registry transport: an `oci-client` Client with credentials, CA bundle and plain-HTTP exceptions, bounded retries, verified downloads, and errors mapped to [`Error`].

use std::future::Future;
use std::path::PathBuf;
use std::time::Duration;

use futures_util::StreamExt;
use oci_client::client::{Certificate, CertificateEncoding, ClientConfig, ClientProtocol};
use oci_client::manifest::OciDescriptor;
use oci_client::secrets::RegistryAuth;
use oci_client::{Client, Reference};
use sha2::{Digest as _, Sha256};

use super::auth::DockerConfig;
use super::classify::{Failure, chain, classify, unreachable};
use super::error::{Error, OciResult};
use super::reference::PluginRef;
use crate::digest::Digest;

/// How often a transient failure (connection refused, timeout, 5xx, 429)
/// is retried, with exponential backoff.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Tries in all (at least 1).
    pub attempts: u32,
    /// The wait before the second try; doubled for each next one.
    pub initial_backoff: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            attempts: 3,
            initial_backoff: Duration::from_millis(250),
        }
    }
}

/// How to reach registries.
#[derive(Debug, Clone)]
pub struct RegistryOptions {
    /// Credentials by registry.
    pub credentials: DockerConfig,
    /// Extra PEM CA bundles trusted for HTTPS (on top of the system roots).
    pub ca_files: Vec<PathBuf>,
    /// Registries (`host:port`) reached over plain HTTP. All others use HTTPS.
    pub insecure_registries: Vec<String>,
    /// Largest blob accepted, checked on the manifest's declared size and
    /// on the bytes as they arrive.
    pub max_blob_size: u64,
    /// Retries of transient failures.
    pub retry: RetryPolicy,
    /// Connect timeout of one request.
    pub connect_timeout: Duration,
    /// Read timeout of one request.
    pub read_timeout: Duration,
}

impl Default for RegistryOptions {
    fn default() -> Self {
        Self {
            credentials: DockerConfig::anonymous(),
            ca_files: Vec::new(),
            insecure_registries: Vec::new(),
            max_blob_size: super::DEFAULT_MAX_PLUGIN_SIZE,
            retry: RetryPolicy::default(),
            connect_timeout: Duration::from_secs(5),
            read_timeout: Duration::from_secs(30),
        }
    }
}

/// The registry side of the fetcher and pusher.
pub(super) struct Registry {
    client: Client,
    opts: RegistryOptions,
}

impl Registry {
    /// Builds the HTTP client.
    pub(super) fn new(opts: RegistryOptions) -> OciResult<Self> {
        super::install_crypto_provider();
        let mut certs = Vec::new();
        for path in &opts.ca_files {
            let data = std::fs::read(path).map_err(|e| Error::CaFile {
                path: path.clone(),
                detail: format!("cannot read it: {e}"),
            })?;
            if !data
                .windows(27)
                .any(|w| w == b"-----BEGIN CERTIFICATE-----")
            {
                return Err(Error::CaFile {
                    path: path.clone(),
                    detail: "no PEM certificate (-----BEGIN CERTIFICATE-----) in it".into(),
                });
            }
            certs.push(Certificate {
                encoding: CertificateEncoding::Pem,
                data,
            });
        }
        let config = ClientConfig {
            protocol: ClientProtocol::HttpsExcept(opts.insecure_registries.clone()),
            extra_root_certificates: certs,
            connect_timeout: Some(opts.connect_timeout),
            read_timeout: Some(opts.read_timeout),
            platform_resolver: None,
            ..ClientConfig::default()
        };
        let client = Client::try_from(config).map_err(|e| Error::CaFile {
            path: opts.ca_files.first().cloned().unwrap_or_default(),
            detail: format!("cannot set up TLS with it: {}", chain(&e)),
        })?;
        Ok(Self { client, opts })
    }

    /// The options this registry client was built with.
    pub(super) fn options(&self) -> &RegistryOptions {
        &self.opts
    }

    fn auth(&self, r: &PluginRef) -> RegistryAuth {
        self.opts.credentials.auth_for(r.registry())
    }

    /// The manifest digest `r`'s tag points to (a HEAD request).
    pub(super) async fn resolve(&self, r: &PluginRef) -> OciResult<Digest> {
        let tag_ref = r.tag_ref();
        let auth = self.auth(r);
        let what = format!("tag {:?}", r.tag().unwrap_or("latest"));
        let text = self
            .retry(r, || async {
                self.client
                    .fetch_manifest_digest(&tag_ref, &auth)
                    .await
                    .map_err(|e| classify(r, &what, e))
            })
            .await?;
        Digest::parse(&text).map_err(|detail| Error::Registry {
            registry: r.registry().into(),
            reference: r.to_string(),
            detail: format!("the tag resolves to an unsupported digest: {detail}"),
        })
    }

    /// The manifest `digest` of `r`'s repository, verified.
    pub(super) async fn manifest(&self, r: &PluginRef, digest: &Digest) -> OciResult<Vec<u8>> {
        let by_digest = r.with_digest(digest).client_ref();
        let auth = self.auth(r);
        let what = format!("manifest {digest}");
        let (body, _) = self
            .retry(r, || async {
                self.client
                    .pull_manifest_raw(&by_digest, &auth, super::artifact::MANIFEST_ACCEPT)
                    .await
                    .map_err(|e| classify(r, &what, e))
            })
            .await?;
        let limit = self.opts.max_blob_size.min(4 << 20);
        if body.len() as u64 > limit {
            return Err(too_large(r, "the manifest", body.len() as u64, limit));
        }
        verify(r, "manifest", digest, &body)?;
        Ok(body.to_vec())
    }

    /// Downloads blob `desc` of `r`'s repository, verified against its
    /// digest and size, refusing it past `limit` bytes (declared or actual).
    pub(super) async fn blob(
        &self,
        r: &PluginRef,
        desc: &OciDescriptor,
        digest: &Digest,
        limit: u64,
    ) -> OciResult<Vec<u8>> {
        let what = format!("{} {digest}", kind_of(desc));
        let declared = u64::try_from(desc.size).unwrap_or(0);
        if declared > limit {
            return Err(too_large(r, &what, declared, limit));
        }
        let image = r.client_ref();
        self.client
            .store_auth_if_needed(r.registry(), &self.auth(r))
            .await;
        self.retry(r, || async {
            let mut stream = self
                .client
                .pull_blob_stream(&image, desc)
                .await
                .map_err(|e| classify(r, &what, e))?;
            if let Some(len) = stream.content_length.filter(|l| *l > limit) {
                return Err(too_large(r, &what, len, limit).into());
            }
            let mut bytes = Vec::with_capacity(declared.min(limit) as usize);
            let mut hasher = Sha256::new();
            while let Some(chunk) = stream.next().await {
                match chunk {
                    Ok(c) => {
                        if (bytes.len() + c.len()) as u64 > limit {
                            let size = (bytes.len() + c.len()) as u64;
                            return Err(too_large(r, &what, size, limit).into());
                        }
                        hasher.update(&c);
                        bytes.extend_from_slice(&c);
                    }
                    // oci-client's own check fails at the end of the stream on
                    // a mismatch: report ours, with both digests.
                    Err(_) if bytes.len() as u64 == declared => break,
                    Err(e) => {
                        return Err(Failure {
                            error: unreachable(r, format!("reading {what}: {}", chain(&e))),
                            transient: true,
                        });
                    }
                }
            }
            let actual = hex::encode(hasher.finalize());
            if actual != digest.hex() || bytes.len() as u64 != declared {
                return Err(Error::DigestMismatch {
                    reference: r.to_string(),
                    what: format!("{what} ({} bytes, {declared} declared)", bytes.len()),
                    expected: digest.to_string(),
                    actual: format!("sha256:{actual}"),
                }
                .into());
            }
            Ok(bytes)
        })
        .await
    }

    /// Uploads a blob unless the registry already has it.
    pub(super) async fn push_blob(
        &self,
        r: &PluginRef,
        data: &[u8],
        digest: &Digest,
    ) -> OciResult<()> {
        let image = r.tag_ref();
        let auth = self.auth(r);
        let what = format!("blob {digest}");
        self.client.store_auth_if_needed(r.registry(), &auth).await;
        self.retry(r, || async {
            if self
                .client
                .blob_exists(&image, &digest.to_string())
                .await
                .map_err(|e| classify(r, &what, e))?
            {
                return Ok(());
            }
            self.client
                .push_blob(&image, data.to_vec(), &digest.to_string())
                .await
                .map(|_| ())
                .map_err(|e| classify(r, &what, e))
        })
        .await
    }

    /// Uploads a manifest under `r`'s tag.
    pub(super) async fn push_manifest(
        &self,
        r: &PluginRef,
        body: &[u8],
        media_type: &str,
    ) -> OciResult<()> {
        let image: Reference = r.tag_ref();
        self.retry(r, || async {
            let content_type = media_type.parse().map_err(|_| {
                Failure::from(Error::Registry {
                    registry: r.registry().into(),
                    reference: r.to_string(),
                    detail: format!("invalid media type {media_type:?}"),
                })
            })?;
            self.client
                .push_manifest_raw(&image, body.to_vec(), content_type)
                .await
                .map(|_| ())
                .map_err(|e| classify(r, "the manifest", e))
        })
        .await
    }

    /// Runs `op` up to `attempts` times while it fails transiently.
    async fn retry<T, F, Fut>(&self, r: &PluginRef, mut op: F) -> OciResult<T>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, Failure>>,
    {
        let policy = self.opts.retry;
        let attempts = policy.attempts.max(1);
        let mut backoff = policy.initial_backoff;
        for attempt in 1..=attempts {
            match op().await {
                Ok(v) => return Ok(v),
                Err(mut f) if f.transient && attempt < attempts => {
                    if let Error::Unreachable { attempts: n, .. } = &mut f.error {
                        *n = attempt;
                    }
                    tracing::warn!(reference = %r, attempt, "retrying in {backoff:?}: {}", f.error);
                    tokio::time::sleep(backoff).await;
                    backoff = backoff.saturating_mul(2);
                }
                Err(Failure {
                    error:
                        Error::Unreachable {
                            registry,
                            reference,
                            detail,
                            ..
                        },
                    ..
                }) => {
                    return Err(Error::Unreachable {
                        registry,
                        reference,
                        attempts: attempt,
                        detail,
                    });
                }
                Err(f) => return Err(f.error),
            }
        }
        Err(unreachable(r, "no attempt was made".into()))
    }
}

/// Checks `bytes` against `expected`.
pub(super) fn verify(r: &PluginRef, what: &str, expected: &Digest, bytes: &[u8]) -> OciResult<()> {
    let actual = Digest::of(bytes);
    if &actual != expected {
        return Err(Error::DigestMismatch {
            reference: r.to_string(),
            what: what.to_string(),
            expected: expected.to_string(),
            actual: actual.to_string(),
        });
    }
    Ok(())
}

fn kind_of(desc: &OciDescriptor) -> &'static str {
    if desc.media_type.contains("config") {
        "config"
    } else {
        "layer"
    }
}

fn too_large(r: &PluginRef, what: &str, size: u64, limit: u64) -> Error {
    Error::TooLarge {
        reference: r.to_string(),
        what: what.to_string(),
        size,
        limit,
    }
}
