//! The HTTPS admission endpoints (axum + rustls): `/validate`, `/mutate`, `/healthz`, with the serving certificate reloaded when its files change.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, RwLock};
use std::time::{Duration, SystemTime};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

use super::{Admission, MAX_REVIEW_BYTES};

/// The serving certificate and key files (PEM), e.g. a mounted
/// cert-manager Secret's `tls.crt` and `tls.key`.
#[derive(Debug, Clone)]
pub struct TlsFiles {
    /// Certificate chain.
    pub cert: PathBuf,
    /// Private key.
    pub key: PathBuf,
}

/// The server could not start.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The certificate or key cannot be used.
    #[error("serving certificate {cert} / key {key}: {detail}")]
    Tls {
        /// The certificate file.
        cert: String,
        /// The key file.
        key: String,
        /// Why.
        detail: String,
    },
    /// The address cannot be bound.
    #[error("cannot listen on {addr}: {error}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The error.
        error: std::io::Error,
    },
}

/// The certificate in use, and the files' modification times it came from.
struct Reloading {
    files: TlsFiles,
    current: RwLock<(Arc<CertifiedKey>, Option<SystemTime>)>,
}

impl std::fmt::Debug for Reloading {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reloading")
            .field("files", &self.files)
            .finish_non_exhaustive()
    }
}

fn modified(files: &TlsFiles) -> Option<SystemTime> {
    let m = |p: &PathBuf| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    m(&files.cert).max(m(&files.key))
}

fn load(files: &TlsFiles) -> Result<Arc<CertifiedKey>, ServeError> {
    let err = |detail: String| ServeError::Tls {
        cert: files.cert.display().to_string(),
        key: files.key.display().to_string(),
        detail,
    };
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&files.cert)
        .map_err(|e| err(e.to_string()))?
        .collect::<Result<_, _>>()
        .map_err(|e| err(e.to_string()))?;
    if certs.is_empty() {
        return Err(err("no certificate in the file".into()));
    }
    let key = PrivateKeyDer::from_pem_file(&files.key).map_err(|e| err(e.to_string()))?;
    let provider = rustls::crypto::CryptoProvider::get_default()
        .cloned()
        .unwrap_or_else(|| Arc::new(rustls::crypto::ring::default_provider()));
    let signing = provider
        .key_provider
        .load_private_key(key)
        .map_err(|e| err(e.to_string()))?;
    Ok(Arc::new(CertifiedKey::new(certs, signing)))
}

impl ResolvesServerCert for Reloading {
    fn resolve(&self, _: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(
            self.current
                .read()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .0
                .clone(),
        )
    }
}

impl Reloading {
    /// Reloads the files when they changed; a broken new pair keeps the old one.
    fn refresh(&self) {
        let now = modified(&self.files);
        let stale = self
            .current
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .1
            != now;
        if !stale {
            return;
        }
        match load(&self.files) {
            Ok(key) => {
                *self
                    .current
                    .write()
                    .unwrap_or_else(std::sync::PoisonError::into_inner) = (key, now);
                tracing::info!(cert = %self.files.cert.display(), "serving certificate reloaded");
            }
            Err(e) => tracing::warn!("keeping the current serving certificate: {e}"),
        }
    }
}

/// Serves the admission endpoints on `listener` with `tls` until the
/// process ends. The certificate is checked for changes every few seconds
/// (a renewed cert-manager Secret) and reloaded.
///
/// # Errors
/// When the certificate or key cannot be loaded at start.
pub async fn serve(
    admission: Admission,
    listener: TcpListener,
    tls: TlsFiles,
) -> Result<(), ServeError> {
    let first = load(&tls)?;
    let reloading = Arc::new(Reloading {
        current: RwLock::new((first, modified(&tls))),
        files: tls,
    });
    {
        let r = reloading.clone();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_secs(5)).await;
                r.refresh();
            }
        });
    }
    let mut config = rustls::ServerConfig::builder()
        .with_no_client_auth()
        .with_cert_resolver(reloading);
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    let acceptor = TlsAcceptor::from(Arc::new(config));
    let app = router(admission);
    loop {
        let Ok((tcp, _)) = listener.accept().await else {
            continue;
        };
        // An answer goes out as soon as it is written: with Nagle's algorithm a
        // second small TLS record waits for the API server's delayed ACK (40 ms).
        let _ = tcp.set_nodelay(true);
        let (acceptor, app) = (acceptor.clone(), app.clone());
        tokio::spawn(async move {
            let Ok(stream) = acceptor.accept(tcp).await else {
                return;
            };
            serve_connection(stream, app).await;
        });
    }
}

/// Serves `app` on one accepted connection (HTTP/1.1 or h2) until it closes.
pub(crate) async fn serve_connection<S>(stream: S, app: Router)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let service =
        hyper::service::service_fn(move |req| tower::ServiceExt::oneshot(app.clone(), req));
    let _ = hyper_util::server::conn::auto::Builder::new(hyper_util::rt::TokioExecutor::new())
        .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
        .await;
}

/// The routes: POST `/validate` and `/mutate` (bodies up to
/// [`MAX_REVIEW_BYTES`]; larger ones get 413), GET `/healthz`.
pub fn router(admission: Admission) -> Router {
    Router::new()
        .route("/validate", post(validate))
        .route("/mutate", post(mutate))
        .route("/healthz", get(|| async { "ok" }))
        .layer(DefaultBodyLimit::max(MAX_REVIEW_BYTES))
        .with_state(admission)
}

async fn validate(State(a): State<Admission>, body: Bytes) -> Response {
    answer(a.validate(&body).await)
}

async fn mutate(State(a): State<Admission>, body: Bytes) -> Response {
    answer(a.mutate(&body).await)
}

/// The review as JSON, or 400 with the reason for a body that is not one.
fn answer<T: serde::Serialize>(review: Result<T, String>) -> Response {
    match review.map(|r| wire(&r)) {
        Ok(Ok(v)) => json(&v),
        Ok(Err(e)) => (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
        Err(e) => (StatusCode::BAD_REQUEST, e).into_response(),
    }
}

/// The review as the API server reads it: `response.patch` is base64 text
/// (a Go `[]byte`), not the array of numbers serde makes of a `Vec<u8>`.
fn wire<T: serde::Serialize>(review: &T) -> Result<serde_json::Value, serde_json::Error> {
    use base64::Engine;
    let mut v = serde_json::to_value(review)?;
    if let Some(patch) = v.pointer_mut("/response/patch") {
        let bytes: Vec<u8> = serde_json::from_value(patch.take())?;
        *patch = serde_json::Value::String(base64::engine::general_purpose::STANDARD.encode(bytes));
    }
    Ok(v)
}

fn json<T: serde::Serialize>(value: &T) -> Response {
    match serde_json::to_vec(value) {
        Ok(body) => (
            StatusCode::OK,
            [(axum::http::header::CONTENT_TYPE, "application/json")],
            body,
        )
            .into_response(),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
    }
}
