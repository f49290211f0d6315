//! The registry transport: an `oci-client` Client with credentials, CA bundle and plain-HTTP exceptions, bounded retries, verified downloads, and errors mapped to [`Error`].

use std::collections::HashMap;
use std::future::Future;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::StreamExt;
use oci_client::client::{Certificate, CertificateEncoding, ClientConfig, ClientProtocol};
use oci_client::errors::OciDistributionError;
use oci_client::manifest::OciDescriptor;
use oci_client::secrets::RegistryAuth;
use oci_client::{Client, Reference};
use sha2::{Digest as _, Sha256};
use tokio::sync::OnceCell;

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

/// A plain-HTTP token realm a registry named and no `--insecure-registry`
/// entry allows: the preflight's verdict when it refuses.
#[derive(Debug)]
struct RefusedRealm {
    realm: String,
    host: String,
}

/// The preflight's verdict on one registry, computed once.
type RealmCheck = Arc<OnceCell<Option<RefusedRealm>>>;

/// The registry side of the fetcher and pusher.
pub(super) struct Registry {
    client: Client,
    /// A plain client with the same CA bundle and timeouts, for the
    /// anonymous token-realm preflight (`oci-client` keeps its own private).
    http: reqwest::Client,
    /// The token-realm verdict by registry (`host:port`), once per process.
    realms: Mutex<HashMap<String, RealmCheck>>,
    opts: RegistryOptions,
}

impl Registry {
    /// Builds the HTTP client.
    pub(super) fn new(opts: RegistryOptions) -> OciResult<Self> {
        super::install_crypto_provider();
        let mut certs = Vec::new();
        let mut http = reqwest::Client::builder()
            .connect_timeout(opts.connect_timeout)
            .read_timeout(opts.read_timeout)
            .user_agent(concat!("naas/", env!("CARGO_PKG_VERSION")));
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
            // As `oci-client` reads it: the same trust for both clients.
            let cert = reqwest::Certificate::from_pem(&data).map_err(|e| Error::CaFile {
                path: path.clone(),
                detail: format!("cannot use it: {}", chain(&e)),
            })?;
            http = http.tls_certs_merge([cert]);
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
        let http = http.build().map_err(|e| Error::CaFile {
            path: opts.ca_files.first().cloned().unwrap_or_default(),
            detail: format!("cannot set up TLS with it: {}", chain(&e)),
        })?;
        Ok(Self {
            client,
            http,
            realms: Mutex::new(HashMap::new()),
            opts,
        })
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
        self.check_realm(r).await?;
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
        self.check_realm(r).await?;
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
        self.check_realm(r).await?;
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
        self.check_realm(r).await?;
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
        self.check_realm(r).await?;
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

    /// Refuses `r`'s registry when its token realm is plain HTTP and not
    /// allowed by `--insecure-registry`, before any request that could carry
    /// credentials. The verdict is kept for the registry (a failure to find
    /// out is not: the next call asks again).
    ///
    /// `oci-client` runs the token flow itself, with no hook: on a 401 it
    /// sends the basic credentials to whatever realm the registry names.
    /// Hence this anonymous `GET /v2/` first, the request `oci-client` reads
    /// the challenge from. Only a registry with credentials would leak them,
    /// but a plain-HTTP realm is refused with none too: the bearer token it
    /// hands out (and the scope asked for) would travel in clear text and
    /// could be forged or replaced on the way, so the rule is one and the
    /// same whatever the docker config holds. (A registry answering
    /// `oci-client`'s own `GET /v2/` otherwise than this one could have the
    /// credentials anyway, with a Basic challenge.)
    async fn check_realm(&self, r: &PluginRef) -> OciResult<()> {
        let cell = {
            let mut realms = self.realms.lock().unwrap_or_else(|p| p.into_inner());
            realms.entry(r.registry().to_string()).or_default().clone()
        };
        let verdict = cell.get_or_try_init(|| self.preflight(r)).await?;
        match verdict {
            None => Ok(()),
            Some(refused) => Err(Error::InsecureTokenRealm {
                registry: r.registry().into(),
                reference: r.to_string(),
                realm: refused.realm.clone(),
                realm_host: refused.host.clone(),
            }),
        }
    }

    /// The anonymous `GET /v2/` of [`Self::check_realm`], retried like any
    /// request: the Bearer realms of its challenges, the first one refused.
    /// A registry answering 200 (no auth) or with Basic challenges passes.
    async fn preflight(&self, r: &PluginRef) -> OciResult<Option<RefusedRealm>> {
        let registry = r.registry();
        let scheme = if self.opts.insecure_registries.iter().any(|h| h == registry) {
            "http"
        } else {
            "https"
        };
        let url = format!("{scheme}://{registry}/v2/");
        let what = "the API root (/v2/)";
        let challenges = self
            .retry(r, || async {
                let res = self
                    .http
                    .get(&url)
                    .send()
                    .await
                    .map_err(|e| classify(r, what, OciDistributionError::RequestError(e)))?;
                let code = res.status().as_u16();
                if code == 429 || code >= 500 {
                    let message = res.text().await.unwrap_or_default();
                    return Err(classify(
                        r,
                        what,
                        OciDistributionError::ServerError {
                            code,
                            url: url.clone(),
                            message,
                        },
                    ));
                }
                // Any other status: `oci-client` only reads the challenges.
                Ok(res
                    .headers()
                    .get_all(reqwest::header::WWW_AUTHENTICATE)
                    .iter()
                    .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
                    .collect::<Vec<_>>())
            })
            .await?;
        let realms = super::realm::bearer_realms(challenges.iter().map(String::as_str));
        let refused = realms.into_iter().find_map(|realm| {
            super::realm::refused_realm(&realm, &self.opts.insecure_registries)
                .map(|host| RefusedRealm { realm, host })
        });
        if let Some(refused) = &refused {
            tracing::debug!(registry, realm = %refused.realm, "plain-HTTP token realm refused");
        }
        Ok(refused)
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
