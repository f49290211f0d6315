//! A real NETCONF server: Debian `netconfd` (yuma123) behind a throwaway sshd's `netconf` subsystem.
//!
//! Needs `apt-get install -y netconfd openssh-server` (`scripts/test.sh`
//! installs both). What it takes, learnt the hard way (see
//! `shared/TEST-PEERS.md`): netconfd gets an absolute socket path, the sshd
//! port it will accept sessions from (`--port`), a startup file, the SSH
//! login as superuser and the ietf-interfaces modules; sshd's subsystem line
//! names the socket as `<port>@<path>` (a plain path does not work), so sshd
//! is started first, then given that line and restarted on the same port.
//! Each netconfd gets a home of its own: confirmed commits keep their backup
//! in `~/.yuma/backup-cfg.xml`, and parallel servers would restore each
//! other's.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use naas_driver::netconf::xml::parse_fragment;
use naas_driver::ssh::SshOptions;
use naas_driver::{Driver, LoadMode, NetconfDriver, NetconfOptions, Session, Target};

use super::TempDir;
use super::sshd::{self, Sshd};

/// Whether netconfd and OpenSSH's server are installed.
pub fn available() -> bool {
    super::installed("/usr/sbin/netconfd")
        && super::installed("/usr/sbin/netconf-subsystem")
        && sshd::available()
}

/// A running netconfd reached through its own sshd.
pub struct Netconfd {
    child: Option<Child>,
    dir: TempDir,
    log: PathBuf,
    /// The sshd in front of it.
    pub sshd: Sshd,
}

impl Netconfd {
    /// Starts netconfd editing `target` (`candidate` or `running`) with an
    /// empty startup config, and an sshd in front of it.
    pub fn start(target: &str) -> Self {
        Self::start_with(target, &[])
    }

