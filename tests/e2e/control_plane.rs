//! A throwaway Kubernetes control plane for the e2e suite, as envtest starts one: etcd + kube-apiserver (+ kube-controller-manager) from a directory of binaries, on loopback, with certificates made for the run; or a user's cluster through a kubeconfig.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::registry_support::{issue_cert, make_ca, openssl};

/// Where `.ci/run` and the README expect the binaries when `NAAS_E2E_ASSETS` is not set.
pub const DEFAULT_ASSETS: &str = "/opt/naas-e2e/bin";

/// The cluster the suite runs against.
pub enum Cluster {
    /// Started here, stopped (by PID) on drop.
    Local(ControlPlane),
    /// The user's (kind, k3d, any), from `NAAS_E2E_KUBECONFIG`.
    External(PathBuf),
}

impl Cluster {
    /// `NAAS_E2E_KUBECONFIG`, else binaries from `NAAS_E2E_ASSETS` or
    /// [`DEFAULT_ASSETS`]; `None` (after one loud line) when neither exists.
    pub fn find() -> Option<Self> {
        if let Some(k) = std::env::var_os("NAAS_E2E_KUBECONFIG") {
            return Some(Cluster::External(PathBuf::from(k)));
        }
        let assets = std::env::var_os("NAAS_E2E_ASSETS")
            .map_or_else(|| PathBuf::from(DEFAULT_ASSETS), PathBuf::from);
        let missing: Vec<&str> = ["etcd", "kube-apiserver"]
            .into_iter()
            .filter(|b| !assets.join(b).is_file())
            .collect();
        if !missing.is_empty() {
            eprintln!(
                "\n*** E2E SKIPPED: no Kubernetes API: set NAAS_E2E_KUBECONFIG to a cluster's kubeconfig, \
                 or NAAS_E2E_ASSETS to a directory with etcd and kube-apiserver (missing in {}: {}) ***\n",
                assets.display(),
                missing.join(", ")
            );
            return None;
        }
        Some(Cluster::Local(ControlPlane::start(&assets)))
    }

    /// The kubeconfig of a cluster-admin.
    pub fn kubeconfig(&self) -> &Path {
        match self {
            Cluster::Local(c) => &c.kubeconfig,
            Cluster::External(k) => k,
        }
    }

    /// Whether namespaces are really deleted (kube-controller-manager runs;
    /// assumed of a user's cluster).
    pub fn deletes_namespaces(&self) -> bool {
        match self {
            Cluster::Local(c) => c.kcm.is_some(),
            Cluster::External(_) => true,
        }
    }
}

/// etcd, kube-apiserver and (when its binary exists) kube-controller-manager.
pub struct ControlPlane {
    dir: tempfile::TempDir,
    etcd: Child,
    apiserver: Child,
    kcm: Option<Child>,
    /// The admin kubeconfig.
    pub kubeconfig: PathBuf,
}

/// A free loopback port.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn spawn(bin: &Path, args: &[String], log: &Path) -> Child {
    let log = std::fs::File::create(log).unwrap();
    Command::new(bin)
        .args(args)
        .stdin(Stdio::null())
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .unwrap_or_else(|e| panic!("starting {}: {e}", bin.display()))
}

impl ControlPlane {
    /// Starts the control plane from the binaries in `assets` and waits until it is ready.
    pub fn start(assets: &Path) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let d = &dir.path().to_path_buf();
        make_ca(d, "naas-e2e-ca", "ca");
        let server_ext = "subjectAltName = IP:127.0.0.1,DNS:localhost,IP:10.0.0.1,DNS:kubernetes.default.svc\n\
                          extendedKeyUsage = serverAuth\n";
        let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"];
        issue_cert(
            d,
            "ca",
            "apiserver",
            "kube-apiserver",
            &ec,
            server_ext,
            false,
        );
        let client_ext = "extendedKeyUsage = clientAuth\n";
        // The request config's [dn] section takes more lines than CN.
        issue_cert(
            d,
            "ca",
            "admin",
            "naas-e2e-admin\nO = system:masters",
            &ec,
            client_ext,
            false,
        );
        issue_cert(
            d,
            "ca",
            "kcm",
            "system:kube-controller-manager",
            &ec,
            client_ext,
            false,
        );
        openssl(d, &["genrsa", "-out", "sa.key", "2048"]);
        openssl(d, &["rsa", "-in", "sa.key", "-pubout", "-out", "sa.pub"]);

