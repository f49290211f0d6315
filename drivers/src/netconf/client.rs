//! One NETCONF session over a byte stream: the hello exchange, framing choice, RPCs with timeouts and message-id matching.
//!
//! Generic over the stream so the protocol is tested without a server
//! (`tokio::io::duplex`); the driver gives it the SSH `netconf` subsystem
//! channel. One RPC is outstanding at a time; a reply whose `message-id` is
//! older than the RPC in flight (the late answer to one that timed out) is
//! skipped, any other mismatch ends the session.

use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use crate::DriverError;

use super::framing::{Decoder, Framing, Limits, encode};
use super::rpc::{self, BASE_1_1, Incoming, Reply, ServerHello};

/// A NETCONF session on a stream.
pub struct Client<S> {
    stream: S,
    decoder: Decoder,
    device: String,
    timeout: Duration,
    next_id: u64,
    hello: ServerHello,
}

impl<S> std::fmt::Debug for Client<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("device", &self.device)
            .field("framing", &self.decoder.framing())
            .finish_non_exhaustive()
    }
}

fn closed(device: &str, why: impl std::fmt::Display) -> DriverError {
    DriverError::Connect {
        device: device.to_string(),
        reason: format!("NETCONF session lost: {why}"),
    }
}

/// The name [`Client::check`]'s RPC goes by in errors.
pub const SESSION_CHECK: &str = "session check";

impl<S: AsyncRead + AsyncWrite + Unpin + Send> Client<S> {
    /// Exchanges hellos within `timeout` and picks the framing (base:1.1
    /// chunks when the server offers it).
    ///
    /// # Errors
    /// [`DriverError::CommandTimeout`] (`hello`) when the server says nothing
    /// in time; [`DriverError::Connect`] when it closes or does not speak NETCONF.
    pub async fn start(
        stream: S,
        device: &str,
        timeout: Duration,
        limits: Limits,
    ) -> Result<Self, DriverError> {
        let mut client = Self {
            stream,
            decoder: Decoder::new(limits),
            device: device.to_string(),
            timeout,
            next_id: 1,
            hello: ServerHello {
                capabilities: Vec::new(),
                session_id: None,
            },
        };
        let exchange = async {
            let hello = encode(Framing::EndOfMessage, &rpc::client_hello());
            client
                .stream
                .write_all(&hello)
                .await
                .map_err(|e| closed(device, e))?;
            client.stream.flush().await.map_err(|e| closed(device, e))?;
            let text = client.read_message().await?;
            rpc::parse_hello(&text).map_err(|e| DriverError::Connect {
                device: device.to_string(),
                reason: format!("the device's NETCONF hello is not valid: {e}"),
            })
        };
        let hello = tokio::time::timeout(timeout, exchange)
            .await
            .map_err(|_| DriverError::CommandTimeout {
                device: device.to_string(),
                command: "hello".into(),
                timeout,
            })??;
        if hello.capabilities.iter().any(|c| c == BASE_1_1) {
            client.decoder.set_framing(Framing::Chunked);
        }
        client.hello = hello;
        Ok(client)
    }

    /// The server's capabilities.
    #[must_use]
    pub fn capabilities(&self) -> &[String] {
        &self.hello.capabilities
    }

    /// Whether the server advertised a capability starting with `uri`
    /// (parameters after `?` are ignored).
    #[must_use]
    pub fn supports(&self, uri: &str) -> bool {
        self.hello
            .capabilities
            .iter()
            .any(|c| c.split('?').next().unwrap_or("").starts_with(uri))
    }

    /// The framing in use.
    #[must_use]
    pub fn framing(&self) -> Framing {
        self.decoder.framing()
    }

    /// The device name, for errors.
    #[must_use]
    pub fn device(&self) -> &str {
        &self.device
    }

