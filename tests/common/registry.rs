//! A real OCI registry for tests and benches: Debian's `docker-registry` (CNCF distribution 2.8) on a free loopback port, optionally with htpasswd and TLS or with bearer-token auth, killed on drop; and a counting TCP proxy in front of it.
#![allow(dead_code)]

#[path = "token_server.rs"]
pub mod token_server;

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

const INSTALL_HINT: &str = "run scripts/test.sh, which installs it (scripts/lib.sh: need_apt docker-registry apache2-utils openssl)";

/// Fails with the script that installs `tool` when it is not on PATH.
pub fn require(tool: &str) {
    let found = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).any(|d| d.join(tool).is_file()))
        .unwrap_or(false);
    assert!(found, "{tool} is missing: {INSTALL_HINT}");
}

/// A running registry; stopped (by PID) when dropped.
pub struct Registry {
    child: Child,
    dir: tempfile::TempDir,
    addr: SocketAddr,
    ca: Option<PathBuf>,
}

impl Registry {
    /// Anonymous, plain HTTP.
    pub fn start() -> Self {
        Self::spawn(None)
    }

    /// htpasswd basic auth (bcrypt) for `user`/`password`, over TLS with a
    /// CA generated for this run.
    pub fn start_secure(user: &str, password: &str) -> Self {
        Self::spawn(Some((user, password)))
    }

    /// Plain HTTP with `auth: token`: anonymous requests get a 401 with
    /// `WWW-Authenticate: Bearer realm=<tokens' realm>`, and only tokens
    /// signed by a certificate under `tokens`' CA are accepted.
    pub fn start_token_auth(tokens: &token_server::TokenServer) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        Self::launch(dir, tokens.registry_auth_config(), None)
    }

    /// One anonymous registry per test binary, while some test holds it.
    pub fn shared() -> Arc<Self> {
        static SHARED: Mutex<Weak<Registry>> = Mutex::new(Weak::new());
        let mut slot = SHARED.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(r) = slot.upgrade() {
            return r;
        }
        let r = Arc::new(Self::start());
        *slot = Arc::downgrade(&r);
        r
    }

    fn spawn(auth: Option<(&str, &str)>) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut extra = String::new();
        let mut ca = None;
        if let Some((user, password)) = auth {
            require("htpasswd");
            require("openssl");
            let htpasswd = dir.path().join("htpasswd");
            let file = htpasswd.to_str().expect("a UTF-8 temp path");
            run_tool(
                "htpasswd",
                dir.path(),
                &["-B", "-C", "4", "-b", "-c", file, user, password],
            );
            let (ca_cert, cert, key) = make_certs(dir.path());
            extra = format!(
                "  tls:\n    certificate: {}\n    key: {}\nauth:\n  htpasswd:\n    realm: naas-test\n    path: {}\n",
                cert.display(),
                key.display(),
                htpasswd.display()
            );
            ca = Some(ca_cert);
        }
        Self::launch(dir, extra, ca)
    }

    /// Starts the registry with `extra` appended to its config, right after
    /// `http.addr`: `http:` keys indented (TLS), then top-level sections
    /// (`auth:`).
    fn launch(mut dir: tempfile::TempDir, extra: String, ca: Option<PathBuf>) -> Self {
        require("docker-registry");
        for _ in 0..5 {
            let port = free_port();
            let addr: SocketAddr = format!("127.0.0.1:{port}").parse().expect("address");
            let config = format!(
                "version: 0.1\nlog:\n  level: info\nstorage:\n  filesystem:\n    rootdirectory: {}\n  \
                 delete:\n    enabled: true\nhttp:\n  addr: {addr}\n{extra}",
                dir.path().join("storage").display()
            );
            let config_path = dir.path().join("config.yml");
            std::fs::write(&config_path, config).expect("writing the registry config");
            let log = std::fs::File::create(dir.path().join("registry.log")).expect("log file");
            let child = Command::new("docker-registry")
                .arg("serve")
                .arg(&config_path)
                .stdin(Stdio::null())
                .stdout(log.try_clone().expect("log file"))
                .stderr(log)
                .spawn()
                .unwrap_or_else(|e| panic!("cannot start docker-registry ({e}): {INSTALL_HINT}"));
            let mut reg = Self {
                child,
                dir,
                addr,
                ca: ca.clone(),
            };
            if reg.wait_ready() {
                return reg;
            }
            // Most likely the port was taken in between: try another one.
            let _ = reg.child.kill();
            let _ = reg.child.wait();
            dir = std::mem::replace(&mut reg.dir, tempfile::tempdir().expect("temp dir"));
        }
        panic!(
            "docker-registry did not start; see its log in {}",
            dir.path().display()
        );
    }

    /// Waits for `GET /v2/` to answer (200, or 401 with auth).
    fn wait_ready(&mut self) -> bool {
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return false;
            }
            if let Ok(status) = self.get_v2()
                && (status.starts_with("HTTP/1.1 200") || status.starts_with("HTTP/1.1 401"))
            {
                return true;
            }
            std::thread::sleep(Duration::from_millis(25));
        }
        false
    }

    /// The raw answer (status line, headers, body) to an anonymous `GET /v2/`.
    pub fn anonymous_v2(&self) -> String {
        self.get_v2()
            .unwrap_or_else(|e| panic!("GET /v2/ on {}: {e}", self.addr))
    }

    fn get_v2(&self) -> std::io::Result<String> {
        let mut sock = TcpStream::connect_timeout(&self.addr, Duration::from_secs(10))?;
        sock.set_read_timeout(Some(Duration::from_secs(30)))?;
        let request = b"GET /v2/ HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
        let mut answer = Vec::new();
        match &self.ca {
            None => {
                sock.write_all(request)?;
                let _ = sock.read_to_end(&mut answer);
            }
            Some(ca) => {
                let mut tls = tls_client(ca, sock)?;
                tls.write_all(request)?;
                let _ = tls.read_to_end(&mut answer);
            }
        }
        Ok(String::from_utf8_lossy(&answer).into_owned())
    }

    /// `127.0.0.1:PORT`.
    pub fn host(&self) -> String {
        self.addr.to_string()
    }

    /// The socket address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The CA that signed the registry's certificate (TLS registries).
    pub fn ca_file(&self) -> Option<&Path> {
        self.ca.as_deref()
    }

    /// Where the registry keeps blob `sha256:<hex>` on disk.
    pub fn blob_data(&self, digest: &str) -> PathBuf {
        let hex = digest.trim_start_matches("sha256:");
        self.dir
            .path()
            .join("storage/docker/registry/v2/blobs/sha256")
            .join(&hex[..2])
            .join(hex)
            .join("data")
    }

    /// The registry's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("registry.log")).unwrap_or_default()
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

