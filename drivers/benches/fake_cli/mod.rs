//! A fake FRR vtysh behind an in-process russh SSH server: a cheap endpoint for measuring how the CLI driver scales.
//!
//! Each [`FakeCli`] listens on its own port on 127.0.0.1 with its own ed25519
//! host key (seeded per endpoint and per run), offers the key exchanges of
//! OpenSSH 9.2 (the FRR peers' sshd: curve25519, no ML-KEM hybrid), accepts
//! one user's password, and answers a shell the way FRR 8.4's vtysh does on
//! a pty for what [`naas_driver::cli::FRR_CLI`] types: the banner and the prompts
//! (`r1#`, `r1(config)#`, `r1(config-if)#`, `r1(config-router)#`,
//! `r1(config-router-af)#`...), the echo of each line, `terminal length 0`,
//! `configure terminal`, config lines, `exit`, `exit-address-family`,
//! `exit-vrf`, `end`, `write memory`, and `show running-config` printing what
//! was configured in FRR's layout (`frr version` header, sections closed by
//! `exit`, `!` separators, `end`).
//!
//! It knows no command grammar: every config line is accepted. A line opens
//! a section when FRR's would (`interface`, `router`, `vrf`, `route-map`,
//! `key chain`, `line vty` at the top; `address-family` under `router bgp`);
//! `no X` removes the lines equal to or starting with `X` (`no neighbor A
//! remote-as N` removes the neighbour, as FRR does); a line replaces the
//! one it supersedes (a new `description`) by the FRR rules table the driver
//! diffs with ([`naas_driver::config_tree::FRR`]). The real FRR in
//! `tests/frr.rs` proves the driver against FRR itself; this fake only has
//! to keep a dialog the driver can push through, at almost no CPU cost.
//! Its answers come at once, or after a fixed *think time* per answer (a
//! device's latency, costing no CPU).

use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use naas_driver::config_tree::FRR;
use naas_driver::{Secret, Target};
use russh::keys::PrivateKey;
use russh::keys::ssh_key::private::Ed25519Keypair;
use russh::server::{Auth, ChannelOpenHandle, Handler, Msg, Session};
use russh::{Channel, ChannelId, Preferred, kex};
use tokio::task::JoinHandle;

/// The login every fake device accepts.
pub const USER: &str = "naas";
/// Its password.
pub const PASSWORD: &str = "naas-fake-pw";

/// Top-level lines that open a section (FRR enters a sub-mode for them).
const SECTIONS: &[&str] = &[
    "interface ",
    "router ",
    "vrf ",
    "route-map ",
    "key chain ",
    "line vty",
];

/// One config line and the lines under it.
#[derive(Debug, Default)]
struct Node {
    text: String,
    children: Vec<Node>,
}

impl Node {
    fn child_mut(&mut self, text: &str) -> &mut Node {
        let i = match self.children.iter().position(|c| c.text == text) {
            Some(i) => i,
            None => {
                self.children.push(Node {
                    text: text.to_string(),
                    children: Vec::new(),
                });
                self.children.len() - 1
            }
        };
        &mut self.children[i]
    }
}

/// Whether `line`, typed with the section lines `path` open, opens a section.
fn opens_section(path: &[String], line: &str) -> bool {
    match path {
        [] => SECTIONS.iter().any(|s| line.starts_with(s)),
        [bgp] => bgp.starts_with("router bgp") && line.starts_with("address-family "),
        _ => false,
    }
}

/// The mode name in the prompt for a section line (`config-if`...).
fn mode_name(section: &str) -> &'static str {
    match section.split_whitespace().next() {
        Some("interface") => "config-if",
        Some("router") => "config-router",
        Some("address-family") => "config-router-af",
        Some("vrf") => "config-vrf",
        Some("route-map") => "config-route-map",
        Some("key") => "config-keychain",
        _ => "config-line",
    }
}

/// A device's running config (the root's children), shared by its logins.
#[derive(Debug)]
struct Device {
    hostname: String,
    config: Mutex<Node>,
}

