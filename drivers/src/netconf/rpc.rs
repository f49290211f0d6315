//! NETCONF messages: the hello, RPC envelopes, replies and `<rpc-error>` mapped to typed [`DriverError`]s.

use crate::DriverError;

use super::xml::{self, Element, NC_NS};

/// base:1.0 capability.
pub const BASE_1_0: &str = "urn:ietf:params:netconf:base:1.0";
/// base:1.1 capability (chunked framing).
pub const BASE_1_1: &str = "urn:ietf:params:netconf:base:1.1";
/// `:candidate` capability.
pub const CANDIDATE: &str = "urn:ietf:params:netconf:capability:candidate:1.0";
/// `:confirmed-commit` capability prefix (1.0 or 1.1).
pub const CONFIRMED_COMMIT: &str = "urn:ietf:params:netconf:capability:confirmed-commit:";
/// `:rollback-on-error` capability.
pub const ROLLBACK_ON_ERROR: &str = "urn:ietf:params:netconf:capability:rollback-on-error:1.0";

/// Our hello: base:1.0 and base:1.1.
#[must_use]
pub fn client_hello() -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?><hello xmlns="{NC_NS}"><capabilities><capability>{BASE_1_0}</capability><capability>{BASE_1_1}</capability></capabilities></hello>"#
    )
}

/// The server's hello: its capabilities and session id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerHello {
    /// Capability URIs as sent.
    pub capabilities: Vec<String>,
    /// The session id it gave us.
    pub session_id: Option<u32>,
}

/// Parses the server's `<hello>`.
///
/// # Errors
/// A message when it is not a NETCONF hello.
pub fn parse_hello(text: &str) -> Result<ServerHello, String> {
    let root = xml::parse_document(text.trim())?;
    if root.name != "hello" || root.ns != NC_NS {
        return Err(format!("expected <hello>, got <{}>", root.name));
    }
    let capabilities = root
        .child("capabilities")
        .map(|c| {
            c.children
                .iter()
                .filter(|c| c.name == "capability")
                .map(|c| c.text.clone())
                .collect()
        })
        .unwrap_or_default();
    let session_id = root.child("session-id").and_then(|s| s.text.parse().ok());
    Ok(ServerHello {
        capabilities,
        session_id,
    })
}

/// Wraps an operation in `<rpc message-id=...>`.
#[must_use]
pub fn envelope(message_id: u64, operation: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?><rpc xmlns="{NC_NS}" message-id="{message_id}">{operation}</rpc>"#
    )
}

/// One `<rpc-error>` as the server sent it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RpcError {
    /// `error-type`: transport, rpc, protocol, application.
    pub error_type: String,
    /// `error-tag`: `lock-denied`, `invalid-value`, ...
    pub tag: String,
    /// `error-severity`: error or warning.
    pub severity: String,
    /// `error-app-tag`.
    pub app_tag: String,
    /// `error-path`: the XPath of the offending node.
    pub path: String,
    /// `error-message`: the server's words.
    pub message: String,
    /// `bad-element`, `bad-value`... from `error-info`.
    pub info: Vec<(String, String)>,
}

impl RpcError {
    /// "message (tag; bad-value maybe)".
    #[must_use]
    pub fn describe(&self) -> String {
        let mut out = if self.message.is_empty() {
            self.tag.clone()
        } else {
            self.message.clone()
        };
        let mut extra = vec![self.tag.clone()];
        extra.extend(
            self.info
                .iter()
                .filter(|(k, _)| k.starts_with("bad-") || k == "session-id")
                .map(|(k, v)| format!("{k} {v}")),
        );
        out.push_str(&format!(" ({})", extra.join("; ")));
        out
    }

    /// What it names in the config: the error path without the RPC's own
    /// prefix (`/nc:rpc/nc:edit-config/nc:config`), else the bad element.
    #[must_use]
    pub fn location(&self) -> String {
        let path = self.path.trim();
        if let Some(i) = path.find("/nc:config/") {
            return path[i + "/nc:config".len()..].to_string();
        }
        if !path.is_empty() {
            return path.to_string();
        }
        self.info
            .iter()
            .find(|(k, _)| k == "bad-element")
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    }
}