/// Runs `program` with `args` in `dir`, failing the test with its stderr.
pub fn run_tool(program: &str, dir: &Path, args: &[&str]) {
    let out = Command::new(program)
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| panic!("running {program}: {e}"));
    assert!(
        out.status.success(),
        "{program} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Runs the openssl CLI in `dir`, failing the test with its stderr.
pub fn openssl(dir: &Path, args: &[&str]) {
    run_tool("openssl", dir, args);
}

/// Creates a self-signed CA named `cn` in `dir`: `<stem>.key` and `<stem>.crt`
/// (EC P-256, valid two days).
pub fn make_ca(dir: &Path, cn: &str, stem: &str) {
    std::fs::write(
        dir.join(format!("{stem}.cnf")),
        format!(
            "[req]\ndistinguished_name = dn\nx509_extensions = v3_ca\nprompt = no\n[dn]\nCN = {cn}\n\
             [v3_ca]\nbasicConstraints = critical,CA:TRUE\nkeyUsage = critical,keyCertSign,cRLSign\n\
             subjectKeyIdentifier = hash\n"
        ),
    )
    .expect("CA config");
    openssl(
        dir,
        &[
            "req",
            "-x509",
            "-config",
            &format!("{stem}.cnf"),
            "-days",
            "2",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-keyout",
            &format!("{stem}.key"),
            "-out",
            &format!("{stem}.crt"),
        ],
    );
}

/// Issues a certificate for subject `cn`, signed by the CA `<ca>.key` /
/// `<ca>.crt` in `dir`: writes `<stem>.key` and the certificate, `<stem>.der`
/// when `der`, else `<stem>.crt` (PEM), and returns its path. `newkey` is the
/// key to generate, as openssl `req` arguments; `extensions` are its X.509v3
/// extensions (openssl extfile syntax).
pub fn issue_cert(
    dir: &Path,
    ca: &str,
    stem: &str,
    cn: &str,
    newkey: &[&str],
    extensions: &str,
    der: bool,
) -> PathBuf {
    let (cnf, ext) = (format!("{stem}.cnf"), format!("{stem}-ext.cnf"));
    let (key, csr) = (format!("{stem}.key"), format!("{stem}.csr"));
    let cert = format!("{stem}.{}", if der { "der" } else { "crt" });
    std::fs::write(
        dir.join(&cnf),
        format!("[req]\ndistinguished_name = dn\nprompt = no\n[dn]\nCN = {cn}\n"),
    )
    .expect("certificate request config");
    std::fs::write(dir.join(&ext), extensions).expect("certificate extensions");
    let mut req = vec!["req", "-new", "-config", &cnf];
    req.extend_from_slice(newkey);
    req.extend_from_slice(&["-nodes", "-keyout", &key, "-out", &csr]);
    openssl(dir, &req);
    let (ca_crt, ca_key) = (format!("{ca}.crt"), format!("{ca}.key"));
    let mut sign = vec![
        "x509",
        "-req",
        "-in",
        &csr,
        "-CA",
        &ca_crt,
        "-CAkey",
        &ca_key,
        "-set_serial",
        "1",
        "-days",
        "2",
        "-extfile",
        &ext,
        "-out",
        &cert,
    ];
    if der {
        sign.extend_from_slice(&["-outform", "DER"]);
    }
    openssl(dir, &sign);
    dir.join(cert)
}

/// A CA and a server certificate for 127.0.0.1, with the openssl CLI.
fn make_certs(dir: &Path) -> (PathBuf, PathBuf, PathBuf) {
    make_ca(dir, "naas test CA", "ca");
    let cert = issue_cert(
        dir,
        "ca",
        "server",
        "127.0.0.1",
        &["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"],
        "subjectAltName = IP:127.0.0.1,DNS:localhost\nbasicConstraints = critical,CA:FALSE\n\
         keyUsage = critical,digitalSignature\nextendedKeyUsage = serverAuth\n",
        false,
    );
    (dir.join("ca.crt"), cert, dir.join("server.key"))
}

fn tls_client(
    ca: &Path,
    sock: TcpStream,
) -> std::io::Result<rustls::StreamOwned<rustls::ClientConnection, TcpStream>> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, ServerName};
    naas::oci::install_crypto_provider();
    let err = |e: String| std::io::Error::other(e);
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(ca).map_err(|e| err(e.to_string()))? {
        roots
            .add(cert.map_err(|e| err(e.to_string()))?)
            .map_err(|e| err(e.to_string()))?;
    }
    let config = rustls::ClientConfig::builder()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let name = ServerName::try_from("127.0.0.1").map_err(|e| err(e.to_string()))?;
    let conn =
        rustls::ClientConnection::new(Arc::new(config), name).map_err(|e| err(e.to_string()))?;
    Ok(rustls::StreamOwned::new(conn, sock))
}