        let (etcd_port, peer_port, api_port) = (free_port(), free_port(), free_port());
        let p = |f: &str| d.join(f).display().to_string();
        let etcd = spawn(
            &assets.join("etcd"),
            &[
                format!("--data-dir={}", p("etcd")),
                format!("--listen-client-urls=http://127.0.0.1:{etcd_port}"),
                format!("--advertise-client-urls=http://127.0.0.1:{etcd_port}"),
                format!("--listen-peer-urls=http://127.0.0.1:{peer_port}"),
                format!("--initial-advertise-peer-urls=http://127.0.0.1:{peer_port}"),
                format!("--initial-cluster=default=http://127.0.0.1:{peer_port}"),
                "--name=default".into(),
                "--unsafe-no-fsync=true".into(),
            ],
            &d.join("etcd.log"),
        );
        let psa = crate::common::repo_root().join("../shared/talos-psa.yaml");
        let mut api_args = vec![
            format!("--etcd-servers=http://127.0.0.1:{etcd_port}"),
            "--bind-address=127.0.0.1".into(),
            "--advertise-address=127.0.0.1".into(),
            format!("--secure-port={api_port}"),
            format!("--tls-cert-file={}", p("apiserver.crt")),
            format!("--tls-private-key-file={}", p("apiserver.key")),
            format!("--client-ca-file={}", p("ca.crt")),
            "--service-account-issuer=https://kubernetes.default.svc".into(),
            format!("--service-account-key-file={}", p("sa.pub")),
            format!("--service-account-signing-key-file={}", p("sa.key")),
            "--authorization-mode=Node,RBAC".into(),
            "--service-cluster-ip-range=10.0.0.0/24".into(),
            "--allow-privileged=false".into(),
        ];
        if psa.is_file() {
            api_args.push(format!("--admission-control-config-file={}", psa.display()));
        }
        let apiserver = spawn(
            &assets.join("kube-apiserver"),
            &api_args,
            &d.join("apiserver.log"),
        );
        let server = format!("https://127.0.0.1:{api_port}");
        let kubeconfig = d.join("admin.kubeconfig");
        write_kubeconfig(
            &kubeconfig,
            &server,
            &p("ca.crt"),
            &p("admin.crt"),
            &p("admin.key"),
        );
        let kcm_config = d.join("kcm.kubeconfig");
        write_kubeconfig(
            &kcm_config,
            &server,
            &p("ca.crt"),
            &p("kcm.crt"),
            &p("kcm.key"),
        );
        let mut plane = Self {
            dir,
            etcd,
            apiserver,
            kcm: None,
            kubeconfig,
        };
        plane.wait_ready(&server);
        let kcm_bin = assets.join("kube-controller-manager");
        if kcm_bin.is_file() {
            let k = kcm_config.display().to_string();
            plane.kcm = Some(spawn(
                &kcm_bin,
                &[
                    format!("--kubeconfig={k}"),
                    format!("--authentication-kubeconfig={k}"),
                    format!("--authorization-kubeconfig={k}"),
                    format!("--service-account-private-key-file={}", p("sa.key")),
                    format!("--root-ca-file={}", p("ca.crt")),
                    "--use-service-account-credentials=true".into(),
                    "--controllers=*".into(),
                    "--leader-elect=false".into(),
                    "--bind-address=127.0.0.1".into(),
                    "--secure-port=0".into(),
                    "--service-cluster-ip-range=10.0.0.0/24".into(),
                ],
                &plane.dir.path().join("kcm.log"),
            ));
        }
        plane
    }

    fn wait_ready(&mut self, server: &str) {
        let d = self.dir.path();
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            let ok = Command::new("curl")
                .args([
                    "-sf",
                    "--cacert",
                    "ca.crt",
                    "--cert",
                    "admin.crt",
                    "--key",
                    "admin.key",
                ])
                .arg(format!("{server}/readyz"))
                .current_dir(d)
                .output()
                .is_ok_and(|o| o.status.success());
            if ok {
                return;
            }
            for (name, child) in [
                ("etcd", &mut self.etcd),
                ("kube-apiserver", &mut self.apiserver),
            ] {
                if let Ok(Some(status)) = child.try_wait() {
                    panic!(
                        "{name} exited ({status}); its log: {}",
                        d.join(format!("{}.log", name.trim_start_matches("kube-")))
                            .display()
                    );
                }
            }
            assert!(
                Instant::now() < deadline,
                "the API server was not ready in 120 s; logs in {}",
                d.display()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

impl Drop for ControlPlane {
    fn drop(&mut self) {
        let mut children: Vec<&mut Child> = vec![&mut self.apiserver, &mut self.etcd];
        if let Some(k) = self.kcm.as_mut() {
            children.insert(0, k);
        }
        for c in children {
            // SIGTERM by PID, then reap.
            let _ = Command::new("kill").arg(c.id().to_string()).status();
            let deadline = Instant::now() + Duration::from_secs(20);
            while Instant::now() < deadline && matches!(c.try_wait(), Ok(None)) {
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn write_kubeconfig(path: &Path, server: &str, ca: &str, cert: &str, key: &str) {
    std::fs::write(
        path,
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: e2e\n  cluster:\n    server: {server}\n    certificate-authority: {ca}\n\
             users:\n- name: admin\n  user:\n    client-certificate: {cert}\n    client-key: {key}\n\
             contexts:\n- name: e2e\n  context: {{cluster: e2e, user: admin}}\ncurrent-context: e2e\n"
        ),
    )
    .unwrap();
}