/// What an `<rpc-reply>` holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    /// `<ok/>` (or only warnings).
    Ok,
    /// `<data>` children, or whatever other content the reply had.
    Data(Vec<Element>),
    /// One or more `<rpc-error>` of severity error.
    Errors(Vec<RpcError>),
}

/// A parsed message from the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Incoming {
    /// A reply, with its `message-id` when it has one.
    Reply(Option<String>, Reply),
    /// A `<notification>` (ignored by the driver).
    Notification,
}

/// Parses a message from the server.
///
/// # Errors
/// A message when it is not well-formed XML or not a NETCONF message.
pub fn parse_incoming(text: &str) -> Result<Incoming, String> {
    let root = xml::parse_document(text.trim())?;
    if root.name == "notification" {
        return Ok(Incoming::Notification);
    }
    if root.name != "rpc-reply" || root.ns != NC_NS {
        return Err(format!("expected <rpc-reply>, got <{}>", root.name));
    }
    let id = root
        .attrs
        .get(&(String::new(), "message-id".to_string()))
        .cloned();
    let errors: Vec<RpcError> = root
        .children
        .iter()
        .filter(|c| c.name == "rpc-error")
        .map(rpc_error)
        .collect();
    let fatal: Vec<RpcError> = errors
        .into_iter()
        .filter(|e| e.severity != "warning")
        .collect();
    let reply = if !fatal.is_empty() {
        Reply::Errors(fatal)
    } else if root.child("ok").is_some() {
        Reply::Ok
    } else if let Some(data) = root.child("data") {
        Reply::Data(data.children.clone())
    } else {
        let rest: Vec<Element> = root
            .children
            .iter()
            .filter(|c| c.name != "rpc-error")
            .cloned()
            .collect();
        if rest.is_empty() {
            Reply::Ok
        } else {
            Reply::Data(rest)
        }
    };
    Ok(Incoming::Reply(id, reply))
}

fn rpc_error(e: &Element) -> RpcError {
    let text = |name: &str| e.child(name).map(|c| c.text.clone()).unwrap_or_default();
    RpcError {
        error_type: text("error-type"),
        tag: text("error-tag"),
        severity: text("error-severity"),
        app_tag: text("error-app-tag"),
        path: text("error-path"),
        message: text("error-message"),
        info: e
            .child("error-info")
            .map(|i| {
                i.children
                    .iter()
                    .map(|c| (c.name.clone(), c.text.clone()))
                    .collect()
            })
            .unwrap_or_default(),
    }
}