/// The bytes one client sent through the proxy.
type Traffic = Arc<Mutex<Vec<u8>>>;

/// A TCP proxy that counts the connections and HTTP requests it forwards.
pub struct CountingProxy {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    connections: Arc<AtomicUsize>,
    sent: Arc<Mutex<Vec<Traffic>>>,
}

impl CountingProxy {
    /// Listens on a free loopback port and forwards to `upstream`.
    pub fn start(upstream: SocketAddr) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("proxy listener");
        listener
            .set_nonblocking(true)
            .expect("non-blocking listener");
        let addr = listener.local_addr().expect("proxy address");
        let stop = Arc::new(AtomicBool::new(false));
        let connections = Arc::new(AtomicUsize::new(0));
        let sent: Arc<Mutex<Vec<Traffic>>> = Arc::default();
        let (s, c, log) = (stop.clone(), connections.clone(), sent.clone());
        std::thread::spawn(move || {
            while !s.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((client, _)) => {
                        c.fetch_add(1, Ordering::SeqCst);
                        let buf: Arc<Mutex<Vec<u8>>> = Arc::default();
                        log.lock()
                            .unwrap_or_else(|p| p.into_inner())
                            .push(buf.clone());
                        let _ = client.set_nonblocking(false);
                        if let Ok(server) = TcpStream::connect(upstream) {
                            pipe(client, server, buf);
                        }
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(5)),
                }
            }
        });
        Self {
            addr,
            stop,
            connections,
            sent,
        }
    }

    /// `127.0.0.1:PORT`.
    pub fn host(&self) -> String {
        self.addr.to_string()
    }

    /// Connections accepted so far.
    pub fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }

    /// The request lines (`GET /v2/… HTTP/1.1`) sent so far.
    pub fn requests(&self) -> Vec<String> {
        let bufs = self.sent.lock().unwrap_or_else(|p| p.into_inner());
        let mut lines = Vec::new();
        for b in bufs.iter() {
            let b = b.lock().unwrap_or_else(|p| p.into_inner());
            for line in String::from_utf8_lossy(&b).split("\r\n") {
                if ["GET ", "HEAD ", "PUT ", "POST ", "PATCH ", "DELETE "]
                    .iter()
                    .any(|m| line.starts_with(m))
                {
                    lines.push(line.to_string());
                }
            }
        }
        lines
    }
}

impl Drop for CountingProxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

fn pipe(client: TcpStream, server: TcpStream, log: Arc<Mutex<Vec<u8>>>) {
    let (mut c_read, mut s_write) = (
        client.try_clone().expect("clone"),
        server.try_clone().expect("clone"),
    );
    let (mut s_read, mut c_write) = (server, client);
    std::thread::spawn(move || {
        let mut buf = [0u8; 16 * 1024];
        while let Ok(n) = c_read.read(&mut buf) {
            if n == 0 {
                break;
            }
            // Logged before forwarding: once the client has its answer, the
            // request is counted.
            log.lock()
                .unwrap_or_else(|p| p.into_inner())
                .extend_from_slice(&buf[..n]);
            if s_write.write_all(&buf[..n]).is_err() {
                break;
            }
        }
        let _ = s_write.shutdown(Shutdown::Write);
    });
    std::thread::spawn(move || {
        let _ = std::io::copy(&mut s_read, &mut c_write);
        let _ = c_write.shutdown(Shutdown::Write);
    });
}
