//! The shared SSH connection layer: connect with host-key verification and auth, open shell and subsystem channels.
//!
//! Both SSH drivers (CLI and NETCONF) connect through [`connect`]: it opens a
//! TCP connection within [`SshOptions::connect_timeout`], verifies the
//! server's host key against [`Target::host_key`] (an OpenSSH public key
//! line; `None` means the Device explicitly skips verification), logs in with
//! the [`Secret`] (password or OpenSSH private key) and returns a
//! [`Connection`]. Every failure is a typed [`DriverError`] naming the device
//! and saying what to check. Secrets are never logged or printed.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use russh::client::{self, Handle, Msg};
use russh::keys::{HashAlg, PrivateKeyWithHashAlg, PublicKey, PublicKeyOrCertificate};
use russh::{Channel, ChannelMsg};

use crate::{DriverError, Secret, Target};

/// How to connect: timeouts and keepalives.
#[derive(Debug, Clone)]
pub struct SshOptions {
    /// Bound on TCP connect + SSH handshake + authentication.
    pub connect_timeout: Duration,
    /// Keepalive interval once connected (`None`: none).
    pub keepalive: Option<Duration>,
}

impl Default for SshOptions {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(10),
            keepalive: Some(Duration::from_secs(30)),
        }
    }
}

/// The SHA256 fingerprint (`SHA256:...`) of an OpenSSH public key line
/// (`ssh-ed25519 AAAA... [comment]`).
///
/// # Errors
/// A message saying the line is not an OpenSSH public key.
pub fn fingerprint(key_line: &str) -> Result<String, String> {
    parse_key_line(key_line).map(|k| k.fingerprint(HashAlg::Sha256).to_string())
}

/// Parses an OpenSSH public key line (algorithm, base64, optional comment).
fn parse_key_line(line: &str) -> Result<PublicKey, String> {
    let mut words = line.split_whitespace();
    let first = words.next().ok_or("the host key is empty")?;
    let b64 = words.next().unwrap_or(first);
    russh::keys::parse_public_key_base64(b64).map_err(|e| {
        format!("the host key is not an OpenSSH public key line (\"ssh-ed25519 AAAA...\"): {e}")
    })
}

/// What the handler saw of the server's key, read after a failed handshake.
#[derive(Default)]
struct Seen {
    found: Option<String>,
}

/// The russh client handler: verifies the host key.
struct Verifier {
    expected: Option<PublicKey>,
    seen: Arc<Mutex<Seen>>,
}

impl client::Handler for Verifier {
    type Error = russh::Error;

    async fn check_server_key(
        &mut self,
        key: &PublicKeyOrCertificate,
    ) -> Result<bool, Self::Error> {
        let PublicKeyOrCertificate::PublicKey { key, .. } = key else {
            // Certificates are not part of the Device contract: only plain keys.
            return Ok(false);
        };
        self.seen
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .found = Some(key.fingerprint(HashAlg::Sha256).to_string());
        Ok(match &self.expected {
            None => true,
            Some(expected) => expected.key_data() == key.key_data(),
        })
    }
}

/// An authenticated SSH connection to one device.
pub struct Connection {
    handle: Handle<Verifier>,
    device: String,
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connection")
            .field("device", &self.device)
            .finish_non_exhaustive()
    }
}

fn connect_error(device: &str, reason: impl Into<String>) -> DriverError {
    DriverError::Connect {
        device: device.to_string(),
        reason: reason.into(),
    }
}