impl Device {
    fn config(&self) -> std::sync::MutexGuard<'_, Node> {
        self.config.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Applies one config line typed with `path` open; returns the new path.
    fn apply(&self, path: &[String], line: &str) -> Vec<String> {
        let mut path = path.to_vec();
        // FRR falls back to the top for a top-level section typed inside one.
        if !path.is_empty() && !opens_section(&path, line) && opens_section(&[], line) {
            path.clear();
        }
        let mut root = self.config();
        let mut node = &mut *root;
        for p in &path {
            node = node.child_mut(p);
        }
        if opens_section(&path, line) {
            node.child_mut(line);
            path.push(line.to_string());
        } else if let Some(what) = line.strip_prefix("no ") {
            // `no neighbor A remote-as N` deletes neighbour A altogether.
            let what = match what.split_whitespace().collect::<Vec<_>>()[..] {
                ["neighbor", addr, "remote-as", ..] => format!("neighbor {addr}"),
                _ => what.to_string(),
            };
            node.children
                .retain(|c| c.text != what && !c.text.starts_with(&format!("{what} ")));
        } else if !node.children.iter().any(|c| c.text == line) {
            let lineage = |text: &str| {
                let mut l = path.clone();
                l.push(text.to_string());
                FRR.idempotent_key(&l)
            };
            let key = lineage(line);
            match node
                .children
                .iter_mut()
                .find(|c| key.is_some() && lineage(&c.text) == key)
            {
                Some(old) => old.text = line.to_string(),
                None => node.child_mut(line).text = line.to_string(),
            }
        }
        path
    }

    /// `show running-config`, laid out as FRR 8.4 prints it.
    fn show_running(&self) -> String {
        let root = self.config();
        let mut out = format!(
            "Building configuration...\n\nCurrent configuration:\n!\nfrr version 8.4.4-naas-fake\nfrr defaults traditional\nhostname {}\n!\n",
            self.hostname
        );
        let is_section = |n: &Node| opens_section(&[], &n.text);
        for n in root.children.iter().filter(|n| !is_section(n)) {
            out.push_str(&format!("{}\n", n.text));
        }
        for s in root.children.iter().filter(|n| is_section(n)) {
            out.push_str(&format!("{}\n", s.text));
            for c in &s.children {
                out.push_str(&format!(" {}\n", c.text));
                if opens_section(std::slice::from_ref(&s.text), &c.text) {
                    for l in &c.children {
                        out.push_str(&format!("  {}\n", l.text));
                    }
                    out.push_str(" exit-address-family\n");
                }
            }
            out.push_str("exit\n!\n");
        }
        out.push_str("end\n");
        out
    }
}

/// One login's shell: its mode and unfinished input.
struct Login {
    device: Arc<Device>,
    /// Waited before each answer.
    think: Duration,
    /// `None` in exec mode; the open section lines in config mode.
    config_path: Option<Vec<String>>,
    input: Vec<u8>,
}

impl Login {
    fn prompt(&self) -> String {
        let host = &self.device.hostname;
        match self.config_path.as_deref() {
            None => format!("{host}# "),
            Some([]) => format!("{host}(config)# "),
            Some([.., last]) => format!("{host}({})# ", mode_name(last)),
        }
    }

    /// Runs one typed line; the answer, and whether the shell ends.
    fn run(&mut self, line: &str) -> (String, bool) {
        let line = line.trim();
        let path = self.config_path.take();
        let (answer, next, quit) = match (path, line) {
            (path, "") => (String::new(), path, false),
            (_, "end") => (String::new(), None, false),
            (None, "exit" | "quit") => (String::new(), None, true),
            (None, "configure terminal" | "configure" | "conf t") => {
                (String::new(), Some(Vec::new()), false)
            }
            (None, l) if l.starts_with("terminal ") => (String::new(), None, false),
            (None, "show running-config" | "show run") => (self.device.show_running(), None, false),
            (None, "write memory" | "write" | "copy running-config startup-config") => (
                "Building Configuration...\nIntegrated configuration saved to /etc/frr/frr.conf\n[OK]\n"
                    .into(),
                None,
                false,
            ),
            (None, l) => (format!("% Unknown command: {l}\n"), None, false),
            (Some(p), "exit") if p.is_empty() => (String::new(), None, false),
            (Some(mut p), "exit" | "exit-address-family" | "exit-vrf") => {
                p.pop();
                (String::new(), Some(p), false)
            }
            (Some(p), l) => (String::new(), Some(self.device.apply(&p, l)), false),
        };
        self.config_path = next;
        (answer, quit)
    }
}

impl Login {
    async fn wait(&self) {
        if !self.think.is_zero() {
            tokio::time::sleep(self.think).await;
        }
    }
}

impl Handler for Login {
    type Error = russh::Error;

    async fn auth_password(&mut self, user: &str, password: &str) -> Result<Auth, Self::Error> {
        Ok(if user == USER && password == PASSWORD {
            Auth::Accept
        } else {
            Auth::reject()
        })
    }

    async fn channel_open_session(
        &mut self,
        _channel: Channel<Msg>,
        reply: ChannelOpenHandle,
        _session: &mut Session,
    ) -> Result<(), Self::Error> {
        reply.accept().await;
        Ok(())
    }

    async fn pty_request(
        &mut self,
        channel: ChannelId,
        _term: &str,
        _cols: u32,
        _rows: u32,
        _pix_width: u32,
        _pix_height: u32,
        _modes: &[(russh::Pty, u32)],
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        session.channel_success(channel)
    }