/// Maps the server's errors for operation `op` to the contract's error.
///
/// `lock-denied` is [`DriverError::LockHeld`]; errors of `edit-config` and
/// `validate` are [`DriverError::ConfigRejected`] (the offending node and the
/// server's message); anything else is [`DriverError::CommitFailed`] naming
/// the operation and carrying the server's message.
#[must_use]
pub fn to_driver_error(device: &str, op: &str, errors: &[RpcError]) -> DriverError {
    if errors.iter().any(|e| e.tag == "lock-denied") {
        return DriverError::LockHeld {
            device: device.to_string(),
        };
    }
    let message = errors
        .iter()
        .map(RpcError::describe)
        .collect::<Vec<_>>()
        .join("; ");
    match op {
        "edit-config" | "validate" => DriverError::ConfigRejected {
            device: device.to_string(),
            line: errors.first().map(RpcError::location).unwrap_or_default(),
            message,
        },
        _ => DriverError::CommitFailed {
            device: device.to_string(),
            detail: format!("<{op}> refused: {message}"),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const YUMA_ERROR: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<rpc-reply xmlns:nc="urn:ietf:params:xml:ns:netconf:base:1.0" message-id="7" xmlns="urn:ietf:params:xml:ns:netconf:base:1.0">
  <rpc-error>
    <error-type>protocol</error-type>
    <error-tag>invalid-value</error-tag>
    <error-severity>error</error-severity>
    <error-app-tag>data-invalid</error-app-tag>
    <error-path xmlns:if="urn:ietf:params:xml:ns:yang:ietf-interfaces">/nc:rpc/nc:edit-config/nc:config/if:interfaces/if:interface[if:name='eth3']/if:enabled</error-path>
    <error-message xml:lang="en">invalid value</error-message>
    <error-info>
      <bad-value xmlns="http://netconfcentral.org/ns/yuma-ncx">maybe</bad-value>
      <error-number xmlns="http://netconfcentral.org/ns/yuma-ncx">258</error-number>
    </error-info>
  </rpc-error>
</rpc-reply>"#;

    #[test]
    fn rpc_error_becomes_config_rejected_with_the_servers_words() {
        let Incoming::Reply(id, Reply::Errors(errors)) = parse_incoming(YUMA_ERROR).unwrap() else {
            panic!("not an error reply");
        };
        assert_eq!(id.as_deref(), Some("7"));
        let e = to_driver_error("leaf1", "edit-config", &errors);
        let DriverError::ConfigRejected {
            device,
            line,
            message,
        } = &e
        else {
            panic!("{e:?}");
        };
        assert_eq!(device, "leaf1");
        assert_eq!(
            line,
            "/if:interfaces/if:interface[if:name='eth3']/if:enabled"
        );
        assert_eq!(message, "invalid value (invalid-value; bad-value maybe)");
        let commit = to_driver_error("leaf1", "commit", &errors);
        assert!(
            commit
                .to_string()
                .contains("<commit> refused: invalid value"),
            "{commit}"
        );
    }

    #[test]
    fn lock_denied_is_lock_held() {
        let xml = r#"<rpc-reply xmlns="urn:ietf:params:xml:ns:netconf:base:1.0" message-id="1"><rpc-error><error-type>protocol</error-type><error-tag>lock-denied</error-tag><error-severity>error</error-severity><error-message>lock denied</error-message><error-info><session-id>2</session-id></error-info></rpc-error></rpc-reply>"#;
        let Incoming::Reply(_, Reply::Errors(errors)) = parse_incoming(xml).unwrap() else {
            panic!();
        };
        assert_eq!(
            to_driver_error("d", "lock", &errors),
            DriverError::LockHeld { device: "d".into() }
        );
    }

    #[test]
    fn ok_data_warnings_and_notifications() {
        let ok = r#"<rpc-reply xmlns="urn:ietf:params:xml:ns:netconf:base:1.0" message-id="2"><ok/></rpc-reply>"#;
        assert_eq!(
            parse_incoming(ok).unwrap(),
            Incoming::Reply(Some("2".into()), Reply::Ok)
        );
        let warn = r#"<rpc-reply xmlns="urn:ietf:params:xml:ns:netconf:base:1.0" message-id="3"><rpc-error><error-severity>warning</error-severity></rpc-error><ok/></rpc-reply>"#;
        assert_eq!(
            parse_incoming(warn).unwrap(),
            Incoming::Reply(Some("3".into()), Reply::Ok)
        );
        let data = r#"<rpc-reply xmlns="urn:ietf:params:xml:ns:netconf:base:1.0" message-id="4"><data><a xmlns="urn:a">1</a></data></rpc-reply>"#;
        let Incoming::Reply(_, Reply::Data(d)) = parse_incoming(data).unwrap() else {
            panic!();
        };
        assert_eq!(d[0].name, "a");
        let n = r#"<notification xmlns="urn:ietf:params:xml:ns:netconf:notification:1.0"><eventTime>x</eventTime></notification>"#;
        assert_eq!(parse_incoming(n).unwrap(), Incoming::Notification);
        assert!(parse_incoming("<foo/>").is_err());
    }

    #[test]
    fn hello_capabilities_and_session_id() {
        let h = format!(
            r#"<hello xmlns="{NC_NS}"><capabilities><capability>{BASE_1_1}</capability><capability>{CANDIDATE}</capability></capabilities><session-id>5</session-id></hello>"#
        );
        let hello = parse_hello(&h).unwrap();
        assert_eq!(hello.capabilities, [BASE_1_1, CANDIDATE]);
        assert_eq!(hello.session_id, Some(5));
        assert!(parse_hello(&client_hello()).is_ok());
        assert!(parse_hello("<rpc/>").is_err());
    }
}