/// Connects to `target`, verifies its host key and logs in.
///
/// # Errors
/// [`DriverError::HostKeyMismatch`] when the server's key is not
/// `target.host_key` (both SHA256 fingerprints); [`DriverError::Connect`]
/// when the connection is refused, times out, is closed, or the login fails.
pub async fn connect(target: &Target, options: &SshOptions) -> Result<Connection, DriverError> {
    let device = target.device.as_str();
    let expected =
        match &target.host_key {
            Some(line) => Some(parse_key_line(line).map_err(|e| {
                connect_error(device, format!("{e}; fix spec.hostKey of the Device"))
            })?),
            None => None,
        };
    let seen = Arc::new(Mutex::new(Seen::default()));
    let handler = Verifier {
        expected: expected.clone(),
        seen: seen.clone(),
    };
    let config = Arc::new(client::Config {
        keepalive_interval: options.keepalive,
        nodelay: true,
        ..client::Config::default()
    });
    let addr = format!("{}:{}", target.address, target.port);
    let timeout = options.connect_timeout;
    let attempt = async {
        let handle = client::connect(config, addr.as_str(), handler)
            .await
            .map_err(|e| handshake_error(target, e, expected.as_ref(), &seen))?;
        login(target, handle).await
    };
    match tokio::time::timeout(timeout, attempt).await {
        Ok(r) => r,
        Err(_) => Err(connect_error(
            device,
            format!(
                "no SSH login at {addr} within {timeout:?}: check the address, port and that the device answers SSH"
            ),
        )),
    }
}

/// Maps a handshake failure to a typed error.
fn handshake_error(
    target: &Target,
    e: russh::Error,
    expected: Option<&PublicKey>,
    seen: &Mutex<Seen>,
) -> DriverError {
    let device = target.device.as_str();
    let addr = format!("{}:{}", target.address, target.port);
    if let (russh::Error::UnknownKey, Some(expected)) = (&e, expected) {
        let found = seen
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .found
            .clone()
            .unwrap_or_else(|| "a certificate".into());
        return DriverError::HostKeyMismatch {
            device: device.to_string(),
            expected: expected.fingerprint(HashAlg::Sha256).to_string(),
            found,
        };
    }
    let reason = match &e {
        russh::Error::IO(io) if io.kind() == std::io::ErrorKind::ConnectionRefused => {
            format!("connection refused at {addr}: is SSH enabled on that port?")
        }
        russh::Error::IO(io)
            if matches!(
                io.kind(),
                std::io::ErrorKind::ConnectionReset
                    | std::io::ErrorKind::ConnectionAborted
                    | std::io::ErrorKind::UnexpectedEof
                    | std::io::ErrorKind::BrokenPipe
            ) =>
        {
            format!("the device at {addr} closed the connection during the SSH handshake ({io})")
        }
        russh::Error::IO(io) => format!("network error reaching {addr}: {io}"),
        russh::Error::Disconnect | russh::Error::HUP | russh::Error::RecvError => {
            format!("the device at {addr} closed the connection during the SSH handshake")
        }
        russh::Error::Version => format!("{addr} does not speak SSH (bad version string)"),
        other => format!("SSH handshake with {addr} failed: {other}"),
    };
    connect_error(device, reason)
}

/// Authenticates on a fresh handle.
async fn login(target: &Target, mut handle: Handle<Verifier>) -> Result<Connection, DriverError> {
    let device = target.device.as_str();
    let user = target.username.as_str();
    let closed = |e: russh::Error| {
        connect_error(
            device,
            format!("the connection closed during login as {user:?}: {e}"),
        )
    };
    let result = match &target.secret {
        Secret::Password(password) => handle
            .authenticate_password(user, password.as_str())
            .await
            .map_err(closed)?,
        Secret::PrivateKey(pem) => {
            let key = russh::keys::decode_secret_key(pem, None).map_err(|e| {
                connect_error(
                    device,
                    format!(
                        "the private key in the Device's secret cannot be read ({e}): use an unencrypted OpenSSH private key"
                    ),
                )
            })?;
            let hash = handle
                .best_supported_rsa_hash()
                .await
                .map_err(closed)?
                .flatten();
            handle
                .authenticate_publickey(user, PrivateKeyWithHashAlg::new(Arc::new(key), hash))
                .await
                .map_err(closed)?
        }
    };
    if !result.success() {
        let how = match target.secret {
            Secret::Password(_) => "password",
            Secret::PrivateKey(_) => "private key",
        };
        return Err(connect_error(
            device,
            format!(
                "authentication failed for user {user:?} ({how}): check the credentials secret of the Device"
            ),
        ));
    }
    Ok(Connection {
        handle,
        device: device.to_string(),
    })
}