    /// [`Netconfd::start`] with extra netconfd arguments (`--protocols=netconf1.0`).
    pub fn start_with(target: &str, extra: &[&str]) -> Self {
        assert!(
            available(),
            "netconfd or sshd missing: apt-get install -y netconfd openssh-server (scripts/test.sh installs both)"
        );
        sshd::ensure_user(&[]);
        let dir = TempDir::new();
        let sock = dir.path().join("ncxserver.sock");
        let mut sshd = Sshd::start("");
        let port = sshd.port();
        let config = sshd.dir().join("sshd_config");
        let mut text = std::fs::read_to_string(&config).expect("read sshd_config");
        text.push_str(&format!(
            "Subsystem netconf /usr/sbin/netconf-subsystem --ncxserver-sockname={port}@{}\n",
            sock.display()
        ));
        std::fs::write(&config, text).expect("write sshd_config");
        sshd.restart();

        let startup = dir.path().join("startup.xml");
        std::fs::write(
            &startup,
            "<config xmlns=\"urn:ietf:params:xml:ns:netconf:base:1.0\"/>\n",
        )
        .expect("write startup");
        let log = dir.path().join("netconfd.log");
        let out = std::fs::File::create(&log).expect("create netconfd.log");
        let err = out.try_clone().expect("dup log");
        let child = Command::new("/usr/sbin/netconfd")
            .arg(format!("--ncxserver-sockname={}", sock.display()))
            .arg(format!("--port={port}"))
            .arg(format!("--target={target}"))
            .arg(format!("--startup={}", startup.display()))
            .arg(format!("--superuser={}", sshd::USER))
            .args(["--module=ietf-interfaces", "--module=iana-if-type"])
            .args(extra)
            .current_dir(dir.path())
            // Its own ~/.yuma: confirmed commits keep running's backup there
            // (backup-cfg.xml), which servers sharing a home overwrite.
            .env("HOME", dir.path())
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .expect("start netconfd");
        let mut server = Self {
            child: Some(child),
            dir,
            log,
            sshd,
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        while !sock.exists() {
            if let Some(child) = server.child.as_mut()
                && let Ok(Some(status)) = child.try_wait()
            {
                panic!("netconfd exited ({status}): {}", server.log());
            }
            assert!(
                Instant::now() < deadline,
                "netconfd did not open its socket: {}",
                server.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        // The subsystem runs as the test user: it must reach the socket.
        super::set_mode(&sock, 0o777);
        server
    }

    /// Freezes netconfd (SIGSTOP): sessions stay open, nothing answers.
    pub fn pause(&self) {
        self.signal("-STOP");
    }

    /// Thaws it (SIGCONT).
    pub fn resume(&self) {
        self.signal("-CONT");
    }

    fn signal(&self, sig: &str) {
        let pid = self.child.as_ref().expect("netconfd running").id();
        super::run("kill", &[sig, &pid.to_string()]);
    }

    /// netconfd's output so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Its temp dir.
    pub fn dir(&self) -> &std::path::Path {
        self.dir.path()
    }

    /// A target logging in with the test user's password.
    pub fn target(&self, device: &str) -> Target {
        self.sshd.password_target(device, "netconf", 0)
    }

    /// A target logging in with the test user's private key.
    pub fn key_target(&self, device: &str) -> Target {
        self.sshd.key_target(device, "netconf")
    }
}

impl Drop for Netconfd {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            // A paused server would not see SIGTERM.
            let _ = Command::new("kill")
                .args(["-CONT", &child.id().to_string()])
                .output();
            super::stop_pid(child.id() as i32);
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

// Helpers of the NETCONF tests: ietf-interfaces config and reading it back.

/// The ietf-interfaces namespace.
pub const IF: &str = "urn:ietf:params:xml:ns:yang:ietf-interfaces";
/// The iana-if-type namespace.
pub const IANA_IF: &str = "urn:ietf:params:xml:ns:yang:iana-if-type";

/// The driver the tests use: generous timeouts, no keepalive.
pub fn driver() -> NetconfDriver {
    NetconfDriver::new(NetconfOptions {
        ssh: SshOptions {
            connect_timeout: Duration::from_secs(15),
            keepalive: None,
        },
        rpc_timeout: Duration::from_secs(30),
        ..NetconfOptions::default()
    })
}

/// An ietf-interfaces entry (with the mandatory type), optional description.
pub fn itf(name: &str, description: Option<&str>) -> String {
    let d = description
        .map(|d| format!("<description>{d}</description>"))
        .unwrap_or_default();
    format!(
        r#"<interface><name>{name}</name><type xmlns:ianaift="{IANA_IF}">ianaift:ethernetCsmacd</type>{d}</interface>"#
    )
}

/// An `<interfaces>` fragment holding `entries`.
pub fn interfaces(entries: &[String]) -> String {
    format!(
        r#"<interfaces xmlns="{IF}">{}</interfaces>"#,
        entries.concat()
    )
}

/// The device's interfaces: name → description ("" when none).
pub async fn read_interfaces(session: &mut Box<dyn Session>) -> BTreeMap<String, String> {
    let text = session.running_config().await.expect("get-config running");
    let tree = parse_fragment(&text).unwrap_or_else(|e| panic!("{e}: {text}"));
    let mut out = BTreeMap::new();
    for top in tree.iter().filter(|e| e.name == "interfaces" && e.ns == IF) {
        for i in &top.children {
            let name = i.child("name").map(|n| n.text.clone()).unwrap_or_default();
            let d = i
                .child("description")
                .map(|n| n.text.clone())
                .unwrap_or_default();
            out.insert(name, d);
        }
    }
    out
}

/// Reads the interfaces in a fresh session (what another client sees).
pub async fn fresh_read(target: &Target) -> BTreeMap<String, String> {
    let mut s = driver().open(target).await.expect("open");
    read_interfaces(&mut s).await
}

/// name → description, as [`read_interfaces`] returns.
pub fn map(entries: &[(&str, &str)]) -> BTreeMap<String, String> {
    entries
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

/// Commits `config` as a merge in a session of its own.
pub async fn push(target: &Target, config: &str) {
    let mut s = driver().open(target).await.expect("open");
    s.load(&LoadMode::Merge, config).await.expect("load");
    s.commit(None).await.expect("commit");
}
