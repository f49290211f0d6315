//! The NETCONF driver (RFC 6241 over the SSH `netconf` subsystem, RFC 6242), on the shared [`crate::ssh`] layer.
//!
//! Config is XML: a load's text is a fragment (the children of `<config>`),
//! e.g. `<interfaces xmlns="urn:ietf:params:xml:ns:yang:ietf-interfaces">...`.
//! A `Merge` load is a merge `<edit-config>`; a `Replace` load merges the
//! candidate and removes, with `nc:operation="remove"`, exactly the elements
//! of `applied` the candidate no longer has (list entries matched by key, see
//! [`edit`]); nothing naas never applied is touched. See [`session`] for the
//! datastore handling (candidate with lock, or running).
//!
//! # Why our own protocol code and not a NETCONF crate
//! Evaluated in November 2026 against the real server (Debian `netconfd`,
//! yuma123 2.13) before writing this:
//! - `netconf-async` 0.1 pins russh 0.63 with its default features, which
//!   pull aws-lc-rs (a C build) next to our russh 0.65 on ring: rejected.
//! - `rustnetconf` 0.19.1 does build on russh 0.65 with ring, and against
//!   netconfd it did hello/base:1.1, lock, edit-config, confirmed commit,
//!   cancel-commit and typed `<rpc-error>`s, with an RPC timeout and bounded
//!   reads. But it opens its own SSH connection: the driver could not use the
//!   shared `ssh` layer (host key as an OpenSSH line, typed connect errors,
//!   the same behaviour as the CLI driver), it reads private keys only from a
//!   file path (naas holds them in memory and will not write secrets to disk),
//!   checks host keys only by fingerprint or known_hosts, has no connect
//!   timeout of its own, and brings ~24k lines and tokio "full".
//!
//! So the framing ([`framing`], bounded), the messages ([`rpc`]) and the
//! session ([`client`]) are written here (about 1,600 lines with their docs,
//! tests apart) on `roxmltree` (which refuses DTDs, so a device cannot make
//! it expand entities), over the subsystem channel of
//! [`crate::ssh::Connection`].
//!
//! Server behaviour learnt on yuma123 2.13: a `<commit>` right after a
//! `<validate>` answers `<ok/>` but applies nothing, so commits are not
//! preceded by a validate (a commit validates anyway); a candidate holding
//! another client's unlocked edits cannot be locked until discarded.

pub mod client;
pub mod edit;
pub mod framing;
pub mod rpc;
pub mod session;
pub mod xml;

use std::time::Duration;

use async_trait::async_trait;

use crate::ssh::{self, SshOptions};
use crate::{Driver, DriverError, Session, Target};

pub use framing::Limits;
pub use session::NetconfSession;

/// Timeouts and size limits of the NETCONF driver.
#[derive(Debug, Clone)]
pub struct NetconfOptions {
    /// SSH connect, handshake and login.
    pub ssh: SshOptions,
    /// The hello exchange and every RPC.
    pub rpc_timeout: Duration,
    /// Bounds on what the device may send.
    pub limits: Limits,
}

impl Default for NetconfOptions {
    fn default() -> Self {
        Self {
            ssh: SshOptions::default(),
            rpc_timeout: Duration::from_secs(60),
            limits: Limits::default(),
        }
    }
}

/// Opens NETCONF sessions over SSH.
#[derive(Debug, Clone, Default)]
pub struct NetconfDriver {
    options: NetconfOptions,
}

/// The session type the driver opens (on the SSH subsystem channel).
pub type SshNetconfSession = NetconfSession<russh::ChannelStream<russh::client::Msg>>;

impl NetconfDriver {
    /// A driver with these options.
    #[must_use]
    pub fn new(options: NetconfOptions) -> Self {
        Self { options }
    }

    /// Connects, opens the `netconf` subsystem, exchanges hellos and checks
    /// that the server answers the session's RPCs.
    ///
    /// A server can miss the first RPC of a session: yuma123's netconfd,
    /// when that RPC reaches it together with the client's hello, reads it
    /// with the hello's framing and never answers (seen about once in a
    /// hundred sessions on a loaded machine). So a no-op RPC goes first; a
    /// session that does not answer it within [`FIRST_REPLY`] (or the RPC
    /// timeout, if shorter) is dropped and opened anew, once.
    ///
    /// # Errors
    /// [`DriverError::Connect`] / [`DriverError::HostKeyMismatch`] from the SSH
    /// layer; [`DriverError::CommandTimeout`] (`hello`, or `session check`
    /// when the second session does not answer either) when the device says
    /// nothing in time.
    pub async fn connect(&self, target: &Target) -> Result<SshNetconfSession, DriverError> {
        let first = self.options.rpc_timeout.min(FIRST_REPLY);
        match self.connect_checked(target, first).await {
            Err(DriverError::CommandTimeout { command, .. })
                if command == client::SESSION_CHECK =>
            {
                tracing::warn!(device = %target.device, "the NETCONF session did not answer its first RPC within {first:?}; opening another");
                self.connect_checked(target, self.options.rpc_timeout).await
            }
            other => other,
        }
    }

    async fn connect_checked(
        &self,
        target: &Target,
        within: Duration,
    ) -> Result<SshNetconfSession, DriverError> {
        let connection = ssh::connect(target, &self.options.ssh).await?;
        let channel = connection.subsystem("netconf").await?;
        let mut client = client::Client::start(
            channel.into_stream(),
            &target.device,
            self.options.rpc_timeout,
            self.options.limits,
        )
        .await?;
        client.check(within).await?;
        Ok(NetconfSession::new(client, Some(Box::new(connection))))
    }
}

/// How long the first reply of a NETCONF session may take before the
/// session is taken for one the server lost (see [`NetconfDriver::connect`]).
pub const FIRST_REPLY: Duration = Duration::from_secs(5);

#[async_trait]
impl Driver for NetconfDriver {
    async fn open(&self, target: &Target) -> Result<Box<dyn Session>, DriverError> {
        Ok(Box::new(self.connect(target).await?))
    }
}