    /// Sends `operation` (e.g. `<lock>...</lock>`) as an RPC named `name`
    /// and waits for its reply, within the RPC timeout.
    ///
    /// # Errors
    /// [`DriverError::CommandTimeout`] naming `name`; [`DriverError::Connect`]
    /// when the session breaks. A reply with `<rpc-error>` is `Ok(Reply::Errors)`:
    /// the caller maps it in context.
    pub async fn rpc(&mut self, name: &str, operation: &str) -> Result<Reply, DriverError> {
        let id = self.next_id;
        self.next_id += 1;
        let timeout = self.timeout;
        let device = self.device.clone();
        tracing::debug!(device = %device, rpc = name, id, "netconf rpc");
        let exchange = async {
            let bytes = encode(self.decoder.framing(), &rpc::envelope(id, operation));
            self.stream
                .write_all(&bytes)
                .await
                .map_err(|e| closed(&device, e))?;
            self.stream.flush().await.map_err(|e| closed(&device, e))?;
            loop {
                let text = self.read_message().await?;
                match rpc::parse_incoming(&text).map_err(|e| closed(&device, e))? {
                    Incoming::Notification => continue,
                    Incoming::Reply(None, reply) => return Ok(reply),
                    Incoming::Reply(Some(got), reply) => {
                        if got == id.to_string() {
                            return Ok(reply);
                        }
                        match got.parse::<u64>() {
                            Ok(old) if old < id => {
                                tracing::debug!(device = %device, old, "late reply skipped");
                                continue;
                            }
                            _ => {
                                return Err(closed(
                                    &device,
                                    format!("reply to message-id {got} while waiting for {id}"),
                                ));
                            }
                        }
                    }
                }
            }
        };
        tokio::time::timeout(timeout, exchange)
            .await
            .map_err(|_| DriverError::CommandTimeout {
                device: self.device.clone(),
                command: name.to_string(),
                timeout,
            })?
    }

    /// Sends a no-op RPC (`get-config` of running, filtered to nothing) and
    /// waits `within` for its reply: any reply, data or error, shows the
    /// server reads this session's RPCs.
    ///
    /// # Errors
    /// [`DriverError::CommandTimeout`] naming [`SESSION_CHECK`]; [`DriverError::Connect`]
    /// when the session breaks.
    pub async fn check(&mut self, within: Duration) -> Result<(), DriverError> {
        let timeout = std::mem::replace(&mut self.timeout, within);
        let reply = self
            .rpc(
                SESSION_CHECK,
                r#"<get-config><source><running/></source><filter type="subtree"><naas-session-check xmlns="urn:naas:session-check"/></filter></get-config>"#,
            )
            .await;
        self.timeout = timeout;
        reply.map(|_| ())
    }

    /// Like [`Client::rpc`], mapping `<rpc-error>` to the contract's errors
    /// and returning the data of the reply.
    ///
    /// # Errors
    /// As [`Client::rpc`], plus the mapped server errors.
    pub async fn call(
        &mut self,
        name: &str,
        operation: &str,
    ) -> Result<Vec<super::xml::Element>, DriverError> {
        match self.rpc(name, operation).await? {
            Reply::Ok => Ok(Vec::new()),
            Reply::Data(d) => Ok(d),
            Reply::Errors(errors) => Err(rpc::to_driver_error(&self.device, name, &errors)),
        }
    }