    async fn shell_request(
        &mut self,
        channel: ChannelId,
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        session.channel_success(channel)?;
        self.wait().await;
        let banner = format!(
            "\r\nHello, this is FRRouting (version 8.4.4).\r\nCopyright 1996-2005 Kunihiro Ishiguro, et al.\r\n\r\n{}",
            self.prompt()
        );
        session.data(channel, banner.into_bytes())
    }

    async fn data(
        &mut self,
        channel: ChannelId,
        data: &[u8],
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        self.input.extend_from_slice(data);
        while let Some(end) = self.input.iter().position(|&b| b == b'\n' || b == b'\r') {
            let raw: Vec<u8> = self.input.drain(..=end).collect();
            // CR LF is one Enter.
            if raw[end] == b'\r' && self.input.first() == Some(&b'\n') {
                self.input.remove(0);
            }
            let line = String::from_utf8_lossy(&raw[..end]).into_owned();
            // The terminal echoes the line, then vtysh answers and prompts.
            let (answer, quit) = self.run(&line);
            self.wait().await;
            let mut out = format!("{line}\r\n");
            out.push_str(&answer.replace('\n', "\r\n"));
            if quit {
                session.data(channel, out.into_bytes())?;
                session.eof(channel)?;
                return session.close(channel);
            }
            out.push_str(&self.prompt());
            session.data(channel, out.into_bytes())?;
        }
        Ok(())
    }
}

/// One fake device serving SSH on 127.0.0.1 (see the module doc); stops listening on drop.
pub struct FakeCli {
    device: Arc<Device>,
    /// Its port on 127.0.0.1.
    pub port: u16,
    /// Its host key, as an OpenSSH public key line.
    pub host_key: String,
    accept: JoinHandle<()>,
}

impl FakeCli {
    /// Starts a device named `hostname` answering after `think`, served on the runtime `rt`.
    ///
    /// # Panics
    /// When no port on 127.0.0.1 can be bound.
    pub fn start(hostname: &str, think: Duration, rt: &tokio::runtime::Handle) -> Self {
        // 32 seed bytes from the process's random hash keys: a key per endpoint and run.
        let state = RandomState::new();
        let mut seed = [0u8; 32];
        for (i, chunk) in seed.chunks_mut(8).enumerate() {
            chunk.copy_from_slice(&state.hash_one((hostname, i)).to_le_bytes());
        }
        let key = PrivateKey::from(Ed25519Keypair::from_seed(&seed));
        let host_key = key.public_key().to_openssh().expect("encode the host key");
        let defaults = Preferred::default();
        let openssh_9_2 = defaults
            .kex
            .iter()
            .filter(|k| **k != kex::MLKEM768X25519_SHA256)
            .cloned()
            .collect::<Vec<_>>();
        let config = Arc::new(russh::server::Config {
            keys: vec![key],
            preferred: Preferred {
                kex: openssh_9_2.into(),
                ..defaults
            },
            nodelay: true,
            ..russh::server::Config::default()
        });
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        listener.set_nonblocking(true).expect("non-blocking socket");
        let port = listener.local_addr().expect("local address").port();
        let device = Arc::new(Device {
            hostname: hostname.to_string(),
            config: Mutex::new(Node::default()),
        });
        let served = device.clone();
        let accept = rt.spawn(async move {
            let listener = tokio::net::TcpListener::from_std(listener).expect("tokio listener");
            while let Ok((socket, _)) = listener.accept().await {
                let _ = socket.set_nodelay(true);
                let login = Login {
                    device: served.clone(),
                    think,
                    config_path: None,
                    input: Vec::new(),
                };
                let config = config.clone();
                tokio::spawn(async move {
                    // A client that goes away ends its session: nothing to report.
                    if let Ok(session) = russh::server::run_stream(config, socket, login).await {
                        let _ = session.await;
                    }
                });
            }
        });
        Self {
            device,
            port,
            host_key,
            accept,
        }
    }

    /// A target for `device` on this endpoint: platform `frr`, the password, the host key checked.
    #[must_use]
    pub fn target(&self, device: &str) -> Target {
        Target {
            device: device.into(),
            address: "127.0.0.1".into(),
            port: self.port,
            platform: "frr".into(),
            username: USER.into(),
            secret: Secret::Password(PASSWORD.into()),
            host_key: Some(self.host_key.clone()),
        }
    }

    /// What `show running-config` prints now.
    #[must_use]
    pub fn running(&self) -> String {
        self.device.show_running()
    }
}

impl Drop for FakeCli {
    fn drop(&mut self) {
        self.accept.abort();
    }
}
