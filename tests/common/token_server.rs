//! A minimal registry token server (distribution's token auth spec) on 127.0.0.1, over HTTPS or plain HTTP: HTTP basic credentials in, an RS256 JWT with an `x5c` chain out, signed with the `openssl` CLI; it counts the requests it gets and what it issues and refuses.
//!
//! The registry is configured with `auth: token:` pointing its realm here and
//! its `rootcertbundle` at [`TokenServer::ca_file`], the CA generated for this
//! run that signed the token-signing certificate (and, over HTTPS, the
//! server's certificate for 127.0.0.1: clients pass it as `--ca-file`). A
//! client that gets a 401 with `WWW-Authenticate: Bearer realm=…,service=…,
//! scope=…` asks `GET /token?service=…&scope=repository:NAME:pull,push` with
//! its basic credentials and presents the token it gets back as
//! `Authorization: Bearer`.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};

/// The `service` the registry names in its challenge (the token's `aud`).
pub const SERVICE: &str = "naas-test-registry";
/// The `iss` of the tokens, which the registry trusts.
pub const ISSUER: &str = "naas-test-token-server";
/// How long a token is valid.
const TOKEN_TTL_SECS: u64 = 300;

/// One token handed out.
#[derive(Debug, Clone)]
pub struct Issued {
    /// The authenticated user (the token's `sub`).
    pub user: String,
    /// The `scope` parameters asked for (`repository:naas/x:pull,push`).
    pub scopes: Vec<String>,
}

#[derive(Default)]
struct Log {
    requests: AtomicUsize,
    issued: Mutex<Vec<Issued>>,
    refused: AtomicUsize,
}

/// A running token server; stopped when dropped.
pub struct TokenServer {
    addr: SocketAddr,
    dir: tempfile::TempDir,
    log: Arc<Log>,
    stop: Arc<AtomicBool>,
    tls: bool,
}

struct Config {
    user: String,
    password: String,
    key: PathBuf,
    /// `base64(DER)` of the signing certificate: the `x5c` chain.
    x5c: String,
}

impl TokenServer {
    /// Generates a CA and a signing certificate for this run, and serves
    /// tokens to `user`/`password` over HTTPS (a certificate for 127.0.0.1
    /// from the same CA) on a free loopback port.
    pub fn start(user: &str, password: &str) -> Self {
        Self::spawn(user, password, true)
    }

    /// As [`Self::start`], over plain HTTP: a realm `http://127.0.0.1:PORT/token`.
    pub fn start_plain_http(user: &str, password: &str) -> Self {
        Self::spawn(user, password, false)
    }

    fn spawn(user: &str, password: &str, tls: bool) -> Self {
        super::require("openssl");
        let dir = tempfile::tempdir().expect("temp dir");
        let (key, cert_der) = make_signing_cert(dir.path());
        let tls_config = tls.then(|| server_tls_config(dir.path()));
        let config = Arc::new(Config {
            user: user.into(),
            password: password.into(),
            key,
            x5c: STANDARD.encode(cert_der),
        });
        let listener = TcpListener::bind("127.0.0.1:0").expect("token server listener");
        listener
            .set_nonblocking(true)
            .expect("non-blocking listener");
        let addr = listener.local_addr().expect("token server address");
        let log = Arc::new(Log::default());
        let stop = Arc::new(AtomicBool::new(false));
        let (l, s) = (log.clone(), stop.clone());
        std::thread::spawn(move || {
            while !s.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((sock, _)) => {
                        l.requests.fetch_add(1, Ordering::SeqCst);
                        let (config, log, tls) = (config.clone(), l.clone(), tls_config.clone());
                        std::thread::spawn(move || serve(sock, tls, &config, &log));
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(5)),
                }
            }
        });
        Self {
            addr,
            dir,
            log,
            stop,
            tls,
        }
    }

    /// The token endpoint: `https://127.0.0.1:PORT/token`, or `http://…`
    /// when started with [`Self::start_plain_http`].
    pub fn realm(&self) -> String {
        let scheme = if self.tls { "https" } else { "http" };
        format!("{scheme}://{}/token", self.addr)
    }

    /// `127.0.0.1:PORT`.
    pub fn host(&self) -> String {
        self.addr.to_string()
    }

    /// The CA (PEM) that signed the token-signing certificate: the
    /// registry's `rootcertbundle`; over HTTPS, the CA clients must trust
    /// for the token server too (`--ca-file`).
    pub fn ca_file(&self) -> PathBuf {
        self.dir.path().join("token-ca.crt")
    }

    /// The registry config's `auth:` section trusting this server.
    pub fn registry_auth_config(&self) -> String {
        format!(
            "auth:\n  token:\n    realm: {}\n    service: {SERVICE}\n    issuer: {ISSUER}\n    \
             rootcertbundle: {}\n",
            self.realm(),
            self.ca_file().display()
        )
    }

    /// The tokens issued so far.
    pub fn issued(&self) -> Vec<Issued> {
        self.log
            .issued
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Token requests refused so far (missing or wrong credentials).
    pub fn refused(&self) -> usize {
        self.log.refused.load(Ordering::SeqCst)
    }

    /// Requests received so far, whatever they asked and however they were
    /// answered: every connection accepted (the server answers one request
    /// per connection, then closes it).
    pub fn requests(&self) -> usize {
        self.log.requests.load(Ordering::SeqCst)
    }
}