impl Connection {
    /// The device this connection reaches.
    #[must_use]
    pub fn device(&self) -> &str {
        &self.device
    }

    /// Whether the connection is closed.
    #[must_use]
    pub fn is_closed(&self) -> bool {
        self.handle.is_closed()
    }

    async fn session_channel(&self) -> Result<Channel<Msg>, DriverError> {
        self.handle.channel_open_session().await.map_err(|e| {
            connect_error(
                &self.device,
                format!("the device refused a session channel: {e}"),
            )
        })
    }

    /// Opens an interactive shell channel, with a pseudo-terminal when `pty`
    /// (some CLIs only prompt with one; 200 columns so lines do not wrap).
    ///
    /// # Errors
    /// [`DriverError::Connect`] when the device refuses the channel.
    pub async fn shell(&self, pty: bool) -> Result<Channel<Msg>, DriverError> {
        let channel = self.session_channel().await?;
        let refused = |e: russh::Error| {
            connect_error(&self.device, format!("the device refused a shell: {e}"))
        };
        if pty {
            channel
                .request_pty(true, "vt100", 200, 24, 0, 0, &[])
                .await
                .map_err(refused)?;
        }
        channel.request_shell(true).await.map_err(refused)?;
        Ok(channel)
    }

    /// Opens a subsystem channel (`netconf`) and waits for the device to accept it.
    ///
    /// # Errors
    /// [`DriverError::Connect`] when the device refuses the subsystem.
    pub async fn subsystem(&self, name: &str) -> Result<Channel<Msg>, DriverError> {
        let mut channel = self.session_channel().await?;
        channel.request_subsystem(true, name).await.map_err(|e| {
            connect_error(
                &self.device,
                format!("the device refused subsystem {name:?}: {e}"),
            )
        })?;
        loop {
            match channel.wait().await {
                Some(ChannelMsg::Success) => return Ok(channel),
                Some(ChannelMsg::Failure) | Some(ChannelMsg::Close) | None => {
                    return Err(connect_error(
                        &self.device,
                        format!("the device refused subsystem {name:?}: is it enabled?"),
                    ));
                }
                Some(_) => {}
            }
        }
    }

    /// Closes the connection politely.
    pub async fn close(self) {
        // The device may already be gone; closing is best effort.
        let _ = self
            .handle
            .disconnect(russh::Disconnect::ByApplication, "naas done", "en")
            .await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprints_an_openssh_line_and_rejects_garbage() {
        let line =
            "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJdD7y3aLq454yWBdwLWbieU1ebz9/cu7/QEXn9OIeZJ test";
        let fp = fingerprint(line).unwrap();
        assert!(fp.starts_with("SHA256:"), "{fp}");
        assert_eq!(fingerprint(line.trim_end_matches(" test")).unwrap(), fp);
        assert!(fingerprint("ssh-ed25519 notbase64!").is_err());
        assert!(fingerprint("").is_err());
    }

    #[tokio::test]
    async fn refused_and_bad_host_key_name_the_device() {
        // A port nobody listens on: bind, read the port, drop the listener.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut target = Target {
            device: "leaf9".into(),
            address: "127.0.0.1".into(),
            port,
            platform: "frr".into(),
            username: "u".into(),
            secret: Secret::Password("hunter2".into()),
            host_key: None,
        };
        let e = connect(&target, &SshOptions::default()).await.unwrap_err();
        let text = e.to_string();
        assert!(text.contains("leaf9") && text.contains("refused"), "{text}");
        assert!(!text.contains("hunter2"));
        target.host_key = Some("ssh-ed25519 garbage!".into());
        let e = connect(&target, &SshOptions::default()).await.unwrap_err();
        assert!(e.to_string().contains("spec.hostKey"), "{e}");
    }
}
