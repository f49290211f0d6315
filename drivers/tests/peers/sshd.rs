//! A throwaway OpenSSH server on 127.0.0.1: its own config, a host key per run, a test user with a password and a key.
//!
//! Generic: the caller adds the lines that make it a device (`ForceCommand`
//! for a CLI, `Subsystem netconf ...` for NETCONF). Stopped by PID on drop.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use naas_driver::{Secret, Target};

use super::{TempDir, free_port, run, set_mode};

/// The test login (created if absent).
pub const USER: &str = "naastest";
/// Its password.
pub const PASSWORD: &str = "naas-Test-pw1";

/// Whether OpenSSH's server is installed.
pub fn available() -> bool {
    super::installed("/usr/sbin/sshd") && super::installed("/usr/bin/ssh-keygen")
}

/// Runs `program` (feeding `input` to its stdin) until it succeeds: user
/// tools lock files under /etc and fail while another test process holds
/// them. Panics after 5 s of failures.
fn retry(program: &str, args: &[&str], input: &str) {
    use std::io::Write;
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let mut child = Command::new(program)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("run {program}: {e}"));
        let _ = child
            .stdin
            .take()
            .expect("stdin")
            .write_all(input.as_bytes());
        let out = child.wait_with_output().expect("wait");
        if out.status.success() {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{program} {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn user_exists() -> bool {
    Command::new("id")
        .arg(USER)
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Creates the test user if absent (shell `/bin/sh`), adds it to the
/// `groups` that exist, and sets its password. Safe to call from several
/// test threads and processes at once.
pub fn ensure_user(groups: &[&str]) {
    static USER_LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _guard = USER_LOCK
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if !user_exists() {
        // Another process may create it first: fine if it exists after.
        let _ = Command::new("useradd")
            .args(["-m", "-s", "/bin/sh", USER])
            .output();
        if !user_exists() {
            retry("useradd", &["-m", "-s", "/bin/sh", USER], "");
        }
    }
    let member_of = Command::new("id")
        .args(["-nG", USER])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default();
    for g in groups {
        let exists = Command::new("getent")
            .args(["group", g])
            .output()
            .is_ok_and(|o| o.status.success());
        if exists && !member_of.split_whitespace().any(|m| m == *g) {
            retry("usermod", &["-aG", g, USER], "");
        }
    }
    retry("chpasswd", &[], &format!("{USER}:{PASSWORD}\n"));
}

/// Generates an ed25519 key pair at `path` (`path.pub` for the public line).
pub fn keygen(path: &std::path::Path) -> (String, String) {
    let p = path.to_str().expect("utf-8 path");
    run(
        "ssh-keygen",
        &["-q", "-t", "ed25519", "-N", "", "-C", "naas-test", "-f", p],
    );
    let private = std::fs::read_to_string(path).expect("read private key");
    let public = std::fs::read_to_string(format!("{p}.pub")).expect("read public key");
    (private, public.trim().to_string())
}

/// A running sshd.
pub struct Sshd {
    child: Option<Child>,
    dir: TempDir,
    config: PathBuf,
    /// Its ports on 127.0.0.1.
    pub ports: Vec<u16>,
    /// Its host key, as an OpenSSH public key line.
    pub host_key: String,
    /// The test user's private key (OpenSSH PEM), accepted by this server.
    pub client_key: String,
}

impl Sshd {
    /// Starts sshd on one free port with `extra` config lines.
    pub fn start(extra: &str) -> Self {
        Self::start_ports(1, extra)
    }

    /// Starts one sshd listening on `n` free ports (`ListenAddress` each;
    /// OpenSSH takes at most 16).
    pub fn start_ports(n: usize, extra: &str) -> Self {
        Self::start_ports_with(n, |_| extra.to_string())
    }

    /// Starts one sshd on `n` free ports; `extra` gets the ports (for
    /// `Match LocalPort` blocks, which must come last).
    pub fn start_ports_with(n: usize, extra: impl FnOnce(&[u16]) -> String) -> Self {
        assert!(
            available(),
            "OpenSSH server missing: apt-get install -y openssh-server (scripts/test.sh installs it)"
        );
        std::fs::create_dir_all("/run/sshd").expect("create /run/sshd");
        let dir = TempDir::new();
        let d = dir.path();
        let (_, host_key) = keygen(&d.join("host_key"));
        let (client_key, client_pub) = keygen(&d.join("client_key"));
        std::fs::write(d.join("authorized_keys"), format!("{client_pub}\n")).expect("write keys");
        set_mode(&d.join("authorized_keys"), 0o644);
        let ports: Vec<u16> = (0..n).map(|_| free_port()).collect();
        let listen: String = ports
            .iter()
            .map(|p| format!("ListenAddress 127.0.0.1:{p}\n"))
            .collect();
        let extra = extra(&ports);
        let config = d.join("sshd_config");
        std::fs::write(
            &config,
            format!(
                "{listen}HostKey {hk}\nPidFile {pid}\nUsePAM no\nPasswordAuthentication yes\n\
                 KbdInteractiveAuthentication no\nPubkeyAuthentication yes\n\
                 AuthorizedKeysFile {ak}\nStrictModes no\nAllowUsers {USER}\nMaxStartups 200\n\
                 MaxSessions 50\nLogLevel ERROR\n{extra}\n",
                hk = d.join("host_key").display(),
                pid = d.join("sshd.pid").display(),
                ak = d.join("authorized_keys").display(),
            ),
        )
        .expect("write sshd_config");
        let mut sshd = Self {
            child: None,
            dir,
            config,
            ports,
            host_key,
            client_key,
        };
        sshd.spawn();
        sshd
    }

    /// The first port.
    pub fn port(&self) -> u16 {
        self.ports[0]
    }

    /// The temp dir holding its config and keys.
    pub fn dir(&self) -> &std::path::Path {
        self.dir.path()
    }

    fn spawn(&mut self) {
        let child = Command::new("/usr/sbin/sshd")
            .args(["-D", "-e", "-f"])
            .arg(&self.config)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(
                std::fs::File::options()
                    .create(true)
                    .append(true)
                    .open(self.dir.path().join("sshd.log"))
                    .map_or_else(|_| Stdio::null(), Stdio::from),
            )
            .spawn()
            .expect("start sshd");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        for port in &self.ports {
            while std::net::TcpStream::connect(("127.0.0.1", *port)).is_err() {
                assert!(Instant::now() < deadline, "sshd did not listen on {port}");
                std::thread::sleep(Duration::from_millis(20));
            }
        }
    }

    /// Kills sshd (by PID) and every session it forked.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let pid = child.id() as i32;
            // Sessions are children of the listener: end them too.
            for session in children_of(pid) {
                super::stop_pid(session);
            }
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// The listener's PID.
    pub fn pid(&self) -> Option<i32> {
        self.child.as_ref().map(|c| c.id() as i32)
    }

    /// The processes serving logins now (sshd's children and theirs).
    pub fn session_processes(&self) -> usize {
        self.child
            .as_ref()
            .map_or(0, |c| children_of(c.id() as i32).len())
    }

    /// Starts it again with the same config, ports and host key.
    pub fn restart(&mut self) {
        self.kill();
        self.spawn();
    }

    /// Replaces the host key by a new one and restarts (a replaced device).
    pub fn change_host_key(&mut self) {
        self.kill();
        let key = self.dir.path().join("host_key");
        let _ = std::fs::remove_file(&key);
        let _ = std::fs::remove_file(key.with_extension("pub"));
        let (_, public) = keygen(&key);
        self.host_key = public;
        self.spawn();
    }

    /// A target logging in with the password on port index `i`.
    pub fn password_target(&self, device: &str, platform: &str, i: usize) -> Target {
        Target {
            device: device.into(),
            address: "127.0.0.1".into(),
            port: self.ports[i],
            platform: platform.into(),
            username: USER.into(),
            secret: Secret::Password(PASSWORD.into()),
            host_key: Some(self.host_key.clone()),
        }
    }

    /// A target logging in with the private key on the first port.
    pub fn key_target(&self, device: &str, platform: &str) -> Target {
        Target {
            secret: Secret::PrivateKey(self.client_key.clone()),
            ..self.password_target(device, platform, 0)
        }
    }
}

/// The PIDs whose parent is `pid`, and theirs (depth first).
pub fn children_of(pid: i32) -> Vec<i32> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return out;
    };
    for e in entries.flatten() {
        let Some(child) = e.file_name().to_str().and_then(|s| s.parse::<i32>().ok()) else {
            continue;
        };
        let ppid = std::fs::read_to_string(format!("/proc/{child}/stat"))
            .ok()
            .and_then(|s| {
                let (_, rest) = s.rsplit_once(')')?;
                rest.split_whitespace().nth(1)?.parse::<i32>().ok()
            });
        if ppid == Some(pid) {
            out.extend(children_of(child));
            out.push(child);
        }
    }
    out
}

impl Drop for Sshd {
    fn drop(&mut self) {
        self.kill();
    }
}