impl Drop for TokenServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// Answers one request, over TLS with `tls`, then closes the connection.
fn serve(sock: TcpStream, tls: Option<Arc<rustls::ServerConfig>>, config: &Config, log: &Log) {
    let _ = sock.set_nonblocking(false);
    let _ = sock.set_read_timeout(Some(Duration::from_secs(30)));
    match tls {
        None => exchange(sock, config, log),
        Some(tls) => {
            let Ok(conn) = rustls::ServerConnection::new(tls) else {
                return;
            };
            let mut stream = rustls::StreamOwned::new(conn, sock);
            exchange(&mut stream, config, log);
            stream.conn.send_close_notify();
            let _ = stream.flush();
        }
    }
}

/// Reads one request from `sock` and writes its answer.
fn exchange(mut sock: impl Read + Write, config: &Config, log: &Log) {
    let mut head = Vec::new();
    let mut buf = [0u8; 4096];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 64 << 10 {
        match sock.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
    }
    let head = String::from_utf8_lossy(&head);
    let (status, body) = answer(&head, config, log);
    let mut response = format!(
        "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\
         Connection: close\r\n",
        body.len()
    );
    if status.starts_with("401") {
        response.push_str("WWW-Authenticate: Basic realm=\"naas-test-token-server\"\r\n");
    }
    response.push_str("\r\n");
    response.push_str(&body);
    let _ = sock.write_all(response.as_bytes());
    let _ = sock.flush();
}

/// The status line and JSON body for request `head`.
fn answer(head: &str, config: &Config, log: &Log) -> (&'static str, String) {
    let error = |code: &str, message: &str| {
        serde_json::json!({"errors": [{"code": code, "message": message}]}).to_string()
    };
    let mut lines = head.split("\r\n");
    let target = match lines.next().unwrap_or("").split(' ').collect::<Vec<_>>()[..] {
        ["GET", target, _] => target.to_string(),
        _ => return ("405 Method Not Allowed", error("UNSUPPORTED", "GET only")),
    };
    let (path, query) = target.split_once('?').unwrap_or((&target, ""));
    if path != "/token" {
        return ("404 Not Found", error("NOT_FOUND", path));
    }
    let params: Vec<(String, String)> = query
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (percent_decode(k), percent_decode(v)))
        .collect();
    let param = |name: &str| -> Vec<String> {
        params
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .collect()
    };
    if param("service") != [SERVICE] {
        return (
            "400 Bad Request",
            error("INVALID_REQUEST", "unknown service"),
        );
    }
    let credentials = lines
        .filter_map(|l| l.split_once(':'))
        .find(|(k, _)| k.trim().eq_ignore_ascii_case("authorization"))
        .and_then(|(_, v)| v.trim().strip_prefix("Basic "))
        .and_then(|b64| STANDARD.decode(b64.trim()).ok())
        .and_then(|raw| String::from_utf8(raw).ok());
    let user = match credentials.as_deref().and_then(|c| c.split_once(':')) {
        Some((u, p)) if u == config.user && p == config.password => u.to_string(),
        _ => {
            log.refused.fetch_add(1, Ordering::SeqCst);
            let message = "invalid username or password";
            return ("401 Unauthorized", error("UNAUTHORIZED", message));
        }
    };
    let scopes = param("scope");
    let token = sign_token(config, &user, &scopes);
    log.issued
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .push(Issued { user, scopes });
    let body = serde_json::json!({
        "token": token,
        "access_token": token,
        "expires_in": TOKEN_TTL_SECS,
    });
    ("200 OK", body.to_string())
}