    async fn read_message(&mut self) -> Result<String, DriverError> {
        let mut buf = vec![0u8; 32 * 1024];
        loop {
            if let Some(message) = self
                .decoder
                .next_message()
                .map_err(|e| closed(&self.device, e))?
            {
                return String::from_utf8(message).map_err(|_| {
                    closed(&self.device, "the device sent a message that is not UTF-8")
                });
            }
            let n = self
                .stream
                .read(&mut buf)
                .await
                .map_err(|e| closed(&self.device, e))?;
            if n == 0 {
                return Err(closed(
                    &self.device,
                    "the device closed the NETCONF channel",
                ));
            }
            self.decoder.push(&buf[..n]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::netconf::rpc::{BASE_1_0, CANDIDATE};
    use tokio::io::{AsyncBufReadExt, BufReader, DuplexStream};

    /// A scripted server: sends its hello, then answers each RPC with
    /// `answers[i]` (formatted with the request's message-id).
    async fn server(mut s: DuplexStream, base11: bool, answers: Vec<String>) {
        let caps = if base11 {
            format!(
                "<capability>{BASE_1_0}</capability><capability>{BASE_1_1}</capability><capability>{CANDIDATE}</capability>"
            )
        } else {
            format!("<capability>{BASE_1_0}</capability>")
        };
        let hello = format!(
            r#"<hello xmlns="urn:ietf:params:xml:ns:netconf:base:1.0"><capabilities>{caps}</capabilities><session-id>9</session-id></hello>"#
        );
        s.write_all(&encode(Framing::EndOfMessage, &hello))
            .await
            .unwrap();
        let mut d = Decoder::new(Limits::default());
        let mut buf = vec![0u8; 1024];
        // The client's hello.
        loop {
            let n = s.read(&mut buf).await.unwrap();
            d.push(&buf[..n]);
            if d.next_message().unwrap().is_some() {
                break;
            }
        }
        let framing = if base11 {
            Framing::Chunked
        } else {
            Framing::EndOfMessage
        };
        d.set_framing(framing);
        for answer in answers {
            let request = loop {
                if let Some(m) = d.next_message().unwrap() {
                    break String::from_utf8(m).unwrap();
                }
                let n = s.read(&mut buf).await.unwrap();
                if n == 0 {
                    return;
                }
                d.push(&buf[..n]);
            };
            let id = request
                .split("message-id=\"")
                .nth(1)
                .unwrap()
                .split('"')
                .next()
                .unwrap();
            let id: u64 = id.parse().unwrap();
            let reply = answer
                .replace("{id}", &id.to_string())
                .replace("{old}", &(id - 1).to_string());
            // NUL separates several messages in one answer; each is split in
            // two writes to exercise partial reads.
            for message in reply.split('\0') {
                let bytes = encode(framing, message);
                let (a, b) = bytes.split_at(bytes.len() / 2);
                s.write_all(a).await.unwrap();
                s.flush().await.unwrap();
                s.write_all(b).await.unwrap();
            }
        }
        // Keep the stream open until the client goes away.
        let _ = BufReader::new(s).lines().next_line().await;
    }

    fn reply(body: &str, id: &str) -> String {
        format!(
            r#"<rpc-reply xmlns="urn:ietf:params:xml:ns:netconf:base:1.0" message-id="{id}">{body}</rpc-reply>"#
        )
    }

    #[tokio::test]
    async fn chunked_session_matches_message_ids_and_skips_late_replies() {
        let (c, s) = tokio::io::duplex(1 << 16);
        let notification = r#"<notification xmlns="urn:ietf:params:xml:ns:netconf:notification:1.0"><eventTime>2026-12-01T00:00:00Z</eventTime></notification>"#;
        let answers = vec![
            reply("<ok/>", "{id}"),
            // A late reply to an earlier RPC and a notification, then ours.
            format!(
                "{}\0{notification}\0{}",
                reply("<ok/>", "{old}"),
                reply("<data><x xmlns=\"urn:x\">mine</x></data>", "{id}")
            ),
            // Only a late reply: not ours.
            reply("<ok/>", "{old}"),
        ];
        tokio::spawn(server(s, true, answers));
        let mut client = Client::start(c, "r1", Duration::from_secs(2), Limits::default())
            .await
            .unwrap();
        assert_eq!(client.framing(), Framing::Chunked);
        assert!(client.supports(CANDIDATE));
        assert_eq!(client.rpc("lock", "<lock/>").await.unwrap(), Reply::Ok);
        let data = client.call("get-config", "<get-config/>").await.unwrap();
        assert_eq!(data[0].text, "mine");
        // The third answer only carries an old id: the client keeps waiting
        // and times out naming the RPC.
        let e = tokio::time::timeout(Duration::from_secs(10), client.rpc("commit", "<commit/>"))
            .await
            .unwrap();
        assert!(
            matches!(&e, Err(DriverError::CommandTimeout { device, command, .. }) if device == "r1" && command == "commit"),
            "{e:?}"
        );
    }

    #[tokio::test]
    async fn a_session_check_passes_on_any_reply_and_names_itself_when_none_comes() {
        // Any reply, an error included, shows the server reads the session.
        let (c, s) = tokio::io::duplex(1 << 16);
        let unknown = reply(
            "<rpc-error><error-type>application</error-type><error-tag>unknown-namespace</error-tag><error-severity>error</error-severity></rpc-error>",
            "{id}",
        );
        tokio::spawn(server(s, true, vec![unknown, reply("<ok/>", "{id}")]));
        let mut client = Client::start(c, "r3", Duration::from_secs(5), Limits::default())
            .await
            .unwrap();
        client.check(Duration::from_secs(5)).await.unwrap();
        assert_eq!(client.rpc("lock", "<lock/>").await.unwrap(), Reply::Ok);

        // A server that lost the session (it answers only an older id): the
        // check times out, naming itself, after `within`, and the RPC
        // timeout is the client's again.
        let (c, s) = tokio::io::duplex(1 << 16);
        tokio::spawn(server(s, true, vec![reply("<ok/>", "{old}")]));
        let mut client = Client::start(c, "r4", Duration::from_secs(60), Limits::default())
            .await
            .unwrap();
        let e = tokio::time::timeout(
            Duration::from_secs(30),
            client.check(Duration::from_millis(200)),
        )
        .await
        .expect("the check ends after its own deadline");
        assert!(
            matches!(&e, Err(DriverError::CommandTimeout { command, timeout, .. }) if command == SESSION_CHECK && *timeout == Duration::from_millis(200)),
            "{e:?}"
        );
        assert_eq!(client.timeout, Duration::from_secs(60));
    }

    #[tokio::test]
    async fn base10_session_maps_rpc_errors() {
        let (c, s) = tokio::io::duplex(1 << 16);
        let err = reply(
            "<rpc-error><error-type>protocol</error-type><error-tag>lock-denied</error-tag><error-severity>error</error-severity><error-message>lock denied</error-message></rpc-error>",
            "{id}",
        );
        tokio::spawn(server(
            s,
            false,
            vec![err, reply("<data><x xmlns=\"urn:x\">1</x></data>", "{id}")],
        ));
        let mut client = Client::start(c, "r2", Duration::from_secs(5), Limits::default())
            .await
            .unwrap();
        assert_eq!(client.framing(), Framing::EndOfMessage);
        assert!(!client.supports(CANDIDATE));
        assert_eq!(
            client.call("lock", "<lock/>").await.unwrap_err(),
            DriverError::LockHeld {
                device: "r2".into()
            }
        );
        let data = client.call("get-config", "<get-config/>").await.unwrap();
        assert_eq!(data[0].text, "1");
    }

    #[tokio::test]
    async fn silent_server_times_out_the_hello_and_wrong_id_ends_the_session() {
        let (c, _s) = tokio::io::duplex(1 << 16);
        let e = Client::start(c, "r3", Duration::from_millis(200), Limits::default())
            .await
            .unwrap_err();
        assert!(
            matches!(e, DriverError::CommandTimeout { ref command, .. } if command == "hello"),
            "{e:?}"
        );

        let (c, s) = tokio::io::duplex(1 << 16);
        tokio::spawn(server(s, true, vec![reply("<ok/>", "999")]));
        let mut client = Client::start(c, "r3", Duration::from_secs(5), Limits::default())
            .await
            .unwrap();
        let e = client.rpc("lock", "<lock/>").await.unwrap_err();
        assert!(e.to_string().contains("message-id 999"), "{e}");
    }
}