/// `type:name:actions` scopes as the token's `access` claim (every action
/// asked for is granted to the authenticated user).
fn access(scopes: &[String]) -> serde_json::Value {
    let entries: Vec<serde_json::Value> = scopes
        .iter()
        .flat_map(|s| s.split(' '))
        .filter_map(|scope| {
            let (kind, rest) = scope.split_once(':')?;
            let (name, actions) = rest.rsplit_once(':')?;
            let actions: Vec<&str> = actions.split(',').filter(|a| !a.is_empty()).collect();
            Some(serde_json::json!({"type": kind, "name": name, "actions": actions}))
        })
        .collect();
    serde_json::Value::Array(entries)
}

/// An RS256 JWT: `base64url(header).base64url(claims).base64url(signature)`,
/// the signature being PKCS#1 v1.5 over SHA-256 (`openssl dgst -sign`).
fn sign_token(config: &Config, user: &str, scopes: &[String]) -> String {
    static SERIAL: AtomicUsize = AtomicUsize::new(0);
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs();
    let header = serde_json::json!({"typ": "JWT", "alg": "RS256", "x5c": [config.x5c]});
    let claims = serde_json::json!({
        "iss": ISSUER,
        "sub": user,
        // distribution 2.8 reads `aud` as one string.
        "aud": SERVICE,
        "exp": now + TOKEN_TTL_SECS,
        "nbf": now - 1,
        "iat": now,
        "jti": format!("naas-{now}-{}", SERIAL.fetch_add(1, Ordering::SeqCst)),
        "access": access(scopes),
    });
    let signing_input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let mut child = Command::new("openssl")
        .args(["dgst", "-sha256", "-sign"])
        .arg(&config.key)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("running openssl dgst");
    child
        .stdin
        .take()
        .expect("openssl stdin")
        .write_all(signing_input.as_bytes())
        .expect("writing to openssl");
    let out = child.wait_with_output().expect("openssl dgst");
    assert!(
        out.status.success() && out.stdout.len() == 256,
        "openssl dgst -sign: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(&out.stdout))
}

/// `%3A` → `:`, `+` → space (a query parameter's value).
fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let escaped = bytes
            .get(i + 1..i + 3)
            .filter(|_| bytes[i] == b'%')
            .and_then(|hex| std::str::from_utf8(hex).ok())
            .and_then(|hex| u8::from_str_radix(hex, 16).ok());
        match (escaped, bytes[i]) {
            (Some(b), _) => {
                out.push(b);
                i += 3;
                continue;
            }
            (None, b'+') => out.push(b' '),
            (None, b) => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The TLS side of an HTTPS token server: a certificate for 127.0.0.1
/// issued by the token CA (made first, by [`make_signing_cert`]) in `dir`.
fn server_tls_config(dir: &Path) -> Arc<rustls::ServerConfig> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    naas::oci::install_crypto_provider();
    let cert = super::issue_cert(
        dir,
        "token-ca",
        "tls",
        "127.0.0.1",
        &["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"],
        "subjectAltName = IP:127.0.0.1\nbasicConstraints = critical,CA:FALSE\n\
         keyUsage = critical,digitalSignature\nextendedKeyUsage = serverAuth\n",
        false,
    );
    let chain = CertificateDer::pem_file_iter(&cert)
        .expect("tls.crt")
        .collect::<Result<Vec<_>, _>>()
        .expect("tls.crt is PEM");
    let key = PrivateKeyDer::from_pem_file(dir.join("tls.key")).expect("tls.key is PEM");
    let config = rustls::ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .expect("the token server's TLS certificate");
    Arc::new(config)
}

/// A CA (EC P-256) and an RSA-2048 signing certificate it issued, with
/// `keyUsage = digitalSignature` as distribution requires of the `x5c`
/// leaf. Returns the signing key and the certificate's DER.
fn make_signing_cert(dir: &Path) -> (PathBuf, Vec<u8>) {
    super::make_ca(dir, "naas test token CA", "token-ca");
    let cert = super::issue_cert(
        dir,
        "token-ca",
        "signer",
        "naas test token signer",
        &["-newkey", "rsa:2048"],
        "basicConstraints = critical,CA:FALSE\nkeyUsage = critical,digitalSignature\n",
        true,
    );
    let der = std::fs::read(cert).expect("signer.der");
    (dir.join("signer.key"), der)
}
